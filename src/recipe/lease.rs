//! [`NonBlockingLease`] and [`MultiNonBlockingLease`]: a task reserved for one holder (or one of
//! `count` holders) for a span of wall-clock time, as Kazoo's leases.
//!
//! # Guarantee
//!
//! Among members that agree on the time, at most one identifier holds a lease path at any
//! moment: a lease is granted when nobody holds it, when its last grant has ended, or when it is
//! held by the same identifier (a renewal, which moves the end). It does not end with the
//! session: a holder that dies keeps the lease until its end, which is the point (a daily job
//! stays on one machine, with failover once a run is missed).
//!
//! **Clocks.** The end is a time stamp written by the holder's clock and compared with the
//! next contender's clock: the recipe is only as good as the members' clocks agree (NTP). Like
//! Kazoo it uses UTC, so time zones and daylight saving do not matter; the end is stored to
//! the second (it is truncated), so a lease lasts up to one second less than asked.
//!
//! # Node layout and data format
//!
//! Under the lease path `P` (persistent, created with missing parents):
//! - `P/lease_holder`: persistent; Kazoo's JSON record
//!   `{"version": 1, "holder": "<identifier>", "end": "2026-12-01T14:30:00"}` (end in UTC,
//!   `%Y-%m-%dT%H:%M:%S`);
//! - `P/<uuid>__lock__<sequence>`: the nodes of a [`WriteLock`] at `P` (Kazoo's `Lock`), which
//!   every contender holds while it reads and replaces the record.
//!
//! A multi-lease of `count` at `P` is `count` leases at `P/0` .. `P/<count-1>`, tried in order.
//!
//! # Failure modes
//!
//! - A record with another `version` is never replaced (Kazoo's rule: a newer format is left to
//!   the members that understand it); the lease is not granted.
//! - A record that is not Kazoo's JSON fails with [`Error::InvalidData`]; nothing is written.
//! - The inner lock is released on every path out (its node deleted, in the background when
//!   the server is unreachable); the record is replaced in one transaction (delete the old
//!   version, create the new), so it is never missing or doubled.
//! - [`obtain`](NonBlockingLease::obtain) waits for the inner lock (Kazoo waits forever) at most
//!   until its deadline ([`NonBlockingLease::timeout`]), then fails with [`Error::Timeout`]; it
//!   can be cancelled from another thread ([`NonBlockingLease::cancel_handle`]).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::barrier::recipe_path;
use super::lock::reply;
use super::{NewRestriction, Restriction, Wait, WriteLock};
use crate::{Client, CreateOptions, Error, Result};

/// The name of the record node under the lease path.
const HOLDER: &str = "lease_holder";
/// The record format this code writes and understands (Kazoo's `_version`).
const FORMAT_VERSION: i64 = 1;

/// Who holds a lease, as its record says.
///
/// ```no_run
/// # use std::time::Duration;
/// # fn main() -> zkcluster::Result<()> {
/// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
/// let lease = zkcluster::NonBlockingLease::new(&client, "/jobs/daily", Duration::from_secs(3600), "host-a")?;
/// if let Some(record) = lease.record()? {
///     println!("{} until {:?}", record.holder, record.end);
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRecord {
    /// The holder's identifier.
    pub holder: String,
    /// When the lease ends (whole seconds, UTC).
    pub end: SystemTime,
    /// The record's format version (1 for Kazoo 2.x and zkcluster).
    pub version: i64,
}

/// An exclusive lease at a path for a span of time, compatible with Kazoo's
/// `NonBlockingLease`. See the module docs for its dependence on clocks.
///
/// ```no_run
/// use std::time::Duration;
/// use zkcluster::{Client, NonBlockingLease};
/// # fn main() -> zkcluster::Result<()> {
/// let client = Client::connect("127.0.0.1:2181")?;
/// // Keep the hourly cleanup on one machine, with failover if it dies.
/// let lease = NonBlockingLease::new(&client, "/db_leases/hourly_cleanup",
///                                   Duration::from_secs(70 * 60), "cleanup on host-a")?;
/// if lease.obtain()? {
///     // ... do the hourly cleanup ...
/// }
/// # Ok(())
/// # }
/// ```
pub struct NonBlockingLease {
    client: Client,
    path: String,
    duration: Duration,
    identifier: String,
    lock: WriteLock,
    clock: fn() -> SystemTime,
    timeout: Duration,
}

impl std::fmt::Debug for NonBlockingLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NonBlockingLease")
            .field("path", &self.path)
            .field("duration", &self.duration)
            .field("identifier", &self.identifier)
            .finish()
    }
}

impl NonBlockingLease {
    /// A lease at `path` held for `duration` by `identifier` (reuse the identifier to renew).
    /// No server call.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPath`] when `path` is not a valid node path (or is the root).
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let lease = zkcluster::NonBlockingLease::new(&client, "/jobs/daily", Duration::from_secs(86_400), "host-a")?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(
        client: &Client,
        path: &str,
        duration: Duration,
        identifier: &str,
    ) -> Result<NonBlockingLease> {
        recipe_path(path, "lease")?;
        Ok(NonBlockingLease {
            client: client.clone(),
            path: path.to_string(),
            duration,
            identifier: identifier.to_string(),
            lock: WriteLock::new_restriction(client, path, identifier, None)?,
            clock: SystemTime::now,
            timeout: client.shared().config.request_timeout,
        })
    }

    /// Replaces the clock (`SystemTime::now` by default), as Kazoo's `utcnow` argument: for
    /// tests, or a clock you trust more.
    ///
    /// ```no_run
    /// # use std::time::{Duration, SystemTime};
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// fn tomorrow() -> SystemTime { SystemTime::now() + Duration::from_secs(86_400) }
    /// let lease = zkcluster::NonBlockingLease::new(&client, "/l", Duration::from_secs(60), "a")?
    ///     .clock(tomorrow);
    /// # Ok(())
    /// # }
    /// ```
    pub fn clock(mut self, clock: fn() -> SystemTime) -> NonBlockingLease {
        self.clock = clock;
        self
    }

    /// Sets the deadline of [`obtain`](Self::obtain) (waiting for the inner lock included);
    /// the client's request timeout by default.
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let lease = zkcluster::NonBlockingLease::new(&client, "/l", Duration::from_secs(60), "a")?
    ///     .timeout(Duration::from_secs(2));
    /// # Ok(())
    /// # }
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> NonBlockingLease {
        self.timeout = timeout;
        self
    }

    /// The lease path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Tries to obtain (or renew) the lease: `true` when this identifier holds it now, until
    /// `now + duration`; `false` when another identifier holds it (or a newer record format).
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when the inner lock could not be had in time; [`Error::InvalidData`]
    /// for a record that is not Kazoo's; the client's errors.
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let lease = zkcluster::NonBlockingLease::new(&client, "/jobs/daily", Duration::from_secs(86_400), "host-a")?;
    /// if lease.obtain()? {
    ///     println!("running today's job here");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn obtain(&self) -> Result<bool> {
        let deadline = Instant::now().checked_add(self.timeout);
        self.obtain_until(deadline)
    }

    pub(crate) fn obtain_until(&self, deadline: Option<Instant>) -> Result<bool> {
        let timed_out =
            || Error::Timeout { op: "obtain lease", path: self.path.clone(), after: self.timeout };
        let never = crate::CancelHandle::new().token();
        if !super::barrier::connected_by(&self.client, &self.path, deadline, &never)? {
            return Err(timed_out());
        }
        match self.client.ensure_path(&self.path) {
            Err(e) if e.is_timeout() => return Err(timed_out()),
            other => other?,
        }
        let wait = deadline.map_or(Wait::Forever, Wait::Until);
        let Some(guard) = self.lock.acquire_with(wait)? else {
            return Err(timed_out());
        };
        let outcome = self.replace_record(deadline);
        // Release before reporting; an error here only delays the next contender (the node
        // is deleted in the background) and does not change whether we obtained the lease.
        if let Err(e) = guard.release() {
            log::debug!("releasing the lock of lease {}: {e}", self.path);
        }
        outcome
    }

    /// Under the inner lock: reads the record and replaces it if the lease is ours to take.
    fn replace_record(&self, deadline: Option<Instant>) -> Result<bool> {
        let holder_path = crate::path::join(&self.path, HOLDER);
        let now = (self.clock)();
        let found = match reply(self.client.get_node_async(&holder_path), deadline) {
            Ok(node) => Some((decode(&holder_path, &node.value)?, node.stat.version)),
            Err(e) if e.is_no_node() => None,
            Err(e) => return Err(e),
        };
        if let Some((record, _)) = &found {
            if record.version != FORMAT_VERSION {
                return Ok(false);
            }
            if record.holder != self.identifier && now < record.end {
                return Ok(false);
            }
        }
        let end = now.checked_add(self.duration).ok_or_else(|| Error::InvalidArgument {
            path: self.path.clone(),
            reason: format!("a lease of {:?} ends past representable time", self.duration),
        })?;
        let data = encode(&self.identifier, end)
            .map_err(|reason| Error::InvalidArgument { path: self.path.clone(), reason })?;
        let mut transaction = self.client.transaction();
        if let Some((_, version)) = found {
            transaction = transaction.delete(&holder_path, Some(version));
        }
        let create = transaction.create(&holder_path, data, &CreateOptions::new());
        reply(create.commit_async(), deadline)?;
        Ok(true)
    }

    /// A handle that makes an [`obtain`](Self::obtain) waiting for the inner lock return
    /// [`Error::Cancelled`] from another thread (leaving no lock node).
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let lease = zkcluster::NonBlockingLease::new(&client, "/jobs/daily", Duration::from_secs(60), "a")?;
    /// let cancel = lease.cancel_handle();
    /// std::thread::spawn(move || cancel.cancel());
    /// let _ = lease.obtain(); // Err(Cancelled) if it was still waiting for the lock
    /// # Ok(())
    /// # }
    /// ```
    pub fn cancel_handle(&self) -> crate::CancelHandle {
        self.lock.cancel_handle()
    }

    /// The lease's record now, if there is one (one round trip).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidData`] for a record that is not Kazoo's; the client's errors.
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let lease = zkcluster::NonBlockingLease::new(&client, "/jobs/daily", Duration::from_secs(60), "a")?;
    /// let holder = lease.record()?.map(|r| r.holder);
    /// # Ok(())
    /// # }
    /// ```
    pub fn record(&self) -> Result<Option<LeaseRecord>> {
        let holder_path = crate::path::join(&self.path, HOLDER);
        match self.client.get_node(&holder_path) {
            Ok(node) => decode(&holder_path, &node.value).map(Some),
            Err(e) if e.is_no_node() => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// One of `count` leases for a span of time, compatible with Kazoo's `MultiNonBlockingLease`:
/// at most `count` identifiers hold one at a time.
///
/// ```no_run
/// use std::time::Duration;
/// use zkcluster::{Client, MultiNonBlockingLease};
/// # fn main() -> zkcluster::Result<()> {
/// let client = Client::connect("127.0.0.1:2181")?;
/// // At most 3 hosts run the re-indexer this hour.
/// let leases = MultiNonBlockingLease::new(&client, 3, "/leases/reindex",
///                                         Duration::from_secs(3600), "host-a")?;
/// if let Some(slot) = leases.obtain()? {
///     println!("re-indexing, in slot {slot}");
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct MultiNonBlockingLease {
    leases: Vec<NonBlockingLease>,
    timeout: Duration,
}

impl MultiNonBlockingLease {
    /// `count` leases at `path/0` .. `path/<count-1>`, held for `duration` by `identifier`.
    /// No server call.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPath`] for a bad path; [`Error::InvalidArgument`] when `count` is 0.
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let leases = zkcluster::MultiNonBlockingLease::new(&client, 2, "/l", Duration::from_secs(60), "a")?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(
        client: &Client,
        count: u32,
        path: &str,
        duration: Duration,
        identifier: &str,
    ) -> Result<MultiNonBlockingLease> {
        recipe_path(path, "lease")?;
        if count == 0 {
            return Err(Error::InvalidArgument {
                path: path.into(),
                reason: "a multi-lease needs a count of at least 1".into(),
            });
        }
        let leases = (0..count)
            .map(|n| NonBlockingLease::new(client, &format!("{path}/{n}"), duration, identifier))
            .collect::<Result<Vec<_>>>()?;
        Ok(MultiNonBlockingLease { leases, timeout: client.shared().config.request_timeout })
    }

    /// Replaces the clock of every slot; see [`NonBlockingLease::clock`].
    ///
    /// ```no_run
    /// # use std::time::{Duration, SystemTime};
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let leases = zkcluster::MultiNonBlockingLease::new(&client, 2, "/l", Duration::from_secs(60), "a")?
    ///     .clock(SystemTime::now);
    /// # Ok(())
    /// # }
    /// ```
    pub fn clock(mut self, clock: fn() -> SystemTime) -> MultiNonBlockingLease {
        self.leases = self.leases.into_iter().map(|l| l.clock(clock)).collect();
        self
    }

    /// Sets the deadline of [`obtain`](Self::obtain), all slots together; the client's request
    /// timeout by default.
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let leases = zkcluster::MultiNonBlockingLease::new(&client, 2, "/l", Duration::from_secs(60), "a")?
    ///     .timeout(Duration::from_secs(3));
    /// # Ok(())
    /// # }
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> MultiNonBlockingLease {
        self.timeout = timeout;
        self.leases = self.leases.into_iter().map(|l| l.timeout(timeout)).collect();
        self
    }

    /// Tries the slots in order: the first one this identifier obtains (or renews), or `None`
    /// when all are held by others.
    ///
    /// # Errors
    ///
    /// As for [`NonBlockingLease::obtain`]; the deadline covers every slot tried.
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let leases = zkcluster::MultiNonBlockingLease::new(&client, 2, "/l", Duration::from_secs(60), "a")?;
    /// let slot: Option<u32> = leases.obtain()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn obtain(&self) -> Result<Option<u32>> {
        let deadline = Instant::now().checked_add(self.timeout);
        for (slot, lease) in (0u32..).zip(&self.leases) {
            if lease.obtain_until(deadline)? {
                return Ok(Some(slot));
            }
        }
        Ok(None)
    }
}

/// Kazoo's record: `json.dumps({"version": 1, "holder": ..., "end": ...})`, byte for byte
/// (Python escapes every character outside printable ASCII as `\uXXXX`).
fn encode(identifier: &str, end: SystemTime) -> std::result::Result<Vec<u8>, String> {
    let mut holder = String::from("\"");
    for c in identifier.chars() {
        match c {
            '"' => holder.push_str("\\\""),
            '\\' => holder.push_str("\\\\"),
            '\n' => holder.push_str("\\n"),
            '\r' => holder.push_str("\\r"),
            '\t' => holder.push_str("\\t"),
            '\u{8}' => holder.push_str("\\b"),
            '\u{c}' => holder.push_str("\\f"),
            ' '..='~' => holder.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    holder.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    holder.push('"');
    let end = format_utc(end)?;
    Ok(format!(r#"{{"version": {FORMAT_VERSION}, "holder": {holder}, "end": "{end}"}}"#)
        .into_bytes())
}

/// Reads a record written by Kazoo or by `encode`.
fn decode(path: &str, data: &[u8]) -> Result<LeaseRecord> {
    let bad = |reason: String| Error::InvalidData { path: path.to_string(), reason };
    let value: serde_json::Value =
        serde_json::from_slice(data).map_err(|e| bad(format!("not JSON: {e}")))?;
    let version = value
        .get("version")
        .and_then(serde_json::Value::as_i64)
        .ok_or_else(|| bad("no integer \"version\"".into()))?;
    if version != FORMAT_VERSION {
        // Another format: only its version is known.
        return Ok(LeaseRecord { holder: String::new(), end: UNIX_EPOCH, version });
    }
    let holder = value
        .get("holder")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| bad("no string \"holder\"".into()))?;
    let end = value
        .get("end")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| bad("no string \"end\"".into()))?;
    let end = parse_utc(end).ok_or_else(|| bad(format!("end {end:?} is not %Y-%m-%dT%H:%M:%S")))?;
    Ok(LeaseRecord { holder: holder.to_string(), end, version })
}

/// `%Y-%m-%dT%H:%M:%S` in UTC, truncated to the second (as Python's `strftime`).
fn format_utc(time: SystemTime) -> std::result::Result<String, String> {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map_err(|_| "lease times before 1970 cannot be stored".to_string())?
        .as_secs();
    let secs = i64::try_from(secs).map_err(|_| "lease end too far away".to_string())?;
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    if year > 9999 {
        return Err(format!("lease end in year {year} cannot be stored"));
    }
    Ok(format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    ))
}

/// Parses `%Y-%m-%dT%H:%M:%S` (UTC); `None` when malformed.
fn parse_utc(text: &str) -> Option<SystemTime> {
    let (date, time) = text.split_once('T')?;
    let mut date = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (date.next()??, date.next()??, date.next()??);
    let mut time = time.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (hour, minute, second) = (time.next()??, time.next()??, time.next()??);
    let valid = (1..=9999).contains(&year)
        && (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && (0..24).contains(&hour)
        && (0..60).contains(&minute)
        && (0..=61).contains(&second);
    if !valid {
        return None;
    }
    let secs = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    if secs >= 0 {
        UNIX_EPOCH.checked_add(Duration::from_secs(secs.unsigned_abs()))
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs(secs.unsigned_abs()))
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (counted in 400-year eras of 146097
/// days, with the year starting in March so the leap day comes last).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let march_month = (month + 9) % 12; // March = 0
    let day_of_year = (153 * march_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date of a day count since 1970-01-01: the inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let march_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * march_month + 2) / 5 + 1;
    let month = if march_month < 10 { march_month + 3 } else { march_month - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_match_known_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
        for days in (-1000..80_000).step_by(37) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        let t = UNIX_EPOCH + Duration::from_secs(1_764_599_400) + Duration::from_millis(999);
        assert_eq!(format_utc(t).unwrap(), "2025-12-01T14:30:00");
        assert_eq!(
            parse_utc("2025-12-01T14:30:00"),
            Some(UNIX_EPOCH + Duration::from_secs(1_764_599_400))
        );
        for bad in ["", "2025-12-01", "2025-13-01T00:00:00", "2025-12-01T24:00:00", "x-1-1T0:0:0"] {
            assert_eq!(parse_utc(bad), None, "{bad}");
        }
    }

    #[test]
    fn records_are_kazoos_json() {
        let end = UNIX_EPOCH + Duration::from_secs(1_764_599_400);
        let data = encode("host \"a\" é", end).unwrap();
        assert_eq!(
            String::from_utf8(data.clone()).unwrap(),
            r#"{"version": 1, "holder": "host \"a\" \u00e9", "end": "2025-12-01T14:30:00"}"#
        );
        let record = decode("/l", &data).unwrap();
        assert_eq!(record, LeaseRecord { holder: "host \"a\" é".into(), end, version: 1 });
        assert!(decode("/l", b"nope").unwrap_err().to_string().contains("/l"));
        assert!(decode("/l", br#"{"version": 1, "holder": "a"}"#).is_err());
        assert_eq!(decode("/l", br#"{"version": 2}"#).unwrap().version, 2);
    }
}
