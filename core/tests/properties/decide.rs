//! Evaluation never panics and fails closed: against the seed policies, any request (typed
//! or as JSON, valid, invalid or mutated) gets a consistent decision, invalid requests are
//! denied, the mode changes only `allowed`, and the decision JSON round-trips unchanged.

use meshguard_core::{Agent, Decision, Effect, Mode, Origin, Request};
use proptest::prelude::*;
use serde_json::{Map, Value};

use crate::canon::{email_like, path_like, url_like};
use crate::parse::{mutate, mutation};
use crate::support::{
    SEED_ACTIONS, SEED_RESOURCES, SEED_TAGS, action, agent, context, nasty_string, resource,
    seed_set,
};

/// RFC 3339-shaped instants with out-of-range fields, leap seconds, odd offsets and
/// fractions, plus arbitrary text.
fn time() -> impl Strategy<Value = String> {
    let shaped = (
        0u32..=10_000,
        0u32..=13,
        0u32..=32,
        0u32..=24,
        0u32..=60,
        0u32..=61,
        prop::sample::select(&["", ".5", ".999999999", ".0000000001", "."][..]),
        prop::sample::select(
            &[
                "Z", "z", "+00:00", "-00:00", "+02:00", "-23:59", "+24:00", "+99:99", "",
            ][..],
        ),
        prop::sample::select(&["T", "t", " "][..]),
    )
        .prop_map(|(y, mo, d, h, mi, s, frac, off, sep)| {
            format!("{y:04}-{mo:02}-{d:02}{sep}{h:02}:{mi:02}:{s:02}{frac}{off}")
        });
    prop_oneof![
        4 => shaped,
        1 => prop::sample::select(
            &["9999-12-31T23:59:59.999999999-23:59", "0000-01-01T00:00:00+23:59",
              "1970-01-01T00:00:00Z", "2026-11-20T12:00:00+02:00"][..]
        )
        .prop_map(str::to_owned),
        1 => nasty_string(),
    ]
}

fn mode() -> impl Strategy<Value = Option<Mode>> {
    prop::option::of(prop_oneof![Just(Mode::Enforce), Just(Mode::Audit)])
}

/// Anything goes: most of these are invalid requests (control characters, bad tiers,
/// bad times, non-object contexts) or concern no policy.
fn wild_request() -> impl Strategy<Value = Request> {
    (
        action(),
        prop::option::of(resource()),
        prop::option::of(context()),
        prop::option::of(agent()),
        prop::option::of(time()),
        mode(),
    )
        .prop_map(|(action, resource, context, agent, time, mode)| Request {
            action,
            resource,
            context,
            agent,
            time,
            mode,
        })
}

/// Valid requests the seed policies have opinions about: seed actions and tags, valid
/// tiers and times, contexts with the keys the seeds test.
fn plausible_request() -> impl Strategy<Value = Request> {
    let seed_value = prop_oneof![
        prop::sample::select(
            &[
                "slack", "sms", "telegram", "discord", "meeting", "all-day", "reminder"
            ][..]
        )
        .prop_map(|s| Value::String(s.to_owned())),
        any::<bool>().prop_map(Value::Bool),
        (0i64..6).prop_map(Value::from),
    ];
    let seed_context = prop::collection::vec(
        (
            prop::sample::select(&["channel", "event_type", "sandbox", "ticket"][..]),
            seed_value,
        ),
        0..3,
    )
    .prop_map(|kv| {
        Value::Object(
            kv.into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect::<Map<_, _>>(),
        )
    });
    let valid_time = (1970u32..2100, 1u32..=12, 1u32..=28, 0u32..24, 0u32..60)
        .prop_map(|(y, mo, d, h, mi)| format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:00Z"));
    let seed_agent = (
        prop::collection::vec(prop::sample::select(SEED_TAGS), 1..4),
        prop::option::of(prop::sample::select(
            &[
                "untrusted",
                "verified",
                "trusted",
                "privileged",
                "sandboxed",
            ][..],
        )),
    )
        .prop_map(|(tags, tier)| Agent {
            id: Some("agent-1".to_owned()),
            trust_tier: tier.map(str::to_owned),
            tags: tags.into_iter().map(str::to_owned).collect(),
            ..Agent::default()
        });
    (
        prop::sample::select(SEED_ACTIONS),
        prop::option::of(prop_oneof![
            3 => prop::sample::select(SEED_RESOURCES).prop_map(str::to_owned),
            1 => path_like(),
            1 => url_like(),
            1 => email_like(),
        ]),
        prop::option::of(seed_context),
        prop::option::weighted(0.9, seed_agent),
        prop::option::of(valid_time),
        mode(),
    )
        .prop_map(|(action, resource, context, agent, time, mode)| Request {
            action: action.to_owned(),
            resource,
            context,
            agent,
            time,
            mode,
        })
}

fn request() -> impl Strategy<Value = Request> {
    prop_oneof![wild_request(), plausible_request()]
}

/// The fail-closed invariant and the decision's own consistency.
pub(crate) fn check_decision(
    req_mode: Option<Mode>,
    d: &Decision,
    explain: bool,
) -> Result<(), TestCaseError> {
    if d.origin == Origin::InvalidRequest {
        prop_assert_eq!(d.rule.as_ref(), "invalid-request");
        prop_assert!(!d.allowed, "an invalid request was allowed: {d:?}");
        prop_assert_eq!(d.effect, Effect::Deny);
        prop_assert!(d.explanation.is_none());
    } else {
        prop_assert_eq!(
            d.allowed,
            d.effect == Effect::Allow || d.mode == Mode::Audit,
            "allowed disagrees with effect and mode: {:?}",
            d
        );
        prop_assert_eq!(d.explanation.is_some(), explain);
    }
    prop_assert_eq!(d.mode, req_mode.unwrap_or_default());
    prop_assert!(!d.policy.is_empty() && !d.rule.is_empty() && !d.reason.is_empty());
    // The boundary JSON is stable: serialising, reading back and serialising again gives
    // the same bytes (what every host must print).
    let json = serde_json::to_string(d).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let back: Decision =
        serde_json::from_str(&json).map_err(|e| TestCaseError::fail(format!("{e}: {json}")))?;
    let again = serde_json::to_string(&back).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(json, again);
    Ok(())
}

proptest! {
    #![proptest_config(crate::config())]

    #[test]
    fn decide_never_panics_and_fails_closed(req in request(), explain in any::<bool>()) {
        let set = seed_set();
        let d = set.decide(&req, explain);
        check_decision(req.mode, &d, explain)?;
        if d.origin != Origin::InvalidRequest {
            // The decision reports the canonical resource, a fixed point: deciding it again
            // reports it unchanged (a resource that cannot be read is reported as written).
            let mut again = req.clone();
            again.resource = d.resource.clone();
            prop_assert_eq!(set.decide(&again, false).resource, d.resource.clone());
            if d.origin == Origin::UnreadableResource {
                prop_assert_eq!(d.resource.as_deref(), req.resource.as_deref());
            }
            // The mode changes `allowed`, never what the policies say (docs/semantics.md §6).
            let mut other = req.clone();
            other.mode = Some(match req.mode.unwrap_or_default() {
                Mode::Enforce => Mode::Audit,
                Mode::Audit => Mode::Enforce,
            });
            let o = set.decide(&other, false);
            prop_assert_eq!((o.effect, &o.policy, &o.rule, &o.reason), (d.effect, &d.policy, &d.rule, &d.reason));
        }
        // The JSON entry point agrees with the typed one (what every host sends).
        let json = serde_json::to_string(&req).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let via_json = set.decide_json(&json, explain);
        prop_assert_eq!(&via_json, &d, "request JSON {}", json);
    }

    #[test]
    fn decide_json_never_panics_and_fails_closed(
        s in prop_oneof![
            any::<String>(),
            "[{}\\[\\]\":,a-z0-9 ]{0,60}",
            (request(), prop::collection::vec(mutation(), 0..4)).prop_map(|(r, m)| {
                mutate(&serde_json::to_string(&r).unwrap_or_default(), &m)
            }),
        ],
        explain in any::<bool>(),
    ) {
        let d = seed_set().decide_json(&s, explain);
        let mode = match d.origin {
            Origin::InvalidRequest => d.mode,
            _ => serde_json::from_str::<Request>(&s).ok().and_then(|r| r.mode).unwrap_or_default(),
        };
        check_decision(Some(mode), &d, explain)?;
    }
}
