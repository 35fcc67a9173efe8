//! The crawler demo, run as its own process with small settings against the test server:
//! it must finish with every check passed (exit status 0).

mod common;

use std::process::Command;

#[test]
fn crawler_demo_passes_its_checks() {
    let server = common::server();
    let output = Command::new(common::example("crawler"))
        .args([
            "--nodes",
            "3",
            "--workers",
            "3",
            "--pages",
            "120",
            "--politeness",
            "2",
            "--domains",
            "4",
        ])
        .env("ZK_CONNECT", server.connect_string())
        .output()
        .expect("run the crawler");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "crawler failed ({}):\n{stdout}\n{stderr}", output.status);
    assert!(stdout.contains("all checks passed"), "{stdout}");
    assert!(stdout.contains("killed node-0"), "the run should kill a node: {stdout}");
    assert!(stdout.contains("configuration updated"), "{stdout}");
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
