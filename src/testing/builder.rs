//! Options for a standalone [`TestingServer`], and the `zoo.cfg` defaults every test server shares.

use std::time::Duration;

use super::install::Installation;
use super::server::STANDALONE_MAIN;
use super::tls::TestingTls;
use super::{net, TestingError, TestingKdc, TestingServer};

/// Where a TLS-enabled server finds its key store and trust store (relative to its directory,
/// which is the server's working directory).
const KEY_STORE_FILE: &str = "server-keystore.pem";
const TRUST_STORE_FILE: &str = "ca.pem";
/// The JAAS file of a server with SASL users.
const JAAS_FILE: &str = "jaas.conf";

/// A port picked free may be taken again before the JVM binds it; retry a fresh start this often.
const START_ATTEMPTS: usize = 3;

/// Options for [`TestingServer::builder`].
///
/// ```no_run
/// use std::time::Duration;
/// use zkcluster::testing::TestingServer;
///
/// # fn main() -> Result<(), zkcluster::testing::TestingError> {
/// let server = TestingServer::builder()
///     .tick_time(Duration::from_millis(200))
///     .session_timeout_range(Duration::from_millis(400), Duration::from_secs(10))
///     .config_line("maxClientCnxns=10")
///     .start()?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct TestingServerBuilder {
    tick_time: Duration,
    min_session_timeout: Duration,
    max_session_timeout: Duration,
    extra_lines: Vec<String>,
    jvm_properties: Vec<String>,
    startup_timeout: Duration,
    tls: Option<ServerTls>,
    sasl_users: Vec<(String, String)>,
    sasl_required: bool,
    kerberos: Option<Kerberos>,
}

/// What a server needs of a [`TestingKdc`] to accept Kerberos logins.
#[derive(Debug, Clone)]
struct Kerberos {
    krb5_conf: std::path::PathBuf,
    keytab: std::path::PathBuf,
    principal: String,
}

impl Default for TestingServerBuilder {
    fn default() -> Self {
        TestingServerBuilder {
            tick_time: Duration::from_millis(500),
            min_session_timeout: Duration::from_millis(1000),
            max_session_timeout: Duration::from_millis(60_000),
            extra_lines: Vec::new(),
            jvm_properties: Vec::new(),
            startup_timeout: Duration::from_secs(30),
            tls: None,
            sasl_users: Vec::new(),
            sasl_required: false,
            kerberos: None,
        }
    }
}

impl TestingServerBuilder {
    /// ZooKeeper's `tickTime` (default 500 ms): the unit of its timeouts and heartbeats.
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let server = zkcluster::testing::TestingServer::builder()
    ///     .tick_time(Duration::from_millis(100))
    ///     .start()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn tick_time(mut self, tick: Duration) -> Self {
        self.tick_time = tick;
        self
    }

    /// The session timeouts the server grants (default 1 s ..= 60 s); requests outside are clamped.
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let server = zkcluster::testing::TestingServer::builder()
    ///     .session_timeout_range(Duration::from_secs(1), Duration::from_secs(5))
    ///     .start()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn session_timeout_range(mut self, min: Duration, max: Duration) -> Self {
        self.min_session_timeout = min;
        self.max_session_timeout = max;
        self
    }

    /// An extra `key=value` line for `zoo.cfg`; it overrides a default with the same key.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let server = zkcluster::testing::TestingServer::builder()
    ///     .config_line("maxClientCnxns=10")
    ///     .start()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn config_line(mut self, line: impl Into<String>) -> Self {
        self.extra_lines.push(line.into());
        self
    }

    /// How long [`start`](Self::start) and [`TestingServer::restart`] wait for the server to
    /// serve (default 30 s).
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let server = zkcluster::testing::TestingServer::builder()
    ///     .startup_timeout(Duration::from_secs(60))
    ///     .start()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn startup_timeout(mut self, timeout: Duration) -> Self {
        self.startup_timeout = timeout;
        self
    }

    /// Starts a standalone server and waits until it serves.
    ///
    /// # Errors
    ///
    /// [`NotInstalled`](crate::testing::TestingError::NotInstalled) without Java or the ZooKeeper
    /// jar (the message says how to install them); [`Io`](crate::testing::TestingError::Io) when
    /// a directory, port or process cannot be set up;
    /// [`NotServing`](crate::testing::TestingError::NotServing) or
    /// [`Exited`](crate::testing::TestingError::Exited) when the server did not come up (with the
    /// tail of its log).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let server = zkcluster::testing::TestingServer::builder().start()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn start(self) -> Result<TestingServer, TestingError> {
        if let Some(bad) = self.extra_lines.iter().find(|l| !l.contains('=')) {
            return Err(TestingError::InvalidSetup {
                what: format!("config line {bad:?} is not key=value"),
            });
        }
        if self.kerberos.is_some() && !self.sasl_users.is_empty() {
            // ZooKeeper's server speaks GSSAPI when its JAAS login has a Kerberos principal and
            // DIGEST-MD5 otherwise, never both.
            return Err(TestingError::InvalidSetup {
                what: "a server takes SASL users (DIGEST-MD5) or Kerberos, not both".to_string(),
            });
        }
        let install = Installation::locate()?;
        let mut attempt = 1;
        loop {
            let ports = net::free_ports(1 + usize::from(self.tls.is_some()))?;
            let (port, tls_port) = (ports[0], ports.get(1).copied());
            let mut config = self.config_lines(port);
            config.extend(self.security_lines(tls_port));
            let mut jvm_properties = self.jvm_properties.clone();
            if self.sasl_enabled() {
                jvm_properties.push(format!("-Djava.security.auth.login.config={JAAS_FILE}"));
            }
            if let Some(kerberos) = &self.kerberos {
                jvm_properties
                    .push(format!("-Djava.security.krb5.conf={}", kerberos.krb5_conf.display()));
            }
            let server = TestingServer::create(
                install.clone(),
                STANDALONE_MAIN,
                port,
                &config,
                None,
                self.startup_timeout,
            )?
            .with_jvm_properties(&jvm_properties)
            .with_tls_port(tls_port);
            self.write_security_files(&server)?;
            match server
                .launch()
                .and_then(|()| server.wait_until_serving())
                .and_then(|()| server.wait_for_tls_port())
            {
                Ok(()) => return Ok(server),
                Err(TestingError::Exited { ref log_tail, .. })
                    if attempt < START_ATTEMPTS && log_tail.contains("Address already in use") =>
                {
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// A Java system property for the server, for the settings ZooKeeper reads only from
    /// properties, not from `zoo.cfg` (for example how often empty containers are removed).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let server = zkcluster::testing::TestingServer::builder()
    ///     .jvm_property("znode.container.checkIntervalMs", "200")
    ///     .start()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn jvm_property(mut self, key: &str, value: &str) -> Self {
        self.jvm_properties.push(format!("-D{key}={value}"));
        self
    }

    /// Gives the server a TLS port (next to its plain one) whose certificate `tls` made; clients
    /// connect to [`TestingServer::tls_connect_string`]. Client certificates signed by the same
    /// CA are asked for but not required, and authenticate their holder under the `x509` scheme
    /// as `CN=<name>` (see [`TestingTls::client_certificate`]).
    ///
    /// ```no_run
    /// use zkcluster::testing::{TestingServer, TestingTls};
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let tls = TestingTls::generate()?;
    /// let server = TestingServer::builder().tls(&tls).start()?;
    /// assert!(server.tls_port().is_some());
    /// # Ok(())
    /// # }
    /// ```
    pub fn tls(mut self, tls: &TestingTls) -> Self {
        self.tls = Some(ServerTls::new(tls));
        self
    }

    /// Adds a SASL DIGEST-MD5 user (ZooKeeper's `DigestLoginModule`, through a JAAS file in the
    /// server's directory). Clients that authenticate with it appear under the `sasl` scheme with
    /// id `user`.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let server = zkcluster::testing::TestingServer::builder()
    ///     .sasl_user("crawler", "s3cret")
    ///     .start()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn sasl_user(mut self, user: &str, password: &str) -> Self {
        self.sasl_users.push((user.to_string(), password.to_string()));
        self
    }

    /// Accepts SASL GSSAPI (Kerberos) logins of `kdc`'s principals: the server logs in as
    /// [`TestingKdc::server_principal`] (`zookeeper/localhost@ZKCLUSTER.TEST`, JAAS `Server`
    /// section with `Krb5LoginModule` and [`TestingKdc::server_keytab`]) and sees a client that
    /// authenticated as `sasl:<principal>`. Clients reach it as `localhost:PORT` (or name the
    /// server principal). Not together with [`sasl_user`](Self::sasl_user).
    ///
    /// ```no_run
    /// use zkcluster::testing::{TestingKdc, TestingServer};
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let kdc = TestingKdc::start()?;
    /// let server = TestingServer::builder().kerberos(&kdc).sasl_required(true).start()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn kerberos(mut self, kdc: &TestingKdc) -> Self {
        self.kerberos = Some(Kerberos {
            krb5_conf: kdc.krb5_conf(),
            keytab: kdc.server_keytab(),
            principal: kdc.server_principal(),
        });
        self
    }

    /// Whether clients log in with SASL (DIGEST-MD5 users or Kerberos).
    fn sasl_enabled(&self) -> bool {
        !self.sasl_users.is_empty() || self.kerberos.is_some()
    }

    /// With SASL users (or Kerberos): refuse every request of a session that has not authenticated with SASL
    /// (ZooKeeper's `enforce.auth.enabled` for the `sasl` scheme). Default off.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let server = zkcluster::testing::TestingServer::builder()
    ///     .sasl_user("crawler", "s3cret")
    ///     .sasl_required(true)
    ///     .start()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn sasl_required(mut self, required: bool) -> Self {
        self.sasl_required = required;
        self
    }

    /// The `zoo.cfg` lines for TLS and SASL.
    fn security_lines(&self, tls_port: Option<u16>) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(port) = tls_port {
            lines.extend(ServerTls::lines(port));
        }
        if self.sasl_enabled() {
            lines.push(
                "authProvider.sasl=org.apache.zookeeper.server.auth.SASLAuthenticationProvider"
                    .to_string(),
            );
            if self.sasl_required {
                lines.extend(
                    ["enforce.auth.enabled=true", "enforce.auth.schemes=sasl"].map(String::from),
                );
            }
        }
        lines
    }

    fn write_security_files(&self, server: &TestingServer) -> Result<(), TestingError> {
        if let Some(tls) = &self.tls {
            tls.write(server)?;
        }
        if !self.sasl_users.is_empty() {
            let users: String = self
                .sasl_users
                .iter()
                .map(|(user, password)| format!("\n    user_{user}=\"{password}\""))
                .collect();
            let jaas = format!(
                "Server {{\n    org.apache.zookeeper.server.auth.DigestLoginModule required{users};\n}};\n"
            );
            server.write_file(JAAS_FILE, &jaas)?;
        }
        if let Some(kerberos) = &self.kerberos {
            let jaas = format!(
                "Server {{\n    com.sun.security.auth.module.Krb5LoginModule required\n    \
                 useKeyTab=true\n    keyTab=\"{}\"\n    storeKey=true\n    \
                 useTicketCache=false\n    isInitiator=false\n    principal=\"{}\";\n}};\n",
                kerberos.keytab.display(),
                kerberos.principal
            );
            server.write_file(JAAS_FILE, &jaas)?;
        }
        Ok(())
    }

    fn config_lines(&self, port: u16) -> Vec<String> {
        let mut lines = base_config(self.tick_time, port);
        lines.push(format!("minSessionTimeout={}", self.min_session_timeout.as_millis()));
        lines.push(format!("maxSessionTimeout={}", self.max_session_timeout.as_millis()));
        lines.extend(self.extra_lines.iter().cloned());
        lines
    }
}

/// A server's TLS key store (its key and certificate) and trust store (the CA), PEM, as
/// ZooKeeper reads them; shared by standalone servers and ensemble members.
#[derive(Debug, Clone)]
pub(super) struct ServerTls {
    key_store: String,
    trust_store: String,
}

impl ServerTls {
    pub(super) fn new(tls: &TestingTls) -> ServerTls {
        let server = tls.server_certificate();
        ServerTls {
            key_store: format!("{}{}", server.key_pem, server.cert_pem),
            trust_store: tls.ca_pem().to_string(),
        }
    }

    /// The `zoo.cfg` lines of a TLS port (`secureClientPort`) with these stores.
    pub(super) fn lines(port: u16) -> Vec<String> {
        vec![
            format!("secureClientPort={port}"),
            "secureClientPortAddress=127.0.0.1".to_string(),
            // Only Netty's connection factory speaks TLS.
            "serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory".to_string(),
            format!("ssl.keyStore.location={KEY_STORE_FILE}"),
            "ssl.keyStore.type=PEM".to_string(),
            format!("ssl.trustStore.location={TRUST_STORE_FILE}"),
            "ssl.trustStore.type=PEM".to_string(),
            "ssl.clientAuth=want".to_string(),
            "authProvider.x509=org.apache.zookeeper.server.auth.X509AuthenticationProvider"
                .to_string(),
        ]
    }

    pub(super) fn write(&self, server: &TestingServer) -> Result<(), TestingError> {
        server.write_file(KEY_STORE_FILE, &self.key_store)?;
        server.write_file(TRUST_STORE_FILE, &self.trust_store)
    }
}

/// The `zoo.cfg` lines every test server gets (besides `dataDir`, which `create` adds).
pub(super) fn base_config(tick: Duration, client_port: u16) -> Vec<String> {
    vec![
        format!("tickTime={}", tick.as_millis()),
        format!("clientPort={client_port}"),
        "clientPortAddress=127.0.0.1".to_string(),
        "admin.enableServer=false".to_string(),
        "4lw.commands.whitelist=*".to_string(),
        "extendedTypesEnabled=true".to_string(),
    ]
}
