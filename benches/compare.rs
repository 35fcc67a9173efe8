//! The comparison report: zkcluster, the `zookeeper` crate, Kazoo, Curator and a bare-socket
//! floor run the same workloads against one ZooKeeper from the test kit, in alternating rounds.
//! Writes `target/bench-report.md`. Run it through `scripts/bench.sh` (which makes the Kazoo venv
//! and compiles the Curator peer), or `cargo bench --bench compare -- [--quick] [--rounds N]
//! [--slice-ms N] [--serial N] [--no-kazoo] [--no-curator] [--only WORDS]`. `--only` runs just
//! the workloads whose row contains one of the comma-separated words (`--only cycle` runs the
//! three lock cycles; `--only cycle,serial` adds the serial rows), so a loaded machine spends
//! its time on the rows being looked at; the memory section is skipped then.

mod common;

use std::fmt::Write as _;
use std::path::Path;

use common::mem::{self, Mem};
use common::peers::{Crate, Floor, Zk};
use common::{curator, kazoo, rate, times, Cfg, LockKind, Peer, Results, Workload, R};

const SERIAL: [&str; 5] = ["create", "get", "set", "exists", "delete"];
const PEERS: [(&str, &str); 4] =
    [("crate", "crate"), ("kazoo", "Kazoo"), ("curator", "Curator"), ("floor", "floor")];

fn main() {
    mem::child_main();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        eprintln!("compare is a benchmark: run `cargo bench --bench compare` or scripts/bench.sh");
        return;
    }
    if let Err(e) = run(&args) {
        eprintln!("compare: {e}");
        std::process::exit(1);
    }
}

/// Every workload, or those `--only` selects.
fn workloads(args: &[String]) -> Vec<Workload> {
    let only = args.iter().position(|a| a == "--only").and_then(|i| args.get(i + 1));
    let all = vec![
        Workload::Serial,
        Workload::Exists(1),
        Workload::Exists(2),
        Workload::Exists(4),
        Workload::Exists(8),
        Workload::GetPipelined(1000),
        Workload::Lock(LockKind::Write),
        Workload::Lock(LockKind::Read),
        Workload::Lock(LockKind::Semaphore),
        Workload::Handoff(4),
    ];
    match only {
        None => all,
        Some(words) => all
            .into_iter()
            .filter(|w| words.split(',').any(|word| !word.is_empty() && w.row().contains(word)))
            .collect(),
    }
}

fn run(args: &[String]) -> R<()> {
    let cfg = Cfg::from_args(args);
    let python = if args.iter().any(|a| a == "--no-kazoo") { None } else { kazoo::python() };
    let (server, fsync) = common::server(args)?;
    let connect = server.connect_string();
    let zk_version = server.four_letter("srvr")?.lines().next().unwrap_or("").trim().to_string();
    let admin = zkcluster::Client::connect(&connect)?;
    common::prepare(&admin)?;

    let mut peers: Vec<Box<dyn Peer>> =
        vec![Box::new(Zk::new(&connect)?), Box::new(Crate::new(&connect)?)];
    let kazoo_version = match &python {
        Some(py) => {
            peers.push(Box::new(kazoo::Kazoo::start(py, &connect)?));
            Some(kazoo::version(py))
        }
        None => {
            eprintln!("no Kazoo venv (run scripts/bench.sh or set ZKCLUSTER_BENCH_PYTHON): Kazoo is left out");
            None
        }
    };
    let curator_cp =
        if args.iter().any(|a| a == "--no-curator") { None } else { curator::classpath() };
    let curator_version = match &curator_cp {
        Some(cp) => {
            peers.push(Box::new(curator::Curator::start(cp, &connect)?));
            Some(curator::version())
        }
        None => {
            eprintln!("no Curator peer (run scripts/bench.sh or scripts/curator-peer.sh): Curator is left out");
            None
        }
    };
    peers.push(Box::new(Floor { addr: connect.clone() }));
    eprintln!("{cfg:?}, server {connect}");
    let workloads = workloads(args);
    if workloads.is_empty() {
        return Err(
            "--only matched no workload (rows: serial, exists, get, cycle, hand-off)".into()
        );
    }
    let results = common::run_rounds(&cfg, &mut peers, &workloads, &admin);
    drop(peers);

    let everything = !args.iter().any(|a| a == "--only");
    let mut memory = Vec::new();
    if everything {
        eprintln!("memory ...");
    }
    for peer in ["zkcluster", "crate", "kazoo"] {
        if !everything || (peer == "kazoo" && python.is_none()) {
            continue;
        }
        for mode in ["idle", "watches"] {
            let m = mem::measure(peer, mode, &connect, python.as_deref());
            memory.push((peer, mode, m.map_err(|e| e.to_string())));
        }
    }
    admin.close()?;

    let versions = Versions {
        zookeeper: &zk_version,
        kazoo: kazoo_version.as_deref(),
        curator: curator_version.as_deref(),
    };
    let report = render(&cfg, &results, &memory, &versions, fsync);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-report.md");
    std::fs::create_dir_all(path.parent().ok_or("no parent")?)?;
    std::fs::write(&path, &report)?;
    println!("{report}");
    eprintln!("written to {}", path.display());
    Ok(())
}

type MemRow<'a> = (&'a str, &'a str, Result<Mem, String>);

/// The versions the report names (`None`: that peer did not run).
struct Versions<'a> {
    zookeeper: &'a str,
    kazoo: Option<&'a str>,
    curator: Option<&'a str>,
}

fn render(
    cfg: &Cfg,
    res: &Results,
    memory: &[MemRow<'_>],
    v: &Versions<'_>,
    fsync: bool,
) -> String {
    let zk_version = v.zookeeper;
    let mut out = String::new();
    let _ = writeln!(out, "# zkcluster benchmark report\n");
    let _ = writeln!(out, "- machine: {}", common::machine());
    let _ = writeln!(
        out,
        "- server: one standalone ZooKeeper from the test kit (`{zk_version}`) on loopback, {}",
        if fsync {
            "syncing its log to disk on every write"
        } else {
            "with `forceSync=no` (no fsync per write: the same for every peer, and on this shared \
             disk too erratic to compare clients through; `--fsync` turns it back on)"
        }
    );
    let _ = writeln!(
        out,
        "- peers: zkcluster {}, `zookeeper` crate 0.8, Kazoo {}, Curator {}, bare-socket floor",
        env!("CARGO_PKG_VERSION"),
        v.kazoo.unwrap_or("(not run)"),
        v.curator.map_or_else(|| "(not run)".to_string(), |c| format!("{c} (Debian, OpenJDK)"))
    );
    let _ = writeln!(
        out,
        "- {} rounds after a warm-up; {} nodes per serial phase, {:?} per timed slice; peers alternate \
         within each round (rotating order); figures are medians over rounds, ratios medians of \
         per-round ratios\n",
        cfg.rounds, cfg.serial_n, cfg.slice
    );
    let present: Vec<_> = PEERS.iter().filter(|(p, _)| res.has_peer(p)).collect();
    let mut header = "| op | zkcluster |".to_string();
    let mut rule = "|---|---:|".to_string();
    for (_, label) in &present {
        let _ = write!(header, " {label} |");
        rule.push_str("---:|");
    }
    for (_, label) in &present {
        let _ = write!(header, " zkcluster ÷ {label} |");
        rule.push_str("---:|");
    }
    let _ = writeln!(out, "ops/s (higher is better)\n\n{header}\n{rule}");
    for row in &res.rows {
        let mut line = format!("| {row} | {} |", rate(res.median(row, "zkcluster")));
        for (p, _) in &present {
            let _ = write!(line, " {} |", rate(res.median(row, p)));
        }
        for (p, _) in &present {
            let _ = write!(line, " {} |", times(res.ratio(row, "zkcluster", p)));
        }
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(
        out,
        "\n- serial rows: one call at a time on one session; the floor sends the same request on a \
         raw socket and blocks for its reply.\n\
         - `exists, N threads`: N threads share one session (zkcluster, crate); Kazoo keeps N \
         `exists_async` in flight; the floor is the pipelined socket loop with N requests in flight.\n\
         - `get, 1000 pipelined`: one thread sends 1000 `get_node_async` and waits for them, again \
         and again (Kazoo: `get_async`); the floor keeps 1000 in flight.\n\
         - lock rows: acquire + release of an uncontended WriteLock / ReadLock / Semaphore ({} \
         leases) — for zkcluster acquire + drop, which puts the delete on the wire without \
         waiting; the crate runs the minimal hand-written create(ephemeral sequential) / \
         getChildren / delete cycle instead (3 round trips), the floor the same cycle in one round \
         trip (the last delete, the create and the getChildren pipelined); for the semaphore the \
         floor is Kazoo's layout in one round trip (create and list the inner lock, list the pool, \
         create the lease, behind the last cycle's two deletes: four writes a cycle where a lock \
         has two). Curator runs \
         InterProcessMutex, InterProcessReadWriteLock's read lock and InterProcessSemaphoreV2 \
         (same lease count).\n\
         - hand-off: 4 threads, one session each, passing one WriteLock (acquire, drop; Curator: \
         InterProcessMutex); the floor does the least a lock can (queue, list, watch the \
         predecessor, wait for its deletion, delete) on raw sockets.\n",
        common::SEMAPHORE_LEASES
    );

    let _ = writeln!(out, "## Targets\n");
    for line in targets(res) {
        let _ = writeln!(out, "- {line}");
    }

    // Skipped by `--only`.
    if !memory.is_empty() {
        let _ = writeln!(out, "\n## Memory and threads of one client\n");
        let _ = writeln!(
            out,
            "Each figure comes from a fresh process: peak RSS (VmHWM) and threads after connecting \
             (`idle`) or after leaving {} watches (exists on absent nodes); \"before\" is the same \
             process before it connected (for Kazoo: after `import kazoo`).\n",
            mem::WATCHES
        );
        let _ = writeln!(
            out,
            "| client | state | peak RSS | RSS | threads | peak RSS before | threads before |"
        );
        let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|");
        for (peer, mode, m) in memory {
            let mode = if *mode == "watches" { "1,000 watches" } else { "idle" };
            match m {
                Ok(m) => {
                    let _ = writeln!(
                        out,
                        "| {peer} | {mode} | {:.1} MiB | {:.1} MiB | {} | {:.1} MiB | {} |",
                        m.hwm_kb / 1024.0,
                        m.rss_kb / 1024.0,
                        m.threads,
                        m.base_hwm_kb / 1024.0,
                        m.base_threads
                    );
                }
                Err(e) => {
                    let _ = writeln!(out, "| {peer} | {mode} | failed: {e} | | | | |");
                }
            }
        }
    }
    let _ = writeln!(out, "\n## Per-round figures (ops/s)\n");
    for (row, peer, series) in res.all_series() {
        let figures: Vec<String> = series.iter().map(|v| rate(*v)).collect();
        let _ = writeln!(out, "- {row} / {peer}: {}", figures.join(", "));
    }
    if !res.errors.is_empty() {
        let _ = writeln!(out, "\n## Failures\n");
        for e in &res.errors {
            let _ = writeln!(out, "- {e}");
        }
    }
    out
}

fn verdict(value: Option<f64>, ok: impl Fn(f64) -> bool) -> &'static str {
    match value {
        Some(v) if ok(v) => "met",
        Some(_) => "**missed**",
        None => "not measured",
    }
}

fn targets(res: &Results) -> Vec<String> {
    let mut lines = Vec::new();
    for op in SERIAL {
        let floor = res.ratio(op, "zkcluster", "floor");
        let krate = res.ratio(op, "zkcluster", "crate");
        lines.push(format!(
            "serial {op}: {} of the floor (≥ 0.95×: {}), {} the crate (≥ 1.1×: {})",
            times(floor),
            verdict(floor, |v| v >= 0.95),
            times(krate),
            verdict(krate, |v| v >= 1.1)
        ));
    }
    let row8 = Workload::Exists(8).row();
    let r = res.ratio(&row8, "zkcluster", "floor");
    lines.push(format!(
        "exists from 8 threads: {} of the pipelined floor (≥ 0.7×: {})",
        times(r),
        verdict(r, |v| v >= 0.7)
    ));
    let r = res.paired((&row8, "zkcluster"), ("exists", "zkcluster"), |a, b| a / b);
    lines.push(format!(
        "exists from 8 threads: {} our serial exists (≥ 2.5×: {})",
        times(r),
        verdict(r, |v| v >= 2.5)
    ));
    let ratio_line = |what: &str, row: &str, peer: &str, label: &str, at_least: f64| {
        let r = res.ratio(row, "zkcluster", peer);
        format!("{what}: {} {label}'s (≥ {at_least}×: {})", times(r), verdict(r, |v| v >= at_least))
    };
    let lock = Workload::Lock(LockKind::Write).row();
    let read = Workload::Lock(LockKind::Read).row();
    let semaphore = Workload::Lock(LockKind::Semaphore).row();
    lines.push(ratio_line("lock cycle", &lock, "kazoo", "Kazoo", 6.0));
    lines.push(ratio_line("lock cycle", &lock, "curator", "Curator", 3.0));
    lines.push(ratio_line("read-lock cycle", &read, "kazoo", "Kazoo", 5.0));
    lines.push(ratio_line("semaphore cycle", &semaphore, "kazoo", "Kazoo", 8.0));
    lines.push(ratio_line("semaphore cycle", &semaphore, "curator", "Curator", 3.0));
    let r = res.ratio(&lock, "zkcluster", "crate");
    lines.push(format!(
        "lock cycle: {} the crate's minimal 3-call cycle (≥ 1.4×: {})",
        times(r),
        verdict(r, |v| v >= 1.4)
    ));
    lines.push(ratio_line(
        "contended hand-off",
        &Workload::Handoff(4).row(),
        "floor",
        "the floor",
        0.8,
    ));
    // Hand-off: extra time per hand-off over the floor's, in floor round trips (serial exists).
    let handoff = Workload::Handoff(4).row();
    let extra = match (
        res.series(&handoff, "zkcluster"),
        res.series(&handoff, "floor"),
        res.series("exists", "floor"),
    ) {
        (Some(zk), Some(fl), Some(rtt)) => common::median(
            zk.iter()
                .zip(fl)
                .zip(rtt)
                .filter_map(|((z, f), r)| Some((1.0 / (*z)? - 1.0 / (*f)?) * (*r)?))
                .collect(),
        ),
        _ => None,
    };
    lines.push(format!(
        "contended hand-off: {} round trips slower per hand-off than the floor (≤ 2: {})",
        extra.map_or_else(|| "—".to_string(), |v| format!("{v:.2}")),
        verdict(extra, |v| v <= 2.0)
    ));
    let r = res.paired(
        (&Workload::GetPipelined(1000).row(), "zkcluster"),
        ("get", "zkcluster"),
        |a, b| a / b,
    );
    lines.push(format!(
        "1,000 pipelined gets: {} serial gets (> 1×: {})",
        times(r),
        verdict(r, |v| v > 1.0)
    ));
    lines
}
