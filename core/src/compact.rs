//! Decisions for hosts that pay for every string crossing their boundary (JavaScript
//! through wasm-bindgen or N-API): the request comes in as a few texts the host wrote
//! into a buffer the core reads in place ([`exchange`]), with the agent registered once
//! and named by a slot, and the decision goes out as a record of small integers (in the
//! same buffer) plus the few strings that change from one decision to the next.
//!
//! Where the JSON boundary costs two serde passes and two text crossings per decision,
//! this costs the core's decision and a short record: policy and rule names and the
//! compiled reasons are shared `Arc<str>`s of the set, so they are numbered once
//! ([`Compact::string`]) and the host keeps its own copy of each. The decision is the
//! very [`Decision`] the JSON path gives for the same [`Request`], written from the
//! set's own words without making one ([`Compact::decide_on`]), with what each agent
//! and action select remembered per agent slot; anything the record cannot carry (an
//! explanation, an unusual obligation) is handed back as the decision's JSON instead, so
//! a host never has to guess.

use crate::PolicySet;
use crate::boundary::{Agent, Decision, Mode, Request};
use crate::select::Selections;
use record::{Numbers, View};

pub mod exchange;
mod record;

/// Rate-limit obligations the record carries; a decision with more goes as JSON.
pub const MAX_RATE_LIMITS: usize = 8;

/// The record's length in `i32`s: the head, five fields, four per rate limit, and the
/// UTF-16 lengths of at most five strings plus two per rate limit.
pub const RECORD_LEN: usize = 6 + 4 * MAX_RATE_LIMITS + 5 + 2 * MAX_RATE_LIMITS;

/// Agent slots a host may register; it reuses them in turn (see [`Compact::set_agent`]).
pub const AGENT_SLOTS: usize = 256;

/// Bits of the record's head (`record[0]`).
pub mod head {
    /// The effect: 0 allow, 1 deny, 2 require_approval.
    pub const EFFECT: i32 = 0b11;
    /// `allowed`.
    pub const ALLOWED: i32 = 1 << 2;
    /// Mode `audit` (else `enforce`).
    pub const AUDIT: i32 = 1 << 3;
    /// The resource is the request's own text, unchanged.
    pub const RESOURCE_SAME: i32 = 1 << 4;
    /// The resource is the next string of the text.
    pub const RESOURCE_TEXT: i32 = 1 << 5;
    /// `part` is present, the next string of the text.
    pub const PART: i32 = 1 << 6;
    /// The record carries nothing: the text is the decision's JSON.
    pub const JSON: i32 = 1 << 8;
    /// Nothing was decided: the host must take the JSON path for this request (its
    /// context did not read the way the whole request would, and the words of the
    /// error depend on where it sits in the request).
    pub const RETRY: i32 = 1 << 9;
}

/// A request as flat parts, borrowed from the host's arguments.
#[derive(Debug, Clone, Copy, Default)]
pub struct Parts<'a> {
    /// `action`.
    pub action: &'a str,
    /// `resource`, when present and not `null`.
    pub resource: Option<&'a str>,
    /// The slot of an agent registered with [`Compact::set_agent`]; no agent when `None`
    /// or when the slot is empty.
    pub agent: Option<u32>,
    /// `context` as JSON text, when present.
    pub context: Option<&'a str>,
    /// `time`, when present and not `null`.
    pub time: Option<&'a str>,
    /// `mode`, when present and not `null`.
    pub mode: Option<Mode>,
}

/// What one host keeps between compact decisions on one set: a reusable request, the
/// registered agents with what their actions select (see
/// [`PolicySet::decide_remembering`]), and the numbering of shared strings and audit
/// settings.
#[derive(Debug, Default)]
pub struct Compact {
    request: Request,
    agents: Vec<Option<Agent>>,
    /// By slot, the memo of the agent there; the one past the last slot is for requests
    /// without an agent.
    selections: Vec<Selections>,
    numbers: Numbers,
}

impl Compact {
    /// An empty host state.
    pub fn new() -> Compact {
        Compact::default()
    }

    /// Puts an agent in `slot` (below [`AGENT_SLOTS`]), replacing whatever was there; a
    /// slot out of range is ignored (requests naming it then have no agent, which the
    /// host never sends: it only names slots it filled).
    pub fn set_agent(&mut self, slot: u32, agent: Agent) {
        let slot = slot as usize;
        if slot >= AGENT_SLOTS {
            return;
        }
        if self.agents.len() <= slot {
            self.agents.resize_with(slot + 1, || None);
        }
        if let Some(s) = self.agents.get_mut(slot) {
            *s = Some(agent);
        }
        if let Some(memo) = self.selections.get_mut(slot) {
            memo.clear();
        }
    }

    /// The numbered string `i`.
    pub fn string(&self, i: u32) -> Option<&str> {
        self.numbers.string(i)
    }

    /// The numbered audit settings `i` as JSON, exactly as the decision's JSON has them.
    pub fn audit_json(&self, i: u32) -> Option<String> {
        self.numbers.audit_json(i)
    }

    /// Decides the request of `parts` on `set` (the set this host state belongs to) and
    /// writes the decision into `record` (at least [`RECORD_LEN`] long); returns the text
    /// the record points into (the strings it does not number, or the whole decision's
    /// JSON), if any. The decision is [`PolicySet::decide`]'s, encoded from the set's own
    /// words without making a [`Decision`]: no string copied, no shared one counted.
    pub fn decide_on(
        &mut self,
        set: &PolicySet,
        parts: Parts<'_>,
        record: &mut [i32],
    ) -> Option<String> {
        let memo_at = self.load(parts, record)?;
        let Compact {
            request,
            selections,
            numbers,
            ..
        } = self;
        let mut scratch = Selections::new();
        let memo = selections.get_mut(memo_at).unwrap_or(&mut scratch);
        let text = set.decide_outcome(request, memo, |outcome| match outcome {
            Ok(o) => match numbers.encode(&View::of_outcome(o), parts, record) {
                Ok(text) => text,
                Err(()) => as_json(&o.decision(request, None), record),
            },
            Err(d) => encode(numbers, d, parts, record),
        });
        self.unload(parts);
        text
    }

    /// Builds the request from `parts`, lets `decide` decide it (with the memo of its
    /// agent, for [`PolicySet::decide_remembering`]) and writes the decision into
    /// `record` (at least [`RECORD_LEN`] long); returns the text the record points into
    /// (the strings it does not number, or the whole decision's JSON), if any. For hosts
    /// that change the decision after the set (a rate limiter); see
    /// [`Compact::decide_on`].
    pub fn decide(
        &mut self,
        parts: Parts<'_>,
        record: &mut [i32],
        decide: impl FnOnce(&Request, &mut Selections) -> Decision,
    ) -> Option<String> {
        let memo_at = self.load(parts, record)?;
        let mut scratch = Selections::new();
        let memo = self.selections.get_mut(memo_at).unwrap_or(&mut scratch);
        let decision = decide(&self.request, memo);
        self.unload(parts);
        encode(&mut self.numbers, &decision, parts, record)
    }

    /// Builds the request from `parts`, the agent moved in from its slot; the index of
    /// the request's memo in `selections`, or `None` when the record says
    /// [`head::RETRY`] (a context that does not read as JSON) or is too short.
    fn load(&mut self, parts: Parts<'_>, record: &mut [i32]) -> Option<usize> {
        if record.len() < RECORD_LEN {
            return None;
        }
        let context = match parts
            .context
            .map(serde_json::from_str::<Option<serde_json::Value>>)
        {
            None => None,
            Some(Ok(value)) => value,
            Some(Err(_)) => {
                record[0] = head::RETRY;
                return None;
            }
        };
        let r = &mut self.request;
        r.action.clear();
        r.action.push_str(parts.action);
        set_text(&mut r.resource, parts.resource);
        set_text(&mut r.time, parts.time);
        r.context = context;
        r.mode = parts.mode;
        // The agent moves into the request and back: no copy of its strings.
        r.agent = parts
            .agent
            .and_then(|slot| self.agents.get_mut(slot as usize))
            .and_then(Option::take);
        let memo_at = match (&r.agent, parts.agent) {
            (Some(_), Some(slot)) => slot as usize,
            _ => AGENT_SLOTS,
        };
        if self.selections.len() <= memo_at {
            self.selections.resize_with(memo_at + 1, Selections::new);
        }
        Some(memo_at)
    }

    /// Moves the request's agent back to its slot.
    fn unload(&mut self, parts: Parts<'_>) {
        if let Some(slot) = parts.agent.and_then(|s| self.agents.get_mut(s as usize)) {
            *slot = self.request.agent.take();
        }
    }
}

/// The record of `d`, or its JSON when the record cannot say it.
fn encode(
    numbers: &mut Numbers,
    d: &Decision,
    parts: Parts<'_>,
    record: &mut [i32],
) -> Option<String> {
    match View::of_decision(d, parts.action).map(|v| numbers.encode(&v, parts, record)) {
        Some(Ok(text)) => text,
        _ => as_json(d, record),
    }
}

/// The record that says "the text is the decision's JSON", and that text.
fn as_json(d: &Decision, record: &mut [i32]) -> Option<String> {
    if let Some(head) = record.first_mut() {
        *head = head::JSON;
    }
    Some(d.to_json())
}

/// Sets an optional string, reusing its buffer.
fn set_text(slot: &mut Option<String>, value: Option<&str>) {
    match (slot.as_mut(), value) {
        (Some(s), Some(v)) => {
            s.clear();
            s.push_str(v);
        }
        (None, Some(v)) => *slot = Some(v.to_owned()),
        (_, None) => *slot = None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PolicySet, Source};

    const POLICY: &str = "name: p\nrateLimits: {requestsPerMinute: 5}\naudit: {enabled: true}\nrules:\n  - {effect: allow, actions: [\"read:*\"], reason: fine}\n  - {effect: deny, actions: [\"execute:shell\"], conditions: {resource: {contains: [\"rm \"]}}}\n";

    fn set() -> PolicySet {
        PolicySet::compile([Source::new("p.yaml", POLICY)]).unwrap()
    }

    /// Rebuilds the decision from a record the way the JS host does (as a JSON value:
    /// key order is the JS suite's to check).
    fn rebuild(
        c: &Compact,
        record: &[i32],
        text: Option<&str>,
        parts: Parts<'_>,
    ) -> serde_json::Value {
        let h = record[0];
        if h & head::JSON != 0 {
            return serde_json::from_str(text.unwrap()).unwrap();
        }
        let n = record[5] as usize;
        let mut lengths = record[6 + 4 * n..].iter();
        let text: Vec<u16> = text.unwrap_or("").encode_utf16().collect();
        let mut at = 0;
        let mut next = || {
            let len = *lengths.next().unwrap() as usize;
            let s = String::from_utf16(&text[at..at + len]).unwrap();
            at += len;
            s
        };
        let mut v = serde_json::Map::new();
        let effect = ["allow", "deny", "require_approval"][(h & head::EFFECT) as usize];
        v.insert("effect".into(), effect.into());
        v.insert("allowed".into(), (h & head::ALLOWED != 0).into());
        let mode = if h & head::AUDIT != 0 {
            "audit"
        } else {
            "enforce"
        };
        v.insert("mode".into(), mode.into());
        v.insert("action".into(), parts.action.into());
        let resource = if h & head::RESOURCE_SAME != 0 {
            parts.resource.map(str::to_owned)
        } else if h & head::RESOURCE_TEXT != 0 {
            Some(next())
        } else {
            None
        };
        v.insert("resource".into(), resource.into());
        if h & head::PART != 0 {
            v.insert("part".into(), next().into());
        }
        let mut string = |i: i32| match i {
            -1 => next(),
            i => c.string(i as u32).unwrap().to_owned(),
        };
        v.insert("policy".into(), string(record[1]).into());
        v.insert("rule".into(), string(record[2]).into());
        v.insert("reason".into(), string(record[3]).into());
        let limits: Vec<serde_json::Value> = (0..n)
            .map(|i| {
                let at = 6 + 4 * i;
                let count = |x: i32| (x >= 0).then_some(x);
                serde_json::json!({
                    "policy": string(record[at]),
                    "rule": string(record[at + 1]),
                    "requestsPerMinute": count(record[at + 2]),
                    "requestsPerHour": count(record[at + 3]),
                })
            })
            .collect();
        let audit: serde_json::Value = match record[4] {
            -1 => serde_json::Value::Null,
            i => serde_json::from_str(&c.audit_json(i as u32).unwrap()).unwrap(),
        };
        v.insert(
            "obligations".into(),
            serde_json::json!({"rateLimits": limits, "audit": audit}),
        );
        serde_json::Value::Object(v)
    }

    #[test]
    fn records_rebuild_the_json_decision() {
        let s = set();
        let mut c = Compact::new();
        c.set_agent(
            3,
            Agent {
                id: Some("a1".into()),
                tags: vec!["t".into()],
                ..Agent::default()
            },
        );
        let cases = [
            Parts {
                action: "read:file",
                resource: Some("./a/../b"),
                agent: Some(3),
                ..Parts::default()
            },
            Parts {
                action: "execute:shell",
                resource: Some("ls && rm -rf /"),
                ..Parts::default()
            },
            Parts {
                action: "write:x",
                mode: Some(Mode::Audit),
                context: Some(r#"{"k":[1,"é😀"]}"#),
                time: Some("2026-01-26T10:00:00Z"),
                ..Parts::default()
            },
            Parts {
                action: "read:x",
                context: Some("3"),
                ..Parts::default()
            },
            Parts {
                action: "",
                resource: Some("é😀"),
                ..Parts::default()
            },
        ];
        for parts in cases {
            // Through a decision, then twice from the set's words (the second time with
            // the selection from the agent's memo).
            for round in 0..3 {
                let mut record = [0; RECORD_LEN];
                let mut asked = None;
                let mut text = c.decide(parts, &mut record, |r, memo| {
                    asked = Some(r.clone());
                    s.decide_remembering(r, false, memo)
                });
                let asked = asked.unwrap();
                if round > 0 {
                    record = [0; RECORD_LEN];
                    text = c.decide_on(&s, parts, &mut record);
                }
                let want = serde_json::to_value(s.decide(&asked, false)).unwrap();
                assert_eq!(rebuild(&c, &record, text.as_deref(), parts), want);
            }
        }
        // The agent went back to its slot.
        let mut record = [0; RECORD_LEN];
        c.decide(cases[0], &mut record, |r, _| {
            assert_eq!(r.agent.as_ref().and_then(|a| a.id.as_deref()), Some("a1"));
            s.decide(r, false)
        });
    }

    #[test]
    fn explanations_and_bad_context_do_not_fit_a_record() {
        let s = set();
        let mut c = Compact::new();
        let mut record = [0; RECORD_LEN];
        let parts = Parts {
            action: "read:file",
            ..Parts::default()
        };
        let text = c.decide(parts, &mut record, |r, _| s.decide(r, true));
        assert_eq!(record[0], head::JSON);
        assert_eq!(
            text.unwrap(),
            serde_json::to_string(&s.decide_json(r#"{"action":"read:file"}"#, true)).unwrap()
        );
        let bad = Parts {
            context: Some(r#""\ud800""#),
            ..parts
        };
        assert_eq!(c.decide(bad, &mut record, |r, _| s.decide(r, false)), None);
        assert_eq!(record[0], head::RETRY);
    }

    #[test]
    fn only_shared_strings_are_numbered() {
        let s = set();
        let mut c = Compact::new();
        let mut record = [0; RECORD_LEN];
        for _ in 0..3 {
            c.decide(
                Parts {
                    action: "nope",
                    ..Parts::default()
                },
                &mut record,
                |r, _| s.decide(r, false),
            );
        }
        // policy `p`, rule `defaultEffect`... only what the set holds stays.
        assert!(c.numbers.strings() <= 3, "{:?}", c.numbers);
        assert!(c.string(u32::MAX).is_none());
        assert!(c.audit_json(0).is_some());
    }
}
