//! Unit tests of the gateway's configuration: variables, defaults and error messages.

use super::*;

/// The docs' names are read when ours are unset, ignored (with a warning) when ours
/// are set; unsupported and unknown settings are each warned about.
#[test]
fn documented_aliases_and_unknown_settings() {
    let vars = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let parse = |argv: &[&str]| {
        let m = Args::command().try_get_matches_from(argv).unwrap();
        (Args::from_arg_matches(&m).unwrap(), m)
    };
    let (mut args, m) = parse(&["gw"]);
    let warnings = args.apply_env(
        &vars(&[
            ("AUDIT_RETENTION_DAYS", "30"),
            ("LOG_LEVEL", "debug"),
            ("MESHGUARD_MODEE", "audit"),
            ("HOME", "/root"),
        ]),
        |id| m.value_source(id),
    );
    assert_eq!((args.retention_days, args.log.as_str()), (30, "debug"));
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("MESHGUARD_MODEE is set but"))
    );

    let (mut args, m) = parse(&["gw", "--retention-days", "7"]);
    let warnings = args.apply_env(
        &vars(&[("AUDIT_RETENTION_DAYS", "30"), ("LOG_LEVEL", "x")]),
        |id| m.value_source(id),
    );
    assert_eq!(args.retention_days, 7, "the flag wins over the docs' name");
    assert_eq!(args.log, "x");
    assert!(
        warnings[0].starts_with("AUDIT_RETENTION_DAYS is ignored"),
        "{warnings:?}"
    );
    let (mut args, m) = parse(&["gw"]);
    let warnings = args.apply_env(&vars(&[("AUDIT_RETENTION_DAYS", "soon")]), |id| {
        m.value_source(id)
    });
    assert_eq!(args.retention_days, 90);
    assert!(warnings[0].contains("not a number"), "{warnings:?}");
}

#[test]
fn targets() {
    let t = HttpTarget::parse("X", "http://127.0.0.1:8080/api/").unwrap();
    assert_eq!(t.authority, "127.0.0.1:8080");
    assert_eq!(t.base_path, "/api");
    assert_eq!(t.join("/x?y=1"), "http://127.0.0.1:8080/api/x?y=1");
    let t = HttpTarget::parse("X", "https://hooks.example.com").unwrap();
    assert_eq!(
        (t.scheme, t.join("/")),
        ("https", "https://hooks.example.com/".to_owned())
    );
    assert!(HttpTarget::parse("X", "ftp://a").is_err());
    assert!(HttpTarget::parse("X", "http:///x").is_err());
}

#[test]
fn events() {
    assert_eq!(
        parse_events("deny, escalation").unwrap(),
        vec![AlertEvent::Deny, AlertEvent::RequireApproval]
    );
    assert_eq!(
        parse_events("anomaly,require_approval,error").unwrap(),
        vec![
            AlertEvent::RateLimit,
            AlertEvent::Error,
            AlertEvent::RequireApproval
        ]
    );
    assert!(parse_events("nope").is_err());
    assert_eq!(CorsOrigins::parse(" * ").unwrap(), CorsOrigins::Any);
    assert_eq!(
        CorsOrigins::parse("https://a.example, http://localhost:5173").unwrap(),
        CorsOrigins::List(vec![
            HeaderValue::from_static("https://a.example"),
            HeaderValue::from_static("http://localhost:5173")
        ])
    );
    for bad in ["a.example", "https://a.example/path", "https://"] {
        let e = CorsOrigins::parse(bad).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "CORS_ORIGIN: `{bad}` is not an origin; expected `*` or \
                 `scheme://host[:port]` (no path), comma separated"
            )
        );
    }
    let h = parse_headers(r#"{"X-Custom-Header": "value"}"#).unwrap();
    assert_eq!(h[0].0.as_str(), "x-custom-header");
    assert_eq!(h[0].1, "value");
    for (bad, said) in [
        (
            r#"["x"]"#,
            "ALERT_WEBHOOK_HEADERS must be a JSON object of header names to values",
        ),
        (
            r#"{"X-A": 1}"#,
            "ALERT_WEBHOOK_HEADERS: the value of `X-A` must be a string",
        ),
        (
            r#"{"bad name": "v"}"#,
            "ALERT_WEBHOOK_HEADERS: `bad name` is not a valid header name",
        ),
        (
            r#"{"X-MeshGuard-Event": "x"}"#,
            "ALERT_WEBHOOK_HEADERS: `X-MeshGuard-Event` is set by the gateway itself",
        ),
        (
            r#"{"X-A": "a\nb"}"#,
            "ALERT_WEBHOOK_HEADERS: the value of `X-A` is not a valid header value",
        ),
    ] {
        assert_eq!(parse_headers(bad).unwrap_err().to_string(), said, "{bad}");
    }
    assert!(parse_headers("{nope").unwrap_err().to_string().starts_with(
        "ALERT_WEBHOOK_HEADERS is not valid JSON: key must be a string at line 1 column 2"
    ));
}

#[test]
fn database_url_must_be_postgres() {
    let config = |url: &str| {
        let m = Args::command()
            .try_get_matches_from(["gw", "--database-url", url])
            .unwrap();
        Args::from_arg_matches(&m).unwrap().into_config()
    };
    assert_eq!(
        config("mysql://db/x").unwrap_err().to_string(),
        "DATABASE_URL must be a `postgres://` or `postgresql://` URL (without it, the \
         gateway uses the SQLite file DB_PATH)"
    );
    assert_eq!(config(" ").unwrap().database_url, None);
    assert_eq!(
        config("postgresql://u@h/d")
            .unwrap()
            .database_url
            .as_deref(),
        Some("postgresql://u@h/d")
    );
}

#[test]
fn a_bad_trace_header_name_is_refused_with_the_name() {
    let m = Args::command()
        .try_get_matches_from(["gw", "--trace-header", "bad header"])
        .unwrap();
    let e = Args::from_arg_matches(&m)
        .unwrap()
        .into_config()
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "TRACE_HEADER `bad header` is not a valid header name"
    );
}
