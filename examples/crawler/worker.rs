//! One crawler worker thread: claim a URL under the frontier lock, read the configuration
//! under the read lock, fetch under the domain's semaphore, record the result.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use zkcluster::channel::{Receiver, Sender};
use zkcluster::{Client, CreateOptions, Restriction, ZookeeperRecipe};

use crate::layout::{self, Layout};
use crate::site::Site;

/// What every worker of every node shares (in one process).
pub struct Crawl {
    pub site: Site,
    pub layout: Layout,
    pub politeness: u32,
    /// Recorded completions per page (must end at exactly 1 each).
    pub completed: Vec<AtomicU32>,
    /// Fetches whose node was killed before they could be recorded.
    pub abandoned: AtomicUsize,
    /// Downloads cut short by the node's death or the loss of its lease.
    pub interrupted: AtomicUsize,
    /// Pages some worker tried to record a second time.
    pub duplicates: AtomicUsize,
    /// Configuration reads that saw the mid-run update.
    pub updated_config_reads: AtomicUsize,
}

/// A crawler node: one ZooKeeper session and its workers.
pub struct Node {
    pub name: String,
    pub client: Client,
    pub killed: AtomicBool,
    pub pages_done: AtomicUsize,
    /// Disconnected when the node is killed: cuts its downloads short, as a dying process would.
    pub alive: Receiver<()>,
    pub alive_tx: Mutex<Option<Sender<()>>>,
    /// Downloads under way right now.
    pub fetching: AtomicUsize,
}

impl Node {
    pub fn new(name: String, client: Client) -> Node {
        let (tx, rx) = zkcluster::channel::bounded(0);
        Node {
            name,
            client,
            killed: AtomicBool::new(false),
            pages_done: AtomicUsize::new(0),
            alive: rx,
            alive_tx: Mutex::new(Some(tx)),
            fetching: AtomicUsize::new(0),
        }
    }

    /// Kills the node like a crashed process: its downloads stop at once, then its session is
    /// closed without releasing anything (its claims, leases and locks go with the session).
    pub fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
        self.alive_tx.lock().unwrap_or_else(|p| p.into_inner()).take();
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while self.fetching.load(Ordering::SeqCst) > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        let _ = self.client.close();
    }
}

enum Claim {
    Page(usize),
    NothingNow,
    Finished,
}

/// Runs until every page is done or the node is killed.
pub fn run(crawl: &Crawl, node: &Node) {
    loop {
        if node.killed.load(Ordering::SeqCst) {
            return;
        }
        match work_once(crawl, node) {
            Ok(true) => {}
            Ok(false) => return,
            Err(_) if node.killed.load(Ordering::SeqCst) => return,
            Err(e) if e.is_retryable() => log::warn!("{}: retrying after {e}", node.name),
            Err(e) => {
                log::error!("{}: worker stopped: {e}", node.name);
                return;
            }
        }
    }
}

/// One claim-fetch-record cycle; false when the crawl is finished.
fn work_once(crawl: &Crawl, node: &Node) -> zkcluster::Result<bool> {
    let client = &node.client;
    match claim(crawl, node)? {
        Claim::Finished => Ok(false),
        Claim::NothingNow => {
            // Others hold the remaining pages; wait for the frontier to change (or a claim to vanish).
            let (_, changed) = client.get_children_watch(&crawl.layout.frontier())?;
            let _ = changed.recv_timeout(Duration::from_millis(50));
            Ok(true)
        }
        Claim::Page(page) => {
            fetch_and_record(crawl, node, page)?;
            Ok(true)
        }
    }
}

fn claim(crawl: &Crawl, node: &Node) -> zkcluster::Result<Claim> {
    let client = &node.client;
    let layout = &crawl.layout;
    let lock =
        client.restrict(&layout.frontier_lock(), ZookeeperRecipe::WriteLock, &node.name, None)?;
    let _guard = lock.acquire_timeout(Duration::from_secs(10))?;
    // Claims are read before done pages (ZooKeeper answers in order): a page recorded between
    // the two reads is then seen as done, never as unclaimed-and-not-done.
    let claims = client.get_children_async(&layout.claims());
    let done = client.get_children_async(&layout.done());
    let frontier = client.get_children_async(&layout.frontier());
    let (claims, done, mut frontier) = (claims.wait()?, done.wait()?, frontier.wait()?);
    if done.len() >= crawl.site.pages.len() {
        return Ok(Claim::Finished);
    }
    let claims: HashSet<String> = claims.into_iter().collect();
    let done: HashSet<String> = done.into_iter().collect();
    frontier.sort();
    let mut stale = Vec::new();
    let mut claimed = None;
    for entry in frontier {
        if done.contains(&entry) {
            stale.push(client.delete_async(&format!("{}/{entry}", layout.frontier()), None));
        } else if !claims.contains(&entry) {
            if let Some(page) = layout::page_of(&entry) {
                let claim = Layout::entry(&layout.claims(), page);
                client.create(&claim, &node.name, &CreateOptions::new().ephemeral())?;
                claimed = Some(page);
                break;
            }
        }
    }
    for pending in stale {
        let _ = pending.wait();
    }
    Ok(claimed.map_or(Claim::NothingNow, Claim::Page))
}

fn fetch_and_record(crawl: &Crawl, node: &Node, page: usize) -> zkcluster::Result<()> {
    let client = &node.client;
    let layout = &crawl.layout;
    let latency = read_latency(crawl, node)?;
    let domain = crawl.site.pages[page].domain;
    let politeness = client.restrict(
        &layout.politeness(domain),
        ZookeeperRecipe::Semaphore,
        &node.name,
        Some(crawl.politeness),
    )?;
    let links = {
        let lease = politeness.acquire_timeout(Duration::from_secs(20))?;
        // A download stops when the node dies or its lease is lost (the session ended: someone
        // else may hold the lease now), so politeness holds even then.
        let lost = lease.lost();
        node.fetching.fetch_add(1, Ordering::SeqCst);
        let fetched = crawl.site.fetch(page, latency, |took| {
            zkcluster::channel::select! {
                recv(node.alive) -> _ => true,
                recv(lost) -> _ => true,
                default(took) => false,
            }
        });
        node.fetching.fetch_sub(1, Ordering::SeqCst);
        let Some(links) = fetched.map(<[usize]>::to_vec) else {
            crawl.interrupted.fetch_add(1, Ordering::SeqCst);
            return Ok(());
        };
        if node.killed.load(Ordering::SeqCst) || !lease.is_valid() {
            // The session (and with it our claim) is gone: someone else will fetch this page.
            crawl.abandoned.fetch_add(1, Ordering::SeqCst);
            return Ok(());
        }
        links
    };
    match record(crawl, node, page, &links) {
        Ok(()) => Ok(()),
        Err(e) => {
            // Fetched but not recorded: someone must fetch it again. Our claim goes with our
            // session if the node was killed; otherwise give it back now.
            crawl.abandoned.fetch_add(1, Ordering::SeqCst);
            if !node.killed.load(Ordering::SeqCst) {
                let _ = client.delete_node(&Layout::entry(&layout.claims(), page));
            }
            Err(e)
        }
    }
}

/// Adds the new URLs (pipelined: one round trip), records the page, then cleans up.
fn record(crawl: &Crawl, node: &Node, page: usize, links: &[usize]) -> zkcluster::Result<()> {
    let client = &node.client;
    let layout = &crawl.layout;
    let adds: Vec<_> = links
        .iter()
        .map(|&l| {
            client.create_async(
                &Layout::entry(&layout.frontier(), l),
                crawl.site.url(l),
                &CreateOptions::new(),
            )
        })
        .collect();
    for add in adds {
        match add.wait() {
            Ok(_) => {}
            Err(e) if e.is_node_exists() => {}
            Err(e) => return Err(e),
        }
    }
    match client.create(&Layout::entry(&layout.done(), page), &node.name, &CreateOptions::new()) {
        Ok(_) => {
            crawl.completed[page].fetch_add(1, Ordering::SeqCst);
            node.pages_done.fetch_add(1, Ordering::SeqCst);
        }
        Err(e) if e.is_node_exists() => {
            log::error!("{}: page {page} was already recorded by another worker", node.name);
            crawl.duplicates.fetch_add(1, Ordering::SeqCst);
        }
        Err(e) => return Err(e),
    }
    // Recorded: from here on a failure only leaves a stale entry the next claim cleans up.
    let cleanup = [
        client.delete_async(&Layout::entry(&layout.frontier(), page), None),
        client.delete_async(&Layout::entry(&layout.claims(), page), None),
    ];
    for pending in cleanup {
        let _ = pending.wait();
    }
    Ok(())
}

/// Reads the shared configuration under the read lock (readers share it; the mid-run update
/// takes the write lock and waits for them).
fn read_latency(crawl: &Crawl, node: &Node) -> zkcluster::Result<Duration> {
    let client = &node.client;
    let lock = client.restrict(
        &crawl.layout.config_lock(),
        ZookeeperRecipe::ReadLock,
        &node.name,
        None,
    )?;
    let _guard = lock.acquire_timeout(Duration::from_secs(10))?;
    let config = client.get_node(&crawl.layout.config())?;
    let text = config.value_str()?;
    if text.contains("updated") {
        crawl.updated_config_reads.fetch_add(1, Ordering::SeqCst);
    }
    let millis = text
        .split(',')
        .find_map(|kv| kv.strip_prefix("latency_ms="))
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    Ok(Duration::from_millis(millis))
}
