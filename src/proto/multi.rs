//! Transactions (multi, opcode 14) and batched reads (multiRead, opcode 22).
//!
//! Both bodies are a sequence of `MultiHeader` + record pairs closed by a header with
//! `done = true`. In replies, a header of type -1 (`op::ERROR`) carries a failed result and is
//! followed by an `ErrorResponse`.

use crate::proto::jute::{Decode, DecodeError, Encode, Reader, Writer};
use crate::proto::opcode::op;
use crate::proto::operations::{
    CheckVersionRequest, Create2Response, CreateRequest, CreateTtlRequest, DeleteRequest,
    GetDataResponse, PathWatchRequest, SetDataRequest,
};
use crate::proto::records::{ErrorResponse, MultiHeader, Stat};

/// One write operation of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultiOp {
    /// Create a node; the result is [`MultiResult::Create`].
    Create(CreateRequest),
    /// Create a node and get its stat; the result is [`MultiResult::Create2`].
    Create2(CreateRequest),
    /// Create a container node; the result is [`MultiResult::Create2`].
    CreateContainer(CreateRequest),
    /// Create a node with a TTL; the result is [`MultiResult::Create2`].
    CreateTtl(CreateTtlRequest),
    /// Delete a node.
    Delete(DeleteRequest),
    /// Write a node's data.
    SetData(SetDataRequest),
    /// Require a node to have a given version.
    Check(CheckVersionRequest),
}

impl MultiOp {
    /// The opcode this operation is sent under.
    pub fn op_type(&self) -> i32 {
        match self {
            MultiOp::Create(_) => op::CREATE,
            MultiOp::Create2(_) => op::CREATE2,
            MultiOp::CreateContainer(_) => op::CREATE_CONTAINER,
            MultiOp::CreateTtl(_) => op::CREATE_TTL,
            MultiOp::Delete(_) => op::DELETE,
            MultiOp::SetData(_) => op::SET_DATA,
            MultiOp::Check(_) => op::CHECK,
        }
    }

    fn encode_record(&self, w: &mut Writer) {
        match self {
            MultiOp::Create(req) | MultiOp::Create2(req) | MultiOp::CreateContainer(req) => {
                req.encode(w)
            }
            MultiOp::CreateTtl(req) => req.encode(w),
            MultiOp::Delete(req) => req.encode(w),
            MultiOp::SetData(req) => req.encode(w),
            MultiOp::Check(req) => req.encode(w),
        }
    }
}

/// Header of each operation in a request: `err` is unused there and sent as -1.
fn op_header(op_type: i32) -> MultiHeader {
    MultiHeader { op_type, done: false, err: -1 }
}

const END: MultiHeader = MultiHeader { op_type: -1, done: true, err: -1 };

/// Writes the body of a multi request.
pub fn encode_multi(ops: &[MultiOp], w: &mut Writer) {
    for op in ops {
        op_header(op.op_type()).encode(w);
        op.encode_record(w);
    }
    END.encode(w);
}

/// Lets a transaction be passed to `encode_request` directly.
impl Encode for Vec<MultiOp> {
    fn encode(&self, w: &mut Writer) {
        encode_multi(self, w);
    }
}

/// The outcome of one operation of a transaction.
///
/// When a transaction fails, every result is an `Error`: the failing operation's carries its
/// code, the others `Ok` (0) for operations before it and `RuntimeInconsistency` after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultiResult {
    /// A create succeeded.
    Create {
        /// Path of the created node.
        path: String,
    },
    /// A create2, createContainer or createTTL succeeded.
    Create2 {
        /// Path of the created node.
        path: String,
        /// The new node's stat.
        stat: Stat,
    },
    /// A delete succeeded.
    Delete,
    /// A setData succeeded.
    SetData {
        /// The node's stat after the write.
        stat: Stat,
    },
    /// A check succeeded.
    Check,
    /// The operation failed, or was rolled back.
    Error {
        /// The error code.
        err: i32,
    },
}

/// Reads the results of a multi reply, up to and including the end marker.
///
/// Every header is 9 bytes, so the number of results is bounded by the input length.
pub fn decode_multi(r: &mut Reader<'_>) -> Result<Vec<MultiResult>, DecodeError> {
    decode_results(r, |op_type, r| {
        Ok(Some(match op_type {
            op::CREATE => MultiResult::Create { path: r.string()? },
            op::CREATE2 => {
                let Create2Response { path, stat } = Create2Response::decode(r)?;
                MultiResult::Create2 { path, stat }
            }
            op::DELETE => MultiResult::Delete,
            op::SET_DATA => MultiResult::SetData { stat: Stat::decode(r)? },
            op::CHECK => MultiResult::Check,
            op::ERROR => MultiResult::Error { err: ErrorResponse::decode(r)?.err },
            _ => return Ok(None),
        }))
    })
}

/// The loop both multi replies share: a [`MultiHeader`] before each result, until one says
/// `done`. `one` decodes the result of an operation type (`None`: a type it does not know).
fn decode_results<T>(
    r: &mut Reader<'_>,
    one: impl Fn(i32, &mut Reader<'_>) -> Result<Option<T>, DecodeError>,
) -> Result<Vec<T>, DecodeError> {
    let mut results = Vec::new();
    loop {
        let at = r.position();
        let header = MultiHeader::decode(r)?;
        if header.done {
            return Ok(results);
        }
        match one(header.op_type, r)? {
            Some(result) => results.push(result),
            None => return Err(DecodeError::UnexpectedMultiType { op_type: header.op_type, at }),
        }
    }
}

/// One read of a multiRead request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultiReadOp {
    /// Read a node's data and stat.
    GetData {
        /// The node.
        path: String,
    },
    /// List a node's children.
    GetChildren {
        /// The node.
        path: String,
    },
}

/// Writes the body of a multiRead request. Reads in a batch cannot leave watches.
pub fn encode_multi_read(ops: &[MultiReadOp], w: &mut Writer) {
    for read in ops {
        let (op_type, path) = match read {
            MultiReadOp::GetData { path } => (op::GET_DATA, path),
            MultiReadOp::GetChildren { path } => (op::GET_CHILDREN, path),
        };
        op_header(op_type).encode(w);
        PathWatchRequest { path: path.clone(), watch: false }.encode(w);
    }
    END.encode(w);
}

/// Lets a batch of reads be passed to `encode_request` directly.
impl Encode for Vec<MultiReadOp> {
    fn encode(&self, w: &mut Writer) {
        encode_multi_read(self, w);
    }
}

/// The outcome of one read of a multiRead. Reads succeed or fail independently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultiReadResult {
    /// A getData succeeded.
    Data {
        /// The node's data.
        data: Vec<u8>,
        /// The node's stat.
        stat: Stat,
    },
    /// A getChildren succeeded.
    Children {
        /// Names of the children.
        children: Vec<String>,
    },
    /// The read failed.
    Error {
        /// The error code.
        err: i32,
    },
}

/// Reads the results of a multiRead reply, up to and including the end marker.
pub fn decode_multi_read(r: &mut Reader<'_>) -> Result<Vec<MultiReadResult>, DecodeError> {
    decode_results(r, |op_type, r| {
        Ok(Some(match op_type {
            op::GET_DATA => {
                let GetDataResponse { data, stat } = GetDataResponse::decode(r)?;
                MultiReadResult::Data { data, stat }
            }
            op::GET_CHILDREN => MultiReadResult::Children { children: r.strings()? },
            op::ERROR => MultiReadResult::Error { err: ErrorResponse::decode(r)?.err },
            _ => return Ok(None),
        }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::records::{Acl, Id};

    fn encoded(ops: &[MultiOp]) -> Vec<u8> {
        let mut w = Writer::new();
        encode_multi(ops, &mut w);
        w.into_bytes()
    }

    #[test]
    fn multi_request_layout() {
        let ops = [
            MultiOp::Delete(DeleteRequest { path: "/a".into(), version: 2 }),
            MultiOp::Check(CheckVersionRequest { path: "/b".into(), version: -1 }),
        ];
        #[rustfmt::skip]
        let expected = [
            0, 0, 0, 2, 0, 0xff, 0xff, 0xff, 0xff, // header: delete, not done, err -1
            0, 0, 0, 2, b'/', b'a', 0, 0, 0, 2,     // DeleteRequest
            0, 0, 0, 13, 0, 0xff, 0xff, 0xff, 0xff, // header: check
            0, 0, 0, 2, b'/', b'b', 0xff, 0xff, 0xff, 0xff, // CheckVersionRequest
            0xff, 0xff, 0xff, 0xff, 1, 0xff, 0xff, 0xff, 0xff, // end marker
        ];
        assert_eq!(encoded(&ops), expected);
    }

    #[test]
    fn create_variants_use_their_opcodes() {
        let create = CreateRequest {
            path: "/n".into(),
            data: b"v".to_vec(),
            acl: vec![Acl { perms: 31, id: Id { scheme: "world".into(), id: "anyone".into() } }],
            flags: 3,
        };
        let ttl = CreateTtlRequest { path: "/t".into(), ttl: 1000, flags: 5, ..Default::default() };
        let ops = [
            MultiOp::Create(create.clone()),
            MultiOp::Create2(create.clone()),
            MultiOp::CreateContainer(create.clone()),
            MultiOp::CreateTtl(ttl.clone()),
        ];
        let bytes = encoded(&ops);
        let mut r = Reader::new(&bytes);
        for op in &ops {
            assert_eq!(MultiHeader::decode(&mut r), Ok(op_header(op.op_type())));
            match op {
                MultiOp::CreateTtl(_) => {
                    assert_eq!(CreateTtlRequest::decode(&mut r), Ok(ttl.clone()))
                }
                _ => assert_eq!(CreateRequest::decode(&mut r), Ok(create.clone())),
            }
        }
        assert_eq!(MultiHeader::decode(&mut r), Ok(END));
        assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn multi_reply_layout() {
        let stat = Stat { version: 1, ..Stat::default() };
        let mut w = Writer::new();
        w.i32(op::CREATE);
        w.bool(false);
        w.i32(0);
        w.string("/a0000000001");
        w.i32(op::DELETE);
        w.bool(false);
        w.i32(0);
        w.i32(op::SET_DATA);
        w.bool(false);
        w.i32(0);
        stat.encode(&mut w);
        w.i32(op::CREATE2);
        w.bool(false);
        w.i32(0);
        w.string("/b");
        stat.encode(&mut w);
        w.i32(op::CHECK);
        w.bool(false);
        w.i32(0);
        w.i32(op::ERROR);
        w.bool(false);
        w.i32(-101);
        w.i32(-101);
        END.encode(&mut w);
        let bytes = w.into_bytes();
        let mut r = Reader::new(&bytes);
        assert_eq!(
            decode_multi(&mut r),
            Ok(vec![
                MultiResult::Create { path: "/a0000000001".into() },
                MultiResult::Delete,
                MultiResult::SetData { stat },
                MultiResult::Create2 { path: "/b".into(), stat },
                MultiResult::Check,
                MultiResult::Error { err: -101 },
            ])
        );
        assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn multi_reply_errors() {
        let bytes = [0, 0, 0, 4, 0, 0, 0, 0, 0];
        assert_eq!(
            decode_multi(&mut Reader::new(&bytes)),
            Err(DecodeError::UnexpectedMultiType { op_type: 4, at: 0 })
        );
        // Headers that never say done run out of input instead of looping.
        let endless = [0, 0, 0, 2, 0, 0, 0, 0, 0].repeat(100);
        assert!(matches!(
            decode_multi(&mut Reader::new(&endless)),
            Err(DecodeError::Truncated { at: 900, .. })
        ));
    }

    #[test]
    fn multi_read_round_trip() {
        let ops = vec![
            MultiReadOp::GetData { path: "/d".into() },
            MultiReadOp::GetChildren { path: "/c".into() },
        ];
        let mut w = Writer::new();
        ops.encode(&mut w);
        let bytes = w.into_bytes();
        #[rustfmt::skip]
        let expected = [
            0, 0, 0, 4, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 2, b'/', b'd', 0,
            0, 0, 0, 8, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 2, b'/', b'c', 0,
            0xff, 0xff, 0xff, 0xff, 1, 0xff, 0xff, 0xff, 0xff,
        ];
        assert_eq!(bytes, expected);

        let stat = Stat { data_length: 2, ..Stat::default() };
        let mut w = Writer::new();
        op_header(op::GET_DATA).encode(&mut w);
        GetDataResponse { data: b"hi".to_vec(), stat }.encode(&mut w);
        op_header(op::GET_CHILDREN).encode(&mut w);
        w.strings(&["x".into()]);
        op_header(op::ERROR).encode(&mut w);
        ErrorResponse { err: -101 }.encode(&mut w);
        END.encode(&mut w);
        let bytes = w.into_bytes();
        assert_eq!(
            decode_multi_read(&mut Reader::new(&bytes)),
            Ok(vec![
                MultiReadResult::Data { data: b"hi".to_vec(), stat },
                MultiReadResult::Children { children: vec!["x".into()] },
                MultiReadResult::Error { err: -101 },
            ])
        );
    }
}
