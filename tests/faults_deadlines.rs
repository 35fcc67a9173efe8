//! Every deadline kept under every fault: with the server stopped and with the server frozen,
//! each blocking call, `try_acquire`, `acquire_timeout`, `cancel()`, the `*_async` calls and
//! `close()` return within their deadline. Each test prints the worst overrun it saw
//! (`FIGURE`); the assertions allow a loaded machine some slack (the target is 50 ms).
//! Each test has its own server and runs alone (`#[serial]`).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serial_test::serial;
use zkcluster::testing::TestingServer;
use zkcluster::{Client, Restriction, SessionState, ZookeeperRecipe, ZookeeperRecipeRestriction};

/// What a loaded 2-core CI machine may add to a deadline (the target is 50 ms).
const SLACK: Duration = Duration::from_millis(400);

fn own_server() -> TestingServer {
    TestingServer::start().unwrap_or_else(|e| panic!("cannot start ZooKeeper: {e}"))
}

fn connect(connect_string: &str, request: Duration) -> Client {
    Client::builder(connect_string)
        .session_timeout(Duration::from_secs(20))
        .request_timeout(request)
        .connect_timeout(Duration::from_secs(10))
        .connect()
        .unwrap_or_else(|e| panic!("connect {connect_string}: {e}"))
}

/// Records how far past its deadline each measured call returned.
#[derive(Default)]
struct Overruns(Vec<(&'static str, Duration)>);

impl Overruns {
    /// Runs `f`, which should return within `limit`; records and returns the overrun.
    fn measure<T>(&mut self, what: &'static str, limit: Duration, f: impl FnOnce() -> T) -> T {
        let started = Instant::now();
        let out = f();
        self.record(what, limit, started.elapsed());
        out
    }

    /// Records a call measured elsewhere.
    fn record(&mut self, what: &'static str, limit: Duration, took: Duration) {
        let over = took.saturating_sub(limit);
        eprintln!("{what}: {took:?} (limit {limit:?}, over by {over:?})");
        self.0.push((what, over));
        assert!(over <= SLACK, "{what} took {took:?}, its deadline was {limit:?}");
    }

    fn report(&self, fault: &str) {
        let (what, worst) =
            self.0.iter().max_by_key(|o| o.1).copied().unwrap_or(("-", Duration::ZERO));
        eprintln!("FIGURE worst overrun with the server {fault}: {worst:?} ({what})");
    }
}

fn write_lock(client: &Client, path: &str, id: &str) -> ZookeeperRecipeRestriction {
    client.restrict(path, ZookeeperRecipe::WriteLock, id, None).unwrap()
}

fn semaphore(client: &Client, path: &str, id: &str, max: u32) -> ZookeeperRecipeRestriction {
    client.restrict(path, ZookeeperRecipe::Semaphore, id, Some(max)).unwrap()
}

fn wait_state(client: &Client, limit: Duration, want: impl Fn(SessionState) -> bool) {
    let deadline = Instant::now() + limit;
    while !want(client.state()) {
        assert!(Instant::now() < deadline, "state stayed {:?}", client.state());
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Defect 1: with the server stopped, nothing waits for a reconnect past its own deadline.
#[test]
#[serial]
fn stopped_server_every_call_keeps_its_deadline() {
    let mut server = own_server();
    let request_timeout = Duration::from_secs(6);
    let client = Arc::new(connect(&server.connect_string(), request_timeout));
    client.create_node("/kept", "x").unwrap();
    let lock = write_lock(&client, "/locks/stopped", "me");
    let sem = semaphore(&client, "/sems/stopped", "me", 2);
    drop(lock.acquire().unwrap());
    drop(sem.acquire().unwrap());
    server.stop().unwrap();
    wait_state(&client, Duration::from_secs(10), |s| s == SessionState::Suspended);

    let mut o = Overruns::default();
    let zero = Duration::ZERO;
    let pending = o.measure("get_node_async (the call)", zero, || client.get_node_async("/kept"));
    let err = o.measure("wait_timeout(100ms)", Duration::from_millis(100), || {
        pending.wait_timeout(Duration::from_millis(100)).unwrap_err()
    });
    assert!(err.is_timeout(), "{err}");
    let err = o.measure("try_acquire (lock)", zero, || lock.try_acquire().unwrap_err());
    assert!(err.is_connection_loss(), "{err}");
    let err = o.measure("try_acquire (semaphore)", zero, || sem.try_acquire().unwrap_err());
    assert!(err.is_connection_loss(), "{err}");
    for limit in [Duration::from_millis(300), Duration::from_secs(1)] {
        let err =
            o.measure("acquire_timeout (lock)", limit, || lock.acquire_timeout(limit).unwrap_err());
        assert!(err.is_timeout(), "{err}");
        let zkcluster::Error::Timeout { after, .. } = err else { unreachable!() };
        assert!(after >= limit && after <= limit + SLACK, "the error says {after:?}");
    }
    let limit = Duration::from_millis(300);
    let err =
        o.measure("acquire_timeout (semaphore)", limit, || sem.acquire_timeout(limit).unwrap_err());
    assert!(err.is_timeout(), "{err}");

    // cancel() takes effect at once on an acquire waiting for the connection.
    let blocked = Arc::new(write_lock(&client, "/locks/stopped", "blocked"));
    let cancel = blocked.cancel_handle();
    let waiter = {
        let blocked = blocked.clone();
        std::thread::spawn(move || blocked.acquire().map(drop))
    };
    std::thread::sleep(Duration::from_millis(300));
    let cancelled_at = Instant::now();
    cancel.cancel();
    let err = waiter.join().unwrap().unwrap_err();
    o.record(
        "cancel() of an acquire waiting for the connection",
        Duration::ZERO,
        cancelled_at.elapsed(),
    );
    assert!(err.is_cancelled(), "{err}");

    // A call made while down waits queued for the next connection and then goes through.
    let queued = client.get_node_async("/kept");
    server.restart().unwrap();
    assert_eq!(queued.wait().expect("the queued call after the restart").value, b"x");
    o.measure("close()", Duration::from_secs(2), || client.close().unwrap());
    o.report("stopped");
}

/// Defect 2: a frozen server stretches no deadline: not an acquire's (whose give-up deletes its
/// node), not `cancel()`, not a call's.
#[test]
#[serial]
fn frozen_server_stretches_no_deadline() {
    let server = own_server();
    let request_timeout = Duration::from_secs(6);
    let holder = connect(&server.connect_string(), request_timeout);
    let client = Arc::new(connect(&server.connect_string(), request_timeout));
    let _held = write_lock(&holder, "/locks/frozen", "holder").acquire().unwrap();
    let mut o = Overruns::default();

    // Two acquires wait behind the holder; the server freezes before the first one's deadline,
    // so its give-up (deleting its node) meets a frozen server; the second one is cancelled.
    let limit = Duration::from_millis(1500);
    let timed = {
        let client = client.clone();
        std::thread::spawn(move || {
            let lock = write_lock(&client, "/locks/frozen", "timed");
            let started = Instant::now();
            let err = lock.acquire_timeout(limit).unwrap_err();
            (started.elapsed(), err)
        })
    };
    let lock = Arc::new(write_lock(&client, "/locks/frozen", "cancelled"));
    let cancel = lock.cancel_handle();
    let forever = {
        let lock = lock.clone();
        std::thread::spawn(move || lock.acquire().map(drop))
    };
    std::thread::sleep(Duration::from_millis(1000));
    server.freeze().unwrap();
    let (took, err) = timed.join().unwrap();
    assert!(err.is_timeout(), "{err}");
    o.record("acquire_timeout(1.5s), frozen at 1s", limit, took);
    let cancelled_at = Instant::now();
    cancel.cancel();
    let err = forever.join().unwrap().unwrap_err();
    assert!(err.is_cancelled(), "{err}");
    o.record("cancel() with the server frozen", Duration::ZERO, cancelled_at.elapsed());

    let limit = Duration::from_millis(200);
    let pending =
        o.measure("get_node_async (the call)", Duration::ZERO, || client.get_node_async("/"));
    let err = o.measure("wait_timeout(200ms)", limit, || pending.wait_timeout(limit).unwrap_err());
    assert!(err.is_timeout(), "{err}");
    let late = write_lock(&client, "/locks/frozen", "late");
    let limit = Duration::from_millis(500);
    let err = o.measure("acquire_timeout(500ms) (lock)", limit, || {
        late.acquire_timeout(limit).unwrap_err()
    });
    assert!(err.is_timeout(), "{err}");
    let sem = semaphore(&client, "/sems/frozen", "me", 1);
    let err = o.measure("acquire_timeout(500ms) (semaphore)", limit, || {
        sem.acquire_timeout(limit).unwrap_err()
    });
    assert!(err.is_timeout(), "{err}");
    o.measure("close()", Duration::from_secs(2), || client.close().unwrap());
    server.thaw().unwrap();
    o.report("frozen");
}

/// Defect 7: watch reads that gave up leave no watch behind (none registered when their late
/// replies arrive, none re-registered after a reconnect).
#[test]
#[serial]
fn timed_out_watch_reads_leave_no_watches() {
    let server = own_server();
    let client = connect(&server.connect_string(), Duration::from_secs(5));
    client.create_node("/w", "x").unwrap();
    server.freeze().unwrap();
    for _ in 0..200 {
        let err =
            client.get_node_watch_async("/w").wait_timeout(Duration::from_millis(1)).unwrap_err();
        assert!(err.is_timeout(), "{err}");
    }
    server.thaw().unwrap();
    // The late replies come in now; a call after them proves they were read.
    client.get_node("/w").unwrap();
    assert_eq!(client.watch_count(), 0, "timed-out watch reads left watches");
}

/// Defect 8: `Duration::MAX` timeouts mean "no deadline", not a panic.
#[test]
#[serial]
fn duration_max_timeouts_do_not_panic() {
    let server = own_server();
    let client = Client::builder(&server.connect_string())
        .request_timeout(Duration::MAX)
        .connect_timeout(Duration::MAX)
        .connect()
        .expect("connect with Duration::MAX timeouts");
    client.create_node("/max", "x").unwrap();
    assert_eq!(client.get_node("/max").unwrap().value, b"x");
    let lock = write_lock(&client, "/locks/max", "me");
    drop(lock.acquire_timeout(Duration::MAX).unwrap());
    client.close().unwrap();
}

/// Threads of this process whose name starts with `prefix` (names are cut to 15 bytes).
fn threads_named(prefix: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim_end().starts_with(prefix))
        .count()
}

/// Give-ups that cannot delete their node in time hand it to one cleanup worker per client
/// (not a thread each), which deletes it once the server is back and ends with the client.
#[test]
#[serial]
fn one_cleanup_worker_per_client_finishes_the_give_ups() {
    let mut server = own_server();
    let client = connect(&server.connect_string(), Duration::from_secs(5));
    let holder = connect(&server.connect_string(), Duration::from_secs(5));
    let _held = write_lock(&holder, "/locks/cleanup", "holder").acquire().unwrap();
    server.freeze().unwrap();
    let before = threads_named("zkcluster-clean");
    let waiters: Vec<_> = (0..10)
        .map(|i| {
            let client = client.clone();
            std::thread::spawn(move || {
                let lock = write_lock(&client, "/locks/cleanup", &format!("w{i}"));
                lock.acquire_timeout(Duration::from_millis(300)).unwrap_err()
            })
        })
        .collect();
    for w in waiters {
        assert!(w.join().unwrap().is_timeout());
    }
    let workers = threads_named("zkcluster-clean") - before;
    assert!(workers <= 1, "{workers} cleanup threads for one client");
    server.thaw().unwrap();
    let clean = common::eventually(Duration::from_secs(10), || {
        client.get_children("/locks/cleanup").map(|c| c.len() == 1).unwrap_or(false)
    });
    assert!(clean, "left: {:?}", client.get_children("/locks/cleanup"));
    client.close().unwrap();
    let ended =
        common::eventually(Duration::from_secs(3), || threads_named("zkcluster-clean") == before);
    assert!(ended, "the cleanup worker outlived its client");
    server.stop().unwrap();
}
