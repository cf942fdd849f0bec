//! Arbitrary bytes as request JSON against the eleven seed policies: `decide_json` must
//! never panic, and must fail closed (an invalid request is never allowed).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use meshguard_core::{Effect, Mode, PolicySet, Source};

macro_rules! seed {
    ($file:literal) => {
        (
            $file,
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../policies/", $file)),
        )
    };
}

/// The seed policies, embedded at build time so the fuzzer needs no files at run time.
const SEEDS: [(&str, &str); 11] = [
    seed!("autogpt-production.yaml"),
    seed!("autogpt.yaml"),
    seed!("claude-code-dev-assistant.yaml"),
    seed!("claude-code-file.yaml"),
    seed!("claude-code-shell.yaml"),
    seed!("claude-code-web.yaml"),
    seed!("clawdbot-calendar.yaml"),
    seed!("clawdbot-email.yaml"),
    seed!("clawdbot-file.yaml"),
    seed!("clawdbot-messaging.yaml"),
    seed!("clawdbot-web.yaml"),
];

fn set() -> &'static PolicySet {
    static SET: OnceLock<PolicySet> = OnceLock::new();
    SET.get_or_init(|| {
        PolicySet::compile(SEEDS.iter().map(|(n, t)| Source::new(n, t)))
            .unwrap_or_else(|e| panic!("the seed policies must compile: {e}"))
    })
}

fuzz_target!(|data: &[u8]| {
    let explain = data.first().is_some_and(|b| b & 1 == 1);
    let json = String::from_utf8_lossy(data);
    let d = set().decide_json(&json, explain);
    if d.rule.as_ref() == "invalid-request" {
        assert!(!d.allowed, "invalid request allowed: {d:?}");
        assert_eq!(d.effect, Effect::Deny);
    } else {
        assert_eq!(
            d.allowed,
            d.effect == Effect::Allow || d.mode == Mode::Audit
        );
        assert_eq!(d.explanation.is_some(), explain);
    }
    // Every host prints this JSON; it must always serialise.
    assert!(serde_json::to_string(&d).is_ok());
});
