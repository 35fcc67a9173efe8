//! The data API beyond the seed's five calls, and the `*_async` forms everything is built on.

use crossbeam_channel::Receiver;

use super::{Client, CreateMode, CreateOptions, Pending, ZookeeperNode};
use crate::path::{self, validate, validate_value};
use crate::proto::{
    op, Create2Response, CreateRequest, CreateResponse, CreateTtlRequest, Decode, DeleteRequest,
    Encode, ErrorCode, GetChildren2Response, GetChildrenResponse, GetDataResponse,
    PathWatchRequest, Reader, SetDataRequest, Stat, StatResponse,
};
use crate::session::{RawReply, WatchKind, WatchedEvent};
use crate::{Error, Result};

/// What a create returns: the path alone (`create`), or the path and the new node's stat
/// (`create_with_stat`, which sends create2 for the plain modes; container and TTL creates
/// always answer with both).
trait CreateOutput: Sized + Send + 'static {
    /// The opcode of a create that is neither a container nor has a TTL.
    const PLAIN_OPCODE: i32;
    fn decode(client: &Client, reply: &RawReply, path: &str) -> Result<Self>;
    /// The same create again, waited for (after making missing parents).
    fn create(client: &Client, path: &str, value: &[u8], options: &CreateOptions) -> Result<Self>;
}

impl CreateOutput for String {
    const PLAIN_OPCODE: i32 = op::CREATE;

    fn decode(client: &Client, reply: &RawReply, path: &str) -> Result<String> {
        let created: CreateResponse = client.decode(reply, "create", path)?;
        Ok(client.shared().user_path(&created.path))
    }

    fn create(
        client: &Client,
        path: &str,
        value: &[u8],
        options: &CreateOptions,
    ) -> Result<String> {
        client.create(path, value, options)
    }
}

impl CreateOutput for (String, Stat) {
    const PLAIN_OPCODE: i32 = op::CREATE2;

    fn decode(client: &Client, reply: &RawReply, path: &str) -> Result<(String, Stat)> {
        let created: Create2Response = client.decode(reply, "create", path)?;
        Ok((client.shared().user_path(&created.path), created.stat))
    }

    fn create(
        client: &Client,
        path: &str,
        value: &[u8],
        options: &CreateOptions,
    ) -> Result<(String, Stat)> {
        client.create_with_stat(path, value, options)
    }
}

/// The server's verdict in a reply header, as an error for `path`.
pub(crate) fn check(reply: &RawReply, op: &'static str, path: &str) -> Result<()> {
    match ErrorCode::from_i32(reply.err) {
        ErrorCode::Ok => Ok(()),
        code => Err(Error::from_code(code, op, path)),
    }
}

impl Client {
    /// Encodes and sends one request; `finish` turns the reply into the result on the caller's
    /// thread. A watch of `kind` on `path` is registered when the reply says it was set.
    pub(crate) fn call<B: Encode, T: 'static>(
        &self,
        op: &'static str,
        path: &str,
        code: i32,
        body: &B,
        watch: Option<WatchKind>,
        finish: impl FnOnce(RawReply, Option<Receiver<WatchedEvent>>) -> Result<T> + Send + 'static,
    ) -> Pending<T> {
        let frame = crate::proto::encode_request(0, code, body);
        let (registration, watch_rx) = match watch {
            Some(kind) => {
                let (tx, rx) = crossbeam_channel::bounded(1);
                (Some((kind, self.shared().server_path(path), tx)), Some(rx))
            }
            None => (None, None),
        };
        match self.shared().send(frame, registration) {
            Ok(waiter) => {
                Pending::sent(waiter, op, path.to_string(), move |reply| finish(reply, watch_rx))
            }
            Err(failure) => Pending::failed(failure.into_error(op, path)),
        }
    }

    /// Decodes a reply body; a body that does not decode resets the connection (the stream can
    /// no longer be trusted) and fails this call.
    pub(crate) fn decode<T: Decode>(
        &self,
        reply: &RawReply,
        op: &'static str,
        path: &str,
    ) -> Result<T> {
        T::decode(&mut Reader::new(reply.body())).map_err(|e| {
            self.shared().reset(reply.conn, &format!("undecodable {op} reply: {e}"));
            Error::Protocol { op, path: path.to_string(), reason: e.to_string() }
        })
    }

    /// Creates a node as `options` say; returns its path (with the sequence number, if any).
    ///
    /// # Errors
    ///
    /// [`InvalidPath`](crate::Error::InvalidPath) for a malformed path (nothing is sent) or
    /// [`ValueTooLarge`](crate::Error::ValueTooLarge); [`Server`](crate::Error::Server) when the
    /// server refuses it (`is_node_exists()`, `is_no_node()` for a missing parent unless
    /// `parents()` was set, `is_no_auth()`, an invalid ACL); [`Timeout`](crate::Error::Timeout),
    /// [`ConnectionLoss`](crate::Error::ConnectionLoss),
    /// [`SessionExpired`](crate::Error::SessionExpired) or [`Closed`](crate::Error::Closed) when
    /// the call could not complete.
    ///
    /// ```no_run
    /// use zkcluster::{Client, CreateMode, CreateOptions};
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = Client::connect("127.0.0.1:2181")?;
    /// let opts = CreateOptions::new().mode(CreateMode::EphemeralSequential).parents();
    /// let path = client.create("/jobs/queue/job-", b"payload", &opts)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn create(
        &self,
        path: &str,
        value: impl AsRef<[u8]>,
        options: &CreateOptions,
    ) -> Result<String> {
        self.create_async(path, value, options).wait()
    }

    /// [`create`](Self::create) without waiting.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let a = client.create_async("/a", b"", &Default::default());
    /// let b = client.create_async("/b", b"", &Default::default());
    /// a.wait()?;
    /// b.wait()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn create_async(
        &self,
        path: &str,
        value: impl AsRef<[u8]>,
        options: &CreateOptions,
    ) -> Pending<String> {
        self.create_as(path, value.as_ref(), options)
    }

    /// Creates a node as `options` say; returns its path and its new [`Stat`] (Kazoo's
    /// `create(..., include_data=True)`, Curator's `storingStatIn`), from the same round trip.
    ///
    /// # Errors
    ///
    /// As [`create`](Self::create).
    ///
    /// ```no_run
    /// use zkcluster::{Client, CreateMode, CreateOptions};
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = Client::connect("127.0.0.1:2181")?;
    /// let opts = CreateOptions::new().mode(CreateMode::Ephemeral);
    /// let (path, stat) = client.create_with_stat("/workers/w1", b"up", &opts)?;
    /// assert_eq!(stat.ephemeral_owner, client.session_id());
    /// # Ok(())
    /// # }
    /// ```
    pub fn create_with_stat(
        &self,
        path: &str,
        value: impl AsRef<[u8]>,
        options: &CreateOptions,
    ) -> Result<(String, Stat)> {
        self.create_with_stat_async(path, value, options).wait()
    }

    /// [`create_with_stat`](Self::create_with_stat) without waiting.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let pending = client.create_with_stat_async("/a", b"", &Default::default());
    /// let (_, stat) = pending.wait()?;
    /// assert_eq!(stat.version, 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn create_with_stat_async(
        &self,
        path: &str,
        value: impl AsRef<[u8]>,
        options: &CreateOptions,
    ) -> Pending<(String, Stat)> {
        self.create_as(path, value.as_ref(), options)
    }

    /// The create behind both forms: `T` says which request a plain create sends and what its
    /// reply becomes.
    fn create_as<T: CreateOutput>(
        &self,
        path: &str,
        value: &[u8],
        options: &CreateOptions,
    ) -> Pending<T> {
        if let Err(e) =
            validate(path, options.mode.is_sequential()).and_then(|()| validate_value(path, value))
        {
            return Pending::failed(e);
        }
        let server_path = self.shared().server_path(path);
        let acl = options.acl.clone().unwrap_or_else(|| self.inner.default_acl.clone());
        let flags = options.mode.flags();
        let client = self.clone();
        let requested = path.to_string();
        // Only a create that may have to make parents needs its value and options again.
        let retry = options
            .parents
            .then(|| (value.to_vec(), CreateOptions { parents: false, ..options.clone() }));
        let finish = move |reply: RawReply, _| match check(&reply, "create", &requested) {
            Err(e) if e.is_no_node() && retry.is_some() => {
                // A parent is missing and the caller asked for parents: make them and retry once
                // (a parent deleted again meanwhile surfaces as NoNode).
                if let Some(parent) = path::parent(&requested) {
                    client.ensure_path(parent)?;
                }
                let (value, options) = retry.unwrap_or_default();
                T::create(&client, &requested, &value, &options)
            }
            Err(e) => Err(e),
            Ok(()) => T::decode(&client, &reply, &requested),
        };
        match options.mode {
            CreateMode::Container => {
                let body = CreateRequest { path: server_path, data: value.to_vec(), acl, flags };
                self.call("create", path, op::CREATE_CONTAINER, &body, None, finish)
            }
            mode => match mode.ttl() {
                Some(ttl) => {
                    let ttl = ttl.as_millis().min(i64::MAX as u128) as i64;
                    let body = CreateTtlRequest {
                        path: server_path,
                        data: value.to_vec(),
                        acl,
                        flags,
                        ttl,
                    };
                    self.call("create", path, op::CREATE_TTL, &body, None, finish)
                }
                None => {
                    let body =
                        CreateRequest { path: server_path, data: value.to_vec(), acl, flags };
                    self.call("create", path, T::PLAIN_OPCODE, &body, None, finish)
                }
            },
        }
    }
}

impl Client {
    /// Reads a node and leaves a one-shot watch on it: the receiver gets one event when the node
    /// changes or is deleted (or the session is lost).
    ///
    /// # Errors
    ///
    /// [`InvalidPath`](crate::Error::InvalidPath) for a malformed path (nothing is sent);
    /// [`Server`](crate::Error::Server) when the server refuses it (`is_no_node()`, `is_no_auth()`;
    /// no watch is left then); [`Timeout`](crate::Error::Timeout),
    /// [`ConnectionLoss`](crate::Error::ConnectionLoss),
    /// [`SessionExpired`](crate::Error::SessionExpired) or [`Closed`](crate::Error::Closed) when
    /// the call could not complete.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let (node, changed) = client.get_node_watch("/config")?;
    /// let event = changed.recv_timeout(std::time::Duration::from_secs(60));
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_node_watch(&self, path: &str) -> Result<(ZookeeperNode, Receiver<WatchedEvent>)> {
        self.get_node_watch_async(path).wait()
    }

    /// [`get_node_watch`](Self::get_node_watch) without waiting. On a missing node it fails
    /// with `is_no_node()` and leaves no watch behind.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let (node, changed) = client.get_node_watch_async("/config").wait()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_node_watch_async(
        &self,
        path: &str,
    ) -> Pending<(ZookeeperNode, Receiver<WatchedEvent>)> {
        Pending::then(self.get_data(path, true), |(node, rx)| {
            Ok((node, rx.unwrap_or_else(crossbeam_channel::never)))
        })
    }

    /// [`get_node`](Self::get_node) without waiting.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let node = client.get_node_async("/a").wait()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_node_async(&self, path: &str) -> Pending<ZookeeperNode> {
        let pending = self.get_data(path, false);
        Pending::then(pending, |(node, _)| Ok(node))
    }

    fn get_data(
        &self,
        path: &str,
        watch: bool,
    ) -> Pending<(ZookeeperNode, Option<Receiver<WatchedEvent>>)> {
        if let Err(e) = validate(path, false) {
            return Pending::failed(e);
        }
        let body = PathWatchRequest { path: self.shared().server_path(path), watch };
        let client = self.clone();
        let requested = path.to_string();
        self.call(
            "get",
            path,
            op::GET_DATA,
            &body,
            watch.then_some(WatchKind::Data),
            move |reply, rx| {
                check(&reply, "get", &requested)?;
                let data: GetDataResponse = client.decode(&reply, "get", &requested)?;
                Ok((ZookeeperNode { path: requested, value: data.data, stat: data.stat }, rx))
            },
        )
    }

    /// A node's metadata (or `None`), leaving a one-shot watch that fires when the node is
    /// created, changed or deleted.
    ///
    /// # Errors
    ///
    /// [`InvalidPath`](crate::Error::InvalidPath) for a malformed path (nothing is sent);
    /// [`Timeout`](crate::Error::Timeout), [`ConnectionLoss`](crate::Error::ConnectionLoss),
    /// [`SessionExpired`](crate::Error::SessionExpired) or [`Closed`](crate::Error::Closed) when
    /// the call could not complete. A missing node is `Ok((None, watch))`: the watch fires when it
    /// is created.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let (stat, event) = client.exist_node_watch("/leader")?;
    /// if stat.is_some() {
    ///     event.recv().ok(); // wait until it goes away
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn exist_node_watch(&self, path: &str) -> Result<(Option<Stat>, Receiver<WatchedEvent>)> {
        self.exist_node_watch_async(path).wait()
    }

    /// [`exist_node_watch`](Self::exist_node_watch) without waiting.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let (stat, event) = client.exist_node_watch_async("/leader").wait()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn exist_node_watch_async(
        &self,
        path: &str,
    ) -> Pending<(Option<Stat>, Receiver<WatchedEvent>)> {
        Pending::then(self.exists(path, true), |(stat, rx)| {
            Ok((stat, rx.unwrap_or_else(crossbeam_channel::never)))
        })
    }

    /// [`exist_node`](Self::exist_node) without waiting.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let checks: Vec<_> = ["/a", "/b"].iter().map(|p| client.exist_node_async(p)).collect();
    /// for c in checks {
    ///     println!("{:?}", c.wait()?.is_some());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn exist_node_async(&self, path: &str) -> Pending<Option<Stat>> {
        Pending::then(self.exists(path, false), |(stat, _)| Ok(stat))
    }

    fn exists(
        &self,
        path: &str,
        watch: bool,
    ) -> Pending<(Option<Stat>, Option<Receiver<WatchedEvent>>)> {
        if let Err(e) = validate(path, false) {
            return Pending::failed(e);
        }
        let body = PathWatchRequest { path: self.shared().server_path(path), watch };
        let client = self.clone();
        let requested = path.to_string();
        self.call(
            "exists",
            path,
            op::EXISTS,
            &body,
            watch.then_some(WatchKind::Exist),
            move |reply, rx| {
                if reply.err == ErrorCode::NoNode.as_i32() {
                    return Ok((None, rx));
                }
                check(&reply, "exists", &requested)?;
                let found: StatResponse = client.decode(&reply, "exists", &requested)?;
                Ok((Some(found.stat), rx))
            },
        )
    }

    /// Sets a node's data if its version is `version` (any version when `None`); returns the
    /// new metadata. A stale version fails with an error for which `is_bad_version()` is true.
    ///
    /// # Errors
    ///
    /// [`InvalidPath`](crate::Error::InvalidPath) for a malformed path (nothing is sent) or
    /// [`ValueTooLarge`](crate::Error::ValueTooLarge); [`Server`](crate::Error::Server) when the
    /// server refuses it (`is_no_node()`, `is_bad_version()` when `version` does not match,
    /// `is_no_auth()`); [`Timeout`](crate::Error::Timeout),
    /// [`ConnectionLoss`](crate::Error::ConnectionLoss),
    /// [`SessionExpired`](crate::Error::SessionExpired) or [`Closed`](crate::Error::Closed) when
    /// the call could not complete.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let node = client.get_node("/counter")?;
    /// let next: u64 = node.value_str()?.parse().unwrap_or(0) + 1;
    /// client.set_data("/counter", next.to_string(), Some(node.stat.version))?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_data(
        &self,
        path: &str,
        value: impl AsRef<[u8]>,
        version: Option<i32>,
    ) -> Result<Stat> {
        self.set_data_async(path, value, version).wait()
    }

    /// [`set_data`](Self::set_data) without waiting.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let stat = client.set_data_async("/a", b"v", None).wait()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_data_async(
        &self,
        path: &str,
        value: impl AsRef<[u8]>,
        version: Option<i32>,
    ) -> Pending<Stat> {
        let value = value.as_ref();
        if let Err(e) = validate(path, false).and_then(|()| validate_value(path, value)) {
            return Pending::failed(e);
        }
        let body = SetDataRequest {
            path: self.shared().server_path(path),
            data: value.to_vec(),
            version: version.unwrap_or(-1),
        };
        let client = self.clone();
        let requested = path.to_string();
        self.call("set", path, op::SET_DATA, &body, None, move |reply, _| {
            check(&reply, "set", &requested)?;
            Ok(client.decode::<StatResponse>(&reply, "set", &requested)?.stat)
        })
    }

    /// Deletes a node if its version is `version` (any version when `None`). Unlike
    /// [`delete_node`](Self::delete_node), a missing node is an error (`is_no_node()`).
    ///
    /// # Errors
    ///
    /// [`InvalidPath`](crate::Error::InvalidPath) for a malformed path (nothing is sent);
    /// [`Server`](crate::Error::Server) when the server refuses it (`is_no_node()`,
    /// `is_bad_version()`, `is_not_empty()`, `is_no_auth()`); [`Timeout`](crate::Error::Timeout),
    /// [`ConnectionLoss`](crate::Error::ConnectionLoss),
    /// [`SessionExpired`](crate::Error::SessionExpired) or [`Closed`](crate::Error::Closed) when
    /// the call could not complete.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let stat = client.exist_node("/a")?.expect("exists");
    /// client.delete("/a", Some(stat.version))?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn delete(&self, path: &str, version: Option<i32>) -> Result<()> {
        self.delete_async(path, version).wait()
    }

    /// [`delete`](Self::delete) without waiting.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// client.delete_async("/a", None).wait()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn delete_async(&self, path: &str, version: Option<i32>) -> Pending<()> {
        if let Err(e) = validate(path, false) {
            return Pending::failed(e);
        }
        if path == "/" {
            return Pending::failed(Error::InvalidPath {
                path: path.into(),
                reason: "the root cannot be deleted".into(),
            });
        }
        let body =
            DeleteRequest { path: self.shared().server_path(path), version: version.unwrap_or(-1) };
        let requested = path.to_string();
        self.call("delete", path, op::DELETE, &body, None, move |reply, _| {
            check(&reply, "delete", &requested)
        })
    }

    /// The names (not paths) of a node's children, in no particular order.
    ///
    /// # Errors
    ///
    /// [`InvalidPath`](crate::Error::InvalidPath) for a malformed path (nothing is sent);
    /// [`Server`](crate::Error::Server) when the server refuses it (`is_no_node()`,
    /// `is_no_auth()`); [`Timeout`](crate::Error::Timeout),
    /// [`ConnectionLoss`](crate::Error::ConnectionLoss),
    /// [`SessionExpired`](crate::Error::SessionExpired) or [`Closed`](crate::Error::Closed) when
    /// the call could not complete.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// for name in client.get_children("/workers")? {
    ///     println!("/workers/{name}");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_children(&self, path: &str) -> Result<Vec<String>> {
        self.get_children_async(path).wait()
    }

    /// [`get_children`](Self::get_children) without waiting.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let children = client.get_children_async("/workers").wait()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_children_async(&self, path: &str) -> Pending<Vec<String>> {
        Pending::then(self.children(path, false), |(children, _)| Ok(children))
    }

    /// The children's names and a one-shot watch that fires when the list changes (or the node
    /// is deleted).
    ///
    /// # Errors
    ///
    /// [`InvalidPath`](crate::Error::InvalidPath) for a malformed path (nothing is sent);
    /// [`Server`](crate::Error::Server) when the server refuses it (`is_no_node()`, `is_no_auth()`;
    /// no watch is left then); [`Timeout`](crate::Error::Timeout),
    /// [`ConnectionLoss`](crate::Error::ConnectionLoss),
    /// [`SessionExpired`](crate::Error::SessionExpired) or [`Closed`](crate::Error::Closed) when
    /// the call could not complete.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let (children, changed) = client.get_children_watch("/workers")?;
    /// changed.recv().ok();
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_children_watch(&self, path: &str) -> Result<(Vec<String>, Receiver<WatchedEvent>)> {
        self.get_children_watch_async(path).wait()
    }

    /// [`get_children_watch`](Self::get_children_watch) without waiting.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let (children, changed) = client.get_children_watch_async("/workers").wait()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_children_watch_async(
        &self,
        path: &str,
    ) -> Pending<(Vec<String>, Receiver<WatchedEvent>)> {
        Pending::then(self.children(path, true), |(c, rx)| {
            Ok((c, rx.unwrap_or_else(crossbeam_channel::never)))
        })
    }

    fn children(
        &self,
        path: &str,
        watch: bool,
    ) -> Pending<(Vec<String>, Option<Receiver<WatchedEvent>>)> {
        if let Err(e) = validate(path, false) {
            return Pending::failed(e);
        }
        let body = PathWatchRequest { path: self.shared().server_path(path), watch };
        let client = self.clone();
        let requested = path.to_string();
        self.call(
            "get_children",
            path,
            op::GET_CHILDREN,
            &body,
            watch.then_some(WatchKind::Child),
            move |reply, rx| {
                check(&reply, "get_children", &requested)?;
                Ok((
                    client
                        .decode::<GetChildrenResponse>(&reply, "get_children", &requested)?
                        .children,
                    rx,
                ))
            },
        )
    }

    /// The children's names and the node's metadata, read together.
    ///
    /// # Errors
    ///
    /// [`InvalidPath`](crate::Error::InvalidPath) for a malformed path (nothing is sent);
    /// [`Server`](crate::Error::Server) when the server refuses it (`is_no_node()`,
    /// `is_no_auth()`); [`Timeout`](crate::Error::Timeout),
    /// [`ConnectionLoss`](crate::Error::ConnectionLoss),
    /// [`SessionExpired`](crate::Error::SessionExpired) or [`Closed`](crate::Error::Closed) when
    /// the call could not complete.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let (children, stat) = client.get_children_with_stat("/workers")?;
    /// assert_eq!(children.len() as i32, stat.num_children);
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_children_with_stat(&self, path: &str) -> Result<(Vec<String>, Stat)> {
        self.get_children_with_stat_async(path).wait()
    }

    /// [`get_children_with_stat`](Self::get_children_with_stat) without waiting.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let (children, stat) = client.get_children_with_stat_async("/workers").wait()?;
    /// assert_eq!(children.len() as i32, stat.num_children);
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_children_with_stat_async(&self, path: &str) -> Pending<(Vec<String>, Stat)> {
        if let Err(e) = validate(path, false) {
            return Pending::failed(e);
        }
        let body = PathWatchRequest { path: self.shared().server_path(path), watch: false };
        let client = self.clone();
        let requested = path.to_string();
        self.call("get_children", path, op::GET_CHILDREN2, &body, None, move |reply, _| {
            check(&reply, "get_children", &requested)?;
            let r: GetChildren2Response = client.decode(&reply, "get_children", &requested)?;
            Ok((r.children, r.stat))
        })
    }

    /// Creates `path` and any missing ancestors (persistent, empty, default ACL); succeeds if
    /// they already exist. Costs one round trip: the creates are pipelined.
    ///
    /// # Errors
    ///
    /// [`InvalidPath`](crate::Error::InvalidPath) for a malformed path (nothing is sent);
    /// [`Server`](crate::Error::Server) when the server refuses it (`is_no_auth()` on a missing
    /// ancestor); [`Timeout`](crate::Error::Timeout),
    /// [`ConnectionLoss`](crate::Error::ConnectionLoss),
    /// [`SessionExpired`](crate::Error::SessionExpired) or [`Closed`](crate::Error::Closed) when
    /// the call could not complete. Nodes that exist already are not an error.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// client.ensure_path("/crawler/frontier/pending")?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn ensure_path(&self, path: &str) -> Result<()> {
        validate(path, false)?;
        let prefixes: Vec<&str> =
            path.match_indices('/').skip(1).map(|(i, _)| &path[..i]).chain([path]).collect();
        let pending: Vec<_> = prefixes
            .iter()
            .filter(|p| **p != "/")
            .map(|p| self.create_async(p, b"", &CreateOptions::new()))
            .collect();
        for p in pending {
            match p.wait() {
                Ok(_) => {}
                Err(e) if e.is_node_exists() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Deletes `path` and everything below it; `false` when it did not exist. Nodes that others
    /// create below it meanwhile are deleted too (it retries a few times), or the call fails
    /// with `is_not_empty()`.
    ///
    /// # Errors
    ///
    /// [`InvalidPath`](crate::Error::InvalidPath) for a malformed path (nothing is sent);
    /// [`Server`](crate::Error::Server) when the server refuses it (`is_no_auth()`; a node
    /// recreated under the tree meanwhile gives `is_not_empty()`);
    /// [`Timeout`](crate::Error::Timeout), [`ConnectionLoss`](crate::Error::ConnectionLoss),
    /// [`SessionExpired`](crate::Error::SessionExpired) or [`Closed`](crate::Error::Closed) when
    /// the call could not complete. A missing node is `Ok(false)`.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// client.delete_recursive("/crawler/old-run")?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn delete_recursive(&self, path: &str) -> Result<bool> {
        validate(path, false)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.delete_tree_once(path) {
                Err(e) if e.is_not_empty() && attempt < 5 => continue,
                other => return other,
            }
        }
    }

    /// Lists the tree level by level (each level's reads pipelined), then deletes it deepest
    /// first in one pipelined burst (the server applies a session's requests in order).
    fn delete_tree_once(&self, root: &str) -> Result<bool> {
        let mut order = vec![root.to_string()];
        let mut level = vec![root.to_string()];
        while !level.is_empty() {
            let listings: Vec<_> =
                level.iter().map(|p| (p.clone(), self.get_children_async(p))).collect();
            level = Vec::new();
            for (parent, listing) in listings {
                match listing.wait() {
                    Ok(children) => level.extend(children.iter().map(|c| path::join(&parent, c))),
                    Err(e) if e.is_no_node() => {
                        if parent == root {
                            return Ok(false);
                        }
                    }
                    Err(e) => return Err(e),
                }
            }
            order.extend(level.iter().cloned());
        }
        let deletes: Vec<_> =
            order.iter().rev().map(|p| (p == root, self.delete_async(p, None))).collect();
        let mut root_existed = true;
        for (is_root, pending) in deletes {
            match pending.wait() {
                Ok(()) => {}
                Err(e) if e.is_no_node() => root_existed &= !is_root,
                Err(e) => return Err(e),
            }
        }
        Ok(root_existed)
    }
}
