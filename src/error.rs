//! The one error type of the crate.

use std::time::Duration;

use crate::proto::ErrorCode;

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in zkcluster.
///
/// Errors carry the path they concern where there is one. Use the `is_*` helpers rather than
/// matching on variants when all you need is the kind:
///
/// ```no_run
/// # fn main() -> zkcluster::Result<()> {
/// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
/// match client.get_node("/missing") {
///     Err(e) if e.is_no_node() => println!("not there yet"),
///     other => println!("{:?}", other?.value_str()?),
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server refused the operation on `path` with `code` (NoNode, NodeExists, BadVersion, ...).
    #[error("{code} on {path}{}", server_hint(*code))]
    Server {
        /// ZooKeeper's error code.
        code: ErrorCode,
        /// The path the operation concerned (as the caller gave it, without chroot).
        path: String,
    },
    /// The path breaks one of ZooKeeper's path rules; nothing was sent.
    #[error("invalid path {path:?}: {reason}")]
    InvalidPath {
        /// The offending path.
        path: String,
        /// Which rule it breaks.
        reason: String,
    },
    /// The value is larger than the server accepts; nothing was sent.
    #[error("value for {path} is {len} bytes, over the {limit}-byte limit")]
    ValueTooLarge {
        /// The path the value was for.
        path: String,
        /// The size of the value.
        len: usize,
        /// The largest value allowed.
        limit: usize,
    },
    /// The request, framed, is larger than the server accepts (its `jute.maxbuffer`, see
    /// [`ClientBuilder::max_request_size`](crate::ClientBuilder::max_request_size)); nothing was
    /// sent. Retrying cannot help.
    #[error("{op} on {path}: request is {size} bytes, over the {limit}-byte limit of the server's packet size (jute.maxbuffer); nothing was sent")]
    RequestTooLarge {
        /// The operation ("create", "multi", ...).
        op: &'static str,
        /// The path it concerned (the first operation's, for a transaction).
        path: String,
        /// The framed size of the request (length prefix not counted).
        size: usize,
        /// The limit it is over.
        limit: usize,
    },
    /// An argument other than a path is invalid; nothing was sent.
    #[error("invalid argument for {path}: {reason}")]
    InvalidArgument {
        /// The path the call concerned ("" when none).
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The call did not complete before its deadline. For a write, the server may still apply it.
    #[error("{op} on {path} timed out after {after:?}")]
    Timeout {
        /// The operation ("create", "acquire", ...).
        op: &'static str,
        /// The path it concerned.
        path: String,
        /// How long the call waited.
        after: Duration,
    },
    /// The connection broke while the call was in flight; the outcome of a write is unknown.
    /// The client reconnects by itself: retrying is safe for reads and idempotent writes.
    #[error("connection lost during {op} on {path}")]
    ConnectionLoss {
        /// The operation.
        op: &'static str,
        /// The path it concerned.
        path: String,
    },
    /// The session ended (expired on the server, or unreachable for longer than its timeout).
    /// Its ephemeral nodes and the locks they held are gone.
    #[error("session expired during {op} on {path}")]
    SessionExpired {
        /// The operation.
        op: &'static str,
        /// The path it concerned.
        path: String,
    },
    /// The client was closed.
    #[error("client is closed")]
    Closed,
    /// An acquire was aborted through a [`CancelHandle`](crate::CancelHandle).
    #[error("acquire of {path} was cancelled")]
    Cancelled {
        /// The lock path.
        path: String,
    },
    /// No server of the connect string could be reached in time.
    #[error("could not connect to {hosts} within {timeout:?}: {reason}")]
    Connect {
        /// The hosts tried.
        hosts: String,
        /// The connect timeout.
        timeout: Duration,
        /// The last failure seen.
        reason: String,
        /// The I/O error behind that failure, when it was one (refused, unreachable, ...).
        #[source]
        source: Option<std::io::Error>,
    },
    /// The connect string's chroot does not exist on the server (see
    /// [`ClientBuilder::create_chroot`](crate::ClientBuilder::create_chroot)).
    #[error(
        "chroot {chroot} does not exist on the server; create it, or connect with \
         ClientBuilder::create_chroot(true)"
    )]
    ChrootMissing {
        /// The chroot of the connect string.
        chroot: String,
    },
    /// The connect string could not be parsed.
    #[error("invalid connect string {input:?}: {reason}")]
    InvalidConnectString {
        /// The connect string given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A node's value is not valid UTF-8 (see [`ZookeeperNode::value_str`](crate::ZookeeperNode::value_str)).
    #[error("value of {path} is not UTF-8: {source}")]
    NotUtf8 {
        /// The node's path.
        path: String,
        /// Where the bytes stop being UTF-8.
        source: std::str::Utf8Error,
    },
    /// The server sent something this client cannot decode; the connection was reset.
    #[error("protocol error during {op} on {path}: {reason}")]
    Protocol {
        /// The operation.
        op: &'static str,
        /// The path it concerned.
        path: String,
        /// What could not be decoded.
        reason: String,
    },
    /// A semaphore's pool node stores a different `max_leases` than this client asked for.
    #[error("semaphore {path} holds max_leases {stored}, but {requested} was requested")]
    LeaseMismatch {
        /// The semaphore path.
        path: String,
        /// The number stored in the pool node.
        stored: u32,
        /// The number this client asked for.
        requested: u32,
    },
    /// Authentication was refused by the server.
    #[error("authentication with scheme {scheme:?} failed")]
    AuthFailed {
        /// The auth scheme.
        scheme: String,
    },
    /// A recipe node holds data in a format the recipe cannot read (a counter that is not a
    /// number, a lease record that is not Kazoo's JSON, ...); nothing was written.
    #[error("data of {path} is not what the recipe expects: {reason}")]
    InvalidData {
        /// The node's path.
        path: String,
        /// What is wrong with its data.
        reason: String,
    },
    /// A transaction (multi) failed; nothing was applied.
    #[error("transaction failed at operation {index} ({code} on {path})")]
    Transaction {
        /// Index of the first failing operation.
        index: usize,
        /// Its error code.
        code: ErrorCode,
        /// Its path.
        path: String,
    },
    /// A fenced write (through a [`Guard`](crate::Guard)) was refused because the guard's lock
    /// node no longer exists (its session ended, or it was released): someone else may hold the
    /// lock. Nothing was applied.
    #[error("lock {path} is lost (its node {node} is gone); the write was not applied")]
    LockLost {
        /// The lock (or semaphore) path.
        path: String,
        /// The guard's node that the write was conditioned on.
        node: String,
    },
    /// An acquire that could only deadlock was refused: this thread already holds the lock
    /// (the locks are not re-entrant) or asked for a read-to-write upgrade.
    #[error("cannot acquire {path}: {reason}")]
    WouldDeadlock {
        /// The lock path.
        path: String,
        /// What this thread already holds there.
        reason: String,
    },
    /// A four-letter command (`srvr`, `mntr`, ...) to `server` got no answer, or an answer
    /// that says it is not allowed (`4lw.commands.whitelist`).
    #[error("four-letter command {command:?} to {server}: {reason}")]
    FourLetterWord {
        /// The `host:port` it was sent to.
        server: String,
        /// The command.
        command: String,
        /// What went wrong.
        reason: String,
    },
    /// The TLS options given to [`ClientBuilder::tls`](crate::ClientBuilder::tls) cannot be used
    /// (no CA, a file that cannot be read, PEM that holds no certificate or key, a key that does
    /// not fit its certificate); nothing was sent. A certificate the server refuses, or a server
    /// certificate this client refuses, is an [`Error::Connect`] naming the host and the reason.
    #[error("TLS configuration: {reason}")]
    TlsConfig {
        /// What is wrong.
        reason: String,
    },
    /// A recipe name (from a configuration file, say) names no variant of the recipe enum.
    #[error(transparent)]
    ParseRecipe(#[from] crate::ParseRecipeError),
    /// The test kit failed (a server could not be started, stopped or reached).
    #[cfg(feature = "testing")]
    #[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
    #[error(transparent)]
    Testing(#[from] crate::testing::TestingError),
}

/// A sentence after the code for errors whose name alone does not say what to do.
fn server_hint(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::NoAuth => {
            ": not authorized (the node's ACL grants this operation to none of the session's identities; \
             add credentials with Client::add_auth or ClientBuilder::auth)"
        }
        ErrorCode::InvalidAcl => ": invalid ACL (empty, or an id its scheme does not accept)",
        ErrorCode::NotReadOnly => {
            ": the connected server is read-only (it lost its ensemble's quorum); writes fail \
             until the client is on a read-write server again"
        }
        _ => "",
    }
}

impl Error {
    /// The ZooKeeper error code, for errors the server reported (and their client-side twins:
    /// connection loss and session expiry).
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Error::Server { code, .. } | Error::Transaction { code, .. } => Some(*code),
            Error::ConnectionLoss { .. } => Some(ErrorCode::ConnectionLoss),
            Error::SessionExpired { .. } => Some(ErrorCode::SessionExpired),
            Error::AuthFailed { .. } => Some(ErrorCode::AuthFailed),
            _ => None,
        }
    }

    /// The call ran out of time.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. })
            || matches!(self.code(), Some(ErrorCode::OperationTimeout | ErrorCode::RequestTimeout))
    }
    /// The node does not exist.
    pub fn is_no_node(&self) -> bool {
        self.code() == Some(ErrorCode::NoNode)
    }
    /// The node already exists.
    pub fn is_node_exists(&self) -> bool {
        self.code() == Some(ErrorCode::NodeExists)
    }
    /// The expected version did not match.
    pub fn is_bad_version(&self) -> bool {
        self.code() == Some(ErrorCode::BadVersion)
    }
    /// The node still has children.
    pub fn is_not_empty(&self) -> bool {
        self.code() == Some(ErrorCode::NotEmpty)
    }
    /// The caller is not authorized.
    pub fn is_no_auth(&self) -> bool {
        self.code() == Some(ErrorCode::NoAuth)
    }
    /// The connection broke while the call was in flight.
    pub fn is_connection_loss(&self) -> bool {
        self.code() == Some(ErrorCode::ConnectionLoss)
    }
    /// The session is gone.
    pub fn is_session_expired(&self) -> bool {
        self.code() == Some(ErrorCode::SessionExpired)
    }
    /// The client was closed.
    pub fn is_closed(&self) -> bool {
        matches!(self, Error::Closed)
    }
    /// The acquire was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, Error::Cancelled { .. })
    }
    /// A fenced write was refused because the lock it was made under is gone
    /// ([`Error::LockLost`]).
    pub fn is_lock_lost(&self) -> bool {
        matches!(self, Error::LockLost { .. })
    }
    /// A transient failure after which retrying the same call may succeed: a timeout
    /// (the call's own deadline, or the server's `OperationTimeout`) or a connection loss.
    ///
    /// Everything else is not: server verdicts (NoNode, BadVersion, NoAuth, ...), invalid
    /// arguments and requests over the size limit fail the same way again; a closed client,
    /// a failed authentication, a cancelled acquire, a lost lock (`LockLost`) or an acquire
    /// that would deadlock stay so; a protocol error means the
    /// server sent something this client cannot read; and an expired session is gone with
    /// its ephemeral nodes (whether to go on in a new one is the caller's decision, see
    /// [`RetryPolicy::retry_session_expired`](crate::RetryPolicy::retry_session_expired)).
    /// For a write, the outcome of a timed-out or interrupted attempt is unknown: retry only
    /// what is idempotent (or check first).
    ///
    /// ```
    /// use std::time::Duration;
    /// let e = zkcluster::Error::Timeout { op: "get", path: "/a".into(), after: Duration::ZERO };
    /// assert!(e.is_retryable());
    /// assert!(!zkcluster::Error::Closed.is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        self.is_timeout() || self.is_connection_loss()
    }

    /// A server error for `path`, mapping connection-loss and expiry codes to their own variants.
    pub(crate) fn from_code(code: ErrorCode, op: &'static str, path: &str) -> Error {
        let path = path.to_string();
        match code {
            ErrorCode::ConnectionLoss => Error::ConnectionLoss { op, path },
            ErrorCode::SessionExpired => Error::SessionExpired { op, path },
            code => Error::Server { code, path },
        }
    }
}
