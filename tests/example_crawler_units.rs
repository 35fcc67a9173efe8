//! The crawler demo's own unit tests (node keys, link extraction, the site's graph).
//!
//! They live in the example's modules; this target compiles those modules into a test crate.
//! The example itself stays a plain example (`test = true` on it would stop `cargo test` from
//! building the binary that `tests/example_crawler.rs` runs).
#![allow(dead_code)]

#[path = "../examples/crawler/layout.rs"]
mod layout;
#[path = "../examples/crawler/links.rs"]
mod links;
#[path = "../examples/crawler/site.rs"]
mod site;
