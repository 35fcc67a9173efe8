//! The guard every acquire returns: proof of holding a lock or a semaphore lease.
//!
//! Guarantee: while [`Guard::status`] is [`GuardStatus::Held`], the guard's node exists on the
//! server under a live session, so no conflicting holder can exist. Releasing (explicitly, or by
//! dropping the guard) deletes the node: one round trip.
//!
//! Failure modes:
//! - The connection breaks (`Suspended`): the session, and so the lock, may survive or not. The
//!   guard is [`Uncertain`](GuardStatus::Uncertain) until the client reconnects (`Held` again)
//!   or learns the session is gone ([`Lost`](GuardStatus::Lost)). A careful holder stops
//!   writing shared state while the guard is not [`is_valid`](Guard::is_valid).
//! - The session expires: the server has deleted the node and someone else may hold the lock
//!   now. [`Guard::lost`] fires, so a worker can stop at once.
//! - Releasing hits a connection loss: the deletion goes on in the background until it succeeds
//!   or the session ends; `release` reports the error, the lock is freed soon after anyway.

use std::sync::Arc;

use crossbeam_channel::Receiver;

use super::cleanup::{self, Target};
use crate::session::SessionLife;
use crate::{Client, Error, Result, SessionState};

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
    /// Connected, same session: the lock is held for sure.
    Held,
    /// The connection is broken and the session may or may not survive.
    Uncertain,
    /// The session ended (or the client was closed): the lock is gone.
    Lost,
    /// Released with [`Guard::unlock`].
    Released,
}

/// Proof of holding a lock or a semaphore lease; releases it when dropped.
///
/// `Send + Sync`. Dropping the guard deletes its node (one round trip, errors ignored but the
/// deletion retried in the background if the server cannot be reached);
/// [`release`](Guard::release) does the same and reports errors.
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
///     // ... crawl `page` ...
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
    released: bool,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("path", &self.path)
            .field("nodes", &self.nodes)
            .field("status", &self.status())
            .finish()
    }
}

impl Guard {
    /// A guard over `nodes` (absolute paths) that this client's current session created for the
    /// lock at `path`; releasing it deletes them. For users' own lock types.
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
        Guard::held(client, path, nodes, client.shared().life())
    }

    /// A guard over `nodes`, created under the session whose life is `life`.
    pub(crate) fn held(
        client: &Client,
        path: &str,
        nodes: Vec<String>,
        life: Arc<SessionLife>,
    ) -> Guard {
        Guard { client: client.clone(), path: path.to_string(), nodes, life, released: false }
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

    /// Where the guard stands now (no server call: it follows the session's state).
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
        } else if self.client.state().is_connected() {
            // Same session (its life has not ended) and connected: the node is there.
            GuardStatus::Held
        } else {
            GuardStatus::Uncertain
        }
    }

    /// Whether the lock is held for sure ([`GuardStatus::Held`]).
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

    /// Releases now and reports errors; see [`unlock`](Self::unlock).
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

    /// Releases now (one round trip) and leaves the guard [`Released`](GuardStatus::Released);
    /// for guards kept in a struct. Idempotent.
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
    fn drop(&mut self) {
        if !self.released {
            if let Err(e) = self.unlock() {
                log::debug!("releasing {} on drop: {e}", self.path);
            }
        }
    }
}
