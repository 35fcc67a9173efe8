//! Retrying what is safe to retry: [`RetryPolicy`] and [`Client::retry`], like Kazoo's
//! `KazooRetry` and Curator's `RetryPolicy`.

use std::time::{Duration, Instant};

use super::Client;
use crate::{Error, Result};

/// How [`Client::retry`] retries: how many tries, the pause between them (exponential back-off
/// with jitter, capped), and one deadline for the whole loop.
///
/// Only errors for which [`Error::is_retryable`] is true are retried (timeouts and connection
/// losses), plus session expiry when [`retry_session_expired`](Self::retry_session_expired)
/// says so. Default: 5 tries, 50 ms doubling to 2 s, each pause shortened by a random part of
/// up to half, no overall deadline, session expiry not retried.
///
/// ```
/// use std::time::Duration;
/// let policy = zkcluster::RetryPolicy::new()
///     .max_tries(10)
///     .backoff(Duration::from_millis(20), Duration::from_secs(1))
///     .deadline(Duration::from_secs(30));
/// assert_eq!(policy.tries(), 10);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    max_tries: u32,
    first_delay: Duration,
    max_delay: Duration,
    jitter: f64,
    deadline: Option<Duration>,
    retry_expired: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_tries: 5,
            first_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(2),
            jitter: 0.5,
            deadline: None,
            retry_expired: false,
        }
    }
}

impl RetryPolicy {
    /// The default policy (see the type's docs).
    ///
    /// ```
    /// assert_eq!(zkcluster::RetryPolicy::new(), zkcluster::RetryPolicy::default());
    /// ```
    pub fn new() -> RetryPolicy {
        RetryPolicy::default()
    }

    /// How many times the call is made at most (the first try included; at least 1).
    ///
    /// ```
    /// assert_eq!(zkcluster::RetryPolicy::new().max_tries(0).tries(), 1);
    /// ```
    pub fn max_tries(mut self, tries: u32) -> RetryPolicy {
        self.max_tries = tries.max(1);
        self
    }

    /// The pause after the first failure, doubling after each further one up to `max`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let p = zkcluster::RetryPolicy::new().backoff(Duration::from_millis(10), Duration::from_millis(40)).jitter(0.0);
    /// assert_eq!(p.delay(3), Duration::from_millis(40));
    /// ```
    pub fn backoff(mut self, first: Duration, max: Duration) -> RetryPolicy {
        self.first_delay = first;
        self.max_delay = max.max(first);
        self
    }

    /// The largest part of each pause taken off at random (0 none, 1 up to all of it; default
    /// 0.5), so clients failing together do not retry in lockstep.
    ///
    /// ```
    /// let p = zkcluster::RetryPolicy::new().jitter(2.0);
    /// assert!(p.delay(1) <= std::time::Duration::from_millis(50));
    /// ```
    pub fn jitter(mut self, fraction: f64) -> RetryPolicy {
        self.jitter = if fraction.is_nan() { 0.0 } else { fraction.clamp(0.0, 1.0) };
        self
    }

    /// One deadline for the whole loop, counted from the call of [`Client::retry`]: no try
    /// starts after it, and no pause runs past it.
    ///
    /// ```
    /// let p = zkcluster::RetryPolicy::new().deadline(std::time::Duration::from_secs(5));
    /// ```
    pub fn deadline(mut self, total: Duration) -> RetryPolicy {
        self.deadline = Some(total);
        self
    }

    /// Whether a call that failed because the session expired is retried (in the new session,
    /// when the client renews sessions; default false: its ephemeral nodes are gone, which the
    /// caller usually has to know).
    ///
    /// ```
    /// let p = zkcluster::RetryPolicy::new().retry_session_expired(true);
    /// ```
    pub fn retry_session_expired(mut self, retry: bool) -> RetryPolicy {
        self.retry_expired = retry;
        self
    }

    /// The maximum number of tries.
    ///
    /// ```
    /// assert_eq!(zkcluster::RetryPolicy::new().tries(), 5);
    /// ```
    pub fn tries(&self) -> u32 {
        self.max_tries
    }

    /// The pause after failure number `failures` (1 for the first), before jitter is taken off
    /// at random: the first delay doubled `failures - 1` times, at most the max delay. With
    /// jitter, a random part of up to `jitter` of it is taken off.
    ///
    /// ```
    /// use std::time::Duration;
    /// let p = zkcluster::RetryPolicy::new().jitter(0.0);
    /// assert_eq!(p.delay(1), Duration::from_millis(50));
    /// assert_eq!(p.delay(2), Duration::from_millis(100));
    /// assert_eq!(p.delay(100), Duration::from_secs(2));
    /// ```
    pub fn delay(&self, failures: u32) -> Duration {
        let doubling = failures.saturating_sub(1).min(30);
        let pause = self.first_delay.saturating_mul(1u32 << doubling).min(self.max_delay);
        pause.saturating_sub(pause.mul_f64(self.jitter * random_unit()))
    }

    /// Whether `error` is worth another try under this policy.
    ///
    /// ```
    /// let p = zkcluster::RetryPolicy::new();
    /// assert!(!p.retries(&zkcluster::Error::Closed));
    /// ```
    pub fn retries(&self, error: &Error) -> bool {
        error.is_retryable() || (self.retry_expired && error.is_session_expired())
    }
}

/// A number in 0..1 from the standard library's randomly keyed hasher (no `rand` needed).
fn random_unit() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0);
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

impl Client {
    /// Calls `f` until it succeeds, fails with an error `policy` does not retry, or the policy's
    /// tries or deadline run out; returns the last outcome. Pauses between tries as the policy
    /// says (never past its deadline). Retry only what is safe to repeat: reads, and writes
    /// that are idempotent or whose effect `f` checks first (a timed-out or interrupted write
    /// may have been applied).
    ///
    /// ```no_run
    /// use zkcluster::{Client, RetryPolicy};
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = Client::connect("127.0.0.1:2181")?;
    /// let policy = RetryPolicy::new().deadline(std::time::Duration::from_secs(20));
    /// let node = client.retry(&policy, |c| c.get_node("/config"))?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// The last error of `f`: one the policy does not retry, or the last retryable one when
    /// the tries or the deadline ran out.
    pub fn retry<T>(
        &self,
        policy: &RetryPolicy,
        mut f: impl FnMut(&Client) -> Result<T>,
    ) -> Result<T> {
        let deadline = policy.deadline.and_then(|d| Instant::now().checked_add(d));
        let mut failures = 0;
        loop {
            let error = match f(self) {
                Ok(value) => return Ok(value),
                Err(e) => e,
            };
            failures += 1;
            if failures >= policy.max_tries || !policy.retries(&error) || self.state().is_terminal()
            {
                return Err(error);
            }
            let pause = policy.delay(failures);
            let resume = Instant::now() + pause;
            if deadline.is_some_and(|d| resume >= d) {
                return Err(error);
            }
            std::thread::sleep(pause);
        }
    }
}
