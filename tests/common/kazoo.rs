//! Kazoo 2.11 as a real peer in interop tests: a Python process, started from the venv that
//! `scripts/kazoo-venv.sh` makes, that runs a snippet against the same server and talks to the
//! test over its stdin/stdout one line at a time.
//!
//! The snippet runs with `zk` (a started `KazooClient` of the server) in scope and two helpers:
//! `say(*words)` prints one line and flushes it, `ask()` reads one line from the test (without
//! its newline). [`Kazoo::spawn_bare`] leaves `zk` out, for snippets that make clients of their
//! own (TLS, SASL, read-only). A missing venv fails the test with a message saying how to make
//! it.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError};

/// Prepended to every snippet.
const PRELUDE: &str = r#"
import sys, time, logging
logging.basicConfig(level=logging.WARNING)
from kazoo.client import KazooClient
def say(*words):
    sys.stdout.write(" ".join(str(w) for w in words) + "\n")
    sys.stdout.flush()
def ask():
    line = sys.stdin.readline()
    if not line:
        sys.exit(0)
    return line.rstrip("\n")
"#;

/// After the prelude, unless the snippet is bare: `zk`, started, and stopped at the end.
const CLIENT_START: &str = r#"
zk = KazooClient(hosts=sys.argv[1], timeout=10.0)
zk.start(timeout=15)
"#;
const CLIENT_STOP: &str = "\nzk.stop()\nzk.close()\n";

/// The Python that has Kazoo: `$ZKCLUSTER_KAZOO_PYTHON` (set by `scripts/test.sh`), else the venv
/// in `target/kazoo-venv`. Panics, saying how to make the venv, when neither exists.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("ZKCLUSTER_KAZOO_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/kazoo-venv/bin/python");
    if venv.exists() {
        return venv;
    }
    panic!(
        "the interop tests need Kazoo 2.11 in a Python venv: run `bash scripts/kazoo-venv.sh` \
         (needs python3 and python3-venv: apt-get install python3 python3-venv), or run the \
         whole suite with `bash scripts/test.sh`, which makes it"
    );
}

/// A running Kazoo snippet. Dropping it kills the process.
pub struct Kazoo {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl Kazoo {
    /// Starts `snippet` against `hosts` (a connect string).
    pub fn spawn(hosts: &str, snippet: &str) -> Kazoo {
        Kazoo::start(hosts, &format!("{CLIENT_START}\n{snippet}\n{CLIENT_STOP}"))
    }

    /// Starts `snippet` with the helpers but no `zk`.
    pub fn spawn_bare(snippet: &str) -> Kazoo {
        Kazoo::start("", snippet)
    }

    fn start(hosts: &str, body: &str) -> Kazoo {
        let script = format!("{PRELUDE}\n{body}\n");
        let mut child = Command::new(python())
            .arg("-c")
            .arg(script)
            .arg(hosts)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start Kazoo's python ({:?}): {e}", python()));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = crossbeam_channel::unbounded();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err_pipe = child.stderr.take().expect("piped stderr");
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut buf = String::new();
            let _ = err_pipe.read_to_string(&mut buf);
            sink.lock().unwrap().push_str(&buf);
        });
        let stdin = child.stdin.take();
        Kazoo { child, stdin, lines, stderr }
    }

    /// The next line the snippet says; panics (with the snippet's stderr) when it says nothing
    /// within `timeout` or has ended.
    pub fn line(&mut self, timeout: Duration) -> String {
        match self.lines.recv_timeout(timeout) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => {
                panic!("Kazoo said nothing within {timeout:?}; stderr so far:\n{}", self.stderr())
            }
            Err(RecvTimeoutError::Disconnected) => {
                let status = self.child.wait();
                std::thread::sleep(Duration::from_millis(50));
                panic!("Kazoo ended ({status:?}) before saying a line; stderr:\n{}", self.stderr())
            }
        }
    }

    /// Waits for the line `expected`, failing on any other.
    pub fn expect(&mut self, expected: &str, timeout: Duration) {
        let got = self.line(timeout);
        assert_eq!(got, expected, "Kazoo said {got:?}, the test expected {expected:?}");
    }

    /// Sends one line to the snippet's `ask()`.
    pub fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        writeln!(stdin, "{line}").and_then(|()| stdin.flush()).unwrap_or_else(|e| {
            panic!("cannot write to Kazoo: {e}; stderr:\n{}", self.stderr.lock().unwrap())
        });
    }

    /// Closes the snippet's stdin, waits for it to end (at most `timeout`), asserts it exited
    /// with 0 and returns the lines it said that were not read yet.
    pub fn finish(mut self, timeout: Duration) -> Vec<String> {
        self.stdin.take();
        let deadline = std::time::Instant::now() + timeout;
        loop {
            match self.child.try_wait().expect("waiting for Kazoo") {
                Some(status) => {
                    std::thread::sleep(Duration::from_millis(50));
                    assert!(
                        status.success(),
                        "Kazoo exited with {status}; stderr:\n{}",
                        self.stderr()
                    );
                    return self.lines.try_iter().collect();
                }
                None if std::time::Instant::now() >= deadline => {
                    panic!("Kazoo still runs after {timeout:?}; stderr:\n{}", self.stderr())
                }
                None => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for Kazoo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `snippet` to its end (at most `timeout`) and returns every line it said.
pub fn run(hosts: &str, snippet: &str, timeout: Duration) -> Vec<String> {
    Kazoo::spawn(hosts, snippet).finish(timeout)
}

/// [`run`] for a bare snippet (no `zk`).
pub fn run_bare(snippet: &str, timeout: Duration) -> Vec<String> {
    Kazoo::spawn_bare(snippet).finish(timeout)
}
