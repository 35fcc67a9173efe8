//! The nemesis: one fault at a time, each applied, held for a bounded time and healed before
//! the next. Against the standalone server it freezes (shorter and longer than a session
//! timeout), kills -9 and restarts, and restarts gracefully; against the ensemble it freezes and
//! kills members and the leader. Against the workers it kills -9 the process holding the lock
//! (and starts a replacement) and SIGSTOPs it for longer than its session timeout.

use std::time::{Duration, Instant};

use zkcluster::testing::{TestingCluster, TestingServer};
use zkcluster::{Client, Restriction, ZookeeperRecipe};

use crate::fleet::Fleet;
use crate::{now_ns, LOCK};

pub enum Servers {
    Standalone(TestingServer),
    Ensemble(TestingCluster),
}

impl Servers {
    pub fn start(ensemble: bool) -> Result<Servers, String> {
        let started = if ensemble {
            TestingCluster::start(3).map(Servers::Ensemble)
        } else {
            TestingServer::start().map(Servers::Standalone)
        };
        started.map_err(|e| format!("starting ZooKeeper: {e}"))
    }

    pub fn name(&self) -> &'static str {
        match self {
            Servers::Standalone(_) => "standalone",
            Servers::Ensemble(_) => "ensemble",
        }
    }

    pub fn connect_string(&self) -> String {
        match self {
            Servers::Standalone(s) => s.connect_string(),
            Servers::Ensemble(c) => c.connect_string(),
        }
    }

    fn faults(&self) -> &'static [Fault] {
        match self {
            Servers::Standalone(_) => &[
                Fault::FreezeShort,
                Fault::FreezeLong,
                Fault::KillRestart,
                Fault::Restart,
                Fault::KillHolder,
                Fault::PauseHolder,
            ],
            Servers::Ensemble(_) => &[
                Fault::FreezeShort,
                Fault::FreezeLong,
                Fault::KillRestart,
                Fault::KillLeader,
                Fault::KillHolder,
                Fault::PauseHolder,
            ],
        }
    }

    /// The server a server fault hits: the standalone one, or a random ensemble member.
    fn victim(&mut self, rng: &mut fastrand::Rng) -> (&mut TestingServer, String) {
        match self {
            Servers::Standalone(s) => (s, "server".to_string()),
            Servers::Ensemble(c) => {
                let i = rng.usize(..c.len());
                (c.member_mut(i), format!("member {}", i + 1))
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// SIGSTOP a server for half a session timeout.
    FreezeShort,
    /// SIGSTOP a server for one and a half session timeouts.
    FreezeLong,
    /// kill -9 a server, restart it a moment later.
    KillRestart,
    /// Graceful restart of the standalone server.
    Restart,
    /// kill -9 the ensemble's leader, restart it a moment later.
    KillLeader,
    /// kill -9 the worker process holding the lock; a new one takes its place.
    KillHolder,
    /// SIGSTOP the worker process holding the lock past its session timeout.
    PauseHolder,
}

impl Fault {
    pub fn name(self) -> &'static str {
        match self {
            Fault::FreezeShort => "freeze < session",
            Fault::FreezeLong => "freeze > session",
            Fault::KillRestart => "kill -9 + restart",
            Fault::Restart => "graceful restart",
            Fault::KillLeader => "kill -9 leader + restart",
            Fault::KillHolder => "kill -9 lock holder",
            Fault::PauseHolder => "SIGSTOP lock holder",
        }
    }
}

/// One fault as applied.
#[derive(Debug, Clone)]
pub struct Event {
    pub fault: Fault,
    pub detail: String,
    pub started: i64,
    pub ended: i64,
    /// The worker process this fault stopped or killed.
    pub worker: Option<String>,
    /// For a SIGSTOP: taken right before the SIGSTOP that stuck, and right before the SIGCONT.
    /// The process cannot run in between, so whatever it stamped before `resumed` happened
    /// before it stopped.
    pub stopped: i64,
    pub resumed: i64,
}

/// What applying a fault reports: a description, the worker it hit, when that worker stopped
/// and resumed.
type Applied = (String, Option<String>, (i64, i64));

pub struct Nemesis {
    rng: fastrand::Rng,
    session: Duration,
    pub events: Vec<Event>,
    pub errors: Vec<String>,
}

const GAP: Duration = Duration::from_millis(400);
const DOWN: Duration = Duration::from_millis(800);

impl Nemesis {
    pub fn new(seed: u64, session: Duration) -> Nemesis {
        Nemesis {
            rng: fastrand::Rng::with_seed(seed),
            session,
            events: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// Applies every fault kind of `servers` in a seeded order, again and again, until `min`
    /// has passed (at least one full cycle); returns with everything healed.
    pub fn run(&mut self, servers: &mut Servers, fleet: &mut Fleet, admin: &Client, min: Duration) {
        let start = Instant::now();
        loop {
            let mut order = servers.faults().to_vec();
            self.rng.shuffle(&mut order);
            for fault in order {
                let started = now_ns();
                match self.apply(fault, servers, fleet, admin) {
                    Ok((detail, worker, (stopped, resumed))) => self.events.push(Event {
                        fault,
                        detail,
                        started,
                        ended: now_ns(),
                        worker,
                        stopped,
                        resumed,
                    }),
                    Err(e) => self.errors.push(format!("{}: {e}", fault.name())),
                }
                std::thread::sleep(GAP);
            }
            if start.elapsed() >= min {
                return;
            }
        }
    }

    fn apply(
        &mut self,
        fault: Fault,
        servers: &mut Servers,
        fleet: &mut Fleet,
        admin: &Client,
    ) -> Result<Applied, String> {
        let e = |e: zkcluster::testing::TestingError| e.to_string();
        match fault {
            Fault::FreezeShort | Fault::FreezeLong => {
                let hold = if fault == Fault::FreezeShort {
                    self.session / 2
                } else {
                    self.session * 3 / 2
                };
                let (server, name) = servers.victim(&mut self.rng);
                server.freeze().map_err(e)?;
                std::thread::sleep(hold);
                server.thaw().map_err(e)?;
                Ok((format!("{name} for {hold:?}"), None, (0, 0)))
            }
            Fault::KillRestart => {
                let (server, name) = servers.victim(&mut self.rng);
                server.kill().map_err(e)?;
                std::thread::sleep(DOWN);
                server.restart().map_err(e)?;
                Ok((name, None, (0, 0)))
            }
            Fault::Restart => {
                let (server, name) = servers.victim(&mut self.rng);
                server.restart().map_err(e)?;
                Ok((name, None, (0, 0)))
            }
            Fault::KillLeader => {
                let Servers::Ensemble(cluster) = servers else {
                    return Err("no leader in a standalone server".to_string());
                };
                let leader = cluster.wait_for_leader(Duration::from_secs(30)).map_err(e)?;
                cluster.member_mut(leader).kill().map_err(e)?;
                std::thread::sleep(DOWN);
                cluster.member_mut(leader).restart().map_err(e)?;
                cluster.wait_for_leader(Duration::from_secs(30)).map_err(e)?;
                Ok((format!("member {}", leader + 1), None, (0, 0)))
            }
            Fault::KillHolder => {
                let (id, caught, _) = self.stop_holder(fleet, admin)?;
                fleet.kill(&id);
                fleet.spawn()?;
                Ok((format!("{id} ({caught})"), Some(id), (0, 0)))
            }
            Fault::PauseHolder => {
                let (id, caught, stopped) = self.stop_holder(fleet, admin)?;
                let pause = self.session * 2 + Duration::from_millis(500);
                std::thread::sleep(pause);
                let resumed = now_ns();
                let proc = fleet.live().find(|p| p.id == id).ok_or("holder vanished")?;
                proc.signal(libc::SIGCONT);
                Ok((format!("{id} ({caught}) for {pause:?}"), Some(id), (stopped, resumed)))
            }
        }
    }

    /// SIGSTOPs the worker process holding the read-write lock: finds the holder, stops its
    /// process, and checks it still holds (a stopped process cannot release); if it had
    /// released in between, wakes it and tries again, for a while. Returns the process, what it
    /// was caught doing, and when the SIGSTOP that stuck was sent.
    fn stop_holder(
        &mut self,
        fleet: &Fleet,
        admin: &Client,
    ) -> Result<(String, String, i64), String> {
        let lock = admin
            .restrict(LOCK, ZookeeperRecipe::WriteLock, "nemesis", None)
            .map_err(|e| e.to_string())?;
        // Long enough for the sessions of killed holders to expire and the lock to move on.
        let deadline = Instant::now() + self.session * 3;
        while Instant::now() < deadline {
            let holders = lock.lease_holders().unwrap_or_default();
            let Some((holder, proc)) =
                holders.iter().find_map(|h| fleet.owner_of(h).map(|p| (h, p)))
            else {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            };
            // A holder that has just been granted the lock is often still on its way out of
            // acquire; a few milliseconds later it is at work under the lock.
            std::thread::sleep(Duration::from_millis(self.rng.u64(4..12)));
            let stopped = now_ns();
            proc.signal(libc::SIGSTOP);
            if lock.lease_holders().unwrap_or_default().contains(holder) {
                return Ok((proc.id.clone(), format!("caught holding as {holder}"), stopped));
            }
            proc.signal(libc::SIGCONT);
            std::thread::sleep(Duration::from_millis(self.rng.u64(1..20)));
        }
        let live: Vec<_> = fleet.live().collect();
        let any = live.get(self.rng.usize(..live.len().max(1))).ok_or("no live worker")?;
        let stopped = now_ns();
        any.signal(libc::SIGSTOP);
        Ok((any.id.clone(), "holding nothing".to_string(), stopped))
    }
}
