//! The record a compact decision is written as (layout: [`head`] and [`RECORD_LEN`]),
//! from a [`Decision`] or straight from the set's own words ([`Outcome`]), and the
//! numbering of the shared strings and audit settings it names.

use std::sync::Arc;

use rustc_hash::FxHashMap as HashMap;

use super::{MAX_RATE_LIMITS, Parts, RECORD_LEN, head};
use crate::boundary::{Decision, Mode, RateLimitObligation};
use crate::eval::{Outcome, Word};
use crate::model::{AuditSettings, Effect};

/// Strings numbered at most: past this the rest travel as text, so a host that meets
/// endless distinct shared strings (it cannot, with one compiled set) stays bounded.
const MAX_STRINGS: usize = 1 << 16;

/// The bytes [`Text`] reserves at its first string.
const TEXT_ROOM: usize = 128;

/// A string of a decision to encode: shared with the set (numbered once, then named by
/// number), or made for this decision (sent as text).
#[derive(Debug, Clone, Copy)]
enum Str<'a> {
    Shared(&'a Arc<str>),
    Own(&'a str),
}

impl<'a> Str<'a> {
    /// A decision's string: shared when someone else holds it too (the set does, for
    /// every string it made once).
    fn held(s: &'a Arc<str>) -> Str<'a> {
        if Arc::strong_count(s) > 1 {
            Str::Shared(s)
        } else {
            Str::Own(s)
        }
    }

    fn of(w: &'a Word<'_>) -> Str<'a> {
        match w {
            Word::Shared(s) => Str::Shared(s),
            Word::Own(s) => Str::Own(s),
        }
    }
}

/// One rate-limit obligation to encode.
#[derive(Debug, Clone, Copy)]
struct Limit<'a> {
    policy: Str<'a>,
    rule: Str<'a>,
    per_minute: Option<u32>,
    per_hour: Option<u32>,
}

impl<'a> Limit<'a> {
    fn new(l: &'a RateLimitObligation, str: impl Fn(&'a Arc<str>) -> Str<'a>) -> Limit<'a> {
        Limit {
            policy: str(&l.policy),
            rule: str(&l.rule),
            per_minute: l.requests_per_minute,
            per_hour: l.requests_per_hour,
        }
    }
}

/// Where a record's rate limits come from.
#[derive(Debug, Clone, Copy)]
enum Limits<'a> {
    Decision(&'a [RateLimitObligation]),
    /// The set's own obligations: shared strings all.
    Outcome(&'a Outcome<'a>),
}

impl<'a> Limits<'a> {
    fn each(self) -> impl Iterator<Item = Limit<'a>> {
        let (decision, outcome) = match self {
            Limits::Decision(l) => (Some(l.iter().map(|l| Limit::new(l, Str::held))), None),
            Limits::Outcome(o) => (
                None,
                Some(o.rate_limits().map(|l| Limit::new(l, Str::Shared))),
            ),
        };
        decision
            .into_iter()
            .flatten()
            .chain(outcome.into_iter().flatten())
    }
}

/// What a record says, borrowed from a decision or an outcome.
#[derive(Debug)]
pub(super) struct View<'a> {
    effect: Effect,
    allowed: bool,
    mode: Mode,
    resource: Option<&'a str>,
    part: Option<&'a str>,
    policy: Str<'a>,
    rule: Str<'a>,
    reason: Str<'a>,
    limits: Limits<'a>,
    audit: Option<&'a Arc<AuditSettings>>,
}

impl<'a> View<'a> {
    /// The record of `d`, decided for a request of action `action`; `None` for an
    /// explained decision or one of another action, which a record cannot say.
    pub(super) fn of_decision(d: &'a Decision, action: &str) -> Option<View<'a>> {
        if d.explanation.is_some() || d.action != action {
            return None;
        }
        Some(View {
            effect: d.effect,
            allowed: d.allowed,
            mode: d.mode,
            resource: d.resource.as_deref(),
            part: d.part.as_deref(),
            policy: Str::held(&d.policy),
            rule: Str::held(&d.rule),
            reason: Str::held(&d.reason),
            limits: Limits::Decision(&d.obligations.rate_limits),
            audit: d.obligations.audit.as_ref(),
        })
    }

    /// The record of `o`.
    pub(super) fn of_outcome(o: &'a Outcome<'a>) -> View<'a> {
        View {
            effect: o.effect,
            allowed: o.effect == Effect::Allow || o.mode == Mode::Audit,
            mode: o.mode,
            resource: o.resource,
            part: o.part,
            policy: Str::of(&o.policy),
            rule: Str::of(&o.rule),
            reason: Str::of(&o.reason),
            limits: Limits::Outcome(o),
            audit: o.audit,
        }
    }
}

/// The numbering of the strings and audit settings records name, kept by the host for
/// the set's life.
#[derive(Debug, Default)]
pub(super) struct Numbers {
    strings: Vec<Arc<str>>,
    /// By the address of the shared allocation: a string the set holds keeps its address
    /// for the set's life, and holding a clone here keeps the address from being reused.
    by_address: HashMap<usize, i32>,
    audits: Vec<Arc<AuditSettings>>,
    audit_by_address: HashMap<usize, i32>,
}

impl Numbers {
    /// The numbered string `i`.
    pub(super) fn string(&self, i: u32) -> Option<&str> {
        self.strings.get(i as usize).map(|s| &**s)
    }

    /// The numbered audit settings `i` as JSON, exactly as the decision's JSON has them.
    pub(super) fn audit_json(&self, i: u32) -> Option<String> {
        let audit = self.audits.get(i as usize)?;
        serde_json::to_string(&**audit).ok()
    }

    #[cfg(test)]
    pub(super) fn strings(&self) -> usize {
        self.strings.len()
    }

    /// Writes the record of `v`, decided for `parts`, into `record` (at least
    /// [`RECORD_LEN`] long); returns the text the record points into, if any, or `Err`
    /// when the record cannot say it (nothing written: the decision must go as JSON).
    pub(super) fn encode(
        &mut self,
        v: &View<'_>,
        parts: Parts<'_>,
        record: &mut [i32],
    ) -> Result<Option<String>, ()> {
        if record.len() < RECORD_LEN {
            return Err(());
        }
        let mut text = Text::default();
        let mut bits = match v.effect {
            Effect::Allow => 0,
            Effect::Deny => 1,
            Effect::RequireApproval => 2,
        };
        if v.allowed {
            bits |= head::ALLOWED;
        }
        if v.mode == Mode::Audit {
            bits |= head::AUDIT;
        }
        match (v.resource, parts.resource) {
            (None, _) => {}
            (Some(r), Some(asked)) if r == asked => bits |= head::RESOURCE_SAME,
            (Some(r), _) => {
                bits |= head::RESOURCE_TEXT;
                text.push(r);
            }
        }
        if let Some(part) = v.part {
            bits |= head::PART;
            text.push(part);
        }
        let audit = match v.audit {
            None => -1,
            Some(a) => self.number_audit(a).ok_or(())?,
        };
        // Everything that could send the decision as JSON is checked before numbering.
        let count = |n: Option<u32>| n.map_or(Some(-1), |n| i32::try_from(n).ok());
        let mut counts = [(0, 0); MAX_RATE_LIMITS];
        let mut n = 0;
        for l in v.limits.each() {
            let slot = counts.get_mut(n).ok_or(())?;
            *slot = (count(l.per_minute).ok_or(())?, count(l.per_hour).ok_or(())?);
            n += 1;
        }
        record[1] = self.number(v.policy, &mut text);
        record[2] = self.number(v.rule, &mut text);
        record[3] = self.number(v.reason, &mut text);
        record[4] = audit;
        record[5] = n as i32;
        for (i, (l, (rpm, rph))) in v.limits.each().zip(counts).enumerate() {
            let at = 6 + 4 * i;
            record[at] = self.number(l.policy, &mut text);
            record[at + 1] = self.number(l.rule, &mut text);
            record[at + 2] = rpm;
            record[at + 3] = rph;
        }
        let lengths = 6 + 4 * n;
        for (slot, len) in record[lengths..].iter_mut().zip(&text.lengths) {
            *slot = *len;
        }
        record[0] = bits;
        Ok((!text.text.is_empty() || !text.lengths.is_empty()).then_some(text.text))
    }

    /// The number of a shared string, or -1 with the string added to `text` when it is
    /// the decision's own (a reason formatted for this decision) or past the numbering's
    /// bound.
    fn number(&mut self, s: Str<'_>, text: &mut Text) -> i32 {
        let s = match s {
            Str::Own(s) => {
                text.push(s);
                return -1;
            }
            Str::Shared(s) => s,
        };
        let address = Arc::as_ptr(s).cast::<u8>() as usize;
        if let Some(&i) = self.by_address.get(&address) {
            return i;
        }
        if self.strings.len() < MAX_STRINGS {
            let i = self.strings.len() as i32;
            self.strings.push(Arc::clone(s));
            self.by_address.insert(address, i);
            return i;
        }
        text.push(s);
        -1
    }

    /// The number of a policy's audit settings (always shared with the set).
    fn number_audit(&mut self, a: &Arc<AuditSettings>) -> Option<i32> {
        let address = Arc::as_ptr(a) as usize;
        if let Some(&i) = self.audit_by_address.get(&address) {
            return Some(i);
        }
        if self.audits.len() >= MAX_STRINGS {
            return None;
        }
        let i = self.audits.len() as i32;
        self.audits.push(Arc::clone(a));
        self.audit_by_address.insert(address, i);
        Some(i)
    }
}

/// The strings a record does not number, one after the other, with their lengths in
/// UTF-16 code units (how the JavaScript host slices them).
#[derive(Debug, Default)]
struct Text {
    text: String,
    lengths: smallvec::SmallVec<[i32; 4]>,
}

impl Text {
    fn push(&mut self, s: &str) {
        if self.text.capacity() == 0 {
            // One allocation for the usual few strings (a resource, a reason), where
            // growing as they come reallocated for each.
            self.text.reserve(s.len().max(TEXT_ROOM));
        }
        self.text.push_str(s);
        let units = if s.is_ascii() {
            s.len()
        } else {
            s.encode_utf16().count()
        };
        self.lengths.push(i32::try_from(units).unwrap_or(i32::MAX));
    }
}
