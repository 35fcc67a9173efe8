use zkcluster::Recipe;

#[derive(Clone, Copy, Recipe)]
enum Fields {
    #[recipe(zkcluster::ReadLock)]
    Tuple(u8),
    #[recipe(zkcluster::WriteLock)]
    Named { depth: u8 },
}

fn main() {}
