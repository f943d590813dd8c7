//! `mtasts report --format json`: one document, its own schema (version below), specified
//! in the README. As for `check`, these structs are the schema, frozen apart from the
//! model: additions are backwards compatible, renaming or removing a field needs a new
//! `schema_version`. Text from the reports is kept as data (written by [`encode`]).

use std::io::{self, Write};

use serde::Serialize;

use crate::checks::Severity;
use crate::dates;
use crate::finding::Verdict;
use crate::report::json::{Tool, encode, tool};
use crate::tlsrpt::summary::{
    FailureRow, InputSummary, OrganizationRow, PolicyRow, ReportFinding, ReportRow, ResultTypeRow,
    Tallied,
};
use crate::tlsrpt::{InputError, Summary};

/// The report document's own version: 1, the first.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Document<'a> {
    schema_version: u32,
    tool: Tool,
    totals: Totals,
    inputs: Vec<InputJson<'a>>,
    reports: Vec<ReportJson<'a>>,
    policies: Vec<PolicyJson<'a>>,
    mx_hosts: Vec<MxHostJson<'a>>,
    receiving_ips: Vec<ReceivingIpJson<'a>>,
    result_types: Vec<ResultTypeJson<'a>>,
    organizations: Vec<OrganizationJson<'a>>,
    failures: Vec<FailureJson<'a>>,
    findings: Vec<FindingJson<'a>>,
}

/// What the reports say in all.
#[derive(Serialize)]
pub(super) struct Totals {
    verdict: Verdict,
    /// The worst severity of the failed sessions and findings, or null.
    severity: Option<Severity>,
    /// Distinct reports counted.
    reports: usize,
    /// Reports read again and not counted.
    duplicates: usize,
    /// The earliest start-datetime and the latest end-datetime (RFC 3339), or null.
    start: Option<String>,
    end: Option<String>,
    successful: u64,
    failed: u64,
    /// Failure details counted but not in `failures`.
    failures_not_listed: NotListed,
}

#[derive(Serialize)]
struct NotListed {
    rows: usize,
    sessions: u64,
}

#[derive(Serialize)]
pub(super) struct InputJson<'a> {
    path: &'a str,
    reports: usize,
    duplicates: usize,
    errors: Vec<ErrorJson<'a>>,
}

/// Something in an input that could not be read.
#[derive(Serialize)]
pub(super) struct ErrorJson<'a> {
    /// `report-unreadable` or `report-limit`.
    id: &'static str,
    severity: Severity,
    /// What kind of error, e.g. `truncated`, `dmarc-report`, `report-too-large`.
    kind: &'static str,
    /// Where in the input (e.g. "message 2, part 2 (application/tlsrpt+gzip)"), or null.
    place: Option<&'a str>,
    message: String,
}

#[derive(Serialize)]
pub(super) struct ReportJson<'a> {
    path: &'a str,
    place: Option<&'a str>,
    organization: &'a str,
    report_id: &'a str,
    contact: Option<&'a str>,
    start: String,
    end: String,
    successful: u64,
    failed: u64,
    duplicate: bool,
}

#[derive(Serialize)]
pub(super) struct PolicyJson<'a> {
    policy_domain: Option<&'a str>,
    policy_type: &'a str,
    reports: usize,
    successful: u64,
    /// As the reports' summaries count them.
    failed: u64,
    /// As their failure details add up.
    failed_in_details: u64,
    /// The distinct policy-strings senders applied (a second one: some had cached an
    /// older policy).
    policy_strings: &'a [Vec<String>],
    /// The distinct mx-host patterns.
    mx_hosts: &'a [String],
}

#[derive(Serialize)]
pub(super) struct MxHostJson<'a> {
    host: &'a str,
    failed: u64,
}

#[derive(Serialize)]
pub(super) struct ReceivingIpJson<'a> {
    ip: &'a str,
    failed: u64,
}

#[derive(Serialize)]
pub(super) struct ResultTypeJson<'a> {
    result_type: &'a str,
    registered: bool,
    severity: Severity,
    failed: u64,
    /// The check ids of `mtasts check` that make senders report it.
    checks: Vec<&'static str>,
    /// `mtasts check DOMAIN`, one per policy domain it was reported for.
    commands: Vec<String>,
    policy_domains: &'a [String],
    organizations: &'a [String],
}

#[derive(Serialize)]
pub(super) struct OrganizationJson<'a> {
    name: &'a str,
    reports: usize,
    successful: u64,
    failed: u64,
}

#[derive(Serialize)]
pub(super) struct FailureJson<'a> {
    result_type: &'a str,
    severity: Severity,
    failed: u64,
    reports: usize,
    policy_domain: Option<&'a str>,
    organization: &'a str,
    sending_mta_ip: Option<&'a str>,
    receiving_mx_hostname: Option<&'a str>,
    receiving_mx_helo: Option<&'a str>,
    receiving_ip: Option<&'a str>,
    additional_information: Option<&'a str>,
    failure_reason_code: Option<&'a str>,
}

#[derive(Serialize)]
pub(super) struct FindingJson<'a> {
    id: &'static str,
    severity: Severity,
    /// The input, or null for the summary as a whole.
    path: Option<&'a str>,
    place: Option<&'a str>,
    report_id: Option<&'a str>,
    organization: Option<&'a str>,
    message: &'a str,
    hint: &'static str,
    rfc: &'static str,
}

pub fn render(summary: &Summary, out: &mut impl Write) -> io::Result<()> {
    let doc = Document {
        schema_version: SCHEMA_VERSION,
        tool: tool(),
        totals: totals(summary),
        inputs: summary.inputs.iter().map(input).collect(),
        reports: summary.reports.iter().map(report).collect(),
        policies: summary.policies.iter().map(policy).collect(),
        mx_hosts: summary.mx_hosts.iter().map(mx_host).collect(),
        receiving_ips: summary.receiving_ips.iter().map(receiving_ip).collect(),
        result_types: summary.result_types.iter().map(result_type).collect(),
        organizations: summary.organizations.iter().map(organization).collect(),
        failures: summary.failures.iter().map(failure).collect(),
        findings: summary.findings.iter().map(finding).collect(),
    };
    writeln!(out, "{}", encode(&doc, true)?)
}

pub(super) fn totals(s: &Summary) -> Totals {
    Totals {
        verdict: super::verdict(s),
        severity: s.worst(),
        reports: s.distinct(),
        duplicates: s.reports.len() - s.distinct(),
        start: s.range.map(|(start, _)| dates::rfc3339(start)),
        end: s.range.map(|(_, end)| dates::rfc3339(end)),
        successful: s.successful,
        failed: s.failed,
        failures_not_listed: NotListed {
            rows: s.failures_not_listed.rows,
            sessions: s.failures_not_listed.sessions,
        },
    }
}

pub(super) fn input(i: &InputSummary) -> InputJson<'_> {
    InputJson {
        path: &i.path,
        reports: i.reports,
        duplicates: i.duplicates,
        errors: i.errors.iter().map(error).collect(),
    }
}

fn error(e: &InputError) -> ErrorJson<'_> {
    let check = e.error.check();
    ErrorJson {
        id: check.id(),
        severity: check.info().severity,
        kind: e.error.kind(),
        place: e.place.as_deref(),
        message: e.error.to_string(),
    }
}

pub(super) fn report(r: &ReportRow) -> ReportJson<'_> {
    ReportJson {
        path: &r.path,
        place: r.place.as_deref(),
        organization: &r.organization,
        report_id: &r.report_id,
        contact: r.contact.as_deref(),
        start: dates::rfc3339(r.start),
        end: dates::rfc3339(r.end),
        successful: r.successful,
        failed: r.failed,
        duplicate: r.duplicate,
    }
}

pub(super) fn policy(p: &PolicyRow) -> PolicyJson<'_> {
    PolicyJson {
        policy_domain: p.domain.as_deref(),
        policy_type: &p.policy_type,
        reports: p.reports,
        successful: p.successful,
        failed: p.failed,
        failed_in_details: p.detailed,
        policy_strings: &p.policy_strings,
        mx_hosts: &p.mx_hosts,
    }
}

pub(super) fn mx_host(t: &Tallied) -> MxHostJson<'_> {
    MxHostJson {
        host: &t.name,
        failed: t.failed,
    }
}

pub(super) fn receiving_ip(t: &Tallied) -> ReceivingIpJson<'_> {
    ReceivingIpJson {
        ip: &t.name,
        failed: t.failed,
    }
}

pub(super) fn result_type(r: &ResultTypeRow) -> ResultTypeJson<'_> {
    ResultTypeJson {
        result_type: &r.result_type,
        registered: r.registered,
        severity: r.severity,
        failed: r.failed,
        checks: r.checks.iter().map(|c| c.id()).collect(),
        commands: r.commands(),
        policy_domains: &r.domains,
        organizations: &r.organizations,
    }
}

pub(super) fn organization(o: &OrganizationRow) -> OrganizationJson<'_> {
    OrganizationJson {
        name: &o.name,
        reports: o.reports,
        successful: o.successful,
        failed: o.failed,
    }
}

pub(super) fn failure(f: &FailureRow) -> FailureJson<'_> {
    let d = &f.detail;
    FailureJson {
        result_type: &d.result_type,
        severity: f.severity,
        failed: d.failed,
        reports: f.reports,
        policy_domain: f.policy_domain.as_deref(),
        organization: &f.organization,
        sending_mta_ip: d.sending_mta_ip.as_deref(),
        receiving_mx_hostname: d.receiving_mx_hostname.as_deref(),
        receiving_mx_helo: d.receiving_mx_helo.as_deref(),
        receiving_ip: d.receiving_ip.as_deref(),
        additional_information: d.additional_information.as_deref(),
        failure_reason_code: d.failure_reason_code.as_deref(),
    }
}

pub(super) fn finding(f: &ReportFinding) -> FindingJson<'_> {
    let info = f.check.info();
    FindingJson {
        id: info.id,
        severity: info.severity,
        path: f.path.as_deref(),
        place: f.place.as_deref(),
        report_id: f.report_id.as_deref(),
        organization: f.organization.as_deref(),
        message: &f.message,
        hint: info.hint,
        rfc: info.rfc,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_a_report_says_acts_on_a_terminal_that_shows_the_document() {
        // Found by the `report` fuzz target: DEL (and C1 controls, bidi overrides), which
        // JSON allows raw, in the part types of a mail message named in an error.
        let mail = "Subject: x\r\nContent-Type: text/x\x7f\u{9b}\u{202e}\r\n\r\nbody\r\n";
        let mut b = Summary::builder();
        b.begin("mail.eml");
        crate::tlsrpt::read(mail.as_bytes(), None).for_each(|r| b.add(r));
        let mut out = Vec::new();
        render(&b.finish(), &mut out).expect("in memory");
        let text = String::from_utf8(out).expect("UTF-8");
        assert!(text.contains(r"text/x\u007f\u009b\u202e"), "{text}");
        assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{text}");
    }

    #[test]
    fn the_document_keeps_text_as_data_and_says_its_schema() {
        let mut out = Vec::new();
        render(&super::super::tests::hostile(), &mut out).expect("in memory");
        let doc: serde_json::Value = serde_json::from_slice(&out).expect("JSON");
        assert_eq!(doc["schema_version"], SCHEMA_VERSION);
        assert_eq!(doc["totals"]["verdict"], "fail");
        assert_eq!(doc["totals"]["severity"], "error");
        assert_eq!(doc["totals"]["duplicates"], 1);
        assert_eq!(doc["reports"][0]["organization"], "Evil\u{1b}[2J Corp");
        assert_eq!(doc["result_types"][0]["checks"][0], "smtp-cert-expired");
        assert_eq!(
            doc["result_types"][0]["commands"][0],
            "mtasts check example.com"
        );
        assert_eq!(
            doc["failures"][0]["receiving_mx_hostname"],
            "mx\r.example.com"
        );
        assert_eq!(doc["inputs"][2]["errors"][0]["id"], "report-unreadable");
        assert_eq!(doc["inputs"][2]["errors"][0]["kind"], "truncated");
        let ids: Vec<&str> = doc["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter_map(|f| f["id"].as_str())
            .collect();
        assert_eq!(ids, ["report-count-string", "report-duplicate"]);
    }
}
