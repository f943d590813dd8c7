//! What the mail's Subject (RFC 8460 §5.3) and the file name (§5.1) say about a report,
//! compared with the report itself. The body is the authority (§5.6): nothing here changes
//! what is counted, a disagreement is only noted.

use super::unpack::Envelope;
use super::{Note, Report};
use crate::checks::Check;
use crate::dates;

/// A note for each thing the envelope says that the report contradicts.
pub fn mismatches(envelope: &Envelope, report: &Report) -> Vec<Note> {
    let domains: Vec<&str> = report
        .policies
        .iter()
        .filter_map(|p| p.policy_domain.as_deref())
        .collect();
    let mut notes = Vec::new();
    if let Some(domain) = envelope.subject.as_deref().and_then(subject_domain)
        && !domains.is_empty()
        && !domains.contains(&domain.as_str())
    {
        notes.push(Note::new(
            Check::ReportEnvelopeMismatch,
            format!(
                "the Subject names the policy domain {domain}, the report {}: the report counts",
                domains.join(", ")
            ),
        ));
    }
    if let Some(name) = envelope.filename.as_deref().and_then(FileName::parse) {
        if !domains.is_empty() && !domains.contains(&name.policy_domain.as_str()) {
            notes.push(Note::new(
                Check::ReportEnvelopeMismatch,
                format!(
                    "the file name names the policy domain {}, the report {}: the report counts",
                    name.policy_domain,
                    domains.join(", ")
                ),
            ));
        }
        if (name.begin, name.end) != (report.start, report.end) {
            notes.push(Note::new(
                Check::ReportEnvelopeMismatch,
                format!(
                    "the file name gives the dates {} to {}, the report {} to {}: the report counts",
                    dates::rfc3339(name.begin),
                    dates::rfc3339(name.end),
                    dates::rfc3339(report.start),
                    dates::rfc3339(report.end)
                ),
            ));
        }
    }
    notes
}

/// The policy domain of a Subject of the form "Report Domain: D Submitter: S Report-ID:
/// <ID>" (RFC 8460 §5.3), lower case; `None` for a Subject of another form.
fn subject_domain(subject: &str) -> Option<String> {
    let words: Vec<&str> = subject.split_whitespace().collect();
    match words.as_slice() {
        ["Report", "Domain:", domain, "Submitter:", ..] => Some(normal(domain)),
        _ => None,
    }
}

fn normal(domain: &str) -> String {
    domain.trim_end_matches('.').to_ascii_lowercase()
}

/// A file name of the form RFC 8460 §5.1 recommends:
/// `sender!policy-domain!begin-timestamp!end-timestamp[!unique-id].json[.gz]`.
#[derive(Debug, PartialEq, Eq)]
struct FileName {
    policy_domain: String,
    begin: i64,
    end: i64,
}

impl FileName {
    /// `None` for a name of another form: the form is only recommended.
    fn parse(name: &str) -> Option<FileName> {
        let stem = name
            .strip_suffix(".json.gz")
            .or_else(|| name.strip_suffix(".json"))?;
        let fields: Vec<&str> = stem.split('!').collect();
        let [_sender, domain, begin, end, rest @ ..] = fields.as_slice() else {
            return None;
        };
        let timestamp = |t: &str| {
            t.bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| t.parse::<i64>().ok())
                .flatten()
        };
        (rest.len() <= 1).then_some(())?;
        Some(FileName {
            policy_domain: normal(domain),
            begin: timestamp(begin)?,
            end: timestamp(end)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tlsrpt::PolicyResult;

    fn report(domain: &str) -> Report {
        Report {
            place: None,
            organization: "Example".into(),
            contact: None,
            report_id: "1".into(),
            start: 1_711_929_600,
            end: 1_712_015_999,
            policies: vec![PolicyResult {
                policy_type: "sts".into(),
                policy_domain: Some(domain.into()),
                policy_string: vec![],
                mx_hosts: vec![],
                successful: 1,
                failed: 0,
                details: vec![],
            }],
            notes: vec![],
        }
    }

    fn envelope(subject: Option<&str>, filename: Option<&str>) -> Envelope {
        Envelope {
            subject: subject.map(String::from),
            filename: filename.map(String::from),
        }
    }

    #[test]
    fn file_names_of_the_recommended_form_parse() {
        assert_eq!(
            FileName::parse("example.net!Example.COM!1711929600!1712015999!001.json.gz"),
            Some(FileName {
                policy_domain: "example.com".into(),
                begin: 1_711_929_600,
                end: 1_712_015_999
            })
        );
        assert!(FileName::parse("example.net!example.com!1711929600!1712015999.json").is_some());
        for other in [
            "report.json",
            "a!b!c!d.json",
            "a!b!1!2!x!y.json",
            "a!b!1!2.txt",
            "a!b!-1!2.json",
            "a!b!1!99999999999999999999.json",
        ] {
            assert_eq!(FileName::parse(other), None, "{other}");
        }
    }

    #[test]
    fn an_envelope_that_agrees_says_nothing() {
        let r = report("example.com");
        let e = envelope(
            Some("Report Domain: example.com Submitter: example.net Report-ID: <1@example.net>"),
            Some("example.net!example.com!1711929600!1712015999.json.gz"),
        );
        assert_eq!(mismatches(&e, &r), vec![]);
        assert_eq!(
            mismatches(&envelope(Some("TLS report"), Some("r.json")), &r),
            vec![]
        );
    }

    #[test]
    fn the_body_wins_over_the_subject_and_the_file_name() {
        let r = report("example.com");
        let e = envelope(
            Some("Report Domain: example.org Submitter: example.net Report-ID: <1@example.net>"),
            Some("example.net!example.org!1711929600!1712102399.json"),
        );
        let messages: Vec<String> = mismatches(&e, &r).into_iter().map(|n| n.message).collect();
        assert_eq!(
            messages,
            [
                "the Subject names the policy domain example.org, the report example.com: the report counts",
                "the file name names the policy domain example.org, the report example.com: the report counts",
                "the file name gives the dates 2024-04-01T00:00:00Z to 2024-04-02T23:59:59Z, the report 2024-04-01T00:00:00Z to 2024-04-01T23:59:59Z: the report counts",
            ]
        );
    }
}
