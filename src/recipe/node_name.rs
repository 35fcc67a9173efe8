//! Names of lock and lease nodes, as Kazoo writes and reads them.
//!
//! A lock contender is a child of the lock path named `<uuid><marker><sequence>`: 32 lowercase
//! hex digits of a random uuid, the marker (`__lock__` for a writer, `__rlock__` for a reader),
//! and the 10-digit sequence number ZooKeeper appends (with a leading `-` once a parent's
//! counter has wrapped). Only children whose name *ends* in a marker followed by such a sequence
//! take part in the queue; anything else under the lock path is ignored. The queue is ordered by
//! the sequence suffix alone (the uuid in front exists only to find our own node again after a
//! connection loss).
//!
//! # Order near the 2^31 wrap
//!
//! Kazoo compares the suffix *as a string* (`"-0000000003" < "0000000001"`, and among negative
//! suffixes `"-0000000001" < "-2147483648"`), not as a number. A parent's counter runs
//! `2147483647, -2147483648, -2147483647, ..., -0000000001, 0000000000`, so past the wrap the
//! two orders differ. We order exactly as Kazoo does, so a fleet mixing both agrees on one
//! queue and one holder; the number is kept only for display. (Near the wrap that shared order
//! is not creation order, for Kazoo and us alike: a node created after the wrap can sort ahead
//! of one already holding the lock. The fencing token, a zxid, still increases.)
//!
//! Everything here is pure and never panics on names coming from the server.

use std::cmp::Ordering;

/// Marker of an exclusive (write) lock node: Kazoo's `Lock` and `WriteLock`.
pub(crate) const WRITE_MARKER: &str = "__lock__";
/// Marker of a shared (read) lock node: Kazoo's `ReadLock`.
pub(crate) const READ_MARKER: &str = "__rlock__";
/// Suffix of the inner lock path of a semaphore (`<semaphore path>-__lock__`).
pub(crate) const SEMAPHORE_LOCK_SUFFIX: &str = "-__lock__";

/// Which side of a read/write lock a node is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LockKind {
    /// `__rlock__`: shares the lock with other readers.
    Read,
    /// `__lock__`: excludes everyone.
    Write,
}

impl LockKind {
    pub(crate) fn marker(self) -> &'static str {
        match self {
            LockKind::Read => READ_MARKER,
            LockKind::Write => WRITE_MARKER,
        }
    }

    /// Whether a node of this kind must wait for an earlier node of kind `other`.
    fn waits_for(self, other: LockKind) -> bool {
        match self {
            LockKind::Write => true,
            LockKind::Read => other == LockKind::Write,
        }
    }
}

/// A child of the lock path that takes part in the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Contender<'a> {
    pub name: &'a str,
    pub kind: LockKind,
    pub sequence: i64,
    /// The suffix as written (`-?` and 10 digits): what the queue is ordered by, like Kazoo.
    pub suffix: &'a str,
}

impl Contender<'_> {
    /// Queue order: Kazoo's string comparison of the suffix, then the name (only equal after a
    /// counter went all the way round, which no live queue reaches).
    fn queue_cmp(&self, other: &Contender<'_>) -> Ordering {
        self.suffix.cmp(other.suffix).then_with(|| self.name.cmp(other.name))
    }
}

/// 32 lowercase hex digits of a random (version 4) uuid, as Kazoo's `uuid.uuid4().hex`: what
/// tells our nodes from everyone else's.
///
/// The bytes come from the operating system's random source; should it fail (it practically
/// never does), from the thread's `fastrand` generator, so a lock can still be taken.
pub(crate) fn uuid_hex() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::getrandom(&mut bytes).is_err() {
        bytes = fastrand::u128(..).to_be_bytes();
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
    bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses a child name: `Some` when it ends in a marker and a 10-digit (possibly negative)
/// sequence number, as Kazoo's `(?:__lock__|__rlock__)(-?\d{10})$` matches.
pub(crate) fn parse(name: &str) -> Option<Contender<'_>> {
    let digits_at = name.len().checked_sub(10)?;
    let digits = name.get(digits_at..)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let head = name.get(..digits_at)?;
    let (head, negative) = match head.strip_suffix('-') {
        Some(rest) => (rest, true),
        None => (head, false),
    };
    let suffix = name.get(head.len()..)?;
    let kind = if head.ends_with(WRITE_MARKER) {
        LockKind::Write
    } else if head.ends_with(READ_MARKER) {
        LockKind::Read
    } else {
        return None;
    };
    let value: i64 = digits.parse().ok()?;
    Some(Contender { name, kind, sequence: if negative { -value } else { value }, suffix })
}

/// The queue: every contender among `children`, ordered by sequence number.
pub(crate) fn queue(children: &[String]) -> Vec<Contender<'_>> {
    let mut contenders: Vec<Contender<'_>> = children.iter().filter_map(|c| parse(c)).collect();
    contenders.sort_by(|a, b| a.queue_cmp(b));
    contenders
}

/// Where our node stands among `children`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Position<'a> {
    /// Our node is not among the children (it was deleted, or its session ended).
    Missing,
    /// Nobody we must wait for is ahead of us: we hold the lock.
    Holder,
    /// We must wait until every node in `ahead` (the lower children we conflict with, nearest
    /// first: `ahead[0]` is the predecessor Kazoo watches) is gone. None can join them later
    /// (see [`may_skip_relisting`]), so once they are all gone we hold the lock without
    /// looking again.
    After { ahead: Vec<&'a str> },
}

/// Decides whether the node `ours` (a child name) holds the lock. A writer waits for the lower
/// nodes of either kind, a reader for the lower writers; higher sequences are never considered
/// (a reader that looked at them could deadlock, Kazoo issue #649). "Lower" is Kazoo's order
/// (see the module docs).
pub(crate) fn position<'a>(children: &'a [String], ours: &str) -> Position<'a> {
    let Some(me) = parse(ours) else {
        return Position::Missing;
    };
    if !children.iter().any(|c| c == ours) {
        return Position::Missing;
    }
    let mut ahead: Vec<Contender<'a>> = children
        .iter()
        .filter_map(|c| parse(c))
        .filter(|c| c.name != ours && c.suffix < me.suffix && me.kind.waits_for(c.kind))
        .collect();
    if ahead.is_empty() {
        return Position::Holder;
    }
    ahead.sort_by(|a, b| b.queue_cmp(a));
    Position::After { ahead: ahead.iter().map(|c| c.name).collect() }
}

/// Whether a waiter that saw every node ahead of it go may take the lock without listing again.
/// True unless its suffix is near or past the counter's wrap, where a node created later can
/// sort ahead of it (then it lists again, as Kazoo always does).
pub(crate) fn may_skip_relisting(ours: &str) -> bool {
    const WRAP_GUARD: i64 = 2_000_000_000;
    parse(ours).is_some_and(|c| (0..WRAP_GUARD).contains(&c.sequence))
}

/// The names of the contenders holding the lock now, in queue order: the first writer alone if
/// it heads the queue, otherwise every reader ahead of the first writer.
pub(crate) fn holders<'a>(queue: &[Contender<'a>]) -> Vec<&'a str> {
    match queue.first() {
        None => Vec::new(),
        Some(first) if first.kind == LockKind::Write => vec![first.name],
        Some(_) => queue.iter().take_while(|c| c.kind == LockKind::Read).map(|c| c.name).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    const U: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn uuid_is_32_lowercase_hex_and_unique() {
        let a = uuid_hex();
        let b = uuid_hex();
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)));
        assert_ne!(a, b);
        // Python's uuid.UUID(hex) reads it as a version 4 uuid.
        assert_eq!(&a[12..13], "4");
        assert!("89ab".contains(&a[16..17]));
    }

    #[test]
    fn parses_kazoo_names() {
        let w = format!("{U}__lock__0000000042");
        let r = format!("{U}__rlock__0000000007");
        assert_eq!(parse(&w).map(|c| (c.kind, c.sequence)), Some((LockKind::Write, 42)));
        assert_eq!(parse(&r).map(|c| (c.kind, c.sequence)), Some((LockKind::Read, 7)));
        // Kazoo only needs the marker right before the digits.
        assert_eq!(parse("x__lock__0000000001").map(|c| c.sequence), Some(1));
    }

    #[test]
    fn parses_negative_sequences() {
        let n = format!("{U}__lock__-0000000003");
        assert_eq!(parse(&n).map(|c| (c.kind, c.sequence)), Some((LockKind::Write, -3)));
        let r = format!("{U}__rlock__-2147483648");
        assert_eq!(parse(&r).map(|c| c.sequence), Some(-2147483648));
        let children = names(&[&format!("a{U}__lock__0000000001"), &n]);
        let q = queue(&children);
        assert_eq!(q[0].sequence, -3);
        assert_eq!(q[1].sequence, 1);
    }

    /// Kazoo 2.11 orders by the suffix string (`contender_sequence < node_sequence` and
    /// `sorted(..., key=lambda m: m.groups())` in kazoo/recipe/lock.py): around the wrap the
    /// counter runs 2147483647, -2147483648, ..., -0000000001, 0000000000, and the queue is
    /// -0000000001, ..., -2147483648, 0000000000, ..., 2147483647.
    #[test]
    fn orders_like_kazoo_across_the_wrap() {
        let created = [
            "a__lock__2147483646",
            "b__lock__2147483647",
            "c__rlock__-2147483648",
            "d__lock__-2147483647",
            "e__lock__-0000000001",
            "f__lock__0000000000",
            "g__rlock__0000000001",
        ];
        let children = names(&created);
        let order: Vec<&str> = queue(&children).iter().map(|c| c.name).collect();
        assert_eq!(
            order,
            [
                "e__lock__-0000000001",
                "d__lock__-2147483647",
                "c__rlock__-2147483648",
                "f__lock__0000000000",
                "g__rlock__0000000001",
                "a__lock__2147483646",
                "b__lock__2147483647",
            ]
        );
        // Everyone agrees on the holder and each one's predecessor, as Kazoo computes them.
        assert_eq!(position(&children, "e__lock__-0000000001"), Position::Holder);
        assert_eq!(
            position(&children, "c__rlock__-2147483648"),
            Position::After { ahead: vec!["d__lock__-2147483647", "e__lock__-0000000001"] }
        );
        assert_eq!(
            position(&children, "b__lock__2147483647"),
            Position::After {
                ahead: vec![
                    "a__lock__2147483646",
                    "g__rlock__0000000001",
                    "f__lock__0000000000",
                    "c__rlock__-2147483648",
                    "d__lock__-2147483647",
                    "e__lock__-0000000001",
                ]
            }
        );
        assert_eq!(
            position(&children, "g__rlock__0000000001"),
            Position::After {
                ahead: vec!["f__lock__0000000000", "d__lock__-2147483647", "e__lock__-0000000001"]
            }
        );
        assert_eq!(holders(&queue(&children)), vec!["e__lock__-0000000001"]);
        // Near and past the wrap a waiter always lists again.
        assert!(may_skip_relisting("x__lock__0000000042"));
        assert!(!may_skip_relisting("b__lock__2147483647"));
        assert!(!may_skip_relisting("e__lock__-0000000001"));
    }

    #[test]
    fn ignores_foreign_names() {
        for bad in [
            "",
            "0000000001",
            "lease-0000000001",
            "__lock__000000001",   // 9 digits
            "__lock__00000000012", // 11 digits
            "__lock__0000000001x",
            "__lock__--000000001",
            "__lock__ 000000001",
            "__LOCK__0000000001",
            "__lock__+000000001",
            "__lock__\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}",
            "\u{e9}0000000001",
            "0123456789abcdef0123456789abcdef", // a semaphore lease
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn writer_waits_for_nearest_lower_of_any_kind() {
        let children =
            names(&["a__lock__0000000001", "b__rlock__0000000002", "c__lock__0000000003", "junk"]);
        assert_eq!(position(&children, "a__lock__0000000001"), Position::Holder);
        assert_eq!(
            position(&children, "c__lock__0000000003"),
            Position::After { ahead: vec!["b__rlock__0000000002", "a__lock__0000000001"] }
        );
        assert_eq!(position(&children, "d__lock__0000000004"), Position::Missing);
    }

    #[test]
    fn reader_waits_only_for_lower_writers() {
        let children = names(&[
            "r1__rlock__0000000001",
            "w__lock__0000000002",
            "r2__rlock__0000000003",
            "r3__rlock__0000000004",
            "w2__lock__0000000005",
        ]);
        assert_eq!(position(&children, "r1__rlock__0000000001"), Position::Holder);
        assert_eq!(
            position(&children, "r2__rlock__0000000003"),
            Position::After { ahead: vec!["w__lock__0000000002"] }
        );
        assert_eq!(
            position(&children, "r3__rlock__0000000004"),
            Position::After { ahead: vec!["w__lock__0000000002"] }
        );
        // Readers never look at higher sequences.
        let readers = names(&["r1__rlock__0000000001", "w__lock__0000000009"]);
        assert_eq!(position(&readers, "r1__rlock__0000000001"), Position::Holder);
    }

    #[test]
    fn holders_of_a_queue() {
        let children = names(&[
            "r__rlock__0000000001",
            "s__rlock__0000000002",
            "w__lock__0000000003",
            "t__rlock__4444444444",
        ]);
        let q = queue(&children);
        assert_eq!(holders(&q), vec!["r__rlock__0000000001", "s__rlock__0000000002"]);
        let children = names(&["w__lock__0000000003", "r__rlock__0000000004"]);
        assert_eq!(holders(&queue(&children)), vec!["w__lock__0000000003"]);
        assert!(holders(&[]).is_empty());
    }
}
