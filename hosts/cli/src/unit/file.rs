//! The tests file: which policies to load and the requests with the decisions they must
//! get.
//!
//! ```yaml
//! policies: [../claude-code-file.yaml, ../claude-code-shell.yaml]  # relative to this file
//! tests:
//!   - name: reads a source file
//!     agent: {tags: [claude-code]}
//!     action: read:file
//!     resource: ./src/main.rs
//!     expect: allow
//!   - name: never reads .env
//!     agent: {id: dev-1, tags: [claude-code], trustTier: verified}
//!     action: read:file
//!     resource: ./config/.env
//!     expect: {effect: deny, policy: claude-code-file-policy, reason: credential}
//! ```
//!
//! Also per test: `context` (a mapping), `time` (RFC 3339), `mode` (`enforce`/`audit`).
//! `expect` is an effect, or a mapping with `effect` and optionally `rule`, `policy`
//! (equal) and `reason` (contained in the decision's reason). Unknown keys are errors,
//! as in policies: a misspelt `expct` must not turn a test into one that cannot fail.

use std::fmt;
use std::path::{Path, PathBuf};

use meshguard_core::{Agent, Effect, Mode};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

/// Largest tests file read.
const MAX_FILE: u64 = 16 * 1024 * 1024;

/// A tests file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestFile {
    /// Policy files and directories, relative to the tests file, loaded in this order.
    pub policies: Vec<PathBuf>,
    /// The tests, run in order.
    pub tests: Vec<TestCase>,
}

/// One request and the decision it must get.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TestCase {
    /// What the test is called in reports.
    pub name: String,
    /// The calling agent; none when omitted.
    #[serde(default)]
    pub agent: Option<Agent>,
    /// The action.
    pub action: String,
    /// The resource.
    #[serde(default)]
    pub resource: Option<String>,
    /// Context facts.
    #[serde(default)]
    pub context: Option<serde_json::Value>,
    /// The instant (RFC 3339).
    #[serde(default)]
    pub time: Option<String>,
    /// `enforce` (default) or `audit`.
    #[serde(default)]
    pub mode: Option<Mode>,
    /// The decision it must get.
    pub expect: ExpectField,
}

/// What a decision must say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The effect.
    pub effect: Effect,
    /// The deciding rule, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The deciding policy, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// Text the reason must contain, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The `expect` key: an effect alone, or the whole mapping.
#[derive(Debug)]
pub struct ExpectField(pub Expect);

impl<'de> Deserialize<'de> for ExpectField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ExpectField;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "`allow`, `deny`, `require_approval`, or {effect, rule, policy, reason}",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ExpectField, E> {
                let effect = Effect::deserialize(de::value::StrDeserializer::<E>::new(v))?;
                Ok(ExpectField(Expect {
                    effect,
                    rule: None,
                    policy: None,
                    reason: None,
                }))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ExpectField, A::Error> {
                Expect::deserialize(de::value::MapAccessDeserializer::new(map)).map(ExpectField)
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// Reads and parses a tests file; one line naming the file (and position) on failure.
pub fn read(path: &Path) -> Result<TestFile, String> {
    use std::io::Read;
    let name = path.display();
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE + 1).read_to_end(&mut bytes))
        .map_err(|e| format!("cannot read `{name}`: {e}"))?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > MAX_FILE {
        return Err(format!("`{name}` is too large to be a tests file"));
    }
    let text = String::from_utf8(bytes).map_err(|_| format!("`{name}` is not UTF-8 text"))?;
    let file: TestFile = serde_yaml::from_str(&text).map_err(|e| match e.location() {
        Some(at) => format!("{name}:{}:{}: {e}", at.line(), at.column()),
        None => format!("{name}: {e}"),
    })?;
    if file.policies.is_empty() {
        return Err(format!(
            "{name}: `policies` is empty; list the policy files to test"
        ));
    }
    if file.tests.is_empty() {
        return Err(format!(
            "{name}: `tests` is empty; a tests file without tests proves nothing"
        ));
    }
    Ok(file)
}
