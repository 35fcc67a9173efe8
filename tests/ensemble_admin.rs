//! Server information and ensemble administration against real servers: four-letter words and
//! the server version, `who_am_i`, reading the dynamic configuration, and reconfiguring an
//! ensemble (a member added, one removed) while a client keeps working.

mod common;

use std::time::Duration;

use serial_test::serial;
use zkcluster::testing::TestingCluster;
use zkcluster::{Client, ErrorCode, MemberRole};

#[test]
fn four_letter_words_and_the_server_version_come_from_the_connected_server() {
    let client = common::client();
    assert_eq!(client.four_letter_word("ruok").unwrap(), "imok");
    let srvr = client.four_letter_word("srvr").unwrap();
    assert!(srvr.contains("Mode: standalone"), "{srvr}");
    let version = client.server_version().unwrap();
    assert!(version.starts_with("3.8"), "Debian's ZooKeeper is 3.8, got {version:?}");
    let err = client.four_letter_word("nope!").unwrap_err();
    assert!(err.to_string().contains("nope!"), "{err}");
}

#[test]
fn who_am_i_lists_the_ip_identity_and_added_credentials() {
    let client = common::client();
    let before = client.who_am_i().unwrap();
    assert!(
        before.iter().any(|me| me.scheme == "ip" && me.id == "127.0.0.1"),
        "a loopback client is ip:127.0.0.1, got {before:?}"
    );
    client.add_auth("digest", "crawler:pw").unwrap();
    let after = client.who_am_i().unwrap();
    assert!(after.iter().any(|me| me.to_string() == "digest:crawler"), "{after:?}");
}

#[test]
fn a_standalone_server_has_an_empty_configuration() {
    let client = common::client();
    let config = client.get_config().unwrap();
    assert!(config.members.is_empty(), "{config:?}");
}

/// A super user's client of member 0 only (the test never removes that one: a removed member
/// drops its clients, and the admin's reconfig would see a connection loss).
fn super_client(cluster: &TestingCluster) -> Client {
    let client = common::client_of(&cluster.member(0).connect_string());
    client.add_auth("digest", TestingCluster::SUPER_AUTH).unwrap();
    client
}

#[test]
#[serial]
fn reconfig_adds_and_removes_members_while_clients_keep_working() {
    let mut cluster = TestingCluster::builder(3).reconfig_enabled(true).start().unwrap();
    let admin = super_client(&cluster);
    let worker = common::client_of(&cluster.connect_string());
    worker.create_node("/work", "0").unwrap();

    let config = admin.get_config().unwrap();
    assert_eq!(config.members.len(), 3);
    assert!(config.members.iter().all(|m| m.role == MemberRole::Participant));
    let listed: Vec<String> = config.members.iter().map(|m| m.spec()).collect();
    let expected: Vec<String> = (0..3).map(|i| cluster.member_spec(i)).collect();
    assert_eq!(listed, expected, "the config lists the members as the kit started them");

    // Without the super user's credentials the change is refused.
    let err = worker.reconfig().leaving(3).apply().unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NoAuth), "{err}");

    let new = cluster.add_member().unwrap();
    let grown = admin
        .reconfig()
        .joining(cluster.member_spec(new))
        .from_version(config.version)
        .apply()
        .unwrap();
    assert_eq!(grown.members.len(), 4, "{grown:?}");
    assert!(grown.version > config.version);

    // A change based on the old version is refused: someone changed it meanwhile.
    let err = admin.reconfig().leaving(3).from_version(config.version).apply().unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::BadVersion), "{err}");

    // Remove a follower other than member 0 (removing the leader makes the ensemble elect
    // again, and every member drops its clients meanwhile).
    let leader = cluster.wait_for_leader(Duration::from_secs(30)).unwrap();
    let victim = (1..3).find(|&i| i != leader).unwrap() as u64 + 1;
    let shrunk = admin.reconfig().leaving(victim).apply().unwrap();
    let ids: Vec<u64> = shrunk.members.iter().map(|m| m.id).collect();
    assert_eq!(ids, [1, 2, 3, 4].into_iter().filter(|&id| id != victim).collect::<Vec<_>>());
    admin.sync("/").unwrap();
    assert_eq!(admin.get_config().unwrap(), shrunk, "what reconfig returned is what is stored");

    // A client of the new ensemble's connect string works, and the old one kept working.
    let newcomer = common::client_of(&shrunk.connect_string());
    newcomer.set_value_to_node("/work", b"1").unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        worker.sync("/work").unwrap();
        if worker.get_node("/work").unwrap().value == b"1" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the old client never saw the write");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
#[serial]
fn a_tracking_client_follows_its_server_out_of_the_ensemble() {
    let cluster = TestingCluster::builder(3).reconfig_enabled(true).start().unwrap();
    let admin = super_client(&cluster);
    // The tracking client knows only one follower other than member 0 at first.
    let leader = cluster.wait_for_leader(Duration::from_secs(30)).unwrap();
    let victim = (1..3).find(|&i| i != leader).unwrap();
    let client = common::client_of(&cluster.member(victim).connect_string());
    let tracker = client.track_ensemble();
    let first = tracker.configs().recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(first.members.len(), 3, "the tracker applies the configuration it first reads");
    admin.create_node("/tracked", "0").unwrap();
    // Applying a grown list may move the client (a connection loss for calls in flight).
    let write = |value: &[u8]| {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            match client.set_value_to_node("/tracked", value) {
                Ok(_) => return,
                Err(e) if e.is_retryable() && std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                Err(e) => panic!("writing through the tracking client: {e}"),
            }
        }
    };
    write(b"0");

    let shrunk = admin.reconfig().leaving(victim as u64 + 1).apply().unwrap();
    let applied = tracker.configs().recv_timeout(Duration::from_secs(20)).unwrap();
    assert_eq!(applied.version, shrunk.version, "the tracker saw the change");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !shrunk.connect_string().split(',').any(|h| h == client.server()) {
        assert!(std::time::Instant::now() < deadline, "still on {}", client.server());
        std::thread::sleep(Duration::from_millis(50));
    }
    write(b"1");
    admin.sync("/tracked").unwrap();
    assert_eq!(admin.get_node("/tracked").unwrap().value, b"1");
    drop(tracker); // ends its thread (the join in Drop would hang otherwise)
}

/// A tracker whose read of the configuration finds the client disconnected does not hold up
/// its drop for the client's request timeout (its read used to wait in the queue that long).
#[test]
fn a_tracker_started_while_disconnected_drops_at_once() {
    let proxy = common::proxy::Proxy::start(&common::server().connect_string());
    let client = Client::builder(&proxy.connect_string())
        .request_timeout(Duration::from_secs(10))
        .connect()
        .unwrap();
    proxy.cut();
    assert!(common::eventually(Duration::from_secs(10), || !client.state().is_connected()));
    let tracker = client.track_ensemble();
    std::thread::sleep(Duration::from_millis(200)); // its first read is under way
    let started = std::time::Instant::now();
    drop(tracker);
    assert!(started.elapsed() < Duration::from_secs(2), "drop took {:?}", started.elapsed());
    proxy.restore();
}
