//! The finding model shared by every stage: what was found, about what, and how bad it is.
//!
//! Static facts about a check (id, severity, hint, RFC section, result-type) live in
//! [`crate::checks`]; a [`Finding`] adds only the evidence of one occurrence.

use std::net::IpAddr;

use serde::Serialize;

use crate::checks::{Check, Severity};

/// What a finding is about. The variants follow the order of the audit's stages.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    /// The `_mta-sts.DOMAIN` TXT record.
    StsRecord,
    /// The `_smtp._tls.DOMAIN` TXT record.
    TlsRptRecord,
    /// The MX record set of the domain.
    MxRecords,
    /// The policy (`addr: None`), or the policy host at one of its addresses.
    Policy { addr: Option<IpAddr> },
    /// One MX host, or that host at one of its addresses.
    Mx { host: String, addr: Option<IpAddr> },
    /// The network the audit runs from: findings here are not the domain's fault.
    Vantage,
}

impl Subject {
    /// Stable kebab-case name of the variant, used by the JSON reporter.
    pub fn kind(&self) -> &'static str {
        match self {
            Subject::StsRecord => "sts-record",
            Subject::TlsRptRecord => "tlsrpt-record",
            Subject::MxRecords => "mx-records",
            Subject::Policy { .. } => "policy",
            Subject::Mx { .. } => "mx",
            Subject::Vantage => "vantage",
        }
    }

    /// The DNS name, URL or host the subject stands for, given the audited domain.
    pub fn name(&self, domain: &str) -> String {
        match self {
            Subject::StsRecord => format!("_mta-sts.{domain}"),
            Subject::TlsRptRecord => format!("_smtp._tls.{domain}"),
            Subject::MxRecords => domain.to_string(),
            Subject::Policy { .. } => policy_url(domain),
            Subject::Mx { host, .. } => host.clone(),
            Subject::Vantage => "this network".to_string(),
        }
    }

    /// Where the subject is, as messages name it: "mx1.example.com at 192.0.2.1",
    /// "mta-sts.example.com", "_mta-sts.example.com".
    pub fn place(&self, domain: &str) -> String {
        match self {
            Subject::Policy { addr: None } => format!("mta-sts.{domain}"),
            Subject::Policy { addr: Some(a) } => format!("mta-sts.{domain} at {a}"),
            Subject::Mx {
                host,
                addr: Some(a),
            } => format!("{host} at {a}"),
            _ => self.name(domain),
        }
    }

    pub fn addr(&self) -> Option<IpAddr> {
        match self {
            Subject::Policy { addr } | Subject::Mx { addr, .. } => *addr,
            _ => None,
        }
    }
}

/// `https://mta-sts.DOMAIN/.well-known/mta-sts.txt` (RFC 8461 §3.2).
pub fn policy_url(domain: &str) -> String {
    format!("https://mta-sts.{domain}/.well-known/mta-sts.txt")
}

/// A check's finding before it is attached to a subject: what pure parsers return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub check: Check,
    /// The evidence: what exactly was seen, in plain words.
    pub message: String,
    /// The line of the policy it is about (1-based), for policy problems.
    pub line: Option<usize>,
}

impl Problem {
    pub fn new(check: Check, message: impl Into<String>) -> Self {
        Problem {
            check,
            message: message.into(),
            line: None,
        }
    }

    pub fn on_line(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }

    pub fn at(self, subject: Subject) -> Finding {
        Finding {
            check: self.check,
            subject,
            message: self.message,
            fix: None,
            line: self.line,
        }
    }
}

/// One occurrence of a check firing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub check: Check,
    pub subject: Subject,
    /// The evidence: what exactly was seen, in plain words.
    pub message: String,
    /// A fix specific to this occurrence; the check's generic hint is used when absent.
    pub fix: Option<String>,
    /// The line of the policy it is about (1-based), for policy findings.
    pub line: Option<usize>,
}

impl Finding {
    pub fn new(check: Check, subject: Subject, message: impl Into<String>) -> Self {
        Finding {
            check,
            subject,
            message: message.into(),
            fix: None,
            line: None,
        }
    }

    pub fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    pub fn severity(&self) -> Severity {
        self.check.info().severity
    }

    /// The occurrence's own fix if it has one, else the check's hint.
    pub fn hint(&self) -> &str {
        self.fix.as_deref().unwrap_or(self.check.info().hint)
    }
}

/// The overall result for one domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Warn,
    Fail,
}

impl Verdict {
    pub fn of(findings: &[Finding]) -> Verdict {
        Verdict::of_all(findings)
    }

    pub fn of_all<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Verdict {
        match findings.into_iter().map(Finding::severity).max() {
            Some(Severity::Error) => Verdict::Fail,
            Some(Severity::Warning) => Verdict::Warn,
            _ => Verdict::Pass,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Warn => "warn",
            Verdict::Fail => "fail",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_is_the_worst_severity() {
        let f = |c| Finding::new(c, Subject::StsRecord, "");
        assert_eq!(Verdict::of(&[]), Verdict::Pass);
        assert_eq!(Verdict::of(&[f(Check::StsTxtExtension)]), Verdict::Pass);
        assert_eq!(
            Verdict::of(&[f(Check::StsTxtExtension), f(Check::TlsrptAbsent)]),
            Verdict::Warn
        );
        assert_eq!(
            Verdict::of(&[f(Check::TlsrptAbsent), f(Check::StsTxtAbsent)]),
            Verdict::Fail
        );
    }

    #[test]
    fn hint_prefers_the_specific_fix() {
        let f = Finding::new(Check::TlsrptAbsent, Subject::TlsRptRecord, "none");
        assert_eq!(f.hint(), Check::TlsrptAbsent.info().hint);
        assert_eq!(f.with_fix("do this").hint(), "do this");
    }
}
