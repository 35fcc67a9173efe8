//! What the benchmarks share: the workloads, the peers that run them, the round-robin driver
//! and the statistics. Every figure is a median over rounds; every ratio is the median of
//! per-round ratios between peers measured back to back, so drift on this shared machine
//! hits both sides of a ratio alike.
#![allow(dead_code)] // each bench binary uses its own part

pub mod curator;
pub mod kazoo;
pub mod line_peer;
pub mod mem;
pub mod peers;
pub mod raw;
pub mod wire;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use zkcluster::Client;

pub type R<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Rows and their ops/s from one run of a workload by one peer.
pub type Sample = Vec<(String, f64)>;

/// The node every read-only workload reads.
pub const TARGET: &str = "/bench/target";
pub const VALUE: &[u8] = b"0123456789abcdef";
pub const VALUE2: &[u8] = b"fedcba9876543210";
pub const SEMAPHORE_LEASES: u32 = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockKind {
    Write,
    Read,
    Semaphore,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// create, get, set, exists, delete of `serial_n` nodes, one call at a time.
    Serial,
    /// exists on one node from this many threads sharing one session (the floor and Kazoo keep
    /// this many requests in flight instead).
    Exists(usize),
    /// Batches of this many `get_node_async` from one thread, each batch waited for.
    GetPipelined(usize),
    /// Uncontended acquire + release cycles.
    Lock(LockKind),
    /// This many threads (one session each) passing one write lock; releases per second.
    Handoff(usize),
}

impl Workload {
    /// The table row of a single-row workload.
    pub fn row(&self) -> String {
        match self {
            Workload::Serial => "serial".to_string(),
            Workload::Exists(t) => format!("exists, {t} thread{}", if *t == 1 { "" } else { "s" }),
            Workload::GetPipelined(n) => format!("get, {n} pipelined"),
            Workload::Lock(LockKind::Write) => "lock cycle".to_string(),
            Workload::Lock(LockKind::Read) => "read-lock cycle".to_string(),
            Workload::Lock(LockKind::Semaphore) => "semaphore cycle".to_string(),
            Workload::Handoff(t) => format!("contended hand-off, {t} threads"),
        }
    }
}

/// How much each measurement does.
#[derive(Debug, Clone, Copy)]
pub struct Cfg {
    /// Nodes per serial phase.
    pub serial_n: usize,
    /// Length of every time-sliced measurement.
    pub slice: Duration,
    /// Measured rounds (a short warm-up round comes first and is not recorded).
    pub rounds: usize,
}

impl Cfg {
    pub fn full() -> Cfg {
        Cfg { serial_n: 500, slice: Duration::from_millis(500), rounds: 9 }
    }

    pub fn quick() -> Cfg {
        Cfg { serial_n: 200, slice: Duration::from_millis(250), rounds: 3 }
    }

    /// `--quick`, `--rounds N`, `--slice-ms N`, `--serial N` from the command line.
    pub fn from_args(args: &[String]) -> Cfg {
        let mut cfg = if args.iter().any(|a| a == "--quick") { Cfg::quick() } else { Cfg::full() };
        let value = |flag: &str| {
            args.iter()
                .position(|a| a == flag)
                .and_then(|i| args.get(i + 1))
                .and_then(|v| v.parse::<u64>().ok())
        };
        if let Some(n) = value("--rounds") {
            cfg.rounds = n.max(1) as usize;
        }
        if let Some(ms) = value("--slice-ms") {
            cfg.slice = Duration::from_millis(ms.max(10));
        }
        if let Some(n) = value("--serial") {
            cfg.serial_n = n.max(1) as usize;
        }
        cfg
    }

    fn warm_up(&self) -> Cfg {
        Cfg { serial_n: (self.serial_n / 4).max(20), slice: self.slice / 4, rounds: 1 }
    }
}

/// A client library (or the floor) that can run the workloads.
pub trait Peer {
    fn name(&self) -> &'static str;
    /// Runs one workload under `base` (a path nobody else uses); returns ops/s per row. An
    /// empty sample means the peer has no such feature.
    fn run(&mut self, w: &Workload, cfg: &Cfg, base: &str) -> R<Sample>;
}

/// Per-round figures of every (row, peer).
#[derive(Debug, Default)]
pub struct Results {
    pub rounds: usize,
    pub rows: Vec<String>,
    values: HashMap<(String, String), Vec<Option<f64>>>,
    pub errors: Vec<String>,
}

pub fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 })
}

impl Results {
    fn record(&mut self, round: usize, peer: &str, row: &str, value: f64) {
        if !self.rows.iter().any(|r| r == row) {
            self.rows.push(row.to_string());
        }
        let rounds = self.rounds;
        let slot = self
            .values
            .entry((row.to_string(), peer.to_string()))
            .or_insert_with(|| vec![None; rounds]);
        slot[round] = Some(value);
    }

    /// The figures of (row, peer), one per round (None where it failed).
    pub fn series(&self, row: &str, peer: &str) -> Option<&[Option<f64>]> {
        self.values.get(&(row.to_string(), peer.to_string())).map(Vec::as_slice)
    }

    pub fn median(&self, row: &str, peer: &str) -> Option<f64> {
        median(self.series(row, peer)?.iter().flatten().copied().collect())
    }

    /// Median over rounds of `f(a, b)`, with a = (row_a, peer_a) and b = (row_b, peer_b) of the
    /// same round; rounds missing either are skipped.
    pub fn paired(
        &self,
        a: (&str, &str),
        b: (&str, &str),
        f: impl Fn(f64, f64) -> f64,
    ) -> Option<f64> {
        let (sa, sb) = (self.series(a.0, a.1)?, self.series(b.0, b.1)?);
        median(sa.iter().zip(sb).filter_map(|(x, y)| Some(f((*x)?, (*y)?))).collect())
    }

    /// Median of per-round ratios (row, peer_a) / (row, peer_b).
    pub fn ratio(&self, row: &str, a: &str, b: &str) -> Option<f64> {
        self.paired((row, a), (row, b), |x, y| x / y)
    }

    /// Every (row, peer) series, for the raw-figures appendix.
    pub fn all_series(&self) -> Vec<(&str, &str, &[Option<f64>])> {
        let mut all: Vec<_> =
            self.values.iter().map(|((r, p), v)| (r.as_str(), p.as_str(), v.as_slice())).collect();
        let pos = |row: &str| self.rows.iter().position(|r| r == row).unwrap_or(usize::MAX);
        all.sort_by_key(|(r, p, _)| (pos(r), *p));
        all
    }

    pub fn has_peer(&self, peer: &str) -> bool {
        self.values.keys().any(|(_, p)| p == peer)
    }
}

/// The benchmark server: the test kit's standalone ZooKeeper. Unless `--fsync` is given it runs
/// with `forceSync=no`: every peer would pay the same fsync per write, and on this shared disk
/// that cost is large and erratic enough to drown the clients' differences.
pub fn server(args: &[String]) -> R<(zkcluster::testing::TestingServer, bool)> {
    let fsync = args.iter().any(|a| a == "--fsync");
    let mut builder = zkcluster::testing::TestingServer::builder();
    if !fsync {
        builder = builder.config_line("forceSync=no");
    }
    Ok((builder.start()?, fsync))
}

/// Creates `/bench` and the read target.
pub fn prepare(admin: &Client) -> R<()> {
    admin.delete_recursive("/bench")?;
    admin.create_node("/bench", "")?;
    admin.create_node(TARGET, VALUE)?;
    Ok(())
}

/// Runs the warm-up round, then `cfg.rounds` rounds of every workload by every peer. Within a
/// round each workload is run by every peer back to back, in an order that rotates from one
/// workload and round to the next.
pub fn run_rounds(
    cfg: &Cfg,
    peers: &mut [Box<dyn Peer>],
    workloads: &[Workload],
    admin: &Client,
) -> Results {
    let mut results = Results { rounds: cfg.rounds, ..Results::default() };
    let started = Instant::now();
    eprintln!("warm-up round ...");
    let mut scratch = Results { rounds: 1, ..Results::default() };
    one_round(&cfg.warm_up(), peers, workloads, admin, 0, &mut scratch, "warm");
    results.errors.extend(scratch.errors);
    for round in 0..cfg.rounds {
        eprintln!("round {}/{} ({:.0?} so far) ...", round + 1, cfg.rounds, started.elapsed());
        one_round(cfg, peers, workloads, admin, round, &mut results, "r");
    }
    eprintln!("done in {:.0?}", started.elapsed());
    results.errors.sort();
    results.errors.dedup();
    results
}

fn one_round(
    cfg: &Cfg,
    peers: &mut [Box<dyn Peer>],
    workloads: &[Workload],
    admin: &Client,
    round: usize,
    results: &mut Results,
    tag: &str,
) {
    for (wi, w) in workloads.iter().enumerate() {
        let n = peers.len();
        for k in 0..n {
            let peer = &mut peers[(k + round + wi) % n];
            let base = format!("/bench/{}-{tag}{round}-w{wi}", peer.name());
            match peer.run(w, cfg, &base) {
                Ok(sample) => {
                    for (row, v) in sample {
                        results.record(round, peer.name(), &row, v);
                    }
                }
                Err(e) => {
                    let msg = format!("{} / {}: {e}", peer.name(), w.row());
                    eprintln!("  failed: {msg}");
                    results.errors.push(msg);
                }
            }
            if let Err(e) = admin.delete_recursive(&base) {
                eprintln!("  cleanup of {base} failed: {e}");
            }
        }
    }
}

/// `12,345` for a rate.
pub fn rate(v: Option<f64>) -> String {
    let Some(v) = v else { return "—".to_string() };
    let digits = format!("{:.0}", v);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1.23×` for a ratio.
pub fn times(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_string(), |v| format!("{v:.2}×"))
}

/// The machine, as the report states it.
pub fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map_or_else(|_| "?".into(), |s| s.trim().to_string());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or_else(|| "?".into(), |kb| format!("{:.1} GiB", kb as f64 / 1024.0 / 1024.0));
    format!("{cpus} CPUs (nproc), {model}, {mem} RAM, Linux {kernel}")
}
