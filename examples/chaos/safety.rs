//! The one place the chaos check touches the lock-safety API: the fencing token, the fenced
//! ZooKeeper write, the "lock lost" error and the holder's validity. Everything else in the
//! check uses the long-standing API, so this file is all that changes when that API does.

use zkcluster::{Error, Guard, Result};

/// The guard's fencing token: the creation zxid of the node that grants the lock, so it
/// strictly increases from one grant to the next at a path.
pub fn token(guard: &Guard) -> i64 {
    guard.fencing_token()
}

/// Writes `value` to `path` only if the guard's node still exists when the server applies the
/// write (checked in the same transaction).
pub fn fenced_set(guard: &Guard, path: &str, value: &[u8]) -> Result<()> {
    guard.set_value_to_node(path, value).map(|_| ())
}

/// Whether a fenced write was refused because the lock was lost: it was not applied. (Any
/// other failure leaves the write in doubt.)
pub fn is_lock_lost(error: &Error) -> bool {
    error.is_lock_lost()
}

/// Whether the guard says, now, that the lock is held for sure (computed at call time: false
/// once the session may have expired, even before the client has noticed).
pub fn still_valid(guard: &Guard) -> bool {
    guard.is_valid()
}
