//! Options for creating nodes, and the node type `get_node` returns.

use std::time::Duration;

use crate::proto::{Acl, Stat};
use crate::{Error, Result};

/// The kind of node to create.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CreateMode {
    /// Stays until deleted.
    #[default]
    Persistent,
    /// Deleted by the server when the creating session ends.
    Ephemeral,
    /// Persistent, with a 10-digit sequence number appended to the name.
    PersistentSequential,
    /// Ephemeral, with a 10-digit sequence number appended to the name.
    EphemeralSequential,
    /// Deleted by the server some time after its last child is deleted (ZooKeeper 3.6+).
    Container,
    /// Persistent, deleted by the server when it has had no children and no change for this long
    /// (ZooKeeper 3.6+ with `extendedTypesEnabled=true`).
    PersistentWithTtl(Duration),
    /// Like [`CreateMode::PersistentWithTtl`], with a sequence number appended.
    PersistentSequentialWithTtl(Duration),
}

impl CreateMode {
    /// The flags word ZooKeeper expects.
    pub(crate) fn flags(self) -> i32 {
        use crate::proto::create_mode as f;
        match self {
            CreateMode::Persistent => f::PERSISTENT,
            CreateMode::Ephemeral => f::EPHEMERAL,
            CreateMode::PersistentSequential => f::PERSISTENT_SEQUENTIAL,
            CreateMode::EphemeralSequential => f::EPHEMERAL_SEQUENTIAL,
            CreateMode::Container => f::CONTAINER,
            CreateMode::PersistentWithTtl(_) => f::PERSISTENT_WITH_TTL,
            CreateMode::PersistentSequentialWithTtl(_) => f::PERSISTENT_SEQUENTIAL_WITH_TTL,
        }
    }

    /// Whether the server appends a sequence number.
    pub fn is_sequential(self) -> bool {
        matches!(
            self,
            CreateMode::PersistentSequential
                | CreateMode::EphemeralSequential
                | CreateMode::PersistentSequentialWithTtl(_)
        )
    }

    /// Whether the node dies with its session.
    pub fn is_ephemeral(self) -> bool {
        matches!(self, CreateMode::Ephemeral | CreateMode::EphemeralSequential)
    }

    pub(crate) fn ttl(self) -> Option<Duration> {
        match self {
            CreateMode::PersistentWithTtl(ttl) | CreateMode::PersistentSequentialWithTtl(ttl) => {
                Some(ttl)
            }
            _ => None,
        }
    }
}

/// How [`Client::create`](crate::Client::create) creates a node.
///
/// ```no_run
/// use zkcluster::{Client, CreateOptions};
/// # fn main() -> zkcluster::Result<()> {
/// let client = Client::connect("127.0.0.1:2181")?;
/// let path = client.create("/workers/w-", b"host-1", &CreateOptions::new().ephemeral().sequential().parents())?;
/// assert!(path.starts_with("/workers/w-"));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use = "options do nothing until passed to a create"]
pub struct CreateOptions {
    /// The kind of node.
    pub mode: CreateMode,
    /// Its ACL; `None` uses the client's default ACL.
    pub acl: Option<Vec<Acl>>,
    /// Create missing parent nodes (persistent, with the client's default ACL).
    pub parents: bool,
}

impl CreateOptions {
    /// A persistent node with the client's default ACL, parents not created.
    pub fn new() -> CreateOptions {
        CreateOptions::default()
    }

    /// Sets the mode.
    pub fn mode(mut self, mode: CreateMode) -> CreateOptions {
        self.mode = mode;
        self
    }

    /// Makes the node ephemeral (keeps sequential if set).
    pub fn ephemeral(mut self) -> CreateOptions {
        self.mode = if self.mode.is_sequential() {
            CreateMode::EphemeralSequential
        } else {
            CreateMode::Ephemeral
        };
        self
    }

    /// Appends a sequence number (keeps ephemeral if set).
    pub fn sequential(mut self) -> CreateOptions {
        self.mode = match self.mode {
            CreateMode::Ephemeral | CreateMode::EphemeralSequential => {
                CreateMode::EphemeralSequential
            }
            CreateMode::PersistentWithTtl(t) | CreateMode::PersistentSequentialWithTtl(t) => {
                CreateMode::PersistentSequentialWithTtl(t)
            }
            _ => CreateMode::PersistentSequential,
        };
        self
    }

    /// Sets the ACL.
    pub fn acl(mut self, acl: Vec<Acl>) -> CreateOptions {
        self.acl = Some(acl);
        self
    }

    /// Creates missing parents.
    pub fn parents(mut self) -> CreateOptions {
        self.parents = true;
        self
    }
}

/// A node as read by [`Client::get_node`](crate::Client::get_node).
///
/// ```no_run
/// # fn main() -> zkcluster::Result<()> {
/// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
/// let node = client.get_node("/config")?;
/// println!("{} = {} (version {})", node.path, node.value_str()?, node.stat.version);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZookeeperNode {
    /// The node's path.
    pub path: String,
    /// Its data.
    pub value: Vec<u8>,
    /// Its metadata.
    pub stat: Stat,
}

impl ZookeeperNode {
    /// The data as UTF-8 text, or [`Error::NotUtf8`] saying where it stops being UTF-8.
    ///
    /// # Errors
    ///
    /// [`NotUtf8`](crate::Error::NotUtf8) when the value is not UTF-8.
    pub fn value_str(&self) -> Result<&str> {
        std::str::from_utf8(&self.value)
            .map_err(|source| Error::NotUtf8 { path: self.path.clone(), source })
    }
}
