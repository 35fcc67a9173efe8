//! Reading a whole subtree with the pipe full: a window of reads in flight, each reply
//! queueing the reads it makes necessary (a node with children is listed; each child read).

use std::collections::VecDeque;

use super::state::TreeNode;
use crate::{Client, Pending, Result, ZookeeperNode};

/// Reads in flight at most: enough to hide the round trip, few enough to bound memory.
const WINDOW: usize = 1024;

enum Read {
    Data(String, Pending<ZookeeperNode>),
    Children(String, Pending<Vec<String>>),
}

enum Todo {
    Data(String),
    Children(String),
}

/// Every node of the subtree at `root` (empty when `root` does not exist), each after its
/// parent. Nodes deleted while crawling are simply missing; nodes created while crawling may
/// be missing (the watch reports them). `stop` is polled between replies.
pub(crate) fn crawl(
    client: &Client,
    root: &str,
    stop: &dyn Fn() -> bool,
) -> Result<Option<Vec<(String, TreeNode)>>> {
    let mut found = Vec::new();
    let mut todo = VecDeque::from([Todo::Data(root.to_string())]);
    let mut in_flight: VecDeque<Read> = VecDeque::with_capacity(WINDOW);
    loop {
        while in_flight.len() < WINDOW {
            match todo.pop_front() {
                Some(Todo::Data(p)) => {
                    let pending = client.get_node_async(&p);
                    in_flight.push_back(Read::Data(p, pending));
                }
                Some(Todo::Children(p)) => {
                    let pending = client.get_children_async(&p);
                    in_flight.push_back(Read::Children(p, pending));
                }
                None => break,
            }
        }
        let Some(read) = in_flight.pop_front() else { return Ok(Some(found)) };
        if stop() {
            return Ok(None);
        }
        match read {
            Read::Data(path, pending) => match pending.wait() {
                Ok(node) => {
                    if node.stat.num_children > 0 {
                        todo.push_back(Todo::Children(path.clone()));
                    }
                    found.push((path, TreeNode::new(node.value, node.stat)));
                }
                Err(e) if e.is_no_node() => {}
                Err(e) => return Err(e),
            },
            Read::Children(path, pending) => match pending.wait() {
                Ok(children) => {
                    todo.extend(children.iter().map(|c| Todo::Data(crate::path::join(&path, c))))
                }
                Err(e) if e.is_no_node() => {}
                Err(e) => return Err(e),
            },
        }
    }
}
