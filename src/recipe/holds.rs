//! What each thread holds, so an acquire that could only deadlock fails at once.
//!
//! Guarantee: the locks are not re-entrant (like Kazoo's). An acquire by a thread that already
//! holds, through the same client, a [`WriteLock`](super::WriteLock) at the same path, or that
//! asks for a write lock where it holds a read lock (an upgrade), would wait for itself
//! forever; it fails at once with [`Error::WouldDeadlock`] instead. So does a semaphore acquire
//! by a thread that already holds every lease. Several read locks by one thread are allowed
//! (readers share), as are acquires of the same path by other threads or other clients, which
//! simply wait.
//!
//! Failure mode: a guard moved to another thread still counts for the thread that acquired it,
//! until it is released.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::ThreadId;

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
    /// The client's session, by address (alive as long as a guard, which holds the client).
    session: usize,
    path: String,
    thread: ThreadId,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    reads: u32,
    writes: u32,
    leases: u32,
}

fn table() -> &'static Mutex<HashMap<Key, Counts>> {
    static TABLE: OnceLock<Mutex<HashMap<Key, Counts>>> = OnceLock::new();
    TABLE.get_or_init(Mutex::default)
}

fn with_table<T>(f: impl FnOnce(&mut HashMap<Key, Counts>) -> T) -> T {
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
    let counts = with_table(|t| t.get(&key(client, path)).copied()).unwrap_or_default();
    let reason = match wanted {
        Hold::Read | Hold::Write if counts.writes > 0 => {
            Some("this thread already holds its write lock (locks are not re-entrant)".to_string())
        }
        Hold::Write if counts.reads > 0 => Some(
            "this thread holds a read lock there; upgrading to a write lock would wait for \
             itself (release the read lock first)"
                .to_string(),
        ),
        Hold::Lease(max) if counts.leases >= max => Some(format!(
            "this thread already holds all {max} leases of the semaphore (not re-entrant)"
        )),
        _ => None,
    };
    match reason {
        Some(reason) => Err(Error::WouldDeadlock { path: path.to_string(), reason }),
        None => Ok(()),
    }
}

/// Records that this thread holds `hold` at `path`, until the ticket is dropped.
pub(crate) fn record(client: &Client, path: &str, hold: Hold) -> Ticket {
    let key = key(client, path);
    with_table(|t| {
        let counts = t.entry(key.clone()).or_default();
        match hold {
            Hold::Read => counts.reads += 1,
            Hold::Write => counts.writes += 1,
            Hold::Lease(_) => counts.leases += 1,
        }
    });
    Ticket { key, hold }
}

/// One hold of one thread; dropping it (with the guard) forgets the hold.
#[derive(Debug)]
pub(crate) struct Ticket {
    key: Key,
    hold: Hold,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        with_table(|t| {
            let Some(counts) = t.get_mut(&self.key) else { return };
            match self.hold {
                Hold::Read => counts.reads = counts.reads.saturating_sub(1),
                Hold::Write => counts.writes = counts.writes.saturating_sub(1),
                Hold::Lease(_) => counts.leases = counts.leases.saturating_sub(1),
            }
            if counts.reads == 0 && counts.writes == 0 && counts.leases == 0 {
                t.remove(&self.key);
            }
        });
    }
}
