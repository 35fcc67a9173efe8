//! The synthetic web site the demo crawls: pages spread over a few domains, linked so every
//! page is reachable from the seeds, fetched with simulated latency. It also measures what
//! the crawl must guarantee: how often each page was fetched and how many fetches ran at once
//! per domain.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

pub struct Page {
    pub domain: usize,
    pub links: Vec<usize>,
}

pub struct Site {
    pub pages: Vec<Page>,
    pub domains: usize,
    fetches: Vec<AtomicU32>,
    in_flight: Vec<AtomicU32>,
    max_in_flight: Vec<AtomicU32>,
    rng: AtomicU64,
}

impl Site {
    /// `pages` pages over `domains` domains; the same seed gives the same site (so separate
    /// processes crawl the same one).
    pub fn generate(pages: usize, domains: usize, seed: u64) -> Site {
        let mut rng = seed | 1;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let pages: Vec<Page> = (0..pages)
            .map(|i| {
                // Page i links to page i + 1 (so all are reachable from page 0 onwards) and to a
                // few random others, as real sites do.
                let mut links: Vec<usize> =
                    (0..3).map(|_| (next() % pages as u64) as usize).collect();
                if i + 1 < pages {
                    links.push(i + 1);
                }
                links.retain(|&l| l != i);
                links.sort_unstable();
                links.dedup();
                Page { domain: i % domains, links }
            })
            .collect();
        let counters = |n: usize| -> Vec<AtomicU32> { (0..n).map(|_| AtomicU32::new(0)).collect() };
        Site {
            fetches: counters(pages.len()),
            in_flight: counters(domains),
            max_in_flight: counters(domains),
            pages,
            domains,
            rng: AtomicU64::new(seed | 1),
        }
    }

    pub fn url(&self, page: usize) -> String {
        format!("http://domain{}.example/page/{page}", self.pages[page].domain)
    }

    /// "Downloads" a page: takes `latency` (± half) and returns its links, or `None` when
    /// `interrupted` (called with the time the download takes) says it was cut short.
    pub fn fetch(
        &self,
        page: usize,
        latency: Duration,
        interrupted: impl FnOnce(Duration) -> bool,
    ) -> Option<&[usize]> {
        let domain = self.pages[page].domain;
        let now = self.in_flight[domain].fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight[domain].fetch_max(now, Ordering::SeqCst);
        let jitter = self.rng.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed) % 1000;
        let cut_short = interrupted(latency / 2 + latency * jitter as u32 / 1000);
        self.in_flight[domain].fetch_sub(1, Ordering::SeqCst);
        if cut_short {
            return None;
        }
        self.fetches[page].fetch_add(1, Ordering::SeqCst);
        Some(&self.pages[page].links)
    }

    pub fn fetch_count(&self, page: usize) -> u32 {
        self.fetches[page].load(Ordering::SeqCst)
    }

    /// The most fetches that ever ran at once on `domain`.
    pub fn max_concurrency(&self, domain: usize) -> u32 {
        self.max_in_flight[domain].load(Ordering::SeqCst)
    }
}
