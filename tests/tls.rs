//! TLS against real servers' `secureClientPort` (the test kit's certificates): a verifying client
//! with a certificate gets a session, does CRUD, locks and watches over it, fails over between
//! TLS members; certificates that do not check out and plain TCP on the TLS port fail the
//! connect with an error naming the host and the reason, within the connect timeout; an `x509`
//! ACL lets the certificate's holder in and keeps everyone else out, Kazoo's sessions with the
//! same certificate included.

mod common;

use std::time::{Duration, Instant};

use serial_test::serial;
use zkcluster::testing::{TestingCluster, TestingServer, TestingTls};
use zkcluster::{
    Acl, Client, CreateOptions, Error, ErrorCode, Perms, Restriction, SessionEvent, TlsConfig,
    WatchEventKind, ZookeeperRecipe,
};

/// Generous: the JVM's first TLS handshakes are slow on a loaded machine.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// For the connects that must fail: short, so the failing cases cost little.
const FAILING_CONNECT: Duration = Duration::from_secs(3);

fn builder(connect: &str, tls: TlsConfig, connect_timeout: Duration) -> zkcluster::ClientBuilder {
    Client::builder(connect)
        .tls(tls)
        .session_timeout(Duration::from_secs(6))
        .connect_timeout(connect_timeout)
        .request_timeout(Duration::from_secs(10))
}

/// A server with a TLS port and fresh certificates; its TLS `host:port`.
fn tls_server() -> (TestingTls, TestingServer, String) {
    let tls = TestingTls::generate().unwrap();
    let server = TestingServer::builder().tls(&tls).start().unwrap();
    let hosts = server.tls_connect_string().unwrap();
    (tls, server, hosts)
}

fn certified(tls: &TestingTls, cn: &str) -> TlsConfig {
    let me = tls.client_certificate(cn).unwrap();
    TlsConfig::new().ca_pem(tls.ca_pem()).client_certificate_pem(me.cert_pem, me.key_pem)
}

fn connect(connect: &str, tls: TlsConfig) -> Client {
    builder(connect, tls, CONNECT_TIMEOUT)
        .connect()
        .unwrap_or_else(|e| panic!("cannot connect over TLS to {connect}: {e}"))
}

/// Connects with a configuration that must be refused; returns the error and how long it took.
fn refused(connect: &str, tls: TlsConfig) -> (String, Duration) {
    let started = Instant::now();
    let result = builder(connect, tls, FAILING_CONNECT).connect();
    let took = started.elapsed();
    let err = match result {
        Ok(client) => panic!("connected to {connect} (session {:#x})", client.session_id()),
        Err(e) => e,
    };
    assert!(matches!(err, Error::Connect { .. }), "{err:?}");
    // Within the connect timeout (slack for closing the attempt on a loaded machine).
    assert!(took < FAILING_CONNECT + Duration::from_secs(3), "took {took:?}: {err}");
    (err.to_string(), took)
}

#[test]
fn crud_locks_and_watches_over_tls() {
    let (tls, _server, hosts) = tls_server();
    let client = connect(&hosts, certified(&tls, "crawler-1"));
    assert_eq!(client.server(), hosts);
    // Four-letter commands go to the TLS port over TLS too.
    assert!(client.server_version().unwrap().starts_with("3."));
    assert_eq!(client.four_letter_word("isro").unwrap().trim(), "rw");

    // CRUD, including a value larger than one TLS record each way.
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    client.create_node("/tls-crud", &big[..]).unwrap();
    assert_eq!(client.get_node("/tls-crud").unwrap().value, big);
    client.set_data("/tls-crud", b"small", None).unwrap();
    assert_eq!(client.get_node("/tls-crud").unwrap().value, b"small");
    let pending: Vec<_> = (0..200).map(|_| client.get_node_async("/tls-crud")).collect();
    for reply in pending {
        assert_eq!(reply.wait().unwrap().value, b"small");
    }
    client.delete_node("/tls-crud").unwrap();
    assert!(client.exist_node("/tls-crud").unwrap().is_none());

    // A watch set over TLS fires when another TLS client changes the node.
    let other = connect(&hosts, certified(&tls, "crawler-2"));
    client.create_node("/tls-watched", "v1").unwrap();
    let (_, fired) = client.get_node_watch("/tls-watched").unwrap();
    other.set_data("/tls-watched", b"v2", None).unwrap();
    let event = fired.recv_timeout(Duration::from_secs(10)).expect("the watch fired");
    assert_eq!(event.kind, WatchEventKind::NodeDataChanged, "{event:?}");

    // A lock between the two: the second waits until the first lets go.
    let lock_a = client.restrict("/tls-lock", ZookeeperRecipe::WriteLock, "a", None).unwrap();
    let lock_b = other.restrict("/tls-lock", ZookeeperRecipe::WriteLock, "b", None).unwrap();
    let held = lock_a.acquire().unwrap();
    assert!(lock_b.acquire_timeout(Duration::from_millis(300)).unwrap_err().is_timeout());
    drop(held);
    let _held = lock_b.acquire_timeout(Duration::from_secs(10)).unwrap();
}

#[test]
fn an_x509_acl_lets_the_certified_client_in_and_keeps_others_out() {
    let (tls, server, hosts) = tls_server();
    let alice = connect(&hosts, certified(&tls, "alice"));
    assert!(
        alice.who_am_i().unwrap().iter().any(|me| me.scheme == "x509" && me.id == "CN=alice"),
        "{:?}",
        alice.who_am_i()
    );
    let only_alice = CreateOptions::new().acl(vec![Acl::new(Perms::ALL, "x509", "CN=alice")]);
    alice.create("/x509-only", b"secret", &only_alice).unwrap();
    assert_eq!(alice.get_node("/x509-only").unwrap().value, b"secret");

    // Bob's certificate comes from the same CA, but the ACL names Alice.
    let bob = connect(&hosts, certified(&tls, "bob"));
    assert_eq!(bob.get_node("/x509-only").unwrap_err().code(), Some(ErrorCode::NoAuth));
    // A TLS client without a certificate, and a plain client, are nobody to the ACL.
    let anonymous = connect(&hosts, TlsConfig::new().ca_pem(tls.ca_pem()));
    assert_eq!(anonymous.get_node("/x509-only").unwrap_err().code(), Some(ErrorCode::NoAuth));
    let plain = common::client_of(&server.connect_string());
    let err = plain.get_node("/x509-only").unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NoAuth), "{err}");
}

#[test]
fn certificates_that_do_not_check_out_and_plain_tcp_fail_clearly_within_the_connect_timeout() {
    let (tls, server, hosts) = tls_server();

    let other_ca = TestingTls::generate().unwrap();
    let (err, _) = refused(&hosts, TlsConfig::new().ca_pem(other_ca.ca_pem()));
    assert!(err.contains(&hosts) && err.contains("not signed by a CA"), "{err}");

    let wrong_name = TestingTls::with_server_names(&["zk.example"], false).unwrap();
    let named = TestingServer::builder().tls(&wrong_name).start().unwrap();
    let named_hosts = named.tls_connect_string().unwrap();
    let trusting = TlsConfig::new().ca_pem(wrong_name.ca_pem());
    let (err, _) = refused(&named_hosts, trusting.clone());
    assert!(err.contains(&named_hosts) && err.contains("not for \"127.0.0.1\""), "{err}");
    // The loudly named opt-out takes it (the chain is still checked, see the wrong CA above).
    let lax = connect(&named_hosts, trusting.dangerous_skip_server_name_verification());
    lax.create_node("/name-not-checked", "x").unwrap();

    let expired = TestingTls::with_server_names(&["127.0.0.1"], true).unwrap();
    let stale = TestingServer::builder().tls(&expired).start().unwrap();
    let stale_hosts = stale.tls_connect_string().unwrap();
    let (err, _) = refused(&stale_hosts, TlsConfig::new().ca_pem(expired.ca_pem()));
    assert!(err.contains(&stale_hosts) && err.contains("expired"), "{err}");

    // A plain client on the TLS port, and a TLS client on the plain port.
    let started = Instant::now();
    let err = Client::builder(&hosts)
        .connect_timeout(FAILING_CONNECT)
        .connect()
        .expect_err("plain TCP on the TLS port");
    assert!(started.elapsed() < FAILING_CONNECT + Duration::from_secs(3), "{err}");
    let err = err.to_string();
    assert!(err.contains(&hosts) && err.contains("TLS port"), "{err}");
    let plain_port = server.connect_string();
    let (err, _) = refused(&plain_port, TlsConfig::new().ca_pem(tls.ca_pem()));
    assert!(err.contains(&plain_port) && err.contains("TLS"), "{err}");

    // Options that cannot work fail before any connection, saying why.
    let err = Client::builder(&hosts).tls(TlsConfig::new()).connect().unwrap_err();
    assert!(matches!(err, Error::TlsConfig { .. }) && err.to_string().contains("CA"), "{err}");
}

#[test]
#[serial]
fn fails_over_between_tls_members_and_resumes_the_session() {
    let tls = TestingTls::generate().unwrap();
    let mut cluster = TestingCluster::builder(3).tls(&tls).start().unwrap();
    let hosts = cluster.tls_connect_string().unwrap();
    let client = connect(&hosts, certified(&tls, "crawler"));
    client.create_node("/failover", "before").unwrap();
    let session = client.session_id();
    let events = client.session_events();

    let on = client.server();
    let member = (0..cluster.len())
        .find(|&i| cluster.member(i).tls_connect_string().as_deref() == Some(on.as_str()))
        .expect("connected to a member's TLS port");
    cluster.member_mut(member).kill().unwrap();
    let server = common::await_reconnect(&events, session);
    assert_ne!(server, on, "reconnected to the member that was killed");
    assert_eq!(client.get_node("/failover").unwrap().value, b"before");
    client.set_data("/failover", b"after", None).unwrap();
    cluster.member_mut(member).restart().unwrap();
    assert_eq!(client.get_node("/failover").unwrap().value, b"after");
}

/// Writes that stall (the server stopped reading: frozen) continue where they stopped once it
/// reads again: the TLS records already made go out first and whole, so the stream stays
/// intact and every request lands with its own bytes.
#[test]
#[serial]
fn stalled_writes_over_tls_resume_intact() {
    let (tls, server, hosts) = tls_server();
    let client = builder(&hosts, certified(&tls, "writer"), CONNECT_TIMEOUT)
        .session_timeout(Duration::from_secs(20))
        .request_timeout(Duration::from_secs(40))
        .connect()
        .unwrap();
    client.create_node("/stalled", "").unwrap();
    let value = |i: usize| vec![b'a' + (i % 26) as u8; 900_000];
    let events = client.session_events();
    server.freeze().unwrap();
    // Far more than the sockets' buffers hold: the writes stall until the server reads again.
    let pending: Vec<_> = (0..16)
        .map(|i| client.create_async(&format!("/stalled/n{i}"), value(i), &Default::default()))
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    server.thaw().unwrap();
    for (i, reply) in pending.into_iter().enumerate() {
        reply.wait().unwrap_or_else(|e| panic!("create {i} after the stall: {e}"));
    }
    for i in [0, 7, 15] {
        assert_eq!(client.get_node(&format!("/stalled/n{i}")).unwrap().value, value(i));
    }
    assert!(
        !events.try_iter().any(|e| matches!(e, SessionEvent::Suspended { .. })),
        "the connection was dropped"
    );
}

/// A mixed fleet over TLS: Kazoo 2.11 (`use_ssl`, the same certificate) reads the node we
/// protect with Alice's `x509` ACL, and we read the one it protects the same way.
#[test]
fn kazoo_with_the_same_certificate_shares_x509_protected_nodes() {
    let (tls, server, hosts) = tls_server();
    let alice = connect(&hosts, certified(&tls, "alice"));
    let only_alice = CreateOptions::new().acl(vec![Acl::new(Perms::ALL, "x509", "CN=alice")]);
    alice.create("/ours", b"written by zkcluster", &only_alice).unwrap();

    let dir = server.data_dir().join("kazoo-files");
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, tls.ca_pem()).unwrap();
    let (cert, key) = tls.client_certificate("alice").unwrap().write_to(&dir, "alice").unwrap();
    let said = common::kazoo::run_bare(
        &format!(
            r#"
from kazoo.client import KazooClient
from kazoo.security import make_acl
c = KazooClient(hosts="{hosts}", use_ssl=True, verify_certs=True, ca="{ca}",
                certfile="{cert}", keyfile="{key}", timeout=10.0)
c.start(timeout=20)
say(c.get("/ours")[0].decode())
c.create("/theirs", b"written by Kazoo", acl=[make_acl("x509", "CN=alice", all=True)])
c.stop()
"#,
            ca = ca.display(),
            cert = cert.display(),
            key = key.display(),
        ),
        Duration::from_secs(60),
    );
    assert_eq!(said, ["written by zkcluster"]);
    assert_eq!(alice.get_node("/theirs").unwrap().value, b"written by Kazoo");
    let bob = connect(&hosts, certified(&tls, "bob"));
    assert_eq!(bob.get_node("/theirs").unwrap_err().code(), Some(ErrorCode::NoAuth));
}
