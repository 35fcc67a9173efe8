//! PersistentNode against a real ZooKeeper server: the node is there, with its data, through
//! deletions, reconnects, session expiry and a server restart; closing, dropping and a closed
//! client end it; nothing is left behind.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::proxy::Proxy;
use common::{client, client_of, eventually, expire_session, server, test_root};
use serial_test::serial;
use zkcluster::recipe::PersistentNode;
use zkcluster::testing::TestingServer;

const LONG: Duration = Duration::from_secs(15);

/// A node kept by `c` at `<a fresh root>/member` with `data`, once it exists: (path, node).
fn member(c: &zkcluster::Client, root_name: &str, data: &str) -> (String, PersistentNode) {
    let path = format!("{}/member", test_root(c, root_name));
    let node = PersistentNode::start(c, &path, data).unwrap();
    node.wait_for_create(LONG).unwrap();
    (path, node)
}

#[test]
fn creates_the_node_and_close_deletes_it() {
    let c = client();
    let root = test_root(&c, "pnode-basic");
    let path = format!("{root}/a/b/member");
    let node = PersistentNode::start(&c, &path, "payload").unwrap();
    assert_eq!(node.wait_for_create(LONG).unwrap(), path);
    assert_eq!(node.path().as_deref(), Some(path.as_str()));
    let read = c.get_node(&path).unwrap();
    assert_eq!(read.value, b"payload");
    assert_eq!(read.stat.ephemeral_owner, c.session_id());
    node.close().unwrap();
    assert!(c.exist_node(&path).unwrap().is_none());
}

#[test]
fn a_deleted_node_is_made_again_with_the_current_data() {
    let c = client();
    let other = client();
    let (path, node) = member(&c, "pnode-deleted", "v1");
    node.set_data("v2").unwrap();
    assert_eq!(other.get_node(&path).unwrap().value, b"v2");
    for _ in 0..3 {
        let before = other.exist_node(&path).unwrap().unwrap().czxid;
        other.delete_node(&path).unwrap();
        assert!(
            eventually(LONG, || other
                .exist_node(&path)
                .unwrap()
                .is_some_and(|s| s.czxid != before)),
            "the node was not made again"
        );
        assert_eq!(other.get_node(&path).unwrap().value, b"v2");
    }
    drop(node);
    assert!(eventually(LONG, || other.exist_node(&path).unwrap().is_none()), "drop left the node");
}

#[test]
fn survives_a_broken_connection_without_being_made_again() {
    let proxy = Proxy::start(&server().connect_string());
    let c = client_of(&proxy.connect_string());
    let observer = client();
    let (path, node) = member(&c, "pnode-suspend", "x");
    let created = observer.exist_node(&path).unwrap().unwrap();
    proxy.cut_for(&c);
    std::thread::sleep(Duration::from_millis(300));
    proxy.restore_for(&c);
    std::thread::sleep(Duration::from_millis(300));
    let after = observer.exist_node(&path).unwrap().expect("the node is still there");
    assert_eq!(after.czxid, created.czxid, "the same node, not a new one");
    assert_eq!(node.path().as_deref(), Some(path.as_str()));
    node.close().unwrap();
    assert!(observer.exist_node(&path).unwrap().is_none());
}

#[test]
fn session_expiry_makes_it_again_in_the_new_session() {
    let proxy = Proxy::start(&server().connect_string());
    let c = client_of(&proxy.connect_string());
    let observer = client();
    let (path, node) = member(&c, "pnode-expiry", "same data");
    let old_session = c.session_id();
    expire_session(&proxy, &server().connect_string(), &c);
    assert!(
        eventually(LONG, || observer
            .exist_node(&path)
            .unwrap()
            .is_some_and(|s| s.ephemeral_owner != old_session && s.ephemeral_owner != 0)),
        "not made again after the session expired"
    );
    assert_eq!(observer.get_node(&path).unwrap().stat.ephemeral_owner, c.session_id());
    assert_eq!(observer.get_node(&path).unwrap().value, b"same data");
    assert_eq!(node.wait_for_create(LONG).unwrap(), path);
    node.close().unwrap();
    assert!(observer.exist_node(&path).unwrap().is_none());
}

/// A protected sequential node gets a new sequence number after a session loss; there is
/// never more than one of ours, and its current path is reported.
#[test]
fn protected_sequential_node_reports_its_new_path() {
    let proxy = Proxy::start(&server().connect_string());
    let c = client_of(&proxy.connect_string());
    let observer = client();
    let root = test_root(&observer, "pnode-seq");
    let node = PersistentNode::builder(&c, &format!("{root}/w-"), "d")
        .sequential()
        .protected()
        .start()
        .unwrap();
    let first = node.wait_for_create(LONG).unwrap();
    let name = first.rsplit('/').next().unwrap().to_string();
    assert!(name.starts_with("_c_") && name.contains("-w-"), "{name}");
    assert_eq!(name.len(), "_c_".len() + 32 + "-w-".len() + 10, "{name}");
    expire_session(&proxy, &server().connect_string(), &c);
    assert!(
        eventually(LONG, || node.path().is_some_and(|p| p != first)),
        "no new path after the session loss: {:?}",
        node.path()
    );
    std::thread::sleep(Duration::from_millis(300)); // a second create would show by now
    let second = node.path().unwrap();
    assert_eq!(observer.get_children(&root).unwrap(), [second.rsplit('/').next().unwrap()]);
    node.close().unwrap();
    assert!(observer.get_children(&root).unwrap().is_empty());
}

/// The reply to the first create is lost with the connection: after reconnecting the node is
/// found by its protected name and adopted, not made twice.
#[test]
fn a_lost_create_reply_is_adopted_not_duplicated() {
    let proxy = Arc::new(Proxy::start(&server().connect_string()));
    let c = client_of(&proxy.connect_string());
    let observer = client();
    let root = test_root(&observer, "pnode-lost-create");
    let session = c.session_id();
    let restorer = common::proxy::restore_after_suspend(proxy.clone(), c.session_events());
    proxy.lose_next_reply();
    let node = PersistentNode::builder(&c, &format!("{root}/w-"), "d")
        .sequential()
        .protected()
        .start()
        .unwrap();
    let path = node.wait_for_create(LONG).unwrap();
    restorer.join().unwrap();
    assert_eq!(c.session_id(), session, "the session survived");
    std::thread::sleep(Duration::from_millis(300));
    let children = observer.get_children(&root).unwrap();
    assert_eq!(children.len(), 1, "one node, not a second for the retry: {children:?}");
    assert_eq!(path, format!("{root}/{}", children[0]));
    node.close().unwrap();
    assert!(observer.get_children(&root).unwrap().is_empty());
}

/// The path holds another session's ephemeral node: ours is made once that one goes.
#[test]
fn waits_for_another_sessions_node_to_go() {
    let c = client();
    let squatter = client();
    let root = test_root(&c, "pnode-squatter");
    let path = format!("{root}/member");
    squatter.create(&path, b"theirs", &zkcluster::CreateOptions::new().ephemeral()).unwrap();
    let node = PersistentNode::start(&c, &path, "ours").unwrap();
    let err = node.wait_for_create(Duration::from_millis(500)).unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert_eq!(c.get_node(&path).unwrap().value, b"theirs");
    squatter.close().unwrap();
    assert_eq!(node.wait_for_create(LONG).unwrap(), path);
    assert_eq!(c.get_node(&path).unwrap().value, b"ours");
    node.close().unwrap();
}

/// `wait_for_create` keeps its deadline while the server cannot be reached; dropping the node
/// then leaves nothing behind once the client is back.
#[test]
fn wait_for_create_has_a_deadline_and_drop_leaves_nothing() {
    let proxy = Proxy::start(&server().connect_string());
    let c = client_of(&proxy.connect_string());
    let observer = client();
    let root = test_root(&observer, "pnode-deadline");
    proxy.cut_for(&c);
    let node = PersistentNode::start(&c, &format!("{root}/member"), "x").unwrap();
    let started = Instant::now();
    let err = node.wait_for_create(Duration::from_millis(700)).unwrap_err();
    let took = started.elapsed();
    assert!(err.is_timeout(), "{err}");
    assert!(took >= Duration::from_millis(650) && took < Duration::from_secs(3), "{took:?}");
    drop(node);
    proxy.restore_for(&c);
    std::thread::sleep(Duration::from_millis(500));
    assert!(observer.get_children(&root).unwrap().is_empty());
}

/// Closing the client ends the node's thread: `wait_for_create` says so, the node is gone.
#[test]
fn closing_the_client_ends_the_node() {
    let c = client();
    let observer = client();
    let (path, node) = member(&c, "pnode-client-close", "x");
    c.close().unwrap();
    assert!(eventually(LONG, || node
        .wait_for_create(Duration::ZERO)
        .is_err_and(|e| e.is_closed())));
    assert!(node.path().is_none());
    assert!(observer.exist_node(&path).unwrap().is_none());
    node.close().unwrap();
}

#[test]
fn invalid_paths_fail_before_anything_is_sent() {
    let c = client();
    assert!(PersistentNode::start(&c, "relative", "x").is_err());
    assert!(PersistentNode::start(&c, "/", "x").is_err());
    assert!(PersistentNode::start(&c, "/a", vec![0u8; 2 << 20]).is_err());
}

/// Through a server restart the node is there again afterwards (same session resumed, or made
/// again in a new one).
#[test]
#[serial]
fn present_after_a_server_restart() {
    let mut own = TestingServer::start().expect("ZooKeeper for the restart test");
    let c = client_of(&own.connect_string());
    let path = "/pnode-restart-member";
    let node = PersistentNode::start(&c, path, "x").unwrap();
    node.wait_for_create(LONG).unwrap();
    own.restart().unwrap();
    let observer = client_of(&own.connect_string());
    assert!(
        eventually(LONG, || c.state().is_connected()
            && observer
                .exist_node(path)
                .ok()
                .flatten()
                .is_some_and(|s| s.ephemeral_owner == c.session_id())),
        "the node is not back after the restart"
    );
    node.close().unwrap();
    assert!(observer.exist_node(path).unwrap().is_none());
}

/// `close` from another thread wakes a thread blocked in `wait_for_create`.
#[test]
fn close_from_another_thread_cancels_a_wait() {
    let proxy = Proxy::start(&server().connect_string());
    let c = client_of(&proxy.connect_string());
    let observer = client();
    let root = test_root(&observer, "pnode-cancel");
    proxy.cut_for(&c);
    let node = Arc::new(PersistentNode::start(&c, &format!("{root}/member"), "x").unwrap());
    let waiter = {
        let node = node.clone();
        std::thread::spawn(move || node.wait_for_create(Duration::from_secs(60)))
    };
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    node.close().unwrap();
    let err = waiter.join().unwrap().unwrap_err();
    assert!(err.is_closed(), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    node.close().unwrap(); // idempotent
    proxy.restore_for(&c);
    std::thread::sleep(Duration::from_millis(300));
    assert!(observer.get_children(&root).unwrap().is_empty());
}

/// Several sessions keep a node at one path: exactly one owns it at any time, and when the
/// owner closes, another one's node takes its place.
#[test]
fn sessions_competing_for_one_path_take_turns() {
    let observer = client();
    let root = test_root(&observer, "pnode-contended");
    let path = format!("{root}/leader");
    let clients: Vec<_> = (0..4).map(|_| client()).collect();
    let mut nodes: Vec<Option<PersistentNode>> = clients
        .iter()
        .enumerate()
        .map(|(i, c)| Some(PersistentNode::start(c, &path, format!("c{i}")).unwrap()))
        .collect();
    for _ in 0..3 {
        assert!(eventually(LONG, || observer.exist_node(&path).unwrap().is_some()));
        std::thread::sleep(Duration::from_millis(200));
        let owner = observer.get_node(&path).unwrap();
        let holders: Vec<usize> = nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.as_ref().is_some_and(|n| n.path().is_some()))
            .map(|(i, _)| i)
            .collect();
        assert_eq!(holders.len(), 1, "one holder at a time: {holders:?}");
        let i = holders[0];
        assert_eq!(owner.value, format!("c{i}").into_bytes());
        assert_eq!(owner.stat.ephemeral_owner, clients[i].session_id());
        nodes[i].take().unwrap().close().unwrap();
        assert!(
            eventually(LONG, || observer
                .exist_node(&path)
                .unwrap()
                .is_some_and(|s| s.ephemeral_owner != clients[i].session_id())),
            "nobody took over from c{i}"
        );
    }
    drop(nodes);
    assert!(eventually(LONG, || observer.exist_node(&path).unwrap().is_none()));
}

/// The reply to the create is lost and the node is closed before the client is back: the node
/// that create made is found by its protected prefix and deleted once the server is reachable.
#[test]
fn closing_after_a_lost_create_reply_leaves_nothing() {
    let proxy = Proxy::start(&server().connect_string());
    let c = client_of(&proxy.connect_string());
    let observer = client();
    let root = test_root(&observer, "pnode-lost-close");
    let events = c.session_events();
    proxy.lose_next_reply();
    let node = PersistentNode::builder(&c, &format!("{root}/w-"), "d")
        .sequential()
        .protected()
        .start()
        .unwrap();
    while !matches!(events.recv_timeout(LONG), Ok(zkcluster::SessionEvent::Suspended { .. })) {}
    assert_eq!(observer.get_children(&root).unwrap().len(), 1, "the lost create made a node");
    let err = node.wait_for_create(Duration::from_millis(200)).unwrap_err();
    assert!(err.is_timeout(), "{err}");
    node.close().unwrap();
    proxy.restore();
    assert!(
        eventually(LONG, || observer.get_children(&root).unwrap().is_empty()),
        "left behind: {:?}",
        observer.get_children(&root)
    );
}

/// Dropping the node ends its thread: the thread held the last other clone of the client, so
/// once it is gone, dropping the client closes the session (its ephemeral marker goes at once,
/// long before the session timeout).
#[test]
fn dropping_the_node_ends_its_thread() {
    let observer = client();
    let root = test_root(&observer, "pnode-thread-end");
    let c = client();
    let marker = format!("{root}/marker");
    c.create(&marker, b"", &zkcluster::CreateOptions::new().ephemeral()).unwrap();
    let node = PersistentNode::start(&c, &format!("{root}/member"), "x").unwrap();
    node.wait_for_create(LONG).unwrap();
    drop(node);
    drop(c);
    assert!(
        eventually(Duration::from_secs(3), || observer.exist_node(&marker).unwrap().is_none()),
        "the session stayed open: the node's thread still holds the client"
    );
}
