//! The evaluator as a Wasm component: a wit-bindgen guest over `meshguard-core`.
//!
//! This file only translates between the WIT records of `wit/meshguard.wit` and the
//! core's `boundary` types; every decision is made by the core. Nothing here can panic:
//! compile errors come back as a WIT `result`, and invalid requests as deny decisions.
//! Build with `cargo build -p meshguard-component --target wasm32-wasip2 --release`.

mod convert;

use meshguard_core as core;

/// The glue wit-bindgen generates from the WIT file: the only `unsafe` code in the
/// component (the canonical ABI's lifting and lowering), which is why the workspace's
/// `unsafe_code` lint is relaxed for this module alone.
#[allow(unsafe_code, missing_docs, clippy::all)]
mod bindings {
    wit_bindgen::generate!({
        world: "meshguard",
        path: "../../wit",
        pub_export_macro: true,
    });
}

use bindings::exports::meshguard::policy::evaluator::{Guest, GuestPolicySet, PolicySet};
use bindings::meshguard::policy::types as wit;

struct Component;

/// The guest side of the `policy-set` resource.
struct Set(core::PolicySet);

fn sources(list: &[wit::Source]) -> Vec<core::Source<'_>> {
    list.iter()
        .map(|s| core::Source::new(&s.name, &s.text))
        .collect()
}

impl Guest for Component {
    type PolicySet = Set;

    fn validate(list: Vec<wit::Source>) -> Vec<wit::Diagnostic> {
        core::validate(sources(&list))
            .iter()
            .map(convert::diagnostic)
            .collect()
    }

    fn lint(list: Vec<wit::Source>) -> Result<Vec<wit::Diagnostic>, Vec<wit::Diagnostic>> {
        let diagnostics = |d: Vec<core::Diagnostic>| d.iter().map(convert::diagnostic).collect();
        core::lint(sources(&list))
            .map(diagnostics)
            .map_err(|e| diagnostics(e.diagnostics()))
    }

    fn version() -> String {
        core::VERSION.to_owned()
    }
}

impl GuestPolicySet for Set {
    fn compile(
        list: Vec<wit::Source>,
        fallback: wit::Effect,
    ) -> Result<PolicySet, Vec<wit::Diagnostic>> {
        match core::PolicySet::compile(sources(&list)) {
            Ok(set) => Ok(PolicySet::new(Set(
                set.with_fallback(convert::effect_in(fallback))
            ))),
            Err(e) => Err(e.diagnostics().iter().map(convert::diagnostic).collect()),
        }
    }

    fn decide(&self, request: wit::Request, explain: bool) -> wit::Decision {
        convert::decision(self.decide_one(request, explain))
    }

    fn decide_batch(&self, requests: Vec<wit::Request>, explain: bool) -> Vec<wit::Decision> {
        requests
            .into_iter()
            .map(|r| convert::decision(self.decide_one(r, explain)))
            .collect()
    }

    fn policy_names(&self) -> Vec<String> {
        self.0.policies().map(|p| p.name.clone()).collect()
    }
}

impl Set {
    fn decide_one(&self, request: wit::Request, explain: bool) -> core::Decision {
        self.0.decide(&convert::request(request), explain)
    }
}

/// The exported entry points, also generated glue (see [`bindings`]). Only a Wasm build
/// exports them: their names (`meshguard:policy/evaluator#…`) are not valid symbols for a
/// native linker, and a native build of this crate exists only for `cargo test` and clippy.
#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)]
mod entry {
    use super::Component;
    crate::bindings::export!(Component with_types_in crate::bindings);
}
