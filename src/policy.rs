//! Pure parser and linter for the MTA-STS policy body (RFC 8461 §3.2): the bytes served at
//! `/.well-known/mta-sts.txt` go in; the policy senders read and the problems seen come out.
//! No I/O.
//!
//! Senders differ, so the body gets two readings: a strict one that follows the ABNF to the
//! letter (`valid`), and a lenient one that forgives whitespace, blank lines and odd line
//! breaks (`policy`), so that the MX hosts can still be judged against it.

use std::collections::HashMap;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::checks::Check;
use crate::checks::Severity;
use crate::finding::Problem;
use crate::names;
use crate::record::{cap, ext_name_ok, is_quote, quoted};
use crate::senders;

/// RFC 8461 §3.2: max_age has "a maximum value of 31557600" (one year).
const MAX_AGE_LIMIT: u64 = 31_557_600;
/// Auditor's threshold: below one day a cached policy protects little (RFC 8461 §10.2).
const MAX_AGE_SHORT: u64 = 86_400;
/// Auditor's threshold: guides keep max_age within two weeks while testing (RFC 8461 §8.3).
const MAX_AGE_TESTING: u64 = 1_209_600;

/// Domains shared by many tenants: a wildcard right under one of them accepts any tenant's
/// host (with its valid certificate) as an MX (RFC 8461 §10.4). Deeper provider patterns
/// such as `*.mail.protection.outlook.com` are standard practice and not listed.
const SHARED_SUFFIXES: &[&str] = &[
    "amazonaws.com",
    "azurewebsites.net",
    "cloudapp.net",
    "github.io",
    "gmail.com",
    "google.com",
    "googlemail.com",
    "herokuapp.com",
    "office365.com",
    "onmicrosoft.com",
    "outlook.com",
    "yahoo.com",
];

/// The field names RFC 8461 §3.2 defines.
const KNOWN: [&str; 4] = ["version", "mode", "max_age", "mx"];

/// What senders do with the policy (RFC 8461 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Deliver only to MX hosts that match a pattern and pass certificate validation.
    Enforce,
    /// Deliver anyway, and report failures with TLS-RPT.
    Testing,
    /// Act as if there were no policy.
    None,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Testing => "testing",
            Mode::None => "none",
        }
    }

    /// `%s"testing" / %s"enforce" / %s"none"`: exact and case-sensitive.
    fn parse(value: &str) -> Option<Mode> {
        [Mode::Enforce, Mode::Testing, Mode::None]
            .into_iter()
            .find(|m| m.as_str() == value)
    }
}

/// A policy as senders read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub mode: Mode,
    /// Seconds senders may cache the policy.
    pub max_age: u64,
    /// The `mx` patterns as written, in order.
    pub mx: Vec<String>,
    /// Fields other than the four known ones (the first of each name), in order.
    pub extensions: Vec<(String, String)>,
}

/// What senders apply of a policy: the mode, max_age and mx patterns (extension fields,
/// line endings and the order of lines change nothing for them).
#[derive(Debug, Clone, Copy)]
pub struct Applied<'a> {
    pub mode: Mode,
    pub max_age: u64,
    pub mx: &'a [String],
}

/// What senders would apply differently under `new` than under `old`, a few words each:
/// "mode enforce → testing", "max_age 604800 → 86400", "mx added: mx3.example.com",
/// "mx removed: mx2.example.com" (patterns compared as names: case and a trailing dot do
/// not count).
pub fn differences(old: Applied<'_>, new: Applied<'_>) -> Vec<String> {
    let mut parts = Vec::new();
    if old.mode != new.mode {
        parts.push(format!(
            "mode {} → {}",
            old.mode.as_str(),
            new.mode.as_str()
        ));
    }
    if old.max_age != new.max_age {
        parts.push(format!("max_age {} → {}", old.max_age, new.max_age));
    }
    let set = |mx: &[String]| -> std::collections::BTreeSet<String> {
        mx.iter().map(|m| crate::names::normalize(m)).collect()
    };
    let (before, after) = (set(old.mx), set(new.mx));
    let list = |names: Vec<&String>| {
        names
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let added: Vec<&String> = after.difference(&before).collect();
    if !added.is_empty() {
        parts.push(format!("mx added: {}", list(added)));
    }
    let removed: Vec<&String> = before.difference(&after).collect();
    if !removed.is_empty() {
        parts.push(format!("mx removed: {}", list(removed)));
    }
    parts
}

impl Policy {
    /// What senders apply of it.
    pub fn applied(&self) -> Applied<'_> {
        Applied {
            mode: self.mode,
            max_age: self.max_age,
            mx: &self.mx,
        }
    }

    /// The first mx pattern covering `host` (crate::names::matches), if any.
    pub fn matching_pattern(&self, host: &str) -> Option<&str> {
        self.mx
            .iter()
            .find(|pattern| names::matches(pattern, host))
            .map(String::as_str)
    }
}

impl fmt::Display for Policy {
    /// The canonical policy text: version first, then mode, mx lines, max_age and the
    /// extensions, each line ended by CRLF.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "version: STSv1\r\nmode: {}\r\n", self.mode.as_str())?;
        for mx in &self.mx {
            write!(f, "mx: {mx}\r\n")?;
        }
        write!(f, "max_age: {}\r\n", self.max_age)?;
        for (name, value) in &self.extensions {
            write!(f, "{name}: {value}\r\n")?;
        }
        Ok(())
    }
}

/// A judged policy body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedPolicy {
    /// The policy as a lenient sender would read it (None when even that fails, e.g. no mode).
    pub policy: Option<Policy>,
    /// True when senders that implement RFC 8461 apply it: no Error-severity problem.
    pub valid: bool,
    /// The body's lines as read (line `n` is `lines[n - 1]`), for showing what is wrong
    /// where; empty when the body is not text or is a web page.
    pub lines: Vec<String>,
    pub problems: Vec<Problem>,
    /// "LF", "CRLF" or "mixed" (for the report); "CR" when bare CRs are the only line
    /// breaks, "none" when there is no line break at all.
    pub line_endings: &'static str,
}

/// Parses and lints a policy body.
pub fn parse(body: &[u8]) -> ParsedPolicy {
    let mut problems = Vec::new();
    let mut lines = Vec::new();
    let policy = read(body, &mut problems, &mut lines);
    let problems = cap(problems);
    ParsedPolicy {
        policy,
        lines,
        valid: !problems
            .iter()
            .any(|p| p.check.info().severity == Severity::Error),
        problems,
        line_endings: line_endings(body),
    }
}

fn read(body: &[u8], problems: &mut Vec<Problem>, shown: &mut Vec<String>) -> Option<Policy> {
    let text = decode(body, problems)?;
    if let Some(problem) = html(&text) {
        problems.push(problem);
        return None;
    }
    let lines = split_lines(&text, problems);
    // The empty text after the final line break is the end, not a line.
    let end = lines
        .last()
        .is_some_and(|l| l.term == Term::End && l.text.is_empty());
    let shown_lines = &lines[..lines.len() - usize::from(end)];
    *shown = shown_lines.iter().map(|l| l.text.to_string()).collect();
    let Some(fields) = fields(&lines, problems) else {
        // Not a policy at all: one finding says so, rather than one per missing field.
        let first = lines
            .iter()
            .map(|l| trim_wsp(l.text))
            .find(|t| !t.is_empty());
        problems.push(Problem::new(
            Check::StsPolicyNoFields,
            match first {
                None => "the body is empty".to_string(),
                Some(first) => format!(
                    "no line is a policy field (version, mode, mx, max_age); the body begins {}",
                    quoted(first)
                ),
            },
        ));
        return None;
    };
    blank_lines(&lines, problems);
    judge(&fields, problems)
}

fn line_endings(body: &[u8]) -> &'static str {
    let crlf = body.windows(2).filter(|w| w == b"\r\n").count();
    let lf = body.iter().filter(|b| **b == b'\n').count() - crlf;
    let cr = body.iter().filter(|b| **b == b'\r').count() - crlf;
    match (lf, crlf, cr) {
        (0, 0, 0) => "none",
        (0, 0, _) => "CR",
        (_, 0, 0) => "LF",
        (0, _, 0) => "CRLF",
        _ => "mixed",
    }
}

/// The body as text, or None when it is not text at all. A BOM and NULs are reported and
/// dropped, and bytes that are not UTF-8 decoded lossily, so the fields can still be judged.
fn decode(body: &[u8], problems: &mut Vec<Problem>) -> Option<String> {
    let mut encoding =
        |message: String| problems.push(Problem::new(Check::StsPolicyEncoding, message));
    let line_of = |at: usize| body[..at].iter().filter(|b| **b == b'\n').count() + 1;
    if body.starts_with(&[0xff, 0xfe]) || body.starts_with(&[0xfe, 0xff]) {
        encoding("the body starts with a UTF-16 byte-order mark".to_string());
        return None;
    }
    let nuls = body.iter().filter(|b| **b == 0).count();
    if nuls > 0 && nuls * 4 >= body.len() {
        encoding(format!(
            "{nuls} of the {} bytes are NUL: the body looks like UTF-16",
            body.len()
        ));
        return None;
    }
    let text = match body.strip_prefix(b"\xef\xbb\xbf") {
        Some(rest) => {
            encoding(format!(
                "the body starts with a UTF-8 byte-order mark (EF BB BF): {}",
                senders::DECODING.senders
            ));
            rest
        }
        None => body,
    };
    if let Some(at) = body.iter().position(|b| *b == 0) {
        encoding(format!(
            "the body contains {nuls} NUL byte(s), the first on line {}",
            line_of(at)
        ));
    }
    if let Err(e) = std::str::from_utf8(text) {
        let at = body.len() - text.len() + e.valid_up_to();
        encoding(format!(
            "the body is not valid UTF-8: byte 0x{:02x} on line {}",
            body[at],
            line_of(at)
        ));
    }
    Some(String::from_utf8_lossy(text).replace('\0', ""))
}

/// A web page or JSON served in place of the policy, typically a catch-all route.
fn html(text: &str) -> Option<Problem> {
    let start = text.trim_start();
    let what = match start.chars().next() {
        Some('<') => "HTML",
        Some('{') => "JSON",
        _ => return None,
    };
    let first = start.lines().next().unwrap_or_default();
    Some(Problem::new(
        Check::StsPolicyHtml,
        format!(
            "the body is {what}, not a policy: it begins {}",
            quoted(first)
        ),
    ))
}

/// How a line ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Term {
    Lf,
    CrLf,
    /// A bare CR or another separator that some readers split lines on.
    Other(char),
    /// The end of the body.
    End,
}

struct Line<'a> {
    /// 1-based.
    no: usize,
    text: &'a str,
    term: Term,
}

/// Splits the body into lines. `sts-policy-term = LF / CRLF` (erratum 6253 confirms LF);
/// other separators are reported, and split on as lenient readers do.
fn split_lines<'a>(text: &'a str, problems: &mut Vec<Problem>) -> Vec<Line<'a>> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        let term = match c {
            '\n' => Term::Lf,
            '\r' if text[at + 1..].starts_with('\n') => Term::CrLf,
            '\r'
            | '\u{0b}'
            | '\u{0c}'
            | '\u{1c}'..='\u{1e}'
            | '\u{85}'
            | '\u{2028}'
            | '\u{2029}' => Term::Other(c),
            _ => continue,
        };
        lines.push(Line {
            no: lines.len() + 1,
            text: &text[start..at],
            term,
        });
        start = at + c.len_utf8();
        if term == Term::CrLf {
            chars.next();
            start += 1;
        }
    }
    lines.push(Line {
        no: lines.len() + 1,
        text: &text[start..],
        term: Term::End,
    });

    let others: Vec<&Line> = lines
        .iter()
        .filter(|l| matches!(l.term, Term::Other(_)))
        .collect();
    if let Some(Line {
        no,
        term: Term::Other(c),
        ..
    }) = others.first()
    {
        let what = match c {
            '\r' => format!(
                "a bare CR (carriage return without line feed; {})",
                senders::BARE_CR.senders
            ),
            c => format!("the separator U+{:04X}", *c as u32),
        };
        let more = match others.len() {
            1 => String::new(),
            n => format!("; {n} lines end with something other than LF or CRLF"),
        };
        problems.push(Problem::new(
            Check::StsPolicyLineEnding,
            format!("{what} ends line {no}{more}"),
        ));
    }
    lines
}

/// `*(sts-policy-term sts-policy-field *WSP) [sts-policy-term]`: no empty line anywhere, and
/// at most one terminator after the last field. Senders mostly skip blank lines (see
/// [`senders::BLANK_LINE`]), so those before or between fields are a risk and those at the
/// end only untidy.
fn blank_lines(lines: &[Line], problems: &mut Vec<Problem>) {
    let blank = |l: &Line| trim_wsp(l.text).is_empty();
    let (Some(first), Some(last)) = (
        lines.iter().position(|l| !blank(l)),
        lines.iter().rposition(|l| !blank(l)),
    ) else {
        return;
    };
    let mut parts = Vec::new();
    if first > 0 {
        parts.push(format!(
            "the body starts with {}",
            plural(first, "blank line")
        ));
    }
    let inner: Vec<usize> = lines[first..last]
        .iter()
        .filter(|l| blank(l))
        .map(|l| l.no)
        .collect();
    if !inner.is_empty() {
        let verb = if inner.len() == 1 { "is" } else { "are" };
        parts.push(format!("{} {verb} blank", line_list(&inner)));
    }
    if !parts.is_empty() {
        let at = if first > 0 { 1 } else { inner[0] };
        problems.push(
            Problem::new(
                Check::StsPolicyBlankLine,
                format!("{}: {}", parts.join("; "), senders::BLANK_LINE.senders),
            )
            .on_line(at),
        );
    }
    // The empty text after the final terminator is the allowed end, not a blank line.
    let trailing: Vec<&Line> = lines[last + 1..]
        .iter()
        .filter(|l| !(l.term == Term::End && l.text.is_empty()))
        .collect();
    if let Some(line) = trailing.first() {
        problems.push(
            Problem::new(
                Check::StsPolicyTrailingBlank,
                format!(
                    "{} after the last field (at most one line break may end the policy): {}",
                    plural(trailing.len(), "blank line"),
                    senders::BLANK_LINE.senders
                ),
            )
            .on_line(line.no),
        );
    }
}

/// One `name: value` line, leading and trailing whitespace set aside.
struct Field<'a> {
    no: usize,
    name: &'a str,
    value: &'a str,
}

/// The `name: value` lines, with the layout mistakes reported; None when no line is a
/// policy field.
fn fields<'a>(lines: &[Line<'a>], problems: &mut Vec<Problem>) -> Option<Vec<Field<'a>>> {
    let (mut fields, mut bad, mut leading, mut colon) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut comments = Vec::new();
    for line in lines.iter().filter(|l| !trim_wsp(l.text).is_empty()) {
        // Trailing WSP is allowed (`sts-policy-field *WSP`), leading WSP is not.
        let content = line.text.trim_end_matches([' ', '\t']);
        let text = content.trim_start_matches([' ', '\t']);
        if text.len() < content.len() {
            leading.push(line);
        }
        if text.starts_with('#') {
            comments.push(
                Problem::new(
                    Check::StsPolicyComment,
                    format!(
                        "line {} {} is a comment, which the policy grammar does not have: {}",
                        line.no,
                        quoted(line.text),
                        senders::COMMENT.senders
                    ),
                )
                .on_line(line.no),
            );
            continue;
        }
        let why = match text.split_once(':') {
            Some((name, value)) => {
                let trimmed = name.trim_end_matches([' ', '\t']);
                if trimmed.len() < name.len() {
                    colon.push(line);
                }
                fields.push(Field {
                    no: line.no,
                    name: trimmed,
                    value: value.trim_start_matches([' ', '\t']),
                });
                continue;
            }
            None if text.contains('=') => "has no ':' (write \"name: value\", not \"name=value\")",
            None => "has no ':'",
        };
        bad.push(
            Problem::new(
                Check::StsPolicyBadLine,
                format!(
                    "line {} {} {why}: {}",
                    line.no,
                    quoted(line.text),
                    senders::COMMENT.senders
                ),
            )
            .on_line(line.no),
        );
    }
    // Without a single policy field (or a misspelling of one) this is some other document.
    if !fields
        .iter()
        .any(|f| KNOWN.contains(&f.name) || near_miss(f.name).is_some())
    {
        return None;
    }
    problems.extend(comments);
    problems.extend(bad);
    for (lines, check, one, many) in [
        (
            leading,
            Check::StsPolicyLeadingWsp,
            "starts with whitespace",
            "start with whitespace",
        ),
        (
            colon,
            Check::StsPolicyColonWsp,
            "has whitespace before ':'",
            "have whitespace before ':'",
        ),
    ] {
        if let Some(first) = lines.first() {
            let numbers: Vec<usize> = lines.iter().map(|l| l.no).collect();
            let what = if lines.len() == 1 { one } else { many };
            problems.push(
                Problem::new(
                    check,
                    format!(
                        "{} {what}: {} ({})",
                        line_list(&numbers),
                        quoted(first.text),
                        senders::LAYOUT.senders
                    ),
                )
                .on_line(first.no),
            );
        }
    }
    Some(fields)
}

/// The fields by name, names in order of first appearance.
struct Groups<'f, 'a> {
    index: HashMap<&'a str, usize>,
    groups: Vec<(&'a str, Vec<&'f Field<'a>>)>,
}

impl<'f, 'a> Groups<'f, 'a> {
    fn of(fields: &'f [Field<'a>]) -> Self {
        let mut g = Groups {
            index: HashMap::new(),
            groups: Vec::new(),
        };
        for f in fields {
            let i = *g.index.entry(f.name).or_insert_with(|| {
                g.groups.push((f.name, Vec::new()));
                g.groups.len() - 1
            });
            g.groups[i].1.push(f);
        }
        g
    }

    fn entries(&self, name: &str) -> &[&'f Field<'a>] {
        self.index
            .get(name)
            .map_or(&[][..], |&i| &self.groups[i].1[..])
    }

    /// The entry senders use (RFC 8461 §3.2: "all entries except for the first SHALL be
    /// ignored", mx aside).
    fn first(&self, name: &str) -> Option<&'f Field<'a>> {
        self.entries(name).first().copied()
    }

    /// The fields other than the four known ones.
    fn others(&self) -> impl Iterator<Item = &(&'a str, Vec<&'f Field<'a>>)> + '_ {
        self.groups.iter().filter(|(n, _)| !KNOWN.contains(n))
    }
}

/// Judges the fields and builds the lenient reading.
fn judge(fields: &[Field], problems: &mut Vec<Problem>) -> Option<Policy> {
    let groups = Groups::of(fields);
    // Strict parsers read every entry, the ignored ones too.
    for f in fields.iter().filter(|f| KNOWN.contains(&f.name)) {
        if let Some((check, why)) = value_problem(f) {
            problems.push(at(check, f, why));
        }
    }
    for (name, same) in groups
        .groups
        .iter()
        .filter(|(n, g)| *n != "mx" && g.len() > 1)
    {
        problems.push(duplicate(name, same));
    }
    let mode = groups.first("mode").and_then(|f| Mode::parse(f.value));
    let max_age = groups
        .first("max_age")
        .and_then(|f| lenient_max_age(f.value));
    let missing = missing_fields(&groups, mode, problems);
    other_fields(&groups, &missing, problems);
    if let (Some(f), Some(age)) = (groups.first("max_age"), max_age)
        && let Some((check, why)) = max_age_advice(age, mode)
    {
        problems.push(at(check, f, why));
    }
    Some(Policy {
        mode: mode?,
        max_age: max_age?,
        mx: groups
            .entries("mx")
            .iter()
            .filter(|f| !f.value.is_empty())
            .map(|f| f.value.to_string())
            .collect(),
        extensions: groups
            .others()
            .filter(|(_, g)| extension_problem(g[0]).is_none())
            .map(|(n, g)| (n.to_string(), g[0].value.to_string()))
            .collect(),
    })
}

/// The known fields that are missing, each reported: as a misspelling or a name in
/// another case when one of the other fields is meant for it, else as missing.
fn missing_fields(
    groups: &Groups,
    mode: Option<Mode>,
    problems: &mut Vec<Problem>,
) -> Vec<&'static str> {
    // mx is "required at least once, except when mode is "none"": unknown without a mode.
    let missing: Vec<&'static str> = KNOWN
        .into_iter()
        .filter(|k| groups.first(k).is_none())
        .filter(|k| *k != "mx" || matches!(mode, Some(Mode::Enforce | Mode::Testing)))
        .collect();
    for &name in &missing {
        let in_other_case = groups.others().any(|(n, _)| recased(n) == Some(name));
        let misspelt: Vec<&Field> = groups
            .others()
            .filter(|(n, _)| recased(n).is_none() && near_miss(n) == Some(name))
            .map(|(_, g)| g[0])
            .collect();
        for f in &misspelt {
            problems.push(at(
                Check::StsPolicyKeyCase,
                f,
                format!("field names are exact and case-sensitive, so senders see no {name} field"),
            ));
        }
        if misspelt.is_empty() && !in_other_case {
            problems.push(missing_problem(name, mode));
        }
    }
    missing
}

/// The fields other than the four: a known name in another case, an extension, or a
/// line senders skip.
fn other_fields(groups: &Groups, missing: &[&str], problems: &mut Vec<Problem>) {
    for (name, same) in groups.others() {
        if let Some(known) = recased(name) {
            let absent = missing.contains(&known);
            problems.extend(same.iter().map(|f| key_case(f, known, absent)));
            continue;
        }
        let meant = near_miss(name);
        if meant.is_some_and(|m| missing.contains(&m)) {
            continue; // reported as the missing field's misspelling
        }
        for (i, f) in same.iter().enumerate() {
            if let Some(why) = extension_problem(f) {
                problems.push(at(Check::StsPolicyBadLine, f, why));
            } else if i == 0 {
                let why = match meant {
                    Some(meant) => {
                        format!("unknown field (did you mean {meant}?); senders ignore it")
                    }
                    None => "unknown field; senders ignore it".to_string(),
                };
                problems.push(at(Check::StsPolicyUnknownField, f, why));
            }
        }
    }
}

/// The known field name that `name` is in another case, if it is one.
fn recased(name: &str) -> Option<&'static str> {
    KNOWN
        .into_iter()
        .find(|known| known.eq_ignore_ascii_case(name) && *known != name)
}

/// A known field name written in another case: what senders make of it depends on the
/// sender ([`senders::KEY_CASE`]), and so does which MX hosts or fields they see.
fn key_case(f: &Field, known: &str, absent: bool) -> Problem {
    let outcome = if absent {
        format!("so to postfix-mta-sts-resolver the policy has no {known} field and is invalid")
    } else if known == "mx" {
        "so postfix-mta-sts-resolver does not count this pattern, and in enforce mode refuses an MX host that only it covers".to_string()
    } else {
        format!("so senders may read different {known} values")
    };
    at(
        Check::StsPolicyKeyCase,
        f,
        format!(
            "field names are case-sensitive (write {known}): {}, {outcome}",
            senders::KEY_CASE.senders
        ),
    )
}

/// A field given more than once: harmless when every value is the same, an error when
/// they differ, because senders disagree on which one counts.
fn duplicate(name: &str, same: &[&Field]) -> Problem {
    let lines: Vec<usize> = same.iter().map(|f| f.no).collect();
    let values: Vec<String> = same.iter().map(|f| quoted(f.value)).collect();
    let given = format!(
        "{name} is given on {} ({})",
        line_list(&lines),
        values.join(", ")
    );
    // Senders ignore extensions whatever their value: only a known field's values matter.
    let differ = KNOWN.contains(&name) && same.iter().any(|f| f.value != same[0].value);
    let problem = if differ {
        Problem::new(
            Check::StsPolicyDupConflict,
            format!(
                "{given}: {}, so senders disagree on the {name}",
                senders::DUPLICATE_FIELD.senders
            ),
        )
    } else {
        Problem::new(
            Check::StsPolicyDupField,
            format!(
                "{given}: {}; the values are the same",
                senders::DUPLICATE_FIELD.senders
            ),
        )
    };
    problem.on_line(same[1].no)
}

/// A problem on one field, quoting its line.
fn at(check: Check, f: &Field, why: impl fmt::Display) -> Problem {
    Problem::new(
        check,
        format!(
            "line {} {}: {why}",
            f.no,
            quoted(&format!("{}: {}", f.name, f.value))
        ),
    )
    .on_line(f.no)
}

fn missing_problem(name: &str, mode: Option<Mode>) -> Problem {
    let (check, why) = match name {
        "version" => (
            Check::StsPolicyVersion,
            "the policy has no version field".to_string(),
        ),
        "mode" => (
            Check::StsPolicyMode,
            "the policy has no mode field".to_string(),
        ),
        "max_age" => (
            Check::StsPolicyMaxAgeMissing,
            "the policy has no max_age field".to_string(),
        ),
        _ => (
            Check::StsPolicyMxMissing,
            format!(
                "the policy has no mx line, which mode {} requires",
                mode.map_or("", Mode::as_str)
            ),
        ),
    };
    Problem::new(check, why)
}

/// What is wrong with the value of a known field, if anything.
fn value_problem(f: &Field) -> Option<(Check, String)> {
    // Quoted, the value is not the value senders look for: the field's own check says so.
    let quoted_value = is_quoted(f.value).then(|| "values are written without quotes".to_string());
    let own = match f.name {
        "version" => Check::StsPolicyVersion,
        "mode" => Check::StsPolicyMode,
        "max_age" => Check::StsPolicyMaxAgeSyntax,
        _ => Check::StsPolicyMxSyntax,
    };
    if let Some(why) = quoted_value {
        return Some((own, why));
    }
    match f.name {
        "version" => version_problem(f.value).map(|why| (Check::StsPolicyVersion, why)),
        "mode" => mode_problem(f.value).map(|why| (Check::StsPolicyMode, why)),
        "max_age" => max_age_problem(f.value),
        _ => mx_problem(f.value),
    }
}

/// Why a field that is not one of the four breaks `sts-policy-extension`, if it does.
fn extension_problem(f: &Field) -> Option<String> {
    if !ext_name_ok(f.name) {
        return Some(name_problem(f.name));
    }
    // `sts-policy-ext-value`: printable text, no control characters, not empty.
    if f.value.is_empty() {
        return Some("the value is empty".into());
    }
    f.value
        .chars()
        .any(char::is_control)
        .then(|| "the value contains a control character".into())
}

fn name_problem(name: &str) -> String {
    if name.is_empty() {
        "the line has no field name before ':'".into()
    } else if name.starts_with(is_quote) {
        "field names are written without quotes".into()
    } else if name.contains([' ', '\t']) {
        format!("the field name {} contains a space", quoted(name))
    } else if name.len() > 32 {
        format!(
            "the field name is {} characters long (at most 32)",
            name.len()
        )
    } else {
        format!(
            "the field name {} must start with a letter or digit and contain only letters, \
             digits, '_', '-' and '.'",
            quoted(name)
        )
    }
}

/// The known field a name seems meant as: the same but for case, `-` or `_`, or a typo.
fn near_miss(name: &str) -> Option<&'static str> {
    let norm = |s: &str| -> String {
        s.chars()
            .filter(|c| !matches!(c, '-' | '_' | '.' | ' ' | '\t'))
            .flat_map(char::to_lowercase)
            .collect()
    };
    let name = norm(name);
    if name.is_empty() || name.len() > 16 {
        return None;
    }
    // One typo in a short name, two in a long one; a lone letter is nobody's "mx".
    let allowed = |known: &str| match known.len() {
        ..=2 if name.len() < 2 => 0,
        ..=4 => 1,
        _ => 2,
    };
    KNOWN
        .iter()
        .map(|k| (*k, names::edit_distance(&name, &norm(k))))
        .filter(|(k, d)| *d <= allowed(k))
        .min_by_key(|(_, d)| *d)
        .map(|(k, _)| k)
}

fn is_quoted(value: &str) -> bool {
    value.chars().count() >= 2 && value.starts_with(is_quote) && value.ends_with(is_quote)
}

/// `sts-policy-version-value = %s"STSv1"`.
fn version_problem(value: &str) -> Option<String> {
    Some(match value {
        "STSv1" => return None,
        "" => "the version is empty; it must be STSv1".into(),
        v if v.eq_ignore_ascii_case("STSv1") => {
            "the version must be exactly STSv1 (case-sensitive)".into()
        }
        _ => "the version must be exactly STSv1".into(),
    })
}

/// `sts-policy-mode-value = %s"testing" / %s"enforce" / %s"none"`.
fn mode_problem(value: &str) -> Option<String> {
    if Mode::parse(value).is_some() {
        return None;
    }
    let lower = value.to_ascii_lowercase();
    let guess = [Mode::Enforce, Mode::Testing, Mode::None]
        .into_iter()
        .find(|m| names::edit_distance(&lower, m.as_str()) <= 2);
    Some(if value.is_empty() {
        "the mode is empty".into()
    } else if let Some(mode) = Mode::parse(&lower) {
        format!("mode values are case-sensitive: write {}", mode.as_str())
    } else if lower == "report" {
        "\"report\" is the name early drafts used; the mode is now called testing".into()
    } else if let Some(mode) = guess {
        format!("not a mode (did you mean {}?)", mode.as_str())
    } else {
        "the mode must be enforce, testing or none".into()
    })
}

/// `sts-policy-max-age-value = 1*10(DIGIT)`, at most 31557600.
fn max_age_problem(value: &str) -> Option<(Check, String)> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Some((
            Check::StsPolicyMaxAgeSyntax,
            "max_age must be plain seconds, digits only".into(),
        ));
    }
    if value.len() > 10 {
        return Some((
            Check::StsPolicyMaxAgeSyntax,
            format!("max_age has {} digits (at most 10)", value.len()),
        ));
    }
    lenient_max_age(value)
        .is_some_and(|age| age > MAX_AGE_LIMIT)
        .then(|| {
            (
                Check::StsPolicyMaxAgeRange,
                format!("max_age is above the maximum of {MAX_AGE_LIMIT} seconds (one year)"),
            )
        })
}

/// Digits read as a number, whatever their count (some senders clamp large values).
fn lenient_max_age(value: &str) -> Option<u64> {
    if value.bytes().all(|b| b.is_ascii_digit()) {
        value.parse().ok()
    } else {
        None
    }
}

/// Advice on a max_age within the limit, given the mode.
fn max_age_advice(age: u64, mode: Option<Mode>) -> Option<(Check, String)> {
    let protective = matches!(mode, Some(Mode::Enforce | Mode::Testing));
    if age == 0 {
        Some((
            Check::StsPolicyMaxAgeZero,
            "senders cache nothing, and some reject max_age 0".into(),
        ))
    } else if age < MAX_AGE_SHORT && protective {
        Some((
            Check::StsPolicyMaxAgeShort,
            format!("{} is shorter than a day", duration(age)),
        ))
    } else if age > MAX_AGE_TESTING && age <= MAX_AGE_LIMIT && mode == Some(Mode::Testing) {
        Some((
            Check::StsPolicyMaxAgeTestingLong,
            format!("{} while in testing mode", duration(age)),
        ))
    } else {
        None
    }
}

fn duration(seconds: u64) -> String {
    match seconds {
        s if s >= 86_400 => format!("{s} seconds (about {} days)", s / 86_400),
        s if s >= 3_600 => format!("{s} seconds (about {} hours)", s / 3_600),
        s => format!("{s} seconds"),
    }
}

/// What is wrong with one `mx` value (`["*."] Domain`, RFC 8461 §3.2, §4.1), if anything.
fn mx_problem(value: &str) -> Option<(Check, String)> {
    let syntax = |why: String| Some((Check::StsPolicyMxSyntax, why));
    if value.is_empty() {
        return syntax("the mx line has no value".into());
    }
    if !value.is_ascii() {
        return Some((
            Check::StsPolicyMxUlabel,
            "the name is not ASCII: write internationalized names as A-labels (xn--...)".into(),
        ));
    }
    if value.contains("://") {
        return syntax("a URL is not a pattern: write the host name alone".into());
    }
    if value.contains('#') {
        return syntax(
            "a comment is not part of the value; the policy has no comment syntax".into(),
        );
    }
    let words: Vec<&str> = value
        .split([' ', '\t', ',', ';'])
        .filter(|w| !w.is_empty())
        .collect();
    if words.len() > 1 && words.iter().all(|w| pattern_problem(w).is_none()) {
        // RFC 8461 §3.2: "each MX MUST have its own "mx:" key".
        return Some((
            Check::StsPolicyMxPerLine,
            format!("{} hosts on one line", words.len()),
        ));
    }
    if value.contains([' ', '\t', ',', ';']) {
        return syntax("the value contains a space or separator".into());
    }
    if value.parse::<Ipv4Addr>().is_ok() {
        // Valid `Domain` syntax, but patterns are matched against MX host names only.
        return Some((
            Check::StsPolicyMxIp,
            "an IPv4 address never matches an MX host name".into(),
        ));
    }
    if value.starts_with('[') || value.parse::<Ipv6Addr>().is_ok() {
        return syntax("an IP address literal is not a host name pattern".into());
    }
    if let Some(why) = pattern_problem(value) {
        return syntax(why);
    }
    let base = value.strip_prefix("*.")?.to_ascii_lowercase();
    let why = if !base.contains('.') {
        format!("it covers every host directly under the top-level domain .{base}")
    } else if SHARED_SUFFIXES.contains(&base.as_str()) {
        format!("{base} is shared by many tenants, any of whom could pass as your MX")
    } else {
        return None;
    };
    Some((Check::StsPolicyMxWildcardBroad, why))
}

/// Why a word breaks `["*."] Domain`, if it does.
fn pattern_problem(value: &str) -> Option<String> {
    if value == "*" {
        return Some("a lone '*' is not a pattern: write *.example.com".into());
    }
    if let Some(rest) = value.strip_prefix('.').filter(|r| !r.is_empty()) {
        return Some(format!(
            "a leading dot is old draft syntax: write *.{rest} to cover one label under {rest}"
        ));
    }
    if value.ends_with('.') {
        return Some(format!(
            "the name ends with a dot: write it without the root dot ({})",
            senders::MX_TRAILING_DOT.senders
        ));
    }
    if value
        .rsplit_once(':')
        .is_some_and(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
    {
        return Some("a port is not part of a pattern".into());
    }
    let base = value.strip_prefix("*.").unwrap_or(value);
    if base.contains('*') {
        let first = value.split('.').next().unwrap_or_default();
        return Some(if first != "*" && first.contains('*') {
            "a partial wildcard matches nothing: '*' must be the whole left-most label".into()
        } else {
            "only the left-most label may be '*'".into()
        });
    }
    names::check_domain(base).err()
}

/// "line 3" / "lines 3, 5", listing at most ten numbers.
fn line_list(numbers: &[usize]) -> String {
    const SHOWN: usize = 10;
    let mut list: Vec<String> = numbers.iter().take(SHOWN).map(usize::to_string).collect();
    if numbers.len() > SHOWN {
        list.push(format!("... ({} in all)", numbers.len()));
    }
    match numbers {
        [_] => format!("line {}", list.join(", ")),
        _ => format!("lines {}", list.join(", ")),
    }
}

fn plural(n: usize, what: &str) -> String {
    match n {
        1 => format!("1 {what}"),
        n => format!("{n} {what}s"),
    }
}

fn trim_wsp(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::test_support::{ids, manifest, worst};
    use proptest::prelude::*;

    /// One-line bodies: '|' stands for LF.
    fn body(text: &str) -> Vec<u8> {
        text.replace('|', "\n").into_bytes()
    }

    #[track_caller]
    fn good(text: &str) -> Policy {
        let parsed = parse(&body(text));
        assert!(
            worst(&parsed.problems) <= Some(Severity::Info),
            "{text:?}: {:?}",
            parsed.problems
        );
        assert!(parsed.valid, "{text:?}");
        parsed.policy.expect("a lenient reading")
    }

    #[track_caller]
    fn bad(text: &str, want: &[&str]) -> ParsedPolicy {
        let parsed = parse(&body(text));
        assert_eq!(
            ids(&parsed.problems),
            want,
            "{text:?}: {:?}",
            parsed.problems
        );
        assert_eq!(
            parsed.valid,
            worst(&parsed.problems) < Some(Severity::Error),
            "{text:?}"
        );
        parsed
    }

    const MX: &str = "mail.example.com";

    #[rustfmt::skip]
    #[test]
    fn good_policies() {
        let p = good("version: STSv1|mode: enforce|mx: mail.example.com|max_age: 604800|");
        assert_eq!(p, Policy { mode: Mode::Enforce, max_age: 604800, mx: vec![MX.into()], extensions: vec![] });
        good("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmax_age: 604800\r\n"); // CRLF
        good("version: STSv1\r\nmode: enforce|mx: mail.example.com\r\nmax_age: 604800|"); // mixed
        good("version: STSv1|mode: enforce|mx: mail.example.com|max_age: 604800"); // no final LF
        good("mode: enforce|mx: mail.example.com|max_age: 604800|version: STSv1|"); // any order
        good("version:STSv1|mode:\tenforce|mx:   mail.example.com|max_age: 604800 \t|"); // WSP
        good("version: STSv1|mode: testing|mx: MAIL.Example.COM|max_age: 86400|"); // case of names
        good("version: STSv1|mode: none|max_age: 86400|"); // no mx needed for none
        good("version: STSv1|mode: enforce|mx: *.mail.protection.outlook.com|max_age: 604800|");
        good("version: STSv1|mode: enforce|mx: *.mx.microsoft|max_age: 604800|"); // judged later
        good("version: STSv1|mode: enforce|mx: 1mx.example.com|max_age: 0604800|");
        good("version: STSv1|mode: enforce|mx: a.example.com|mx: *.b.example.net|max_age: 31557600|");
        good("version: STSv1|mode: testing|mx: mail.example.com|max_age: 1209600|");
        let p = good("version: STSv1|mode: enforce|mx: mail.example.com|max_age: 604800|x-note: see https://example.com/ für mehr|");
        assert_eq!(p.extensions, [("x-note".into(), "see https://example.com/ für mehr".into())]);
    }

    #[rustfmt::skip]
    #[test]
    fn bad_policies() {
        let v = "version: STSv1|";
        // Encoding and not-a-policy bodies.
        bad("\u{feff}version: STSv1|mode: enforce|mx: mail.example.com|max_age: 86400|", &["sts-policy-encoding"]); // UTF-8 BOM
        bad("version: STSv1|mode: enforce|mx: mail.example.com|max_age: 86400|x: a\0b|", &["sts-policy-encoding", "sts-policy-unknown-field"]); // NUL byte
        bad("<!DOCTYPE html>|<html><body>Not Found</body></html>", &["sts-policy-html"]); // an HTML error page
        bad("  |<html>", &["sts-policy-html"]); // HTML after whitespace
        bad("{\"version\": \"STSv1\"}", &["sts-policy-html"]); // JSON
        bad("Not Found", &["sts-policy-no-fields"]); // one finding, not one per missing field
        bad("Error: 404 Not Found|", &["sts-policy-no-fields"]); // a plain-text error page
        bad("foo: bar|baz: 1|", &["sts-policy-no-fields"]); // no policy field at all
        bad("", &["sts-policy-no-fields"]); // empty body
        // Line breaks and layout.
        bad("version: STSv1\rmode: enforce\rmx: mail.example.com\rmax_age: 86400\r", &["sts-policy-line-ending"]); // bare CR
        bad("version: STSv1|mode: enforce\u{2028}mx: mail.example.com|max_age: 86400|", &["sts-policy-line-ending"]); // U+2028 LINE SEPARATOR
        bad("version: STSv1|mode: enforce\u{0b}mx: mail.example.com|max_age: 86400|", &["sts-policy-line-ending"]); // vertical tab
        bad("version: STSv1||mode: enforce|mx: mail.example.com|max_age: 86400|", &["sts-policy-blank-line"]); // blank line between fields
        bad("|version: STSv1|mode: enforce|mx: mail.example.com|max_age: 86400|", &["sts-policy-blank-line"]); // leading blank line
        bad("version: STSv1|mode: enforce|mx: mail.example.com|max_age: 86400||", &["sts-policy-trailing-blank"]); // two line breaks at the end
        bad("version: STSv1|mode: enforce|mx: mail.example.com|max_age: 86400|  ", &["sts-policy-trailing-blank"]); // whitespace after the final line break
        bad("version: STSv1|  |mode: enforce|mx: mail.example.com|max_age: 86400", &["sts-policy-blank-line"]); // whitespace-only line
        bad(" version: STSv1|\tmode: enforce|mx: mail.example.com|max_age: 86400|", &["sts-policy-leading-wsp"]); // indented lines
        bad("version: STSv1|mode : enforce|mx: mail.example.com|max_age: 86400|", &["sts-policy-colon-wsp"]); // WSP before ':'
        // Field names.
        bad("Version: STSv1|mode: enforce|mx: mail.example.com|max_age: 86400|", &["sts-policy-key-case"]); // names are case-sensitive
        bad("version: STSv1|Mode: enforce|mx: mail.example.com|max_age: 86400|", &["sts-policy-key-case"]); // names are case-sensitive
        bad("version: STSv1|mode: enforce|MX: mail.example.com|max_age: 86400|", &["sts-policy-key-case"]); // names are case-sensitive
        bad("version: STSv1|mode: enforce|mx: mail.example.com|max-age: 86400|", &["sts-policy-key-case"]); // '-' for '_'
        bad("version: STSv1|mode: enforce|mx: mail.example.com|maxage: 86400|", &["sts-policy-key-case"]); // no '_'
        bad("version: STSv1|mode: enforce|nmx: mail.example.com|max_age: 86400|", &["sts-policy-key-case"]); // typo
        bad("version: STSv1|mode: enforce|mx: a.example.com|MX: b.example.com|max_age: 86400|", &["sts-policy-key-case"]); // some senders drop it, others count it
        bad("version: STSv1|mode: enforce|Mode: testing|mx: a.example.com|max_age: 86400|", &["sts-policy-key-case"]); // beside the right one
        bad("version: STSv1|mode: enforce|mx: mail.example.com|max_age: 86400|foo: bar|", &["sts-policy-unknown-field"]); // valid extension
        bad("# MTA-STS policy|version: STSv1|mode: enforce|mx: mail.example.com|max_age: 86400|", &["sts-policy-comment"]); // comment
        bad("version: STSv1|mode: enforce|mx: mail.example.com|  # backup below|max_age: 86400|", &["sts-policy-comment", "sts-policy-leading-wsp"]); // indented comment
        bad("version: STSv1|mode: enforce|mx: mail.example.com|max_age: 86400|mx=other.example.com|", &["sts-policy-bad-line"]); // no ':'
        bad("version: STSv1|mode: \"enforce\"|mx: mail.example.com|max_age: 86400|", &["sts-policy-mode"]); // quoted value
        bad("version: STSv1|mode: enforce|mx: mail.example.com|max_age: 86400|x:|", &["sts-policy-bad-line"]); // extension with an empty value
        bad(&format!("version: STSv1|mode: enforce|mx: mail.example.com|max_age: 86400|{}: x|", "x".repeat(33)), &["sts-policy-bad-line"]); // extension name over 32 characters
        bad("version: STSv1|mode: enforce|mx: mail.example.com|max_age: 86400|max age: 1|", &["sts-policy-bad-line"]); // space in a name
        bad("version: STSv1|mode: enforce|mx: mail.example.com|max_age: 86400|_x: 1|", &["sts-policy-bad-line"]); // name starts with '_'
        // version and mode.
        bad("mode: enforce|mx: mail.example.com|max_age: 86400|", &["sts-policy-version"]); // no version
        bad("version: STSV1|mode: enforce|mx: mail.example.com|max_age: 86400|", &["sts-policy-version"]); // case-sensitive
        bad("version: STSv1.0|mode: enforce|mx: mail.example.com|max_age: 86400|", &["sts-policy-version"]); // not exactly STSv1
        bad("version: STSv2|mode: enforce|mx: mail.example.com|max_age: 86400|", &["sts-policy-version"]); // unknown version
        bad("version:|mode: enforce|mx: mail.example.com|max_age: 86400|", &["sts-policy-version"]); // empty version
        bad("version: STSv1|mx: mail.example.com|max_age: 86400|", &["sts-policy-mode"]); // no mode
        for mode in ["enforced", "report", "Enforce", "TESTING", "test", "on", ""] {
            bad(&format!("{v}mode: {mode}|mx: mail.example.com|max_age: 86400|"), &["sts-policy-mode"]);
        }
        // max_age.
        bad("version: STSv1|mode: enforce|mx: mail.example.com|", &["sts-policy-max-age-missing"]); // no max_age
        for age in ["+86400", "-1", "86400s", "1e6", "7d", "12345678901", "", "86 400", "0x10"] {
            bad(&format!("{v}mode: enforce|mx: {MX}|max_age: {age}|"), &["sts-policy-max-age-syntax"]);
        }
        bad("version: STSv1|mode: enforce|mx: mail.example.com|max_age: 31557601|", &["sts-policy-max-age-range"]); // over one year
        bad("version: STSv1|mode: enforce|mx: mail.example.com|max_age: 9999999999|", &["sts-policy-max-age-range"]); // 10 digits, over one year
        bad("version: STSv1|mode: enforce|mx: mail.example.com|max_age: 0|", &["sts-policy-max-age-zero"]); // nothing cached
        bad("version: STSv1|mode: none|max_age: 0|", &["sts-policy-max-age-zero"]); // nothing cached
        bad("version: STSv1|mode: enforce|mx: mail.example.com|max_age: 86399|", &["sts-policy-max-age-short"]); // under a day
        bad("version: STSv1|mode: testing|mx: mail.example.com|max_age: 3600|", &["sts-policy-max-age-short"]); // under a day, testing
        bad("version: STSv1|mode: none|max_age: 3600|", &[]); // nothing left to protect
        bad("version: STSv1|mode: testing|mx: mail.example.com|max_age: 1209601|", &["sts-policy-max-age-testing-long"]); // over two weeks while testing
        // mx.
        bad("version: STSv1|mode: enforce|max_age: 86400|", &["sts-policy-mx-missing"]); // enforce needs mx
        bad("version: STSv1|mode: testing|max_age: 86400|", &["sts-policy-mx-missing"]); // testing needs mx
        for mx in [
            "mail.example.com.",          // trailing dot: mox rejects the whole policy
            ".example.net",               // old draft syntax
            "mx*.example.com",            // partial wildcard
            "*mx.example.com",            // partial wildcard
            "mail.*.example.com",         // inner wildcard
            "*.*.example.com",            // two wildcards
            "*",                          // a lone wildcard
            "*.",                         // no base name
            "mail_1.example.com",         // '_' is not LDH
            "-mail.example.com",          // leading hyphen
            "mail.example.com:25",        // port
            "smtp://mail.example.com",    // URL
            "https://mail.example.com/",  // URL
            "[192.0.2.1]",                // address literal
            "2001:db8::25",               // IPv6 address: ':' breaks the grammar
            "",                           // empty value
            "mail.example.com # primary", // trailing comment
            "mail.example.com (primary)", // trailing remark
        ] {
            bad(&format!("{v}mode: enforce|mx: {mx}|max_age: 86400|"), &["sts-policy-mx-syntax"]);
        }
        bad("version: STSv1|mode: enforce|mx: a.example.com, b.example.com|max_age: 86400|", &["sts-policy-mx-per-line"]); // hosts separated by ','
        bad("version: STSv1|mode: enforce|mx: a.example.com b.example.com|max_age: 86400|", &["sts-policy-mx-per-line"]); // hosts separated by a space
        bad("version: STSv1|mode: enforce|mx: bücher.example|max_age: 86400|", &["sts-policy-mx-ulabel"]); // U-label
        bad("version: STSv1|mode: enforce|mx: 192.0.2.25|max_age: 86400|", &["sts-policy-mx-ip"]); // IPv4 address
        for mx in ["*.com", "*.outlook.com", "*.onmicrosoft.com", "*.GMAIL.com", "*.amazonaws.com"] {
            bad(&format!("{v}mode: enforce|mx: {mx}|max_age: 86400|"), &["sts-policy-mx-wildcard-broad"]);
        }
        // Repeated fields: the first wins (RFC 8461 §3.2), though not at every sender.
        let dup = bad("version: STSv1|mode: testing|mx: mail.example.com|max_age: 86400|mode: enforce|", &["sts-policy-dup-conflict"]); // mode twice
        assert_eq!(dup.policy.map(|p| p.mode), Some(Mode::Testing));
        let dup = bad("version: STSv1|mode: enforce|mx: mail.example.com|max_age: 86400|max_age: 1|", &["sts-policy-dup-conflict"]); // max_age twice
        assert_eq!(dup.policy.map(|p| p.max_age), Some(86400));
        bad("version: STSv1|mode: enforce|mx: mail.example.com|max_age: 86400|mode: enforce|", &["sts-policy-dup-field"]); // the same value twice
        bad("version: STSv1|version: STSv1|mode: enforce|mx: mail.example.com|max_age: 86400|", &["sts-policy-dup-field"]); // version twice
        bad("version: STSv1|mode: enforce|mx: mail.example.com|max_age: 86400|x: 1|x: 2|", &["sts-policy-dup-field", "sts-policy-unknown-field"]); // extension twice
        bad("version: STSv1|mode: enforce|mx: mail.example.com|mx: mail.example.com|max_age: 86400|", &[]); // mx may repeat
    }

    #[test]
    fn not_text_at_all() {
        let utf16: Vec<u8> = "version: STSv1\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let mut with_bom = vec![0xff, 0xfe];
        with_bom.extend(&utf16);
        for body in [with_bom, utf16] {
            let parsed = parse(&body);
            assert_eq!(ids(&parsed.problems), ["sts-policy-encoding"]);
            assert_eq!(parsed.policy, None);
        }
        let parsed = parse(
            b"version: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: 86400\nx: \xff\n",
        );
        assert_eq!(
            ids(&parsed.problems),
            ["sts-policy-encoding", "sts-policy-unknown-field"]
        );
        assert!(
            parsed.problems[0].message.contains("0xff on line 5"),
            "{:?}",
            parsed.problems
        );
    }

    #[test]
    fn lenient_reading_forgives_layout_but_not_values() {
        let lenient = |text: &str| parse(&body(text)).policy;
        let want = Some(Policy {
            mode: Mode::Enforce,
            max_age: 86400,
            mx: vec![MX.into()],
            extensions: vec![],
        });
        assert_eq!(
            lenient("  version: STSv1||mode : enforce\r|mx: mail.example.com|max_age: 86400||"),
            want
        );
        assert_eq!(
            lenient("\u{feff}version: STSv1|mode: enforce|mx: mail.example.com|max_age: 86400"),
            want
        );
        assert_eq!(
            lenient("mode: enforce|mx: mail.example.com|max_age: 86400"),
            want
        ); // no version
        assert_eq!(
            lenient("version: STSv1|mode: enforced|mx: mail.example.com|max_age: 86400"),
            None
        );
        assert_eq!(
            lenient("version: STSv1|Mode: enforce|mx: mail.example.com|max_age: 86400"),
            None
        );
        assert_eq!(
            lenient("version: STSv1|mode: enforce|mx: mail.example.com|max_age: 1d"),
            None
        );
        assert_eq!(
            lenient("version: STSv1|mode: enforce|mx: mail.example.com"),
            None
        );
        // Over the limit or over 10 digits: still read, as senders that clamp do.
        assert_eq!(
            lenient("version: STSv1|mode: enforce|mx: a|max_age: 099999999999").map(|p| p.max_age),
            Some(99999999999)
        );
        // Invalid patterns stay as written: they match what they match.
        assert_eq!(
            lenient("version: STSv1|mode: enforce|mx: mail.example.com.|max_age: 1").map(|p| p.mx),
            Some(vec!["mail.example.com.".into()])
        );
    }

    #[test]
    fn line_endings_are_reported_not_judged() {
        let endings = |text: &[u8]| parse(text).line_endings;
        assert_eq!(endings(b"version: STSv1\nmode: none\nmax_age: 1\n"), "LF");
        assert_eq!(
            endings(b"version: STSv1\r\nmode: none\r\nmax_age: 1"),
            "CRLF"
        );
        assert_eq!(
            endings(b"version: STSv1\r\nmode: none\nmax_age: 1"),
            "mixed"
        );
        assert_eq!(endings(b"version: STSv1\rmode: none\rmax_age: 1"), "CR");
        assert_eq!(endings(b"version: STSv1"), "none");
    }

    #[test]
    fn messages_quote_the_evidence() {
        let message = |text: &str| parse(&body(text)).problems[0].message.clone();
        assert_eq!(
            message("version: STSv1|mode: enforced|mx: mail.example.com|max_age: 86400|"),
            "line 2 \"mode: enforced\": not a mode (did you mean enforce?)"
        );
        assert_eq!(
            message("version: STSv1|mode: enforce|MX: mail.example.com|max_age: 86400|"),
            "line 3 \"MX: mail.example.com\": field names are case-sensitive (write mx): postfix-mta-sts-resolver drops the line silently, mailauth accepts it, so to postfix-mta-sts-resolver the policy has no mx field and is invalid"
        );
        assert_eq!(
            message(
                "version: STSv1|mode: enforce|mx: a.example.com|MX: b.example.com|max_age: 86400|"
            ),
            "line 4 \"MX: b.example.com\": field names are case-sensitive (write mx): postfix-mta-sts-resolver drops the line silently, mailauth accepts it, so postfix-mta-sts-resolver does not count this pattern, and in enforce mode refuses an MX host that only it covers"
        );
        let problems = |text: &str| parse(&body(text)).problems;
        let blank =
            problems("version: STSv1||mode: enforce|mx: mail.example.com|max_age: 86400|||");
        assert_eq!(
            blank
                .iter()
                .map(|p| (p.message.as_str(), p.line))
                .collect::<Vec<_>>(),
            [
                (
                    "line 2 is blank: postfix-mta-sts-resolver and mailauth skip blank lines and use the policy; mox, whose parser follows the grammar strictly, rejects the whole policy",
                    Some(2)
                ),
                (
                    "2 blank lines after the last field (at most one line break may end the policy): postfix-mta-sts-resolver and mailauth skip blank lines and use the policy; mox, whose parser follows the grammar strictly, rejects the whole policy",
                    Some(6)
                ),
            ]
        );
        assert_eq!(
            message(
                "version: STSv1|mode: testing|mx: mail.example.com|max_age: 86400|mode: enforce"
            ),
            "mode is given on lines 2, 5 (\"testing\", \"enforce\"): RFC 8461 §3.2 and mailauth use the first value, postfix-mta-sts-resolver the last, so senders disagree on the mode"
        );
        assert_eq!(
            message(
                "version: STSv1|mode: enforce|mx: mail.example.com|max_age: 86400|mode: enforce"
            ),
            "mode is given on lines 2, 5 (\"enforce\", \"enforce\"): RFC 8461 §3.2 and mailauth use the first value, postfix-mta-sts-resolver the last; the values are the same"
        );
        assert_eq!(
            message("version: STSv1\rmode: none\rmax_age: 86400"),
            "a bare CR (carriage return without line feed; mailauth rejects the policy, postfix-mta-sts-resolver accepts it) ends line 1; 2 lines end with something other than LF or CRLF"
        );
        assert!(
            message("<html><head><title>404</title>")
                .contains("\"<html><head><title>404</title>\"")
        );
        assert!(message("version: STSv1|mode: enforce|mx: *.com|max_age: 86400").contains(".com"));
    }

    #[test]
    fn a_flood_of_bad_lines_is_summed_up() {
        let text = format!(
            "version: STSv1|mode: enforce|mx: mail.example.com|max_age: 86400|{}",
            "junk|".repeat(1000)
        );
        let parsed = parse(&body(&text));
        assert_eq!(parsed.problems.len(), 6);
        assert_eq!(
            parsed.problems.last().map(|p| p.message.as_str()),
            Some("and 995 more of the same kind")
        );
    }

    #[test]
    fn matching_pattern_returns_the_first_match() {
        let policy = good(
            "version: STSv1|mode: enforce|mx: mx1.example.com|mx: *.example.com|max_age: 86400",
        );
        assert_eq!(
            policy.matching_pattern("MX1.example.com."),
            Some("mx1.example.com")
        );
        assert_eq!(
            policy.matching_pattern("mx2.example.com"),
            Some("*.example.com")
        );
        assert_eq!(policy.matching_pattern("a.mx2.example.com"), None);
        assert_eq!(policy.matching_pattern("example.com"), None);
    }

    #[test]
    fn display_is_canonical() {
        let policy = Policy {
            mode: Mode::Testing,
            max_age: 86400,
            mx: vec!["a.example.com".into(), "*.b.example.com".into()],
            extensions: vec![("x-id".into(), "abc def".into())],
        };
        assert_eq!(
            policy.to_string(),
            "version: STSv1\r\nmode: testing\r\nmx: a.example.com\r\nmx: *.b.example.com\r\nmax_age: 86400\r\nx-id: abc def\r\n"
        );
    }

    /// The expected checks of every policy in fixtures/policies, as listed in its MANIFEST.
    #[test]
    fn fixtures_match_the_manifest() {
        for (path, want) in manifest("policies") {
            let parsed = parse(&std::fs::read(&path).expect("fixture"));
            assert_eq!(
                ids(&parsed.problems),
                want,
                "{path:?}: {:?}",
                parsed.problems
            );
        }
    }

    fn label() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9]([a-zA-Z0-9-]{0,8}[a-zA-Z0-9])?"
    }

    fn host() -> impl Strategy<Value = String> {
        prop::collection::vec(label(), 1..4).prop_map(|labels| labels.join("."))
    }

    fn pattern() -> impl Strategy<Value = String> {
        (any::<bool>(), host())
            .prop_map(|(wild, host)| if wild { format!("*.{host}") } else { host })
    }

    fn policy() -> impl Strategy<Value = Policy> {
        let mode = prop_oneof![Just(Mode::Enforce), Just(Mode::Testing), Just(Mode::None)];
        let extension = (
            "[A-Za-z0-9][A-Za-z0-9_.-]{0,31}",
            "[!-~\u{e9}\u{4e2d}]([ !-~\u{e9}]{0,20}[!-~\u{4e2d}])?",
        );
        (
            mode,
            0..=MAX_AGE_LIMIT,
            prop::collection::vec(pattern(), 0..4),
            prop::collection::vec(extension, 0..4),
        )
            .prop_filter_map("a valid policy", |(mode, max_age, mx, extensions)| {
                if mx.is_empty() && mode != Mode::None {
                    return None;
                }
                let mut unique: Vec<(String, String)> = Vec::new();
                for (name, value) in extensions {
                    if !KNOWN.contains(&name.as_str()) && !unique.iter().any(|(n, _)| *n == name) {
                        unique.push((name, value));
                    }
                }
                Some(Policy {
                    mode,
                    max_age,
                    mx,
                    extensions: unique,
                })
            })
    }

    /// Text that looks enough like a policy to reach every branch of the parser.
    fn near_policy() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            Just("version".to_string()),
            Just("mode".to_string()),
            Just("mx".to_string()),
            Just("max_age".to_string()),
            Just(": ".to_string()),
            Just(":".to_string()),
            Just("STSv1".to_string()),
            Just("enforce".to_string()),
            Just("*.".to_string()),
            Just(".".to_string()),
            Just("\n".to_string()),
            Just("\r\n".to_string()),
            Just("\r".to_string()),
            Just(" ".to_string()),
            Just("\t".to_string()),
            Just("<".to_string()),
            Just("#".to_string()),
            Just("\"".to_string()),
            Just("\u{feff}".to_string()),
            Just("\u{2028}".to_string()),
            "[0-9]{1,12}",
            "[a-zA-Z_.-]{1,8}",
            any::<char>().prop_map(String::from),
        ];
        prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat().into_bytes())
    }

    /// The reference for `matches`: one wildcard label, compared without case.
    fn reference_match(pattern: &str, host: &str) -> bool {
        let (pattern, host) = (pattern.to_ascii_lowercase(), host.to_ascii_lowercase());
        match pattern.strip_prefix("*.") {
            Some(base) => host
                .split_once('.')
                .is_some_and(|(label, rest)| !label.is_empty() && rest == base),
            None => pattern == host,
        }
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
            let parsed = parse(&bytes);
            prop_assert_eq!(parsed.valid, worst(&parsed.problems) < Some(Severity::Error));
        }

        #[test]
        fn never_panics_on_near_policies(bytes in near_policy()) {
            let parsed = parse(&bytes);
            prop_assert_eq!(parsed.valid, worst(&parsed.problems) < Some(Severity::Error));
            prop_assert!(parsed.problems.iter().all(|p| !p.message.is_empty()));
        }

        #[test]
        fn display_round_trips(policy in policy()) {
            let text = policy.to_string();
            let parsed = parse(text.as_bytes());
            prop_assert!(parsed.valid, "{}: {:?}", text, parsed.problems);
            prop_assert_eq!(parsed.line_endings, "CRLF");
            prop_assert_eq!(parsed.policy, Some(policy));
        }

        #[test]
        fn matching_agrees_with_the_reference(
            patterns in prop::collection::vec("(\\*\\.)?[aAbB]{1,2}(\\.[aAbB]{1,2}){0,2}", 1..5),
            host in "[aAbB]{1,2}(\\.[aAbB]{1,2}){0,3}",
        ) {
            let policy = Policy { mode: Mode::Enforce, max_age: 1, mx: patterns.clone(), extensions: vec![] };
            let want = patterns.iter().find(|p| reference_match(p, &host)).map(String::as_str);
            prop_assert_eq!(policy.matching_pattern(&host), want);
        }
    }
}
