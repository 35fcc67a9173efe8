//! [`Barrier`]: holds members back while a node exists, as Kazoo's `Barrier`.
//!
//! # Guarantee
//!
//! The barrier is up while the node at its path exists. [`wait`](Barrier::wait) returns once
//! it has seen the node missing: at once when it is, otherwise when a watch reports it deleted.
//! Kazoo members and zkcluster members use the same node, so either side can raise or lower
//! the barrier for the other.
//!
//! # Node layout
//!
//! One persistent node, the barrier path itself (created with any missing parents, empty);
//! its data and children are not looked at — but a barrier node with children cannot be
//! removed ([`remove`](Barrier::remove) fails with `is_not_empty()`).
//!
//! # Failure modes
//!
//! - Connection loss while waiting (which makes Kazoo's `wait` raise): the wait goes on after
//!   the reconnect and looks at the node again, so a removal during the outage is not missed.
//!   The same after a session loss, when the client renews its session.
//! - Every wait has a deadline ([`Wait`]) covering reconnects, and can be cancelled from
//!   another thread ([`Barrier::cancel_handle`]); a wait that ends either way leaves nothing
//!   on the server (only a one-shot data watch, which fires with the removal).
//! - A barrier that is removed and raised again between two looks is seen as still up: a
//!   barrier releases members that look while it is down, it does not count removals.

use std::time::{Duration, Instant};

use super::cancel::{CancelHandle, CancelToken};
use super::lock::{passed, reply, retryable, wait_connected, LockCore, Wake};
use crate::{Client, Error, Result, Wait};

/// A barrier at a path: members wait while the node exists.
///
/// `Send + Sync`; waits from several threads are fine.
///
/// ```no_run
/// use std::time::Duration;
/// use zkcluster::{Barrier, Client};
/// # fn main() -> zkcluster::Result<()> {
/// let client = Client::connect("127.0.0.1:2181")?;
/// let start = Barrier::new(&client, "/crawl/start")?;
/// start.create()?; // the coordinator raises it
/// // ... members call start.wait() ...
/// if !start.wait_timeout(Duration::from_millis(10))? {
///     println!("still up");
/// }
/// assert!(start.remove()?); // and lowers it: every waiter goes on
/// start.wait()?; // returns at once now
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Barrier {
    client: Client,
    path: String,
    cancel: CancelHandle,
}

/// Validates a recipe path (no root, valid node path).
pub(crate) fn recipe_path(path: &str, what: &str) -> Result<()> {
    crate::path::validate(path, false)?;
    if path == "/" {
        return Err(Error::InvalidPath {
            path: path.into(),
            reason: format!("a {what} cannot live at the root"),
        });
    }
    Ok(())
}

/// Waits for `watch`, a session change, cancellation or the deadline (the locks' wait).
pub(crate) fn wait_change(
    client: &Client,
    watch: &crossbeam_channel::Receiver<crate::WatchedEvent>,
    events: &crossbeam_channel::Receiver<crate::SessionEvent>,
    token: &CancelToken,
    deadline: Option<Instant>,
) -> Wake {
    // The session's change signal, not `events`: that one is kept for the callers' own use.
    let _ = events;
    let mut changed = client.shared().next_change();
    LockCore::wait_change(client, watch, &client.shared().life(), &mut changed, token, deadline)
}

/// Before sending: waits for a connection if there is none, until `deadline` (`Ok(false)` when
/// it passed first). A request sent while disconnected would wait for one on its own, for the
/// client's request timeout rather than the caller's deadline.
pub(crate) fn connected_by(
    client: &Client,
    path: &str,
    deadline: Option<Instant>,
    token: &CancelToken,
) -> Result<bool> {
    if client.state().is_connected() {
        return Ok(true);
    }
    wait_connected(client, path, deadline, token)
}

/// The deadline of a [`Wait`] and whether it may block at all.
pub(crate) fn deadline_of(wait: Wait) -> (bool, Option<Instant>) {
    match wait {
        Wait::No => (false, None),
        Wait::Until(at) => (true, Some(at)),
        Wait::Forever => (true, None),
    }
}

/// `Wait::Until(now + timeout)`, or `Wait::Forever` when that is past representable time.
pub(crate) fn wait_for(timeout: Duration) -> Wait {
    Instant::now().checked_add(timeout).map_or(Wait::Forever, Wait::Until)
}

impl Barrier {
    /// A barrier object at `path` (no server call).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPath`] when `path` is not a valid node path (or is the root).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let barrier = zkcluster::Barrier::new(&client, "/crawl/start")?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(client: &Client, path: &str) -> Result<Barrier> {
        recipe_path(path, "barrier")?;
        Ok(Barrier { client: client.clone(), path: path.to_string(), cancel: CancelHandle::new() })
    }

    /// The barrier path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Raises the barrier: creates its node (and missing parents) unless it exists.
    ///
    /// # Errors
    ///
    /// The client's errors (connection loss, timeout, no permission, ...).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// zkcluster::Barrier::new(&client, "/crawl/start")?.create()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn create(&self) -> Result<()> {
        self.client.ensure_path(&self.path)
    }

    /// Lowers the barrier: deletes its node. `false` when it was not up.
    ///
    /// # Errors
    ///
    /// `is_not_empty()` when the node has children; the client's other errors.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let was_up = zkcluster::Barrier::new(&client, "/crawl/start")?.remove()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn remove(&self) -> Result<bool> {
        self.client.delete_node(&self.path)
    }

    /// Whether the barrier is up now (one round trip).
    ///
    /// # Errors
    ///
    /// The client's errors.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let up = zkcluster::Barrier::new(&client, "/crawl/start")?.is_up()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_up(&self) -> Result<bool> {
        Ok(self.client.exist_node(&self.path)?.is_some())
    }

    /// Waits until the barrier is down, as long as it takes (or until cancelled).
    ///
    /// # Errors
    ///
    /// [`Error::Cancelled`] when cancelled through [`cancel_handle`](Self::cancel_handle);
    /// [`Error::Closed`] when the client is closed; the client's non-transient errors.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// zkcluster::Barrier::new(&client, "/crawl/start")?.wait()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn wait(&self) -> Result<()> {
        self.wait_with(Wait::Forever).map(drop)
    }

    /// Waits at most `timeout` (one deadline, reconnects included): `true` when the barrier is
    /// down, `false` when it was still up at the deadline (Kazoo's `wait(timeout)`).
    ///
    /// # Errors
    ///
    /// As for [`wait`](Self::wait).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let b = zkcluster::Barrier::new(&client, "/crawl/start")?;
    /// if !b.wait_timeout(std::time::Duration::from_secs(30))? {
    ///     println!("gave up waiting for the start signal");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> Result<bool> {
        self.wait_with(wait_for(timeout))
    }

    /// Waits as `wait` allows: `true` when the barrier is down, `false` when the wait ended
    /// first (`Wait::No`: a single look).
    ///
    /// # Errors
    ///
    /// As for [`wait`](Self::wait).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let down = zkcluster::Barrier::new(&client, "/b")?.wait_with(zkcluster::Wait::No)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn wait_with(&self, wait: Wait) -> Result<bool> {
        let token = self.cancel.token();
        let (blocking, deadline) = deadline_of(wait);
        let events = self.client.session_events();
        loop {
            if token.is_cancelled() {
                return Err(Error::Cancelled { path: self.path.clone() });
            }
            if blocking && !connected_by(&self.client, &self.path, deadline, &token)? {
                return Ok(false);
            }
            // A data watch: on a missing node it sets nothing (an exists watch would stay).
            match reply(self.client.get_node_watch_async(&self.path), deadline) {
                Err(e) if e.is_no_node() => return Ok(true),
                Ok(_) if !blocking => return Ok(false),
                Ok((_, watch)) => {
                    match wait_change(&self.client, &watch, &events, &token, deadline) {
                        // A deleted barrier node is what the next check finds.
                        Wake::Recheck | Wake::Deleted => {}
                        Wake::Cancelled => {
                            return Err(Error::Cancelled { path: self.path.clone() })
                        }
                        Wake::Deadline => return Ok(false),
                    }
                }
                Err(e) if retryable(&e) && blocking => {
                    if passed(deadline)
                        || !wait_connected(&self.client, &self.path, deadline, &token)?
                    {
                        return Ok(false);
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// A handle that makes waits in progress on this object return
    /// [`Error::Cancelled`], from another thread.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let barrier = zkcluster::Barrier::new(&client, "/crawl/start")?;
    /// let cancel = barrier.cancel_handle();
    /// std::thread::spawn(move || cancel.cancel());
    /// let _ = barrier.wait(); // Err(Cancelled) unless the barrier was down
    /// # Ok(())
    /// # }
    /// ```
    pub fn cancel_handle(&self) -> CancelHandle {
        self.cancel.clone()
    }
}
