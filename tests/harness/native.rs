//! The conformance corpus against the native Rust core.

use anyhow::Result;
use meshguard_conformance::{Host, trials};
use meshguard_core::{Decision, Effect, PolicySet, RateLimiter, Request, Source, parse_request};
use serde_json::Value;

#[derive(Default)]
struct Native {
    set: Option<PolicySet>,
    limiter: RateLimiter,
}

impl Host for Native {
    fn load(&mut self, sources: &[(String, String)], fallback: &str) -> Result<(), Vec<Value>> {
        let fallback = if fallback == "allow" {
            Effect::Allow
        } else {
            Effect::Deny
        };
        match PolicySet::compile(sources.iter().map(|(n, t)| Source::new(n, t))) {
            Ok(set) => {
                self.set = Some(set.with_fallback(fallback));
                self.limiter = RateLimiter::new();
                Ok(())
            }
            Err(e) => Err(e
                .diagnostics()
                .iter()
                .map(|d| serde_json::to_value(d).unwrap_or(Value::Null))
                .collect()),
        }
    }

    fn decide(&mut self, request_json: &str, explain: bool) -> Result<String> {
        let set = self
            .set
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("no policy set loaded"))?;
        let decision = match parse_request(request_json) {
            Ok(request) => {
                let mut decision = set.decide(&request, explain);
                self.limiter.count(&mut decision, &request, None);
                decision
            }
            Err(e) => Decision::invalid(&Request::default(), &e),
        };
        Ok(serde_json::to_string(&decision)?)
    }
}

fn main() -> Result<()> {
    let args = libtest_mimic::Arguments::from_args();
    let trials = trials("native", Native::default)?;
    libtest_mimic::run(&args, trials).exit()
}
