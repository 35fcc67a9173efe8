//! Runs the `custom_recipe` example against the shared test server and requires it to pass its
//! own checks (exit status 0).

mod common;

use std::process::Command;
use std::time::Instant;

#[test]
fn custom_recipe_example_passes_its_checks() {
    let connect = common::server().connect_string();
    let started = Instant::now();
    let output = Command::new(env!("CARGO"))
        .args(["run", "--example", "custom_recipe", "--all-features", "--quiet"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("ZK_CONNECT", &connect)
        .env("RUST_LOG", "warn")
        .output()
        .expect("cargo runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "custom_recipe exited with {}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    assert!(stdout.contains("all checks passed"), "{stdout}");
    assert!(!stdout.contains("FAILED"), "{stdout}");
    eprintln!("custom_recipe ran in {:.1?}", started.elapsed());
}
