//! [`TreeCache`]: a live copy of a whole subtree (data and stat of every node), kept current
//! from one persistent recursive watch (ZooKeeper 3.6+). Kazoo's `TreeCache` events, Curator's
//! `CuratorCache` behaviour.
//!
//! # Guarantee
//!
//! Once [initialized](TreeEvent::Initialized), the cache converges to the server's tree: every
//! change on the server is followed, after a delay, by the events that make the cache (and a
//! consumer applying the events to its own copy) equal to the server again, and no event
//! reports a change the cache had not seen yet (no phantom add, update or removal). Events
//! come in the order the cache learns of changes, from one thread; a node's descendants are
//! removed before it. Reads ([`get`](TreeCache::get), [`children`](TreeCache::children),
//! [`snapshot`](TreeCache::snapshot)) never touch the network.
//!
//! # How
//!
//! 1. The watch is added first, so nothing that happens during the load is missed.
//! 2. The tree is crawled with the pipe full (multi-reads of 8 nodes, about a thousand reads
//!    in flight; a node whose stat shows no children is not listed), and each node becomes a
//!    [`NodeAdded`](TreeEvent::NodeAdded), then [`Initialized`](TreeEvent::Initialized).
//! 3. Each watch event (created, data changed, deleted) makes the cache read that node again;
//!    the reads of a burst of events are pipelined (in multi-reads of 8). What a read finds is compared with the
//!    cache by zxid: another `czxid` is a new node (removed, then added), a higher `mzxid` new
//!    data (updated), a missing node a removal of it and its subtree. Reads are answered in
//!    order, so a late read never undoes a newer one.
//! 4. The server does not replay to a persistent watch what changed while the client was
//!    disconnected, and the watch is gone with a lost session. So after every reconnect (and
//!    after any failed read) the cache adds its watch again if need be and crawls the whole
//!    tree again; comparing the crawl with the cache yields exactly the missed changes.
//!
//! # Costs and limits
//!
//! Memory: the data of every node plus about 200 bytes of bookkeeping per node. A resync after
//! a reconnect reads the whole tree again. On ZooKeeper 3.8, a persistent watch stops firing
//! once a one-shot data watch *of the same client* on the same path fires (a server behaviour):
//! do not set one-shot watches inside the cached tree from the cache's client.

mod crawl;
mod state;

use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{select, Receiver, Sender};

use state::TreeState;
pub use state::{TreeEvent, TreeNode};

use crate::{Client, Error, PersistentWatch, Result, SessionEvent, WatchEventKind, WatchedEvent};

/// How long to wait before crawling again after a failed crawl.
const RETRY_PAUSE: Duration = Duration::from_millis(200);

/// Watch events read in one pipelined batch at most.
const BATCH: usize = 1024;

/// What the cache's thread and its handles share.
struct Shared {
    state: RwLock<TreeState>,
    listeners: Mutex<Vec<Sender<TreeEvent>>>,
    initialized: Mutex<bool>,
    initialized_cv: std::sync::Condvar,
}

impl Shared {
    fn publish(&self, events: Vec<TreeEvent>) {
        if events.is_empty() {
            return;
        }
        let mut listeners = self.listeners.lock().unwrap_or_else(|p| p.into_inner());
        listeners.retain(|l| events.iter().all(|e| l.send(e.clone()).is_ok()));
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, TreeState> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Changes the state; its events go to the listeners as they are made (no batch of
    /// 100,000 `NodeAdded` is ever held).
    fn change(&self, f: impl FnOnce(&mut TreeState, &mut dyn FnMut(TreeEvent))) {
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        let mut listeners = self.listeners.lock().unwrap_or_else(|p| p.into_inner());
        let mut sink = |event: TreeEvent| listeners.retain(|l| l.send(event.clone()).is_ok());
        f(&mut state, &mut sink);
    }
}

/// A cache of the subtree at a path (data and stat of every node), kept current in a
/// background thread from one persistent recursive watch (ZooKeeper 3.6+).
///
/// Once initialized it converges to the server's tree: every change is followed by the events
/// that make the cache (and a consumer applying the events to its own copy) equal to the server
/// again, with no phantom event. After a reconnect or a session loss (the server does not replay
/// to a persistent watch what changed meanwhile) it crawls the tree again and emits exactly the
/// difference. The load and the crawls pipeline about a thousand reads (in multi-reads of
/// 8); `get`, `children` and `snapshot` never touch the network. On ZooKeeper 3.8 a
/// persistent watch stops firing once a one-shot data watch of the same client on the same
/// path fires: do not set one-shot watches inside the cached tree from the cache's client.
///
/// Create it with [`new`](TreeCache::new), subscribe to [`events`](TreeCache::events) if you
/// want them from the start, then [`start`](TreeCache::start) it. Dropping it (or
/// [`close`](TreeCache::close)) stops the thread and removes the watch. It holds a clone of the
/// client.
///
/// ```no_run
/// use std::time::Duration;
/// use zkcluster::{Client, TreeCache, TreeEvent};
/// # fn main() -> zkcluster::Result<()> {
/// let client = Client::connect("127.0.0.1:2181")?;
/// let cache = TreeCache::new(&client, "/crawler/config")?;
/// let events = cache.events();
/// cache.start()?;
/// cache.wait_initialized(Duration::from_secs(10))?;
/// if let Some(depth) = cache.get("/crawler/config/depth") {
///     println!("depth = {}", String::from_utf8_lossy(depth.data()));
/// }
/// for event in events.try_iter() {
///     if let TreeEvent::NodeUpdated { path, node, .. } = event {
///         println!("{path} changed to {:?}", node.data());
///     }
/// }
/// # Ok(())
/// # }
/// ```
pub struct TreeCache {
    client: Client,
    path: String,
    shared: Arc<Shared>,
    thread: Mutex<Option<(Sender<()>, JoinHandle<()>)>>,
}

impl std::fmt::Debug for TreeCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TreeCache")
            .field("path", &self.path)
            .field("nodes", &self.len())
            .field("initialized", &self.is_initialized())
            .finish()
    }
}

impl TreeCache {
    /// A cache of the subtree at `path`, not started yet (the path need not exist).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPath`] for a malformed path.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let cache = zkcluster::TreeCache::new(&client, "/config")?;
    /// assert!(!cache.is_initialized());
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(client: &Client, path: &str) -> Result<TreeCache> {
        crate::path::validate(path, false)?;
        Ok(TreeCache {
            client: client.clone(),
            path: path.to_string(),
            shared: Arc::new(Shared {
                state: RwLock::new(TreeState::new(path)),
                listeners: Mutex::new(Vec::new()),
                initialized: Mutex::new(false),
                initialized_cv: std::sync::Condvar::new(),
            }),
            thread: Mutex::new(None),
        })
    }

    /// The cached subtree's root path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Adds the persistent recursive watch and starts the thread that loads the tree and keeps
    /// it current; returns once the watch is in place (the load goes on in the background:
    /// see [`wait_initialized`](Self::wait_initialized)). Starting a started cache does nothing.
    ///
    /// # Errors
    ///
    /// As for [`Client::watch_persistent_recursive`] (a server before 3.6 refuses the watch).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let cache = zkcluster::TreeCache::new(&client, "/config")?;
    /// cache.start()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn start(&self) -> Result<()> {
        let mut thread = self.thread.lock().unwrap_or_else(|p| p.into_inner());
        if thread.is_some() {
            return Ok(());
        }
        // Subscribed before the watch is added, so no transition after it is missed.
        let sessions = self.client.session_events();
        let watch = self.client.watch_persistent_recursive(&self.path)?;
        let (stop_tx, stop_rx) = crossbeam_channel::bounded(0);
        let mut keeper = Keeper {
            client: self.client.clone(),
            root: self.path.clone(),
            shared: self.shared.clone(),
            watch: Some(watch),
            sessions,
            stop: stop_rx,
            stale: true,
        };
        let handle = std::thread::Builder::new()
            .name("zkcluster-tree-cache".into())
            .spawn(move || keeper.run())
            .map_err(|e| Error::InvalidArgument {
                path: self.path.clone(),
                reason: format!("cannot start the cache's thread: {e}"),
            })?;
        *thread = Some((stop_tx, handle));
        Ok(())
    }

    /// Waits until the initial load is complete.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when it is not complete within `timeout`.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let cache = zkcluster::TreeCache::new(&client, "/config")?;
    /// cache.start()?;
    /// cache.wait_initialized(std::time::Duration::from_secs(5))?;
    /// assert!(cache.is_initialized());
    /// # Ok(())
    /// # }
    /// ```
    pub fn wait_initialized(&self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now().checked_add(timeout);
        let mut done = self.shared.initialized.lock().unwrap_or_else(|p| p.into_inner());
        while !*done {
            let left = match deadline {
                Some(d) => d.saturating_duration_since(Instant::now()),
                None => Duration::from_secs(3600),
            };
            if left.is_zero() {
                return Err(Error::Timeout {
                    op: "tree cache load",
                    path: self.path.clone(),
                    after: timeout,
                });
            }
            done = self
                .shared
                .initialized_cv
                .wait_timeout(done, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        Ok(())
    }

    /// Whether the initial load is complete.
    pub fn is_initialized(&self) -> bool {
        *self.shared.initialized.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new receiver of every event from now on (each call gets its own; it ends when the
    /// cache stops). Events are queued without bound: read them.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let cache = zkcluster::TreeCache::new(&client, "/config")?;
    /// let events = cache.events();
    /// cache.start()?;
    /// for event in events.iter().take(1) {
    ///     println!("{event:?}");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn events(&self) -> Receiver<TreeEvent> {
        let (tx, rx) = crossbeam_channel::unbounded();
        self.shared.listeners.lock().unwrap_or_else(|p| p.into_inner()).push(tx);
        rx
    }

    /// The cached node at `path` (data and stat), if the cache holds it.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// # let cache = zkcluster::TreeCache::new(&client, "/config")?;
    /// if let Some(node) = cache.get("/config/depth") {
    ///     println!("{:?} (version {})", node.data(), node.stat().version);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn get(&self, path: &str) -> Option<TreeNode> {
        self.shared.read().get(path).cloned()
    }

    /// The names of the cached children of `path`, sorted; `None` when `path` is not cached.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// # let cache = zkcluster::TreeCache::new(&client, "/workers")?;
    /// let workers = cache.children("/workers").unwrap_or_default();
    /// # Ok(())
    /// # }
    /// ```
    pub fn children(&self, path: &str) -> Option<Vec<String>> {
        self.shared.read().children(path)
    }

    /// How many nodes the cache holds.
    pub fn len(&self) -> usize {
        self.shared.read().len()
    }

    /// Whether the cache holds no node (the root does not exist, or the load has not begun).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A copy of the whole cache at one moment (between two changes).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// # let cache = zkcluster::TreeCache::new(&client, "/config")?;
    /// let snapshot = cache.snapshot();
    /// for (path, node) in snapshot.iter() {
    ///     println!("{path}: {} bytes", node.data().len());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn snapshot(&self) -> TreeSnapshot {
        TreeSnapshot { state: self.shared.read().clone() }
    }

    /// Stops the thread and removes the watch (also done on drop). Events queued for
    /// receivers stay readable; the receivers then end.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let cache = zkcluster::TreeCache::new(&client, "/config")?;
    /// cache.start()?;
    /// cache.close();
    /// # Ok(())
    /// # }
    /// ```
    pub fn close(&self) {
        let thread = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some((stop, handle)) = thread {
            drop(stop);
            let _ = handle.join();
        }
        self.shared.listeners.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

impl Drop for TreeCache {
    fn drop(&mut self) {
        self.close();
    }
}

/// A copy of a [`TreeCache`] at one moment.
///
/// ```no_run
/// # fn main() -> zkcluster::Result<()> {
/// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
/// # let cache = zkcluster::TreeCache::new(&client, "/config")?;
/// let snapshot: zkcluster::TreeSnapshot = cache.snapshot();
/// assert_eq!(snapshot.len(), snapshot.iter().count());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct TreeSnapshot {
    state: TreeState,
}

impl TreeSnapshot {
    /// The node at `path`, if it was cached.
    pub fn get(&self, path: &str) -> Option<&TreeNode> {
        self.state.get(path)
    }

    /// The sorted names of `path`'s children; `None` when `path` was not cached.
    pub fn children(&self, path: &str) -> Option<Vec<String>> {
        self.state.children(path)
    }

    /// How many nodes it holds.
    pub fn len(&self) -> usize {
        self.state.len()
    }

    /// Whether it holds no node.
    pub fn is_empty(&self) -> bool {
        self.state.len() == 0
    }

    /// Every node with its path, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &TreeNode)> {
        self.state.paths().map(|(p, n)| (p.as_str(), n))
    }
}

/// The cache's thread: reads what the watch and the session say changed.
struct Keeper {
    client: Client,
    root: String,
    shared: Arc<Shared>,
    watch: Option<PersistentWatch>,
    sessions: crate::SessionEvents,
    stop: Receiver<()>,
    /// The cache may have missed something: crawl again once connected.
    stale: bool,
}

impl Keeper {
    fn run(&mut self) {
        loop {
            if self.stale && self.client.state().is_connected() {
                self.resync();
            }
            let watch_rx =
                self.watch.as_ref().map_or_else(crossbeam_channel::never, |w| w.receiver().clone());
            let retry = if self.stale {
                crossbeam_channel::after(RETRY_PAUSE)
            } else {
                crossbeam_channel::never()
            };
            select! {
                recv(self.stop) -> _ => return,
                recv(watch_rx) -> event => match event {
                    Ok(first) => {
                        let mut batch = vec![first];
                        batch.extend(watch_rx.try_iter().take(BATCH - 1));
                        if !self.apply_events(batch) {
                            return;
                        }
                    }
                    Err(_) => self.watch = None,
                },
                recv(self.sessions) -> event => match event {
                    Ok(event) => self.session_changed(event),
                    Err(_) => return,
                },
                recv(retry) -> _ => {}
            }
        }
    }

    fn session_changed(&mut self, event: SessionEvent) {
        let (notice, stale) = match event {
            SessionEvent::Suspended { .. } => (TreeEvent::ConnectionSuspended, false),
            SessionEvent::Reconnected { .. } | SessionEvent::Connected { .. } => {
                (TreeEvent::ConnectionReconnected, true)
            }
            SessionEvent::Lost { .. } => {
                self.watch = None;
                (TreeEvent::ConnectionLost, true)
            }
            _ => return,
        };
        self.stale |= stale;
        self.shared.publish(vec![notice]);
    }

    /// Reads again every node the events name (pipelined), and applies what was found in the
    /// order of the events. Returns `false` when the client is closed.
    fn apply_events(&mut self, batch: Vec<WatchedEvent>) -> bool {
        let mut paths: Vec<String> = Vec::with_capacity(batch.len());
        let mut seen = std::collections::HashSet::new();
        for event in batch {
            match event.kind {
                WatchEventKind::NodeCreated
                | WatchEventKind::NodeDeleted
                | WatchEventKind::NodeDataChanged => {
                    if seen.insert(event.path.clone()) {
                        paths.push(event.path);
                    }
                }
                WatchEventKind::NodeChildrenChanged => {}
                WatchEventKind::SessionLost => {
                    self.watch = None;
                    self.stale = true;
                }
                WatchEventKind::Closed => return false,
                // Resumed after a reconnect: changes made meanwhile were not reported to the
                // (still registered) watch; read everything again.
                WatchEventKind::Resumed => self.stale = true,
            }
        }
        if self.stale {
            return true; // a crawl reads everything anyway
        }
        let (nodes, failure) = crawl::read_nodes(&self.client, &paths);
        match failure {
            Some(e) if e.is_closed() => return false,
            Some(e) => {
                log::debug!("tree cache {}: re-reads failed ({e}); crawling again", self.root);
                self.stale = true;
            }
            None => {}
        }
        let found: Vec<_> = paths.into_iter().zip(nodes).collect();
        // What was read before a failure is still true (and newer than the cache).
        self.shared.change(|state, out| {
            for (path, node) in found {
                state.apply(&path, node, out);
            }
        });
        true
    }

    /// Adds the watch again if the session lost it, crawls the tree and brings the cache to it.
    fn resync(&mut self) {
        if self.watch.is_none() {
            match self.client.watch_persistent_recursive(&self.root) {
                Ok(watch) => self.watch = Some(watch),
                Err(e) => {
                    log::debug!("tree cache {}: cannot add the watch yet: {e}", self.root);
                    return;
                }
            }
        }
        // Events queued so far are older than everything the crawl will read.
        if let Some(watch) = &self.watch {
            for event in watch.receiver().try_iter() {
                if matches!(event.kind, WatchEventKind::SessionLost | WatchEventKind::Closed) {
                    self.watch = None;
                    return;
                }
            }
        }
        let stop = &self.stop;
        let stopped =
            || matches!(stop.try_recv(), Err(crossbeam_channel::TryRecvError::Disconnected));
        match crawl::crawl(&self.client, &self.root, &stopped) {
            Ok(Some(nodes)) => {
                self.stale = false;
                self.shared.change(|state, out| state.resync(nodes, out));
                let mut initialized =
                    self.shared.initialized.lock().unwrap_or_else(|p| p.into_inner());
                if !*initialized {
                    // Queued before the flag is set: whoever `wait_initialized` releases finds
                    // the event already in its receiver.
                    self.shared.publish(vec![TreeEvent::Initialized]);
                    *initialized = true;
                    self.shared.initialized_cv.notify_all();
                }
            }
            Ok(None) => {}
            Err(e) => log::debug!("tree cache {}: crawl failed ({e}); trying again", self.root),
        }
    }
}
