//! The gateway admin commands (`agent`, `policy`, `audit`, `approvals`) against the real
//! `meshguard-gateway` binary: each test starts its own gateway on 127.0.0.1 with a free
//! port, a temporary database and a copy of the example policies, drives the `meshguard`
//! binary, checks what the gateway really did, and always stops the gateway (a `Drop`
//! guard kills it, also when the test fails).
//!
//! The gateway is the release build (`target/release/meshguard-gateway`: wasmtime in a
//! debug build is very slow); when it is missing it is built first.
//!
//! One module per command family; `support` starts the gateway and runs the CLI against it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test setup failing should fail the test loudly"
)]

#[path = "../common/mod.rs"]
mod common;

mod agents;
mod approvals;
mod audit;
mod connection;
mod hook_gateway;
mod policies;
mod support;
