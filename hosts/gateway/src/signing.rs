//! The key policy bundles are signed with (Ed25519, ring).
//!
//! A client that decides locally from a bundle pins this key's public half and refuses
//! any bundle whose signature does not verify, so a compromised path between it and the
//! gateway cannot hand it a permissive set. The key comes from `BUNDLE_SIGNING_KEY_FILE`
//! (a PKCS#8 PEM file, as `openssl genpkey -algorithm ed25519` writes); without it, one
//! is generated once into `<data dir>/bundle-signing-key.pem` (mode 0600) and reused on
//! every start, so clients keep trusting the same key (a `:memory:` gateway gets a key for
//! that run only). Replicas must share one key: set the file on each.

use std::path::Path;

use anyhow::{Context, Result, anyhow};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair as _};
use rustls_pki_types::PrivatePkcs8KeyDer;
use rustls_pki_types::pem::PemObject as _;
use sha2::{Digest, Sha256};

/// The signing key and its public description.
pub struct BundleSigner {
    key: Ed25519KeyPair,
    /// The raw public key, base64.
    pub public_key: String,
    /// The first 16 hex digits of the public key's SHA-256.
    pub key_id: String,
}

impl std::fmt::Debug for BundleSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BundleSigner({})", self.key_id)
    }
}

impl BundleSigner {
    /// Reads `configured`, else `<data_dir>/bundle-signing-key.pem`, generating the latter
    /// when it does not exist; with neither, a key for this run only.
    pub fn load(configured: Option<&Path>, data_dir: Option<&Path>) -> Result<BundleSigner> {
        let (path, generated) = match (configured, data_dir) {
            (Some(p), _) => (p.to_path_buf(), false),
            (None, None) => {
                let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
                    .map_err(|_| anyhow!("generating an Ed25519 key failed"))?;
                let key = Ed25519KeyPair::from_pkcs8(doc.as_ref())
                    .map_err(|e| anyhow!("the generated key does not load ({e})"))?;
                return Ok(Self::from_key(key));
            }
            (None, Some(data_dir)) => {
                let p = data_dir.join("bundle-signing-key.pem");
                let generated = !p.exists();
                if generated {
                    let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
                        .map_err(|_| anyhow!("generating an Ed25519 key failed"))?;
                    crate::server::write_secret(&p, pem(doc.as_ref()).as_bytes())?;
                }
                (p, generated)
            }
        };
        let what = || format!("the bundle signing key {}", path.display());
        let der = PrivatePkcs8KeyDer::from_pem_file(&path)
            .map_err(|e| anyhow!("{e}"))
            .with_context(|| {
                format!("{}: expected a PKCS#8 PEM file (BEGIN PRIVATE KEY)", what())
            })?;
        let key = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der.secret_pkcs8_der())
            .map_err(|e| anyhow!("{}: not an Ed25519 key ({e})", what()))?;
        let signer = Self::from_key(key);
        if generated {
            tracing::info!(file = %path.display(), key_id = %signer.key_id, "generated the bundle signing key");
        }
        Ok(signer)
    }

    fn from_key(key: Ed25519KeyPair) -> BundleSigner {
        let public = key.public_key().as_ref().to_vec();
        let digest = Sha256::digest(&public);
        BundleSigner {
            key,
            public_key: STANDARD.encode(&public),
            key_id: crate::auth::hex(&digest[..8]),
        }
    }

    /// The signature of `bytes`, base64.
    pub fn sign(&self, bytes: &[u8]) -> String {
        STANDARD.encode(self.key.sign(bytes).as_ref())
    }
}

/// A PKCS#8 document as PEM.
fn pem(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = String::from("-----BEGIN PRIVATE KEY-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str("-----END PRIVATE KEY-----\n");
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use ring::signature::{ED25519, UnparsedPublicKey};

    #[test]
    fn a_generated_key_is_kept_and_signs_verifiably() {
        let dir = std::env::temp_dir().join(format!("meshguard-signing-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let a = BundleSigner::load(None, Some(&dir)).unwrap();
        let b = BundleSigner::load(None, Some(&dir)).unwrap();
        let throwaway = BundleSigner::load(None, None).unwrap();
        assert_ne!(throwaway.public_key, a.public_key);
        assert_eq!(a.public_key, b.public_key, "the same key on the next start");
        let sig = STANDARD.decode(a.sign(b"bundle")).unwrap();
        let public = STANDARD.decode(&a.public_key).unwrap();
        let key = UnparsedPublicKey::new(&ED25519, &public);
        assert!(key.verify(b"bundle", &sig).is_ok());
        assert!(key.verify(b"bundlE", &sig).is_err());
        std::fs::write(dir.join("bad.pem"), "not a key").unwrap();
        let e = format!(
            "{:#}",
            BundleSigner::load(Some(&dir.join("bad.pem")), Some(&dir)).unwrap_err()
        );
        assert!(e.contains("expected a PKCS#8 PEM file"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
