//! `mtasts report --format github`: one annotation per result-type with failed sessions,
//! per finding about the reports (on the file it was read from) and per input that could
//! not be read, then one plain line with the verdict. See `report/github.rs` for the
//! escaping.

use std::io::{self, Write};

use crate::checks::Severity;
use crate::report::escape;
use crate::report::github::{Place, annotation};
use crate::report::tlsrpt::human::plural;
use crate::tlsrpt::Summary;
use crate::tlsrpt::summary::ResultTypeRow;

/// Policy domains, organisations and commands named in a result-type's annotation; the
/// rest are counted (a row may hold thousands).
const NAMED: usize = 5;

pub fn render(s: &Summary, out: &mut impl Write) -> io::Result<()> {
    for row in s.result_types.iter().filter(|r| r.failed > 0) {
        let title = format!("{}: {} failed sessions", row.result_type, row.failed);
        annotation(out, row.severity, Place::default(), &title, &failed(row))?;
    }
    for f in &s.findings {
        let info = f.check.info();
        let mut message = escape(&f.message);
        if let Some(path) = &f.path {
            let place = f
                .place
                .as_deref()
                .map_or(String::new(), |p| format!(", {p}"));
            message = format!("{}{}: {message}", escape(path), escape(&place));
        }
        if info.severity > Severity::Info {
            message.push_str(&format!("\nhint: {} ({})", info.hint, info.rfc));
        }
        let place = Place {
            file: f.path.as_deref().filter(|p| *p != "-"),
            line: None,
        };
        annotation(out, info.severity, place, info.id, &message)?;
    }
    for input in &s.inputs {
        for e in &input.errors {
            let info = e.error.check().info();
            let place = Place {
                file: (input.path != "-").then_some(input.path.as_str()),
                line: None,
            };
            let message = format!("{}: {}", escape(&input.path), escape(&e.to_string()));
            annotation(out, info.severity, place, info.id, &message)?;
        }
    }
    writeln!(
        out,
        "mtasts: TLS-RPT: {}: {}, {} successful and {} failed sessions",
        super::verdict(s).as_str(),
        plural(s.distinct(), "report"),
        s.successful,
        s.failed
    )
}

/// "12 sessions failed with certificate-expired for example.com, reported by Google Inc.",
/// and on a second line the command that reproduces it.
fn failed(row: &ResultTypeRow) -> String {
    let registered = if row.registered {
        ""
    } else {
        " (not a registered result-type)"
    };
    let mut text = escape(&format!(
        "{} sessions failed with {}{registered} for {}, reported by {}",
        row.failed,
        row.result_type,
        named(&row.domains),
        named(&row.organizations)
    ));
    let commands = row.commands();
    if !commands.is_empty() {
        let shown: Vec<String> = commands.into_iter().take(NAMED).collect();
        text.push_str(&format!("\nreproduce: {}", escape(&shown.join("; "))));
    }
    text
}

/// The first [`NAMED`] of `names`, and how many more: "a, b and 3 more".
fn named(names: &[String]) -> String {
    let shown = names[..names.len().min(NAMED)].join(", ");
    match names.len().saturating_sub(NAMED) {
        0 => shown,
        more => format!("{shown} and {more} more"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::github::tests::parse;

    #[test]
    fn long_lists_are_cut_and_counted() {
        let names: Vec<String> = (1..=7).map(|i| format!("d{i}.example")).collect();
        assert_eq!(
            named(&names),
            "d1.example, d2.example, d3.example, d4.example, d5.example and 2 more"
        );
        assert_eq!(named(&names[..2]), "d1.example, d2.example");
    }

    #[test]
    fn hostile_reports_give_one_line_per_annotation_and_nothing_raw() {
        let mut out = Vec::new();
        render(&super::super::tests::hostile(), &mut out).expect("in memory");
        let text = String::from_utf8(out).expect("utf-8");
        assert!(
            !text.contains(['\x1b', '\r', '\u{202e}', '\u{7}']),
            "{text}"
        );
        let lines: Vec<&str> = text.lines().collect();
        let annotations: Vec<_> = lines.iter().filter_map(|l| parse(l)).collect();
        let commands: Vec<&str> = annotations.iter().map(|(c, _, _)| *c).collect();
        // The result-type, the count given as a string, the duplicate, the unreadable input.
        assert_eq!(commands, ["error", "notice", "notice", "warning"], "{text}");
        assert_eq!(
            annotations[0].1,
            [(
                "title",
                "certificate-expired: 3 failed sessions".to_string()
            )]
        );
        assert_eq!(
            annotations[0].2,
            "3 sessions failed with certificate-expired for example.com, reported by Evil\\x1b[2J Corp\nreproduce: mtasts check example.com"
        );
        assert_eq!(annotations[1].1[0], ("file", "a.json".to_string()));
        assert_eq!(annotations[2].1[0], ("file", "again.json".to_string()));
        assert_eq!(annotations[3].1[0], ("file", "bad.json".to_string()));
        assert_eq!(lines.len(), annotations.len() + 1);
        assert_eq!(
            lines.last().copied(),
            Some("mtasts: TLS-RPT: fail: 1 report, 9 successful and 3 failed sessions")
        );
    }
}
