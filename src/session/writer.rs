//! Moving the outbox onto the socket, with no lock held while a write blocks.
//!
//! The write token is `Wire::writing`, taken and released under `Shared::core`'s mutex; its
//! holder alone locks `Shared::writer` (the socket's write half and the frame it is part-way
//! through) and writes frames one by one, taking each from the outbox under the core's mutex
//! only for that moment. Whoever queues a request while the token is taken leaves it to the
//! holder, who takes frames until the outbox is empty and releases the token in the same step
//! as it sees that (so nothing queued is left behind).
//!
//! The socket's write timeout is one short slice. A caller holding the token that cannot write
//! for a whole slice (the server or the network stopped reading) marks the connection stalled,
//! releases the token and wakes the session thread, which writes the rest slice by slice
//! between its other duties; until a write makes progress again callers only queue. So no
//! call, reply, ping or hand-off waits behind a full socket, each call is still bounded by its
//! own deadline (its queued request is withdrawn then), and a connection whose writes make no
//! progress for as long as a silent one may stay silent is declared dead by the session thread.
//!
//! A recipe that sends several requests without waiting between them (a lock's create and
//! listing) sends them corked ([`Shared::corked`]): they are queued, and written when the last
//! is, and the token holder writes everything queued in one `write` (up to
//! [`BATCH_BYTES`]), so the requests cost one system call and reach the server in one segment,
//! as a hand-written pipeline's would.

use std::cell::Cell;
use std::time::{Duration, Instant};

use super::stream::WriteHalf;
use super::{lock, Shared};

/// The longest one write call blocks.
pub(crate) const WRITE_SLICE: Duration = Duration::from_millis(10);

/// The most bytes gathered from the outbox into one write: a few requests of the usual size,
/// while a large request still goes out on its own.
pub(crate) const BATCH_BYTES: usize = 64 * 1024;

thread_local! {
    /// The session this thread is sending corked requests on (its address; 0: none), and how
    /// deep in [`Shared::corked`] it is.
    static CORKED: Cell<(usize, u32)> = const { Cell::new((0, 0)) };
}

/// The write half of one connection.
pub(crate) struct WriteSide {
    generation: u64,
    stream: WriteHalf,
    /// Frames part-way written (their bytes and how many went out): a stalled write is
    /// continued from there by the next token holder.
    current: Option<(Vec<u8>, usize)>,
}

impl WriteSide {
    pub fn new(generation: u64, stream: WriteHalf) -> std::io::Result<WriteSide> {
        stream.set_write_timeout(Some(WRITE_SLICE))?;
        Ok(WriteSide { generation, stream, current: None })
    }
}

/// Who writes, which decides what a full socket means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Writer {
    /// A calling thread: gives up at the first stalled slice and leaves the rest to the
    /// session thread.
    Caller,
    /// The session thread: writes while the socket takes bytes, one slice of waiting at most.
    Session,
}

enum Step {
    /// Everything queued was written (the token is released).
    Drained,
    /// The socket took nothing for a whole slice.
    Stalled,
    /// The write failed: the connection is broken.
    Broken(String),
}

impl Shared {
    /// Runs `f`, which sends requests on this session without waiting for any of their replies,
    /// and writes what it queued when it returns, in one go (see the module docs). Waiting for
    /// a reply inside `f` would wait for another thread to write the request (or the session
    /// thread, within a ping interval), so `f` must not.
    pub(crate) fn corked<R>(&self, f: impl FnOnce() -> R) -> R {
        /// Ends the cork even if `f` panics, writing what is queued.
        struct Uncork<'a>(&'a Shared);
        impl Drop for Uncork<'_> {
            fn drop(&mut self) {
                let (at, depth) = CORKED.get();
                CORKED.set(if depth <= 1 { (0, 0) } else { (at, depth - 1) });
                if depth <= 1 {
                    self.0.pump(Writer::Caller);
                }
            }
        }
        let me = self as *const Shared as usize;
        match CORKED.get() {
            (0, _) => CORKED.set((me, 1)),
            (at, depth) if at == me => CORKED.set((at, depth + 1)),
            // Corked on another session already: this one writes as usual.
            _ => return f(),
        }
        let _uncork = Uncork(self);
        f()
    }

    /// A caller's write after queueing a request: none while this thread is corked on this
    /// session (the cork's end writes).
    pub(crate) fn pump_sent(&self) {
        if CORKED.get().0 != self as *const Shared as usize {
            self.pump(Writer::Caller);
        }
    }

    /// Writes what is queued if the write token can be taken now (see the module docs);
    /// returns at once when another thread holds it.
    pub(crate) fn pump(&self, who: Writer) {
        {
            let mut core = lock(&self.core);
            let wire = &mut core.wire;
            if !wire.can_write(who == Writer::Session) || wire.outbox.is_empty() && !wire.stalled {
                return;
            }
            wire.writing = true;
        }
        let mut slot = lock(&self.writer);
        let step = match slot.as_mut() {
            Some(side) => self.write_all_queued(side),
            None => Step::Broken("no write side".to_string()),
        };
        let generation = slot.as_ref().map(|side| side.generation);
        drop(slot);
        let mut core = lock(&self.core);
        let wire = &mut core.wire;
        match step {
            Step::Drained => {} // released by write_all_queued, under the same lock
            Step::Stalled => {
                wire.writing = false;
                wire.stalled = true;
                drop(core);
                if who == Writer::Caller {
                    self.wake_driver();
                }
            }
            Step::Broken(reason) => {
                wire.writing = false;
                drop(core);
                if let Some(generation) = generation {
                    self.shutdown_socket(Some(generation));
                }
                // The reader notices the shutdown; tell the session thread too, so the
                // in-flight requests fail now rather than at its next look.
                self.report_failure(generation, reason);
            }
        }
    }

    fn write_all_queued(&self, side: &mut WriteSide) -> Step {
        loop {
            if side.current.is_none() {
                let mut core = lock(&self.core);
                let wire = &mut core.wire;
                let now = Instant::now();
                match wire.next_frame(side.generation, now) {
                    Some(mut batch) => {
                        // Everything else queued goes in the same write, up to BATCH_BYTES.
                        while batch.len() < BATCH_BYTES {
                            match wire.next_frame(side.generation, now) {
                                Some(frame) => batch.extend_from_slice(&frame),
                                None => break,
                            }
                        }
                        side.current = Some((batch, 0));
                    }
                    None => {
                        wire.writing = false;
                        wire.stalled = false;
                        return Step::Drained;
                    }
                }
            }
            let Some((frame, done)) = side.current.as_mut() else { continue };
            match side.stream.write(&frame[*done..]) {
                Ok(0) => return Step::Broken("socket accepts no more bytes".to_string()),
                Ok(n) => {
                    *done += n;
                    let now = Instant::now();
                    self.activity.progressed(now);
                    if *done == frame.len() {
                        side.current = None;
                        self.activity.sent(now);
                    }
                }
                Err(e) if super::handshake::is_timeout(&e) => return Step::Stalled,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    log::warn!("write failed, resetting the connection: {e}");
                    return Step::Broken(format!("write failed: {e}"));
                }
            }
        }
    }

    /// Installs the write half of a new connection (waits for a writer of the old one, whose
    /// socket is shut down, to let go).
    pub(crate) fn install_writer(&self, side: WriteSide) {
        *lock(&self.writer) = Some(side);
    }
}
