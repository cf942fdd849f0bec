//! Counters and the latency histogram behind `GET /metrics`, rendered by hand in the
//! Prometheus text format (version 0.0.4).
//!
//! Plain atomics: the decision path only increments, never locks, and the exposition is a
//! few dozen lines, so a metrics library would add more than it saves.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use meshguard_core::Effect;

/// Upper bounds of the decision latency buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0,
];

/// HTTP statuses the decision endpoints answer, counted by status.
const STATUSES: [u16; 10] = [200, 400, 401, 403, 408, 413, 429, 500, 502, 503];

/// Every counter the gateway keeps.
#[derive(Debug, Default)]
pub struct Metrics {
    decisions: [AtomicU64; 3],
    statuses: [AtomicU64; STATUSES.len()],
    latency_buckets: [AtomicU64; BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_ns: AtomicU64,
    /// Rate-limited requests.
    pub rate_limited: AtomicU64,
    /// Requests the component could not decide (trap, deadline).
    pub evaluation_errors: AtomicU64,
    /// Audit entries committed.
    pub audit_written: AtomicU64,
    /// Audit transactions committed.
    pub audit_batches: AtomicU64,
    /// Audit write failures (the batch is retried).
    pub audit_write_errors: AtomicU64,
    /// Audit entries deleted by retention.
    pub audit_expired: AtomicU64,
    /// Alerts delivered.
    pub webhook_delivered: AtomicU64,
    /// Alerts given up after every attempt.
    pub webhook_failed: AtomicU64,
    /// Alerts dropped because the queue was full.
    pub webhook_dropped: AtomicU64,
    /// Delivery attempts that failed and were retried.
    pub webhook_retries: AtomicU64,
    /// Successful policy reloads.
    pub reloads_ok: AtomicU64,
    /// Reloads refused because a file was bad.
    pub reloads_failed: AtomicU64,
    /// Approvals created.
    pub approvals_created: AtomicU64,
    /// Proxied requests the upstream failed.
    pub proxy_errors: AtomicU64,
    /// Whether the last audit write failed (cleared by the next success): `/health`
    /// reports the gateway unhealthy meanwhile.
    pub audit_failing: std::sync::atomic::AtomicBool,
    /// Connections being served.
    pub connections_open: AtomicU64,
    /// Connections answered 503 because `MAX_CONNECTIONS` were open.
    pub connections_refused: AtomicU64,
}

/// Values read at render time from elsewhere.
#[derive(Debug, Clone, Copy)]
pub struct Gauges {
    /// Entries waiting for the audit writer.
    pub audit_queue_depth: usize,
    /// The audit queue's capacity.
    pub audit_queue_capacity: usize,
    /// Policies being served.
    pub policies: usize,
    /// Diagnostics of the last failed reload (0 when the directory loads).
    pub policy_errors: usize,
    /// Alerts waiting for delivery.
    pub webhook_queue_depth: usize,
}

fn effect_index(e: Effect) -> usize {
    match e {
        Effect::Allow => 0,
        Effect::Deny => 1,
        Effect::RequireApproval => 2,
    }
}

impl Metrics {
    /// Counts one answered decision.
    pub fn record(&self, effect: Effect, status: u16, elapsed_ns: u64) {
        if let Some(c) = self.decisions.get(effect_index(effect)) {
            c.fetch_add(1, Relaxed);
        }
        if let Some(i) = STATUSES.iter().position(|s| *s == status)
            && let Some(c) = self.statuses.get(i)
        {
            c.fetch_add(1, Relaxed);
        }
        let secs = elapsed_ns as f64 / 1e9;
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b)
            && let Some(c) = self.latency_buckets.get(i)
        {
            c.fetch_add(1, Relaxed);
        }
        self.latency_count.fetch_add(1, Relaxed);
        self.latency_sum_ns.fetch_add(elapsed_ns, Relaxed);
    }

    /// Total decisions answered.
    pub fn decisions_total(&self) -> u64 {
        self.decisions.iter().map(|c| c.load(Relaxed)).sum()
    }

    /// The Prometheus text exposition.
    pub fn render(&self, g: Gauges) -> String {
        let mut out = String::with_capacity(4096);
        let o = &mut out;
        header(
            o,
            "meshguard_decisions_total",
            "counter",
            "Decisions answered, by effect (what the policies said).",
        );
        for (i, name) in ["allow", "deny", "require_approval"].iter().enumerate() {
            let v = self.decisions.get(i).map_or(0, |c| c.load(Relaxed));
            let _ = writeln!(o, "meshguard_decisions_total{{effect=\"{name}\"}} {v}");
        }
        header(
            o,
            "meshguard_responses_total",
            "counter",
            "Decision endpoint responses, by HTTP status.",
        );
        for (i, s) in STATUSES.iter().enumerate() {
            let v = self.statuses.get(i).map_or(0, |c| c.load(Relaxed));
            let _ = writeln!(o, "meshguard_responses_total{{status=\"{s}\"}} {v}");
        }
        header(
            o,
            "meshguard_decision_seconds",
            "histogram",
            "Time from request to queued audit entry, per decision.",
        );
        let mut cumulative = 0;
        for (i, b) in BUCKETS.iter().enumerate() {
            cumulative += self.latency_buckets.get(i).map_or(0, |c| c.load(Relaxed));
            let _ = writeln!(
                o,
                "meshguard_decision_seconds_bucket{{le=\"{b}\"}} {cumulative}"
            );
        }
        let count = self.latency_count.load(Relaxed);
        let _ = writeln!(
            o,
            "meshguard_decision_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let sum = self.latency_sum_ns.load(Relaxed) as f64 / 1e9;
        let _ = writeln!(o, "meshguard_decision_seconds_sum {sum}");
        let _ = writeln!(o, "meshguard_decision_seconds_count {count}");

        let counters: [(&str, &str, &AtomicU64); 15] = [
            (
                "meshguard_rate_limited_total",
                "Requests refused by a rate limit.",
                &self.rate_limited,
            ),
            (
                "meshguard_evaluation_errors_total",
                "Requests the evaluator component failed to decide (denied).",
                &self.evaluation_errors,
            ),
            (
                "meshguard_audit_entries_written_total",
                "Audit entries committed to the database.",
                &self.audit_written,
            ),
            (
                "meshguard_audit_batches_total",
                "Audit transactions committed.",
                &self.audit_batches,
            ),
            (
                "meshguard_audit_write_errors_total",
                "Failed audit transactions (retried, never dropped).",
                &self.audit_write_errors,
            ),
            (
                "meshguard_audit_entries_expired_total",
                "Audit entries deleted by retention.",
                &self.audit_expired,
            ),
            (
                "meshguard_webhook_delivered_total",
                "Alerts delivered to the webhook.",
                &self.webhook_delivered,
            ),
            (
                "meshguard_webhook_failures_total",
                "Alerts given up after every attempt.",
                &self.webhook_failed,
            ),
            (
                "meshguard_webhook_dropped_total",
                "Alerts dropped because the alert queue was full.",
                &self.webhook_dropped,
            ),
            (
                "meshguard_webhook_retries_total",
                "Failed delivery attempts that were retried.",
                &self.webhook_retries,
            ),
            (
                "meshguard_policy_reloads_total",
                "Policy directory reloads that succeeded.",
                &self.reloads_ok,
            ),
            (
                "meshguard_policy_reload_failures_total",
                "Policy directory reloads refused (the last good set kept serving).",
                &self.reloads_failed,
            ),
            (
                "meshguard_approvals_created_total",
                "Approvals created for require_approval decisions.",
                &self.approvals_created,
            ),
            (
                "meshguard_proxy_upstream_errors_total",
                "Proxied requests the upstream failed (502).",
                &self.proxy_errors,
            ),
            (
                "meshguard_connections_refused_total",
                "Connections answered 503 because MAX_CONNECTIONS were open.",
                &self.connections_refused,
            ),
        ];
        for (name, help, c) in counters {
            header(o, name, "counter", help);
            let _ = writeln!(o, "{name} {}", c.load(Relaxed));
        }
        let gauges = [
            (
                "meshguard_audit_queue_depth",
                "Audit entries waiting for the writer.",
                g.audit_queue_depth,
            ),
            (
                "meshguard_audit_queue_capacity",
                "Audit queue capacity (callers wait when it is full).",
                g.audit_queue_capacity,
            ),
            (
                "meshguard_webhook_queue_depth",
                "Alerts waiting for delivery.",
                g.webhook_queue_depth,
            ),
            (
                "meshguard_policies_loaded",
                "Policies being served.",
                g.policies,
            ),
            (
                "meshguard_policy_errors",
                "Diagnostics of the last refused reload (0 when the directory loads).",
                g.policy_errors,
            ),
            (
                "meshguard_connections_open",
                "Connections being served.",
                usize::try_from(self.connections_open.load(Relaxed)).unwrap_or(usize::MAX),
            ),
        ];
        for (name, help, v) in gauges {
            header(o, name, "gauge", help);
            let _ = writeln!(o, "{name} {v}");
        }
        header(o, "meshguard_build_info", "gauge", "The gateway's version.");
        let _ = writeln!(
            o,
            "meshguard_build_info{{version=\"{}\"}} 1",
            meshguard_core::VERSION
        );
        out
    }
}

fn header(o: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(o, "# HELP {name} {help}");
    let _ = writeln!(o, "# TYPE {name} {kind}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_histogram_cumulatively() {
        let m = Metrics::default();
        m.record(Effect::Allow, 200, 40_000);
        m.record(Effect::Deny, 403, 3_000_000);
        let text = m.render(Gauges {
            audit_queue_depth: 0,
            audit_queue_capacity: 10,
            policies: 11,
            policy_errors: 0,
            webhook_queue_depth: 0,
        });
        assert!(text.contains("meshguard_decisions_total{effect=\"allow\"} 1"));
        assert!(text.contains("meshguard_decision_seconds_bucket{le=\"0.00005\"} 1"));
        assert!(text.contains("meshguard_decision_seconds_bucket{le=\"0.005\"} 2"));
        assert!(text.contains("meshguard_decision_seconds_count 2"));
        assert!(text.contains("meshguard_responses_total{status=\"403\"} 1"));
    }
}
