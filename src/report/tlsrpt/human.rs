//! TLS-RPT reports for people: totals first, then one section per table of the summary,
//! what would reproduce each failure, the findings, what could not be read, and a verdict
//! line. Everything that came from a report goes through [`escape`].

use std::io::{self, Write};

use crate::checks::Check;
use crate::checks::Severity;
use crate::dates;
use crate::finding::Verdict;
use crate::report::{Style, escape};
use crate::tlsrpt::summary::{FailureRow, ReportFinding, ResultTypeRow, Tallied};
use crate::tlsrpt::{InputError, Summary};

const BOLD: &str = "\x1b[1m";
const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const BLUE: &str = "\x1b[34m";
const GREEN: &str = "\x1b[32m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

/// Findings of one check shown; the rest are counted.
pub const FINDINGS_SHOWN_PER_CHECK: usize = 3;
/// Checks a result-type row names before "and N more".
const CHECKS_NAMED: usize = 4;

pub fn render(summary: &Summary, style: Style, out: &mut impl Write) -> io::Result<()> {
    let p = Painter(style);
    totals(summary, &p, out)?;
    policies(summary, out)?;
    result_types(&summary.result_types, &p, out)?;
    tallied("MX hosts (failed sessions)", &summary.mx_hosts, out)?;
    tallied(
        "Receiving IPs (failed sessions)",
        &summary.receiving_ips,
        out,
    )?;
    organizations(summary, out)?;
    failures(summary, &p, out)?;
    findings(&summary.findings, &p, out)?;
    not_read(summary, &p, out)?;
    verdict_line(summary, &p, out)
}

struct Painter(Style);

impl Painter {
    fn paint(&self, color: &str, text: &str) -> String {
        if self.0.color {
            format!("{color}{text}{RESET}")
        } else {
            text.to_string()
        }
    }

    /// "error  " in its colour, padded to line up.
    fn severity(&self, severity: Severity) -> String {
        let color = match severity {
            Severity::Error => RED,
            Severity::Warning => YELLOW,
            Severity::Info => BLUE,
        };
        self.paint(color, &format!("{:<7}", severity.as_str()))
    }

    fn heading(&self, text: &str) -> String {
        self.paint(BOLD, text)
    }
}

/// "1 report", "3 reports".
pub(crate) fn plural(n: impl std::fmt::Display, word: &str) -> String {
    let n = n.to_string();
    if n == "1" {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn totals(s: &Summary, p: &Painter, out: &mut impl Write) -> io::Result<()> {
    let read = s.distinct();
    let duplicates = s.reports.len() - read;
    let mut line = format!(
        "TLS-RPT: {} from {}",
        plural(read, "report"),
        plural(s.inputs.len(), "input")
    );
    if duplicates > 0 {
        line.push_str(&format!(
            " ({} read again, counted once)",
            plural(duplicates, "duplicate")
        ));
    }
    match s.range {
        Some((start, end)) => line.push_str(&format!(
            ", {} to {}",
            dates::rfc3339(start),
            dates::rfc3339(end)
        )),
        None => line.push_str(", no date range"),
    }
    writeln!(out, "{}", p.heading(&line))?;
    let all = s.successful.saturating_add(s.failed);
    let share = if all == 0 {
        String::new()
    } else {
        format!(" ({:.1}%)", s.failed as f64 * 100.0 / all as f64)
    };
    writeln!(
        out,
        "Sessions: {} successful, {} failed{share}",
        s.successful, s.failed
    )
}

/// Sessions per policy, with the MX patterns the senders applied, and a word when they
/// applied different versions of it.
fn policies(s: &Summary, out: &mut impl Write) -> io::Result<()> {
    if s.policies.is_empty() {
        return Ok(());
    }
    writeln!(out, "\nPolicy domains")?;
    for row in &s.policies {
        let domain = row.domain.as_deref().unwrap_or("(no policy-domain)");
        let detailed = if row.detailed == row.failed {
            String::new()
        } else {
            format!(" (the failure details add up to {})", row.detailed)
        };
        writeln!(
            out,
            "  {}  {}  {}, {} successful, {} failed{detailed}",
            escape(domain),
            escape(&row.policy_type),
            plural(row.reports, "report"),
            row.successful,
            row.failed
        )?;
        if !row.mx_hosts.is_empty() {
            writeln!(out, "    mx-host: {}", escape(&row.mx_hosts.join(", ")))?;
        }
        if row.policy_strings.len() > 1 {
            writeln!(
                out,
                "    {} policy-strings: senders applied different versions of the policy (see --format json)",
                row.policy_strings.len()
            )?;
        }
    }
    Ok(())
}

fn result_types(rows: &[ResultTypeRow], p: &Painter, out: &mut impl Write) -> io::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    writeln!(out, "\nResult types (failed sessions)")?;
    for row in rows {
        let registered = if row.registered {
            ""
        } else {
            " (not a registered result-type)"
        };
        writeln!(
            out,
            "  {}  {}  {}{registered}, reported by {}",
            p.severity(row.severity),
            escape(&row.result_type),
            plural(row.failed, "failed session"),
            escape(&row.organizations.join(", "))
        )?;
        if let Some(reproduce) = reproduce(row) {
            writeln!(out, "           {}", p.paint(DIM, &reproduce))?;
        }
    }
    Ok(())
}

/// "reproduce: mtasts check example.com (finding smtp-cert-expired)".
fn reproduce(row: &ResultTypeRow) -> Option<String> {
    let ids: Vec<&str> = row
        .checks
        .iter()
        .take(CHECKS_NAMED)
        .map(|c| c.id())
        .collect();
    let findings = match (
        row.checks.len(),
        row.checks.len().saturating_sub(CHECKS_NAMED),
    ) {
        (0, _) => return None,
        (1, _) => format!("finding {}", ids.join("")),
        (_, 0) => format!("one of the findings {}", ids.join(", ")),
        (_, more) => format!("one of the findings {} and {more} more", ids.join(", ")),
    };
    let commands = row.commands();
    Some(if commands.is_empty() {
        format!("mtasts check POLICY-DOMAIN would report it ({findings})")
    } else {
        format!("reproduce: {} ({findings})", escape(&commands.join("; ")))
    })
}

fn tallied(title: &str, rows: &[Tallied], out: &mut impl Write) -> io::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    writeln!(out, "\n{title}")?;
    for row in rows {
        writeln!(out, "  {:>6}  {}", row.failed, escape(&row.name))?;
    }
    Ok(())
}

fn organizations(s: &Summary, out: &mut impl Write) -> io::Result<()> {
    if s.organizations.is_empty() {
        return Ok(());
    }
    writeln!(out, "\nSending organisations")?;
    for row in &s.organizations {
        writeln!(
            out,
            "  {}  {}, {} successful, {} failed",
            escape(&row.name),
            plural(row.reports, "report"),
            row.successful,
            row.failed
        )?;
    }
    Ok(())
}

fn failures(s: &Summary, p: &Painter, out: &mut impl Write) -> io::Result<()> {
    if s.failures.is_empty() {
        return Ok(());
    }
    writeln!(out, "\nFailure details (worst and most sessions first)")?;
    for row in &s.failures {
        failure(row, p, out)?;
    }
    let rest = s.failures_not_listed;
    if rest.rows > 0 {
        writeln!(
            out,
            "  ... and {} more, {} failed sessions",
            plural(rest.rows, "failure detail"),
            rest.sessions
        )?;
    }
    Ok(())
}

fn failure(row: &FailureRow, p: &Painter, out: &mut impl Write) -> io::Result<()> {
    let d = &row.detail;
    writeln!(
        out,
        "  {}  {} x {}  {}  from {} ({})",
        p.severity(row.severity),
        d.failed,
        escape(&d.result_type),
        escape(row.policy_domain.as_deref().unwrap_or("(no policy-domain)")),
        escape(&row.organization),
        plural(row.reports, "report")
    )?;
    let given = |v: &Option<String>| v.as_deref().map_or("not given".to_string(), escape);
    let mut evidence = format!(
        "sending-mta-ip {}, receiving-mx-hostname {}, receiving-ip {}",
        given(&d.sending_mta_ip),
        given(&d.receiving_mx_hostname),
        given(&d.receiving_ip)
    );
    if let Some(helo) = &d.receiving_mx_helo {
        evidence.push_str(&format!(", receiving-mx-helo {}", escape(helo)));
    }
    writeln!(out, "           {evidence}")?;
    for (name, value) in [
        ("failure-reason-code", &d.failure_reason_code),
        ("additional-information", &d.additional_information),
    ] {
        if let Some(value) = value {
            writeln!(out, "           {name}: {}", escape(value))?;
        }
    }
    Ok(())
}

/// Findings by check, the worst first, a few of each shown.
fn findings(all: &[ReportFinding], p: &Painter, out: &mut impl Write) -> io::Result<()> {
    if all.is_empty() {
        return Ok(());
    }
    writeln!(out, "\nFindings")?;
    let mut checks: Vec<Check> = Vec::new();
    for f in all {
        if !checks.contains(&f.check) {
            checks.push(f.check);
        }
    }
    checks.sort_by_key(|c| std::cmp::Reverse(c.info().severity));
    for check in checks {
        let of_check: Vec<&ReportFinding> = all.iter().filter(|f| f.check == check).collect();
        let info = check.info();
        for f in of_check.iter().take(FINDINGS_SHOWN_PER_CHECK) {
            writeln!(
                out,
                "  {}  {}  {}{}",
                p.severity(info.severity),
                info.id,
                escape(&about(f)),
                escape(&f.message)
            )?;
        }
        if of_check.len() > FINDINGS_SHOWN_PER_CHECK {
            writeln!(
                out,
                "  {}  {}  ... and {} more",
                p.severity(info.severity),
                info.id,
                of_check.len() - FINDINGS_SHOWN_PER_CHECK
            )?;
        }
        if info.severity > Severity::Info {
            writeln!(
                out,
                "           {}",
                p.paint(DIM, &format!("hint: {} ({})", info.hint, info.rfc))
            )?;
        }
    }
    Ok(())
}

/// "a.json, message 2 (report R from ORG): ", or nothing for the summary as a whole.
fn about(f: &ReportFinding) -> String {
    let Some(path) = &f.path else {
        return String::new();
    };
    let place = f
        .place
        .as_deref()
        .map_or(String::new(), |p| format!(", {p}"));
    let report = match (&f.report_id, &f.organization) {
        (Some(id), Some(org)) => format!(" (report {id} from {org})"),
        _ => String::new(),
    };
    format!("{path}{place}{report}: ")
}

fn not_read(s: &Summary, p: &Painter, out: &mut impl Write) -> io::Result<()> {
    let errors: Vec<(&str, &InputError)> = s
        .inputs
        .iter()
        .flat_map(|i| i.errors.iter().map(move |e| (i.path.as_str(), e)))
        .collect();
    if errors.is_empty() {
        return Ok(());
    }
    writeln!(out, "\nNot read")?;
    for (path, e) in errors {
        let info = e.error.check().info();
        writeln!(
            out,
            "  {}  {}  {}: {}",
            p.severity(info.severity),
            info.id,
            escape(path),
            escape(&e.to_string())
        )?;
    }
    Ok(())
}

/// "TLS-RPT: FAIL  failed sessions: 303 errors, 0 warnings; findings: 0 errors, 1 warning,
/// 3 info; 1 input not read in full".
fn verdict_line(s: &Summary, p: &Painter, out: &mut impl Write) -> io::Result<()> {
    let (color, word) = match super::verdict(s) {
        Verdict::Fail => (RED, "FAIL"),
        Verdict::Warn => (YELLOW, "WARN"),
        Verdict::Pass => (GREEN, "PASS"),
    };
    let failed = |severity: Severity| {
        s.result_types
            .iter()
            .filter(|r| r.severity == severity)
            .fold(0u64, |n, r| n.saturating_add(r.failed))
    };
    let found = |severity: Severity| {
        s.findings
            .iter()
            .filter(|f| f.severity() == severity)
            .count()
    };
    let unreadable = s.inputs.iter().filter(|i| !i.errors.is_empty()).count();
    let mut line = format!(
        "failed sessions: {}, {}; findings: {}, {}, {} info",
        plural(failed(Severity::Error), "error"),
        plural(failed(Severity::Warning), "warning"),
        plural(found(Severity::Error), "error"),
        plural(found(Severity::Warning), "warning"),
        found(Severity::Info)
    );
    if unreadable > 0 {
        line.push_str(&format!(
            "; {} not read in full",
            plural(unreadable, "input")
        ));
    }
    writeln!(
        out,
        "\nTLS-RPT: {}  {line}",
        p.paint(&format!("{BOLD}{color}"), word)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(color: bool) -> String {
        let style = Style {
            color,
            verbose: false,
            width: None,
        };
        let mut out = Vec::new();
        render(&super::super::tests::hostile(), style, &mut out).expect("in memory");
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn text_from_reports_cannot_rewrite_the_terminal() {
        let plain = text(false);
        assert!(
            !plain.chars().any(|c| c.is_control() && c != '\n'),
            "{plain}"
        );
        assert!(plain.contains("Evil\\x1b[2J Corp"), "{plain}");
        assert!(plain.contains("mx\\r.example.com"), "{plain}");
        assert!(plain.contains("r\\u{202e}1"), "{plain}");
        // With colour, the only escapes are ours.
        let ours = [BOLD, RED, YELLOW, BLUE, GREEN, DIM, RESET];
        let colored = ours.iter().fold(text(true), |t, esc| t.replace(esc, ""));
        assert_eq!(colored, plain);
    }

    #[test]
    fn every_section_says_what_it_counts() {
        let plain = text(false);
        for line in [
            "TLS-RPT: 1 report from 3 inputs (1 duplicate read again, counted once), 2024-04-01T00:00:00Z to 2024-04-01T23:59:59Z",
            "Sessions: 9 successful, 3 failed (25.0%)",
            "  example.com  sts  1 report, 9 successful, 3 failed",
            "  error    certificate-expired  3 failed sessions, reported by Evil\\x1b[2J Corp",
            "           reproduce: mtasts check example.com (finding smtp-cert-expired)",
            "  warning  report-unreadable  bad.json: truncated JSON: EOF",
            "TLS-RPT: FAIL  failed sessions: 3 errors, 0 warnings; findings: 0 errors, 0 warnings, 2 info; 1 input not read in full",
        ] {
            assert!(
                plain.lines().any(|l| l == line),
                "no line {line:?} in\n{plain}"
            );
        }
    }
}
