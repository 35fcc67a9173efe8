//! The queue both [`ReadLock`](super::ReadLock) and [`WriteLock`](super::WriteLock) stand in:
//! Kazoo's lock algorithm, with remaining-time deadlines, cancellation and leak-free failures.
//!
//! # Guarantee
//!
//! A contender creates an ephemeral sequential child `<uuid><marker><sequence>` of the lock path
//! (data: its identifier). A writer (`__lock__`) holds the lock when no lower node of either
//! kind exists; a reader (`__rlock__`) when no lower writer exists. So at any time either one
//! writer or any number of readers hold it, and contenders are served in the order of their
//! sequence numbers. A waiter watches only nodes it waits for, never higher sequences (Kazoo
//! #649): all of them when there are at most `WATCH_ALL_AHEAD` (8), else only the nearest, as
//! Kazoo does (so a deletion notifies at most 8 waiters, and makes none of them send a request
//! unless the lock may now be theirs: no herd effect). Kazoo clients queue in the same line.
//!
//! # Round trips
//!
//! The create and the getChildren go out back to back on the same session (ZooKeeper answers a
//! session's requests in order), so an uncontended acquire costs **one** round trip; dropping
//! the guard puts the delete on the wire without waiting (see `release.rs`), so a lock cycle
//! costs about one. The create is a create2, whose reply carries the node's stat: its creation
//! zxid is the guard's fencing token, at no extra cost. A contended acquire costs one more (the
//! data watches, pipelined); when it watches every node ahead that it conflicts with, the last
//! one's deletion hands the lock over with no further request, since no node can join ahead
//! of ours later (sequence numbers only grow; near the counter's wrap it lists again). When it
//! watches only the nearest, or a watched node changes instead of going, a new getChildren
//! follows. The first acquire on a missing lock path costs a few more, to create the path.
//!
//! # Which listing is fresh
//!
//! A caller may pipeline requests right after [`LockCore::begin`] (the semaphore lists its
//! pool there). They ran on the server while we held the lock only if the listing sent right
//! behind our create already showed us holding: then [`Held::fresh`] is true. When the lock
//! path was missing, the create makes the parents and goes again *after* that listing, so the
//! listing that counts is a later one and `fresh` is false; so it is after any wait.
//! [`Settled::holds_fresh`] tells the same before the acquire is completed (and waits), so
//! the semaphore can take back a lease it sent in that pipeline on the chance it would win.
//!
//! # Failure modes
//!
//! - Connection loss while creating: the reply is lost, not necessarily the node. After
//!   reconnecting, the acquire looks for a child starting with its uuid and adopts it only if
//!   its ephemeral owner is the current session; otherwise it creates a new node.
//! - A failed, cancelled or timed-out acquire deletes its node; if the server cannot be reached
//!   the deletion goes on in the background (see `cleanup.rs`) until it succeeds or the session
//!   ends, so no node is leaked to block the queue.
//! - Session loss while waiting: the node is gone with the session; the acquire creates a new
//!   one in the new session (when the client renews sessions) or fails. Waiters re-check their
//!   queue after every reconnect and session change, so none waits on a watch that can no
//!   longer fire.
//! - The deadline covers the whole acquire (creating, waiting, reconnecting); a request
//!   written just before it is given a little longer (`session::ON_ITS_WAY`) so an answer on
//!   its way is not thrown away, and a give-up waits for its delete at most
//!   `cleanup::GIVE_UP_WAIT` past the deadline (the cleanup worker finishes it otherwise).
//!   While the session is disconnected no request waits for the reconnect: it fails at once,
//!   and the acquire waits for the connection itself, within its deadline (`Wait::No` not at
//!   all: it fails with a connection loss).

use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{select, Receiver};

use super::cancel::{CancelHandle, CancelToken};
use super::cleanup::{self, Target};
use super::create_stat::{create_with_stat, Created};
use super::holds::{self, Hold};
use super::node_name::{self, LockKind, Position};
use super::{Guard, Wait};
use crate::session::SessionLife;
use crate::{Client, CreateOptions, Error, Pending, Result, SessionState};

/// A lock node held by this client.
pub(crate) struct Held {
    /// The node's full path.
    pub node: String,
    /// The life of the session that created it.
    pub life: Arc<SessionLife>,
    /// The node's creation zxid: the fencing token.
    pub token: i64,
    /// Whether requests pipelined right after `begin` ran on the server while we held the
    /// lock: the listing sent right behind our create showed us holding (see the module docs).
    pub fresh: bool,
}

/// A create and a getChildren on the wire.
pub(crate) struct Attempt {
    prefix: String,
    /// The session the create went to; `None` when the session changed while sending.
    life: Option<Arc<SessionLife>>,
    create: Pending<Created>,
    children: Pending<Vec<String>>,
}

/// A listing of the lock path.
struct Listing {
    children: Vec<String>,
    /// It is the listing sent right behind our create, and shows our node: it ran on the
    /// server after the create and before anything the caller pipelined after `begin`.
    behind_create: bool,
}

impl Listing {
    fn later(children: Vec<String>) -> Listing {
        Listing { children, behind_create: false }
    }
}

/// An [`Attempt`] whose create and listing replies are in (see [`LockCore::settle`]).
pub(crate) struct Settled {
    ours: Ours,
    listing: Result<Listing>,
}

impl Settled {
    /// Whether the listing sent right behind our create shows us holding the lock: then every
    /// request the caller pipelined after `begin` ran on the server while we held it (what
    /// [`Held::fresh`] says once completed).
    pub(crate) fn holds_fresh(&self) -> bool {
        match (&self.ours, &self.listing) {
            (Ours::Created { name, life, .. }, Ok(listing)) => {
                listing.behind_create
                    && !life.has_ended()
                    && node_name::position(&listing.children, name) == Position::Holder
            }
            _ => false,
        }
    }

    /// The session our node was created in, if it was.
    pub(crate) fn life(&self) -> Option<&Arc<SessionLife>> {
        match &self.ours {
            Ours::Created { life, .. } => Some(life),
            _ => None,
        }
    }
}

/// What this acquire knows about its own node.
enum Ours {
    /// None yet (or the last one is gone): create one.
    Nothing,
    /// A create with this prefix was sent, its outcome is unknown.
    Unknown { prefix: String },
    /// This child exists, created by the session of `life`, with creation zxid `token`.
    Created { name: String, life: Arc<SessionLife>, token: i64 },
}

/// The most nodes ahead of ours a waiter watches all of (see [`LockCore::complete_settled`]):
/// each deletion in a queue this short notifies at most this many waiters and makes no
/// request, where a longer queue's waiters watch only their predecessor.
const WATCH_ALL_AHEAD: usize = 8;

/// Why a wait ended.
pub(crate) enum Wake {
    Recheck,
    /// The watched node (every watched node, for `wait_deleted`) was deleted.
    Deleted,
    Cancelled,
    Deadline,
}

/// One contender line at a lock path, as reader or writer.
#[derive(Debug)]
pub(crate) struct LockCore {
    client: Client,
    path: String,
    identifier: String,
    kind: LockKind,
}

/// Whether trying again (after reconnecting) may succeed.
pub(crate) fn retryable(e: &Error) -> bool {
    e.is_connection_loss() || e.is_timeout() || e.is_session_expired()
}

/// The instant a `wait` ends, if it does.
pub(crate) fn deadline_of(wait: Wait) -> Option<Instant> {
    match wait {
        Wait::Until(at) => Some(at),
        Wait::No | Wait::Forever => None,
    }
}

pub(crate) fn passed(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|d| Instant::now() >= d)
}

/// Waits for a reply, no longer than the deadline allows (a reply written just before it gets
/// a little longer); fails at once with connection loss while disconnected.
pub(crate) fn reply<T>(pending: Pending<T>, deadline: Option<Instant>) -> Result<T> {
    pending.wait_until(deadline)
}

/// `Wait::No` never waits for a reconnect: while disconnected it fails at once.
pub(crate) fn connected_now(client: &Client, path: &str) -> Result<()> {
    match client.state() {
        s if s.is_connected() => Ok(()),
        SessionState::Closed | SessionState::AuthFailed => Err(Error::Closed),
        SessionState::Expired => Err(Error::SessionExpired { op: "acquire", path: path.into() }),
        _ => Err(Error::ConnectionLoss { op: "acquire", path: path.to_string() }),
    }
}

/// Waits until the session is connected (`Ok(true)`) or the deadline passes (`Ok(false)`).
pub(crate) fn wait_connected(
    client: &Client,
    path: &str,
    deadline: Option<Instant>,
    token: &CancelToken,
) -> Result<bool> {
    let timer = deadline.map_or_else(crossbeam_channel::never, crossbeam_channel::at);
    loop {
        let changed = client.shared().next_change();
        match client.state() {
            s if s.is_connected() => return Ok(true),
            SessionState::Expired => {
                return Err(Error::SessionExpired { op: "acquire", path: path.to_string() })
            }
            s if s.is_terminal() => return Err(Error::Closed),
            _ => {}
        }
        select! {
            recv(changed) -> _ => {},
            recv(token.signal()) -> _ => if token.is_cancelled() {
                return Err(Error::Cancelled { path: path.to_string() });
            },
            recv(timer) -> _ => return Ok(false),
        }
    }
}

/// The last segment of a path.
fn name_of(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

impl LockCore {
    pub(crate) fn new(
        client: &Client,
        path: &str,
        identifier: &str,
        kind: LockKind,
    ) -> Result<LockCore> {
        crate::path::validate(path, false)?;
        if path == "/" {
            return Err(Error::InvalidArgument {
                path: path.into(),
                reason: "a lock cannot live at the root".into(),
            });
        }
        Ok(LockCore {
            client: client.clone(),
            path: path.to_string(),
            identifier: identifier.to_string(),
            kind,
        })
    }

    /// The core of a `ReadLock` or `WriteLock` built by `restrict`: locks take no `max_leases`.
    pub(crate) fn for_lock(
        client: &Client,
        path: &str,
        identifier: &str,
        max_leases: Option<u32>,
        kind: LockKind,
    ) -> Result<LockCore> {
        if let Some(n) = max_leases {
            let name = match kind {
                LockKind::Read => "ReadLock",
                LockKind::Write => "WriteLock",
            };
            return Err(Error::InvalidArgument {
                path: path.to_string(),
                reason: format!("a {name} takes no max_leases (got Some({n})); use a Semaphore"),
            });
        }
        LockCore::new(client, path, identifier, kind)
    }

    /// Acquires (as `cancel` allows) and wraps our node in a guard. Fails at once with
    /// [`Error::WouldDeadlock`] when this thread already holds what it would wait for.
    pub(crate) fn acquire_guard(&self, wait: Wait, cancel: &CancelHandle) -> Result<Option<Guard>> {
        let hold = match self.kind {
            LockKind::Read => Hold::Read,
            LockKind::Write => Hold::Write,
        };
        holds::check(&self.client, &self.path, hold)?;
        let token = cancel.token();
        Ok(self.acquire(wait, &token)?.map(|held| {
            let ticket = holds::record(&self.client, &self.path, hold, &held.life);
            Guard::granted(
                &self.client,
                &self.path,
                vec![held.node],
                held.life,
                held.token,
                Some(ticket),
            )
        }))
    }

    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    /// Sends the create of a new node and the getChildren that follows it, without waiting.
    pub(crate) fn begin(&self) -> Attempt {
        let prefix = format!("{}{}", node_name::uuid_hex(), self.kind.marker());
        let options = CreateOptions::new().ephemeral().sequential().parents();
        let before = self.client.shared().life();
        // Corked: both requests in one write.
        let (create, children) = self.client.shared().corked(|| {
            let create = create_with_stat(
                &self.client,
                &crate::path::join(&self.path, &prefix),
                self.identifier.as_bytes(),
                &options,
            );
            (create, self.client.get_children_async(&self.path))
        });
        let after = self.client.shared().life();
        let life = Arc::ptr_eq(&before, &after).then_some(after);
        Attempt { prefix, life, create, children }
    }

    /// Sends and completes an acquire.
    pub(crate) fn acquire(&self, wait: Wait, token: &CancelToken) -> Result<Option<Held>> {
        if wait == Wait::No {
            connected_now(&self.client, &self.path)?;
        }
        // Sent while disconnected, the create would wait for the request timeout, not for us.
        if let Wait::Until(deadline) = wait {
            if !self.client.state().is_connected()
                && !wait_connected(&self.client, &self.path, Some(deadline), token)?
            {
                return Ok(None);
            }
        }
        self.complete(self.begin(), wait, token)
    }

    /// Gives up an attempt that was begun: its node, if created, is deleted (waiting for
    /// neither past `deadline`).
    pub(crate) fn abandon(&self, attempt: Attempt, deadline: Option<Instant>) {
        let mut ours = Ours::Nothing;
        let _ = self.resolve(attempt, deadline, &mut ours);
        self.give_up(ours, deadline);
    }

    /// Completes an acquire begun with [`begin`](Self::begin): waits as `wait` allows.
    /// `Ok(None)`: not acquired (busy and `Wait::No`, or the deadline passed), nothing left.
    pub(crate) fn complete(
        &self,
        attempt: Attempt,
        wait: Wait,
        token: &CancelToken,
    ) -> Result<Option<Held>> {
        let settled = self.settle(attempt, deadline_of(wait));
        self.complete_settled(settled, wait, token)
    }

    /// Waits for the create and listing replies of `attempt`, without acting on them yet: the
    /// caller may look at [`Settled::holds_fresh`] first, then hand it to
    /// [`complete_settled`](Self::complete_settled) (which owns our node from then on).
    pub(crate) fn settle(&self, attempt: Attempt, deadline: Option<Instant>) -> Settled {
        let mut ours = Ours::Nothing;
        let listing = self.resolve(attempt, deadline, &mut ours);
        Settled { ours, listing }
    }

    /// [`complete`](Self::complete), from an attempt already settled.
    pub(crate) fn complete_settled(
        &self,
        settled: Settled,
        wait: Wait,
        token: &CancelToken,
    ) -> Result<Option<Held>> {
        let blocking = wait != Wait::No;
        let deadline = deadline_of(wait);
        let Settled { mut ours, listing } = settled;
        let mut first = Some(listing);
        loop {
            let first_round = first.is_some();
            let listing = match first.take() {
                Some(listing) => listing,
                None => self.next_listing(deadline, &mut ours),
            };
            if token.is_cancelled() {
                self.give_up(ours, deadline);
                return Err(Error::Cancelled { path: self.path.clone() });
            }
            let (children, fresh) = match listing {
                Ok(listing) => (listing.children, first_round && listing.behind_create),
                Err(e) if retryable(&e) && blocking => {
                    if passed(deadline) {
                        self.give_up(ours, deadline);
                        return Ok(None);
                    }
                    match wait_connected(&self.client, &self.path, deadline, token) {
                        Ok(true) => continue,
                        Ok(false) => {
                            self.give_up(ours, deadline);
                            return Ok(None);
                        }
                        Err(e) => {
                            self.give_up(ours, deadline);
                            return Err(e);
                        }
                    }
                }
                Err(e) => {
                    self.give_up(ours, deadline);
                    return Err(e);
                }
            };
            let (name, life, node_token) = match &ours {
                Ours::Created { name, life, token } => (name.clone(), life.clone(), *token),
                _ => continue,
            };
            let held = |fresh| Held {
                node: crate::path::join(&self.path, &name),
                life: life.clone(),
                token: node_token,
                fresh,
            };
            let ahead = match node_name::position(&children, &name) {
                Position::Missing => {
                    // Our node is gone (its session ended, or someone deleted it): queue again.
                    // Deleting it first is a no-op then, and keeps a node that only looked
                    // missing from blocking the queue for the rest of the session.
                    self.give_up(std::mem::replace(&mut ours, Ours::Nothing), deadline);
                    continue;
                }
                Position::Holder => return Ok(Some(held(fresh))),
                Position::After { ahead } => ahead,
            };
            if !blocking {
                self.give_up(ours, deadline);
                return Ok(None);
            }
            if passed(deadline) {
                self.give_up(ours, deadline);
                return Ok(None);
            }
            // Taken before the watches are set, so no reconnect between them goes unseen.
            let mut changed = self.client.shared().next_change();
            // With a few nodes ahead we watch them all: no node can join ahead of ours later,
            // so once each is gone the lock is ours without listing again (the hand-off costs
            // no round trip). With more we watch the nearest only, as Kazoo does, and list
            // again when it goes (it may have given up rather than held the lock).
            let watch_all = ahead.len() <= WATCH_ALL_AHEAD && node_name::may_skip_relisting(&name);
            // When watching them all, our own node is watched last: had it been deleted (by
            // hand; an ended session is seen anyway), that would be notified before the last
            // deletion ahead, and we would not take a lock we no longer queue for.
            let names: Vec<&str> = if watch_all {
                ahead.into_iter().chain([name.as_str()]).collect()
            } else {
                ahead[..1].to_vec()
            };
            let mut watches = match self.watch_each(&names, deadline) {
                Ok(watches) => watches,
                Err(e) if retryable(&e) => continue, // the next listing waits for the connection
                Err(e) => {
                    self.give_up(ours, deadline);
                    return Err(e);
                }
            };
            let own = if watch_all {
                match watches.pop().flatten() {
                    Some(own) => Some(own),
                    None => continue, // ours is gone: the next listing tells what to do
                }
            } else {
                None
            };
            let ahead: Vec<_> = watches.into_iter().flatten().collect();
            let wake =
                Self::wait_deleted(&self.client, &ahead, &life, &mut changed, token, deadline);
            let ours_changed = own.is_some_and(|own| !own.is_empty());
            match wake {
                Wake::Deleted if watch_all && !ours_changed && !life.has_ended() => {
                    return Ok(Some(held(false)));
                }
                Wake::Recheck | Wake::Deleted => continue,
                Wake::Cancelled => {
                    self.give_up(ours, deadline);
                    return Err(Error::Cancelled { path: self.path.clone() });
                }
                Wake::Deadline => {
                    self.give_up(ours, deadline);
                    return Ok(None);
                }
            }
        }
    }

    /// Sets a data watch on each of `names` (children of the lock path), pipelined: one round
    /// trip. A data watch, not an exists watch: on a node that is already gone it sets nothing
    /// (`None`), where an exists watch would stay registered (here and on the server) for a
    /// node that never comes back.
    fn watch_each(
        &self,
        names: &[&str],
        deadline: Option<Instant>,
    ) -> Result<Vec<Option<Receiver<crate::WatchedEvent>>>> {
        let pending: Vec<_> = self.client.shared().corked(|| {
            names
                .iter()
                .map(|n| self.client.get_node_watch_async(&crate::path::join(&self.path, n)))
                .collect()
        });
        let mut watches = Vec::with_capacity(pending.len());
        for watched in pending {
            match reply(watched, deadline) {
                Ok((_, watch)) => watches.push(Some(watch)),
                Err(e) if e.is_no_node() => watches.push(None),
                Err(e) => return Err(e),
            }
        }
        Ok(watches)
    }

    /// Waits until every one of `watches` saw its node deleted ([`Wake::Deleted`], at once
    /// when there are none), or for the first other outcome: another event on a watched node,
    /// a session change, cancellation or the deadline.
    fn wait_deleted(
        client: &Client,
        watches: &[Receiver<crate::WatchedEvent>],
        life: &SessionLife,
        changed: &mut Receiver<()>,
        token: &CancelToken,
        deadline: Option<Instant>,
    ) -> Wake {
        // Lowest first: in a queue nobody leaves, that is the order they go in.
        for watch in watches.iter().rev() {
            match Self::wait_change(client, watch, life, changed, token, deadline) {
                Wake::Deleted => {}
                other => return other,
            }
        }
        Wake::Deleted
    }

    /// Waits for the pipelined create and getChildren of `attempt`, recording our node in
    /// `ours`. Returns the listing (empty when there is no node of ours to look for).
    fn resolve(
        &self,
        attempt: Attempt,
        deadline: Option<Instant>,
        ours: &mut Ours,
    ) -> Result<Listing> {
        let Attempt { prefix, life, create, children } = attempt;
        match reply(create, deadline) {
            Ok((path, stat)) => match life {
                Some(life) if !life.has_ended() => {
                    let name = name_of(&path).to_string();
                    *ours = Ours::Created { name, life, token: stat.czxid };
                }
                _ => {
                    // The session changed while the create was sent: we cannot tell which
                    // session owns the node. Delete it (a no-op if its session is gone) and
                    // queue again.
                    cleanup::hand_over(
                        &self.client,
                        &self.client.shared().life(),
                        Target::Node(path),
                    );
                    *ours = Ours::Nothing;
                    return Ok(Listing::later(Vec::new()));
                }
            },
            Err(e) => {
                *ours = if e.is_connection_loss() || e.is_timeout() {
                    Ours::Unknown { prefix }
                } else {
                    Ours::Nothing
                };
                return Err(e);
            }
        }
        let listing = match reply(children, deadline) {
            Ok(children) => children,
            // The lock path was missing when the listing ran (the create made it just after).
            Err(e) if e.is_no_node() => Vec::new(),
            Err(e) => return Err(e),
        };
        // The listing normally follows our create on the wire, so it shows our node. Not when
        // the lock path was missing: the create then made the parents and went again after the
        // listing, and other sessions may have created the path meanwhile. List again.
        let ours_listed = match ours {
            Ours::Created { name, .. } => listing.iter().any(|c| c == name),
            _ => true,
        };
        if ours_listed {
            return Ok(Listing { children: listing, behind_create: true });
        }
        reply(self.client.get_children_async(&self.path), deadline).map(Listing::later)
    }

    /// The next listing, creating a node first (or finding the one whose create was lost) when
    /// `ours` has none.
    fn next_listing(&self, deadline: Option<Instant>, ours: &mut Ours) -> Result<Listing> {
        if let Ours::Created { life, .. } = ours {
            if life.has_ended() {
                *ours = Ours::Nothing;
            }
        }
        match ours {
            // A listing behind a create made after waiting is not fresh for the caller: what it
            // pipelined went out with the first attempt.
            Ours::Nothing => {
                self.resolve(self.begin(), deadline, ours).map(|l| Listing::later(l.children))
            }
            Ours::Created { .. } => {
                match reply(self.client.get_children_async(&self.path), deadline) {
                    Err(e) if e.is_no_node() => {
                        *ours = Ours::Nothing;
                        Ok(Listing::later(Vec::new()))
                    }
                    other => other.map(Listing::later),
                }
            }
            Ours::Unknown { prefix } => {
                let life = self.client.shared().life();
                let children = match reply(self.client.get_children_async(&self.path), deadline) {
                    Err(e) if e.is_no_node() => {
                        *ours = Ours::Nothing;
                        return Ok(Listing::later(Vec::new()));
                    }
                    other => other?,
                };
                let candidates: Vec<(String, _)> = children
                    .iter()
                    .filter(|c| c.starts_with(prefix.as_str()))
                    .map(|c| {
                        (c.clone(), self.client.exist_node_async(&crate::path::join(&self.path, c)))
                    })
                    .collect();
                let mut found = None;
                for (name, pending) in candidates {
                    if let Some(stat) = reply(pending, deadline)? {
                        if stat.ephemeral_owner == life.session_id && found.is_none() {
                            found = Some((name, stat.czxid));
                        }
                    }
                }
                if !Arc::ptr_eq(&life, &self.client.shared().life()) || life.has_ended() {
                    return Err(Error::SessionExpired { op: "acquire", path: self.path.clone() });
                }
                *ours = match found {
                    Some((name, token)) => Ours::Created { name, life, token },
                    // Not created, or by a session that is gone (the server removes it).
                    None => Ours::Nothing,
                };
                Ok(Listing::later(children))
            }
        }
    }

    /// Deletes our node, if any: now if connected and done in time (see
    /// [`cleanup::delete_by`]), else in the background.
    fn give_up(&self, ours: Ours, deadline: Option<Instant>) {
        let (target, life) = match ours {
            Ours::Nothing => return,
            Ours::Created { name, life, .. } => {
                (Target::Node(crate::path::join(&self.path, &name)), life)
            }
            Ours::Unknown { prefix } => {
                (Target::Prefix { parent: self.path.clone(), prefix }, self.client.shared().life())
            }
        };
        cleanup::delete_by(&self.client, &life, target, deadline);
    }

    /// Waits for one watch, a session change, cancellation or the deadline.
    pub(crate) fn wait_change(
        client: &Client,
        watch: &Receiver<crate::WatchedEvent>,
        life: &SessionLife,
        changed: &mut Receiver<()>,
        token: &CancelToken,
        deadline: Option<Instant>,
    ) -> Wake {
        use crate::session::WatchWake;
        let lost = life.signal();
        loop {
            // The session reads the socket on this thread while it can, so the predecessor's
            // deletion wakes us with no thread hop (the hand-off's latency).
            let signals = [token.signal(), &lost, &*changed];
            match client.shared().await_watch(watch, &signals, deadline) {
                WatchWake::Fired(Ok(crate::WatchedEvent {
                    kind: crate::WatchEventKind::NodeDeleted,
                    ..
                })) => return Wake::Deleted,
                WatchWake::Fired(_) => return Wake::Recheck,
                WatchWake::Signal(0) => {
                    if token.is_cancelled() {
                        return Wake::Cancelled;
                    }
                }
                WatchWake::Signal(1) => return Wake::Recheck,
                WatchWake::Signal(_) => {
                    let next = client.shared().next_change();
                    // Suspended: the watch may still fire after a resume; wait on.
                    if client.state() != SessionState::Suspended {
                        return Wake::Recheck;
                    }
                    *changed = next;
                }
                WatchWake::Deadline => return Wake::Deadline,
            }
        }
    }

    /// The queue: every contender's identifier, in order (two round trips).
    pub(crate) fn contenders(&self) -> Result<Vec<String>> {
        self.identifiers(|queue| queue.iter().map(|c| c.name).collect())
    }

    /// The identifiers of the current holders (two round trips).
    pub(crate) fn holders(&self) -> Result<Vec<String>> {
        self.identifiers(node_name::holders)
    }

    fn identifiers(
        &self,
        pick: impl for<'a> Fn(&[node_name::Contender<'a>]) -> Vec<&'a str>,
    ) -> Result<Vec<String>> {
        let children = match self.client.get_children(&self.path) {
            Ok(children) => children,
            Err(e) if e.is_no_node() => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let queue = node_name::queue(&children);
        let reads: Vec<_> = pick(&queue)
            .into_iter()
            .map(|name| self.client.get_node_async(&crate::path::join(&self.path, name)))
            .collect();
        let mut identifiers = Vec::with_capacity(reads.len());
        for read in reads {
            match read.wait() {
                Ok(node) => identifiers.push(String::from_utf8_lossy(&node.value).into_owned()),
                Err(e) if e.is_no_node() => {} // left meanwhile
                Err(e) => return Err(e),
            }
        }
        Ok(identifiers)
    }
}
