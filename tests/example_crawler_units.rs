//! The crawler demo's own unit tests (node keys, link extraction, the site's graph).
//!
//! They live in the example's modules; this target compiles those modules into a test crate.
//! The example itself stays a plain example (`test = true` on it would stop `cargo test` from
//! building the binary that `tests/example_crawler.rs` runs).
#![allow(dead_code)]

#[path = "../examples/crawler/fetch.rs"]
mod fetch;
#[path = "../examples/crawler/layout.rs"]
mod layout;
#[path = "../examples/crawler/links.rs"]
mod links;
#[path = "../examples/crawler/site.rs"]
mod site;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A site whose first answer is a dropped connection: the fetcher's retry must ask again
/// whether it may send (a worker woken from a long stop has lost its politeness lease, and a
/// retry sent anyway breaks politeness for every other crawler of that domain).
#[test]
fn a_retry_is_sent_only_while_the_lease_lasts() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let url = format!("http://{}/p/1.html", listener.local_addr().expect("its address"));
    let arrived = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&arrived);
    let site = std::thread::spawn(move || {
        for stream in listener.incoming().take(2) {
            let mut stream = stream.expect("a connection");
            let mut request = [0u8; 1024];
            let _ = stream.read(&mut request);
            if counter.fetch_add(1, Ordering::SeqCst) > 0 {
                let body = "<html></html>";
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            } // the first connection closes unanswered
        }
    });
    let fetcher = fetch::Fetcher::new("rust-test");

    let asked = AtomicUsize::new(0);
    let fetched = fetcher.get(&url, || asked.fetch_add(1, Ordering::SeqCst) == 0);
    assert!(fetched.is_none(), "the retry must not go out once the lease is uncertain");
    assert_eq!(asked.load(Ordering::SeqCst), 2, "asked before each attempt");
    assert_eq!(arrived.load(Ordering::SeqCst), 1, "only the first attempt reached the site");

    let fetched = fetcher.get(&url, || true).expect("allowed to send");
    assert_eq!(fetched.status, 200);
    site.join().expect("site thread");
}
