//! Request and reply bodies of the node operations (create, delete, getData, ...).
//!
//! Where jute declares several identical records (`ExistsRequest`, `GetDataRequest`,
//! `GetChildrenRequest`, ...) one type stands for all of them; the opcode in the request
//! header tells the server which operation is meant.

use crate::proto::records::{record, Acl, Stat};

record! {
    /// Body of create (opcode 1), create2 (15) and createContainer (19).
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct CreateRequest {
        /// Path of the node to create (for sequential nodes, the prefix).
        pub path: String,
        /// Initial data.
        pub data: Vec<u8>,
        /// Initial ACL; must not be empty.
        pub acl: Vec<Acl>,
        /// Create mode (see `create_mode`).
        pub flags: i32,
    }
}

record! {
    /// Body of createTTL (opcode 21): a create whose node is removed once it has had no
    /// children for `ttl` milliseconds.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct CreateTtlRequest {
        /// Path of the node to create.
        pub path: String,
        /// Initial data.
        pub data: Vec<u8>,
        /// Initial ACL.
        pub acl: Vec<Acl>,
        /// Create mode; one of the TTL modes.
        pub flags: i32,
        /// Time to live in milliseconds.
        pub ttl: i64,
    }
}

record! {
    /// Reply to create.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct CreateResponse {
        /// Path of the created node (with the sequence suffix, if any).
        pub path: String,
    }
}

record! {
    /// Reply to create2, createContainer and createTTL.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct Create2Response {
        /// Path of the created node.
        pub path: String,
        /// The new node's metadata.
        pub stat: Stat,
    }
}

record! {
    /// Body of delete (opcode 2).
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct DeleteRequest {
        /// Node to delete.
        pub path: String,
        /// Expected data version, or -1 for any.
        pub version: i32,
    }
}

record! {
    /// Body of exists (3), getData (4), getChildren (8) and getChildren2 (12).
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct PathWatchRequest {
        /// Node to read.
        pub path: String,
        /// Whether to leave a watch on the node.
        pub watch: bool,
    }
}

record! {
    /// Reply to exists, setData and setACL.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct StatResponse {
        /// The node's metadata.
        pub stat: Stat,
    }
}

record! {
    /// Reply to getData.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct GetDataResponse {
        /// The node's data.
        pub data: Vec<u8>,
        /// The node's metadata.
        pub stat: Stat,
    }
}

record! {
    /// Body of setData (opcode 5).
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct SetDataRequest {
        /// Node to write.
        pub path: String,
        /// New data.
        pub data: Vec<u8>,
        /// Expected data version, or -1 for any.
        pub version: i32,
    }
}

record! {
    /// Reply to getChildren.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct GetChildrenResponse {
        /// Names (not paths) of the children, in no particular order.
        pub children: Vec<String>,
    }
}

record! {
    /// Reply to getChildren2.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct GetChildren2Response {
        /// Names of the children.
        pub children: Vec<String>,
        /// The parent's metadata.
        pub stat: Stat,
    }
}

record! {
    /// Body of check (opcode 13), which only makes sense inside a multi.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct CheckVersionRequest {
        /// Node to check.
        pub path: String,
        /// Required data version.
        pub version: i32,
    }
}

record! {
    /// Body of getACL (6), sync (9), getEphemerals (103) and getAllChildrenNumber (104).
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct PathRequest {
        /// The node (for getEphemerals, a path prefix).
        pub path: String,
    }
}

record! {
    /// Reply to sync.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct PathResponse {
        /// The synced path.
        pub path: String,
    }
}

record! {
    /// Reply to getACL.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct GetAclResponse {
        /// The node's ACL.
        pub acl: Vec<Acl>,
        /// The node's metadata.
        pub stat: Stat,
    }
}

record! {
    /// Body of setACL (opcode 7).
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct SetAclRequest {
        /// Node whose ACL to replace.
        pub path: String,
        /// The new ACL.
        pub acl: Vec<Acl>,
        /// Expected ACL version (`aversion`), or -1 for any.
        pub version: i32,
    }
}

record! {
    /// Reply to getEphemerals.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct GetEphemeralsResponse {
        /// Paths of the session's ephemeral nodes under the requested prefix.
        pub ephemerals: Vec<String>,
    }
}

record! {
    /// Reply to getAllChildrenNumber.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct GetAllChildrenNumberResponse {
        /// Number of descendants of the node.
        pub total_number: i32,
    }
}

record! {
    /// Body of addWatch (opcode 106).
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct AddWatchRequest {
        /// Node to watch.
        pub path: String,
        /// Watch mode (see `add_watch_mode`).
        pub mode: i32,
    }
}

record! {
    /// Body of removeWatches (18) and checkWatches (17).
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct RemoveWatchesRequest {
        /// Node whose watches to remove.
        pub path: String,
        /// Which watches (see `watcher_type`).
        pub watcher_type: i32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::jute::encode_request;
    use crate::proto::opcode::op;
    use crate::proto::records::tests::{assert_round_trip, sample_acl, sample_stat};

    #[test]
    fn exists_request_frame_layout() {
        let exists = PathWatchRequest { path: "/zk".into(), watch: true };
        let frame = encode_request(7, op::EXISTS, &exists);
        #[rustfmt::skip]
        let expected = [
            0, 0, 0, 16,          // length of what follows
            0, 0, 0, 7,           // xid
            0, 0, 0, 3,           // opcode exists
            0, 0, 0, 3, b'/', b'z', b'k',
            1,                    // watch
        ];
        assert_eq!(frame, expected);
        assert_round_trip(&exists);
    }

    #[test]
    fn create_request_layout() {
        let req = CreateRequest { path: "/a".into(), data: b"xy".to_vec(), acl: vec![], flags: 1 };
        let bytes = assert_round_trip(&req);
        #[rustfmt::skip]
        let expected = [
            0, 0, 0, 2, b'/', b'a',
            0, 0, 0, 2, b'x', b'y',
            0, 0, 0, 0,
            0, 0, 0, 1,
        ];
        assert_eq!(bytes, expected);
    }

    #[test]
    fn every_operation_record_round_trips() {
        let stat = sample_stat();
        let names = vec!["a".to_string(), "bb".to_string()];
        assert_round_trip(&CreateRequest {
            path: "/c".into(),
            data: vec![1, 2],
            acl: sample_acl(),
            flags: 2,
        });
        assert_round_trip(&CreateTtlRequest {
            path: "/t".into(),
            data: vec![],
            acl: sample_acl(),
            flags: 5,
            ttl: 60_000,
        });
        assert_round_trip(&CreateResponse { path: "/c1".into() });
        assert_round_trip(&Create2Response { path: "/c1".into(), stat });
        assert_round_trip(&DeleteRequest { path: "/d".into(), version: -1 });
        assert_round_trip(&StatResponse { stat });
        assert_round_trip(&GetDataResponse { data: b"data".to_vec(), stat });
        assert_round_trip(&SetDataRequest { path: "/s".into(), data: b"v".to_vec(), version: 4 });
        assert_round_trip(&GetChildrenResponse { children: names.clone() });
        assert_round_trip(&GetChildren2Response { children: names.clone(), stat });
        assert_round_trip(&CheckVersionRequest { path: "/k".into(), version: 0 });
        assert_round_trip(&PathRequest { path: "/p".into() });
        assert_round_trip(&PathResponse { path: "/p".into() });
        assert_round_trip(&GetAclResponse { acl: sample_acl(), stat });
        assert_round_trip(&SetAclRequest { path: "/x".into(), acl: sample_acl(), version: 1 });
        assert_round_trip(&GetEphemeralsResponse { ephemerals: names });
        assert_round_trip(&GetAllChildrenNumberResponse { total_number: 12 });
        assert_round_trip(&AddWatchRequest { path: "/w".into(), mode: 1 });
        assert_round_trip(&RemoveWatchesRequest { path: "/w".into(), watcher_type: 3 });
    }
}
