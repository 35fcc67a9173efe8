//! A user's own lock types, plugged into zkcluster through `#[derive(Recipe)]`.
//!
//! Shared by the `custom_recipe` example and by `tests/derive_e2e.rs` (which includes this file
//! with `#[path]`), so the code the test checks is the code the example shows.
//!
//! - [`NewReadLock`] wraps the built-in [`ReadLock`], logs, and counts how often an acquire had
//!   to wait (a writer was ahead).
//! - [`NewWriteLock`] wraps the built-in [`WriteLock`] and logs how long each acquire took.
//! - [`NewSemaphore`] is a semaphore with its own node layout (not Kazoo's):
//!
//!   ```text
//!   P/mutex/...                         an inner WriteLock serializing acquires
//!   P/leases/lease-<id>-<nonce>-<seq>   one EPHEMERAL_SEQUENTIAL node per lease (data: identifier)
//!   ```
//!
//! [`NewZKRecipe`] is the recipe enum naming the three, as the seed's Python `NewZKRecipe(Enum)`
//! does by class name.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use zkcluster::channel::select;
use zkcluster::{
    guaranteed_delete_prefix, CancelHandle, CancelToken, Client, CreateOptions, Error, Guard,
    NewRestriction, OpResult, Pending, ReadLock, Recipe, Restriction, Result, SessionEvent, Wait,
    WriteLock,
};

/// The user's recipe enum: each variant names one of the lock types of this module.
///
/// ```ignore
/// let lock: NewZKRecipeRestriction = client.restrict("/p", NewZKRecipe::WriteLock, "worker-1", None)?;
/// let guard = lock.acquire()?;
/// assert_eq!("NewSemaphore".parse::<NewZKRecipe>()?, NewZKRecipe::Semaphore);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Recipe)]
pub enum NewZKRecipe {
    /// A shared lock that counts its waits.
    #[recipe(NewReadLock)]
    ReadLock,
    /// An exclusive lock that logs its acquire times.
    #[recipe(NewWriteLock)]
    WriteLock,
    /// A semaphore with its own lease layout.
    #[recipe(NewSemaphore)]
    Semaphore,
}

/// Waits counted by every [`NewReadLock`] of this process.
static READ_WAITS: AtomicU64 = AtomicU64::new(0);

/// How many acquires of any [`NewReadLock`] in this process had to wait.
///
/// ```ignore
/// let before = total_read_waits();
/// // ... a reader blocks behind a writer ...
/// assert!(total_read_waits() > before);
/// ```
pub fn total_read_waits() -> u64 {
    READ_WAITS.load(Ordering::SeqCst)
}

/// A [`ReadLock`] that logs and counts the acquires that had to wait.
///
/// An acquire first tries without waiting; only if a writer is ahead does it count a wait, log
/// it, and queue with the caller's [`Wait`].
///
/// ```ignore
/// let lock = NewReadLock::new_restriction(&client, "/p", "reader-1", None)?;
/// let guard = lock.acquire()?;
/// println!("{} of my acquires waited", lock.waits());
/// ```
pub struct NewReadLock {
    inner: ReadLock,
    identifier: String,
    waits: AtomicU64,
}

impl NewReadLock {
    /// How many acquires of this object had to wait.
    ///
    /// ```ignore
    /// let lock = NewReadLock::new_restriction(&client, "/p", "reader-1", None)?;
    /// assert_eq!(lock.waits(), 0);
    /// ```
    pub fn waits(&self) -> u64 {
        self.waits.load(Ordering::SeqCst)
    }
}

impl NewRestriction for NewReadLock {
    fn new_restriction(
        client: &Client,
        path: &str,
        identifier: &str,
        max_leases: Option<u32>,
    ) -> Result<Self> {
        Ok(NewReadLock {
            // ReadLock itself rejects `max_leases`.
            inner: ReadLock::new_restriction(client, path, identifier, max_leases)?,
            identifier: identifier.to_string(),
            waits: AtomicU64::new(0),
        })
    }
}

impl Restriction for NewReadLock {
    fn acquire_with(&self, wait: Wait) -> Result<Option<Guard>> {
        if wait == Wait::No {
            return self.inner.acquire_with(Wait::No);
        }
        // Taken before the first attempt, so a cancel during it is seen below. (A cancel in the
        // instant between this check and the blocking acquire's own token is missed; the
        // built-in locks avoid that by taking one token per acquire, which a wrapper cannot.)
        let token = self.inner.cancel_handle().token();
        if let Some(guard) = self.inner.acquire_with(Wait::No)? {
            log::debug!("{}: read lock {} free at once", self.identifier, self.path());
            return Ok(Some(guard));
        }
        let waits = self.waits.fetch_add(1, Ordering::SeqCst) + 1;
        READ_WAITS.fetch_add(1, Ordering::SeqCst);
        if token.is_cancelled() {
            return Err(Error::Cancelled { path: self.path().to_string() });
        }
        log::debug!("{}: read lock {} busy (a writer is ahead)", self.identifier, self.path());
        let started = Instant::now();
        let acquired = self.inner.acquire_with(wait);
        // The first wait of each object at info, the others at debug.
        let level = if waits == 1 { log::Level::Info } else { log::Level::Debug };
        match &acquired {
            Ok(Some(_)) => log::log!(
                level,
                "{}: read lock {} acquired after waiting {:?} behind a writer (wait #{waits})",
                self.identifier,
                self.path(),
                started.elapsed()
            ),
            Ok(None) => log::info!("{}: read lock {} wait ended", self.identifier, self.path()),
            Err(e) => log::info!("{}: read lock {} failed: {e}", self.identifier, self.path()),
        }
        acquired
    }

    fn contenders(&self) -> Result<Vec<String>> {
        self.inner.contenders()
    }

    fn lease_holders(&self) -> Result<Vec<String>> {
        self.inner.lease_holders()
    }

    fn cancel_handle(&self) -> CancelHandle {
        self.inner.cancel_handle()
    }

    fn path(&self) -> &str {
        self.inner.path()
    }
}

/// A [`WriteLock`] that logs how long each acquire took.
///
/// ```ignore
/// let lock = NewWriteLock::new_restriction(&client, "/p", "writer-1", None)?;
/// let guard = lock.acquire()?; // logs (at debug) "writer-1: write lock /p acquired in 2ms"
/// ```
pub struct NewWriteLock {
    inner: WriteLock,
    identifier: String,
}

impl NewRestriction for NewWriteLock {
    fn new_restriction(
        client: &Client,
        path: &str,
        identifier: &str,
        max_leases: Option<u32>,
    ) -> Result<Self> {
        Ok(NewWriteLock {
            inner: WriteLock::new_restriction(client, path, identifier, max_leases)?,
            identifier: identifier.to_string(),
        })
    }
}

impl Restriction for NewWriteLock {
    fn acquire_with(&self, wait: Wait) -> Result<Option<Guard>> {
        let started = Instant::now();
        let acquired = self.inner.acquire_with(wait);
        let took = started.elapsed();
        match &acquired {
            Ok(Some(_)) => {
                log::debug!("{}: write lock {} acquired in {took:?}", self.identifier, self.path())
            }
            Ok(None) => log::info!(
                "{}: write lock {} not acquired ({wait:?}) after {took:?}",
                self.identifier,
                self.path()
            ),
            Err(e) => log::info!("{}: write lock {} failed: {e}", self.identifier, self.path()),
        }
        acquired
    }

    fn contenders(&self) -> Result<Vec<String>> {
        self.inner.contenders()
    }

    fn lease_holders(&self) -> Result<Vec<String>> {
        self.inner.lease_holders()
    }

    fn cancel_handle(&self) -> CancelHandle {
        self.inner.cancel_handle()
    }

    fn path(&self) -> &str {
        self.inner.path()
    }
}

/// The name prefix of every lease node.
pub const LEASE_PREFIX: &str = "lease-";

/// At most `max_leases` holders at a path, with a node layout of its own.
///
/// Layout under the semaphore path `P`: an inner [`WriteLock`] at `P/mutex`, and one
/// `EPHEMERAL_SEQUENTIAL` node `P/leases/lease-<identifier>-<nonce>-<seq>` per lease (data: the
/// identifier; `<identifier>` is sanitized for the name, `<nonce>` is unique per attempt).
///
/// Guarantee: leases are only created by the holder of the inner lock, after counting the
/// `lease-*` children of `P/leases`, in a transaction that also checks the inner lock node still
/// exists; so there are never more than `max_leases` leases (as long as every contender uses
/// this type with the same `max_leases`). The holder of the inner lock waits for a lease with a
/// children watch on `P/leases`; everyone else queues on the inner lock.
///
/// Deadlines ([`Wait`]) cover the whole acquire; [`cancel_handle`](Restriction::cancel_handle)
/// cancels an acquire waiting either for the inner lock or for a lease. A failed, cancelled or
/// timed-out acquire leaves no node behind: the inner lock's guard deletes its node, and a lease
/// whose create reply was lost is deleted by its nonce with zkcluster's
/// [`guaranteed_delete_prefix`] (retried in the background until it is gone). The [`Guard`] deletes the
/// lease on release or drop. `P`, `P/mutex` and `P/leases` themselves stay (empty).
///
/// ```ignore
/// let sem = NewSemaphore::new_restriction(&client, "/fetchers", "worker-1", Some(2))?;
/// let lease = sem.acquire_timeout(Duration::from_secs(5))?;
/// println!("holders: {:?}", sem.lease_holders()?);
/// lease.release()?;
/// ```
pub struct NewSemaphore {
    client: Client,
    path: String,
    leases: String,
    identifier: String,
    max_leases: u32,
    mutex: WriteLock,
}

/// How one turn holding the inner lock ended.
enum Turn {
    /// A lease.
    Granted(Guard),
    /// No lease: `Wait::No` and the pool is full, or the deadline passed.
    NotNow,
    /// The inner lock was lost (session change) or a reply was lost: queue again.
    Retry(Error),
}

impl NewSemaphore {
    /// The number of leases this object was built with.
    ///
    /// ```ignore
    /// let sem = NewSemaphore::new_restriction(&client, "/fetchers", "worker-1", Some(2))?;
    /// assert_eq!(sem.max_leases(), 2);
    /// ```
    pub fn max_leases(&self) -> u32 {
        self.max_leases
    }

    /// The path of the directory holding the lease nodes (`P/leases`).
    ///
    /// ```ignore
    /// let sem = NewSemaphore::new_restriction(&client, "/fetchers", "worker-1", Some(2))?;
    /// assert_eq!(sem.leases_path(), "/fetchers/leases");
    /// ```
    pub fn leases_path(&self) -> &str {
        &self.leases
    }

    /// The path of the inner lock (`P/mutex`).
    ///
    /// ```ignore
    /// let sem = NewSemaphore::new_restriction(&client, "/fetchers", "worker-1", Some(2))?;
    /// assert_eq!(sem.mutex_path(), "/fetchers/mutex");
    /// ```
    pub fn mutex_path(&self) -> &str {
        self.mutex.path()
    }

    /// One turn under the inner lock: count the leases, take one if there is room, else wait
    /// for the lease directory to change.
    fn turn(
        &self,
        mutex: &Guard,
        wait: Wait,
        deadline: Option<Instant>,
        token: &CancelToken,
    ) -> Result<Turn> {
        let events = self.client.session_events();
        let lost = mutex.lost();
        loop {
            if token.is_cancelled() {
                return Err(Error::Cancelled { path: self.path.clone() });
            }
            let listed = within(self.client.get_children_watch_async(&self.leases), deadline);
            let (children, watch) = match listed {
                Ok(listed) => listed,
                Err(e) if retry_later(&e) => return Ok(Turn::Retry(e)),
                Err(e) => return Err(e),
            };
            let held = children.iter().filter(|c| c.starts_with(LEASE_PREFIX)).count();
            if held < self.max_leases as usize {
                return self.take_lease(mutex, deadline);
            }
            if wait == Wait::No {
                return Ok(Turn::NotNow);
            }
            log::debug!("{}: {held} leases of {} taken, waiting", self.identifier, self.path);
            let timer = deadline.map_or_else(zkcluster::channel::never, zkcluster::channel::at);
            loop {
                select! {
                    recv(watch) -> _ => break,
                    recv(token.signal()) -> _ => if token.is_cancelled() {
                        return Err(Error::Cancelled { path: self.path.clone() });
                    },
                    recv(lost) -> _ => return Ok(Turn::Retry(Error::SessionExpired {
                        op: "acquire",
                        path: self.path.clone(),
                    })),
                    recv(events) -> event => match event {
                        // The watch may still fire once the same session is resumed.
                        Ok(SessionEvent::Suspended { .. }) => {}
                        // Resumed, a new session, closed: look again (the listing tells).
                        Ok(_) => break,
                        Err(_) => return Err(Error::Closed),
                    },
                    recv(timer) -> _ => return Ok(Turn::NotNow),
                }
            }
        }
    }

    /// Creates a lease, in one transaction with a check that the inner lock node still exists
    /// (so a lease is never created by someone who lost the inner lock).
    fn take_lease(&self, mutex: &Guard, deadline: Option<Instant>) -> Result<Turn> {
        let Some(mutex_node) = mutex.nodes().first() else {
            return Err(Error::InvalidArgument {
                path: self.path.clone(),
                reason: "the inner lock's guard holds no node".into(),
            });
        };
        let session = self.client.session_id();
        let prefix = format!("{LEASE_PREFIX}{}-{:016x}-", sanitize(&self.identifier), nonce());
        let committed = within(
            self.client
                .transaction()
                // Lock nodes are never written to: version 0 while ours exists.
                .check(mutex_node, 0)
                .create(
                    &format!("{}/{prefix}", self.leases),
                    &self.identifier,
                    &CreateOptions::new().ephemeral().sequential(),
                )
                .commit_async(),
            deadline,
        );
        let results = match committed {
            Ok(results) => results,
            // The inner lock node is gone (its session ended): queue again.
            Err(e @ Error::Transaction { .. }) => return Ok(Turn::Retry(e)),
            Err(e) if retry_later(&e) => {
                // The lease may or may not have been created: make sure it is not left behind.
                let _ = guaranteed_delete_prefix(&self.client, &self.leases, &prefix);
                return Ok(Turn::Retry(e));
            }
            Err(e) => return Err(e),
        };
        let created = results.into_iter().find_map(|r| match r {
            OpResult::Created { path, .. } => Some(path),
            _ => None,
        });
        let Some(node) = created else {
            let _ = guaranteed_delete_prefix(&self.client, &self.leases, &prefix);
            return Err(Error::InvalidArgument {
                path: self.path.clone(),
                reason: "the server's transaction reply has no created node".into(),
            });
        };
        let guard = Guard::new(&self.client, &self.path, vec![node]);
        if self.client.session_id() != session {
            // The session changed after the create: the lease went with the old one, and the
            // guard must not claim it. (Dropping it deletes nothing that still exists.)
            drop(guard);
            return Ok(Turn::Retry(Error::SessionExpired {
                op: "acquire",
                path: self.path.clone(),
            }));
        }
        log::debug!("{}: lease {:?} taken at {}", self.identifier, guard.nodes(), self.path);
        Ok(Turn::Granted(guard))
    }

    /// The lease nodes, oldest first, with the identifiers they hold.
    fn leases(&self) -> Result<Vec<String>> {
        let children = match self.client.get_children(&self.leases) {
            Ok(children) => children,
            Err(e) if e.is_no_node() => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut names: Vec<&String> =
            children.iter().filter(|c| c.starts_with(LEASE_PREFIX)).collect();
        names.sort_by_key(|name| (sequence_of(name), name.to_string()));
        let reads: Vec<_> = names
            .into_iter()
            .map(|name| self.client.get_node_async(&format!("{}/{name}", self.leases)))
            .collect();
        let mut identifiers = Vec::with_capacity(reads.len());
        for read in reads {
            match read.wait() {
                Ok(node) => identifiers.push(String::from_utf8_lossy(&node.value).into_owned()),
                Err(e) if e.is_no_node() => {} // released meanwhile
                Err(e) => return Err(e),
            }
        }
        Ok(identifiers)
    }
}

impl NewRestriction for NewSemaphore {
    /// No server call. Fails with [`Error::InvalidArgument`] unless `max_leases` is at least 1.
    fn new_restriction(
        client: &Client,
        path: &str,
        identifier: &str,
        max_leases: Option<u32>,
    ) -> Result<Self> {
        let max_leases = match max_leases {
            Some(n) if n > 0 => n,
            other => {
                return Err(Error::InvalidArgument {
                    path: path.to_string(),
                    reason: format!(
                        "a NewSemaphore needs max_leases of at least 1 (got {other:?})"
                    ),
                })
            }
        };
        let base = path.trim_end_matches('/');
        Ok(NewSemaphore {
            client: client.clone(),
            path: path.to_string(),
            leases: format!("{base}/leases"),
            identifier: identifier.to_string(),
            max_leases,
            mutex: WriteLock::new_restriction(client, &format!("{base}/mutex"), identifier, None)?,
        })
    }
}

impl Restriction for NewSemaphore {
    fn acquire_with(&self, wait: Wait) -> Result<Option<Guard>> {
        // The inner lock's handle is ours too: one cancel reaches both kinds of waiting.
        let token = self.mutex.cancel_handle().token();
        let deadline = match wait {
            Wait::Until(at) => Some(at),
            Wait::No | Wait::Forever => None,
        };
        loop {
            match within(
                self.client.create_async(&self.leases, "", &CreateOptions::new().parents()),
                deadline,
            ) {
                Ok(_) => {}
                Err(e) if e.is_node_exists() => {}
                Err(e) => return Err(e),
            }
            if token.is_cancelled() {
                return Err(Error::Cancelled { path: self.path.clone() });
            }
            // Queue for the inner lock with the same wait (the deadline is absolute).
            let Some(mutex) = self.mutex.acquire_with(wait)? else {
                return Ok(None);
            };
            let turn = self.turn(&mutex, wait, deadline, &token);
            // Releasing the inner lock: dropping its guard deletes the node (in the background
            // if the server cannot be reached now).
            drop(mutex);
            match turn? {
                Turn::Granted(lease) => return Ok(Some(lease)),
                Turn::NotNow => return Ok(None),
                Turn::Retry(e) => {
                    log::debug!("{}: acquire of {} starts over: {e}", self.identifier, self.path);
                    if wait == Wait::No {
                        return Err(e);
                    }
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        return Ok(None);
                    }
                    // Not a busy loop while the connection is down: the next round waits for it
                    // in the inner lock's acquire; this pause only spaces out quick failures.
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
    }

    /// The lease holders (oldest first), then the queue for the inner lock.
    fn contenders(&self) -> Result<Vec<String>> {
        let mut all = self.leases()?;
        all.extend(self.mutex.contenders()?);
        Ok(all)
    }

    /// The identifiers of the current lease holders, oldest lease first.
    fn lease_holders(&self) -> Result<Vec<String>> {
        self.leases()
    }

    fn cancel_handle(&self) -> CancelHandle {
        self.mutex.cancel_handle()
    }

    fn path(&self) -> &str {
        &self.path
    }
}

/// The least time a reply is given, even when the deadline is nearer.
const MIN_REPLY_WAIT: Duration = Duration::from_millis(200);

/// Waits for a reply, no longer than the deadline allows (but at least [`MIN_REPLY_WAIT`]).
fn within<T>(pending: Pending<T>, deadline: Option<Instant>) -> Result<T> {
    match deadline {
        Some(d) => {
            pending.wait_timeout(d.saturating_duration_since(Instant::now()).max(MIN_REPLY_WAIT))
        }
        None => pending.wait(),
    }
}

/// Whether starting the acquire over may succeed.
fn retry_later(e: &Error) -> bool {
    e.is_retryable() || e.is_session_expired()
}

/// `identifier` reduced to characters that are safe in a node name.
fn sanitize(identifier: &str) -> String {
    let safe: String = identifier
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' })
        .take(64)
        .collect();
    if safe.is_empty() {
        "_".to_string()
    } else {
        safe
    }
}

/// A number unlikely to repeat, to find a lease whose create reply was lost.
fn nonce() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u32(std::process::id());
    hasher.finish()
}

/// The sequence number ZooKeeper appended to a lease name (`u64::MAX` for a foreign name, so it
/// sorts last instead of failing).
fn sequence_of(name: &str) -> u64 {
    name.rsplit('-').next().and_then(|seq| seq.parse().ok()).unwrap_or(u64::MAX)
}
