//! Sessions: the connection, who reads it, pings, reconnects, and the session's states and
//! events.
//!
//! A [`Session`] owns one background thread (the driver, see `driver.rs`) that connects,
//! sends pings, notices a dead connection, reconnects, and handles expiry and close.
//!
//! Calling threads write their own requests (see [`Shared::send`]) and, as a rule, read their
//! own replies: the read side of the connection (socket, frame buffer) is a token in
//! `Shared::reader`, and a caller waiting for a reply takes it when it is free and reads and
//! dispatches every frame (anyone's replies, watch events, pings, auth) until its own reply is
//! in, then hands it to the next waiting caller (leader/follower, see `reader.rs`). A serial
//! call therefore costs no thread hop: the caller blocks in `read` itself, like a bare socket.
//! The driver reads only when no caller is waiting and callers have been quiet for a moment,
//! so watch events still arrive promptly while the client is idle; the first call after such a
//! pause may get its reply through the driver. Frames are dispatched by one token holder at a
//! time, in stream order, so a reply's watch is registered before the next frame is looked at,
//! whichever thread reads. A reader that finds the stream broken shuts it down and reports it;
//! the driver fails what is in flight and reconnects as before.

mod connect_string;
mod driver;
mod events;
mod handshake;
mod life;
mod liveness;
mod reader;
mod request;
// The DIGEST-MD5 mechanism; the handshake does not run it yet (see the module's tests).
#[allow(dead_code)]
pub(crate) mod sasl;
// TLS options and handshake; the session does not connect over it yet (see the module's tests).
#[cfg(feature = "tls")]
#[allow(dead_code)]
pub(crate) mod tls;
mod watches;
mod wire;

use std::net::Shutdown;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

pub(crate) use connect_string::ConnectString;
pub use events::{SessionEvent, SessionState};
pub(crate) use life::SessionLife;
pub(crate) use request::{RawReply, ReplyWaiter};
#[cfg(feature = "tls")]
pub use tls::TlsConfig;
pub use watches::{WatchEventKind, WatchedEvent};
pub(crate) use watches::{WatchKind, WatchSender};

use crate::{Error, Result};
use request::Failure;
use watches::WatchTable;
use wire::{Activity, Wire};

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
    wire: Mutex<Wire>,
    /// The reader token: the read side of the current connection (`None` while disconnected).
    /// Whoever holds it reads and dispatches frames; see `reader.rs`. Lock order: `reader`
    /// before `wire`, never the other way.
    reader: Mutex<Option<reader::ReadSide>>,
    /// Why a caller reading the socket gave the connection up; taken by the session thread.
    read_failure: Mutex<Option<String>>,
    /// Wakes the session thread (with `read_failure`'s mutex): a read failed, the token was
    /// released with nobody to take it, or the client is closing.
    driver_wake: Condvar,
    /// Callers inside `await_reply` (the session thread reads only when there are none).
    waiters: AtomicUsize,
    /// The session thread sleeps until callers are idle (the last caller to stop waiting wakes
    /// it when watches are registered).
    driver_parked: AtomicBool,
    activity: Arc<Activity>,
    status: Mutex<Status>,
    status_changed: Condvar,
    subscribers: Mutex<Vec<Sender<SessionEvent>>>,
    watches: Mutex<WatchTable>,
    auths: Mutex<Vec<(String, Vec<u8>)>>,
    last_zxid: AtomicI64,
    /// The send time of the last answered request: the lease deadline of guards.
    pub liveness: liveness::Liveness,
    /// Set before closeSession is sent: the server hanging up after it is the end, not a
    /// connection loss to recover from.
    close_requested: AtomicBool,
    /// Set once the driver should stop reading.
    closing: AtomicBool,
    /// The socket being handshaken, so `close` can interrupt a handshake with a frozen server.
    connecting: Mutex<Option<std::net::TcpStream>>,
    /// Why the last connection attempt failed, for the error of a first connect that times out.
    last_failure: Mutex<String>,
}

struct Status {
    state: SessionState,
    session_id: i64,
    passwd: Vec<u8>,
    negotiated: Duration,
    server: String,
    life: Arc<SessionLife>,
}

/// Poisoning only means another thread panicked while holding the lock; the data under our
/// locks stays consistent at every await point, so carry on rather than spread the panic.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Session {
    /// Starts the driver thread and waits until the first session is established.
    pub fn start(config: SessionConfig) -> Result<Session> {
        let activity = Arc::new(Activity::new());
        let shared = Arc::new(Shared {
            wire: Mutex::new(Wire::new(activity.clone())),
            reader: Mutex::new(None),
            read_failure: Mutex::new(None),
            driver_wake: Condvar::new(),
            waiters: AtomicUsize::new(0),
            driver_parked: AtomicBool::new(false),
            activity,
            status: Mutex::new(Status {
                state: SessionState::Connecting,
                session_id: config.resume.as_ref().map_or(0, |(id, _)| *id),
                passwd: config.resume.as_ref().map_or_else(|| vec![0; 16], |(_, pw)| pw.clone()),
                negotiated: config.session_timeout,
                server: String::new(),
                life: Arc::new(SessionLife::new(0)),
            }),
            status_changed: Condvar::new(),
            subscribers: Mutex::new(Vec::new()),
            watches: Mutex::new(WatchTable::default()),
            auths: Mutex::new(Vec::new()),
            last_zxid: AtomicI64::new(0),
            liveness: liveness::Liveness::new(),
            close_requested: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            connecting: Mutex::new(None),
            last_failure: Mutex::new("no attempt finished".to_string()),
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
                reason: format!("could not start the session thread: {e}"),
            })?;
        let session = Session {
            shared,
            thread: Mutex::new(Some(thread)),
            exited,
            close_started: AtomicBool::new(false),
        };
        let deadline = Instant::now() + session.shared.config.connect_timeout;
        let state = session.shared.wait_for(deadline, |s| s.is_connected() || s.is_terminal());
        if !state.is_connected() {
            let reason = lock(&session.shared.last_failure).clone();
            let _ = session.close();
            return Err(Error::Connect {
                hosts: session.shared.config.connect.hosts.join(","),
                timeout: session.shared.config.connect_timeout,
                reason: if state == SessionState::AuthFailed {
                    "authentication failed".into()
                } else {
                    reason
                },
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
            if let Ok(waiter) = shared.send_until(frame, None, Instant::now() + limit, true) {
                let _ = waiter.wait("close", "/", None);
            }
        }
        shared.closing.store(true, Ordering::SeqCst);
        if let Some(stream) = lock(&shared.wire).stream.as_ref() {
            let _ = stream.shutdown(Shutdown::Both);
        }
        if let Some(stream) = lock(&shared.connecting).as_ref() {
            let _ = stream.shutdown(Shutdown::Both);
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
        lock(&self.status).state
    }

    pub fn session_id(&self) -> i64 {
        lock(&self.status).session_id
    }

    /// The session's id and password, as needed to attach a second handle to it.
    pub fn credentials(&self) -> (i64, Vec<u8>) {
        let status = lock(&self.status);
        (status.session_id, status.passwd.clone())
    }

    pub fn negotiated_timeout(&self) -> Duration {
        lock(&self.status).negotiated
    }

    pub fn server(&self) -> String {
        lock(&self.status).server.clone()
    }

    /// The current session's life (ends when it is lost or the client closes).
    pub fn life(&self) -> Arc<SessionLife> {
        lock(&self.status).life.clone()
    }

    pub fn subscribe(&self) -> Receiver<SessionEvent> {
        let (tx, rx) = crossbeam_channel::unbounded();
        // Under the subscribers lock, like every transition: a subscriber sees exactly the
        // events of the transitions after the state it could observe when subscribing.
        let mut subscribers = lock(&self.subscribers);
        if self.state() == SessionState::Closed {
            let _ = tx.send(SessionEvent::Closed);
        } else {
            subscribers.push(tx);
        }
        rx
    }

    /// Changes the status and announces it as one step: nobody can observe the new state and
    /// then receive the event of the old transition (or miss it).
    fn transition<T>(&self, update: impl FnOnce(&mut Status) -> (T, Option<SessionEvent>)) -> T {
        let mut subscribers = lock(&self.subscribers);
        let (out, event) = update(&mut lock(&self.status));
        if let Some(event) = event {
            log::info!("session event: {event:?}");
            subscribers.retain(|tx| tx.send(event.clone()).is_ok());
        }
        drop(subscribers);
        self.status_changed.notify_all();
        out
    }

    /// Blocks until `done(state)` or the deadline; returns the state it ended on.
    fn wait_for(&self, deadline: Instant, done: impl Fn(SessionState) -> bool) -> SessionState {
        let mut status = lock(&self.status);
        loop {
            if done(status.state) {
                return status.state;
            }
            let now = Instant::now();
            if now >= deadline {
                return status.state;
            }
            status = self
                .status_changed
                .wait_timeout(status, deadline - now)
                .map(|(guard, _)| guard)
                .unwrap_or_else(|poisoned| poisoned.into_inner().0);
        }
    }

    /// Sends a framed request (its xid is filled in here) once the session is connected, and
    /// returns the waiter for its reply. Waits for a connection until `deadline`.
    pub fn send(
        self: &Arc<Self>,
        frame: Vec<u8>,
        watch: Option<(WatchKind, String, WatchSender)>,
    ) -> Result<ReplyWaiter, Failure> {
        self.send_until(frame, watch, Instant::now() + self.config.request_timeout, false)
    }

    fn send_until(
        self: &Arc<Self>,
        mut frame: Vec<u8>,
        mut watch: Option<(WatchKind, String, WatchSender)>,
        deadline: Instant,
        closing_ok: bool,
    ) -> Result<ReplyWaiter, Failure> {
        let sent_at = Instant::now();
        // A call made in one session must not run in the next: if this session is lost while
        // the call waits for a connection, it fails with SessionExpired (like in-flight calls).
        let life = self.life();
        loop {
            if self.is_closing() && !closing_ok {
                return Err(Failure::Closed);
            }
            let state = self.wait_for(deadline, |s| s.is_connected() || s.is_terminal());
            match state {
                SessionState::Closed | SessionState::AuthFailed => return Err(Failure::Closed),
                SessionState::Expired => return Err(Failure::SessionExpired),
                s if !s.is_connected() => return Err(Failure::Timeout(sent_at.elapsed())),
                _ => {}
            }
            if life.session_id != 0 && life.has_ended() {
                return Err(Failure::SessionExpired);
            }
            let (tx, rx) = request::reply_channel();
            match lock(&self.wire).write_request(&mut frame, tx, watch.take()) {
                Ok(()) => return Ok(ReplyWaiter { shared: self.clone(), rx, sent_at, deadline }),
                // Disconnected between the state check and the write: wait for the next connection.
                Err(wire::WriteError::NotConnected(w)) => watch = w,
                Err(wire::WriteError::Broken) => return Err(Failure::ConnectionLoss),
            }
        }
    }

    /// Sends an auth packet and waits for the server's verdict (the scheme is replayed on every
    /// reconnect from then on).
    pub fn add_auth(&self, scheme: &str, auth: &[u8]) -> Result<()> {
        lock(&self.auths).push((scheme.to_string(), auth.to_vec()));
        let deadline = Instant::now() + self.config.request_timeout;
        let fail = |f: Failure| f.into_error("add_auth", "/");
        loop {
            let state = self.wait_for(deadline, |s| s.is_connected() || s.is_terminal());
            match state {
                SessionState::Closed => return Err(Error::Closed),
                SessionState::AuthFailed => {
                    return Err(Error::AuthFailed { scheme: scheme.to_string() })
                }
                SessionState::Expired => return Err(fail(Failure::SessionExpired)),
                s if !s.is_connected() => {
                    return Err(Error::Timeout {
                        op: "add_auth",
                        path: "/".into(),
                        after: self.config.request_timeout,
                    })
                }
                _ => {}
            }
            let (tx, rx) = crossbeam_channel::bounded(1);
            match lock(&self.wire).write_auth(scheme, auth, Some(tx)) {
                Ok(()) => {}
                Err(wire::WriteError::NotConnected(_)) => continue,
                Err(wire::WriteError::Broken) => return Err(fail(Failure::ConnectionLoss)),
            }
            return match rx.recv_deadline(deadline) {
                Ok(0) => Ok(()),
                Ok(_) => Err(Error::AuthFailed { scheme: scheme.to_string() }),
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => Err(Error::Timeout {
                    op: "add_auth",
                    path: "/".into(),
                    after: self.config.request_timeout,
                }),
                // The connection broke before the verdict; the auth is replayed on reconnect.
                Err(_) => Err(fail(Failure::ConnectionLoss)),
            };
        }
    }

    /// Drops the current connection because its byte stream can no longer be trusted; the
    /// driver fails what is in flight and reconnects (resuming the session).
    pub fn reset(&self, reason: &str) {
        log::warn!("resetting the connection: {reason}");
        if let Some(stream) = lock(&self.wire).stream.as_ref() {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    /// Forgets a watch whose handle was dropped; returns whether none is left on that path.
    pub fn remove_watch(&self, kind: WatchKind, server_path: &str, tx: &WatchSender) -> bool {
        lock(&self.watches).remove(kind, server_path, tx)
    }

    /// Whether this session has any watch registered on `server_path`.
    pub fn has_watch_on(&self, server_path: &str) -> bool {
        lock(&self.watches).has_any(server_path)
    }

    pub fn watch_count(&self) -> usize {
        lock(&self.watches).len()
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
        match &self.config.connect.chroot {
            None => server_path.to_string(),
            Some(root) => match server_path.strip_prefix(root.as_str()) {
                Some("") => "/".to_string(),
                Some(rest) if rest.starts_with('/') => rest.to_string(),
                _ => server_path.to_string(),
            },
        }
    }

    /// How long one connection attempt (TCP connect + handshake) may take.
    fn attempt_timeout(&self) -> Duration {
        let third = lock(&self.status).negotiated / 3;
        third.min(self.config.connect_timeout).max(Duration::from_millis(200))
    }
}
