//! Read-only mode against a real ensemble: with two of three members down, a client built with
//! `can_be_read_only(true)` reaches the survivor, reads, and gets a clear `NotReadOnly` for
//! writes; a client without it gets no session; when the quorum is back the first one is
//! read-write again; a client on a read-only server that stays cut off finds a read-write
//! server by itself and moves there.

mod common;

use std::time::Duration;

use serial_test::serial;
use zkcluster::testing::TestingCluster;
use zkcluster::{Client, ErrorCode, SessionEvent, SessionState};

fn wait_for_state(client: &Client, want: SessionState, within: Duration) {
    let reached = common::eventually(within, || client.state() == want);
    assert!(reached, "still {:?} after {within:?}, waiting for {want:?}", client.state());
}

fn client(connect: &str, read_only: bool) -> Client {
    Client::builder(connect)
        .can_be_read_only(read_only)
        .session_timeout(Duration::from_secs(4))
        .connect_timeout(Duration::from_secs(20))
        .request_timeout(Duration::from_secs(3))
        .connect()
        .unwrap_or_else(|e| panic!("cannot connect to {connect}: {e}"))
}

#[test]
#[serial]
fn reads_go_on_without_a_quorum_and_writes_fail_clearly() {
    let mut cluster = TestingCluster::builder(3).read_only_mode(true).start().unwrap();
    let connect = cluster.connect_string();
    let reader = client(&connect, true);
    let strict = client(&connect, false);
    assert_eq!(reader.state(), SessionState::Connected, "with a quorum the session is read-write");
    reader.create_node("/ro", "before the split").unwrap();
    let events = reader.session_events();

    cluster.member_mut(1).kill().unwrap();
    cluster.member_mut(2).kill().unwrap();
    wait_for_state(&reader, SessionState::ConnectedReadOnly, Duration::from_secs(60));
    assert!(
        events.try_iter().any(|e| matches!(e, SessionEvent::ConnectedReadOnly { .. })),
        "the move to the read-only server is announced"
    );
    assert_eq!(reader.get_node("/ro").unwrap().value, b"before the split");
    let err = reader.create_node("/during", "x").unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NotReadOnly), "{err}");
    assert!(err.to_string().contains("read-only"), "the error says why: {err}");
    assert!(!err.is_retryable(), "retrying on the same read-only server cannot help: {err}");

    // Without the opt-in there is no session to be had.
    assert!(!strict.state().is_connected(), "{:?}", strict.state());
    assert!(strict.get_node("/ro").is_err());

    cluster.member_mut(1).restart().unwrap();
    cluster.member_mut(2).restart().unwrap();
    wait_for_state(&reader, SessionState::Connected, Duration::from_secs(60));
    reader.create_node("/after", "quorum is back").unwrap();
    wait_for_state(&strict, SessionState::Connected, Duration::from_secs(60));
    assert_eq!(strict.get_node("/after").unwrap().value, b"quorum is back");
}

/// A read-only server that stays cut off keeps serving its clients; the client must look for a
/// read-write server itself. Here the read-only survivor of a two-member ensemble stays
/// read-only for good, and the other server of the connect string, down at first, comes up
/// read-write (a standalone server): the client's probe finds it and moves there.
#[test]
#[serial]
fn a_client_on_a_read_only_server_moves_to_a_read_write_one_when_it_appears() {
    let mut cluster = TestingCluster::builder(2).read_only_mode(true).start().unwrap();
    let mut writable = zkcluster::testing::TestingServer::builder().start().unwrap();
    writable.stop().unwrap();
    cluster.member_mut(1).kill().unwrap();
    let read_only = cluster.member(0).connect_string();
    let connect = format!("{read_only},{}", writable.connect_string());
    let reader = client(&connect, true);
    wait_for_state(&reader, SessionState::ConnectedReadOnly, Duration::from_secs(60));
    assert_eq!(reader.server(), read_only);
    let events = reader.session_events();
    let (_, watch) = reader.exist_node_watch("/moved").unwrap();

    writable.restart().unwrap();
    wait_for_state(&reader, SessionState::Connected, Duration::from_secs(60));
    assert_eq!(reader.server(), writable.connect_string(), "moved to the read-write server");
    let seen: Vec<SessionEvent> = events.try_iter().collect();
    assert!(
        seen.iter().any(|e| matches!(e, SessionEvent::Connected { .. })),
        "the move is announced: {seen:?}"
    );
    // The read-only server's session is unknown to the quorum: the client asks for a new one
    // rather than resume it and be told it expired.
    assert!(
        !seen.iter().any(|e| matches!(e, SessionEvent::Lost { .. })),
        "the move went through an expiry: {seen:?}"
    );
    reader.create_node("/moved", "read-write again").unwrap();
    let fired = watch.recv_timeout(Duration::from_secs(10)).expect("the watch carried over");
    assert_eq!(fired.path, "/moved");
    // The read-only server is still up and still read-only: the client left it by itself.
    assert_eq!(cluster.member(0).four_letter("isro").unwrap().trim(), "ro");
}
