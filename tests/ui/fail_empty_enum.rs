use zkcluster::Recipe;

// A recipe enum without variants could never be restricted (and `ALL` would be empty).
#[derive(Clone, Copy, Recipe)]
enum Nothing {}

fn main() {}
