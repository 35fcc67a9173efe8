//! Following the ensemble's membership (Curator's `EnsembleTracker`): a thread that watches
//! `/zookeeper/config` and hands every new configuration to [`Client::update_hosts`], so a
//! client keeps working while members are added and removed.

use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{select, Receiver, Sender};

use super::{Client, EnsembleConfig};
use crate::session::WatchedEvent;
use crate::Result;

/// How long the tracker waits after a failed read before it reads again.
const RETRY: Duration = Duration::from_millis(500);

/// Keeps the client's host list equal to the ensemble's configuration; made by
/// [`Client::track_ensemble`]. It ends when dropped or when the client closes.
///
/// ```no_run
/// # fn main() -> zkcluster::Result<()> {
/// let client = zkcluster::Client::connect("10.0.0.1:2181")?;
/// let tracker = client.track_ensemble();
/// if let Ok(config) = tracker.configs().recv_timeout(std::time::Duration::from_secs(5)) {
///     println!("now following {}", config.connect_string());
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
#[must_use = "the tracker stops when dropped"]
pub struct EnsembleTracker {
    stop: Option<Sender<()>>,
    configs: Receiver<EnsembleConfig>,
    thread: Option<JoinHandle<()>>,
}

impl EnsembleTracker {
    /// Every configuration the tracker applied, in order (the first one as soon as it is read).
    ///
    /// ```no_run
    /// # let client = zkcluster::Client::connect("10.0.0.1:2181").unwrap();
    /// let tracker = client.track_ensemble();
    /// for config in tracker.configs().try_iter() {
    ///     println!("version {:x}", config.version);
    /// }
    /// ```
    pub fn configs(&self) -> &Receiver<EnsembleConfig> {
        &self.configs
    }
}

impl Drop for EnsembleTracker {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Client {
    /// Starts following the ensemble's dynamic configuration: whenever `/zookeeper/config`
    /// changes (and once at the start), the tracker calls [`update_hosts`](Self::update_hosts)
    /// with its members' client addresses, so this client moves off removed members and
    /// spreads onto added ones without a restart. Standalone servers and ensembles without
    /// dynamic configuration have an empty configuration, which the tracker ignores; one that
    /// does not give every member's client address is reported but not applied.
    ///
    /// The configuration lists each member's plain client port only (not its
    /// `secureClientPort`), so a client connected over TLS does not apply it: it still gets
    /// every configuration from [`configs`](EnsembleTracker::configs), to map to the TLS
    /// ports and pass to [`update_hosts`](Self::update_hosts) itself.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("10.0.0.1:2181,10.0.0.2:2181,10.0.0.3:2181")?;
    /// let _tracker = client.track_ensemble(); // keep it for as long as the client runs
    /// # Ok(())
    /// # }
    /// ```
    pub fn track_ensemble(&self) -> EnsembleTracker {
        let (stop_tx, stop) = crossbeam_channel::bounded::<()>(0);
        let (configs_tx, configs) = crossbeam_channel::unbounded();
        let weak = self.downgrade();
        let thread = std::thread::Builder::new()
            .name("zkcluster-ensemble-tracker".into())
            .spawn(move || {
                let mut applied: Option<i64> = None;
                loop {
                    // Holds the client only while reading, so the tracker never keeps it open.
                    let Some(client) = weak.upgrade() else { return };
                    if client.state().is_terminal() {
                        return;
                    }
                    let read = client.get_config_watch();
                    drop(client);
                    let changed = match read {
                        Ok((config, changed)) => {
                            // Applied only when it gives every member's client address (a
                            // member without one would silently drop out of the hosts).
                            let hosts = config.connect_string();
                            let complete = hosts.split(',').count() == config.members.len();
                            if applied != Some(config.version) && !config.members.is_empty() {
                                if let Some(client) = weak
                                    .upgrade()
                                    .filter(|c| complete && !c.shared().config.connector.is_tls())
                                {
                                    if let Err(e) = client.update_hosts(&hosts) {
                                        log::warn!("ensemble tracker: {e}");
                                    }
                                }
                                applied = Some(config.version);
                                let _ = configs_tx.send(config);
                            }
                            changed
                        }
                        Err(e) if e.is_closed() => return,
                        Err(e) => {
                            log::debug!("ensemble tracker: reading the configuration: {e}");
                            select! {
                                recv(stop) -> _ => return,
                                default(RETRY) => continue,
                            }
                        }
                    };
                    // A disconnected watch channel (session lost, client closed) also wakes us:
                    // the next read tells which.
                    select! {
                        recv(stop) -> _ => return,
                        recv(changed) -> _ => {}
                    }
                }
            })
            .map_err(|e| log::warn!("ensemble tracker: cannot start its thread: {e}"))
            .ok();
        EnsembleTracker { stop: Some(stop_tx), configs, thread }
    }

    /// The configuration and a one-shot data watch on it, failing at once while disconnected
    /// and after [`RETRY`] at most (so a dropped tracker is not kept waiting on the read).
    fn get_config_watch(&self) -> Result<(EnsembleConfig, Receiver<WatchedEvent>)> {
        let (tx, rx) = crossbeam_channel::bounded(1);
        let (config, _) =
            self.read_config(Some(tx)).wait_until(Instant::now().checked_add(RETRY))?;
        Ok((config, rx))
    }
}
