//! The coordinator: whichever Rust member leads the `Election` at `R/election`. It publishes the
//! configuration (under the `WriteLock`), seeds the frontier once (a transaction fenced by its
//! leadership, which also creates `R/seeded`, so a successor never seeds again and never loses
//! the frontier: it lives in ZooKeeper), bumps the configuration once mid-run, and declares the
//! crawl finished once the frontier is empty. When it dies the next contender takes over.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::json;
use zkcluster::{CreateOptions, Election, Leadership, Wait};

use crate::config::{self, Config};
use crate::member::Member;

/// What the coordinator needs beyond the member: the crawl's settings.
#[derive(Debug, Clone)]
pub struct Plan {
    pub seeds: Vec<String>,
    pub politeness: u32,
    pub delay_ms: u64,
    /// After this many pages the configuration is bumped to `bumped_delay_ms`.
    pub bump_at: i64,
    pub bumped_delay_ms: u64,
}

/// Contends until the crawl is finished; leads whenever elected.
pub fn run(member: &Member, plan: &Plan) {
    let election = match Election::new(&member.client, &member.layout.election(), &member.id) {
        Ok(e) => e,
        Err(e) => {
            log::error!("{}: election: {e}", member.id);
            return;
        }
    };
    while !member.finished.load(Ordering::SeqCst) {
        match election.lead_with(Wait::Until(Instant::now() + Duration::from_secs(1))) {
            Ok(Some(leadership)) => {
                member.events.log("leader", json!({}));
                if let Err(e) = lead(member, plan, &leadership) {
                    log::warn!("{}: coordinating: {e}", member.id);
                }
            }
            Ok(None) => member.check_finished(),
            Err(e) => {
                log::warn!("{}: election: {e}", member.id);
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
}

fn lead(member: &Member, plan: &Plan, leadership: &Leadership) -> zkcluster::Result<()> {
    let client = &member.client;
    let layout = &member.layout;
    let first = Config {
        politeness: plan.politeness,
        delay_ms: plan.delay_ms,
        generation: 1,
        domains: member.domains.clone(),
    };
    if client.exist_node(&layout.config())?.is_none() {
        config::publish(client, layout, &member.id, &first)?;
    }
    if client.exist_node(&layout.seeded())?.is_none() {
        let mut seeding = leadership.transaction();
        for seed in &plan.seeds {
            seeding = seeding.create(&layout.seen(seed), "", &CreateOptions::new()).create(
                &layout.frontier_entry_prefix(),
                seed.as_str(),
                &CreateOptions::new().sequential(),
            );
        }
        match seeding.create(&layout.seeded(), "", &CreateOptions::new()).commit() {
            Ok(_) => member.events.log("seeded", json!({"seeds": plan.seeds.len()})),
            Err(e) if e.is_node_exists() => {}
            Err(e) => return Err(e),
        }
    }
    let mut bumped = false;
    while leadership.is_valid() && !member.finished.load(Ordering::SeqCst) {
        let pages = member.counter.value()?;
        if !bumped && pages >= plan.bump_at {
            bumped = true;
            let current = config::read(client, layout, &member.id)?.map(|(c, _)| c);
            if current.is_some_and(|c| c.generation == 1) {
                let bumped =
                    Config { delay_ms: plan.bumped_delay_ms, generation: 2, ..first.clone() };
                config::publish(client, layout, &member.id, &bumped)?;
                member.events.log(
                    "config_bump",
                    json!({"generation": 2, "delay_ms": plan.bumped_delay_ms, "pages": pages}),
                );
            }
        }
        if client.get_children(&layout.frontier_entries())?.is_empty() {
            match client.create(&layout.finished(), "", &CreateOptions::new()) {
                Ok(_) => member.events.log("finished", json!({"pages": pages})),
                Err(e) if e.is_node_exists() => {}
                Err(e) => return Err(e),
            }
            member.check_finished();
        }
        std::thread::sleep(Duration::from_millis(150));
    }
    Ok(())
}
