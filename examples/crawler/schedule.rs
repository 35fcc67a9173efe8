//! When the orchestrator injects its faults, from the crawl's progress: the member faults
//! (armed at the site, see `faults.rs`) and, with `--ensemble`, the ZooKeeper leader's death.

use std::time::{Duration, Instant};

use serde_json::json;
use zkcluster::testing::TestingCluster;

use crate::events::EventLog;
use crate::faults::{Fault, Faults};
use crate::fleet::Fleet;
use crate::progress::Progress;

/// When the faults are armed, as a share of the pages to record. With `--ensemble` the
/// ZooKeeper leader goes first, and the member faults wait until pages are recorded again (a new
/// leader serves): a new ZooKeeper leader gives every session a fresh timeout, which would let
/// a paused member's session survive its pause.
const ZK_KILL_AT: f64 = 0.08;
const KILL_AT: f64 = 0.22;
const PAUSE_AT: f64 = 0.38;
/// How long the killed ZooKeeper leader stays down.
const ZK_DOWN: Duration = Duration::from_secs(3);

/// What the orchestrator did to the fleet and the servers.
#[derive(Default)]
pub struct Schedule {
    pub kill: Option<String>,
    pub pause: Option<String>,
    /// The member killed, when, and the pages recorded then.
    pub zk_killed: Option<(usize, Instant, usize)>,
    /// Whether its restart was tried (it is not tried again).
    pub zk_restarted: bool,
    /// Whether it was restarted while the crawl went on (the fault the checks report).
    pub zk_back_mid_run: bool,
}

/// Arms the kill of the coordinator, then the pause of another Rust member (each fires at the
/// target's next request to the site).
pub fn arm_member_faults(
    schedule: &mut Schedule,
    faults: &Faults,
    fleet: &Fleet,
    leader: Option<&str>,
    pages: usize,
    total: usize,
    progress: &Progress,
) {
    let share = pages as f64 / total.max(1) as f64;
    if schedule.kill.is_none() && share >= KILL_AT {
        if let Some(leader) = leader.filter(|l| l.starts_with("rust-")) {
            faults.arm(leader, Fault::Kill);
            schedule.kill = Some(leader.to_string());
            progress.println(format!(
                "at {pages} pages: the site will kill -9 the coordinator {leader} at its next request"
            ));
        }
    }
    let kill_fired = schedule.kill.is_some() && !faults.is_armed();
    if schedule.pause.is_none() && kill_fired && share >= PAUSE_AT {
        let victim = fleet.procs.iter().find(|p| {
            p.rust
                && p.exit.is_none()
                && Some(p.id.as_str()) != leader
                && Some(&p.id) != schedule.kill.as_ref()
        });
        if let Some(victim) = victim {
            faults.arm(&victim.id, Fault::Pause);
            schedule.pause = Some(victim.id.clone());
            progress.println(format!(
                "at {pages} pages: the site will SIGSTOP {} at its next request, for twice its \
                 session timeout",
                victim.id
            ));
        }
    }
}

/// `--ensemble`: kills the ZooKeeper leader mid-run and restarts it a little later.
pub fn zookeeper_fault(
    schedule: &mut Schedule,
    cluster: &mut TestingCluster,
    log: &EventLog,
    pages: usize,
    total: usize,
    progress: &Progress,
) {
    match schedule.zk_killed {
        None if pages as f64 >= ZK_KILL_AT * total as f64 => {
            if let Some(i) = cluster.leader() {
                if cluster.member_mut(i).kill().is_ok() {
                    log.log(
                        "fault",
                        json!({"fault": "zk-leader-kill", "target": format!("zk-{i}")}),
                    );
                    progress.println(format!(
                        "at {pages} pages: killed the ZooKeeper leader (member {i})"
                    ));
                    schedule.zk_killed = Some((i, Instant::now(), pages));
                }
            }
        }
        Some((i, at, _)) if !schedule.zk_restarted && at.elapsed() >= ZK_DOWN => {
            match cluster.member_mut(i).restart() {
                Ok(()) => {
                    log.log("fault", json!({"fault": "zk-restart", "target": format!("zk-{i}")}));
                    progress.println(format!("restarted ZooKeeper member {i}"));
                    schedule.zk_back_mid_run = true;
                }
                Err(e) => progress.println(format!("cannot restart ZooKeeper member {i}: {e}")),
            }
            schedule.zk_restarted = true;
        }
        _ => {}
    }
}
