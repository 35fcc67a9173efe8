//! What the client can learn about the server it is connected to: its version and the answers
//! of ZooKeeper's four-letter commands, sent on a connection of their own.

use std::time::{Duration, Instant};

use super::Client;
use crate::session::{four_letter, Connector};
use crate::{Error, Result};

/// How long a four-letter command may take when the caller gives no deadline.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

impl Client {
    /// Sends a four-letter command (`ruok`, `srvr`, `stat`, `mntr`, `conf`, `envi`, ...) to the
    /// server this client is connected to, on a separate short connection (over TLS when the
    /// client uses TLS), and returns the answer. Servers answer only the commands in their
    /// `4lw.commands.whitelist` (by default just `srvr`). Takes at most 5 s.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// assert_eq!(client.four_letter_word("ruok")?, "imok");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `command` is not four ASCII letters (nothing sent);
    /// [`Error::FourLetterWord`] if the server cannot be reached, does not answer in time, or
    /// answers that the command is not allowed.
    pub fn four_letter_word(&self, command: &str) -> Result<String> {
        four_letter_word(&self.shared().config.connector, &self.server(), command, DEFAULT_TIMEOUT)
    }

    /// The ZooKeeper version of the server this client is connected to (e.g. `3.8.0`), from its
    /// `srvr` answer.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let version = client.server_version()?;
    /// assert!(version.starts_with("3."));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`four_letter_word`](Self::four_letter_word), and [`Error::FourLetterWord`] when the
    /// answer names no version.
    pub fn server_version(&self) -> Result<String> {
        let server = self.server();
        let connector = &self.shared().config.connector;
        let answer = four_letter_word(connector, &server, "srvr", DEFAULT_TIMEOUT)?;
        parse_version(&answer).ok_or_else(|| Error::FourLetterWord {
            server,
            command: "srvr".to_string(),
            reason: format!("no version in the answer {answer:?}"),
        })
    }
}

/// `Zookeeper version: 3.8.0-5a02a05eddb59aee6ac762f7ea82e92a68eb9c0f, built on ...` → `3.8.0`.
fn parse_version(srvr: &str) -> Option<String> {
    let line = srvr.lines().find_map(|l| l.strip_prefix("Zookeeper version: "))?;
    let version = line.split([',', '-']).next()?.trim();
    (!version.is_empty()).then(|| version.to_string())
}

fn four_letter_word(
    connector: &Connector,
    server: &str,
    command: &str,
    timeout: Duration,
) -> Result<String> {
    if command.len() != 4 || !command.bytes().all(|b| b.is_ascii_lowercase()) {
        return Err(Error::InvalidArgument {
            path: String::new(),
            reason: format!("{command:?} is not a four-letter command (four lowercase letters)"),
        });
    }
    let fail = |reason: String| Error::FourLetterWord {
        server: server.to_string(),
        command: command.to_string(),
        reason,
    };
    let answer = four_letter(connector, server, command, Instant::now() + timeout)
        .map_err(|reason| fail(format!("{reason} (within {timeout:?})")))?;
    if answer.contains("is not executed because it is not in the whitelist") {
        return Err(fail(answer.trim().to_string()));
    }
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_comes_from_the_srvr_answer() {
        let srvr = "Zookeeper version: 3.8.0-5a02a05eddb59aee6ac762f7ea82e92a68eb9c0f, built on \
                    2022-02-25 08:49 UTC\nLatency min/avg/max: 0/0.0/0\nMode: standalone\n";
        assert_eq!(parse_version(srvr).as_deref(), Some("3.8.0"));
        assert_eq!(parse_version("Mode: standalone"), None);
    }

    #[test]
    fn refuses_what_is_not_a_four_letter_command_without_connecting() {
        // Port 9 on loopback (discard) is never a ZooKeeper: the error must come before any
        // connection attempt.
        for bad in ["stats", "srv", "SRVR", "sr r"] {
            let plain = Connector::default();
            let err = four_letter_word(&plain, "127.0.0.1:9", bad, Duration::from_millis(10))
                .unwrap_err();
            assert!(matches!(err, Error::InvalidArgument { .. }), "{bad}: {err}");
        }
    }
}
