//! Reading and replacing a node's ACL.

use super::data::check;
use super::{Client, Pending};
use crate::path::validate;
use crate::proto::{op, Acl, GetAclResponse, PathRequest, SetAclRequest, Stat, StatResponse};
use crate::session::RawReply;
use crate::{Error, Result};

impl Client {
    /// A node's ACL and metadata (`stat.aversion` is the ACL's version). ZooKeeper 3.8 (at
    /// least) shows the hash of a `digest` id as `x` to sessions without ADMIN on the node.
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
    /// let (acl, stat) = client.get_acl("/config")?;
    /// for entry in &acl {
    ///     println!("{}:{} may do {:#b}", entry.id.scheme, entry.id.id, entry.perms);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_acl(&self, path: &str) -> Result<(Vec<Acl>, Stat)> {
        self.get_acl_async(path).wait()
    }

    /// [`get_acl`](Self::get_acl) without waiting.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let (acl, _stat) = client.get_acl_async("/config").wait()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_acl_async(&self, path: &str) -> Pending<(Vec<Acl>, Stat)> {
        if let Err(e) = validate(path, false) {
            return Pending::failed(e);
        }
        let body = PathRequest { path: self.shared().server_path(path) };
        let client = self.clone();
        let requested = path.to_string();
        self.call("get_acl", path, op::GET_ACL, &body, None, move |reply: RawReply, _| {
            check(&reply, "get_acl", &requested)?;
            let found: GetAclResponse = client.decode(&reply, "get_acl", &requested)?;
            Ok((found.acl, found.stat))
        })
    }

    /// Replaces a node's ACL if its ACL version (`stat.aversion`) is `version` (any when `None`);
    /// returns the new metadata. Changing an ACL needs the ADMIN permission: without it the call
    /// fails with an error for which `is_no_auth()` is true.
    ///
    /// # Errors
    ///
    /// [`InvalidPath`](crate::Error::InvalidPath) for a malformed path (nothing is sent);
    /// [`Server`](crate::Error::Server) when the server refuses it (`is_no_node()`,
    /// `is_bad_version()`, `is_no_auth()`, an invalid ACL); [`Timeout`](crate::Error::Timeout),
    /// [`ConnectionLoss`](crate::Error::ConnectionLoss),
    /// [`SessionExpired`](crate::Error::SessionExpired) or [`Closed`](crate::Error::Closed) when
    /// the call could not complete.
    ///
    /// ```no_run
    /// use zkcluster::{Acl, Client, Perms};
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = Client::connect("127.0.0.1:2181")?;
    /// client.add_auth("digest", "admin:secret")?;
    /// let acl = vec![Acl::digest("admin", "secret", Perms::ALL), Acl::anyone(Perms::READ)];
    /// let stat = client.set_acl("/config", &acl, None)?;
    /// assert_eq!(stat.aversion, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_acl(&self, path: &str, acl: &[Acl], version: Option<i32>) -> Result<Stat> {
        self.set_acl_async(path, acl, version).wait()
    }

    /// [`set_acl`](Self::set_acl) without waiting.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let stat = client.set_acl_async("/config", &zkcluster::Acl::read_unsafe(), None).wait()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_acl_async(&self, path: &str, acl: &[Acl], version: Option<i32>) -> Pending<Stat> {
        if let Err(e) = validate(path, false) {
            return Pending::failed(e);
        }
        if acl.is_empty() {
            return Pending::failed(Error::InvalidArgument {
                path: path.to_string(),
                reason: "an ACL needs at least one entry".to_string(),
            });
        }
        let body = SetAclRequest {
            path: self.shared().server_path(path),
            acl: acl.to_vec(),
            version: version.unwrap_or(-1),
        };
        let client = self.clone();
        let requested = path.to_string();
        self.call("set_acl", path, op::SET_ACL, &body, None, move |reply: RawReply, _| {
            check(&reply, "set_acl", &requested)?;
            Ok(client.decode::<StatResponse>(&reply, "set_acl", &requested)?.stat)
        })
    }
}
