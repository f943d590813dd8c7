//! Turns a domain's [`Observations`] into findings, a verdict and the enforce-readiness
//! answer. Pure: no I/O, and the time is passed in.

mod certs;
mod dns;
mod drift;
mod mx;
mod policy;
mod readiness;
mod transition;

pub use readiness::{Readiness, Reason};

use crate::cert;
use crate::checks::Check;
use crate::dates;
use crate::finding::{Finding, Subject, Verdict};
use std::net::IpAddr;
use std::time::Duration;

use crate::names;
use crate::observe::{
    Addresses, DnsAnswer, FetchError, Observations, PolicySource, ProbeFailure, Step,
};
use crate::policy::{Mode, ParsedPolicy};
use crate::record::{StsRecord, TlsRptRecord};
use crate::snapshot::Snapshot;

/// What judging needs besides the observations.
pub struct Context<'a> {
    /// The time certificates are judged at, in unix seconds.
    pub now: i64,
    /// The trust roots, and what the run already worked out about certificates.
    pub certs: &'a cert::Memo,
    /// Certificates expiring within this many days are reported.
    pub expiry_warning_days: u32,
    /// The bound on one network operation the observations were made with (`--timeout`).
    pub timeout: Duration,
    /// Why the resolver gave no answer at all, not even for the root zone, when it gave
    /// none: then a domain whose every lookup failed says nothing about the domain.
    pub dns_silent: Option<String>,
    /// Whether any MX address of any domain in this run answered on port 25: when none
    /// did, the network we run from probably blocks outbound SMTP.
    pub port25_reached: bool,
}

/// The judged audit of one domain: what reporters render.
#[derive(Debug, Clone)]
pub struct DomainReport {
    pub observations: Observations,
    /// The domain's Unicode form, when it is an IDN (reports show both forms).
    pub unicode: Option<String>,
    /// The `_mta-sts` record as senders would use it.
    pub sts_record: Option<StsRecord>,
    /// The `_smtp._tls` record as senders would use it.
    pub tlsrpt_record: Option<TlsRptRecord>,
    /// The policy body under judgement, parsed (fetched or draft).
    pub policy: Option<ParsedPolicy>,
    pub findings: Vec<Finding>,
    pub verdict: Verdict,
    /// If the policy were in enforce mode now, would a sender that honours it deliver
    /// everything it delivers today? With the reasons.
    pub readiness: Readiness,
    /// Every MX host judged, in the order of `observations.mx_hosts`.
    pub mx: Vec<MxReport>,
    /// Every policy fetch judged, in the order of the observed fetches (the browser-like
    /// one last).
    pub fetches: Vec<FetchReport>,
    /// Which of those fetches served the body that was judged.
    pub served: Option<usize>,
    /// The time the findings hold for, in unix seconds.
    pub judged_at: i64,
}

/// One MX host, judged.
#[derive(Debug, Clone)]
pub struct MxReport {
    /// The policy pattern that covers the host, if any.
    pub matched_pattern: Option<String>,
    /// Every probed address, in the order of the host's probes.
    pub addresses: Vec<AddressReport>,
}

/// One probed MX address, judged.
#[derive(Debug, Clone)]
pub struct AddressReport {
    pub addr: IpAddr,
    pub verdict: Verdict,
    pub readiness: Readiness,
    /// The checks that fired at this address (and at its host), in report order.
    pub checks: Vec<Check>,
    /// The chain the address presented (in the TLS handshake, or the legacy one).
    pub certificates: Vec<Certificate>,
}

/// One policy fetch, judged: the chain it was shown.
#[derive(Debug, Clone)]
pub struct FetchReport {
    pub certificates: Vec<Certificate>,
}

/// A certificate as reports show it.
#[derive(Debug, Clone)]
pub struct Certificate {
    pub summary: cert::CertSummary,
    /// By the one rounding rule of [`dates::days_left`], at the time judged.
    pub days_left: i64,
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
    let cap = crate::limits::MAX_POLICY_BYTES;
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
        policy::judge_mode(applied, None, &mut findings);
    }
    // The file is the subject here: messages name it, as they name hosts in an audit.
    let name = if path == "-" { "standard input" } else { path };
    for f in &mut findings {
        f.message = format!("{name}: {}", f.message);
    }
    LintReport {
        path: path.to_string(),
        body,
        policy,
        verdict: Verdict::of(&findings),
        findings,
    }
}

/// Reports what the audit did not check, and why: answers and sets past the audit's
/// limits, addresses this network cannot reach or was told to leave out, and the MX hosts
/// with `--skip-mx`.
fn unchecked(obs: &Observations, findings: &mut Vec<Finding>) {
    beyond_limits(obs, findings);
    unprobed(obs, findings);
    if !obs.mx_checked && !obs.mx_hosts.is_empty() {
        findings.push(Finding::new(
            Check::AuditMxSkipped,
            Subject::Vantage,
            format!(
                "the MX hosts of {} were not checked (--skip-mx): only DNS and the policy were audited",
                obs.domain
            ),
        ));
    }
}

/// DNS answers with more records than the audit keeps, and MX sets larger than it probes.
fn beyond_limits(obs: &Observations, findings: &mut Vec<Finding>) {
    let mut cut = vec![
        (&obs.sts, Subject::StsRecord),
        (&obs.tlsrpt, Subject::TlsRptRecord),
    ]
    .into_iter()
    .map(|(lookup, subject)| (lookup.truncated, &lookup.name, subject))
    .collect::<Vec<_>>();
    cut.push((obs.mx.truncated, &obs.mx.name, Subject::MxRecords));
    for h in &obs.mx_hosts {
        if let Some(tlsa) = &h.tlsa {
            let subject = Subject::Mx {
                host: h.name.clone(),
                addr: None,
            };
            cut.push((tlsa.truncated, &tlsa.name, subject));
        }
    }
    for (_, name, subject) in cut.into_iter().filter(|(truncated, ..)| *truncated) {
        findings.push(Finding::new(Check::AuditLimit, subject, dns_limit(name)));
    }
    let exchanges = obs.exchanges();
    if exchanges.len() > obs.mx_hosts.len() && !obs.mx_hosts.is_empty() {
        findings.push(Finding::new(
            Check::AuditLimit,
            Subject::MxRecords,
            format!(
                "{} has {} MX hosts; only the first {} by preference were audited (the audit's limit)",
                obs.domain,
                exchanges.len(),
                crate::limits::MAX_MX_HOSTS
            ),
        ));
    }
}

/// Every resolved address of the policy host and of each MX host against those probed:
/// addresses this network has no route to, those left out by --ipv4-only/--ipv6-only, and
/// those past the per-host limit.
fn unprobed(obs: &Observations, findings: &mut Vec<Finding>) {
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
    // With --skip-mx no MX address is probed, on request: audit-mx-skipped says so.
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
    let (mut unreachable, mut skipped) = (Vec::new(), Vec::new());
    for host in hosts {
        for lookup in [&host.addresses.a, &host.addresses.aaaa] {
            if lookup.truncated {
                findings.push(Finding::new(
                    Check::AuditLimit,
                    host.subject.clone(),
                    dns_limit(&lookup.name),
                ));
            }
        }
        let mut left_out = 0;
        for addr in host.addresses.all() {
            match host.probed.iter().find(|(a, _)| *a == addr) {
                Some((_, true)) => unreachable.push(format!("{} {addr}", host.name)),
                Some((_, false)) => {}
                None if !obs.families.allows(addr) => skipped.push(format!("{} {addr}", host.name)),
                None => left_out += 1,
            }
        }
        if left_out > 0 {
            findings.push(Finding::new(
                Check::AuditLimit,
                host.subject,
                format!(
                    "{} has {} addresses; {left_out} were not probed (the audit probes at most {} per host)",
                    host.name,
                    host.addresses.all().len(),
                    crate::limits::MAX_ADDRESSES
                ),
            ));
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
        crate::limits::MAX_RECORDS
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
    if let Some(blind) = no_dns_answers(&obs, ctx) {
        return unjudged(obs, ctx, blind);
    }
    let mut findings = Vec::new();
    let records = dns::judge(&obs, &mut findings);
    let policy = policy::judge(&obs, ctx, records.sts_in_use(), &mut findings);
    let applied = policy.as_ref().and_then(|p| p.policy.as_ref());
    mx::judge(&obs, ctx, applied, &mut findings);
    if obs.deadline_hit {
        findings.push(Finding::new(
            Check::AuditDeadline,
            Subject::Vantage,
            format!("the audit of {} reached its deadline after {:.1}s; operations still running were cut short", obs.domain, obs.elapsed.as_secs_f64()),
        ));
    }
    unchecked(&obs, &mut findings);

    let mx = mx_reports(&obs, &findings, applied, ctx);
    let readiness = domain_readiness(&obs, &findings, &mx);
    if let Some(applied) = applied {
        policy::judge_mode(applied, Some(&readiness), &mut findings);
        if applied.mode == Mode::Enforce {
            findings.extend(readiness::refused_now(&obs, &findings, &mx));
        }
    }
    let findings = finish(&obs, findings);
    let mx = mx_reports(&obs, &findings, applied, ctx);
    let (fetches, served) = fetch_reports(&obs, ctx);

    DomainReport {
        unicode: names::unicode(&obs.domain),
        sts_record: records.sts,
        tlsrpt_record: records.tlsrpt,
        policy,
        verdict: Verdict::of(&findings),
        findings,
        readiness,
        mx,
        fetches,
        served,
        judged_at: ctx.now,
        observations: obs,
    }
}

/// Plan mode: adds to the report of the planned state the findings of the change from
/// `live`, what senders see now.
pub fn transition(report: &mut DomainReport, live: &Snapshot) {
    let planned = Snapshot::of(report);
    let found = transition::judge(live, &planned, &report.readiness, report.judged_at);
    add(report, found);
}

/// `--state`: adds to the report the findings of the change from `before`, the last
/// run's snapshot, to `now_seen`, this report's.
pub fn drift(
    report: &mut DomainReport,
    before: &Snapshot,
    now_seen: &Snapshot,
    expiry_warning_days: u32,
) {
    let found = drift::judge(before, now_seen, report.judged_at, expiry_warning_days);
    add(report, found);
}

/// `report` with `more` findings, placed and named as the judge places and names its own,
/// and the verdict they make: for callers that know more than the observations say
/// (`mtasts init` about its draft).
pub fn with_findings(mut report: DomainReport, more: Vec<Finding>) -> DomainReport {
    add(&mut report, more);
    report
}

/// Adds findings to a judged report: in report order, on the addresses they are about,
/// and in the verdict. They have no bearing on readiness (no result-type).
fn add(report: &mut DomainReport, extra: Vec<Finding>) {
    if extra.is_empty() {
        return;
    }
    let hosts = report.observations.mx_hosts.iter().zip(&mut report.mx);
    for (host, mx) in hosts {
        for address in &mut mx.addresses {
            let here = readiness::findings_at(&extra, &host.name, address.addr);
            address.checks.extend(here.iter().map(|f| f.check));
        }
    }
    let mut findings = std::mem::take(&mut report.findings);
    findings.extend(extra);
    report.findings = finish(&report.observations, findings);
    report.verdict = Verdict::of(&report.findings);
}

/// When every lookup of the domain failed, one finding for the cause instead of one per
/// lookup: this network gets no DNS answers at all (the resolver was silent for the root
/// zone too), or the domain's own nameservers fail while the resolver answers for others.
fn no_dns_answers(obs: &Observations, ctx: &Context<'_>) -> Option<Finding> {
    let failures = [
        failure(&obs.sts.answer),
        failure(&obs.tlsrpt.answer),
        failure(&obs.mx.answer),
    ];
    let [Some(first), ..] = &failures else {
        return None;
    };
    if failures.iter().any(Option::is_none) {
        return None;
    }
    let domain = &obs.domain;
    Some(match &ctx.dns_silent {
        Some(silent) => Finding::new(
            Check::VantageDnsUnreachable,
            Subject::Vantage,
            format!("{silent}: is this machine online? Every lookup for {domain} failed too ({first}), so nothing about {domain} could be checked"),
        ),
        None => Finding::new(
            Check::DnsError,
            Subject::MxRecords,
            format!("every lookup for {domain} failed ({first}) while the resolver answers for other names: the nameservers of {domain} do not answer for it"),
        )
        .with_fix(format!("Check the delegation of {domain} and that its nameservers answer (and, if it is DNSSEC-signed, that the signatures are valid), then audit again.")),
    })
}

fn failure<T>(answer: &DnsAnswer<T>) -> Option<String> {
    match answer {
        DnsAnswer::Failed(why) => Some(why.to_string()),
        _ => None,
    }
}

/// The report of a domain that could not be judged, with the one finding that says why.
fn unjudged(obs: Observations, ctx: &Context<'_>, why: Finding) -> DomainReport {
    let findings = finish(&obs, vec![why]);
    let mx = mx_reports(&obs, &findings, None, ctx);
    let (fetches, served) = fetch_reports(&obs, ctx);
    DomainReport {
        unicode: names::unicode(&obs.domain),
        sts_record: None,
        tlsrpt_record: None,
        policy: None,
        verdict: Verdict::of(&findings),
        readiness: domain_readiness(&obs, &findings, &mx),
        findings,
        mx,
        fetches,
        served,
        judged_at: ctx.now,
        observations: obs,
    }
}

/// Every MX host judged: the pattern covering it, and each probed address with its
/// verdict, readiness, checks and certificates.
fn mx_reports(
    obs: &Observations,
    findings: &[Finding],
    policy: Option<&crate::policy::Policy>,
    ctx: &Context<'_>,
) -> Vec<MxReport> {
    obs.mx_hosts
        .iter()
        .map(|host| MxReport {
            matched_pattern: policy
                .and_then(|p| p.matching_pattern(&host.name))
                .map(str::to_string),
            addresses: host
                .probes
                .iter()
                .filter_map(|probe| {
                    let addr = probe.addr?;
                    let here = readiness::findings_at(findings, &host.name, addr);
                    Some(AddressReport {
                        addr,
                        verdict: Verdict::of_all(here.iter().copied()),
                        readiness: readiness::at_address(&obs.domain, probe, &here, findings),
                        checks: here.iter().map(|f| f.check).collect(),
                        certificates: certificates(presented(probe), ctx),
                    })
                })
                .collect(),
        })
        .collect()
}

fn domain_readiness(obs: &Observations, findings: &[Finding], mx: &[MxReport]) -> Readiness {
    let addresses = mx.iter().flat_map(|m| &m.addresses).map(|a| &a.readiness);
    readiness::domain(obs, findings, addresses)
}

/// The chain an MX address presented: in the TLS handshake, or else in the legacy one.
fn presented(probe: &crate::observe::SmtpProbe) -> &[Vec<u8>] {
    match (&probe.tls, &probe.legacy) {
        (Some(tls), _) if !tls.chain.is_empty() => &tls.chain,
        (_, Some(crate::observe::LegacyHello::ServerHello { chain, .. })) => chain,
        _ => &[],
    }
}

/// Every policy fetch judged, and which one served the body judged.
fn fetch_reports(obs: &Observations, ctx: &Context<'_>) -> (Vec<FetchReport>, Option<usize>) {
    let PolicySource::Fetched(f) = &obs.policy else {
        return (vec![], None);
    };
    let reports = f
        .fetches
        .iter()
        .chain(&f.browser)
        .map(|fetch| FetchReport {
            certificates: fetch
                .tls
                .as_ref()
                .map(|t| certificates(&t.chain, ctx))
                .unwrap_or_default(),
        })
        .collect();
    (reports, policy::served_index(f))
}

/// The certificates of a chain that parse, as reports show them.
fn certificates(chain: &[Vec<u8>], ctx: &Context<'_>) -> Vec<Certificate> {
    chain
        .iter()
        .filter_map(|der| ctx.certs.summarize(der))
        .map(|summary| Certificate {
            days_left: dates::days_left(summary.not_after, ctx.now),
            summary,
        })
        .collect()
}

/// The findings as reported: each message names its subject, so that a grep of the output
/// keeps the "where", and they are sorted by stage, subject, severity (worst first) and
/// id, so that every output is stable.
fn finish(obs: &Observations, mut findings: Vec<Finding>) -> Vec<Finding> {
    for f in &mut findings {
        name_subject(f, &obs.domain);
    }
    findings.sort_by_cached_key(|f| {
        (
            subject_order(obs, &f.subject),
            std::cmp::Reverse(f.severity()),
            f.check.id(),
        )
    });
    findings
}

/// Prefixes the message with where it happened, unless it already says so.
fn name_subject(f: &mut Finding, domain: &str) {
    if f.subject == Subject::Vantage {
        return;
    }
    let place = f.subject.place(domain);
    if !f.message.contains(&place) {
        f.message = format!("{place}: {}", f.message);
    }
}

/// Where a subject comes in a report: by stage, then in the order the audit met it (MX
/// hosts by preference, addresses as resolved), the host or policy itself before its
/// addresses.
fn subject_order(obs: &Observations, subject: &Subject) -> (usize, usize, usize) {
    let position = |addrs: Vec<IpAddr>, addr: &Option<IpAddr>| match addr {
        None => 0,
        Some(a) => addrs
            .iter()
            .position(|x| x == a)
            .map_or(usize::MAX, |i| i + 1),
    };
    match subject {
        Subject::StsRecord => (0, 0, 0),
        Subject::TlsRptRecord => (1, 0, 0),
        Subject::MxRecords => (2, 0, 0),
        Subject::Policy { addr } => {
            let addrs = match &obs.policy {
                PolicySource::Fetched(f) => f.fetches.iter().map(|f| f.addr).collect(),
                PolicySource::Draft { .. } => vec![],
            };
            (3, 0, position(addrs, addr))
        }
        Subject::Mx { host, addr } => {
            let index = obs.mx_hosts.iter().position(|h| h.name == *host);
            let addrs = index.map_or(vec![], |i| {
                obs.mx_hosts[i]
                    .probes
                    .iter()
                    .filter_map(|p| p.addr)
                    .collect()
            });
            (4, index.unwrap_or(usize::MAX), position(addrs, addr))
        }
        Subject::Vantage => (5, 0, 0),
    }
}

/// Whether a probe failed only because this network has no route for its family.
fn family_unreachable(failure: &Option<(Step, ProbeFailure)>) -> bool {
    matches!(
        failure,
        Some((Step::Connect, ProbeFailure::NetworkUnreachable))
    )
}
