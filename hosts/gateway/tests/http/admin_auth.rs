//! The admin token: `/admin/*` requires it, and a generated one is written to the data
//! directory with mode 0600 and printed once.

use crate::common::{self, ADMIN, Gateway, Options};
use crate::{TEST_POLICY, test_gateway};

#[test]
fn admin_api_requires_the_admin_token() {
    if common::skip_in_debug("admin_api_requires_the_admin_token") {
        return;
    }
    let gw = test_gateway(vec![]);
    assert_eq!(gw.get("/admin/agents", &[]).status, 401);
    let wrong = gw.get(
        "/admin/agents",
        &[("X-Admin-Token", "not-the-token-at-all")],
    );
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.json()["error"], "unauthorized");
    assert_eq!(
        gw.get("/admin/agents", &[("X-Admin-Token", ADMIN)]).status,
        200
    );
    assert_eq!(gw.get("/nope", &[]).status, 404);
}

#[test]
fn a_generated_admin_token_is_written_with_mode_0600() {
    if common::skip_in_debug("a_generated_admin_token_is_written_with_mode_0600") {
        return;
    }
    let gw = Gateway::start(Options {
        db: None,
        policies: Some(vec![("test.yaml", TEST_POLICY.to_owned())]),
        env: vec![
            ("ADMIN_TOKEN", String::new()),
            ("DATA_DIR", "data".to_owned()),
        ],
    });
    let path = gw.dir.join("data/admin-token");
    let token = std::fs::read_to_string(&path).unwrap().trim().to_owned();
    assert!(token.starts_with("mgadm_") && token.len() == 70, "{token}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    assert!(
        gw.log().contains(&token),
        "the token is printed once at start"
    );
    assert_eq!(
        gw.get("/admin/agents", &[("X-Admin-Token", &token)]).status,
        200
    );
    assert_eq!(
        gw.get("/admin/agents", &[("X-Admin-Token", ADMIN)]).status,
        401
    );
}
