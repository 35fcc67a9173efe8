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
    /// use zkcluster::{proto::Perms, Acl};
    /// let acl = Acl::new(Perms::READ, "ip", "10.0.0.0/8");
    /// assert_eq!(acl.id.scheme, "ip");
    /// ```
    pub fn new(perms: i32, scheme: &str, id: &str) -> Acl {
        Acl { perms, id: Id { scheme: scheme.to_string(), id: id.to_string() } }
    }

    /// `world:anyone` with `perms`.
    ///
    /// ```
    /// use zkcluster::{proto::Perms, Acl};
    /// assert_eq!(vec![Acl::anyone(Perms::ALL)], Acl::open_unsafe());
    /// ```
    pub fn anyone(perms: i32) -> Acl {
        Acl::new(perms, "world", "anyone")
    }

    /// Whoever the creating session authenticated as (`auth:`), with `perms`.
    ///
    /// ```
    /// use zkcluster::{proto::Perms, Acl};
    /// assert_eq!(vec![Acl::creator(Perms::ALL)], Acl::creator_all());
    /// ```
    pub fn creator(perms: i32) -> Acl {
        Acl::new(perms, "auth", "")
    }

    /// Clients connecting from `address` (an IP address or `address/bits` range), with `perms`.
    ///
    /// ```
    /// use zkcluster::{proto::Perms, Acl};
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
    /// use zkcluster::{proto::Perms, Acl};
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
    let hash = sha1(format!("{user}:{password}").as_bytes());
    format!("{user}:{}", base64(&hash))
}

/// SHA-1 (FIPS 180-4). Only for ZooKeeper's digest ids, which are defined with it.
fn sha1(message: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0];
    let bit_len = (message.len() as u64).wrapping_mul(8);
    let mut padded = message.to_vec();
    padded.push(0x80);
    while padded.len() % 64 != 56 {
        padded.push(0);
    }
    padded.extend_from_slice(&bit_len.to_be_bytes());
    for block in padded.chunks_exact(64) {
        let mut w = [0u32; 80];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, &wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let t =
                a.rotate_left(5).wrapping_add(f).wrapping_add(e).wrapping_add(k).wrapping_add(wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (hi, v) in h.iter_mut().zip([a, b, c, d, e]) {
            *hi = hi.wrapping_add(v);
        }
    }
    let mut out = [0u8; 20];
    for (chunk, v) in out.chunks_exact_mut(4).zip(h) {
        chunk.copy_from_slice(&v.to_be_bytes());
    }
    out
}

/// Standard base64 (RFC 4648 §4) with padding, as Java's `Base64.getEncoder()` writes it.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn sha1_test_vectors() {
        // FIPS 180 examples and the usual extra ones.
        assert_eq!(hex(&sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(hex(&sha1(b"abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(
            hex(&sha1(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        );
        assert_eq!(
            hex(&sha1(b"The quick brown fox jumps over the lazy dog")),
            "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12"
        );
        assert_eq!(hex(&sha1(&vec![b'a'; 1_000_000])), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
        // Lengths around the padding boundary (55, 56, 64 bytes).
        assert_eq!(hex(&sha1(&[b'a'; 55])), "c1c8bbdc22796e28c0e15163d20899b65621d65a");
        assert_eq!(hex(&sha1(&[b'a'; 56])), "c2db330f6083854c99d4b5bfb6e8f29f201be699");
        assert_eq!(hex(&sha1(&[b'a'; 64])), "0098ba824b5c16427bd7a1122a5a442a25ec644d");
    }

    #[test]
    fn base64_test_vectors() {
        // RFC 4648 §10.
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), expected);
        }
        assert_eq!(base64(&[0xff, 0xfe, 0xfd]), "//79");
    }

    #[test]
    fn digest_ids_match_zookeeper() {
        // Computed by ZooKeeper's DigestAuthenticationProvider.generateDigest.
        assert_eq!(digest_id("user", "password"), "user:tpUq/4Pn5A64fVZyQ0gOJ8ZWqkY=");
        assert_eq!(digest_id("super", "secret"), "super:lK75jTNcA+U9vtVEw5vB51mj/w4=");
    }
}
