//! Counter against a real ZooKeeper: no lost or doubled change under contention from many
//! sessions and threads, Kazoo's and Curator's data formats, deadlines, session expiry, and a
//! counter shared with Kazoo itself.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::kazoo::Kazoo;
use common::proxy::Proxy;
use common::{client, client_of, expire_session, server, unique};
use zkcluster::{Counter, CounterChange};

/// Four sessions, four threads each, all adding 1: the final value is the number of adds, and
/// the post values are exactly 1..=N (every change saw a distinct state).
#[test]
fn concurrent_adds_from_many_sessions_lose_nothing() {
    const CLIENTS: usize = 4;
    const THREADS: usize = 4;
    const ADDS: usize = 25;
    let path = unique("counter-many");
    let clients: Vec<_> = (0..CLIENTS).map(|_| client()).collect();
    let counters: Vec<_> =
        clients.iter().map(|c| Arc::new(Counter::new(c, &path).unwrap())).collect();
    let threads: Vec<_> = (0..CLIENTS * THREADS)
        .map(|i| {
            let counter = counters[i % CLIENTS].clone();
            std::thread::spawn(move || {
                (0..ADDS).map(|_| counter.add(1).unwrap()).collect::<Vec<CounterChange<i64>>>()
            })
        })
        .collect();
    let mut posts: Vec<i64> = Vec::new();
    for t in threads {
        for change in t.join().unwrap() {
            assert_eq!(change.post, change.pre + 1);
            posts.push(change.post);
        }
    }
    posts.sort_unstable();
    let total = (CLIENTS * THREADS * ADDS) as i64;
    assert_eq!(posts, (1..=total).collect::<Vec<_>>(), "a change was lost or doubled");
    assert_eq!(counters[0].value().unwrap(), total);
    assert_eq!(clients[1].get_node(&path).unwrap().value, total.to_string().into_bytes());
}

/// Kazoo's text format: integers as digits, floats as Python's repr; an empty node is the
/// default; the wrong kind of data is refused without writing.
#[test]
fn text_format_is_kazoos() {
    let c = client();
    let path = unique("counter-text");
    let ints = Counter::new(&c, &path).unwrap();
    assert_eq!(ints.value().unwrap(), 0, "a missing counter reads as its default");
    assert_eq!(ints.add(2).unwrap(), CounterChange { pre: 0, post: 2, version: 1 });
    let change = ints.subtract(5).unwrap();
    assert_eq!((change.pre, change.post), (2, -3));
    assert_eq!(c.get_node(&path).unwrap().value, b"-3");

    let fpath = unique("counter-float");
    let floats = Counter::with_default(&c, &fpath, 1.0).unwrap();
    let change = floats.add(2.0).unwrap();
    assert_eq!((change.pre, change.post), (1.0, 3.0));
    assert_eq!(c.get_node(&fpath).unwrap().value, b"3.0");
    floats.add(1e16).unwrap(); // Python: 3.0 + 1e16 == 1.0000000000000004e+16
    assert_eq!(c.get_node(&fpath).unwrap().value, b"1.0000000000000004e+16");
    c.set_data(&fpath, "7", None).unwrap(); // Python's float("7") reads an int text too
    assert_eq!(floats.value().unwrap(), 7.0);

    // An integer counter refuses a float text, and writes nothing.
    c.set_data(&fpath, "7.5", None).unwrap();
    let err = Counter::new(&c, &fpath).unwrap().add(1).unwrap_err();
    assert!(matches!(err, zkcluster::Error::InvalidData { .. }), "{err}");
    assert!(err.to_string().contains(&fpath), "{err}");
    assert_eq!(c.get_node(&fpath).unwrap().value, b"7.5");

    // Overflow is an error, not a wrap.
    c.set_data(&path, i64::MAX.to_string(), None).unwrap();
    let err = ints.add(1).unwrap_err();
    assert!(matches!(err, zkcluster::Error::InvalidArgument { .. }), "{err}");
}

/// Curator's SharedCount format: 4 bytes, big-endian, signed; out of i32 range is refused.
#[test]
fn curator_format_is_four_big_endian_bytes() {
    let c = client();
    let path = unique("counter-curator");
    let shared = Counter::new(&c, &path).unwrap().curator();
    shared.add(258).unwrap();
    assert_eq!(c.get_node(&path).unwrap().value, [0, 0, 1, 2]);
    shared.subtract(259).unwrap();
    assert_eq!(c.get_node(&path).unwrap().value, [0xff, 0xff, 0xff, 0xff]);
    assert_eq!(shared.value().unwrap(), -1);
    c.set_data(&path, i32::MAX.to_be_bytes(), None).unwrap();
    let err = shared.add(1).unwrap_err();
    assert!(err.to_string().contains("4-byte"), "{err}");
    c.set_data(&path, b"12", None).unwrap();
    assert!(matches!(shared.value().unwrap_err(), zkcluster::Error::InvalidData { .. }));
}

/// A change has one deadline that covers waiting for the connection; when the client knows the
/// server cannot be reached, it fails with a timeout in about that time, and nothing is applied.
#[test]
fn a_change_fails_in_time_when_the_server_is_unreachable() {
    let path = unique("counter-deadline");
    let proxy = Proxy::start(&server().connect_string());
    let c = client_of(&proxy.connect_string());
    Counter::new(&c, &path).unwrap().add(1).unwrap();
    let counter = Counter::new(&c, &path).unwrap().timeout(Duration::from_millis(800));
    proxy.cut();
    assert!(common::eventually(Duration::from_secs(10), || !c.state().is_connected()));
    let started = Instant::now();
    let err = counter.add(1).unwrap_err();
    let took = started.elapsed();
    assert!(err.is_timeout() || err.is_connection_loss(), "{err}");
    assert!(took < Duration::from_secs(3), "took {took:?} for an 800 ms deadline");
    proxy.restore();
    let observer = client();
    let value = Counter::new(&observer, &path).unwrap().value().unwrap();
    if err.is_timeout() {
        assert_eq!(value, 1, "a timed-out change was applied");
    }
    // Works again once the server is back.
    let again = counter.timeout(Duration::from_secs(10)).add(1).unwrap();
    assert_eq!(again.post, value + 1);
}

/// A member's session expires while others keep adding: its counter goes on in the new
/// session, and the total is the number of successful adds (plus at most the changes
/// reported as of unknown outcome).
#[test]
fn session_expiry_of_a_member_loses_no_change() {
    let path = unique("counter-expiry");
    let proxy = Proxy::start(&server().connect_string());
    let victim = client_of(&proxy.connect_string());
    let steady = client();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let spawn_adder = |c: zkcluster::Client| {
        let (path, stop) = (path.clone(), stop.clone());
        std::thread::spawn(move || {
            let counter = Counter::new(&c, &path).unwrap();
            let (mut ok, mut unknown) = (0i64, 0i64);
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                match counter.add(1) {
                    Ok(_) => ok += 1,
                    Err(e) if e.is_connection_loss() => unknown += 1,
                    Err(e) if e.is_session_expired() || e.is_timeout() => {}
                    Err(e) => panic!("{e}"),
                }
            }
            (ok, unknown)
        })
    };
    let adders = [spawn_adder(victim.clone()), spawn_adder(steady.clone())];
    std::thread::sleep(Duration::from_millis(300));
    expire_session(&proxy, &server().connect_string(), &victim);
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let (mut ok, mut unknown) = (0, 0);
    for a in adders {
        let (o, u) = a.join().unwrap();
        ok += o;
        unknown += u;
    }
    let value = Counter::new(&steady, &path).unwrap().value().unwrap();
    assert!(ok > 0);
    assert!(
        value >= ok && value <= ok + unknown,
        "value {value}, successful adds {ok}, unknown outcomes {unknown}"
    );
    // The victim's counter works in its new session.
    assert!(Counter::new(&victim, &path).unwrap().add(1).is_ok());
}

/// Kazoo 2.11's Counter (two threads) and ours (four sessions) on one path, at the same time: no increment is lost, and
/// each side reads the other's format (int, float, and Curator's with support_curator).
#[test]
fn mixed_with_kazoo_loses_no_increment() {
    let hosts = server().connect_string();
    let c = client();
    let path = unique("counter-kazoo");
    let mut peer = Kazoo::spawn(
        &hosts,
        &format!(
            r#"
import threading
say('ready')
ask()
def work():
    counter = zk.Counter('{path}')
    for _ in range(25):
        counter += 1
threads = [threading.Thread(target=work) for _ in range(2)]
for t in threads: t.start()
for t in threads: t.join()
say('done')
ask()
say(repr(zk.Counter('{path}-f', default=0.0).value))
say(zk.Counter('{path}-c', support_curator=True).value)
zc = zk.Counter('{path}-c', support_curator=True)
zc += 10
say('added')
"#
        ),
    );
    peer.expect("ready", Duration::from_secs(30));
    peer.send("go");
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let counter = Counter::new(&client(), &path).unwrap();
            std::thread::spawn(move || {
                for _ in 0..25 {
                    counter.add(1).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    peer.expect("done", Duration::from_secs(60));
    assert_eq!(Counter::new(&c, &path).unwrap().value().unwrap(), 150, "an increment was lost");

    Counter::with_default(&c, &format!("{path}-f"), 0.0).unwrap().add(0.1 + 0.2).unwrap();
    let curator = Counter::new(&c, &format!("{path}-c")).unwrap().curator();
    curator.add(-7).unwrap();
    peer.send("go");
    peer.expect("0.30000000000000004", Duration::from_secs(10));
    peer.expect("-7", Duration::from_secs(10));
    peer.expect("added", Duration::from_secs(10));
    assert_eq!(curator.value().unwrap(), 3);
    assert!(peer.finish(Duration::from_secs(10)).is_empty());
}

/// Sixteen threads on one counter object near `i64::MAX`: their changes are written together,
/// yet each overflowing change fails alone and every other one is applied exactly once.
#[test]
fn changes_batched_from_one_object_fail_alone() {
    let c = client();
    let path = unique("counter-batch");
    c.create_node(&path, (i64::MAX - 10).to_string()).unwrap();
    let counter = Arc::new(Counter::new(&c, &path).unwrap());
    let threads: Vec<_> = (0..16)
        .map(|_| {
            let counter = counter.clone();
            std::thread::spawn(move || counter.add(1))
        })
        .collect();
    let (mut posts, mut overflows) = (Vec::new(), 0);
    for t in threads {
        match t.join().unwrap() {
            Ok(change) => posts.push(change.post),
            Err(zkcluster::Error::InvalidArgument { .. }) => overflows += 1,
            Err(e) => panic!("{e}"),
        }
    }
    posts.sort_unstable();
    assert_eq!(posts, ((i64::MAX - 9)..=i64::MAX).collect::<Vec<_>>());
    assert_eq!(overflows, 6);
    assert_eq!(counter.value().unwrap(), i64::MAX);
}

/// Curator 5.4's own SharedCount (Debian's libcurator-recipes-java, run from
/// tests/curator/SharedCountPeer.java) and our Curator-format counter on one path at once:
/// Curator reads what we wrote, and no increment is lost on either side.
#[test]
fn mixed_with_curator_shared_count_loses_no_increment() {
    const JARS: &[&str] = &[
        "curator-framework",
        "curator-client",
        "curator-recipes",
        "zookeeper",
        "zookeeper-jute",
        "guava",
        "slf4j-api",
    ];
    let jars: Vec<String> = JARS.iter().map(|j| format!("/usr/share/java/{j}.jar")).collect();
    if let Some(missing) = jars.iter().find(|j| !std::path::Path::new(j).exists()) {
        panic!(
            "the Curator interop test needs {missing}: apt-get install libcurator-recipes-java \
             (Curator 5.4, with ZooKeeper's jars from the zookeeper package)"
        );
    }
    let c = client();
    let path = unique("counter-curator-peer");
    let ours = Counter::new(&c, &path).unwrap().curator();
    ours.add(5).unwrap();
    let source = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/curator/SharedCountPeer.java");
    let mut java = std::process::Command::new("java")
        .args(["-cp", &jars.join(":"), source, &server().connect_string(), &path, "40"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run java (apt-get install default-jdk-headless): {e}"));
    let stdout = java.stdout.take().unwrap();
    let (tx, lines) = crossbeam_channel::unbounded();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let started = lines.recv_timeout(Duration::from_secs(60));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let counter = Counter::new(&client(), &path).unwrap().curator();
            std::thread::spawn(move || {
                for _ in 0..20 {
                    counter.add(1).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let done = lines.recv_timeout(Duration::from_secs(60));
    let status = java.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut java.stderr.take().unwrap(), &mut stderr).unwrap();
    let started = started.unwrap_or_else(|_| panic!("Curator said nothing; stderr:\n{stderr}"));
    assert!(status.success(), "Curator's peer failed: {status}; stderr:\n{stderr}");
    assert_eq!(started, "started 5", "Curator did not read our 4-byte value");
    assert_eq!(done.as_deref(), Ok("done"));
    assert_eq!(ours.value().unwrap(), 5 + 40 + 40, "an increment was lost");
}

/// A staged change commits with the rest of a fenced transaction or not at all: a change from
/// someone else between the read and the commit fails the whole transaction (bad version),
/// and the counter keeps counting exactly.
#[test]
fn a_staged_change_commits_with_its_transaction_or_not_at_all() {
    use zkcluster::{CreateOptions, Restriction, ZookeeperRecipe};
    let root = unique("counter-staged");
    let (a, b) = (client(), client());
    let counter_path = format!("{root}/pages");
    let pages = Counter::new(&a, &counter_path).unwrap();
    let lock = a.restrict(&format!("{root}/lock"), ZookeeperRecipe::WriteLock, "a", None).unwrap();
    let guard = lock.acquire().unwrap();

    // First use: the node is created empty (Kazoo's default 0), the commit writes "1".
    let staged = pages.stage(1).unwrap();
    assert_eq!((staged.change().pre, staged.change().post), (0, 1));
    let first = format!("{root}/result-1");
    let tx = guard.transaction().create(&first, "r1", &CreateOptions::new());
    staged.add_to(tx).commit().unwrap();
    let node = a.get_node(&counter_path).unwrap();
    assert_eq!(node.value, b"1");
    assert_eq!(node.stat.version, staged.change().version);

    // Someone counts between our read and our commit: nothing of ours is applied.
    let staged = pages.stage(1).unwrap();
    Counter::new(&b, &counter_path).unwrap().add(5).unwrap();
    let second = format!("{root}/result-2");
    let tx = guard.transaction().create(&second, "r2", &CreateOptions::new());
    let err = staged.add_to(tx).commit().unwrap_err();
    assert!(err.is_bad_version(), "{err}");
    assert!(a.exist_node(&second).unwrap().is_none(), "the rest of the transaction applied");
    assert_eq!(a.get_node(&counter_path).unwrap().value, b"6");

    // Staged again: applied on top of the other change, and the counter object still adds.
    let staged = pages.stage(1).unwrap();
    let tx = guard.transaction().create(&second, "r2", &CreateOptions::new());
    staged.add_to(tx).commit().unwrap();
    assert_eq!(staged.change().post, 7);
    assert_eq!(pages.add(1).unwrap().post, 8);

    // A lost lock (its node deleted by someone else) refuses the change with the rest.
    let staged = pages.stage(1).unwrap();
    for node in guard.nodes() {
        assert!(b.delete_node(node).unwrap());
    }
    let err = staged.add_to(guard.transaction()).commit().unwrap_err();
    assert!(err.is_lock_lost(), "{err}");
    assert_eq!(pages.value().unwrap(), 8);
}
