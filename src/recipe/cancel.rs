//! Cancelling blocked acquires from another thread.
//!
//! Guarantee: after [`CancelHandle::cancel`] returns, every acquire of the lock object that was
//! already in progress stops waiting promptly, removes the node it had created (retrying in the
//! background if the server cannot be reached) and returns
//! [`Error::Cancelled`](crate::Error::Cancelled). Acquires that start afterwards are not
//! affected, so one lock object can be cancelled and used again (as Kazoo resets its flag).
//!
//! Failure modes: an acquire that had already obtained the lock when `cancel` ran returns its
//! guard normally (cancel never takes a held lock away); an acquire that starts after `cancel`
//! is not cancelled by it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crossbeam_channel::{Receiver, Sender};

/// Aborts the blocked acquires of one lock object from other threads.
///
/// `Send + Sync + Clone`; every clone controls the same lock object. [`cancel`](Self::cancel)
/// makes each acquire in progress on that object return
/// [`Error::Cancelled`](crate::Error::Cancelled) after removing its node; acquires started later
/// run normally.
///
/// ```no_run
/// use zkcluster::{Client, Restriction, ZookeeperRecipe};
/// # fn main() -> zkcluster::Result<()> {
/// let client = Client::connect("127.0.0.1:2181")?;
/// let lock = client.restrict("/crawler/frontier", ZookeeperRecipe::WriteLock, "worker-1", None)?;
/// let cancel = lock.cancel_handle();
/// std::thread::spawn(move || {
///     std::thread::sleep(std::time::Duration::from_secs(5));
///     cancel.cancel(); // give up waiting after 5 s, from another thread
/// });
/// match lock.acquire() {
///     Ok(_guard) => println!("got it"),
///     Err(e) if e.is_cancelled() => println!("gave up"),
///     Err(e) => return Err(e),
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct CancelHandle {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Bumped by every `cancel`; an acquire is cancelled once it differs from its token's.
    generation: AtomicU64,
    /// The current generation's wake-up channel: `cancel` drops the sender (waking every
    /// receiver at once) and installs a fresh pair for the next generation.
    wake: Mutex<(Sender<()>, Receiver<()>)>,
}

impl Default for CancelHandle {
    fn default() -> Self {
        Self::new()
    }
}

impl CancelHandle {
    /// A handle with nothing cancelled yet. Lock types create one each and hand out clones.
    ///
    /// ```
    /// let handle = zkcluster::CancelHandle::new();
    /// let token = handle.token();
    /// assert!(!token.is_cancelled());
    /// ```
    pub fn new() -> CancelHandle {
        CancelHandle {
            inner: Arc::new(Inner {
                generation: AtomicU64::new(0),
                wake: Mutex::new(crossbeam_channel::bounded(0)),
            }),
        }
    }

    /// Cancels every acquire in progress on the lock object (those holding a [`CancelToken`]
    /// taken before this call).
    ///
    /// ```
    /// let handle = zkcluster::CancelHandle::new();
    /// let token = handle.token();
    /// let other = handle.clone();
    /// std::thread::spawn(move || other.cancel()).join().unwrap();
    /// assert!(token.is_cancelled());
    /// assert!(token.signal().recv().is_err()); // ready at once: disconnected
    /// assert!(!handle.token().is_cancelled()); // later acquires are not affected
    /// ```
    pub fn cancel(&self) {
        let mut wake = self.inner.wake.lock().unwrap_or_else(|p| p.into_inner());
        self.inner.generation.fetch_add(1, Ordering::SeqCst);
        // Replacing the pair drops the old sender: every old receiver becomes ready.
        *wake = crossbeam_channel::bounded(0);
    }

    /// Whether [`cancel`](Self::cancel) was ever called on this handle (or a clone). It does
    /// not mean a later acquire will be cancelled: only [`CancelToken`]s taken before a
    /// `cancel` are.
    ///
    /// ```
    /// let handle = zkcluster::CancelHandle::new();
    /// assert!(!handle.is_cancelled());
    /// handle.clone().cancel();
    /// assert!(handle.is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.inner.generation.load(Ordering::SeqCst) > 0
    }

    /// A token for one acquire: take it when the acquire starts and check it while waiting.
    /// Used by lock types, including users' own [`Restriction`](crate::Restriction)s.
    ///
    /// ```
    /// let handle = zkcluster::CancelHandle::new();
    /// let token = handle.token();
    /// handle.cancel();
    /// assert!(token.is_cancelled());
    /// ```
    pub fn token(&self) -> CancelToken {
        let wake = self.inner.wake.lock().unwrap_or_else(|p| p.into_inner());
        CancelToken {
            generation: self.inner.generation.load(Ordering::SeqCst),
            signal: wake.1.clone(),
            handle: self.clone(),
        }
    }
}

/// One acquire's view of a [`CancelHandle`]: cancelled once `cancel` is called after the token
/// was taken.
///
/// ```
/// use zkcluster::channel::select;
/// # use std::time::Duration;
/// let handle = zkcluster::CancelHandle::new();
/// let token = handle.token();
/// handle.cancel();
/// let woke = select! {
///     recv(token.signal()) -> _ => true,
///     default(Duration::from_secs(1)) => false,
/// };
/// assert!(woke && token.is_cancelled());
/// ```
#[derive(Clone, Debug)]
pub struct CancelToken {
    generation: u64,
    signal: Receiver<()>,
    handle: CancelHandle,
}

impl CancelToken {
    /// Whether the handle was cancelled since this token was taken.
    pub fn is_cancelled(&self) -> bool {
        self.handle.inner.generation.load(Ordering::SeqCst) != self.generation
    }

    /// A channel that becomes ready (disconnected) when the token is cancelled: for `select!`.
    pub fn signal(&self) -> &Receiver<()> {
        &self.signal
    }
}
