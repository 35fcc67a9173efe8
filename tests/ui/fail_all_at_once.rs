use zkcluster::Recipe;

// Every mistake of one input is reported together.
#[derive(Clone, Copy, Recipe)]
#[recipe(restriction = Locks, flavour = kazoo)]
enum Many {
    NoType,
    #[recipe(zkcluster::WriteLock)]
    Fields(u8),
    #[recipe(zkcluster::ReadLock, zkcluster::Semaphore)]
    TwoTypes,
}

fn main() {}
