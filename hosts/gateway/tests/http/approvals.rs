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

/// An approval is for the request's context too: approved for `{amount: 5}`, it does not
/// let `{amount: 500000}` through (that request gets its own pending approval). Only an
/// approver who says `anyContext` widens it.
#[test]
fn an_approval_is_bound_to_the_context() {
    if common::skip_in_debug("an_approval_is_bound_to_the_context") {
        return;
    }
    let gw = test_gateway(vec![]);
    let (_, token) = gw.agent("payer", "trusted", &["tester"]);
    let bearer = format!("Bearer {token}");
    let pay = |amount: u64| {
        gw.get(
            "/proxy/check",
            &[
                ("Authorization", bearer.as_str()),
                ("X-MeshGuard-Action", "pay:invoice"),
                ("X-MeshGuard-Resource", "INV-9"),
                ("X-MeshGuard-Context", &format!("{{\"amount\":{amount}}}")),
            ],
        )
    };
    let small = pay(5).json();
    let approval = small["approvalId"].as_str().unwrap().to_owned();
    let large = pay(500_000).json();
    assert_ne!(
        large["approvalId"],
        approval.as_str(),
        "a new approval for another amount"
    );
    let ok = gw.admin(
        "POST",
        &format!("/admin/approvals/{approval}/approve"),
        None,
    );
    assert_eq!(ok.json()["anyContext"], false);

    let smuggled = pay(500_000);
    assert_eq!(smuggled.status, 403, "{}", smuggled.body);
    assert_eq!(smuggled.json()["approvalId"], large["approvalId"]);
    let used = pay(5);
    assert_eq!(used.status, 200, "{}", used.body);
    assert_eq!(used.json()["approvalId"], approval.as_str());

    // Widened by the approver: any amount, still once.
    let wide = pay(7).json()["approvalId"].as_str().unwrap().to_owned();
    let ok = gw.admin(
        "POST",
        &format!("/admin/approvals/{wide}/approve"),
        Some(json!({"by": "bob", "anyContext": true})),
    );
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.json()["anyContext"], true);
    let through = pay(123);
    assert_eq!(through.status, 200, "{}", through.body);
    assert_eq!(through.json()["approvalId"], wide.as_str());
    assert_eq!(pay(123).status, 403, "once only");
}
