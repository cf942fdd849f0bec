//! The conformance corpus through the Wasm component in wasmtime: every case must give
//! the same decision as the native core, byte for byte.

use anyhow::Result;
use meshguard_conformance::{Host, trials};
use meshguard_core::{Decision, Effect, PolicySet, RateLimiter, Source, parse_request};
use meshguard_gateway::engine::{Evaluator, Limits, Runtime};
use serde_json::Value;

struct Wasm {
    runtime: Runtime,
    evaluator: Option<Evaluator>,
    /// The native core on the same policies: every decision is compared with it.
    native: Option<PolicySet>,
    limiter: RateLimiter,
    native_limiter: RateLimiter,
}

impl Host for Wasm {
    fn load(&mut self, sources: &[(String, String)], fallback: &str) -> Result<(), Vec<Value>> {
        let fallback = if fallback == "allow" {
            Effect::Allow
        } else {
            Effect::Deny
        };
        let to_json = |ds: &[meshguard_core::Diagnostic]| -> Vec<Value> {
            ds.iter()
                .map(|d| serde_json::to_value(d).unwrap_or(Value::Null))
                .collect()
        };
        let loaded = self
            .runtime
            .load(sources, fallback)
            .map_err(|e| vec![Value::String(format!("host failure: {e:#}"))])?;
        let native = PolicySet::compile(sources.iter().map(|(n, t)| Source::new(n, t)));
        match (loaded, native) {
            (Ok(ev), Ok(set)) => {
                self.evaluator = Some(ev);
                self.native = Some(set.with_fallback(fallback));
                self.limiter = RateLimiter::new();
                self.native_limiter = RateLimiter::new();
                Ok(())
            }
            (Err(diags), Err(native)) => {
                let wasm = to_json(&diags);
                if wasm != to_json(&native.diagnostics()) {
                    return Err(vec![Value::String(
                        "diagnostics differ between the component and the native core".into(),
                    )]);
                }
                Err(wasm)
            }
            _ => Err(vec![Value::String(
                "the component and the native core disagree on whether the set loads".into(),
            )]),
        }
    }

    fn decide(&mut self, request_json: &str, explain: bool) -> Result<String> {
        let (Some(ev), Some(native)) = (&self.evaluator, &self.native) else {
            anyhow::bail!("no policy set loaded");
        };
        let (mut wasm, mut expected, request) = match parse_request(request_json) {
            Ok(r) => (ev.decide(&r, explain), native.decide(&r, explain), Some(r)),
            Err(e) => {
                let d = Decision::invalid(&Default::default(), &e);
                (d.clone(), d, None)
            }
        };
        if let Some(r) = &request {
            self.limiter.count(&mut wasm, r, None);
            self.native_limiter.count(&mut expected, r, None);
        }
        let wasm_json = serde_json::to_string(&wasm)?;
        let native_json = serde_json::to_string(&expected)?;
        anyhow::ensure!(
            wasm_json == native_json,
            "component and native core differ:\n  wasm:   {wasm_json}\n  native: {native_json}"
        );
        Ok(wasm_json)
    }
}

fn main() -> Result<()> {
    let args = libtest_mimic::Arguments::from_args();
    // The corpus is about what is decided, not how fast: a generous deadline, so a
    // loaded machine (parallel builds, 2 cores) cannot turn a slow first call into an
    // `evaluation-error` mismatch. The deadline itself is tested in `tests/http/check.rs`.
    let runtime = Runtime::new(Limits {
        decide_deadline: std::time::Duration::from_secs(30),
        ..Limits::default()
    })?;
    let trials = trials("wasm", move || Wasm {
        runtime: runtime.clone(),
        evaluator: None,
        native: None,
        limiter: RateLimiter::new(),
        native_limiter: RateLimiter::new(),
    })?;
    libtest_mimic::run(&args, trials).exit()
}
