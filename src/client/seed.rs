//! Connecting, and the seed's calls: `create_node`, `get_node`, `set_value_to_node`,
//! `delete_node`, `exist_node` and `restrict`.

use super::{Client, ClientBuilder, CreateOptions, ZookeeperNode};
use crate::proto::Stat;
use crate::recipe::Recipe;
use crate::Result;

impl Client {
    /// Connects with default options and waits until the session is established.
    ///
    /// # Connect strings
    ///
    /// `host[:port][,host[:port]...][/chroot]`, as ZooKeeper's own clients take them:
    ///
    /// - `host` is a name, an IPv4 address or an IPv6 address in brackets (`[::1]`,
    ///   `[fe80::1]:2182`); `port` defaults to ZooKeeper's 2181. Spaces around entries are
    ///   ignored; an empty entry, a port of 0 or over 65535, or an unclosed `[` is an error.
    /// - The hosts are tried in a random order (so a fleet spreads over the ensemble), then in
    ///   turn with a back-off while none answers; a name resolving to several addresses is tried
    ///   at each.
    /// - `/chroot`, after the last host, roots every path of the client there: with
    ///   `zk1:2181/crawler`, `/config` is `/crawler/config` on the server, and paths the server
    ///   reports (created sequential nodes, watch events) come back without the prefix. It
    ///   follows the path rules (no trailing `/`; `/` alone means no chroot) and must exist:
    ///   `connect` fails with [`Error::ChrootMissing`](crate::Error::ChrootMissing) unless
    ///   [`ClientBuilder::create_chroot`] is set.
    ///
    /// | connect string | servers | chroot |
    /// |---|---|---|
    /// | `localhost` | `localhost:2181` | none |
    /// | `zk1:2181,zk2:2181,zk3:2181/app` | three | `/app` |
    /// | `10.0.0.5:2182/apps/crawler` | `10.0.0.5:2182` | `/apps/crawler` |
    /// | `[::1],[2001:db8::7]:2182` | `[::1]:2181`, `[2001:db8::7]:2182` | none |
    ///
    /// # Errors
    ///
    /// [`InvalidConnectString`](crate::Error::InvalidConnectString) for a malformed connect
    /// string (nothing is sent); [`Connect`](crate::Error::Connect) when no server answered
    /// within the connect timeout (its `source()` is the last I/O error);
    /// [`ChrootMissing`](crate::Error::ChrootMissing) when the chroot does not exist.
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

    /// Creates a persistent node with the default ACL; returns its path.
    ///
    /// # Errors
    ///
    /// [`InvalidPath`](crate::Error::InvalidPath) for a malformed path (nothing is sent) or
    /// [`ValueTooLarge`](crate::Error::ValueTooLarge); [`Server`](crate::Error::Server) when the
    /// server refuses it (`is_node_exists()`, `is_no_node()` for a missing parent, `is_no_auth()`);
    /// [`Timeout`](crate::Error::Timeout), [`ConnectionLoss`](crate::Error::ConnectionLoss),
    /// [`SessionExpired`](crate::Error::SessionExpired) or [`Closed`](crate::Error::Closed) when
    /// the call could not complete.
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
    /// # Errors
    ///
    /// [`InvalidPath`](crate::Error::InvalidPath) for a malformed path (nothing is sent);
    /// [`Server`](crate::Error::Server) when the server refuses it (`is_no_node()`,
    /// `is_no_auth()`); [`Timeout`](crate::Error::Timeout),
    /// [`ConnectionLoss`](crate::Error::ConnectionLoss),
    /// [`SessionExpired`](crate::Error::SessionExpired) or [`Closed`](crate::Error::Closed) when
    /// the call could not complete.
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
    /// # Errors
    ///
    /// [`InvalidPath`](crate::Error::InvalidPath) for a malformed path (nothing is sent) or
    /// [`ValueTooLarge`](crate::Error::ValueTooLarge); [`Server`](crate::Error::Server) when the
    /// server refuses it (`is_no_node()`, `is_no_auth()`); [`Timeout`](crate::Error::Timeout),
    /// [`ConnectionLoss`](crate::Error::ConnectionLoss),
    /// [`SessionExpired`](crate::Error::SessionExpired) or [`Closed`](crate::Error::Closed) when
    /// the call could not complete.
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
    /// # Errors
    ///
    /// [`InvalidPath`](crate::Error::InvalidPath) for a malformed path (nothing is sent);
    /// [`Server`](crate::Error::Server) when the server refuses it (`is_not_empty()` when it has
    /// children, `is_no_auth()`); [`Timeout`](crate::Error::Timeout),
    /// [`ConnectionLoss`](crate::Error::ConnectionLoss),
    /// [`SessionExpired`](crate::Error::SessionExpired) or [`Closed`](crate::Error::Closed) when
    /// the call could not complete. A missing node is `Ok(false)`, not an error.
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
    /// # Errors
    ///
    /// [`InvalidPath`](crate::Error::InvalidPath) for a malformed path (nothing is sent);
    /// [`Timeout`](crate::Error::Timeout), [`ConnectionLoss`](crate::Error::ConnectionLoss),
    /// [`SessionExpired`](crate::Error::SessionExpired) or [`Closed`](crate::Error::Closed) when
    /// the call could not complete. A missing node is `Ok(None)`.
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

    /// A lock object for `recipe` at `path`: the seed's dispatch from a recipe enum to a lock type.
    ///
    /// `identifier` is stored in the lock's node (it is what [`Restriction::contenders`] lists);
    /// `max_leases` is required for a semaphore and refused for locks.
    ///
    /// [`Restriction::contenders`]: crate::Restriction::contenders
    ///
    /// # Errors
    ///
    /// What the lock type's
    /// [`NewRestriction::new_restriction`](crate::NewRestriction::new_restriction) returns: for the
    /// built-in recipes [`InvalidArgument`](crate::Error::InvalidArgument) when `max_leases` is
    /// given to a lock or missing (or 0) for a semaphore, and
    /// [`InvalidPath`](crate::Error::InvalidPath) for a malformed path. Nothing is sent.
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
}
