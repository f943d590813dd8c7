//! The certificate chain a server presented, judged for its endpoint: the policy host and
//! the MX hosts follow the same rules under their own check ids.

use crate::cert::CertProblem;
use crate::checks::Check;
use crate::dates;
use crate::finding::Problem;
use crate::judge::Context;
use crate::observe::TlsSession;

/// Whose certificate is judged: the checks differ, the rules do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    PolicyHost,
    Mx,
}

/// Everything wrong with the certificate chain a server presented for `host`.
pub fn certificate(
    tls: &TlsSession,
    host: &str,
    ctx: &Context<'_>,
    endpoint: Endpoint,
) -> Vec<Problem> {
    let mut out: Vec<Problem> = ctx
        .certs
        .judge_chain(&tls.chain, host, ctx.now)
        .into_iter()
        .filter_map(|p| chain_problem(p, endpoint, ctx.now))
        .collect();
    out.extend(expiring(tls, ctx, endpoint));
    out.extend(chain_limit(tls, endpoint));
    out
}

/// The check for `for_policy`'s or `for_mx`'s endpoint.
fn pick(endpoint: Endpoint, for_policy: Check, for_mx: Check) -> Check {
    match endpoint {
        Endpoint::PolicyHost => for_policy,
        Endpoint::Mx => for_mx,
    }
}

/// One problem of the chain as its endpoint's check says it; `None` for key and signature
/// strength at the policy host, a web server whose TLS is the web PKI's business.
fn chain_problem(problem: CertProblem, endpoint: Endpoint, now: i64) -> Option<Problem> {
    let on = |for_policy, for_mx| pick(endpoint, for_policy, for_mx);
    let (check, message) = match problem {
        CertProblem::Expired { subject, not_after } => (
            on(Check::StsHostCertExpired, Check::SmtpCertExpired),
            format!(
                "the certificate {subject} expired on {} ({})",
                dates::rfc3339(not_after),
                dates::relative(not_after, now)
            ),
        ),
        CertProblem::NotYetValid {
            subject,
            not_before,
        } => (
            on(Check::StsHostCertNotYetValid, Check::SmtpCertNotYetValid),
            format!(
                "the certificate {subject} is valid only from {}",
                dates::rfc3339(not_before)
            ),
        ),
        CertProblem::NameMismatch {
            host,
            dns_names,
            cn_only,
        } => {
            let names = if dns_names.is_empty() {
                "none".to_string()
            } else {
                dns_names.join(", ")
            };
            let cn = if cn_only {
                "; only the subject CN matches, and senders use the subject alternative names"
            } else {
                ""
            };
            (
                on(Check::StsHostCertName, Check::SmtpCertHostname),
                format!("the certificate does not cover {host}: its DNS names are {names}{cn}"),
            )
        }
        CertProblem::SelfSigned => (
            on(Check::StsHostCertUntrusted, Check::SmtpCertSelfSigned),
            "the certificate is self-signed".to_string(),
        ),
        CertProblem::Incomplete { missing_issuer } => (
            on(Check::StsHostCertUntrusted, Check::SmtpCertChainIncomplete),
            format!(
                "the server did not send the certificate of the issuer {missing_issuer}, which is not a trusted root"
            ),
        ),
        CertProblem::Untrusted { reason } => (
            on(Check::StsHostCertUntrusted, Check::SmtpCertUntrusted),
            format!("the chain does not lead to a trusted root: {reason}"),
        ),
        CertProblem::Unparseable(why) => (
            on(Check::StsHostCertUntrusted, Check::SmtpCertUntrusted),
            format!("the certificate cannot be parsed: {why}"),
        ),
        CertProblem::NoCertificate => (
            on(Check::StsHostCertUntrusted, Check::SmtpCertUntrusted),
            "the server presented no certificate".to_string(),
        ),
        CertProblem::WeakKey { .. } | CertProblem::Sha1Signature { .. }
            if endpoint == Endpoint::PolicyHost =>
        {
            return None;
        }
        CertProblem::WeakKey {
            subject,
            key_type,
            bits,
        } => (
            Check::SmtpCertWeakKey,
            format!("the certificate {subject} has a {bits}-bit {key_type} key"),
        ),
        CertProblem::Sha1Signature { subject } => (
            Check::SmtpCertSha1,
            format!("the certificate {subject} is signed with SHA-1"),
        ),
    };
    Some(Problem::new(check, message))
}

/// A leaf that expires within `--expiry-warning` days.
fn expiring(tls: &TlsSession, ctx: &Context<'_>, endpoint: Endpoint) -> Option<Problem> {
    let leaf = ctx.certs.summarize(tls.chain.first()?)?;
    let left = dates::days_left(leaf.not_after, ctx.now);
    (0..i64::from(ctx.expiry_warning_days))
        .contains(&left)
        .then(|| {
            Problem::new(
                pick(
                    endpoint,
                    Check::StsHostCertExpiring,
                    Check::SmtpCertExpiring,
                ),
                format!(
                    "the certificate {} expires on {} ({})",
                    leaf.subject,
                    dates::rfc3339(leaf.not_after),
                    dates::relative(leaf.not_after, ctx.now)
                ),
            )
        })
}

/// A chain longer than the audit keeps.
fn chain_limit(tls: &TlsSession, endpoint: Endpoint) -> Option<Problem> {
    if !tls.chain_truncated {
        return None;
    }
    let sent = format!(
        "the server sent more than {} certificates; only the first were judged",
        crate::limits::MAX_CHAIN_CERTS
    );
    Some(match endpoint {
        Endpoint::PolicyHost => {
            Problem::new(Check::AuditLimit, format!("{sent} (the audit's limit)"))
        }
        Endpoint::Mx => Problem::new(Check::SmtpCertChainLimit, sent),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cert::tests::{FIXTURE_ROOT, FIXTURE_TIME, SHA1_LEAF, WEAK_RSA_LEAF};
    use rustls::RootCertStore;
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    use std::time::Duration;

    fn der(pem: &str) -> Vec<u8> {
        CertificateDer::from_pem_slice(pem.as_bytes())
            .expect("PEM")
            .to_vec()
    }

    fn ids(chain: &[&str], host: &str, endpoint: Endpoint) -> Vec<&'static str> {
        let mut roots = RootCertStore::empty();
        roots
            .add(CertificateDer::from(der(FIXTURE_ROOT)))
            .expect("root");
        let ctx = Context {
            now: FIXTURE_TIME,
            certs: &crate::cert::Memo::new(std::sync::Arc::new(roots)),
            expiry_warning_days: 14,
            timeout: Duration::from_secs(10),
            dns_silent: None,
            port25_reached: true,
        };
        let tls = TlsSession {
            chain: chain.iter().map(|p| der(p)).collect(),
            ..TlsSession::default()
        };
        certificate(&tls, host, &ctx, endpoint)
            .iter()
            .map(|p| p.check.id())
            .collect()
    }

    /// rustls can serve neither of these certificates, so the lab cannot: the mapping is
    /// tested here, on certificates made once with openssl (see cert.rs).
    #[test]
    fn weak_keys_and_sha1_signatures_are_warnings_on_mx_hosts_only() {
        assert_eq!(
            ids(
                &[WEAK_RSA_LEAF, FIXTURE_ROOT],
                "weak.example.test",
                Endpoint::Mx
            ),
            ["smtp-cert-weak-key"]
        );
        // webpki refuses SHA-1 signatures, so senders do not trust the chain either.
        assert_eq!(
            ids(
                &[SHA1_LEAF, FIXTURE_ROOT],
                "sha1.example.test",
                Endpoint::Mx
            ),
            ["smtp-cert-untrusted", "smtp-cert-sha1"]
        );
        // The policy host is a web server: strength is the web PKI's business there.
        assert_eq!(
            ids(
                &[WEAK_RSA_LEAF, FIXTURE_ROOT],
                "weak.example.test",
                Endpoint::PolicyHost
            ),
            Vec::<&str>::new()
        );
    }
}
