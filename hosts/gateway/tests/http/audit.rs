//! `/admin/audit` export: CSV (quoted, formula-safe) and JSON, with its filters and their
//! validation.

use crate::common;
use crate::test_gateway;

#[test]
fn audit_exports_csv_and_json() {
    if common::skip_in_debug("audit_exports_csv_and_json") {
        return;
    }
    let gw = test_gateway(vec![]);
    let (_, token) = gw.agent("exporter", "verified", &["tester"]);
    for i in 0..30 {
        let action = if i % 3 == 0 {
            "delete:thing"
        } else {
            "read:thing"
        };
        gw.check(&token, action, Some(&format!("=cmd|{i},\"x\"")));
    }
    let csv = gw.admin("GET", "/admin/audit?format=csv", None);
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    let lines: Vec<&str> = csv.body.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 31, "{}", csv.body);
    assert!(
        lines[0].starts_with("id,timestamp,traceId,agentId,agentName,action,resource,decision")
    );
    // Agent-chosen text is quoted and cannot start a spreadsheet formula.
    assert!(lines[1].contains("\"'=cmd|29,\"\"x\"\"\""), "{}", lines[1]);
    let deny_csv = gw.admin(
        "GET",
        "/admin/audit?format=csv&decision=deny&order=asc",
        None,
    );
    let deny_lines: Vec<&str> = deny_csv
        .body
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(deny_lines.len(), 11);
    assert!(deny_lines[1].contains("=cmd|0,"));
    let json = gw.admin("GET", "/admin/audit?format=json&limit=7", None);
    assert_eq!(json.status, 200);
    let page = json.json()["entries"].as_array().unwrap().clone();
    assert_eq!(page.len(), 7);
    // Ids are strings (the SDKs' `AuditEntry.id`), the digits of a sequence: newest first.
    let ids: Vec<u64> = page
        .iter()
        .map(|e| e["id"].as_str().expect("a string id").parse().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");
    let today = gw.admin(
        "GET",
        "/admin/audit?from=2020-01-01&to=2999-12-31&limit=100",
        None,
    );
    assert_eq!(today.json()["entries"].as_array().unwrap().len(), 30);
    let none = gw.admin("GET", "/admin/audit?to=2020-01-01", None);
    assert_eq!(none.json()["entries"].as_array().unwrap().len(), 0);
    assert_eq!(
        gw.admin("GET", "/admin/audit?decision=maybe", None).status,
        400
    );
    assert_eq!(
        gw.admin("GET", "/admin/audit?from=yesterday", None).status,
        400
    );
    assert_eq!(gw.admin("GET", "/admin/audit?format=xml", None).status, 400);
    assert_eq!(gw.admin("GET", "/admin/audit?bogus=1", None).status, 400);
}
