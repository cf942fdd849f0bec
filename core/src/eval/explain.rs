//! The explanation: the decision procedure retraced for every rule of every applicable
//! policy on the deciding target, and every part's outcome. It is built only when asked
//! for, so it may cost what the decision itself avoids (every rule tested, every miss
//! described in words).

use super::{Planned, Verdict};
use crate::boundary::{Explanation, PartTrace, PolicyTrace, RuleStatus, RuleTrace};
use crate::compile::{CompiledPolicy, PolicySet};
use crate::matching::{Prepared, Target, applies, rule_matches};
use crate::model::RuleOrder;

impl PolicySet {
    pub(super) fn explain(
        &self,
        applicable: &[u32],
        plan: &Planned<'_>,
        p: &Prepared<'_>,
        target: &Target<'_>,
        decided: &Verdict,
        targets: &[Target<'_>],
    ) -> Explanation {
        let mut policies = Vec::with_capacity(self.policies.len());
        let mut rules = Vec::new();
        for (pi, c) in self.policies.iter().enumerate() {
            let pi = u32::try_from(pi).unwrap_or(u32::MAX);
            let applies_here = applicable.contains(&pi);
            policies.push(PolicyTrace {
                policy: c.name.clone(),
                applies: applies_here,
                detail: if applies_here {
                    None
                } else {
                    applies(&c.policy.applies_to, p).err()
                },
            });
            if applies_here {
                rules.extend(self.explain_policy(pi, c, p, target, decided));
            }
        }
        let parts = match p.reading.as_ref() {
            Some(r) if r.names_parts() => targets
                .iter()
                .map(|t| {
                    let v = self.verdict(plan, p, t);
                    let (policy, rule, _) = self.words(&v, p);
                    PartTrace {
                        part: t.text.unwrap_or_default().to_owned(),
                        effect: v.effect,
                        policy: policy.to_arc(),
                        rule: rule.to_arc(),
                    }
                })
                .collect(),
            _ => Vec::new(),
        };
        Explanation {
            policies,
            rules,
            parts,
        }
    }

    /// What happened to each rule of one applicable policy.
    fn explain_policy(
        &self,
        pi: u32,
        c: &CompiledPolicy,
        p: &Prepared<'_>,
        target: &Target<'_>,
        decided: &Verdict,
    ) -> Vec<RuleTrace> {
        let results: Vec<_> = c
            .policy
            .rules
            .iter()
            .map(|rule| rule_matches(rule, p, target))
            .collect();
        // Specific first applies within the policy: its own conditional candidates set
        // aside its own unconditional ones.
        let has_conditional = results
            .iter()
            .zip(&c.rules)
            .any(|(r, compiled)| r.is_ok() && compiled.conditional);
        let mut earlier_match = false;
        let mut out = Vec::with_capacity(results.len());
        for (ri, ((rule, compiled), result)) in
            c.policy.rules.iter().zip(&c.rules).zip(results).enumerate()
        {
            let ri = u32::try_from(ri).unwrap_or(u32::MAX);
            let matched = result.is_ok();
            let won = decided.pick.is_some_and(|w| w.policy == pi && w.rule == ri);
            let (status, detail) = match result {
                Err(miss) => (RuleStatus::NoMatch, Some(miss.describe(p, target))),
                Ok(()) if won => (RuleStatus::Decided, None),
                Ok(()) if earlier_match && c.policy.rule_order == RuleOrder::FirstMatch => (
                    RuleStatus::Shadowed,
                    Some("an earlier rule of this first-match policy matched".to_owned()),
                ),
                Ok(()) if has_conditional && !compiled.conditional => (
                    RuleStatus::SetAside,
                    Some(
                        "unconditional; a matching conditional rule of this policy decides"
                            .to_owned(),
                    ),
                ),
                Ok(()) => (
                    RuleStatus::Outranked,
                    Some(
                        "another candidate won (deny wins, then the earliest rule or policy)"
                            .to_owned(),
                    ),
                ),
            };
            earlier_match |= matched;
            out.push(RuleTrace {
                policy: c.name.clone(),
                rule: compiled.id.clone(),
                effect: rule.effect,
                matched,
                status,
                detail,
            });
        }
        out
    }
}
