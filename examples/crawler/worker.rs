//! One worker thread of a Rust member: the item loop of crawl-spec.md. Take a URL from the
//! frontier (a `LockingQueue`), claim it (a `WriteLock` per URL), fetch it under its domain's
//! `Semaphore`, and commit the page with ONE transaction fenced by the claim: the result
//! record, and for every new link its `seen` marker and frontier entry. A worker whose claim
//! was lost meanwhile (its session expired while it was stopped) gets the commit refused and
//! nothing of its late work is applied.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::json;
use zkcluster::{
    CreateOptions, Guard, GuardStatus, QueueItem, Restriction, ZookeeperRecipe,
    ZookeeperRecipeRestriction,
};

use crate::events::now_ms;
use crate::member::Member;

/// How long a worker waits for a claim before giving the URL back.
const CLAIM_WAIT: Duration = Duration::from_secs(3);
/// How long it waits for its domain's lease.
const LEASE_WAIT: Duration = Duration::from_secs(60);
/// A fetch starts only if its lease surely lasts this much longer.
const LEASE_MARGIN: Duration = Duration::from_millis(500);

pub fn run(member: &Member) {
    let mut leases: HashMap<String, ZookeeperRecipeRestriction> = HashMap::new();
    let mut since_read = 0;
    while !member.finished.load(Ordering::SeqCst) {
        let (config, changed) = match member.config.current(
            &member.client,
            &member.layout,
            &member.id,
            since_read >= crate::config::BATCH,
        ) {
            Ok(read) => read,
            Err(e) => {
                log::warn!("{}: reading the configuration: {e}", member.id);
                std::thread::sleep(Duration::from_millis(200));
                continue;
            }
        };
        if since_read >= crate::config::BATCH {
            since_read = 0;
        }
        if let Some(c) = changed {
            member
                .events
                .log("config", json!({"generation": c.generation, "delay_ms": c.delay_ms}));
        }
        let Some(config) = config else {
            std::thread::sleep(Duration::from_millis(100)); // not published yet
            member.check_finished();
            continue;
        };
        match member.queue.get_timeout(Duration::from_secs(1)) {
            Ok(Some(item)) => {
                if let Err(e) = process(member, item, config.politeness, &mut leases) {
                    log::warn!("{}: item failed, back to the frontier: {e}", member.id);
                    std::thread::sleep(Duration::from_millis(100));
                }
                since_read += 1;
                std::thread::sleep(Duration::from_millis(config.delay_ms));
            }
            Ok(None) => member.check_finished(),
            Err(e) => {
                log::warn!("{}: taking from the frontier: {e}", member.id);
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
}

/// Steps 2 to 7 of the spec for one item. An error drops the item (back to the frontier).
fn process(
    member: &Member,
    mut item: QueueItem,
    politeness: u32,
    leases: &mut HashMap<String, ZookeeperRecipeRestriction>,
) -> zkcluster::Result<()> {
    let client = &member.client;
    let layout = &member.layout;
    let url = String::from_utf8_lossy(item.data()).into_owned();
    let domain = crate::layout::authority(&url).unwrap_or_default().to_string();

    let claim =
        client.restrict(&layout.claim(&url), ZookeeperRecipe::WriteLock, &member.id, None)?;
    let guard = match claim.acquire_timeout(CLAIM_WAIT) {
        Ok(guard) => guard,
        Err(e) if e.is_timeout() => {
            item.release()?;
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    if client.exist_node(&layout.result(&url))?.is_some() {
        // A predecessor committed this page and died before consuming the item.
        item.consume()?;
        guard.release()?;
        member.events.log("recovered", json!({"url": url}));
        return Ok(());
    }

    let semaphore = match leases.get(&domain) {
        Some(s) => s,
        None => {
            let s = client.restrict(
                &layout.politeness(&domain),
                ZookeeperRecipe::Semaphore,
                &member.id,
                Some(politeness),
            )?;
            leases.entry(domain.clone()).or_insert(s)
        }
    };
    let (fetched, start, end) = {
        let lease = semaphore.acquire_timeout(LEASE_WAIT)?;
        // A lease is only as good as its session: after a long stop (SIGSTOP, GC-like pause)
        // the session may be gone and the slot taken by someone else. Fetch only while the
        // lease surely lasts; otherwise give the URL back.
        let lasts =
            || lease.valid_until().is_some_and(|until| Instant::now() + LEASE_MARGIN < until);
        let start = now_ms();
        let Some(fetched) = member.fetcher.get(&url, lasts) else {
            member.events.log("lease_uncertain", json!({"url": url}));
            return Ok(()); // the item and the claim are dropped: back to the frontier
        };
        if !lease.is_valid() {
            // Stopped during the fetch past the lease's deadline: the request may have gone
            // out on a lease someone else holds now (the politeness check looks for these).
            member.events.log("late_fetch", json!({"url": url, "domain": domain}));
        }
        (fetched, start, now_ms())
    }; // the lease goes as soon as the body is read
    let links = if fetched.status == 200 {
        crate::links::extract(&fetched.body, &domain, &member.domains)
    } else {
        Vec::new()
    };
    let token = guard.fencing_token();
    let record = json!({"url": url, "member": member.id, "token": token, "status": fetched.status, "links": links.len()});
    let outcome = match commit(member, &guard, &url, &record.to_string(), &links, token) {
        Ok(outcome) => outcome,
        // A read before the commit failed because the session ended: the commit would have
        // been refused (nothing was sent).
        Err(error) if guard.status() == GuardStatus::Lost => {
            Commit::Refused { by: "client", error }
        }
        Err(e) => return Err(e),
    };
    if let Commit::Refused { by, error } = outcome {
        member.events.log(
            "stale_rejected",
            json!({"url": url, "token": token, "domain": domain, "start": start, "end": end,
                   "by": by, "error": error.to_string()}),
        );
        return Ok(()); // the claim is gone: someone else does (or did) this page
    }
    item.consume()?;
    guard.release()?;
    member.pages.fetch_add(1, Ordering::SeqCst);
    member.events.log(
        "fetch",
        json!({"url": url, "domain": domain, "start": start, "end": end, "status": fetched.status, "token": token}),
    );
    Ok(())
}

/// The fenced commit of a page (spec step 6), retried while links became seen meanwhile, the
/// page counter moved, or the connection broke (a commit whose reply was lost counts if its
/// record is there with our token).
///
/// The page is counted in the same transaction (spec step 7, done atomically with step 6): a
/// compare-and-set of `R/pages` staged by the `Counter` (`Counter::stage`), so the count is
/// exact even when a ZooKeeper leader dies under the write. A separate `Counter::add` cut off by a connection
/// loss has an unknown outcome (zkcluster's fails rather than guess; Kazoo's retries and may
/// count twice), and then the count and the records drift apart.
fn commit(
    member: &Member,
    guard: &Guard,
    url: &str,
    record: &str,
    links: &[String],
    token: i64,
) -> zkcluster::Result<Commit> {
    let client = &member.client;
    let layout = &member.layout;
    let mut unique: Vec<&String> = Vec::new();
    for link in links {
        if !unique.contains(&link) && link != url {
            unique.push(link);
        }
    }
    for _ in 0..100 {
        let seen: Vec<_> =
            unique.iter().map(|l| client.exist_node_async(&layout.seen(l))).collect();
        let mut new = Vec::new();
        for (link, pending) in unique.iter().zip(seen) {
            if pending.wait()?.is_none() {
                new.push(*link);
            }
        }
        // The page count's compare-and-set, in the same transaction as the record.
        let counted = member.counter.stage(1)?;
        let mut transaction = counted.add_to(guard.transaction().create(
            &layout.result(url),
            record,
            &CreateOptions::new(),
        ));
        for link in &new {
            transaction = transaction.create(&layout.seen(link), "", &CreateOptions::new()).create(
                &layout.frontier_entry_prefix(),
                link.as_str(),
                &CreateOptions::new().sequential(),
            );
        }
        // Whether the client already knows the session is gone (then it refuses the commit
        // itself, sending nothing); otherwise the server's check of the claim node decides.
        let by = if guard.status() == GuardStatus::Lost { "client" } else { "server" };
        match transaction.commit() {
            Ok(_) => return Ok(Commit::Done),
            Err(error) if error.is_lock_lost() => return Ok(Commit::Refused { by, error }),
            // A link was seen meanwhile, or another page was counted: look again.
            Err(e) if e.is_node_exists() || e.is_bad_version() => continue,
            Err(e) if e.is_connection_loss() || e.is_timeout() => {
                std::thread::sleep(Duration::from_millis(200));
                match client.get_node(&layout.result(url)) {
                    Ok(node) if record_token(&node.value) == Some(token) => {
                        return Ok(Commit::Done)
                    }
                    Ok(_) => return Err(e), // someone else's record: ours was not applied
                    Err(read) if read.is_no_node() => continue,
                    Err(read) => return Err(read),
                }
            }
            Err(e) => return Err(e),
        }
    }
    Err(zkcluster::Error::InvalidArgument {
        path: layout.result(url),
        reason: format!("{url}: the commit kept conflicting"),
    })
}

enum Commit {
    Done,
    /// The claim was lost: nothing was applied. `by` says who refused it.
    Refused {
        by: &'static str,
        error: zkcluster::Error,
    },
}

fn record_token(data: &[u8]) -> Option<i64> {
    serde_json::from_slice::<serde_json::Value>(data).ok()?.get("token")?.as_i64()
}
