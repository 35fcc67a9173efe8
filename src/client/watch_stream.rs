//! Watches as streams: Kazoo's `DataWatch` and `ChildrenWatch` (one-shot watches re-armed on
//! every change), and persistent watches (addWatch).

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError};

use super::data::check;
use super::{Client, Pending, ZookeeperNode};
use crate::path::validate;
use crate::proto::{op, watcher_type, AddWatchRequest, RemoveWatchesRequest};
use crate::session::{RawReply, WatchEventKind, WatchKind, WatchedEvent};
use crate::{Error, Result};

/// How long a stream waits before reading again after a failed read.
const RETRY_PAUSE: Duration = Duration::from_millis(200);

/// A node's state, delivered again after each change: `Ok(Some(state))` while the node exists,
/// `Ok(None)` while it does not, `Err(..)` when a read failed (the stream retries) or the
/// session was lost (`is_session_expired()`; watches set before are gone, so re-read state
/// follows as soon as the client has a new session).
///
/// Made by [`Client::watch_data`] ([`DataWatch`]) and [`Client::watch_children`]
/// ([`ChildrenWatch`]). A helper thread re-arms the watch after each event; it ends when the
/// handle is dropped or [`close`](Self::close)d, or when the client is closed (the iterator
/// then ends). The handle holds a clone of the client, so it keeps the session open.
///
/// Several changes in quick succession may be reported as one (ZooKeeper's watches are
/// one-shot: changes between an event and the re-read are seen only in the re-read state).
///
/// ```no_run
/// # fn main() -> zkcluster::Result<()> {
/// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
/// for state in client.watch_data("/config")? {
///     match state? {
///         Some(node) => println!("config is now {:?}", node.value_str()),
///         None => println!("config was deleted"),
///     }
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
#[must_use = "the watch stops when its handle is dropped"]
pub struct WatchStream<T> {
    path: String,
    updates: Receiver<Result<Option<T>>>,
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// A stream of a node's data and metadata (Kazoo's `DataWatch`); see [`WatchStream`].
pub type DataWatch = WatchStream<ZookeeperNode>;

/// A stream of a node's children's names (Kazoo's `ChildrenWatch`); see [`WatchStream`].
pub type ChildrenWatch = WatchStream<Vec<String>>;

type ReadFn<T> = fn(&Client, &str) -> Result<(Option<T>, Receiver<WatchedEvent>)>;

impl<T: Send + 'static> WatchStream<T> {
    fn start(client: &Client, path: &str, read: ReadFn<T>) -> Result<WatchStream<T>> {
        validate(path, false)?;
        // The first state is read here, so a bad path or a closed client fails the call itself.
        let first = read(client, path)?;
        let (updates_tx, updates) = crossbeam_channel::unbounded();
        let (stop, stopped) = crossbeam_channel::bounded::<()>(0);
        let (client, thread_path) = (client.clone(), path.to_string());
        let thread = std::thread::Builder::new()
            .name("zkcluster-watch".to_string())
            .spawn(move || run(&client, &thread_path, read, first, &updates_tx, &stopped))
            .map_err(|e| Error::InvalidArgument {
                path: path.to_string(),
                reason: format!("could not start the watch thread: {e}"),
            })?;
        Ok(WatchStream { path: path.to_string(), updates, stop: Some(stop), thread: Some(thread) })
    }
}

impl<T> WatchStream<T> {
    /// The watched path.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// assert_eq!(client.watch_data("/config")?.path(), "/config");
    /// # Ok(())
    /// # }
    /// ```
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The next state, waiting at most `timeout`. `Err(Disconnected)` once the stream has ended.
    ///
    /// # Errors
    ///
    /// `Err(Timeout)` when nothing arrived within `timeout`, `Err(Disconnected)` once the stream
    /// has ended (client closed or stream dropped). An `Ok(Err(e))` is a failed re-read of the
    /// node, after which the stream goes on.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let watch = client.watch_children("/workers")?;
    /// if let Ok(Ok(Some(children))) = watch.recv_timeout(std::time::Duration::from_secs(1)) {
    ///     println!("{} workers", children.len());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn recv_timeout(
        &self,
        timeout: Duration,
    ) -> std::result::Result<Result<Option<T>>, RecvTimeoutError> {
        self.updates.recv_timeout(timeout)
    }

    /// The next state if one is waiting. `Err(Disconnected)` once the stream has ended.
    ///
    /// # Errors
    ///
    /// `Err(Empty)` when nothing is waiting, `Err(Disconnected)` once the stream has ended. An
    /// `Ok(Err(e))` is a failed re-read of the node.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let watch = client.watch_data("/config")?;
    /// while let Ok(state) = watch.try_recv() {
    ///     println!("{:?}", state?.map(|node| node.stat.version));
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_recv(&self) -> std::result::Result<Result<Option<T>>, TryRecvError> {
        self.updates.try_recv()
    }

    /// The channel the states arrive on, to wait on several sources with
    /// [`select!`](crate::channel::select).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let config = client.watch_data("/config")?;
    /// let workers = client.watch_children("/workers")?;
    /// zkcluster::channel::select! {
    ///     recv(config.receiver()) -> state => println!("config: {:?}", state),
    ///     recv(workers.receiver()) -> state => println!("workers: {:?}", state),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn receiver(&self) -> &Receiver<Result<Option<T>>> {
        &self.updates
    }

    /// Stops the stream and waits for its thread to end (at most about a request timeout,
    /// when a read is in flight). Dropping the handle stops it without waiting.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let watch = client.watch_data("/config")?;
    /// watch.close();
    /// # Ok(())
    /// # }
    /// ```
    pub fn close(mut self) {
        self.stop.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl<T> Iterator for WatchStream<T> {
    type Item = Result<Option<T>>;

    /// Waits for the next state; `None` once the stream has ended (the client was closed, or
    /// the session was lost for good).
    fn next(&mut self) -> Option<Self::Item> {
        self.updates.recv().ok()
    }
}

impl<T> Drop for WatchStream<T> {
    fn drop(&mut self) {
        // Dropping the sender wakes the thread, which ends without waiting for another change.
        self.stop.take();
    }
}

/// The helper thread: deliver the state, wait for its watch (or the stop signal), re-read.
fn run<T>(
    client: &Client,
    path: &str,
    read: ReadFn<T>,
    first: (Option<T>, Receiver<WatchedEvent>),
    out: &Sender<Result<Option<T>>>,
    stopped: &Receiver<()>,
) {
    let mut current: Result<(Option<T>, Receiver<WatchedEvent>)> = Ok(first);
    loop {
        let fired = match current {
            Ok((state, fired)) => {
                if out.send(Ok(state)).is_err() {
                    return;
                }
                fired
            }
            Err(e) => {
                let done = e.is_closed() || client.state().is_terminal();
                // An error the consumer has not taken yet is not repeated: a read that keeps
                // failing must not fill the channel every pause.
                if done || out.is_empty() && out.send(Err(e)).is_err() {
                    return;
                }
                crossbeam_channel::select! {
                    recv(stopped) -> _ => return,
                    default(RETRY_PAUSE) => {}
                }
                current = read(client, path);
                continue;
            }
        };
        crossbeam_channel::select! {
            recv(stopped) -> _ => return,
            recv(fired) -> event => match event.map(|e| e.kind) {
                Ok(WatchEventKind::Closed) => return,
                Ok(WatchEventKind::SessionLost) => {
                    let lost = Error::SessionExpired { op: "watch", path: path.to_string() };
                    if out.send(Err(lost)).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                // The watch was dropped unfired (its request failed): read again after a pause.
                Err(_) => crossbeam_channel::select! {
                    recv(stopped) -> _ => return,
                    default(RETRY_PAUSE) => {}
                },
            },
        }
        if client.state().is_terminal() {
            return;
        }
        current = read(client, path);
    }
}

/// The node with a data watch, or `None` with an exists watch that fires on its creation.
fn read_data(
    client: &Client,
    path: &str,
) -> Result<(Option<ZookeeperNode>, Receiver<WatchedEvent>)> {
    loop {
        match client.get_node_watch(path) {
            Ok((node, fired)) => return Ok((Some(node), fired)),
            Err(e) if e.is_no_node() => match client.exist_node_watch(path)? {
                (None, fired) => return Ok((None, fired)),
                // Created between the two reads: read it (the exists left a harmless extra watch).
                (Some(_), _) => continue,
            },
            Err(e) => return Err(e),
        }
    }
}

/// The children with a child watch, or `None` with an exists watch while the node is missing.
fn read_children(
    client: &Client,
    path: &str,
) -> Result<(Option<Vec<String>>, Receiver<WatchedEvent>)> {
    loop {
        match client.get_children_watch(path) {
            Ok((children, fired)) => return Ok((Some(children), fired)),
            Err(e) if e.is_no_node() => match client.exist_node_watch(path)? {
                (None, fired) => return Ok((None, fired)),
                (Some(_), _) => continue,
            },
            Err(e) => return Err(e),
        }
    }
}

impl Client {
    /// A stream of `path`'s data and metadata: the current state at once, then the new state
    /// after every change (`None` while the node does not exist). Kazoo's `DataWatch`; see
    /// [`WatchStream`].
    ///
    /// # Errors
    ///
    /// [`InvalidPath`](crate::Error::InvalidPath) for a malformed path (nothing is sent);
    /// [`Server`](crate::Error::Server) when the server refuses it (`is_no_auth()`) for the first
    /// read; [`Timeout`](crate::Error::Timeout), [`ConnectionLoss`](crate::Error::ConnectionLoss),
    /// [`SessionExpired`](crate::Error::SessionExpired) or [`Closed`](crate::Error::Closed) when
    /// the call could not complete.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let watch = client.watch_data("/config")?;
    /// std::thread::spawn(move || {
    ///     for state in watch {
    ///         if let Ok(Some(node)) = state {
    ///             println!("config v{}: {:?}", node.stat.version, node.value_str());
    ///         }
    ///     }
    /// });
    /// # Ok(())
    /// # }
    /// ```
    pub fn watch_data(&self, path: &str) -> Result<DataWatch> {
        WatchStream::start(self, path, read_data)
    }

    /// A stream of `path`'s children's names: the current list at once, then the new list after
    /// every change of the list (`None` while the node does not exist). Kazoo's `ChildrenWatch`;
    /// see [`WatchStream`].
    ///
    /// # Errors
    ///
    /// [`InvalidPath`](crate::Error::InvalidPath) for a malformed path (nothing is sent);
    /// [`Server`](crate::Error::Server) when the server refuses it (`is_no_auth()`) for the first
    /// read; [`Timeout`](crate::Error::Timeout), [`ConnectionLoss`](crate::Error::ConnectionLoss),
    /// [`SessionExpired`](crate::Error::SessionExpired) or [`Closed`](crate::Error::Closed) when
    /// the call could not complete.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// for workers in client.watch_children("/workers")? {
    ///     println!("workers now: {:?}", workers?);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn watch_children(&self, path: &str) -> Result<ChildrenWatch> {
        WatchStream::start(self, path, read_children)
    }

    /// A persistent watch on `path` (addWatch, ZooKeeper 3.6+): every creation, deletion, data
    /// change and child-list change of the node, until the handle is dropped. See [`PersistentWatch`].
    ///
    /// # Errors
    ///
    /// [`InvalidPath`](crate::Error::InvalidPath) for a malformed path (nothing is sent);
    /// [`Server`](crate::Error::Server) when the server refuses it (an unimplemented operation on
    /// servers before 3.6, `is_no_auth()`); [`Timeout`](crate::Error::Timeout),
    /// [`ConnectionLoss`](crate::Error::ConnectionLoss),
    /// [`SessionExpired`](crate::Error::SessionExpired) or [`Closed`](crate::Error::Closed) when
    /// the call could not complete.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// for event in client.watch_persistent("/config")? {
    ///     println!("{:?} on {}", event.kind, event.path);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn watch_persistent(&self, path: &str) -> Result<PersistentWatch> {
        self.watch_persistent_async(path, false).wait()
    }

    /// A persistent recursive watch on `path` (addWatch, ZooKeeper 3.6+): every creation,
    /// deletion and data change of the node and of every node below it. Child-list changes are
    /// not reported (they show as the creation or deletion of the child). See [`PersistentWatch`].
    ///
    /// # Errors
    ///
    /// [`InvalidPath`](crate::Error::InvalidPath) for a malformed path (nothing is sent);
    /// [`Server`](crate::Error::Server) when the server refuses it (an unimplemented operation on
    /// servers before 3.6, `is_no_auth()`); [`Timeout`](crate::Error::Timeout),
    /// [`ConnectionLoss`](crate::Error::ConnectionLoss),
    /// [`SessionExpired`](crate::Error::SessionExpired) or [`Closed`](crate::Error::Closed) when
    /// the call could not complete.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let tree = client.watch_persistent_recursive("/crawler")?;
    /// while let Ok(event) = tree.recv_timeout(std::time::Duration::from_secs(5)) {
    ///     println!("{:?} on {}", event.kind, event.path);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn watch_persistent_recursive(&self, path: &str) -> Result<PersistentWatch> {
        self.watch_persistent_async(path, true).wait()
    }

    /// [`watch_persistent`](Self::watch_persistent) or
    /// [`watch_persistent_recursive`](Self::watch_persistent_recursive) without waiting; events
    /// are delivered once the server has confirmed the watch.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let a = client.watch_persistent_async("/a", false);
    /// let b = client.watch_persistent_async("/b", true);
    /// let (a, b) = (a.wait()?, b.wait()?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn watch_persistent_async(&self, path: &str, recursive: bool) -> Pending<PersistentWatch> {
        if let Err(e) = validate(path, false) {
            return Pending::failed(e);
        }
        let (kind, mode) = if recursive {
            (WatchKind::PersistentRecursive, crate::proto::add_watch_mode::PERSISTENT_RECURSIVE)
        } else {
            (WatchKind::Persistent, crate::proto::add_watch_mode::PERSISTENT)
        };
        let server_path = self.shared().server_path(path);
        let frame = crate::proto::encode_request(
            0,
            op::ADD_WATCH,
            &AddWatchRequest { path: server_path.clone(), mode },
        );
        // Unbounded: a persistent watch fires any number of times, and the session's reader
        // thread must never block on a slow consumer.
        let (tx, rx) = crossbeam_channel::unbounded();
        let registration = Some((kind, server_path.clone(), tx.clone()));
        let client = self.clone();
        let requested = path.to_string();
        match self.shared().send(frame, registration) {
            Ok(waiter) => {
                Pending::sent(waiter, "add_watch", path.to_string(), move |reply: RawReply| {
                    check(&reply, "add_watch", &requested)?;
                    Ok(PersistentWatch {
                        client,
                        path: requested,
                        server_path,
                        kind,
                        tx,
                        rx,
                        ended: AtomicBool::new(false),
                    })
                })
            }
            Err(failure) => Pending::failed(failure.into_error("add_watch", path)),
        }
    }
}

/// A persistent watch (addWatch, ZooKeeper 3.6+), from [`Client::watch_persistent`] or
/// [`Client::watch_persistent_recursive`]: yields a [`WatchedEvent`] for every change, and stays
/// registered (also across reconnects of the same session) until the handle is dropped, which
/// removes it on the server as well (on servers before 3.9, only when the client has no other
/// watch on the path; otherwise the server keeps it until the connection ends, unseen).
///
/// Events carry what happened and where, not the new state: read the node for that. When the
/// session is lost the watch is gone: it yields one [`WatchEventKind::SessionLost`] event and
/// ends; when the client is closed it ends. The handle holds a clone of the client.
///
/// ```no_run
/// use zkcluster::WatchEventKind;
/// # fn main() -> zkcluster::Result<()> {
/// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
/// let watch = client.watch_persistent_recursive("/jobs")?;
/// for event in watch {
///     match event.kind {
///         WatchEventKind::NodeCreated => println!("new job {}", event.path),
///         WatchEventKind::SessionLost => println!("watch lost; re-read and watch again"),
///         _ => {}
///     }
/// }
/// # Ok(())
/// # }
/// ```
#[must_use = "the watch is removed when its handle is dropped"]
pub struct PersistentWatch {
    client: Client,
    path: String,
    server_path: String,
    kind: WatchKind,
    /// The sender registered in the session's watch table, to find it again when dropped.
    tx: Sender<WatchedEvent>,
    rx: Receiver<WatchedEvent>,
    ended: AtomicBool,
}

impl std::fmt::Debug for PersistentWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PersistentWatch")
            .field("path", &self.path)
            .field("recursive", &self.is_recursive())
            .field("ended", &self.ended.load(Ordering::SeqCst))
            .finish()
    }
}

impl PersistentWatch {
    /// The watched path.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// assert_eq!(client.watch_persistent("/a")?.path(), "/a");
    /// # Ok(())
    /// # }
    /// ```
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Whether the watch covers the node's descendants too.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// assert!(client.watch_persistent_recursive("/a")?.is_recursive());
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_recursive(&self) -> bool {
        self.kind == WatchKind::PersistentRecursive
    }

    /// Passes an event on, noting when it is the last one.
    fn deliver(&self, event: WatchedEvent) -> Option<WatchedEvent> {
        match event.kind {
            WatchEventKind::Closed => {
                self.ended.store(true, Ordering::SeqCst);
                None
            }
            WatchEventKind::SessionLost => {
                self.ended.store(true, Ordering::SeqCst);
                Some(event)
            }
            _ => Some(event),
        }
    }

    /// The next event, waiting at most `timeout`; `Err(Disconnected)` once the watch has ended.
    ///
    /// # Errors
    ///
    /// `Err(Timeout)` when nothing arrived within `timeout`, `Err(Disconnected)` once the watch has
    /// ended (removed, client closed, session lost).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let watch = client.watch_persistent("/a")?;
    /// match watch.recv_timeout(std::time::Duration::from_secs(1)) {
    ///     Ok(event) => println!("{event:?}"),
    ///     Err(_) => println!("quiet"),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn recv_timeout(
        &self,
        timeout: Duration,
    ) -> std::result::Result<WatchedEvent, RecvTimeoutError> {
        if self.ended.load(Ordering::SeqCst) {
            return Err(RecvTimeoutError::Disconnected);
        }
        let event = self.rx.recv_timeout(timeout)?;
        self.deliver(event).ok_or(RecvTimeoutError::Disconnected)
    }

    /// The next event if one is waiting; `Err(Disconnected)` once the watch has ended.
    ///
    /// # Errors
    ///
    /// `Err(Empty)` when nothing is waiting, `Err(Disconnected)` once the watch has ended.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let watch = client.watch_persistent("/a")?;
    /// while let Ok(event) = watch.try_recv() {
    ///     println!("{event:?}");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_recv(&self) -> std::result::Result<WatchedEvent, TryRecvError> {
        if self.ended.load(Ordering::SeqCst) {
            return Err(TryRecvError::Disconnected);
        }
        let event = self.rx.try_recv()?;
        self.deliver(event).ok_or(TryRecvError::Disconnected)
    }

    /// The channel the events arrive on, for [`select!`](crate::channel::select). Read from it
    /// directly, the stream's end shows as a [`WatchEventKind::SessionLost`] or
    /// [`WatchEventKind::Closed`] event (after which nothing more arrives).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let a = client.watch_persistent("/a")?;
    /// let b = client.watch_persistent("/b")?;
    /// zkcluster::channel::select! {
    ///     recv(a.receiver()) -> event => println!("a: {event:?}"),
    ///     recv(b.receiver()) -> event => println!("b: {event:?}"),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn receiver(&self) -> &Receiver<WatchedEvent> {
        &self.rx
    }
}

impl Iterator for PersistentWatch {
    type Item = WatchedEvent;

    /// Waits for the next event; `None` once the watch has ended.
    fn next(&mut self) -> Option<WatchedEvent> {
        if self.ended.load(Ordering::SeqCst) {
            return None;
        }
        let event = self.rx.recv().ok()?;
        self.deliver(event)
    }
}

impl Drop for PersistentWatch {
    fn drop(&mut self) {
        let shared = self.client.shared();
        let none_left = shared.remove_watch(self.kind, &self.server_path, &self.tx);
        // After a session loss or close the server has forgotten the watch already; while
        // disconnected it forgets it with the connection (it is no longer re-registered). Only
        // a connected session needs telling, and only when no other handle shares the watch.
        if !none_left || self.ended.load(Ordering::SeqCst) || !shared.state().is_connected() {
            return;
        }
        // ZooKeeper before 3.9 knows only the Children/Data/Any watcher types (it answers the
        // persistent types with MarshallingError), and Any also removes one-shot watches: use it
        // only when this client has no other watch on the path. Otherwise, on such a server the
        // watch stays on the server until the connection ends; its events then reach only the
        // local watches they concern, so nothing wrong is delivered.
        let kind = if shared.has_watch_on(&self.server_path) {
            if self.is_recursive() {
                watcher_type::PERSISTENT_RECURSIVE
            } else {
                watcher_type::PERSISTENT
            }
        } else {
            watcher_type::ANY
        };
        let body = RemoveWatchesRequest { path: self.server_path.clone(), watcher_type: kind };
        // Not waited for: dropping must not block. The request is on the wire before the
        // handle is gone, so a later addWatch on the path is applied after it.
        let _removal = self.client.call(
            "remove_watches",
            &self.path,
            op::REMOVE_WATCHES,
            &body,
            None,
            |_, _| Ok(()),
        );
    }
}
