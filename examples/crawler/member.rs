//! A Rust member: this binary re-executed as `crawler --member rust-<i> ...` (crawl-spec.md),
//! one `Client` per process, so a `kill -9` or a SIGSTOP hits a whole crawler as it would in
//! production. It joins the `Party`, contends in the `Election` (see `coordinator.rs`) and runs
//! its worker threads (see `worker.rs`) until `R/finished` exists.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;
use zkcluster::{Client, Counter, LockingQueue, Party, SessionEvent};

use crate::config::ConfigView;
use crate::coordinator::{self, Plan};
use crate::events::EventLog;
use crate::fetch::Fetcher;
use crate::layout::Layout;

/// A member's command line.
#[derive(Debug, Clone)]
pub struct MemberArgs {
    pub id: String,
    pub hosts: String,
    pub root: String,
    pub events: PathBuf,
    pub workers: usize,
    pub session_timeout: Duration,
    pub plan: Plan,
}

/// What a member's threads share.
pub struct Member {
    pub id: String,
    pub client: Client,
    pub layout: Layout,
    /// The site's domains (`host:port`): links elsewhere are not followed.
    pub domains: Vec<String>,
    pub events: EventLog,
    pub config: ConfigView,
    pub fetcher: Fetcher,
    pub queue: LockingQueue,
    pub counter: Counter,
    pub finished: AtomicBool,
    pub pages: AtomicUsize,
}

impl Member {
    /// Sets `finished` once `R/finished` exists.
    pub fn check_finished(&self) {
        if matches!(self.client.exist_node(&self.layout.finished()), Ok(Some(_))) {
            self.finished.store(true, Ordering::SeqCst);
        }
    }
}

/// Runs a member to the end of the crawl; the process exit status.
pub fn main(args: MemberArgs) -> i32 {
    match run(&args) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("{}: {e}", args.id);
            1
        }
    }
}

fn run(args: &MemberArgs) -> Result<(), Box<dyn std::error::Error>> {
    let client = Client::builder(&args.hosts)
        .session_timeout(args.session_timeout)
        .connect_timeout(Duration::from_secs(30))
        .request_timeout(Duration::from_secs(10))
        .connect()?;
    let layout = Layout::new(&args.root);
    // `pages` too: the counter node, empty (0) as Kazoo's Counter makes it.
    for dir in
        ["seen", "claims", "results", "politeness", "frontier/entries", "frontier/taken", "pages"]
    {
        client.ensure_path(&format!("{}/{dir}", layout.root))?;
    }
    let events = EventLog::open(&args.events, &args.id)?;
    let domains = args
        .plan
        .seeds
        .iter()
        .filter_map(|s| crate::layout::authority(s).map(str::to_string))
        .collect();
    let member = Member {
        id: args.id.clone(),
        queue: LockingQueue::new(&client, &layout.frontier())?,
        counter: Counter::new(&client, &layout.pages())?,
        client: client.clone(),
        layout,
        domains,
        events,
        config: ConfigView::new(),
        fetcher: Fetcher::new(&args.id),
        finished: AtomicBool::new(false),
        pages: AtomicUsize::new(0),
    };
    let party = Party::new(&client, &member.layout.party(), &args.id)?;
    party.join()?;
    member.events.log("joined", json!({"pid": std::process::id()}));

    let session = client.session_events();
    std::thread::scope(|s| {
        let member = &member;
        let parent = rustix::process::getppid();
        s.spawn(move || {
            while !member.finished.load(Ordering::SeqCst) {
                if let Ok(SessionEvent::Lost { .. }) =
                    session.recv_timeout(Duration::from_millis(200))
                {
                    member.events.log("session_expired", json!({}));
                }
                if rustix::process::getppid() != parent {
                    // The orchestrator is gone (interrupted): do not crawl on as an orphan.
                    eprintln!("{}: the orchestrator is gone, exiting", member.id);
                    std::process::exit(3);
                }
            }
        });
        s.spawn(move || coordinator::run(member, &args.plan));
        let workers: Vec<_> =
            (0..args.workers).map(|_| s.spawn(move || crate::worker::run(member))).collect();
        for w in workers {
            let _ = w.join();
        }
        member.finished.store(true, Ordering::SeqCst);
    });
    party.leave()?;
    member.events.log("done", json!({"pages": member.pages.load(Ordering::SeqCst)}));
    client.close()?;
    Ok(())
}
