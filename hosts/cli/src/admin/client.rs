//! The admin API client: where the gateway is, the admin token, one request at a time,
//! and every failure turned into one line that names the problem (and its exit code).
//!
//! The gateway's URL comes from `--gateway-url`, else `MESHGUARD_GATEWAY_URL`, else
//! `http://127.0.0.1:3100`; an `https://` URL is verified against the platform's roots
//! plus `--ca-file` / `MESHGUARD_CA_FILE` ([`crate::net`]).
//! The admin token comes from `--admin-token`, else `MESHGUARD_ADMIN_TOKEN`, else — for a
//! gateway on this machine only — the `admin-token` file a gateway started without
//! `ADMIN_TOKEN` writes into its data directory (`DATA_DIR`, else the directory of
//! `DB_PATH`, else the current directory: the same variables the gateway reads).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use meshguard_core::Decision;
use serde_json::Value;

use super::Problem;
use crate::render::clean;
use crate::{EXIT_BAD_INPUT, EXIT_FAILED};

/// Where the gateway listens when nothing says otherwise (the gateway's own default).
pub const DEFAULT_URL: &str = "http://127.0.0.1:3100";

/// Largest JSON answer read (an audit page of 10,000 entries is a few MiB).
const MAX_ANSWER: u64 = 256 * 1024 * 1024;

/// The flags every admin command takes (before or after the subcommand's name).
#[derive(Debug, Clone, clap::Args)]
pub struct Conn {
    /// The gateway's base URL (http:// or https://). Default: $MESHGUARD_GATEWAY_URL,
    /// else http://127.0.0.1:3100.
    #[arg(long = "gateway-url", value_name = "URL", global = true)]
    gateway_url: Option<String>,

    /// A PEM file of CA certificates trusted for an https:// gateway, besides the
    /// system's. Default: $MESHGUARD_CA_FILE.
    #[arg(long = "ca-file", value_name = "PEM", global = true)]
    ca_file: Option<PathBuf>,

    /// The admin token (sent as X-Admin-Token). Default: $MESHGUARD_ADMIN_TOKEN, else the
    /// `admin-token` file a local gateway wrote ($DATA_DIR, the directory of $DB_PATH, or
    /// the current directory).
    #[arg(long = "admin-token", value_name = "TOKEN", global = true)]
    admin_token: Option<String>,
}

/// A request body.
#[derive(Debug)]
pub enum Body {
    /// Nothing.
    Empty,
    /// A JSON document.
    Json(Value),
}

/// An answer: its status and its JSON body (`Value::Null` when the body is empty).
#[derive(Debug)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The body, parsed.
    pub body: Value,
}

/// The gateway's admin API.
#[derive(Debug)]
pub struct Client {
    base: String,
    token: String,
    http: ureq::Agent,
    /// `--json`: error answers are printed on stdout as they came, for scripts.
    json: bool,
}

/// A setting from the command line, else a non-empty environment variable.
fn setting(flag: Option<&str>, var: &str) -> Option<String> {
    match flag {
        Some(v) => Some(v.to_owned()),
        None => std::env::var(var).ok().filter(|v| !v.trim().is_empty()),
    }
}

/// Whether the URL's host is this machine (only then is a local token file offered).
fn is_loopback(base: &str) -> bool {
    let rest = base.split_once("://").map_or(base, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or("");
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Where a gateway started without `ADMIN_TOKEN` wrote the token it generated.
fn token_file() -> PathBuf {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let dir = if let Some(d) = var("DATA_DIR") {
        PathBuf::from(d)
    } else if let Some(db) = var("DB_PATH").filter(|d| d != ":memory:") {
        PathBuf::from(db)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), PathBuf::from)
    } else {
        PathBuf::from(".")
    };
    dir.join("admin-token")
}

/// Percent-encodes everything but RFC 3986's unreserved characters: path segments
/// (agent ids, policy names) and query values are never read as syntax.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A path with a query string (`None` values are left out).
pub fn with_query(path: &str, query: &[(&str, Option<String>)]) -> String {
    let mut out = path.to_owned();
    let mut sep = '?';
    for (key, value) in query {
        if let Some(v) = value {
            out.push(sep);
            out.push_str(key);
            out.push('=');
            out.push_str(&encode(v));
            sep = '&';
        }
    }
    out
}

impl Client {
    /// The client the flags and environment describe: exit 2 when the URL is unusable
    /// or no admin token can be found.
    pub fn new(conn: &Conn, json: bool) -> Result<Client> {
        let raw = setting(conn.gateway_url.as_deref(), "MESHGUARD_GATEWAY_URL")
            .unwrap_or_else(|| DEFAULT_URL.to_owned());
        let base = crate::net::base_url(&raw).map_err(|m| Problem::new(EXIT_BAD_INPUT, m))?;
        let token = match setting(conn.admin_token.as_deref(), "MESHGUARD_ADMIN_TOKEN") {
            Some(t) => t.trim().to_owned(),
            None => {
                let file = token_file();
                let from_file = is_loopback(&base)
                    .then(|| std::fs::read_to_string(&file).ok())
                    .flatten()
                    .map(|t| t.trim().to_owned())
                    .filter(|t| !t.is_empty());
                from_file.ok_or_else(|| {
                    Problem::new(
                        EXIT_BAD_INPUT,
                        format!(
                            "no admin token: set MESHGUARD_ADMIN_TOKEN or pass --admin-token \
                             (for a gateway on this machine, its `{}` file works too)",
                            file.display()
                        ),
                    )
                })?
            }
        };
        let ca_file = crate::net::ca_file(conn.ca_file.as_deref());
        let http = crate::net::agent(
            &base,
            ca_file.as_deref(),
            Duration::from_secs(10),
            Duration::from_secs(120),
        )
        .map_err(|e| Problem::new(EXIT_BAD_INPUT, format!("{e:#}")))?;
        Ok(Client {
            base,
            token,
            http,
            json,
        })
    }

    /// Sends one request and returns the answer whatever its status; only a gateway that
    /// cannot be reached (or answers something that is not JSON) is an error.
    pub fn send(&self, method: &str, path: &str, body: Body) -> Result<Reply> {
        let mut resp = self.call(method, path, body)?;
        let status = resp.status().as_u16();
        let text = resp
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER)
            .read_to_string()
            .map_err(|e| self.unreachable(&e))?;
        let body = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).map_err(|_| {
                let mut start: String = text.trim().chars().take(80).collect();
                if text.trim().chars().count() > 80 {
                    start.push('…');
                }
                Problem::new(
                    EXIT_FAILED,
                    format!(
                        "{} answered {method} {path} with {status} and a body that is not \
                         JSON (is this a MeshGuard gateway?): {}",
                        self.base,
                        clean(&start)
                    ),
                )
            })?
        };
        Ok(Reply { status, body })
    }

    /// A request whose answer must be a success; anything else is a [`Problem`].
    pub fn expect(&self, method: &str, path: &str, body: Body) -> Result<Value> {
        let reply = self.send(method, path, body)?;
        if (200..300).contains(&reply.status) {
            Ok(reply.body)
        } else {
            Err(self.failure(&reply))
        }
    }

    /// A request whose answer must be a success of type `T`: the answer as it came (for
    /// `--json`) and read as `T`. An answer that is not a `T` is a [`Problem`] naming
    /// the field (a gateway of another version, or not a MeshGuard gateway).
    pub fn expect_as<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Body,
    ) -> Result<(Value, T)> {
        let value = self.expect(method, path, body)?;
        let typed = serde_json::from_value(value.clone()).map_err(|e| {
            Problem::new(
                EXIT_FAILED,
                format!(
                    "{} answered {method} {path} with JSON this CLI does not read: {e}",
                    self.base
                ),
            )
        })?;
        Ok((value, typed))
    }

    /// `POST /admin/policies/test` (a dry run: nothing acted on, audited or counted): the
    /// gateway's answer as it came, and the decision in it.
    pub fn test_request(&self, body: Value) -> Result<(Value, Decision)> {
        let answer = self.expect("POST", "/admin/policies/test", Body::Json(body))?;
        let decision = serde_json::from_value(answer.clone()).map_err(|e| {
            Problem::new(
                EXIT_FAILED,
                format!("the gateway's decision is not in the expected shape: {e}"),
            )
        })?;
        Ok((answer, decision))
    }

    /// `GET path`, copying a successful body to `out` as it arrives (exports of any size).
    pub fn stream(&self, path: &str, out: &mut dyn Write) -> Result<()> {
        let mut resp = self.call("GET", path, Body::Empty)?;
        let status = resp.status().as_u16();
        if !(200..300).contains(&status) {
            let text = resp
                .body_mut()
                .with_config()
                .limit(MAX_ANSWER)
                .read_to_string()
                .unwrap_or_default();
            let body = serde_json::from_str(&text).unwrap_or(Value::Null);
            return Err(self.failure(&Reply { status, body }));
        }
        let mut reader = resp.body_mut().as_reader();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(Problem::new(
                        EXIT_FAILED,
                        format!("the gateway at {} broke off the answer: {e}", self.base),
                    )
                    .into());
                }
            };
            out.write_all(buf.get(..n).unwrap_or_default())
                .context("writing to stdout")?;
        }
        out.flush().context("writing to stdout")
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        body: Body,
    ) -> Result<ureq::http::Response<ureq::Body>> {
        let url = format!("{}{path}", self.base);
        let builder = ureq::http::Request::builder()
            .method(method)
            .uri(&url)
            .header("X-Admin-Token", &self.token)
            .header("Accept", "application/json");
        let request = match body {
            Body::Empty => builder.body(Vec::new()),
            Body::Json(v) => builder
                .header("Content-Type", "application/json")
                .body(serde_json::to_vec(&v).context("serialising the request")?),
        };
        let request = request.map_err(|e| {
            Problem::new(
                EXIT_BAD_INPUT,
                format!("cannot build a request for {}: {e}", clean(&url)),
            )
        })?;
        self.http.run(request).map_err(|e| self.unreachable(&e))
    }

    /// The one line for a transport failure.
    fn unreachable(&self, e: &ureq::Error) -> anyhow::Error {
        let why = match e {
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                "connection refused (is it running? `meshguard serve` starts one)".to_owned()
            }
            ureq::Error::Io(io) => io.to_string(),
            ureq::Error::HostNotFound => "host not found".to_owned(),
            ureq::Error::Timeout(t) => format!("timed out ({t})"),
            other => other.to_string(),
        };
        Problem::new(
            EXIT_FAILED,
            format!("cannot reach the gateway at {}: {why}", self.base),
        )
        .into()
    }

    /// The one line for an error answer (and, with `--json`, the answer on stdout).
    pub fn failure(&self, reply: &Reply) -> anyhow::Error {
        if self.json && !reply.body.is_null() {
            let _ = writeln!(std::io::stdout().lock(), "{}", reply.body);
        }
        let said = reply
            .body
            .get("message")
            .and_then(Value::as_str)
            .map(clean)
            .unwrap_or_default();
        let (code, message) = match reply.status {
            401 => (
                EXIT_FAILED,
                format!(
                    "the gateway refused the admin token (401 from {}); check \
                     MESHGUARD_ADMIN_TOKEN or --admin-token",
                    self.base
                ),
            ),
            400 | 413 | 422 => (
                EXIT_BAD_INPUT,
                format!("the gateway refused the request: {said}"),
            ),
            404 if said.starts_with("no route") => (
                EXIT_FAILED,
                format!(
                    "{} has no such endpoint ({said}); is it a MeshGuard gateway of this version?",
                    self.base
                ),
            ),
            404 => (EXIT_FAILED, format!("not found: {said}")),
            409 => (EXIT_FAILED, format!("conflict: {said}")),
            status => (
                EXIT_FAILED,
                format!(
                    "the gateway answered {status}{}",
                    if said.is_empty() {
                        String::new()
                    } else {
                        format!(": {said}")
                    }
                ),
            ),
        };
        Problem::new(code, message).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        use crate::net::base_url;
        assert_eq!(
            base_url("http://127.0.0.1:3100/").unwrap(),
            "http://127.0.0.1:3100"
        );
        assert_eq!(base_url("localhost:8080").unwrap(), "http://localhost:8080");
        assert_eq!(base_url("http://gw/api").unwrap(), "http://gw/api");
        assert_eq!(base_url("https://gw/").unwrap(), "https://gw");
        assert!(is_loopback("https://127.0.0.1:3100"));
        assert!(!is_loopback("https://gw.example"));
        assert!(base_url("ftp://gw").is_err());
        assert!(base_url("http://").is_err());
    }

    #[test]
    fn loopback_hosts() {
        assert!(is_loopback("http://127.0.0.1:3100"));
        assert!(is_loopback("http://localhost"));
        assert!(is_loopback("http://[::1]:3100/x"));
        assert!(!is_loopback("http://gateway.internal:3100"));
        assert!(!is_loopback("http://10.0.0.1"));
    }

    #[test]
    fn encoding() {
        assert_eq!(encode("a b/c?d"), "a%20b%2Fc%3Fd");
        assert_eq!(encode("write:email"), "write%3Aemail");
        assert_eq!(
            with_query(
                "/admin/audit",
                &[
                    ("limit", Some("5".into())),
                    ("agent", None),
                    ("action", Some("read:*".into()))
                ]
            ),
            "/admin/audit?limit=5&action=read%3A%2A"
        );
    }
}
