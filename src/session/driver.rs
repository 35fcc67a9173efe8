//! The session thread: connects, pings, detects a dead connection, reconnects to the next host,
//! and handles expiry and close.
//!
//! Who reads when: a caller waiting for a reply reads the socket itself (and dispatches other
//! callers' replies and watch events it meets, see `reader.rs` and `Core::receive`); this thread
//! reads only while no caller waits and callers have been quiet for [`QUIET`], so unasked
//! frames (watch events, ping replies) are read promptly when the client is idle, while a
//! caller making calls back to back is never made to wait for this thread; nor while a recipe
//! waits for a watch and reads for itself (`Shared::await_watch`). While others read, it sleeps
//! on `driver_wake` and only feeds the clock to the core's timers (`core/timers.rs`): pings,
//! dead connection, failures readers and writers report.
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

use super::core::timers::{self, backoff, Due, Timers};
use super::core::wire::{self, Job};
use super::handshake::{self, OpenError, Opened};
use super::reader::ReadSide;
use super::writer::{WriteSide, Writer};
use super::{lock, SessionState, Shared};
use crate::proto::{op, xid};

/// Runs until the client closes (or the session ends for good).
pub(crate) fn run(shared: &Arc<Shared>) {
    let mut hosts = shared.config.connect.hosts.clone();
    shuffle(&mut hosts);
    let mut next = 0usize;
    let mut failed_in_row = 0u32;
    let mut disconnected_since: Option<Instant> = None;
    while !shared.is_closing() {
        let now = Instant::now();
        let (session_id, (resume_id, passwd), negotiated) = {
            let mut core = lock(&shared.core);
            core.wire.expire_queued(now);
            (core.status.session_id, core.resume_with(), core.status.negotiated)
        };
        // Nobody could be reached for longer than the session timeout: the server has expired
        // the session by now, so say so instead of trying to resume it.
        if session_id != 0 && timers::session_gone(disconnected_since, negotiated, now) {
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
            let left = shared.server();
            if let Some(i) = hosts.iter().position(|h| *h == left) {
                let host = hosts.remove(i);
                hosts.push(host);
            }
            next = 0;
        }
        let preferred = lock(&shared.preferred_host).take();
        let host = preferred.unwrap_or_else(|| {
            let host = hosts[next % hosts.len()].clone();
            next = next.wrapping_add(1);
            host
        });
        match handshake::open(shared, &host, resume_id, &passwd) {
            Ok(opened) => {
                failed_in_row = 0;
                let Some(generation) = activate(shared, opened) else { continue };
                if shared.state() == SessionState::ConnectedReadOnly {
                    super::probe::spawn(shared.clone(), generation);
                }
                let reason = serve(shared, generation);
                log::info!("connection to {host} ended: {reason}");
                disconnect(shared);
                if shared.state() == SessionState::AuthFailed {
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
                shared.transition(|core| ((), Some(core.auth_failed())));
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
                    let core = lock(&shared.core);
                    let _ = shared.status_changed.wait_timeout(core, pause);
                }
            }
        }
    }
    finish(shared, SessionState::Closed)
}

/// A number in 0..1 from the standard library's randomly keyed hasher (no `rand` needed).
fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0);
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// Installs a fresh connection: the read side (the reader token), the write side, then the
/// core takes the session's identity, queues the auth and watch replays ahead of every waiting
/// request and opens the gate, and everyone is told. Returns the connection's generation, or
/// `None` if it broke already.
fn activate(shared: &Shared, opened: Opened) -> Option<u64> {
    let Opened { stream, response, server } = opened;
    let negotiated = Duration::from_millis(response.timeout_ms.max(1) as u64);
    let generation = shared.generations.fetch_add(1, Ordering::SeqCst) + 1;
    let Ok((read_half, write_half, shutdown)) = stream.split() else { return None };
    let Ok(write_side) = WriteSide::new(generation, write_half) else { return None };
    // A failure reported about the previous connection (after the session thread had already
    // given it up) must not end this one.
    *lock(&shared.read_failure) = None;
    let now = Instant::now();
    shared.activity.received(now);
    shared.activity.progressed(now);
    let tick = Timers::new(negotiated).tick;
    *lock(&shared.reader) = Some(ReadSide::new(read_half, tick, generation));
    shared.install_writer(write_side);
    *lock(&shared.socket) = Some((generation, shutdown));
    let resumed = shared.transition(|core| {
        let (resumed, event) = core.connected(generation, &response, &server);
        (resumed, Some(event))
    });
    if resumed {
        lock(&shared.core).tell_resumed();
    }
    shared.reader_freed();
    shared.pump(Writer::Session);
    Some(generation)
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
    let timers = Timers::new(shared.negotiated_timeout());
    let tick = timers.tick;
    loop {
        if let Some((g, reason)) = lock(&shared.read_failure).take() {
            if g == generation {
                return reason;
            }
        }
        let backlog = {
            let mut core = lock(&shared.core);
            if shared.closing.load(Ordering::SeqCst) && core.wire.in_flight.is_empty() {
                return "client closing".to_string();
            }
            let wire = &mut core.wire;
            let (backlog, stalled) = (wire.has_backlog(), wire.stalled);
            match timers.due(&shared.activity, Instant::now(), backlog, stalled) {
                Due::Dead(reason) => return reason,
                Due::Ping => {
                    let mut frame = wire::header_frame(op::PING);
                    frame[4..8].copy_from_slice(&xid::PING.to_be_bytes());
                    wire.push(frame, Job::Ping);
                }
                Due::Nothing => {}
            }
            wire.has_backlog()
        };
        if backlog {
            shared.pump(Writer::Session);
        }
        let read_for = if backlog { BUSY_POLL } else { tick };
        let quiet_left = QUIET.saturating_sub(shared.activity.since_active(Instant::now()));
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
    let in_flight = lock(&shared.core).disconnected();
    if let Some(side) = lock(&shared.reader).take() {
        side.shutdown();
    }
    in_flight
}

/// The connection is gone: fail what was in flight, and tell everyone the session is suspended.
/// Requests not yet written stay queued for the next connection (each until its deadline).
fn disconnect(shared: &Shared) {
    for request in drop_connection(shared) {
        let _ = request.reply.send(Err(super::request::Failure::ConnectionLoss));
    }
    if shared.is_closing() {
        return;
    }
    shared.transition(|core| ((), core.suspended()));
}

/// The session is lost: the core ends its life and completes watches; either start over with a
/// new session (returns true) or stop (false).
fn expire(shared: &Shared) -> bool {
    let renew = shared.config.renew_expired;
    shared.transition(|core| ((), Some(core.expired(renew))));
    renew
}

/// The end: fail everything still waiting, complete watches, emit the final event.
fn finish(shared: &Shared, final_state: SessionState) {
    let in_flight = drop_connection(shared);
    shared.transition(|core| ((), core.finished(final_state, in_flight)));
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
    fn jitter_is_a_fraction() {
        let j = jitter();
        assert!((0.0..1.0).contains(&j));
    }
}
