//! What the workers logged, and the checks over it. Every check works from times and values the
//! workers observed (ns since the Unix epoch, one clock on one machine) and from what the
//! nemesis did, never from what the library says about itself.
//!
//! A hold's *valid interval* runs from the moment its acquire returned to the last time its
//! guard said held (the time taken before asking). If the locks are correct, valid intervals of
//! writers never overlap each other or a reader's, and at most two semaphore leases' do.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use crate::nemesis::{Event, Fault};
use crate::store;

#[derive(Debug, Clone, Default)]
pub struct Hold {
    pub kind: char,
    pub id: String,
    pub proc: String,
    pub acquired: i64,
    pub last_valid: i64,
    pub released: i64,
    /// Writers: token, value written (or in doubt), outcome, store outcome.
    pub token: i64,
    pub wrote: i64,
    pub outcome: String,
    pub stored: String,
    /// Readers: the two reads and when the second returned.
    pub first: i64,
    pub second: i64,
    pub second_at: i64,
}

impl Hold {
    fn valid(&self) -> Option<(i64, i64)> {
        (self.last_valid >= self.acquired).then_some((self.acquired, self.last_valid))
    }
}

#[derive(Debug, Default)]
pub struct Logs {
    pub holds: Vec<Hold>,
    /// (process, started, ended, op) of calls that overran their deadline.
    pub late: Vec<(String, i64, i64, String)>,
    pub timeouts: usize,
    pub errors: usize,
    pub error_samples: Vec<String>,
}

fn num(fields: &[&str], i: usize) -> i64 {
    fields.get(i).and_then(|v| v.parse().ok()).unwrap_or(-1)
}

/// Reads `<dir>/<id>.log` of every worker; a last line cut short by a kill is ignored.
pub fn read(dir: &Path, ids: &[String]) -> Logs {
    let mut logs = Logs::default();
    for id in ids {
        let text = std::fs::read_to_string(dir.join(format!("{id}.log"))).unwrap_or_default();
        let complete = text.rfind('\n').map_or("", |end| &text[..end]);
        for line in complete.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            match f.first().copied() {
                Some(tag @ ("W" | "R" | "S")) => {
                    let text = |i: usize| f.get(i).map_or(String::new(), |s| s.to_string());
                    logs.holds.push(Hold {
                        kind: tag.chars().next().unwrap_or('?'),
                        id: text(1),
                        proc: id.clone(),
                        acquired: num(&f, 2),
                        last_valid: num(&f, 3),
                        released: num(&f, 4),
                        token: if tag == "W" { num(&f, 5) } else { -1 },
                        wrote: if tag == "W" { num(&f, 7) } else { -1 },
                        outcome: if tag == "W" { text(8) } else { String::new() },
                        stored: if tag == "W" { text(9) } else { String::new() },
                        first: if tag == "R" { num(&f, 5) } else { -1 },
                        second: if tag == "R" { num(&f, 6) } else { -1 },
                        second_at: if tag == "R" { num(&f, 7) } else { -1 },
                    });
                }
                Some("L") => logs.late.push((id.clone(), num(&f, 2), num(&f, 3), f[1].to_string())),
                Some("T") => logs.timeouts += 1,
                Some("E") => {
                    logs.errors += 1;
                    if logs.error_samples.len() < 5 {
                        logs.error_samples.push(format!("{id}: {}", &line[2..]));
                    }
                }
                _ => {}
            }
        }
    }
    logs
}

/// Everything the run measured beyond the logs.
pub struct Context<'a> {
    pub dir: &'a Path,
    pub events: &'a [Event],
    pub final_counter: i64,
    pub killed: usize,
    pub writers_per_proc: usize,
    pub session_ns: i64,
    pub leases: usize,
    /// (calm start, faults start, stop).
    pub windows: (i64, i64, i64),
    pub leaked: usize,
    pub hangs: usize,
}

/// The figures of one run: `violations` must all be 0.
#[derive(Debug, Default, Clone)]
pub struct Findings {
    pub lost_updates: usize,
    pub duplicate_values: usize,
    pub unexplained_increments: usize,
    pub overlapping_writers: usize,
    pub read_violations: usize,
    pub semaphore_over: usize,
    pub max_semaphore: usize,
    pub leaked: usize,
    pub hangs: usize,
    pub late_calls: usize,
    pub stale_held: usize,
    pub stale_store_accepts: usize,
    pub token_order: usize,
    // Not violations: what happened.
    pub writes_ok: usize,
    pub writes_fenced_off: usize,
    pub writes_in_doubt: usize,
    pub store_rejected: usize,
    pub timeouts: usize,
    pub errors: usize,
    pub pauses_caught_holder: usize,
    pub final_counter: i64,
    /// Cycles per second (writes, reads, leases) without and with faults.
    pub calm: [f64; 3],
    pub faulty: [f64; 3],
    /// A few of the offending holds, for the report.
    pub evidence: Vec<String>,
}

impl Findings {
    /// (name, count) of every check that must be 0.
    pub fn violations(&self) -> Vec<(&'static str, usize)> {
        vec![
            ("lost updates", self.lost_updates),
            ("duplicate values", self.duplicate_values),
            ("increments nobody made", self.unexplained_increments),
            ("overlapping valid writers", self.overlapping_writers),
            ("read-lock violations", self.read_violations),
            ("semaphore holders over 2", self.semaphore_over),
            ("leaked nodes", self.leaked),
            ("hangs", self.hangs),
            ("calls past their deadline", self.late_calls),
            ("stale Held after a pause", self.stale_held),
            ("store writes accepted from a stale holder", self.stale_store_accepts),
            ("fencing tokens out of grant order", self.token_order),
        ]
    }
}

pub fn check(logs: &Logs, cx: &Context<'_>) -> Findings {
    let mut f = Findings {
        leaked: cx.leaked,
        hangs: cx.hangs,
        timeouts: logs.timeouts,
        errors: logs.errors,
        final_counter: cx.final_counter,
        ..Findings::default()
    };
    let writers: Vec<&Hold> = logs.holds.iter().filter(|h| h.kind == 'W').collect();
    counter(&mut f, &writers, cx);
    let mut w: Vec<(i64, i64)> = writers.iter().filter_map(|h| h.valid()).collect();
    w.sort_unstable();
    f.overlapping_writers = overlaps(&w);
    for r in logs.holds.iter().filter(|h| h.kind == 'R') {
        let Some((a, b)) = r.valid() else { continue };
        let changed = r.first >= 0 && r.second >= 0 && r.first != r.second && b >= r.second_at;
        let under_writer = w.iter().take_while(|(wa, _)| *wa < b).any(|(_, wb)| *wb > a);
        f.read_violations += usize::from(changed || under_writer);
    }
    let leases: Vec<(i64, i64)> =
        logs.holds.iter().filter(|h| h.kind == 'S').filter_map(Hold::valid).collect();
    f.max_semaphore = max_concurrent(&leases);
    f.semaphore_over = f.max_semaphore.saturating_sub(cx.leases);
    f.late_calls = logs
        .late
        .iter()
        .filter(|(proc, start, end, _)| !paused(cx.events, proc, *start, *end))
        .count();
    for e in cx.events.iter().filter(|e| e.fault == Fault::PauseHolder) {
        let Some(proc) = &e.worker else { continue };
        // Held when the process stopped: acquired before it resumed, released after.
        let held_across = |h: &&Hold| &h.proc == proc && h.acquired < e.resumed;
        let across: Vec<&Hold> =
            logs.holds.iter().filter(held_across).filter(|h| h.released > e.resumed).collect();
        f.pauses_caught_holder += usize::from(!across.is_empty());
        // Stopped for longer than the session timeout: valid_until had passed on resuming.
        if e.resumed - e.stopped > cx.session_ns {
            for h in across.iter().filter(|h| h.last_valid > e.resumed) {
                f.stale_held += 1;
                f.evidence.push(format!(
                    "stale Held: {} acquired {}, said Held at {}, released {}; {proc} stopped {} \
                     to {}",
                    h.id, h.acquired, h.last_valid, h.released, e.stopped, e.resumed
                ));
            }
        }
    }
    f.stale_store_accepts = stale_accepts(&writers, &store::history(cx.dir));
    f.token_order = token_order(&writers);
    let (calm, faults, stop) = cx.windows;
    f.calm = rates(&logs.holds, calm, faults);
    f.faulty = rates(&logs.holds, faults, stop);
    f
}

/// Lost, duplicate and unexplained increments of the counter.
fn counter(f: &mut Findings, writers: &[&Hold], cx: &Context<'_>) {
    let acked: Vec<i64> = writers.iter().filter(|h| h.outcome == "ok").map(|h| h.wrote).collect();
    let doubt: HashSet<i64> =
        writers.iter().filter(|h| h.outcome == "unknown").map(|h| h.wrote).collect();
    let mut seen = HashMap::new();
    for v in &acked {
        *seen.entry(*v).or_insert(0usize) += 1;
    }
    f.writes_ok = acked.len();
    f.writes_fenced_off = writers.iter().filter(|h| h.outcome == "lost").count();
    f.writes_in_doubt = doubt.len();
    f.store_rejected = writers.iter().filter(|h| h.stored == "rejected").count();
    f.duplicate_values = seen.values().map(|n| n - 1).sum();
    let kept = seen.keys().filter(|v| **v <= cx.final_counter).count();
    f.lost_updates = acked.len() - kept;
    let covered =
        (1..=cx.final_counter).filter(|v| seen.contains_key(v) || doubt.contains(v)).count() as i64;
    let in_flight_at_kill = (cx.killed * cx.writers_per_proc) as i64;
    f.unexplained_increments = (cx.final_counter - covered - in_flight_at_kill).max(0) as usize;
}

/// Pairs of sorted intervals that overlap a predecessor.
fn overlaps(sorted: &[(i64, i64)]) -> usize {
    let mut end = i64::MIN;
    let mut n = 0;
    for (a, b) in sorted {
        n += usize::from(*a < end);
        end = end.max(*b);
    }
    n
}

fn max_concurrent(intervals: &[(i64, i64)]) -> usize {
    let mut edges: Vec<(i64, i32)> =
        intervals.iter().flat_map(|(a, b)| [(*a, 1), (*b, -1)]).collect();
    // At the same instant an end comes before a start: touching is not overlapping.
    edges.sort_unstable();
    let (mut now, mut max) = (0i32, 0i32);
    for (_, d) in edges {
        now += d;
        max = max.max(now);
    }
    max as usize
}

/// Whether a call of `proc` from `start` to `end` overlapped a SIGSTOP of that process.
fn paused(events: &[Event], proc: &str, start: i64, end: i64) -> bool {
    events.iter().any(|e| {
        e.fault == Fault::PauseHolder
            && e.worker.as_deref() == Some(proc)
            && e.started < end
            && e.ended > start
    })
}

/// Accepted store writes that came after an accepted write from a later grant.
fn stale_accepts(writers: &[&Hold], history: &[store::Accepted]) -> usize {
    let granted: HashMap<&str, i64> = writers.iter().map(|h| (h.id.as_str(), h.acquired)).collect();
    let mut latest = i64::MIN;
    let mut stale = 0;
    for write in history {
        let Some(at) = granted.get(write.holder.as_str()) else { continue };
        stale += usize::from(*at < latest);
        latest = latest.max(*at);
    }
    stale
}

/// Writers' tokens must strictly increase with the order of their grants.
fn token_order(writers: &[&Hold]) -> usize {
    let mut tokens: Vec<(i64, i64)> =
        writers.iter().filter(|h| h.token >= 0).map(|h| (h.acquired, h.token)).collect();
    tokens.sort_unstable();
    tokens.windows(2).filter(|w| w[1].1 <= w[0].1).count()
}

/// Completed cycles per second of writers, readers and lease holders released in [from, to).
fn rates(holds: &[Hold], from: i64, to: i64) -> [f64; 3] {
    let secs = ((to - from) as f64 / 1e9).max(1e-9);
    let count = |kind: char| {
        holds
            .iter()
            .filter(|h| h.kind == kind && h.released >= from && h.released < to)
            .filter(|h| kind != 'W' || h.outcome == "ok")
            .count() as f64
            / secs
    };
    [count('W'), count('R'), count('S')]
}
