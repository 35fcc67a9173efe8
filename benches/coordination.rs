//! The coordination recipes beside Kazoo's, in alternating rounds against one server from the
//! test kit: counter increments per second from 8 threads sharing one session, and the
//! election hand-over time once the leader's session is closed. Curator 5.4 (Debian's jars;
//! `SharedCount` and `LeaderLatch`) runs beside them when installed (`--no-curator` skips it).
//!
//! `cargo bench --bench coordination [-- --quick] [--rounds N] [--secs S] [--handovers N]`
//! (or `scripts/bench.sh --coordination`). Prints a table and writes
//! `target/bench-coordination.md`. Each round measures both peers back to back; the ratio
//! column is the median of the per-round ratios, so drift on a shared machine hits both sides
//! alike. Kazoo is driven through `scripts/bench_kazoo_coordination.py`, Curator through
//! `scripts/BenchCuratorCoordination.java`.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{median, R};
use zkcluster::{Client, Counter, Election};

const KAZOO_SCRIPT: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/bench_kazoo_coordination.py");
const CURATOR_PROGRAM: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/BenchCuratorCoordination.java");
const THREADS: usize = 8;

struct Cfg {
    rounds: usize,
    secs: f64,
    handovers: usize,
}

fn arg<T: std::str::FromStr>(args: &[String], name: &str) -> Option<T> {
    args.windows(2).find(|w| w[0] == name).and_then(|w| w[1].parse().ok())
}

fn connect(hosts: &str) -> R<Client> {
    Ok(Client::builder(hosts)
        .session_timeout(Duration::from_secs(10))
        .request_timeout(Duration::from_secs(10))
        .connect()?)
}

/// Increments per second from `THREADS` threads sharing one client and one counter object.
fn our_counter(client: &Client, secs: f64, path: &str) -> R<f64> {
    let counter = Arc::new(Counter::new(client, path)?);
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let (counter, stop, done) = (counter.clone(), stop.clone(), done.clone());
            std::thread::spawn(move || -> zkcluster::Result<()> {
                while !stop.load(Ordering::Relaxed) {
                    counter.add(1)?;
                    done.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(secs));
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().map_err(|_| "counter thread panicked")??;
    }
    let ops = done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    let value = counter.value()?;
    if value != done.load(Ordering::Relaxed) as i64 {
        return Err(format!(
            "counter at {value}, {} increments made",
            done.load(Ordering::Relaxed)
        )
        .into());
    }
    Ok(ops)
}

/// Median milliseconds from closing the leader's client to the follower leading.
fn our_handover(hosts: &str, n: usize, base: &str) -> R<f64> {
    let follower_client = connect(hosts)?;
    let mut times = Vec::new();
    for i in 0..n {
        let path = format!("{base}/{i}");
        let leader_client = connect(hosts)?;
        let leader = Election::new(&leader_client, &path, "leader")?;
        let leadership = leader.lead()?;
        let follower = Election::new(&follower_client, &path, "follower")?;
        let (tx, rx) = crossbeam_channel::bounded(1);
        let waiting = std::thread::spawn(move || {
            let led = follower.lead().map(|l| (Instant::now(), l));
            let _ = tx.send(led.is_ok());
            led.map(|(at, _)| at)
        });
        while leader.contenders()?.len() < 2 {
            std::thread::sleep(Duration::from_millis(1));
        }
        let started = Instant::now();
        leader_client.close()?;
        rx.recv_timeout(Duration::from_secs(30)).map_err(|_| "the follower never led")?;
        let led_at = waiting.join().map_err(|_| "follower panicked")??;
        times.push(led_at.duration_since(started).as_secs_f64() * 1000.0);
        drop(leadership);
    }
    follower_client.close()?;
    median(times).ok_or_else(|| "no hand-over measured".into())
}

/// A peer in a child process (Kazoo's Python script, Curator's Java program), driven one
/// command line at a time.
struct Process {
    name: &'static str,
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

/// Debian's Curator 5.4 and the ZooKeeper client jars it runs on.
const CURATOR_JARS: &[&str] = &[
    "curator-framework",
    "curator-client",
    "curator-recipes",
    "zookeeper",
    "zookeeper-jute",
    "guava",
    "slf4j-api",
];

impl Process {
    fn kazoo(hosts: &str) -> R<Process> {
        let python = common::kazoo::python()
            .ok_or("no Kazoo venv: run `bash scripts/kazoo-venv.sh` (or scripts/bench.sh)")?;
        let mut command = Command::new(&python);
        command.arg(KAZOO_SCRIPT).arg(hosts);
        Process::start("kazoo", command)
    }

    /// `None` when Debian's Curator jars are not installed (libcurator-recipes-java).
    fn curator(hosts: &str) -> R<Option<Process>> {
        let jars: Vec<String> =
            CURATOR_JARS.iter().map(|j| format!("/usr/share/java/{j}.jar")).collect();
        if let Some(missing) = jars.iter().find(|j| !std::path::Path::new(j).exists()) {
            eprintln!(
                "no Curator column: {missing} is missing (apt-get install libcurator-recipes-java)"
            );
            return Ok(None);
        }
        let mut command = Command::new("java");
        command.args(["-cp", &jars.join(":"), CURATOR_PROGRAM, hosts]);
        Process::start("curator", command).map(Some)
    }

    fn start(name: &'static str, mut command: Command) -> R<Process> {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start the {name} peer: {e}"))?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        Ok(Process { name, child, stdin, stdout })
    }

    fn ask(&mut self, command: &str, field: &str) -> R<f64> {
        writeln!(self.stdin, "{command}")?;
        self.stdin.flush()?;
        let mut line = String::new();
        if self.stdout.read_line(&mut line)? == 0 {
            return Err(format!("the {} peer exited", self.name).into());
        }
        let fields = common::kazoo::parse(&line).map_err(|e| format!("{}: {e}", self.name))?;
        Ok(fields.iter().find(|(k, _)| k == field).ok_or("peer: field missing")?.1)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.stdin.flush();
        let _ = self.child.wait();
    }
}

/// One row: per-round values of every peer.
struct Row {
    name: &'static str,
    unit: &'static str,
    /// Whether more is better (rates) or less (times).
    higher_is_better: bool,
    ours: Vec<f64>,
    kazoo: Vec<f64>,
    curator: Vec<f64>,
}

impl Row {
    fn new(name: &'static str, unit: &'static str, higher_is_better: bool) -> Row {
        Row {
            name,
            unit,
            higher_is_better,
            ours: Vec::new(),
            kazoo: Vec::new(),
            curator: Vec::new(),
        }
    }

    /// How many times better zkcluster did than `peer`, median of per-round ratios.
    fn advantage(&self, peer: &[f64]) -> Option<f64> {
        let ratios = self
            .ours
            .iter()
            .zip(peer)
            .map(|(o, p)| if self.higher_is_better { o / p } else { p / o })
            .collect();
        median(ratios)
    }
}

fn main() -> R<()> {
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--bench") {
        println!(
            "run with `cargo bench --bench coordination` or `scripts/bench.sh --coordination`"
        );
        return Ok(());
    }
    let quick = args.iter().any(|a| a == "--quick");
    let cfg = Cfg {
        rounds: arg(&args, "--rounds").unwrap_or(if quick { 2 } else { 5 }),
        secs: arg(&args, "--secs").unwrap_or(if quick { 1.0 } else { 2.0 }),
        handovers: arg(&args, "--handovers").unwrap_or(if quick { 3 } else { 7 }),
    };
    let (server, _) = common::server(&args)?;
    let hosts = server.connect_string();
    let client = connect(&hosts)?;
    client.ensure_path("/bench-coordination")?;
    let mut kazoo = Process::kazoo(&hosts)?;
    let mut curator =
        if args.iter().any(|a| a == "--no-curator") { None } else { Process::curator(&hosts)? };
    let mut counter = Row::new("counter +1, 8 threads, one session", "increments/s", true);
    let mut handover =
        Row::new("election hand-over after the leader's session closes", "ms", false);
    for round in 0..=cfg.rounds {
        let base = format!("/bench-coordination/r{round}");
        let counter_cmd =
            |peer: &str| format!("counter {THREADS} {} {base}-{peer}-counter", cfg.secs);
        let handover_cmd =
            |peer: &str| format!("handover {} {base}-{peer}-election", cfg.handovers);
        let c_ours = our_counter(&client, cfg.secs, &format!("{base}-ours-counter"))?;
        let c_kazoo = kazoo.ask(&counter_cmd("kazoo"), "ops")?;
        let c_curator =
            curator.as_mut().map(|p| p.ask(&counter_cmd("curator"), "ops")).transpose()?;
        let h_ours = our_handover(&hosts, cfg.handovers, &format!("{base}-ours-election"))?;
        let h_kazoo = kazoo.ask(&handover_cmd("kazoo"), "ms")?;
        let h_curator =
            curator.as_mut().map(|p| p.ask(&handover_cmd("curator"), "ms")).transpose()?;
        eprintln!(
            "round {round}{}: counter {c_ours:.0}/s, Kazoo {c_kazoo:.0}/s, Curator {}/s; \
             hand-over {h_ours:.1} ms, Kazoo {h_kazoo:.1} ms, Curator {} ms",
            if round == 0 { " (warm-up)" } else { "" },
            c_curator.map_or("-".into(), |v| format!("{v:.0}")),
            h_curator.map_or("-".into(), |v| format!("{v:.1}")),
        );
        if round > 0 {
            counter.ours.push(c_ours);
            counter.kazoo.push(c_kazoo);
            counter.curator.extend(c_curator);
            handover.ours.push(h_ours);
            handover.kazoo.push(h_kazoo);
            handover.curator.extend(h_curator);
        }
    }
    drop(kazoo);
    drop(curator);
    client.delete_recursive("/bench-coordination")?;
    client.close()?;

    let mut report = format!(
        "# Coordination recipes: zkcluster beside Kazoo {} and Curator 5.4\n\n{} rounds (medians; \
         ratio = median of per-round ratios, > 1 means zkcluster is better)\non {}\n\n\
         | workload | zkcluster | Kazoo | Curator | ÷ Kazoo | ÷ Curator |\n|---|---|---|---|---|---|\n",
        common::kazoo::python().map_or_else(|| "?".to_string(), |p| common::kazoo::version(&p)),
        cfg.rounds,
        common::machine(),
    );
    for row in [&counter, &handover] {
        let show =
            |v: &[f64]| median(v.to_vec()).map_or("-".into(), |m| format!("{m:.1} {}", row.unit));
        let ratio = |v: &[f64]| row.advantage(v).map_or("-".into(), |r| format!("{r:.2}x"));
        report.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            row.name,
            show(&row.ours),
            show(&row.kazoo),
            show(&row.curator),
            ratio(&row.kazoo),
            ratio(&row.curator),
        ));
    }
    print!("{report}");
    let out = concat!(env!("CARGO_MANIFEST_DIR"), "/target/bench-coordination.md");
    std::fs::write(out, &report)?;
    eprintln!("report: {out}");
    Ok(())
}
