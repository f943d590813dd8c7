//! The human reporter: each domain grouped by stage (DNS, policy, each MX with each
//! address), one line per finding with its hint, and a verdict line. Everything a server
//! sent goes through [`escape`] first.

use std::io::{self, Write};

use crate::cert;
use crate::dates;
use crate::finding::{Finding, Severity, Subject, Verdict};
use crate::judge::{DomainReport, LintReport};
use crate::observe::{
    Addresses, DnsAnswer, Lookup, MxRecord, PolicyFetch, PolicySource, ProbeFailure, SmtpProbe,
    TxtRecord,
};
use crate::policy::ParsedPolicy;
use crate::report::{Style, escape};

const BOLD: &str = "\x1b[1m";
const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const BLUE: &str = "\x1b[34m";
const GREEN: &str = "\x1b[32m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

pub fn render(reports: &[DomainReport], style: Style, out: &mut impl Write) -> io::Result<()> {
    for (i, report) in reports.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        Domain {
            report,
            style,
            shown: vec![false; report.findings.len()],
        }
        .render(out)?;
    }
    if reports.len() > 1 {
        writeln!(out)?;
        for report in reports {
            summary_line(report, style, out)?;
        }
    }
    Ok(())
}

struct Domain<'a> {
    report: &'a DomainReport,
    style: Style,
    /// Which findings have been printed, so that none is lost or printed twice.
    shown: Vec<bool>,
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
        let obs = &self.report.observations;
        let d = &obs.domain;
        writeln!(out, "{}", self.paint(BOLD, &escape(d)))?;

        writeln!(out, "{}", self.paint(BOLD, "DNS"))?;
        writeln!(
            out,
            "  {} TXT  {}",
            escape(&obs.sts.name),
            txt_summary(&obs.sts)
        )?;
        self.findings(out, |s| *s == Subject::StsRecord)?;
        writeln!(
            out,
            "  {} TXT  {}",
            escape(&obs.tlsrpt.name),
            txt_summary(&obs.tlsrpt)
        )?;
        self.findings(out, |s| *s == Subject::TlsRptRecord)?;
        writeln!(out, "  {d} MX  {}", mx_summary(&obs.mx))?;
        self.findings(out, |s| *s == Subject::MxRecords)?;

        writeln!(out, "{}", self.paint(BOLD, "Policy"))?;
        match &obs.policy {
            PolicySource::Draft { path, .. } => writeln!(out, "  draft {}", escape(path))?,
            PolicySource::Fetched(fetches) => {
                writeln!(out, "  {}", crate::finding::policy_url(d))?;
                if fetches.fetches.is_empty() {
                    writeln!(out, "  mta-sts.{d}: {}", no_address(&fetches.host))?;
                }
                for fetch in &fetches.fetches {
                    writeln!(out, "  {}  {}", fetch.addr, fetch_summary(fetch))?;
                    if let Some(tls) = &fetch.tls {
                        self.chain(&tls.chain, out)?;
                    }
                    let addr = fetch.addr;
                    self.findings(out, |s| *s == Subject::Policy { addr: Some(addr) })?;
                }
            }
        }
        if let Some(parsed) = &self.report.policy {
            policy_line(parsed, out)?;
        }
        self.findings(out, |s| *s == Subject::Policy { addr: None })?;

        let applied = self.report.policy.as_ref().and_then(|p| p.policy.as_ref());
        for host in &obs.mx_hosts {
            let pattern = applied.and_then(|p| p.matching_pattern(&host.name));
            let covered = pattern
                .map(|p| format!("  (policy: {})", escape(p)))
                .unwrap_or_default();
            writeln!(
                out,
                "{} {}{covered}",
                self.paint(BOLD, &format!("MX {}", host.preference)),
                self.paint(BOLD, &escape(&host.name))
            )?;
            let name = host.name.clone();
            self.findings(
                out,
                |s| matches!(s, Subject::Mx { host: h, addr: None } if *h == name),
            )?;
            for probe in &host.probes {
                let addr = probe.addr;
                writeln!(
                    out,
                    "  {}  {}",
                    addr.map(|a| a.to_string()).unwrap_or_default(),
                    self.probe_summary(probe)
                )?;
                if let Some(tls) = &probe.tls {
                    self.chain(&tls.chain, out)?;
                }
                self.findings(out, |s| matches!(s, Subject::Mx { host: h, addr: a } if *h == name && *a == addr && a.is_some()))?;
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

        if self.shown.iter().any(|s| !s) {
            writeln!(out, "{}", self.paint(BOLD, "This audit"))?;
            self.findings(out, |_| true)?;
        }
        summary_line(self.report, self.style, out)
    }

    /// Prints the findings about the subjects `wanted` selects that are not printed yet.
    fn findings(
        &mut self,
        out: &mut impl Write,
        wanted: impl Fn(&Subject) -> bool,
    ) -> io::Result<()> {
        for (i, f) in self.report.findings.iter().enumerate() {
            if self.shown[i] || !wanted(&f.subject) {
                continue;
            }
            self.shown[i] = true;
            finding(f, self.style, out)?;
        }
        Ok(())
    }

    fn probe_summary(&self, p: &SmtpProbe) -> String {
        let mut parts = Vec::new();
        if let Some(banner) = &p.banner {
            let text = banner
                .lines
                .first()
                .map(|l| String::from_utf8_lossy(l).into_owned())
                .unwrap_or_default();
            parts.push(format!("{} {}", banner.code, escape(&text)));
        }
        if let Some(tls) = &p.tls {
            if let Some(version) = &tls.version {
                let cipher = tls
                    .cipher
                    .as_deref()
                    .map(|c| format!(" {c}"))
                    .unwrap_or_default();
                parts.push(format!("STARTTLS {version}{cipher}"));
            }
            if let Some(leaf) = tls.chain.first().and_then(|der| cert::summarize(der).ok()) {
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

    /// With `-v`: every certificate of a chain, a few lines each.
    fn chain(&self, chain: &[Vec<u8>], out: &mut impl Write) -> io::Result<()> {
        if !self.style.verbose {
            return Ok(());
        }
        for (i, der) in chain.iter().enumerate() {
            let label = if i == 0 { "certificate" } else { "issued by  " };
            let Ok(c) = cert::summarize(der) else {
                writeln!(out, "      {label}  (unparseable)")?;
                continue;
            };
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
            let left = dates::days_left(c.not_after, self.report.judged_at);
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

/// One finding: severity, id and evidence, then the hint (for errors and warnings, or
/// everything with `-v`).
fn finding(f: &Finding, style: Style, out: &mut impl Write) -> io::Result<()> {
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
    if info.severity > Severity::Info || style.verbose {
        let hint = format!("hint: {} ({})", f.hint(), info.rfc);
        writeln!(out, "             {}", paint(style, DIM, &escape(&hint)))?;
    }
    Ok(())
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
        policy_line(&report.policy, out)?;
        for f in &report.findings {
            finding(f, style, out)?;
        }
        writeln!(
            out,
            "{}: {}",
            escape(&report.path),
            counts(&report.findings, report.verdict, style)
        )?;
    }
    Ok(())
}

/// The policy as read: mode, max_age, mx patterns, line endings.
fn policy_line(parsed: &ParsedPolicy, out: &mut impl Write) -> io::Result<()> {
    match &parsed.policy {
        Some(p) => writeln!(
            out,
            "  mode: {}  max_age: {}  mx: {}  ({} line endings)",
            p.mode.as_str(),
            p.max_age,
            escape(&p.mx.join(", ")),
            parsed.line_endings
        ),
        None => writeln!(out, "  (the body is not a readable policy)"),
    }
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
