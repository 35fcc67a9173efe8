//! Read and write locks (placeholder until the recipes issue).

use super::*;

/// A shared lock.
pub struct ReadLock {
    path: String,
}
/// An exclusive lock.
pub struct WriteLock {
    path: String,
}

macro_rules! placeholder {
    ($t:ident) => {
        impl NewRestriction for $t {
            fn new_restriction(_: &Client, path: &str, _: &str, _: Option<u32>) -> Result<Self> {
                Ok($t { path: path.to_string() })
            }
        }
        impl Restriction for $t {
            fn acquire_with(&self, _: Wait) -> Result<Option<Guard>> {
                Ok(None)
            }
            fn contenders(&self) -> Result<Vec<String>> {
                Ok(vec![])
            }
            fn lease_holders(&self) -> Result<Vec<String>> {
                Ok(vec![])
            }
            fn cancel_handle(&self) -> CancelHandle {
                CancelHandle::new()
            }
            fn path(&self) -> &str {
                &self.path
            }
        }
    };
}
placeholder!(ReadLock);
placeholder!(WriteLock);
pub(crate) use placeholder;
