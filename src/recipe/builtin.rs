//! The built-in recipe enum.
//!
//! TEMPORARY hand-written dispatch until `#[derive(Recipe)]` lands; then this becomes the derive.

use super::*;

/// The built-in recipes: Kazoo's `ReadLock`, `WriteLock` and `Semaphore`.
///
/// ```
/// use zkcluster::ZookeeperRecipe;
/// let r: ZookeeperRecipe = "Semaphore".parse().unwrap();
/// assert_eq!(r, ZookeeperRecipe::Semaphore);
/// assert_eq!(r.to_string(), "Semaphore");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ZookeeperRecipe {
    /// A shared lock: readers hold it together, excluding writers.
    ReadLock,
    /// An exclusive lock (Kazoo's `Lock` and `WriteLock`).
    WriteLock,
    /// At most `max_leases` holders at once.
    Semaphore,
}

/// The lock object [`ZookeeperRecipe`] dispatches to.
pub enum ZookeeperRecipeRestriction {
    /// A [`ReadLock`].
    ReadLock(ReadLock),
    /// A [`WriteLock`].
    WriteLock(WriteLock),
    /// A [`Semaphore`].
    Semaphore(Semaphore),
}

macro_rules! each {
    ($self:ident, $x:ident => $e:expr) => {
        match $self {
            ZookeeperRecipeRestriction::ReadLock($x) => $e,
            ZookeeperRecipeRestriction::WriteLock($x) => $e,
            ZookeeperRecipeRestriction::Semaphore($x) => $e,
        }
    };
}

impl Restriction for ZookeeperRecipeRestriction {
    fn acquire_with(&self, wait: Wait) -> Result<Option<Guard>> {
        each!(self, x => x.acquire_with(wait))
    }
    fn contenders(&self) -> Result<Vec<String>> {
        each!(self, x => x.contenders())
    }
    fn lease_holders(&self) -> Result<Vec<String>> {
        each!(self, x => x.lease_holders())
    }
    fn cancel_handle(&self) -> CancelHandle {
        each!(self, x => x.cancel_handle())
    }
    fn path(&self) -> &str {
        each!(self, x => x.path())
    }
}

impl Recipe for ZookeeperRecipe {
    type Restriction = ZookeeperRecipeRestriction;
    const ALL: &'static [Self] = &[Self::ReadLock, Self::WriteLock, Self::Semaphore];
    fn name(&self) -> &'static str {
        match self {
            Self::ReadLock => "ReadLock",
            Self::WriteLock => "WriteLock",
            Self::Semaphore => "Semaphore",
        }
    }
    fn restrict(
        &self,
        client: &Client,
        path: &str,
        identifier: &str,
        max_leases: Option<u32>,
    ) -> Result<Self::Restriction> {
        Ok(match self {
            Self::ReadLock => ZookeeperRecipeRestriction::ReadLock(
                NewRestriction::new_restriction(client, path, identifier, max_leases)?,
            ),
            Self::WriteLock => ZookeeperRecipeRestriction::WriteLock(
                NewRestriction::new_restriction(client, path, identifier, max_leases)?,
            ),
            Self::Semaphore => ZookeeperRecipeRestriction::Semaphore(
                NewRestriction::new_restriction(client, path, identifier, max_leases)?,
            ),
        })
    }
}

impl std::fmt::Display for ZookeeperRecipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for ZookeeperRecipe {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Self::ALL
            .iter()
            .copied()
            .find(|r| r.name() == s)
            .ok_or_else(|| format!("unknown recipe {s:?}"))
    }
}
