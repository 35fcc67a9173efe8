//! A peer in another language: a child process that reads one workload command per line on
//! stdin and answers each with one line, `ok key=value ...` or `err message` (the protocol of
//! `scripts/bench_kazoo.py` and `benches/curator/CuratorBench.java`), so its workloads
//! interleave with the Rust peers' in every round.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use super::{Cfg, LockKind, Workload, R};

/// Parses "ok key=value ..." into pairs; "err ..." into an error naming `who`.
pub fn parse(who: &str, line: &str) -> R<Vec<(String, f64)>> {
    let line = line.trim();
    let Some(rest) = line.strip_prefix("ok") else {
        return Err(format!("{who}: {line}").into());
    };
    rest.split_whitespace()
        .map(|kv| {
            let (k, v) = kv.split_once('=').ok_or_else(|| format!("{who}: bad field {kv:?}"))?;
            Ok((k.to_string(), v.parse::<f64>().map_err(|e| format!("{who}: {kv:?}: {e}"))?))
        })
        .collect()
}

/// The command line that asks for workload `w` under `base`.
pub fn command(w: &Workload, cfg: &Cfg, base: &str) -> String {
    let secs = cfg.slice.as_secs_f64();
    match *w {
        Workload::Serial => format!("serial {} {base}", cfg.serial_n),
        Workload::Exists(t) => format!("exists {t} {secs} {}", super::TARGET),
        Workload::GetPipelined(n) => format!("getpipe {n} {secs} {}", super::TARGET),
        Workload::Lock(kind) => {
            let kind = match kind {
                LockKind::Write => "write",
                LockKind::Read => "read",
                LockKind::Semaphore => "semaphore",
            };
            format!("lock {kind} {secs} {base}")
        }
        Workload::Handoff(t) => format!("handoff {t} {secs} {base}"),
    }
}

pub struct LinePeer {
    who: &'static str,
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl LinePeer {
    /// Starts `command` (its stderr goes to ours).
    pub fn start(who: &'static str, mut command: Command) -> R<LinePeer> {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start the {who} peer ({command:?}): {e}"))?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        Ok(LinePeer { who, child, stdin, stdout })
    }

    pub fn ask(&mut self, command: &str) -> R<Vec<(String, f64)>> {
        writeln!(self.stdin, "{command}")?;
        self.stdin.flush()?;
        let mut line = String::new();
        if self.stdout.read_line(&mut line)? == 0 {
            return Err(format!("the {} peer exited", self.who).into());
        }
        parse(self.who, &line)
    }

    /// Runs workload `w`: every row the peer reports (serial), or its `ops` as `w`'s row.
    pub fn run(&mut self, w: &Workload, cfg: &Cfg, base: &str) -> R<Vec<(String, f64)>> {
        let result = self.ask(&command(w, cfg, base))?;
        if *w == Workload::Serial {
            return Ok(result);
        }
        let ops = result.iter().find(|(k, _)| k == "ops");
        let ops = ops.ok_or_else(|| format!("{}: no ops field", self.who))?.1;
        Ok(vec![(w.row(), ops)])
    }
}

impl Drop for LinePeer {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.stdin.flush();
        let _ = self.child.wait();
    }
}
