//! The MX record set and DNS failures at every stage: null MX, implicit MX, MX targets that
//! are CNAMEs or addresses, hosts that do not resolve, and SERVFAIL/REFUSED/timeouts that
//! must never read as absence.

use std::time::Duration;

use hickory_proto::rr::RecordType;
use mtasts::checks::Severity;
use mtasts::finding::Subject;
use mtasts::observe::DnsAnswer;

use crate::lab::{Cert, Failure, Mx, Response, Smtp, World};
use crate::support::{audit, fired, fires, silent, summary};

/// What a failed lookup must never be reported as.
const ABSENCE: [&str; 6] = [
    "sts-txt-absent",
    "tlsrpt-absent",
    "mx-nxdomain",
    "mx-implicit",
    "sts-host-dns",
    "mx-host-unresolvable",
];

/// Fails the `rtype` lookup of `name` in a good deployment of example.test, then checks
/// that both the library and the binary report it as one `dns-error` about `subject`
/// that names the lookup (`lookup` is e.g. "the MX lookup of example.test") and its
/// kind, and never as an absence.
async fn dns_error_not_absence(
    name: &str,
    rtype: RecordType,
    how: Failure,
    subject: Subject,
    lookup: &str,
) {
    let mut w = World::new();
    w.timeout = Duration::from_millis(500);
    let mut d = w.good_deployment("example.test");
    d.zone.fail(name, Some(rtype), how);
    let run = w.start(d).await;
    let (report, out, json) = tokio::join!(
        audit(&run, "example.test"),
        run.mtasts(&["check", "example.test", "--no-color"]),
        run.mtasts(&["check", "example.test", "--format", "json"])
    );
    let kind = match how {
        Failure::ServFail => "SERVFAIL",
        Failure::Refused => "REFUSED",
        Failure::Drop => "timeout",
    };
    let said = format!("{lookup} failed ({kind})");
    let f = fires(&report, "dns-error");
    assert_eq!(f.subject, subject, "{said}");
    assert!(f.message.contains(&said), "{said}: {}", f.message);
    for id in ABSENCE {
        silent(&report, id);
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("error") && l.contains("dns-error") && l.contains(&said)),
        "{said}:\n{stdout}"
    );
    for id in ABSENCE {
        assert!(!stdout.contains(id), "{id}:\n{stdout}");
    }
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    // The JSON lookup says it too, as data.
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON output");
    let error = kind.to_ascii_lowercase();
    let found = lookups(&doc, name);
    assert!(
        found
            .iter()
            .any(|l| l["status"] == "error" && l["error"] == error.as_str()),
        "{said}: {found:#?}"
    );
}

/// Every lookup of `name` in a JSON document.
fn lookups<'a>(v: &'a serde_json::Value, name: &str) -> Vec<&'a serde_json::Value> {
    match v {
        serde_json::Value::Object(o)
            if o.get("name").is_some_and(|n| n == name) && o.contains_key("status") =>
        {
            vec![v]
        }
        serde_json::Value::Object(o) => o.values().flat_map(|v| lookups(v, name)).collect(),
        serde_json::Value::Array(a) => a.iter().flat_map(|v| lookups(v, name)).collect(),
        _ => vec![],
    }
}

async fn sts_txt_fails(how: Failure) {
    let (name, lookup) = (
        "_mta-sts.example.test",
        "the TXT lookup of _mta-sts.example.test",
    );
    dns_error_not_absence(name, RecordType::TXT, how, Subject::StsRecord, lookup).await;
}

async fn tlsrpt_txt_fails(how: Failure) {
    let (name, lookup) = (
        "_smtp._tls.example.test",
        "the TXT lookup of _smtp._tls.example.test",
    );
    dns_error_not_absence(name, RecordType::TXT, how, Subject::TlsRptRecord, lookup).await;
}

async fn mx_lookup_fails(how: Failure) {
    let (name, lookup) = ("example.test", "the MX lookup of example.test");
    dns_error_not_absence(name, RecordType::MX, how, Subject::MxRecords, lookup).await;
}

async fn policy_host_a_fails(how: Failure) {
    let (name, lookup) = (
        "mta-sts.example.test",
        "the address lookup of mta-sts.example.test",
    );
    let subject = Subject::Policy { addr: None };
    dns_error_not_absence(name, RecordType::A, how, subject, lookup).await;
}

async fn mx_host_a_fails(how: Failure) {
    let (name, lookup) = ("mx2.example.test", "the address lookup of mx2.example.test");
    let subject = Subject::Mx {
        host: name.to_string(),
        addr: None,
    };
    dns_error_not_absence(name, RecordType::A, how, subject, lookup).await;
}

#[tokio::test]
async fn dns_error_fires_for_sts_txt_servfail() {
    sts_txt_fails(Failure::ServFail).await;
}

#[tokio::test]
async fn dns_error_fires_for_sts_txt_refused() {
    sts_txt_fails(Failure::Refused).await;
}

#[tokio::test]
async fn dns_error_fires_for_sts_txt_timeout() {
    sts_txt_fails(Failure::Drop).await;
}

#[tokio::test]
async fn dns_error_fires_for_tlsrpt_txt_servfail() {
    tlsrpt_txt_fails(Failure::ServFail).await;
}

#[tokio::test]
async fn dns_error_fires_for_tlsrpt_txt_refused() {
    tlsrpt_txt_fails(Failure::Refused).await;
}

#[tokio::test]
async fn dns_error_fires_for_tlsrpt_txt_timeout() {
    tlsrpt_txt_fails(Failure::Drop).await;
}

#[tokio::test]
async fn dns_error_fires_for_mx_servfail() {
    mx_lookup_fails(Failure::ServFail).await;
}

#[tokio::test]
async fn dns_error_fires_for_mx_refused() {
    mx_lookup_fails(Failure::Refused).await;
}

#[tokio::test]
async fn dns_error_fires_for_mx_timeout() {
    mx_lookup_fails(Failure::Drop).await;
}

#[tokio::test]
async fn dns_error_fires_for_policy_host_a_servfail() {
    policy_host_a_fails(Failure::ServFail).await;
}

#[tokio::test]
async fn dns_error_fires_for_policy_host_a_refused() {
    policy_host_a_fails(Failure::Refused).await;
}

#[tokio::test]
async fn dns_error_fires_for_policy_host_a_timeout() {
    policy_host_a_fails(Failure::Drop).await;
}

#[tokio::test]
async fn dns_error_fires_for_mx_host_a_servfail() {
    mx_host_a_fails(Failure::ServFail).await;
}

#[tokio::test]
async fn dns_error_fires_for_mx_host_a_refused() {
    mx_host_a_fails(Failure::Refused).await;
}

#[tokio::test]
async fn dns_error_fires_for_mx_host_a_timeout() {
    mx_host_a_fails(Failure::Drop).await;
}

#[tokio::test]
async fn mx_null_fires_and_nothing_is_probed() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.mx = vec![Mx::new(0, ".", &[])];
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "mx-null");
    assert_eq!(f.subject, Subject::MxRecords);
    assert_eq!(f.check.info().severity, Severity::Info);
    assert!(report.observations.mx_hosts.is_empty());
    // "." is not a host: no address lookup, no SMTP session.
    assert!(
        run.dns_queries()
            .iter()
            .all(|q| !matches!(q.rtype, RecordType::A | RecordType::AAAA)
                || q.name.starts_with("mta-sts.")),
        "{:?}",
        run.dns_queries()
    );
    for id in ABSENCE {
        silent(&report, id);
    }
    silent(&report, "mx-target-ip");
}

#[tokio::test]
async fn mx_implicit_fires_and_the_domain_itself_is_probed() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.mx.clear();
    d.zone.a("example.test", "192.0.2.25".parse().expect("ip"));
    d.set_policy(Response::policy(
        "version: STSv1\r\nmode: enforce\r\nmx: example.test\r\nmax_age: 604800\r\n",
    ));
    let mut run = w.start(d).await;
    run.serve_smtp("192.0.2.25", "example.test", Smtp::good())
        .await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "mx-implicit");
    assert_eq!(f.subject, Subject::MxRecords);
    assert_eq!(f.check.info().severity, Severity::Warning);
    assert_eq!(report.findings.len(), 1, "{:#?}", summary(&report));
    let hosts = &report.observations.mx_hosts;
    assert_eq!(hosts.len(), 1);
    assert_eq!(hosts[0].name, "example.test");
    assert!(
        hosts[0].probes.iter().all(|p| p.ehlo_after_tls.is_some()) && hosts[0].probes.len() == 1
    );
    assert_eq!(report.readiness.ready, Some(true));
    assert!(!run.smtp_commands("192.0.2.25").is_empty());
}

#[tokio::test]
async fn sts_mx_unmatched_fires_for_an_implicit_mx_missing_from_the_policy() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.mx.clear();
    d.zone.a("example.test", "192.0.2.25".parse().expect("ip"));
    let mut run = w.start(d).await;
    run.serve_smtp("192.0.2.25", "example.test", Smtp::good())
        .await;
    let report = audit(&run, "example.test").await;
    fires(&report, "mx-implicit");
    let f = fires(&report, "sts-mx-unmatched");
    assert_eq!(
        f.subject,
        Subject::Mx {
            host: "example.test".into(),
            addr: None
        }
    );
    assert_eq!(report.readiness.ready, Some(false));
}

#[tokio::test]
async fn mx_target_cname_fires_and_the_host_is_still_probed() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    // The CNAME hides mx2's own address record, which the lab serves too.
    d.zone
        .cname("mx2.example.test", "smtp.provider.test")
        .a("smtp.provider.test", "192.0.2.20".parse().expect("ip"));
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "mx-target-cname");
    assert_eq!(
        f.subject,
        Subject::Mx {
            host: "mx2.example.test".into(),
            addr: None
        }
    );
    assert!(
        f.message.contains("mx2.example.test → smtp.provider.test"),
        "{}",
        f.message
    );
    assert_eq!(report.findings.len(), 1, "{:#?}", summary(&report));
    assert!(!run.smtp_commands("192.0.2.20").is_empty());
}

#[tokio::test]
async fn mx_target_ip_fires_and_the_address_is_not_probed() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.mx[1] = Mx::new(20, "192.0.2.20", &[]);
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "mx-target-ip");
    assert_eq!(
        f.subject,
        Subject::Mx {
            host: "192.0.2.20".into(),
            addr: None
        }
    );
    assert!(f.message.contains("MX 20 192.0.2.20"), "{}", f.message);
    silent(&report, "mx-host-unresolvable");
    silent(&report, "dns-error");
    silent(&report, "sts-mx-unmatched"); // one mistake, one finding
    let host = &report.observations.mx_hosts[1];
    assert_eq!(host.name, "192.0.2.20");
    assert!(host.probes.is_empty());
    // Senders cannot deliver to it today either: enforcing the policy changes nothing there.
    assert_eq!(report.readiness.ready, Some(true));
}

#[tokio::test]
async fn mx_host_unresolvable_fires_for_a_host_that_does_not_exist() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.mx[1].addrs.clear();
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "mx-host-unresolvable");
    assert_eq!(
        f.subject,
        Subject::Mx {
            host: "mx2.example.test".into(),
            addr: None
        }
    );
    assert_eq!(f.message, "mx2.example.test does not exist");
    silent(&report, "dns-error");
    // Nothing is delivered to it today: enforcing the policy changes nothing for it.
    assert_eq!(report.readiness.ready, Some(true));
}

#[tokio::test]
async fn mx_host_unresolvable_fires_for_a_host_without_addresses() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.mx[1].addrs.clear();
    d.zone.txt("mx2.example.test", &["v=spf1 -all"]);
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "mx-host-unresolvable");
    assert_eq!(f.message, "mx2.example.test has no A or AAAA record");
    silent(&report, "dns-error");
}

#[tokio::test]
async fn mx_nxdomain_fires_for_a_domain_that_does_not_exist() {
    let mut w = World::new();
    let d = w.good_deployment("example.test");
    let run = w.start(d).await;
    let report = audit(&run, "missing.test").await;
    let f = fires(&report, "mx-nxdomain");
    assert_eq!(f.subject, Subject::MxRecords);
    assert!(f.message.contains("missing.test"), "{}", f.message);
    silent(&report, "mx-implicit");
    silent(&report, "dns-error");
    assert!(report.observations.mx_hosts.is_empty());
}

#[tokio::test]
async fn sts_mx_unmatched_silent_for_mx_names_in_upper_case() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    for mx in &mut d.mx {
        let lower = mx.name.clone();
        mx.name = lower.to_ascii_uppercase();
        for a in &mut mx.addrs {
            a.smtp = Smtp::good().cert(Cert::good().names(&[&lower]));
        }
    }
    d.set_policy(Response::policy(
        "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.test\r\nmx: mx2.example.test\r\nmax_age: 604800\r\n",
    ));
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    // The names really arrive in upper case.
    let DnsAnswer::Records(records) = &report.observations.mx.answer else {
        panic!("no MX records: {:?}", report.observations.mx);
    };
    assert_eq!(records[0].exchange, "MX1.EXAMPLE.TEST");
    crate::support::clean(&report);
    assert_eq!(report.readiness.ready, Some(true));
}

#[tokio::test]
async fn sts_host_dns_fires_when_the_policy_host_does_not_exist() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.policy_addrs.clear();
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "sts-host-dns");
    assert_eq!(f.subject, Subject::Policy { addr: None });
    assert_eq!(f.message, "mta-sts.example.test does not exist");
    silent(&report, "dns-error");
    assert_eq!(report.readiness.ready, Some(false));
}

#[tokio::test]
async fn sts_host_dns_fires_when_the_policy_host_has_no_address() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.policy_addrs.clear();
    d.zone.txt("mta-sts.example.test", &["v=spf1 -all"]);
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "sts-host-dns");
    assert_eq!(f.message, "mta-sts.example.test has no A or AAAA record");
}

#[tokio::test]
async fn sts_host_dns_fires_for_a_dangling_cname_and_names_it() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.policy_addrs.clear();
    d.zone.cname("mta-sts.example.test", "mta-sts.gone.test");
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "sts-host-dns");
    assert_eq!(
        f.message,
        "mta-sts.example.test is a CNAME to mta-sts.gone.test, which does not exist"
    );
    silent(&report, "dns-error");
}

#[tokio::test]
async fn mx_target_cname_fires_for_a_dangling_cname() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.mx[1].addrs.clear();
    d.zone.cname("mx2.example.test", "mx.gone.test");
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "mx-target-cname");
    assert!(
        f.message.contains("mx2.example.test → mx.gone.test"),
        "{}",
        f.message
    );
    let f = fires(&report, "mx-host-unresolvable");
    assert_eq!(
        f.subject,
        Subject::Mx {
            host: "mx2.example.test".into(),
            addr: None
        }
    );
    silent(&report, "dns-error");
}

#[tokio::test]
async fn dns_error_fires_for_a_cname_loop_at_mta_sts() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.sts_txt.clear();
    d.zone
        .cname("_mta-sts.example.test", "_mta-sts.provider.test")
        .cname("_mta-sts.provider.test", "_mta-sts.example.test");
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "dns-error");
    assert_eq!(f.subject, Subject::StsRecord);
    assert!(
        f.message
            .contains("failed (CNAME chain loops back to _mta-sts.example.test)"),
        "{}",
        f.message
    );
    silent(&report, "sts-txt-absent");
    silent(&report, "sts-txt-misplaced");
}

#[tokio::test]
async fn dns_error_fires_for_a_cname_chain_that_never_ends() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.tlsrpt_txt.clear();
    d.zone.cname("_smtp._tls.example.test", "c1.chain.test");
    for i in 1..12 {
        d.zone.cname(
            &format!("c{i}.chain.test"),
            &format!("c{}.chain.test", i + 1),
        );
    }
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "dns-error");
    assert_eq!(f.subject, Subject::TlsRptRecord);
    assert!(
        f.message
            .contains("failed (CNAME chain is longer than 8 links)"),
        "{}",
        f.message
    );
    silent(&report, "tlsrpt-absent");
}

#[tokio::test]
async fn dns_error_fires_once_for_a_cname_loop_at_the_policy_host() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.policy_addrs.clear();
    d.zone
        .cname("mta-sts.example.test", "web.provider.test")
        .cname("web.provider.test", "mta-sts.example.test");
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "dns-error");
    assert_eq!(f.subject, Subject::Policy { addr: None });
    assert_eq!(
        f.message,
        "the address lookup of mta-sts.example.test failed (CNAME chain loops back to mta-sts.example.test)"
    );
    silent(&report, "sts-host-dns");
}

#[tokio::test]
async fn dns_error_fires_once_when_both_policy_host_lookups_fail() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.zone.servfail("mta-sts.example.test");
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "dns-error");
    assert_eq!(
        f.message,
        "the address lookup of mta-sts.example.test failed (SERVFAIL)"
    );
    silent(&report, "sts-host-dns");
}

#[tokio::test]
async fn dns_error_fires_for_a_cname_loop_at_an_mx_host() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.mx[1].addrs.clear();
    d.zone
        .cname("mx2.example.test", "smtp.provider.test")
        .cname("smtp.provider.test", "mx2.example.test");
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let errors = fired(&report, "dns-error");
    assert!(!errors.is_empty(), "{:#?}", summary(&report));
    for f in errors {
        assert_eq!(
            f.message,
            "the address lookup of mx2.example.test failed (CNAME chain loops back to mx2.example.test)"
        );
    }
    silent(&report, "mx-host-unresolvable");
}

#[tokio::test]
async fn mx_nxdomain_fires_for_a_dangling_cname_and_names_it() {
    let mut w = World::new();
    let d = w.good_deployment("example.test");
    w.zone.cname("mail.example.test", "mail.gone.test");
    let run = w.start(d).await;
    let report = audit(&run, "mail.example.test").await;
    let f = fires(&report, "mx-nxdomain");
    assert_eq!(
        f.message,
        "mail.example.test is a CNAME to mail.gone.test, which does not exist (NXDOMAIN), so there is no MX, MTA-STS or TLS-RPT record to audit"
    );
    silent(&report, "dns-error");
}
