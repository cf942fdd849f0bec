//! TLS, with a test CA made for the run: alerts and proxied requests reach `https://`
//! endpoints that the configured CA file vouches for (and only those), and the gateway
//! serves HTTPS itself with `TLS_CERT_FILE` / `TLS_KEY_FILE`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Gateway, Options, TestPki, TestServer};

const POLICY: &str = r#"
name: tls-policy
appliesTo:
  tags: [app]
rules:
  - name: contacts
    effect: allow
    actions: ["read:contacts"]
  - name: no-email
    effect: deny
    actions: ["send:email"]
defaultEffect: deny
"#;

fn policies() -> Option<Vec<(&'static str, String)>> {
    Some(vec![("p.yaml", POLICY.to_owned())])
}

/// A webhook receiver and an upstream with certificates `signer` issued, and a gateway
/// that alerts on denials and proxies to them trusting `trusted`'s CA; an app agent's
/// token.
fn tls_endpoints(signer: &TestPki, trusted: &TestPki) -> (TestServer, TestServer, Gateway, String) {
    let hook = TestServer::start_tls(vec![200], "ok", signer.server_config());
    let upstream = TestServer::start_tls(vec![200], "from upstream", signer.server_config());
    let gw = Gateway::start(Options {
        db: None,
        policies: policies(),
        env: vec![
            ("ALERT_WEBHOOK_URL", hook.https_url("/alerts")),
            ("ALERT_WEBHOOK_ATTEMPTS", "1".to_owned()),
            ("PROXY_TARGET", upstream.https_url("/base")),
            ("TLS_CA_FILE", trusted.ca.display().to_string()),
        ],
    });
    let (_, token) = gw.agent("app", "verified", &["app"]);
    (hook, upstream, gw, token)
}

/// A denial (which alerts) and a proxied read.
fn deny_then_proxy(gw: &Gateway, token: &str) -> common::Resp {
    assert_eq!(gw.check(token, "send:email", None).status, 403);
    let bearer = format!("Bearer {token}");
    gw.request(
        "GET",
        "/proxy/api/contacts",
        &[
            ("Authorization", &bearer),
            ("X-MeshGuard-Action", "read:contacts"),
        ],
        None,
    )
}

#[test]
fn alerts_and_proxied_requests_go_out_over_tls() {
    if common::skip_in_debug("alerts_and_proxied_requests_go_out_over_tls") {
        return;
    }
    let pki = TestPki::new();
    let (hook, upstream, gw, token) = tls_endpoints(&pki, &pki);
    let r = deny_then_proxy(&gw, &token);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, "from upstream");
    assert_eq!(upstream.requests()[0].target, "/base/api/contacts");
    gw.wait_until("the alert over TLS", Duration::from_secs(30), || {
        !hook.requests().is_empty()
    });
    let alert = &hook.requests()[0];
    assert_eq!(alert.target, "/alerts");
    assert_eq!(alert.header("x-meshguard-event"), Some("deny"));
}

#[test]
fn an_endpoint_the_trusted_cas_do_not_vouch_for_gets_nothing() {
    if common::skip_in_debug("an_endpoint_the_trusted_cas_do_not_vouch_for_gets_nothing") {
        return;
    }
    // The gateway trusts another CA than the one that signed the endpoints' certificate.
    let (pki, other) = (TestPki::new(), TestPki::new());
    let (hook, upstream, gw, token) = tls_endpoints(&pki, &other);
    let r = deny_then_proxy(&gw, &token);
    assert_eq!(r.status, 502, "{}", r.body);
    assert!(r.body.contains("certificate"), "{}", r.body);
    gw.wait_until("the failed delivery", Duration::from_secs(30), || {
        gw.get("/metrics", &[])
            .body
            .contains("meshguard_webhook_failures_total 1")
    });
    assert!(hook.requests().is_empty() && upstream.requests().is_empty());
}

#[test]
fn the_gateway_serves_https() {
    if common::skip_in_debug("the_gateway_serves_https") {
        return;
    }
    let pki = TestPki::new();
    let gw = Gateway::start(Options {
        db: None,
        policies: policies(),
        env: vec![
            ("TLS_CERT_FILE", pki.cert.display().to_string()),
            ("TLS_KEY_FILE", pki.key.display().to_string()),
            ("TLS_CA_FILE", pki.ca.display().to_string()),
        ],
    });
    assert!(gw.base.starts_with("https://127.0.0.1:"), "{}", gw.base);
    let (_, token) = gw.agent("app", "verified", &["app"]);
    assert_eq!(gw.check(&token, "read:contacts", None).status, 200);
    assert_eq!(gw.check(&token, "send:email", None).status, 403);
    assert_eq!(gw.audit("limit=10").len(), 2);

    // Plain HTTP on the TLS port gets no answer, and a client that does not trust the
    // CA does not get through.
    let plain = gw.base.replace("https://", "http://");
    let r = common::http_agent().get(format!("{plain}/health")).call();
    assert!(r.is_err() || r.unwrap().status() != 200);
    let untrusting = common::tls_agent(None);
    assert!(untrusting.get(gw.url("/health")).call().is_err());
    assert_eq!(
        pki.client().get(gw.url("/health")).call().unwrap().status(),
        200
    );
}

#[test]
fn bad_tls_settings_stop_the_start_with_the_reason() {
    if common::skip_in_debug("bad_tls_settings_stop_the_start_with_the_reason") {
        return;
    }
    let pki = TestPki::new();
    let run = |env: &[(&str, String)]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_meshguard-gateway"));
        cmd.env_clear()
            .env("PORT", "0")
            .env("DB_PATH", ":memory:")
            .env("ADMIN_TOKEN", common::ADMIN)
            .env("POLICIES_DIR", common::example_policies())
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = run(&[("TLS_CA_FILE", "/nonexistent/ca.pem".to_owned())]);
    assert!(
        err.contains("cannot read the certificate file `/nonexistent/ca.pem`"),
        "{err}"
    );
    let err = run(&[
        ("TLS_CERT_FILE", pki.cert.display().to_string()),
        ("TLS_KEY_FILE", pki.ca.display().to_string()),
    ]);
    assert!(err.contains("cannot read a private key"), "{err}");
    let err = run(&[("TLS_CERT_FILE", pki.cert.display().to_string())]);
    assert!(err.contains("--tls-key-file"), "{err}");
}
