//! The conformance corpus and a runner any host can plug into.
//!
//! The corpus is the judge of docs/semantics.md §7: YAML files under `tests/conformance/`, each with a
//! policy set (names from `policies/` and/or inline text) and cases (a request and the
//! expected decision), or bad policies and the diagnostics they must produce. A host
//! implements [`Host`]; [`trials`] turns every case of every file into its own test.
//! The native host lives in `harness/native.rs`; the Wasm and JavaScript hosts will
//! run the very same files.

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;
use serde_json::Value;

/// One host under test: loads a policy set, then decides requests on it.
pub trait Host: Send {
    /// Compiles sources `(name, text)` in order, with the set's fallback effect
    /// (`allow` or `deny`). On failure returns every diagnostic as JSON values.
    fn load(&mut self, sources: &[(String, String)], fallback: &str) -> Result<(), Vec<Value>>;

    /// Decides one request given as JSON and returns the decision JSON text. When the
    /// request carries a `time`, the host counts it against its rate limiter at that
    /// instant (one limiter per loaded set).
    fn decide(&mut self, request_json: &str, explain: bool) -> Result<String>;
}

/// A case file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseFile {
    /// What the file covers.
    #[serde(default)]
    pub description: String,
    /// Policies from `policies/`, by file stem, in load order.
    #[serde(default)]
    pub policies: Vec<String>,
    /// Inline policy text (YAML, several documents allowed), loaded after `policies`.
    #[serde(default)]
    pub policy: Option<String>,
    /// The answer when no policy applies (`deny` unless given).
    #[serde(default)]
    pub fallback: Option<String>,
    /// Decision cases, run in order on one loaded set.
    #[serde(default)]
    pub cases: Vec<Case>,
    /// Bad-policy cases, each with its own text.
    #[serde(default)]
    pub errors: Vec<ErrorCase>,
}

/// A request and the decision it must get.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Short description; the test's name.
    pub name: String,
    /// The request, in the boundary's JSON shape.
    pub request: Value,
    /// Ask for the explanation.
    #[serde(default)]
    pub explain: bool,
    /// The expected decision; fields left out are not compared (but `effect` is required).
    pub expect: Expect,
}

/// The parts of a decision a case pins down.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Expect {
    /// `allow`, `deny` or `require_approval`.
    pub effect: String,
    /// Expected `allowed`; by default `effect == allow` unless the mode is audit.
    pub allowed: Option<bool>,
    /// The deciding policy.
    pub policy: Option<String>,
    /// The deciding rule.
    pub rule: Option<String>,
    /// The reason, exactly.
    pub reason: Option<String>,
    /// A fragment the reason must contain (for long generated reasons).
    pub reason_contains: Option<String>,
    /// The canonical resource (`null` for none).
    #[serde(default, deserialize_with = "some_value")]
    pub resource: Option<Value>,
    /// The deciding part of a compound resource (`null`: the decision names none).
    #[serde(default, deserialize_with = "some_value")]
    pub part: Option<Value>,
    /// The mode.
    pub mode: Option<String>,
    /// Expected rate-limit obligations, exactly.
    pub rate_limits: Option<Value>,
    /// Expected audit obligation, exactly.
    #[serde(default, deserialize_with = "some_value")]
    pub audit: Option<Value>,
    /// Rules of the explanation to check, each a subset of fields.
    pub explanation: Option<Vec<Value>>,
    /// Policies of the explanation to check, each a subset of fields.
    pub explained_policies: Option<Vec<Value>>,
    /// Every part of the explanation, in order, each a subset of fields.
    pub explained_parts: Option<Vec<Value>>,
}

/// Distinguishes an explicit `null` from an absent field.
fn some_value<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// A bad policy and the diagnostics it must produce.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorCase {
    /// Short description; the test's name.
    pub name: String,
    /// The file name the text is loaded under (decides YAML or JSON).
    #[serde(default = "default_file")]
    pub file: String,
    /// The policy text.
    pub text: String,
    /// Every diagnostic, in order; fields left out are not compared.
    pub expect: Vec<ExpectDiagnostic>,
}

fn default_file() -> String {
    "policy.yaml".to_owned()
}

/// The parts of a diagnostic an error case pins down.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectDiagnostic {
    /// The stable code, such as `unknown-key`.
    pub code: String,
    /// 1-based line.
    pub line: u64,
    /// 1-based column.
    pub column: u64,
    /// The message, exactly.
    pub message: Option<String>,
    /// The help, exactly.
    pub help: Option<String>,
}

/// The repository root (the parent of this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from(".."), Path::to_path_buf)
}

/// Every case file, sorted by name.
pub fn case_files() -> Result<Vec<(String, CaseFile)>> {
    let dir = repo_root().join("tests/conformance");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p)?;
            let file: CaseFile =
                serde_yaml::from_str(&text).with_context(|| format!("parsing {}", p.display()))?;
            let stem = p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            Ok((stem, file))
        })
        .collect()
}

/// The sources of a case file's policy set, in load order.
pub fn sources(file: &CaseFile) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for name in &file.policies {
        let path = repo_root().join("policies").join(format!("{name}.yaml"));
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        out.push((format!("{name}.yaml"), text));
    }
    if let Some(text) = &file.policy {
        out.push(("inline.yaml".to_owned(), text.clone()));
    }
    Ok(out)
}

/// Checks a decision against a case's expectations.
pub fn check_decision(decision_json: &str, case: &Case) -> Result<()> {
    let d: Value = serde_json::from_str(decision_json).context("decision is not JSON")?;
    let e = &case.expect;
    let field = |k: &str| d.get(k).cloned().unwrap_or(Value::Null);
    let mut problems = Vec::new();
    let cmp = |problems: &mut Vec<String>, what: &str, want: Value, got: Value| {
        if want != got {
            problems.push(format!("{what}: expected {want}, got {got}"));
        }
    };
    cmp(
        &mut problems,
        "effect",
        Value::from(e.effect.clone()),
        field("effect"),
    );
    let audit_mode = case.request.get("mode").and_then(Value::as_str) == Some("audit");
    let allowed = e.allowed.unwrap_or(e.effect == "allow" || audit_mode);
    cmp(
        &mut problems,
        "allowed",
        Value::from(allowed),
        field("allowed"),
    );
    for (k, v) in [
        ("policy", &e.policy),
        ("rule", &e.rule),
        ("reason", &e.reason),
        ("mode", &e.mode),
    ] {
        if let Some(v) = v {
            cmp(&mut problems, k, Value::from(v.clone()), field(k));
        }
    }
    if let Some(frag) = &e.reason_contains {
        let reason = field("reason");
        if !reason.as_str().is_some_and(|r| r.contains(frag.as_str())) {
            problems.push(format!(
                "reason: expected to contain {frag:?}, got {reason}"
            ));
        }
    }
    if let Some(r) = &e.resource {
        cmp(&mut problems, "resource", r.clone(), field("resource"));
    }
    if let Some(part) = &e.part {
        cmp(&mut problems, "part", part.clone(), field("part"));
    }
    let obligations = field("obligations");
    if let Some(r) = &e.rate_limits {
        cmp(
            &mut problems,
            "rateLimits",
            r.clone(),
            obligations
                .get("rateLimits")
                .cloned()
                .unwrap_or(Value::Null),
        );
    }
    if let Some(a) = &e.audit {
        cmp(
            &mut problems,
            "audit",
            a.clone(),
            obligations.get("audit").cloned().unwrap_or(Value::Null),
        );
    }
    let explanation = field("explanation");
    for (key, wanted) in [
        ("rules", &e.explanation),
        ("policies", &e.explained_policies),
    ] {
        let Some(wanted) = wanted else { continue };
        let got = explanation
            .get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for w in wanted {
            if !got.iter().any(|g| subset(w, g)) {
                problems.push(format!(
                    "explanation.{key}: no entry like {w} in {}",
                    Value::from(got.clone())
                ));
            }
        }
    }
    if let Some(wanted) = &e.explained_parts {
        let got = explanation
            .get("parts")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let same = got.len() == wanted.len() && wanted.iter().zip(&got).all(|(w, g)| subset(w, g));
        if !same {
            problems.push(format!(
                "explanation.parts: expected entries like {} in order, got {}",
                Value::from(wanted.clone()),
                Value::from(got)
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        bail!("{}\ndecision: {decision_json}", problems.join("\n"))
    }
}

/// Whether every field of `want` (an object) equals the same field of `got`.
fn subset(want: &Value, got: &Value) -> bool {
    match want.as_object() {
        Some(w) => w.iter().all(|(k, v)| got.get(k) == Some(v)),
        None => want == got,
    }
}

/// Checks diagnostics against an error case.
pub fn check_diagnostics(got: &[Value], case: &ErrorCase) -> Result<()> {
    let show = || Value::from(got.to_vec()).to_string();
    if got.len() != case.expect.len() {
        bail!(
            "expected {} diagnostic(s), got {}: {}",
            case.expect.len(),
            got.len(),
            show()
        );
    }
    for (i, (g, w)) in got.iter().zip(&case.expect).enumerate() {
        let mut problems = Vec::new();
        let s = |k: &str| g.get(k).cloned().unwrap_or(Value::Null);
        if s("code") != w.code.clone() {
            problems.push(format!("code: expected {:?}, got {}", w.code, s("code")));
        }
        if s("line") != w.line || s("column") != w.column {
            problems.push(format!(
                "position: expected {}:{}, got {}:{}",
                w.line,
                w.column,
                s("line"),
                s("column")
            ));
        }
        if let Some(m) = &w.message
            && s("message") != m.clone()
        {
            problems.push(format!("message: expected {m:?}, got {}", s("message")));
        }
        if let Some(h) = &w.help
            && s("help") != h.clone()
        {
            problems.push(format!("help: expected {h:?}, got {}", s("help")));
        }
        if !problems.is_empty() {
            bail!(
                "diagnostic {}: {}\nall: {}",
                i + 1,
                problems.join("; "),
                show()
            );
        }
    }
    Ok(())
}

/// Turns the whole corpus into one test per case for the host `make` builds.
///
/// Each case runs on a freshly loaded host after replaying the earlier cases of its file
/// that carry a `time` (the only requests that touch the rate limiter), so its state is
/// exactly as if the file had run in order — whatever order, thread or filter the test
/// runner uses.
pub fn trials<H: Host + 'static>(
    host_name: &str,
    make: impl Fn() -> H + Send + Sync + Clone + 'static,
) -> Result<Vec<libtest_mimic::Trial>> {
    use std::sync::Arc;
    let mut trials = Vec::new();
    for (stem, file) in case_files()? {
        let sources = Arc::new(sources(&file)?);
        let fallback = file.fallback.clone().unwrap_or_else(|| "deny".to_owned());
        let mut timed_before: Vec<String> = Vec::new();
        for case in file.cases.clone() {
            let (sources, fallback, make) = (sources.clone(), fallback.clone(), make.clone());
            let replay = timed_before.clone();
            if case.request.get("time").is_some() {
                timed_before.push(case.request.to_string());
            }
            trials.push(libtest_mimic::Trial::test(
                format!("{host_name}::{stem}::{}", case.name),
                move || {
                    let mut host = make();
                    host.load(&sources, &fallback)
                        .map_err(|d| format!("policy set failed to load: {}", Value::from(d)))?;
                    for earlier in &replay {
                        host.decide(earlier, false).map_err(|e| e.to_string())?;
                    }
                    let decision = host
                        .decide(&case.request.to_string(), case.explain)
                        .map_err(|e| e.to_string())?;
                    check_decision(&decision, &case).map_err(|e| format!("{e:#}").into())
                },
            ));
        }
        for case in file.errors.clone() {
            let make = make.clone();
            trials.push(libtest_mimic::Trial::test(
                format!("{host_name}::{stem}::error::{}", case.name),
                move || {
                    let mut h = make();
                    match h.load(&[(case.file.clone(), case.text.clone())], "deny") {
                        Ok(()) => Err("expected the policy to be refused, it loaded".into()),
                        Err(diags) => {
                            check_diagnostics(&diags, &case).map_err(|e| format!("{e:#}").into())
                        }
                    }
                },
            ));
        }
    }
    if trials.is_empty() {
        return Err(anyhow!("the corpus holds no case"));
    }
    Ok(trials)
}
