//! Fetching a page with a real blocking HTTP client (ureq), announcing the member in the
//! `X-Crawler-Member` header (the site uses it to aim its faults).

use std::time::Duration;

pub struct Fetched {
    /// The HTTP status; 0 when the server could not be reached (twice).
    pub status: u16,
    pub body: String,
}

pub struct Fetcher {
    agent: ureq::Agent,
    member: String,
}

impl Fetcher {
    pub fn new(member: &str) -> Fetcher {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // No read or write timeout on purpose: a blocking socket call with a timeout
            // fails with EINTR when a stopped process is continued (SIGSTOP, SIGCONT), which
            // would lose the answer already waiting in the socket; without one the kernel
            // restarts the call. Connecting stays bounded; the site is local.
            .timeout_connect(Some(Duration::from_secs(5)))
            .user_agent("zkcluster-crawler-demo")
            // The site is on loopback: never through an HTTP_PROXY from the environment.
            .proxy(None)
            .build()
            .into();
        Fetcher { agent, member: member.to_string() }
    }

    /// GETs `url`; a connection error is retried once, then reported as status 0. `may_send`
    /// is asked before each attempt (the politeness lease must still surely last: a retry
    /// after a long stop would otherwise go out on a lease the session has lost); `None` when
    /// it said no.
    pub fn get(&self, url: &str, may_send: impl Fn() -> bool) -> Option<Fetched> {
        let mut last = String::new();
        for _ in 0..2 {
            if !may_send() {
                return None;
            }
            match self.agent.get(url).header("X-Crawler-Member", &self.member).call() {
                Ok(mut response) => {
                    let status = response.status().as_u16();
                    match response.body_mut().read_to_string() {
                        Ok(body) => return Some(Fetched { status, body }),
                        Err(e) => last = e.to_string(),
                    }
                }
                Err(e) => last = e.to_string(),
            }
            if !last.is_empty() {
                log::warn!("{}: {url}: attempt failed: {last}", self.member);
            }
        }
        log::warn!("{}: {url}: {last}", self.member);
        Some(Fetched { status: 0, body: String::new() })
    }
}
