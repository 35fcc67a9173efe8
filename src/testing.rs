//! Real ZooKeeper servers and ensembles for tests (feature `testing`).
//!
//! [`TestingServer`] runs one standalone server, [`TestingCluster`] a quorum ensemble, both on
//! free loopback ports with their own temporary directories. They launch the ZooKeeper that
//! Debian's `zookeeper` package installs (`/usr/share/java/zookeeper.jar`, run by `java`):
//! `sudo apt-get install zookeeper`, or zkcluster's `scripts/install-zookeeper.sh` (shipped in
//! the package; the error of a missing install names its full path). Set `ZKCLUSTER_JAVA` or
//! `ZKCLUSTER_ZOOKEEPER_JAR` to use another `java` binary or jar. [`TestingKdc`] runs a real
//! Kerberos KDC (Debian's `krb5-kdc`) for servers built with
//! [`kerberos`](TestingServerBuilder::kerberos).
//!
//! Every server runs under a small `sh` supervisor that holds a pipe from the test process and
//! kills the server (and removes its directory) once that pipe closes, so no server outlives the
//! test process, even when it is killed or never drops the server (as with [`TestingServer::shared`]).
//! Unix only: the kit uses `sh`, `cat` and `kill`.
//!
//! ```no_run
//! use zkcluster::testing::TestingServer;
//!
//! # fn main() -> Result<(), zkcluster::testing::TestingError> {
//! let server = TestingServer::start()?;
//! println!("connect your client to {}", server.connect_string());
//! assert!(server.four_letter("srvr")?.contains("Mode: standalone"));
//! # Ok(())
//! # }
//! ```

use std::time::Duration;

mod builder;
mod cluster;
mod install;
mod kdc;
mod net;
mod process;
mod server;
mod tls;

pub use builder::TestingServerBuilder;
pub use cluster::{TestingCluster, TestingClusterBuilder};
pub use kdc::TestingKdc;
pub use server::TestingServer;
pub use tls::{TestingCertificate, TestingTls};

/// What can go wrong while running test servers.
///
/// ```
/// use zkcluster::testing::TestingError;
///
/// let error = TestingError::NotInstalled {
///     what: "java".to_string(),
///     install: "run scripts/install-zookeeper.sh".to_string(),
/// };
/// assert!(error.to_string().contains("scripts/install-zookeeper.sh"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestingError {
    /// `java` or the ZooKeeper jar is missing on this machine.
    #[error("{what} is not installed: {install}")]
    NotInstalled {
        /// The missing piece (with the places that were searched).
        what: String,
        /// How to install it.
        install: String,
    },
    /// A file, socket or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// The operation that failed.
        what: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The server did not answer `srvr` as serving before the deadline.
    #[error("ZooKeeper at {addr} was not serving after {after:?}; server log tail:\n{log_tail}")]
    NotServing {
        /// `127.0.0.1:PORT` of the server.
        addr: String,
        /// How long we waited.
        after: Duration,
        /// The last lines of the server's log.
        log_tail: String,
    },
    /// The server process ended while we waited for it to serve.
    #[error("ZooKeeper at {addr} exited ({status}) before serving; server log tail:\n{log_tail}")]
    Exited {
        /// `127.0.0.1:PORT` of the server.
        addr: String,
        /// The exit status of its supervisor (the server's own status).
        status: String,
        /// The last lines of the server's log.
        log_tail: String,
    },
    /// The operation needs a running server, and this one is stopped.
    #[error("ZooKeeper at {addr} is not running")]
    NotRunning {
        /// `127.0.0.1:PORT` of the server.
        addr: String,
    },
    /// Sending a signal to the server (`kill(2)`) failed.
    #[error("sending SIG{signal} to pid {pid} failed: {detail}")]
    Signal {
        /// The signal name (`TERM`, `KILL`, `STOP`, `CONT`).
        signal: &'static str,
        /// The server's pid.
        pid: u32,
        /// Why it failed.
        detail: String,
    },
    /// No ensemble member reported `Mode: leader` before the deadline.
    #[error("no leader among {members} members after {after:?}")]
    NoLeader {
        /// How many members the ensemble has.
        members: usize,
        /// How long we waited.
        after: Duration,
    },
    /// The test KDC ([`TestingKdc`]) could not be set up or did not come up.
    #[error("test KDC: {what}:\n{detail}")]
    Kerberos {
        /// What failed (the tool and its query, or the KDC's start).
        what: String,
        /// The tool's output or the tail of the KDC's log.
        detail: String,
    },
    /// A builder or constructor argument cannot work.
    #[error("invalid test server setup: {what}")]
    InvalidSetup {
        /// What is wrong.
        what: String,
    },
}

impl TestingError {
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> TestingError {
        TestingError::Io { what: what.into(), source }
    }
}
