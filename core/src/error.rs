//! Typed errors, one enum per operation: [`PolicyError`] for loading policy text and
//! [`RequestError`] for checking a request.
//!
//! Messages follow one style so that every host prints the same words: lowercase, no
//! final period, user input in backticks, never a Rust type name. Each policy error
//! carries the [`Span`] of the offending text; [`crate::Diagnostic`] flattens it for hosts.

use crate::source::Span;

/// A problem with a policy text, found while parsing or compiling it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PolicyError {
    /// The text is not well-formed YAML or JSON.
    #[error("{message}")]
    Syntax {
        /// What the parser reported, reworded.
        message: String,
        /// A hint for the usual cause, if one is known.
        help: Option<String>,
        /// Where the parser stopped.
        span: Span,
    },
    /// A key the policy language does not have; never ignored, so a typo cannot
    /// silently drop a condition.
    #[error("unknown key `{key}` in {place}")]
    UnknownKey {
        /// The key as written.
        key: String,
        /// Which mapping it is in (`policy`, `rule`, `conditions`, ...).
        place: &'static str,
        /// The keys that are valid there.
        expected: &'static [&'static str],
        /// The valid key nearest to the one written, if any is near.
        suggestion: Option<&'static str>,
        /// The key.
        span: Span,
    },
    /// The same key twice in one mapping.
    #[error("duplicate key `{key}` (first given on line {first_line})")]
    DuplicateKey {
        /// The key as written.
        key: String,
        /// Line of its first occurrence.
        first_line: u32,
        /// The second occurrence.
        span: Span,
    },
    /// A required key is absent.
    #[error("missing key `{key}` in {place}")]
    MissingKey {
        /// The key that must be given.
        key: &'static str,
        /// Which mapping lacks it.
        place: &'static str,
        /// The mapping.
        span: Span,
    },
    /// A value of the wrong kind (a list where a string belongs, ...).
    #[error("expected {expected} for `{key}`, found {found}")]
    WrongType {
        /// The key whose value is wrong (or a description of the position).
        key: String,
        /// What belongs there.
        expected: &'static str,
        /// What was found.
        found: &'static str,
        /// The value.
        span: Span,
    },
    /// A value of the right kind that is not allowed (an unknown effect, a bad time).
    #[error("{message}")]
    InvalidValue {
        /// What is wrong, naming the value.
        message: String,
        /// What would be valid.
        help: Option<String>,
        /// The value.
        span: Span,
    },
    /// A list or string that must not be empty.
    #[error("`{key}` must not be empty")]
    Empty {
        /// The key whose value is empty.
        key: String,
        /// Why emptiness is refused.
        help: &'static str,
        /// The value.
        span: Span,
    },
    /// A glob pattern that can never do what it seems to say.
    #[error("invalid pattern `{pattern}`: {problem}")]
    InvalidPattern {
        /// The pattern as written.
        pattern: String,
        /// What is wrong with it.
        problem: &'static str,
        /// The pattern.
        span: Span,
    },
    /// Two policies of one set, or two rules of one policy, with the same name.
    #[error("duplicate {what} name `{name}` (first used in {first})")]
    DuplicateName {
        /// `policy` or `rule`.
        what: &'static str,
        /// The name.
        name: String,
        /// Where it was first used (`file:line:column`, or `line N`).
        first: String,
        /// The second use.
        span: Span,
    },
    /// Nesting deeper than the parser accepts.
    #[error("nesting deeper than {limit} levels")]
    TooDeep {
        /// The limit.
        limit: usize,
        /// Where the limit was crossed.
        span: Span,
    },
    /// A text too large to accept, or aliases that expand beyond the node limit.
    #[error("{message}")]
    TooLarge {
        /// Which limit was crossed.
        message: String,
        /// Where.
        span: Span,
    },
    /// A file that holds no policy at all.
    #[error("no policy in this file")]
    NoPolicy {
        /// The start of the file.
        span: Span,
    },
}

impl PolicyError {
    /// A stable, machine-readable code for the kind of problem; the conformance corpus
    /// and every binding use it.
    pub fn code(&self) -> &'static str {
        match self {
            PolicyError::Syntax { .. } => "syntax",
            PolicyError::UnknownKey { .. } => "unknown-key",
            PolicyError::DuplicateKey { .. } => "duplicate-key",
            PolicyError::MissingKey { .. } => "missing-key",
            PolicyError::WrongType { .. } => "wrong-type",
            PolicyError::InvalidValue { .. } => "invalid-value",
            PolicyError::Empty { .. } => "empty",
            PolicyError::InvalidPattern { .. } => "invalid-pattern",
            PolicyError::DuplicateName { .. } => "duplicate-name",
            PolicyError::TooDeep { .. } => "too-deep",
            PolicyError::TooLarge { .. } => "too-large",
            PolicyError::NoPolicy { .. } => "no-policy",
        }
    }

    /// Where the problem is.
    pub fn span(&self) -> Span {
        match self {
            PolicyError::Syntax { span, .. }
            | PolicyError::UnknownKey { span, .. }
            | PolicyError::DuplicateKey { span, .. }
            | PolicyError::MissingKey { span, .. }
            | PolicyError::WrongType { span, .. }
            | PolicyError::InvalidValue { span, .. }
            | PolicyError::Empty { span, .. }
            | PolicyError::InvalidPattern { span, .. }
            | PolicyError::DuplicateName { span, .. }
            | PolicyError::TooDeep { span, .. }
            | PolicyError::TooLarge { span, .. }
            | PolicyError::NoPolicy { span } => *span,
        }
    }

    /// What to do about it, when there is something useful to say.
    pub fn help(&self) -> Option<String> {
        match self {
            PolicyError::Syntax { help, .. } | PolicyError::InvalidValue { help, .. } => {
                help.clone()
            }
            PolicyError::UnknownKey {
                expected,
                suggestion,
                ..
            } => Some(match suggestion {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("expected one of {}", list(expected)),
            }),
            PolicyError::DuplicateKey { .. } => {
                Some("a key may appear once per mapping; merge the two entries".to_owned())
            }
            PolicyError::Empty { help, .. } => Some((*help).to_owned()),
            PolicyError::TooDeep { .. } => {
                Some("policies are shallow documents; flatten the structure".to_owned())
            }
            PolicyError::NoPolicy { .. } => Some(
                "a policy file holds one or more documents, each with at least `name`".to_owned(),
            ),
            _ => None,
        }
    }
}

/// User text as shown inside a message: control characters escaped (`\x01`, `\u{85}`)
/// so a message can never carry an invisible character or a terminal escape.
pub(crate) fn shown(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match u32::from(c) {
            _ if !c.is_control() => out.push(c),
            n @ 0..=0x7f => out.push_str(&format!("\\x{n:02x}")),
            n => out.push_str(&format!("\\u{{{n:x}}}")),
        }
    }
    out
}

/// Formats `a`, `b` and `c` as "`a`, `b`, `c`".
pub(crate) fn list(items: &[&str]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A request that cannot be evaluated. Hosts answer it with a deny (fail closed); see
/// [`crate::PolicySet::decide`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The request is not valid JSON or does not have the request's shape.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// `action` is missing or empty.
    #[error("`action` must be a non-empty string")]
    EmptyAction,
    /// A control character (NUL, newline, escape, ...) in the action or resource.
    #[error("control character {code} in `{field}`")]
    ControlCharacter {
        /// `action` or `resource`.
        field: &'static str,
        /// The character, as `U+0000`.
        code: String,
    },
    /// `time` is not an RFC 3339 instant.
    #[error("`time` must be an RFC 3339 instant such as `2026-01-26T17:30:00Z`, found `{0}`")]
    BadTime(String),
    /// `context` is present but not a JSON object.
    #[error("`context` must be a JSON object")]
    ContextNotObject,
    /// The agent's trust tier is not one the language knows.
    #[error(
        "unknown trust tier `{0}`, expected one of `untrusted`, `verified`, `trusted`, `privileged`"
    )]
    UnknownTier(String),
}
