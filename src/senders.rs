//! What real senders do where RFC 8461 and deployed implementations part: the facts the
//! tool's judgement rests on, each in one place, quoted by the findings that depend on it
//! and listed in the README ("What senders do").
//!
//! Measured against postfix-mta-sts-resolver 1.5.1 (PyPI; the policy source of many
//! Postfix senders) and mailauth 7.1.0 (npm; the MTA-STS library of a Node.js MTA
//! family) with `tests/senders/`, and read in mox's source (`mtasts/parse.go`), a Go MTA
//! whose parser follows the grammar to the letter.

use crate::checks::Check;

/// One place where the verdict depends on what senders do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fact {
    /// The case, in a few words.
    pub case: &'static str,
    /// The checks whose severity or message rest on it.
    pub checks: &'static [Check],
    /// What senders do, as findings quote it.
    pub senders: &'static str,
}

pub const BLANK_LINE: Fact = Fact {
    case: "a blank line in the policy",
    checks: &[Check::StsPolicyBlankLine, Check::StsPolicyTrailingBlank],
    senders: "postfix-mta-sts-resolver and mailauth skip blank lines and use the policy; mox, whose parser follows the grammar strictly, rejects the whole policy",
};

pub const COMMENT: Fact = Fact {
    case: "a # comment, or another line that is not name: value, in the policy",
    checks: &[Check::StsPolicyComment, Check::StsPolicyBadLine],
    senders: "postfix-mta-sts-resolver and mailauth skip such a line and use the policy; mox rejects the whole policy",
};

pub const DUPLICATE_FIELD: Fact = Fact {
    case: "a field given twice, in the policy or the TXT record",
    checks: &[
        Check::StsPolicyDupConflict,
        Check::StsPolicyDupField,
        Check::StsTxtIdDuplicate,
    ],
    senders: "RFC 8461 §3.2 and mailauth use the first value, postfix-mta-sts-resolver the last",
};

pub const KEY_CASE: Fact = Fact {
    case: "a policy field name in another case (Mode:, MX:)",
    checks: &[Check::StsPolicyKeyCase],
    senders: "postfix-mta-sts-resolver drops the line silently, mailauth accepts it",
};

pub const FETCH_TIME: Fact = Fact {
    case: "a slow policy fetch",
    checks: &[Check::StsFetchSlow],
    senders: "postfix-mta-sts-resolver gives up after 4 s for the policy host's lookup, connection, TLS and response together",
};

pub const MEDIA_TYPE: Fact = Fact {
    case: "a policy not served as text/plain",
    checks: &[Check::StsFetchMediaType],
    senders: "postfix-mta-sts-resolver requires text/plain (parameters aside) and otherwise has no policy; mailauth accepts any type",
};

pub const DECODING: Fact = Fact {
    case: "a policy with bytes outside ASCII",
    checks: &[Check::StsFetchNonAscii, Check::StsPolicyEncoding],
    senders: "postfix-mta-sts-resolver decodes the body by the Content-Type charset, as ASCII when there is none, and has no policy when that fails (a BOM becomes part of the first field name even with charset=utf-8); mailauth always decodes UTF-8 and strips a BOM",
};

pub const STATUS: Fact = Fact {
    case: "a 2xx status other than 200",
    checks: &[Check::StsFetchStatus],
    senders: "postfix-mta-sts-resolver requires 200, mailauth accepts any 2xx",
};

pub const LAYOUT: Fact = Fact {
    case: "whitespace before a field name or before its ':'",
    checks: &[Check::StsPolicyLeadingWsp, Check::StsPolicyColonWsp],
    senders: "postfix-mta-sts-resolver rejects the policy, mailauth accepts it",
};

pub const BARE_CR: Fact = Fact {
    case: "lines ended by a bare CR",
    checks: &[Check::StsPolicyLineEnding],
    senders: "mailauth rejects the policy, postfix-mta-sts-resolver accepts it",
};

pub const MX_TRAILING_DOT: Fact = Fact {
    case: "an mx pattern with a trailing dot",
    checks: &[Check::StsPolicyMxSyntax],
    senders: "postfix-mta-sts-resolver hands it to Postfix as written, and no certificate matches it; mailauth strips the dot",
};

pub const WILDCARD_DEPTH: Fact = Fact {
    case: "a *. pattern and an MX host two labels deeper",
    checks: &[Check::StsMxWildcardDepth],
    senders: "RFC 8461 §4.1 and mailauth match one label only and refuse it; Postfix with postfix-mta-sts-resolver accepts any depth",
};

pub const TXT_ID: Fact = Fact {
    case: "an id that is not 1-32 letters and digits",
    checks: &[Check::StsTxtIdSyntax],
    senders: "postfix-mta-sts-resolver and mailauth do not check the id and still apply the policy; mox and mailauth's strict mode ignore the record",
};

pub const VERSION_CASE: Fact = Fact {
    case: "a TXT record whose v=STSv1 is in another case",
    checks: &[Check::StsTxtVersion, Check::StsTxtCaseVariant],
    senders: "postfix-mta-sts-resolver and mox discard such a record, mailauth counts it (its prefix test ignores case)",
};

/// Every fact, for the README's list.
pub const ALL: &[Fact] = &[
    BLANK_LINE,
    COMMENT,
    DUPLICATE_FIELD,
    KEY_CASE,
    LAYOUT,
    BARE_CR,
    MX_TRAILING_DOT,
    DECODING,
    MEDIA_TYPE,
    STATUS,
    FETCH_TIME,
    TXT_ID,
    VERSION_CASE,
    WILDCARD_DEPTH,
];
