//! Alias expansion: aliases copy what their anchor names, wherever it lies in the tree,
//! and the copies are bounded in nodes and in bytes before they are made.

// Tests: a failed expectation should stop loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::{Kind, MAX_EXPANDED_BYTES, NODE_BYTES, Node, parse};
use crate::error::PolicyError;
use crate::source::Format;

/// The tree without spans, to compare a text with aliases to the same text written out.
fn shape(node: &Node) -> String {
    match &node.kind {
        Kind::Null => "~".to_owned(),
        Kind::Bool(b) => b.to_string(),
        Kind::Int(i) => i.to_string(),
        Kind::Float(f) => f.to_string(),
        Kind::Str(s) => format!("{s:?}"),
        Kind::Seq(items) => format!(
            "[{}]",
            items.iter().map(shape).collect::<Vec<_>>().join(", ")
        ),
        Kind::Map(entries) => format!(
            "{{{}}}",
            entries
                .iter()
                .map(|(k, v)| format!("{}: {}", k.name, shape(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn shapes(text: &str) -> Vec<String> {
    parse(text, Format::Yaml)
        .unwrap_or_else(|e| panic!("{text}: {e:?}"))
        .iter()
        .map(shape)
        .collect()
}

#[test]
fn aliases_copy_their_anchor_wherever_it_lies() {
    for (with_aliases, written_out) in [
        // In a list still open, finished a moment ago.
        ("r: [&a [x, y], *a]", "r: [[x, y], [x, y]]"),
        // Deep in a mapping that is finished, from a sibling.
        (
            "a: {b: &m {c: [1, 2]}}\nd: *m",
            "a: {b: {c: [1, 2]}}\nd: {c: [1, 2]}",
        ),
        // An anchor inside an anchor, and the outer one holding an alias.
        (
            "a: &o [&i [1], *i]\nb: *o\nc: *i",
            "a: [[1], [1]]\nb: [[1], [1]]\nc: [1]",
        ),
        // A document's root, from a later document.
        (
            "--- &r [1, {k: v}]\n--- [*r, *r]",
            "--- [1, {k: v}]\n--- [[1, {k: v}], [1, {k: v}]]",
        ),
        // Scalars, and an alias as a mapping key.
        ("a: &s k\nb: {*s : *s}", "a: k\nb: {k: k}"),
        // Block style, an anchored mapping used as a value further down.
        (
            "defs:\n  shell: &sh\n    contains: [rm, sudo]\nrules:\n  - when: *sh\n  - when: *sh",
            "defs: {shell: {contains: [rm, sudo]}}\nrules: [{when: {contains: [rm, sudo]}}, {when: {contains: [rm, sudo]}}]",
        ),
    ] {
        assert_eq!(shapes(with_aliases), shapes(written_out), "{with_aliases}");
    }
}

fn too_large(text: &str) -> (u32, u32, String) {
    match parse(text, Format::Yaml) {
        Err(PolicyError::TooLarge { message, span }) => {
            (span.start.line, span.start.column, message)
        }
        other => panic!("expected too-large, got {other:?}"),
    }
}

/// A text of about 1 MiB: one string of 1 MiB and 3,000 aliases of it. Copying each alias
/// would take 3 GB (the process used to abort); the bound refuses the alias that would
/// cross 16 MiB before copying it, so this takes a few copies of 1 MiB at most.
#[test]
fn thousands_of_aliases_of_a_long_string_stop_at_the_byte_bound() {
    let long = "x".repeat(1 << 20);
    let mut text = format!("name: p\nbig: &s \"{long}\"\nmany:\n");
    for _ in 0..3_000 {
        text.push_str("  - *s\n");
    }
    assert!(text.len() < (1 << 20) + 30_000);
    // Before the first alias: the root mapping, keys `name`, `big`, `many`, the value `p`,
    // the string and the list.
    let before = 7 * NODE_BYTES + 4 + 3 + 4 + 1 + (1 << 20);
    let per_alias = NODE_BYTES + (1 << 20);
    let crossing = (MAX_EXPANDED_BYTES - before) / per_alias + 1;
    assert_eq!(crossing, 15);
    let (line, column, message) = too_large(&text);
    assert_eq!((line, column), (3 + crossing as u32, 5));
    assert_eq!(
        message,
        "document expands to more than 16777216 bytes (aliases included)"
    );
    // One alias fewer than the crossing one is accepted.
    let fits = format!(
        "name: p\nbig: &s \"{long}\"\nmany:\n{}",
        "  - *s\n".repeat(crossing - 1)
    );
    assert!(parse(&fits, Format::Yaml).is_ok());
}

/// Aliases of a list count everything the list holds, aliases expanded, in bytes too.
#[test]
fn nested_aliases_of_strings_stop_at_the_byte_bound() {
    let s = "y".repeat(4_000);
    let text = format!(
        "a: &a \"{s}\"\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c]\n"
    );
    // `d` would hold 512 copies of 4,000 bytes (2 MB): accepted.
    assert!(parse(&text, Format::Yaml).is_ok());
    let text = format!("{text}e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n");
    let (line, _, message) = too_large(&text);
    assert_eq!(line, 5);
    assert!(message.contains("bytes"), "{message}");
}

/// The node bound still comes first where both are crossed by the same alias.
#[test]
fn many_small_nodes_stop_at_the_node_bound() {
    let text = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
    let (line, _, message) = too_large(text);
    assert_eq!(line, 6);
    assert!(message.contains("200000 nodes"), "{message}");
}
