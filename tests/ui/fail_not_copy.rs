use zkcluster::{Recipe, WriteLock};

// `Recipe` requires `Copy`: derive `Clone, Copy` alongside.
#[derive(Recipe)]
enum NotCopy {
    #[recipe(WriteLock)]
    WriteLock,
}

fn main() {}
