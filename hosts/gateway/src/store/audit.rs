//! The audit log: every decision the gateway answers, written by one dedicated thread.
//!
//! The guarantee: a decision is answered only after its entry is **committed** (group
//! commit): [`AuditSink::record`] queues the entry with a one-shot acknowledgement and
//! waits for it, and the writer acknowledges a batch only once its transaction has
//! committed — in SQLite's WAL (in the operating system's hands, so a gateway killed with
//! SIGKILL right after answering has the entry on disk) or on the PostgreSQL server. The
//! queue is a bounded channel; when it is full, callers wait for room (the gateway slows
//! down, it never forgets). The writer takes whatever is queued — up to [`MAX_BATCH`]
//! entries — and inserts it in one transaction, so the cost of a commit is shared by a
//! whole burst: every caller waiting meanwhile rides on the next one. A failed
//! transaction is retried with the same entries; while writes fail, new entries are
//! refused at once (their callers answer 503, never an unaudited decision) instead of
//! piling up behind the outage. At shutdown the writer drains the queue before the
//! process exits; an entry it cannot write then is never acknowledged, so its caller
//! answers 503, not a decision.
//!
//! Retention runs on the writer thread too (one writer per gateway, no lock contention),
//! in chunks between batches so a large expiry never stalls decisions.
//!
//! The SQL is the backend's ([`AuditBatches`]); reads (queries, stats, exports) are in
//! `audit_query`, on their own connection.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::sync::{mpsc, oneshot, watch};

use crate::metrics::Metrics;

/// Most entries per transaction.
pub const MAX_BATCH: usize = 2048;
/// After a small batch the writer pauses this long before taking the next one, so a
/// steady stream of decisions is written in batches of tens or hundreds rather than of a
/// few entries: a commit costs far more than a row, and at 40,000 decisions/s with no
/// pause the average batch was 3 entries. Decisions wait for their commit, so this is
/// also the most a pause adds to an answer; short, because with group commit the
/// callers waiting on one commit already make the next batch bigger.
const LINGER: Duration = Duration::from_micros(500);
/// A batch smaller than this is "small" (see [`LINGER`]).
const SMALL_BATCH: usize = 256;
/// How long a caller waits for its entry's commit before answering 503. Longer than
/// SQLite's busy timeout (10 s), so a lock held for a while by another process delays
/// answers instead of failing them.
pub const AUDIT_WAIT: Duration = Duration::from_secs(15);
/// Most rows one retention step deletes.
pub const RETENTION_CHUNK: i64 = 5000;

/// One audited decision.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    /// When it was decided (ms).
    pub ts_ms: i64,
    /// The caller's or a generated trace id.
    pub trace_id: String,
    /// The authenticated agent, if any.
    pub agent_id: Option<String>,
    /// Its name.
    pub agent_name: Option<String>,
    /// The action asked about (empty when missing).
    pub action: String,
    /// The resource (canonical when the evaluator saw it).
    pub resource: Option<String>,
    /// `allow`, `deny` or `require_approval`.
    pub decision: &'static str,
    /// Whether the caller was let through.
    pub allowed: bool,
    /// The deciding policy.
    pub policy: Option<String>,
    /// The deciding rule.
    pub rule: Option<String>,
    /// Why.
    pub reason: String,
    /// `enforce` or `audit`.
    pub mode: &'static str,
    /// The HTTP status answered.
    pub status: u16,
    /// Time from request to queueing, in µs.
    pub latency_us: u64,
    /// Decisions: `check`, `v1`, `proxy` or `governance`; what agents report after the
    /// fact: `record` (`/proxy/governance/record`) or `report` (`/v1/audit`); what a
    /// client decided locally from a bundle: `local` (`/v1/audit/batch`).
    pub endpoint: &'static str,
    /// The request context as JSON text.
    pub context: Option<String>,
    /// The approval created or used.
    pub approval_id: Option<String>,
    /// For a report: what the agent says happened (`success`, `error`, ...).
    pub outcome: Option<String>,
    /// For a report: the action's result as the agent sent it, clipped.
    pub result: Option<String>,
}

/// Which entries to delete: older than a cutoff, per policy or for the rest.
#[derive(Debug, Clone, Default)]
pub struct RetentionJob {
    /// Entries of policies without their own retention (and of no policy) older than this.
    pub default_cutoff_ms: Option<i64>,
    /// `(policy, cutoff)`: that policy's `audit.retention_days`.
    pub per_policy: Vec<(String, i64)>,
    /// Policies with their own retention: the default cutoff skips their entries (kept
    /// apart from `per_policy`, which empties as its deletions finish).
    pub exempt: Vec<String>,
}

impl RetentionJob {
    /// A job for `default_days` (None = keep) and the policies' own retention days.
    pub fn new(now_ms: i64, default_days: Option<u32>, per_policy: &[(String, u32)]) -> Self {
        let cutoff = |days: u32| now_ms - i64::from(days) * 86_400_000;
        RetentionJob {
            default_cutoff_ms: default_days.map(cutoff),
            per_policy: per_policy
                .iter()
                .map(|(p, d)| (p.clone(), cutoff(*d)))
                .collect(),
            exempt: per_policy.iter().map(|(p, _)| p.clone()).collect(),
        }
    }
}

#[derive(Debug)]
enum Msg {
    /// An entry and whom to tell once it is committed.
    Entry(Box<AuditEntry>, oneshot::Sender<()>),
    Flush(oneshot::Sender<()>),
    Retain(RetentionJob),
    Shutdown,
}

/// The sending side, shared by every handler.
#[derive(Debug, Clone)]
pub struct AuditSink {
    tx: mpsc::Sender<Msg>,
    metrics: Arc<Metrics>,
    /// Entries committed so far; changes after every commit (see [`AuditSink::commits`]).
    committed: watch::Receiver<u64>,
}

/// The writer queue is gone (the writer thread stopped) or writes are failing. Decisions
/// must then fail closed.
#[derive(Debug, Clone, Copy)]
pub struct AuditClosed;

impl AuditSink {
    /// Queues an entry (waiting for room when the queue is full) and waits until it is
    /// committed. `Err` when the writer is gone or gave the entry up: the caller must not
    /// answer as if it were audited.
    pub async fn record(&self, entry: AuditEntry) -> Result<(), AuditClosed> {
        if self.metrics.audit_failing.load(Relaxed) {
            return Err(AuditClosed);
        }
        let (ack, committed) = oneshot::channel();
        self.tx
            .send(Msg::Entry(Box::new(entry), ack))
            .await
            .map_err(|_| AuditClosed)?;
        // Bounded: a caller whose entry cannot be written (the database is unreachable)
        // answers 503 rather than hang; the writer then drops the entry unwritten (see
        // `Writer::commit`), so the log never holds a decision its caller was not given.
        match tokio::time::timeout(AUDIT_WAIT, committed).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) | Err(_) => Err(AuditClosed),
        }
    }

    /// Waits until everything queued before this call is committed (read-your-writes for
    /// the admin API), at most `timeout`.
    pub async fn flush(&self, timeout: Duration) -> bool {
        let (tx, rx) = oneshot::channel();
        let queued = tokio::time::timeout(timeout, self.tx.send(Msg::Flush(tx))).await;
        if !matches!(queued, Ok(Ok(()))) {
            return false;
        }
        matches!(tokio::time::timeout(timeout, rx).await, Ok(Ok(())))
    }

    /// Asks the writer to apply retention.
    pub async fn retain(&self, job: RetentionJob) {
        let _ = self.tx.send(Msg::Retain(job)).await;
    }

    /// Asks the writer to drain the queue and stop.
    pub async fn shutdown(&self) {
        let _ = self.tx.send(Msg::Shutdown).await;
    }

    /// Whether the writer is gone (nothing can be audited, so nothing is decided).
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// Entries waiting for the writer.
    pub fn depth(&self) -> usize {
        self.tx.max_capacity().saturating_sub(self.tx.capacity())
    }

    /// The queue's capacity.
    pub fn capacity(&self) -> usize {
        self.tx.max_capacity()
    }

    /// Changes after every commit: live views wake on it instead of polling blindly.
    pub fn commits(&self) -> watch::Receiver<u64> {
        self.committed.clone()
    }
}

/// The writing side a backend provides, owned by the writer thread.
pub trait AuditBatches: Send {
    /// Inserts a batch in one transaction: when this returns `Ok`, every entry is
    /// committed; on `Err`, none is (the writer retries the same batch).
    fn insert(&mut self, batch: &[AuditEntry]) -> Result<()>;
    /// Deletes up to one chunk of expired rows ([`RETENTION_CHUNK`]); 0 when nothing is
    /// left to expire, popping finished per-policy cutoffs off `job`.
    fn expire_chunk(&mut self, job: &mut RetentionJob) -> Result<usize>;
    /// Whether a write would go through now (after failures, with nothing queued).
    fn probe(&mut self) -> Result<()>;
}

/// How often a failing store is asked whether it recovered.
const PROBE_EVERY: Duration = Duration::from_millis(250);

/// Starts the writer thread.
pub fn start(
    batches: Box<dyn AuditBatches>,
    capacity: usize,
    metrics: Arc<Metrics>,
) -> Result<(AuditSink, JoinHandle<()>)> {
    let (tx, rx) = mpsc::channel(capacity);
    let (commits, committed) = watch::channel(0);
    let handle = std::thread::Builder::new()
        .name("meshguard-audit".to_owned())
        .spawn({
            let metrics = metrics.clone();
            move || Writer::new(batches, rx, metrics, commits).run()
        })
        .context("starting the audit writer thread")?;
    Ok((
        AuditSink {
            tx,
            metrics,
            committed,
        },
        handle,
    ))
}

struct Writer {
    batches: Box<dyn AuditBatches>,
    rx: mpsc::Receiver<Msg>,
    metrics: Arc<Metrics>,
    commits: watch::Sender<u64>,
    batch: Vec<AuditEntry>,
    /// The batch's acknowledgements, sent once it is committed.
    acks: Vec<oneshot::Sender<()>>,
    flushes: Vec<oneshot::Sender<()>>,
    retention: Option<RetentionJob>,
    shutting_down: bool,
}

impl Writer {
    fn new(
        batches: Box<dyn AuditBatches>,
        rx: mpsc::Receiver<Msg>,
        metrics: Arc<Metrics>,
        commits: watch::Sender<u64>,
    ) -> Writer {
        Writer {
            batches,
            rx,
            metrics,
            commits,
            batch: Vec::with_capacity(MAX_BATCH),
            acks: Vec::with_capacity(MAX_BATCH),
            flushes: Vec::new(),
            retention: None,
            shutting_down: false,
        }
    }

    fn take(&mut self, msg: Msg) {
        match msg {
            Msg::Entry(e, ack) => {
                self.batch.push(*e);
                self.acks.push(ack);
            }
            Msg::Flush(done) => self.flushes.push(done),
            Msg::Retain(job) => self.retention = Some(job),
            Msg::Shutdown => self.shutting_down = true,
        }
    }

    fn run(mut self) {
        loop {
            // Block for the next message unless retention work is waiting; then only take
            // what is already queued, and expire a chunk when the queue is idle.
            let failing = self.metrics.audit_failing.load(Relaxed);
            let first = if self.retention.is_some() || self.shutting_down || failing {
                self.rx.try_recv().ok()
            } else {
                self.rx.blocking_recv()
            };
            match first {
                Some(msg) => self.take(msg),
                None if self.shutting_down => break,
                None if failing => {
                    // New entries are refused while writes fail (see the module docs), so
                    // an idle queue says nothing about recovery: ask the database.
                    std::thread::sleep(PROBE_EVERY);
                    if self.batches.probe().is_ok() {
                        tracing::info!("the audit store accepts writes again");
                        self.metrics.audit_failing.store(false, Relaxed);
                    }
                    continue;
                }
                None if self.retention.is_some() => {
                    self.retention_step();
                    continue;
                }
                None => break, // every sender is gone
            }
            while self.batch.len() < MAX_BATCH {
                match self.rx.try_recv() {
                    Ok(msg) => self.take(msg),
                    Err(_) => break,
                }
            }
            let small = self.batch.len() < SMALL_BATCH;
            self.commit();
            if small && !self.shutting_down {
                std::thread::sleep(LINGER);
            }
        }
        self.commit();
        let written = self.metrics.audit_written.load(Relaxed);
        tracing::info!(written, "audit writer stopped: queue drained");
    }

    /// Writes the batch, retrying until it is in (bounded only at shutdown), then
    /// acknowledges its entries and answers the flushes that were queued behind it.
    fn commit(&mut self) {
        let mut delay = Duration::from_millis(50);
        let mut attempts = 0u32;
        while !self.batch.is_empty() {
            attempts += 1;
            if attempts > 1 {
                self.drop_abandoned();
            }
            match self.batches.insert(&self.batch) {
                Ok(()) => {
                    self.metrics.audit_failing.store(false, Relaxed);
                    let n = self.batch.len() as u64;
                    self.metrics.audit_written.fetch_add(n, Relaxed);
                    self.commits.send_modify(|c| *c += n);
                    self.metrics.audit_batches.fetch_add(1, Relaxed);
                    self.batch.clear();
                    for ack in self.acks.drain(..) {
                        // A caller that gave up waiting no longer listens; the entry is in.
                        let _ = ack.send(());
                    }
                }
                Err(e) => {
                    self.metrics.audit_write_errors.fetch_add(1, Relaxed);
                    self.metrics.audit_failing.store(true, Relaxed);
                    if self.shutting_down && attempts >= 20 {
                        tracing::error!(
                            lost = self.batch.len(),
                            "audit write failed at shutdown after {attempts} attempts: {e:#}"
                        );
                        self.batch.clear();
                        // Dropped unanswered: their callers answer 503, not a decision.
                        self.acks.clear();
                        break;
                    }
                    tracing::error!(
                        pending = self.batch.len(),
                        "audit write failed (retrying in {delay:?}): {e:#}"
                    );
                    std::thread::sleep(delay);
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
        for done in self.flushes.drain(..) {
            let _ = done.send(());
        }
    }

    /// Forgets the entries whose callers stopped waiting ([`AUDIT_WAIT`]): they answered
    /// 503, so their decisions were never given and must not be logged as given.
    fn drop_abandoned(&mut self) {
        if self.acks.iter().all(|a| !a.is_closed()) {
            return;
        }
        let entries = std::mem::take(&mut self.batch);
        let acks = std::mem::take(&mut self.acks);
        let mut dropped = 0u64;
        for (entry, ack) in entries.into_iter().zip(acks) {
            if ack.is_closed() {
                dropped += 1;
            } else {
                self.batch.push(entry);
                self.acks.push(ack);
            }
        }
        tracing::warn!(
            dropped,
            "audit entries whose callers were answered 503 are not written"
        );
    }

    fn retention_step(&mut self) {
        let Some(job) = self.retention.as_mut() else {
            return;
        };
        match self.batches.expire_chunk(job) {
            Ok(0) => self.retention = None,
            Ok(n) => {
                self.metrics.audit_expired.fetch_add(n as u64, Relaxed);
            }
            Err(e) => {
                tracing::warn!("audit retention failed (will retry next run): {e:#}");
                self.retention = None;
            }
        }
    }
}

/// Makes the closed-queue error readable in logs.
impl std::fmt::Display for AuditClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the audit log is not accepting entries")
    }
}

impl std::error::Error for AuditClosed {}
