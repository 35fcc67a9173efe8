//! The one place the chaos check touches lock safety: the fencing token, the fenced ZooKeeper
//! write, the "lock lost" error and the holder's validity. Everything else in the check uses the
//! long-standing API, so this file is all that changes when the lock-safety API does.
//!
//! The token is the creation zxid of the node that grants the lock (it strictly increases from
//! one grant to the next at a path); the fenced write is a transaction that checks that node
//! still exists and sets the value, applied atomically by the server.

use zkcluster::{Client, Error, ErrorCode, Guard, Result};

/// The node that grants the guard its lock (the built-in recipes hold exactly one).
fn grant_node(guard: &Guard) -> Result<&str> {
    guard.nodes().first().map(String::as_str).ok_or_else(|| Error::InvalidArgument {
        path: guard.path().to_string(),
        reason: "the guard holds no node".to_string(),
    })
}

/// The guard's fencing token.
pub fn token(client: &Client, guard: &Guard) -> Result<i64> {
    let node = grant_node(guard)?;
    match client.exist_node(node)? {
        Some(stat) => Ok(stat.czxid),
        None => Err(Error::Server { code: ErrorCode::NoNode, path: node.to_string() }),
    }
}

/// Writes `value` to `path` only if the guard's node still exists when the server applies the
/// write.
pub fn fenced_set(client: &Client, guard: &Guard, path: &str, value: &[u8]) -> Result<()> {
    let node = grant_node(guard)?;
    // Lock nodes are never written, so their version stays 0 while they exist.
    client.transaction().check(node, 0).set_data(path, value, None).commit().map(|_| ())
}

/// Whether a fenced write was refused because the lock was lost: it was not applied.
pub fn is_lock_lost(error: &Error) -> bool {
    matches!(error, Error::Transaction { index: 0, code: ErrorCode::NoNode, .. })
        || error.is_session_expired()
}

/// Whether the guard says, now, that the lock is held for sure.
pub fn still_valid(guard: &Guard) -> bool {
    guard.is_valid()
}
