//! Reporters for `mtasts report`: a [`Summary`] of TLS-RPT reports for people, as one JSON
//! document, or as JSON lines (one summary row a line).

pub mod github;
pub mod human;
pub mod json;
pub mod jsonl;
pub mod prometheus;

use std::io::{self, Write};

use crate::checks::Severity;
use crate::finding::Verdict;
use crate::report::Style;
use crate::tlsrpt::Summary;

/// `mtasts report --format`: its own list, so that clap refuses what makes no sense here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// Sections for a terminal.
    Human,
    /// One JSON document (schema in the README).
    Json,
    /// One JSON object a line, one per summary row (schema in the README).
    Jsonl,
    /// GitHub Actions workflow commands: one annotation per failing result-type and finding.
    Github,
    /// Prometheus text exposition format: session counters by policy and result-type.
    Prometheus,
}

pub fn render(
    summary: &Summary,
    format: ReportFormat,
    style: Style,
    out: &mut impl Write,
) -> io::Result<()> {
    match format {
        ReportFormat::Human => human::render(summary, style, out),
        ReportFormat::Json => json::render(summary, out),
        ReportFormat::Jsonl => jsonl::render(summary, out),
        ReportFormat::Github => github::render(summary, out),
        ReportFormat::Prometheus => prometheus::render(summary, out),
    }
}

/// What the reports say, in one word: fail for failed sessions (or findings) that are
/// errors, warn for warnings, pass otherwise.
pub fn verdict(summary: &Summary) -> Verdict {
    match summary.worst() {
        Some(Severity::Error) => Verdict::Fail,
        Some(Severity::Warning) => Verdict::Warn,
        _ => Verdict::Pass,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tlsrpt::{InputError, ReadError, read};

    /// A summary of one hostile report, one duplicate of it and one unreadable input.
    pub(super) fn hostile() -> Summary {
        let report = r#"{"organization-name": "Evil\u001b[2J Corp", "report-id": "r\u202e1",
            "date-range": {"start-datetime": "2024-04-01T00:00:00Z", "end-datetime": "2024-04-01T23:59:59Z"},
            "contact-info": "x@example.net",
            "policies": [{"policy": {"policy-type": "sts", "policy-domain": "example.com"},
              "summary": {"total-successful-session-count": 9, "total-failure-session-count": "3"},
              "failure-details": [{"result-type": "certificate-expired", "failed-session-count": 3,
                "receiving-mx-hostname": "mx\r.example.com", "receiving-ip": "203.0.113.1",
                "sending-mta-ip": "192.0.2.1", "failure-reason-code": "bad\u001b]0;title\u0007"}]}]}"#;
        let mut b = Summary::builder();
        b.begin("a.json");
        read(report.as_bytes(), None).for_each(|r| b.add(r));
        b.begin("again.json");
        read(report.as_bytes(), None).for_each(|r| b.add(r));
        b.begin("bad.json");
        b.add(Err(InputError::whole(ReadError::Truncated("EOF".into()))));
        b.finish()
    }

    #[test]
    fn the_verdict_is_the_worst_of_what_the_reports_say() {
        assert_eq!(verdict(&hostile()), Verdict::Fail);
        assert_eq!(verdict(&Summary::default()), Verdict::Pass);
    }
}
