//! Policy text (arbitrary bytes, read as lossy UTF-8) must parse or fail with diagnostics,
//! as YAML and as JSON, never panic, hang or overflow the stack. Whatever compiles is
//! also evaluated once.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meshguard_core::{Agent, Diagnostic, PolicySet, Request, Source, parse_policies};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for name in ["fuzz.yaml", "fuzz.json"] {
        match parse_policies(&Source::new(name, &text)) {
            Ok(policies) => {
                assert!(!policies.is_empty(), "a parsed file holds a policy");
                if let Ok(set) = PolicySet::compile([Source::new(name, &text)]) {
                    let request = Request {
                        action: "write:email".to_owned(),
                        resource: Some("bob@yourcompany.com".to_owned()),
                        agent: Some(Agent {
                            tags: vec!["clawdbot".to_owned(), "autogpt".to_owned()],
                            trust_tier: Some("trusted".to_owned()),
                            ..Agent::default()
                        }),
                        ..Request::default()
                    };
                    let _ = set.decide(&request, true);
                }
            }
            Err(errors) => {
                assert!(!errors.is_empty(), "an error result holds an error");
                for e in &errors {
                    let d = Diagnostic::new(name, e);
                    assert!(d.line >= 1 && d.column >= 1, "1-based positions: {d:?}");
                    let _ = d.to_string();
                }
            }
        }
    }
});
