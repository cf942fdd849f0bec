//! `meshguard-wasm`: the MeshGuard evaluator for JavaScript through wasm-bindgen.
//!
//! The npm package `@meshguard/policy` wraps these classes in its TypeScript API
//! (`bindings/npm/js/`); the napi-rs addon (`bindings/node/`) exports the very same
//! classes natively. Both only register the shared [`glue`] functions: requests go in as
//! JSON text or written into an exchange buffer in this module's memory, decisions come
//! back as the core's JSON text or as a compact record in that buffer, diagnostics as
//! JSON text.

use meshguard_core as core;
use wasm_bindgen::prelude::*;

pub mod glue;

/// The core's version.
#[wasm_bindgen]
pub fn version() -> String {
    core::VERSION.to_owned()
}

/// Lints sources loaded as one set: the findings as JSON; throws the load errors as a
/// JSON string, as `PolicySet.compile` does.
#[wasm_bindgen]
pub fn lint(names: Vec<String>, texts: Vec<String>) -> Result<String, JsValue> {
    glue::lint(&names, &texts).map_err(|diagnostics| JsValue::from_str(&diagnostics))
}

/// The core's invalid-request decision (JSON) for a request JavaScript could not
/// serialise.
#[wasm_bindgen(js_name = invalidDecision)]
pub fn invalid_decision(problem: &str) -> String {
    glue::invalid(problem).to_json()
}

/// This module's memory, where JS writes requests and reads compact records
/// (`PolicySet.exchangePtr`). Not named `memory`: the module already exports the memory
/// itself under that name.
#[wasm_bindgen(js_name = wasmMemory)]
pub fn wasm_memory() -> JsValue {
    wasm_bindgen::memory()
}

/// The length of a compact record, in `i32`s.
#[wasm_bindgen(js_name = recordLen)]
pub fn record_len() -> usize {
    glue::RECORD_LEN
}

/// The size of an exchange buffer, in bytes.
#[wasm_bindgen(js_name = exchangeLen)]
pub fn exchange_len() -> usize {
    glue::exchange::LEN
}

/// A compiled, immutable policy set, with the state of its compact decisions.
#[wasm_bindgen(js_name = PolicySet)]
#[derive(Debug)]
pub struct JsPolicySet {
    inner: core::PolicySet,
    host: glue::Compact,
    /// The exchange buffer (requests in, compact records out), written and read by JS in
    /// place: allocated once, so its address holds.
    exchange: Box<[u8]>,
}

#[wasm_bindgen(js_class = PolicySet)]
impl JsPolicySet {
    /// Compiles sources in load order; throws the diagnostics as a JSON string.
    pub fn compile(
        names: Vec<String>,
        texts: Vec<String>,
        fallback: &str,
    ) -> Result<JsPolicySet, JsValue> {
        glue::compile(&names, &texts, fallback)
            .map(|inner| JsPolicySet {
                inner,
                host: glue::Compact::new(),
                exchange: vec![0; glue::exchange::LEN].into_boxed_slice(),
            })
            .map_err(|diagnostics| JsValue::from_str(&diagnostics))
    }

    /// How many policies the set holds.
    #[wasm_bindgen(getter)]
    pub fn size(&self) -> usize {
        self.inner.len()
    }

    /// The policy names, in load order.
    #[wasm_bindgen(getter)]
    pub fn names(&self) -> Vec<String> {
        self.inner.policies().map(|p| p.name.to_string()).collect()
    }

    /// Decides one request (JSON text); the decision as JSON text.
    pub fn decide(&self, request: &str, explain: bool) -> String {
        glue::decide(&self.inner, request, explain, None).to_json()
    }

    /// Decides one request and counts it against `limiter` (at its `time`, else `now_ms`).
    #[wasm_bindgen(js_name = decideLimited)]
    pub fn decide_limited(
        &self,
        request: &str,
        explain: bool,
        limiter: &mut JsRateLimiter,
        now_ms: Option<f64>,
    ) -> String {
        let limit = glue::Limit {
            limiter: &mut limiter.inner,
            now_ms,
        };
        glue::decide(&self.inner, request, explain, Some(limit)).to_json()
    }

    /// Where the exchange buffer is, in `memory()`.
    #[wasm_bindgen(js_name = exchangePtr)]
    pub fn exchange_ptr(&self) -> usize {
        self.exchange.as_ptr() as usize
    }

    /// Registers an agent in `slot` for compact decisions.
    #[wasm_bindgen(js_name = setAgent)]
    pub fn set_agent(
        &mut self,
        slot: u32,
        id: Option<String>,
        name: Option<String>,
        trust_tier: Option<String>,
        tags: Vec<String>,
        org_id: Option<String>,
    ) {
        let agent = glue::agent(id, name, trust_tier, tags, org_id);
        self.host.set_agent(slot, agent);
    }

    /// A string numbered by compact records.
    pub fn string(&self, i: u32) -> Option<String> {
        self.host.string(i).map(str::to_owned)
    }

    /// Audit settings numbered by compact records, as JSON.
    #[wasm_bindgen(js_name = auditJson)]
    pub fn audit_json(&self, i: u32) -> Option<String> {
        self.host.audit_json(i)
    }

    /// Decides the request written in the exchange buffer; its record replaces the
    /// request's header there. Returns the text the record points into.
    #[wasm_bindgen(js_name = decideExchange)]
    pub fn decide_exchange(&mut self) -> Option<String> {
        glue::decide_exchange(&self.inner, &mut self.host, &mut self.exchange, None)
    }

    /// [`Self::decide_exchange`], counting the request against `limiter`.
    #[wasm_bindgen(js_name = decideExchangeLimited)]
    pub fn decide_exchange_limited(
        &mut self,
        limiter: &mut JsRateLimiter,
        now_ms: Option<f64>,
    ) -> Option<String> {
        let limit = glue::Limit {
            limiter: &mut limiter.inner,
            now_ms,
        };
        glue::decide_exchange(&self.inner, &mut self.host, &mut self.exchange, Some(limit))
    }

    /// Decides requests in order; a JSON array of decisions.
    #[wasm_bindgen(js_name = decideBatch)]
    pub fn decide_batch(&self, requests: Vec<String>, explain: bool) -> String {
        glue::decide_batch(&self.inner, &requests, explain, None)
    }

    /// Decides requests in order, counting each against `limiter`.
    #[wasm_bindgen(js_name = decideBatchLimited)]
    pub fn decide_batch_limited(
        &self,
        requests: Vec<String>,
        explain: bool,
        limiter: &mut JsRateLimiter,
        now_ms: Option<f64>,
    ) -> String {
        let limit = glue::Limit {
            limiter: &mut limiter.inner,
            now_ms,
        };
        glue::decide_batch(&self.inner, &requests, explain, Some(limit))
    }
}

/// The core's sliding-window rate limiter, owned by the JS host.
#[wasm_bindgen(js_name = RateLimiter)]
#[derive(Debug, Default)]
pub struct JsRateLimiter {
    inner: core::RateLimiter,
}

#[wasm_bindgen(js_class = RateLimiter)]
impl JsRateLimiter {
    /// An empty limiter.
    #[wasm_bindgen(constructor)]
    pub fn new() -> JsRateLimiter {
        JsRateLimiter::default()
    }

    /// Drops the logs with nothing left in their windows at `now_ms`.
    pub fn prune(&mut self, now_ms: f64) {
        self.inner.prune(now_ms as i64);
    }
}
