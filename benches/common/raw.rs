//! The bare-socket floor: one TCP connection, hand-built frames, blocking reads and writes, and
//! nothing else (no reader thread, no channels, no timeouts). Whatever a client library adds
//! on top of this is its cost; what this loop reaches is what the server allows.

use std::io::{self, Read, Write};
use std::net::TcpStream;

use super::wire::{self, create_mode, op, Body, Reader};

/// One reply: its header fields and where its body sits in the connection's read buffer.
#[derive(Debug, Clone, Copy)]
pub struct Reply {
    pub xid: i32,
    pub err: i32,
    body: (usize, usize),
}

/// A raw ZooKeeper connection with a session.
pub struct RawConn {
    stream: TcpStream,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    next_xid: i32,
    /// Watch notifications read while waiting for a reply, not yet consumed.
    events: usize,
}

fn bad(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

impl RawConn {
    /// TCP connect + handshake for a new 30 s session (no pings are ever sent, so a connection
    /// must not idle longer than that).
    pub fn connect(addr: &str) -> io::Result<RawConn> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        let mut conn =
            RawConn { stream, buf: vec![0; 256 * 1024], start: 0, end: 0, next_xid: 1, events: 0 };
        conn.stream.write_all(&Body::connect(0, &[0; 16], 30_000).framed())?;
        let (a, b) = conn.next_frame()?;
        let session_id = Reader::new(&conn.buf[a..b])
            .session_id_of_connect_reply()
            .map_err(|e| bad(format!("connect response: {e}")))?;
        if session_id == 0 {
            return Err(bad("server refused the session".into()));
        }
        Ok(conn)
    }

    /// The next frame's body as a range of `buf` (valid until the next read).
    fn next_frame(&mut self) -> io::Result<(usize, usize)> {
        loop {
            let have = self.end - self.start;
            if have >= 4 {
                let b = &self.buf[self.start..self.start + 4];
                let len = i32::from_be_bytes([b[0], b[1], b[2], b[3]]);
                let len = usize::try_from(len).map_err(|_| bad(format!("frame length {len}")))?;
                if have >= 4 + len {
                    let body = (self.start + 4, self.start + 4 + len);
                    self.start += 4 + len;
                    return Ok(body);
                }
                if 4 + len > self.buf.len() {
                    self.buf.resize(4 + len, 0);
                }
            }
            if self.start == self.end {
                self.start = 0;
                self.end = 0;
            } else if self.buf.len() - self.end < 64 * 1024 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            let n = self.stream.read(&mut self.buf[self.end..])?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "server closed the connection",
                ));
            }
            self.end += n;
        }
    }

    /// Whether a whole frame is already buffered (so `recv` would not block).
    pub fn has_frame(&self) -> bool {
        let have = self.end - self.start;
        if have < 4 {
            return false;
        }
        let b = &self.buf[self.start..self.start + 4];
        let len = i32::from_be_bytes([b[0], b[1], b[2], b[3]]).max(0) as usize;
        have >= 4 + len
    }

    /// The next frame: header fields and body range.
    pub fn recv(&mut self) -> io::Result<Reply> {
        let (a, b) = self.next_frame()?;
        if b - a < 16 {
            return Err(bad(format!("short reply of {} bytes", b - a)));
        }
        let h = &self.buf[a..a + 16];
        let xid = i32::from_be_bytes([h[0], h[1], h[2], h[3]]);
        let err = i32::from_be_bytes([h[12], h[13], h[14], h[15]]);
        Ok(Reply { xid, err, body: (a + 16, b) })
    }

    /// The body of `reply` (only valid before the next read).
    pub fn body(&self, reply: &Reply) -> &[u8] {
        &self.buf[reply.body.0..reply.body.1]
    }

    /// Encodes one request and appends it to `out` (nothing is written yet).
    pub fn encode(&mut self, out: &mut Vec<u8>, opcode: i32, body: &Body) {
        let id = self.next_xid;
        self.next_xid += 1;
        out.extend_from_slice(&wire::request(id, opcode, body));
    }

    /// Writes bytes built by [`encode`](Self::encode).
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Writes one request.
    pub fn send(&mut self, opcode: i32, body: &Body) -> io::Result<()> {
        let id = self.next_xid;
        self.next_xid += 1;
        self.stream.write_all(&wire::request(id, opcode, body))
    }

    /// Reads the next reply to a request, counting (and skipping) watch notifications.
    pub fn reply(&mut self) -> io::Result<Reply> {
        loop {
            let reply = self.recv()?;
            match reply.xid {
                wire::WATCH_EVENT_XID => self.events += 1,
                x if x < 0 => {}
                _ => return Ok(reply),
            }
        }
    }

    /// One request, one reply; the reply's error code.
    pub fn call(&mut self, opcode: i32, body: &Body) -> io::Result<Reply> {
        self.send(opcode, body)?;
        self.reply()
    }

    /// Blocks until a watch notification arrives (or returns one already read).
    pub fn wait_event(&mut self) -> io::Result<()> {
        while self.events == 0 {
            let reply = self.recv()?;
            if reply.xid == wire::WATCH_EVENT_XID {
                self.events += 1;
            }
        }
        self.events -= 1;
        Ok(())
    }

    fn ok(reply: Reply, what: &str, path: &str) -> io::Result<Reply> {
        if reply.err == 0 {
            Ok(reply)
        } else {
            Err(bad(format!("{what} {path}: error {}", reply.err)))
        }
    }

    pub fn create(&mut self, path: &str, data: &[u8], flags: i32) -> io::Result<String> {
        let body = Body::create(path, data, flags);
        let reply = Self::ok(self.call(op::CREATE, &body)?, "create", path)?;
        Reader::new(self.body(&reply)).string()
    }

    /// Creates `path` unless it exists.
    pub fn ensure(&mut self, path: &str) -> io::Result<()> {
        let body = Body::create(path, b"", create_mode::PERSISTENT);
        let reply = self.call(op::CREATE, &body)?;
        match reply.err {
            0 | wire::NODE_EXISTS => Ok(()),
            e => Err(bad(format!("create {path}: error {e}"))),
        }
    }

    pub fn get(&mut self, path: &str) -> io::Result<()> {
        let reply = self.call(op::GET_DATA, &Body::path_watch(path, false))?;
        Self::ok(reply, "get", path).map(drop)
    }

    pub fn set(&mut self, path: &str, data: &[u8]) -> io::Result<()> {
        Self::ok(self.call(op::SET_DATA, &Body::set_data(path, data))?, "set", path).map(drop)
    }

    /// Whether the node exists; `watch` leaves a watch either way.
    pub fn exists(&mut self, path: &str, watch: bool) -> io::Result<bool> {
        let reply = self.call(op::EXISTS, &Body::path_watch(path, watch))?;
        match reply.err {
            0 => Ok(true),
            wire::NO_NODE => Ok(false),
            e => Err(bad(format!("exists {path}: error {e}"))),
        }
    }

    pub fn delete(&mut self, path: &str) -> io::Result<()> {
        Self::ok(self.call(op::DELETE, &Body::delete(path))?, "delete", path).map(drop)
    }

    pub fn children(&mut self, path: &str) -> io::Result<Vec<String>> {
        let reply = self.call(op::GET_CHILDREN, &Body::path_watch(path, false))?;
        let reply = Self::ok(reply, "get_children", path)?;
        Reader::new(self.body(&reply)).strings()
    }

    /// Ends the session (its ephemeral nodes go at once).
    pub fn close(mut self) {
        let close = wire::request(self.next_xid, op::CLOSE_SESSION, &Body::default());
        if self.stream.write_all(&close).is_ok() {
            let _ = self.reply();
        }
    }
}
