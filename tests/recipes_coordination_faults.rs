//! Election, Counter and the barriers through server faults, each on its own servers: a
//! server restart and the loss of the ensemble's leader. Sessions survive both, so a leader
//! stays the only leader, a waiter is still released, and no counter change is lost.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serial_test::serial;
use zkcluster::testing::{TestingCluster, TestingServer};
use zkcluster::{Barrier, Client, Counter, DoubleBarrier, Election, GuardStatus};

const LONG: Duration = Duration::from_secs(20);

fn connect(hosts: &str) -> Client {
    Client::builder(hosts)
        .session_timeout(Duration::from_secs(10))
        .request_timeout(Duration::from_secs(10))
        .connect()
        .unwrap_or_else(|e| panic!("cannot connect to {hosts}: {e}"))
}

fn wait_held(leadership: &zkcluster::Leadership) -> bool {
    let deadline = std::time::Instant::now() + LONG;
    while std::time::Instant::now() < deadline {
        if leadership.status() == GuardStatus::Held {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// The server restarts under a leader, a waiting contender, a barrier waiter and a double
/// barrier member: afterwards the leader still leads alone, and the waiters are released.
#[test]
#[serial]
fn server_restart_keeps_the_leader_and_releases_waiters() {
    let mut server =
        TestingServer::start().unwrap_or_else(|e| panic!("cannot start ZooKeeper: {e}"));
    let hosts = server.connect_string();
    let (a, b) = (connect(&hosts), connect(&hosts));
    let leader = Election::new(&a, "/restart/election", "a").unwrap();
    let leadership = leader.lead_timeout(LONG).unwrap();
    let lost = leadership.lost();
    let follower = Arc::new(Election::new(&b, "/restart/election", "b").unwrap());
    let following = {
        let follower = follower.clone();
        std::thread::spawn(move || follower.lead_timeout(LONG).map(|l| l.is_valid()))
    };
    let barrier = Barrier::new(&a, "/restart/barrier").unwrap();
    barrier.create().unwrap();
    let waiting = {
        let b = b.clone();
        std::thread::spawn(move || Barrier::new(&b, "/restart/barrier").unwrap().wait_timeout(LONG))
    };
    let member = {
        let b = b.clone();
        std::thread::spawn(move || {
            DoubleBarrier::new(&b, "/restart/double", 2, "b").unwrap().enter_timeout(LONG)
        })
    };
    std::thread::sleep(Duration::from_millis(300));

    server.restart().unwrap();
    assert!(wait_held(&leadership), "leadership did not come back: {:?}", leadership.status());
    assert!(lost.try_recv().is_err_and(|e| e.is_empty()), "leadership was lost over a restart");
    assert!(leader.is_leader());
    assert_eq!(leader.contenders().unwrap(), ["a", "b"]);
    barrier.remove().unwrap();
    assert!(waiting.join().unwrap().unwrap(), "the barrier waiter was not released");
    DoubleBarrier::new(&a, "/restart/double", 2, "a").unwrap().enter_timeout(LONG).unwrap();
    member.join().unwrap().unwrap();
    drop(leadership);
    assert!(following.join().unwrap().unwrap(), "the follower never led");
}

/// The ensemble's leader dies while threads add to a counter and an election has a leader:
/// the session survives the re-election, the leader keeps leading alone, and the counter holds
/// every successful add (at most the adds reported as of unknown outcome more).
#[test]
#[serial]
fn ensemble_leader_loss_keeps_leader_and_counts() {
    let mut cluster =
        TestingCluster::start(3).unwrap_or_else(|e| panic!("cannot start an ensemble: {e}"));
    let hosts = cluster.connect_string();
    let (a, b) = (connect(&hosts), connect(&hosts));
    let leader = Election::new(&a, "/ensemble/election", "a").unwrap();
    let leadership = leader.lead_timeout(LONG).unwrap();
    let lost = leadership.lost();
    let follower = Election::new(&b, "/ensemble/election", "b").unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let adders: Vec<_> = [a.clone(), b.clone()]
        .into_iter()
        .flat_map(|c| [c.clone(), c])
        .map(|c| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let counter = Counter::new(&c, "/ensemble/counter").unwrap();
                let (mut ok, mut unknown) = (0i64, 0i64);
                while !stop.load(Ordering::SeqCst) {
                    match counter.add(1) {
                        Ok(_) => ok += 1,
                        Err(e) if e.is_connection_loss() => unknown += 1,
                        Err(e) if e.is_timeout() => {}
                        Err(e) => panic!("{e}"),
                    }
                }
                (ok, unknown)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let zk_leader = cluster.leader().expect("an ensemble leader");
    cluster.member_mut(zk_leader).kill().unwrap();
    cluster.wait_for_leader(LONG).unwrap();
    assert!(follower.lead_with(zkcluster::Wait::No).unwrap().is_none(), "two leaders");
    assert!(wait_held(&leadership), "leadership did not come back: {:?}", leadership.status());
    assert!(lost.try_recv().is_err_and(|e| e.is_empty()), "leadership lost in the re-election");
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::SeqCst);
    let (mut ok, mut unknown) = (0, 0);
    for t in adders {
        let (o, u) = t.join().unwrap();
        ok += o;
        unknown += u;
    }
    let value = Counter::new(&a, "/ensemble/counter").unwrap().value().unwrap();
    assert!(ok > 0);
    assert!(value >= ok && value <= ok + unknown, "value {value}, ok {ok}, unknown {unknown}");
    assert_eq!(leader.contenders().unwrap(), ["a"]);
}

/// While the client is disconnected, every blocking call keeps its own deadline (not the
/// client's longer request timeout), and leaves nothing behind once the connection is back.
#[test]
#[serial]
fn calls_keep_their_deadline_while_disconnected() {
    use zkcluster::NonBlockingLease;
    let server = TestingServer::start().unwrap_or_else(|e| panic!("cannot start ZooKeeper: {e}"));
    let proxy = common::proxy::Proxy::start(&server.connect_string());
    let c = Client::builder(&proxy.connect_string())
        .session_timeout(Duration::from_secs(20))
        .request_timeout(Duration::from_secs(10))
        .connect()
        .unwrap();
    let barrier = Barrier::new(&c, "/cut/barrier").unwrap();
    barrier.create().unwrap();
    let counter = Counter::new(&c, "/cut/counter").unwrap().timeout(Duration::from_millis(500));
    counter.add(1).unwrap();
    let double = DoubleBarrier::new(&c, "/cut/double", 2, "a").unwrap();
    let lease = NonBlockingLease::new(&c, "/cut/lease", Duration::from_secs(60), "a")
        .unwrap()
        .timeout(Duration::from_millis(500));
    proxy.cut();
    assert!(common::eventually(LONG, || !c.state().is_connected()));
    let short = Duration::from_millis(500);
    let limit = Duration::from_secs(3); // well under the 10 s request timeout
    let timed = |what: &str, call: &dyn Fn() -> bool| {
        let started = Instant::now();
        assert!(call(), "{what} did not end as expected");
        assert!(started.elapsed() < limit, "{what} took {:?}", started.elapsed());
    };
    let election = Election::new(&c, "/cut/election", "a").unwrap();
    timed("election lead", &|| election.lead_timeout(short).unwrap_err().is_timeout());
    timed("barrier wait", &|| !barrier.wait_timeout(short).unwrap());
    timed("counter add", &|| counter.add(1).unwrap_err().is_timeout());
    timed("double barrier enter", &|| double.enter_timeout(short).unwrap_err().is_timeout());
    timed("lease obtain", &|| lease.obtain().unwrap_err().is_timeout());
    proxy.restore();
    assert!(common::eventually(LONG, || c.state().is_connected()));
    assert_eq!(counter.value().unwrap(), 1, "a timed-out add was applied");
    let observer = Client::connect(&server.connect_string()).unwrap();
    for path in ["/cut/double", "/cut/election", "/cut/lease"] {
        assert!(
            common::eventually(Duration::from_secs(2), || {
                observer.get_children(path).map_or(true, |c| c.is_empty())
            }),
            "left under {path}"
        );
    }
}
