use zkcluster::Recipe;

/// Not a lock.
pub struct Plain;

#[derive(Clone, Copy, Recipe)]
enum NotALock {
    #[recipe(zkcluster::WriteLock)]
    WriteLock,
    #[recipe(Plain)]
    Plain,
    #[recipe(std::string::String)]
    Text,
}

fn main() {}
