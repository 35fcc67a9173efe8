//! The watches a session has registered, keyed by server path, and their delivery.

use std::collections::HashMap;

use crossbeam_channel::Sender;

use crate::proto::EventType;

/// What happened to a watched node (or to the session that watched it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WatchEventKind {
    /// The node was created.
    NodeCreated,
    /// The node was deleted.
    NodeDeleted,
    /// The node's data changed.
    NodeDataChanged,
    /// The node's list of children changed.
    NodeChildrenChanged,
    /// The session that set the watch was lost: the watch will never fire. Re-read and re-watch.
    SessionLost,
    /// The client was closed.
    Closed,
    /// Delivered to persistent watches only: the session was resumed on a new connection, and
    /// changes made while it was disconnected may not have been reported (ZooKeeper replays
    /// missed changes to one-shot watches after a reconnect, not to persistent ones). The watch
    /// stays registered; re-read what it covers.
    Resumed,
}

/// A watch notification.
///
/// ```no_run
/// # fn main() -> zkcluster::Result<()> {
/// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
/// let (_node, changed) = client.get_node_watch("/config")?;
/// let event: zkcluster::WatchedEvent = changed.recv().expect("session closed");
/// println!("{:?} on {}", event.kind, event.path);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchedEvent {
    /// What happened.
    pub kind: WatchEventKind,
    /// The node's path (without the client's chroot).
    pub path: String,
}

pub(crate) type WatchSender = Sender<WatchedEvent>;

/// Which table a watch lives in, as ZooKeeper's `SetWatches` distinguishes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WatchKind {
    /// Set by getData, or by exists on an existing node: fires on change and delete.
    Data,
    /// Set by exists on a missing node: fires on create.
    Exist,
    /// Set by getChildren: fires on child change and on delete.
    Child,
    /// addWatch(PERSISTENT): every data/child change and delete of the node, not removed on firing.
    Persistent,
    /// addWatch(PERSISTENT_RECURSIVE): every change of the node and its descendants.
    PersistentRecursive,
}

/// All watches of one session.
#[derive(Default)]
pub(crate) struct WatchTable {
    data: HashMap<String, Vec<WatchSender>>,
    exist: HashMap<String, Vec<WatchSender>>,
    child: HashMap<String, Vec<WatchSender>>,
    persistent: HashMap<String, Vec<WatchSender>>,
    recursive: HashMap<String, Vec<WatchSender>>,
}

/// The paths to re-register after a reconnect.
pub(crate) struct WatchPaths {
    pub data: Vec<String>,
    pub exist: Vec<String>,
    pub child: Vec<String>,
    pub persistent: Vec<String>,
    pub recursive: Vec<String>,
}

impl WatchPaths {
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
            && self.exist.is_empty()
            && self.child.is_empty()
            && self.persistent.is_empty()
            && self.recursive.is_empty()
    }
}

impl WatchTable {
    fn table(&mut self, kind: WatchKind) -> &mut HashMap<String, Vec<WatchSender>> {
        match kind {
            WatchKind::Data => &mut self.data,
            WatchKind::Exist => &mut self.exist,
            WatchKind::Child => &mut self.child,
            WatchKind::Persistent => &mut self.persistent,
            WatchKind::PersistentRecursive => &mut self.recursive,
        }
    }

    pub fn add(&mut self, kind: WatchKind, server_path: String, tx: WatchSender) {
        self.table(kind).entry(server_path).or_default().push(tx);
    }

    /// Removes the watch whose sender feeds the same channel as `same_as` (a handle being dropped);
    /// returns whether none is left on that path (so the server can stop watching it).
    pub fn remove(&mut self, kind: WatchKind, server_path: &str, same_as: &WatchSender) -> bool {
        let table = self.table(kind);
        if let Some(senders) = table.get_mut(server_path) {
            senders.retain(|tx| !tx.same_channel(same_as));
            if !senders.is_empty() {
                return false;
            }
            table.remove(server_path);
        }
        true
    }

    /// Whether any watch (of any kind) is registered on `server_path`.
    pub fn has_any(&self, server_path: &str) -> bool {
        [&self.data, &self.exist, &self.child, &self.persistent, &self.recursive]
            .iter()
            .any(|t| t.contains_key(server_path))
    }

    pub fn len(&self) -> usize {
        [&self.data, &self.exist, &self.child, &self.persistent, &self.recursive]
            .iter()
            .map(|t| t.values().map(Vec::len).sum::<usize>())
            .sum()
    }

    pub fn paths(&self) -> WatchPaths {
        let keys = |t: &HashMap<String, Vec<WatchSender>>| t.keys().cloned().collect::<Vec<_>>();
        WatchPaths {
            data: keys(&self.data),
            exist: keys(&self.exist),
            child: keys(&self.child),
            persistent: keys(&self.persistent),
            recursive: keys(&self.recursive),
        }
    }

    /// Delivers a server notification for `server_path`; `path` is what the user sees.
    /// Returns the persistent watch modes to add again on `server_path`: a server before 3.9
    /// keeps one mode per path and watcher, so a one-shot watch set on a path with a
    /// persistent watch turns that one into a one-shot too, and it is gone once this event
    /// fired it.
    pub fn dispatch(&mut self, event: EventType, server_path: &str, path: &str) -> Vec<WatchKind> {
        let kind = match event {
            EventType::NodeCreated => WatchEventKind::NodeCreated,
            EventType::NodeDeleted => WatchEventKind::NodeDeleted,
            EventType::NodeDataChanged => WatchEventKind::NodeDataChanged,
            EventType::NodeChildrenChanged => WatchEventKind::NodeChildrenChanged,
            other => {
                log::debug!("ignoring watch event {other:?} on {path}");
                return Vec::new();
            }
        };
        let fired = WatchedEvent { kind, path: path.to_string() };
        let one_shot: &[WatchKind] = match kind {
            WatchEventKind::NodeCreated | WatchEventKind::NodeDataChanged => {
                &[WatchKind::Data, WatchKind::Exist]
            }
            WatchEventKind::NodeDeleted => &[WatchKind::Data, WatchKind::Exist, WatchKind::Child],
            _ => &[WatchKind::Child],
        };
        let mut fired_one_shot = false;
        for &table in one_shot {
            for tx in self.table(table).remove(server_path).unwrap_or_default() {
                fired_one_shot = true;
                let _ = tx.send(fired.clone());
            }
        }
        let mut readd = Vec::new();
        if fired_one_shot {
            if self.persistent.contains_key(server_path) {
                readd.push(WatchKind::Persistent);
            }
            if self.recursive.contains_key(server_path) {
                readd.push(WatchKind::PersistentRecursive);
            }
        }
        if let Some(senders) = self.persistent.get(server_path) {
            for tx in senders {
                let _ = tx.send(fired.clone());
            }
        }
        // Recursive watches see every node below them, but not child-list changes (the server
        // reports those as creates and deletes of the children themselves).
        if kind != WatchEventKind::NodeChildrenChanged {
            for ancestor in ancestors_or_self(server_path) {
                if let Some(senders) = self.recursive.get(ancestor) {
                    for tx in senders {
                        let _ = tx.send(fired.clone());
                    }
                }
            }
        }
        readd
    }

    /// Whether a persistent watch (of either kind) is registered on exactly `server_path`.
    pub fn has_persistent(&self, server_path: &str) -> bool {
        self.persistent.contains_key(server_path) || self.recursive.contains_key(server_path)
    }

    /// Tells every persistent watch that its session was resumed (see
    /// [`WatchEventKind::Resumed`]).
    pub fn resumed(&self, to_user_path: impl Fn(&str) -> String) {
        for (server_path, senders) in self.persistent.iter().chain(self.recursive.iter()) {
            let event =
                WatchedEvent { kind: WatchEventKind::Resumed, path: to_user_path(server_path) };
            for tx in senders {
                let _ = tx.send(event.clone());
            }
        }
    }

    /// Completes every watch with `kind` (session lost or client closed) and forgets them all.
    pub fn complete_all(&mut self, kind: WatchEventKind, to_user_path: impl Fn(&str) -> String) {
        for table in [
            &mut self.data,
            &mut self.exist,
            &mut self.child,
            &mut self.persistent,
            &mut self.recursive,
        ] {
            for (server_path, senders) in table.drain() {
                let event = WatchedEvent { kind, path: to_user_path(&server_path) };
                for tx in senders {
                    let _ = tx.send(event.clone());
                }
            }
        }
    }
}

/// `/a/b/c`, `/a/b`, `/a`, `/`.
fn ancestors_or_self(path: &str) -> impl Iterator<Item = &str> {
    let mut next = Some(path);
    std::iter::from_fn(move || {
        let current = next?;
        next = crate::path::parent(current);
        Some(current)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_shot_watches_fire_once_by_kind() {
        let mut table = WatchTable::default();
        let (data_tx, data_rx) = crossbeam_channel::unbounded();
        let (child_tx, child_rx) = crossbeam_channel::unbounded();
        table.add(WatchKind::Data, "/a".into(), data_tx);
        table.add(WatchKind::Child, "/a".into(), child_tx);
        table.dispatch(EventType::NodeChildrenChanged, "/a", "/a");
        assert_eq!(child_rx.try_recv().unwrap().kind, WatchEventKind::NodeChildrenChanged);
        assert!(data_rx.try_recv().is_err());
        table.dispatch(EventType::NodeDataChanged, "/a", "/a");
        table.dispatch(EventType::NodeDataChanged, "/a", "/a");
        assert_eq!(data_rx.try_recv().unwrap().kind, WatchEventKind::NodeDataChanged);
        assert!(data_rx.try_recv().is_err(), "a one-shot watch fired twice");
        assert_eq!(table.len(), 0);
    }

    #[test]
    fn a_one_shot_watch_firing_on_a_persistent_path_asks_for_the_persistent_one_again() {
        let mut table = WatchTable::default();
        let (tx, _rx) = crossbeam_channel::unbounded();
        let (one, _one_rx) = crossbeam_channel::unbounded();
        table.add(WatchKind::Persistent, "/a".into(), tx);
        assert!(table.dispatch(EventType::NodeDataChanged, "/a", "/a").is_empty());
        table.add(WatchKind::Data, "/a".into(), one);
        let readd = table.dispatch(EventType::NodeDataChanged, "/a", "/a");
        assert_eq!(readd, [WatchKind::Persistent]);
    }

    #[test]
    fn recursive_watches_see_descendants() {
        let mut table = WatchTable::default();
        let (tx, rx) = crossbeam_channel::unbounded();
        table.add(WatchKind::PersistentRecursive, "/a".into(), tx);
        table.dispatch(EventType::NodeCreated, "/a/b/c", "/a/b/c");
        table.dispatch(EventType::NodeChildrenChanged, "/a", "/a");
        table.dispatch(EventType::NodeDeleted, "/ab", "/ab");
        assert_eq!(rx.try_recv().unwrap().path, "/a/b/c");
        assert!(rx.try_recv().is_err());
        assert_eq!(table.len(), 1, "persistent watches stay registered");
    }

    #[test]
    fn complete_all_tells_every_waiter() {
        let mut table = WatchTable::default();
        let (tx, rx) = crossbeam_channel::unbounded();
        table.add(WatchKind::Exist, "/app/x".into(), tx);
        table.complete_all(WatchEventKind::SessionLost, |p| {
            p.trim_start_matches("/app").to_string()
        });
        assert_eq!(
            rx.try_recv().unwrap(),
            WatchedEvent { kind: WatchEventKind::SessionLost, path: "/x".into() }
        );
        assert_eq!(table.len(), 0);
    }
}
