//! HTTPS, so that browsers speak HTTP/2 to the playground.
//!
//! Browsers use HTTP/2 only over TLS, choosing it by ALPN during the
//! handshake; there is no clear-text HTTP/2 in a browser. With `--tls` the
//! server offers `h2` and `http/1.1` on its port (and only `http/1.1` on
//! `--http1-port`, so one page can compare the two).
//!
//! The certificate is the learner's own (`--tls-cert`/`--tls-key`, e.g. from
//! `mkcert`) or one generated for `localhost`, `127.0.0.1` and `::1`. A
//! generated one is kept in the data directory, so the browser's "proceed
//! anyway" is asked once, not at every start; with `--ephemeral` it lives in
//! memory only.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::config::Config;
use crate::storage::Keeping;

/// The protocols a TLS port offers, in the server's order of preference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// `h2`, then `http/1.1`: what a browser picks is HTTP/2.
    Http2AndHttp1,
    /// `http/1.1` only: the comparison port.
    Http1Only,
}

impl Offer {
    fn alpn(self) -> Vec<Vec<u8>> {
        match self {
            Offer::Http2AndHttp1 => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
            Offer::Http1Only => vec![b"http/1.1".to_vec()],
        }
    }
}

/// The names a generated certificate is valid for.
const NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];
const CERT_FILE: &str = "localhost-cert.pem";
const KEY_FILE: &str = "localhost-key.pem";

/// Where the certificate came from, for the start-up lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertificateSource {
    /// `--tls-cert`/`--tls-key`.
    Given(PathBuf),
    /// Generated at this start and kept in this file.
    Generated(PathBuf),
    /// Generated at an earlier start, read from this file.
    Kept(PathBuf),
    /// Generated at this start, kept nowhere (`--ephemeral`).
    InMemory,
}

impl std::fmt::Display for CertificateSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CertificateSource::Given(p) => write!(f, "yours, from {}", p.display()),
            CertificateSource::Generated(p) => {
                write!(f, "generated for localhost, kept in {}", p.display())
            }
            CertificateSource::Kept(p) => write!(f, "generated for localhost, {}", p.display()),
            CertificateSource::InMemory => f.write_str("generated for localhost, not kept"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot keep the generated certificate in {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} holds no PEM certificate or private key: {detail}")]
    Pem { path: PathBuf, detail: String },
    #[error("cannot generate a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("the certificate and key do not work together: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("--tls-cert and --tls-key go together: give both")]
    HalfAPair,
}

/// A certificate chain and its key, ready for rustls.
pub struct Certificate {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    pub source: CertificateSource,
    /// The PEM text of the leaf, for clients that must trust it (tests).
    pub pem: String,
}

impl Certificate {
    /// The learner's files, else the kept generated one, else a new one.
    pub fn load(config: &Config, keeping: &Keeping) -> Result<Certificate, TlsError> {
        match (&config.tls_cert, &config.tls_key) {
            (Some(cert), Some(key)) => {
                let mut c = Certificate::from_files(cert, key)?;
                c.source = CertificateSource::Given(cert.clone());
                Ok(c)
            }
            (None, None) => match keeping {
                Keeping::Nowhere => {
                    Certificate::generate(CertificateSource::InMemory).map(|(c, _)| c)
                }
                Keeping::File(progress) => {
                    let dir = progress.parent().unwrap_or(Path::new(".")).join("tls");
                    Certificate::kept_in(&dir)
                }
            },
            _ => Err(TlsError::HalfAPair),
        }
    }

    fn kept_in(dir: &Path) -> Result<Certificate, TlsError> {
        let (cert, key) = (dir.join(CERT_FILE), dir.join(KEY_FILE));
        if cert.exists() && key.exists() {
            let mut c = Certificate::from_files(&cert, &key)?;
            c.source = CertificateSource::Kept(cert);
            return Ok(c);
        }
        let (c, key_pem) = Certificate::generate(CertificateSource::Generated(cert.clone()))?;
        let write = |path: &Path, text: &str| -> Result<(), TlsError> {
            let fail = |source| TlsError::Write {
                path: path.to_owned(),
                source,
            };
            std::fs::create_dir_all(dir).map_err(fail)?;
            std::fs::write(path, text).map_err(fail)
        };
        write(&key, &key_pem)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600));
        }
        write(&cert, &c.pem)?;
        Ok(c)
    }

    /// A new self-signed certificate for [`NAMES`], and its key's PEM.
    fn generate(source: CertificateSource) -> Result<(Certificate, String), TlsError> {
        let mut params = rcgen::CertificateParams::new(NAMES.map(String::from).to_vec())?;
        params.distinguished_name.push(
            rcgen::DnType::CommonName,
            "realtime-playground on localhost",
        );
        let key = rcgen::KeyPair::generate()?;
        let cert = params.self_signed(&key)?;
        let key_pem = key.serialize_pem();
        let certificate = Certificate {
            chain: vec![cert.der().clone()],
            key: PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            source,
            pem: cert.pem(),
        };
        Ok((certificate, key_pem))
    }

    fn from_files(cert: &Path, key: &Path) -> Result<Certificate, TlsError> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|source| TlsError::Read {
                path: path.to_owned(),
                source,
            })
        };
        let pem_error = |path: &Path, err: rustls::pki_types::pem::Error| TlsError::Pem {
            path: path.to_owned(),
            detail: err.to_string(),
        };
        let cert_pem = read(cert)?;
        let chain = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| pem_error(cert, e))?;
        if chain.is_empty() {
            return Err(TlsError::Pem {
                path: cert.to_owned(),
                detail: "no CERTIFICATE block".into(),
            });
        }
        let key_der = PrivateKeyDer::from_pem_slice(&read(key)?).map_err(|e| pem_error(key, e))?;
        Ok(Certificate {
            chain,
            key: key_der,
            source: CertificateSource::Given(cert.to_owned()),
            pem: String::from_utf8_lossy(&cert_pem).into_owned(),
        })
    }

    /// A TLS acceptor offering `offer`'s protocols with this certificate.
    pub fn acceptor(&self, offer: Offer) -> Result<TlsAcceptor, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), self.key.clone_key())?;
        config.alpn_protocols = offer.alpn();
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_certificate_is_kept_and_read_back() {
        let dir = std::env::temp_dir().join(format!("rp-tls-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let first = Certificate::kept_in(&dir).expect("generated");
        assert!(matches!(first.source, CertificateSource::Generated(_)));
        let second = Certificate::kept_in(&dir).expect("read back");
        assert!(matches!(second.source, CertificateSource::Kept(_)));
        assert_eq!(
            first.pem, second.pem,
            "the same certificate at the next start"
        );
        assert!(second.acceptor(Offer::Http2AndHttp1).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_file_without_pem_is_a_clear_error() {
        let dir = std::env::temp_dir().join(format!("rp-tls-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let junk = dir.join("junk.pem");
        std::fs::write(&junk, "not a certificate").expect("write");
        let err = Certificate::from_files(&junk, &junk)
            .err()
            .expect("refused");
        assert!(err.to_string().contains("junk.pem"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
