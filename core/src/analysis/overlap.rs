//! Notes on allow rules that overlap a deny or require-approval rule, and which one wins
//! when both match (docs/semantics.md §4).
//!
//! Within one policy, with conditions on one side only, the conditional rule wins (step
//! 2, specific first: that is how the seeds' email policy allows internal mail under a
//! blanket deny, and how the web policy denies `*.onion` under a blanket allow); with
//! conditions on both sides or neither, deny beats require_approval beats allow. Across
//! policies the restricting rule wins whenever it decides for its own policy, however
//! specific the allow (step 3): an allow in one policy cannot lift another's deny.
//!
//! A pair is noted only when it certainly shares an action (an example is shown), the two
//! policies apply to the same agents (they can meet, and share a tag when both select by
//! tag), and their conditions are not provably exclusive (disjoint resource patterns,
//! context values that cannot be equal, tiers that cannot meet). Rules already reported
//! as never deciding are left out.

use std::collections::HashSet;

use crate::model::{Effect, Rule};

use super::implies::{At, actions, conditions_disjoint};
use super::lang::{lang_disjoint, witness};
use super::{Entry, Finding, RuleRef, Set, Severity};

/// Every overlap note.
pub(super) fn check(set: &Set<'_>, dead: &HashSet<RuleRef>) -> Vec<Finding> {
    let live = |(r, _, _): &(RuleRef, &Entry<'_>, &Rule)| !dead.contains(r);
    let mut out = Vec::new();
    let allows = set
        .rules()
        .filter(live)
        .filter(|(_, _, r)| r.effect == Effect::Allow);
    for (a_ref, a_entry, allow) in allows {
        let restricting = set
            .rules_near(a_ref.policy)
            .filter(live)
            .filter(|(_, _, r)| r.effect != Effect::Allow);
        for (d_ref, d_entry, deny) in restricting {
            let a = At {
                policy: a_entry.policy,
                rule: allow,
            };
            let d = At {
                policy: d_entry.policy,
                rule: deny,
            };
            if conditions_disjoint(a, d) {
                continue;
            }
            let Some(action) = witness(&actions(allow), &actions(deny)) else {
                continue;
            };
            let same = a_ref.policy == d_ref.policy;
            out.push(note(set, (a_entry, allow), (d_entry, deny), same, &action));
        }
    }
    out
}

fn note(
    set: &Set<'_>,
    (a_entry, allow): (&Entry<'_>, &Rule),
    (d_entry, deny): (&Entry<'_>, &Rule),
    same_policy: bool,
    action: &str,
) -> Finding {
    let verb = deny.effect.as_str();
    let other = if same_policy {
        format!("{verb} rule `{}`", deny.id)
    } else {
        format!(
            "{verb} rule `{}` of policy `{}`",
            deny.id, d_entry.policy.name
        )
    };
    let outcome = if same_policy {
        match (
            allow.conditions.is_conditional(),
            deny.conditions.is_conditional(),
        ) {
            (true, false) => format!(
                "when its conditions hold it decides, because a matching conditional rule sets \
                 the unconditional `{}` aside (specific first, docs/semantics.md §4 step 2); otherwise `{}` \
                 wins",
                deny.id, deny.id
            ),
            (false, true) => format!(
                "when `{}`'s conditions hold it wins, because a matching conditional rule sets \
                 this unconditional allow aside (specific first, docs/semantics.md §4 step 2); otherwise \
                 this rule allows",
                deny.id
            ),
            (true, true) => format!(
                "when both match, `{}` wins: both are conditional and {verb} beats allow (docs/semantics.md \
                 §4 step 2)",
                deny.id
            ),
            (false, false) => format!(
                "`{}` always wins: both are unconditional and {verb} beats allow (docs/semantics.md §4 step 2)",
                deny.id
            ),
        }
    } else if set_aside_possible(d_entry, deny, allow) {
        format!(
            "when both match, `{}` wins unless a conditional rule of policy `{}` sets it aside: \
             across policies {verb} beats allow, however specific the allow (docs/semantics.md §4 step 3)",
            deny.id, d_entry.policy.name
        )
    } else {
        format!(
            "when both match, `{}` wins: across policies {verb} beats allow, however specific \
             the allow (docs/semantics.md §4 step 3)",
            deny.id
        )
    };
    Finding {
        severity: Severity::Note,
        code: "overlap",
        message: format!(
            "allow rule `{}` and {other} can both match `{action}`; {outcome}",
            allow.id
        ),
        help: Some(format!(
            "`{}` is at {}",
            deny.id,
            set.place(d_entry, deny.id_span)
        )),
        file: a_entry.file,
        span: allow.id_span,
    }
}

/// Whether the unconditional `deny` may be set aside in its own policy by a weaker
/// conditional rule matching an action `allow` matches.
fn set_aside_possible(d_entry: &Entry<'_>, deny: &Rule, allow: &Rule) -> bool {
    if deny.conditions.is_conditional() {
        return false;
    }
    let mine = actions(allow);
    d_entry.policy.rules.iter().any(|c| {
        c.conditions.is_conditional()
            && c.effect.rank() < deny.effect.rank()
            && !lang_disjoint(&mine, &actions(c))
    })
}
