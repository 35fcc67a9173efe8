//! Locks across connection and session loss, against a real ZooKeeper server: guards become
//! uncertain, then lost; waiters re-queue; nothing is left behind.

mod common;

use std::sync::{mpsc, Arc};
use std::time::Duration;

use common::proxy::{restore_after_suspend, Proxy};
use common::{assert_no_nodes_left, client, client_of, eventually, expire_session, server, unique};
use zkcluster::{GuardStatus, Restriction, ZookeeperRecipe};

const LONG: Duration = Duration::from_secs(10);

/// The holder's session expires: its guard reports Lost (and `lost()` fires), the next
/// contender gets the lock, and releasing the lost guard says the session had expired.
#[test]
fn holder_expiry_lets_the_next_contender_in_and_invalidates_the_guard() {
    let path = unique("expiry");
    let proxy = Proxy::start(&server().connect_string());
    let (holder, waiter) = (client_of(&proxy.connect_string()), client());
    let lock = holder.restrict(&path, ZookeeperRecipe::WriteLock, "holder", None).unwrap();
    let guard = lock.acquire().unwrap();
    assert_eq!(guard.status(), GuardStatus::Held);
    let lost = guard.lost();

    let (tx, rx) = mpsc::channel();
    let next = {
        let (path, waiter) = (path.clone(), waiter.clone());
        std::thread::spawn(move || {
            let lock = waiter.restrict(&path, ZookeeperRecipe::WriteLock, "next", None).unwrap();
            let guard = lock.acquire().unwrap();
            tx.send(()).unwrap();
            std::thread::sleep(Duration::from_millis(100));
            drop(guard);
        })
    };
    assert!(eventually(LONG, || lock.contenders().unwrap() == ["holder", "next"]));

    expire_session(&proxy, &server().connect_string(), &holder);
    assert!(lost.recv_timeout(Duration::from_secs(1)).is_err(), "lost() did not fire");
    assert_eq!(guard.status(), GuardStatus::Lost);
    assert!(!guard.is_valid());
    rx.recv_timeout(LONG).expect("the next contender never got the lock");
    let err = guard.release().unwrap_err();
    assert!(err.is_session_expired(), "{err}");
    next.join().unwrap();

    // The holder's client renewed its session; the same lock object works again.
    let again = lock.acquire_timeout(LONG).unwrap();
    assert!(again.is_valid());
    drop(again);
    assert_no_nodes_left(&waiter, &[&path]);
}

/// A waiter whose own session expires queues again in its new session (its old node and
/// watch died with the old session) and still gets the lock.
#[test]
fn waiter_requeues_after_its_session_expires() {
    let path = unique("waiter-expiry");
    let proxy = Proxy::start(&server().connect_string());
    let (holder, waiter) = (client(), client_of(&proxy.connect_string()));
    let lock = holder.restrict(&path, ZookeeperRecipe::WriteLock, "holder", None).unwrap();
    let guard = lock.acquire().unwrap();
    let waiting =
        Arc::new(waiter.restrict(&path, ZookeeperRecipe::WriteLock, "waiter", None).unwrap());
    let (tx, rx) = mpsc::channel();
    let thread = {
        let waiting = waiting.clone();
        std::thread::spawn(move || {
            let guard = waiting.acquire().unwrap();
            tx.send(guard.is_valid()).unwrap();
        })
    };
    assert!(eventually(LONG, || lock.contenders().unwrap() == ["holder", "waiter"]));
    let old_session = waiter.session_id();
    expire_session(&proxy, &server().connect_string(), &waiter);
    assert!(
        eventually(LONG, || waiter.session_id() != old_session
            && waiter.session_id() != 0
            && lock.contenders().unwrap() == ["holder", "waiter"]),
        "the waiter did not queue again: {:?}",
        lock.contenders()
    );
    assert!(rx.recv_timeout(Duration::from_millis(200)).is_err(), "got in while held");
    drop(guard);
    assert!(rx.recv_timeout(LONG).expect("the waiter never got the lock"));
    thread.join().unwrap();
    assert_no_nodes_left(&holder, &[&path]);
}

/// A broken connection makes a held guard Uncertain; resuming the session makes it Held again.
#[test]
fn suspension_makes_the_guard_uncertain_until_resumed() {
    let path = unique("suspend");
    let proxy = Proxy::start(&server().connect_string());
    let holder = client_of(&proxy.connect_string());
    let sem = holder.restrict(&path, ZookeeperRecipe::Semaphore, "holder", Some(1)).unwrap();
    let lease = sem.acquire().unwrap();
    assert!(lease.is_valid());
    proxy.cut();
    assert!(eventually(LONG, || lease.status() == GuardStatus::Uncertain), "{:?}", lease.status());
    assert!(!lease.is_valid());
    proxy.restore();
    assert!(eventually(LONG, || lease.status() == GuardStatus::Held), "{:?}", lease.status());
    lease.release().unwrap();
    let observer = client();
    assert_no_nodes_left(&observer, &[&path, &format!("{path}-__lock__")]);
}

/// A release while disconnected returns at once with a connection loss; the node is deleted in
/// the background once the session is resumed, so the next contender gets in.
#[test]
fn release_while_disconnected_finishes_in_the_background() {
    let path = unique("release-offline");
    let proxy = Proxy::start(&server().connect_string());
    let holder = client_of(&proxy.connect_string());
    let observer = client();
    let lock = holder.restrict(&path, ZookeeperRecipe::WriteLock, "holder", None).unwrap();
    let guard = lock.acquire().unwrap();
    let other = observer.restrict(&path, ZookeeperRecipe::WriteLock, "other", None).unwrap();
    proxy.cut();
    assert!(eventually(LONG, || !holder.state().is_connected()));
    let started = std::time::Instant::now();
    let err = guard.release().unwrap_err();
    assert!(err.is_connection_loss(), "{err}");
    assert!(started.elapsed() < Duration::from_secs(1), "release blocked {:?}", started.elapsed());
    assert!(other.try_acquire().unwrap().is_none(), "the session still holds the node");
    proxy.restore();
    let next = other.acquire_timeout(LONG).expect("the background deletion never ran");
    drop(next);
    assert_no_nodes_left(&observer, &[&path]);
}

/// The reply to the lock's create is lost with the connection: the node was created, and the
/// acquire finds it by its uuid after reconnecting (same session: adopted, not duplicated).
#[test]
fn create_reply_lost_with_the_connection_is_adopted() {
    let path = unique("lost-create");
    let proxy = Arc::new(Proxy::start(&server().connect_string()));
    let holder = client_of(&proxy.connect_string());
    let observer = client();
    let lock = holder.restrict(&path, ZookeeperRecipe::WriteLock, "holder", None).unwrap();
    lock.acquire().unwrap().release().unwrap(); // the lock path exists: the next create is one request
    let session = holder.session_id();
    let restorer = restore_after_suspend(proxy.clone(), holder.session_events());

    proxy.lose_next_reply();
    let guard = lock.acquire_timeout(LONG).unwrap();
    restorer.join().unwrap();
    assert_eq!(holder.session_id(), session, "the session survived");
    let children = observer.get_children(&path).unwrap();
    assert_eq!(children.len(), 1, "one node, not a second one for the retry: {children:?}");
    assert_eq!(guard.nodes(), [format!("{path}/{}", children[0])]);
    let stat = observer.exist_node(&guard.nodes()[0]).unwrap().unwrap();
    assert_eq!(stat.ephemeral_owner, session);
    guard.release().unwrap();
    assert_no_nodes_left(&observer, &[&path]);
}

/// The create's reply is lost and the session expires before the client is back: the node
/// went with the old session, so the acquire creates a new one in the new session.
#[test]
fn create_reply_lost_and_session_expired_creates_again() {
    let path = unique("lost-create-expired");
    let proxy = Arc::new(Proxy::start(&server().connect_string()));
    let holder = client_of(&proxy.connect_string());
    let observer = client();
    let lock = holder.restrict(&path, ZookeeperRecipe::WriteLock, "holder", None).unwrap();
    lock.acquire().unwrap().release().unwrap();
    let (old_session, passwd) = holder.session_credentials();
    let events = holder.session_events();

    proxy.lose_next_reply();
    let acquiring = {
        let lock = Arc::new(lock);
        let l = lock.clone();
        (lock, std::thread::spawn(move || l.acquire_timeout(LONG)))
    };
    // Wait for the cut, end the session on the server, then let the client back.
    while !matches!(events.recv_timeout(LONG), Ok(zkcluster::SessionEvent::Suspended { .. })) {}
    common::close_session_raw(&server().connect_string(), old_session, &passwd);
    proxy.restore();
    let guard = acquiring.1.join().unwrap().expect("the acquire goes on in the new session");
    assert_ne!(holder.session_id(), old_session);
    let children = observer.get_children(&path).unwrap();
    assert_eq!(children.len(), 1, "{children:?}");
    let stat = observer.exist_node(&guard.nodes()[0]).unwrap().unwrap();
    assert_eq!(stat.ephemeral_owner, holder.session_id(), "the node belongs to the new session");
    drop(guard);
    assert!(eventually(LONG, || observer.get_children(&path).unwrap().is_empty()));
}
