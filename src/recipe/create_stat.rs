//! Creating a recipe's node with the create-with-stat opcode (`create2`): the reply carries the
//! new node's [`Stat`], so its creation zxid (the guard's fencing token) costs no extra round
//! trip. Otherwise it behaves like [`Client::create_async`]: a create with `parents` that finds
//! a parent missing makes the parents and creates again.

use crate::path::{self, validate, validate_value};
use crate::proto::{op, Create2Response, CreateRequest, ErrorCode, Stat};
use crate::session::RawReply;
use crate::{Client, CreateOptions, Error, Pending, Result};

/// The server's verdict in the reply header.
fn verdict(reply: &RawReply, path: &str) -> Result<()> {
    match ErrorCode::from_i32(reply.err) {
        ErrorCode::Ok => Ok(()),
        code => Err(Error::from_code(code, "create", path)),
    }
}

/// A created node: its path (with the sequence number, without the chroot) and its stat.
pub(crate) type Created = (String, Stat);

/// Sends a create2 of `path` (a plain, ephemeral or sequential mode; not a container or TTL).
pub(crate) fn create_with_stat(
    client: &Client,
    path: &str,
    value: &[u8],
    options: &CreateOptions,
) -> Pending<Created> {
    if let Err(e) =
        validate(path, options.mode.is_sequential()).and_then(|()| validate_value(path, value))
    {
        return Pending::failed(e);
    }
    let body = CreateRequest {
        path: client.shared().server_path(path),
        data: value.to_vec(),
        acl: options.acl.clone().unwrap_or_else(|| client.default_acl().to_vec()),
        flags: options.mode.flags(),
    };
    let owner = client.clone();
    let requested = path.to_string();
    let retry = options.parents.then(|| (value.to_vec(), options.clone()));
    let finish = move |reply: RawReply, _| match verdict(&reply, &requested) {
        Err(e) if e.is_no_node() && retry.is_some() => {
            if let Some(parent) = path::parent(&requested) {
                owner.ensure_path(parent)?;
            }
            let (value, options) = retry.unwrap_or_default();
            let options = CreateOptions { parents: false, ..options };
            create_with_stat(&owner, &requested, &value, &options).wait()
        }
        Err(e) => Err(e),
        Ok(()) => {
            let created: Create2Response = owner.decode(&reply, "create", &requested)?;
            Ok((owner.shared().user_path(&created.path), created.stat))
        }
    };
    client.call("create", path, op::CREATE2, &body, None, finish)
}
