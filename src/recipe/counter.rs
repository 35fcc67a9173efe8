//! [`Counter`]: a shared number changed atomically, stored as Kazoo's `Counter` (or Curator's
//! `SharedCount`) stores it.
//!
//! # Guarantee
//!
//! Every [`add`](Counter::add) or [`subtract`](Counter::subtract) that returns `Ok` was applied
//! exactly once, and its [`CounterChange`] reports the value it started from and the value it
//! left, as if all changes from every client (Kazoo's and Curator's included) ran one after the
//! other. A change is a compare-and-set on the node's version: read value and version, write
//! the new value only if the version is unchanged, retry on a conflict.
//!
//! # Node layout and data format
//!
//! The counter is the node at its path (created empty, with any missing parents, on the first
//! change). An empty node holds the counter's default. The value is stored as:
//!
//! - text (Kazoo's default): the ASCII digits Python's `repr` gives — `42`, `-3` for integers;
//!   `3.0`, `0.1`, `1e+16`, `inf` for floats. An integer counter refuses a float text and the
//!   reverse is read as a float, as Kazoo does.
//! - Curator's `SharedCount` format ([`Counter::curator`], Kazoo's `support_curator=True`): a
//!   4-byte big-endian signed integer; integers only, within `i32`.
//!
//! # Failure modes
//!
//! - Data in another format fails with [`Error::InvalidData`] naming the path; nothing is
//!   written. A result out of range (an `i64` overflow, an `i32` in Curator's format) fails
//!   with [`Error::InvalidArgument`].
//! - Connection loss during a read, or before a write was sent, is retried after reconnecting.
//!   Connection loss or a timeout *while a write is in flight* leaves its outcome unknown: the
//!   counter reads the node again and retries if the version did not move (the write was not
//!   applied); if it moved, it fails with [`Error::ConnectionLoss`] rather than risk counting
//!   the change twice (Kazoo would retry, and might).
//! - Every change has one deadline ([`Counter::timeout`], by default the client's request
//!   timeout) covering the retries and any wait for a reconnect; it fails with
//!   [`Error::Timeout`] when it passes.
//!
//! # Round trips
//!
//! Threads sharing one `Counter` object do not race each other: one writes at a time, for every
//! change queued meanwhile (a group commit: the changes are applied in call order, each caller
//! gets its own pre and post values). The counter remembers the value and version it last
//! wrote, so a write costs **one** round trip (the conditional set) and a conflict with another
//! object or client one more (a fresh read). The first change of a counter object costs a read
//! too. So eight threads on one object cost about one round trip per *batch*, not per change.
//!
//! # A change inside a transaction
//!
//! [`Counter::stage`] reads the value and version and returns a [`StagedChange`], which adds
//! the compare-and-set to a caller's [`Transaction`] (a fenced one from
//! [`Guard::transaction`](crate::Guard::transaction), say): the count then changes if and
//! only if the rest of the transaction is applied, and the commit fails with `is_bad_version()`
//! when anyone changed the counter since the read (stage again and retry). The counter object
//! is not told about the commit; its next [`add`](Counter::add) reads the value afresh.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use super::cancel::{CancelHandle, CancelToken};
use super::lock::{passed, reply, retryable, wait_connected};
use crate::{Client, Error, Result, Transaction};

mod sealed {
    pub trait Sealed {}
    impl Sealed for i64 {}
    impl Sealed for f64 {}
}

/// The number types a [`Counter`] holds: `i64` (Python `int`) and `f64` (Python `float`).
///
/// ```
/// use zkcluster::CounterValue;
/// assert_eq!(1e16f64.to_text(), "1e+16");
/// assert_eq!(3.0f64.to_text(), "3.0");
/// assert_eq!(i64::from_text(" 42\n"), Some(42));
/// ```
pub trait CounterValue:
    sealed::Sealed + Copy + PartialEq + fmt::Debug + fmt::Display + Send + Sync + 'static
{
    /// The value as Kazoo writes it: Python's `repr`.
    fn to_text(self) -> String;
    /// Parses what Kazoo (Python's `int()` / `float()`) would accept; `None` otherwise.
    fn from_text(text: &str) -> Option<Self>;
    /// `self + other`, `None` on overflow.
    fn plus(self, other: Self) -> Option<Self>;
    /// `-self`, `None` on overflow.
    fn negated(self) -> Option<Self>;
}

impl CounterValue for i64 {
    fn to_text(self) -> String {
        self.to_string()
    }

    fn from_text(text: &str) -> Option<i64> {
        text.trim().parse().ok()
    }

    fn plus(self, other: i64) -> Option<i64> {
        self.checked_add(other)
    }

    fn negated(self) -> Option<i64> {
        self.checked_neg()
    }
}

impl CounterValue for f64 {
    fn to_text(self) -> String {
        python_float_repr(self)
    }

    fn from_text(text: &str) -> Option<f64> {
        text.trim().parse().ok()
    }

    fn plus(self, other: f64) -> Option<f64> {
        Some(self + other)
    }

    fn negated(self) -> Option<f64> {
        Some(-self)
    }
}

/// Python's `repr(float)`: the shortest digits that read back to the same value, in fixed
/// notation for decimal exponents -4..=15 and `d.ddde±XX` outside.
fn python_float_repr(value: f64) -> String {
    if value.is_nan() {
        return "nan".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.into();
    }
    // Rust's `{:e}` gives the same shortest digits, as `[-]d[.ddd]e<exp>`.
    let sci = format!("{value:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if (-4..16).contains(&exp) {
        // Digits before the decimal point.
        let point = exp + 1;
        if point <= 0 {
            format!("{sign}0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
        } else {
            let point = point as usize;
            if point >= digits.len() {
                format!("{sign}{digits}{}.0", "0".repeat(point - digits.len()))
            } else {
                format!("{sign}{}.{}", &digits[..point], &digits[point..])
            }
        }
    } else {
        let mantissa = match digits.len() {
            0 | 1 => digits.clone(),
            _ => format!("{}.{}", &digits[..1], &digits[1..]),
        };
        let exp_sign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{mantissa}e{exp_sign}{:02}", exp.unsigned_abs())
    }
}

/// How the value is stored in the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    /// Kazoo's default: ASCII text.
    Text,
    /// Curator's `SharedCount`: 4 bytes, big-endian `i32`.
    Curator,
}

/// What one change did: the value it found and the value it left.
///
/// ```no_run
/// # fn main() -> zkcluster::Result<()> {
/// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
/// let pages = zkcluster::Counter::new(&client, "/crawl/pages")?;
/// let change = pages.add(5)?;
/// assert_eq!(change.post, change.pre + 5);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CounterChange<T> {
    /// The value just before this change (Kazoo's `pre_value`).
    pub pre: T,
    /// The value this change wrote (Kazoo's `post_value`).
    pub post: T,
    /// The node's version after the write.
    pub version: i32,
}

/// A change read but not yet written: [`add_to`](Self::add_to) puts it in a transaction (see
/// [`Counter::stage`]).
///
/// ```no_run
/// # fn main() -> zkcluster::Result<()> {
/// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
/// let pages = zkcluster::Counter::new(&client, "/crawl/pages")?;
/// let staged = pages.stage(1)?;
/// let tx = staged.add_to(client.transaction().create("/crawl/done/a", "", &Default::default()));
/// tx.commit()?;
/// println!("page number {}", staged.change().post);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a staged change does nothing until added to a transaction and committed"]
pub struct StagedChange<T> {
    path: String,
    data: Vec<u8>,
    pre: T,
    post: T,
    version: i32,
}

impl<T: CounterValue> StagedChange<T> {
    /// Adds the change to `transaction`: a set of the new value, conditional on the version
    /// read. Adding it to several transactions makes all but the first committed fail.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let staged = zkcluster::Counter::new(&client, "/n")?.stage(2)?;
    /// staged.add_to(client.transaction()).commit()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn add_to<'a>(&self, transaction: Transaction<'a>) -> Transaction<'a> {
        transaction.set_data(&self.path, &self.data, Some(self.version))
    }

    /// What the change does once committed: the value read, the value written and the node's
    /// version after the write.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let staged = zkcluster::Counter::new(&client, "/n")?.stage(2)?;
    /// assert_eq!(staged.change().post, staged.change().pre + 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn change(&self) -> CounterChange<T> {
        CounterChange { pre: self.pre, post: self.post, version: self.version.wrapping_add(1) }
    }
}

/// One caller's change, waiting to be written.
struct Ticket<T> {
    id: u64,
    delta: T,
    deadline: Option<Instant>,
}

/// The threads sharing one counter object: one writes at a time, for everyone queued.
struct Turns<T> {
    /// A write is in progress.
    busy: bool,
    /// The value and version this object last read or wrote: a guess, checked by the write.
    known: Option<(T, i32)>,
    /// Changes waiting for the next write, in call order.
    queue: Vec<Ticket<T>>,
    /// Results of written changes, until their callers pick them up.
    done: HashMap<u64, Result<CounterChange<T>>>,
    next_id: u64,
}

/// A shared counter at a path, compatible with Kazoo's `Counter` (and, with
/// [`curator`](Counter::curator), with Curator's `SharedCount`).
///
/// `Send + Sync`: share it between threads with an `Arc`; their concurrent changes are written
/// together (see the module docs), so they do not make each other retry.
///
/// ```no_run
/// use zkcluster::{Client, Counter};
/// # fn main() -> zkcluster::Result<()> {
/// let client = Client::connect("127.0.0.1:2181")?;
/// let pages = Counter::new(&client, "/crawl/pages")?;
/// pages.add(2)?;
/// let change = pages.subtract(1)?;
/// println!("{} -> {}", change.pre, change.post);
///
/// let budget = Counter::with_default(&client, "/crawl/budget", 1.0)?;
/// budget.add(2.5)?; // stored as "3.5", as Kazoo's Counter(default=1.0) would
///
/// let shared = Counter::new(&client, "/crawl/curator")?.curator(); // Curator's 4-byte format
/// shared.add(1)?;
/// println!("now {}", pages.value()?);
/// # Ok(())
/// # }
/// ```
pub struct Counter<T: CounterValue = i64> {
    client: Client,
    path: String,
    default: T,
    encoding: Encoding,
    timeout: Duration,
    turns: Mutex<Turns<T>>,
    turn_free: Condvar,
}

impl<T: CounterValue> fmt::Debug for Counter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Counter")
            .field("path", &self.path)
            .field("default", &self.default)
            .field("encoding", &self.encoding)
            .finish()
    }
}

impl Counter<i64> {
    /// An integer counter with default 0 (no server call).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPath`] when `path` is not a valid node path (or is the root).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let done = zkcluster::Counter::new(&client, "/crawl/done")?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(client: &Client, path: &str) -> Result<Counter<i64>> {
        Counter::with_default(client, path, 0)
    }

    /// Stores the value as Curator's `SharedCount` does (4-byte big-endian `i32`), as Kazoo's
    /// `support_curator=True`: Curator, Kazoo and zkcluster members can share the counter.
    /// Values outside `i32` cannot be written.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let shared = zkcluster::Counter::new(&client, "/jobs/count")?.curator();
    /// shared.add(1)?;
    /// assert_eq!(client.get_node("/jobs/count")?.value.len(), 4);
    /// # Ok(())
    /// # }
    /// ```
    pub fn curator(mut self) -> Counter<i64> {
        self.encoding = Encoding::Curator;
        self
    }
}

impl<T: CounterValue> Counter<T> {
    /// A counter whose empty (or newly created) node counts as `default`; `T` (`i64` or `f64`)
    /// is the counter's type, as Kazoo takes it from `type(default)`. No server call.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPath`] when `path` is not a valid node path (or is the root).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let load = zkcluster::Counter::with_default(&client, "/crawl/load", 0.0)?;
    /// load.add(0.25)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_default(client: &Client, path: &str, default: T) -> Result<Counter<T>> {
        crate::path::validate(path, false)?;
        if path == "/" {
            return Err(Error::InvalidPath {
                path: path.into(),
                reason: "a counter cannot live at the root".into(),
            });
        }
        Ok(Counter {
            client: client.clone(),
            path: path.to_string(),
            default,
            encoding: Encoding::Text,
            timeout: client.shared().config.request_timeout,
            turns: Mutex::new(Turns {
                busy: false,
                known: None,
                queue: Vec::new(),
                done: HashMap::new(),
                next_id: 0,
            }),
            turn_free: Condvar::new(),
        })
    }

    /// Sets the deadline of each call (retries and reconnects included); the client's request
    /// timeout by default.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let c = zkcluster::Counter::new(&client, "/c")?.timeout(std::time::Duration::from_secs(2));
    /// # Ok(())
    /// # }
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Counter<T> {
        self.timeout = timeout;
        self
    }

    /// The counter's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The current value (the default when the node is missing or empty). One round trip.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidData`] when the node holds something else than a counter value in this
    /// counter's format; the client's errors otherwise.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let done = zkcluster::Counter::new(&client, "/crawl/done")?;
    /// println!("{} pages done", done.value()?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn value(&self) -> Result<T> {
        match self.client.get_node(&self.path) {
            Ok(node) => self.decode(&node.value),
            Err(e) if e.is_no_node() => Ok(self.default),
            Err(e) => Err(e),
        }
    }

    /// Adds `delta` atomically (Kazoo's `counter += delta`).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidData`] for data in another format, [`Error::InvalidArgument`] when the
    /// result is out of range, [`Error::Timeout`] when the deadline passed (nothing was
    /// applied), [`Error::ConnectionLoss`] when a write was cut off and may have been applied
    /// (see the module docs); the client's other errors.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let done = zkcluster::Counter::new(&client, "/crawl/done")?;
    /// let change = done.add(1)?;
    /// println!("page number {}", change.post);
    /// # Ok(())
    /// # }
    /// ```
    pub fn add(&self, delta: T) -> Result<CounterChange<T>> {
        let deadline = Instant::now().checked_add(self.timeout);
        let mut turns = self.turns.lock().unwrap_or_else(|p| p.into_inner());
        let id = turns.next_id;
        turns.next_id += 1;
        turns.queue.push(Ticket { id, delta, deadline });
        loop {
            if let Some(result) = turns.done.remove(&id) {
                return result;
            }
            let queued = turns.queue.iter().any(|t| t.id == id);
            if queued && passed(deadline) {
                turns.queue.retain(|t| t.id != id);
                return Err(self.timed_out());
            }
            if queued && !turns.busy {
                // Our turn: write every change waiting now (ours included) at once.
                turns.busy = true;
                let (batch, late): (Vec<_>, Vec<_>) =
                    std::mem::take(&mut turns.queue).into_iter().partition(|t| !passed(t.deadline));
                turns.queue = late; // their owners time out themselves
                let mut known = turns.known.take();
                drop(turns);
                let outcome = self.commit(&batch, &mut known);
                turns = self.turns.lock().unwrap_or_else(|p| p.into_inner());
                turns.busy = false;
                turns.known = known;
                match outcome {
                    Ok(results) => turns.done.extend(results),
                    // Nothing was written: everyone tries again (or times out) on their own;
                    // we report the error unless it was only the batch's earliest deadline.
                    Err(e) => {
                        let retry_ours = e.is_timeout() && !passed(deadline);
                        turns.queue.extend(batch.into_iter().filter(|t| retry_ours || t.id != id));
                        if !retry_ours {
                            self.turn_free.notify_all();
                            return Err(e);
                        }
                    }
                }
                self.turn_free.notify_all();
                continue;
            }
            // Queued behind a write in progress, or part of it: wait for news.
            let wait = match deadline {
                Some(d) if queued => d.saturating_duration_since(Instant::now()),
                _ => Duration::from_secs(1),
            };
            turns = self.turn_free.wait_timeout(turns, wait).unwrap_or_else(|p| p.into_inner()).0;
        }
    }

    /// Reads the counter (creating it empty first if it is missing) and prepares adding
    /// `delta` to it inside a transaction of the caller's (see the module docs): nothing is
    /// written until that transaction is committed, and the commit fails with
    /// `is_bad_version()` if the counter changed since this read. One round trip.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when the counter's timeout passes (waiting for a connection
    /// included); [`Error::InvalidData`] when the node holds another format;
    /// [`Error::InvalidArgument`] when the sum overflows or does not fit Curator's format; the
    /// client's other errors.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let lock = client.restrict("/crawl/lock", zkcluster::ZookeeperRecipe::WriteLock, "me", None)?;
    /// # use zkcluster::Restriction;
    /// let guard = lock.acquire()?;
    /// let pages = zkcluster::Counter::new(&client, "/crawl/pages")?;
    /// loop {
    ///     let staged = pages.stage(1)?;
    ///     let tx = guard.transaction().create("/crawl/results/a", "ok", &Default::default());
    ///     match staged.add_to(tx).commit() {
    ///         Ok(_) => break,
    ///         Err(e) if e.is_bad_version() => continue, // counted meanwhile: read again
    ///         Err(e) => return Err(e),
    ///     }
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn stage(&self, delta: T) -> Result<StagedChange<T>> {
        let deadline = Instant::now().checked_add(self.timeout);
        let (pre, version) = self.read_or_create(deadline, &CancelHandle::new().token())?;
        let (post, data) = self.sum(pre, delta)?;
        Ok(StagedChange { path: self.path.clone(), data, pre, post, version })
    }

    /// Subtracts `delta` atomically (Kazoo's `counter -= delta`); errors as for
    /// [`add`](Self::add).
    ///
    /// # Errors
    ///
    /// As for [`add`](Self::add); [`Error::InvalidArgument`] when `-delta` overflows.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let budget = zkcluster::Counter::with_default(&client, "/domain/budget", 100)?;
    /// if budget.subtract(1)?.post < 0 {
    ///     println!("over budget");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn subtract(&self, delta: T) -> Result<CounterChange<T>> {
        let negated = delta.negated().ok_or_else(|| Error::InvalidArgument {
            path: self.path.clone(),
            reason: format!("cannot subtract {delta}: its negation overflows"),
        })?;
        self.add(negated)
    }

    fn timed_out(&self) -> Error {
        Error::Timeout { op: "counter change", path: self.path.clone(), after: self.timeout }
    }

    fn outcome_unknown(&self) -> Error {
        Error::ConnectionLoss { op: "counter change (outcome unknown)", path: self.path.clone() }
    }

    /// Applies `batch` in one compare-and-set loop, as if one after the other in queue order.
    /// `known` is the last (value, version) seen, if any, and is kept up to date.
    ///
    /// `Ok`: each ticket's own result (a change whose step overflows fails alone, and the
    /// write may then be cut off with every change's outcome unknown). `Err`: nothing was
    /// written (the earliest deadline in the batch passed, or a lasting error).
    fn commit(
        &self,
        batch: &[Ticket<T>],
        known: &mut Option<(T, i32)>,
    ) -> Result<Vec<(u64, Result<CounterChange<T>>)>> {
        // The earliest deadline, so every caller hears back by its own.
        let deadline = batch.iter().filter_map(|t| t.deadline).min();
        // Counters cannot be cancelled: the token only satisfies the shared wait helper.
        let never = CancelHandle::new().token();
        loop {
            if passed(deadline) {
                return Err(self.timed_out());
            }
            if !self.client.state().is_connected() {
                self.reconnect(deadline, &never)?;
            }
            let (pre, version) = match *known {
                Some(seen) => seen,
                None => self.read_or_create(deadline, &never)?,
            };
            // Each change in turn from `pre`; one that cannot be applied is left out.
            let mut value = pre;
            let mut steps: Vec<(u64, Result<(T, T)>)> = Vec::with_capacity(batch.len());
            for ticket in batch {
                let step = self.sum(value, ticket.delta).map(|(post, _)| post);
                steps.push((
                    ticket.id,
                    step.map(|post| (std::mem::replace(&mut value, post), post)),
                ));
            }
            let changes = |steps: Vec<(u64, Result<(T, T)>)>, version: i32| {
                steps
                    .into_iter()
                    .map(|(id, s)| (id, s.map(|(pre, post)| CounterChange { pre, post, version })))
                    .collect()
            };
            if steps.iter().all(|(_, s)| s.is_err()) {
                return Ok(changes(steps, version)); // nothing to write
            }
            let data = self.encode(value)?;
            match reply(self.client.set_data_async(&self.path, &data, Some(version)), deadline) {
                Ok(stat) => {
                    *known = Some((value, stat.version));
                    return Ok(changes(steps, stat.version));
                }
                Err(e) if e.is_bad_version() || e.is_no_node() => *known = None,
                Err(e) if retryable(&e) => {
                    // The write may or may not have been applied: look again. Whatever fails
                    // from here on, it may have been.
                    *known = None;
                    if self.reconnect(deadline, &never).is_err() {
                        return Ok(self.unknown(steps));
                    }
                    match self.read(deadline) {
                        Ok(Some((_, now))) if now == version => {} // not applied: retry
                        Ok(None) => {}                             // deleted meanwhile: retry
                        _ => return Ok(self.unknown(steps)),
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Every change of a write whose outcome is unknown fails saying so.
    fn unknown(&self, steps: Vec<(u64, Result<(T, T)>)>) -> Vec<(u64, Result<CounterChange<T>>)> {
        steps.into_iter().map(|(id, s)| (id, s.and(Err(self.outcome_unknown())))).collect()
    }

    /// Waits for the connection, failing with a timeout when the deadline passes first.
    fn reconnect(&self, deadline: Option<Instant>, never: &CancelToken) -> Result<()> {
        if wait_connected(&self.client, &self.path, deadline, never)? {
            Ok(())
        } else {
            Err(Error::Timeout {
                op: "counter change",
                path: self.path.clone(),
                after: self.timeout,
            })
        }
    }

    /// The value and version now, creating the node empty first (as Kazoo's `ensure_path`
    /// does) when it is missing, and waiting for a connection when there is none, until
    /// `deadline`. (`never`: counters cannot be cancelled; it satisfies the shared wait.)
    fn read_or_create(&self, deadline: Option<Instant>, never: &CancelToken) -> Result<(T, i32)> {
        loop {
            if passed(deadline) {
                return Err(self.timed_out());
            }
            match self.read(deadline) {
                Ok(Some(seen)) => return Ok(seen),
                Ok(None) => match self.client.ensure_path(&self.path) {
                    Err(e) if retryable(&e) => self.reconnect(deadline, never)?,
                    other => other?,
                },
                Err(e) if retryable(&e) => self.reconnect(deadline, never)?,
                Err(e) => return Err(e),
            }
        }
    }

    /// `value + delta` and its encoding, or why it cannot be stored.
    fn sum(&self, value: T, delta: T) -> Result<(T, Vec<u8>)> {
        let post = value.plus(delta).ok_or_else(|| Error::InvalidArgument {
            path: self.path.clone(),
            reason: format!("{value} + {delta} overflows"),
        })?;
        Ok((post, self.encode(post)?))
    }

    /// The value and version now, `None` when the node is missing.
    fn read(&self, deadline: Option<Instant>) -> Result<Option<(T, i32)>> {
        match reply(self.client.get_node_async(&self.path), deadline) {
            Ok(node) => Ok(Some((self.decode(&node.value)?, node.stat.version))),
            Err(e) if e.is_no_node() => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn decode(&self, data: &[u8]) -> Result<T> {
        if data.is_empty() {
            return Ok(self.default);
        }
        let bad = |reason: String| Error::InvalidData { path: self.path.clone(), reason };
        match self.encoding {
            Encoding::Text => {
                let text = std::str::from_utf8(data)
                    .map_err(|_| bad(format!("{data:?} is not ASCII text")))?;
                T::from_text(text)
                    .ok_or_else(|| bad(format!("{text:?} is not a {}", std::any::type_name::<T>())))
            }
            Encoding::Curator => {
                let bytes: [u8; 4] = data.try_into().map_err(|_| {
                    bad(format!("Curator's SharedCount holds 4 bytes, found {}", data.len()))
                })?;
                let value = i64::from(i32::from_be_bytes(bytes));
                // Only i64 counters can be Curator counters (see `curator`).
                T::from_text(&value.to_string())
                    .ok_or_else(|| bad("not an integer counter".to_string()))
            }
        }
    }

    fn encode(&self, value: T) -> Result<Vec<u8>> {
        match self.encoding {
            Encoding::Text => Ok(value.to_text().into_bytes()),
            Encoding::Curator => {
                let text = value.to_text();
                let n: i32 = text.parse().map_err(|_| Error::InvalidArgument {
                    path: self.path.clone(),
                    reason: format!("{text} does not fit Curator's 4-byte count"),
                })?;
                Ok(n.to_be_bytes().to_vec())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_python_repr() {
        for (v, want) in [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (3.5, "3.5"),
            (0.1, "0.1"),
            (0.1 + 0.2, "0.30000000000000004"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (123456.789, "123456.789"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (-2.5e100, "-2.5e+100"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
        ] {
            assert_eq!(python_float_repr(v), want, "{v:e}");
        }
    }

    #[test]
    fn text_parsing_follows_python() {
        assert_eq!(i64::from_text("17"), Some(17));
        assert_eq!(i64::from_text("-4 "), Some(-4));
        assert_eq!(i64::from_text("3.0"), None);
        assert_eq!(i64::from_text("99999999999999999999"), None);
        assert_eq!(f64::from_text("5"), Some(5.0));
        assert_eq!(f64::from_text("1e+16"), Some(1e16));
        assert_eq!(f64::from_text("inf"), Some(f64::INFINITY));
        assert_eq!(f64::from_text("x"), None);
    }

    #[test]
    fn overflow_is_detected() {
        assert_eq!(i64::MAX.plus(1), None);
        assert_eq!(i64::MIN.negated(), None);
        assert_eq!(2.0f64.plus(0.5), Some(2.5));
    }
}
