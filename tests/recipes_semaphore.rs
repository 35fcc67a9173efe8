//! Semaphore against a real ZooKeeper server, with Kazoo's pool layout.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use common::{assert_no_nodes_left, client, eventually, unique};
use zkcluster::{
    Client, CreateOptions, Error, Restriction, ZookeeperRecipe, ZookeeperRecipeRestriction,
};

const LONG: Duration = Duration::from_secs(10);

fn semaphore(client: &Client, path: &str, id: &str, max: u32) -> ZookeeperRecipeRestriction {
    client.restrict(path, ZookeeperRecipe::Semaphore, id, Some(max)).unwrap()
}

fn inner(path: &str) -> String {
    format!("{path}-__lock__")
}

#[test]
fn max_one_lease() {
    // Missing parents are created on first use.
    let path = format!("{}/crawler/fetchers", unique("sem1"));
    let (a, b) = (client(), client());
    let sem_a = semaphore(&a, &path, "a", 1);
    let sem_b = Arc::new(semaphore(&b, &path, "b", 1));
    let lease = sem_a.acquire().unwrap();
    assert_eq!(a.get_node(&path).unwrap().value_str().unwrap(), "1", "pool data is max_leases");
    assert_eq!(sem_a.lease_holders().unwrap(), ["a"]);
    assert!(sem_b.try_acquire().unwrap().is_none());
    let (tx, rx) = mpsc::channel();
    let waiter = {
        let sem_b = sem_b.clone();
        std::thread::spawn(move || {
            let lease = sem_b.acquire().unwrap();
            tx.send(()).unwrap();
            std::thread::sleep(Duration::from_millis(50));
            drop(lease);
        })
    };
    assert!(eventually(LONG, || sem_a.contenders().unwrap() == ["a", "b"]));
    assert!(rx.recv_timeout(Duration::from_millis(200)).is_err(), "two leases with max 1");
    lease.release().unwrap();
    rx.recv_timeout(LONG).expect("the waiter got the lease");
    waiter.join().unwrap();
    assert_no_nodes_left(&a, &[&path, &inner(&path)]);
}

#[test]
fn max_two_leases_and_lease_holders() {
    let path = unique("sem2");
    let clients: Vec<Client> = (0..3).map(|_| client()).collect();
    let sems: Vec<Arc<ZookeeperRecipeRestriction>> = ["a", "b", "c"]
        .iter()
        .zip(&clients)
        .map(|(id, c)| Arc::new(semaphore(c, &path, id, 2)))
        .collect();
    let la = sems[0].acquire().unwrap();
    let lb = sems[1].acquire().unwrap();
    assert_eq!(sems[2].lease_holders().unwrap(), ["a", "b"]);
    assert!(sems[2].try_acquire().unwrap().is_none());
    assert_eq!(clients[0].get_children(&path).unwrap().len(), 2, "try_acquire left a lease");
    let (tx, rx) = mpsc::channel();
    let waiter = {
        let sem = sems[2].clone();
        std::thread::spawn(move || {
            let lease = sem.acquire().unwrap();
            tx.send(()).unwrap();
            lease
        })
    };
    assert!(rx.recv_timeout(Duration::from_millis(300)).is_err(), "three leases with max 2");
    drop(la);
    rx.recv_timeout(LONG).expect("the waiter got the freed lease");
    let lc = waiter.join().unwrap();
    assert_eq!(sems[0].lease_holders().unwrap(), ["b", "c"]);
    // Lease nodes are `P/<uuid hex>`, ephemeral, data = identifier.
    for name in clients[0].get_children(&path).unwrap() {
        assert_eq!(name.len(), 32);
        assert!(name.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)), "{name}");
        assert_ne!(clients[0].get_node(&format!("{path}/{name}")).unwrap().stat.ephemeral_owner, 0);
    }
    drop((lb, lc));
    assert_no_nodes_left(&clients[0], &[&path, &inner(&path)]);
}

#[test]
fn inconsistent_max_leases_is_an_error_naming_both() {
    let path = unique("sem-mismatch");
    let (a, b) = (client(), client());
    let lease = semaphore(&a, &path, "a", 1).acquire().unwrap();
    let err = semaphore(&b, &path, "b", 2).acquire().unwrap_err();
    assert!(matches!(err, Error::LeaseMismatch { stored: 1, requested: 2, .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains('1') && text.contains('2'), "{text}");
    drop(lease);
    assert_no_nodes_left(&a, &[&path, &inner(&path)]);
}

#[test]
fn non_numeric_pool_data_is_refused() {
    let path = unique("sem-text");
    let c = client();
    c.create(&path, "used for something else", &CreateOptions::new().parents()).unwrap();
    let sem = semaphore(&c, &path, "a", 3);
    let err = sem.acquire_timeout(Duration::from_secs(5)).unwrap_err();
    assert!(matches!(err, zkcluster::Error::InvalidArgument { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(&path) && message.contains("not a number"), "{message}");
    assert_eq!(c.get_node(&path).unwrap().value_str().unwrap(), "used for something else");
    assert_no_nodes_left(&c, &[&path, &inner(&path)]);
}

#[test]
fn empty_pool_data_is_accepted() {
    let path = unique("sem-empty");
    let c = client();
    c.ensure_path(&path).unwrap();
    let lease = semaphore(&c, &path, "a", 3).acquire_timeout(Duration::from_secs(5)).unwrap();
    drop(lease);
    assert_no_nodes_left(&c, &[&path, &inner(&path)]);
}

#[test]
fn timeout_and_cancel_leave_nothing() {
    let path = unique("sem-cancel");
    let (a, b) = (client(), client());
    let lease = semaphore(&a, &path, "a", 1).acquire().unwrap();
    let sem_b = Arc::new(semaphore(&b, &path, "b", 1));
    let started = Instant::now();
    let err = sem_b.acquire_timeout(Duration::from_millis(400)).unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert!(started.elapsed() < Duration::from_millis(1500), "took {:?}", started.elapsed());
    assert!(eventually(Duration::from_secs(2), || a
        .get_children(&inner(&path))
        .unwrap()
        .is_empty()));

    let cancel = sem_b.cancel_handle();
    let waiter = {
        let sem_b = sem_b.clone();
        std::thread::spawn(move || sem_b.acquire().map(drop))
    };
    assert!(eventually(LONG, || a.get_children(&inner(&path)).unwrap().len() == 1));
    cancel.cancel();
    let err = waiter.join().unwrap().unwrap_err();
    assert!(err.is_cancelled(), "{err}");
    assert_eq!(a.get_children(&path).unwrap().len(), 1);
    drop(lease);
    assert_no_nodes_left(&a, &[&path, &inner(&path)]);
}

#[test]
fn shared_semaphore_object_across_threads() {
    let path = unique("sem-shared");
    let c = client();
    let sem = Arc::new(semaphore(&c, &path, "pool", 3));
    let inside = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..12)
        .map(|_| {
            let (sem, inside, most) = (sem.clone(), inside.clone(), most.clone());
            std::thread::spawn(move || {
                let lease = sem.acquire().unwrap();
                let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                assert!(now <= 3, "{now} leases with max 3");
                std::thread::sleep(Duration::from_millis(20));
                inside.fetch_sub(1, Ordering::SeqCst);
                lease.release().unwrap();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(most.load(Ordering::SeqCst) >= 2, "leases were never shared");
    assert_no_nodes_left(&c, &[&path, &inner(&path)]);
}

/// After its first acquire a Semaphore skips re-checking the pool; a pool deleted in between
/// is created (and checked) again instead of failing the acquire.
#[test]
fn pool_deleted_between_acquires_is_recreated() {
    let path = unique("sem-recreate");
    let client = client();
    let sem = semaphore(&client, &path, "a", 3);
    sem.acquire().unwrap().release().unwrap();
    client.delete_recursive(&path).unwrap();
    let lease = sem.acquire_timeout(LONG).unwrap();
    assert_eq!(client.get_node(&path).unwrap().value_str().unwrap(), "3");
    assert_eq!(sem.lease_holders().unwrap(), ["a"]);
    lease.release().unwrap();
    // And a pool re-created by someone else with another number is still refused.
    client.delete_recursive(&path).unwrap();
    client.create_node(&path, "5").unwrap();
    let err = sem.acquire_timeout(LONG).unwrap_err();
    assert!(matches!(err, Error::LeaseMismatch { stored: 5, requested: 3, .. }), "{err:?}");
    assert_no_nodes_left(&client, &[&path, &inner(&path)]);
}

/// After its first acquire a Semaphore no longer reads the pool's data: the stat its listing
/// of the pool carries shows the data rewritten, and it is checked again.
#[test]
fn pool_data_rewritten_between_acquires_is_checked_again() {
    let path = unique("sem-rewritten");
    let client = client();
    let sem = semaphore(&client, &path, "a", 3);
    for _ in 0..2 {
        sem.acquire().unwrap().release().unwrap();
    }
    client.set_value_to_node(&path, "5").unwrap();
    let err = sem.acquire_timeout(LONG).unwrap_err();
    assert!(matches!(err, Error::LeaseMismatch { stored: 5, requested: 3, .. }), "{err:?}");
    client.set_value_to_node(&path, "3").unwrap();
    sem.acquire_timeout(LONG).unwrap().release().unwrap();
    assert_no_nodes_left(&client, &[&path, &inner(&path)]);
}

/// Regression: on the first use of a path the inner lock path is missing, the pipelined create
/// is retried with parents, and the pool listing sent in the first round trip is stale by the
/// time the inner lock is won. A fleet starting at once must still see at most `max_leases`
/// holders.
#[test]
fn fleet_starting_at_once_on_fresh_paths_never_exceeds_max_leases() {
    const SESSIONS: usize = 4;
    const ROUNDS: usize = 30;
    let clients: Vec<Client> = (0..SESSIONS).map(|_| client()).collect();
    let mut worst = 0;
    let mut overlapping_rounds = 0;
    for _ in 0..ROUNDS {
        let path = unique("sem-fresh");
        let holders = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = clients
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let sem = semaphore(c, &path, &format!("w{i}"), 1);
                let (holders, most) = (holders.clone(), most.clone());
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_micros(1500 * i as u64));
                    let lease = sem.acquire_timeout(LONG).unwrap();
                    let now = holders.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(15));
                    holders.fetch_sub(1, Ordering::SeqCst);
                    lease.release().unwrap();
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let most = most.load(Ordering::SeqCst);
        worst = worst.max(most);
        overlapping_rounds += usize::from(most > 1);
    }
    assert_eq!(worst, 1, "{overlapping_rounds} of {ROUNDS} rounds had {worst} holders at once");
}

/// After an uncontended acquire a Semaphore sends its next lease in the first round trip,
/// before it has seen the count. When the pool turns out full or the inner lock busy, that
/// lease is withdrawn before the acquire returns or waits: nobody counts it afterwards.
#[test]
fn optimistic_lease_is_withdrawn_when_full_or_busy() {
    let path = unique("sem-optimistic");
    let (a, b, c) = (client(), client(), client());
    let sem_a = semaphore(&a, &path, "a", 1);
    let sem_b = Arc::new(semaphore(&b, &path, "b", 1));
    // The first cycle creates the paths (not optimistic); the second finds the inner lock free
    // and room in the pool: optimistic from then on.
    for _ in 0..2 {
        sem_b.acquire().unwrap().release().unwrap();
    }

    // Full pool.
    let lease = sem_a.acquire().unwrap();
    assert!(sem_b.try_acquire().unwrap().is_none());
    assert_eq!(c.get_children(&path).unwrap().len(), 1, "the optimistic lease was left");
    lease.release().unwrap();

    // Inner lock busy: someone holds `P-__lock__` itself. (One more uncontended cycle first:
    // the failed try left b cautious.)
    let inner_lock = c.restrict(&inner(&path), ZookeeperRecipe::WriteLock, "inner", None).unwrap();
    for blocking in [false, true] {
        sem_b.acquire().unwrap().release().unwrap();
        let inner_guard = inner_lock.acquire().unwrap();
        if blocking {
            let waiter = {
                let sem_b = sem_b.clone();
                std::thread::spawn(move || sem_b.acquire().unwrap())
            };
            assert!(eventually(LONG, || inner_lock.contenders().unwrap() == ["inner", "b"]));
            // Queued, b withdraws the lease it sent (one round trip later) and waits without.
            let withdrawn = eventually(LONG, || c.get_children(&path).unwrap().is_empty());
            assert!(withdrawn, "a lease kept without the inner lock");
            assert!(!waiter.is_finished(), "acquired while the inner lock was held");
            drop(inner_guard);
            let lease = waiter.join().unwrap();
            assert_eq!(sem_a.lease_holders().unwrap(), ["b"]);
            lease.release().unwrap();
        } else {
            assert!(sem_b.try_acquire().unwrap().is_none());
            assert!(c.get_children(&path).unwrap().is_empty(), "a lease without the inner lock");
            inner_guard.release().unwrap();
        }
    }
    assert_no_nodes_left(&c, &[&path, &inner(&path)]);
}

/// Objects that acquire again and again (optimistic after every uncontended cycle, cautious
/// after every contended one), blocking or polling, never hold more than `max_leases` leases
/// at once.
#[test]
fn repeated_acquires_from_many_sessions_never_exceed_max_leases() {
    const SESSIONS: usize = 4;
    const CYCLES: usize = 40;
    let path = unique("sem-repeat");
    let holders = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..SESSIONS)
        .map(|i| {
            let c = client();
            let (holders, most, path) = (holders.clone(), most.clone(), path.clone());
            std::thread::spawn(move || {
                let sem = semaphore(&c, &path, &format!("w{i}"), 2);
                for cycle in 0..CYCLES {
                    // Half the sessions poll with try_acquire: they find the pool full while
                    // the inner lock is free (a blocking contender holds the inner lock
                    // while it waits for room).
                    let lease = if i % 2 == 0 {
                        sem.acquire_timeout(LONG).unwrap()
                    } else {
                        loop {
                            if let Some(lease) = sem.try_acquire().unwrap() {
                                break lease;
                            }
                            std::thread::sleep(Duration::from_millis(1));
                        }
                    };
                    let now = holders.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    // Mostly short holds (uncontended cycles), now and then a long one.
                    let hold = if (cycle + i) % 3 == 0 { 10 } else { 1 };
                    std::thread::sleep(Duration::from_millis(hold));
                    holders.fetch_sub(1, Ordering::SeqCst);
                    drop(lease);
                    // Apart now and then, so that acquires find the inner lock free.
                    std::thread::sleep(Duration::from_millis(2 + ((cycle * 7 + i * 3) % 5) as u64));
                }
                c
            })
        })
        .collect();
    let clients: Vec<Client> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let most = most.load(Ordering::SeqCst);
    assert!(most <= 2, "{most} holders at once with max 2");
    assert_eq!(most, 2, "leases were never shared");
    assert_no_nodes_left(&clients[0], &[&path, &inner(&path)]);
}

/// A real Kazoo `Semaphore` and ours share one pool (max 1): while Kazoo holds the lease an
/// optimistic acquire of ours gets nothing and leaves no child Kazoo counts; then each waits
/// for the other.
#[test]
fn optimistic_acquires_beside_a_kazoo_semaphore() {
    let path = unique("sem-kazoo");
    let c = client();
    let sem = semaphore(&c, &path, "rust", 1);
    for _ in 0..2 {
        sem.acquire().unwrap().release().unwrap(); // optimistic from now on
    }
    let mut kazoo = common::kazoo::Kazoo::spawn(
        &common::server().connect_string(),
        &format!(
            "sem = zk.Semaphore('{path}', 'kazoo', max_leases=1)\n\
             sem.acquire(timeout=10)\nsay('held')\nask()\n\
             say(','.join(sem.lease_holders()))\nsem.release()\nsay('released')\nask()\n\
             from kazoo.exceptions import LockTimeout\ntry:\n    sem.acquire(timeout=0.5)\n    say('acquired')\n\
             except LockTimeout:\n    say('timed out')\nask()\n\
             say(str(sem.acquire(timeout=10)))\nsay(','.join(sem.lease_holders()))\n\
             sem.release()"
        ),
    );
    kazoo.expect("held", LONG);
    assert!(sem.try_acquire().unwrap().is_none(), "two leases with max 1");
    kazoo.send("go");
    kazoo.expect("kazoo", LONG);
    kazoo.expect("released", LONG);
    let lease = sem.acquire_timeout(LONG).unwrap();
    kazoo.send("go");
    kazoo.expect("timed out", LONG);
    drop(lease);
    kazoo.send("go");
    kazoo.expect("True", LONG);
    kazoo.expect("kazoo", LONG);
    assert!(kazoo.finish(LONG).is_empty());
    assert_no_nodes_left(&c, &[&path, &inner(&path)]);
}
