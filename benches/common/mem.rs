//! Peak RSS and thread count of one client, each measured in a fresh child process so that
//! peaks never mix: the bench binary re-runs itself with `ZKBENCH_MEM_CHILD=peer:mode` (or runs
//! the Kazoo script with `--rss`), and the child reports `/proc/self/status` after connecting
//! (and, in mode `watches`, after leaving 1,000 watches on nodes that do not exist).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::{kazoo, R};

const CHILD_ENV: &str = "ZKBENCH_MEM_CHILD";
const CONNECT_ENV: &str = "ZKBENCH_CONNECT";
pub const WATCHES: usize = 1000;

#[derive(Debug, Clone, Copy)]
pub struct Mem {
    pub hwm_kb: f64,
    pub rss_kb: f64,
    pub threads: f64,
    /// The same process before it loaded/connected the client.
    pub base_hwm_kb: f64,
    pub base_threads: f64,
}

fn status() -> (u64, u64, u64) {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"), field("Threads:"))
}

fn child(spec: &str, connect: &str) -> R<String> {
    let (peer, mode) = spec.split_once(':').ok_or("bad child spec")?;
    let watches = mode == "watches";
    let (base_hwm, _, base_threads) = status();
    let keep: Box<dyn std::any::Any> = match peer {
        "zkcluster" => {
            let client = zkcluster::Client::connect(connect)?;
            let mut receivers = Vec::new();
            if watches {
                for i in 0..WATCHES {
                    let (stat, rx) = client.exist_node_watch(&format!("/bench/watched/n{i}"))?;
                    assert!(stat.is_none());
                    receivers.push(rx);
                }
            }
            Box::new((client, receivers))
        }
        "crate" => {
            let zk = zookeeper::ZooKeeper::connect(
                connect,
                Duration::from_secs(30),
                |_: zookeeper::WatchedEvent| {},
            )?;
            zk.exists("/", false)?;
            if watches {
                for i in 0..WATCHES {
                    zk.exists(&format!("/bench/watched/n{i}"), true)?;
                }
            }
            Box::new(zk)
        }
        other => return Err(format!("no such peer {other}").into()),
    };
    std::thread::sleep(Duration::from_millis(300));
    let (hwm, rss, threads) = status();
    drop(keep);
    Ok(format!("ok hwm_kb={hwm} rss_kb={rss} threads={threads} base_hwm_kb={base_hwm} base_threads={base_threads}"))
}

/// In a measuring child: measures, prints, and exits. Returns otherwise.
pub fn child_main() {
    let Ok(spec) = std::env::var(CHILD_ENV) else { return };
    let connect = std::env::var(CONNECT_ENV).unwrap_or_default();
    match child(&spec, &connect) {
        Ok(line) => println!("{line}"),
        Err(e) => println!("err {e}"),
    }
    std::process::exit(0);
}

fn parse(out: &[u8]) -> R<Mem> {
    let text = String::from_utf8_lossy(out);
    let line = text
        .lines()
        .rev()
        .find(|l| l.starts_with("ok") || l.starts_with("err"))
        .unwrap_or("err no output");
    let fields = kazoo::parse(line)?;
    let get = |k: &str| {
        fields.iter().find(|(name, _)| name == k).map(|(_, v)| *v).ok_or(format!("no {k}"))
    };
    Ok(Mem {
        hwm_kb: get("hwm_kb")?,
        rss_kb: get("rss_kb")?,
        threads: get("threads")?,
        base_hwm_kb: get("base_hwm_kb")?,
        base_threads: get("base_threads")?,
    })
}

/// Measures `peer` ("zkcluster", "crate" or "kazoo") in `mode` ("idle" or "watches").
pub fn measure(peer: &str, mode: &str, connect: &str, python: Option<&Path>) -> R<Mem> {
    let output = if peer == "kazoo" {
        let python = python.ok_or("no python with kazoo")?;
        Command::new(python).args([kazoo::SCRIPT, "--rss", mode, connect]).output()?
    } else {
        Command::new(std::env::current_exe()?)
            .env(CHILD_ENV, format!("{peer}:{mode}"))
            .env(CONNECT_ENV, connect)
            .output()?
    };
    parse(&output.stdout)
}
