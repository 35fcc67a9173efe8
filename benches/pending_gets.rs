//! 1,000 gets from one thread: pipelined (`get_node_async`, then wait for each) against serial
//! (`get_node`, one round trip each), on a real server from the test kit.
//!
//! Run with `cargo bench --bench pending_gets`.

use std::time::{Duration, Instant};

use zkcluster::testing::TestingServer;
use zkcluster::Client;

const N: usize = 1000;
const ROUNDS: usize = 5;

fn best(mut f: impl FnMut()) -> Duration {
    (0..ROUNDS)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn main() {
    let server = TestingServer::shared().expect("the benchmark needs a real ZooKeeper server");
    let client = Client::connect(&server.connect_string()).expect("connect");
    let root = format!("/bench-pending-{}", std::process::id());
    client.ensure_path(&root).expect("root");
    let paths: Vec<String> = (0..N).map(|i| format!("{root}/n{i}")).collect();
    let creates: Vec<_> = paths.iter().map(|p| client.create_node_async(p, p.as_bytes())).collect();
    for c in creates {
        c.wait().expect("create");
    }

    let serial = best(|| {
        for p in &paths {
            assert_eq!(client.get_node(p).expect("get").value, p.as_bytes());
        }
    });
    let pipelined = best(|| {
        let pending: Vec<_> = paths.iter().map(|p| client.get_node_async(p)).collect();
        for (p, pending) in paths.iter().zip(pending) {
            assert_eq!(pending.wait().expect("get").value, p.as_bytes());
        }
    });
    println!("{N} serial gets:    {serial:?} (best of {ROUNDS})");
    println!("{N} pipelined gets: {pipelined:?} (best of {ROUNDS})");
    println!("speed-up: {:.1}x", serial.as_secs_f64() / pipelined.as_secs_f64());
    client.delete_recursive(&root).expect("clean up");
}
