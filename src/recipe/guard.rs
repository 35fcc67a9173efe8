//! The RAII guard every acquire returns.

use crate::{Client, Result};

/// Proof of holding a lock or lease; releases it when dropped.
///
/// ```no_run
/// use zkcluster::{Client, Restriction, ZookeeperRecipe};
/// # fn main() -> zkcluster::Result<()> {
/// let client = Client::connect("127.0.0.1:2181")?;
/// let lock = client.restrict("/jobs/lock", ZookeeperRecipe::WriteLock, "worker-1", None)?;
/// let guard = lock.acquire()?;
/// assert!(guard.is_valid());
/// guard.release()?; // or just drop it
/// # Ok(())
/// # }
/// ```
pub struct Guard {
    client: Client,
    path: String,
    nodes: Vec<String>,
    released: bool,
}

impl Guard {
    /// A guard over `nodes` (absolute paths) that this client created for the lock at `path`;
    /// releasing it deletes them.
    pub fn new(client: &Client, path: &str, nodes: Vec<String>) -> Guard {
        Guard { client: client.clone(), path: path.to_string(), nodes, released: false }
    }

    /// The lock path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Whether the lock is still held for sure.
    pub fn is_valid(&self) -> bool {
        !self.released
    }

    /// Releases the lock now, reporting errors.
    pub fn release(mut self) -> Result<()> {
        self.released = true;
        for node in std::mem::take(&mut self.nodes) {
            self.client.delete_node(&node)?;
        }
        Ok(())
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if !self.released {
            for node in std::mem::take(&mut self.nodes) {
                let _ = self.client.delete_node(&node);
            }
        }
    }
}
