//! TreeCache on a real server: the initial load, following changes, converging after a cut
//! connection and after a session loss (with changes made meanwhile), no phantom events, and
//! nothing left behind when it stops.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::proxy::Proxy;
use common::{client, client_of, eventually, expire_session, server, test_root};
use crossbeam_channel::Receiver;
use zkcluster::{Client, TreeCache, TreeEvent};

type Tree = BTreeMap<String, (Vec<u8>, i64, i64)>;

/// The server's subtree at `root`: data, czxid and mzxid of every node.
fn server_tree(client: &Client, root: &str) -> Tree {
    let mut tree = Tree::new();
    let mut todo = vec![root.to_string()];
    while let Some(path) = todo.pop() {
        let Ok(node) = client.get_node(&path) else { continue };
        tree.insert(path.clone(), (node.value, node.stat.czxid, node.stat.mzxid));
        if let Ok(children) = client.get_children(&path) {
            todo.extend(children.iter().map(|c| format!("{path}/{c}")));
        }
    }
    tree
}

fn cache_tree(cache: &TreeCache) -> Tree {
    let snapshot = cache.snapshot();
    // children() agrees with the node set.
    for (path, _) in snapshot.iter() {
        for child in snapshot.children(path).unwrap() {
            assert!(snapshot.get(&format!("{path}/{child}")).is_some(), "{path}/{child}");
        }
    }
    snapshot
        .iter()
        .map(|(p, n)| (p.to_string(), (n.data().to_vec(), n.stat().czxid, n.stat().mzxid)))
        .collect()
}

/// A consumer's own copy, built only from the events; panics on a phantom event (an add of
/// what it has, an update or removal of what it has not, an update whose `old` is not what
/// it has).
#[derive(Default)]
struct View {
    tree: Tree,
    notices: Vec<TreeEvent>,
}

impl View {
    fn apply(&mut self, events: &Receiver<TreeEvent>) {
        for event in events.try_iter() {
            match event {
                TreeEvent::NodeAdded { path, node } => {
                    let value = (node.data().to_vec(), node.stat().czxid, node.stat().mzxid);
                    assert!(self.tree.insert(path.clone(), value).is_none(), "phantom add {path}");
                }
                TreeEvent::NodeUpdated { path, old, node } => {
                    let had =
                        self.tree.get(&path).unwrap_or_else(|| panic!("phantom update {path}"));
                    assert_eq!(had.2, old.stat().mzxid, "update of {path} from a state never seen");
                    assert!(node.stat().mzxid > old.stat().mzxid, "no-op update of {path}");
                    let value = (node.data().to_vec(), node.stat().czxid, node.stat().mzxid);
                    self.tree.insert(path, value);
                }
                TreeEvent::NodeRemoved { path, .. } => {
                    assert!(self.tree.remove(&path).is_some(), "phantom removal {path}");
                    let below = format!("{path}/");
                    assert!(
                        !self.tree.keys().any(|k| k.starts_with(&below)),
                        "{path} removed before its descendants"
                    );
                }
                other => self.notices.push(other),
            }
        }
    }
}

/// Waits until the cache, the consumer's view and the server agree.
fn converge(cache: &TreeCache, view: &mut View, events: &Receiver<TreeEvent>, admin: &Client) {
    let root = cache.path().to_string();
    let ok = eventually(Duration::from_secs(15), || {
        view.apply(events);
        let server = server_tree(admin, &root);
        cache_tree(cache) == server && view.tree == server
    });
    view.apply(events);
    assert!(
        ok,
        "no convergence:\nserver {:?}\ncache  {:?}\nview   {:?}",
        server_tree(admin, &root),
        cache_tree(cache),
        view.tree
    );
}

/// A started, initialized cache of `root`, its event stream and the view built from it so far.
fn loaded(client: &Client, root: &str) -> (TreeCache, Receiver<TreeEvent>, View) {
    let cache = TreeCache::new(client, root).unwrap();
    let events = cache.events();
    cache.start().unwrap();
    cache.wait_initialized(Duration::from_secs(10)).unwrap();
    let mut view = View::default();
    view.apply(&events);
    (cache, events, view)
}

fn build(admin: &Client, root: &str) {
    for (path, value) in
        [("", "root"), ("/a", "a"), ("/a/x", "x"), ("/a/x/deep", "deep"), ("/b", "b"), ("/c", "")]
    {
        admin.create_node(&format!("{root}{path}"), value).unwrap();
    }
}

#[test]
fn loads_the_tree_then_follows_every_change() {
    let admin = client();
    let root = format!("{}/tree", test_root(&admin, "tc-follow"));
    build(&admin, &root);
    let client = client();
    let (cache, events, mut view) = loaded(&client, &root);
    assert_eq!(view.notices, [TreeEvent::Initialized]);
    assert_eq!(cache_tree(&cache), server_tree(&admin, &root));
    assert_eq!(view.tree.len(), 6);
    assert_eq!(cache.children(&format!("{root}/a")).unwrap(), ["x"]);
    assert_eq!(cache.get(&format!("{root}/b")).unwrap().data(), b"b");
    assert_eq!(client.watch_count(), 1, "one persistent recursive watch");

    admin.create_node(&format!("{root}/b/new"), "n").unwrap();
    admin.set_value_to_node(&format!("{root}/a"), "a2").unwrap();
    admin.delete_recursive(&format!("{root}/a/x")).unwrap();
    admin.delete_node(&format!("{root}/c")).unwrap();
    admin.create_node(&format!("{root}/c"), "c again").unwrap();
    converge(&cache, &mut view, &events, &admin);
    assert_eq!(cache.get(&format!("{root}/a")).unwrap().data(), b"a2");

    // The root itself goes and comes back.
    admin.delete_recursive(&root).unwrap();
    converge(&cache, &mut view, &events, &admin);
    assert!(cache.is_empty());
    admin.create_node(&root, "back").unwrap();
    admin.create_node(&format!("{root}/kid"), "").unwrap();
    converge(&cache, &mut view, &events, &admin);
    assert_eq!(cache.len(), 2);
}

#[test]
fn a_write_storm_converges_without_phantoms() {
    let admin = client();
    let root = format!("{}/tree", test_root(&admin, "tc-storm"));
    admin.create_node(&root, "").unwrap();
    let client = client();
    let cache = TreeCache::new(&client, &root).unwrap();
    let events = cache.events();
    cache.start().unwrap();
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let root = root.clone();
            std::thread::spawn(move || {
                let c = common::client();
                for i in 0..150 {
                    let p = format!("{root}/w{w}-{}", i % 20);
                    match i % 3 {
                        0 => drop(c.create_node(&p, format!("{i}"))),
                        1 => drop(c.set_value_to_node(&p, format!("{i}"))),
                        _ => drop(c.delete_node(&p)),
                    }
                }
            })
        })
        .collect();
    cache.wait_initialized(Duration::from_secs(10)).unwrap();
    for w in writers {
        w.join().unwrap();
    }
    let mut view = View::default();
    converge(&cache, &mut view, &events, &admin);
}

#[test]
fn converges_after_a_cut_connection_with_changes_made_meanwhile() {
    let admin = client();
    let root = format!("{}/tree", test_root(&admin, "tc-cut"));
    build(&admin, &root);
    let proxy = Proxy::start(&server().connect_string());
    let client = client_of(&proxy.connect_string());
    let (cache, events, mut view) = loaded(&client, &root);

    proxy.cut();
    assert!(eventually(Duration::from_secs(5), || !client.state().is_connected()));
    admin.set_value_to_node(&format!("{root}/b"), "changed while cut").unwrap();
    admin.delete_recursive(&format!("{root}/a")).unwrap();
    admin.create_node(&format!("{root}/a"), "a reborn").unwrap();
    admin.create_node(&format!("{root}/d"), "new").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    proxy.restore();
    converge(&cache, &mut view, &events, &admin);
    assert!(view.notices.contains(&TreeEvent::ConnectionSuspended), "{:?}", view.notices);
    assert!(view.notices.contains(&TreeEvent::ConnectionReconnected), "{:?}", view.notices);
    assert_eq!(cache.get(&format!("{root}/b")).unwrap().data(), b"changed while cut");

    // And it keeps following changes after the reconnect.
    admin.create_node(&format!("{root}/after"), "").unwrap();
    converge(&cache, &mut view, &events, &admin);
}

#[test]
fn converges_after_a_session_loss_with_changes_made_meanwhile() {
    let admin = client();
    let root = format!("{}/tree", test_root(&admin, "tc-expiry"));
    build(&admin, &root);
    let proxy = Proxy::start(&server().connect_string());
    let client = client_of(&proxy.connect_string());
    let (cache, events, mut view) = loaded(&client, &root);

    proxy.cut();
    admin.delete_recursive(&format!("{root}/a")).unwrap();
    admin.set_value_to_node(&format!("{root}/b"), "changed while lost").unwrap();
    admin.create_node(&format!("{root}/e"), "new").unwrap();
    expire_session(&proxy, &server().connect_string(), &client);
    converge(&cache, &mut view, &events, &admin);
    assert!(view.notices.contains(&TreeEvent::ConnectionLost), "{:?}", view.notices);
    assert!(eventually(Duration::from_secs(5), || client.watch_count() == 1), "watch re-added");

    // The watch of the new session works.
    admin.set_value_to_node(&format!("{root}/e"), "e2").unwrap();
    converge(&cache, &mut view, &events, &admin);
}

#[test]
fn closing_removes_the_watch_and_ends_the_event_stream() {
    let admin = client();
    let root = format!("{}/tree", test_root(&admin, "tc-close"));
    build(&admin, &root);
    let client = client();
    let before = client.watch_count();
    let cache = TreeCache::new(&client, &root).unwrap();
    let events = cache.events();
    cache.start().unwrap();
    cache.start().unwrap(); // idempotent
    cache.wait_initialized(Duration::from_secs(10)).unwrap();
    assert_eq!(client.watch_count(), before + 1);
    drop(cache);
    assert_eq!(client.watch_count(), before);
    let rest: Vec<TreeEvent> = events.try_iter().collect();
    assert!(rest.contains(&TreeEvent::Initialized));
    assert!(events.recv_timeout(Duration::from_millis(100)).is_err());
    assert!(events.recv().is_err(), "the stream ends when the cache stops (its sender is dropped)");

    // A cache that never initializes (nothing but a wait) times out within its deadline.
    let unstarted = TreeCache::new(&client, &root).unwrap();
    let started = std::time::Instant::now();
    assert!(unstarted.wait_initialized(Duration::from_millis(200)).unwrap_err().is_timeout());
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
#[serial_test::serial]
fn follows_changes_across_a_server_restart() {
    let mut own = zkcluster::testing::TestingServer::start()
        .unwrap_or_else(|e| panic!("cannot start ZooKeeper: {e}"));
    let client = client_of(&own.connect_string());
    let root = "/tree";
    build(&client, root);
    let (cache, events, mut view) = loaded(&client, root);
    own.restart().unwrap();
    let admin = client_of(&own.connect_string());
    admin.set_value_to_node("/tree/b", "after the restart").unwrap();
    admin.delete_recursive("/tree/a").unwrap();
    admin.create_node("/tree/f", "").unwrap();
    converge(&cache, &mut view, &events, &admin);
    assert!(view.notices.contains(&TreeEvent::ConnectionReconnected), "{:?}", view.notices);
}
