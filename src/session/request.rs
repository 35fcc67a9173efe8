//! A request on its way to the server and the reply its caller waits for.

use std::time::{Duration, Instant};

use std::sync::{Arc, Condvar, Mutex};

use crossbeam_channel::RecvTimeoutError;

use super::watches::WatchKind;
use crate::{Error, Result};

/// Why the session could not deliver a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The connection broke with the request in flight.
    ConnectionLoss,
    /// The session ended.
    SessionExpired,
    /// The client was closed.
    Closed,
    /// The server sent something undecodable; the connection was reset.
    Protocol(String),
    /// No connection came up before the request's deadline (after waiting this long).
    Timeout(Duration),
}

impl Failure {
    pub fn into_error(self, op: &'static str, path: &str) -> Error {
        let path = path.to_string();
        match self {
            Failure::ConnectionLoss => Error::ConnectionLoss { op, path },
            Failure::SessionExpired => Error::SessionExpired { op, path },
            Failure::Closed => Error::Closed,
            Failure::Protocol(reason) => Error::Protocol { op, path, reason },
            Failure::Timeout(after) => Error::Timeout { op, path, after },
        }
    }
}

/// A reply as read off the socket: the header's fields and the whole frame, so the caller
/// decodes the body on its own thread.
#[derive(Debug)]
pub(crate) struct RawReply {
    pub err: i32,
    pub frame: Vec<u8>,
    /// Where the body starts in `frame` (after the reply header).
    pub body_at: usize,
}

impl RawReply {
    pub fn body(&self) -> &[u8] {
        self.frame.get(self.body_at..).unwrap_or(&[])
    }
}

pub(crate) type ReplySender = OneShotSender<std::result::Result<RawReply, Failure>>;
pub(crate) type ReplyReceiver = OneShotReceiver<std::result::Result<RawReply, Failure>>;

/// The channel of one reply. The waiting caller parks on a condition variable at once: a
/// general channel's receive spins and calls `sched_yield` before it sleeps, which on a
/// machine with few cores takes CPU from the reader thread and the server it waits for.
pub(crate) fn reply_channel<T>() -> (OneShotSender<T>, OneShotReceiver<T>) {
    let slot = Arc::new(OneShot { value: Mutex::new(Slot::Empty), ready: Condvar::new() });
    (OneShotSender { slot: slot.clone() }, OneShotReceiver { slot })
}

enum Slot<T> {
    Empty,
    Full(T),
    /// The sender was dropped without sending.
    Dropped,
    Taken,
}

struct OneShot<T> {
    value: Mutex<Slot<T>>,
    ready: Condvar,
}

pub(crate) struct OneShotSender<T> {
    slot: Arc<OneShot<T>>,
}

pub(crate) struct OneShotReceiver<T> {
    slot: Arc<OneShot<T>>,
}

impl<T> OneShotSender<T> {
    fn put(&self, slot: Slot<T>) {
        let mut value = self.slot.value.lock().unwrap_or_else(|p| p.into_inner());
        if matches!(*value, Slot::Empty) {
            *value = slot;
            drop(value);
            self.slot.ready.notify_one();
        }
    }

    /// Delivers the value (at most once; later sends are ignored).
    pub fn send(self, v: T) -> std::result::Result<(), ()> {
        self.put(Slot::Full(v));
        Ok(())
    }
}

impl<T> Drop for OneShotSender<T> {
    fn drop(&mut self) {
        self.put(Slot::Dropped);
    }
}

impl<T> OneShotReceiver<T> {
    /// Waits for the value until `deadline`.
    pub fn recv_deadline(&self, deadline: Instant) -> std::result::Result<T, RecvTimeoutError> {
        let mut value = self.slot.value.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            match std::mem::replace(&mut *value, Slot::Taken) {
                Slot::Full(v) => return Ok(v),
                Slot::Dropped | Slot::Taken => return Err(RecvTimeoutError::Disconnected),
                Slot::Empty => *value = Slot::Empty,
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(RecvTimeoutError::Timeout);
            }
            value = self
                .slot
                .ready
                .wait_timeout(value, deadline - now)
                .map_or_else(|p| p.into_inner().0, |(g, _)| g);
        }
    }
}

/// A request the session has written and not yet seen answered.
pub(crate) struct InFlight {
    pub xid: i32,
    pub reply: ReplySender,
    /// The watch to register when the reply says the call succeeded.
    pub watch: Option<(WatchKind, String, super::watches::WatchSender)>,
}

/// The caller's end: the reply channel and the deadline.
pub(crate) struct ReplyWaiter {
    pub rx: ReplyReceiver,
    pub sent_at: Instant,
    pub deadline: Instant,
}

impl ReplyWaiter {
    /// Waits for the reply until the request's deadline (or `limit`, when sooner).
    pub fn wait(&self, op: &'static str, path: &str, limit: Option<Duration>) -> Result<RawReply> {
        let deadline = match limit.and_then(|l| Instant::now().checked_add(l)) {
            Some(at) if at < self.deadline => at,
            _ => self.deadline,
        };
        match self.rx.recv_deadline(deadline) {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(failure)) => Err(failure.into_error(op, path)),
            Err(RecvTimeoutError::Timeout) => {
                Err(Error::Timeout { op, path: path.to_string(), after: self.sent_at.elapsed() })
            }
            // The session dropped the request without answering: only at close.
            Err(RecvTimeoutError::Disconnected) => Err(Error::Closed),
        }
    }
}
