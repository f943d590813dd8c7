//! What a person types on the command line, checked and normalised, with reasons a person
//! can act on when it is refused: every reason is a plain sentence, and a character that
//! cannot be seen is named by its code point.

use std::collections::HashSet;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use hickory_resolver::proto::rr::Label;

use crate::names;
use crate::report::{escape, is_invisible};

/// A DOMAIN argument that was refused, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotADomain {
    pub typed: String,
    pub why: String,
}

impl fmt::Display for NotADomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is not a domain: {}", quote(&self.typed), self.why)
    }
}

/// `text` in double quotes, escaped so that it cannot rewrite the terminal.
pub fn quote(text: &str) -> String {
    format!("\"{}\"", escape(text))
}

/// The domains to audit, each once (after normalisation) in the order first typed, and the
/// inputs that are not domains.
pub fn domains(typed: &[String]) -> (Vec<String>, Vec<NotADomain>) {
    let mut seen = HashSet::new();
    let mut good = Vec::new();
    let mut refused = Vec::new();
    for t in typed {
        match domain(t) {
            Ok(d) if seen.insert(d.clone()) => good.push(d),
            Ok(_) => {}
            Err(why) => refused.push(NotADomain {
                typed: t.clone(),
                why,
            }),
        }
    }
    (good, refused)
}

/// A domain as typed, in the form the audit uses: A-labels, lower case, no trailing dot.
/// White space around it is ignored (a list pasted from a file with CRLF line ends).
pub fn domain(typed: &str) -> Result<String, String> {
    let text = typed.trim();
    // Positions count in what was typed, which is what the message quotes.
    let offset = typed[..typed.len() - typed.trim_start().len()]
        .chars()
        .count();
    if text.is_empty() {
        return Err("it is empty".into());
    }
    if let Some(why) = hidden_character(text, offset) {
        return Err(format!("it {why}"));
    }
    if is_address(text) {
        return Err(IS_AN_ADDRESS.into());
    }
    if let Some(host) = decorated(text) {
        if is_address(host) {
            return Err(IS_AN_ADDRESS.into());
        }
        if to_a_labels(host, 0).is_ok() {
            return Err(format!("give the domain only: {host}"));
        }
    }
    to_a_labels(text, offset)
}

const IS_AN_ADDRESS: &str =
    "it is an IP address; give the mail domain, the part after @ in addresses";

/// `text` as a domain of at least two labels, each converted to its A-label; positions
/// in reasons count from 1 after `offset` characters.
fn to_a_labels(text: &str, offset: usize) -> Result<String, String> {
    if let Some((at, c)) = text
        .chars()
        .enumerate()
        .find(|(_, c)| c.is_ascii() && !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.')))
    {
        return Err(format!(
            "it contains {} at position {}; a domain has only letters, digits, hyphens and dots",
            quote_char(c),
            offset + at + 1
        ));
    }
    // UTS 46 separates labels with the ideographic full stops too, as browsers do.
    let text = text.replace(['\u{3002}', '\u{ff0e}', '\u{ff61}'], ".");
    let labels = names::normalize(&text)
        .split('.')
        .map(a_label)
        .collect::<Result<Vec<_>, _>>()?;
    let domain = labels.join(".");
    names::check_domain(&domain)?;
    if labels.len() < 2 {
        return Err(
            "it has a single label; a mail domain has at least two, as in example.com".into(),
        );
    }
    Ok(domain)
}

/// One label in lower case. A label with non-ASCII characters becomes its A-label
/// (xn--...), and one that already is an A-label must decode; an empty label stays empty
/// for [`names::check_domain`] to name.
fn a_label(label: &str) -> Result<String, String> {
    if label.is_ascii() && !label.starts_with("xn--") {
        return Ok(label.to_ascii_lowercase());
    }
    Label::from_utf8(label).map(|l| l.to_ascii()).map_err(|_| {
        format!(
            "the label {} is not a valid internationalised (IDNA) label",
            quote(label)
        )
    })
}

/// What `text` is with a URL's scheme and path, a mail address's local part, or a port
/// taken away, when one of those was there.
fn decorated(text: &str) -> Option<&str> {
    let rest = match text.split_once("://") {
        Some((scheme, rest)) if !scheme.is_empty() && scheme.chars().all(is_scheme_char) => rest,
        _ => strip_prefix_ignore_case(text, "mailto:").unwrap_or(text),
    };
    let rest = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let rest = match rest.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => rest,
    };
    (rest != text && !rest.is_empty()).then_some(rest)
}

fn is_scheme_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// An IP address, with or without a port, brackets, or RFC 5321's `IPv6:` tag.
fn is_address(text: &str) -> bool {
    let inner = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .map(|t| strip_prefix_ignore_case(t, "IPv6:").unwrap_or(t));
    text.parse::<IpAddr>().is_ok()
        || text.parse::<SocketAddr>().is_ok()
        || inner.is_some_and(|t| t.parse::<IpAddr>().is_ok())
}

/// The name sent with EHLO: a host name or an RFC 5321 §4.1.3 address literal
/// (`[192.0.2.1]`, `[IPv6:2001:db8::1]`). It is made only by parsing, so that no CR, LF or
/// space can reach the wire and start a command of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EhloName(String);

impl FromStr for EhloName {
    type Err = String;

    fn from_str(text: &str) -> Result<EhloName, String> {
        check_ehlo_name(text).map(|()| EhloName(text.to_string()))
    }
}

impl fmt::Display for EhloName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn check_ehlo_name(text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Err("it is empty".into());
    }
    if let Some(why) = hidden_character(text, 0) {
        return Err(format!("it {why}"));
    }
    if let Some(literal) = text.strip_prefix('[') {
        return address_literal(literal);
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Err(format!("an address goes in brackets: {}", bracketed(ip)));
    }
    if let Some((at, c)) = text
        .chars()
        .enumerate()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.')))
    {
        return Err(format!(
            "it contains {} at position {}; a host name has only ASCII letters, digits, hyphens and dots",
            quote_char(c),
            at + 1
        ));
    }
    names::check_domain(text)
}

/// The part of an address literal after its `[`.
fn address_literal(literal: &str) -> Result<(), String> {
    let inner = literal.strip_suffix(']').unwrap_or(literal);
    match strip_prefix_ignore_case(inner, "IPv6:") {
        Some(v6) if literal.ends_with(']') && v6.parse::<Ipv6Addr>().is_ok() => Ok(()),
        None if literal.ends_with(']') && inner.parse::<Ipv4Addr>().is_ok() => Ok(()),
        None if inner.parse::<Ipv6Addr>().is_ok() => {
            Err(format!("an IPv6 literal needs its tag: [IPv6:{inner}]"))
        }
        _ => Err("it is not an address literal such as [192.0.2.1] or [IPv6:2001:db8::1]".into()),
    }
}

/// `ip` as an RFC 5321 address literal.
fn bracketed(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => format!("[{v4}]"),
        IpAddr::V6(v6) => format!("[IPv6:{v6}]"),
    }
}

/// "contains U+200B (an invisible character) at position 8" for the first character of
/// `text` that does not show as itself on a terminal; positions count characters from 1,
/// after `offset` characters that came before `text`.
fn hidden_character(text: &str, offset: usize) -> Option<String> {
    text.chars().enumerate().find_map(|(at, c)| {
        let what = match c {
            ' ' => "a space",
            c if c.is_control() => "a control character",
            c if c.is_whitespace() => "a space character",
            // Joiners are part of some scripts' names: IDNA decides where they may stand.
            '\u{200c}' | '\u{200d}' => return None,
            c if is_invisible(c) => "an invisible character",
            _ => return None,
        };
        Some(format!(
            "contains U+{:04X} ({what}) at position {}",
            c as u32,
            offset + at + 1
        ))
    })
}

/// A visible character in quotes that read well around it.
fn quote_char(c: char) -> String {
    if c == '"' {
        "'\"'".into()
    } else {
        format!("\"{c}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_normalised() {
        for (typed, want) in [
            ("example.com", "example.com"),
            ("Example.COM.", "example.com"),
            ("  example.com\r\n", "example.com"),
            ("bücher.example", "xn--bcher-kva.example"),
            ("BÜCHER.Example.", "xn--bcher-kva.example"),
            ("XN--BCHER-KVA.example", "xn--bcher-kva.example"),
            ("bücher\u{3002}example", "xn--bcher-kva.example"),
            ("1.2.3", "1.2.3"),
        ] {
            assert_eq!(domain(typed), Ok(want.to_string()), "{typed:?}");
        }
    }

    #[test]
    fn ip_addresses_are_refused_with_the_reason() {
        for typed in [
            "192.0.2.1",
            "2001:db8::1",
            "[2001:db8::1]",
            "[IPv6:2001:db8::1]",
            "[192.0.2.1]",
            "192.0.2.1:25",
            "[2001:db8::1]:25",
            "http://192.0.2.1/",
            "user@[192.0.2.1]",
        ] {
            assert_eq!(domain(typed), Err(IS_AN_ADDRESS.to_string()), "{typed}");
        }
    }

    #[test]
    fn urls_addresses_and_ports_suggest_the_domain() {
        for (typed, host) in [
            ("https://example.com/", "example.com"),
            ("http://example.com/path", "example.com"),
            ("HTTPS://Example.com:443/x?y#z", "Example.com"),
            ("user@example.com", "example.com"),
            ("mailto:user@example.com", "example.com"),
            ("MAILTO:user@example.com?subject=hi", "example.com"),
            ("example.com:25", "example.com"),
            ("example.com/", "example.com"),
            ("user@bücher.example", "bücher.example"),
        ] {
            assert_eq!(
                domain(typed),
                Err(format!("give the domain only: {host}")),
                "{typed}"
            );
        }
    }

    #[test]
    fn invisible_characters_and_spaces_are_named_by_code_point() {
        for (typed, why) in [
            (
                "example\u{200b}.com",
                "it contains U+200B (an invisible character) at position 8",
            ),
            (
                "\u{feff}example.com",
                "it contains U+FEFF (an invisible character) at position 1",
            ),
            ("exa mple.com", "it contains U+0020 (a space) at position 4"),
            (
                " exa mple.com",
                "it contains U+0020 (a space) at position 5",
            ),
            (
                "exa\u{a0}mple.com",
                "it contains U+00A0 (a space character) at position 4",
            ),
            (
                "example.com\x1b[2J",
                "it contains U+001B (a control character) at position 12",
            ),
            (
                "https://exa\u{202e}mple.com/",
                "it contains U+202E (an invisible character) at position 12",
            ),
        ] {
            assert_eq!(domain(typed), Err(why.to_string()), "{typed:?}");
        }
    }

    #[test]
    fn other_mistakes_are_plain_sentences() {
        for (typed, why) in [
            ("", "it is empty"),
            ("   ", "it is empty"),
            (
                "com",
                "it has a single label; a mail domain has at least two, as in example.com",
            ),
            ("a..b", "the name has an empty label"),
            (".example.com", "the name has an empty label"),
            ("example.com..", "the name ends with a dot"),
            ("-x.com", "the label \"-x\" starts or ends with a hyphen"),
            (
                "exa_mple.com",
                "it contains \"_\" at position 4; a domain has only letters, digits, hyphens and dots",
            ),
            (
                " exa_mple.com",
                "it contains \"_\" at position 5; a domain has only letters, digits, hyphens and dots",
            ),
            (
                "*.example.com",
                "it contains \"*\" at position 1; a domain has only letters, digits, hyphens and dots",
            ),
            (
                "example.com:smtp",
                "it contains \":\" at position 12; a domain has only letters, digits, hyphens and dots",
            ),
            (
                "a\\.b.com",
                "it contains \"\\\" at position 2; a domain has only letters, digits, hyphens and dots",
            ),
            (
                "xn--zz-.example",
                "the label \"xn--zz-\" is not a valid internationalised (IDNA) label",
            ),
            (
                "ex\u{200d}ample.com",
                "the label \"ex\\u{200d}ample\" is not a valid internationalised (IDNA) label",
            ),
        ] {
            assert_eq!(domain(typed), Err(why.to_string()), "{typed:?}");
        }
        let long = ["a".repeat(63).as_str(); 4].join(".") + ".com";
        assert_eq!(
            domain(&long),
            Err("the name is 259 octets long (at most 253)".to_string())
        );
        assert!(domain(&format!("{}.com", "a".repeat(64))).is_err());
    }

    #[test]
    fn no_reason_shows_a_debug_value() {
        for typed in [
            "Err",
            "a..b",
            "ex\u{200d}ample.com",
            "é\u{301}\u{301}.x",
            "xn--.x",
        ] {
            if let Err(why) = domain(typed) {
                assert!(!why.contains("Err(") && !why.contains("Errors"), "{why}");
            }
        }
    }

    #[test]
    fn duplicates_are_audited_once_in_first_seen_order() {
        let typed: Vec<String> = [
            "b.example",
            "Bücher.example",
            "a.example",
            "B.EXAMPLE.",
            "xn--bcher-kva.example",
            "https://a.example/",
            "a.example",
        ]
        .map(String::from)
        .into();
        let (good, refused) = domains(&typed);
        assert_eq!(good, ["b.example", "xn--bcher-kva.example", "a.example"]);
        assert_eq!(
            refused,
            [NotADomain {
                typed: "https://a.example/".into(),
                why: "give the domain only: a.example".into()
            }]
        );
        assert_eq!(
            refused[0].to_string(),
            "\"https://a.example/\" is not a domain: give the domain only: a.example"
        );
    }

    #[test]
    fn refusals_quote_the_input_escaped() {
        let r = NotADomain {
            typed: "a\x1b[2J\r".into(),
            why: "x".into(),
        };
        assert_eq!(r.to_string(), "\"a\\x1b[2J\\r\" is not a domain: x");
    }

    #[test]
    fn ehlo_names_are_host_names_or_address_literals() {
        for good in [
            "mtasts.invalid",
            "localhost",
            "Mail-1.Example.COM",
            "[192.0.2.1]",
            "[IPv6:2001:db8::1]",
            "[ipv6:::ffff:192.0.2.1]",
        ] {
            let name: EhloName = good.parse().expect(good);
            assert_eq!(name.to_string(), good);
        }
    }

    #[test]
    fn ehlo_names_that_would_break_the_command_are_refused() {
        for (typed, why) in [
            ("", "it is empty"),
            (
                "x\r\nMAIL FROM:<a@b>",
                "it contains U+000D (a control character) at position 2",
            ),
            (
                "x\n",
                "it contains U+000A (a control character) at position 2",
            ),
            ("a b", "it contains U+0020 (a space) at position 2"),
            (
                "a\u{200b}b",
                "it contains U+200B (an invisible character) at position 2",
            ),
            (
                "a<b>",
                "it contains \"<\" at position 2; a host name has only ASCII letters, digits, hyphens and dots",
            ),
            (
                "bücher.example",
                "it contains \"ü\" at position 2; a host name has only ASCII letters, digits, hyphens and dots",
            ),
            ("mail.example.com.", "the name ends with a dot"),
            (
                "-mail.example",
                "the label \"-mail\" starts or ends with a hyphen",
            ),
            ("a..b", "the name has an empty label"),
            ("192.0.2.1", "an address goes in brackets: [192.0.2.1]"),
            (
                "2001:db8::1",
                "an address goes in brackets: [IPv6:2001:db8::1]",
            ),
            (
                "[2001:db8::1]",
                "an IPv6 literal needs its tag: [IPv6:2001:db8::1]",
            ),
            (
                "[192.0.2.1]x",
                "it is not an address literal such as [192.0.2.1] or [IPv6:2001:db8::1]",
            ),
            (
                "[192.0.2.1",
                "it is not an address literal such as [192.0.2.1] or [IPv6:2001:db8::1]",
            ),
            (
                "[IPv6:192.0.2.1]",
                "it is not an address literal such as [192.0.2.1] or [IPv6:2001:db8::1]",
            ),
            (
                "[mail.example]",
                "it is not an address literal such as [192.0.2.1] or [IPv6:2001:db8::1]",
            ),
        ] {
            assert_eq!(typed.parse::<EhloName>(), Err(why.to_string()), "{typed:?}");
        }
        assert!(format!("{}.x", "a".repeat(64)).parse::<EhloName>().is_err());
        assert!(["a"; 128].join(".").parse::<EhloName>().is_err());
    }

    proptest::proptest! {
        #[test]
        fn a_parsed_ehlo_name_is_one_printable_word(text in "[a-z0-9.\\[\\]:\r\n \t<>@-]{0,12}") {
            if let Ok(name) = text.parse::<EhloName>() {
                let line = format!("EHLO {name}\r\n");
                proptest::prop_assert!(line.matches("\r\n").count() == 1 && line.ends_with("\r\n"));
                proptest::prop_assert!(name.to_string().chars().all(|c| c.is_ascii_graphic()));
            }
        }
    }
}

/// The domains of a list as it is read, line by line: each audited once, in the order
/// first seen, and only those of this machine's shard. What it keeps per domain is one
/// 64-bit digest, so a list of millions stays small.
#[derive(Debug, Default)]
pub struct List {
    seen: HashSet<u64>,
    shard: Option<Shard>,
}

/// What to do with one entry of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// Audit this domain (normalised).
    Audit(String),
    /// Nothing to audit: a blank or comment line, a domain already seen, another shard's.
    Skip,
    Refused(NotADomain),
}

impl List {
    pub fn new(shard: Option<Shard>) -> List {
        List {
            seen: HashSet::new(),
            shard,
        }
    }

    /// One line of a list file, or one argument: `#` starts a comment, blank lines and
    /// white space around a domain do not count.
    pub fn take(&mut self, line: &str) -> Entry {
        let text = line.split('#').next().unwrap_or_default();
        if text.trim().is_empty() {
            return Entry::Skip;
        }
        match domain(text) {
            Err(why) => Entry::Refused(NotADomain {
                typed: text.trim().to_string(),
                why,
            }),
            Ok(d) if self.shard.as_ref().is_some_and(|s| !s.owns(&d)) => Entry::Skip,
            Ok(d) if !self.seen.insert(digest(&d)) => Entry::Skip,
            Ok(d) => Entry::Audit(d),
        }
    }
}

/// The first 64 bits of the SHA-256 of a normalised domain: stable across runs, machines
/// and versions, which sharding needs.
fn digest(domain: &str) -> u64 {
    let hash = ring::digest::digest(&ring::digest::SHA256, domain.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash.as_ref()[..8]);
    u64::from_be_bytes(first)
}

/// `--shard K/N`: the K-th of N slices of the input (1-based), chosen by a stable hash
/// of each normalised domain, so N machines split one list without coordinating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub k: u64,
    pub n: u64,
}

impl Shard {
    pub fn owns(&self, domain: &str) -> bool {
        digest(domain) % self.n == self.k - 1
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Shard, String> {
        let (k, n) = s
            .split_once('/')
            .ok_or("write the shard as K/N, e.g. 1/4 for the first of four")?;
        let number = |part: &str| part.trim().parse::<u64>().ok().filter(|v| *v > 0);
        match (number(k), number(n)) {
            (Some(k), Some(n)) if k <= n => Ok(Shard { k, n }),
            (Some(k), Some(n)) => Err(format!(
                "shard {k} of {n} does not exist: K runs from 1 to N"
            )),
            _ => Err("K and N are whole numbers from 1, as in 1/4".into()),
        }
    }
}

#[cfg(test)]
mod list_tests {
    use super::*;

    #[test]
    fn lists_skip_comments_blanks_and_duplicates_and_refuse_bad_lines() {
        let mut list = List::new(None);
        let taken: Vec<Entry> = [
            "# hosted domains",
            "",
            "  Example.COM.  ",
            "example.com # again",
            "bücher.example",
            "https://example.net/",
            "\texample.org\r",
        ]
        .iter()
        .map(|l| list.take(l))
        .collect();
        assert_eq!(
            taken,
            [
                Entry::Skip,
                Entry::Skip,
                Entry::Audit("example.com".into()),
                Entry::Skip,
                Entry::Audit("xn--bcher-kva.example".into()),
                Entry::Refused(NotADomain {
                    typed: "https://example.net/".into(),
                    why: "give the domain only: example.net".into()
                }),
                Entry::Audit("example.org".into()),
            ]
        );
    }

    #[test]
    fn shards_partition_the_input_exactly_and_stably() {
        let domains: Vec<String> = (0..1000).map(|i| format!("d{i}.example")).collect();
        let n = 7;
        let mut owners = vec![0; domains.len()];
        for k in 1..=n {
            let mut list = List::new(Some(Shard { k, n }));
            for (i, d) in domains.iter().enumerate() {
                if let Entry::Audit(_) = list.take(d) {
                    owners[i] += 1;
                }
            }
        }
        assert!(
            owners.iter().all(|o| *o == 1),
            "every domain in exactly one shard"
        );
        // Stable across runs, machines and versions: SHA-256, not a seeded hasher.
        assert_eq!(digest("example.com"), 0xa379_a6f6_eeaf_b9a5);
        assert!(
            Shard { k: 2, n: 4 }.owns("example.com"),
            "0xa379a6f6eeafb9a5 % 4 == 1"
        );
    }

    #[test]
    fn shards_parse_or_say_why() {
        assert_eq!("2/4".parse(), Ok(Shard { k: 2, n: 4 }));
        for bad in ["0/4", "5/4", "2", "a/b", "1/0", "-1/4"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
