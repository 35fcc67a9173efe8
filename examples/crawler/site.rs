//! The generated site: pages spread over several domains (one loopback HTTP server each, see
//! `http.rs`), linking to each other with absolute and root-relative links, to pages that do not
//! exist (404), to pages that fail (500) and to the outside world (ignored by crawlers). Some
//! pages are slow. A few pages are linked from nowhere: the crawl must not record them.
//!
//! The graph is made here, before any server starts, so the checks can compare the crawl with
//! the set of pages reachable from the seeds.

use std::collections::{BTreeSet, VecDeque};
use std::time::Duration;

/// What a page path serves.
#[derive(Debug, Clone)]
pub struct Page {
    pub domain: usize,
    pub status: u16,
    pub latency: Duration,
    /// Link targets as written in the HTML (`href` values).
    pub hrefs: Vec<String>,
}

pub struct Site {
    /// `host:port` of each domain's server.
    pub domains: Vec<String>,
    pub pages: Vec<Page>,
    /// Pages nothing links to (must stay unrecorded).
    pub orphans: usize,
}

/// The path of page `i`.
pub fn page_path(i: usize) -> String {
    format!("/p/{i}.html")
}

/// The page number of a request path, if it is a page.
pub fn page_of(path: &str) -> Option<usize> {
    path.strip_prefix("/p/")?.strip_suffix(".html")?.parse().ok()
}

impl Site {
    /// A site of `pages` pages over the given domains, the same for the same `seed`.
    pub fn generate(pages: usize, domains: Vec<String>, seed: u64) -> Site {
        let mut rng = fastrand::Rng::with_seed(seed);
        let d = domains.len();
        let orphans = (pages / 25).max(1);
        let linked = pages.saturating_sub(orphans).max(d);
        let url = |j: usize| format!("http://{}{}", domains[j % d], page_path(j));
        let pages = (0..pages)
            .map(|i| {
                let status = if i >= d && i % 29 == 7 { 500 } else { 200 };
                let latency = if i % 11 == 5 {
                    Duration::from_millis(900 + rng.u64(0..400)) // slow pages
                } else {
                    Duration::from_millis(60 + rng.u64(0..240))
                };
                let mut hrefs = Vec::new();
                if status == 200 {
                    // A spine so almost everything is reachable, then random links.
                    for next in [i + 1, i + d] {
                        if next < linked {
                            hrefs.push(url(next));
                        }
                    }
                    for _ in 0..rng.usize(2..5) {
                        let j = rng.usize(0..linked);
                        // Same-domain links root-relative (as sites write them), others absolute.
                        hrefs.push(if j % d == i % d { page_path(j) } else { url(j) });
                    }
                    if rng.u8(0..4) == 0 {
                        hrefs.push(format!("/missing/{}.html", rng.u32(0..1000)));
                    }
                    if rng.u8(0..5) == 0 {
                        hrefs.push(format!("http://www.example.org/{}", rng.u32(0..1000)));
                    }
                    hrefs.push("#top".into());
                }
                Page { domain: i % d, status, latency, hrefs }
            })
            .collect();
        Site { domains, pages, orphans }
    }

    /// The seeds: the first page of every domain.
    pub fn seeds(&self) -> Vec<String> {
        (0..self.domains.len().min(self.pages.len())).map(|i| self.url(i)).collect()
    }

    pub fn url(&self, page: usize) -> String {
        format!("http://{}{}", self.domains[self.pages[page].domain], page_path(page))
    }

    /// The URLs a page links to that a crawler follows: http links on the site's domains,
    /// resolved against the page, fragments dropped.
    pub fn followed_links(&self, page: usize) -> Vec<String> {
        let base = &self.domains[self.pages[page].domain];
        self.pages[page]
            .hrefs
            .iter()
            .filter_map(|h| crate::links::resolve(base, h))
            .filter(|u| {
                crate::layout::authority(u).is_some_and(|a| self.domains.iter().any(|d| d == a))
            })
            .collect()
    }

    /// The page a URL of this site names (`None` for 404 paths and other hosts).
    pub fn page_of_url(&self, url: &str) -> Option<usize> {
        let authority = crate::layout::authority(url)?;
        let path = &url["http://".len() + authority.len()..];
        let page = page_of(path)?;
        (page < self.pages.len() && self.domains[self.pages[page].domain] == authority)
            .then_some(page)
    }

    /// Every URL a crawl starting at the seeds must record (404 URLs included: they are
    /// recorded with their status), by breadth-first search over the links of 200 pages.
    pub fn reachable(&self) -> BTreeSet<String> {
        let mut seen: BTreeSet<String> = self.seeds().into_iter().collect();
        let mut todo: VecDeque<String> = seen.iter().cloned().collect();
        while let Some(url) = todo.pop_front() {
            if let Some(page) = self.page_of_url(&url) {
                if self.pages[page].status == 200 {
                    for link in self.followed_links(page) {
                        if seen.insert(link.clone()) {
                            todo.push_back(link);
                        }
                    }
                }
            }
        }
        seen
    }

    /// The HTML of page `i`.
    pub fn html(&self, i: usize) -> String {
        let page = &self.pages[i];
        let mut body = format!(
            "<!doctype html>\n<html><head><title>Page {i}</title></head><body>\n\
             <h1 id=\"top\">Page {i} of {}</h1>\n<p>A generated page of the zkcluster crawler demo.</p>\n<ul>\n",
            self.domains[page.domain]
        );
        for (n, href) in page.hrefs.iter().enumerate() {
            body.push_str(&format!("<li><a class=\"l\" href=\"{href}\">link {n}</a></li>\n"));
        }
        body.push_str("</ul></body></html>\n");
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_pages_are_reachable_and_orphans_are_not() {
        let domains = vec!["127.0.0.1:1".to_string(), "127.0.0.1:2".to_string()];
        let site = Site::generate(100, domains, 7);
        let reachable = site.reachable();
        assert!(reachable.len() > 60, "{}", reachable.len());
        assert!(!reachable.contains(&site.url(99)), "the last page is an orphan");
        assert!(reachable.iter().any(|u| u.contains("/missing/")), "some 404s are linked");
    }
}
