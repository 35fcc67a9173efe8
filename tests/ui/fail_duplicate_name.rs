use zkcluster::Recipe;

#[derive(Clone, Copy, Recipe)]
enum Twice {
    #[recipe(zkcluster::WriteLock)]
    Exclusive,
    #[recipe(zkcluster::recipe::WriteLock)]
    AlsoExclusive,
}

// Through `module`, the variant's own name clashes with an explicit type.
#[derive(Clone, Copy, Recipe)]
#[recipe(module = zkcluster)]
enum ModuleTwice {
    #[recipe(zkcluster::WriteLock)]
    Writer,
    WriteLock,
}

fn main() {}
