//! Compiling policy texts into an immutable, indexed [`PolicySet`].
//!
//! Compilation does everything that does not depend on a request: it parses, validates,
//! builds matchers, resolves rule ids and reasons, and builds two indexes so a request
//! touches only what can concern it:
//! - policies by `appliesTo` selector (tag, agent id, org id, trust tier), so an agent
//!   sees only its own policies among thousands;
//! - each policy's rules by action verb (the literal text before the first `:`), so
//!   `write:email` never looks at `read:*` rules.

use rustc_hash::FxHashMap as HashMap;
use std::sync::Arc;

use crate::boundary::{Diagnostic, RateLimitObligation};
use crate::error::PolicyError;
use crate::glob::Glob;
use crate::model::{Effect, Policy, RateLimit, ResourceKind, TrustTier};
use crate::source::{Source, Span};
use crate::{schema, tree};

/// A compiled, immutable set of policies. Cheap to share across threads (`Send + Sync`);
/// evaluate with [`PolicySet::decide`].
#[derive(Debug, Clone)]
pub struct PolicySet {
    pub(crate) policies: Vec<CompiledPolicy>,
    /// Policies without `appliesTo`: they apply to every request.
    pub(crate) universal: Vec<u32>,
    /// Whether some policy lists more than one kind of selector (its index bucket is then
    /// not proof enough that it applies; see [`CompiledPolicy::check_applies`]).
    pub(crate) check_applies: bool,
    /// Policies with selectors, indexed by the first selector they list.
    pub(crate) by_tag: HashMap<String, Vec<u32>>,
    pub(crate) by_agent_id: HashMap<String, Vec<u32>>,
    pub(crate) by_org_id: HashMap<String, Vec<u32>>,
    pub(crate) by_tier: [Vec<u32>; 4],
    /// The answer when no policy applies (`docs/semantics.md` §4.4): deny unless the
    /// host says otherwise.
    pub(crate) fallback: Effect,
    /// Every `resourceKinds` declaration of the set, in load order.
    pub(crate) kind_declarations: Vec<(Glob, ResourceKind)>,
    /// The literal actions and verbs the rule indexes of the policies name, numbered: a
    /// request looks its action and verb up once, and each applicable policy then finds
    /// its rules by number instead of hashing the strings again.
    pub(crate) names: Names,
    /// The rule and policy names decisions use most, shared rather than allocated for
    /// every decision.
    pub(crate) words: Words,
}

/// Shared copies of the generated policy and rule names.
#[derive(Debug, Clone)]
pub(crate) struct Words {
    pub default: Arc<str>,
    pub default_effect: Arc<str>,
    pub human_in_the_loop: Arc<str>,
    pub unreadable_resource: Arc<str>,
}

impl Default for Words {
    fn default() -> Self {
        Words {
            default: Arc::from("default"),
            default_effect: Arc::from("defaultEffect"),
            human_in_the_loop: Arc::from("humanInTheLoop"),
            unreadable_resource: Arc::from("unreadable-resource"),
        }
    }
}

/// Action and verb names, numbered in order of first appearance.
#[derive(Debug, Clone, Default)]
pub(crate) struct Names {
    pub actions: HashMap<Box<str>, u32>,
    pub verbs: HashMap<Box<str>, u32>,
}

/// Rule indices by the number of a name, sorted by number, each list ascending.
pub(crate) type RuleIndex = Vec<(u32, Box<[u32]>)>;

/// The ascending rule indices `index` holds for the name numbered `id`.
pub(crate) fn rules_for(index: &RuleIndex, id: Option<u32>) -> &[u32] {
    id.and_then(|id| {
        index
            .binary_search_by_key(&id, |(k, _)| *k)
            .ok()
            .and_then(|at| index.get(at))
    })
    .map_or(&[][..], |(_, rules)| rules)
}

fn intern(names: &mut HashMap<Box<str>, u32>, name: &str) -> u32 {
    if let Some(&id) = names.get(name) {
        return id;
    }
    let id = u32::try_from(names.len()).unwrap_or(u32::MAX);
    names.insert(name.into(), id);
    id
}

/// Groups `(name number, rule)` pairs, pushed in ascending rule order, into an index.
fn rule_index(pairs: Vec<(u32, u32)>) -> RuleIndex {
    let mut by: HashMap<u32, Vec<u32>> = HashMap::default();
    for (id, rule) in pairs {
        by.entry(id).or_default().push(rule);
    }
    let mut index: RuleIndex = by
        .into_iter()
        .map(|(id, rules)| (id, rules.into_boxed_slice()))
        .collect();
    index.sort_unstable_by_key(|(id, _)| *id);
    index
}

#[derive(Debug, Clone)]
pub(crate) struct CompiledPolicy {
    pub policy: Policy,
    /// Whether finding the policy through its index bucket is not proof enough that it
    /// applies (it lists more than one kind of selector).
    pub check_applies: bool,
    pub name: Arc<str>,
    pub rules: Vec<CompiledRule>,
    /// Rules whose every action pattern is literal, by action number ([`Names`]),
    /// ascending: most rules name their actions outright, and looking the action up skips
    /// the others unmatched.
    pub by_action: RuleIndex,
    /// Rules with a pattern whose verb is literal (`read:*`), by verb number, ascending.
    pub by_verb: RuleIndex,
    /// Rules with a pattern whose verb is not literal (`*`, `*:file`), ascending.
    pub any_verb: Vec<u32>,
    pub rate_limit: Option<RateLimitObligation>,
}

#[derive(Debug, Clone)]
pub(crate) struct CompiledRule {
    pub id: Arc<str>,
    /// The author's reason, or the generated sentence.
    pub reason: Arc<str>,
    pub conditional: bool,
    pub rate_limit: Option<RateLimitObligation>,
}

/// Why a set of policy texts could not be compiled: every problem found, by file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{} error(s) in policies; first: {}", .errors.len(), .errors.first().map(|e| e.to_string()).unwrap_or_default())]
pub struct LoadError {
    /// The problems, in file order.
    pub errors: Vec<FileError>,
}

/// One problem in one file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}:{}:{}: {error}", .error.span().start.line, .error.span().start.column)]
pub struct FileError {
    /// The source name.
    pub file: String,
    /// The problem.
    pub error: PolicyError,
}

impl LoadError {
    /// The problems as flat diagnostics.
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        self.errors
            .iter()
            .map(|e| Diagnostic::new(&e.file, &e.error))
            .collect()
    }
}

/// Parses and checks one source, returning its policies or every problem in it.
pub fn parse_policies(source: &Source<'_>) -> Result<Vec<Policy>, Vec<PolicyError>> {
    let docs = tree::parse(source.text, source.format()).map_err(|e| vec![e])?;
    if docs.is_empty() {
        return Err(vec![PolicyError::NoPolicy {
            span: Span::file_start(),
        }]);
    }
    let mut errs = Vec::new();
    let policies: Vec<Policy> = docs
        .iter()
        .filter_map(|d| schema::read_policy(d, &mut errs))
        .collect();
    // Reported in the order a person reads the file (stable: ties keep reading order).
    errs.sort_by_key(|e| e.span().start);
    if errs.is_empty() {
        Ok(policies)
    } else {
        Err(errs)
    }
}

/// Checks sources without keeping the result: every diagnostic, in file order.
pub fn validate<'a>(sources: impl IntoIterator<Item = Source<'a>>) -> Vec<Diagnostic> {
    match PolicySet::compile(sources) {
        Ok(_) => Vec::new(),
        Err(e) => e.diagnostics(),
    }
}

/// Reads policy texts as a set, in load order, each policy with the name of its source:
/// every problem of every file (duplicate names across files included), or the policies.
pub(crate) fn read_sources<'a>(
    sources: impl IntoIterator<Item = Source<'a>>,
) -> Result<Vec<(&'a str, Policy)>, LoadError> {
    let mut errors = Vec::new();
    let mut policies = Vec::new();
    // Where each name was first defined, for duplicate-name errors.
    let mut seen: HashMap<String, String> = HashMap::default();
    for source in sources {
        match parse_policies(&source) {
            Ok(ps) => {
                for p in ps {
                    let at = p.name_span.start;
                    let here = format!("{}:{}:{}", source.name, at.line, at.column);
                    if let Some(first) = seen.get(&p.name) {
                        errors.push(FileError {
                            file: source.name.to_owned(),
                            error: PolicyError::DuplicateName {
                                what: "policy",
                                name: p.name.clone(),
                                first: first.clone(),
                                span: p.name_span,
                            },
                        });
                        continue;
                    }
                    seen.insert(p.name.clone(), here);
                    policies.push((source.name, p));
                }
            }
            Err(es) => errors.extend(es.into_iter().map(|error| FileError {
                file: source.name.to_owned(),
                error,
            })),
        }
    }
    if errors.is_empty() {
        Ok(policies)
    } else {
        Err(LoadError { errors })
    }
}

impl PolicySet {
    /// Compiles policy texts, in load order (a directory loads in file-name order).
    /// Fails with every problem of every file; nothing is half-loaded.
    pub fn compile<'a>(sources: impl IntoIterator<Item = Source<'a>>) -> Result<Self, LoadError> {
        let policies = read_sources(sources)?;
        Ok(Self::from_policies(policies.into_iter().map(|(_, p)| p)))
    }

    /// Builds a set from already checked policies (names must be unique).
    pub fn from_policies(policies: impl IntoIterator<Item = Policy>) -> Self {
        let mut set = PolicySet {
            policies: Vec::new(),
            universal: Vec::new(),
            check_applies: false,
            by_tag: HashMap::default(),
            by_agent_id: HashMap::default(),
            by_org_id: HashMap::default(),
            by_tier: Default::default(),
            fallback: Effect::Deny,
            kind_declarations: Vec::new(),
            names: Names::default(),
            words: Words::default(),
        };
        for (i, policy) in policies.into_iter().enumerate() {
            let idx = u32::try_from(i).unwrap_or(u32::MAX);
            for d in &policy.resource_kinds {
                set.kind_declarations
                    .extend(d.actions.iter().map(|g| (g.clone(), d.kind)));
            }
            set.index_policy(idx, &policy);
            let compiled = compile_policy(policy, &mut set.names);
            set.check_applies |= compiled.check_applies;
            set.policies.push(compiled);
        }
        set
    }

    /// Sets the answer for requests no policy applies to (`deny` unless changed).
    pub fn with_fallback(mut self, effect: Effect) -> Self {
        self.fallback = effect;
        self
    }

    /// The policies, in load order.
    pub fn policies(&self) -> impl ExactSizeIterator<Item = &Policy> {
        self.policies.iter().map(|c| &c.policy)
    }

    /// The kind of resource `action` carries in this set: the built-in kinds
    /// (`execute:shell` → shell, `*:file` → path, `send:email`/`write:email` → email),
    /// which no declaration can switch off, else the first `resourceKinds` declaration
    /// that matches it; `None` when the resource's shape decides (`docs/semantics.md` §2.9).
    pub fn action_kind(&self, action: &str) -> Option<ResourceKind> {
        crate::kinds::builtin_kind(action).or_else(|| {
            self.kind_declarations
                .iter()
                .find(|(g, _)| g.matches(action))
                .map(|(_, k)| *k)
        })
    }

    /// How many policies the set holds.
    pub fn len(&self) -> usize {
        self.policies.len()
    }

    /// Whether the set holds no policy.
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }

    fn index_policy(&mut self, idx: u32, policy: &Policy) {
        let Some(a) = &policy.applies_to else {
            self.universal.push(idx);
            return;
        };
        // One selector is enough to find the policy; `applies` checks all of them.
        let push = |map: &mut HashMap<String, Vec<u32>>, keys: &[String]| {
            for k in keys {
                let bucket = map.entry(k.clone()).or_default();
                if bucket.last() != Some(&idx) {
                    bucket.push(idx);
                }
            }
        };
        if let Some(tags) = &a.tags {
            push(&mut self.by_tag, tags);
        } else if let Some(ids) = &a.agent_ids {
            push(&mut self.by_agent_id, ids);
        } else if let Some(orgs) = &a.org_ids {
            push(&mut self.by_org_id, orgs);
        } else if let Some(tiers) = &a.trust_tiers {
            for t in tiers {
                let bucket = &mut self.by_tier[tier_index(*t)];
                if bucket.last() != Some(&idx) {
                    bucket.push(idx);
                }
            }
        }
    }
}

pub(crate) fn tier_index(t: TrustTier) -> usize {
    match t {
        TrustTier::Untrusted => 0,
        TrustTier::Verified => 1,
        TrustTier::Trusted => 2,
        TrustTier::Privileged => 3,
    }
}

/// The verb of an action: the text before the first `:` (the whole action without one).
pub(crate) fn verb(action: &str) -> &str {
    // A byte loop: actions are short, and `split` sets up a `memchr` search.
    let end = action
        .bytes()
        .position(|b| b == b':')
        .unwrap_or(action.len());
    action.get(..end).unwrap_or(action)
}

fn obligation(
    policy: &Arc<str>,
    rule: Arc<str>,
    limit: Option<RateLimit>,
) -> Option<RateLimitObligation> {
    limit.map(|l| RateLimitObligation {
        policy: policy.clone(),
        rule,
        requests_per_minute: l.requests_per_minute,
        requests_per_hour: l.requests_per_hour,
    })
}

fn compile_policy(policy: Policy, names: &mut Names) -> CompiledPolicy {
    let name: Arc<str> = Arc::from(policy.name.as_str());
    let mut by_action: Vec<(u32, u32)> = Vec::new();
    let mut by_verb: Vec<(u32, u32)> = Vec::new();
    let mut any_verb = Vec::new();
    let mut rules = Vec::with_capacity(policy.rules.len());
    for (i, rule) in policy.rules.iter().enumerate() {
        let idx = u32::try_from(i).unwrap_or(u32::MAX);
        let mut verbs: Vec<&str> = Vec::new();
        let mut wildcard = false;
        for g in &rule.actions {
            let prefix = g.literal_prefix();
            if prefix.contains(':') {
                verbs.push(verb(prefix));
            } else if g.is_literal() {
                verbs.push(g.as_str());
            } else {
                wildcard = true;
            }
        }
        if wildcard {
            any_verb.push(idx);
        } else if rule.actions.iter().all(Glob::is_literal) {
            let mut actions: Vec<&str> = rule.actions.iter().map(Glob::as_str).collect();
            actions.sort_unstable();
            actions.dedup();
            for a in actions {
                by_action.push((intern(&mut names.actions, a), idx));
            }
        } else {
            verbs.sort_unstable();
            verbs.dedup();
            for v in verbs {
                by_verb.push((intern(&mut names.verbs, v), idx));
            }
        }
        let id: Arc<str> = Arc::from(rule.id.as_str());
        let reason: Arc<str> = match &rule.reason {
            Some(r) => Arc::from(r.as_str()),
            None => Arc::from(generated_reason(rule.effect, &rule.id, &policy.name)),
        };
        rules.push(CompiledRule {
            rate_limit: obligation(&name, id.clone(), rule.conditions.rate_limit),
            id,
            reason,
            conditional: rule.conditions.is_conditional(),
        });
    }
    let check_applies = policy.applies_to.as_ref().is_some_and(|a| {
        [
            a.tags.is_some(),
            a.trust_tiers.is_some(),
            a.agent_ids.is_some(),
            a.org_ids.is_some(),
        ]
        .iter()
        .filter(|listed| **listed)
        .count()
            > 1
    });
    CompiledPolicy {
        check_applies,
        rate_limit: obligation(&name, Arc::from("rateLimits"), policy.rate_limits),
        name,
        rules,
        by_action: rule_index(by_action),
        by_verb: rule_index(by_verb),
        any_verb,
        policy,
    }
}

fn generated_reason(effect: Effect, rule: &str, policy: &str) -> String {
    let verb = match effect {
        Effect::Allow => "allowed",
        Effect::Deny => "denied",
        Effect::RequireApproval => "approval required",
    };
    format!("{verb} by rule `{rule}` of policy `{policy}`")
}
