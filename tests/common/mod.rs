//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod kazoo;
pub mod proxy;
// The benchmarks' hand-written frames (zkcluster's codec is private).
#[path = "../../benches/common/wire.rs"]
mod wire;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use zkcluster::testing::TestingServer;
use zkcluster::Client;

/// The test binary's shared server; fails the test (never skips it) when ZooKeeper is missing.
pub fn server() -> &'static TestingServer {
    TestingServer::shared().unwrap_or_else(|e| panic!("cannot start ZooKeeper for the tests: {e}"))
}

/// A client of the shared server with short timeouts.
pub fn client() -> Client {
    client_of(&server().connect_string())
}

pub fn client_of(connect_string: &str) -> Client {
    Client::builder(connect_string)
        .session_timeout(Duration::from_secs(6))
        .connect_timeout(Duration::from_secs(10))
        .request_timeout(Duration::from_secs(5))
        .connect()
        .unwrap_or_else(|e| panic!("cannot connect to {connect_string}: {e}"))
}

/// A fresh, existing directory no other test uses.
pub fn test_root(client: &Client, name: &str) -> String {
    let root = unique(name);
    client.ensure_path(&root).unwrap_or_else(|e| panic!("creating {root}: {e}"));
    root
}

/// A path no other test uses.
pub fn unique(name: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("/test-{name}-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst))
}

/// Ends `client`'s session on the server from outside, as an operator or a long GC pause
/// would: while `proxy` (the client's only way to the server) is cut, a second raw connection
/// attaches to the session with its id and password and sends closeSession; then the proxy is
/// restored and the client learns the session is gone. (Without the cut, the client reconnects
/// at once when the server moves its session, and often wins it back before the close is
/// processed.) Waits until `client` has seen the loss.
pub fn expire_session(proxy: &proxy::Proxy, server: &str, client: &Client) {
    let lost = client.session_events();
    let (session_id, passwd) = client.session_credentials();
    proxy.cut();
    close_session_raw(server, session_id, &passwd);
    proxy.restore();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match lost.recv_timeout(left) {
            Ok(zkcluster::SessionEvent::Lost { session_id: id }) if id == session_id => return,
            Ok(_) => {}
            Err(_) => panic!("the client never saw its session {session_id:#x} end"),
        }
    }
}

/// Sends connect(session_id, passwd) + closeSession on a raw connection and reads the replies.
pub fn close_session_raw(connect_string: &str, session_id: i64, passwd: &[u8]) {
    use std::io::{Read, Write};
    use wire::{op, Body};

    let mut bytes = Body::connect(session_id, passwd, 6000).framed();
    bytes.extend(wire::request(1, op::CLOSE_SESSION, &Body::default()));

    let mut stream = std::net::TcpStream::connect(connect_string).expect("raw connection");
    stream.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    stream.write_all(&bytes).expect("send connect + closeSession");
    // Read until both replies came or the server hung up (it does after closeSession).
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    while complete_frames(&received) < 2 {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => received.extend_from_slice(&chunk[..n]),
        }
    }
}

/// How many whole length-prefixed frames `bytes` starts with.
fn complete_frames(mut bytes: &[u8]) -> usize {
    let mut frames = 0;
    while let Some(len) = bytes.get(..4).map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]])) {
        match usize::try_from(len).ok().and_then(|len| bytes.get(4 + len..)) {
            Some(rest) => {
                bytes = rest;
                frames += 1;
            }
            None => break,
        }
    }
    frames
}

/// Polls `done` every 10 ms until it holds or `limit` passes; returns whether it held.
pub fn eventually(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if done() {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Restarts `server` and waits (30 s at most) until `client` is back on it with the same
/// session; an `AuthFailed` on the way fails the test (the SASL login of the new connection).
pub fn restart_and_await_same_session(server: &mut TestingServer, client: &Client) {
    let events = client.session_events();
    let session = client.session_id();
    server.restart().unwrap();
    await_reconnect(&events, session);
}

/// Waits (30 s at most) for the `Reconnected` of session `session` among `events` and returns
/// the server it is on; a lost session, another session or an `AuthFailed` (the SASL login
/// of the new connection) on the way fails the test.
pub fn await_reconnect(events: &zkcluster::SessionEvents, session: i64) -> String {
    use zkcluster::SessionEvent;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match events.recv_timeout(left) {
            Ok(SessionEvent::Reconnected { session_id, server }) => {
                assert_eq!(session_id, session, "reconnected with another session");
                return server;
            }
            Ok(SessionEvent::AuthFailed) => panic!("the login of the new connection failed"),
            Ok(SessionEvent::Lost { .. }) => panic!("the session was lost, not resumed"),
            Ok(_) => {}
            Err(e) => panic!("no reconnect within 30 s: {e}"),
        }
    }
}

/// Asserts that a client without SASL can neither connect to `server` nor read `path` there
/// (a server that requires SASL).
pub fn assert_unauthenticated_refused(server: &TestingServer, path: &str) {
    let plain = Client::builder(&server.connect_string())
        .connect_timeout(Duration::from_secs(5))
        .request_timeout(Duration::from_secs(3))
        .connect();
    let refused = match plain {
        Err(_) => true,
        Ok(plain) => plain.get_node(path).is_err(),
    };
    assert!(refused, "a session without SASL must not read {path} from a server that requires it");
}

/// Asserts that no child is left under any of `paths` (lock and lease nodes; background
/// deletions get two seconds to finish).
pub fn assert_no_nodes_left(observer: &Client, paths: &[&str]) {
    for path in paths {
        let children = || match observer.get_children(path) {
            Ok(children) => children,
            Err(e) if e.is_no_node() => Vec::new(),
            Err(e) => panic!("listing {path}: {e}"),
        };
        let clean = eventually(Duration::from_secs(2), || children().is_empty());
        assert!(clean, "nodes left under {path}: {:?}", children());
    }
}

/// An example binary: `cargo test` builds the examples next to the test binaries
/// (`target/<profile>/examples`).
pub fn example(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>");
    let path = profile_dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo test` so examples are built",
        path.display()
    );
    path
}
