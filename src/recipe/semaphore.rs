//! Semaphore (placeholder until the recipes issue).

use super::*;

/// At most `max_leases` holders.
pub struct Semaphore {
    path: String,
}
super::lock::placeholder!(Semaphore);
