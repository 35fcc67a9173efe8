//! A frozen server (SIGSTOP, like a long GC pause or a partitioned host), measured for
//! zkcluster and the `zookeeper` crate in the same run: how long does one call block?
//!
//! `cargo bench --bench frozen [-- --freeze-secs N]`: starts a server from the test kit,
//! connects both clients (session timeout 6 s, zkcluster request timeout 2 s), freezes the
//! server, makes one `exists` call with each from its own thread, thaws after N seconds
//! (default 8), and prints how long each call took and what it returned.

use std::time::{Duration, Instant};

use zkcluster::testing::TestingServer;

type R<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn main() -> R<()> {
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a.starts_with("--freeze")) {
        println!("run with `cargo bench --bench frozen`");
        return Ok(());
    }
    let freeze_for = args
        .windows(2)
        .find(|w| w[0] == "--freeze-secs")
        .and_then(|w| w[1].parse().ok())
        .map_or(Duration::from_secs(8), Duration::from_secs);
    let server = TestingServer::start()?;
    let ours = zkcluster::Client::builder(&server.connect_string())
        .session_timeout(Duration::from_secs(6))
        .request_timeout(Duration::from_secs(2))
        .connect()?;
    let theirs = zookeeper::ZooKeeper::connect(
        &server.connect_string(),
        Duration::from_secs(6),
        |_: zookeeper::WatchedEvent| {},
    )?;
    theirs.exists("/", false)?;
    ours.exist_node("/")?;

    server.freeze()?;
    let frozen_at = Instant::now();
    let (ours_result, theirs_result) = std::thread::scope(|s| {
        let a = s.spawn(|| {
            let started = Instant::now();
            let r = ours.exist_node("/").map(|s| s.is_some()).map_err(|e| e.to_string());
            (started.elapsed(), r)
        });
        let b = s.spawn(|| {
            let started = Instant::now();
            let r = theirs.exists("/", false).map(|s| s.is_some()).map_err(|e| e.to_string());
            (started.elapsed(), r)
        });
        std::thread::sleep(freeze_for.saturating_sub(frozen_at.elapsed()));
        let _ = server.thaw();
        (a.join().expect("zkcluster thread"), b.join().expect("crate thread"))
    });
    println!("server frozen for {freeze_for:?}; one exists call each:");
    println!(
        "  zkcluster (request timeout 2 s): returned after {:?}: {:?}",
        ours_result.0, ours_result.1
    );
    println!(
        "  zookeeper crate 0.8:             returned after {:?}: {:?}",
        theirs_result.0, theirs_result.1
    );
    Ok(())
}
