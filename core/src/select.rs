//! What a request's agent and action select in a set before any resource or condition
//! is looked at (`docs/semantics.md` §4): the applicable policies, the candidate rules
//! (those whose actions match), the policy a target no rule matches is attributed to,
//! and the policy whose `humanInTheLoop` names the action.
//!
//! A selection depends on the agent and the action alone, so a host that decides many
//! requests of one registered agent keeps it per action in a [`Selections`] and skips
//! this step next time: on the example policies it is a quarter of a decision's work
//! (index lookups, action globs, merging rule lists).

use crate::boundary::Agent;
use crate::compile::{PolicySet, rules_for, tier_index, verb};
use crate::matching::{Prepared, applies};
use crate::model::{Effect, RuleOrder};

/// Indices of the applicable policies; agents rarely see more than a handful, so they
/// live on the stack.
pub(crate) type Applicable = smallvec::SmallVec<[u32; 16]>;

/// A rule of an applicable policy whose actions match the request's action, by position
/// (no borrow of the set, so a selection can outlive the call that made it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Candidate {
    pub policy: u32,
    pub rule: u32,
    /// Whether the policy is `first-match`.
    pub first_match: bool,
    pub conditional: bool,
    pub effect: Effect,
}

/// The candidates, in applicable-policy order and ascending rule order within a policy;
/// most requests meet a handful, so they live on the stack.
pub(crate) type Candidates = smallvec::SmallVec<[Candidate; 16]>;

/// Which policies a target that no rule decides falls back on.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Plan {
    /// The policy a target no rule matched is attributed to: the first applicable one
    /// that denies by default, else the first applicable one (allowing).
    pub defaulting: Option<(u32, Effect)>,
    /// The first applicable policy whose `humanInTheLoop` names the action.
    pub approver: Option<u32>,
}

/// Everything one agent and one action select.
#[derive(Debug, Clone, Default)]
pub(crate) struct Selection {
    pub applicable: Applicable,
    pub candidates: Candidates,
    pub plan: Plan,
}

/// Actions one [`Selections`] remembers; past this it starts over, so an agent that
/// sends endless distinct actions costs bounded memory (and each of them one selection,
/// as without a memo).
const REMEMBERED_ACTIONS: usize = 16;

/// The selections of one agent on one set, by action: what
/// [`PolicySet::decide_remembering`] reuses. A host keeps one per agent it knows; a memo
/// that meets a request of another agent starts over for it, so a mix-up costs a
/// selection, never a decision. It holds positions in the set it was filled from, so it
/// must only ever serve that set.
#[derive(Debug, Clone, Default)]
pub struct Selections {
    /// The agent the selections are for.
    agent: Option<Agent>,
    by_action: Vec<(Box<str>, Selection)>,
}

impl Selections {
    /// An empty memo.
    pub fn new() -> Selections {
        Selections::default()
    }

    /// Forgets everything (the agent changed).
    pub fn clear(&mut self) {
        self.agent = None;
        self.by_action.clear();
    }

    /// Starts over unless the memo is for `agent` (a request's).
    pub(crate) fn serve(&mut self, agent: Option<&Agent>) {
        if self.agent.as_ref() != agent {
            self.by_action.clear();
            self.agent = agent.cloned();
        }
    }

    /// The selection of `p`'s action, made by `select` when not remembered yet (`None`
    /// never happens: the entry is found or just made).
    pub(crate) fn get_or_select(
        &mut self,
        p: &Prepared<'_>,
        select: impl FnOnce() -> Selection,
    ) -> Option<&Selection> {
        let at = match self.by_action.iter().position(|(a, _)| **a == *p.action) {
            Some(at) => at,
            None => {
                if self.by_action.len() >= REMEMBERED_ACTIONS {
                    self.by_action.clear();
                }
                self.by_action.push((p.action.into(), select()));
                self.by_action.len() - 1
            }
        };
        self.by_action.get(at).map(|(_, s)| s)
    }
}

impl PolicySet {
    /// What `p`'s agent and action select.
    pub(crate) fn select(&self, p: &Prepared<'_>) -> Selection {
        let applicable = self.applicable(p);
        let mut candidates = Candidates::new();
        let plan = self.plan(&applicable, p.action, &mut candidates);
        Selection {
            applicable,
            candidates,
            plan,
        }
    }

    /// The policies whose `appliesTo` selects the request, in load order.
    fn applicable(&self, p: &Prepared<'_>) -> Applicable {
        let mut out: Applicable = self.universal.iter().copied().collect();
        if p.has_agent {
            // Each list is ascending without repeats: one alone needs no sorting.
            let mut lists = usize::from(!out.is_empty());
            let mut add = |b: &[u32]| {
                if !b.is_empty() {
                    out.extend_from_slice(b);
                    lists += 1;
                }
            };
            for t in p.tags {
                if let Some(b) = self.by_tag.get(t) {
                    add(b);
                }
            }
            if let Some(b) = p.agent_id.and_then(|id| self.by_agent_id.get(id)) {
                add(b);
            }
            if let Some(b) = p.org_id.and_then(|id| self.by_org_id.get(id)) {
                add(b);
            }
            if let Some(t) = p.tier {
                add(&self.by_tier[tier_index(t)]);
            }
            if lists > 1 {
                out.sort_unstable();
                out.dedup();
            }
            if self.check_applies {
                out.retain(|i| {
                    self.policies.get(*i as usize).is_some_and(|c| {
                        !c.check_applies || applies(&c.policy.applies_to, p).is_ok()
                    })
                });
            }
        }
        out
    }

    /// What the action selects among the applicable policies: every target (each part
    /// of a shell line, and the re-run that names the deciding part) then only tests
    /// conditions. The candidates go to `candidates` (filled in place: the list is large
    /// to move).
    fn plan(&self, applicable: &[u32], action: &str, candidates: &mut Candidates) -> Plan {
        let action_id = self.names.actions.get(action).copied();
        let verb_id = self.names.verbs.get(verb(action)).copied();
        let mut defaulting = None;
        let mut approver = None;
        let mut first_applicable = None;
        for &pi in applicable {
            let Some(c) = self.policies.get(pi as usize) else {
                continue;
            };
            first_applicable.get_or_insert(pi);
            if defaulting.is_none() && c.policy.default_effect == Effect::Deny {
                defaulting = Some((pi, Effect::Deny));
            }
            if approver.is_none() && c.policy.require_approval.iter().any(|g| g.matches(action)) {
                approver = Some(pi);
            }
            let first_match = c.policy.rule_order == RuleOrder::FirstMatch;
            // A rule found by its action has only literal patterns, one of them the
            // action: only the others need their patterns tested.
            let literal = rules_for(&c.by_action, action_id)
                .iter()
                .map(|&ri| (ri, false));
            let patterned = merge(
                rules_for(&c.by_verb, verb_id).iter().copied(),
                c.any_verb.iter().copied(),
            )
            .map(|ri| (ri, true));
            for (ri, test) in merge_by_rule(literal, patterned) {
                let (Some(rule), Some(compiled)) =
                    (c.policy.rules.get(ri as usize), c.rules.get(ri as usize))
                else {
                    continue;
                };
                if !test || rule.actions.iter().any(|g| g.matches(action)) {
                    candidates.push(Candidate {
                        policy: pi,
                        rule: ri,
                        first_match,
                        conditional: compiled.conditional,
                        effect: rule.effect,
                    });
                }
            }
        }
        Plan {
            defaulting: defaulting.or(first_applicable.map(|i| (i, Effect::Allow))),
            approver,
        }
    }
}

/// Yields the union of two ascending lists of rule indices with a flag, ascending, without
/// allocating; on equal indices the first list's entry wins.
fn merge_by_rule(
    a: impl Iterator<Item = (u32, bool)>,
    b: impl Iterator<Item = (u32, bool)>,
) -> impl Iterator<Item = (u32, bool)> {
    let (mut a, mut b) = (a.peekable(), b.peekable());
    std::iter::from_fn(move || match (a.peek().copied(), b.peek().copied()) {
        (Some(x), Some(y)) if x.0 == y.0 => {
            b.next();
            a.next()
        }
        (Some(x), Some(y)) if x.0 > y.0 => b.next(),
        (Some(_), _) => a.next(),
        (None, _) => b.next(),
    })
}

/// Yields the union of two ascending index lists, ascending, without allocating.
fn merge(a: impl Iterator<Item = u32>, b: impl Iterator<Item = u32>) -> impl Iterator<Item = u32> {
    let (mut a, mut b) = (a.peekable(), b.peekable());
    std::iter::from_fn(move || match (a.peek().copied(), b.peek().copied()) {
        (Some(x), Some(y)) if x == y => {
            b.next();
            a.next()
        }
        (Some(x), Some(y)) if x > y => b.next(),
        (Some(_), _) => a.next(),
        (None, _) => b.next(),
    })
}
