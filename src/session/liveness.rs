//! What the client knows about how long the server keeps its session alive: the local send
//! time of the last request (or ping) whose reply arrived. The server restarts a session's
//! expiry clock whenever it receives a packet of that session, so it received this request no
//! earlier than it was sent, and cannot expire the session before that send time plus the
//! negotiated timeout. Guards turn this into a lease deadline (`Guard::valid_until`).
//!
//! Fed by three hooks: `InFlight::sent_at` for requests (matched to replies in
//! `driver::handle_frame`), [`Liveness::ping_sent`]/[`Liveness::ping_answered`] for pings (which
//! the server answers in order), and [`Liveness::new_connection`] when a connection starts.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// At most this many unanswered pings are remembered; more means the connection is dead.
const MAX_PINGS: usize = 16;

pub(crate) struct Liveness {
    epoch: Instant,
    /// Nanoseconds after `epoch` (plus one, so 0 means "never") of the latest send time whose
    /// reply arrived.
    answered: AtomicU64,
    /// Send times of the pings on the current connection still unanswered, oldest first;
    /// `None` after more than [`MAX_PINGS`] (then ping replies count for nothing until the next
    /// connection, which is only ever less optimistic).
    pings: Mutex<Option<VecDeque<Instant>>>,
}

impl Liveness {
    pub fn new() -> Liveness {
        Liveness {
            epoch: Instant::now(),
            answered: AtomicU64::new(0),
            pings: Mutex::new(Some(VecDeque::new())),
        }
    }

    /// The reply to a request sent at `sent_at` arrived.
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

    fn with_pings(&self, f: impl FnOnce(&mut Option<VecDeque<Instant>>)) {
        let mut pings = self.pings.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut pings);
    }

    /// A ping is about to be written.
    pub fn ping_sent(&self) {
        let now = Instant::now();
        self.with_pings(|pings| {
            if let Some(queue) = pings {
                if queue.len() >= MAX_PINGS {
                    *pings = None;
                } else {
                    queue.push_back(now);
                }
            }
        });
    }

    /// A ping reply arrived: it answers the oldest unanswered ping.
    pub fn ping_answered(&self) {
        let mut sent = None;
        self.with_pings(|pings| sent = pings.as_mut().and_then(VecDeque::pop_front));
        if let Some(sent) = sent {
            self.answered(sent);
        }
    }

    /// A new connection starts: pings of the old one will never be answered.
    pub fn new_connection(&self) {
        self.with_pings(|pings| *pings = Some(VecDeque::new()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_latest_answered_send_and_matches_pings_in_order() {
        let l = Liveness::new();
        assert_eq!(l.last_answered_send(), None);
        let early = Instant::now();
        let late = early + Duration::from_millis(5);
        l.answered(late);
        l.answered(early); // a slower reply to an older request moves nothing back
        assert_eq!(l.last_answered_send(), Some(late));
        l.ping_sent();
        std::thread::sleep(Duration::from_millis(20));
        l.ping_sent();
        l.ping_answered();
        let first_ping = l.last_answered_send().unwrap();
        assert!(first_ping < Instant::now() - Duration::from_millis(15), "the older ping");
        l.new_connection();
        l.ping_answered(); // the second ping's connection is gone: nothing to match
        assert_eq!(l.last_answered_send(), Some(first_ping));
    }
}
