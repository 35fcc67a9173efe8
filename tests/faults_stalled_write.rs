//! Defect 3: one stalled write blocks nobody. Between the client and a real server sits a
//! proxy that can stop taking bytes from the client (the upstream stalls: a full socket, as
//! with a server or network that stopped reading) while replies keep flowing back. One thread
//! then queues megabytes of writes; another thread's calls, pings and replies must not wait
//! behind them, every call keeps its own deadline, and a connection whose writes cannot drain
//! is given up like a silent one.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serial_test::serial;
use zkcluster::testing::TestingServer;
use zkcluster::{Client, SessionEvent};

/// A proxy whose client-to-server direction can be stalled (not read at all).
struct StallProxy {
    port: u16,
    stalled: Arc<AtomicBool>,
}

impl StallProxy {
    fn start(target: String) -> StallProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stalled = Arc::new(AtomicBool::new(false));
        let flag = stalled.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = TcpStream::connect(&target) else { continue };
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let flag = flag.clone();
                std::thread::spawn(move || copy(client, server, Some(&flag)));
                std::thread::spawn(move || copy(s2, c2, None));
            }
        });
        StallProxy { port, stalled }
    }

    fn connect_string(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn stall(&self, on: bool) {
        self.stalled.store(on, Ordering::SeqCst);
    }
}

fn copy(mut from: TcpStream, mut to: TcpStream, stalled: Option<&AtomicBool>) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if stalled.is_some_and(|s| s.load(Ordering::SeqCst)) {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        }
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}

/// What a loaded 2-core CI machine may add to a deadline.
const SLACK: Duration = Duration::from_millis(300);

#[test]
#[serial]
fn a_stalled_write_blocks_no_other_caller() {
    let server = TestingServer::start().unwrap_or_else(|e| panic!("cannot start ZooKeeper: {e}"));
    let proxy = StallProxy::start(server.connect_string());
    let client = Arc::new(
        Client::builder(&proxy.connect_string())
            .session_timeout(Duration::from_secs(6))
            .request_timeout(Duration::from_secs(10))
            .connect()
            .unwrap(),
    );
    let events = client.session_events();
    client.create_node("/small", "s").unwrap();
    client.create_node("/big", "").unwrap();

    proxy.stall(true);
    // One thread queues far more than the socket buffers hold.
    let writer = {
        let client = client.clone();
        std::thread::spawn(move || {
            let value = vec![7u8; 1_000_000];
            let started = Instant::now();
            let pending: Vec<_> =
                (0..40).map(|_| client.set_data_async("/big", &value, None)).collect();
            (started.elapsed(), pending)
        })
    };
    let (queued_in, pending) = writer.join().unwrap();
    eprintln!("FIGURE 40 MB of writes queued in {queued_in:?} with the upstream stalled");
    assert!(queued_in < Duration::from_secs(2), "queueing writes blocked for {queued_in:?}");

    // Another caller: its call returns at once and its wait keeps its own limit.
    let limit = Duration::from_millis(300);
    let started = Instant::now();
    let read = client.get_node_async("/small");
    let call = started.elapsed();
    let err = read.wait_timeout(limit).unwrap_err();
    let took = started.elapsed();
    eprintln!("FIGURE behind a stalled write: call {call:?}, wait_timeout({limit:?}) {took:?}");
    assert!(err.is_timeout(), "{err}");
    assert!(call < Duration::from_millis(50) + SLACK, "the call blocked {call:?}");
    assert!(took < limit + SLACK, "the wait took {took:?}");
    // Session state reads never wait behind the write either.
    let started = Instant::now();
    assert!(client.state().is_connected());
    assert!(started.elapsed() < Duration::from_millis(50));

    // The stall goes on past the point a silent connection is given up: this one is too.
    let stalled_at = Instant::now();
    let suspended = std::iter::from_fn(|| events.recv_timeout(Duration::from_secs(15)).ok())
        .any(|e| matches!(e, SessionEvent::Suspended { .. }));
    assert!(suspended, "a connection whose writes cannot drain was kept");
    eprintln!("FIGURE stalled connection given up after {:?}", stalled_at.elapsed());
    proxy.stall(false);
    // The writes that were in flight fail with connection loss; unsent ones are sent on the
    // next connection if their deadline allows. None hangs past the request timeout.
    let started = Instant::now();
    for p in pending {
        let _ = p.wait();
    }
    assert!(started.elapsed() < Duration::from_secs(10) + SLACK);
    assert_eq!(client.get_node("/small").unwrap().value, b"s");
}
