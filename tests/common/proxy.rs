//! A loopback TCP proxy between a client and a real ZooKeeper server, so fault tests can cut
//! one client's network, make it silent, or slip a garbage frame into what the client reads —
//! deterministically, without touching the server.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Forward,
    /// New connections are closed at once; existing ones were shut down.
    Refuse,
    /// Bytes stop flowing both ways, connections stay open: a silent network.
    Blackhole,
}

struct State {
    target: String,
    mode: Mutex<Mode>,
    conns: Mutex<Vec<TcpStream>>,
    inject: Mutex<Option<Vec<u8>>>,
    /// Swallow the next frame the server sends, then cut everything.
    cut_at_next_reply: AtomicBool,
    stop: AtomicBool,
    /// How many reads of client bytes have been forwarded (about one per client write).
    client_reads: AtomicU64,
}

pub struct Proxy {
    port: u16,
    state: Arc<State>,
}

impl Proxy {
    pub fn start(target: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(State {
            target: target.to_string(),
            mode: Mutex::new(Mode::Forward),
            conns: Mutex::new(Vec::new()),
            inject: Mutex::new(None),
            cut_at_next_reply: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            client_reads: AtomicU64::new(0),
        });
        let accept_state = state.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if accept_state.stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                if *accept_state.mode.lock().unwrap() == Mode::Refuse {
                    continue; // dropped: closed at once
                }
                let Ok(server) = TcpStream::connect(&accept_state.target) else { continue };
                let mut conns = accept_state.conns.lock().unwrap();
                conns.push(client.try_clone().unwrap());
                conns.push(server.try_clone().unwrap());
                drop(conns);
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let up = accept_state.clone();
                std::thread::spawn(move || pump_bytes(&up, client, server));
                let down = accept_state.clone();
                std::thread::spawn(move || pump_frames(&down, s2, c2));
            }
        });
        Proxy { port, state }
    }

    pub fn connect_string(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Closes every connection and refuses new ones.
    pub fn cut(&self) {
        *self.state.mode.lock().unwrap() = Mode::Refuse;
        for conn in self.state.conns.lock().unwrap().drain(..) {
            let _ = conn.shutdown(Shutdown::Both);
        }
    }

    /// Stops all traffic without closing anything.
    pub fn blackhole(&self) {
        *self.state.mode.lock().unwrap() = Mode::Blackhole;
    }

    /// Back to forwarding (connections cut earlier stay cut; clients reconnect).
    pub fn restore(&self) {
        *self.state.mode.lock().unwrap() = Mode::Forward;
    }

    /// Lets the client's next request reach the server but loses the server's reply to it:
    /// the reply is swallowed and every connection cut (new ones are refused until
    /// [`restore`](Self::restore)). The outcome of that request is then unknown to the client.
    pub fn lose_next_reply(&self) {
        self.state.cut_at_next_reply.store(true, Ordering::SeqCst);
    }

    /// How many chunks of client bytes the proxy has read and forwarded so far: on loopback
    /// one per write the client made, unless writes come faster than the proxy reads.
    #[allow(dead_code)] // not every test binary looks
    pub fn client_reads(&self) -> u64 {
        self.state.client_reads.load(Ordering::SeqCst)
    }

    /// Sends `frame` (raw bytes, length prefix included) to the client before the next frame
    /// the server sends it.
    pub fn inject_to_client(&self, frame: Vec<u8>) {
        *self.state.inject.lock().unwrap() = Some(frame);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        self.cut();
        let _ = TcpStream::connect(("127.0.0.1", self.port)); // wake the accept loop
    }
}

fn wait_while_blackholed(state: &State) -> bool {
    loop {
        if state.stop.load(Ordering::SeqCst) {
            return false;
        }
        match *state.mode.lock().unwrap() {
            Mode::Blackhole => std::thread::sleep(Duration::from_millis(5)),
            Mode::Refuse => return false,
            Mode::Forward => return true,
        }
    }
}

/// Client to server: bytes as they come.
fn pump_bytes(state: &State, mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 64 * 1024];
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 || !wait_while_blackholed(state) || to.write_all(&buf[..n]).is_err() {
            break;
        }
        state.client_reads.fetch_add(1, Ordering::SeqCst);
    }
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}

/// Server to client: whole frames, so an injected frame lands on a frame boundary.
fn pump_frames(state: &State, mut from: TcpStream, mut to: TcpStream) {
    loop {
        let mut len = [0u8; 4];
        if from.read_exact(&mut len).is_err() {
            break;
        }
        let mut body = vec![0u8; i32::from_be_bytes(len).max(0) as usize];
        if from.read_exact(&mut body).is_err() || !wait_while_blackholed(state) {
            break;
        }
        if state.cut_at_next_reply.swap(false, Ordering::SeqCst) {
            *state.mode.lock().unwrap() = Mode::Refuse;
            for conn in state.conns.lock().unwrap().drain(..) {
                let _ = conn.shutdown(Shutdown::Both);
            }
            break;
        }
        if let Some(garbage) = state.inject.lock().unwrap().take() {
            if to.write_all(&garbage).is_err() {
                break;
            }
        }
        if to.write_all(&len).is_err() || to.write_all(&body).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}

/// Restores `proxy` once the client whose `events` these are has seen its connection break
/// (for tests that lose a reply with [`Proxy::lose_next_reply`]).
pub fn restore_after_suspend(
    proxy: Arc<Proxy>,
    events: zkcluster::SessionEvents,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        while let Ok(event) = events.recv_timeout(Duration::from_secs(15)) {
            if matches!(event, zkcluster::SessionEvent::Suspended { .. }) {
                proxy.restore();
                return;
            }
        }
        panic!("the connection never broke");
    })
}

impl Proxy {
    /// Cuts every connection and waits until `client` has seen its connection break.
    pub fn cut_for(&self, client: &zkcluster::Client) {
        self.cut();
        let broke = super::eventually(Duration::from_secs(15), || !client.state().is_connected());
        assert!(broke, "the client never saw the cut");
    }

    /// Forwards again and waits until `client` is connected again.
    pub fn restore_for(&self, client: &zkcluster::Client) {
        self.restore();
        let back = super::eventually(Duration::from_secs(15), || client.state().is_connected());
        assert!(back, "the client did not reconnect");
    }
}
