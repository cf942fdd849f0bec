use std::hint::black_box;
use std::time::Instant;
use std::str::FromStr;
use cedar_policy::*;
use meshguard_cedar_compare::{CEDAR_POLICY, Cedar, mix};

fn best(mut f: impl FnMut(usize), n: usize) -> f64 {
    let iters = 1600;
    (0..300).map(|_| { let s = Instant::now(); for i in 0..iters { f(i % n) } s.elapsed().as_nanos() as f64 / iters as f64 }).fold(f64::INFINITY, f64::min)
}

fn main() {
    let items = mix();
    let n = items.len();
    let cedar = Cedar::default();
    let pre: Vec<_> = items.iter().map(|i| cedar.prebuild(i)).collect();
    let a = best(|i| { black_box(cedar.authorize(&pre[i])); }, n);
    // variant: contains || contains
    let text2 = CEDAR_POLICY.replace(r#"principal.tags.containsAny(["claude-code", "dev-assistant"])"#, r#"(principal.tags.contains("claude-code") || principal.tags.contains("dev-assistant"))"#);
    let ps2 = PolicySet::from_str(&text2).unwrap();
    // variant: no tag check at all (lower bound)
    let text3 = CEDAR_POLICY.replace(r#"principal.tags.containsAny(["claude-code", "dev-assistant"]) &&"#, "").replace(r#"when { principal.tags.containsAny(["claude-code", "dev-assistant"]) }"#, "");
    let ps3 = PolicySet::from_str(&text3).unwrap();
    let auth = Authorizer::new();
    let (reqs, ents): (Vec<_>, Vec<_>) = pre.iter().map(|p| { let (r, e) = p.parts(); (r.clone(), e.clone()) }).unzip();
    let b = best(|i| { black_box(auth.is_authorized(&reqs[i], &ps2, &ents[i])); }, n);
    let c = best(|i| { black_box(auth.is_authorized(&reqs[i], &ps3, &ents[i])); }, n);
    let d = best(|i| { black_box(auth.is_authorized(&reqs[i], &PolicySet::new(), &ents[i])); }, n);
    println!("containsAny {a:.0} ns, contains||contains {b:.0} ns, no tag test {c:.0} ns, empty set {d:.0} ns");
}
