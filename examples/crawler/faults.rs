//! Faults the orchestrator injects, fired from the HTTP site so they land in the middle of a
//! fetch (crawl-spec.md): the orchestrator arms a fault for a member, and that member's next
//! request makes the site server
//! - `kill`: SIGKILL the member's process before answering;
//! - `pause`: SIGSTOP it, answer (the response waits in its socket), and SIGCONT it after twice
//!   its session timeout, so it wakes up believing it still holds its claim.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustix::process::{kill_process, Pid, Signal};
use serde_json::json;

use crate::events::EventLog;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Kill,
    Pause,
}

pub struct Faults {
    pids: Mutex<HashMap<String, i32>>,
    armed: Mutex<Vec<(String, Fault)>>,
    /// Members paused right now (the progress line shows them).
    paused: Mutex<Vec<String>>,
    pause_for: Duration,
    log: Arc<EventLog>,
}

pub fn signal(pid: i32, signal: Signal) -> bool {
    Pid::from_raw(pid).is_some_and(|pid| kill_process(pid, signal).is_ok())
}

/// Whether the process is stopped (state `T` in /proc): a SIGSTOP is delivered asynchronously,
/// and the answer must not be sent before it has taken effect.
fn is_stopped(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with(['T', 't']))
    })
}

impl Faults {
    pub fn new(log: Arc<EventLog>, session_timeout: Duration) -> Faults {
        Faults {
            pids: Mutex::new(HashMap::new()),
            armed: Mutex::new(Vec::new()),
            paused: Mutex::new(Vec::new()),
            pause_for: session_timeout * 2,
            log,
        }
    }

    pub fn register(&self, member: &str, pid: i32) {
        self.pids.lock().unwrap_or_else(|p| p.into_inner()).insert(member.to_string(), pid);
    }

    pub fn arm(&self, member: &str, fault: Fault) {
        self.armed.lock().unwrap_or_else(|p| p.into_inner()).push((member.to_string(), fault));
    }

    pub fn is_armed(&self) -> bool {
        !self.armed.lock().unwrap_or_else(|p| p.into_inner()).is_empty()
    }

    pub fn paused(&self) -> Vec<String> {
        self.paused.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Called by the site for every request, before it answers.
    pub fn on_request(self: &Arc<Self>, member: &str) {
        let fault = {
            let mut armed = self.armed.lock().unwrap_or_else(|p| p.into_inner());
            let Some(at) = armed.iter().position(|(m, _)| m == member) else { return };
            armed.remove(at).1
        };
        let Some(pid) = self.pids.lock().unwrap_or_else(|p| p.into_inner()).get(member).copied()
        else {
            return;
        };
        match fault {
            Fault::Kill => {
                signal(pid, Signal::KILL);
                self.log.log("fault", json!({"fault": "kill", "target": member}));
            }
            Fault::Pause => {
                signal(pid, Signal::STOP);
                let deadline = Instant::now() + Duration::from_secs(2);
                while !is_stopped(pid) && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(1));
                }
                self.log.log("fault", json!({"fault": "pause", "target": member}));
                self.paused.lock().unwrap_or_else(|p| p.into_inner()).push(member.to_string());
                let faults = self.clone();
                let member = member.to_string();
                std::thread::spawn(move || {
                    std::thread::sleep(faults.pause_for);
                    signal(pid, Signal::CONT);
                    faults
                        .paused
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .retain(|m| *m != member);
                    faults.log.log("fault", json!({"fault": "resume", "target": member}));
                });
            }
        }
    }
}
