//! Sync, ephemeral listing, and the seed calls' missing `*_async` forms.

use super::{Client, CreateOptions, Pending};
use crate::path::validate;
use crate::proto::{op, GetEphemeralsResponse, PathRequest, PathResponse, Stat};
use crate::session::RawReply;
use crate::Result;

use super::data::check;

impl Client {
    /// Waits until the server this client is connected to has caught up with the ensemble's
    /// leader for `path`, so a following read sees every write committed before the call (ZooKeeper's
    /// `sync`). Returns the synced path.
    ///
    /// # Errors
    ///
    /// [`InvalidPath`](crate::Error::InvalidPath) for a malformed path (nothing is sent);
    /// [`Server`](crate::Error::Server) when the server refuses it (`is_no_node()`);
    /// [`Timeout`](crate::Error::Timeout), [`ConnectionLoss`](crate::Error::ConnectionLoss),
    /// [`SessionExpired`](crate::Error::SessionExpired) or [`Closed`](crate::Error::Closed) when
    /// the call could not complete.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// client.sync("/config")?;
    /// let fresh = client.get_node("/config")?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn sync(&self, path: &str) -> Result<String> {
        self.sync_async(path).wait()
    }

    /// [`sync`](Self::sync) without waiting.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let synced = client.sync_async("/config");
    /// let read = client.get_node_async("/config"); // answered after the sync
    /// synced.wait()?;
    /// let node = read.wait()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn sync_async(&self, path: &str) -> Pending<String> {
        if let Err(e) = validate(path, false) {
            return Pending::failed(e);
        }
        let body = PathRequest { path: self.shared().server_path(path) };
        let client = self.clone();
        let requested = path.to_string();
        self.call("sync", path, op::SYNC, &body, None, move |reply: RawReply, _| {
            check(&reply, "sync", &requested)?;
            let synced: PathResponse = client.decode(&reply, "sync", &requested)?;
            Ok(client.shared().user_path(&synced.path))
        })
    }

    /// The paths of this session's ephemeral nodes that start with `prefix` (a string prefix:
    /// `"/workers/w"` matches `/workers/w1` and `/workers/w2/x`), sorted. ZooKeeper 3.6+.
    ///
    /// # Errors
    ///
    /// [`InvalidPath`](crate::Error::InvalidPath) for a malformed path (nothing is sent);
    /// [`Server`](crate::Error::Server) when the server refuses it (an unimplemented operation on
    /// servers before 3.6); [`Timeout`](crate::Error::Timeout),
    /// [`ConnectionLoss`](crate::Error::ConnectionLoss),
    /// [`SessionExpired`](crate::Error::SessionExpired) or [`Closed`](crate::Error::Closed) when
    /// the call could not complete.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// for path in client.get_ephemerals("/")? {
    ///     println!("this session owns {path}");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_ephemerals(&self, prefix: &str) -> Result<Vec<String>> {
        self.get_ephemerals_async(prefix).wait()
    }

    /// [`get_ephemerals`](Self::get_ephemerals) without waiting.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let mine = client.get_ephemerals_async("/workers").wait()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_ephemerals_async(&self, prefix: &str) -> Pending<Vec<String>> {
        if let Err(e) = validate(prefix, false) {
            return Pending::failed(e);
        }
        let server_prefix = self.shared().server_path(prefix);
        let body = PathRequest { path: server_prefix.clone() };
        let client = self.clone();
        let requested = prefix.to_string();
        self.call(
            "get_ephemerals",
            prefix,
            op::GET_EPHEMERALS,
            &body,
            None,
            move |reply: RawReply, _| {
                check(&reply, "get_ephemerals", &requested)?;
                let found: GetEphemeralsResponse =
                    client.decode(&reply, "get_ephemerals", &requested)?;
                let chroot = client.shared().server_path("/");
                let mut paths: Vec<String> = found
                    .ephemerals
                    .iter()
                    // With a chroot, the prefix "/" is the chroot itself as a string, which would
                    // also match siblings such as "/app2/x" for chroot "/app": keep only our tree.
                    .filter(|p| {
                        chroot == "/"
                            || p.as_str() == chroot
                            || p.starts_with(&format!("{chroot}/"))
                    })
                    .filter(|p| p.starts_with(&server_prefix))
                    .map(|p| client.shared().user_path(p))
                    .collect();
                paths.sort();
                Ok(paths)
            },
        )
    }

    /// [`create_node`](Self::create_node) without waiting.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let pending: Vec<_> = (0..10).map(|i| client.create_node_async(&format!("/jobs/{i}"), "new")).collect();
    /// for p in pending {
    ///     p.wait()?;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn create_node_async(&self, path: &str, value: impl AsRef<[u8]>) -> Pending<String> {
        self.create_async(path, value, &CreateOptions::new())
    }

    /// [`set_value_to_node`](Self::set_value_to_node) without waiting.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let a = client.set_value_to_node_async("/a", "1");
    /// let b = client.set_value_to_node_async("/b", "2");
    /// let (a, b): (zkcluster::Stat, zkcluster::Stat) = (a.wait()?, b.wait()?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_value_to_node_async(&self, path: &str, value: impl AsRef<[u8]>) -> Pending<Stat> {
        self.set_data_async(path, value, None)
    }

    /// [`delete_node`](Self::delete_node) without waiting: `false` when there was no node.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let deletes: Vec<_> = ["/a", "/b"].iter().map(|p| client.delete_node_async(p)).collect();
    /// for d in deletes {
    ///     let existed: bool = d.wait()?;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn delete_node_async(&self, path: &str) -> Pending<bool> {
        Pending::then(self.delete_async(path, None), |()| Ok(true)).recover(|e| {
            if e.is_no_node() {
                Ok(false)
            } else {
                Err(e)
            }
        })
    }
}
