//! Four-letter commands on a connection of their own (over TLS when the session uses it), and
//! the probe that looks for a read-write server while the session is on a read-only one.
//!
//! A read-only server (a member cut off from its ensemble's quorum) keeps serving its clients
//! for as long as it stays cut off, even when the rest of the ensemble has a quorum again. So,
//! as ZooKeeper's own client does, a thread asks the other servers of the list `isro` (answered
//! `rw` or `ro`; servers with `readonlymode.enabled` allow the command) at growing intervals,
//! and when one answers `rw` it drops the read-only connection and has the session thread
//! connect to that server next. The thread ends when the connection it watches ends (for
//! whatever reason) or the client closes.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{lock, Connector, SessionState, Shared};

/// The first pause between probes, doubled after every round up to [`LONGEST_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(100);
const LONGEST_PAUSE: Duration = Duration::from_secs(30);
/// How long one server may take to answer a probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Sends `command` to `host` on a new connection and reads the answer to the end, all by
/// `deadline`. The error says what failed.
pub(crate) fn four_letter(
    connector: &Connector,
    host: &str,
    command: &str,
    deadline: Instant,
) -> Result<String, String> {
    let left = || deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
    let addr = host
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve: {e}"))?
        .next()
        .ok_or_else(|| "resolves to no address".to_string())?;
    let tcp = TcpStream::connect_timeout(&addr, left()).map_err(|e| format!("connect: {e}"))?;
    let mut stream = connector.secure(tcp, host, deadline).map_err(|e| e.to_string())?;
    stream.set_write_timeout(Some(left())).map_err(|e| e.to_string())?;
    stream
        .write_all(command.as_bytes())
        .and_then(|()| stream.flush())
        .map_err(|e| format!("send: {e}"))?;
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        stream.set_read_timeout(Some(left())).map_err(|e| e.to_string())?;
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            // The server closes the connection after its answer; over TLS it may do so
            // without a close_notify.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !answer.is_empty() => break,
            Err(e) => return Err(format!("no complete answer in time: {e}")),
        }
    }
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

/// Starts the probe for connection `generation`, which is to a read-only server.
pub(super) fn spawn(shared: Arc<Shared>, generation: u64) {
    let started = std::thread::Builder::new()
        .name("zkcluster-rw-probe".to_string())
        .spawn(move || probe(&shared, generation));
    if let Err(e) = started {
        log::warn!("cannot start the read-write probe (the session stays read-only): {e}");
    }
}

fn probe(shared: &Shared, generation: u64) {
    let mut pause = FIRST_PAUSE;
    let watched = || {
        !shared.is_closing()
            && shared.state() == SessionState::ConnectedReadOnly
            && lock(&shared.socket).as_ref().is_some_and(|(g, _)| *g == generation)
    };
    loop {
        let until = Instant::now() + pause;
        shared.wait_for(until, |state| state != SessionState::ConnectedReadOnly);
        if !watched() {
            return;
        }
        let current = shared.server();
        let hosts = lock(&shared.hosts).0.clone();
        for host in hosts.iter().filter(|h| **h != current) {
            let answer =
                four_letter(&shared.config.connector, host, "isro", Instant::now() + PROBE_TIMEOUT);
            if !watched() {
                return;
            }
            if answer.as_deref().map(str::trim) == Ok("rw") {
                log::info!("{host} serves read-write: leaving the read-only {current}");
                *lock(&shared.preferred_host) = Some(host.clone());
                shared.shutdown_socket(Some(generation));
                return;
            }
        }
        pause = (pause * 2).min(LONGEST_PAUSE);
    }
}
