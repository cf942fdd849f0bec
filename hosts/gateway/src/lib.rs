//! The MeshGuard gateway: the evaluator component hosted in wasmtime, behind the HTTP API
//! the official MeshGuard SDKs speak (`hosts/gateway/API.md`).
//!
//! Module map, one job each:
//! - [`config`]: flags and environment variables, checked once;
//! - [`engine`]: the Wasm component in wasmtime (warm instance pools, deadlines, traps);
//! - [`reload`]: the policy directory, loaded whole and swapped atomically, polled for
//!   changes;
//! - [`decide`]: the decision pipeline every check endpoint shares (auth, evaluation,
//!   rate limits, approvals, audit, alerts);
//! - [`http`]: routes and handlers;
//! - [`store`]: SQLite (agents, the audit log: its writer thread and its queries,
//!   approvals);
//! - [`auth`]: tokens, hashes, trace ids; [`webhooks`]: signed alerts; [`metrics`]:
//!   Prometheus text; [`clock`]: time formats; [`state`]: what handlers share;
//!   [`server`]: start-up and graceful shutdown.

pub mod auth;
pub mod clock;
pub mod config;
pub mod decide;
pub mod engine;
pub mod http;
pub mod limiter;
pub mod listener;
pub mod metrics;
pub mod outbound;
pub mod reload;
pub mod server;
pub mod signing;
pub mod state;
pub mod store;
pub mod webhooks;
