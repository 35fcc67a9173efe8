//! The command lines: the orchestrator's options and a member's arguments.

use std::path::PathBuf;
use std::time::Duration;

use crate::coordinator::Plan;
use crate::member::MemberArgs;

pub const USAGE: &str = "usage: crawler [--members N] [--workers N] [--pages N] [--domains N] \
[--politeness N] [--kazoo N] [--ensemble] [--no-faults] [--session-timeout-ms MS] [--run-id ID] \
[--report FILE.svg] [--keep]";

pub struct Options {
    /// Rust member processes.
    pub members: usize,
    pub workers: usize,
    pub pages: usize,
    pub domains: usize,
    pub politeness: u32,
    /// Kazoo crawler processes.
    pub kazoo: usize,
    pub ensemble: bool,
    pub faults: bool,
    pub session_timeout: Duration,
    pub run_id: String,
    pub report: PathBuf,
    /// Leave the run's nodes in ZooKeeper.
    pub keep: bool,
}

/// The default run id: wall-clock time and pid, unique across runs sharing one ZooKeeper.
fn default_run_id() -> String {
    format!("run-{}-{}", crate::events::now_ms(), std::process::id())
}

pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
}

pub fn parse(args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut o = Options {
        members: 3,
        workers: 4,
        pages: 300,
        domains: 4,
        politeness: 2,
        kazoo: 0,
        ensemble: false,
        faults: true,
        session_timeout: Duration::from_millis(3000),
        run_id: default_run_id(),
        report: target_dir().join("crawl-report.svg"),
        keep: false,
    };
    let mut args = args.peekable();
    while let Some(flag) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        let number = |v: String, name: &str| {
            v.parse::<usize>().map_err(|_| format!("{name}: not a number: {v}"))
        };
        match flag.as_str() {
            "--members" => o.members = number(value(&flag)?, &flag)?,
            "--workers" => o.workers = number(value(&flag)?, &flag)?,
            "--pages" => o.pages = number(value(&flag)?, &flag)?,
            "--domains" => o.domains = number(value(&flag)?, &flag)?,
            "--politeness" => o.politeness = number(value(&flag)?, &flag)? as u32,
            "--kazoo" => o.kazoo = number(value(&flag)?, &flag)?,
            "--session-timeout-ms" => {
                o.session_timeout = Duration::from_millis(number(value(&flag)?, &flag)? as u64)
            }
            "--run-id" => o.run_id = value(&flag)?,
            "--report" => o.report = PathBuf::from(value(&flag)?),
            "--ensemble" => o.ensemble = true,
            "--no-faults" => o.faults = false,
            "--keep" => o.keep = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown option {other}")),
        }
    }
    if o.members == 0 || o.workers == 0 || o.domains == 0 || o.politeness == 0 {
        return Err("--members, --workers, --domains and --politeness must be at least 1".into());
    }
    if o.pages < o.domains * 4 {
        return Err(format!("--pages must be at least 4 per domain ({})", o.domains * 4));
    }
    if o.faults && o.members < 3 {
        return Err(
            "the faults need at least 3 Rust members (one killed, one paused, one steady): \
                    give --members 3 or more, or --no-faults"
                .into(),
        );
    }
    if o.session_timeout < Duration::from_millis(1000) {
        return Err("--session-timeout-ms must be at least 1000 (the test server's minimum)".into());
    }
    Ok(o)
}

/// A member's arguments (`--member ID ...`, crawl-spec.md, plus the coordinator's plan).
pub fn parse_member(args: impl Iterator<Item = String>) -> Result<MemberArgs, String> {
    let mut id = None;
    let (mut hosts, mut root, mut events, mut seeds) = (None, None, None, None);
    let mut workers = 4;
    let mut session_timeout = Duration::from_millis(3000);
    let mut plan = Plan {
        seeds: Vec::new(),
        politeness: 2,
        delay_ms: 0,
        bump_at: i64::MAX,
        bumped_delay_ms: 0,
    };
    let mut args = args;
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        let number = |v: &str| v.parse::<u64>().map_err(|_| format!("{flag}: not a number: {v}"));
        match flag.as_str() {
            "--member" => id = Some(value),
            "--hosts" => hosts = Some(value),
            "--root" => root = Some(value),
            "--events" => events = Some(PathBuf::from(value)),
            "--seeds" => seeds = Some(value.split(',').map(str::to_string).collect::<Vec<_>>()),
            "--workers" => workers = number(&value)? as usize,
            "--session-timeout-ms" => session_timeout = Duration::from_millis(number(&value)?),
            "--politeness" => plan.politeness = number(&value)? as u32,
            "--delay-ms" => plan.delay_ms = number(&value)?,
            "--bump-at" => plan.bump_at = number(&value)? as i64,
            "--bumped-delay-ms" => plan.bumped_delay_ms = number(&value)?,
            other => return Err(format!("unknown member option {other}")),
        }
    }
    fn need<T>(v: Option<T>, name: &str) -> Result<T, String> {
        v.ok_or(format!("a member needs {name}"))
    }
    plan.seeds = need(seeds, "--seeds")?;
    Ok(MemberArgs {
        id: need(id, "--member")?,
        hosts: need(hosts, "--hosts")?,
        root: need(root, "--root")?,
        events: need(events, "--events")?,
        workers,
        session_timeout,
        plan,
    })
}
