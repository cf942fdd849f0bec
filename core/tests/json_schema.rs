//! The shipped JSON Schema (`schema/meshguard-policy.schema.json`) is the generated one,
//! every example policy validates against it, and typos do not.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::path::Path;

use meshguard_core::policy_json_schema;
use serde_json::{Value, json};

fn repo(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&policy_json_schema()).unwrap()
}

fn yaml(text: &str) -> Value {
    serde_yaml::from_str(text).unwrap()
}

#[test]
fn shipped_schema_is_the_generated_one() {
    let shipped = std::fs::read_to_string(repo("schema/meshguard-policy.schema.json"))
        .expect("schema/meshguard-policy.schema.json: regenerate with `meshguard schema`");
    let shipped: Value = serde_json::from_str(&shipped).unwrap();
    assert!(
        shipped == policy_json_schema(),
        "schema/meshguard-policy.schema.json is stale: run \
         `cargo run -p meshguard-cli -- schema > schema/meshguard-policy.schema.json`"
    );
}

#[test]
fn every_example_policy_validates() {
    let v = validator();
    let mut checked = 0;
    for entry in std::fs::read_dir(repo("policies")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let doc = yaml(&std::fs::read_to_string(&path).unwrap());
        let errors: Vec<String> = v.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        checked += 1;
    }
    assert_eq!(checked, 11);
}

#[test]
fn refuses_what_the_reader_refuses() {
    let v = validator();
    let ok = "name: p\nrules:\n  - {effect: allow, actions: [\"read:*\"]}\n";
    assert!(v.is_valid(&yaml(ok)));
    for bad in [
        "rules: []",
        "name: p\ncondtions: {}",
        "name: p\nrules:\n  - {effect: maybe, actions: [a]}",
        "name: p\nrules:\n  - {effect: allow, actions: []}",
        "name: p\nrules:\n  - {effect: allow, actions: [\" a\"]}",
        "name: p\nrules:\n  - {name: a, id: b, effect: allow, actions: [a]}",
        "name: p\nrules:\n  - {effect: allow, actions: [a], conditions: {}}",
        "name: p\nrules:\n  - {effect: allow, actions: [a], condtions: {sandbox: true}}",
        "name: p\ndefaultEffect: require_approval",
        "name: p\nappliesTo: {trustTiers: [godlike]}",
        "name: p\nrateLimits: {requestsPerMinute: 0}",
        "name: p\nrules:\n  - {effect: deny, actions: [a], conditions: {time: {utcOffset: Z}}}",
        "name: p\nrules:\n  - {effect: deny, actions: [a], conditions: {context: {k: [1]}}}",
        "name: p\nrules:\n  - {effect: deny, actions: [a], conditions: {agent: {trustTier: {atLeast: x}}}}",
    ] {
        assert!(!v.is_valid(&yaml(bad)), "accepted: {bad}");
    }
}

#[test]
fn every_key_of_the_language_is_described() {
    fn walk(v: &Value, path: &str) {
        if let Some(props) = v.get("properties").and_then(Value::as_object) {
            for (k, s) in props {
                assert!(s != &json!({}), "no schema for `{path}.{k}`");
                walk(s, &format!("{path}.{k}"));
            }
        }
        for key in ["anyOf", "items"] {
            match v.get(key) {
                Some(Value::Array(items)) => items.iter().for_each(|i| walk(i, path)),
                Some(item) => walk(item, path),
                None => {}
            }
        }
    }
    let schema = policy_json_schema();
    walk(&schema, "policy");
    for (name, def) in schema["$defs"].as_object().unwrap() {
        walk(def, name);
    }
}
