//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod proxy;

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

/// A path no other test uses.
pub fn unique(name: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("/test-{name}-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst))
}
