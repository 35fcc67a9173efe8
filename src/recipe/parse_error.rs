//! The error of parsing a recipe enum from its name.

use std::fmt;

/// A string that names none of a recipe enum's variants.
///
/// The `Err` of the `FromStr` implementation that `#[derive(Recipe)]` generates, so recipes can
/// come from configuration files. It keeps the input and the names that would have been accepted.
///
/// ```
/// use zkcluster::{ParseRecipeError, ZookeeperRecipe};
/// let err: ParseRecipeError = "Mutex".parse::<ZookeeperRecipe>().unwrap_err();
/// assert_eq!(err.input(), "Mutex");
/// assert_eq!(err.expected(), &["ReadLock", "WriteLock", "Semaphore"]);
/// assert_eq!(
///     err.to_string(),
///     "unknown recipe \"Mutex\"; expected one of: ReadLock, WriteLock, Semaphore"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseRecipeError {
    input: String,
    expected: &'static [&'static str],
}

impl ParseRecipeError {
    /// An error for `input`, which is none of `expected`.
    pub fn new(input: impl Into<String>, expected: &'static [&'static str]) -> Self {
        ParseRecipeError { input: input.into(), expected }
    }

    /// The string that was parsed.
    pub fn input(&self) -> &str {
        &self.input
    }

    /// The lock type names of the enum's variants, in declaration order (the variants' own
    /// names, plain or in SCREAMING_SNAKE_CASE, are accepted too).
    pub fn expected(&self) -> &'static [&'static str] {
        self.expected
    }
}

impl fmt::Display for ParseRecipeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown recipe {:?}; ", self.input)?;
        if self.expected.is_empty() {
            return f.write_str("this recipe enum has no variants");
        }
        f.write_str("expected one of: ")?;
        for (i, name) in self.expected.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(name)?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseRecipeError {}
