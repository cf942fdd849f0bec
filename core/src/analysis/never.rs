//! Rules that can never decide, by docs/semantics.md §4:
//!
//! - **first-match shadowing**: in a `first-match` policy only the first matching rule is
//!   a candidate, so a rule is dead when an earlier rule of the policy matches every
//!   request it matches (`unreachable-rule`);
//! - **outranked within a policy**: a rule D of R's own policy that is a candidate
//!   whenever R is, and beats R (deny beats require_approval beats allow; on a tie the
//!   earliest rule wins). For both to survive step 2 (specific first) they must be alike:
//!   both unconditional (if a conditional rule matches, both are set aside; else D wins),
//!   or both conditional with D's conditions implied by R's (`outranked-rule`, or
//!   `redundant-rule` for the same effect);
//! - **outranked across policies**: a rule D of another policy Q that applies whenever
//!   R's does, that matches whenever R does, and that makes Q's decision at least as
//!   strong as D: then Q's decision beats R's whenever R decides for its own policy
//!   (deny beats require_approval beats allow across policies, however specific the
//!   weaker rule; on a tie the earliest policy wins). D holds its strength when it is
//!   conditional (never set aside), or when no weaker conditional rule of Q can match
//!   R's actions (nothing can set it aside for a weaker decision);
//! - **never matches**: a trust-tier condition no agent of the policy's `appliesTo` can
//!   meet.
//!
//! "D is a candidate whenever R is" needs D's policy to apply whenever R's does, D's
//! actions to cover R's, D's conditions to follow from R's, and, in a `first-match`
//! policy, no earlier rule of D's policy able to match first.

use std::collections::HashSet;

use crate::model::{Rule, RuleOrder};

use super::implies::{
    At, actions, actions_covered, conditions_implied, possible_tiers, scope_implied,
};
use super::lang::lang_disjoint;
use super::{Entry, Finding, RuleRef, Set, Severity};

/// Every never-decides and never-matches finding, and the rules they are about.
pub(super) fn check(set: &Set<'_>) -> (Vec<Finding>, HashSet<RuleRef>) {
    let mut out = Vec::new();
    let mut dead: HashSet<RuleRef> = HashSet::new();
    for (r, entry, rule) in set.rules() {
        let at = At {
            policy: entry.policy,
            rule,
        };
        if possible_tiers(at) == Some(0) {
            out.push(Finding::new(
                entry,
                rule.id_span,
                Severity::Warning,
                "never-matches",
                format!(
                    "rule `{}` can never match: no agent its policy applies to has a trust tier \
                     its `agent.trustTier` condition accepts",
                    rule.id
                ),
                "compare the rule's `trustTier` with the policy's `appliesTo.trustTiers`"
                    .to_owned(),
            ));
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
fn shadowed(set: &Set<'_>, r: RuleRef, entry: &Entry<'_>) -> Option<Finding> {
    let p = entry.policy;
    if p.rule_order != RuleOrder::FirstMatch {
        return None;
    }
    let rule = p.rules.get(r.rule)?;
    let me = At { policy: p, rule };
    let earlier =
        p.rules.iter().take(r.rule).find(|d| {
            actions_covered(rule, d) && conditions_implied(me, At { policy: p, rule: d })
        })?;
    Some(Finding::new(
        entry,
        rule.id_span,
        Severity::Warning,
        "unreachable-rule",
        format!(
            "rule `{}` can never decide: in this first-match policy the earlier rule `{}` \
             matches every request it matches, and only the first matching rule is a \
             candidate (docs/semantics.md §4 step 1)",
            rule.id, earlier.id
        ),
        format!(
            "remove it, or move it above `{}` ({})",
            earlier.id,
            set.place(entry, earlier.id_span)
        ),
    ))
}

/// A rule that is a candidate whenever R is and whose policy's decision then beats R's.
fn outranked(set: &Set<'_>, r: RuleRef, entry: &Entry<'_>) -> Option<Finding> {
    let rule = entry.policy.rules.get(r.rule)?;
    let me = At {
        policy: entry.policy,
        rule,
    };
    let conditional = rule.conditions.is_conditional();
    // A rule of a policy with another audience cannot outrank R's: across policies the
    // outranking policy must apply whenever R's does.
    let (d_ref, d_entry, d_rule) = set.rules_near(r.policy).find(|(d_ref, d_entry, d)| {
        let them = At {
            policy: d_entry.policy,
            rule: d,
        };
        if *d_ref == r || !actions_covered(rule, d) {
            return false;
        }
        if d_ref.policy == r.policy {
            (d.effect.rank() > rule.effect.rank() || (d.effect == rule.effect && *d_ref < r))
                && d.conditions.is_conditional() == conditional
                && (!conditional || conditions_implied(me, them))
                && always_candidate(d_entry, d_ref.rule, rule)
        } else {
            (d.effect.rank() > rule.effect.rank()
                || (d.effect == rule.effect && d_ref.policy < r.policy))
                && scope_implied(d_entry.policy, entry.policy)
                && conditions_implied(me, them)
                && always_candidate(d_entry, d_ref.rule, rule)
                && holds(d_entry, d, rule)
        }
    })?;
    let same_policy = d_ref.policy == r.policy;
    let other = if same_policy {
        format!("rule `{}`", d_rule.id)
    } else {
        format!("rule `{}` of policy `{}`", d_rule.id, d_entry.policy.name)
    };
    let why = if !same_policy {
        if d_rule.effect == rule.effect {
            "across policies ties go to the earliest policy (docs/semantics.md §4 step 3)"
                .to_owned()
        } else {
            format!(
                "across policies {} beats {}, however specific the {} (docs/semantics.md §4 step 3)",
                d_rule.effect.as_str(),
                rule.effect.as_str(),
                rule.effect.as_str()
            )
        }
    } else {
        let kind = if conditional {
            "both are conditional, so neither is set aside"
        } else {
            "both are unconditional, so they are set aside together or compete"
        };
        if d_rule.effect == rule.effect {
            format!("{kind}, and ties go to the earliest rule (docs/semantics.md §4 step 2)")
        } else {
            format!(
                "{kind}, and {} beats {} (docs/semantics.md §4 step 2)",
                d_rule.effect.as_str(),
                rule.effect.as_str()
            )
        }
    };
    let (code, message) = if d_rule.effect == rule.effect {
        let earlier = if same_policy {
            format!("the earlier {other}")
        } else {
            format!(
                "rule `{}` of the earlier policy `{}`",
                d_rule.id, d_entry.policy.name
            )
        };
        (
            "redundant-rule",
            format!(
                "rule `{}` never decides: {earlier} matches whenever it does, with the same \
                 effect `{}`; {why}",
                rule.id,
                rule.effect.as_str()
            ),
        )
    } else {
        (
            "outranked-rule",
            format!(
                "rule `{}` ({}) can never decide: whenever it matches, {other} ({}) matches \
                 too; {why}",
                rule.id,
                rule.effect.as_str(),
                d_rule.effect.as_str(),
            ),
        )
    };
    Some(Finding::new(
        entry,
        rule.id_span,
        Severity::Warning,
        code,
        message,
        format!(
            "`{}` is at {}; remove one of them, or narrow `{}`",
            d_rule.id,
            set.place(d_entry, d_rule.id_span),
            d_rule.id
        ),
    ))
}

/// Whether rule `index` of `entry` is a candidate whenever it matches a request that
/// `rule` matches: always in a specific-first policy; in a first-match policy, when no
/// earlier rule can match any action `rule` matches.
fn always_candidate(entry: &Entry<'_>, index: usize, rule: &Rule) -> bool {
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

/// Whether, when `d` is a candidate of its policy for a request `rule` matches, the
/// policy's decision is at least as strong as `d`: `d` is conditional (never set aside),
/// or the policy is first-match (then `d` is its only candidate, see
/// [`always_candidate`]), or no weaker conditional rule of the policy can match an action
/// of `rule` (only such a rule could set `d` aside for a weaker decision).
fn holds(entry: &Entry<'_>, d: &Rule, rule: &Rule) -> bool {
    if d.conditions.is_conditional() || entry.policy.rule_order == RuleOrder::FirstMatch {
        return true;
    }
    let mine = actions(rule);
    entry.policy.rules.iter().all(|c| {
        !c.conditions.is_conditional()
            || c.effect.rank() >= d.effect.rank()
            || lang_disjoint(&mine, &actions(c))
    })
}
