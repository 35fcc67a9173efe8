use zkcluster::Recipe;

// (rustc adds its own complaint that `L` is unused.)
#[derive(Recipe)]
enum Generic<L> {
    #[recipe(zkcluster::WriteLock)]
    Lock,
}

#[derive(Recipe)]
enum ConstGeneric<const N: usize> {
    #[recipe(zkcluster::WriteLock)]
    Lock,
}

#[derive(Clone, Copy, Recipe)]
enum WhereClause
where
    Self: Sized,
{
    #[recipe(zkcluster::WriteLock)]
    Lock,
}

fn main() {}
