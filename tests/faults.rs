//! Sessions under faults, against real servers: frozen server, restart, silent network,
//! changes made while disconnected, expiry forced by the server, auth replay, garbage frames.
//! Each test has its own server (or proxy) and runs alone (`#[serial]`).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::proxy::Proxy;
use crossbeam_channel::Receiver;
use serial_test::serial;
use zkcluster::testing::TestingServer;
use zkcluster::{Acl, Client, CreateOptions, SessionEvent, SessionState, WatchEventKind};

fn own_server() -> TestingServer {
    TestingServer::start().unwrap_or_else(|e| panic!("cannot start ZooKeeper: {e}"))
}

fn connect(connect_string: &str, session: Duration, request: Duration) -> Client {
    Client::builder(connect_string)
        .session_timeout(session)
        .request_timeout(request)
        .connect_timeout(Duration::from_secs(10))
        .connect()
        .unwrap_or_else(|e| panic!("connect {connect_string}: {e}"))
}

/// Waits for the first event matching `want`; returns it and when it came.
fn wait_event(
    events: &Receiver<SessionEvent>,
    limit: Duration,
    want: impl Fn(&SessionEvent) -> bool,
) -> Option<(SessionEvent, Instant)> {
    let deadline = Instant::now() + limit;
    while let Ok(event) = events.recv_deadline(deadline) {
        if want(&event) {
            return Some((event, Instant::now()));
        }
    }
    None
}

/// Fault 1: a server frozen past the session timeout. Calls never block past their deadline;
/// after the thaw the old session is reported lost and a new one takes over.
#[test]
#[serial]
fn frozen_server_past_session_timeout() {
    let server = own_server();
    let session_timeout = Duration::from_secs(3);
    let request_timeout = Duration::from_secs(2);
    let client = Arc::new(connect(&server.connect_string(), session_timeout, request_timeout));
    let events = client.session_events();
    let old_id = client.session_id();
    client.create_node("/frozen", "x").unwrap();

    server.freeze().unwrap();
    let frozen_at = Instant::now();
    let freeze_for = client.negotiated_timeout() * 2;
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let client = client.clone();
            std::thread::spawn(move || {
                let mut worst = Duration::ZERO;
                let mut failures = 0;
                while frozen_at.elapsed() < freeze_for {
                    let started = Instant::now();
                    if client.get_node("/frozen").is_err() {
                        failures += 1;
                    }
                    worst = worst.max(started.elapsed());
                }
                (worst, failures)
            })
        })
        .collect();
    let results: Vec<_> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    server.thaw().unwrap();
    let thawed_at = Instant::now();

    let worst = results.iter().map(|r| r.0).max().unwrap();
    eprintln!(
        "FIGURE worst call latency under freeze: {worst:?} (request timeout {request_timeout:?})"
    );
    assert!(worst <= request_timeout + Duration::from_secs(1), "a call blocked {worst:?}");
    assert!(results.iter().all(|r| r.1 > 0), "calls to a frozen server should fail: {results:?}");

    let (lost, lost_at) =
        wait_event(&events, Duration::from_secs(1), |e| matches!(e, SessionEvent::Lost { .. }))
            .or_else(|| {
                wait_event(&events, session_timeout * 2, |e| matches!(e, SessionEvent::Lost { .. }))
            })
            .expect("no Lost event");
    assert_eq!(lost, SessionEvent::Lost { session_id: old_id });
    let (connected, connected_at) =
        wait_event(&events, session_timeout * 2, |e| matches!(e, SessionEvent::Connected { .. }))
            .expect("no new session after the thaw");
    assert!(lost_at <= connected_at);
    let to_new_session = connected_at.saturating_duration_since(thawed_at);
    eprintln!("FIGURE new session {to_new_session:?} after the thaw");
    assert!(to_new_session <= session_timeout * 2, "new session took {to_new_session:?}");
    let SessionEvent::Connected { session_id, .. } = connected else { unreachable!() };
    assert_ne!(session_id, old_id);
    assert_eq!(client.session_id(), session_id);
    assert_eq!(client.get_node("/frozen").unwrap().value, b"x");
}

/// Fault 2: a restart within the session timeout keeps the session, its ephemeral nodes and
/// its watches.
#[test]
#[serial]
fn restart_within_session_timeout_keeps_session() {
    let mut server = own_server();
    let client = connect(&server.connect_string(), Duration::from_secs(10), Duration::from_secs(5));
    let events = client.session_events();
    let id = client.session_id();
    client.create("/eph", "", &CreateOptions::new().ephemeral()).unwrap();
    client.create_node("/watched", "1").unwrap();
    let (_, watch) = client.get_node_watch("/watched").unwrap();

    let restarted = Instant::now();
    server.restart().unwrap();
    let (event, at) = wait_event(&events, Duration::from_secs(10), |e| {
        matches!(e, SessionEvent::Reconnected { .. })
    })
    .expect("no Reconnected event");
    eprintln!("FIGURE reconnected {:?} after the restart began", at - restarted);
    assert!(matches!(event, SessionEvent::Reconnected { session_id, .. } if session_id == id));
    assert_eq!(client.session_id(), id);
    assert!(client.exist_node("/eph").unwrap().is_some(), "ephemeral node lost across the restart");

    let other = connect(&server.connect_string(), Duration::from_secs(10), Duration::from_secs(5));
    other.set_value_to_node("/watched", "2").unwrap();
    let fired = watch
        .recv_timeout(Duration::from_secs(5))
        .expect("watch set before the restart did not fire");
    assert_eq!(fired.kind, WatchEventKind::NodeDataChanged);
}

/// Fault 3: a change made while the client is cut off (and the server restarted) is still
/// delivered to its watch after it reconnects (SetWatches with the last zxid seen).
#[test]
#[serial]
fn change_while_disconnected_fires_after_reconnect() {
    let mut server = own_server();
    let proxy = Proxy::start(&server.connect_string());
    let client = connect(&proxy.connect_string(), Duration::from_secs(10), Duration::from_secs(5));
    let events = client.session_events();
    client.create_node("/node", "1").unwrap();
    client.create_node("/parent", "").unwrap();
    let (_, data_watch) = client.get_node_watch("/node").unwrap();
    let (_, child_watch) = client.get_children_watch("/parent").unwrap();
    let (_, exist_watch) = client.exist_node_watch("/later").unwrap();

    proxy.cut();
    wait_event(&events, Duration::from_secs(5), |e| matches!(e, SessionEvent::Suspended { .. }))
        .expect("no Suspended");
    server.restart().unwrap();
    let other = connect(&server.connect_string(), Duration::from_secs(10), Duration::from_secs(5));
    other.set_value_to_node("/node", "2").unwrap();
    other.create_node("/parent/child", "").unwrap();
    other.create_node("/later", "").unwrap();
    assert!(data_watch.try_recv().is_err(), "nothing can arrive while cut off");
    proxy.restore();

    wait_event(&events, Duration::from_secs(10), |e| matches!(e, SessionEvent::Reconnected { .. }))
        .expect("no Reconnected");
    let limit = Duration::from_secs(5);
    assert_eq!(
        data_watch.recv_timeout(limit).expect("data watch lost").kind,
        WatchEventKind::NodeDataChanged
    );
    assert_eq!(
        child_watch.recv_timeout(limit).expect("child watch lost").kind,
        WatchEventKind::NodeChildrenChanged
    );
    assert_eq!(
        exist_watch.recv_timeout(limit).expect("exists watch lost").kind,
        WatchEventKind::NodeCreated
    );
}

/// Fault 5: the server expires the session (a second handle on the same session closes it
/// while the first is cut off): Lost exactly once, watches completed, calls fail with
/// SessionExpired, and a new session takes over.
#[test]
#[serial]
fn expiry_forced_by_the_server() {
    let server = own_server();
    let proxy = Proxy::start(&server.connect_string());
    let client = connect(&proxy.connect_string(), Duration::from_secs(10), Duration::from_secs(5));
    let events = client.session_events();
    let old_id = client.session_id();
    client.create("/eph", "", &CreateOptions::new().ephemeral()).unwrap();
    client.create_node("/watched", "").unwrap();
    let (_, data_watch) = client.get_node_watch("/watched").unwrap();
    let (_, exist_watch) = client.exist_node_watch("/never").unwrap();

    proxy.cut();
    wait_event(&events, Duration::from_secs(5), |e| matches!(e, SessionEvent::Suspended { .. }))
        .expect("no Suspended");
    let (id, password) = client.session_credentials();
    let thief = Client::builder(&server.connect_string())
        .session_credentials(id, password)
        .connect()
        .unwrap();
    assert_eq!(thief.session_id(), old_id);
    thief.close().unwrap(); // ends the session on the server
    let observer =
        connect(&server.connect_string(), Duration::from_secs(10), Duration::from_secs(5));
    assert!(
        observer.exist_node("/eph").unwrap().is_none(),
        "closing the session removes its ephemerals"
    );
    proxy.restore();

    let (_, lost_at) =
        wait_event(&events, Duration::from_secs(10), |e| matches!(e, SessionEvent::Lost { .. }))
            .expect("no Lost");
    for watch in [&data_watch, &exist_watch] {
        let event =
            watch.recv_timeout(Duration::from_secs(1)).expect("a pending watch was not completed");
        assert_eq!(event.kind, WatchEventKind::SessionLost);
    }
    let (connected, _) = wait_event(&events, Duration::from_secs(10), |e| {
        matches!(e, SessionEvent::Connected { .. })
    })
    .expect("no new session");
    assert!(
        matches!(connected, SessionEvent::Connected { session_id, .. } if session_id != old_id)
    );
    eprintln!("FIGURE new session {:?} after Lost", lost_at.elapsed());
    // Nothing further: Lost came exactly once.
    std::thread::sleep(Duration::from_millis(500));
    let later: Vec<_> = events.try_iter().collect();
    assert!(!later.iter().any(|e| matches!(e, SessionEvent::Lost { .. })), "Lost twice: {later:?}");
    assert!(client.create_node("/after", "").is_ok());
}

/// Without renewal, a lost session is final: calls fail with SessionExpired.
#[test]
#[serial]
fn expiry_without_renewal_is_final() {
    let server = own_server();
    let proxy = Proxy::start(&server.connect_string());
    let client = Client::builder(&proxy.connect_string())
        .session_timeout(Duration::from_secs(10))
        .renew_expired_sessions(false)
        .connect()
        .unwrap();
    let events = client.session_events();
    proxy.cut();
    let (id, password) = client.session_credentials();
    Client::builder(&server.connect_string())
        .session_credentials(id, password)
        .connect()
        .unwrap()
        .close()
        .unwrap();
    proxy.restore();
    wait_event(&events, Duration::from_secs(10), |e| matches!(e, SessionEvent::Lost { .. }))
        .expect("no Lost");
    let deadline = Instant::now() + Duration::from_secs(2);
    while client.state() != SessionState::Expired && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(client.state(), SessionState::Expired);
    assert!(client.get_node("/").unwrap_err().is_session_expired());
}

/// A silent network (nothing flows, nothing closes) is detected by the read timeout; calls
/// fail within their deadline and the session resumes when the network comes back.
#[test]
#[serial]
fn silent_network_is_detected() {
    let server = own_server();
    let proxy = Proxy::start(&server.connect_string());
    let client = connect(&proxy.connect_string(), Duration::from_secs(3), Duration::from_secs(1));
    let events = client.session_events();
    let id = client.session_id();
    proxy.blackhole();
    let started = Instant::now();
    let err = client.get_node("/").unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(started.elapsed() <= Duration::from_millis(2000), "call took {:?}", started.elapsed());
    let (_, suspended_at) = wait_event(&events, Duration::from_secs(5), |e| {
        matches!(e, SessionEvent::Suspended { .. })
    })
    .expect("silence not detected");
    let detected = suspended_at - started;
    eprintln!(
        "FIGURE silent network detected after {detected:?} (negotiated {:?})",
        client.negotiated_timeout()
    );
    assert!(detected <= client.negotiated_timeout(), "took {detected:?}");
    proxy.cut();
    proxy.restore();
    wait_event(&events, Duration::from_secs(5), |e| matches!(e, SessionEvent::Reconnected { .. }))
        .expect("no Reconnected");
    assert_eq!(client.session_id(), id);
    client.get_node("/").unwrap();
}

/// Fault 6: digest auth is replayed on reconnect; others are refused with NoAuth.
#[test]
#[serial]
fn digest_auth_survives_reconnect() {
    let server = own_server();
    let proxy = Proxy::start(&server.connect_string());
    let owner = Client::builder(&proxy.connect_string())
        .auth("digest", "crawler:secret")
        .connect()
        .unwrap();
    let events = owner.session_events();
    owner.create("/private", "mine", &CreateOptions::new().acl(Acl::creator_all())).unwrap();
    proxy.cut();
    proxy.restore();
    wait_event(&events, Duration::from_secs(5), |e| matches!(e, SessionEvent::Reconnected { .. }))
        .expect("no Reconnected");
    assert_eq!(owner.get_node("/private").unwrap().value, b"mine");
    let stranger =
        connect(&server.connect_string(), Duration::from_secs(10), Duration::from_secs(5));
    let err = stranger.get_node("/private").unwrap_err();
    assert!(err.is_no_auth(), "{err}");
    assert!(err.to_string().contains("NoAuth") && err.to_string().contains("/private"), "{err}");
    let other_user = Client::builder(&server.connect_string())
        .auth("digest", "crawler:wrong")
        .connect()
        .unwrap();
    assert!(other_user.get_node("/private").unwrap_err().is_no_auth());
}

/// A garbage frame from the network resets the connection and fails the call it hit; the
/// process and the session survive.
#[test]
#[serial]
fn malformed_frame_resets_the_connection() {
    let server = own_server();
    let proxy = Proxy::start(&server.connect_string());
    let client = connect(&proxy.connect_string(), Duration::from_secs(10), Duration::from_secs(5));
    let events = client.session_events();
    let id = client.session_id();
    for garbage in [
        vec![0xff, 0xff, 0xff, 0xf0], // negative length
        vec![0, 0, 0, 3, 1, 2, 3],    // shorter than a reply header
        vec![0, 0, 0, 16, 0, 0, 0x7f, 0x7f, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0], // unknown xid
        vec![0x7f, 0xff, 0xff, 0xff], // 2 GiB frame
    ] {
        proxy.inject_to_client(garbage.clone());
        let err = client.get_node("/").unwrap_err();
        assert!(
            matches!(
                err,
                zkcluster::Error::Protocol { .. } | zkcluster::Error::ConnectionLoss { .. }
            ),
            "{garbage:?}: {err:?}"
        );
        wait_event(&events, Duration::from_secs(5), |e| {
            matches!(e, SessionEvent::Reconnected { .. })
        })
        .unwrap_or_else(|| panic!("{garbage:?}: no reconnect"));
        assert_eq!(client.session_id(), id);
        client.get_node("/").unwrap();
    }
}

/// close() and Drop finish in bounded time even when the server is frozen.
#[test]
#[serial]
fn close_is_bounded_with_a_frozen_server() {
    let server = own_server();
    let client = connect(&server.connect_string(), Duration::from_secs(6), Duration::from_secs(5));
    let dropped = connect(&server.connect_string(), Duration::from_secs(6), Duration::from_secs(5));
    server.freeze().unwrap();
    let started = Instant::now();
    client.close().unwrap();
    drop(dropped);
    let took = started.elapsed();
    server.thaw().unwrap();
    eprintln!("FIGURE close + drop with a frozen server took {took:?}");
    assert!(took < Duration::from_secs(8), "close took {took:?}");
    assert_eq!(client.state(), SessionState::Closed);
}
