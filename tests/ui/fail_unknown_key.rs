use zkcluster::Recipe;

#[derive(Clone, Copy, Recipe)]
#[recipe(modul = zkcluster)]
enum EnumKey {
    #[recipe(zkcluster::WriteLock)]
    WriteLock,
}

#[derive(Clone, Copy, Recipe)]
enum VariantKey {
    #[recipe(kind = zkcluster::WriteLock)]
    WriteLock,
}

#[derive(Clone, Copy, Recipe)]
enum EnumKeyOnVariant {
    #[recipe(module = zkcluster)]
    WriteLock,
}

fn main() {}
