//! [`Client`]: the seed API (`create_node`, `get_node`, `set_value_to_node`, `delete_node`,
//! `exist_node`, `restrict`) and the rest of the data API.

// rustdoc lists methods in module order: the seed's calls come first on `Client`'s page (a
// group of its own, so rustfmt keeps it first).
mod seed;

mod acl_ops;
mod builder;
mod chroot;
mod coordination;
mod data;
mod ensemble;
mod ensemble_tracker;
mod misc;
mod options;
mod party;
mod pending;
mod retry;
mod server_info;
mod transaction;
mod watch_stream;

use std::sync::{Arc, Weak};
use std::time::Duration;

pub use builder::ClientBuilder;
pub use ensemble::{ClientIdentity, EnsembleConfig, EnsembleMember, MemberRole, Reconfig};
pub use ensemble_tracker::EnsembleTracker;
pub use options::{CreateMode, CreateOptions, ZookeeperNode};
pub use pending::Pending;
pub use retry::RetryPolicy;
pub use transaction::{OpResult, ReadOp, ReadResult, Transaction};
pub use watch_stream::{ChildrenWatch, DataWatch, PersistentWatch, WatchStream};

use crate::proto::Acl;
use crate::session::{Session, SessionConfig, SessionState, Shared};
use crate::Result;

/// A ZooKeeper client: one session, shared by every thread that holds a clone.
///
/// `Client` is `Send + Sync` and cheap to clone; clones share the session. The session is
/// closed by [`close`](Client::close) (on any clone) or when the last clone is dropped — lock
/// objects and guards hold a clone, so a held lock keeps its session alive. Every call has a
/// deadline (the request timeout) and returns a [`Result`].
///
/// ```no_run
/// # fn main() -> zkcluster::Result<()> {
/// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
/// let path: String = client.create_node("/a", "value")?;
/// let node: zkcluster::ZookeeperNode = client.get_node("/a")?;
/// assert_eq!(node.value_str()?, "value");
/// let stat: zkcluster::Stat = client.set_value_to_node("/a", b"v2")?;
/// assert_eq!(stat.version, 1);
/// assert!(client.exist_node("/a")?.is_some());
/// assert!(client.delete_node("/a")?);
/// client.close()?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    session: Session,
    default_acl: Vec<Acl>,
    /// Deletes the recipes' nodes that a give-up or release could not delete in time.
    cleanup: crate::recipe::cleanup::Worker,
}

/// A handle that does not keep the client (and its session) alive.
pub(crate) struct WeakClient(Weak<Inner>);

impl WeakClient {
    pub(crate) fn upgrade(&self) -> Option<Client> {
        self.0.upgrade().map(|inner| Client { inner })
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("session_id", &format_args!("{:#x}", self.session_id()))
            .field("state", &self.state())
            .finish()
    }
}

/// The session behind the client.
impl Client {
    fn start(config: SessionConfig, default_acl: Vec<Acl>) -> Result<Client> {
        let session = Session::start(config)?;
        let cleanup = Default::default();
        Ok(Client { inner: Arc::new(Inner { session, default_acl, cleanup }) })
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        self.inner.session.shared()
    }

    pub(crate) fn downgrade(&self) -> WeakClient {
        WeakClient(Arc::downgrade(&self.inner))
    }

    pub(crate) fn cleanup_worker(&self) -> &crate::recipe::cleanup::Worker {
        &self.inner.cleanup
    }

    /// The ACL used for nodes created without one.
    pub fn default_acl(&self) -> &[Acl] {
        &self.inner.default_acl
    }

    /// Where the session stands now.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// assert!(client.state().is_connected());
    /// # Ok(())
    /// # }
    /// ```
    pub fn state(&self) -> SessionState {
        self.shared().state()
    }

    /// The current session's id (0 while no session is established).
    pub fn session_id(&self) -> i64 {
        self.shared().session_id()
    }

    /// The current session's id and password, with which a second handle can attach to the
    /// same session (used by tests to end a session from outside).
    pub fn session_credentials(&self) -> (i64, Vec<u8>) {
        self.shared().credentials()
    }

    /// The session timeout the server granted.
    pub fn negotiated_timeout(&self) -> Duration {
        self.shared().negotiated_timeout()
    }

    /// The `host:port` of the server the client is (or was last) connected to.
    pub fn server(&self) -> String {
        self.shared().server()
    }

    /// Replaces the hosts the client connects to (ZooKeeper's `updateServerList`), for
    /// ensembles whose membership changed (see [`get_config`](Self::get_config) and
    /// [`EnsembleConfig::connect_string`]). The session stays the same: if its server is not in
    /// the new list, the client drops the connection and resumes the session on one that is
    /// (calls in flight then fail with a connection loss, as on any reconnect); if the list
    /// grew, it moves to a new member with probability `1 - old/new`, so a fleet spreads over
    /// added members. Returns whether this client moves.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("10.0.0.1:2181,10.0.0.2:2181,10.0.0.3:2181")?;
    /// let config = client.get_config()?;
    /// client.update_hosts(&config.connect_string())?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidConnectString`](crate::Error::InvalidConnectString) when `connect_string`
    /// does not parse or names another chroot than the client's (a chroot cannot change under a
    /// live session); nothing changes then.
    pub fn update_hosts(&self, connect_string: &str) -> Result<bool> {
        let parsed = crate::session::ConnectString::parse(connect_string)?;
        let chroot = &self.shared().config.connect.chroot;
        if parsed.chroot.is_some() && parsed.chroot != *chroot {
            return Err(crate::Error::InvalidConnectString {
                input: connect_string.to_string(),
                reason: format!(
                    "update_hosts cannot change the chroot (the client's is {})",
                    chroot.as_deref().unwrap_or("none")
                ),
            });
        }
        Ok(self.shared().update_hosts(parsed.hosts))
    }

    /// How many watches the client has registered and not yet seen fire (one-shot and
    /// persistent); they are re-registered after every reconnect.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let _event = client.exist_node_watch("/a")?;
    /// assert_eq!(client.watch_count(), 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn watch_count(&self) -> usize {
        self.shared().watch_count()
    }

    /// A new receiver of every session transition from now on (each call gets its own; the
    /// channel ends when the client is closed). Dropping it unsubscribes, so handles made and
    /// dropped in a loop cost nothing once gone.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let events = client.session_events();
    /// client.close()?;
    /// assert_eq!(events.recv().ok(), Some(zkcluster::SessionEvent::Closed));
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn session_events(&self) -> crate::SessionEvents {
        self.shared().subscribe()
    }

    /// Adds authentication (for example `("digest", b"user:password")`), waits for the server's
    /// verdict, and replays it on every reconnect.
    ///
    /// # Errors
    ///
    /// [`AuthFailed`](crate::Error::AuthFailed) when the server refuses the credentials (the
    /// session is then unusable); [`Timeout`](crate::Error::Timeout),
    /// [`ConnectionLoss`](crate::Error::ConnectionLoss),
    /// [`SessionExpired`](crate::Error::SessionExpired) or [`Closed`](crate::Error::Closed) when
    /// the call could not complete.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// client.add_auth("digest", b"crawler:secret")?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn add_auth(&self, scheme: &str, auth: impl AsRef<[u8]>) -> Result<()> {
        self.shared().add_auth(scheme, auth.as_ref())
    }

    /// Closes the session (its ephemeral nodes and locks go at once) and ends the client's
    /// thread, within a bounded time even when the server does not answer. Idempotent; other
    /// clones fail with [`Error::Closed`](crate::Error::Closed) afterwards.
    ///
    /// # Errors
    ///
    /// None in this version: `Ok` even when the server did not answer the close (the session
    /// then ends on the server after its timeout). The `Result` leaves room to report that.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// client.close()?;
    /// assert!(client.get_node("/").unwrap_err().is_closed());
    /// # Ok(())
    /// # }
    /// ```
    pub fn close(&self) -> Result<()> {
        self.inner.session.close()
    }
}
