//! Records shared by many operations (`Stat`, `Acl`) and those of the session itself:
//! handshake, headers, watch events, auth and watch re-registration.
//!
//! Field order follows `zookeeper.jute`; that order *is* the wire layout.

use crate::proto::jute::{Decode, DecodeError, Encode, Reader, Writer};

/// Declares a record whose fields are coded one after another in declaration order,
/// which is all jute does. Field types must implement [`Encode`] and [`Decode`].
macro_rules! record {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$field_meta:meta])* pub $field:ident : $ty:ty, )*
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $( $(#[$field_meta])* pub $field: $ty, )*
        }

        impl $crate::proto::jute::Encode for $name {
            fn encode(&self, w: &mut $crate::proto::jute::Writer) {
                $( $crate::proto::jute::Encode::encode(&self.$field, w); )*
            }
        }

        impl $crate::proto::jute::Decode for $name {
            fn decode(
                r: &mut $crate::proto::jute::Reader<'_>,
            ) -> Result<Self, $crate::proto::jute::DecodeError> {
                // Struct expression fields are evaluated in source order, i.e. wire order.
                Ok($name { $( $field: $crate::proto::jute::Decode::decode(r)?, )* })
            }
        }
    };
}

pub(crate) use record;

record! {
    /// The metadata ZooKeeper keeps for every node.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let stat: zkcluster::Stat = client.set_value_to_node("/a", b"v2")?;
    /// println!("version {}, {} bytes, {} children", stat.version, stat.data_length, stat.num_children);
    /// # Ok(())
    /// # }
    /// ```
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
    pub struct Stat {
        /// Zxid of the transaction that created the node.
        pub czxid: i64,
        /// Zxid of the transaction that last changed the node's data.
        pub mzxid: i64,
        /// Creation time, milliseconds since the Unix epoch.
        pub ctime: i64,
        /// Time of the last data change, milliseconds since the Unix epoch.
        pub mtime: i64,
        /// Number of changes to the node's data.
        pub version: i32,
        /// Number of changes to the node's children.
        pub cversion: i32,
        /// Number of changes to the node's ACL.
        pub aversion: i32,
        /// Session id of the owner if the node is ephemeral, 0 otherwise.
        pub ephemeral_owner: i64,
        /// Length of the node's data in bytes.
        pub data_length: i32,
        /// Number of children of the node.
        pub num_children: i32,
        /// Zxid of the transaction that last added or removed a child.
        pub pzxid: i64,
    }
}

record! {
    /// An identity in an ACL: a scheme (`world`, `digest`, `ip`, `sasl`, ...) and an id
    /// whose meaning the scheme defines (`anyone`, `user:hash`, `10.0.0.0/8`, ...).
    #[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
    pub struct Id {
        /// The authentication scheme.
        pub scheme: String,
        /// The identity within the scheme.
        pub id: String,
    }
}

record! {
    /// One entry of a node's access control list: who ([`Id`]) may do what (`perms`).
    ///
    /// ```
    /// use zkcluster::{Id, Perms};
    /// use zkcluster::Acl;
    ///
    /// // ZooKeeper's OPEN_ACL_UNSAFE: everyone may do everything.
    /// let open = Acl {
    ///     perms: Perms::ALL,
    ///     id: Id { scheme: "world".into(), id: "anyone".into() },
    /// };
    /// assert_eq!(open.perms & Perms::DELETE, Perms::DELETE);
    /// ```
    #[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
    pub struct Acl {
        /// Bitwise OR of [`Perms`](crate::proto::Perms) bits.
        pub perms: i32,
        /// Whom the permissions are granted to.
        pub id: Id,
    }
}

/// `vector<ACL>`, as in create and setACL requests and getACL replies.
impl Encode for Vec<Acl> {
    fn encode(&self, w: &mut Writer) {
        w.vector(self);
    }
}

impl Decode for Vec<Acl> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.vector()
    }
}

/// The first frame a client sends on a new connection.
///
/// Jute declares five fields; clients since 3.4 append the `read_only` byte, and servers
/// accept the request with or without it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectRequest {
    /// Protocol version; always 0.
    pub protocol_version: i32,
    /// Highest zxid this client has seen, so a server behind it refuses the connection.
    pub last_zxid_seen: i64,
    /// Requested session timeout in milliseconds.
    pub timeout_ms: i32,
    /// Session to resume, or 0 for a new session.
    pub session_id: i64,
    /// Password of the session to resume (16 zero bytes for a new session).
    pub passwd: Vec<u8>,
    /// Whether a read-only server (one cut off from its quorum) may accept us.
    pub read_only: bool,
}

impl Encode for ConnectRequest {
    fn encode(&self, w: &mut Writer) {
        w.i32(self.protocol_version);
        w.i64(self.last_zxid_seen);
        w.i32(self.timeout_ms);
        w.i64(self.session_id);
        w.buffer(&self.passwd);
        w.bool(self.read_only);
    }
}

impl Decode for ConnectRequest {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ConnectRequest {
            protocol_version: r.i32()?,
            last_zxid_seen: r.i64()?,
            timeout_ms: r.i32()?,
            session_id: r.i64()?,
            passwd: r.buffer()?,
            read_only: trailing_bool(r)?,
        })
    }
}

/// The server's answer to a [`ConnectRequest`]. A session id of 0 or a timeout of 0 with an
/// empty password means the server refused (e.g. the session expired).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectResponse {
    /// Protocol version; always 0.
    pub protocol_version: i32,
    /// Session timeout the server granted, in milliseconds.
    pub timeout_ms: i32,
    /// The session's id.
    pub session_id: i64,
    /// The session's password, needed to resume it on another server.
    pub passwd: Vec<u8>,
    /// Whether the server is read-only. Older servers omit the byte; that reads as false.
    pub read_only: bool,
}

impl Encode for ConnectResponse {
    fn encode(&self, w: &mut Writer) {
        w.i32(self.protocol_version);
        w.i32(self.timeout_ms);
        w.i64(self.session_id);
        w.buffer(&self.passwd);
        w.bool(self.read_only);
    }
}

impl Decode for ConnectResponse {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ConnectResponse {
            protocol_version: r.i32()?,
            timeout_ms: r.i32()?,
            session_id: r.i64()?,
            passwd: r.buffer()?,
            read_only: trailing_bool(r)?,
        })
    }
}

/// The optional `read_only` byte after a connect record: absent means false.
fn trailing_bool(r: &mut Reader<'_>) -> Result<bool, DecodeError> {
    if r.remaining() == 0 {
        Ok(false)
    } else {
        r.bool()
    }
}

record! {
    /// Precedes every request after the handshake.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct RequestHeader {
        /// Request id, echoed in the reply; negative values are reserved (see `xid`).
        pub xid: i32,
        /// Operation (see `op`).
        pub opcode: i32,
    }
}

record! {
    /// Precedes every reply and watch notification.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct ReplyHeader {
        /// The request's xid, or a reserved negative xid for notifications and pings.
        pub xid: i32,
        /// The zxid of the server's state when it replied.
        pub zxid: i64,
        /// Error code; 0 means success and a reply body follows.
        pub err: i32,
    }
}

record! {
    /// A watch notification (reply xid -1).
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct WatcherEvent {
        /// What happened (see `EventType`).
        pub event_type: i32,
        /// The session state (see `KeeperState`).
        pub state: i32,
        /// The node concerned (server path, including any chroot).
        pub path: String,
    }
}

record! {
    /// Adds credentials to the session (opcode auth, xid -4).
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct AuthPacket {
        /// Unused by servers; 0.
        pub auth_type: i32,
        /// Authentication scheme, e.g. `digest`.
        pub scheme: String,
        /// Scheme-specific credentials, e.g. `user:password`.
        pub auth: Vec<u8>,
    }
}

record! {
    /// Re-registers watches after reconnecting (opcode setWatches, xid -8).
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct SetWatches {
        /// Last zxid the client saw; the server fires watches for later changes at once.
        pub relative_zxid: i64,
        /// Paths with data watches.
        pub data_watches: Vec<String>,
        /// Paths with exists watches (on nodes that did not exist).
        pub exist_watches: Vec<String>,
        /// Paths with child watches.
        pub child_watches: Vec<String>,
    }
}

record! {
    /// [`SetWatches`] plus persistent watches (opcode setWatches2, servers 3.6+).
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct SetWatches2 {
        /// Last zxid the client saw.
        pub relative_zxid: i64,
        /// Paths with data watches.
        pub data_watches: Vec<String>,
        /// Paths with exists watches.
        pub exist_watches: Vec<String>,
        /// Paths with child watches.
        pub child_watches: Vec<String>,
        /// Paths with persistent watches.
        pub persistent_watches: Vec<String>,
        /// Paths with persistent recursive watches.
        pub persistent_recursive_watches: Vec<String>,
    }
}

record! {
    /// Precedes each operation and each result inside a multi request or reply.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct MultiHeader {
        /// Opcode of the operation that follows, or -1 (error result or end marker).
        pub op_type: i32,
        /// True only on the end marker.
        pub done: bool,
        /// Error code of a result; -1 in requests.
        pub err: i32,
    }
}

record! {
    /// The body of a failed result inside a multi reply.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct ErrorResponse {
        /// The error code.
        pub err: i32,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::fmt::Debug;

    /// Encodes `value`, checks it decodes back exactly, that every strict prefix fails to
    /// decode, and returns the bytes for layout checks.
    pub(crate) fn assert_round_trip<T: Encode + Decode + PartialEq + Debug>(value: &T) -> Vec<u8> {
        let mut w = Writer::new();
        value.encode(&mut w);
        let bytes = w.into_bytes();
        let mut r = Reader::new(&bytes);
        assert_eq!(T::decode(&mut r).as_ref(), Ok(value));
        assert_eq!(r.remaining(), 0, "{value:?} left bytes unread");
        for cut in 0..bytes.len() {
            assert!(
                T::decode(&mut Reader::new(&bytes[..cut])).is_err(),
                "{value:?} decoded from {cut} of {} bytes",
                bytes.len()
            );
        }
        bytes
    }

    pub(crate) fn sample_stat() -> Stat {
        Stat {
            czxid: 1,
            mzxid: 2,
            ctime: 3,
            mtime: 4,
            version: 5,
            cversion: 6,
            aversion: 7,
            ephemeral_owner: 8,
            data_length: 9,
            num_children: 10,
            pzxid: 11,
        }
    }

    pub(crate) fn sample_acl() -> Vec<Acl> {
        vec![
            Acl { perms: 31, id: Id { scheme: "world".into(), id: "anyone".into() } },
            Acl { perms: 1, id: Id { scheme: "digest".into(), id: "u:h".into() } },
        ]
    }

    #[test]
    fn stat_layout() {
        let bytes = assert_round_trip(&sample_stat());
        assert_eq!(bytes.len(), 68);
        assert_eq!(bytes[..8], 1i64.to_be_bytes());
        assert_eq!(bytes[32..36], 5i32.to_be_bytes()); // version follows the four longs
        assert_eq!(bytes[60..], 11i64.to_be_bytes());
    }

    #[test]
    fn acl_layout() {
        let bytes = assert_round_trip(&sample_acl());
        #[rustfmt::skip]
        let first = [
            0, 0, 0, 2, // count
            0, 0, 0, 31, 0, 0, 0, 5, b'w', b'o', b'r', b'l', b'd',
            0, 0, 0, 6, b'a', b'n', b'y', b'o', b'n', b'e',
        ];
        assert_eq!(bytes[..first.len()], first);
        assert_round_trip(&Vec::<Acl>::new());
    }

    #[test]
    fn connect_request_layout() {
        let req = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0x1_0000_0002,
            timeout_ms: 30_000,
            session_id: 0,
            passwd: vec![0; 16],
            read_only: true,
        };
        let bytes = assert_round_trip_prefix_tolerant(&req);
        let mut expected = vec![0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0x75, 0x30];
        expected.extend_from_slice(&[0; 8]);
        expected.extend_from_slice(&[0, 0, 0, 16]);
        expected.extend_from_slice(&[0; 16]);
        expected.push(1);
        assert_eq!(bytes, expected);
        assert_eq!(bytes.len(), 45);
    }

    /// Connect records end in an optional byte, so the one-byte-short prefix is valid.
    fn assert_round_trip_prefix_tolerant<T: Encode + Decode + PartialEq + Debug>(
        value: &T,
    ) -> Vec<u8> {
        let mut w = Writer::new();
        value.encode(&mut w);
        let bytes = w.into_bytes();
        assert_eq!(T::decode(&mut Reader::new(&bytes)).as_ref(), Ok(value));
        for cut in 0..bytes.len() - 1 {
            assert!(T::decode(&mut Reader::new(&bytes[..cut])).is_err());
        }
        bytes
    }

    #[test]
    fn connect_response_without_read_only_byte() {
        let resp = ConnectResponse {
            protocol_version: 0,
            timeout_ms: 4000,
            session_id: 0x0102_0304_0506_0708,
            passwd: vec![7; 16],
            read_only: false,
        };
        let bytes = assert_round_trip_prefix_tolerant(&resp);
        assert_eq!(bytes.len(), 4 + 4 + 8 + 20 + 1);
        let old_server = &bytes[..bytes.len() - 1];
        assert_eq!(ConnectResponse::decode(&mut Reader::new(old_server)), Ok(resp.clone()));
        let mut read_only = bytes.clone();
        *read_only.last_mut().unwrap() = 1;
        let decoded = ConnectResponse::decode(&mut Reader::new(&read_only)).unwrap();
        assert!(decoded.read_only);
    }

    #[test]
    fn headers_layout() {
        let bytes = assert_round_trip(&RequestHeader { xid: 1, opcode: 3 });
        assert_eq!(bytes, [0, 0, 0, 1, 0, 0, 0, 3]);
        let reply = ReplyHeader { xid: -1, zxid: 0x10, err: -101 };
        let bytes = assert_round_trip(&reply);
        #[rustfmt::skip]
        let expected = [
            0xff, 0xff, 0xff, 0xff,
            0, 0, 0, 0, 0, 0, 0, 0x10,
            0xff, 0xff, 0xff, 0x9b,
        ];
        assert_eq!(bytes, expected);
        let bytes = assert_round_trip(&MultiHeader { op_type: -1, done: true, err: -1 });
        assert_eq!(bytes, [0xff, 0xff, 0xff, 0xff, 1, 0xff, 0xff, 0xff, 0xff]);
        assert_round_trip(&ErrorResponse { err: -110 });
    }

    #[test]
    fn session_records_round_trip() {
        assert_round_trip(&WatcherEvent { event_type: 3, state: 3, path: "/w".into() });
        assert_round_trip(&AuthPacket {
            auth_type: 0,
            scheme: "digest".into(),
            auth: b"u:p".to_vec(),
        });
        let paths = |p: &str| vec![format!("/{p}1"), format!("/{p}2")];
        assert_round_trip(&SetWatches {
            relative_zxid: 99,
            data_watches: paths("d"),
            exist_watches: paths("e"),
            child_watches: vec![],
        });
        assert_round_trip(&SetWatches2 {
            relative_zxid: 99,
            data_watches: paths("d"),
            exist_watches: vec![],
            child_watches: paths("c"),
            persistent_watches: paths("p"),
            persistent_recursive_watches: paths("r"),
        });
    }
}
