//! [`Party`] and [`ShallowParty`]: a live list of the members of a group, the same nodes as
//! Kazoo's `Party` and `ShallowParty`, so Kazoo and Rust members are in one party.
//!
//! # Guarantee
//!
//! A member that has [joined](Party::join) has one ephemeral node under the party path for as
//! long as it stays joined and its client is open: the node is kept by a [`PersistentNode`],
//! so it survives reconnects and is made again (same name, same data) after the session is
//! lost. [`members`](Party::members) lists every member whose node exists at the time of the
//! read (a member whose session just ended may be listed until the server expires it).
//! [`watch`](Party::watch) delivers the list again after every change.
//!
//! # Node layout (Kazoo's)
//!
//! - `Party`: `<path>/<32 hex digits>__party__`, data = the identifier (UTF-8). Only children
//!   whose name contains `__party__` are members; the list is made of their data.
//! - `ShallowParty`: `<path>/<32 hex digits>-<identifier>`, data `0`. Every child is a member;
//!   its identifier is what follows the first `-` of its name (so the identifier must be a
//!   valid node name: no `/`). Listing needs no data reads.
//!
//! The party path is created (persistent) on join if missing. A listing of a missing path is
//! empty.
//!
//! # Round trips
//!
//! `ShallowParty::members`: one (getChildren). `Party::members`: one while the member set is
//! the one seen by the previous listing — the getChildren and the reads of the members seen
//! last time go in one multiRead (pipelined single reads on servers before 3.6) — and one more
//! for the data of new members. Kazoo needs one round trip per member.
//!
//! # Failure modes
//!
//! - [`join_timeout`](Party::join_timeout) that runs out of time removes what it may have
//!   created (in the background if the server cannot be reached) and fails with a timeout.
//! - [`leave`](Party::leave) while disconnected returns the connection loss; the node is deleted
//!   in the background once the server can be reached, or goes with the session.
//! - Dropping a joined party leaves it (the node is deleted in the background).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_channel::{RecvTimeoutError, TryRecvError};

use super::node_name;
use super::persistent_node::PersistentNode;
use crate::{ChildrenWatch, Client, Error, ErrorCode, Pending, ReadOp, ReadResult, Result};

/// The marker in the name of a `Party` member node.
const PARTY_MARKER: &str = "__party__";
/// The data of a `ShallowParty` member node.
const SHALLOW_DATA: &[u8] = b"0";

/// How a party stores its members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// Identifier in the data (Kazoo's `Party`).
    Deep,
    /// Identifier in the name (Kazoo's `ShallowParty`).
    Shallow,
}

/// Reads a party's member list.
#[derive(Debug)]
struct Lister {
    client: Client,
    path: String,
    layout: Layout,
    /// The member node names the previous listing saw (deep parties only).
    known: Mutex<Vec<String>>,
    /// The server refused a multiRead (before ZooKeeper 3.6): pipeline single reads instead.
    no_multi_read: AtomicBool,
}

impl Lister {
    fn new(client: &Client, path: &str, layout: Layout) -> Lister {
        Lister {
            client: client.clone(),
            path: path.to_string(),
            layout,
            known: Mutex::new(Vec::new()),
            no_multi_read: AtomicBool::new(false),
        }
    }

    fn members(&self) -> Result<Vec<String>> {
        match self.layout {
            Layout::Shallow => Ok(shallow_members(&self.children()?)),
            Layout::Deep => {
                // The listing and the reads of the members seen last time in one round trip.
                let known = self.known.lock().unwrap_or_else(|p| p.into_inner()).clone();
                let (children, data) = self.read(true, known)?;
                self.deep_members(&children, data)
            }
        }
    }

    /// The party path's children; none when it is missing.
    fn children(&self) -> Result<Vec<String>> {
        match self.client.get_children(&self.path) {
            Err(e) if e.is_no_node() => Ok(Vec::new()),
            other => other,
        }
    }

    /// The number of members: one getChildren, no data reads.
    fn count(&self) -> Result<usize> {
        let children = self.children()?;
        Ok(match self.layout {
            Layout::Shallow => children.len(),
            Layout::Deep => children.iter().filter(|c| c.contains(PARTY_MARKER)).count(),
        })
    }

    /// Reads the children (when `list`; empty when the party path is missing) and the data of
    /// the member nodes `names` (`None` for a node that is gone), in one round trip: one
    /// multiRead, or on a server without it (before 3.6) pipelined reads.
    #[allow(clippy::type_complexity)]
    fn read(
        &self,
        list: bool,
        names: Vec<String>,
    ) -> Result<(Vec<String>, Vec<(String, Option<String>)>)> {
        let node = |n: &String| crate::path::join(&self.path, n);
        if !self.no_multi_read.load(Ordering::Relaxed) {
            let mut ops: Vec<ReadOp> =
                list.then(|| ReadOp::children(&self.path)).into_iter().collect();
            ops.extend(names.iter().map(|n| ReadOp::data(&node(n))));
            match self.client.multi_read(&ops) {
                Ok(results) => {
                    let mut results = results.into_iter();
                    let children = if list {
                        match results.next() {
                            Some(Ok(ReadResult::Children(children))) => children,
                            Some(Err(e)) if e.is_no_node() => Vec::new(),
                            Some(Err(e)) => return Err(e),
                            _ => return Err(self.malformed()),
                        }
                    } else {
                        Vec::new()
                    };
                    let mut data = Vec::with_capacity(names.len());
                    for (name, result) in names.into_iter().zip(results) {
                        let value = match result {
                            Ok(ReadResult::Node(n)) => Some(text(&n.value)),
                            Err(e) if e.is_no_node() => None,
                            Err(e) => return Err(e),
                            Ok(ReadResult::Children(_)) => return Err(self.malformed()),
                        };
                        data.push((name, value));
                    }
                    return Ok((children, data));
                }
                Err(e)
                    if matches!(
                        e.code(),
                        Some(ErrorCode::Unimplemented | ErrorCode::MarshallingError)
                    ) =>
                {
                    self.no_multi_read.store(true, Ordering::Relaxed);
                }
                Err(e) => return Err(e),
            }
        }
        let listing = list.then(|| self.client.get_children_async(&self.path));
        let reads: Vec<_> = names.iter().map(|n| self.client.get_node_async(&node(n))).collect();
        let children = match listing.map(Pending::wait) {
            Some(Ok(children)) => children,
            Some(Err(e)) if !e.is_no_node() => return Err(e),
            _ => Vec::new(),
        };
        let mut data = Vec::with_capacity(names.len());
        for (name, read) in names.into_iter().zip(reads) {
            let value = match read.wait() {
                Ok(n) => Some(text(&n.value)),
                Err(e) if e.is_no_node() => None,
                Err(e) => return Err(e),
            };
            data.push((name, value));
        }
        Ok((children, data))
    }

    fn malformed(&self) -> Error {
        Error::Protocol {
            op: "multi_read",
            path: self.path.clone(),
            reason: "the reply does not match the reads sent".into(),
        }
    }

    /// The members given the current children, reading the data of the names not in `data`.
    fn deep_members(
        &self,
        children: &[String],
        mut data: Vec<(String, Option<String>)>,
    ) -> Result<Vec<String>> {
        let names: Vec<String> =
            children.iter().filter(|c| c.contains(PARTY_MARKER)).cloned().collect();
        let missing: Vec<String> =
            names.iter().filter(|n| !data.iter().any(|(k, _)| k == *n)).cloned().collect();
        if !missing.is_empty() {
            data.extend(self.read(false, missing)?.1);
        }
        let mut members = Vec::with_capacity(names.len());
        for name in &names {
            // A member that left between the listing and the read is not listed.
            if let Some((_, Some(value))) = data.iter().find(|(k, _)| k == name) {
                members.push(value.clone());
            }
        }
        *self.known.lock().unwrap_or_else(|p| p.into_inner()) = names;
        Ok(members)
    }

    fn members_of(&self, children: &[String]) -> Result<Vec<String>> {
        match self.layout {
            Layout::Shallow => Ok(shallow_members(children)),
            Layout::Deep => self.deep_members(children, Vec::new()),
        }
    }
}

/// A member node's data as text (Kazoo decodes it as UTF-8).
fn text(value: &[u8]) -> String {
    String::from_utf8_lossy(value).into_owned()
}

/// The identifiers of a shallow party's children: what follows the first `-` (the whole name
/// when there is none), as Kazoo reads them.
fn shallow_members(children: &[String]) -> Vec<String> {
    children
        .iter()
        .map(|c| c.split_once('-').map_or(c.as_str(), |(_, id)| id).to_string())
        .collect()
}

/// The member side shared by both party kinds.
#[derive(Debug)]
struct Membership {
    client: Client,
    node_path: String,
    data: Vec<u8>,
    node: Mutex<Option<Arc<PersistentNode>>>,
    lister: Lister,
    identifier: String,
}

impl Membership {
    fn new(client: &Client, path: &str, identifier: &str, layout: Layout) -> Result<Membership> {
        crate::path::validate(path, false)?;
        let (name, data) = match layout {
            Layout::Deep => {
                (format!("{}{PARTY_MARKER}", node_name::uuid_hex()), identifier.as_bytes().to_vec())
            }
            Layout::Shallow => {
                (format!("{}-{identifier}", node_name::uuid_hex()), SHALLOW_DATA.to_vec())
            }
        };
        let node_path = crate::path::join(path, &name);
        // The identifier becomes part of a node name for a shallow party: check it now.
        let checked = if name.contains('/') {
            Err("it contains '/'".to_string())
        } else {
            crate::path::validate(&node_path, false).map_err(|e| e.to_string())
        };
        checked.map_err(|reason| Error::InvalidArgument {
            path: path.to_string(),
            reason: format!("identifier {identifier:?} does not make a valid node name: {reason}"),
        })?;
        crate::path::validate_value(&node_path, &data)?;
        Ok(Membership {
            client: client.clone(),
            node_path,
            data,
            node: Mutex::new(None),
            lister: Lister::new(client, path, layout),
            identifier: identifier.to_string(),
        })
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<Arc<PersistentNode>>> {
        self.node.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn join_timeout(&self, timeout: Duration) -> Result<()> {
        let node = {
            let mut slot = self.slot();
            match &*slot {
                Some(node) => node.clone(),
                None => {
                    let node =
                        Arc::new(PersistentNode::start(&self.client, &self.node_path, &self.data)?);
                    *slot = Some(node.clone());
                    node
                }
            }
        };
        // Waited for without the slot's lock, so `leave` from another thread cancels the join.
        match node.wait_for_create(timeout) {
            Ok(_) => Ok(()),
            Err(e) => {
                // Not joined in time: take back whatever the attempt made (unless a later
                // join already replaced this node).
                let mut slot = self.slot();
                if slot.as_ref().is_some_and(|n| Arc::ptr_eq(n, &node)) {
                    slot.take();
                }
                drop(slot);
                // Not waited for: the deadline has passed already.
                node.stop();
                if e.is_closed() && !self.client.state().is_terminal() {
                    return Err(Error::Cancelled { path: self.lister.path.clone() });
                }
                Err(e)
            }
        }
    }

    fn leave(&self) -> Result<bool> {
        let node = self.slot().take();
        match node {
            Some(node) => node.close().map(|()| true),
            None => Ok(false),
        }
    }

    fn is_participating(&self) -> bool {
        self.slot().is_some()
    }

    fn watch(&self) -> Result<MembershipWatch> {
        Ok(MembershipWatch {
            children: self.client.watch_children(&self.lister.path)?,
            lister: Lister::new(&self.client, &self.lister.path, self.lister.layout),
        })
    }
}

/// The client's request timeout, the default deadline of `join`.
fn join_deadline(client: &Client) -> Duration {
    client.shared().config.request_timeout
}

macro_rules! party_api {
    ($ty:ident, $kazoo:literal, $ctor:literal) => {
        impl $ty {
            #[doc = concat!("Joins the party (Kazoo's `", $kazoo, ".join`): creates the member ")]
            /// node and keeps it present; waits until it exists, at most the client's request
            /// timeout. Joining again while joined does nothing.
            ///
            /// # Errors
            ///
            /// [`Error::Timeout`] when the node could not be created in time (what the attempt
            /// made is removed); [`Error::Cancelled`] when [`leave`](Self::leave) was called
            /// from another thread meanwhile; [`Error::Closed`] once the client is closed.
            ///
            /// ```no_run
            /// # fn main() -> zkcluster::Result<()> {
            /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
            #[doc = concat!("let party = ", $ctor, ";")]
            /// party.join()?;
            /// assert!(party.is_participating());
            /// # Ok(())
            /// # }
            /// ```
            pub fn join(&self) -> Result<()> {
                self.inner.join_timeout(join_deadline(&self.inner.client))
            }

            /// [`join`](Self::join) with its own deadline.
            ///
            /// # Errors
            ///
            /// As [`join`](Self::join).
            ///
            /// ```no_run
            /// # fn main() -> zkcluster::Result<()> {
            /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
            #[doc = concat!("let party = ", $ctor, ";")]
            /// party.join_timeout(std::time::Duration::from_secs(2))?;
            /// # Ok(())
            /// # }
            /// ```
            pub fn join_timeout(&self, timeout: Duration) -> Result<()> {
                self.inner.join_timeout(timeout)
            }

            /// Leaves the party: deletes the member node (one round trip). `Ok(false)` when
            /// not joined.
            ///
            /// # Errors
            ///
            /// A connection loss or timeout when the server could not be reached; the node is
            /// then deleted in the background (or goes with the session).
            ///
            /// ```no_run
            /// # fn main() -> zkcluster::Result<()> {
            /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
            #[doc = concat!("let party = ", $ctor, ";")]
            /// party.join()?;
            /// assert!(party.leave()?);
            /// assert!(!party.leave()?);
            /// # Ok(())
            /// # }
            /// ```
            pub fn leave(&self) -> Result<bool> {
                self.inner.leave()
            }

            /// Whether this object has joined or is joining (and has not left). The node itself may be missing
            /// for a moment while it is made again after a session loss.
            ///
            /// ```no_run
            /// # fn main() -> zkcluster::Result<()> {
            /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
            #[doc = concat!("let party = ", $ctor, ";")]
            /// assert!(!party.is_participating());
            /// party.join()?;
            /// assert!(party.is_participating());
            /// # Ok(())
            /// # }
            /// ```
            pub fn is_participating(&self) -> bool {
                self.inner.is_participating()
            }

            /// The number of members (one getChildren, no data reads).
            ///
            /// # Errors
            ///
            /// Errors of the read (connection loss, timeout, closed client).
            ///
            /// ```no_run
            /// # fn main() -> zkcluster::Result<()> {
            /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
            #[doc = concat!("let party = ", $ctor, ";")]
            /// println!("{} members", party.len()?);
            /// # Ok(())
            /// # }
            /// ```
            #[allow(clippy::len_without_is_empty)]
            pub fn len(&self) -> Result<usize> {
                self.inner.lister.count()
            }

            /// A stream of the member list: the current list at once, then the new list after
            /// every change of membership (one-shot watches re-armed on each change, as Kazoo's
            /// `ChildrenWatch`). It ends when dropped or when the client is closed.
            ///
            /// # Errors
            ///
            /// Errors of the first read.
            ///
            /// ```no_run
            /// # fn main() -> zkcluster::Result<()> {
            /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
            #[doc = concat!("let party = ", $ctor, ";")]
            /// for members in party.watch()? {
            ///     println!("members now: {:?}", members?);
            /// }
            /// # Ok(())
            /// # }
            /// ```
            pub fn watch(&self) -> Result<MembershipWatch> {
                self.inner.watch()
            }

            /// The party path.
            ///
            /// ```no_run
            /// # fn main() -> zkcluster::Result<()> {
            /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
            #[doc = concat!("let party = ", $ctor, ";")]
            /// assert_eq!(party.path(), "/crawlers");
            /// # Ok(())
            /// # }
            /// ```
            pub fn path(&self) -> &str {
                &self.inner.lister.path
            }

            /// This member's identifier.
            ///
            /// ```no_run
            /// # fn main() -> zkcluster::Result<()> {
            /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
            #[doc = concat!("let party = ", $ctor, ";")]
            /// assert_eq!(party.identifier(), "crawler-1");
            /// # Ok(())
            /// # }
            /// ```
            pub fn identifier(&self) -> &str {
                &self.inner.identifier
            }

            /// The full path of this member's node (fixed for the object's life, also across
            /// session loss).
            ///
            /// ```no_run
            /// # fn main() -> zkcluster::Result<()> {
            /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
            #[doc = concat!("let party = ", $ctor, ";")]
            /// assert!(party.member_path().starts_with("/crawlers/"));
            /// # Ok(())
            /// # }
            /// ```
            pub fn member_path(&self) -> &str {
                &self.inner.node_path
            }
        }
    };
}

/// A party whose members' identifiers are in their nodes' data (Kazoo's `Party`); see the
/// [module docs](self).
///
/// `Send + Sync`. Dropping a joined party leaves it.
///
/// ```no_run
/// use zkcluster::{Client, recipe::Party};
/// # fn main() -> zkcluster::Result<()> {
/// let client = Client::connect("127.0.0.1:2181")?;
/// let party = Party::new(&client, "/crawlers", "crawler-1 (10.0.0.7)")?;
/// party.join()?;
/// println!("crawling now: {:?}", party.members()?);
/// party.leave()?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Party {
    inner: Membership,
}

impl Party {
    /// A party object at `path` for a member named `identifier` (any text). No server call.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPath`] for a path ZooKeeper would refuse; [`Error::ValueTooLarge`] for
    /// an identifier over the node size limit.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let party = zkcluster::recipe::Party::new(&client, "/crawlers", "crawler-1")?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(client: &Client, path: &str, identifier: &str) -> Result<Party> {
        Ok(Party { inner: Membership::new(client, path, identifier, Layout::Deep)? })
    }

    /// The identifiers of every member, in the server's order of the children (one round trip
    /// while the membership is the one the previous listing saw).
    ///
    /// # Errors
    ///
    /// Errors of the reads (connection loss, timeout, closed client).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let party = zkcluster::recipe::Party::new(&client, "/crawlers", "crawler-1")?;
    /// party.join()?;
    /// assert!(party.members()?.contains(&"crawler-1".to_string()));
    /// # Ok(())
    /// # }
    /// ```
    pub fn members(&self) -> Result<Vec<String>> {
        self.inner.lister.members()
    }
}

party_api!(Party, "Party", "zkcluster::recipe::Party::new(&client, \"/crawlers\", \"crawler-1\")?");

/// A party whose members' identifiers are in their nodes' names (Kazoo's `ShallowParty`): the
/// list costs one getChildren; the identifier must be a valid node name. See the
/// [module docs](self).
///
/// `Send + Sync`. Dropping a joined party leaves it.
///
/// ```no_run
/// use zkcluster::{Client, recipe::ShallowParty};
/// # fn main() -> zkcluster::Result<()> {
/// let client = Client::connect("127.0.0.1:2181")?;
/// let party = ShallowParty::new(&client, "/crawlers", "crawler-1")?;
/// party.join()?;
/// println!("crawling now: {:?}", party.members()?);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct ShallowParty {
    inner: Membership,
}

impl ShallowParty {
    /// A shallow party object at `path` for a member named `identifier`. No server call.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPath`] for a bad path; [`Error::InvalidArgument`] when `identifier`
    /// cannot be part of a node name (it contains `/`, for example).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let party = zkcluster::recipe::ShallowParty::new(&client, "/crawlers", "crawler-1")?;
    /// assert!(zkcluster::recipe::ShallowParty::new(&client, "/crawlers", "a/b").is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(client: &Client, path: &str, identifier: &str) -> Result<ShallowParty> {
        Ok(ShallowParty { inner: Membership::new(client, path, identifier, Layout::Shallow)? })
    }

    /// The identifiers of every member, in the server's order of the children (one round trip).
    ///
    /// # Errors
    ///
    /// Errors of the read (connection loss, timeout, closed client).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let party = zkcluster::recipe::ShallowParty::new(&client, "/crawlers", "crawler-1")?;
    /// party.join()?;
    /// assert!(party.members()?.contains(&"crawler-1".to_string()));
    /// # Ok(())
    /// # }
    /// ```
    pub fn members(&self) -> Result<Vec<String>> {
        self.inner.lister.members()
    }
}

party_api!(
    ShallowParty,
    "ShallowParty",
    "zkcluster::recipe::ShallowParty::new(&client, \"/crawlers\", \"crawler-1\")?"
);

/// A stream of a party's member list, from [`Party::watch`] or [`ShallowParty::watch`]: the
/// list at once, then again after every change of membership. An `Err` item is a failed read
/// (the stream goes on; call `members()` to read the list again before the next change) or a
/// lost session (`is_session_expired()`; the list follows again once the client has a new
/// session).
///
/// The member data of a [`Party`] is read in the receiving thread (one round trip per change).
/// The stream ends when the handle is dropped or the client is closed.
///
/// ```no_run
/// # fn main() -> zkcluster::Result<()> {
/// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
/// let party = zkcluster::recipe::ShallowParty::new(&client, "/crawlers", "me")?;
/// let watch = party.watch()?;
/// while let Ok(members) = watch.recv_timeout(std::time::Duration::from_secs(10)) {
///     println!("{:?}", members?);
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
#[must_use = "the watch stops when its handle is dropped"]
pub struct MembershipWatch {
    children: ChildrenWatch,
    lister: Lister,
}

impl MembershipWatch {
    fn convert(&self, update: Result<Option<Vec<String>>>) -> Result<Vec<String>> {
        let Some(children) = update? else { return Ok(Vec::new()) };
        match self.lister.members_of(&children) {
            // The stream delivers again only on the next change: when the data reads fail
            // for a passing reason, list afresh once rather than leave the caller with nothing.
            Err(e) if e.is_retryable() => self.lister.members(),
            other => other,
        }
    }

    /// The next member list, waiting at most `timeout`. `Err(Disconnected)` once the stream
    /// has ended.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// # let party = zkcluster::recipe::Party::new(&client, "/crawlers", "me")?;
    /// let watch = party.watch()?;
    /// let first = watch.recv_timeout(std::time::Duration::from_secs(5)).unwrap()?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// `Err(Timeout)` when no change came within `timeout`, `Err(Disconnected)` once the stream
    /// has ended; the inner `Err` is a failed re-read of the member list.
    pub fn recv_timeout(
        &self,
        timeout: Duration,
    ) -> std::result::Result<Result<Vec<String>>, RecvTimeoutError> {
        self.children.recv_timeout(timeout).map(|u| self.convert(u))
    }

    /// The next member list if a change is waiting. `Err(Disconnected)` once the stream has
    /// ended.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// # let party = zkcluster::recipe::Party::new(&client, "/crawlers", "me")?;
    /// let watch = party.watch()?;
    /// if let Ok(members) = watch.try_recv() {
    ///     println!("{:?}", members?);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// `Err(Empty)` when no change is waiting, `Err(Disconnected)` once the stream has ended; the
    /// inner `Err` is a failed re-read of the member list.
    pub fn try_recv(&self) -> std::result::Result<Result<Vec<String>>, TryRecvError> {
        self.children.try_recv().map(|u| self.convert(u))
    }

    /// The party path.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let watch = client.shallow_party("/crawlers", "me")?.watch()?;
    /// assert_eq!(watch.path(), "/crawlers");
    /// # Ok(())
    /// # }
    /// ```
    pub fn path(&self) -> &str {
        self.children.path()
    }
}

impl Iterator for MembershipWatch {
    type Item = Result<Vec<String>>;

    /// Waits for the next member list; `None` once the stream has ended.
    fn next(&mut self) -> Option<Self::Item> {
        let update = self.children.next()?;
        Some(self.convert(update))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shallow_identifiers_follow_the_first_dash() {
        let children = vec![
            "0123456789abcdef0123456789abcdef-worker-1".to_string(),
            "ffff-".to_string(),
            "nodash".to_string(),
        ];
        assert_eq!(shallow_members(&children), ["worker-1", "", "nodash"]);
    }
}
