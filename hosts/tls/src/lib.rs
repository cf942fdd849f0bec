//! TLS for every MeshGuard host, set up in one place so that the gateway (webhooks, proxy
//! upstream, its own HTTPS listener) and the CLI (admin commands, the MCP server's fetch)
//! trust the same certificates and speak the same protocol versions.
//!
//! - **Trust**: the platform's roots (`rustls-native-certs`: the system store, or the
//!   files `SSL_CERT_FILE` / `SSL_CERT_DIR` name) plus an optional extra PEM file of CA
//!   certificates for a private PKI. An extra file that cannot be read or holds no
//!   certificate is an error, never skipped: a typo must not turn into "trust nothing
//!   private" at three in the morning.
//! - **Crypto**: rustls with the `ring` provider. `aws-lc-rs` (rustls' default) needs
//!   cmake and a C toolchain set-up this project does not require; `ring` builds with `cc`.
//! - **Server**: a certificate chain and key from PEM files (`TLS_CERT_FILE`,
//!   `TLS_KEY_FILE` on the gateway).

#![forbid(unsafe_code)]

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

pub use rustls;

/// The crypto provider every configuration here uses.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The certificates trusted for outbound TLS.
#[derive(Debug, Clone)]
pub struct Trust {
    certs: Vec<CertificateDer<'static>>,
    /// Where they came from, for logs and errors (`platform (143), /etc/ca.pem (1)`).
    pub origin: String,
}

impl Trust {
    /// The platform's roots plus the CA certificates in `extra_ca` (PEM), if given.
    pub fn load(extra_ca: Option<&Path>) -> Result<Trust> {
        let native = rustls_native_certs::load_native_certs();
        let mut certs = native.certs;
        let mut origin = format!("platform ({})", certs.len());
        if certs.is_empty()
            && let Some(e) = native.errors.first()
        {
            origin.push_str(&format!(" [could not read the platform store: {e}]"));
        }
        if let Some(path) = extra_ca {
            let extra = read_certs(path)?;
            origin.push_str(&format!(", {} ({})", path.display(), extra.len()));
            certs.extend(extra);
        }
        Ok(Trust { certs, origin })
    }

    /// The trusted certificates (what `ureq`'s `RootCerts::new_with_certs` takes).
    pub fn certs(&self) -> &[CertificateDer<'static>] {
        &self.certs
    }

    /// Whether nothing is trusted (no platform store and no extra file): every
    /// `https://` connection would fail verification.
    pub fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }

    /// Fails with what to do when nothing is trusted; `what` names the setting that
    /// needs TLS.
    pub fn require(&self, what: &str) -> Result<()> {
        if self.is_empty() {
            bail!(
                "{what} is https://, but no CA certificate is trusted ({}): install the \
                 system's CA bundle (ca-certificates) or name a PEM file of CA certificates",
                self.origin
            );
        }
        Ok(())
    }

    /// A rustls client configuration trusting these certificates.
    pub fn client_config(&self) -> Result<Arc<ClientConfig>> {
        let mut roots = RootCertStore::empty();
        roots.add_parsable_certificates(self.certs.iter().cloned());
        let config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .context("setting up TLS")?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Arc::new(config))
    }
}

/// Every certificate of a PEM file; an error when there is none.
pub fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .with_context(|| format!("cannot read the certificate file `{}`", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("the certificate file `{}` is not valid PEM", path.display()))?;
    if certs.is_empty() {
        bail!(
            "the certificate file `{}` holds no `BEGIN CERTIFICATE` block",
            path.display()
        );
    }
    Ok(certs)
}

/// A server configuration from a PEM certificate chain (leaf first) and a PEM private key
/// (PKCS#8, PKCS#1 or SEC1), speaking HTTP/1.1.
pub fn server_config(cert_file: &Path, key_file: &Path) -> Result<Arc<ServerConfig>> {
    let chain = read_certs(cert_file)?;
    let key = PrivateKeyDer::from_pem_file(key_file).with_context(|| {
        format!(
            "cannot read a private key from `{}` (expected a PEM `PRIVATE KEY` block)",
            key_file.display()
        )
    })?;
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .context("setting up TLS")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .with_context(|| {
            format!(
                "the key `{}` does not go with the certificate `{}`",
                key_file.display(),
                cert_file.display()
            )
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Test certificates (feature `testing`).
#[cfg(feature = "testing")]
pub mod testing {
    use std::path::{Path, PathBuf};

    use anyhow::Result;

    /// A throw-away CA and a server certificate it signed for `localhost` and
    /// `127.0.0.1`, written as PEM files.
    #[derive(Debug, Clone)]
    pub struct Pki {
        /// The CA certificate.
        pub ca: PathBuf,
        /// The server certificate.
        pub cert: PathBuf,
        /// The server certificate's private key.
        pub key: PathBuf,
    }

    impl Pki {
        /// Makes the CA and the certificate and writes `ca.pem`, `cert.pem` and
        /// `key.pem` into `dir`.
        pub fn create(dir: &Path) -> Result<Pki> {
            let ca_key = rcgen::KeyPair::generate()?;
            let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new())?;
            ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
            ca_params
                .distinguished_name
                .push(rcgen::DnType::CommonName, "MeshGuard test CA");
            let ca_cert = ca_params.self_signed(&ca_key)?;
            let issuer = rcgen::Issuer::new(ca_params, ca_key);
            let leaf_key = rcgen::KeyPair::generate()?;
            let leaf = rcgen::CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])?
                .signed_by(&leaf_key, &issuer)?;
            std::fs::create_dir_all(dir)?;
            let pki = Pki {
                ca: dir.join("ca.pem"),
                cert: dir.join("cert.pem"),
                key: dir.join("key.pem"),
            };
            std::fs::write(&pki.ca, ca_cert.pem())?;
            std::fs::write(&pki.cert, leaf.pem())?;
            std::fs::write(&pki.key, leaf_key.serialize_pem())?;
            Ok(pki)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn temp(name: &str, text: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("meshguard-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn an_extra_ca_is_added_and_a_bad_one_is_an_error() {
        let ca = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let good = temp("ca.pem", &ca.cert.pem());
        let trust = Trust::load(Some(&good)).unwrap();
        assert!(trust.origin.contains("ca.pem (1)"), "{}", trust.origin);
        assert!(
            trust
                .certs()
                .iter()
                .any(|c| c.as_ref() == ca.cert.der().as_ref())
        );
        assert!(trust.client_config().is_ok());

        let empty = temp("empty.pem", "not a certificate\n");
        let e = format!("{:#}", Trust::load(Some(&empty)).unwrap_err());
        assert!(e.contains("holds no `BEGIN CERTIFICATE` block"), "{e}");
        let e = format!(
            "{:#}",
            Trust::load(Some(Path::new("/nonexistent/ca.pem"))).unwrap_err()
        );
        assert!(e.contains("cannot read the certificate file"), "{e}");
    }

    #[test]
    fn a_server_config_needs_a_matching_key() {
        let a = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let b = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let cert = temp("a.pem", &a.cert.pem());
        let key = temp("a.key", &a.signing_key.serialize_pem());
        let other = temp("b.key", &b.signing_key.serialize_pem());
        assert!(server_config(&cert, &key).is_ok());
        let e = format!("{:#}", server_config(&cert, &other).unwrap_err());
        assert!(e.contains("does not go with"), "{e}");
        let e = format!("{:#}", server_config(&cert, &cert).unwrap_err());
        assert!(e.contains("cannot read a private key"), "{e}");
    }
}
