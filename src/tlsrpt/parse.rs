//! Report JSON → [`Report`], tolerant of what real senders send (RFC 8460 §4.4 and its own
//! example disagree in places) and saying so: each tolerated departure is a [`Note`].
//!
//! serde reads the JSON into `Raw*` structs that accept every shape seen (a count as a
//! number or a string, `mx-host` as an array or a string, keys in any order, unknown keys
//! ignored); turning them into the model is where each shape is judged and noted. What
//! cannot be read is a [`ReadError`] saying where, never a guess.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{
    FailureDetail, InputError, MAX_ENTRIES_PER_REPORT, Note, PolicyResult, ReadError, Report,
    registered,
};
use crate::checks::Check;

#[derive(Deserialize)]
#[serde(
    rename_all = "kebab-case",
    expecting = "a TLS-RPT report (a JSON object)"
)]
struct RawReport {
    organization_name: String,
    date_range: RawRange,
    contact_info: Option<String>,
    report_id: String,
    policies: Vec<RawPolicyResult>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawRange {
    start_datetime: String,
    end_datetime: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawPolicyResult {
    policy: RawPolicy,
    summary: RawSummary,
    failure_details: Option<Vec<RawDetail>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawPolicy {
    policy_type: String,
    policy_string: Option<Strings>,
    policy_domain: Option<String>,
    mx_host: Option<Strings>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawSummary {
    total_successful_session_count: Count,
    total_failure_session_count: Count,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawDetail {
    result_type: String,
    sending_mta_ip: Option<String>,
    receiving_mx_hostname: Option<String>,
    receiving_mx_helo: Option<String>,
    receiving_ip: Option<String>,
    failed_session_count: Count,
    additional_information: Option<String>,
    /// The name RFC 8460 gives the field's type, which some senders use as its key.
    additional_info_uri: Option<String>,
    failure_reason_code: Option<String>,
}

impl RawReport {
    /// Array elements kept: what [`MAX_ENTRIES_PER_REPORT`] bounds.
    fn entries(&self) -> usize {
        self.policies
            .iter()
            .map(|p| {
                1 + p.failure_details.as_ref().map_or(0, Vec::len)
                    + p.policy.policy_string.as_ref().map_or(0, Strings::len)
                    + p.policy.mx_host.as_ref().map_or(0, Strings::len)
            })
            .sum()
    }
}

/// A session count: JSON integers, and the strings of digits some senders write instead.
enum Count {
    Number(u64),
    Text(String),
}

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct CountVisitor;
        impl Visitor<'_> for CountVisitor {
            type Value = Count;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a session count (a whole number)")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Count, E> {
                Ok(Count::Number(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Count, E> {
                u64::try_from(v)
                    .map(Count::Number)
                    .map_err(|_| E::custom(format!("a session count cannot be negative ({v})")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Count, E> {
                Err(E::custom(format!(
                    "a session count must be a whole number ({v})"
                )))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Count, E> {
                Ok(Count::Text(v.to_string()))
            }
        }
        d.deserialize_any(CountVisitor)
    }
}

/// An array of strings as RFC 8460 defines `mx-host` and `policy-string`, or the one string
/// some senders give instead.
enum Strings {
    Many(Vec<String>),
    One(String),
}

impl Strings {
    fn len(&self) -> usize {
        match self {
            Strings::Many(v) => v.len(),
            Strings::One(_) => 1,
        }
    }
}

impl<'de> Deserialize<'de> for Strings {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct StringsVisitor;
        impl<'de> Visitor<'de> for StringsVisitor {
            type Value = Strings;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Strings, E> {
                Ok(Strings::One(v.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Strings, A::Error> {
                let mut all = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    all.push(s);
                }
                Ok(Strings::Many(all))
            }
        }
        d.deserialize_any(StringsVisitor)
    }
}

const UTF8_BOM: &[u8] = b"\xef\xbb\xbf";

/// The report in `json`, found at `place` in its input.
pub fn report(json: &[u8], place: Option<String>) -> Result<Report, InputError> {
    let json = json.strip_prefix(UTF8_BOM).unwrap_or(json);
    let at = |e| InputError::at(place.clone(), e);
    let first = json.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|&b| b != b'{') {
        let value: Result<de::IgnoredAny, _> = serde_json::from_slice(json);
        return Err(at(match value {
            Ok(_) => ReadError::NotAReport("the JSON is not an object".into()),
            Err(e) => json_error(&e),
        }));
    }
    let raw: RawReport = serde_json::from_slice(json).map_err(|e| at(json_error(&e)))?;
    let entries = raw.entries();
    if entries > MAX_ENTRIES_PER_REPORT {
        return Err(at(ReadError::TooManyEntries(entries)));
    }
    let mut notes = Notes::default();
    let start =
        datetime(&raw.date_range.start_datetime, "start-datetime", &mut notes).map_err(at)?;
    let end = datetime(&raw.date_range.end_datetime, "end-datetime", &mut notes).map_err(at)?;
    let contact = raw.contact_info.filter(|c| !c.trim().is_empty());
    if contact.is_none() {
        notes.add(Check::ReportContactMissing, || {
            "contact-info is null, empty or missing".to_string()
        });
    }
    let policies = raw
        .policies
        .into_iter()
        .enumerate()
        .map(|(i, p)| policy_result(i + 1, p, &mut notes))
        .collect::<Result<Vec<_>, _>>()
        .map_err(at)?;
    Ok(Report {
        place,
        organization: raw.organization_name,
        contact,
        report_id: raw.report_id,
        start,
        end,
        policies,
        notes: notes.finish(),
    })
}

/// serde_json's error, by what it means for the reader: the end came too soon, it is no
/// JSON, or it is JSON of another shape.
fn json_error(e: &serde_json::Error) -> ReadError {
    use serde_json::error::Category;
    match e.classify() {
        Category::Eof => ReadError::Truncated(e.to_string()),
        Category::Data => ReadError::NotAReport(e.to_string()),
        Category::Syntax | Category::Io => ReadError::NotJson(e.to_string()),
    }
}

/// Notes with each check once, a repeat only counted: a report that writes every count as
/// a string gets one note, not one per count.
#[derive(Default)]
struct Notes {
    list: Vec<(Note, usize)>,
}

impl Notes {
    fn add(&mut self, check: Check, message: impl FnOnce() -> String) {
        match self.list.iter_mut().find(|(n, _)| n.check == check) {
            Some((_, repeats)) => *repeats += 1,
            None => self.list.push((Note::new(check, message()), 0)),
        }
    }

    fn finish(self) -> Vec<Note> {
        self.list
            .into_iter()
            .map(|(mut note, repeats)| {
                if repeats > 0 {
                    note.message
                        .push_str(&format!(" (and {repeats} more like it in this report)"));
                }
                note
            })
            .collect()
    }
}

/// Text from the report in a message: quoted, and cut when long.
fn quoted(text: &str) -> String {
    const SHOWN: usize = 80;
    if text.chars().count() <= SHOWN {
        format!("\"{text}\"")
    } else {
        let cut: String = text.chars().take(SHOWN).collect();
        format!("\"{cut}...\"")
    }
}

/// An RFC 3339 date-time as unix seconds; one without a zone is read as UTC, and noted.
fn datetime(text: &str, field: &str, notes: &mut Notes) -> Result<i64, ReadError> {
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(t.unix_timestamp());
    }
    if let Ok(t) = OffsetDateTime::parse(&format!("{text}Z"), &Rfc3339) {
        notes.add(Check::ReportDatetimeNoZone, || {
            format!(
                "date-range {field} {} has no time zone: read as UTC",
                quoted(text)
            )
        });
        return Ok(t.unix_timestamp());
    }
    Err(ReadError::NotAReport(format!(
        "date-range {field} {} is not an RFC 3339 date-time",
        quoted(text)
    )))
}

/// "policy 2 (example.com, sts)": how messages name a policy of the report.
fn label(n: usize, domain: Option<&str>, policy_type: &str) -> String {
    format!(
        "policy {n} ({}, {policy_type})",
        domain.unwrap_or("no policy-domain")
    )
}

fn policy_result(
    n: usize,
    raw: RawPolicyResult,
    notes: &mut Notes,
) -> Result<PolicyResult, ReadError> {
    let policy_type = raw.policy.policy_type.trim().to_ascii_lowercase();
    let policy_domain = raw
        .policy
        .policy_domain
        .map(|d| d.trim().trim_end_matches('.').to_ascii_lowercase())
        .filter(|d| !d.is_empty());
    let label = label(n, policy_domain.as_deref(), &policy_type);
    if policy_domain.is_none() {
        notes.add(Check::ReportPolicyDomainMissing, || {
            format!("{label}: policy-domain is missing")
        });
    }
    let mx_hosts = match raw.policy.mx_host {
        None => Vec::new(),
        Some(Strings::Many(all)) => all,
        Some(Strings::One(one)) => {
            notes.add(Check::ReportMxHostString, || {
                format!(
                    "{label}: mx-host is the string {}, not an array: read as one pattern",
                    quoted(&one)
                )
            });
            vec![one]
        }
    };
    let policy_string = policy_string(raw.policy.policy_string, &label, notes);
    let successful = count(
        raw.summary.total_successful_session_count,
        "total-successful-session-count",
        &label,
        notes,
    )?;
    let failed = count(
        raw.summary.total_failure_session_count,
        "total-failure-session-count",
        &label,
        notes,
    )?;
    let details = raw
        .failure_details
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, d)| detail(&format!("failure detail {} of {label}", i + 1), d, notes))
        .collect::<Result<Vec<_>, _>>()?;
    let result = PolicyResult {
        policy_type,
        policy_domain,
        policy_string,
        mx_hosts,
        successful,
        failed,
        details,
    };
    let detailed = result.detailed();
    if detailed != failed {
        notes.add(Check::ReportCountMismatch, || {
            let details = if result.details.is_empty() {
                "the report lists no failure details".to_string()
            } else {
                format!("its failure details add up to {detailed}")
            };
            format!("{label}: total-failure-session-count is {failed}, {details}: both shown, neither corrected")
        });
    }
    Ok(result)
}

/// `policy-string` as lines: an array, or one string that is a JSON-encoded array (seen
/// for TLSA policies), or any other string taken as one line.
fn policy_string(raw: Option<Strings>, label: &str, notes: &mut Notes) -> Vec<String> {
    match raw {
        None => Vec::new(),
        Some(Strings::Many(lines)) => lines,
        Some(Strings::One(text)) => match serde_json::from_str::<Vec<String>>(&text) {
            Ok(lines) => {
                notes.add(Check::ReportPolicyStringEncoded, || {
                    format!(
                        "{label}: policy-string is one string holding a JSON array: decoded to {} lines",
                        lines.len()
                    )
                });
                lines
            }
            Err(_) => {
                notes.add(Check::ReportPolicyStringEncoded, || {
                    format!("{label}: policy-string is a string, not an array: read as one line")
                });
                vec![text]
            }
        },
    }
}

fn count(raw: Count, field: &str, label: &str, notes: &mut Notes) -> Result<u64, ReadError> {
    match raw {
        Count::Number(n) => Ok(n),
        Count::Text(text) => match text.trim().parse::<u64>() {
            Ok(n) => {
                notes.add(Check::ReportCountString, || {
                    format!(
                        "{label}: {field} is the string {}: read as {n}",
                        quoted(&text)
                    )
                });
                Ok(n)
            }
            Err(_) => Err(ReadError::NotAReport(format!(
                "{label}: {field} {} is not a session count",
                quoted(&text)
            ))),
        },
    }
}

/// The fields that tie a failure to one MX address.
const ADDRESS_FIELDS: [&str; 3] = ["sending-mta-ip", "receiving-mx-hostname", "receiving-ip"];

fn detail(label: &str, raw: RawDetail, notes: &mut Notes) -> Result<FailureDetail, ReadError> {
    let result_type = raw.result_type.trim().to_ascii_lowercase();
    if !registered(&result_type) {
        notes.add(Check::ReportResultTypeUnregistered, || {
            format!(
                "{label}: result-type {} is not in the IANA registry: counted under its own name",
                quoted(&result_type)
            )
        });
    }
    let addresses = [
        &raw.sending_mta_ip,
        &raw.receiving_mx_hostname,
        &raw.receiving_ip,
    ];
    let empty: Vec<&str> = ADDRESS_FIELDS
        .iter()
        .zip(addresses)
        .filter(|(_, v)| v.as_deref().is_some_and(|v| v.trim().is_empty()))
        .map(|(name, _)| *name)
        .collect();
    let missing: Vec<&str> = ADDRESS_FIELDS
        .iter()
        .zip(addresses)
        .filter(|(_, v)| v.is_none())
        .map(|(name, _)| *name)
        .collect();
    if !empty.is_empty() || !missing.is_empty() {
        notes.add(Check::ReportDetailIncomplete, || {
            let said = [(&empty, "empty"), (&missing, "missing")]
                .iter()
                .filter(|(fields, _)| !fields.is_empty())
                .map(|(fields, how)| format!("{} {how}", fields.join(", ")))
                .collect::<Vec<_>>()
                .join("; ");
            format!("{label}: {said}")
        });
    }
    let additional_information = match (raw.additional_information, raw.additional_info_uri) {
        (Some(info), _) => Some(info),
        (None, Some(uri)) => {
            notes.add(Check::ReportAdditionalInfoUri, || {
                format!("{label}: the key additional-info-uri is read as additional-information")
            });
            Some(uri)
        }
        (None, None) => None,
    };
    Ok(FailureDetail {
        failed: count(
            raw.failed_session_count,
            "failed-session-count",
            label,
            notes,
        )?,
        result_type,
        sending_mta_ip: given(raw.sending_mta_ip),
        receiving_mx_hostname: given(raw.receiving_mx_hostname)
            .map(|h| h.trim_end_matches('.').to_ascii_lowercase()),
        receiving_mx_helo: given(raw.receiving_mx_helo),
        receiving_ip: given(raw.receiving_ip),
        additional_information: given(additional_information),
        failure_reason_code: given(raw.failure_reason_code),
    })
}

/// A field's value, trimmed; an empty one is none.
fn given(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The example of RFC 8460 App. B, with documentation names and addresses.
    const APPENDIX_B: &str = r#"{
      "organization-name": "Company-X",
      "date-range": {
        "start-datetime": "2016-04-01T00:00:00Z",
        "end-datetime": "2016-04-01T23:59:59Z"
      },
      "contact-info": "sts-reporting@company-x.example",
      "report-id": "5065427c-23d3-47ca-b6e0-946ea0e8c4be",
      "policies": [{
        "policy": {
          "policy-type": "sts",
          "policy-string": ["version: STSv1","mode: testing",
                "mx: *.mail.company-y.example","max_age: 86400"],
          "policy-domain": "company-y.example",
          "mx-host": "*.mail.company-y.example"
        },
        "summary": {
          "total-successful-session-count": 5326,
          "total-failure-session-count": 303
        },
        "failure-details": [{
          "result-type": "certificate-expired",
          "sending-mta-ip": "2001:db8:abcd:0012::1",
          "receiving-mx-hostname": "mx1.mail.company-y.example",
          "failed-session-count": 100
        }, {
          "result-type": "starttls-not-supported",
          "sending-mta-ip": "2001:db8:abcd:0013::1",
          "receiving-mx-hostname": "mx2.mail.company-y.example",
          "receiving-ip": "203.0.113.56",
          "failed-session-count": 200,
          "additional-information": "https://reports.company-x.example/report_info?id=5065427c-23d3#StarttlsNotSupported"
        }, {
          "result-type": "validation-failure",
          "sending-mta-ip": "198.51.100.62",
          "receiving-ip": "203.0.113.58",
          "receiving-mx-hostname": "mx-backup.mail.company-y.example",
          "failed-session-count": 3,
          "failure-reason-code": "X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED"
        }]
      }]
    }"#;

    fn parsed(json: &str) -> Report {
        report(json.as_bytes(), None).unwrap_or_else(|e| panic!("{e}"))
    }

    fn error(json: &str) -> ReadError {
        match report(json.as_bytes(), None) {
            Ok(r) => panic!("read: {r:?}"),
            Err(e) => e.error,
        }
    }

    fn checks(r: &Report) -> Vec<&'static str> {
        r.notes.iter().map(|n| n.check.id()).collect()
    }

    #[test]
    fn the_rfc_example_reads_with_its_own_quirk_noted() {
        let r = parsed(APPENDIX_B);
        assert_eq!(r.organization, "Company-X");
        assert_eq!(r.start, 1_459_468_800);
        assert_eq!(r.end, 1_459_468_800 + 86_399);
        let p = &r.policies[0];
        assert_eq!(p.policy_domain.as_deref(), Some("company-y.example"));
        assert_eq!(p.mx_hosts, ["*.mail.company-y.example"]);
        assert_eq!((p.successful, p.failed, p.detailed()), (5326, 303, 303));
        assert_eq!(p.details[1].receiving_ip.as_deref(), Some("203.0.113.56"));
        assert_eq!(
            p.details[2].failure_reason_code.as_deref(),
            Some("X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED")
        );
        // Its first detail has no receiving-ip, and mx-host is a string.
        assert_eq!(
            checks(&r),
            ["report-mx-host-string", "report-detail-incomplete"]
        );
    }

    fn minimal(policy: &str, summary: &str, details: &str) -> String {
        format!(
            r#"{{"organization-name": "Example", "report-id": "r1", "contact-info": "tlsrpt@example.net",
               "date-range": {{"start-datetime": "2024-04-01T00:00:00Z", "end-datetime": "2024-04-01T23:59:59Z"}},
               "policies": [{{"policy": {policy}, "summary": {summary}, "failure-details": {details}}}]}}"#
        )
    }

    const STS: &str =
        r#"{"policy-type": "sts", "policy-domain": "Example.COM.", "mx-host": ["mx.example.com"]}"#;
    const CLEAN: &str =
        r#"{"total-successful-session-count": 10, "total-failure-session-count": 0}"#;

    #[test]
    fn a_clean_report_has_no_notes() {
        let r = parsed(&minimal(STS, CLEAN, "[]"));
        assert_eq!(checks(&r), Vec::<&str>::new());
        assert_eq!(r.policies[0].policy_domain.as_deref(), Some("example.com"));
    }

    #[test]
    fn counts_as_strings_are_read_and_noted_once() {
        let summary =
            r#"{"total-successful-session-count": "10", "total-failure-session-count": " 2 "}"#;
        let details = r#"[{"result-type": "starttls-not-supported", "sending-mta-ip": "192.0.2.1",
            "receiving-mx-hostname": "mx.example.com", "receiving-ip": "203.0.113.1", "failed-session-count": "2"}]"#;
        let r = parsed(&minimal(STS, summary, details));
        assert_eq!((r.policies[0].successful, r.policies[0].failed), (10, 2));
        assert_eq!(checks(&r), ["report-count-string"]);
        assert!(
            r.notes[0]
                .message
                .ends_with("(and 2 more like it in this report)"),
            "{}",
            r.notes[0].message
        );
    }

    #[test]
    fn counts_that_are_no_counts_are_refused() {
        for bad in [
            r#""ten""#,
            "-1",
            "1.5",
            "true",
            "null",
            "18446744073709551616",
        ] {
            let summary = format!(
                r#"{{"total-successful-session-count": {bad}, "total-failure-session-count": 0}}"#
            );
            assert!(
                matches!(
                    error(&minimal(STS, &summary, "[]")),
                    ReadError::NotAReport(_)
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_mismatched_failure_count_keeps_both_numbers() {
        let summary = r#"{"total-successful-session-count": 1, "total-failure-session-count": 5}"#;
        let details = r#"[{"result-type": "certificate-expired", "failed-session-count": 3}]"#;
        let r = parsed(&minimal(STS, summary, details));
        assert_eq!((r.policies[0].failed, r.policies[0].detailed()), (5, 3));
        let note = r
            .notes
            .iter()
            .find(|n| n.check == Check::ReportCountMismatch)
            .map(|n| n.message.as_str());
        assert_eq!(
            note,
            Some(
                "policy 1 (example.com, sts): total-failure-session-count is 5, its failure details add up to 3: both shown, neither corrected"
            )
        );
        let none = parsed(&minimal(STS, summary, "null"));
        assert!(
            none.notes
                .iter()
                .any(|n| n.message.contains("the report lists no failure details"))
        );
    }

    #[test]
    fn sparse_details_aliases_and_unregistered_types_are_noted() {
        let details = r#"[{"failed-session-count": 4, "result-type": "Certificate-Expired", "sending-mta-ip": ""},
            {"result-type": "tls-ancient-failure", "failed-session-count": 1, "sending-mta-ip": "192.0.2.9",
             "receiving-mx-hostname": "MX.example.com.", "receiving-ip": "203.0.113.9",
             "additional-info-uri": "https://example.net/why"}]"#;
        let summary = r#"{"total-successful-session-count": 0, "total-failure-session-count": 5}"#;
        let r = parsed(&minimal(STS, summary, details));
        let d = &r.policies[0].details;
        assert_eq!(d[0].result_type, "certificate-expired");
        assert_eq!(d[0].sending_mta_ip, None);
        assert_eq!(
            d[1].receiving_mx_hostname.as_deref(),
            Some("mx.example.com")
        );
        assert_eq!(
            d[1].additional_information.as_deref(),
            Some("https://example.net/why")
        );
        assert_eq!(
            checks(&r),
            [
                "report-detail-incomplete",
                "report-result-type-unregistered",
                "report-additional-info-uri"
            ]
        );
        assert_eq!(
            r.notes[0].message,
            "failure detail 1 of policy 1 (example.com, sts): sending-mta-ip empty; receiving-mx-hostname, receiving-ip missing"
        );
    }

    #[test]
    fn policy_shapes_senders_use() {
        let no_policy = r#"{"policy-type": "no-policy-found"}"#;
        let r = parsed(&minimal(no_policy, CLEAN, "[]"));
        assert_eq!(r.policies[0].policy_domain, None);
        assert_eq!(checks(&r), ["report-policy-domain-missing"]);

        let tlsa = r#"{"policy-type": "tlsa", "policy-domain": "example.com",
            "policy-string": "[\"3 1 1 0123456789abcdef\", \"3 1 1 fedcba9876543210\"]"}"#;
        let r = parsed(&minimal(tlsa, CLEAN, "[]"));
        assert_eq!(
            r.policies[0].policy_string,
            ["3 1 1 0123456789abcdef", "3 1 1 fedcba9876543210"]
        );
        assert_eq!(checks(&r), ["report-policy-string-encoded"]);

        let one_line = r#"{"policy-type": "sts", "policy-domain": "example.com", "policy-string": "version: STSv1"}"#;
        assert_eq!(
            parsed(&minimal(one_line, CLEAN, "[]")).policies[0].policy_string,
            ["version: STSv1"]
        );
    }

    #[test]
    fn dates_without_a_zone_are_utc_and_bad_dates_are_refused() {
        let json = minimal(STS, CLEAN, "[]").replace("00:00:00Z", "00:00:00");
        let r = parsed(&json);
        assert_eq!(r.start, 1_711_929_600);
        assert_eq!(checks(&r), ["report-datetime-no-zone"]);
        let bad = minimal(STS, CLEAN, "[]").replace("2024-04-01T00:00:00Z", "yesterday");
        assert_eq!(
            error(&bad),
            ReadError::NotAReport(
                "date-range start-datetime \"yesterday\" is not an RFC 3339 date-time".into()
            )
        );
    }

    #[test]
    fn contact_info_null_or_missing_is_noted() {
        let null = minimal(STS, CLEAN, "[]").replace(r#""tlsrpt@example.net""#, "null");
        assert_eq!(checks(&parsed(&null)), ["report-contact-missing"]);
        let missing =
            minimal(STS, CLEAN, "[]").replace(r#""contact-info": "tlsrpt@example.net","#, "");
        assert_eq!(checks(&parsed(&missing)), ["report-contact-missing"]);
    }

    #[test]
    fn what_is_not_a_report_says_why() {
        assert!(matches!(
            error(r#"{"organization-name": "x""#),
            ReadError::Truncated(_)
        ));
        assert!(matches!(error("{,}"), ReadError::NotJson(_)));
        assert!(
            matches!(error(r#"{"name": "mtasts", "version": "1"}"#), ReadError::NotAReport(m) if m.contains("missing field"))
        );
        assert_eq!(
            error("[1, 2]"),
            ReadError::NotAReport("the JSON is not an object".into())
        );
        assert!(matches!(error("[1, 2"), ReadError::Truncated(_)));
        assert!(matches!(error("hello"), ReadError::NotJson(_)));
        let not_array = minimal(STS, CLEAN, "[]")
            .replace(r#""policies": ["#, r#""policies": {"x": ["#)
            .replace("]}", "]}}");
        assert!(matches!(error(&not_array), ReadError::NotAReport(_)));
    }

    #[test]
    fn a_report_with_too_many_entries_is_refused() {
        let one = r#"{"result-type": "certificate-expired", "failed-session-count": 1}"#;
        let details = format!("[{}]", vec![one; MAX_ENTRIES_PER_REPORT].join(","));
        assert_eq!(
            error(&minimal(STS, CLEAN, &details)),
            ReadError::TooManyEntries(MAX_ENTRIES_PER_REPORT + 2)
        );
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
            drop(report(&bytes, None));
        }

        /// Mutations of a real report: cut anywhere, or a byte changed anywhere.
        #[test]
        fn parse_never_panics_on_broken_reports(cut in 0..APPENDIX_B.len(), at in 0..APPENDIX_B.len(), byte in any::<u8>()) {
            drop(report(&APPENDIX_B.as_bytes()[..cut], None));
            let mut changed = APPENDIX_B.as_bytes().to_vec();
            changed[at] = byte;
            drop(report(&changed, None));
        }
    }
}
