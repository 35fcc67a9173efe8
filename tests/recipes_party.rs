//! Party and ShallowParty against a real ZooKeeper server, and beside Kazoo 2.11 members on the
//! same path: everyone lists everyone, the watch follows joins and leaves, a member survives
//! session expiry, nothing is left behind.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::kazoo::Kazoo;
use common::proxy::Proxy;
use common::{client, client_of, eventually, expire_session, server, test_root};
use zkcluster::recipe::{Party, ShallowParty};

const LONG: Duration = Duration::from_secs(15);

fn set(v: Vec<String>) -> BTreeSet<String> {
    v.into_iter().collect()
}

fn names(v: &[&str]) -> BTreeSet<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn party_members_join_and_leave_concurrently() {
    let observer = client();
    let root = test_root(&observer, "party-many");
    let path = format!("{root}/p");
    let joined: Vec<_> = (0..8)
        .map(|i| {
            let path = path.clone();
            std::thread::spawn(move || {
                let c = client();
                let party = Party::new(&c, &path, &format!("member {i} (ü)")).unwrap();
                party.join().unwrap();
                party
            })
        })
        .collect();
    let parties: Vec<Party> = joined.into_iter().map(|t| t.join().unwrap()).collect();
    let everyone: BTreeSet<String> = (0..8).map(|i| format!("member {i} (ü)")).collect();
    // A child that is not a member node (no `__party__` in its name) is not counted.
    observer.create_node(&format!("{path}/not-a-member"), "x").unwrap();
    assert_eq!(set(parties[0].members().unwrap()), everyone);
    assert_eq!(parties[3].len().unwrap(), 8);
    observer.delete_node(&format!("{path}/not-a-member")).unwrap();
    // Listing again (the cached-names path) still sees the truth.
    assert_eq!(set(parties[0].members().unwrap()), everyone);
    for party in &parties[..4] {
        assert!(party.leave().unwrap());
        assert!(!party.leave().unwrap());
    }
    let rest: BTreeSet<String> = (4..8).map(|i| format!("member {i} (ü)")).collect();
    assert_eq!(set(parties[0].members().unwrap()), rest);
    drop(parties);
    assert!(eventually(LONG, || observer.get_children(&path).unwrap().is_empty()));
}

#[test]
fn shallow_party_lists_identifiers_from_names() {
    let c = client();
    let other = client();
    let root = test_root(&c, "shallow");
    let path = format!("{root}/p");
    let a = ShallowParty::new(&c, &path, "worker-a").unwrap();
    let b = other.shallow_party(&path, "worker-b").unwrap();
    assert!(a.members().unwrap().is_empty(), "a missing party path lists nobody");
    a.join().unwrap();
    b.join().unwrap();
    a.join().unwrap(); // joining twice does nothing
    assert_eq!(set(b.members().unwrap()), names(&["worker-a", "worker-b"]));
    let node = c.get_node(a.member_path()).unwrap();
    assert_eq!(node.value, b"0");
    assert!(a.member_path().ends_with("-worker-a"));
    assert!(ShallowParty::new(&c, &path, "a/b").is_err());
    b.leave().unwrap();
    assert_eq!(a.members().unwrap(), ["worker-a"]);
    a.leave().unwrap();
    assert!(c.get_children(&path).unwrap().is_empty());
}

#[test]
fn watch_follows_membership_changes() {
    let c = client();
    let root = test_root(&c, "party-watch");
    let path = format!("{root}/p");
    let me = Party::new(&c, &path, "me").unwrap();
    me.join().unwrap();
    let watch = me.watch().unwrap();
    assert_eq!(watch.recv_timeout(LONG).unwrap().unwrap(), ["me"]);
    let other_client = client();
    let other = Party::new(&other_client, &path, "other").unwrap();
    other.join().unwrap();
    let next = |want: BTreeSet<String>| {
        let deadline = Instant::now() + LONG;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let got = set(watch.recv_timeout(left).expect("no change delivered").unwrap());
            if got == want {
                return;
            }
        }
    };
    next(names(&["me", "other"]));
    other.leave().unwrap();
    next(names(&["me"]));
    other_client.close().unwrap();
    drop(watch);
    me.leave().unwrap();
}

/// A member whose session expires is back in the party (same node name) in its new session.
#[test]
fn a_member_survives_its_session_expiring() {
    let proxy = Proxy::start(&server().connect_string());
    let c = client_of(&proxy.connect_string());
    let observer = client();
    let root = test_root(&observer, "party-expiry");
    let path = format!("{root}/p");
    let member = Party::new(&c, &path, "survivor").unwrap();
    member.join().unwrap();
    let watcher = Party::new(&observer, &path, "observer").unwrap();
    let watch = watcher.watch().unwrap();
    let old = c.session_id();
    expire_session(&proxy, &server().connect_string(), &c);
    assert!(
        eventually(LONG, || observer
            .exist_node(member.member_path())
            .unwrap()
            .is_some_and(|s| s.ephemeral_owner != old && s.ephemeral_owner == c.session_id())),
        "the member node was not made again"
    );
    assert_eq!(watcher.members().unwrap(), ["survivor"]);
    // The watch saw it go and come back.
    let mut seen = Vec::new();
    while let Ok(update) = watch.recv_timeout(Duration::from_millis(500)) {
        seen.push(update.unwrap());
    }
    assert!(seen.iter().any(|m| m.is_empty()), "{seen:?}");
    assert_eq!(seen.last().unwrap(), &["survivor"]);
    assert!(member.is_participating());
    member.leave().unwrap();
    assert!(observer.get_children(&path).unwrap().is_empty());
}

/// A join that cannot reach the server keeps its deadline and leaves nothing behind.
#[test]
fn join_timeout_keeps_its_deadline_and_leaves_nothing() {
    let proxy = Proxy::start(&server().connect_string());
    let c = client_of(&proxy.connect_string());
    let observer = client();
    let root = test_root(&observer, "party-deadline");
    let path = format!("{root}/p");
    let party = Party::new(&c, &path, "late").unwrap();
    proxy.cut_for(&c);
    let started = Instant::now();
    let err = party.join_timeout(Duration::from_millis(600)).unwrap_err();
    let took = started.elapsed();
    assert!(err.is_timeout(), "{err}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert!(!party.is_participating());
    proxy.restore_for(&c);
    std::thread::sleep(Duration::from_millis(500));
    let left = observer.get_children(&path).unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}

/// Kazoo's Party and ShallowParty and ours on the same paths: each side lists everyone.
#[test]
fn a_mixed_party_lists_everyone() {
    let c = client();
    let root = test_root(&c, "party-kazoo");
    let (deep, shallow) = (format!("{root}/deep"), format!("{root}/shallow"));
    let rust_deep = Party::new(&c, &deep, "rust-1").unwrap();
    let rust_shallow = ShallowParty::new(&c, &shallow, "rust-2").unwrap();
    rust_deep.join().unwrap();
    rust_shallow.join().unwrap();
    let watch = rust_deep.watch().unwrap();
    let mut peer = Kazoo::spawn(
        &server().connect_string(),
        &format!(
            r#"
p = zk.Party('{deep}', 'kazoo-1')
s = zk.ShallowParty('{shallow}', 'kazoo-2')
p.join()
s.join()
say('joined')
ask()
say('deep', ','.join(sorted(p)))
say('shallow', ','.join(sorted(s)))
ask()
p.leave()
s.leave()
say('left')
"#
        ),
    );
    peer.expect("joined", Duration::from_secs(30));
    assert_eq!(set(rust_deep.members().unwrap()), names(&["rust-1", "kazoo-1"]));
    assert_eq!(set(rust_shallow.members().unwrap()), names(&["rust-2", "kazoo-2"]));
    peer.send("list");
    peer.expect("deep kazoo-1,rust-1", LONG);
    peer.expect("shallow kazoo-2,rust-2", LONG);
    peer.send("leave");
    peer.expect("left", LONG);
    let deadline = Instant::now() + LONG;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let update = watch.recv_timeout(left).expect("the watch never saw Kazoo leave").unwrap();
        if update == ["rust-1"] {
            break;
        }
    }
    assert_eq!(rust_shallow.members().unwrap(), ["rust-2"]);
    assert!(peer.finish(LONG).is_empty());
}

/// `leave` from another thread cancels a join that is waiting for the server.
#[test]
fn leave_from_another_thread_cancels_a_waiting_join() {
    let proxy = Proxy::start(&server().connect_string());
    let c = client_of(&proxy.connect_string());
    let observer = client();
    let root = test_root(&observer, "party-cancel");
    let path = format!("{root}/p");
    let party = std::sync::Arc::new(ShallowParty::new(&c, &path, "w").unwrap());
    proxy.cut_for(&c);
    let joiner = {
        let party = party.clone();
        std::thread::spawn(move || party.join_timeout(Duration::from_secs(60)))
    };
    assert!(eventually(LONG, || party.is_participating()));
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    assert!(party.leave().unwrap());
    let err = joiner.join().unwrap().unwrap_err();
    assert!(err.is_cancelled(), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    proxy.restore_for(&c);
    std::thread::sleep(Duration::from_millis(300));
    assert!(observer.get_children(&path).unwrap_or_default().is_empty());
}

/// A server restart: the members are listed again afterwards.
#[test]
#[serial_test::serial]
fn members_are_back_after_a_server_restart() {
    let mut own =
        zkcluster::testing::TestingServer::start().expect("ZooKeeper for the restart test");
    let (a, b) = (client_of(&own.connect_string()), client_of(&own.connect_string()));
    let pa = Party::new(&a, "/party-restart", "a").unwrap();
    let pb = Party::new(&b, "/party-restart", "b").unwrap();
    pa.join().unwrap();
    pb.join().unwrap();
    own.restart().unwrap();
    assert!(
        eventually(LONG, || pa.members().is_ok_and(|m| set(m) == names(&["a", "b"]))),
        "{:?}",
        pa.members()
    );
    pa.leave().unwrap();
    assert_eq!(pb.members().unwrap(), ["b"]);
}

/// Dropping a joined party and its watch ends their threads: the session of the client whose
/// only other handle was dropped closes at once.
#[test]
fn dropping_a_party_and_its_watch_ends_their_threads() {
    let observer = client();
    let root = test_root(&observer, "party-thread-end");
    let c = client();
    let marker = format!("{root}/marker");
    c.create(&marker, b"", &zkcluster::CreateOptions::new().ephemeral()).unwrap();
    let party = Party::new(&c, &format!("{root}/p"), "x").unwrap();
    party.join().unwrap();
    let watch = party.watch().unwrap();
    assert_eq!(watch.recv_timeout(LONG).unwrap().unwrap(), ["x"]);
    drop(watch);
    drop(party);
    drop(c);
    assert!(
        eventually(Duration::from_secs(3), || observer.exist_node(&marker).unwrap().is_none()),
        "the session stayed open: a thread still holds the client"
    );
}
