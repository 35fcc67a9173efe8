//! Issue A's engine benchmark: on one server, serial create/get/set/exists/delete with zkcluster
//! and with the `zookeeper` crate, and exists from 8 threads sharing one zkcluster client.
//! `cargo bench --bench ops -- [--quick] [--rounds N] [--slice-ms N] [--serial N]`.

mod common;

use common::peers::{Crate, Zk};
use common::{rate, times, Cfg, Peer, Workload, R};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        eprintln!("ops is a benchmark: run `cargo bench --bench ops`");
        return;
    }
    if let Err(e) = run(&args) {
        eprintln!("ops: {e}");
        std::process::exit(1);
    }
}

fn run(args: &[String]) -> R<()> {
    let cfg = Cfg::from_args(args);
    let (server, fsync) = common::server(args)?;
    let connect = server.connect_string();
    let admin = zkcluster::Client::connect(&connect)?;
    common::prepare(&admin)?;
    let mut peers: Vec<Box<dyn Peer>> =
        vec![Box::new(Zk::new(&connect)?), Box::new(Crate::new(&connect)?)];
    // exists from 8 threads is compared with our own serial exists of the same round.
    let workloads = [Workload::Serial, Workload::Exists(8)];
    let res = common::run_rounds(&cfg, &mut peers, &workloads, &admin);
    println!(
        "{}; {} rounds, {} nodes per serial phase, {:?} slices; server {}\n",
        common::machine(),
        cfg.rounds,
        cfg.serial_n,
        cfg.slice,
        if fsync { "syncing every write" } else { "with forceSync=no" }
    );
    println!("| op | zkcluster ops/s | crate ops/s | zkcluster ÷ crate | target ≥ 1.1× |");
    println!("|---|---:|---:|---:|---|");
    let mut all_met = true;
    for op in ["create", "get", "set", "exists", "delete"] {
        let r = res.ratio(op, "zkcluster", "crate");
        let met = r.is_some_and(|r| r >= 1.1);
        all_met &= met;
        println!(
            "| {op} | {} | {} | {} | {} |",
            rate(res.median(op, "zkcluster")),
            rate(res.median(op, "crate")),
            times(r),
            if met { "met" } else { "MISSED" }
        );
    }
    let row8 = Workload::Exists(8).row();
    let r = res.paired((&row8, "zkcluster"), ("exists", "zkcluster"), |a, b| a / b);
    let met = r.is_some_and(|r| r >= 2.5);
    all_met &= met;
    println!(
        "\nexists from 8 threads sharing one zkcluster client: {} ops/s = {} our serial exists (target ≥ 2.5×: {}); \
         the crate from 8 threads: {} ops/s",
        rate(res.median(&row8, "zkcluster")),
        times(r),
        if met { "met" } else { "MISSED" },
        rate(res.median(&row8, "crate"))
    );
    for e in &res.errors {
        println!("failure: {e}");
    }
    println!(
        "\n{}",
        if all_met { "all issue-A targets met" } else { "some issue-A targets missed" }
    );
    Ok(())
}
