//! Reading a whole subtree with the pipe full: reads go out in multi-read batches (one request
//! and one reply for several nodes), a window of batches in flight, each reply queueing the
//! reads it makes necessary (a node with children is listed; each child read).

use std::collections::VecDeque;

use super::state::TreeNode;
use crate::{Client, Pending, ReadOp, ReadResult, Result};

/// Reads per multi-read request: few enough that a reply of that many nodes of the largest
/// size ZooKeeper allows (1 MiB each) stays well inside a frame this client accepts.
const BATCH: usize = 8;

/// Batches in flight at most: enough to hide the round trip, few enough to bound memory.
const WINDOW: usize = 128;

/// One multi-read in flight.
type Batch = Pending<Vec<Result<ReadResult>>>;

/// Every node of the subtree at `root` (empty when `root` does not exist), each after its
/// parent; `None` when `stop` said so between replies. Nodes deleted while crawling are simply
/// missing; nodes created while crawling may be missing (the watch reports them).
pub(crate) fn crawl(
    client: &Client,
    root: &str,
    stop: &dyn Fn() -> bool,
) -> Result<Option<Vec<(String, TreeNode)>>> {
    let mut found = Vec::new();
    let mut todo = VecDeque::from([ReadOp::data(root)]);
    let mut in_flight: VecDeque<(Vec<ReadOp>, Batch)> = VecDeque::with_capacity(WINDOW);
    loop {
        while in_flight.len() < WINDOW && !todo.is_empty() {
            let batch: Vec<ReadOp> = todo.drain(..BATCH.min(todo.len())).collect();
            let pending = client.multi_read_async(&batch);
            in_flight.push_back((batch, pending));
        }
        let Some((batch, pending)) = in_flight.pop_front() else { return Ok(Some(found)) };
        if stop() {
            return Ok(None);
        }
        for (read, result) in batch.into_iter().zip(pending.wait()?) {
            match (read, result) {
                (ReadOp::Data(path), Ok(ReadResult::Node(node))) => {
                    if node.stat.num_children > 0 {
                        todo.push_back(ReadOp::Children(path.clone()));
                    }
                    found.push((path, TreeNode::new(node.value, node.stat)));
                }
                (ReadOp::Children(path), Ok(ReadResult::Children(children))) => {
                    todo.extend(children.iter().map(|c| ReadOp::Data(crate::path::join(&path, c))))
                }
                (_, Err(e)) if e.is_no_node() => {}
                (_, Err(e)) => return Err(e),
                (read, Ok(_)) => {
                    return Err(crate::Error::Protocol {
                        op: "multi_read",
                        path: match read {
                            ReadOp::Data(p) | ReadOp::Children(p) => p,
                        },
                        reason: "a result of another kind than the read".into(),
                    })
                }
            }
        }
    }
}

/// Reads the data of every node of `paths`, all batches sent before any is waited for: the
/// nodes in order (`None` for a missing one) up to the first failure, and that failure.
pub(crate) fn read_nodes(
    client: &Client,
    paths: &[String],
) -> (Vec<Option<TreeNode>>, Option<crate::Error>) {
    let batches: Vec<Batch> = paths
        .chunks(BATCH)
        .map(|chunk| {
            let reads: Vec<ReadOp> = chunk.iter().map(|p| ReadOp::data(p)).collect();
            client.multi_read_async(&reads)
        })
        .collect();
    let mut nodes = Vec::with_capacity(paths.len());
    for batch in batches {
        let results = match batch.wait() {
            Ok(results) => results,
            Err(e) => return (nodes, Some(e)),
        };
        for result in results {
            match result {
                Ok(ReadResult::Node(node)) => {
                    nodes.push(Some(TreeNode::new(node.value, node.stat)))
                }
                Err(e) if e.is_no_node() => nodes.push(None),
                Err(e) => return (nodes, Some(e)),
                Ok(ReadResult::Children(_)) => {
                    let reason = "children for a data read".to_string();
                    let e =
                        crate::Error::Protocol { op: "multi_read", path: String::new(), reason };
                    return (nodes, Some(e));
                }
            }
        }
    }
    (nodes, None)
}
