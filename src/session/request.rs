//! A request on its way to the server and the reply its caller waits for.

use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use super::watches::WatchKind;
use crate::{Error, Result};

/// Why the session could not deliver a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The connection broke with the request in flight.
    ConnectionLoss,
    /// The session ended.
    SessionExpired,
    /// The client was closed.
    Closed,
    /// The server sent something undecodable; the connection was reset.
    Protocol(String),
    /// No connection came up before the request's deadline (after waiting this long).
    Timeout(Duration),
}

impl Failure {
    pub fn into_error(self, op: &'static str, path: &str) -> Error {
        let path = path.to_string();
        match self {
            Failure::ConnectionLoss => Error::ConnectionLoss { op, path },
            Failure::SessionExpired => Error::SessionExpired { op, path },
            Failure::Closed => Error::Closed,
            Failure::Protocol(reason) => Error::Protocol { op, path, reason },
            Failure::Timeout(after) => Error::Timeout { op, path, after },
        }
    }
}

/// A reply as read off the socket: the header's fields and the whole frame, so the caller
/// decodes the body on its own thread.
#[derive(Debug)]
pub(crate) struct RawReply {
    pub err: i32,
    pub frame: Vec<u8>,
    /// Where the body starts in `frame` (after the reply header).
    pub body_at: usize,
}

impl RawReply {
    pub fn body(&self) -> &[u8] {
        self.frame.get(self.body_at..).unwrap_or(&[])
    }
}

pub(crate) type ReplySender = Sender<std::result::Result<RawReply, Failure>>;
pub(crate) type ReplyReceiver = Receiver<std::result::Result<RawReply, Failure>>;

/// A request the session has written and not yet seen answered.
pub(crate) struct InFlight {
    pub xid: i32,
    pub reply: ReplySender,
    /// The watch to register when the reply says the call succeeded.
    pub watch: Option<(WatchKind, String, super::watches::WatchSender)>,
}

/// The caller's end: the reply channel and the deadline.
pub(crate) struct ReplyWaiter {
    pub rx: ReplyReceiver,
    pub sent_at: Instant,
    pub deadline: Instant,
}

impl ReplyWaiter {
    /// Waits for the reply until the request's deadline (or `limit`, when sooner).
    pub fn wait(&self, op: &'static str, path: &str, limit: Option<Duration>) -> Result<RawReply> {
        let deadline = match limit.and_then(|l| Instant::now().checked_add(l)) {
            Some(at) if at < self.deadline => at,
            _ => self.deadline,
        };
        match self.rx.recv_deadline(deadline) {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(failure)) => Err(failure.into_error(op, path)),
            Err(RecvTimeoutError::Timeout) => {
                Err(Error::Timeout { op, path: path.to_string(), after: self.sent_at.elapsed() })
            }
            // The session dropped the request without answering: only at close.
            Err(RecvTimeoutError::Disconnected) => Err(Error::Closed),
        }
    }
}
