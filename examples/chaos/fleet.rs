//! The worker processes: this same binary run as `chaos worker ...`, each in its own process
//! group, spoken to over stdin/stdout. Every one is killed on drop, whatever state it is in.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};

use crate::worker::WorkerConfig;

pub struct Proc {
    pub id: String,
    pub pid: i32,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    pub killed: bool,
}

impl Proc {
    fn send(&mut self, line: &str) {
        if let Some(stdin) = self.stdin.as_mut() {
            let _ = writeln!(stdin, "{line}").and_then(|()| stdin.flush());
        }
    }

    /// Waits for a line starting with `word` from the worker.
    fn expect(&self, word: &str, deadline: Instant) -> Result<(), String> {
        loop {
            match self.lines.recv_deadline(deadline) {
                Ok(line) if line.starts_with(word) => return Ok(()),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    return Err(format!("{}: no `{word}` in time", self.id))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(format!("{}: exited before `{word}`", self.id))
                }
            }
        }
    }

    pub fn signal(&self, signal: libc::c_int) {
        // SAFETY: kill(2) with a pid we spawned and have not reaped (we only reap on drop).
        unsafe { libc::kill(self.pid, signal) };
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            self.signal(libc::SIGCONT);
            self.signal(libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

pub struct Fleet {
    template: WorkerConfig,
    pub procs: Vec<Proc>,
    next: usize,
}

impl Fleet {
    pub fn new(template: WorkerConfig) -> Fleet {
        Fleet { template, procs: Vec::new(), next: 0 }
    }

    pub fn writers_per_proc(&self) -> usize {
        self.template.writers
    }

    /// Starts one more worker (it connects and starts cycling on its own).
    pub fn spawn(&mut self) -> Result<&Proc, String> {
        let id = format!("p{}", self.next);
        self.next += 1;
        let cfg = WorkerConfig {
            id: id.clone(),
            connect: self.template.connect.clone(),
            dir: self.template.dir.clone(),
            seed: self.template.seed.wrapping_add(self.next as u64 * 7919),
            ..self.template
        };
        let exe = std::env::current_exe().map_err(|e| format!("own executable: {e}"))?;
        let mut child = Command::new(exe)
            .arg("worker")
            .args(cfg.to_args())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("spawning worker {id}: {e}"))?;
        let stdout = child.stdout.take().ok_or("no worker stdout")?;
        let (tx, lines) = crossbeam_channel::unbounded();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let pid = child.id() as i32;
        let stdin = child.stdin.take();
        self.procs.push(Proc { id, pid, child, stdin, lines, killed: false });
        Ok(self.procs.last().ok_or("no worker")?)
    }

    pub fn wait_ready(&self, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        self.live().try_for_each(|p| p.expect("ready", deadline))
    }

    pub fn live(&self) -> impl Iterator<Item = &Proc> {
        self.procs.iter().filter(|p| !p.killed)
    }

    /// The worker whose thread has this lock identifier (`p3-w0` → `p3`).
    pub fn owner_of(&self, identifier: &str) -> Option<&Proc> {
        let id = identifier.split('-').next()?;
        self.live().find(|p| p.id == id)
    }

    pub fn kill(&mut self, id: &str) {
        if let Some(p) = self.procs.iter_mut().find(|p| p.id == id) {
            p.signal(libc::SIGKILL);
            p.killed = true;
        }
    }

    /// Asks every live worker to stop cycling and waits (up to `grace` in all) until each has
    /// released everything. Returns the ids of those that did not: they hang, and are killed.
    pub fn stop_all(&mut self, grace: Duration) -> Vec<String> {
        let deadline = Instant::now() + grace;
        for p in self.procs.iter_mut().filter(|p| !p.killed) {
            p.send("stop");
        }
        let hung: Vec<String> = self
            .live()
            .filter(|p| p.expect("idle", deadline).is_err())
            .map(|p| p.id.clone())
            .collect();
        for id in &hung {
            self.kill(id);
        }
        hung
    }

    /// Tells every live worker to close its client and exit; returns those still running after
    /// `grace` (killed then).
    pub fn exit_all(&mut self, grace: Duration) -> Vec<String> {
        let deadline = Instant::now() + grace;
        for p in self.procs.iter_mut().filter(|p| !p.killed) {
            p.send("exit");
            p.stdin = None;
        }
        let mut stuck = Vec::new();
        for p in self.procs.iter_mut().filter(|p| !p.killed) {
            loop {
                if p.child.try_wait().ok().flatten().is_some() {
                    break;
                }
                if Instant::now() >= deadline {
                    stuck.push(p.id.clone());
                    p.signal(libc::SIGKILL);
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        stuck
    }
}
