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
    use crate::finding::Severity;
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
