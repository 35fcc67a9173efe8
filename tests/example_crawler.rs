//! The crawler demo, run as its own processes with small settings: the orchestrator, its Rust
//! member processes (and Kazoo crawlers), a real HTTP site and real ZooKeeper. Each run must
//! finish with every check passed (exit status 0) after its faults: the coordinator killed
//! with SIGKILL, a member stopped past its session timeout, and with `--ensemble` the ZooKeeper
//! leader killed.

mod common;

use std::path::PathBuf;
use std::process::Command;

use serial_test::serial;

fn report_path(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target");
    dir.join(format!("crawl-report-test-{name}-{}.svg", std::process::id()))
}

/// Runs the demo; returns its stdout after asserting it passed.
fn run_passing(command: &mut Command, report: &PathBuf) -> String {
    let _ = std::fs::remove_file(report);
    let output = command.arg("--report").arg(report).output().expect("run the crawler");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "crawler failed ({}):\n{stdout}\n{stderr}", output.status);
    assert!(stdout.contains("all checks passed"), "{stdout}");
    assert!(!stdout.contains("FAIL"), "{stdout}");
    for fault in ["will kill -9 the coordinator", "will SIGSTOP", "coordinates"] {
        assert!(stdout.contains(fault), "no `{fault}` in the run:\n{stdout}");
    }
    let svg =
        std::fs::read_to_string(report).unwrap_or_else(|e| panic!("{}: {e}", report.display()));
    assert!(
        svg.starts_with("<svg") && svg.contains("rust-0"),
        "not a timeline: {}",
        report.display()
    );
    let _ = std::fs::remove_file(report);
    stdout
}

#[test]
#[serial]
fn crawler_demo_passes_its_checks() {
    let server = common::server();
    let report = report_path("default");
    let stdout = run_passing(
        Command::new(common::example("crawler"))
            .args(["--pages", "80", "--workers", "3"])
            .env("ZK_CONNECT", server.connect_string()),
        &report,
    );
    assert!(stdout.contains("a member paused past its session timeout had its late write rejected"));
    assert!(stdout.contains("PASS  the configuration changed mid-run reached the crawlers"));
}

#[test]
#[serial]
fn crawler_demo_with_kazoo_crawlers_on_an_ensemble_passes_its_checks() {
    let python = std::env::var("ZKCLUSTER_KAZOO_PYTHON").unwrap_or_else(|_| {
        panic!(
            "ZKCLUSTER_KAZOO_PYTHON is not set: run `export ZKCLUSTER_KAZOO_PYTHON=$(bash \
             scripts/kazoo-venv.sh)` (python3 with venv and PyPI; scripts/test.sh does it)"
        )
    });
    let report = report_path("kazoo");
    let stdout = run_passing(
        Command::new(common::example("crawler"))
            .args(["--pages", "120", "--workers", "3", "--kazoo", "2", "--ensemble"])
            .env("ZKCLUSTER_KAZOO_PYTHON", python)
            .env_remove("ZK_CONNECT"),
        &report,
    );
    for line in
        ["the Kazoo crawlers shared the crawl", "ZooKeeper leader killed mid-run and restarted"]
    {
        assert!(stdout.contains(&format!("PASS  {line}")), "{stdout}");
    }
}

#[test]
fn crawler_demo_rejects_bad_options() {
    let output = Command::new(common::example("crawler"))
        .args(["--pages", "lots"])
        .output()
        .expect("run the crawler");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--pages: not a number"));
}
