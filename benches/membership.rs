//! Party membership beside Kazoo: join + list + leave cycles, and listings of a party of ten,
//! for `Party` (identifiers in the data) and `ShallowParty` (in the names), zkcluster and
//! Kazoo 2.11 against one ZooKeeper from the test kit, back to back in alternating rounds.
//! Prints a table and writes `target/bench-membership.md`.
//!
//! `scripts/bench.sh --membership [--quick] [--rounds N] [--slice-ms N]`, or
//! `cargo bench --bench membership -- ...` with `$ZKCLUSTER_BENCH_PYTHON` pointing at a Python
//! with Kazoo (scripts/kazoo-venv.sh makes one).

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{kazoo, median, rate, times, Cfg, R};
use zkcluster::recipe::{Party, ShallowParty};
use zkcluster::Client;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/bench_kazoo_membership.py");
const MEMBERS: usize = 10;
const DEEP: &str = "/bench/party-deep";
const SHALLOW: &str = "/bench/party-shallow";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Party,
    Shallow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Work {
    JoinList(Kind),
    List(Kind),
}

impl Work {
    fn row(self) -> String {
        let (what, kind) = match self {
            Work::JoinList(k) => ("join + list + leave", k),
            Work::List(k) => ("list", k),
        };
        let kind = if kind == Kind::Party { "Party" } else { "ShallowParty" };
        format!("{what}, {kind} of {MEMBERS}")
    }

    fn kazoo_command(self, secs: f64) -> String {
        let (cmd, kind) = match self {
            Work::JoinList(k) => ("joinlist", k),
            Work::List(k) => ("list", k),
        };
        let (kind, path) = if kind == Kind::Party { ("party", DEEP) } else { ("shallow", SHALLOW) };
        format!("{cmd} {kind} {secs} {path}")
    }
}

const WORK: [Work; 4] = [
    Work::JoinList(Kind::Party),
    Work::JoinList(Kind::Shallow),
    Work::List(Kind::Party),
    Work::List(Kind::Shallow),
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        eprintln!("membership is a benchmark: run `scripts/bench.sh --membership`");
        return;
    }
    if let Err(e) = run(&args) {
        eprintln!("membership: {e}");
        std::process::exit(1);
    }
}

/// One member that joins, lists and leaves, or lists, for `slice`; ops/s.
fn ours(client: &Client, work: Work, slice: Duration) -> R<f64> {
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < slice {
        match work {
            Work::JoinList(kind) => {
                let id = format!("rust-bench-{n}");
                let members = match kind {
                    Kind::Party => {
                        let p = Party::new(client, DEEP, &id)?;
                        p.join()?;
                        let m = p.members()?;
                        p.leave()?;
                        m
                    }
                    Kind::Shallow => {
                        let p = ShallowParty::new(client, SHALLOW, &id)?;
                        p.join()?;
                        let m = p.members()?;
                        p.leave()?;
                        m
                    }
                };
                if !members.contains(&id) {
                    return Err("the new member is not listed".into());
                }
            }
            Work::List(_) => unreachable!("listings reuse one party object"),
        }
        n += 1;
    }
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

fn ours_list(deep: &Party, shallow: &ShallowParty, kind: Kind, slice: Duration) -> R<f64> {
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < slice {
        let members = match kind {
            Kind::Party => deep.members()?,
            Kind::Shallow => shallow.members()?,
        };
        if members.len() != MEMBERS {
            return Err(format!("listed {} members, not {MEMBERS}", members.len()).into());
        }
        n += 1;
    }
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

/// Kazoo's side: one run of `work` by the driver script; ops/s.
fn theirs(peer: &mut kazoo::Kazoo, work: Work, slice: Duration) -> R<f64> {
    let fields = peer.ask(&work.kazoo_command(slice.as_secs_f64()))?;
    fields
        .into_iter()
        .find(|(k, _)| k == "rate")
        .map(|(_, v)| v)
        .ok_or_else(|| "no rate in Kazoo's answer".into())
}

fn run(args: &[String]) -> R<()> {
    let cfg = Cfg::from_args(args);
    let slice = cfg.slice * 2;
    let python = kazoo::python().ok_or(
        "no Kazoo venv: run scripts/bench.sh --membership (or set ZKCLUSTER_BENCH_PYTHON)",
    )?;
    let (server, _) = common::server(args)?;
    let connect = server.connect_string();
    let admin = Client::connect(&connect)?;
    common::prepare(&admin)?;
    // The ten members every workload sees, joined by a client of their own.
    let members = Client::connect(&connect)?;
    let mut standing = Vec::new();
    for i in 0..MEMBERS {
        let deep = Party::new(&members, DEEP, &format!("member-{i}"))?;
        deep.join()?;
        let shallow = ShallowParty::new(&members, SHALLOW, &format!("member-{i}"))?;
        shallow.join()?;
        standing.push((deep, shallow));
    }
    let client = Client::connect(&connect)?;
    let lister =
        (Party::new(&client, DEEP, "lister")?, ShallowParty::new(&client, SHALLOW, "lister")?);
    let mut peer = kazoo::Kazoo::start_script(&python, Path::new(SCRIPT), &connect)?;
    let version = kazoo::version(&python);
    eprintln!("{cfg:?}, server {connect}, Kazoo {version}");

    let mut figures: BTreeMap<(usize, &str), Vec<f64>> = BTreeMap::new();
    let mut ratios: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
    for round in 0..=cfg.rounds {
        let warm = round == 0;
        eprintln!(
            "{} ...",
            if warm { "warm-up".to_string() } else { format!("round {round}/{}", cfg.rounds) }
        );
        let this_slice = if warm { slice / 4 } else { slice };
        for (wi, work) in WORK.iter().enumerate() {
            let run_ours = || match work {
                Work::JoinList(_) => ours(&client, *work, this_slice),
                Work::List(kind) => ours_list(&lister.0, &lister.1, *kind, this_slice),
            };
            let (a, b) = if (round + wi) % 2 == 0 {
                let a = run_ours()?;
                (a, theirs(&mut peer, *work, this_slice)?)
            } else {
                let b = theirs(&mut peer, *work, this_slice)?;
                (run_ours()?, b)
            };
            if !warm {
                figures.entry((wi, "zkcluster")).or_default().push(a);
                figures.entry((wi, "kazoo")).or_default().push(b);
                ratios.entry(wi).or_default().push(a / b);
            }
        }
    }
    drop(peer);
    drop(standing);

    let mut report = String::new();
    writeln!(report, "# Party membership, zkcluster vs Kazoo {version}\n")?;
    writeln!(
        report,
        "{}; ZooKeeper at {connect}; {} rounds of {slice:?} per workload.",
        common::machine(),
        cfg.rounds
    )?;
    writeln!(report, "Medians over rounds; the ratio is the median of per-round ratios.\n")?;
    writeln!(report, "| workload | zkcluster ops/s | Kazoo ops/s | zkcluster / Kazoo |")?;
    writeln!(report, "|---|---:|---:|---:|")?;
    for (wi, work) in WORK.iter().enumerate() {
        let ours = median(figures.get(&(wi, "zkcluster")).cloned().unwrap_or_default());
        let theirs = median(figures.get(&(wi, "kazoo")).cloned().unwrap_or_default());
        let ratio = median(ratios.get(&wi).cloned().unwrap_or_default());
        writeln!(
            report,
            "| {} | {} | {} | {} |",
            work.row(),
            rate(ours),
            rate(theirs),
            times(ratio)
        )?;
    }
    print!("{report}");
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-membership.md");
    std::fs::write(&out, &report)?;
    eprintln!("report: {}", out.display());
    Ok(())
}
