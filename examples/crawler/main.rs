//! The crawler demo: several crawler nodes, each its own ZooKeeper session with worker threads,
//! crawl a synthetic site and cooperate through ZooKeeper only.
//!
//! - the URL frontier lives in ZooKeeper; a worker claims a URL under a `WriteLock`, so no URL
//!   is fetched twice;
//! - a `Semaphore` per domain bounds concurrent fetches to it across all nodes (politeness);
//! - the crawl configuration is read under a `ReadLock` and updated once mid-run under the
//!   `WriteLock`;
//! - one node is killed mid-run (its session closed abruptly); its claimed pages are recovered
//!   by the others, because claims are ephemeral nodes.
//!
//! At the end the demo checks, and exits non-zero unless: every page was recorded exactly once,
//! no domain ever had more fetches at once than allowed (measured), and no lock, lease or claim
//! node is left behind.
//!
//! ```text
//! cargo run --release --example crawler -- [--nodes 3] [--workers 4] [--pages 400]
//!     [--politeness 2] [--domains 6] [--no-kill] [--run-id ID]
//! ```
//! Without `ZK_CONNECT` it starts a local ZooKeeper through zkcluster's test kit (installing
//! it with `scripts/install-zookeeper.sh` if missing). With `ZK_CONNECT=host:port` several
//! processes given the same `--run-id` crawl together.

mod layout;
mod report;
mod site;
mod worker;

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use zkcluster::testing::TestingServer;
use zkcluster::{Client, CreateOptions, Restriction, ZookeeperRecipe};

use layout::Layout;
use site::Site;
use worker::{Crawl, Node};

struct Options {
    nodes: usize,
    workers: usize,
    pages: usize,
    politeness: u32,
    domains: usize,
    kill: bool,
    run_id: String,
}

fn parse_options() -> Result<Options, String> {
    let mut o = Options {
        nodes: 3,
        workers: 4,
        pages: 400,
        politeness: 2,
        domains: 6,
        kill: true,
        run_id: format!("run-{}-{}", std::process::id(), Instant::now().elapsed().subsec_nanos()),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        let number = |v: String, name: &str| {
            v.parse::<usize>().map_err(|_| format!("{name}: not a number: {v}"))
        };
        match flag.as_str() {
            "--nodes" => o.nodes = number(value("--nodes")?, "--nodes")?,
            "--workers" => o.workers = number(value("--workers")?, "--workers")?,
            "--pages" => o.pages = number(value("--pages")?, "--pages")?,
            "--politeness" => o.politeness = number(value("--politeness")?, "--politeness")? as u32,
            "--domains" => o.domains = number(value("--domains")?, "--domains")?,
            "--run-id" => o.run_id = value("--run-id")?,
            "--no-kill" => o.kill = false,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown option {other}")),
        }
    }
    if o.nodes == 0 || o.workers == 0 || o.pages == 0 || o.politeness == 0 || o.domains == 0 {
        return Err("all numbers must be at least 1".into());
    }
    if o.kill && o.nodes < 2 {
        o.kill = false; // someone must survive to recover the work
    }
    Ok(o)
}

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let options = match parse_options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}\nusage: crawler [--nodes N] [--workers N] [--pages N] [--politeness N] [--domains N] [--no-kill] [--run-id ID]");
            std::process::exit(2);
        }
    };
    let (_server, connect) = match std::env::var("ZK_CONNECT") {
        Ok(connect) => (None, connect),
        Err(_) => match TestingServer::start_or_install() {
            Ok(server) => {
                let connect = server.connect_string();
                println!("started a local ZooKeeper at {connect}");
                (Some(server), connect)
            }
            Err(e) => {
                eprintln!("cannot start a local ZooKeeper: {e}");
                std::process::exit(2);
            }
        },
    };
    match crawl(&options, &connect) {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("crawl failed: {e}");
            std::process::exit(1);
        }
    }
}

fn connect_node(connect: &str) -> zkcluster::Result<Client> {
    Client::builder(connect)
        .session_timeout(Duration::from_secs(6))
        .request_timeout(Duration::from_secs(10))
        .connect()
}

/// Runs the crawl; `Ok(false)` if a check failed.
fn crawl(options: &Options, connect: &str) -> zkcluster::Result<bool> {
    let layout = Layout { root: format!("/zkcluster-crawler/{}", options.run_id) };
    let coordinator = connect_node(connect)?;
    for dir in [layout.frontier(), layout.claims(), layout.done()] {
        coordinator.ensure_path(&dir)?;
    }
    match coordinator.create(&layout.config(), "latency_ms=10", &CreateOptions::new()) {
        Ok(_) => {}
        Err(e) if e.is_node_exists() => {}
        Err(e) => return Err(e),
    }
    let site = Site::generate(options.pages, options.domains, 42);
    for seed in 0..options.domains.min(options.pages) {
        match coordinator.create(
            &Layout::entry(&layout.frontier(), seed),
            site.url(seed),
            &CreateOptions::new(),
        ) {
            Ok(_) => {}
            Err(e) if e.is_node_exists() => {}
            Err(e) => return Err(e),
        }
    }
    let crawl = Arc::new(Crawl {
        completed: (0..options.pages).map(|_| AtomicU32::new(0)).collect(),
        site,
        layout,
        politeness: options.politeness,
        abandoned: AtomicUsize::new(0),
        interrupted: AtomicUsize::new(0),
        duplicates: AtomicUsize::new(0),
        updated_config_reads: AtomicUsize::new(0),
    });
    let nodes: Vec<Arc<Node>> = (0..options.nodes)
        .map(|i| Ok(Arc::new(Node::new(format!("node-{i}"), connect_node(connect)?))))
        .collect::<zkcluster::Result<_>>()?;
    println!(
        "crawling {} pages on {} domains with {} nodes x {} workers (politeness {}) under {}",
        options.pages,
        options.domains,
        options.nodes,
        options.workers,
        options.politeness,
        crawl.layout.root
    );
    let started = Instant::now();
    let threads: Vec<_> = nodes
        .iter()
        .flat_map(|node| (0..options.workers).map(move |w| (node.clone(), w)))
        .map(|(node, w)| {
            let crawl = crawl.clone();
            std::thread::Builder::new()
                .name(format!("{}-w{w}", node.name))
                .spawn(move || worker::run(&crawl, &node))
                .expect("spawn worker")
        })
        .collect();

    let progress = report::Progress::new(options.pages as u64);
    let mut killed = false;
    let mut config_updated = false;
    while threads.iter().any(|t| !t.is_finished()) {
        std::thread::sleep(Duration::from_millis(100));
        let done =
            coordinator.exist_node(&crawl.layout.done())?.map_or(0, |s| s.num_children as usize);
        progress.update(done as u64, &nodes, started.elapsed());
        if options.kill && !killed && done * 10 >= options.pages * 3 {
            killed = true;
            let victim = &nodes[0];
            // Abrupt: its workers may hold claims, leases and locks right now.
            victim.kill();
            progress.println(format!(
                "killed {} at {done} pages: its claims go back to the frontier",
                victim.name
            ));
        }
        if !config_updated && done * 2 >= options.pages {
            config_updated = true;
            let lock = coordinator.restrict(
                &crawl.layout.config_lock(),
                ZookeeperRecipe::WriteLock,
                "coordinator",
                None,
            )?;
            let guard = lock.acquire_timeout(Duration::from_secs(10))?;
            coordinator.set_value_to_node(&crawl.layout.config(), "latency_ms=5,updated")?;
            guard.release()?;
            progress.println(format!("configuration updated at {done} pages under the write lock (latency 10 ms -> 5 ms)"));
        }
    }
    for t in threads {
        let _ = t.join();
    }
    progress.finish();
    let elapsed = started.elapsed();
    for node in &nodes {
        if !node.killed.load(Ordering::SeqCst) {
            node.client.close()?;
        }
    }
    let ok = report::summarize(&crawl, &nodes, &coordinator, options, config_updated, elapsed)?;
    coordinator.delete_recursive(&crawl.layout.root)?;
    coordinator.close()?;
    Ok(ok)
}
