//! Where a crawl keeps its state in ZooKeeper (crawl-spec.md; Kazoo crawlers use the same
//! nodes), all under one root per run, `R = /zkcluster-demo/<run-id>`:
//!
//! ```text
//! R/party                 Party: every crawler, data = its member id
//! R/election              Election among the Rust members: the coordinator
//! R/config                JSON {"politeness","delay_ms","generation"}, written under the
//! R/config-lock           WriteLock, read under the ReadLock
//! R/frontier              LockingQueue of URLs (entries/, taken/)
//! R/seen/<key>            a URL entered the frontier (created with its entry, in one transaction)
//! R/claims/<key>          WriteLock per URL: the claim; its node's zxid is the fencing token
//! R/results/<key>         the page's record, created only by the fenced commit
//! R/politeness/<domain>   Semaphore per domain ('127.0.0.1_40123')
//! R/pages                 Counter: pages recorded
//! R/seeded, R/finished    set by the coordinator
//! ```
//! `<key>` is the lowercase hex SHA-1 of the URL.

pub struct Layout {
    pub root: String,
}

impl Layout {
    pub fn new(root: &str) -> Layout {
        Layout { root: root.trim_end_matches('/').to_string() }
    }
    fn at(&self, rest: &str) -> String {
        format!("{}/{rest}", self.root)
    }
    pub fn party(&self) -> String {
        self.at("party")
    }
    pub fn election(&self) -> String {
        self.at("election")
    }
    pub fn config(&self) -> String {
        self.at("config")
    }
    pub fn config_lock(&self) -> String {
        self.at("config-lock")
    }
    pub fn frontier(&self) -> String {
        self.at("frontier")
    }
    pub fn frontier_entries(&self) -> String {
        self.at("frontier/entries")
    }
    /// The path prefix of a new frontier entry (Kazoo's priority-100 entries).
    pub fn frontier_entry_prefix(&self) -> String {
        self.at("frontier/entries/entry-100-")
    }
    pub fn seen(&self, url: &str) -> String {
        self.at(&format!("seen/{}", key(url)))
    }
    pub fn claim(&self, url: &str) -> String {
        self.at(&format!("claims/{}", key(url)))
    }
    pub fn results(&self) -> String {
        self.at("results")
    }
    pub fn result(&self, url: &str) -> String {
        self.at(&format!("results/{}", key(url)))
    }
    pub fn politeness(&self, domain: &str) -> String {
        self.at(&format!("politeness/{}", domain.replace(':', "_")))
    }
    pub fn pages(&self) -> String {
        self.at("pages")
    }
    pub fn seeded(&self) -> String {
        self.at("seeded")
    }
    pub fn finished(&self) -> String {
        self.at("finished")
    }
}

/// The node name of a URL: hex SHA-1 of its bytes (URLs contain '/', node names cannot).
pub fn key(url: &str) -> String {
    sha1_smol::Sha1::from(url).digest().to_string()
}

/// The authority (`host:port`) of an `http://` URL.
pub fn authority(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("http://")?;
    Some(rest.split('/').next().unwrap_or(rest))
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_are_sha1_hex() {
        assert_eq!(super::key("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(super::authority("http://127.0.0.1:80/p/1"), Some("127.0.0.1:80"));
    }
}
