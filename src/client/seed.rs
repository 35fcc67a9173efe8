//! Connecting, and the seed's calls: `create_node`, `get_node`, `set_value_to_node`,
//! `delete_node`, `exist_node` and `restrict`.

use super::{Client, ClientBuilder, CreateOptions, ZookeeperNode};
use crate::proto::Stat;
use crate::recipe::Recipe;
use crate::Result;

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
}
