//! [`SetPartitioner`]: splits a set of items among the members of a party, the same nodes,
//! states and default split as Kazoo's `SetPartitioner`, so Kazoo and Rust members share one
//! set.
//!
//! # Guarantee
//!
//! No item has two owners at once: a member owns an item only while it holds the item's
//! exclusive lock (Kazoo's `Lock`, our [`WriteLock`]), and it reports items as its own
//! ([`items`](SetPartitioner::items)) only in the [`Acquired`](PartitionState::Acquired)
//! state while every one of those locks is held. When the party has been stable for the
//! *time boundary*, every member computes the same split (each item goes to exactly one
//! member), so once all members are `Acquired` every item is owned. When a member joins or
//! leaves, every member goes to [`Release`](PartitionState::Release); each gives its items
//! back with [`release_set`](SetPartitioner::release_set) and allocates again — a member never
//! takes an item before its previous owner has released it (it waits on the lock).
//!
//! # States (Kazoo's)
//!
//! `Allocating` (waiting for the party to settle, then taking the locks of its share) →
//! `Acquired` (holds its share) → `Release` (the party changed, or the connection broke:
//! call `release_set`) → `Allocating` → ... A lost session, an error taking a lock, or
//! [`finish`](SetPartitioner::finish) lead to `Failure`, which is final: build a new
//! partitioner.
//!
//! # Node layout (Kazoo's)
//!
//! - `<path>/party`: a [`ShallowParty`] of the members (`<uuid>-<identifier>`).
//! - `<path>/locks/<item>`: the lock of each item, with Kazoo's lock nodes
//!   (`<uuid>__lock__<sequence>`).
//!
//! The default split ([`SetPartitioner::default_partition`]) sorts the items and the member
//! identifiers (by code point, as Python sorts strings) and gives the member at position `i`
//! of `n` the items `i, i + n, i + 2n, ...`. Identifiers must be unique in the party (two
//! members with one identifier compute the same share and one of them waits forever), and
//! items must be valid node names (no `/`).
//!
//! # Failure modes
//!
//! - Connection loss (`Suspended`) or a reconnect moves an `Allocating` or `Acquired` member to
//!   `Release` (its locks are uncertain while disconnected); `items()` is empty from then on.
//! - Session loss: `Failure`; the server has deleted the member's party node and locks.
//! - A party change while locks are being taken: the locks taken so far are released and the
//!   allocation starts again (each lock is tried for at most the *max reaction time* at a time,
//!   so a change is noticed while waiting for a lock).
//! - `release_set` or `finish` while disconnected: the lock nodes are deleted in the background
//!   once the server can be reached (or go with the session); allocating again waits for them.
//! - A partition function that panics: `Failure` (the panic is caught in the background
//!   thread).
//! - Dropping the partitioner finishes it: locks released, party left, threads ended.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{select, Receiver, Sender, TryRecvError};

use super::{Guard, NewRestriction, Restriction, ShallowParty, Wait, WriteLock};
use crate::{Client, Error, Result, SessionEvent, WatchedEvent};

/// Where a [`SetPartitioner`] stands (Kazoo's `PartitionState`).
///
/// ```
/// use zkcluster::recipe::PartitionState;
/// let state = PartitionState::Allocating;
/// assert_ne!(state, PartitionState::Acquired);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartitionState {
    /// Waiting for the party to settle, then taking the locks of this member's share.
    Allocating,
    /// This member holds its share: [`SetPartitioner::items`].
    Acquired,
    /// The party changed or the connection broke: call [`SetPartitioner::release_set`].
    Release,
    /// Final: the session was lost, a lock could not be taken, or the partitioner finished.
    Failure,
}

/// A partition function: `(my identifier, member identifiers, items) -> my share`. Every
/// member must compute shares that do not overlap and together cover the items.
///
/// ```
/// use std::sync::Arc;
/// use zkcluster::recipe::{PartitionFn, SetPartitioner};
/// let f: PartitionFn = Arc::new(SetPartitioner::default_partition);
/// let members = vec!["a".to_string()];
/// assert_eq!(f("a", &members, &["x".to_string()]), ["x"]);
/// ```
pub type PartitionFn = Arc<dyn Fn(&str, &[String], &[String]) -> Vec<String> + Send + Sync>;

/// Options of a [`SetPartitioner`], from [`SetPartitioner::builder`].
///
/// ```no_run
/// use std::time::Duration;
/// use zkcluster::{Client, recipe::SetPartitioner};
/// # fn main() -> zkcluster::Result<()> {
/// let client = Client::connect("127.0.0.1:2181")?;
/// let partitioner = SetPartitioner::builder(&client, "/crawl/domains", ["a.com", "b.org", "c.net"])
///     .identifier("crawler-1")
///     .time_boundary(Duration::from_secs(5))
///     .start()?;
/// # Ok(())
/// # }
/// ```
#[must_use = "a builder does nothing until started"]
pub struct SetPartitionerBuilder {
    client: Client,
    path: String,
    items: Vec<String>,
    identifier: Option<String>,
    time_boundary: Duration,
    max_reaction_time: Duration,
    partition: Option<PartitionFn>,
}

impl std::fmt::Debug for SetPartitionerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetPartitionerBuilder")
            .field("path", &self.path)
            .field("items", &self.items)
            .field("identifier", &self.identifier)
            .field("time_boundary", &self.time_boundary)
            .field("max_reaction_time", &self.max_reaction_time)
            .finish_non_exhaustive()
    }
}

impl SetPartitionerBuilder {
    /// This member's identifier in the party (default: `<hostname>-<pid>`, as Kazoo's
    /// `<fqdn>-<pid>`). Must be unique in the party and a valid node name.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let p = client.set_partitioner("/jobs", ["a", "b"]).identifier("worker-7").start()?;
    /// assert_eq!(p.identifier(), "worker-7");
    /// # Ok(())
    /// # }
    /// ```
    pub fn identifier(mut self, identifier: impl Into<String>) -> Self {
        self.identifier = Some(identifier.into());
        self
    }

    /// How long the party must not change before the set is split (Kazoo's default: 30 s).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let p = client.set_partitioner("/jobs", ["a"]).time_boundary(std::time::Duration::from_secs(2)).start()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn time_boundary(mut self, boundary: Duration) -> Self {
        self.time_boundary = boundary;
        self
    }

    /// How long one try for an item's lock lasts before the party is checked for a change
    /// (Kazoo's `max_reaction_time`, default 1 s).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let p = client.set_partitioner("/jobs", ["a"]).max_reaction_time(std::time::Duration::from_millis(300)).start()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn max_reaction_time(mut self, reaction: Duration) -> Self {
        self.max_reaction_time = reaction.max(Duration::from_millis(10));
        self
    }

    /// A partition function instead of [`SetPartitioner::default_partition`]; every member of
    /// the party must use the same one.
    ///
    /// ```no_run
    /// # use zkcluster::{Client, recipe::SetPartitioner};
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = Client::connect("127.0.0.1:2181")?;
    /// // Everything to the first member in sorted order.
    /// let p = SetPartitioner::builder(&client, "/jobs", ["x", "y"])
    ///     .partition_fn(|me: &str, members: &[String], items: &[String]| {
    ///         let mut members = members.to_vec();
    ///         members.sort();
    ///         if members.first().map(String::as_str) == Some(me) { items.to_vec() } else { Vec::new() }
    ///     })
    ///     .start()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn partition_fn(
        mut self,
        f: impl Fn(&str, &[String], &[String]) -> Vec<String> + Send + Sync + 'static,
    ) -> Self {
        self.partition = Some(Arc::new(f));
        self
    }

    /// Joins the party (creating the paths) and starts allocating in the background; waits at
    /// most the client's request timeout.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPath`] / [`Error::InvalidArgument`] for a bad path, identifier or item
    /// (nothing is sent); errors of joining the party ([`Error::Timeout`], [`Error::Closed`];
    /// what the attempt made is removed).
    pub fn start(self) -> Result<SetPartitioner> {
        crate::path::validate(&self.path, false)?;
        let identifier = self.identifier.unwrap_or_else(default_identifier);
        let locks_path = crate::path::join(&self.path, "locks");
        let party_path = crate::path::join(&self.path, "party");
        let mut items = self.items;
        for item in &items {
            let bad = item.is_empty() || item.contains('/') || item == "." || item == "..";
            if bad || crate::path::validate(&crate::path::join(&locks_path, item), false).is_err() {
                return Err(Error::InvalidArgument {
                    path: self.path.clone(),
                    reason: format!("item {item:?} is not a valid node name"),
                });
            }
        }
        items.sort();
        items.dedup();
        let party = ShallowParty::new(&self.client, &party_path, &identifier)?;
        // Subscribed before joining: no session transition from here on goes unseen.
        let events = self.client.session_events();
        // Joining creates the missing paths (the locks make theirs as they are taken): one
        // deadline, the client's request timeout, covers the whole start.
        party.join()?;
        let (wake_tx, wake_rx) = crossbeam_channel::bounded(1);
        let (stop, stopped) = crossbeam_channel::bounded::<()>(0);
        let shared = Arc::new(Shared {
            client: self.client.clone(),
            path: self.path,
            party_path,
            locks_path,
            identifier,
            items,
            time_boundary: self.time_boundary,
            max_reaction_time: self.max_reaction_time,
            partition: self.partition.unwrap_or_else(|| Arc::new(default_partition_fn)),
            inner: Mutex::new(Inner {
                state: PartitionState::Allocating,
                state_id: 0,
                share: Vec::new(),
                guards: Vec::new(),
                party: Some(party),
                subscribers: Vec::new(),
            }),
            changed: Condvar::new(),
            wake: wake_tx,
        });
        let mut threads = Vec::new();
        let spawn = |name: &str, body: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new().name(name.to_string()).spawn(body).map_err(|e| {
                Error::InvalidArgument {
                    path: shared.path.clone(),
                    reason: format!("could not start the partitioner's thread: {e}"),
                }
            })
        };
        let (s, st) = (shared.clone(), stopped.clone());
        let started =
            spawn("zkcluster-partitioner", Box::new(move || s.allocate_loop(&wake_rx, &st)))
                .and_then(|worker| {
                    threads.push(worker);
                    let (s, st) = (shared.clone(), stopped);
                    spawn(
                        "zkcluster-partitioner-session",
                        Box::new(move || s.watch_session(&events, &st)),
                    )
                });
        match started {
            Ok(monitor) => threads.push(monitor),
            Err(e) => {
                drop(stop);
                let _ = shared.fail_out();
                return Err(e);
            }
        }
        Ok(SetPartitioner { shared, stop: Mutex::new(Some(stop)), threads: Mutex::new(threads) })
    }
}

/// `<hostname>-<pid>`, like Kazoo's default identifier (which uses the fully qualified name).
fn default_identifier() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().replace('/', "_"))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string());
    format!("{host}-{}", std::process::id())
}

fn default_partition_fn(identifier: &str, members: &[String], items: &[String]) -> Vec<String> {
    SetPartitioner::default_partition(identifier, members, items)
}

/// Splits a set among the members of a party (Kazoo's `SetPartitioner`); see the
/// [module docs](self) for the guarantee, the states and the node layout.
///
/// `Send + Sync`: share it with an `Arc` to call [`finish`](Self::finish) from another thread
/// (which also wakes a thread blocked in [`wait_for_acquire`](Self::wait_for_acquire)).
///
/// ```no_run
/// use std::time::Duration;
/// use zkcluster::{Client, recipe::{PartitionState, SetPartitioner}};
/// # fn main() -> zkcluster::Result<()> {
/// let client = Client::connect("127.0.0.1:2181")?;
/// let queues = SetPartitioner::builder(&client, "/work_queues", ["queue-1", "queue-2", "queue-3"])
///     .start()?;
/// loop {
///     match queues.state() {
///         PartitionState::Failure => break,
///         PartitionState::Release => queues.release_set()?,
///         PartitionState::Acquired => {
///             for queue in queues.items() {
///                 println!("working on {queue}");
///             }
///             queues.wait_for_change(PartitionState::Acquired, Duration::from_secs(1));
///         }
///         PartitionState::Allocating => {
///             queues.wait_for_acquire(Duration::from_secs(30));
///         }
///     }
/// #   break;
/// }
/// queues.finish()?;
/// # Ok(())
/// # }
/// ```
pub struct SetPartitioner {
    shared: Arc<Shared>,
    stop: Mutex<Option<Sender<()>>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for SetPartitioner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetPartitioner")
            .field("path", &self.shared.path)
            .field("identifier", &self.shared.identifier)
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

struct Shared {
    client: Client,
    path: String,
    party_path: String,
    locks_path: String,
    identifier: String,
    /// Sorted, without duplicates.
    items: Vec<String>,
    time_boundary: Duration,
    max_reaction_time: Duration,
    partition: PartitionFn,
    inner: Mutex<Inner>,
    /// Notified on every state change.
    changed: Condvar,
    /// Wakes the allocating thread (capacity 1: one pending wake is enough).
    wake: Sender<()>,
}

struct Inner {
    state: PartitionState,
    /// Bumped on every state change, to tell two visits of one state apart.
    state_id: u64,
    /// This member's share, valid in `Acquired`.
    share: Vec<String>,
    /// The item locks held (some may be held in `Allocating` and `Release` too).
    guards: Vec<Guard>,
    party: Option<ShallowParty>,
    subscribers: Vec<Sender<PartitionState>>,
}

impl SetPartitioner {
    /// A builder for a partitioner of `items` at `path`.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let shards: Vec<String> = (0..16).map(|i| format!("shard-{i:02}")).collect();
    /// let p = zkcluster::recipe::SetPartitioner::builder(&client, "/crawl/shards", shards).start()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn builder<I, S>(client: &Client, path: &str, items: I) -> SetPartitionerBuilder
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        SetPartitionerBuilder {
            client: client.clone(),
            path: path.to_string(),
            items: items.into_iter().map(Into::into).collect(),
            identifier: None,
            time_boundary: Duration::from_secs(30),
            max_reaction_time: Duration::from_secs(1),
            partition: None,
        }
    }

    /// Kazoo's default partition function: with the items and the member identifiers sorted,
    /// the member at position `i` of `n` gets items `i, i + n, i + 2n, ...`; a member not in
    /// `members` gets nothing.
    ///
    /// ```
    /// use zkcluster::recipe::SetPartitioner;
    /// let members = ["b".to_string(), "a".to_string()];
    /// let items: Vec<String> = ["4", "1", "3", "2", "5"].iter().map(|s| s.to_string()).collect();
    /// assert_eq!(SetPartitioner::default_partition("a", &members, &items), ["1", "3", "5"]);
    /// assert_eq!(SetPartitioner::default_partition("b", &members, &items), ["2", "4"]);
    /// assert!(SetPartitioner::default_partition("c", &members, &items).is_empty());
    /// ```
    pub fn default_partition(
        identifier: &str,
        members: &[String],
        items: &[String],
    ) -> Vec<String> {
        let mut workers: Vec<&String> = members.iter().collect();
        workers.sort();
        let mut all: Vec<&String> = items.iter().collect();
        all.sort();
        match workers.iter().position(|w| *w == identifier) {
            Some(i) => all.into_iter().skip(i).step_by(workers.len()).cloned().collect(),
            None => Vec::new(),
        }
    }

    /// The state now.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let p = zkcluster::recipe::SetPartitioner::builder(&client, "/jobs", ["a"]).start()?;
    /// assert_eq!(p.state(), zkcluster::recipe::PartitionState::Allocating);
    /// # Ok(())
    /// # }
    /// ```
    pub fn state(&self) -> PartitionState {
        self.shared.lock().state
    }

    /// Whether the state is [`PartitionState::Acquired`].
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let p = client.set_partitioner("/jobs", ["a"]).start()?;
    /// if p.is_acquired() {
    ///     println!("{:?}", p.items());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_acquired(&self) -> bool {
        self.state() == PartitionState::Acquired
    }

    /// Whether the state is [`PartitionState::Failure`].
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let p = client.set_partitioner("/jobs", ["a"]).start()?;
    /// p.finish()?;
    /// assert!(p.is_failed());
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_failed(&self) -> bool {
        self.state() == PartitionState::Failure
    }

    /// This member's items, sorted: its share while [`Acquired`](PartitionState::Acquired) and
    /// every lock of it is held; empty otherwise (stop working on items once it is).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// # let p = zkcluster::recipe::SetPartitioner::builder(&client, "/jobs", ["a"]).start()?;
    /// p.wait_for_acquire(std::time::Duration::from_secs(60));
    /// for item in p.items() {
    ///     println!("mine: {item}");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn items(&self) -> Vec<String> {
        let inner = self.shared.lock();
        if inner.state == PartitionState::Acquired && inner.guards.iter().all(Guard::is_valid) {
            let mut share = inner.share.clone();
            share.sort();
            share
        } else {
            Vec::new()
        }
    }

    /// Waits while the state is `Allocating`, at most `timeout`; returns the state then.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// # let p = zkcluster::recipe::SetPartitioner::builder(&client, "/jobs", ["a"]).start()?;
    /// let state = p.wait_for_acquire(std::time::Duration::from_secs(60));
    /// # Ok(())
    /// # }
    /// ```
    pub fn wait_for_acquire(&self, timeout: Duration) -> PartitionState {
        self.wait_for_change(PartitionState::Allocating, timeout)
    }

    /// Waits while the state is `from`, at most `timeout`; returns the state then.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// # let p = zkcluster::recipe::SetPartitioner::builder(&client, "/jobs", ["a"]).start()?;
    /// use zkcluster::recipe::PartitionState;
    /// if p.wait_for_acquire(std::time::Duration::from_secs(60)) == PartitionState::Acquired {
    ///     // work until the party changes
    ///     let next = p.wait_for_change(PartitionState::Acquired, std::time::Duration::from_secs(5));
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn wait_for_change(&self, from: PartitionState, timeout: Duration) -> PartitionState {
        let deadline = Instant::now().checked_add(timeout);
        let mut inner = self.shared.lock();
        loop {
            if inner.state != from {
                return inner.state;
            }
            let left = deadline
                .map_or(Duration::from_secs(3600), |d| d.saturating_duration_since(Instant::now()));
            if left.is_zero() {
                return inner.state;
            }
            inner = match self.shared.changed.wait_timeout(inner, left) {
                Ok((guard, _)) => guard,
                Err(p) => p.into_inner().0,
            };
        }
    }

    /// A new receiver of every state change from now on (Kazoo's `state_change_event`).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// # let p = zkcluster::recipe::SetPartitioner::builder(&client, "/jobs", ["a"]).start()?;
    /// let changes = p.state_changes();
    /// while let Ok(state) = changes.recv_timeout(std::time::Duration::from_secs(60)) {
    ///     println!("now {state:?}");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn state_changes(&self) -> Receiver<PartitionState> {
        let (tx, rx) = crossbeam_channel::unbounded();
        self.shared.lock().subscribers.push(tx);
        rx
    }

    /// Gives the share back (deletes its locks) and allocates again: the answer to
    /// [`Release`](PartitionState::Release) (also allowed in `Acquired`). Does nothing after
    /// `Failure`.
    ///
    /// # Errors
    ///
    /// The first error deleting a lock (connection loss, timeout); the partitioner allocates
    /// again all the same, and the deletion goes on in the background (or the lock goes with
    /// the session).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// # let p = zkcluster::recipe::SetPartitioner::builder(&client, "/jobs", ["a"]).start()?;
    /// if p.state() == zkcluster::recipe::PartitionState::Release {
    ///     p.release_set()?;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn release_set(&self) -> Result<()> {
        let guards = {
            let mut inner = self.shared.lock();
            if inner.state == PartitionState::Failure {
                return Ok(());
            }
            inner.share.clear();
            std::mem::take(&mut inner.guards)
        };
        let released = release_all(guards);
        {
            let mut inner = self.shared.lock();
            if inner.state != PartitionState::Failure {
                self.shared.set_state(&mut inner, PartitionState::Allocating);
            }
        }
        let _ = self.shared.wake.try_send(());
        released
    }

    /// Releases the share, leaves the party and ends the background threads; the state is
    /// `Failure` afterwards (Kazoo's `finish`). Idempotent. Waits for the threads (about the
    /// max reaction time plus a request timeout at most).
    ///
    /// # Errors
    ///
    /// The first error deleting a lock or the party node (their deletion goes on in the
    /// background).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let p = zkcluster::recipe::SetPartitioner::builder(&client, "/jobs", ["a"]).start()?;
    /// p.finish()?;
    /// assert!(p.is_failed());
    /// # Ok(())
    /// # }
    /// ```
    pub fn finish(&self) -> Result<()> {
        let outcome = self.shared.fail_out();
        self.stop.lock().unwrap_or_else(|p| p.into_inner()).take();
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|p| p.into_inner()));
        let me = std::thread::current().id();
        for thread in threads {
            if thread.thread().id() != me {
                let _ = thread.join();
            }
        }
        outcome
    }

    /// The partitioner's path.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let p = client.set_partitioner("/jobs", ["a"]).start()?;
    /// assert_eq!(p.path(), "/jobs");
    /// # Ok(())
    /// # }
    /// ```
    pub fn path(&self) -> &str {
        &self.shared.path
    }

    /// This member's identifier in the party.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let p = client.set_partitioner("/jobs", ["a"]).identifier("w1").start()?;
    /// assert_eq!(p.identifier(), "w1");
    /// # Ok(())
    /// # }
    /// ```
    pub fn identifier(&self) -> &str {
        &self.shared.identifier
    }
}

impl Drop for SetPartitioner {
    fn drop(&mut self) {
        if let Err(e) = self.finish() {
            log::debug!("finishing the partitioner at {} on drop: {e}", self.shared.path);
        }
    }
}

/// Releases every guard; the first error, if any.
fn release_all(guards: Vec<Guard>) -> Result<()> {
    let mut first = None;
    for guard in guards {
        match guard.release() {
            Ok(()) => {}
            // The session ended: the lock is gone already.
            Err(e) if e.is_session_expired() => {}
            Err(e) => {
                log::debug!("releasing a partition lock: {e}");
                first.get_or_insert(e);
            }
        }
    }
    first.map_or(Ok(()), Err)
}

/// Why an allocation stopped before `Acquired`.
enum Abort {
    /// The party changed: release what was taken and allocate again.
    PartyChanged,
    /// The state changed under us (or the partitioner is stopping): leave it as it is.
    StateChanged,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set_state(&self, inner: &mut Inner, state: PartitionState) {
        inner.state = state;
        inner.state_id += 1;
        inner.subscribers.retain(|s| s.send(state).is_ok());
        self.changed.notify_all();
    }

    /// Goes to `Failure`: releases the locks, leaves the party. Idempotent.
    fn fail_out(&self) -> Result<()> {
        let (guards, party) = {
            let mut inner = self.lock();
            if inner.state != PartitionState::Failure {
                self.set_state(&mut inner, PartitionState::Failure);
            }
            inner.share.clear();
            (std::mem::take(&mut inner.guards), inner.party.take())
        };
        let _ = self.wake.try_send(());
        let released = release_all(guards);
        let left = match party {
            Some(party) if !self.client.state().is_terminal() => party.leave().map(|_| ()),
            _ => Ok(()),
        };
        released.and(left)
    }

    /// The session thread: a broken or renewed connection means `Release`, a lost session
    /// `Failure` (Kazoo's session listener).
    fn watch_session(&self, events: &Receiver<SessionEvent>, stopped: &Receiver<()>) {
        loop {
            let event = select! {
                recv(stopped) -> _ => return,
                recv(events) -> event => event,
            };
            match event {
                Ok(SessionEvent::Suspended { .. })
                | Ok(SessionEvent::Reconnected { .. })
                | Ok(SessionEvent::Connected { .. })
                | Ok(SessionEvent::ConnectedReadOnly { .. }) => {
                    let mut inner = self.lock();
                    if !matches!(inner.state, PartitionState::Failure | PartitionState::Release) {
                        self.set_state(&mut inner, PartitionState::Release);
                    }
                }
                Ok(SessionEvent::Lost { .. })
                | Ok(SessionEvent::AuthFailed)
                | Ok(SessionEvent::Closed)
                | Err(_) => {
                    let _ = self.fail_out();
                    return;
                }
            }
            if self.lock().state == PartitionState::Failure {
                return;
            }
        }
    }

    /// The allocating thread: runs an allocation whenever the state is `Allocating`.
    fn allocate_loop(&self, wake: &Receiver<()>, stopped: &Receiver<()>) {
        loop {
            let (state, id) = {
                let inner = self.lock();
                (inner.state, inner.state_id)
            };
            match state {
                PartitionState::Failure => return,
                PartitionState::Allocating => {
                    if let Err(e) = self.allocate(id, stopped) {
                        log::warn!("partitioner {}: {e}; failing", self.path);
                        let _ = self.fail_out();
                        return;
                    }
                }
                PartitionState::Acquired | PartitionState::Release => {}
            }
            // Wait for a state change (release_set wakes us) before looking again.
            if self.lock().state_id == id || state != PartitionState::Allocating {
                select! {
                    recv(stopped) -> _ => return,
                    recv(wake) -> _ => {},
                    default(Duration::from_millis(200)) => {},
                }
            }
        }
    }

    /// Whether the stop signal came (the sender was dropped).
    fn stopping(stopped: &Receiver<()>) -> bool {
        matches!(stopped.try_recv(), Err(TryRecvError::Disconnected))
    }

    /// Reads the party with a child watch, until it has not changed for the time boundary.
    fn settled_party(
        &self,
        id: u64,
        stopped: &Receiver<()>,
    ) -> Result<Option<(Vec<String>, Receiver<WatchedEvent>)>> {
        loop {
            if Self::stopping(stopped) || self.lock().state_id != id {
                return Ok(None);
            }
            let (children, watch) = match self.client.get_children_watch(&self.party_path) {
                Ok(read) => read,
                Err(e) if e.is_retryable() => {
                    // The session thread moves us to Release; look again after a pause.
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                }
                Err(e) if e.is_session_expired() || e.is_closed() => return Ok(None),
                Err(e) => return Err(e),
            };
            let until = Instant::now() + self.time_boundary;
            loop {
                let left = until.saturating_duration_since(Instant::now());
                if left.is_zero() || !watch.is_empty() {
                    break;
                }
                select! {
                    recv(stopped) -> _ => return Ok(None),
                    default(left.min(Duration::from_millis(50))) => {},
                }
                if self.lock().state_id != id {
                    return Ok(None);
                }
            }
            if watch.is_empty() {
                return Ok(Some((children, watch)));
            }
        }
    }

    /// One allocation for the `Allocating` state numbered `id`. `Err` only for failures that
    /// end the partitioner.
    fn allocate(&self, id: u64, stopped: &Receiver<()>) -> Result<()> {
        let Some((children, watch)) = self.settled_party(id, stopped)? else { return Ok(()) };
        let members: Vec<String> = children
            .iter()
            .map(|c| c.split_once('-').map_or(c.as_str(), |(_, m)| m).to_string())
            .collect();
        if !members.contains(&self.identifier) {
            // Our own node is missing (being made again): wait for the party to change.
            select! {
                recv(stopped) -> _ => {},
                recv(watch) -> _ => {},
                default(self.time_boundary.max(Duration::from_millis(100))) => {},
            }
            return Ok(());
        }
        // A partition function that panics must not leave the partitioner allocating forever.
        let split = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            (self.partition)(&self.identifier, &members, &self.items)
        }));
        let Ok(mut share) = split else {
            return Err(Error::InvalidArgument {
                path: self.path.clone(),
                reason: "the partition function panicked".into(),
            });
        };
        // Taking one item's lock twice would wait for ourselves.
        share.sort();
        share.dedup();
        for item in &share {
            let lock = WriteLock::new_restriction(
                &self.client,
                &crate::path::join(&self.locks_path, item),
                &self.identifier,
                None,
            )?;
            loop {
                if Self::stopping(stopped) {
                    return Ok(());
                }
                let wait = Wait::Until(Instant::now() + self.max_reaction_time);
                match lock.acquire_with(wait) {
                    Ok(Some(guard)) => {
                        let mut inner = self.lock();
                        if inner.state_id == id && inner.state == PartitionState::Allocating {
                            inner.guards.push(guard);
                        } else {
                            // Released or failed meanwhile: this lock is not wanted any more.
                            drop(inner);
                            let _ = guard.release();
                            return Ok(());
                        }
                        break;
                    }
                    Ok(None) => {}
                    Err(e) if e.is_retryable() => {}
                    Err(e) if e.is_session_expired() || e.is_closed() => return Ok(()),
                    Err(e) => return Err(e),
                }
                if let Some(abort) = self.should_abort(id, &watch) {
                    return self.abort(abort);
                }
            }
            if let Some(abort) = self.should_abort(id, &watch) {
                return self.abort(abort);
            }
        }
        let acquired = {
            let mut inner = self.lock();
            if inner.state_id == id && watch.is_empty() {
                inner.share = share;
                self.set_state(&mut inner, PartitionState::Acquired);
                Some(inner.state_id)
            } else {
                None
            }
        };
        let Some(acquired) = acquired else {
            return match self.should_abort(id, &watch) {
                Some(abort) => self.abort(abort),
                None => Ok(()),
            };
        };
        // Acquired: the next change of the party means Release.
        let left = self.state_left(acquired);
        select! {
            recv(stopped) -> _ => {},
            recv(watch) -> _ => {
                let mut inner = self.lock();
                if inner.state == PartitionState::Acquired && inner.state_id == acquired {
                    self.set_state(&mut inner, PartitionState::Release);
                }
            },
            recv(left) -> _ => {},
        }
        Ok(())
    }

    /// A channel that becomes ready once the state numbered `id` is left.
    fn state_left(&self, id: u64) -> Receiver<PartitionState> {
        let (tx, rx) = crossbeam_channel::unbounded();
        let mut inner = self.lock();
        if inner.state_id != id {
            let _ = tx.send(inner.state);
        }
        inner.subscribers.push(tx);
        rx
    }

    /// Whether an allocation for state `id` must stop, given the party watch set before it.
    fn should_abort(&self, id: u64, watch: &Receiver<WatchedEvent>) -> Option<Abort> {
        let inner = self.lock();
        if inner.state_id != id {
            Some(Abort::StateChanged)
        } else if !watch.is_empty() {
            Some(Abort::PartyChanged)
        } else {
            None
        }
    }

    fn abort(&self, abort: Abort) -> Result<()> {
        match abort {
            Abort::StateChanged => Ok(()),
            Abort::PartyChanged => {
                // Kazoo's abort: give back what was taken, then allocate again (same state).
                let guards = std::mem::take(&mut self.lock().guards);
                if let Err(e) = release_all(guards) {
                    log::debug!("partitioner {}: releasing after a party change: {e}", self.path);
                }
                let _ = self.wake.try_send(());
                Ok(())
            }
        }
    }
}
