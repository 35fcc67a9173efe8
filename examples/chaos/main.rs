//! A Jepsen-style chaos check of zkcluster's locks against real ZooKeeper servers from the test
//! kit (a standalone server, then a 3-member ensemble), all on loopback.
//!
//! Several worker processes × threads increment a counter node by an unversioned
//! read-modify-write under a `WriteLock`, read it twice under a `ReadLock`, hold leases of a
//! `Semaphore(2)`, and write an outside store (a file) that checks fencing tokens. After a calm
//! phase, a nemesis freezes, kills and restarts servers and ensemble members, kill -9s the
//! process holding the lock and SIGSTOPs it past its session timeout. Then the workers' logs
//! are checked: lost updates, duplicate values, overlapping valid holders, read-lock
//! violations, semaphore holders over 2, leaked nodes, hangs, calls past their deadline, stale
//! `Held` after a pause, store writes accepted from a stale holder, tokens out of grant order —
//! all must be 0. Exits with status 1 when one is not.
//!
//! ```text
//! cargo run --release --example chaos -- [--quick] [--procs N] [--writers N] [--readers N]
//!     [--holders N] [--calm SECS] [--faults SECS] [--session-ms MS] [--seed N]
//!     [--only standalone|ensemble] [--keep] [--unfenced]
//! ```
//! `--unfenced` is the counterfactual: plain counter writes and a store that takes any token
//! (the lock alone, as Kazoo and Curator offer it); expect the checks to find violations.
//! (`scripts/chaos.sh` runs it; `tests/chaos.rs` runs a short one.)

mod fleet;
mod history;
mod nemesis;
mod safety;
mod store;
mod worker;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use zkcluster::Client;

use fleet::Fleet;
use history::{Context, Findings};
use nemesis::{Fault, Nemesis, Servers};
use worker::{WorkerConfig, LATE_SLACK};

pub const LOCK: &str = "/chaos/rw";
pub const SEMAPHORE: &str = "/chaos/sem";
pub const COUNTER: &str = "/chaos/counter";
pub const SEMAPHORE_LEASES: u32 = 2;

/// Nanoseconds since the Unix epoch: one clock for every process on the machine.
pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

/// `--flag value` arguments.
pub struct Args(Vec<String>);

impl Args {
    pub fn has(&self, flag: &str) -> bool {
        self.0.iter().any(|a| a == flag)
    }

    fn value(&self, flag: &str) -> Option<&str> {
        let i = self.0.iter().position(|a| a == flag)?;
        self.0.get(i + 1).map(String::as_str)
    }

    pub fn text(&self, flag: &str) -> Result<String, String> {
        self.value(flag).map(str::to_string).ok_or_else(|| format!("{flag} is required"))
    }

    pub fn number(&self, flag: &str, default: u64) -> Result<u64, String> {
        match self.value(flag) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| format!("{flag}: not a number: {v:?}")),
        }
    }
}

struct Settings {
    procs: usize,
    calm: Duration,
    faults: Duration,
    only: Option<String>,
    keep: bool,
    worker: WorkerConfig,
}

fn settings(args: &Args) -> Result<Settings, String> {
    let quick = args.has("--quick");
    let (procs, writers, readers, holders, calm, faults) =
        if quick { (3, 2, 1, 1, 2, 1) } else { (4, 3, 2, 2, 10, 60) };
    let seed = args.number("--seed", now_ns() as u64 % 1_000_000)?;
    let session_ms = args.number("--session-ms", 2000)?;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/chaos")
        .join(format!("run-{}-{seed}", std::process::id()));
    let only = args.value("--only").map(str::to_string);
    if let Some(o) = &only {
        if o != "standalone" && o != "ensemble" {
            return Err(format!("--only: expected standalone or ensemble, got {o:?}"));
        }
    }
    Ok(Settings {
        procs: args.number("--procs", procs)? as usize,
        calm: Duration::from_secs(args.number("--calm", calm)?),
        faults: Duration::from_secs(args.number("--faults", faults)?),
        only,
        keep: args.has("--keep"),
        worker: WorkerConfig {
            id: String::new(),
            connect: String::new(),
            dir,
            writers: args.number("--writers", writers)? as usize,
            readers: args.number("--readers", readers)? as usize,
            holders: args.number("--holders", holders)? as usize,
            session: Duration::from_millis(session_ms),
            request: Duration::from_millis(args.number("--request-ms", 2000)?),
            acquire: Duration::from_millis(args.number("--acquire-ms", 3 * session_ms)?),
            seed,
            unfenced: args.has("--unfenced"),
        },
    })
}

fn main() {
    let args = Args(std::env::args().skip(1).collect());
    let worker = args.0.first().is_some_and(|a| a == "worker");
    let result = if worker {
        WorkerConfig::from_args(&args).and_then(worker::run)
    } else {
        settings(&args).and_then(|s| harness(&s))
    };
    match result {
        Ok(()) => {}
        Err(e) => {
            eprintln!("chaos: {e}");
            std::process::exit(if e.starts_with("--") { 2 } else { 1 });
        }
    }
}

/// One target's run: what was checked, and what the nemesis did.
struct Run {
    name: &'static str,
    findings: Findings,
    events: Vec<nemesis::Event>,
    nemesis_errors: Vec<String>,
    error_samples: Vec<String>,
}

fn harness(s: &Settings) -> Result<(), String> {
    let w = &s.worker;
    println!(
        "chaos: seed {}, {} processes × ({} writers, {} readers, {} semaphore holders), session \
         {:?}, calm {:?}, faults ≥ {:?}{}",
        w.seed,
        s.procs,
        w.writers,
        w.readers,
        w.holders,
        w.session,
        s.calm,
        s.faults,
        if w.unfenced { ", UNFENCED writes (the counterfactual)" } else { "" }
    );
    let mut runs = Vec::new();
    for ensemble in [false, true] {
        let name = if ensemble { "ensemble" } else { "standalone" };
        if s.only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        runs.push(run_target(s, ensemble)?);
    }
    let failed = report(&runs);
    if !failed && !s.keep {
        let _ = std::fs::remove_dir_all(&w.dir);
    } else {
        println!("logs: {}", w.dir.display());
    }
    if failed {
        return Err("violations found (see above)".to_string());
    }
    println!("chaos: all checks passed");
    Ok(())
}

fn admin_client(connect: &str) -> Result<Client, String> {
    Client::builder(connect)
        .session_timeout(Duration::from_secs(10))
        .request_timeout(Duration::from_secs(5))
        .connect_timeout(Duration::from_secs(20))
        .connect()
        .map_err(|e| format!("admin client: {e}"))
}

fn run_target(s: &Settings, ensemble: bool) -> Result<Run, String> {
    let mut servers = Servers::start(ensemble)?;
    let name = servers.name();
    let dir: PathBuf = s.worker.dir.join(name);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let connect = servers.connect_string();
    eprintln!("chaos: {name} on {connect}");
    let admin = admin_client(&connect)?;
    admin.ensure_path("/chaos").map_err(|e| e.to_string())?;
    admin.create_node(COUNTER, "0").map_err(|e| e.to_string())?;

    let template = WorkerConfig { connect, dir: dir.clone(), id: String::new(), ..s.worker };
    let mut fleet = Fleet::new(template);
    for _ in 0..s.procs {
        fleet.spawn()?;
    }
    fleet.wait_ready(Duration::from_secs(30))?;
    let calm_start = now_ns();
    std::thread::sleep(s.calm);
    let faults_start = now_ns();
    let mut nemesis = Nemesis::new(s.worker.seed, s.worker.session);
    nemesis.run(&mut servers, &mut fleet, &admin, s.faults);
    let stop = now_ns();

    // Every call has a deadline, so every worker is idle within the longest of them.
    let grace = s.worker.acquire + s.worker.request * 2 + LATE_SLACK * 2;
    let mut hung = fleet.stop_all(grace);
    let leaked = wait_for_no_nodes(&admin, s.worker.session * 3 + Duration::from_secs(5));
    let final_counter = admin.get_node(COUNTER).map_err(|e| e.to_string()).and_then(|n| {
        n.value_str().map(|v| v.trim().parse::<i64>().unwrap_or(-1)).map_err(|e| e.to_string())
    })?;
    hung.extend(fleet.exit_all(Duration::from_secs(10)));
    let _ = admin.close();

    let ids: Vec<String> = fleet.procs.iter().map(|p| p.id.clone()).collect();
    let killed = nemesis.events.iter().filter(|e| e.fault == Fault::KillHolder).count();
    let logs = history::read(&dir, &ids);
    let cx = Context {
        dir: &dir,
        events: &nemesis.events,
        final_counter,
        killed,
        writers_per_proc: fleet.writers_per_proc(),
        session_ns: s.worker.session.as_nanos() as i64,
        leases: SEMAPHORE_LEASES as usize,
        windows: (calm_start, faults_start, stop),
        leaked: leaked.len(),
        hangs: hung.len(),
    };
    let findings = history::check(&logs, &cx);
    if !leaked.is_empty() {
        eprintln!("chaos: {name}: leaked nodes: {leaked:?}");
    }
    if !hung.is_empty() {
        eprintln!("chaos: {name}: hung workers: {hung:?}");
    }
    drop(fleet);
    drop(servers);
    Ok(Run {
        name,
        findings,
        events: nemesis.events,
        nemesis_errors: nemesis.errors,
        error_samples: logs.error_samples,
    })
}

/// Polls the lock, semaphore and inner-lock paths until nobody's nodes are left (sessions of
/// killed workers expire meanwhile); returns what is still there after `limit`.
fn wait_for_no_nodes(admin: &Client, limit: Duration) -> Vec<String> {
    let deadline = Instant::now() + limit;
    let inner = format!("{SEMAPHORE}-__lock__");
    loop {
        let mut left = Vec::new();
        for path in [LOCK, SEMAPHORE, inner.as_str()] {
            match admin.get_children(path) {
                Ok(children) => left.extend(children.into_iter().map(|c| format!("{path}/{c}"))),
                Err(e) if e.is_no_node() => {}
                Err(e) => left.push(format!("{path}: {e}")),
            }
        }
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Prints the checks and figures of every run; returns whether any check failed.
fn report(runs: &[Run]) -> bool {
    let mut failed = false;
    let header: Vec<&str> = runs.iter().map(|r| r.name).collect();
    println!("\n| must be 0 | {} |", header.join(" | "));
    println!("|---|{}", "---:|".repeat(runs.len()));
    let names: Vec<&str> = runs
        .first()
        .map_or_else(Vec::new, |r| r.findings.violations().into_iter().map(|(n, _)| n).collect());
    for (i, name) in names.iter().enumerate() {
        let cells: Vec<String> =
            runs.iter().map(|r| r.findings.violations()[i].1.to_string()).collect();
        failed |= runs.iter().any(|r| r.findings.violations()[i].1 > 0);
        println!("| {name} | {} |", cells.join(" | "));
    }
    let row = |label: &str, f: &dyn Fn(&Findings) -> String| {
        let cells: Vec<String> = runs.iter().map(|r| f(&r.findings)).collect();
        println!("| {label} | {} |", cells.join(" | "));
    };
    println!("\n| what happened | {} |", header.join(" | "));
    println!("|---|{}", "---:|".repeat(runs.len()));
    row("max concurrent semaphore holders (limit 2)", &|f| f.max_semaphore.to_string());
    row("increments acknowledged / final counter", &|f| {
        format!("{} / {}", f.writes_ok, f.final_counter)
    });
    row("fenced writes refused (lock lost)", &|f| f.writes_fenced_off.to_string());
    row("writes in doubt (connection lost)", &|f| f.writes_in_doubt.to_string());
    row("store writes refused (stale token)", &|f| f.store_rejected.to_string());
    row("pauses that caught a holder", &|f| f.pauses_caught_holder.to_string());
    row("acquire timeouts / other errors", &|f| format!("{} / {}", f.timeouts, f.errors));
    let rate = |v: [f64; 3]| format!("{:.0} / {:.0} / {:.0}", v[0], v[1], v[2]);
    row("cycles/s without faults (write / read / lease)", &|f| rate(f.calm));
    row("cycles/s with faults (write / read / lease)", &|f| rate(f.faulty));
    for r in runs {
        let mut kinds: Vec<(&str, usize)> = Vec::new();
        for e in &r.events {
            match kinds.iter_mut().find(|(k, _)| *k == e.fault.name()) {
                Some((_, n)) => *n += 1,
                None => kinds.push((e.fault.name(), 1)),
            }
        }
        let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} ×{n}")).collect();
        println!("\nfaults ({}): {}", r.name, kinds.join(", "));
        for e in &r.events {
            let secs = (e.ended - e.started) as f64 / 1e9;
            println!("  {} — {} ({secs:.1} s)", e.fault.name(), e.detail);
        }
        for e in &r.nemesis_errors {
            println!("  nemesis error: {e}");
        }
        for e in r.findings.evidence.iter().take(10) {
            println!("  violation: {e}");
        }
        for e in &r.error_samples {
            println!("  worker error (sample): {e}");
        }
    }
    failed
}
