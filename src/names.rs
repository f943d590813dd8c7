//! Host names: normalisation, RFC 5321 syntax, and the one-label wildcard match shared
//! by policy `mx` patterns (RFC 8461 §4.1) and certificate DNS-IDs (RFC 6125 §6.4.3).

/// Lower case, without one trailing root dot: the form names are compared in.
pub fn normalize(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

/// The U-label form of a normalised domain (see [`normalize`]) when it has A-labels
/// (`xn--bcher-kva.example` is `bücher.example`), so that a report can show the name as
/// people write it beside the name as DNS holds it. `None` when the forms are the same, or
/// when an A-label does not decode.
pub fn unicode(domain: &str) -> Option<String> {
    let text = hickory_resolver::proto::rr::Name::from_ascii(domain)
        .ok()?
        .to_utf8();
    // A label that does not decode comes back as the A-label it was.
    let decoded = !text.split('.').any(|label| label.starts_with("xn--"));
    (decoded && text != domain).then_some(text)
}

/// Whether `pattern` (a host name, or `*.` followed by one) covers `host`.
///
/// Comparison is case-insensitive ASCII and ignores a trailing root dot on either side
/// (RFC 6125 §6.4.1). `*.example.com` matches exactly one extra leftmost label: it
/// matches `mail.example.com`, but neither `example.com` nor `a.b.example.com`
/// (RFC 8461 §4.1, RFC 6125 §6.4.3 rule 2). Any other `*` matches nothing.
pub fn matches(pattern: &str, host: &str) -> bool {
    let pattern = normalize(pattern);
    let host = normalize(host);
    if host.is_empty() || host.contains('*') {
        return false;
    }
    match pattern.strip_prefix("*.") {
        Some(base) => {
            !base.is_empty()
                && !base.contains('*')
                && host
                    .split_once('.')
                    .is_some_and(|(label, rest)| !label.is_empty() && rest == base)
        }
        None => !pattern.contains('*') && pattern == host,
    }
}

/// Checks RFC 5321 §4.1.2 `Domain` syntax: dot-separated LDH labels of 1 to 63
/// octets, not starting or ending with a hyphen, 253 octets at most, no trailing dot.
/// Returns the reason it is not one.
pub fn check_domain(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the name is empty".into());
    }
    if name.len() > 253 {
        return Err(format!(
            "the name is {} octets long (at most 253)",
            name.len()
        ));
    }
    if name.ends_with('.') {
        return Err("the name ends with a dot".into());
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err("the name has an empty label".into());
        }
        if label.len() > 63 {
            return Err(format!("the label \"{label}\" is longer than 63 octets"));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Err(format!("the label \"{label}\" contains {c:?}"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!(
                "the label \"{label}\" starts or ends with a hyphen"
            ));
        }
    }
    Ok(())
}

/// Levenshtein distance, for "did you mean" suggestions on misspelt names.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_covers_exactly_one_label() {
        let cases = [
            ("mail.example.com", "mail.example.com", true),
            ("mail.example.com", "MAIL.Example.COM.", true), // case and root dot ignored
            ("MAIL.example.com.", "mail.example.com", true),
            ("*.example.com", "mail.example.com", true),
            ("*.example.com", "example.com", false), // not the parent
            ("*.example.com", "a.b.example.com", false), // not two labels
            ("*.example.com", ".example.com", false), // empty label
            ("*.example.com", "mail.example.net", false),
            ("*.mx.microsoft", "tenant.h-v1.mx.microsoft", false),
            ("mx*.example.com", "mx1.example.com", false), // partial wildcards never match
            ("*", "com", false),
            ("*.*.example.com", "a.b.example.com", false),
            ("mail.*.example.com", "mail.x.example.com", false),
            ("*.", "com", false),
            ("", "", false),
            ("mail.example.com", "*.example.com", false),
        ];
        for (pattern, host, want) in cases {
            assert_eq!(matches(pattern, host), want, "{pattern} vs {host}");
        }
    }

    #[test]
    fn domain_syntax() {
        for good in [
            "mx.example.com",
            "a",
            "xn--bcher-kva.example",
            "1.2.3.4",
            "a-b.c",
        ] {
            assert_eq!(check_domain(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "mx.example.com.",
            "a..b",
            "-a.b",
            "a-.b",
            "a_b.c",
            "a b",
            "*.x",
            "mx.example.com:25",
        ] {
            assert!(check_domain(bad).is_err(), "{bad}");
        }
        assert!(check_domain(&"a".repeat(64)).is_err());
        assert!(check_domain(&["a"; 128].join(".")).is_err());
    }

    #[test]
    fn unicode_forms_of_a_labels() {
        assert_eq!(
            unicode("xn--bcher-kva.example").as_deref(),
            Some("bücher.example")
        );
        assert_eq!(
            unicode("mail.xn--bcher-kva.xn--p1ai").as_deref(),
            Some("mail.bücher.рф")
        );
        assert_eq!(unicode("example.com"), None);
        assert_eq!(unicode("xn--zz-.example"), None); // does not decode
        assert_eq!(unicode(""), None);
    }

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("mail.example.com", "mail.example.com"), 0);
        assert_eq!(edit_distance("mail.exmaple.com", "mail.example.com"), 2);
        assert_eq!(edit_distance("mx1", "mx2"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
