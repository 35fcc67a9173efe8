//! The session's protocol core: every piece of protocol state in one struct that consumes
//! frames and the time and says what to send (it queues frames in its outbox) and whom to wake
//! (it fills reply slots and watch channels), with no socket and no clock of its own, like
//! rustls' `ConnectionCommon` or quinn-proto. The threads around it only move bytes and wait:
//! readers cut the stream into frames and hand each to [`Core::receive`], the write-token
//! holder takes frames from [`Wire::next_frame`], the session thread feeds it connection
//! events ([`Core::connected`], [`Core::disconnected`], [`Core::suspended`],
//! [`Core::expired`], [`Core::finished`]) and the clock ([`timers`]).
//!
//! - `wire.rs`: the outbox, the requests in flight, xids, auth replays, the connection's gate.
//! - `watches.rs`: the watch table and its delivery.
//! - `timers.rs`: pings, dead connections, expiry while disconnected, reconnect back-off.
//! - here: the session's identity and state, and what a frame or a connection event means.
//!
//! It lives under `Shared::core`'s mutex, never held across a socket operation.

pub(crate) mod timers;
pub(crate) mod watches;
pub(crate) mod wire;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::life::SessionLife;
use super::liveness::Liveness;
use super::request::{Failure, InFlight, RawReply};
use super::{after, SessionConfig, SessionEvent, SessionState};
use crate::proto::{
    self, add_watch_mode, op, xid, AddWatchRequest, ConnectResponse, Decode, ErrorCode, EventType,
    Reader, ReplyHeader, SetWatches, SetWatches2, WatcherEvent,
};
use watches::{WatchEventKind, WatchKind, WatchPaths, WatchTable};
use wire::{Conn, Job, Wire};

/// Who the session is and where it stands.
pub(crate) struct Status {
    pub state: SessionState,
    pub session_id: i64,
    pub passwd: Vec<u8>,
    pub negotiated: Duration,
    pub server: String,
    pub life: Arc<SessionLife>,
    /// Whether the session has been served by a read-write server. A session a read-only
    /// server created is known to that server alone: the quorum would call it expired, so until
    /// then every connect asks for a new session (as ZooKeeper's Java client does).
    pub seen_rw: bool,
}

/// What a frame asked of the threads, besides the wake-ups the core did itself.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Received {
    /// Frames were queued (persistent watches to set again): someone must write them.
    pub queued: bool,
    /// The server refused an auth packet: it closes the session, nothing can be resumed.
    pub auth_failed: bool,
}

pub(crate) struct Core {
    pub wire: Wire,
    pub watches: WatchTable,
    pub status: Status,
    /// The highest zxid seen (sent with every reconnect and watch re-registration).
    last_zxid: i64,
    chroot: Option<String>,
    request_timeout: Duration,
    /// The send time of the last answered request (read by guards without this lock).
    liveness: Arc<Liveness>,
}

impl Core {
    pub fn new(config: &SessionConfig, liveness: Arc<Liveness>) -> Core {
        // A resumed session has its identity from the start: a call made in it is checked
        // against it, and nodes it owns are recognised by its id.
        let resume_id = config.resume.as_ref().map_or(0, |(id, _)| *id);
        Core {
            wire: Wire::new(),
            watches: WatchTable::default(),
            status: Status {
                state: SessionState::Connecting,
                session_id: resume_id,
                passwd: config.resume.as_ref().map_or_else(|| vec![0; 16], |(_, pw)| pw.clone()),
                negotiated: config.session_timeout,
                server: String::new(),
                life: Arc::new(SessionLife::new(resume_id)),
                // A session handed to us to resume is taken to be the quorum's.
                seen_rw: config.resume.is_some(),
            },
            last_zxid: 0,
            chroot: config.connect.chroot.clone(),
            request_timeout: config.request_timeout,
            liveness,
        }
    }

    /// The session id and password the next connect presents: ours, or none (a new session)
    /// while only read-only servers have served it (see [`Status::seen_rw`]).
    pub fn resume_with(&self) -> (i64, Vec<u8>) {
        if self.status.seen_rw || self.status.session_id == 0 {
            (self.status.session_id, self.status.passwd.clone())
        } else {
            (0, vec![0; 16])
        }
    }

    pub fn last_zxid(&self) -> i64 {
        self.last_zxid
    }

    /// The user's path for a path the server sent (chroot stripped).
    pub fn user_path(&self, server_path: &str) -> String {
        user_path(self.chroot.as_deref(), server_path)
    }

    /// Takes one frame from connection `conn` (stream order): a reply goes to its caller (its
    /// watch registered first, so a notification that follows finds it), a notification to its
    /// watchers, ping and auth replies to their bookkeeping. `Err` when the stream can no
    /// longer be trusted (the connection must be reset).
    pub fn receive(&mut self, frame: Vec<u8>, conn: u64, now: Instant) -> Result<Received, String> {
        let mut out = Received::default();
        let mut r = Reader::new(&frame);
        let header = match ReplyHeader::decode(&mut r) {
            Ok(header) => header,
            Err(e) => return Err(self.fail_front(format!("bad reply header: {e}"))),
        };
        if header.zxid > 0 {
            self.last_zxid = self.last_zxid.max(header.zxid);
        }
        match header.xid {
            xid::WATCH_EVENT => {
                let event =
                    WatcherEvent::decode(&mut r).map_err(|e| format!("bad watch event: {e}"))?;
                let user_path = self.user_path(&event.path);
                let kind = EventType::from_i32(event.event_type);
                for readd in self.watches.dispatch(kind, &event.path, &user_path) {
                    self.readd_persistent(&event.path, readd, now);
                    out.queued = true;
                }
            }
            xid::PING => {
                if let Some(written) = self.wire.take_ping() {
                    self.liveness.answered(written);
                }
            }
            xid::SET_WATCHES => {
                if header.err != 0 {
                    let code = ErrorCode::from_i32(header.err);
                    log::warn!("re-registering watches failed: {code}");
                }
            }
            xid::AUTH => {
                if let Some(tx) = self.wire.take_auth() {
                    let _ = tx.send(header.err);
                }
                out.auth_failed = header.err != 0;
            }
            reply_xid => {
                let body_at = r.position();
                let request = self.wire.take_reply(reply_xid)?;
                self.liveness.answered(request.written_at);
                // A caller that stopped waiting dropped the watch's receiver with its call: its
                // watch is not registered (it would only pile up, and be re-set after every
                // reconnect). Unless a persistent watch is on the same path: the server turned
                // it into a one-shot with this one, and its firing must be seen to set it again.
                let abandoned = request.reply.is_abandoned();
                let watch = request
                    .watch
                    .filter(|(_, path, _)| !abandoned || self.watches.has_persistent(path));
                if let Some((kind, path, tx)) = watch {
                    let table = match (kind, ErrorCode::from_i32(header.err)) {
                        (WatchKind::Exist, ErrorCode::Ok) => Some(WatchKind::Data),
                        (WatchKind::Exist, ErrorCode::NoNode) => Some(WatchKind::Exist),
                        (kind, ErrorCode::Ok) => Some(kind),
                        _ => None,
                    };
                    if let Some(table) = table {
                        self.watches.add(table, path, tx);
                    }
                }
                let reply = RawReply { err: header.err, frame, body_at, conn };
                let _ = request.reply.send(Ok(reply));
            }
        }
        Ok(out)
    }

    /// Decoding failed in the middle of the stream: the request at the front of the queue is
    /// the one whose reply was garbled, so it gets the protocol error (the rest get connection
    /// loss when the connection is dropped). Returns the reason.
    pub fn fail_front(&mut self, reason: String) -> String {
        if let Some(front) = self.wire.in_flight.pop_front() {
            let _ = front.reply.send(Err(Failure::Protocol(reason.clone())));
        }
        reason
    }

    /// Queues a persistent watch on `server_path` to be set again (see `WatchTable::dispatch`).
    fn readd_persistent(&mut self, server_path: &str, kind: WatchKind, now: Instant) {
        let mode = match kind {
            WatchKind::PersistentRecursive => add_watch_mode::PERSISTENT_RECURSIVE,
            _ => add_watch_mode::PERSISTENT,
        };
        let body = AddWatchRequest { path: server_path.to_string(), mode };
        let frame = proto::encode_request(0, op::ADD_WATCH, &body);
        let (reply, _nobody_waits) = super::request::reply_channel();
        let life = self.status.life.clone();
        let deadline = after(now, self.request_timeout);
        self.wire.push(frame, Job::Request { reply, watch: None, life, made_at: now, deadline });
    }

    /// Connection `generation` to `server` finished its handshake: takes the session's
    /// identity from the response (the same life when resumed, a new one otherwise), queues
    /// the auth replays and, when resumed, the watch re-registrations ahead of every waiting
    /// request (so every request after a reconnect runs with the same identity and watches as
    /// before), opens the gate; returns whether the session was resumed, and the event to
    /// announce.
    pub fn connected(
        &mut self,
        generation: u64,
        response: &ConnectResponse,
        server: &str,
    ) -> (bool, SessionEvent) {
        let resumed = self.status.session_id == response.session_id;
        // A session only read-only servers served, replaced by a new one (see
        // `Status::seen_rw`): it is over, and its watches carry over to the new one.
        let replaced_read_only = !resumed && self.status.session_id != 0 && !self.status.seen_rw;
        if replaced_read_only {
            self.status.life.end();
        }
        let life = if resumed {
            self.status.life.clone()
        } else {
            Arc::new(SessionLife::new(response.session_id))
        };
        let wire = &mut self.wire;
        wire.auth_replays = 0;
        wire.pings.clear();
        wire.stalled = false;
        let mut replays: Vec<(Vec<u8>, Job)> = wire
            .auths
            .iter()
            .map(|(scheme, auth)| {
                let job = Job::Auth { waiter: None, scheme: scheme.clone(), auth: auth.clone() };
                (wire::auth_frame(scheme, auth), job)
            })
            .collect();
        if resumed || replaced_read_only {
            let frames = set_watches_frames(self.last_zxid, self.watches.paths());
            replays.extend(frames.into_iter().map(|f| (f, Job::Special)));
        }
        self.wire.push_front_all(replays);
        self.wire.conn = Some(Conn { generation, life: life.clone(), open: true });
        let status = &mut self.status;
        status.session_id = response.session_id;
        status.passwd = response.passwd.clone();
        status.negotiated = Duration::from_millis(response.timeout_ms.max(1) as u64);
        status.server = server.to_string();
        status.state = if response.read_only {
            SessionState::ConnectedReadOnly
        } else {
            SessionState::Connected
        };
        status.seen_rw |= !response.read_only;
        status.life = life;
        let (session_id, server) = (response.session_id, server.to_string());
        let event = if response.read_only {
            SessionEvent::ConnectedReadOnly { session_id, server }
        } else if resumed {
            SessionEvent::Reconnected { session_id, server }
        } else {
            SessionEvent::Connected { session_id, server }
        };
        (resumed, event)
    }

    /// After a resume is announced: tells persistent watches their view may be stale.
    pub fn tell_resumed(&self) {
        self.watches.resumed(|p| self.user_path(p));
    }

    /// The connection is gone: returns what was in flight (to be failed once nobody can read
    /// the old stream any more); requests not yet written stay queued for the next one.
    pub fn disconnected(&mut self) -> VecDeque<InFlight> {
        self.wire.disconnected()
    }

    /// After a lost connection: the session is suspended (unless it already ended).
    pub fn suspended(&mut self) -> Option<SessionEvent> {
        if self.status.state.is_terminal() {
            return None;
        }
        self.status.state = SessionState::Suspended;
        Some(SessionEvent::Suspended { session_id: self.status.session_id })
    }

    /// The session is lost: ends its life (failing the requests queued in it), completes
    /// every watch, and either starts over with a new session (`renew`) or stays expired.
    pub fn expired(&mut self, renew: bool) -> SessionEvent {
        let status = &mut self.status;
        let old = status.session_id;
        status.session_id = 0;
        status.passwd = vec![0; 16];
        status.life.end();
        status.state = if renew { SessionState::Connecting } else { SessionState::Expired };
        self.wire.fail_queued(|life| {
            (life.session_id != 0 && life.has_ended()).then_some(Failure::SessionExpired)
        });
        let chroot = self.chroot.as_deref();
        self.watches.complete_all(WatchEventKind::SessionLost, |p| user_path(chroot, p));
        SessionEvent::Lost { session_id: old }
    }

    /// The end (closed, expired without renewal, or refused): fails everything still waiting
    /// (`in_flight` too), completes every watch, and returns the final event, if any.
    pub fn finished(
        &mut self,
        final_state: SessionState,
        in_flight: VecDeque<InFlight>,
    ) -> Option<SessionEvent> {
        let failure = if final_state == SessionState::Expired {
            Failure::SessionExpired
        } else {
            Failure::Closed
        };
        self.wire.fail_queued(|_| Some(failure.clone()));
        self.wire.outbox.clear();
        for request in in_flight {
            let _ = request.reply.send(Err(failure.clone()));
        }
        let was = self.status.state;
        if !was.is_terminal() || final_state == SessionState::Closed {
            self.status.state = final_state;
        }
        self.status.life.end();
        let kind = if final_state == SessionState::Closed {
            WatchEventKind::Closed
        } else {
            WatchEventKind::SessionLost
        };
        let chroot = self.chroot.as_deref();
        self.watches.complete_all(kind, |p| user_path(chroot, p));
        let closed = final_state == SessionState::Closed && was != SessionState::Closed;
        closed.then_some(SessionEvent::Closed)
    }

    /// The server refused the credentials (SASL or an auth packet): the session is over.
    pub fn auth_failed(&mut self) -> SessionEvent {
        self.status.state = SessionState::AuthFailed;
        SessionEvent::AuthFailed
    }
}

/// The user's path for a path the server sent, under `chroot`.
pub(crate) fn user_path(chroot: Option<&str>, server_path: &str) -> String {
    match chroot {
        None => server_path.to_string(),
        Some(root) => match server_path.strip_prefix(root) {
            Some("") => "/".to_string(),
            Some(rest) if rest.starts_with('/') => rest.to_string(),
            _ => server_path.to_string(),
        },
    }
}

/// Frames re-registering watches after a reconnect, in batches the server accepts, passing the
/// last zxid seen so changes made while we were away are reported.
fn set_watches_frames(relative_zxid: i64, paths: WatchPaths) -> Vec<Vec<u8>> {
    const BATCH_BYTES: usize = 128 * 1024;
    if paths.is_empty() {
        return Vec::new();
    }
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

#[cfg(test)]
mod tests;
