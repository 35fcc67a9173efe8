//! The chroot of a connect string must exist: checked (or made) right after connecting.
//!
//! ZooKeeper itself accepts a session for a chroot that does not exist and then fails every
//! call with `NoNode`, naming a path the caller never wrote. Curator creates its namespace on
//! first use; we check once at connect and say which chroot is missing, or create it when the
//! builder asked for that ([`ClientBuilder::create_chroot`](super::ClientBuilder::create_chroot)).

use super::data::check;
use super::Client;
use crate::proto::{create_mode, op, CreateRequest};
use crate::{Error, Result};

impl Client {
    /// Fails with [`Error::ChrootMissing`] when the connect string's chroot does not exist, or
    /// creates it (with its missing parents, persistent, with the default ACL) when `create`.
    pub(crate) fn check_chroot(&self, create: bool) -> Result<()> {
        let chroot = self.shared().server_path("/");
        if chroot == "/" || self.exist_node("/")?.is_some() {
            return Ok(());
        }
        if !create {
            return Err(Error::ChrootMissing { chroot });
        }
        // Outside the chroot, so the requests name server paths themselves.
        for (end, _) in chroot.match_indices('/').skip(1).chain([(chroot.len(), "")]) {
            let prefix = chroot[..end].to_string();
            let body = CreateRequest {
                path: prefix.clone(),
                data: Vec::new(),
                acl: self.default_acl().to_vec(),
                flags: create_mode::PERSISTENT,
            };
            let label = prefix.clone();
            let created = self
                .call("create", &label, op::CREATE, &body, None, move |reply, _| {
                    check(&reply, "create", &prefix)
                })
                .wait();
            match created {
                Err(e) if e.is_node_exists() => {}
                other => other?,
            }
        }
        Ok(())
    }
}
