//! Turns a domain's [`Observations`] into findings, a verdict and the enforce-readiness
//! answer. Pure: no I/O, and the time is passed in.

mod dns;
mod mx;
mod policy;

use rustls::RootCertStore;

use crate::cert::{self, CertProblem};
use crate::checks::Check;
use crate::finding::{Finding, Problem, Subject, Verdict};
use std::net::IpAddr;

use crate::names;
use crate::observe::{
    Addresses, DnsAnswer, FetchError, Observations, PolicySource, ProbeFailure, Step, TlsSession,
};
use crate::policy::ParsedPolicy;
use crate::record::{StsRecord, TlsRptRecord};

/// What judging needs besides the observations.
pub struct Context<'a> {
    /// The time certificates are judged at, in unix seconds.
    pub now: i64,
    pub roots: &'a RootCertStore,
    /// Certificates expiring within this many days are reported.
    pub expiry_warning_days: u32,
    /// Whether any MX address of any domain in this run answered on port 25: when none
    /// did, the network we run from probably blocks outbound SMTP.
    pub port25_reached: bool,
}

/// The judged audit of one domain: what reporters render.
#[derive(Debug, Clone)]
pub struct DomainReport {
    pub observations: Observations,
    /// The `_mta-sts` record as senders would use it.
    pub sts_record: Option<StsRecord>,
    /// The `_smtp._tls` record as senders would use it.
    pub tlsrpt_record: Option<TlsRptRecord>,
    /// The policy body under judgement, parsed (fetched or draft).
    pub policy: Option<ParsedPolicy>,
    pub findings: Vec<Finding>,
    pub verdict: Verdict,
    /// Whether a sender enforcing this policy would deliver to every MX address; `None`
    /// when that could not be established (MX checks skipped, port 25 blocked here,
    /// addresses unreachable from this network, the deadline cut the audit short).
    pub enforce_ready: Option<bool>,
    /// The time the findings hold for, in unix seconds.
    pub judged_at: i64,
}

/// A policy file judged offline (`mtasts lint`).
#[derive(Debug, Clone)]
pub struct LintReport {
    /// The file's path as given (`-` for standard input).
    pub path: String,
    pub body: Vec<u8>,
    pub policy: ParsedPolicy,
    pub findings: Vec<Finding>,
    pub verdict: Verdict,
}

/// The offline checks of a policy file: its grammar and sense, without the DNS or the
/// MX hosts.
pub fn lint(path: &str, body: Vec<u8>) -> LintReport {
    let cap = crate::net::https::MAX_POLICY_BYTES;
    let policy = crate::policy::parse(&body[..body.len().min(cap)]);
    let mut findings: Vec<Finding> = policy::content_findings(&policy).collect();
    if body.len() > cap {
        findings.insert(
            0,
            Finding::new(
                Check::StsFetchSize,
                Subject::Policy { addr: None },
                format!("the file is larger than {cap} bytes, the most senders read; only that much was judged"),
            ),
        );
    }
    if let Some(applied) = &policy.policy {
        let unknown = "whether switching to enforce is safe needs the MX hosts: run mtasts check DOMAIN --policy-file FILE";
        policy::judge_mode(applied, None, unknown, &mut findings);
    }
    LintReport {
        path: path.to_string(),
        body,
        policy,
        verdict: Verdict::of(&findings),
        findings,
    }
}

/// Reports what the audit did not check, and why: addresses this network cannot reach,
/// addresses of a family left out on request, and whatever went past the audit's limits.
/// Returns whether anything that matters for delivery went unchecked.
fn unchecked(obs: &Observations, findings: &mut Vec<Finding>) -> bool {
    let mut unreachable = Vec::new();
    let mut skipped = Vec::new();
    let mut gaps = false;
    let mut limit = |subject: Subject, message: String| {
        findings.push(Finding::new(Check::AuditLimit, subject, message));
    };

    let mut cut = vec![
        (obs.sts.truncated, &obs.sts.name, Subject::StsRecord),
        (
            obs.tlsrpt.truncated,
            &obs.tlsrpt.name,
            Subject::TlsRptRecord,
        ),
        (obs.mx.truncated, &obs.mx.name, Subject::MxRecords),
    ];
    for h in &obs.mx_hosts {
        if let Some(tlsa) = &h.tlsa {
            cut.push((
                tlsa.truncated,
                &tlsa.name,
                Subject::Mx {
                    host: h.name.clone(),
                    addr: None,
                },
            ));
        }
    }
    for (_, name, subject) in cut.into_iter().filter(|(truncated, ..)| *truncated) {
        limit(subject, dns_limit(name));
    }
    let exchanges: std::collections::BTreeSet<String> = obs
        .mx
        .records()
        .iter()
        .filter(|m| !m.exchange.is_empty())
        .map(|m| names::normalize(&m.exchange))
        .collect();
    if exchanges.len() > obs.mx_hosts.len() && !obs.mx_hosts.is_empty() {
        gaps = true;
        limit(
            Subject::MxRecords,
            format!(
                "{} has {} MX hosts; only the first {} by preference were audited (the audit's limit)",
                obs.domain,
                exchanges.len(),
                crate::net::MAX_MX_HOSTS
            ),
        );
    }

    // Every resolved address of the policy host and of each MX host, against what was probed.
    let mut hosts: Vec<Probed> = Vec::new();
    if let PolicySource::Fetched(f) = &obs.policy {
        hosts.push(Probed {
            name: &f.host.a.name,
            subject: Subject::Policy { addr: None },
            addresses: &f.host,
            probed: f
                .fetches
                .iter()
                .map(|f| {
                    (
                        f.addr,
                        matches!(f.result, Err(FetchError::NetworkUnreachable)),
                    )
                })
                .collect(),
        });
    }
    // With --skip-mx no MX address is probed, on request: nothing to report.
    for h in obs.mx_hosts.iter().filter(|_| obs.mx_checked) {
        hosts.push(Probed {
            name: &h.name,
            subject: Subject::Mx {
                host: h.name.clone(),
                addr: None,
            },
            addresses: &h.addresses,
            probed: h
                .probes
                .iter()
                .filter_map(|p| Some((p.addr?, family_unreachable(&p.failure))))
                .collect(),
        });
    }
    for Probed {
        name,
        subject,
        addresses,
        probed,
    } in hosts
    {
        for lookup in [&addresses.a, &addresses.aaaa] {
            if lookup.truncated {
                limit(subject.clone(), dns_limit(&lookup.name));
            }
        }
        let mut left_out = 0;
        for addr in addresses.all() {
            match probed.iter().find(|(a, _)| *a == addr) {
                Some((_, true)) => unreachable.push(format!("{name} {addr}")),
                Some((_, false)) => {}
                None if !obs.families.allows(addr) => skipped.push(format!("{name} {addr}")),
                None => left_out += 1,
            }
        }
        if left_out > 0 {
            gaps = true;
            limit(
                subject,
                format!(
                    "{name} has {} addresses; {left_out} were not probed (the audit probes at most {} per host)",
                    addresses.all().len(),
                    crate::net::MAX_ADDRESSES
                ),
            );
        }
    }

    if !unreachable.is_empty() {
        findings.push(Finding::new(
            Check::VantageFamilyUnreachable,
            Subject::Vantage,
            format!(
                "this network has no route to these addresses, so they were not checked: {}",
                unreachable.join(", ")
            ),
        ));
    }
    if !skipped.is_empty() {
        findings.push(Finding::new(
            Check::VantageFamilySkipped,
            Subject::Vantage,
            format!(
                "these addresses were left out by --ipv4-only/--ipv6-only and not checked: {}",
                skipped.join(", ")
            ),
        ));
    }
    gaps || !unreachable.is_empty() || !skipped.is_empty()
}

/// The address lookups of a host: each distinct failure once (A and AAAA usually fail
/// together), and, when the host has no address at all, why — ready to be the message of
/// the caller's "does not resolve" finding.
fn address_lookups(
    host: &str,
    addresses: &Addresses,
    subject: &Subject,
    findings: &mut Vec<Finding>,
) -> Option<String> {
    let lookups = [&addresses.a, &addresses.aaaa];
    let mut failures = Vec::new();
    for lookup in lookups {
        if let DnsAnswer::Failed(why) = &lookup.answer
            && !failures.contains(&why)
        {
            failures.push(why);
            findings.push(Finding::new(
                Check::DnsError,
                subject.clone(),
                format!("the address lookup of {} failed ({why})", lookup.name),
            ));
        }
    }
    if !lookups
        .iter()
        .all(|l| matches!(l.answer, DnsAnswer::NxDomain | DnsAnswer::NoData))
    {
        return None;
    }
    let why = if lookups.iter().all(|l| l.answer == DnsAnswer::NxDomain) {
        "does not exist"
    } else {
        "has no A or AAAA record"
    };
    Some(match &addresses.a.cnames {
        cnames if cnames.is_empty() => format!("{host} {why}"),
        cnames => format!("{host} is a CNAME to {}, which {why}", cnames.join(" → ")),
    })
}

/// A host's resolved addresses and those probed (with whether the probe found no route).
struct Probed<'a> {
    name: &'a str,
    subject: Subject,
    addresses: &'a Addresses,
    probed: Vec<(IpAddr, bool)>,
}

fn dns_limit(name: &str) -> String {
    format!(
        "the DNS answer for {name} holds more than {} records; only the first were judged (the audit's limit)",
        crate::net::dns::MAX_RECORDS
    )
}

/// Whether an SMTP probe got a TCP connection: the evidence that port 25 is open from here.
pub fn reached_port25(obs: &Observations) -> bool {
    obs.mx_hosts
        .iter()
        .flat_map(|h| &h.probes)
        .any(|p| !matches!(p.failure, Some((Step::Connect, _))))
}

pub fn judge(obs: Observations, ctx: &Context<'_>) -> DomainReport {
    let mut findings = Vec::new();
    let records = dns::judge(&obs, &mut findings);
    let policy = policy::judge(&obs, ctx, records.sts_in_use(), &mut findings);
    let applied = policy.parsed.as_ref().and_then(|p| p.policy.as_ref());
    let mx = mx::judge(&obs, ctx, applied, &mut findings);

    if obs.deadline_hit {
        findings.push(Finding::new(
            Check::AuditDeadline,
            Subject::Vantage,
            format!("the audit of {} reached its deadline after {:.1}s; operations still running were cut short", obs.domain, obs.elapsed.as_secs_f64()),
        ));
    }

    let unchecked = unchecked(&obs, &mut findings);
    // A null MX, or an MX set that could not be looked up, leaves nothing to be ready for.
    let mx_set = matches!(&obs.mx.answer, DnsAnswer::Records(r) if r.iter().any(|m| !m.exchange.is_empty()))
        || obs.mx.answer == DnsAnswer::NoData;
    // Operations cut short by the deadline, or servers only other TLS libraries can talk
    // to, leave the answer open either way.
    let mx_known = obs.mx_checked
        && mx_set
        && !mx.port25_blocked
        && !mx.beyond_reach
        && !unchecked
        && !obs.deadline_hit;
    let enforce_ready = mx_known.then(|| {
        records.sts.is_some()
            && policy.usable
            && mx.all_verified
            && !findings
                .iter()
                .any(|f| f.check.info().result_type.is_some())
    });
    if let Some(applied) = applied {
        let unknown = "whether switching to enforce is safe could not be established, because the MX hosts could not all be checked";
        policy::judge_mode(applied, enforce_ready, unknown, &mut findings);
    }

    DomainReport {
        sts_record: records.sts,
        tlsrpt_record: records.tlsrpt,
        policy: policy.parsed,
        verdict: Verdict::of(&findings),
        findings,
        enforce_ready,
        judged_at: ctx.now,
        observations: obs,
    }
}

/// Whether a probe failed only because this network has no route for its family.
fn family_unreachable(failure: &Option<(Step, ProbeFailure)>) -> bool {
    matches!(
        failure,
        Some((Step::Connect, ProbeFailure::NetworkUnreachable))
    )
}

/// Whose certificate is judged: the checks differ, the rules do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    PolicyHost,
    Mx,
}

/// Everything wrong with the certificate chain a server presented for `host`.
fn certificate(
    tls: &TlsSession,
    host: &str,
    ctx: &Context<'_>,
    endpoint: Endpoint,
) -> Vec<Problem> {
    let policy_host = endpoint == Endpoint::PolicyHost;
    let pick = |for_policy: Check, for_mx: Check| if policy_host { for_policy } else { for_mx };
    let mut out = Vec::new();
    for problem in cert::judge_chain(&tls.chain, host, ctx.now, ctx.roots) {
        let (check, message) = match problem {
            CertProblem::Expired { subject, not_after } => (
                pick(Check::StsHostCertExpired, Check::SmtpCertExpired),
                format!(
                    "the certificate {subject} expired on {} ({} ago)",
                    cert::rfc3339(not_after),
                    days((ctx.now - not_after) / 86400)
                ),
            ),
            CertProblem::NotYetValid {
                subject,
                not_before,
            } => (
                pick(Check::StsHostCertNotYetValid, Check::SmtpCertNotYetValid),
                format!(
                    "the certificate {subject} is valid only from {}",
                    cert::rfc3339(not_before)
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
                    pick(Check::StsHostCertName, Check::SmtpCertHostname),
                    format!("the certificate does not cover {host}: its DNS names are {names}{cn}"),
                )
            }
            CertProblem::SelfSigned => (
                pick(Check::StsHostCertUntrusted, Check::SmtpCertSelfSigned),
                "the certificate is self-signed".to_string(),
            ),
            CertProblem::Incomplete { missing_issuer } => (
                pick(Check::StsHostCertUntrusted, Check::SmtpCertChainIncomplete),
                format!(
                    "the server did not send the certificate of the issuer {missing_issuer}, which is not a trusted root"
                ),
            ),
            CertProblem::Untrusted { reason } => (
                pick(Check::StsHostCertUntrusted, Check::SmtpCertUntrusted),
                format!("the chain does not lead to a trusted root: {reason}"),
            ),
            CertProblem::Unparseable(why) => (
                pick(Check::StsHostCertUntrusted, Check::SmtpCertUntrusted),
                format!("the certificate cannot be parsed: {why}"),
            ),
            CertProblem::NoCertificate => (
                pick(Check::StsHostCertUntrusted, Check::SmtpCertUntrusted),
                "the server presented no certificate".to_string(),
            ),
            // Strength is judged on the MX hosts only: the policy host is a web server, and
            // its TLS is the web PKI's business.
            CertProblem::WeakKey { .. } | CertProblem::Sha1Signature { .. } if policy_host => {
                continue;
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
        out.push(Problem::new(check, message));
    }
    if let Some(leaf) = tls.chain.first().and_then(|der| cert::summarize(der).ok()) {
        let left = leaf.not_after - ctx.now;
        if left >= 0 && left < i64::from(ctx.expiry_warning_days) * 86400 {
            out.push(Problem::new(
                pick(Check::StsHostCertExpiring, Check::SmtpCertExpiring),
                format!(
                    "the certificate {} expires on {} (in {})",
                    leaf.subject,
                    cert::rfc3339(leaf.not_after),
                    days(left / 86400)
                ),
            ));
        }
    }
    if tls.chain_truncated && policy_host {
        out.push(Problem::new(
            Check::AuditLimit,
            format!("the server sent more than {} certificates; only the first were judged (the audit's limit)", crate::net::tls::MAX_CHAIN_CERTS),
        ));
    } else if tls.chain_truncated {
        out.push(Problem::new(
            Check::SmtpCertChainLimit,
            format!(
                "the server sent more than {} certificates; only the first were judged",
                crate::net::tls::MAX_CHAIN_CERTS
            ),
        ));
    }
    out
}

/// "1 day", "3 days".
fn days(n: i64) -> String {
    if n == 1 {
        "1 day".into()
    } else {
        format!("{n} days")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cert::tests::{FIXTURE_ROOT, FIXTURE_TIME, SHA1_LEAF, WEAK_RSA_LEAF};
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

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
            roots: &roots,
            expiry_warning_days: 14,
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
