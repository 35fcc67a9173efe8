//! The cached tree as a plain data structure: reads of the server go in, the events that bring
//! a consumer's view to the same state come out. No I/O here; tested without a server.
//!
//! Every input is "path P, as read from the server now" (its data and stat, or absent), or a
//! whole fresh crawl. Reads of one session are answered in order, so each read is at least as
//! new as the cache's entry for that path; the zxids in the stat then tell what changed:
//! another `czxid` is another node (deleted and created again), another `mzxid` new data.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use crate::path;
use crate::Stat;

/// A cached node: its data and metadata as of its last change the cache has seen.
///
/// The data is shared (cheap to clone). The stat's child fields (`num_children`, `cversion`,
/// `pzxid`) are as of the node's last read: the cache does not re-read a node when only its
/// children change (use [`TreeCache::children`](super::TreeCache::children) for those).
///
/// ```
/// # fn demo(node: zkcluster::TreeNode) {
/// println!("{} bytes, version {}", node.data().len(), node.stat().version);
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeNode {
    data: Arc<[u8]>,
    stat: Stat,
}

impl TreeNode {
    pub(crate) fn new(data: Vec<u8>, stat: Stat) -> TreeNode {
        TreeNode { data: data.into(), stat }
    }

    /// The node's data.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The node's metadata.
    pub fn stat(&self) -> &Stat {
        &self.stat
    }
}

/// A change of the cache, or of its connection: Kazoo's `TreeEvent` types, Curator's
/// `CuratorCacheListener` calls.
///
/// ```
/// use zkcluster::TreeEvent;
/// fn describe(event: &TreeEvent) -> String {
///     match event {
///         TreeEvent::NodeAdded { path, .. } => format!("+ {path}"),
///         TreeEvent::NodeUpdated { path, .. } => format!("~ {path}"),
///         TreeEvent::NodeRemoved { path, .. } => format!("- {path}"),
///         other => format!("{other:?}"),
///     }
/// }
/// assert_eq!(describe(&TreeEvent::Initialized), "Initialized");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TreeEvent {
    /// A node appeared in the cache (during the initial load: every node of the tree).
    NodeAdded {
        /// Its path.
        path: String,
        /// Its data and stat.
        node: TreeNode,
    },
    /// A node's data changed (its `mzxid` moved).
    NodeUpdated {
        /// Its path.
        path: String,
        /// What the cache held before.
        old: TreeNode,
        /// What it holds now.
        node: TreeNode,
    },
    /// A node left the cache (descendants are removed before their parent).
    NodeRemoved {
        /// Its path.
        path: String,
        /// What the cache held last.
        node: TreeNode,
    },
    /// The initial load is complete: the cache held the whole tree at some moment.
    Initialized,
    /// The connection broke; the cache may miss changes until it is back.
    ConnectionSuspended,
    /// Connected again (the same session resumed, or a new one after a loss); the events that
    /// bring the cache up to date follow.
    ConnectionReconnected,
    /// The session was lost; the cache keeps its content and re-reads the tree in the next
    /// session (when the client renews sessions).
    ConnectionLost,
}

#[derive(Debug, Clone)]
struct Entry {
    node: TreeNode,
    children: BTreeSet<String>,
}

/// The cached subtree: every node below (and including) `root` that the cache has seen.
///
/// Invariant: every cached node other than the root has its parent cached, and is listed in
/// the parent's `children`.
#[derive(Debug, Clone)]
pub(crate) struct TreeState {
    root: String,
    nodes: HashMap<String, Entry>,
}

impl TreeState {
    pub fn new(root: &str) -> TreeState {
        TreeState { root: root.to_string(), nodes: HashMap::new() }
    }

    pub fn get(&self, path: &str) -> Option<&TreeNode> {
        self.nodes.get(path).map(|e| &e.node)
    }

    pub fn children(&self, path: &str) -> Option<Vec<String>> {
        self.nodes.get(path).map(|e| e.children.iter().cloned().collect())
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn paths(&self) -> impl Iterator<Item = (&String, &TreeNode)> {
        self.nodes.iter().map(|(p, e)| (p, &e.node))
    }

    /// Applies "`path` is `read` on the server now" (`None`: it does not exist).
    pub fn apply(&mut self, path: &str, read: Option<TreeNode>, out: &mut dyn FnMut(TreeEvent)) {
        let Some(node) = read else {
            self.remove_subtree(path, out);
            return;
        };
        let parent = self.parent_of(path);
        if let Some(parent) = &parent {
            if !self.nodes.contains_key(parent) {
                // The parent is gone since (a later event brings both back, in order).
                return;
            }
        }
        let cached = self.nodes.get(path).map(|e| (e.node.stat.czxid, e.node.stat.mzxid));
        match cached {
            None => {
                if let Some(parent) = &parent {
                    if let Some(p) = self.nodes.get_mut(parent) {
                        p.children.insert(name_of(path).to_string());
                    }
                }
                let entry = Entry { node: node.clone(), children: BTreeSet::new() };
                self.nodes.insert(path.to_string(), entry);
                out(TreeEvent::NodeAdded { path: path.to_string(), node });
            }
            Some((czxid, _)) if czxid != node.stat.czxid => {
                // Deleted and created again: the old node and whatever of its subtree is older
                // than the new node are gone; children of the new node stay.
                let born = node.stat.czxid;
                let stale: Vec<String> = self.nodes[path]
                    .children
                    .iter()
                    .map(|c| path::join(path, c))
                    .filter(|c| self.nodes.get(c).is_some_and(|e| e.node.stat.czxid < born))
                    .collect();
                for child in stale {
                    self.remove_subtree(&child, out);
                }
                if let Some(entry) = self.nodes.get_mut(path) {
                    let old = std::mem::replace(&mut entry.node, node.clone());
                    out(TreeEvent::NodeRemoved { path: path.to_string(), node: old });
                    out(TreeEvent::NodeAdded { path: path.to_string(), node });
                }
            }
            Some((_, mzxid)) => {
                let Some(entry) = self.nodes.get_mut(path) else { return };
                if node.stat.mzxid > mzxid {
                    let old = std::mem::replace(&mut entry.node, node.clone());
                    out(TreeEvent::NodeUpdated { path: path.to_string(), old, node });
                } else if node.stat.mzxid == mzxid {
                    // Same data; the stat's child fields may have moved: keep the newer stat.
                    entry.node.stat = node.stat;
                }
                // An older read than what is cached has nothing to teach.
            }
        }
    }

    /// Brings the cache to a complete crawl of the tree (`nodes`: every node found, each
    /// after its parent): removes what the crawl did not find, then applies every read.
    pub fn resync(&mut self, nodes: Vec<(String, TreeNode)>, out: &mut dyn FnMut(TreeEvent)) {
        let found: std::collections::HashSet<&str> =
            nodes.iter().map(|(p, _)| p.as_str()).collect();
        let mut gone: Vec<String> =
            self.nodes.keys().filter(|p| !found.contains(p.as_str())).cloned().collect();
        // Deepest first, so each removal is of a leaf of what is left.
        gone.sort_unstable_by_key(|p| std::cmp::Reverse(depth(p)));
        for path in gone {
            self.remove_subtree(&path, out);
        }
        for (path, node) in nodes {
            self.apply(&path, Some(node), out);
        }
    }

    /// Removes `path` and everything cached below it, deepest first.
    fn remove_subtree(&mut self, path: &str, out: &mut dyn FnMut(TreeEvent)) {
        let Some(entry) = self.nodes.remove(path) else { return };
        for child in &entry.children {
            self.remove_subtree(&path::join(path, child), out);
        }
        if let Some(parent) = self.parent_of(path) {
            if let Some(p) = self.nodes.get_mut(&parent) {
                p.children.remove(name_of(path));
            }
        }
        out(TreeEvent::NodeRemoved { path: path.to_string(), node: entry.node });
    }

    /// The parent of `path` inside the cached subtree (`None` for the root).
    fn parent_of(&self, path: &str) -> Option<String> {
        if path == self.root {
            return None;
        }
        path::parent(path).map(str::to_string)
    }
}

fn name_of(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn depth(path: &str) -> usize {
    path.bytes().filter(|b| *b == b'/').count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(data: &str, czxid: i64, mzxid: i64) -> TreeNode {
        TreeNode::new(data.into(), Stat { czxid, mzxid, ..Stat::default() })
    }

    fn kinds(events: &[TreeEvent]) -> Vec<String> {
        events
            .iter()
            .map(|e| match e {
                TreeEvent::NodeAdded { path, .. } => format!("+{path}"),
                TreeEvent::NodeUpdated { path, .. } => format!("~{path}"),
                TreeEvent::NodeRemoved { path, .. } => format!("-{path}"),
                other => format!("{other:?}"),
            })
            .collect()
    }

    fn loaded() -> TreeState {
        let mut t = TreeState::new("/r");
        let mut out = Vec::new();
        t.resync(
            vec![
                ("/r".into(), node("", 1, 1)),
                ("/r/a".into(), node("a", 2, 2)),
                ("/r/a/x".into(), node("x", 3, 3)),
                ("/r/b".into(), node("b", 4, 4)),
            ],
            &mut |e| out.push(e),
        );
        assert_eq!(kinds(&out), ["+/r", "+/r/a", "+/r/a/x", "+/r/b"]);
        t
    }

    #[test]
    fn reads_of_what_is_cached_emit_nothing() {
        let mut t = loaded();
        let mut out = Vec::new();
        t.apply("/r/a", Some(node("a", 2, 2)), &mut |e| out.push(e));
        t.apply("/r/gone", None, &mut |e| out.push(e));
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn data_change_is_an_update_and_a_stale_read_is_ignored() {
        let mut t = loaded();
        let mut out = Vec::new();
        t.apply("/r/a", Some(node("a2", 2, 9)), &mut |e| out.push(e));
        t.apply("/r/a", Some(node("a1", 2, 5)), &mut |e| out.push(e));
        assert_eq!(kinds(&out), ["~/r/a"]);
        assert_eq!(t.get("/r/a").unwrap().data(), b"a2");
    }

    #[test]
    fn deletion_removes_the_subtree_deepest_first() {
        let mut t = loaded();
        let mut out = Vec::new();
        t.apply("/r/a", None, &mut |e| out.push(e));
        assert_eq!(kinds(&out), ["-/r/a/x", "-/r/a"]);
        assert_eq!(t.children("/r").unwrap(), ["b"]);
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn a_node_whose_parent_is_not_cached_is_skipped() {
        let mut t = loaded();
        let mut out = Vec::new();
        t.apply("/r/zz/child", Some(node("", 10, 10)), &mut |e| out.push(e));
        assert!(out.is_empty());
        assert!(t.get("/r/zz/child").is_none());
    }

    #[test]
    fn recreation_replaces_the_node_and_keeps_only_younger_children() {
        let mut t = loaded();
        let mut out = Vec::new();
        // /r/a deleted (with x) and created again at zxid 20, with a new child y at 21, whose
        // creation the cache saw first (under the old /r/a).
        t.apply("/r/a/y", Some(node("y", 21, 21)), &mut |e| out.push(e));
        assert_eq!(kinds(&out), ["+/r/a/y"]);
        out.clear();
        let mut t2 = t;
        t2.apply("/r/a", Some(node("a-new", 20, 20)), &mut |e| out.push(e));
        assert_eq!(kinds(&out), ["-/r/a/x", "-/r/a", "+/r/a"]);
        assert_eq!(t2.children("/r/a").unwrap(), ["y"]);
    }

    #[test]
    fn resync_emits_exactly_the_difference() {
        let mut t = loaded();
        let mut out = Vec::new();
        t.resync(
            vec![
                ("/r".into(), node("", 1, 1)),
                ("/r/a".into(), node("a", 2, 7)),
                ("/r/c".into(), node("c", 8, 8)),
            ],
            &mut |e| out.push(e),
        );
        assert_eq!(kinds(&out), ["-/r/a/x", "-/r/b", "~/r/a", "+/r/c"]);
        let mut again = Vec::new();
        t.resync(
            vec![
                ("/r".into(), node("", 1, 1)),
                ("/r/a".into(), node("a", 2, 7)),
                ("/r/c".into(), node("c", 8, 8)),
            ],
            &mut |e| again.push(e),
        );
        assert!(again.is_empty(), "a second identical crawl changes nothing: {again:?}");
    }

    #[test]
    fn root_deleted_and_created_again() {
        let mut t = loaded();
        let mut out = Vec::new();
        t.apply("/r", None, &mut |e| out.push(e));
        assert_eq!(t.len(), 0);
        assert_eq!(out.len(), 4);
        out.clear();
        t.apply("/r", Some(node("", 30, 30)), &mut |e| out.push(e));
        assert_eq!(kinds(&out), ["+/r"]);
    }
}
