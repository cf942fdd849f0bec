//! Connection and token problems are one line: the admin token read from the gateway's
//! data directory, a missing or wrong token, `--admin-token` over the variable, nothing
//! listening, https, and a URL that is not a gateway.

use crate::common::{p, text};
use crate::support::{ADMIN, Gateway, both, code};

#[test]
fn connection_and_token_problems_are_one_line() {
    let gw = Gateway::start_with(None);
    // No ADMIN_TOKEN: the gateway wrote one to its data directory, and the CLI reads it
    // there for a gateway on this machine.
    let data_dir = p(gw.dir.path()).to_owned();
    let out = gw.cli_env(&["agent", "list"], &[("DATA_DIR", &data_dir)]);
    assert_eq!(code(&out), Some(0), "{}", both(&out));
    assert!(text(&out.stdout).contains("no agents"), "{}", both(&out));

    // No token anywhere: usage (exit 2), one line.
    let out = gw.cli_env(
        &["agent", "list"],
        &[("DATA_DIR", "/nonexistent-meshguard-dir")],
    );
    assert_eq!(code(&out), Some(2), "{}", both(&out));
    assert_eq!(text(&out.stderr).lines().count(), 1, "{}", both(&out));
    assert!(
        text(&out.stderr).contains("no admin token"),
        "{}",
        both(&out)
    );

    // A wrong token: 401, one line.
    let out = gw.cli_env(
        &["policy", "list"],
        &[("MESHGUARD_ADMIN_TOKEN", "wrong-token-0123456789")],
    );
    assert_eq!(code(&out), Some(1), "{}", both(&out));
    assert_eq!(
        text(&out.stderr).lines().collect::<Vec<_>>(),
        [format!(
            "error: the gateway refused the admin token (401 from {}); check MESHGUARD_ADMIN_TOKEN or --admin-token",
            gw.url
        )]
    );
    // The flag beats the variable.
    let token = std::fs::read_to_string(gw.dir.path().join("admin-token")).unwrap();
    let out = gw.cli_env(
        &["audit", "query", "--admin-token", token.trim()],
        &[("MESHGUARD_ADMIN_TOKEN", "wrong-token-0123456789")],
    );
    assert_eq!(code(&out), Some(0), "{}", both(&out));

    // Nothing listening: one line naming the URL.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{closed}");
    let out = gw.cli_env(
        &["agent", "--gateway-url", &url, "list"],
        &[("MESHGUARD_ADMIN_TOKEN", ADMIN)],
    );
    assert_eq!(code(&out), Some(1), "{}", both(&out));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!(
            "error: cannot reach the gateway at {url}: connection refused"
        )),
        "{err}"
    );
    // https is refused before any connection (no TLS in this build).
    let out = gw.cli(&["agent", "list", "--gateway-url", "https://gateway.example"]);
    assert_eq!(code(&out), Some(2), "{}", both(&out));
    assert!(
        text(&out.stderr).contains("https is not supported"),
        "{}",
        both(&out)
    );
    // Something that is not a gateway: an unknown route.
    let out = gw.cli_env(
        &[
            "agent",
            "list",
            "--gateway-url",
            &format!("{}/elsewhere", gw.url),
        ],
        &[("MESHGUARD_ADMIN_TOKEN", token.trim())],
    );
    assert_eq!(code(&out), Some(1), "{}", both(&out));
    assert_eq!(text(&out.stderr).lines().count(), 1, "{}", both(&out));
}
