//! Helpers shared by the end-to-end tests: run an audit against a lab world and ask
//! what fired where.

use mtasts::finding::{Finding, Subject};
use mtasts::judge::DomainReport;

use crate::lab::Run;

/// Audits `domain` in the world `run` through the library, as `mtasts check` would.
pub async fn audit(run: &Run, domain: &str) -> DomainReport {
    let mut reports = audit_all(&[domain.to_string()], &run.config(), 14).await;
    reports.remove(0)
}

/// Audits `domains` with `cfg` through the library, in one run, reports in input order.
pub async fn audit_all(
    domains: &[String],
    cfg: &mtasts::net::Config,
    expiry_warning_days: u32,
) -> Vec<DomainReport> {
    let net = mtasts::net::Net::new(cfg.clone()).expect("the network side of the run");
    mtasts::audit(&net, domains, expiry_warning_days).await
}

/// Every finding of `id`. Checks on the way that every message names where it happened,
/// so that a grep of the output keeps the "where".
pub fn fired<'a>(report: &'a DomainReport, id: &str) -> Vec<&'a Finding> {
    assert!(
        mtasts::checks::Check::from_id(id).is_some(),
        "{id} is not a check id"
    );
    let domain = &report.observations.domain;
    for f in report
        .findings
        .iter()
        .filter(|f| f.subject != Subject::Vantage)
    {
        let place = f.subject.place(domain);
        assert!(
            f.message.contains(&place),
            "{}: the message does not name {place}: {}",
            f.check.id(),
            f.message
        );
    }
    report
        .findings
        .iter()
        .filter(|f| f.check.id() == id)
        .collect()
}

/// The one finding of `id`, which must exist; fails with the whole list otherwise.
#[track_caller]
pub fn fires<'a>(report: &'a DomainReport, id: &str) -> &'a Finding {
    match fired(report, id).as_slice() {
        [one] => one,
        [] => panic!("{id} did not fire; findings: {:#?}", summary(report)),
        many => panic!("{id} fired {} times: {many:#?}", many.len()),
    }
}

#[track_caller]
pub fn silent(report: &DomainReport, id: &str) {
    let found = fired(report, id);
    assert!(found.is_empty(), "{id} fired: {found:#?}");
}

/// No finding at all: the deployment is exactly right.
#[track_caller]
pub fn clean(report: &DomainReport) {
    assert!(
        report.findings.is_empty(),
        "expected no findings, got {:#?}",
        summary(report)
    );
}

/// `id @ subject: message` lines, for failure messages.
pub fn summary(report: &DomainReport) -> Vec<String> {
    report
        .findings
        .iter()
        .map(|f| {
            format!(
                "{} @ {}: {}",
                f.check.id(),
                subject(&f.subject, &report.observations.domain),
                f.message
            )
        })
        .collect()
}

pub fn subject(s: &Subject, domain: &str) -> String {
    match s.addr() {
        Some(a) => format!("{} {a}", s.name(domain)),
        None => s.name(domain),
    }
}

/// The subject of an MX host at one address.
pub fn mx_at(host: &str, addr: &str) -> Subject {
    Subject::Mx {
        host: host.to_string(),
        addr: Some(addr.parse().expect("an address")),
    }
}

/// Runs the binary outside any world (for what needs no network), with the environment
/// that changes its output removed.
pub fn mtasts(args: &[&str]) -> std::process::Output {
    let mut cmd = assert_cmd::Command::cargo_bin("mtasts").expect("the binary");
    for var in [
        "NO_COLOR",
        "FORCE_COLOR",
        "CLICOLOR",
        "CLICOLOR_FORCE",
        "CI",
        "RUST_BACKTRACE",
    ] {
        cmd.env_remove(var);
    }
    cmd.args(args)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .expect("the binary runs")
}

/// Asserts that no SMTP server of `run` received anything but EHLO, STARTTLS and QUIT:
/// the tool never sends mail, and never falls back to HELO.
#[track_caller]
pub fn only_ehlo_starttls_quit(run: &Run) {
    for c in run.all_smtp_commands() {
        assert!(
            ["EHLO", "STARTTLS", "QUIT"].contains(&c.verb().as_str()),
            "sent {c:?}"
        );
    }
}

/// The ids of the findings of one domain (or file) of a JSON report.
pub fn ids(domain: &serde_json::Value) -> Vec<&str> {
    domain["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["id"].as_str())
        .collect()
}

/// The binary's standard output as JSON.
#[track_caller]
pub fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// The one `sts-enforce-mx-refused` finding of `host`: with the policy in enforce mode,
/// every MX host that fails validation gets one, saying that senders refuse it now.
#[track_caller]
pub fn refused_now<'a>(report: &'a DomainReport, host: &str) -> &'a Finding {
    let refused: Vec<&Finding> = fired(report, "sts-enforce-mx-refused")
        .into_iter()
        .filter(|f| {
            f.subject
                == Subject::Mx {
                    host: host.to_string(),
                    addr: None,
                }
        })
        .collect();
    match refused.as_slice() {
        [one] => {
            assert!(
                one.message.starts_with(&format!(
                    "mode is enforce: senders that honour the policy refuse mail to {host} now ("
                )),
                "{}",
                one.message
            );
            one
        }
        _ => panic!("{host} is not refused once: {:#?}", summary(report)),
    }
}
