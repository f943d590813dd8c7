//! Certificate chains judged offline: a summary of each certificate for the reports,
//! every problem a sending MTA would have with a presented chain for a host at a given
//! time against given trust roots (RFC 8461 §3.3, §4.2; RFC 6125), DANE TLSA matching
//! (RFC 6698, RFC 7672), and RFC 3339 time stamps. Pure: time is a parameter.

use std::time::Duration;

mod memo;
pub use memo::Memo;

use ring::digest;
use rustls::RootCertStore;
use rustls::pki_types::{CertificateDer, SignatureVerificationAlgorithm, UnixTime};
use serde::Serialize;
use webpki::{EndEntityCert, KeyUsage};
use x509_parser::extensions::GeneralName;
use x509_parser::objects::{oid_registry, oid2sn};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::RSAPublicKey;
use x509_parser::x509::SubjectPublicKeyInfo;

use crate::names;
use crate::observe::TlsaRecord;

/// What the reports show about one certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertSummary {
    pub subject: String,
    pub issuer: String,
    /// Colon-separated hex, as OpenSSL prints it.
    pub serial: String,
    /// The subjectAltName dNSName entries, in certificate order.
    pub dns_names: Vec<String>,
    pub common_name: Option<String>,
    /// Unix seconds.
    pub not_before: i64,
    /// Unix seconds.
    pub not_after: i64,
    /// "RSA", "RSA-PSS", "EC", "DSA", "Ed25519", "Ed448", or the algorithm's name.
    pub key_type: String,
    /// RSA modulus bits, DSA public value bits or EC field bits; None where the name
    /// says it all (Ed25519, Ed448) or the key is not understood.
    pub key_bits: Option<u32>,
    /// "P-256", "P-384", "P-521", … for EC keys.
    pub curve: Option<String>,
    /// e.g. "sha256WithRSAEncryption", "ecdsa-with-SHA256".
    pub signature_algorithm: String,
    pub is_ca: bool,
    /// Lower-case hex SHA-256 of the DER.
    pub sha256: String,
}

/// Summarizes one DER certificate.
pub fn summarize(der: &[u8]) -> Result<CertSummary, String> {
    parse(der).map(|c| summary(der, &c))
}

/// One thing wrong with a presented chain, as a sender would see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertProblem {
    /// A certificate is not DER X.509 (says which one and why). An unparseable
    /// leaf ends the judgement; an unparseable intermediate is left out of it.
    Unparseable(String),
    /// The server sent no certificate.
    NoCertificate,
    /// `not_after` is before the time of judgement: the leaf, or a certificate of
    /// the path to the root (of every certificate sent, when no path was found).
    Expired { subject: String, not_after: i64 },
    /// `not_before` is after the time of judgement (same certificates as `Expired`).
    NotYetValid { subject: String, not_before: i64 },
    /// No SAN dNSName of the leaf covers `host` (RFC 6125 §6.4: exact, or a `*`
    /// that is the whole left-most label; IP SANs and the CN never count).
    /// `cn_only`: the subject CN would cover it, but RFC 8461 requires a SAN DNS-ID.
    NameMismatch {
        host: String,
        dns_names: Vec<String>,
        cn_only: bool,
    },
    /// The leaf is its own issuer and no trust root: a single self-issued
    /// certificate, or a self-issued leaf whose signature verifies with its own key.
    SelfSigned,
    /// Following issuer names from the leaf through the certificates sent, one
    /// names an issuer that was neither sent nor is a trust root. Senders do not
    /// fetch missing intermediates. A private CA's leaf sent alone looks the same.
    Incomplete { missing_issuer: String },
    /// Any other reason no path to a trust root could be built, even ignoring time:
    /// unknown root, bad signature, CA certificate as leaf, wrong EKU…, in plain words.
    Untrusted { reason: String },
    /// RSA or DSA under 2048 bits, EC under 256 bits (same certificates as `Expired`).
    WeakKey {
        subject: String,
        key_type: String,
        bits: u32,
    },
    /// A SHA-1, MD5 or MD2 signature on a certificate that is not self-issued (a root's
    /// own signature is never checked) among the same certificates as `Expired`.
    Sha1Signature { subject: String },
}

/// Everything wrong with `chain` (DER, leaf first, as sent) for `host` at `now`
/// (unix seconds) against `roots`, in this order: unparseable certificates,
/// validity dates, name, trust, weak keys, weak signatures. Empty when a sender
/// would accept the chain.
///
/// Trust is judged apart from time and name: the path is built with no name check,
/// at `now` and then, if that fails, at instants inside the leaf's validity where
/// each certificate sent starts being valid, so that an expired certificate from an
/// unknown CA reports both problems rather than the first one webpki meets.
pub fn judge_chain(
    chain: &[Vec<u8>],
    host: &str,
    now: i64,
    roots: &RootCertStore,
) -> Vec<CertProblem> {
    let Some(leaf_der) = chain.first() else {
        return vec![CertProblem::NoCertificate];
    };
    let leaf = match parse(leaf_der) {
        Ok(x509) => Parsed {
            der: leaf_der,
            x509,
        },
        Err(e) => {
            return vec![CertProblem::Unparseable(format!(
                "the server certificate: {e}"
            ))];
        }
    };
    let mut problems = Vec::new();
    let mut issuers = Vec::new();
    for (i, der) in chain.iter().enumerate().skip(1) {
        match parse(der) {
            Ok(x509) => issuers.push(Parsed { der, x509 }),
            Err(e) => problems.push(CertProblem::Unparseable(format!(
                "certificate {} of {}: {e}",
                i + 1,
                chain.len()
            ))),
        }
    }
    let trust = build_path(&leaf, &issuers, now, roots);
    // With a path, certificates sent but not needed (an old cross-sign, a stray
    // root) do not matter to a sender, so only the path is judged.
    let judged: Vec<&Parsed> = match &trust {
        Ok(used) => std::iter::once(&leaf)
            .chain(used.iter().filter_map(|&i| issuers.get(i)))
            .collect(),
        Err(_) => std::iter::once(&leaf).chain(&issuers).collect(),
    };
    problems.extend(judged.iter().flat_map(|c| dates(c, now)));
    problems.extend(name(&leaf, host));
    if let Err(Some(error)) = &trust {
        problems.push(classify_distrust(&leaf, &issuers, roots, error));
    }
    problems.extend(judged.iter().filter_map(|c| weak_key(c)));
    problems.extend(judged.iter().filter_map(|c| sha1(c)));
    problems
}

/// A certificate outside its validity at `now`.
fn dates(c: &Parsed<'_>, now: i64) -> Option<CertProblem> {
    let validity = c.x509.validity();
    let (not_before, not_after) = (
        validity.not_before.timestamp(),
        validity.not_after.timestamp(),
    );
    let subject = c.x509.subject().to_string();
    if now < not_before {
        Some(CertProblem::NotYetValid {
            subject,
            not_before,
        })
    } else if now > not_after {
        Some(CertProblem::Expired { subject, not_after })
    } else {
        None
    }
}

/// A leaf whose DNS names (SAN) do not cover `host`.
fn name(leaf: &Parsed<'_>, host: &str) -> Option<CertProblem> {
    let dns_names = dns_names(&leaf.x509);
    if dns_names.iter().any(|name| names::matches(name, host)) {
        return None;
    }
    let cn_only = common_name(&leaf.x509).is_some_and(|cn| names::matches(&cn, host));
    Some(CertProblem::NameMismatch {
        host: host.to_string(),
        dns_names,
        cn_only,
    })
}

/// A key below what TLS stacks accept: RSA or DSA under 2048 bits, EC under 256.
fn weak_key(c: &Parsed<'_>) -> Option<CertProblem> {
    let (key_type, key_bits, _) = key_info(c.x509.public_key());
    let floor = match key_type.as_str() {
        "RSA" | "RSA-PSS" | "DSA" => 2048,
        "EC" => 256,
        _ => 0,
    };
    let bits = key_bits.filter(|&bits| bits < floor)?;
    Some(CertProblem::WeakKey {
        subject: c.x509.subject().to_string(),
        key_type,
        bits,
    })
}

/// A signature with a broken hash (a root's self-signature does not count).
fn sha1(c: &Parsed<'_>) -> Option<CertProblem> {
    (!self_issued(&c.x509) && weak_signature(&c.x509).is_some()).then(|| {
        CertProblem::Sha1Signature {
            subject: c.x509.subject().to_string(),
        }
    })
}

/// Whether one TLSA record matches the chain (RFC 6698 §2.1; RFC 7672 §3.1).
pub fn tlsa_matches(record: &TlsaRecord, chain: &[Vec<u8>]) -> bool {
    let candidates = match record.usage {
        // DANE-EE: the server certificate itself.
        3 => chain.get(..1),
        // DANE-TA: a certificate the server sent above its own. A trust anchor the
        // server does not send cannot be checked here, so it never matches.
        2 => chain.get(1..),
        // PKIX-TA (0) and PKIX-EE (1) are not used for SMTP (RFC 7672 §3.1.3):
        // SMTP clients treat them as unusable, so they never match.
        _ => None,
    };
    candidates.unwrap_or_default().iter().any(|der| {
        let selected = match record.selector {
            0 => Some(der.as_slice()),
            1 => X509Certificate::from_der(der)
                .ok()
                .map(|(_, c)| c.tbs_certificate.subject_pki.raw),
            _ => None,
        };
        selected.is_some_and(|data| match record.matching {
            0 => data == record.data.as_slice(),
            1 => digest::digest(&digest::SHA256, data).as_ref() == record.data.as_slice(),
            2 => digest::digest(&digest::SHA512, data).as_ref() == record.data.as_slice(),
            _ => false,
        })
    })
}

/// Signature algorithms that count as broken (MD2, MD5 and SHA-1 with RSA, ECDSA and
/// DSA), with their names, which the OID registry partly lacks.
const WEAK_SIGNATURES: &[(&str, &str)] = &[
    ("1.2.840.113549.1.1.2", "md2WithRSAEncryption"),
    ("1.2.840.113549.1.1.4", "md5WithRSAEncryption"),
    ("1.2.840.113549.1.1.5", "sha1WithRSAEncryption"),
    ("1.3.14.3.2.29", "sha1WithRSASignature"),
    ("1.2.840.10045.4.1", "ecdsa-with-SHA1"),
    ("1.2.840.10040.4.3", "dsa-with-sha1"),
];

fn weak_signature(c: &X509Certificate<'_>) -> Option<&'static str> {
    let oid = c.signature_algorithm.algorithm.to_id_string();
    WEAK_SIGNATURES
        .iter()
        .find(|(weak, _)| *weak == oid)
        .map(|(_, name)| *name)
}

struct Parsed<'a> {
    der: &'a [u8],
    x509: X509Certificate<'a>,
}

fn parse(der: &[u8]) -> Result<X509Certificate<'_>, String> {
    match X509Certificate::from_der(der) {
        Ok(([], c)) => Ok(c),
        Ok((rest, _)) => Err(format!("{} bytes after the certificate", rest.len())),
        Err(e) => Err(e.to_string()),
    }
}

fn summary(der: &[u8], c: &X509Certificate<'_>) -> CertSummary {
    let (key_type, key_bits, curve) = key_info(c.public_key());
    let oid = &c.signature_algorithm.algorithm;
    let signature_algorithm = match oid2sn(oid, oid_registry()) {
        Ok(name) => name.to_string(),
        Err(_) => weak_signature(c).map_or_else(|| oid.to_id_string(), str::to_string),
    };
    CertSummary {
        subject: c.subject().to_string(),
        issuer: c.issuer().to_string(),
        serial: c.raw_serial_as_string(),
        dns_names: dns_names(c),
        common_name: common_name(c),
        not_before: c.validity().not_before.timestamp(),
        not_after: c.validity().not_after.timestamp(),
        key_type,
        key_bits,
        curve,
        signature_algorithm,
        is_ca: c.is_ca(),
        sha256: hex(digest::digest(&digest::SHA256, der).as_ref()),
    }
}

fn dns_names(c: &X509Certificate<'_>) -> Vec<String> {
    // A certificate with two SAN extensions is malformed; it gets no names.
    let Ok(Some(san)) = c.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => Some(dns.to_string()),
            _ => None,
        })
        .collect()
}

fn common_name(c: &X509Certificate<'_>) -> Option<String> {
    let cn = c.subject().iter_common_name().next()?;
    cn.as_str().ok().map(str::to_string)
}

/// (key type, bits, curve) of a public key.
fn key_info(spki: &SubjectPublicKeyInfo<'_>) -> (String, Option<u32>, Option<String>) {
    let key = &spki.subject_public_key.data;
    let rsa_bits = || {
        RSAPublicKey::from_der(key)
            .ok()
            .and_then(|(_, k)| significant_bits(k.modulus))
    };
    let oid = spki.algorithm.algorithm.to_id_string();
    match oid.as_str() {
        "1.2.840.113549.1.1.1" => ("RSA".into(), rsa_bits(), None),
        "1.2.840.113549.1.1.10" => ("RSA-PSS".into(), rsa_bits(), None),
        // The DSA public value is below the prime, so its length gives the size.
        "1.2.840.10040.4.1" => {
            let y = x509_parser::der_parser::der::parse_der_integer(key)
                .ok()
                .and_then(|(_, y)| y.as_slice().ok().and_then(significant_bits));
            (
                "DSA".into(),
                y.and_then(|bits| bits.div_ceil(8).checked_mul(8)),
                None,
            )
        }
        "1.3.101.112" => ("Ed25519".into(), None, None),
        "1.3.101.113" => ("Ed448".into(), None, None),
        "1.2.840.10045.2.1" => {
            let curve_oid = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok());
            let (curve, bits) = match curve_oid.as_ref().map(|o| o.to_id_string()).as_deref() {
                Some("1.2.840.10045.3.1.7") => (Some("P-256".to_string()), Some(256)),
                Some("1.3.132.0.34") => (Some("P-384".to_string()), Some(384)),
                Some("1.3.132.0.35") => (Some("P-521".to_string()), Some(521)),
                Some("1.3.132.0.33") => (Some("P-224".to_string()), Some(224)),
                Some("1.2.840.10045.3.1.1") => (Some("P-192".to_string()), Some(192)),
                // An uncompressed point is 04 || x || y: half the rest is the field.
                _ => (
                    curve_oid.as_ref().map(|o| {
                        oid2sn(o, oid_registry())
                            .map(str::to_string)
                            .unwrap_or_else(|_| o.to_id_string())
                    }),
                    u32::try_from(key.len().saturating_sub(1) / 2 * 8)
                        .ok()
                        .filter(|&b| b > 0),
                ),
            };
            ("EC".into(), bits, curve)
        }
        _ => {
            let name = oid2sn(&spki.algorithm.algorithm, oid_registry())
                .map(str::to_string)
                .unwrap_or(oid);
            (name, None, None)
        }
    }
}

/// Bit length of a big-endian unsigned integer, ignoring leading zeros.
fn significant_bits(bytes: &[u8]) -> Option<u32> {
    let start = bytes.iter().position(|&b| b != 0)?;
    let first = bytes.get(start)?;
    let rest = u32::try_from(bytes.len() - start - 1).ok()?;
    rest.checked_mul(8)?.checked_add(8 - first.leading_zeros())
}

/// Lower-case hex, as fingerprints are shown.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn self_issued(c: &X509Certificate<'_>) -> bool {
    c.subject().as_raw() == c.issuer().as_raw()
}

/// The algorithms a rustls sender (ring provider) accepts in certificates.
fn algorithms() -> &'static [&'static dyn SignatureVerificationAlgorithm] {
    rustls::crypto::ring::default_provider()
        .signature_verification_algorithms
        .all
}

/// Whether the certificate's signature verifies with its own key. Each algorithm
/// checks the key's form, and a signature cannot verify under a wrong hash, so
/// trying them all is as good as picking the one named.
fn self_verifying(c: &X509Certificate<'_>) -> bool {
    let key = &c.public_key().subject_public_key.data;
    let signed = c.tbs_certificate.as_ref();
    let signature = &c.signature_value.data;
    algorithms()
        .iter()
        .any(|alg| alg.verify_signature(key, signed, signature).is_ok())
}

/// Builds a path from the leaf to a trust root, without any name check, first at
/// `now` and then at each instant within the leaf's validity where a certificate
/// sent becomes valid: if any instant has every certificate of some path valid,
/// the latest start among them is one. Returns the indices of the `issuers` used,
/// or the first error not about time (None when every failure was about time,
/// which the date checks already report).
fn build_path(
    leaf: &Parsed<'_>,
    issuers: &[Parsed<'_>],
    now: i64,
    roots: &RootCertStore,
) -> Result<Vec<usize>, Option<webpki::Error>> {
    let leaf_der = CertificateDer::from(leaf.der);
    let ee = EndEntityCert::try_from(&leaf_der).map_err(Some)?;
    let intermediates: Vec<CertificateDer<'_>> = issuers
        .iter()
        .map(|c| CertificateDer::from(c.der))
        .collect();
    let validity = leaf.x509.validity();
    let leaf_window = validity.not_before.timestamp()..=validity.not_after.timestamp();
    let mut starts: Vec<i64> = std::iter::once(leaf)
        .chain(issuers)
        .map(|c| c.x509.validity().not_before.timestamp())
        .filter(|t| leaf_window.contains(t))
        .collect();
    starts.sort_unstable();
    starts.dedup();

    let mut failure = None;
    for t in std::iter::once(now).chain(starts) {
        // webpki cannot express times before 1970.
        let Ok(secs) = u64::try_from(t) else { continue };
        let time = UnixTime::since_unix_epoch(Duration::from_secs(secs));
        let result = ee.verify_for_usage(
            algorithms(),
            &roots.roots,
            &intermediates,
            time,
            KeyUsage::server_auth(),
            None,
            None,
        );
        match result {
            Ok(path) => {
                return Ok(path
                    .intermediate_certificates()
                    .filter_map(|c| issuers.iter().position(|p| p.der == c.der().as_ref()))
                    .collect());
            }
            Err(webpki::Error::CertExpired { .. } | webpki::Error::CertNotValidYet { .. }) => {}
            Err(e) => {
                failure.get_or_insert(e);
            }
        }
    }
    Err(failure)
}

/// Where following issuer names from the leaf through the certificates sent ends.
enum ChainEnd {
    /// At a trust root's name, or in a loop: the names are all there.
    Known,
    /// At a self-issued certificate that is no trust root.
    SelfIssued(String),
    /// At an issuer name nobody sent and no trust root has.
    Missing(String),
}

fn chain_end(leaf: &Parsed<'_>, issuers: &[Parsed<'_>], roots: &RootCertStore) -> ChainEnd {
    let mut current = &leaf.x509;
    for _ in 0..=issuers.len() {
        if self_issued(current) {
            return ChainEnd::SelfIssued(current.subject().to_string());
        }
        let issuer = current.issuer().as_raw();
        // webpki keeps a trust root's subject without its SEQUENCE header.
        if roots
            .roots
            .iter()
            .any(|root| root.subject.as_ref() == der_contents(issuer))
        {
            return ChainEnd::Known;
        }
        match issuers.iter().find(|c| c.x509.subject().as_raw() == issuer) {
            Some(next) => current = &next.x509,
            None => return ChainEnd::Missing(current.issuer().to_string()),
        }
    }
    ChainEnd::Known
}

/// The contents of a DER element, without its tag and length.
fn der_contents(der: &[u8]) -> &[u8] {
    let header = match der.get(1) {
        Some(&len) if len < 0x80 => 2,
        Some(&len) => 2 + usize::from(len & 0x7f),
        None => der.len(),
    };
    der.get(header..).unwrap_or_default()
}

fn classify_distrust(
    leaf: &Parsed<'_>,
    issuers: &[Parsed<'_>],
    roots: &RootCertStore,
    error: &webpki::Error,
) -> CertProblem {
    if self_issued(&leaf.x509) && (issuers.is_empty() || self_verifying(&leaf.x509)) {
        return CertProblem::SelfSigned;
    }
    let reason = match chain_end(leaf, issuers, roots) {
        ChainEnd::Missing(missing_issuer) => return CertProblem::Incomplete { missing_issuer },
        ChainEnd::SelfIssued(subject) if matches!(error, webpki::Error::UnknownIssuer) => {
            format!("the chain ends at \"{subject}\", which is not a trusted root")
        }
        _ => plain(error),
    };
    CertProblem::Untrusted { reason }
}

/// A path-building failure in words for a mail administrator.
fn plain(error: &webpki::Error) -> String {
    use webpki::Error::*;
    let words = match error {
        UnknownIssuer => "no chain to a trusted root could be built",
        CaUsedAsEndEntity => {
            "the server certificate is a CA certificate (CA:TRUE), which cannot identify a server"
        }
        EndEntityUsedAsCa => "a certificate that issued another one is not a CA certificate",
        InvalidSignatureForPublicKey => {
            "a signature in the chain does not verify with its issuer's key"
        }
        UnsupportedSignatureAlgorithmContext(_)
        | UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
            "a certificate is signed with an algorithm senders reject (such as SHA-1, or RSA under 2048 bits)"
        }
        RequiredEkuNotFoundContext(_) => {
            "the certificate is not for TLS servers (its extended key usage lacks serverAuth)"
        }
        PathLenConstraintViolated => "the chain is longer than an issuer's path length limit",
        NameConstraintViolation => {
            "the certificate's names are outside an issuer's name constraints"
        }
        CertDistrusted => "the certificate's key is explicitly distrusted",
        UnsupportedCertVersion => "a certificate is not X.509 version 3",
        UnsupportedCriticalExtension => {
            "a certificate has a critical extension senders do not understand"
        }
        InvalidCertValidity => "a certificate's validity ends before it starts",
        MaximumPathDepthExceeded
        | MaximumPathBuildCallsExceeded
        | MaximumSignatureChecksExceeded => "the chain is too long or tangled to verify",
        other => return format!("the chain could not be verified ({other:?})"),
    };
    words.to_string()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair, KeyUsagePurpose, PublicKeyData, SerialNumber, date_time_ymd,
    };
    use rustls::pki_types::pem::PemObject;

    type Ca = CertifiedIssuer<'static, KeyPair>;
    type Ymd = (i32, u8, u8);
    type Chain = Vec<Vec<u8>>;

    const HOST: &str = "mx.example.test";
    const NOW: Ymd = (2025, 6, 1);
    /// The usual validity of a leaf, around NOW.
    const FROM: Ymd = (2025, 1, 1);
    const TO: Ymd = (2026, 1, 1);

    fn at((y, m, d): Ymd) -> i64 {
        date_time_ymd(y, m, d).unix_timestamp()
    }

    fn ca_params(name: &str, (from, to): (Ymd, Ymd)) -> CertificateParams {
        let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name.push(DnType::CommonName, name);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        p.not_before = date_time_ymd(from.0, from.1, from.2);
        p.not_after = date_time_ymd(to.0, to.1, to.2);
        p
    }

    fn root(name: &str) -> Ca {
        let params = ca_params(name, ((2020, 1, 1), (2040, 1, 1)));
        CertifiedIssuer::self_signed(params, KeyPair::generate().expect("key")).expect("root")
    }

    fn intermediate(name: &str, validity: (Ymd, Ymd), key: KeyPair, parent: &Ca) -> Ca {
        CertifiedIssuer::signed_by(ca_params(name, validity), key, parent).expect("intermediate")
    }

    fn leaf_params(sans: &[&str], cn: &str, (from, to): (Ymd, Ymd)) -> CertificateParams {
        let sans: Vec<String> = sans.iter().map(|s| s.to_string()).collect();
        let mut p = CertificateParams::new(sans).expect("params");
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name.push(DnType::CommonName, cn);
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        p.not_before = date_time_ymd(from.0, from.1, from.2);
        p.not_after = date_time_ymd(to.0, to.1, to.2);
        p
    }

    /// A leaf for `sans` (CN: the first, or `HOST` when there is none).
    fn leaf(sans: &[&str], validity: (Ymd, Ymd), issuer: &Ca) -> Vec<u8> {
        let cn = sans.first().copied().unwrap_or(HOST);
        let key = KeyPair::generate().expect("key");
        let cert = leaf_params(sans, cn, validity).signed_by(&key, issuer);
        cert.expect("leaf").der().to_vec()
    }

    fn store(certs: &[&[u8]]) -> RootCertStore {
        let mut roots = RootCertStore::empty();
        for der in certs {
            roots.add(CertificateDer::from(der.to_vec())).expect("root");
        }
        roots
    }

    fn pem(text: &str) -> Vec<u8> {
        CertificateDer::from_pem_slice(text.as_bytes())
            .expect("pem")
            .to_vec()
    }

    fn expired(cn: &str, not_after: Ymd) -> CertProblem {
        let subject = format!("CN={cn}");
        CertProblem::Expired {
            subject,
            not_after: at(not_after),
        }
    }

    fn mismatch(host: &str, dns_names: &[&str], cn_only: bool) -> CertProblem {
        CertProblem::NameMismatch {
            host: host.to_string(),
            dns_names: dns_names.iter().map(|s| s.to_string()).collect(),
            cn_only,
        }
    }

    fn untrusted(reason: &str) -> CertProblem {
        let reason = reason.to_string();
        CertProblem::Untrusted { reason }
    }

    #[test]
    fn judges_chains() {
        let root = root("Test Root");
        let inter = intermediate(
            "Test Intermediate",
            ((2020, 1, 1), (2035, 1, 1)),
            KeyPair::generate().expect("key"),
            &root,
        );
        let old_inter = intermediate(
            "Old Intermediate",
            ((2020, 1, 1), (2025, 3, 1)),
            KeyPair::generate().expect("key"),
            &root,
        );
        let other = self::root("Other Root");
        let roots = store(&[root.der()]);
        let (root_der, inter_der) = (root.der().to_vec(), inter.der().to_vec());
        let good = leaf(&[HOST], (FROM, TO), &inter);
        let wildcard = leaf(&["*.example.test"], (FROM, TO), &inter);
        let self_signed = {
            let key = KeyPair::generate().expect("key");
            let params = leaf_params(&[HOST], HOST, (FROM, TO));
            params
                .self_signed(&key)
                .expect("self-signed")
                .der()
                .to_vec()
        };
        // As `openssl req -x509` makes them: CA:TRUE, which webpki reports as
        // CaUsedAsEndEntity rather than an unknown issuer.
        let self_signed_ca = {
            let mut params = leaf_params(&[HOST], HOST, (FROM, TO));
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            let key = KeyPair::generate().expect("key");
            params
                .self_signed(&key)
                .expect("self-signed")
                .der()
                .to_vec()
        };
        let ca_as_leaf = {
            let mut params = leaf_params(&[HOST], HOST, (FROM, TO));
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            let key = KeyPair::generate().expect("key");
            params.signed_by(&key, &inter).expect("leaf").der().to_vec()
        };
        let client_only = {
            let mut params = leaf_params(&[HOST], HOST, (FROM, TO));
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
            let key = KeyPair::generate().expect("key");
            params.signed_by(&key, &inter).expect("leaf").der().to_vec()
        };
        // Same issuer name as the real intermediate, another key.
        let impostor = intermediate(
            "Test Intermediate",
            ((2020, 1, 1), (2035, 1, 1)),
            KeyPair::generate().expect("key"),
            &root,
        );
        let forged = leaf(&[HOST], (FROM, TO), &impostor);
        let stale = leaf(
            &["stale.example.test"],
            ((2010, 1, 1), (2011, 1, 1)),
            &other,
        );

        let good_chain = vec![good.clone(), inter_der.clone()];
        let cases: Vec<(Chain, &str, Vec<CertProblem>)> = vec![
            (good_chain.clone(), HOST, vec![]),
            (good_chain.clone(), "MX.Example.Test.", vec![]), // case and root dot ignored
            (
                vec![good.clone(), inter_der.clone(), root_der.clone()],
                HOST,
                vec![],
            ), // root sent too
            (
                vec![good.clone(), root_der.clone(), inter_der.clone()],
                HOST,
                vec![],
            ), // out of order
            (
                vec![good.clone(), inter_der.clone(), stale.clone()],
                HOST,
                vec![],
            ), // an expired extra certificate off the path does not matter
            (vec![wildcard.clone(), inter_der.clone()], HOST, vec![]), // one label
            (
                vec![
                    leaf(&[HOST], ((2023, 1, 1), (2024, 1, 1)), &inter),
                    inter_der.clone(),
                ],
                HOST,
                vec![expired(HOST, (2024, 1, 1))],
            ),
            (
                vec![
                    leaf(&[HOST], ((2026, 1, 1), (2027, 1, 1)), &inter),
                    inter_der.clone(),
                ],
                HOST,
                vec![CertProblem::NotYetValid {
                    subject: format!("CN={HOST}"),
                    not_before: at((2026, 1, 1)),
                }],
            ),
            (
                good_chain.clone(),
                "mx2.example.test",
                vec![mismatch("mx2.example.test", &[HOST], false)],
            ), // wrong host
            (
                vec![wildcard.clone(), inter_der.clone()],
                "a.mx.example.test",
                vec![mismatch("a.mx.example.test", &["*.example.test"], false)], // two labels
            ),
            (
                vec![
                    leaf(&["mx*.example.test"], (FROM, TO), &inter),
                    inter_der.clone(),
                ],
                "mx1.example.test",
                vec![mismatch("mx1.example.test", &["mx*.example.test"], false)], // partial-label wildcard
            ),
            (
                vec![leaf(&[], (FROM, TO), &inter), inter_der.clone()],
                HOST,
                vec![mismatch(HOST, &[], true)], // CN only, no SAN
            ),
            (
                vec![leaf(&["192.0.2.25"], (FROM, TO), &inter), inter_der.clone()],
                "192.0.2.25",
                vec![mismatch("192.0.2.25", &[], true)], // IP SANs never match (the CN would)
            ),
            (
                vec![self_signed.clone()],
                HOST,
                vec![CertProblem::SelfSigned],
            ),
            (
                vec![self_signed.clone(), inter_der.clone()],
                HOST,
                vec![CertProblem::SelfSigned],
            ), // self-verifying, with a stray CA
            (vec![self_signed_ca], HOST, vec![CertProblem::SelfSigned]),
            (
                vec![leaf(&[HOST], (FROM, TO), &other), other.der().to_vec()],
                HOST,
                vec![untrusted(
                    "the chain ends at \"CN=Other Root\", which is not a trusted root",
                )],
            ),
            (
                vec![good.clone()],
                HOST,
                vec![CertProblem::Incomplete {
                    missing_issuer: "CN=Test Intermediate".into(),
                }], // intermediate not sent
            ),
            (
                vec![
                    leaf(&[HOST], ((2024, 6, 1), (2026, 1, 1)), &old_inter),
                    old_inter.der().to_vec(),
                ],
                HOST,
                vec![expired("Old Intermediate", (2025, 3, 1))],
            ),
            (
                vec![leaf(&[HOST], ((2024, 6, 1), (2026, 1, 1)), &old_inter)],
                HOST,
                vec![CertProblem::Incomplete {
                    missing_issuer: "CN=Old Intermediate".into(),
                }], // the leaf alone is valid, and its issuer missing
            ),
            (
                vec![
                    leaf(
                        &["other.example.test"],
                        ((2020, 1, 1), (2021, 1, 1)),
                        &other,
                    ),
                    other.der().to_vec(),
                ],
                HOST,
                vec![
                    expired("other.example.test", (2021, 1, 1)),
                    mismatch(HOST, &["other.example.test"], false),
                    untrusted("the chain ends at \"CN=Other Root\", which is not a trusted root"),
                ], // every problem, not just the first
            ),
            (
                vec![ca_as_leaf, inter_der.clone()],
                HOST,
                vec![untrusted(
                    "the server certificate is a CA certificate (CA:TRUE), which cannot identify a server",
                )],
            ),
            (
                vec![client_only, inter_der.clone()],
                HOST,
                vec![untrusted(
                    "the certificate is not for TLS servers (its extended key usage lacks serverAuth)",
                )],
            ),
            (
                vec![forged, inter_der.clone()],
                HOST,
                vec![untrusted(
                    "a signature in the chain does not verify with its issuer's key",
                )],
            ),
            (vec![], HOST, vec![CertProblem::NoCertificate]),
        ];
        for (i, (chain, host, want)) in cases.into_iter().enumerate() {
            let got = judge_chain(&chain, host, at(NOW), &roots);
            assert_eq!(got, want, "case {i} ({host})");
        }
    }

    #[test]
    fn garbage_is_unparseable() {
        let root = root("Test Root");
        let roots = store(&[root.der()]);
        let good = leaf(&[HOST], (FROM, TO), &root);
        for chain in [
            vec![b"garbage".to_vec()],
            vec![vec![]],
            vec![vec![0x30, 0x82, 0xff, 0xff]],
            vec![[good.as_slice(), b"x"].concat()], // trailing bytes
        ] {
            let got = judge_chain(&chain, HOST, at(NOW), &roots);
            assert!(
                matches!(got.as_slice(), [CertProblem::Unparseable(why)] if why.starts_with("the server certificate: ")),
                "{got:?}"
            );
            assert!(summarize(&chain[0]).is_err());
        }
        // Truncated or corrupted certificates never panic.
        let chain = [good.clone(), root.der().to_vec()];
        for i in 0..good.len() {
            let mut flipped = chain.clone();
            flipped[0][i] ^= 0x41;
            judge_chain(&flipped, HOST, at(NOW), &roots);
            let _ = summarize(&flipped[0]);
            let cut = [good[..i].to_vec(), root.der().to_vec()];
            judge_chain(&cut, HOST, at(NOW), &roots);
            let _ = summarize(&cut[0]);
        }
        // A broken intermediate is reported, and the rest still judged.
        let got = judge_chain(&[good, b"junk".to_vec()], HOST, at(NOW), &roots);
        assert!(
            matches!(got.as_slice(), [CertProblem::Unparseable(why)] if why.starts_with("certificate 2 of 2: ")),
            "{got:?}"
        );
    }

    #[test]
    fn summarizes_ecdsa_and_ed25519_leaves() {
        let root = root("Test Root");
        let mut params = leaf_params(&[HOST, "mx2.example.test"], HOST, (FROM, TO));
        params.serial_number = Some(SerialNumber::from_slice(&[0x01, 0x02, 0xab]));
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
        let der = params.signed_by(&key, &root).expect("leaf").der().to_vec();
        let s = summarize(&der).expect("summary");
        let want = CertSummary {
            subject: format!("CN={HOST}"),
            issuer: "CN=Test Root".into(),
            serial: "01:02:ab".into(),
            dns_names: vec![HOST.into(), "mx2.example.test".into()],
            common_name: Some(HOST.into()),
            not_before: at(FROM),
            not_after: at(TO),
            key_type: "EC".into(),
            key_bits: Some(256),
            curve: Some("P-256".into()),
            signature_algorithm: "ecdsa-with-SHA256".into(),
            is_ca: false,
            sha256: s.sha256.clone(), // fingerprints are checked on the openssl fixtures
        };
        assert_eq!(s, want);
        assert!(summarize(root.der()).expect("root").is_ca);

        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).expect("key");
        let der = leaf_params(&[HOST], HOST, (FROM, TO))
            .self_signed(&key)
            .expect("leaf");
        let s = summarize(der.der()).expect("summary");
        assert_eq!(
            (
                s.key_type.as_str(),
                s.key_bits,
                s.curve.as_deref(),
                s.signature_algorithm.as_str()
            ),
            ("EC", Some(384), Some("P-384"), "ecdsa-with-SHA384")
        );

        let key = KeyPair::generate_for(&rcgen::PKCS_ED25519).expect("key");
        let der = leaf_params(&[HOST], HOST, (FROM, TO))
            .self_signed(&key)
            .expect("leaf");
        let s = summarize(der.der()).expect("summary");
        assert_eq!(
            (
                s.key_type.as_str(),
                s.key_bits,
                s.curve,
                s.signature_algorithm.as_str()
            ),
            ("Ed25519", None, None, "ed25519")
        );
    }

    // ring cannot generate RSA keys (stack.md gotcha 13), but rcgen loads an RSA-2048
    // PKCS#8 key, so only the key is kept and the certificates are minted. It was
    // made with `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`.
    const RSA_2048_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDiQzW0cfW/2bGr
nj/uqT9TSDyGM84vTrZFOgJutyNGt+aDWhTa433ggOQyJe5vj4shcSDqAFeicKt7
zXjg9N5ulSZfy15cRb6jEISMzKkKf9muMbye6UIu7pFU51W1rX85jF9RoPqaK/PO
M3agCEVzvfF4QBOpYsvQI7qYK3VSg8rCy2+DrysZ30l+3SqYDdGkh6Ar11ntdO25
pGeiUg/EWN0DKdQS8fJ34+DM2VWDID+nbq7yFLDFtHny68AKw5C5SAYu3mv/WKbn
bN17D0GRMyTgLf1HlaY4FJtsYMHXRb1qE5+oKGY5Rdfr1mReUpLXsYGgvhv6q3C5
vb7QD0f/AgMBAAECggEAH+ZkPiZqWfFKJI1BVpeDvJesz3+ipwvSFIzbBpteZ1w1
LTli7atw4K6mEvtDFHUoo1SM/0DWGipdcFfQnj1tK3/EHccRQjF5G7S6o2lAFKFg
N41+mj7+cZnOtqmOQs43vOLcFij75rGiBDqVk8wmvUHp4fooFikTiCsJZeaL+iUj
um9R29b2Oj91bGCwDy2mtD1iXYe7pTqgEijvtGDWjsGGybrhO6h9sbHSqSDEvKuO
sB3qzOwK7bcKinSk1C7Ix91MasRtaDt2iwUkLRF8B5U/Ty0WJUkv6eQpzDhdsvnk
91fz0bNm8aG2j0Y662rIxZiQNjgOxZ7FPPuV0rFkQQKBgQD5pLxdiv7Y3LkFSI+m
sqYOx/laR6E33t7putSCfHtCFURxO6bR5K7+rUtnrcYobt9M4bGt8QqcHTl1Hviu
j8nUelPzvzu5XDuv/JvDvhewaEedzEyJUNF3raoJskFEfu/aPCxRKgkql625mRva
sGpDtvgiHVGM/9FFGzy5fERgwQKBgQDoBhGS930O9TzYyUDFq2fr41rr4ZhZ27EL
Ol2/5u0v6dLbnNXFuZIrEIjdX2yiOOojxT7z23qUuPnLhcMls4/prNtXU1aJvjyF
/f5aYnS3ru+mTMq9KGbhaMY4coC0FAmMpX/R2QiVcu2ZtBkzHLB7Cm4Lo5xxtnHS
5HsPZTkYvwKBgQDssTVrV5MDmFrQWJjiy3VIhG+2Gj4QE/60CtDcGxxebn2jApTL
YxBMJZBd79P2mBCd+0sUiXquw8Krej78exY4n/cjHsiImZt5437oGz6oomZshbx3
YSoJV53lbZ4WTGgrOWwnVDy2pnMviqxvL17BbyRabAPbNN18sTNlBh5qwQKBgB9S
SmcLj89IHcmqCVtl0yaNz4VOM/HVbWX1oBg6xUQVjYhl+Jmzfl7f4Yn4ysJvanQf
uWrT8w1Glzn5OanKPqAt3IJCVslLbAIuknqDFfyB2goaDbhRTuoY6cFO+77TgaKB
6OpcIQODuz1niYtT0SMa+lYJ5SGYnm74twASCw4jAoGAK26zuvbHsA2rIA/e1nHC
mj559v68oV6/vns99DdTHCa8LxOgeHxtWZAaE4HFMo7CrMBcn6+8Yn0LlmWwk3rJ
b8mqIdlwYt3rIvoNBukCJJRaekV65X+9Ms9BgnMRePYF4UMSXjcoBgnZRVfUPjjg
6LiPZv3CfrSlXbl1HrX8Y/4=
-----END PRIVATE KEY-----
";

    // ring rejects RSA keys under 2048 bits, so rcgen cannot load one: the RSA-1024
    // and SHA-1 cases are certificates made once with openssl 3.0 and kept as
    // constants. They are valid from 2026-11-23T14:45:06Z to 2126-10-30T14:45:06Z and
    // are judged at a fixed time inside that window. FIXTURE_ROOT (P-256, CN=Fixture
    // Root) signed itself with ecdsa-with-SHA1, WEAK_RSA_LEAF (RSA-1024,
    // weak.example.test) with ecdsa-with-SHA256, SHA1_LEAF (P-256, sha1.example.test)
    // with ecdsa-with-SHA1:
    //   openssl req -x509 -new -key ca.key -sha1 -days 36500 -subj "/CN=Fixture Root" \
    //     -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
    //   openssl x509 -req -in weak.csr -CA ca.pem -CAkey ca.key -set_serial 0x1024 -sha256 \
    //     -days 36500 -extfile weak.ext   (CA:FALSE, serverAuth, DNS:weak.example.test)
    //   openssl x509 -req -in sha1.csr -CA ca.pem -CAkey ca.key -set_serial 0x5a1 -sha1 ...
    pub(crate) const FIXTURE_ROOT: &str = "-----BEGIN CERTIFICATE-----
MIIBlDCCATqgAwIBAgIUdsfbN1zEw1KUwhet31rVxayUp8YwCQYHKoZIzj0EATAX
MRUwEwYDVQQDDAxGaXh0dXJlIFJvb3QwIBcNMjYxMTIzMTQ0NTA2WhgPMjEyNjEw
MzAxNDQ1MDZaMBcxFTATBgNVBAMMDEZpeHR1cmUgUm9vdDBZMBMGByqGSM49AgEG
CCqGSM49AwEHA0IABNCG6Z8aiTpmDjB0U09XRSLUzf8JFXSzeDIDtuyv+IKM3bOI
T2xGbownxD7SU2vmrWmG4Sg8SReemOVIr+l1AUCjYzBhMB0GA1UdDgQWBBTGY9Bt
MIxY5LXjaViYNEygFprRQzAfBgNVHSMEGDAWgBTGY9BtMIxY5LXjaViYNEygFprR
QzAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB/wQEAwIBBjAJBgcqhkjOPQQBA0kA
MEYCIQC7ObYQk0oxvCUUbW3+tLT9VSyMzm+xnrCxcKcw5vgsHAIhAM5Whj/Gj0tJ
jgdboQDBP5ogb4NiWZu+vfhAAe7eXhl/
-----END CERTIFICATE-----
";
    pub(crate) const WEAK_RSA_LEAF: &str = "-----BEGIN CERTIFICATE-----
MIIB/jCCAaSgAwIBAgICECQwCgYIKoZIzj0EAwIwFzEVMBMGA1UEAwwMRml4dHVy
ZSBSb290MCAXDTI2MTEyMzE0NDUwNloYDzIxMjYxMDMwMTQ0NTA2WjAcMRowGAYD
VQQDDBF3ZWFrLmV4YW1wbGUudGVzdDCBnzANBgkqhkiG9w0BAQEFAAOBjQAwgYkC
gYEAqxM4L3OkTV2uoxnvvyc4sFhLQeR0G8qGIzPwcj+fO4HCBYqxzPkx7k/c7fRJ
ap6jCEcz4dI9URbMv8vJVZ7PAsHVM/rcvVCY0QOP8CEmFMj9yfF3oyTdWkxqD24y
pV7vA5TiqAaPzkLJ5xxRL8KqCbQ7XfFLgVyLKEUgbPweRfkCAwEAAaOBkTCBjjAJ
BgNVHRMEAjAAMA4GA1UdDwEB/wQEAwIFoDATBgNVHSUEDDAKBggrBgEFBQcDATAc
BgNVHREEFTATghF3ZWFrLmV4YW1wbGUudGVzdDAdBgNVHQ4EFgQUqn7B1WUE8oO1
EaqhiVCocE0MQuYwHwYDVR0jBBgwFoAUxmPQbTCMWOS142lYmDRMoBaa0UMwCgYI
KoZIzj0EAwIDSAAwRQIhAKvj9sARR9hznqG+2RbAR6YQsgTqdCF3w5Bx7pPtTvJE
AiACQ743CNk8af4Fvn52pSsziPD+E5MwLUmGgZGrZujwFw==
-----END CERTIFICATE-----
";
    pub(crate) const SHA1_LEAF: &str = "-----BEGIN CERTIFICATE-----
MIIBtjCCAVygAwIBAgICBaEwCQYHKoZIzj0EATAXMRUwEwYDVQQDDAxGaXh0dXJl
IFJvb3QwIBcNMjYxMTIzMTQ0NTA2WhgPMjEyNjEwMzAxNDQ1MDZaMBwxGjAYBgNV
BAMMEXNoYTEuZXhhbXBsZS50ZXN0MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE
XCLVUhhFvNBh1aDSQi/X+UpIqebdPTz3Lmoh+daajOc8WrbR4KH0dWrlbklWvJ9C
2saWJftG5QxIEFVNYSi06aOBkTCBjjAJBgNVHRMEAjAAMA4GA1UdDwEB/wQEAwIH
gDATBgNVHSUEDDAKBggrBgEFBQcDATAcBgNVHREEFTATghFzaGExLmV4YW1wbGUu
dGVzdDAdBgNVHQ4EFgQUzlIwEqkiOHXHIxj+8WY1J10W2X8wHwYDVR0jBBgwFoAU
xmPQbTCMWOS142lYmDRMoBaa0UMwCQYHKoZIzj0EAQNJADBGAiEA+C4suDvX9CJj
radufHWlwMIMsIpmD/J7jui3ESRuYiACIQCj88AR3LuO358OFSxpSqXtiXXOrOqC
gu6yLygHXqAa7g==
-----END CERTIFICATE-----
";
    /// 2030-01-01, inside the openssl fixtures' validity.
    pub(crate) const FIXTURE_TIME: i64 = 1_893_456_000;

    #[test]
    fn summarizes_and_judges_rsa_keys() {
        let root = root("Test Root");
        let key = KeyPair::from_pem(RSA_2048_KEY).expect("rsa key");
        let rsa_inter = intermediate("RSA Intermediate", ((2020, 1, 1), (2035, 1, 1)), key, &root);
        let good = leaf(&[HOST], (FROM, TO), &rsa_inter);
        let s = summarize(rsa_inter.der()).expect("summary");
        assert_eq!(
            (
                s.key_type.as_str(),
                s.key_bits,
                s.curve,
                s.signature_algorithm.as_str(),
                s.is_ca
            ),
            ("RSA", Some(2048), None, "ecdsa-with-SHA256", true)
        );
        let s = summarize(&good).expect("summary");
        assert_eq!(s.signature_algorithm, "sha256WithRSAEncryption");
        let chain = [good, rsa_inter.der().to_vec()];
        assert_eq!(
            judge_chain(&chain, HOST, at(NOW), &store(&[root.der()])),
            vec![]
        );

        let weak = pem(WEAK_RSA_LEAF);
        let fixture_root = pem(FIXTURE_ROOT);
        let s = summarize(&weak).expect("summary");
        let want = CertSummary {
            subject: "CN=weak.example.test".into(),
            issuer: "CN=Fixture Root".into(),
            serial: "10:24".into(),
            dns_names: vec!["weak.example.test".into()],
            common_name: Some("weak.example.test".into()),
            not_before: 1_795_445_106,
            not_after: 4_949_045_106,
            key_type: "RSA".into(),
            key_bits: Some(1024),
            curve: None,
            signature_algorithm: "ecdsa-with-SHA256".into(),
            is_ca: false,
            sha256: "1e7d3a7fa55992edd3aa12519e5386f7fb2eef922da7bcf1bdd44762ee27e395".into(),
        };
        assert_eq!(s, want);
        let weak_key = CertProblem::WeakKey {
            subject: "CN=weak.example.test".into(),
            key_type: "RSA".into(),
            bits: 1024,
        };
        // The leaf's own key is not used in building the path, so only its size is wrong.
        let trusted = store(&[&fixture_root]);
        let got = judge_chain(
            std::slice::from_ref(&weak),
            "weak.example.test",
            FIXTURE_TIME,
            &trusted,
        );
        assert_eq!(got, vec![weak_key.clone()]);
        // Untrusted, every certificate sent is judged, but the root's own SHA-1
        // signature is not a problem.
        let chain = [weak, fixture_root];
        let got = judge_chain(
            &chain,
            "weak.example.test",
            FIXTURE_TIME,
            &RootCertStore::empty(),
        );
        let reason = "the chain ends at \"CN=Fixture Root\", which is not a trusted root";
        assert_eq!(got, vec![untrusted(reason), weak_key]);
    }

    #[test]
    fn flags_sha1_signatures() {
        let sha1 = pem(SHA1_LEAF);
        let s = summarize(&sha1).expect("summary");
        assert_eq!(s.signature_algorithm, "ecdsa-with-SHA1");
        assert_eq!(s.serial, "05:a1");
        let root = summarize(&pem(FIXTURE_ROOT)).expect("summary");
        assert_eq!(
            root.sha256,
            "f9823934ad01693d2b56fb2342d1c85ba96f50c729a0861a11fb987f4540ac3d"
        );
        let roots = store(&[&pem(FIXTURE_ROOT)]);
        let got = judge_chain(&[sha1], "sha1.example.test", FIXTURE_TIME, &roots);
        let reason = "a certificate is signed with an algorithm senders reject (such as SHA-1, or RSA under 2048 bits)";
        let weak = CertProblem::Sha1Signature {
            subject: "CN=sha1.example.test".into(),
        };
        assert_eq!(got, vec![untrusted(reason), weak]);
    }

    #[test]
    fn matches_tlsa_records() {
        let root = root("Test Root");
        let key = KeyPair::generate().expect("key");
        let inter = intermediate(
            "Test Intermediate",
            ((2020, 1, 1), (2035, 1, 1)),
            key,
            &root,
        );
        let leaf_key = KeyPair::generate().expect("key");
        let leaf_cert = leaf_params(&[HOST], HOST, (FROM, TO)).signed_by(&leaf_key, &inter);
        let leaf = leaf_cert.expect("leaf").der().to_vec();
        let chain = vec![leaf.clone(), inter.der().to_vec()];
        // The SPKI as rcgen encodes the key, independently of the certificate parser.
        let spki = leaf_key.subject_public_key_info();
        let sha256 = |d: &[u8]| digest::digest(&digest::SHA256, d).as_ref().to_vec();
        let sha512 = |d: &[u8]| digest::digest(&digest::SHA512, d).as_ref().to_vec();
        let mut wrong = sha256(&spki);
        wrong[0] ^= 1;
        let cases = [
            (3, 1, 1, sha256(&spki), true),
            (3, 0, 1, sha256(&leaf), true),
            (2, 0, 1, sha256(inter.der()), true),
            (3, 1, 2, sha512(&spki), true),
            (3, 1, 0, spki.clone(), true),
            (3, 0, 0, leaf.clone(), true),
            (2, 1, 1, sha256(&spki), false), // DANE-TA never matches the leaf
            (3, 0, 1, sha256(inter.der()), false), // DANE-EE only matches the leaf
            (3, 1, 1, wrong, false),         // hash differs
            (3, 1, 1, sha256(&spki)[..31].to_vec(), false), // truncated
            (0, 0, 1, sha256(inter.der()), false), // PKIX-TA unused for SMTP
            (1, 1, 1, sha256(&spki), false), // PKIX-EE unused for SMTP
            (3, 2, 1, sha256(&spki), false), // unknown selector
            (3, 1, 3, sha256(&spki), false), // unknown matching type
        ];
        for (usage, selector, matching, data, want) in cases {
            let record = TlsaRecord {
                usage,
                selector,
                matching,
                data,
            };
            assert_eq!(
                tlsa_matches(&record, &chain),
                want,
                "{usage} {selector} {matching}"
            );
        }
        let record = TlsaRecord {
            usage: 3,
            selector: 1,
            matching: 1,
            data: sha256(&spki),
        };
        assert!(!tlsa_matches(&record, &[]));
        assert!(!tlsa_matches(&record, &[b"garbage".to_vec()]));
    }
}
