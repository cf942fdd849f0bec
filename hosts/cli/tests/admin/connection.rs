//! Connection and token problems are one line: the admin token read from the gateway's
//! data directory, a missing or wrong token, `--admin-token` over the variable, nothing
//! listening, a bad CA file, and a URL that is not a gateway; an https:// gateway
//! reached with its CA (`--ca-file`, `MESHGUARD_CA_FILE`) and refused without it.

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
    // A CA file that does not hold a certificate is refused before any connection.
    gw.dir.write("not-a-ca.pem", "just text\n");
    let out = gw.cli(&[
        "agent",
        "list",
        "--gateway-url",
        "https://gateway.example",
        "--ca-file",
        "not-a-ca.pem",
    ]);
    assert_eq!(code(&out), Some(2), "{}", both(&out));
    assert!(
        text(&out.stderr).contains("holds no `BEGIN CERTIFICATE` block"),
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

#[test]
fn an_https_gateway_is_reached_through_its_ca() {
    let pki_dir = crate::common::TempDir::new("pki");
    let pki = meshguard_tls::testing::Pki::create(pki_dir.path()).unwrap();
    let gw = Gateway::start_tls(&pki);
    assert!(gw.url.starts_with("https://"), "{}", gw.url);
    let ca = p(&pki.ca).to_owned();
    let admin = ("MESHGUARD_ADMIN_TOKEN", ADMIN);

    // Without the CA: the certificate is not trusted, said in one line. The platform
    // store is pinned to an unrelated CA (`SSL_CERT_FILE`), so the outcome does not
    // depend on the machine's own CA bundle.
    let unrelated_dir = crate::common::TempDir::new("pki-unrelated");
    let unrelated = meshguard_tls::testing::Pki::create(unrelated_dir.path()).unwrap();
    let platform = ("SSL_CERT_FILE", p(&unrelated.ca));
    let out = gw.cli_env(&["agent", "list"], &[admin, platform]);
    assert_eq!(code(&out), Some(1), "{}", both(&out));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("cannot reach the gateway at https://"),
        "{err}"
    );
    assert!(
        err.to_lowercase().contains("certificate") || err.contains("UnknownIssuer"),
        "{err}"
    );

    // With it, by flag or by variable.
    let out = gw.cli_env(
        &["agent", "create", "tls-agent", "--ca-file", &ca],
        &[admin],
    );
    assert_eq!(code(&out), Some(0), "{}", both(&out));
    let out = gw.cli_env(
        &["agent", "list"],
        &[admin, platform, ("MESHGUARD_CA_FILE", &ca)],
    );
    assert_eq!(code(&out), Some(0), "{}", both(&out));
    assert!(text(&out.stdout).contains("tls-agent"), "{}", both(&out));
}
