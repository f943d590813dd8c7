//! The MX hosts: coverage by the policy, and STARTTLS, TLS and certificates on every address.

use std::time::{Duration, Instant};

use crate::lab::{Cert, Response, Smtp, World};
use crate::support::{audit, fired, fires, mx_at, silent};

#[tokio::test]
async fn sts_mx_unmatched_fires_for_an_mx_missing_from_the_policy() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.set_policy(Response::policy(
        "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.test\r\nmax_age: 604800\r\n",
    ));
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "sts-mx-unmatched");
    assert_eq!(
        f.subject,
        mtasts::finding::Subject::Mx {
            host: "mx2.example.test".into(),
            addr: None
        }
    );
    assert_eq!(report.enforce_ready, Some(false));
}

#[tokio::test]
async fn wildcards_and_case_cover_mx_hosts() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.set_policy(Response::policy(
        "version: STSv1\nmode: enforce\nmx: *.EXAMPLE.test\nmax_age: 604800\n",
    ));
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    silent(&report, "sts-mx-unmatched");
    silent(&report, "sts-policy-mx-stale");
    assert_eq!(report.enforce_ready, Some(true));
}

#[tokio::test]
async fn sts_policy_mx_stale_fires_for_a_pattern_matching_no_mx() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.set_policy(Response::policy(
        "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.test\r\nmx: mx2.example.test\r\nmx: old.example.test\r\nmax_age: 604800\r\n",
    ));
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "sts-policy-mx-stale");
    assert!(f.message.contains("old.example.test"), "{}", f.message);
    assert_eq!(report.enforce_ready, Some(true));
}

#[tokio::test]
async fn smtp_starttls_missing_fires_on_the_one_address() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.mx[1].addrs[0].smtp = Smtp::good().no_starttls();
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "smtp-starttls-missing");
    assert_eq!(f.subject, mx_at("mx2.example.test", "192.0.2.20"));
    assert_eq!(
        f.check.info().result_type.map(|r| r.as_str()),
        Some("starttls-not-supported")
    );
    assert_eq!(report.enforce_ready, Some(false));
}

#[tokio::test]
async fn smtp_tls_handshake_fires_when_the_server_drops_the_handshake() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.mx[0].addrs[1].smtp = Smtp::good().close_after_starttls();
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "smtp-tls-handshake");
    assert_eq!(f.subject, mx_at("mx1.example.test", "2001:db8::10"));
}

#[tokio::test]
async fn mx_certificate_problems_fire_on_the_bad_address_only() {
    for (cert, id) in [
        (Cert::expired(), "smtp-cert-expired"),
        (Cert::not_yet_valid(), "smtp-cert-not-yet-valid"),
        (Cert::good().unknown_ca(), "smtp-cert-untrusted"),
        (Cert::good().self_signed(), "smtp-cert-self-signed"),
        (Cert::good().leaf_only(), "smtp-cert-chain-incomplete"),
        (
            Cert::good().names(&["smtp.other.test"]),
            "smtp-cert-hostname",
        ),
        (
            Cert::good().names(&["*.mx1.example.test"]),
            "smtp-cert-hostname",
        ),
        (Cert::expiring_in(5), "smtp-cert-expiring"),
    ] {
        let mut w = World::new();
        let mut d = w.good_deployment("example.test");
        d.mx[0].addrs[0].smtp = Smtp::good().cert(cert);
        let run = w.start(d).await;
        let report = audit(&run, "example.test").await;
        let f = fires(&report, id);
        assert_eq!(f.subject, mx_at("mx1.example.test", "192.0.2.10"), "{id}");
        assert!(
            fired(&report, id)
                .iter()
                .all(|f| f.subject.addr() == Some("192.0.2.10".parse().expect("ip")))
        );
        assert_eq!(
            report.enforce_ready,
            Some(id == "smtp-cert-expiring"),
            "{id}"
        );
    }
}

#[tokio::test]
async fn valid_certificate_variants_are_silent() {
    for cert in [
        Cert::good().names(&["*.example.test"]),
        Cert::good().with_root(),
        Cert::good().names(&["MX1.Example.Test"]),
    ] {
        let mut w = World::new();
        let mut d = w.good_deployment("example.test");
        d.mx[0].addrs[0].smtp = Smtp::good().cert(cert.clone());
        let run = w.start(d).await;
        let report = audit(&run, "example.test").await;
        crate::support::clean(&report);
    }
}

#[tokio::test]
async fn a_tarpitting_mx_ends_at_the_timeout_and_the_others_are_judged() {
    let mut w = World::new();
    w.timeout = Duration::from_millis(500);
    let mut d = w.good_deployment("example.test");
    d.mx[0].addrs[0].smtp = Smtp::good().tarpit();
    let run = w.start(d).await;
    let started = Instant::now();
    let report = audit(&run, "example.test").await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    let f = fires(&report, "smtp-banner-timeout");
    assert_eq!(f.subject, mx_at("mx1.example.test", "192.0.2.10"));
    // The other two addresses completed their sessions.
    let completed = report
        .observations
        .mx_hosts
        .iter()
        .flat_map(|h| &h.probes)
        .filter(|p| p.ehlo_after_tls.is_some())
        .count();
    assert_eq!(completed, 2);
}

#[tokio::test]
async fn the_tool_never_sends_mail() {
    let mut w = World::new();
    let d = w.good_deployment("example.test");
    let run = w.start(d).await;
    audit(&run, "example.test").await;
    let commands = run.all_smtp_commands();
    assert!(!commands.is_empty());
    for c in &commands {
        assert!(
            ["EHLO", "STARTTLS", "QUIT"].contains(&c.verb().as_str()),
            "sent {c:?}"
        );
    }
}
