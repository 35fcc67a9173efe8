//! What each thread holds, so an acquire that could only deadlock fails at once.
//!
//! Guarantee: the locks are not re-entrant (like Kazoo's). An acquire by a thread that already
//! holds, through the same client, a [`WriteLock`](super::WriteLock) at the same path, or that
//! asks for a write lock where it holds a read lock (an upgrade), or a read lock where it holds
//! the write lock, would wait for itself forever; it fails at once with
//! [`Error::WouldDeadlock`] instead. So does a semaphore acquire by a thread that already holds
//! every lease. Several read locks by one thread are allowed (readers share), as are acquires
//! of the same path by other threads or other clients, which simply wait.
//!
//! Failure modes: a guard moved to another thread still counts for the thread that acquired it
//! until it is released or dropped; a guard whose session has ended no longer counts (its node
//! is gone, so nothing would wait for it).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::ThreadId;

use crate::session::SessionLife;
use crate::{Client, Error, Result};

/// What is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hold {
    Read,
    Write,
    /// A semaphore lease, with the semaphore's `max_leases`.
    Lease(u32),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    /// The client's session state, by address (alive as long as a guard, which holds the
    /// client).
    session: usize,
    path: String,
    thread: ThreadId,
}

/// One hold: its ticket number, what it is and the session it was granted in.
type Entry = (u64, Hold, Arc<SessionLife>);

fn table() -> &'static Mutex<HashMap<Key, Vec<Entry>>> {
    static TABLE: OnceLock<Mutex<HashMap<Key, Vec<Entry>>>> = OnceLock::new();
    TABLE.get_or_init(Mutex::default)
}

fn with_table<T>(f: impl FnOnce(&mut HashMap<Key, Vec<Entry>>) -> T) -> T {
    f(&mut table().lock().unwrap_or_else(|p| p.into_inner()))
}

fn key(client: &Client, path: &str) -> Key {
    Key {
        session: Arc::as_ptr(client.shared()) as usize,
        path: path.to_string(),
        thread: std::thread::current().id(),
    }
}

/// Fails when this thread acquiring `wanted` at `path` through `client` would wait for itself.
pub(crate) fn check(client: &Client, path: &str, wanted: Hold) -> Result<()> {
    let (mut reads, mut writes, mut leases) = (0u32, 0u32, 0u32);
    with_table(|t| {
        for (_, hold, life) in t.get(&key(client, path)).into_iter().flatten() {
            if life.has_ended() {
                continue;
            }
            match hold {
                Hold::Read => reads += 1,
                Hold::Write => writes += 1,
                Hold::Lease(_) => leases += 1,
            }
        }
    });
    let reason = match wanted {
        Hold::Read | Hold::Write if writes > 0 => {
            Some("this thread already holds its write lock (locks are not re-entrant)".to_string())
        }
        Hold::Write if reads > 0 => Some(
            "this thread holds a read lock there; upgrading to a write lock would wait for \
             itself (release the read lock first)"
                .to_string(),
        ),
        Hold::Lease(max) if leases >= max => Some(format!(
            "this thread already holds all {max} leases of the semaphore (not re-entrant)"
        )),
        _ => None,
    };
    match reason {
        Some(reason) => Err(Error::WouldDeadlock { path: path.to_string(), reason }),
        None => Ok(()),
    }
}

/// Records that this thread holds `hold` at `path` (granted in the session of `life`), until
/// the ticket is dropped.
pub(crate) fn record(client: &Client, path: &str, hold: Hold, life: &Arc<SessionLife>) -> Ticket {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    let key = key(client, path);
    with_table(|t| t.entry(key.clone()).or_default().push((id, hold, life.clone())));
    Ticket { key, id }
}

/// One hold of one thread; dropping it (with the guard) forgets the hold.
#[derive(Debug)]
pub(crate) struct Ticket {
    key: Key,
    id: u64,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        with_table(|t| {
            if let Some(entries) = t.get_mut(&self.key) {
                entries.retain(|(id, ..)| *id != self.id);
                if entries.is_empty() {
                    t.remove(&self.key);
                }
            }
        });
    }
}
