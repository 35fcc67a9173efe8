//! The read side of the current connection and who reads it (leader/follower).
//!
//! The reading socket and its [`FrameBuffer`] (with any partial frame) live in
//! `Shared::reader`, a mutex used as a token: whoever holds it reads and dispatches every frame
//! (replies for anyone, watch events, ping and auth replies) through `Core::receive`, one
//! frame at a time, so the order of frames (and the watch registered by a reply before the
//! next frame is looked at) is the same whichever thread reads.
//!
//! A caller waiting for its reply (`Shared::await_reply`):
//! - returns when its slot is filled;
//! - else takes the token if it is free and becomes the leader: it reads (with a socket timeout
//!   no longer than what is left of its deadline) and dispatches until its own slot is filled
//!   or its deadline passes, then releases the token and hands it off: the first request in
//!   flight whose caller is waiting gets a nudge (its reply comes next, so it reads next);
//! - else parks on its slot until the reply, a nudge, or its deadline (with a short poll as a
//!   safety net, so no lost hand-off can leave it waiting for its whole deadline).
//!
//! So a caller making one call at a time reads its own reply on its own thread, without a
//! thread hop. The session thread reads only when no caller waits (see `driver::serve`).
//!
//! A recipe waiting for a watch (a lock waiter watching its predecessor, `Shared::await_watch`)
//! reads too, while no caller waits for a reply: it takes the token and reads in slices of at
//! most [`WATCH_SLICE`] (so its other signals, such as a cancellation, are seen promptly) until
//! its watch fires or a signal is ready, so the notification wakes the waiter itself, with no
//! thread between the socket and it. It lets the token go as soon as a caller waits for a
//! reply (callers read their own replies), and parks on its channels until the token is free
//! again (`Shared::reader_free`). The session thread does not read while watch waiters do.
//!
//! A reader that meets the end of the stream, a read error or a frame it cannot trust shuts
//! the socket down, removes the read side (nobody reads the old stream again) and reports the
//! reason in `Shared::read_failure`; the session thread then fails what is in flight and
//! reconnects.

use std::sync::atomic::Ordering;
use std::sync::{MutexGuard, TryLockError};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvError, RecvTimeoutError, Select, TryRecvError};

use super::core::watches::WatchedEvent;
use super::request::{Failure, RawReply, ReplyReceiver};
use super::stream::ReadHalf;
use super::{handshake, lock, Shared};
use crate::proto::{FrameBuffer, MAX_FRAME};

/// How long a waiter that could not take the token sleeps before trying again even without a
/// nudge: a safety net only; hand-offs normally wake it at once.
const PARK_POLL: Duration = Duration::from_millis(20);

/// The longest a watch waiter blocks in one read: its signals (cancellation above all) are
/// checked between reads, so this bounds how late it sees one.
pub(crate) const WATCH_SLICE: Duration = Duration::from_millis(10);

/// What ended a [`Shared::await_watch`].
#[derive(Debug)]
pub(crate) enum WatchWake {
    /// The watch fired (`Err`: its channel ended without an event).
    Fired(Result<WatchedEvent, RecvError>),
    /// The signal at this index of `signals` is ready (a message, or its sender dropped).
    Signal(usize),
    /// The deadline passed.
    Deadline,
}

/// How a watch waiter's turn at reading ended.
enum WatchLead {
    Woke(WatchWake),
    /// Someone else reads (or a caller waits for a reply): wait for the token to be free.
    Busy,
    /// No connection to read.
    Offline,
}

/// The reading half of one connection.
pub(crate) struct ReadSide {
    stream: ReadHalf,
    frames: FrameBuffer,
    /// The read timeout currently set on the socket (set again only when it must change).
    timeout: Option<Duration>,
    /// The longest a caller blocks in one read.
    slice: Duration,
    /// Which connection this is (see `wire::Conn::generation`).
    generation: u64,
}

impl ReadSide {
    pub fn new(stream: ReadHalf, slice: Duration, generation: u64) -> ReadSide {
        ReadSide { stream, frames: FrameBuffer::new(MAX_FRAME), timeout: None, slice, generation }
    }

    pub fn shutdown(&self) {
        self.stream.shutdown();
    }
}

pub(crate) type Token<'a> = MutexGuard<'a, Option<ReadSide>>;

impl Shared {
    /// The reader token, if nobody holds it.
    pub(super) fn try_token(&self) -> Option<Token<'_>> {
        match self.reader.try_lock() {
            Ok(token) => Some(token),
            Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }

    /// Waits for the reply in `rx` until `deadline`, reading the socket itself when nobody
    /// else does (see the module docs). With `fail_fast` (the request's outbox id), a request
    /// still queued while the session is disconnected is withdrawn and fails at once with
    /// connection loss.
    pub(super) fn await_reply(
        &self,
        rx: &ReplyReceiver,
        deadline: Instant,
        fail_fast: Option<u64>,
    ) -> Result<Result<RawReply, Failure>, RecvTimeoutError> {
        self.waiters.fetch_add(1, Ordering::SeqCst);
        rx.set_awaiting(true);
        let out = loop {
            if let Some(value) = rx.try_take() {
                break value;
            }
            let now = Instant::now();
            if now >= deadline {
                break Err(RecvTimeoutError::Timeout);
            }
            if let Some(token) = self.try_token() {
                if token.is_some() {
                    self.lead(token, rx, deadline);
                    continue;
                }
            }
            if let Some(id) = fail_fast {
                if !self.state().is_connected() && self.withdraw(id) {
                    break Ok(Err(Failure::ConnectionLoss));
                }
            }
            // Someone else reads (or the connection is down and the session thread will fail
            // the request): wait for the reply or for a nudge to read.
            rx.park(deadline.min(now + PARK_POLL));
        };
        rx.set_awaiting(false);
        self.activity.active(Instant::now());
        if self.waiters.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.callers_gone_idle();
        }
        if matches!(out, Err(RecvTimeoutError::Timeout)) {
            // We may have been nudged to read next: pass that on.
            self.hand_off();
        }
        out
    }

    /// Waits until `watch` fires, one of `signals` is ready or `deadline` passes, reading the
    /// socket itself while no caller waits for a reply (see the module docs), so the
    /// notification wakes this thread directly rather than through the session thread.
    pub(crate) fn await_watch(
        &self,
        watch: &Receiver<WatchedEvent>,
        signals: &[&Receiver<()>],
        deadline: Option<Instant>,
    ) -> WatchWake {
        let poll = || {
            match watch.try_recv() {
                Ok(event) => return Some(WatchWake::Fired(Ok(event))),
                Err(TryRecvError::Disconnected) => return Some(WatchWake::Fired(Err(RecvError))),
                Err(TryRecvError::Empty) => {}
            }
            if let Some(i) =
                signals.iter().position(|s| !matches!(s.try_recv(), Err(TryRecvError::Empty)))
            {
                return Some(WatchWake::Signal(i));
            }
            deadline.filter(|d| Instant::now() >= *d).map(|_| WatchWake::Deadline)
        };
        self.watch_readers.fetch_add(1, Ordering::SeqCst);
        let wake = loop {
            if let Some(wake) = poll() {
                break wake;
            }
            // Taken before trying, so a release between the try and the park is not missed.
            let free = self.reader_free();
            let lead = self.lead_for_watch(&poll, deadline);
            let poll_for = match lead {
                WatchLead::Woke(wake) => break wake,
                WatchLead::Busy => Some(PARK_POLL),
                WatchLead::Offline => None,
            };
            let mut select = Select::new();
            select.recv(watch);
            for signal in signals {
                select.recv(signal);
            }
            select.recv(&free);
            let until = match (poll_for, deadline) {
                (Some(d), Some(at)) => Some(at.min(Instant::now() + d)),
                (Some(d), None) => Some(Instant::now() + d),
                (None, at) => at,
            };
            match until {
                Some(at) => drop(select.ready_deadline(at)),
                None => drop(select.ready()),
            }
        };
        if self.watch_readers.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.callers_gone_idle();
        }
        wake
    }

    /// One turn of a watch waiter at the reader token: reads until `poll` says something is
    /// ready, a caller waits for a reply, or the connection fails.
    fn lead_for_watch(
        &self,
        poll: &dyn Fn() -> Option<WatchWake>,
        deadline: Option<Instant>,
    ) -> WatchLead {
        if self.waiters.load(Ordering::SeqCst) > 0 {
            return WatchLead::Busy;
        }
        let Some(mut token) = self.try_token() else { return WatchLead::Busy };
        let Some(side) = token.as_mut() else { return WatchLead::Offline };
        let outcome = loop {
            if let Err(reason) = self.dispatch_buffered(side) {
                break Err(reason);
            }
            if let Some(wake) = poll() {
                break Ok(Some(wake));
            }
            if self.waiters.load(Ordering::SeqCst) > 0 {
                break Ok(None);
            }
            let left =
                deadline.map_or(WATCH_SLICE, |d| d.saturating_duration_since(Instant::now()));
            if let Err(reason) = self.read_once(side, left.min(WATCH_SLICE).min(side.slice)) {
                break Err(reason);
            }
        };
        let lead = match outcome {
            Ok(Some(wake)) => WatchLead::Woke(wake),
            Ok(None) => WatchLead::Busy,
            Err(reason) => {
                self.read_failed(&mut token, reason);
                WatchLead::Offline
            }
        };
        drop(token);
        self.hand_off();
        if self.watch_readers.load(Ordering::SeqCst) > 1 {
            self.reader_freed();
        }
        lead
    }

    /// A receiver that becomes ready when the reader token is next let go with watch waiters
    /// about (see [`reader_freed`](Self::reader_freed)).
    fn reader_free(&self) -> Receiver<()> {
        lock(&self.reader_free).1.clone()
    }

    /// Wakes every watch waiter parked until the reader token is free (a new connection, the
    /// last caller stopped waiting, another watch waiter let it go).
    pub(super) fn reader_freed(&self) {
        *lock(&self.reader_free) = crossbeam_channel::bounded(0);
    }

    /// Reads and dispatches frames until `rx` is filled or `deadline` passes, then releases the
    /// token and hands it on.
    fn lead(&self, mut token: Token<'_>, rx: &ReplyReceiver, deadline: Instant) {
        let outcome = match token.as_mut() {
            None => Ok(()),
            Some(side) => loop {
                if let Err(reason) = self.dispatch_buffered(side) {
                    break Err(reason);
                }
                if rx.is_ready() {
                    break Ok(());
                }
                let now = Instant::now();
                if now >= deadline {
                    break Ok(());
                }
                let wait = (deadline - now).min(side.slice);
                if let Err(reason) = self.read_once(side, wait) {
                    break Err(reason);
                }
            },
        };
        if let Err(reason) = outcome {
            self.read_failed(&mut token, reason);
        }
        drop(token);
        self.hand_off();
    }

    /// Hands every complete frame already buffered to the core, in stream order, and does
    /// what it asks (write what it queued, announce a refused auth).
    pub(super) fn dispatch_buffered(&self, side: &mut ReadSide) -> Result<(), String> {
        loop {
            let frame = match side.frames.next_frame() {
                Ok(Some(frame)) => frame,
                Ok(None) => return Ok(()),
                Err(e) => return Err(lock(&self.core).fail_front(format!("malformed frame: {e}"))),
            };
            let received = lock(&self.core).receive(frame, side.generation, Instant::now())?;
            if received.queued {
                // Written by the session thread, not here: this runs while frames are read.
                self.wake_driver();
            }
            if received.auth_failed {
                // The server closes the session after a failed auth; nothing can be resumed.
                self.transition(|core| ((), Some(core.auth_failed())));
                return Err("authentication failed".to_string());
            }
        }
    }

    /// One read from the socket, waiting at most `wait` (a timeout is not an error).
    pub(super) fn read_once(&self, side: &mut ReadSide, wait: Duration) -> Result<(), String> {
        let wait = wait.max(Duration::from_millis(1));
        if side.timeout != Some(wait) {
            side.stream
                .set_read_timeout(Some(wait))
                .map_err(|e| format!("cannot set read timeout: {e}"))?;
            side.timeout = Some(wait);
        }
        match side.stream.read(side.frames.spare()) {
            Ok(0) => Err("server closed the connection".to_string()),
            Ok(n) => {
                side.frames.filled(n);
                self.activity.received(Instant::now());
                Ok(())
            }
            Err(e) if handshake::is_timeout(&e) || e.kind() == std::io::ErrorKind::Interrupted => {
                Ok(())
            }
            Err(e) => Err(format!("read failed: {e}")),
        }
    }

    /// The connection cannot be read any more: shut it down, make sure nobody reads it again,
    /// and tell the session thread (only for the connection still installed, so a late report
    /// about an old connection cannot end the next one).
    pub(super) fn read_failed(&self, token: &mut Token<'_>, reason: String) {
        if let Some(side) = token.take() {
            side.shutdown();
            self.report_failure(Some(side.generation), reason);
        }
    }

    /// After releasing the token: nudge the first request in flight whose caller is waiting,
    /// so it reads next; if none waits, wake the session thread to read.
    pub(super) fn hand_off(&self) {
        let core = lock(&self.core);
        if core.wire.in_flight.is_empty() || core.wire.in_flight.iter().any(|r| r.reply.nudge()) {
            return;
        }
        drop(core);
        self.driver_wake.notify_all();
    }

    /// The last waiting caller left. If watches are registered, a notification may come any
    /// moment and nobody reads: wake the session thread if it sleeps until callers are idle.
    /// Without watches nothing unasked is urgent, so the common serial case makes no wake-up
    /// call here (the session thread notices by its own poll).
    fn callers_gone_idle(&self) {
        if self.watch_readers.load(Ordering::SeqCst) > 0 {
            // A watch waiter reads next (the session thread leaves it to them).
            self.reader_freed();
        } else if self.driver_parked.load(Ordering::SeqCst) && lock(&self.core).watches.len() > 0 {
            self.wake_driver();
        }
    }
}
