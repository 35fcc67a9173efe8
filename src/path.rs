//! ZooKeeper's path rules, checked before anything is sent.

use crate::{Error, Result};

/// The largest value we send: ZooKeeper's default `jute.maxbuffer` (1 MiB) less room for the
/// request's other fields, so a value we accept is never refused by a default server.
pub(crate) const MAX_VALUE_LEN: usize = 1024 * 1024 - 1024;

/// Checks `path` with the rules ZooKeeper's server applies. A sequential create may end in `/`
/// (the server appends the sequence number), so `sequential` relaxes that one rule.
pub(crate) fn validate(path: &str, sequential: bool) -> Result<()> {
    let fail = |reason: &str| {
        Err(Error::InvalidPath { path: path.to_string(), reason: reason.to_string() })
    };
    if path.is_empty() {
        return fail("path must not be empty");
    }
    if !path.starts_with('/') {
        return fail("path must start with '/'");
    }
    if path.len() == 1 {
        return if sequential {
            fail("a sequential node needs a name below the root")
        } else {
            Ok(())
        };
    }
    if path.ends_with('/') && !sequential {
        return fail("path must not end with '/'");
    }
    for (i, segment) in path.split('/').enumerate().skip(1) {
        let last = i == path.split('/').count() - 1;
        if segment.is_empty() && !(last && sequential) {
            return fail("empty node name (two '/' in a row)");
        }
        if segment == "." || segment == ".." {
            return fail("'.' and '..' are not allowed as node names (paths are absolute)");
        }
    }
    if let Some(c) = path.chars().find(|&c| is_disallowed(c)) {
        return if c == '\0' {
            fail("NUL character is not allowed")
        } else {
            Err(Error::InvalidPath {
                path: path.to_string(),
                reason: format!("character U+{:04X} is not allowed", c as u32),
            })
        };
    }
    Ok(())
}

/// Characters ZooKeeper rejects in paths: NUL, control characters, the private-use area and
/// the last block of the Basic Multilingual Plane.
fn is_disallowed(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{e000}'..='\u{f8ff}' | '\u{fff0}'..='\u{ffff}')
}

/// Checks a value's size.
pub(crate) fn validate_value(path: &str, value: &[u8]) -> Result<()> {
    if value.len() > MAX_VALUE_LEN {
        return Err(Error::ValueTooLarge {
            path: path.to_string(),
            len: value.len(),
            limit: MAX_VALUE_LEN,
        });
    }
    Ok(())
}

/// The parent of an absolute path (`None` for the root).
pub(crate) fn parent(path: &str) -> Option<&str> {
    match path.rfind('/') {
        Some(0) if path.len() > 1 => Some("/"),
        Some(0) | None => None,
        Some(i) => Some(&path[..i]),
    }
}

/// `parent` + "/" + `child`, without doubling the slash under the root.
pub(crate) fn join(parent: &str, child: &str) -> String {
    if parent == "/" {
        format!("/{child}")
    } else {
        format!("{parent}/{child}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(path: &str, sequential: bool) -> String {
        match validate(path, sequential) {
            Err(Error::InvalidPath { reason, .. }) => reason,
            other => panic!("{path:?}: expected InvalidPath, got {other:?}"),
        }
    }

    #[test]
    fn accepts_valid_paths() {
        for p in ["/", "/a", "/a/b", "/a-b_c.d", "/é/ünïcode", "/a/.b", "/..a"] {
            validate(p, false).unwrap_or_else(|e| panic!("{p}: {e}"));
        }
        validate("/queue/", true).unwrap();
        validate("/queue/item-", true).unwrap();
    }

    #[test]
    fn names_the_broken_rule() {
        assert!(reason("", false).contains("empty"));
        assert!(reason("a/b", false).contains("start with '/'"));
        assert!(reason("/a/", false).contains("end with '/'"));
        assert!(reason("/a//b", false).contains("two '/'"));
        assert!(reason("/a/./b", false).contains("'.'"));
        assert!(reason("/a/..", false).contains("'..'"));
        assert!(reason("/a\0b", false).contains("NUL"));
        assert!(reason("/a\u{1}b", false).contains("U+0001"));
        assert!(reason("/a\u{e000}", false).contains("U+E000"));
        assert!(reason("/a\u{fff5}", false).contains("U+FFF5"));
        assert!(reason("/", true).contains("below the root"));
    }

    #[test]
    fn parents_and_joins() {
        assert_eq!(parent("/a/b"), Some("/a"));
        assert_eq!(parent("/a"), Some("/"));
        assert_eq!(parent("/"), None);
        assert_eq!(join("/", "a"), "/a");
        assert_eq!(join("/a", "b"), "/a/b");
    }

    #[test]
    fn refuses_oversized_values() {
        assert!(validate_value("/a", &vec![0; MAX_VALUE_LEN]).is_ok());
        assert!(matches!(
            validate_value("/a", &vec![0; MAX_VALUE_LEN + 1]),
            Err(Error::ValueTooLarge { len, .. }) if len == MAX_VALUE_LEN + 1
        ));
    }
}
