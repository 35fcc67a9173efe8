//! The client (skeleton; replaced by the engine).

use std::sync::Arc;

use crate::recipe::Recipe;
use crate::{Error, Result};

/// A ZooKeeper client.
#[derive(Clone)]
pub struct Client {
    _inner: Arc<()>,
}

impl Client {
    /// Deletes a node.
    pub fn delete_node(&self, _path: &str) -> Result<bool> {
        Err(Error::Closed)
    }

    /// A lock object for `recipe` at `path`.
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
