//! Calls in flight: put many requests on the wire from one thread, then wait for each.

use std::time::Duration;

use crate::session::{RawReply, ReplyWaiter};
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

    /// Waits for the reply until the client's request timeout has passed since the call was made.
    ///
    /// # Errors
    ///
    /// The call's own error (see the call that made this `Pending`), or
    /// [`Timeout`](crate::Error::Timeout) when no reply came within the request timeout (a write
    /// may still be applied).
    pub fn wait(self) -> Result<T> {
        self.wait_inner(None)
    }

    /// Waits at most `timeout` (and never past the request timeout). On timeout the call may
    /// still be applied by the server.
    ///
    /// # Errors
    ///
    /// As [`wait`](Self::wait); [`Timeout`](crate::Error::Timeout) after `timeout` too.
    pub fn wait_timeout(self, timeout: Duration) -> Result<T> {
        self.wait_inner(Some(timeout))
    }

    fn wait_inner(self, limit: Option<Duration>) -> Result<T> {
        match self.state {
            State::Failed(e) => Err(e),
            State::Sent { waiter, op, path, finish } => finish(waiter.wait(op, &path, limit)?),
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
