//! Secrets: agent tokens, the admin token, ids.
//!
//! Tokens come from the operating system's CSPRNG (`getrandom`): `mg_` + 32 random bytes
//! in hex. Only their SHA-256 is stored; a presented token is hashed and looked up by
//! hash, and the final comparison is constant time (`subtle`). Looking a hash up in a map
//! may take data-dependent time, but what it could leak is about the hash of the
//! attacker's own guess, not about any stored token.

use anyhow::{Result, anyhow};
use axum::http::HeaderMap;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Fills `buf` from the operating system's CSPRNG.
pub fn fill_random(buf: &mut [u8]) -> Result<()> {
    getrandom::fill(buf).map_err(|e| anyhow!("the system random generator failed: {e}"))
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

/// `prefix` + `n` random bytes in hex.
pub fn random_id(prefix: &str, n: usize) -> Result<String> {
    let mut buf = vec![0u8; n];
    fill_random(&mut buf)?;
    Ok(format!("{prefix}{}", hex(&buf)))
}

/// A new agent token: `mg_` + 32 random bytes in hex.
pub fn new_token() -> Result<String> {
    random_id("mg_", 32)
}

/// SHA-256 of a token, the only form tokens are stored in.
pub fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Constant-time equality of two hashes.
pub fn same_hash(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.ct_eq(b).into()
}

/// A trace id: a UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, then 74
/// random bits. Time-ordered ids land at the end of the audit log's trace index instead of
/// at random pages, which makes an insert several times cheaper than with version 4.
pub fn new_trace_id() -> String {
    let mut b = [0u8; 16];
    // Trace ids correlate, they do not protect: should the CSPRNG fail, the clock bits
    // and a process-wide counter keep them distinct.
    if fill_random(&mut b[6..]).is_err() {
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        b[8..].copy_from_slice(&n.to_be_bytes());
    }
    let ms = u64::try_from(crate::clock::now_ms()).unwrap_or(0);
    b[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    b[6] = (b[6] & 0x0f) | 0x70;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Why a caller was not authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthError {
    /// No `Authorization: Bearer …` header.
    Missing,
    /// Not a Bearer header, or not readable.
    Malformed,
    /// No active agent holds this token (unknown, rotated or revoked).
    Invalid,
    /// The gateway cannot tell right now: with several replicas, it has lost the feed of
    /// agent changes (a revoked token could still be in its map), so it refuses until it
    /// has re-read them.
    Unavailable,
}

impl AuthError {
    /// The audit log's reason.
    pub fn reason(self) -> &'static str {
        match self {
            AuthError::Missing => "missing bearer token",
            AuthError::Malformed => "malformed Authorization header (expected `Bearer <token>`)",
            AuthError::Invalid => "invalid or expired token",
            AuthError::Unavailable => {
                "the agent directory is unavailable (lost contact with the database); retry"
            }
        }
    }

    /// The HTTP status: 401, or 503 when the gateway could not tell.
    pub fn status(self) -> axum::http::StatusCode {
        match self {
            AuthError::Unavailable => axum::http::StatusCode::SERVICE_UNAVAILABLE,
            _ => axum::http::StatusCode::UNAUTHORIZED,
        }
    }

    /// The `error` code of the answer.
    pub fn code(self) -> &'static str {
        match self {
            AuthError::Unavailable => "unavailable",
            _ => "unauthorized",
        }
    }
}

/// The Bearer token of a request.
pub fn bearer(headers: &HeaderMap) -> Result<&str, AuthError> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or(AuthError::Missing)?;
    let text = value.to_str().map_err(|_| AuthError::Malformed)?;
    let (scheme, token) = text.trim().split_once(' ').ok_or(AuthError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::Malformed);
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(AuthError::Missing);
    }
    Ok(token)
}

/// The admin token, held as its hash so it is compared in constant time.
#[derive(Debug, Clone)]
pub struct AdminToken {
    hash: [u8; 32],
}

impl AdminToken {
    /// Wraps the configured (or generated) token.
    pub fn new(token: &str) -> AdminToken {
        AdminToken {
            hash: hash_token(token),
        }
    }

    /// Whether `X-Admin-Token` carries the admin token. Hashing first makes the
    /// comparison independent of the presented token's length too.
    pub fn accepts(&self, headers: &HeaderMap) -> bool {
        headers
            .get("x-admin-token")
            .is_some_and(|v| same_hash(&hash_token_bytes(v.as_bytes()), &self.hash))
    }
}

fn hash_token_bytes(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_ids() {
        let t = new_token().unwrap();
        assert!(t.starts_with("mg_") && t.len() == 67);
        assert_ne!(t, new_token().unwrap());
        let id = new_trace_id();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "7");
        // Time-ordered: the 48-bit millisecond prefix never goes backwards.
        let later = new_trace_id();
        assert!(id[..13] <= later[..13]);
        assert!(same_hash(&hash_token("a"), &hash_token("a")));
        assert!(!same_hash(&hash_token("a"), &hash_token("b")));
    }

    #[test]
    fn bearer_header() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), Err(AuthError::Missing));
        h.insert("authorization", "Basic abc".parse().unwrap());
        assert_eq!(bearer(&h), Err(AuthError::Malformed));
        h.insert("authorization", "Bearer  mg_x ".parse().unwrap());
        assert_eq!(bearer(&h), Ok("mg_x"));
        let admin = AdminToken::new("0123456789abcdef");
        h.insert("x-admin-token", "0123456789abcdef".parse().unwrap());
        assert!(admin.accepts(&h));
        h.insert("x-admin-token", "0123456789abcdeg".parse().unwrap());
        assert!(!admin.accepts(&h));
    }
}
