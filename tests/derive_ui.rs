//! Compile-time behaviour of `#[derive(Recipe)]`: what compiles, and the errors (with their
//! spans) for what does not. Refresh the expected output with `TRYBUILD=overwrite` and review it.

#[test]
fn derive_ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass_*.rs");
    t.compile_fail("tests/ui/fail_*.rs");
}
