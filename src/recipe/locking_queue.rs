//! [`LockingQueue`]: a work queue whose items survive their consumer, on the node layout of
//! Kazoo's `LockingQueue`, so Kazoo producers and consumers share one queue with ours.
//!
//! # Guarantee
//!
//! A consumer that gets an item holds it: no other consumer can get it until the holder
//! [consumes](QueueItem::consume) it (it is gone for good), [releases](QueueItem::release) it
//! or drops it (it is back in the queue), or the holder's session ends (the server removes the
//! hold, and the item is back). So an item is never consumed twice and never lost when its
//! holder dies; it may be *processed* twice when a holder dies (or loses its session) after
//! processing but before consuming: make processing idempotent.
//!
//! # Node layout (Kazoo's)
//!
//! - `<path>/entries/entry-PPP-SSSSSSSSSS`: persistent sequential, data the item; `PPP` the
//!   priority (000 to 999, lower first), `SSSSSSSSSS` the server's sequence number.
//! - `<path>/taken/entry-PPP-SSSSSSSSSS`: the hold, ephemeral, same name as the entry, data the
//!   holder's id (32 hex digits, like Kazoo's `uuid4().hex`).
//!
//! A consumer holds an item by creating its `taken` node (the one whose create succeeds has
//! it) and consumes it with one transaction deleting both nodes. [`len`](LockingQueue::len)
//! counts held items too, as Kazoo's does.
//!
//! # Round trips
//!
//! A get costs one round trip (the hold's create and the entry's read go out back to back), plus
//! a listing of `entries` and `taken` now and then (see [`Queue`](super::Queue): the cost per
//! item does not grow with the queue). A consume or release is one more. `put_all` is one
//! transaction: all items or none, one round trip, as in Kazoo.
//!
//! # Failure modes
//!
//! - Connection lost while creating the hold: after reconnecting the consumer reads the hold
//!   node and keeps the item if the hold is its own (its id, its session), so no hold is left
//!   behind to block the item for the rest of the session.
//! - The entry vanished after the hold was made (consumed meanwhile by someone whose listing
//!   was older): the hold is deleted and the next item tried.
//! - A hold whose session ends is gone: [`QueueItem::holds_lock`] says so, and
//!   [`consume`](QueueItem::consume) and [`release`](QueueItem::release) return `false`
//!   without touching what the next holder made.
//! - A release or a drop while disconnected finishes in the background as soon as the server is
//!   reachable again, or ends with the session.

use std::collections::HashSet;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;

use super::cancel::CancelHandle;
use super::cleanup::{self, Target};
use super::lock::reply;
use super::queue::{
    child_count, entry_prefix, get_with, wait_for, QueueBase, Takes, DEFAULT_PRIORITY,
};
use super::Wait;
use crate::session::SessionLife;
use crate::{Client, CreateMode, CreateOptions, Error, Result, WatchedEvent};

/// 32 random hex digits (128 bits from the standard library's randomly keyed hasher).
fn random_id() -> Vec<u8> {
    let half = || {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        h.finish()
    };
    format!("{:016x}{:016x}", half(), half()).into_bytes()
}

/// A distributed work queue whose items are held, not removed, while they are processed;
/// compatible with Kazoo's `LockingQueue` (items `<path>/entries/entry-<priority>-<sequence>`,
/// holds `<path>/taken/<same name>`: ephemeral, data the holder's id).
///
/// A [`QueueItem`] from `get` is held: no other consumer gets it until it is consumed (gone for
/// good, in one transaction deleting the entry and the hold), released or dropped (back in the
/// queue), or its holder's session ends (the server removes the hold). So an item is never
/// consumed twice and never lost with its holder; it may be processed twice if a holder dies
/// after processing and before consuming, so make processing idempotent. A hold whose create
/// reply was lost is recovered if it is ours; a release while disconnected finishes in the
/// background. A get costs one round trip plus a listing now and then, as for
/// [`Queue`](super::Queue).
///
/// `Send + Sync`; threads may share one. It holds a clone of the client, and so does every
/// [`QueueItem`] it hands out.
///
/// ```no_run
/// use std::time::Duration;
/// use zkcluster::{Client, LockingQueue};
/// # fn main() -> zkcluster::Result<()> {
/// let client = Client::connect("127.0.0.1:2181")?;
/// let jobs = LockingQueue::new(&client, "/crawler/jobs")?;
/// jobs.put(b"https://example.com/")?;
/// if let Some(mut job) = jobs.get_timeout(Duration::from_secs(5))? {
///     println!("crawling {}", String::from_utf8_lossy(job.data()));
///     // ... if this process dies here, the job goes back to the queue ...
///     job.consume()?;
/// }
/// # Ok(())
/// # }
/// ```
pub struct LockingQueue {
    base: QueueBase,
    entries: String,
    taken: String,
    id: Vec<u8>,
}

impl std::fmt::Debug for LockingQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LockingQueue")
            .field("path", &self.base.path)
            .field("id", &String::from_utf8_lossy(&self.id))
            .finish()
    }
}

impl LockingQueue {
    /// A locking queue at `path` (its `entries` and `taken` nodes are created on first use).
    /// Each object gets its own random holder id.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPath`] for a malformed path, [`Error::InvalidArgument`] for `/`.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let queue = zkcluster::LockingQueue::new(&client, "/jobs")?;
    /// assert_eq!(queue.id().len(), 32);
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(client: &Client, path: &str) -> Result<LockingQueue> {
        let base = QueueBase::new(client, path)?;
        let dir = path.trim_end_matches('/');
        Ok(LockingQueue {
            entries: format!("{dir}/entries"),
            taken: format!("{dir}/taken"),
            id: random_id(),
            base,
        })
    }

    /// The queue node's path.
    pub fn path(&self) -> &str {
        &self.base.path
    }

    /// The id this object writes into the hold nodes it creates (32 hex digits).
    pub fn id(&self) -> &str {
        std::str::from_utf8(&self.id).unwrap_or_default()
    }

    /// Puts an item with the default priority (100); returns its entry node's path.
    ///
    /// # Errors
    ///
    /// As for [`Client::create`].
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let queue = zkcluster::LockingQueue::new(&client, "/jobs")?;
    /// assert!(queue.put(b"job")?.starts_with("/jobs/entries/entry-100-"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn put(&self, item: impl AsRef<[u8]>) -> Result<String> {
        self.put_with_priority(item, DEFAULT_PRIORITY)
    }

    /// Puts an item with `priority` (0 to 999; lower is taken first).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for a priority over 999; otherwise as for [`put`](Self::put).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let queue = zkcluster::LockingQueue::new(&client, "/jobs")?;
    /// queue.put_with_priority(b"urgent", 0)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn put_with_priority(&self, item: impl AsRef<[u8]>, priority: u16) -> Result<String> {
        self.base.ensure(&self.dirs())?;
        self.base.put(&self.entries, item.as_ref(), priority)
    }

    /// Puts every item of `items` with the default priority in one transaction: all of them
    /// or none, in order, one round trip (Kazoo's `put_all`). The batch must fit in one
    /// request (the server's `jute.maxbuffer`, 1 MiB by default); for bigger batches call it
    /// once per chunk. Returns the entries' paths.
    ///
    /// # Errors
    ///
    /// [`Error::Transaction`] when the server refuses the batch (nothing was put).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let queue = zkcluster::LockingQueue::new(&client, "/jobs")?;
    /// assert_eq!(queue.put_all([b"a", b"b", b"c"])?.len(), 3);
    /// # Ok(())
    /// # }
    /// ```
    pub fn put_all<I>(&self, items: I) -> Result<Vec<String>>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        self.put_all_with_priority(items, DEFAULT_PRIORITY)
    }

    /// [`put_all`](Self::put_all) with `priority` for every item.
    ///
    /// # Errors
    ///
    /// As for [`put_all`](Self::put_all) and [`put_with_priority`](Self::put_with_priority).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let queue = zkcluster::LockingQueue::new(&client, "/jobs")?;
    /// queue.put_all_with_priority([b"a", b"b"], 7)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn put_all_with_priority<I>(&self, items: I, priority: u16) -> Result<Vec<String>>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        let prefix = entry_prefix(&self.entries, priority)?;
        self.base.ensure(&self.dirs())?;
        let options = CreateOptions::new().mode(CreateMode::PersistentSequential);
        let tx = items
            .into_iter()
            .fold(self.base.client.transaction(), |tx, item| tx.create(&prefix, item, &options));
        if tx.is_empty() {
            return Ok(Vec::new());
        }
        Ok(tx
            .commit()?
            .into_iter()
            .filter_map(|r| match r {
                crate::OpResult::Created { path, .. } => Some(path),
                _ => None,
            })
            .collect())
    }

    /// Holds the first free item if there is one now.
    ///
    /// # Errors
    ///
    /// Connection loss, session expiry, a closed client.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let queue = zkcluster::LockingQueue::new(&client, "/jobs")?;
    /// if let Some(mut item) = queue.try_get()? {
    ///     item.consume()?;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_get(&self) -> Result<Option<QueueItem>> {
        self.get_with(Wait::No)
    }

    /// Holds the first free item, waiting up to `timeout` for one (an item put, or released,
    /// or freed by its holder's session loss); `Ok(None)` when none came in time.
    ///
    /// # Errors
    ///
    /// As for [`try_get`](Self::try_get), and [`Error::Cancelled`] through
    /// [`cancel_handle`](Self::cancel_handle).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let queue = zkcluster::LockingQueue::new(&client, "/jobs")?;
    /// let item = queue.get_timeout(std::time::Duration::from_secs(1))?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_timeout(&self, timeout: Duration) -> Result<Option<QueueItem>> {
        self.get_with(wait_for(timeout))
    }

    /// Holds the first free item, waiting as `wait` allows.
    ///
    /// # Errors
    ///
    /// As for [`get_timeout`](Self::get_timeout).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let queue = zkcluster::LockingQueue::new(&client, "/jobs")?;
    /// let item = queue.get_with(zkcluster::Wait::Forever)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_with(&self, wait: Wait) -> Result<Option<QueueItem>> {
        get_with(self, wait, &self.base.cancel.token())
    }

    /// How many items the queue holds, held ones included (one round trip).
    ///
    /// # Errors
    ///
    /// As for [`Client::exist_node`].
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let queue = zkcluster::LockingQueue::new(&client, "/jobs")?;
    /// println!("{} jobs", queue.len()?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn len(&self) -> Result<usize> {
        child_count(&self.base.client, &self.entries)
    }

    /// Whether the queue holds no item (held ones included).
    ///
    /// # Errors
    ///
    /// As for [`len`](Self::len).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let queue = zkcluster::LockingQueue::new(&client, "/jobs")?;
    /// let idle = queue.is_empty()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// A handle that aborts blocked `get`s of this object from another thread.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let queue = zkcluster::LockingQueue::new(&client, "/jobs")?;
    /// queue.cancel_handle().cancel();
    /// # Ok(())
    /// # }
    /// ```
    pub fn cancel_handle(&self) -> CancelHandle {
        self.base.cancel.clone()
    }

    /// Whether the hold node `lock` is this object's, in the session of `life` (read after
    /// a create whose reply was lost).
    fn owns(&self, lock: &str, life: &SessionLife) -> Result<bool> {
        match self.base.client.get_node(lock) {
            Ok(node) => Ok(!life.has_ended()
                && node.value == self.id
                && node.stat.ephemeral_owner == life.session_id),
            Err(e) if e.is_no_node() => Ok(false),
            Err(e) => Err(e),
        }
    }
}

impl Takes for LockingQueue {
    type Item = QueueItem;

    fn base(&self) -> &QueueBase {
        &self.base
    }

    fn dirs(&self) -> Vec<&str> {
        vec![&self.entries, &self.taken]
    }

    fn list(
        &self,
        watch: bool,
        deadline: Option<Instant>,
    ) -> Result<(Vec<String>, Vec<Receiver<WatchedEvent>>)> {
        let (entries, taken, watches) = if watch {
            let e = self.base.client.get_children_watch_async(&self.entries);
            let t = self.base.client.get_children_watch_async(&self.taken);
            let (entries, w1) = reply(e, deadline)?;
            let (taken, w2) = reply(t, deadline)?;
            (entries, taken, vec![w1, w2])
        } else {
            let e = self.base.client.get_children_async(&self.entries);
            let t = self.base.client.get_children_async(&self.taken);
            (reply(e, deadline)?, reply(t, deadline)?, Vec::new())
        };
        let taken: HashSet<String> = taken.into_iter().collect();
        Ok((entries.into_iter().filter(|e| !taken.contains(e)).collect(), watches))
    }

    fn take(&self, name: &str) -> Result<Option<QueueItem>> {
        let lock = crate::path::join(&self.taken, name);
        let entry = crate::path::join(&self.entries, name);
        let life = self.base.client.shared().life();
        // The hold and the read back to back: one round trip.
        let hold =
            self.base.client.create_async(&lock, &self.id, &CreateOptions::new().ephemeral());
        let read = self.base.client.get_node_async(&entry);
        let held = match hold.wait() {
            Ok(_) => !life.has_ended(),
            Err(e) if e.is_node_exists() => false,
            Err(e) if e.is_connection_loss() || e.is_timeout() => self.owns(&lock, &life)?,
            Err(e) => return Err(e),
        };
        if !held {
            return Ok(None);
        }
        let node = match read.wait() {
            Ok(node) => Ok(node),
            Err(e) if e.is_no_node() => Err(e),
            // The read went wrong on its own (a reconnect between the two): read again.
            Err(_) => self.base.client.get_node(&entry),
        };
        match node {
            Ok(node) => Ok(Some(QueueItem {
                client: self.base.client.clone(),
                name: name.to_string(),
                entry,
                lock,
                data: node.value,
                life,
                done: false,
            })),
            Err(e) => {
                // Consumed meanwhile, or unreadable: do not keep the hold.
                cleanup::delete_soon(&self.base.client, &life, Target::Node(lock));
                if e.is_no_node() {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }
}

/// An item held from a [`LockingQueue`]: nobody else can get it until it is
/// [consumed](QueueItem::consume), [released](QueueItem::release), dropped (which releases it)
/// or its holder's session ends.
///
/// ```no_run
/// # fn main() -> zkcluster::Result<()> {
/// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
/// let queue = zkcluster::LockingQueue::new(&client, "/jobs")?;
/// if let Some(mut item) = queue.try_get()? {
///     if item.data() == b"poison" {
///         item.release()?; // back to the queue for someone else
///     } else {
///         item.consume()?;
///     }
/// }
/// # Ok(())
/// # }
/// ```
#[must_use = "dropping an item releases it back to the queue"]
pub struct QueueItem {
    client: Client,
    name: String,
    entry: String,
    lock: String,
    data: Vec<u8>,
    life: Arc<SessionLife>,
    done: bool,
}

impl std::fmt::Debug for QueueItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueItem")
            .field("entry", &self.entry)
            .field("len", &self.data.len())
            .field("done", &self.done)
            .finish()
    }
}

impl QueueItem {
    /// The item as it was put.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The entry node's name (`entry-PPP-SSSSSSSSSS`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether this item is still held by this holder: not consumed or released, its session
    /// alive, and the hold node on the server its own (read after a `sync`, so it reflects
    /// every write the leader has applied).
    ///
    /// # Errors
    ///
    /// As for [`Client::get_node`].
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// # let queue = zkcluster::LockingQueue::new(&client, "/jobs")?;
    /// let item = queue.try_get()?.expect("an item");
    /// assert!(item.holds_lock()?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn holds_lock(&self) -> Result<bool> {
        if self.done || self.life.has_ended() {
            return Ok(false);
        }
        self.client.sync(&self.lock)?;
        match self.client.get_node(&self.lock) {
            Ok(node) => {
                Ok(!self.life.has_ended() && node.stat.ephemeral_owner == self.life.session_id)
            }
            Err(e) if e.is_no_node() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Removes the item from the queue for good (one transaction deleting the entry and the
    /// hold). `Ok(false)` when it was no longer held (its session ended, or it was consumed or
    /// released already): then nothing is touched.
    ///
    /// # Errors
    ///
    /// A connection loss leaves the outcome unknown; call `consume` again once reconnected (it
    /// returns `Ok(false)` if the first one was applied).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// # let queue = zkcluster::LockingQueue::new(&client, "/jobs")?;
    /// let mut item = queue.try_get()?.expect("an item");
    /// assert!(item.consume()?);
    /// assert!(!item.consume()?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn consume(&mut self) -> Result<bool> {
        if self.done || self.life.has_ended() {
            self.done = true;
            return Ok(false);
        }
        let result =
            self.client.transaction().delete(&self.entry, None).delete(&self.lock, None).commit();
        match result {
            Ok(_) => {
                self.done = true;
                Ok(true)
            }
            Err(e) if e.is_no_node() || e.is_session_expired() => {
                // Someone removed the entry or the hold by hand, or the session ended: drop
                // whatever of our hold is left.
                self.release_quietly();
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Puts the item back into the queue for others. `Ok(false)` when it was no longer held.
    ///
    /// # Errors
    ///
    /// A connection loss: the release then finishes in the background once reconnected (or
    /// with the session).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// # let queue = zkcluster::LockingQueue::new(&client, "/jobs")?;
    /// let mut item = queue.try_get()?.expect("an item");
    /// assert!(item.release()?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn release(&mut self) -> Result<bool> {
        if self.done || self.life.has_ended() {
            self.done = true;
            return Ok(false);
        }
        self.done = true;
        match self.client.delete(&self.lock, None) {
            Ok(()) => Ok(true),
            Err(e) if e.is_no_node() || e.is_session_expired() => Ok(false),
            Err(e) if cleanup_can_finish(&e) => {
                cleanup::hand_over(&self.client, &self.life, Target::Node(self.lock.clone()));
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    fn release_quietly(&mut self) {
        if !self.done {
            self.done = true;
            cleanup::delete_soon(&self.client, &self.life, Target::Node(self.lock.clone()));
        }
    }
}

fn cleanup_can_finish(e: &Error) -> bool {
    e.is_connection_loss() || e.is_timeout()
}

impl Drop for QueueItem {
    fn drop(&mut self) {
        if !self.life.has_ended() {
            self.release_quietly();
        }
    }
}
