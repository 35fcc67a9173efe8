//! The core without a server, a socket or a sleep: frames are built here, cut into pieces as a
//! socket might deliver them, reordered or lost; the time is whatever the test says.

use std::time::{Duration, Instant};

use super::wire::header_frame;
use super::*;
use crate::proto::{Encode, FrameBuffer, Writer};
use crate::session::request::{reply_channel, ReplyReceiver};
use crate::session::ConnectString;

const MS: Duration = Duration::from_millis(1);

fn config() -> SessionConfig {
    SessionConfig {
        connect: ConnectString::parse("127.0.0.1:2181/app").unwrap(),
        session_timeout: Duration::from_secs(3),
        connect_timeout: Duration::from_secs(3),
        request_timeout: Duration::from_secs(1),
        renew_expired: true,
        resume: None,
        max_request: crate::session::DEFAULT_MAX_REQUEST,
        backoff: (MS, MS),
        can_be_read_only: false,
        sasl: None,
        #[cfg(feature = "gssapi")]
        gssapi: None,
        connector: Default::default(),
    }
}

fn core() -> Core {
    Core::new(&config(), Arc::new(Liveness::new()))
}

fn response(session_id: i64) -> ConnectResponse {
    ConnectResponse {
        protocol_version: 0,
        timeout_ms: 3000,
        session_id,
        passwd: vec![7; 16],
        read_only: false,
    }
}

/// A core connected (generation 1) to session 7.
fn connected() -> Core {
    let mut core = core();
    let (resumed, event) = core.connected(1, &response(7), "a:1");
    assert!(!resumed);
    assert!(matches!(event, SessionEvent::Connected { session_id: 7, .. }), "{event:?}");
    core
}

/// Queues a getData as a caller would (`watch`: a data watch on `/app/n`), for `life`.
fn call(core: &mut Core, deadline: Instant, watch: bool) -> (ReplyReceiver, Receiver) {
    let (tx, rx) = reply_channel();
    let (wtx, wrx) = crossbeam_channel::unbounded();
    let watch = watch.then(|| (WatchKind::Data, "/app/n".to_string(), wtx));
    let life = core.status.life.clone();
    let job = Job::Request { reply: tx, watch, life, made_at: deadline - 1000 * MS, deadline };
    core.wire.push(header_frame(op::GET_DATA), job);
    (rx, wrx)
}

type Receiver = crossbeam_channel::Receiver<watches::WatchedEvent>;

/// Writes everything queued on connection `generation`, as the write-token holder would.
fn write_all(core: &mut Core, generation: u64, now: Instant) -> Vec<Vec<u8>> {
    std::iter::from_fn(|| core.wire.next_frame(generation, now)).collect()
}

fn xid_of(frame: &[u8]) -> i32 {
    i32::from_be_bytes(frame[4..8].try_into().unwrap())
}

/// A server frame with its length prefix: a reply header and `body`.
fn server_frame(xid: i32, zxid: i64, err: i32, body: impl FnOnce(&mut Writer)) -> Vec<u8> {
    let mut w = Writer::framed();
    ReplyHeader { xid, zxid, err }.encode(&mut w);
    body(&mut w);
    w.into_frame()
}

fn reply(xid: i32, zxid: i64) -> Vec<u8> {
    server_frame(xid, zxid, 0, |w| w.buffer(b"value"))
}

fn notification(event_type: i32, path: &str) -> Vec<u8> {
    server_frame(xid::WATCH_EVENT, -1, 0, |w| {
        WatcherEvent { event_type, state: 3, path: path.to_string() }.encode(w)
    })
}

/// Feeds `bytes` to the core through a frame buffer in pieces of `piece` bytes, as reads of
/// a socket would deliver them; returns what the last frame asked for.
fn feed(core: &mut Core, bytes: &[u8], piece: usize, now: Instant) -> Result<Received, String> {
    let mut frames = FrameBuffer::new(crate::proto::MAX_FRAME);
    let mut last = Ok(Received::default());
    for chunk in bytes.chunks(piece) {
        frames.spare()[..chunk.len()].copy_from_slice(chunk);
        frames.filled(chunk.len());
        while let Some(frame) = frames.next_frame().unwrap() {
            last = core.receive(frame, 1, now);
            last.clone()?;
        }
    }
    last
}

fn taken(rx: &ReplyReceiver) -> Option<Result<RawReply, Failure>> {
    rx.try_take().and_then(Result::ok)
}

#[test]
fn replies_split_at_every_byte_reach_their_callers_and_register_their_watches() {
    let mut core = connected();
    let now = Instant::now();
    let (first, watch) = call(&mut core, now + 1000 * MS, true);
    let (second, _) = call(&mut core, now + 1000 * MS, false);
    let written = write_all(&mut core, 1, now);
    assert_eq!(written.iter().map(|f| xid_of(f)).collect::<Vec<_>>(), [1, 2]);
    let mut stream = reply(1, 10);
    stream.extend(reply(2, 11));
    stream.extend(notification(3, "/app/n")); // NodeDataChanged
    feed(&mut core, &stream, 1, now).unwrap();
    let got = taken(&first).expect("first reply").unwrap();
    assert_eq!((got.err, got.conn), (0, 1));
    assert!(taken(&second).is_some(), "second reply");
    // The notification found the watch the reply registered, with the chroot stripped.
    let event = watch.try_recv().expect("the watch did not fire");
    assert_eq!((event.kind, event.path.as_str()), (WatchEventKind::NodeDataChanged, "/n"));
    assert_eq!(core.last_zxid(), 11);
    assert_eq!(core.watches.len(), 0, "a one-shot watch stayed registered");
}

#[test]
fn a_reordered_reply_breaks_the_stream_and_fails_the_request_it_displaced() {
    let mut core = connected();
    let now = Instant::now();
    let (first, _) = call(&mut core, now + 1000 * MS, false);
    let (second, _) = call(&mut core, now + 1000 * MS, false);
    write_all(&mut core, 1, now);
    let err = feed(&mut core, &reply(2, 5), 7, now).unwrap_err();
    assert!(err.contains("expected 1"), "{err}");
    assert!(matches!(taken(&first), Some(Err(Failure::Protocol(_)))));
    // The connection is dropped: the rest is failed by the session thread.
    let in_flight = core.disconnected();
    assert_eq!(in_flight.len(), 1);
    drop(in_flight);
    assert!(second.try_take().is_some(), "the second request was not let go");
}

#[test]
fn a_lost_reply_leaves_the_next_one_unmatched_and_a_garbled_one_fails_the_front() {
    let mut core = connected();
    let now = Instant::now();
    let (_a, _) = call(&mut core, now + 1000 * MS, false);
    let (_b, _) = call(&mut core, now + 1000 * MS, false);
    write_all(&mut core, 1, now);
    feed(&mut core, &reply(1, 1), 3, now).unwrap();
    // Reply 2 is lost; a reply for nothing written is out of step too.
    assert!(feed(&mut core, &reply(3, 2), 64, now).is_err());
    assert!(feed(&mut core, &reply(4, 2), 64, now).unwrap_err().contains("no request"));
    // A frame too short for a reply header fails the request at the front.
    let mut core = connected();
    let (front, _) = call(&mut core, now + 1000 * MS, false);
    write_all(&mut core, 1, now);
    assert!(core.receive(vec![0, 0, 0], 1, now).unwrap_err().contains("bad reply header"));
    assert!(matches!(taken(&front), Some(Err(Failure::Protocol(_)))));
}

#[test]
fn pings_and_replies_feed_the_lease_clock_with_their_send_times() {
    let liveness = Arc::new(Liveness::new());
    let mut core = Core::new(&config(), liveness.clone());
    core.connected(1, &response(7), "a:1");
    let t0 = Instant::now();
    let mut ping = header_frame(op::PING);
    ping[4..8].copy_from_slice(&xid::PING.to_be_bytes());
    core.wire.push(ping, Job::Ping);
    write_all(&mut core, 1, t0);
    let (_rx, _) = call(&mut core, t0 + 1000 * MS, false);
    write_all(&mut core, 1, t0 + 5 * MS);
    feed(&mut core, &server_frame(xid::PING, 0, 0, |_| {}), 2, t0 + 9 * MS).unwrap();
    assert_eq!(liveness.last_answered_send(), Some(t0));
    feed(&mut core, &reply(1, 3), 2, t0 + 9 * MS).unwrap();
    assert_eq!(liveness.last_answered_send(), Some(t0 + 5 * MS));
}

#[test]
fn deadlines_hold_while_queued_while_writing_and_never_past_the_session() {
    let mut core = core();
    let t0 = Instant::now();
    // Queued while connecting: swept at its deadline, kept before it.
    let (early, _) = call(&mut core, t0 + 10 * MS, false);
    let (late, _) = call(&mut core, t0 + 100 * MS, false);
    core.wire.expire_queued(t0 + 9 * MS);
    assert!(early.try_take().is_none());
    core.wire.expire_queued(t0 + 10 * MS);
    assert!(matches!(taken(&early), Some(Err(Failure::Timeout(_)))));
    // Connected after the other one's deadline: failed when the writer comes to it.
    core.connected(1, &response(7), "a:1");
    assert!(write_all(&mut core, 1, t0 + 100 * MS).is_empty());
    assert!(matches!(taken(&late), Some(Err(Failure::Timeout(_)))));
    // Written in time: a reply after the deadline still goes to the caller (who decides).
    let (on_time, _) = call(&mut core, t0 + 200 * MS, false);
    assert_eq!(write_all(&mut core, 1, t0 + 150 * MS).len(), 1);
    feed(&mut core, &reply(1, 1), 4, t0 + 300 * MS).unwrap();
    assert!(matches!(taken(&on_time), Some(Ok(_))));
}

#[test]
fn expiry_in_every_state_fails_the_old_sessions_calls_and_completes_its_watches() {
    for state in ["connecting", "connected", "in flight", "suspended"] {
        // Connecting: resuming session 7 from credentials, before any connection.
        let resuming = || {
            let config = SessionConfig { resume: Some((7, vec![7; 16])), ..config() };
            Core::new(&config, Arc::new(Liveness::new()))
        };
        let mut core = if state == "connecting" { resuming() } else { connected() };
        let now = Instant::now();
        let (queued, watch) = call(&mut core, now + 1000 * MS, true);
        if state != "connecting" {
            // One watch registered by an answered call.
            write_all(&mut core, 1, now);
            feed(&mut core, &reply(1, 1), 5, now).unwrap();
            assert!(taken(&queued).is_some());
            call(&mut core, now + 1000 * MS, false);
        }
        if state == "in flight" {
            write_all(&mut core, 1, now);
        }
        let in_flight = core.disconnected();
        if state == "suspended" || state == "in flight" {
            assert!(core.suspended().is_some());
        }
        let event = core.expired(true);
        assert!(matches!(event, SessionEvent::Lost { .. }), "{state}: {event:?}");
        assert_eq!(core.status.state, SessionState::Connecting, "{state}");
        assert!(core.status.life.has_ended(), "{state}");
        if state != "connecting" {
            let lost = watch.try_recv().expect("the watch was not completed");
            assert_eq!(lost.kind, WatchEventKind::SessionLost, "{state}");
            assert_eq!(core.watches.len(), 0, "{state}");
        }
        assert!(core.wire.outbox.is_empty(), "{state}: calls of the old session kept");
        drop(in_flight);
        // A new session: nothing of the old one is written to it.
        let (resumed, _) = core.connected(2, &response(8), "a:1");
        assert!(!resumed, "{state}");
        assert!(write_all(&mut core, 2, now).is_empty(), "{state}: an old call went out");
    }
}

#[test]
fn a_resumed_session_replays_auth_and_watches_before_waiting_calls() {
    let mut core = connected();
    let now = Instant::now();
    let (tx, _verdict) = crossbeam_channel::bounded(1);
    let job = Job::Auth { waiter: Some(tx), scheme: "digest".into(), auth: b"u:p".to_vec() };
    core.wire.push(wire::auth_frame("digest", b"u:p"), job);
    let (first, _watch) = call(&mut core, now + 1000 * MS, true);
    write_all(&mut core, 1, now);
    let mut stream = server_frame(xid::AUTH, 0, 0, |_| {});
    stream.extend(reply(1, 42));
    feed(&mut core, &stream, 3, now).unwrap();
    assert!(taken(&first).is_some());
    let _lost = core.disconnected();
    core.suspended();
    let (waiting, _) = call(&mut core, now + 1000 * MS, false);
    let (resumed, event) = core.connected(2, &response(7), "b:2");
    assert!(resumed && matches!(event, SessionEvent::Reconnected { .. }), "{event:?}");
    let written = write_all(&mut core, 2, now);
    let xids: Vec<i32> = written.iter().map(|f| xid_of(f)).collect();
    assert_eq!(xids, [xid::AUTH, xid::SET_WATCHES, 2], "replays first, then the waiting call");
    drop(waiting);
}

#[test]
fn a_refused_auth_is_reported_and_a_notification_for_a_dropped_one_shot_readds_persistent() {
    let mut core = connected();
    let now = Instant::now();
    let (tx, verdict) = crossbeam_channel::bounded(1);
    let job = Job::Auth { waiter: Some(tx), scheme: "digest".into(), auth: b"u:p".to_vec() };
    core.wire.push(wire::auth_frame("digest", b"u:p"), job);
    write_all(&mut core, 1, now);
    let received = feed(&mut core, &server_frame(xid::AUTH, 0, -115, |_| {}), 1, now).unwrap();
    assert!(received.auth_failed);
    assert_eq!(verdict.try_recv(), Ok(-115));

    let mut core = connected();
    let (ptx, prx) = crossbeam_channel::unbounded();
    let (otx, _orx) = crossbeam_channel::unbounded();
    core.watches.add(WatchKind::Persistent, "/app/n".into(), ptx);
    core.watches.add(WatchKind::Data, "/app/n".into(), otx);
    let received = feed(&mut core, &notification(3, "/app/n"), 5, now).unwrap();
    assert!(received.queued, "the persistent watch was not set again");
    assert_eq!(prx.try_recv().unwrap().path, "/n");
    let frames = write_all(&mut core, 1, now);
    assert_eq!(frames.len(), 1);
    assert_eq!(&frames[0][8..12], &op::ADD_WATCH.to_be_bytes());
}

#[test]
fn closing_fails_everything_and_ends_the_watches() {
    let mut core = connected();
    let now = Instant::now();
    let (answered, watch) = call(&mut core, now + 1000 * MS, true);
    write_all(&mut core, 1, now);
    feed(&mut core, &reply(1, 1), 8, now).unwrap();
    assert!(taken(&answered).is_some());
    let (in_flight_rx, _) = call(&mut core, now + 1000 * MS, false);
    write_all(&mut core, 1, now);
    let (pending, _) = call(&mut core, now + 1000 * MS, false);
    let in_flight = core.disconnected();
    let event = core.finished(SessionState::Closed, in_flight);
    assert_eq!(event, Some(SessionEvent::Closed));
    assert!(matches!(taken(&in_flight_rx), Some(Err(Failure::Closed))));
    assert!(matches!(taken(&pending), Some(Err(Failure::Closed))));
    assert_eq!(watch.try_recv().unwrap().kind, WatchEventKind::Closed);
    assert_eq!(core.finished(SessionState::Closed, VecDeque::new()), None, "closed twice");
}

#[test]
fn a_queued_call_is_backlog_until_written() {
    // The timers' own tests cover what a backlog defers (a ping); this is where it comes from.
    let t0 = Instant::now();
    let mut core = connected();
    assert!(!core.wire.has_backlog());
    let (_rx, _) = call(&mut core, t0 + 5000 * MS, false);
    assert!(core.wire.has_backlog());
    write_all(&mut core, 1, t0);
    assert!(!core.wire.has_backlog());
}

#[test]
fn a_session_only_read_only_servers_served_is_not_resumed() {
    let mut core = core();
    assert_eq!(core.resume_with().0, 0);
    let read_only = ConnectResponse { read_only: true, ..response(9) };
    core.connected(1, &read_only, "ro:1");
    let old_life = core.status.life.clone();
    // Unknown to the quorum: the next connect asks for a new session.
    assert_eq!(core.resume_with(), (0, vec![0; 16]));
    core.disconnected();
    let (resumed, event) = core.connected(2, &response(7), "rw:1");
    assert!(!resumed);
    assert!(matches!(event, SessionEvent::Connected { session_id: 7, .. }), "{event:?}");
    assert!(old_life.has_ended(), "the read-only session's life goes on");
    // Served read-write once: resumed from now on, through read-only servers too.
    assert_eq!(core.resume_with(), (7, vec![7; 16]));
    core.disconnected();
    core.connected(3, &ConnectResponse { read_only: true, ..response(7) }, "ro:1");
    assert_eq!(core.resume_with().0, 7);
}
