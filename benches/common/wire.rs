//! The few ZooKeeper frames the bare-socket floor (and the tests' raw session closer) send and
//! read, encoded here by hand so they depend on nothing of zkcluster's internals.
//!
//! Jute, the server's encoding: big-endian `int` and `long`, a one-byte `boolean`, strings and
//! buffers as an `int` length then the bytes. A request frame is a 4-byte length, then the
//! header (`xid`, `opcode`), then the body; a reply frame is the header (`xid`, `zxid`, `err`),
//! then the body when `err` is 0.

use std::io;

/// Opcodes of the requests sent here (zookeeper.jute's `OpCode`).
pub mod op {
    pub const CREATE: i32 = 1;
    pub const DELETE: i32 = 2;
    pub const EXISTS: i32 = 3;
    pub const GET_DATA: i32 = 4;
    pub const SET_DATA: i32 = 5;
    pub const GET_CHILDREN: i32 = 8;
    pub const CLOSE_SESSION: i32 = -11;
}

/// Create flags.
pub mod create_mode {
    pub const PERSISTENT: i32 = 0;
    pub const EPHEMERAL: i32 = 1;
    pub const EPHEMERAL_SEQUENTIAL: i32 = 3;
}

/// The xid of a watch notification.
pub const WATCH_EVENT_XID: i32 = -1;

/// The error code of `NodeExists` and `NoNode`.
pub const NODE_EXISTS: i32 = -110;
pub const NO_NODE: i32 = -101;

/// Jute fields appended to a buffer.
#[derive(Debug, Default, Clone)]
pub struct Body(Vec<u8>);

impl Body {
    pub fn int(mut self, v: i32) -> Body {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn long(mut self, v: i64) -> Body {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn boolean(mut self, v: bool) -> Body {
        self.0.push(u8::from(v));
        self
    }

    pub fn buffer(self, bytes: &[u8]) -> Body {
        let mut body = self.int(bytes.len() as i32);
        body.0.extend_from_slice(bytes);
        body
    }

    pub fn string(self, s: &str) -> Body {
        self.buffer(s.as_bytes())
    }

    /// `path`, `watch`: the body of exists, getData and getChildren.
    pub fn path_watch(path: &str, watch: bool) -> Body {
        Body::default().string(path).boolean(watch)
    }

    /// A create of `path` with `data`, `flags` and the open ACL (`world:anyone`, all perms).
    pub fn create(path: &str, data: &[u8], flags: i32) -> Body {
        let open_acl = Body::default().int(1).int(0x1f).string("world").string("anyone");
        let mut body = Body::default().string(path).buffer(data);
        body.0.extend_from_slice(&open_acl.0);
        body.int(flags)
    }

    /// setData of `path` whatever its version.
    pub fn set_data(path: &str, data: &[u8]) -> Body {
        Body::default().string(path).buffer(data).int(-1)
    }

    /// delete of `path` whatever its version.
    pub fn delete(path: &str) -> Body {
        Body::default().string(path).int(-1)
    }

    /// A connect request (it has no header): a new session when `session_id` is 0.
    pub fn connect(session_id: i64, passwd: &[u8], timeout_ms: i32) -> Body {
        let (protocol_version, last_zxid_seen, read_only) = (0, 0, false);
        Body::default()
            .int(protocol_version)
            .long(last_zxid_seen)
            .int(timeout_ms)
            .long(session_id)
            .buffer(passwd)
            .boolean(read_only)
    }

    /// The body behind its 4-byte length.
    pub fn framed(&self) -> Vec<u8> {
        let mut frame = (self.0.len() as i32).to_be_bytes().to_vec();
        frame.extend_from_slice(&self.0);
        frame
    }
}

/// The frame of request `xid` with `opcode` and `body`.
pub fn request(xid: i32, opcode: i32, body: &Body) -> Vec<u8> {
    let mut whole = Body::default().int(xid).int(opcode);
    whole.0.extend_from_slice(&body.0);
    whole.framed()
}

/// Reads jute fields off a reply body.
pub struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes }
    }

    fn take(&mut self, n: usize) -> io::Result<&'a [u8]> {
        if self.bytes.len() < n {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "reply body too short"));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    pub fn int(&mut self) -> io::Result<i32> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn long(&mut self) -> io::Result<i64> {
        let b = self.take(8)?;
        Ok(i64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
    }

    pub fn buffer(&mut self) -> io::Result<&'a [u8]> {
        let len = self.int()?;
        self.take(usize::try_from(len).unwrap_or(0))
    }

    pub fn string(&mut self) -> io::Result<String> {
        String::from_utf8(self.buffer()?.to_vec())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    /// A vector of strings (getChildren's reply).
    pub fn strings(&mut self) -> io::Result<Vec<String>> {
        let n = self.int()?.max(0);
        (0..n).map(|_| self.string()).collect()
    }

    /// The session id of a connect reply (0 when the server refused the session).
    pub fn session_id_of_connect_reply(mut self) -> io::Result<i64> {
        let (_protocol_version, _timeout) = (self.int()?, self.int()?);
        self.long()
    }
}
