//! The session thread: connects, pings, detects a dead connection, reconnects to the next host,
//! and handles expiry and close.
//!
//! Who reads when: a caller waiting for a reply reads the socket itself (and dispatches other
//! callers' replies and watch events it meets, see `reader.rs` and `dispatch.rs`); this thread
//! reads only while no caller waits and callers have been quiet for [`QUIET`], so unasked
//! frames (watch events, ping replies) are read promptly when the client is idle, while a
//! caller making calls back to back is never made to wait for this thread. While callers read,
//! it sleeps on `driver_wake` and only looks at the clock (`Activity`, atomics): pings, dead
//! connection, failures readers and writers report.
//!
//! Who writes when: callers write their own requests while the socket takes them; once it
//! stalls, this thread writes the rest, slice by slice (see `writer.rs`).
//!
//! Failures: a reader or writer that meets EOF, an I/O error or a frame it cannot trust shuts
//! the socket down and reports why; `serve` returns that reason and `disconnect` fails
//! everything in flight (a connection loss), emits Suspended and the loop reconnects. Requests
//! not yet written stay queued for the next connection, each until its own deadline. A dead
//! connection (nothing received, or no write progress, for two thirds of the session timeout)
//! is shut down here, which also ends any read or write a caller is blocked in.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::handshake::{self, OpenError, Opened};
use super::reader::ReadSide;
use super::request::Failure;
use super::watches::{WatchEventKind, WatchPaths};
use super::wire::{self, Conn, Job};
use super::writer::{WriteSide, Writer};
use super::{lock, SessionEvent, SessionLife, SessionState, Shared};
use crate::proto::{op, xid, SetWatches, SetWatches2};

/// Runs until the client closes (or the session ends for good).
pub(crate) fn run(shared: &Shared) {
    let mut hosts = shared.config.connect.hosts.clone();
    shuffle(&mut hosts);
    let mut next = 0usize;
    let mut failed_in_row = 0u32;
    let mut disconnected_since: Option<Instant> = None;
    while !shared.is_closing() {
        let (session_id, passwd, negotiated) = {
            let status = lock(&shared.status);
            (status.session_id, status.passwd.clone(), status.negotiated)
        };
        lock(&shared.wire).expire_queued(Instant::now());
        // Nobody could be reached for longer than the session timeout: the server has expired
        // the session by now, so say so instead of trying to resume it.
        if session_id != 0 && disconnected_since.is_some_and(|t| t.elapsed() >= negotiated) {
            disconnected_since = None;
            if !expire(shared) {
                return finish(shared, SessionState::Expired);
            }
            continue;
        }
        let update = {
            let mut list = lock(&shared.hosts);
            std::mem::take(&mut list.1).then(|| list.0.clone())
        };
        if let Some(update) = update {
            hosts = update;
            shuffle(&mut hosts);
            // A client that moves for balance should not land on the server it left.
            let left = lock(&shared.status).server.clone();
            if let Some(i) = hosts.iter().position(|h| *h == left) {
                let host = hosts.remove(i);
                hosts.push(host);
            }
            next = 0;
        }
        let host = hosts[next % hosts.len()].clone();
        next = next.wrapping_add(1);
        match handshake::open(shared, &host, session_id, &passwd) {
            Ok(opened) => {
                failed_in_row = 0;
                let Some(generation) = activate(shared, opened) else { continue };
                let reason = serve(shared, generation);
                log::info!("connection to {host} ended: {reason}");
                disconnect(shared);
                if lock(&shared.status).state == SessionState::AuthFailed {
                    return finish(shared, SessionState::AuthFailed);
                }
                disconnected_since = Some(Instant::now());
            }
            Err(OpenError::Expired) => {
                disconnected_since = None;
                if !expire(shared) {
                    return finish(shared, SessionState::Expired);
                }
            }
            Err(OpenError::AuthFailed(reason)) => {
                log::warn!("{reason}");
                *lock(&shared.last_failure) = (reason, None);
                shared.transition(|status| {
                    status.state = SessionState::AuthFailed;
                    ((), Some(SessionEvent::AuthFailed))
                });
                return finish(shared, SessionState::AuthFailed);
            }
            Err(OpenError::Failed(reason, io)) => {
                log::debug!("connection attempt failed: {reason}");
                *lock(&shared.last_failure) = (reason, io);
                failed_in_row += 1;
                if failed_in_row as usize % hosts.len() == 0 {
                    // Every host failed in turn: back off before the next round, waking at once
                    // if the client closes.
                    let rounds = failed_in_row as usize / hosts.len();
                    let pause = backoff(shared.config.backoff, rounds, jitter());
                    let status = lock(&shared.status);
                    let _ = shared.status_changed.wait_timeout(status, pause);
                }
            }
        }
    }
    finish(shared, SessionState::Closed)
}

/// The pause after `rounds` failed rounds: `first` doubling up to `max`, then a random part of
/// it taken off (`jitter` in 0..1, up to half the pause), so a fleet of clients cut off at once
/// does not come back in lockstep.
pub(crate) fn backoff((first, max): (Duration, Duration), rounds: usize, jitter: f64) -> Duration {
    let doubled = first.saturating_mul(1u32 << rounds.saturating_sub(1).min(20));
    let pause = doubled.min(max);
    pause.saturating_sub(pause.mul_f64(jitter.clamp(0.0, 1.0) / 2.0))
}

/// A number in 0..1 from the standard library's randomly keyed hasher (no `rand` needed).
fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0);
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// Installs a fresh connection: the read side (the reader token), then the write side with
/// auth and watch replays queued ahead of every waiting request; then opens the gate and tells
/// everyone. Returns the connection's generation, or `None` if it broke already.
fn activate(shared: &Shared, opened: Opened) -> Option<u64> {
    let Opened { stream, response, server } = opened;
    let negotiated = Duration::from_millis(response.timeout_ms.max(1) as u64);
    let generation = shared.generations.fetch_add(1, Ordering::SeqCst) + 1;
    let (write_half, shutdown) = match (stream.try_clone(), stream.try_clone()) {
        (Ok(w), Ok(s)) => (w, s),
        _ => return None,
    };
    let Ok(write_side) = WriteSide::new(generation, write_half) else { return None };
    // A failure reported about the previous connection (after the session thread had already
    // given it up) must not end this one.
    *lock(&shared.read_failure) = None;
    shared.activity.received();
    shared.activity.progressed();
    *lock(&shared.reader) = Some(ReadSide::new(stream, ticks(negotiated).tick, generation));
    shared.install_writer(write_side);
    // The session this connection serves: the same life when resumed, a new one otherwise.
    let (resumed, life) = {
        let status = lock(&shared.status);
        let resumed = status.session_id == response.session_id;
        let life = if resumed {
            status.life.clone()
        } else {
            Arc::new(SessionLife::new(response.session_id))
        };
        (resumed, life)
    };
    {
        let mut wire = lock(&shared.wire);
        wire.auth_replays = 0;
        wire.pings.clear();
        wire.stalled = false;
        // Auth and watches go out before any queued request, so every request after a
        // reconnect runs with the same identity and watches as before.
        let mut replays: Vec<(Vec<u8>, Job)> = wire
            .auths
            .iter()
            .map(|(scheme, auth)| {
                let job = Job::Auth { waiter: None, scheme: scheme.clone(), auth: auth.clone() };
                (wire::auth_frame(scheme, auth), job)
            })
            .collect();
        if resumed {
            let paths = lock(&shared.watches).paths();
            replays
                .extend(set_watches_frames(shared, paths).into_iter().map(|f| (f, Job::Special)));
        }
        wire.push_front_all(replays);
        wire.conn = Some(Conn { generation, life: life.clone(), open: true });
    }
    *lock(&shared.socket) = Some((generation, shutdown));
    shared.transition(|status| {
        status.session_id = response.session_id;
        status.passwd = response.passwd.clone();
        status.negotiated = negotiated;
        status.server = server.clone();
        status.state = if response.read_only {
            SessionState::ConnectedReadOnly
        } else {
            SessionState::Connected
        };
        status.life = life;
        let session_id = response.session_id;
        let event = if response.read_only {
            SessionEvent::ConnectedReadOnly { session_id, server }
        } else if resumed {
            SessionEvent::Reconnected { session_id, server }
        } else {
            SessionEvent::Connected { session_id, server }
        };
        ((), Some(event))
    });
    if resumed {
        lock(&shared.watches).resumed(|p| shared.user_path(p));
    }
    shared.reader_freed();
    shared.pump(Writer::Session);
    Some(generation)
}

/// Frames re-registering watches after a reconnect, in batches the server accepts, passing the
/// last zxid seen so changes made while we were away are reported.
fn set_watches_frames(shared: &Shared, paths: WatchPaths) -> Vec<Vec<u8>> {
    const BATCH_BYTES: usize = 128 * 1024;
    if paths.is_empty() {
        return Vec::new();
    }
    let relative_zxid = shared.last_zxid.load(Ordering::SeqCst);
    let persistent = !paths.persistent.is_empty() || !paths.recursive.is_empty();
    let lists = [paths.data, paths.exist, paths.child, paths.persistent, paths.recursive];
    let mut frames = Vec::new();
    let mut batch: [Vec<String>; 5] = Default::default();
    let mut size = 0;
    let flush = |batch: &mut [Vec<String>; 5], frames: &mut Vec<Vec<u8>>| {
        let [data, exist, child, pers, rec] = std::mem::take(batch);
        frames.push(if persistent {
            let body = SetWatches2 {
                relative_zxid,
                data_watches: data,
                exist_watches: exist,
                child_watches: child,
                persistent_watches: pers,
                persistent_recursive_watches: rec,
            };
            wire::special_frame(xid::SET_WATCHES, op::SET_WATCHES2, &body)
        } else {
            let body = SetWatches {
                relative_zxid,
                data_watches: data,
                exist_watches: exist,
                child_watches: child,
            };
            wire::special_frame(xid::SET_WATCHES, op::SET_WATCHES, &body)
        });
    };
    for (i, list) in lists.into_iter().enumerate() {
        for path in list {
            size += path.len() + 4;
            batch[i].push(path);
            if size >= BATCH_BYTES {
                flush(&mut batch, &mut frames);
                size = 0;
            }
        }
    }
    if size > 0 {
        flush(&mut batch, &mut frames);
    }
    frames
}

/// The session thread's timing for one connection.
struct Ticks {
    ping_every: Duration,
    dead_after: Duration,
    /// The longest one read blocks (and the session thread's period when idle).
    tick: Duration,
}

fn ticks(negotiated: Duration) -> Ticks {
    let ping_every = negotiated / 3;
    let dead_after = negotiated * 2 / 3;
    let tick = (ping_every / 4).clamp(Duration::from_millis(5), Duration::from_millis(500));
    Ticks { ping_every, dead_after, tick }
}

/// How long callers must have been quiet (no request written, no reply awaited) before the
/// session thread reads: a caller that just got a reply is likely to make its next call and
/// read that reply itself, which it cannot while this thread holds the reader token.
const QUIET: Duration = Duration::from_micros(100);

/// How often the session thread looks while callers are waiting for replies (they read; this
/// thread only pings, checks for a dead connection and waits to read once they are done), and
/// how long it reads at most while writes are backed up.
const BUSY_POLL: Duration = Duration::from_millis(2);

/// Watches connection `generation` until it fails; returns why it ended.
///
/// Callers read their own replies (see `reader.rs`). This thread reads only once no caller
/// waits for a reply and callers were quiet for [`QUIET`] (so watch events and ping replies are
/// still read promptly when the client is idle): it then holds the reader token while blocked
/// in a read of at most one tick, and a caller that comes meanwhile gets its reply from this
/// thread (one hop) and reads its next one itself. While callers are busy this thread sleeps
/// on `driver_wake`. Either way it sends pings, writes what a stalled socket left queued,
/// notices a dead connection and picks up the failures readers and writers report.
fn serve(shared: &Shared, generation: u64) -> String {
    let Ticks { ping_every, dead_after, tick } = ticks(lock(&shared.status).negotiated);
    loop {
        if let Some((g, reason)) = lock(&shared.read_failure).take() {
            if g == generation {
                return reason;
            }
        }
        if shared.closing.load(Ordering::SeqCst) && lock(&shared.wire).in_flight.is_empty() {
            return "client closing".to_string();
        }
        let silent = shared.activity.since_received();
        if silent >= dead_after {
            return format!("nothing heard from the server for {silent:?}");
        }
        let backlog = {
            let mut wire = lock(&shared.wire);
            if !wire.has_backlog() && shared.activity.since_sent() >= ping_every {
                let mut frame = wire::header_frame(op::PING);
                frame[4..8].copy_from_slice(&xid::PING.to_be_bytes());
                wire.push(frame, Job::Ping);
            }
            wire.has_backlog()
        };
        if backlog {
            shared.pump(Writer::Session);
            let stuck = shared.activity.since_progress();
            if lock(&shared.wire).stalled && stuck >= dead_after {
                return format!("writes made no progress for {stuck:?}");
            }
        }
        let read_for = if backlog { BUSY_POLL } else { tick };
        let quiet_left = QUIET.saturating_sub(shared.activity.since_active());
        let watch_readers = shared.watch_readers.load(Ordering::SeqCst);
        if quiet_left.is_zero() && shared.waiters.load(Ordering::SeqCst) == 0 && watch_readers == 0
        {
            if let Some(mut token) = shared.try_token() {
                let Some(side) = token.as_mut() else {
                    // A reader gave the connection up and reported why.
                    drop(token);
                    return lock(&shared.read_failure)
                        .take()
                        .map(|(_, reason)| reason)
                        .unwrap_or_else(|| "connection given up by a reader".to_string());
                };
                let step = shared
                    .dispatch_buffered(side)
                    .and_then(|()| shared.read_once(side, read_for))
                    .and_then(|()| shared.dispatch_buffered(side));
                if let Err(reason) = step {
                    if let Some(side) = token.take() {
                        side.shutdown();
                    }
                    return reason;
                }
                drop(token);
                shared.hand_off();
                if shared.watch_readers.load(Ordering::SeqCst) > 0 {
                    shared.reader_freed();
                }
                continue;
            }
        }
        let failure = lock(&shared.read_failure);
        if failure.is_some() {
            continue;
        }
        // Parked (to be woken when the last caller stops waiting) only while callers wait; if
        // they are merely not quiet long enough yet, sleep just until they are.
        shared.driver_parked.store(true, Ordering::SeqCst);
        let wait = if shared.waiters.load(Ordering::SeqCst) > 0 || backlog {
            BUSY_POLL
        } else if watch_readers > 0 {
            // Watch waiters read; this thread only pings and watches the clock.
            tick
        } else if quiet_left.is_zero() {
            BUSY_POLL
        } else {
            quiet_left
        };
        drop(shared.driver_wake.wait_timeout(failure, wait));
        shared.driver_parked.store(false, Ordering::SeqCst);
    }
}

/// Shuts the connection down and removes its read side. Shutting down first makes a caller
/// blocked in a read or write return at once, so taking the token waits only for the frames it
/// is dispatching; after this nobody reads the old stream, so nothing still in flight can be
/// answered (or mistaken for a reply on the next connection).
fn drop_connection(shared: &Shared) -> std::collections::VecDeque<super::request::InFlight> {
    shared.shutdown_socket(None);
    *lock(&shared.socket) = None;
    let in_flight = lock(&shared.wire).disconnected();
    if let Some(side) = lock(&shared.reader).take() {
        side.shutdown();
    }
    in_flight
}

/// The connection is gone: fail what was in flight, and tell everyone the session is suspended.
/// Requests not yet written stay queued for the next connection (each until its deadline).
fn disconnect(shared: &Shared) {
    for request in drop_connection(shared) {
        let _ = request.reply.send(Err(Failure::ConnectionLoss));
    }
    if shared.is_closing() {
        return;
    }
    shared.transition(|status| {
        if status.state.is_terminal() {
            return ((), None);
        }
        status.state = SessionState::Suspended;
        ((), Some(SessionEvent::Suspended { session_id: status.session_id }))
    });
}

/// The session is lost. Completes watches, ends the session's life (failing the requests
/// queued in it), and either starts over with a new session (returns true) or stops (false).
fn expire(shared: &Shared) -> bool {
    let renew = shared.config.renew_expired;
    shared.transition(|status| {
        let old = status.session_id;
        status.session_id = 0;
        status.passwd = vec![0; 16];
        status.life.end();
        status.state = if renew { SessionState::Connecting } else { SessionState::Expired };
        ((), Some(SessionEvent::Lost { session_id: old }))
    });
    lock(&shared.wire).fail_queued(|life| {
        (life.session_id != 0 && life.has_ended()).then_some(Failure::SessionExpired)
    });
    lock(&shared.watches).complete_all(WatchEventKind::SessionLost, |p| shared.user_path(p));
    renew
}

/// The end: fail everything still waiting, complete watches, emit the final event.
fn finish(shared: &Shared, final_state: SessionState) {
    let in_flight = drop_connection(shared);
    let failure = if final_state == SessionState::Expired {
        Failure::SessionExpired
    } else {
        Failure::Closed
    };
    {
        let mut wire = lock(&shared.wire);
        wire.fail_queued(|_| Some(failure.clone()));
        wire.outbox.clear();
    }
    for request in in_flight {
        let _ = request.reply.send(Err(failure.clone()));
    }
    shared.transition(|status| {
        let was = status.state;
        if !was.is_terminal() || final_state == SessionState::Closed {
            status.state = final_state;
        }
        status.life.end();
        let closed = final_state == SessionState::Closed && was != SessionState::Closed;
        ((), closed.then_some(SessionEvent::Closed))
    });
    let kind = if final_state == SessionState::Closed {
        WatchEventKind::Closed
    } else {
        WatchEventKind::SessionLost
    };
    lock(&shared.watches).complete_all(kind, |p| shared.user_path(p));
    // Dropping the senders ends every `for event in session_events()` loop.
    lock(&shared.subscribers).clear();
    *lock(&shared.changes) = crossbeam_channel::bounded(0);
}

/// Shuffles hosts so a fleet of clients spreads over the ensemble.
fn shuffle(hosts: &mut [String]) {
    fastrand::shuffle(hosts);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap_and_jitter_only_shortens_it() {
        let config = (Duration::from_millis(20), Duration::from_secs(1));
        assert_eq!(backoff(config, 1, 0.0), Duration::from_millis(20));
        assert_eq!(backoff(config, 2, 0.0), Duration::from_millis(40));
        assert_eq!(backoff(config, 30, 0.0), Duration::from_secs(1));
        assert_eq!(backoff(config, 30, 1.0), Duration::from_millis(500));
        let j = jitter();
        assert!((0.0..1.0).contains(&j));
    }
}
