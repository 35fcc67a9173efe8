//! One session's lifetime, as a signal recipes can wait on.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crossbeam_channel::{Receiver, Sender};

/// The life of one ZooKeeper session: ends (once) when the session is lost or the client closed.
///
/// Ending drops the only sender of a zero-capacity channel, so every clone of `signal()` becomes
/// ready at once, however many guards hold one, and nothing accumulates per subscriber.
#[derive(Debug)]
pub(crate) struct SessionLife {
    pub session_id: i64,
    ended: AtomicBool,
    end_tx: Mutex<Option<Sender<()>>>,
    end_rx: Receiver<()>,
}

impl SessionLife {
    pub fn new(session_id: i64) -> SessionLife {
        let (tx, rx) = crossbeam_channel::bounded(0);
        SessionLife {
            session_id,
            ended: AtomicBool::new(false),
            end_tx: Mutex::new(Some(tx)),
            end_rx: rx,
        }
    }

    pub fn end(&self) {
        self.ended.store(true, Ordering::SeqCst);
        if let Ok(mut tx) = self.end_tx.lock() {
            tx.take();
        }
    }

    pub fn has_ended(&self) -> bool {
        self.ended.load(Ordering::SeqCst)
    }

    /// Becomes ready (disconnected) when the session ends.
    pub fn signal(&self) -> Receiver<()> {
        self.end_rx.clone()
    }
}
