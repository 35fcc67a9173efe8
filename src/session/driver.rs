//! The session thread: connects, pings, detects a dead connection, reconnects to the next host,
//! and handles expiry and close. It also holds the frame dispatch (`handle_frame`), which runs
//! on whichever thread holds the reader token (see `reader.rs`).
//!
//! Who reads when: a caller waiting for a reply reads the socket itself (and dispatches other
//! callers' replies and watch events it meets); this thread reads only while no caller waits
//! and callers have been quiet for [`QUIET`], so unasked frames (watch events, ping replies)
//! are read promptly when the client is idle, while a caller making calls back to back is never
//! made to wait for this thread. While callers read, it sleeps on `driver_wake` and only looks
//! at the clock (`Activity`, atomics): pings, dead connection, failures readers report.
//!
//! Failures: a reader (caller or this thread) that meets EOF, a read error or a frame it cannot
//! trust shuts the socket down, removes the read side and reports why; `serve` returns that
//! reason and `disconnect` fails everything in flight (a connection loss), emits Suspended and
//! the loop reconnects. A dead connection seen here is shut down here, which also ends any read
//! a caller is blocked in.

use std::net::Shutdown;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::handshake::{self, OpenError, Opened};
use super::reader::ReadSide;
use super::request::{Failure, RawReply};
use super::watches::{WatchEventKind, WatchKind};
use super::{lock, SessionEvent, SessionLife, SessionState, Shared};
use crate::proto::{
    op, xid, Decode, ErrorCode, EventType, Reader, ReplyHeader, SetWatches, SetWatches2,
    WatcherEvent,
};

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
        // Nobody could be reached for longer than the session timeout: the server has expired
        // the session by now, so say so instead of trying to resume it.
        if session_id != 0 && disconnected_since.is_some_and(|t| t.elapsed() >= negotiated) {
            disconnected_since = None;
            if !expire(shared) {
                return finish(shared, SessionState::Expired);
            }
            continue;
        }
        let host = hosts[next % hosts.len()].clone();
        next = next.wrapping_add(1);
        match handshake::open(shared, &host, session_id, &passwd) {
            Ok(opened) => {
                failed_in_row = 0;
                if !activate(shared, opened) {
                    continue;
                }
                let reason = serve(shared);
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
            Err(OpenError::Failed(reason)) => {
                log::debug!("connection attempt failed: {reason}");
                *lock(&shared.last_failure) = reason;
                failed_in_row += 1;
                if failed_in_row as usize % hosts.len() == 0 {
                    // Every host failed in turn: back off (20 ms doubling to 1 s) before the next
                    // round, waking at once if the client closes.
                    let rounds = failed_in_row as usize / hosts.len();
                    let pause =
                        Duration::from_millis(20u64 << rounds.min(6)).min(Duration::from_secs(1));
                    let status = lock(&shared.status);
                    let _ = shared.status_changed.wait_timeout(status, pause);
                }
            }
        }
    }
    finish(shared, SessionState::Closed)
}

/// Installs a fresh connection: the read side (the reader token), then the write side; replays
/// auth and watches, then opens the gate for callers. False if the connection broke already.
fn activate(shared: &Shared, opened: Opened) -> bool {
    let Opened { stream, response, server } = opened;
    let negotiated = Duration::from_millis(response.timeout_ms.max(1) as u64);
    let Ok(write_half) = stream.try_clone() else { return false };
    let _ = write_half
        .set_write_timeout(Some(shared.config.request_timeout.max(Duration::from_millis(100))));
    // A failure reported about the previous connection (after the session thread had already
    // given it up) must not end this one.
    *lock(&shared.read_failure) = None;
    shared.activity.received();
    shared.liveness.new_connection();
    *lock(&shared.reader) = Some(ReadSide::new(stream, ticks(negotiated).tick));
    {
        let mut wire = lock(&shared.wire);
        wire.stream = Some(write_half);
        wire.auth_replays = 0;
        // Auth and watches go out before any caller's request can (the gate is still shut), so
        // every request after a reconnect runs with the same identity and watches as before.
        let resumed = response.session_id == lock(&shared.status).session_id;
        if !replay(shared, &mut wire, resumed) {
            if let Some(broken) = wire.stream.take() {
                let _ = broken.shutdown(Shutdown::Both);
            }
            drop(wire);
            if let Some(side) = lock(&shared.reader).take() {
                side.shutdown();
            }
            return false;
        }
    }
    shared.transition(|status| {
        let resumed = status.session_id == response.session_id;
        status.session_id = response.session_id;
        status.passwd = response.passwd.clone();
        status.negotiated = negotiated;
        status.server = server.clone();
        status.state = if response.read_only {
            SessionState::ConnectedReadOnly
        } else {
            SessionState::Connected
        };
        let session_id = response.session_id;
        let event = if resumed {
            SessionEvent::Reconnected { session_id, server }
        } else {
            status.life = Arc::new(SessionLife::new(session_id));
            SessionEvent::Connected { session_id, server }
        };
        ((), Some(event))
    });
    true
}

/// Writes the auth packets and (for a resumed session) the watches; false if a write failed.
fn replay(shared: &Shared, wire: &mut super::wire::Wire, resumed: bool) -> bool {
    for (scheme, auth) in lock(&shared.auths).iter() {
        if wire.write_auth(scheme, auth, None).is_err() {
            return false;
        }
    }
    if !resumed {
        return true;
    }
    let paths = lock(&shared.watches).paths();
    paths.is_empty() || write_set_watches(shared, wire, paths)
}

/// Re-registers watches after a reconnect, in batches the server accepts, passing the last
/// zxid seen so changes made while we were away are reported.
fn write_set_watches(
    shared: &Shared,
    wire: &mut super::wire::Wire,
    paths: super::watches::WatchPaths,
) -> bool {
    const BATCH_BYTES: usize = 128 * 1024;
    let relative_zxid = shared.last_zxid.load(Ordering::SeqCst);
    let persistent = !paths.persistent.is_empty() || !paths.recursive.is_empty();
    let lists = [paths.data, paths.exist, paths.child, paths.persistent, paths.recursive];
    let mut batch: [Vec<String>; 5] = Default::default();
    let mut size = 0;
    let flush = |batch: &mut [Vec<String>; 5], wire: &mut super::wire::Wire| {
        let [data, exist, child, pers, rec] = std::mem::take(batch);
        let result = if persistent {
            let body = SetWatches2 {
                relative_zxid,
                data_watches: data,
                exist_watches: exist,
                child_watches: child,
                persistent_watches: pers,
                persistent_recursive_watches: rec,
            };
            wire.write_special(xid::SET_WATCHES, op::SET_WATCHES2, &body)
        } else {
            let body = SetWatches {
                relative_zxid,
                data_watches: data,
                exist_watches: exist,
                child_watches: child,
            };
            wire.write_special(xid::SET_WATCHES, op::SET_WATCHES, &body)
        };
        result.is_ok()
    };
    for (i, list) in lists.into_iter().enumerate() {
        for path in list {
            size += path.len() + 4;
            batch[i].push(path);
            if size >= BATCH_BYTES {
                if !flush(&mut batch, wire) {
                    return false;
                }
                size = 0;
            }
        }
    }
    size == 0 || flush(&mut batch, wire)
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
/// thread only pings, checks for a dead connection and waits to read once they are done).
const BUSY_POLL: Duration = Duration::from_millis(2);

/// Watches the connection until it fails; returns why it ended.
///
/// Callers read their own replies (see `reader.rs`). This thread reads only once no caller
/// waits for a reply and callers were quiet for [`QUIET`] (so watch events and ping replies are
/// still read promptly when the client is idle): it then holds the reader token while blocked
/// in a read of at most one tick, and a caller that comes meanwhile gets its reply from this
/// thread (one hop) and reads its next one itself. While callers are busy this thread sleeps
/// on `driver_wake`. Either way it sends pings, notices a dead connection (nothing received
/// for two thirds of the session timeout) and picks up the failures readers report.
fn serve(shared: &Shared) -> String {
    let Ticks { ping_every, dead_after, tick } = ticks(lock(&shared.status).negotiated);
    loop {
        if let Some(reason) = lock(&shared.read_failure).take() {
            return reason;
        }
        if shared.closing.load(Ordering::SeqCst) && lock(&shared.wire).in_flight.is_empty() {
            return "client closing".to_string();
        }
        let silent = shared.activity.since_received();
        if silent >= dead_after {
            return format!("nothing heard from the server for {silent:?}");
        }
        if shared.activity.since_sent() >= ping_every {
            shared.liveness.ping_sent();
            if lock(&shared.wire).write_ping().is_err() {
                return "ping write failed".to_string();
            }
        }
        let quiet_left = QUIET.saturating_sub(shared.activity.since_active());
        if quiet_left.is_zero() && shared.waiters.load(Ordering::SeqCst) == 0 {
            if let Some(mut token) = shared.try_token() {
                let Some(side) = token.as_mut() else {
                    // A reader gave the connection up and reported why.
                    drop(token);
                    return lock(&shared.read_failure)
                        .take()
                        .unwrap_or_else(|| "connection given up by a reader".to_string());
                };
                let step = shared
                    .dispatch_buffered(side)
                    .and_then(|()| shared.read_once(side, tick))
                    .and_then(|()| shared.dispatch_buffered(side));
                if let Err(reason) = step {
                    if let Some(side) = token.take() {
                        side.shutdown();
                    }
                    return reason;
                }
                drop(token);
                shared.hand_off();
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
        let wait = if shared.waiters.load(Ordering::SeqCst) > 0 || quiet_left.is_zero() {
            BUSY_POLL
        } else {
            quiet_left
        };
        drop(shared.driver_wake.wait_timeout(failure, wait));
        shared.driver_parked.store(false, Ordering::SeqCst);
    }
}

/// Decoding failed in the middle of the stream: the request at the front of the queue is the
/// one whose reply was garbled, so it gets the protocol error; the rest get connection loss.
pub(super) fn fail_front(shared: &Shared, reason: String) -> String {
    if let Some(front) = lock(&shared.wire).in_flight.pop_front() {
        let _ = front.reply.send(Err(Failure::Protocol(reason.clone())));
    }
    reason
}

/// Dispatches one frame (on whichever thread holds the reader token); `Err` when the connection
/// can no longer be trusted.
pub(super) fn handle_frame(shared: &Shared, frame: Vec<u8>) -> Result<(), String> {
    let mut r = Reader::new(&frame);
    let header = ReplyHeader::decode(&mut r)
        .map_err(|e| fail_front(shared, format!("bad reply header: {e}")))?;
    if header.zxid > 0 {
        shared.last_zxid.fetch_max(header.zxid, Ordering::SeqCst);
    }
    match header.xid {
        xid::WATCH_EVENT => {
            let event =
                WatcherEvent::decode(&mut r).map_err(|e| format!("bad watch event: {e}"))?;
            let user_path = shared.user_path(&event.path);
            lock(&shared.watches).dispatch(
                EventType::from_i32(event.event_type),
                &event.path,
                &user_path,
            );
            Ok(())
        }
        xid::PING => {
            shared.liveness.ping_answered();
            Ok(())
        }
        xid::SET_WATCHES => {
            if header.err != 0 {
                log::warn!("re-registering watches failed: {}", ErrorCode::from_i32(header.err));
            }
            Ok(())
        }
        xid::AUTH => {
            let waiter = {
                let mut wire = lock(&shared.wire);
                if wire.auth_replays > 0 {
                    wire.auth_replays -= 1;
                    None
                } else {
                    wire.auth_waiters.pop_front()
                }
            };
            if let Some(tx) = waiter {
                let _ = tx.send(header.err);
            }
            if header.err != 0 {
                // The server closes the session after a failed auth; nothing can be resumed.
                shared.transition(|status| {
                    status.state = SessionState::AuthFailed;
                    ((), Some(SessionEvent::AuthFailed))
                });
                return Err("authentication failed".to_string());
            }
            Ok(())
        }
        reply_xid => {
            let body_at = r.position();
            let Some(request) = lock(&shared.wire).in_flight.pop_front() else {
                return Err(format!("reply with xid {reply_xid} but no request in flight"));
            };
            if request.xid != reply_xid {
                let reason = format!("reply with xid {reply_xid}, expected {}", request.xid);
                let _ = request.reply.send(Err(Failure::Protocol(reason.clone())));
                return Err(reason);
            }
            if let Some((kind, path, tx)) = request.watch {
                // Registered here, before the next frame is read, so a notification that follows
                // the reply always finds its watch.
                let table = match (kind, ErrorCode::from_i32(header.err)) {
                    (WatchKind::Exist, ErrorCode::Ok) => Some(WatchKind::Data),
                    (WatchKind::Exist, ErrorCode::NoNode) => Some(WatchKind::Exist),
                    (kind, ErrorCode::Ok) => Some(kind),
                    _ => None,
                };
                if let Some(table) = table {
                    lock(&shared.watches).add(table, path, tx);
                }
            }
            shared.liveness.answered(request.sent_at);
            let _ = request.reply.send(Ok(RawReply { err: header.err, frame, body_at }));
            Ok(())
        }
    }
}

/// Shuts the connection down and removes its read side. Shutting down first makes a caller
/// blocked in a read return at once, so taking the token waits only for the frames it is
/// dispatching; after this nobody reads the old stream, so nothing still in flight can be
/// answered (or mistaken for a reply on the next connection).
fn drop_connection(shared: &Shared) {
    if let Some(stream) = lock(&shared.wire).stream.take() {
        let _ = stream.shutdown(Shutdown::Both);
    }
    if let Some(side) = lock(&shared.reader).take() {
        side.shutdown();
    }
}

/// The connection is gone: fail what was in flight, and tell everyone the session is suspended.
fn disconnect(shared: &Shared) {
    drop_connection(shared);
    let (in_flight, auth_waiters) = {
        let mut wire = lock(&shared.wire);
        wire.auth_replays = 0;
        (std::mem::take(&mut wire.in_flight), std::mem::take(&mut wire.auth_waiters))
    };
    drop(auth_waiters);
    for request in in_flight {
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

/// The session is lost. Completes watches, ends the session's life, and either starts over
/// with a new session (returns true) or stops (returns false).
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
    lock(&shared.watches).complete_all(WatchEventKind::SessionLost, |p| shared.user_path(p));
    renew
}

/// The end: fail everything still waiting, complete watches, emit the final event.
fn finish(shared: &Shared, final_state: SessionState) {
    drop_connection(shared);
    let in_flight = {
        let mut wire = lock(&shared.wire);
        wire.auth_waiters.clear();
        std::mem::take(&mut wire.in_flight)
    };
    let failure = if final_state == SessionState::Expired {
        Failure::SessionExpired
    } else {
        Failure::Closed
    };
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
}

/// Shuffles hosts so a fleet of clients spreads over the ensemble (no `rand` needed: the
/// standard library's randomly keyed hasher is a fine source for this).
fn shuffle(hosts: &mut [String]) {
    use std::hash::{BuildHasher, Hasher};
    let state = std::collections::hash_map::RandomState::new();
    for i in (1..hosts.len()).rev() {
        let mut h = state.build_hasher();
        h.write_usize(i);
        let j = (h.finish() % (i as u64 + 1)) as usize;
        hosts.swap(i, j);
    }
}
