//! The byte stream of one connection, plain TCP or TLS over it, and its split into a read half
//! (held by the reader token, `reader.rs`) and a write half (held by the write token,
//! `writer.rs`) that work at the same time.
//!
//! Plain TCP splits into two handles on the same socket, as before: the halves cost one match
//! on top of the socket calls.
//!
//! TLS is harder: rustls keeps a session's state in one object for both directions. The halves
//! share it under a mutex that is never held across a socket call:
//! - the read half reads ciphertext from the socket with no lock held, then feeds it to the
//!   connection under a short lock, taking out all the plaintext it yields into its own buffer
//!   (so rustls' plaintext buffer never fills and a reply of any size goes through);
//! - the write half encrypts a slice of plaintext under the lock, takes the records out, and
//!   writes them with no lock held. It alone takes records out, and writes all it took before
//!   it takes more, so records reach the socket in the order they were made. Records that the
//!   read side's processing makes (a TLS 1.3 key update, an alert) go out with the next write
//!   of the connection, which comes within a ping interval at the latest.
//!
//! A write that stalls keeps the records it made: the write token's next holder continues the
//! same frame from the same place (`writer.rs` never changes the bytes it asks to be written
//! after a stall), so the half reports the plaintext as written only once its records are out.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

#[cfg(feature = "tls")]
use std::sync::{Arc, Mutex};

#[cfg(feature = "tls")]
use super::tls;

/// How connections are opened: over plain TCP, or TLS with a rustls configuration.
#[derive(Clone, Default)]
pub(crate) struct Connector {
    #[cfg(feature = "tls")]
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_tls() { "Connector(TLS)" } else { "Connector(plain TCP)" })
    }
}

impl Connector {
    #[cfg(feature = "tls")]
    pub fn tls(config: Arc<rustls::ClientConfig>) -> Connector {
        Connector { tls: Some(config) }
    }

    pub fn is_tls(&self) -> bool {
        #[cfg(feature = "tls")]
        return self.tls.is_some();
        #[cfg(not(feature = "tls"))]
        false
    }

    /// Makes a fresh TCP connection to `host` (`name:port`, as in the connect string) the
    /// connection's stream: the TLS handshake (checking the certificate against the name)
    /// when configured, finished by `deadline`.
    pub fn secure(&self, tcp: TcpStream, host: &str, deadline: Instant) -> io::Result<Stream> {
        let _ = tcp.set_nodelay(true);
        #[cfg(feature = "tls")]
        if let Some(config) = &self.tls {
            let name = super::connect_string::host_of(host);
            return tls::handshake(config, tcp, name, deadline).map(|s| Stream::Tls(Box::new(s)));
        }
        let _ = (host, deadline);
        Ok(Stream::Plain(tcp))
    }
}

/// One connection's stream while it is opened (handshake, SASL), used by one thread.
pub(crate) enum Stream {
    Plain(TcpStream),
    #[cfg(feature = "tls")]
    Tls(Box<tls::TlsStream>),
}

impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(tcp) => tcp,
            #[cfg(feature = "tls")]
            Stream::Tls(tls) => &tls.sock,
        }
    }

    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.tcp().set_read_timeout(timeout)
    }

    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.tcp().set_write_timeout(timeout)
    }

    pub fn shutdown(&self) {
        let _ = self.tcp().shutdown(Shutdown::Both);
    }

    /// The read half, the write half, and a handle that shuts the socket down (which ends a
    /// read or write blocked on it).
    pub fn split(self) -> io::Result<(ReadHalf, WriteHalf, TcpStream)> {
        match self {
            Stream::Plain(tcp) => {
                let write = tcp.try_clone()?;
                let shutdown = tcp.try_clone()?;
                Ok((ReadHalf::Plain(tcp), WriteHalf::Plain(write), shutdown))
            }
            #[cfg(feature = "tls")]
            Stream::Tls(tls) => {
                let rustls::StreamOwned { conn, sock } = *tls;
                let write = sock.try_clone()?;
                let shutdown = sock.try_clone()?;
                let conn = Arc::new(Mutex::new(conn));
                let mut read = TlsRead {
                    conn: conn.clone(),
                    sock,
                    cipher: vec![0; CIPHER_CHUNK].into_boxed_slice(),
                    plain: Vec::new(),
                    at: 0,
                    closed: false,
                };
                // Plaintext rustls already holds (none is expected after the handshake).
                {
                    let mut conn = super::lock(&conn);
                    let state = conn.process_new_packets().map_err(tls_error)?;
                    take_plaintext(&mut conn, state.plaintext_bytes_to_read(), &mut read.plain)?;
                }
                let write = TlsWrite { conn, sock: write, out: Vec::new(), sent: 0, committed: 0 };
                Ok((ReadHalf::Tls(Box::new(read)), WriteHalf::Tls(Box::new(write)), shutdown))
            }
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(tcp) => tcp.read(buf),
            #[cfg(feature = "tls")]
            Stream::Tls(tls) => tls.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(tcp) => tcp.write(buf),
            #[cfg(feature = "tls")]
            Stream::Tls(tls) => tls.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(tcp) => tcp.flush(),
            #[cfg(feature = "tls")]
            Stream::Tls(tls) => tls.flush(),
        }
    }
}

/// The reading half of a connection.
pub(crate) enum ReadHalf {
    Plain(TcpStream),
    #[cfg(feature = "tls")]
    Tls(Box<TlsRead>),
}

impl ReadHalf {
    fn tcp(&self) -> &TcpStream {
        match self {
            ReadHalf::Plain(tcp) => tcp,
            #[cfg(feature = "tls")]
            ReadHalf::Tls(tls) => &tls.sock,
        }
    }

    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.tcp().set_read_timeout(timeout)
    }

    pub fn shutdown(&self) {
        let _ = self.tcp().shutdown(Shutdown::Both);
    }

    /// Reads what the connection delivers, blocking at most the read timeout. `Ok(0)` is the
    /// end of the stream; a timeout (`WouldBlock`/`TimedOut`) is also what a TLS read that got
    /// only part of a record returns.
    #[inline]
    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            ReadHalf::Plain(tcp) => tcp.read(buf),
            #[cfg(feature = "tls")]
            ReadHalf::Tls(tls) => tls.read(buf),
        }
    }
}

/// The writing half of a connection.
pub(crate) enum WriteHalf {
    Plain(TcpStream),
    #[cfg(feature = "tls")]
    Tls(Box<TlsWrite>),
}

impl WriteHalf {
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            WriteHalf::Plain(tcp) => tcp.set_write_timeout(timeout),
            #[cfg(feature = "tls")]
            WriteHalf::Tls(tls) => tls.sock.set_write_timeout(timeout),
        }
    }

    /// Writes a prefix of `buf`, blocking at most the write timeout; returns its length. After
    /// a timeout the next call must pass the same bytes again (see the module docs).
    #[inline]
    pub fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            WriteHalf::Plain(tcp) => tcp.write(buf),
            #[cfg(feature = "tls")]
            WriteHalf::Tls(tls) => tls.write(buf),
        }
    }
}

/// Ciphertext read from the socket at once: a full TLS record with its overhead.
#[cfg(feature = "tls")]
const CIPHER_CHUNK: usize = 16 * 1024 + 256;

/// Plaintext encrypted at once: one TLS record's worth.
#[cfg(feature = "tls")]
const PLAIN_CHUNK: usize = 16 * 1024;

#[cfg(feature = "tls")]
type SharedConn = Arc<Mutex<rustls::ClientConnection>>;

#[cfg(feature = "tls")]
fn tls_error(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("TLS: {e}"))
}

/// The read half of a TLS connection (see the module docs).
#[cfg(feature = "tls")]
pub(crate) struct TlsRead {
    conn: SharedConn,
    sock: TcpStream,
    cipher: Box<[u8]>,
    /// Decrypted bytes not handed out yet, from `at` on.
    plain: Vec<u8>,
    at: usize,
    /// The server ended the TLS session (close_notify).
    closed: bool,
}

#[cfg(feature = "tls")]
impl TlsRead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at == self.plain.len() {
            if self.closed {
                return Ok(0);
            }
            // No lock here: the write half encrypts and writes meanwhile.
            let n = self.sock.read(&mut self.cipher)?;
            if n == 0 {
                return Ok(0);
            }
            self.feed(n)?;
            if self.at == self.plain.len() {
                if self.closed {
                    return Ok(0);
                }
                // Part of a record, or a record with nothing for us (a session ticket).
                return Err(io::ErrorKind::WouldBlock.into());
            }
        }
        let n = (self.plain.len() - self.at).min(buf.len());
        buf[..n].copy_from_slice(&self.plain[self.at..self.at + n]);
        self.at += n;
        if self.at == self.plain.len() {
            self.plain.clear();
            self.at = 0;
        }
        Ok(n)
    }

    /// Gives the first `n` bytes of `cipher` to rustls, under the lock, and takes out every
    /// byte of plaintext they yield.
    fn feed(&mut self, n: usize) -> io::Result<()> {
        let mut conn = super::lock(&self.conn);
        let mut input = &self.cipher[..n];
        while !input.is_empty() {
            if conn.read_tls(&mut input)? == 0 {
                break;
            }
            let state = conn.process_new_packets().map_err(tls_error)?;
            take_plaintext(&mut conn, state.plaintext_bytes_to_read(), &mut self.plain)?;
            if state.peer_has_closed() {
                self.closed = true;
                break;
            }
        }
        Ok(())
    }
}

/// Moves the `ready` bytes of plaintext rustls holds to the end of `plain`.
#[cfg(feature = "tls")]
fn take_plaintext(
    conn: &mut rustls::ClientConnection,
    ready: usize,
    plain: &mut Vec<u8>,
) -> io::Result<()> {
    if ready > 0 {
        let start = plain.len();
        plain.resize(start + ready, 0);
        conn.reader().read_exact(&mut plain[start..])?;
    }
    Ok(())
}

/// The write half of a TLS connection (see the module docs).
#[cfg(feature = "tls")]
pub(crate) struct TlsWrite {
    conn: SharedConn,
    sock: TcpStream,
    /// Records taken out of rustls, written up to `sent`.
    out: Vec<u8>,
    sent: usize,
    /// How many bytes of the caller's plaintext `out` carries (reported once it is written).
    committed: usize,
}

#[cfg(feature = "tls")]
impl TlsWrite {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.committed == 0 {
            let chunk = &buf[..buf.len().min(PLAIN_CHUNK)];
            let mut conn = super::lock(&self.conn);
            let n = conn.writer().write(chunk)?;
            // Everything pending goes: the records of a key update the read side caused too.
            while conn.wants_write() {
                conn.write_tls(&mut self.out)?;
            }
            drop(conn);
            self.committed = n;
        }
        // No lock here: the read half reads and decrypts meanwhile.
        while self.sent < self.out.len() {
            match self.sock.write(&self.out[self.sent..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(k) => self.sent += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.out.clear();
        self.sent = 0;
        Ok(std::mem::take(&mut self.committed))
    }
}
