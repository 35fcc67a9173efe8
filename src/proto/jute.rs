//! Jute, ZooKeeper's record encoding: big-endian integers, length-prefixed byte strings and
//! count-prefixed vectors, with no field tags. Records are plain field sequences, so a
//! record's layout is just the order in which its fields are written.
//!
//! [`Writer`] and [`Reader`] handle the primitive types; [`Encode`] and [`Decode`] are
//! implemented by the records in this module's siblings. [`FrameBuffer`] splits the
//! length-prefixed frames of a TCP stream.

use crate::proto::records::RequestHeader;

pub use crate::proto::frame::{FrameBuffer, MAX_FRAME};

/// Why bytes could not be decoded. Every variant means the peer sent something we cannot
/// trust, so the connection that produced them should be dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input ended before a value was complete.
    #[error("truncated input: needed {needed} bytes at offset {at}, only {available} left")]
    Truncated {
        /// Bytes the value needs (at least).
        needed: usize,
        /// Bytes that were left.
        available: usize,
        /// Offset where the value starts.
        at: usize,
    },
    /// A length or count prefix is negative (other than jute's `-1` for "null").
    #[error("invalid length {len} at offset {at}")]
    InvalidLength {
        /// The length as read.
        len: i64,
        /// Offset of the length prefix.
        at: usize,
    },
    /// A string is not valid UTF-8.
    #[error("string at offset {at} is not valid UTF-8")]
    InvalidUtf8 {
        /// Offset of the string's first byte.
        at: usize,
    },
    /// A frame announces a body larger than we accept.
    #[error("frame of {len} bytes exceeds the {max}-byte limit")]
    FrameTooLarge {
        /// The announced body length.
        len: usize,
        /// The limit in force.
        max: usize,
    },
    /// A multi response contains an operation type that does not belong there.
    #[error("unexpected operation type {op_type} in multi response at offset {at}")]
    UnexpectedMultiType {
        /// The type from the multi header.
        op_type: i32,
        /// Offset of the multi header.
        at: usize,
    },
}

/// A value that can be written in jute form.
pub trait Encode {
    /// Appends `self` to `w`.
    fn encode(&self, w: &mut Writer);
}

/// A value that can be read from jute form.
pub trait Decode: Sized {
    /// Reads one value from `r`, leaving `r` positioned after it.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError>;
}

/// Requests without a body (ping, closeSession) encode to nothing.
impl Encode for () {
    fn encode(&self, _w: &mut Writer) {}
}

/// Builds jute-encoded bytes.
#[derive(Debug, Clone, Default)]
pub struct Writer {
    bytes: Vec<u8>,
    framed: bool,
}

/// Jute lengths are i32; anything longer cannot be represented, and no frame we send may
/// get near that (servers cap packets far lower), so saturating is never reached in practice.
fn jute_len(len: usize) -> i32 {
    i32::try_from(len).unwrap_or(i32::MAX)
}

impl Writer {
    /// An empty buffer.
    pub fn new() -> Writer {
        Writer::default()
    }

    /// A buffer that starts with a 4-byte length placeholder, filled in by
    /// [`into_frame`](Writer::into_frame).
    pub fn framed() -> Writer {
        Writer { bytes: vec![0; 4], framed: true }
    }

    /// Appends a big-endian `int`.
    pub fn i32(&mut self, v: i32) {
        self.bytes.extend_from_slice(&v.to_be_bytes());
    }

    /// Appends a big-endian `long`.
    pub fn i64(&mut self, v: i64) {
        self.bytes.extend_from_slice(&v.to_be_bytes());
    }

    /// Appends a `boolean` as one byte, 1 or 0.
    pub fn bool(&mut self, v: bool) {
        self.bytes.push(u8::from(v));
    }

    /// Appends a `buffer`: i32 length, then the bytes.
    pub fn buffer(&mut self, v: &[u8]) {
        self.i32(jute_len(v.len()));
        self.bytes.extend_from_slice(v);
    }

    /// Appends a `buffer` that may be null (`-1` length for `None`).
    pub fn opt_buffer(&mut self, v: Option<&[u8]>) {
        match v {
            Some(bytes) => self.buffer(bytes),
            None => self.i32(-1),
        }
    }

    /// Appends a `ustring`: i32 byte length, then UTF-8.
    pub fn string(&mut self, v: &str) {
        self.buffer(v.as_bytes());
    }

    /// Appends a `vector<ustring>`: i32 count, then each string.
    pub fn strings(&mut self, v: &[String]) {
        self.i32(jute_len(v.len()));
        for s in v {
            self.string(s);
        }
    }

    /// Appends a `vector` of records: i32 count, then each record.
    pub fn vector<T: Encode>(&mut self, v: &[T]) {
        self.i32(jute_len(v.len()));
        for item in v {
            item.encode(self);
        }
    }

    /// Bytes written so far, including the placeholder of a framed writer.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether nothing has been written (a framed writer never is empty).
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The finished frame: the length prefix holds the number of bytes after it.
    ///
    /// A writer made with [`new`](Writer::new) gets a prefix put in front, so the result is a
    /// valid frame either way.
    pub fn into_frame(mut self) -> Vec<u8> {
        if !self.framed {
            self.bytes.splice(0..0, [0; 4]);
        }
        let body_len = jute_len(self.bytes.len().saturating_sub(4));
        if let Some(prefix) = self.bytes.get_mut(..4) {
            prefix.copy_from_slice(&body_len.to_be_bytes());
        }
        self.bytes
    }

    /// The bytes as written (a framed writer's placeholder is left as is).
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// The bytes written so far, for patching fields in place (the session sets the xid of
    /// an already encoded request this way).
    pub fn as_mut_bytes(&mut self) -> &mut [u8] {
        &mut self.bytes
    }
}

/// Encodes a complete request frame: length prefix, `RequestHeader { xid, opcode }`, body.
pub fn encode_request<T: Encode>(xid: i32, opcode: i32, body: &T) -> Vec<u8> {
    let mut w = Writer::framed();
    RequestHeader { xid, opcode }.encode(&mut w);
    body.encode(&mut w);
    w.into_frame()
}

/// Reads jute-encoded values from a byte slice, never panicking on malformed input.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader positioned at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    /// Offset of the next byte to read.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Takes the next `n` bytes, or reports how many were missing.
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let truncated =
            DecodeError::Truncated { needed: n, available: self.remaining(), at: self.pos };
        let end = self.pos.checked_add(n).ok_or(truncated.clone())?;
        let bytes = self.buf.get(self.pos..end).ok_or(truncated)?;
        self.pos = end;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// Reads a big-endian `int`.
    pub fn i32(&mut self) -> Result<i32, DecodeError> {
        self.array().map(i32::from_be_bytes)
    }

    /// Reads a big-endian `long`.
    pub fn i64(&mut self) -> Result<i64, DecodeError> {
        self.array().map(i64::from_be_bytes)
    }

    /// Reads a `boolean`; any nonzero byte is true.
    pub fn bool(&mut self) -> Result<bool, DecodeError> {
        self.array::<1>().map(|[b]| b != 0)
    }

    /// Reads a length or count prefix: `None` for jute's null (-1), an error for other
    /// negatives and for values that cannot fit in the remaining bytes at `min_item` bytes
    /// per item. Checking here means no caller allocates for data that is not there.
    fn prefix(&mut self, min_item: usize) -> Result<Option<usize>, DecodeError> {
        let at = self.pos;
        let len = self.i32()?;
        if len == -1 {
            return Ok(None);
        }
        let count = usize::try_from(len)
            .map_err(|_| DecodeError::InvalidLength { len: i64::from(len), at })?;
        let needed = count.saturating_mul(min_item);
        if needed > self.remaining() {
            return Err(DecodeError::Truncated {
                needed,
                available: self.remaining(),
                at: self.pos,
            });
        }
        Ok(Some(count))
    }

    /// Reads a `buffer`; a null buffer reads as empty.
    pub fn buffer(&mut self) -> Result<Vec<u8>, DecodeError> {
        Ok(self.opt_buffer()?.unwrap_or_default())
    }

    /// Reads a `buffer`, keeping the difference between null (`None`) and empty.
    pub fn opt_buffer(&mut self) -> Result<Option<Vec<u8>>, DecodeError> {
        match self.prefix(1)? {
            Some(len) => Ok(Some(self.take(len)?.to_vec())),
            None => Ok(None),
        }
    }

    /// Reads a `ustring`; a null string reads as empty.
    pub fn string(&mut self) -> Result<String, DecodeError> {
        let Some(len) = self.prefix(1)? else {
            return Ok(String::new());
        };
        let at = self.pos;
        let bytes = self.take(len)?;
        std::str::from_utf8(bytes).map(str::to_owned).map_err(|_| DecodeError::InvalidUtf8 { at })
    }

    /// Reads a `vector<ustring>`; a null vector reads as empty.
    pub fn strings(&mut self) -> Result<Vec<String>, DecodeError> {
        // Each string has at least its 4-byte length prefix.
        let count = self.prefix(4)?.unwrap_or(0);
        (0..count).map(|_| self.string()).collect()
    }

    /// Reads a `vector` of records; a null vector reads as empty.
    pub fn vector<T: Decode>(&mut self) -> Result<Vec<T>, DecodeError> {
        // Any record takes at least a byte, so a count beyond the remaining bytes is
        // rejected before decoding; the vector then only grows as records decode.
        let count = self.prefix(1)?.unwrap_or(0);
        (0..count).map(|_| T::decode(self)).collect()
    }
}

macro_rules! primitive_codec {
    ($($ty:ty => $method:ident),* $(,)?) => {$(
        impl Encode for $ty {
            fn encode(&self, w: &mut Writer) {
                w.$method(*self);
            }
        }
        impl Decode for $ty {
            fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                r.$method()
            }
        }
    )*};
}

// Field types of records, so record fields can be coded uniformly by type.
primitive_codec!(i32 => i32, i64 => i64, bool => bool);

impl Encode for String {
    fn encode(&self, w: &mut Writer) {
        w.string(self);
    }
}

impl Decode for String {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.string()
    }
}

/// `Vec<u8>` is jute's `buffer`, not a vector of bytes.
impl Encode for Vec<u8> {
    fn encode(&self, w: &mut Writer) {
        w.buffer(self);
    }
}

impl Decode for Vec<u8> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.buffer()
    }
}

impl Encode for Vec<String> {
    fn encode(&self, w: &mut Writer) {
        w.strings(self);
    }
}

impl Decode for Vec<String> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.strings()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitives_are_big_endian() {
        let mut w = Writer::new();
        w.i32(-2);
        w.i64(0x0102_0304_0506_0708);
        w.bool(true);
        w.bool(false);
        assert_eq!(w.into_bytes(), [0xff, 0xff, 0xff, 0xfe, 1, 2, 3, 4, 5, 6, 7, 8, 1, 0]);
    }

    #[test]
    fn primitives_round_trip() {
        let mut w = Writer::new();
        w.i32(i32::MIN);
        w.i64(i64::MAX);
        w.bool(true);
        w.buffer(b"xyz");
        w.opt_buffer(None);
        w.opt_buffer(Some(b""));
        w.string("h\u{e9}");
        w.strings(&["a".into(), "".into()]);
        assert_eq!(w.len(), 4 + 8 + 1 + 7 + 4 + 4 + 7 + 4 + 5 + 4);
        let bytes = w.into_bytes();
        let mut r = Reader::new(&bytes);
        assert_eq!(r.i32(), Ok(i32::MIN));
        assert_eq!(r.i64(), Ok(i64::MAX));
        assert_eq!(r.bool(), Ok(true));
        assert_eq!(r.buffer(), Ok(b"xyz".to_vec()));
        assert_eq!(r.opt_buffer(), Ok(None));
        assert_eq!(r.opt_buffer(), Ok(Some(vec![])));
        assert_eq!(r.string().as_deref(), Ok("h\u{e9}"));
        assert_eq!(r.strings(), Ok(vec!["a".to_string(), String::new()]));
        assert_eq!(r.remaining(), 0);
        assert_eq!(r.position(), bytes.len());
    }

    #[test]
    fn null_reads_as_empty_and_any_nonzero_byte_is_true() {
        let bytes = [0xff; 12];
        let mut r = Reader::new(&bytes);
        assert_eq!(r.buffer(), Ok(vec![]));
        assert_eq!(r.string(), Ok(String::new()));
        assert_eq!(r.strings(), Ok(vec![]));
        assert_eq!(Reader::new(&[0x80]).bool(), Ok(true));
    }

    #[test]
    fn bad_lengths_are_errors_before_allocation() {
        let negative = (-5i32).to_be_bytes();
        assert_eq!(
            Reader::new(&negative).buffer(),
            Err(DecodeError::InvalidLength { len: -5, at: 0 })
        );
        let huge = [0x7f, 0xff, 0xff, 0xff, b'a'];
        assert_eq!(
            Reader::new(&huge).string(),
            Err(DecodeError::Truncated { needed: i32::MAX as usize, available: 1, at: 4 })
        );
        // 2 strings need at least 8 bytes of prefixes; only 4 follow.
        let count = [0, 0, 0, 2, 0, 0, 0, 0];
        assert!(matches!(
            Reader::new(&count).strings(),
            Err(DecodeError::Truncated { needed: 8, .. })
        ));
        assert_eq!(
            Reader::new(&[0, 0, 0]).i32(),
            Err(DecodeError::Truncated { needed: 4, available: 3, at: 0 })
        );
    }

    #[test]
    fn invalid_utf8_is_reported_where_the_string_starts() {
        let bytes = [0, 0, 0, 2, 0xc3, 0x28];
        assert_eq!(Reader::new(&bytes).string(), Err(DecodeError::InvalidUtf8 { at: 4 }));
    }

    #[test]
    fn frames_get_their_length_patched() {
        let mut w = Writer::framed();
        assert_eq!(w.len(), 4);
        assert!(!w.is_empty());
        w.i32(1);
        w.as_mut_bytes()[7] = 9;
        assert_eq!(w.into_frame(), [0, 0, 0, 4, 0, 0, 0, 9]);
        let mut plain = Writer::new();
        assert!(plain.is_empty());
        plain.bool(true);
        assert_eq!(plain.into_frame(), [0, 0, 0, 1, 1]);
    }

    #[test]
    fn empty_body_request_is_just_the_header() {
        assert_eq!(encode_request(-2, 11, &()), [0, 0, 0, 8, 0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 11]);
    }
}
