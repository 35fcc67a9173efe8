//! Where the crawl keeps its state in ZooKeeper (all under one root per run):
//!
//! ```text
//! <root>/config                 "latency_ms=N": the shared crawl configuration
//! <root>/config-lock            ReadLock/WriteLock guarding it
//! <root>/frontier/p000042       a URL waiting to be fetched (data = URL)
//! <root>/frontier-lock          WriteLock under which a worker claims a URL
//! <root>/claims/p000042         ephemeral: a node is fetching it (vanishes with its session)
//! <root>/done/p000042           fetched and recorded (data = node name)
//! <root>/politeness/domainN     Semaphore: at most `politeness` fetches per domain at once
//! ```

pub struct Layout {
    pub root: String,
}

impl Layout {
    pub fn config(&self) -> String {
        format!("{}/config", self.root)
    }
    pub fn config_lock(&self) -> String {
        format!("{}/config-lock", self.root)
    }
    pub fn frontier(&self) -> String {
        format!("{}/frontier", self.root)
    }
    pub fn frontier_lock(&self) -> String {
        format!("{}/frontier-lock", self.root)
    }
    pub fn claims(&self) -> String {
        format!("{}/claims", self.root)
    }
    pub fn done(&self) -> String {
        format!("{}/done", self.root)
    }
    pub fn politeness(&self, domain: usize) -> String {
        format!("{}/politeness/domain{domain}", self.root)
    }
    pub fn entry(dir: &str, page: usize) -> String {
        format!("{dir}/{}", name(page))
    }
}

/// The node name of a page: fixed width, so names sort like page numbers.
pub fn name(page: usize) -> String {
    format!("p{page:06}")
}

/// The page of a node name, if it is one.
pub fn page_of(name: &str) -> Option<usize> {
    name.strip_prefix('p')?.parse().ok()
}
