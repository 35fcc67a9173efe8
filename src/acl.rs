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

/// ACL builders beyond ZooKeeper's three constants, in the spirit of Kazoo's `make_acl` and
/// `make_digest_acl`.
impl Acl {
    /// An entry granting `perms` (bits of [`Perms`]) to `scheme:id`, taken as given.
    ///
    /// ```
    /// use zkcluster::{Acl, Perms};
    /// let acl = Acl::new(Perms::READ, "ip", "10.0.0.0/8");
    /// assert_eq!(acl.id.scheme, "ip");
    /// ```
    pub fn new(perms: i32, scheme: &str, id: &str) -> Acl {
        Acl { perms, id: Id { scheme: scheme.to_string(), id: id.to_string() } }
    }

    /// `world:anyone` with `perms`.
    ///
    /// ```
    /// use zkcluster::{Acl, Perms};
    /// assert_eq!(vec![Acl::anyone(Perms::ALL)], Acl::open_unsafe());
    /// ```
    pub fn anyone(perms: i32) -> Acl {
        Acl::new(perms, "world", "anyone")
    }

    /// Whoever the creating session authenticated as (`auth:`), with `perms`.
    ///
    /// ```
    /// use zkcluster::{Acl, Perms};
    /// assert_eq!(vec![Acl::creator(Perms::ALL)], Acl::creator_all());
    /// ```
    pub fn creator(perms: i32) -> Acl {
        Acl::new(perms, "auth", "")
    }

    /// Clients connecting from `address` (an IP address or `address/bits` range), with `perms`.
    ///
    /// ```
    /// use zkcluster::{Acl, Perms};
    /// let acl = Acl::ip("127.0.0.1", Perms::READ);
    /// assert_eq!((acl.id.scheme.as_str(), acl.id.id.as_str()), ("ip", "127.0.0.1"));
    /// ```
    pub fn ip(address: &str, perms: i32) -> Acl {
        Acl::new(perms, "ip", address)
    }

    /// The `digest` user `user` with password `password`, with `perms`. The password is hashed
    /// as the server does ([`digest_id`]); a session gains the identity with
    /// `client.add_auth("digest", "user:password")`.
    ///
    /// ```
    /// use zkcluster::{Acl, Perms};
    /// let acl = Acl::digest("user", "password", Perms::READ | Perms::WRITE);
    /// assert_eq!(acl.id.id, "user:tpUq/4Pn5A64fVZyQ0gOJ8ZWqkY=");
    /// ```
    pub fn digest(user: &str, password: &str, perms: i32) -> Acl {
        Acl::new(perms, "digest", &digest_id(user, password))
    }
}

/// The id the server's `digest` scheme gives `user:password`: `user:` followed by the base64
/// of the SHA-1 of `user:password` (what ZooKeeper's `DigestAuthenticationProvider` and Kazoo's
/// `make_digest_acl_credential` compute).
///
/// ```
/// assert_eq!(zkcluster::digest_id("super", "secret"), "super:lK75jTNcA+U9vtVEw5vB51mj/w4=");
/// ```
pub fn digest_id(user: &str, password: &str) -> String {
    use base64::Engine as _;
    let hash = sha1_smol::Sha1::from(format!("{user}:{password}")).digest().bytes();
    format!("{user}:{}", base64::engine::general_purpose::STANDARD.encode(hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_ids_match_zookeeper() {
        // Computed by ZooKeeper's DigestAuthenticationProvider.generateDigest.
        assert_eq!(digest_id("user", "password"), "user:tpUq/4Pn5A64fVZyQ0gOJ8ZWqkY=");
        assert_eq!(digest_id("super", "secret"), "super:lK75jTNcA+U9vtVEw5vB51mj/w4=");
    }
}
