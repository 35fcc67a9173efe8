//! Session states and the events announcing their transitions.

/// Where a session stands.
///
/// ```no_run
/// # fn main() -> zkcluster::Result<()> {
/// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
/// assert_eq!(client.state(), zkcluster::SessionState::Connected);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SessionState {
    /// Establishing the first connection, or a fresh session after one was lost.
    Connecting,
    /// Connected; calls go through.
    Connected,
    /// Connected to a read-only server (only reads go through).
    ConnectedReadOnly,
    /// The connection broke; the client is trying to resume the same session on some server.
    /// Ephemeral nodes and locks are still held by the server until the session times out.
    Suspended,
    /// The session ended (expired) and the client does not renew sessions by itself.
    Expired,
    /// Authentication failed; the server closed the session.
    AuthFailed,
    /// The client was closed.
    Closed,
}

impl SessionState {
    /// Whether calls can be sent now.
    pub fn is_connected(self) -> bool {
        matches!(self, SessionState::Connected | SessionState::ConnectedReadOnly)
    }

    /// Whether the state can never change again.
    pub fn is_terminal(self) -> bool {
        matches!(self, SessionState::Expired | SessionState::AuthFailed | SessionState::Closed)
    }
}

/// A transition of the session, delivered to every receiver from
/// [`Client::session_events`](crate::Client::session_events).
///
/// ```no_run
/// use zkcluster::SessionEvent;
/// # fn main() -> zkcluster::Result<()> {
/// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
/// let events = client.session_events();
/// std::thread::spawn(move || {
///     for event in events {
///         if let SessionEvent::Lost { .. } = event {
///             eprintln!("session lost: every lock we held is gone");
///         }
///     }
/// });
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionEvent {
    /// A new session was established (the first one, or a fresh one after a loss).
    Connected {
        /// The new session's id.
        session_id: i64,
        /// The server it is connected to.
        server: String,
    },
    /// The client is connected, new or resumed session alike, to a read-only server (see
    /// [`ClientBuilder::can_be_read_only`](crate::ClientBuilder::can_be_read_only)): reads go
    /// through, writes fail with `NotReadOnly`.
    ConnectedReadOnly {
        /// The session's id.
        session_id: i64,
        /// The read-only server it is connected to.
        server: String,
    },
    /// The connection broke; the session may still be resumed.
    Suspended {
        /// The session that is suspended.
        session_id: i64,
    },
    /// The same session was resumed on a (possibly different) server.
    Reconnected {
        /// The resumed session's id.
        session_id: i64,
        /// The server it is now connected to.
        server: String,
    },
    /// The session is gone: its ephemeral nodes and locks were (or will be) removed by the server.
    Lost {
        /// The session that was lost.
        session_id: i64,
    },
    /// Authentication failed; the session is closed.
    AuthFailed,
    /// The client was closed.
    Closed,
}
