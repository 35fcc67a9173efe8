//! SASL DIGEST-MD5 against a real server's `DigestLoginModule`: the session is `sasl:<user>` from
//! its first request, again after a reconnect, and wrong credentials fail `connect` at once
//! with an error that says so.

mod common;

use std::time::{Duration, Instant};

use serial_test::serial;
use zkcluster::testing::TestingServer;
use zkcluster::{Acl, Client, CreateOptions, ErrorCode, Perms};

fn sasl_client(server: &TestingServer, user: &str, password: &str) -> zkcluster::Result<Client> {
    Client::builder(&server.connect_string())
        .sasl_digest(user, password)
        .session_timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(10))
        .request_timeout(Duration::from_secs(5))
        .connect()
}

fn is_sasl(client: &Client, user: &str) -> bool {
    client.who_am_i().unwrap().iter().any(|me| me.scheme == "sasl" && me.id == user)
}

#[test]
#[serial]
fn the_session_is_the_sasl_user_from_the_start_and_after_a_reconnect() {
    let mut server = TestingServer::builder().sasl_user("crawler", "s3cret").start().unwrap();
    let client = sasl_client(&server, "crawler", "s3cret").unwrap();
    assert!(is_sasl(&client, "crawler"), "{:?}", client.who_am_i());
    let only_crawler = CreateOptions::new().acl(vec![Acl::new(Perms::ALL, "sasl", "crawler")]);
    client.create("/sasl-only", b"x", &only_crawler).unwrap();
    assert_eq!(client.get_node("/sasl-only").unwrap().value, b"x");

    let plain = common::client_of(&server.connect_string());
    let err = plain.get_node("/sasl-only").unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NoAuth), "{err}");
    plain.close().unwrap();

    // The same session over a new connection: SASL runs again before it is used.
    common::restart_and_await_same_session(&mut server, &client);
    assert!(is_sasl(&client, "crawler"), "after the reconnect: {:?}", client.who_am_i());
    assert_eq!(client.get_node("/sasl-only").unwrap().value, b"x");
}

#[test]
#[serial]
fn wrong_credentials_fail_connect_at_once_saying_so() {
    for (user, password) in [("crawler", "wrong"), ("nobody", "s3cret")] {
        // A fresh server per case: ZooKeeper 3.8's DIGEST-MD5 callback handler remembers the last
        // user name it found, so right after crawler's login an unknown user would be checked
        // against crawler's password.
        let server = TestingServer::builder().sasl_user("crawler", "s3cret").start().unwrap();
        let started = Instant::now();
        let err = sasl_client(&server, user, password).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("authentication failed"), "{user}: {text}");
        assert!(text.contains(user), "the error names the user: {text}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{user}: refused after {:?}, not at once",
            started.elapsed()
        );
    }
}

#[test]
#[serial]
fn a_server_that_requires_sasl_serves_only_sasl_sessions() {
    let server = TestingServer::builder()
        .sasl_user("crawler", "s3cret")
        .sasl_required(true)
        .start()
        .unwrap();
    let client = sasl_client(&server, "crawler", "s3cret").unwrap();
    client.create_node("/enforced", "y").unwrap();
    assert_eq!(client.get_node("/enforced").unwrap().value, b"y");

    common::assert_unauthenticated_refused(&server, "/enforced");
}
