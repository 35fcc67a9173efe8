//! [`Client`]: the seed API (`create_node`, `get_node`, `set_value_to_node`, `delete_node`,
//! `exist_node`, `restrict`) and the rest of the data API.

mod acl_ops;
mod builder;
mod coordination;
mod data;
mod ensemble;
mod misc;
mod options;
mod pending;
mod server_info;
mod transaction;
mod watch_stream;

use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::Receiver;

pub use builder::ClientBuilder;
#[cfg(all(test, feature = "testing"))]
pub(crate) use data::check;
pub use ensemble::{ClientIdentity, EnsembleConfig, EnsembleMember, MemberRole, Reconfig};
pub use options::{CreateMode, CreateOptions, ZookeeperNode};
pub use pending::Pending;
pub use transaction::{OpResult, ReadOp, ReadResult, Transaction};
pub use watch_stream::{ChildrenWatch, DataWatch, PersistentWatch, WatchStream};

use crate::proto::{Acl, Stat};
use crate::recipe::Recipe;
use crate::session::{Session, SessionConfig, SessionEvent, SessionState, Shared};
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
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("session_id", &format_args!("{:#x}", self.session_id()))
            .field("state", &self.state())
            .finish()
    }
}

impl Client {
    /// Connects with default options and waits until the session is established.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn connect(connect_string: &str) -> Result<Client> {
        Client::builder(connect_string).connect()
    }

    /// A builder for the other options; see [`ClientBuilder`].
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::builder("127.0.0.1:2181/app")
    ///     .session_timeout(std::time::Duration::from_secs(6))
    ///     .connect()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn builder(connect_string: &str) -> ClientBuilder {
        ClientBuilder::new(connect_string)
    }

    fn start(config: SessionConfig, default_acl: Vec<Acl>) -> Result<Client> {
        let session = Session::start(config)?;
        Ok(Client { inner: Arc::new(Inner { session, default_acl }) })
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        self.inner.session.shared()
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
    /// channel ends when the client is closed).
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
    pub fn session_events(&self) -> Receiver<SessionEvent> {
        self.shared().subscribe()
    }

    /// Adds authentication (for example `("digest", b"user:password")`), waits for the server's
    /// verdict, and replays it on every reconnect.
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

    /// A lock object for `recipe` at `path`: the seed's dispatch from a recipe enum to a lock type.
    ///
    /// `identifier` is stored in the lock's node (it is what [`Restriction::contenders`] lists);
    /// `max_leases` is required for a semaphore and refused for locks.
    ///
    /// [`Restriction::contenders`]: crate::Restriction::contenders
    ///
    /// ```no_run
    /// use zkcluster::{Client, Restriction, ZookeeperRecipe};
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = Client::connect("127.0.0.1:2181")?;
    /// let sem = client.restrict("/crawler/fetchers", ZookeeperRecipe::Semaphore, "worker-1", Some(4))?;
    /// let _lease = sem.acquire()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn restrict<R: Recipe>(
        &self,
        path: &str,
        recipe: R,
        identifier: &str,
        max_leases: Option<u32>,
    ) -> Result<R::Restriction> {
        recipe.restrict(self, path, identifier, max_leases)
    }

    /// Creates a persistent node with the default ACL; returns its path.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// assert_eq!(client.create_node("/a", "value")?, "/a");
    /// # Ok(())
    /// # }
    /// ```
    pub fn create_node(&self, path: &str, value: impl AsRef<[u8]>) -> Result<String> {
        self.create(path, value, &CreateOptions::new())
    }

    /// Reads a node's data and metadata.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let node = client.get_node("/a")?;
    /// println!("{:?}", node.value);
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_node(&self, path: &str) -> Result<ZookeeperNode> {
        self.get_node_async(path).wait()
    }

    /// Replaces a node's data whatever its version; returns the new metadata.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let stat = client.set_value_to_node("/a", b"v2")?;
    /// println!("now at version {}", stat.version);
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_value_to_node(&self, path: &str, value: impl AsRef<[u8]>) -> Result<Stat> {
        self.set_data(path, value, None)
    }

    /// Deletes a node whatever its version; `false` when there was no node.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let existed = client.delete_node("/a")?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn delete_node(&self, path: &str) -> Result<bool> {
        match self.delete(path, None) {
            Ok(()) => Ok(true),
            Err(e) if e.is_no_node() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// A node's metadata, or `None` when it does not exist.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// if let Some(stat) = client.exist_node("/a")? {
    ///     println!("{} children", stat.num_children);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn exist_node(&self, path: &str) -> Result<Option<Stat>> {
        self.exist_node_async(path).wait()
    }
}
