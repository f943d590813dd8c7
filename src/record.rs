//! Pure parsers and linters for the `_mta-sts` (RFC 8461 §3.1) and `_smtp._tls`
//! (RFC 8460 §3) TXT records: the TXT RRset found at the name goes in, the record a
//! strict sender would use and the problems seen come out. No I/O.
//!
//! Both grammars share their field syntax: `v=...` first, then `name=value` fields
//! separated by `*WSP ";" *WSP`, with one optional trailing delimiter.
//! What the policy parser shares with them (`ext_name_ok`, `quoted`, `cap`) lives here too.

use std::fmt;
use std::net::Ipv6Addr;

use crate::checks::Check;
use crate::finding::Problem;
use crate::names;
use crate::observe::TxtRecord;

/// A usable `_mta-sts` record (RFC 8461 §3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StsRecord {
    /// The policy instance id: 1 to 32 letters and digits.
    pub id: String,
    /// Fields other than `v` and `id`, in order; senders ignore them.
    pub extensions: Vec<(String, String)>,
}

/// A usable `_smtp._tls` record (RFC 8460 §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsRptRecord {
    /// The report URIs as written, from every `rua=` field in order.
    pub rua: Vec<String>,
    /// Fields other than `v` and `rua`, in order; senders ignore them.
    pub extensions: Vec<(String, String)>,
}

/// A judged TXT RRset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed<T> {
    /// The record senders would use: `Some` only when no problem makes senders discard it.
    pub record: Option<T>,
    /// Something meant as a record of this kind is published, usable or not; when not,
    /// the caller reports the absence.
    pub published: bool,
    pub problems: Vec<Problem>,
}

/// Judges the whole TXT RRset found at `_mta-sts.DOMAIN` (each record's strings as received).
pub fn sts_from_txt(records: &[TxtRecord]) -> Parsed<StsRecord> {
    judge(records, &STS, sts_fields)
}

/// Judges the whole TXT RRset found at `_smtp._tls.DOMAIN` (each record's strings as received).
pub fn tlsrpt_from_txt(records: &[TxtRecord]) -> Parsed<TlsRptRecord> {
    judge(records, &TLSRPT, tlsrpt_fields)
}

impl fmt::Display for StsRecord {
    /// The canonical record text, e.g. `v=STSv1; id=20240101T000000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}; id={}", STS.version, self.id)?;
        write_extensions(f, &self.extensions)
    }
}

impl fmt::Display for TlsRptRecord {
    /// The canonical record text, e.g. `v=TLSRPTv1; rua=mailto:tlsrpt@example.com`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}; rua={}", TLSRPT.version, self.rua.join(","))?;
        write_extensions(f, &self.extensions)
    }
}

fn write_extensions(f: &mut fmt::Formatter<'_>, extensions: &[(String, String)]) -> fmt::Result {
    extensions
        .iter()
        .try_for_each(|(name, value)| write!(f, "; {name}={value}"))
}

/// What differs between the two record grammars.
struct Grammar {
    /// The exact, case-sensitive first field.
    version: &'static str,
    /// The required field, to recognise a record whose version was left out.
    key: &'static str,
    /// A discarded record that looks like a mistyped one.
    mistyped: Check,
    multiple: Check,
    /// Unrelated records at the name, when there is a check for them.
    other: Option<Check>,
    /// WSP between the version and its `;`, when there is a check for it.
    prefix_wsp: Option<Check>,
    non_ascii: Check,
    multistring: Check,
    /// A discarded record that some senders still count because its version differs only
    /// in case ([`crate::senders::VERSION_CASE`]), when there is a check for it.
    case_variant: Option<Check>,
    /// The checks that make senders discard the record (RFC 8461 §3.1, RFC 8460 §3: a
    /// syntactically invalid record counts as none). Severity follows from what is lost,
    /// which differs: the policy, or only the reports.
    discarding: &'static [Check],
}

const STS: Grammar = Grammar {
    version: "v=STSv1",
    key: "id=",
    mistyped: Check::StsTxtVersion,
    multiple: Check::StsTxtMultiple,
    other: Some(Check::StsTxtOtherRecords),
    prefix_wsp: Some(Check::StsTxtPrefixWsp),
    non_ascii: Check::StsTxtNonAscii,
    multistring: Check::StsTxtMultistring,
    case_variant: Some(Check::StsTxtCaseVariant),
    discarding: &[
        Check::StsTxtVersion,
        Check::StsTxtMultiple,
        Check::StsTxtIdMissing,
        Check::StsTxtIdSyntax,
        Check::StsTxtFieldSyntax,
        Check::StsTxtNonAscii,
    ],
};

const TLSRPT: Grammar = Grammar {
    version: "v=TLSRPTv1",
    key: "rua=",
    mistyped: Check::TlsrptVersion,
    multiple: Check::TlsrptMultiple,
    other: None,
    prefix_wsp: Some(Check::TlsrptPrefixWsp),
    non_ascii: Check::TlsrptSyntax,
    multistring: Check::TlsrptMultistring,
    case_variant: None,
    discarding: &[
        Check::TlsrptVersion,
        Check::TlsrptMultiple,
        Check::TlsrptSyntax,
        Check::TlsrptRuaMissing,
        Check::TlsrptRuaSyntax,
    ],
};

/// Parses the fields after the version of the one record senders consider. It returns
/// the record even when a problem is an error; [`judge`] drops it then.
type FieldParser<T> = fn(text: &str, rest: &str, problems: &mut Vec<Problem>) -> Option<T>;

fn judge<T>(records: &[TxtRecord], g: &Grammar, fields: FieldParser<T>) -> Parsed<T> {
    let mut problems = Vec::new();
    let mut candidates = Vec::new();
    let mut discarded = Vec::new();
    for record in records {
        let text = record.joined();
        match after_version(&text, g.version) {
            Some(wsp) => candidates.push((record, text, wsp)),
            None => discarded.push(text),
        }
    }

    let mut parsed = None;
    match candidates.as_slice() {
        [] => {}
        [(record, text, wsp)] => parsed = judge_one(record, text, *wsp, g, fields, &mut problems),
        many => {
            // RFC 8461 §3.1, RFC 8460 §3: "If the number of resulting records is not one",
            // senders act as if there were none.
            let list: Vec<String> = many
                .iter()
                .map(|(_, text, _)| quoted(&String::from_utf8_lossy(text)))
                .collect();
            problems.push(Problem::new(
                g.multiple,
                format!(
                    "{} records begin with {}: {}",
                    many.len(),
                    g.version,
                    list.join(", ")
                ),
            ));
        }
    }

    let usable = parsed.is_some() && !discards(g, &problems);
    let mut published = !candidates.is_empty();
    for text in discarded {
        let lossy = String::from_utf8_lossy(&text);
        let head = lossy.get(..g.version.len()).unwrap_or_default();
        let variant = g
            .case_variant
            .filter(|_| head != g.version && head.eq_ignore_ascii_case(g.version));
        match mistyped(&lossy, g) {
            // A mistyped record only breaks things when no usable record is left...
            Some(why) if !usable => {
                published = true;
                let who = match variant {
                    Some(_) => crate::senders::VERSION_CASE.senders,
                    None => "senders discard the record",
                };
                problems.push(Problem::new(
                    g.mistyped,
                    format!("{}: {why}, so {who}", quoted(&lossy)),
                ));
            }
            // ... or when some senders count it as a second record.
            Some(why) if variant.is_some() => {
                if let Some(check) = variant {
                    problems.push(Problem::new(
                        check,
                        format!(
                            "{} ({why}) begins with {} in another case: {}, so mailauth sees two records and uses no policy",
                            quoted(&lossy),
                            g.version,
                            crate::senders::VERSION_CASE.senders
                        ),
                    ));
                }
            }
            Some(why) => {
                if let Some(check) = g.other {
                    problems.push(Problem::new(
                        check,
                        format!(
                            "{} looks like a mistyped record ({why}); senders ignore it",
                            quoted(&lossy)
                        ),
                    ));
                }
            }
            None => {
                if let Some(check) = g.other {
                    let note = if lossy.starts_with(TLSRPT.version) {
                        " (a TLS-RPT record: it belongs at _smtp._tls)"
                    } else {
                        ""
                    };
                    problems.push(Problem::new(
                        check,
                        format!(
                            "{}{note} does not begin with {}; senders ignore it",
                            quoted(&lossy),
                            g.version
                        ),
                    ));
                }
            }
        }
    }
    Parsed {
        record: parsed.filter(|_| usable),
        published,
        problems: cap(problems),
    }
}

fn judge_one<T>(
    record: &TxtRecord,
    text: &[u8],
    prefix_wsp: bool,
    g: &Grammar,
    fields: FieldParser<T>,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    if record.strings.len() > 1 {
        problems.push(Problem::new(g.multistring, multistring(record, text)));
    }
    // RFC 8461 §3.1: "MTA-STS TXT records MUST be US-ASCII"; RFC 8460 §3's grammar is ASCII too.
    let Some(text) = std::str::from_utf8(text)
        .ok()
        .filter(|t| t.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b)))
    else {
        problems.push(Problem::new(
            g.non_ascii,
            format!(
                "{} contains {}: the record must be plain US-ASCII",
                quoted(&String::from_utf8_lossy(text)),
                describe_non_ascii(text)
            ),
        ));
        return None;
    };
    if prefix_wsp && let Some(check) = g.prefix_wsp {
        // RFC 8461 erratum 6285 (RFC 8460 §3 reads the same): the ABNF allows WSP before
        // ';', the prose's "v=STSv1;" / "v=TLSRPTv1;" prefix does not.
        problems.push(Problem::new(
            check,
            format!(
                "{} has whitespace between {} and ';'",
                quoted(text),
                g.version
            ),
        ));
    }
    fields(text, &text[g.version.len()..], problems)
}

/// Whether the text begins with the version then `*WSP ";"`, and if so whether that
/// WSP is there. Anything else is discarded by senders.
fn after_version(text: &[u8], version: &str) -> Option<bool> {
    let rest = text.strip_prefix(version.as_bytes())?;
    let wsp = rest.iter().take_while(|b| is_wsp(**b)).count();
    (rest.get(wsp) == Some(&b';')).then_some(wsp > 0)
}

/// Why a discarded record looks like a mistyped version of the record, if it does.
fn mistyped(text: &str, g: &Grammar) -> Option<String> {
    // Compare without case, whitespace and quotes, which are the usual mistakes.
    let norm: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && !is_quote(*c))
        .flat_map(char::to_lowercase)
        .collect();
    let want = g.version.to_ascii_lowercase();
    // The version's value up to the first character that cannot be part of it.
    let value: String = norm
        .strip_prefix("v=")
        .unwrap_or_default()
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    let close = norm.starts_with(&want)
        || (norm.starts_with("v=") && names::edit_distance(&value, &want[2..]) <= 2);
    let later = norm.contains(&format!(";{want}")) || norm.starts_with(g.key);
    if !close && !later {
        return None;
    }
    let why = if text.starts_with(is_wsp_char) {
        "it starts with whitespace".to_string()
    } else if text.starts_with(is_quote) {
        "it starts with a quote character (the quotes are part of the record's text)".to_string()
    } else if later && !close {
        format!("its first field is not {}", g.version)
    } else if let Some(rest) = text.strip_prefix(g.version) {
        match trim_wsp(rest) {
            "" => format!("nothing follows {}", g.version),
            rest => format!(
                "{} is followed by {} instead of ';'",
                g.version,
                quoted(rest)
            ),
        }
    } else {
        let head = trim_wsp(text.split(';').next().unwrap_or_default());
        format!("it begins with {} instead of {}", quoted(head), g.version)
    };
    Some(why)
}

/// Describes the strings of a multi-string record and the text senders make of them.
fn multistring(record: &TxtRecord, joined: &[u8]) -> String {
    // A few strings say how it is split; a hostile record may have hundreds.
    const SHOWN: usize = 4;
    let mut parts: Vec<String> = record
        .strings
        .iter()
        .take(SHOWN)
        .map(|s| quoted(&String::from_utf8_lossy(s)))
        .collect();
    if record.strings.len() > SHOWN {
        parts.push(format!("and {} more", record.strings.len() - SHOWN));
    }
    let mut message = format!(
        "the record is split into {} strings ({}), which senders join without spaces into {}",
        record.strings.len(),
        parts.join(" "),
        quoted(&String::from_utf8_lossy(joined))
    );
    // A split inside a field is where an author expecting a space gets another value.
    let mut at = 0;
    let all_but_last = record
        .strings
        .split_last()
        .map_or(&[][..], |(_, init)| init);
    for s in all_but_last {
        at += s.len();
        let inside = |i: usize| joined.get(i).is_some_and(|b| *b != b';' && !is_wsp(*b));
        if at > 0 && inside(at - 1) && inside(at) {
            let start = joined[..at]
                .iter()
                .rposition(|b| *b == b';' || is_wsp(*b))
                .map_or(0, |i| i + 1);
            let end = joined[at..]
                .iter()
                .position(|b| *b == b';' || is_wsp(*b))
                .map_or(joined.len(), |i| at + i);
            message.push_str(&format!(
                "; a split falls inside {}",
                quoted(&String::from_utf8_lossy(&joined[start..end]))
            ));
            break;
        }
    }
    message
}

fn describe_non_ascii(text: &[u8]) -> String {
    let lossy = String::from_utf8_lossy(text);
    let mut seen: Vec<char> = Vec::new();
    for c in lossy
        .chars()
        .filter(|c| !(c.is_ascii_graphic() || *c == ' ' || *c == '\t'))
    {
        if !seen.contains(&c) {
            seen.push(c);
        }
        if seen.len() == 4 {
            break;
        }
    }
    let described: Vec<String> = seen
        .iter()
        .map(|c| match c {
            '\u{fffd}' => "bytes that are not UTF-8".to_string(),
            c if c.is_control() => format!("the control character U+{:04X}", *c as u32),
            c => format!("U+{:04X} ({c})", *c as u32),
        })
        .collect();
    described.join(", ")
}

/// One piece of the text between delimiters.
enum Piece<'a> {
    /// `name=value`, perhaps recovered from a malformed piece already reported.
    Field(&'a str, &'a str),
    /// Text without `=` (or a URI), not reported yet.
    Loose(&'a str),
    /// A piece already reported that yields no field.
    Broken,
}

/// Splits the text after the version into fields, reporting delimiter and name
/// mistakes with `syntax` and recovering the fields they hide.
fn pieces<'a>(
    text: &str,
    rest: &'a str,
    syntax: Check,
    problems: &mut Vec<Problem>,
) -> Vec<Piece<'a>> {
    let mut out = Vec::new();
    let mut report = |message: String| problems.push(Problem::new(syntax, message));
    let trimmed = rest.trim_end_matches([' ', '\t']);
    if trimmed.len() < rest.len() && !trimmed.ends_with(';') {
        // The ABNF allows WSP only around ';', and strict parsers reject the leftover.
        report(format!(
            "{} ends with whitespace after its last field",
            quoted(text)
        ));
    }
    // `rest` starts with `*WSP ";"` (see `after_version`), so the first piece is empty.
    let segments: Vec<&str> = rest.split(';').skip(1).collect();
    let mut empty_reported = false;
    for (i, segment) in segments.iter().enumerate() {
        let segment = trim_wsp(segment);
        if segment.is_empty() {
            // One trailing delimiter is allowed; an empty field anywhere else is not.
            if i + 1 < segments.len() && !empty_reported {
                report(format!("{} has an empty field (\";;\")", quoted(text)));
                empty_reported = true;
            }
            continue;
        }
        let (parts, comma) = split_missing_delims(segment);
        if let [first, second, ..] = parts.as_slice() {
            report(format!(
                "{} and {} are separated by {} instead of ';'",
                quoted(first),
                quoted(second),
                if comma { "','" } else { "a space" }
            ));
        }
        for part in parts {
            out.push(piece(part, &mut report));
        }
    }
    out
}

fn piece<'a>(part: &'a str, report: &mut impl FnMut(String)) -> Piece<'a> {
    if looks_like_uri(part) {
        return Piece::Loose(part);
    }
    let Some((name, value)) = part.split_once('=') else {
        return Piece::Loose(part);
    };
    let (name, value) = (
        name.trim_end_matches([' ', '\t']),
        value.trim_start_matches([' ', '\t']),
    );
    if name.len() + value.len() + 1 < part.len() {
        report(format!("{}: no space is allowed around '='", quoted(part)));
    }
    if !ext_name_ok(name) {
        report(format!(
            "{}: {} is not a field name (a letter or digit, then up to 31 letters, digits, '_', '-' or '.')",
            quoted(part),
            quoted(name)
        ));
        return Piece::Broken;
    }
    Piece::Field(name, value)
}

/// Splits `a=1 b=2` or `a=1,b=2` (fields that lack their `;`) at each run of WSP or `,`
/// that is followed by `name=`. Also says whether a `,` was among the separators.
fn split_missing_delims(segment: &str) -> (Vec<&str>, bool) {
    let bytes = segment.as_bytes();
    let sep = |b: u8| is_wsp(b) || b == b',';
    let (mut parts, mut comma, mut start, mut i) = (Vec::new(), false, 0, 0);
    while i < bytes.len() {
        if !sep(bytes[i]) {
            i += 1;
            continue;
        }
        let run_end = i + bytes[i..].iter().take_while(|b| sep(**b)).count();
        if i > start && starts_with_name_eq(&segment[run_end..]) {
            parts.push(&segment[start..i]);
            comma |= bytes[i..run_end].contains(&b',');
            start = run_end;
        }
        i = run_end;
    }
    parts.push(&segment[start..]);
    (parts, comma)
}

fn starts_with_name_eq(s: &str) -> bool {
    // A name has at most 32 characters: look no further, or long records cost O(n²).
    s.bytes()
        .take(33)
        .position(|b| b == b'=')
        .is_some_and(|at| ext_name_ok(&s[..at]))
}

/// `(ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")`: the extension names of both
/// records (`sts-ext-name`, `tlsrpt-ext-name`) and of the policy (`sts-policy-ext-name`).
pub(crate) fn ext_name_ok(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 32
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
}

/// Why a value breaks `1*(%x21-3A / %x3C / %x3E-7E)` (no `=`, `;`, SP or CTL), if it does.
fn ext_value_problem(value: &str) -> Option<&'static str> {
    if value.is_empty() {
        Some("the value is empty")
    } else if value.contains('=') {
        Some("the value contains '='")
    } else if value.contains([' ', '\t']) {
        Some("the value contains a space")
    } else {
        None
    }
}

fn sts_fields(text: &str, rest: &str, problems: &mut Vec<Problem>) -> Option<StsRecord> {
    let mut id: Option<&str> = None;
    let mut id_seen = false;
    let mut complete = true;
    let mut extensions = Vec::new();
    for piece in pieces(text, rest, Check::StsTxtFieldSyntax, problems) {
        match piece {
            Piece::Field("id", value) => {
                id_seen = true;
                if let Some(first) = id {
                    // RFC 8461 §3.2: duplicated fields after the first "SHALL be ignored".
                    problems.push(Problem::new(
                        Check::StsTxtIdDuplicate,
                        format!(
                            "id is given more than once ({} and {}): {}",
                            quoted(first),
                            quoted(value),
                            crate::senders::DUPLICATE_FIELD.senders
                        ),
                    ));
                    continue;
                }
                if let Some(why) = id_problem(value) {
                    problems.push(Problem::new(
                        Check::StsTxtIdSyntax,
                        format!(
                            "{}: {why} (RFC 8461 §3.1); {}",
                            quoted(&format!("id={value}")),
                            crate::senders::TXT_ID.senders
                        ),
                    ));
                }
                id = Some(value);
            }
            Piece::Field(name, value) if name.eq_ignore_ascii_case("id") => {
                // `%s"id="` is case-sensitive: this is an extension, and the id is missing.
                id_seen = true;
                problems.push(Problem::new(
                    Check::StsTxtIdSyntax,
                    format!(
                        "{}: the field name must be \"id\", in lower case",
                        quoted(&format!("{name}={value}"))
                    ),
                ));
            }
            Piece::Field(name, value) => match ext_value_problem(value) {
                None => {
                    problems.push(Problem::new(
                        Check::StsTxtExtension,
                        format!("unknown field {}", quoted(&format!("{name}={value}"))),
                    ));
                    extensions.push((name.to_string(), value.to_string()));
                }
                Some(why) => problems.push(Problem::new(
                    Check::StsTxtFieldSyntax,
                    format!("{}: {why}", quoted(&format!("{name}={value}"))),
                )),
            },
            Piece::Loose(part) => {
                complete = false;
                problems.push(Problem::new(
                    Check::StsTxtFieldSyntax,
                    format!("{} is not a name=value field", quoted(part)),
                ));
            }
            Piece::Broken => complete = false,
        }
    }
    // A malformed piece may be the id: its report says enough.
    if !id_seen && complete {
        problems.push(Problem::new(
            Check::StsTxtIdMissing,
            format!("{} has no id field", quoted(text)),
        ));
    }
    Some(StsRecord {
        id: id?.to_string(),
        extensions,
    })
}

/// `sts-id = %s"id=" 1*32(ALPHA / DIGIT)`.
fn id_problem(id: &str) -> Option<String> {
    if id.is_empty() {
        return Some("the id is empty".into());
    }
    if let Some(c) = id.chars().find(|c| !c.is_ascii_alphanumeric()) {
        return Some(format!(
            "the id contains {c:?}; only letters and digits are allowed"
        ));
    }
    (id.len() > 32).then(|| format!("the id is {} characters long (at most 32)", id.len()))
}

fn tlsrpt_fields(text: &str, rest: &str, problems: &mut Vec<Problem>) -> Option<TlsRptRecord> {
    let mut rua = Vec::new();
    let mut rua_fields = 0;
    let mut strays = Vec::new();
    let mut misnamed = None;
    let mut complete = true;
    let mut extensions = Vec::new();
    for piece in pieces(text, rest, Check::TlsrptSyntax, problems) {
        match piece {
            Piece::Field("rua", value) => {
                rua_fields += 1;
                if rua_fields == 2 {
                    problems.push(Problem::new(
                        Check::TlsrptRuaDuplicate,
                        format!(
                            "{} has more than one rua= field; senders may use only one of them",
                            quoted(text)
                        ),
                    ));
                }
                rua.extend(rua_list(value, problems));
            }
            Piece::Field(name, value) => {
                if name.eq_ignore_ascii_case("rua") {
                    // `%s"rua="` is case-sensitive: to senders this is an unknown field.
                    misnamed.get_or_insert(format!("{name}={value}"));
                }
                match ext_value_problem(value) {
                    None => {
                        problems.push(Problem::new(
                            Check::TlsrptExtension,
                            format!("unknown field {}", quoted(&format!("{name}={value}"))),
                        ));
                        extensions.push((name.to_string(), value.to_string()));
                    }
                    Some(why) => problems.push(Problem::new(
                        Check::TlsrptSyntax,
                        format!("{}: {why}", quoted(&format!("{name}={value}"))),
                    )),
                }
            }
            Piece::Loose(part) if looks_like_uri(part) => strays.push(part),
            Piece::Loose(part) => {
                complete = false;
                problems.push(Problem::new(
                    Check::TlsrptSyntax,
                    format!("{} is not a name=value field", quoted(part)),
                ));
            }
            Piece::Broken => complete = false,
        }
    }
    // RFC 8460 §3: senders use only mailto: and https: URIs and skip the others.
    if rua_fields > 0
        && !discards(&TLSRPT, problems)
        && !rua.iter().any(|u| uri_problem(u).is_none())
    {
        problems.push(Problem::new(
            Check::TlsrptRuaMissing,
            format!(
                "{} lists no mailto: or https: URI, so senders have nowhere to send reports",
                quoted(text)
            ),
        ));
    }
    if rua_fields > 0 {
        for stray in strays {
            problems.push(Problem::new(
                Check::TlsrptRuaSyntax,
                format!(
                    "{} is separated from rua= by ';', which ends the field: separate report URIs with ','",
                    quoted(stray)
                ),
            ));
        }
    } else if let Some(stray) = strays.first() {
        problems.push(Problem::new(
            Check::TlsrptRuaMissing,
            format!("{} has no \"rua=\" in front of it", quoted(stray)),
        ));
    } else if let Some(field) = misnamed {
        problems.push(Problem::new(
            Check::TlsrptRuaMissing,
            format!(
                "{}: the field name must be \"rua\", in lower case",
                quoted(&field)
            ),
        ));
    } else if complete {
        problems.push(Problem::new(
            Check::TlsrptRuaMissing,
            format!("{} has no rua field", quoted(text)),
        ));
    }
    Some(TlsRptRecord { rua, extensions })
}

/// `tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri)`: the URIs, each checked.
fn rua_list(value: &str, problems: &mut Vec<Problem>) -> Vec<String> {
    let mut report = |check, message: String| problems.push(Problem::new(check, message));
    let mut uris = Vec::new();
    if trim_wsp(value).is_empty() {
        report(Check::TlsrptRuaSyntax, "rua= is empty".to_string());
        return uris;
    }
    let mut empty_reported = false;
    for item in value.split(',').map(trim_wsp) {
        if item.is_empty() {
            if !empty_reported {
                report(
                    Check::TlsrptRuaSyntax,
                    format!(
                        "{} has an empty URI (a ',' with nothing on one side)",
                        quoted(&format!("rua={value}"))
                    ),
                );
                empty_reported = true;
            }
            continue;
        }
        let words: Vec<&str> = item.split([' ', '\t']).filter(|w| !w.is_empty()).collect();
        if words.len() > 1 {
            if !words.iter().all(|w| looks_like_uri(w)) {
                report(
                    Check::TlsrptRuaSyntax,
                    format!("{}: a space must be percent-encoded (%20)", quoted(item)),
                );
                uris.push(item.to_string());
                continue;
            }
            report(
                Check::TlsrptRuaSyntax,
                format!(
                    "{}: URIs are separated by a space; separate them with ','",
                    quoted(item)
                ),
            );
        }
        for uri in words {
            if let Some((check, why)) = uri_problem(uri) {
                report(check, format!("{}: {why}", quoted(uri)));
            }
            uris.push(uri.to_string());
        }
    }
    uris
}

/// What is wrong with one report URI (RFC 8460 §3: `mailto` or `https`, with `,`, `!` and
/// `;` percent-encoded), if anything.
fn uri_problem(uri: &str) -> Option<(Check, String)> {
    let syntax = |why: String| Some((Check::TlsrptRuaSyntax, why));
    if let Some(at) = uri.find('!') {
        return syntax(format!(
            "a raw '!' ({}) must be written %21; a DMARC-style size limit such as \"!10m\" is not part of TLS-RPT",
            quoted(&uri[at..])
        ));
    }
    let Some((scheme, rest)) = uri.split_once(':').filter(|(s, _)| scheme_ok(s)) else {
        let why = if uri.to_ascii_lowercase().starts_with("mailto") {
            "\"mailto\" must be followed by ':'".to_string()
        } else if uri.contains('@') {
            "a bare address: write it as a mailto: URI".to_string()
        } else {
            "there is no scheme: write mailto:address or https://host/path".to_string()
        };
        // Not a URI at all, so the record breaks the grammar.
        return syntax(why);
    };
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "mailto" && scheme != "https" {
        let why = if scheme == "http" {
            "http: is not supported; use https:".to_string()
        } else {
            format!("the scheme {scheme}: is not supported; use mailto: or https:")
        };
        return Some((Check::TlsrptRuaScheme, why));
    }
    if let Some(c) = uri.bytes().find(|b| !uri_byte_ok(*b)) {
        return syntax(format!(
            "{:?} is not allowed in a URI and must be percent-encoded",
            char::from(c)
        ));
    }
    if let Some(at) = bad_percent(uri) {
        return syntax(format!(
            "{} is not a valid percent-encoding",
            quoted(&uri[at..])
        ));
    }
    let why = if scheme == "mailto" {
        mailto_problem(rest)
    } else {
        https_problem(rest)
    };
    why.and_then(syntax)
}

fn mailto_problem(rest: &str) -> Option<String> {
    let address = rest.split('?').next().unwrap_or_default();
    if address.starts_with("//") {
        return Some("mailto: is followed by the address directly, without \"//\"".into());
    }
    let Some((local, domain)) = address.rsplit_once('@') else {
        return Some(format!("{} is not an address (no '@')", quoted(address)));
    };
    if local.is_empty() || local.contains('@') {
        return Some(format!("{} is not an address", quoted(address)));
    }
    names::check_domain(domain)
        .err()
        .map(|why| format!("the domain {} is not valid: {why}", quoted(domain)))
}

fn https_problem(rest: &str) -> Option<String> {
    let Some(rest) = rest.strip_prefix("//") else {
        return Some("https: must be followed by //host".into());
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = match host_port.strip_prefix('[') {
        Some(literal) => match literal.split_once(']') {
            Some((addr, port)) if addr.parse::<Ipv6Addr>().is_ok() => ("", port),
            _ => {
                return Some(format!(
                    "{} is not an IPv6 address literal",
                    quoted(host_port)
                ));
            }
        },
        None => match host_port.find(':') {
            Some(colon) => host_port.split_at(colon),
            None => (host_port, ""),
        },
    };
    if !port.is_empty()
        && !port
            .strip_prefix(':')
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Some(format!("{} is not a host and port", quoted(host_port)));
    }
    if host_port.starts_with('[') {
        return None;
    }
    names::check_domain(host)
        .err()
        .map(|why| format!("the host {} is not valid: {why}", quoted(host)))
}

/// RFC 3986 `scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`.
fn scheme_ok(scheme: &str) -> bool {
    scheme
        .as_bytes()
        .first()
        .is_some_and(u8::is_ascii_alphabetic)
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// RFC 3986 unreserved, reserved and `%`.
fn uri_byte_ok(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b)
}

/// Where a `%` is not followed by two hex digits, if anywhere.
fn bad_percent(uri: &str) -> Option<usize> {
    let b = uri.as_bytes();
    (0..b.len()).find(|&i| {
        b[i] == b'%'
            && !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    })
}

/// A scheme then `:`, or an address: text meant as a URI rather than a field.
fn looks_like_uri(part: &str) -> bool {
    match part.split_once(':') {
        Some((scheme, _)) if scheme_ok(scheme) => true,
        _ => part.contains('@') && !part.contains('='),
    }
}

fn discards(g: &Grammar, problems: &[Problem]) -> bool {
    problems.iter().any(|p| g.discarding.contains(&p.check))
}

fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn is_wsp_char(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn trim_wsp(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

/// ASCII and typographic quote characters, pasted from documents into records and policies.
pub(crate) fn is_quote(c: char) -> bool {
    matches!(
        c,
        '"' | '\'' | '`' | '\u{2018}' | '\u{2019}' | '\u{201c}' | '\u{201d}'
    )
}

/// Problems of one check reported one by one before the rest are only counted, so that
/// garbage input yields a handful of findings, not thousands.
const MAX_PER_CHECK: usize = 5;

/// Keeps the first [`MAX_PER_CHECK`] problems of each check and counts the rest, for
/// both parsers.
pub(crate) fn cap(problems: Vec<Problem>) -> Vec<Problem> {
    let mut kept: Vec<Problem> = Vec::new();
    let mut extra: Vec<(Check, usize)> = Vec::new();
    for problem in problems {
        if kept.iter().filter(|p| p.check == problem.check).count() < MAX_PER_CHECK {
            kept.push(problem);
        } else if let Some((_, n)) = extra.iter_mut().find(|(c, _)| *c == problem.check) {
            *n += 1;
        } else {
            extra.push((problem.check, 1));
        }
    }
    for (check, n) in extra {
        kept.push(Problem::new(
            check,
            format!("and {n} more of the same kind"),
        ));
    }
    kept
}

/// `s` in double quotes, cut at 120 characters: evidence for a message.
pub(crate) fn quoted(s: &str) -> String {
    const MAX: usize = 120;
    match s.char_indices().nth(MAX) {
        Some((cut, _)) => format!("\"{}…\"", &s[..cut]),
        None => format!("\"{s}\""),
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{ids, manifest, worst};
    use super::*;
    use crate::checks::Severity;
    use proptest::prelude::*;

    fn rrset(records: &[&[&str]]) -> Vec<TxtRecord> {
        records
            .iter()
            .map(|strings| TxtRecord {
                strings: strings.iter().map(|s| s.as_bytes().to_vec()).collect(),
            })
            .collect()
    }

    /// The record, after checking that nothing worse than an info came with it.
    #[track_caller]
    fn usable<T>(records: &[&[&str]], judge: fn(&[TxtRecord]) -> Parsed<T>) -> T {
        let parsed = judge(&rrset(records));
        assert!(
            worst(&parsed.problems) <= Some(Severity::Info),
            "{records:?}: {:?}",
            parsed.problems
        );
        parsed.record.expect("a usable record")
    }

    /// The judgement, after checking its exact check ids and that a problem that makes
    /// senders discard the record means no record.
    #[track_caller]
    fn judged<T>(
        records: &[&[&str]],
        want: &[&str],
        judge: fn(&[TxtRecord]) -> Parsed<T>,
    ) -> Parsed<T> {
        let parsed = judge(&rrset(records));
        assert_eq!(
            ids(&parsed.problems),
            want,
            "{records:?}: {:?}",
            parsed.problems
        );
        let discarded = parsed
            .problems
            .iter()
            .any(|p| STS.discarding.contains(&p.check) || TLSRPT.discarding.contains(&p.check));
        assert!(!(discarded && parsed.record.is_some()), "{records:?}");
        parsed
    }

    #[track_caller]
    fn sts_good(records: &[&[&str]], id: &str) {
        assert_eq!(usable(records, sts_from_txt).id, id, "{records:?}");
    }

    #[track_caller]
    fn sts_bad(records: &[&[&str]], want: &[&str]) -> Parsed<StsRecord> {
        judged(records, want, sts_from_txt)
    }

    #[rustfmt::skip]
    #[test]
    fn sts_records() {
        sts_good(&[&["v=STSv1; id=20240101T000000"]], "20240101T000000");
        sts_good(&[&["v=STSv1;id=1"]], "1"); // no spaces at all
        sts_good(&[&["v=STSv1; id=1;"]], "1"); // one trailing delimiter
        sts_good(&[&["v=STSv1; id=1; "]], "1"); // WSP after the trailing ';'
        sts_good(&[&["v=STSv1;\tid=1"]], "1"); // HTAB is WSP
        sts_good(&[&["v=STSv1; id=12", "34"]], "1234"); // strings joined without spaces
        sts_good(&[&["v=STSv1; ", "id=1"]], "1");
        sts_good(&[&["v=spf1 -all"], &["v=STSv1; id=1"]], "1"); // unrelated TXT beside it
        sts_good(&[&["v=STSv1; foo=bar; id=1"]], "1"); // extension before id
        sts_good(&[&["v=STSv1; id=1; a.b-c_d=x,y:z"]], "1");
        sts_good(&[&[&format!("v=STSv1; id={}", "a".repeat(32))]], &"a".repeat(32));

        sts_bad(&[], &[]); // absent: reported by the caller
        sts_bad(&[&["google-site-verification=abc"]], &["sts-txt-other-records"]); // unrelated: ignored
        sts_bad(&[&["V=STSv1; id=1"]], &["sts-txt-version"]); // case-sensitive
        sts_bad(&[&["v=stsv1; id=1"]], &["sts-txt-version"]); // case-sensitive
        sts_bad(&[&["v = STSv1; id=1"]], &["sts-txt-version"]); // WSP around '='
        sts_bad(&[&["v=STSv2; id=1"]], &["sts-txt-version"]); // unknown version
        sts_bad(&[&["v=STS1; id=1"]], &["sts-txt-version"]); // typo
        sts_bad(&[&[" v=STSv1; id=1"]], &["sts-txt-version"]); // leading WSP
        sts_bad(&[&["\"v=STSv1; id=1\""]], &["sts-txt-version"]); // literal quotes
        sts_bad(&[&["id=1; v=STSv1"]], &["sts-txt-version"]); // version not first
        sts_bad(&[&["v=STSv1 id=1"]], &["sts-txt-version"]); // no ';' at all
        sts_bad(&[&["v=STSv1"]], &["sts-txt-version"]); // nothing after the version
        sts_bad(&[&["v=STSv10; id=1"]], &["sts-txt-version"]); // not v=STSv1 then delimiter
        let wsp = sts_bad(&[&["v=STSv1 ; id=1"]], &["sts-txt-prefix-wsp"]); // erratum 6285
        assert!(wsp.record.is_some(), "valid by the ABNF: still usable");
        sts_bad(&[&["v=STSv1; id=1"], &["v=STSv1; id=2"]], &["sts-txt-multiple"]); // two records
        sts_bad(&[&["v=STSv1; id=1"], &["v=STSv1; id=1"]], &["sts-txt-multiple"]); // even identical ones
        sts_bad(&[&["v=STSv1;"]], &["sts-txt-id-missing"]); // no id
        sts_bad(&[&["v=STSv1; foo=bar"]], &["sts-txt-extension", "sts-txt-id-missing"]); // no id, an extension
        sts_bad(&[&["v=STSv1; id=2024-01-01"]], &["sts-txt-id-syntax"]); // '-' in id
        sts_bad(&[&["v=STSv1; id="]], &["sts-txt-id-syntax"]); // empty id
        sts_bad(&[&[&format!("v=STSv1; id={}", "1".repeat(33))]], &["sts-txt-id-syntax"]); // id over 32 characters
        sts_bad(&[&["v=STSv1; ID=1"]], &["sts-txt-id-syntax"]); // `id` is case-sensitive
        sts_bad(&[&["v=STSv1; id=2024 01 01"]], &["sts-txt-id-syntax"]); // spaces in the id
        let dup = sts_bad(&[&["v=STSv1; id=1; id=2"]], &["sts-txt-id-duplicate"]);
        assert_eq!(dup.record.map(|r| r.id).as_deref(), Some("1")); // the first wins
        sts_bad(&[&["v=STSv1;; id=1"]], &["sts-txt-field-syntax"]); // empty field
        sts_bad(&[&["v=STSv1; id=1;;"]], &["sts-txt-field-syntax"]); // two trailing ';'
        sts_bad(&[&["v=STSv1; ; id=1"]], &["sts-txt-field-syntax"]); // empty field
        sts_bad(&[&["v=STSv1; id=1 foo=bar"]], &["sts-txt-extension", "sts-txt-field-syntax"]); // missing ';'
        sts_bad(&[&["v=STSv1; id=1, foo=bar"]], &["sts-txt-extension", "sts-txt-field-syntax"]); // ',' as delimiter
        sts_bad(&[&["v=STSv1; id=1; foo=a b"]], &["sts-txt-field-syntax"]); // space in value
        sts_bad(&[&["v=STSv1; id=1; foo="]], &["sts-txt-field-syntax"]); // empty value
        sts_bad(&[&["v=STSv1; id=1; foo=a=b"]], &["sts-txt-field-syntax"]); // '=' in value
        sts_bad(&[&["v=STSv1; id=1; _foo=bar"]], &["sts-txt-field-syntax"]); // bad name
        sts_bad(&[&[&format!("v=STSv1; id=1; {}=x", "n".repeat(33))]], &["sts-txt-field-syntax"]); // extension name over 32 characters
        sts_bad(&[&["v=STSv1; id = 1"]], &["sts-txt-field-syntax"]); // WSP around '='
        sts_bad(&[&["v=STSv1; id=1 "]], &["sts-txt-field-syntax"]); // trailing WSP, no ';'
        sts_bad(&[&["v=STSv1; 20240101"]], &["sts-txt-field-syntax"]); // "id=" forgotten
        sts_bad(&[&["v=STSv1; id=\u{201c}1\u{201d}"]], &["sts-txt-non-ascii"]); // smart quotes
        sts_bad(&[&["v=STSv1; id=1\r\n"]], &["sts-txt-non-ascii"]); // control characters
        sts_bad(&[&["v=STSv1; id=1"], &["V=STSv1; id=2"]], &["sts-txt-case-variant"]); // mailauth counts it as a second record
        sts_bad(&[&["v=STSv1; id=1"], &["v=STSv1 id=2"]], &["sts-txt-other-records"]); // harmless beside a usable record
        sts_bad(&[&["v=STSv1; id=1"], &["v=TLSRPTv1; rua=mailto:a@example.com"]], &["sts-txt-other-records"]); // a TLS-RPT record at the wrong name
        sts_bad(&[&["v=STSv1; id=1", "2"]], &["sts-txt-multistring"]); // strings joined into id=12
    }

    #[test]
    fn sts_record_bytes_that_are_not_utf8() {
        let records = [TxtRecord {
            strings: vec![b"v=STSv1; id=1\xff".to_vec()],
        }];
        let parsed = sts_from_txt(&records);
        assert_eq!(ids(&parsed.problems), ["sts-txt-non-ascii"]);
        assert!(parsed.problems[0].message.contains("not UTF-8"));
        assert_eq!(parsed.record, None);
    }

    #[test]
    fn sts_messages_quote_the_evidence() {
        let message =
            |records: &[&[&str]]| sts_from_txt(&rrset(records)).problems[0].message.clone();
        assert_eq!(
            message(&[&["v=STSv1 id=1"]]),
            "\"v=STSv1 id=1\": v=STSv1 is followed by \"id=1\" instead of ';', so senders discard the record"
        );
        assert_eq!(
            message(&[&["V=STSv1; id=1"]]),
            "\"V=STSv1; id=1\": it begins with \"V=STSv1\" instead of v=STSv1, so postfix-mta-sts-resolver and mox discard such a record, mailauth counts it (its prefix test ignores case)"
        );
        assert_eq!(
            message(&[&["v=STSv1; id=12", "34"]]),
            "the record is split into 2 strings (\"v=STSv1; id=12\" \"34\"), which senders join \
             without spaces into \"v=STSv1; id=1234\"; a split falls inside \"id=1234\""
        );
        assert_eq!(
            message(&[&["v=STSv1; id=1, foo=bar"]]),
            "\"id=1\" and \"foo=bar\" are separated by ',' instead of ';'"
        );
        assert!(message(&[&["v=STSv1; id=\u{201c}1"]]).contains("U+201C (\u{201c})"));
        assert!(message(&[&["v=STSv1; id=2024-01"]]).contains("'-'"));
    }

    #[test]
    fn sts_extensions_are_kept_in_order() {
        let parsed = sts_from_txt(&rrset(&[&["v=STSv1; b=2; id=x1; a=1"]]));
        let record = parsed.record.expect("usable");
        assert_eq!(record.id, "x1");
        assert_eq!(
            record.extensions,
            [("b".into(), "2".into()), ("a".into(), "1".into())]
        );
        assert_eq!(record.to_string(), "v=STSv1; id=x1; b=2; a=1");
    }

    #[track_caller]
    fn tlsrpt_good(records: &[&[&str]], rua: &[&str]) {
        assert_eq!(usable(records, tlsrpt_from_txt).rua, rua, "{records:?}");
    }

    #[track_caller]
    fn tlsrpt_bad(records: &[&[&str]], want: &[&str]) -> Parsed<TlsRptRecord> {
        judged(records, want, tlsrpt_from_txt)
    }

    #[rustfmt::skip]
    #[test]
    fn tlsrpt_records() {
        const A: &str = "mailto:tlsrpt@example.com";
        tlsrpt_good(&[&["v=TLSRPTv1; rua=mailto:tlsrpt@example.com"]], &[A]);
        tlsrpt_good(&[&["v=TLSRPTv1;rua=mailto:tlsrpt@example.com;"]], &[A]);
        tlsrpt_good(&[&["v=TLSRPTv1; rua=mailto:tls", "rpt@example.com"]], &[A]);
        tlsrpt_good(&[&["v=spf1 -all"], &["v=TLSRPTv1; rua=mailto:tlsrpt@example.com"]], &[A]);
        tlsrpt_good(&[&["v=TLSRPTv1; rua=MAILTO:tlsrpt@example.com"]], &["MAILTO:tlsrpt@example.com"]);
        tlsrpt_good(&[&["v=TLSRPTv1; rua=mailto:a@example.com,https://r.example.net/v1/tlsrpt"]], &["mailto:a@example.com", "https://r.example.net/v1/tlsrpt"]);
        tlsrpt_good(&[&["v=TLSRPTv1; rua=mailto:a+tls@example.com , https://r.example.net:8443/x?d=a%2Cb"]], &["mailto:a+tls@example.com", "https://r.example.net:8443/x?d=a%2Cb"]);
        tlsrpt_good(&[&["v=TLSRPTv1; rua=https://[2001:db8::1]/r"]], &["https://[2001:db8::1]/r"]);
        tlsrpt_good(&[&["v=TLSRPTv1; rua=mailto:a@example.com?subject=tls"]], &["mailto:a@example.com?subject=tls"]);
        tlsrpt_good(&[&["v=TLSRPTv1; rua=mailto:tlsrpt@example.com; x-vendor=abc"]], &[A]);

        tlsrpt_bad(&[], &[]); // absent: reported by the caller
        tlsrpt_bad(&[&["v=spf1 -all"]], &[]); // unrelated records are ignored silently
        tlsrpt_bad(&[&["v=TLSRPTv2; rua=mailto:a@example.com"]], &["tlsrpt-version"]); // unknown version
        tlsrpt_bad(&[&["v=TSLRPTv1; rua=mailto:a@example.com"]], &["tlsrpt-version"]); // typo
        tlsrpt_bad(&[&["v=tlsrptv1; rua=mailto:a@example.com"]], &["tlsrpt-version"]); // case-sensitive
        tlsrpt_bad(&[&["v=TLSRPT1; rua=mailto:a@example.com"]], &["tlsrpt-version"]); // typo
        tlsrpt_bad(&[&["rua=mailto:a@example.com; v=TLSRPTv1"]], &["tlsrpt-version"]); // version not first
        tlsrpt_bad(&[&["rua=mailto:a@example.com"]], &["tlsrpt-version"]); // no version
        tlsrpt_bad(&[&["v=TLSRPTv1; rua=mailto:a@example.com"], &["v=TLSRPTv1; rua=https://r.example.com/"]], &["tlsrpt-multiple"]); // two records
        tlsrpt_bad(&[&["v=TLSRPTv1;"]], &["tlsrpt-rua-missing"]); // no rua
        tlsrpt_bad(&[&["v=TLSRPTv1; RUA=mailto:a@example.com"]], &["tlsrpt-extension", "tlsrpt-rua-missing"]); // case-sensitive name
        tlsrpt_bad(&[&["v=TLSRPTv1; mailto:a@example.com"]], &["tlsrpt-rua-missing"]); // URI without rua=
        tlsrpt_bad(&[&["v=TLSRPTv1; rua=http://r.example.com/"]], &["tlsrpt-rua-missing", "tlsrpt-rua-scheme"]); // http: only
        tlsrpt_bad(&[&["v=TLSRPTv1; rua=tlsrpt@example.com"]], &["tlsrpt-rua-syntax"]); // a bare address is not a URI
        tlsrpt_bad(&[&["v=TLSRPTv1; rua=mailto//a@example.com"]], &["tlsrpt-rua-syntax"]); // no ':' after mailto
        tlsrpt_bad(&[&["v=TLSRPTv1; rua=ftp://r.example.com/"]], &["tlsrpt-rua-missing", "tlsrpt-rua-scheme"]); // other scheme only
        let mixed = tlsrpt_bad(&[&["v=TLSRPTv1; rua=mailto:a@example.com,http://r.example.com/"]], &["tlsrpt-rua-scheme"]); // one usable URI left
        assert!(mixed.record.is_some(), "senders skip the http: URI and use the mailto:");
        let wsp = tlsrpt_bad(&[&["v=TLSRPTv1 ; rua=mailto:a@example.com"]], &["tlsrpt-prefix-wsp"]); // WSP before ';' (erratum 6285)
        assert!(wsp.record.is_some(), "valid per the ABNF, fragile with prefix filters");
        tlsrpt_bad(&[&["v=TLSRPTv1; rua=mailto:a@example.com!10m"]], &["tlsrpt-rua-syntax"]); // DMARC-style size suffix
        tlsrpt_bad(&[&["v=TLSRPTv1; rua=mailto:a@example.com; mailto:b@example.com"]], &["tlsrpt-rua-syntax"]); // ';' between URIs
        tlsrpt_bad(&[&["v=TLSRPTv1; rua=mailto:a@example.com mailto:b@example.com"]], &["tlsrpt-rua-syntax"]); // space between
        tlsrpt_bad(&[&["v=TLSRPTv1; rua=https://r.example.com/a b"]], &["tlsrpt-rua-syntax"]); // raw space in a URI
        tlsrpt_bad(&[&["v=TLSRPTv1; rua="]], &["tlsrpt-rua-syntax"]); // empty rua
        tlsrpt_bad(&[&["v=TLSRPTv1; rua=mailto:a@example.com,"]], &["tlsrpt-rua-syntax"]); // empty URI after the comma
        tlsrpt_bad(&[&["v=TLSRPTv1; rua=mailto:tlsrpt"]], &["tlsrpt-rua-syntax"]); // no '@'
        tlsrpt_bad(&[&["v=TLSRPTv1; rua=mailto:a@exa_mple.com"]], &["tlsrpt-rua-syntax"]); // '_' in the domain
        tlsrpt_bad(&[&["v=TLSRPTv1; rua=mailto:a@example.com."]], &["tlsrpt-rua-syntax"]); // trailing dot
        tlsrpt_bad(&[&["v=TLSRPTv1; rua=mailto://a@example.com"]], &["tlsrpt-rua-syntax"]); // '//' after mailto:
        tlsrpt_bad(&[&["v=TLSRPTv1; rua=https:/r.example.com/"]], &["tlsrpt-rua-syntax"]); // one '/'
        tlsrpt_bad(&[&["v=TLSRPTv1; rua=https://"]], &["tlsrpt-rua-syntax"]); // no host
        tlsrpt_bad(&[&["v=TLSRPTv1; rua=https://r.example.com:x/"]], &["tlsrpt-rua-syntax"]); // port not a number
        tlsrpt_bad(&[&["v=TLSRPTv1; rua=https://[::g]/"]], &["tlsrpt-rua-syntax"]); // bad IPv6 literal
        tlsrpt_bad(&[&["v=TLSRPTv1; rua=https://r.example.com/%zz"]], &["tlsrpt-rua-syntax"]); // bad percent-encoding
        tlsrpt_bad(&[&["v=TLSRPTv1; rua=https://r.example.com/<x>"]], &["tlsrpt-rua-syntax"]); // '<' not allowed
        let dup = tlsrpt_bad(&[&["v=TLSRPTv1; rua=mailto:a@example.com; rua=mailto:b@example.com"]], &["tlsrpt-rua-duplicate"]); // second rua=
        assert!(dup.record.is_some(), "a second rua= is only a warning");
        tlsrpt_bad(&[&["v=TLSRPTv1; rua=mailto:a@example.com; foo"]], &["tlsrpt-syntax"]); // field without '='
        tlsrpt_bad(&[&["v=TLSRPTv1; rua=mailto:a@example.com;; x=1"]], &["tlsrpt-extension", "tlsrpt-syntax"]); // empty field
        tlsrpt_bad(&[&["v=TLSRPTv1; rua=mailto:\u{201c}a\u{201d}@example.com"]], &["tlsrpt-syntax"]); // smart quotes
        tlsrpt_bad(&[&["v=TLSRPTv1; rua=mailto:a@example.com,ruf=mailto:b@example.com"]], &["tlsrpt-extension", "tlsrpt-syntax"]); // ',' ends a field
        tlsrpt_bad(&[&["v=TLSRPTv1; rua=mailto:a@example.com", "; x=1"]], &["tlsrpt-extension", "tlsrpt-multistring"]); // two strings
    }

    #[test]
    fn tlsrpt_duplicate_rua_keeps_every_uri() {
        let parsed = tlsrpt_from_txt(&rrset(&[&[
            "v=TLSRPTv1; rua=mailto:a@example.com; rua=https://r.example.com/",
        ]]));
        let record = parsed.record.expect("usable");
        assert_eq!(
            record.rua,
            ["mailto:a@example.com", "https://r.example.com/"]
        );
        assert_eq!(
            record.to_string(),
            "v=TLSRPTv1; rua=mailto:a@example.com,https://r.example.com/"
        );
    }

    #[test]
    fn tlsrpt_size_suffix_message_names_it() {
        let parsed = tlsrpt_from_txt(&rrset(&[&["v=TLSRPTv1; rua=mailto:a@example.com!10m"]]));
        assert!(
            parsed.problems[0].message.contains("\"!10m\""),
            "{:?}",
            parsed.problems
        );
    }

    /// The owner and character-strings of a zone-file TXT line (RFC 1035 §5.1), if it is one.
    fn zone_txt(line: &str) -> Option<(&str, TxtRecord)> {
        let (owner, mut rest) = line.split_once(char::is_whitespace)?;
        while let Some((word, after)) = rest.trim_start().split_once(char::is_whitespace) {
            rest = after;
            if word == "TXT" {
                return Some((
                    owner,
                    TxtRecord {
                        strings: character_strings(rest.as_bytes()),
                    },
                ));
            }
        }
        None
    }

    /// Quoted strings with `\"`, `\\` and `\DDD` escapes, up to a `;` comment.
    fn character_strings(b: &[u8]) -> Vec<Vec<u8>> {
        let (mut strings, mut i) = (Vec::new(), 0);
        while i < b.len() {
            match b[i] {
                b';' => break,
                b'"' => {
                    let mut s = Vec::new();
                    i += 1;
                    while b[i] != b'"' {
                        if b[i] == b'\\' && b[i + 1].is_ascii_digit() {
                            let digits = std::str::from_utf8(&b[i + 1..i + 4]).expect("ASCII");
                            s.push(digits.parse().expect("\\DDD"));
                            i += 4;
                        } else {
                            i += usize::from(b[i] == b'\\');
                            s.push(b[i]);
                            i += 1;
                        }
                    }
                    strings.push(s);
                    i += 1;
                }
                _ => i += 1,
            }
        }
        strings
    }

    /// The expected checks of every record set in fixtures/records, as listed in its MANIFEST.
    #[test]
    fn fixtures_match_the_manifest() {
        for (path, mut want) in manifest("records") {
            let usable = want.iter().any(|w| w == "usable");
            want.retain(|id| id != "usable");
            let zone = std::fs::read_to_string(&path).expect("fixture");
            let txt: Vec<(&str, TxtRecord)> = zone.lines().filter_map(zone_txt).collect();
            let records: Vec<TxtRecord> = txt.iter().map(|(_, r)| r.clone()).collect();
            let (got, got_usable) = match txt.first().map(|(owner, _)| *owner) {
                Some(owner) if owner.starts_with("_mta-sts.") => {
                    let parsed = sts_from_txt(&records);
                    (ids(&parsed.problems), parsed.record.is_some())
                }
                Some(owner) if owner.starts_with("_smtp._tls.") => {
                    let parsed = tlsrpt_from_txt(&records);
                    (ids(&parsed.problems), parsed.record.is_some())
                }
                other => panic!("{path:?}: no TXT at a known name ({other:?})"),
            };
            assert_eq!(got, want, "{path:?}");
            assert_eq!(got_usable, usable, "{path:?}");
        }
    }

    fn ext_name() -> impl Strategy<Value = String> {
        "[A-Za-z0-9][A-Za-z0-9_.-]{0,31}".prop_filter("not a known field", |n| {
            !n.eq_ignore_ascii_case("id") && !n.eq_ignore_ascii_case("rua")
        })
    }

    fn ext_value() -> impl Strategy<Value = String> {
        "[!-:<>-~]{1,20}"
    }

    fn domain() -> impl Strategy<Value = String> {
        prop::collection::vec("[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?", 1..4)
            .prop_map(|labels| labels.join("."))
    }

    fn uri() -> impl Strategy<Value = String> {
        prop_oneof![
            ("[a-z0-9._+-]{1,10}", domain()).prop_map(|(l, d)| format!("mailto:{l}@{d}")),
            (domain(), "[a-z0-9/._-]{0,12}").prop_map(|(d, p)| format!("https://{d}/{p}")),
        ]
    }

    /// Text that gets past the version prefix, to reach the field parsers.
    fn near_record() -> impl Strategy<Value = Vec<Vec<u8>>> {
        let prefix = prop_oneof![
            Just("v=STSv1"),
            Just("v=TLSRPTv1"),
            Just("v=STSv1 "),
            Just("")
        ];
        let body = prop::collection::vec(
            prop_oneof![
                Just("; ".to_string()),
                Just(";".to_string()),
                Just("id=".to_string()),
                Just("rua=".to_string()),
                Just("mailto:".to_string()),
                Just("https://".to_string()),
                Just(",".to_string()),
                Just(" ".to_string()),
                Just("=".to_string()),
                Just("@".to_string()),
                Just("[".to_string()),
                Just("]".to_string()),
                Just("%".to_string()),
                Just("!".to_string()),
                Just(":".to_string()),
                "[a-zA-Z0-9._-]{1,6}",
                any::<char>().prop_map(String::from),
            ],
            0..12,
        );
        (prefix, body, 1usize..4).prop_map(|(p, b, n)| {
            let text = format!("{p}{}", b.concat()).into_bytes();
            let size = text.len().div_ceil(n).max(1);
            text.chunks(size).map(<[u8]>::to_vec).collect()
        })
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(
            records in prop::collection::vec(
                prop::collection::vec(prop::collection::vec(any::<u8>(), 0..80), 0..3),
                0..3,
            )
        ) {
            let records: Vec<TxtRecord> = records.into_iter().map(|strings| TxtRecord { strings }).collect();
            for parsed in [sts_from_txt(&records).problems, tlsrpt_from_txt(&records).problems] {
                prop_assert!(parsed.iter().all(|p| !p.message.is_empty()));
            }
        }

        #[test]
        fn never_panics_on_near_records(records in prop::collection::vec(near_record(), 0..3)) {
            let records: Vec<TxtRecord> = records.into_iter().map(|strings| TxtRecord { strings }).collect();
            let sts = sts_from_txt(&records);
            if sts.record.is_some() {
                prop_assert!(worst(&sts.problems) < Some(Severity::Error));
            }
            let tlsrpt = tlsrpt_from_txt(&records);
            if tlsrpt.record.is_some() {
                prop_assert!(worst(&tlsrpt.problems) < Some(Severity::Error));
            }
        }

        #[test]
        fn sts_record_round_trips(
            id in "[A-Za-z0-9]{1,32}",
            extensions in prop::collection::vec((ext_name(), ext_value()), 0..4),
        ) {
            let record = StsRecord { id, extensions };
            let text = record.to_string();
            let parsed = sts_from_txt(&rrset(&[&[&text]]));
            prop_assert!(worst(&parsed.problems) <= Some(Severity::Info), "{}: {:?}", text, parsed.problems);
            prop_assert_eq!(parsed.record, Some(record));
        }

        #[test]
        fn tlsrpt_record_round_trips(
            rua in prop::collection::vec(uri(), 1..4),
            extensions in prop::collection::vec((ext_name(), ext_value()), 0..4),
        ) {
            let record = TlsRptRecord { rua, extensions };
            let text = record.to_string();
            let parsed = tlsrpt_from_txt(&rrset(&[&[&text]]));
            prop_assert!(worst(&parsed.problems) <= Some(Severity::Info), "{}: {:?}", text, parsed.problems);
            prop_assert_eq!(parsed.record, Some(record));
        }
    }
}

/// What the tests of both parsers share: the fixture corpora under `fixtures/`, and ways
/// to look at problems.
#[cfg(test)]
pub(crate) mod test_support {
    use std::path::{Path, PathBuf};

    use crate::checks::Severity;
    use crate::finding::Problem;

    /// The check ids, sorted.
    pub(crate) fn ids(problems: &[Problem]) -> Vec<&'static str> {
        let mut ids: Vec<_> = problems.iter().map(|p| p.check.id()).collect();
        ids.sort();
        ids
    }

    pub(crate) fn worst(problems: &[Problem]) -> Option<Severity> {
        problems.iter().map(|p| p.check.info().severity).max()
    }

    /// The entries of `fixtures/DIR/MANIFEST` (`FILE: word word ...`, `#` comments): each
    /// file's path and its words, sorted. Fails unless every file in the directory is listed
    /// exactly once, and every word other than "usable" is a check id.
    pub(crate) fn manifest(dir: &str) -> Vec<(PathBuf, Vec<String>)> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(dir);
        let text = std::fs::read_to_string(dir.join("MANIFEST")).expect("MANIFEST");
        let mut entries = Vec::new();
        for line in text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        {
            let (file, words) = line.split_once(':').expect("FILE: ids");
            let mut words: Vec<String> = words.split_whitespace().map(String::from).collect();
            for word in words.iter().filter(|w| *w != "usable") {
                assert!(
                    crate::checks::Check::from_id(word).is_some(),
                    "{file}: {word}"
                );
            }
            words.sort();
            entries.push((dir.join(file), words));
        }
        let mut listed: Vec<PathBuf> = entries.iter().map(|(p, _)| p.clone()).collect();
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("fixture directory")
            .map(|e| e.expect("entry").path())
            .filter(|p| !p.ends_with("MANIFEST"))
            .collect();
        listed.sort();
        files.sort();
        assert_eq!(
            files, listed,
            "every fixture is listed once in {dir:?}/MANIFEST"
        );
        entries
    }
}
