//! One ZooKeeper server process: standalone, or a member of a [`TestingCluster`](super::TestingCluster).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use super::install::Installation;
use super::net;
use super::process::WatchedProcess;
use super::{TestingError, TestingServerBuilder};

pub(super) const STANDALONE_MAIN: &str = "org.apache.zookeeper.server.ZooKeeperServerMain";
pub(super) const QUORUM_MAIN: &str = "org.apache.zookeeper.server.quorum.QuorumPeerMain";
/// Small heap, no JIT tiers beyond C1, class-data sharing: a server is up in well under a second.
const JVM_FLAGS: &[&str] = &[
    "-Xmx256m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-Xshare:auto",
    "-XX:-UsePerfData",
    "-Djava.net.preferIPv4Stack=true",
    "-Dzookeeper.admin.enableServer=false",
    // Timestamps in server.log, to line it up with a failing test's own output.
    "-Dorg.slf4j.simpleLogger.showDateTime=true",
    "-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS",
];
const CONFIG_FILE: &str = "zoo.cfg";
const LOG_FILE: &str = "server.log";
const FOUR_LETTER_TIMEOUT: Duration = Duration::from_secs(2);
const READY_PROBE_TIMEOUT: Duration = Duration::from_secs(1);
const READY_POLL: Duration = Duration::from_millis(50);
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
const LOG_TAIL_LINES: usize = 40;

/// A ZooKeeper server on a loopback port, killed and deleted on drop.
///
/// Its directory (see [`data_dir`](TestingServer::data_dir)) holds `zoo.cfg`, `server.log` (the
/// server's output) and ZooKeeper's data (`version-2/`).
///
/// ```no_run
/// use zkcluster::testing::TestingServer;
///
/// # fn main() -> Result<(), zkcluster::testing::TestingError> {
/// let mut server = TestingServer::start()?;
/// let connect = server.connect_string(); // "127.0.0.1:PORT"
/// server.restart()?; // same port, same data
/// assert_eq!(server.connect_string(), connect);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct TestingServer {
    install: Installation,
    main_class: &'static str,
    port: u16,
    dir: PathBuf,
    startup_timeout: Duration,
    process: Mutex<Option<WatchedProcess>>,
    frozen: AtomicBool,
    /// `-Dkey=value` arguments for settings ZooKeeper reads only from system properties.
    jvm_properties: Vec<String>,
    /// The TLS client port, when the server has one.
    tls_port: Option<u16>,
}

impl TestingServer {
    /// Starts a standalone server with the defaults (tick 500 ms, sessions 1–60 s, TTL nodes on)
    /// on a free loopback port and waits until it serves.
    ///
    /// # Errors
    ///
    /// As [`TestingServerBuilder::start`](crate::testing::TestingServerBuilder::start).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let server = zkcluster::testing::TestingServer::start()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn start() -> Result<TestingServer, TestingError> {
        TestingServer::builder().start()
    }

    /// Like [`start`](Self::start), but when Java or ZooKeeper is missing, first runs the
    /// crate's `scripts/install-zookeeper.sh` (apt; needs root or sudo) and tries again. For
    /// demos and tools that should work on a fresh machine; tests should fail instead.
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start), once the install was tried.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let server = zkcluster::testing::TestingServer::start_or_install()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn start_or_install() -> Result<TestingServer, TestingError> {
        match TestingServer::start() {
            Err(TestingError::NotInstalled { .. }) => {
                let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/install-zookeeper.sh");
                log::warn!("ZooKeeper is not installed; running {script}");
                let status = std::process::Command::new("bash").arg(script).status();
                if !matches!(status, Ok(s) if s.success()) {
                    log::error!("{script} failed: {status:?}");
                }
                TestingServer::start()
            }
            other => other,
        }
    }

    /// Options for a standalone server.
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let server = zkcluster::testing::TestingServer::builder()
    ///     .tick_time(Duration::from_millis(200))
    ///     .start()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn builder() -> TestingServerBuilder {
        TestingServerBuilder::default()
    }

    /// One default server for the whole test process, started on first use.
    ///
    /// It is never dropped; its supervisor kills it and removes its directory when the test
    /// process exits. Share it only between tests that do not stop, freeze or restart it.
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start) (the error of the first start is returned to every caller).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let server = zkcluster::testing::TestingServer::shared()?;
    /// assert_eq!(server.port(), zkcluster::testing::TestingServer::shared()?.port());
    /// # Ok(())
    /// # }
    /// ```
    pub fn shared() -> Result<&'static TestingServer, TestingError> {
        static SHARED: OnceLock<TestingServer> = OnceLock::new();
        static STARTING: Mutex<()> = Mutex::new(());
        if let Some(server) = SHARED.get() {
            return Ok(server);
        }
        // One starter at a time; a failed start leaves the slot empty for the next caller.
        let _starting = STARTING.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(server) = SHARED.get() {
            return Ok(server);
        }
        let server = TestingServer::start()?;
        Ok(SHARED.get_or_init(|| server))
    }

    /// `127.0.0.1:PORT`, for a client's connect string.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let server = zkcluster::testing::TestingServer::start()?;
    /// assert!(server.connect_string().starts_with("127.0.0.1:"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn connect_string(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The TLS client port of a server built with
    /// [`TestingServerBuilder::tls`](super::TestingServerBuilder::tls); `None` otherwise.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let server = zkcluster::testing::TestingServer::start()?;
    /// assert_eq!(server.tls_port(), None);
    /// # Ok(())
    /// # }
    /// ```
    pub fn tls_port(&self) -> Option<u16> {
        self.tls_port
    }

    /// `127.0.0.1:TLS_PORT`, for a TLS client's connect string; `None` without a TLS port.
    ///
    /// ```no_run
    /// use zkcluster::testing::{TestingServer, TestingTls};
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let server = TestingServer::builder().tls(&TestingTls::generate()?).start()?;
    /// assert!(server.tls_connect_string().unwrap().starts_with("127.0.0.1:"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn tls_connect_string(&self) -> Option<String> {
        self.tls_port.map(|port| format!("127.0.0.1:{port}"))
    }

    /// The client port; it stays the same across [`restart`](Self::restart).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let server = zkcluster::testing::TestingServer::start()?;
    /// println!("listening on {}", server.port());
    /// # Ok(())
    /// # }
    /// ```
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The JVM's pid while it runs.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let mut server = zkcluster::testing::TestingServer::start()?;
    /// assert!(server.pid().is_some());
    /// server.stop()?;
    /// assert_eq!(server.pid(), None);
    /// # Ok(())
    /// # }
    /// ```
    pub fn pid(&self) -> Option<u32> {
        let mut process = self.process();
        let running = process.as_mut()?;
        running.exit_status().is_none().then(|| running.server_pid())
    }

    /// The server's directory: ZooKeeper's `dataDir`, also holding `zoo.cfg` and `server.log`.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let server = zkcluster::testing::TestingServer::start()?;
    /// let log = std::fs::read_to_string(server.data_dir().join("server.log"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn data_dir(&self) -> &Path {
        &self.dir
    }

    /// Stops the server gracefully (SIGTERM) and waits for it to exit; SIGKILL after 30 s.
    /// Does nothing if it is not running.
    ///
    /// # Errors
    ///
    /// [`Signal`](crate::testing::TestingError::Signal) when the server cannot be signalled, or it
    /// did not end in time.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let mut server = zkcluster::testing::TestingServer::start()?;
    /// server.stop()?;
    /// assert!(!server.is_running());
    /// # Ok(())
    /// # }
    /// ```
    pub fn stop(&mut self) -> Result<(), TestingError> {
        let frozen = self.frozen.swap(false, Ordering::SeqCst);
        let mut process = self.process();
        let Some(running) = process.as_mut() else {
            return Ok(());
        };
        if frozen {
            running.signal("CONT")?;
        }
        running.signal("TERM")?;
        if running.wait_timeout(STOP_TIMEOUT).is_none() {
            running.kill_and_wait()?;
        }
        *process = None;
        Ok(())
    }

    /// Kills the server (SIGKILL), as a crash would, and waits for it to exit. Data written
    /// before stays for [`restart`](Self::restart).
    ///
    /// # Errors
    ///
    /// [`Signal`](crate::testing::TestingError::Signal) when the server cannot be signalled, or it
    /// did not end in time.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let mut server = zkcluster::testing::TestingServer::start()?;
    /// server.kill()?;
    /// server.restart()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn kill(&mut self) -> Result<(), TestingError> {
        self.frozen.store(false, Ordering::SeqCst);
        let mut process = self.process();
        if let Some(running) = process.as_mut() {
            running.kill_and_wait()?;
        }
        *process = None;
        Ok(())
    }

    /// Stops the server if it runs, starts it again on the same port with the same data and
    /// waits until it serves.
    ///
    /// # Errors
    ///
    /// As [`stop`](Self::stop), then as [`start`](Self::start).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let mut server = zkcluster::testing::TestingServer::start()?;
    /// server.restart()?;
    /// assert!(server.is_running());
    /// # Ok(())
    /// # }
    /// ```
    pub fn restart(&mut self) -> Result<(), TestingError> {
        self.stop()?;
        self.launch()?;
        self.wait_until_serving()?;
        self.wait_for_tls_port()
    }

    /// Suspends the server (SIGSTOP): connections stay open but nothing answers, as with a
    /// long GC pause or a partitioned host. Undo with [`thaw`](Self::thaw).
    ///
    /// # Errors
    ///
    /// [`Signal`](crate::testing::TestingError::Signal) when the server cannot be signalled;
    /// [`NotRunning`](crate::testing::TestingError::NotRunning) when it is not running.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let server = zkcluster::testing::TestingServer::start()?;
    /// server.freeze()?;
    /// assert!(server.four_letter("srvr").is_err());
    /// server.thaw()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn freeze(&self) -> Result<(), TestingError> {
        self.send_to_running("STOP")?;
        self.frozen.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// Resumes a server suspended by [`freeze`](Self::freeze) (SIGCONT).
    ///
    /// # Errors
    ///
    /// [`Signal`](crate::testing::TestingError::Signal) when the server cannot be signalled;
    /// [`NotRunning`](crate::testing::TestingError::NotRunning) when it is not running.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let server = zkcluster::testing::TestingServer::start()?;
    /// server.freeze()?;
    /// server.thaw()?;
    /// assert!(server.four_letter("srvr").is_ok());
    /// # Ok(())
    /// # }
    /// ```
    pub fn thaw(&self) -> Result<(), TestingError> {
        self.send_to_running("CONT")?;
        self.frozen.store(false, Ordering::SeqCst);
        Ok(())
    }

    /// Whether the server process is alive (frozen counts as alive; serving is not checked).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let mut server = zkcluster::testing::TestingServer::start()?;
    /// assert!(server.is_running());
    /// server.kill()?;
    /// assert!(!server.is_running());
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_running(&self) -> bool {
        self.pid().is_some()
    }

    /// Sends a four-letter command (`srvr`, `stat`, `cons`, `mntr`, `dump`, ...) and returns the
    /// answer; fails if there is none within 2 s.
    ///
    /// # Errors
    ///
    /// [`Io`](crate::testing::TestingError::Io) when the server cannot be reached or does not
    /// answer.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let server = zkcluster::testing::TestingServer::start()?;
    /// let mntr = server.four_letter("mntr")?;
    /// assert!(mntr.contains("zk_znode_count"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn four_letter(&self, cmd: &str) -> Result<String, TestingError> {
        net::four_letter(self.port, cmd, FOUR_LETTER_TIMEOUT)
    }

    /// Creates the directory, `zoo.cfg` (with `dataDir` first) and, for quorum members, `myid`.
    pub(super) fn create(
        install: Installation,
        main_class: &'static str,
        port: u16,
        config: &[String],
        myid: Option<usize>,
        startup_timeout: Duration,
    ) -> Result<TestingServer, TestingError> {
        let dir = net::create_temp_dir(&format!("zk{port}"))?;
        let server = TestingServer {
            install,
            main_class,
            port,
            dir,
            startup_timeout,
            process: Mutex::new(None),
            frozen: AtomicBool::new(false),
            jvm_properties: Vec::new(),
            tls_port: None,
        };
        let mut text = format!("dataDir={}\n", server.dir.display());
        for line in config {
            text.push_str(line);
            text.push('\n');
        }
        server.write_file(CONFIG_FILE, &text)?;
        if let Some(id) = myid {
            server.write_file("myid", &format!("{id}\n"))?;
        }
        Ok(server)
    }

    pub(super) fn with_tls_port(mut self, port: Option<u16>) -> TestingServer {
        self.tls_port = port;
        self
    }

    pub(super) fn with_jvm_properties(mut self, properties: &[String]) -> TestingServer {
        self.jvm_properties = properties.to_vec();
        self
    }

    /// Starts the JVM without waiting for it to serve.
    pub(super) fn launch(&self) -> Result<(), TestingError> {
        let mut args: Vec<std::ffi::OsString> = JVM_FLAGS.iter().map(Into::into).collect();
        args.extend(self.jvm_properties.iter().map(Into::into));
        args.push("-cp".into());
        args.push(self.install.class_path.clone());
        args.push(self.main_class.into());
        args.push(self.dir.join(CONFIG_FILE).into());
        let process =
            WatchedProcess::spawn(&self.dir, &self.dir.join(LOG_FILE), &self.install.java, args)?;
        *self.process() = Some(process);
        Ok(())
    }

    /// Polls `srvr` until it reports a `Mode:` (not "not currently serving requests").
    pub(super) fn wait_until_serving(&self) -> Result<(), TestingError> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.process().as_mut().and_then(|p| p.exit_status()) {
                return Err(TestingError::Exited {
                    addr: self.connect_string(),
                    status: status.to_string(),
                    log_tail: self.log_tail(),
                });
            }
            if self.mode_with_timeout(READY_PROBE_TIMEOUT).is_some() {
                return Ok(());
            }
            if started.elapsed() >= self.startup_timeout {
                return Err(TestingError::NotServing {
                    addr: self.connect_string(),
                    after: started.elapsed(),
                    log_tail: self.log_tail(),
                });
            }
            std::thread::sleep(READY_POLL);
        }
    }

    /// Polls the TLS port (if any) until it accepts connections: it may open after the plain
    /// port answers `srvr`.
    pub(super) fn wait_for_tls_port(&self) -> Result<(), TestingError> {
        let Some(port) = self.tls_port else { return Ok(()) };
        let started = Instant::now();
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        while std::net::TcpStream::connect_timeout(&addr, READY_PROBE_TIMEOUT).is_err() {
            if started.elapsed() >= self.startup_timeout {
                return Err(TestingError::NotServing {
                    addr: format!("127.0.0.1:{port} (TLS)"),
                    after: started.elapsed(),
                    log_tail: self.log_tail(),
                });
            }
            std::thread::sleep(READY_POLL);
        }
        Ok(())
    }

    /// The `Mode:` value of `srvr` (`standalone`, `leader`, `follower`) if the server serves.
    pub(super) fn mode_with_timeout(&self, timeout: Duration) -> Option<String> {
        let answer = net::four_letter(self.port, "srvr", timeout).ok()?;
        answer
            .lines()
            .find_map(|line| line.strip_prefix("Mode: "))
            .map(|mode| mode.trim().to_string())
    }

    fn log_tail(&self) -> String {
        net::log_tail(&self.dir.join(LOG_FILE), LOG_TAIL_LINES)
    }

    pub(super) fn write_file(&self, name: &str, text: &str) -> Result<(), TestingError> {
        let path = self.dir.join(name);
        fs::write(&path, text)
            .map_err(|e| TestingError::io(format!("writing {}", path.display()), e))
    }

    fn send_to_running(&self, signal: &'static str) -> Result<(), TestingError> {
        let mut process = self.process();
        let alive = process.as_mut().is_some_and(|p| p.exit_status().is_none());
        match process.as_mut() {
            Some(running) if alive => running.signal(signal),
            _ => Err(TestingError::NotRunning { addr: self.connect_string() }),
        }
    }

    /// The process slot; a panic elsewhere while it was locked does not make it unusable.
    fn process(&self) -> MutexGuard<'_, Option<WatchedProcess>> {
        self.process.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for TestingServer {
    fn drop(&mut self) {
        // Dropping the process wakes it if frozen, kills it and waits for it.
        drop(self.process().take());
        let _ = fs::remove_dir_all(&self.dir);
    }
}
