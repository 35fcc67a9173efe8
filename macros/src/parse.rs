//! Step 1: from the derive input to a model of the recipe enum.
//!
//! Only the syntax of `#[recipe(...)]` is checked here; what the model means (fields, generics,
//! missing or duplicate types) is `validate`'s business. Errors are collected, not returned at
//! the first one, so the user sees every mistake of an input at once.

use proc_macro2::{Span, TokenTree};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{Attribute, Data, DeriveInput, Fields, Generics, Ident, Path, Token, Visibility};

/// Collects errors, to be reported together.
#[derive(Default)]
pub struct Errors {
    errors: Vec<syn::Error>,
}

impl Errors {
    pub fn push(&mut self, error: syn::Error) {
        self.errors.push(error);
    }

    pub fn push_new(&mut self, span: Span, message: impl std::fmt::Display) {
        self.push(syn::Error::new(span, message));
    }

    /// All errors so far combined into one, or `Ok` if there were none.
    pub fn finish(self) -> syn::Result<()> {
        let mut all = self.errors.into_iter();
        match all.next() {
            None => Ok(()),
            Some(mut first) => {
                first.extend(all);
                Err(first)
            }
        }
    }
}

/// The derive input, as far as the derive cares.
pub struct Input {
    pub ident: Ident,
    pub vis: Visibility,
    pub generics: Generics,
    pub attrs: EnumAttrs,
    pub variants: Vec<Variant>,
}

/// The enum-level `#[recipe(key = value, ...)]` keys.
#[derive(Default)]
pub struct EnumAttrs {
    /// `module = path`: variants without a type resolve to `path::VariantName`.
    pub module: Option<Path>,
    /// `restriction = Name`: the companion enum's name.
    pub restriction: Option<Ident>,
    /// `crate = path`: where zkcluster is (default `::zkcluster`).
    pub krate: Option<Path>,
}

/// One variant of the enum.
pub struct Variant {
    pub ident: Ident,
    pub fields: Fields,
    /// The lock type from `#[recipe(Type)]`, if given.
    pub ty: Option<Path>,
    /// Whether the variant has a `#[recipe(...)]`, even one that failed to parse.
    pub has_attr: bool,
}

const ENUM_KEYS: &str = "`module`, `restriction` or `crate`";

/// Parses `input`; `None` if it is not an enum (the error is in `errors`).
pub fn parse(input: &DeriveInput, errors: &mut Errors) -> Option<Input> {
    let attrs = parse_enum_attrs(&input.attrs, errors);
    let data = match &input.data {
        Data::Enum(data) => data,
        Data::Struct(data) => {
            errors.push_new(
                data.struct_token.span,
                "#[derive(Recipe)] is only for enums: each variant names a lock type",
            );
            return None;
        }
        Data::Union(data) => {
            errors.push_new(
                data.union_token.span,
                "#[derive(Recipe)] is only for enums: each variant names a lock type",
            );
            return None;
        }
    };
    let variants = data
        .variants
        .iter()
        .map(|v| Variant {
            ident: v.ident.clone(),
            fields: v.fields.clone(),
            ty: parse_variant_attrs(&v.attrs, errors),
            has_attr: v.attrs.iter().any(|a| a.path().is_ident("recipe")),
        })
        .collect();
    Some(Input {
        ident: input.ident.clone(),
        vis: input.vis.clone(),
        generics: input.generics.clone(),
        attrs,
        variants,
    })
}

/// The `#[recipe(...)]` attributes among `attrs`, checked to have the list form.
fn recipe_attrs<'a>(attrs: &'a [Attribute], errors: &mut Errors) -> Vec<&'a Attribute> {
    let mut out = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("recipe")) {
        match attr.meta.require_list() {
            Ok(_) => out.push(attr),
            Err(_) => errors.push_new(attr.meta.span(), "expected `#[recipe(...)]`"),
        }
    }
    out
}

fn parse_enum_attrs(attrs: &[Attribute], errors: &mut Errors) -> EnumAttrs {
    let mut out = EnumAttrs::default();
    for attr in recipe_attrs(attrs, errors) {
        let parser = |input: ParseStream| {
            parse_enum_keys(input, &mut out, errors);
            Ok(())
        };
        if let Err(e) = parser.parse2(attr.meta.require_list().unwrap().tokens.clone()) {
            errors.push(e);
        }
    }
    out
}

/// Parses `key = value, ...` into `out`, recording errors and moving on to the next key.
fn parse_enum_keys(input: ParseStream, out: &mut EnumAttrs, errors: &mut Errors) {
    while !input.is_empty() {
        if let Err(e) = parse_enum_key(input, out) {
            errors.push(e);
            skip_to_comma(input);
        }
        if input.is_empty() {
            break;
        }
        if let Err(e) = input.parse::<Token![,]>() {
            errors.push(e);
            skip_to_comma(input);
            let _ = input.parse::<Token![,]>();
        }
    }
}

fn parse_enum_key(input: ParseStream, out: &mut EnumAttrs) -> syn::Result<()> {
    // `crate` is a keyword: take any identifier.
    let key = input.call(Ident::parse_any)?;
    if !input.peek(Token![=]) {
        let known = ["module", "restriction", "crate"].iter().any(|k| key == k);
        return Err(syn::Error::new(
            key.span(),
            if known {
                format!("expected `{key} = ...`")
            } else {
                format!(
                    "expected `key = value` with key {ENUM_KEYS} in an enum's `#[recipe(...)]`; \
                     a lock type like `#[recipe({key})]` goes on a variant"
                )
            },
        ));
    }
    input.parse::<Token![=]>()?;
    let duplicate = || syn::Error::new(key.span(), format!("duplicate key `{key}`"));
    if key == "module" {
        let path = input.call(Path::parse_mod_style)?;
        if out.module.replace(path).is_some() {
            return Err(duplicate());
        }
    } else if key == "restriction" {
        let ident: Ident = input.parse()?;
        if out.restriction.replace(ident).is_some() {
            return Err(duplicate());
        }
    } else if key == "crate" {
        let path = input.call(Path::parse_mod_style)?;
        if out.krate.replace(path).is_some() {
            return Err(duplicate());
        }
    } else {
        return Err(syn::Error::new(
            key.span(),
            format!("unknown key `{key}` in `#[recipe(...)]`; expected {ENUM_KEYS}"),
        ));
    }
    Ok(())
}

/// Skips tokens up to (not including) the next top-level comma.
fn skip_to_comma(input: ParseStream) {
    while !input.is_empty() && !input.peek(Token![,]) {
        let _ = input.parse::<TokenTree>();
    }
}

/// The lock type of a variant's `#[recipe(Type)]`, if any.
fn parse_variant_attrs(attrs: &[Attribute], errors: &mut Errors) -> Option<Path> {
    let mut ty: Option<Path> = None;
    for attr in recipe_attrs(attrs, errors) {
        match attr.parse_args_with(parse_variant_type) {
            Ok(path) => {
                if ty.is_some() {
                    errors.push_new(
                        attr.meta.span(),
                        "a variant takes one `#[recipe(Type)]`; this one has two",
                    );
                } else {
                    ty = Some(path);
                }
            }
            Err(e) => errors.push(e),
        }
    }
    ty
}

/// `Type` or `path::to::Type`; a `key = value` here is an error.
fn parse_variant_type(input: ParseStream) -> syn::Result<Path> {
    if input.peek(Ident::peek_any) && input.peek2(Token![=]) {
        let key = input.call(Ident::parse_any)?;
        let message = if ["module", "restriction", "crate"].iter().any(|k| key == k) {
            format!("`{key} = ...` goes on the enum, not on a variant")
        } else {
            format!(
                "unknown key `{key}` in a variant's `#[recipe(...)]`; \
                 a variant takes only its lock type, as in `#[recipe(path::to::Type)]`"
            )
        };
        return Err(syn::Error::new(key.span(), message));
    }
    let path: Path = input.parse()?;
    if !input.is_empty() {
        return Err(input.error(
            "expected the end of the attribute: a variant names exactly one lock type, as in \
             `#[recipe(path::to::Type)]`",
        ));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(src: &str) -> (Option<Input>, Vec<String>) {
        let input: DeriveInput = syn::parse_str(src).unwrap();
        let mut errors = Errors::default();
        let parsed = parse(&input, &mut errors);
        let messages = match errors.finish() {
            Ok(()) => vec![],
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        };
        (parsed, messages)
    }

    #[test]
    fn parses_enum_keys_and_variant_types() {
        let (input, errors) = parse_str(
            "#[recipe(module = a::b, restriction = R)] #[recipe(crate = ::zk)]
             enum E { #[recipe(x::Lock)] A, B }",
        );
        assert!(errors.is_empty(), "{errors:?}");
        let input = input.unwrap();
        let attrs = &input.attrs;
        assert_eq!(attrs.module.as_ref().unwrap().segments.len(), 2);
        assert_eq!(attrs.restriction.as_ref().unwrap(), "R");
        assert!(attrs.krate.as_ref().unwrap().leading_colon.is_some());
        assert_eq!(input.variants[0].ty.as_ref().unwrap().segments.len(), 2);
        assert!(input.variants[1].ty.is_none());
    }

    #[test]
    fn reports_every_error_at_once() {
        let (_, errors) = parse_str(
            "#[recipe(modul = a, restriction = R, crate)]
             enum E { #[recipe(foo = Bar)] A, #[recipe(X)] #[recipe(Y)] B }",
        );
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(errors[0].starts_with("unknown key `modul`"), "{errors:?}");
        assert!(errors[1].starts_with("expected `crate = ...`"), "{errors:?}");
        assert!(errors[2].starts_with("unknown key `foo`"), "{errors:?}");
        assert!(errors[3].contains("has two"), "{errors:?}");
    }

    #[test]
    fn rejects_structs() {
        let (input, errors) = parse_str("struct S;");
        assert!(input.is_none());
        assert_eq!(errors.len(), 1);
    }
}
