//! The CLI's HTTP client set-up, shared by the admin commands and the MCP server's fetch:
//! `https://` through rustls, trusting the platform's roots plus the PEM file named by
//! `--ca-file` / `MESHGUARD_CA_FILE` (for a gateway behind a private CA). The trust store is
//! only read when a URL is `https://`, so plain-HTTP commands pay nothing for it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};

/// `http[s]://host:port[/prefix]` without a trailing slash; a bare `host:port` gets
/// `http://`.
pub fn base_url(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    let (scheme, rest) = if let Some(rest) = raw.strip_prefix("http://") {
        ("http", rest)
    } else if let Some(rest) = raw.strip_prefix("https://") {
        ("https", rest)
    } else if raw.contains("://") {
        return Err(format!(
            "`{raw}`: the gateway URL must start with http:// or https://"
        ));
    } else {
        ("http", raw)
    };
    let host = rest.trim_end_matches('/');
    if host.is_empty() || host.starts_with('/') || host.contains(['?', '#', ' ']) {
        return Err(format!("`{raw}` is not a usable gateway URL"));
    }
    Ok(format!("{scheme}://{host}"))
}

/// The extra CA file: the flag, else `MESHGUARD_CA_FILE`.
pub fn ca_file(flag: Option<&Path>) -> Option<PathBuf> {
    flag.map(Path::to_path_buf).or_else(|| {
        std::env::var_os("MESHGUARD_CA_FILE")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    })
}

/// A client for `url` with the given timeouts (connect, whole answer), not treating HTTP
/// error statuses as errors and never following redirects (an answer is about the URL
/// that was asked for, and the policy decided about that URL).
pub fn agent(
    url: &str,
    ca_file: Option<&Path>,
    connect: Duration,
    answer: Duration,
) -> Result<ureq::Agent> {
    let mut config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_connect(Some(connect))
        .timeout_recv_response(Some(answer))
        .timeout_recv_body(Some(answer))
        .user_agent(format!("meshguard-cli/{}", meshguard_core::VERSION));
    if url.starts_with("https://") {
        let trust = meshguard_tls::Trust::load(ca_file)?;
        trust.require(url)?;
        let certs: Vec<Certificate<'static>> = trust
            .certs()
            .iter()
            .map(|c| Certificate::from_der(c.as_ref()).to_owned())
            .collect();
        config = config.tls_config(
            TlsConfig::builder()
                .provider(TlsProvider::Rustls)
                .root_certs(RootCerts::new_with_certs(&certs))
                .unversioned_rustls_crypto_provider(meshguard_tls::provider())
                .build(),
        );
    }
    Ok(config.build().into())
}
