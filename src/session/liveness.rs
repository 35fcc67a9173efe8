//! What the client knows about how long the server keeps its session alive: the local send
//! time of the last request (or ping) whose reply arrived. The server restarts a session's
//! expiry clock whenever it receives a packet of that session, so it received this request no
//! earlier than it was sent, and cannot expire the session before that send time plus the
//! negotiated timeout. Guards turn this into a lease deadline (`Guard::valid_until`).
//!
//! Fed by the protocol core (`Core::receive`): a reply is matched to its request
//! (`InFlight::written_at`), a ping reply to the oldest ping of its connection still unanswered
//! (`Wire::take_ping`; the server answers pings in order, and the pings of a connection that
//! ended are forgotten with it).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub(crate) struct Liveness {
    epoch: Instant,
    /// Nanoseconds after `epoch` (plus one, so 0 means "never") of the latest send time whose
    /// reply arrived.
    answered: AtomicU64,
}

impl Liveness {
    pub fn new() -> Liveness {
        Liveness { epoch: Instant::now(), answered: AtomicU64::new(0) }
    }

    /// The reply to a request (or ping) written at `sent_at` arrived.
    pub fn answered(&self, sent_at: Instant) {
        let nanos = sent_at.saturating_duration_since(self.epoch).as_nanos();
        let stamp = u64::try_from(nanos).unwrap_or(u64::MAX - 1) + 1;
        self.answered.fetch_max(stamp, Ordering::SeqCst);
    }

    /// The send time of the last request whose reply arrived, if any has.
    pub fn last_answered_send(&self) -> Option<Instant> {
        match self.answered.load(Ordering::SeqCst) {
            0 => None,
            stamp => self.epoch.checked_add(Duration::from_nanos(stamp - 1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_latest_answered_send() {
        let l = Liveness::new();
        assert_eq!(l.last_answered_send(), None);
        let early = Instant::now();
        let late = early + Duration::from_millis(5);
        l.answered(late);
        l.answered(early); // a slower reply to an older request moves nothing back
        assert_eq!(l.last_answered_send(), Some(late));
    }
}
