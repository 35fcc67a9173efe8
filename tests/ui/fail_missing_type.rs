use zkcluster::Recipe;

#[derive(Clone, Copy, Recipe)]
enum Missing {
    #[recipe(zkcluster::WriteLock)]
    WriteLock,
    ReadLock,
}

fn main() {}
