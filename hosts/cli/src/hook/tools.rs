//! Claude Code's `PreToolUse` input, and which MeshGuard action and resource each tool
//! call is.
//!
//! | tool | action | resource |
//! |---|---|---|
//! | `Bash` (seeds: `exec`) | `execute:shell` | `command` |
//! | `Read`, `NotebookRead`, `LS` | `read:file` | `file_path` / `notebook_path` / `path` |
//! | `Grep`, `Glob` | `read:file` | `path`, else `cwd` |
//! | `Write`, `Edit`, `MultiEdit`, `NotebookEdit` | `write:file` | `file_path` / `notebook_path` / `path` |
//! | `WebFetch` (seeds: `web_fetch`) | `read:web_fetch` | `url` |
//! | `WebSearch` (seeds: `web_search`) | `read:web_search` | `query` |
//! | `browser` (seeds) | `read:web_browse` | `url`, else `action` |
//! | `mcp__server__tool` | `invoke:server.tool` | `tool_input` as compact JSON, ≤ 4 KiB |
//! | anything else | `invoke:<tool_name>` | `tool_input` as compact JSON, ≤ 4 KiB |
//!
//! File paths go through [`crate::paths::workspace_relative`] with `cwd` as the root.
//! A field the mapping needs that is missing or not a string is an error, and the hook
//! blocks: guessing would decide a different request than the one Claude Code will run.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::paths::{truncate, workspace_relative};

/// Longest resource made from a tool's whole input (MCP and unknown tools).
const MAX_JSON_RESOURCE: usize = 4 * 1024;

/// The fields of Claude Code's hook input this hook reads; others (`transcript_path`,
/// fields added by later versions) are ignored.
#[derive(Debug, Deserialize)]
pub struct HookInput {
    /// The tool about to run, such as `Bash` or `mcp__github__create_issue`.
    pub tool_name: String,
    /// The tool's arguments.
    pub tool_input: Map<String, Value>,
    /// Claude Code's working directory: the workspace root.
    pub cwd: String,
    /// The conversation, for the audit log.
    #[serde(default)]
    pub session_id: Option<String>,
    /// `PreToolUse` (the only event this hook answers).
    #[serde(default)]
    pub hook_event_name: Option<String>,
    /// Claude Code's permission mode (`default`, `plan`, `acceptEdits`...), as context.
    #[serde(default)]
    pub permission_mode: Option<String>,
}

/// What a tool call asks to do, in policy terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    /// Such as `read:file`.
    pub action: String,
    /// The resource as policies see it (workspace paths relative).
    pub resource: Option<String>,
    /// The canonical absolute path, when the resource is a path that was made relative.
    pub absolute: Option<String>,
}

/// Maps a tool call, or says which field is missing.
pub fn map(input: &HookInput) -> Result<Mapped, String> {
    let name = input.tool_name.as_str();
    if name.trim().is_empty() {
        return Err("`tool_name` is empty".to_owned());
    }
    let field = |key: &str| -> Result<&str, String> {
        match input.tool_input.get(key) {
            Some(Value::String(s)) => Ok(s),
            Some(_) => Err(format!("`tool_input.{key}` of `{name}` is not a string")),
            None => Err(format!("`tool_input.{key}` is missing for tool `{name}`")),
        }
    };
    let first = |keys: &[&str]| -> Result<&str, String> {
        keys.iter()
            .find_map(|k| field(k).ok())
            .ok_or_else(|| match keys {
                [one] => format!("`tool_input.{one}` is missing for tool `{name}`"),
                _ => format!(
                    "none of {} is a string in `tool_input` of tool `{name}`",
                    keys.iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })
    };
    let plain = |action: &str, resource: &str| Mapped {
        action: action.to_owned(),
        resource: Some(resource.to_owned()),
        absolute: None,
    };
    let file = |action: &str, path: &str| {
        let relative = workspace_relative(path, &input.cwd);
        let absolute = crate::paths::absolute(path, &input.cwd);
        Mapped {
            action: action.to_owned(),
            absolute: (absolute != relative).then_some(absolute),
            resource: Some(relative),
        }
    };
    Ok(match name {
        "Bash" | "exec" => plain("execute:shell", field("command")?),
        "Read" | "NotebookRead" | "LS" => {
            file("read:file", first(&["file_path", "notebook_path", "path"])?)
        }
        "Grep" | "Glob" => {
            let path = match input.tool_input.get("path") {
                None | Some(Value::Null) => input.cwd.as_str(),
                Some(_) => field("path")?,
            };
            file("read:file", path)
        }
        "Write" | "Edit" | "MultiEdit" | "NotebookEdit" => file(
            "write:file",
            first(&["file_path", "notebook_path", "path"])?,
        ),
        "WebFetch" | "web_fetch" => plain("read:web_fetch", field("url")?),
        "WebSearch" | "web_search" => plain("read:web_search", field("query")?),
        "browser" => plain("read:web_browse", first(&["url", "action"])?),
        _ => {
            let action = match mcp_action(name) {
                Some(a) => a,
                None => format!("invoke:{name}"),
            };
            let json = Value::Object(input.tool_input.clone()).to_string();
            Mapped {
                action,
                resource: Some(truncate(&json, MAX_JSON_RESOURCE).to_owned()),
                absolute: None,
            }
        }
    })
}

/// `mcp__server__tool` → `invoke:server.tool` (the server is the text up to the next
/// `__`; a tool name may itself contain `__`).
fn mcp_action(name: &str) -> Option<String> {
    let rest = name.strip_prefix("mcp__")?;
    let (server, tool) = rest.split_once("__")?;
    (!server.is_empty() && !tool.is_empty()).then(|| format!("invoke:{server}.{tool}"))
}

/// Context facts policies may test: the tool, the working directory, the session and
/// the permission mode, when known.
pub fn context(input: &HookInput) -> Value {
    let mut c = Map::new();
    c.insert("tool".to_owned(), Value::from(input.tool_name.as_str()));
    c.insert("cwd".to_owned(), Value::from(input.cwd.as_str()));
    if let Some(s) = &input.session_id {
        c.insert("session_id".to_owned(), Value::from(s.as_str()));
    }
    if let Some(m) = &input.permission_mode {
        c.insert("permission_mode".to_owned(), Value::from(m.as_str()));
    }
    Value::Object(c)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn input(tool: &str, args: Value) -> HookInput {
        HookInput {
            tool_name: tool.to_owned(),
            tool_input: args.as_object().cloned().unwrap_or_default(),
            cwd: "/home/dev/app".to_owned(),
            session_id: None,
            hook_event_name: Some("PreToolUse".to_owned()),
            permission_mode: None,
        }
    }

    fn mapped(tool: &str, args: Value) -> (String, Option<String>) {
        let m = map(&input(tool, args)).unwrap();
        (m.action, m.resource)
    }

    #[test]
    fn maps_claude_codes_tools() {
        assert_eq!(
            mapped("Bash", json!({"command": "git status"})),
            ("execute:shell".into(), Some("git status".into()))
        );
        assert_eq!(
            mapped("Read", json!({"file_path": "/home/dev/app/src/a.rs"})),
            ("read:file".into(), Some("./src/a.rs".into()))
        );
        assert_eq!(
            mapped("Grep", json!({"pattern": "x"})),
            ("read:file".into(), Some("./".into()))
        );
        assert_eq!(
            mapped("Glob", json!({"pattern": "*", "path": "/etc"})),
            ("read:file".into(), Some("/etc".into()))
        );
        assert_eq!(
            mapped("Edit", json!({"file_path": "/home/dev/app/.env"})),
            ("write:file".into(), Some("./.env".into()))
        );
        assert_eq!(
            mapped(
                "NotebookEdit",
                json!({"notebook_path": "/home/dev/app/n.ipynb"})
            ),
            ("write:file".into(), Some("./n.ipynb".into()))
        );
        assert_eq!(
            mapped(
                "WebFetch",
                json!({"url": "https://docs.rs/x", "prompt": "p"})
            ),
            ("read:web_fetch".into(), Some("https://docs.rs/x".into()))
        );
        assert_eq!(
            mapped("WebSearch", json!({"query": "rust"})),
            ("read:web_search".into(), Some("rust".into()))
        );
        assert_eq!(mapped("exec", json!({"command": "ls "})).0, "execute:shell");
        assert_eq!(
            mapped("browser", json!({"action": "open"})).0,
            "read:web_browse"
        );
    }

    #[test]
    fn mcp_and_unknown_tools_are_invocations() {
        assert_eq!(
            mapped("mcp__github__create_issue", json!({"title": "t"})),
            (
                "invoke:github.create_issue".into(),
                Some(r#"{"title":"t"}"#.into())
            )
        );
        assert_eq!(
            mapped("TodoWrite", json!({})),
            ("invoke:TodoWrite".into(), Some("{}".into()))
        );
        let big = "x".repeat(10_000);
        let (_, r) = mapped("Task", json!({ "prompt": big }));
        assert_eq!(r.map(|r| r.len()), Some(MAX_JSON_RESOURCE));
    }

    #[test]
    fn missing_fields_are_errors() {
        assert!(
            map(&input("Bash", json!({})))
                .unwrap_err()
                .contains("`tool_input.command`")
        );
        assert!(map(&input("Read", json!({"file_path": 3}))).is_err());
        assert!(map(&input("", json!({}))).is_err());
    }
}
