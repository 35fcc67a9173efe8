//! [`DoubleBarrier`]: members start together and finish together, as Kazoo's `DoubleBarrier`.
//!
//! # Guarantee
//!
//! [`enter`](DoubleBarrier::enter) returns once `num_clients` members have entered (every
//! member that entered sees the same moment: the `ready` node appearing);
//! [`leave`](DoubleBarrier::leave) returns once every member has left. Kazoo members and
//! zkcluster members count together.
//!
//! # Node layout
//!
//! Under the barrier path `P` (persistent, created with missing parents):
//! - `P/<uuid>`: one ephemeral node per member (32 hex digits, fixed for the barrier object;
//!   data: the member's identifier);
//! - `P/ready`: persistent, created by the member that sees `num_clients` members, deleted by
//!   the first member to leave.
//!
//! Leaving: the member with the lowest name waits for the highest to go, and deletes its node
//! last; every other member deletes its node and waits for the lowest to go. So the lowest
//! leaves when everyone else has, and the others leave when it does.
//!
//! # Failure modes
//!
//! - A member whose session ends has left (its node is gone): the others may then be released
//!   from `leave` without it, or wait in `enter` for a replacement. A member whose own session
//!   is renewed while entering creates its node again.
//! - Connection loss is waited out (until the deadline) and the state read again.
//! - Every call has a deadline ([`Wait`]) and can be cancelled from another thread
//!   ([`DoubleBarrier::cancel_handle`]). An `enter` or `leave` that ends without success
//!   deletes the member's node (in the background when the server is unreachable): no member
//!   is left behind to block the others.
//! - `P` itself is never deleted (Kazoo does not either).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::barrier::{connected_by, deadline_of, recipe_path, wait_change, wait_for};
use super::cancel::{CancelHandle, CancelToken};
use super::cleanup::{self, Target};
use super::lock::{passed, reply, retryable, wait_connected, Wake};
use super::node_name;
use crate::{Client, CreateOptions, Error, Result, Wait};

/// The name of the node that says every member has entered.
const READY: &str = "ready";

/// A double barrier at a path for `num_clients` members.
///
/// `Send + Sync`, but one object is one member: give each member thread its own.
///
/// ```no_run
/// use std::time::Duration;
/// use zkcluster::{Client, DoubleBarrier};
/// # fn main() -> zkcluster::Result<()> {
/// let client = Client::connect("127.0.0.1:2181")?;
/// let round = DoubleBarrier::new(&client, "/crawl/round-7", 4, "worker-1")?;
/// round.enter_timeout(Duration::from_secs(60))?; // all four start together
/// // ... crawl this round's share ...
/// round.leave_timeout(Duration::from_secs(600))?; // and wait for the slowest
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct DoubleBarrier {
    client: Client,
    path: String,
    num_clients: usize,
    identifier: String,
    name: String,
    path_made: AtomicBool,
    cancel: CancelHandle,
}

/// How an enter or leave step ended.
enum Step {
    Done,
    Again,
    Ended(Result<bool>),
}

impl DoubleBarrier {
    /// One member of the barrier at `path` that opens when `num_clients` members entered. No
    /// server call.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPath`] for a bad path, [`Error::InvalidArgument`] when `num_clients` is 0.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let b = zkcluster::DoubleBarrier::new(&client, "/crawl/round", 3, "worker-1")?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(
        client: &Client,
        path: &str,
        num_clients: usize,
        identifier: &str,
    ) -> Result<DoubleBarrier> {
        recipe_path(path, "double barrier")?;
        if num_clients == 0 {
            return Err(Error::InvalidArgument {
                path: path.into(),
                reason: "a double barrier needs at least one member".into(),
            });
        }
        Ok(DoubleBarrier {
            client: client.clone(),
            path: path.to_string(),
            num_clients,
            identifier: identifier.to_string(),
            name: node_name::uuid_hex(),
            path_made: AtomicBool::new(false),
            cancel: CancelHandle::new(),
        })
    }

    /// The barrier path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// This member's node (full path).
    pub fn node(&self) -> String {
        crate::path::join(&self.path, &self.name)
    }

    /// The identifiers of the members in the barrier now (two round trips).
    ///
    /// # Errors
    ///
    /// The client's errors.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let b = zkcluster::DoubleBarrier::new(&client, "/crawl/round", 3, "worker-1")?;
    /// println!("{:?}", b.members()?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn members(&self) -> Result<Vec<String>> {
        let reads: Vec<_> = self
            .member_names()?
            .iter()
            .map(|name| self.client.get_node_async(&crate::path::join(&self.path, name)))
            .collect();
        let mut ids = Vec::new();
        for read in reads {
            match read.wait() {
                Ok(node) => ids.push(String::from_utf8_lossy(&node.value).into_owned()),
                Err(e) if e.is_no_node() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(ids)
    }

    fn member_names(&self) -> Result<Vec<String>> {
        match self.client.get_children(&self.path) {
            Ok(mut children) => {
                children.retain(|c| c != READY);
                children.sort();
                Ok(children)
            }
            Err(e) if e.is_no_node() => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// Enters and waits for the others, as long as it takes.
    ///
    /// # Errors
    ///
    /// [`Error::Cancelled`], [`Error::Closed`], the client's non-transient errors; this
    /// member's node is deleted.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// zkcluster::DoubleBarrier::new(&client, "/crawl/round", 3, "w1")?.enter()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn enter(&self) -> Result<()> {
        self.enter_with(Wait::Forever).map(drop)
    }

    /// Enters and waits at most `timeout` for the others.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when they did not all come in time (this member's node is deleted);
    /// otherwise as for [`enter`](Self::enter).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let b = zkcluster::DoubleBarrier::new(&client, "/crawl/round", 3, "w1")?;
    /// b.enter_timeout(std::time::Duration::from_secs(30))?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn enter_timeout(&self, timeout: Duration) -> Result<()> {
        self.timed("enter", timeout, |wait| self.enter_with(wait))
    }

    /// Enters, waiting as `wait` allows: `true` once all have entered; `false` when the wait
    /// ended first (this member's node is then deleted: it did not enter).
    ///
    /// # Errors
    ///
    /// As for [`enter`](Self::enter).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let b = zkcluster::DoubleBarrier::new(&client, "/crawl/round", 1, "w1")?;
    /// assert!(b.enter_with(zkcluster::Wait::No)?); // one member: open at once
    /// # Ok(())
    /// # }
    /// ```
    pub fn enter_with(&self, wait: Wait) -> Result<bool> {
        self.drive(wait, Self::enter_step)
    }

    /// Runs `step` until it is done or ends; on any end but success, deletes our node.
    fn drive(
        &self,
        wait: Wait,
        step: impl Fn(
            &Self,
            bool,
            Option<Instant>,
            &CancelToken,
            &crossbeam_channel::Receiver<crate::SessionEvent>,
        ) -> Step,
    ) -> Result<bool> {
        let token = self.cancel.token();
        let (blocking, deadline) = deadline_of(wait);
        let events = self.client.session_events();
        let outcome = loop {
            match step(self, blocking, deadline, &token, &events) {
                Step::Done => break Ok(true),
                Step::Again => {}
                Step::Ended(outcome) => break outcome,
            }
        };
        if !matches!(outcome, Ok(true)) {
            self.delete_own();
        }
        outcome
    }

    fn enter_step(
        &self,
        blocking: bool,
        deadline: Option<Instant>,
        token: &CancelToken,
        events: &crossbeam_channel::Receiver<crate::SessionEvent>,
    ) -> Step {
        if token.is_cancelled() {
            return Step::Ended(Err(Error::Cancelled { path: self.path.clone() }));
        }
        if blocking {
            match connected_by(&self.client, &self.path, deadline, token) {
                Ok(true) => {}
                Ok(false) => return Step::Ended(Ok(false)),
                Err(e) => return Step::Ended(Err(e)),
            }
        }
        if !self.path_made.load(Ordering::Relaxed) {
            match self.client.ensure_path(&self.path) {
                Ok(()) => self.path_made.store(true, Ordering::Relaxed),
                Err(e) => return self.on_error(e, blocking, deadline, token),
            }
        }
        // One round trip: our node, a watch for `ready`, the member list.
        let create = self.client.create_async(
            &self.node(),
            &self.identifier,
            &CreateOptions::new().ephemeral(),
        );
        let ready = self.client.exist_node_watch_async(&crate::path::join(&self.path, READY));
        let children = self.client.get_children_async(&self.path);
        let outcome = (|| {
            match reply(create, deadline) {
                Ok(_) => {}
                Err(e) if e.is_node_exists() => {} // ours, from an earlier round trip
                Err(e) => return Err(e),
            }
            let (ready_stat, ready_watch) = reply(ready, deadline)?;
            let mut children = reply(children, deadline)?;
            children.retain(|c| c != READY);
            Ok((ready_stat.is_some(), ready_watch, children))
        })();
        let (is_ready, watch, members) = match outcome {
            Ok(found) => found,
            Err(e) if e.is_no_node() => {
                self.path_made.store(false, Ordering::Relaxed);
                return Step::Again;
            }
            Err(e) => return self.on_error(e, blocking, deadline, token),
        };
        if is_ready {
            return Step::Done;
        }
        if members.len() >= self.num_clients {
            return match reply(
                self.client.create_async(
                    &crate::path::join(&self.path, READY),
                    b"",
                    &CreateOptions::new(),
                ),
                deadline,
            ) {
                Ok(_) => Step::Done,
                Err(e) if e.is_node_exists() => Step::Done,
                Err(e) => self.on_error(e, blocking, deadline, token),
            };
        }
        if !blocking || passed(deadline) {
            return Step::Ended(Ok(false));
        }
        self.wait_ready(&watch, events, token, deadline)
    }

    /// Waits for `ready` to appear. Its creation is the release itself: the first member to
    /// leave may delete it again before we could look.
    fn wait_ready(
        &self,
        watch: &crossbeam_channel::Receiver<crate::WatchedEvent>,
        events: &crossbeam_channel::Receiver<crate::SessionEvent>,
        token: &CancelToken,
        deadline: Option<Instant>,
    ) -> Step {
        let timer = deadline.map_or_else(crossbeam_channel::never, crossbeam_channel::at);
        let lost = self.client.shared().life().signal();
        loop {
            crossbeam_channel::select! {
                recv(watch) -> event => return match event {
                    Ok(e) if e.kind == crate::WatchEventKind::NodeCreated => Step::Done,
                    _ => Step::Again,
                },
                recv(token.signal()) -> _ => if token.is_cancelled() {
                    return Step::Ended(Err(Error::Cancelled { path: self.path.clone() }));
                },
                recv(lost) -> _ => return Step::Again,
                recv(events) -> event => match event {
                    Ok(crate::SessionEvent::Suspended { .. }) => {}
                    _ => return Step::Again,
                },
                recv(timer) -> _ => return Step::Ended(Ok(false)),
            }
        }
    }

    /// Leaves and waits for every other member to leave, as long as it takes.
    ///
    /// # Errors
    ///
    /// [`Error::Cancelled`], [`Error::Closed`], the client's non-transient errors; this
    /// member's node is deleted.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let b = zkcluster::DoubleBarrier::new(&client, "/crawl/round", 1, "w1")?;
    /// b.enter()?;
    /// b.leave()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn leave(&self) -> Result<()> {
        self.leave_with(Wait::Forever).map(drop)
    }

    /// Leaves and waits at most `timeout` for the others to leave.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when some were still in at the deadline (this member's node is
    /// deleted all the same); otherwise as for [`leave`](Self::leave).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let b = zkcluster::DoubleBarrier::new(&client, "/crawl/round", 1, "w1")?;
    /// b.enter()?;
    /// b.leave_timeout(std::time::Duration::from_secs(60))?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn leave_timeout(&self, timeout: Duration) -> Result<()> {
        self.timed("leave", timeout, |wait| self.leave_with(wait))
    }

    /// Leaves, waiting as `wait` allows: `true` once all have left, `false` when the wait
    /// ended first (this member's node is deleted either way).
    ///
    /// # Errors
    ///
    /// As for [`leave`](Self::leave).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let b = zkcluster::DoubleBarrier::new(&client, "/crawl/round", 2, "w1")?;
    /// let all_gone = b.leave_with(zkcluster::Wait::No)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn leave_with(&self, wait: Wait) -> Result<bool> {
        self.drive(wait, Self::leave_step)
    }

    fn leave_step(
        &self,
        blocking: bool,
        deadline: Option<Instant>,
        token: &CancelToken,
        events: &crossbeam_channel::Receiver<crate::SessionEvent>,
    ) -> Step {
        if token.is_cancelled() {
            return Step::Ended(Err(Error::Cancelled { path: self.path.clone() }));
        }
        if blocking {
            match connected_by(&self.client, &self.path, deadline, token) {
                Ok(true) => {}
                Ok(false) => return Step::Ended(Ok(false)),
                Err(e) => return Step::Ended(Err(e)),
            }
        }
        // The barrier is no longer open for this round; the listing goes right after.
        let unready = self.client.delete_async(&crate::path::join(&self.path, READY), None);
        let children = self.client.get_children_async(&self.path);
        let listed = match reply(unready, deadline) {
            Ok(()) => reply(children, deadline),
            Err(e) if e.is_no_node() => reply(children, deadline),
            Err(e) => Err(e),
        };
        let mut members = match listed {
            Ok(children) => children,
            Err(e) if e.is_no_node() => return Step::Done,
            Err(e) => return self.on_error(e, blocking, deadline, token),
        };
        members.retain(|c| c != READY);
        members.sort();
        let (Some(lowest), Some(highest)) = (members.first(), members.last()) else {
            return Step::Done;
        };
        let watch_on = if *lowest == self.name {
            if members.len() == 1 {
                return match reply(self.client.delete_async(&self.node(), None), deadline) {
                    Ok(()) => Step::Done,
                    Err(e) if e.is_no_node() => Step::Done,
                    Err(e) => self.on_error(e, blocking, deadline, token),
                };
            }
            // Lowest: wait for the highest, so we go last.
            highest.clone()
        } else {
            // Delete ours (if still there) and wait for the lowest, who goes last.
            if members.contains(&self.name) {
                match reply(self.client.delete_async(&self.node(), None), deadline) {
                    Ok(()) => {}
                    Err(e) if e.is_no_node() => {}
                    Err(e) => return self.on_error(e, blocking, deadline, token),
                }
            }
            lowest.clone()
        };
        if !blocking || passed(deadline) {
            return Step::Ended(Ok(false));
        }
        match reply(
            self.client.get_node_watch_async(&crate::path::join(&self.path, &watch_on)),
            deadline,
        ) {
            Err(e) if e.is_no_node() => Step::Again,
            Err(e) => self.on_error(e, blocking, deadline, token),
            Ok((_, watch)) => self.wake(wait_change(&self.client, &watch, events, token, deadline)),
        }
    }

    fn wake(&self, wake: Wake) -> Step {
        match wake {
            Wake::Recheck | Wake::Deleted => Step::Again,
            Wake::Cancelled => Step::Ended(Err(Error::Cancelled { path: self.path.clone() })),
            Wake::Deadline => Step::Ended(Ok(false)),
        }
    }

    /// Waits out a transient error (until the deadline), or ends with a lasting one.
    fn on_error(
        &self,
        error: Error,
        blocking: bool,
        deadline: Option<Instant>,
        token: &CancelToken,
    ) -> Step {
        if !(retryable(&error) && blocking) {
            return Step::Ended(Err(error));
        }
        if passed(deadline) {
            return Step::Ended(Ok(false));
        }
        match wait_connected(&self.client, &self.path, deadline, token) {
            Ok(true) => Step::Again,
            Ok(false) => Step::Ended(Ok(false)),
            Err(e) => Step::Ended(Err(e)),
        }
    }

    /// Maps a wait that ended (`Ok(false)`) to a timeout error.
    fn timed(
        &self,
        op: &'static str,
        timeout: Duration,
        call: impl FnOnce(Wait) -> Result<bool>,
    ) -> Result<()> {
        if call(wait_for(timeout))? {
            Ok(())
        } else {
            Err(Error::Timeout { op, path: self.path.clone(), after: timeout })
        }
    }

    /// Deletes this member's node now if connected, else in the background.
    fn delete_own(&self) {
        let life = self.client.shared().life();
        cleanup::delete_soon(&self.client, &life, Target::Node(self.node()));
    }

    /// A handle that makes an `enter` or `leave` in progress on this object return
    /// [`Error::Cancelled`], from another thread.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let b = zkcluster::DoubleBarrier::new(&client, "/crawl/round", 3, "w1")?;
    /// let cancel = b.cancel_handle();
    /// std::thread::spawn(move || cancel.cancel());
    /// let _ = b.enter(); // Err(Cancelled) unless all three came first
    /// # Ok(())
    /// # }
    /// ```
    pub fn cancel_handle(&self) -> CancelHandle {
        self.cancel.clone()
    }
}
