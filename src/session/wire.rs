//! The write side of the current connection: the socket, the requests in flight (in the order
//! they were written, which is the order the server answers them) and the xid counter.

use std::collections::VecDeque;
use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use super::request::{InFlight, ReplySender};
use super::watches::{WatchKind, WatchSender};
use crate::proto::{self, op, xid, AuthPacket, Encode, Writer};

pub(crate) struct Wire {
    pub stream: Option<TcpStream>,
    pub in_flight: VecDeque<InFlight>,
    /// Waiters of `add_auth`, answered in order by auth replies (which the server sends as
    /// soon as it reads the packet, possibly before replies to earlier requests).
    pub auth_waiters: VecDeque<Sender<i32>>,
    /// Auth replies still due for packets replayed at reconnect (nobody waits for those).
    pub auth_replays: usize,
    next_xid: i32,
    activity: Arc<Activity>,
}

/// When the connection last sent and last received anything, readable without a lock (the
/// session thread checks them every tick while callers read and write).
pub(crate) struct Activity {
    epoch: Instant,
    last_sent: AtomicU64,
    last_recv: AtomicU64,
    /// The last request written or reply awaited by a caller.
    last_active: AtomicU64,
}

impl Activity {
    pub fn new() -> Activity {
        Activity {
            epoch: Instant::now(),
            last_sent: AtomicU64::new(0),
            last_recv: AtomicU64::new(0),
            last_active: AtomicU64::new(0),
        }
    }

    fn now(&self) -> u64 {
        self.epoch.elapsed().as_nanos().min(u64::MAX as u128) as u64
    }

    pub fn sent(&self) {
        let now = self.now();
        self.last_sent.store(now, Ordering::Relaxed);
        self.last_active.store(now, Ordering::Relaxed);
    }

    /// A caller finished waiting for a reply.
    pub fn active(&self) {
        self.last_active.store(self.now(), Ordering::Relaxed);
    }

    pub fn since_active(&self) -> Duration {
        Duration::from_nanos(self.now().saturating_sub(self.last_active.load(Ordering::Relaxed)))
    }

    pub fn received(&self) {
        self.last_recv.store(self.now(), Ordering::Relaxed);
    }

    pub fn since_sent(&self) -> Duration {
        Duration::from_nanos(self.now().saturating_sub(self.last_sent.load(Ordering::Relaxed)))
    }

    pub fn since_received(&self) -> Duration {
        Duration::from_nanos(self.now().saturating_sub(self.last_recv.load(Ordering::Relaxed)))
    }
}

pub(crate) enum WriteError {
    /// No connection now; the watch registration is handed back for the retry.
    NotConnected(Option<(WatchKind, String, WatchSender)>),
    /// The write failed; the connection is shut down and the driver will reconnect.
    Broken,
}

/// A frame holding only a request header (ping, closeSession).
pub(crate) fn header_frame(op: i32) -> Vec<u8> {
    let mut w = Writer::framed();
    w.i32(0);
    w.i32(op);
    w.into_frame()
}

impl Wire {
    pub fn new(activity: Arc<Activity>) -> Wire {
        Wire {
            stream: None,
            in_flight: VecDeque::new(),
            auth_waiters: VecDeque::new(),
            auth_replays: 0,
            next_xid: 1,
            activity,
        }
    }

    fn take_xid(&mut self) -> i32 {
        let id = self.next_xid;
        // Positive xids only: negative ones are reserved for pings, auth, watches.
        self.next_xid = if id == i32::MAX { 1 } else { id + 1 };
        id
    }

    /// Writes `frame` (whose xid bytes are patched here) and records it as in flight.
    pub fn write_request(
        &mut self,
        frame: &mut [u8],
        reply: ReplySender,
        watch: Option<(WatchKind, String, WatchSender)>,
    ) -> Result<(), WriteError> {
        if self.stream.is_none() {
            return Err(WriteError::NotConnected(watch));
        }
        let xid = self.take_xid();
        if let Some(bytes) = frame.get_mut(4..8) {
            bytes.copy_from_slice(&xid.to_be_bytes());
        }
        let sent_at = Instant::now();
        self.write(frame)?;
        self.in_flight.push_back(InFlight { xid, reply, watch, sent_at });
        Ok(())
    }

    /// Writes an auth packet; `waiter` gets the reply's error code.
    pub fn write_auth(
        &mut self,
        scheme: &str,
        auth: &[u8],
        waiter: Option<Sender<i32>>,
    ) -> Result<(), WriteError> {
        if self.stream.is_none() {
            return Err(WriteError::NotConnected(None));
        }
        let packet = AuthPacket { auth_type: 0, scheme: scheme.to_string(), auth: auth.to_vec() };
        let frame = proto::encode_request(xid::AUTH, op::AUTH, &packet);
        self.write(&frame)?;
        match waiter {
            Some(tx) => self.auth_waiters.push_back(tx),
            None => self.auth_replays += 1,
        }
        Ok(())
    }

    /// Writes a request that nobody waits for (ping, set watches).
    pub fn write_special<T: Encode>(
        &mut self,
        special_xid: i32,
        op: i32,
        body: &T,
    ) -> Result<(), WriteError> {
        let frame = proto::encode_request(special_xid, op, body);
        self.write(&frame)
    }

    pub fn write_ping(&mut self) -> Result<(), WriteError> {
        let mut frame = header_frame(op::PING);
        if let Some(bytes) = frame.get_mut(4..8) {
            bytes.copy_from_slice(&xid::PING.to_be_bytes());
        }
        self.write(&frame)
    }

    fn write(&mut self, frame: &[u8]) -> Result<(), WriteError> {
        let Some(stream) = self.stream.as_mut() else {
            return Err(WriteError::NotConnected(None));
        };
        match stream.write_all(frame) {
            Ok(()) => {
                self.activity.sent();
                Ok(())
            }
            Err(e) => {
                // A partial write leaves the stream out of frame: it can only be reset. The
                // driver sees the shutdown, fails what is in flight and reconnects.
                log::warn!("write failed, resetting the connection: {e}");
                let _ = stream.shutdown(Shutdown::Both);
                Err(WriteError::Broken)
            }
        }
    }
}
