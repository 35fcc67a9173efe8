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
            .timeout_global(Some(Duration::from_secs(30)))
            .user_agent("zkcluster-crawler-demo")
            .build()
            .into();
        Fetcher { agent, member: member.to_string() }
    }

    /// GETs `url`; a connection error is retried once, then reported as status 0.
    pub fn get(&self, url: &str) -> Fetched {
        let mut last = String::new();
        for _ in 0..2 {
            match self.agent.get(url).header("X-Crawler-Member", &self.member).call() {
                Ok(mut response) => {
                    let status = response.status().as_u16();
                    match response.body_mut().read_to_string() {
                        Ok(body) => return Fetched { status, body },
                        Err(e) => last = e.to_string(),
                    }
                }
                Err(e) => last = e.to_string(),
            }
        }
        log::warn!("{}: {url}: {last}", self.member);
        Fetched { status: 0, body: String::new() }
    }
}
