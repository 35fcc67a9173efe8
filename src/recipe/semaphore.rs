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
//! (a node made by `ensure_path`, say) is accepted.
//! Waiting contenders queue FIFO on the inner lock; only its holder watches `P`'s children.
//!
//! # Round trips
//!
//! An uncontended acquire costs **two**, the fewest this layout allows (the lease may only be
//! created once the inner lock is known to be ours and the pool counted under it): (1) read
//! (and check) `P`'s data, create the inner lock node, list the inner lock and list `P`,
//! pipelined — the first acquire of a `Semaphore` object also creates `P` if missing in the
//! same round trip; (2) create the lease (a create2: its creation zxid is the lease's fencing
//! token) and delete the inner lock node, pipelined, waiting only for the create (the inner
//! delete's reply is checked in the background, see `release.rs`). Dropping the lease puts its
//! delete on the wire without waiting. When the inner lock is busy it costs one more per wake-up (none
//! when the lock is handed over by the only contender ahead; see `lock.rs`) plus a listing of
//! `P`; when the pool is full, two per wake-up (list `P`, create).
//!
//! The pool listing of round (1) counts only if the inner listing sent right before it showed
//! the inner lock ours ([`lock::Held::fresh`]); on the first use of a path the inner lock path
//! is created on the way and that listing is stale, so `P` is listed again under the lock.
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

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crossbeam_channel::select;

use super::cancel::{CancelHandle, CancelToken};
use super::cleanup::{self, Target};
use super::create_stat::create_with_stat;
use super::holds::{self, Hold};
use super::lock::{self, reply, retryable, LockCore};
use super::node_name::{self, LockKind, SEMAPHORE_LOCK_SUFFIX};
use super::release;
use super::{Guard, NewRestriction, Restriction, Wait};
use crate::{Client, CreateOptions, Error, Result, SessionState};

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
    /// The pool node is known to exist: later acquires skip creating it and only read its data
    /// (still checked every time). Cleared if the pool vanishes.
    pool_checked: AtomicBool,
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
            pool_checked: AtomicBool::new(false),
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
        // Once the pool is known to exist, only its data is read (a cheap read; the create that
        // fails with NodeExists would go through the server's write pipeline every time).
        let pool_known = self.pool_checked.load(Ordering::SeqCst);
        let pool_create = (!pool_known).then(|| {
            client.create_async(
                &self.path,
                self.max_leases.to_string(),
                &CreateOptions::new().parents(),
            )
        });
        let pool_read = client.get_node_async(&self.path);
        let attempt = self.inner.begin();
        let pool_children = client.get_children_async(&self.path);

        // When P's parents were missing, the create made them and retried after the read had
        // already failed with NoNode: read again then.
        let read_pool = |pending| match reply(pending, deadline) {
            Err(e) if e.is_no_node() && !pool_known => {
                reply(client.get_node_async(&self.path), deadline)
            }
            other => other,
        };
        let pool = match pool_create.map(|create| reply(create, deadline)) {
            None | Some(Ok(_)) => read_pool(pool_read).map(|node| node.value),
            Some(Err(e)) if e.is_node_exists() => read_pool(pool_read).map(|node| node.value),
            Some(Err(e)) => Err(e),
        };
        if let Err(e) = pool.and_then(|data| self.check_pool(&data)) {
            self.inner.abandon(attempt, deadline);
            return self.retry_or_fail(e);
        }
        self.pool_checked.store(true, Ordering::SeqCst);

        let held = match self.inner.complete(attempt, wait, token)? {
            Some(held) => held,
            None => return Ok(Pass::Done(None)),
        };
        // The listing of P went out right after our inner create and listing. It is current
        // only if that inner listing already showed us holding the inner lock (`fresh`): then
        // P was listed under the lock. Otherwise (the inner lock path had to be created, or we
        // waited) leases may have been taken since, and P is listed again below.
        let mut listing = if held.fresh { reply(pool_children, deadline).ok() } else { None };
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

    /// Creates our lease and releases the inner lock, pipelined.
    fn take_lease(&self, held: &lock::Held, deadline: Option<Instant>) -> Result<Pass> {
        let client = &self.client;
        let lease = crate::path::join(&self.path, &node_name::uuid_hex());
        let create = create_with_stat(
            client,
            &lease,
            self.identifier.as_bytes(),
            &CreateOptions::new().ephemeral(),
        );
        // Released behind the create (the lease exists before the inner lock is free), and
        // not waited for: its reply would cost one more server write on the critical path.
        release::delete_without_waiting(client, &held.life, held.node.clone());
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
        if e.is_no_node() && self.pool_checked.swap(false, Ordering::SeqCst) {
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
        let deadline = match wait {
            Wait::Until(at) => Some(at),
            Wait::No | Wait::Forever => None,
        };
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
