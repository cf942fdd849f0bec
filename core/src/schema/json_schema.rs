//! The JSON Schema (draft 2020-12) of a policy document, for editors (autocompletion and
//! hover through the YAML language server) and for CI tools that do not run MeshGuard.
//!
//! It is generated from the very key lists the reader checks (`POLICY_KEYS`,
//! `RULE_KEYS`, `CONDITION_KEYS`, ...), the effect, rule-order, tier and day tables and
//! the numeric limits, so a key added to the language appears here at once; a key the
//! generator does not describe gets an empty schema, which a test refuses. Every object
//! has `additionalProperties: false`, matching the reader's "unknown keys are errors",
//! except the free-form context keys. The schema is a convenience: the reader stays the
//! judge (it also checks cross-field facts such as duplicate rule names).

use serde_json::{Map, Value, json};

use super::conditions::{
    AGENT_KEYS, CONDITION_KEYS, CONTEXT_OPS, DAYS, LONG_DAYS, RESOURCE_OPS, TIER_OPS, TIME_KEYS,
};
use super::policy::{
    APPLIES_KEYS, AUDIT_KEYS, DEFAULT_EFFECTS, EFFECTS, HITL_KEYS, KIND_KEYS, LOG_LEVELS, MAX_RATE,
    MAX_RETENTION_DAYS, POLICY_KEYS, RATE_KEYS, RULE_KEYS, RULE_ORDERS,
};
use crate::model::TIER_NAMES;

/// The JSON Schema of one policy document (YAML or JSON).
///
/// ```
/// let schema = meshguard_core::policy_json_schema();
/// assert_eq!(schema["required"], serde_json::json!(["name"]));
/// assert_eq!(schema["additionalProperties"], false);
/// ```
pub fn policy_json_schema() -> Value {
    let mut root = object(
        POLICY_KEYS,
        policy_key,
        "A MeshGuard policy: which agents it applies to and the rules that decide their actions.",
    );
    root["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
    root["title"] = json!("MeshGuard policy");
    root["required"] = json!(["name"]);
    root["$defs"] = defs();
    root
}

/// An object whose keys are exactly `keys`, each described by `schema_of`.
fn object(keys: &[&str], schema_of: fn(&str) -> Value, description: &str) -> Value {
    let properties: Map<String, Value> = keys
        .iter()
        .map(|k| ((*k).to_owned(), schema_of(k)))
        .collect();
    json!({
        "type": "object",
        "description": description,
        "additionalProperties": false,
        "properties": properties,
    })
}

/// The same object, which must not be empty (the reader refuses empty blocks).
fn non_empty_object(keys: &[&str], schema_of: fn(&str) -> Value, description: &str) -> Value {
    let mut o = object(keys, schema_of, description);
    o["minProperties"] = json!(1);
    o
}

fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/$defs/{name}") })
}

/// `reference(name)` with a description of its own (shown on hover).
fn described(name: &str, description: &str) -> Value {
    json!({ "$ref": format!("#/$defs/{name}"), "description": description })
}

fn names<T>(table: &[(&'static str, T)]) -> Vec<&'static str> {
    table.iter().map(|(n, _)| *n).collect()
}

fn policy_key(key: &str) -> Value {
    match key {
        "name" => described("nonEmptyString", "Unique name within the set."),
        "version" => json!({
            "type": ["string", "number", "boolean"],
            "description": "Informational version, such as \"1.0\".",
        }),
        "description" => json!({ "type": "string", "description": "Informational description." }),
        "appliesTo" => non_empty_object(
            APPLIES_KEYS,
            applies_key,
            "Which agents the policy applies to: every listed selector must match (a list is \
             any-of). Omit to apply to every request.",
        ),
        "rules" => json!({
            "type": "array",
            "items": reference("rule"),
            "description": "Rules in order; see docs/semantics.md §4 for how they decide.",
        }),
        "defaultEffect" => json!({
            "enum": names(DEFAULT_EFFECTS),
            "description": "The effect when no rule matches (deny when omitted).",
        }),
        "ruleOrder" => json!({
            "enum": names(RULE_ORDERS),
            "description": "specific-first (default): every matching rule is a candidate; \
                            first-match: only the policy's first matching rule is.",
        }),
        "rateLimits" => described("rateLimits", "Per-agent limits for this policy's requests."),
        "humanInTheLoop" => {
            let mut o = object(
                HITL_KEYS,
                |_| described("globs", "Actions whose allow becomes require_approval."),
                "Actions that need a person's approval even when allowed.",
            );
            o["required"] = json!(["requireApproval"]);
            o
        }
        "audit" => object(AUDIT_KEYS, audit_key, "Audit settings, handed to hosts."),
        "resourceKinds" => non_empty_object(
            KIND_KEYS,
            |_| described("globs", "Action patterns whose resource is of this kind."),
            "Actions that carry a kind of resource (shell, path, url, email, plain), beyond \
             the built-in ones; these declarations hold for the whole policy set. See \
             docs/semantics.md §2.8.",
        ),
        _ => json!({}),
    }
}

fn applies_key(key: &str) -> Value {
    match key {
        "tags" => described("strings", "Agent tags; the agent must carry at least one."),
        "trustTiers" => described(
            "tiers",
            "Trust tiers; the agent's tier must be one of them.",
        ),
        "agentIds" => described("strings", "Agent ids."),
        "orgIds" => described("strings", "Organisation ids."),
        _ => json!({}),
    }
}

fn audit_key(key: &str) -> Value {
    match key {
        "enabled" => {
            json!({ "type": "boolean", "description": "Whether decisions are recorded (default true)." })
        }
        "log_level" => json!({ "enum": LOG_LEVELS.iter().map(|(n, _)| *n).collect::<Vec<_>>() }),
        "include" => described("strings", "Fields to record."),
        "retention_days" => {
            json!({ "type": "integer", "minimum": 1, "maximum": MAX_RETENTION_DAYS })
        }
        _ => json!({}),
    }
}

fn rule_key(key: &str) -> Value {
    match key {
        "name" | "id" => described(
            "nonEmptyString",
            "The rule's name (give `name` or `id`, not both); else `<policy>#<n>`.",
        ),
        "effect" => {
            json!({ "enum": names(EFFECTS), "description": "What the rule says when it decides." })
        }
        "actions" => described(
            "globs",
            "Action patterns: `*` any run (also `:` and `/`), `?` one character.",
        ),
        "conditions" => reference("conditions"),
        "reason" => described("nonEmptyString", "The reason given to the caller."),
        "description" => json!({ "type": "string", "description": "Informational description." }),
        _ => json!({}),
    }
}

fn condition_key(key: &str) -> Value {
    match key {
        "resource" => non_empty_object(
            RESOURCE_OPS,
            |op| match op {
                "matches" => described(
                    "globs",
                    "Glob patterns; `**/` at the start also matches nothing.",
                ),
                _ => described("strings", "A string or a list (any of)."),
            },
            "Tests on the canonical resource; all operators must hold.",
        ),
        "context" => json!({
            "type": "object",
            "minProperties": 1,
            "description": "Tests on context keys (dotted keys reach nested objects); a scalar means equality.",
            "propertyNames": { "pattern": "^[^.]+(\\.[^.]+)*$" },
            "additionalProperties": { "anyOf": [reference("scalar"), reference("contextOps")] },
        }),
        "time" => {
            let mut o = object(
                TIME_KEYS,
                time_key,
                "A time window; a request without a time fails it.",
            );
            o["anyOf"] = json!([{ "required": ["between"] }, { "required": ["days"] }]);
            o
        }
        "agent" => non_empty_object(AGENT_KEYS, agent_key, "Tests on the calling agent."),
        "rateLimit" => described(
            "rateLimits",
            "A limit obligation; it does not make the rule conditional.",
        ),
        "resourcePattern" => described("globs", "The same as `resource.matches`."),
        "sandbox" => described(
            "scalar",
            "The same as `context.sandbox` equal to this value.",
        ),
        _ => json!({}),
    }
}

fn context_op(op: &str) -> Value {
    match op {
        "equals" => reference("scalar"),
        "in" | "notIn" | "contains" => reference("scalars"),
        "matches" => reference("globs"),
        "startsWith" => reference("strings"),
        "exists" => json!({ "type": "boolean" }),
        "gt" | "gte" | "lt" | "lte" => json!({ "type": "number" }),
        _ => json!({}),
    }
}

fn time_key(key: &str) -> Value {
    match key {
        "between" => json!({
            "type": "string",
            "pattern": "^\\s*\\d{1,2}:\\d{2}\\s*-\\s*\\d{1,2}:\\d{2}\\s*$",
            "description": "HH:MM-HH:MM in 24-hour time; a start after the end wraps past midnight.",
        }),
        "days" => json!({ "anyOf": [
            reference("day"),
            { "type": "array", "minItems": 1, "items": reference("day") },
        ] }),
        "utcOffset" => json!({
            "type": "string",
            "pattern": "^([+-]\\d{2}:\\d{2}|[Zz])$",
            "description": "+HH:MM or -HH:MM (at most 14:00), or Z; UTC when omitted.",
        }),
        _ => json!({}),
    }
}

fn agent_key(key: &str) -> Value {
    match key {
        "trustTier" => json!({ "anyOf": [
            reference("tier"),
            {
                "type": "object",
                "additionalProperties": false,
                "minProperties": 1,
                "maxProperties": 1,
                "properties": TIER_OPS.iter().map(|op| ((*op).to_owned(), match *op {
                    "in" => reference("tiers"),
                    _ => json!({ "anyOf": [
                        reference("tier"),
                        { "type": "array", "minItems": 1, "maxItems": 1, "items": reference("tier") },
                    ] }),
                })).collect::<Map<String, Value>>(),
            },
        ] }),
        "tags" => described(
            "strings",
            "The agent must carry at least one of these tags.",
        ),
        _ => json!({}),
    }
}

/// Shared definitions.
fn defs() -> Value {
    // Control characters never occur in a valid request, and leading or trailing white
    // space would be literal: the reader refuses both in patterns.
    let glob = json!({
        "type": "string",
        "pattern": "^[^\\s\\u0000-\\u001f\\u007f-\\u009f]([^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f])?$",
    });
    let non_empty = json!({ "type": "string", "minLength": 1 });
    let days: Vec<String> = DAYS
        .iter()
        .chain(LONG_DAYS)
        .flat_map(|d| [(*d).to_owned(), capitalised(d), d.to_uppercase()])
        .collect();
    let mut rule = object(RULE_KEYS, rule_key, "One rule.");
    rule["required"] = json!(["effect", "actions"]);
    rule["not"] = json!({ "required": ["name", "id"] });
    let limit = json!({ "type": "integer", "minimum": 1, "maximum": MAX_RATE });
    json!({
        "nonEmptyString": { "type": "string", "pattern": "\\S" },
        "strings": { "anyOf": [non_empty, { "type": "array", "minItems": 1, "items": non_empty }] },
        "globs": { "anyOf": [glob, { "type": "array", "minItems": 1, "items": glob }] },
        "scalar": { "type": ["string", "number", "boolean", "null"] },
        "scalars": { "anyOf": [
            reference("scalar"),
            { "type": "array", "minItems": 1, "items": reference("scalar") },
        ] },
        "tier": {
            "enum": TIER_NAMES,
            "description": "untrusted < verified < trusted < privileged (anonymous, unverified, \
                            basic and sandboxed mean untrusted).",
        },
        "tiers": { "anyOf": [
            reference("tier"),
            { "type": "array", "minItems": 1, "items": reference("tier") },
        ] },
        "day": { "enum": days },
        "rateLimits": non_empty_object(
            RATE_KEYS,
            |_| reference("limit"),
            "Requests per agent in any 60-second or 3,600-second window.",
        ),
        "rule": rule,
        "conditions": non_empty_object(
            CONDITION_KEYS,
            condition_key,
            "Conditions; all kinds present must hold.",
        ),
        "contextOps": non_empty_object(CONTEXT_OPS, context_op, "Operators; all must hold."),
        "limit": limit,
    })
}

/// `mon` → `Mon`.
fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
