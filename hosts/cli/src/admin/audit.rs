//! `meshguard audit query|tail|export|stats|trace`: the gateway's audit log.
//!
//! `tail -f` polls `GET /admin/audit` (newest first) every `--interval` seconds and
//! prints the entries with an id above the last one printed, oldest first; it runs until
//! interrupted. `stats --breakdown hourly` counts the period's entries per hour from a
//! JSON export, since the gateway's stats have no time buckets.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use meshguard_api::{AuditEntry, AuditExport, AuditPage, AuditStats};
use meshguard_core::parse_instant_ms;
use serde_json::{Value, json};

use super::Problem;
use super::client::{Body, Client, with_query};
use super::output::{field, opt, print_answer, print_json, print_text, show, text};
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
            let path = with_query("/admin/audit", &q);
            let (answer, page): (Value, AuditPage) = client.expect_as("GET", &path, Body::Empty)?;
            print_answer(json, &answer, |_| table(&page.entries))?;
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
            let path = with_query("/admin/audit", &q);
            let (answer, page): (Value, AuditPage) = client.expect_as("GET", &path, Body::Empty)?;
            if json {
                print_json(&answer)?;
            } else if !page.entries.is_empty() {
                let r = Renderer::for_stdout();
                let blocks: Vec<String> = page.entries.iter().map(|e| detail(e, &r)).collect();
                print_text(&blocks.join("\n"))?;
            }
            if page.entries.is_empty() {
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
fn table(entries: &[AuditEntry]) -> String {
    let r = Renderer::for_stdout();
    let mut t = Table::new(&[
        "TIME", "DECISION", "AGENT", "ACTION", "RESOURCE", "RULE", "REASON",
    ]);
    for e in entries {
        t.styled_row(vec![
            (text(&e.timestamp), ""),
            (text(&e.decision), style_of(&e.decision)),
            (agent_of(e), ""),
            (text(&e.action), ""),
            (opt(e.resource.as_deref()), ""),
            (opt(e.rule.as_deref()), ""),
            (text(&e.reason), ""),
        ]);
    }
    t.render_or(&r, "no audit entries match\n")
}

/// One entry on one line (for `tail`, where later entries cannot be aligned with
/// earlier ones).
fn line(e: &AuditEntry, r: &Renderer) -> String {
    let decision = text(&e.decision);
    format!(
        "{}  {}  {}  {} {}  ({}: {})\n",
        text(&e.timestamp),
        r.paint(style_of(&decision), &format!("{decision:<16}")),
        agent_of(e),
        r.paint(BOLD, &text(&e.action)),
        opt(e.resource.as_deref()),
        opt(e.rule.as_deref()),
        text(&e.reason),
    )
}

/// One entry in full.
fn detail(e: &AuditEntry, r: &Renderer) -> String {
    let decision = text(&e.decision);
    let mut out = format!(
        "{}  {}  {}",
        text(&e.timestamp),
        r.paint(style_of(&decision), &decision),
        r.paint(BOLD, &text(&e.action)),
    );
    if let Some(resource) = &e.resource {
        out.push_str(&format!(" on {}", text(resource)));
    }
    out.push('\n');
    let mut rows = vec![
        ("agent", agent_of(e)),
        ("policy", opt(e.policy.as_deref())),
        ("rule", opt(e.rule.as_deref())),
        ("reason", text(&e.reason)),
        (
            "answer",
            format!(
                "{} ({} mode, {}, {} µs)",
                e.status,
                text(&e.mode),
                text(&e.endpoint),
                e.latency_us
            ),
        ),
        ("trace", text(&e.trace_id)),
        ("entry", text(&e.id)),
    ];
    if let Some(approval) = &e.approval_id {
        rows.push(("approval", text(approval)));
    }
    if let Some(context) = &e.context {
        rows.push(("context", show(context)));
    }
    if let Some(outcome) = &e.outcome {
        rows.push(("outcome", text(outcome)));
    }
    if let Some(result) = &e.result {
        rows.push(("result", text(result)));
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
fn agent_of(e: &AuditEntry) -> String {
    match (e.agent_name.as_deref(), e.agent_id.as_deref()) {
        (Some(n), _) if !n.is_empty() => text(n),
        (_, Some(id)) if !id.is_empty() => text(id),
        _ => "-".to_owned(),
    }
}

/// Entries the page has after `last` (ids grow with time), oldest first.
fn newer(page: &[AuditEntry], last: i64) -> Vec<&AuditEntry> {
    let mut new: Vec<&AuditEntry> = page
        .iter()
        .filter(|e| e.seq().is_some_and(|id| id > last))
        .collect();
    new.sort_by_key(|e| e.seq().unwrap_or(0));
    new
}

fn max_id(page: &[AuditEntry], last: i64) -> i64 {
    page.iter().filter_map(AuditEntry::seq).fold(last, i64::max)
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
    let fetch = |limit: usize| -> Result<(Value, AuditPage)> {
        let mut q = filter.query();
        q.push(("limit", Some(limit.to_string())));
        client.expect_as("GET", &with_query("/admin/audit", &q), Body::Empty)
    };
    let (first, page) = fetch((lines as usize).max(1))?;
    let page = page.entries;
    if json && !follow {
        print_json(&first)?;
        return Ok(ExitCode::SUCCESS);
    }
    let shown: Vec<&AuditEntry> = newer(&page, i64::MIN)
        .into_iter()
        .rev()
        .take(lines as usize)
        .rev()
        .collect();
    emit(&shown, &r, json)?;
    if !follow {
        return Ok(ExitCode::SUCCESS);
    }
    let mut last = max_id(&page, 0);
    let pause = Duration::from_secs_f64(every);
    loop {
        std::thread::sleep(pause);
        let page = fetch(POLL_PAGE)?.1.entries;
        let new = newer(&page, last);
        if new.len() == POLL_PAGE && last > 0 {
            eprintln!(
                "note: more than {POLL_PAGE} new entries since the last poll; older ones were \
                 skipped (use `meshguard audit export` for everything)"
            );
        }
        emit(&new, &r, json)?;
        last = max_id(&page, last);
    }
}

fn emit(entries: &[&AuditEntry], r: &Renderer, json: bool) -> Result<()> {
    let mut out = String::new();
    for e in entries {
        if json {
            out.push_str(&serde_json::to_string(e).context("writing an entry as JSON")?);
            out.push('\n');
        } else {
            out.push_str(&line(e, r));
        }
    }
    if !out.is_empty() {
        print_text(&out)?;
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
    let path = with_query("/admin/audit/stats", &q);
    let (mut answer, counts): (Value, AuditStats) = client.expect_as("GET", &path, Body::Empty)?;
    let since_ms = parse_instant_ms(&counts.since)
        .unwrap_or_else(|_| clock::now_ms() - i64::from(period) * 3_600_000);
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
    let mut out = format!(
        "last {period} {} (since {}){}: {} {}, {} rate limited\n",
        if period == 1 { "hour" } else { "hours" },
        text(&counts.since),
        agent
            .as_deref()
            .map(|a| format!(", agent {}", clean(a)))
            .unwrap_or_default(),
        counts.total,
        if counts.total == 1 {
            "decision"
        } else {
            "decisions"
        },
        counts.rate_limited,
    );
    let mut t = Table::new(&["DECISION", "COUNT"]);
    for d in DECISIONS {
        let n = counts.by_decision.get(d).copied().unwrap_or(0);
        t.styled_row(vec![(d.to_owned(), style_of(d)), (n.to_string(), "")]);
    }
    out.push_str(&t.render(&r));
    if !counts.by_action.is_empty() {
        let mut t = Table::new(&["ACTION", "COUNT"]);
        for a in &counts.by_action {
            t.row(vec![text(&a.action), a.count.to_string()]);
        }
        out.push('\n');
        out.push_str(&t.render(&r));
    }
    if !counts.by_agent.is_empty() {
        let mut t = Table::new(&["AGENT", "ID", "COUNT"]);
        for a in &counts.by_agent {
            t.row(vec![
                opt(a.agent_name.as_deref()),
                opt(a.agent_id.as_deref()),
                a.count.to_string(),
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
    let export: AuditExport =
        serde_json::from_slice(&bytes).context("reading the gateway's JSON export")?;
    let first = since_ms.div_euclid(HOUR_MS);
    let last = clock::now_ms().div_euclid(HOUR_MS).max(first);
    let hours = usize::try_from(last - first + 1).unwrap_or(1);
    let mut counts = vec![[0u64; 4]; hours];
    for e in &export.entries {
        let Ok(ms) = parse_instant_ms(&e.timestamp) else {
            continue;
        };
        let Ok(i) = usize::try_from(ms.div_euclid(HOUR_MS) - first) else {
            continue;
        };
        let Some(c) = counts.get_mut(i) else { continue };
        c[0] += 1;
        match e.decision.as_str() {
            "allow" => c[1] += 1,
            "deny" => c[2] += 1,
            "require_approval" => c[3] += 1,
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
