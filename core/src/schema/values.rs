//! Small typed readers over tree nodes; each reports what it expected.

use crate::error::PolicyError;
use crate::glob::Glob;
use crate::model::Scalar;
use crate::source::{Pos, Span};
use crate::tree::{Key, Kind, Node};

use super::did_you_mean;

/// Collected diagnostics for one file.
pub(crate) type Errors = Vec<PolicyError>;

/// The entries of a mapping whose keys have been checked against the language.
pub(crate) struct Fields<'n> {
    entries: &'n [(Key, Node)],
    /// The mapping's own span.
    pub span: Span,
}

impl<'n> Fields<'n> {
    pub fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(_, v)| v)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Reads a mapping whose keys must come from `known`; unknown keys are reported with the
/// nearest valid one. Returns `None` (after reporting) when the node is not a mapping.
pub(crate) fn fields<'n>(
    node: &'n Node,
    key: &str,
    place: &'static str,
    known: &'static [&'static str],
    errs: &mut Errors,
) -> Option<Fields<'n>> {
    let Kind::Map(entries) = &node.kind else {
        errs.push(wrong_type(key, "a mapping", node));
        return None;
    };
    for (k, _) in entries {
        if !known.contains(&k.name.as_str()) {
            errs.push(PolicyError::UnknownKey {
                key: k.name.clone(),
                place,
                expected: known,
                suggestion: did_you_mean(&k.name, known),
                span: k.span,
            });
        }
    }
    Some(Fields {
        entries,
        span: node.span,
    })
}

/// The entries of a mapping with free-form keys (context keys).
pub(crate) fn entries<'n>(
    node: &'n Node,
    key: &str,
    errs: &mut Errors,
) -> Option<&'n [(Key, Node)]> {
    match &node.kind {
        Kind::Map(entries) => Some(entries),
        _ => {
            errs.push(wrong_type(key, "a mapping", node));
            None
        }
    }
}

pub(crate) fn wrong_type(key: &str, expected: &'static str, node: &Node) -> PolicyError {
    PolicyError::WrongType {
        key: key.to_owned(),
        expected,
        found: node.describe(),
        span: node.span,
    }
}

pub(crate) fn invalid(message: String, help: Option<String>, span: Span) -> PolicyError {
    PolicyError::InvalidValue {
        message,
        help,
        span,
    }
}

/// A string value.
pub(crate) fn string(node: &Node, key: &str, errs: &mut Errors) -> Option<String> {
    match &node.kind {
        Kind::Str(s) => Some(s.clone()),
        _ => {
            errs.push(wrong_type(key, "a string", node));
            None
        }
    }
}

/// A string that must not be empty.
pub(crate) fn non_empty_string(
    node: &Node,
    key: &str,
    help: &'static str,
    errs: &mut Errors,
) -> Option<String> {
    let s = string(node, key, errs)?;
    if s.trim().is_empty() {
        errs.push(PolicyError::Empty {
            key: key.to_owned(),
            help,
            span: node.span,
        });
        return None;
    }
    Some(s)
}

/// Any scalar written as text (informational fields such as `version: 1.0`).
pub(crate) fn text(node: &Node, key: &str, errs: &mut Errors) -> Option<String> {
    match &node.kind {
        Kind::Str(s) => Some(s.clone()),
        Kind::Int(i) => Some(i.to_string()),
        Kind::Float(f) => Some(f.to_string()),
        Kind::Bool(b) => Some(b.to_string()),
        _ => {
            errs.push(wrong_type(key, "a string", node));
            None
        }
    }
}

/// A string or a non-empty list of strings, with each item's span.
pub(crate) fn strings(node: &Node, key: &str, errs: &mut Errors) -> Option<Vec<(String, Span)>> {
    let items: Vec<&Node> = match &node.kind {
        Kind::Str(_) => vec![node],
        Kind::Seq(items) => items.iter().collect(),
        _ => {
            errs.push(wrong_type(key, "a string or a list of strings", node));
            return None;
        }
    };
    if items.is_empty() {
        errs.push(PolicyError::Empty {
            key: key.to_owned(),
            help: "an empty list can never match; give at least one item or remove the key",
            span: node.span,
        });
        return None;
    }
    let before = errs.len();
    let out: Vec<(String, Span)> = items
        .into_iter()
        .filter_map(|item| match &item.kind {
            Kind::Str(s) if s.is_empty() => {
                errs.push(PolicyError::Empty {
                    key: key.to_owned(),
                    help: "an empty string is almost never meant; remove it",
                    span: item.span,
                });
                None
            }
            Kind::Str(s) => Some((s.clone(), item.span)),
            _ => {
                errs.push(wrong_type(key, "a string", item));
                None
            }
        })
        .collect();
    (errs.len() == before).then_some(out)
}

/// Where the text of a string scalar is: its span without the quotes when it is a quoted
/// string on one line with no escapes (the span is then two columns wider than the text),
/// else the scalar's span. Tools point at the pattern, not at its quotes.
pub(crate) fn inner_span(span: Span, text: &str) -> Span {
    let width = u64::try_from(text.chars().count()).unwrap_or(u64::MAX);
    let same_line = span.start.line == span.end.line;
    let quoted = u64::from(span.end.column) == u64::from(span.start.column) + width + 2;
    if same_line && quoted {
        Span {
            start: Pos {
                line: span.start.line,
                column: span.start.column.saturating_add(1),
            },
            end: Pos {
                line: span.end.line,
                column: span.end.column.saturating_sub(1),
            },
        }
    } else {
        span
    }
}

/// Glob patterns: a string or a non-empty list of strings.
pub(crate) fn globs(node: &Node, key: &str, errs: &mut Errors) -> Option<Vec<Glob>> {
    let items = strings(node, key, errs)?;
    let before = errs.len();
    let out: Vec<Glob> = items
        .into_iter()
        .filter_map(|(s, span)| match Glob::new(&s) {
            Ok(g) => Some(g.with_span(inner_span(span, &s))),
            Err(e) => {
                errs.push(PolicyError::InvalidPattern {
                    pattern: crate::error::shown(&s),
                    problem: e.problem(),
                    span,
                });
                None
            }
        })
        .collect();
    (errs.len() == before).then_some(out)
}

pub(crate) fn boolean(node: &Node, key: &str, errs: &mut Errors) -> Option<bool> {
    match node.kind {
        Kind::Bool(b) => Some(b),
        _ => {
            errs.push(wrong_type(key, "`true` or `false`", node));
            None
        }
    }
}

pub(crate) fn number(node: &Node, key: &str, errs: &mut Errors) -> Option<f64> {
    match node.kind {
        Kind::Int(i) => Some(i as f64),
        Kind::Float(f) if f.is_finite() => Some(f),
        _ => {
            errs.push(wrong_type(key, "a finite number", node));
            None
        }
    }
}

/// A whole number from 1 to `max`.
pub(crate) fn count(node: &Node, key: &str, max: u32, errs: &mut Errors) -> Option<u32> {
    match node.kind {
        Kind::Int(i) if i >= 1 && i <= i64::from(max) => u32::try_from(i).ok(),
        Kind::Int(i) => {
            errs.push(invalid(
                format!("`{key}` must be from 1 to {max}, found {i}"),
                None,
                node.span,
            ));
            None
        }
        _ => {
            errs.push(wrong_type(key, "a whole number", node));
            None
        }
    }
}

pub(crate) fn scalar(node: &Node, key: &str, errs: &mut Errors) -> Option<Scalar> {
    match &node.kind {
        Kind::Null => Some(Scalar::Null),
        Kind::Bool(b) => Some(Scalar::Bool(*b)),
        Kind::Int(i) => Some(Scalar::Number(*i as f64)),
        Kind::Float(f) if f.is_finite() => Some(Scalar::Number(*f)),
        Kind::Str(s) => Some(Scalar::String(s.clone())),
        _ => {
            errs.push(wrong_type(key, "a string, number, boolean or null", node));
            None
        }
    }
}

/// A scalar or a non-empty list of scalars.
pub(crate) fn scalars(node: &Node, key: &str, errs: &mut Errors) -> Option<Vec<Scalar>> {
    match &node.kind {
        Kind::Seq(items) if items.is_empty() => {
            errs.push(PolicyError::Empty {
                key: key.to_owned(),
                help: "an empty list can never match; give at least one value",
                span: node.span,
            });
            None
        }
        Kind::Seq(items) => {
            let before = errs.len();
            let out: Vec<Scalar> = items.iter().filter_map(|i| scalar(i, key, errs)).collect();
            (errs.len() == before).then_some(out)
        }
        _ => scalar(node, key, errs).map(|s| vec![s]),
    }
}

/// One word out of a fixed set, with a suggestion when it is near a valid one.
pub(crate) fn one_of<T: Copy>(
    node: &Node,
    key: &str,
    what: &str,
    options: &[(&'static str, T)],
    errs: &mut Errors,
) -> Option<T> {
    let s = string(node, key, errs)?;
    if let Some((_, v)) = options.iter().find(|(name, _)| *name == s) {
        return Some(*v);
    }
    let names: Vec<&'static str> = options.iter().map(|(n, _)| *n).collect();
    let help = match did_you_mean(&s, &names) {
        Some(near) => format!("did you mean `{near}`?"),
        None => format!("expected one of {}", crate::error::list(&names)),
    };
    errs.push(invalid(
        format!("unknown {what} `{s}`"),
        Some(help),
        node.span,
    ));
    None
}
