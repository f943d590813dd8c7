//! The Prometheus text exposition format (0.0.4), for node_exporter's textfile collector:
//! `mtasts check --format prometheus --output /var/lib/node_exporter/mtasts.prom`.
//!
//! The format wants every series of a family together, under its `# HELP` and `# TYPE`,
//! while domains come one by one; so each domain is kept as the few numbers and names its
//! series need (a [`DomainRow`], not its report) and the families are written at the end.
//! States (verdict, enforce-readiness, mode) are state sets: one series per state, 1 for
//! the current one, so that a missing series never reads as a healthy one. Certificate
//! expiry is a unix timestamp, not seconds left: a report that goes stale (the job stopped
//! running) then still gives the right answer to `... - time()`.

use std::io::{self, Write};
use std::net::IpAddr;

use crate::checks::Check;
use crate::finding::Verdict;
use crate::judge::{Certificate, DomainReport};
use crate::observe::{LegacyHello, PolicySource};
use crate::policy::Mode;
use crate::report::{Run, Sink, escape};
use crate::tally::{self, Tally};

/// A family's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Type {
    Gauge,
    Counter,
}

/// One series: its labels (name, value) and its value.
pub(crate) type Series = (Vec<(&'static str, String)>, i128);

/// Writes one family: `# HELP`, `# TYPE`, then its series. A family with no series is
/// still declared, so that the document says what it could hold.
pub(crate) fn family(
    out: &mut impl Write,
    name: &str,
    kind: Type,
    help: &str,
    series: impl IntoIterator<Item = Series>,
) -> io::Result<()> {
    let kind = match kind {
        Type::Gauge => "gauge",
        Type::Counter => "counter",
    };
    writeln!(out, "# HELP {name} {help}")?;
    writeln!(out, "# TYPE {name} {kind}")?;
    for (labels, value) in series {
        let labels: Vec<String> = labels
            .iter()
            .map(|(label, v)| format!("{label}=\"{}\"", label_value(v)))
            .collect();
        if labels.is_empty() {
            writeln!(out, "{name} {value}")?;
        } else {
            writeln!(out, "{name}{{{}}} {value}", labels.join(","))?;
        }
    }
    Ok(())
}

/// A label value as the format wants it (`\\`, `\"`, `\n`), after outside text is shown
/// as people are shown it ([`escape`]: no control character reaches the file).
pub(crate) fn label_value(text: &str) -> String {
    escape(text).replace('\\', "\\\\").replace('"', "\\\"")
}

/// 1 for the state that holds, 0 for the others: one series each.
pub(crate) fn states(
    labels: &[(&'static str, String)],
    label: &'static str,
    all: &[&str],
    current: Option<&str>,
) -> Vec<Series> {
    all.iter()
        .map(|state| {
            let mut l = labels.to_vec();
            l.push((label, (*state).to_string()));
            (l, i128::from(current == Some(*state)))
        })
        .collect()
}

/// What the series of one domain need.
struct DomainRow {
    domain: String,
    verdict: &'static str,
    ready: &'static str,
    /// The mode senders apply: `None` without a valid policy.
    mode: Option<&'static str>,
    max_age: Option<u64>,
    /// Findings per check, in report order.
    findings: Vec<(Check, usize)>,
    /// The policy host's addresses and the notAfter of the leaf each presented.
    policy_certs: Vec<(IpAddr, i64)>,
    addresses: Vec<AddressRow>,
}

struct AddressRow {
    host: String,
    addr: IpAddr,
    not_after: Option<i64>,
    /// Of the TLS handshake when it completed, else of the legacy hello when it was answered.
    tls_version: Option<String>,
    /// `None`: the session did not get as far as EHLO (unreachable, or not tested).
    starttls_ok: Option<bool>,
}

/// The version a server that refused our modern hello chose for the legacy one, named
/// as rustls names versions ("TLSv1.0"): the server an alert on old TLS is about.
fn legacy_version(legacy: &LegacyHello) -> Option<String> {
    let LegacyHello::ServerHello { version, .. } = legacy else {
        return None;
    };
    Some(match version {
        0x0300 => "SSLv3".to_string(),
        0x0301..=0x0304 => format!("TLSv1.{}", version - 0x0301),
        v => format!("0x{v:04x}"),
    })
}

fn leaf_not_after(chain: &[Certificate]) -> Option<i64> {
    chain.first().map(|c| c.summary.not_after)
}

fn row(r: &DomainReport) -> DomainRow {
    let obs = &r.observations;
    let verdict = if tally::blind(r) {
        "unknown"
    } else {
        r.verdict.as_str()
    };
    let ready = match r.readiness.ready {
        Some(true) => "yes",
        Some(false) => "no",
        None => "unknown",
    };
    let applied = r
        .policy
        .as_ref()
        .filter(|p| p.valid)
        .and_then(|p| p.policy.as_ref());
    let mut findings: Vec<(Check, usize)> = Vec::new();
    for f in &r.findings {
        match findings.iter_mut().find(|(c, _)| *c == f.check) {
            Some((_, n)) => *n += 1,
            None => findings.push((f.check, 1)),
        }
    }
    let policy_certs = match &obs.policy {
        PolicySource::Fetched(f) => f
            .fetches
            .iter()
            .zip(&r.fetches)
            .filter_map(|(f, judged)| Some((f.addr, leaf_not_after(&judged.certificates)?)))
            .collect(),
        PolicySource::Draft { .. } => Vec::new(),
    };
    let addresses = obs
        .mx_hosts
        .iter()
        .zip(&r.mx)
        .flat_map(|(h, judged)| {
            h.probes.iter().zip(&judged.addresses).map(|(p, a)| {
                let negotiated = p.tls.as_ref().and_then(|t| t.version.clone());
                AddressRow {
                    host: h.name.clone(),
                    addr: a.addr,
                    not_after: leaf_not_after(&a.certificates),
                    starttls_ok: p.ehlo.as_ref().map(|_| negotiated.is_some()),
                    tls_version: negotiated.or_else(|| legacy_version(p.legacy.as_ref()?)),
                }
            })
        })
        .collect();
    DomainRow {
        domain: obs.domain.clone(),
        verdict,
        ready,
        mode: applied.map(|p| p.mode.as_str()),
        max_age: applied.map(|p| p.max_age),
        findings,
        policy_certs,
        addresses,
    }
}

/// `mtasts check --format prometheus`: the whole document at the end of the run.
pub struct PrometheusSink<'a, W> {
    out: &'a mut W,
    judged_at: i64,
    domains: Vec<DomainRow>,
}

impl<'a, W: Write> PrometheusSink<'a, W> {
    pub fn new(out: &'a mut W) -> Self {
        PrometheusSink {
            out,
            judged_at: 0,
            domains: Vec::new(),
        }
    }
}

impl<W: Write> Sink for PrometheusSink<'_, W> {
    fn begin(&mut self, run: &Run) -> io::Result<()> {
        self.judged_at = run.judged_at;
        Ok(())
    }

    fn domain(&mut self, report: &DomainReport) -> io::Result<()> {
        self.domains.push(row(report));
        Ok(())
    }

    fn end(&mut self, _tally: &Tally) -> io::Result<()> {
        render(&self.domains, self.judged_at, &mut *self.out)?;
        self.out.flush()
    }
}

fn domain_label(d: &DomainRow) -> Vec<(&'static str, String)> {
    vec![("domain", d.domain.clone())]
}

fn address_labels(d: &DomainRow, a: &AddressRow) -> Vec<(&'static str, String)> {
    vec![
        ("domain", d.domain.clone()),
        ("mx", a.host.clone()),
        ("address", a.addr.to_string()),
    ]
}

fn render(domains: &[DomainRow], judged_at: i64, out: &mut impl Write) -> io::Result<()> {
    use Type::Gauge;
    family(
        out,
        "mtasts_run_timestamp_seconds",
        Gauge,
        "When mtasts judged these domains (unix seconds): alert when it stops moving.",
        [(vec![], i128::from(judged_at))],
    )?;
    let verdicts = [
        Verdict::Pass.as_str(),
        Verdict::Warn.as_str(),
        Verdict::Fail.as_str(),
        "unknown",
    ];
    family(
        out,
        "mtasts_domain_verdict",
        Gauge,
        "The domain's verdict (1 for the current one): fail for any error finding, warn for any warning, unknown when this network could not audit it.",
        domains
            .iter()
            .flat_map(|d| states(&domain_label(d), "verdict", &verdicts, Some(d.verdict))),
    )?;
    family(
        out,
        "mtasts_domain_enforce_ready",
        Gauge,
        "Whether a sender honouring the policy in enforce mode would deliver everything it delivers today (1 for the current state).",
        domains.iter().flat_map(|d| {
            states(
                &domain_label(d),
                "state",
                &["yes", "no", "unknown"],
                Some(d.ready),
            )
        }),
    )?;
    family(
        out,
        "mtasts_domain_findings",
        Gauge,
        "Findings of each check that fired for the domain.",
        domains.iter().flat_map(|d| {
            d.findings.iter().map(|(check, n)| {
                let mut labels = domain_label(d);
                labels.push(("check", check.id().to_string()));
                labels.push(("severity", check.info().severity.as_str().to_string()));
                (labels, *n as i128)
            })
        }),
    )?;
    let modes = [Mode::Enforce, Mode::Testing, Mode::None].map(Mode::as_str);
    family(
        out,
        "mtasts_policy_mode",
        Gauge,
        "The mode of the policy senders apply (1 for the current one; all 0 when senders apply no valid policy).",
        domains
            .iter()
            .flat_map(|d| states(&domain_label(d), "mode", &modes, d.mode)),
    )?;
    family(
        out,
        "mtasts_policy_max_age_seconds",
        Gauge,
        "The policy's max_age: how long senders cache it.",
        domains
            .iter()
            .filter_map(|d| Some((domain_label(d), i128::from(d.max_age?)))),
    )?;
    family(
        out,
        "mtasts_policy_certificate_expiry_timestamp_seconds",
        Gauge,
        "When the certificate of the policy host (mta-sts.DOMAIN) at this address expires: its notAfter, unix seconds.",
        domains.iter().flat_map(|d| {
            d.policy_certs.iter().map(|(addr, not_after)| {
                let mut labels = domain_label(d);
                labels.push(("address", addr.to_string()));
                (labels, i128::from(*not_after))
            })
        }),
    )?;
    family(
        out,
        "mtasts_mx_certificate_expiry_timestamp_seconds",
        Gauge,
        "When the certificate the MX host presents at this address expires: its notAfter, unix seconds.",
        domains.iter().flat_map(|d| {
            d.addresses
                .iter()
                .filter_map(|a| Some((address_labels(d, a), i128::from(a.not_after?))))
        }),
    )?;
    family(
        out,
        "mtasts_mx_tls_version_info",
        Gauge,
        "The TLS version the MX host chose at this address (1): of the completed handshake, or, when it refused a TLS 1.2/1.3 hello, of a legacy ClientHello.",
        domains.iter().flat_map(|d| {
            d.addresses.iter().filter_map(|a| {
                let mut labels = address_labels(d, a);
                labels.push(("version", a.tls_version.clone()?));
                Some((labels, 1))
            })
        }),
    )?;
    family(
        out,
        "mtasts_mx_starttls_ok",
        Gauge,
        "1 when the MX host at this address offered STARTTLS and completed a TLS handshake (the certificate is judged in mtasts_domain_findings), 0 when it answered EHLO but did not; absent when it could not be reached.",
        domains.iter().flat_map(|d| {
            d.addresses
                .iter()
                .filter_map(|a| Some((address_labels(d, a), i128::from(a.starttls_ok?))))
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_family_is_declared_then_its_series_follow() {
        let mut out = Vec::new();
        let series = vec![
            (vec![("domain", "example.com".to_string())], 1),
            (vec![], -5),
        ];
        family(&mut out, "mtasts_x", Type::Counter, "Help.", series).expect("in memory");
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            "# HELP mtasts_x Help.\n# TYPE mtasts_x counter\nmtasts_x{domain=\"example.com\"} 1\nmtasts_x -5\n"
        );
    }

    #[test]
    fn label_values_are_escaped_for_the_format_and_the_terminal() {
        assert_eq!(label_value("plain.example"), "plain.example");
        assert_eq!(label_value("a\"b"), "a\\\"b");
        // Outside text: a newline, a backslash and an escape sequence become visible
        // escapes first, whose backslashes the format then escapes.
        assert_eq!(label_value("a\nb"), "a\\\\nb");
        assert_eq!(label_value("a\\b"), "a\\\\\\\\b");
        assert_eq!(label_value("\x1b[2J"), "\\\\x1b[2J");
    }

    #[test]
    fn a_state_set_has_one_series_per_state_and_one_is_1() {
        let labels = vec![("domain", "d.example".to_string())];
        let set = states(&labels, "mode", &["enforce", "testing"], Some("testing"));
        assert_eq!(
            set,
            [
                (
                    vec![
                        ("domain", "d.example".to_string()),
                        ("mode", "enforce".to_string())
                    ],
                    0
                ),
                (
                    vec![
                        ("domain", "d.example".to_string()),
                        ("mode", "testing".to_string())
                    ],
                    1
                ),
            ]
        );
        assert!(
            states(&labels, "mode", &["enforce"], None)
                .iter()
                .all(|(_, v)| *v == 0)
        );
    }
}
