//! The conformance corpus against the native Rust core.

use anyhow::Result;
use std::collections::HashMap;

use meshguard_conformance::{Host, case_files, sources, trials};
use meshguard_core::compact::{Compact, Parts, RECORD_LEN};
use meshguard_core::{
    Decision, Effect, PolicySet, RateLimiter, Request, Selections, Source, parse_request,
};
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

/// One test per corpus file: its requests decided in order, twice, on one set with one
/// memo per agent (as the compact hosts keep them), so that what an agent and action
/// select is taken from the memo for requests that differ in everything else, and with
/// one memo for all agents (which must start over, not mix them up); every
/// decision, explanation included, must be the one `decide` gives, its JSON serde's,
/// and every compact record made from the set's words the one made from that decision.
fn remembering_trials() -> Result<Vec<libtest_mimic::Trial>> {
    let mut trials = Vec::new();
    for (stem, file) in case_files()? {
        let sources = sources(&file)?;
        let fallback = if file.fallback.as_deref() == Some("allow") {
            Effect::Allow
        } else {
            Effect::Deny
        };
        trials.push(libtest_mimic::Trial::test(
            format!("native::remembering::{stem}"),
            move || {
                let Ok(set) = PolicySet::compile(sources.iter().map(|(n, t)| Source::new(n, t)))
                else {
                    return Ok(());
                };
                let set = set.with_fallback(fallback);
                let mut memos: HashMap<String, Selections> = HashMap::new();
                let mut one_memo = Selections::new();
                let mut host = Compact::new();
                let mut slots: HashMap<String, u32> = HashMap::new();
                for case in file.cases.iter().chain(&file.cases) {
                    let Ok(request) = parse_request(&case.request.to_string()) else {
                        continue;
                    };
                    let agent = serde_json::to_string(&request.agent)?;
                    let memo = memos.entry(agent.clone()).or_default();
                    let got = set.decide_remembering(&request, case.explain, memo);
                    let want = set.decide(&request, case.explain);
                    // One memo for every agent: a mix-up costs a selection, not a decision.
                    let shared = set.decide_remembering(&request, case.explain, &mut one_memo);
                    if got != want || shared != want {
                        return Err(
                            format!("{}: {got:?} / {shared:?} != {want:?}", case.name).into()
                        );
                    }
                    // The JSON written directly is serde's.
                    let serde = serde_json::to_string(&want)?;
                    if want.to_json() != serde {
                        return Err(format!("{}: {} != {serde}", case.name, want.to_json()).into());
                    }
                    // The compact record straight from the set's words is the one of the
                    // decision (which the JS suites check against the decision's JSON).
                    let slot = request.agent.clone().map(|a| {
                        let next = slots.len() as u32;
                        *slots.entry(agent).or_insert_with(|| {
                            host.set_agent(next, a);
                            next
                        })
                    });
                    let context = request.context.as_ref().map(Value::to_string);
                    let parts = Parts {
                        action: &request.action,
                        resource: request.resource.as_deref(),
                        agent: slot,
                        context: context.as_deref(),
                        time: request.time.as_deref(),
                        mode: request.mode,
                    };
                    let mut via_decision = [0; RECORD_LEN];
                    let text = host.decide(parts, &mut via_decision, |r, _| set.decide(r, false));
                    let mut direct = [0; RECORD_LEN];
                    let direct_text = host.decide_on(&set, parts, &mut direct);
                    if (via_decision, &text) != (direct, &direct_text) {
                        return Err(format!(
                            "{}: record {direct:?} {direct_text:?}, want {via_decision:?} {text:?}",
                            case.name
                        )
                        .into());
                    }
                }
                Ok(())
            },
        ));
    }
    Ok(trials)
}

fn main() -> Result<()> {
    let args = libtest_mimic::Arguments::from_args();
    let mut trials = trials("native", Native::default)?;
    trials.extend(remembering_trials()?);
    libtest_mimic::run(&args, trials).exit()
}
