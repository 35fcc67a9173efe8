//! The session's timers, deciding from the time they are given (they never read a clock):
//! when to ping, when a connection is dead (nothing heard, or writes made no progress, for two
//! thirds of the session timeout), when a disconnected session must have expired on the
//! server, and how long to back off after every host failed in turn.
//!
//! [`Activity`] records when bytes last moved (atomics, so the session thread can look every
//! tick while callers read and write); [`Timers::due`] turns that and the time into what the
//! connection needs now.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// When the connection last sent and last received anything, readable without a lock (the
/// session thread checks them every tick while callers read and write).
pub(crate) struct Activity {
    epoch: Instant,
    last_sent: AtomicU64,
    last_recv: AtomicU64,
    /// The last request written or reply awaited by a caller.
    last_active: AtomicU64,
    /// The last write that made progress (a stalled socket stops advancing it).
    last_progress: AtomicU64,
}

impl Activity {
    pub fn new(epoch: Instant) -> Activity {
        Activity {
            epoch,
            last_sent: AtomicU64::new(0),
            last_recv: AtomicU64::new(0),
            last_active: AtomicU64::new(0),
            last_progress: AtomicU64::new(0),
        }
    }

    fn at(&self, t: Instant) -> u64 {
        t.saturating_duration_since(self.epoch).as_nanos().min(u64::MAX as u128) as u64
    }

    fn since(&self, stamp: &AtomicU64, now: Instant) -> Duration {
        Duration::from_nanos(self.at(now).saturating_sub(stamp.load(Ordering::Relaxed)))
    }

    pub fn sent(&self, at: Instant) {
        let at = self.at(at);
        self.last_sent.store(at, Ordering::Relaxed);
        self.last_active.store(at, Ordering::Relaxed);
    }

    /// A write made progress.
    pub fn progressed(&self, at: Instant) {
        self.last_progress.store(self.at(at), Ordering::Relaxed);
    }

    pub fn since_progress(&self, now: Instant) -> Duration {
        self.since(&self.last_progress, now)
    }

    /// A caller finished waiting for a reply.
    pub fn active(&self, at: Instant) {
        self.last_active.store(self.at(at), Ordering::Relaxed);
    }

    pub fn since_active(&self, now: Instant) -> Duration {
        self.since(&self.last_active, now)
    }

    pub fn received(&self, at: Instant) {
        self.last_recv.store(self.at(at), Ordering::Relaxed);
    }

    pub fn since_sent(&self, now: Instant) -> Duration {
        self.since(&self.last_sent, now)
    }

    pub fn since_received(&self, now: Instant) -> Duration {
        self.since(&self.last_recv, now)
    }
}

/// The timing of one connection, from the negotiated session timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timers {
    /// Ping when nothing was sent for this long.
    pub ping_every: Duration,
    /// Give a connection up when nothing was heard (or no write progressed) for this long.
    pub dead_after: Duration,
    /// The longest one read blocks (and the session thread's period when idle).
    pub tick: Duration,
}

/// What a connection needs at a given time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Due {
    /// Give it up, for this reason.
    Dead(String),
    /// Queue a ping.
    Ping,
    /// Nothing.
    Nothing,
}

impl Timers {
    pub fn new(negotiated: Duration) -> Timers {
        let ping_every = negotiated / 3;
        let dead_after = negotiated * 2 / 3;
        let tick = (ping_every / 4).clamp(Duration::from_millis(5), Duration::from_millis(500));
        Timers { ping_every, dead_after, tick }
    }

    /// What the connection needs at `now`, given its activity, whether frames wait to be
    /// written (`backlog`: no ping is queued behind them) and whether its writes stalled.
    pub fn due(&self, activity: &Activity, now: Instant, backlog: bool, stalled: bool) -> Due {
        let silent = activity.since_received(now);
        if silent >= self.dead_after {
            return Due::Dead(format!("nothing heard from the server for {silent:?}"));
        }
        let stuck = activity.since_progress(now);
        if stalled && stuck >= self.dead_after {
            return Due::Dead(format!("writes made no progress for {stuck:?}"));
        }
        if !backlog && activity.since_sent(now) >= self.ping_every {
            return Due::Ping;
        }
        Due::Nothing
    }
}

/// Whether a session disconnected since `since` must have expired on the server by `now`
/// (nobody could be reached for longer than its timeout), so it is not worth resuming.
pub(crate) fn session_gone(since: Option<Instant>, negotiated: Duration, now: Instant) -> bool {
    since.is_some_and(|t| now.saturating_duration_since(t) >= negotiated)
}

/// The pause after `rounds` failed rounds: `first` doubling up to `max`, then a random part of
/// it taken off (`jitter` in 0..1, up to half the pause), so a fleet of clients cut off at once
/// does not come back in lockstep.
pub(crate) fn backoff((first, max): (Duration, Duration), rounds: usize, jitter: f64) -> Duration {
    let doubled = first.saturating_mul(1u32 << rounds.saturating_sub(1).min(20));
    let pause = doubled.min(max);
    pause.saturating_sub(pause.mul_f64(jitter.clamp(0.0, 1.0) / 2.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn pings_when_quiet_and_gives_up_when_silent_or_stuck() {
        let t0 = Instant::now();
        let activity = Activity::new(t0);
        let timers = Timers::new(3000 * MS);
        assert_eq!(
            (timers.ping_every, timers.dead_after, timers.tick),
            (1000 * MS, 2000 * MS, 250 * MS)
        );
        activity.received(t0);
        activity.sent(t0);
        activity.progressed(t0);
        assert_eq!(timers.due(&activity, t0 + 999 * MS, false, false), Due::Nothing);
        assert_eq!(timers.due(&activity, t0 + 1000 * MS, false, false), Due::Ping);
        // Frames waiting to be written go first; a ping is not queued behind them.
        assert_eq!(timers.due(&activity, t0 + 1000 * MS, true, false), Due::Nothing);
        activity.received(t0 + 1500 * MS);
        // Writes stuck for as long as a silent connection may stay silent: dead.
        assert!(
            matches!(timers.due(&activity, t0 + 2000 * MS, true, true), Due::Dead(r) if r.contains("writes"))
        );
        assert_eq!(timers.due(&activity, t0 + 2000 * MS, true, false), Due::Nothing);
        assert!(
            matches!(timers.due(&activity, t0 + 3500 * MS, false, false), Due::Dead(r) if r.contains("nothing heard"))
        );
    }

    #[test]
    fn a_session_unreachable_for_its_timeout_is_gone() {
        let t0 = Instant::now();
        assert!(
            !session_gone(None, 1000 * MS, t0 + 5000 * MS),
            "connected sessions never expire here"
        );
        assert!(!session_gone(Some(t0), 1000 * MS, t0 + 999 * MS));
        assert!(session_gone(Some(t0), 1000 * MS, t0 + 1000 * MS));
    }

    #[test]
    fn backoff_doubles_up_to_its_cap_and_jitter_only_shortens_it() {
        let config = (20 * MS, Duration::from_secs(1));
        assert_eq!(backoff(config, 1, 0.0), 20 * MS);
        assert_eq!(backoff(config, 2, 0.0), 40 * MS);
        assert_eq!(backoff(config, 30, 0.0), Duration::from_secs(1));
        assert_eq!(backoff(config, 30, 1.0), 500 * MS);
    }
}
