//! `meshguard schema` and `meshguard serve`.

#![allow(
    clippy::unwrap_used,
    reason = "test setup failing should fail the test loudly"
)]

mod common;

use std::process::Command;

use common::{BIN, TempDir, meshguard, repo, text};

#[test]
fn schema_prints_the_shipped_file() {
    let out = meshguard(&["schema"]);
    assert_eq!(out.status.code(), Some(0));
    let shipped = std::fs::read_to_string(repo("schema/meshguard-policy.schema.json")).unwrap();
    assert_eq!(text(&out.stdout), shipped);
    // `--json` changes nothing for a command whose output is JSON.
    assert_eq!(meshguard(&["--json", "schema"]).stdout, out.stdout);
}

#[cfg(unix)]
#[test]
fn serve_runs_the_gateway_beside_it_or_says_it_is_missing() {
    use std::os::unix::fs::PermissionsExt;

    let dir = TempDir::new("serve");
    let copy = dir.path().join("meshguard");
    std::fs::copy(BIN, &copy).unwrap();
    let out = Command::new(&copy)
        .args(["serve", "--port", "0"])
        .env("PATH", "")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("cannot find `meshguard-gateway`"), "{err}");

    let gateway = dir.write(
        "meshguard-gateway",
        "#!/bin/sh\necho \"gateway $*\"\nexit 3\n",
    );
    std::fs::set_permissions(&gateway, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = Command::new(&copy)
        .args(["serve", "--port", "8080", "--policies", "p"])
        .env("PATH", "")
        .output()
        .unwrap();
    assert_eq!(text(&out.stdout), "gateway --port 8080 --policies p\n");
    assert_eq!(out.status.code(), Some(3));
}
