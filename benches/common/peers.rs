//! The Rust peers: zkcluster, the `zookeeper` crate, and the bare-socket floor, each running
//! every workload the same way (same paths, same values, same counts or time slices).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::wire::{create_mode, op, Body, Reader};
use zkcluster::{Client, Restriction, ZookeeperRecipe};

use super::raw::RawConn;
use super::{Cfg, LockKind, Peer, Sample, Workload, R, TARGET, VALUE, VALUE2};

/// Runs `f` on `threads` threads for `slice`; returns calls per second.
fn threaded(threads: usize, slice: Duration, f: impl Fn() -> R<()> + Sync) -> R<f64> {
    let stop = AtomicBool::new(false);
    let start = Instant::now();
    let counts: Vec<R<u64>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut n = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        f()?;
                        n += 1;
                    }
                    Ok(n)
                })
            })
            .collect();
        std::thread::sleep(slice);
        stop.store(true, Ordering::Relaxed);
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("bench thread panicked".into())))
            .collect()
    });
    let elapsed = start.elapsed().as_secs_f64();
    let mut total = 0;
    for c in counts {
        total += c?;
    }
    Ok(total as f64 / elapsed)
}

/// Repeats `f` for `slice`; returns calls per second.
fn timed(slice: Duration, mut f: impl FnMut() -> R<()>) -> R<f64> {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < slice {
        f()?;
        n += 1;
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

/// Times each of the five serial phases over `paths`.
fn serial_phases(
    paths: &[String],
    mut phase: impl FnMut(&'static str, &str) -> R<()>,
) -> R<Sample> {
    let mut sample = Vec::new();
    for name in ["create", "get", "set", "exists", "delete"] {
        let start = Instant::now();
        for p in paths {
            phase(name, p)?;
        }
        sample.push((name.to_string(), paths.len() as f64 / start.elapsed().as_secs_f64()));
    }
    Ok(sample)
}

/// `threads` threads passing one lock for `slice`: `cycle` acquires, runs the closure handed
/// to it while holding, and releases. Returns releases per second within the slice.
fn handoff<S: Send>(
    threads: usize,
    slice: Duration,
    setup: impl Fn(usize) -> R<S> + Sync,
    cycle: impl Fn(&mut S, &dyn Fn()) -> R<()> + Sync,
) -> R<f64> {
    let states: Vec<S> = (0..threads).map(&setup).collect::<R<_>>()?;
    let stop = AtomicBool::new(false);
    let released = AtomicU64::new(0);
    let start = Instant::now();
    let deadline = start + slice;
    let results: Vec<R<()>> = std::thread::scope(|s| {
        let handles: Vec<_> = states
            .into_iter()
            .map(|mut state| {
                let (stop, released, cycle) = (&stop, &released, &cycle);
                s.spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        // Counted while held, so a release after the deadline is not counted.
                        let held = || {
                            if Instant::now() < deadline {
                                released.fetch_add(1, Ordering::Relaxed);
                            }
                        };
                        cycle(&mut state, &held)?;
                    }
                    Ok(())
                })
            })
            .collect();
        std::thread::sleep(slice);
        stop.store(true, Ordering::Relaxed);
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("bench thread panicked".into())))
            .collect()
    });
    for r in results {
        r?;
    }
    Ok(released.load(Ordering::Relaxed) as f64 / slice.as_secs_f64())
}

fn paths(base: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{base}/n{i}")).collect()
}

// ---------------------------------------------------------------------------------------------

/// zkcluster: one client for everything but the hand-off (which gives each thread a client).
pub struct Zk {
    pub connect: String,
    pub client: Client,
}

impl Zk {
    pub fn new(connect: &str) -> R<Zk> {
        Ok(Zk { connect: connect.to_string(), client: Client::connect(connect)? })
    }
}

fn recipe(kind: LockKind) -> (ZookeeperRecipe, Option<u32>) {
    match kind {
        LockKind::Write => (ZookeeperRecipe::WriteLock, None),
        LockKind::Read => (ZookeeperRecipe::ReadLock, None),
        LockKind::Semaphore => (ZookeeperRecipe::Semaphore, Some(super::SEMAPHORE_LEASES)),
    }
}

impl Peer for Zk {
    fn name(&self) -> &'static str {
        "zkcluster"
    }

    fn run(&mut self, w: &Workload, cfg: &Cfg, base: &str) -> R<Sample> {
        let c = &self.client;
        match *w {
            Workload::Serial => {
                c.create_node(base, "")?;
                serial_phases(&paths(base, cfg.serial_n), |phase, p| {
                    match phase {
                        "create" => {
                            c.create_node(p, VALUE)?;
                        }
                        "get" => {
                            c.get_node(p)?;
                        }
                        "set" => {
                            c.set_value_to_node(p, VALUE2)?;
                        }
                        "exists" => {
                            c.exist_node(p)?.ok_or("missing node")?;
                        }
                        _ => {
                            c.delete_node(p)?;
                        }
                    }
                    Ok(())
                })
            }
            Workload::Exists(t) => {
                let rate = threaded(t, cfg.slice, || {
                    c.exist_node(TARGET)?;
                    Ok(())
                })?;
                Ok(vec![(w.row(), rate)])
            }
            Workload::GetPipelined(n) => {
                let rate = timed(cfg.slice, || {
                    let pending: Vec<_> = (0..n).map(|_| c.get_node_async(TARGET)).collect();
                    for p in pending {
                        p.wait()?;
                    }
                    Ok(())
                })?;
                Ok(vec![(w.row(), rate * n as f64)])
            }
            Workload::Lock(kind) => {
                let (recipe, leases) = recipe(kind);
                let lock = c.restrict(base, recipe, "bench", leases)?;
                lock.acquire()?.release()?; // the first cycle creates the lock's path
                                            // Acquire and drop, as a `let _guard = lock.acquire()?` scope does: the drop
                                            // puts the delete on the wire without waiting for it.
                let rate = timed(cfg.slice, || {
                    drop(lock.acquire()?);
                    Ok(())
                })?;
                Ok(vec![(w.row(), rate)])
            }
            Workload::Handoff(t) => {
                let connect = self.connect.clone();
                c.create_node(base, "")?;
                let rate = handoff(
                    t,
                    cfg.slice,
                    |i| {
                        let client = Client::connect(&connect)?;
                        let lock = client.restrict(
                            base,
                            ZookeeperRecipe::WriteLock,
                            &format!("t{i}"),
                            None,
                        )?;
                        Ok((client, lock))
                    },
                    |(_, lock), held| {
                        let guard = lock.acquire()?;
                        held();
                        drop(guard);
                        Ok(())
                    },
                )?;
                Ok(vec![(w.row(), rate)])
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------

/// The `zookeeper` crate (0.8): one shared handle; no async API, no lock recipes.
pub struct Crate {
    zk: Arc<zookeeper::ZooKeeper>,
}

impl Crate {
    pub fn new(connect: &str) -> R<Crate> {
        let zk = zookeeper::ZooKeeper::connect(
            connect,
            Duration::from_secs(30),
            |_: zookeeper::WatchedEvent| {},
        )?;
        zk.exists("/", false)?; // the handle connects in the background
        Ok(Crate { zk: Arc::new(zk) })
    }
}

fn open() -> Vec<zookeeper::Acl> {
    zookeeper::Acl::open_unsafe().clone()
}

impl Peer for Crate {
    fn name(&self) -> &'static str {
        "crate"
    }

    fn run(&mut self, w: &Workload, cfg: &Cfg, base: &str) -> R<Sample> {
        use zookeeper::CreateMode;
        let zk = &*self.zk;
        match *w {
            Workload::Serial => {
                zk.create(base, Vec::new(), open(), CreateMode::Persistent)?;
                serial_phases(&paths(base, cfg.serial_n), |phase, p| {
                    match phase {
                        "create" => {
                            drop(zk.create(p, VALUE.to_vec(), open(), CreateMode::Persistent)?)
                        }
                        "get" => {
                            zk.get_data(p, false)?;
                        }
                        "set" => {
                            zk.set_data(p, VALUE2.to_vec(), None)?;
                        }
                        "exists" => {
                            zk.exists(p, false)?.ok_or("missing node")?;
                        }
                        _ => zk.delete(p, None)?,
                    }
                    Ok(())
                })
            }
            Workload::Exists(t) => {
                let rate = threaded(t, cfg.slice, || {
                    zk.exists(TARGET, false)?;
                    Ok(())
                })?;
                Ok(vec![(w.row(), rate)])
            }
            // No async API, no recipes: these rows stay empty for the crate.
            Workload::GetPipelined(_) | Workload::Handoff(_) => Ok(Vec::new()),
            Workload::Lock(_) => {
                // The minimal hand-written cycle: create a sequential ephemeral, list, delete.
                zk.create(base, Vec::new(), open(), CreateMode::Persistent)?;
                let prefix = format!("{base}/lock-");
                let rate = timed(cfg.slice, || {
                    let me =
                        zk.create(&prefix, Vec::new(), open(), CreateMode::EphemeralSequential)?;
                    zk.get_children(base, false)?;
                    zk.delete(&me, None)?;
                    Ok(())
                })?;
                Ok(vec![(w.row(), rate)])
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------

/// The bare-socket floor: a fresh raw connection per workload.
pub struct Floor {
    pub addr: String,
}

/// Keeps `window` requests for `path` in flight on one connection for `slice`: every reply read
/// is answered with a new request, written in one go with the others read in the same wake-up.
fn pipelined(addr: &str, opcode: i32, path: &str, window: usize, slice: Duration) -> R<f64> {
    let mut conn = RawConn::connect(addr)?;
    let request = Body::path_watch(path, false);
    let mut out = Vec::with_capacity(window * 32);
    for _ in 0..window {
        conn.encode(&mut out, opcode, &request);
    }
    conn.write(&out)?;
    let start = Instant::now();
    let mut done = 0u64;
    while start.elapsed() < slice {
        out.clear();
        loop {
            let reply = conn.recv()?;
            if reply.xid > 0 {
                if reply.err != 0 {
                    return Err(format!("pipelined op {opcode}: error {}", reply.err).into());
                }
                done += 1;
                conn.encode(&mut out, opcode, &request);
            }
            if !conn.has_frame() {
                break;
            }
        }
        conn.write(&out)?;
    }
    let elapsed = start.elapsed().as_secs_f64();
    for _ in 0..window {
        conn.reply()?;
    }
    conn.close();
    Ok(done as f64 / elapsed)
}

impl Peer for Floor {
    fn name(&self) -> &'static str {
        "floor"
    }

    fn run(&mut self, w: &Workload, cfg: &Cfg, base: &str) -> R<Sample> {
        match *w {
            Workload::Serial => {
                let mut conn = RawConn::connect(&self.addr)?;
                conn.ensure(base)?;
                let sample = serial_phases(&paths(base, cfg.serial_n), |phase, p| {
                    match phase {
                        "create" => {
                            conn.create(p, VALUE, create_mode::PERSISTENT)?;
                        }
                        "get" => conn.get(p)?,
                        "set" => conn.set(p, VALUE2)?,
                        "exists" => {
                            if !conn.exists(p, false)? {
                                return Err("missing node".into());
                            }
                        }
                        _ => conn.delete(p)?,
                    }
                    Ok(())
                })?;
                conn.close();
                Ok(sample)
            }
            Workload::Exists(t) => {
                Ok(vec![(w.row(), pipelined(&self.addr, op::EXISTS, TARGET, t, cfg.slice)?)])
            }
            Workload::GetPipelined(n) => {
                Ok(vec![(w.row(), pipelined(&self.addr, op::GET_DATA, TARGET, n, cfg.slice)?)])
            }
            Workload::Lock(LockKind::Semaphore) => {
                Ok(vec![(w.row(), semaphore_floor(&self.addr, base, cfg.slice)?)])
            }
            Workload::Lock(_) => {
                // The least a lock cycle needs: one round trip, the delete of the last cycle's
                // node pipelined with this cycle's create and getChildren.
                let mut conn = RawConn::connect(&self.addr)?;
                conn.ensure(base)?;
                let prefix = format!("{base}/lock-");
                let create = Body::create(&prefix, b"", create_mode::EPHEMERAL_SEQUENTIAL);
                let list = Body::path_watch(base, false);
                let mut out = Vec::new();
                let mut last: Option<String> = None;
                let rate = timed(cfg.slice, || {
                    out.clear();
                    let deleting = last.take();
                    if let Some(node) = &deleting {
                        conn.encode(&mut out, op::DELETE, &Body::delete(node));
                    }
                    conn.encode(&mut out, op::CREATE, &create);
                    conn.encode(&mut out, op::GET_CHILDREN, &list);
                    conn.write(&out)?;
                    if deleting.is_some() {
                        let deleted = conn.reply()?;
                        if deleted.err != 0 {
                            return Err(format!("delete: error {}", deleted.err).into());
                        }
                    }
                    let created = conn.reply()?;
                    if created.err != 0 {
                        return Err(format!("create: error {}", created.err).into());
                    }
                    let me = Reader::new(conn.body(&created)).string()?;
                    let listed = conn.reply()?;
                    if listed.err != 0 {
                        return Err(format!("get_children: error {}", listed.err).into());
                    }
                    last = Some(me);
                    Ok(())
                })?;
                if let Some(node) = last {
                    conn.delete(&node)?;
                }
                conn.close();
                Ok(vec![(w.row(), rate)])
            }
            Workload::Handoff(t) => {
                let mut setup = RawConn::connect(&self.addr)?;
                setup.ensure(base)?;
                setup.close();
                let prefix = format!("{base}/n-");
                let rate = handoff(
                    t,
                    cfg.slice,
                    |_| Ok(RawConn::connect(&self.addr)?),
                    |conn, held| {
                        // The least a lock can do: queue, list, watch the predecessor, wait for
                        // its deletion (nobody gives up here, so that means our turn), release.
                        let me = conn.create(&prefix, b"", create_mode::EPHEMERAL_SEQUENTIAL)?;
                        let name = me.rsplit('/').next().unwrap_or_default().to_string();
                        loop {
                            let mut queue = conn.children(base)?;
                            queue.sort();
                            let Some(pos) = queue.iter().position(|n| *n == name) else {
                                return Err("own lock node vanished".into());
                            };
                            if pos == 0 {
                                break;
                            }
                            if conn.exists(&format!("{base}/{}", queue[pos - 1]), true)? {
                                conn.wait_event()?;
                                break;
                            }
                        }
                        held();
                        conn.delete(&me)?;
                        Ok(())
                    },
                )?;
                Ok(vec![(w.row(), rate)])
            }
        }
    }
}

/// The least a semaphore cycle in Kazoo's layout needs (pool `base`, inner lock `base-__lock__`,
/// leases under the pool): one round trip of four requests — create and list the inner lock,
/// list the pool, create the lease — with the last cycle's two deletes (inner node, lease) in
/// front (the pool's data need not be read every cycle). Four writes a cycle where a lock
/// cycle has two.
fn semaphore_floor(addr: &str, base: &str, slice: Duration) -> R<f64> {
    let mut conn = RawConn::connect(addr)?;
    conn.ensure(base)?;
    let inner = format!("{base}-__lock__");
    conn.ensure(&inner)?;
    let create_inner =
        Body::create(&format!("{inner}/lock-"), b"", create_mode::EPHEMERAL_SEQUENTIAL);
    let list_inner = Body::path_watch(&inner, false);
    let pool = Body::path_watch(base, false);
    let check = |what: &str, err: i32| -> R<()> {
        if err == 0 {
            Ok(())
        } else {
            Err(format!("semaphore floor {what}: error {err}").into())
        }
    };
    let mut out = Vec::new();
    let mut last: Vec<String> = Vec::new();
    let mut n = 0u64;
    let rate = timed(slice, || {
        out.clear();
        let deleting = std::mem::take(&mut last);
        for node in &deleting {
            conn.encode(&mut out, op::DELETE, &Body::delete(node));
        }
        let lease = format!("{base}/lease-{n}");
        n += 1;
        conn.encode(&mut out, op::CREATE, &create_inner);
        conn.encode(&mut out, op::GET_CHILDREN, &list_inner);
        conn.encode(&mut out, op::GET_CHILDREN, &pool);
        conn.encode(&mut out, op::CREATE, &Body::create(&lease, b"", create_mode::EPHEMERAL));
        conn.write(&out)?;
        for _ in &deleting {
            check("delete", conn.reply()?.err)?;
        }
        let created = conn.reply()?;
        check("create inner", created.err)?;
        let me = Reader::new(conn.body(&created)).string()?;
        check("list inner", conn.reply()?.err)?;
        check("list pool", conn.reply()?.err)?;
        check("create lease", conn.reply()?.err)?;
        last = vec![me, lease];
        Ok(())
    })?;
    for node in last {
        conn.delete(&node)?;
    }
    conn.close();
    Ok(rate)
}
