//! What the console stands on: `GET /` for a browser or an API client, the embedded files
//! (the console itself only with the admin token), the live audit stream, the stats
//! series and decisions by a set of policies given with the request. The console in a
//! real browser is tested by `bindings/npm/test/console.test.mjs`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{self, ADMIN};
use crate::test_gateway;

#[test]
fn a_browser_gets_the_sign_in_page_and_only_that_without_the_token() {
    let gw = test_gateway(vec![]);
    let page = gw.get(
        "/",
        &[("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")],
    );
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(page.body.contains("Admin token"), "{}", page.body);
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));

    // API clients keep the info document.
    let info = gw.get("/", &[]).json();
    assert_eq!(info["name"], "meshguard-gateway");
    assert_eq!(info["endpoints"]["console"], "/");
    assert_eq!(info["fallback"], "deny");

    // The console needs the token; the sign-in page's own files and the package do not.
    for token in [None, Some("not-the-token")] {
        let headers: Vec<(&str, &str)> = token.map(|t| ("X-Admin-Token", t)).into_iter().collect();
        let r = gw.get("/console/app/console.js", &headers);
        assert_eq!(r.status, 401, "{}", r.body);
        assert!(!r.body.contains("export"), "nothing of the console leaks");
    }
    let app = gw.get("/console/app/console.js", &[("X-Admin-Token", ADMIN)]);
    assert_eq!(app.status, 200);
    assert!(app.body.contains("export async function mount"));
    for (path, ctype) in [
        ("/console/signin.js", "text/javascript; charset=utf-8"),
        ("/console/style.css", "text/css; charset=utf-8"),
        ("/console/pkg/js/auto.js", "text/javascript; charset=utf-8"),
        (
            "/console/pkg/pkg/web/meshguard_wasm_bg.wasm",
            "application/wasm",
        ),
    ] {
        let r = gw.get(path, &[]);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("content-type"), Some(ctype), "{path}");
    }
    let missing = gw.get("/console/../admin/agents", &[]);
    assert_eq!(missing.status, 404, "{}", missing.body);
    assert_eq!(gw.get("/console/nothing.js", &[]).status, 404);
}

/// A raw HTTP/1.1 reader of `GET path` (Server-Sent Events arrive chunked and never end,
/// which a whole-body client cannot read), every read bounded.
struct Stream {
    tcp: TcpStream,
    text: String,
}

impl Stream {
    fn open(base: &str, path: &str, headers: &[(&str, &str)]) -> Stream {
        let addr = base.trim_start_matches("http://");
        let mut tcp = TcpStream::connect(addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nX-Admin-Token: {ADMIN}\r\n");
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        tcp.write_all(req.as_bytes()).unwrap();
        Stream {
            tcp,
            text: String::new(),
        }
    }

    /// Reads until `pred` holds for what arrived, at most 10 s; whether it did.
    fn until(&mut self, pred: impl Fn(&str) -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut buf = [0u8; 8192];
        while !pred(&self.text) {
            if Instant::now() > deadline {
                return false;
            }
            match self.tcp.read(&mut buf) {
                Ok(0) => return pred(&self.text),
                Ok(n) => self.text.push_str(&String::from_utf8_lossy(&buf[..n])),
                Err(_) => {} // timed out: look again
            }
        }
        true
    }

    /// The `data` of every event of `kind` so far.
    fn events(&self, kind: &str) -> Vec<Value> {
        let marker = format!("event: {kind}\n");
        self.text
            .split("\n\n")
            .filter_map(|block| {
                let at = block.find(&marker)?;
                let data = block[at..].lines().find_map(|l| l.strip_prefix("data: "))?;
                serde_json::from_str(data).ok()
            })
            .collect()
    }
}

#[test]
fn the_audit_stream_sends_new_decisions_as_they_are_committed() {
    if common::skip_in_debug("the_audit_stream_sends_new_decisions_as_they_are_committed") {
        return;
    }
    let mut gw = test_gateway(vec![]);
    let (_, token) = gw.agent("streamed", "verified", &["tester"]);
    gw.check(&token, "read:before", None);
    let base = gw.url("");

    let mut denies = Stream::open(&base, "/admin/audit/stream?decision=deny", &[]);
    assert!(
        denies.until(|t| t.contains("event: ready")),
        "{}",
        denies.text
    );
    assert!(denies.text.starts_with("HTTP/1.1 200"), "{}", denies.text);
    assert!(denies.text.contains("content-type: text/event-stream"));
    let ready = &denies.events("ready")[0];
    assert!(
        ready["after"].as_i64().unwrap() >= 1,
        "starts after what is there"
    );

    gw.check(&token, "read:after", None);
    gw.check(&token, "delete:thing", Some("x"));
    assert!(
        denies.until(|t| t.contains("delete:thing")),
        "{}",
        denies.text
    );
    let got = denies.events("decision");
    assert_eq!(got.len(), 1, "only the deny: {got:?}");
    assert_eq!(got[0]["action"], "delete:thing");
    assert_eq!(got[0]["agentName"], "streamed");
    assert_eq!(got[0]["rule"], "no-delete");
    // Each event carries the row's id, so a client can resume after it.
    let id = got[0]["id"].as_str().unwrap();
    assert!(denies.text.contains(&format!("id: {id}\n")));

    // From an earlier point: `after` and Last-Event-ID replay what followed it.
    let mut all = Stream::open(&base, "/admin/audit/stream?after=0", &[]);
    assert!(all.until(|t| t.contains("delete:thing")), "{}", all.text);
    let actions: Vec<Value> = all
        .events("decision")
        .iter()
        .map(|e| e["action"].clone())
        .collect();
    assert_eq!(
        actions,
        [
            json!("read:before"),
            json!("read:after"),
            json!("delete:thing")
        ]
    );
    let mut resumed = Stream::open(&base, "/admin/audit/stream", &[("Last-Event-ID", "2")]);
    assert!(resumed.until(|t| t.contains("delete:thing")));
    assert_eq!(resumed.events("decision").len(), 1);

    let bad = gw.admin("GET", "/admin/audit/stream?decision=maybe", None);
    assert_eq!(bad.status, 400);
    assert!(
        bad.body.contains("unknown decision `maybe`"),
        "{}",
        bad.body
    );
    assert_eq!(
        gw.get("/admin/audit/stream", &[("X-Admin-Token", "wrong")])
            .status,
        401
    );

    // Open streams do not hold the gateway up at shutdown, and they end.
    let started = Instant::now();
    assert!(gw.stop().success(), "{}", gw.log());
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "stopped after {:?}",
        started.elapsed()
    );
    assert!(all.until(|t| t.ends_with("0\r\n\r\n")), "the stream ended");
}

#[test]
fn stats_give_a_series_per_interval_for_charts() {
    if common::skip_in_debug("stats_give_a_series_per_interval_for_charts") {
        return;
    }
    let gw = test_gateway(vec![]);
    let (_, token) = gw.agent("charted", "verified", &["tester"]);
    for action in ["read:a", "read:b", "delete:c", "pay:d"] {
        gw.check(&token, action, None);
    }
    let stats = gw.admin("GET", "/admin/audit/stats?period=1&bucket=60", None);
    assert_eq!(stats.status, 200, "{}", stats.body);
    let v = stats.json();
    let series = v["series"].as_array().unwrap();
    assert!(!series.is_empty() && series.len() <= 2, "{series:?}");
    for d in ["allow", "deny", "require_approval"] {
        let sum: u64 = series
            .iter()
            .map(|b| b["counts"][d].as_u64().unwrap())
            .sum();
        assert_eq!(sum, v["byDecision"][d].as_u64().unwrap(), "{d}: {v}");
    }
    let start = series[0]["start"].as_str().unwrap();
    assert!(
        start.ends_with(":00.000Z"),
        "minutes start on the minute: {start}"
    );
    // Without `bucket`, no series (the answer older clients know).
    let plain = gw.admin("GET", "/admin/audit/stats", None).json();
    assert!(plain.get("series").is_none());
    let bad = gw.admin("GET", "/admin/audit/stats?bucket=1", None);
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.json()["message"],
        "`bucket` must be between 10 and 86400 seconds, found `1`"
    );
    let many = gw.admin("GET", "/admin/audit/stats?period=48&bucket=10", None);
    assert_eq!(many.status, 400);
    assert_eq!(
        many.json()["message"],
        "a `bucket` of 10 s over 48 hour(s) makes 17280 intervals; at most 10000 (a longer \
         bucket or a shorter period)"
    );
}

#[test]
fn a_test_decision_can_use_policies_given_with_it() {
    let gw = test_gateway(vec![]);
    let text = "name: given\nappliesTo:\n  tags: [shell]\nrules:\n  - name: ls\n    effect: allow\n    actions: [\"execute:shell\"]\n    conditions:\n      resource:\n        startsWith: [\"ls\"]\n";
    let given = json!([{"name": "given.yaml", "text": text}]);
    let ask = |body: Value| {
        let mut full =
            json!({"action": "execute:shell", "resource": "ls -la; rm -rf /", "explain": true});
        full.as_object_mut()
            .unwrap()
            .extend(body.as_object().unwrap().clone());
        gw.admin("POST", "/admin/policies/test", Some(full))
    };
    let shell = json!({"id": "a", "tags": ["shell"]});
    let other = json!({"id": "b", "tags": ["other"]});
    let r = ask(json!({"agent": shell, "policies": given}));
    assert_eq!(r.status, 200, "{}", r.body);
    let d = r.json();
    // The compound line is split: `rm -rf /` matches no rule, so the policy's default
    // (deny) decides it.
    assert_eq!(
        (&d["effect"], &d["policy"], &d["part"]),
        (&json!("deny"), &json!("given"), &json!("rm -rf /")),
        "{d}"
    );
    assert!(d["explanation"]["rules"].is_array(), "{d}");
    // No policy applies to another agent: the fallback given decides.
    let open = ask(json!({"agent": other, "policies": given, "fallback": "allow"}));
    assert_eq!(
        (&open.json()["effect"], &open.json()["policy"]),
        (&json!("allow"), &json!("default")),
        "{}",
        open.body
    );
    // The loaded set (test-policy, for `tester` agents) does not know `given`: nothing
    // was applied.
    let loaded = ask(json!({"agent": shell}));
    assert_eq!(loaded.json()["policy"], "default", "{}", loaded.body);

    let bad =
        ask(json!({"policies": [{"name": "given.yaml", "text": "name: given\nrulez: []\n"}]}));
    assert_eq!(bad.status, 400);
    let b = bad.json();
    assert_eq!(b["message"], "the policies given do not load");
    assert_eq!(b["diagnostics"][0]["code"], "unknown-key");
    assert_eq!(b["diagnostics"][0]["line"], 2);
    assert_eq!(
        b["messages"][0],
        "given.yaml:2:1: error[unknown-key]: unknown key `rulez` in policy\n  = help: did you mean `rules`?"
    );
    let lone = ask(json!({"fallback": "allow"}));
    assert_eq!(lone.status, 400);
    assert!(
        lone.body.contains("`fallback` goes with `policies`"),
        "{}",
        lone.body
    );
    let odd = ask(json!({"policies": [], "fallback": "maybe"}));
    assert_eq!(odd.status, 400);
    assert!(
        odd.body.contains("unknown fallback `maybe`"),
        "{}",
        odd.body
    );
}
