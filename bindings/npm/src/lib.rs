//! `meshguard-wasm`: the MeshGuard evaluator for JavaScript through wasm-bindgen.
//!
//! The npm package `@meshguard/policy` wraps these classes in its TypeScript API
//! (`bindings/npm/js/`); the napi-rs addon (`bindings/node/`) exports the very same
//! classes natively. Both only register the shared [`glue`] functions: requests go in as
//! JSON text, decisions and diagnostics come back as the core's JSON text.

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
    glue::to_json(&glue::invalid(problem))
}

/// A compiled, immutable policy set.
#[wasm_bindgen(js_name = PolicySet)]
#[derive(Debug)]
pub struct JsPolicySet {
    inner: core::PolicySet,
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
            .map(|inner| JsPolicySet { inner })
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
        glue::to_json(&glue::decide(&self.inner, request, explain, None))
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
        glue::to_json(&glue::decide(&self.inner, request, explain, Some(limit)))
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
