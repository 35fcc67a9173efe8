//! The crawler demo: a crawl cluster that stays correct while its members and servers fail.
//!
//! ```text
//! cargo run --release --example crawler -- [--members 3] [--workers 4] [--pages 300]
//!     [--domains 4] [--politeness 2] [--kazoo N] [--ensemble] [--no-faults]
//! ```
//!
//! The orchestrator (this process, `orchestrator.rs`) starts ZooKeeper (one server, or a
//! 3-member ensemble with `--ensemble`; `ZK_CONNECT=host:port` uses yours), serves a generated
//! site from one loopback HTTP server per domain (`site.rs`, `http.rs`), and starts the crawler
//! processes: Rust members (this binary again, `--member ...`: `member.rs`) and, with
//! `--kazoo N`, Python crawlers on Kazoo (`kazoo_crawler.py`). They cooperate only through
//! ZooKeeper recipes, on the layout of `layout.rs` (the contract is crawl-spec.md): a `Party`,
//! an `Election` for the coordinator (`coordinator.rs`), the configuration under a
//! `WriteLock`/`ReadLock`, the frontier in a `LockingQueue`, a `WriteLock` claim per URL whose
//! fencing token and fenced transaction commit each page (`worker.rs`), a `Semaphore` per
//! domain, a `Counter` of pages.
//!
//! The site injects the faults (`faults.rs`): it kills the coordinator with SIGKILL in the
//! middle of a fetch, and SIGSTOPs another member past its session timeout, whose late commit is
//! then refused. With `--ensemble` the ZooKeeper leader is killed mid-run and restarted. At the
//! end the orchestrator checks the crawl against the site's graph and the servers' own
//! measurements (`checks.rs`), draws `target/crawl-report.svg` (`timeline.rs`), and exits
//! non-zero if a check failed.

mod checks;
mod config;
mod coordinator;
mod events;
mod faults;
mod fetch;
mod fleet;
mod http;
mod inventory;
mod layout;
mod links;
mod member;
mod options;
mod orchestrator;
mod progress;
mod schedule;
mod site;
mod timeline;
mod worker;

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "--member") {
        match options::parse_member(args.into_iter()) {
            Ok(member) => std::process::exit(member::main(member)),
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(2);
            }
        }
    }
    let options = match options::parse(args.into_iter()) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}\n{}", options::USAGE);
            std::process::exit(2);
        }
    };
    std::process::exit(orchestrator::main(&options));
}
