//! The built-in recipe enum, declared with `#[derive(Recipe)]` like users' own.

use super::{ReadLock, Semaphore, WriteLock};

/// The built-in recipes: Kazoo's `ReadLock`, `WriteLock` and `Semaphore`.
///
/// `#[derive(Recipe)]` generates its [`Recipe`](crate::Recipe) implementation, the companion
/// [`ZookeeperRecipeRestriction`], and `Display`/`FromStr` by name:
///
/// ```
/// use zkcluster::{Recipe, ZookeeperRecipe};
/// let r: ZookeeperRecipe = "Semaphore".parse().unwrap();
/// assert_eq!(r, ZookeeperRecipe::Semaphore);
/// assert_eq!(r.to_string(), "Semaphore");
/// assert_eq!(ZookeeperRecipe::ALL, &[
///     ZookeeperRecipe::ReadLock,
///     ZookeeperRecipe::WriteLock,
///     ZookeeperRecipe::Semaphore,
/// ]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, crate::Recipe)]
pub enum ZookeeperRecipe {
    /// A shared lock: readers hold it together, excluding writers.
    #[recipe(ReadLock)]
    ReadLock,
    /// An exclusive lock (Kazoo's `Lock` and `WriteLock`).
    #[recipe(WriteLock)]
    WriteLock,
    /// At most `max_leases` holders at once.
    #[recipe(Semaphore)]
    Semaphore,
}
