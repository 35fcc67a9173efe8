//! A server JVM under a small `sh` supervisor that kills it when the test process goes away.
//!
//! The supervisor starts the JVM in the background, prints its pid, and starts a watchdog that
//! reads the supervisor's stdin until EOF. That stdin is a pipe whose only writer is our
//! [`WatchedProcess::lifeline`]; the kernel closes it when the test process exits for any
//! reason (even SIGKILL, even with the server parked in a `static`), so the watchdog wakes,
//! marks the directory orphaned and kills the JVM; the supervisor then reaps it and removes the
//! directory. When the JVM ends normally the supervisor kills the watchdog instead and exits
//! with the JVM's status, which is how we learn that the JVM is gone. We close the lifeline only
//! after that, so a deliberate stop never triggers the orphan cleanup.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal};

use super::TestingError;

/// `$1` is the server directory, the rest is the JVM command line.
const SUPERVISOR: &str = r#"
dir=$1; shift
exec 3<&0
"$@" </dev/null >&2 3<&- &
server=$!
echo "$server"
exec >/dev/null
{ cat <&3 >/dev/null; : >"$dir/.orphaned"; kill -CONT "$server"; kill -KILL "$server"; } 2>/dev/null &
watchdog=$!
exec 3<&-
wait "$server"
status=$?
if [ -e "$dir/.orphaned" ]; then rm -rf "$dir"; else kill "$watchdog" 2>/dev/null; fi
exit "$status"
"#;

/// How often we look whether the supervisor has exited.
const POLL: Duration = Duration::from_millis(20);

/// A running (or just ended) server JVM and its supervisor.
#[derive(Debug)]
pub(super) struct WatchedProcess {
    supervisor: Child,
    /// Our end of the supervisor's stdin; closing it while the supervisor runs kills the JVM.
    lifeline: Option<ChildStdin>,
    server_pid: u32,
}

impl WatchedProcess {
    /// Starts `program args...` under the supervisor, output appended to `log`.
    pub(super) fn spawn<I, S>(
        dir: &Path,
        log: &Path,
        program: &Path,
        args: I,
    ) -> Result<Self, TestingError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let log_file = File::options()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| TestingError::io(format!("opening {}", log.display()), e))?;
        let mut supervisor = Command::new("sh")
            .arg("-c")
            .arg(SUPERVISOR)
            .arg("sh")
            .arg(dir)
            .arg(program)
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log_file)
            // Own process group: a Ctrl-C meant for `cargo test` reaches only the test process;
            // the watchdog then cleans up like for any other exit.
            .process_group(0)
            .spawn()
            .map_err(|e| TestingError::io("spawning `sh` to supervise the server", e))?;
        let lifeline = supervisor.stdin.take();
        let mut first_line = String::new();
        let read = match supervisor.stdout.take() {
            Some(out) => BufReader::new(out).read_line(&mut first_line),
            None => Ok(0),
        };
        match read.map(|_| first_line.trim().parse::<u32>()) {
            Ok(Ok(server_pid)) => Ok(WatchedProcess { supervisor, lifeline, server_pid }),
            failed => {
                let _ = supervisor.kill();
                let _ = supervisor.wait();
                let detail = match failed {
                    Err(e) => e,
                    Ok(_) => std::io::Error::other(format!(
                        "supervisor printed {first_line:?}, not a pid"
                    )),
                };
                Err(TestingError::io("reading the server pid from its supervisor", detail))
            }
        }
    }

    pub(super) fn server_pid(&self) -> u32 {
        self.server_pid
    }

    /// The server's exit status once it has ended (the supervisor exits right after it).
    pub(super) fn exit_status(&mut self) -> Option<ExitStatus> {
        match self.supervisor.try_wait() {
            Ok(Some(status)) => {
                // The supervisor has killed its watchdog; closing the pipe now is harmless.
                self.lifeline = None;
                Some(status)
            }
            Ok(None) => None,
            // The supervisor cannot be waited for (already reaped?): treat as gone.
            Err(_) => {
                self.lifeline = None;
                Some(ExitStatus::default())
            }
        }
    }

    /// Sends `signal` (`TERM`, `KILL`, `STOP` or `CONT`) to the server JVM.
    pub(super) fn signal(&mut self, signal: &'static str) -> Result<(), TestingError> {
        // A reaped pid may belong to someone else by now.
        if self.exit_status().is_some() {
            return Ok(());
        }
        let number = match signal {
            "TERM" => Signal::TERM,
            "KILL" => Signal::KILL,
            "STOP" => Signal::STOP,
            "CONT" => Signal::CONT,
            _ => {
                let detail = "not a signal the test kit sends".to_string();
                return Err(TestingError::Signal { signal, pid: self.server_pid, detail });
            }
        };
        let pid = i32::try_from(self.server_pid).ok().and_then(Pid::from_raw);
        let sent = match pid {
            Some(pid) => rustix::process::kill_process(pid, number)
                .map_err(|e| std::io::Error::from(e).to_string()),
            None => Err("not a valid pid".to_string()),
        };
        match sent {
            Ok(()) => Ok(()),
            Err(_) if self.exit_status().is_some() => Ok(()),
            Err(detail) => Err(TestingError::Signal { signal, pid: self.server_pid, detail }),
        }
    }

    /// Waits up to `timeout` for the server to end.
    pub(super) fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.exit_status() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(POLL);
        }
    }

    /// Kills the server (waking it first if stopped) and waits for it to end.
    pub(super) fn kill_and_wait(&mut self) -> Result<ExitStatus, TestingError> {
        self.signal("CONT")?;
        self.signal("KILL")?;
        self.wait_timeout(Duration::from_secs(30)).ok_or_else(|| TestingError::Signal {
            signal: "KILL",
            pid: self.server_pid,
            detail: "the server was still running 30 s later".to_string(),
        })
    }
}

impl Drop for WatchedProcess {
    fn drop(&mut self) {
        if self.kill_and_wait().is_err() {
            // Last resort: closing the lifeline makes the watchdog kill the JVM.
            self.lifeline = None;
            let _ = self.supervisor.wait();
        }
    }
}
