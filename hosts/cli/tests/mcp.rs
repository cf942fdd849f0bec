//! `meshguard mcp-server`, driven as an MCP client drives it: JSON-RPC messages, one per
//! line, on the real binary's stdin and stdout.

#![allow(
    clippy::unwrap_used,
    reason = "test setup failing should fail the test loudly"
)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use common::{BIN, TempDir, p, repo_policies};
use serde_json::{Value, json};

struct Client {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    next_id: u64,
}

/// The test's web server listens on 127.0.0.1, a host no shipped policy admits (`*docs.*`
/// is a host pattern): one more policy allows fetching from it.
fn local_fetch_policy(root: &std::path::Path) -> std::path::PathBuf {
    let path = root.with_extension("local-fetch.yaml");
    std::fs::write(
        &path,
        "name: local-fetch\nappliesTo: {tags: [claude-code]}\nrules:\n  - effect: allow\n    \
         actions: [\"read:web_fetch\"]\n    conditions: {resource: {matches: \"127.0.0.1\"}}\n",
    )
    .unwrap();
    path
}

impl Client {
    /// The server, trusting `ca` for https:// fetches (`MESHGUARD_CA_FILE`).
    fn start(root: &std::path::Path, ca: &std::path::Path) -> Client {
        let policies = repo_policies();
        let mut child = Command::new(BIN)
            .env("MESHGUARD_CA_FILE", ca)
            .args(["mcp-server", "--root", p(root), "--exec-timeout", "5"])
            .args(["--policy", p(&policies.join("claude-code-file.yaml"))])
            .args(["--policy", p(&policies.join("claude-code-shell.yaml"))])
            .args(["--policy", p(&policies.join("claude-code-web.yaml"))])
            .args(["--policy", p(&local_fetch_policy(root))])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Client {
            child,
            stdin,
            stdout,
            next_id: 1,
        }
    }

    fn send(&mut self, message: &Value) {
        writeln!(self.stdin, "{message}").unwrap();
        self.stdin.flush().unwrap();
    }

    /// Sends a request and returns its response (skipping anything else the server says).
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let mut line = String::new();
            assert!(
                self.stdout.read_line(&mut line).unwrap() > 0,
                "server closed stdout"
            );
            let message: Value = serde_json::from_str(&line).unwrap();
            if message["id"] == id {
                assert!(message.get("error").is_none(), "{message}");
                return message["result"].clone();
            }
        }
    }

    /// Calls a tool: its text and whether it is an error.
    fn call(&mut self, tool: &str, arguments: Value) -> (String, bool) {
        let result = self.request("tools/call", json!({"name": tool, "arguments": arguments}));
        let text = result["content"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        (text, result["isError"] == true)
    }
}

/// Answers one HTTP request with a fixed body, on a thread; returns the port.
/// Answers one request with `body` (HTTP/1.0, the body ending at the close), over TLS
/// when `tls` is given.
fn http_server(
    body: &'static str,
    tls: Option<std::sync::Arc<meshguard_tls::rustls::ServerConfig>>,
) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let Ok((conn, _)) = listener.accept() else {
            return;
        };
        let answer = format!("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n{body}");
        let mut buf = [0u8; 1024];
        match tls {
            None => {
                let mut conn = conn;
                let _ = conn.read(&mut buf);
                let _ = conn.write_all(answer.as_bytes());
            }
            Some(tls) => {
                let server = meshguard_tls::rustls::ServerConnection::new(tls).unwrap();
                let mut conn = meshguard_tls::rustls::StreamOwned::new(server, conn);
                let _ = conn.read(&mut buf);
                let _ = conn.write_all(answer.as_bytes());
                conn.conn.send_close_notify();
                let _ = conn.flush();
            }
        }
    });
    port
}

#[test]
fn serves_governed_tools_over_stdio() {
    let root = TempDir::new("mcp-root");
    root.write("src/main.rs", "fn main() {}\n");
    root.write(".env", "SECRET=1\n");
    let outside = TempDir::new("mcp-outside");
    outside.write(".env", "OUTSIDE=1\n");
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        outside.path().join(".env"),
        root.path().join("src/notes.txt"),
    )
    .unwrap();

    let pki_dir = TempDir::new("mcp-pki");
    let pki = meshguard_tls::testing::Pki::create(pki_dir.path()).unwrap();
    let mut c = Client::start(root.path(), &pki.ca);
    let init = c.request(
        "initialize",
        json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "0"}}),
    );
    assert_eq!(init["serverInfo"]["name"], "meshguard");
    assert!(init["capabilities"]["tools"].is_object(), "{init}");
    c.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));

    let tools = c.request("tools/list", json!({}));
    let mut names: Vec<&str> = tools["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "audit_query",
            "governed_exec",
            "governed_read_file",
            "governed_web_fetch",
            "governed_write_file",
            "policy_test"
        ]
    );
    for t in tools["tools"].as_array().unwrap() {
        assert_eq!(t["inputSchema"]["type"], "object", "{t}");
    }

    // Files: allowed, denied, and a symbolic link that would escape.
    assert_eq!(
        c.call("governed_read_file", json!({"path": "src/main.rs"})),
        ("fn main() {}\n".to_owned(), false)
    );
    let (text, error) = c.call(
        "governed_read_file",
        json!({"path": p(&root.path().join(".env"))}),
    );
    assert!(
        error && text.contains("Access to credential files is prohibited"),
        "{text}"
    );
    #[cfg(unix)]
    {
        let (text, error) = c.call("governed_read_file", json!({"path": "src/notes.txt"}));
        assert!(error && text.contains("credential"), "{text}");
    }
    let (text, error) = c.call(
        "governed_write_file",
        json!({"path": "src/new.rs", "content": "// new\n"}),
    );
    assert!(!error, "{text}");
    assert_eq!(
        std::fs::read_to_string(root.path().join("src/new.rs")).unwrap(),
        "// new\n"
    );
    let (_, error) = c.call(
        "governed_write_file",
        json!({"path": "Makefile", "content": "x"}),
    );
    assert!(error);
    assert!(!root.path().join("Makefile").exists());

    // Shell: allowed runs, denied never runs.
    let (text, error) = c.call("governed_exec", json!({"command": "echo hello from mcp"}));
    assert!(
        !error && text.contains("exit status: 0") && text.contains("hello from mcp"),
        "{text}"
    );
    let (text, error) = c.call(
        "governed_exec",
        json!({"command": "curl http://127.0.0.1:9/"}),
    );
    assert!(
        error && text.contains("Network commands require explicit approval"),
        "{text}"
    );
    let (_, error) = c.call("governed_exec", json!({"command": "touch pwned"}));
    assert!(error);
    assert!(!root.path().join("pwned").exists());

    // Web: fetches a policy allows (host `127.0.0.1`) over HTTP and over TLS with the
    // test CA, a denied one, a certificate nobody vouches for.
    let port = http_server("hello docs", None);
    let (text, error) = c.call(
        "governed_web_fetch",
        json!({"url": format!("http://127.0.0.1:{port}/docs.txt")}),
    );
    assert!(
        !error && text.starts_with("HTTP/1.0 200 OK") && text.ends_with("hello docs"),
        "{text}"
    );
    let tls = meshguard_tls::server_config(&pki.cert, &pki.key).unwrap();
    let port = http_server("hello over tls", Some(tls));
    let (text, error) = c.call(
        "governed_web_fetch",
        json!({"url": format!("https://127.0.0.1:{port}/docs.txt")}),
    );
    assert!(
        !error && text.starts_with("HTTP/1.0 200 OK") && text.ends_with("hello over tls"),
        "{text}"
    );
    let other_dir = TempDir::new("mcp-pki-other");
    let other = meshguard_tls::testing::Pki::create(other_dir.path()).unwrap();
    let port = http_server(
        "never read",
        Some(meshguard_tls::server_config(&other.cert, &other.key).unwrap()),
    );
    let (text, error) = c.call(
        "governed_web_fetch",
        json!({"url": format!("https://127.0.0.1:{port}/")}),
    );
    assert!(error && text.contains("cannot fetch"), "{text}");
    assert!(!text.contains("never read"), "{text}");
    let (text, error) = c.call(
        "governed_web_fetch",
        json!({"url": "https://twitter.com/someone"}),
    );
    assert!(error && text.contains("Social media"), "{text}");

    // The log holds every governed call; policy_test decides without acting or logging.
    let (text, _) = c.call("audit_query", json!({}));
    let all: Value = serde_json::from_str(&text).unwrap();
    let total = all["total"].as_u64().unwrap();
    assert!(total >= 11, "{all}");
    let (text, _) = c.call(
        "policy_test",
        json!({"action": "read:file", "resource": "./.env"}),
    );
    let decision: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(decision["effect"], "deny");
    assert_eq!(decision["rule"], "claude-code-file-policy#3");
    let (text, _) = c.call(
        "audit_query",
        json!({"filters": {"effect": "deny", "tool": "governed_exec"}}),
    );
    let denied: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(denied["total"], 2, "{denied}");
    assert!(
        denied["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["allowed"] == false)
    );
    let (text, _) = c.call(
        "audit_query",
        json!({"filters": {"action": "read:*", "limit": 1}}),
    );
    let reads: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(reads["entries"].as_array().unwrap().len(), 1);
    assert_eq!(
        all["total"],
        serde_json::from_str::<Value>(&c.call("audit_query", json!({})).0).unwrap()["total"]
    );

    drop(c.stdin);
    assert_eq!(c.child.wait().unwrap().code(), Some(0));
}

#[test]
fn bad_policies_or_root_exit_2_before_serving() {
    let out = Command::new(BIN)
        .args(["mcp-server", "--policy", "/nonexistent.yaml"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let policies = repo_policies();
    let out = Command::new(BIN)
        .args([
            "mcp-server",
            "--policy",
            p(&policies),
            "--root",
            "/nonexistent-root",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
}
