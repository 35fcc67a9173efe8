//! The test kit's secured servers, checked with a real client that already speaks TLS and SASL:
//! Kazoo 2.11. A TLS port with the kit's certificates accepts a verifying client and maps its
//! certificate to an `x509` identity; SASL users log in with DIGEST-MD5 and a wrong password is
//! refused. (Our own client's TLS and SASL are tested against these same servers.)

mod common;

use std::time::Duration;

use common::kazoo;
use zkcluster::testing::{TestingServer, TestingTls};
use zkcluster::{Client, ErrorCode};

const KAZOO_TIME: Duration = Duration::from_secs(60);

fn plain_client(server: &TestingServer) -> Client {
    common::client_of(&server.connect_string())
}

#[test]
fn tls_port_serves_verifying_clients_and_maps_certificates_to_x509_ids() {
    let tls = TestingTls::generate().unwrap();
    let server = TestingServer::builder().tls(&tls).start().unwrap();
    let tls_hosts = server.tls_connect_string().expect("the server has a TLS port");
    assert_ne!(tls_hosts, server.connect_string());

    let dir = server.data_dir().join("client-files");
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, tls.ca_pem()).unwrap();
    let (cert, key) = tls.client_certificate("alice").unwrap().write_to(&dir, "alice").unwrap();

    let said = kazoo::run(
        &server.connect_string(),
        &format!(
            r#"
from kazoo.security import make_acl
c = KazooClient(hosts="{tls_hosts}", use_ssl=True, verify_certs=True, ca="{ca}",
                certfile="{cert}", keyfile="{key}", timeout=10.0)
c.start(timeout=15)
c.create("/over-tls", b"secret", acl=[make_acl("x509", "CN=alice", all=True)])
say(c.get("/over-tls")[0].decode())
acl = c.get_acls("/over-tls")[0][0]
say(acl.id.scheme, acl.id.id)
c.stop()
"#,
            ca = ca.display(),
            cert = cert.display(),
            key = key.display(),
        ),
        KAZOO_TIME,
    );
    assert_eq!(
        said,
        ["secret", "x509 CN=alice"],
        "Kazoo over TLS with alice's certificate reads its own x509-protected node"
    );

    // The node is there, and only CN=alice may read it: a plain client is refused.
    let client = plain_client(&server);
    assert!(client.exist_node("/over-tls").unwrap().is_some());
    let err = client.get_node("/over-tls").unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NoAuth), "{err}");
}

#[test]
fn tls_port_refuses_a_client_that_does_not_trust_the_server() {
    let tls = TestingTls::generate().unwrap();
    let other_ca = TestingTls::generate().unwrap();
    let server = TestingServer::builder().tls(&tls).start().unwrap();
    let tls_hosts = server.tls_connect_string().unwrap();
    let ca = server.data_dir().join("other-ca.pem");
    std::fs::write(&ca, other_ca.ca_pem()).unwrap();

    let said = kazoo::run(
        &server.connect_string(),
        &format!(
            r#"
c = KazooClient(hosts="{tls_hosts}", use_ssl=True, verify_certs=True, ca="{ca}", timeout=3.0)
try:
    c.start(timeout=5)
    say("connected")
except Exception as e:
    say("refused")
c.stop()
"#,
            ca = ca.display(),
        ),
        KAZOO_TIME,
    );
    assert_eq!(said, ["refused"], "a client trusting another CA must not get a session");
}

#[test]
fn sasl_users_log_in_with_digest_md5_and_a_wrong_password_is_refused() {
    let server = TestingServer::builder()
        .sasl_user("crawler", "s3cret")
        .sasl_user("other", "pw")
        .start()
        .unwrap();
    let hosts = server.connect_string();

    let said = kazoo::run(
        &hosts,
        &format!(
            r#"
from kazoo.security import make_acl
def sasl_client(user, password):
    return KazooClient(hosts="{hosts}", timeout=5.0, sasl_options={{
        "mechanism": "DIGEST-MD5", "username": user, "password": password}})
c = sasl_client("crawler", "s3cret")
c.start(timeout=15)
c.create("/sasl-only", b"x", acl=[make_acl("sasl", "crawler", all=True)])
say(c.get("/sasl-only")[0].decode())
c.stop()
bad = sasl_client("crawler", "wrong")
try:
    bad.start(timeout=5)
    bad.get("/sasl-only")
    say("accepted")
except Exception as e:
    say("refused")
bad.stop()
"#
        ),
        KAZOO_TIME,
    );
    assert_eq!(said, ["x", "refused"]);

    let client = plain_client(&server);
    let err = client.get_node("/sasl-only").unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NoAuth), "{err}");
}

#[test]
fn a_plain_client_on_the_tls_port_fails_within_its_connect_timeout() {
    let tls = TestingTls::generate().unwrap();
    let server = TestingServer::builder().tls(&tls).start().unwrap();
    let tls_hosts = server.tls_connect_string().unwrap();
    let timeout = Duration::from_secs(2);
    let started = std::time::Instant::now();
    let err = Client::builder(&tls_hosts).connect_timeout(timeout).connect().unwrap_err();
    let took = started.elapsed();
    assert!(took < timeout + Duration::from_secs(1), "took {took:?} with a {timeout:?} timeout");
    let text = err.to_string();
    assert!(text.contains(&tls_hosts), "the error names the server: {text}");
}
