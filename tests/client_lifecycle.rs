//! The client's threads: one per session, all gone after close (and after drop). Alone in its
//! binary so no other test's threads blur the count.

mod common;

use std::time::{Duration, Instant};

fn thread_names() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|name| name.trim().to_string())
        .collect()
}

fn sessions_running() -> usize {
    thread_names().iter().filter(|n| n.starts_with("zkcluster")).count()
}

fn wait_until(limit: Duration, done: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    done()
}

#[test]
fn close_and_drop_end_every_thread_the_client_started() {
    let server = common::server();
    let baseline = thread_names().len();
    let closed = common::client();
    let dropped = common::client();
    let path = common::unique("threads");
    closed.create_node(&path, "").unwrap();
    let _watch = closed.get_node_watch(&path).unwrap();
    let _watch2 = dropped.exist_node_watch(&path).unwrap();
    assert_eq!(sessions_running(), 2, "one thread per session: {:?}", thread_names());

    closed.close().unwrap();
    assert_eq!(sessions_running(), 1, "close() returned before its thread ended");
    drop(dropped);
    assert_eq!(sessions_running(), 0, "drop returned before its thread ended");
    assert!(
        wait_until(Duration::from_secs(2), || thread_names().len() <= baseline),
        "{:?}",
        thread_names()
    );
    let _ = server;
}
