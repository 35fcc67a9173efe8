//! ReadLock and WriteLock against a real ZooKeeper server: the scenarios Kazoo's lock tests
//! cover, plus wire compatibility with Kazoo's node names and a mutual-exclusion stress test.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use common::{assert_no_nodes_left, client, eventually, unique};
use zkcluster::{Client, CreateOptions, Restriction, ZookeeperRecipe, ZookeeperRecipeRestriction};

const LONG: Duration = Duration::from_secs(10);

fn write_lock(client: &Client, path: &str, id: &str) -> ZookeeperRecipeRestriction {
    client.restrict(path, ZookeeperRecipe::WriteLock, id, None).unwrap()
}

/// Waits until the lock's queue is exactly `want`.
fn queue_is(lock: &impl Restriction, want: &[&str]) {
    let ok = eventually(LONG, || lock.contenders().unwrap() == want);
    assert!(ok, "queue is {:?}, expected {want:?}", lock.contenders().unwrap());
}

#[test]
fn lock_types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<zkcluster::WriteLock>();
    send_sync::<zkcluster::ReadLock>();
    send_sync::<zkcluster::Semaphore>();
    send_sync::<ZookeeperRecipeRestriction>();
    send_sync::<zkcluster::Guard>();
    send_sync::<zkcluster::CancelHandle>();
    send_sync::<zkcluster::CancelToken>();
}

#[test]
fn restrict_rejects_wrong_max_leases() {
    let c = client();
    for recipe in [ZookeeperRecipe::WriteLock, ZookeeperRecipe::ReadLock] {
        let err = c.restrict("/x", recipe, "w", Some(3)).expect_err("a lock takes no max_leases");
        assert!(matches!(err, zkcluster::Error::InvalidArgument { .. }), "{err}");
        assert!(err.to_string().contains("max_leases"), "{err}");
    }
    for max in [None, Some(0)] {
        let err =
            c.restrict("/x", ZookeeperRecipe::Semaphore, "w", max).expect_err("bad max_leases");
        assert!(matches!(err, zkcluster::Error::InvalidArgument { .. }), "{err}");
    }
    assert!(c.restrict("/", ZookeeperRecipe::WriteLock, "w", None).is_err());
}

#[test]
fn one_holder_and_contenders_in_order() {
    let path = unique("holder");
    let (a, b, c) = (client(), client(), client());
    let lock_a = write_lock(&a, &path, "holder");
    let guard = lock_a.acquire().unwrap();
    assert!(guard.is_valid());
    assert_eq!(lock_a.lease_holders().unwrap(), ["holder"]);

    let (tx, rx) = mpsc::channel();
    let spawn = |client: Client, id: &'static str| {
        let (path, tx) = (path.clone(), tx.clone());
        std::thread::spawn(move || {
            let lock = write_lock(&client, &path, id);
            let guard = lock.acquire().unwrap();
            tx.send(id).unwrap();
            std::thread::sleep(Duration::from_millis(50));
            guard.release().unwrap();
        })
    };
    let tb = spawn(b, "b");
    queue_is(&lock_a, &["holder", "b"]);
    let tc = spawn(c, "c");
    queue_is(&lock_a, &["holder", "b", "c"]);
    assert!(rx.recv_timeout(Duration::from_millis(200)).is_err(), "a contender got in while held");
    assert_eq!(lock_a.lease_holders().unwrap(), ["holder"]);

    guard.release().unwrap();
    assert_eq!(rx.recv_timeout(LONG).unwrap(), "b");
    assert_eq!(rx.recv_timeout(LONG).unwrap(), "c");
    tb.join().unwrap();
    tc.join().unwrap();
    assert_no_nodes_left(&a, &[&path]);
}

#[test]
fn fifo_hand_off_among_six_contenders() {
    let path = unique("fifo");
    let observer = client();
    let first = write_lock(&observer, &path, "first");
    let guard = first.acquire().unwrap();
    let (tx, rx) = mpsc::channel();
    let mut threads = Vec::new();
    let mut expected = vec!["first".to_string()];
    for i in 0..6 {
        let (path, tx) = (path.clone(), tx.clone());
        let id = format!("c{i}");
        expected.push(id.clone());
        threads.push(std::thread::spawn(move || {
            let c = client();
            let lock = write_lock(&c, &path, &id);
            let _guard = lock.acquire().unwrap();
            tx.send(id).unwrap();
            std::thread::sleep(Duration::from_millis(20));
        }));
        let want: Vec<&str> = expected.iter().map(String::as_str).collect();
        queue_is(&first, &want);
    }
    drop(guard);
    let order: Vec<String> = (0..6).map(|_| rx.recv_timeout(LONG).unwrap()).collect();
    assert_eq!(order, expected[1..]);
    for t in threads {
        t.join().unwrap();
    }
    assert_no_nodes_left(&observer, &[&path]);
}

#[test]
fn try_acquire_never_waits_and_leaves_nothing() {
    // Missing parents are created on first use.
    let path = format!("{}/a/b/lock", unique("try"));
    let (a, b) = (client(), client());
    let lock_a = write_lock(&a, &path, "a");
    let lock_b = write_lock(&b, &path, "b");
    let guard = lock_a.try_acquire().unwrap().expect("free lock");
    let started = Instant::now();
    assert!(lock_b.try_acquire().unwrap().is_none());
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(a.get_children(&path).unwrap().len(), 1, "try_acquire left its node");
    // Released and waited for: a dropped guard only puts its delete on the wire, which another
    // client's try_acquire may overtake.
    guard.release().unwrap();
    let guard = lock_b.try_acquire().unwrap().expect("released lock");
    drop(guard);
    assert_no_nodes_left(&a, &[&path]);
}

#[test]
fn acquire_timeout_covers_the_whole_acquire() {
    let path = unique("timeout");
    let (a, b) = (client(), client());
    let _guard = write_lock(&a, &path, "a").acquire().unwrap();
    let lock_b = write_lock(&b, &path, "b");
    let started = Instant::now();
    let err = lock_b.acquire_timeout(Duration::from_millis(500)).unwrap_err();
    let took = started.elapsed();
    assert!(err.is_timeout(), "{err}");
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_millis(1500),
        "took {took:?}"
    );
    assert_eq!(a.get_children(&path).unwrap().len(), 1, "the timed-out acquire left its node");
    drop(_guard);
    assert!(lock_b.acquire_timeout(Duration::from_secs(5)).is_ok());
    assert_no_nodes_left(&a, &[&path]);
}

#[test]
fn cancel_from_another_thread_removes_the_node() {
    let path = unique("cancel");
    let (a, b) = (client(), client());
    let lock_a = write_lock(&a, &path, "a");
    let guard = lock_a.acquire().unwrap();
    let lock_b = Arc::new(write_lock(&b, &path, "b"));
    let cancel = lock_b.cancel_handle();
    let waiter = {
        let lock_b = lock_b.clone();
        std::thread::spawn(move || lock_b.acquire().map(drop))
    };
    queue_is(&lock_a, &["a", "b"]);
    let cancelled_at = Instant::now();
    std::thread::spawn(move || cancel.cancel()).join().unwrap();
    let err = waiter.join().unwrap().unwrap_err();
    assert!(err.is_cancelled(), "{err}");
    assert!(cancelled_at.elapsed() < Duration::from_secs(2));
    assert_eq!(lock_a.contenders().unwrap(), ["a"], "the cancelled acquire left its node");
    // The object stays usable: a later acquire is not cancelled.
    drop(guard);
    let again = lock_b.acquire_timeout(Duration::from_secs(5)).expect("a later acquire works");
    drop(again);
    assert_no_nodes_left(&a, &[&path]);
}

#[test]
fn readers_share_and_writers_exclude_in_queue_order() {
    let path = unique("rw");
    let (c1, c2, c3, c4) = (client(), client(), client(), client());
    let r1 = c1.restrict(&path, ZookeeperRecipe::ReadLock, "r1", None).unwrap();
    let r2 = c2.restrict(&path, ZookeeperRecipe::ReadLock, "r2", None).unwrap();
    let g1 = r1.try_acquire().unwrap().expect("first reader");
    let g2 = r2.try_acquire().unwrap().expect("readers share");
    assert_eq!(r1.lease_holders().unwrap(), ["r1", "r2"]);

    let w = Arc::new(write_lock(&c3, &path, "w"));
    assert!(w.try_acquire().unwrap().is_none(), "a writer got in with readers holding");
    let (tx, rx) = mpsc::channel();
    let writer = {
        let (w, tx) = (w.clone(), tx.clone());
        std::thread::spawn(move || {
            let guard = w.acquire().unwrap();
            tx.send("w").unwrap();
            std::thread::sleep(Duration::from_millis(100));
            drop(guard);
        })
    };
    queue_is(&r1, &["r1", "r2", "w"]);
    // A reader queued behind a writer waits for it.
    let r3 = Arc::new(c4.restrict(&path, ZookeeperRecipe::ReadLock, "r3", None).unwrap());
    assert!(r3.try_acquire().unwrap().is_none(), "a reader jumped the queued writer");
    let reader = {
        let (r3, tx) = (r3.clone(), tx.clone());
        std::thread::spawn(move || {
            let _guard = r3.acquire().unwrap();
            tx.send("r3").unwrap();
        })
    };
    queue_is(&r1, &["r1", "r2", "w", "r3"]);
    drop(g1);
    assert!(
        rx.recv_timeout(Duration::from_millis(300)).is_err(),
        "writer in with a reader holding"
    );
    drop(g2);
    assert_eq!(rx.recv_timeout(LONG).unwrap(), "w");
    assert_eq!(rx.recv_timeout(LONG).unwrap(), "r3");
    writer.join().unwrap();
    reader.join().unwrap();
    assert_no_nodes_left(&c1, &[&path]);
}

#[test]
fn twenty_threads_on_one_shared_lock_object() {
    let path = unique("shared");
    let c = client();
    let lock = Arc::new(write_lock(&c, &path, "shared"));
    let inside = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..20)
        .map(|_| {
            let (lock, inside, done) = (lock.clone(), inside.clone(), done.clone());
            std::thread::spawn(move || {
                let guard = lock.acquire().unwrap();
                assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0, "two holders at once");
                std::thread::sleep(Duration::from_millis(5));
                inside.fetch_sub(1, Ordering::SeqCst);
                guard.release().unwrap();
                done.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(done.load(Ordering::SeqCst), 20);
    assert_no_nodes_left(&c, &[&path]);
}

/// 4 clients × 4 threads each increment a counter node by read-then-write under the lock, 50
/// times each: no update may be lost, and no two valid guards may ever overlap.
#[test]
fn mutual_exclusion_of_read_then_write() {
    const CLIENTS: usize = 4;
    const THREADS: usize = 4;
    const ROUNDS: usize = 50;
    let path = unique("mutex");
    let counter = format!("{path}-counter");
    let setup = client();
    setup.create(&counter, "0", &CreateOptions::new()).unwrap();
    let valid_holders = Arc::new(AtomicUsize::new(0));
    let mut threads = Vec::new();
    for c in 0..CLIENTS {
        let client = client();
        let lock = Arc::new(write_lock(&client, &path, &format!("client-{c}")));
        for _ in 0..THREADS {
            let (client, lock, counter, valid_holders) =
                (client.clone(), lock.clone(), counter.clone(), valid_holders.clone());
            threads.push(std::thread::spawn(move || {
                for _ in 0..ROUNDS {
                    let guard = lock.acquire().unwrap();
                    assert!(guard.is_valid());
                    assert_eq!(
                        valid_holders.fetch_add(1, Ordering::SeqCst),
                        0,
                        "two valid guards overlap"
                    );
                    let value: u64 =
                        client.get_node(&counter).unwrap().value_str().unwrap().parse().unwrap();
                    client.set_value_to_node(&counter, (value + 1).to_string()).unwrap();
                    assert!(guard.is_valid());
                    valid_holders.fetch_sub(1, Ordering::SeqCst);
                    guard.release().unwrap();
                }
            }));
        }
    }
    for t in threads {
        t.join().unwrap();
    }
    let total = setup.get_node(&counter).unwrap();
    assert_eq!(
        total.value_str().unwrap(),
        (CLIENTS * THREADS * ROUNDS).to_string(),
        "lost updates"
    );
    assert_no_nodes_left(&setup, &[&path]);
}

/// Node names, data and ordering exactly as Kazoo writes and reads them.
#[test]
fn wire_compatible_with_kazoo() {
    let path = unique("kazoo");
    let (ours, kazoo) = (client(), client());
    kazoo.ensure_path(&path).unwrap();
    // Not a lock node: ignored by everyone.
    kazoo.create(&format!("{path}/foreign-0000000000"), "x", &CreateOptions::new()).unwrap();
    // A "Kazoo holder": `<uuid hex>__lock__<seq>`, ephemeral sequential, data = identifier.
    let kazoo_node = kazoo
        .create(
            &format!("{path}/0123456789abcdef0123456789abcdef__lock__"),
            "kazoo-holder",
            &CreateOptions::new().ephemeral().sequential(),
        )
        .unwrap();
    let lock = Arc::new(write_lock(&ours, &path, "rust-worker"));
    assert!(lock.try_acquire().unwrap().is_none(), "we ignored Kazoo's holder");
    assert_eq!(lock.contenders().unwrap(), ["kazoo-holder"]);
    let (tx, rx) = mpsc::channel();
    let waiter = {
        let (lock, tx) = (lock.clone(), tx.clone());
        std::thread::spawn(move || {
            let guard = lock.acquire().unwrap();
            tx.send(guard.nodes()[0].clone()).unwrap();
            std::thread::sleep(Duration::from_millis(100));
        })
    };
    queue_is(&*lock, &["kazoo-holder", "rust-worker"]);
    // Our node, as Kazoo expects it.
    let mut names = kazoo.get_children(&path).unwrap();
    names.sort();
    let mine: Vec<&String> = names
        .iter()
        .filter(|n| !n.starts_with("foreign") && !kazoo_node.ends_with(n.as_str()))
        .collect();
    assert_eq!(mine.len(), 1, "{names:?}");
    let name = mine[0];
    assert_eq!(name.len(), 32 + "__lock__".len() + 10, "{name}");
    assert!(name[..32].bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)), "{name}");
    assert_eq!(&name[32..40], "__lock__");
    assert!(name[40..].bytes().all(|b| b.is_ascii_digit()));
    let node = kazoo.get_node(&format!("{path}/{name}")).unwrap();
    assert_eq!(node.value_str().unwrap(), "rust-worker");
    assert_ne!(node.stat.ephemeral_owner, 0, "lock nodes are ephemeral");

    assert!(
        rx.recv_timeout(Duration::from_millis(200)).is_err(),
        "we got in before Kazoo released"
    );
    kazoo.delete_node(&kazoo_node).unwrap();
    assert_eq!(rx.recv_timeout(LONG).unwrap(), format!("{path}/{name}"));
    waiter.join().unwrap();

    // A Kazoo reader shares with our reader and blocks our writer.
    kazoo
        .create(
            &format!("{path}/fedcba9876543210fedcba9876543210__rlock__"),
            "kazoo-reader",
            &CreateOptions::new().ephemeral().sequential(),
        )
        .unwrap();
    assert!(lock.try_acquire().unwrap().is_none(), "Kazoo's reader blocks our writer");
    let reader = ours.restrict(&path, ZookeeperRecipe::ReadLock, "rust-reader", None).unwrap();
    let read_guard = reader.try_acquire().unwrap().expect("readers share with Kazoo readers");
    assert!(read_guard.nodes()[0].contains("__rlock__"));
    // This thread holding a read lock, a write acquire here would be an upgrade: refused.
    assert!(matches!(lock.try_acquire(), Err(zkcluster::Error::WouldDeadlock { .. })));
    assert_eq!(reader.lease_holders().unwrap(), ["kazoo-reader", "rust-reader"]);
    drop(read_guard);
    kazoo.close().unwrap();
    assert!(lock.try_acquire().unwrap().is_some());
    ours.delete_node(&format!("{path}/foreign-0000000000")).unwrap();
    assert_no_nodes_left(&ours, &[&path]);
}

/// Sessions racing on a lock path that does not exist yet: a create that had to make the path
/// went out after its pipelined listing, so that listing may not show our node. The acquire
/// must list again, not queue a second node (which would block everyone behind the first).
#[test]
fn racing_sessions_on_a_missing_lock_path_all_get_through() {
    let clients = [client(), client(), client()];
    for round in 0..30 {
        let path = format!("{}/deep/lock", unique(&format!("race{round}")));
        let threads: Vec<_> = (0..6)
            .map(|i| {
                let lock = write_lock(&clients[i % 3], &path, &format!("t{i}"));
                std::thread::spawn(move || {
                    let guard = lock.acquire_timeout(Duration::from_secs(5))?;
                    guard.release()
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap().unwrap_or_else(|e| panic!("round {round}: {e}"));
        }
        assert_no_nodes_left(&clients[0], &[&path]);
    }
}

/// Context switches so far of the thread of this process whose name starts with `name` (the
/// kernel keeps 15 bytes of it; None: no such thread).
fn switches_of_thread(name: &str) -> Option<u64> {
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let dir = task.ok()?.path();
        if std::fs::read_to_string(dir.join("comm")).ok()?.trim() != name {
            continue;
        }
        let status = std::fs::read_to_string(dir.join("status")).ok()?;
        let count = |key: &str| -> u64 {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0)
        };
        return Some(count("voluntary_ctxt_switches:") + count("nonvoluntary_ctxt_switches:"));
    }
    None
}

/// Dropped guards' delete replies are checked off the caller's thread in batches: a thread
/// that releases in a loop wakes the checker every few milliseconds, not once per release
/// (it did, sleeping until each reply's own turn, which cost the lock cycle about 15%).
#[test]
fn the_release_checker_wakes_in_batches() {
    let path = unique("checker");
    let c = client();
    let lock = write_lock(&c, &path, "w");
    drop(lock.acquire().unwrap()); // starts the checker (which names itself once running)
    assert!(eventually(LONG, || switches_of_thread("zkcluster-relea").is_some()));
    let before = switches_of_thread("zkcluster-relea").expect("the release checker runs");
    let started = Instant::now();
    let mut cycles = 0u64;
    while started.elapsed() < Duration::from_secs(1) {
        drop(lock.acquire().unwrap());
        cycles += 1;
    }
    let after = switches_of_thread("zkcluster-relea").expect("the release checker runs");
    let woke = after - before;
    println!("checker: {woke} switches, {cycles} releases");
    assert!(
        woke * 4 < cycles,
        "the checker switched {woke} times for {cycles} releases in {:?}",
        started.elapsed()
    );
    lock.acquire().unwrap().release().unwrap();
    assert_no_nodes_left(&c, &[&path]);
}
