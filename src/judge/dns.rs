//! The DNS records: `_mta-sts` TXT, `_smtp._tls` TXT (and where people misplace them), and
//! the MX record set.

use crate::checks::Check;
use crate::finding::{Finding, Subject};
use crate::observe::{DnsAnswer, Lookup, Observations, PolicySource, TxtRecord};
use crate::record::{self, Parsed, StsRecord, TlsRptRecord};

/// The records as senders would use them.
pub struct Records {
    pub sts: Option<StsRecord>,
    /// Something is published at `_mta-sts` (valid or not), or the lookup failed: either
    /// way the policy is worth judging.
    sts_attempted: bool,
    pub tlsrpt: Option<TlsRptRecord>,
}

impl Records {
    pub fn sts_in_use(&self) -> bool {
        self.sts_attempted
    }
}

pub fn judge(obs: &Observations, findings: &mut Vec<Finding>) -> Records {
    // A domain that does not exist has no records under it either: mx-nxdomain says so
    // once, instead of one "absent" finding per record.
    let exists = obs.mx.answer != DnsAnswer::NxDomain;
    let sts = judge_txt(
        &obs.sts,
        &obs.sts_misplaced,
        Subject::StsRecord,
        record::sts_from_txt,
        Txt {
            // Judging a draft, the missing record is what the admin is about to publish.
            absent: match obs.policy {
                PolicySource::Draft { .. } => Check::StsTxtUnpublished,
                PolicySource::Fetched(_) => Check::StsTxtAbsent,
            },
            misplaced: Check::StsTxtMisplaced,
            cname: Some(Check::StsTxtCname),
            what: "MTA-STS",
        },
        exists,
        findings,
    );
    let tlsrpt = judge_txt(
        &obs.tlsrpt,
        &obs.tlsrpt_misplaced,
        Subject::TlsRptRecord,
        record::tlsrpt_from_txt,
        Txt {
            absent: Check::TlsrptAbsent,
            misplaced: Check::TlsrptWrongName,
            cname: None,
            what: "TLS-RPT",
        },
        exists,
        findings,
    );
    judge_mx_set(obs, findings);
    let sts_attempted = sts.published || matches!(obs.sts.answer, DnsAnswer::Failed(_));
    Records {
        sts: sts.record,
        sts_attempted,
        tlsrpt: tlsrpt.record,
    }
}

/// How one kind of TXT record names its findings.
struct Txt {
    absent: Check,
    misplaced: Check,
    cname: Option<Check>,
    what: &'static str,
}

struct Judged<T> {
    record: Option<T>,
    published: bool,
}

fn judge_txt<T>(
    lookup: &Lookup<TxtRecord>,
    misplaced: &[Lookup<TxtRecord>],
    subject: Subject,
    parse: fn(&[TxtRecord]) -> Parsed<T>,
    kind: Txt,
    domain_exists: bool,
    findings: &mut Vec<Finding>,
) -> Judged<T> {
    let name = &lookup.name;
    if let DnsAnswer::Failed(why) = &lookup.answer {
        findings.push(Finding::new(
            Check::DnsError,
            subject,
            format!(
                "the TXT lookup of {name} failed ({why}): this is not the same as no record, and senders that cannot look it up proceed as if there were none"
            ),
        ));
        return Judged {
            record: None,
            published: false,
        };
    }
    if let Some(check) = kind.cname
        && !lookup.cnames.is_empty()
    {
        findings.push(Finding::new(
            check,
            subject.clone(),
            format!("{name} is a CNAME: {name} → {}", lookup.cnames.join(" → ")),
        ));
    }
    let parsed = parse(lookup.records());
    findings.extend(parsed.problems.into_iter().map(|p| p.at(subject.clone())));
    if !parsed.published && domain_exists {
        findings.push(absent_or_misplaced(
            lookup, misplaced, subject, parse, &kind,
        ));
    }
    Judged {
        record: parsed.record,
        published: parsed.published,
    }
}

fn absent_or_misplaced<T>(
    lookup: &Lookup<TxtRecord>,
    misplaced: &[Lookup<TxtRecord>],
    subject: Subject,
    parse: fn(&[TxtRecord]) -> Parsed<T>,
    kind: &Txt,
) -> Finding {
    let name = &lookup.name;
    // A record elsewhere counts when it would be a valid record at the right name.
    if let Some(found) = misplaced
        .iter()
        .find(|l| parse(l.records()).record.is_some())
    {
        let text = found
            .records()
            .iter()
            .map(|r| String::from_utf8_lossy(&r.joined()).into_owned())
            .collect::<Vec<_>>();
        return Finding::new(
            kind.misplaced,
            subject,
            format!(
                "no {} record at {name}, but one at {}: \"{}\"",
                kind.what,
                found.name,
                text.join("\", \"")
            ),
        )
        .with_fix(format!(
            "Publish the record at {name} (and remove the one at {}): senders look nowhere else.",
            found.name
        ));
    }
    let why = match &lookup.answer {
        DnsAnswer::NxDomain if !lookup.cnames.is_empty() => {
            format!(
                "{name} is a CNAME to {}, which does not exist",
                lookup.cnames.join(" → ")
            )
        }
        DnsAnswer::NxDomain => format!("{name} does not exist (NXDOMAIN)"),
        DnsAnswer::NoData => format!("{name} has no TXT records"),
        _ => format!(
            "no TXT record at {name} begins with the {} version tag",
            kind.what
        ),
    };
    Finding::new(kind.absent, subject, why)
}

fn judge_mx_set(obs: &Observations, findings: &mut Vec<Finding>) {
    let domain = &obs.domain;
    match &obs.mx.answer {
        DnsAnswer::Failed(why) => findings.push(Finding::new(
            Check::DnsError,
            Subject::MxRecords,
            format!("the MX lookup of {domain} failed ({why}): the MX hosts could not be audited"),
        )),
        DnsAnswer::NxDomain => findings.push(Finding::new(
            Check::MxNxdomain,
            Subject::MxRecords,
            match obs.mx.cnames.as_slice() {
                [] => format!("{domain} does not exist (NXDOMAIN), so neither does any MX, MTA-STS or TLS-RPT record under it"),
                cnames => format!(
                    "{domain} is a CNAME to {}, which does not exist (NXDOMAIN), so there is no MX, MTA-STS or TLS-RPT record to audit",
                    cnames.join(" → ")
                ),
            },
        )),
        DnsAnswer::NoData => findings.push(Finding::new(
            Check::MxImplicit,
            Subject::MxRecords,
            format!(
                "{domain} has no MX records: senders deliver to the addresses of {domain} itself"
            ),
        )),
        DnsAnswer::Records(records) => {
            if records.iter().any(|r| r.exchange.is_empty()) {
                let also = if records.len() > 1 {
                    " (beside other MX records, which RFC 7505 forbids)"
                } else {
                    ""
                };
                findings.push(Finding::new(
                    Check::MxNull,
                    Subject::MxRecords,
                    format!("{domain} publishes a null MX{also}"),
                ));
            }
            for r in records
                .iter()
                .filter(|r| r.exchange.parse::<std::net::IpAddr>().is_ok())
            {
                findings.push(Finding::new(
                    Check::MxTargetIp,
                    Subject::Mx {
                        host: r.exchange.clone(),
                        addr: None,
                    },
                    format!(
                        "MX {} {} names an IP address, not a host",
                        r.preference, r.exchange
                    ),
                ));
            }
        }
    }
}
