//! The crawler processes: Rust members (this binary re-executed with `--member`) and Kazoo
//! crawlers (`examples/crawler/kazoo_crawler.py` on the Kazoo venv's python). Their output goes
//! to `<run dir>/<member>.log`; every process still running is killed when the fleet is dropped.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use crate::faults::signal;

pub struct Proc {
    pub id: String,
    pub rust: bool,
    child: Child,
    pub exit: Option<ExitStatus>,
}

impl Proc {
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }
}

/// What every crawler is told (crawl-spec.md).
pub struct Shared {
    pub hosts: String,
    pub root: String,
    pub events: PathBuf,
    pub logs: PathBuf,
    pub workers: usize,
    pub session_timeout: Duration,
    /// Rust members only: the coordinator's plan, as `--flag value` pairs.
    pub plan_args: Vec<String>,
}

pub struct Fleet {
    pub procs: Vec<Proc>,
}

impl Fleet {
    pub fn new() -> Fleet {
        Fleet { procs: Vec::new() }
    }

    fn spawn(
        &mut self,
        id: String,
        rust: bool,
        mut command: Command,
        shared: &Shared,
    ) -> Result<(), String> {
        let extra: &[String] = if rust { &shared.plan_args } else { &[] };
        let log = File::create(shared.logs.join(format!("{id}.log"))).map_err(|e| e.to_string())?;
        let err = log.try_clone().map_err(|e| e.to_string())?;
        command
            .args(["--member", &id, "--hosts", &shared.hosts, "--root", &shared.root])
            .arg("--events")
            .arg(&shared.events)
            .args(["--workers", &shared.workers.to_string()])
            .args(["--session-timeout-ms", &shared.session_timeout.as_millis().to_string()])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err);
        let child = command.spawn().map_err(|e| format!("cannot start {id}: {e}"))?;
        self.procs.push(Proc { id, rust, child, exit: None });
        Ok(())
    }

    pub fn spawn_rust(&mut self, i: usize, shared: &Shared) -> Result<(), String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        // `spawn` puts `--member` first: that is how main() tells a member from the orchestrator.
        self.spawn(format!("rust-{i}"), true, Command::new(exe), shared)
    }

    pub fn spawn_kazoo(&mut self, i: usize, python: &Path, shared: &Shared) -> Result<(), String> {
        let mut command = Command::new(python);
        command.arg(kazoo_script());
        self.spawn(format!("kazoo-{i}"), false, command, shared)
    }

    /// Collects exit statuses; true when every process has exited.
    pub fn poll(&mut self) -> bool {
        for p in &mut self.procs {
            if p.exit.is_none() {
                p.exit = p.child.try_wait().ok().flatten();
            }
        }
        self.procs.iter().all(|p| p.exit.is_some())
    }

    pub fn kill_all(&mut self) {
        for p in &mut self.procs {
            if p.exit.is_none() {
                signal(p.pid(), rustix::process::Signal::CONT);
                let _ = p.child.kill();
                p.exit = p.child.wait().ok();
            }
        }
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        self.kill_all();
    }
}

pub fn kazoo_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/crawler/kazoo_crawler.py")
}

/// The Kazoo venv's python: `ZKCLUSTER_KAZOO_PYTHON`, or what `scripts/kazoo-venv.sh` makes.
pub fn kazoo_python() -> Result<PathBuf, String> {
    if let Some(python) = std::env::var_os("ZKCLUSTER_KAZOO_PYTHON") {
        return Ok(PathBuf::from(python));
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/kazoo-venv.sh");
    let output = Command::new("bash")
        .arg(&script)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !output.status.success() {
        return Err(format!(
            "{} failed ({}): the Kazoo crawlers need python3 with venv and PyPI \
             (or set ZKCLUSTER_KAZOO_PYTHON to a python with kazoo 2.11)",
            script.display(),
            output.status
        ));
    }
    let path = String::from_utf8_lossy(&output.stdout).trim().to_string();
    Ok(PathBuf::from(path))
}
