//! Sessions: the connection, who reads it, pings, reconnects, and the session's states and
//! events.
//!
//! A [`Session`] owns one background thread (the driver, see `driver.rs`) that connects,
//! sends pings, notices a dead connection, reconnects, and handles expiry and close.
//!
//! Data flows one way, each file with one job:
//! - `core/`: the protocol core, every piece of protocol state in one struct without sockets
//!   or clocks of its own (the outbox, the requests in flight, xids, auth replays, the watch
//!   table, the session's identity and state, the timers); it consumes frames and the time and
//!   says what to send and whom to wake. Unit-tested without a server.
//! - `writer.rs`: moves the outbox onto the socket under a write token, no lock held while a
//!   write blocks.
//! - `reader.rs`: who reads (the reader token), handing each frame to the core.
//! - `driver.rs`: the session thread: connects (`handshake.rs`), feeds the core connection
//!   events and the clock, pings, reconnects.
//! - `subscribers.rs`: who hears transitions; `request.rs`: a caller's reply slot.
//!
//! Calling threads queue their own requests (see [`Shared::send`]), write them at once when
//! the write token is free and the socket takes them, and, as a rule, read their own replies:
//! the read side of the connection (socket, frame buffer) is a token in `Shared::reader`, and
//! a caller waiting for a reply takes it when it is free and reads and dispatches every frame
//! (anyone's replies, watch events, pings, auth) until its own reply is in, then hands it to
//! the next waiting caller (leader/follower, see `reader.rs`). A serial call therefore costs no
//! thread hop: the caller blocks in `read` itself, like a bare socket. The driver reads only
//! when no caller is waiting and callers have been quiet for a moment, so watch events still
//! arrive promptly while the client is idle; the first call after such a pause may get its
//! reply through the driver. Frames are dispatched by one token holder at a time, in stream
//! order, so a reply's watch is registered before the next frame is looked at, whichever
//! thread reads. A reader or writer that finds the stream broken shuts it down and reports
//! it; the driver fails what is in flight and reconnects, and what was not written yet waits
//! for the next connection, each request until its own deadline.

mod connect_string;
mod core;
mod driver;
mod events;
mod handshake;
mod life;
mod liveness;
// Four-letter commands, and the search for a read-write server while on a read-only one.
mod probe;
mod reader;
mod request;
mod subscribers;
// The DIGEST-MD5 mechanism, run by the handshake.
pub(crate) mod sasl;
// The GSSAPI (Kerberos) mechanism, run by the handshake like DIGEST-MD5.
#[cfg(feature = "gssapi")]
mod gssapi;
// The connection's byte stream (plain TCP or TLS) and its read and write halves.
mod stream;
// TLS options and handshake.
#[cfg(feature = "tls")]
pub(crate) mod tls;
mod writer;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

pub use self::core::watches::{WatchEventKind, WatchedEvent};
pub(crate) use self::core::watches::{WatchKind, WatchSender};
pub(crate) use connect_string::ConnectString;
pub use events::{SessionEvent, SessionState};
#[cfg(feature = "gssapi")]
pub use gssapi::GssapiConfig;
pub(crate) use life::SessionLife;
pub(crate) use probe::four_letter;
pub(crate) use reader::WatchWake;
pub(crate) use request::{RawReply, ReplyWaiter, WaitMode};
pub(crate) use stream::Connector;
pub use subscribers::{SessionEvents, SessionEventsIter};
#[cfg(feature = "tls")]
pub use tls::TlsConfig;

use self::core::timers::Activity;
use self::core::wire::{self, Job, Registration};
use self::core::Core;
use crate::{Error, Result};
use request::Failure;

/// The largest request the server accepts by default: ZooKeeper refuses a packet whose length
/// (the 4-byte length prefix not counted) is over `jute.maxbuffer`, 0xfffff bytes by default.
pub const DEFAULT_MAX_REQUEST: usize = 0xfffff;

/// Everything a session needs to know before it starts.
#[derive(Debug, Clone)]
pub(crate) struct SessionConfig {
    pub connect: ConnectString,
    pub session_timeout: Duration,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// Open a fresh session by itself after the old one is lost.
    pub renew_expired: bool,
    /// An existing session to resume instead of starting a new one: (id, password).
    pub resume: Option<(i64, Vec<u8>)>,
    /// The largest request (framed, length prefix not counted) that is sent.
    pub max_request: usize,
    /// Reconnect back-off after every host failed in turn: first pause, longest pause.
    pub backoff: (Duration, Duration),
    /// Accept a read-only server (one that lost its quorum) when no read-write one answers.
    pub can_be_read_only: bool,
    /// SASL DIGEST-MD5 credentials (user, password), run on every connection before it is used.
    pub sasl: Option<(String, String)>,
    /// Plain TCP, or TLS (`ClientBuilder::tls`).
    pub connector: Connector,
    /// SASL GSSAPI (Kerberos) options, run like `sasl` (the builder sets one or the other).
    #[cfg(feature = "gssapi")]
    pub gssapi: Option<GssapiConfig>,
}

/// An instant `d` from `now`, saturating far in the future (for `Duration::MAX` timeouts).
pub(crate) fn after(now: Instant, d: Duration) -> Instant {
    const FAR: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    now.checked_add(d.min(FAR))
        .or_else(|| now.checked_add(Duration::from_secs(86_400)))
        .unwrap_or(now)
}

/// A session and its driver thread. Dropping it closes it.
pub(crate) struct Session {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// Disconnected when the driver thread ends.
    exited: Receiver<()>,
    close_started: AtomicBool,
}

/// The state the driver thread and the calling threads share.
pub(crate) struct Shared {
    pub config: SessionConfig,
    /// The protocol state (outbox, in flight, xids, watches, identity, state); see `core/`.
    /// Never held across a socket operation. Lock order: `reader`, then `subscribers` (a
    /// reader dispatching a refused auth makes a transition), then this.
    core: Mutex<Core>,
    /// The socket's write half, locked only by the holder of the write token (`writer.rs`).
    writer: Mutex<Option<writer::WriteSide>>,
    /// The host list in force (the connect string's, then `update_hosts`'), and whether the
    /// session thread has yet to pick up a change (it does before its next connection attempt).
    pub(crate) hosts: Mutex<(Vec<String>, bool)>,
    /// The server to try next, ahead of the list's order (a read-write one the probe found).
    preferred_host: Mutex<Option<String>>,
    /// A handle to shut the current connection's socket down (which also ends a read or a
    /// write blocked on it), with the connection's generation.
    socket: Mutex<Option<(u64, std::net::TcpStream)>>,
    /// The reader token: the read side of the current connection (`None` while disconnected).
    /// Whoever holds it reads and dispatches frames; see `reader.rs`. Lock order: `reader`
    /// before `subscribers` and `core`, never the other way.
    reader: Mutex<Option<reader::ReadSide>>,
    /// Why a reader or writer gave the connection up (and which connection); taken by the
    /// session thread.
    read_failure: Mutex<Option<(u64, String)>>,
    /// Wakes the session thread (with `read_failure`'s mutex): a read or write failed, the
    /// token was released with nobody to take it, writes stalled, or the client is closing.
    driver_wake: Condvar,
    /// Callers inside `await_reply` (the session thread reads only when there are none).
    waiters: AtomicUsize,
    /// Recipes inside `await_watch`, reading the socket while no caller waits for a reply (the
    /// session thread leaves reading to them).
    watch_readers: AtomicUsize,
    /// Replaced (its sender dropped) whenever the reader token is let go with watch waiters
    /// parked: they take it next.
    reader_free: Mutex<(Sender<()>, Receiver<()>)>,
    /// The session thread sleeps until callers are idle (the last caller to stop waiting wakes
    /// it when watches are registered).
    driver_parked: AtomicBool,
    activity: Arc<Activity>,
    /// Signalled (with `core`'s mutex) at every transition and when the client closes.
    status_changed: Condvar,
    /// Who hears transitions (each `session_events()` handle takes itself off when dropped).
    subscribers: subscribers::Subscribers,
    /// Replaced (its sender dropped) at every transition: a crate-internal way to wait for the
    /// next change of state without a subscription that must be freed.
    changes: Mutex<(Sender<()>, Receiver<()>)>,
    /// Numbers connections (see `wire::Conn::generation`).
    generations: AtomicU64,
    /// The send time of the last answered request: the lease deadline of guards.
    pub liveness: Arc<liveness::Liveness>,
    /// Set before closeSession is sent: the server hanging up after it is the end, not a
    /// connection loss to recover from.
    close_requested: AtomicBool,
    /// Set once the driver should stop reading.
    closing: AtomicBool,
    /// The socket being handshaken, so `close` can interrupt a handshake with a frozen server.
    connecting: Mutex<Option<std::net::TcpStream>>,
    /// Why the last connection attempt failed, for the error of a first connect that times out.
    last_failure: Mutex<(String, Option<std::io::Error>)>,
}

/// Poisoning only means another thread panicked while holding the lock; the data under our
/// locks stays consistent at every await point, so carry on rather than spread the panic.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Session {
    /// Starts the driver thread and waits until the first session is established.
    pub fn start(config: SessionConfig) -> Result<Session> {
        let activity = Arc::new(Activity::new(Instant::now()));
        let liveness = Arc::new(liveness::Liveness::new());
        let shared = Arc::new(Shared {
            core: Mutex::new(Core::new(&config, liveness.clone())),
            writer: Mutex::new(None),
            socket: Mutex::new(None),
            reader: Mutex::new(None),
            read_failure: Mutex::new(None),
            driver_wake: Condvar::new(),
            waiters: AtomicUsize::new(0),
            driver_parked: AtomicBool::new(false),
            watch_readers: AtomicUsize::new(0),
            reader_free: Mutex::new(crossbeam_channel::bounded(0)),
            activity,
            status_changed: Condvar::new(),
            subscribers: Default::default(),
            changes: Mutex::new(crossbeam_channel::bounded(0)),
            generations: AtomicU64::new(0),
            liveness,
            close_requested: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            connecting: Mutex::new(None),
            last_failure: Mutex::new(("no attempt finished".to_string(), None)),
            hosts: Mutex::new((config.connect.hosts.clone(), false)),
            preferred_host: Mutex::new(None),
            config,
        });
        let (exit_tx, exited) = crossbeam_channel::bounded::<()>(0);
        let driver_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("zkcluster-session".to_string())
            .spawn(move || {
                driver::run(&driver_shared);
                drop(exit_tx);
            })
            .map_err(|e| Error::Connect {
                hosts: shared.config.connect.hosts.join(","),
                timeout: Duration::ZERO,
                reason: "could not start the session thread".to_string(),
                source: Some(e),
            })?;
        let session = Session {
            shared,
            thread: Mutex::new(Some(thread)),
            exited,
            close_started: AtomicBool::new(false),
        };
        let deadline = after(Instant::now(), session.shared.config.connect_timeout);
        let state = session.shared.wait_for(deadline, |s| s.is_connected() || s.is_terminal());
        if !state.is_connected() {
            let (reason, source) = std::mem::take(&mut *lock(&session.shared.last_failure));
            let _ = session.close();
            return Err(Error::Connect {
                hosts: session.shared.config.connect.hosts.join(","),
                timeout: session.shared.config.connect_timeout,
                reason: match state {
                    SessionState::AuthFailed if reason.is_empty() => "authentication failed".into(),
                    SessionState::AuthFailed => format!("authentication failed: {reason}"),
                    _ => reason,
                },
                source: source.filter(|_| state != SessionState::AuthFailed),
            });
        }
        Ok(session)
    }

    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Closes the session on the server (when connected) and ends the driver thread, within a
    /// bounded time whatever the server does. Idempotent.
    pub fn close(&self) -> Result<()> {
        if self.close_started.swap(true, Ordering::SeqCst) {
            self.join(self.shared.attempt_timeout());
            return Ok(());
        }
        let shared = &self.shared;
        shared.close_requested.store(true, Ordering::SeqCst);
        if shared.state().is_connected() {
            // Ask the server to end the session now, so its ephemeral nodes (and locks) go at
            // once instead of after the session timeout.
            let limit = shared.config.request_timeout.min(Duration::from_secs(2));
            let frame = wire::header_frame(crate::proto::op::CLOSE_SESSION);
            if let Ok(waiter) = shared.send_until(frame, None, after(Instant::now(), limit), true) {
                let _ = waiter.wait("close", "/");
            }
        }
        shared.closing.store(true, Ordering::SeqCst);
        shared.shutdown_socket(None);
        if let Some(stream) = lock(&shared.connecting).as_ref() {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
        shared.status_changed.notify_all();
        shared.driver_wake.notify_all();
        self.join(shared.attempt_timeout() + Duration::from_secs(1));
        Ok(())
    }

    fn join(&self, limit: Duration) {
        match self.exited.recv_timeout(limit) {
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                if let Some(handle) = lock(&self.thread).take() {
                    let _ = handle.join();
                }
            }
            _ => {
                log::warn!("session thread still running {limit:?} after close; it ends on its own")
            }
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

impl Shared {
    pub fn state(&self) -> SessionState {
        lock(&self.core).status.state
    }

    pub fn session_id(&self) -> i64 {
        lock(&self.core).status.session_id
    }

    /// The session's id and password, as needed to attach a second handle to it.
    pub fn credentials(&self) -> (i64, Vec<u8>) {
        let core = lock(&self.core);
        (core.status.session_id, core.status.passwd.clone())
    }

    pub fn negotiated_timeout(&self) -> Duration {
        lock(&self.core).status.negotiated
    }

    pub fn server(&self) -> String {
        lock(&self.core).status.server.clone()
    }

    /// The highest zxid seen, for the handshake of the next connection.
    pub(crate) fn last_zxid(&self) -> i64 {
        lock(&self.core).last_zxid()
    }

    /// Replaces the host list (ZooKeeper's `updateServerList`): the session thread uses it from
    /// its next connection attempt on. The current connection is dropped (the session resumes
    /// elsewhere) when its server is not in the new list, and, when the list grew from `old` to
    /// `new` hosts, with probability `1 - old/new`, so clients spread over added members.
    /// Returns whether this client moves.
    pub fn update_hosts(&self, hosts: Vec<String>) -> bool {
        let current = self.server();
        let old = {
            let mut list = lock(&self.hosts);
            let old = list.0.len();
            *list = (hosts.clone(), true);
            old
        };
        let connected = self.state().is_connected();
        let moves = connected
            && (!hosts.contains(&current)
                || (hosts.len() > old && fastrand::f64() >= old as f64 / hosts.len() as f64));
        if moves {
            self.shutdown_socket(None);
        }
        moves
    }

    /// The current session's life (ends when it is lost or the client closes).
    pub fn life(&self) -> Arc<SessionLife> {
        lock(&self.core).status.life.clone()
    }

    pub fn subscribe(&self) -> SessionEvents {
        // Under the subscribers lock, like every transition: a subscriber sees exactly the
        // events of the transitions after the state it could observe when subscribing.
        let mut list = lock(&self.subscribers);
        let closed = self.state() == SessionState::Closed;
        subscribers::subscribe(&self.subscribers, &mut list, closed)
    }

    /// How many `session_events()` handles are registered.
    #[cfg(test)]
    pub(crate) fn subscriber_count(&self) -> usize {
        lock(&self.subscribers).len()
    }

    /// A receiver that becomes ready (disconnected) at the next transition of the session,
    /// whatever it is. Unlike [`subscribe`](Self::subscribe) it leaves nothing behind when
    /// dropped: recipes wait on it instead of subscribing per acquire.
    pub(crate) fn next_change(&self) -> Receiver<()> {
        lock(&self.changes).1.clone()
    }

    /// Changes the status and announces it as one step: nobody can observe the new state and
    /// then receive the event of the old transition (or miss it).
    fn transition<T>(&self, update: impl FnOnce(&mut Core) -> (T, Option<SessionEvent>)) -> T {
        let mut subscribers = lock(&self.subscribers);
        let (out, event) = update(&mut lock(&self.core));
        if let Some(event) = event {
            log::info!("session event: {event:?}");
            subscribers.publish(&event);
            *lock(&self.changes) = crossbeam_channel::bounded(0);
        }
        drop(subscribers);
        self.status_changed.notify_all();
        out
    }

    /// Blocks until `done(state)` or the deadline; returns the state it ended on.
    fn wait_for(&self, deadline: Instant, done: impl Fn(SessionState) -> bool) -> SessionState {
        let mut core = lock(&self.core);
        loop {
            if done(core.status.state) {
                return core.status.state;
            }
            let now = Instant::now();
            if now >= deadline {
                return core.status.state;
            }
            core = self
                .status_changed
                .wait_timeout(core, deadline - now)
                .map(|(guard, _)| guard)
                .unwrap_or_else(|poisoned| poisoned.into_inner().0);
        }
    }

    /// Queues a framed request (its xid is filled in when it is written) and writes it at once
    /// when the connection is up and the write token free; returns the waiter for its reply.
    /// Never blocks: while disconnected the request waits in the outbox for the next
    /// connection, until its deadline (the request timeout from now). Fails at once when the
    /// request is over the size limit, the client is closed or the session is gone.
    pub fn send(
        self: &Arc<Self>,
        frame: Vec<u8>,
        watch: Option<(WatchKind, String, WatchSender)>,
    ) -> Result<ReplyWaiter, Failure> {
        let deadline = after(Instant::now(), self.config.request_timeout);
        self.send_until(frame, watch, deadline, false)
    }

    fn send_until(
        self: &Arc<Self>,
        frame: Vec<u8>,
        watch: Option<Registration>,
        deadline: Instant,
        closing_ok: bool,
    ) -> Result<ReplyWaiter, Failure> {
        let sent_at = Instant::now();
        let size = frame.len().saturating_sub(4);
        if size > self.config.max_request {
            return Err(Failure::TooLarge { size, limit: self.config.max_request });
        }
        if self.is_closing() && !closing_ok {
            return Err(Failure::Closed);
        }
        // A call made in one session must not run in the next: the request carries the
        // session it was made in, and is failed with SessionExpired instead of being written
        // to another one (`Wire::next_frame`).
        let (tx, rx) = request::reply_channel();
        let id = {
            let mut core = lock(&self.core);
            let mut life = core.status.life.clone();
            match core.status.state {
                SessionState::Closed | SessionState::AuthFailed => return Err(Failure::Closed),
                SessionState::Expired => return Err(Failure::SessionExpired),
                // Made after the loss was announced, while a new session is being opened: it
                // belongs to no session yet, and runs in the next one.
                _ if life.session_id != 0 && life.has_ended() => {
                    life = Arc::new(SessionLife::new(0))
                }
                _ => {}
            }
            let job = Job::Request { reply: tx, watch, life, made_at: sent_at, deadline };
            core.wire.push(frame, job)
        };
        self.pump_sent();
        Ok(ReplyWaiter { shared: self.clone(), rx, id, sent_at, deadline })
    }

    /// Removes a request that is still queued (its caller stopped waiting); true if it was
    /// (it is then never sent).
    pub(crate) fn withdraw(&self, id: u64) -> bool {
        lock(&self.core).wire.withdraw(id)
    }

    /// Sends an auth packet and waits for the server's verdict (the scheme is replayed on every
    /// reconnect from then on). Waits for a connection within the request timeout.
    pub fn add_auth(&self, scheme: &str, auth: &[u8]) -> Result<()> {
        let started = Instant::now();
        let deadline = after(started, self.config.request_timeout);
        let fail = |f: Failure| f.into_error("add_auth", "/");
        let timeout =
            || Error::Timeout { op: "add_auth", path: "/".into(), after: started.elapsed() };
        match self.state() {
            SessionState::Closed => return Err(Error::Closed),
            SessionState::AuthFailed => {
                return Err(Error::AuthFailed { scheme: scheme.to_string() })
            }
            SessionState::Expired => return Err(fail(Failure::SessionExpired)),
            _ => {}
        }
        let (tx, rx) = crossbeam_channel::bounded(1);
        let job = Job::Auth { waiter: Some(tx), scheme: scheme.to_string(), auth: auth.to_vec() };
        let id = lock(&self.core).wire.push(wire::auth_frame(scheme, auth), job);
        self.pump(writer::Writer::Caller);
        match rx.recv_deadline(deadline) {
            Ok(0) => Ok(()),
            Ok(_) => Err(Error::AuthFailed { scheme: scheme.to_string() }),
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                self.withdraw(id);
                Err(timeout())
            }
            // The connection broke before the verdict; the auth is replayed on reconnect.
            Err(_) => Err(fail(Failure::ConnectionLoss)),
        }
    }

    /// Drops connection `conn` (if it is still the current one) because its byte stream can
    /// no longer be trusted; the driver fails what is in flight and reconnects (resuming the
    /// session). A late report about an older connection leaves a newer one alone.
    pub fn reset(&self, conn: u64, reason: &str) {
        if self.shutdown_socket(Some(conn)) {
            log::warn!("resetting the connection: {reason}");
        }
    }

    /// Shuts the current connection's socket down if it is `generation` (any when `None`);
    /// returns whether it did.
    fn shutdown_socket(&self, generation: Option<u64>) -> bool {
        match lock(&self.socket).as_ref() {
            Some((current, stream)) if generation.map_or(true, |g| g == *current) => {
                let _ = stream.shutdown(std::net::Shutdown::Both);
                true
            }
            _ => false,
        }
    }

    /// Tells the session thread that connection `generation` failed.
    fn report_failure(&self, generation: Option<u64>, reason: String) {
        let Some(generation) = generation else { return };
        let mut failure = lock(&self.read_failure);
        if failure.is_none() {
            *failure = Some((generation, reason));
        }
        drop(failure);
        self.driver_wake.notify_all();
    }

    /// Wakes the session thread (writes stalled, or something else it must look at now).
    fn wake_driver(&self) {
        let _guard = lock(&self.read_failure);
        self.driver_wake.notify_all();
    }

    /// Forgets a watch whose handle was dropped; returns whether none is left on that path.
    pub fn remove_watch(&self, kind: WatchKind, server_path: &str, tx: &WatchSender) -> bool {
        lock(&self.core).watches.remove(kind, server_path, tx)
    }

    /// Whether this session has any watch registered on `server_path`, or a request that
    /// may register one there still on its way (so removing the server's watches on the path
    /// would take that one's too).
    pub fn has_watch_on(&self, server_path: &str) -> bool {
        let core = lock(&self.core);
        let on_path =
            |w: &Option<Registration>| w.as_ref().is_some_and(|(_, p, _)| p == server_path);
        core.wire.in_flight.iter().any(|r| on_path(&r.watch))
            || core
                .wire
                .outbox
                .iter()
                .any(|o| matches!(&o.job, Job::Request { watch, .. } if on_path(watch)))
            || core.watches.has_any(server_path)
    }

    pub fn watch_count(&self) -> usize {
        lock(&self.core).watches.len()
    }

    /// Whether the client is closing (or closed): no new calls, no reconnects.
    pub(crate) fn is_closing(&self) -> bool {
        self.close_requested.load(Ordering::SeqCst) || self.closing.load(Ordering::SeqCst)
    }

    /// The path the server sees for a user's path (chroot prepended).
    pub fn server_path(&self, path: &str) -> String {
        match &self.config.connect.chroot {
            None => path.to_string(),
            Some(root) if path == "/" => root.clone(),
            Some(root) => format!("{root}{path}"),
        }
    }

    /// The user's path for a path the server sent (chroot stripped).
    pub fn user_path(&self, server_path: &str) -> String {
        self::core::user_path(self.config.connect.chroot.as_deref(), server_path)
    }

    /// How long one connection attempt (TCP connect + handshake) may take.
    fn attempt_timeout(&self) -> Duration {
        let third = self.negotiated_timeout() / 3;
        third.min(self.config.connect_timeout).max(Duration::from_millis(200))
    }
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    use std::time::Duration;

    use crate::testing::TestingServer;
    use crate::{Client, Restriction, ZookeeperRecipe};

    /// Defect 6: contended acquires subscribe to nothing that outlives them.
    #[test]
    fn contended_acquires_leave_no_subscriptions() {
        let server = TestingServer::shared().expect("ZooKeeper for the tests");
        let holder = Client::connect(&server.connect_string()).unwrap();
        let waiter = Client::connect(&server.connect_string()).unwrap();
        let path = format!("/subscriptions-{}", std::process::id());
        let held = holder.restrict(&path, ZookeeperRecipe::WriteLock, "h", None).unwrap();
        let _guard = held.acquire().unwrap();
        let lock = waiter.restrict(&path, ZookeeperRecipe::WriteLock, "w", None).unwrap();
        let sem_path = format!("{path}-sem");
        let full = holder.restrict(&sem_path, ZookeeperRecipe::Semaphore, "h", Some(1)).unwrap();
        let _lease = full.acquire().unwrap();
        let sem = waiter.restrict(&sem_path, ZookeeperRecipe::Semaphore, "w", Some(1));
        let before = waiter.shared().subscriber_count();
        for _ in 0..20 {
            assert!(lock.acquire_timeout(Duration::from_millis(20)).unwrap_err().is_timeout());
            let sem = sem.as_ref().unwrap();
            assert!(sem.acquire_timeout(Duration::from_millis(20)).unwrap_err().is_timeout());
        }
        assert_eq!(waiter.shared().subscriber_count(), before);
    }

    /// Defect 6: a dropped `session_events()` handle is forgotten at once, not at the next
    /// transition (200,000 of them kept 136 MB on a session that stayed connected).
    #[test]
    fn dropped_session_event_handles_are_freed_while_the_state_holds() {
        let server = TestingServer::shared().expect("ZooKeeper for the tests");
        let client = Client::connect(&server.connect_string()).unwrap();
        let kept = client.session_events();
        let before = client.shared().subscriber_count();
        for _ in 0..20_000 {
            drop(client.session_events());
        }
        assert_eq!(client.shared().subscriber_count(), before, "dropped handles kept");
        client.shared().reset(current_generation(&client), "a transition for the kept handle");
        let event = kept.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(matches!(event, crate::SessionEvent::Suspended { .. }), "{event:?}");
    }

    fn current_generation(client: &Client) -> u64 {
        super::lock(&client.shared().socket).as_ref().map(|(g, _)| *g).unwrap()
    }

    /// Defect 11: a reply that fails to decode resets the connection it came on, never a newer
    /// one that replaced it meanwhile.
    #[test]
    fn a_late_reset_leaves_a_newer_connection_alone() {
        let server = TestingServer::shared().expect("ZooKeeper for the tests");
        let client = Client::connect(&server.connect_string()).unwrap();
        let events = client.session_events();
        let current = super::lock(&client.shared().socket).as_ref().map(|(g, _)| *g).unwrap();
        client.shared().reset(current - 1, "a reply of an older connection");
        client.get_node("/").unwrap();
        assert!(events.try_recv().is_err(), "the current connection was reset");
        client.shared().reset(current, "a reply of this connection");
        let event = events.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(matches!(event, crate::SessionEvent::Suspended { .. }), "{event:?}");
    }
}
