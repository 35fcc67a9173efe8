//! Step 2: check the parsed model and resolve each variant's lock type.

use std::collections::HashMap;

use syn::{parse_quote, Fields, Ident, Path, Visibility};

use crate::parse::{Errors, Input};

/// A recipe enum ready for expansion: every variant has its lock type.
pub struct Recipe {
    pub ident: Ident,
    pub vis: Visibility,
    /// The path of the zkcluster crate.
    pub krate: Path,
    /// The companion enum's name.
    pub restriction: Ident,
    pub variants: Vec<Variant>,
}

pub struct Variant {
    pub ident: Ident,
    /// The lock type, as written in `#[recipe(...)]` or resolved through `module = ...`.
    pub ty: Path,
    /// The lock type's name: the last segment of `ty`.
    pub name: String,
    /// Every string `FromStr` accepts for this variant: `name`, the variant's own name and that
    /// name in SCREAMING_SNAKE_CASE (how a Python `Enum` spells its members), without repeats.
    pub accepted: Vec<String>,
}

/// Checks `input`; `None` if anything is wrong (the errors are in `errors`).
pub fn validate(input: Input, errors: &mut Errors) -> Option<Recipe> {
    let mut count = 0;
    let mut fail = |errors: &mut Errors, e: syn::Error| {
        count += 1;
        errors.push(e);
    };

    let generics = &input.generics;
    if !generics.params.is_empty() {
        fail(
            errors,
            syn::Error::new_spanned(
                generics,
                "#[derive(Recipe)] does not support generic enums: a recipe enum names concrete \
                 lock types",
            ),
        );
    } else if let Some(where_clause) = &generics.where_clause {
        fail(
            errors,
            syn::Error::new_spanned(
                where_clause,
                "#[derive(Recipe)] does not support `where` clauses on the enum",
            ),
        );
    }

    let restriction =
        input.attrs.restriction.clone().unwrap_or_else(|| {
            Ident::new(&format!("{}Restriction", input.ident), input.ident.span())
        });
    if restriction == input.ident {
        fail(
            errors,
            syn::Error::new(
                restriction.span(),
                "the companion enum needs a name other than the recipe enum's",
            ),
        );
    }

    if input.variants.is_empty() {
        fail(
            errors,
            syn::Error::new(
                input.ident.span(),
                format!(
                    "`{}` has no variants; a recipe enum needs at least one (each names a lock \
                     type with `#[recipe(Type)]`)",
                    input.ident
                ),
            ),
        );
    }

    let mut variants = Vec::with_capacity(input.variants.len());
    // Name -> the variant that used it first.
    let mut seen: HashMap<String, Ident> = HashMap::new();
    // Accepted string -> the variant it parses to.
    let mut parses_to: HashMap<String, Ident> = HashMap::new();
    for v in input.variants {
        if !matches!(v.fields, Fields::Unit) {
            fail(
                errors,
                syn::Error::new_spanned(
                    &v.fields,
                    format!(
                        "variant `{}` has fields; recipe variants must be unit variants (the \
                         lock type goes in `#[recipe(Type)]`)",
                        v.ident
                    ),
                ),
            );
        }
        let ty = match (&v.ty, &input.attrs.module) {
            (Some(ty), _) => ty.clone(),
            (None, Some(module)) => resolve_in_module(module, &v.ident),
            // Its attribute did not parse: that error says enough.
            (None, None) if v.has_attr => continue,
            (None, None) => {
                fail(
                    errors,
                    syn::Error::new(
                        v.ident.span(),
                        format!(
                            "variant `{}` names no lock type: add `#[recipe(path::to::Type)]` to \
                             it, or `#[recipe(module = path)]` to the enum to use \
                             `path::{}`",
                            v.ident, v.ident
                        ),
                    ),
                );
                continue;
            }
        };
        let name = ty.segments.last().map(|s| s.ident.to_string()).unwrap_or_default();
        if let Some(first) = seen.get(&name) {
            fail(
                errors,
                error_at(
                    v.ty.as_ref(),
                    &v.ident,
                    format!(
                        "variants `{first}` and `{}` both name a lock type called `{name}`; the \
                         names must differ, since `name()`, `Display` and `FromStr` use them",
                        v.ident
                    ),
                ),
            );
        } else {
            seen.insert(name.clone(), v.ident.clone());
        }
        let mut accepted = vec![name.clone()];
        for alias in [v.ident.to_string(), screaming_snake(&v.ident.to_string())] {
            if !accepted.contains(&alias) {
                accepted.push(alias);
            }
        }
        for alias in &accepted {
            match parses_to.get(alias) {
                // A clash of two lock type names is the error above.
                Some(_) if *alias == name && seen.get(&name) != Some(&v.ident) => {}
                Some(other) => fail(
                    errors,
                    syn::Error::new(
                        v.ident.span(),
                        format!(
                            "`FromStr` would read {alias:?} as both `{other}` and `{}`: a \
                             variant's name (or its SCREAMING_SNAKE_CASE form) must not be \
                             another variant's name or lock type name",
                            v.ident
                        ),
                    ),
                ),
                None => {
                    parses_to.insert(alias.clone(), v.ident.clone());
                }
            }
        }
        variants.push(Variant { ident: v.ident, ty, name, accepted });
    }

    if count > 0 {
        return None;
    }
    Some(Recipe {
        ident: input.ident,
        vis: input.vis,
        krate: input.attrs.krate.unwrap_or_else(|| parse_quote!(::zkcluster)),
        restriction,
        variants,
    })
}

/// `ReadLock` -> `READ_LOCK`, `HTTPFetch` -> `HTTP_FETCH`, `Lock2` -> `LOCK2`: a word starts
/// at an uppercase letter after a lowercase one or a digit, and at the last uppercase letter of a
/// run followed by a lowercase one.
pub fn screaming_snake(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).map(|p| chars[p]);
        let next = chars.get(i + 1).copied();
        let starts_word = c.is_uppercase()
            && match prev {
                Some(p) if p.is_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_uppercase() => next.is_some_and(char::is_lowercase),
                _ => false,
            };
        if starts_word && !out.ends_with('_') {
            out.push('_');
        }
        out.extend(c.to_uppercase());
    }
    out
}

/// `module::Variant`, all of it spanned at the variant: errors about the type (not found in the
/// module, not a `Restriction`) then point at the variant they concern.
fn resolve_in_module(module: &Path, variant: &Ident) -> Path {
    let span = variant.span();
    let tokens = quote::quote!(#module::#variant).into_iter().map(|mut tt| {
        tt.set_span(span);
        tt
    });
    syn::parse2(tokens.collect()).expect("a module path followed by an identifier is a path")
}

/// An error at the lock type as written, or at the variant if the type came from `module`.
fn error_at(written: Option<&Path>, variant: &Ident, message: String) -> syn::Error {
    match written {
        Some(ty) => syn::Error::new_spanned(ty, message),
        None => syn::Error::new(variant.span(), message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse;

    fn check(src: &str) -> Result<Recipe, Vec<String>> {
        let input: syn::DeriveInput = syn::parse_str(src).unwrap();
        let mut errors = Errors::default();
        let recipe = parse(&input, &mut errors).and_then(|p| validate(p, &mut errors));
        match errors.finish() {
            Ok(()) => Ok(recipe.expect("no errors means a recipe")),
            Err(e) => Err(e.into_iter().map(|e| e.to_string()).collect()),
        }
    }

    #[test]
    fn resolves_types_and_names() {
        let recipe = check(
            "#[recipe(module = a::b)] pub(crate) enum E { Read, #[recipe(x::y::Lock)] Write }",
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(recipe.restriction, "ERestriction");
        let krate = &recipe.krate;
        assert_eq!(quote::quote!(#krate).to_string(), ":: zkcluster");
        let types: Vec<_> = recipe
            .variants
            .iter()
            .map(|v| {
                let ty = &v.ty;
                quote::quote!(#ty).to_string()
            })
            .collect();
        assert_eq!(types, ["a :: b :: Read", "x :: y :: Lock"]);
        let names: Vec<_> = recipe.variants.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["Read", "Lock"]);
    }

    #[test]
    fn accepts_type_and_variant_names() {
        let recipe = check("enum E { #[recipe(x::NewReadLock)] ReadLock, #[recipe(L)] L }")
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(recipe.variants[0].accepted, ["NewReadLock", "ReadLock", "READ_LOCK"]);
        assert_eq!(recipe.variants[1].accepted, ["L"]);
        for (name, screaming) in [
            ("ReadLock", "READ_LOCK"),
            ("HTTPFetch", "HTTP_FETCH"),
            ("Lock2", "LOCK2"),
            ("Lock2Go", "LOCK2_GO"),
            ("already_snake", "ALREADY_SNAKE"),
            ("A", "A"),
        ] {
            assert_eq!(screaming_snake(name), screaming);
        }
    }

    #[test]
    fn refuses_empty_enums_and_ambiguous_names() {
        let errors = check("enum E {}").err().unwrap();
        assert!(errors[0].contains("has no variants"), "{errors:?}");
        let errors =
            check("enum E { #[recipe(WriteLock)] ReadLock, #[recipe(ReadLock)] WriteLock }")
                .err()
                .unwrap();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].contains("would read \"ReadLock\" as both"), "{errors:?}");
        assert!(errors[1].contains("would read \"WriteLock\" as both"), "{errors:?}");
    }

    #[test]
    fn reports_every_problem() {
        let errors = check(
            "#[recipe(restriction = E)] enum E<T> { A, #[recipe(L)] B(T), #[recipe(m::L)] C }",
        )
        .err()
        .unwrap();
        assert_eq!(errors.len(), 5, "{errors:?}");
        assert!(errors[0].contains("generic"));
        assert!(errors[1].contains("other than"));
        assert!(errors[2].contains("names no lock type"));
        assert!(errors[3].contains("has fields"));
        assert!(errors[4].contains("both name a lock type called `L`"));
    }
}
