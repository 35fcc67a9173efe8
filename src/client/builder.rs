//! Options for connecting.

use std::time::Duration;

use super::Client;
use crate::proto::Acl;
use crate::session::{ConnectString, Connector, SessionConfig};
use crate::Result;

/// Builds a [`Client`] with options other than the defaults.
///
/// Defaults: session timeout 10 s, connect timeout 15 s, request timeout 10 s, a lost session is
/// replaced by a new one, nodes are created with an open ACL (`world:anyone`, all permissions).
///
/// ```no_run
/// use std::time::Duration;
/// # fn main() -> zkcluster::Result<()> {
/// let client = zkcluster::Client::builder("zk1:2181,zk2:2181,zk3:2181/crawler")
///     .session_timeout(Duration::from_secs(10))
///     .connect_timeout(Duration::from_secs(5))
///     .request_timeout(Duration::from_secs(5))
///     .connect()?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use = "call .connect() to connect"]
pub struct ClientBuilder {
    connect_string: String,
    session_timeout: Duration,
    connect_timeout: Duration,
    request_timeout: Duration,
    renew_expired: bool,
    auth: Vec<(String, Vec<u8>)>,
    default_acl: Vec<Acl>,
    resume: Option<(i64, Vec<u8>)>,
    max_request: usize,
    backoff: (Duration, Duration),
    create_chroot: bool,
    can_be_read_only: bool,
    sasl: Option<(String, String)>,
    #[cfg(feature = "tls")]
    tls: Option<crate::TlsConfig>,
    #[cfg(feature = "gssapi")]
    gssapi: Option<crate::GssapiConfig>,
}

impl ClientBuilder {
    pub(crate) fn new(connect_string: &str) -> ClientBuilder {
        ClientBuilder {
            connect_string: connect_string.to_string(),
            session_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(15),
            request_timeout: Duration::from_secs(10),
            renew_expired: true,
            auth: Vec::new(),
            default_acl: Acl::open_unsafe(),
            resume: None,
            max_request: crate::session::DEFAULT_MAX_REQUEST,
            backoff: (Duration::from_millis(20), Duration::from_secs(1)),
            create_chroot: false,
            can_be_read_only: false,
            sasl: None,
            #[cfg(feature = "tls")]
            tls: None,
            #[cfg(feature = "gssapi")]
            gssapi: None,
        }
    }

    /// The session timeout to ask for (the server bounds it; see
    /// [`Client::negotiated_timeout`]). After this long without contact the server ends the
    /// session and its ephemeral nodes and locks.
    pub fn session_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.session_timeout = timeout;
        self
    }

    /// How long [`connect`](Self::connect) waits for the first session.
    pub fn connect_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.connect_timeout = timeout;
        self
    }

    /// The deadline of every call, counted from when it is made (waiting for a reconnect
    /// included: while disconnected a call waits queued for the next connection, and is
    /// withdrawn unsent if none comes in time). `Duration::MAX` means no deadline.
    pub fn request_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.request_timeout = timeout;
        self
    }

    /// Whether the client may use a read-only server: a member that lost contact with its
    /// ensemble's quorum and serves reads only (the servers need `readonlymode.enabled=true`,
    /// and since ZooKeeper 3.6 `localSessionsEnabled=true`). Default false, as in Kazoo and the
    /// Java client. While on such a server the state is
    /// [`SessionState::ConnectedReadOnly`](crate::SessionState::ConnectedReadOnly) (announced
    /// by [`SessionEvent::ConnectedReadOnly`](crate::SessionEvent::ConnectedReadOnly)), reads go
    /// through and writes fail with the server's `NotReadOnly`. When the quorum is back the
    /// server closes its read-only sessions; the client reconnects and reports `Connected` (a
    /// session begun on a read-only server is local to it, so that is a new session, after
    /// `Lost`). A read-only server that stays cut off would keep its clients, so meanwhile the
    /// client asks the other servers of its list whether they serve read-write (the `isro`
    /// command, at intervals from 100 ms doubling to 30 s) and moves to the first that does.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::builder("zk1:2181,zk2:2181,zk3:2181")
    ///     .can_be_read_only(true)
    ///     .connect()?;
    /// if client.state() == zkcluster::SessionState::ConnectedReadOnly {
    ///     println!("serving stale configuration until the ensemble is back");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn can_be_read_only(mut self, allowed: bool) -> ClientBuilder {
        self.can_be_read_only = allowed;
        self
    }

    /// Logs in with SASL DIGEST-MD5 (the server's `DigestLoginModule`) on every connection,
    /// right after the session handshake and before the connection carries any call, so the
    /// session is known as `sasl:<user>` to ACLs from its first request on, after every
    /// reconnect too. Wrong credentials fail [`connect`](Self::connect) with
    /// [`Error::Connect`](crate::Error::Connect) saying so (the server ends the session), and a
    /// later refusal ends the client in [`SessionState::AuthFailed`](crate::SessionState::AuthFailed).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::builder("127.0.0.1:2181")
    ///     .sasl_digest("crawler", "s3cret")
    ///     .connect()?;
    /// assert!(client.who_am_i()?.iter().any(|me| me.to_string() == "sasl:crawler"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn sasl_digest(mut self, user: &str, password: &str) -> ClientBuilder {
        self.sasl = Some((user.to_string(), password.to_string()));
        #[cfg(feature = "gssapi")]
        {
            self.gssapi = None;
        }
        self
    }

    /// Logs in with SASL GSSAPI (Kerberos, RFC 4752; the server's JAAS `Server` section uses
    /// `Krb5LoginModule`) on every connection, where [`sasl_digest`](Self::sasl_digest) would
    /// (and instead of it): the session is `sasl:<principal>` (for example
    /// `sasl:crawler@EXAMPLE.COM`) from its first request on. The credentials are the process's
    /// Kerberos credentials (`KRB5CCNAME`, `KRB5_CLIENT_KTNAME`, `KRB5_CONFIG`) as `gssapi`
    /// says; see [`GssapiConfig`](crate::GssapiConfig). Missing credentials, an unknown server
    /// principal or a refusal fail [`connect`](Self::connect) with
    /// [`Error::Connect`](crate::Error::Connect) saying why, and end the client in
    /// [`SessionState::AuthFailed`](crate::SessionState::AuthFailed).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// // KRB5_CLIENT_KTNAME=/etc/crawler.keytab in the environment; the ticket is for
    /// // zookeeper/zk1.example.com.
    /// let client = zkcluster::Client::builder("zk1.example.com:2181")
    ///     .sasl_gssapi(zkcluster::GssapiConfig::new())
    ///     .connect()?;
    /// assert!(client.who_am_i()?.iter().any(|me| me.scheme == "sasl"));
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "gssapi")]
    #[cfg_attr(docsrs, doc(cfg(feature = "gssapi")))]
    pub fn sasl_gssapi(mut self, gssapi: crate::GssapiConfig) -> ClientBuilder {
        self.gssapi = Some(gssapi);
        self.sasl = None;
        self
    }

    /// Connects over TLS (ZooKeeper's `secureClientPort`, so the connect string names those
    /// ports), checking every server's certificate against the configuration's CA bundle and
    /// against the host name or IP address in the connect string, and presenting its client
    /// certificate, if it has one (the server's `x509` scheme then knows the session as
    /// `x509:CN=...`). Every connection is TLS: the first, failovers and reconnects. The TLS
    /// handshake counts against the same per-attempt limit as the rest of the connection's
    /// handshake (at most the connect timeout). Needs the `tls` feature.
    ///
    /// A server whose certificate does not check out (another CA, expired, for another name)
    /// or that does not speak TLS on that port fails the attempt with a reason naming the host;
    /// if no server can be reached, [`connect`](Self::connect) fails with
    /// [`Error::Connect`](crate::Error::Connect) carrying the last reason.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let tls = zkcluster::TlsConfig::new()
    ///     .ca_pem_file("/etc/zookeeper/ca.pem")
    ///     .client_certificate_pem_files("/etc/crawler/client.crt", "/etc/crawler/client.key");
    /// let client = zkcluster::Client::builder("zk1.example:2281,zk2.example:2281")
    ///     .tls(tls)
    ///     .connect()?;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn tls(mut self, config: crate::TlsConfig) -> ClientBuilder {
        self.tls = Some(config);
        self
    }

    /// Whether a lost session is replaced by a new one (default true). When false, the client
    /// stops at the loss and every call fails with [`Error::SessionExpired`](crate::Error::SessionExpired).
    pub fn renew_expired_sessions(mut self, renew: bool) -> ClientBuilder {
        self.renew_expired = renew;
        self
    }

    /// Authenticates right after connecting (and after every reconnect), like
    /// [`Client::add_auth`]. For the `digest` scheme `auth` is `b"user:password"`.
    pub fn auth(mut self, scheme: &str, auth: impl AsRef<[u8]>) -> ClientBuilder {
        self.auth.push((scheme.to_string(), auth.as_ref().to_vec()));
        self
    }

    /// The ACL for nodes created without one (including the recipes' nodes).
    pub fn default_acl(mut self, acl: Vec<Acl>) -> ClientBuilder {
        self.default_acl = acl;
        self
    }

    /// Resumes an existing session (from [`Client::session_credentials`], possibly of another
    /// process) instead of starting a new one; the first event is then `Reconnected`. The
    /// session's previous connection is closed by the server. If the session has expired, the
    /// client reports `Lost` and (by default) starts a new one.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let first = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let (id, password) = first.session_credentials();
    /// let second = zkcluster::Client::builder("127.0.0.1:2181").session_credentials(id, password).connect()?;
    /// assert_eq!(second.session_id(), id);
    /// # Ok(())
    /// # }
    /// ```
    pub fn session_credentials(
        mut self,
        session_id: i64,
        password: impl Into<Vec<u8>>,
    ) -> ClientBuilder {
        self.resume = Some((session_id, password.into()));
        self
    }

    /// The largest request this client sends, in bytes, framed (its header and every
    /// operation of a transaction included, the 4-byte length prefix not): a larger one fails
    /// at once with [`Error::RequestTooLarge`](crate::Error::RequestTooLarge) naming the
    /// operation, the path and the sizes, and nothing is sent. The default, 1,048,575 bytes
    /// (1 MiB − 1), is the packet limit of a server with the default `jute.maxbuffer`; a server
    /// drops the connection on a larger packet. Set it to the servers' `jute.maxbuffer` if
    /// they were configured with another.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::builder("127.0.0.1:2181").max_request_size(4 << 20).connect()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn max_request_size(mut self, bytes: usize) -> ClientBuilder {
        self.max_request = bytes;
        self
    }

    /// The pause between rounds of reconnect attempts once every server failed in turn: the
    /// first pause `first`, doubling every round up to `max`, each shortened by a random part
    /// of up to half (so clients cut off together do not come back in lockstep). Default
    /// 20 ms doubling to 1 s.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::builder("127.0.0.1:2181")
    ///     .reconnect_backoff(Duration::from_millis(50), Duration::from_secs(5))
    ///     .connect()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn reconnect_backoff(mut self, first: Duration, max: Duration) -> ClientBuilder {
        self.backoff = (first, max.max(first));
        self
    }

    /// Whether [`connect`](Self::connect) creates the connect string's chroot (and its
    /// parents) when it does not exist, as Curator does with its namespace. By default
    /// (`false`) a missing chroot fails `connect` with
    /// [`Error::ChrootMissing`](crate::Error::ChrootMissing).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::builder("127.0.0.1:2181/apps/crawler")
    ///     .create_chroot(true)
    ///     .connect()?;
    /// assert!(client.exist_node("/")?.is_some());
    /// # Ok(())
    /// # }
    /// ```
    pub fn create_chroot(mut self, create: bool) -> ClientBuilder {
        self.create_chroot = create;
        self
    }

    /// Connects and waits until the session is established (at most the connect timeout).
    ///
    /// # Errors
    ///
    /// As [`Client::connect`]: [`InvalidConnectString`](crate::Error::InvalidConnectString),
    /// [`Connect`](crate::Error::Connect) (with the last I/O error as its `source()`),
    /// [`ChrootMissing`](crate::Error::ChrootMissing) unless [`create_chroot`](Self::create_chroot)
    /// is set, [`AuthFailed`](crate::Error::AuthFailed), [`TlsConfig`](crate::Error::TlsConfig)
    /// for unusable TLS options, or a server error of the chroot's
    /// creation.
    pub fn connect(self) -> Result<Client> {
        #[cfg(feature = "tls")]
        let connector = match &self.tls {
            Some(tls) => {
                Connector::tls(tls.build().map_err(|reason| crate::Error::TlsConfig { reason })?)
            }
            None => Connector::default(),
        };
        #[cfg(not(feature = "tls"))]
        let connector = Connector::default();
        let config = SessionConfig {
            connect: ConnectString::parse(&self.connect_string)?,
            session_timeout: self.session_timeout,
            connect_timeout: self.connect_timeout,
            request_timeout: self.request_timeout,
            renew_expired: self.renew_expired,
            resume: self.resume,
            max_request: self.max_request,
            backoff: self.backoff,
            can_be_read_only: self.can_be_read_only,
            sasl: self.sasl,
            connector,
            #[cfg(feature = "gssapi")]
            gssapi: self.gssapi,
        };
        let client = Client::start(config, self.default_acl)?;
        for (scheme, auth) in &self.auth {
            client.add_auth(scheme, auth)?;
        }
        client.check_chroot(self.create_chroot)?;
        Ok(client)
    }
}
