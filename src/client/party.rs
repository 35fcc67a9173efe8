//! Constructors of the membership recipes on [`Client`]: parties, the set partitioner and the
//! self-healing ephemeral node (the recipes themselves live in `src/recipe/`).

use super::Client;
use crate::recipe::{Party, PersistentNodeBuilder, SetPartitionerBuilder, ShallowParty};
use crate::recipe::{PersistentNode, SetPartitioner};
use crate::Result;

impl Client {
    /// A [`Party`] at `path` for the member `identifier` (Kazoo's `client.Party`). No server call.
    ///
    /// # Errors
    ///
    /// As [`Party::new`].
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let party = client.party("/crawlers", "crawler-1")?;
    /// party.join()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn party(&self, path: &str, identifier: &str) -> Result<Party> {
        Party::new(self, path, identifier)
    }

    /// A [`ShallowParty`] at `path` for the member `identifier` (Kazoo's `client.ShallowParty`).
    /// No server call.
    ///
    /// # Errors
    ///
    /// As [`ShallowParty::new`].
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let party = client.shallow_party("/crawlers", "crawler-1")?;
    /// party.join()?;
    /// println!("{:?}", party.members()?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn shallow_party(&self, path: &str, identifier: &str) -> Result<ShallowParty> {
        ShallowParty::new(self, path, identifier)
    }

    /// A builder for a [`SetPartitioner`] of `items` at `path` (Kazoo's `client.SetPartitioner`).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let partitioner = client.set_partitioner("/work_queues", ["q1", "q2", "q3"]).start()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_partitioner<I, S>(&self, path: &str, items: I) -> SetPartitionerBuilder
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        SetPartitioner::builder(self, path, items)
    }

    /// A builder for a [`PersistentNode`] at `path` with `data` (Curator's `PersistentNode`).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let node = client.persistent_node("/services/crawler-", "10.0.0.7").sequential().start()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn persistent_node(&self, path: &str, data: impl AsRef<[u8]>) -> PersistentNodeBuilder {
        PersistentNode::builder(self, path, data)
    }
}
