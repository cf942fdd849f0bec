//! The decision procedure (`docs/semantics.md` §4): candidates; within a policy specific
//! first, then deny wins; across policies deny wins; defaults; human in the loop; audit
//! mode. A compound resource (a shell line, an address list) is decided part by part and
//! the most restrictive part decides. The explanation retraces it rule by rule
//! (`explain.rs`).

use std::sync::Arc;

use crate::boundary::{
    Decision, Explanation, Mode, Obligations, Origin, RateLimitObligation, Request,
};
use crate::compile::PolicySet;
use crate::error::RequestError;
use crate::matching::{Prepared, Target, conditions_match, prepare};
use crate::model::{AuditSettings, Effect};
use crate::select::{Candidate, Plan, Selection, Selections};

mod explain;

/// A request's selection ([`Selection`]): its candidates and plan, borrowed.
#[derive(Debug, Clone, Copy)]
struct Planned<'c> {
    plan: Plan,
    candidates: &'c [Candidate],
}

/// A decision in the set's own words: its shared strings and obligations borrowed,
/// the request's canonical resource and deciding part in place. A [`Decision`] is made
/// from it; the compact hosts encode it without making one (`crate::compact`).
#[derive(Debug)]
pub(crate) struct Outcome<'a> {
    pub effect: Effect,
    pub origin: Origin,
    pub mode: Mode,
    pub resource: Option<&'a str>,
    pub part: Option<&'a str>,
    pub policy: Word<'a>,
    pub rule: Word<'a>,
    pub reason: Word<'a>,
    pub audit: Option<&'a Arc<AuditSettings>>,
    set: &'a PolicySet,
    /// The applicable policies: their policy-wide rate limits apply.
    applicable: &'a [u32],
    /// The deciding rule's rate limit.
    rule_limit: Option<&'a RateLimitObligation>,
}

/// A string of an outcome: one the set holds, or one made for this decision.
#[derive(Debug)]
pub(crate) enum Word<'a> {
    Shared(&'a Arc<str>),
    Own(Arc<str>),
}

impl Word<'_> {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Word::Shared(s) => s,
            Word::Own(s) => s,
        }
    }

    fn to_arc(&self) -> Arc<str> {
        match self {
            Word::Shared(s) => Arc::clone(s),
            Word::Own(s) => Arc::clone(s),
        }
    }
}

impl<'a> Outcome<'a> {
    /// The rate limits the host must enforce: the applicable policies', then the
    /// deciding rule's.
    pub(crate) fn rate_limits(&self) -> impl Iterator<Item = &'a RateLimitObligation> + use<'a> {
        let policies = &self.set.policies;
        self.applicable
            .iter()
            .filter_map(|&i| policies.get(i as usize).and_then(|c| c.rate_limit.as_ref()))
            .chain(self.rule_limit)
    }

    /// The decision it says, for `req`.
    pub(crate) fn decision(&self, req: &Request, explanation: Option<Explanation>) -> Decision {
        Decision {
            effect: self.effect,
            allowed: self.effect == Effect::Allow || self.mode == Mode::Audit,
            mode: self.mode,
            action: req.action.clone(),
            resource: self.resource.map(str::to_owned),
            part: self.part.map(str::to_owned),
            policy: self.policy.to_arc(),
            rule: self.rule.to_arc(),
            reason: self.reason.to_arc(),
            obligations: Obligations {
                rate_limits: self.rate_limits().cloned().collect(),
                audit: self.audit.cloned(),
            },
            explanation,
            origin: self.origin,
        }
    }
}

/// The rule that won, by position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pick {
    policy: u32,
    rule: u32,
    effect: Effect,
}

/// One target's answer, by position; strings are built once, for the deciding target.
#[derive(Debug, Clone, Copy)]
struct Verdict {
    effect: Effect,
    origin: Origin,
    /// The winning rule, when a rule decided.
    pick: Option<Pick>,
    /// The policy the answer is attributed to (the rule's, the defaulting one, the
    /// approver), `None` for the set's fallback and unreadable resources.
    policy: Option<u32>,
}

impl PolicySet {
    /// Decides a request. Never fails: a request that cannot be evaluated (no action, a
    /// control character, a bad time, ...) is denied with rule `invalid-request` and the
    /// problem as its reason, so every host fails closed with the same answer.
    pub fn decide(&self, request: &Request, explain: bool) -> Decision {
        match prepare(request, |a| self.action_kind(a)) {
            Ok(p) => self.conclude(request, &p, &self.select(&p), explain, |o, e| {
                o.decision(request, e)
            }),
            Err(e) => Decision::invalid(request, &e),
        }
    }

    /// Decides a request as [`PolicySet::decide`] does, taking what its agent and action
    /// select from `memo` when they were seen before (and remembering it otherwise).
    /// `memo` must only ever serve this set; a host keeps one per agent it knows (one
    /// that meets another agent starts over).
    pub fn decide_remembering(
        &self,
        request: &Request,
        explain: bool,
        memo: &mut Selections,
    ) -> Decision {
        match prepare(request, |a| self.action_kind(a)) {
            Ok(p) => {
                memo.serve(request.agent.as_ref());
                self.with_selection(&p, memo, |s| {
                    self.conclude(request, &p, s, explain, |o, e| o.decision(request, e))
                })
            }
            Err(e) => Decision::invalid(request, &e),
        }
    }

    /// Decides a request as [`PolicySet::decide_remembering`] does, without explanation,
    /// and hands `finish` the decision in the set's own words ([`Outcome`]), or the
    /// [`Decision`] of an invalid request. `memo` is taken to be the request's agent's
    /// without comparing: the compact host keeps one per agent slot and clears it when
    /// the slot changes hands, and the comparison cost 3 % of its decision.
    pub(crate) fn decide_outcome<R>(
        &self,
        req: &Request,
        memo: &mut Selections,
        finish: impl FnOnce(Result<&Outcome<'_>, &Decision>) -> R,
    ) -> R {
        match prepare(req, |a| self.action_kind(a)) {
            Ok(p) => self.with_selection(&p, memo, |s| {
                self.conclude(req, &p, s, false, |o, _| finish(Ok(o)))
            }),
            Err(e) => finish(Err(&Decision::invalid(req, &e))),
        }
    }

    /// Runs `f` with the selection of `p`, from `memo` (made and remembered when new).
    fn with_selection<R>(
        &self,
        p: &Prepared<'_>,
        memo: &mut Selections,
        f: impl FnOnce(&Selection) -> R,
    ) -> R {
        match memo.get_or_select(p, || self.select(p)) {
            Some(s) => f(s),
            None => f(&self.select(p)),
        }
    }

    /// Decides a request given as JSON text; malformed JSON is an invalid request.
    pub fn decide_json(&self, json: &str, explain: bool) -> Decision {
        match parse_request(json) {
            Ok(r) => self.decide(&r, explain),
            Err(e) => Decision::invalid(&Request::default(), &e),
        }
    }

    /// Across policies an explicit deny always wins: the strongest policy decision,
    /// ties to the earliest policy. Within a policy its best conditional candidate, else
    /// its best unconditional one (specific first), deny > require_approval > allow, ties
    /// to the earliest rule; in a `first-match` policy only the first matching rule.
    fn search(&self, candidates: &[Candidate], p: &Prepared<'_>, t: &Target<'_>) -> Option<Pick> {
        let mut best: Option<Pick> = None;
        for policy in candidates.chunk_by(|a, b| a.policy == b.policy) {
            let mut conditional: Option<Pick> = None;
            let mut plain: Option<Pick> = None;
            for cand in policy {
                let effect = cand.effect;
                // Outside `first-match` (where the first matching rule decides, whatever
                // its rank), a candidate that could not replace its slot's pick, or an
                // unconditional one once a conditional one matched, is not tested: its
                // conditions cannot change the outcome.
                if !cand.first_match {
                    let outranked =
                        |slot: Option<Pick>| slot.is_some_and(|b| effect.rank() <= b.effect.rank());
                    let moot = if cand.conditional {
                        outranked(conditional)
                    } else {
                        conditional.is_some() || outranked(plain)
                    };
                    if moot {
                        continue;
                    }
                }
                let rule = self
                    .policies
                    .get(cand.policy as usize)
                    .and_then(|c| c.policy.rules.get(cand.rule as usize));
                if rule.is_none_or(|r| conditions_match(r, p, t).is_err()) {
                    continue;
                }
                let slot = if cand.conditional {
                    &mut conditional
                } else {
                    &mut plain
                };
                // Strictly greater: on a tie the earliest rule keeps its place.
                if slot.is_none_or(|b| effect.rank() > b.effect.rank()) {
                    *slot = Some(Pick {
                        policy: cand.policy,
                        rule: cand.rule,
                        effect,
                    });
                }
                if cand.first_match {
                    break;
                }
            }
            if let Some(pick) = conditional.or(plain)
                && best.is_none_or(|b| pick.effect.rank() > b.effect.rank())
            {
                best = Some(pick);
                if pick.effect == Effect::Deny {
                    // Nothing later can outrank it, and ties keep the earliest.
                    break;
                }
            }
        }
        best
    }

    /// The whole procedure for one target.
    fn verdict(&self, plan: &Planned<'_>, p: &Prepared<'_>, t: &Target<'_>) -> Verdict {
        let pick = self.search(plan.candidates, p, t);
        let mut v = match pick {
            Some(w) => Verdict {
                effect: w.effect,
                origin: Origin::Rule,
                pick,
                policy: Some(w.policy),
            },
            None if t.explicit_only => Verdict {
                effect: Effect::Deny,
                origin: Origin::UnreadableResource,
                pick: None,
                policy: None,
            },
            None => match plan.plan.defaulting {
                Some((i, effect)) => Verdict {
                    effect,
                    origin: Origin::DefaultEffect,
                    pick: None,
                    policy: Some(i),
                },
                None => Verdict {
                    effect: self.fallback,
                    origin: Origin::NoPolicy,
                    pick: None,
                    policy: None,
                },
            },
        };
        if v.effect == Effect::Allow
            && let Some(approver) = plan.plan.approver
        {
            v.effect = Effect::RequireApproval;
            v.origin = Origin::HumanInTheLoop;
            v.policy = Some(approver);
        }
        v
    }

    /// Decides the request `p` with its selection and hands `finish` the decision in the
    /// set's words, with the explanation when asked for.
    fn conclude<'a, R>(
        &'a self,
        req: &Request,
        p: &'a Prepared<'_>,
        selection: &'a Selection,
        explain: bool,
        finish: impl FnOnce(&Outcome<'a>, Option<Explanation>) -> R,
    ) -> R {
        let plan = Planned {
            plan: selection.plan,
            candidates: &selection.candidates,
        };
        let targets = p.targets();
        let (target, v) = self.deciding(&plan, p, &targets, explain);
        let explanation =
            explain.then(|| self.explain(&selection.applicable, &plan, p, &target, &v, &targets));
        let outcome = self.outcome(req, p, selection, &v, &target, targets.len());
        finish(&outcome, explanation)
    }

    /// The deciding target and its verdict: the most restrictive target decides; among
    /// equals a part restricted on its own comes before one restricted only through the
    /// whole line as written (so `git status && rm -rf /` names `rm -rf /`), then the
    /// earliest.
    fn deciding<'t>(
        &self,
        plan: &Planned<'_>,
        p: &Prepared<'_>,
        targets: &[Target<'t>],
        explain: bool,
    ) -> (Target<'t>, Verdict) {
        let mut decided: Option<(usize, Verdict, bool)> = None;
        for (i, t) in targets.iter().enumerate() {
            let v = self.verdict(plan, p, t);
            let own = targets.len() == 1 || self.restricted_on_its_own(plan, &v, p, t);
            if decided.is_none_or(|(_, b, b_own)| (v.effect.rank(), own) > (b.effect.rank(), b_own))
            {
                decided = Some((i, v, own));
                if v.effect == Effect::Deny && own && !explain {
                    break;
                }
            }
        }
        let (at, v) = decided.map_or(
            (
                0,
                Verdict {
                    effect: Effect::Deny,
                    origin: Origin::NoPolicy,
                    pick: None,
                    policy: None,
                },
            ),
            |(i, v, _)| (i, v),
        );
        let target = targets.get(at).copied().unwrap_or(Target {
            text: None,
            host: None,
            explicit_only: false,
            as_written: true,
        });
        (target, v)
    }

    /// The decision of verdict `v` on `target` (one of `targets` targets), in the set's
    /// own words.
    fn outcome<'a>(
        &'a self,
        req: &Request,
        p: &'a Prepared<'_>,
        selection: &'a Selection,
        v: &Verdict,
        target: &Target<'a>,
        targets: usize,
    ) -> Outcome<'a> {
        let reading = p.reading.as_ref();
        let part = reading.filter(|r| r.names_parts()).and(target.text);
        let (policy, rule, mut reason) = self.words(v, p);
        if let Some(part) = part
            && targets > 1
        {
            reason = Word::Own(concat(&[reason.as_str(), " (in `", part, "`)"]));
        }
        let policy_at = |i: u32| self.policies.get(i as usize);
        Outcome {
            effect: v.effect,
            origin: v.origin,
            mode: req.mode.unwrap_or_default(),
            resource: reading.map(|r| &*r.canonical),
            part,
            policy,
            rule,
            reason,
            audit: v
                .policy
                .and_then(policy_at)
                .and_then(|c| c.policy.audit.as_ref()),
            set: self,
            applicable: &selection.applicable,
            rule_limit: v.pick.and_then(|w| {
                policy_at(w.policy)
                    .and_then(|c| c.rules.get(w.rule as usize))
                    .and_then(|r| r.rate_limit.as_ref())
            }),
        }
    }

    /// Whether `t` is as restricted as `v` says without the whole text as written: a part
    /// that its own words make this restrictive is named before one that only the whole
    /// line's `contains` hardening caught.
    fn restricted_on_its_own(
        &self,
        plan: &Planned<'_>,
        v: &Verdict,
        p: &Prepared<'_>,
        t: &Target<'_>,
    ) -> bool {
        if v.effect == Effect::Allow || !t.as_written {
            // Without the text as written the verdict would be the same one.
            return true;
        }
        let own = Target {
            as_written: false,
            ..*t
        };
        self.verdict(plan, p, &own).effect.rank() >= v.effect.rank()
    }

    /// The deciding policy, rule and reason of a verdict, in words.
    fn words(&self, v: &Verdict, p: &Prepared<'_>) -> (Word<'_>, Word<'_>, Word<'_>) {
        let at = |i: Option<u32>| i.and_then(|i| self.policies.get(i as usize));
        let default = || Word::Shared(&self.words.default);
        match (v.origin, at(v.policy)) {
            (Origin::Rule, Some(c)) => match v.pick.and_then(|w| c.rules.get(w.rule as usize)) {
                Some(r) => (
                    Word::Shared(&c.name),
                    Word::Shared(&r.id),
                    Word::Shared(&r.reason),
                ),
                None => (Word::Shared(&c.name), default(), default()),
            },
            (Origin::DefaultEffect, Some(c)) => {
                let reason = if v.effect == Effect::Deny {
                    concat(&[
                        "no rule matched `",
                        p.action,
                        "`; policy `",
                        &c.name,
                        "` denies by default",
                    ])
                } else {
                    concat(&[
                        "no rule matched `",
                        p.action,
                        "`; every applicable policy allows by default",
                    ])
                };
                (
                    Word::Shared(&c.name),
                    Word::Shared(&self.words.default_effect),
                    Word::Own(reason),
                )
            }
            (Origin::HumanInTheLoop, Some(c)) => (
                Word::Shared(&c.name),
                Word::Shared(&self.words.human_in_the_loop),
                Word::Own(concat(&[
                    "`",
                    p.action,
                    "` requires human approval under policy `",
                    &c.name,
                    "`",
                ])),
            ),
            (Origin::UnreadableResource, _) => {
                let (kind, problem) = p
                    .reading
                    .as_ref()
                    .map(|r| (r.kind, r.unreadable.as_deref().unwrap_or_default()))
                    .unwrap_or((crate::model::ResourceKind::Plain, ""));
                (
                    default(),
                    Word::Shared(&self.words.unreadable_resource),
                    Word::Own(Arc::from(format!(
                        "cannot read the resource of `{}` as {}: {problem}",
                        p.action,
                        crate::kinds::noun(kind)
                    ))),
                )
            }
            _ => {
                let word = if v.effect == Effect::Allow {
                    "`; allowed by default"
                } else {
                    "`; denied by default"
                };
                (
                    default(),
                    default(),
                    Word::Own(concat(&["no policy applies to `", p.action, word])),
                )
            }
        }
    }
}

/// Reads a request from JSON text (strict: unknown fields are errors, and the request and
/// its agent must be JSON objects — serde would otherwise also accept an array of the
/// fields in declaration order, a form no client means to send).
pub fn parse_request(json: &str) -> Result<Request, RequestError> {
    // The fast path, one pass straight into the request: taken only for a JSON object
    // (serde would read a struct from an array of its fields too), and whatever it
    // refuses goes the careful way below, so the words of every error stay the same.
    if json.trim_start().starts_with('{')
        && let Ok(request) = serde_json::from_str::<Request>(json)
    {
        return Ok(request);
    }
    parse_request_checked(json)
}

/// The careful way: the text as a JSON value first, so that a request that is not an
/// object, or an agent that is not one, is refused in those words.
fn parse_request_checked(json: &str) -> Result<Request, RequestError> {
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
            part: None,
            policy: Arc::from("default"),
            rule: Arc::from("invalid-request"),
            reason: Arc::from(format!("invalid request: {e}")),
            obligations: Obligations::default(),
            explanation: None,
            origin: Origin::InvalidRequest,
        }
    }
}

/// The pieces one after the other, shared: one exact allocation for the text (and one for
/// the `Arc`), where `format!` grows its buffer as it goes.
fn concat(pieces: &[&str]) -> Arc<str> {
    let mut text = String::with_capacity(pieces.iter().map(|p| p.len()).sum());
    for piece in pieces {
        text.push_str(piece);
    }
    Arc::from(text)
}

#[cfg(test)]
mod parse_tests {
    #![allow(clippy::unwrap_used)]

    use super::{parse_request, parse_request_checked};

    /// The one-pass reading and the careful one agree on every input: the same request,
    /// or the same error in the same words.
    #[test]
    fn the_fast_path_reads_what_the_careful_one_reads() {
        for json in [
            r#"{"action":"read:file","resource":"/tmp/x","agent":{"id":"a","tags":["t"]}}"#,
            r#"  {"action":"a","context":{"n":[1,2,{"k":null}]},"time":"2026-01-26T10:00:00Z","mode":"audit"}"#,
            r#"{"action":"a","agent":null,"context":null}"#,
            r#"{"action":"a","action":"b"}"#,
            r#"["read:x"]"#,
            r#"{"action":"a","agent":["x"]}"#,
            r#"{"action":"a","agent":"x"}"#,
            r#"{"action":"a","agent":{"id":1}}"#,
            r#"{"action":"a","agent":{"id":"a","extra":1}}"#,
            r#"{"action":42}"#,
            r#"{"action":"a","unknown":1}"#,
            r#"{"action":"a","mode":"sometimes"}"#,
            r#"{"resource":"r"}"#,
            "{",
            "null",
        ] {
            assert_eq!(parse_request(json), parse_request_checked(json), "{json}");
        }
        assert_eq!(
            parse_request(r#"{"action":"a","action":"b"}"#)
                .unwrap()
                .action,
            "b"
        );
    }
}
