//! Kazoo as a peer: `scripts/bench_kazoo.py` in a child process, driven line by line over its
//! stdin/stdout (see `line_peer.rs`).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::line_peer::LinePeer;
use super::{Cfg, Peer, Sample, Workload, R};

pub const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/bench_kazoo.py");

/// The Python with Kazoo installed: `$ZKCLUSTER_BENCH_PYTHON`, else the venv `scripts/kazoo-venv.sh`
/// makes (`target/kazoo-venv`). `None` when neither exists.
pub fn python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("ZKCLUSTER_BENCH_PYTHON") {
        return Some(PathBuf::from(p));
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/kazoo-venv/bin/python");
    venv.exists().then_some(venv)
}

/// Kazoo's version, as pip installed it.
pub fn version(python: &Path) -> String {
    Command::new(python)
        .args(["-c", "import importlib.metadata as m; print(m.version('kazoo'))"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map_or_else(|| "?".to_string(), |s| s.trim().to_string())
}

/// Parses one answer of the Kazoo script ("ok key=value ..." or "err ...").
pub fn parse(line: &str) -> R<Vec<(String, f64)>> {
    super::line_peer::parse("kazoo", line)
}

pub struct Kazoo(LinePeer);

impl Kazoo {
    pub fn start(python: &Path, hosts: &str) -> R<Kazoo> {
        Kazoo::start_script(python, Path::new(SCRIPT), hosts)
    }

    /// Runs another driver script that speaks the same line protocol.
    pub fn start_script(python: &Path, script: &Path, hosts: &str) -> R<Kazoo> {
        let mut command = Command::new(python);
        command.arg(script).arg(hosts);
        Ok(Kazoo(LinePeer::start("kazoo", command)?))
    }

    /// Sends one command line and parses the answer.
    pub fn ask(&mut self, command: &str) -> R<Vec<(String, f64)>> {
        self.0.ask(command)
    }
}

impl Peer for Kazoo {
    fn name(&self) -> &'static str {
        "kazoo"
    }

    fn run(&mut self, w: &Workload, cfg: &Cfg, base: &str) -> R<Sample> {
        self.0.run(w, cfg, base)
    }
}
