//! Property tests for the core: canonical resources are idempotent, the glob matcher agrees
//! with a regex oracle built from docs/semantics.md §2, parsing and evaluation never panic whatever the
//! input, decisions fail closed, and the rate limiter never lets more than its limit through
//! any window.
//!
//! Every property is bounded (256 cases, small inputs, a shrink time limit) so the whole
//! target runs in a few seconds in a debug build. Failures are not persisted to disk: a
//! failing case is printed with its minimal input; copy it into a unit test.
//!
//! One module per topic; `support` holds the seed policies and the strategies they share.

// Tests: a broken fixture (unreadable policy files) should stop the run loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::test_runner::Config;

mod canon;
mod decide;
mod glob;
mod parse;
mod ratelimit;
mod shell;
mod support;

/// 256 cases, no regression files written next to the sources, and shrinking capped so a
/// failure reports within seconds instead of minutes.
fn config() -> Config {
    Config {
        cases: 256,
        failure_persistence: None,
        max_shrink_time: 10_000,
        max_shrink_iters: 4_096,
        ..Config::default()
    }
}
