//! Election against a real ZooKeeper: one leader at a time among many sessions, the latch-style
//! API (is_leader, changes, the Leadership guard), leader session expiry, deadlines and cancel
//! leaving no node, and an election shared with Kazoo 2.11.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use common::kazoo::Kazoo;
use common::proxy::Proxy;
use common::{assert_no_nodes_left, client, client_of, eventually, expire_session, server, unique};
use zkcluster::{Election, GuardStatus, Wait};

const LONG: Duration = Duration::from_secs(15);

/// Eight contenders on eight sessions each `run` once: exactly one leads at any moment, and
/// every one leads once.
#[test]
fn one_leader_at_a_time_among_eight_sessions() {
    let path = unique("election");
    let leading = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::channel();
    let contenders: Vec<_> = (0..8)
        .map(|i| {
            let (path, leading, tx) = (path.clone(), leading.clone(), tx.clone());
            std::thread::spawn(move || {
                let election = Election::new(&client(), &path, &format!("c{i}")).unwrap();
                election
                    .run(|| {
                        assert_eq!(leading.fetch_add(1, Ordering::SeqCst), 0, "two leaders");
                        assert!(election.is_leader());
                        tx.send(i).unwrap();
                        std::thread::sleep(Duration::from_millis(30));
                        leading.fetch_sub(1, Ordering::SeqCst);
                    })
                    .unwrap();
                assert!(!election.is_leader());
            })
        })
        .collect();
    let mut led: Vec<usize> = (0..8).map(|_| rx.recv_timeout(LONG).unwrap()).collect();
    for c in contenders {
        c.join().unwrap();
    }
    led.sort_unstable();
    assert_eq!(led, (0..8).collect::<Vec<_>>());
    assert_no_nodes_left(&client(), &[&path]);
}

/// The latch view: contenders() and leader() in queue order, changes() reports gaining and
/// losing, the Leadership guard is Held, and the next contender leads once it resigns.
#[test]
fn latch_api_reports_leadership_and_hand_over() {
    let path = unique("election-latch");
    let first = Election::new(&client(), &path, "first").unwrap();
    let second = Arc::new(Election::new(&client(), &path, "second").unwrap());
    let changes = first.changes();
    assert!(!first.is_leader());
    let leadership = first.lead_timeout(LONG).unwrap();
    assert!(changes.recv_timeout(LONG).unwrap());
    assert!(first.is_leader());
    assert_eq!(leadership.status(), GuardStatus::Held);
    assert!(leadership.nodes()[0].contains("__lock__"), "{:?}", leadership.nodes());
    assert!(second.lead_with(Wait::No).unwrap().is_none());

    let second_changes = second.changes();
    let waiting = {
        let second = second.clone();
        std::thread::spawn(move || second.lead_timeout(LONG).map(|l| l.is_valid()))
    };
    assert!(eventually(LONG, || first.contenders().unwrap() == ["first", "second"]));
    assert_eq!(first.leader().unwrap().as_deref(), Some("first"));
    assert!(second_changes.recv_timeout(Duration::from_millis(200)).is_err());
    leadership.resign().unwrap();
    assert!(!changes.recv_timeout(LONG).unwrap());
    assert!(!first.is_leader());
    assert!(waiting.join().unwrap().unwrap());
    assert!(second_changes.recv_timeout(LONG).unwrap());
    assert!(!second_changes.recv_timeout(LONG).unwrap(), "dropped: stepped down");
    assert_no_nodes_left(&client(), &[&path]);
}

/// The leader's connection is cut, then its session expires: its Leadership reports
/// Uncertain, then Lost and `lost()` fires, changes()
/// says false, and the waiting contender leads.
#[test]
fn leader_session_expiry_hands_over() {
    let path = unique("election-expiry");
    let proxy = Proxy::start(&server().connect_string());
    let leader_client = client_of(&proxy.connect_string());
    let leader = Election::new(&leader_client, &path, "leader").unwrap();
    let changes = leader.changes();
    let leadership = leader.lead_timeout(LONG).unwrap();
    assert!(changes.recv_timeout(LONG).unwrap());
    let lost = leadership.lost();
    let (tx, rx) = mpsc::channel();
    let next = {
        let path = path.clone();
        std::thread::spawn(move || {
            let election = Election::new(&client(), &path, "next").unwrap();
            election.run(|| tx.send(()).unwrap()).unwrap();
        })
    };
    assert!(eventually(LONG, || leader.contenders().unwrap().len() == 2));
    assert!(rx.recv_timeout(Duration::from_millis(200)).is_err(), "two leaders");
    // A connection loss first: nobody can tell then, so is_leader() says no until it is back.
    proxy.cut();
    assert!(eventually(LONG, || leadership.status() == GuardStatus::Uncertain));
    assert!(!leader.is_leader());
    proxy.restore();
    assert!(eventually(LONG, || leadership.status() == GuardStatus::Held));
    assert!(leader.is_leader());
    assert!(changes.try_recv().is_err(), "a connection loss was reported as a change");
    expire_session(&proxy, &server().connect_string(), &leader_client);
    assert!(lost.recv_timeout(LONG).is_err(), "lost() did not fire");
    assert_eq!(leadership.status(), GuardStatus::Lost);
    assert!(!changes.recv_timeout(LONG).unwrap());
    assert!(!leader.is_leader());
    rx.recv_timeout(LONG).expect("the next contender never led");
    next.join().unwrap();
    assert!(leadership.resign().unwrap_err().is_session_expired());
    assert!(changes.try_recv().is_err(), "a lost leadership was reported twice");
    assert_no_nodes_left(&client(), &[&path]);
}

/// A contender waiting in `run` is cancelled from another thread: run returns Cancelled
/// without running the closure, and its node is gone; a timed-out contender leaves none
/// either. Cancel does not interrupt the leader.
#[test]
fn cancel_and_deadline_leave_no_contender_behind() {
    let path = unique("election-cancel");
    let leader = Election::new(&client(), &path, "leader").unwrap();
    let leadership = leader.lead().unwrap();
    let waiter = Arc::new(Election::new(&client(), &path, "waiter").unwrap());
    let ran = Arc::new(AtomicUsize::new(0));
    let waiting = {
        let (waiter, ran) = (waiter.clone(), ran.clone());
        std::thread::spawn(move || {
            waiter.run(|| {
                ran.fetch_add(1, Ordering::SeqCst);
            })
        })
    };
    assert!(eventually(LONG, || leader.contenders().unwrap() == ["leader", "waiter"]));
    let started = Instant::now();
    waiter.cancel();
    let err = waiting.join().unwrap().unwrap_err();
    assert!(err.is_cancelled(), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    assert!(eventually(Duration::from_secs(2), || leader.contenders().unwrap() == ["leader"]));

    let started = Instant::now();
    let err = waiter.lead_timeout(Duration::from_millis(300)).unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(eventually(Duration::from_secs(2), || leader.contenders().unwrap() == ["leader"]));

    leader.cancel();
    assert!(leadership.is_valid(), "cancel took leadership away");
    drop(leadership);
    assert_no_nodes_left(&client(), &[&path]);
}

/// Kazoo 2.11's Election and ours on one path: exactly one leads at a time, each sees the
/// other in contenders(), and leadership passes both ways. While we lead we keep a marker
/// node; Kazoo's leader function reports whether it saw it (it must not).
#[test]
fn mixed_with_kazoo_elects_exactly_one_leader() {
    let hosts = server().connect_string();
    let path = unique("election-kazoo");
    let marker = format!("{path}-rust-leads");
    let mut peer = Kazoo::spawn(
        &hosts,
        &format!(
            r#"
e = zk.Election('{path}', 'kazoo')
def lead():
    say('kazoo-leads')
    ask()
e.run(lead)
say('kazoo-stepped-down')
ask()
say('contenders', ','.join(e.contenders()))
e.run(lambda: say('kazoo-leads-again', 'alone' if zk.exists('{marker}') is None else 'beside-rust'))
"#
        ),
    );
    peer.expect("kazoo-leads", LONG);
    let c = client();
    let ours = Arc::new(Election::new(&c, &path, "rust").unwrap());
    assert!(ours.lead_with(Wait::No).unwrap().is_none(), "we lead beside Kazoo's leader");
    let (led_tx, led) = mpsc::channel();
    let (release_tx, release) = mpsc::channel::<()>();
    let contender = {
        let (ours, c, marker) = (ours.clone(), c.clone(), marker.clone());
        std::thread::spawn(move || {
            let leadership = ours.lead_timeout(LONG).unwrap();
            c.create(&marker, b"", &zkcluster::CreateOptions::new().ephemeral()).unwrap();
            led_tx.send(()).unwrap();
            release.recv().unwrap();
            c.delete_node(&marker).unwrap();
            drop(leadership);
        })
    };
    assert!(eventually(LONG, || ours.contenders().unwrap() == ["kazoo", "rust"]));
    assert_eq!(ours.leader().unwrap().as_deref(), Some("kazoo"));
    assert!(led.recv_timeout(Duration::from_millis(300)).is_err(), "two leaders");
    peer.send("done");
    peer.expect("kazoo-stepped-down", LONG);
    led.recv_timeout(LONG).expect("we never led after Kazoo stepped down");
    assert!(ours.is_leader());
    peer.send("go");
    peer.expect("contenders rust", LONG);
    // Kazoo queues behind our leader.
    assert!(eventually(LONG, || ours.contenders().unwrap() == ["rust", "kazoo"]));
    std::thread::sleep(Duration::from_millis(200));
    release_tx.send(()).unwrap();
    peer.expect("kazoo-leads-again alone", LONG);
    contender.join().unwrap();
    assert!(!ours.is_leader());
    assert!(peer.finish(LONG).is_empty());
    assert_no_nodes_left(&client(), &[&path]);
}
