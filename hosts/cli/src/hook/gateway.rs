//! The hook deciding through a gateway (`--gateway URL`): each of the call's resources is
//! a `POST /v1/check` with the agent's token (`MESHGUARD_API_KEY`, else
//! `MESHGUARD_AGENT_TOKEN`), so revocation, rate limits and the central audit log apply;
//! after the tool ran, `PostToolUse` is a `POST /proxy/governance/record`.
//!
//! What the gateway answers is its word: 200 (allowed, or any decision in the gateway's
//! audit mode), 403 and 429 become decisions; 401, 400 and 500 are refusals that block.
//! Only a gateway that cannot be reached — no connection, a timeout, 502/503/504 — is
//! [`Failure::Unreachable`], which the hook answers with the local policies or a block
//! (`--on-unreachable`), never with an allow of its own.

use std::io::Read as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use meshguard_api::{CheckAnswer, CheckRequest, RecordRequest};
use meshguard_core::{Decision, Effect, Mode, Obligations, Origin};
use serde_json::Value;

/// Largest answer read.
const MAX_ANSWER: u64 = 1024 * 1024;
/// How long a connection may take: loopback or a nearby host answers in microseconds.
const CONNECT: Duration = Duration::from_secs(2);

/// Why the gateway did not decide.
#[derive(Debug)]
pub enum Failure {
    /// It could not be reached: the hook may fall back to its local policies.
    Unreachable(String),
    /// It answered, but not with a decision (a bad token, a bad request): a block.
    Refused(String),
}

impl From<&'static str> for Failure {
    fn from(problem: &'static str) -> Failure {
        Failure::Refused(problem.to_owned())
    }
}

/// A gateway and the agent's token.
#[derive(Debug)]
pub struct Gateway {
    base: String,
    bearer: String,
    http: ureq::Agent,
}

impl Gateway {
    /// The gateway at `url`, answering within `timeout`.
    pub fn new(url: &str, ca_file: Option<&Path>, timeout: Duration) -> Result<Gateway, String> {
        let base = crate::net::base_url(url)?;
        let token = ["MESHGUARD_API_KEY", "MESHGUARD_AGENT_TOKEN"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|t| !t.trim().is_empty()))
            .ok_or(
                "--gateway needs the agent's token in MESHGUARD_API_KEY or MESHGUARD_AGENT_TOKEN",
            )?;
        let ca = crate::net::ca_file(ca_file);
        let http = crate::net::agent(&base, ca.as_deref(), CONNECT.min(timeout), timeout)
            .map_err(|e| format!("{e:#}"))?;
        Ok(Gateway {
            base,
            bearer: format!("Bearer {}", token.trim()),
            http,
        })
    }

    fn post(&self, path: &str, body: &impl serde::Serialize) -> Result<(u16, String), Failure> {
        let url = format!("{}{path}", self.base);
        let bytes = serde_json::to_vec(body).map_err(|e| Failure::Refused(e.to_string()))?;
        let mut resp = self
            .http
            .post(&url)
            .header("Authorization", &self.bearer)
            .header("Content-Type", "application/json")
            .send(&bytes[..])
            .map_err(|e| Failure::Unreachable(format!("cannot reach the gateway at {url}: {e}")))?;
        let status = resp.status().as_u16();
        let mut text = String::new();
        resp.body_mut()
            .as_reader()
            .take(MAX_ANSWER)
            .read_to_string(&mut text)
            .map_err(|e| Failure::Unreachable(format!("reading the gateway's answer: {e}")))?;
        if matches!(status, 502..=504) {
            return Err(Failure::Unreachable(format!(
                "the gateway answered {status}: {}",
                text.trim()
            )));
        }
        Ok((status, text))
    }

    /// Decides `action` on `resource` with `context`.
    pub fn check(
        &self,
        action: &str,
        resource: &str,
        context: &Value,
    ) -> Result<Decision, Failure> {
        let body = CheckRequest {
            action: action.to_owned(),
            resource: Some(resource.to_owned()),
            context: Some(context.clone()),
            ..CheckRequest::default()
        };
        let (status, text) = self.post("/v1/check", &body)?;
        let answer: CheckAnswer = serde_json::from_str(&text).map_err(|e| {
            Failure::Refused(format!(
                "the gateway answered {status} with something that is not a decision ({e})"
            ))
        })?;
        match (status, answer.decision) {
            (200 | 403 | 429, Some(effect)) => Ok(decision(action, effect, answer)),
            _ => Err(Failure::Refused(format!(
                "the gateway refused the check ({status}): {}",
                answer.message.as_deref().unwrap_or(text.trim())
            ))),
        }
    }

    /// Records what a tool did.
    pub fn record(&self, record: &RecordRequest) -> Result<(), String> {
        let failed = |e: Failure| match e {
            Failure::Unreachable(m) | Failure::Refused(m) => m,
        };
        let (status, text) = self
            .post("/proxy/governance/record", record)
            .map_err(failed)?;
        if status == 201 {
            Ok(())
        } else {
            Err(format!(
                "the gateway refused the record ({status}): {}",
                text.trim()
            ))
        }
    }
}

/// The gateway's answer as the core's decision type, so the hook treats it as it treats
/// its own (the strictest of several resources, the audit record, the answer to Claude
/// Code). An answer that lets the caller go ahead (the gateway's audit mode) is an allow
/// here: the gateway, not the hook, decides.
fn decision(action: &str, effect: Effect, a: CheckAnswer<'_>) -> Decision {
    let policy = a.policy.as_deref().unwrap_or("gateway").to_owned();
    let rule = a.rule.as_deref().unwrap_or("gateway").to_owned();
    let allowed = a.allowed == Some(true);
    Decision {
        effect: if allowed { Effect::Allow } else { effect },
        allowed,
        mode: a.mode.unwrap_or(Mode::Enforce),
        action: a
            .action
            .map_or_else(|| action.to_owned(), |s| s.into_owned()),
        resource: a.resource.flatten().map(|s| s.into_owned()),
        part: a.part.map(|s| s.into_owned()),
        origin: Origin::infer(&policy, &rule),
        policy: Arc::from(policy),
        rule: Arc::from(rule),
        reason: Arc::from(a.reason.as_deref().unwrap_or("decided by the gateway")),
        obligations: Obligations::default(),
        explanation: None,
    }
}
