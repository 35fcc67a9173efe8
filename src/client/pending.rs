//! Calls in flight: put many requests on the wire from one thread, then wait for each.

use std::time::{Duration, Instant};

use crate::session::{RawReply, ReplyWaiter, WaitMode};
use crate::{Error, Result};

type Finish<T> = Box<dyn FnOnce(RawReply) -> Result<T> + Send>;

/// A call that has been sent (or has already failed) and whose reply is still to be read.
///
/// Every `*_async` method of [`Client`](crate::Client) returns one. ZooKeeper answers a
/// session's requests in order, so a thread can send many before waiting for any: they share
/// one round trip.
///
/// ```no_run
/// # fn main() -> zkcluster::Result<()> {
/// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
/// let pending: Vec<_> = (0..100).map(|i| client.get_node_async(&format!("/pages/{i}"))).collect();
/// for p in pending {
///     match p.wait() {
///         Ok(node) => println!("{}: {} bytes", node.path, node.value.len()),
///         Err(e) if e.is_no_node() => {}
///         Err(e) => return Err(e),
///     }
/// }
/// # Ok(())
/// # }
/// ```
#[must_use = "a pending call does nothing unless waited for"]
pub struct Pending<T> {
    state: State<T>,
}

enum State<T> {
    Failed(Error),
    Sent { waiter: ReplyWaiter, op: &'static str, path: String, finish: Finish<T> },
}

impl<T> Pending<T> {
    pub(crate) fn sent(
        waiter: ReplyWaiter,
        op: &'static str,
        path: String,
        finish: impl FnOnce(RawReply) -> Result<T> + Send + 'static,
    ) -> Pending<T> {
        Pending { state: State::Sent { waiter, op, path, finish: Box::new(finish) } }
    }

    pub(crate) fn failed(error: Error) -> Pending<T> {
        Pending { state: State::Failed(error) }
    }

    /// A pending call whose outcome is passed through `f` once the reply arrives (failures to
    /// send stay as they are).
    fn map_outcome<U>(self, f: impl FnOnce(Result<T>) -> Result<U> + Send + 'static) -> Pending<U>
    where
        T: 'static,
    {
        match self.state {
            State::Failed(e) => Pending::failed(e),
            State::Sent { waiter, op, path, finish } => Pending {
                state: State::Sent {
                    waiter,
                    op,
                    path,
                    finish: Box::new(move |reply| f(finish(reply))),
                },
            },
        }
    }

    /// A pending call whose result is mapped by `f` once it arrives.
    pub(crate) fn then<U>(self, f: impl FnOnce(T) -> Result<U> + Send + 'static) -> Pending<U>
    where
        T: 'static,
    {
        self.map_outcome(|outcome| outcome.and_then(f))
    }

    /// A pending call whose error from the server's reply may be turned into a value by `f`;
    /// failures to send or to get a reply (timeout, connection loss) are kept.
    pub(crate) fn recover(self, f: impl FnOnce(Error) -> Result<T> + Send + 'static) -> Pending<T>
    where
        T: 'static,
    {
        self.map_outcome(|outcome| outcome.or_else(f))
    }

    /// Waits for the reply until the client's request timeout has passed since the call was
    /// made (waiting for a connection included: a call made while disconnected waits queued
    /// for the next one).
    ///
    /// # Errors
    ///
    /// The call's own error, or [`Error::Timeout`] (with the time since the call was made)
    /// when its deadline passed. A call that was still queued then is withdrawn and never
    /// sent; one that was written may still be applied by the server.
    pub fn wait(self) -> Result<T> {
        self.wait_mode(WaitMode { until: None, grace: false, fail_fast: false })
    }

    /// Waits at most `timeout` (and never past the request timeout). On timeout a call still
    /// queued (waiting for a connection) is withdrawn and never sent; one already written may
    /// still be applied by the server.
    ///
    /// # Errors
    ///
    /// As [`wait`](Self::wait); [`Timeout`](crate::Error::Timeout) after `timeout` too.
    pub fn wait_timeout(self, timeout: Duration) -> Result<T> {
        let until = Instant::now().checked_add(timeout);
        self.wait_mode(WaitMode { until, grace: false, fail_fast: false })
    }

    /// The recipes' wait: until `deadline` (the request's own when `None`), giving a reply
    /// written just before it a little longer (`session::ON_ITS_WAY`), and
    /// failing at once with connection loss, unsent, while the session is disconnected (the
    /// recipe waits for the connection itself, within its own deadline).
    pub(crate) fn wait_until(self, deadline: Option<Instant>) -> Result<T> {
        self.wait_mode(WaitMode { until: deadline, grace: true, fail_fast: true })
    }

    /// Like [`wait_until`](Self::wait_until), without the extra time for a reply on its way.
    pub(crate) fn wait_strictly(self, deadline: Option<Instant>) -> Result<T> {
        self.wait_mode(WaitMode { until: deadline, grace: false, fail_fast: true })
    }

    fn wait_mode(self, mode: WaitMode) -> Result<T> {
        match self.state {
            State::Failed(e) => Err(e),
            State::Sent { waiter, op, path, finish } => finish(waiter.wait_mode(op, &path, mode)?),
        }
    }
}

impl<T> std::fmt::Debug for Pending<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.state {
            State::Failed(e) => f.debug_tuple("Pending::Failed").field(e).finish(),
            State::Sent { op, path, .. } => {
                f.debug_struct("Pending").field("op", op).field("path", path).finish()
            }
        }
    }
}
