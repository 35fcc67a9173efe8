//! A quorum ensemble of [`TestingServer`]s on loopback.

use std::time::{Duration, Instant};

use super::builder::{base_config, ServerTls};
use super::install::Installation;
use super::server::QUORUM_MAIN;
use super::{net, TestingError, TestingServer, TestingTls};

const TICK: Duration = Duration::from_millis(500);
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
const LEADER_PROBE_TIMEOUT: Duration = Duration::from_secs(1);
const LEADER_POLL: Duration = Duration::from_millis(100);

/// A ZooKeeper ensemble of `n` members on loopback; every member is a [`TestingServer`] that can
/// be stopped, killed, frozen or restarted on its own. Dropping the cluster kills them all.
///
/// ```no_run
/// use std::time::Duration;
/// use zkcluster::testing::TestingCluster;
///
/// # fn main() -> Result<(), zkcluster::testing::TestingError> {
/// let mut cluster = TestingCluster::start(3)?;
/// let leader = cluster.wait_for_leader(Duration::from_secs(30))?;
/// cluster.member_mut(leader).kill()?;
/// let new_leader = cluster.wait_for_leader(Duration::from_secs(30))?;
/// assert_ne!(leader, new_leader);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct TestingCluster {
    members: Vec<TestingServer>,
    /// `server.N=...` of every member, in member order.
    specs: Vec<String>,
    install: Installation,
    settings: TestingClusterBuilder,
}

/// Options for [`TestingCluster::builder`].
///
/// ```no_run
/// # fn main() -> Result<(), zkcluster::testing::TestingError> {
/// let cluster = zkcluster::testing::TestingCluster::builder(3).read_only_mode(true).start()?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct TestingClusterBuilder {
    size: usize,
    read_only: bool,
    reconfig: bool,
    tls: Option<ServerTls>,
}

impl TestingClusterBuilder {
    /// Lets a member that lost the quorum keep serving reads to clients that ask for read-only
    /// sessions (ZooKeeper's `readonlymode.enabled`). Default off.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let cluster = zkcluster::testing::TestingCluster::builder(3).read_only_mode(true).start()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn read_only_mode(mut self, enabled: bool) -> Self {
        self.read_only = enabled;
        self
    }

    /// Turns on dynamic reconfiguration (`reconfigEnabled`), lists each member's client address
    /// in the configuration, and makes a super user ([`TestingCluster::SUPER_AUTH`]) who may
    /// reconfigure. Default off.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let cluster = zkcluster::testing::TestingCluster::builder(3).reconfig_enabled(true).start()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn reconfig_enabled(mut self, enabled: bool) -> Self {
        self.reconfig = enabled;
        self
    }

    /// Gives every member a TLS port (next to its plain one) with the certificate `tls` made,
    /// as [`TestingServerBuilder::tls`](super::TestingServerBuilder::tls) does for one server;
    /// clients connect to [`TestingCluster::tls_connect_string`]. The members still talk to
    /// each other in plain TCP.
    ///
    /// ```no_run
    /// use zkcluster::testing::{TestingCluster, TestingTls};
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let cluster = TestingCluster::builder(3).tls(&TestingTls::generate()?).start()?;
    /// assert_eq!(cluster.tls_connect_string().unwrap().split(',').count(), 3);
    /// # Ok(())
    /// # }
    /// ```
    pub fn tls(mut self, tls: &TestingTls) -> Self {
        self.tls = Some(ServerTls::new(tls));
        self
    }

    /// Starts the ensemble and waits until every member serves and one is the leader.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let cluster = zkcluster::testing::TestingCluster::builder(3).start()?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`TestingError::InvalidSetup`] for an empty ensemble; [`TestingError::NotInstalled`]
    /// without Java or ZooKeeper; start errors of any member; [`TestingError::NoLeader`].
    pub fn start(self) -> Result<TestingCluster, TestingError> {
        let n = self.size;
        if n == 0 {
            return Err(TestingError::InvalidSetup {
                what: "an ensemble needs at least one member".to_string(),
            });
        }
        let install = Installation::locate()?;
        // Per member: client port, peer (quorum) port, leader-election port.
        let ports = net::free_ports(3 * n)?;
        let specs: Vec<String> =
            (0..n).map(|i| member_spec(i + 1, &ports[3 * i..3 * i + 3])).collect();
        let mut members = Vec::with_capacity(n);
        for i in 0..n {
            members.push(self.create_member(&install, i + 1, ports[3 * i], &specs)?);
        }
        // Members wait for each other to form a quorum, so launch all before waiting on any.
        let cluster = TestingCluster { members, specs, install, settings: self };
        for member in &cluster.members {
            member.launch()?;
        }
        for member in &cluster.members {
            member.wait_until_serving()?;
            member.wait_for_tls_port()?;
        }
        cluster.wait_for_leader(STARTUP_TIMEOUT)?;
        Ok(cluster)
    }

    fn create_member(
        &self,
        install: &Installation,
        id: usize,
        client_port: u16,
        specs: &[String],
    ) -> Result<TestingServer, TestingError> {
        let mut config = base_config(TICK, client_port);
        config.extend(
            [
                "initLimit=20",
                "syncLimit=5",
                "minSessionTimeout=1000",
                "maxSessionTimeout=60000",
                // Keeps a one-member "ensemble" in quorum mode too.
                "standaloneEnabled=false",
            ]
            .map(String::from),
        );
        let mut properties = Vec::new();
        if self.read_only {
            properties.push("-Dreadonlymode.enabled=true".to_string());
            // Since ZOOKEEPER-3864 a read-only member creates only local sessions; without them
            // it refuses every new session with NotReadOnly. Upgrading keeps ephemeral nodes
            // working on the read-write side (the session turns global on its first one).
            config.extend(
                ["localSessionsEnabled=true", "localSessionsUpgradingEnabled=true"]
                    .map(String::from),
            );
        }
        if self.reconfig {
            config.push("reconfigEnabled=true".to_string());
            let (user, password) =
                TestingCluster::SUPER_AUTH.split_once(':').unwrap_or(("super", ""));
            properties.push(format!(
                "-Dzookeeper.DigestAuthenticationProvider.superDigest={}",
                crate::digest_id(user, password)
            ));
            config.extend(specs.iter().cloned());
        } else {
            // Without reconfiguration, the classic form without client addresses.
            config.extend(specs.iter().map(|spec| {
                spec.split_once(":participant;").map_or(spec.clone(), |(peer, _)| peer.to_string())
            }));
        }
        let tls_port = match &self.tls {
            Some(_) => {
                let port = net::free_ports(1)?[0];
                config.extend(ServerTls::lines(port));
                Some(port)
            }
            None => None,
        };
        let member = TestingServer::create(
            install.clone(),
            QUORUM_MAIN,
            client_port,
            &config,
            Some(id),
            STARTUP_TIMEOUT,
        )?
        .with_tls_port(tls_port);
        if let Some(tls) = &self.tls {
            tls.write(&member)?;
        }
        Ok(member.with_jvm_properties(&properties))
    }
}

/// `server.ID=127.0.0.1:QUORUM:ELECTION:participant;127.0.0.1:CLIENT` from (client, quorum,
/// election) ports.
fn member_spec(id: usize, ports: &[u16]) -> String {
    format!("server.{id}=127.0.0.1:{}:{}:participant;127.0.0.1:{}", ports[1], ports[2], ports[0])
}

impl TestingCluster {
    /// `user:password` of the super user of a cluster built with
    /// [`reconfig_enabled`](TestingClusterBuilder::reconfig_enabled), for
    /// `client.add_auth("digest", TestingCluster::SUPER_AUTH)`.
    pub const SUPER_AUTH: &'static str = "super:zkcluster-test";

    /// Starts an `n`-member ensemble (members get ids 1..=n) and waits until every member
    /// serves and one is the leader.
    ///
    /// # Errors
    ///
    /// As [`TestingServer::start`](crate::testing::TestingServer::start), for any member;
    /// [`NoLeader`](crate::testing::TestingError::NoLeader) when no leader was elected in time.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let cluster = zkcluster::testing::TestingCluster::start(3)?;
    /// assert_eq!(cluster.len(), 3);
    /// # Ok(())
    /// # }
    /// ```
    pub fn start(n: usize) -> Result<TestingCluster, TestingError> {
        TestingCluster::builder(n).start()
    }

    /// Options for an `n`-member ensemble: read-only mode, dynamic reconfiguration.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let cluster = zkcluster::testing::TestingCluster::builder(3)
    ///     .read_only_mode(true)
    ///     .reconfig_enabled(true)
    ///     .start()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn builder(n: usize) -> TestingClusterBuilder {
        TestingClusterBuilder { size: n, read_only: false, reconfig: false, tls: None }
    }

    /// Starts a new member (the next id) that is not part of the ensemble yet: its own
    /// configuration lists the current members and itself, so it syncs with the leader as a
    /// non-voting follower until a reconfig makes it a member (pass
    /// [`member_spec`](Self::member_spec) of the returned index to the reconfig's joining
    /// list). Needs [`TestingClusterBuilder::reconfig_enabled`]. Returns its index.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let mut cluster =
    ///     zkcluster::testing::TestingCluster::builder(3).reconfig_enabled(true).start()?;
    /// let new = cluster.add_member()?;
    /// let spec = cluster.member_spec(new); // "server.4=127.0.0.1:...:participant;127.0.0.1:..."
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`TestingError::InvalidSetup`] without reconfiguration; start errors as for
    /// [`start`](Self::start).
    pub fn add_member(&mut self) -> Result<usize, TestingError> {
        if !self.settings.reconfig {
            return Err(TestingError::InvalidSetup {
                what: "add_member needs a cluster built with reconfig_enabled(true)".to_string(),
            });
        }
        let ports = net::free_ports(3)?;
        let id = self.members.len() + 1;
        let spec = member_spec(id, &ports);
        let mut specs = self.specs.clone();
        specs.push(spec.clone());
        let member = self.settings.create_member(&self.install, id, ports[0], &specs)?;
        member.launch()?;
        member.wait_until_serving()?;
        self.members.push(member);
        self.specs.push(spec);
        Ok(id - 1)
    }

    /// Member `i`'s `server.N=host:quorum:election:participant;host:client` line, as a reconfig
    /// takes it.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let cluster = zkcluster::testing::TestingCluster::start(3)?;
    /// assert!(cluster.member_spec(0).starts_with("server.1=127.0.0.1:"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn member_spec(&self, i: usize) -> String {
        self.specs[i].clone()
    }

    /// All members' `127.0.0.1:PORT`, comma-separated, in member order.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let cluster = zkcluster::testing::TestingCluster::start(3)?;
    /// assert_eq!(cluster.connect_string().split(',').count(), 3);
    /// # Ok(())
    /// # }
    /// ```
    pub fn connect_string(&self) -> String {
        let members: Vec<String> = self.members.iter().map(TestingServer::connect_string).collect();
        members.join(",")
    }

    /// All members' TLS ports (`127.0.0.1:PORT`, comma-separated, in member order) of a
    /// cluster built with [`TestingClusterBuilder::tls`]; `None` otherwise.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let cluster = zkcluster::testing::TestingCluster::start(3)?;
    /// assert_eq!(cluster.tls_connect_string(), None);
    /// # Ok(())
    /// # }
    /// ```
    pub fn tls_connect_string(&self) -> Option<String> {
        let members: Option<Vec<String>> =
            self.members.iter().map(TestingServer::tls_connect_string).collect();
        members.map(|m| m.join(","))
    }

    /// The number of members, running or not.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let cluster = zkcluster::testing::TestingCluster::start(3)?;
    /// assert_eq!(cluster.len(), 3);
    /// # Ok(())
    /// # }
    /// ```
    #[allow(clippy::len_without_is_empty)] // an ensemble is never empty
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Member `i` (0-based; its ZooKeeper id is `i + 1`). Panics if `i >= len()`, like indexing.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let cluster = zkcluster::testing::TestingCluster::start(3)?;
    /// println!("{}", cluster.member(0).four_letter("srvr")?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn member(&self, i: usize) -> &TestingServer {
        &self.members[i]
    }

    /// Member `i`, to stop, kill or restart it. Panics if `i >= len()`, like indexing.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let mut cluster = zkcluster::testing::TestingCluster::start(3)?;
    /// cluster.member_mut(2).stop()?;
    /// cluster.member_mut(2).restart()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn member_mut(&mut self, i: usize) -> &mut TestingServer {
        &mut self.members[i]
    }

    /// The index of the member whose `srvr` says `Mode: leader`, if any answers so now.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let cluster = zkcluster::testing::TestingCluster::start(3)?;
    /// if let Some(i) = cluster.leader() {
    ///     println!("leader is {}", cluster.member(i).connect_string());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn leader(&self) -> Option<usize> {
        self.members.iter().position(|member| {
            member.is_running()
                && member.mode_with_timeout(LEADER_PROBE_TIMEOUT).as_deref() == Some("leader")
        })
    }

    /// The index of the member listening for clients on `port` (e.g. the port a client is
    /// connected to).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let cluster = zkcluster::testing::TestingCluster::start(3)?;
    /// assert_eq!(cluster.member_of_port(cluster.member(1).port()), Some(1));
    /// # Ok(())
    /// # }
    /// ```
    pub fn member_of_port(&self, port: u16) -> Option<usize> {
        self.members.iter().position(|member| member.port() == port)
    }

    /// Polls until a member is leader, and returns its index.
    ///
    /// # Errors
    ///
    /// [`NoLeader`](crate::testing::TestingError::NoLeader) when no member reported being the
    /// leader within `timeout`.
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # fn main() -> Result<(), zkcluster::testing::TestingError> {
    /// let cluster = zkcluster::testing::TestingCluster::start(3)?;
    /// let leader = cluster.wait_for_leader(Duration::from_secs(30))?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn wait_for_leader(&self, timeout: Duration) -> Result<usize, TestingError> {
        let started = Instant::now();
        loop {
            if let Some(leader) = self.leader() {
                return Ok(leader);
            }
            if started.elapsed() >= timeout {
                return Err(TestingError::NoLeader {
                    members: self.members.len(),
                    after: started.elapsed(),
                });
            }
            std::thread::sleep(LEADER_POLL);
        }
    }
}
