//! Rules that can never decide, by SPEC §4:
//!
//! - **first-match shadowing**: in a `first-match` policy only the first matching rule is
//!   a candidate, so a rule is dead when an earlier rule of the policy matches every
//!   request it matches (`unreachable-rule`);
//! - **outranked**: a rule D that is a candidate whenever R is, and that beats R (deny
//!   beats require_approval beats allow; on a tie the earliest rule wins), means R never
//!   decides. For both to survive step 2 (specific first) they must be alike: both
//!   unconditional (if a conditional rule matches, both are set aside; else D wins), or
//!   both conditional with D's conditions implied by R's (`outranked-rule`, or
//!   `redundant-rule` for the same effect);
//! - **never matches**: a trust-tier condition no agent of the policy's `appliesTo` can
//!   meet.
//!
//! "D is a candidate whenever R is" needs D's policy to apply whenever R's does, D's
//! actions to cover R's, D's conditions to follow from R's, and, in a `first-match`
//! policy, no earlier rule of D's policy able to match first.

use std::collections::HashSet;

use meshguard_core::model::{Effect, RuleOrder};

use super::implies::{
    At, actions, actions_covered, conditions_implied, possible_tiers, scope_implied,
};
use super::lang::lang_disjoint;
use super::{Entry, Finding, RuleRef, Set, Severity};

/// Precedence under deny-wins.
fn rank(e: Effect) -> u8 {
    match e {
        Effect::Allow => 0,
        Effect::RequireApproval => 1,
        Effect::Deny => 2,
    }
}

/// Every never-decides and never-matches finding, and the rules they are about.
pub fn check(set: &Set) -> (Vec<Finding>, HashSet<RuleRef>) {
    let mut out = Vec::new();
    let mut dead: HashSet<RuleRef> = HashSet::new();
    for (r, entry, rule) in set.rules() {
        let at = At {
            policy: &entry.policy,
            rule,
        };
        if possible_tiers(at) == Some(0) {
            let mut f = set.at_rule(entry, rule, Severity::Warning, "never-matches");
            f.message = format!(
                "rule `{}` can never match: no agent its policy applies to has a trust tier its \
                 `agent.trustTier` condition accepts",
                rule.id
            );
            f.help = Some(
                "compare the rule's `trustTier` with the policy's `appliesTo.trustTiers`"
                    .to_owned(),
            );
            out.push(f);
            dead.insert(r);
        }
    }
    for (r, entry, _) in set.rules() {
        if dead.contains(&r) {
            continue;
        }
        if let Some(f) = shadowed(set, r, entry).or_else(|| outranked(set, r, entry)) {
            dead.insert(r);
            out.push(f);
        }
    }
    (out, dead)
}

/// An earlier rule of R's first-match policy that always matches first.
fn shadowed(set: &Set, r: RuleRef, entry: &Entry) -> Option<Finding> {
    let p = &entry.policy;
    if p.rule_order != RuleOrder::FirstMatch {
        return None;
    }
    let rule = p.rules.get(r.rule)?;
    let me = At { policy: p, rule };
    let earlier =
        p.rules.iter().take(r.rule).find(|d| {
            actions_covered(rule, d) && conditions_implied(me, At { policy: p, rule: d })
        })?;
    let mut f = set.at_rule(entry, rule, Severity::Warning, "unreachable-rule");
    f.message = format!(
        "rule `{}` can never decide: in this first-match policy the earlier rule `{}` matches \
         every request it matches, and only the first matching rule is a candidate (SPEC §4 step 1)",
        rule.id, earlier.id
    );
    f.help = Some(format!(
        "remove it, or move it above `{}` ({})",
        earlier.id,
        set.place(entry, earlier)
    ));
    Some(f)
}

/// A rule that is a candidate whenever R is and beats it.
fn outranked(set: &Set, r: RuleRef, entry: &Entry) -> Option<Finding> {
    let rule = entry.policy.rules.get(r.rule)?;
    let me = At {
        policy: &entry.policy,
        rule,
    };
    let conditional = rule.conditions.is_conditional();
    let (_, d_entry, d_rule) = set.rules().find(|(d_ref, d_entry, d)| {
        let them = At {
            policy: &d_entry.policy,
            rule: d,
        };
        *d_ref != r
            && (rank(d.effect) > rank(rule.effect) || (d.effect == rule.effect && *d_ref < r))
            && d.conditions.is_conditional() == conditional
            && scope_implied(&d_entry.policy, &entry.policy)
            && actions_covered(rule, d)
            && (!conditional || conditions_implied(me, them))
            && always_candidate(d_entry, d_ref.rule, rule)
    })?;
    let other = if d_entry.policy.name == entry.policy.name {
        format!("rule `{}`", d_rule.id)
    } else {
        format!("rule `{}` of policy `{}`", d_rule.id, d_entry.policy.name)
    };
    let kind = if conditional {
        "both are conditional, so neither is set aside (step 2)"
    } else {
        "both are unconditional, so they are set aside together or compete (step 2)"
    };
    let (code, message) = if d_rule.effect == rule.effect {
        (
            "redundant-rule",
            format!(
                "rule `{}` never decides: the earlier {other} matches whenever it does, with the \
                 same effect `{}`; {kind}, and ties go to the earliest rule (SPEC §4 step 3)",
                rule.id,
                rule.effect.as_str()
            ),
        )
    } else {
        (
            "outranked-rule",
            format!(
                "rule `{}` ({}) can never decide: whenever it matches, {other} ({}) matches too; \
                 {kind}, and {} beats {} (SPEC §4 step 3)",
                rule.id,
                rule.effect.as_str(),
                d_rule.effect.as_str(),
                d_rule.effect.as_str(),
                rule.effect.as_str()
            ),
        )
    };
    let mut f = set.at_rule(entry, rule, Severity::Warning, code);
    f.message = message;
    f.help = Some(format!(
        "`{}` is at {}; remove one of them, or narrow `{}`",
        d_rule.id,
        set.place(d_entry, d_rule),
        d_rule.id
    ));
    Some(f)
}

/// Whether rule `index` of `entry` is a candidate whenever it matches a request that
/// `rule` matches: always in a specific-first policy; in a first-match policy, when no
/// earlier rule can match any action `rule` matches.
fn always_candidate(entry: &Entry, index: usize, rule: &meshguard_core::model::Rule) -> bool {
    if entry.policy.rule_order == RuleOrder::SpecificFirst {
        return true;
    }
    let mine = actions(rule);
    entry
        .policy
        .rules
        .iter()
        .take(index)
        .all(|e| lang_disjoint(&mine, &actions(e)))
}
