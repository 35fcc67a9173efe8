use zkcluster::Recipe;

/// Has a `ReadLock` but no `Mutex`.
mod locks {
    pub use zkcluster::ReadLock;
}

#[derive(Clone, Copy, Recipe)]
#[recipe(module = locks)]
enum FromModule {
    ReadLock,
    Mutex,
}

fn main() {}
