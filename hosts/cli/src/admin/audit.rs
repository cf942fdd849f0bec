//! `meshguard audit query|tail|export|stats|trace`: the gateway's audit log.
//!
//! `tail -f` polls `GET /admin/audit` (newest first) every `--interval` seconds and
//! prints the entries with an id above the last one printed, oldest first; it runs until
//! interrupted. `stats --breakdown hourly` counts the period's entries per hour from a
//! JSON export, since the gateway's stats have no time buckets.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use meshguard_core::parse_instant_ms;
use serde_json::{Value, json};

use super::Problem;
use super::client::{Client, with_query};
use super::output::{field, items, print_answer, print_json, print_text};
use super::table::Table;
use crate::explain::effect_style;
use crate::render::{BOLD, Renderer, clean};
use crate::{EXIT_FAILED, clock};

/// `meshguard audit ...`.
pub type Args = super::Args<Command>;

/// The decisions the log records.
const DECISIONS: [&str; 3] = ["allow", "deny", "require_approval"];

/// Filters shared by query, tail and export.
#[derive(Debug, Clone, clap::Args)]
pub struct Filter {
    /// Only this agent (id or name).
    #[arg(long, value_name = "AGENT")]
    agent: Option<String>,
    /// Only this decision.
    #[arg(long, value_name = "DECISION", value_parser = DECISIONS)]
    decision: Option<String>,
    /// Only this action (`*` and `?` are wildcards: `--action 'read:*'`).
    #[arg(long, value_name = "ACTION")]
    action: Option<String>,
}

impl Filter {
    fn query(&self) -> Vec<(&'static str, Option<String>)> {
        vec![
            ("agent", self.agent.clone()),
            ("decision", self.decision.clone()),
            ("action", self.action.clone()),
        ]
    }
}

/// The period filters (RFC 3339 instants, dates such as 2026-01-31 — a `--to` date
/// includes that whole day — or milliseconds since the epoch).
#[derive(Debug, Clone, clap::Args)]
pub struct Period {
    /// From this instant or date (inclusive).
    #[arg(long, value_name = "TIME")]
    from: Option<String>,
    /// Up to this instant (exclusive) or date (inclusive).
    #[arg(long, value_name = "TIME")]
    to: Option<String>,
}

/// The audit subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Entries matching filters, newest first.
    Query {
        #[command(flatten)]
        filter: Filter,
        #[command(flatten)]
        period: Period,
        /// Only entries of this trace id.
        #[arg(long, value_name = "TRACE_ID")]
        trace: Option<String>,
        /// At most this many entries (the gateway allows 1 to 10,000).
        #[arg(long, short = 'n', default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        limit: u32,
    },
    /// The latest entries, oldest first; with -f, keep printing new ones until Ctrl-C.
    Tail {
        /// Keep polling the gateway and print new entries as they arrive.
        #[arg(long, short = 'f')]
        follow: bool,
        #[command(flatten)]
        filter: Filter,
        /// How many of the latest entries to print first.
        #[arg(long, short = 'n', default_value_t = 10, value_parser = clap::value_parser!(u32).range(0..=10_000))]
        lines: u32,
        /// Seconds between polls with -f (0.1 to 3600).
        #[arg(long, value_name = "SECS", default_value_t = 2.0, value_parser = interval)]
        interval: f64,
    },
    /// The whole log (or a period of it) as CSV or JSON on stdout, oldest entries last.
    Export {
        #[command(flatten)]
        filter: Filter,
        #[command(flatten)]
        period: Period,
        /// csv (the default) or json (the default with --json).
        #[arg(long, value_parser = ["csv", "json"])]
        format: Option<String>,
        /// At most this many entries.
        #[arg(long, value_name = "N")]
        limit: Option<u64>,
    },
    /// Counts by decision, action and agent over the last hours.
    Stats {
        /// Only this agent (id or name).
        #[arg(long, value_name = "AGENT")]
        agent: Option<String>,
        /// Hours back from now.
        #[arg(long, value_name = "HOURS", default_value_t = 24, value_parser = clap::value_parser!(u32).range(1..=8784))]
        period: u32,
        /// Also count per hour.
        #[arg(long, value_parser = ["hourly"])]
        breakdown: Option<String>,
    },
    /// Every entry of one trace id, oldest first, in full.
    Trace {
        /// The trace id (`X-MeshGuard-Trace-ID`, or the `traceId` of an answer).
        trace_id: String,
    },
}

fn interval(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if (0.1..=3600.0).contains(&v) {
        Ok(v)
    } else {
        Err("the interval must be between 0.1 and 3600 seconds".to_owned())
    }
}

/// Runs an audit subcommand.
pub fn run(args: Args, json: bool) -> Result<ExitCode> {
    let (client, command) = args.split(json)?;
    match command {
        Command::Query {
            filter,
            period,
            trace,
            limit,
        } => {
            let mut q = filter.query();
            q.extend([
                ("from", period.from),
                ("to", period.to),
                ("traceId", trace),
                ("limit", Some(limit.to_string())),
            ]);
            let answer = client.get(&with_query("/admin/audit", &q))?;
            print_answer(json, &answer, |a| table(items(a, "entries")))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Tail {
            follow,
            filter,
            lines,
            interval,
        } => tail(&client, &filter, lines, follow, interval, json),
        Command::Export {
            filter,
            period,
            format,
            limit,
        } => {
            let format = format.unwrap_or_else(|| if json { "json" } else { "csv" }.to_owned());
            let mut q = filter.query();
            q.extend([
                ("from", period.from),
                ("to", period.to),
                ("format", Some(format)),
                ("order", Some("asc".to_owned())),
                ("limit", limit.map(|l| l.to_string())),
            ]);
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            client.stream(&with_query("/admin/audit", &q), &mut out)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Stats {
            agent,
            period,
            breakdown,
        } => stats(&client, agent, period, breakdown.is_some(), json),
        Command::Trace { trace_id } => {
            let q = [
                ("traceId", Some(trace_id.clone())),
                ("order", Some("asc".to_owned())),
                ("limit", Some("10000".to_owned())),
            ];
            let answer = client.get(&with_query("/admin/audit", &q))?;
            let entries = items(&answer, "entries");
            if json {
                print_json(&answer)?;
            } else if !entries.is_empty() {
                let r = Renderer::for_stdout();
                let blocks: Vec<String> = entries.iter().map(|e| detail(e, &r)).collect();
                print_text(&blocks.join("\n"))?;
            }
            if entries.is_empty() {
                return Err(Problem::new(
                    EXIT_FAILED,
                    format!("no audit entry has trace id `{}`", clean(&trace_id)),
                )
                .into());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Entries as an aligned table.
fn table(entries: &[Value]) -> String {
    let r = Renderer::for_stdout();
    let mut t = Table::new(&[
        "TIME", "DECISION", "AGENT", "ACTION", "RESOURCE", "RULE", "REASON",
    ]);
    for e in entries {
        let decision = field(e, "decision");
        t.styled_row(vec![
            (field(e, "timestamp"), ""),
            (decision.clone(), style_of(&decision)),
            (agent_of(e), ""),
            (field(e, "action"), ""),
            (field(e, "resource"), ""),
            (field(e, "rule"), ""),
            (field(e, "reason"), ""),
        ]);
    }
    t.render_or(&r, "no audit entries match\n")
}

/// One entry on one line (for `tail`, where later entries cannot be aligned with
/// earlier ones).
fn line(e: &Value, r: &Renderer) -> String {
    let decision = field(e, "decision");
    format!(
        "{}  {}  {}  {} {}  ({}: {})\n",
        field(e, "timestamp"),
        r.paint(style_of(&decision), &format!("{decision:<16}")),
        agent_of(e),
        r.paint(BOLD, &field(e, "action")),
        field(e, "resource"),
        field(e, "rule"),
        field(e, "reason"),
    )
}

/// One entry in full.
fn detail(e: &Value, r: &Renderer) -> String {
    let decision = field(e, "decision");
    let mut out = format!(
        "{}  {}  {}",
        field(e, "timestamp"),
        r.paint(style_of(&decision), &decision),
        r.paint(BOLD, &field(e, "action")),
    );
    if e.get("resource").is_some_and(|v| !v.is_null()) {
        out.push_str(&format!(" on {}", field(e, "resource")));
    }
    out.push('\n');
    let mut rows = vec![
        ("agent", agent_of(e)),
        ("policy", field(e, "policy")),
        ("rule", field(e, "rule")),
        ("reason", field(e, "reason")),
        (
            "answer",
            format!(
                "{} ({} mode, {}, {} µs)",
                field(e, "status"),
                field(e, "mode"),
                field(e, "endpoint"),
                field(e, "latencyUs")
            ),
        ),
        ("trace", field(e, "traceId")),
        ("entry", field(e, "id")),
    ];
    if e.get("approvalId").is_some_and(|v| !v.is_null()) {
        rows.push(("approval", field(e, "approvalId")));
    }
    for key in ["context", "outcome", "result"] {
        if e.get(key).is_some_and(|v| !v.is_null()) {
            rows.push((key, field(e, key)));
        }
    }
    for (k, v) in rows {
        out.push_str(&format!("  {k:<9}{v}\n"));
    }
    out
}

fn style_of(decision: &str) -> &'static str {
    match decision {
        "allow" => effect_style(meshguard_core::Effect::Allow),
        "deny" => effect_style(meshguard_core::Effect::Deny),
        "require_approval" => effect_style(meshguard_core::Effect::RequireApproval),
        _ => "",
    }
}

/// The agent's name, else its id, else `-` (a request without a valid token).
fn agent_of(e: &Value) -> String {
    match (
        e.get("agentName").and_then(Value::as_str),
        e.get("agentId").and_then(Value::as_str),
    ) {
        (Some(n), _) if !n.is_empty() => clean(n),
        (_, Some(id)) if !id.is_empty() => clean(id),
        _ => "-".to_owned(),
    }
}

/// An entry's sequence number: its `id`, a string of digits (a number from gateways
/// before the SDKs' string ids).
fn seq(e: &Value) -> Option<i64> {
    match e.get("id")? {
        Value::String(s) => s.parse().ok(),
        v => v.as_i64(),
    }
}

/// Entries the page has after `last` (ids grow with time), oldest first.
fn newer(page: &[Value], last: i64) -> Vec<&Value> {
    let mut new: Vec<&Value> = page
        .iter()
        .filter(|e| seq(e).is_some_and(|id| id > last))
        .collect();
    new.sort_by_key(|e| seq(e).unwrap_or(0));
    new
}

fn max_id(page: &[Value], last: i64) -> i64 {
    page.iter().filter_map(seq).fold(last, i64::max)
}

/// Largest page fetched per poll.
const POLL_PAGE: usize = 1000;

fn tail(
    client: &Client,
    filter: &Filter,
    lines: u32,
    follow: bool,
    every: f64,
    json: bool,
) -> Result<ExitCode> {
    let r = Renderer::for_stdout();
    let fetch = |limit: usize| -> Result<Value> {
        let mut q = filter.query();
        q.push(("limit", Some(limit.to_string())));
        client.get(&with_query("/admin/audit", &q))
    };
    let first = fetch((lines as usize).max(1))?;
    let page = items(&first, "entries");
    if json && !follow {
        print_json(&first)?;
        return Ok(ExitCode::SUCCESS);
    }
    let shown: Vec<&Value> = newer(page, i64::MIN)
        .into_iter()
        .rev()
        .take(lines as usize)
        .rev()
        .collect();
    emit(&shown, &r, json)?;
    if !follow {
        return Ok(ExitCode::SUCCESS);
    }
    let mut last = max_id(page, 0);
    let pause = Duration::from_secs_f64(every);
    loop {
        std::thread::sleep(pause);
        let answer = fetch(POLL_PAGE)?;
        let page = items(&answer, "entries");
        let new = newer(page, last);
        if new.len() == POLL_PAGE && last > 0 {
            eprintln!(
                "note: more than {POLL_PAGE} new entries since the last poll; older ones were \
                 skipped (use `meshguard audit export` for everything)"
            );
        }
        emit(&new, &r, json)?;
        last = max_id(page, last);
    }
}

fn emit(entries: &[&Value], r: &Renderer, json: bool) -> Result<()> {
    let mut text = String::new();
    for e in entries {
        if json {
            text.push_str(&e.to_string());
            text.push('\n');
        } else {
            text.push_str(&line(e, r));
        }
    }
    if !text.is_empty() {
        print_text(&text)?;
    }
    Ok(())
}

fn stats(
    client: &Client,
    agent: Option<String>,
    period: u32,
    hourly: bool,
    json: bool,
) -> Result<ExitCode> {
    let q = [
        ("agent", agent.clone()),
        ("period", Some(period.to_string())),
    ];
    let mut answer = client.get(&with_query("/admin/audit/stats", &q))?;
    let since_ms = answer
        .get("since")
        .and_then(Value::as_str)
        .and_then(|s| parse_instant_ms(s).ok())
        .unwrap_or_else(|| clock::now_ms() - i64::from(period) * 3_600_000);
    let buckets = if hourly {
        Some(hourly_counts(client, agent.as_deref(), since_ms)?)
    } else {
        None
    };
    if let (Some(b), Some(obj)) = (&buckets, answer.as_object_mut()) {
        obj.insert("hourly".into(), json!(b));
    }
    if json {
        print_json(&answer)?;
        return Ok(ExitCode::SUCCESS);
    }
    let r = Renderer::for_stdout();
    let by = answer.get("byDecision").unwrap_or(&Value::Null);
    let mut out = format!(
        "last {period} {} (since {}){}: {} {}, {} rate limited\n",
        if period == 1 { "hour" } else { "hours" },
        field(&answer, "since"),
        agent
            .as_deref()
            .map(|a| format!(", agent {}", clean(a)))
            .unwrap_or_default(),
        field(&answer, "total"),
        if answer.get("total").and_then(Value::as_i64) == Some(1) {
            "decision"
        } else {
            "decisions"
        },
        field(&answer, "rateLimited"),
    );
    let mut t = Table::new(&["DECISION", "COUNT"]);
    for d in DECISIONS {
        t.styled_row(vec![(d.to_owned(), style_of(d)), (field(by, d), "")]);
    }
    out.push_str(&t.render(&r));
    let actions = items(&answer, "byAction");
    if !actions.is_empty() {
        let mut t = Table::new(&["ACTION", "COUNT"]);
        for a in actions {
            t.row(vec![field(a, "action"), field(a, "count")]);
        }
        out.push('\n');
        out.push_str(&t.render(&r));
    }
    let agents = items(&answer, "byAgent");
    if !agents.is_empty() {
        let mut t = Table::new(&["AGENT", "ID", "COUNT"]);
        for a in agents {
            t.row(vec![
                field(a, "agentName"),
                field(a, "agentId"),
                field(a, "count"),
            ]);
        }
        out.push('\n');
        out.push_str(&t.render(&r));
    }
    if let Some(buckets) = buckets {
        let mut t = Table::new(&["HOUR (UTC)", "TOTAL", "ALLOW", "DENY", "APPROVAL"]);
        for b in &buckets {
            t.row(vec![
                field(b, "hour"),
                field(b, "total"),
                field(b, "allow"),
                field(b, "deny"),
                field(b, "require_approval"),
            ]);
        }
        out.push('\n');
        out.push_str(&t.render(&r));
    }
    print_text(&out)?;
    Ok(ExitCode::SUCCESS)
}

const HOUR_MS: i64 = 3_600_000;

/// Counts per hour since `since_ms`, every hour listed (zeros included), oldest first.
fn hourly_counts(client: &Client, agent: Option<&str>, since_ms: i64) -> Result<Vec<Value>> {
    let q = [
        ("agent", agent.map(str::to_owned)),
        ("from", Some(since_ms.to_string())),
        ("format", Some("json".to_owned())),
        ("order", Some("asc".to_owned())),
    ];
    let mut bytes = Vec::new();
    client.stream(&with_query("/admin/audit", &q), &mut bytes)?;
    let export: Value =
        serde_json::from_slice(&bytes).context("reading the gateway's JSON export")?;
    let first = since_ms.div_euclid(HOUR_MS);
    let last = clock::now_ms().div_euclid(HOUR_MS).max(first);
    let hours = usize::try_from(last - first + 1).unwrap_or(1);
    let mut counts = vec![[0u64; 4]; hours];
    for e in items(&export, "entries") {
        let Some(ms) = e
            .get("timestamp")
            .and_then(Value::as_str)
            .and_then(|t| parse_instant_ms(t).ok())
        else {
            continue;
        };
        let Ok(i) = usize::try_from(ms.div_euclid(HOUR_MS) - first) else {
            continue;
        };
        let Some(c) = counts.get_mut(i) else { continue };
        c[0] += 1;
        match e.get("decision").and_then(Value::as_str) {
            Some("allow") => c[1] += 1,
            Some("deny") => c[2] += 1,
            Some("require_approval") => c[3] += 1,
            _ => {}
        }
    }
    Ok(counts
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let start = (first + i64::try_from(i).unwrap_or(0)) * HOUR_MS;
            let stamp = clock::format_ms(start);
            json!({
                "hour": format!("{}Z", stamp.get(..16).unwrap_or(&stamp)),
                "total": c[0],
                "allow": c[1],
                "deny": c[2],
                "require_approval": c[3],
            })
        })
        .collect())
}
