//! The chaos check (examples/chaos), short: a standalone server and a 3-member ensemble of its
//! own, three worker processes, one cycle of every fault (server and member freezes, kills and
//! restarts, kill -9 and SIGSTOP of the lock holder). Every check must come out 0, and every
//! fault must have been applied. `scripts/chaos.sh` runs the long one.

mod common;

use std::process::Command;

use serial_test::serial;

#[test]
#[serial]
fn chaos_check_finds_no_violation() {
    let output = Command::new(common::example("chaos"))
        .args(["--quick", "--seed", "12"])
        .output()
        .expect("run the chaos check");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "chaos check failed ({}):\n{stdout}\n{stderr}", output.status);
    assert!(stdout.contains("chaos: all checks passed"), "{stdout}");
    for fault in [
        "faults (standalone)",
        "faults (ensemble)",
        "freeze < session",
        "freeze > session",
        "kill -9 + restart",
        "graceful restart",
        "kill -9 leader + restart",
        "kill -9 lock holder",
        "SIGSTOP lock holder",
    ] {
        assert!(stdout.contains(fault), "no `{fault}` in the run:\n{stdout}");
    }
    assert!(!stdout.contains("nemesis error"), "a fault could not be applied:\n{stdout}");
    // The stale-holder checks mean something only if a pause caught a process holding the lock.
    assert!(
        stdout.lines().any(|l| l.contains("SIGSTOP lock holder —") && l.contains("caught holding")),
        "no SIGSTOP caught a holder:\n{stdout}"
    );
}

#[test]
fn chaos_check_rejects_bad_options() {
    let output = Command::new(common::example("chaos"))
        .args(["--procs", "many"])
        .output()
        .expect("run the chaos check");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--procs: not a number"));
}
