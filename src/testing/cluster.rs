//! A quorum ensemble of [`TestingServer`]s on loopback.

use std::time::{Duration, Instant};

use super::builder::base_config;
use super::install::Installation;
use super::server::QUORUM_MAIN;
use super::{net, TestingError, TestingServer};

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
}

impl TestingCluster {
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
        if n == 0 {
            return Err(TestingError::InvalidSetup {
                what: "an ensemble needs at least one member".to_string(),
            });
        }
        let install = Installation::locate()?;
        // Per member: client port, peer (quorum) port, leader-election port.
        let ports = net::free_ports(3 * n)?;
        let server_lines: Vec<String> = (0..n)
            .map(|i| {
                format!("server.{}=127.0.0.1:{}:{}", i + 1, ports[3 * i + 1], ports[3 * i + 2])
            })
            .collect();
        let mut members = Vec::with_capacity(n);
        for i in 0..n {
            let mut config = base_config(TICK, ports[3 * i]);
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
            config.extend(server_lines.iter().cloned());
            let member = TestingServer::create(
                install.clone(),
                QUORUM_MAIN,
                ports[3 * i],
                &config,
                Some(i + 1),
                STARTUP_TIMEOUT,
            )?;
            members.push(member);
        }
        // Members wait for each other to form a quorum, so launch all before waiting on any.
        let cluster = TestingCluster { members };
        for member in &cluster.members {
            member.launch()?;
        }
        for member in &cluster.members {
            member.wait_until_serving()?;
        }
        cluster.wait_for_leader(STARTUP_TIMEOUT)?;
        Ok(cluster)
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
