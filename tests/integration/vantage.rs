//! Limits of the vantage point: port 25 blocked here, an address family without a route,
//! --skip-mx, --ipv4-only and --ipv6-only.

use std::time::Duration;

use serde_json::{Value, json};

use crate::lab::{Run, Smtp, World};
use crate::support::{
    audit, fired, fires, ids, json, mx_at, only_ehlo_starttls_quit, silent, summary,
};

/// The ids of a domain's findings in the JSON document.
/// Connections every SMTP server of the world accepted, by address.
fn connections(run: &Run) -> Vec<(String, usize)> {
    run.smtp
        .iter()
        .map(|(ip, s)| (ip.to_string(), s.connections()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vantage_port25_blocked_when_no_mx_address_answers() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.set_smtp(Smtp::good().refused());
    let run = w.start(d).await;
    let out = run
        .mtasts(&["check", "example.test", "--format", "json"])
        .await;
    assert_eq!(
        out.status.code(),
        Some(2),
        "the audit could not run in full"
    );
    let doc = json(&out);
    let domain = &doc["domains"][0];
    assert_eq!(
        ids(domain),
        ["vantage-port25-blocked"],
        "DNS and the policy are good"
    );
    assert_eq!(
        domain["findings"][0]["subject"],
        json!({"kind": "vantage", "name": "this network", "address": null})
    );
    assert_eq!(
        domain["findings"][0]["message"],
        "no address of any MX host answered on port 25 (3 tried) while DNS worked: outbound port 25 appears blocked from this network, so the MX hosts of example.test could not be checked"
    );
    assert_eq!(domain["enforce_ready"], Value::Null);
    assert_eq!(
        domain["mx"][0]["addresses"][0]["failure"]["step"],
        "connect"
    );

    let out = run.mtasts(&["check", "example.test"]).await;
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(text.contains("vantage-port25-blocked"), "{text}");
    assert!(
        text.trim_end().ends_with(
            "enforce-ready: unknown (outbound port 25 appears blocked from this network)"
        ),
        "{text}"
    );
}

#[tokio::test]
async fn vantage_port25_blocked_when_every_connect_times_out() {
    // A firewall that drops port 25 looks like this: no refusal, just silence.
    let mut w = World::new();
    w.timeout = Duration::from_millis(500);
    let mut d = w.good_deployment("example.test");
    d.set_smtp(Smtp::good().connect_hangs());
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "vantage-port25-blocked");
    assert_eq!(f.subject, mtasts::finding::Subject::Vantage);
    silent(&report, "smtp-connect-timeout");
    assert_eq!(summary(&report).len(), 1, "{:#?}", summary(&report));
    assert_eq!(report.readiness.ready, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skip_mx_audits_dns_and_the_policy_only() {
    // The world where port 25 looks blocked: --skip-mx makes it a plain pass.
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.set_smtp(Smtp::good().refused());
    let run = w.start(d).await;
    let out = run
        .mtasts(&["check", "example.test", "--skip-mx", "--format", "json"])
        .await;
    assert_eq!(out.status.code(), Some(0));
    let doc = json(&out);
    let domain = &doc["domains"][0];
    // Not a clean pass: what was not looked at is said.
    assert_eq!(ids(domain), ["audit-mx-skipped"]);
    assert_eq!(domain["verdict"], "pass");
    assert_eq!(
        domain["readiness"]["reasons"][0]["sentence"],
        "MX hosts not checked (--skip-mx)"
    );
    assert_eq!(
        domain["enforce_ready"],
        Value::Null,
        "the MX hosts were not checked"
    );
    for mx in domain["mx"].as_array().expect("mx") {
        assert_eq!(mx["addresses"], json!([]));
        assert_eq!(mx["tlsa"], Value::Null);
    }

    // With servers that do listen, not one connection is made.
    let mut w = World::new();
    let d = w.good_deployment("example.test");
    let run = w.start(d).await;
    let out = run.mtasts(&["check", "example.test", "--skip-mx"]).await;
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(text.contains("SMTP checks skipped (--skip-mx)"), "{text}");
    assert!(
        text.trim_end().ends_with(
            "example.test: PASS  0 errors, 0 warnings, 1 info (MX hosts not checked: --skip-mx); enforce-ready: unknown (MX hosts not checked (--skip-mx))"
        ),
        "{text}"
    );
    assert!(
        connections(&run).iter().all(|(_, n)| *n == 0),
        "{:?}",
        connections(&run)
    );
    assert!(run.all_smtp_commands().is_empty());
    assert_eq!(
        run.https_requests("192.0.2.80").len(),
        1,
        "the policy was fetched"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vantage_port25_blocked_is_not_claimed_when_another_domain_reached_port_25() {
    let mut w = World::new();
    let a = w.good_deployment("a.test");
    let mut b = w.good_deployment("b.test");
    b.set_smtp(Smtp::good().refused());
    let run = w.start_all(vec![a, b]).await;
    let domains = ["a.test".to_string(), "b.test".to_string()];
    let reports = crate::support::audit_all(&domains, &run.config(), 14).await;
    crate::support::clean(&reports[0]);
    let b = &reports[1];
    silent(b, "vantage-port25-blocked");
    let refused = fired(b, "smtp-connect-refused");
    let subjects: Vec<_> = refused.iter().map(|f| f.subject.clone()).collect();
    assert_eq!(
        subjects,
        [
            mx_at("mx1.b.test", "203.0.113.1"),
            mx_at("mx1.b.test", "2001:db8:1::10"),
            mx_at("mx2.b.test", "192.0.2.101"),
        ]
    );
    assert_eq!(summary(b).len(), 3, "{:#?}", summary(b));
    assert_eq!(b.readiness.ready, None, "no address could be tested");

    let out = run.mtasts(&["check", "a.test", "b.test", "-q"]).await;
    assert_ne!(out.status.code(), Some(2), "port 25 is open here");
    only_ehlo_starttls_quit(&run);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv4_only_and_ipv6_only_probe_only_that_family() {
    for (flag, probed) in [
        ("--ipv4-only", &["192.0.2.10", "192.0.2.20"][..]),
        ("--ipv6-only", &["2001:db8::10"][..]),
    ] {
        let mut w = World::new();
        let d = w.good_deployment("example.test");
        let run = w.start(d).await;
        let out = run
            .mtasts(&["check", "example.test", flag, "--format", "json"])
            .await;
        let doc = json(&out);
        let seen: Vec<String> = connections(&run)
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(ip, _)| ip)
            .collect();
        assert_eq!(seen, probed, "{flag}");
        let addresses: Vec<&str> = doc["domains"][0]["mx"]
            .as_array()
            .expect("mx")
            .iter()
            .flat_map(|mx| mx["addresses"].as_array().expect("addresses"))
            .map(|a| a["address"].as_str().expect("address"))
            .collect();
        assert_eq!(addresses, probed, "{flag}");
        only_ehlo_starttls_quit(&run);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vantage_family_skipped_names_every_address_left_out_and_readiness_is_unknown() {
    // The good deployment's policy host and mx2 have IPv4 addresses only.
    let mut w = World::new();
    let d = w.good_deployment("example.test");
    let run = w.start(d).await;
    let out = run
        .mtasts(&["check", "example.test", "--ipv6-only", "--format", "json"])
        .await;
    assert_eq!(out.status.code(), Some(0), "not a failure of the domain");
    let doc = json(&out);
    let domain = &doc["domains"][0];
    assert_eq!(ids(domain), ["vantage-family-skipped"]);
    assert_eq!(
        domain["findings"][0]["message"],
        "these addresses were left out by --ipv4-only/--ipv6-only and not checked: mta-sts.example.test 192.0.2.80, mx1.example.test 192.0.2.10, mx2.example.test 192.0.2.20"
    );
    // Neither the policy nor mx2 could be checked: no claim either way.
    assert_eq!(domain["enforce_ready"], Value::Null);

    let out = run
        .mtasts(&["check", "example.test", "--ipv4-only", "--format", "json"])
        .await;
    let doc = json(&out);
    assert_eq!(ids(&doc["domains"][0]), ["vantage-family-skipped"]);
    assert_eq!(doc["domains"][0]["enforce_ready"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vantage_family_unreachable_when_this_network_has_no_route() {
    // Linux answers a TCP connect to a multicast address with ENETUNREACH before any
    // packet is sent: what a host without IPv6 routes gets for every IPv6 address.
    let no_route = "[2001:db8::10]:25:[ff02::1]:25";
    let mut w = World::new();
    let d = w.good_deployment("example.test");
    let run = w.start(d).await;
    let out = run
        .mtasts(&[
            "check",
            "example.test",
            "--connect-to",
            no_route,
            "--format",
            "json",
        ])
        .await;
    assert_eq!(out.status.code(), Some(0), "not a server failure");
    let doc = json(&out);
    let domain = &doc["domains"][0];
    assert_eq!(ids(domain), ["vantage-family-unreachable"]);
    assert_eq!(
        domain["findings"][0]["subject"],
        json!({"kind": "vantage", "name": "this network", "address": null})
    );
    assert_eq!(
        domain["findings"][0]["message"],
        "this network has no route to these addresses, so they were not checked: mx1.example.test 2001:db8::10"
    );
    assert_eq!(domain["enforce_ready"], Value::Null);
    assert_eq!(run.smtp("2001:db8::10").connections(), 0);

    // IPv4 refused everywhere and IPv6 unroutable: port 25 looks blocked.
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.set_smtp(Smtp::good().refused());
    let run = w.start(d).await;
    let mut cfg = run.config();
    cfg.connect_to.insert(0, no_route.parse().expect("a rule"));
    let report = crate::support::audit_all(&["example.test".to_string()], &cfg, 14)
        .await
        .remove(0);
    let blocked = fires(&report, "vantage-port25-blocked");
    assert!(blocked.message.contains("(3 tried)"), "{}", blocked.message);
    fires(&report, "vantage-family-unreachable");
    assert_eq!(summary(&report).len(), 2, "{:#?}", summary(&report));
    assert_eq!(report.readiness.ready, None);
}
