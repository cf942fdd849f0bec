//! The decision procedure (SPEC §4): candidates, specific first, deny wins, defaults,
//! human in the loop, audit mode; and the explanation that retraces it rule by rule.

use std::sync::Arc;

use crate::boundary::{
    Decision, Explanation, Mode, Obligations, PolicyTrace, Request, RuleStatus, RuleTrace,
};
use crate::compile::{CompiledPolicy, PolicySet, tier_index, verb};
use crate::error::RequestError;
use crate::matching::{Prepared, applies, prepare, rule_matches};
use crate::model::{Effect, RuleOrder};

/// Indices of the applicable policies; agents rarely see more than a handful, so they
/// live on the stack.
type Applicable = smallvec::SmallVec<[u32; 16]>;

/// The rule that won, by position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pick {
    policy: u32,
    rule: u32,
    effect: Effect,
}

/// What the candidate search found.
struct Outcome {
    winner: Option<Pick>,
    /// Whether the winner is conditional (then unconditional candidates were set aside).
    conditional: bool,
}

impl PolicySet {
    /// Decides a request. Never fails: a request that cannot be evaluated (no action, a
    /// control character, a bad time, ...) is denied with rule `invalid-request` and the
    /// problem as its reason, so every host fails closed with the same answer.
    pub fn decide(&self, request: &Request, explain: bool) -> Decision {
        match prepare(request) {
            Ok(p) => self.decide_prepared(request, &p, explain),
            Err(e) => Decision::invalid(request, &e),
        }
    }

    /// Decides a request given as JSON text; malformed JSON is an invalid request.
    pub fn decide_json(&self, json: &str, explain: bool) -> Decision {
        match parse_request(json) {
            Ok(r) => self.decide(&r, explain),
            Err(e) => Decision::invalid(&Request::default(), &e),
        }
    }

    /// The policies whose `appliesTo` selects the request, in load order.
    fn applicable(&self, p: &Prepared<'_>) -> Applicable {
        let mut out: Applicable = self.universal.iter().copied().collect();
        if p.has_agent {
            for t in p.tags {
                if let Some(b) = self.by_tag.get(t) {
                    out.extend_from_slice(b);
                }
            }
            if let Some(b) = p.agent_id.and_then(|id| self.by_agent_id.get(id)) {
                out.extend_from_slice(b);
            }
            if let Some(b) = p.org_id.and_then(|id| self.by_org_id.get(id)) {
                out.extend_from_slice(b);
            }
            if let Some(t) = p.tier {
                out.extend_from_slice(&self.by_tier[tier_index(t)]);
            }
            out.sort_unstable();
            out.dedup();
            out.retain(|i| {
                self.policies
                    .get(*i as usize)
                    .is_some_and(|c| !c.check_applies || applies(&c.policy.applies_to, p).is_ok())
            });
        }
        out
    }

    fn search(&self, applicable: &[u32], p: &Prepared<'_>) -> Outcome {
        let mut best_conditional: Option<Pick> = None;
        let mut best_plain: Option<Pick> = None;
        let action_verb = verb(p.action);
        for &pi in applicable {
            let Some(c) = self.policies.get(pi as usize) else {
                continue;
            };
            let bucket = c.by_verb.get(action_verb).map_or(&[][..], Vec::as_slice);
            for ri in merge(bucket, &c.any_verb) {
                let (Some(rule), Some(compiled)) =
                    (c.policy.rules.get(ri as usize), c.rules.get(ri as usize))
                else {
                    continue;
                };
                if rule_matches(rule, p).is_err() {
                    continue;
                }
                let pick = Pick {
                    policy: pi,
                    rule: ri,
                    effect: rule.effect,
                };
                let slot = if compiled.conditional {
                    &mut best_conditional
                } else {
                    &mut best_plain
                };
                // Strictly greater: on a tie the earliest rule keeps its place.
                if slot.is_none_or(|b| rule.effect.rank() > b.effect.rank()) {
                    *slot = Some(pick);
                }
                if c.policy.rule_order == RuleOrder::FirstMatch {
                    break;
                }
            }
        }
        Outcome {
            conditional: best_conditional.is_some(),
            winner: best_conditional.or(best_plain),
        }
    }

    fn decide_prepared(&self, req: &Request, p: &Prepared<'_>, explain: bool) -> Decision {
        let applicable = self.applicable(p);
        let outcome = self.search(&applicable, p);
        let policy_at = |i: u32| self.policies.get(i as usize);

        let (mut effect, mut policy, mut rule, mut reason, deciding): (
            Effect,
            Arc<str>,
            Arc<str>,
            Arc<str>,
            Option<&CompiledPolicy>,
        ) = match outcome.winner {
            Some(w) => {
                let c = policy_at(w.policy);
                let r = c.and_then(|c| c.rules.get(w.rule as usize));
                match (c, r) {
                    (Some(c), Some(r)) => (
                        w.effect,
                        c.name.clone(),
                        r.id.clone(),
                        r.reason.clone(),
                        Some(c),
                    ),
                    _ => fallback(Effect::Deny, p.action),
                }
            }
            None => {
                let policies = applicable.iter().filter_map(|&i| policy_at(i));
                let mut denying = policies
                    .clone()
                    .filter(|c| c.policy.default_effect == Effect::Deny);
                match (denying.next(), policies.clone().next()) {
                    (Some(c), _) => (
                        Effect::Deny,
                        c.name.clone(),
                        Arc::from("defaultEffect"),
                        Arc::from(format!(
                            "no rule matched `{}`; policy `{}` denies by default",
                            p.action, c.name
                        )),
                        Some(c),
                    ),
                    (None, Some(c)) => (
                        Effect::Allow,
                        c.name.clone(),
                        Arc::from("defaultEffect"),
                        Arc::from(format!(
                            "no rule matched `{}`; every applicable policy allows by default",
                            p.action
                        )),
                        Some(c),
                    ),
                    (None, None) => fallback(self.fallback, p.action),
                }
            }
        };

        if effect == Effect::Allow {
            let approver = applicable.iter().filter_map(|&i| policy_at(i)).find(|c| {
                c.policy
                    .require_approval
                    .iter()
                    .any(|g| g.matches(p.action))
            });
            if let Some(c) = approver {
                effect = Effect::RequireApproval;
                policy = c.name.clone();
                rule = Arc::from("humanInTheLoop");
                reason = Arc::from(format!(
                    "`{}` requires human approval under policy `{}`",
                    p.action, c.name
                ));
            }
        }

        let mut rate_limits: Vec<_> = applicable
            .iter()
            .filter_map(|&i| policy_at(i).and_then(|c| c.rate_limit.clone()))
            .collect();
        if let Some(w) = outcome.winner
            && let Some(o) = policy_at(w.policy)
                .and_then(|c| c.rules.get(w.rule as usize))
                .and_then(|r| r.rate_limit.clone())
        {
            rate_limits.push(o);
        }

        let mode = req.mode.unwrap_or_default();
        Decision {
            effect,
            allowed: effect == Effect::Allow || mode == Mode::Audit,
            mode,
            action: req.action.clone(),
            resource: p.resource.as_ref().map(|r| r.to_string()),
            policy,
            rule,
            reason,
            obligations: Obligations {
                rate_limits,
                audit: deciding.and_then(|c| c.policy.audit.clone()),
            },
            explanation: explain.then(|| self.explain(&applicable, p, &outcome)),
        }
    }

    fn explain(&self, applicable: &[u32], p: &Prepared<'_>, outcome: &Outcome) -> Explanation {
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
            if !applies_here {
                continue;
            }
            let mut earlier_match = false;
            for (ri, (rule, compiled)) in c.policy.rules.iter().zip(&c.rules).enumerate() {
                let ri = u32::try_from(ri).unwrap_or(u32::MAX);
                let result = rule_matches(rule, p);
                let matched = result.is_ok();
                let won = outcome
                    .winner
                    .is_some_and(|w| w.policy == pi && w.rule == ri);
                let (status, detail) = match result {
                    Err(miss) => (RuleStatus::NoMatch, Some(miss.describe(p))),
                    Ok(()) if won => (RuleStatus::Decided, None),
                    Ok(()) if earlier_match && c.policy.rule_order == RuleOrder::FirstMatch => (
                        RuleStatus::Shadowed,
                        Some("an earlier rule of this first-match policy matched".to_owned()),
                    ),
                    Ok(()) if outcome.conditional && !compiled.conditional => (
                        RuleStatus::SetAside,
                        Some("unconditional; a matching conditional rule decides".to_owned()),
                    ),
                    Ok(()) => (
                        RuleStatus::Outranked,
                        Some(
                            "another candidate won (deny wins, then the earliest rule)".to_owned(),
                        ),
                    ),
                };
                earlier_match |= matched;
                rules.push(RuleTrace {
                    policy: c.name.clone(),
                    rule: compiled.id.clone(),
                    effect: rule.effect,
                    matched,
                    status,
                    detail,
                });
            }
        }
        Explanation { policies, rules }
    }
}

type Verdict<'a> = (
    Effect,
    Arc<str>,
    Arc<str>,
    Arc<str>,
    Option<&'a CompiledPolicy>,
);

/// The set's own answer when no policy applies.
fn fallback<'a>(effect: Effect, action: &str) -> Verdict<'a> {
    let word = if effect == Effect::Allow {
        "allowed"
    } else {
        "denied"
    };
    (
        effect,
        Arc::from("default"),
        Arc::from("default"),
        Arc::from(format!(
            "no policy applies to `{action}`; {word} by default"
        )),
        None,
    )
}

/// Reads a request from JSON text (strict: unknown fields are errors, and the request and
/// its agent must be JSON objects — serde would otherwise also accept an array of the
/// fields in declaration order, a form no client means to send).
pub fn parse_request(json: &str) -> Result<Request, RequestError> {
    let malformed = |e: serde_json::Error| RequestError::Malformed(e.to_string());
    let value: serde_json::Value = serde_json::from_str(json).map_err(malformed)?;
    let Some(fields) = value.as_object() else {
        return Err(RequestError::Malformed(
            "a request must be a JSON object".to_owned(),
        ));
    };
    if fields
        .get("agent")
        .is_some_and(|a| !a.is_object() && !a.is_null())
    {
        return Err(RequestError::Malformed(
            "`agent` must be a JSON object".to_owned(),
        ));
    }
    serde_json::from_value(value).map_err(malformed)
}

impl Decision {
    /// The fail-closed answer to a request that cannot be evaluated: deny, policy
    /// `default`, rule `invalid-request`, the problem as reason; never allowed, not even
    /// in audit mode. Hosts that refuse a request before it reaches the core (a body too
    /// large, bytes that are not UTF-8) answer with this too, so every host uses one shape.
    pub fn invalid(req: &Request, e: &RequestError) -> Decision {
        Decision {
            effect: Effect::Deny,
            allowed: false,
            mode: req.mode.unwrap_or_default(),
            action: req.action.clone(),
            resource: req.resource.clone(),
            policy: Arc::from("default"),
            rule: Arc::from("invalid-request"),
            reason: Arc::from(format!("invalid request: {e}")),
            obligations: Obligations::default(),
            explanation: None,
        }
    }
}

/// Yields the union of two ascending index lists, ascending, without allocating.
fn merge<'a>(a: &'a [u32], b: &'a [u32]) -> impl Iterator<Item = u32> + 'a {
    let (mut i, mut j) = (0, 0);
    std::iter::from_fn(move || {
        let next = match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) if x == y => {
                i += 1;
                j += 1;
                x
            }
            (Some(&x), Some(&y)) if x < y => {
                i += 1;
                x
            }
            (_, Some(&y)) => {
                j += 1;
                y
            }
            (Some(&x), None) => {
                i += 1;
                x
            }
            (None, None) => return None,
        };
        Some(next)
    })
}
