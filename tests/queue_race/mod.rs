//! What the two queue test binaries share: consumers racing on one queue, Kazoo among them, and
//! the exactly-once check.
#![allow(dead_code)]

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::kazoo::Kazoo;

/// Runs `n` consumers, each with a client of its own, each calling `drain(client, path, taken)`
/// until the queue stays empty; returns every item they took.
pub fn consumers(
    n: usize,
    path: &str,
    drain: fn(&zkcluster::Client, &str, &Mutex<Vec<String>>),
) -> Vec<String> {
    let taken = Arc::new(Mutex::new(Vec::new()));
    let threads: Vec<_> = (0..n)
        .map(|_| {
            let (taken, path) = (taken.clone(), path.to_string());
            std::thread::spawn(move || drain(&crate::common::client(), &path, &taken))
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let taken = taken.lock().unwrap().clone();
    taken
}

/// Starts Kazoo taking (after "go"), then `n` of ours once Kazoo has its first item, so the
/// race happens however fast each side is; returns what each side took (ours, Kazoo's).
/// Kazoo's snippet says `took ITEM` per item and `done` at the end.
pub fn race_with_kazoo(
    mut peer: Kazoo,
    n: usize,
    path: &str,
    drain: fn(&zkcluster::Client, &str, &Mutex<Vec<String>>),
) -> (Vec<String>, Vec<String>) {
    peer.send("go");
    let first = peer.line(Duration::from_secs(30));
    let mut kazoo = vec![first.strip_prefix("took ").expect("Kazoo took an item").to_string()];
    let path_owned = path.to_string();
    let ours = std::thread::spawn(move || consumers(n, &path_owned, drain));
    loop {
        let line = peer.line(Duration::from_secs(60));
        match line.strip_prefix("took ") {
            Some(item) => kazoo.push(item.to_string()),
            None => {
                assert_eq!(line, "done");
                break;
            }
        }
    }
    peer.finish(Duration::from_secs(10));
    let ours = ours.join().unwrap();
    assert!(!ours.is_empty(), "ours took nothing while racing Kazoo");
    (ours, kazoo)
}

pub fn assert_exactly_once(taken: &[String], expected: &HashSet<String>) {
    let unique: HashSet<&String> = taken.iter().collect();
    assert_eq!(unique.len(), taken.len(), "an item was taken twice");
    assert_eq!(taken.len(), expected.len(), "an item was lost");
    assert!(taken.iter().all(|t| expected.contains(t)));
}
