//! ZooKeeper's numeric error codes (`KeeperException.Code`), as sent in reply headers.

use std::fmt;

macro_rules! error_codes {
    ($($(#[$doc:meta])* $name:ident = $value:expr,)*) => {
        /// An error code from a ZooKeeper reply header.
        ///
        /// Codes this version does not know are kept as [`ErrorCode::Unknown`] with their number.
        ///
        /// ```
        /// use zkcluster::ErrorCode;
        /// assert_eq!(ErrorCode::from_i32(-101), ErrorCode::NoNode);
        /// assert_eq!(ErrorCode::NoNode.to_string(), "NoNode");
        /// assert_eq!(ErrorCode::from_i32(-9999), ErrorCode::Unknown(-9999));
        /// ```
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $($(#[$doc])* $name,)*
            /// A code this client does not know.
            Unknown(i32),
        }

        impl ErrorCode {
            /// The code for a number read off the wire.
            pub fn from_i32(code: i32) -> ErrorCode {
                match code {
                    $($value => ErrorCode::$name,)*
                    other => ErrorCode::Unknown(other),
                }
            }

            /// The number ZooKeeper uses for this code.
            pub fn as_i32(self) -> i32 {
                match self {
                    $(ErrorCode::$name => $value,)*
                    ErrorCode::Unknown(other) => other,
                }
            }

            /// ZooKeeper's name for this code (`"NoNode"`, `"BadVersion"`, ...).
            pub fn name(self) -> &'static str {
                match self {
                    $(ErrorCode::$name => stringify!($name),)*
                    ErrorCode::Unknown(_) => "Unknown",
                }
            }
        }
    };
}

error_codes! {
    /// Success.
    Ok = 0,
    /// A server-side system error.
    SystemError = -1,
    /// A runtime inconsistency was found.
    RuntimeInconsistency = -2,
    /// A data inconsistency was found.
    DataInconsistency = -3,
    /// Connection to the server has been lost.
    ConnectionLoss = -4,
    /// Error while marshalling or unmarshalling data.
    MarshallingError = -5,
    /// Operation is unimplemented.
    Unimplemented = -6,
    /// Operation timeout.
    OperationTimeout = -7,
    /// Invalid arguments.
    BadArguments = -8,
    /// The session is not known to the server.
    UnknownSession = -12,
    /// No quorum of the new configuration is connected and up to date with the leader.
    NewConfigNoQuorum = -13,
    /// Another reconfiguration is in progress.
    ReconfigInProgress = -14,
    /// Generic API error.
    ApiError = -100,
    /// The node does not exist.
    NoNode = -101,
    /// Not authenticated for this operation.
    NoAuth = -102,
    /// The version given does not match the node's version.
    BadVersion = -103,
    /// Ephemeral nodes may not have children.
    NoChildrenForEphemerals = -108,
    /// The node already exists.
    NodeExists = -110,
    /// The node has children.
    NotEmpty = -111,
    /// The session has been expired by the server.
    SessionExpired = -112,
    /// Invalid callback specified.
    InvalidCallback = -113,
    /// Invalid ACL specified.
    InvalidAcl = -114,
    /// Client authentication failed.
    AuthFailed = -115,
    /// Session moved to another server, so the operation is ignored.
    SessionMoved = -118,
    /// State-changing request sent to a read-only server.
    NotReadOnly = -119,
    /// Attempt to create an ephemeral node on a local session.
    EphemeralOnLocalSession = -120,
    /// Attempt to remove a watcher that does not exist.
    NoWatcher = -121,
    /// Request not completed within the server's max request timeout.
    RequestTimeout = -122,
    /// Reconfiguration is disabled on the server.
    ReconfigDisabled = -123,
    /// The session was closed because SASL authentication is required.
    SessionClosedRequireSaslAuth = -124,
    /// A quota was exceeded.
    QuotaExceeded = -125,
    /// The operation was throttled.
    Throttled = -127,
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorCode::Unknown(code) => write!(f, "Unknown({code})"),
            known => f.write_str(known.name()),
        }
    }
}
