//! `#[derive(Recipe)]` without a server: names, `ALL`, `Display`/`FromStr`, parse errors, and
//! static dispatch to users' own lock types.

use std::str::FromStr;

use zkcluster::{
    CancelHandle, Client, Guard, NewRestriction, ParseRecipeError, Recipe, Restriction, Result,
    Wait, ZookeeperRecipe,
};

/// The user's own lock types, with dummy bodies: each reports which type it is in `contenders()`.
mod my_locks {
    use super::*;

    macro_rules! dummy_lock {
        ($t:ident) => {
            pub struct $t {
                pub path: String,
                pub identifier: String,
                pub max_leases: Option<u32>,
            }

            impl Restriction for $t {
                fn acquire_with(&self, _wait: Wait) -> Result<Option<Guard>> {
                    Ok(None)
                }
                fn contenders(&self) -> Result<Vec<String>> {
                    Ok(vec![stringify!($t).to_string(), self.identifier.clone()])
                }
                fn lease_holders(&self) -> Result<Vec<String>> {
                    Ok(self.max_leases.map(|n| vec![n.to_string()]).unwrap_or_default())
                }
                fn cancel_handle(&self) -> CancelHandle {
                    CancelHandle::new()
                }
                fn path(&self) -> &str {
                    &self.path
                }
            }

            impl NewRestriction for $t {
                fn new_restriction(
                    _client: &Client,
                    path: &str,
                    identifier: &str,
                    max_leases: Option<u32>,
                ) -> Result<Self> {
                    Ok($t {
                        path: path.to_string(),
                        identifier: identifier.to_string(),
                        max_leases,
                    })
                }
            }
        };
    }

    dummy_lock!(NewReadLock);
    dummy_lock!(NewWriteLock);
    dummy_lock!(NewSemaphore);
    dummy_lock!(ReadLock);
    dummy_lock!(WriteLock);
}

use my_locks::NewReadLock;

/// The example: one type per variant, by plain name or by path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Recipe)]
pub enum NewZKRecipe {
    #[recipe(NewReadLock)]
    ReadLock,
    #[recipe(my_locks::NewWriteLock)]
    WriteLock,
    #[recipe(crate::my_locks::NewSemaphore)]
    Semaphore,
}

/// `module = ...`: each variant resolves to `my_locks::<Variant>`, one overridden; and a custom
/// companion name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Recipe)]
#[recipe(module = my_locks, restriction = LibLock)]
enum LibRecipe {
    ReadLock,
    WriteLock,
    #[recipe(my_locks::NewSemaphore)]
    Semaphore,
}

#[test]
fn builtin_names_and_all() {
    assert_eq!(ZookeeperRecipe::ReadLock.name(), "ReadLock");
    assert_eq!(ZookeeperRecipe::WriteLock.name(), "WriteLock");
    assert_eq!(ZookeeperRecipe::Semaphore.name(), "Semaphore");
    assert_eq!(
        ZookeeperRecipe::ALL,
        &[ZookeeperRecipe::ReadLock, ZookeeperRecipe::WriteLock, ZookeeperRecipe::Semaphore]
    );
}

#[test]
fn user_names_are_the_lock_type_names() {
    assert_eq!(NewZKRecipe::ReadLock.name(), "NewReadLock");
    assert_eq!(NewZKRecipe::WriteLock.name(), "NewWriteLock");
    assert_eq!(NewZKRecipe::Semaphore.name(), "NewSemaphore");
    assert_eq!(
        NewZKRecipe::ALL,
        &[NewZKRecipe::ReadLock, NewZKRecipe::WriteLock, NewZKRecipe::Semaphore]
    );
    let names: Vec<_> = LibRecipe::ALL.iter().map(Recipe::name).collect();
    assert_eq!(names, ["ReadLock", "WriteLock", "NewSemaphore"]);
}

fn round_trip<
    R: Recipe + FromStr<Err = ParseRecipeError> + std::fmt::Display + PartialEq + std::fmt::Debug,
>() {
    for &r in R::ALL {
        let text = r.to_string();
        assert_eq!(text, r.name());
        assert_eq!(text.parse::<R>().unwrap(), r);
    }
}

#[test]
fn display_from_str_round_trips() {
    round_trip::<ZookeeperRecipe>();
    round_trip::<NewZKRecipe>();
    round_trip::<LibRecipe>();
    assert_eq!("NewWriteLock".parse::<NewZKRecipe>().unwrap(), NewZKRecipe::WriteLock);
    // Display honours width and alignment.
    assert_eq!(format!("{:>10}|", ZookeeperRecipe::ReadLock), "  ReadLock|");
}

#[test]
fn parse_error_lists_accepted_names() {
    let err = "Mutex".parse::<ZookeeperRecipe>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown recipe \"Mutex\"; expected one of: ReadLock, WriteLock, Semaphore"
    );
    assert_eq!(err.input(), "Mutex");
    assert_eq!(err.expected(), ["ReadLock", "WriteLock", "Semaphore"]);

    // Variant names are accepted too (as Python's `NewZKRecipe["READ_LOCK"]`), plain or in
    // SCREAMING_SNAKE_CASE; matching is exact otherwise.
    assert_eq!("ReadLock".parse::<NewZKRecipe>(), Ok(NewZKRecipe::ReadLock));
    assert_eq!("READ_LOCK".parse::<NewZKRecipe>(), Ok(NewZKRecipe::ReadLock));
    let err = "readlock".parse::<NewZKRecipe>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown recipe \"readlock\"; expected one of: NewReadLock, NewWriteLock, NewSemaphore"
    );
    assert!("semaphore".parse::<ZookeeperRecipe>().is_err());
    assert!("".parse::<ZookeeperRecipe>().is_err());

    // It is a std error.
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(err);
    assert!(boxed.to_string().starts_with("unknown recipe"));
}

fn dummy<T: NewRestrictionFields>(path: &str, identifier: &str, max_leases: Option<u32>) -> T {
    T::with(path, identifier, max_leases)
}

/// Builds the dummy locks without a client (the real `Client` needs a server).
trait NewRestrictionFields {
    fn with(path: &str, identifier: &str, max_leases: Option<u32>) -> Self;
}

macro_rules! fields {
    ($($t:ident),*) => {$(
        impl NewRestrictionFields for my_locks::$t {
            fn with(path: &str, identifier: &str, max_leases: Option<u32>) -> Self {
                my_locks::$t {
                    path: path.to_string(),
                    identifier: identifier.to_string(),
                    max_leases,
                }
            }
        }
    )*};
}
fields!(NewReadLock, NewWriteLock, NewSemaphore, ReadLock, WriteLock);

/// The companion enum delegates statically to the lock it holds.
#[test]
fn companion_delegates_to_user_types() -> Result<()> {
    let lock = NewZKRecipeRestriction::WriteLock(dummy("/p", "worker-1", None));
    assert_eq!(lock.path(), "/p");
    assert_eq!(lock.contenders()?, ["NewWriteLock", "worker-1"]);
    assert!(lock.lease_holders()?.is_empty());
    assert!(lock.acquire_with(Wait::No)?.is_none());
    assert!(lock.try_acquire()?.is_none());
    assert!(!lock.cancel_handle().is_cancelled());
    // A provided method, built on the delegated ones.
    let err = lock.acquire().expect_err("the dummy never grants");
    assert!(err.to_string().contains("/p"), "{err}");

    let locks = [
        (NewZKRecipeRestriction::ReadLock(dummy("/a", "w", Some(4))), "NewReadLock", "/a"),
        (NewZKRecipeRestriction::WriteLock(dummy("/b", "w", Some(4))), "NewWriteLock", "/b"),
        (NewZKRecipeRestriction::Semaphore(dummy("/c", "w", Some(4))), "NewSemaphore", "/c"),
    ];
    for (lock, marker, path) in locks {
        assert_eq!(lock.path(), path);
        assert_eq!(lock.contenders()?[0], marker);
        assert_eq!(lock.lease_holders()?, ["4"]);
    }

    let lib = [
        (LibLock::ReadLock(dummy("/x", "me", None)), "ReadLock"),
        (LibLock::WriteLock(dummy("/x", "me", None)), "WriteLock"),
        (LibLock::Semaphore(dummy("/x", "me", None)), "NewSemaphore"),
    ];
    for (lock, marker) in lib {
        assert_eq!(lock.contenders()?, [marker, "me"]);
    }
    Ok(())
}

/// `Client::restrict` returns the companion enum (checked at compile time; building one needs a
/// server, which the end-to-end tests have).
#[allow(dead_code)]
fn restrict_returns_the_companion(client: &Client) -> Result<()> {
    let lock: NewZKRecipeRestriction =
        client.restrict("/p", NewZKRecipe::WriteLock, "worker-1", None)?;
    let _guard: Guard = lock.acquire()?;
    let lock: LibLock = LibRecipe::Semaphore.restrict(client, "/p", "worker-1", Some(2))?;
    let _ = lock.try_acquire()?;
    let lock: zkcluster::ZookeeperRecipeRestriction =
        client.restrict("/p", ZookeeperRecipe::ReadLock, "worker-1", None)?;
    let _ = lock.acquire_timeout(std::time::Duration::from_secs(1))?;
    Ok(())
}

/// The companion enum is `Send` (as `Restriction` requires) and has no `Debug` unless asked.
#[test]
fn companion_is_send() {
    fn is_send<T: Send>() {}
    is_send::<NewZKRecipeRestriction>();
    is_send::<LibLock>();
}
