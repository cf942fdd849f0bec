//! The policy directory and its hot reload.
//!
//! A [`PolicySnapshot`] is everything loaded from the directory at one moment: the
//! evaluator (a pool of warm component instances with the set compiled inside), the file
//! texts and a JSON summary of every policy. The gateway serves one snapshot behind an
//! `ArcSwap`; a reload builds a complete new snapshot and swaps it in one step, so a
//! request sees either the old set or the new one, never a mix, and a directory with any
//! bad file is not loaded at all: the last good snapshot keeps serving and the problems
//! are reported (log lines with file:line:column, `GET /admin/policies/status`,
//! `policyErrors` in `/health`).
//!
//! Change detection polls: every interval the directory's policy files are listed with
//! their sizes and modification times, and a different listing triggers a reload. It is
//! simple, works on every file system (network mounts and container volumes included),
//! and costs a `readdir` and a few `stat`s per second.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::UNIX_EPOCH;

use anyhow::{Context, Result};
use meshguard_api::{AppliesTo, HumanInTheLoop, PolicySummary, RuleSummary};
use meshguard_core::{Diagnostic, Effect, Policy, Source, is_policy_file_name};

use crate::clock;
use crate::engine::{Evaluator, Runtime};
use crate::state::AppState;
use crate::store::postgres::policies::PolicyRows;

/// One policy file as loaded.
#[derive(Debug, Clone)]
pub struct PolicyFile {
    /// The file name in the directory.
    pub file_name: String,
    /// The name diagnostics use (`policies/clawdbot-email.yaml`).
    pub label: String,
    /// Its text.
    pub text: String,
    /// The policies it defines, in order.
    pub policies: Vec<String>,
}

/// Which state of the source a snapshot was loaded from: what a directory listing looked
/// like (file name, size, mtime in ns), or the database's policy generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stamp {
    /// A directory listing.
    Files(Vec<(String, u64, i128)>),
    /// A generation of the shared database's set.
    Generation(i64),
}

impl Default for Stamp {
    fn default() -> Self {
        Stamp::Files(Vec::new())
    }
}

/// Where the policy set comes from.
#[derive(Debug, Clone)]
pub enum PolicySource {
    /// A directory of files, polled for changes.
    Dir(PathBuf),
    /// The shared database (several replicas on PostgreSQL); `POLICIES_DIR` only seeds an
    /// empty one. Changes arrive by notification, with a poll of the generation behind.
    Database(PolicyRows),
}

impl PolicySource {
    /// The name diagnostics give a file.
    pub fn label(&self, file_name: &str) -> String {
        match self {
            PolicySource::Dir(dir) => label(dir, file_name),
            PolicySource::Database(_) => format!("db:{file_name}"),
        }
    }

    /// For logs and `GET /admin/policies`.
    pub fn describe(&self) -> String {
        match self {
            PolicySource::Dir(dir) => dir.display().to_string(),
            PolicySource::Database(_) => "database".to_owned(),
        }
    }

    /// The source's state now (cheap: a listing, or one row). Blocking.
    pub fn stamp(&self) -> Result<Stamp> {
        match self {
            PolicySource::Dir(dir) => scan(dir),
            PolicySource::Database(rows) => Ok(Stamp::Generation(rows.generation()?)),
        }
    }

    /// Whether a changed stamp can be loaded at once. A directory cannot: an editor that
    /// saves in place (truncate, then write) shows a half-written file for a moment, so
    /// the watcher waits for a listing that stays the same for a whole interval. A
    /// database generation is a committed transaction.
    fn settled_on_change(&self) -> bool {
        matches!(self, PolicySource::Database(_))
    }

    /// Reads and compiles the whole set. Blocking.
    pub fn load(
        &self,
        runtime: &Runtime,
        fallback: Effect,
    ) -> Result<Result<PolicySnapshot, Vec<Diagnostic>>> {
        match self {
            PolicySource::Dir(dir) => load_dir(runtime, dir, fallback),
            PolicySource::Database(rows) => {
                let (generation, files) = rows.read()?;
                let files = files
                    .into_iter()
                    .map(|(name, text)| {
                        let label = self.label(&name);
                        (name, label, text)
                    })
                    .collect();
                build(runtime, files, Stamp::Generation(generation), fallback)
            }
        }
    }
}

/// A loaded directory.
#[derive(Debug)]
pub struct PolicySnapshot {
    /// Decides requests.
    pub evaluator: Evaluator,
    /// The files, in load order.
    pub files: Vec<PolicyFile>,
    /// One summary per policy, in load order (what `GET /admin/policies` lists).
    pub summaries: Vec<PolicySummary>,
    /// `(policy, audit.retention_days)` for the policies that set one.
    pub retention: Vec<(String, u32)>,
    /// The listing this snapshot was loaded from.
    pub stamp: Stamp,
    /// When it was loaded (ms).
    pub loaded_at_ms: i64,
}

impl PolicySnapshot {
    /// The file holding policy `name`.
    pub fn file_of(&self, name: &str) -> Option<&PolicyFile> {
        self.files
            .iter()
            .find(|f| f.policies.iter().any(|p| p == name))
    }

    /// The summary of policy `name`.
    pub fn summary(&self, name: &str) -> Option<&PolicySummary> {
        self.summaries.iter().find(|s| s.name == name)
    }

    /// `(label, text)` of every file, for compiling.
    pub fn sources(&self) -> Vec<(String, String)> {
        self.files
            .iter()
            .map(|f| (f.label.clone(), f.text.clone()))
            .collect()
    }
}

/// The outcome of the last reload attempt.
#[derive(Debug, Clone, Default)]
pub struct PolicyStatus {
    /// The problems that kept the directory from loading; empty when it loads.
    pub errors: Vec<Diagnostic>,
    /// When the last attempt ran (ms).
    pub checked_at_ms: i64,
}

/// Lists the directory's policy files.
pub fn scan(dir: &Path) -> Result<Stamp> {
    let mut files = Vec::new();
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("reading the policy directory `{}`", dir.display()))?;
    for entry in entries {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if !is_policy_file_name(&name) {
            continue;
        }
        // Follows symlinks (Kubernetes mounts config maps through them).
        let Ok(meta) = std::fs::metadata(entry.path()) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX));
        files.push((name, meta.len(), mtime));
    }
    files.sort();
    Ok(Stamp::Files(files))
}

fn diagnostic(file: &str, code: &str, message: String) -> Diagnostic {
    Diagnostic {
        code: code.to_owned(),
        severity: "error".to_owned(),
        message,
        help: None,
        file: file.to_owned(),
        line: 1,
        column: 1,
        end_line: 1,
        end_column: 1,
    }
}

/// The label diagnostics use for a file of the directory.
pub fn label(dir: &Path, file_name: &str) -> String {
    dir.join(file_name).display().to_string()
}

/// Reads the listed files; unreadable or non-UTF-8 files become diagnostics.
fn read(dir: &Path, stamp: &Stamp) -> Result<Vec<(String, String, String)>, Vec<Diagnostic>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let Stamp::Files(listing) = stamp else {
        return Ok(out);
    };
    for (name, _, _) in listing {
        let label = label(dir, name);
        match std::fs::read(dir.join(name)) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => out.push((name.clone(), label, text)),
                Err(e) => errors.push(diagnostic(
                    &label,
                    "not-utf8",
                    format!(
                        "the file is not UTF-8 text (invalid byte at offset {})",
                        e.utf8_error().valid_up_to()
                    ),
                )),
            },
            Err(e) => errors.push(diagnostic(
                &label,
                "unreadable",
                format!("cannot read: {e}"),
            )),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Loads a whole directory (blocking: compiles in the component).
pub fn load_dir(
    runtime: &Runtime,
    dir: &Path,
    fallback: Effect,
) -> Result<Result<PolicySnapshot, Vec<Diagnostic>>> {
    let stamp = scan(dir)?;
    let files = match read(dir, &stamp) {
        Ok(f) => f,
        Err(diags) => return Ok(Err(diags)),
    };
    // A file written while it was read may have been read half-written: load nothing and
    // let the next poll try again with settled content.
    if scan(dir)? != stamp {
        anyhow::bail!("the policy directory changed while it was read; the next check retries");
    }
    build(runtime, files, stamp, fallback)
}

/// Compiles `(file name, label, text)` files into a snapshot.
pub fn build(
    runtime: &Runtime,
    files: Vec<(String, String, String)>,
    stamp: Stamp,
    fallback: Effect,
) -> Result<Result<PolicySnapshot, Vec<Diagnostic>>> {
    let sources: Vec<(String, String)> = files
        .iter()
        .map(|(_, label, text)| (label.clone(), text.clone()))
        .collect();
    let evaluator = match runtime.load(&sources, fallback)? {
        Ok(ev) => ev,
        Err(diags) => return Ok(Err(diags)),
    };
    let mut loaded = Vec::with_capacity(files.len());
    let mut summaries = Vec::new();
    let mut retention = Vec::new();
    for (file_name, label, text) in files {
        // The component accepted the set, so the same core parses each file natively
        // here; this only reads the model for listings, it never decides anything.
        let policies =
            meshguard_core::parse_policies(&Source::new(&label, &text)).map_err(|es| {
                anyhow::anyhow!(
                    "{label}: the component loaded a file the native parser refuses ({} errors)",
                    es.len()
                )
            })?;
        let mut names = Vec::with_capacity(policies.len());
        for p in &policies {
            names.push(p.name.clone());
            summaries.push(summarize(p, &file_name));
            if let Some(days) = p.audit.as_ref().and_then(|a| a.retention_days) {
                retention.push((p.name.clone(), days));
            }
        }
        loaded.push(PolicyFile {
            file_name,
            label,
            text,
            policies: names,
        });
    }
    Ok(Ok(PolicySnapshot {
        evaluator,
        files: loaded,
        summaries,
        retention,
        stamp,
        loaded_at_ms: clock::now_ms(),
    }))
}

/// A policy as the admin API lists it.
pub fn summarize(p: &Policy, file: &str) -> PolicySummary {
    let globs = |gs: &[meshguard_core::glob::Glob]| -> Vec<String> {
        gs.iter().map(|g| g.as_str().to_owned()).collect()
    };
    PolicySummary {
        id: p.name.clone(),
        name: p.name.clone(),
        version: p.version.clone(),
        description: p.description.clone(),
        file: file.to_owned(),
        applies_to: p.applies_to.as_ref().map(|a| AppliesTo {
            tags: a.tags.clone(),
            trust_tiers: a
                .trust_tiers
                .as_ref()
                .map(|ts| ts.iter().map(|t| t.as_str().to_owned()).collect()),
            agent_ids: a.agent_ids.clone(),
            org_ids: a.org_ids.clone(),
        }),
        default_effect: p.default_effect,
        rule_order: p.rule_order,
        rules: p
            .rules
            .iter()
            .map(|r| RuleSummary {
                id: r.id.clone(),
                effect: r.effect,
                actions: globs(&r.actions),
                conditional: r.conditions.is_conditional(),
                rate_limit: r.conditions.rate_limit,
                reason: r.reason.clone(),
                description: r.description.clone(),
            })
            .collect(),
        rate_limits: p.rate_limits,
        human_in_the_loop: HumanInTheLoop {
            require_approval: globs(&p.require_approval),
        },
        audit: p.audit.as_deref().cloned(),
        source: None,
    }
}

/// What a reload did.
#[derive(Debug, Clone)]
pub enum Reloaded {
    /// The new set is serving.
    Loaded {
        /// Policies in it.
        policies: usize,
    },
    /// The directory has problems; the previous set keeps serving.
    Refused(Vec<Diagnostic>),
}

/// Reloads the directory now: swaps in the new set, or records its problems. Serialised
/// with other reloads (the poller and `PUT /admin/policies/{name}`).
pub async fn reload(state: &Arc<AppState>) -> Result<Reloaded> {
    let _guard = state.reload_lock.lock().await;
    reload_locked(state).await
}

/// [`reload`] for a caller that already holds `reload_lock`.
pub async fn reload_locked(state: &Arc<AppState>) -> Result<Reloaded> {
    let runtime = state.runtime.clone();
    let source = state.policy_source.clone();
    let fallback = state.config.fallback;
    let loaded = tokio::task::spawn_blocking(move || source.load(&runtime, fallback))
        .await
        .context("the reload task failed")??;
    Ok(apply(state, loaded))
}

fn apply(state: &AppState, loaded: Result<PolicySnapshot, Vec<Diagnostic>>) -> Reloaded {
    let now = clock::now_ms();
    match loaded {
        Ok(snapshot) => {
            let n = snapshot.summaries.len();
            tracing::info!(
                policies = n,
                files = snapshot.files.len(),
                from = %state.policy_source.describe(),
                "policies loaded"
            );
            for d in snapshot.evaluator.findings() {
                if d.severity == "warning" {
                    tracing::warn!("policy lint: {d}");
                } else {
                    tracing::info!("policy lint: {d}");
                }
            }
            state.policies.store(Arc::new(snapshot));
            state.policy_status.store(Arc::new(PolicyStatus {
                errors: Vec::new(),
                checked_at_ms: now,
            }));
            state.metrics.reloads_ok.fetch_add(1, Relaxed);
            Reloaded::Loaded { policies: n }
        }
        Err(diags) => {
            for d in &diags {
                tracing::error!("policy error (still serving the last good set): {d}");
            }
            state.policy_status.store(Arc::new(PolicyStatus {
                errors: diags.clone(),
                checked_at_ms: now,
            }));
            state.metrics.reloads_failed.fetch_add(1, Relaxed);
            Reloaded::Refused(diags)
        }
    }
}

/// Polls the directory and reloads a change once it has stayed the same for one interval,
/// until the process stops.
pub async fn watch(state: Arc<AppState>) {
    let mut last_seen = state.policies.load().stamp.clone();
    // The last source state a reload answered for (loaded or refused): not tried again
    // until it changes, so a bad file is reported once, not at every tick.
    let mut tried: Option<Stamp> = None;
    // A source that cannot be read is logged once per distinct problem, not per tick.
    let mut last_problem: Option<String> = None;
    let mut ticker = tokio::time::interval(state.config.reload_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        // A tick, or a replica's notification that the shared set changed.
        tokio::select! {
            _ = ticker.tick() => {}
            () = state.policy_changed.notified() => {}
        }
        let source = state.policy_source.clone();
        let stamp = match tokio::task::spawn_blocking(move || source.stamp()).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                let problem = format!("{e:#}");
                if last_problem.as_ref() != Some(&problem) {
                    tracing::warn!(
                        "policy source check failed (still serving the last good set): {problem}"
                    );
                    last_problem = Some(problem);
                }
                continue;
            }
            Err(e) => {
                tracing::warn!("policy source check failed: {e}");
                continue;
            }
        };
        last_problem = None;
        if stamp == state.policies.load().stamp || tried.as_ref() == Some(&stamp) {
            last_seen = stamp;
            continue;
        }
        // Load only a directory that stayed the same for a whole interval: an editor that
        // saves in place (truncate, then write) shows a half-written file for a moment,
        // and loading it could serve a policy cut short (a deny list without its end).
        // Files written by rename (atomic saves, the admin API) settle just as well.
        if stamp != last_seen && !state.policy_source.settled_on_change() {
            tracing::debug!("policy directory changed; reloading once it is stable");
            last_seen = stamp;
            continue;
        }
        last_seen = stamp.clone();
        tracing::info!("the policy set changed; reloading");
        match reload(&state).await {
            Ok(_) => tried = Some(stamp),
            // Not answered (the directory moved while read, a task failed): next tick.
            Err(e) => tracing::error!("policy reload failed: {e:#}"),
        }
    }
}

/// Where `PUT /admin/policies/{name}` writes: the file that holds the policy, else
/// `{name}.yaml` (`.json` when the text is JSON).
pub fn target_file(snapshot: &PolicySnapshot, name: &str, text: &str) -> String {
    match snapshot.file_of(name) {
        Some(f) => f.file_name.clone(),
        None if text.trim_start().starts_with('{') => format!("{name}.json"),
        None => format!("{name}.yaml"),
    }
}

/// Writes a file atomically: a hidden temporary file (ignored by the scanner) renamed
/// over the target.
pub fn write_atomic(dir: &Path, file_name: &str, text: &str) -> Result<()> {
    let tmp: PathBuf = dir.join(format!(".{file_name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, dir.join(file_name)).with_context(|| {
        let _ = std::fs::remove_file(&tmp);
        format!("replacing {}", dir.join(file_name).display())
    })
}
