//! The MeshGuard policy evaluator.
//!
//! Agents ask before they act; policies answer `allow`, `deny` or `require_approval`,
//! with a reason. This crate is the one evaluator every host runs (the gateway's Wasm
//! component, the npm package, the Node addon, the CLI). It parses YAML and JSON
//! policies with precise diagnostics, compiles them into an indexed [`PolicySet`], and
//! decides requests exactly as `docs/semantics.md` says. It performs no I/O, reads no clock, keeps
//! no global state and does not panic: hosts pass text in and get values out.
//!
//! ```
//! use meshguard_core::{PolicySet, Request, Source, Effect};
//! # fn main() -> Result<(), meshguard_core::LoadError> {
//!
//! let text = r#"
//! name: email
//! rules:
//!   - effect: allow
//!     actions: ["write:email"]
//!     conditions:
//!       resource:
//!         matches: "*@yourcompany.com"
//!   - effect: deny
//!     actions: ["write:email"]
//!     reason: External email requires approval
//! "#;
//! let set = PolicySet::compile([Source::new("email.yaml", text)])?;
//! let request = Request {
//!     action: "write:email".into(),
//!     resource: Some("Bob@YourCompany.COM".into()),
//!     ..Request::default()
//! };
//! let decision = set.decide(&request, false);
//! assert_eq!(decision.effect, Effect::Allow);
//! assert_eq!(decision.resource.as_deref(), Some("Bob@yourcompany.com"));
//! # Ok(())
//! # }
//! ```
//!
//! Module map: `tree` (text → spanned nodes, limits), `schema` (nodes → [`model`], with
//! diagnostics), `glob` (patterns), `kinds` (resources read by kind: shell, url, path,
//! email, plain), `compile`
//! (indexes), `select` (what an agent and an action select, and the per-agent memo of
//! it), `matching` and `eval` (the decision and its explanation), `ratelimit`
//! (the limiter hosts own), `boundary` (the serde types every binding shares),
//! [`analysis`] (static analysis over the model: [`lint`], the one function every host
//! calls for `meshguard lint`'s findings, as [`Diagnostic`]s with real spans).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod analysis;
mod boundary;
pub mod compact;
mod compile;
mod error;
mod eval;
pub mod glob;
mod kinds;
mod matching;
pub mod model;
mod ratelimit;
mod schema;
mod select;
mod source;
pub mod substrings;
mod tree;

pub use analysis::lint;
pub use boundary::{
    Agent, Decision, Diagnostic, Explanation, Mode, Obligations, Origin, PartTrace, PolicyTrace,
    RateLimitObligation, Request, RuleStatus, RuleTrace,
};
pub use compile::{FileError, LoadError, PolicySet, parse_policies, validate};
pub use error::{PolicyError, RequestError};
pub use eval::parse_request;
pub use kinds::canonicalize;
pub use matching::parse_instant_ms;
pub use model::{Effect, Policy, ResourceKind, TrustTier};
pub use ratelimit::{RateLimiter, mark_rate_limited, rate_key};
pub use schema::policy_json_schema;
pub use select::Selections;
pub use source::{Format, Pos, Source, Span, is_policy_file_name};
pub use tree::MAX_TEXT;

/// The crate version, reported by hosts (`/health`, `--version`, the component).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
