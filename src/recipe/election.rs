//! [`Election`]: one leader among many contenders, the same election as Kazoo's `Election`.
//!
//! # Guarantee
//!
//! At most one contender leads at a time, across every client and thread, Kazoo's included;
//! contenders become leader in the order they joined. Leading is holding an exclusive lock at
//! the election path: Kazoo's `Election` is a `Lock`, and this one is a [`WriteLock`] (the same
//! queue code, not a second lock). Leadership ends when the leader steps down (the closure of
//! [`run`](Election::run) returns, or the [`Leadership`] is dropped) or its session ends.
//!
//! # Node layout
//!
//! Each contender owns one ephemeral sequential child of the election path,
//! `<uuid>__lock__<sequence>` (data: its identifier); the lowest sequence leads. Each waiter
//! watches only the contender just ahead of it, so a hand-over wakes one waiter.
//!
//! # Failure modes
//!
//! - Connection loss: the leadership is uncertain ([`Leadership::status`] is `Uncertain`,
//!   [`Election::is_leader`] is `false`) until the connection is back or the session ends.
//! - Session loss: the leader's node is gone and the next contender leads; the old leader's
//!   [`Leadership::lost`] fires, [`Election::changes`] reports `false`. A leader must check
//!   [`Leadership::is_valid`] (or select on `lost()`) before acting: another leader may
//!   already exist once its session has ended.
//! - A contender that gives up (deadline, [`cancel`](Election::cancel), error) deletes its
//!   node (in the background when the server is unreachable): nothing blocks the line.
//! - Cancelling does not interrupt a leader: it stops contenders that wait (as Kazoo's).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};

use super::cancel::CancelHandle;
use super::{Guard, GuardStatus, NewRestriction, Restriction, Wait, WriteLock};
use crate::{Client, Error, Result};

/// What the election object knows about its own leadership.
struct State {
    client: Client,
    /// Leaderships of this object that have not ended.
    leading: AtomicUsize,
    /// Subscribers of [`Election::changes`].
    subscribers: Mutex<Vec<Sender<bool>>>,
}

impl State {
    fn notify(&self, leading: bool) {
        let mut subscribers = self.subscribers.lock().unwrap_or_else(|p| p.into_inner());
        subscribers.retain(|tx| tx.send(leading).is_ok());
    }

    fn step_up(&self) {
        if self.leading.fetch_add(1, Ordering::SeqCst) == 0 {
            self.notify(true);
        }
    }

    fn step_down(&self) {
        if self.leading.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.notify(false);
        }
    }
}

/// A leader election at a path.
///
/// `Send + Sync`: share it with an `Arc` (for example to cancel from another thread).
///
/// ```no_run
/// use zkcluster::{Client, Election};
/// # fn main() -> zkcluster::Result<()> {
/// let client = Client::connect("127.0.0.1:2181")?;
/// let election = Election::new(&client, "/crawler/coordinator", "host-a")?;
///
/// // Kazoo style: block until elected, lead while the closure runs, then step down.
/// election.run(|| {
///     println!("coordinating the crawl");
/// })?;
///
/// // Latch style: hold leadership as a guard and watch for its loss.
/// let leadership = election.lead()?;
/// assert!(election.is_leader());
/// while leadership.is_valid() {
///     // ... one unit of the leader's work ...
/// #   break;
/// }
/// println!("contenders: {:?}", election.contenders()?);
/// drop(leadership); // steps down
/// # Ok(())
/// # }
/// ```
pub struct Election {
    lock: WriteLock,
    state: Arc<State>,
}

impl std::fmt::Debug for Election {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Election")
            .field("path", &self.lock.path())
            .field("leader", &self.is_leader())
            .finish()
    }
}

impl Election {
    /// A contender called `identifier` in the election at `path` (no server call).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPath`] when `path` is not a valid node path (or is the root).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let election = zkcluster::Election::new(&client, "/crawler/coordinator", "host-a")?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(client: &Client, path: &str, identifier: &str) -> Result<Election> {
        Ok(Election {
            lock: WriteLock::new_restriction(client, path, identifier, None)?,
            state: Arc::new(State {
                client: client.clone(),
                leading: AtomicUsize::new(0),
                subscribers: Mutex::new(Vec::new()),
            }),
        })
    }

    /// The election path.
    pub fn path(&self) -> &str {
        self.lock.path()
    }

    /// Waits until elected, runs `leader` while leading, then steps down (Kazoo's `run`).
    ///
    /// # Errors
    ///
    /// [`Error::Cancelled`] when [`cancel`](Self::cancel)ed before being elected (`leader`
    /// did not run); [`Error::Closed`] and the client's lasting errors.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let election = zkcluster::Election::new(&client, "/crawler/coordinator", "host-a")?;
    /// let pages = election.run(|| 42)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn run<R>(&self, leader: impl FnOnce() -> R) -> Result<R> {
        self.run_with(|_| leader())
    }

    /// As [`run`](Self::run), giving the closure the [`Leadership`] so it can watch for loss.
    ///
    /// # Errors
    ///
    /// As for [`run`](Self::run).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let election = zkcluster::Election::new(&client, "/crawler/coordinator", "host-a")?;
    /// election.run_with(|leadership| {
    ///     while leadership.is_valid() {
    ///         // ... lead ...
    /// #       break;
    ///     }
    /// })?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn run_with<R>(&self, leader: impl FnOnce(&Leadership) -> R) -> Result<R> {
        let leadership = self.lead()?;
        let outcome = leader(&leadership);
        drop(leadership);
        Ok(outcome)
    }

    /// Waits until elected, as long as it takes.
    ///
    /// # Errors
    ///
    /// [`Error::Cancelled`] when cancelled; [`Error::Closed`] and the client's lasting errors.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let election = zkcluster::Election::new(&client, "/crawler/coordinator", "host-a")?;
    /// let leadership = election.lead()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn lead(&self) -> Result<Leadership> {
        self.lead_with(Wait::Forever)?
            .ok_or_else(|| Error::Cancelled { path: self.path().to_string() })
    }

    /// Waits at most `timeout` to be elected (one deadline for the whole wait).
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when not elected in time (this contender's node is deleted);
    /// otherwise as for [`lead`](Self::lead).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let election = zkcluster::Election::new(&client, "/crawler/coordinator", "host-a")?;
    /// match election.lead_timeout(std::time::Duration::from_secs(5)) {
    ///     Ok(leadership) => { /* lead */ }
    ///     Err(e) if e.is_timeout() => println!("someone else leads"),
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn lead_timeout(&self, timeout: Duration) -> Result<Leadership> {
        let leadership = self.lock.acquire_timeout(timeout)?;
        Ok(self.leadership(leadership))
    }

    /// Becomes leader as `wait` allows: `None` when the wait ended first (`Wait::No`: only if
    /// nobody leads now and nobody waits ahead).
    ///
    /// # Errors
    ///
    /// As for [`lead`](Self::lead).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let election = zkcluster::Election::new(&client, "/crawler/coordinator", "host-a")?;
    /// if let Some(leadership) = election.lead_with(zkcluster::Wait::No)? {
    ///     // nobody was leading: we are now
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn lead_with(&self, wait: Wait) -> Result<Option<Leadership>> {
        Ok(self.lock.acquire_with(wait)?.map(|guard| self.leadership(guard)))
    }

    fn leadership(&self, guard: Guard) -> Leadership {
        self.state.step_up();
        let ended = Arc::new(AtomicBool::new(false));
        let (resigned, resign_signal) = crossbeam_channel::bounded::<()>(0);
        let lost = guard.lost();
        let (state, watcher_ended) = (self.state.clone(), ended.clone());
        // Reports a loss of the session while leading; ends when the leadership does.
        let spawned =
            std::thread::Builder::new().name("zkcluster-election".to_string()).spawn(move || {
                crossbeam_channel::select! {
                    recv(lost) -> _ => {},
                    recv(resign_signal) -> _ => {},
                }
                if !watcher_ended.swap(true, Ordering::SeqCst) {
                    state.step_down();
                }
            });
        if let Err(e) = spawned {
            log::warn!("no watcher thread for leadership of {} ({e})", self.path());
        }
        Leadership { guard, state: self.state.clone(), ended, _resigned: resigned }
    }

    /// Whether this object leads now for sure: it holds a [`Leadership`] that has not ended,
    /// and the session is connected (during a connection loss nobody can tell).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let election = zkcluster::Election::new(&client, "/crawler/coordinator", "host-a")?;
    /// assert!(!election.is_leader());
    /// let leadership = election.lead()?;
    /// assert!(election.is_leader());
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_leader(&self) -> bool {
        self.state.leading.load(Ordering::SeqCst) > 0 && self.state.client.state().is_connected()
    }

    /// A new receiver of this object's leadership changes: `true` when it becomes leader,
    /// `false` when it stops (stepped down, or its session ended). Select on it next to your
    /// work channels.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let election = std::sync::Arc::new(zkcluster::Election::new(&client, "/crawler/coordinator", "host-a")?);
    /// let changes = election.changes();
    /// let contender = election.clone();
    /// std::thread::spawn(move || contender.run(|| std::thread::sleep(std::time::Duration::from_secs(1))));
    /// assert_eq!(changes.recv().ok(), Some(true));
    /// assert_eq!(changes.recv().ok(), Some(false));
    /// # Ok(())
    /// # }
    /// ```
    pub fn changes(&self) -> Receiver<bool> {
        let (tx, rx) = crossbeam_channel::unbounded();
        self.state.subscribers.lock().unwrap_or_else(|p| p.into_inner()).push(tx);
        rx
    }

    /// The identifiers of every contender, the leader first (Kazoo's `contenders()`).
    ///
    /// # Errors
    ///
    /// The client's errors.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let election = zkcluster::Election::new(&client, "/crawler/coordinator", "host-a")?;
    /// for (rank, id) in election.contenders()?.iter().enumerate() {
    ///     println!("{rank}: {id}");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn contenders(&self) -> Result<Vec<String>> {
        self.lock.contenders()
    }

    /// The leader's identifier, if anyone leads.
    ///
    /// # Errors
    ///
    /// The client's errors.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let election = zkcluster::Election::new(&client, "/crawler/coordinator", "host-a")?;
    /// println!("leader: {:?}", election.leader()?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn leader(&self) -> Result<Option<String>> {
        Ok(self.lock.lease_holders()?.into_iter().next())
    }

    /// Stops every wait in progress on this object ([`run`](Self::run), [`lead`](Self::lead),
    /// ...): they return [`Error::Cancelled`] after deleting their node. A leader is not
    /// interrupted (as in Kazoo); later waits are not affected.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let election = std::sync::Arc::new(zkcluster::Election::new(&client, "/e", "host-a")?);
    /// let other = election.clone();
    /// std::thread::spawn(move || other.cancel());
    /// let _ = election.run(|| ()); // Err(Cancelled) if it was still waiting
    /// # Ok(())
    /// # }
    /// ```
    pub fn cancel(&self) {
        self.lock.cancel_handle().cancel();
    }

    /// A handle for [`cancel`](Self::cancel) to give to other threads.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let election = zkcluster::Election::new(&client, "/e", "host-a")?;
    /// let handle: zkcluster::CancelHandle = election.cancel_handle();
    /// # Ok(())
    /// # }
    /// ```
    pub fn cancel_handle(&self) -> CancelHandle {
        self.lock.cancel_handle()
    }
}

/// Proof of leading an [`Election`]; steps down when dropped.
///
/// It dereferences to the lock [`Guard`] it wraps: `status()`, `is_valid()`, `lost()` (and the
/// guard's other methods) report the leadership the way they report a lock.
///
/// ```no_run
/// # fn main() -> zkcluster::Result<()> {
/// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
/// let election = zkcluster::Election::new(&client, "/crawler/coordinator", "host-a")?;
/// let leadership = election.lead()?;
/// let lost = leadership.lost();
/// std::thread::spawn(move || {
///     let _ = lost.recv(); // returns when leadership is lost
///     eprintln!("no longer leader: stop coordinating");
/// });
/// leadership.resign()?;
/// # Ok(())
/// # }
/// ```
pub struct Leadership {
    guard: Guard,
    state: Arc<State>,
    ended: Arc<AtomicBool>,
    /// Dropped with the leadership: ends the watcher thread.
    _resigned: Sender<()>,
}

impl std::fmt::Debug for Leadership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leadership").field("guard", &self.guard).finish()
    }
}

impl std::ops::Deref for Leadership {
    type Target = Guard;

    fn deref(&self) -> &Guard {
        &self.guard
    }
}

impl Leadership {
    /// The lock guard behind this leadership.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let leadership = zkcluster::Election::new(&client, "/e", "a")?.lead()?;
    /// assert!(leadership.guard().nodes()[0].contains("__lock__"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn guard(&self) -> &Guard {
        &self.guard
    }

    /// Where the leadership stands now (no server call).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let leadership = zkcluster::Election::new(&client, "/e", "a")?.lead()?;
    /// assert_eq!(leadership.status(), zkcluster::GuardStatus::Held);
    /// # Ok(())
    /// # }
    /// ```
    pub fn status(&self) -> GuardStatus {
        self.guard.status()
    }

    /// Steps down now and reports errors (dropping does the same, ignoring them).
    ///
    /// # Errors
    ///
    /// As for [`Guard::unlock`]: [`Error::SessionExpired`] when leadership had already been
    /// lost, a connection loss when the node could not be deleted yet (it is deleted in the
    /// background).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let leadership = zkcluster::Election::new(&client, "/e", "a")?.lead()?;
    /// leadership.resign()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn resign(mut self) -> Result<()> {
        self.end();
        self.guard.unlock()
    }

    fn end(&mut self) {
        if !self.ended.swap(true, Ordering::SeqCst) {
            self.state.step_down();
        }
    }
}

impl Drop for Leadership {
    fn drop(&mut self) {
        // Reported as over before the node goes, so nobody hears of two leaders at once.
        self.end();
    }
}
