//! The MX hosts: coverage by the policy's patterns, their addresses, and the SMTP,
//! STARTTLS, TLS and certificate verdict of every address.

use std::time::Duration;

use crate::cert;
use crate::checks::Check;
use crate::finding::{Finding, Problem, Subject};
use crate::judge::certs::{Endpoint, certificate};
use crate::judge::{Context, address_lookups, family_unreachable};
use crate::names;
use crate::observe::{
    DnsAnswer, LegacyHello, MxHost, Observations, ProbeFailure, SmtpProbe, Step, TlsFailure,
    TlsSession,
};
use crate::policy::{Mode, Policy};
use crate::suites::suite_name;

pub fn judge(
    obs: &Observations,
    ctx: &Context<'_>,
    policy: Option<&Policy>,
    findings: &mut Vec<Finding>,
) {
    let hosts = &obs.mx_hosts;
    // A null MX has no host for a pattern to match: nothing to compare.
    let mx_set_known = match &obs.mx.answer {
        DnsAnswer::Records(r) => !r.iter().any(|m| m.exchange.is_empty()),
        DnsAnswer::NoData => true,
        _ => false,
    };
    if let Some(policy) = policy.filter(|p| p.mode != Mode::None) {
        coverage(hosts, policy, mx_set_known, findings);
    }
    for host in hosts {
        addresses(host, findings);
    }
    if !obs.mx_checked {
        return;
    }
    let blocked = port25_blocked(obs, ctx, findings);
    for host in hosts {
        tlsa(host, findings);
        for probe in &host.probes {
            // Addresses this network cannot reach are the vantage point's findings.
            if family_unreachable(&probe.failure) || (blocked && connect_failed(probe)) {
                continue;
            }
            let subject = Subject::Mx {
                host: host.name.clone(),
                addr: probe.addr,
            };
            let problems = address_problems(obs, ctx, host, probe);
            findings.extend(problems.into_iter().map(|p| p.at(subject.clone())));
        }
    }
}

/// A connection that failed for a reason other than the network having no route.
fn connect_failed(p: &SmtpProbe) -> bool {
    matches!(p.failure, Some((Step::Connect, _))) && !family_unreachable(&p.failure)
}

/// Whether no MX address answered on port 25 because this network blocks it (as far as
/// the run could tell), and if so the finding that says so.
fn port25_blocked(obs: &Observations, ctx: &Context<'_>, findings: &mut Vec<Finding>) -> bool {
    let probes = || obs.mx_hosts.iter().flat_map(|h| &h.probes);
    let blocked = !ctx.port25_reached
        && probes().any(connect_failed)
        && probes().all(|p| connect_failed(p) || family_unreachable(&p.failure));
    if blocked {
        findings.push(Finding::new(
            Check::VantagePort25Blocked,
            Subject::Vantage,
            format!(
                "no address of any MX host answered on port 25 ({} tried) while DNS worked: outbound port 25 appears blocked from this network, so the MX hosts of {} could not be checked",
                probes().count(),
                obs.domain
            ),
        ));
    }
    blocked
}

/// The host's TLSA records: a failed lookup, and that there are some.
fn tlsa(host: &MxHost, findings: &mut Vec<Finding>) {
    let subject = Subject::Mx {
        host: host.name.clone(),
        addr: None,
    };
    if let Some(DnsAnswer::Failed(why)) = host.tlsa.as_ref().map(|l| &l.answer) {
        findings.push(Finding::new(
            Check::DnsError,
            subject.clone(),
            format!(
                "the TLSA lookup of _25._tcp.{} failed ({why}): DANE-validating senders defer mail to this host when its zone is DNSSEC-signed",
                host.name
            ),
        ));
    }
    let records = host.tlsa.as_ref().map(|l| l.records()).unwrap_or_default();
    if !records.is_empty() {
        findings.push(Finding::new(
            Check::DaneTlsaPresent,
            subject,
            format!(
                "_25._tcp.{} has {} TLSA record(s): DANE-capable senders validate this host with DANE",
                host.name,
                records.len()
            ),
        ));
    }
}

/// Everything wrong at one address: its session, its certificate against the host's TLSA
/// records, and whether a timeout may be the deadline's doing.
fn address_problems(
    obs: &Observations,
    ctx: &Context<'_>,
    host: &MxHost,
    probe: &SmtpProbe,
) -> Vec<Problem> {
    let mut problems = probe_problems(probe, &host.name, ctx);
    let waits = [
        Check::SmtpConnectTimeout,
        Check::SmtpBannerTimeout,
        Check::SmtpTimeout,
    ];
    for p in problems
        .iter_mut()
        .filter(|p| obs.deadline_hit && waits.contains(&p.check))
    {
        p.message.push_str(
            "; the audit's per-domain deadline was reached, so the server may only be slow",
        );
    }
    let records = host.tlsa.as_ref().map(|l| l.records()).unwrap_or_default();
    if let Some(tls) = &probe.tls
        && !tls.chain.is_empty()
        && !records.is_empty()
        && !records.iter().any(|r| cert::tlsa_matches(r, &tls.chain))
    {
        problems.push(Problem::new(
            Check::DaneTlsaMismatch,
            format!(
                "the certificate of {} at {} matches none of the TLSA records at _25._tcp.{}",
                host.name,
                addr(probe),
                host.name
            ),
        ));
    }
    problems
}

/// RFC 8461 §4.1: every MX host must match a pattern; patterns should match some MX host.
fn coverage(hosts: &[MxHost], policy: &Policy, mx_set_known: bool, findings: &mut Vec<Finding>) {
    for host in hosts {
        if policy.matching_pattern(&host.name).is_some() {
            continue;
        }
        // An IP literal can never be matched; mx-target-ip already says what to do.
        if host.name.parse::<std::net::IpAddr>().is_ok() {
            continue;
        }
        let subject = Subject::Mx {
            host: host.name.clone(),
            addr: None,
        };
        let too_deep = policy.mx.iter().find(|p| {
            p.strip_prefix("*.").is_some_and(|base| {
                names::normalize(&host.name).ends_with(&format!(".{}", names::normalize(base)))
            })
        });
        let finding = match too_deep {
            Some(pattern) => Finding::new(
                Check::StsMxWildcardDepth,
                subject,
                format!("MX {} is not covered: \"{pattern}\" matches only one label in place of the \"*\" ({})", host.name, crate::senders::WILDCARD_DEPTH.senders),
            )
            .with_fix(format!(
                "Add \"mx: *.{}\" or \"mx: {}\" to the policy and change the TXT id.",
                names::normalize(&host.name).split_once('.').map_or("", |(_, rest)| rest),
                names::normalize(&host.name)
            )),
            None => {
                // Only a pattern that matches no MX can be a misspelling of this one.
                let stale = policy.mx.iter().filter(|p| !hosts.iter().any(|h| names::matches(p, &h.name)));
                let near = closest(&host.name, stale.map(String::as_str));
                let hint = near.map(|p| format!(" (the pattern \"{p}\" looks like a misspelling of it)")).unwrap_or_default();
                Finding::new(
                    Check::StsMxUnmatched,
                    subject,
                    format!("MX {} matches none of the policy's mx patterns ({}){hint}", host.name, policy.mx.join(", ")),
                )
                .with_fix(match near {
                    Some(p) => format!("Replace \"mx: {p}\" with \"mx: {}\" and change the TXT id.", names::normalize(&host.name)),
                    None => format!("Add \"mx: {}\" to the policy and change the TXT id.", names::normalize(&host.name)),
                })
            }
        };
        findings.push(finding);
    }
    if mx_set_known {
        for pattern in &policy.mx {
            if hosts.iter().any(|h| names::matches(pattern, &h.name)) {
                continue;
            }
            let uncovered = hosts
                .iter()
                .filter(|h| policy.matching_pattern(&h.name).is_none());
            let near = closest(pattern, uncovered.map(|h| h.name.as_str()));
            let hint = near
                .map(|h| format!("; did you mean {h}?"))
                .unwrap_or_default();
            findings.push(Finding::new(
                Check::StsPolicyMxStale,
                Subject::Policy { addr: None },
                format!("the pattern \"{pattern}\" matches no MX host{hint}"),
            ));
        }
    }
}

/// The candidate nearest to `name`, if near enough to be a typo of it.
fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let name = names::normalize(name);
    candidates
        .map(|c| (names::edit_distance(&name, &names::normalize(c)), c))
        .filter(|(d, c)| *d > 0 && *d <= (c.len() / 8).clamp(1, 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// The MX host's own DNS.
fn addresses(host: &MxHost, findings: &mut Vec<Finding>) {
    if host.name.parse::<std::net::IpAddr>().is_ok() {
        return; // reported with the MX set
    }
    let subject = Subject::Mx {
        host: host.name.clone(),
        addr: None,
    };
    if let Some(cnames) = [&host.addresses.a, &host.addresses.aaaa]
        .iter()
        .map(|l| &l.cnames)
        .find(|c| !c.is_empty())
    {
        findings.push(Finding::new(
            Check::MxTargetCname,
            subject.clone(),
            format!(
                "{} is a CNAME ({} → {})",
                host.name,
                host.name,
                cnames.join(" → ")
            ),
        ));
    }
    if let Some(message) = address_lookups(&host.name, &host.addresses, &subject, findings) {
        findings.push(Finding::new(Check::MxHostUnresolvable, subject, message));
    }
}

/// Everything wrong with one SMTP session, in the order the session ran.
fn probe_problems(p: &SmtpProbe, host: &str, ctx: &Context<'_>) -> Vec<Problem> {
    let mut out = Vec::new();
    let at = addr(p);
    if let Some(banner) = p.banner.as_ref().filter(|b| b.code != 220) {
        out.push(Problem::new(
            Check::SmtpGreeting,
            format!("{host} at {at} greeted with {}", reply_text(banner)),
        ));
    }
    if let Some(ehlo) = p.ehlo.as_ref().filter(|r| !r.is_positive()) {
        out.push(Problem::new(
            Check::SmtpEhlo,
            format!(
                "{host} at {at} rejected EHLO with {}; without EHLO there is no STARTTLS",
                reply_text(ehlo)
            ),
        ));
    }
    if let Some(ehlo) = p.ehlo.as_ref().filter(|r| r.is_positive())
        && !ehlo.ehlo_keywords().iter().any(|k| k == "STARTTLS")
    {
        out.push(Problem::new(
            Check::SmtpStarttlsMissing,
            format!("{host} at {at} does not offer STARTTLS in its EHLO reply"),
        ));
    }
    if let Some(reply) = p.starttls.as_ref().filter(|r| r.code != 220) {
        out.push(Problem::new(
            Check::SmtpStarttlsReply,
            format!(
                "{host} at {at} answered STARTTLS with {}",
                reply_text(reply)
            ),
        ));
    }
    if !p.injected.is_empty() {
        out.push(Problem::new(
            Check::SmtpStarttlsInjection,
            format!(
                "{host} at {at} sent {} bytes of plaintext after its 220 reply to STARTTLS: \"{}\"",
                p.injected.len(),
                String::from_utf8_lossy(&p.injected[..p.injected.len().min(80)])
            ),
        ));
    }
    // A handshake that failed before the certificate has no chain to judge: the failure
    // itself is the finding.
    if let Some(tls) = p
        .tls
        .as_ref()
        .filter(|t| !t.chain.is_empty() || t.error.is_none())
    {
        out.extend(certificate(tls, host, ctx, Endpoint::Mx));
    } else if let Some(LegacyHello::ServerHello { chain, .. }) = &p.legacy
        && !chain.is_empty()
    {
        // rustls refused the server, but the legacy handshake showed its certificate (sent
        // in the clear up to TLS 1.2): judge it, since other senders will.
        let seen = TlsSession {
            chain: chain.clone(),
            ..TlsSession::default()
        };
        out.extend(certificate(&seen, host, ctx, Endpoint::Mx));
    }
    if let Some(reply) = p.ehlo_after_tls.as_ref().filter(|r| !r.is_positive()) {
        out.push(Problem::new(
            Check::SmtpEhloAfterTls,
            format!(
                "{host} at {at} answered EHLO inside TLS with {}",
                reply_text(reply)
            ),
        ));
    }
    if let Some((step, failure)) = &p.failure {
        out.push(failure_problem(p, *step, failure, host, ctx.timeout));
    }
    out
}

fn failure_problem(
    p: &SmtpProbe,
    step: Step,
    failure: &ProbeFailure,
    host: &str,
    timeout: Duration,
) -> Problem {
    let at = addr(p);
    let during = step.as_str();
    match (step, failure) {
        (Step::Connect, ProbeFailure::ConnectRefused) => Problem::new(
            Check::SmtpConnectRefused,
            format!("{host} at {at} refused the connection on port 25"),
        ),
        (Step::Connect, ProbeFailure::Timeout) => Problem::new(
            Check::SmtpConnectTimeout,
            format!("{host} at {at} did not answer on port 25 in time"),
        ),
        (Step::Connect, other) => Problem::new(
            Check::SmtpConnectFailed,
            format!("connecting to {host} at {at} failed: {}", other),
        ),
        (Step::Banner, ProbeFailure::Timeout) => Problem::new(
            Check::SmtpBannerTimeout,
            format!(
                "{host} at {at} accepted the connection but sent no complete greeting within {} s (--timeout); senders wait up to 5 minutes for it (RFC 5321 §4.5.3.2), so raise --timeout (and --deadline) to wait as long as they do",
                timeout.as_secs_f64()
            ),
        ),
        (Step::TlsHandshake, ProbeFailure::Tls) => tls_problem(p, host),
        (_, ProbeFailure::Timeout) => Problem::new(
            Check::SmtpTimeout,
            format!("{host} at {at} stopped answering during {during}"),
        ),
        (_, ProbeFailure::Closed | ProbeFailure::Reset | ProbeFailure::Io(_)) => Problem::new(
            Check::SmtpClosed,
            format!(
                "{host} at {at} closed the connection during {during}: {}",
                failure
            ),
        ),
        (_, ProbeFailure::LineTooLong | ProbeFailure::TooManyLines) => Problem::new(
            Check::SmtpReplyLimit,
            format!("{host} at {at}: during {during}, {}", failure),
        ),
        (_, ProbeFailure::Garbage(_)) => Problem::new(
            Check::SmtpReplySyntax,
            format!("{host} at {at}: during {during}, {}", failure),
        ),
        (
            _,
            ProbeFailure::ConnectRefused | ProbeFailure::NetworkUnreachable | ProbeFailure::Tls,
        ) => Problem::new(
            Check::SmtpClosed,
            format!("{host} at {at} failed during {during}: {}", failure),
        ),
    }
}

fn tls_problem(p: &SmtpProbe, host: &str) -> Problem {
    let at = addr(p);
    let error = p
        .tls
        .as_ref()
        .and_then(|t| t.error.clone())
        .unwrap_or(TlsFailure::Other("unknown".into()));
    let failed_too = |why: &str| {
        format!("; a legacy TLS 1.0-1.2 ClientHello on a second connection failed too: {why}")
    };
    let legacy = match &p.legacy {
        // The server speaks only TLS 1.0 or 1.1: senders refuse that.
        Some(LegacyHello::ServerHello {
            version, cipher, ..
        }) if *version < 0x0303 => {
            return Problem::new(
                Check::SmtpTlsVersionMin,
                format!(
                    "{host} at {at} speaks at most {} (it chose {} for a legacy ClientHello); senders require TLS 1.2 or 1.3",
                    tls_version_name(*version),
                    suite_name(*cipher)
                ),
            );
        }
        // TLS 1.2, but only with a suite rustls never offers: OpenSSL-based senders may still connect.
        Some(LegacyHello::ServerHello { cipher, .. }) => {
            return Problem::new(
                Check::SmtpTlsCipher,
                format!(
                    "{host} at {at} negotiates TLS 1.2 only with {} ({}), which this auditor's TLS library refuses ({error}); many senders still connect, so the session could not be completed here",
                    suite_name(*cipher),
                    cipher_weakness(*cipher)
                ),
            );
        }
        Some(LegacyHello::Alert { description, .. }) => failed_too(&format!(
            "the server sent the alert {:?}",
            rustls::AlertDescription::from(*description)
        )),
        Some(LegacyHello::Failed(why)) => failed_too(why),
        None => String::new(),
    };
    if error == TlsFailure::NoCommonVersion {
        return Problem::new(
            Check::SmtpTlsVersionMin,
            format!("{host} at {at} offers neither TLS 1.2 nor TLS 1.3{legacy}"),
        );
    }
    // A hang-up says little without when: before the ServerHello the server refused our
    // hello, after it the handshake broke.
    let server_hello = p.tls.as_ref().is_some_and(|t| t.server_hello);
    let when = match (&error, server_hello) {
        (TlsFailure::Closed | TlsFailure::Reset, false) => " before the ServerHello",
        (TlsFailure::Closed | TlsFailure::Reset, true) => " after the ServerHello",
        _ => "",
    };
    Problem::new(
        Check::SmtpTlsHandshake,
        format!("the TLS handshake with {host} at {at} failed: {error}{when}{legacy}"),
    )
}

/// Why a TLS 1.2 suite is refused by modern stacks, from its IANA name.
fn cipher_weakness(cipher: u16) -> &'static str {
    let name = suite_name(cipher);
    if name.contains("RC4")
        || name.contains("3DES")
        || name.contains("_DES_")
        || name.contains("NULL")
        || name.contains("EXPORT")
    {
        "broken encryption, which many senders refuse too"
    } else if name.starts_with("TLS_RSA_") {
        "RSA key exchange, without forward secrecy"
    } else if name.contains("_CBC_") {
        "CBC mode, not an AEAD cipher"
    } else if name.starts_with("TLS_DHE_") {
        "finite-field Diffie-Hellman"
    } else {
        "a suite modern TLS stacks do not offer"
    }
}

fn tls_version_name(version: u16) -> String {
    match version {
        0x0300 => "SSL 3.0".into(),
        0x0301 => "TLS 1.0".into(),
        0x0302 => "TLS 1.1".into(),
        0x0303 => "TLS 1.2".into(),
        0x0304 => "TLS 1.3".into(),
        v => format!("version 0x{v:04x}"),
    }
}

fn reply_text(r: &crate::observe::Reply) -> String {
    let first = r
        .lines
        .first()
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .unwrap_or_default();
    format!("\"{} {}\"", r.code, first)
}

fn addr(p: &SmtpProbe) -> String {
    p.addr.map(|a| a.to_string()).unwrap_or_else(|| "?".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each way a session breaks down has its own check; some cannot be provoked on
    /// loopback (an ICMP host-unreachable, a reset during connect), so the mapping is
    /// tested here.
    #[test]
    fn every_breakdown_has_its_check() {
        let probe = SmtpProbe {
            addr: Some("192.0.2.1".parse().expect("ip")),
            ..SmtpProbe::default()
        };
        let cases = [
            (
                Step::Connect,
                ProbeFailure::ConnectRefused,
                "smtp-connect-refused",
            ),
            (Step::Connect, ProbeFailure::Timeout, "smtp-connect-timeout"),
            (
                Step::Connect,
                ProbeFailure::Io("No route to host (os error 113)".into()),
                "smtp-connect-failed",
            ),
            (Step::Banner, ProbeFailure::Timeout, "smtp-banner-timeout"),
            (Step::Banner, ProbeFailure::Closed, "smtp-closed"),
            (Step::Ehlo, ProbeFailure::Reset, "smtp-closed"),
            (Step::Ehlo, ProbeFailure::Timeout, "smtp-timeout"),
            (Step::Ehlo, ProbeFailure::TooManyLines, "smtp-reply-limit"),
            (Step::Banner, ProbeFailure::LineTooLong, "smtp-reply-limit"),
            (
                Step::Banner,
                ProbeFailure::Garbage(b"SSH-2.0-OpenSSH".to_vec()),
                "smtp-reply-syntax",
            ),
            (Step::TlsHandshake, ProbeFailure::Tls, "smtp-tls-handshake"),
        ];
        for (step, failure, id) in cases {
            let problem = failure_problem(
                &probe,
                step,
                &failure,
                "mx.example.test",
                Duration::from_secs(10),
            );
            assert_eq!(problem.check.id(), id, "{step:?} {failure:?}");
            assert!(
                problem.message.contains("mx.example.test at 192.0.2.1"),
                "{}",
                problem.message
            );
        }
    }
}
