//! The protocol state of the write direction, without sockets: the outbox (requests not yet
//! written, in call order, waiting there for a connection if there is none), the requests in
//! flight (in the order they were written, which is the order the server answers them), the
//! xid counter, the auth packets to replay, and the gate of the current connection.
//!
//! Everything here is decided under `Shared::core`'s mutex and takes the time as an argument;
//! the bytes themselves are written by whoever holds the write token (see `writer.rs`), with
//! no lock held. So a stalled socket never keeps a reader, the session thread or a caller that
//! only queues a request waiting on this mutex.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::Sender;

use super::super::life::SessionLife;
use super::super::request::{Failure, InFlight, ReplySender};
use super::watches::{WatchKind, WatchSender};
use crate::proto::{self, op, xid, AuthPacket, Encode, Writer};

/// A watch to register when the reply says it was set: (table, server path, sender).
pub(crate) type Registration = (WatchKind, String, WatchSender);

/// What a queued frame is, and who waits for its answer.
pub(crate) enum Job {
    /// A caller's request: its reply slot, the session it was made in and its deadline.
    Request {
        reply: ReplySender,
        watch: Option<Registration>,
        life: Arc<SessionLife>,
        made_at: Instant,
        deadline: Instant,
    },
    /// An auth packet; `waiter` gets the reply's error code (`None`: a replay, nobody waits).
    /// Written auth packets are replayed on every reconnect.
    Auth { waiter: Option<Sender<i32>>, scheme: String, auth: Vec<u8> },
    /// A ping: its write time is remembered until its reply comes.
    Ping,
    /// Anything else nobody waits for (set watches).
    Special,
}

/// A frame waiting in the outbox.
pub(crate) struct Outgoing {
    pub id: u64,
    pub frame: Vec<u8>,
    pub job: Job,
}

/// The connection frames are written to now.
pub(crate) struct Conn {
    /// Increases with every connection: a report about an old one cannot end a newer one.
    pub generation: u64,
    /// The session this connection serves: a request made in another one is not sent.
    pub life: Arc<SessionLife>,
    /// Whether callers' requests may be written (shut while auth and watches are replayed).
    pub open: bool,
}

pub(crate) struct Wire {
    pub outbox: VecDeque<Outgoing>,
    pub in_flight: VecDeque<InFlight>,
    /// Waiters of `add_auth`, answered in order by auth replies (which the server sends as
    /// soon as it reads the packet, possibly before replies to earlier requests).
    pub auth_waiters: VecDeque<Sender<i32>>,
    /// Auth replies still due for packets replayed at reconnect (nobody waits for those).
    pub auth_replays: usize,
    /// Auth packets written so far, replayed on every reconnect.
    pub auths: Vec<(String, Vec<u8>)>,
    /// When each ping whose reply is still due was written, oldest first.
    pub pings: VecDeque<Instant>,
    pub conn: Option<Conn>,
    /// A thread holds the write token (it writes the outbox with no lock held).
    pub writing: bool,
    /// The last write could not make progress within its slice: until one does, only the
    /// session thread writes (callers only queue, so no call waits on a full socket).
    pub stalled: bool,
    next_xid: i32,
    next_id: u64,
}

/// A frame holding only a request header (ping, closeSession).
pub(crate) fn header_frame(op: i32) -> Vec<u8> {
    let mut w = Writer::framed();
    w.i32(0);
    w.i32(op);
    w.into_frame()
}

/// The frame of an auth packet.
pub(crate) fn auth_frame(scheme: &str, auth: &[u8]) -> Vec<u8> {
    let packet = AuthPacket { auth_type: 0, scheme: scheme.to_string(), auth: auth.to_vec() };
    proto::encode_request(xid::AUTH, op::AUTH, &packet)
}

/// The frame of a request nobody waits for (set watches).
pub(crate) fn special_frame<T: Encode>(special_xid: i32, op: i32, body: &T) -> Vec<u8> {
    proto::encode_request(special_xid, op, body)
}

fn patch_xid(frame: &mut [u8], xid: i32) {
    if let Some(bytes) = frame.get_mut(4..8) {
        bytes.copy_from_slice(&xid.to_be_bytes());
    }
}

impl Wire {
    pub fn new() -> Wire {
        Wire {
            outbox: VecDeque::new(),
            in_flight: VecDeque::new(),
            auth_waiters: VecDeque::new(),
            auth_replays: 0,
            auths: Vec::new(),
            pings: VecDeque::new(),
            conn: None,
            writing: false,
            stalled: false,
            next_xid: 1,
            next_id: 1,
        }
    }

    fn take_xid(&mut self) -> i32 {
        let id = self.next_xid;
        // Positive xids only: negative ones are reserved for pings, auth, watches.
        self.next_xid = if id == i32::MAX { 1 } else { id + 1 };
        id
    }

    /// Queues a frame; returns its id (to withdraw it while it is still queued).
    pub fn push(&mut self, frame: Vec<u8>, job: Job) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.outbox.push_back(Outgoing { id, frame, job });
        id
    }

    /// Queues a frame ahead of everything queued (replays at reconnect, in the order given).
    pub fn push_front_all(&mut self, frames: Vec<(Vec<u8>, Job)>) {
        for (frame, job) in frames.into_iter().rev() {
            let id = self.next_id;
            self.next_id += 1;
            self.outbox.push_front(Outgoing { id, frame, job });
        }
    }

    /// Removes a request that is still queued; true if it was (it is then never sent).
    pub fn withdraw(&mut self, id: u64) -> bool {
        match self.outbox.iter().rposition(|o| o.id == id) {
            Some(at) => {
                self.outbox.remove(at);
                true
            }
            None => false,
        }
    }

    /// Whether a thread may take the write token now (a connection is open for writing, the
    /// token is free, and the socket is not known to be stalled unless `even_stalled`).
    pub fn can_write(&self, even_stalled: bool) -> bool {
        let open = self.conn.as_ref().is_some_and(|c| c.open);
        open && !self.writing && (even_stalled || !self.stalled)
    }

    /// Whether anything waits to be written.
    pub fn has_backlog(&self) -> bool {
        !self.outbox.is_empty() || self.stalled
    }

    /// The next frame to write on connection `generation`, its bookkeeping done (xid patched,
    /// recorded in flight); fails on the way what may no longer be sent: requests past their
    /// deadline, and requests made in a session that has ended since (a call made in one
    /// session never runs in the next). This check and the write are one step, because only
    /// the write-token holder takes frames and the session of `conn` changes only when a new
    /// connection is installed.
    pub fn next_frame(&mut self, generation: u64, now: Instant) -> Option<Vec<u8>> {
        loop {
            let conn = self.conn.as_ref().filter(|c| c.open && c.generation == generation)?;
            let out = self.outbox.pop_front()?;
            let mut frame = out.frame;
            match out.job {
                Job::Request { reply, watch, life, made_at, deadline } => {
                    if now >= deadline {
                        let _ = reply.send(Err(Failure::Timeout(now - made_at)));
                        continue;
                    }
                    if life.session_id != 0 && !Arc::ptr_eq(&life, &conn.life) {
                        let _ = reply.send(Err(Failure::SessionExpired));
                        continue;
                    }
                    let xid = self.take_xid();
                    patch_xid(&mut frame, xid);
                    reply.mark_written(now);
                    self.in_flight.push_back(InFlight { xid, reply, watch, written_at: now });
                }
                Job::Auth { waiter, scheme, auth } => {
                    match waiter {
                        Some(tx) => {
                            self.auth_waiters.push_back(tx);
                            self.auths.push((scheme, auth));
                        }
                        None => self.auth_replays += 1,
                    };
                }
                Job::Ping => self.pings.push_back(now),
                Job::Special => {}
            }
            return Some(frame);
        }
    }

    /// Fails every queued request for which `fails` gives a failure (the rest stay queued).
    pub fn fail_queued(&mut self, fails: impl Fn(&Arc<SessionLife>) -> Option<Failure>) {
        let mut kept = VecDeque::with_capacity(self.outbox.len());
        for out in self.outbox.drain(..) {
            match &out.job {
                Job::Request { life, .. } => match fails(life) {
                    Some(failure) => {
                        if let Job::Request { reply, .. } = out.job {
                            let _ = reply.send(Err(failure));
                        }
                    }
                    None => kept.push_back(out),
                },
                // Replays and pings belong to the connection that is gone.
                Job::Ping | Job::Special | Job::Auth { waiter: None, .. } => {}
                Job::Auth { .. } => kept.push_back(out),
            }
        }
        self.outbox = kept;
    }

    /// Fails queued requests whose deadline has passed (the session thread sweeps while
    /// disconnected, so a queue nobody waits on does not grow).
    pub fn expire_queued(&mut self, now: Instant) {
        let mut kept = VecDeque::with_capacity(self.outbox.len());
        for out in self.outbox.drain(..) {
            match out.job {
                Job::Request { reply, made_at, deadline, .. } if now >= deadline => {
                    let _ = reply.send(Err(Failure::Timeout(now - made_at)));
                }
                _ => kept.push_back(out),
            }
        }
        self.outbox = kept;
    }

    /// The request a reply with `xid` answers: the oldest in flight (the server answers a
    /// session's requests in order). `Err` when the stream is out of step (a reply for nothing,
    /// or for another request); the request at the front, if any, is failed with the reason.
    pub fn take_reply(&mut self, xid: i32) -> Result<InFlight, String> {
        let Some(request) = self.in_flight.pop_front() else {
            return Err(format!("reply with xid {xid} but no request in flight"));
        };
        if request.xid != xid {
            let reason = format!("reply with xid {xid}, expected {}", request.xid);
            let _ = request.reply.send(Err(Failure::Protocol(reason.clone())));
            return Err(reason);
        }
        Ok(request)
    }

    /// A ping reply came: when that ping was written.
    pub fn take_ping(&mut self) -> Option<Instant> {
        self.pings.pop_front()
    }

    /// An auth reply came: who waits for it (`None` for a replayed packet). Replays are
    /// written before any caller's packet on a connection, so their replies come first.
    pub fn take_auth(&mut self) -> Option<Sender<i32>> {
        if self.auth_replays > 0 {
            self.auth_replays -= 1;
            None
        } else {
            self.auth_waiters.pop_front()
        }
    }

    /// The connection is gone: what was in flight is returned (to be failed), the replays and
    /// pings of that connection are dropped, requests not yet written stay queued.
    pub fn disconnected(&mut self) -> VecDeque<InFlight> {
        self.conn = None;
        self.auth_replays = 0;
        self.pings.clear();
        self.auth_waiters.clear();
        self.fail_queued(|_| None);
        std::mem::take(&mut self.in_flight)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::request::reply_channel;
    use std::time::Duration;

    fn conn(generation: u64, life: &Arc<SessionLife>) -> Conn {
        Conn { generation, life: life.clone(), open: true }
    }

    fn request(wire: &mut Wire, life: &Arc<SessionLife>, deadline: Instant) -> u64 {
        request_rx(wire, life, deadline).0
    }

    fn request_rx(
        wire: &mut Wire,
        life: &Arc<SessionLife>,
        deadline: Instant,
    ) -> (u64, crate::session::request::ReplyReceiver) {
        let (tx, rx) = reply_channel();
        let job = Job::Request {
            reply: tx,
            watch: None,
            life: life.clone(),
            made_at: Instant::now(),
            deadline,
        };
        (wire.push(header_frame(op::GET_DATA), job), rx)
    }

    fn failure(rx: &crate::session::request::ReplyReceiver) -> Option<Failure> {
        match rx.try_take() {
            Some(Ok(Err(f))) => Some(f),
            _ => None,
        }
    }

    #[test]
    fn queued_requests_wait_for_an_open_connection_and_keep_their_order() {
        let life = Arc::new(SessionLife::new(7));
        let mut wire = Wire::new();
        let far = Instant::now() + Duration::from_secs(60);
        request(&mut wire, &life, far);
        request(&mut wire, &life, far);
        assert!(wire.next_frame(1, Instant::now()).is_none(), "written with no connection");
        wire.conn = Some(conn(1, &life));
        let first = wire.next_frame(1, Instant::now()).unwrap();
        let second = wire.next_frame(1, Instant::now()).unwrap();
        assert_eq!(&first[4..8], &1i32.to_be_bytes());
        assert_eq!(&second[4..8], &2i32.to_be_bytes());
        assert_eq!(wire.in_flight.len(), 2);
        assert!(wire.next_frame(2, Instant::now()).is_none(), "an old writer took a frame");
    }

    #[test]
    fn a_request_of_an_ended_session_or_past_its_deadline_is_never_written() {
        let old = Arc::new(SessionLife::new(7));
        let new = Arc::new(SessionLife::new(8));
        let mut wire = Wire::new();
        request(&mut wire, &old, Instant::now() + Duration::from_secs(60));
        request(&mut wire, &new, Instant::now());
        wire.conn = Some(conn(1, &new));
        assert!(wire.next_frame(1, Instant::now() + Duration::from_millis(1)).is_none());
        assert!(wire.in_flight.is_empty());
    }

    #[test]
    fn withdrawn_requests_are_not_sent() {
        let life = Arc::new(SessionLife::new(7));
        let mut wire = Wire::new();
        let id = request(&mut wire, &life, Instant::now() + Duration::from_secs(60));
        assert!(wire.withdraw(id));
        assert!(!wire.withdraw(id));
        wire.conn = Some(conn(1, &life));
        assert!(wire.next_frame(1, Instant::now()).is_none());
    }

    #[test]
    fn replays_go_before_queued_requests() {
        let life = Arc::new(SessionLife::new(7));
        let mut wire = Wire::new();
        request(&mut wire, &life, Instant::now() + Duration::from_secs(60));
        wire.push_front_all(vec![
            (
                auth_frame("digest", b"a:b"),
                Job::Auth { waiter: None, scheme: "digest".into(), auth: b"a:b".to_vec() },
            ),
            (header_frame(op::PING), Job::Ping),
        ]);
        wire.conn = Some(conn(1, &life));
        let auth = wire.next_frame(1, Instant::now()).unwrap();
        assert_eq!(&auth[4..8], &xid::AUTH.to_be_bytes());
        assert_eq!(wire.auth_replays, 1);
        wire.next_frame(1, Instant::now()).unwrap();
        assert_eq!(wire.pings.len(), 1);
        let request = wire.next_frame(1, Instant::now()).unwrap();
        assert_eq!(&request[4..8], &1i32.to_be_bytes());
    }

    #[test]
    fn replies_are_matched_in_order_and_a_reordered_one_breaks_the_stream() {
        let life = Arc::new(SessionLife::new(7));
        let mut wire = Wire::new();
        wire.conn = Some(conn(1, &life));
        let far = Instant::now() + Duration::from_secs(60);
        let (_, first) = request_rx(&mut wire, &life, far);
        let (_, second) = request_rx(&mut wire, &life, far);
        while wire.next_frame(1, Instant::now()).is_some() {}
        // The server answers xid 2 before xid 1: the stream is out of step.
        let Err(err) = wire.take_reply(2) else { panic!("a reordered reply was accepted") };
        assert!(err.contains("expected 1"), "{err}");
        assert!(matches!(failure(&first), Some(Failure::Protocol(_))));
        // The rest fail as a connection loss when the connection is dropped.
        let in_flight = wire.disconnected();
        assert_eq!(in_flight.len(), 1);
        drop(in_flight);
        assert!(second.try_take().is_some(), "the second request was not let go");
        assert!(wire.take_reply(3).is_err(), "a reply with nothing in flight is accepted");
    }

    #[test]
    fn a_lost_reply_leaves_later_replies_unmatched_until_the_connection_is_dropped() {
        let life = Arc::new(SessionLife::new(7));
        let mut wire = Wire::new();
        wire.conn = Some(conn(1, &life));
        let far = Instant::now() + Duration::from_secs(60);
        let (_, _a) = request_rx(&mut wire, &life, far);
        let (_, _b) = request_rx(&mut wire, &life, far);
        while wire.next_frame(1, Instant::now()).is_some() {}
        assert_eq!(wire.take_reply(1).unwrap().xid, 1);
        // Reply 2 is lost: a third request's reply cannot be taken for it.
        let (_, _c) = request_rx(&mut wire, &life, far);
        wire.next_frame(1, Instant::now()).unwrap();
        assert!(wire.take_reply(3).is_err());
    }

    #[test]
    fn queued_requests_survive_a_disconnect_and_fail_when_their_session_ends() {
        let life = Arc::new(SessionLife::new(7));
        let mut wire = Wire::new();
        let far = Instant::now() + Duration::from_secs(60);
        let (_, rx) = request_rx(&mut wire, &life, far);
        wire.push(header_frame(op::PING), Job::Ping);
        assert!(wire.disconnected().is_empty());
        assert_eq!(wire.outbox.len(), 1, "the ping of the old connection was kept");
        life.end();
        wire.fail_queued(|l| l.has_ended().then_some(Failure::SessionExpired));
        assert_eq!(failure(&rx), Some(Failure::SessionExpired));
        assert!(wire.outbox.is_empty());
    }

    #[test]
    fn deadlines_are_checked_when_writing_and_while_queued() {
        let life = Arc::new(SessionLife::new(7));
        let mut wire = Wire::new();
        let t0 = Instant::now();
        let (_, soon) = request_rx(&mut wire, &life, t0 + Duration::from_millis(10));
        let (_, later) = request_rx(&mut wire, &life, t0 + Duration::from_secs(60));
        // Swept while disconnected: the expired one goes, the other stays.
        wire.expire_queued(t0 + Duration::from_millis(20));
        assert_eq!(wire.outbox.len(), 1);
        assert!(
            matches!(failure(&soon), Some(Failure::Timeout(_))),
            "the expired request was kept"
        );
        wire.conn = Some(conn(1, &life));
        // Written after its deadline: failed instead.
        assert!(wire.next_frame(1, t0 + Duration::from_secs(61)).is_none());
        assert!(matches!(failure(&later), Some(Failure::Timeout(_))));
    }

    #[test]
    fn auth_replies_go_to_replays_first_then_to_waiters_in_order() {
        let life = Arc::new(SessionLife::new(7));
        let mut wire = Wire::new();
        let (tx, rx) = crossbeam_channel::bounded(1);
        let auth = |waiter| Job::Auth { waiter, scheme: "digest".into(), auth: b"a:b".to_vec() };
        wire.push(auth_frame("digest", b"a:b"), auth(Some(tx)));
        wire.push_front_all(vec![(auth_frame("digest", b"old"), auth(None))]);
        wire.conn = Some(conn(1, &life));
        while wire.next_frame(1, Instant::now()).is_some() {}
        assert!(wire.take_auth().is_none(), "the replay's reply went to a waiter");
        wire.take_auth().unwrap().send(0).unwrap();
        assert_eq!(rx.try_recv(), Ok(0));
        assert_eq!(wire.auths.len(), 1, "the written packet is remembered for replays");
    }

    #[test]
    fn pings_remember_when_they_were_written() {
        let life = Arc::new(SessionLife::new(7));
        let mut wire = Wire::new();
        wire.conn = Some(conn(1, &life));
        let at = Instant::now();
        wire.push(header_frame(op::PING), Job::Ping);
        wire.next_frame(1, at).unwrap();
        assert_eq!(wire.take_ping(), Some(at));
        assert_eq!(wire.take_ping(), None);
    }
}
