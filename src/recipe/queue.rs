//! [`Queue`]: a distributed work queue with priorities, on the node layout of Kazoo's `Queue`, so
//! Kazoo producers and consumers share one queue with ours.
//!
//! # Guarantee
//!
//! Every item put is taken by at most one consumer, and by exactly one as long as no consumer
//! loses its connection while taking it (see the failure modes). Items are taken in order of
//! priority (lower first), then of arrival, as of the consumer's latest look at the queue.
//!
//! # Node layout (Kazoo's)
//!
//! An item is a persistent sequential child `entry-PPP-SSSSSSSSSS` of the queue node, with the
//! item as its data: `PPP` is the priority, 000 to 999 zero-padded (Kazoo's default is 100),
//! `SSSSSSSSSS` the server's sequence number, so the names sort by priority, then by arrival. A
//! consumer takes an item by deleting its node: the one whose delete succeeds has it.
//! [`len`](Queue::len) is the queue node's child count.
//!
//! # Round trips
//!
//! [`put_all`](Queue::put_all) pipelines its creates: one round trip for the whole batch. A
//! take is one round trip (the read of the item and its delete go out back to back; ZooKeeper
//! answers a session's requests in order). A consumer lists the queue only when it has tried
//! every name of its last listing, or when the queue changed and it has taken an eighth of
//! that listing since, so the cost per item stays flat however long the queue is, and an item of
//! higher priority put meanwhile waits for at most an eighth of the listing.
//!
//! # Keep items small
//!
//! ZooKeeper keeps every node in memory on every server and replicates every write: queue
//! references (a URL, a key in a blob store), not payloads. A listing of the queue comes in
//! one reply of about 24 bytes per item; this client accepts replies up to 16 MiB, so a queue
//! may hold several hundred thousand items, but keep it to what the servers' memory affords.
//!
//! # Failure modes
//!
//! - The item is removed from ZooKeeper as it is taken: a consumer that dies before it has
//!   processed it loses it (as with Kazoo's `Queue`). Use [`LockingQueue`](super::LockingQueue)
//!   for work that must survive its consumer.
//! - A connection lost during a take leaves its outcome unknown: the call fails with
//!   `is_connection_loss()` and the item may be gone (taken by this consumer, its reply lost).
//! - A blocking `get` waits at most until its deadline to start a take; a take once sent is
//!   waited for (within the request timeout), so no item is dropped for want of a few
//!   milliseconds.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Select};

use super::cancel::{CancelHandle, CancelToken};
use super::lock::{passed, reply, wait_connected};
use super::Wait;
use crate::{Client, CreateMode, CreateOptions, Error, Result, WatchedEvent};

/// The priority [`Queue::put`] and [`LockingQueue::put`](super::LockingQueue::put) use (Kazoo's).
pub const DEFAULT_PRIORITY: u16 = 100;

/// The highest (least urgent) priority; lower numbers are taken first.
pub const MAX_PRIORITY: u16 = 999;

/// The name prefix of an item of `priority` under `dir` (the server appends the sequence).
pub(crate) fn entry_prefix(dir: &str, priority: u16) -> Result<String> {
    if priority > MAX_PRIORITY {
        return Err(Error::InvalidArgument {
            path: dir.to_string(),
            reason: format!("priority {priority} is over {MAX_PRIORITY} (0 is the most urgent)"),
        });
    }
    Ok(format!("{}/entry-{priority:03}-", dir.trim_end_matches('/')))
}

/// Refuses the root as a queue path (its children are the whole database).
pub(crate) fn validate_queue_path(path: &str) -> Result<()> {
    crate::path::validate(path, false)?;
    if path == "/" {
        return Err(Error::InvalidArgument {
            path: path.into(),
            reason: "a queue cannot live at the root".into(),
        });
    }
    Ok(())
}

/// The names of one listing still to try, and the watches set by it.
#[derive(Default)]
struct FrontierState {
    names: VecDeque<String>,
    listed: usize,
    taken_since: usize,
    /// One-shot child watches set by the listing (none for a listing made without waiting).
    watches: Vec<Receiver<WatchedEvent>>,
}

/// A consumer's view of the queue: the sorted names of its last listing, tried one by one.
///
/// Shared by the threads using one queue object, so they do not all race for the same head.
#[derive(Default)]
pub(crate) struct Frontier {
    state: Mutex<FrontierState>,
}

/// Why [`Frontier::wait`] returned.
pub(crate) enum Woke {
    Changed,
    Deadline,
    Cancelled,
}

impl Frontier {
    fn lock(&self) -> std::sync::MutexGuard<'_, FrontierState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The next name to try, unless it is time to list the queue again.
    pub fn next(&self) -> Option<String> {
        let mut s = self.lock();
        let changed = s.watches.is_empty() || s.watches.iter().any(|w| !w.is_empty());
        if changed && s.taken_since * 8 >= s.listed.max(8) {
            s.names.clear();
        }
        s.names.pop_front()
    }

    /// Counts a take, for the relisting rule.
    pub fn taken(&self) {
        self.lock().taken_since += 1;
    }

    /// The watches of the last listing if none has fired (they still cover every change since).
    pub fn unfired_watches(&self) -> Option<Vec<Receiver<WatchedEvent>>> {
        let mut s = self.lock();
        let watches = std::mem::take(&mut s.watches);
        (!watches.is_empty() && watches.iter().all(Receiver::is_empty)).then_some(watches)
    }

    /// Starts over from a new listing (sorted here: priority, then sequence).
    pub fn refill(&self, mut names: Vec<String>, watches: Vec<Receiver<WatchedEvent>>) {
        names.sort_unstable();
        let mut s = self.lock();
        s.listed = names.len();
        s.taken_since = 0;
        s.names = names.into();
        s.watches = watches;
    }

    /// Keeps watches that have not fired, for the next wait.
    pub fn keep_watches(&self, watches: Vec<Receiver<WatchedEvent>>) {
        self.lock().watches = watches;
    }

    /// Waits until one of `watches` fires, the deadline passes or the wait is cancelled.
    pub fn wait(
        watches: &[Receiver<WatchedEvent>],
        client: &Client,
        deadline: Option<Instant>,
        token: &CancelToken,
    ) -> Woke {
        let timer = deadline.map_or_else(crossbeam_channel::never, crossbeam_channel::at);
        let lost = client.shared().life().signal();
        let events = client.session_events();
        loop {
            let mut select = Select::new();
            for w in watches {
                select.recv(w);
            }
            let i_timer = select.recv(&timer);
            let i_cancel = select.recv(token.signal());
            let i_lost = select.recv(&lost);
            let i_events = select.recv(&events);
            // `ready` leaves the message in its channel: a watch that fired stays non-empty,
            // which is how the next get knows it fired.
            let index = select.ready();
            if index < watches.len() {
                return Woke::Changed;
            }
            match index {
                i if i == i_timer => {
                    if timer.try_recv().is_ok() {
                        return Woke::Deadline;
                    }
                }
                i if i == i_cancel => {
                    if token.is_cancelled() {
                        return Woke::Cancelled;
                    }
                }
                i if i == i_lost => return Woke::Changed,
                i if i == i_events => match events.try_recv() {
                    // A new session or a resumed one: the watch may be gone or have missed
                    // something; look again.
                    Ok(crate::SessionEvent::Suspended { .. }) => {}
                    Err(crossbeam_channel::TryRecvError::Empty) => {}
                    _ => return Woke::Changed,
                },
                _ => unreachable!("select returned an operation it was not given"),
            }
        }
    }
}

/// What every queue object has: its client and path, whether it has made its nodes, the
/// listing it takes from, and the handle that cancels its gets.
pub(crate) struct QueueBase {
    pub client: Client,
    pub path: String,
    ensured: AtomicBool,
    pub frontier: Frontier,
    pub cancel: CancelHandle,
}

impl QueueBase {
    pub fn new(client: &Client, path: &str) -> Result<QueueBase> {
        validate_queue_path(path)?;
        Ok(QueueBase {
            client: client.clone(),
            path: path.to_string(),
            ensured: AtomicBool::new(false),
            frontier: Frontier::default(),
            cancel: CancelHandle::new(),
        })
    }

    /// Makes `dirs` (with their parents) unless this object has made them already.
    pub fn ensure(&self, dirs: &[&str]) -> Result<()> {
        if !self.ensured.load(Ordering::SeqCst) {
            for dir in dirs {
                self.client.ensure_path(dir)?;
            }
            self.ensured.store(true, Ordering::SeqCst);
        }
        Ok(())
    }

    /// Creates one item of `priority` in `dir` (one round trip; parents made if missing).
    pub fn put(&self, dir: &str, item: &[u8], priority: u16) -> Result<String> {
        let prefix = entry_prefix(dir, priority)?;
        let options = CreateOptions::new().mode(CreateMode::PersistentSequential).parents();
        self.client.create(&prefix, item, &options)
    }
}

/// What a queue's `get` loop needs from its kind of queue.
pub(crate) trait Takes {
    type Item;
    fn base(&self) -> &QueueBase;
    /// The nodes the queue needs.
    fn dirs(&self) -> Vec<&str>;
    /// The names of the items that can be taken now, and watches covering a change of that
    /// when `watch` is set.
    fn list(
        &self,
        watch: bool,
        deadline: Option<Instant>,
    ) -> Result<(Vec<String>, Vec<Receiver<WatchedEvent>>)>;
    /// Tries to take the item `name`; `Ok(None)` when someone else has it.
    fn take(&self, name: &str) -> Result<Option<Self::Item>>;
}

/// The loop of every `get`: take from the last listing, list again when it is used up, wait
/// for a change when the queue is empty.
pub(crate) fn get_with<Q: Takes>(
    queue: &Q,
    wait: Wait,
    token: &CancelToken,
) -> Result<Option<Q::Item>> {
    let base = queue.base();
    base.ensure(&queue.dirs())?;
    let (blocking, deadline) = match wait {
        Wait::No => (false, None),
        Wait::Until(at) => (true, Some(at)),
        Wait::Forever => (true, None),
    };
    loop {
        if token.is_cancelled() {
            return Err(Error::Cancelled { path: base.path.as_str().to_string() });
        }
        if blocking && passed(deadline) {
            return Ok(None);
        }
        if let Some(name) = base.frontier.next() {
            if let Some(item) = queue.take(&name)? {
                base.frontier.taken();
                return Ok(Some(item));
            }
            continue;
        }
        if blocking && !wait_connected(&base.client, &base.path, deadline, token)? {
            return Ok(None);
        }
        let reuse = if blocking { base.frontier.unfired_watches() } else { None };
        let (names, fresh) = queue.list(blocking && reuse.is_none(), deadline)?;
        let watches = reuse.unwrap_or(fresh);
        if !names.is_empty() {
            base.frontier.refill(names, watches);
            continue;
        }
        if !blocking {
            return Ok(None);
        }
        match Frontier::wait(&watches, &base.client, deadline, token) {
            Woke::Changed => {}
            Woke::Deadline => {
                base.frontier.keep_watches(watches);
                return Ok(None);
            }
            Woke::Cancelled => {
                base.frontier.keep_watches(watches);
                return Err(Error::Cancelled { path: base.path.as_str().to_string() });
            }
        }
    }
}

/// A deadline `timeout` from now (`None`: too far to represent, i.e. never).
pub(crate) fn wait_for(timeout: Duration) -> Wait {
    Instant::now().checked_add(timeout).map_or(Wait::Forever, Wait::Until)
}

/// A queue's node count (its child count); 0 when the node does not exist yet.
pub(crate) fn child_count(client: &Client, dir: &str) -> Result<usize> {
    Ok(client.exist_node(dir)?.map_or(0, |stat| stat.num_children.max(0) as usize))
}

/// A distributed work queue with priorities, compatible with Kazoo's `Queue`: items are
/// persistent sequential nodes `entry-<priority>-<sequence>` of the queue node, taken in order
/// of priority (0 first; default 100), then arrival, each by exactly one consumer (the one whose
/// delete of the node succeeds).
///
/// An item is removed as it is taken, so a consumer that dies before processing it loses it,
/// and a connection lost during a take leaves its outcome unknown (the call fails with
/// `is_connection_loss()`): use [`LockingQueue`](super::LockingQueue) for work that must
/// survive its consumer. A take costs one round trip; a consumer lists the queue once per
/// batch of takes (when its last listing is used up, or after an eighth of it once the queue
/// has changed), so the cost per item stays flat on long queues. ZooKeeper keeps every node in
/// memory on every server: queue references (a URL, a key), not payloads.
///
/// A `Queue` is `Send + Sync`: threads may share one (they take different items), or each
/// open their own. It holds a clone of the client.
///
/// ```no_run
/// use std::time::Duration;
/// use zkcluster::{Client, Queue};
/// # fn main() -> zkcluster::Result<()> {
/// let client = Client::connect("127.0.0.1:2181")?;
/// let frontier = Queue::new(&client, "/crawler/frontier")?;
/// frontier.put(b"https://example.com/")?;
/// frontier.put_with_priority(b"https://example.com/robots.txt", 0)?; // taken first
/// while let Some(url) = frontier.get_timeout(Duration::from_secs(5))? {
///     println!("fetching {}", String::from_utf8_lossy(&url));
/// }
/// # Ok(())
/// # }
/// ```
pub struct Queue {
    base: QueueBase,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue").field("path", &self.base.path).finish()
    }
}

impl Queue {
    /// A queue at `path` (created with its parents on first use).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPath`] for a malformed path, [`Error::InvalidArgument`] for `/`.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let queue = zkcluster::Queue::new(&client, "/jobs")?;
    /// assert_eq!(queue.path(), "/jobs");
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(client: &Client, path: &str) -> Result<Queue> {
        Ok(Queue { base: QueueBase::new(client, path)? })
    }

    /// The queue node's path.
    pub fn path(&self) -> &str {
        &self.base.path
    }

    /// Puts an item with the default priority (100); returns its node's path.
    ///
    /// # Errors
    ///
    /// As for [`Client::create`]; [`Error::ValueTooLarge`] for an item over the server's limit.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let queue = zkcluster::Queue::new(&client, "/jobs")?;
    /// let node = queue.put(b"job-1")?;
    /// assert!(node.starts_with("/jobs/entry-100-"));
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
    /// let queue = zkcluster::Queue::new(&client, "/jobs")?;
    /// queue.put_with_priority(b"urgent", 0)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn put_with_priority(&self, item: impl AsRef<[u8]>, priority: u16) -> Result<String> {
        self.base.put(&self.base.path, item.as_ref(), priority)
    }

    /// Puts every item of `items` with the default priority, pipelined: the whole batch costs
    /// about one round trip, and the items keep their order. Not atomic: on an error, the items
    /// before the failing one are in the queue (the error says which failed). Returns the nodes'
    /// paths.
    ///
    /// # Errors
    ///
    /// The first item's error, as for [`put`](Self::put).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let queue = zkcluster::Queue::new(&client, "/jobs")?;
    /// let urls: Vec<String> = (0..1000).map(|i| format!("https://example.com/{i}")).collect();
    /// assert_eq!(queue.put_all(&urls)?.len(), 1000);
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
    /// let queue = zkcluster::Queue::new(&client, "/jobs")?;
    /// queue.put_all_with_priority([b"a", b"b"], 5)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn put_all_with_priority<I>(&self, items: I, priority: u16) -> Result<Vec<String>>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        let prefix = entry_prefix(&self.base.path, priority)?;
        self.base.ensure(&self.dirs())?;
        let options = CreateOptions::new().mode(CreateMode::PersistentSequential).parents();
        put_pipelined(&self.base.client, &prefix, items, &options)
    }

    /// Takes the head of the queue if there is one now (one round trip when the consumer
    /// still has names from its last listing; two when it lists the queue).
    ///
    /// # Errors
    ///
    /// Connection loss, session expiry, a closed client: see the module docs on what a
    /// connection lost during a take means.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let queue = zkcluster::Queue::new(&client, "/jobs")?;
    /// match queue.try_get()? {
    ///     Some(job) => println!("got {job:?}"),
    ///     None => println!("empty"),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_get(&self) -> Result<Option<Vec<u8>>> {
        self.get_with(Wait::No)
    }

    /// Takes the head of the queue, waiting up to `timeout` for an item; `Ok(None)` when none
    /// came in time.
    ///
    /// # Errors
    ///
    /// As for [`try_get`](Self::try_get), and [`Error::Cancelled`] through
    /// [`cancel_handle`](Self::cancel_handle).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let queue = zkcluster::Queue::new(&client, "/jobs")?;
    /// if let Some(job) = queue.get_timeout(std::time::Duration::from_secs(2))? {
    ///     println!("got {job:?}");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_timeout(&self, timeout: Duration) -> Result<Option<Vec<u8>>> {
        self.get_with(wait_for(timeout))
    }

    /// Takes the head of the queue, waiting as `wait` allows; `Ok(None)` when the wait ended
    /// without an item.
    ///
    /// # Errors
    ///
    /// As for [`get_timeout`](Self::get_timeout).
    ///
    /// ```no_run
    /// use zkcluster::Wait;
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let queue = zkcluster::Queue::new(&client, "/jobs")?;
    /// let job = queue.get_with(Wait::Forever)?.expect("waits until there is one");
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_with(&self, wait: Wait) -> Result<Option<Vec<u8>>> {
        get_with(self, wait, &self.base.cancel.token())
    }

    /// How many items the queue holds now (one round trip).
    ///
    /// # Errors
    ///
    /// As for [`Client::exist_node`].
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let queue = zkcluster::Queue::new(&client, "/jobs")?;
    /// println!("{} jobs waiting", queue.len()?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn len(&self) -> Result<usize> {
        child_count(&self.base.client, &self.base.path)
    }

    /// Whether the queue holds no item now.
    ///
    /// # Errors
    ///
    /// As for [`len`](Self::len).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let queue = zkcluster::Queue::new(&client, "/jobs")?;
    /// if queue.is_empty()? { println!("idle"); }
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// A handle that aborts blocked `get`s of this object from another thread (they fail with
    /// [`Error::Cancelled`]).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let queue = zkcluster::Queue::new(&client, "/jobs")?;
    /// let stop = queue.cancel_handle();
    /// std::thread::spawn(move || stop.cancel());
    /// let result = queue.get_with(zkcluster::Wait::Forever);
    /// # Ok(())
    /// # }
    /// ```
    pub fn cancel_handle(&self) -> CancelHandle {
        self.base.cancel.clone()
    }
}

/// Creates one sequential node per item under `prefix`, all sent before any reply is waited for.
pub(crate) fn put_pipelined<I>(
    client: &Client,
    prefix: &str,
    items: I,
    options: &CreateOptions,
) -> Result<Vec<String>>
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    // A window keeps memory bounded for huge batches while the pipe stays full.
    const WINDOW: usize = 2048;
    let mut in_flight = VecDeque::with_capacity(WINDOW);
    let mut created = Vec::new();
    let mut first_error = None;
    for item in items {
        if in_flight.len() == WINDOW {
            collect(in_flight.pop_front(), &mut created, &mut first_error);
        }
        if first_error.is_some() {
            break;
        }
        in_flight.push_back(client.create_async(prefix, item, options));
    }
    while let Some(pending) = in_flight.pop_front() {
        collect(Some(pending), &mut created, &mut first_error);
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(created),
    }
}

fn collect(
    pending: Option<crate::Pending<String>>,
    created: &mut Vec<String>,
    first_error: &mut Option<Error>,
) {
    if let Some(pending) = pending {
        match pending.wait() {
            Ok(path) if first_error.is_none() => created.push(path),
            Ok(_) => {}
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
}

impl Takes for Queue {
    type Item = Vec<u8>;

    fn base(&self) -> &QueueBase {
        &self.base
    }

    fn dirs(&self) -> Vec<&str> {
        vec![&self.base.path]
    }

    fn list(
        &self,
        watch: bool,
        deadline: Option<Instant>,
    ) -> Result<(Vec<String>, Vec<Receiver<WatchedEvent>>)> {
        if watch {
            let (names, changed) =
                reply(self.base.client.get_children_watch_async(&self.base.path), deadline)?;
            Ok((names, vec![changed]))
        } else {
            Ok((reply(self.base.client.get_children_async(&self.base.path), deadline)?, Vec::new()))
        }
    }

    fn take(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let node = crate::path::join(&self.base.path, name);
        // Read and delete back to back: the server answers the read before it applies the
        // delete, so whoever's delete succeeds has the data it read.
        let read = self.base.client.get_node_async(&node);
        let delete = self.base.client.delete_async(&node, None);
        let read = read.wait();
        match delete.wait() {
            Ok(()) => read.map(|n| Some(n.value)),
            Err(e) if e.is_no_node() => Ok(None),
            Err(e) => Err(e),
        }
    }
}
