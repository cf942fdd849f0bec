//! `/admin/approvals`: a `require_approval` decision creates one pending approval per
//! request; approving lets one identical request through once; denying keeps it out.

use serde_json::json;

use crate::common;
use crate::test_gateway;

#[test]
fn approvals_let_one_identical_request_through() {
    if common::skip_in_debug("approvals_let_one_identical_request_through") {
        return;
    }
    let gw = test_gateway(vec![]);
    let (id, token) = gw.agent("payer", "trusted", &["tester"]);
    let first = gw.check(&token, "pay:invoice", Some("INV-1"));
    assert_eq!(first.status, 403, "{}", first.body);
    let v = first.json();
    assert_eq!(v["decision"], "require_approval");
    assert_eq!(v["message"], "Payments need a person");
    let approval = v["approvalId"].as_str().unwrap().to_owned();
    assert!(approval.starts_with("apr_"));
    // A retry gets the same pending approval, not a new one.
    let again = gw.check(&token, "pay:invoice", Some("INV-1")).json();
    assert_eq!(again["approvalId"], approval.as_str());
    let other = gw.check(&token, "pay:invoice", Some("INV-2")).json();
    assert_ne!(other["approvalId"], approval.as_str());

    let pending = gw
        .admin("GET", "/admin/approvals?status=pending", None)
        .json();
    assert_eq!(pending["approvals"].as_array().unwrap().len(), 2);
    let ok = gw.admin(
        "POST",
        &format!("/admin/approvals/{approval}/approve"),
        Some(json!({"by": "alice", "note": "expected invoice"})),
    );
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.json()["status"], "approved");
    assert_eq!(ok.json()["agentId"], id.as_str());
    assert_eq!(
        gw.admin("POST", &format!("/admin/approvals/{approval}/deny"), None)
            .status,
        409
    );

    let through = gw.check(&token, "pay:invoice", Some("INV-1"));
    assert_eq!(through.status, 200, "{}", through.body);
    let t = through.json();
    assert_eq!(t["decision"], "allow");
    assert_eq!(t["approvalId"], approval.as_str());
    assert!(t["reason"].as_str().unwrap().contains("approved by alice"));
    // Once only.
    let next = gw.check(&token, "pay:invoice", Some("INV-1"));
    assert_eq!(next.status, 403);
    assert_ne!(next.json()["approvalId"], approval.as_str());
    let used = gw
        .admin("GET", &format!("/admin/approvals/{approval}"), None)
        .json();
    assert_eq!(used["status"], "used");

    let denied_id = other["approvalId"].as_str().unwrap();
    let denied = gw.admin("POST", &format!("/admin/approvals/{denied_id}/deny"), None);
    assert_eq!(denied.status, 200);
    assert_eq!(denied.json()["status"], "denied");
    assert_eq!(gw.check(&token, "pay:invoice", Some("INV-2")).status, 403);
    assert_eq!(
        gw.admin("POST", "/admin/approvals/apr_nope/approve", None)
            .status,
        404
    );

    let audited = gw.audit("decision=require_approval&limit=100");
    assert_eq!(audited.len(), 5);
    assert!(audited.iter().all(|e| e["approvalId"].is_string()));
}
