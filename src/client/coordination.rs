//! Constructors of the coordination recipes on [`Client`], named as Kazoo's (`zk.Counter(...)`,
//! `zk.Election(...)`, ...). Each is the recipe type's own `new`; none calls the server.

use std::time::Duration;

use super::Client;
use crate::Result;
use crate::{Barrier, Counter, DoubleBarrier, Election, MultiNonBlockingLease, NonBlockingLease};

impl Client {
    /// An integer [`Counter`] at `path` (Kazoo's `zk.Counter(path)`); see [`Counter::with_default`]
    /// for floats and [`Counter::curator`] for Curator's format.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPath`](crate::Error::InvalidPath) for a bad path.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// client.counter("/crawl/pages")?.add(1)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn counter(&self, path: &str) -> Result<Counter> {
        Counter::new(self, path)
    }

    /// A contender in the [`Election`] at `path` (Kazoo's `zk.Election(path, identifier)`).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPath`](crate::Error::InvalidPath) for a bad path.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// client.election("/crawl/coordinator", "host-a")?.run(|| println!("leading"))?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn election(&self, path: &str, identifier: &str) -> Result<Election> {
        Election::new(self, path, identifier)
    }

    /// A [`Barrier`] at `path` (Kazoo's `zk.Barrier(path)`).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPath`](crate::Error::InvalidPath) for a bad path.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// client.barrier("/crawl/start")?.wait()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn barrier(&self, path: &str) -> Result<Barrier> {
        Barrier::new(self, path)
    }

    /// A member of the [`DoubleBarrier`] at `path` for `num_clients` members (Kazoo's
    /// `zk.DoubleBarrier(path, num_clients, identifier)`).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPath`](crate::Error::InvalidPath) for a bad path,
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) when `num_clients` is 0.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let round = client.double_barrier("/crawl/round", 3, "host-a")?;
    /// round.enter()?;
    /// round.leave()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn double_barrier(
        &self,
        path: &str,
        num_clients: usize,
        identifier: &str,
    ) -> Result<DoubleBarrier> {
        DoubleBarrier::new(self, path, num_clients, identifier)
    }

    /// A [`NonBlockingLease`] at `path` (Kazoo's `zk.NonBlockingLease(path, duration,
    /// identifier)`, without obtaining it yet: call [`NonBlockingLease::obtain`]).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPath`](crate::Error::InvalidPath) for a bad path.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let hour = std::time::Duration::from_secs(3600);
    /// if client.non_blocking_lease("/jobs/hourly", hour, "host-a")?.obtain()? {
    ///     // ... this hour's job ...
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn non_blocking_lease(
        &self,
        path: &str,
        duration: Duration,
        identifier: &str,
    ) -> Result<NonBlockingLease> {
        NonBlockingLease::new(self, path, duration, identifier)
    }

    /// A [`MultiNonBlockingLease`] of `count` slots at `path` (Kazoo's
    /// `zk.MultiNonBlockingLease(count, path, duration, identifier)`, not obtained yet).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPath`](crate::Error::InvalidPath) for a bad path,
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) when `count` is 0.
    ///
    /// ```no_run
    /// # fn main() -> zkcluster::Result<()> {
    /// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
    /// let hour = std::time::Duration::from_secs(3600);
    /// let slot = client.multi_non_blocking_lease(3, "/jobs/reindex", hour, "host-a")?.obtain()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn multi_non_blocking_lease(
        &self,
        count: u32,
        path: &str,
        duration: Duration,
        identifier: &str,
    ) -> Result<MultiNonBlockingLease> {
        MultiNonBlockingLease::new(self, count, path, duration, identifier)
    }
}
