//! The ZooKeeper client protocol as bytes: jute encoding, request and response records,
//! opcodes and error codes. Nothing here does I/O.
//!
//! A request frame is `encode_request(xid, opcode, &body)`; a reply frame, split off the
//! stream by [`FrameBuffer`], is a [`ReplyHeader`] followed (when `err` is 0) by the body
//! record of the operation.
//!
//! The module holds the protocol's whole vocabulary (every opcode, record and code the client may
//! meet), not only what the client sends today (the tests in `fuzz_tests` feed every decoder), so
//! some of it is unused.
#![allow(dead_code, unused_imports)]

mod admin;
mod error_code;
mod frame;
pub mod jute;
mod multi;
mod opcode;
mod operations;
mod records;

#[cfg(test)]
mod examples_tests;
#[cfg(test)]
mod fuzz_tests;

pub use admin::{ClientInfo, ReconfigRequest, SaslToken, WhoAmIResponse};
pub use error_code::ErrorCode;
pub use jute::{
    encode_request, Decode, DecodeError, Encode, FrameBuffer, Reader, Writer, MAX_FRAME,
};
pub use multi::{
    decode_multi, decode_multi_read, encode_multi, encode_multi_read, MultiOp, MultiReadOp,
    MultiReadResult, MultiResult,
};
pub use opcode::{
    add_watch_mode, create_mode, op, watcher_type, xid, EventType, KeeperState, Perms,
};
pub use operations::{
    AddWatchRequest, CheckVersionRequest, Create2Response, CreateRequest, CreateResponse,
    CreateTtlRequest, DeleteRequest, GetAclResponse, GetAllChildrenNumberResponse,
    GetChildren2Response, GetChildrenResponse, GetDataResponse, GetEphemeralsResponse, PathRequest,
    PathResponse, PathWatchRequest, RemoveWatchesRequest, SetAclRequest, SetDataRequest,
    StatResponse,
};
pub use records::{
    Acl, AuthPacket, ConnectRequest, ConnectResponse, ErrorResponse, Id, MultiHeader, ReplyHeader,
    RequestHeader, SetWatches, SetWatches2, Stat, WatcherEvent,
};
