//! GitHub Actions workflow commands: one `::error`, `::warning` or `::notice` line per
//! finding, which the runner turns into an annotation of the run (of a file and line, for
//! `lint`), and one plain line per domain or file saying its verdict.
//!
//! A workflow command is one line, `::KIND PROPERTIES::MESSAGE`. The runner decodes `%25`,
//! `%0D` and `%0A` in the message, and also `%3A` and `%2C` in property values (where a
//! raw `:` or `,` would end the value). Text from servers and files is first shown as the
//! human reporter shows it ([`escape`]: control characters and bidi overrides made
//! visible), then encoded, so a finding can neither break its line nor start a command of
//! its own; and every plain line starts with `mtasts: `.

use std::io::{self, Write};

use crate::checks::Severity;
use crate::finding::Finding;
use crate::judge::{DomainReport, LintReport};
use crate::report::tlsrpt::human::plural;
use crate::report::{Run, Sink, escape};
use crate::tally::Tally;

/// Where an annotation points: a file and a line of it.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Place<'a> {
    pub file: Option<&'a str>,
    pub line: Option<usize>,
}

/// One annotation line: `severity`'s command, `place` and `title` as properties (shown
/// [`escape`]d), `message` as data (the caller escapes the outside text in it, since a
/// message may hold lines of its own).
pub(crate) fn annotation(
    out: &mut impl Write,
    severity: Severity,
    place: Place<'_>,
    title: &str,
    message: &str,
) -> io::Result<()> {
    let command = match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "notice",
    };
    let mut properties = Vec::new();
    if let Some(file) = place.file {
        properties.push(format!("file={}", property(&escape(file))));
    }
    if let Some(line) = place.line {
        properties.push(format!("line={line}"));
    }
    properties.push(format!("title={}", property(&escape(title))));
    writeln!(
        out,
        "::{command} {}::{}",
        properties.join(","),
        data(message)
    )
}

/// What the runner decodes in a message.
fn data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// What the runner decodes in a property value.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

/// A finding's message (outside text, escaped) and, for warnings and errors, its hint on
/// a second line of the annotation.
fn message(f: &Finding) -> String {
    let info = f.check.info();
    let mut text = escape(&f.message);
    if info.severity > Severity::Info {
        text.push_str(&format!("\nhint: {} ({})", f.hint(), info.rfc));
    }
    text
}

/// "3 errors, 1 warning, 2 info".
fn counts(findings: &[Finding]) -> String {
    let n = |s: Severity| findings.iter().filter(|f| f.severity() == s).count();
    format!(
        "{}, {}, {} info",
        plural(n(Severity::Error), "error"),
        plural(n(Severity::Warning), "warning"),
        n(Severity::Info)
    )
}

/// `mtasts check --format github`.
pub struct GithubSink<'a, W> {
    out: &'a mut W,
}

impl<'a, W: Write> GithubSink<'a, W> {
    pub fn new(out: &'a mut W) -> Self {
        GithubSink { out }
    }
}

impl<W: Write> Sink for GithubSink<'_, W> {
    fn begin(&mut self, _run: &Run) -> io::Result<()> {
        Ok(())
    }

    fn domain(&mut self, report: &DomainReport) -> io::Result<()> {
        let domain = &report.observations.domain;
        for f in &report.findings {
            let title = format!("{domain}: {} ({})", f.check.id(), f.subject.place(domain));
            annotation(
                &mut *self.out,
                f.severity(),
                Place::default(),
                &title,
                &message(f),
            )?;
        }
        let ready = match report.readiness.ready {
            Some(true) => "yes",
            Some(false) => "no",
            None => "unknown",
        };
        writeln!(
            self.out,
            "mtasts: {domain}: {} ({}); enforce-ready: {ready}",
            report.verdict.as_str(),
            counts(&report.findings)
        )?;
        self.out.flush()
    }

    fn end(&mut self, tally: &Tally) -> io::Result<()> {
        let mut line = format!(
            "mtasts: {} domains: {} pass, {} warn, {} fail",
            tally.domains, tally.pass, tally.warn, tally.fail
        );
        if tally.not_audited > 0 {
            line.push_str(&format!(
                ", {} not audited from this network",
                tally.not_audited
            ));
        }
        writeln!(self.out, "{line}")?;
        self.out.flush()
    }
}

/// `mtasts lint --format github`: each finding on its file, and on its line when it knows
/// it (standard input has no file to point at).
pub fn render_lint(reports: &[LintReport], out: &mut impl Write) -> io::Result<()> {
    for r in reports {
        let file = (r.path != "-").then_some(r.path.as_str());
        for f in &r.findings {
            let place = Place { file, line: f.line };
            annotation(out, f.severity(), place, f.check.id(), &message(f))?;
        }
        writeln!(
            out,
            "mtasts: {}: {} ({})",
            escape(&r.path),
            r.verdict.as_str(),
            counts(&r.findings)
        )?;
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::checks::Check;
    use crate::finding::Subject;

    /// Undoes the runner's decoding of a message or property value.
    pub(crate) fn decode(text: &str) -> String {
        text.replace("%0A", "\n")
            .replace("%0D", "\r")
            .replace("%3A", ":")
            .replace("%2C", ",")
            .replace("%25", "%")
    }

    /// An annotation as the runner reads it: command, properties (decoded), message.
    pub(crate) type Parsed<'a> = (&'a str, Vec<(&'a str, String)>, String);

    /// An annotation line, split and decoded as the runner does.
    pub(crate) fn parse(line: &str) -> Option<Parsed<'_>> {
        let rest = line.strip_prefix("::")?;
        let (head, message) = rest.split_once("::")?;
        let (command, properties) = head.split_once(' ').unwrap_or((head, ""));
        let properties = properties
            .split(',')
            .filter(|p| !p.is_empty())
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k, decode(v)))
            .collect();
        Some((command, properties, decode(message)))
    }

    #[test]
    fn severities_are_the_runners_three_commands() {
        for (severity, command) in [
            (Severity::Error, "error"),
            (Severity::Warning, "warning"),
            (Severity::Info, "notice"),
        ] {
            let mut out = Vec::new();
            annotation(&mut out, severity, Place::default(), "t", "m").expect("in memory");
            assert_eq!(
                String::from_utf8(out).expect("utf-8"),
                format!("::{command} title=t::m\n")
            );
        }
    }

    #[test]
    fn hostile_text_stays_on_its_line_and_decodes_to_what_people_are_shown() {
        let hostile = "100% done\r\n::error::forged\n\x1b[2Jgone,: \u{202e}x";
        // A message's lines are its caller's (escaped outside text, then our own lines).
        let message = format!("{}\nhint: 100%\r\n::error::x", escape(hostile));
        let mut out = Vec::new();
        let place = Place {
            file: Some("dir,a:b%/\nmta-sts.txt"),
            line: Some(3),
        };
        annotation(&mut out, Severity::Warning, place, hostile, &message).expect("in memory");
        let text = String::from_utf8(out).expect("utf-8");
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(!text.trim_end().contains(['\r', '\n', '\x1b']), "{text}");
        let (command, properties, decoded) = parse(text.trim_end()).expect("an annotation");
        assert_eq!(command, "warning");
        assert_eq!(decoded, message);
        assert_eq!(
            properties,
            [
                ("file", escape("dir,a:b%/\nmta-sts.txt")),
                ("line", "3".to_string()),
                ("title", escape(hostile)),
            ]
        );
    }

    #[test]
    fn a_finding_carries_its_escaped_message_and_for_warnings_its_hint() {
        let f = Finding::new(
            Check::TlsrptAbsent,
            Subject::TlsRptRecord,
            "_smtp._tls.example.com: 50% \x1b[31m",
        );
        let info = Check::TlsrptAbsent.info();
        assert_eq!(
            message(&f),
            format!(
                "_smtp._tls.example.com: 50% \\x1b[31m\nhint: {} ({})",
                info.hint, info.rfc
            )
        );
        let info_only = Finding::new(Check::StsTxtExtension, Subject::StsRecord, "x");
        assert_eq!(message(&info_only), "x");
    }
}
