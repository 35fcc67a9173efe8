//! Options for a standalone [`TestingServer`], and the `zoo.cfg` defaults every test server shares.

use std::time::Duration;

use super::install::Installation;
use super::server::STANDALONE_MAIN;
use super::{net, TestingError, TestingServer};

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
        let install = Installation::locate()?;
        let mut attempt = 1;
        loop {
            let port = net::free_port()?;
            let config = self.config_lines(port);
            let server = TestingServer::create(
                install.clone(),
                STANDALONE_MAIN,
                port,
                &config,
                None,
                self.startup_timeout,
            )?
            .with_jvm_properties(&self.jvm_properties);
            match server.launch().and_then(|()| server.wait_until_serving()) {
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

    fn config_lines(&self, port: u16) -> Vec<String> {
        let mut lines = base_config(self.tick_time, port);
        lines.push(format!("minSessionTimeout={}", self.min_session_timeout.as_millis()));
        lines.push(format!("maxSessionTimeout={}", self.max_session_timeout.as_millis()));
        lines.extend(self.extra_lines.iter().cloned());
        lines
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
