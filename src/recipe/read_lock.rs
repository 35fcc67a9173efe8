//! [`ReadLock`]: a shared lock, the same node type as Kazoo's `ReadLock` (`__rlock__`).
//!
//! Guarantee: any number of readers hold the lock together while no [`WriteLock`](super::WriteLock)
//! holds it; a reader queued behind a writer waits for that writer (and the writers before it),
//! so writers are not starved by a stream of readers. A reader waits only for lower writers and
//! never looks at higher sequence numbers (the deadlock of Kazoo #649).
//!
//! Failure modes are those of the shared queue (see `lock.rs`): a lost connection makes the
//! guard uncertain, a lost session invalidates it, and no failed, cancelled or timed-out acquire
//! leaves a node behind.
//!
//! Round trips: acquire 1 when no writer is ahead (create + getChildren pipelined); a drop's
//! delete is not waited for.
//!
//! Not re-entrant across kinds: a thread holding the write lock cannot take a read lock at
//! the same path through the same client, nor upgrade a read lock to the write lock; both fail
//! at once with [`Error::WouldDeadlock`](crate::Error::WouldDeadlock). One thread may hold
//! several read locks (readers share), but beware a writer queued between them: a second read
//! acquire then waits behind that writer, which waits for the first, as with Kazoo.

use super::cancel::CancelHandle;
use super::lock::LockCore;
use super::node_name::LockKind;
use super::{Guard, NewRestriction, Restriction, Wait};
use crate::{Client, Result};

/// A shared lock at a path: readers hold it together, excluding writers.
///
/// `Send + Sync`: share it between threads with an `Arc`; each acquire queues separately, so
/// threads sharing one `ReadLock` read together.
///
/// ```no_run
/// use zkcluster::{Client, Restriction, ZookeeperRecipe};
/// # fn main() -> zkcluster::Result<()> {
/// let client = Client::connect("127.0.0.1:2181")?;
/// let read = client.restrict("/crawler/frontier", ZookeeperRecipe::ReadLock, "reader-1", None)?;
/// let r1 = read.acquire()?;
/// let r2 = read.acquire()?; // readers share
/// assert_eq!(read.lease_holders()?, vec!["reader-1", "reader-1"]);
/// # drop((r1, r2));
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct ReadLock {
    core: LockCore,
    cancel: CancelHandle,
}

impl NewRestriction for ReadLock {
    /// No server call. Fails with [`Error::InvalidArgument`](crate::Error::InvalidArgument) when `max_leases` is given.
    fn new_restriction(
        client: &Client,
        path: &str,
        identifier: &str,
        max_leases: Option<u32>,
    ) -> Result<Self> {
        Ok(ReadLock {
            core: LockCore::for_lock(client, path, identifier, max_leases, LockKind::Read)?,
            cancel: CancelHandle::new(),
        })
    }
}

impl Restriction for ReadLock {
    fn acquire_with(&self, wait: Wait) -> Result<Option<Guard>> {
        self.core.acquire_guard(wait, &self.cancel)
    }

    /// Everyone holding or waiting, readers and writers, in queue order (two round trips).
    fn contenders(&self) -> Result<Vec<String>> {
        self.core.contenders()
    }

    /// The readers ahead of the first writer, or that writer if it heads the queue.
    fn lease_holders(&self) -> Result<Vec<String>> {
        self.core.holders()
    }

    fn cancel_handle(&self) -> CancelHandle {
        self.cancel.clone()
    }

    fn path(&self) -> &str {
        self.core.path()
    }
}
