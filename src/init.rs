//! `mtasts init`: a first MTA-STS deployment drafted from the live MX hosts (the policy,
//! the two TXT records and the order in which to publish them), and the observations as
//! they will be once it is published, so that the audit's own judge says whether the
//! result passes `mtasts check`. Pure: what is published today and the clock go in.

use std::net::IpAddr;

use crate::checks::Check;
use crate::dates;
use crate::finding::{Finding, Subject, policy_url};
use crate::judge::{self, Context, DomainReport};
use crate::names;
use crate::observe::{DnsAnswer, Lookup, Observations, PolicySource, TxtRecord};
use crate::policy::{self, Mode, Policy};
use crate::record::{StsRecord, TlsRptRecord};
use crate::tally;

/// What the admin chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    pub mode: Mode,
    pub max_age: u64,
}

/// What is published today, as senders read it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Live {
    pub domain: String,
    /// Every MX host by preference, as published (the implicit MX when there is no MX
    /// record); IP addresses and names that are no host names included.
    pub mx_hosts: Vec<String>,
    /// The MX set holds a null MX (RFC 7505).
    pub null_mx: bool,
    /// The `_mta-sts` record senders would use.
    pub sts: Option<StsRecord>,
    /// Something meant as an `_mta-sts` record is published, usable or not.
    pub sts_published: bool,
    /// The policy served at the policy host today.
    pub policy: Option<Policy>,
    /// The `_smtp._tls` record senders would use.
    pub tlsrpt: Option<TlsRptRecord>,
    /// Something meant as a TLS-RPT record is published, usable or not.
    pub tlsrpt_published: bool,
}

impl Live {
    /// What a judged audit of the domain says is published.
    pub fn of(report: &DomainReport) -> Live {
        let obs = &report.observations;
        // Every MX record, not only the hosts the audit probed: a policy that missed one
        // would have enforcing senders refuse it.
        let mut mx_hosts: Vec<(u16, String)> = match &obs.mx.answer {
            DnsAnswer::Records(records) => records
                .iter()
                .filter(|r| !r.exchange.is_empty())
                .map(|r| (r.preference, r.exchange.clone()))
                .collect(),
            _ => obs
                .mx_hosts
                .iter()
                .map(|h| (h.preference, h.name.clone()))
                .collect(),
        };
        mx_hosts.sort_by_key(|(preference, name)| (*preference, names::normalize(name)));
        mx_hosts.dedup_by(|a, b| names::normalize(&a.1) == names::normalize(&b.1));
        Live {
            domain: obs.domain.clone(),
            mx_hosts: mx_hosts.into_iter().map(|(_, name)| name).collect(),
            null_mx: obs.mx.records().iter().any(|r| r.exchange.is_empty()),
            sts: report.sts_record.clone(),
            sts_published: mentions(&obs.sts, STS_VERSION),
            policy: report.policy.as_ref().and_then(|p| p.policy.clone()),
            tlsrpt: report.tlsrpt_record.clone(),
            tlsrpt_published: mentions(&obs.tlsrpt, TLSRPT_VERSION),
        }
    }
}

const STS_VERSION: &str = "v=STSv1";
const TLSRPT_VERSION: &str = "v=TLSRPTv1";

/// Whether a TXT record at the name starts like a record of this version (in any case).
fn mentions(lookup: &Lookup<TxtRecord>, version: &str) -> bool {
    lookup.records().iter().any(|r| is_version(r, version))
}

fn is_version(record: &TxtRecord, version: &str) -> bool {
    let text = record.joined();
    let prefix = &version.as_bytes()[..version.len() - 2]; // "v=STS", "v=TLSRPT"
    text.len() >= prefix.len() && text[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// A first deployment, ready to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub domain: String,
    pub policy: Policy,
    pub sts: StsRecord,
    pub tlsrpt: TlsRptRecord,
    /// The published TLS-RPT record is usable and kept as it is.
    pub tlsrpt_kept: bool,
    /// What init says about its choices: hosts it could not list, the wildcard it did not
    /// use, what it replaces, the TLS-RPT mailbox.
    pub findings: Vec<Finding>,
}

/// One TXT record to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxtLine {
    /// Without the trailing dot.
    pub name: String,
    pub value: String,
}

impl TxtLine {
    /// The record in zone-file syntax (RFC 1035 §5.1): the value in character-strings of
    /// at most 255 octets, quotes and backslashes escaped, anything else outside printable
    /// ASCII as `\DDD`.
    pub fn zone(&self) -> String {
        let strings: Vec<String> = strings(&self.value)
            .iter()
            .map(|s| {
                let mut quoted = String::from("\"");
                for &b in s {
                    match b {
                        b'"' | b'\\' => quoted.extend(['\\', char::from(b)]),
                        0x20..=0x7e => quoted.push(char::from(b)),
                        _ => quoted.push_str(&format!("\\{b:03}")),
                    }
                }
                quoted.push('"');
                quoted
            })
            .collect();
        format!("{}. IN TXT {}", self.name, strings.join(" "))
    }
}

/// A TXT value as character-strings of at most 255 octets each.
fn strings(value: &str) -> Vec<Vec<u8>> {
    value.as_bytes().chunks(255).map(<[u8]>::to_vec).collect()
}

impl Draft {
    /// The policy file: LF line endings (RFC 8461 §3.2 allows LF and CRLF; LF survives
    /// editors, git and uploads unchanged).
    pub fn policy_text(&self) -> String {
        self.policy.to_string().replace("\r\n", "\n")
    }

    pub fn policy_host(&self) -> String {
        format!("mta-sts.{}", self.domain)
    }

    pub fn tlsrpt_line(&self) -> TxtLine {
        TxtLine {
            name: format!("_smtp._tls.{}", self.domain),
            value: self.tlsrpt.to_string(),
        }
    }

    pub fn sts_line(&self) -> TxtLine {
        TxtLine {
            name: format!("_mta-sts.{}", self.domain),
            value: self.sts.to_string(),
        }
    }

    /// What to do, in order: the TLS-RPT record first (so that reports arrive from the
    /// start), the policy host and its file, the `_mta-sts` record last (senders look for
    /// the policy as soon as they see it), and how to get to enforce.
    pub fn steps(&self) -> Vec<String> {
        let d = &self.domain;
        let host = self.policy_host();
        let tlsrpt = self.tlsrpt_line();
        let first = if self.tlsrpt_kept {
            format!(
                "Keep the TLS-RPT record at {}: senders report TLS failures to {}.",
                tlsrpt.name,
                self.tlsrpt.rua.join(", ")
            )
        } else {
            format!(
                "Publish the TLS-RPT record at {} first, so that reports arrive from the start; make sure {} exists and accepts mail.",
                tlsrpt.name,
                self.tlsrpt.rua.join(", ").trim_start_matches("mailto:")
            )
        };
        let mut steps = vec![
            first,
            format!(
                "Serve the policy at {}: give {host} an A/AAAA record (or a CNAME to a web host), a certificate valid for {host} from a CA senders trust, and answer GET with status 200, Content-Type: text/plain, no redirect. `mtasts check {d}` shows the policy as senders fetch it.",
                policy_url(d)
            ),
            format!(
                "Publish the _mta-sts record last, \"{}\": senders fetch the policy as soon as they see it. Then run `mtasts check {d}`.",
                self.sts
            ),
        ];
        steps.push(match self.policy.mode {
            Mode::Enforce => format!(
                "Enforce: senders that honour the policy refuse any MX host that fails TLS. Run in testing first (`mtasts init {d}`), read the TLS-RPT reports (`mtasts report FILE...`), and switch only when they show no failures; every change of the policy needs a new id in the _mta-sts record."
            ),
            _ => format!(
                "Testing: senders deliver as before and report TLS failures. Read the reports (`mtasts report FILE...`) for a while; when they show no failures and `mtasts check {d} --require-enforce-ready` passes, serve the policy with mode: enforce (`mtasts init {d} --mode enforce`) and then change the id of the _mta-sts record."
            ),
        });
        steps
    }
}

/// The draft for what is published today: the exact MX host names, a fresh id, the
/// TLS-RPT record kept when it is usable. Without any host to list there is no draft,
/// only the findings that say why.
pub fn draft(live: &Live, opts: Options, now: i64) -> Result<Draft, Vec<Finding>> {
    let mut findings = Vec::new();
    let mut mx = Vec::new();
    for host in &live.mx_hosts {
        let name = names::normalize(host);
        // An address can never be matched; mx-target-ip says what to do.
        if name.parse::<IpAddr>().is_ok() {
            continue;
        }
        match names::check_domain(&name) {
            Ok(()) if !mx.contains(&name) => mx.push(name),
            Ok(()) => {}
            Err(why) => findings.push(Finding::new(
                Check::InitMxUnlistable,
                Subject::Mx { host: host.clone(), addr: None },
                format!("MX {host} cannot be listed in a policy: it is not a host name ({why}); enforcing senders would refuse it"),
            )),
        }
    }
    let d = &live.domain;
    if mx.is_empty() {
        let why = if live.null_mx {
            format!("{d} publishes a null MX: it receives no mail, so MTA-STS protects nothing")
        } else if live.mx_hosts.is_empty() {
            format!("{d} has no MX host that could be looked up")
        } else {
            format!("no MX host of {d} can be named in a policy")
        };
        findings.push(Finding::new(
            Check::InitNoMxHost,
            Subject::MxRecords,
            format!("{why}; no policy was drafted"),
        ));
        return Err(findings);
    }
    let policy = Policy {
        mode: opts.mode,
        max_age: opts.max_age,
        mx,
        extensions: vec![],
    };
    let live_id = live.sts.as_ref().map(|r| r.id.as_str());
    let sts = StsRecord {
        id: new_id(now, live_id),
        extensions: vec![],
    };
    if let Some(pattern) = wildcard(&policy.mx) {
        findings.push(Finding::new(
            Check::InitWildcard,
            Subject::Policy { addr: None },
            format!(
                "mta-sts.{d}: every MX host is one label under {}, so \"mx: {pattern}\" would cover them all; the draft lists the {} exact names instead",
                &pattern[2..],
                policy.mx.len()
            ),
        ));
    }
    if let Some(changes) = rewrite(live, &policy, &sts) {
        findings.push(Finding::new(
            Check::InitRewrite,
            Subject::StsRecord,
            changes,
        ));
    }
    let (tlsrpt, tlsrpt_kept) = match &live.tlsrpt {
        Some(record) => (record.clone(), true),
        None => {
            let record = TlsRptRecord {
                rua: vec![format!("mailto:tlsrpt@{d}")],
                extensions: vec![],
            };
            let now = if live.tlsrpt_published {
                "publishes no TLS-RPT record senders can use"
            } else {
                "has no TLS-RPT record"
            };
            findings.push(Finding::new(
                Check::InitTlsrptNew,
                Subject::TlsRptRecord,
                format!("_smtp._tls.{d} {now}: the draft publishes \"{record}\"; the mailbox tlsrpt@{d} must exist to receive the reports"),
            ));
            (record, false)
        }
    };
    Ok(Draft {
        domain: d.clone(),
        policy,
        sts,
        tlsrpt,
        tlsrpt_kept,
        findings,
    })
}

/// The run's UTC time as an id, one second later if that is the id published now:
/// senders fetch the policy again only when the id changes.
fn new_id(now: i64, live: Option<&str>) -> String {
    let id = dates::stamp(now);
    if live == Some(id.as_str()) {
        dates::stamp(now.saturating_add(1))
    } else {
        id
    }
}

/// `*.BASE` when every host is exactly one label under BASE (the only coverage RFC 8461
/// §4.1 gives a wildcard) and BASE is no domain shared by many tenants; never for one
/// host, where the exact name says the same.
fn wildcard(hosts: &[String]) -> Option<String> {
    let (_, base) = hosts.first()?.split_once('.')?;
    let pattern = format!("*.{base}");
    let covers = hosts.len() > 1 && base.contains('.');
    let covers = covers && hosts.iter().all(|h| names::matches(&pattern, h));
    let sample = format!("version: STSv1\nmode: testing\nmx: {pattern}\nmax_age: 86400\n");
    let broad = policy::parse(sample.as_bytes())
        .problems
        .iter()
        .any(|p| p.check == Check::StsPolicyMxWildcardBroad);
    (covers && !broad).then_some(pattern)
}

/// What replacing what is published changes, when something is.
fn rewrite(live: &Live, policy: &Policy, sts: &StsRecord) -> Option<String> {
    if !live.sts_published && live.policy.is_none() {
        return None;
    }
    let d = &live.domain;
    let mut now = Vec::new();
    let mut changes = Vec::new();
    match &live.sts {
        Some(record) => {
            now.push(format!("_mta-sts.{d} publishes \"{record}\""));
            changes.push(format!("id {} → {}", record.id, sts.id));
        }
        None if live.sts_published => {
            now.push(format!(
                "_mta-sts.{d} publishes a record senders cannot use"
            ));
        }
        None => now.push(format!("_mta-sts.{d} publishes no record")),
    }
    match &live.policy {
        Some(old) => {
            now.push(format!("mta-sts.{d} serves a policy"));
            changes.extend(policy::differences(old.applied(), policy.applied()));
        }
        None => now.push(format!("mta-sts.{d} serves no policy senders can use")),
    }
    let changes = if changes.is_empty() {
        "nothing".to_string()
    } else {
        changes.join("; ")
    };
    Some(format!(
        "MTA-STS is already deployed ({}): init drafts a rewrite; it changes {changes}",
        now.join(", ")
    ))
}

/// The observations as they will be once the draft is published: the draft's records at
/// `_mta-sts` and (unless the published one is kept) `_smtp._tls`, beside any other TXT
/// record there, and the draft as the policy. A lookup that failed stays failed: what is
/// there cannot be known.
pub fn published(obs: &Observations, draft: &Draft) -> Observations {
    let mut after = obs.clone();
    publish(&mut after.sts, STS_VERSION, &draft.sts_line());
    if !draft.tlsrpt_kept {
        publish(&mut after.tlsrpt, TLSRPT_VERSION, &draft.tlsrpt_line());
    }
    after.policy = PolicySource::Draft {
        path: "mta-sts.txt (from mtasts init)".to_string(),
        body: draft.policy_text().into_bytes(),
    };
    after.planned = true;
    after
}

fn publish(lookup: &mut Lookup<TxtRecord>, version: &str, line: &TxtLine) {
    if matches!(lookup.answer, DnsAnswer::Failed(_)) {
        return;
    }
    let mut records: Vec<TxtRecord> = lookup
        .records()
        .iter()
        .filter(|r| !is_version(r, version))
        .cloned()
        .collect();
    records.push(TxtRecord {
        strings: strings(&line.value),
    });
    lookup.answer = DnsAnswer::Records(records);
    lookup.cnames.clear();
    lookup.truncated = false;
}

/// An `init-mx-failing` finding for each listed MX host that fails validation today at
/// some address: which, why, and what senders do with it in the draft's mode.
pub fn failing(judged: &DomainReport, mode: Mode) -> Vec<Finding> {
    let d = &judged.observations.domain;
    let mut findings = Vec::new();
    for (host, report) in judged.observations.mx_hosts.iter().zip(&judged.mx) {
        let why: Vec<&str> = report
            .addresses
            .iter()
            .filter(|a| a.readiness.ready == Some(false))
            .flat_map(|a| &a.readiness.reasons)
            .map(|r| r.sentence.as_str())
            .collect();
        if why.is_empty() {
            continue;
        }
        let name = &host.name;
        let senders = match mode {
            Mode::Enforce => format!(
                "in enforce mode senders that honour the policy refuse mail to it; fix its TLS first, or publish the policy in testing (`mtasts init {d}`) until it passes"
            ),
            _ => "in testing mode senders still deliver to it, without validated TLS, and report the failure; fix its TLS before switching to enforce".to_string(),
        };
        findings.push(Finding::new(
            Check::InitMxFailing,
            Subject::Mx {
                host: name.clone(),
                addr: None,
            },
            format!(
                "{name} is listed in the policy, but fails TLS today ({}): {senders}",
                why.join("; ")
            ),
        ));
    }
    findings
}

/// The outcome of `mtasts init`: the draft, if there is one, and the judged audit of the
/// domain as it will be once the draft is published (or, without a draft, of the MX set
/// and the vantage point as they are), with init's own findings among the others.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub draft: Option<Draft>,
    pub report: DomainReport,
}

/// Drafts a deployment for the observed domain and judges it as `mtasts check` will once
/// it is published.
pub fn init(obs: Observations, ctx: &Context<'_>, opts: Options) -> Outcome {
    let live = judge::judge(obs.clone(), ctx);
    match draft(&Live::of(&live), opts, ctx.now) {
        Ok(draft) => {
            let judged = judge::judge(published(&obs, &draft), ctx);
            let mut more = draft.findings.clone();
            more.extend(failing(&judged, opts.mode));
            Outcome {
                report: judge::with_findings(judged, more),
                draft: Some(draft),
            }
        }
        Err(mut why) => {
            let blind = live
                .findings
                .iter()
                .any(|f| tally::BLIND.contains(&f.check));
            if blind {
                // Nothing was seen from here: that, not the domain, is why.
                why.retain(|f| f.check != Check::InitNoMxHost);
            }
            let mut report = live;
            report.findings.retain(|f| {
                matches!(
                    f.subject,
                    Subject::MxRecords | Subject::Mx { .. } | Subject::Vantage
                )
            });
            Outcome {
                report: judge::with_findings(report, why),
                draft: None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_796_307_930; // 2026-12-03T14:25:30Z

    fn live(hosts: &[&str]) -> Live {
        Live {
            domain: "example.com".into(),
            mx_hosts: hosts.iter().map(|h| h.to_string()).collect(),
            ..Live::default()
        }
    }

    fn testing() -> Options {
        Options {
            mode: Mode::Testing,
            max_age: 86_400,
        }
    }

    fn ids(findings: &[Finding]) -> Vec<&str> {
        findings.iter().map(|f| f.check.id()).collect()
    }

    #[test]
    fn the_policy_lists_the_exact_mx_names_in_preference_order_with_lf() {
        let d = draft(
            &live(&["MX1.Example.com.", "mx2.example.com"]),
            testing(),
            NOW,
        )
        .expect("a draft");
        assert_eq!(
            d.policy_text(),
            "version: STSv1\nmode: testing\nmx: mx1.example.com\nmx: mx2.example.com\nmax_age: 86400\n"
        );
        let parsed = policy::parse(d.policy_text().as_bytes());
        assert!(parsed.valid, "{:?}", parsed.problems);
        assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
    }

    #[test]
    fn mode_and_max_age_are_the_admins_choice() {
        let opts = Options {
            mode: Mode::Enforce,
            max_age: 604_800,
        };
        let d = draft(&live(&["mx.example.com"]), opts, NOW).expect("a draft");
        assert!(d.policy_text().contains("mode: enforce\n"));
        assert!(d.policy_text().ends_with("max_age: 604800\n"));
        assert!(d.steps()[3].contains("Run in testing first"));
    }

    #[test]
    fn the_id_is_the_utc_time_and_differs_from_the_published_one() {
        let d = draft(&live(&["mx.example.com"]), testing(), NOW).expect("a draft");
        assert_eq!(d.sts.to_string(), "v=STSv1; id=20261203T142530");
        let mut again = live(&["mx.example.com"]);
        again.sts = Some(StsRecord {
            id: "20261203T142530".into(),
            extensions: vec![],
        });
        again.sts_published = true;
        let d = draft(&again, testing(), NOW).expect("a draft");
        assert_eq!(d.sts.id, "20261203T142531");
        let record = crate::record::sts_from_txt(&[TxtRecord {
            strings: strings(&d.sts.to_string()),
        }]);
        assert!(record.record.is_some() && record.problems.is_empty());
    }

    #[test]
    fn records_are_in_zone_file_syntax_tlsrpt_suggested_when_missing() {
        let d = draft(&live(&["mx.example.com"]), testing(), NOW).expect("a draft");
        assert_eq!(
            d.tlsrpt_line().zone(),
            "_smtp._tls.example.com. IN TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@example.com\""
        );
        assert_eq!(
            d.sts_line().zone(),
            "_mta-sts.example.com. IN TXT \"v=STSv1; id=20261203T142530\""
        );
        assert!(!d.tlsrpt_kept);
        assert_eq!(ids(&d.findings), ["init-tlsrpt-new"]);
    }

    #[test]
    fn a_usable_tlsrpt_record_is_kept() {
        let mut l = live(&["mx.example.com"]);
        l.tlsrpt = Some(TlsRptRecord {
            rua: vec!["mailto:reports@example.net".into()],
            extensions: vec![],
        });
        l.tlsrpt_published = true;
        let d = draft(&l, testing(), NOW).expect("a draft");
        assert!(d.tlsrpt_kept);
        assert!(d.steps()[0].starts_with("Keep the TLS-RPT record"));
        assert!(d.findings.is_empty(), "{:?}", d.findings);
    }

    #[test]
    fn zone_lines_escape_and_split_what_dns_could_hold() {
        let line = TxtLine {
            name: "_smtp._tls.example.com".into(),
            value: format!("a\"b\\c\u{7}{}", "x".repeat(260)),
        };
        let zone = line.zone();
        assert!(zone.starts_with("_smtp._tls.example.com. IN TXT \"a\\\"b\\\\c\\007x"));
        assert!(
            zone.ends_with(&format!("\" \"{}\"", "x".repeat(11))),
            "{zone}"
        );
    }

    #[test]
    fn publishing_order_is_tlsrpt_then_policy_host_then_sts_record() {
        let d = draft(&live(&["mx.example.com"]), testing(), NOW).expect("a draft");
        let steps = d.steps();
        assert_eq!(steps.len(), 4);
        assert!(steps[0].contains("_smtp._tls.example.com first"));
        assert!(steps[1].contains("https://mta-sts.example.com/.well-known/mta-sts.txt"));
        assert!(steps[1].contains("certificate valid for mta-sts.example.com"));
        assert!(steps[1].contains("text/plain"));
        assert!(steps[2].starts_with("Publish the _mta-sts record last"));
        assert!(steps[3].contains("mtasts report"));
    }

    #[test]
    fn a_wildcard_is_offered_only_when_it_covers_every_host() {
        let offered = |hosts: &[&str]| {
            draft(&live(hosts), testing(), NOW)
                .expect("a draft")
                .findings
                .iter()
                .find(|f| f.check == Check::InitWildcard)
                .map(|f| f.message.clone())
        };
        let m = offered(&["a.mail.example.net", "b.mail.example.net"]).expect("offered");
        assert!(m.contains("\"mx: *.mail.example.net\""), "{m}");
        // Two labels under the base: the wildcard would not cover it.
        assert_eq!(
            offered(&["a.mail.example.net", "x.b.mail.example.net"]),
            None
        );
        assert_eq!(offered(&["mx1.example.com", "mx.example.net"]), None);
        // One host: the exact name says it all.
        assert_eq!(offered(&["a.mail.example.net"]), None);
        // Never right under a domain shared by many tenants, nor a TLD.
        assert_eq!(offered(&["a.outlook.com", "b.outlook.com"]), None);
        assert_eq!(offered(&["example.com", "example2.com"]), None);
    }

    #[test]
    fn addresses_are_left_to_mx_target_ip_and_bad_names_are_said() {
        let d = draft(
            &live(&["192.0.2.1", "bad_name.example.com", "mx.example.com"]),
            testing(),
            NOW,
        )
        .expect("a draft");
        assert_eq!(d.policy.mx, ["mx.example.com"]);
        assert_eq!(ids(&d.findings), ["init-mx-unlistable", "init-tlsrpt-new"]);
    }

    #[test]
    fn no_host_to_list_means_no_draft_and_says_why() {
        let why = |l: Live| draft(&l, testing(), NOW).expect_err("no draft");
        let mut null = live(&[]);
        null.null_mx = true;
        let f = why(null);
        assert_eq!(ids(&f), ["init-no-mx-host"]);
        assert!(f[0].message.contains("null MX"), "{}", f[0].message);
        assert_eq!(ids(&why(live(&["192.0.2.1"]))), ["init-no-mx-host"]);
        assert_eq!(ids(&why(live(&[]))), ["init-no-mx-host"]);
    }

    #[test]
    fn a_rewrite_says_what_changes() {
        let mut l = live(&["mx1.example.com", "mx3.example.com"]);
        l.sts = Some(StsRecord {
            id: "1".into(),
            extensions: vec![],
        });
        l.sts_published = true;
        l.policy = Some(Policy {
            mode: Mode::Enforce,
            max_age: 604_800,
            mx: vec!["mx1.example.com".into(), "mx2.example.com".into()],
            extensions: vec![],
        });
        let d = draft(&l, testing(), NOW).expect("a draft");
        let f = d
            .findings
            .iter()
            .find(|f| f.check == Check::InitRewrite)
            .expect("init-rewrite");
        assert_eq!(
            f.message,
            "MTA-STS is already deployed (_mta-sts.example.com publishes \"v=STSv1; id=1\", mta-sts.example.com serves a policy): init drafts a rewrite; it changes id 1 → 20261203T142530; mode enforce → testing; max_age 604800 → 86400; mx added: mx3.example.com; mx removed: mx2.example.com"
        );
    }
}
