//! PLACEHOLDER — being replaced by the bounded shell splitter (see the helper brief).

use std::borrow::Cow;

use smallvec::SmallVec;

/// The simple commands of a command line, normalised, in source order.
pub(crate) type Parts<'a> = SmallVec<[Cow<'a, str>; 4]>;

/// Why a command line cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShellError {
    /// Placeholder.
    #[error("unexpected `{0}`")]
    Unexpected(String),
}

/// Splits a command line into its simple commands.
pub(crate) fn split(cmd: &str) -> Result<Parts<'_>, ShellError> {
    Ok(cmd
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(Cow::Borrowed)
        .collect())
}
