use zkcluster::Recipe;

// `"ReadLock".parse()` could mean either variant.
#[derive(Clone, Copy, Recipe)]
enum Crossed {
    #[recipe(zkcluster::WriteLock)]
    ReadLock,
    #[recipe(zkcluster::ReadLock)]
    Reader,
}

fn main() {}
