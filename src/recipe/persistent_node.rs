//! [`PersistentNode`]: an ephemeral node that puts itself back — Curator's `PersistentNode`,
//! which Kazoo lacks.
//!
//! # Guarantee
//!
//! While a `PersistentNode` lives and its client is open, its ephemeral node exists whenever
//! the session is connected, with the data last given: a background thread creates it, watches
//! it, and creates it again (with the same data) when it is deleted or when the session that
//! owned it is lost. [`path`](PersistentNode::path) reports where the node is now (a sequential
//! node gets a new sequence number each time it is made again). Dropping or
//! [closing](PersistentNode::close) it deletes the node and ends the thread; so does closing the
//! client (the node then goes with the session).
//!
//! # Node layout
//!
//! Exactly the path given, created ephemeral, or ephemeral sequential (`<path><10 digits>`).
//! *Protected* nodes put `_c_<32 hex digits>-` in front of the last segment, as Curator does
//! (`/workers/_c_<uuid>-w-0000000007`), so a create whose reply was lost can be found again.
//! Missing parents are created (persistent).
//!
//! # Failure modes
//!
//! - Connection loss: the node stays on the server (the session lives on); after reconnecting
//!   the thread checks it is still there. A create whose reply was lost is adopted after the
//!   reconnect when its name is known (not sequential, or protected) and its owner is our
//!   session; an unprotected *sequential* create lost that way may leave a second node until
//!   the session ends — use [`protected`](PersistentNodeBuilder::protected) for those.
//! - Session loss: the server deleted the node; it is created again as soon as the client has a
//!   new session (when it renews sessions; a client that does not ends the thread instead).
//! - The path holds an ephemeral node of another session (an old session not yet expired, or
//!   another client): the thread waits for that node to go, then creates ours.
//! - Errors retrying cannot fix (no permission, a parent that is ephemeral): the thread keeps
//!   trying with a pause of a second and reports the last error from
//!   [`wait_for_create`](PersistentNode::wait_for_create).
//! - Drop while disconnected: the deletion goes on in the background until it succeeds or the
//!   session ends, so no node is left behind for longer than the session.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{select, Receiver, Sender, TryRecvError};

use super::cleanup::{self, Target};
use super::node_name;
use crate::proto::Acl;
use crate::session::SessionLife;
use crate::{Client, CreateOptions, Error, Result, SessionEvent, WatchedEvent};

/// The pause after a failed create or check before the next try.
const RETRY_PAUSE: Duration = Duration::from_millis(200);
/// The pause after an error retrying does not fix by itself.
const STUCK_PAUSE: Duration = Duration::from_secs(1);
/// The prefix Curator puts in front of a protected node's name.
const PROTECTED_PREFIX: &str = "_c_";

/// Options of a [`PersistentNode`], from [`PersistentNode::builder`].
///
/// ```no_run
/// use zkcluster::{Client, recipe::PersistentNode};
/// # fn main() -> zkcluster::Result<()> {
/// let client = Client::connect("127.0.0.1:2181")?;
/// let node = PersistentNode::builder(&client, "/workers/w-", "host-1:8080")
///     .sequential()
///     .protected()
///     .start()?;
/// println!("registered as {}", node.wait_for_create(std::time::Duration::from_secs(5))?);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until started"]
pub struct PersistentNodeBuilder {
    client: Client,
    path: String,
    data: Vec<u8>,
    sequential: bool,
    protected: bool,
    acl: Option<Vec<Acl>>,
}

impl PersistentNodeBuilder {
    /// Appends ZooKeeper's 10-digit sequence number to the name (a new one on every re-create).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let node = client.persistent_node("/q/member-", "x").sequential().start()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn sequential(mut self) -> Self {
        self.sequential = true;
        self
    }

    /// Puts `_c_<uuid>-` in front of the name (Curator's protection), so a create whose reply
    /// was lost is found and adopted instead of made twice.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let node = client.persistent_node("/q/member-", "x").sequential().protected().start()?;
    /// assert!(node.wait_for_create(std::time::Duration::from_secs(5))?.contains("/_c_"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn protected(mut self) -> Self {
        self.protected = true;
        self
    }

    /// The node's ACL (default: the client's default ACL).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let node = client.persistent_node("/alive/w1", "").acl(zkcluster::Acl::open_unsafe()).start()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn acl(mut self, acl: Vec<Acl>) -> Self {
        self.acl = Some(acl);
        self
    }

    /// Starts the background thread, which creates the node at once. Does not wait for the
    /// create: see [`PersistentNode::wait_for_create`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPath`] / [`Error::ValueTooLarge`] for a path or value ZooKeeper would
    /// refuse (nothing is sent), [`Error::InvalidArgument`] for the root path or when the thread
    /// cannot be started.
    pub fn start(self) -> Result<PersistentNode> {
        crate::path::validate(&self.path, self.sequential)?;
        crate::path::validate_value(&self.path, &self.data)?;
        let (parent, name) = match crate::path::parent(&self.path) {
            Some(parent) => (parent.to_string(), self.path[parent.len()..].trim_start_matches('/')),
            None => {
                return Err(Error::InvalidArgument {
                    path: self.path.clone(),
                    reason: "a persistent node cannot be the root".into(),
                })
            }
        };
        let create_path = if self.protected {
            let marked = format!("{PROTECTED_PREFIX}{}-{name}", node_name::uuid_hex());
            crate::path::join(&parent, &marked)
        } else {
            self.path.clone()
        };
        let shared = Arc::new(NodeShared {
            requested: self.path.clone(),
            state: Mutex::new(NodeState {
                data: self.data,
                current: None,
                last_error: None,
                ended: false,
            }),
            changed: Condvar::new(),
        });
        let mut options = CreateOptions::new().ephemeral().parents();
        if self.sequential {
            options = options.sequential();
        }
        if let Some(acl) = self.acl {
            options = options.acl(acl);
        }
        let worker = Worker {
            client: self.client.clone(),
            shared: shared.clone(),
            create_path,
            parent,
            protected: self.protected,
            sequential: self.sequential,
            options,
        };
        let (stop, stopped) = crossbeam_channel::bounded::<()>(0);
        let (done_tx, done) = crossbeam_channel::bounded(1);
        // Subscribed here, so no session transition after `start` returns goes unseen.
        let events = self.client.session_events();
        let thread = std::thread::Builder::new()
            .name("zkcluster-persistent-node".to_string())
            .spawn(move || {
                let outcome = worker.run(&events, &stopped);
                let _ = done_tx.send(outcome);
            })
            .map_err(|e| Error::InvalidArgument {
                path: self.path.clone(),
                reason: format!("could not start the persistent node's thread: {e}"),
            })?;
        Ok(PersistentNode {
            client: self.client,
            shared,
            stop: Mutex::new(Some(stop)),
            done,
            thread: Mutex::new(Some(thread)),
        })
    }
}

/// An ephemeral node kept present across reconnects and session loss (Curator's
/// `PersistentNode`); see the [module docs](self) for the guarantee and failure modes.
///
/// `Send + Sync`. A background thread does the work; it holds a clone of the client (so the
/// session stays open while the node lives) and ends when the `PersistentNode` is dropped or
/// closed, or when the client is closed.
///
/// ```no_run
/// use std::time::Duration;
/// use zkcluster::{Client, recipe::PersistentNode};
/// # fn main() -> zkcluster::Result<()> {
/// let client = Client::connect("127.0.0.1:2181")?;
/// let node = PersistentNode::start(&client, "/services/crawler-1", "10.0.0.7:8080")?;
/// assert_eq!(node.wait_for_create(Duration::from_secs(5))?, "/services/crawler-1");
/// // ... the node is there through reconnects and session expiry ...
/// node.set_data("10.0.0.7:8081")?;
/// node.close()?; // deleted now
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct PersistentNode {
    client: Client,
    shared: Arc<NodeShared>,
    /// Dropped to stop the thread.
    stop: Mutex<Option<Sender<()>>>,
    /// The outcome of the thread's final deletion.
    done: Receiver<Result<()>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

#[derive(Debug)]
struct NodeShared {
    requested: String,
    state: Mutex<NodeState>,
    /// Notified whenever `state.current` or `state.ended` changes.
    changed: Condvar,
}

#[derive(Debug)]
struct NodeState {
    data: Vec<u8>,
    /// The node we created and last saw, with the life of the session that owns it.
    current: Option<(String, Arc<SessionLife>)>,
    last_error: Option<String>,
    /// The thread has ended (stopped, client closed, or the session lost for good).
    ended: bool,
}

impl NodeShared {
    fn lock(&self) -> MutexGuard<'_, NodeState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set_current(&self, current: Option<(String, Arc<SessionLife>)>) {
        self.lock().current = current;
        self.changed.notify_all();
    }
}

impl PersistentNode {
    /// Keeps a plain ephemeral node at `path` with `data`; shorthand for
    /// `PersistentNode::builder(client, path, data).start()`.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let node = zkcluster::recipe::PersistentNode::start(&client, "/alive/worker-1", "")?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`PersistentNodeBuilder::start`].
    pub fn start(client: &Client, path: &str, data: impl AsRef<[u8]>) -> Result<PersistentNode> {
        PersistentNode::builder(client, path, data).start()
    }

    /// A builder for a sequential, protected or ACL'd node.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let node = zkcluster::recipe::PersistentNode::builder(&client, "/q/member-", b"x")
    ///     .sequential()
    ///     .start()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn builder(client: &Client, path: &str, data: impl AsRef<[u8]>) -> PersistentNodeBuilder {
        PersistentNodeBuilder {
            client: client.clone(),
            path: path.to_string(),
            data: data.as_ref().to_vec(),
            sequential: false,
            protected: false,
            acl: None,
        }
    }

    /// The path that was asked for (without sequence number or protection prefix).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let node = zkcluster::recipe::PersistentNode::start(&client, "/alive/w1", "")?;
    /// assert_eq!(node.requested_path(), "/alive/w1");
    /// # Ok(())
    /// # }
    /// ```
    pub fn requested_path(&self) -> &str {
        &self.shared.requested
    }

    /// Where the node is now: `None` before it was first created, while it is being made
    /// again after a deletion or session loss, and after the node ended.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let node = zkcluster::recipe::PersistentNode::start(&client, "/alive/w1", "")?;
    /// if let Some(path) = node.path() {
    ///     println!("present at {path}");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn path(&self) -> Option<String> {
        let state = self.shared.lock();
        match &state.current {
            Some((path, life)) if !life.has_ended() => Some(path.clone()),
            _ => None,
        }
    }

    /// Waits until the node exists (at most `timeout`) and returns its path.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when it does not exist in time (with the last create error in the
    /// log); [`Error::Closed`] when the node's thread has ended (the node was closed, the
    /// client closed, or the session lost without renewal).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let node = zkcluster::recipe::PersistentNode::start(&client, "/alive/w1", "")?;
    /// let path = node.wait_for_create(std::time::Duration::from_secs(5))?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn wait_for_create(&self, timeout: Duration) -> Result<String> {
        let deadline = Instant::now().checked_add(timeout);
        let mut state = self.shared.lock();
        loop {
            if let Some((path, life)) = &state.current {
                if !life.has_ended() {
                    return Ok(path.clone());
                }
            }
            if state.ended {
                return Err(Error::Closed);
            }
            let left = match deadline {
                Some(d) => d.saturating_duration_since(Instant::now()),
                None => Duration::from_secs(3600),
            };
            if left.is_zero() {
                if let Some(e) = &state.last_error {
                    log::warn!("persistent node {}: last create error: {e}", self.shared.requested);
                }
                return Err(Error::Timeout {
                    op: "create",
                    path: self.shared.requested.clone(),
                    after: timeout,
                });
            }
            // Bounded waits: a session that ends does not notify this condvar.
            let slice = left.min(Duration::from_millis(100));
            state = self.shared.changed.wait_timeout(state, slice).map_or_else(
                |p| {
                    let (guard, _) = p.into_inner();
                    guard
                },
                |(guard, _)| guard,
            );
        }
    }

    /// The data the node is (re-)created with.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let node = zkcluster::recipe::PersistentNode::start(&client, "/alive/w1", "v1")?;
    /// assert_eq!(node.data(), b"v1");
    /// # Ok(())
    /// # }
    /// ```
    pub fn data(&self) -> Vec<u8> {
        self.shared.lock().data.clone()
    }

    /// Changes the data: written to the node now if it exists, and used for every re-create.
    ///
    /// # Errors
    ///
    /// [`Error::ValueTooLarge`] (nothing changed); errors of the write to the current node (the
    /// new data is still used for later re-creates).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let node = zkcluster::recipe::PersistentNode::start(&client, "/alive/w1", "v1")?;
    /// node.set_data("v2")?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_data(&self, data: impl AsRef<[u8]>) -> Result<()> {
        let data = data.as_ref();
        crate::path::validate_value(&self.shared.requested, data)?;
        let current = {
            let mut state = self.shared.lock();
            state.data = data.to_vec();
            state.current.as_ref().map(|(path, _)| path.clone())
        };
        match current {
            Some(path) => match self.client.set_data(&path, data, None) {
                // Deleted meanwhile: the thread re-creates it with the new data.
                Err(e) if e.is_no_node() => Ok(()),
                other => other.map(|_| ()),
            },
            None => Ok(()),
        }
    }

    /// Deletes the node and ends the thread, waiting for both (about a request timeout at most
    /// when the server does not answer; the deletion then goes on in the background). Wakes
    /// every thread blocked in [`wait_for_create`](Self::wait_for_create) (with
    /// [`Error::Closed`]), so it also cancels a wait from another thread. Idempotent.
    ///
    /// # Errors
    ///
    /// The deletion's error when the server could not be reached (connection loss, timeout),
    /// reported to the first `close`. After the client was closed it returns `Ok` (the node
    /// went with the session).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let node = zkcluster::recipe::PersistentNode::start(&client, "/alive/w1", "")?;
    /// node.close()?;
    /// assert!(client.exist_node("/alive/w1")?.is_none());
    /// # Ok(())
    /// # }
    /// ```
    pub fn close(&self) -> Result<()> {
        self.stop.lock().unwrap_or_else(|p| p.into_inner()).take();
        let thread = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        match thread {
            Some(thread) => {
                let _ = thread.join();
                self.done.try_recv().unwrap_or(Ok(()))
            }
            None => Ok(()),
        }
    }
}

impl PersistentNode {
    /// Tells the thread to delete the node and end, without waiting for it.
    pub(crate) fn stop(&self) {
        // The thread deletes the node on its way out (in the background when disconnected).
        self.stop.lock().unwrap_or_else(|p| p.into_inner()).take();
    }
}

impl Drop for PersistentNode {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Why the worker stopped waiting.
enum Wake {
    /// Look at the node again.
    Check,
    /// The session changed: the node (if any) is gone.
    NewSession,
    /// Stop: dropped, closed, or the client closed / the session lost for good.
    Stop,
}

struct Worker {
    client: Client,
    shared: Arc<NodeShared>,
    create_path: String,
    parent: String,
    protected: bool,
    sequential: bool,
    options: CreateOptions,
}

impl Worker {
    /// The thread's body; returns the outcome of the final deletion.
    fn run(&self, events: &Receiver<SessionEvent>, stopped: &Receiver<()>) -> Result<()> {
        // The watch on our current node; re-armed only after it fired (it survives reconnects).
        let mut watch: Option<Receiver<WatchedEvent>> = None;
        // A create whose reply was lost in this session: look for it before creating again.
        let mut unsure = false;
        loop {
            if self.client.state().is_terminal() {
                break;
            }
            let current = self.shared.lock().current.clone();
            let wake = match current {
                Some((_, life)) if life.has_ended() => {
                    self.shared.set_current(None);
                    watch = None;
                    continue;
                }
                Some((path, life)) => self.keep(&path, &life, &mut watch, events, stopped),
                None if !self.client.state().is_connected() => {
                    watch = None;
                    self.pause(None, events, stopped)
                }
                None => {
                    watch = None;
                    self.create(&mut unsure, events, stopped)
                }
            };
            match wake {
                Wake::Check => {}
                Wake::NewSession => {
                    // Events queue up: a `Connected` may announce the very session our node
                    // was just made in. Only a node whose session ended is gone.
                    let gone =
                        self.shared.lock().current.as_ref().map_or(true, |(_, l)| l.has_ended());
                    if gone {
                        self.shared.set_current(None);
                        watch = None;
                        unsure = false;
                    }
                }
                Wake::Stop => break,
            }
        }
        self.finish(unsure)
    }

    /// Deletes our node (if any) as the thread ends, and marks the node ended. `unsure`: a
    /// create whose reply was lost may have made a node we do not know the path of.
    fn finish(&self, unsure: bool) -> Result<()> {
        let current = {
            let mut state = self.shared.lock();
            state.ended = true;
            state.current.take()
        };
        self.shared.changed.notify_all();
        let life = self.client.shared().life();
        if unsure && current.is_none() && !life.has_ended() {
            self.forget_lost_create(&life);
        }
        let Some((path, life)) = current else { return Ok(()) };
        if life.has_ended() {
            return Ok(());
        }
        if !self.client.state().is_connected() {
            cleanup::hand_over(&self.client, &life, Target::Node(path.clone()));
            return Err(Error::ConnectionLoss { op: "delete", path });
        }
        cleanup::delete_or_hand_over(&self.client, &life, Target::Node(path))
    }

    /// Removes the node a create whose reply was lost may have made in this session: by its
    /// protected prefix (ours alone), or by its path once its owner is known to be us.
    fn forget_lost_create(&self, life: &Arc<SessionLife>) {
        if self.protected {
            let prefix = self.create_path[self.parent.len()..].trim_start_matches('/');
            let target = Target::Prefix { parent: self.parent.clone(), prefix: prefix.to_string() };
            cleanup::delete_soon(&self.client, life, target);
        } else if !self.sequential && self.client.state().is_connected() {
            // (While disconnected the owner cannot be checked without blocking: a node made by
            // the lost create then goes with the session.)
            if let Ok(Some(stat)) = self.client.exist_node(&self.create_path) {
                if stat.ephemeral_owner == life.session_id {
                    cleanup::delete_soon(
                        &self.client,
                        life,
                        Target::Node(self.create_path.clone()),
                    );
                }
            }
        }
    }

    /// Waits for a session transition, the stop signal, `watch` (when given) or a pause.
    fn pause(
        &self,
        watch: Option<&Receiver<WatchedEvent>>,
        events: &Receiver<SessionEvent>,
        stopped: &Receiver<()>,
    ) -> Wake {
        self.wait(watch, events, stopped, RETRY_PAUSE)
    }

    fn wait(
        &self,
        watch: Option<&Receiver<WatchedEvent>>,
        events: &Receiver<SessionEvent>,
        stopped: &Receiver<()>,
        pause: Duration,
    ) -> Wake {
        let never = crossbeam_channel::never();
        let watch = watch.unwrap_or(&never);
        select! {
            recv(stopped) -> _ => Wake::Stop,
            recv(events) -> event => match event {
                Err(_) | Ok(SessionEvent::Closed) | Ok(SessionEvent::AuthFailed) => Wake::Stop,
                Ok(SessionEvent::Lost { .. }) | Ok(SessionEvent::Connected { .. }) => {
                    Wake::NewSession
                }
                Ok(_) => Wake::Check,
            },
            recv(watch) -> _ => Wake::Check,
            default(pause) => Wake::Check,
        }
    }

    /// Makes the node (or adopts the one a lost create made).
    fn create(
        &self,
        unsure: &mut bool,
        events: &Receiver<SessionEvent>,
        stopped: &Receiver<()>,
    ) -> Wake {
        let life = self.client.shared().life();
        if std::mem::take(unsure) {
            match self.find_lost_create(&life) {
                Ok(Some(path)) => {
                    self.shared.set_current(Some((path, life)));
                    return Wake::Check;
                }
                Ok(None) => {}
                Err(e) => {
                    *unsure = true;
                    self.note_error(&e);
                    return self.pause(None, events, stopped);
                }
            }
        }
        let data = self.shared.lock().data.clone();
        let created = self.client.create_async(&self.create_path, &data, &self.options).wait();
        let same_session = Arc::ptr_eq(&life, &self.client.shared().life()) && !life.has_ended();
        match created {
            Ok(path) if same_session => {
                self.shared.lock().last_error = None;
                self.shared.set_current(Some((path, life)));
                Wake::Check
            }
            Ok(path) => {
                // Made by a session that is gone (or going): delete it (a no-op then) and retry.
                cleanup::hand_over(&self.client, &self.client.shared().life(), Target::Node(path));
                Wake::Check
            }
            Err(e) if e.is_node_exists() => self.existing(&life, events, stopped),
            Err(e) if e.is_connection_loss() || e.is_timeout() => {
                *unsure = self.protected || !self.sequential;
                self.note_error(&e);
                self.pause(None, events, stopped)
            }
            Err(e) if e.is_session_expired() => Wake::NewSession,
            Err(e) if e.is_closed() => Wake::Stop,
            Err(e) => {
                log::warn!("persistent node {}: create failed: {e}", self.shared.requested);
                self.note_error(&e);
                self.wait(None, events, stopped, STUCK_PAUSE)
            }
        }
    }

    /// Our (non-sequential) path already exists: adopt it if our session owns it, else wait
    /// for it to go.
    fn existing(
        &self,
        life: &Arc<SessionLife>,
        events: &Receiver<SessionEvent>,
        stopped: &Receiver<()>,
    ) -> Wake {
        match self.client.exist_node_watch(&self.create_path) {
            Ok((Some(stat), _)) if stat.ephemeral_owner == life.session_id => {
                self.shared.set_current(Some((self.create_path.clone(), life.clone())));
                Wake::Check
            }
            Ok((Some(stat), fired)) => {
                log::debug!(
                    "persistent node {}: held by session {:#x}; waiting for it to go",
                    self.create_path,
                    stat.ephemeral_owner
                );
                self.wait(Some(&fired), events, stopped, Duration::from_secs(60))
            }
            Ok((None, _)) => Wake::Check,
            Err(e) => {
                self.note_error(&e);
                self.pause(None, events, stopped)
            }
        }
    }

    /// After a create whose reply was lost: the node it made, if our session owns one.
    fn find_lost_create(&self, life: &Arc<SessionLife>) -> Result<Option<String>> {
        if !self.protected {
            return Ok(match self.client.exist_node(&self.create_path)? {
                Some(stat) if stat.ephemeral_owner == life.session_id => {
                    Some(self.create_path.clone())
                }
                _ => None,
            });
        }
        let prefix = self.create_path[self.parent.len()..].trim_start_matches('/');
        let children = match self.client.get_children(&self.parent) {
            Ok(children) => children,
            Err(e) if e.is_no_node() => return Ok(None),
            Err(e) => return Err(e),
        };
        for child in children.iter().filter(|c| c.starts_with(prefix)) {
            let path = crate::path::join(&self.parent, child);
            if let Some(stat) = self.client.exist_node(&path)? {
                if stat.ephemeral_owner == life.session_id {
                    return Ok(Some(path));
                }
            }
        }
        Ok(None)
    }

    /// Watches our node while it exists; clears `current` once it is gone.
    fn keep(
        &self,
        path: &str,
        life: &Arc<SessionLife>,
        watch: &mut Option<Receiver<WatchedEvent>>,
        events: &Receiver<SessionEvent>,
        stopped: &Receiver<()>,
    ) -> Wake {
        // Re-arm when there is no watch, or it fired, or it was dropped unfired.
        let rearm =
            watch.as_ref().map_or(true, |w| !matches!(w.try_recv(), Err(TryRecvError::Empty)));
        if rearm {
            *watch = None;
            match self.client.exist_node_watch(path) {
                Ok((Some(stat), w)) if stat.ephemeral_owner == life.session_id => *watch = Some(w),
                Ok((_, _)) => {
                    // Deleted (or replaced by someone else's node): make ours again.
                    self.shared.set_current(None);
                    return Wake::Check;
                }
                Err(e) if e.is_session_expired() => return Wake::NewSession,
                Err(e) if e.is_closed() => return Wake::Stop,
                Err(e) => {
                    self.note_error(&e);
                    return self.pause(None, events, stopped);
                }
            }
        }
        let Some(armed) = watch.as_ref() else { return Wake::Check };
        // The watch, the session events and the stop signal wake us; the watch survives
        // reconnects (the client registers it again), so a reconnect only needs a look.
        select! {
            recv(stopped) -> _ => Wake::Stop,
            recv(armed) -> _ => Wake::Check,
            recv(events) -> event => match event {
                Err(_) | Ok(SessionEvent::Closed) | Ok(SessionEvent::AuthFailed) => Wake::Stop,
                Ok(SessionEvent::Lost { .. }) | Ok(SessionEvent::Connected { .. }) => {
                    Wake::NewSession
                }
                Ok(SessionEvent::Reconnected { .. }) => {
                    match self.client.exist_node(path) {
                        Ok(Some(stat)) if stat.ephemeral_owner == life.session_id => {}
                        Ok(_) => self.shared.set_current(None),
                        Err(_) => {}
                    }
                    Wake::Check
                }
                Ok(_) => Wake::Check,
            },
        }
    }

    fn note_error(&self, e: &Error) {
        log::debug!("persistent node {}: {e}", self.shared.requested);
        self.shared.lock().last_error = Some(e.to_string());
    }
}
