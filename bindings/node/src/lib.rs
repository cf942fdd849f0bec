//! `meshguard-node`: the MeshGuard evaluator as a Node native addon (napi-rs).
//!
//! The `native` backend of the npm package `@meshguard/policy`: the same classes and
//! functions as the wasm-bindgen crate (`bindings/npm/src/lib.rs`), registering the
//! same shared glue, so the TypeScript API on top cannot tell them apart.

use std::cell::RefCell;
use std::rc::Rc;

use meshguard_core as core;
use napi::{Env, sys};
use napi_derive::napi;

mod exchange;
#[path = "../../npm/src/glue.rs"]
mod glue;

/// A decision allocates a few short strings and frees them before the call returns;
/// mimalloc's thread-local free lists take a fifth of the instructions glibc's malloc
/// does for that pattern.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The core's version.
#[napi]
pub fn version() -> String {
    core::VERSION.to_owned()
}

/// Lints sources loaded as one set: the findings as JSON; throws an `Error` whose message
/// is the load errors as JSON, as `PolicySet.compile` does.
#[napi]
pub fn lint(names: Vec<String>, texts: Vec<String>) -> napi::Result<String> {
    glue::lint(&names, &texts).map_err(napi::Error::from_reason)
}

/// The core's invalid-request decision (JSON) for a request JavaScript could not
/// serialise.
#[napi(js_name = "invalidDecision")]
pub fn invalid_decision(problem: String) -> String {
    glue::invalid(&problem).to_json()
}

/// The length of a compact record, in `i32`s.
#[napi(js_name = "recordLen")]
pub fn record_len() -> u32 {
    glue::RECORD_LEN as u32
}

/// The size of an exchange buffer, in bytes.
#[napi(js_name = "exchangeLen")]
pub fn exchange_len() -> u32 {
    glue::exchange::LEN as u32
}

/// A compiled, immutable policy set, with the state of its compact decisions.
#[napi(js_name = "PolicySet")]
#[derive(Debug)]
pub struct JsPolicySet {
    /// Shared with the deciders this set made ([`exchange::Engine`]).
    inner: Rc<core::PolicySet>,
    host: Rc<RefCell<glue::Compact>>,
}

#[napi]
impl JsPolicySet {
    /// Compiles sources in load order; throws an `Error` whose message is the
    /// diagnostics as JSON.
    #[napi(factory)]
    pub fn compile(
        names: Vec<String>,
        texts: Vec<String>,
        fallback: String,
    ) -> napi::Result<JsPolicySet> {
        glue::compile(&names, &texts, &fallback)
            .map(|inner| JsPolicySet {
                inner: Rc::new(inner),
                host: Rc::default(),
            })
            .map_err(napi::Error::from_reason)
    }

    /// How many policies the set holds.
    #[napi(getter)]
    pub fn size(&self) -> u32 {
        u32::try_from(self.inner.len()).unwrap_or(u32::MAX)
    }

    /// The policy names, in load order.
    #[napi(getter)]
    pub fn names(&self) -> Vec<String> {
        self.inner.policies().map(|p| p.name.to_string()).collect()
    }

    /// Decides one request (JSON text); the decision as JSON text.
    #[napi]
    pub fn decide(&self, request: String, explain: bool) -> String {
        glue::decide(&self.inner, &request, explain, None).to_json()
    }

    /// Decides one request and counts it against `limiter` (at its `time`, else `now_ms`).
    #[napi]
    pub fn decide_limited(
        &self,
        request: String,
        explain: bool,
        limiter: &JsRateLimiter,
        now_ms: Option<f64>,
    ) -> napi::Result<String> {
        limiter.with_limit(now_ms, |limit| {
            glue::decide(&self.inner, &request, explain, Some(limit)).to_json()
        })
    }

    /// Registers an agent in `slot` for compact decisions.
    #[napi]
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
        self.host.borrow_mut().set_agent(slot, agent);
    }

    /// A string numbered by compact records.
    #[napi]
    pub fn string(&self, i: u32) -> Option<String> {
        self.host.borrow().string(i).map(str::to_owned)
    }

    /// Audit settings numbered by compact records, as JSON.
    #[napi]
    pub fn audit_json(&self, i: u32) -> Option<String> {
        self.host.borrow().audit_json(i)
    }

    /// The function deciding requests written in an exchange buffer (`(buffer:
    /// ArrayBuffer) => string | undefined`, see `exchange.rs`): the hot path, without
    /// napi-rs's per-call conversions.
    #[napi(ts_return_type = "(exchange: ArrayBuffer) => string | undefined")]
    pub fn decider(&self, env: Env) -> napi::Result<sys::napi_value> {
        self.engine(env, None)
    }

    /// A decider that also counts each request against `limiter` (`(buffer: ArrayBuffer,
    /// nowMs?: number) => string | undefined`); the JS side keeps one per limiter.
    #[napi(ts_return_type = "(exchange: ArrayBuffer, nowMs?: number) => string | undefined")]
    pub fn limited_decider(
        &self,
        env: Env,
        limiter: &JsRateLimiter,
    ) -> napi::Result<sys::napi_value> {
        self.engine(env, Some(Rc::clone(&limiter.inner)))
    }

    /// Decides requests in order; a JSON array of decisions.
    #[napi]
    pub fn decide_batch(&self, requests: Vec<String>, explain: bool) -> String {
        glue::decide_batch(&self.inner, &requests, explain, None)
    }

    /// Decides requests in order, counting each against `limiter`.
    #[napi]
    pub fn decide_batch_limited(
        &self,
        requests: Vec<String>,
        explain: bool,
        limiter: &JsRateLimiter,
        now_ms: Option<f64>,
    ) -> napi::Result<String> {
        limiter.with_limit(now_ms, |limit| {
            glue::decide_batch(&self.inner, &requests, explain, Some(limit))
        })
    }
}

impl JsPolicySet {
    /// A decider function over this set, counting in `limiter` if given.
    fn engine(
        &self,
        env: Env,
        limiter: Option<Rc<RefCell<core::RateLimiter>>>,
    ) -> napi::Result<sys::napi_value> {
        let engine = exchange::Engine {
            set: Rc::clone(&self.inner),
            host: Rc::clone(&self.host),
            limiter,
        };
        exchange::function(env.raw(), engine)
    }
}

/// The core's sliding-window rate limiter, owned by the JS host.
#[napi(js_name = "RateLimiter")]
#[derive(Debug, Default)]
pub struct JsRateLimiter {
    /// Shared with the limited deciders made for it ([`exchange::Engine`]).
    inner: Rc<RefCell<core::RateLimiter>>,
}

impl JsRateLimiter {
    /// The limiter's state, for one call.
    fn borrow(&self) -> napi::Result<std::cell::RefMut<'_, core::RateLimiter>> {
        self.inner
            .try_borrow_mut()
            .map_err(|_| napi::Error::from_reason("the rate limiter is in use"))
    }

    /// Runs `f` with this limiter as the limit of its decisions, at `now_ms` if given.
    fn with_limit<T>(
        &self,
        now_ms: Option<f64>,
        f: impl FnOnce(glue::Limit<'_>) -> T,
    ) -> napi::Result<T> {
        let mut limiter = self.borrow()?;
        Ok(f(glue::Limit {
            limiter: &mut limiter,
            now_ms,
        }))
    }
}

#[napi]
impl JsRateLimiter {
    /// An empty limiter.
    #[napi(constructor)]
    pub fn new() -> JsRateLimiter {
        JsRateLimiter::default()
    }

    /// Drops the logs with nothing left in their windows at `now_ms`.
    #[napi]
    pub fn prune(&self, now_ms: f64) -> napi::Result<()> {
        self.borrow()?.prune(now_ms as i64);
        Ok(())
    }
}
