//! TLS beside plain TCP: the same zkcluster workloads (the serial phases, pipelined gets, the
//! lock cycle) on one ZooKeeper from the test kit, one client on its plain port and one on its
//! TLS port (the kit's certificates, a client certificate presented), in alternating rounds.
//! Prints a table and writes `target/bench-tls.md`; the ratio is TLS over plain TCP, the median
//! of per-round ratios.
//!
//! `scripts/bench.sh --tls [--quick] [--rounds N] [--slice-ms N] [--serial N]`, or
//! `cargo bench --features tls --bench tls -- ...`.

mod common;

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use common::peers::Zk;
use common::{rate, times, Cfg, LockKind, Peer, Sample, Workload, R};
use zkcluster::testing::{TestingServer, TestingTls};
use zkcluster::{Client, TlsConfig};

const PLAIN: &str = "zkcluster";
const TLS: &str = "zkcluster-tls";

/// The zkcluster peer under another name (its client connected over TLS).
struct Named(&'static str, Zk);

impl Peer for Named {
    fn name(&self) -> &'static str {
        self.0
    }

    fn run(&mut self, w: &Workload, cfg: &Cfg, base: &str) -> R<Sample> {
        self.1.run(w, cfg, base)
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        eprintln!("tls is a benchmark: run `scripts/bench.sh --tls`");
        return;
    }
    if let Err(e) = run(&args) {
        eprintln!("tls: {e}");
        std::process::exit(1);
    }
}

fn run(args: &[String]) -> R<()> {
    let cfg = Cfg::from_args(args);
    let certificates = TestingTls::generate()?;
    // No fsync per write, as in the other benches: the same for both sides, and erratic here.
    let server = TestingServer::builder().config_line("forceSync=no").tls(&certificates).start()?;
    let plain = server.connect_string();
    let secure = server.tls_connect_string().ok_or("the server has no TLS port")?;
    let me = certificates.client_certificate("bench")?;
    let tls = TlsConfig::new()
        .ca_pem(certificates.ca_pem())
        .client_certificate_pem(me.cert_pem, me.key_pem);
    let tls_client =
        Client::builder(&secure).tls(tls).connect_timeout(Duration::from_secs(30)).connect()?;
    let admin = Client::connect(&plain)?;
    common::prepare(&admin)?;
    let mut peers: Vec<Box<dyn Peer>> = vec![
        Box::new(Zk::new(&plain)?),
        Box::new(Named(TLS, Zk { connect: secure.clone(), client: tls_client })),
    ];
    eprintln!("{cfg:?}, server {plain} (TLS {secure})");
    let workloads =
        [Workload::Serial, Workload::GetPipelined(1000), Workload::Lock(LockKind::Write)];
    let results = common::run_rounds(&cfg, &mut peers, &workloads, &admin);
    drop(peers);
    admin.close()?;

    let mut report = String::new();
    writeln!(report, "# zkcluster over TLS vs plain TCP\n")?;
    writeln!(
        report,
        "{}; one ZooKeeper from the test kit on loopback (`forceSync=no`), its plain port and its \
         TLS port (rustls with ring; ZooKeeper 3.8 settles on TLS 1.2, ECDHE-ECDSA with \
         AES-128-GCM; a client certificate); {} rounds, {} nodes per \
         serial phase, {:?} per timed slice; the two clients alternate within every round.",
        common::machine(),
        cfg.rounds,
        cfg.serial_n,
        cfg.slice
    )?;
    writeln!(report, "Medians over rounds; the ratio is the median of per-round ratios.\n")?;
    writeln!(report, "| workload | plain TCP ops/s | TLS ops/s | TLS / plain TCP |")?;
    writeln!(report, "|---|---:|---:|---:|")?;
    for row in &results.rows {
        let label = match row.as_str() {
            "create" | "get" | "set" | "exists" | "delete" => format!("serial {row}"),
            other => other.to_string(),
        };
        writeln!(
            report,
            "| {label} | {} | {} | {} |",
            rate(results.median(row, PLAIN)),
            rate(results.median(row, TLS)),
            times(results.ratio(row, TLS, PLAIN))
        )?;
    }
    for e in &results.errors {
        writeln!(report, "\nfailed: {e}")?;
    }
    print!("{report}");
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-tls.md");
    std::fs::write(&out, &report)?;
    eprintln!("report: {}", out.display());
    if results.errors.is_empty() {
        Ok(())
    } else {
        Err(format!("{} workload runs failed", results.errors.len()).into())
    }
}
