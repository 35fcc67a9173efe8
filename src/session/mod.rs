//! Sessions: the connection, the reader thread, pings, reconnects, and the session's states
//! and events.

mod events;

pub use events::{SessionEvent, SessionState};
