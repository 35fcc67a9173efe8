//! NonBlockingLease and MultiNonBlockingLease against a real ZooKeeper: one holder under
//! contention, renewal, expiry by the clock, Kazoo's record format, deadlines, no inner lock
//! node left behind, and leases shared with Kazoo 2.11.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use common::kazoo::Kazoo;
use common::{client, server, unique};
use zkcluster::{MultiNonBlockingLease, NonBlockingLease, Restriction, ZookeeperRecipe};

const HOUR: Duration = Duration::from_secs(3600);

fn two_hours_later() -> SystemTime {
    SystemTime::now() + 2 * HOUR
}

/// Only `lease_holder` may stay under a lease path: the inner lock's nodes are gone.
fn only_the_record_left(path: &str) {
    let observer = client();
    let clean = common::eventually(Duration::from_secs(2), || {
        observer.get_children(path).unwrap() == ["lease_holder"]
    });
    assert!(clean, "left under {path}: {:?}", observer.get_children(path));
}

/// Eight identifiers on eight sessions race for one lease: exactly one gets it; it renews;
/// another gets it only once the holder's end has passed by its clock.
#[test]
fn one_holder_among_eight_then_renewal_and_expiry() {
    let path = unique("lease");
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let path = path.clone();
            std::thread::spawn(move || {
                let lease =
                    NonBlockingLease::new(&client(), &path, HOUR, &format!("host-{i}")).unwrap();
                (i, lease.obtain().unwrap())
            })
        })
        .collect();
    let winners: Vec<usize> = threads
        .into_iter()
        .map(|t| t.join().unwrap())
        .filter(|(_, ok)| *ok)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    let holder = format!("host-{}", winners[0]);
    let c = client();
    let mine = NonBlockingLease::new(&c, &path, HOUR, &holder).unwrap();
    let before = mine.record().unwrap().unwrap();
    assert_eq!(before.holder, holder);
    let end = before.end.duration_since(SystemTime::now()).unwrap();
    assert!(end > HOUR - Duration::from_secs(60) && end <= HOUR, "ends in {end:?}");
    assert!(mine.obtain().unwrap(), "the holder could not renew");

    let other = NonBlockingLease::new(&c, &path, HOUR, "intruder").unwrap();
    assert!(!other.obtain().unwrap());
    // Two hours on (by this member's clock), the lease has ended: it is free to take.
    let later = NonBlockingLease::new(&c, &path, HOUR, "intruder").unwrap().clock(two_hours_later);
    assert!(later.obtain().unwrap());
    assert_eq!(later.record().unwrap().unwrap().holder, "intruder");
    only_the_record_left(&path);
}

/// A multi-lease of three among six identifiers: three get a slot each, all different.
#[test]
fn multi_lease_grants_count_distinct_slots() {
    let path = unique("multi-lease");
    let threads: Vec<_> = (0..6)
        .map(|i| {
            let path = path.clone();
            std::thread::spawn(move || {
                MultiNonBlockingLease::new(&client(), 3, &path, HOUR, &format!("host-{i}"))
                    .unwrap()
                    .obtain()
                    .unwrap()
            })
        })
        .collect();
    let mut slots: Vec<u32> = threads.into_iter().filter_map(|t| t.join().unwrap()).collect();
    slots.sort_unstable();
    assert_eq!(slots, [0, 1, 2]);
    for slot in 0..3 {
        only_the_record_left(&format!("{path}/{slot}"));
    }
}

/// A record of another format version is left alone (not granted, not replaced); a record
/// that is not JSON is an error naming the path; nothing is written either way.
#[test]
fn foreign_records_are_never_replaced() {
    let c = client();
    let path = unique("lease-format");
    c.ensure_path(&path).unwrap();
    let record = format!("{path}/lease_holder");
    c.create_node(&record, r#"{"version": 2, "whatever": true}"#).unwrap();
    let lease = NonBlockingLease::new(&c, &path, HOUR, "a").unwrap().clock(two_hours_later);
    assert!(!lease.obtain().unwrap());
    assert_eq!(c.get_node(&record).unwrap().stat.version, 0);
    c.set_data(&record, "garbage", None).unwrap();
    let err = lease.obtain().unwrap_err();
    assert!(matches!(err, zkcluster::Error::InvalidData { .. }) && err.to_string().contains(&path));
    assert_eq!(c.get_node(&record).unwrap().value, b"garbage");
    only_the_record_left(&path);
}

/// While someone holds the inner lock, `obtain` fails with a timeout near its deadline and
/// leaves no lock node of its own.
#[test]
fn obtain_has_a_deadline_and_leaves_no_lock_node() {
    let c = client();
    let path = unique("lease-deadline");
    let blocker = c.restrict(&path, ZookeeperRecipe::WriteLock, "blocker", None).unwrap();
    let held = blocker.acquire().unwrap();
    let lease = Arc::new(
        NonBlockingLease::new(&client(), &path, HOUR, "a")
            .unwrap()
            .timeout(Duration::from_millis(400)),
    );
    let started = Instant::now();
    let err = lease.obtain().unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(blocker.contenders().unwrap(), ["blocker"], "the lease left its lock node");
    // Cancelled from another thread while it waits for the lock: no lock node either.
    let waiting = {
        let lease = NonBlockingLease::new(&client(), &path, HOUR, "b")
            .unwrap()
            .timeout(Duration::from_secs(20));
        let cancel = lease.cancel_handle();
        let thread = std::thread::spawn(move || lease.obtain());
        assert!(common::eventually(Duration::from_secs(10), || blocker
            .contenders()
            .unwrap()
            .len()
            == 2));
        cancel.cancel();
        thread
    };
    assert!(waiting.join().unwrap().unwrap_err().is_cancelled());
    assert!(
        common::eventually(Duration::from_secs(2), || blocker.contenders().unwrap() == ["blocker"])
    );
    drop(held);
    assert!(lease.obtain().unwrap());
    only_the_record_left(&path);
}

/// Kazoo 2.11's NonBlockingLease and ours on one path: each honours the other's grant, reads
/// its record, and the holder renews across implementations.
#[test]
fn mixed_with_kazoo_one_holder() {
    let hosts = server().connect_string();
    let path = unique("lease-kazoo");
    let multi = unique("multi-lease-kazoo");
    let mut peer = Kazoo::spawn(
        &hosts,
        &format!(
            r#"
import datetime
hour = datetime.timedelta(hours=1)
say('kazoo-got', bool(zk.NonBlockingLease('{path}', hour, identifier='kazoo')))
ask()
say('kazoo-again', bool(zk.NonBlockingLease('{path}', hour, identifier='kazoo')))
say('rust-renews-in-kazoo', bool(zk.NonBlockingLease('{path}', hour, identifier='rust')))
later = lambda: datetime.datetime.utcnow() + datetime.timedelta(hours=2)
say('kazoo-later', bool(zk.NonBlockingLease('{path}', hour, identifier='kazoo', utcnow=later)))
ask()
say('multi', bool(zk.MultiNonBlockingLease(2, '{multi}', hour, identifier='kazoo')))
"#
        ),
    );
    peer.expect("kazoo-got True", Duration::from_secs(30));
    let c = client();
    let ours = NonBlockingLease::new(&c, &path, HOUR, "rust").unwrap();
    assert!(!ours.obtain().unwrap(), "we took Kazoo's lease");
    let record = ours.record().unwrap().unwrap();
    assert_eq!((record.holder.as_str(), record.version), ("kazoo", 1));
    let later = NonBlockingLease::new(&c, &path, HOUR, "rust").unwrap().clock(two_hours_later);
    assert!(later.obtain().unwrap(), "Kazoo's ended lease was not free");
    peer.send("go");
    peer.expect("kazoo-again False", Duration::from_secs(10));
    peer.expect("rust-renews-in-kazoo True", Duration::from_secs(10));
    // Kazoo renewed our grant (same identifier) to end in an hour; two hours on, it is free.
    peer.expect("kazoo-later True", Duration::from_secs(10));
    assert_eq!(ours.record().unwrap().unwrap().holder, "kazoo");

    // A multi-lease of two: we hold both slots, Kazoo gets none.
    let a = MultiNonBlockingLease::new(&c, 2, &multi, HOUR, "rust-a").unwrap();
    let b = MultiNonBlockingLease::new(&c, 2, &multi, HOUR, "rust-b").unwrap();
    assert_eq!((a.obtain().unwrap(), b.obtain().unwrap()), (Some(0), Some(1)));
    peer.send("go");
    peer.expect("multi False", Duration::from_secs(10));
    assert!(peer.finish(Duration::from_secs(10)).is_empty());
    only_the_record_left(&path);
}

/// A lease outlives its holder's session (that is its point): once the holder's client has
/// closed, another identifier still cannot take it before its end.
#[test]
fn a_lease_outlives_its_holders_session() {
    let path = unique("lease-session");
    let holder = client();
    assert!(NonBlockingLease::new(&holder, &path, HOUR, "gone").unwrap().obtain().unwrap());
    holder.close().unwrap();
    let other = NonBlockingLease::new(&client(), &path, HOUR, "other").unwrap();
    assert!(!other.obtain().unwrap(), "the lease ended with its holder's session");
    assert_eq!(other.record().unwrap().unwrap().holder, "gone");
    only_the_record_left(&path);
}
