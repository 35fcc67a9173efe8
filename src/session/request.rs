//! A request on its way to the server and the reply its caller waits for.

use std::time::{Duration, Instant};

use std::sync::{Arc, Condvar, Mutex};

use crossbeam_channel::RecvTimeoutError;

use super::{WatchKind, WatchSender};
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
    /// The framed request is larger than the server accepts; nothing was sent.
    TooLarge { size: usize, limit: usize },
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
            Failure::TooLarge { size, limit } => Error::RequestTooLarge { op, path, size, limit },
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
    /// The connection it came on (so a reply that fails to decode resets that one only).
    pub conn: u64,
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
/// machine with few cores takes CPU from the thread reading the socket and from the server.
///
/// Besides the value, the slot carries the leader/follower hand-off (see `reader.rs`): whether
/// its receiver is inside `Shared::await_reply` (so it will read for itself when nudged), and a
/// sticky "nudge" telling it the reader token was released and it should try to take it.
pub(crate) fn reply_channel<T>() -> (OneShotSender<T>, OneShotReceiver<T>) {
    let slot = Arc::new(OneShot {
        state: Mutex::new(State {
            value: Slot::Empty,
            nudged: false,
            awaiting: false,
            parked: false,
            written_at: None,
        }),
        ready: Condvar::new(),
    });
    (OneShotSender { slot: slot.clone() }, OneShotReceiver { slot })
}

enum Slot<T> {
    Empty,
    Full(T),
    /// The sender was dropped without sending.
    Dropped,
    Taken,
}

struct State<T> {
    value: Slot<T>,
    /// Set by `nudge`, cleared when the receiver sees it.
    nudged: bool,
    /// The receiver is waiting for this value (inside `Shared::await_reply`).
    awaiting: bool,
    /// The receiver sleeps on `ready` (only then does a send need a wake-up call).
    parked: bool,
    /// When the request started going onto the wire (`None` while it is queued).
    written_at: Option<Instant>,
}

struct OneShot<T> {
    state: Mutex<State<T>>,
    ready: Condvar,
}

impl<T> OneShot<T> {
    fn lock(&self) -> std::sync::MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub(crate) struct OneShotSender<T> {
    slot: Arc<OneShot<T>>,
}

pub(crate) struct OneShotReceiver<T> {
    slot: Arc<OneShot<T>>,
}

impl<T> OneShotSender<T> {
    fn put(&self, value: Slot<T>) {
        let mut state = self.slot.lock();
        if matches!(state.value, Slot::Empty) {
            state.value = value;
            let parked = state.parked;
            drop(state);
            if parked {
                self.slot.ready.notify_one();
            }
        }
    }

    /// Delivers the value (at most once; later sends are ignored).
    pub fn send(self, v: T) -> std::result::Result<(), ()> {
        self.put(Slot::Full(v));
        Ok(())
    }

    /// Tells a receiver that is waiting for its value to try to become the reader. Returns
    /// whether one is waiting (and so will act on it); a receiver that is not waiting (dropped,
    /// timed out, or not yet waiting) is not counted on.
    pub fn nudge(&self) -> bool {
        let mut state = self.slot.lock();
        if !state.awaiting || !matches!(state.value, Slot::Empty) {
            return false;
        }
        state.nudged = true;
        let parked = state.parked;
        drop(state);
        if parked {
            self.slot.ready.notify_one();
        }
        true
    }
}

impl<T> OneShotSender<T> {
    /// Records that the request is being written now.
    pub fn mark_written(&self, at: Instant) {
        self.slot.lock().written_at = Some(at);
    }

    /// Whether nobody can receive the value any more (the caller gave up and dropped it).
    pub fn is_abandoned(&self) -> bool {
        Arc::strong_count(&self.slot) == 1
    }
}

impl<T> Drop for OneShotSender<T> {
    fn drop(&mut self) {
        self.put(Slot::Dropped);
    }
}

impl<T> OneShotReceiver<T> {
    /// Marks whether the receiver is waiting for the value (see [`OneShotSender::nudge`]).
    pub fn set_awaiting(&self, awaiting: bool) {
        let mut state = self.slot.lock();
        state.awaiting = awaiting;
        if !awaiting {
            state.nudged = false;
        }
    }

    /// Takes the value if it has arrived; `Err(Disconnected)` if the sender is gone without one.
    pub fn try_take(&self) -> Option<std::result::Result<T, RecvTimeoutError>> {
        let mut state = self.slot.lock();
        match std::mem::replace(&mut state.value, Slot::Taken) {
            Slot::Full(v) => Some(Ok(v)),
            Slot::Dropped | Slot::Taken => Some(Err(RecvTimeoutError::Disconnected)),
            Slot::Empty => {
                state.value = Slot::Empty;
                None
            }
        }
    }

    /// When the request started going onto the wire (`None` while it is queued).
    pub fn written_at(&self) -> Option<Instant> {
        self.slot.lock().written_at
    }

    /// Whether the value (or the sender's end) has arrived.
    pub fn is_ready(&self) -> bool {
        !matches!(self.slot.lock().value, Slot::Empty)
    }

    /// Sleeps until the value arrives, a nudge comes, or `until`; consumes the nudge.
    pub fn park(&self, until: Instant) {
        let mut state = self.slot.lock();
        loop {
            if !matches!(state.value, Slot::Empty) {
                return;
            }
            if state.nudged {
                state.nudged = false;
                return;
            }
            let now = Instant::now();
            if now >= until {
                return;
            }
            state.parked = true;
            state = self
                .slot
                .ready
                .wait_timeout(state, until - now)
                .map_or_else(|p| p.into_inner().0, |(g, _)| g);
            state.parked = false;
        }
    }
}

/// A request the session has written and not yet seen answered.
pub(crate) struct InFlight {
    pub xid: i32,
    pub reply: ReplySender,
    /// The watch to register when the reply says the call succeeded.
    pub watch: Option<(WatchKind, String, WatchSender)>,
    /// When it was written (see `liveness.rs`).
    pub written_at: Instant,
}

/// The least time a call waits for a reply that was written shortly before its deadline: a
/// reply that is already on its way is worth more than a few milliseconds. A request written
/// longer ago than this (to a frozen server, say) gets no extra time.
pub(crate) const ON_ITS_WAY: Duration = Duration::from_millis(200);

/// The caller's end: the reply channel and the deadline.
pub(crate) struct ReplyWaiter {
    pub shared: Arc<super::Shared>,
    pub rx: ReplyReceiver,
    /// Identifies the request in the outbox while it is still queued.
    pub id: u64,
    pub sent_at: Instant,
    pub deadline: Instant,
}

/// How a caller waits for its reply.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WaitMode {
    /// Stop at this instant (never later than the request's own deadline).
    pub until: Option<Instant>,
    /// Give a reply written shortly before `until` up to [`ON_ITS_WAY`] more.
    pub grace: bool,
    /// While the session is disconnected, fail at once with connection loss instead of
    /// waiting for the next connection (the request is withdrawn, nothing is sent).
    pub fail_fast: bool,
}

impl ReplyWaiter {
    /// Waits for the reply until the request's deadline.
    pub fn wait(&self, op: &'static str, path: &str) -> Result<RawReply> {
        self.wait_mode(op, path, WaitMode { until: None, grace: false, fail_fast: false })
    }

    /// Waits as `mode` says. A request still queued when the wait ends is withdrawn: it is
    /// never sent.
    pub fn wait_mode(&self, op: &'static str, path: &str, mode: WaitMode) -> Result<RawReply> {
        let mut deadline = match mode.until {
            Some(at) if at < self.deadline => at,
            _ => self.deadline,
        };
        let fail_fast = mode.fail_fast.then_some(self.id);
        let mut outcome = self.shared.await_reply(&self.rx, deadline, fail_fast);
        if mode.grace && matches!(outcome, Err(RecvTimeoutError::Timeout)) {
            if let Some(written) = self.rx.written_at() {
                let extended = (written + ON_ITS_WAY).min(self.deadline);
                if extended > deadline {
                    deadline = extended;
                    outcome = self.shared.await_reply(&self.rx, deadline, None);
                }
            }
        }
        match outcome {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(failure)) => Err(failure.into_error(op, path)),
            Err(RecvTimeoutError::Timeout) => {
                self.shared.withdraw(self.id);
                Err(Error::Timeout { op, path: path.to_string(), after: self.sent_at.elapsed() })
            }
            // The session dropped the request without answering: only at close.
            Err(RecvTimeoutError::Disconnected) => Err(Error::Closed),
        }
    }
}
