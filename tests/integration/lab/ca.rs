//! The lab's PKI: a root CA and an intermediate minted per test, and server certificates
//! with validity relative to now, in every shape servers get wrong. Nothing is committed,
//! so nothing can expire in the repository.

use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, PublicKeyData, SignatureAlgorithm,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, WantsServerCert};
use rustls::sign::CertifiedKey;
use rustls::{ConfigBuilder, RootCertStore, ServerConfig};

use super::lock;

const DAY: i64 = 86_400;

/// Who signs a server certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssuedBy {
    /// The lab's intermediate, under the root in the CA file: trusted.
    Intermediate,
    /// The leaf's own key: `UnknownIssuer` to a verifier.
    SelfSigned,
    /// A CA minted for this certificate alone, absent from the CA file.
    UnknownCa,
}

/// Which certificates the server sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chain {
    /// Leaf and its issuer: the correct chain.
    Complete,
    /// The leaf alone, its intermediate missing.
    LeafOnly,
    /// Leaf, intermediate and the root as well.
    WithRoot,
    /// The leaf followed by this many copies of its issuer: a chain longer than any
    /// client keeps.
    Long(usize),
}

/// The key of a server certificate (ring cannot generate RSA keys: stack.md gotcha 13).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlg {
    EcdsaP256,
    EcdsaP384,
    Ed25519,
}

/// TLS versions a server accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// TLS 1.2 and 1.3.
    Modern,
    Tls12Only,
}

/// What a server certificate looks like; minted by [`TestCa::issue`] when a server starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cert {
    /// DNS names; `None` means the name of the host the certificate is served for.
    pub names: Option<Vec<String>>,
    /// Start of validity, in days from now.
    pub not_before_days: i64,
    /// End of validity, in days from now.
    pub not_after_days: i64,
    pub issued_by: IssuedBy,
    pub chain: Chain,
    pub key: KeyAlg,
    /// The name in the subject CN only, with no subjectAltName extension.
    pub cn_only: bool,
    /// The subject CN, when it is not the first DNS name (any text, hostile included).
    pub cn: Option<String>,
}

impl Default for Cert {
    fn default() -> Self {
        Cert::good()
    }
}

impl Cert {
    /// Valid for the host, from 30 days ago to 60 days from now, complete chain.
    pub fn good() -> Cert {
        Cert {
            names: None,
            not_before_days: -30,
            not_after_days: 60,
            issued_by: IssuedBy::Intermediate,
            chain: Chain::Complete,
            key: KeyAlg::EcdsaP256,
            cn_only: false,
            cn: None,
        }
    }

    /// Ended yesterday.
    pub fn expired() -> Cert {
        Cert::good().valid_days(-90, -1)
    }

    /// Starts in 30 days.
    pub fn not_yet_valid() -> Cert {
        Cert::good().valid_days(30, 120)
    }

    /// Valid now, ending `days` from now.
    pub fn expiring_in(days: i64) -> Cert {
        Cert::good().valid_days(-30, days)
    }

    pub fn valid_days(mut self, not_before: i64, not_after: i64) -> Cert {
        self.not_before_days = not_before;
        self.not_after_days = not_after;
        self
    }

    /// These DNS names instead of the host's (wrong host, wildcard `*.example.test`, ...).
    pub fn names(mut self, names: &[&str]) -> Cert {
        self.names = Some(names.iter().map(|n| n.to_string()).collect());
        self
    }

    pub fn self_signed(mut self) -> Cert {
        self.issued_by = IssuedBy::SelfSigned;
        self
    }

    pub fn unknown_ca(mut self) -> Cert {
        self.issued_by = IssuedBy::UnknownCa;
        self
    }

    /// Sent without its intermediate (an incomplete chain).
    pub fn leaf_only(mut self) -> Cert {
        self.chain = Chain::LeafOnly;
        self
    }

    /// Sent with the root too.
    pub fn with_root(mut self) -> Cert {
        self.chain = Chain::WithRoot;
        self
    }

    /// The name as the subject CN only, as certificates were made before SANs.
    pub fn cn_only(mut self) -> Cert {
        self.cn_only = true;
        self
    }

    pub fn key(mut self, key: KeyAlg) -> Cert {
        self.key = key;
        self
    }

    /// This subject CN instead of the first DNS name.
    pub fn subject_cn(mut self, cn: &str) -> Cert {
        self.cn = Some(cn.to_string());
        self
    }

    /// Sent as the leaf followed by `copies` of its issuer.
    pub fn long_chain(mut self, copies: usize) -> Cert {
        self.chain = Chain::Long(copies);
        self
    }
}

/// A minted certificate chain and its key, ready to serve.
pub struct ServerCert {
    /// Leaf first, as the server sends it.
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    /// The leaf's SubjectPublicKeyInfo, DER.
    pub spki: Vec<u8>,
}

/// A rustls server configuration on ring (never the plain `builder()`: stack.md gotcha 5),
/// waiting for its certificates.
fn server_config_builder(tls: Tls) -> ConfigBuilder<ServerConfig, WantsServerCert> {
    let versions: &[&rustls::SupportedProtocolVersion] = match tls {
        Tls::Modern => &[&rustls::version::TLS13, &rustls::version::TLS12],
        Tls::Tls12Only => &[&rustls::version::TLS12],
    };
    ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_protocol_versions(versions)
        .expect("protocol versions")
        .with_no_client_auth()
}

impl ServerCert {
    /// A server configuration that serves this certificate to every client.
    pub fn server_config(&self, tls: Tls) -> Arc<ServerConfig> {
        let config = server_config_builder(tls)
            .with_single_cert(self.chain.clone(), self.key.clone_key())
            .expect("server certificate");
        Arc::new(config)
    }

    /// TLSA certificate association data (RFC 6698 §2.1) of the leaf: selector 0 = the
    /// certificate, 1 = its SubjectPublicKeyInfo; matching 0 = exact, 1 = SHA-256, 2 = SHA-512.
    pub fn tlsa_data(&self, selector: u8, matching: u8) -> Vec<u8> {
        let selected: &[u8] = match selector {
            0 => &self.chain[0],
            _ => &self.spki,
        };
        match matching {
            0 => selected.to_vec(),
            1 => ring::digest::digest(&ring::digest::SHA256, selected)
                .as_ref()
                .to_vec(),
            _ => ring::digest::digest(&ring::digest::SHA512, selected)
                .as_ref()
                .to_vec(),
        }
    }
}

/// A root and an intermediate CA, and the root in a PEM file for `--ca-file`. A clone is
/// the same CA (for a server that mints certificates as clients ask).
#[derive(Clone)]
pub struct TestCa {
    root: Arc<CertifiedIssuer<'static, KeyPair>>,
    intermediate: Arc<CertifiedIssuer<'static, KeyPair>>,
    ca_file: Arc<tempfile::NamedTempFile>,
}

impl Default for TestCa {
    fn default() -> Self {
        TestCa::new()
    }
}

impl TestCa {
    pub fn new() -> TestCa {
        let root =
            CertifiedIssuer::self_signed(ca_params("Lab Root CA"), new_key(KeyAlg::EcdsaP256))
                .expect("root CA");
        let intermediate = CertifiedIssuer::signed_by(
            ca_params("Lab Intermediate CA"),
            new_key(KeyAlg::EcdsaP256),
            &root,
        )
        .expect("intermediate CA");
        let mut ca_file = tempfile::NamedTempFile::new().expect("CA file");
        ca_file
            .write_all(root.pem().as_bytes())
            .expect("write CA file");
        TestCa {
            root: Arc::new(root),
            intermediate: Arc::new(intermediate),
            ca_file: Arc::new(ca_file),
        }
    }

    pub fn root_der(&self) -> CertificateDer<'static> {
        self.root.der().clone()
    }

    pub fn root_pem(&self) -> String {
        self.root.pem()
    }

    pub fn intermediate_der(&self) -> CertificateDer<'static> {
        self.intermediate.der().clone()
    }

    /// The root as a PEM file, for `--ca-file`; it lives as long as the CA.
    pub fn ca_file(&self) -> &Path {
        self.ca_file.path()
    }

    /// The webpki roots plus the lab root: what the tool trusts with `--ca-file`.
    pub fn roots(&self) -> RootCertStore {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        roots.add(self.root_der()).expect("add lab root");
        roots
    }

    /// Mints `cert` for `host` (its default name).
    pub fn issue(&self, cert: &Cert, host: &str) -> ServerCert {
        let names = cert.names.clone().unwrap_or_else(|| vec![host.to_string()]);
        let mut params = CertificateParams::new(names.clone()).expect("leaf names");
        let cn = cert.cn.clone().or_else(|| names.first().cloned());
        params
            .distinguished_name
            .push(DnType::CommonName, cn.unwrap_or_default());
        if cert.cn_only {
            params.subject_alt_names.clear();
        }
        set_validity(&mut params, cert.not_before_days, cert.not_after_days);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let key = new_key(cert.key);
        let (leaf, issuer, root) = match cert.issued_by {
            IssuedBy::Intermediate => (
                params.signed_by(&key, &self.intermediate),
                Some(self.intermediate_der()),
                Some(self.root_der()),
            ),
            IssuedBy::SelfSigned => (params.self_signed(&key), None, None),
            IssuedBy::UnknownCa => {
                // A root of its own, sent as the issuer: still unknown to the verifier.
                let stranger = CertifiedIssuer::self_signed(
                    ca_params("Unknown CA"),
                    new_key(KeyAlg::EcdsaP256),
                )
                .expect("unknown CA");
                let leaf = params.signed_by(&key, &stranger);
                (leaf, Some(stranger.der().clone()), None)
            }
        };
        let mut chain = vec![leaf.expect("leaf").der().clone()];
        match cert.chain {
            Chain::LeafOnly => {}
            Chain::Long(copies) => chain.extend(issuer.iter().cycle().take(copies).cloned()),
            Chain::Complete | Chain::WithRoot => chain.extend(issuer),
        }
        if cert.chain == Chain::WithRoot {
            chain.extend(root);
        }
        ServerCert {
            chain,
            key: PrivateKeyDer::from(PrivatePkcs8KeyDer::from(key.serialize_der())),
            spki: key.subject_public_key_info(),
        }
    }
}

impl TestCa {
    /// A server configuration that mints `cert` for each server name (SNI) a client asks
    /// for, on first use, and keeps it: one server for many hosts, as a hosted provider
    /// runs one for all its customers' policy hosts. A client without SNI gets no
    /// certificate (the handshake fails).
    pub fn minting_server_config(&self, cert: &Cert, tls: Tls) -> Arc<ServerConfig> {
        let resolver = PerName {
            ca: self.clone(),
            cert: cert.clone(),
            minted: Mutex::new(HashMap::new()),
        };
        Arc::new(server_config_builder(tls).with_cert_resolver(Arc::new(resolver)))
    }
}

/// The certificates of [`TestCa::minting_server_config`], by lower-case server name.
struct PerName {
    ca: TestCa,
    cert: Cert,
    minted: Mutex<HashMap<String, Arc<CertifiedKey>>>,
}

impl fmt::Debug for PerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PerName")
            .field("cert", &self.cert)
            .field("minted", &lock(&self.minted).len())
            .finish()
    }
}

impl ResolvesServerCert for PerName {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let name = hello.server_name()?.to_ascii_lowercase();
        if let Some(key) = lock(&self.minted).get(&name) {
            return Some(key.clone());
        }
        // Minted outside the lock: handshakes for other names go on meanwhile.
        let minted = self.ca.issue(&self.cert, &name);
        let key = rustls::crypto::ring::sign::any_supported_type(&minted.key).ok()?;
        let certified = Arc::new(CertifiedKey::new(minted.chain, key));
        Some(lock(&self.minted).entry(name).or_insert(certified).clone())
    }
}

fn ca_params(name: &str) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    p.distinguished_name.push(DnType::CommonName, name);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    set_validity(&mut p, -365, 3650);
    p
}

fn new_key(alg: KeyAlg) -> KeyPair {
    let alg: &'static SignatureAlgorithm = match alg {
        KeyAlg::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
        KeyAlg::EcdsaP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
        KeyAlg::Ed25519 => &rcgen::PKCS_ED25519,
    };
    KeyPair::generate_for(alg).expect("key pair")
}

/// rcgen wants `time::OffsetDateTime`, from a crate we do not depend on: adding a std
/// `Duration` to a value rcgen makes avoids naming it.
fn set_validity(p: &mut CertificateParams, not_before_days: i64, not_after_days: i64) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64;
    let at = |days: i64| {
        let secs = (now + days * DAY).max(0) as u64;
        rcgen::date_time_ymd(1970, 1, 1) + Duration::from_secs(secs)
    };
    p.not_before = at(not_before_days);
    p.not_after = at(not_after_days);
}
