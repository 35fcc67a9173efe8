//! The ZooKeeper client protocol as bytes: jute encoding, request and response records,
//! opcodes and error codes. Nothing here does I/O.

mod error_code;

pub use error_code::ErrorCode;

/// Placeholder until records land.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stat;
/// Placeholder until records land.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acl;
