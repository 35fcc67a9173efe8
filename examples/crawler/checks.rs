//! The checks at the end of a crawl, against what the orchestrator knows independently of the
//! crawlers: the site's graph (which pages are reachable), the HTTP servers' own measurements
//! (requests in flight per domain), the faults it injected, and what is left in ZooKeeper.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::events::Event;
use crate::fleet::Proc;
use crate::http::Stats;
use crate::inventory::Record;
use crate::layout;
use crate::options::Options;
use crate::site::Site;

/// Everything the checks look at.
pub struct Outcome<'a> {
    pub options: &'a Options,
    pub site: &'a Site,
    pub reachable: &'a BTreeSet<String>,
    pub events: &'a [Event],
    pub unparsed: usize,
    pub stats: &'a Stats,
    /// Result records by node name (URL key).
    pub results: &'a BTreeMap<String, Record>,
    pub counter: i64,
    pub leftovers: &'a [String],
    pub fleet: &'a [Proc],
    pub timed_out: bool,
    pub zk_fault: bool,
}

struct Check {
    passed: bool,
    what: String,
    detail: String,
}

fn check(checks: &mut Vec<Check>, passed: bool, what: &str, detail: String) {
    checks.push(Check { passed, what: what.to_string(), detail });
}

fn first<T: std::fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    let items: Vec<String> = items.into_iter().map(|i| i.to_string()).collect();
    match items.len() {
        0 => String::new(),
        n if n <= 3 => format!(": {}", items.join(", ")),
        n => format!(": {}, ... ({n})", items[..3].join(", ")),
    }
}

/// Pages each member recorded after `t`.
fn pages_after(events: &[Event], t: u64) -> BTreeMap<&str, usize> {
    let mut pages = BTreeMap::new();
    for e in events.iter().filter(|e| e.kind == "fetch" && e.t > t) {
        *pages.entry(e.member.as_str()).or_default() += 1;
    }
    pages
}

/// Prints the crawl's figures and the table of checks; true when all pass.
pub fn report(o: &Outcome) -> bool {
    fn of_kind<'e>(events: &'e [Event], k: &'static str) -> impl Iterator<Item = &'e Event> {
        events.iter().filter(move |e| e.kind == k)
    }
    let kind = |k: &'static str| of_kind(o.events, k);
    let faults =
        |f: &str| kind("fault").filter(|e| e.fault.as_deref() == Some(f)).collect::<Vec<_>>();

    // Per crawler: pages recorded, how it ended.
    let mut pages: BTreeMap<&str, usize> = BTreeMap::new();
    for e in kind("fetch") {
        *pages.entry(e.member.as_str()).or_default() += 1;
    }
    for p in o.fleet {
        let end = match p.exit {
            Some(s) if s.success() => "finished".to_string(),
            Some(s) => format!("ended: {s}"),
            None => "still running".into(),
        };
        println!(
            "  {:<8} {:>4} pages  {end}",
            p.id,
            pages.get(p.id.as_str()).copied().unwrap_or(0)
        );
    }
    let requests: usize =
        o.stats.domains.iter().map(|d| d.requests.load(std::sync::atomic::Ordering::SeqCst)).sum();
    let recovered = kind("recovered").count();
    println!(
        "  HTTP requests at the site: {requests} for {} pages ({} fetched again after a fault), {recovered} recovered",
        o.results.len(),
        requests.saturating_sub(o.results.len())
    );

    let mut checks = Vec::new();
    let keys: HashMap<String, &String> = o.reachable.iter().map(|u| (layout::key(u), u)).collect();
    let missing: Vec<&&String> =
        keys.iter().filter(|(k, _)| !o.results.contains_key(*k)).map(|(_, u)| u).collect();
    let extra: Vec<&str> = o
        .results
        .iter()
        .filter(|(k, _)| !keys.contains_key(*k))
        .map(|(_, r)| r.url.as_str())
        .collect();
    let mismatched = o.results.iter().filter(|(k, r)| layout::key(&r.url) != **k).count();
    let mut commits: HashMap<&str, usize> = HashMap::new();
    for e in kind("fetch") {
        *commits.entry(e.url.as_deref().unwrap_or_default()).or_default() += 1;
    }
    let twice: Vec<&&str> = commits.iter().filter(|(_, n)| **n > 1).map(|(u, _)| u).collect();
    check(
        &mut checks,
        missing.is_empty() && extra.is_empty() && twice.is_empty() && mismatched == 0,
        "every reachable page recorded exactly once",
        format!(
            "{}/{} recorded; missing {}{}, unreachable recorded {}{}, committed twice {}{}",
            o.results.len() - extra.len(),
            o.reachable.len(),
            missing.len(),
            first(missing.iter()),
            extra.len(),
            first(extra.iter()),
            twice.len(),
            first(twice.iter())
        ),
    );
    let statuses_ok = o.results.values().all(|r| match o.site.page_of_url(&r.url) {
        Some(p) => r.status == o.site.pages[p].status,
        None => r.status == 404,
    });
    let mut by_status: BTreeMap<u16, usize> = BTreeMap::new();
    for r in o.results.values() {
        *by_status.entry(r.status).or_default() += 1;
    }
    let statuses: Vec<String> = by_status.iter().map(|(s, n)| format!("{n} x {s}")).collect();
    check(
        &mut checks,
        statuses_ok,
        "every record has the status the site served",
        statuses.join(", "),
    );

    let worst: Vec<usize> = o
        .stats
        .domains
        .iter()
        .map(|d| d.max_in_flight.load(std::sync::atomic::Ordering::SeqCst))
        .collect();
    let max = worst.iter().copied().max().unwrap_or(0);
    // A member stopped between its lease check and its request sends that request when it
    // wakes up, on a lease its session lost meanwhile: no client-side check can rule that out
    // (leases are time-bound, and a web server takes no fencing token). The member reports
    // such fetches (`late_fetch`); an excess is allowed only as far as those explain it (the
    // other requests in flight then were within the limit), any other fails.
    let late: Vec<(&str, &str)> =
        kind("late_fetch").filter_map(|e| Some((e.member.as_str(), e.url.as_deref()?))).collect();
    let excess = o.stats.excess.lock().unwrap_or_else(|p| p.into_inner());
    let woke = |(m, path, _): &(String, String, u64)| {
        late.iter().any(|(lm, url)| lm == m && url.ends_with(path.as_str()))
    };
    let limit = o.options.politeness as usize;
    let unexplained: Vec<_> = excess
        .iter()
        .filter(|(_, active)| active.iter().filter(|r| !woke(r)).count() > limit)
        .collect();
    for (domain, active) in unexplained.iter().take(5) {
        println!("  over the limit on {}: {active:?}", o.site.domains[*domain]);
    }
    let late_sent: std::collections::BTreeSet<String> = excess
        .iter()
        .flat_map(|(_, a)| a.iter().filter(|r| woke(r)).map(|r| format!("{}{}", r.0, r.1)))
        .collect();
    check(
        &mut checks,
        unexplained.is_empty() && max > 0,
        "politeness held by every live lease (measured at the HTTP servers)",
        format!(
            "most requests in flight per domain {worst:?}, limit {}{}",
            o.options.politeness,
            if late_sent.is_empty() {
                String::new()
            } else {
                format!(
                    "; exceeded only by {} request(s) the paused member sent as it woke, on a lease \
                     its session had lost",
                    late_sent.len()
                )
            }
        ),
    );
    drop(excess);

    // The coordinator's mid-run configuration change: seen by the crawlers (each re-reads it
    // when its data watch fires and every config::BATCH pages per worker).
    let bump = kind("config_bump").next();
    let saw: BTreeSet<&str> = match bump {
        Some(b) => kind("config").filter(|e| e.t >= b.t).map(|e| e.member.as_str()).collect(),
        None => BTreeSet::new(),
    };
    let batch = crate::config::BATCH * o.options.workers;
    let missed: Vec<&str> = match bump {
        Some(b) => pages_after(o.events, b.t)
            .into_iter()
            .filter(|(m, n)| *n > batch && !saw.contains(m))
            .map(|(m, _)| m)
            .collect(),
        None => Vec::new(),
    };
    check(
        &mut checks,
        bump.is_some() && !saw.is_empty() && missed.is_empty(),
        "the configuration changed mid-run reached the crawlers",
        match bump {
            Some(b) => {
                format!("bumped by {}; seen by {}{}", b.member, saw.len(), first(missed.iter()))
            }
            None => "never bumped".into(),
        },
    );

    let paused = faults("pause");
    if o.options.faults {
        let stale: Vec<&Event> = kind("stale_rejected").collect();
        let by_paused = stale
            .iter()
            .filter(|e| paused.iter().any(|p| p.target.as_deref() == Some(e.member.as_str())))
            .count();
        check(
            &mut checks,
            !paused.is_empty() && by_paused > 0,
            "a member paused past its session timeout had its late write rejected",
            match paused.first() {
                Some(p) => {
                    let client = stale.iter().filter(|e| e.by.as_deref() == Some("client")).count();
                    format!(
                        "{} stopped mid-fetch; {by_paused} fenced commit(s) of it refused, {} \
                         by the server (the claim node was gone), {} by the client (session known \
                         lost)",
                        p.target.as_deref().unwrap_or("?"),
                        stale.len() - client,
                        client
                    )
                }
                None => "the pause never fired".into(),
            },
        );
        let kills = faults("kill");
        let taken_over = kills.first().and_then(|k| {
            kind("leader").find(|l| l.t > k.t && Some(l.member.as_str()) != k.target.as_deref())
        });
        check(
            &mut checks,
            taken_over.is_some(),
            "leadership changed after the coordinator was killed",
            match (kills.first(), taken_over) {
                (Some(k), Some(l)) => format!(
                    "{} killed, {} coordinates {:.1} s later",
                    k.target.as_deref().unwrap_or("?"),
                    l.member,
                    (l.t - k.t) as f64 / 1000.0
                ),
                (Some(k), None) => {
                    format!("{} killed, nobody took over", k.target.as_deref().unwrap_or("?"))
                }
                _ => "the kill never fired".into(),
            },
        );
    }
    if o.options.ensemble {
        check(
            &mut checks,
            o.zk_fault,
            "ZooKeeper leader killed mid-run and restarted",
            String::new(),
        );
    }
    // Rust members count a page in its fenced commit: exact. Kazoo's Counter retries a write
    // cut off by a connection loss and may count a page twice; the only connection losses of a
    // run come from the ZooKeeper leader kill, at most one write in flight per Kazoo worker.
    let records = o.results.len() as i64;
    let kazoo_doubles = if o.zk_fault { (o.options.kazoo * o.options.workers) as i64 } else { 0 };
    let over = o.counter - records;
    check(
        &mut checks,
        over == 0 || (over > 0 && over <= kazoo_doubles),
        "page counter equals the pages recorded",
        if over > 0 && over <= kazoo_doubles {
            format!(
                "counter {}, records {records}: Kazoo's Counter counted {over} page(s) twice, \
                 retrying a write the ZooKeeper leader kill cut off (the Rust members count in \
                 their fenced commit)",
                o.counter
            )
        } else {
            format!("counter {}, records {records}", o.counter)
        },
    );
    if o.options.kazoo > 0 {
        let kazoo =
            pages.iter().filter(|(m, _)| m.starts_with("kazoo-")).map(|(_, n)| n).sum::<usize>();
        let by_records = o.results.values().filter(|r| r.member.starts_with("kazoo-")).count();
        check(
            &mut checks,
            kazoo > 0 && by_records == kazoo,
            "the Kazoo crawlers shared the crawl",
            format!("{kazoo} pages recorded by Kazoo crawlers"),
        );
    }
    check(
        &mut checks,
        o.leftovers.is_empty(),
        "nothing left behind (claims, locks, leases, queue holds, party, frontier)",
        format!("{} node(s){}", o.leftovers.len(), first(o.leftovers.iter())),
    );
    let killed: Vec<&str> = faults("kill").iter().filter_map(|k| k.target.as_deref()).collect();
    let bad: Vec<String> = o
        .fleet
        .iter()
        .filter(|p| !killed.contains(&p.id.as_str()) && !p.exit.is_some_and(|s| s.success()))
        .map(|p| p.id.clone())
        .collect();
    check(
        &mut checks,
        bad.is_empty() && !o.timed_out && o.unparsed == 0,
        "every crawler not killed finished cleanly",
        format!(
            "{}{} of {} with a problem{}",
            if o.timed_out { "timed out; " } else { "" },
            bad.len(),
            o.fleet.len(),
            first(bad.iter())
        ),
    );

    println!();
    let width = checks.iter().map(|c| c.what.len()).max().unwrap_or(0);
    for c in &checks {
        let mark = if c.passed { "PASS" } else { "FAIL" };
        println!("  {mark}  {:<width$}  {}", c.what, c.detail);
    }
    let passed = checks.iter().all(|c| c.passed);
    if passed {
        println!("\nall checks passed");
    } else {
        println!("\nSOME CHECKS FAILED");
    }
    passed
}
