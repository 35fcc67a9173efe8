//! Cancelling a blocked acquire from another thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};

/// Aborts a blocked acquire of one lock object from another thread.
///
/// `Send + Clone`. After [`cancel`](CancelHandle::cancel), the acquire in progress (and any later
/// one on the same object, until [`reset`](CancelHandle::reset)) returns
/// [`Error::Cancelled`](crate::Error::Cancelled) and removes the node it had created.
///
/// ```
/// let handle = zkcluster::CancelHandle::new();
/// let other = handle.clone();
/// std::thread::spawn(move || other.cancel()).join().unwrap();
/// assert!(handle.is_cancelled());
/// ```
#[derive(Clone, Debug)]
pub struct CancelHandle {
    inner: Arc<CancelInner>,
}

#[derive(Debug)]
struct CancelInner {
    cancelled: AtomicBool,
    // Dropping the sender wakes every waiter selecting on `signal()` at once.
    wake: std::sync::Mutex<Option<Sender<()>>>,
    signal: Receiver<()>,
}

impl Default for CancelHandle {
    fn default() -> Self {
        Self::new()
    }
}

impl CancelHandle {
    /// A handle that is not cancelled.
    pub fn new() -> CancelHandle {
        let (tx, rx) = crossbeam_channel::bounded(0);
        CancelHandle {
            inner: Arc::new(CancelInner {
                cancelled: AtomicBool::new(false),
                wake: std::sync::Mutex::new(Some(tx)),
                signal: rx,
            }),
        }
    }

    /// Cancels the acquire in progress, if any.
    pub fn cancel(&self) {
        self.inner.cancelled.store(true, Ordering::SeqCst);
        if let Ok(mut wake) = self.inner.wake.lock() {
            wake.take();
        }
    }

    /// Whether [`cancel`](Self::cancel) was called .
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::SeqCst)
    }

    /// A channel that becomes ready (disconnected) when the handle is cancelled: for `select!`.
    pub fn signal(&self) -> Receiver<()> {
        self.inner.signal.clone()
    }
}
