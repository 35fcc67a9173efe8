//! Queue on a real server: Kazoo's node layout, priorities, exactly-once takes under
//! contention, blocking gets with deadlines, and Kazoo producing and consuming beside us.

mod common;
mod queue_race;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::kazoo::{self, Kazoo};
use common::{client, test_root};
use queue_race::assert_exactly_once;
use zkcluster::{Queue, Wait};

#[test]
fn items_come_out_by_priority_then_arrival_in_kazoos_layout() {
    let client = client();
    let root = test_root(&client, "queue-order");
    let path = format!("{root}/q");
    let queue = Queue::new(&client, &path).unwrap();
    assert_eq!(queue.try_get().unwrap(), None);
    let first = queue.put(b"a").unwrap();
    queue.put_with_priority(b"urgent", 0).unwrap();
    queue.put(b"b").unwrap();
    queue.put_with_priority(b"late", 999).unwrap();
    assert!(first.starts_with(&format!("{path}/entry-100-")), "{first}");
    assert_eq!(first.len(), format!("{path}/entry-100-").len() + 10);
    assert!(queue.put_with_priority(b"x", 1000).unwrap_err().to_string().contains("priority"));
    assert_eq!(queue.len().unwrap(), 4);

    let taken: Vec<Vec<u8>> = std::iter::from_fn(|| queue.try_get().unwrap()).collect();
    assert_eq!(taken, [&b"urgent"[..], b"a", b"b", b"late"]);
    assert!(queue.is_empty().unwrap());
}

#[test]
fn put_all_is_pipelined_and_keeps_order() {
    let client = client();
    let root = test_root(&client, "queue-put-all");
    let queue = Queue::new(&client, &format!("{root}/q")).unwrap();
    let items: Vec<String> = (0..500).map(|i| format!("item-{i:04}")).collect();
    let paths = queue.put_all(&items).unwrap();
    assert_eq!(paths.len(), 500);
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted, "sequence numbers follow the order of the batch");
    let taken: Vec<String> = std::iter::from_fn(|| queue.try_get().unwrap())
        .map(|v| String::from_utf8(v).unwrap())
        .collect();
    assert_eq!(taken, items);
}

#[test]
fn a_blocking_get_wakes_for_a_put_and_times_out_within_its_deadline() {
    let client = client();
    let root = test_root(&client, "queue-block");
    let path = format!("{root}/q");
    let queue = Queue::new(&client, &path).unwrap();

    let started = Instant::now();
    assert_eq!(queue.get_timeout(Duration::from_millis(300)).unwrap(), None);
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(300) && waited < Duration::from_secs(3), "{waited:?}");

    let producer = common::client();
    let p = path.clone();
    let put = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        Queue::new(&producer, &p).unwrap().put(b"wake").unwrap();
    });
    let got = queue.get_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(got.as_deref(), Some(&b"wake"[..]));
    put.join().unwrap();

    // Waiting again and again on an idle queue keeps at most one watch.
    for _ in 0..10 {
        assert_eq!(queue.get_timeout(Duration::from_millis(20)).unwrap(), None);
    }
    assert!(client.watch_count() <= 1, "{} watches", client.watch_count());

    // A blocked get is cancelled from another thread.
    let handle = queue.cancel_handle();
    let cancel = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        handle.cancel();
    });
    assert!(queue.get_with(Wait::Forever).unwrap_err().is_cancelled());
    cancel.join().unwrap();
}

/// Takes until the queue stays empty for a moment.
fn drain(queue: &Queue, into: &Mutex<Vec<String>>) {
    while let Some(item) = queue.get_timeout(Duration::from_millis(500)).unwrap() {
        into.lock().unwrap().push(String::from_utf8(item).unwrap());
    }
}

fn drain_path(client: &zkcluster::Client, path: &str, into: &Mutex<Vec<String>>) {
    drain(&Queue::new(client, path).unwrap(), into);
}

#[test]
fn many_consumers_take_each_item_exactly_once() {
    let admin = client();
    let root = test_root(&admin, "queue-contention");
    let path = format!("{root}/q");
    let items: HashSet<String> = (0..400).map(|i| format!("job-{i}")).collect();
    Queue::new(&admin, &path).unwrap().put_all(&items).unwrap();

    // Two threads sharing one queue object, beside four consumers with a client each.
    let shared_client = client();
    let shared = Arc::new(Queue::new(&shared_client, &path).unwrap());
    let taken = Arc::new(Mutex::new(Vec::new()));
    let pair: Vec<_> = (0..2)
        .map(|_| {
            let (taken, shared) = (taken.clone(), shared.clone());
            std::thread::spawn(move || drain(&shared, &taken))
        })
        .collect();
    let mut all = queue_race::consumers(4, &path, drain_path);
    for t in pair {
        t.join().unwrap();
    }
    all.extend(taken.lock().unwrap().iter().cloned());
    assert_exactly_once(&all, &items);
}

const KAZOO_CONSUMER: &str = r#"
from kazoo.recipe.queue import Queue
q = Queue(zk, sys.argv[2])
say('ready')
ask()
idle = 0
while idle < 10:
    item = q.get()
    if item is None:
        idle += 1
        time.sleep(0.05)
        continue
    idle = 0
    say('took', item.decode())
say('done')
"#;

#[test]
fn kazoo_and_rust_share_one_queue_both_ways() {
    let admin = client();
    let root = test_root(&admin, "queue-kazoo");
    let hosts = common::server().connect_string();

    // Kazoo produces with priorities; we see its layout and order.
    let path = format!("{root}/from-kazoo");
    let said = kazoo::run(
        &hosts,
        &format!(
            "from kazoo.recipe.queue import Queue\nq = Queue(zk, '{path}')\n\
             q.put(b'k-a')\nq.put(b'k-urgent', priority=1)\nq.put(b'k-b')\nsay(len(q))"
        ),
        Duration::from_secs(30),
    );
    assert_eq!(said, ["3"]);
    let queue = Queue::new(&admin, &path).unwrap();
    let taken: Vec<Vec<u8>> = std::iter::from_fn(|| queue.try_get().unwrap()).collect();
    assert_eq!(taken, [&b"k-urgent"[..], b"k-a", b"k-b"]);

    // We produce; a Kazoo consumer and two of ours race: every item exactly once, and Kazoo
    // reads our priorities.
    let path = format!("{root}/race");
    let items: HashSet<String> = (0..300).map(|i| format!("r-{i}")).collect();
    let script = KAZOO_CONSUMER.replace("sys.argv[2]", &format!("'{path}'"));
    let mut peer = Kazoo::spawn(&hosts, &script);
    peer.expect("ready", Duration::from_secs(30));
    let producer = Queue::new(&admin, &path).unwrap();
    producer.put_with_priority(b"first", 0).unwrap();
    producer.put_all(&items).unwrap();
    let (mut all, kazoo_took) = queue_race::race_with_kazoo(peer, 2, &path, drain_path);
    all.extend(kazoo_took);
    let mut expected = items;
    expected.insert("first".into());
    assert_exactly_once(&all, &expected);
}
