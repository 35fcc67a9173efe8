//! `module = ...`, `crate = ...` (a renamed dependency), `restriction = ...`, explicit types by
//! path, and a crate that denies missing docs and warnings.
#![deny(missing_docs, warnings)]

extern crate zkcluster as zk;

use zk::{CancelHandle, Client, Guard, NewRestriction, Recipe, Restriction, Result, Wait};

macro_rules! dummy_lock {
    ($t:ident) => {
        /// A lock that never grants.
        pub struct $t {
            /// Where it lives.
            pub path: String,
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
        impl NewRestriction for $t {
            fn new_restriction(_: &Client, path: &str, _: &str, _: Option<u32>) -> Result<Self> {
                Ok($t { path: path.to_string() })
            }
        }
    };
}

/// Like a Python module of lock classes.
pub mod example_zk_lib {
    use super::*;
    dummy_lock!(ReadLock);
    dummy_lock!(WriteLock);
    dummy_lock!(Semaphore);
    dummy_lock!(Mutex);
}

/// Resolved through the module, one variant by an explicit path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Recipe)]
#[recipe(module = example_zk_lib, crate = zk)]
#[recipe(restriction = LibLock)]
pub enum LibRecipe {
    /// `example_zk_lib::ReadLock`.
    ReadLock,
    /// `example_zk_lib::WriteLock`.
    WriteLock,
    /// `example_zk_lib::Semaphore`.
    Semaphore,
    /// Explicit, overriding the module.
    #[recipe(crate::example_zk_lib::Mutex)]
    Exclusive,
}

/// The built-in lock types under other names, with an absolute crate path.
#[derive(Clone, Copy, Recipe)]
#[recipe(crate = ::zk)]
pub enum Builtins {
    /// A shared lock.
    #[recipe(zk::ReadLock)]
    Shared,
    /// An exclusive lock.
    #[recipe(::zk::recipe::WriteLock)]
    Exclusive,
}

/// Variants named like the associated items of the generated impls (`Recipe::Restriction`,
/// `FromStr::Err`).
#[derive(Debug, Clone, Copy, PartialEq, Recipe)]
#[recipe(crate = zk)]
pub enum Tricky {
    /// Named like `Recipe::Restriction`.
    #[recipe(zk::ReadLock)]
    Restriction,
    /// Named like `FromStr::Err`.
    #[recipe(zk::WriteLock)]
    Err,
}

fn main() {
    assert_eq!(LibRecipe::ReadLock.name(), "ReadLock");
    assert_eq!(LibRecipe::Exclusive.name(), "Mutex");
    assert_eq!("Mutex".parse::<LibRecipe>(), Ok(LibRecipe::Exclusive));
    assert_eq!(LibRecipe::ALL.len(), 4);
    assert_eq!(Builtins::Exclusive.to_string(), "WriteLock");
    assert_eq!(Tricky::ALL, &[Tricky::Restriction, Tricky::Err]);
    assert_eq!("WriteLock".parse::<Tricky>(), Ok(Tricky::Err));
    // The variant's own name, plain and as a Python `Enum` member would spell it.
    assert_eq!("Exclusive".parse::<LibRecipe>(), Ok(LibRecipe::Exclusive));
    assert_eq!("EXCLUSIVE".parse::<LibRecipe>(), Ok(LibRecipe::Exclusive));
    assert_eq!("READ_LOCK".parse::<LibRecipe>(), Ok(LibRecipe::ReadLock));
    assert!("exclusive".parse::<LibRecipe>().is_err());

    let lock = LibLock::Exclusive(example_zk_lib::Mutex { path: "/m".into() });
    assert_eq!(lock.path(), "/m");
    assert_eq!(format!("{lock:?}"), r#"LibLock::Exclusive { path: "/m", .. }"#);
    assert_eq!(lock.as_exclusive().map(|m| m.path.as_str()), Some("/m"));
    assert!(lock.as_read_lock().is_none());
    assert!(lock.try_acquire().unwrap().is_none());

    let _: fn(&Client) -> Result<BuiltinsRestriction> =
        |client| client.restrict("/p", Builtins::Shared, "me", None);
}
