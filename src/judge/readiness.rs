//! Enforce-readiness: if the policy were in enforce mode now, would a sender that honours
//! it deliver everything that it delivers today? Three answers (yes, no, unknown) with
//! their reasons, per MX address and per domain, read off the findings alone.
//!
//! An address that cannot be reached or tested is *unknown*, never *no*: enforcing changes
//! nothing for an address senders cannot deliver to anyway.

use std::net::IpAddr;

use crate::checks::{self, Check, Severity};
use crate::finding::{Finding, Subject};
use crate::judge::MxReport;
use crate::observe::{Observations, SmtpProbe};

/// The answer and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    /// `None`: unknown.
    pub ready: Option<bool>,
    /// For "no", what senders would refuse; for "unknown", what could not be seen. Empty
    /// for "yes".
    pub reasons: Vec<Reason>,
}

impl Readiness {
    /// The first `shown` reasons, for a sentence: "a; b; and 2 more".
    pub fn because(&self, shown: usize) -> String {
        let mut parts: Vec<&str> = self
            .reasons
            .iter()
            .take(shown)
            .map(|r| r.sentence.as_str())
            .collect();
        let more = self.reasons.len().saturating_sub(shown);
        let tail = format!("and {more} more");
        if more > 0 {
            parts.push(&tail);
        }
        parts.join("; ")
    }
}

/// One reason, from one finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    pub check: Check,
    pub subject: Subject,
    /// "mx1.example.com at 192.0.2.1: MX certificate expired".
    pub sentence: String,
}

/// How a finding bears on readiness: the registry's answer, and for the records and the
/// policy every error, since then there is no policy for senders to enforce.
fn bearing(f: &Finding) -> checks::Readiness {
    match f.check.readiness() {
        checks::Readiness::None
            if f.severity() == Severity::Error
                && matches!(f.subject, Subject::StsRecord | Subject::Policy { .. }) =>
        {
            checks::Readiness::Refuses
        }
        other => other,
    }
}

/// The findings at one MX address and at its host.
pub fn findings_at<'a>(findings: &'a [Finding], host: &str, addr: IpAddr) -> Vec<&'a Finding> {
    findings
        .iter()
        .filter(|f| match &f.subject {
            Subject::Mx { host: h, addr: a } => h == host && a.is_none_or(|a| a == addr),
            _ => false,
        })
        .collect()
}

/// The answer for one probed MX address, from the findings there (`here`, at the address
/// and at its host) and, when the session stopped without a finding to say why, the
/// vantage point's.
pub fn at_address(
    domain: &str,
    probe: &SmtpProbe,
    here: &[&Finding],
    findings: &[Finding],
) -> Readiness {
    // A host's own DNS (a failed TLSA lookup, a CNAME) says nothing about one address; its
    // coverage by the policy does.
    let refusals: Vec<&Finding> = here
        .iter()
        .copied()
        .filter(|f| bearing(f) == checks::Readiness::Refuses)
        .collect();
    let mut unknowns: Vec<&Finding> = here
        .iter()
        .copied()
        .filter(|f| f.subject.addr().is_some() && bearing(f) == checks::Readiness::Unknown)
        .collect();
    let completed = probe
        .ehlo_after_tls
        .as_ref()
        .is_some_and(|r| r.is_positive());
    if unknowns.is_empty() && !completed {
        // Nothing was said at the address itself (port 25 blocked here, no route, the
        // deadline): the vantage point's findings say why.
        unknowns.extend(
            findings.iter().filter(|f| {
                f.subject == Subject::Vantage && bearing(f) == checks::Readiness::Unknown
            }),
        );
    }
    if !refusals.is_empty() {
        answer(Some(false), &refusals, domain)
    } else if !unknowns.is_empty() || !completed {
        answer(None, &unknowns, domain)
    } else {
        answer(Some(true), &[], domain)
    }
}

/// The domain's answer: no when anything is refused, else unknown when anything could not
/// be seen, else yes.
pub fn domain<'a>(
    obs: &Observations,
    findings: &[Finding],
    addresses: impl Iterator<Item = &'a Readiness> + Clone,
) -> Readiness {
    let of = |want: checks::Readiness| -> Vec<&Finding> {
        findings.iter().filter(|f| bearing(f) == want).collect()
    };
    let refusals = of(checks::Readiness::Refuses);
    if !refusals.is_empty() {
        return answer(Some(false), &refusals, &obs.domain);
    }
    let unknowns = of(checks::Readiness::Unknown);
    if !unknowns.is_empty() {
        return answer(None, &unknowns, &obs.domain);
    }
    let unclear: Vec<Reason> = addresses
        .clone()
        .filter(|r| r.ready.is_none())
        .flat_map(|r| r.reasons.clone())
        .collect();
    if addresses.clone().next().is_none() || addresses.clone().any(|r| r.ready.is_none()) {
        // No address to deliver to (every MX host without an address), or an address whose
        // session stopped without a finding to say why.
        let mut reasons = unclear;
        if reasons.is_empty() {
            let hosts = of(checks::Readiness::None);
            let unresolvable = hosts
                .into_iter()
                .filter(|f| f.check == Check::MxHostUnresolvable)
                .collect::<Vec<_>>();
            reasons = answer(None, &unresolvable, &obs.domain).reasons;
        }
        return Readiness {
            ready: None,
            reasons,
        };
    }
    answer(Some(true), &[], &obs.domain)
}

/// The answer with one reason per distinct (check, subject).
fn answer(ready: Option<bool>, findings: &[&Finding], domain: &str) -> Readiness {
    let mut reasons: Vec<Reason> = Vec::new();
    for f in findings {
        if reasons
            .iter()
            .any(|r| r.check == f.check && r.subject == f.subject)
        {
            continue;
        }
        reasons.push(Reason {
            check: f.check,
            subject: f.subject.clone(),
            sentence: match f.subject {
                Subject::Vantage => f.check.info().title.to_string(),
                _ => format!("{}: {}", f.subject.place(domain), f.check.info().title),
            },
        });
    }
    Readiness { ready, reasons }
}

/// With the policy in enforce mode, the MX hosts that senders honouring it refuse now,
/// each its own finding: this is mail not delivered today, not a risk for later.
pub fn refused_now(obs: &Observations, findings: &[Finding], mx: &[MxReport]) -> Vec<Finding> {
    // Senders enforce only a policy they have: with the record or the policy broken they
    // refuse nothing (and those findings say so).
    let no_policy = findings.iter().any(|f| {
        matches!(f.subject, Subject::StsRecord | Subject::Policy { .. })
            && bearing(f) == checks::Readiness::Refuses
    });
    if no_policy {
        return vec![];
    }
    let addresses = || mx.iter().flat_map(|m| &m.addresses);
    let none_passes =
        addresses().next().is_some() && addresses().all(|a| a.readiness.ready == Some(false));
    let mut out = Vec::new();
    for (host, judged) in obs.mx_hosts.iter().zip(mx) {
        let refused: Vec<String> = judged
            .addresses
            .iter()
            .filter(|a| a.readiness.ready == Some(false))
            .map(|a| {
                let titles: Vec<&str> = a
                    .readiness
                    .reasons
                    .iter()
                    .map(|r| r.check.info().title)
                    .collect();
                format!("{}: {}", a.addr, titles.join(", "))
            })
            .collect();
        if refused.is_empty() {
            continue;
        }
        let when = if obs.planned {
            "once this is published, senders that honour the policy refuse mail to"
        } else {
            "senders that honour the policy refuse mail to"
        };
        let now = if obs.planned { "" } else { " now" };
        let mut message = format!(
            "mode is enforce: {when} {}{now} ({})",
            host.name,
            refused.join("; ")
        );
        if none_passes {
            message.push_str(&format!(
                "; no MX address passes, so they cannot deliver mail to {} at all",
                obs.domain
            ));
        }
        out.push(Finding::new(
            Check::StsEnforceMxRefused,
            Subject::Mx {
                host: host.name.clone(),
                addr: None,
            },
            message,
        ));
    }
    out
}
