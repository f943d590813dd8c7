//! TLS-RPT aggregate reports (RFC 8460 §4), read the way a receiving domain gets them, and
//! summed up across many. Pure: bytes in, values out; the CLI reads the files.
//!
//! ```text
//!   one input's bytes ──unpack──► report bodies ──parse──► Report ──summary──► Summary
//!   JSON, gzip, a mail             (JSON, inflated,     tolerant of what     per domain, MX,
//!   message, an mbox               bounded)             senders send, with   IP, result-type,
//!                                                       notes                sender; dedup
//! ```
//!
//! An input (a file, or standard input) holds one report or many (an mbox, a message with
//! several parts). Whatever cannot be read in it — the whole input, or one message or part
//! of it — is an [`InputError`], a value like any other, and the rest is read on.
//!
//! A [`Report`] is what the sender said, with counts as numbers and every field in one
//! shape, whichever shape it came in; each way in which it departs from RFC 8460 §4.4 that
//! the reader put up with is a [`Note`] naming a `report-*` check of the registry. Nothing
//! in a report is corrected: where its numbers disagree, both are kept and flagged.
//!
//! Every size is bounded (the constants below, and [`summary::MAX_DISTINCT_ROWS`]), so that
//! a gzip bomb or a hostile mbox is one input's error in bounded memory.

pub mod envelope;
pub mod parse;
pub mod summary;
pub mod unpack;

use std::fmt;

use crate::checks::Check;
use crate::checks::Severity;

pub use summary::Summary;

/// Bytes read from one input file (or standard input); a larger input is not read at all.
pub const MAX_INPUT_BYTES: usize = 64 * 1024 * 1024;
/// JSON bytes of one report, after inflating: RFC 8460 §6.5 cites ten megabytes as a
/// commonly observed receiver limit.
pub const MAX_REPORT_BYTES: usize = 10 * 1024 * 1024;
/// Reports (and unreadable messages or parts) taken from one input, such as an mbox.
pub const MAX_REPORTS_PER_INPUT: usize = 1000;
/// Policies and failure details in one report, together: the bound on what one report
/// keeps in memory once parsed.
pub const MAX_ENTRIES_PER_REPORT: usize = 10_000;
/// Bytes of one mail message (an .eml, or one message of an mbox): room for a report of
/// [`MAX_REPORT_BYTES`] in base64. mail-parser holds some 35 times a message's size for a
/// hostile one made of tiny parts, so this bounds what parsing one message costs.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;
/// Bytes of a mail message that may hold attached messages (it names `message/rfc822`,
/// `message/global` or `multipart/digest`): mail-parser reads an attached message's
/// nesting with recursion, one level per few bytes, so only a small one is safe to read.
pub const MAX_NESTING_MESSAGE_BYTES: usize = 16 * 1024;

/// One report, as the sender made it (RFC 8460 §4.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Where in its input the report was: `None` for an input that is the report itself,
    /// else e.g. "message 2, part 3 (application/tlsrpt+gzip)".
    pub place: Option<String>,
    pub organization: String,
    pub contact: Option<String>,
    pub report_id: String,
    /// Unix seconds.
    pub start: i64,
    pub end: i64,
    pub policies: Vec<PolicyResult>,
    /// What the reader put up with, at most one note per check (repeats are counted in it).
    pub notes: Vec<Note>,
}

/// One policy's sessions (an element of `policies`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyResult {
    /// `sts`, `tlsa`, `no-policy-found`, or whatever the sender wrote.
    pub policy_type: String,
    /// Lower case; `None` when the sender left it out.
    pub policy_domain: Option<String>,
    pub policy_string: Vec<String>,
    /// `mx-host`: the MX patterns (empty when absent).
    pub mx_hosts: Vec<String>,
    /// `total-successful-session-count`.
    pub successful: u64,
    /// `total-failure-session-count`, as the summary says (see [`PolicyResult::detailed`]).
    pub failed: u64,
    pub details: Vec<FailureDetail>,
}

impl PolicyResult {
    /// The failed sessions its failure details add up to, which may differ from
    /// [`PolicyResult::failed`].
    pub fn detailed(&self) -> u64 {
        self.details
            .iter()
            .fold(0u64, |sum, d| sum.saturating_add(d.failed))
    }
}

/// One element of `failure-details`: what failed, where, how often.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FailureDetail {
    pub result_type: String,
    /// Empty strings are `None`.
    pub sending_mta_ip: Option<String>,
    pub receiving_mx_hostname: Option<String>,
    pub receiving_mx_helo: Option<String>,
    pub receiving_ip: Option<String>,
    pub failed: u64,
    /// `additional-information` (or `additional-info-uri`).
    pub additional_information: Option<String>,
    pub failure_reason_code: Option<String>,
}

/// Something about a report worth saying, as a check of the registry (`report-*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub check: Check,
    /// The evidence, naming where in the report.
    pub message: String,
}

impl Note {
    pub fn new(check: Check, message: impl Into<String>) -> Self {
        Note {
            check,
            message: message.into(),
        }
    }
}

/// An input, or one message or part of it, that yields no report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// Where in the input: `None` for the input as a whole.
    pub place: Option<String>,
    pub error: ReadError,
}

impl InputError {
    pub fn whole(error: ReadError) -> Self {
        InputError { place: None, error }
    }

    pub fn at(place: Option<String>, error: ReadError) -> Self {
        InputError { place, error }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.place {
            Some(place) => write!(f, "{place}: {}", self.error),
            None => write!(f, "{}", self.error),
        }
    }
}

/// Why no report could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// The file could not be read (the system's reason).
    Io(String),
    Empty,
    /// Over [`MAX_INPUT_BYTES`].
    InputTooLarge,
    /// Over [`MAX_REPORT_BYTES`] of JSON, inflated or not.
    ReportTooLarge,
    /// Over [`MAX_REPORTS_PER_INPUT`]: the rest of the input is not read.
    TooManyReports,
    /// Over [`MAX_ENTRIES_PER_REPORT`] policies and failure details.
    TooManyEntries(usize),
    /// gzip data that does not inflate.
    Gzip(String),
    /// JSON that ends too early.
    Truncated(String),
    /// Not JSON at all.
    NotJson(String),
    /// JSON, but not a TLS-RPT report.
    NotAReport(String),
    /// A DMARC aggregate report (RFC 7489 App. C), in the form named.
    Dmarc(&'static str),
    /// A zip archive: how DMARC reports travel, never TLS-RPT ones.
    Zip,
    /// XML that is not a DMARC report.
    Xml,
    /// Neither JSON, gzip, a mail message nor an mbox.
    Unknown,
    /// A TLS-RPT part whose transfer encoding does not decode.
    Undecodable(String),
    /// An attached message nested deeper than [`unpack::MAX_NESTED_MESSAGES`].
    TooDeep,
    /// A mail message over [`MAX_MESSAGE_BYTES`].
    MessageTooLarge,
    /// A mail message over [`MAX_NESTING_MESSAGE_BYTES`] that may hold attached messages.
    AttachedMessages,
    /// A mail message without a TLS-RPT part; the media types it has.
    NoReportPart(Vec<String>),
}

impl ReadError {
    /// The registry check it is reported as.
    pub fn check(&self) -> Check {
        match self {
            ReadError::InputTooLarge
            | ReadError::ReportTooLarge
            | ReadError::TooManyReports
            | ReadError::TooManyEntries(_)
            | ReadError::TooDeep
            | ReadError::MessageTooLarge
            | ReadError::AttachedMessages => Check::ReportLimit,
            _ => Check::ReportUnreadable,
        }
    }

    /// A stable kebab-case name of the kind of error, for scripts and the fixtures'
    /// MANIFEST.
    pub fn kind(&self) -> &'static str {
        match self {
            ReadError::Io(_) => "io",
            ReadError::Empty => "empty",
            ReadError::InputTooLarge => "input-too-large",
            ReadError::ReportTooLarge => "report-too-large",
            ReadError::TooManyReports => "too-many-reports",
            ReadError::TooManyEntries(_) => "too-many-entries",
            ReadError::Gzip(_) => "gzip",
            ReadError::Truncated(_) => "truncated",
            ReadError::NotJson(_) => "not-json",
            ReadError::NotAReport(_) => "not-a-report",
            ReadError::Dmarc(_) => "dmarc-report",
            ReadError::Zip => "zip",
            ReadError::Xml => "xml",
            ReadError::Unknown => "unknown-format",
            ReadError::Undecodable(_) => "undecodable-part",
            ReadError::TooDeep => "too-deep",
            ReadError::MessageTooLarge => "message-too-large",
            ReadError::AttachedMessages => "attached-messages",
            ReadError::NoReportPart(_) => "no-report-part",
        }
    }
}

const MIB: usize = 1024 * 1024;

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io(why) => write!(f, "cannot be read: {why}"),
            ReadError::Empty => write!(f, "empty: no report in it"),
            ReadError::InputTooLarge => write!(
                f,
                "larger than {} MiB, the most read from one input: not read",
                MAX_INPUT_BYTES / MIB
            ),
            ReadError::ReportTooLarge => write!(
                f,
                "the report is more than {} MiB of JSON (inflated), the most read of one report (RFC 8460 §6.5): not read",
                MAX_REPORT_BYTES / MIB
            ),
            ReadError::TooManyReports => write!(
                f,
                "more than {MAX_REPORTS_PER_INPUT} reports in one input: the rest is not read"
            ),
            ReadError::TooManyEntries(n) => write!(
                f,
                "{n} policies and failure details, more than the {MAX_ENTRIES_PER_REPORT} read of one report: not read"
            ),
            ReadError::Gzip(why) => write!(f, "gzip data that does not inflate: {why}"),
            ReadError::Truncated(why) => write!(f, "truncated JSON: {why}"),
            ReadError::NotJson(why) => write!(f, "not JSON: {why}"),
            ReadError::NotAReport(why) => write!(
                f,
                "JSON, but not a TLS-RPT report as RFC 8460 §4.4 defines it: {why}"
            ),
            ReadError::Dmarc(form) => write!(
                f,
                "a DMARC aggregate report ({form}), not a TLS-RPT report: read it with a DMARC tool"
            ),
            ReadError::Zip => write!(
                f,
                "a zip archive: DMARC reports come zipped, TLS-RPT reports come as JSON or gzip"
            ),
            ReadError::Xml => write!(f, "an XML document, not a TLS-RPT report (JSON)"),
            ReadError::Unknown => write!(
                f,
                "not a TLS-RPT report: neither JSON, gzip, a mail message nor an mbox"
            ),
            ReadError::Undecodable(why) => write!(f, "the part does not decode: {why}"),
            ReadError::MessageTooLarge => write!(
                f,
                "a mail message larger than {} MiB, the most read of one message: not read",
                MAX_MESSAGE_BYTES / MIB
            ),
            ReadError::AttachedMessages => write!(
                f,
                "a mail message of more than {} KiB that may hold attached messages (it names message/rfc822, message/global or multipart/digest): not read; give the attached report on its own",
                MAX_NESTING_MESSAGE_BYTES / 1024
            ),
            ReadError::TooDeep => write!(
                f,
                "a message attached more than {} levels deep: not read",
                unpack::MAX_NESTED_MESSAGES
            ),
            ReadError::NoReportPart(types) if types.is_empty() => write!(
                f,
                "a mail message without an application/tlsrpt+json or application/tlsrpt+gzip part"
            ),
            ReadError::NoReportPart(types) => write!(
                f,
                "a mail message without an application/tlsrpt+json or application/tlsrpt+gzip part (it has {})",
                types.join(", ")
            ),
        }
    }
}

/// Every report in one input, in order, each or the reason it could not be read. `name`
/// is the input's file name, when it has one: the body is checked against it.
pub fn read<'a>(
    input: &'a [u8],
    name: Option<&'a str>,
) -> impl Iterator<Item = Result<Report, InputError>> + 'a {
    unpack::unpack(input, name).map(|body| {
        let body = body?;
        let mut report = parse::report(&body.json, body.place.clone())?;
        let mismatches = envelope::mismatches(&body.envelope, &report);
        report.notes.extend(mismatches);
        Ok(report)
    })
}

/// The checks a sender's result-type points at: those whose failure makes a sender report
/// it, from the registry.
pub fn checks_for(result_type: &str) -> Vec<Check> {
    Check::ALL
        .iter()
        .copied()
        .filter(|c| {
            c.info()
                .result_type
                .is_some_and(|r| r.as_str() == result_type)
        })
        .collect()
}

/// Result-types of the IANA registry (RFC 8460 §6.6) that no check reports, because what
/// they need (DNSSEC validation, a sender's own DANE rule) is not checked.
const REGISTERED_UNCHECKED: [&str; 2] = ["dnssec-invalid", "dane-required"];

/// Whether the IANA registry (RFC 8460 §6.6) defines the result-type.
pub fn registered(result_type: &str) -> bool {
    REGISTERED_UNCHECKED.contains(&result_type) || !checks_for(result_type).is_empty()
}

/// How much sessions failed with `result_type` matter (the README states the rule): as
/// much as the checks that make senders report it; a registered one no check reports is
/// an error all the same, since every registered type stops delivery over validated TLS;
/// one the registry does not know is a warning, since what failed is not known.
pub fn severity(result_type: &str) -> Severity {
    let checks = checks_for(result_type);
    match checks.iter().map(|c| c.info().severity).max() {
        Some(severity) => severity,
        None if registered(result_type) => Severity::Error,
        None => Severity::Warning,
    }
}

#[cfg(test)]
mod tests {
    //! The corpus of fixtures/tlsrpt against its MANIFEST: what each file must read as.

    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    use super::{Summary, read};

    /// What the MANIFEST says of one file.
    #[derive(Debug, Default, PartialEq, Eq)]
    struct Expected {
        reports: usize,
        duplicates: usize,
        successful: u64,
        failed: u64,
        notes: Vec<String>,
        errors: Vec<String>,
    }

    fn dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tlsrpt")
    }

    /// The MANIFEST's entries; fails unless every file in the directory is listed once.
    fn manifest() -> BTreeMap<String, Expected> {
        let text = std::fs::read_to_string(dir().join("MANIFEST")).expect("MANIFEST");
        let mut entries = BTreeMap::new();
        for line in text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        {
            let (file, fields) = line.split_once(':').expect("FILE: key=value ...");
            let mut want = Expected::default();
            for field in fields.split_whitespace() {
                let (key, value) = field.split_once('=').expect("key=value");
                let number = || value.parse::<u64>().expect("a number");
                let list = || {
                    let mut all: Vec<String> = value.split(',').map(String::from).collect();
                    all.sort();
                    all
                };
                match key {
                    "reports" => want.reports = number() as usize,
                    "duplicates" => want.duplicates = number() as usize,
                    "successful" => want.successful = number(),
                    "failed" => want.failed = number(),
                    "notes" => want.notes = list(),
                    "errors" => want.errors = value.split(',').map(String::from).collect(),
                    other => panic!("{file}: unknown key {other}"),
                }
            }
            for id in &want.notes {
                assert!(crate::checks::Check::from_id(id).is_some(), "{file}: {id}");
            }
            assert!(
                entries.insert(file.to_string(), want).is_none(),
                "{file} is listed twice"
            );
        }
        let mut files: Vec<String> = std::fs::read_dir(dir())
            .expect("fixtures/tlsrpt")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|name| name != "MANIFEST")
            .collect();
        files.sort();
        let listed: Vec<String> = entries.keys().cloned().collect();
        assert_eq!(files, listed, "every fixture is listed once in MANIFEST");
        entries
    }

    fn summary_of(file: &str) -> Summary {
        let bytes = std::fs::read(dir().join(file)).expect("fixture");
        let mut builder = Summary::builder();
        builder.begin(file);
        read(&bytes, Some(file)).for_each(|item| builder.add(item));
        builder.finish()
    }

    #[test]
    fn fixtures_match_the_manifest() {
        for (file, want) in manifest() {
            let s = summary_of(&file);
            let mut notes: Vec<String> = s
                .findings
                .iter()
                .map(|f| f.check.id().to_string())
                .collect();
            notes.sort();
            notes.dedup();
            let got = Expected {
                reports: s.distinct(),
                duplicates: s.reports.len() - s.distinct(),
                successful: s.successful,
                failed: s.failed,
                notes,
                errors: s.inputs[0]
                    .errors
                    .iter()
                    .map(|e| e.error.kind().to_string())
                    .collect(),
            };
            assert_eq!(got, want, "{file}");
        }
    }

    /// A report sent in several forms reads the same in each: the forms are only wrappers.
    #[test]
    fn the_wrappers_do_not_change_the_report() {
        let mail = summary_of("mail-gzip-base64.eml");
        assert_eq!(
            mail.reports[0].place.as_deref(),
            Some("part 2 (application/tlsrpt+gzip)")
        );
        assert_eq!(
            mail.reports[0].report_id,
            "2024-04-03T00:00:00Z_example.com"
        );
        let folded = summary_of("mail-folded-unquoted.eml");
        assert_eq!(folded.reports[0].report_id, "relay-2024-04-05-example.com");
        let body = summary_of("mail-report-is-body.eml");
        assert_eq!(
            body.reports[0].place.as_deref(),
            Some("the message body (application/tlsrpt+gzip)")
        );
        let mbox = summary_of("three-messages.mbox");
        let places: Vec<Option<&str>> = mbox.reports.iter().map(|r| r.place.as_deref()).collect();
        assert_eq!(
            places,
            [
                Some("message 1, part 2 (application/tlsrpt+gzip)"),
                Some("message 2, part 2 (application/tlsrpt+json)"),
                Some("message 3, part 2 (application/tlsrpt+gzip)"),
            ]
        );
        assert!(mbox.reports[2].duplicate);
    }

    /// The mapping from result-types to checks is the registry's, and so are the severities.
    #[test]
    fn result_types_point_at_the_checks_that_make_senders_report_them() {
        use super::{checks_for, registered, severity};
        use crate::checks::Check;
        use crate::checks::Severity;
        assert_eq!(checks_for("certificate-expired"), [Check::SmtpCertExpired]);
        assert_eq!(
            checks_for("certificate-host-mismatch"),
            [Check::SmtpCertHostname]
        );
        assert_eq!(checks_for("tlsa-invalid"), [Check::DaneTlsaMismatch]);
        assert!(checks_for("starttls-not-supported").contains(&Check::SmtpStarttlsMissing));
        assert!(checks_for("certificate-not-trusted").contains(&Check::SmtpCertUntrusted));
        assert!(checks_for("sts-policy-fetch-error").contains(&Check::StsHostDns));
        assert!(checks_for("sts-policy-fetch-error").contains(&Check::StsFetchStatus));
        assert!(checks_for("sts-policy-invalid").contains(&Check::StsPolicyVersion));
        assert!(checks_for("sts-webpki-invalid").contains(&Check::StsHostCertExpired));
        assert!(checks_for("validation-failure").contains(&Check::StsMxUnmatched));
        for result_type in ["dnssec-invalid", "dane-required"] {
            assert!(registered(result_type) && checks_for(result_type).is_empty());
            assert_eq!(severity(result_type), Severity::Error);
        }
        assert!(!registered("tls-handshake-timeout"));
        assert_eq!(severity("tls-handshake-timeout"), Severity::Warning);
        assert_eq!(severity("certificate-expired"), Severity::Error);
    }
}
