//! The governed tools: each call is decided with the core, recorded, and only then
//! carried out, and only when the decision allows it. A call that is not allowed (deny,
//! or require_approval: there is no person to ask here) returns a tool error
//! (`isError: true`) whose text is the reason, so the model can tell the user why.
//!
//! | tool | action | resource |
//! |---|---|---|
//! | `governed_read_file(path)` | `read:file` | the path (`./…` under `--root`) |
//! | `governed_write_file(path, content)` | `write:file` | the path |
//! | `governed_exec(command)` | `execute:shell` | the command |
//! | `governed_web_fetch(url)` | `read:web_fetch` | the URL |
//! | `audit_query(filters)` | — | reads this server's decision log |
//! | `policy_test(action, resource)` | — | the decision JSON, nothing done or logged |
//!
//! Paths are decided as written (after `.`/`..` are resolved) and, when a symbolic link
//! makes the real file a different one, as resolved too: both must be allowed, so a link
//! inside the workspace cannot reach `/etc/passwd`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use meshguard_core::{Agent, Decision, PolicySet, Request};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, Implementation, ServerCapabilities, ServerConfig};
use rmcp::{ErrorData, ServerHandler, schemars, tool, tool_handler, tool_router};
use serde::Deserialize;
use serde_json::json;

use super::log::{DecisionLog, Filters};
use super::ops;
use crate::{clock, paths};

/// The server's state, shared by every call.
#[derive(Debug, Clone)]
pub struct Governor {
    set: Arc<PolicySet>,
    /// The workspace root: absolute, canonical, UTF-8.
    root: Arc<str>,
    agent: Option<Agent>,
    exec_timeout: Duration,
    log: Arc<DecisionLog>,
    tool_router: ToolRouter<Self>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct PathParam {
    /// The file: absolute, or relative to the workspace root.
    path: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct WriteParam {
    /// The file: absolute, or relative to the workspace root. Its directory must exist.
    path: String,
    /// The new content (UTF-8 text).
    content: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct ExecParam {
    /// A shell command, run with `sh -c` in the workspace root.
    command: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct FetchParam {
    /// The URL (http:// or https://).
    url: String,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
struct AuditParam {
    /// Filters on the log; omit for the newest 50 entries.
    #[serde(default)]
    filters: Option<Filters>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct TestParam {
    /// The action, such as `write:file`.
    action: String,
    /// The resource, as policies see it (`./src/main.rs`, a URL, a command).
    #[serde(default)]
    resource: Option<String>,
    /// Add the rule-by-rule explanation.
    #[serde(default)]
    explain: bool,
}

type Answer = Result<CallToolResult, ErrorData>;

fn text(s: impl Into<String>) -> Vec<ContentBlock> {
    vec![ContentBlock::text(s.into())]
}

fn failed(s: impl Into<String>) -> Answer {
    Ok(CallToolResult::error(text(s)))
}

impl Governor {
    /// A server deciding with `set` for `agent`, with paths under `root`.
    pub fn new(set: PolicySet, root: String, agent: Option<Agent>, exec_timeout: Duration) -> Self {
        Governor {
            set: Arc::new(set),
            root: Arc::from(root),
            agent,
            exec_timeout,
            log: Arc::new(DecisionLog::default()),
            tool_router: Self::tool_router(),
        }
    }

    /// Decides `action` on `resource` for a call of `tool`, and records it.
    fn decide(&self, tool: &str, action: &str, resource: &str, absolute: Option<&str>) -> Decision {
        let time = clock::now_rfc3339();
        let request = Request {
            action: action.to_owned(),
            resource: Some(resource.to_owned()),
            context: Some(json!({ "tool": tool, "via": "mcp", "cwd": &*self.root })),
            agent: self.agent.clone(),
            time: Some(time.clone()),
            mode: None,
        };
        let mut decision = self.set.decide(&request, false);
        if let Some(abs) = absolute.filter(|a| *a != resource) {
            let spelled = Request {
                resource: Some(abs.to_owned()),
                ..request
            };
            decision = paths::stricter(decision, self.set.decide(&spelled, false));
        }
        self.log.record(tool, time, &decision);
        decision
    }

    /// Decides a file action on `path`, following symbolic links too. `Ok` holds the
    /// path to open; `Err` the tool error to return.
    fn decide_path(&self, tool: &str, action: &str, path: &str) -> Result<PathBuf, Answer> {
        if path.starts_with('~') {
            return Err(failed(
                "`~` is not expanded; give an absolute path or one relative to the workspace",
            ));
        }
        let relative = paths::workspace_relative(path, &self.root);
        let absolute = paths::absolute(path, &self.root);
        let d = self.decide(tool, action, &relative, Some(&absolute));
        if !d.allowed {
            return Err(refused(&d));
        }
        if let Some(real) = real_path(&absolute).filter(|r| *r != absolute) {
            let d = self.decide(
                tool,
                action,
                &paths::workspace_relative(&real, &self.root),
                Some(&real),
            );
            if !d.allowed {
                return Err(refused(&d));
            }
        }
        Ok(PathBuf::from(absolute))
    }
}

/// The file a path really names once symbolic links are resolved (for a file that does
/// not exist yet, its directory resolved); `None` when nothing can be resolved.
fn real_path(absolute: &str) -> Option<String> {
    let path = std::path::Path::new(absolute);
    if let Ok(real) = std::fs::canonicalize(path) {
        return real.to_str().map(str::to_owned);
    }
    let dir = std::fs::canonicalize(path.parent()?).ok()?;
    dir.join(path.file_name()?).to_str().map(str::to_owned)
}

/// The tool error for a decision that does not allow the call.
fn refused(d: &Decision) -> Answer {
    let what = match d.effect {
        meshguard_core::Effect::RequireApproval => "needs a person's approval",
        _ => "is denied",
    };
    failed(format!(
        "MeshGuard: `{}` {what}: {} (policy `{}`, rule `{}`)",
        d.action, d.reason, d.policy, d.rule
    ))
}

#[tool_router]
impl Governor {
    #[tool(
        description = "Read a UTF-8 text file (at most 1 MiB) if MeshGuard policy allows `read:file` on it."
    )]
    async fn governed_read_file(&self, Parameters(p): Parameters<PathParam>) -> Answer {
        let path = match self.decide_path("governed_read_file", "read:file", &p.path) {
            Ok(path) => path,
            Err(answer) => return answer,
        };
        match ops::read_file(&path) {
            Ok(content) => Ok(CallToolResult::success(text(content))),
            Err(e) => failed(e),
        }
    }

    #[tool(description = "Write a text file if MeshGuard policy allows `write:file` on it.")]
    async fn governed_write_file(&self, Parameters(p): Parameters<WriteParam>) -> Answer {
        let path = match self.decide_path("governed_write_file", "write:file", &p.path) {
            Ok(path) => path,
            Err(answer) => return answer,
        };
        match ops::write_file(&path, &p.content) {
            Ok(n) => Ok(CallToolResult::success(text(format!(
                "wrote {n} bytes to {}",
                path.display()
            )))),
            Err(e) => failed(e),
        }
    }

    #[tool(
        description = "Run a shell command (sh -c, in the workspace, with a timeout) if MeshGuard policy allows `execute:shell` on it."
    )]
    async fn governed_exec(&self, Parameters(p): Parameters<ExecParam>) -> Answer {
        let d = self.decide("governed_exec", "execute:shell", &p.command, None);
        if !d.allowed {
            return refused(&d);
        }
        let ran = match ops::exec(
            &p.command,
            std::path::Path::new(&*self.root),
            self.exec_timeout,
        )
        .await
        {
            Ok(ran) => ran,
            Err(e) => return failed(e),
        };
        let status = ran
            .code
            .map_or("killed by a signal".to_owned(), |c| c.to_string());
        let report = format!(
            "exit status: {status}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            ran.stdout, ran.stderr
        );
        Ok(if ran.code == Some(0) {
            CallToolResult::success(text(report))
        } else {
            CallToolResult::error(text(report))
        })
    }

    #[tool(
        description = "Fetch an http:// or https:// URL if MeshGuard policy allows `read:web_fetch` on it."
    )]
    async fn governed_web_fetch(&self, Parameters(p): Parameters<FetchParam>) -> Answer {
        let url = meshguard_core::canonicalize(&p.url).into_owned();
        let d = self.decide("governed_web_fetch", "read:web_fetch", &p.url, Some(&url));
        if !d.allowed {
            return refused(&d);
        }
        match tokio::task::spawn_blocking(move || ops::fetch(&url)).await {
            Ok(Ok(body)) => Ok(CallToolResult::success(text(body))),
            Ok(Err(e)) => failed(e),
            Err(e) => failed(format!("the fetch failed: {e}")),
        }
    }

    #[tool(description = "Query this server's log of governed calls (newest last).")]
    async fn audit_query(&self, Parameters(p): Parameters<AuditParam>) -> Answer {
        match self.log.query(&p.filters.unwrap_or_default()) {
            Ok((entries, total)) => Ok(CallToolResult::success(text(
                json!({ "total": total, "entries": entries }).to_string(),
            ))),
            Err(e) => failed(e),
        }
    }

    #[tool(
        description = "Decide an action on a resource without doing anything: the decision JSON."
    )]
    async fn policy_test(&self, Parameters(p): Parameters<TestParam>) -> Answer {
        let request = Request {
            action: p.action,
            resource: p.resource,
            agent: self.agent.clone(),
            time: Some(clock::now_rfc3339()),
            ..Request::default()
        };
        let decision = self.set.decide(&request, p.explain);
        match serde_json::to_string(&decision) {
            Ok(json) => Ok(CallToolResult::success(text(json))),
            Err(e) => failed(e.to_string()),
        }
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Governor {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("meshguard", meshguard_core::VERSION))
            .with_instructions(
                "Governed tools: every call is checked against MeshGuard policies first. \
                 A refused call returns an error with the reason; do not retry it, tell the user.",
            )
    }
}
