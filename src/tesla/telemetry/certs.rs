//! `tesla::telemetry::certs`: the receiver's TLS identity and whom it trusts.
//!
//! **Server side.** Cars check the receiver's certificate against the `ca` pushed in their
//! telemetry config. A renewed leaf must therefore chain to the same CA, or every car needs a new
//! config push (which Tesla discourages and which can take a day to sync). So TeslaSync makes a
//! private CA once (valid for 50 years) and a server certificate signed by it (10 years), both in
//! `<storage.path>/telemetry/`, keys mode 0600. A new hostname makes a new leaf under the same CA.
//! Users with their own certificate configure `server_cert_file` (leaf first, then its chain)
//! and `server_key_file`; then the chain after the leaf is what cars are told to trust.
//!
//! **Client side.** Every car presents a certificate from Tesla's vehicle PKI. Only Tesla's bundle
//! (compiled in, or `tesla_ca_file`) plus `client_ca_file` are trust anchors, and only their
//! subjects are advertised in the CertificateRequest: some cars send no certificate when offered
//! a long list. Tesla's issuing CAs sign with ECDSA P-256/SHA-512 under a P-521 root, which *ring*
//! cannot verify, so the verification algorithms come from aws-lc-rs while the TLS suites are
//! *ring*'s (both are already in the build).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Tesla's production vehicle CA bundle, the default trust anchors for car certificates.
/// (The public bundle Tesla's own server embeds; `telemetry.tesla_ca_file` replaces it when Tesla adds CAs.)
pub const TESLA_PROD_CA: &str = include_str!("tesla_prod_ca.crt");

const CA_NAME: &str = "TeslaSync Fleet Telemetry CA";

/// Problems with certificates, each naming what to fix.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("cannot read {path}: {source}; check telemetry.{key}")]
    Read {
        path: PathBuf,
        key: &'static str,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}; check storage.path is writable")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{what} holds no PEM certificate; check telemetry.{key}")]
    NoCertificate { what: String, key: &'static str },
    #[error("{what} holds no PEM private key; check telemetry.server_key_file")]
    NoKey { what: String },
    #[error("could not generate the telemetry certificates: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("the TLS configuration is invalid: {0}")]
    Tls(#[from] rustls::Error),
    #[error(
        "no usable client CA: {0}; check telemetry.tesla_ca_file and telemetry.client_ca_file"
    )]
    ClientCa(String),
}

/// What the receiver serves and what cars are told to trust.
#[derive(Clone)]
pub struct ServerIdentity {
    /// Leaf first, then the chain.
    pub chain: Vec<CertificateDer<'static>>,
    pub key: Arc<PrivateKeyDer<'static>>,
    /// PEM pushed to cars as `ca`: the certificates that validate `chain[0]`.
    pub ca_pem: String,
}

impl std::fmt::Debug for ServerIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerIdentity")
            .field("chain", &self.chain.len())
            .field("ca_pem", &self.ca_pem)
            .finish_non_exhaustive()
    }
}

/// The user's certificate and key.
pub fn load_identity(cert_file: &Path, key_file: &Path) -> Result<ServerIdentity, CertError> {
    let cert_pem = read(cert_file, "server_cert_file")?;
    let key_pem = read(key_file, "server_key_file")?;
    let chain = certs(
        &cert_pem,
        &cert_file.display().to_string(),
        "server_cert_file",
    )?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|_| CertError::NoKey {
        what: key_file.display().to_string(),
    })?;
    let blocks = pem_blocks(&cert_pem);
    let ca_pem = if blocks.len() > 1 {
        blocks[1..].concat()
    } else {
        blocks.concat()
    };
    Ok(ServerIdentity {
        chain,
        key: Arc::new(key),
        ca_pem,
    })
}

/// The generated identity in `dir`, created on first use (and a new leaf when `hostname`
/// changed). The CA is never replaced.
pub fn load_or_create(dir: &Path, hostname: &str) -> Result<ServerIdentity, CertError> {
    std::fs::create_dir_all(dir).map_err(|source| CertError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let ca_cert = dir.join("ca.pem");
    let ca_key = dir.join("ca-key.pem");
    let leaf_cert = dir.join("server.pem");
    let leaf_key = dir.join("server-key.pem");
    let leaf_host = dir.join("server.hostname");

    let ca_params = ca_params();
    let ca_key_pair = if ca_key.exists() && ca_cert.exists() {
        KeyPair::from_pem(&read(&ca_key, "storage.path")?)?
    } else {
        let key = KeyPair::generate()?;
        let cert = ca_params.self_signed(&key)?;
        write(&ca_key, &key.serialize_pem(), true)?;
        write(&ca_cert, &cert.pem(), false)?;
        let _ = std::fs::remove_file(&leaf_cert);
        key
    };
    let ca_pem = read(&ca_cert, "storage.path")?;

    let current_host = std::fs::read_to_string(&leaf_host).unwrap_or_default();
    if !(leaf_cert.exists() && leaf_key.exists() && current_host.trim() == hostname) {
        let issuer = Issuer::new(ca_params, ca_key_pair);
        let mut params = CertificateParams::new(vec![hostname.to_string()])?;
        params.distinguished_name.push(DnType::CommonName, hostname);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.not_before = rcgen::date_time_ymd(2025, 1, 1);
        params.not_after = time_from_now_years(10);
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &issuer)?;
        write(&leaf_key, &key.serialize_pem(), true)?;
        write(&leaf_cert, &format!("{}{}", cert.pem(), ca_pem), false)?;
        write(&leaf_host, hostname, false)?;
    }
    let mut identity = load_identity(&leaf_cert, &leaf_key)?;
    identity.ca_pem = ca_pem;
    Ok(identity)
}

/// The CA's parameters; the same every time, so a reloaded CA key signs with the same issuer name.
fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, CA_NAME);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "TeslaSync");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = rcgen::date_time_ymd(2025, 1, 1);
    params.not_after = rcgen::date_time_ymd(2075, 1, 1);
    params
}

fn time_from_now_years(years: i32) -> time::OffsetDateTime {
    let now = time::OffsetDateTime::now_utc();
    rcgen::date_time_ymd(now.year() + years, 1, 1)
}

/// The trust anchors for car certificates: Tesla's bundle (`tesla_ca_pem`) and extra anchors.
pub fn client_roots(
    tesla_ca_pem: &str,
    extra_pem: Option<&str>,
) -> Result<RootCertStore, CertError> {
    let mut roots = RootCertStore::empty();
    for (pem, key) in [
        (Some(tesla_ca_pem), "tesla_ca_file"),
        (extra_pem, "client_ca_file"),
    ] {
        let Some(pem) = pem else { continue };
        let ders = certs(pem, key, key)?;
        let (_added, ignored) = roots.add_parsable_certificates(ders);
        if ignored > 0 {
            tracing::warn!(
                ignored,
                source = key,
                "some CA certificates could not be used as trust anchors"
            );
        }
    }
    if roots.is_empty() {
        return Err(CertError::ClientCa("no certificate could be used".into()));
    }
    Ok(roots)
}

/// The crypto provider: *ring*'s TLS suites with aws-lc-rs's signature verification (see the
/// module docs).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(CryptoProvider {
        signature_verification_algorithms: rustls::crypto::aws_lc_rs::default_provider()
            .signature_verification_algorithms,
        ..rustls::crypto::ring::default_provider()
    })
}

/// The TLS configuration: our identity, client certificates required and verified against
/// `roots` (whose subjects are the only ones advertised).
pub fn server_config(
    identity: &ServerIdentity,
    roots: RootCertStore,
) -> Result<Arc<ServerConfig>, CertError> {
    let provider = provider();
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| CertError::ClientCa(e.to_string()))?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(identity.chain.clone(), identity.key.clone_key())?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The VIN in a verified client certificate: its subject common name, with `.` turned into `-`
/// as Tesla's server does. Never taken from the payload or the envelope.
pub fn vin_of(cert: &CertificateDer<'_>) -> Option<String> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let cn = parsed.subject().iter_common_name().next()?.as_str().ok()?;
    let vin = cn.trim().replace('.', "-").to_ascii_uppercase();
    (!vin.is_empty()).then_some(vin)
}

fn certs(
    pem: &str,
    what: &str,
    key: &'static str,
) -> Result<Vec<CertificateDer<'static>>, CertError> {
    let certs: Vec<_> = CertificateDer::pem_slice_iter(pem.as_bytes())
        .filter_map(Result::ok)
        .collect();
    if certs.is_empty() {
        return Err(CertError::NoCertificate {
            what: what.to_string(),
            key,
        });
    }
    Ok(certs)
}

/// The `-----BEGIN CERTIFICATE-----` blocks of a PEM text, each with its trailing newline.
fn pem_blocks(pem: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = pem;
    while let Some(start) = rest.find("-----BEGIN CERTIFICATE-----") {
        let Some(end) = rest[start..].find("-----END CERTIFICATE-----") else {
            break;
        };
        let end = start + end + "-----END CERTIFICATE-----".len();
        out.push(format!("{}\n", &rest[start..end]));
        rest = &rest[end..];
    }
    out
}

fn read(path: &Path, key: &'static str) -> Result<String, CertError> {
    std::fs::read_to_string(path).map_err(|source| CertError::Read {
        path: path.to_path_buf(),
        key,
        source,
    })
}

fn write(path: &Path, text: &str, private: bool) -> Result<(), CertError> {
    let err = |source| CertError::Write {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write as _;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        if private {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        #[cfg(not(unix))]
        let _ = private;
        let mut file = options.open(&tmp).map_err(err)?;
        file.write_all(text.as_bytes()).map_err(err)?;
        file.sync_all().map_err(err)?;
    }
    std::fs::rename(&tmp, path).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn teslas_bundle_loads_as_fourteen_trust_anchors() {
        let roots = client_roots(TESLA_PROD_CA, None).unwrap();
        assert_eq!(roots.len(), 14);
    }

    #[test]
    fn the_ca_survives_a_new_hostname_and_keys_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(dir.path(), "telemetry.example.com").unwrap();
        let again = load_or_create(dir.path(), "telemetry.example.com").unwrap();
        assert_eq!(first.chain[0], again.chain[0], "reloaded, not regenerated");
        let moved = load_or_create(dir.path(), "cars.example.org").unwrap();
        assert_ne!(first.chain[0], moved.chain[0], "new hostname, new leaf");
        assert_eq!(
            first.ca_pem, moved.ca_pem,
            "the CA pushed to cars never changes"
        );
        assert_eq!(moved.chain.len(), 2);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for key in ["ca-key.pem", "server-key.pem"] {
                let mode = std::fs::metadata(dir.path().join(key))
                    .unwrap()
                    .permissions()
                    .mode();
                assert_eq!(mode & 0o077, 0, "{key} is readable by others");
            }
        }
        // The generated configuration is usable by rustls.
        server_config(&moved, client_roots(TESLA_PROD_CA, None).unwrap()).unwrap();
    }
}
