//! The human reporter: each domain grouped by stage (DNS, policy, each MX with each
//! address), one line per finding with its hint, and a verdict line. Everything a server
//! sent goes through [`escape`] first.

use std::io::{self, Write};

use crate::checks::Check;
use crate::checks::Severity;
use crate::dates;
use crate::finding::{Finding, Subject, Verdict};
use crate::judge::{Certificate, DomainReport, LintReport};
use crate::limits::POLICY_LINES_SHOWN;
use crate::observe::{
    Addresses, DnsAnswer, Lookup, MxRecord, PolicyFetch, PolicySource, ProbeFailure, SmtpProbe,
    TxtRecord,
};
use crate::policy::ParsedPolicy;
use crate::report::{Run, Sink, Style, escape};
use crate::tally::Tally;

const BOLD: &str = "\x1b[1m";
const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const BLUE: &str = "\x1b[34m";
const GREEN: &str = "\x1b[32m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

/// Most common finding ids shown in the closing summary.
const COMMON_SHOWN: usize = 5;

/// Each domain as it comes, grouped by stage; for more than one domain, a closing summary.
pub struct HumanSink<'a, W> {
    style: Style,
    out: &'a mut W,
    written: usize,
}

impl<'a, W: Write> HumanSink<'a, W> {
    pub fn new(style: Style, out: &'a mut W) -> Self {
        HumanSink {
            style,
            out,
            written: 0,
        }
    }
}

/// What a plan run (`--zone`, `--policy-file`) judges, said once before the domains: the
/// output is about a state that is not published yet.
fn plan(run: &Run) -> Option<String> {
    let dns = match run.zones.as_slice() {
        [] => "DNS live".to_string(),
        zones => {
            let files: Vec<String> = zones.iter().map(|z| escape(z)).collect();
            format!(
                "DNS from {} for the names they hold, the rest live",
                files.join(", ")
            )
        }
    };
    let policy = match &run.policy_file {
        Some(path) => format!("the policy from {}", escape(path)),
        None if run.zones.is_empty() => return None,
        None => "the published policy".to_string(),
    };
    Some(format!(
        "Plan: {dns}; {policy}; the change is judged against what senders see now (plan-* findings)"
    ))
}

impl<W: Write> Sink for HumanSink<'_, W> {
    fn begin(&mut self, run: &Run) -> io::Result<()> {
        match plan(run) {
            Some(plan) => writeln!(self.out, "{plan}\n"),
            None => Ok(()),
        }
    }

    fn domain(&mut self, report: &DomainReport) -> io::Result<()> {
        if self.written > 0 {
            writeln!(self.out)?;
        }
        self.written += 1;
        Domain {
            report,
            style: self.style,
            findings: Printer::new(&report.findings, self.style),
        }
        .render(self.out)?;
        self.out.flush()
    }

    fn end(&mut self, tally: &Tally) -> io::Result<()> {
        if tally.domains < 2 {
            return Ok(());
        }
        let out = &mut *self.out;
        writeln!(out)?;
        writeln!(
            out,
            "{}",
            paint(
                self.style,
                BOLD,
                &format!(
                    "{} domains: {} pass, {} warn, {} fail, {} not audited from here; {} not enforce-ready",
                    tally.domains,
                    tally.pass,
                    tally.warn,
                    tally.fail,
                    tally.not_audited,
                    tally.not_ready
                )
            )
        )?;
        let common = tally.most_common(COMMON_SHOWN);
        if !common.is_empty() {
            writeln!(out, "Most common findings (domains):")?;
            let width = common.iter().map(|(c, _)| c.id().len()).max().unwrap_or(0);
            for (check, n) in common {
                let (id, title) = (check.id(), check.info().title);
                writeln!(out, "  {n:>6}  {id:<width$}  {title}")?;
            }
        }
        if !tally.slowest().is_empty() {
            writeln!(out, "Slowest MX addresses:")?;
            for slow in tally.slowest() {
                writeln!(
                    out,
                    "  {:>6} ms  {} at {}",
                    slow.took.as_millis(),
                    escape(&slow.host),
                    slow.addr
                )?;
            }
        }
        out.flush()
    }
}

struct Domain<'a> {
    report: &'a DomainReport,
    style: Style,
    findings: Printer<'a>,
}

/// Prints a report's findings where they belong, each once, and each check's hint once.
struct Printer<'a> {
    all: &'a [Finding],
    style: Style,
    /// Which findings have been printed, so that none is lost or printed twice.
    shown: Vec<bool>,
    /// The hints printed so far: a hint repeated for the same check is left out.
    hinted: Vec<(Check, &'a str)>,
}

impl<'a> Printer<'a> {
    fn new(all: &'a [Finding], style: Style) -> Self {
        Printer {
            all,
            style,
            shown: vec![false; all.len()],
            hinted: Vec::new(),
        }
    }

    /// Prints the findings `wanted` selects that are not printed yet.
    fn print(&mut self, out: &mut impl Write, wanted: impl Fn(&Finding) -> bool) -> io::Result<()> {
        for (i, f) in self.all.iter().enumerate() {
            if self.shown[i] || !wanted(f) {
                continue;
            }
            self.shown[i] = true;
            let hint = (f.check, f.hint());
            let first = !self.hinted.contains(&hint);
            if first {
                self.hinted.push(hint);
            }
            finding(f, self.style, first, out)?;
        }
        Ok(())
    }

    /// Prints the findings about `subject`.
    fn about(&mut self, out: &mut impl Write, subject: &Subject) -> io::Result<()> {
        self.print(out, |f| f.subject == *subject)
    }

    fn left(&self) -> bool {
        self.shown.iter().any(|s| !s)
    }
}

/// `text` in `color`, when colour is on.
fn paint(style: Style, color: &str, text: &str) -> String {
    if style.color {
        format!("{color}{text}{RESET}")
    } else {
        text.to_string()
    }
}

impl Domain<'_> {
    fn paint(&self, color: &str, text: &str) -> String {
        paint(self.style, color, text)
    }

    fn render(&mut self, out: &mut impl Write) -> io::Result<()> {
        let d = &self.report.observations.domain;
        let title = match &self.report.unicode {
            Some(unicode) => format!("{unicode} ({d})"),
            None => d.clone(),
        };
        writeln!(out, "{}", self.paint(BOLD, &escape(&title)))?;
        self.dns(out)?;
        self.policy(out)?;
        self.mx(out)?;
        if self.findings.left() {
            writeln!(out, "{}", self.paint(BOLD, "This audit"))?;
            self.findings.print(out, |_| true)?;
        }
        summary_line(self.report, self.style, out)
    }

    fn dns(&mut self, out: &mut impl Write) -> io::Result<()> {
        let obs = &self.report.observations;
        writeln!(out, "{}", self.paint(BOLD, "DNS"))?;
        writeln!(
            out,
            "  {} TXT  {}",
            escape(&obs.sts.name),
            txt_summary(&obs.sts)
        )?;
        self.findings.about(out, &Subject::StsRecord)?;
        writeln!(
            out,
            "  {} TXT  {}",
            escape(&obs.tlsrpt.name),
            txt_summary(&obs.tlsrpt)
        )?;
        self.findings.about(out, &Subject::TlsRptRecord)?;
        writeln!(out, "  {} MX  {}", obs.domain, mx_summary(&obs.mx))?;
        self.findings.about(out, &Subject::MxRecords)
    }

    fn policy(&mut self, out: &mut impl Write) -> io::Result<()> {
        let obs = &self.report.observations;
        let d = &obs.domain;
        writeln!(out, "{}", self.paint(BOLD, "Policy"))?;
        match &obs.policy {
            PolicySource::Draft { path, .. } => writeln!(out, "  draft {}", escape(path))?,
            PolicySource::Fetched(fetches) => {
                writeln!(out, "  {}", crate::finding::policy_url(d))?;
                if fetches.fetches.is_empty() {
                    writeln!(out, "  mta-sts.{d}: {}", no_address(&fetches.host))?;
                }
                for (fetch, judged) in fetches.fetches.iter().zip(&self.report.fetches) {
                    writeln!(out, "  {}  {}", fetch.addr, fetch_summary(fetch))?;
                    self.chain(&judged.certificates, out)?;
                    let at = Subject::Policy {
                        addr: Some(fetch.addr),
                    };
                    self.findings.about(out, &at)?;
                }
            }
        }
        if let Some(parsed) = &self.report.policy {
            policy_body(parsed, &mut self.findings, out)?;
        }
        self.findings.about(out, &Subject::Policy { addr: None })
    }

    fn mx(&mut self, out: &mut impl Write) -> io::Result<()> {
        let obs = &self.report.observations;
        for (host, judged) in obs.mx_hosts.iter().zip(&self.report.mx) {
            let covered = judged
                .matched_pattern
                .as_ref()
                .map(|p| format!("  (policy: {})", escape(p)))
                .unwrap_or_default();
            writeln!(
                out,
                "{} {}{covered}",
                self.paint(BOLD, &format!("MX {}", host.preference)),
                self.paint(BOLD, &escape(&host.name))
            )?;
            let subject = |addr| Subject::Mx {
                host: host.name.clone(),
                addr,
            };
            self.findings.about(out, &subject(None))?;
            for (probe, address) in host.probes.iter().zip(&judged.addresses) {
                writeln!(
                    out,
                    "  {}  {}",
                    address.addr,
                    probe_summary(probe, &address.certificates)
                )?;
                self.chain(&address.certificates, out)?;
                self.findings.about(out, &subject(Some(address.addr)))?;
            }
            if host.probes.is_empty() && obs.mx_checked {
                writeln!(out, "  {}", no_address(&host.addresses))?;
            }
        }
        if !obs.mx_checked {
            writeln!(
                out,
                "{}",
                self.paint(DIM, "MX hosts: SMTP checks skipped (--skip-mx)")
            )?;
        }
        Ok(())
    }

    /// With `-v`: every certificate of a chain, a few lines each.
    fn chain(&self, chain: &[Certificate], out: &mut impl Write) -> io::Result<()> {
        if !self.style.verbose {
            return Ok(());
        }
        for (i, certificate) in chain.iter().enumerate() {
            let label = if i == 0 { "certificate" } else { "issued by  " };
            let c = &certificate.summary;
            let names = if c.dns_names.is_empty() {
                String::new()
            } else {
                format!("  DNS: {}", c.dns_names.join(", "))
            };
            writeln!(
                out,
                "      {label}  {}{}",
                escape(&c.subject),
                escape(&names)
            )?;
            let key = match (c.key_bits, &c.curve) {
                (Some(bits), Some(curve)) => format!("{} {bits} ({curve})", c.key_type),
                (Some(bits), None) => format!("{} {bits}", c.key_type),
                (None, _) => c.key_type.clone(),
            };
            let left = certificate.days_left;
            writeln!(
                out,
                "                   issuer {}; valid {} to {} ({left} days left); {key}; {}",
                escape(&c.issuer),
                dates::date(c.not_before),
                dates::date(c.not_after),
                c.signature_algorithm
            )?;
        }
        Ok(())
    }
}

/// One address's session in a line: greeting, TLS, certificate, where it broke, time.
fn probe_summary(p: &SmtpProbe, certificates: &[Certificate]) -> String {
    let mut parts = Vec::new();
    if let Some(banner) = &p.banner {
        let text = banner
            .lines
            .first()
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .unwrap_or_default();
        parts.push(format!("{} {}", banner.code, escape(&text)));
    }
    if let Some(tls) = &p.tls
        && let Some(version) = &tls.version
    {
        let cipher = tls
            .cipher
            .as_deref()
            .map(|c| format!(" {c}"))
            .unwrap_or_default();
        parts.push(format!("STARTTLS {version}{cipher}"));
    }
    if let Some(leaf) = certificates.first().map(|c| &c.summary) {
        let names = if leaf.dns_names.is_empty() {
            leaf.subject.clone()
        } else {
            leaf.dns_names.join(" ")
        };
        parts.push(format!(
            "cert {} until {}",
            escape(&names),
            dates::date(leaf.not_after)
        ));
    }
    if let Some((step, failure)) = &p.failure {
        // A failed handshake's reason is in the TLS session.
        let why = match (failure, p.tls.as_ref().and_then(|t| t.error.as_ref())) {
            (ProbeFailure::Tls, Some(tls)) => tls.to_string(),
            _ => failure.to_string(),
        };
        parts.push(format!("failed at {}: {}", step.as_str(), escape(&why)));
    }
    parts.push(format!("{} ms", p.elapsed.as_millis()));
    parts.join(", ")
}

/// One finding: severity, id and evidence, then the hint (for errors and warnings, or
/// everything with `-v`), unless `first_hint` is false: the same hint was given above.
fn finding(f: &Finding, style: Style, first_hint: bool, out: &mut impl Write) -> io::Result<()> {
    let info = f.check.info();
    let (color, label) = match info.severity {
        Severity::Error => (RED, "error"),
        Severity::Warning => (YELLOW, "warning"),
        Severity::Info => (BLUE, "info"),
    };
    writeln!(
        out,
        "    {}  {}  {}",
        paint(style, color, &format!("{label:<7}")),
        info.id,
        escape(&f.message)
    )?;
    if first_hint && (info.severity > Severity::Info || style.verbose) {
        let hint = escape(&format!("hint: {} ({})", f.hint(), info.rfc));
        for line in wrap(&hint, HINT_INDENT.len(), "      ", style.width) {
            writeln!(out, "{HINT_INDENT}{}", paint(style, DIM, &line))?;
        }
    }
    Ok(())
}

/// Where a hint starts, under the finding's id.
const HINT_INDENT: &str = "             ";

/// `text` cut into lines that fit `width` columns after `indent` columns, later lines
/// starting with `hang`; one line when there is no width (not a terminal) or a word is
/// longer than the room.
fn wrap(text: &str, indent: usize, hang: &str, width: Option<usize>) -> Vec<String> {
    let Some(room) = width.map(|w| w.saturating_sub(indent)).filter(|r| *r > 20) else {
        return vec![text.to_string()];
    };
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let prefix = if lines.is_empty() { "" } else { hang };
        let fits = line.is_empty()
            || prefix.len() + line.chars().count() + 1 + word.chars().count() <= room;
        if !fits {
            lines.push(format!("{prefix}{line}"));
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    let prefix = if lines.is_empty() { "" } else { hang };
    lines.push(format!("{prefix}{line}"));
    lines
}

/// "example.com: FAIL  1 error, 0 warnings, 0 info; enforce-ready: no (mx1.example.com at
/// 192.0.2.1: MX certificate expired)".
fn summary_line(report: &DomainReport, style: Style, out: &mut impl Write) -> io::Result<()> {
    let r = &report.readiness;
    let ready = match r.ready {
        Some(true) => "yes".to_string(),
        Some(false) => format!("no ({})", r.because(2)),
        None if r.reasons.is_empty() => "unknown".to_string(),
        None => format!("unknown ({})", r.because(2)),
    };
    let counts = counts(&report.findings, report.verdict, style);
    let skipped = if report.observations.mx_checked {
        ""
    } else {
        " (MX hosts not checked: --skip-mx)"
    };
    writeln!(
        out,
        "{}: {counts}{skipped}; enforce-ready: {}",
        escape(&report.observations.domain),
        escape(&ready)
    )
}

/// "FAIL  2 errors, 1 warning, 3 info".
fn counts(findings: &[Finding], verdict: Verdict, style: Style) -> String {
    let count = |s: Severity| findings.iter().filter(|f| f.severity() == s).count();
    let (color, verdict) = match verdict {
        Verdict::Pass => (GREEN, "PASS"),
        Verdict::Warn => (YELLOW, "WARN"),
        Verdict::Fail => (RED, "FAIL"),
    };
    let plural = |n: usize, word: &str| {
        if n == 1 {
            format!("1 {word}")
        } else {
            format!("{n} {word}s")
        }
    };
    format!(
        "{}  {}, {}, {} info",
        paint(style, &format!("{BOLD}{color}"), verdict),
        plural(count(Severity::Error), "error"),
        plural(count(Severity::Warning), "warning"),
        count(Severity::Info)
    )
}

/// Policy files judged offline: the policy read, its findings, a verdict line each.
pub fn render_lint(reports: &[LintReport], style: Style, out: &mut impl Write) -> io::Result<()> {
    for (i, report) in reports.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        writeln!(out, "{}", paint(style, BOLD, &escape(&report.path)))?;
        let mut findings = Printer::new(&report.findings, style);
        policy_body(&report.policy, &mut findings, out)?;
        findings.print(out, |_| true)?;
        writeln!(
            out,
            "{}: {}",
            escape(&report.path),
            counts(&report.findings, report.verdict, style)
        )?;
    }
    Ok(())
}

/// The policy as read: mode, max_age, mx patterns, line endings; and when a line is wrong
/// or no policy could be read, the lines themselves, each with what is wrong with it.
fn policy_body(
    parsed: &ParsedPolicy,
    findings: &mut Printer<'_>,
    out: &mut impl Write,
) -> io::Result<()> {
    match &parsed.policy {
        Some(p) => writeln!(
            out,
            "  mode: {}  max_age: {}  mx: {}  ({} line endings)",
            p.mode.as_str(),
            p.max_age,
            escape(&p.mx.join(", ")),
            parsed.line_endings
        )?,
        None if parsed.lines.is_empty() => writeln!(
            out,
            "  no policy could be read: the body is not policy text"
        )?,
        None => writeln!(
            out,
            "  no policy could be read from these lines ({} line endings):",
            parsed.line_endings
        )?,
    }
    let of_policy = |f: &Finding| f.subject == Subject::Policy { addr: None };
    let pointed = findings
        .all
        .iter()
        .any(|f| of_policy(f) && f.line.is_some());
    if !pointed && parsed.policy.is_some() {
        return Ok(());
    }
    for (i, line) in parsed.lines.iter().enumerate().take(POLICY_LINES_SHOWN) {
        let no = i + 1;
        writeln!(out, "  {no:>4}  {}", escape(line))?;
        findings.print(out, |f| of_policy(f) && f.line == Some(no))?;
    }
    if parsed.lines.len() > POLICY_LINES_SHOWN {
        writeln!(
            out,
            "        ... {} more lines",
            parsed.lines.len() - POLICY_LINES_SHOWN
        )?;
    }
    Ok(())
}

fn txt_summary(lookup: &Lookup<TxtRecord>) -> String {
    match &lookup.answer {
        DnsAnswer::Records(records) => records
            .iter()
            .map(|r| {
                let strings: Vec<String> = r
                    .strings
                    .iter()
                    .map(|s| format!("\"{}\"", escape(&String::from_utf8_lossy(s))))
                    .collect();
                strings.join(" ")
            })
            .collect::<Vec<_>>()
            .join(", "),
        other => answer_text(other),
    }
}

fn mx_summary(lookup: &Lookup<MxRecord>) -> String {
    match &lookup.answer {
        DnsAnswer::Records(records) => records
            .iter()
            .map(|r| {
                format!(
                    "{} {}",
                    r.preference,
                    if r.exchange.is_empty() {
                        "."
                    } else {
                        &r.exchange
                    }
                )
            })
            .map(|s| escape(&s))
            .collect::<Vec<_>>()
            .join(", "),
        other => answer_text(other),
    }
}

/// Why a host has no address to probe: each lookup's answer, or the family left out.
fn no_address(addresses: &Addresses) -> String {
    if !addresses.all().is_empty() {
        return "no address of the family probed".into();
    }
    let a = match &addresses.a.answer {
        DnsAnswer::Records(_) => String::new(),
        other => answer_text(other),
    };
    let aaaa = match &addresses.aaaa.answer {
        DnsAnswer::Records(_) => String::new(),
        other => answer_text(other),
    };
    format!("no address (A: {a}; AAAA: {aaaa})")
}

fn answer_text<T>(answer: &DnsAnswer<T>) -> String {
    match answer {
        DnsAnswer::Records(_) => String::new(),
        DnsAnswer::NxDomain => "NXDOMAIN (the name does not exist)".into(),
        DnsAnswer::NoData => "no records".into(),
        DnsAnswer::Failed(why) => format!("lookup failed: {}", escape(&why.to_string())),
    }
}

fn fetch_summary(f: &PolicyFetch) -> String {
    let ms = f.elapsed.as_millis();
    match &f.result {
        Err(e) => format!("{}, {ms} ms", escape(&e.to_string())),
        Ok(r) => {
            let ct = r
                .header("content-type")
                .unwrap_or_else(|| "no Content-Type".into());
            let more = if r.body_truncated { "+" } else { "" };
            format!(
                "HTTP {} {}, {}{more} bytes, {ms} ms",
                r.status,
                escape(&ct),
                r.body.len()
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_wrap_at_the_width_with_a_hanging_indent() {
        let text = "hint: Renew the certificate and reload the mail server; automate renewal.";
        assert_eq!(
            wrap(text, 13, "      ", None),
            [text],
            "off a terminal: one line"
        );
        let lines = wrap(text, 13, "      ", Some(50));
        assert_eq!(
            lines,
            [
                "hint: Renew the certificate and",
                "      reload the mail server;",
                "      automate renewal.",
            ]
        );
        assert!(
            lines.iter().all(|l| 13 + l.chars().count() <= 50),
            "{lines:?}"
        );
        // A word longer than the room stays whole.
        let long = format!("hint: {}", "x".repeat(80));
        assert_eq!(
            wrap(&long, 13, "      ", Some(50)),
            ["hint:", &format!("      {}", "x".repeat(80))]
        );
    }
}
