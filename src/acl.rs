//! Ready-made ACLs.

use crate::proto::{Acl, Id, Perms};

impl Acl {
    /// Anyone may do anything (`world:anyone`, all permissions): ZooKeeper's `OPEN_ACL_UNSAFE`,
    /// the default for nodes a client creates.
    ///
    /// ```
    /// let acl = zkcluster::Acl::open_unsafe();
    /// assert_eq!(acl[0].id.scheme, "world");
    /// ```
    pub fn open_unsafe() -> Vec<Acl> {
        vec![Acl { perms: Perms::ALL, id: Id { scheme: "world".into(), id: "anyone".into() } }]
    }

    /// Anyone may read, nobody may change (`world:anyone`, read): `READ_ACL_UNSAFE`.
    ///
    /// ```
    /// let acl = zkcluster::Acl::read_unsafe();
    /// assert_eq!(acl[0].perms, 1);
    /// ```
    pub fn read_unsafe() -> Vec<Acl> {
        vec![Acl { perms: Perms::READ, id: Id { scheme: "world".into(), id: "anyone".into() } }]
    }

    /// Only the identities the creating session authenticated as may do anything
    /// (`auth:`, all permissions): `CREATOR_ALL_ACL`. The session must have added auth first.
    ///
    /// ```
    /// let acl = zkcluster::Acl::creator_all();
    /// assert_eq!(acl[0].id.scheme, "auth");
    /// ```
    pub fn creator_all() -> Vec<Acl> {
        vec![Acl { perms: Perms::ALL, id: Id { scheme: "auth".into(), id: String::new() } }]
    }
}
