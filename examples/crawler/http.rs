//! The site's HTTP servers: one `tiny_http` server per domain on a free loopback port, a few
//! handler threads each. They measure politeness where it matters, at the server: requests in
//! flight per domain, from arrival until the answer is ready (a client releases its lease only
//! after reading the whole answer, so this interval lies inside its lease).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;

use tiny_http::{Header, Response, Server};

use crate::faults::Faults;
use crate::site::{self, Site};

/// Handler threads per domain: more than any politeness limit, so the server never queues.
const HANDLERS: usize = 12;

#[derive(Default)]
pub struct DomainStats {
    in_flight: AtomicUsize,
    pub max_in_flight: AtomicUsize,
    pub requests: AtomicUsize,
}

/// A request being answered: (member, path, arrival ms).
pub type InFlight = (String, String, u64);

pub struct Stats {
    pub domains: Vec<DomainStats>,
    /// Requests per URL path and domain.
    pub per_url: Mutex<HashMap<String, u32>>,
    /// Requests without the `X-Crawler-Member` header.
    pub anonymous: AtomicUsize,
    /// Requests in flight per domain (member, path, arrival ms), and snapshots of them whenever
    /// there were more than `limit`: what explains an excess.
    active: Mutex<Vec<Vec<InFlight>>>,
    pub limit: AtomicUsize,
    pub excess: Mutex<Vec<(usize, Vec<InFlight>)>>,
}

pub struct SiteServers {
    servers: Vec<Arc<Server>>,
    threads: Vec<JoinHandle<()>>,
    pub stats: Arc<Stats>,
}

impl SiteServers {
    /// Binds one server per domain; returns them and their `host:port` names. The site (made
    /// with those names) is given to [`serve`](Self::serve) afterwards.
    pub fn bind(domains: usize) -> std::io::Result<(SiteServers, Vec<String>)> {
        let mut servers = Vec::new();
        let mut names = Vec::new();
        for _ in 0..domains {
            let server = Server::http("127.0.0.1:0").map_err(std::io::Error::other)?;
            let addr = server
                .server_addr()
                .to_ip()
                .ok_or_else(|| std::io::Error::other("the site server has no IP address"))?;
            names.push(addr.to_string());
            servers.push(Arc::new(server));
        }
        let stats = Arc::new(Stats {
            domains: (0..domains).map(|_| DomainStats::default()).collect(),
            per_url: Mutex::new(HashMap::new()),
            anonymous: AtomicUsize::new(0),
            active: Mutex::new(vec![Vec::new(); domains]),
            limit: AtomicUsize::new(usize::MAX),
            excess: Mutex::new(Vec::new()),
        });
        Ok((SiteServers { servers, threads: Vec::new(), stats }, names))
    }

    pub fn serve(&mut self, site: Arc<Site>, faults: Arc<OnceLock<Arc<Faults>>>) {
        for (domain, server) in self.servers.iter().enumerate() {
            for _ in 0..HANDLERS {
                let (server, site, faults, stats) =
                    (server.clone(), site.clone(), faults.clone(), self.stats.clone());
                self.threads.push(std::thread::spawn(move || {
                    while let Ok(request) = server.recv() {
                        answer(request, domain, &site, faults.get(), &stats);
                    }
                }));
            }
        }
    }

    pub fn stop(self) {
        for server in &self.servers {
            for _ in 0..HANDLERS {
                server.unblock();
            }
        }
        for t in self.threads {
            let _ = t.join();
        }
    }
}

fn answer(
    request: tiny_http::Request,
    domain: usize,
    site: &Site,
    faults: Option<&Arc<Faults>>,
    stats: &Stats,
) {
    let arrived = crate::events::now_ms();
    let d = &stats.domains[domain];
    let path = request.url().to_string();
    let member = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("X-Crawler-Member"))
        .map(|h| h.value.as_str().to_string());
    let me = (member.clone().unwrap_or_default(), path.clone(), arrived);
    {
        let mut active = stats.active.lock().unwrap_or_else(|p| p.into_inner());
        active[domain].push(me.clone());
        let now = d.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        d.max_in_flight.fetch_max(now, Ordering::SeqCst);
        if now > stats.limit.load(Ordering::SeqCst) {
            let snapshot = active[domain].clone();
            stats.excess.lock().unwrap_or_else(|p| p.into_inner()).push((domain, snapshot));
        }
    }
    d.requests.fetch_add(1, Ordering::SeqCst);
    *stats
        .per_url
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(format!("http://{}{path}", site.domains[domain]))
        .or_default() += 1;
    match (&member, faults) {
        (Some(member), Some(faults)) => faults.on_request(member),
        (None, _) => {
            stats.anonymous.fetch_add(1, Ordering::SeqCst);
        }
        _ => {}
    }
    let page =
        site::page_of(&path).filter(|&p| p < site.pages.len() && site.pages[p].domain == domain);
    let (status, body) = match page {
        Some(p) => {
            std::thread::sleep(site.pages[p].latency);
            match site.pages[p].status {
                200 => (200, site.html(p)),
                status => (status, format!("<html><body>error {status}</body></html>\n")),
            }
        }
        None => (404, "<html><body>not found</body></html>\n".to_string()),
    };
    let html = Header::from_bytes(&b"Content-Type"[..], &b"text/html; charset=utf-8"[..]);
    let mut response = Response::from_string(body).with_status_code(status);
    if let Ok(h) = html {
        response = response.with_header(h);
    }
    {
        let mut active = stats.active.lock().unwrap_or_else(|p| p.into_inner());
        active[domain].retain(|a| *a != me);
        d.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
    // A killed client is gone: nothing to answer.
    let _ = request.respond(response);
}
