//! [`WriteLock`]: an exclusive lock, the same node type as Kazoo's `Lock` and `WriteLock`.
//!
//! Guarantee: at most one holder at a time, across every client and thread, Kazoo's included;
//! contenders get the lock in the order they asked for it (FIFO by sequence number). A writer
//! also excludes every [`ReadLock`](super::ReadLock) holder at the same path.
//!
//! Each acquire creates its own node, so one `WriteLock` object shared by several threads
//! (`Arc<WriteLock>`) behaves like a Kazoo lock shared by threads: one holder, the others wait.
//! The lock is not re-entrant, like Kazoo's: a second acquire by the thread that holds it
//! (through the same client, on any lock object at the same path), and a write acquire by a
//! thread holding a read lock there (an upgrade), fail at once with
//! [`Error::WouldDeadlock`](crate::Error::WouldDeadlock) instead of waiting for themselves.
//! Other threads, and other clients, simply wait.
//!
//! Failure modes are those of the shared queue (see `lock.rs`): a lost connection makes the
//! guard uncertain, a lost session invalidates it ([`Guard::lost`](super::Guard::lost) fires),
//! and no failed, cancelled or timed-out acquire leaves a node behind.
//!
//! Round trips: acquire 1 when free (create + getChildren pipelined); dropping the guard puts
//! the delete on the wire without waiting, so a lock cycle costs about 1.
//!
//! Each grant has a [`fencing_token`](super::Guard::fencing_token) above every earlier
//! grant's, and [`Guard::transaction`](super::Guard::transaction) makes ZooKeeper writes that
//! only apply while the lock is held.

use super::cancel::CancelHandle;
use super::lock::LockCore;
use super::node_name::LockKind;
use super::{Guard, NewRestriction, Restriction, Wait};
use crate::{Client, Result};

/// An exclusive lock at a path: one holder at a time.
///
/// `Send + Sync`: share it between threads with an `Arc`. Each acquire queues separately.
///
/// ```no_run
/// use std::sync::Arc;
/// use std::time::Duration;
/// use zkcluster::{Client, Restriction, ZookeeperRecipe};
/// # fn main() -> zkcluster::Result<()> {
/// let client = Client::connect("127.0.0.1:2181")?;
/// let lock = client.restrict("/crawler/frontier", ZookeeperRecipe::WriteLock, "worker-1", None)?;
/// {
///     let _guard = lock.acquire()?; // blocks; released when the guard drops
/// }
/// if let Some(guard) = lock.try_acquire()? {
///     guard.release()?;
/// }
/// let guard = lock.acquire_timeout(Duration::from_secs(3))?;
/// println!("queue: {:?}", lock.contenders()?);
/// drop(guard);
///
/// let shared = Arc::new(lock);
/// let worker = { let lock = shared.clone(); std::thread::spawn(move || lock.acquire().map(drop)) };
/// worker.join().unwrap()?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct WriteLock {
    core: LockCore,
    cancel: CancelHandle,
}

impl NewRestriction for WriteLock {
    /// No server call. Fails with [`Error::InvalidArgument`](crate::Error::InvalidArgument) when `max_leases` is given.
    fn new_restriction(
        client: &Client,
        path: &str,
        identifier: &str,
        max_leases: Option<u32>,
    ) -> Result<Self> {
        Ok(WriteLock {
            core: LockCore::for_lock(client, path, identifier, max_leases, LockKind::Write)?,
            cancel: CancelHandle::new(),
        })
    }
}

impl Restriction for WriteLock {
    fn acquire_with(&self, wait: Wait) -> Result<Option<Guard>> {
        self.core.acquire_guard(wait, &self.cancel)
    }

    /// Everyone holding or waiting, writers and readers, in queue order (two round trips).
    fn contenders(&self) -> Result<Vec<String>> {
        self.core.contenders()
    }

    /// The holder: the head of the queue if it is a writer, else the readers ahead of the
    /// first writer.
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
