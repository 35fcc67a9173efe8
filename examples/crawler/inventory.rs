//! What a finished crawl left in ZooKeeper: the result records, and anything that should be
//! gone (ephemeral nodes, frontier entries). Read with pipelined calls, one round trip per
//! level of the tree.

use std::collections::BTreeMap;

use zkcluster::Client;

use crate::layout::Layout;

/// One recorded page, as its result node says.
pub struct Record {
    pub url: String,
    pub member: String,
    pub status: u16,
}

/// Every result record (pipelined reads).
pub fn results(client: &Client, layout: &Layout) -> zkcluster::Result<BTreeMap<String, Record>> {
    let names = client.get_children(&layout.results())?;
    let reads: Vec<_> =
        names.iter().map(|n| client.get_node_async(&format!("{}/{n}", layout.results()))).collect();
    let mut records = BTreeMap::new();
    for (name, read) in names.into_iter().zip(reads) {
        let node = read.wait()?;
        let v: serde_json::Value = serde_json::from_slice(&node.value).unwrap_or_default();
        let text = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or_default().to_string();
        let status = v.get("status").and_then(|s| s.as_u64()).unwrap_or(0) as u16;
        records.insert(name, Record { url: text("url"), member: text("member"), status });
    }
    Ok(records)
}

/// What a finished crawl must not leave: any ephemeral node under the root (claims, locks,
/// leases, queue holds, party and election nodes all are) and any frontier entry.
pub fn leftovers(client: &Client, layout: &Layout) -> zkcluster::Result<Vec<String>> {
    let mut found = Vec::new();
    let mut level = vec![layout.root.clone()];
    while !level.is_empty() {
        let listings: Vec<_> = level.iter().map(|p| client.get_children_async(p)).collect();
        let mut children = Vec::new();
        for (parent, listing) in level.iter().zip(listings) {
            match listing.wait() {
                Ok(names) => children.extend(names.into_iter().map(|n| format!("{parent}/{n}"))),
                Err(e) if e.is_no_node() => {}
                Err(e) => return Err(e),
            }
        }
        let stats: Vec<_> = children.iter().map(|c| client.exist_node_async(c)).collect();
        level = Vec::new();
        for (child, stat) in children.into_iter().zip(stats) {
            let Some(stat) = stat.wait()? else { continue };
            let entry = child.starts_with(&format!("{}/", layout.frontier_entries()));
            if stat.ephemeral_owner != 0 || entry {
                found.push(child.clone());
            }
            if stat.num_children > 0 {
                level.push(child);
            }
        }
    }
    Ok(found)
}
