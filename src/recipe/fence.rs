//! Fenced transactions: ZooKeeper writes applied only while a guard's lock node exists.
//!
//! Guarantee: [`Guard::transaction`](super::Guard::transaction) prepends one `check` per guard
//! node (any version) to the user's operations, so the server applies the whole multi only if
//! every guard node still exists at that point of its total order: a holder whose session
//! expired (its ephemeral node is gone, and someone else may hold the lock) cannot write, even
//! if it has not noticed yet. The failure comes back as [`Error::LockLost`]; results and error
//! indexes are shifted back so they match the user's operations.
//!
//! Failure modes: a commit whose reply is lost (connection loss, timeout) has an unknown
//! outcome, as any write; it was applied only if the lock was held when the server ran it.

use std::sync::Arc;

use crate::session::SessionLife;
use crate::{Error, OpResult, Result};

/// The guard a transaction is fenced by.
#[derive(Debug, Clone)]
pub(crate) struct Fence {
    lock_path: String,
    /// The guard's nodes (none once it was released).
    nodes: Vec<String>,
    /// The guard's session: once it has ended the commit is refused without sending.
    life: Arc<SessionLife>,
}

impl Fence {
    pub(crate) fn new(lock_path: &str, nodes: Vec<String>, life: Arc<SessionLife>) -> Fence {
        Fence { lock_path: lock_path.to_string(), nodes, life }
    }

    /// The nodes the commit checks, in the order their checks go first.
    pub(crate) fn nodes(&self) -> &[String] {
        &self.nodes
    }

    fn lock_lost(&self, node: Option<&str>) -> Error {
        let node = node.or_else(|| self.nodes.first().map(String::as_str)).unwrap_or_default();
        Error::LockLost { path: self.lock_path.clone(), node: node.to_string() }
    }

    /// The error of a commit refused before sending: the guard is known to be lost (checked
    /// at commit time, not when the transaction was built).
    pub(crate) fn refused(&self) -> Option<Error> {
        (self.life.has_ended() || self.nodes.is_empty()).then(|| self.lock_lost(None))
    }

    /// The user's results: without those of the checks.
    pub(crate) fn strip(&self, mut results: Vec<OpResult>) -> Result<Vec<OpResult>> {
        let checks = self.nodes.len().min(results.len());
        results.drain(..checks);
        Ok(results)
    }

    /// A failed commit's error as the user sees it: a failed check (or the session gone) is
    /// the lock lost; a failure of a user operation keeps its code, indexed among the user's.
    pub(crate) fn error(&self, error: Error) -> Error {
        let checks = self.nodes.len();
        match error {
            Error::Transaction { index, path, .. } if index < checks => {
                self.lock_lost(Some(path.as_str()))
            }
            Error::Transaction { index, code, path } => {
                Error::Transaction { index: index - checks, code, path }
            }
            e if e.is_session_expired() => self.lock_lost(None),
            e => e,
        }
    }

    /// [`error`](Self::error) for failures that never reached the server (a session that
    /// ended while the commit was being sent).
    pub(crate) fn send_error(&self, error: Error) -> Error {
        if error.is_session_expired() || self.life.has_ended() && !error.is_closed() {
            self.lock_lost(None)
        } else {
            error
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    #[test]
    fn maps_check_failures_to_lock_lost_and_shifts_indexes() {
        let life = Arc::new(SessionLife::new(7));
        let fence = Fence::new("/l", vec!["/l/n1".into()], life.clone());
        assert!(fence.refused().is_none());
        let lost = fence.error(Error::Transaction {
            index: 0,
            code: ErrorCode::NoNode,
            path: "/l/n1".into(),
        });
        assert!(lost.is_lock_lost(), "{lost}");
        let user = fence.error(Error::Transaction {
            index: 2,
            code: ErrorCode::BadVersion,
            path: "/x".into(),
        });
        assert!(matches!(user, Error::Transaction { index: 1, .. }), "{user}");
        let expired = fence.error(Error::SessionExpired { op: "multi", path: "/x".into() });
        assert!(expired.is_lock_lost());
        let stripped = fence.strip(vec![OpResult::Checked, OpResult::Deleted]).unwrap();
        assert_eq!(stripped, vec![OpResult::Deleted]);
        assert!(Fence::new("/l", Vec::new(), life.clone()).refused().unwrap().is_lock_lost());
        life.end();
        assert!(fence.refused().unwrap().is_lock_lost());
    }
}
