//! Kazoo as a peer: `scripts/bench_kazoo.py` in a child process, driven line by line over its
//! stdin/stdout, so its workloads interleave with the Rust peers' in every round.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use super::{Cfg, LockKind, Peer, Sample, Workload, R};

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

/// Parses "ok key=value ..." into pairs; "err ..." into an error.
pub fn parse(line: &str) -> R<Vec<(String, f64)>> {
    let line = line.trim();
    let Some(rest) = line.strip_prefix("ok") else {
        return Err(format!("kazoo: {line}").into());
    };
    rest.split_whitespace()
        .map(|kv| {
            let (k, v) = kv.split_once('=').ok_or_else(|| format!("kazoo: bad field {kv:?}"))?;
            Ok((k.to_string(), v.parse::<f64>().map_err(|e| format!("kazoo: {kv:?}: {e}"))?))
        })
        .collect()
}

pub struct Kazoo {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Kazoo {
    pub fn start(python: &Path, hosts: &str) -> R<Kazoo> {
        Kazoo::start_script(python, Path::new(SCRIPT), hosts)
    }

    /// Runs another driver script that speaks the same line protocol.
    pub fn start_script(python: &Path, script: &Path, hosts: &str) -> R<Kazoo> {
        let mut child = Command::new(python)
            .arg(script)
            .arg(hosts)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        Ok(Kazoo { child, stdin, stdout })
    }

    pub fn ask(&mut self, command: &str) -> R<Vec<(String, f64)>> {
        writeln!(self.stdin, "{command}")?;
        self.stdin.flush()?;
        let mut line = String::new();
        if self.stdout.read_line(&mut line)? == 0 {
            return Err("kazoo script exited".into());
        }
        parse(&line)
    }
}

impl Drop for Kazoo {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.stdin.flush();
        let _ = self.child.wait();
    }
}

impl Peer for Kazoo {
    fn name(&self) -> &'static str {
        "kazoo"
    }

    fn run(&mut self, w: &Workload, cfg: &Cfg, base: &str) -> R<Sample> {
        let secs = cfg.slice.as_secs_f64();
        let one = |result: Vec<(String, f64)>| -> R<Sample> {
            let ops = result.iter().find(|(k, _)| k == "ops").ok_or("kazoo: no ops field")?.1;
            Ok(vec![(w.row(), ops)])
        };
        match *w {
            Workload::Serial => self.ask(&format!("serial {} {base}", cfg.serial_n)),
            Workload::Exists(t) => one(self.ask(&format!("exists {t} {secs} {}", super::TARGET))?),
            Workload::GetPipelined(n) => {
                one(self.ask(&format!("getpipe {n} {secs} {}", super::TARGET))?)
            }
            Workload::Lock(kind) => {
                let kind = match kind {
                    LockKind::Write => "write",
                    LockKind::Read => "read",
                    LockKind::Semaphore => "semaphore",
                };
                one(self.ask(&format!("lock {kind} {secs} {base}"))?)
            }
            Workload::Handoff(t) => one(self.ask(&format!("handoff {t} {secs} {base}"))?),
        }
    }
}
