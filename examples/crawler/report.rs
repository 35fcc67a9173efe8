//! Progress while the crawl runs, and the checks and summary at the end.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use zkcluster::Client;

use crate::worker::{Crawl, Node};
use crate::Options;

pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    pub fn new(pages: u64) -> Progress {
        let bar = ProgressBar::new(pages);
        bar.set_style(
            ProgressStyle::with_template("{elapsed:>4} [{bar:30}] {pos}/{len} pages  {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        Progress { bar }
    }

    pub fn update(&self, done: u64, nodes: &[Arc<Node>], elapsed: Duration) {
        self.bar.set_position(done);
        let secs = elapsed.as_secs_f64().max(0.001);
        let rates: Vec<String> = nodes
            .iter()
            .map(|n| {
                let mark = if n.killed.load(Ordering::SeqCst) { " (killed)" } else { "" };
                format!(
                    "{} {:.0}/s{mark}",
                    n.name,
                    n.pages_done.load(Ordering::SeqCst) as f64 / secs
                )
            })
            .collect();
        self.bar.set_message(rates.join(", "));
    }

    /// A line above the bar (or on stdout when there is no terminal).
    pub fn println(&self, line: String) {
        if self.bar.is_hidden() {
            println!("{line}");
        } else {
            self.bar.println(line);
        }
    }

    pub fn finish(&self) {
        self.bar.finish();
    }
}

/// Prints the summary and runs the checks; true when all pass.
pub fn summarize(
    crawl: &Crawl,
    nodes: &[Arc<Node>],
    client: &Client,
    options: &Options,
    config_updated: bool,
    elapsed: Duration,
) -> zkcluster::Result<bool> {
    let layout = &crawl.layout;
    let pages = crawl.site.pages.len();
    println!("\ncrawled {pages} pages in {:.1} s", elapsed.as_secs_f64());
    for node in nodes {
        let state = if node.killed.load(Ordering::SeqCst) { "killed mid-run" } else { "finished" };
        println!("  {}: {} pages ({state})", node.name, node.pages_done.load(Ordering::SeqCst));
    }
    let abandoned = crawl.abandoned.load(Ordering::SeqCst);
    let fetches: u64 = (0..pages).map(|p| u64::from(crawl.site.fetch_count(p))).sum();
    let interrupted = crawl.interrupted.load(Ordering::SeqCst);
    println!(
        "  fetches: {fetches} completed ({abandoned} not recorded because their node died, \
         {interrupted} more cut short by it; all redone by others)"
    );

    let mut checks: Vec<(String, bool)> = Vec::new();
    let recorded = client.get_children(&layout.done())?.len();
    let once = (0..pages).filter(|&p| crawl.completed[p].load(Ordering::SeqCst) == 1).count();
    let duplicates = crawl.duplicates.load(Ordering::SeqCst);
    checks.push((format!("every page recorded exactly once ({recorded}/{pages} recorded, {once} once, {duplicates} twice)"),
        recorded == pages && once == pages && duplicates == 0));
    checks.push((
        format!("every fetch accounted for ({fetches} = {pages} + {abandoned} abandoned)"),
        fetches == (pages + abandoned) as u64,
    ));
    let worst = (0..crawl.site.domains).map(|d| crawl.site.max_concurrency(d)).max().unwrap_or(0);
    checks.push((
        format!(
            "politeness: at most {worst} concurrent fetches per domain (limit {})",
            options.politeness
        ),
        worst <= options.politeness && worst > 0,
    ));
    if options.kill {
        let victim_claims = nodes.first().map_or(0, |n| n.pages_done.load(Ordering::SeqCst));
        checks.push((format!("the killed node's work was recovered (it recorded {victim_claims}, others the rest)"),
            recorded == pages));
    }
    if config_updated {
        let reads = crawl.updated_config_reads.load(Ordering::SeqCst);
        checks.push((
            format!("the mid-run configuration update was read by the workers ({reads} reads)"),
            reads > 0,
        ));
    }
    let mut leftovers = Vec::new();
    let mut dirs = vec![layout.frontier_lock(), layout.config_lock(), layout.claims()];
    for d in 0..crawl.site.domains {
        dirs.push(layout.politeness(d));
        dirs.push(format!("{}-__lock__", layout.politeness(d)));
    }
    for dir in dirs {
        match client.get_children(&dir) {
            Ok(children) => leftovers.extend(children.into_iter().map(|c| format!("{dir}/{c}"))),
            Err(e) if e.is_no_node() => {}
            Err(e) => return Err(e),
        }
    }
    checks.push((
        format!("no lock, lease or claim node left behind ({} found)", leftovers.len()),
        leftovers.is_empty(),
    ));
    for leftover in leftovers.iter().take(5) {
        println!("    left behind: {leftover}");
    }
    println!("checks:");
    for (what, ok) in &checks {
        println!("  [{}] {what}", if *ok { "ok" } else { "FAILED" });
    }
    let all = checks.iter().all(|(_, ok)| *ok);
    println!("{}", if all { "all checks passed" } else { "SOME CHECKS FAILED" });
    Ok(all)
}
