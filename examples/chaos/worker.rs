//! One worker process: a client shared by writer, reader and semaphore threads, each cycling
//! through acquire → work → release and logging what it saw, one line per cycle, to its own
//! file (one `write` per line, so a `kill -9` loses at most the line being written).
//!
//! Talks to the harness over stdin/stdout: prints `ready` once connected, stops cycling on
//! `stop` (and prints `idle` when every thread has released), exits on `exit` or end of input.
//!
//! Line formats (times in ns since the Unix epoch; `-1` for "none"):
//! - `W hold acquired last_valid released token read wrote outcome store`
//! - `R hold acquired last_valid released first second second_read_at`
//! - `S hold acquired last_valid released`
//! - `L op started ended limit_ms` — a call that overran its deadline
//! - `T kind` — an acquire that timed out; `E op error` — any other failure

use std::fs::{File, OpenOptions};
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use zkcluster::{Client, Guard, Restriction, ZookeeperRecipe};

use crate::safety;
use crate::store::{Outcome, Store};
use crate::{now_ns, Args, COUNTER, LOCK, SEMAPHORE, SEMAPHORE_LEASES};

/// How much later than its deadline a call may return before it counts as late: room for a
/// loaded 2-core machine, and for the least wait the locks give a reply already on its way.
pub const LATE_SLACK: Duration = Duration::from_millis(1500);

pub struct WorkerConfig {
    pub id: String,
    pub connect: String,
    pub dir: PathBuf,
    pub writers: usize,
    pub readers: usize,
    pub holders: usize,
    pub session: Duration,
    pub request: Duration,
    pub acquire: Duration,
    pub seed: u64,
    /// The counterfactual: plain writes and a store that takes any token, to show what the
    /// checks catch without fencing.
    pub unfenced: bool,
}

impl WorkerConfig {
    pub fn from_args(args: &Args) -> Result<WorkerConfig, String> {
        Ok(WorkerConfig {
            id: args.text("--id")?,
            connect: args.text("--connect")?,
            dir: PathBuf::from(args.text("--dir")?),
            writers: args.number("--writers", 2)? as usize,
            readers: args.number("--readers", 1)? as usize,
            holders: args.number("--holders", 1)? as usize,
            session: Duration::from_millis(args.number("--session-ms", 2000)?),
            request: Duration::from_millis(args.number("--request-ms", 2000)?),
            acquire: Duration::from_millis(args.number("--acquire-ms", 6000)?),
            seed: args.number("--seed", 1)?,
            unfenced: args.has("--unfenced"),
        })
    }

    /// The command-line form `from_args` reads.
    pub fn to_args(&self) -> Vec<String> {
        let ms = |d: Duration| d.as_millis().to_string();
        let unfenced = self.unfenced.then(|| "--unfenced".to_string());
        [
            ("--id", self.id.clone()),
            ("--connect", self.connect.clone()),
            ("--dir", self.dir.display().to_string()),
            ("--writers", self.writers.to_string()),
            ("--readers", self.readers.to_string()),
            ("--holders", self.holders.to_string()),
            ("--session-ms", ms(self.session)),
            ("--request-ms", ms(self.request)),
            ("--acquire-ms", ms(self.acquire)),
            ("--seed", self.seed.to_string()),
        ]
        .into_iter()
        .flat_map(|(k, v)| [k.to_string(), v])
        .chain(unfenced)
        .collect()
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.join(format!("{}.log", self.id))
    }
}

struct Ctx {
    cfg: WorkerConfig,
    client: Client,
    log: Mutex<File>,
    store: Store,
    stop: AtomicBool,
}

impl Ctx {
    fn line(&self, text: String) {
        let mut file = self.log.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let _ = file.write_all(format!("{text}\n").as_bytes());
    }

    /// Runs `f`, logging it as late if it returned more than [`LATE_SLACK`] after `limit`.
    fn timed<T>(&self, op: &str, limit: Duration, f: impl FnOnce() -> T) -> T {
        let (started, clock) = (now_ns(), Instant::now());
        let out = f();
        if clock.elapsed() > limit + LATE_SLACK {
            self.line(format!("L {op} {started} {} {}", now_ns(), limit.as_millis()));
        }
        out
    }

    fn failed(&self, op: &str, e: &zkcluster::Error) {
        if e.is_timeout() && op.starts_with("acquire") {
            self.line(format!("T {op}"));
        } else {
            self.line(format!("E {op} {}", e.to_string().replace('\n', " ")));
        }
    }

    fn counter(&self) -> Result<u64, zkcluster::Error> {
        let node = self.timed("get", self.cfg.request, || self.client.get_node(COUNTER))?;
        Ok(node.value_str()?.trim().parse().unwrap_or(0))
    }
}

/// What a holder knows about its own hold: when it began and the last time the guard said held.
struct Hold<'a> {
    guard: &'a Guard,
    acquired: i64,
    last_valid: i64,
}

impl<'a> Hold<'a> {
    fn begin(guard: &'a Guard) -> Hold<'a> {
        let mut hold = Hold { guard, acquired: now_ns(), last_valid: -1 };
        hold.check();
        hold
    }

    /// Asks the guard; the time is taken before asking, so a `true` covers it.
    fn check(&mut self) -> bool {
        let at = now_ns();
        let valid = safety::still_valid(self.guard);
        if valid {
            self.last_valid = at;
        }
        valid
    }
}

pub fn run(cfg: WorkerConfig) -> Result<(), String> {
    // Die with the harness, even while SIGSTOPped (a stopped process would never read the end
    // of its stdin). SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    let client = Client::builder(&cfg.connect)
        .session_timeout(cfg.session)
        .request_timeout(cfg.request)
        .connect_timeout(Duration::from_secs(20))
        .connect()
        .map_err(|e| format!("{}: connect: {e}", cfg.id))?;
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(cfg.log_path())
        .map_err(|e| format!("{}: {e}", cfg.log_path().display()))?;
    let store = Store::new(&cfg.dir);
    let ctx =
        Arc::new(Ctx { cfg, client, log: Mutex::new(log), store, stop: AtomicBool::new(false) });
    println!("ready {}", std::process::id());
    let _ = std::io::stdout().flush();

    let mut threads = Vec::new();
    let roles = [("w", ctx.cfg.writers), ("r", ctx.cfg.readers), ("s", ctx.cfg.holders)];
    for (r, (role, count)) in roles.into_iter().enumerate() {
        for i in 0..count {
            let ctx = Arc::clone(&ctx);
            let name = format!("{}-{role}{i}", ctx.cfg.id);
            let seed = ctx.cfg.seed.wrapping_mul(1_000_003).wrapping_add((r * 1000 + i) as u64);
            threads.push(std::thread::spawn(move || cycle_until_stopped(&ctx, role, &name, seed)));
        }
    }

    let mut lines = std::io::stdin().lock().lines();
    while let Some(Ok(line)) = lines.next() {
        if line.trim() == "stop" {
            break;
        }
    }
    ctx.stop.store(true, Ordering::SeqCst);
    for t in threads {
        let _ = t.join();
    }
    println!("idle");
    let _ = std::io::stdout().flush();
    for line in lines {
        if line.map_or(true, |l| l.trim() == "exit") {
            break;
        }
    }
    let _ = ctx.client.close();
    Ok(())
}

fn cycle_until_stopped(ctx: &Ctx, role: &str, name: &str, seed: u64) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let restrict = |recipe, leases| ctx.client.restrict(LOCK, recipe, name, leases);
    let lock = match role {
        "w" => restrict(ZookeeperRecipe::WriteLock, None),
        "r" => restrict(ZookeeperRecipe::ReadLock, None),
        _ => {
            ctx.client.restrict(SEMAPHORE, ZookeeperRecipe::Semaphore, name, Some(SEMAPHORE_LEASES))
        }
    };
    let lock = match lock {
        Ok(lock) => lock,
        Err(e) => return ctx.failed("restrict", &e),
    };
    let mut n = 0u64;
    while !ctx.stop.load(Ordering::SeqCst) {
        n += 1;
        let hold_id = format!("{name}#{n}");
        let acquired =
            ctx.timed("acquire", ctx.cfg.acquire, || lock.acquire_timeout(ctx.cfg.acquire));
        let guard = match acquired {
            Ok(guard) => guard,
            Err(e) => {
                ctx.failed(&format!("acquire-{role}"), &e);
                std::thread::sleep(Duration::from_millis(rng.u64(5..50)));
                continue;
            }
        };
        let done = match role {
            "w" => write_cycle(ctx, &guard, &hold_id, &mut rng),
            "r" => read_cycle(ctx, &guard, &mut rng),
            _ => lease_cycle(&guard, &mut rng),
        };
        ctx.timed("release", ctx.cfg.request, || drop(guard));
        let tag = role.to_uppercase();
        let (acquired, last_valid, rest) = (done.acquired, done.last_valid, done.rest);
        ctx.line(
            format!("{tag} {hold_id} {acquired} {last_valid} {} {rest}", now_ns())
                .trim_end()
                .to_string(),
        );
    }
}

/// One hold, as logged: when it began, the last time the guard said held, the role's fields.
struct Done {
    acquired: i64,
    last_valid: i64,
    rest: String,
}

impl Hold<'_> {
    fn done(self, rest: String) -> Done {
        Done { acquired: self.acquired, last_valid: self.last_valid, rest }
    }
}

/// Increments the counter under the write lock: read, write to the outside store with the
/// token, then the fenced set.
fn write_cycle(ctx: &Ctx, guard: &Guard, hold_id: &str, rng: &mut fastrand::Rng) -> Done {
    let mut hold = Hold::begin(guard);
    let token = safety::token(guard);
    let (mut read, mut wrote) = (-1i64, -1i64);
    let (mut outcome, mut stored) = ("none", "none");
    match ctx.counter() {
        Ok(v) => read = v as i64,
        Err(e) => ctx.failed("get", &e),
    }
    if read >= 0 {
        hold.check();
        // Work "under the lock", the longest step of a hold: a pause of the process (GC,
        // SIGSTOP) most likely lands here, between the read and the writes.
        std::thread::sleep(Duration::from_millis(rng.u64(2..20)));
        let value = read as u64 + 1;
        // No validity check right before the writes, on purpose: the store and the server
        // must refuse a stale holder's writes on their own.
        let token = if ctx.cfg.unfenced { i64::MAX } else { token };
        stored = match ctx.store.write(token, value, hold_id, now_ns()) {
            Ok(Outcome::Accepted) => "accepted",
            Ok(Outcome::Rejected { .. }) => "rejected",
            Err(e) => {
                ctx.line(format!("E store {e}"));
                "error"
            }
        };
        let set = ctx.timed("set", ctx.cfg.request, || {
            let value = value.to_string();
            if ctx.cfg.unfenced {
                ctx.client.set_value_to_node(COUNTER, &value).map(|_| ())
            } else {
                safety::fenced_set(guard, COUNTER, value.as_bytes())
            }
        });
        outcome = match set {
            Ok(()) => {
                wrote = value as i64;
                "ok"
            }
            Err(e) if safety::is_lock_lost(&e) => "lost",
            Err(e) => {
                ctx.failed("set", &e);
                wrote = value as i64;
                "unknown"
            }
        };
    }
    hold.check();
    hold.done(format!("{token} {read} {wrote} {outcome} {stored}"))
}

/// Reads the counter twice under the read lock: no writer may change it in between.
fn read_cycle(ctx: &Ctx, guard: &Guard, rng: &mut fastrand::Rng) -> Done {
    let mut hold = Hold::begin(guard);
    let first = ctx.counter().map_or(-1, |v| v as i64);
    std::thread::sleep(Duration::from_millis(rng.u64(1..5)));
    let second = ctx.counter().map_or(-1, |v| v as i64);
    let second_at = now_ns();
    hold.check();
    hold.done(format!("{first} {second} {second_at}"))
}

/// Holds a semaphore lease for a few milliseconds.
fn lease_cycle(guard: &Guard, rng: &mut fastrand::Rng) -> Done {
    let mut hold = Hold::begin(guard);
    std::thread::sleep(Duration::from_millis(rng.u64(2..10)));
    hold.check();
    hold.done(String::new())
}
