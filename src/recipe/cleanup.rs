//! Deleting lock and lease nodes that an acquire or a release could not delete itself.
//!
//! Guarantee: a node handed over here is deleted as soon as the server can be reached again, so
//! a failed, cancelled or timed-out acquire, or a release that hit a connection loss, never
//! leaves a node that would block everyone else for the rest of the session.
//!
//! Each hand-over gets a short-lived thread that retries with a growing pause (50 ms to 1 s)
//! and ends when the deletion succeeds (or the node is already gone), when the session that
//! owns the node ends (the server deletes ephemeral nodes itself then), when the client is
//! closed, or on an error retrying cannot fix (such as missing permissions, logged).

use std::sync::Arc;
use std::time::Duration;

use crate::session::SessionLife;
use crate::{Client, Error};

/// What to delete.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// One node, by its full path.
    Node(String),
    /// Every child of `parent` whose name starts with `prefix` (a create whose reply never
    /// came: the node may or may not exist, and its sequence number is unknown).
    Prefix { parent: String, prefix: String },
}

/// Deletes `target` once, synchronously. `Ok(())` when nothing of it is left.
pub(crate) fn delete_once(client: &Client, target: &Target) -> Result<(), Error> {
    match target {
        Target::Node(path) => client.delete_node(path).map(|_| ()),
        Target::Prefix { parent, prefix } => {
            let children = match client.get_children(parent) {
                Ok(children) => children,
                Err(e) if e.is_no_node() => return Ok(()),
                Err(e) => return Err(e),
            };
            let deletes: Vec<_> = children
                .iter()
                .filter(|c| c.starts_with(prefix.as_str()))
                .map(|c| client.delete_async(&crate::path::join(parent, c), None))
                .collect();
            for pending in deletes {
                match pending.wait() {
                    Ok(()) => {}
                    Err(e) if e.is_no_node() => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        }
    }
}

/// Whether the node can no longer exist or no longer matters after `error`.
fn settled(error: &Error, life: &SessionLife) -> bool {
    error.is_no_node() || error.is_closed() || error.is_session_expired() || life.has_ended()
}

/// Whether trying again later may succeed.
fn transient(error: &Error) -> bool {
    error.is_connection_loss() || error.is_timeout() || matches!(error, Error::Protocol { .. })
}

/// Tries to delete `target` now; if that fails for a transient reason, keeps trying in a
/// background thread. Returns the first attempt's error (if any), for callers that report it.
pub(crate) fn delete_or_hand_over(
    client: &Client,
    life: &Arc<SessionLife>,
    target: Target,
) -> Result<(), Error> {
    match delete_once(client, &target) {
        Ok(()) => Ok(()),
        Err(e) if settled(&e, life) => Ok(()),
        Err(e) if transient(&e) => {
            hand_over(client, life, target);
            Err(e)
        }
        Err(e) => {
            log::warn!("could not delete {target:?}: {e}");
            Err(e)
        }
    }
}

/// Deletes `target` now if the session is connected (handing it over on failure), else hands it
/// over at once: never blocks waiting for a connection.
pub(crate) fn delete_soon(client: &Client, life: &Arc<SessionLife>, target: Target) {
    if client.state().is_connected() {
        let _ = delete_or_hand_over(client, life, target);
    } else {
        hand_over(client, life, target);
    }
}

/// Deletes `target` in a background thread (see the module docs for when it stops).
pub(crate) fn hand_over(client: &Client, life: &Arc<SessionLife>, target: Target) {
    if life.has_ended() {
        return;
    }
    let client = client.clone();
    let life = life.clone();
    let spawned =
        std::thread::Builder::new().name("zkcluster-cleanup".to_string()).spawn(move || {
            let mut pause = Duration::from_millis(50);
            let ended = life.signal();
            loop {
                match delete_once(&client, &target) {
                    Ok(()) => return,
                    Err(e) if settled(&e, &life) => return,
                    Err(e) if transient(&e) => log::debug!("retrying deletion of {target:?}: {e}"),
                    Err(e) => {
                        log::warn!("giving up deleting {target:?}: {e}");
                        return;
                    }
                }
                // Wakes early (disconnected) when the session ends or the client is closed.
                if ended.recv_timeout(pause).is_err() && life.has_ended() {
                    return;
                }
                pause = (pause * 2).min(Duration::from_secs(1));
            }
        });
    if let Err(e) = spawned {
        log::warn!("could not start a cleanup thread ({e}); the node goes with the session");
    }
}
