//! `canonicalize` is idempotent: canonicalising a canonical resource changes nothing, for
//! arbitrary strings and for path-, URL- and email-shaped resources (whose generators live
//! here and are reused by the request strategies).

use meshguard_core::canonicalize;
use proptest::prelude::*;

use crate::support::nasty_string;

fn join(prefix: &str, segs: &[&str], trailing: bool) -> String {
    let mut s = String::from(prefix);
    s.push_str(&segs.join("/"));
    if trailing {
        s.push('/');
    }
    s
}

const SEGMENTS: &[&str] = &[
    "a", ".", "..", "", "Ab", "%2e", "%2E", ".%2e", "%2e%2E", "...", "..a", "a.", "~", "b c",
];

fn segments() -> impl Strategy<Value = Vec<&'static str>> {
    prop::collection::vec(prop::sample::select(SEGMENTS), 0..8)
}

/// Path-shaped resources: `/`, `./`, `../`, `~` starts and dot segments.
pub(crate) fn path_like() -> impl Strategy<Value = String> {
    let prefix =
        prop::sample::select(&["/", "//", "./", "../", "~/", "~", "~user/", "", "/./"][..]);
    (prefix, segments(), any::<bool>()).prop_map(|(p, s, t)| join(p, &s, t))
}

/// URL-shaped resources: mixed-case schemes and hosts, ports (default or not), user info,
/// IPv6 literals, trailing dots, dot segments (also percent-encoded), query and fragment.
pub(crate) fn url_like() -> impl Strategy<Value = String> {
    let fixed = prop::sample::select(
        &[
            "https://Host.COM:443/",
            "HTTPS://Evil.ONION/",
            "http://a.b.:80/",
            "http://x:8080",
            "ftp://F.example:21/",
            "wss://[::1]:443/",
            "http://[::1]",
            "https://github.com@Evil.onion/",
            "https://user:pw@Docs.RS./",
            "x-y+z.w://Q/",
        ][..],
    )
    .prop_map(str::to_owned);
    let generated = (
        prop::sample::select(&["http", "HTTPS", "ftp", "ws", "Wss", "git+ssh", "a"][..]),
        "[A-Za-z0-9.@\\[\\]:-]{0,10}",
        prop::option::of(prop::sample::select(
            &[":443", ":80", ":21", ":8080", ":", ":443:443", ":x"][..],
        )),
    )
        .prop_map(|(scheme, host, port)| format!("{scheme}://{host}{}", port.unwrap_or("")));
    let tail = prop::sample::select(&["", "?q=A/../b", "#F/./x", "?a#b", "?"][..]);
    (
        prop_oneof![fixed, generated],
        prop::option::of(segments()),
        any::<bool>(),
        tail,
    )
        .prop_map(|(start, segs, trailing, tail)| {
            let mut s = start;
            if let Some(segs) = segs {
                if !s.ends_with('/') {
                    s.push('/');
                }
                s.push_str(&join("", &segs, trailing));
            }
            s.push_str(tail);
            s
        })
}

/// Email-shaped resources: mixed-case domains, trailing dots.
pub(crate) fn email_like() -> impl Strategy<Value = String> {
    (
        "[A-Za-z0-9._%+-]{1,8}",
        "[A-Za-z0-9.-]{1,12}",
        prop::sample::select(&["", ".", "..", ".COM", "Ä.de"][..]),
    )
        .prop_map(|(local, domain, end)| format!("{local}@{domain}{end}"))
}

/// `canonicalize(canonicalize(s)) == canonicalize(s)`.
fn check_idempotent(s: &str) -> Result<(), TestCaseError> {
    let once = canonicalize(s).into_owned();
    let twice = canonicalize(&once).into_owned();
    prop_assert_eq!(&twice, &once, "input {:?}", s);
    Ok(())
}

proptest! {
    #![proptest_config(crate::config())]

    #[test]
    fn canonicalize_idempotent_arbitrary(s in nasty_string()) {
        check_idempotent(&s)?;
    }

    #[test]
    fn canonicalize_idempotent_paths(s in path_like()) {
        check_idempotent(&s)?;
    }

    #[test]
    fn canonicalize_idempotent_urls(s in url_like()) {
        check_idempotent(&s)?;
    }

    #[test]
    fn canonicalize_idempotent_emails(s in email_like()) {
        check_idempotent(&s)?;
    }
}
