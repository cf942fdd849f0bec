//! Claude Code's `PreToolUse` input, and which MeshGuard action and resources each tool
//! call is.
//!
//! | tool | action | resource |
//! |---|---|---|
//! | `Bash` (seeds: `exec`) | `execute:shell` | `command` |
//! | `Read`, `NotebookRead` | `read:file` | `file_path` / `notebook_path` / `path` |
//! | `Grep` | `read:file` | what it searches: `<dir>/**`, or `<dir>/**/<glob>` per `glob` (see below); a `path` that is a file: that file |
//! | `Glob` | `read:file` | `<dir>/<pattern>` (an absolute or `~` pattern as it is) |
//! | `LS` | `read:file` | `<path>/**` (a file: that file) |
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
//!
//! **Searches are decided on what they read.** `Grep`, `Glob` and `LS` read many files, so
//! their resource is a glob naming them, which policy patterns (where `*` crosses `/`)
//! match as text: `Grep {glob: "*.pem"}` in `/home/dev/app` is `./**/*.pem`, denied by
//! `**/*.pem`; `Grep {path: "~/.ssh"}` is `~/.ssh/**`, denied by `**/.ssh/*`.
//! - `<dir>` is `path`, else `cwd` (an empty `path` is `cwd`, as in Claude Code), joined to
//!   the rest with one `/`: `./**` for the workspace, `/**` for the root.
//! - `Grep`'s `glob` is split as Claude Code splits it before handing it to ripgrep (on
//!   white space, then on commas unless the word has braces), `{a,b}` alternatives are
//!   expanded, and each glob is placed as ripgrep reads it (gitignore rules): one with no
//!   `/` matches at any depth (`<dir>/**/<glob>`), one with a `/` (a leading one
//!   included) is anchored at `<dir>` (`<dir>/<glob>`), a trailing `/` names a directory
//!   and everything in it (`<dir>/**/<glob>**`). `!` globs only exclude, so they are left
//!   out; with no other glob the search reads `<dir>/**`. `type` (such as `rust`) narrows
//!   the search further and is not part of the resource; it is in the context as `type`.
//! - `Glob`'s `pattern` is anchored at `<dir>` (`*.rs` is `./*.rs`, `**/*.pem` is
//!   `./**/*.pem`), braces expanded likewise.
//! - Whether `path` (of `Grep` and `LS`) is a file or a directory is asked of the file
//!   system (`~` is `$HOME`). A file is read as itself; when the path does not exist or
//!   cannot be examined, both spellings are decided (the file, and the directory's
//!   resources), so that what is created in between cannot slip through.
//!
//! A call that reads several things (several globs, both spellings) gets each decided, and
//! the strictest decision stands (deny over approval over allow; among equals, one a rule
//! made over a default). At most [`MAX_TARGETS`] resources per call: more is an error.
//!
//! What this cannot do: a glob *broader* than a deny pattern is not matched by it (`*.p*`,
//! `*.pe?`, `*.pe[m]`, or no glob at all: `./**` reads `./.env` too, but is not the text
//! `**/.env`). Resources are names, not the set of files on disk; a policy must deny the
//! directories it protects (`**/.ssh/**`) as well as the file kinds, and a sandbox is
//! what keeps a file unreadable whatever the spelling.

use std::path::Path;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::paths::{truncate, workspace_relative};

/// Longest resource made from a tool's whole input (MCP and unknown tools).
const MAX_JSON_RESOURCE: usize = 4 * 1024;

/// Most resources one call is decided on (a `Grep` with many globs, braces expanded).
pub const MAX_TARGETS: usize = 64;

/// Longest `glob` / `pattern` expanded; real ones are a few dozen bytes.
const MAX_GLOB: usize = 4 * 1024;

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
    /// What the tool returned (`PostToolUse` only).
    #[serde(default)]
    pub tool_response: Option<Value>,
}

/// What a tool call asks to do, in policy terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    /// Such as `read:file`.
    pub action: String,
    /// What it acts on: one resource for most tools, several for a search that reads
    /// several sets of files. Never empty; each is decided and the strictest stands.
    pub targets: Vec<Target>,
}

/// One resource of a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The resource as policies see it (workspace paths relative).
    pub resource: String,
    /// The canonical absolute path, when the resource is a path that was made relative.
    pub absolute: Option<String>,
}

/// What a path names on disk, as far as the hook can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathKind {
    /// A file (or anything else that is not a directory): read as itself.
    File,
    /// A directory: everything under it is read.
    Directory,
    /// Missing, or it cannot be examined: decided both ways.
    Unknown,
}

/// Asks the file system what `path` (absolute, or `~…`) is; symbolic links are followed,
/// as ripgrep follows a path it is given.
pub fn probe(path: &str) -> PathKind {
    let expanded;
    let path = match path.strip_prefix('~') {
        None => path,
        Some(rest) if rest.is_empty() || rest.starts_with('/') => {
            let Some(home) = std::env::var_os("HOME") else {
                return PathKind::Unknown;
            };
            expanded = Path::new(&home).join(rest.trim_start_matches('/'));
            expanded.as_os_str().to_str().unwrap_or(path)
        }
        // `~user`: whose home that is would take the user database.
        Some(_) => return PathKind::Unknown,
    };
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => PathKind::Directory,
        Ok(_) => PathKind::File,
        Err(_) => PathKind::Unknown,
    }
}

/// Maps a tool call, asking the file system what search paths are; or says what is
/// wrong with it.
pub fn map(input: &HookInput) -> Result<Mapped, String> {
    map_with(input, &probe)
}

/// [`map`], with `probe` telling files from directories (tests pass their own).
pub fn map_with(input: &HookInput, probe: &dyn Fn(&str) -> PathKind) -> Result<Mapped, String> {
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
    // A field that may be absent (or null, or empty, as Claude Code reads it).
    let optional = |key: &str| -> Result<Option<&str>, String> {
        match input.tool_input.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => field(key).map(|s| (!s.is_empty()).then_some(s)),
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
    let one = |action: &str, target: Target| Mapped {
        action: action.to_owned(),
        targets: vec![target],
    };
    let plain = |action: &str, resource: &str| {
        one(
            action,
            Target {
                resource: resource.to_owned(),
                absolute: None,
            },
        )
    };
    let file = |path: &str| {
        let relative = workspace_relative(path, &input.cwd);
        let absolute = crate::paths::absolute(path, &input.cwd);
        Target {
            absolute: (absolute != relative).then_some(absolute),
            resource: relative,
        }
    };
    // The resources of reading `dir` (a directory, or what the file system says it is)
    // through `tails`: paths below it such as `**` or `**/*.pem`.
    let search = |dir: &str, tails: &[String]| -> Result<Mapped, String> {
        let kind = probe(&crate::paths::absolute(dir, &input.cwd));
        let mut targets = Vec::new();
        if kind != PathKind::File {
            targets.extend(tails.iter().map(|tail| file(&below(dir, tail))));
        }
        if kind != PathKind::Directory {
            targets.push(file(dir));
        }
        bounded(name, targets)
    };
    Ok(match name {
        "Bash" | "exec" => plain("execute:shell", field("command")?),
        "Read" | "NotebookRead" => one(
            "read:file",
            file(first(&["file_path", "notebook_path", "path"])?),
        ),
        "Grep" => {
            let dir = optional("path")?.unwrap_or(&input.cwd);
            let tails = match optional("glob")? {
                Some(glob) => grep_tails(glob)?,
                None => vec!["**".to_owned()],
            };
            search(dir, &tails)?
        }
        "LS" => search(optional("path")?.unwrap_or(&input.cwd), &["**".to_owned()])?,
        "Glob" => {
            let dir = optional("path")?.unwrap_or(&input.cwd);
            let pattern = field("pattern")?;
            let targets = expand_braces(pattern)?
                .iter()
                .map(|p| {
                    if p.starts_with('/') || p.starts_with('~') {
                        file(p)
                    } else {
                        file(&below(dir, p))
                    }
                })
                .collect();
            bounded(name, targets)?
        }
        "Write" | "Edit" | "MultiEdit" | "NotebookEdit" => one(
            "write:file",
            file(first(&["file_path", "notebook_path", "path"])?),
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
            plain(&action, truncate(&json, MAX_JSON_RESOURCE))
        }
    })
}

/// `read:file` on `targets`, or an error when there are too many to decide.
fn bounded(tool: &str, targets: Vec<Target>) -> Result<Mapped, String> {
    if targets.len() > MAX_TARGETS {
        return Err(format!(
            "`{tool}` would read {} sets of files; at most {MAX_TARGETS} are decided",
            targets.len()
        ));
    }
    Ok(Mapped {
        action: "read:file".to_owned(),
        targets,
    })
}

/// `tail` under `dir`, joined with exactly one `/`.
fn below(dir: &str, tail: &str) -> String {
    format!("{}/{tail}", dir.trim_end_matches('/'))
}

/// What ripgrep reads given Grep's `glob`, as paths below the searched directory.
fn grep_tails(glob: &str) -> Result<Vec<String>, String> {
    let mut tails = Vec::new();
    for word in glob.split_whitespace() {
        // Claude Code hands a word with braces to ripgrep whole, and splits others on commas.
        let pieces: Vec<&str> = if word.contains('{') && word.contains('}') {
            vec![word]
        } else {
            word.split(',').filter(|p| !p.is_empty()).collect()
        };
        for piece in pieces {
            if piece.starts_with('!') {
                continue;
            }
            for g in expand_braces(piece)? {
                tails.push(ripgrep_tail(&g));
                if tails.len() > MAX_TARGETS {
                    return Err(format!(
                        "`glob` names more than {MAX_TARGETS} patterns once braces are expanded"
                    ));
                }
            }
        }
    }
    if tails.is_empty() {
        tails.push("**".to_owned());
    }
    Ok(tails)
}

/// Where one ripgrep glob reaches below the searched directory (gitignore rules): no
/// `/` is any depth, a `/` anchors it, a trailing `/` means a directory and its contents.
fn ripgrep_tail(glob: &str) -> String {
    let (body, directory) = match glob.strip_suffix('/') {
        Some(b) => (b.trim_end_matches('/'), true),
        None => (glob, false),
    };
    let tail = if body.is_empty() || body.bytes().all(|b| b == b'*') {
        return "**".to_owned();
    } else if let Some(anchored) = body.strip_prefix('/') {
        anchored.trim_start_matches('/').to_owned()
    } else if body.contains('/') {
        body.to_owned()
    } else {
        format!("**/{body}")
    };
    if directory {
        format!("{tail}/**")
    } else {
        tail
    }
}

/// `{a,b}` alternatives expanded (nested ones too), as ripgrep and Claude Code's Glob
/// read them; a `{` with no matching `}` is literal, `\` escapes, `[...]` is a class.
/// At most [`MAX_TARGETS`] results; an error beyond, or for a glob over 4 KiB.
fn expand_braces(glob: &str) -> Result<Vec<String>, String> {
    if glob.len() > MAX_GLOB {
        return Err(format!("a glob is longer than {} KiB", MAX_GLOB / 1024));
    }
    let mut done = Vec::new();
    let mut work = vec![glob.to_owned()];
    while let Some(g) = work.pop() {
        match first_group(&g) {
            None => done.push(g),
            Some((open, close, commas)) => {
                let (head, rest) = (&g[..open], &g[close + 1..]);
                let mut from = open + 1;
                for &end in commas.iter().chain(std::iter::once(&close)) {
                    work.push(format!("{head}{}{rest}", &g[from..end]));
                    from = end + 1;
                }
            }
        }
        if done.len() + work.len() > MAX_TARGETS {
            return Err(format!(
                "a glob has more than {MAX_TARGETS} alternatives once braces are expanded"
            ));
        }
    }
    done.reverse();
    Ok(done)
}

/// The first brace group that closes: its `{`, its `}` and its top-level commas.
fn first_group(glob: &str) -> Option<(usize, usize, Vec<usize>)> {
    let bytes = glob.as_bytes();
    let mut start = 0;
    while let Some(offset) = find_unescaped(&bytes[start..], b'{') {
        let open = start + offset;
        let mut depth = 0usize;
        let mut commas = Vec::new();
        let mut i = open + 1;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 1,
                b'[' => i = class_end(bytes, i),
                b'{' => depth += 1,
                b'}' if depth == 0 => return Some((open, i, commas)),
                b'}' => depth -= 1,
                b',' if depth == 0 => commas.push(i),
                _ => {}
            }
            i += 1;
        }
        start = open + 1;
    }
    None
}

/// The index of the first `wanted` outside escapes and classes.
fn find_unescaped(bytes: &[u8], wanted: u8) -> Option<usize> {
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'[' => i = class_end(bytes, i),
            b if b == wanted => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// The `]` closing the class opened at `open` (a `]` first in it is a member), or
/// `open` itself when it never closes (then `[` is literal).
fn class_end(bytes: &[u8], open: usize) -> usize {
    let mut i = open + 1;
    if matches!(bytes.get(i), Some(b'!' | b'^')) {
        i += 1;
    }
    if bytes.get(i) == Some(&b']') {
        i += 1;
    }
    while i < bytes.len() {
        if bytes[i] == b']' {
            return i;
        }
        i += 1;
    }
    open
}

/// `mcp__server__tool` → `invoke:server.tool` (the server is the text up to the next
/// `__`; a tool name may itself contain `__`).
fn mcp_action(name: &str) -> Option<String> {
    let rest = name.strip_prefix("mcp__")?;
    let (server, tool) = rest.split_once("__")?;
    (!server.is_empty() && !tool.is_empty()).then(|| format!("invoke:{server}.{tool}"))
}

/// Context facts policies may test: the tool, the working directory, the session and
/// the permission mode, when known; for `Grep`, its file `type` (such as `rust`).
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
    if input.tool_name == "Grep"
        && let Some(Value::String(t)) = input.tool_input.get("type")
    {
        c.insert("type".to_owned(), Value::from(t.as_str()));
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
            tool_response: None,
        }
    }

    /// A file system where names with a `.` in their last segment are files, `missing`
    /// does not exist, and everything else is a directory.
    fn fake_fs(path: &str) -> PathKind {
        let last = path.rsplit('/').next().unwrap_or(path);
        if last == "missing" {
            PathKind::Unknown
        } else if last.contains('.') && !last.starts_with('.') {
            PathKind::File
        } else {
            PathKind::Directory
        }
    }

    fn resources(tool: &str, args: Value) -> (String, Vec<String>) {
        let m = map_with(&input(tool, args), &fake_fs).unwrap();
        (
            m.action,
            m.targets.into_iter().map(|t| t.resource).collect(),
        )
    }

    fn mapped(tool: &str, args: Value) -> (String, Option<String>) {
        let (action, mut r) = resources(tool, args);
        assert_eq!(r.len(), 1, "{r:?}");
        (action, r.pop())
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
    fn searches_are_what_they_read() {
        let read = |tool: &str, args: Value| {
            let (action, r) = resources(tool, args);
            assert_eq!(action, "read:file");
            r
        };
        // The examples of the issue.
        assert_eq!(
            read("Grep", json!({"pattern": "x", "glob": "*.pem"})),
            ["./**/*.pem"]
        );
        assert_eq!(read("Glob", json!({"pattern": "**/*.pem"})), ["./**/*.pem"]);
        assert_eq!(
            read("Grep", json!({"pattern": "x", "path": "~/.ssh"})),
            ["~/.ssh/**"]
        );
        assert_eq!(
            read("LS", json!({"path": "/home/dev/app/src"})),
            ["./src/**"]
        );
        // The directory: `path`, else `cwd`; empty or null is `cwd`; one `/` to join.
        assert_eq!(read("Grep", json!({"pattern": "todo"})), ["./**"]);
        assert_eq!(read("Grep", json!({"pattern": "x", "path": ""})), ["./**"]);
        assert_eq!(
            read("Grep", json!({"pattern": "x", "path": null})),
            ["./**"]
        );
        assert_eq!(
            read("Grep", json!({"pattern": "x", "path": "/etc/"})),
            ["/etc/**"]
        );
        assert_eq!(read("Grep", json!({"pattern": "x", "path": "/"})), ["/**"]);
        assert_eq!(
            read("Grep", json!({"pattern": "x", "path": "src"})),
            ["./src/**"]
        );
        assert_eq!(
            read(
                "Grep",
                json!({"pattern": "x", "path": "/home/dev/app/../other"})
            ),
            ["/home/dev/other/**"]
        );
        // A file is read as itself, whatever the glob; a path that is not there, both ways.
        assert_eq!(
            read(
                "Grep",
                json!({"pattern": "x", "path": "/home/dev/app/key.pem", "glob": "*.rs"})
            ),
            ["./key.pem"]
        );
        assert_eq!(
            read(
                "Grep",
                json!({"pattern": "x", "path": "/home/dev/app/missing"})
            ),
            ["./missing/**", "./missing"]
        );
        assert_eq!(
            read("LS", json!({"path": "/home/dev/app/a.txt"})),
            ["./a.txt"]
        );
        assert_eq!(read("LS", json!({})), ["./**"]);
        // Glob's pattern is anchored at the directory; absolute patterns stand as they are.
        assert_eq!(
            read(
                "Glob",
                json!({"pattern": "*.rs", "path": "/home/dev/app/src"})
            ),
            ["./src/*.rs"]
        );
        assert_eq!(
            read("Glob", json!({"pattern": "*", "path": "/etc"})),
            ["/etc/*"]
        );
        assert_eq!(
            read("Glob", json!({"pattern": "/etc/**/*.conf"})),
            ["/etc/**/*.conf"]
        );
        assert_eq!(read("Glob", json!({"pattern": "~/.aws/*"})), ["~/.aws/*"]);
        assert_eq!(
            read("Glob", json!({"pattern": "./src/../.env*"})),
            ["./.env*"]
        );
        assert_eq!(
            read("Glob", json!({"pattern": "**/*.{pem,key}"})),
            ["./**/*.pem", "./**/*.key"]
        );
    }

    #[test]
    fn grep_globs_are_read_as_ripgrep_reads_them() {
        let globs = |glob: &str| resources("Grep", json!({"pattern": "x", "glob": glob})).1;
        assert_eq!(globs("**/*.pem"), ["./**/*.pem"]);
        assert_eq!(globs("src/*.rs"), ["./src/*.rs"]);
        assert_eq!(globs("/src/*.rs"), ["./src/*.rs"]);
        assert_eq!(globs(".ssh/"), ["./**/.ssh/**"]);
        assert_eq!(globs("*"), ["./**"]);
        // Split as Claude Code splits it; braces expanded, nested ones too.
        assert_eq!(globs("*.rs *.pem"), ["./**/*.rs", "./**/*.pem"]);
        assert_eq!(globs("*.rs,*.key,"), ["./**/*.rs", "./**/*.key"]);
        assert_eq!(globs("*.{rs,pem}"), ["./**/*.rs", "./**/*.pem"]);
        assert_eq!(
            globs("{a,b{c,d}}.x"),
            ["./**/a.x", "./**/bc.x", "./**/bd.x"]
        );
        assert_eq!(globs("*.{rs}"), ["./**/*.rs"]);
        // Literal braces: unclosed, escaped, or inside a class.
        assert_eq!(globs("a{b"), ["./**/a{b"]);
        assert_eq!(globs(r"\{a,b\}"), [r"./**/\{a,b\}"]);
        assert_eq!(globs("[{]x{1,2}"), ["./**/[{]x1", "./**/[{]x2"]);
        // Exclusions narrow the search; alone they leave everything else.
        assert_eq!(globs("!*.lock *.pem"), ["./**/*.pem"]);
        assert_eq!(globs("!target/"), ["./**"]);
        assert_eq!(globs(" "), ["./**"]);
        // `type` is context, not resource.
        let i = input("Grep", json!({"pattern": "x", "type": "rust"}));
        assert_eq!(context(&i)["type"], "rust");
        assert_eq!(map_with(&i, &fake_fs).unwrap().targets.len(), 1);
    }

    #[test]
    fn expansion_is_bounded() {
        let many = "{a,b}".repeat(7);
        let e = map_with(
            &input("Grep", json!({"pattern": "x", "glob": many})),
            &fake_fs,
        );
        assert!(e.unwrap_err().contains("more than 64"));
        let e = map_with(
            &input("Glob", json!({"pattern": "{".repeat(5000)})),
            &fake_fs,
        );
        assert!(e.unwrap_err().contains("longer than 4 KiB"));
        let words = vec!["*.x"; 65].join(" ");
        let e = map_with(
            &input("Grep", json!({"pattern": "x", "glob": words})),
            &fake_fs,
        );
        assert!(e.unwrap_err().contains("more than 64"));
        // Deep nesting costs nothing: it is not recursion.
        let deep = format!("{}x{}", "{".repeat(2000), "}".repeat(2000));
        assert_eq!(
            map_with(&input("Glob", json!({"pattern": deep})), &fake_fs)
                .unwrap()
                .targets
                .len(),
            1
        );
    }

    #[test]
    fn the_absolute_spelling_is_kept() {
        let m = map_with(
            &input("Grep", json!({"pattern": "x", "glob": "*.pem"})),
            &fake_fs,
        )
        .unwrap();
        assert_eq!(
            m.targets,
            [Target {
                resource: "./**/*.pem".into(),
                absolute: Some("/home/dev/app/**/*.pem".into()),
            }]
        );
    }

    #[test]
    fn the_file_system_is_asked() {
        let dir = std::env::temp_dir().join(format!("meshguard-probe-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("f.txt");
        std::fs::write(&file, "x").unwrap();
        assert_eq!(probe(dir.to_str().unwrap()), PathKind::Directory);
        assert_eq!(probe(file.to_str().unwrap()), PathKind::File);
        assert_eq!(probe(dir.join("nope").to_str().unwrap()), PathKind::Unknown);
        assert_eq!(probe("~nobody-here/x"), PathKind::Unknown);
        std::fs::remove_dir_all(&dir).unwrap();
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
        let fails = |tool: &str, args: Value| map_with(&input(tool, args), &fake_fs).unwrap_err();
        assert!(fails("Bash", json!({})).contains("`tool_input.command`"));
        assert!(fails("Read", json!({"file_path": 3})).contains("is a string"));
        assert!(fails("", json!({})).contains("empty"));
        assert!(fails("Glob", json!({})).contains("`tool_input.pattern` is missing"));
        assert!(
            fails("Grep", json!({"pattern": "x", "glob": 1}))
                .contains("`tool_input.glob` of `Grep` is not a string")
        );
        assert!(fails("Grep", json!({"pattern": "x", "path": []})).contains("`tool_input.path`"));
    }
}
