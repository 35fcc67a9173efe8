//! Fault 4: a 3-member ensemble. The client fails over when its member dies, keeping its
//! session and ephemeral nodes; writes resume once a new leader is elected.

use std::time::{Duration, Instant};

use serial_test::serial;
use zkcluster::testing::TestingCluster;
use zkcluster::{Client, CreateOptions, SessionEvent};

fn port_of(server: &str) -> u16 {
    server.rsplit(':').next().and_then(|p| p.parse().ok()).expect("host:port")
}

#[test]
#[serial]
fn ensemble_failover_keeps_the_session() {
    let mut cluster =
        TestingCluster::start(3).unwrap_or_else(|e| panic!("cannot start an ensemble: {e}"));
    let client = Client::builder(&cluster.connect_string())
        .session_timeout(Duration::from_secs(8))
        .request_timeout(Duration::from_secs(8))
        .connect()
        .unwrap();
    let events = client.session_events();
    let id = client.session_id();
    client.create("/eph", "here", &CreateOptions::new().ephemeral()).unwrap();

    // Kill the member the client is connected to.
    let member = cluster.member_of_port(port_of(&client.server())).expect("connected to a member");
    let killed_at = Instant::now();
    cluster.member_mut(member).kill().unwrap();
    let deadline = killed_at + Duration::from_secs(15);
    let reconnected = loop {
        match events.recv_deadline(deadline) {
            Ok(SessionEvent::Reconnected { session_id, server }) => {
                break Some((session_id, server))
            }
            Ok(SessionEvent::Lost { .. }) => panic!("session lost in failover"),
            Ok(_) => continue,
            Err(_) => break None,
        }
    };
    let (session_id, server) = reconnected.expect("no failover");
    eprintln!("FIGURE failover to another member took {:?}", killed_at.elapsed());
    assert_eq!(session_id, id);
    assert_ne!(port_of(&server), cluster.member(member).port());
    assert_eq!(client.get_node("/eph").unwrap().value, b"here", "ephemeral lost in failover");

    // Bring it back, then kill the leader: writes resume after the election.
    cluster.member_mut(member).restart().unwrap();
    cluster.wait_for_leader(Duration::from_secs(30)).unwrap();
    let leader = cluster.leader().expect("a leader");
    let killed_at = Instant::now();
    cluster.member_mut(leader).kill().unwrap();
    let mut attempts = 0;
    let resumed = loop {
        attempts += 1;
        match client.create_node(&format!("/after-{attempts}"), "") {
            Ok(_) => break killed_at.elapsed(),
            Err(e) if e.is_retryable() && killed_at.elapsed() < Duration::from_secs(30) => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Err(e) => panic!("writes did not resume: {e}"),
        }
    };
    eprintln!(
        "FIGURE writes resumed {resumed:?} after the leader was killed ({attempts} attempts)"
    );
    assert_eq!(client.session_id(), id, "the session survived the election");
    assert!(client.exist_node("/eph").unwrap().is_some());
}
