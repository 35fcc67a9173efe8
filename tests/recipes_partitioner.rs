//! SetPartitioner against a real ZooKeeper server, alone and beside Kazoo 2.11 members on the
//! same path: every member computes Kazoo's split, no item ever has two owners (checked with an
//! ownership registry every member writes to while it holds its locks), every item is owned
//! once the party is stable, across joins, leaves and a member's session expiry.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::kazoo::Kazoo;
use common::proxy::Proxy;
use common::{assert_no_nodes_left, client, client_of, eventually, expire_session, server};
use zkcluster::recipe::{PartitionState, SetPartitioner};
use zkcluster::Client;

const LONG: Duration = Duration::from_secs(30);
const BOUNDARY: Duration = Duration::from_millis(300);

/// Who owns which item, as the members report it: an entry is added only while its owner
/// holds the item's lock and removed before it gives the lock back, so two owners of one
/// item at any moment would show as a conflict here.
#[derive(Default)]
struct Registry {
    owners: Mutex<BTreeMap<String, String>>,
    conflicts: Mutex<Vec<String>>,
    /// How many times each member gave its share back.
    releases: Mutex<BTreeMap<String, usize>>,
}

impl Registry {
    fn claim(&self, owner: &str, items: &[String]) {
        let mut owners = self.owners.lock().unwrap();
        for item in items {
            if let Some(previous) = owners.insert(item.clone(), owner.to_string()) {
                if previous != owner {
                    self.conflicts.lock().unwrap().push(format!("{item}: {previous} and {owner}"));
                }
            }
        }
    }

    fn give_back(&self, owner: &str) {
        self.owners.lock().unwrap().retain(|_, o| o != owner);
        *self.releases.lock().unwrap().entry(owner.to_string()).or_default() += 1;
    }

    fn releases(&self, owner: &str) -> usize {
        self.releases.lock().unwrap().get(owner).copied().unwrap_or(0)
    }

    /// Waits until each of `owners` has given its share back since `before` was taken.
    fn wait_for_releases(&self, owners: &[&str], before: &[usize]) {
        let released =
            eventually(LONG, || owners.iter().zip(before).all(|(o, n)| self.releases(o) > *n));
        assert!(released, "not every member released: {:?}", self.releases.lock().unwrap());
    }

    fn snapshot(&self) -> BTreeMap<String, String> {
        self.owners.lock().unwrap().clone()
    }

    fn assert_no_conflict(&self) {
        let conflicts = self.conflicts.lock().unwrap();
        assert!(conflicts.is_empty(), "items with two owners at once: {conflicts:?}");
    }
}

/// The split Kazoo's default partition function makes among `members`.
fn expected(members: &[&str], items: &[String]) -> BTreeMap<String, String> {
    let members: Vec<String> = members.iter().map(|m| m.to_string()).collect();
    let mut map = BTreeMap::new();
    for m in &members {
        for item in SetPartitioner::default_partition(m, &members, items) {
            map.insert(item, m.clone());
        }
    }
    map
}

fn items(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("item-{i:02}")).collect()
}

/// A Rust member run as Kazoo's docs run a partitioner: release when told, work while
/// acquired, reporting to the registry.
struct Member {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<PartitionState>>,
}

impl Member {
    fn start(
        client: &Client,
        path: &str,
        name: &str,
        set: &[String],
        reg: &Arc<Registry>,
    ) -> Member {
        let partitioner = SetPartitioner::builder(client, path, set.to_vec())
            .identifier(name)
            .time_boundary(BOUNDARY)
            .max_reaction_time(Duration::from_millis(200))
            .start()
            .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, reg, me) = (stop.clone(), reg.clone(), name.to_string());
        let thread = std::thread::spawn(move || {
            let mut claimed = false;
            loop {
                if flag.load(Ordering::SeqCst) {
                    reg.give_back(&me);
                    partitioner.finish().unwrap();
                    return PartitionState::Failure;
                }
                match partitioner.state() {
                    PartitionState::Failure => {
                        reg.give_back(&me);
                        return PartitionState::Failure;
                    }
                    PartitionState::Release => {
                        reg.give_back(&me);
                        claimed = false;
                        let _ = partitioner.release_set();
                    }
                    PartitionState::Acquired => {
                        if !claimed {
                            let mine = partitioner.items();
                            if partitioner.is_acquired() {
                                reg.claim(&me, &mine);
                                claimed = true;
                            }
                        }
                        partitioner
                            .wait_for_change(PartitionState::Acquired, Duration::from_millis(50));
                    }
                    PartitionState::Allocating => {
                        partitioner.wait_for_acquire(Duration::from_millis(50));
                    }
                }
            }
        });
        Member { stop, thread: Some(thread) }
    }

    fn finish(mut self) -> PartitionState {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.take().unwrap().join().unwrap()
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn wait_for_split(reg: &Registry, want: &BTreeMap<String, String>) {
    let ok = eventually(LONG, || reg.snapshot() == *want);
    assert!(ok, "the split never became {want:?}; it is {:?}", reg.snapshot());
}

#[test]
fn members_split_the_set_and_hand_over_on_join_and_leave() {
    let c = client();
    let path = common::unique("partition");
    let set = items(10);
    let reg = Arc::new(Registry::default());
    let clients: Vec<Client> = (0..3).map(|_| client()).collect();
    let a = Member::start(&clients[0], &path, "a", &set, &reg);
    let b = Member::start(&clients[1], &path, "b", &set, &reg);
    wait_for_split(&reg, &expected(&["a", "b"], &set));
    let cm = Member::start(&clients[2], &path, "c", &set, &reg);
    wait_for_split(&reg, &expected(&["a", "b", "c"], &set));
    assert_eq!(b.finish(), PartitionState::Failure);
    wait_for_split(&reg, &expected(&["a", "c"], &set));
    reg.assert_no_conflict();
    drop((a, cm));
    assert_no_nodes_left(&c, &[&format!("{path}/party")]);
    for item in &set {
        assert_no_nodes_left(&c, &[&format!("{path}/locks/{item}")]);
    }
}

#[test]
fn a_custom_partition_function_is_used() {
    let c = client();
    let path = common::unique("partition-custom");
    let p = SetPartitioner::builder(&c, &path, ["x", "y", "z"])
        .identifier("solo")
        .time_boundary(Duration::from_millis(100))
        .partition_fn(|_me: &str, _members: &[String], items: &[String]| {
            items.iter().filter(|i| *i != "y").cloned().collect()
        })
        .start()
        .unwrap();
    assert_eq!(p.wait_for_acquire(LONG), PartitionState::Acquired);
    assert_eq!(p.items(), ["x", "z"]);
    let locks = c.get_children(&format!("{path}/locks/x")).unwrap();
    assert_eq!(locks.len(), 1);
    assert!(locks[0].contains("__lock__"), "{locks:?}");
    assert!(c.get_children(&format!("{path}/locks/y")).map_or(true, |l| l.is_empty()));
    p.finish().unwrap();
    assert!(p.is_failed());
    assert!(p.items().is_empty());
    assert_no_nodes_left(&c, &[&format!("{path}/party"), &format!("{path}/locks/x")]);
}

#[test]
fn bad_items_and_identifiers_fail_before_joining() {
    let c = client();
    let path = common::unique("partition-bad");
    assert!(SetPartitioner::builder(&c, &path, ["a/b"]).start().is_err());
    assert!(SetPartitioner::builder(&c, &path, [""]).start().is_err());
    assert!(SetPartitioner::builder(&c, &path, ["a"]).identifier("x/y").start().is_err());
    assert!(c.exist_node(&format!("{path}/party")).unwrap().is_none());
}

/// `finish` from another thread wakes a thread waiting for the acquire (cancel), and the wait
/// keeps its deadline.
#[test]
fn waits_have_deadlines_and_finish_wakes_them() {
    let c = client();
    let path = common::unique("partition-wait");
    let p = Arc::new(
        SetPartitioner::builder(&c, &path, ["a"])
            .identifier("w")
            .time_boundary(Duration::from_secs(60))
            .start()
            .unwrap(),
    );
    let started = Instant::now();
    assert_eq!(p.wait_for_acquire(Duration::from_millis(300)), PartitionState::Allocating);
    assert!(started.elapsed() < Duration::from_secs(2));
    let waiter = {
        let p = p.clone();
        std::thread::spawn(move || p.wait_for_acquire(Duration::from_secs(60)))
    };
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    p.finish().unwrap();
    assert_eq!(waiter.join().unwrap(), PartitionState::Failure);
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert_no_nodes_left(&c, &[&format!("{path}/party")]);
}

/// A member's session expires: it fails (Kazoo's rule), its items go to the others.
#[test]
fn a_member_whose_session_expires_fails_and_the_rest_take_over() {
    let observer = client();
    let path = common::unique("partition-expiry");
    let set = items(6);
    let proxy = Proxy::start(&server().connect_string());
    let doomed_client = client_of(&proxy.connect_string());
    let survivor_client = client();
    let doomed = SetPartitioner::builder(&doomed_client, &path, set.clone())
        .identifier("doomed")
        .time_boundary(BOUNDARY)
        .start()
        .unwrap();
    let reg = Arc::new(Registry::default());
    let survivor = Member::start(&survivor_client, &path, "survivor", &set, &reg);
    assert_eq!(doomed.wait_for_acquire(LONG), PartitionState::Acquired);
    assert!(eventually(LONG, || reg.snapshot().len() == 3), "{:?}", reg.snapshot());
    let changes = doomed.state_changes();
    expire_session(&proxy, &server().connect_string(), &doomed_client);
    assert!(eventually(LONG, || doomed.is_failed()));
    assert!(doomed.items().is_empty());
    let seen: Vec<PartitionState> = changes.try_iter().collect();
    assert!(seen.contains(&PartitionState::Release), "{seen:?}");
    assert_eq!(seen.last(), Some(&PartitionState::Failure));
    wait_for_split(&reg, &expected(&["survivor"], &set));
    drop(survivor);
    drop(doomed);
    assert_no_nodes_left(&observer, &[&format!("{path}/party")]);
}

/// Reads a Kazoo partitioner member's reports and keeps the registry, acknowledging each
/// release only after its items were given back in the registry.
fn kazoo_member(
    path: &str,
    name: &str,
    set: &[String],
    reg: &Arc<Registry>,
) -> std::thread::JoinHandle<()> {
    let stop = format!("{path}-stop-{name}");
    let list = set.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ");
    let snippet = format!(
        r#"
p = zk.SetPartitioner('{path}', set=[{list}], identifier='{name}', time_boundary={tb}, max_reaction_time=0.2)
claimed = False
while True:
    if p.failed:
        say('failed')
        break
    if zk.exists('{stop}'):
        say('finishing')
        ask()
        p.finish()
        say('done')
        break
    if p.release:
        say('release')
        ask()
        claimed = False
        p.release_set()
    elif p.acquired:
        if not claimed:
            say('acquired', ','.join(sorted(p)))
            claimed = True
        p.state_change_event.wait(0.05)
        p.state_change_event.clear()
    else:
        p.wait_for_acquire(0.05)
"#,
        tb = BOUNDARY.as_secs_f64()
    );
    let mut peer = Kazoo::spawn(&server().connect_string(), &snippet);
    let (reg, name) = (reg.clone(), name.to_string());
    std::thread::spawn(move || loop {
        let line = peer.line(Duration::from_secs(120));
        let (word, rest) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        match word {
            "acquired" => {
                let mine: Vec<String> =
                    rest.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect();
                reg.claim(&name, &mine);
            }
            "release" | "finishing" => {
                reg.give_back(&name);
                peer.send("ok");
            }
            "done" => {
                assert!(peer.finish(LONG).is_empty());
                return;
            }
            other => panic!("Kazoo member {name} said {other:?}"),
        }
    })
}

/// Kazoo and Rust members on one partitioner: Kazoo's split, never two owners, every item
/// owned, across a Kazoo member joining and a Rust member leaving.
#[test]
fn a_mixed_partitioner_never_gives_an_item_two_owners() {
    let c = client();
    let path = common::unique("partition-kazoo");
    let set = items(12);
    let reg = Arc::new(Registry::default());
    let (ca, cb) = (client(), client());
    let rust_a = Member::start(&ca, &path, "rust-a", &set, &reg);
    let rust_b = Member::start(&cb, &path, "rust-b", &set, &reg);
    let k1 = kazoo_member(&path, "kazoo-1", &set, &reg);
    wait_for_split(&reg, &expected(&["rust-a", "rust-b", "kazoo-1"], &set));
    let k2 = kazoo_member(&path, "kazoo-2", &set, &reg);
    wait_for_split(&reg, &expected(&["rust-a", "rust-b", "kazoo-1", "kazoo-2"], &set));
    assert_eq!(rust_b.finish(), PartitionState::Failure);
    wait_for_split(&reg, &expected(&["rust-a", "kazoo-1", "kazoo-2"], &set));
    reg.assert_no_conflict();
    c.create_node(&format!("{path}-stop-kazoo-1"), "").unwrap();
    c.create_node(&format!("{path}-stop-kazoo-2"), "").unwrap();
    k1.join().unwrap();
    k2.join().unwrap();
    wait_for_split(&reg, &expected(&["rust-a"], &set));
    reg.assert_no_conflict();
    drop(rust_a);
    assert_no_nodes_left(&c, &[&format!("{path}/party")]);
    for item in &set {
        assert_no_nodes_left(&c, &[&format!("{path}/locks/{item}")]);
    }
}

/// Members run against an ensemble whose leader is killed: they go through Release, allocate
/// again once a new leader is elected, and still cover every item with one owner each.
#[test]
#[serial_test::serial]
fn the_split_recovers_after_the_ensemble_leader_is_lost() {
    let mut cluster = zkcluster::testing::TestingCluster::start(3)
        .unwrap_or_else(|e| panic!("cannot start an ensemble: {e}"));
    let connect = cluster.connect_string();
    let connect_one = || {
        Client::builder(&connect)
            .session_timeout(Duration::from_secs(10))
            .request_timeout(Duration::from_secs(5))
            .connect()
            .unwrap()
    };
    let (ca, cb) = (connect_one(), connect_one());
    let set = items(8);
    let reg = Arc::new(Registry::default());
    let a = Member::start(&ca, "/split", "a", &set, &reg);
    let b = Member::start(&cb, "/split", "b", &set, &reg);
    wait_for_split(&reg, &expected(&["a", "b"], &set));
    let before = [reg.releases("a"), reg.releases("b")];
    let leader = cluster.leader().expect("a leader");
    cluster.member_mut(leader).kill().unwrap();
    // Every client connected through the old quorum sees its connection drop; they release
    // and allocate again once a new leader serves.
    std::thread::sleep(Duration::from_millis(500));
    cluster.wait_for_leader(Duration::from_secs(30)).unwrap();
    reg.wait_for_releases(&["a", "b"], &before);
    wait_for_split(&reg, &expected(&["a", "b"], &set));
    reg.assert_no_conflict();
    drop((a, b));
}

/// A standalone server restart: the members allocate again and cover every item.
#[test]
#[serial_test::serial]
fn the_split_recovers_after_a_server_restart() {
    let mut own =
        zkcluster::testing::TestingServer::start().expect("ZooKeeper for the restart test");
    let (ca, cb) = (client_of(&own.connect_string()), client_of(&own.connect_string()));
    let set = items(6);
    let reg = Arc::new(Registry::default());
    let a = Member::start(&ca, "/split", "a", &set, &reg);
    let b = Member::start(&cb, "/split", "b", &set, &reg);
    wait_for_split(&reg, &expected(&["a", "b"], &set));
    let before = [reg.releases("a"), reg.releases("b")];
    own.restart().unwrap();
    reg.wait_for_releases(&["a", "b"], &before);
    wait_for_split(&reg, &expected(&["a", "b"], &set));
    reg.assert_no_conflict();
    drop((a, b));
    let observer = client_of(&own.connect_string());
    assert_no_nodes_left(&observer, &["/split/party"]);
}

/// Many members at once: six sessions join together and split twenty items without an item
/// having two owners; then dropping the partitioners ends their threads (the session of a
/// client whose only handle was dropped closes at once).
#[test]
fn six_members_split_twenty_items_and_their_threads_end() {
    let observer = client();
    let path = common::unique("partition-six");
    let set = items(20);
    let reg = Arc::new(Registry::default());
    let names: Vec<String> = (0..6).map(|i| format!("m{i}")).collect();
    let clients: Vec<Client> = names.iter().map(|_| client()).collect();
    let members: Vec<Member> = std::thread::scope(|s| {
        let started: Vec<_> = names
            .iter()
            .zip(&clients)
            .map(|(n, c)| {
                let (path, set, reg) = (&path, &set, &reg);
                s.spawn(move || Member::start(c, path, n, set, reg))
            })
            .collect();
        started.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let all: Vec<&str> = names.iter().map(String::as_str).collect();
    wait_for_split(&reg, &expected(&all, &set));
    reg.assert_no_conflict();
    let marker = format!("{path}-marker");
    clients[0].create(&marker, b"", &zkcluster::CreateOptions::new().ephemeral()).unwrap();
    drop(members);
    drop(clients);
    assert!(
        eventually(Duration::from_secs(3), || observer.exist_node(&marker).unwrap().is_none()),
        "a partitioner's thread still holds its client"
    );
    assert_no_nodes_left(&observer, &[&format!("{path}/party")]);
}

/// A partition function that panics fails the partitioner (it does not allocate forever) and
/// leaves the party.
#[test]
fn a_panicking_partition_function_fails_the_partitioner() {
    let c = client();
    let path = common::unique("partition-panic");
    let p = SetPartitioner::builder(&c, &path, ["a"])
        .identifier("p")
        .time_boundary(Duration::from_millis(100))
        .partition_fn(|_: &str, _: &[String], _: &[String]| panic!("a bug in the split"))
        .start()
        .unwrap();
    assert_eq!(p.wait_for_acquire(LONG), PartitionState::Failure);
    assert_no_nodes_left(&c, &[&format!("{path}/party")]);
}
