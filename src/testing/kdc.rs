//! A real Kerberos KDC for tests: MIT's `krb5kdc` (Debian's `krb5-kdc`) with its own realm,
//! database and configuration in a temporary directory, on a free loopback port.
//!
//! Starting one runs `kdb5_util create -s` (a fresh database with a random master key, stashed),
//! starts `krb5kdc -n` under the kit's supervisor (so it dies with the test process, like the
//! servers), and makes two principals with `kadmin.local`: `zookeeper/localhost@REALM` for the
//! servers (keytab [`TestingKdc::server_keytab`]) and `zkclient@REALM` for clients (keytab
//! [`TestingKdc::client_keytab`]). One `krb5.conf` serves both sides: servers read it through
//! `-Djava.security.krb5.conf`, clients through `KRB5_CONFIG` (see [`TestingKdc::client_env`]).
//! Dropping the KDC kills it and removes its directory.

use std::ffi::OsString;
use std::fs;
use std::net::{Ipv4Addr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::net;
use super::process::WatchedProcess;
use super::TestingError;

/// The realm of every test KDC.
const REALM: &str = "ZKCLUSTER.TEST";
/// The servers' principal (without the realm): what a client asks for when it connects to
/// `localhost` with the default service name.
const SERVER_PRINCIPAL: &str = "zookeeper/localhost";
/// The clients' principal (without the realm).
const CLIENT_PRINCIPAL: &str = "zkclient";
const KDC_CONF: &str = "kdc.conf";
const KRB5_CONF: &str = "krb5.conf";
const SERVER_KEYTAB: &str = "server.keytab";
const CLIENT_KEYTAB: &str = "client.keytab";
/// A credential cache collection (clients may hold tickets of several principals).
const CCACHE_DIR: &str = "ccache";
const LOG_FILE: &str = "krb5kdc.log";
/// A picked port may be taken (TCP or UDP) before the KDC binds it; retry this often.
const START_ATTEMPTS: usize = 3;
const READY_TIMEOUT: Duration = Duration::from_secs(10);
const READY_POLL: Duration = Duration::from_millis(20);
const INSTALL_HINT: &str = concat!(
    "run `bash ",
    env!("CARGO_MANIFEST_DIR"),
    "/scripts/install-zookeeper.sh` or `sudo apt-get install -y krb5-kdc krb5-admin-server` ",
    "(MIT Kerberos' KDC, kdb5_util and kadmin.local)"
);

/// A Kerberos KDC on a loopback port with its own realm, killed and deleted on drop.
///
/// ```no_run
/// use zkcluster::testing::{TestingKdc, TestingServer};
///
/// # fn main() -> Result<(), zkcluster::testing::TestingError> {
/// let kdc = TestingKdc::start()?;
/// // Clients find the KDC and their keytab through the environment (set it before any
/// // client starts its threads).
/// for (key, value) in kdc.client_env() {
///     std::env::set_var(key, value);
/// }
/// let server = TestingServer::builder().kerberos(&kdc).start()?;
/// println!("{} logs in to localhost:{}", kdc.client_principal(), server.port());
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct TestingKdc {
    dir: PathBuf,
    port: u16,
    tools: Tools,
    process: Option<WatchedProcess>,
}

/// Where MIT Kerberos' KDC programs are.
#[derive(Debug, Clone)]
struct Tools {
    krb5kdc: PathBuf,
    kdb5_util: PathBuf,
    kadmin_local: PathBuf,
    env: PathBuf,
}

impl TestingKdc {
    /// Starts a KDC for realm `ZKCLUSTER.TEST` with the server and client principals and their
    /// keytabs, and waits until it answers on its port.
    ///
    /// # Errors
    ///
    /// [`NotInstalled`](TestingError::NotInstalled) without `krb5kdc`, `kdb5_util` or
    /// `kadmin.local` (the message says how to install them); [`Kerberos`](TestingError::Kerberos)
    /// when the database, a principal or the KDC cannot be set up (with the tool's output);
    /// [`Io`](TestingError::Io) when a file, port or process cannot.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let kdc = zkcluster::testing::TestingKdc::start()?;
    /// assert_eq!(kdc.realm(), "ZKCLUSTER.TEST");
    /// # Ok(())
    /// # }
    /// ```
    pub fn start() -> Result<TestingKdc, TestingError> {
        let tools = Tools::locate()?;
        let dir = net::create_temp_dir("kdc")?;
        let mut kdc = TestingKdc { dir, port: 0, tools, process: None };
        let mut attempt = 1;
        loop {
            kdc.port = free_tcp_and_udp_port()?;
            kdc.write_config()?;
            if attempt == 1 {
                kdc.create_database()?;
            }
            match kdc.launch() {
                Ok(()) => break,
                Err(TestingError::Kerberos { ref detail, .. })
                    if attempt < START_ATTEMPTS && detail.contains("Address already in use") =>
                {
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
        let ccache = kdc.dir.join(CCACHE_DIR);
        fs::create_dir(&ccache)
            .map_err(|e| TestingError::io(format!("creating {}", ccache.display()), e))?;
        kdc.add_principal(SERVER_PRINCIPAL, &kdc.server_keytab())?;
        kdc.add_principal(CLIENT_PRINCIPAL, &kdc.client_keytab())?;
        Ok(kdc)
    }

    /// The realm, `ZKCLUSTER.TEST`.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let kdc = zkcluster::testing::TestingKdc::start()?;
    /// assert!(kdc.client_principal().ends_with(&format!("@{}", kdc.realm())));
    /// # Ok(())
    /// # }
    /// ```
    pub fn realm(&self) -> &str {
        REALM
    }

    /// The loopback port the KDC serves on (TCP and UDP).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let kdc = zkcluster::testing::TestingKdc::start()?;
    /// assert!(kdc.port() > 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The `krb5.conf` that names this realm and KDC (for clients' `KRB5_CONFIG` and servers'
    /// `java.security.krb5.conf`).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let kdc = zkcluster::testing::TestingKdc::start()?;
    /// assert!(std::fs::read_to_string(kdc.krb5_conf()).unwrap().contains(kdc.realm()));
    /// # Ok(())
    /// # }
    /// ```
    pub fn krb5_conf(&self) -> PathBuf {
        self.dir.join(KRB5_CONF)
    }

    /// `zookeeper/localhost@ZKCLUSTER.TEST`, the principal of servers built with
    /// [`TestingServerBuilder::kerberos`](super::TestingServerBuilder::kerberos).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let kdc = zkcluster::testing::TestingKdc::start()?;
    /// assert_eq!(kdc.server_principal(), "zookeeper/localhost@ZKCLUSTER.TEST");
    /// # Ok(())
    /// # }
    /// ```
    pub fn server_principal(&self) -> String {
        format!("{SERVER_PRINCIPAL}@{REALM}")
    }

    /// The keytab holding the server principal's key.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let kdc = zkcluster::testing::TestingKdc::start()?;
    /// assert!(kdc.server_keytab().is_file());
    /// # Ok(())
    /// # }
    /// ```
    pub fn server_keytab(&self) -> PathBuf {
        self.dir.join(SERVER_KEYTAB)
    }

    /// `zkclient@ZKCLUSTER.TEST`, the client principal; a server sees its sessions as
    /// `sasl:zkclient@ZKCLUSTER.TEST`.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let kdc = zkcluster::testing::TestingKdc::start()?;
    /// assert_eq!(kdc.client_principal(), "zkclient@ZKCLUSTER.TEST");
    /// # Ok(())
    /// # }
    /// ```
    pub fn client_principal(&self) -> String {
        format!("{CLIENT_PRINCIPAL}@{REALM}")
    }

    /// The client keytab: the client principal's key, and those [`add_principal`](Self::add_principal)
    /// put there.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let kdc = zkcluster::testing::TestingKdc::start()?;
    /// assert!(kdc.client_keytab().is_file());
    /// # Ok(())
    /// # }
    /// ```
    pub fn client_keytab(&self) -> PathBuf {
        self.dir.join(CLIENT_KEYTAB)
    }

    /// The environment of a Kerberos client of this KDC: `KRB5_CONFIG` (its `krb5.conf`),
    /// `KRB5_CLIENT_KTNAME` (the client keytab, from which the client gets its tickets) and
    /// `KRB5CCNAME` (a credential cache collection in the KDC's directory, so tests never touch
    /// the user's own tickets).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let kdc = zkcluster::testing::TestingKdc::start()?;
    /// let keys: Vec<_> = kdc.client_env().into_iter().map(|(key, _)| key).collect();
    /// assert_eq!(keys, ["KRB5_CONFIG", "KRB5_CLIENT_KTNAME", "KRB5CCNAME"]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn client_env(&self) -> Vec<(&'static str, OsString)> {
        let mut ccache = OsString::from("DIR:");
        ccache.push(self.dir.join(CCACHE_DIR));
        let mut keytab = OsString::from("FILE:");
        keytab.push(self.client_keytab());
        vec![
            ("KRB5_CONFIG", self.krb5_conf().into()),
            ("KRB5_CLIENT_KTNAME", keytab),
            ("KRB5CCNAME", ccache),
        ]
    }

    /// Creates principal `name` (`user` or `service/host`, in this realm) with a random key and
    /// adds its key to `keytab` (created if missing; other entries stay).
    ///
    /// # Errors
    ///
    /// [`Kerberos`](TestingError::Kerberos) when `kadmin.local` refuses (the principal exists,
    /// the keytab cannot be written), with its message.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let kdc = zkcluster::testing::TestingKdc::start()?;
    /// kdc.add_principal("crawler", &kdc.client_keytab())?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn add_principal(&self, name: &str, keytab: &Path) -> Result<(), TestingError> {
        self.kadmin(&format!("addprinc -randkey {name}"))?;
        // -norandkey: export the key just made (a plain ktadd would replace it).
        self.kadmin(&format!("ktadd -norandkey -k {} {name}", keytab.display()))
    }

    /// Gives principal `name` a new random key without touching any keytab, so the keytabs
    /// holding its old key no longer work (a rotated key, as after a re-keying).
    ///
    /// # Errors
    ///
    /// [`Kerberos`](TestingError::Kerberos) when `kadmin.local` refuses (no such principal).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let kdc = zkcluster::testing::TestingKdc::start()?;
    /// kdc.add_principal("crawler", &kdc.client_keytab())?;
    /// kdc.rotate_key("crawler")?; // crawler's entry in the client keytab is stale now
    /// # Ok(())
    /// # }
    /// ```
    pub fn rotate_key(&self, name: &str) -> Result<(), TestingError> {
        self.kadmin(&format!("cpw -randkey {name}"))
    }

    /// Stops the KDC (its files stay until drop): clients that need a ticket they have not
    /// cached can no longer get one, as when the KDC is down.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let mut kdc = zkcluster::testing::TestingKdc::start()?;
    /// kdc.stop();
    /// assert!(std::net::TcpStream::connect(("127.0.0.1", kdc.port())).is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn stop(&mut self) {
        // Dropping the process kills the KDC and waits for it.
        drop(self.process.take());
    }

    fn write_config(&self) -> Result<(), TestingError> {
        let dir = self.dir.display();
        let port = self.port;
        let kdc_conf = format!(
            "[kdcdefaults]\n    kdc_listen = 127.0.0.1:{port}\n    kdc_tcp_listen = 127.0.0.1:{port}\n\
             [realms]\n    {REALM} = {{\n        database_name = {dir}/principal\n        \
             key_stash_file = {dir}/stash\n        kdc_listen = 127.0.0.1:{port}\n        \
             kdc_tcp_listen = 127.0.0.1:{port}\n    }}\n\
             [logging]\n    kdc = FILE:{dir}/{LOG_FILE}\n"
        );
        // No DNS and no host canonicalization: `zookeeper@localhost` is `zookeeper/localhost`.
        // TCP first (udp_preference_limit = 1), which the JVM's Kerberos honours too.
        let krb5_conf = format!(
            "[libdefaults]\n    default_realm = {REALM}\n    dns_lookup_kdc = false\n    \
             dns_lookup_realm = false\n    dns_canonicalize_hostname = false\n    rdns = false\n    \
             udp_preference_limit = 1\n\
             [realms]\n    {REALM} = {{\n        kdc = 127.0.0.1:{port}\n    }}\n\
             [domain_realm]\n    localhost = {REALM}\n"
        );
        for (name, text) in [(KDC_CONF, kdc_conf), (KRB5_CONF, krb5_conf)] {
            let path = self.dir.join(name);
            fs::write(&path, text)
                .map_err(|e| TestingError::io(format!("writing {}", path.display()), e))?;
        }
        Ok(())
    }

    /// A fresh database with a random master password (stashed, so nothing asks for it).
    fn create_database(&self) -> Result<(), TestingError> {
        let mut master = [0u8; 16];
        getrandom::getrandom(&mut master).map_err(|e| TestingError::Kerberos {
            what: "making a master password".to_string(),
            detail: e.to_string(),
        })?;
        let master: String = master.iter().map(|b| format!("{b:02x}")).collect();
        let mut command = self.tool(&self.tools.kdb5_util);
        command.args(["create", "-s", "-r", REALM, "-P", &master]);
        run(command, "kdb5_util create")
    }

    fn launch(&mut self) -> Result<(), TestingError> {
        self.process = None;
        let log = self.dir.join(LOG_FILE);
        let env = |key: &str, file: &str| {
            let mut pair = OsString::from(format!("{key}="));
            pair.push(self.dir.join(file));
            pair
        };
        let args: Vec<OsString> = vec![
            env("KRB5_CONFIG", KRB5_CONF),
            env("KRB5_KDC_PROFILE", KDC_CONF),
            self.tools.krb5kdc.clone().into(),
            "-n".into(),
            "-r".into(),
            REALM.into(),
        ];
        let mut process = WatchedProcess::spawn(&self.dir, &log, &self.tools.env, args)?;
        let started = Instant::now();
        loop {
            if let Some(status) = process.exit_status() {
                return Err(TestingError::Kerberos {
                    what: format!("krb5kdc on 127.0.0.1:{} exited ({status})", self.port),
                    detail: net::log_tail(&log, 20),
                });
            }
            let addr = net::loopback(self.port);
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                self.process = Some(process);
                return Ok(());
            }
            if started.elapsed() > READY_TIMEOUT {
                return Err(TestingError::Kerberos {
                    what: format!("krb5kdc on {addr} not answering after {READY_TIMEOUT:?}"),
                    detail: net::log_tail(&log, 20),
                });
            }
            std::thread::sleep(READY_POLL);
        }
    }

    /// Runs one `kadmin.local` query. It exits 0 even when the query failed, so its messages
    /// are read: MIT's tools end an error with "while <doing what>".
    fn kadmin(&self, query: &str) -> Result<(), TestingError> {
        let mut command = self.tool(&self.tools.kadmin_local);
        command.args(["-r", REALM, "-q", query]);
        run(command, &format!("kadmin.local -q {query:?}"))
    }

    /// A KDC tool with this KDC's configuration (and nothing of the machine's).
    fn tool(&self, program: &Path) -> Command {
        let mut command = Command::new(program);
        command
            .env("KRB5_CONFIG", self.krb5_conf())
            .env("KRB5_KDC_PROFILE", self.dir.join(KDC_CONF))
            .current_dir(&self.dir);
        command
    }
}

impl Drop for TestingKdc {
    fn drop(&mut self) {
        self.stop();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Runs a KDC tool to its end; a failure (an exit status or an error message) carries its output.
fn run(mut command: Command, what: &str) -> Result<(), TestingError> {
    let output = command.output().map_err(|e| TestingError::io(format!("running {what}"), e))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let failed = !output.status.success()
        || stderr.lines().any(|l| l.contains(" while ") || l.contains("not found"));
    if failed {
        return Err(TestingError::Kerberos {
            what: format!("{what} failed ({})", output.status),
            detail: format!("{}{stderr}", String::from_utf8_lossy(&output.stdout)),
        });
    }
    Ok(())
}

/// A loopback port free for both TCP and UDP (the KDC listens on both).
fn free_tcp_and_udp_port() -> Result<u16, TestingError> {
    for _ in 0..20 {
        let port = net::free_ports(1)?[0];
        if UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return Ok(port);
        }
    }
    Err(TestingError::io(
        "finding a loopback port free for TCP and UDP",
        std::io::Error::other("20 free TCP ports were all taken for UDP"),
    ))
}

impl Tools {
    fn locate() -> Result<Tools, TestingError> {
        let find = |name: &str, package: &str| {
            find_program(name).ok_or_else(|| TestingError::NotInstalled {
                what: format!("{name} (Debian's {package}; looked in /usr/sbin, /sbin and $PATH)"),
                install: INSTALL_HINT.to_string(),
            })
        };
        Ok(Tools {
            krb5kdc: find("krb5kdc", "krb5-kdc")?,
            kdb5_util: find("kdb5_util", "krb5-kdc")?,
            kadmin_local: find("kadmin.local", "krb5-admin-server")?,
            env: find("env", "coreutils")?,
        })
    }
}

fn find_program(name: &str) -> Option<PathBuf> {
    let mut dirs = vec![PathBuf::from("/usr/sbin"), PathBuf::from("/sbin"), "/usr/bin".into()];
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    dirs.into_iter().map(|dir| dir.join(name)).find(|p| p.is_file())
}
