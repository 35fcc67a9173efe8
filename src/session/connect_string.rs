//! Parsing `host:port[,host:port...][/chroot]`.

use crate::{Error, Result};

/// ZooKeeper's default client port.
const DEFAULT_PORT: u16 = 2181;

/// A parsed connect string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConnectString {
    /// `host:port` for each server, in the order given.
    pub hosts: Vec<String>,
    /// The chroot, without trailing slash; `None` for the root.
    pub chroot: Option<String>,
}

impl ConnectString {
    pub fn parse(input: &str) -> Result<ConnectString> {
        let fail = |reason: &str| {
            Err(Error::InvalidConnectString {
                input: input.to_string(),
                reason: reason.to_string(),
            })
        };
        let (hosts_part, chroot) = match input.find('/') {
            Some(i) => (&input[..i], Some(&input[i..])),
            None => (input, None),
        };
        let chroot = match chroot {
            None | Some("/") => None,
            Some(path) => {
                if let Err(Error::InvalidPath { reason, .. }) = crate::path::validate(path, false) {
                    return fail(&format!("chroot {path:?}: {reason}"));
                }
                Some(path.to_string())
            }
        };
        let mut hosts = Vec::new();
        for entry in hosts_part.split(',').map(str::trim) {
            if entry.is_empty() {
                return fail("empty host entry");
            }
            hosts.push(match split_port(entry) {
                Ok((host, None)) => format!("{host}:{DEFAULT_PORT}"),
                Ok(("", Some(_))) => return fail(&format!("no host in {entry:?}")),
                Ok(_) => entry.to_string(),
                Err(reason) => return fail(&reason),
            });
        }
        Ok(ConnectString { hosts, chroot })
    }
}

/// The host of a `host:port` or `[v6]:port` entry, without the brackets: the name a TLS
/// certificate or a Kerberos service principal is checked against.
#[cfg(any(feature = "tls", feature = "gssapi"))]
pub(super) fn host_of(entry: &str) -> &str {
    let host = split_port(entry).map_or(entry, |(host, _)| host);
    host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host)
}

/// Splits `host[:port]`, `[v6]` or `[v6]:port`, checking the port is a number.
pub(super) fn split_port(entry: &str) -> std::result::Result<(&str, Option<u16>), String> {
    let (host, port) = if let Some(rest) = entry.strip_prefix('[') {
        let end = rest.find(']').ok_or_else(|| format!("unclosed '[' in {entry:?}"))?;
        let after = &rest[end + 1..];
        match after.strip_prefix(':') {
            Some(port) => (&entry[..end + 2], Some(port)),
            None if after.is_empty() => (entry, None),
            None => return Err(format!("unexpected {after:?} after ']' in {entry:?}")),
        }
    } else {
        match entry.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (entry, None),
        }
    };
    match port {
        None => Ok((host, None)),
        Some(p) => match p.parse::<u16>() {
            Ok(0) | Err(_) => Err(format!("invalid port {p:?} in {entry:?}")),
            Ok(port) => Ok((host, Some(port))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hosts_and_chroot() {
        let cs = ConnectString::parse("h1:2181,h2:2182/app/x").unwrap();
        assert_eq!(cs.hosts, vec!["h1:2181", "h2:2182"]);
        assert_eq!(cs.chroot.as_deref(), Some("/app/x"));
        let cs = ConnectString::parse("localhost").unwrap();
        assert_eq!(cs.hosts, vec!["localhost:2181"]);
        assert_eq!(cs.chroot, None);
        assert_eq!(ConnectString::parse("a:1/").unwrap().chroot, None);
        assert_eq!(ConnectString::parse("[::1]:2181").unwrap().hosts, vec!["[::1]:2181"]);
        assert_eq!(ConnectString::parse("[::1]").unwrap().hosts, vec!["[::1]:2181"]);
    }

    #[test]
    #[cfg(any(feature = "tls", feature = "gssapi"))]
    fn the_host_of_an_entry_drops_its_port_and_brackets() {
        assert_eq!(host_of("zk1.example.com:2181"), "zk1.example.com");
        assert_eq!(host_of("[::1]:2181"), "::1");
        assert_eq!(host_of("localhost"), "localhost");
    }

    #[test]
    fn rejects_bad_strings() {
        for bad in
            ["", "a:1,,b:2", "a:notaport", "a:0", "a:70000", ":2181", "a:1/app/", "a:1//x", "[::1"]
        {
            assert!(
                matches!(ConnectString::parse(bad), Err(Error::InvalidConnectString { .. })),
                "{bad:?} should be refused"
            );
        }
    }
}
