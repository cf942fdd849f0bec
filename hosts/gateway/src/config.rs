//! Configuration: command-line flags, each also read from the environment variable the
//! product docs use (`PORT`, `MODE`, `ADMIN_TOKEN`, …), with defaults that start the
//! gateway on the repository's example policies with no set-up at all.
//!
//! A flag beats its environment variable, which beats the default. Values are checked
//! here, once, so the rest of the gateway never meets a malformed setting.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Result, bail};
use axum::http::{self, HeaderName, HeaderValue};
use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser, ValueEnum};
use meshguard_core::{Effect, Mode};

/// Every setting, as clap reads it.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "meshguard-gateway",
    version,
    about = "The MeshGuard gateway: policy decisions, audit log and admin API over HTTP",
    long_about = "The MeshGuard gateway: agents ask `GET /proxy/check` (or `POST /v1/check`) \
                  before they act; YAML policies answer allow, deny or require_approval; every \
                  decision is written to the audit log.\n\nEvery flag can also be set with the \
                  environment variable shown; a flag wins over its variable."
)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, env = "HOST", default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Port to listen on (0 picks a free port; the bound address is printed).
    #[arg(long, env = "PORT", default_value_t = 3100)]
    pub port: u16,
    /// `enforce` (deny means deny) or `audit` (decide and record, but let the caller go).
    #[arg(long, env = "MODE", value_enum, default_value_t = ModeArg::Enforce)]
    pub mode: ModeArg,
    /// The admin API token (`X-Admin-Token`). When unset, one is generated at start,
    /// printed once to stderr and written to `<data dir>/admin-token` (mode 0600).
    #[arg(long, env = "ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Directory of policy files (`*.yaml`, `*.yml`, `*.json`), loaded in file-name order
    /// and reloaded when they change.
    #[arg(long, env = "POLICIES_DIR", default_value = "policies")]
    pub policies_dir: PathBuf,
    /// The SQLite database (agents, audit log, approvals). `:memory:` keeps it in a
    /// temporary file removed at exit.
    #[arg(long, env = "DB_PATH", default_value = "meshguard.db")]
    pub db_path: String,
    /// A PostgreSQL database shared by several replicas (`postgres://user:pass@host/db`),
    /// instead of the SQLite file: agents, audit log, approvals, policies and rate limits
    /// are then one gateway's, whichever replica answers.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Where the generated admin token is written (default: the database's directory).
    #[arg(long, env = "DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Upstream base URL for `ANY /proxy/*` (`http://` or `https://`).
    #[arg(long, env = "PROXY_TARGET")]
    pub proxy_target: Option<String>,
    /// Upstream request timeout, in seconds.
    #[arg(long, env = "PROXY_TIMEOUT_SECS", default_value_t = 30)]
    pub proxy_timeout_secs: u64,
    /// Where alerts are POSTed (`http://` or `https://`).
    #[arg(long, env = "ALERT_WEBHOOK_URL")]
    pub alert_webhook_url: Option<String>,
    /// HMAC-SHA256 key for `X-MeshGuard-Signature`.
    #[arg(long, env = "ALERT_WEBHOOK_SECRET", hide_env_values = true)]
    pub alert_webhook_secret: Option<String>,
    /// Events that raise an alert, comma separated: deny, escalation (a require_approval
    /// decision; `require_approval` is accepted), rate_limit, error, and anomaly (both of
    /// the last two).
    #[arg(
        long,
        env = "ALERT_EVENTS",
        default_value = "deny,escalation,rate_limit,error"
    )]
    pub alert_events: String,
    /// Extra headers sent with every alert, as a JSON object
    /// (`{"X-Custom-Header": "value"}`, the docs' webhook `headers`).
    #[arg(long, env = "ALERT_WEBHOOK_HEADERS")]
    pub alert_webhook_headers: Option<String>,
    /// Delivery attempts per alert (the first try included).
    #[arg(long, env = "ALERT_WEBHOOK_ATTEMPTS", default_value_t = 5)]
    pub alert_webhook_attempts: u32,
    /// Wait before the first retry, in milliseconds; doubles per retry (capped at 60 s).
    #[arg(long, env = "ALERT_WEBHOOK_BACKOFF_MS", default_value_t = 500)]
    pub alert_webhook_backoff_ms: u64,
    /// Alerts waiting for delivery; when full, new alerts are dropped and counted.
    #[arg(long, env = "ALERT_QUEUE", default_value_t = 1024)]
    pub alert_queue: usize,
    /// The answer when no policy applies to a request.
    #[arg(long, env = "FALLBACK", value_enum, default_value_t = FallbackArg::Deny)]
    pub fallback: FallbackArg,
    /// Keep audit entries this many days (0 = forever). A policy's
    /// `audit.retention_days` overrides it for the entries that policy decided.
    #[arg(long, env = "RETENTION_DAYS", default_value_t = 90)]
    pub retention_days: u32,
    /// Largest request body accepted, in bytes (`POST /v1/check`, admin bodies, proxied
    /// bodies).
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 1 << 20)]
    pub max_body_bytes: usize,
    /// Audit entries that may wait for the writer; when full, callers wait (never drop).
    #[arg(long, env = "AUDIT_QUEUE", default_value_t = 65_536)]
    pub audit_queue: usize,
    /// How often the policy directory is checked for changes, in milliseconds.
    #[arg(long, env = "RELOAD_INTERVAL_MS", default_value_t = 1000)]
    pub reload_interval_ms: u64,
    /// How long an approved approval may be used (once), in seconds.
    #[arg(long, env = "APPROVAL_TTL_SECS", default_value_t = 3600)]
    pub approval_ttl_secs: u64,
    /// Warm evaluator instances kept per policy set.
    #[arg(long, env = "EVALUATOR_POOL", default_value_t = 16)]
    pub evaluator_pool: usize,
    /// Longest one decision may run in the component, in milliseconds; past it the call
    /// is interrupted and the request denied (500, fail closed).
    #[arg(long, env = "DECIDE_DEADLINE_MS", default_value_t = 100)]
    pub decide_deadline_ms: u64,
    /// How long a client has to send a request's headers, in seconds, counted from the
    /// connection's accept or from the previous answer on a kept-alive connection (so it
    /// is also the idle keep-alive timeout). Past it the connection is closed.
    #[arg(long, env = "HEADER_TIMEOUT_SECS", default_value_t = 10)]
    pub header_timeout_secs: u64,
    /// How long a client has to send a request's body once its headers arrived, in
    /// seconds; past it the request is answered 408 (a decision request is denied and
    /// audited).
    #[arg(long, env = "BODY_TIMEOUT_SECS", default_value_t = 10)]
    pub body_timeout_secs: u64,
    /// Connections served at once; one more is answered 503 and closed.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 512)]
    pub max_connections: usize,
    /// Serve `GET /metrics` (`false` answers it 404, for deployments that must not
    /// expose counters).
    #[arg(long, env = "METRICS_ENABLED", default_value_t = true, action = clap::ArgAction::Set)]
    pub metrics_enabled: bool,
    /// Origins browsers may call the API from (CORS), comma separated, or `*` for any;
    /// none by default (browsers then refuse cross-origin calls).
    #[arg(long, env = "CORS_ORIGIN")]
    pub cors_origin: Option<String>,
    /// One more header a caller's trace id is read from (after `X-MeshGuard-Trace-ID`,
    /// before `X-Trace-ID`), e.g. `X-Request-ID` or `traceparent`.
    #[arg(long, env = "TRACE_HEADER")]
    pub trace_header: Option<String>,
    /// The Ed25519 key (PKCS#8 PEM) policy bundles are signed with; default: generated
    /// once into `<data dir>/bundle-signing-key.pem`. Replicas must share one.
    #[arg(long, env = "BUNDLE_SIGNING_KEY_FILE")]
    pub bundle_signing_key_file: Option<PathBuf>,
    /// Serve HTTPS with this PEM certificate chain (leaf first); needs `TLS_KEY_FILE`.
    #[arg(long, env = "TLS_CERT_FILE", requires = "tls_key_file")]
    pub tls_cert_file: Option<PathBuf>,
    /// The PEM private key of `TLS_CERT_FILE`.
    #[arg(long, env = "TLS_KEY_FILE", requires = "tls_cert_file")]
    pub tls_key_file: Option<PathBuf>,
    /// A PEM file of CA certificates trusted for `https://` webhooks and upstreams, in
    /// addition to the platform's (for a private PKI).
    #[arg(long, env = "TLS_CA_FILE")]
    pub tls_ca_file: Option<PathBuf>,
    /// Log filter (`info`, `debug`, `meshguard_gateway=debug,warn`, …).
    #[arg(long, env = "LOG", default_value = "info")]
    pub log: String,
}

/// The product docs' names for settings this gateway reads under another name: (the
/// docs' variable, ours, the flag's id). Read only when neither our flag nor our variable
/// is set.
const ALIASES: &[(&str, &str, &str)] = &[
    ("AUDIT_RETENTION_DAYS", "RETENTION_DAYS", "retention_days"),
    ("LOG_LEVEL", "LOG", "log"),
];

impl Args {
    /// Reads flags and environment (exiting with clap's message on bad usage, as
    /// `Args::parse` does), then the docs' aliases; also returns what to warn about:
    /// aliases used, documented settings not supported, `MESHGUARD_*` variables the
    /// gateway does not read.
    pub fn from_env() -> (Args, Vec<String>) {
        let matches = Args::command().get_matches();
        let mut args = Args::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
        let vars: Vec<(String, String)> = std::env::vars().collect();
        let warnings = args.apply_env(&vars, |id| matches.value_source(id));
        (args, warnings)
    }

    /// The aliases and warnings of [`Args::from_env`] over `vars`; `source` says where a
    /// flag's value came from.
    fn apply_env(
        &mut self,
        vars: &[(String, String)],
        source: impl Fn(&str) -> Option<ValueSource>,
    ) -> Vec<String> {
        let var = |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let mut warnings = Vec::new();
        for (alias, ours, id) in ALIASES {
            let Some(value) = var(alias) else { continue };
            if source(id) != Some(ValueSource::DefaultValue) {
                warnings.push(format!("{alias} is ignored: {ours} (or its flag) is set"));
                continue;
            }
            match *id {
                "retention_days" => match value.trim().parse() {
                    Ok(days) => self.retention_days = days,
                    Err(_) => {
                        warnings.push(format!(
                            "{alias}=`{value}` is not a number of days; ignored"
                        ));
                        continue;
                    }
                },
                _ => self.log = value,
            }
            warnings.push(format!(
                "{alias} read as {ours} (the name this gateway documents)"
            ));
        }
        let known: Vec<String> = Args::command()
            .get_arguments()
            .filter_map(|a| a.get_env())
            .map(|e| e.to_string_lossy().into_owned())
            .collect();
        for (name, _) in vars {
            if name.starts_with("MESHGUARD_") && !known.iter().any(|k| k == name) {
                warnings.push(format!(
                    "{name} is set but the gateway does not read it (see `meshguard-gateway --help`)"
                ));
            }
        }
        warnings
    }
}

/// `--mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// Deny means deny.
    Enforce,
    /// Decide and record, but let the caller go.
    Audit,
}

/// `--fallback`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FallbackArg {
    /// Allow requests no policy applies to.
    Allow,
    /// Deny them (fail closed).
    Deny,
}

/// Alert events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertEvent {
    /// A deny (including invalid requests).
    Deny,
    /// A rate-limited request.
    RateLimit,
    /// The evaluator failed (a trap, a deadline).
    Error,
    /// A require_approval decision.
    RequireApproval,
}

impl AlertEvent {
    /// The name in `ALERT_EVENTS` and in the payload's `event`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertEvent::Deny => "deny",
            AlertEvent::RateLimit => "rate_limit",
            AlertEvent::Error => "error",
            AlertEvent::RequireApproval => "escalation",
        }
    }
}

/// A plain-HTTP upstream: `http://authority` plus an optional path prefix.
#[derive(Debug, Clone)]
pub struct HttpTarget {
    /// `http` or `https`.
    pub scheme: &'static str,
    /// `host:port`.
    pub authority: String,
    /// Path prefix without a trailing `/` (empty for none).
    pub base_path: String,
    /// The URL as configured, for messages.
    pub url: String,
}

impl HttpTarget {
    /// Parses `http[s]://host[:port][/path]`.
    pub fn parse(what: &str, url: &str) -> Result<HttpTarget> {
        let (scheme, rest) = if let Some(r) = url.strip_prefix("http://") {
            ("http", r)
        } else if let Some(r) = url.strip_prefix("https://") {
            ("https", r)
        } else {
            bail!("{what} `{url}` must start with http:// or https://");
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        if authority.is_empty() || authority.contains('@') || authority.contains('?') {
            bail!("{what} `{url}` has no valid host");
        }
        let base_path = path.trim_end_matches('/').to_owned();
        if base_path.contains(['?', '#']) {
            bail!("{what} `{url}` must not carry a query or fragment");
        }
        Ok(HttpTarget {
            scheme,
            authority: authority.to_owned(),
            base_path,
            url: url.to_owned(),
        })
    }

    /// The absolute URL of `path_and_query` (starting with `/`) under this target.
    pub fn join(&self, path_and_query: &str) -> String {
        format!(
            "{}://{}{}{path_and_query}",
            self.scheme, self.authority, self.base_path
        )
    }
}

/// Checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Decision mode.
    pub mode: Mode,
    /// The admin token, if configured (else one is generated at start).
    pub admin_token: Option<String>,
    /// The policy directory.
    pub policies_dir: PathBuf,
    /// The database path, or `:memory:`.
    pub db_path: String,
    /// The shared PostgreSQL database, when set.
    pub database_url: Option<String>,
    /// Where the generated admin token goes.
    pub data_dir: PathBuf,
    /// The proxy upstream.
    pub proxy_target: Option<HttpTarget>,
    /// Upstream timeout.
    pub proxy_timeout: Duration,
    /// The alert webhook.
    pub webhook: Option<WebhookConfig>,
    /// The answer when no policy applies.
    pub fallback: Effect,
    /// Default audit retention (None = forever).
    pub retention_days: Option<u32>,
    /// Body size limit.
    pub max_body_bytes: usize,
    /// Audit queue capacity.
    pub audit_queue: usize,
    /// Policy directory polling interval.
    pub reload_interval: Duration,
    /// How long an approved approval stays usable.
    pub approval_ttl: Duration,
    /// Warm evaluator instances per set.
    pub evaluator_pool: usize,
    /// Per-decision deadline in the component.
    pub decide_deadline: Duration,
    /// Time to send a request's headers (also the idle keep-alive timeout).
    pub header_timeout: Duration,
    /// Time to send a request's body.
    pub body_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// An extra trace id header (lower case).
    pub trace_header: Option<String>,
    /// The bundle signing key file, when configured.
    pub bundle_signing_key_file: Option<PathBuf>,
    /// Whether `/metrics` is served.
    pub metrics_enabled: bool,
    /// Origins allowed by CORS.
    pub cors: Option<CorsOrigins>,
    /// The HTTPS listener's certificate chain and key, when serving HTTPS.
    pub tls_identity: Option<(PathBuf, PathBuf)>,
    /// Extra CA certificates for outbound TLS.
    pub tls_ca_file: Option<PathBuf>,
}

/// Alert delivery settings.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// The endpoint.
    pub target: HttpTarget,
    /// The HMAC key; without one, alerts are sent unsigned (and a warning is logged).
    pub secret: Option<String>,
    /// Events that raise an alert.
    pub events: Vec<AlertEvent>,
    /// Attempts per alert.
    pub attempts: u32,
    /// First retry delay.
    pub backoff: Duration,
    /// Queue capacity.
    pub queue: usize,
    /// Extra headers on every delivery.
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

/// `CORS_ORIGIN`: any origin, or a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigins {
    /// `*`.
    Any,
    /// Exact origins (`https://console.example.com`).
    List(Vec<HeaderValue>),
}

impl CorsOrigins {
    /// Parses `*` or a comma-separated list of `scheme://host[:port]` origins.
    pub fn parse(text: &str) -> Result<CorsOrigins> {
        if text.trim() == "*" {
            return Ok(CorsOrigins::Any);
        }
        let mut list = Vec::new();
        for origin in text.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            let well_formed = (origin.starts_with("http://") || origin.starts_with("https://"))
                && !origin.trim_end_matches('/').contains(['?', '#', ' '])
                && origin
                    .split("://")
                    .nth(1)
                    .is_some_and(|h| !h.is_empty() && !h.contains('/'));
            let Ok(value) = HeaderValue::from_str(origin) else {
                bail!("CORS_ORIGIN: `{origin}` is not a valid origin");
            };
            if !well_formed {
                bail!(
                    "CORS_ORIGIN: `{origin}` is not an origin; expected `*` or \
                     `scheme://host[:port]` (no path), comma separated"
                );
            }
            list.push(value);
        }
        Ok(CorsOrigins::List(list))
    }
}

/// Parses `ALERT_WEBHOOK_HEADERS`: a JSON object of header names to string values.
pub fn parse_headers(text: &str) -> Result<Vec<(HeaderName, HeaderValue)>> {
    let map: serde_json::Map<String, serde_json::Value> = match serde_json::from_str(text) {
        Ok(serde_json::Value::Object(m)) => m,
        Ok(_) => bail!("ALERT_WEBHOOK_HEADERS must be a JSON object of header names to values"),
        Err(e) => bail!("ALERT_WEBHOOK_HEADERS is not valid JSON: {e}"),
    };
    let mut headers = Vec::with_capacity(map.len());
    for (name, value) in map {
        let Some(text) = value.as_str() else {
            bail!("ALERT_WEBHOOK_HEADERS: the value of `{name}` must be a string");
        };
        let Ok(header) = HeaderName::from_bytes(name.as_bytes()) else {
            bail!("ALERT_WEBHOOK_HEADERS: `{name}` is not a valid header name");
        };
        if header.as_str().starts_with("x-meshguard-")
            || header == http::header::CONTENT_TYPE
            || header == http::header::CONTENT_LENGTH
            || header == http::header::HOST
        {
            bail!("ALERT_WEBHOOK_HEADERS: `{name}` is set by the gateway itself");
        }
        let Ok(value) = HeaderValue::from_str(text) else {
            bail!("ALERT_WEBHOOK_HEADERS: the value of `{name}` is not a valid header value");
        };
        headers.push((header, value));
    }
    Ok(headers)
}

/// Parses `ALERT_EVENTS`.
pub fn parse_events(s: &str) -> Result<Vec<AlertEvent>> {
    let mut events = Vec::new();
    for word in s.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        let named: &[AlertEvent] = match word {
            "deny" => &[AlertEvent::Deny],
            "rate_limit" | "rate-limit" => &[AlertEvent::RateLimit],
            "error" => &[AlertEvent::Error],
            "anomaly" => &[AlertEvent::RateLimit, AlertEvent::Error],
            "require_approval" | "require-approval" | "escalation" => {
                &[AlertEvent::RequireApproval]
            }
            other => bail!(
                "unknown alert event `{other}` in ALERT_EVENTS; expected deny, escalation, \
                 rate_limit, error or anomaly"
            ),
        };
        for e in named {
            if !events.contains(e) {
                events.push(*e);
            }
        }
    }
    Ok(events)
}

impl Args {
    /// Checks every value and resolves defaults that depend on others.
    pub fn into_config(self) -> Result<Config> {
        let admin_token = self.admin_token.filter(|t| !t.trim().is_empty());
        if admin_token.as_deref().is_some_and(|t| t.trim().len() < 16) {
            bail!("ADMIN_TOKEN must be at least 16 characters (or unset to generate one)");
        }
        let proxy_target = self
            .proxy_target
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|u| HttpTarget::parse("PROXY_TARGET", u))
            .transpose()?;
        let webhook = match self.alert_webhook_url.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(url) => Some(WebhookConfig {
                target: HttpTarget::parse("ALERT_WEBHOOK_URL", url)?,
                secret: self.alert_webhook_secret.filter(|s| !s.is_empty()),
                events: parse_events(&self.alert_events)?,
                attempts: self.alert_webhook_attempts.clamp(1, 20),
                backoff: Duration::from_millis(self.alert_webhook_backoff_ms),
                queue: self.alert_queue.max(1),
                headers: match self
                    .alert_webhook_headers
                    .as_deref()
                    .filter(|s| !s.is_empty())
                {
                    Some(text) => parse_headers(text)?,
                    None => Vec::new(),
                },
            }),
        };
        let data_dir = match self.data_dir {
            Some(d) => d,
            None if self.db_path == ":memory:" => PathBuf::from("."),
            None => Path::new(&self.db_path)
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from(".")),
        };
        let database_url = self.database_url.filter(|u| !u.trim().is_empty());
        if let Some(url) = &database_url
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            bail!(
                "DATABASE_URL must be a `postgres://` or `postgresql://` URL (without it, the \
                 gateway uses the SQLite file DB_PATH)"
            );
        }
        if self.max_body_bytes < 1024 {
            bail!("MAX_BODY_BYTES must be at least 1024");
        }
        Ok(Config {
            listen: SocketAddr::new(self.host, self.port),
            mode: match self.mode {
                ModeArg::Enforce => Mode::Enforce,
                ModeArg::Audit => Mode::Audit,
            },
            admin_token,
            policies_dir: self.policies_dir,
            db_path: self.db_path,
            database_url,
            data_dir,
            proxy_target,
            proxy_timeout: Duration::from_secs(self.proxy_timeout_secs.max(1)),
            webhook,
            fallback: match self.fallback {
                FallbackArg::Allow => Effect::Allow,
                FallbackArg::Deny => Effect::Deny,
            },
            retention_days: (self.retention_days > 0).then_some(self.retention_days),
            max_body_bytes: self.max_body_bytes,
            audit_queue: self.audit_queue.max(1),
            reload_interval: Duration::from_millis(self.reload_interval_ms.max(50)),
            approval_ttl: Duration::from_secs(self.approval_ttl_secs),
            evaluator_pool: self.evaluator_pool.max(1),
            decide_deadline: Duration::from_millis(self.decide_deadline_ms.max(1)),
            header_timeout: Duration::from_secs(self.header_timeout_secs.max(1)),
            body_timeout: Duration::from_secs(self.body_timeout_secs.max(1)),
            max_connections: self.max_connections.max(1),
            bundle_signing_key_file: self.bundle_signing_key_file,
            trace_header: match self.trace_header.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(name) => match HeaderName::from_bytes(name.as_bytes()) {
                    Ok(h) => Some(h.as_str().to_owned()),
                    Err(_) => bail!("TRACE_HEADER `{name}` is not a valid header name"),
                },
            },
            metrics_enabled: self.metrics_enabled,
            cors: self
                .cors_origin
                .as_deref()
                .filter(|s| !s.trim().is_empty())
                .map(CorsOrigins::parse)
                .transpose()?,
            tls_identity: self.tls_cert_file.zip(self.tls_key_file),
            tls_ca_file: self.tls_ca_file,
        })
    }
}

/// Mode as a string for JSON answers.
pub fn mode_str(mode: Mode) -> &'static str {
    match mode {
        Mode::Enforce => "enforce",
        Mode::Audit => "audit",
    }
}

#[cfg(test)]
mod tests;
