//! Users' own lock types behind `#[derive(Recipe)]`, run against a real ZooKeeper.
//!
//! The seed declares `class NewZKRecipe(Enum): READ_LOCK = "NewReadLock"; ...` and `restrict`
//! looks the class up by name. Here `NewZKRecipe` (in `locks.rs`) names the types
//! `NewReadLock` (a `ReadLock` that logs and counts its waits), `NewWriteLock` (a `WriteLock`
//! that logs its acquire times) and `NewSemaphore` (a semaphore with its own lease layout), and
//! `client.restrict(path, recipe, ...)` returns the generated `NewZKRecipeRestriction`, which
//! dispatches statically to the named type.
//!
//! The demo:
//! 1. reads which recipe serves which role from a config string (`"NewSemaphore".parse()`);
//! 2. runs writers and readers on one path through the dispatch and checks that a writer never
//!    overlaps anyone, and that readers had to wait (counted by `NewReadLock`) while a writer held
//!    the lock;
//! 3. runs workers on two sessions through `NewSemaphore` and checks the holders never exceed
//!    `max_leases`;
//! 4. shows a deadline and a cancel on a full semaphore;
//! 5. builds every lock of a second enum declared with `#[recipe(module = locks)]`;
//! 6. checks that no lock or lease node is left, and exits non-zero if any check failed.
//!
//! ```text
//! cargo run --example custom_recipe            # starts a local ZooKeeper (test kit)
//! ZK_CONNECT=127.0.0.1:2181 cargo run --example custom_recipe
//! RUST_LOG=custom_recipe=debug cargo run --example custom_recipe   # more of the locks' logs
//! ```
//! Without `ZK_CONNECT` it starts a local ZooKeeper through zkcluster's test kit, installing it
//! with `scripts/install-zookeeper.sh` if missing. It takes a few seconds.

mod locks;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use locks::{total_read_waits, NewZKRecipe, NewZKRecipeRestriction};
use zkcluster::testing::TestingServer;
use zkcluster::{Client, Recipe, Restriction};

/// The same lock types, looked up in a module by variant name (Python's `getattr(module, name)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Recipe)]
// The variants are the type names, so they share the `New` prefix by construction.
#[allow(clippy::enum_variant_names)]
#[recipe(module = locks, restriction = ModuleLock)]
enum ByModule {
    NewReadLock,
    NewWriteLock,
    NewSemaphore,
}

/// Which recipe serves which role, as an operator would configure it.
const CONFIG: &str = "
    # role = recipe
    frontier = NewWriteLock
    snapshot = NewReadLock
    fetchers = NewSemaphore
";

const FETCHERS: u32 = 2;

/// The recipes of the three roles.
struct Roles {
    write: NewZKRecipe,
    read: NewZKRecipe,
    pool: NewZKRecipe,
}

fn parse_config(text: &str) -> Result<Roles, String> {
    let mut roles = (None, None, None);
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let (role, recipe) = line.split_once('=').ok_or(format!("not `role = recipe`: {line}"))?;
        let recipe: NewZKRecipe = recipe.trim().parse().map_err(|e| format!("{line}: {e}"))?;
        match role.trim() {
            "frontier" => roles.0 = Some(recipe),
            "snapshot" => roles.1 = Some(recipe),
            "fetchers" => roles.2 = Some(recipe),
            other => return Err(format!("unknown role {other}")),
        }
    }
    match roles {
        (Some(write), Some(read), Some(pool)) => Ok(Roles { write, read, pool }),
        _ => Err("the config needs frontier, snapshot and fetchers".into()),
    }
}

fn connect(connect_string: &str) -> zkcluster::Result<Client> {
    Client::builder(connect_string)
        .session_timeout(Duration::from_secs(6))
        .request_timeout(Duration::from_secs(10))
        .connect()
}

/// The results of the checks.
#[derive(Default)]
struct Checks {
    failed: Vec<String>,
}

impl Checks {
    fn check(&mut self, ok: bool, what: impl Into<String>) {
        let what = what.into();
        println!("  [{}] {what}", if ok { "ok" } else { "FAILED" });
        if !ok {
            self.failed.push(what);
        }
    }
}

fn main() {
    env_logger::Builder::from_env(
        env_logger::Env::default().default_filter_or("warn,custom_recipe=info"),
    )
    .init();
    let (_server, connect_string) = match std::env::var("ZK_CONNECT") {
        Ok(connect_string) => (None, connect_string),
        Err(_) => match TestingServer::start_or_install() {
            Ok(server) => {
                let connect_string = server.connect_string();
                println!("started a local ZooKeeper at {connect_string}");
                (Some(server), connect_string)
            }
            Err(e) => {
                eprintln!("cannot start a local ZooKeeper: {e}");
                std::process::exit(2);
            }
        },
    };
    let started = Instant::now();
    match run(&connect_string) {
        Ok(checks) if checks.failed.is_empty() => {
            println!("all checks passed in {:.1?}", started.elapsed());
        }
        Ok(checks) => {
            eprintln!("{} check(s) failed: {:?}", checks.failed.len(), checks.failed);
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("custom_recipe failed: {e}");
            std::process::exit(1);
        }
    }
}

fn run(connect_string: &str) -> zkcluster::Result<Checks> {
    let mut checks = Checks::default();
    let root = format!(
        "/zkcluster-custom-recipe/run-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos())
    );
    let (a, b) = (connect(connect_string)?, connect(connect_string)?);

    println!("1. recipes from configuration");
    let roles = match parse_config(CONFIG) {
        Ok(roles) => roles,
        Err(e) => {
            checks.check(false, format!("config parses: {e}"));
            return Ok(checks);
        }
    };
    println!(
        "  frontier -> {}, snapshot -> {}, fetchers -> {}",
        roles.write, roles.read, roles.pool
    );
    let typo = "NewMutex".parse::<NewZKRecipe>();
    if let Err(e) = &typo {
        println!("  a typo is refused: {e}");
    }
    checks.check(typo.is_err(), "an unknown recipe name is refused");
    let names: Vec<&str> = NewZKRecipe::ALL.iter().map(Recipe::name).collect();
    println!("  NewZKRecipe::ALL names: {names:?}");

    println!("2. writers and readers through NewZKRecipeRestriction");
    let data = format!("{root}/frontier");
    readers_and_writers(&[&a, &b], &data, &roles, &mut checks)?;

    println!("3. a NewSemaphore with {FETCHERS} leases");
    let pool = format!("{root}/fetchers");
    semaphore_workers(&[&a, &b], &pool, roles.pool, &mut checks)?;

    println!("4. deadline and cancel on a full semaphore");
    deadline_and_cancel(&a, &b, &pool, roles.pool, &mut checks)?;

    println!("5. the same types through #[recipe(module = locks)]");
    let module = format!("{root}/module");
    let mut leftovers = vec![data.clone()];
    for &recipe in ByModule::ALL {
        let max = (recipe == ByModule::NewSemaphore).then_some(1);
        let lock: ModuleLock = a.restrict(&format!("{module}/{recipe}"), recipe, "demo", max)?;
        let guard = lock.try_acquire()?;
        println!(
            "  {recipe:<12} at {}: acquired at once: {}, holders {:?}",
            lock.path(),
            guard.is_some(),
            lock.lease_holders()?
        );
        checks.check(guard.is_some(), format!("{recipe} through the module is free"));
        match &lock {
            ModuleLock::NewSemaphore(sem) => {
                leftovers.extend([sem.leases_path().to_string(), sem.mutex_path().to_string()])
            }
            other => leftovers.push(other.path().to_string()),
        }
    }

    println!("6. nothing left behind");
    let pool_lock: NewZKRecipeRestriction = a.restrict(&pool, roles.pool, "observer", Some(1))?;
    if let NewZKRecipeRestriction::Semaphore(sem) = &pool_lock {
        leftovers.extend([sem.leases_path().to_string(), sem.mutex_path().to_string()]);
    }
    for path in &leftovers {
        let left = children_soon_empty(&a, path)?;
        checks.check(left.is_empty(), format!("no node left under {path} ({left:?})"));
    }
    a.delete_recursive(&root)?;
    // The shared parent goes when the last run leaves it empty.
    match a.delete("/zkcluster-custom-recipe", None) {
        Err(e) if !(e.is_not_empty() || e.is_no_node()) => return Err(e),
        _ => {}
    }
    a.close()?;
    b.close()?;
    Ok(checks)
}

/// Polls `path`'s children for up to two seconds (background deletions) until none is left;
/// returns those left.
fn children_soon_empty(client: &Client, path: &str) -> zkcluster::Result<Vec<String>> {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let children = match client.get_children(path) {
            Err(e) if e.is_no_node() => Vec::new(),
            other => other?,
        };
        if children.is_empty() || Instant::now() >= deadline {
            return Ok(children);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Two writers and four readers on two sessions: a writer never overlaps anyone; readers
/// arriving while a writer holds the lock wait (and `NewReadLock` counts it).
fn readers_and_writers(
    clients: &[&Client],
    path: &str,
    roles: &Roles,
    checks: &mut Checks,
) -> zkcluster::Result<()> {
    let writers = Arc::new(AtomicUsize::new(0));
    let readers = Arc::new(AtomicUsize::new(0));
    let max_readers = Arc::new(AtomicUsize::new(0));
    let overlap = Arc::new(AtomicBool::new(false));
    let waits_before = total_read_waits();

    // Hold the write lock first, so the readers starting now must wait behind it.
    let first: NewZKRecipeRestriction = clients[0].restrict(path, roles.write, "writer-0", None)?;
    let held = first.acquire()?;
    writers.fetch_add(1, Ordering::SeqCst);
    let until = Instant::now() + Duration::from_millis(1500);
    let mut threads = Vec::new();
    for i in 0..6 {
        let client = clients[i % clients.len()].clone();
        let (recipe, identifier) = if i < 2 {
            (roles.write, format!("writer-{}", i + 1))
        } else {
            (roles.read, format!("reader-{}", i - 1))
        };
        let lock: NewZKRecipeRestriction = client.restrict(path, recipe, &identifier, None)?;
        let (writers, readers, max_readers, overlap) =
            (writers.clone(), readers.clone(), max_readers.clone(), overlap.clone());
        threads.push(std::thread::spawn(move || -> zkcluster::Result<(usize, u64)> {
            let mut rounds = 0;
            while Instant::now() < until {
                let guard = lock.acquire_timeout(Duration::from_secs(10))?;
                match lock {
                    NewZKRecipeRestriction::WriteLock(_) => {
                        if writers.fetch_add(1, Ordering::SeqCst) > 0
                            || readers.load(Ordering::SeqCst) > 0
                        {
                            overlap.store(true, Ordering::SeqCst);
                        }
                        std::thread::sleep(Duration::from_millis(40));
                        writers.fetch_sub(1, Ordering::SeqCst);
                    }
                    _ => {
                        let now = readers.fetch_add(1, Ordering::SeqCst) + 1;
                        max_readers.fetch_max(now, Ordering::SeqCst);
                        if writers.load(Ordering::SeqCst) > 0 {
                            overlap.store(true, Ordering::SeqCst);
                        }
                        std::thread::sleep(Duration::from_millis(20));
                        readers.fetch_sub(1, Ordering::SeqCst);
                    }
                }
                guard.release()?;
                rounds += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            // The companion enum holds the user's type: reach its own methods by matching.
            let waits = match &lock {
                NewZKRecipeRestriction::ReadLock(read) => read.waits(),
                _ => 0,
            };
            Ok((rounds, waits))
        }));
    }
    // Let every reader queue behind the first writer, then release it.
    let queued = wait_until(Duration::from_secs(5), || {
        first.contenders().map(|c| c.iter().filter(|id| id.starts_with("reader")).count() >= 4)
    })?;
    println!("  queue while writer-0 holds the lock: {:?}", first.contenders()?);
    writers.fetch_sub(1, Ordering::SeqCst);
    held.release()?;
    let (mut rounds, mut counted) = (0, 0);
    for thread in threads {
        match thread.join() {
            Ok(result) => {
                let (r, w) = result?;
                rounds += r;
                counted += w;
            }
            Err(_) => checks.check(false, "a lock thread panicked"),
        }
    }
    let waits = total_read_waits() - waits_before;
    println!(
        "  {rounds} acquires; readers waited {waits} times ({counted} by the objects' own \
         counters); at most {} readers at once",
        max_readers.load(Ordering::SeqCst)
    );
    checks.check(counted == waits, "the per-object and process-wide wait counts agree");
    checks.check(queued, "the readers queued behind the first writer");
    checks.check(!overlap.load(Ordering::SeqCst), "a writer never overlapped anyone");
    checks.check(waits >= 4, format!("NewReadLock counted the waits ({waits} >= 4)"));
    Ok(())
}

/// Six workers on two sessions share a `NewSemaphore` of [`FETCHERS`] leases.
fn semaphore_workers(
    clients: &[&Client],
    path: &str,
    recipe: NewZKRecipe,
    checks: &mut Checks,
) -> zkcluster::Result<()> {
    let holding = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let seen_by_server = Arc::new(AtomicUsize::new(0));
    let mut threads = Vec::new();
    for i in 0..6 {
        let client = clients[i % clients.len()].clone();
        let lock: NewZKRecipeRestriction =
            client.restrict(path, recipe, &format!("fetcher-{i}"), Some(FETCHERS))?;
        let (holding, most, seen_by_server) =
            (holding.clone(), most.clone(), seen_by_server.clone());
        threads.push(std::thread::spawn(move || -> zkcluster::Result<()> {
            for _ in 0..4 {
                let lease = lock.acquire_timeout(Duration::from_secs(15))?;
                let now = holding.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                seen_by_server.fetch_max(lock.lease_holders()?.len(), Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(30));
                holding.fetch_sub(1, Ordering::SeqCst);
                lease.release()?;
            }
            Ok(())
        }));
    }
    for thread in threads {
        match thread.join() {
            Ok(result) => result?,
            Err(_) => checks.check(false, "a semaphore thread panicked"),
        }
    }
    let (most, seen) = (most.load(Ordering::SeqCst), seen_by_server.load(Ordering::SeqCst));
    println!("  24 leases taken; at most {most} held at once (server listed at most {seen})");
    checks.check(most <= FETCHERS as usize, format!("holders never exceeded {FETCHERS}"));
    checks.check(seen <= FETCHERS as usize, "the server never listed too many leases");
    checks.check(most == FETCHERS as usize, "the semaphore was used to capacity");
    Ok(())
}

/// Fills the semaphore, then shows an acquire timing out and one being cancelled.
fn deadline_and_cancel(
    a: &Client,
    b: &Client,
    path: &str,
    recipe: NewZKRecipe,
    checks: &mut Checks,
) -> zkcluster::Result<()> {
    let holder: NewZKRecipeRestriction = a.restrict(path, recipe, "holder", Some(FETCHERS))?;
    if let NewZKRecipeRestriction::Semaphore(sem) = &holder {
        println!("  a NewSemaphore of {} leases at {}", sem.max_leases(), sem.leases_path());
    }
    let leases: Vec<_> =
        (0..FETCHERS).map(|_| holder.acquire()).collect::<zkcluster::Result<_>>()?;
    println!("  holders: {:?}", holder.lease_holders()?);

    let late: NewZKRecipeRestriction = b.restrict(path, recipe, "late", Some(FETCHERS))?;
    checks.check(late.try_acquire()?.is_none(), "try_acquire on a full semaphore gives nothing");
    let started = Instant::now();
    let timed_out = late.acquire_timeout(Duration::from_millis(400));
    let took = started.elapsed();
    println!(
        "  acquire_timeout(400ms): {:?} after {took:.0?}",
        timed_out.as_ref().err().map(ToString::to_string)
    );
    checks.check(
        matches!(&timed_out, Err(e) if e.is_timeout()) && took < Duration::from_secs(2),
        "acquire_timeout on a full semaphore times out in time",
    );

    let cancel = late.cancel_handle();
    let waiter = std::thread::spawn(move || late.acquire().map(drop));
    std::thread::sleep(Duration::from_millis(300));
    cancel.cancel();
    let cancelled = waiter.join().unwrap_or(Ok(()));
    println!(
        "  acquire() from another thread: {:?}",
        cancelled.as_ref().err().map(ToString::to_string)
    );
    checks
        .check(matches!(&cancelled, Err(e) if e.is_cancelled()), "cancel stops a waiting acquire");
    checks
        .check(holder.lease_holders()?.len() == FETCHERS as usize, "the holders kept their leases");
    drop(leases);
    Ok(())
}

/// Polls `done` every 20 ms until it holds (`Ok(true)`) or `limit` passes (`Ok(false)`).
fn wait_until(
    limit: Duration,
    mut done: impl FnMut() -> zkcluster::Result<bool>,
) -> zkcluster::Result<bool> {
    let deadline = Instant::now() + limit;
    loop {
        if done()? {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
