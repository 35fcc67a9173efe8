//! SASL GSSAPI (Kerberos) against a real KDC (the test kit's `krb5kdc`) and a real server whose
//! JAAS `Server` section logs in with `Krb5LoginModule`: the session is
//! `sasl:zkclient@ZKCLUSTER.TEST` from its first request and again after a reconnect, an ACL on
//! that id keeps other sessions out, a server requiring SASL serves nobody else, missing or
//! stale credentials fail `connect` at once, saying why, and with the KDC down a cached ticket
//! still logs in again while a login that needs the KDC fails saying so. Kazoo logs in as the
//! same principal on the same server and shares its ACL with us.
//!
//! One KDC serves the whole binary. Clients find it through the environment (`KRB5_CONFIG`,
//! `KRB5_CLIENT_KTNAME`, `KRB5CCNAME`), which is set before the first client and changed only by
//! a serial test with no client running (krb5 reads it from C, outside Rust's environment lock).

mod common;

use std::ffi::OsString;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::kazoo;
use serial_test::serial;
use zkcluster::testing::{TestingKdc, TestingServer};
use zkcluster::{Acl, Client, CreateOptions, ErrorCode, GssapiConfig, SessionState};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const KAZOO_TIME: Duration = Duration::from_secs(60);

/// The binary's KDC, with the client environment pointing at it; fails (never skips) when
/// MIT Kerberos' KDC tools are missing, saying how to install them.
fn kdc() -> &'static TestingKdc {
    static KDC: OnceLock<TestingKdc> = OnceLock::new();
    KDC.get_or_init(|| {
        let kdc = TestingKdc::start()
            .unwrap_or_else(|e| panic!("cannot start a Kerberos KDC for the tests: {e}"));
        for (key, value) in kdc.client_env() {
            std::env::set_var(key, value);
        }
        kdc
    })
}

fn kerberos_server(required: bool) -> TestingServer {
    TestingServer::builder()
        .kerberos(kdc())
        .sasl_required(required)
        .start()
        .unwrap_or_else(|e| panic!("cannot start a Kerberos ZooKeeper: {e}"))
}

/// `localhost:PORT`: the default service principal is then `zookeeper/localhost`, the server's.
fn localhost(server: &TestingServer) -> String {
    format!("localhost:{}", server.port())
}

fn gssapi_client(connect: &str, gssapi: GssapiConfig) -> zkcluster::Result<Client> {
    Client::builder(connect)
        .sasl_gssapi(gssapi)
        .session_timeout(Duration::from_secs(10))
        .connect_timeout(CONNECT_TIMEOUT)
        .request_timeout(Duration::from_secs(5))
        .connect()
}

fn sasl_ids(client: &Client) -> Vec<String> {
    let me = client.who_am_i().unwrap();
    me.into_iter().filter(|id| id.scheme == "sasl").map(|id| id.id).collect()
}

#[test]
#[serial]
fn the_session_is_the_principal_and_an_acl_on_it_keeps_others_out() {
    let principal = kdc().client_principal();
    let server = kerberos_server(false);
    let client = gssapi_client(&localhost(&server), GssapiConfig::new()).unwrap();
    assert_eq!(sasl_ids(&client), std::slice::from_ref(&principal));
    let only_us =
        CreateOptions::new().acl(vec![Acl::new(zkcluster::Perms::ALL, "sasl", &principal)]);
    client.create("/kerberos-only", b"k", &only_us).unwrap();
    assert_eq!(client.get_node("/kerberos-only").unwrap().value, b"k");

    let plain = common::client_of(&server.connect_string());
    let err = plain.get_node("/kerberos-only").unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NoAuth), "{err}");
    assert!(plain.who_am_i().unwrap().iter().all(|id| id.scheme != "sasl"));
    plain.close().unwrap();

    // The explicit forms of the same login: the client principal and the server principal
    // named (the host of the connect string no longer matters), as another service name would.
    let named = GssapiConfig::new()
        .client_principal(&principal)
        .server_principal(&kdc().server_principal());
    let explicit = gssapi_client(&server.connect_string(), named).unwrap();
    assert_eq!(sasl_ids(&explicit), [principal]);
    assert_eq!(explicit.get_node("/kerberos-only").unwrap().value, b"k");
}

#[test]
#[serial]
fn kazoo_logs_in_as_the_same_principal_and_shares_its_acl() {
    // A mixed fleet: Kazoo (pure-sasl's GSSAPI over pykerberos) with the same keytab, on the
    // same server, reads what we protect with the principal's ACL, and we read what it does.
    let principal = kdc().client_principal();
    let server = kerberos_server(false);
    let hosts = localhost(&server);
    let client = gssapi_client(&hosts, GssapiConfig::new()).unwrap();
    let only_us =
        CreateOptions::new().acl(vec![Acl::new(zkcluster::Perms::ALL, "sasl", &principal)]);
    client.create("/mixed-fleet", b"from rust", &only_us).unwrap();

    let said = kazoo::run_bare(
        &format!(
            r#"
try:
    import kerberos
except ImportError:
    say("no pykerberos")
    sys.exit(0)
from kazoo.security import make_acl
k = KazooClient(hosts="{hosts}", timeout=10.0,
                sasl_options={{"mechanism": "GSSAPI", "service": "zookeeper"}})
k.start(timeout=15)
say(k.get("/mixed-fleet")[0].decode())
k.create("/from-kazoo", b"from python", acl=[make_acl("sasl", "{principal}", all=True)])
say("created")
k.stop()
k.close()
"#
        ),
        KAZOO_TIME,
    );
    assert_ne!(
        said,
        ["no pykerberos"],
        "Kazoo's GSSAPI needs pykerberos in its venv: run `bash scripts/kazoo-venv.sh` (it pins \
         kerberos==1.3.1, built against libkrb5-dev and python3-dev)"
    );
    assert_eq!(said, ["from rust", "created"]);
    assert_eq!(client.get_node("/from-kazoo").unwrap().value, b"from python");
    let plain = common::client_of(&server.connect_string());
    let err = plain.get_node("/from-kazoo").unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NoAuth), "{err}");
}

#[test]
#[serial]
fn a_server_that_requires_sasl_serves_only_kerberos_sessions() {
    let server = kerberos_server(true);
    let client = gssapi_client(&localhost(&server), GssapiConfig::new()).unwrap();
    client.create_node("/enforced", "y").unwrap();
    assert_eq!(client.get_node("/enforced").unwrap().value, b"y");

    common::assert_unauthenticated_refused(&server, "/enforced");
}

/// Connecting with `gssapi` fails with an authentication error naming `expected` (and the
/// mechanism), well within the connect timeout, and leaves the client nothing to retry.
fn assert_refused(server: &TestingServer, gssapi: GssapiConfig, expected: &[&str]) {
    let started = Instant::now();
    let err = gssapi_client(&localhost(server), gssapi).unwrap_err();
    let took = started.elapsed();
    let text = err.to_string();
    assert!(text.contains("authentication failed") && text.contains("GSSAPI"), "{text}");
    for part in expected {
        assert!(text.contains(part), "the error names {part:?}: {text}");
    }
    assert!(took < CONNECT_TIMEOUT, "refused after {took:?}, not within the connect timeout");
    eprintln!("refused after {took:?}: {text}");
}

#[test]
#[serial]
fn missing_or_stale_credentials_fail_connect_at_once_saying_why() {
    let kdc = kdc();
    let server = kerberos_server(false);
    let realm = kdc.realm();

    // A principal the keytab has no key for (nor the KDC).
    let nobody = format!("nobody@{realm}");
    assert_refused(&server, GssapiConfig::new().client_principal(&nobody), &[&nobody]);

    // A keytab whose key was rotated since: the KDC refuses it. Its logins use caches of their
    // own: a login from a keytab becomes the primary cache of the collection it lands in, and
    // so the default identity of the other tests.
    kdc.add_principal("rotated", &kdc.client_keytab()).unwrap();
    let rotated = format!("rotated@{realm}");
    let (before_cache, after_cache) = (scratch_dir("before-ccache"), scratch_dir("after-ccache"));
    let env = EnvGuard::set(&[("KRB5CCNAME", dir_ccache(&before_cache))]);
    let before = gssapi_client(&localhost(&server), GssapiConfig::new().client_principal(&rotated));
    assert_eq!(sasl_ids(&before.unwrap()), std::slice::from_ref(&rotated), "the fresh key works");
    drop(env);
    kdc.rotate_key("rotated").unwrap();
    // Tickets from before the rotation would still work; a fresh cache must log in anew.
    let env = EnvGuard::set(&[("KRB5CCNAME", dir_ccache(&after_cache))]);
    assert_refused(&server, GssapiConfig::new().client_principal(&rotated), &[&rotated]);
    drop(env);

    // A server principal the KDC does not know.
    let elsewhere = format!("zookeeper/elsewhere@{realm}");
    assert_refused(&server, GssapiConfig::new().server_principal(&elsewhere), &[&elsewhere]);

    // No keytab at all (and no tickets cached).
    let empty_cache = scratch_dir("empty-ccache");
    let _env = EnvGuard::set(&[
        ("KRB5_CLIENT_KTNAME", OsString::from("FILE:/nonexistent/zkcluster-test.keytab")),
        ("KRB5CCNAME", dir_ccache(&empty_cache)),
    ]);
    assert_refused(&server, GssapiConfig::new(), &["cannot get Kerberos credentials"]);
    drop(_env);
    for dir in [before_cache, after_cache, empty_cache] {
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
#[serial]
fn the_session_logs_in_again_after_a_server_restart() {
    let principal = kdc().client_principal();
    let mut server = kerberos_server(false);
    let client = gssapi_client(&localhost(&server), GssapiConfig::new()).unwrap();
    let only_us =
        CreateOptions::new().acl(vec![Acl::new(zkcluster::Perms::ALL, "sasl", &principal)]);
    client.create("/restarted", b"r", &only_us).unwrap();

    common::restart_and_await_same_session(&mut server, &client);
    assert_eq!(client.state(), SessionState::Connected);
    assert_eq!(sasl_ids(&client), [principal], "after the reconnect");
    assert_eq!(client.get_node("/restarted").unwrap().value, b"r");
}

#[test]
#[serial]
fn with_the_kdc_down_cached_tickets_still_log_in_and_new_logins_fail_saying_so() {
    kdc(); // the binary's environment first, then this test's own KDC over it
    let mut own_kdc = TestingKdc::start().unwrap();
    let mut server = TestingServer::builder().kerberos(&own_kdc).start().unwrap();
    let cache = scratch_dir("kdc-down-ccache");
    let env: Vec<_> = own_kdc
        .client_env()
        .into_iter()
        .map(
            |(key, value)| {
                if key == "KRB5CCNAME" {
                    (key, dir_ccache(&cache))
                } else {
                    (key, value)
                }
            },
        )
        .collect();
    let env = EnvGuard::set(&env);
    let client = gssapi_client(&localhost(&server), GssapiConfig::new()).unwrap();

    own_kdc.stop();
    // The reconnect logs in again with the service ticket cached by the first login.
    common::restart_and_await_same_session(&mut server, &client);
    assert_eq!(sasl_ids(&client), [own_kdc.client_principal()]);
    client.close().unwrap();

    // A client without cached tickets needs the KDC.
    let empty = scratch_dir("kdc-down-empty-ccache");
    let inner = EnvGuard::set(&[("KRB5CCNAME", dir_ccache(&empty))]);
    assert_refused(&server, GssapiConfig::new(), &["Cannot contact any KDC"]);
    drop(inner);
    drop(env);
    for dir in [cache, empty] {
        let _ = std::fs::remove_dir_all(dir);
    }
}

fn scratch_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "zkcluster-{}-{}",
        common::unique(name),
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn dir_ccache(dir: &std::path::Path) -> OsString {
    let mut name = OsString::from("DIR:");
    name.push(dir);
    name
}

/// Sets environment variables for one serial test and restores them when dropped.
struct EnvGuard(Vec<(&'static str, Option<OsString>)>);

impl EnvGuard {
    fn set(vars: &[(&'static str, OsString)]) -> EnvGuard {
        let saved = vars.iter().map(|(key, _)| (*key, std::env::var_os(key))).collect();
        for (key, value) in vars {
            std::env::set_var(key, value);
        }
        EnvGuard(saved)
    }
}

impl Drop for EnvGuard {
    fn drop(&mut self) {
        for (key, value) in &self.0 {
            match value {
                Some(value) => std::env::set_var(key, value),
                None => std::env::remove_var(key),
            }
        }
    }
}

#[test]
#[serial]
fn a_test_server_takes_kerberos_or_digest_users_not_both() {
    let err = TestingServer::builder().sasl_user("crawler", "s3cret").kerberos(kdc()).start();
    let err = err.map(|_| ()).unwrap_err();
    assert!(matches!(err, zkcluster::testing::TestingError::InvalidSetup { .. }), "{err}");
    assert!(err.to_string().contains("not both"), "{err}");
}
