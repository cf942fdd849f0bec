//! The evaluator component, hosted in wasmtime.
//!
//! The component is compiled once per process ([`Runtime`]); a loaded policy set is an
//! [`Evaluator`]: a pool of warm instances, each with its own `Store` and the set already
//! compiled inside it, because instantiating per request costs tens of microseconds and
//! a call on a warm instance about one. Every call runs under an epoch deadline and a
//! memory cap; a trap or a blown deadline answers deny (fail closed) and the instance is
//! thrown away, never reused.

mod convert;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use meshguard_core as core;
use wasmtime::component::{Component, Linker, ResourceAny, ResourceTable};
use wasmtime::{Config, Engine, Store, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// Host bindings generated from the same WIT file the guest is built from.
#[allow(missing_docs, clippy::all)]
mod bindings {
    wasmtime::component::bindgen!({
        world: "meshguard",
        path: "../../wit",
    });
}

use bindings::meshguard::policy::types as wit;
use bindings::{Meshguard, MeshguardPre};

/// The component bytes, built and embedded by `build.rs`.
pub const COMPONENT: &[u8] = include_bytes!(env!("MESHGUARD_COMPONENT_WASM"));

/// How often the epoch advances; deadlines are counted in these ticks.
const TICK: Duration = Duration::from_millis(1);

/// Limits for one instance.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most linear memory one instance may grow to, in bytes.
    pub memory_bytes: usize,
    /// Longest one decision may run.
    pub decide_deadline: Duration,
    /// Longest compiling the policy set inside an instance may run.
    pub compile_deadline: Duration,
    /// Most idle instances kept warm.
    pub pool_size: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 512 << 20,
            decide_deadline: Duration::from_millis(100),
            compile_deadline: Duration::from_secs(60),
            pool_size: 16,
        }
    }
}

struct State {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: StoreLimits,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// The compiled component and its linker, shared by every policy set.
#[derive(Clone)]
pub struct Runtime {
    engine: Engine,
    pre: MeshguardPre<State>,
    limits: Limits,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// Compiles the embedded component and starts the epoch clock.
    pub fn new(limits: Limits) -> Result<Self> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        // `perf record` can name the guest's functions when asked for (a debugging aid:
        // the map file grows with every compiled function, so it is off by default).
        if std::env::var_os("MESHGUARD_WASM_PERFMAP").is_some() {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = Engine::new(&config)?;
        let component = Component::new(&engine, COMPONENT)
            .map_err(anyhow::Error::from)
            .context("compiling the component")?;
        let mut linker: Linker<State> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        let pre = MeshguardPre::new(linker.instantiate_pre(&component)?)?;

        // The epoch clock: a thread that ends when the engine is gone.
        let weak = engine.weak();
        std::thread::Builder::new()
            .name("meshguard-epoch".to_owned())
            .spawn(move || {
                while let Some(engine) = weak.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(TICK);
                }
            })?;
        Ok(Runtime {
            engine,
            pre,
            limits,
        })
    }

    /// The component's version string (what `meshguard_core::VERSION` was at build time).
    pub fn version(&self) -> Result<String> {
        let (mut store, bindings) = self.instantiate()?;
        store.set_epoch_deadline(ticks(self.limits.compile_deadline));
        Ok(bindings
            .meshguard_policy_evaluator()
            .call_version(&mut store)?)
    }

    fn instantiate(&self) -> Result<(Store<State>, Meshguard)> {
        let state = State {
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
            limits: StoreLimitsBuilder::new()
                .memory_size(self.limits.memory_bytes)
                .instances(4)
                .build(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline(ticks(self.limits.compile_deadline));
        let bindings = self.pre.instantiate(&mut store)?;
        Ok((store, bindings))
    }

    /// Loads a policy set: compiles it in a first instance (which also reports every
    /// diagnostic), lints it there, and keeps that instance warm. `Ok(Err(..))` is a bad
    /// policy.
    pub fn load(
        &self,
        sources: &[(String, String)],
        fallback: core::Effect,
    ) -> Result<Result<Evaluator, Vec<core::Diagnostic>>> {
        let sources: Arc<Vec<wit::Source>> = Arc::new(
            sources
                .iter()
                .map(|(name, text)| wit::Source {
                    name: name.clone(),
                    text: text.clone(),
                })
                .collect(),
        );
        let fallback = convert::effect_out(fallback);
        let mut first = match Slot::new(self, &sources, fallback)? {
            Ok(slot) => slot,
            Err(diags) => return Ok(Err(diags)),
        };
        let policy_names = first.policy_names(self.limits)?;
        // The analysis only informs: if it traps or overruns the deadline, the set still
        // loads, without findings, on a fresh instance (a trapped one is never reused).
        let findings = match first.lint(self.limits, &sources) {
            Ok(findings) => findings,
            Err(e) => {
                tracing::warn!(
                    "the policy analysis did not finish ({e:#}); loading without lint findings"
                );
                first = match Slot::new(self, &sources, fallback)? {
                    Ok(slot) => slot,
                    Err(diags) => return Ok(Err(diags)),
                };
                Vec::new()
            }
        };
        Ok(Ok(Evaluator {
            runtime: self.clone(),
            sources,
            fallback,
            policy_names,
            findings,
            idle: Mutex::new(vec![first]),
        }))
    }
}

fn ticks(d: Duration) -> u64 {
    u64::try_from(d.as_millis() / TICK.as_millis().max(1))
        .unwrap_or(u64::MAX)
        .max(1)
}

/// One warm instance with the policy set compiled inside it.
struct Slot {
    store: Store<State>,
    bindings: Meshguard,
    set: ResourceAny,
}

impl Slot {
    fn new(
        rt: &Runtime,
        sources: &[wit::Source],
        fallback: wit::Effect,
    ) -> Result<Result<Slot, Vec<core::Diagnostic>>> {
        let (mut store, bindings) = rt.instantiate()?;
        let compiled = bindings
            .meshguard_policy_evaluator()
            .policy_set()
            .call_compile(&mut store, sources, fallback)?;
        Ok(match compiled {
            Ok(set) => Ok(Slot {
                store,
                bindings,
                set,
            }),
            Err(diags) => Err(diags.iter().map(convert::diagnostic_in).collect()),
        })
    }

    /// The analysis's findings about the set (it loads: the slot compiled it).
    fn lint(&mut self, limits: Limits, sources: &[wit::Source]) -> Result<Vec<core::Diagnostic>> {
        self.store
            .set_epoch_deadline(ticks(limits.compile_deadline));
        let linted = self
            .bindings
            .meshguard_policy_evaluator()
            .call_lint(&mut self.store, sources)?;
        // Load errors cannot happen here: the same sources just compiled in this instance.
        Ok(linted
            .unwrap_or_else(|errors| errors)
            .iter()
            .map(convert::diagnostic_in)
            .collect())
    }

    fn policy_names(&mut self, limits: Limits) -> Result<Vec<String>> {
        self.store.set_epoch_deadline(ticks(limits.decide_deadline));
        Ok(self
            .bindings
            .meshguard_policy_evaluator()
            .policy_set()
            .call_policy_names(&mut self.store, self.set)?)
    }
}

/// A loaded policy set: a pool of warm instances. `Send + Sync`; share it behind an `Arc`.
pub struct Evaluator {
    runtime: Runtime,
    sources: Arc<Vec<wit::Source>>,
    fallback: wit::Effect,
    policy_names: Vec<String>,
    /// What the analysis found (warnings, notes): the set loads, but some rules
    /// probably do not do what their author meant.
    findings: Vec<core::Diagnostic>,
    idle: Mutex<Vec<Slot>>,
}

impl std::fmt::Debug for Evaluator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Evaluator")
            .field("policies", &self.policy_names)
            .finish_non_exhaustive()
    }
}

impl Evaluator {
    /// The policy names, in load order.
    pub fn policy_names(&self) -> &[String] {
        &self.policy_names
    }

    /// The analysis's findings about the loaded set, by file and position.
    pub fn findings(&self) -> &[core::Diagnostic] {
        &self.findings
    }

    fn checkout(&self) -> Result<Slot> {
        let slot = self
            .idle
            .lock()
            .map_err(|_| anyhow!("instance pool lock poisoned"))?
            .pop();
        match slot {
            Some(s) => Ok(s),
            None => Slot::new(&self.runtime, &self.sources, self.fallback)?
                .map_err(|_| anyhow!("the policy set no longer compiles")),
        }
    }

    fn checkin(&self, slot: Slot) {
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < self.runtime.limits.pool_size
        {
            idle.push(slot);
        }
    }

    /// Runs `f` on a warm instance under the decision deadline; on any failure the
    /// instance is dropped and the error returned.
    fn with_slot<T>(&self, f: impl FnOnce(&mut Slot) -> Result<T>) -> Result<T> {
        let mut slot = self.checkout()?;
        slot.store
            .set_epoch_deadline(ticks(self.runtime.limits.decide_deadline));
        let out = f(&mut slot)?;
        self.checkin(slot);
        Ok(out)
    }

    /// Decides one request in the component. A trap, a deadline or any host failure
    /// becomes a deny (rule `evaluation-error`), never an allow. The request's strings are
    /// copied into the component's record either way, so this is [`Evaluator::decide_owned`]
    /// on a copy.
    pub fn decide(&self, request: &core::Request, explain: bool) -> core::Decision {
        self.decide_owned(request.clone(), explain)
    }

    /// [`Evaluator::decide`] for a request the caller no longer needs: its strings move
    /// into the component's record instead of being copied (the gateway's hot path).
    pub fn decide_owned(&self, request: core::Request, explain: bool) -> core::Decision {
        let wit_request = convert::request_into(request);
        let result = self.with_slot(|slot| {
            Ok(slot
                .bindings
                .meshguard_policy_evaluator()
                .policy_set()
                .call_decide(&mut slot.store, slot.set, &wit_request, explain)?)
        });
        match result {
            Ok(d) => convert::decision_in(d),
            Err(e) => evaluation_error(&convert::request_back(wit_request), &e),
        }
    }

    /// Decides many requests in one component call.
    pub fn decide_batch(&self, requests: &[core::Request], explain: bool) -> Vec<core::Decision> {
        let wit_requests: Vec<wit::Request> = requests
            .iter()
            .cloned()
            .map(convert::request_into)
            .collect();
        let result = self.with_slot(|slot| {
            Ok(slot
                .bindings
                .meshguard_policy_evaluator()
                .policy_set()
                .call_decide_batch(&mut slot.store, slot.set, &wit_requests, explain)?)
        });
        match result {
            Ok(ds) if ds.len() == requests.len() => {
                ds.into_iter().map(convert::decision_in).collect()
            }
            Ok(_) => {
                let e = anyhow!("the component answered a different number of decisions");
                requests.iter().map(|r| evaluation_error(r, &e)).collect()
            }
            Err(e) => requests.iter().map(|r| evaluation_error(r, &e)).collect(),
        }
    }
}

/// The fail-closed answer when the component could not decide.
pub fn evaluation_error(request: &core::Request, error: &anyhow::Error) -> core::Decision {
    let mut d = core::Decision::invalid(request, &core::RequestError::Malformed(String::new()));
    d.rule = Arc::from("evaluation-error");
    d.reason = Arc::from(format!("evaluation failed: {}", root_cause(error)));
    d.origin = core::Origin::EvaluationError;
    d
}

fn root_cause(e: &anyhow::Error) -> String {
    match e.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) => "deadline exceeded".to_owned(),
        Some(t) => format!("trap: {t}"),
        None => e.root_cause().to_string(),
    }
}
