//! The protocol's numeric constants: opcodes, reserved xids, create modes, permission bits,
//! watch modes, and the event types and session states of watch notifications.

/// Operation codes (`ZooDefs.OpCode`), sent in the request header.
pub mod op {
    /// Watch notification (never sent by a client).
    pub const NOTIFICATION: i32 = 0;
    /// Create a node.
    pub const CREATE: i32 = 1;
    /// Delete a node.
    pub const DELETE: i32 = 2;
    /// Stat a node, possibly leaving a watch.
    pub const EXISTS: i32 = 3;
    /// Read a node's data.
    pub const GET_DATA: i32 = 4;
    /// Write a node's data.
    pub const SET_DATA: i32 = 5;
    /// Read a node's ACL.
    pub const GET_ACL: i32 = 6;
    /// Replace a node's ACL.
    pub const SET_ACL: i32 = 7;
    /// List a node's children.
    pub const GET_CHILDREN: i32 = 8;
    /// Catch the server up with the leader.
    pub const SYNC: i32 = 9;
    /// Keep the session alive.
    pub const PING: i32 = 11;
    /// List a node's children with the node's stat.
    pub const GET_CHILDREN2: i32 = 12;
    /// Check a node's version (inside multi).
    pub const CHECK: i32 = 13;
    /// Atomic transaction of several write operations.
    pub const MULTI: i32 = 14;
    /// Create a node and return its stat.
    pub const CREATE2: i32 = 15;
    /// Change the ensemble membership.
    pub const RECONFIG: i32 = 16;
    /// Check whether watches exist.
    pub const CHECK_WATCHES: i32 = 17;
    /// Remove watches.
    pub const REMOVE_WATCHES: i32 = 18;
    /// Create a container node.
    pub const CREATE_CONTAINER: i32 = 19;
    /// Delete a container node (server internal).
    pub const DELETE_CONTAINER: i32 = 20;
    /// Create a node with a time to live.
    pub const CREATE_TTL: i32 = 21;
    /// Several read operations in one request (not atomic).
    pub const MULTI_READ: i32 = 22;
    /// Add credentials to the session.
    pub const AUTH: i32 = 100;
    /// Re-register watches after a reconnect.
    pub const SET_WATCHES: i32 = 101;
    /// SASL authentication step.
    pub const SASL: i32 = 102;
    /// List the session's ephemeral nodes.
    pub const GET_EPHEMERALS: i32 = 103;
    /// Count a node's descendants.
    pub const GET_ALL_CHILDREN_NUMBER: i32 = 104;
    /// Re-register watches, persistent ones included.
    pub const SET_WATCHES2: i32 = 105;
    /// Add a persistent (recursive) watch.
    pub const ADD_WATCH: i32 = 106;
    /// Ask the server who the session is authenticated as (3.7+; 3.8 answers it).
    pub const WHO_AM_I: i32 = 107;
    /// Session creation (server internal; clients use the connect handshake).
    pub const CREATE_SESSION: i32 = -10;
    /// Close the session.
    pub const CLOSE_SESSION: i32 = -11;
    /// Error result inside a multi reply.
    pub const ERROR: i32 = -1;
}

/// Reserved request ids. Replies with these xids are not answers to numbered requests.
pub mod xid {
    /// Watch notification.
    pub const WATCH_EVENT: i32 = -1;
    /// Ping reply.
    pub const PING: i32 = -2;
    /// Auth reply.
    pub const AUTH: i32 = -4;
    /// setWatches reply.
    pub const SET_WATCHES: i32 = -8;
}

/// Create modes, the `flags` of a create request.
pub mod create_mode {
    /// Stays until deleted.
    pub const PERSISTENT: i32 = 0;
    /// Deleted when the creating session ends.
    pub const EPHEMERAL: i32 = 1;
    /// Persistent, with a unique increasing suffix appended to the name.
    pub const PERSISTENT_SEQUENTIAL: i32 = 2;
    /// Ephemeral, with a unique increasing suffix.
    pub const EPHEMERAL_SEQUENTIAL: i32 = 3;
    /// Deleted by the server once its last child is gone.
    pub const CONTAINER: i32 = 4;
    /// Deleted once it has been childless for longer than its TTL.
    pub const PERSISTENT_WITH_TTL: i32 = 5;
    /// Sequential, and deleted once childless for longer than its TTL.
    pub const PERSISTENT_SEQUENTIAL_WITH_TTL: i32 = 6;
}

/// ACL permission bits (`ZooDefs.Perms`), combined with `|` in [`Acl::perms`].
///
/// [`Acl::perms`]: crate::Acl::perms
///
/// ```
/// use zkcluster::Perms;
/// assert_eq!(Perms::READ | Perms::WRITE | Perms::CREATE | Perms::DELETE | Perms::ADMIN, Perms::ALL);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Perms;

impl Perms {
    /// Read data and list children.
    pub const READ: i32 = 1;
    /// Write data.
    pub const WRITE: i32 = 1 << 1;
    /// Create children.
    pub const CREATE: i32 = 1 << 2;
    /// Delete children.
    pub const DELETE: i32 = 1 << 3;
    /// Change the ACL.
    pub const ADMIN: i32 = 1 << 4;
    /// All of the above.
    pub const ALL: i32 = Perms::READ | Perms::WRITE | Perms::CREATE | Perms::DELETE | Perms::ADMIN;
}

/// Modes of an addWatch request.
pub mod add_watch_mode {
    /// Fires on every data change of the node and its children list, and stays.
    pub const PERSISTENT: i32 = 0;
    /// Like persistent, for the node and all its descendants.
    pub const PERSISTENT_RECURSIVE: i32 = 1;
}

/// Watcher types of removeWatches and checkWatches requests (`Watcher.WatcherType`).
pub mod watcher_type {
    /// Child watches.
    pub const CHILDREN: i32 = 1;
    /// Data and exists watches.
    pub const DATA: i32 = 2;
    /// Watches of any type.
    pub const ANY: i32 = 3;
    /// Persistent watches.
    pub const PERSISTENT: i32 = 4;
    /// Persistent recursive watches.
    pub const PERSISTENT_RECURSIVE: i32 = 5;
}

/// Declares an enum of known codes plus `Unknown(i32)`, with lossless conversions.
macro_rules! code_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$doc:meta])* $variant:ident = $value:expr,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$doc])* $variant,)*
            /// A code this client does not know, kept as sent.
            Unknown(i32),
        }

        impl $name {
            /// The value for a code read off the wire; unknown codes are kept.
            pub fn from_i32(code: i32) -> $name {
                match code {
                    $($value => $name::$variant,)*
                    other => $name::Unknown(other),
                }
            }

            /// The code as sent on the wire.
            pub fn as_i32(self) -> i32 {
                match self {
                    $($name::$variant => $value,)*
                    $name::Unknown(other) => other,
                }
            }
        }
    };
}

code_enum! {
    /// What a watch notification reports.
    EventType {
        /// No node event; the notification is about the session state.
        None = -1,
        /// A watched node was created.
        NodeCreated = 1,
        /// A watched node was deleted.
        NodeDeleted = 2,
        /// A watched node's data changed.
        NodeDataChanged = 3,
        /// A watched node's children changed.
        NodeChildrenChanged = 4,
        /// A data watch was removed.
        DataWatchRemoved = 5,
        /// A child watch was removed.
        ChildWatchRemoved = 6,
        /// A persistent watch was removed.
        PersistentWatchRemoved = 7,
    }
}

code_enum! {
    /// Session state reported by a watch notification.
    KeeperState {
        /// Not connected to any server.
        Disconnected = 0,
        /// Connected and in sync.
        SyncConnected = 3,
        /// Authentication failed.
        AuthFailed = 4,
        /// Connected to a read-only server.
        ConnectedReadOnly = 5,
        /// SASL authentication succeeded.
        SaslAuthenticated = 6,
        /// The session expired.
        Expired = -112,
        /// The client closed the session.
        Closed = 7,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_unknowns_are_kept() {
        for code in -120..120 {
            assert_eq!(EventType::from_i32(code).as_i32(), code);
            assert_eq!(KeeperState::from_i32(code).as_i32(), code);
        }
        assert_eq!(EventType::from_i32(-1), EventType::None);
        assert_eq!(EventType::from_i32(7), EventType::PersistentWatchRemoved);
        assert_eq!(KeeperState::from_i32(-112), KeeperState::Expired);
        assert_eq!(KeeperState::from_i32(1), KeeperState::Unknown(1));
    }

    #[test]
    fn permission_bits_match_zookeeper() {
        assert_eq!(
            [Perms::READ, Perms::WRITE, Perms::CREATE, Perms::DELETE, Perms::ADMIN],
            [1, 2, 4, 8, 16]
        );
        assert_eq!(Perms::ALL, 31);
    }
}
