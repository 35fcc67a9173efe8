//! Session-layer regressions against the shared real server: the request size rule (a request
//! over the server's packet limit is refused before it is sent, without touching the
//! connection), the identity of a resumed session, the send-time bookkeeping of watches.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::proxy::Proxy;
use common::{client, client_of, server, unique};
use zkcluster::{Client, CreateOptions, Error, Restriction, SessionEvent, ZookeeperRecipe};

const LONG: Duration = Duration::from_secs(10);

fn too_large(e: &Error) -> (&'static str, &str, usize, usize) {
    match e {
        Error::RequestTooLarge { op, path, size, limit } => (op, path.as_str(), *size, *limit),
        other => panic!("expected RequestTooLarge, got {other:?}"),
    }
}

/// Defect 4: a transaction with two 600-700 KiB writes, and a long path with a maximum-size
/// value, are refused at once with a non-retryable error naming the operation, the path and
/// the sizes; nothing is sent, so the connection (and a bystander call) is untouched.
#[test]
fn requests_over_the_packet_limit_are_refused_unsent() {
    let client = client();
    let events = client.session_events();
    let root = common::test_root(&client, "too-large");
    let bystander = {
        let client = client.clone();
        let root = root.clone();
        std::thread::spawn(move || {
            let started = Instant::now();
            while started.elapsed() < Duration::from_millis(500) {
                client.get_children(&root).expect("a bystander call failed");
            }
        })
    };
    let (a, b) = (format!("{root}/a"), format!("{root}/b"));
    let err = client
        .transaction()
        .create(&a, vec![1u8; 600 * 1024], &CreateOptions::new())
        .create(&b, vec![2u8; 700 * 1024], &CreateOptions::new())
        .commit()
        .unwrap_err();
    let (op, path, size, limit) = too_large(&err);
    assert_eq!((op, path, limit), ("multi", a.as_str(), 0xfffff));
    assert!(size > 1300 * 1024, "{err}");
    assert!(!err.is_retryable(), "retrying cannot help: {err}");
    assert!(err.to_string().contains(&a) && err.to_string().contains("jute.maxbuffer"), "{err}");

    let long = format!("{root}/{}", "p".repeat(2_500));
    let err =
        client.create(&long, vec![0u8; 1024 * 1024 - 1024], &CreateOptions::new()).unwrap_err();
    let (op, path, size, limit) = too_large(&err);
    assert_eq!((op, path, limit), ("create", long.as_str(), 0xfffff));
    assert!(size > limit);

    bystander.join().unwrap();
    assert!(client.exist_node(&a).unwrap().is_none(), "part of the transaction was applied");
    assert!(events.try_recv().is_err(), "the connection was disturbed");

    // The limit is the builder's to set.
    let strict =
        Client::builder(&server().connect_string()).max_request_size(2_000).connect().unwrap();
    let err =
        strict.create(&format!("{root}/c"), vec![0u8; 3_000], &CreateOptions::new()).unwrap_err();
    assert_eq!(too_large(&err).3, 2_000);
    strict.create(&format!("{root}/c"), vec![0u8; 1_000], &CreateOptions::new()).unwrap();
    client.delete_recursive(&root).unwrap();
}

/// A session to resume, whose first client is cut off for good (so it cannot win it back).
fn donated_session(donor_proxy: &Proxy) -> (Client, i64, Vec<u8>) {
    let donor = client_of(&donor_proxy.connect_string());
    let (id, passwd) = donor.session_credentials();
    donor_proxy.cut();
    (donor, id, passwd)
}

/// Defect 5: a client built with `session_credentials` knows its session's identity: a lock
/// create whose reply is lost with the connection is adopted (not duplicated, which would
/// leave the acquire waiting behind its own orphan).
#[test]
fn a_resumed_session_adopts_its_lost_create() {
    let path = unique("resumed-adopt");
    let donor_proxy = Proxy::start(&server().connect_string());
    let (_donor, id, passwd) = donated_session(&donor_proxy);
    let proxy = Arc::new(Proxy::start(&server().connect_string()));
    let holder = Client::builder(&proxy.connect_string())
        .session_timeout(Duration::from_secs(6))
        .request_timeout(Duration::from_secs(5))
        .session_credentials(id, passwd)
        .connect()
        .unwrap();
    assert_eq!(holder.session_id(), id);
    let observer = client();
    let lock = holder.restrict(&path, ZookeeperRecipe::WriteLock, "holder", None).unwrap();
    lock.acquire().unwrap().release().unwrap();
    let events = holder.session_events();
    let restorer = {
        let proxy = proxy.clone();
        std::thread::spawn(move || {
            while let Ok(event) = events.recv_timeout(LONG) {
                if matches!(event, SessionEvent::Suspended { .. }) {
                    proxy.restore();
                    return;
                }
            }
            panic!("the connection never broke");
        })
    };
    proxy.lose_next_reply();
    let guard = lock.acquire_timeout(LONG).expect("the acquire adopts its node");
    restorer.join().unwrap();
    let children = observer.get_children(&path).unwrap();
    assert_eq!(children.len(), 1, "a second node for the retry: {children:?}");
    assert_eq!(observer.exist_node(&guard.nodes()[0]).unwrap().unwrap().ephemeral_owner, id);
    guard.release().unwrap();
}

/// Defect 5: a call made in a resumed session never runs in the next one: an ephemeral create
/// queued while disconnected fails with SessionExpired when the session is lost meanwhile.
#[test]
fn a_call_of_a_resumed_session_never_runs_in_the_next() {
    let path = unique("resumed-expired");
    let donor_proxy = Proxy::start(&server().connect_string());
    let (_donor, id, passwd) = donated_session(&donor_proxy);
    let proxy = Proxy::start(&server().connect_string());
    let holder = Client::builder(&proxy.connect_string())
        .session_timeout(Duration::from_secs(6))
        .request_timeout(Duration::from_secs(8))
        .session_credentials(id, passwd.clone())
        .connect()
        .unwrap();
    let events = holder.session_events();
    proxy.cut();
    while !matches!(events.recv_timeout(LONG), Ok(SessionEvent::Suspended { .. })) {}
    let create = holder.create_async(&path, "x", &CreateOptions::new().ephemeral());
    common::close_session_raw(&server().connect_string(), id, &passwd);
    proxy.restore();
    let err = create.wait().unwrap_err();
    assert!(err.is_session_expired(), "{err}");
    assert_ne!(holder.session_id(), id);
    assert!(client().exist_node(&path).unwrap().is_none(), "it ran in the next session");
}

/// Defect 11: dropping a persistent watch while a one-shot watch on the same path is still
/// on its way must not remove that one on the server.
#[test]
fn dropping_a_persistent_watch_keeps_a_one_shot_watch_in_flight() {
    let client = client();
    let path = unique("persistent-drop");
    client.create_node(&path, "1").unwrap();
    for _ in 0..20 {
        let persistent = client.watch_persistent(&path).unwrap();
        let one_shot = client.get_node_watch_async(&path);
        drop(persistent);
        let (_, fired) = one_shot.wait().unwrap();
        client.set_value_to_node(&path, "2").unwrap();
        let event = fired.recv_timeout(LONG).expect("the one-shot watch was removed");
        assert_eq!(event.kind, zkcluster::WatchEventKind::NodeDataChanged);
    }
}

/// Defect 10: on a 3.8 server a one-shot data watch on the path of a persistent watch turns
/// that one into a one-shot; the client sets it again once the one-shot fired, so the
/// persistent watch keeps reporting.
#[test]
fn a_persistent_watch_outlives_a_one_shot_watch_on_its_path() {
    let (client, other) = (client(), client());
    let path = unique("persistent-and-one-shot");
    client.create_node(&path, "0").unwrap();
    let persistent = client.watch_persistent(&path).unwrap();
    let (_, one_shot) = client.get_node_watch(&path).unwrap();
    other.set_value_to_node(&path, "1").unwrap();
    assert_eq!(
        one_shot.recv_timeout(LONG).unwrap().kind,
        zkcluster::WatchEventKind::NodeDataChanged
    );
    assert_eq!(
        persistent.recv_timeout(LONG).unwrap().kind,
        zkcluster::WatchEventKind::NodeDataChanged
    );
    // The re-add is queued behind the event; a round trip makes sure it was applied.
    client.sync("/").unwrap();
    for value in ["2", "3"] {
        other.set_value_to_node(&path, value).unwrap();
        let event = persistent.recv_timeout(LONG).expect("the persistent watch stopped firing");
        assert_eq!(event.kind, zkcluster::WatchEventKind::NodeDataChanged);
    }
}

/// Defect 11: a watch stream whose reads keep failing reports the failure, but does not pile
/// up a new error every retry while nobody takes them. (The stream re-reads after its session
/// is lost; by then the node's ACL no longer lets it read.)
#[test]
fn a_failing_watch_stream_does_not_pile_up_errors() {
    let owner = client();
    let path = unique("unreadable");
    owner.add_auth("digest", b"owner:secret").unwrap();
    owner.create_node(&path, "x").unwrap();
    let proxy = Proxy::start(&server().connect_string());
    let stranger = client_of(&proxy.connect_string());
    let watch = stranger.watch_data(&path).unwrap();
    assert_eq!(watch.recv_timeout(LONG).unwrap().unwrap().unwrap().value, b"x");
    owner.set_acl(&path, &zkcluster::Acl::creator_all(), None).unwrap();
    common::expire_session(&proxy, &server().connect_string(), &stranger);
    std::thread::sleep(Duration::from_millis(1500));
    let queued: Vec<_> = watch.receiver().try_iter().collect();
    assert!(queued.len() <= 2, "{} reports queued in 1.5 s: {queued:?}", queued.len());
    let last = match queued.last() {
        Some(Err(e)) => e.is_no_auth(),
        _ => false,
    };
    let next = watch.recv_timeout(LONG);
    assert!(last || matches!(&next, Ok(Err(e)) if e.is_no_auth()), "{queued:?} then {next:?}");
    owner.delete_node(&path).unwrap();
}

/// `Client::retry` retries what is retryable (here: calls that time out while the network is
/// cut, until it is back) and returns anything else at once.
#[test]
fn retry_policy_retries_only_what_is_retryable() {
    let proxy = Arc::new(Proxy::start(&server().connect_string()));
    let client = Client::builder(&proxy.connect_string())
        .session_timeout(Duration::from_secs(10))
        .request_timeout(Duration::from_millis(300))
        .connect()
        .unwrap();
    let path = unique("retry");
    client.create_node(&path, "v").unwrap();
    let policy = zkcluster::RetryPolicy::new()
        .max_tries(50)
        .backoff(Duration::from_millis(20), Duration::from_millis(100))
        .deadline(Duration::from_secs(10));
    proxy.cut();
    let restorer = {
        let proxy = proxy.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(800));
            proxy.restore();
        })
    };
    let mut tries = 0;
    let node = client
        .retry(&policy, |c| {
            tries += 1;
            c.get_node(&path)
        })
        .expect("retried until the network was back");
    restorer.join().unwrap();
    assert_eq!(node.value, b"v");
    assert!(tries > 1, "nothing was retried");

    let mut tries = 0;
    let err = client
        .retry(&policy, |c| {
            tries += 1;
            c.get_node(&format!("{path}/missing"))
        })
        .unwrap_err();
    assert!(err.is_no_node() && tries == 1, "{err} after {tries} tries");

    // The overall deadline ends the loop even with tries left.
    proxy.cut();
    let started = Instant::now();
    let short = policy.clone().deadline(Duration::from_millis(700));
    let err = client.retry(&short, |c| c.get_node(&path)).unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(started.elapsed() < Duration::from_millis(700 + 300 + 400), "{:?}", started.elapsed());
    proxy.restore();
}

/// A call made after the loss of the session was announced (while the client opens a new one)
/// runs in the new session instead of failing for the old one.
#[test]
fn a_call_made_after_lost_runs_in_the_new_session() {
    let proxy = Proxy::start(&server().connect_string());
    let client = client_of(&proxy.connect_string());
    let old = client.session_id();
    common::expire_session(&proxy, &server().connect_string(), &client);
    let root = client.get_node("/").expect("a call made after Lost");
    assert_eq!(root.path, "/");
    assert_ne!(client.session_id(), old);
}

/// Issue 12's hand-off: a lock waiter reads its client's socket itself while it waits (so the
/// predecessor's deletion wakes it directly). That must not hold up the same client's other
/// calls, must see a cancellation within a read slice, and must get the lock when it is freed.
#[test]
fn a_waiter_reading_for_its_watch_lets_calls_through_and_sees_cancel() {
    let holder = client();
    let waiter_client = client();
    let path = unique("/watch-reader");
    let held = holder.restrict(&path, ZookeeperRecipe::WriteLock, "h", None).unwrap();
    let guard = held.acquire().unwrap();
    let lock =
        Arc::new(waiter_client.restrict(&path, ZookeeperRecipe::WriteLock, "w", None).unwrap());
    let cancel = lock.cancel_handle();
    let calls = || {
        let started = Instant::now();
        for _ in 0..200 {
            waiter_client.exist_node(&path).unwrap();
        }
        started.elapsed()
    };
    let alone = calls();
    let waiting = {
        let lock = lock.clone();
        std::thread::spawn(move || lock.acquire_timeout(LONG))
    };
    std::thread::sleep(Duration::from_millis(200));
    // Calls of the same client go through while the waiter reads: were each held up for one
    // of its read slices (10 ms), the 200 would take 2 s.
    let beside = calls();
    assert!(
        beside < alone * 3 + Duration::from_millis(300),
        "calls slowed: {beside:?}, {alone:?} alone"
    );
    let cancelled_at = Instant::now();
    cancel.cancel();
    let err = waiting.join().unwrap().unwrap_err();
    assert!(err.is_cancelled(), "{err}");
    assert!(
        cancelled_at.elapsed() < Duration::from_secs(1),
        "cancel seen after {:?}",
        cancelled_at.elapsed()
    );
    // A waiter is handed the lock when the holder lets go.
    let lock =
        Arc::new(waiter_client.restrict(&path, ZookeeperRecipe::WriteLock, "w2", None).unwrap());
    let waiting = {
        let lock = lock.clone();
        std::thread::spawn(move || lock.acquire_timeout(LONG).map(drop))
    };
    std::thread::sleep(Duration::from_millis(200));
    drop(guard);
    waiting.join().unwrap().expect("the waiter was not handed the lock");
}

/// A recipe's pipelined requests go out in one write: a lock's create and listing reach the
/// server in one segment (through a proxy that counts the chunks it reads from the client),
/// where written one by one they were two.
#[test]
fn a_locks_pipelined_requests_go_out_in_one_write() {
    let proxy = Proxy::start(&server().connect_string());
    let client = client_of(&proxy.connect_string());
    let path = unique("corked");
    let lock = client.restrict(&path, ZookeeperRecipe::WriteLock, "w", None).unwrap();
    lock.acquire().unwrap().release().unwrap(); // the lock path exists from here on
    let mut reads = 0;
    const ACQUIRES: u64 = 30;
    for _ in 0..ACQUIRES {
        let before = proxy.client_reads();
        let guard = lock.acquire().unwrap();
        reads += proxy.client_reads() - before;
        guard.release().unwrap();
    }
    // A ping may fall in the window now and then; two writes an acquire were about 45.
    assert!(reads <= ACQUIRES + 3, "{reads} chunks for {ACQUIRES} acquires");
}
