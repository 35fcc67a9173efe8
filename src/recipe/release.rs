//! Releasing a dropped guard without waiting for the server.
//!
//! Guarantee: dropping a guard writes the delete of its node and returns; the session keeps a
//! client's requests in order, so anything the same thread sends next (its next acquire)
//! reaches the server after the delete. The reply is checked off the caller's thread: a delete
//! that failed for a transient reason (connection loss, timeout) is handed to the cleanup
//! worker (`cleanup.rs`), which retries until it succeeds or the session ends.
//!
//! One checker thread per process waits for those replies, in order. It looks at a reply only
//! [`CHECK_AFTER`] after its delete was sent: by then the reply has almost always been read
//! already by whichever caller read the socket, so the checker does not compete for the
//! connection's reader token (a thread hop on the next caller's replies). Waking up for one
//! reply, it also checks every other sent at least half that long ago, so a thread releasing
//! in a loop costs it a wake-up every few milliseconds rather than one per release. It starts with the
//! first release and ends after [`IDLE`] without one, so nothing lingers after the last client
//! is closed; while a reply is outstanding it holds a clone of its client, for the hand-over.
//! A closed client's replies fail at once, so the checker never keeps a session alive.
//!
//! Failure modes: disconnected at drop time, the delete is handed to the cleanup worker at
//! once (nothing is written); the session gone, there is nothing to delete.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use super::cleanup::{self, Target};
use crate::session::SessionLife;
use crate::{Client, Pending};

/// How long the checker thread waits for work before it ends.
const IDLE: Duration = Duration::from_millis(100);

/// How long after sending a delete the checker waits for its reply.
const CHECK_AFTER: Duration = Duration::from_millis(20);

/// A delete on the wire whose reply is still to be checked.
struct Sent {
    client: Client,
    life: Arc<SessionLife>,
    node: String,
    reply: Pending<()>,
    sent_at: Instant,
}

/// The checker's queue, `None` while no checker thread runs.
static CHECKER: Mutex<Option<Sender<Sent>>> = Mutex::new(None);

/// Deletes `node` (created in the session of `life`) without waiting for the reply.
pub(crate) fn delete_without_waiting(client: &Client, life: &Arc<SessionLife>, node: String) {
    if life.has_ended() {
        return; // the server deleted it with the session
    }
    if !client.state().is_connected() {
        cleanup::hand_over(client, life, Target::Node(node));
        return;
    }
    let reply = client.delete_async(&node, None);
    let sent_at = Instant::now();
    enqueue(Sent { client: client.clone(), life: life.clone(), node, reply, sent_at });
}

fn enqueue(sent: Sent) {
    let mut checker = CHECKER.lock().unwrap_or_else(|p| p.into_inner());
    let sent = match checker.as_ref() {
        Some(tx) => match tx.send(sent) {
            Ok(()) => return,
            Err(returned) => returned.0, // the thread is gone: start another
        },
        None => sent,
    };
    let (tx, rx) = crossbeam_channel::unbounded();
    match std::thread::Builder::new().name("zkcluster-release".into()).spawn(move || run(&rx)) {
        Ok(_) => {
            // Sent under the lock, so the new thread cannot see an empty queue and end first.
            let _ = tx.send(sent);
            *checker = Some(tx);
        }
        Err(e) => {
            // No thread: check this reply here rather than lose a failed delete.
            drop(checker);
            log::warn!("could not start the release checker ({e}); checking on the caller");
            check(sent);
        }
    }
}

fn run(rx: &Receiver<Sent>) {
    // The oldest reply taken off the queue but not yet due.
    let mut next: Option<Sent> = None;
    loop {
        let received = match next.take() {
            Some(sent) => Ok(sent),
            None => rx.recv_timeout(IDLE),
        };
        match received {
            Ok(sent) => {
                if let Some(wait) =
                    (sent.sent_at + CHECK_AFTER).checked_duration_since(Instant::now())
                {
                    std::thread::sleep(wait);
                }
                check(sent);
                // Every reply sent at least half the wait ago is checked in the same wake-up,
                // without sleeping until its own turn: a thread that releases in a loop costs
                // this one a wake-up every few milliseconds, not one per release.
                loop {
                    match rx.try_recv() {
                        Ok(sent) if sent.sent_at.elapsed() >= CHECK_AFTER / 2 => check(sent),
                        Ok(sent) => {
                            next = Some(sent);
                            break;
                        }
                        Err(_) => break,
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => {
                let mut checker = CHECKER.lock().unwrap_or_else(|p| p.into_inner());
                // Senders enqueue under the same lock: empty now means empty for good.
                if rx.is_empty() {
                    *checker = None;
                    return;
                }
            }
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// Waits for one delete's reply (by now it has almost always been read); hands a transient failure over to the cleanup worker.
fn check(sent: Sent) {
    let Sent { client, life, node, reply, .. } = sent;
    match reply.wait() {
        Ok(()) => {}
        Err(e) if e.is_no_node() || e.is_closed() || e.is_session_expired() => {}
        Err(_) if life.has_ended() => {}
        Err(e) => {
            log::debug!("release of {node} failed ({e}); retrying in the background");
            cleanup::hand_over(&client, &life, Target::Node(node));
        }
    }
}
