//! The crawl configuration at `R/config` (crawl-spec.md): JSON written by the coordinator under
//! the `WriteLock` at `R/config-lock`, read by every member under the `ReadLock`. `politeness`
//! never changes during a run (Kazoo's Semaphore refuses a changed `max_leases`); the
//! coordinator bumps `generation` once mid-run and sets a new `delay_ms`. `domains` (the
//! site's `host:port` names) tells crawlers which links to follow.

use std::sync::Mutex;
use std::time::Duration;

use serde_json::{json, Value};
use zkcluster::channel::Receiver;
use zkcluster::{Client, Restriction, WatchedEvent, ZookeeperRecipe};

use crate::layout::Layout;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub politeness: u32,
    pub delay_ms: u64,
    pub generation: u64,
    pub domains: Vec<String>,
}

impl Config {
    pub fn to_json(&self) -> String {
        json!({"politeness": self.politeness, "delay_ms": self.delay_ms,
               "generation": self.generation, "domains": self.domains})
        .to_string()
    }

    pub fn parse(data: &[u8]) -> Option<Config> {
        let v: Value = serde_json::from_slice(data).ok()?;
        Some(Config {
            politeness: u32::try_from(v.get("politeness")?.as_u64()?).ok()?,
            delay_ms: v.get("delay_ms")?.as_u64()?,
            generation: v.get("generation")?.as_u64()?,
            domains: v
                .get("domains")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|d| d.as_str().map(str::to_string)).collect())
                .unwrap_or_default(),
        })
    }
}

/// Writes the configuration under the write lock (fenced by it: a writer that lost the lock
/// writes nothing).
pub fn publish(
    client: &Client,
    layout: &Layout,
    id: &str,
    config: &Config,
) -> zkcluster::Result<()> {
    let lock = client.restrict(&layout.config_lock(), ZookeeperRecipe::WriteLock, id, None)?;
    let guard = lock.acquire_timeout(Duration::from_secs(10))?;
    match guard.set_value_to_node(&layout.config(), config.to_json()) {
        Err(e) if e.is_no_node() => {
            guard.create_node(&layout.config(), config.to_json())?;
        }
        other => {
            other?;
        }
    }
    guard.release()
}

/// Reads the configuration under the read lock; `None` while it is not published yet.
pub fn read(
    client: &Client,
    layout: &Layout,
    id: &str,
) -> zkcluster::Result<Option<(Config, Receiver<WatchedEvent>)>> {
    let lock = client.restrict(&layout.config_lock(), ZookeeperRecipe::ReadLock, id, None)?;
    let guard = lock.acquire_timeout(Duration::from_secs(10))?;
    let read = match client.get_node_watch(&layout.config()) {
        Ok((node, watch)) => Config::parse(&node.value).map(|c| (c, watch)),
        Err(e) if e.is_no_node() => None,
        Err(e) => return Err(e),
    };
    guard.release()?;
    Ok(read)
}

/// A member's view of the configuration, shared by its workers: re-read before a batch of
/// pages (every [`BATCH`] pages, and as soon as the data watch fires).
pub struct ConfigView {
    state: Mutex<Option<(Config, Receiver<WatchedEvent>)>>,
}

pub const BATCH: usize = 20;

impl ConfigView {
    pub fn new() -> ConfigView {
        ConfigView { state: Mutex::new(None) }
    }

    /// The configuration to use for the next fetch; re-read under the read lock when
    /// `batch_done` or the watch fired. Returns the new generation too when it changed.
    pub fn current(
        &self,
        client: &Client,
        layout: &Layout,
        id: &str,
        batch_done: bool,
    ) -> zkcluster::Result<(Option<Config>, Option<Config>)> {
        let known = {
            let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            match &*state {
                Some((config, watch)) if !batch_done && watch.is_empty() => {
                    return Ok((Some(config.clone()), None))
                }
                other => other.as_ref().map(|(c, _)| c.clone()),
            }
        };
        let read = read(client, layout, id)?;
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let config = read.as_ref().map(|(c, _)| c.clone());
        let changed =
            config.clone().filter(|c| known.as_ref().map(|k| k.generation) != Some(c.generation));
        if read.is_some() {
            *state = read;
        }
        Ok((config.or(known), changed))
    }
}
