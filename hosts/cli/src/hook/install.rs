//! `meshguard hook install`: register the hook in Claude Code's `.claude/settings.json`.
//!
//! Writes (or merges into an existing file) the entry
//!
//! ```json
//! {"hooks": {"PreToolUse": [{"matcher": "*", "hooks": [{"type": "command",
//!   "command": "/abs/meshguard hook claude-code --policies /abs/policies"}]}]}}
//! ```
//!
//! Every other setting is kept; an earlier MeshGuard entry is replaced rather than
//! duplicated, so running it twice is harmless. The policies are loaded first: a hook
//! pointing at policies that do not load would block every tool call (it fails closed),
//! so installing it is refused. The file is replaced atomically (written beside it, then
//! renamed); JSON object keys come out in sorted order.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde_json::{Map, Value, json};

use crate::load;

/// Largest settings file read.
const MAX_SETTINGS: u64 = 4 * 1024 * 1024;

/// Arguments of `meshguard hook install`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The policy directory (or file) the hook loads.
    #[arg(long, value_name = "PATH", default_value = "policies")]
    policies: PathBuf,

    /// The Claude Code settings file to write.
    #[arg(long, value_name = "PATH", default_value = ".claude/settings.json")]
    settings: PathBuf,

    /// Also pass `--audit-log FILE` to the hook.
    #[arg(long = "audit-log", value_name = "FILE.jsonl")]
    audit_log: Option<PathBuf>,

    /// Decide through this gateway (`--gateway URL`; the policies decide when it cannot
    /// be reached) and record finished calls there (a `PostToolUse` entry too). The
    /// agent token comes from MESHGUARD_API_KEY in Claude Code's environment; it is
    /// never written to the settings file.
    #[arg(long, value_name = "URL")]
    gateway: Option<String>,
}

/// Checks the policies, then writes the settings entry.
pub fn run(args: &Args, json_out: bool) -> Result<ExitCode> {
    let fail = |problem: String| -> Result<ExitCode> { Ok(crate::refuse(&problem)) };
    let policies = match std::path::absolute(&args.policies) {
        Ok(p) => p,
        Err(e) => return fail(format!("cannot resolve `{}`: {e}", args.policies.display())),
    };
    if let Err(failure) = load::load_set(&[&policies]) {
        failure.report().context("writing to stderr")?;
        return fail("the policies do not load; the hook would block every tool call".to_owned());
    }
    let exe = std::env::current_exe().and_then(|p| p.canonicalize());
    let exe = match exe {
        Ok(p) => p,
        Err(e) => return fail(format!("cannot find this executable's path: {e}")),
    };
    let mut paths = vec![exe, policies];
    if let Some(log) = &args.audit_log {
        paths.push(std::path::absolute(log).unwrap_or_else(|_| log.clone()));
    }
    let mut quoted_paths = Vec::new();
    for path in &paths {
        match quoted(path) {
            Ok(q) => quoted_paths.push(q),
            Err(problem) => return fail(problem),
        }
    }
    let mut words: Vec<String> = Vec::new();
    for (i, q) in quoted_paths.into_iter().enumerate() {
        match i {
            0 => words.extend([q, "hook".to_owned(), "claude-code".to_owned()]),
            1 => words.extend(["--policies".to_owned(), q]),
            _ => words.extend(["--audit-log".to_owned(), q]),
        }
    }
    if let Some(url) = &args.gateway {
        let base = match crate::net::base_url(url) {
            Ok(b) => b,
            Err(problem) => return fail(problem),
        };
        match quoted(Path::new(&base)) {
            Ok(q) => words.extend(["--gateway".to_owned(), q]),
            Err(problem) => return fail(problem),
        }
    }
    let command = words.join(" ");
    let mut settings = match read_settings(&args.settings) {
        Ok(s) => s,
        Err(problem) => return fail(problem),
    };
    let replaced = merge(&mut settings, "PreToolUse", Some(&command));
    // Finished calls are recorded only through a gateway; an earlier entry goes otherwise.
    let post = args.gateway.is_some().then_some(command.as_str());
    merge(&mut settings, "PostToolUse", post);
    if let Err(problem) = write_settings(&args.settings, &settings) {
        return fail(problem);
    }
    let mut out = io::stdout().lock();
    if json_out {
        let report = json!({
            "settings": args.settings.display().to_string(),
            "command": command,
            "replaced": replaced,
        });
        writeln!(out, "{report}").context("writing to stdout")?;
    } else {
        let verb = if replaced { "updated" } else { "installed" };
        writeln!(
            out,
            "{verb}: {} hook in {}",
            if args.gateway.is_some() {
                "PreToolUse and PostToolUse"
            } else {
                "PreToolUse"
            },
            args.settings.display()
        )
        .and_then(|()| writeln!(out, "  command: {command}"))
        .context("writing to stdout")?;
    }
    Ok(ExitCode::SUCCESS)
}

/// A path as one shell word (Claude Code runs hook commands through a shell); settings
/// files are JSON, so the path must be UTF-8.
fn quoted(path: &Path) -> Result<String, String> {
    let Some(text) = path.to_str() else {
        return Err(format!("`{}` is not valid UTF-8", path.display()));
    };
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:@%=,".contains(c));
    Ok(if plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    })
}

/// The settings object: `{}` when the file does not exist; an error when it is not a
/// JSON object (never overwritten then).
fn read_settings(path: &Path) -> Result<Map<String, Value>, String> {
    let text = match std::fs::metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Map::new()),
        Err(e) => return Err(format!("cannot read `{}`: {e}", path.display())),
        Ok(m) if m.len() > MAX_SETTINGS => {
            return Err(format!(
                "`{}` is too large to be a settings file",
                path.display()
            ));
        }
        Ok(_) => std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?,
    };
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(format!("`{}` is not a JSON object", path.display())),
        Err(e) => Err(format!("`{}` is not valid JSON: {e}", path.display())),
    }
}

/// Puts the entry in `hooks.<event>`, replacing earlier MeshGuard entries (or only
/// removes them when `command` is `None`). Returns whether one was replaced.
fn merge(settings: &mut Map<String, Value>, event: &str, command: Option<&str>) -> bool {
    if command.is_none() && settings.get("hooks").and_then(|h| h.get(event)).is_none() {
        return false;
    }
    let hooks = settings
        .entry("hooks")
        .or_insert_with(|| Value::Object(Map::new()));
    if !hooks.is_object() {
        *hooks = Value::Object(Map::new());
    }
    let Some(hooks) = hooks.as_object_mut() else {
        return false;
    };
    let list = hooks
        .entry(event)
        .or_insert_with(|| Value::Array(Vec::new()));
    if !list.is_array() {
        *list = Value::Array(Vec::new());
    }
    let Some(list) = list.as_array_mut() else {
        return false;
    };
    let before = list.len();
    list.retain(|entry| !is_ours(entry));
    let replaced = list.len() != before;
    match command {
        Some(command) => list.push(json!({
            "matcher": "*",
            "hooks": [{ "type": "command", "command": command }],
        })),
        None if list.is_empty() => {
            hooks.remove(event);
        }
        None => {}
    }
    replaced
}

/// Whether a hook entry runs `meshguard hook claude-code`.
fn is_ours(entry: &Value) -> bool {
    entry["hooks"].as_array().is_some_and(|hooks| {
        hooks.iter().any(|h| {
            h["command"]
                .as_str()
                .is_some_and(|c| c.contains("meshguard") && c.contains(" hook claude-code"))
        })
    })
}

/// Writes the settings beside the target, then renames over it.
fn write_settings(path: &Path, settings: &Map<String, Value>) -> Result<(), String> {
    let cannot = |e: io::Error| format!("cannot write `{}`: {e}", path.display());
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(cannot)?;
    }
    let mut text = serde_json::to_string_pretty(settings).map_err(|e| e.to_string())?;
    text.push('\n');
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".meshguard-tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, text).map_err(cannot)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        cannot(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keeps_other_settings_and_replaces_our_entry() {
        let mut s: Map<String, Value> = serde_json::from_str(
            r#"{"permissions":{"allow":["Read"]},"hooks":{"PreToolUse":[
                {"matcher":"Bash","hooks":[{"type":"command","command":"other"}]},
                {"matcher":"*","hooks":[{"type":"command","command":"/old/meshguard hook claude-code --policies /p"}]}
            ],"PostToolUse":[]}}"#,
        )
        .unwrap();
        assert!(merge(
            &mut s,
            "PreToolUse",
            Some("/new/meshguard hook claude-code --policies /q")
        ));
        let list = s["hooks"]["PreToolUse"].as_array().unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0]["hooks"][0]["command"], "other");
        assert_eq!(
            list[1]["hooks"][0]["command"],
            "/new/meshguard hook claude-code --policies /q"
        );
        assert_eq!(s["permissions"]["allow"][0], "Read");
        assert!(s["hooks"]["PostToolUse"].is_array());
        let mut empty = Map::new();
        assert!(!merge(&mut empty, "PreToolUse", Some("x")));
        // Removing from an event that has no entry leaves the settings alone.
        let mut none = Map::new();
        assert!(!merge(&mut none, "PostToolUse", None));
        assert!(none.is_empty(), "{none:?}");
    }

    #[test]
    fn quotes_only_when_needed() {
        assert_eq!(
            quoted(Path::new("/usr/bin/meshguard")).unwrap(),
            "/usr/bin/meshguard"
        );
        assert_eq!(
            quoted(Path::new("/my dir/it's")).unwrap(),
            r"'/my dir/it'\''s'"
        );
    }
}
