//! Queues and the tree cache beside Kazoo 2.11, on one ZooKeeper from the test kit:
//!
//! - Queue: `put_all` (pipelined) against one `put` at a time; `get` on a short and on a long
//!   queue (100,000 items): the cost per item must not grow with the queue.
//! - LockingQueue: `get` + `consume` on a short and on a long queue.
//! - TreeCache: initial load time and the resident memory it adds for a 100,000-node tree, and
//!   events per second under a write storm.
//!
//! Run with `scripts/bench.sh --queues` (or `cargo bench --bench queues -- [--quick]
//! [--no-kazoo]`); the report goes to stdout and `target/bench-queues.md`.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use zkcluster::testing::TestingServer;
use zkcluster::{Client, LockingQueue, Queue, TreeCache, TreeEvent};

mod common;

use common::kazoo::{parse, python};
use common::R;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/bench_kazoo_queues.py");
const VALUE: &[u8] = b"0123456789abcdef";

struct Sizes {
    long: usize,
    short: usize,
    gets: usize,
    kazoo_long_locking_gets: usize,
    tree: usize,
    storm: usize,
}

struct Kazoo {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Kazoo {
    fn start(python: &Path, hosts: &str) -> R<Kazoo> {
        let mut child = Command::new(python)
            .arg(SCRIPT)
            .arg(hosts)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        Ok(Kazoo { child, stdin, stdout })
    }

    fn send(&mut self, line: &str) -> R<()> {
        writeln!(self.stdin, "{line}")?;
        Ok(self.stdin.flush()?)
    }

    fn line(&mut self) -> R<String> {
        let mut line = String::new();
        if self.stdout.read_line(&mut line)? == 0 {
            return Err("Kazoo ended".into());
        }
        Ok(line.trim().to_string())
    }

    /// Sends a command and parses its "ok key=value ..." answer.
    fn ask(&mut self, command: &str) -> R<Vec<(String, f64)>> {
        self.send(command)?;
        parse(&self.line()?)
    }
}

impl Drop for Kazoo {
    fn drop(&mut self) {
        let _ = self.send("quit");
        let _ = self.child.wait();
    }
}

fn field(fields: &[(String, f64)], key: &str) -> R<f64> {
    fields.iter().find(|(k, _)| k == key).map(|(_, v)| *v).ok_or_else(|| format!("no {key}").into())
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn rate(n: usize, took: Duration) -> f64 {
    n as f64 / took.as_secs_f64()
}

/// Fills a Queue at `path` with `n` items (pipelined).
fn fill_queue(client: &Client, path: &str, n: usize) -> R<()> {
    let items: Vec<String> = (0..n).map(|i| format!("item-{i}")).collect();
    Queue::new(client, path)?.put_all(&items)?;
    Ok(())
}

/// Fills a LockingQueue at `path` with `n` items (transactions of 1,000).
fn fill_locking(client: &Client, path: &str, n: usize) -> R<()> {
    let queue = LockingQueue::new(client, path)?;
    let items: Vec<String> = (0..n).map(|i| format!("item-{i}")).collect();
    for chunk in items.chunks(1000) {
        queue.put_all(chunk)?;
    }
    Ok(())
}

/// Times `k` calls of `take`: the rate over all of them, the first call alone (it lists the
/// queue) and the rate of the others (the cost per item once listed).
fn timed_gets(k: usize, mut take: impl FnMut() -> R<()>) -> R<(f64, Duration, f64)> {
    let started = Instant::now();
    take()?;
    let first = started.elapsed();
    for _ in 1..k {
        take()?;
    }
    let all = started.elapsed();
    Ok((rate(k, all), first, rate(k - 1, all - first)))
}

fn rust_gets(client: &Client, path: &str, k: usize) -> R<(f64, Duration, f64)> {
    let queue = Queue::new(client, path)?;
    timed_gets(k, || queue.try_get()?.map(drop).ok_or_else(|| "queue ran dry".into()))
}

fn rust_locking_gets(client: &Client, path: &str, k: usize) -> R<(f64, Duration, f64)> {
    let queue = LockingQueue::new(client, path)?;
    timed_gets(k, || {
        let mut item = queue.try_get()?.ok_or("queue ran dry")?;
        if !item.consume()? {
            return Err("consume failed".into());
        }
        Ok(())
    })
}

/// Builds a tree of about `n` nodes: 100 directories of `n / 100` leaves.
fn build_tree(client: &Client, root: &str, n: usize) -> R<()> {
    client.create_node(root, "")?;
    let dirs = 100;
    let mut pending = Vec::new();
    for d in 0..dirs {
        pending.push(client.create_node_async(&format!("{root}/d{d}"), VALUE));
    }
    for p in pending.drain(..) {
        p.wait()?;
    }
    for d in 0..dirs {
        for i in 0..(n / dirs).saturating_sub(1) {
            pending.push(client.create_node_async(&format!("{root}/d{d}/n{i}"), VALUE));
        }
        for p in pending.drain(..) {
            p.wait()?;
        }
    }
    Ok(())
}

/// Sets `k` leaves of the tree at `root`, pipelined in batches (the storm).
fn storm(client: &Client, root: &str, n: usize, k: usize) -> R<Duration> {
    let per_dir = (n / 100).saturating_sub(1).max(1);
    let started = Instant::now();
    let mut pending = Vec::with_capacity(1000);
    for j in 0..k {
        let path = format!("{root}/d{}/n{}", j % 100, (j / 100) % per_dir);
        pending.push(client.set_value_to_node_async(&path, format!("v{j}")));
        if pending.len() == 1000 {
            for p in pending.drain(..) {
                p.wait()?;
            }
        }
    }
    for p in pending.drain(..) {
        p.wait()?;
    }
    Ok(started.elapsed())
}

fn main() -> R<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        eprintln!("run with `cargo bench --bench queues` or scripts/bench.sh --queues");
        return Ok(());
    }
    let quick = args.iter().any(|a| a == "--quick");
    let sizes = if quick {
        Sizes {
            long: 20_000,
            short: 1_000,
            gets: 500,
            kazoo_long_locking_gets: 5,
            tree: 20_000,
            storm: 5_000,
        }
    } else {
        Sizes {
            long: 100_000,
            short: 1_000,
            gets: 2_000,
            kazoo_long_locking_gets: 10,
            tree: 100_000,
            storm: 20_000,
        }
    };
    let server = TestingServer::builder().config_line("forceSync=no").start()?;
    let hosts = server.connect_string();
    let client = Client::builder(&hosts).request_timeout(Duration::from_secs(60)).connect()?;
    let mut kazoo = match (args.iter().any(|a| a == "--no-kazoo"), python()) {
        (false, Some(python)) => Some(Kazoo::start(&python, &hosts)?),
        (false, None) => {
            return Err(
                "Kazoo's venv is missing: run scripts/kazoo-venv.sh (or pass --no-kazoo)".into()
            )
        }
        (true, _) => None,
    };
    let mut rows: Vec<(String, String, String)> = Vec::new();
    let mut row = |name: &str, ours: String, theirs: Option<String>| {
        println!(
            "{name:<52} zkcluster {ours:>14}   kazoo {:>14}",
            theirs.clone().unwrap_or("-".into())
        );
        rows.push((name.to_string(), ours, theirs.unwrap_or_else(|| "-".into())));
    };

    // `--tree`: only the tree cache.
    if !args.iter().any(|a| a == "--tree") {
        queues(&client, &sizes, &mut kazoo, &mut row)?;
    }
    tree_cache(&client, &sizes, &mut kazoo, &mut row)?;
    drop(kazoo);
    let mut report = String::from("# Queues and TreeCache: zkcluster beside Kazoo 2.11\n\n");
    report.push_str("| workload | zkcluster | Kazoo |\n|---|---:|---:|\n");
    for (name, ours, theirs) in &rows {
        report.push_str(&format!("| {name} | {ours} | {theirs} |\n"));
    }
    let out = concat!(env!("CARGO_MANIFEST_DIR"), "/target/bench-queues.md");
    std::fs::write(out, &report)?;
    eprintln!("report: target/bench-queues.md");
    Ok(())
}

type Row<'a> = dyn FnMut(&str, String, Option<String>) + 'a;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn per_s(v: f64) -> String {
    format!("{v:.0}/s")
}

fn queues(client: &Client, sizes: &Sizes, kazoo: &mut Option<Kazoo>, row: &mut Row) -> R<()> {
    let client = client.clone();
    // Queue: putting.
    let started = Instant::now();
    fill_queue(&client, "/bq/put-all", sizes.long)?;
    let put_all = rate(sizes.long, started.elapsed());
    // The test kit's server has a small heap: keep at most one big structure at a time.
    client.delete_recursive("/bq/put-all")?;
    let one_by_one = {
        let queue = Queue::new(&client, "/bq/put-one")?;
        let started = Instant::now();
        for i in 0..sizes.gets {
            queue.put(format!("item-{i}"))?;
        }
        rate(sizes.gets, started.elapsed())
    };
    let kazoo_put = match kazoo {
        Some(k) => Some(field(&k.ask(&format!("qput /bq/kazoo-put {}", sizes.gets))?, "rate")?),
        None => None,
    };
    row(&format!("Queue.put_all, {} items", sizes.long), per_s(put_all), None);
    row("Queue.put, one at a time", per_s(one_by_one), kazoo_put.map(per_s));

    // Queue: getting from a short and a long queue.
    for (label, len) in [("short", sizes.short), ("long", sizes.long)] {
        let k = sizes.gets.min(len / 2);
        fill_queue(&client, &format!("/bq/get-{label}"), len)?;
        let ours = rust_gets(&client, &format!("/bq/get-{label}"), k)?;
        client.delete_recursive(&format!("/bq/get-{label}"))?;
        let theirs = match kazoo {
            Some(kz) => {
                fill_queue(&client, &format!("/bq/kget-{label}"), len)?;
                let theirs = field(&kz.ask(&format!("qget /bq/kget-{label} {k}"))?, "rate")?;
                client.delete_recursive(&format!("/bq/kget-{label}"))?;
                Some(theirs)
            }
            None => None,
        };
        row(&format!("Queue.get, {k} items from {len}"), per_s(ours.0), theirs.map(per_s));
        row(&format!("  first get (lists {len})"), format!("{:.1} ms", ms(ours.1)), None);
        row("  the others", per_s(ours.2), None);
    }

    // LockingQueue: get + consume from a short and a long queue.
    for (label, len) in [("short", sizes.short), ("long", sizes.long)] {
        let k = sizes.gets.min(len / 2) / 2;
        fill_locking(&client, &format!("/blq/{label}"), len)?;
        let ours = rust_locking_gets(&client, &format!("/blq/{label}"), k)?;
        client.delete_recursive(&format!("/blq/{label}"))?;
        row(&format!("LockingQueue get+consume, {k} from {len}"), per_s(ours.0), None);
        row(&format!("  first get (lists {len})"), format!("{:.1} ms", ms(ours.1)), None);
        row("  the others", per_s(ours.2), None);
        if let Some(kz) = kazoo {
            let kk = if label == "long" { sizes.kazoo_long_locking_gets } else { k };
            fill_locking(&client, &format!("/blq/k{label}"), len)?;
            let theirs = field(&kz.ask(&format!("lqget /blq/k{label} {kk}"))?, "rate")?;
            client.delete_recursive(&format!("/blq/k{label}"))?;
            row(
                &format!("LockingQueue get+consume, {kk} from {len}"),
                "-".into(),
                Some(per_s(theirs)),
            );
        }
    }

    Ok(())
}

fn tree_cache(client: &Client, sizes: &Sizes, kazoo: &mut Option<Kazoo>, row: &mut Row) -> R<()> {
    let client = client.clone();
    // TreeCache: load and storm.
    build_tree(&client, "/btree", sizes.tree)?;
    let n = server_count(&client, "/btree")?;
    let before = rss_kb();
    let started = Instant::now();
    let cache = TreeCache::new(&client, "/btree")?;
    cache.start()?;
    cache.wait_initialized(Duration::from_secs(600))?;
    let load = started.elapsed();
    let added_kb = rss_kb().saturating_sub(before);
    assert_eq!(cache.len(), n, "the cache holds the whole tree");
    // Subscribed only now: events queued for a reader would count as the cache's memory.
    let events = cache.events();
    let kazoo_load = match kazoo {
        Some(kz) => {
            let f = kz.ask(&format!("tree /btree {n}"))?;
            Some((field(&f, "load_s")?, field(&f, "rss_kb")?))
        }
        None => None,
    };
    row(
        &format!("TreeCache initial load, {n} nodes"),
        format!("{:.2} s", load.as_secs_f64()),
        kazoo_load.map(|(s, _)| format!("{s:.2} s")),
    );
    row(
        &format!("TreeCache memory added, {n} nodes"),
        format!("{:.1} MiB", added_kb as f64 / 1024.0),
        kazoo_load.map(|(_, kb)| format!("{:.1} MiB", kb / 1024.0)),
    );

    let started = Instant::now();
    let wrote = storm(&client, "/btree", sizes.tree, sizes.storm)?;
    let mut seen = 0;
    while seen < sizes.storm {
        if let TreeEvent::NodeUpdated { .. } = events.recv_timeout(Duration::from_secs(60))? {
            seen += 1;
        }
    }
    let ours = rate(sizes.storm, started.elapsed());
    let theirs = match kazoo {
        Some(kz) => {
            kz.send(&format!("storm {}", sizes.storm))?;
            let ready = kz.line()?;
            if ready != "ready" {
                return Err(format!("kazoo: {ready}").into());
            }
            kz.send("go")?;
            storm(&client, "/btree", sizes.tree, sizes.storm)?;
            Some(field(&parse(&kz.line()?)?, "rate")?)
        }
        None => None,
    };
    row(
        &format!("TreeCache events/s, storm of {} sets", sizes.storm),
        per_s(ours),
        theirs.map(per_s),
    );
    row("(the storm's writer alone)", per_s(rate(sizes.storm, wrote)), None);
    drop(cache);
    Ok(())
}

/// How many nodes the tree at `root` has (two levels, as `build_tree` makes it).
fn server_count(client: &Client, root: &str) -> R<usize> {
    let dirs = client.get_children(root)?;
    let mut n = 1 + dirs.len();
    for d in dirs {
        n += client.exist_node(&format!("{root}/{d}"))?.map_or(0, |s| s.num_children as usize);
    }
    Ok(n)
}
