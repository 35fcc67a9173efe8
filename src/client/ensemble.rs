//! The ensemble as the client sees it: its dynamic configuration (`/zookeeper/config`), changes
//! to it (`reconfig`), and the identities the server holds for this session (`whoAmI`).

use super::data::check;
use super::{Client, Pending};
use crate::proto::{op, GetDataResponse, PathWatchRequest, ReconfigRequest, Stat, WhoAmIResponse};
use crate::session::{RawReply, WatchKind, WatchSender};
use crate::{Error, Result};

/// Where ZooKeeper publishes the ensemble's configuration (outside any chroot).
pub const CONFIG_NODE: &str = "/zookeeper/config";

/// A member's role in the ensemble.
///
/// ```
/// use zkcluster::MemberRole;
/// assert_ne!(MemberRole::Participant, MemberRole::Observer);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemberRole {
    /// Votes in elections and on writes.
    Participant,
    /// Serves clients and follows the leader without voting.
    Observer,
}

/// One `server.N=...` line of the ensemble configuration.
///
/// ```
/// let config = zkcluster::EnsembleConfig::parse(
///     "server.1=10.0.0.1:2888:3888:participant;0.0.0.0:2181\nversion=100000000",
/// ).unwrap();
/// let member = &config.members[0];
/// assert_eq!((member.id, member.quorum_port, member.election_port), (1, 2888, 3888));
/// assert_eq!(member.client_address.as_deref(), Some("0.0.0.0:2181"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnsembleMember {
    /// The server id (`N` of `server.N`).
    pub id: u64,
    /// The host it talks to its peers on.
    pub host: String,
    /// The port followers connect to the leader on.
    pub quorum_port: u16,
    /// The leader-election port.
    pub election_port: u16,
    /// Participant or observer.
    pub role: MemberRole,
    /// Where it serves clients (`host:port` after the `;`), when the configuration says.
    pub client_address: Option<String>,
}

impl EnsembleMember {
    /// The `server.N=host:quorum:election:role;client` spec, as [`Reconfig::joining`] takes it.
    ///
    /// ```
    /// let spec = "server.4=127.0.0.1:2888:3888:participant;127.0.0.1:2181";
    /// let config = zkcluster::EnsembleConfig::parse(spec).unwrap();
    /// assert_eq!(config.members[0].spec(), spec);
    /// ```
    pub fn spec(&self) -> String {
        let role = match self.role {
            MemberRole::Participant => "participant",
            MemberRole::Observer => "observer",
        };
        let mut spec = format!(
            "server.{}={}:{}:{}:{role}",
            self.id, self.host, self.quorum_port, self.election_port
        );
        if let Some(client) = &self.client_address {
            spec.push(';');
            spec.push_str(client);
        }
        spec
    }
}

/// The ensemble's configuration as `/zookeeper/config` holds it.
///
/// ```
/// let config = zkcluster::EnsembleConfig::parse(
///     "server.1=127.0.0.1:2888:3888:participant;127.0.0.1:2181\n\
///      server.2=127.0.0.1:2889:3889:observer;127.0.0.1:2182\n\
///      version=10000001a",
/// ).unwrap();
/// assert_eq!(config.version, 0x1_0000_001a);
/// assert_eq!(config.connect_string(), "127.0.0.1:2181,127.0.0.1:2182");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnsembleConfig {
    /// The configuration's version (the zxid that made it; `version=` is hexadecimal), as
    /// [`Reconfig::from_version`] takes it.
    pub version: i64,
    /// The members, in the order the configuration lists them.
    pub members: Vec<EnsembleMember>,
}

impl EnsembleConfig {
    /// Parses the text of `/zookeeper/config`.
    ///
    /// ```
    /// assert!(zkcluster::EnsembleConfig::parse("server.x=oops").is_err());
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the line that is not a server spec or a version.
    pub fn parse(text: &str) -> Result<EnsembleConfig> {
        let mut config = EnsembleConfig { version: 0, members: Vec::new() };
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let bad = |why: &str| Error::InvalidArgument {
                path: CONFIG_NODE.to_string(),
                reason: format!("configuration line {line:?}: {why}"),
            };
            let (key, value) = line.split_once('=').ok_or_else(|| bad("not key=value"))?;
            if key == "version" {
                config.version = i64::from_str_radix(value, 16)
                    .map_err(|_| bad("version is not hexadecimal"))?;
            } else if let Some(id) = key.strip_prefix("server.") {
                let id = id.parse().map_err(|_| bad("server id is not a number"))?;
                config.members.push(parse_member(id, value).ok_or_else(|| {
                    bad("expected host:quorum_port:election_port[:role][;client_address]")
                })?);
            }
            // Other keys (none in 3.8) are ignored, as servers ignore unknown ones.
        }
        Ok(config)
    }

    /// The members' client addresses, comma-separated, in configuration order: a connect string
    /// for the ensemble as it is now. A wildcard host (`0.0.0.0`) is replaced by the member's
    /// peer host, which is where it is reachable.
    ///
    /// ```
    /// let config = zkcluster::EnsembleConfig::parse(
    ///     "server.1=10.0.0.1:2888:3888:participant;0.0.0.0:2181",
    /// ).unwrap();
    /// assert_eq!(config.connect_string(), "10.0.0.1:2181");
    /// ```
    pub fn connect_string(&self) -> String {
        let addresses: Vec<String> = self
            .members
            .iter()
            .filter_map(|m| {
                let client = m.client_address.as_deref()?;
                let (host, port) = client.rsplit_once(':')?;
                let host = if host == "0.0.0.0" || host == "[::]" { m.host.as_str() } else { host };
                Some(format!("{host}:{port}"))
            })
            .collect();
        addresses.join(",")
    }
}

/// `host:quorum:election[:role][;[client_host:]client_port]`.
fn parse_member(id: u64, value: &str) -> Option<EnsembleMember> {
    let (peer, client) = match value.split_once(';') {
        Some((peer, client)) => (peer, Some(client)),
        None => (value, None),
    };
    let mut parts = peer.rsplitn(4, ':').collect::<Vec<_>>();
    parts.reverse();
    // With a role there are 4 parts (host may itself contain ':' only in brackets, which
    // rsplitn keeps whole in the first part).
    let (host, quorum, election, role) = match parts.as_slice() {
        [host, quorum, election, role] if role.parse::<u16>().is_err() => {
            (*host, *quorum, *election, *role)
        }
        _ => {
            let mut parts = peer.rsplitn(3, ':').collect::<Vec<_>>();
            parts.reverse();
            let [host, quorum, election] = parts.as_slice() else { return None };
            (*host, *quorum, *election, "participant")
        }
    };
    let role = match role {
        "participant" => MemberRole::Participant,
        "observer" => MemberRole::Observer,
        _ => return None,
    };
    let client_address =
        client.map(|c| if c.contains(':') { c.to_string() } else { format!("0.0.0.0:{c}") });
    Some(EnsembleMember {
        id,
        host: host.to_string(),
        quorum_port: quorum.parse().ok()?,
        election_port: election.parse().ok()?,
        role,
        client_address,
    })
}

/// A change to the ensemble's membership, sent by [`apply`](Reconfig::apply); made by
/// [`Client::reconfig`]. Either incremental (`joining` and/or `leaving`) or a whole new member
/// list (`new_members`). The server only accepts it from a session authorized for
/// `/zookeeper/config` (a super user, or per the server's `reconfig` ACL) and with
/// `reconfigEnabled=true`.
///
/// ```no_run
/// # fn main() -> zkcluster::Result<()> {
/// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
/// let before = client.get_config()?;
/// let after = client
///     .reconfig()
///     .joining("server.4=127.0.0.1:2890:3890:participant;127.0.0.1:2184")
///     .leaving(3)
///     .from_version(before.version)
///     .apply()?;
/// println!("now {}", after.connect_string());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a Reconfig does nothing until apply() is called"]
pub struct Reconfig {
    client: Client,
    joining: Vec<String>,
    leaving: Vec<String>,
    new_members: Vec<String>,
    from_version: i64,
}

impl Reconfig {
    /// Adds a server: `server.N=host:quorum:election[:role][;client]`.
    ///
    /// ```no_run
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181").unwrap();
    /// let change = client.reconfig().joining("server.4=10.0.0.4:2888:3888;2181");
    /// ```
    pub fn joining(mut self, spec: impl Into<String>) -> Self {
        self.joining.push(spec.into());
        self
    }

    /// Removes the server with id `id`.
    ///
    /// ```no_run
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181").unwrap();
    /// let change = client.reconfig().leaving(3);
    /// ```
    pub fn leaving(mut self, id: u64) -> Self {
        self.leaving.push(id.to_string());
        self
    }

    /// Replaces the whole membership with these specs (a non-incremental reconfig; cannot be
    /// combined with `joining`/`leaving`).
    ///
    /// ```no_run
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181").unwrap();
    /// let change = client.reconfig().new_member("server.1=10.0.0.1:2888:3888;2181");
    /// ```
    pub fn new_member(mut self, spec: impl Into<String>) -> Self {
        self.new_members.push(spec.into());
        self
    }

    /// Applies the change only if the configuration's version is still `version` (as read by
    /// [`Client::get_config`]); otherwise the server answers `BadVersion`. Default: any version.
    ///
    /// ```no_run
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181").unwrap();
    /// let version = client.get_config().unwrap().version;
    /// let change = client.reconfig().leaving(3).from_version(version);
    /// ```
    pub fn from_version(mut self, version: i64) -> Self {
        self.from_version = version;
        self
    }

    /// Sends the change and returns the configuration it produced.
    ///
    /// ```no_run
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181").unwrap();
    /// let config = client.reconfig().leaving(3).apply().unwrap();
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] (nothing sent) for an empty change or one that mixes
    /// `new_member` with `joining`/`leaving`; the server's `NoAuth` (not authorized),
    /// `ReconfigDisabled`, `BadVersion` (changed meanwhile), `NewConfigNoQuorum` or
    /// `ReconfigInProgress` as [`Error::Server`]; connection and timeout errors as for any
    /// write.
    pub fn apply(self) -> Result<EnsembleConfig> {
        let incremental = !self.joining.is_empty() || !self.leaving.is_empty();
        let whole = !self.new_members.is_empty();
        if incremental == whole {
            return Err(Error::InvalidArgument {
                path: CONFIG_NODE.to_string(),
                reason: if incremental {
                    "a reconfig is either incremental (joining/leaving) or a new member list, not both"
                } else {
                    "a reconfig needs joining, leaving or new members"
                }
                .to_string(),
            });
        }
        let list = |items: &[String]| (!items.is_empty()).then(|| items.join(","));
        let body = ReconfigRequest {
            joining_servers: list(&self.joining),
            leaving_servers: list(&self.leaving),
            new_members: list(&self.new_members),
            cur_config_id: self.from_version,
        };
        let client = self.client.clone();
        self.client
            .call("reconfig", CONFIG_NODE, op::RECONFIG, &body, None, move |reply: RawReply, _| {
                check(&reply, "reconfig", CONFIG_NODE)?;
                let data: GetDataResponse = client.decode(&reply, "reconfig", CONFIG_NODE)?;
                parse_config_bytes(&data.data)
            })
            .wait()
    }
}

fn parse_config_bytes(data: &[u8]) -> Result<EnsembleConfig> {
    let text = std::str::from_utf8(data).map_err(|e| Error::InvalidArgument {
        path: CONFIG_NODE.to_string(),
        reason: format!("configuration is not UTF-8: {e}"),
    })?;
    EnsembleConfig::parse(text)
}

/// One identity the server holds for a session (scheme and id), from [`Client::who_am_i`].
///
/// ```
/// let me = zkcluster::ClientIdentity { scheme: "ip".into(), id: "127.0.0.1".into() };
/// assert_eq!(me.to_string(), "ip:127.0.0.1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientIdentity {
    /// `ip`, `digest`, `sasl`, `x509`, `super`, ...
    pub scheme: String,
    /// The id under that scheme.
    pub id: String,
}

impl std::fmt::Display for ClientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.scheme, self.id)
    }
}

impl Client {
    /// The ensemble's current configuration, read from `/zookeeper/config` (ZooKeeper 3.5+;
    /// outside the chroot). Call [`sync`](Self::sync) first to be sure to see the newest one.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// for member in client.get_config()?.members {
    ///     println!("server.{} serves clients on {:?}", member.id, member.client_address);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// A standalone server (or one without dynamic configuration) keeps the node empty: the
    /// result then has no members.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if the node holds something that is not a configuration;
    /// connection and timeout errors as for any read.
    pub fn get_config(&self) -> Result<EnsembleConfig> {
        self.get_config_with_stat().map(|(config, _)| config)
    }

    /// [`get_config`](Self::get_config) with the config node's `Stat`.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let (config, stat) = client.get_config_with_stat()?;
    /// println!("config {:x} written at zxid {:x}", config.version, stat.mzxid);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`get_config`](Self::get_config).
    pub fn get_config_with_stat(&self) -> Result<(EnsembleConfig, Stat)> {
        self.read_config(None).wait()
    }

    /// Reads the config node, optionally leaving a one-shot data watch on it. The node lives
    /// outside the chroot, so both the request and the watch use its path as is.
    pub(super) fn read_config(
        &self,
        watch: Option<WatchSender>,
    ) -> Pending<(EnsembleConfig, Stat)> {
        let body = PathWatchRequest { path: CONFIG_NODE.to_string(), watch: watch.is_some() };
        let frame = crate::proto::encode_request(0, op::GET_DATA, &body);
        let registration = watch.map(|tx| (WatchKind::Data, CONFIG_NODE.to_string(), tx));
        let client = self.clone();
        let pending: Pending<(EnsembleConfig, Stat)> = match self.shared().send(frame, registration)
        {
            Ok(waiter) => {
                Pending::sent(waiter, "get_config", CONFIG_NODE.to_string(), move |reply| {
                    check(&reply, "get_config", CONFIG_NODE)?;
                    let data: GetDataResponse = client.decode(&reply, "get_config", CONFIG_NODE)?;
                    Ok((parse_config_bytes(&data.data)?, data.stat))
                })
            }
            Err(failure) => Pending::failed(failure.into_error("get_config", CONFIG_NODE)),
        };
        pending
    }

    /// Starts a change of the ensemble's membership (dynamic reconfiguration, ZooKeeper 3.5+);
    /// see [`Reconfig`].
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// client.add_auth("digest", "super:admin-password")?;
    /// let config = client.reconfig().leaving(3).apply()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn reconfig(&self) -> Reconfig {
        Reconfig {
            client: self.clone(),
            joining: Vec::new(),
            leaving: Vec::new(),
            new_members: Vec::new(),
            from_version: -1,
        }
    }

    /// The identities the server holds for this session (`ip`, plus those added by
    /// [`add_auth`](Self::add_auth), SASL or a TLS client certificate). ZooKeeper 3.7+.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// client.add_auth("digest", "bob:secret")?;
    /// assert!(client.who_am_i()?.iter().any(|me| me.to_string() == "digest:bob"));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`Error::Server`] with `Unimplemented` from servers older than 3.7; connection and
    /// timeout errors as for any read.
    pub fn who_am_i(&self) -> Result<Vec<ClientIdentity>> {
        let client = self.clone();
        let pending: Pending<Vec<ClientIdentity>> =
            self.call("who_am_i", "", op::WHO_AM_I, &(), None, move |reply: RawReply, _| {
                check(&reply, "who_am_i", "")?;
                let found: WhoAmIResponse = client.decode(&reply, "who_am_i", "")?;
                Ok(found
                    .client_info
                    .into_iter()
                    .map(|info| ClientIdentity { scheme: info.auth_scheme, id: info.user })
                    .collect())
            });
        pending.wait()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_members_with_and_without_role_and_client_address() {
        let config = EnsembleConfig::parse(
            "server.1=127.0.0.1:2888:3888:participant;127.0.0.1:2181\n\
             server.2=h2:2888:3888\n\
             server.3=h3:2888:3888:observer;2183\n\
             version=200000004\n",
        )
        .unwrap();
        assert_eq!(config.version, 0x2_0000_0004);
        assert_eq!(config.members.len(), 3);
        assert_eq!(config.members[1].role, MemberRole::Participant);
        assert_eq!(config.members[1].client_address, None);
        assert_eq!(config.members[2].role, MemberRole::Observer);
        assert_eq!(config.members[2].client_address.as_deref(), Some("0.0.0.0:2183"));
        assert_eq!(config.connect_string(), "127.0.0.1:2181,h3:2183");
    }

    #[test]
    fn rejects_lines_that_are_not_a_configuration() {
        for bad in ["server.1=h:1", "server.a=h:1:2", "version=xyz", "server.1=h:1:2:boss", "junk"]
        {
            let err = EnsembleConfig::parse(bad).unwrap_err();
            assert!(err.to_string().contains(bad), "{err} should name {bad:?}");
        }
    }
}
