//! Deterministic fuzzing of the protocol decoders: random bytes, every truncation of valid
//! records, and valid records with bytes flipped, fed to every decoder and to `FrameBuffer`.
//! Decoders must never panic, must reject truncated input, and whatever they accept must
//! survive a re-encode unchanged.

use std::fmt::Debug;

use super::*;

/// xorshift64*: tiny, deterministic, good enough to spread test inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

/// Decodes and returns how many bytes were consumed.
type DecodeFn = fn(&[u8]) -> Result<usize, DecodeError>;

/// A decoder with valid encodings of the values it decodes.
struct Entry {
    name: &'static str,
    decode: DecodeFn,
    samples: Vec<Vec<u8>>,
    /// Connect records end in an optional byte: dropping exactly it is still valid.
    optional_last_byte: bool,
}

fn encode<T: Encode>(value: &T) -> Vec<u8> {
    let mut w = Writer::new();
    value.encode(&mut w);
    w.into_bytes()
}

fn decode_as<T: Encode + Decode + PartialEq + Debug>(bytes: &[u8]) -> Result<usize, DecodeError> {
    let mut r = Reader::new(bytes);
    let value = T::decode(&mut r)?;
    assert!(r.position() <= bytes.len());
    let again = encode(&value);
    assert_eq!(T::decode(&mut Reader::new(&again)).as_ref(), Ok(&value));
    Ok(r.position())
}

fn entry<T: Encode + Decode + PartialEq + Debug>(name: &'static str, values: &[T]) -> Entry {
    Entry {
        name,
        decode: decode_as::<T>,
        samples: values.iter().map(encode).collect(),
        optional_last_byte: false,
    }
}

fn decode_multi_bytes(bytes: &[u8]) -> Result<usize, DecodeError> {
    let mut r = Reader::new(bytes);
    decode_multi(&mut r)?;
    Ok(r.position())
}

fn decode_multi_read_bytes(bytes: &[u8]) -> Result<usize, DecodeError> {
    let mut r = Reader::new(bytes);
    decode_multi_read(&mut r)?;
    Ok(r.position())
}

fn stat(seed: i64) -> Stat {
    Stat {
        czxid: seed,
        mzxid: seed + 1,
        ctime: 1_700_000_000_000,
        mtime: 1_700_000_000_001,
        version: 3,
        cversion: -1,
        aversion: 0,
        ephemeral_owner: 0x7000_0000_0000_0001,
        data_length: 5,
        num_children: 2,
        pzxid: seed + 2,
    }
}

fn acl() -> Vec<Acl> {
    vec![
        Acl { perms: Perms::ALL, id: Id { scheme: "world".into(), id: "anyone".into() } },
        Acl { perms: Perms::READ, id: Id { scheme: "digest".into(), id: "user:abc=".into() } },
    ]
}

fn names() -> Vec<String> {
    vec!["lock-0000000001".into(), "".into(), "é".into()]
}

fn header(op_type: i32, done: bool, err: i32) -> MultiHeader {
    MultiHeader { op_type, done, err }
}

fn multi_reply() -> Vec<u8> {
    let mut w = Writer::new();
    header(op::CREATE, false, 0).encode(&mut w);
    w.string("/a0000000001");
    header(op::CREATE2, false, 0).encode(&mut w);
    Create2Response { path: "/b".into(), stat: stat(1) }.encode(&mut w);
    header(op::DELETE, false, 0).encode(&mut w);
    header(op::SET_DATA, false, 0).encode(&mut w);
    stat(2).encode(&mut w);
    header(op::CHECK, false, 0).encode(&mut w);
    header(op::ERROR, false, -101).encode(&mut w);
    ErrorResponse { err: -101 }.encode(&mut w);
    header(-1, true, -1).encode(&mut w);
    w.into_bytes()
}

fn multi_read_reply() -> Vec<u8> {
    let mut w = Writer::new();
    header(op::GET_DATA, false, 0).encode(&mut w);
    GetDataResponse { data: b"hello".to_vec(), stat: stat(3) }.encode(&mut w);
    header(op::GET_CHILDREN, false, 0).encode(&mut w);
    w.strings(&names());
    header(op::ERROR, false, -101).encode(&mut w);
    ErrorResponse { err: -101 }.encode(&mut w);
    header(-1, true, -1).encode(&mut w);
    w.into_bytes()
}

fn entries() -> Vec<Entry> {
    let path = || "/some/path".to_string();
    let mut connect_request = entry(
        "ConnectRequest",
        &[ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 42,
            timeout_ms: 10_000,
            session_id: 0,
            passwd: vec![0; 16],
            read_only: true,
        }],
    );
    connect_request.optional_last_byte = true;
    let mut connect_response = entry(
        "ConnectResponse",
        &[ConnectResponse {
            protocol_version: 0,
            timeout_ms: 10_000,
            session_id: 0x1234,
            passwd: vec![9; 16],
            read_only: false,
        }],
    );
    connect_response.optional_last_byte = true;
    vec![
        entry("i32", &[-1i32, 0x0102_0304]),
        entry("i64", &[i64::MIN]),
        entry("bool", &[true]),
        entry("String", &["".to_string(), path()]),
        entry("buffer", &[vec![], b"data".to_vec()]),
        entry("Vec<String>", &[vec![], names()]),
        entry("Vec<Acl>", &[acl()]),
        entry("Stat", &[stat(7)]),
        entry("Id", &[acl()[1].id.clone()]),
        entry("Acl", &[acl()[0].clone()]),
        connect_request,
        connect_response,
        entry("RequestHeader", &[RequestHeader { xid: 1, opcode: 4 }]),
        entry("ReplyHeader", &[ReplyHeader { xid: -1, zxid: 77, err: 0 }]),
        entry("WatcherEvent", &[WatcherEvent { event_type: 4, state: 3, path: path() }]),
        entry(
            "AuthPacket",
            &[AuthPacket { auth_type: 0, scheme: "digest".into(), auth: b"user:pw".to_vec() }],
        ),
        entry(
            "SetWatches",
            &[SetWatches {
                relative_zxid: 5,
                data_watches: names(),
                exist_watches: vec![],
                child_watches: vec![path()],
            }],
        ),
        entry(
            "SetWatches2",
            &[SetWatches2 {
                relative_zxid: 5,
                data_watches: vec![path()],
                exist_watches: names(),
                child_watches: vec![],
                persistent_watches: vec![path()],
                persistent_recursive_watches: names(),
            }],
        ),
        entry("MultiHeader", &[header(-1, true, -1)]),
        entry("ErrorResponse", &[ErrorResponse { err: -110 }]),
        entry(
            "CreateRequest",
            &[CreateRequest {
                path: path(),
                data: b"v".to_vec(),
                acl: acl(),
                flags: create_mode::EPHEMERAL_SEQUENTIAL,
            }],
        ),
        entry(
            "CreateTtlRequest",
            &[CreateTtlRequest {
                path: path(),
                data: vec![],
                acl: acl(),
                flags: create_mode::PERSISTENT_WITH_TTL,
                ttl: 1000,
            }],
        ),
        entry("CreateResponse", &[CreateResponse { path: path() }]),
        entry("Create2Response", &[Create2Response { path: path(), stat: stat(8) }]),
        entry("DeleteRequest", &[DeleteRequest { path: path(), version: -1 }]),
        entry("PathWatchRequest", &[PathWatchRequest { path: path(), watch: true }]),
        entry("StatResponse", &[StatResponse { stat: stat(9) }]),
        entry("GetDataResponse", &[GetDataResponse { data: b"payload".to_vec(), stat: stat(10) }]),
        entry(
            "SetDataRequest",
            &[SetDataRequest { path: path(), data: b"x".to_vec(), version: 2 }],
        ),
        entry("GetChildrenResponse", &[GetChildrenResponse { children: names() }]),
        entry(
            "GetChildren2Response",
            &[GetChildren2Response { children: names(), stat: stat(11) }],
        ),
        entry("CheckVersionRequest", &[CheckVersionRequest { path: path(), version: 1 }]),
        entry("PathRequest", &[PathRequest { path: path() }]),
        entry("PathResponse", &[PathResponse { path: path() }]),
        entry("GetAclResponse", &[GetAclResponse { acl: acl(), stat: stat(12) }]),
        entry("SetAclRequest", &[SetAclRequest { path: path(), acl: acl(), version: 0 }]),
        entry("GetEphemeralsResponse", &[GetEphemeralsResponse { ephemerals: names() }]),
        entry("GetAllChildrenNumberResponse", &[GetAllChildrenNumberResponse { total_number: 3 }]),
        entry(
            "AddWatchRequest",
            &[AddWatchRequest { path: path(), mode: add_watch_mode::PERSISTENT_RECURSIVE }],
        ),
        entry(
            "RemoveWatchesRequest",
            &[RemoveWatchesRequest { path: path(), watcher_type: watcher_type::ANY }],
        ),
        Entry {
            name: "decode_multi",
            decode: decode_multi_bytes,
            samples: vec![multi_reply(), encode(&header(-1, true, -1))],
            optional_last_byte: false,
        },
        Entry {
            name: "decode_multi_read",
            decode: decode_multi_read_bytes,
            samples: vec![multi_read_reply()],
            optional_last_byte: false,
        },
    ]
}

/// Runs every decoder on `bytes`; none may panic or claim more bytes than it was given.
fn feed_all(entries: &[Entry], bytes: &[u8]) -> usize {
    for e in entries {
        if let Ok(used) = (e.decode)(bytes) {
            assert!(used <= bytes.len(), "{} consumed past the end", e.name);
        }
    }
    entries.len()
}

/// Random input biased towards the values that steer jute decoders: small lengths, -1,
/// opcodes, huge lengths and short runs of text.
fn random_input(rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::new();
    let pieces = rng.below(12);
    for _ in 0..pieces {
        match rng.below(4) {
            0 => {
                const INTERESTING: [i32; 12] =
                    [-1, 0, 1, 2, 3, 4, 5, 8, 14, 15, i32::MAX, i32::MIN];
                out.extend_from_slice(&INTERESTING[rng.below(INTERESTING.len())].to_be_bytes());
            }
            1 => out.extend_from_slice(&(rng.below(40) as i32).to_be_bytes()),
            2 => out.push(rng.byte()),
            _ => out.extend((0..rng.below(8)).map(|_| b'a' + rng.below(26) as u8)),
        }
    }
    out
}

fn mutate(rng: &mut Rng, bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for _ in 0..=rng.below(3) {
        match rng.below(5) {
            0 if !out.is_empty() => {
                let at = rng.below(out.len());
                out.remove(at);
            }
            1 => {
                let at = rng.below(out.len() + 1);
                out.insert(at, rng.byte());
            }
            _ if !out.is_empty() => {
                let at = rng.below(out.len());
                out[at] ^= rng.byte() | 1;
            }
            _ => {}
        }
    }
    out
}

#[test]
fn valid_samples_decode_completely() {
    for e in entries() {
        for sample in &e.samples {
            assert_eq!((e.decode)(sample), Ok(sample.len()), "{}", e.name);
        }
    }
}

#[test]
fn every_truncation_is_an_error() {
    let entries = entries();
    let mut cases = 0;
    for e in &entries {
        for sample in &e.samples {
            for cut in 0..sample.len() {
                let prefix = &sample[..cut];
                let tolerated = e.optional_last_byte && cut + 1 == sample.len();
                if !tolerated {
                    assert!(
                        (e.decode)(prefix).is_err(),
                        "{} decoded from {cut} of {} bytes",
                        e.name,
                        sample.len()
                    );
                }
                cases += feed_all(&entries, prefix);
            }
        }
    }
    assert!(cases > 10_000, "only {cases} cases");
}

#[test]
fn random_bytes_never_panic() {
    let entries = entries();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut cases = 0;
    for round in 0..4000 {
        let bytes = if round % 2 == 0 {
            random_input(&mut rng)
        } else {
            (0..rng.below(48)).map(|_| rng.byte()).collect()
        };
        cases += feed_all(&entries, &bytes);
    }
    assert!(cases > 100_000, "only {cases} cases");
}

#[test]
fn flipped_samples_never_panic() {
    let entries = entries();
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    let mut cases = 0;
    for e in &entries {
        for sample in &e.samples {
            for _ in 0..150 {
                cases += feed_all(&entries, &mutate(&mut rng, sample));
            }
        }
    }
    assert!(cases > 100_000, "only {cases} cases");
}

/// A frame is laid out exactly like a jute `buffer`: i32 length, then the body.
fn frame(body: &[u8]) -> Vec<u8> {
    let mut w = Writer::new();
    w.buffer(body);
    w.into_bytes()
}

/// Feeds `stream` in random-sized chunks, collecting frames until the end or an error.
fn split(
    rng: &mut Rng,
    max_frame: usize,
    stream: &[u8],
) -> (Vec<Vec<u8>>, Option<DecodeError>, usize) {
    let mut frames = FrameBuffer::new(max_frame);
    let mut out = Vec::new();
    let mut rest = stream;
    loop {
        loop {
            match frames.next_frame() {
                Ok(Some(body)) => {
                    assert!(body.len() <= max_frame);
                    out.push(body);
                }
                Ok(None) => break,
                Err(e) => return (out, Some(e), frames.buffered()),
            }
        }
        if rest.is_empty() {
            return (out, None, frames.buffered());
        }
        let spare = frames.spare();
        assert!(spare.len() >= 64 * 1024);
        let n = (1 + rng.below(100)).min(rest.len());
        spare[..n].copy_from_slice(&rest[..n]);
        frames.filled(n);
        rest = &rest[n..];
    }
}

#[test]
fn frame_buffer_splits_valid_streams_and_waits_on_truncated_ones() {
    let bodies: Vec<Vec<u8>> = entries().into_iter().flat_map(|e| e.samples).collect();
    let stream: Vec<u8> = bodies.iter().flat_map(|b| frame(b)).collect();
    let mut rng = Rng(42);
    let (frames, err, left) = split(&mut rng, MAX_FRAME, &stream);
    assert_eq!((frames.as_slice(), err, left), (bodies.as_slice(), None, 0));

    // Every cut of the first few frames yields only whole frames and keeps the rest buffered.
    let head: Vec<u8> = bodies[..4].iter().flat_map(|b| frame(b)).collect();
    for cut in 0..head.len() {
        let (frames, err, left) = split(&mut rng, MAX_FRAME, &head[..cut]);
        assert_eq!(err, None);
        assert_eq!(frames.as_slice(), &bodies[..frames.len()]);
        let used: usize = frames.iter().map(|f| f.len() + 4).sum();
        assert_eq!(left, cut - used);
    }
}

#[test]
fn frame_buffer_survives_garbage() {
    let entries = entries();
    let bodies: Vec<Vec<u8>> = entries.iter().flat_map(|e| e.samples.clone()).collect();
    let stream: Vec<u8> = bodies.iter().flat_map(|b| frame(b)).collect();
    let mut rng = Rng(7);
    for round in 0..300 {
        let garbage = if round % 2 == 0 {
            mutate(&mut rng, &stream)
        } else {
            (0..rng.below(300)).map(|_| rng.byte()).collect()
        };
        let (frames, _err, _left) = split(&mut rng, 512, &garbage);
        for body in frames.iter().take(5) {
            feed_all(&entries, body);
        }
    }
    // A negative length is an error, not a wait for more bytes.
    let (_, err, _) = split(&mut rng, MAX_FRAME, &[0x80, 0, 0, 0]);
    assert!(matches!(err, Some(DecodeError::InvalidLength { .. })));
}
