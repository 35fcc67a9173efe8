//! The test kit against real ZooKeeper servers (Debian's `zookeeper` package).
//!
//! Tests that stop, freeze or kill servers, or start several, run `#[serial]` so timing-sensitive
//! steps do not compete for the two cores with other JVMs starting.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serial_test::serial;
use zkcluster::testing::{TestingCluster, TestingError, TestingServer};

/// Tells a re-run of this test binary which helper role to play (see `helper_process`).
const HELPER_ENV: &str = "ZKCLUSTER_TESTKIT_HELPER";

/// Whether `pid` has ended. A zombie counts as ended: an orphan is reparented to pid 1,
/// which in a container may never reap it.
fn process_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // Format: "pid (comm) STATE ..."; comm may hold spaces, so split after the last ')'.
        Ok(stat) => {
            stat.rsplit(')').next().and_then(|rest| rest.split_whitespace().next()) == Some("Z")
        }
    }
}

fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    condition()
}

fn srvr_field(server: &TestingServer, field: &str) -> String {
    let srvr = server.four_letter("srvr").expect("srvr");
    srvr.lines()
        .find_map(|l| l.strip_prefix(field))
        .map(|v| v.trim_start_matches(':').trim().to_string())
        .unwrap_or_else(|| panic!("no {field} in srvr answer {srvr:?}"))
}

fn connect_other_client(connect: &str) -> zookeeper::ZooKeeper {
    zookeeper::ZooKeeper::connect(connect, Duration::from_secs(10), |_: zookeeper::WatchedEvent| {})
        .expect("connect with the zookeeper crate")
}

#[test]
fn start_serves_on_a_loopback_port_with_test_defaults() {
    let server = TestingServer::start().expect("start");
    assert_eq!(server.connect_string(), format!("127.0.0.1:{}", server.port()));
    assert_eq!(srvr_field(&server, "Mode"), "standalone");
    assert!(server.is_running());
    assert!(server.pid().is_some());
    assert!(server.data_dir().join("zoo.cfg").is_file());
    let conf = server.four_letter("conf").expect("conf");
    for expected in ["tickTime=500", "minSessionTimeout=1000", "maxSessionTimeout=60000"] {
        assert!(conf.contains(expected), "{expected} missing from {conf}");
    }
    assert!(server.four_letter("mntr").expect("mntr").contains("zk_znode_count"));
}

#[test]
fn builder_options_reach_the_server_config() {
    let server = TestingServer::builder()
        .tick_time(Duration::from_millis(200))
        .session_timeout_range(Duration::from_millis(400), Duration::from_secs(5))
        .config_line("maxClientCnxns=7")
        .start()
        .expect("start");
    let conf = server.four_letter("conf").expect("conf");
    for expected in
        ["tickTime=200", "minSessionTimeout=400", "maxSessionTimeout=5000", "maxClientCnxns=7"]
    {
        assert!(conf.contains(expected), "{expected} missing from {conf}");
    }
}

#[test]
fn builder_rejects_a_config_line_without_equals() {
    let result = TestingServer::builder().config_line("nonsense").start();
    assert!(matches!(result, Err(TestingError::InvalidSetup { .. })), "{result:?}");
}

#[test]
fn a_server_that_cannot_start_reports_its_log() {
    let result = TestingServer::builder().config_line("tickTime=soon").start();
    match result {
        Err(TestingError::Exited { log_tail, .. }) => {
            assert!(log_tail.contains("Invalid config"), "log tail shows the cause: {log_tail}")
        }
        other => panic!("expected Exited, got {other:?}"),
    }
}

#[test]
fn shared_returns_the_same_server_every_time() {
    let first = TestingServer::shared().expect("shared");
    let second = TestingServer::shared().expect("shared");
    assert!(std::ptr::eq(first, second));
    assert_eq!(srvr_field(second, "Mode"), "standalone");
}

#[test]
fn drop_kills_the_server_and_removes_its_directory() {
    let server = TestingServer::start().expect("start");
    let pid = server.pid().expect("pid");
    let dir = server.data_dir().to_path_buf();
    drop(server);
    assert!(process_gone(pid), "java {pid} survived drop");
    assert!(!dir.exists(), "{} survived drop", dir.display());
}

#[test]
#[serial]
fn restart_keeps_port_and_data() {
    let mut server = TestingServer::start().expect("start");
    let port = server.port();
    let zk = connect_other_client(&server.connect_string());
    zk.create(
        "/kept",
        b"v".to_vec(),
        zookeeper::Acl::open_unsafe().clone(),
        zookeeper::CreateMode::Persistent,
    )
    .expect("create /kept");
    let _ = zk.close();
    let nodes_before = srvr_field(&server, "Node count");
    let old_pid = server.pid();

    server.restart().expect("restart");
    assert_eq!(server.port(), port);
    assert_ne!(server.pid(), old_pid);
    assert_eq!(srvr_field(&server, "Node count"), nodes_before);
    assert!(server.data_dir().join("version-2").is_dir());
    let zk = connect_other_client(&server.connect_string());
    assert!(zk.exists("/kept", false).expect("exists").is_some());
    let _ = zk.close();
}

#[test]
#[serial]
fn freeze_silences_the_server_until_thaw() {
    let server = TestingServer::start().expect("start");
    server.freeze().expect("freeze");
    let started = Instant::now();
    let frozen = server.four_letter("srvr");
    assert!(matches!(frozen, Err(TestingError::Io { .. })), "{frozen:?}");
    assert!(started.elapsed() < Duration::from_secs(10), "four_letter must time out");
    assert!(server.is_running(), "a frozen server is still alive");
    server.thaw().expect("thaw");
    assert_eq!(srvr_field(&server, "Mode"), "standalone");
}

#[test]
#[serial]
fn kill_and_stop_end_the_process_and_restart_revives_it() {
    let mut server = TestingServer::start().expect("start");
    let pid = server.pid().expect("pid");
    server.kill().expect("kill");
    assert!(!server.is_running());
    assert!(server.pid().is_none());
    assert!(process_gone(pid));
    assert!(server.four_letter("srvr").is_err());
    assert!(matches!(server.freeze(), Err(TestingError::NotRunning { .. })));
    server.kill().expect("kill of a dead server is a no-op");

    server.restart().expect("restart after kill");
    let pid = server.pid().expect("pid");
    server.freeze().expect("freeze");
    server.stop().expect("stop also ends a frozen server");
    assert!(process_gone(pid));
    assert!(!server.is_running());
    server.stop().expect("stop of a stopped server is a no-op");
    assert!(server.data_dir().is_dir(), "stop keeps the data");
}

#[test]
#[serial]
fn cluster_elects_a_new_leader_after_the_leader_dies() {
    let mut cluster = TestingCluster::start(3).expect("start cluster");
    assert_eq!(cluster.len(), 3);
    assert_eq!(cluster.connect_string().split(',').count(), 3);
    let leader = cluster.wait_for_leader(Duration::from_secs(30)).expect("leader");
    assert_eq!(cluster.leader(), Some(leader));
    let modes: Vec<String> = (0..3).map(|i| srvr_field(cluster.member(i), "Mode")).collect();
    assert_eq!(modes.iter().filter(|m| *m == "follower").count(), 2, "{modes:?}");
    assert_eq!(cluster.member_of_port(cluster.member(2).port()), Some(2));
    assert_eq!(cluster.member_of_port(1), None);

    cluster.member_mut(leader).kill().expect("kill leader");
    let new_leader = cluster.wait_for_leader(Duration::from_secs(30)).expect("new leader");
    assert_ne!(new_leader, leader);
    cluster.member_mut(leader).restart().expect("old leader rejoins");
    assert_eq!(srvr_field(cluster.member(leader), "Mode"), "follower");
}

/// Runs this test binary again as `helper_process` in `role`; returns its stdout.
fn run_helper(role: &str, extra_env: &[(&str, &str)]) -> String {
    let exe = std::env::current_exe().expect("current_exe");
    let output = Command::new(exe)
        .args(["helper_process", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env(HELPER_ENV, role)
        .envs(extra_env.iter().copied())
        .output()
        .expect("run helper");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `(pid, dir)` of every "ZKSERVER PID DIR" line the helper printed.
fn servers_reported(stdout: &str) -> Vec<(u32, String)> {
    stdout
        .lines()
        // The harness may print "test helper_process ... " on the same line first.
        .filter_map(|l| l.split_once("ZKSERVER ").map(|(_, rest)| rest))
        .filter_map(|l| l.split_once(' '))
        .map(|(pid, dir)| (pid.parse().expect("pid"), dir.to_string()))
        .collect()
}

fn assert_orphans_cleaned_up(role: &str) {
    let stdout = run_helper(role, &[]);
    let servers = servers_reported(&stdout);
    assert_eq!(servers.len(), 2, "helper output: {stdout}");
    for (pid, dir) in servers {
        assert!(
            wait_until(Duration::from_secs(10), || process_gone(pid)),
            "java {pid} outlived {role}"
        );
        assert!(
            wait_until(Duration::from_secs(10), || !Path::new(&dir).exists()),
            "{dir} outlived {role}"
        );
    }
}

#[test]
#[serial]
fn watchdog_kills_servers_when_the_test_process_exits_without_drop() {
    assert_orphans_cleaned_up("exit");
}

#[test]
#[serial]
fn watchdog_kills_servers_when_the_test_process_is_killed() {
    assert_orphans_cleaned_up("sigkill");
}

#[test]
fn missing_java_reports_the_install_script() {
    let stdout = run_helper("not-installed", &[("ZKCLUSTER_JAVA", "/nonexistent/java")]);
    assert!(stdout.contains("NOT-INSTALLED"), "helper output: {stdout}");
    // By its absolute path, so the hint also works from a crate that depends on zkcluster.
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/install-zookeeper.sh");
    assert!(std::path::Path::new(script).is_file());
    assert!(stdout.contains(&format!("`bash {script}`")), "helper output: {stdout}");
}

/// Not a test of its own: the body of the helper processes above, selected by `HELPER_ENV`.
#[test]
#[ignore = "helper process, run by other tests"]
fn helper_process() {
    let Ok(role) = std::env::var(HELPER_ENV) else {
        return;
    };
    if role == "not-installed" {
        match TestingServer::start() {
            Err(e @ TestingError::NotInstalled { .. }) => println!("NOT-INSTALLED {e}"),
            other => println!("unexpected {other:?}"),
        }
        return;
    }
    // Two servers no Drop will ever reach: the static shared one and a forgotten one.
    let shared = TestingServer::shared().expect("shared");
    let forgotten = TestingServer::start().expect("start");
    for server in [shared, &forgotten] {
        println!("ZKSERVER {} {}", server.pid().expect("pid"), server.data_dir().display());
    }
    std::mem::forget(forgotten);
    if role == "sigkill" {
        let me = std::process::id().to_string();
        let _ = Command::new("kill").args(["-KILL", &me]).status();
        std::thread::sleep(Duration::from_secs(10));
    }
    std::process::exit(0);
}
