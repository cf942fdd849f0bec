//! The exchange buffer: how a JavaScript host hands a compact request over without one
//! string conversion. The host owns a byte buffer the core can see (a region of the
//! wasm module's memory, or an `ArrayBuffer` the native addon reads in place), writes
//! the request's texts into it as UTF-8 with a small header of offsets and lengths,
//! and calls with no argument worth converting; the decision's record then comes back
//! over the header, in the same buffer.
//!
//! The header, `i32`s in the platform's byte order at the buffer's start (the order
//! JavaScript typed arrays use):
//!
//! | field | meaning |
//! |---|---|
//! | 0, 1 | `action`: byte offset, byte length |
//! | 2, 3 | `resource`: offset, length, or length -1 when absent |
//! | 4, 5 | `context` as JSON text: offset, length (-1 absent) |
//! | 6, 7 | `time`: offset, length (-1 absent) |
//! | 8 | agent slot ([`Compact::set_agent`]), -1 for none |
//! | 9 | `mode`: 0 absent, 1 `enforce`, 2 `audit` |
//!
//! Texts sit anywhere from [`TEXT_AT`] on, past the room of the record. A header the
//! core cannot read (a text out of bounds or not UTF-8) decides nothing: the record
//! says [`head::RETRY`] and the host takes the JSON path.

use super::{Compact, Parts, RECORD_LEN, head};
use crate::PolicySet;
use crate::boundary::{Decision, Mode, Request};
use crate::select::Selections;

/// The exchange buffer's size in bytes: a request whose texts do not fit takes the
/// JSON path instead (the same decision, more slowly).
pub const LEN: usize = 1 << 16;

/// The first byte a text may use: the record, written over the header, comes before.
pub const TEXT_AT: usize = RECORD_LEN * 4;

/// Header field `i`.
fn field(buf: &[u8], i: usize) -> Option<i32> {
    let bytes = buf.get(4 * i..4 * i + 4)?;
    Some(i32::from_ne_bytes(bytes.try_into().ok()?))
}

/// The text of the offset and length at fields `i` and `i + 1`: `Some(None)` when the
/// length says absent, `None` when unreadable.
fn text(buf: &[u8], i: usize) -> Option<Option<&str>> {
    let len = field(buf, i + 1)?;
    if len == -1 {
        return Some(None);
    }
    let start = usize::try_from(field(buf, i)?).ok()?;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    std::str::from_utf8(buf.get(start..end)?).ok().map(Some)
}

/// The request the header of `buf` describes, if it is readable.
pub fn read(buf: &[u8]) -> Option<Parts<'_>> {
    Some(Parts {
        action: text(buf, 0)??,
        resource: text(buf, 2)?,
        context: text(buf, 4)?,
        time: text(buf, 6)?,
        agent: u32::try_from(field(buf, 8)?).ok(),
        mode: match field(buf, 9)? {
            1 => Some(Mode::Enforce),
            2 => Some(Mode::Audit),
            _ => None,
        },
    })
}

impl Compact {
    /// Decides the request written in `buf` (see the [module](self)) as
    /// [`Compact::decide`] does, and writes the record over the header; returns the text
    /// the record points into. A buffer shorter than [`TEXT_AT`] holds no request.
    pub fn decide_exchange(
        &mut self,
        buf: &mut [u8],
        decide: impl FnOnce(&Request, &mut Selections) -> Decision,
    ) -> Option<String> {
        exchange(buf, |parts, record| self.decide(parts, record, decide))
    }

    /// Decides the request written in `buf` on `set` as [`Compact::decide_on`] does, and
    /// writes the record over the header; returns the text the record points into.
    pub fn decide_exchange_on(&mut self, set: &PolicySet, buf: &mut [u8]) -> Option<String> {
        exchange(buf, |parts, record| self.decide_on(set, parts, record))
    }
}

/// Reads the request in `buf`, lets `decide` write its record, and copies the record
/// over the header ([`head::RETRY`] for a header that cannot be read).
fn exchange(
    buf: &mut [u8],
    decide: impl FnOnce(Parts<'_>, &mut [i32]) -> Option<String>,
) -> Option<String> {
    let mut record = [0; RECORD_LEN];
    let parts = read(buf).filter(|_| buf.len() >= TEXT_AT);
    let text = match parts {
        Some(parts) => decide(parts, &mut record),
        None => {
            record[0] = head::RETRY;
            None
        }
    };
    for (bytes, value) in buf.chunks_exact_mut(4).zip(record) {
        bytes.copy_from_slice(&value.to_ne_bytes());
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PolicySet, Source};

    /// A buffer holding `texts` (action, resource, context, time) and the header.
    fn buffer(texts: [Option<&str>; 4], agent: i32, mode: i32) -> Vec<u8> {
        let mut buf = vec![0; LEN];
        let mut at = TEXT_AT;
        let mut header = Vec::new();
        for t in texts {
            match t {
                Some(t) => {
                    buf[at..at + t.len()].copy_from_slice(t.as_bytes());
                    header.extend([at as i32, t.len() as i32]);
                    at += t.len();
                }
                None => header.extend([0, -1]),
            }
        }
        header.extend([agent, mode]);
        for (i, v) in header.into_iter().enumerate() {
            buf[4 * i..4 * i + 4].copy_from_slice(&v.to_ne_bytes());
        }
        buf
    }

    fn head_of(buf: &[u8]) -> i32 {
        field(buf, 0).unwrap()
    }

    #[test]
    fn the_header_names_the_parts() {
        let buf = buffer(
            [Some("read:file"), Some("./é"), Some("{\"a\":1}"), None],
            7,
            2,
        );
        let p = read(&buf).unwrap();
        assert_eq!(p.action, "read:file");
        assert_eq!(p.resource, Some("./é"));
        assert_eq!(p.context, Some("{\"a\":1}"));
        assert_eq!(p.time, None);
        assert_eq!(p.agent, Some(7));
        assert_eq!(p.mode, Some(Mode::Audit));
        let none = buffer([Some(""), None, None, None], -1, 0);
        let p = read(&none).unwrap();
        assert_eq!(
            (p.action, p.resource, p.agent, p.mode),
            ("", None, None, None)
        );
    }

    #[test]
    fn exchanged_decisions_are_the_record_of_the_same_request() {
        let set = PolicySet::compile([Source::new(
            "p.yaml",
            "name: p\nrules:\n  - {effect: deny, actions: [\"execute:shell\"], conditions: {resource: {contains: [\"rm \"]}}}\n  - {effect: allow, actions: [\"*\"]}\n",
        )])
        .unwrap();
        let mut c = Compact::new();
        let mut buf = buffer(
            [Some("execute:shell"), Some("ls && rm -rf /"), None, None],
            -1,
            0,
        );
        let text = c.decide_exchange(&mut buf, |r, _| set.decide(r, false));
        let mut record = [0; RECORD_LEN];
        let mut direct = Compact::new();
        let parts = Parts {
            action: "execute:shell",
            resource: Some("ls && rm -rf /"),
            ..Parts::default()
        };
        let want = direct.decide(parts, &mut record, |r, _| set.decide(r, false));
        assert_eq!(text, want);
        for (i, v) in record.iter().enumerate() {
            assert_eq!(field(&buf, i), Some(*v), "record field {i}");
        }
        assert_eq!(head_of(&buf) & head::EFFECT, 1, "deny");
    }

    #[test]
    fn unreadable_headers_decide_nothing() {
        let set = PolicySet::compile([Source::new("p.yaml", "name: p\nrules: []\n")]).unwrap();
        let mut c = Compact::new();
        let good = buffer([Some("a"), None, None, None], -1, 0);
        let at = |b: &mut Vec<u8>, i: usize, v: i32| {
            b[4 * i..4 * i + 4].copy_from_slice(&v.to_ne_bytes())
        };
        let mut cases = Vec::new();
        // Out of bounds, a negative offset, an absent action, invalid UTF-8, a short buffer.
        let mut b = good.clone();
        at(&mut b, 1, LEN as i32);
        cases.push(b);
        let mut b = good.clone();
        at(&mut b, 0, -5);
        cases.push(b);
        let mut b = good.clone();
        at(&mut b, 1, -1);
        cases.push(b);
        let mut b = good.clone();
        b[TEXT_AT] = 0xff;
        cases.push(b);
        cases.push(good[..TEXT_AT - 4].to_vec());
        for mut b in cases {
            let mut called = false;
            let text = c.decide_exchange(&mut b, |r, _| {
                called = true;
                set.decide(r, false)
            });
            assert!(!called && text.is_none());
            assert_eq!(head_of(&b), head::RETRY);
        }
        let mut b = good;
        c.decide_exchange(&mut b, |r, _| set.decide(r, false));
        assert_ne!(head_of(&b), head::RETRY);
    }
}
