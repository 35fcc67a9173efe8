//! Transactions (the multi opcode) and batched reads (multiRead).

use super::data::check;
use super::{Client, CreateMode, CreateOptions, Pending, ZookeeperNode};
use crate::path::{validate, validate_value};
use crate::proto::{
    decode_multi, decode_multi_read, op, CheckVersionRequest, CreateRequest, CreateTtlRequest,
    DeleteRequest, ErrorCode, MultiOp, MultiReadOp, MultiReadResult, MultiResult, Reader,
    SetDataRequest, Stat,
};
use crate::recipe::Fence;
use crate::session::RawReply;
use crate::{Error, Result};

/// Write operations committed together: all of them or none (ZooKeeper's `multi`). Built by
/// [`Client::transaction`].
///
/// ```no_run
/// use zkcluster::{Client, CreateOptions, OpResult};
/// # fn main() -> zkcluster::Result<()> {
/// let client = Client::connect("127.0.0.1:2181")?;
/// let config = client.get_node("/config")?;
/// let results = client
///     .transaction()
///     .check("/config", config.stat.version) // nobody changed it since we read it
///     .create("/config/history-", config.value, &CreateOptions::new().sequential())
///     .set_data("/config", "new", None)
///     .delete("/config/draft", None)
///     .commit()?;
/// if let OpResult::Created { path, .. } = &results[1] {
///     println!("archived as {path}");
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
#[must_use = "a transaction does nothing until committed"]
pub struct Transaction<'a> {
    client: &'a Client,
    ops: Vec<TxOp>,
    /// Set by `Guard::transaction`: the commit also checks the guard's nodes exist.
    fence: Option<Fence>,
}

#[derive(Debug, Clone)]
enum TxOp {
    Create { path: String, value: Vec<u8>, options: CreateOptions },
    Delete { path: String, version: Option<i32> },
    SetData { path: String, value: Vec<u8>, version: Option<i32> },
    Check { path: String, version: i32 },
}

impl TxOp {
    fn path(&self) -> &str {
        match self {
            TxOp::Create { path, .. }
            | TxOp::Delete { path, .. }
            | TxOp::SetData { path, .. }
            | TxOp::Check { path, .. } => path,
        }
    }
}

/// The outcome of one operation of a committed [`Transaction`], in the order the operations
/// were added.
///
/// ```no_run
/// use zkcluster::OpResult;
/// # fn main() -> zkcluster::Result<()> {
/// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
/// let results = client.transaction().create("/a", "x", &Default::default()).commit()?;
/// assert!(matches!(&results[0], OpResult::Created { path, .. } if path == "/a"));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OpResult {
    /// A create: the node's path (with its sequence number, if any; without the chroot) and,
    /// when the server reports it, its metadata. (ZooKeeper 3.8 reports it for containers and
    /// TTL nodes, not for the other modes, even though the request asks for it.)
    Created {
        /// The created node's path.
        path: String,
        /// Its metadata, when the server sent it.
        stat: Option<Stat>,
    },
    /// A delete.
    Deleted,
    /// A set_data: the node's new metadata.
    DataSet {
        /// The metadata after the write.
        stat: Stat,
    },
    /// A check that passed.
    Checked,
}

impl Client {
    /// Starts a transaction: operations added to it are sent together by
    /// [`commit`](Transaction::commit) and applied atomically. If any fails, none is applied and
    /// the error ([`Error::Transaction`]) says which one and why.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// match client.transaction().delete("/queue/item-1", None).create("/done/item-1", "", &Default::default()).commit() {
    ///     Ok(_) => println!("moved"),
    ///     Err(zkcluster::Error::Transaction { index, code, path }) => {
    ///         println!("operation {index} on {path} failed with {code}; nothing changed")
    ///     }
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn transaction(&self) -> Transaction<'_> {
        Transaction { client: self, ops: Vec::new(), fence: None }
    }
}

impl<'a> Transaction<'a> {
    /// A transaction whose commit is fenced by a guard (see `recipe/fence.rs`).
    pub(crate) fn fenced(client: &'a Client, fence: Fence) -> Transaction<'a> {
        Transaction { client, ops: Vec::new(), fence: Some(fence) }
    }
}

impl<'a> Transaction<'a> {
    /// Adds a create. Every mode works (containers and TTL nodes need ZooKeeper 3.6+ and, for
    /// TTLs, `extendedTypesEnabled`); the ACL defaults to the client's. `parents` is refused at
    /// commit: a transaction cannot create missing parents.
    ///
    /// ```no_run
    /// use zkcluster::{CreateMode, CreateOptions};
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// client.transaction()
    ///     .create("/jobs", "", &CreateOptions::new())
    ///     .create("/jobs/owner", "me", &CreateOptions::new().mode(CreateMode::Ephemeral))
    ///     .commit()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn create(mut self, path: &str, value: impl AsRef<[u8]>, options: &CreateOptions) -> Self {
        self.ops.push(TxOp::Create {
            path: path.to_string(),
            value: value.as_ref().to_vec(),
            options: options.clone(),
        });
        self
    }

    /// Adds a delete of `path` at `version` (any version when `None`).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// client.transaction().delete("/jobs/owner", None).delete("/jobs", None).commit()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn delete(mut self, path: &str, version: Option<i32>) -> Self {
        self.ops.push(TxOp::Delete { path: path.to_string(), version });
        self
    }

    /// Adds a write of `path`'s data at `version` (any version when `None`).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// client.transaction().set_data("/a", "1", None).set_data("/b", "1", Some(0)).commit()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_data(mut self, path: &str, value: impl AsRef<[u8]>, version: Option<i32>) -> Self {
        self.ops.push(TxOp::SetData {
            path: path.to_string(),
            value: value.as_ref().to_vec(),
            version,
        });
        self
    }

    /// Adds a check that `path` exists with data version `version`; the transaction fails
    /// (`is_bad_version()` or `is_no_node()`) otherwise.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let leader = client.exist_node("/leader")?.expect("a leader");
    /// client.transaction().check("/leader", leader.version).set_data("/config", "v2", None).commit()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn check(mut self, path: &str, version: i32) -> Self {
        self.ops.push(TxOp::Check { path: path.to_string(), version });
        self
    }

    /// The number of operations added so far.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// assert_eq!(client.transaction().check("/a", 0).len(), 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether no operation was added (committing it then returns no results).
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// assert!(client.transaction().is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Sends the operations in one request and waits for the outcome: one [`OpResult`] per
    /// operation, or [`Error::Transaction`] naming the first operation that failed (nothing
    /// was applied). Paths are checked before sending ([`Error::InvalidPath`]).
    ///
    /// # Errors
    ///
    /// [`Transaction`](crate::Error::Transaction) naming the first operation the server refused
    /// (nothing was applied); [`InvalidPath`](crate::Error::InvalidPath) or
    /// [`ValueTooLarge`](crate::Error::ValueTooLarge) for an operation refused before sending;
    /// [`Timeout`](crate::Error::Timeout), [`ConnectionLoss`](crate::Error::ConnectionLoss),
    /// [`SessionExpired`](crate::Error::SessionExpired) or [`Closed`](crate::Error::Closed) when
    /// the call could not complete.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let err = client.transaction().create("/x", "", &Default::default()).check("/missing", 0).commit().unwrap_err();
    /// assert!(err.is_no_node());
    /// assert!(client.exist_node("/x")?.is_none()); // rolled back
    /// # Ok(())
    /// # }
    /// ```
    pub fn commit(self) -> Result<Vec<OpResult>> {
        self.commit_async().wait()
    }

    /// [`commit`](Self::commit) without waiting.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// # let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let a = client.transaction().create("/a", "", &Default::default()).commit_async();
    /// let b = client.transaction().create("/b", "", &Default::default()).commit_async();
    /// a.wait()?;
    /// b.wait()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn commit_async(self) -> Pending<Vec<OpResult>> {
        if let Some(fence) = self.fence {
            if let Some(refused) = fence.refused() {
                return Pending::failed(refused);
            }
            let checks = fence.nodes().iter().map(|n| TxOp::Check { path: n.clone(), version: -1 });
            let ops = checks.chain(self.ops).collect();
            let unfenced = Transaction { client: self.client, ops, fence: None }.commit_async();
            let on_error = fence.clone();
            return unfenced
                .then(move |results| fence.strip(results))
                .recover(move |e| Err(on_error.error(e)));
        }
        let client = self.client;
        let mut wire_ops = Vec::with_capacity(self.ops.len());
        for tx_op in &self.ops {
            match to_wire(client, tx_op) {
                Ok(op) => wire_ops.push(op),
                Err(e) => return Pending::failed(e),
            }
        }
        let paths: Vec<String> = self.ops.iter().map(|o| o.path().to_string()).collect();
        let first = paths.first().cloned().unwrap_or_else(|| "/".to_string());
        let owner = client.clone();
        client.call("multi", &first, op::MULTI, &wire_ops, None, move |reply: RawReply, _| {
            finish_multi(&owner, &reply, &paths)
        })
    }
}

/// The request record of one operation, with the chroot applied.
fn to_wire(client: &Client, tx_op: &TxOp) -> Result<MultiOp> {
    let shared = client.shared();
    Ok(match tx_op {
        TxOp::Create { path, value, options } => {
            validate(path, options.mode.is_sequential())?;
            validate_value(path, value)?;
            if options.parents {
                return Err(Error::InvalidArgument {
                    path: path.clone(),
                    reason:
                        "a transaction cannot create missing parents; add their creates before it"
                            .into(),
                });
            }
            let acl = options.acl.clone().unwrap_or_else(|| client.default_acl().to_vec());
            let (server_path, data, flags) =
                (shared.server_path(path), value.clone(), options.mode.flags());
            match (options.mode, options.mode.ttl()) {
                (CreateMode::Container, _) => {
                    MultiOp::CreateContainer(CreateRequest { path: server_path, data, acl, flags })
                }
                (_, Some(ttl)) => {
                    let ttl = ttl.as_millis().min(i64::MAX as u128) as i64;
                    MultiOp::CreateTtl(CreateTtlRequest {
                        path: server_path,
                        data,
                        acl,
                        flags,
                        ttl,
                    })
                }
                _ => MultiOp::Create2(CreateRequest { path: server_path, data, acl, flags }),
            }
        }
        TxOp::Delete { path, version } => {
            validate(path, false)?;
            if path == "/" {
                return Err(Error::InvalidPath {
                    path: path.clone(),
                    reason: "the root cannot be deleted".into(),
                });
            }
            MultiOp::Delete(DeleteRequest {
                path: shared.server_path(path),
                version: version.unwrap_or(-1),
            })
        }
        TxOp::SetData { path, value, version } => {
            validate(path, false)?;
            validate_value(path, value)?;
            MultiOp::SetData(SetDataRequest {
                path: shared.server_path(path),
                data: value.clone(),
                version: version.unwrap_or(-1),
            })
        }
        TxOp::Check { path, version } => {
            validate(path, false)?;
            MultiOp::Check(CheckVersionRequest {
                path: shared.server_path(path),
                version: *version,
            })
        }
    })
}

fn protocol_error(
    (client, reply): (&Client, &RawReply),
    op: &'static str,
    path: &str,
    reason: String,
) -> Error {
    client.shared().reset(reply.conn, &format!("bad {op} reply: {reason}"));
    Error::Protocol { op, path: path.to_string(), reason }
}

fn finish_multi(client: &Client, reply: &RawReply, paths: &[String]) -> Result<Vec<OpResult>> {
    let first = paths.first().map(String::as_str).unwrap_or("/");
    // Servers answer a failed transaction with err 0 and per-operation errors in the body; a
    // non-zero header (connection-level trouble, or an old server) applies to the whole request.
    if reply.err != 0 && reply.body().is_empty() {
        check(reply, "multi", first)?;
    }
    let results = decode_multi(&mut Reader::new(reply.body()))
        .map_err(|e| protocol_error((client, reply), "multi", first, e.to_string()))?;
    if results.len() != paths.len() {
        let reason = format!("{} results for {} operations", results.len(), paths.len());
        return Err(protocol_error((client, reply), "multi", first, reason));
    }
    // The failing operation carries its own code; the server marks the ones before it Ok and
    // the ones after it RuntimeInconsistency.
    let failed = |skip_inconsistency: bool| {
        results.iter().enumerate().find_map(|(i, r)| match r {
            MultiResult::Error { err } if *err != 0 => {
                let code = ErrorCode::from_i32(*err);
                (!(skip_inconsistency && code == ErrorCode::RuntimeInconsistency))
                    .then_some((i, code))
            }
            _ => None,
        })
    };
    if let Some((index, code)) = failed(true).or_else(|| failed(false)) {
        return Err(Error::Transaction { index, code, path: paths[index].clone() });
    }
    if reply.err != 0 {
        check(reply, "multi", first)?;
    }
    results
        .into_iter()
        .zip(paths)
        .map(|(result, path)| match result {
            MultiResult::Create { path: created } => {
                Ok(OpResult::Created { path: client.shared().user_path(&created), stat: None })
            }
            MultiResult::Create2 { path: created, stat } => Ok(OpResult::Created {
                path: client.shared().user_path(&created),
                stat: Some(stat),
            }),
            MultiResult::Delete => Ok(OpResult::Deleted),
            MultiResult::SetData { stat } => Ok(OpResult::DataSet { stat }),
            MultiResult::Check => Ok(OpResult::Checked),
            MultiResult::Error { .. } => Err(protocol_error(
                (client, reply),
                "multi",
                path,
                "error result with code 0 in a transaction".into(),
            )),
        })
        .collect()
}

/// One read of [`Client::multi_read`].
///
/// ```
/// let reads = [zkcluster::ReadOp::data("/config"), zkcluster::ReadOp::children("/workers")];
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadOp {
    /// Read a node's data and metadata.
    Data(String),
    /// List a node's children.
    Children(String),
}

impl ReadOp {
    /// A read of `path`'s data.
    ///
    /// ```
    /// assert_eq!(zkcluster::ReadOp::data("/a"), zkcluster::ReadOp::Data("/a".into()));
    /// ```
    pub fn data(path: &str) -> ReadOp {
        ReadOp::Data(path.to_string())
    }

    /// A listing of `path`'s children.
    ///
    /// ```
    /// assert_eq!(zkcluster::ReadOp::children("/a"), zkcluster::ReadOp::Children("/a".into()));
    /// ```
    pub fn children(path: &str) -> ReadOp {
        ReadOp::Children(path.to_string())
    }

    fn path(&self) -> &str {
        match self {
            ReadOp::Data(p) | ReadOp::Children(p) => p,
        }
    }
}

/// What one read of [`Client::multi_read`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadResult {
    /// The node, for [`ReadOp::Data`].
    Node(ZookeeperNode),
    /// The children's names, for [`ReadOp::Children`].
    Children(Vec<String>),
}

impl Client {
    /// Several reads in one request and one round trip (ZooKeeper 3.6+). Unlike a transaction
    /// the reads succeed or fail one by one: each has its own result (`is_no_node()` for a
    /// missing node), in the order given. They are not one snapshot: writes may land between them.
    ///
    /// # Errors
    ///
    /// [`InvalidPath`](crate::Error::InvalidPath) for a malformed path (nothing is sent) in any
    /// read (nothing is sent); [`Timeout`](crate::Error::Timeout),
    /// [`ConnectionLoss`](crate::Error::ConnectionLoss),
    /// [`SessionExpired`](crate::Error::SessionExpired) or [`Closed`](crate::Error::Closed) when
    /// the call could not complete. Each read's own failure (such as `is_no_node()`) is its entry's
    /// `Err`, not the call's.
    ///
    /// ```no_run
    /// use zkcluster::{ReadOp, ReadResult};
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let results = client.multi_read(&[ReadOp::data("/config"), ReadOp::children("/workers")])?;
    /// if let Ok(ReadResult::Node(node)) = &results[0] {
    ///     println!("config: {:?}", node.value);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn multi_read(&self, reads: &[ReadOp]) -> Result<Vec<Result<ReadResult>>> {
        self.multi_read_async(reads).wait()
    }

    /// [`multi_read`](Self::multi_read) without waiting.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let results = client.multi_read_async(&[zkcluster::ReadOp::data("/a")]).wait()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn multi_read_async(&self, reads: &[ReadOp]) -> Pending<Vec<Result<ReadResult>>> {
        let mut wire = Vec::with_capacity(reads.len());
        for read in reads {
            if let Err(e) = validate(read.path(), false) {
                return Pending::failed(e);
            }
            let path = self.shared().server_path(read.path());
            wire.push(match read {
                ReadOp::Data(_) => MultiReadOp::GetData { path },
                ReadOp::Children(_) => MultiReadOp::GetChildren { path },
            });
        }
        let reads = reads.to_vec();
        let first = reads.first().map_or("/", ReadOp::path).to_string();
        let client = self.clone();
        self.call(
            "multi_read",
            &first.clone(),
            op::MULTI_READ,
            &wire,
            None,
            move |reply: RawReply, _| {
                check(&reply, "multi_read", &first)?;
                let results = decode_multi_read(&mut Reader::new(reply.body())).map_err(|e| {
                    protocol_error((&client, &reply), "multi_read", &first, e.to_string())
                })?;
                if results.len() != reads.len() {
                    let reason = format!("{} results for {} reads", results.len(), reads.len());
                    return Err(protocol_error((&client, &reply), "multi_read", &first, reason));
                }
                Ok(results
                    .into_iter()
                    .zip(reads)
                    .map(|(result, read)| match (result, read) {
                        (MultiReadResult::Data { data, stat }, ReadOp::Data(path)) => {
                            Ok(ReadResult::Node(ZookeeperNode { path, value: data, stat }))
                        }
                        (MultiReadResult::Children { children }, ReadOp::Children(_)) => {
                            Ok(ReadResult::Children(children))
                        }
                        (MultiReadResult::Error { err }, read) => Err(Error::from_code(
                            ErrorCode::from_i32(err),
                            "multi_read",
                            read.path(),
                        )),
                        (_, read) => Err(Error::Protocol {
                            op: "multi_read",
                            path: read.path().to_string(),
                            reason: "result of another kind than the read".into(),
                        }),
                    })
                    .collect())
            },
        )
    }
}
