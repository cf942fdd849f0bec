//! A decision's JSON written directly: the bytes serde's derive writes for [`Decision`]
//! (field order, names, escapes, `null`s), for under half the work. Serde escapes
//! every key and value byte by byte and goes through its map machinery for each field;
//! here the keys are constant text and a value's bytes are checked eight at a time.
//!
//! Held to serde's output by the conformance runner (every decision of the corpus, both
//! ways) and by `boundary::tests`; a decision with an explanation is left to serde.

use super::{Decision, Mode, RateLimitObligation};
use crate::model::AuditSettings;

/// Writes `d`'s JSON to `out`; `false` (nothing written) for a decision with an
/// explanation.
pub(super) fn write(d: &Decision, out: &mut Vec<u8>) -> bool {
    if d.explanation.is_some() {
        return false;
    }
    out.extend_from_slice(b"{\"effect\":\"");
    out.extend_from_slice(d.effect.as_str().as_bytes());
    out.extend_from_slice(if d.allowed {
        b"\",\"allowed\":true,\"mode\":\""
    } else {
        b"\",\"allowed\":false,\"mode\":\""
    });
    out.extend_from_slice(match d.mode {
        Mode::Enforce => b"enforce\",\"action\":",
        Mode::Audit => b"audit\",\"action\":",
    });
    string(out, &d.action);
    out.extend_from_slice(b",\"resource\":");
    optional(out, d.resource.as_deref());
    if let Some(part) = &d.part {
        out.extend_from_slice(b",\"part\":");
        string(out, part);
    }
    out.extend_from_slice(b",\"policy\":");
    string(out, &d.policy);
    out.extend_from_slice(b",\"rule\":");
    string(out, &d.rule);
    out.extend_from_slice(b",\"reason\":");
    string(out, &d.reason);
    out.extend_from_slice(b",\"obligations\":{\"rateLimits\":[");
    for (i, l) in d.obligations.rate_limits.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        limit(out, l);
    }
    out.extend_from_slice(b"],\"audit\":");
    match &d.obligations.audit {
        Some(a) => audit(out, a),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b"}}");
    true
}

fn audit(out: &mut Vec<u8>, a: &AuditSettings) {
    out.extend_from_slice(if a.enabled {
        b"{\"enabled\":true,\"logLevel\":"
    } else {
        b"{\"enabled\":false,\"logLevel\":"
    });
    optional(out, a.log_level.as_deref());
    out.extend_from_slice(b",\"include\":[");
    for (i, field) in a.include.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(out, field);
    }
    out.extend_from_slice(b"],\"retentionDays\":");
    number(out, a.retention_days);
    out.push(b'}');
}

fn limit(out: &mut Vec<u8>, l: &RateLimitObligation) {
    out.extend_from_slice(b"{\"policy\":");
    string(out, &l.policy);
    out.extend_from_slice(b",\"rule\":");
    string(out, &l.rule);
    out.extend_from_slice(b",\"requestsPerMinute\":");
    number(out, l.requests_per_minute);
    out.extend_from_slice(b",\"requestsPerHour\":");
    number(out, l.requests_per_hour);
    out.push(b'}');
}

fn optional(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => string(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

fn number(out: &mut Vec<u8>, n: Option<u32>) {
    let Some(mut n) = n else {
        out.extend_from_slice(b"null");
        return;
    };
    let mut digits = [0u8; 10];
    let mut at = digits.len();
    loop {
        at -= 1;
        if let Some(d) = digits.get_mut(at) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || at == 0 {
            break;
        }
    }
    out.extend_from_slice(digits.get(at..).unwrap_or_default());
}

/// `s` as a JSON string, escaped as serde escapes: `"` and `\` with a backslash, the
/// control characters below U+0020 as `\b`, `\t`, `\n`, `\f`, `\r` or `\u00xx`
/// (lowercase hex); everything else, non-ASCII included, as it is.
fn string(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.push(b'"');
    let mut run = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Eight bytes at a time while none needs escaping: most text never does.
        if let Some(word) = bytes.get(i..i + 8)
            && let Ok(word) = <[u8; 8]>::try_from(word)
            && !needs_escape(u64::from_le_bytes(word))
        {
            i += 8;
            continue;
        }
        let b = bytes.get(i).copied().unwrap_or_default();
        let short = match b {
            b'"' => Some(b'"'),
            b'\\' => Some(b'\\'),
            0x08 => Some(b'b'),
            0x09 => Some(b't'),
            0x0a => Some(b'n'),
            0x0c => Some(b'f'),
            0x0d => Some(b'r'),
            0x00..=0x1f => None,
            _ => {
                i += 1;
                continue;
            }
        };
        out.extend_from_slice(bytes.get(run..i).unwrap_or_default());
        match short {
            Some(c) => out.extend_from_slice(&[b'\\', c]),
            None => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let hex = |n: u8| HEX.get(usize::from(n)).copied().unwrap_or(b'0');
                out.extend_from_slice(&[b'\\', b'u', b'0', b'0', hex(b >> 4), hex(b & 0xf)]);
            }
        }
        i += 1;
        run = i;
    }
    out.extend_from_slice(bytes.get(run..).unwrap_or_default());
    out.push(b'"');
}

/// Whether one of the eight bytes of `w` is `"`, `\` or below 0x20 (exact: the classic
/// "has a zero byte" and "has a byte below n" tests, never a false negative).
fn needs_escape(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH != 0;
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGH != 0;
    below_space || zero(w ^ (ONES * u64::from(b'"'))) || zero(w ^ (ONES * u64::from(b'\\')))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Every ASCII byte and some non-ASCII text, at every offset around an eight-byte
    /// word, and numbers at their bounds, come out as serde writes them.
    #[test]
    fn strings_and_numbers_as_serde_writes_them() {
        let mut texts: Vec<String> = (0u8..=0x7f).map(|b| char::from(b).to_string()).collect();
        texts.extend(["", "é😀", "plain text", "a\"b\\c\u{7f}d\u{1f}"].map(String::from));
        for c in ['"', '\\', '\n', '\u{1}', 'é'] {
            for at in 0..18 {
                let mut t = "x".repeat(at);
                t.push(c);
                t.push_str("yyyyyyyyy");
                texts.push(t);
            }
        }
        for t in &texts {
            let mut out = Vec::new();
            string(&mut out, t);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(t).unwrap()
            );
        }
        for n in [
            None,
            Some(0),
            Some(7),
            Some(10),
            Some(99_999),
            Some(u32::MAX),
        ] {
            let mut out = Vec::new();
            number(&mut out, n);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(&n).unwrap()
            );
        }
    }
}
