//! Watch streams (DataWatch / ChildrenWatch) and persistent watches against real servers.

use std::time::{Duration, Instant};

use crossbeam_channel::RecvTimeoutError;
use zkcluster::testing::TestingServer;
use zkcluster::{Client, CreateOptions, WatchEventKind, WatchStream};

const WAIT: Duration = Duration::from_secs(5);

mod common;

use common::{server, test_root};

fn connect() -> Client {
    common::client()
}

fn next<T>(stream: &WatchStream<T>) -> Option<T> {
    stream.recv_timeout(WAIT).expect("a state within 5 s").expect("a state, not an error")
}

fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    condition()
}

#[test]
fn data_watch_delivers_the_state_at_start_and_after_every_change() {
    let client = connect();
    let other = connect();
    let path = format!("{}/node", test_root(&client, "data"));
    let watch = client.watch_data(&path).unwrap();
    assert_eq!(watch.path(), path);
    assert_eq!(next(&watch), None, "no node yet");

    other.create_node(&path, "a").unwrap();
    let node = next(&watch).expect("created");
    assert_eq!((node.value.as_slice(), node.stat.version), (&b"a"[..], 0));

    for (i, value) in ["b", "c", "d"].iter().enumerate() {
        other.set_value_to_node(&path, value).unwrap();
        let node = next(&watch).expect("changed");
        assert_eq!((node.value.as_slice(), node.stat.version), (value.as_bytes(), i as i32 + 1));
    }
    other.delete_node(&path).unwrap();
    assert_eq!(next(&watch), None, "deleted");
    other.create_node(&path, "again").unwrap();
    assert_eq!(next(&watch).expect("re-created").value, b"again");
    assert!(matches!(watch.try_recv(), Err(crossbeam_channel::TryRecvError::Empty)));
}

#[test]
fn children_watch_delivers_every_list() {
    let client = connect();
    let other = connect();
    let path = format!("{}/dir", test_root(&client, "children"));
    other.create_node(&path, "").unwrap();
    let mut watch = client.watch_children(&path).unwrap();
    assert_eq!(next(&watch), Some(vec![]));
    other.create_node(&format!("{path}/a"), "").unwrap();
    assert_eq!(next(&watch), Some(vec!["a".to_string()]));
    other.create_node(&format!("{path}/b"), "").unwrap();
    let mut children = next(&watch).unwrap();
    children.sort();
    assert_eq!(children, ["a", "b"]);
    // A data change of the parent is not a children change.
    other.set_value_to_node(&path, "x").unwrap();
    other.delete_recursive(&path).unwrap();
    // Deleting the children and the node may be seen as one or more lists, then None.
    loop {
        match watch.next().expect("stream open").expect("no error") {
            None => break,
            Some(list) => assert!(list.len() < 2, "{list:?}"),
        }
    }
    other.create_node(&path, "").unwrap();
    assert_eq!(next(&watch), Some(vec![]));
}

#[test]
fn dropping_a_stream_stops_rearming_and_closing_the_client_ends_it() {
    let client = connect();
    let other = connect();
    let path = format!("{}/node", test_root(&client, "drop"));
    other.create_node(&path, "0").unwrap();

    let watch = client.watch_data(&path).unwrap();
    assert!(next(&watch).is_some());
    assert_eq!(client.watch_count(), 1);
    drop(watch);
    other.set_value_to_node(&path, "1").unwrap();
    // The fired watch is gone and nobody re-arms it.
    assert!(wait_until(WAIT, || client.watch_count() == 0));
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(client.watch_count(), 0);

    let watch = client.watch_children(&path).unwrap();
    let started = Instant::now();
    watch.close();
    assert!(started.elapsed() < Duration::from_secs(1), "close took {:?}", started.elapsed());

    let watch = client.watch_data(&path).unwrap();
    assert!(next(&watch).is_some());
    client.close().unwrap();
    assert!(
        matches!(watch.recv_timeout(WAIT), Err(RecvTimeoutError::Disconnected)),
        "the stream ends with the client"
    );
    assert!(client.watch_data(&path).unwrap_err().is_closed());
}

#[test]
fn persistent_watch_sees_every_change_until_dropped() {
    let client = connect();
    let other = connect();
    let root = test_root(&client, "persistent");
    let path = format!("{root}/node");
    let watch = client.watch_persistent(&path).unwrap();
    assert!(!watch.is_recursive());
    other.create_node(&path, "").unwrap();
    other.set_value_to_node(&path, "1").unwrap();
    other.set_value_to_node(&path, "2").unwrap();
    other.create_node(&format!("{path}/child"), "").unwrap();
    other.create_node(&format!("{path}/child/grandchild"), "").unwrap(); // not watched
    other.delete_recursive(&path).unwrap();
    let kinds: Vec<_> = (0..6).map(|_| watch.recv_timeout(WAIT).expect("event")).collect();
    use WatchEventKind::*;
    assert_eq!(
        kinds.iter().map(|e| e.kind).collect::<Vec<_>>(),
        [
            NodeCreated,
            NodeDataChanged,
            NodeDataChanged,
            NodeChildrenChanged,
            NodeChildrenChanged,
            NodeDeleted
        ]
    );
    assert!(kinds.iter().all(|e| e.path == path));
    assert!(
        watch.recv_timeout(Duration::from_millis(200)).is_err(),
        "the grandchild is not watched"
    );

    // Dropped: gone locally and on the server (`wchc` lists watches by session).
    let session = format!("{:#x}", client.session_id());
    let watched_by_session = || {
        let wchc = server().four_letter("wchc").unwrap();
        let mut in_session = false;
        for line in wchc.lines() {
            if line.starts_with("0x") {
                in_session = line.trim() == session;
            } else if in_session && line.trim() == path {
                return true;
            }
        }
        false
    };
    assert!(watched_by_session(), "{}", server().four_letter("wchc").unwrap());
    drop(watch);
    assert_eq!(client.watch_count(), 0);
    assert!(wait_until(WAIT, || !watched_by_session()), "the server still has the watch");
}

#[test]
fn dropping_a_persistent_watch_keeps_one_shot_watches_on_the_same_path() {
    let client = connect();
    let other = connect();
    let path = format!("{}/node", test_root(&client, "shared-path"));
    other.create_node(&path, "").unwrap();
    let persistent = client.watch_persistent(&path).unwrap();
    let (_, one_shot) = client.get_node_watch(&path).unwrap();
    drop(persistent);
    client.sync("/").unwrap(); // the removal has been applied
    other.set_value_to_node(&path, "x").unwrap();
    let event = one_shot.recv_timeout(WAIT).expect("the one-shot watch still fires");
    assert_eq!(event.kind, WatchEventKind::NodeDataChanged);
}

#[test]
fn recursive_watch_sees_the_whole_subtree_with_chroot_stripped() {
    let plain = connect();
    let root = test_root(&plain, "recursive");
    let client = Client::connect(&format!("{}{root}", server().connect_string())).unwrap();
    let watch = client.watch_persistent_recursive("/tree").unwrap();
    assert!(watch.is_recursive());
    plain.create(&format!("{root}/tree/a/b"), "", &CreateOptions::new().parents()).unwrap();
    plain.set_value_to_node(&format!("{root}/tree/a/b"), "x").unwrap();
    plain.delete_node(&format!("{root}/tree/a/b")).unwrap();
    plain.create_node(&format!("{root}/outside"), "").unwrap();
    let mut seen: Vec<(WatchEventKind, String)> = (0..4)
        .map(|_| watch.recv_timeout(WAIT).expect("event"))
        .map(|e| (e.kind, e.path))
        .collect();
    seen.sort_by(|a, b| a.1.cmp(&b.1).then(format!("{:?}", a.0).cmp(&format!("{:?}", b.0))));
    use WatchEventKind::*;
    let expected = [
        (NodeCreated, "/tree"),
        (NodeCreated, "/tree/a"),
        (NodeCreated, "/tree/a/b"),
        (NodeDataChanged, "/tree/a/b"),
    ];
    let mut expected: Vec<_> = expected.iter().map(|(k, p)| (*k, p.to_string())).collect();
    expected.sort_by(|a, b| a.1.cmp(&b.1).then(format!("{:?}", a.0).cmp(&format!("{:?}", b.0))));
    assert_eq!(seen, expected);
    assert_eq!(
        watch.recv_timeout(WAIT).unwrap(),
        zkcluster::WatchedEvent { kind: NodeDeleted, path: "/tree/a/b".into() }
    );
    assert!(watch.recv_timeout(Duration::from_millis(200)).is_err(), "/outside is not below /tree");
}

/// Reconnects keep persistent watches (SetWatches2); a lost session ends them and is reported
/// by every stream, which then re-arms on the new session.
#[test]
fn watches_survive_reconnects_and_report_session_loss() {
    let mut server = TestingServer::builder()
        .tick_time(Duration::from_millis(100))
        .session_timeout_range(Duration::from_millis(400), Duration::from_secs(20))
        .start()
        .expect("a dedicated ZooKeeper server");
    let connect = server.connect_string();
    let other = Client::connect(&connect).unwrap();
    other.create_node("/w", "0").unwrap();

    // Reconnect within the session: the persistent watch is re-registered.
    let patient =
        Client::builder(&connect).session_timeout(Duration::from_secs(15)).connect().unwrap();
    let persistent = patient.watch_persistent("/w").unwrap();
    let session = patient.session_id();
    let events = patient.session_events();
    server.restart().expect("restart");
    // Changes made before the client is back are not replayed for persistent watches (the
    // server only re-registers them), so change the node once it has reconnected.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match events.recv_deadline(deadline).expect("reconnected within 15 s") {
            zkcluster::SessionEvent::Reconnected { .. } => break,
            zkcluster::SessionEvent::Lost { .. } => panic!("session lost"),
            _ => {}
        }
    }
    let other = Client::connect(&connect).unwrap();
    other.set_value_to_node("/w", "1").unwrap();
    // First the watch is told it may have missed changes, then the change comes.
    let resumed = persistent.recv_timeout(Duration::from_secs(15)).expect("resumed event");
    assert_eq!(resumed.kind, WatchEventKind::Resumed);
    let event =
        persistent.recv_timeout(Duration::from_secs(15)).expect("event after the reconnect");
    assert_eq!(event.kind, WatchEventKind::NodeDataChanged);
    assert_eq!(patient.session_id(), session, "same session");

    // Lose the session: stop the server for longer than the session timeout.
    let short =
        Client::builder(&connect).session_timeout(Duration::from_millis(800)).connect().unwrap();
    let data = short.watch_data("/w").unwrap();
    assert_eq!(next(&data).unwrap().value, b"1");
    let lost_persistent = short.watch_persistent("/w").unwrap();
    let lost_session = short.session_id();
    server.stop().expect("stop");
    let err =
        data.recv_timeout(Duration::from_secs(10)).expect("a report").expect_err("session loss");
    assert!(err.is_session_expired(), "{err:?}");
    assert_eq!(lost_persistent.recv_timeout(WAIT).unwrap().kind, WatchEventKind::SessionLost);
    assert!(matches!(lost_persistent.recv_timeout(WAIT), Err(RecvTimeoutError::Disconnected)));
    server.restart().expect("restart");
    // The data stream re-arms on the new session and delivers the current state.
    let state = loop {
        match data.recv_timeout(Duration::from_secs(20)).expect("state after the new session") {
            Ok(state) => break state,
            Err(e) => assert!(e.is_retryable() || e.is_session_expired(), "{e:?}"),
        }
    };
    assert_eq!(state.unwrap().value, b"1");
    assert_ne!(short.session_id(), lost_session);
    let other = Client::connect(&connect).unwrap();
    other.set_value_to_node("/w", "2").unwrap();
    assert_eq!(next(&data).unwrap().value, b"2");
    drop(persistent);
}
