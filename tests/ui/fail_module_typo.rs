use zkcluster::Recipe;

mod locks {
    pub use zkcluster::{ReadLock, WriteLock};
}

#[derive(Clone, Copy, Recipe)]
#[recipe(module = lokcs)]
enum Typo {
    ReadLock,
    WriteLock,
}

fn main() {}
