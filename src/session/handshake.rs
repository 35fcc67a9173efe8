//! Opening one connection: TCP connect, ConnectRequest, ConnectResponse.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use super::sasl::{DigestMd5, Mechanism, SaslStep};
use super::stream::Stream;
use super::{lock, Shared};
use crate::proto::{
    encode_request, op, ConnectRequest, ConnectResponse, Decode, Encode, ErrorCode, FrameBuffer,
    Reader, ReplyHeader, SaslToken, Writer,
};

/// The xids of the SASL exchange: its replies are read here, before the connection carries
/// anything else, so they cannot be mistaken for a caller's.
const SASL_XID_BASE: i32 = 1;

/// A connection whose handshake succeeded.
pub(crate) struct Opened {
    pub stream: Stream,
    pub response: ConnectResponse,
    pub server: String,
}

pub(crate) enum OpenError {
    /// The server says the session we tried to resume has expired.
    Expired,
    /// The server refused our SASL credentials (it closes the session); the reason says how.
    AuthFailed(String),
    /// Anything else: refused, timed out, not serving, read-only, garbage; with the I/O error
    /// when resolving or connecting failed.
    Failed(String, Option<std::io::Error>),
}

/// Connects to `host` and resumes the session (`session_id` 0 asks for a new one).
pub(crate) fn open(
    shared: &Shared,
    host: &str,
    session_id: i64,
    passwd: &[u8],
) -> Result<Opened, OpenError> {
    let limit = shared.attempt_timeout();
    let deadline = Instant::now() + limit;
    let failed = |what: &str, e: &dyn std::fmt::Display| {
        OpenError::Failed(format!("{host}: {what}: {e}"), None)
    };
    let io_failed =
        |what: &str, e: std::io::Error| OpenError::Failed(format!("{host}: {what}: {e}"), Some(e));
    let addrs = host.to_socket_addrs().map_err(|e| io_failed("cannot resolve", e))?;
    let mut last = OpenError::Failed(format!("{host}: resolves to no address"), None);
    for addr in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let stream = match TcpStream::connect_timeout(&addr, left) {
            Ok(stream) => stream,
            Err(e) => {
                last = io_failed("connect", e);
                continue;
            }
        };
        *lock(&shared.connecting) = stream.try_clone().ok();
        let stream = match shared.config.connector.secure(stream, host, deadline) {
            Ok(stream) => stream,
            Err(e) => {
                *lock(&shared.connecting) = None;
                last = OpenError::Failed(format!("{host}: {e}"), Some(e));
                continue;
            }
        };
        let result = handshake(shared, host, stream, deadline, session_id, passwd);
        *lock(&shared.connecting) = None;
        match result {
            Ok((stream, response)) => {
                return Ok(Opened { stream, response, server: host.to_string() })
            }
            Err(HandshakeError::Expired) => return Err(OpenError::Expired),
            Err(HandshakeError::AuthFailed(why)) => {
                return Err(OpenError::AuthFailed(format!("{host}: SASL {why}")))
            }
            Err(HandshakeError::Io(e)) => last = failed("handshake", &e),
        }
    }
    Err(last)
}

enum HandshakeError {
    Expired,
    AuthFailed(String),
    Io(String),
}

fn handshake(
    shared: &Shared,
    // The GSSAPI login names the server after it.
    #[cfg_attr(not(feature = "gssapi"), allow(unused_variables))] host: &str,
    mut stream: Stream,
    deadline: Instant,
    session_id: i64,
    passwd: &[u8],
) -> Result<(Stream, ConnectResponse), HandshakeError> {
    let io = |e: std::io::Error| HandshakeError::Io(e.to_string());
    let request = ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: shared.last_zxid(),
        timeout_ms: shared.config.session_timeout.as_millis().min(i32::MAX as u128) as i32,
        session_id,
        passwd: passwd.to_vec(),
        read_only: shared.config.can_be_read_only,
    };
    let mut w = Writer::framed();
    request.encode(&mut w);
    stream.set_write_timeout(Some(remaining(deadline)?)).map_err(io)?;
    stream.write_all(&w.into_frame()).map_err(io)?;
    stream.flush().map_err(io)?;
    let mut frames = FrameBuffer::new(4096);
    let frame = read_frame(&mut stream, &mut frames, deadline)?;
    let response = ConnectResponse::decode(&mut Reader::new(&frame))
        .map_err(|e| HandshakeError::Io(format!("bad connect response: {e}")))?;
    if response.timeout_ms <= 0 {
        stream.shutdown();
        return Err(HandshakeError::Expired);
    }
    if let Some((user, password)) = &shared.config.sasl {
        sasl_login(&mut stream, &mut frames, deadline, &mut DigestMd5::new(user, password))?;
    }
    #[cfg(feature = "gssapi")]
    if let Some(gssapi) = &shared.config.gssapi {
        let mut login = super::gssapi::GssapiLogin::new(gssapi, host)
            .map_err(|why| HandshakeError::AuthFailed(format!("GSSAPI: {why}")))?;
        sasl_login(&mut stream, &mut frames, deadline, &mut login)?;
    }
    if frames.buffered() > 0 {
        // Servers send nothing unasked after the handshake; bytes here mean we are out of step.
        return Err(HandshakeError::Io("unexpected bytes after the connect response".into()));
    }
    Ok((stream, response))
}

/// SASL on a fresh connection, before it carries anything else (so a server that
/// requires SASL never sees an unauthenticated request of ours): each token goes in a `sasl`
/// request and the server's answer feeds the mechanism, until it is done.
fn sasl_login(
    stream: &mut Stream,
    frames: &mut FrameBuffer,
    deadline: Instant,
    mechanism: &mut dyn Mechanism,
) -> Result<(), HandshakeError> {
    let io = |e: std::io::Error| HandshakeError::Io(e.to_string());
    let name = mechanism.name();
    let failed = |why: String| HandshakeError::AuthFailed(format!("{name}: {why}"));
    let mut token = mechanism.initial_token().map_err(failed)?;
    // DIGEST-MD5 takes two round trips, GSSAPI three; a server asking for more is not speaking
    // either.
    for step in 0..6 {
        let frame = encode_request(SASL_XID_BASE + step, op::SASL, &SaslToken { token });
        stream.set_write_timeout(Some(remaining(deadline)?)).map_err(io)?;
        stream.write_all(&frame).map_err(io)?;
        stream.flush().map_err(io)?;
        let reply = read_frame(stream, frames, deadline)?;
        let mut r = Reader::new(&reply);
        let bad = |e: crate::proto::DecodeError| HandshakeError::Io(format!("bad SASL reply: {e}"));
        let header = ReplyHeader::decode(&mut r).map_err(bad)?;
        if header.err != 0 {
            let code = ErrorCode::from_i32(header.err);
            let who = mechanism.identity();
            return Err(failed(format!("the server refused the credentials of {who} ({code})")));
        }
        let answer = SaslToken::decode(&mut r).map_err(bad)?;
        match mechanism.step(&answer.token).map_err(failed)? {
            SaslStep::Respond(next) => token = next,
            SaslStep::Done => return Ok(()),
        }
    }
    Err(failed("the exchange did not finish in 6 steps".into()))
}

/// Reads one whole frame, giving up at `deadline`.
fn read_frame(
    stream: &mut Stream,
    frames: &mut FrameBuffer,
    deadline: Instant,
) -> Result<Vec<u8>, HandshakeError> {
    let io = |e: std::io::Error| HandshakeError::Io(e.to_string());
    let frame = loop {
        if let Some(frame) = frames.next_frame().map_err(|e| HandshakeError::Io(e.to_string()))? {
            break frame;
        }
        stream.set_read_timeout(Some(remaining(deadline)?)).map_err(io)?;
        match stream.read(frames.spare()) {
            // A server that is not serving (or is read-only and we are not) closes at once.
            Ok(0) => {
                return Err(HandshakeError::Io(
                    "server closed the connection (not serving, or a TLS port?)".into(),
                ))
            }
            Ok(n) => frames.filled(n),
            Err(e) if is_timeout(&e) => {
                return Err(HandshakeError::Io("no answer before the deadline".into()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io(e)),
        }
    };
    Ok(frame)
}

fn remaining(deadline: Instant) -> Result<Duration, HandshakeError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(HandshakeError::Io("no answer before the deadline".into()));
    }
    Ok(left)
}

pub(crate) fn is_timeout(e: &std::io::Error) -> bool {
    matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)
}
