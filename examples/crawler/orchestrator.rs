//! The orchestrator: starts ZooKeeper, the site and the crawler processes, injects the faults
//! while showing progress, then checks the crawl and draws its timeline.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use zkcluster::testing::{TestingCluster, TestingServer};
use zkcluster::{Client, Counter, Election};

use crate::checks::{self, Outcome};
use crate::events::EventLog;
use crate::faults::Faults;
use crate::fleet::{self, Fleet, Shared};
use crate::http::SiteServers;
use crate::inventory;
use crate::layout::Layout;
use crate::options::{target_dir, Options};
use crate::progress::Progress;
use crate::schedule::{arm_member_faults, zookeeper_fault, Schedule};
use crate::site::Site;

/// The ZooKeeper of the run; ours are stopped when dropped.
enum ZooKeeper {
    Yours,
    Server(#[allow(dead_code)] TestingServer),
    Cluster(TestingCluster),
}

pub fn main(options: &Options) -> i32 {
    match run(options) {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(e) => {
            eprintln!("crawl failed: {e}");
            1
        }
    }
}

fn start_zookeeper(options: &Options) -> Result<(ZooKeeper, String), String> {
    if options.ensemble {
        let cluster = TestingCluster::start(3).map_err(|e| {
            format!("cannot start a 3-member ZooKeeper ensemble: {e} (install ZooKeeper with scripts/install-zookeeper.sh)")
        })?;
        let hosts = cluster.connect_string();
        println!("started a 3-member ZooKeeper ensemble at {hosts}");
        return Ok((ZooKeeper::Cluster(cluster), hosts));
    }
    if let Ok(hosts) = std::env::var("ZK_CONNECT") {
        return Ok((ZooKeeper::Yours, hosts));
    }
    let server = TestingServer::start_or_install()
        .map_err(|e| format!("cannot start a local ZooKeeper: {e}"))?;
    let hosts = server.connect_string();
    println!("started a local ZooKeeper at {hosts}");
    Ok((ZooKeeper::Server(server), hosts))
}

fn run(options: &Options) -> Result<bool, Box<dyn std::error::Error>> {
    let (mut zk, hosts) = start_zookeeper(options)?;
    let (mut servers, domains) = SiteServers::bind(options.domains)?;
    let site = Arc::new(Site::generate(options.pages, domains, 42));
    let reachable = site.reachable();
    let fault_cell = Arc::new(OnceLock::new());
    servers.stats.limit.store(options.politeness as usize, std::sync::atomic::Ordering::SeqCst);
    servers.serve(site.clone(), fault_cell.clone());

    let run_dir = target_dir().join("crawl-runs").join(&options.run_id);
    let events_dir = run_dir.join("events");
    std::fs::create_dir_all(&events_dir)?;
    let log = Arc::new(EventLog::open(&events_dir, "orchestrator")?);
    let faults = Arc::new(Faults::new(log.clone(), options.session_timeout));
    let _ = fault_cell.set(faults.clone());

    let client = Client::builder(&hosts)
        .session_timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(30))
        .request_timeout(Duration::from_secs(10))
        .connect()?;
    let layout = Layout::new(&format!("/zkcluster-demo/{}", options.run_id));
    client.ensure_path(&layout.root)?;
    let total = reachable.len();
    println!(
        "crawling a site of {} pages on {} domains ({} reachable from {} seeds, {} orphans) with {} Rust \
         member(s){} x {} workers, politeness {} per domain, under {}",
        site.pages.len(),
        site.domains.len(),
        total,
        site.seeds().len(),
        site.orphans,
        options.members,
        if options.kazoo > 0 { format!(" and {} Kazoo crawler(s)", options.kazoo) } else { String::new() },
        options.workers,
        options.politeness,
        layout.root
    );
    println!(
        "site: {}",
        site.domains.iter().map(|d| format!("http://{d}/")).collect::<Vec<_>>().join(" ")
    );
    println!("events and member logs: {}", run_dir.display());

    let python = if options.kazoo > 0 { Some(fleet::kazoo_python()?) } else { None };
    let shared = Shared {
        hosts: hosts.clone(),
        root: layout.root.clone(),
        events: events_dir.clone(),
        logs: run_dir.clone(),
        workers: options.workers,
        session_timeout: options.session_timeout,
        plan_args: [
            ("--seeds", site.seeds().join(",")),
            ("--politeness", options.politeness.to_string()),
            ("--delay-ms", "60".into()),
            ("--bump-at", (total / 2).to_string()),
            ("--bumped-delay-ms", "10".into()),
        ]
        .into_iter()
        .flat_map(|(k, v)| [k.to_string(), v])
        .collect(),
    };
    let started = Instant::now();
    let mut fleet = Fleet::new();
    for i in 0..options.members {
        fleet.spawn_rust(i, &shared)?;
    }
    if let Some(python) = &python {
        for i in 0..options.kazoo {
            fleet.spawn_kazoo(i, python, &shared)?;
        }
    }
    for p in &fleet.procs {
        faults.register(&p.id, p.pid());
    }

    let started_ms = crate::events::now_ms();
    let progress = Progress::new(total as u64);
    let counter = Counter::new(&client, &layout.pages())?;
    let election = Election::new(&client, &layout.election(), "orchestrator")?;
    let deadline = started + Duration::from_secs(60) + Duration::from_millis(600 * total as u64);
    let mut schedule = Schedule::default();
    let mut leader = None;
    let mut timed_out = false;
    while !fleet.poll() {
        std::thread::sleep(Duration::from_millis(100));
        let pages = counter.value().unwrap_or(0).max(0) as usize;
        let now_leader = election.leader().ok().flatten();
        if now_leader.is_some() && now_leader != leader {
            progress.println(format!("coordinator: {}", now_leader.as_deref().unwrap_or("-")));
            leader = now_leader;
        }
        // A new ZooKeeper leader is serving once pages are recorded again.
        let zk_settled = !options.ensemble
            || schedule.zk_killed.is_some_and(|(_, _, pages_then)| pages >= pages_then + 3);
        if options.faults && zk_settled {
            arm_member_faults(
                &mut schedule,
                &faults,
                &fleet,
                leader.as_deref(),
                pages,
                total,
                &progress,
            );
        }
        if let ZooKeeper::Cluster(cluster) = &mut zk {
            zookeeper_fault(&mut schedule, cluster, &log, pages, total, &progress);
        }
        let exited: Vec<String> = fleet
            .procs
            .iter()
            .filter(|p| p.exit.is_some())
            .map(|p| format!("{} exited", p.id))
            .collect();
        let paused: Vec<String> =
            faults.paused().into_iter().map(|m| format!("{m} paused")).collect();
        let mut message = vec![format!("coordinator {}", leader.as_deref().unwrap_or("-"))];
        message.extend(paused);
        message.extend(exited);
        if schedule.zk_killed.is_some() && !schedule.zk_restarted {
            message.push("ZooKeeper leader down".into());
        }
        progress.update(pages as u64, message.join(" · "));
        if Instant::now() > deadline {
            timed_out = true;
            progress.println("the crawl did not finish in time: stopping the crawlers");
            fleet.kill_all();
        }
    }
    if let ZooKeeper::Cluster(cluster) = &mut zk {
        if let Some((i, _, _)) = schedule.zk_killed.filter(|_| !schedule.zk_restarted) {
            cluster.member_mut(i).restart()?;
            schedule.zk_restarted = true;
        }
    }
    progress.finish();
    let elapsed = started.elapsed();
    let stats = servers.stats.clone();
    servers.stop();

    // The killed member's session outlives it by its timeout: wait for it before looking for
    // leftovers.
    let ephemerals_deadline = Instant::now() + options.session_timeout * 2 + Duration::from_secs(5);
    let mut leftovers = inventory::leftovers(&client, &layout)?;
    while !leftovers.is_empty() && Instant::now() < ephemerals_deadline {
        std::thread::sleep(Duration::from_millis(250));
        leftovers = inventory::leftovers(&client, &layout)?;
    }
    let results = inventory::results(&client, &layout)?;
    let counted = counter.value()?;
    let (events, unparsed) = crate::events::read_all(&events_dir)?;
    let outcome = Outcome {
        options,
        site: &site,
        reachable: &reachable,
        events: &events,
        unparsed,
        stats: &stats,
        results: &results,
        counter: counted,
        leftovers: &leftovers,
        fleet: &fleet.procs,
        timed_out,
        zk_fault: schedule.zk_killed.is_some() && schedule.zk_back_mid_run,
    };
    println!("\ncrawled {} pages in {:.1} s", results.len(), elapsed.as_secs_f64());
    let passed = checks::report(&outcome);
    match crate::timeline::draw(&options.report, &events, &site, started_ms, &fleet.procs) {
        Ok(()) => println!("timeline: {}", options.report.display()),
        Err(e) => println!("timeline not drawn: {e}"),
    }
    if !options.keep {
        client.delete_recursive(&layout.root)?;
    }
    // The events and logs stay when something failed (or with --keep), to look into.
    if passed && !options.keep {
        let _ = std::fs::remove_dir_all(&run_dir);
    } else {
        println!("events and member logs kept in {}", run_dir.display());
    }
    client.close()?;
    drop(zk);
    Ok(passed)
}
