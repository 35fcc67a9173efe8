use zkcluster::Recipe;

#[derive(Clone, Copy, Recipe)]
struct NotAnEnum {
    lock: u8,
}

#[derive(Clone, Copy, Recipe)]
union NotAnEnumEither {
    lock: u8,
}

fn main() {}
