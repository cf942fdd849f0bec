//! `/admin/policies`: list, status, get (with the file's text), validate, test (a dry
//! run: no rate limit, no audit, no approval), apply (`PUT`) and delete.
//!
//! `PUT` and `DELETE` change files in `POLICIES_DIR` and reload, under the reload lock.
//! A new text is compiled together with every other file first (in the component, as a
//! reload would), so a bad policy is refused with its diagnostics before anything on
//! disk changes; the file is then replaced atomically (write + rename).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use meshguard_api::{
    PolicyApplied, PolicyDeleted, PolicyList, PolicyStatus, PolicySummary, PolicyValidation,
};
use meshguard_core::{self as core, Diagnostic, Source};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, ApiResult, blocking, json_response, parse_json, read_body};
use crate::clock;
use crate::reload::{self, PolicySnapshot, PolicySource, Reloaded, Stamp};
use crate::state::AppState;

/// `GET /admin/policies`.
pub async fn list(State(state): State<Arc<AppState>>) -> ApiResult {
    let snapshot = state.policies.load();
    Ok(json_response(
        StatusCode::OK,
        PolicyList {
            policies: snapshot.summaries.clone(),
            loaded_at: clock::rfc3339_ms(snapshot.loaded_at_ms),
            policy_errors: state.policy_status.load().errors.clone(),
        },
    ))
}

/// `GET /admin/policies/status`: what is loaded and what the last reload found.
pub async fn status(State(state): State<Arc<AppState>>) -> ApiResult {
    let snapshot = state.policies.load();
    let status = state.policy_status.load();
    Ok(json_response(
        StatusCode::OK,
        PolicyStatus {
            ok: status.errors.is_empty(),
            dir: state.policy_source.describe(),
            loaded_at: clock::rfc3339_ms(snapshot.loaded_at_ms),
            checked_at: (status.checked_at_ms > 0).then(|| clock::rfc3339_ms(status.checked_at_ms)),
            policies: snapshot.summaries.len(),
            files: snapshot.files.iter().map(|f| f.file_name.clone()).collect(),
            errors: status.errors.clone(),
            messages: messages(&status.errors.iter().collect::<Vec<_>>()),
            findings: snapshot.evaluator.findings().to_vec(),
            finding_messages: messages(&snapshot.evaluator.findings().iter().collect::<Vec<_>>()),
        },
    ))
}

/// `GET /admin/policies/{name}`: the summary plus `source`, its file's text.
pub async fn get(State(state): State<Arc<AppState>>, Path(name): Path<String>) -> ApiResult {
    let snapshot = state.policies.load();
    let (Some(summary), Some(file)) = (snapshot.summary(&name), snapshot.file_of(&name)) else {
        return Err(ApiError::not_found(format!("no policy `{name}`")));
    };
    let body = PolicySummary {
        source: Some(file.text.clone()),
        ..summary.clone()
    };
    Ok(json_response(StatusCode::OK, body))
}

/// A policy text from a body: the raw text (YAML or JSON), or `{"name"?, "text"}`.
fn policy_text(bytes: &[u8]) -> ApiResult<(Option<String>, String)> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| ApiError::bad_request(format!("the policy text is not UTF-8: {e}")))?;
    if text.trim().is_empty() {
        return Err(ApiError::bad_request(
            "the request body is empty; send a policy text",
        ));
    }
    if let Ok(Value::Object(m)) = serde_json::from_str::<Value>(text)
        && m.contains_key("text")
        && m.keys().all(|k| k == "text" || k == "name")
    {
        let Some(t) = m.get("text").and_then(Value::as_str) else {
            return Err(ApiError::bad_request("`text` must be a string"));
        };
        let name = m.get("name").and_then(Value::as_str).map(str::to_owned);
        return Ok((name, t.to_owned()));
    }
    Ok((None, text.to_owned()))
}

/// The policy names a text defines (empty when it does not parse).
fn names_in(label: &str, text: &str) -> Vec<String> {
    core::parse_policies(&Source::new(label, text))
        .map(|ps| ps.into_iter().map(|p| p.name).collect())
        .unwrap_or_default()
}

/// The loaded files with `file_name` replaced by `text` (or added, or removed when
/// `text` is `None`), in load order: `(file name, label, text)`.
fn candidate(
    snapshot: &PolicySnapshot,
    source: &PolicySource,
    file_name: &str,
    text: Option<&str>,
) -> Vec<(String, String, String)> {
    let mut files: Vec<(String, String, String)> = snapshot
        .files
        .iter()
        .filter(|f| f.file_name != file_name)
        .map(|f| (f.file_name.clone(), f.label.clone(), f.text.clone()))
        .collect();
    if let Some(t) = text {
        files.push((file_name.to_owned(), source.label(file_name), t.to_owned()));
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files
}

/// What the component says of a candidate set: load errors (empty when it loads), else
/// the analysis's findings about it.
struct Checked {
    errors: Vec<Diagnostic>,
    findings: Vec<Diagnostic>,
}

/// The findings about one file (by its label), for answers about that file.
fn findings_in<'a>(findings: &'a [Diagnostic], label: &str) -> Vec<&'a Diagnostic> {
    findings.iter().filter(|d| d.file == label).collect()
}

/// Compiles and lints a candidate set in the component.
async fn check_set(
    state: &Arc<AppState>,
    files: Vec<(String, String, String)>,
) -> ApiResult<Checked> {
    let runtime = state.runtime.clone();
    let fallback = state.config.fallback;
    let sources: Vec<(String, String)> = files.into_iter().map(|(_, l, t)| (l, t)).collect();
    let loaded = blocking(move || runtime.load(&sources, fallback)).await??;
    Ok(match loaded {
        Ok(evaluator) => Checked {
            errors: Vec::new(),
            findings: evaluator.findings().to_vec(),
        },
        Err(errors) => Checked {
            errors,
            findings: Vec::new(),
        },
    })
}

/// Diagnostics as JSON, with their one-line renderings.
fn messages(diagnostics: &[&Diagnostic]) -> Vec<String> {
    diagnostics.iter().map(|d| d.to_string()).collect()
}

/// `POST /admin/policies/validate`: the text checked together with the loaded set (it
/// replaces the file of the policy it names, as `PUT` would). Always 200; `ok` says.
pub async fn validate(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    let bytes = read_body(&state, &headers, body).await?;
    let (name, text) = policy_text(&bytes)?;
    let snapshot = state.policies.load_full();
    let source = &state.policy_source;
    let json_text = text.trim_start().starts_with('{');
    let probe_label = if json_text {
        "input.json"
    } else {
        "input.yaml"
    };
    let defined = names_in(probe_label, &text);
    let file_name = match name.as_deref().or(defined.first().map(String::as_str)) {
        Some(n) => reload::target_file(&snapshot, n, &text),
        None => probe_label.to_owned(),
    };
    let checked = check_set(
        &state,
        candidate(&snapshot, source, &file_name, Some(&text)),
    )
    .await?;
    let findings = findings_in(&checked.findings, &source.label(&file_name));
    Ok(json_response(
        StatusCode::OK,
        PolicyValidation {
            ok: checked.errors.is_empty(),
            file: file_name,
            policies: defined,
            messages: messages(&checked.errors.iter().collect::<Vec<_>>()),
            diagnostics: checked.errors,
            finding_messages: messages(&findings),
            findings: findings.into_iter().cloned().collect(),
        },
    ))
}

/// `POST /admin/policies/test`'s body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TestBody {
    #[serde(default)]
    agent_id: Option<String>,
    #[serde(default)]
    agent: Option<core::Agent>,
    action: String,
    #[serde(default)]
    resource: Option<String>,
    #[serde(default)]
    context: Option<Value>,
    #[serde(default)]
    explain: bool,
    #[serde(default)]
    time: Option<String>,
    #[serde(default)]
    mode: Option<core::Mode>,
    /// A stand-alone set to decide with instead of the loaded one (the console's
    /// playground): compiled in the component, used once, never stored.
    #[serde(default)]
    policies: Option<Vec<PolicyText>>,
    /// That set's fallback (`allow` or `deny`; default: the gateway's `FALLBACK`).
    #[serde(default)]
    fallback: Option<String>,
}

/// One file of [`TestBody::policies`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyText {
    name: String,
    text: String,
}

/// `POST /admin/policies/test`: the full decision JSON for a hypothetical request (the
/// agent by id, or described inline), by the loaded set or by the `policies` given. A dry
/// run: not rate limited, not audited. Given policies that do not load answer 400 with
/// their `diagnostics`.
pub async fn test(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> ApiResult {
    let bytes = read_body(&state, &headers, body).await?;
    let t: TestBody = parse_json(&bytes)?;
    let agent = match (&t.agent_id, t.agent) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request("give `agentId` or `agent`, not both"));
        }
        (Some(id), None) => {
            let st = state.clone();
            let key = id.clone();
            let record = blocking(move || st.agents.get(&key)).await??;
            Some(
                record
                    .ok_or_else(|| ApiError::not_found(format!("no agent `{id}`")))?
                    .as_core(),
            )
        }
        (None, a) => a,
    };
    let request = core::Request {
        action: t.action,
        resource: t.resource,
        context: t.context,
        agent,
        time: Some(t.time.unwrap_or_else(|| clock::rfc3339_ms(clock::now_ms()))),
        mode: Some(t.mode.unwrap_or(state.config.mode)),
    };
    let decision = match t.policies {
        None if t.fallback.is_some() => {
            return Err(ApiError::bad_request(
                "`fallback` goes with `policies`; the loaded set has its own",
            ));
        }
        None => state.policies.load().evaluator.decide(&request, t.explain),
        Some(files) => {
            let fallback = match t.fallback.as_deref() {
                None => state.config.fallback,
                Some("allow") => core::Effect::Allow,
                Some("deny") => core::Effect::Deny,
                Some(other) => {
                    return Err(ApiError::bad_request(format!(
                        "unknown fallback `{other}`, expected allow or deny"
                    )));
                }
            };
            let sources: Vec<(String, String)> =
                files.into_iter().map(|f| (f.name, f.text)).collect();
            let runtime = state.runtime.clone();
            let explain = t.explain;
            let decided = blocking(move || -> anyhow::Result<_> {
                Ok(match runtime.load(&sources, fallback)? {
                    Ok(evaluator) => Ok(evaluator.decide(&request, explain)),
                    Err(errors) => Err(errors),
                })
            })
            .await??;
            match decided {
                Ok(d) => d,
                Err(errors) => {
                    let text = messages(&errors.iter().collect::<Vec<_>>());
                    return Err(ApiError::bad_request("the policies given do not load")
                        .with("diagnostics", json!(errors))
                        .with("messages", json!(text)));
                }
            }
        }
    };
    let value = serde_json::to_value(&decision).map_err(anyhow::Error::from)?;
    Ok(json_response(StatusCode::OK, value))
}

/// Policy names usable as file names.
fn check_name(name: &str) -> ApiResult<()> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "policy name `{name}` cannot be applied through the API: use 1 to 128 letters, \
             digits, `-`, `_` or `.` (not starting with `.`)"
        )))
    }
}

/// `PUT /admin/policies/{name}`: writes the policy's file and reloads.
pub async fn apply(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    check_name(&name)?;
    let bytes = read_body(&state, &headers, body).await?;
    let (_, text) = policy_text(&bytes)?;
    let _guard = state.reload_lock.lock().await;
    let snapshot = state.policies.load_full();
    let source = state.policy_source.clone();
    let file_name = reload::target_file(&snapshot, &name, &text);
    let label = source.label(&file_name);
    let defined = names_in(&label, &text);
    let checked = check_set(
        &state,
        candidate(&snapshot, &source, &file_name, Some(&text)),
    )
    .await?;
    if !checked.errors.is_empty() {
        return Err(refused("the policy does not load", checked.errors));
    }
    if !defined.contains(&name) {
        return Err(ApiError::bad_request(format!(
            "the text defines {}, not `{name}`",
            if defined.is_empty() {
                "no policy".to_owned()
            } else {
                defined
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        )));
    }
    if let Some(f) = snapshot.files.iter().find(|f| f.file_name == file_name) {
        let lost: Vec<&String> = f.policies.iter().filter(|p| !defined.contains(p)).collect();
        if !lost.is_empty() {
            return Err(ApiError::conflict(format!(
                "`{file_name}` also holds {}; the new text must define them too (or edit the file)",
                lost.iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    let previous = snapshot
        .files
        .iter()
        .find(|f| f.file_name == file_name)
        .map(|f| f.text.clone());
    store(&source, &snapshot, &file_name, Some(text.clone())).await?;
    match reload::reload_locked(&state).await? {
        Reloaded::Loaded { .. } => {
            tracing::info!(policy = %name, file = %file_name, "policy applied through the admin API");
            let snapshot = state.policies.load();
            let findings = findings_in(snapshot.evaluator.findings(), &label);
            Ok(json_response(
                StatusCode::OK,
                PolicyApplied {
                    ok: true,
                    file: file_name,
                    created: previous.is_none(),
                    policy: snapshot.summary(&name).cloned(),
                    finding_messages: messages(&findings),
                    findings: findings.into_iter().cloned().collect(),
                },
            ))
        }
        Reloaded::Refused(diagnostics) => {
            // Something else changed meanwhile: put the file back as it was.
            restore(&state, &file_name, previous).await?;
            Err(refused(
                "the policy set changed meanwhile and no longer loads; nothing was applied",
                diagnostics,
            ))
        }
    }
}

fn refused(message: &str, diagnostics: Vec<Diagnostic>) -> ApiError {
    let messages = messages(&diagnostics.iter().collect::<Vec<_>>());
    ApiError::bad_request(message)
        .with("ok", json!(false))
        .with("diagnostics", json!(diagnostics))
        .with("messages", json!(messages))
}

/// Writes one file of the set (`None`: removes it) where the set lives. On the shared
/// database the write only goes through if no replica changed the set since `snapshot`
/// was loaded (else 409: the candidate was checked against a set that is gone).
async fn store(
    source: &PolicySource,
    snapshot: &PolicySnapshot,
    file_name: &str,
    text: Option<String>,
) -> ApiResult<()> {
    let (source, f) = (source.clone(), file_name.to_owned());
    let expected = match snapshot.stamp {
        Stamp::Generation(g) => g,
        Stamp::Files(_) => 0,
    };
    blocking(move || -> anyhow::Result<ApiResult<()>> {
        match (&source, text) {
            (PolicySource::Dir(d), Some(t)) => reload::write_atomic(d, &f, &t)?,
            (PolicySource::Dir(d), None) => std::fs::remove_file(d.join(&f))?,
            (PolicySource::Database(rows), t) => {
                if let Err(stale) = rows.write(expected, &f, t.as_deref())? {
                    return Ok(Err(ApiError::conflict(format!(
                        "the policy set changed on another replica meanwhile (generation {}, \
                         this replica serves {expected}); nothing was changed: retry",
                        stale.current
                    ))));
                }
            }
        }
        Ok(Ok(()))
    })
    .await??
}

/// Puts a file back as it was after a change that left the set unloadable (a directory
/// edited meanwhile). On the shared database nothing is undone: the write was
/// compare-and-set, so a set that does not load was written by someone else after it,
/// and every replica keeps serving its last good set.
async fn restore(
    state: &Arc<AppState>,
    file_name: &str,
    previous: Option<String>,
) -> ApiResult<()> {
    if let PolicySource::Dir(_) = state.policy_source {
        let snapshot = state.policies.load_full();
        store(&state.policy_source, &snapshot, file_name, previous).await?;
        reload::reload_locked(state).await?;
    }
    Ok(())
}

/// `DELETE /admin/policies/{name}`: removes the policy's file and reloads.
pub async fn delete(State(state): State<Arc<AppState>>, Path(name): Path<String>) -> ApiResult {
    let _guard = state.reload_lock.lock().await;
    let snapshot = state.policies.load_full();
    let Some(file) = snapshot.file_of(&name) else {
        return Err(ApiError::not_found(format!("no policy `{name}`")));
    };
    if file.policies.len() > 1 {
        return Err(ApiError::conflict(format!(
            "`{}` holds {} policies; edit the file to remove one",
            file.file_name,
            file.policies.len()
        )));
    }
    let source = state.policy_source.clone();
    let diagnostics = check_set(&state, candidate(&snapshot, &source, &file.file_name, None))
        .await?
        .errors;
    if !diagnostics.is_empty() {
        return Err(refused(
            "the remaining policies would not load",
            diagnostics,
        ));
    }
    store(&source, &snapshot, &file.file_name, None).await?;
    match reload::reload_locked(&state).await? {
        Reloaded::Loaded { .. } => {
            tracing::info!(policy = %name, file = %file.file_name, "policy deleted through the admin API");
            Ok(json_response(
                StatusCode::OK,
                PolicyDeleted {
                    ok: true,
                    deleted: name,
                    file: file.file_name.clone(),
                },
            ))
        }
        Reloaded::Refused(diagnostics) => {
            restore(&state, &file.file_name, Some(file.text.clone())).await?;
            Err(refused(
                "the policy set changed meanwhile and no longer loads; nothing was deleted",
                diagnostics,
            ))
        }
    }
}
