//! `#[derive(Recipe)]` for zkcluster (in progress).
use proc_macro::TokenStream;

/// Derives `zkcluster::Recipe`.
#[proc_macro_derive(Recipe, attributes(recipe))]
pub fn derive_recipe(_input: TokenStream) -> TokenStream {
    TokenStream::new()
}
