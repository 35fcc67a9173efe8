//! [`Semaphore`]: at most `max_leases` holders at once, compatible with Kazoo's `Semaphore`.
//!
//! # Guarantee
//!
//! The pool is the semaphore path `P` itself; each holder owns one ephemeral child `P/<uuid>`
//! (data: its identifier) and *every* child of `P` counts as a lease. Leases are only created
//! by a contender holding the inner [`WriteLock`](super::WriteLock) at the sibling path
//! `P-__lock__`, after counting `P`'s children, so the count never exceeds `max_leases` as long
//! as everyone (Kazoo included) uses the same protocol. `P`'s data is `max_leases` as a decimal
//! string, written when `P` is created; an acquire that finds another number there fails with
//! [`Error::LeaseMismatch`] naming both; data that is not a number fails with
//! [`Error::InvalidArgument`] naming the path (Kazoo's `int()` refuses it too), and empty data
//! (a node made by `ensure_path`, say) is accepted. The data is read by an object's first
//! acquire and again whenever the stat of `P` that every acquire's listing carries shows
//! another node (another creation zxid) or other data (another version) than was checked.
//! Waiting contenders queue FIFO on the inner lock; only its holder watches `P`'s children.
//!
//! # Round trips
//!
//! An uncontended acquire costs **one**: (1) create the inner lock node, list the inner lock,
//! list `P` with its stat (a getChildren2, which also vouches for the checked pool data) and
//! create the lease (a create2: its creation zxid is the lease's fencing token), all
//! pipelined; then the inner lock node's delete goes on the
//! wire without waiting (its reply is checked in the background, see `release.rs`), and so
//! does the lease's delete when the guard is dropped. ZooKeeper runs a session's requests in
//! order, so when the replies show the inner lock ours at its listing and room in the pool,
//! the lease was created under the inner lock after counting `P` — Kazoo's protocol, only
//! without waiting between its steps, and the fewest round trips its layout allows.
//!
//! Sending the lease before seeing the count is optimistic: it is done only when the previous
//! acquire through this object found the inner lock free and room in the pool (not on the
//! first acquire, which also creates `P` if missing and reads its data in the same round trip). When the replies show the inner lock
//! busy or the pool full, the lease is not ours: it is deleted (waited for) before anything
//! else, and the next acquires go the cautious way, two round trips: (1) as above without the
//! lease, (2) the lease's create and the inner delete, pipelined, waiting only for the create.
//! When the inner lock is busy an acquire costs one more per wake-up (none when the lock is
//! handed over by the only contender ahead; see `lock.rs`) plus a listing of `P`; when the
//! pool is full, two per wake-up (list `P`, create).
//!
//! The pool listing of round (1) counts only if the inner listing sent right before it showed
//! the inner lock ours ([`lock::Settled::holds_fresh`]); on the first use of a path the inner
//! lock path is created on the way and that listing is stale, so `P` is listed again under the
//! lock (and an optimistic lease is withdrawn).
//!
//! # Failure modes
//!
//! - As for the locks: no failed, cancelled or timed-out acquire leaves a lease or an inner
//!   lock node behind (deletion retried in the background when the server is unreachable).
//! - A lease create whose reply is lost is not adopted: the node is deleted (if it exists) and
//!   the acquire starts over with a new uuid.
//! - Session loss while waiting: the inner lock node is gone; the acquire starts over in the
//!   new session. Session loss while holding: the lease is gone, [`Guard::lost`] fires.
//! - A non-cooperating client that adds children to `P` takes leases away (they count).
//! - A withdrawn optimistic lease is a child of `P` for about one round trip: anyone counting
//!   then counts one lease more (it can only make them wait, never admit more holders), and
//!   Kazoo's `lease_holders` may list it meanwhile. Its delete wakes whoever waits on a full
//!   pool, like any release.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crossbeam_channel::select;

use super::cancel::{CancelHandle, CancelToken};
use super::cleanup::{self, Target};
use super::create_stat::{create_with_stat, Created};
use super::holds::{self, Hold};
use super::lock::{self, reply, retryable, LockCore};
use super::node_name::{self, LockKind, SEMAPHORE_LOCK_SUFFIX};
use super::release;
use super::{Guard, NewRestriction, Restriction, Wait};
use crate::session::SessionLife;
use crate::{Client, CreateOptions, Error, Pending, Result, SessionState, Stat, ZookeeperNode};

/// At most `max_leases` holders at a path.
///
/// `Send + Sync`: share it between threads with an `Arc`; each acquire takes its own lease.
///
/// ```no_run
/// use zkcluster::{Client, Restriction, ZookeeperRecipe};
/// # fn main() -> zkcluster::Result<()> {
/// let client = Client::connect("127.0.0.1:2181")?;
/// let sem = client.restrict("/crawler/fetchers", ZookeeperRecipe::Semaphore, "worker-1", Some(4))?;
/// let lease = sem.acquire()?;
/// let holders: Vec<String> = sem.lease_holders()?;
/// assert!(holders.contains(&"worker-1".to_string()));
/// lease.release()?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Semaphore {
    client: Client,
    path: String,
    identifier: String,
    max_leases: u32,
    inner: LockCore,
    cancel: CancelHandle,
    /// The pool node as last checked: later acquires neither create nor read it, and check
    /// the stat their listing of `P` carries against this instead (a pool re-created or
    /// rewritten since is read and checked again). `None` until checked, or once it vanished.
    pool: Mutex<Option<PoolStamp>>,
    /// The last acquire found the inner lock free and room in the pool: the next one sends
    /// its lease in the first round trip too (see the module docs). Cleared when that fails.
    optimistic: AtomicBool,
}

/// Which pool node was checked, and which data of it: a node re-created at the path has
/// another creation zxid, rewritten data another version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PoolStamp {
    czxid: i64,
    version: i32,
}

impl PoolStamp {
    fn of(stat: &Stat) -> PoolStamp {
        PoolStamp { czxid: stat.czxid, version: stat.version }
    }
}

/// A lease create on the wire.
struct SentLease {
    path: String,
    create: Pending<Created>,
    /// The session current once it was sent.
    life: Arc<SessionLife>,
}

impl NewRestriction for Semaphore {
    /// No server call. Fails with [`Error::InvalidArgument`] when `max_leases` is missing or 0.
    fn new_restriction(
        client: &Client,
        path: &str,
        identifier: &str,
        max_leases: Option<u32>,
    ) -> Result<Self> {
        let max_leases = match max_leases {
            Some(n) if n > 0 => n,
            Some(_) => {
                return Err(Error::InvalidArgument {
                    path: path.to_string(),
                    reason: "a Semaphore needs max_leases of at least 1 (got Some(0))".into(),
                })
            }
            None => {
                return Err(Error::InvalidArgument {
                    path: path.to_string(),
                    reason: "a Semaphore needs max_leases (got None)".into(),
                })
            }
        };
        let inner = LockCore::new(
            client,
            &format!("{path}{SEMAPHORE_LOCK_SUFFIX}"),
            identifier,
            LockKind::Write,
        )?;
        Ok(Semaphore {
            client: client.clone(),
            path: path.to_string(),
            identifier: identifier.to_string(),
            max_leases,
            inner,
            cancel: CancelHandle::new(),
            pool: Mutex::new(None),
            optimistic: AtomicBool::new(false),
        })
    }
}

/// What one pass of the acquire ended with.
enum Pass {
    Done(Option<Guard>),
    /// Start over (session changed, reply lost): the error says why.
    Retry(Error),
}

impl Semaphore {
    /// The number of leases this object was created with.
    ///
    /// ```no_run
    /// # use zkcluster::{Client, NewRestriction, Semaphore};
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = Client::connect("127.0.0.1:2181")?;
    /// let sem = Semaphore::new_restriction(&client, "/crawler/fetchers", "w", Some(4))?;
    /// assert_eq!(sem.max_leases(), 4);
    /// # Ok(())
    /// # }
    /// ```
    pub fn max_leases(&self) -> u32 {
        self.max_leases
    }

    /// Checks the pool's stored `max_leases` against ours.
    fn check_pool(&self, data: &[u8]) -> Result<()> {
        // Empty: made by someone else (`ensure_path`, say) before any semaphore wrote it.
        if data.is_empty() {
            return Ok(());
        }
        let Some(stored) =
            std::str::from_utf8(data).ok().and_then(|t| t.trim().parse::<i64>().ok())
        else {
            // Kazoo's int() refuses it too: this node is not a semaphore's pool.
            return Err(Error::InvalidArgument {
                path: self.path.clone(),
                reason: format!(
                    "the semaphore's pool node holds {:?}, not a number of leases; it is not a \
                     semaphore (or one of another layout) — use another path",
                    String::from_utf8_lossy(&data[..data.len().min(64)])
                ),
            });
        };
        if stored == i64::from(self.max_leases) {
            return Ok(());
        }
        Err(match u32::try_from(stored) {
            Ok(stored) => {
                Error::LeaseMismatch { path: self.path.clone(), stored, requested: self.max_leases }
            }
            Err(_) => Error::InvalidArgument {
                path: self.path.clone(),
                reason: format!(
                    "semaphore holds max_leases {stored}, but {} was requested",
                    self.max_leases
                ),
            },
        })
    }

    /// One pass: pool check and inner lock (pipelined), then a lease under the inner lock.
    fn pass(&self, wait: Wait, deadline: Option<Instant>, token: &CancelToken) -> Result<Pass> {
        let client = &self.client;
        // Once the pool is checked it is neither created nor read again: the listing of P,
        // a getChildren2, carries P's stat, which says whether P is still the node checked.
        let known = *self.pool.lock().unwrap_or_else(|p| p.into_inner());
        // Corked: the whole pipeline in one write.
        let (pool_create, pool_read, attempt, pool_children, optimistic) =
            client.shared().corked(|| {
                let pool_create = known.is_none().then(|| {
                    client.create_async(
                        &self.path,
                        self.max_leases.to_string(),
                        &CreateOptions::new().parents(),
                    )
                });
                let pool_read = known.is_none().then(|| client.get_node_async(&self.path));
                let attempt = self.inner.begin();
                let pool_children = client.get_children_with_stat_async(&self.path);
                // Behind the count, on the server as in Kazoo's order (see the module docs).
                let optimistic = (known.is_some() && self.optimistic.load(Ordering::SeqCst))
                    .then(|| self.send_lease());
                (pool_create, pool_read, attempt, pool_children, optimistic)
            });

        let (children, checked) = match (known, reply(pool_children, deadline)) {
            (None, listed) => (
                listed.ok().map(|(children, _)| children),
                self.create_and_check(pool_create, pool_read, deadline),
            ),
            (Some(stamp), Ok((children, stat))) if PoolStamp::of(&stat) == stamp => {
                (Some(children), Ok(()))
            }
            // Re-created or rewritten since we checked it: check it again.
            (Some(_), Ok((children, _))) => (
                Some(children),
                self.create_and_check(None, Some(client.get_node_async(&self.path)), deadline),
            ),
            (Some(_), Err(e)) => (None, Err(e)),
        };
        if let Err(e) = checked {
            self.inner.abandon(attempt, deadline);
            if let Some(sent) = optimistic {
                self.withdraw(sent, deadline);
            }
            return self.retry_or_fail(e);
        }

        let settled = self.inner.settle(attempt, deadline);
        // The listing of P went out right after our inner create and listing. It is current
        // only if that inner listing already showed us holding the inner lock (`fresh`): then
        // P was listed under the lock. Otherwise (the inner lock path had to be created, or we
        // waited) leases may have been taken since, and P is listed again below.
        let fresh = settled.holds_fresh();
        let mut listing = if fresh { children } else { None };
        let room = listing.as_ref().is_some_and(|c| c.len() < self.max_leases as usize);
        if let Some(sent) = optimistic {
            let same_session = settled.life().is_some_and(|life| Arc::ptr_eq(life, &sent.life));
            if room && same_session {
                // Created under the inner lock, after the count: ours. Completing a fresh
                // holder sends nothing.
                return match self.inner.complete_settled(settled, wait, token) {
                    Ok(Some(held)) => self.finish_lease(&held, sent, deadline),
                    other => {
                        // Cancelled (the inner node is given up already).
                        self.withdraw(sent, deadline);
                        other.map(|_| Pass::Done(None))
                    }
                };
            }
            // Busy or full: the lease is not ours to keep. Gone before we wait or list again.
            self.optimistic.store(false, Ordering::SeqCst);
            self.withdraw(sent, deadline);
        }

        let held = match self.inner.complete_settled(settled, wait, token)? {
            Some(held) => held,
            None => return Ok(Pass::Done(None)),
        };
        if !held.fresh {
            listing = None;
        }
        // Room at the first count, under a lock that was free: optimistic next time.
        self.optimistic.store(room && held.fresh, Ordering::SeqCst);
        // Without waiting: a try_acquire of a full pool costs its one round trip only.
        let release_inner = |held: &lock::Held| {
            release::delete_without_waiting(client, &held.life, held.node.clone());
        };
        // Taken before each watched listing, so no reconnect after it goes unseen.
        let mut changed = client.shared().next_change();
        loop {
            if token.is_cancelled() {
                release_inner(&held);
                return Err(Error::Cancelled { path: self.path.clone() });
            }
            let (children, watch) = match listing.take() {
                Some(children) => (children, None),
                None => {
                    let listed = if wait == Wait::No {
                        reply(client.get_children_async(&self.path), deadline).map(|c| (c, None))
                    } else {
                        changed = client.shared().next_change();
                        reply(client.get_children_watch_async(&self.path), deadline)
                            .map(|(c, w)| (c, Some(w)))
                    };
                    match listed {
                        Ok(listed) => listed,
                        Err(e) => {
                            release_inner(&held);
                            return self.retry_or_fail(e);
                        }
                    }
                }
            };
            if held.life.has_ended() {
                return Ok(Pass::Retry(Error::SessionExpired {
                    op: "acquire",
                    path: self.path.clone(),
                }));
            }
            if children.len() < self.max_leases as usize {
                return self.take_lease(&held, deadline);
            }
            let Some(watch) = watch else {
                if wait == Wait::No {
                    release_inner(&held);
                    return Ok(Pass::Done(None));
                }
                continue; // the listing from the first round trip: list again with a watch
            };
            let timer = deadline.map_or_else(crossbeam_channel::never, crossbeam_channel::at);
            let lost = held.life.signal();
            let woke_by_session = loop {
                select! {
                    recv(watch) -> _ => break false,
                    recv(token.signal()) -> _ => if token.is_cancelled() {
                        release_inner(&held);
                        return Err(Error::Cancelled { path: self.path.clone() });
                    },
                    recv(lost) -> _ => break true,
                    recv(changed) -> _ => {
                        let next = client.shared().next_change();
                        // Suspended: the watch may still fire after a resume; wait on.
                        if client.state() != SessionState::Suspended {
                            break true;
                        }
                        changed = next;
                    },
                    recv(timer) -> _ => {
                        release_inner(&held);
                        return Ok(Pass::Done(None));
                    }
                }
            };
            if woke_by_session && held.life.has_ended() {
                return Ok(Pass::Retry(Error::SessionExpired {
                    op: "acquire",
                    path: self.path.clone(),
                }));
            }
        }
    }

    /// Waits for the pool's create (when sent) and read, checks its data and remembers what
    /// was checked.
    fn create_and_check(
        &self,
        create: Option<Pending<String>>,
        read: Option<Pending<ZookeeperNode>>,
        deadline: Option<Instant>,
    ) -> Result<()> {
        let client = &self.client;
        let creating = create.is_some();
        // When P's parents were missing, the create made them and retried after the read had
        // already failed with NoNode: read again then.
        let read_pool = |pending: Option<Pending<ZookeeperNode>>| {
            let pending = pending.unwrap_or_else(|| client.get_node_async(&self.path));
            match reply(pending, deadline) {
                Err(e) if e.is_no_node() && creating => {
                    reply(client.get_node_async(&self.path), deadline)
                }
                other => other,
            }
        };
        let node = match create.map(|create| reply(create, deadline)) {
            None | Some(Ok(_)) => read_pool(read)?,
            Some(Err(e)) if e.is_node_exists() => read_pool(read)?,
            Some(Err(e)) => return Err(e),
        };
        self.check_pool(&node.value)?;
        *self.pool.lock().unwrap_or_else(|p| p.into_inner()) = Some(PoolStamp::of(&node.stat));
        Ok(())
    }

    /// Sends the create of a new lease node (a create2: its creation zxid is the fencing token).
    fn send_lease(&self) -> SentLease {
        let path = crate::path::join(&self.path, &node_name::uuid_hex());
        let create = create_with_stat(
            &self.client,
            &path,
            self.identifier.as_bytes(),
            &CreateOptions::new().ephemeral(),
        );
        SentLease { path, create, life: self.client.shared().life() }
    }

    /// Takes back a lease sent without the inner lock: deletes it if it was created, waiting
    /// for the delete (a listing of P by anyone after we return must not count it), or leaves
    /// it to the cleanup worker when its create's outcome is unknown.
    fn withdraw(&self, sent: SentLease, deadline: Option<Instant>) {
        let client = &self.client;
        match reply(sent.create, deadline) {
            Ok(_) => cleanup::delete_by(client, &sent.life, Target::Node(sent.path), deadline),
            Err(e) if e.is_connection_loss() || e.is_timeout() => {
                cleanup::hand_over(client, &sent.life, Target::Node(sent.path));
            }
            Err(_) => {} // not created (the pool is gone, the session ended)
        }
    }

    /// Creates our lease and releases the inner lock, pipelined.
    fn take_lease(&self, held: &lock::Held, deadline: Option<Instant>) -> Result<Pass> {
        let sent = self.send_lease();
        self.finish_lease(held, sent, deadline)
    }

    /// Releases the inner lock behind our lease's create and waits for the create: the lease
    /// is ours if it was created in the inner lock's session.
    fn finish_lease(
        &self,
        held: &lock::Held,
        sent: SentLease,
        deadline: Option<Instant>,
    ) -> Result<Pass> {
        let client = &self.client;
        let SentLease { path: lease, create, life } = sent;
        // Released behind the create (the lease exists before the inner lock is free), and
        // not waited for: its reply would cost one more server write on the critical path.
        release::delete_without_waiting(client, &held.life, held.node.clone());
        if !Arc::ptr_eq(&life, &held.life) {
            // Sent in another session than the inner lock's: not created under it.
            drop(create);
            cleanup::hand_over(client, &life, Target::Node(lease));
            return Ok(Pass::Retry(Error::SessionExpired {
                op: "acquire",
                path: self.path.clone(),
            }));
        }
        match reply(create, deadline) {
            Ok((_, stat)) if !held.life.has_ended() => {
                let ticket =
                    holds::record(client, &self.path, Hold::Lease(self.max_leases), &held.life);
                Ok(Pass::Done(Some(Guard::granted(
                    client,
                    &self.path,
                    vec![lease],
                    held.life.clone(),
                    stat.czxid,
                    Some(ticket),
                ))))
            }
            Ok(_) => {
                // Created, but the session it belongs to is uncertain: drop it, start over.
                cleanup::hand_over(client, &client.shared().life(), Target::Node(lease));
                Ok(Pass::Retry(Error::SessionExpired { op: "acquire", path: self.path.clone() }))
            }
            Err(e) if retryable(&e) => {
                // The lease may or may not exist: make sure it does not, start over.
                cleanup::hand_over(client, &client.shared().life(), Target::Node(lease));
                Ok(Pass::Retry(e))
            }
            Err(e) => self.retry_or_fail(e),
        }
    }

    /// A transient error starts the acquire over; so does a pool that vanished since we checked
    /// it (deleted by someone): the next pass creates and checks it again.
    fn retry_or_fail(&self, e: Error) -> Result<Pass> {
        if e.is_no_node() && self.pool.lock().unwrap_or_else(|p| p.into_inner()).take().is_some() {
            return Ok(Pass::Retry(e));
        }
        if retryable(&e) {
            Ok(Pass::Retry(e))
        } else {
            Err(e)
        }
    }

    /// The identifiers of `names` (children of P), oldest lease first.
    fn lease_identifiers(&self) -> Result<Vec<String>> {
        let children = match self.client.get_children(&self.path) {
            Ok(children) => children,
            Err(e) if e.is_no_node() => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let reads: Vec<_> = children
            .iter()
            .map(|c| self.client.get_node_async(&crate::path::join(&self.path, c)))
            .collect();
        let mut leases = Vec::with_capacity(reads.len());
        for read in reads {
            match read.wait() {
                Ok(node) => leases
                    .push((node.stat.czxid, String::from_utf8_lossy(&node.value).into_owned())),
                Err(e) if e.is_no_node() => {}
                Err(e) => return Err(e),
            }
        }
        leases.sort_by_key(|(czxid, _)| *czxid);
        Ok(leases.into_iter().map(|(_, id)| id).collect())
    }
}

impl Restriction for Semaphore {
    /// Fails at once with [`Error::WouldDeadlock`] when this thread already holds every lease.
    fn acquire_with(&self, wait: Wait) -> Result<Option<Guard>> {
        holds::check(&self.client, &self.path, Hold::Lease(self.max_leases))?;
        if wait == Wait::No {
            lock::connected_now(&self.client, &self.path)?;
        }
        let token = self.cancel.token();
        let deadline = lock::deadline_of(wait);
        loop {
            match self.pass(wait, deadline, &token)? {
                Pass::Done(guard) => return Ok(guard),
                Pass::Retry(e) => {
                    if wait == Wait::No {
                        return Err(e);
                    }
                    if token.is_cancelled() {
                        return Err(Error::Cancelled { path: self.path.clone() });
                    }
                    if lock::passed(deadline)
                        || !lock::wait_connected(&self.client, &self.path, deadline, &token)?
                    {
                        return Ok(None);
                    }
                }
            }
        }
    }

    /// The lease holders (oldest first), then the contenders queued for a lease (four round
    /// trips).
    fn contenders(&self) -> Result<Vec<String>> {
        let mut all = self.lease_identifiers()?;
        all.extend(self.inner.contenders()?);
        Ok(all)
    }

    /// The identifiers of the current lease holders, oldest lease first (two round trips).
    fn lease_holders(&self) -> Result<Vec<String>> {
        self.lease_identifiers()
    }

    fn cancel_handle(&self) -> CancelHandle {
        self.cancel.clone()
    }

    fn path(&self) -> &str {
        &self.path
    }
}
