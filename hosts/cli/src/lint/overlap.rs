//! Notes on allow rules that overlap a deny or require-approval rule, and which one wins
//! when both match (SPEC §4): with conditions on one side only, the conditional rule
//! wins (step 2, specific first: that is how the seeds' email policy allows internal
//! mail under a blanket deny, and how the web policy denies `*.onion` under a blanket
//! allow); with conditions on both sides or neither, deny beats require_approval beats
//! allow (step 3).
//!
//! A pair is noted only when it certainly shares an action (an example is shown), the two
//! policies apply to the same agents (they can meet, and share a tag when both select by
//! tag), and their conditions are not provably exclusive
//! (disjoint resource patterns, context values that cannot be equal, tiers that cannot
//! meet). Rules already reported as never deciding are left out.

use std::collections::HashSet;

use meshguard_core::model::{Effect, Rule};

use super::implies::{At, actions, conditions_disjoint, shares_audience};
use super::lang::witness;
use super::{Entry, Finding, RuleRef, Set, Severity};

/// Every overlap note.
pub fn check(set: &Set, dead: &HashSet<RuleRef>) -> Vec<Finding> {
    let all: Vec<(RuleRef, &Entry, &Rule)> =
        set.rules().filter(|(r, _, _)| !dead.contains(r)).collect();
    let mut out = Vec::new();
    for (_, a_entry, allow) in all.iter().filter(|(_, _, r)| r.effect == Effect::Allow) {
        for (_, d_entry, deny) in all.iter().filter(|(_, _, r)| r.effect != Effect::Allow) {
            let a = At {
                policy: &a_entry.policy,
                rule: allow,
            };
            let d = At {
                policy: &d_entry.policy,
                rule: deny,
            };
            if !shares_audience(a.policy, d.policy) || conditions_disjoint(a, d) {
                continue;
            }
            let Some(action) = witness(&actions(allow), &actions(deny)) else {
                continue;
            };
            out.push(note(set, a_entry, allow, d_entry, deny, &action));
        }
    }
    out
}

fn note(
    set: &Set,
    a_entry: &Entry,
    allow: &Rule,
    d_entry: &Entry,
    deny: &Rule,
    action: &str,
) -> Finding {
    let verb = deny.effect.as_str();
    let other = if a_entry.policy.name == d_entry.policy.name {
        format!("{verb} rule `{}`", deny.id)
    } else {
        format!(
            "{verb} rule `{}` of policy `{}`",
            deny.id, d_entry.policy.name
        )
    };
    let outcome = match (
        allow.conditions.is_conditional(),
        deny.conditions.is_conditional(),
    ) {
        (true, false) => format!(
            "when its conditions hold it decides, because a matching conditional rule sets the \
             unconditional `{}` aside (specific first, SPEC §4 step 2); otherwise `{}` wins",
            deny.id, deny.id
        ),
        (false, true) => format!(
            "when `{}`'s conditions hold it wins, because a matching conditional rule sets this \
             unconditional allow aside (specific first, SPEC §4 step 2); otherwise this rule allows",
            deny.id
        ),
        (true, true) => format!(
            "when both match, `{}` wins: both are conditional and {verb} beats allow (SPEC §4 step 3)",
            deny.id
        ),
        (false, false) => format!(
            "`{}` always wins: both are unconditional and {verb} beats allow (SPEC §4 step 3)",
            deny.id
        ),
    };
    let mut f = set.at_rule(a_entry, allow, Severity::Note, "overlap");
    f.message = format!(
        "allow rule `{}` and {other} can both match `{action}`; {outcome}",
        allow.id
    );
    f.help = Some(format!("`{}` is at {}", deny.id, set.place(d_entry, deny)));
    f
}
