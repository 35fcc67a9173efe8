//! Barrier and DoubleBarrier against a real ZooKeeper: release of many waiters, deadlines and
//! cancellation, connection and session loss, no member node left behind, and barriers shared
//! with Kazoo 2.11.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use common::kazoo::Kazoo;
use common::proxy::Proxy;
use common::{assert_no_nodes_left, client, client_of, eventually, expire_session, server, unique};
use zkcluster::{Barrier, DoubleBarrier, Wait};

const LONG: Duration = Duration::from_secs(15);

/// Six sessions wait on a raised barrier; none passes until it is removed, then all do.
#[test]
fn barrier_releases_every_waiter_when_removed() {
    let path = unique("barrier");
    let coordinator = Barrier::new(&client(), &path).unwrap();
    coordinator.create().unwrap();
    assert!(coordinator.is_up().unwrap());
    let (tx, rx) = mpsc::channel();
    let waiters: Vec<_> = (0..6)
        .map(|_| {
            let (path, tx) = (path.clone(), tx.clone());
            std::thread::spawn(move || {
                let barrier = Barrier::new(&client(), &path).unwrap();
                tx.send(barrier.wait_timeout(LONG).unwrap()).unwrap();
            })
        })
        .collect();
    assert!(rx.recv_timeout(Duration::from_millis(500)).is_err(), "passed a raised barrier");
    assert!(coordinator.remove().unwrap());
    for _ in 0..6 {
        assert!(rx.recv_timeout(LONG).unwrap(), "a waiter was not released");
    }
    for w in waiters {
        w.join().unwrap();
    }
    assert!(!coordinator.remove().unwrap(), "removing a lowered barrier says so");
    assert!(coordinator.wait_with(Wait::No).unwrap());
}

/// The deadline ends a wait on a raised barrier with `false`; cancel ends it with Cancelled.
#[test]
fn barrier_wait_has_a_deadline_and_cancels() {
    let path = unique("barrier-deadline");
    let barrier = Arc::new(Barrier::new(&client(), &path).unwrap());
    barrier.create().unwrap();
    assert!(!barrier.wait_with(Wait::No).unwrap());
    let started = Instant::now();
    assert!(!barrier.wait_timeout(Duration::from_millis(300)).unwrap());
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(300) && took < Duration::from_secs(3), "{took:?}");

    let waiting = {
        let barrier = barrier.clone();
        std::thread::spawn(move || barrier.wait())
    };
    std::thread::sleep(Duration::from_millis(200));
    barrier.cancel_handle().cancel();
    let err = waiting.join().unwrap().unwrap_err();
    assert!(err.is_cancelled(), "{err}");
    barrier.remove().unwrap();
}

/// The barrier is removed while the waiter's connection is cut: the waiter notices after the
/// reconnect (Kazoo's wait raises instead).
#[test]
fn barrier_removed_during_a_connection_loss_is_noticed() {
    let path = unique("barrier-cut");
    let proxy = Proxy::start(&server().connect_string());
    let waiter_client = client_of(&proxy.connect_string());
    let coordinator = Barrier::new(&client(), &path).unwrap();
    coordinator.create().unwrap();
    let waiter = {
        let path = path.clone();
        std::thread::spawn(move || Barrier::new(&waiter_client, &path).unwrap().wait_timeout(LONG))
    };
    std::thread::sleep(Duration::from_millis(300));
    proxy.cut();
    assert!(coordinator.remove().unwrap());
    std::thread::sleep(Duration::from_millis(300));
    proxy.restore();
    assert!(waiter.join().unwrap().unwrap(), "the removal was missed");
}

fn member(path: &str, n: usize, id: &str) -> DoubleBarrier {
    DoubleBarrier::new(&client(), path, n, id).unwrap()
}

/// Five members on five sessions: nobody gets out of `enter` before all five called it, nobody
/// out of `leave` before all five called it; nothing is left under the barrier.
#[test]
fn double_barrier_starts_and_finishes_together() {
    const N: usize = 5;
    let path = unique("double");
    let entering = Arc::new(AtomicUsize::new(0));
    let leaving = Arc::new(AtomicUsize::new(0));
    let members: Vec<_> = (0..N)
        .map(|i| {
            let (path, entering, leaving) = (path.clone(), entering.clone(), leaving.clone());
            std::thread::spawn(move || {
                let barrier = member(&path, N, &format!("m{i}"));
                std::thread::sleep(Duration::from_millis(60 * i as u64));
                entering.fetch_add(1, Ordering::SeqCst);
                barrier.enter_timeout(LONG).unwrap();
                assert_eq!(entering.load(Ordering::SeqCst), N, "entered before everyone came");
                std::thread::sleep(Duration::from_millis(60 * (N - i) as u64));
                leaving.fetch_add(1, Ordering::SeqCst);
                barrier.leave_timeout(LONG).unwrap();
                assert_eq!(leaving.load(Ordering::SeqCst), N, "left before everyone left");
            })
        })
        .collect();
    for m in members {
        m.join().unwrap();
    }
    assert_no_nodes_left(&client(), &[&path]);
}

/// Entering with too few members times out, and the member's node is gone; so after a
/// cancelled enter.
#[test]
fn double_barrier_enter_deadline_and_cancel_leave_nothing() {
    let path = unique("double-deadline");
    let a = member(&path, 3, "a");
    let started = Instant::now();
    let err = a.enter_timeout(Duration::from_millis(400)).unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_no_nodes_left(&client(), &[&path]);

    let b = Arc::new(member(&path, 3, "b"));
    let entering = {
        let b = b.clone();
        std::thread::spawn(move || b.enter())
    };
    assert!(eventually(LONG, || b.members().unwrap() == ["b"]));
    b.cancel_handle().cancel();
    assert!(entering.join().unwrap().unwrap_err().is_cancelled());
    assert_no_nodes_left(&client(), &[&path]);
}

/// A member that gives up leaving (deadline) while another is still in deletes its node, so
/// the other leaves at once afterwards; nothing is left.
#[test]
fn double_barrier_leave_deadline_leaves_nothing() {
    let path = unique("double-leave");
    let (a, b) = (Arc::new(member(&path, 2, "a")), member(&path, 2, "b"));
    let entering = {
        let a = a.clone();
        std::thread::spawn(move || a.enter_timeout(LONG))
    };
    b.enter_timeout(LONG).unwrap();
    entering.join().unwrap().unwrap();
    let started = Instant::now();
    let err = a.leave_timeout(Duration::from_millis(300)).unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(eventually(Duration::from_secs(2), || b.members().unwrap() == ["b"]));
    let started = Instant::now();
    b.leave_timeout(LONG).unwrap();
    assert!(started.elapsed() < Duration::from_secs(3), "the last member waited for a leaver");
    assert_no_nodes_left(&client(), &[&path]);
}

/// A member's session expires while it waits in `enter`: it joins again in its new session,
/// and the barrier opens when the last member comes.
#[test]
fn double_barrier_member_rejoins_after_its_session_expires() {
    let path = unique("double-expiry");
    let proxy = Proxy::start(&server().connect_string());
    let victim = client_of(&proxy.connect_string());
    let (tx, rx) = mpsc::channel();
    let spawn = |c: zkcluster::Client, id: &'static str| {
        let (path, tx) = (path.clone(), tx.clone());
        std::thread::spawn(move || {
            let barrier = DoubleBarrier::new(&c, &path, 3, id).unwrap();
            barrier.enter_timeout(LONG).unwrap();
            tx.send(id).unwrap();
            barrier.leave_timeout(LONG).unwrap();
        })
    };
    let threads = [spawn(victim.clone(), "victim"), spawn(client(), "steady")];
    let observer = client();
    let count = || observer.get_children(&path).map(|c| c.len()).unwrap_or(0);
    assert!(eventually(LONG, || count() == 2));
    expire_session(&proxy, &server().connect_string(), &victim);
    // Gone with its session, then back in the new one.
    assert!(eventually(LONG, || count() == 2 && victim.session_id() != 0));
    assert!(rx.recv_timeout(Duration::from_millis(300)).is_err(), "opened with two members");
    let last = member(&path, 3, "last");
    last.enter_timeout(LONG).unwrap();
    for _ in 0..2 {
        rx.recv_timeout(LONG).expect("a member was not released");
    }
    last.leave_timeout(LONG).unwrap();
    for t in threads {
        t.join().unwrap();
    }
    assert_no_nodes_left(&observer, &[&path]);
}

/// Kazoo's Barrier and DoubleBarrier with ours: a barrier raised by either side holds the
/// other back until removed; two Kazoo and two zkcluster members enter and leave together.
#[test]
fn mixed_with_kazoo_barriers_release_both() {
    let hosts = server().connect_string();
    let path = unique("barrier-kazoo");
    let double = unique("double-kazoo");
    let mut peer = Kazoo::spawn(
        &hosts,
        &format!(
            r#"
import threading
b = zk.Barrier('{path}')
say('waits', b.wait(0.3))
say('released', b.wait(20))
b.create()
say('raised')
def one(i):
    d = zk.DoubleBarrier('{double}', 4, identifier='kazoo-%d' % i)
    d.enter()
    say('entered')
    d.leave()
    say('left')
ask()
threads = [threading.Thread(target=one, args=(i,)) for i in range(2)]
for t in threads: t.start()
for t in threads: t.join()
"#
        ),
    );
    let ours = Barrier::new(&client(), &path).unwrap();
    ours.create().unwrap();
    peer.expect("waits False", LONG);
    ours.remove().unwrap();
    peer.expect("released True", LONG);
    peer.expect("raised", LONG);
    assert!(!ours.wait_timeout(Duration::from_millis(200)).unwrap(), "Kazoo's barrier ignored");
    let waiter = {
        let path = path.clone();
        std::thread::spawn(move || Barrier::new(&client(), &path).unwrap().wait_timeout(LONG))
    };
    std::thread::sleep(Duration::from_millis(200));
    ours.remove().unwrap();
    assert!(waiter.join().unwrap().unwrap());

    peer.send("go");
    let entered = Arc::new(AtomicUsize::new(0));
    let members: Vec<_> = (0..2)
        .map(|i| {
            let (double, entered) = (double.clone(), entered.clone());
            std::thread::spawn(move || {
                let barrier = member(&double, 4, &format!("rust-{i}"));
                barrier.enter_timeout(LONG).unwrap();
                entered.fetch_add(1, Ordering::SeqCst);
                barrier.leave_timeout(LONG).unwrap();
            })
        })
        .collect();
    let mut said: Vec<String> = (0..4).map(|_| peer.line(LONG)).collect();
    said.sort();
    assert_eq!(said, ["entered", "entered", "left", "left"]);
    for m in members {
        m.join().unwrap();
    }
    assert_eq!(entered.load(Ordering::SeqCst), 2);
    assert!(peer.finish(LONG).is_empty());
    assert_no_nodes_left(&client(), &[&double]);
}
