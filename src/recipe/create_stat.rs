//! Creating a recipe's node with the create-with-stat opcode (`create2`): the reply carries the
//! new node's [`Stat`], so its creation zxid (the guard's fencing token) costs no extra round
//! trip. It is [`Client::create_with_stat_async`]: a create with `parents` that finds a parent
//! missing makes the parents and creates again.

use crate::proto::Stat;
use crate::{Client, CreateOptions, Pending};

/// A created node: its path (with the sequence number, without the chroot) and its stat.
pub(crate) type Created = (String, Stat);

/// Sends a create2 of `path` (a plain, ephemeral or sequential mode; not a container or TTL).
pub(crate) fn create_with_stat(
    client: &Client,
    path: &str,
    value: &[u8],
    options: &CreateOptions,
) -> Pending<Created> {
    client.create_with_stat_async(path, value, options)
}
