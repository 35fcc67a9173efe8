//! The guard every acquire returns: proof of holding a lock or a semaphore lease, a fencing
//! token, fenced writes and a lease deadline.
//!
//! Guarantee: while [`Guard::status`] is [`GuardStatus::Held`], the guard's node exists on the
//! server under a live session, so no conflicting holder can exist. That status is computed
//! when asked, from [`Guard::valid_until`]: the send time of the last request the server
//! answered plus the session timeout (less a margin), the latest instant until which the server
//! cannot have expired the session. A process that resumes after a long stop (GC-like pause,
//! SIGSTOP) past that instant sees [`Uncertain`](GuardStatus::Uncertain) on its first check,
//! before the session thread has noticed anything.
//!
//! Locks are advisory: a holder paused past its session timeout may still act on the lock
//! after someone else got it. Two tools close that gap:
//! - [`Guard::fencing_token`]: the creation zxid of the node that granted the lock, strictly
//!   increasing across successive grants (any session, Kazoo's included, and re-created
//!   paths). A store outside ZooKeeper that remembers the highest token it has seen and refuses
//!   lower ones cannot be written by a stale holder.
//! - [`Guard::transaction`] and the fenced writes built on it: ZooKeeper writes that the server
//!   applies only if the guard's node still exists, in the same atomic transaction; otherwise
//!   they fail with [`Error::is_lock_lost`](crate::Error::is_lock_lost) and nothing is applied.
//!
//! Failure modes:
//! - The connection breaks (`Suspended`): the session, and so the lock, may survive or not. The
//!   guard is [`Uncertain`](GuardStatus::Uncertain) until the client reconnects (`Held` again)
//!   or learns the session is gone ([`Lost`](GuardStatus::Lost)). A careful holder stops
//!   writing shared state while the guard is not [`is_valid`](Guard::is_valid).
//! - The session expires: the server has deleted the node and someone else may hold the lock
//!   now. [`Guard::lost`] fires, so a worker can stop at once.
//! - Dropping the guard puts the deletion on the wire and returns (no round trip waited for);
//!   the session keeps requests in order, so this thread's next acquire goes after it. A
//!   deletion that fails is retried in the background until it succeeds or the session ends.
//!   [`Guard::release`] waits for it and reports errors.

use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::Receiver;

use super::cleanup::{self, Target};
use super::fence::Fence;
use super::holds::Ticket;
use super::release;
use crate::session::SessionLife;
use crate::{Client, CreateOptions, Error, OpResult, Result, SessionState, Stat, Transaction};

/// Whether a [`Guard`] still holds its lock.
///
/// ```no_run
/// use zkcluster::{Client, GuardStatus, Restriction, ZookeeperRecipe};
/// # fn main() -> zkcluster::Result<()> {
/// let client = Client::connect("127.0.0.1:2181")?;
/// let lock = client.restrict("/crawler/frontier", ZookeeperRecipe::WriteLock, "worker-1", None)?;
/// let guard = lock.acquire()?;
/// match guard.status() {
///     GuardStatus::Held => println!("safe to write"),
///     GuardStatus::Uncertain => println!("disconnected: pause writes until it is Held again"),
///     GuardStatus::Lost => println!("session gone: someone else may hold the lock now"),
///     GuardStatus::Released => unreachable!("not released yet"),
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GuardStatus {
    /// Connected, same session, and within [`Guard::valid_until`]: the lock is held for sure.
    Held,
    /// The connection is broken, or nothing was heard from the server for so long that it may
    /// have expired the session ([`Guard::valid_until`] has passed): the lock may or may not
    /// still be held.
    Uncertain,
    /// The session ended (or the client was closed): the lock is gone.
    Lost,
    /// Released with [`Guard::unlock`].
    Released,
}

/// Proof of holding a lock or a semaphore lease; releases it when dropped.
///
/// `Send + Sync`. Dropping the guard puts the deletion of its node on the wire and returns
/// without waiting (a deletion that fails is retried in the background);
/// [`release`](Guard::release) waits for it and reports errors. See the module docs of
/// `guard.rs` for the fencing token, fenced writes and the lease deadline.
///
/// ```no_run
/// use zkcluster::{Client, Restriction, ZookeeperRecipe};
/// # fn main() -> zkcluster::Result<()> {
/// let client = Client::connect("127.0.0.1:2181")?;
/// let lock = client.restrict("/jobs/lock", ZookeeperRecipe::WriteLock, "worker-1", None)?;
/// let guard = lock.acquire()?;
/// for page in 0..100 {
///     if !guard.is_valid() {
///         break; // stop writing: the lock may be gone
///     }
///     // ... crawl `page`, record it only while the lock is ours:
///     guard.set_value_to_node("/jobs/last-page", page.to_string())?;
/// }
/// guard.release()?; // or just drop it
/// # Ok(())
/// # }
/// ```
#[must_use = "dropping a guard releases the lock at once"]
pub struct Guard {
    client: Client,
    path: String,
    nodes: Vec<String>,
    life: Arc<SessionLife>,
    token: i64,
    released: bool,
    /// This thread's hold, for refusing acquires that would wait for themselves.
    hold: Option<Ticket>,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("path", &self.path)
            .field("nodes", &self.nodes)
            .field("fencing_token", &self.token)
            .field("status", &self.status())
            .finish()
    }
}

/// The part of the session timeout not relied on: covers clock-rate differences between this
/// machine and the server's.
const MARGIN_DIVISOR: u32 = 20;

impl Guard {
    /// A guard over `nodes` (absolute paths) that this client's current session created for the
    /// lock at `path`; releasing it deletes them. For users' own lock types. Its fencing token
    /// is 0 unless set with [`with_fencing_token`](Self::with_fencing_token).
    ///
    /// ```no_run
    /// use zkcluster::{Client, CreateOptions, Guard};
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = Client::connect("127.0.0.1:2181")?;
    /// let node = client.create("/leader", b"me", &CreateOptions::new().ephemeral())?;
    /// let guard = Guard::new(&client, "/leader", vec![node]);
    /// assert!(guard.is_valid());
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(client: &Client, path: &str, nodes: Vec<String>) -> Guard {
        Guard::granted(client, path, nodes, client.shared().life(), 0, None)
    }

    /// The same guard with `token` as its [`fencing_token`](Self::fencing_token): for users'
    /// own lock types, typically the `czxid` of the node that grants the lock.
    ///
    /// ```no_run
    /// use zkcluster::{Client, CreateOptions, Guard};
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = Client::connect("127.0.0.1:2181")?;
    /// let node = client.create("/leader", b"me", &CreateOptions::new().ephemeral())?;
    /// let czxid = client.exist_node(&node)?.map_or(0, |stat| stat.czxid);
    /// let guard = Guard::new(&client, "/leader", vec![node]).with_fencing_token(czxid);
    /// assert_eq!(guard.fencing_token(), czxid);
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_fencing_token(mut self, token: i64) -> Guard {
        self.token = token;
        self
    }

    /// A guard over `nodes`, created under the session whose life is `life`, granted by a node
    /// whose creation zxid is `token`.
    pub(crate) fn granted(
        client: &Client,
        path: &str,
        nodes: Vec<String>,
        life: Arc<SessionLife>,
        token: i64,
        hold: Option<Ticket>,
    ) -> Guard {
        Guard {
            client: client.clone(),
            path: path.to_string(),
            nodes,
            life,
            token,
            released: false,
            hold,
        }
    }

    /// The lock (or semaphore) path.
    ///
    /// ```no_run
    /// # use zkcluster::{Client, Restriction, ZookeeperRecipe};
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = Client::connect("127.0.0.1:2181")?;
    /// let lock = client.restrict("/jobs/lock", ZookeeperRecipe::WriteLock, "w", None)?;
    /// assert_eq!(lock.acquire()?.path(), "/jobs/lock");
    /// # Ok(())
    /// # }
    /// ```
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The full paths of the nodes this guard holds (one lock or lease node for the built-in
    /// recipes).
    ///
    /// ```no_run
    /// # use zkcluster::{Client, Restriction, ZookeeperRecipe};
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = Client::connect("127.0.0.1:2181")?;
    /// let lock = client.restrict("/jobs/lock", ZookeeperRecipe::WriteLock, "w", None)?;
    /// let guard = lock.acquire()?;
    /// assert!(guard.nodes()[0].contains("__lock__"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn nodes(&self) -> &[String] {
        &self.nodes
    }

    /// A number that strictly increases with every grant of this lock: the creation zxid of
    /// the node that grants it (the write or read lock node, or the semaphore lease). Successive
    /// holders of a [`WriteLock`](crate::WriteLock) path get ever higher tokens, whichever
    /// process, session or client (Kazoo's included) they are, and even after the path was
    /// deleted and created again; a reader's token is above every writer that held before it
    /// and below every writer that holds after it; each semaphore lease is above every lease
    /// granted before it. Reading it costs nothing (the node was created with the
    /// create-with-stat opcode).
    ///
    /// Hand it to anything the lock protects. A store that keeps the highest token it has
    /// accepted and refuses lower ones is safe from a holder that was paused (or cut off) past
    /// its session timeout and still believes it holds the lock:
    ///
    /// ```no_run
    /// use std::path::Path;
    /// use zkcluster::{Client, Restriction, ZookeeperRecipe};
    ///
    /// /// Writes `data` to `file` unless a holder with a higher token already wrote it. The
    /// /// file's first line is the token of its last writer. (Give it a real file lock or a
    /// /// database row with `UPDATE ... WHERE token <= ?` when several processes write it.)
    /// fn fenced_write(file: &Path, token: i64, data: &str) -> std::io::Result<bool> {
    ///     let highest = std::fs::read_to_string(file)
    ///         .ok()
    ///         .and_then(|text| text.lines().next()?.parse::<i64>().ok())
    ///         .unwrap_or(i64::MIN);
    ///     if token < highest {
    ///         return Ok(false); // a stale holder: refused
    ///     }
    ///     std::fs::write(file, format!("{token}\n{data}"))?;
    ///     Ok(true)
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = Client::connect("127.0.0.1:2181")?;
    /// let lock = client.restrict("/jobs/report", ZookeeperRecipe::WriteLock, "worker-1", None)?;
    /// let guard = lock.acquire()?;
    /// if !fenced_write(Path::new("/var/lib/jobs/report"), guard.fencing_token(), "done")? {
    ///     eprintln!("someone newer holds the lock: our write was refused");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn fencing_token(&self) -> i64 {
        self.token
    }

    /// The latest instant until which the server cannot have expired this guard's session, so
    /// the lock is certainly still held: the local send time of the last request (or ping)
    /// whose reply arrived, plus the negotiated session timeout, less a margin of 1/20 of it.
    /// A healthy session pings at a third of its timeout, so this stays ahead of now; after a
    /// long stop (GC pause, SIGSTOP) it is in the past as soon as the process runs again.
    /// `None` once the lock is lost (the session ended) or released.
    ///
    /// ```no_run
    /// # use std::time::{Duration, Instant};
    /// # use zkcluster::{Client, Restriction, ZookeeperRecipe};
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = Client::connect("127.0.0.1:2181")?;
    /// # let lock = client.restrict("/jobs/lock", ZookeeperRecipe::WriteLock, "w", None)?;
    /// let guard = lock.acquire()?;
    /// // Start a step only if it can finish while the lease surely lasts.
    /// let step = Duration::from_millis(500);
    /// if guard.valid_until().is_some_and(|until| Instant::now() + step < until) {
    ///     // ... the step ...
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn valid_until(&self) -> Option<Instant> {
        if self.released || self.life.has_ended() {
            return None;
        }
        let heard = self.client.shared().liveness.last_answered_send()?;
        let timeout = self.client.negotiated_timeout();
        heard.checked_add(timeout - timeout / MARGIN_DIVISOR)
    }

    /// Where the guard stands now, computed when called (no server call): `Held` only while
    /// connected in the guard's session and before [`valid_until`](Self::valid_until).
    ///
    /// ```no_run
    /// # use zkcluster::{Client, GuardStatus, Restriction, ZookeeperRecipe};
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = Client::connect("127.0.0.1:2181")?;
    /// # let lock = client.restrict("/jobs/lock", ZookeeperRecipe::WriteLock, "w", None)?;
    /// let guard = lock.acquire()?;
    /// assert_eq!(guard.status(), GuardStatus::Held);
    /// # Ok(())
    /// # }
    /// ```
    pub fn status(&self) -> GuardStatus {
        if self.released {
            GuardStatus::Released
        } else if self.life.has_ended() {
            GuardStatus::Lost
        } else if !self.valid_until().is_some_and(|until| Instant::now() < until) {
            // The server may have expired the session without our hearing of it yet.
            GuardStatus::Uncertain
        } else if self.client.state().is_connected() {
            // Same session (its life has not ended) and connected: the node is there.
            GuardStatus::Held
        } else {
            GuardStatus::Uncertain
        }
    }

    /// Whether the lock is held for sure ([`GuardStatus::Held`]), computed when called.
    ///
    /// ```no_run
    /// # use zkcluster::{Client, Restriction, ZookeeperRecipe};
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = Client::connect("127.0.0.1:2181")?;
    /// # let lock = client.restrict("/jobs/lock", ZookeeperRecipe::WriteLock, "w", None)?;
    /// let guard = lock.acquire()?;
    /// if guard.is_valid() {
    ///     // write shared state
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_valid(&self) -> bool {
        self.status() == GuardStatus::Held
    }

    /// A channel that becomes ready (disconnected) when the session holding this guard ends or
    /// the client is closed: the lock is lost then. Select on it next to your work channels.
    ///
    /// ```no_run
    /// # use zkcluster::{Client, Restriction, ZookeeperRecipe};
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = Client::connect("127.0.0.1:2181")?;
    /// # let lock = client.restrict("/jobs/lock", ZookeeperRecipe::WriteLock, "w", None)?;
    /// let guard = lock.acquire()?;
    /// let lost = guard.lost();
    /// std::thread::spawn(move || {
    ///     let _ = lost.recv(); // returns when the lock is lost
    ///     eprintln!("lock lost: stop writing");
    /// });
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn lost(&self) -> Receiver<()> {
        self.life.signal()
    }

    /// A transaction fenced by this guard: its commit also checks, atomically on the server,
    /// that the guard's node still exists. If it does not (the session ended, the lock was
    /// released), the commit fails with [`Error::LockLost`] (`is_lock_lost()`) and nothing is
    /// applied; so does a commit once the guard is known to be lost, without sending anything.
    /// Results and [`Error::Transaction`] indexes are those of the operations you add.
    ///
    /// ```no_run
    /// # use zkcluster::{Client, CreateOptions, Restriction, ZookeeperRecipe};
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = Client::connect("127.0.0.1:2181")?;
    /// let lock = client.restrict("/jobs/lock", ZookeeperRecipe::WriteLock, "w", None)?;
    /// let guard = lock.acquire()?;
    /// match guard
    ///     .transaction()
    ///     .set_data("/jobs/counter", "42", None)
    ///     .create("/jobs/done-", "", &CreateOptions::new().sequential())
    ///     .commit()
    /// {
    ///     Ok(results) => assert_eq!(results.len(), 2),
    ///     Err(e) if e.is_lock_lost() => eprintln!("not applied: the lock is gone"),
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn transaction(&self) -> Transaction<'_> {
        Transaction::fenced(&self.client, self.fence())
    }

    fn fence(&self) -> Fence {
        Fence::new(&self.path, self.nodes.clone(), self.life.clone())
    }

    /// Commits a fenced transaction; a session that ended while it was sent is the lock lost.
    fn commit(&self, transaction: Transaction<'_>) -> Result<Vec<OpResult>> {
        transaction.commit().map_err(|e| self.fence().send_error(e))
    }

    /// Replaces `path`'s data (any version) only while this guard's node exists; see
    /// [`transaction`](Self::transaction).
    ///
    /// # Errors
    ///
    /// [`Error::LockLost`] when the lock is gone (nothing written); otherwise as
    /// [`Client::set_value_to_node`].
    ///
    /// ```no_run
    /// # use zkcluster::{Client, Restriction, ZookeeperRecipe};
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = Client::connect("127.0.0.1:2181")?;
    /// # let lock = client.restrict("/jobs/lock", ZookeeperRecipe::WriteLock, "w", None)?;
    /// let guard = lock.acquire()?;
    /// let stat = guard.set_value_to_node("/jobs/counter", "43")?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_value_to_node(&self, path: &str, value: impl AsRef<[u8]>) -> Result<Stat> {
        let results = self.commit(self.transaction().set_data(path, value, None))?;
        match results.into_iter().next() {
            Some(OpResult::DataSet { stat }) => Ok(stat),
            other => Err(Error::Protocol {
                op: "multi",
                path: path.to_string(),
                reason: format!("expected a set_data result, got {other:?}"),
            }),
        }
    }

    /// Creates a persistent node (default ACL) only while this guard's node exists; returns its
    /// path. See [`transaction`](Self::transaction).
    ///
    /// # Errors
    ///
    /// [`Error::LockLost`] when the lock is gone (nothing created); otherwise as
    /// [`Client::create_node`] (a missing parent fails with `is_no_node()`).
    ///
    /// ```no_run
    /// # use zkcluster::{Client, Restriction, ZookeeperRecipe};
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = Client::connect("127.0.0.1:2181")?;
    /// # let lock = client.restrict("/jobs/lock", ZookeeperRecipe::WriteLock, "w", None)?;
    /// let guard = lock.acquire()?;
    /// guard.create_node("/jobs/result-7", "ok")?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn create_node(&self, path: &str, value: impl AsRef<[u8]>) -> Result<String> {
        let results = self.commit(self.transaction().create(path, value, &CreateOptions::new()))?;
        match results.into_iter().next() {
            Some(OpResult::Created { path, .. }) => Ok(path),
            other => Err(Error::Protocol {
                op: "multi",
                path: path.to_string(),
                reason: format!("expected a create result, got {other:?}"),
            }),
        }
    }

    /// Deletes `path` (any version) only while this guard's node exists; `false` when there was
    /// no such node. See [`transaction`](Self::transaction).
    ///
    /// # Errors
    ///
    /// [`Error::LockLost`] when the lock is gone (nothing deleted); otherwise as
    /// [`Client::delete_node`].
    ///
    /// ```no_run
    /// # use zkcluster::{Client, Restriction, ZookeeperRecipe};
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = Client::connect("127.0.0.1:2181")?;
    /// # let lock = client.restrict("/jobs/lock", ZookeeperRecipe::WriteLock, "w", None)?;
    /// let guard = lock.acquire()?;
    /// let existed = guard.delete_node("/jobs/draft")?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn delete_node(&self, path: &str) -> Result<bool> {
        match self.commit(self.transaction().delete(path, None)) {
            Ok(_) => Ok(true),
            Err(e) if e.is_no_node() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Releases now, waits for the deletion and reports errors; see [`unlock`](Self::unlock).
    ///
    /// # Errors
    ///
    /// As [`unlock`](Self::unlock).
    ///
    /// ```no_run
    /// # use zkcluster::{Client, Restriction, ZookeeperRecipe};
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = Client::connect("127.0.0.1:2181")?;
    /// # let lock = client.restrict("/jobs/lock", ZookeeperRecipe::WriteLock, "w", None)?;
    /// let guard = lock.acquire()?;
    /// guard.release()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn release(mut self) -> Result<()> {
        self.unlock()
    }

    /// Releases now (one round trip, waited for) and leaves the guard
    /// [`Released`](GuardStatus::Released); for guards kept in a struct. Idempotent.
    ///
    /// # Errors
    ///
    /// [`SessionExpired`](crate::Error::SessionExpired) if the session had already ended (the lock
    /// was lost before this release, not released by it);
    /// [`ConnectionLoss`](crate::Error::ConnectionLoss) or [`Timeout`](crate::Error::Timeout) if
    /// the server could not be reached (when disconnected it returns at once instead of waiting for
    /// a reconnect), in which case the deletion goes on in the background until it succeeds or the
    /// session ends. After the client was closed it returns `Ok` (closing the session released the
    /// lock).
    ///
    /// ```no_run
    /// # use zkcluster::{Client, GuardStatus, Restriction, ZookeeperRecipe};
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = Client::connect("127.0.0.1:2181")?;
    /// # let lock = client.restrict("/jobs/lock", ZookeeperRecipe::WriteLock, "w", None)?;
    /// let mut guard = lock.acquire()?;
    /// guard.unlock()?;
    /// assert_eq!(guard.status(), GuardStatus::Released);
    /// # Ok(())
    /// # }
    /// ```
    pub fn unlock(&mut self) -> Result<()> {
        if self.released {
            return Ok(());
        }
        self.released = true;
        self.hold = None;
        let nodes = std::mem::take(&mut self.nodes);
        if self.life.has_ended() {
            if self.client.state() == SessionState::Closed {
                return Ok(());
            }
            return Err(Error::SessionExpired { op: "release", path: self.path.clone() });
        }
        if !self.client.state().is_connected() {
            // Do not block waiting for the connection: the deletion goes on in the background.
            for node in nodes {
                cleanup::hand_over(&self.client, &self.life, Target::Node(node));
            }
            return Err(Error::ConnectionLoss { op: "release", path: self.path.clone() });
        }
        let mut first_error = None;
        for node in nodes {
            if let Err(e) =
                cleanup::delete_or_hand_over(&self.client, &self.life, Target::Node(node))
            {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl Drop for Guard {
    /// Puts the deletion on the wire and returns; see `release.rs`.
    fn drop(&mut self) {
        if self.released {
            return;
        }
        self.released = true;
        self.hold = None;
        for node in std::mem::take(&mut self.nodes) {
            release::delete_without_waiting(&self.client, &self.life, node);
        }
    }
}
