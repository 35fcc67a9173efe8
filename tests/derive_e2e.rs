//! `#[derive(Recipe)]` end to end against a real server: users' own lock types (the
//! `custom_recipe` example's, included below) and the built-in `ZookeeperRecipe`, driven only
//! through the generated dispatch (`client.restrict` → the companion enum → `Restriction`).

mod common;

#[path = "../examples/custom_recipe/locks.rs"]
mod locks;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{assert_no_nodes_left, client, eventually, unique};
use locks::{NewZKRecipe, NewZKRecipeRestriction};
use zkcluster::{
    Client, Error, GuardStatus, Recipe, Restriction, ZookeeperRecipe, ZookeeperRecipeRestriction,
};

const LONG: Duration = Duration::from_secs(10);

/// The same user types, looked up in a module by variant name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Recipe)]
#[allow(clippy::enum_variant_names)]
#[recipe(module = locks, restriction = ByModuleLock)]
enum ByModule {
    NewReadLock,
    NewWriteLock,
    NewSemaphore,
}

fn restrict(client: &Client, path: &str, recipe: NewZKRecipe, id: &str) -> NewZKRecipeRestriction {
    let max = (recipe == NewZKRecipe::Semaphore).then_some(2);
    client.restrict(path, recipe, id, max).unwrap()
}

/// The waits a `NewReadLock` counted, reached through the companion enum.
fn read_waits(lock: &NewZKRecipeRestriction) -> u64 {
    match lock {
        NewZKRecipeRestriction::ReadLock(read) => read.waits(),
        _ => panic!("not a NewReadLock"),
    }
}

/// The nodes a `NewSemaphore` lays out (lease directory, inner lock).
fn semaphore_dirs(lock: &NewZKRecipeRestriction) -> [String; 2] {
    match lock {
        NewZKRecipeRestriction::Semaphore(sem) => {
            assert_eq!(sem.max_leases(), 2);
            [sem.leases_path().to_string(), sem.mutex_path().to_string()]
        }
        _ => panic!("not a NewSemaphore"),
    }
}

/// Waits until `lock`'s queue is exactly `want`.
fn queue_is(lock: &impl Restriction, want: &[&str]) {
    let ok = eventually(LONG, || lock.contenders().unwrap() == want);
    assert!(ok, "queue is {:?}, expected {want:?}", lock.contenders().unwrap());
}

#[test]
fn user_locks_contend_through_the_dispatch() {
    let path = unique("derive-rw");
    let (a, b) = (client(), client());
    let writer = restrict(&a, &path, NewZKRecipe::WriteLock, "writer");
    let reader = Arc::new(restrict(&b, &path, NewZKRecipe::ReadLock, "reader"));
    assert!(matches!(*reader, NewZKRecipeRestriction::ReadLock(_)));
    assert_eq!(writer.path(), path);

    let held = writer.acquire().unwrap();
    assert_eq!(held.status(), GuardStatus::Held);
    assert_eq!(writer.lease_holders().unwrap(), ["writer"]);
    assert!(reader.try_acquire().unwrap().is_none(), "a reader got in beside a writer");
    assert_eq!(read_waits(&reader), 0, "try_acquire never counts as a wait");

    let process_waits = locks::total_read_waits();
    let (tx, rx) = std::sync::mpsc::channel();
    let waiting = {
        let reader = reader.clone();
        std::thread::spawn(move || {
            let guard = reader.acquire_timeout(LONG).unwrap();
            tx.send(()).unwrap();
            guard
        })
    };
    queue_is(&writer, &["writer", "reader"]);
    assert_eq!(reader.lease_holders().unwrap(), ["writer"]);
    assert!(rx.recv_timeout(Duration::from_millis(200)).is_err(), "the reader did not wait");
    held.release().unwrap();
    rx.recv_timeout(LONG).expect("the reader got the lock once the writer left");
    let read_guard = waiting.join().unwrap();
    assert_eq!(read_waits(&reader), 1);
    assert!(locks::total_read_waits() > process_waits);
    assert_eq!(writer.lease_holders().unwrap(), ["reader"]);

    // Readers share: a second reader on a third session gets in at once. (On the writer's
    // session and thread, the writer's acquire below would be an upgrade, refused at once.)
    let other = restrict(&client(), &path, NewZKRecipe::ReadLock, "reader-2");
    let second = other.try_acquire().unwrap().expect("readers share");
    assert_eq!(read_waits(&other), 0);
    assert_eq!(writer.lease_holders().unwrap(), ["reader", "reader-2"]);
    // ... and a writer times out behind them, leaving nothing.
    let err = writer.acquire_timeout(Duration::from_millis(300)).expect_err("readers hold it");
    assert!(err.is_timeout(), "{err}");
    assert_eq!(writer.contenders().unwrap(), ["reader", "reader-2"]);
    drop(second);
    read_guard.release().unwrap();
    assert_no_nodes_left(&a, &[&path]);
}

#[test]
fn user_semaphore_leases_deadline_and_cancel() {
    let path = unique("derive-sem");
    let (a, b) = (client(), client());
    let holder = restrict(&a, &path, NewZKRecipe::Semaphore, "holder");
    let late = Arc::new(restrict(&b, &path, NewZKRecipe::Semaphore, "late"));
    let dirs = semaphore_dirs(&holder);

    let first = holder.acquire().unwrap();
    let second = holder.acquire().unwrap();
    assert!(first.nodes()[0].starts_with(&format!("{}/lease-holder-", dirs[0])), "{first:?}");
    assert_eq!(holder.lease_holders().unwrap(), ["holder", "holder"]);
    assert!(late.try_acquire().unwrap().is_none(), "a third lease of two");

    // A deadline: Ok(None) through acquire_with, a timeout error through acquire_timeout.
    let started = Instant::now();
    let until = zkcluster::Wait::Until(started + Duration::from_millis(300));
    assert!(late.acquire_with(until).unwrap().is_none());
    let err = late.acquire_timeout(Duration::from_millis(300)).expect_err("full");
    assert!(err.is_timeout(), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "deadlines overran: {:?}",
        started.elapsed()
    );

    // Cancel through the companion's handle, while the acquire waits for a lease.
    let cancel = late.cancel_handle();
    let waiter = {
        let late = late.clone();
        std::thread::spawn(move || late.acquire().map(drop))
    };
    // It holds the inner lock while it waits for a lease.
    queue_is(&holder, &["holder", "holder", "late"]);
    cancel.cancel();
    let err = waiter.join().unwrap().expect_err("cancelled");
    assert!(matches!(err, Error::Cancelled { .. }), "{err}");
    assert_no_nodes_left(&a, &[&dirs[1]]);
    assert_eq!(holder.lease_holders().unwrap(), ["holder", "holder"]);

    // A waiter gets the lease a holder releases; the same object works again after a cancel.
    let waiter = {
        let late = late.clone();
        std::thread::spawn(move || late.acquire_timeout(LONG))
    };
    queue_is(&holder, &["holder", "holder", "late"]);
    first.release().unwrap();
    let lease = waiter.join().unwrap().unwrap();
    assert_eq!(holder.lease_holders().unwrap(), ["holder", "late"]);
    drop(lease);
    drop(second);
    assert_no_nodes_left(&a, &[&dirs[0], &dirs[1]]);
}

#[test]
fn user_semaphore_never_exceeds_max_leases() {
    let _ = env_logger::builder().is_test(true).try_init();
    let path = unique("derive-bound");
    let (a, b) = (client(), client());
    let holding = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..6)
        .map(|i| {
            let lock =
                restrict(if i % 2 == 0 { &a } else { &b }, &path, NewZKRecipe::Semaphore, "w");
            let (holding, most) = (holding.clone(), most.clone());
            std::thread::spawn(move || {
                for _ in 0..3 {
                    let lease = lock.acquire_timeout(LONG).unwrap();
                    let now = holding.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    holding.fetch_sub(1, Ordering::SeqCst);
                    lease.release().unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let most = most.load(Ordering::SeqCst);
    assert!((1..=2).contains(&most), "at most {most} leases at once, of 2");
    let dirs = semaphore_dirs(&restrict(&a, &path, NewZKRecipe::Semaphore, "observer"));
    assert_no_nodes_left(&a, &[&dirs[0], &dirs[1]]);
}

#[test]
fn every_variant_from_all_and_from_its_name() {
    let c = client();
    let root = unique("derive-all");
    for &recipe in NewZKRecipe::ALL {
        // As from a configuration file: the name parses back to the variant.
        let parsed: NewZKRecipe = recipe.to_string().parse().unwrap();
        assert_eq!(parsed, recipe);
        let path = format!("{root}/{recipe}");
        let lock = restrict(&c, &path, parsed, "me");
        let guard = lock.try_acquire().unwrap().expect("free");
        assert_eq!(lock.lease_holders().unwrap(), ["me"], "{recipe}");
        assert_eq!(guard.path(), path);
        guard.release().unwrap();
        assert!(lock.lease_holders().unwrap().is_empty(), "{recipe}");
    }
    for &recipe in ByModule::ALL {
        let path = format!("{root}/module-{recipe}");
        let max = (recipe == ByModule::NewSemaphore).then_some(1);
        let lock: ByModuleLock = c.restrict(&path, recipe, "mod", max).unwrap();
        let guard = lock.acquire_timeout(LONG).unwrap();
        assert_eq!(lock.lease_holders().unwrap(), ["mod"], "{recipe}");
        drop(guard);
    }
    for &recipe in ZookeeperRecipe::ALL {
        let parsed: ZookeeperRecipe = recipe.name().parse().unwrap();
        let path = format!("{root}/builtin-{recipe}");
        let max = (parsed == ZookeeperRecipe::Semaphore).then_some(1);
        let lock: ZookeeperRecipeRestriction = c.restrict(&path, parsed, "me", max).unwrap();
        let guard = lock.acquire_timeout(LONG).unwrap();
        assert_eq!(lock.lease_holders().unwrap(), ["me"], "{recipe}");
        drop(guard);
    }
    // Wrong max_leases are refused by the user's types as by the built-in ones.
    for (recipe, max) in [
        (NewZKRecipe::ReadLock, Some(1)),
        (NewZKRecipe::WriteLock, Some(1)),
        (NewZKRecipe::Semaphore, None),
        (NewZKRecipe::Semaphore, Some(0)),
    ] {
        let err = c.restrict(&root, recipe, "me", max).expect_err("bad max_leases");
        assert!(matches!(err, Error::InvalidArgument { .. }), "{recipe} {max:?}: {err}");
    }
    let mut left = Vec::new();
    for name in c.get_children(&root).unwrap() {
        let dir = format!("{root}/{name}");
        match c.get_children(&dir).unwrap().as_slice() {
            [] => {}
            // A semaphore's own layout: check inside.
            kids if kids.iter().all(|k| k == "leases" || k == "mutex") => {
                left.extend(kids.iter().map(|k| format!("{dir}/{k}")))
            }
            kids => panic!("nodes left under {dir}: {kids:?}"),
        }
    }
    let left: Vec<&str> = left.iter().map(String::as_str).collect();
    assert_no_nodes_left(&c, &left);
}

#[test]
fn builtin_recipe_contends_and_cancels_through_its_companion() {
    let path = unique("derive-builtin");
    let (a, b) = (client(), client());
    let recipe: ZookeeperRecipe = "WriteLock".parse().unwrap();
    let first: ZookeeperRecipeRestriction = a.restrict(&path, recipe, "first", None).unwrap();
    let second = Arc::new(b.restrict(&path, recipe, "second", None).unwrap());
    let held = first.acquire().unwrap();
    assert!(second.try_acquire().unwrap().is_none());

    let cancel = second.cancel_handle();
    let waiter = {
        let second = second.clone();
        std::thread::spawn(move || second.acquire().map(drop))
    };
    queue_is(&first, &["first", "second"]);
    cancel.cancel();
    let err = waiter.join().unwrap().expect_err("cancelled");
    assert!(err.is_cancelled(), "{err}");
    queue_is(&first, &["first"]);

    let waiter = {
        let second = second.clone();
        std::thread::spawn(move || second.acquire_timeout(LONG))
    };
    queue_is(&first, &["first", "second"]);
    held.release().unwrap();
    let guard = waiter.join().unwrap().unwrap();
    assert_eq!(first.lease_holders().unwrap(), ["second"]);
    drop(guard);
    assert_no_nodes_left(&a, &[&path]);
}
