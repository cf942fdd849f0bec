//! Slow and idle clients cannot hold the gateway (API.md, "Connections"): headers and
//! bodies have deadlines, idle keep-alive connections are closed, connections over
//! `MAX_CONNECTIONS` get a 503 and real checks go on; unauthenticated callers leave a
//! bounded audit row.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::{common, test_gateway};

fn connect(gw: &crate::common::Gateway) -> TcpStream {
    let addr = gw.base.trim_start_matches("http://");
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    tcp
}

/// Reads until the gateway closes the connection; returns what it sent and how long
/// the close took.
fn read_until_closed(tcp: &mut TcpStream) -> (String, Duration) {
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tcp.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("the gateway kept the connection open: {e}"),
        }
    }
    (
        String::from_utf8_lossy(&got).into_owned(),
        started.elapsed(),
    )
}

#[test]
fn half_sent_headers_and_idle_keep_alive_connections_are_closed() {
    if common::skip_in_debug("half_sent_headers_and_idle_keep_alive_connections_are_closed") {
        return;
    }
    let gw = test_gateway(vec![("HEADER_TIMEOUT_SECS", "1".to_owned())]);

    let mut half = connect(&gw);
    half.write_all(b"GET /health HTTP/1.1\r\nHost: gw\r\nX-Slow: ")
        .unwrap();
    let (_, took) = read_until_closed(&mut half);
    assert!(took < Duration::from_secs(5), "closed after {took:?}");

    // A complete request is answered; the kept-alive connection is then closed after the
    // same timeout without a further request.
    let mut idle = connect(&gw);
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: gw\r\n\r\n")
        .unwrap();
    let (answer, took) = read_until_closed(&mut idle);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(took < Duration::from_secs(5), "closed after {took:?}");
}

#[test]
fn a_body_that_does_not_arrive_is_a_408_denied_and_audited() {
    if common::skip_in_debug("a_body_that_does_not_arrive_is_a_408_denied_and_audited") {
        return;
    }
    let gw = test_gateway(vec![("BODY_TIMEOUT_SECS", "1".to_owned())]);
    let (_, token) = gw.agent("slow", "verified", &["tester"]);
    let mut tcp = connect(&gw);
    let head = format!(
        "POST /v1/check HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer {token}\r\n\
         X-MeshGuard-Trace-ID: slow-body\r\nContent-Type: application/json\r\n\
         Content-Length: 100\r\n\r\n{{\"action\":"
    );
    tcp.write_all(head.as_bytes()).unwrap();
    let started = Instant::now();
    let (answer, _) = read_until_closed(&mut tcp);
    assert!(started.elapsed() < Duration::from_secs(6));
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("BODY_TIMEOUT_SECS"), "{answer}");
    let entries = gw.audit("traceId=slow-body");
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["status"], 408);
    assert_eq!(entries[0]["decision"], "deny");
    assert_eq!(entries[0]["rule"], "request-timeout");
}

#[test]
fn connections_over_the_cap_get_503_and_checks_resume() {
    if common::skip_in_debug("connections_over_the_cap_get_503_and_checks_resume") {
        return;
    }
    let gw = test_gateway(vec![
        ("MAX_CONNECTIONS", "4".to_owned()),
        ("HEADER_TIMEOUT_SECS", "2".to_owned()),
    ]);
    let (_, token) = gw.agent("busy", "verified", &["tester"]);
    // Idle sockets fill the cap (some may still be the test client's kept-alive one).
    let holders: Vec<TcpStream> = (0..40).map(|_| connect(&gw)).collect();
    std::thread::sleep(Duration::from_millis(200));
    let mut extra = connect(&gw);
    extra
        .write_all(b"GET /health HTTP/1.1\r\nHost: gw\r\n\r\n")
        .unwrap();
    let (answer, _) = read_until_closed(&mut extra);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("MAX_CONNECTIONS"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("retry-after: 1"),
        "{answer}"
    );

    // The idle holders time out; checks go through again without anyone closing them.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let r = gw.check(&token, "read:thing", None);
        if r.status == 200 {
            break;
        }
        assert_eq!(r.status, 503, "{}", r.body);
        assert!(Instant::now() < deadline, "checks never resumed");
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(holders);
    let metrics = gw.get("/metrics", &[]).body;
    let refused: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("meshguard_connections_refused_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(refused >= 36, "{metrics}");
}

#[test]
fn unauthenticated_requests_leave_bounded_audit_rows() {
    if common::skip_in_debug("unauthenticated_requests_leave_bounded_audit_rows") {
        return;
    }
    let gw = test_gateway(vec![]);
    let big_context = format!("{{\"blob\":\"{}\"}}", "x".repeat(20_000));
    let big_resource = "r".repeat(20_000);
    let r = gw.get(
        "/proxy/check",
        &[
            ("Authorization", "Bearer not-a-token"),
            ("X-MeshGuard-Action", "read:thing"),
            ("X-MeshGuard-Resource", &big_resource),
            ("X-MeshGuard-Context", &big_context),
            ("X-MeshGuard-Trace-ID", "anon-1"),
        ],
    );
    assert_eq!(r.status, 401);
    let entries = gw.audit("traceId=anon-1");
    assert_eq!(entries.len(), 1);
    let e = &entries[0];
    assert_eq!(e["status"], 401);
    assert!(e["context"].is_null(), "{e}");
    let resource = e["resource"].as_str().unwrap();
    assert!(resource.len() < 300, "{} bytes kept", resource.len());
    assert!(resource.ends_with("bytes cut]"), "{resource}");
}
