//! The two building blocks the built-in recipes stand on, for users' own lock types: a
//! *protected create* and a *guaranteed delete*.
//!
//! # Protected create
//!
//! A create whose reply is lost (the connection broke, the call timed out) may or may not have
//! made its node, and a sequential node's name is unknown until the reply comes. Retrying
//! blindly can leave a second node that blocks a queue for the rest of the session. A
//! [`ProtectedCreate`] puts a random uuid in front of the node name (`<parent>/<32 hex
//! digits><name>`, the layout of Kazoo's lock nodes and Curator's `withProtection()`), and after
//! a lost reply it lists `parent` for a child with that prefix: an ephemeral one is adopted only
//! if its owner is the session that sent the create and that session is still the current one,
//! a persistent one by its prefix alone. Otherwise it creates again. One deadline covers it all.
//!
//! # Guaranteed delete
//!
//! [`guaranteed_delete`] deletes a node now if it can, and otherwise keeps trying in a
//! background thread (pause 50 ms doubling to 1 s) until the node is gone, the client is closed,
//! the session ends (an ephemeral node goes with it), or an error that retrying cannot fix
//! (missing permission, children) is seen, so a failed acquire or release never leaves its node
//! behind (Curator's `guaranteed()`). It is meant for the ephemeral nodes of locks, leases and
//! claims. The thread holds a clone of the client, so the session stays open while it runs;
//! since it stops when the session ends, it never outlives an unreachable ensemble by more than
//! the session timeout.
//!
//! Both only use the client's public calls underneath; the recipes' own versions (pipelined with
//! their getChildren) follow the same rules.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::cleanup::{self, Target};
use super::node_name;
use crate::session::SessionLife;
use crate::{Client, CreateOptions, Error, Result};

/// A create that survives a lost reply without leaving a second node.
///
/// A create whose reply is lost (the connection broke, the call timed out) may or may not have
/// made its node, and a sequential node's name is unknown until the reply comes; retrying
/// blindly can leave a second node that blocks a queue for the rest of the session. A protected
/// create puts a random uuid in front of the node name (`<parent>/<32 hex digits><name>`, the
/// layout of Kazoo's lock nodes; Curator's `withProtection()`), and after a lost reply lists
/// `parent` for a child with that prefix: an ephemeral one is adopted only if its owner is the
/// session that sent the create and that session is still the current one, a persistent one by
/// its prefix alone. Otherwise it creates again. One deadline covers it all.
///
/// ```no_run
/// use zkcluster::{Client, CreateOptions, Guard, ProtectedCreate};
/// # fn main() -> zkcluster::Result<()> {
/// let client = Client::connect("127.0.0.1:2181")?;
/// let options = CreateOptions::new().ephemeral().sequential().parents();
/// let create = ProtectedCreate::new(&client, "/jobs/leases", "lease-", b"worker-1", &options)?;
/// let node = create.create()?; // "/jobs/leases/<uuid>lease-0000000003"
/// assert!(node.starts_with(&format!("/jobs/leases/{}", create.prefix())));
/// let guard = Guard::new(&client, "/jobs/leases", vec![node]); // deletes it when dropped
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a ProtectedCreate does nothing until .create() is called"]
pub struct ProtectedCreate {
    client: Client,
    parent: String,
    prefix: String,
    value: Vec<u8>,
    options: CreateOptions,
}

impl ProtectedCreate {
    /// Prepares a create of `<parent>/<uuid><name>` (the server appends a sequence number when
    /// `options` say sequential) with `value`. Nothing is sent yet.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPath`] when `parent` is not a valid path or `name` contains a `/`.
    ///
    /// ```no_run
    /// # use zkcluster::{Client, CreateOptions, ProtectedCreate};
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = Client::connect("127.0.0.1:2181")?;
    /// let create = ProtectedCreate::new(&client, "/election", "n_", b"", &CreateOptions::new().ephemeral())?;
    /// assert_eq!(create.prefix().len(), 32 + 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(
        client: &Client,
        parent: &str,
        name: &str,
        value: impl AsRef<[u8]>,
        options: &CreateOptions,
    ) -> Result<ProtectedCreate> {
        crate::path::validate(parent, false)?;
        if name.contains('/') {
            return Err(Error::InvalidPath {
                path: format!("{parent}/{name}"),
                reason: "the node name of a protected create must not contain '/'".to_string(),
            });
        }
        Ok(ProtectedCreate {
            client: client.clone(),
            parent: parent.to_string(),
            prefix: format!("{}{name}", node_name::uuid_hex()),
            value: value.as_ref().to_vec(),
            options: options.clone(),
        })
    }

    /// The start of the node's name: the uuid and the name given to [`new`](Self::new).
    #[must_use]
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Creates the node, recovering from a lost reply; returns its full path. The deadline is
    /// the client's request timeout, for all of it (waiting for a reconnect included).
    ///
    /// # Errors
    ///
    /// What [`Client::create`] returns, except that connection loss, a lost reply and an
    /// expired session are recovered from while the deadline allows; [`Error::Timeout`] once it
    /// has passed (the node may exist then: [`discard`](Self::discard) removes it).
    ///
    /// ```no_run
    /// # use zkcluster::{Client, CreateOptions, ProtectedCreate};
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = Client::connect("127.0.0.1:2181")?;
    /// let create = ProtectedCreate::new(&client, "/election", "n_", b"me", &CreateOptions::new().ephemeral().sequential())?;
    /// let mine = create.create()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn create(&self) -> Result<String> {
        self.create_timeout(self.client.shared().config.request_timeout)
    }

    /// [`create`](Self::create) with a deadline of `timeout` from now.
    ///
    /// # Errors
    ///
    /// As [`create`](Self::create).
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # use zkcluster::{Client, CreateOptions, ProtectedCreate};
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = Client::connect("127.0.0.1:2181")?;
    /// let create = ProtectedCreate::new(&client, "/election", "n_", b"me", &CreateOptions::new().ephemeral())?;
    /// let mine = create.create_timeout(Duration::from_secs(30))?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn create_timeout(&self, timeout: Duration) -> Result<String> {
        let deadline = Instant::now() + timeout;
        let path = format!("{}/{}", self.parent.trim_end_matches('/'), self.prefix);
        let mut lost_reply = false;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::Timeout { op: "create", path, after: timeout });
            }
            let life = self.client.shared().life();
            if lost_reply {
                match self.find_created_by(&life) {
                    Ok(Some(found)) => return Ok(found),
                    Ok(None) => {}
                    Err(e) if recoverable(&e) => {
                        self.wait_connected(deadline);
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }
            match self.client.create_async(&path, &self.value, &self.options).wait_timeout(left) {
                Ok(created) => return Ok(created),
                Err(e) if recoverable(&e) => {
                    // The node may exist now; look for it before creating again.
                    lost_reply = true;
                    self.wait_connected(deadline);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// A child of the parent with our prefix that the current session created (or, for a
    /// persistent node, any child with our prefix): the node a create whose reply was lost
    /// made, if it made one.
    ///
    /// # Errors
    ///
    /// What [`Client::get_children`] and [`Client::exist_node`] return (a missing parent is
    /// `Ok(None)`).
    ///
    /// ```no_run
    /// # use zkcluster::{Client, CreateOptions, ProtectedCreate};
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = Client::connect("127.0.0.1:2181")?;
    /// let create = ProtectedCreate::new(&client, "/election", "n_", b"me", &CreateOptions::new().ephemeral())?;
    /// assert_eq!(create.find()?, None); // nothing sent yet
    /// # Ok(())
    /// # }
    /// ```
    pub fn find(&self) -> Result<Option<String>> {
        self.find_created_by(&self.client.shared().life())
    }

    fn find_created_by(&self, life: &Arc<SessionLife>) -> Result<Option<String>> {
        let children = match self.client.get_children(&self.parent) {
            Ok(children) => children,
            Err(e) if e.is_no_node() => return Ok(None),
            Err(e) => return Err(e),
        };
        let candidates: Vec<_> = children
            .iter()
            .filter(|c| c.starts_with(self.prefix.as_str()))
            .map(|c| {
                let path = crate::path::join(&self.parent, c);
                let stat = self.client.exist_node_async(&path);
                (path, stat)
            })
            .collect();
        let ephemeral = self.options.mode.is_ephemeral();
        let mut found = None;
        for (path, stat) in candidates {
            let Some(stat) = stat.wait()? else { continue };
            let ours = !ephemeral || stat.ephemeral_owner == life.session_id;
            if ours && found.is_none() {
                found = Some(path);
            }
        }
        // Adopted only if the session that owns it is still ours.
        let current = Arc::ptr_eq(life, &self.client.shared().life()) && !life.has_ended();
        Ok(found.filter(|_| current || !ephemeral))
    }

    /// Deletes whatever node this create may have made (every child of the parent with our
    /// prefix), with the [`guaranteed_delete`] rule: now if possible, else in the background.
    /// For an acquire that gives up after a create whose outcome is unknown.
    ///
    /// ```no_run
    /// # use zkcluster::{Client, CreateOptions, ProtectedCreate};
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = Client::connect("127.0.0.1:2181")?;
    /// let create = ProtectedCreate::new(&client, "/election", "n_", b"me", &CreateOptions::new().ephemeral())?;
    /// if create.create().is_err() {
    ///     create.discard();
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn discard(&self) {
        let target = Target::Prefix { parent: self.parent.clone(), prefix: self.prefix.clone() };
        let _ = delete_guaranteed(&self.client, target);
    }

    fn wait_connected(&self, deadline: Instant) {
        let token = super::CancelHandle::new().token();
        let _ = super::lock::wait_connected(&self.client, &self.parent, Some(deadline), &token);
    }
}

/// Deletes `path` now, or — when the server cannot be reached or the call times out — keeps
/// trying in a background thread (Curator's `guaranteed()`). `Ok(true)` when nothing is left
/// now, `Ok(false)` when the deletion goes on in the background.
///
/// The background thread pauses 50 ms, doubling to 1 s, between attempts, and stops when the
/// node is gone, the client is closed, the current session ends (an ephemeral node goes with
/// it), or on an error retrying cannot fix (logged). Meant for the ephemeral nodes of locks,
/// leases and claims, so a failed acquire or release never leaves its node behind.
///
/// # Errors
///
/// An error retrying cannot fix (the node has children, the session may not delete it, an
/// invalid path); nothing is retried then.
///
/// ```no_run
/// use zkcluster::{guaranteed_delete, Client, CreateOptions};
/// # fn main() -> zkcluster::Result<()> {
/// let client = Client::connect("127.0.0.1:2181")?;
/// let node = client.create("/jobs/claim-", b"", &CreateOptions::new().ephemeral().sequential())?;
/// // ... the work failed: make sure the claim goes, whatever the network does.
/// let deleted_now: bool = guaranteed_delete(&client, &node)?;
/// # Ok(())
/// # }
/// ```
pub fn guaranteed_delete(client: &Client, path: &str) -> Result<bool> {
    crate::path::validate(path, false)?;
    delete_guaranteed(client, Target::Node(path.to_string()))
}

/// [`guaranteed_delete`] for every child of `parent` whose name starts with `prefix`: the node a
/// create whose reply was lost may have left, when its sequence number is unknown.
///
/// # Errors
///
/// As [`guaranteed_delete`].
///
/// ```no_run
/// use zkcluster::{guaranteed_delete_prefix, Client, CreateOptions};
/// # fn main() -> zkcluster::Result<()> {
/// let client = Client::connect("127.0.0.1:2181")?;
/// let options = CreateOptions::new().ephemeral().sequential();
/// if let Err(e) = client.create("/jobs/claims/job-17-w1-", b"", &options) {
///     // Lost reply or not, no claim of ours may stay.
///     guaranteed_delete_prefix(&client, "/jobs/claims", "job-17-w1-")?;
/// }
/// # Ok(())
/// # }
/// ```
pub fn guaranteed_delete_prefix(client: &Client, parent: &str, prefix: &str) -> Result<bool> {
    crate::path::validate(parent, false)?;
    let target = Target::Prefix { parent: parent.to_string(), prefix: prefix.to_string() };
    delete_guaranteed(client, target)
}

fn delete_guaranteed(client: &Client, target: Target) -> Result<bool> {
    if !client.state().is_connected() {
        cleanup::hand_over(client, &client.shared().life(), target);
        return Ok(false);
    }
    match cleanup::delete_or_hand_over(client, &client.shared().life(), target) {
        Ok(()) => Ok(true),
        Err(e) if recoverable(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Errors after which the create or delete may still succeed once reconnected.
fn recoverable(e: &Error) -> bool {
    e.is_connection_loss() || e.is_timeout() || e.is_session_expired()
}
