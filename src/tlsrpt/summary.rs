//! Reports → one [`Summary`] across every input: sessions per policy domain and type, per
//! MX host, receiving IP, result-type and sending organisation, over the whole date range;
//! the failure details with their evidence; each report counted once, however often it was
//! read.
//!
//! A [`Builder`] takes the reports one at a time, so that only the tallies stay in memory;
//! each tally keeps at most [`MAX_DISTINCT_ROWS`] rows, and what falls past that is in the
//! totals only, with a `report-limit` finding saying so.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::{FailureDetail, InputError, Note, Report, checks_for, registered, severity};
use crate::checks::Check;
use crate::checks::Severity;

/// Failure details listed, the most failed sessions first; the rest are counted.
pub const FAILURES_LISTED: usize = 20;
/// Rows kept per table of the summary (domains, MX hosts, IPs, result-types,
/// organisations, failure details).
pub const MAX_DISTINCT_ROWS: usize = 10_000;
/// Distinct policy-strings and mx-host patterns kept per policy row: senders that cached
/// an older policy show as a second version.
pub const POLICY_VERSIONS_KEPT: usize = 8;

/// What all the inputs say together.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// In the order given.
    pub inputs: Vec<InputSummary>,
    /// Every report read, in the order read, duplicates included (and marked).
    pub reports: Vec<ReportRow>,
    /// The earliest start and the latest end, unix seconds.
    pub range: Option<(i64, i64)>,
    /// Sessions over all distinct reports, as their summaries count them.
    pub successful: u64,
    pub failed: u64,
    pub policies: Vec<PolicyRow>,
    /// Failed sessions per `receiving-mx-hostname`.
    pub mx_hosts: Vec<Tallied>,
    /// Failed sessions per `receiving-ip`.
    pub receiving_ips: Vec<Tallied>,
    pub result_types: Vec<ResultTypeRow>,
    pub organizations: Vec<OrganizationRow>,
    /// The first [`FAILURES_LISTED`] failure details, alike ones merged.
    pub failures: Vec<FailureRow>,
    /// The failure details not listed.
    pub failures_not_listed: Unlisted,
    /// What the reports' notes, the duplicates and the limits say.
    pub findings: Vec<ReportFinding>,
}

/// One input and what came of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputSummary {
    /// As given (`-` for standard input).
    pub path: String,
    /// Reports read from it, duplicates included.
    pub reports: usize,
    pub duplicates: usize,
    /// What in it could not be read.
    pub errors: Vec<InputError>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    pub path: String,
    pub place: Option<String>,
    pub organization: String,
    pub report_id: String,
    pub contact: Option<String>,
    pub start: i64,
    pub end: i64,
    pub successful: u64,
    pub failed: u64,
    /// Read before (same `report-id` and `organization-name`): not counted again.
    pub duplicate: bool,
}

/// Sessions under one policy domain and policy type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRow {
    /// `None`: the reports gave no policy-domain.
    pub domain: Option<String>,
    pub policy_type: String,
    pub reports: usize,
    pub successful: u64,
    /// As the reports' summaries count them.
    pub failed: u64,
    /// As their failure details add up (differs from `failed` when a report disagrees with
    /// itself).
    pub detailed: u64,
    /// The distinct `policy-string`s the senders applied (at most
    /// [`POLICY_VERSIONS_KEPT`]), in the order first seen.
    pub policy_strings: Vec<Vec<String>>,
    /// The distinct `mx-host` patterns (at most [`POLICY_VERSIONS_KEPT`]).
    pub mx_hosts: Vec<String>,
    /// Failed sessions per result-type, as the failure details under this policy add
    /// them up, by result-type.
    pub failed_by_result_type: Vec<(String, u64)>,
}

/// Failed sessions of one name (an MX host, an IP address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tallied {
    pub name: String,
    pub failed: u64,
}

/// Failed sessions of one result-type, and what would reproduce them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultTypeRow {
    pub result_type: String,
    /// In the IANA registry (RFC 8460 §6.6).
    pub registered: bool,
    /// See [`super::severity`].
    pub severity: Severity,
    pub failed: u64,
    /// The checks of `mtasts check` whose failure makes senders report this result-type.
    pub checks: Vec<Check>,
    /// The policy domains it was reported for.
    pub domains: Vec<String>,
    /// The organisations that reported it.
    pub organizations: Vec<String>,
}

impl ResultTypeRow {
    /// `mtasts check DOMAIN` for each domain it was reported for, when some check could
    /// reproduce it; a domain that `mtasts check` would refuse gets none.
    pub fn commands(&self) -> Vec<String> {
        if self.checks.is_empty() {
            return Vec::new();
        }
        self.domains
            .iter()
            .filter_map(|d| crate::input::domain(d).ok())
            .map(|d| format!("mtasts check {d}"))
            .collect()
    }
}

/// Sessions one sending organisation reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationRow {
    pub name: String,
    pub reports: usize,
    pub successful: u64,
    pub failed: u64,
}

/// One failure detail with its evidence, summed over the reports that list it alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureRow {
    /// Its `failed` is the sum.
    pub detail: FailureDetail,
    pub severity: Severity,
    pub policy_domain: Option<String>,
    pub organization: String,
    /// Reports that list it.
    pub reports: usize,
}

/// What is counted but not listed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unlisted {
    pub rows: usize,
    pub sessions: u64,
}

/// A finding about one report (a note of its own, or a duplicate), or about the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFinding {
    pub check: Check,
    /// The input it was read from; `None` for the summary as a whole.
    pub path: Option<String>,
    pub place: Option<String>,
    pub report_id: Option<String>,
    pub organization: Option<String>,
    pub message: String,
}

impl ReportFinding {
    pub fn severity(&self) -> Severity {
        self.check.info().severity
    }
}

impl Summary {
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// The worst severity of what the reports say: their failed sessions (by result-type)
    /// and their findings. Inputs that could not be read are not in it (see
    /// [`Summary::unreadable`]).
    pub fn worst(&self) -> Option<Severity> {
        let failures = self
            .result_types
            .iter()
            .filter(|r| r.failed > 0)
            .map(|r| r.severity);
        failures
            .chain(self.findings.iter().map(ReportFinding::severity))
            .max()
    }

    /// Whether some input, or something in one, could not be read.
    pub fn unreadable(&self) -> bool {
        self.inputs.iter().any(|i| !i.errors.is_empty())
    }

    /// Distinct reports counted.
    pub fn distinct(&self) -> usize {
        self.reports.iter().filter(|r| !r.duplicate).count()
    }
}

/// Rows by key, at most [`MAX_DISTINCT_ROWS`] of them.
struct Tally<K, V> {
    rows: BTreeMap<K, V>,
    /// Something did not fit.
    full: bool,
}

impl<K, V> Default for Tally<K, V> {
    fn default() -> Self {
        Tally {
            rows: BTreeMap::new(),
            full: false,
        }
    }
}

impl<K: Ord, V: Default> Tally<K, V> {
    /// The row of `key`, made when there is room.
    fn row(&mut self, key: K) -> Option<&mut V> {
        if self.rows.len() >= MAX_DISTINCT_ROWS && !self.rows.contains_key(&key) {
            self.full = true;
            return None;
        }
        Some(self.rows.entry(key).or_default())
    }
}

fn insert_bounded(set: &mut BTreeSet<String>, value: &str) {
    if set.len() < MAX_DISTINCT_ROWS {
        set.insert(value.to_string());
    }
}

#[derive(Default)]
struct PolicyAcc {
    reports: usize,
    successful: u64,
    failed: u64,
    detailed: u64,
    policy_strings: Vec<Vec<String>>,
    mx_hosts: Vec<String>,
}

/// Adds `value` to `kept` unless it is there or [`POLICY_VERSIONS_KEPT`] are.
fn keep<T: PartialEq + Clone>(kept: &mut Vec<T>, value: &T) {
    if kept.len() < POLICY_VERSIONS_KEPT && !kept.contains(value) {
        kept.push(value.clone());
    }
}

#[derive(Default)]
struct ResultTypeAcc {
    failed: u64,
    domains: BTreeSet<String>,
    organizations: BTreeSet<String>,
}

#[derive(Default)]
struct OrganizationAcc {
    reports: usize,
    successful: u64,
    failed: u64,
}

/// A policy's (policy-domain, policy-type).
type PolicyKey = (Option<String>, String);

/// What makes two failure details alike: everything but the count.
type FailureKey = (String, Option<String>, FailureDetail);

#[derive(Default)]
struct FailureAcc {
    failed: u64,
    reports: usize,
}

/// Takes inputs and their reports one at a time; [`Builder::finish`] makes the summary.
#[derive(Default)]
pub struct Builder {
    inputs: Vec<InputSummary>,
    reports: Vec<ReportRow>,
    /// (organization-name, report-id) → where it was first read.
    seen: HashMap<(String, String), String>,
    range: Option<(i64, i64)>,
    successful: u64,
    failed: u64,
    policies: Tally<PolicyKey, PolicyAcc>,
    /// (policy-domain, policy-type, result-type) → failed sessions.
    policy_results: Tally<(Option<String>, String, String), u64>,
    mx_hosts: Tally<String, u64>,
    receiving_ips: Tally<String, u64>,
    result_types: Tally<String, ResultTypeAcc>,
    organizations: Tally<String, OrganizationAcc>,
    failures: Tally<FailureKey, FailureAcc>,
    findings: Vec<ReportFinding>,
}

impl Builder {
    /// Starts the next input: what [`Builder::add`] takes next came from `path`.
    pub fn begin(&mut self, path: &str) {
        self.inputs.push(InputSummary {
            path: path.to_string(),
            reports: 0,
            duplicates: 0,
            errors: Vec::new(),
        });
    }

    /// One report of the current input, or why something in it could not be read.
    pub fn add(&mut self, item: Result<Report, InputError>) {
        let Some(input) = self.inputs.last_mut() else {
            return;
        };
        let report = match item {
            Ok(report) => report,
            Err(e) => {
                input.errors.push(e);
                return;
            }
        };
        input.reports += 1;
        let path = input.path.clone();
        let key = (report.organization.clone(), report.report_id.clone());
        let here = match &report.place {
            Some(place) => format!("{path}, {place}"),
            None => path.clone(),
        };
        let duplicate = match self.seen.get(&key) {
            Some(first) => {
                input.duplicates += 1;
                self.findings.push(ReportFinding {
                    check: Check::ReportDuplicate,
                    path: Some(path.clone()),
                    place: report.place.clone(),
                    report_id: Some(report.report_id.clone()),
                    organization: Some(report.organization.clone()),
                    message: format!(
                        "the report {} from {} was already read from {first}: counted once",
                        report.report_id, report.organization
                    ),
                });
                true
            }
            None => {
                self.seen.insert(key, here);
                false
            }
        };
        self.reports.push(row(&path, &report, duplicate));
        if !duplicate {
            self.count(&path, report);
        }
    }

    /// Adds a distinct report to the tallies.
    fn count(&mut self, path: &str, report: Report) {
        let (successful, failed) = sessions(&report);
        self.successful = self.successful.saturating_add(successful);
        self.failed = self.failed.saturating_add(failed);
        self.range = Some(match self.range {
            Some((start, end)) => (start.min(report.start), end.max(report.end)),
            None => (report.start, report.end),
        });
        if let Some(o) = self.organizations.row(report.organization.clone()) {
            o.reports += 1;
            o.successful = o.successful.saturating_add(successful);
            o.failed = o.failed.saturating_add(failed);
        }
        for policy in &report.policies {
            let key = (policy.policy_domain.clone(), policy.policy_type.clone());
            if let Some(p) = self.policies.row(key) {
                p.reports += 1;
                p.successful = p.successful.saturating_add(policy.successful);
                p.failed = p.failed.saturating_add(policy.failed);
                p.detailed = p.detailed.saturating_add(policy.detailed());
                if !policy.policy_string.is_empty() {
                    keep(&mut p.policy_strings, &policy.policy_string);
                }
                for pattern in &policy.mx_hosts {
                    keep(&mut p.mx_hosts, pattern);
                }
            }
            for detail in &policy.details {
                let key = (
                    policy.policy_domain.clone(),
                    policy.policy_type.clone(),
                    detail.result_type.clone(),
                );
                if let Some(n) = self.policy_results.row(key) {
                    *n = n.saturating_add(detail.failed);
                }
                self.count_detail(
                    &report.organization,
                    policy.policy_domain.as_deref(),
                    detail,
                );
            }
        }
        for note in report.notes {
            self.findings.push(finding(
                path,
                &report.place,
                &report.report_id,
                &report.organization,
                note,
            ));
        }
    }

    fn count_detail(&mut self, organization: &str, domain: Option<&str>, detail: &FailureDetail) {
        if let Some(host) = &detail.receiving_mx_hostname
            && let Some(n) = self.mx_hosts.row(host.clone())
        {
            *n = n.saturating_add(detail.failed);
        }
        if let Some(ip) = &detail.receiving_ip
            && let Some(n) = self.receiving_ips.row(ip.clone())
        {
            *n = n.saturating_add(detail.failed);
        }
        if let Some(r) = self.result_types.row(detail.result_type.clone()) {
            r.failed = r.failed.saturating_add(detail.failed);
            if let Some(d) = domain {
                insert_bounded(&mut r.domains, d);
            }
            insert_bounded(&mut r.organizations, organization);
        }
        let key = (
            organization.to_string(),
            domain.map(String::from),
            FailureDetail {
                failed: 0,
                ..detail.clone()
            },
        );
        if let Some(f) = self.failures.row(key) {
            f.failed = f.failed.saturating_add(detail.failed);
            f.reports += 1;
        }
    }

    pub fn finish(mut self) -> Summary {
        self.limit_findings();
        let mut results: BTreeMap<PolicyKey, Vec<(String, u64)>> = BTreeMap::new();
        for ((domain, policy_type, result_type), n) in self.policy_results.rows {
            let of_policy = results.entry((domain, policy_type)).or_default();
            of_policy.push((result_type, n));
        }
        let mut policies: Vec<PolicyRow> = self
            .policies
            .rows
            .into_iter()
            .map(|((domain, policy_type), p)| PolicyRow {
                failed_by_result_type: results
                    .remove(&(domain.clone(), policy_type.clone()))
                    .unwrap_or_default(),
                domain,
                policy_type,
                reports: p.reports,
                successful: p.successful,
                failed: p.failed,
                detailed: p.detailed,
                policy_strings: p.policy_strings,
                mx_hosts: p.mx_hosts,
            })
            .collect();
        policies.sort_by(|a, b| {
            b.failed
                .cmp(&a.failed)
                .then(b.successful.cmp(&a.successful))
        });
        let mut result_types: Vec<ResultTypeRow> = self
            .result_types
            .rows
            .into_iter()
            .map(|(result_type, r)| ResultTypeRow {
                registered: registered(&result_type),
                severity: severity(&result_type),
                checks: checks_for(&result_type),
                result_type,
                failed: r.failed,
                domains: r.domains.into_iter().collect(),
                organizations: r.organizations.into_iter().collect(),
            })
            .collect();
        result_types.sort_by(|a, b| b.severity.cmp(&a.severity).then(b.failed.cmp(&a.failed)));
        let mut organizations: Vec<OrganizationRow> = self
            .organizations
            .rows
            .into_iter()
            .map(|(name, o)| OrganizationRow {
                name,
                reports: o.reports,
                successful: o.successful,
                failed: o.failed,
            })
            .collect();
        organizations.sort_by(|a, b| b.failed.cmp(&a.failed).then(b.reports.cmp(&a.reports)));
        let (failures, failures_not_listed) = listed(self.failures);
        Summary {
            inputs: self.inputs,
            reports: self.reports,
            range: self.range,
            successful: self.successful,
            failed: self.failed,
            policies,
            mx_hosts: tallied(self.mx_hosts),
            receiving_ips: tallied(self.receiving_ips),
            result_types,
            organizations,
            failures,
            failures_not_listed,
            findings: self.findings,
        }
    }

    /// A `report-limit` finding for each tally that ran out of room.
    fn limit_findings(&mut self) {
        let full = [
            (self.policies.full, "policy domains and types"),
            (
                self.policy_results.full,
                "result-types per policy domain and type",
            ),
            (self.mx_hosts.full, "MX hosts"),
            (self.receiving_ips.full, "receiving IPs"),
            (self.result_types.full, "result-types"),
            (self.organizations.full, "organisations"),
            (self.failures.full, "failure details"),
        ];
        for (_, what) in full.iter().filter(|(full, _)| *full) {
            self.findings.push(ReportFinding {
                check: Check::ReportLimit,
                path: None,
                place: None,
                report_id: None,
                organization: None,
                message: format!(
                    "more than {MAX_DISTINCT_ROWS} distinct {what}: the sessions of the others are in the totals only"
                ),
            });
        }
    }
}

/// A report's sessions, as its policies' summaries count them.
fn sessions(report: &Report) -> (u64, u64) {
    report.policies.iter().fold((0u64, 0u64), |(s, f), p| {
        (s.saturating_add(p.successful), f.saturating_add(p.failed))
    })
}

fn row(path: &str, report: &Report, duplicate: bool) -> ReportRow {
    let (successful, failed) = sessions(report);
    ReportRow {
        path: path.to_string(),
        place: report.place.clone(),
        organization: report.organization.clone(),
        report_id: report.report_id.clone(),
        contact: report.contact.clone(),
        start: report.start,
        end: report.end,
        successful,
        failed,
        duplicate,
    }
}

fn finding(
    path: &str,
    place: &Option<String>,
    report_id: &str,
    organization: &str,
    note: Note,
) -> ReportFinding {
    ReportFinding {
        check: note.check,
        path: Some(path.to_string()),
        place: place.clone(),
        report_id: Some(report_id.to_string()),
        organization: Some(organization.to_string()),
        message: note.message,
    }
}

/// Rows by failed sessions, most first (then by name).
fn tallied(tally: Tally<String, u64>) -> Vec<Tallied> {
    let mut rows: Vec<Tallied> = tally
        .rows
        .into_iter()
        .map(|(name, failed)| Tallied { name, failed })
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.failed));
    rows
}

/// The failure details most worth reading: the worst severity, then the most sessions.
fn listed(tally: Tally<FailureKey, FailureAcc>) -> (Vec<FailureRow>, Unlisted) {
    let mut rows: Vec<FailureRow> = tally
        .rows
        .into_iter()
        .map(|((organization, policy_domain, detail), acc)| FailureRow {
            severity: severity(&detail.result_type),
            detail: FailureDetail {
                failed: acc.failed,
                ..detail
            },
            policy_domain,
            organization,
            reports: acc.reports,
        })
        .collect();
    rows.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.detail.failed.cmp(&a.detail.failed))
    });
    let rest = rows.split_off(rows.len().min(FAILURES_LISTED));
    let unlisted = Unlisted {
        rows: rest.len(),
        sessions: rest
            .iter()
            .fold(0u64, |n, r| n.saturating_add(r.detail.failed)),
    };
    (rows, unlisted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tlsrpt::{PolicyResult, ReadError};

    fn detail(result_type: &str, mx: &str, ip: &str, failed: u64) -> FailureDetail {
        FailureDetail {
            result_type: result_type.into(),
            sending_mta_ip: Some("192.0.2.1".into()),
            receiving_mx_hostname: Some(mx.into()),
            receiving_mx_helo: None,
            receiving_ip: Some(ip.into()),
            failed,
            additional_information: None,
            failure_reason_code: None,
        }
    }

    fn report(
        org: &str,
        id: &str,
        domain: &str,
        successful: u64,
        details: Vec<FailureDetail>,
    ) -> Report {
        let failed = details.iter().map(|d| d.failed).sum();
        Report {
            place: None,
            organization: org.into(),
            contact: None,
            report_id: id.into(),
            start: 1000,
            end: 2000,
            policies: vec![PolicyResult {
                policy_type: "sts".into(),
                policy_domain: Some(domain.into()),
                policy_string: vec!["version: STSv1".into()],
                mx_hosts: vec!["mx1.example.com".into()],
                successful,
                failed,
                details,
            }],
            notes: vec![],
        }
    }

    fn summary(inputs: Vec<(&str, Vec<Result<Report, InputError>>)>) -> Summary {
        let mut b = Summary::builder();
        for (path, items) in inputs {
            b.begin(path);
            for item in items {
                b.add(item);
            }
        }
        b.finish()
    }

    #[test]
    fn sessions_are_summed_per_domain_mx_ip_result_type_and_sender() {
        let expired = detail("certificate-expired", "mx1.example.com", "203.0.113.1", 10);
        let mut late = report("Example Net", "b", "example.com", 50, vec![expired.clone()]);
        late.start = 500;
        late.end = 3000;
        let s = summary(vec![
            (
                "a.json",
                vec![Ok(report(
                    "Example Net",
                    "a",
                    "example.com",
                    100,
                    vec![expired.clone()],
                ))],
            ),
            ("b.json", vec![Ok(late)]),
            (
                "c.json",
                vec![Ok(report(
                    "Example Org",
                    "a",
                    "example.org",
                    7,
                    vec![detail(
                        "starttls-not-supported",
                        "mx.example.org",
                        "203.0.113.2",
                        1,
                    )],
                ))],
            ),
        ]);
        assert_eq!((s.successful, s.failed), (157, 21));
        assert_eq!(s.range, Some((500, 3000)));
        assert_eq!(s.policies[0].domain.as_deref(), Some("example.com"));
        assert_eq!((s.policies[0].reports, s.policies[0].failed), (2, 20));
        assert_eq!(
            s.policies[0].policy_strings,
            [vec!["version: STSv1".to_string()]]
        );
        assert_eq!(s.policies[0].mx_hosts, ["mx1.example.com"]);
        assert_eq!(
            s.policies[0].failed_by_result_type,
            [("certificate-expired".to_string(), 20)]
        );
        assert_eq!(
            s.policies[1].failed_by_result_type,
            [("starttls-not-supported".to_string(), 1)]
        );
        assert_eq!(
            s.mx_hosts[0],
            Tallied {
                name: "mx1.example.com".into(),
                failed: 20
            }
        );
        assert_eq!(s.receiving_ips.len(), 2);
        let expired_row = &s.result_types[0];
        assert_eq!(expired_row.result_type, "certificate-expired");
        assert_eq!(expired_row.checks, [Check::SmtpCertExpired]);
        assert_eq!(expired_row.severity, Severity::Error);
        assert_eq!(expired_row.commands(), ["mtasts check example.com"]);
        assert_eq!(s.organizations[0].name, "Example Net");
        assert_eq!(s.organizations[0].reports, 2);
        // The same detail in two reports is one row of 20 sessions.
        assert_eq!(s.failures[0].detail.failed, 20);
        assert_eq!(s.failures[0].reports, 2);
        assert_eq!(s.worst(), Some(Severity::Error));
        assert!(!s.unreadable());
    }

    #[test]
    fn a_report_read_twice_counts_once_and_is_said_so() {
        let r = report("Example Net", "a", "example.com", 100, vec![]);
        let s = summary(vec![
            ("a.json", vec![Ok(r.clone())]),
            ("copy.json", vec![Ok(r)]),
        ]);
        assert_eq!(s.successful, 100);
        assert_eq!(s.distinct(), 1);
        assert_eq!(s.reports.len(), 2);
        assert!(s.reports[1].duplicate);
        assert_eq!(s.inputs[1].duplicates, 1);
        assert_eq!(s.findings.len(), 1);
        assert_eq!(s.findings[0].check, Check::ReportDuplicate);
        assert_eq!(
            s.findings[0].message,
            "the report a from Example Net was already read from a.json: counted once"
        );
        assert_eq!(s.worst(), Some(Severity::Info));
    }

    #[test]
    fn errors_stay_with_their_input_and_the_others_count() {
        let s = summary(vec![
            ("bad.json", vec![Err(InputError::whole(ReadError::Empty))]),
            (
                "good.json",
                vec![Ok(report("Example Net", "a", "example.com", 5, vec![]))],
            ),
        ]);
        assert!(s.unreadable());
        assert_eq!(s.inputs[0].errors.len(), 1);
        assert_eq!(s.successful, 5);
        assert_eq!(s.worst(), None);
    }

    #[test]
    fn unregistered_result_types_are_warnings_and_name_no_command() {
        let s = summary(vec![(
            "a.json",
            vec![Ok(report(
                "X",
                "a",
                "example.com",
                0,
                vec![detail(
                    "tls-ancient-failure",
                    "mx.example.com",
                    "203.0.113.1",
                    2,
                )],
            ))],
        )]);
        let row = &s.result_types[0];
        assert!(!row.registered);
        assert_eq!(row.severity, Severity::Warning);
        assert_eq!(row.commands(), Vec::<String>::new());
        assert_eq!(s.worst(), Some(Severity::Warning));
    }

    #[test]
    fn failures_past_the_listing_are_counted() {
        let details: Vec<FailureDetail> = (0..FAILURES_LISTED + 3)
            .map(|i| {
                detail(
                    "certificate-expired",
                    "mx.example.com",
                    &format!("203.0.113.{i}"),
                    1 + i as u64,
                )
            })
            .collect();
        let s = summary(vec![(
            "a.json",
            vec![Ok(report("X", "a", "example.com", 0, details))],
        )]);
        assert_eq!(s.failures.len(), FAILURES_LISTED);
        assert_eq!(s.failures[0].detail.failed, FAILURES_LISTED as u64 + 3);
        assert_eq!(
            s.failures_not_listed,
            Unlisted {
                rows: 3,
                sessions: 1 + 2 + 3
            }
        );
    }

    #[test]
    fn a_full_tally_is_a_limit_finding() {
        let details: Vec<FailureDetail> = (0..=MAX_DISTINCT_ROWS)
            .map(|i| {
                detail(
                    "certificate-expired",
                    &format!("mx{i}.example.com"),
                    "203.0.113.1",
                    1,
                )
            })
            .collect();
        let s = summary(vec![(
            "a.json",
            vec![Ok(report("X", "a", "example.com", 0, details))],
        )]);
        assert_eq!(s.mx_hosts.len(), MAX_DISTINCT_ROWS);
        assert_eq!(
            s.failed,
            MAX_DISTINCT_ROWS as u64 + 1,
            "the totals keep everything"
        );
        let limits: Vec<&str> = s
            .findings
            .iter()
            .filter(|f| f.check == Check::ReportLimit)
            .map(|f| f.message.as_str())
            .collect();
        assert_eq!(
            limits,
            [
                "more than 10000 distinct MX hosts: the sessions of the others are in the totals only",
                "more than 10000 distinct failure details: the sessions of the others are in the totals only",
            ]
        );
    }

    #[test]
    fn commands_are_only_for_domains_mtasts_check_takes() {
        let row = ResultTypeRow {
            result_type: "certificate-expired".into(),
            registered: true,
            severity: Severity::Error,
            failed: 1,
            checks: vec![Check::SmtpCertExpired],
            domains: vec![
                "example.com".into(),
                "192.0.2.1".into(),
                "bad domain; rm -rf".into(),
            ],
            organizations: vec![],
        };
        assert_eq!(row.commands(), ["mtasts check example.com"]);
    }
}
