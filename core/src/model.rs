//! The typed policy model: what a policy file means once it has been read and checked.
//!
//! Values here are already validated (globs built, times parsed), so evaluation never
//! meets a malformed policy. Spans are kept where tools (lint, explain) point back at text.

use serde::{Deserialize, Serialize};

use crate::glob::Glob;
use crate::source::Span;

/// What a rule, a default or a decision says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// The action may go ahead.
    Allow,
    /// The action must not happen.
    Deny,
    /// A person must approve the action first.
    RequireApproval,
}

impl Effect {
    /// The spelling used in policies and decisions.
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "allow",
            Effect::Deny => "deny",
            Effect::RequireApproval => "require_approval",
        }
    }

    /// Precedence under deny-wins: deny beats require_approval beats allow.
    pub(crate) fn rank(self) -> u8 {
        match self {
            Effect::Allow => 0,
            Effect::RequireApproval => 1,
            Effect::Deny => 2,
        }
    }
}

/// Trust tiers, ordered from least to most trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrustTier {
    /// Unknown or unproven agents (`anonymous`, `unverified`, `basic`, `sandboxed` are aliases).
    Untrusted,
    /// Identity checked.
    Verified,
    /// Trusted for ordinary work.
    Trusted,
    /// Trusted for privileged work.
    Privileged,
}

impl TrustTier {
    /// Every tier, in order.
    pub const ALL: [TrustTier; 4] = [
        TrustTier::Untrusted,
        TrustTier::Verified,
        TrustTier::Trusted,
        TrustTier::Privileged,
    ];

    /// Reads a tier name or one of its aliases.
    pub fn parse(s: &str) -> Option<TrustTier> {
        Some(match s {
            "untrusted" | "anonymous" | "unverified" | "basic" | "sandboxed" => {
                TrustTier::Untrusted
            }
            "verified" => TrustTier::Verified,
            "trusted" => TrustTier::Trusted,
            "privileged" => TrustTier::Privileged,
            _ => return None,
        })
    }

    /// The canonical name.
    pub fn as_str(self) -> &'static str {
        match self {
            TrustTier::Untrusted => "untrusted",
            TrustTier::Verified => "verified",
            TrustTier::Trusted => "trusted",
            TrustTier::Privileged => "privileged",
        }
    }
}

/// Names accepted for trust tiers, for messages and suggestions.
pub(crate) const TIER_NAMES: &[&str] = &[
    "untrusted",
    "verified",
    "trusted",
    "privileged",
    "anonymous",
    "unverified",
    "basic",
    "sandboxed",
];

/// How the rules of one policy become candidates (docs/semantics.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum RuleOrder {
    /// Every matching rule is a candidate; conditional rules outrank unconditional ones.
    #[default]
    #[serde(rename = "specific-first")]
    SpecificFirst,
    /// Only the first matching rule of the policy is a candidate.
    #[serde(rename = "first-match")]
    FirstMatch,
}

/// One policy document.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Unique name within a set.
    pub name: String,
    /// Where the name is written.
    pub name_span: Span,
    /// Informational version.
    pub version: Option<String>,
    /// Informational description.
    pub description: Option<String>,
    /// Which agents the policy applies to; `None` means every request.
    pub applies_to: Option<AppliesTo>,
    /// Rules in file order.
    pub rules: Vec<Rule>,
    /// The effect when no rule matches (`deny` unless written otherwise).
    pub default_effect: Effect,
    /// How rules become candidates.
    pub rule_order: RuleOrder,
    /// Per-agent limits for requests this policy applies to.
    pub rate_limits: Option<RateLimit>,
    /// Action patterns that need a person's approval even when allowed.
    pub require_approval: Vec<Glob>,
    /// The audit settings, kept for hosts.
    pub audit: Option<std::sync::Arc<AuditSettings>>,
    /// `resourceKinds`: actions this policy declares to carry a kind of resource. The
    /// declarations hold for the whole set (a request's resource is read once, before
    /// any policy looks at it); see `docs/semantics.md` §8.
    pub resource_kinds: Vec<KindDeclaration>,
}

/// What a resource is, which decides what patterns are tested against
/// (`docs/semantics.md` §2.8): the commands of a shell line, the host a URL connects to,
/// the file a path names, every address of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResourceKind {
    /// A shell command line, decided command by command.
    Shell,
    /// A URL, read as a browser reads it.
    Url,
    /// A file path, with dot segments resolved.
    Path,
    /// An email address or a list of them, decided address by address.
    Email,
    /// Anything else, matched as written.
    Plain,
}

impl ResourceKind {
    /// The spelling used in `resourceKinds` and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Shell => "shell",
            ResourceKind::Url => "url",
            ResourceKind::Path => "path",
            ResourceKind::Email => "email",
            ResourceKind::Plain => "plain",
        }
    }
}

/// One `resourceKinds` entry: the actions whose resource is of `kind`.
#[derive(Debug, Clone)]
pub struct KindDeclaration {
    /// The kind declared.
    pub kind: ResourceKind,
    /// Action patterns, any of which selects the action.
    pub actions: Vec<Glob>,
}

/// `appliesTo` selectors; each listed selector must match, a list inside is any-of.
#[derive(Debug, Clone, Default)]
pub struct AppliesTo {
    /// Agent tags, any of which selects the agent.
    pub tags: Option<Vec<String>>,
    /// Trust tiers, any of which selects the agent.
    pub trust_tiers: Option<Vec<TrustTier>>,
    /// Agent ids.
    pub agent_ids: Option<Vec<String>>,
    /// Organisation ids.
    pub org_ids: Option<Vec<String>>,
    /// Where each of `tags` is written, in the same order (empty when not read from text).
    pub tag_spans: Vec<Span>,
}

/// One rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The rule's `name` or `id`, else `<policy>#<n>` counting from 1.
    pub id: String,
    /// Where the `name` or `id` is written; for a generated id, the rule's head: the rule
    /// when it is written on one line, else its start to the end of its first entry
    /// (`effect: allow`).
    pub id_span: Span,
    /// What the rule says when it decides.
    pub effect: Effect,
    /// Action patterns, any of which selects the action.
    pub actions: Vec<Glob>,
    /// Conditions, all of which must hold.
    pub conditions: Conditions,
    /// The reason given to the caller, if the author wrote one.
    pub reason: Option<String>,
    /// Informational description.
    pub description: Option<String>,
    /// The rule's mapping in the source.
    pub span: Span,
}

/// A rule's conditions. Kinds are ANDed; see docs/semantics.md §2.
#[derive(Debug, Clone, Default)]
pub struct Conditions {
    /// Tests on the canonical resource, all of which must hold.
    pub resource: Vec<ResourceTest>,
    /// Tests on context keys, all of which must hold.
    pub context: Vec<ContextTest>,
    /// A time window.
    pub time: Option<TimeWindow>,
    /// Tests on the calling agent.
    pub agent: Option<AgentTest>,
    /// A rate limit obligation; it does not make the rule conditional.
    pub rate_limit: Option<RateLimit>,
    /// Where the operands of `resource` operators are written, for tools that point at
    /// them (`matches` patterns also carry their own [`Glob::span`]).
    pub operand_spans: Vec<OperandSpan>,
}

impl Conditions {
    /// Whether the rule states anything beyond its actions (docs/semantics.md §4: specific first).
    pub fn is_conditional(&self) -> bool {
        !self.resource.is_empty()
            || !self.context.is_empty()
            || self.time.is_some()
            || self.agent.is_some()
    }
}

/// One resource operator with its any-of operands.
// A rule holds a handful of these, built once per compile; keeping the search structures
// inline saves the hot path an indirection.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum ResourceTest {
    /// Glob match against any pattern.
    Matches(ResourceGlobs),
    /// Starts with any prefix.
    StartsWith(Vec<String>),
    /// Ends with any suffix.
    EndsWith(Vec<String>),
    /// Contains any substring.
    Contains(crate::substrings::Substrings),
    /// Equals any value.
    Equals(Vec<String>),
}

impl ResourceTest {
    /// The operator's name as written in policies.
    pub fn operator(&self) -> &'static str {
        match self {
            ResourceTest::Matches(_) => "matches",
            ResourceTest::StartsWith(_) => "startsWith",
            ResourceTest::EndsWith(_) => "endsWith",
            ResourceTest::Contains(_) => "contains",
            ResourceTest::Equals(_) => "equals",
        }
    }
}

/// The operands of a resource `matches`, grouped for URLs: on a URL resource a host
/// pattern (see [`is_host_pattern`]) tests the host alone, every other pattern the whole
/// URL (`docs/semantics.md` §2.11).
#[derive(Debug, Clone)]
pub struct ResourceGlobs {
    /// Every pattern, for resources that are not URLs.
    pub all: Box<crate::glob::GlobSet>,
    /// The host patterns, for a URL's host.
    host: Option<Box<crate::glob::GlobSet>>,
    /// The other patterns, for a whole URL.
    whole: Option<Box<crate::glob::GlobSet>>,
}

impl ResourceGlobs {
    /// Groups `globs`.
    pub fn new(globs: Vec<Glob>) -> Self {
        let (host, whole): (Vec<Glob>, Vec<Glob>) = globs
            .iter()
            .cloned()
            .partition(|g| is_host_pattern(g.as_str()));
        let group = |v: Vec<Glob>| (!v.is_empty()).then(|| Box::new(crate::glob::GlobSet::new(v)));
        ResourceGlobs {
            all: Box::new(crate::glob::GlobSet::new(globs)),
            host: group(host),
            whole: group(whole),
        }
    }

    /// The patterns, as written, in order.
    pub fn globs(&self) -> &[Glob] {
        self.all.globs()
    }

    /// Whether a pattern that is not a host pattern matches `text`.
    pub(crate) fn matches_whole(&self, text: &str) -> bool {
        self.whole.as_ref().is_some_and(|g| g.matches(text))
    }

    /// Whether any pattern matches the URL `url` whose host is `host`.
    pub(crate) fn matches_url(&self, url: &str, host: &str) -> bool {
        self.host.as_ref().is_some_and(|g| g.matches(host))
            || self.whole.as_ref().is_some_and(|g| g.matches(url))
    }
}

/// Whether a `matches` or `equals` operand is a host pattern: it has no `/` and no `:`,
/// so on a URL it can only be meant for the host (`*.onion`, `github.com`).
pub fn is_host_pattern(pattern: &str) -> bool {
    !pattern.contains(['/', ':'])
}

/// A scalar written in a policy, compared with JSON values from the request context.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// Any number; compared numerically.
    Number(f64),
    /// A string.
    String(String),
}

/// The tests on one context key.
#[derive(Debug, Clone)]
pub struct ContextTest {
    /// The key as written (`ticket.sensitivity`).
    pub key: String,
    /// The key split on dots, the path into nested objects.
    pub path: Vec<String>,
    /// Operators, all of which must hold.
    pub ops: Vec<ContextOp>,
}

/// One operator on a context value.
#[derive(Debug, Clone)]
pub enum ContextOp {
    /// Equal to the scalar.
    Equals(Scalar),
    /// Equal to one of the scalars.
    In(Vec<Scalar>),
    /// Present and equal to none of the scalars.
    NotIn(Vec<Scalar>),
    /// A string matching any glob.
    Matches(Vec<Glob>),
    /// A string starting with any prefix.
    StartsWith(Vec<String>),
    /// A string containing any operand, or a list containing any operand as an element.
    Contains(Vec<Scalar>),
    /// Present (`true`) or absent (`false`).
    Exists(bool),
    /// A number greater than.
    Gt(f64),
    /// A number greater than or equal to.
    Gte(f64),
    /// A number less than.
    Lt(f64),
    /// A number less than or equal to.
    Lte(f64),
}

impl ContextOp {
    /// The operator's name as written in policies.
    pub fn operator(&self) -> &'static str {
        match self {
            ContextOp::Equals(_) => "equals",
            ContextOp::In(_) => "in",
            ContextOp::NotIn(_) => "notIn",
            ContextOp::Matches(_) => "matches",
            ContextOp::StartsWith(_) => "startsWith",
            ContextOp::Contains(_) => "contains",
            ContextOp::Exists(_) => "exists",
            ContextOp::Gt(_) => "gt",
            ContextOp::Gte(_) => "gte",
            ContextOp::Lt(_) => "lt",
            ContextOp::Lte(_) => "lte",
        }
    }
}

/// A time window in a fixed UTC offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeWindow {
    /// Minutes after local midnight, start inclusive and end exclusive; a start after the
    /// end wraps past midnight (`22:00-06:00`).
    pub between: Option<(u16, u16)>,
    /// Allowed weekdays as a bit set, bit 0 = Monday.
    pub days: Option<u8>,
    /// The offset from UTC in minutes (`+02:00` is 120); UTC when not written.
    pub utc_offset_minutes: i32,
}

/// Tests on the calling agent.
#[derive(Debug, Clone, Default)]
pub struct AgentTest {
    /// A trust-tier test.
    pub trust_tier: Option<TierTest>,
    /// Tags, any of which the agent must carry.
    pub tags: Option<Vec<String>>,
    /// Where each of `tags` is written, in the same order (empty when not read from text).
    pub tag_spans: Vec<Span>,
}

/// A trust-tier comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TierTest {
    /// At least this tier.
    AtLeast(TrustTier),
    /// At most this tier.
    AtMost(TrustTier),
    /// One of these tiers.
    In(Vec<TrustTier>),
}

/// Request limits per agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    /// Requests in any 60-second window.
    pub requests_per_minute: Option<u32>,
    /// Requests in any 3,600-second window.
    pub requests_per_hour: Option<u32>,
}

/// The `audit` block, kept and handed to hosts as an obligation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditSettings {
    /// Whether decisions under this policy are recorded (hosts may record more).
    pub enabled: bool,
    /// `debug`, `info`, `warn` or `error`.
    pub log_level: Option<String>,
    /// Fields to record.
    pub include: Vec<String>,
    /// How long to keep entries.
    pub retention_days: Option<u32>,
}

/// Where one operand of a resource operator is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperandSpan {
    /// The operator, as [`ResourceTest::operator`] names it.
    pub operator: &'static str,
    /// The operand as written.
    pub operand: String,
    /// Its text in the source (without the quotes of a quoted string).
    pub span: Span,
}

impl Conditions {
    /// Where the operand `operand` of the resource operator `operator` is written (the
    /// first such operand when it is written twice); `None` when not read from text.
    pub fn operand_span(&self, operator: &str, operand: &str) -> Option<Span> {
        self.operand_spans
            .iter()
            .find(|o| o.operator == operator && o.operand == operand)
            .map(|o| o.span)
    }
}
