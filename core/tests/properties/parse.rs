//! Parsing never panics: arbitrary text, deeply nested YAML/JSON and byte-level mutations
//! of the seed policies either parse (and then compile and evaluate failing closed) or give
//! errors that render with 1-based positions.

use meshguard_core::{Agent, PolicySet, Request, Source, parse_policies};
use proptest::prelude::*;

use crate::decide::check_decision;
use crate::support::{JSON_SEEDS, SEED_TAGS, seed_files};

#[derive(Debug, Clone)]
pub(crate) enum Mutation {
    /// Flip one bit of the byte at the position.
    Flip(usize, u8),
    /// Insert a byte (biased towards YAML/JSON syntax).
    Insert(usize, u8),
    /// Delete up to n bytes.
    Delete(usize, usize),
    /// Copy the line at the first position to before the second (duplicate keys, items).
    DupLine(usize, usize),
}

pub(crate) fn mutation() -> impl Strategy<Value = Mutation> {
    let syntax = prop::sample::select(
        &[
            b':', b'-', b' ', b'\n', b'"', b'\'', b'{', b'}', b'[', b']', b',', b'&', b'*', b'!',
            b'|', b'>', b'#', b'\t', b'%', b'@', b'`', b'\\', b'?', b'0', b'a', 0u8, 0xff, 0xc3,
        ][..],
    );
    prop_oneof![
        any::<(usize, u8)>().prop_map(|(p, b)| Mutation::Flip(p, b % 8)),
        (any::<usize>(), prop_oneof![syntax, any::<u8>()])
            .prop_map(|(p, b)| Mutation::Insert(p, b)),
        (any::<usize>(), 1usize..12).prop_map(|(p, n)| Mutation::Delete(p, n)),
        any::<(usize, usize)>().prop_map(|(a, b)| Mutation::DupLine(a, b)),
    ]
}

pub(crate) fn mutate(text: &str, muts: &[Mutation]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for m in muts {
        let len = bytes.len();
        match *m {
            Mutation::Flip(p, bit) if len > 0 => bytes[p % len] ^= 1 << bit,
            Mutation::Insert(p, b) => bytes.insert(p % (len + 1), b),
            Mutation::Delete(p, n) if len > 0 => {
                let start = p % len;
                bytes.drain(start..(start + n).min(len));
            }
            Mutation::DupLine(a, b) if len > 0 => {
                let starts: Vec<usize> = std::iter::once(0)
                    .chain(
                        bytes
                            .iter()
                            .enumerate()
                            .filter(|&(_, &c)| c == b'\n')
                            .map(|(i, _)| i + 1),
                    )
                    .filter(|&i| i < len)
                    .collect();
                let from = starts[a % starts.len()];
                let end = bytes[from..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(len, |i| from + i + 1);
                let line = bytes[from..end].to_vec();
                let to = starts[b % starts.len()];
                bytes.splice(to..to, line);
            }
            _ => {}
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Parses `text` as YAML and as JSON; whatever compiles is also evaluated.
fn parse_everything(text: &str) -> Result<(), TestCaseError> {
    for name in ["x.yaml", "x.json"] {
        let parsed = parse_policies(&Source::new(name, text));
        match parsed {
            Ok(policies) => {
                prop_assert!(!policies.is_empty());
                if let Ok(set) = PolicySet::compile([Source::new(name, text)]) {
                    for action in ["write:email", "browse:web", "execute:python", "*"] {
                        let req = Request {
                            action: action.to_owned(),
                            resource: Some("bob@yourcompany.com".to_owned()),
                            agent: Some(Agent {
                                tags: SEED_TAGS.iter().map(|t| (*t).to_owned()).collect(),
                                trust_tier: Some("trusted".to_owned()),
                                ..Agent::default()
                            }),
                            ..Request::default()
                        };
                        let d = set.decide(&req, true);
                        check_decision(None, &d, true)?;
                    }
                }
            }
            Err(errors) => {
                prop_assert!(!errors.is_empty(), "an error result must hold an error");
                for e in &errors {
                    // Diagnostics render and carry 1-based positions.
                    let diag = meshguard_core::Diagnostic::new(name, e);
                    prop_assert!(diag.line >= 1 && diag.column >= 1, "{diag:?}");
                    prop_assert!(!diag.to_string().is_empty());
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(crate::config())]

    #[test]
    fn parse_never_panics_on_arbitrary_text(s in prop_oneof![
        any::<String>(),
        "[a-zA-Z:\\-\\[\\]{}\"', \n&*!|>#%@?]{0,80}",
    ]) {
        parse_everything(&s)?;
    }

    #[test]
    fn parse_never_panics_on_deep_nesting(
        opener in prop::sample::select(&["[", "{\"a\": ", "- ", "a:\n  ", "&x [", "? "][..]),
        depth in prop_oneof![3 => 0usize..300, 1 => 0usize..20_000],
        close in any::<bool>(),
    ) {
        let mut s = opener.repeat(depth);
        if close {
            s.push_str(&"]".repeat(depth));
        }
        parse_everything(&s)?;
    }

    #[test]
    fn parse_never_panics_on_mutated_seed_policies(
        file in any::<prop::sample::Index>(),
        json in any::<bool>(),
        muts in prop::collection::vec(mutation(), 1..6),
    ) {
        let text = if json {
            JSON_SEEDS[file.index(JSON_SEEDS.len())]
        } else {
            let files = seed_files();
            files[file.index(files.len())].1.as_str()
        };
        let mutated = mutate(text, &muts);
        parse_everything(&mutated)?;
    }
}
