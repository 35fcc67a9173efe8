//! Deleting lock and lease nodes that an acquire or a release could not delete itself.
//!
//! Guarantee: a node handed over here is deleted as soon as the server can be reached again, so
//! a failed, cancelled or timed-out acquire, or a release that hit a connection loss, never
//! leaves a node that would block everyone else for the rest of the session; and a give-up
//! waits for its delete at most [`GIVE_UP_WAIT`] past the caller's deadline (a healthy server
//! answers well within it, so others see the node gone when the call returns); what is not
//! confirmed by then, the worker makes sure of.
//!
//! Each client has at most one cleanup worker: a thread started at the first hand-over, with a
//! queue of deletions. It retries each with a growing pause (50 ms to 1 s) and drops it when
//! the deletion succeeds (or the node is already gone), when the session that owns the node
//! ends (the server deletes ephemeral nodes itself then), or on an error retrying cannot fix
//! (such as missing permissions, logged). The worker holds the client weakly, so it never keeps
//! a session open; it ends when the client is closed or dropped.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use crate::session::SessionLife;
use crate::{Client, Error};

/// How long a give-up waits for its delete past the caller's deadline (or from now, when the
/// deadline has passed or there is none); after that the worker makes sure.
pub(crate) const GIVE_UP_WAIT: Duration = Duration::from_millis(30);

/// The first and the longest pause between two tries of one deletion.
const FIRST_PAUSE: Duration = Duration::from_millis(50);
const MAX_PAUSE: Duration = Duration::from_secs(1);

/// What to delete.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// One node, by its full path.
    Node(String),
    /// Every child of `parent` whose name starts with `prefix` (a create whose reply never
    /// came: the node may or may not exist, and its sequence number is unknown).
    Prefix { parent: String, prefix: String },
}

/// One queued deletion.
struct Job {
    target: Target,
    life: Arc<SessionLife>,
    /// A delete of it already sent, whose reply is still to come.
    sent: Option<crate::Pending<()>>,
}

/// A client's cleanup worker: its queue, started on first use.
#[derive(Default)]
pub(crate) struct Worker {
    jobs: OnceLock<Mutex<Option<Sender<Job>>>>,
}

/// Deletes `target` once, each wait ending at `until` (the request timeout when `None`), and
/// failing at once while disconnected. `Ok(())` when nothing of it is left.
pub(crate) fn delete_once(
    client: &Client,
    target: &Target,
    until: Option<Instant>,
) -> Result<(), Error> {
    let wait = |pending| crate::Pending::wait_strictly(pending, until);
    match target {
        Target::Node(path) => match wait(client.delete_async(path, None)) {
            Ok(()) => Ok(()),
            Err(e) if e.is_no_node() => Ok(()),
            Err(e) => Err(e),
        },
        Target::Prefix { parent, prefix } => {
            let children =
                match crate::Pending::wait_strictly(client.get_children_async(parent), until) {
                    Ok(children) => children,
                    Err(e) if e.is_no_node() => return Ok(()),
                    Err(e) => return Err(e),
                };
            let deletes: Vec<_> = children
                .iter()
                .filter(|c| c.starts_with(prefix.as_str()))
                .map(|c| client.delete_async(&crate::path::join(parent, c), None))
                .collect();
            for pending in deletes {
                match wait(pending) {
                    Ok(()) => {}
                    Err(e) if e.is_no_node() => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        }
    }
}

/// Whether the node can no longer exist or no longer matters after `error`.
fn settled(error: &Error, life: &SessionLife) -> bool {
    error.is_no_node() || error.is_closed() || error.is_session_expired() || life.has_ended()
}

/// Whether trying again later may succeed.
fn transient(error: &Error) -> bool {
    error.is_connection_loss() || error.is_timeout() || matches!(error, Error::Protocol { .. })
}

/// Tries to delete `target` now (within the request timeout); if that fails for a transient
/// reason, the worker goes on. Returns the first attempt's error (if any), for callers that
/// report it.
pub(crate) fn delete_or_hand_over(
    client: &Client,
    life: &Arc<SessionLife>,
    target: Target,
) -> Result<(), Error> {
    match delete_once(client, &target, None) {
        Ok(()) => Ok(()),
        Err(e) if settled(&e, life) => Ok(()),
        Err(e) if transient(&e) => {
            hand_over(client, life, target);
            Err(e)
        }
        Err(e) => {
            log::warn!("could not delete {target:?}: {e}");
            Err(e)
        }
    }
}

/// A give-up: sends the delete of `target` and waits for it until `deadline`, or
/// [`GIVE_UP_WAIT`] from now when that is later (or there is no deadline); what is not
/// confirmed by then is left to the worker. Never waits for a connection.
pub(crate) fn delete_by(
    client: &Client,
    life: &Arc<SessionLife>,
    target: Target,
    deadline: Option<Instant>,
) {
    if life.has_ended() {
        return;
    }
    let Target::Node(path) = &target else {
        // A prefix needs a listing first: the worker does it.
        return hand_over(client, life, target);
    };
    if !client.state().is_connected() {
        return hand_over(client, life, target);
    }
    let soon = Instant::now() + GIVE_UP_WAIT;
    let until = deadline.map_or(soon, |d| d.max(soon));
    let sent = client.delete_async(path, None);
    match sent.wait_strictly(Some(until)) {
        Ok(()) => {}
        Err(e) if settled(&e, life) => {}
        // Not confirmed in time (a slow or frozen server): the worker makes sure.
        Err(e) if transient(&e) => hand_over(client, life, target),
        Err(e) => log::warn!("could not delete {target:?}: {e}"),
    }
}

/// A give-up without a deadline of its own: [`delete_by`] with none (it waits
/// [`GIVE_UP_WAIT`] at most).
pub(crate) fn delete_soon(client: &Client, life: &Arc<SessionLife>, target: Target) {
    delete_by(client, life, target, None);
}

/// Queues `target` for the client's cleanup worker (see the module docs).
pub(crate) fn hand_over(client: &Client, life: &Arc<SessionLife>, target: Target) {
    if life.has_ended() {
        return;
    }
    queue(client, Job { target, life: life.clone(), sent: None });
}

fn queue(client: &Client, job: Job) {
    let worker = client.cleanup_worker();
    let slot = worker.jobs.get_or_init(|| Mutex::new(start(client)));
    let sender = slot.lock().unwrap_or_else(|p| p.into_inner());
    match sender.as_ref() {
        Some(tx) => {
            if tx.send(job).is_err() {
                log::warn!("cleanup worker is gone; the node goes with the session");
            }
        }
        None => log::warn!("no cleanup worker; the node goes with the session"),
    }
}

fn start(client: &Client) -> Option<Sender<Job>> {
    let (tx, rx) = crossbeam_channel::unbounded();
    let weak = client.downgrade();
    let spawned = std::thread::Builder::new()
        .name("zkcluster-cleanup".to_string())
        .spawn(move || run(&weak, &rx));
    match spawned {
        Ok(_) => Some(tx),
        Err(e) => {
            log::warn!("could not start the cleanup worker ({e}); nodes go with their session");
            None
        }
    }
}

/// The worker: takes jobs, tries each when due (and the session is connected), until the
/// client is closed or dropped. It holds the client only while it works, never while it waits.
fn run(client: &crate::client::WeakClient, jobs: &Receiver<Job>) {
    // (job, when to try next, the pause after the next failure)
    let mut queue: Vec<(Job, Instant, Duration)> = Vec::new();
    loop {
        let Some(client) = client.upgrade() else { return };
        if client.state() == crate::SessionState::Closed || client.shared().is_closing() {
            return;
        }
        let change = client.shared().next_change();
        if client.state().is_connected() {
            work(&client, &mut queue);
        }
        let now = Instant::now();
        let wake = match client.state().is_connected() {
            true => queue.iter().map(|q| q.1).min().unwrap_or(now + MAX_PAUSE),
            // Woken by the reconnect (or every second to notice a close).
            false => now + MAX_PAUSE,
        };
        drop(client);
        crossbeam_channel::select! {
            recv(jobs) -> job => match job {
                Ok(job) => queue.push((job, Instant::now(), FIRST_PAUSE)),
                Err(_) => return, // the client is gone
            },
            recv(change) -> _ => {}
            default(wake.min(now + MAX_PAUSE).saturating_duration_since(now)) => {}
        }
        queue.extend(jobs.try_iter().map(|job| (job, Instant::now(), FIRST_PAUSE)));
    }
}

/// Tries every due job once.
fn work(client: &Client, queue: &mut Vec<(Job, Instant, Duration)>) {
    let mut i = 0;
    while i < queue.len() {
        let (job, due, pause) = &mut queue[i];
        if job.life.has_ended() {
            queue.swap_remove(i);
            continue;
        }
        if *due > Instant::now() {
            i += 1;
            continue;
        }
        let outcome = match job.sent.take() {
            Some(sent) => {
                sent.wait_strictly(None).or_else(|e| if e.is_no_node() { Ok(()) } else { Err(e) })
            }
            None => delete_once(client, &job.target, None),
        };
        match outcome {
            Ok(()) => {}
            Err(e) if settled(&e, &job.life) => {}
            Err(e) if transient(&e) => {
                log::debug!("retrying deletion of {:?}: {e}", job.target);
                *due = Instant::now() + *pause;
                *pause = (*pause * 2).min(MAX_PAUSE);
                i += 1;
                continue;
            }
            Err(e) => log::warn!("giving up deleting {:?}: {e}", job.target),
        }
        queue.swap_remove(i);
    }
}
