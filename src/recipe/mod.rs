//! Coordination recipes: [`ReadLock`], [`WriteLock`] and [`Semaphore`], compatible on the wire
//! with Kazoo's, and the traits that let users plug in their own lock types.
//!
//! [`Client::restrict`](crate::Client::restrict) dispatches on a [`Recipe`] enum (the built-in
//! [`ZookeeperRecipe`] or one declared with `#[derive(Recipe)]`) to a lock object implementing
//! [`Restriction`]. Acquiring returns a [`Guard`] that releases the lock when dropped.
//!
//! Kazoo's other coordination recipes, on the same node layouts and data formats: [`Election`]
//! (on the [`WriteLock`] queue), [`Counter`] (also in Curator's `SharedCount` format),
//! [`Barrier`], [`DoubleBarrier`], [`NonBlockingLease`] and [`MultiNonBlockingLease`].
//!
//! # Recipe enums of your own
//!
//! `#[derive(Recipe)]` declares a recipe enum whose variants name lock types (any type
//! implementing [`NewRestriction`]), each by path or through a module. Mistakes (a type that is
//! not a lock, two variants with the same name, ...) are compile errors. The derive generates
//! the [`Recipe`] impl, a companion enum `<Enum>Restriction` holding whichever lock a variant
//! names (dispatching statically), and `Display`/`FromStr` by lock type name (`FromStr` takes
//! the variant's name too):
//!
//! ```
//! use zkcluster::{Client, ParseRecipeError, ReadLock, Recipe, Restriction, WriteLock};
//!
//! mod example_zk_lib {
//!     pub use zkcluster::{ReadLock, Semaphore, WriteLock};
//! }
//!
//! #[derive(Debug, Clone, Copy, PartialEq, Eq, Recipe)]
//! pub enum NewZKRecipe {
//!     #[recipe(ReadLock)]
//!     Shared,
//!     #[recipe(zkcluster::WriteLock)]
//!     Exclusive,
//! }
//!
//! // Each variant resolves to `example_zk_lib::<VariantName>`, like `getattr(module, name)`.
//! #[derive(Debug, Clone, Copy, PartialEq, Eq, Recipe)]
//! #[recipe(module = example_zk_lib, restriction = LibLock)]
//! pub enum LibRecipe {
//!     ReadLock,
//!     WriteLock,
//!     Semaphore,
//! }
//!
//! fn work(client: &Client, recipe: NewZKRecipe) -> zkcluster::Result<()> {
//!     let lock: NewZKRecipeRestriction = client.restrict("/p", recipe, "worker-1", None)?;
//!     let _guard = lock.acquire()?;
//!     Ok(())
//! }
//!
//! assert_eq!(NewZKRecipe::Exclusive.name(), "WriteLock");
//! assert_eq!("ReadLock".parse(), Ok(NewZKRecipe::Shared));
//! assert_eq!("Shared".parse(), Ok(NewZKRecipe::Shared));
//! assert_eq!(LibRecipe::ALL.len(), 3);
//! let err: ParseRecipeError = "Mutex".parse::<LibRecipe>().unwrap_err();
//! assert_eq!(err.to_string(), r#"unknown recipe "Mutex"; expected one of: ReadLock, WriteLock, Semaphore"#);
//! # let _ = work;
//! # let _: Option<LibLock> = None;
//! ```

mod barrier;
mod building_blocks;
mod cancel;
pub(crate) mod cleanup;
mod counter;
mod create_stat;
mod double_barrier;
mod election;
mod fence;
mod guard;
mod holds;
mod lease;
mod lock;
mod locking_queue;
mod node_name;
mod parse_error;
pub mod partitioner;
pub mod party;
pub mod persistent_node;
mod queue;
mod read_lock;
mod release;
mod semaphore;
mod tree_cache;
mod write_lock;

use std::time::{Duration, Instant};

use crate::{Client, Result};

pub use barrier::Barrier;
pub use building_blocks::{guaranteed_delete, guaranteed_delete_prefix, ProtectedCreate};
pub use cancel::{CancelHandle, CancelToken};
pub use counter::{Counter, CounterChange, CounterValue, StagedChange};
pub use double_barrier::DoubleBarrier;
pub use election::{Election, Leadership};
pub(crate) use fence::Fence;
pub use guard::{Guard, GuardStatus};
pub use lease::{LeaseRecord, MultiNonBlockingLease, NonBlockingLease};
pub use locking_queue::{LockingQueue, QueueItem};
pub use parse_error::ParseRecipeError;
pub use partitioner::{PartitionFn, PartitionState, SetPartitioner, SetPartitionerBuilder};
pub use party::{MembershipWatch, Party, ShallowParty};
pub use persistent_node::{PersistentNode, PersistentNodeBuilder};
pub use queue::{Queue, DEFAULT_PRIORITY, MAX_PRIORITY};
pub use read_lock::ReadLock;
pub use semaphore::Semaphore;
pub use tree_cache::{TreeCache, TreeEvent, TreeNode, TreeSnapshot};
pub use write_lock::WriteLock;

/// How long an acquire may wait.
///
/// ```
/// use std::time::{Duration, Instant};
/// use zkcluster::Wait;
/// let w = Wait::Until(Instant::now() + Duration::from_secs(1));
/// assert!(w.deadline().is_some());
/// assert_eq!(Wait::Forever.deadline(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Do not wait: acquire only if the lock is free now.
    No,
    /// Wait until this instant at the latest.
    Until(Instant),
    /// Wait as long as it takes (or until cancelled, or the session is lost).
    Forever,
}

impl Wait {
    /// The deadline, if there is one (`Wait::No` has "now").
    pub fn deadline(&self) -> Option<Instant> {
        match self {
            Wait::No => Some(Instant::now()),
            Wait::Until(at) => Some(*at),
            Wait::Forever => None,
        }
    }
}

/// A lock object: something that can be acquired and gives a [`Guard`].
///
/// Implemented by the built-in [`ReadLock`], [`WriteLock`] and [`Semaphore`], by users' own lock
/// types, and by the companion enums `#[derive(Recipe)]` generates. Only [`acquire_with`],
/// [`contenders`], [`lease_holders`], [`cancel_handle`] and [`path`] must be written; the
/// other methods are built on them.
///
/// [`acquire_with`]: Restriction::acquire_with
/// [`contenders`]: Restriction::contenders
/// [`lease_holders`]: Restriction::lease_holders
/// [`cancel_handle`]: Restriction::cancel_handle
/// [`path`]: Restriction::path
///
/// ```no_run
/// use std::time::Duration;
/// use zkcluster::{Client, Restriction, ZookeeperRecipe};
/// # fn main() -> zkcluster::Result<()> {
/// let client = Client::connect("127.0.0.1:2181")?;
/// let lock = client.restrict("/jobs/lock", ZookeeperRecipe::WriteLock, "worker-1", None)?;
/// if let Some(guard) = lock.try_acquire()? {
///     // ... exclusive work ...
///     guard.release()?;
/// }
/// let guard = lock.acquire_timeout(Duration::from_secs(3))?;
/// # drop(guard);
/// # Ok(())
/// # }
/// ```
pub trait Restriction: Send {
    /// Acquires, waiting as `wait` allows. `Ok(None)` means the wait ended (`Wait::No` and the
    /// lock was taken, or the deadline passed) and nothing is left behind on the server.
    ///
    /// The built-in locks are not re-entrant (like Kazoo's): an acquire that could only wait
    /// for the calling thread itself (it holds the write lock, or asks for a read→write
    /// upgrade, or already holds every lease of a semaphore) fails at once with
    /// [`Error::WouldDeadlock`](crate::Error::WouldDeadlock).
    ///
    /// # Errors
    ///
    /// [`Cancelled`](crate::Error::Cancelled) when the [`cancel_handle`](Self::cancel_handle)
    /// fired; [`SessionExpired`](crate::Error::SessionExpired) when the session ended and the
    /// client does not renew sessions; [`Closed`](crate::Error::Closed); a server error such as
    /// `is_no_auth()`; for a semaphore [`LeaseMismatch`](crate::Error::LeaseMismatch) or
    /// [`InvalidArgument`](crate::Error::InvalidArgument) when the pool node disagrees. Connection
    /// loss is waited out within the deadline.
    fn acquire_with(&self, wait: Wait) -> Result<Option<Guard>>;

    /// The identifiers of everyone holding or waiting for this lock, in queue order.
    ///
    /// # Errors
    ///
    /// [`Timeout`](crate::Error::Timeout), [`ConnectionLoss`](crate::Error::ConnectionLoss),
    /// [`SessionExpired`](crate::Error::SessionExpired) or [`Closed`](crate::Error::Closed) when
    /// the call could not complete; a server error such as `is_no_auth()`. A missing lock path is
    /// an empty list.
    fn contenders(&self) -> Result<Vec<String>>;

    /// The identifiers of those holding the lock (or a semaphore lease) now.
    ///
    /// # Errors
    ///
    /// [`Timeout`](crate::Error::Timeout), [`ConnectionLoss`](crate::Error::ConnectionLoss),
    /// [`SessionExpired`](crate::Error::SessionExpired) or [`Closed`](crate::Error::Closed) when
    /// the call could not complete; a server error such as `is_no_auth()`. A missing lock path is
    /// an empty list.
    fn lease_holders(&self) -> Result<Vec<String>>;

    /// A handle that aborts a blocked acquire of this object from another thread.
    fn cancel_handle(&self) -> CancelHandle;

    /// The path this lock lives at.
    fn path(&self) -> &str;

    /// Acquires, waiting as long as it takes.
    ///
    /// # Errors
    ///
    /// As [`acquire_with`](Self::acquire_with).
    fn acquire(&self) -> Result<Guard> {
        match self.acquire_with(Wait::Forever)? {
            Some(guard) => Ok(guard),
            None => Err(crate::Error::Cancelled { path: self.path().to_string() }),
        }
    }

    /// Acquires only if that is possible without waiting.
    ///
    /// # Errors
    ///
    /// As [`acquire_with`](Self::acquire_with); a lock held by someone else is `Ok(None)`.
    fn try_acquire(&self) -> Result<Option<Guard>> {
        self.acquire_with(Wait::No)
    }

    /// Acquires, waiting at most `timeout` in all (one deadline for the whole acquire).
    /// Fails with an error for which [`Error::is_timeout`](crate::Error::is_timeout) is true.
    ///
    /// # Errors
    ///
    /// As [`acquire_with`](Self::acquire_with), and [`Timeout`](crate::Error::Timeout) when the
    /// deadline passed (nothing is left behind on the server).
    fn acquire_timeout(&self, timeout: Duration) -> Result<Guard> {
        let started = Instant::now();
        let deadline = started.checked_add(timeout);
        let wait = deadline.map_or(Wait::Forever, Wait::Until);
        match self.acquire_with(wait)? {
            Some(guard) => Ok(guard),
            None => Err(crate::Error::Timeout {
                op: "acquire",
                path: self.path().to_string(),
                after: started.elapsed(),
            }),
        }
    }
}

/// Construction of a lock type from the arguments of [`Client::restrict`].
///
/// Every type a recipe enum names must implement it (and [`Restriction`]).
///
/// ```no_run
/// use zkcluster::{Client, NewRestriction, WriteLock};
/// # fn main() -> zkcluster::Result<()> {
/// let client = Client::connect("127.0.0.1:2181")?;
/// let lock = WriteLock::new_restriction(&client, "/jobs/lock", "worker-1", None)?;
/// # Ok(())
/// # }
/// ```
pub trait NewRestriction: Restriction + Sized {
    /// Builds the lock object. Fails with [`Error::InvalidArgument`](crate::Error::InvalidArgument)
    /// when `max_leases` does not suit the type (given to a lock, missing for a semaphore).
    ///
    /// # Errors
    ///
    /// [`InvalidArgument`](crate::Error::InvalidArgument) when `max_leases` does not suit the type;
    /// [`InvalidPath`](crate::Error::InvalidPath) for a malformed path.
    fn new_restriction(
        client: &Client,
        path: &str,
        identifier: &str,
        max_leases: Option<u32>,
    ) -> Result<Self>;
}

/// A recipe enum: names a lock type per variant and builds it.
///
/// Implement it with `#[derive(Recipe)]` (see the `zkcluster-macros` crate); the built-in
/// [`ZookeeperRecipe`] is declared that way.
///
/// ```
/// use zkcluster::{Recipe, ZookeeperRecipe};
/// assert_eq!(ZookeeperRecipe::WriteLock.name(), "WriteLock");
/// assert_eq!(ZookeeperRecipe::ALL.len(), 3);
/// ```
pub trait Recipe: Copy + 'static {
    /// The companion enum holding whichever lock type a variant names.
    type Restriction: Restriction;

    /// Every variant, in declaration order.
    const ALL: &'static [Self];

    /// The name of the lock type this variant dispatches to (the seed's enum value).
    fn name(&self) -> &'static str;

    /// Builds the lock object for this variant.
    ///
    /// # Errors
    ///
    /// As the lock type's [`NewRestriction::new_restriction`].
    fn restrict(
        &self,
        client: &Client,
        path: &str,
        identifier: &str,
        max_leases: Option<u32>,
    ) -> Result<Self::Restriction>;
}

mod builtin;
pub use builtin::{ZookeeperRecipe, ZookeeperRecipeRestriction};
