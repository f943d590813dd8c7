//! Reporters: render judged domains to a writer, for people or for programs. The audit
//! streams, so a reporter is a [`Sink`]: told about the run, then each domain as it is
//! judged, then the tally at the end.

pub mod github;
pub mod human;
pub mod init;
pub mod json;
pub mod jsonl;
pub mod prometheus;
pub mod tlsrpt;

use std::io::{self, Write};
use std::time::Duration;

use crate::judge::{DomainReport, LintReport};
use crate::observe::Families;
use crate::tally::Tally;

/// Output format of `mtasts check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CheckFormat {
    /// Grouped by stage, for a terminal; each domain as it is judged.
    Human,
    /// One JSON document, domains in input order (schema in the README).
    Json,
    /// One JSON object per line, per domain, written as soon as it is judged.
    Jsonl,
    /// GitHub Actions workflow commands: one annotation per finding.
    Github,
    /// Prometheus text exposition format, for node_exporter's textfile collector.
    Prometheus,
}

impl CheckFormat {
    /// Whether domains are written in input order (the others as each is judged).
    pub fn ordered(self) -> bool {
        !matches!(self, CheckFormat::Jsonl)
    }
}

/// Where judged domains go, one by one.
pub trait Sink {
    fn begin(&mut self, run: &Run) -> io::Result<()>;
    fn domain(&mut self, report: &DomainReport) -> io::Result<()>;
    fn end(&mut self, tally: &Tally) -> io::Result<()>;
}

/// The sink for `format`, writing to `out`.
pub fn sink<'a, W: Write + 'a>(
    format: CheckFormat,
    style: Style,
    out: &'a mut W,
) -> Box<dyn Sink + 'a> {
    match format {
        CheckFormat::Human => Box::new(human::HumanSink::new(style, out)),
        CheckFormat::Json => Box::new(json::JsonSink::new(out)),
        CheckFormat::Jsonl => Box::new(jsonl::JsonlSink::new(out)),
        CheckFormat::Github => Box::new(github::GithubSink::new(out)),
        CheckFormat::Prometheus => Box::new(prometheus::PrometheusSink::new(out)),
    }
}

/// Output format of `lint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LintFormat {
    /// Line by line, for a terminal.
    Human,
    /// One JSON document (schema in the README).
    Json,
    /// GitHub Actions workflow commands: one annotation per finding, on its file and line.
    Github,
}

/// Output format of `checks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The README's Markdown table.
    Human,
    /// One JSON document (schema in the README).
    Json,
}

/// How much the human reporter says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub color: bool,
    /// Also show hints of info findings and the full certificate details.
    pub verbose: bool,
    /// Wrap hints at this many columns (the terminal's width); `None` off a terminal.
    pub width: Option<usize>,
}

/// What a report says about the run itself: when it was judged, and the options that
/// change results (so that two reports can be compared knowing how each was made).
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// Unix seconds.
    pub judged_at: i64,
    pub timeout: Duration,
    pub deadline: Duration,
    pub families: Families,
    pub skip_mx: bool,
    /// `--policy-file`, as given.
    pub policy_file: Option<String>,
    /// Each `--zone`, as given, in order.
    pub zones: Vec<String>,
    /// `--state`, as given.
    pub state: Option<String>,
    pub expiry_warning_days: u32,
    /// `--resolver`, or `None` for the system's.
    pub resolver: Option<String>,
    /// `--ca-file`, as given.
    pub ca_file: Option<String>,
    pub ehlo_name: String,
}

/// Policy files judged offline (`mtasts lint`).
pub fn render_lint(
    reports: &[LintReport],
    format: LintFormat,
    style: Style,
    out: &mut impl Write,
) -> io::Result<()> {
    match format {
        LintFormat::Human => human::render_lint(reports, style, out),
        LintFormat::Json => json::render_lint(reports, out),
        LintFormat::Github => github::render_lint(reports, out),
    }
}

/// The registry of checks: a Markdown table (the README's), or JSON.
pub fn checks(format: Format, out: &mut impl Write) -> io::Result<()> {
    use crate::checks::Check;
    match format {
        Format::Human => {
            writeln!(out, "| id | severity | result-type | meaning | fix | RFC |")?;
            writeln!(out, "|---|---|---|---|---|---|")?;
            for check in Check::ALL {
                let info = check.info();
                let result_type = info.result_type.map_or("—", |r| r.as_str());
                writeln!(
                    out,
                    "| `{}` | {} | {result_type} | {} | {} | {} |",
                    info.id, info.severity, info.title, info.hint, info.rfc
                )?;
            }
            Ok(())
        }
        Format::Json => {
            let all: Vec<_> = Check::ALL
                .iter()
                .map(|c| {
                    let i = c.info();
                    serde_json::json!({
                        "id": i.id, "severity": i.severity, "title": i.title, "hint": i.hint,
                        "rfc": i.rfc, "result_type": i.result_type,
                    })
                })
                .collect();
            let doc = serde_json::json!({
                "schema_version": json::SCHEMA_VERSION,
                "tool": json::tool(),
                "checks": all,
            });
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            writeln!(out)
        }
    }
}

/// Makes text from the network safe to print on a terminal: control characters (ANSI
/// escapes, carriage returns, ...), bidirectional overrides and other invisible format
/// characters become visible `\x1b` / `\u{202e}` escapes, so a server cannot rewrite
/// what the reader sees.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if is_invisible(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// C1 controls and the Unicode format characters that reorder or hide text.
pub fn is_invisible(c: char) -> bool {
    matches!(c as u32,
        0x80..=0x9f            // C1 controls (0x9b is a one-byte CSI)
        | 0x061c               // Arabic letter mark
        | 0x200b..=0x200f      // zero-width characters, LRM, RLM
        | 0x2028 | 0x2029      // line and paragraph separators
        | 0x202a..=0x202e      // bidi embeddings and overrides
        | 0x2060..=0x2069      // word joiner, invisible operators, bidi isolates
        | 0xfeff               // zero-width no-break space (BOM)
        | 0xfff9..=0xfffb      // interlinear annotations
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn escape_neutralises_terminal_tricks() {
        assert_eq!(
            escape("220 mx.example.com ESMTP"),
            "220 mx.example.com ESMTP"
        );
        assert_eq!(escape("ok\x1b[2J\x1b[31mfake"), "ok\\x1b[2J\\x1b[31mfake");
        assert_eq!(escape("all good\rFAIL"), "all good\\rFAIL");
        assert_eq!(escape("a\u{202e}gnp.exe"), "a\\u{202e}gnp.exe");
        assert_eq!(escape("x\u{9b}31m"), "x\\u{9b}31m");
        assert_eq!(
            escape("line\nnext\ttab\0nul\\"),
            "line\\nnext\\ttab\\x00nul\\\\"
        );
        assert_eq!(escape("Grüße, 日本"), "Grüße, 日本");
    }

    /// Undoes [`escape`], or None for text it cannot have made: a reference decoder, so
    /// that a round trip shows that escape loses nothing and no two texts look alike.
    fn unescape(s: &str) -> Option<String> {
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            let hex = |digits: &str| {
                u32::from_str_radix(digits, 16)
                    .ok()
                    .and_then(char::from_u32)
            };
            out.push(match chars.next()? {
                '\\' => '\\',
                't' => '\t',
                'r' => '\r',
                'n' => '\n',
                'x' => hex(&chars.by_ref().take(2).collect::<String>())?,
                'u' if chars.next() == Some('{') => {
                    hex(&chars.by_ref().take_while(|c| *c != '}').collect::<String>())?
                }
                _ => return None,
            });
        }
        Some(out)
    }

    /// Text with plenty of what escape must take care of.
    fn tricky() -> impl Strategy<Value = String> {
        let special = prop::sample::select(vec![
            '\\', '\x1b', '\r', '\n', '\t', '\0', '\x7f', '\u{9b}', '\u{202a}', '\u{202e}',
            '\u{2066}', '\u{2069}', '\u{200f}', '\u{feff}', 'x', 'u', '{', '}', '[', '2', 'J',
        ]);
        prop::collection::vec(prop_oneof![any::<char>(), special], 0..40)
            .prop_map(String::from_iter)
    }

    proptest! {
        #[test]
        fn escape_leaves_no_control_or_bidi_character(text in tricky()) {
            let out = escape(&text);
            prop_assert!(
                !out.chars().any(|c| c.is_control()
                    || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
                    || is_invisible(c)),
                "{:?} -> {:?}", text, out
            );
        }

        #[test]
        fn escape_is_undone_by_unescape(text in tricky()) {
            prop_assert_eq!(unescape(&escape(&text)), Some(text));
        }

        #[test]
        fn distinct_texts_stay_distinct(a in tricky(), b in tricky()) {
            prop_assume!(a != b);
            prop_assert_ne!(escape(&a), escape(&b));
        }
    }
}
