//! The MX hosts: coverage by the policy, and STARTTLS, TLS and certificates on every address.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::lab::{Cert, KeyAlg, Mx, Response, Smtp, World};
use crate::support::{
    audit, fired, fires, json, mx_at, only_ehlo_starttls_quit, refused_now, silent, summary,
};

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
    assert_eq!(report.readiness.ready, Some(false));
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
    assert_eq!(report.readiness.ready, Some(true));
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
    assert_eq!(report.readiness.ready, Some(true));
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
    assert_eq!(report.readiness.ready, Some(false));
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
    // No certificate was seen, and none is judged; enforcing senders refuse the host now.
    refused_now(&report, "mx1.example.test");
    assert_eq!(summary(&report).len(), 2, "{:#?}", summary(&report));
}

#[tokio::test]
async fn mx_certificate_problems_fire_on_the_bad_address_only() {
    for (cert, id, says) in [
        (Cert::expired(), "smtp-cert-expired", "expired on"),
        (
            Cert::not_yet_valid(),
            "smtp-cert-not-yet-valid",
            "is valid only from",
        ),
        (
            Cert::good().unknown_ca(),
            "smtp-cert-untrusted",
            "does not lead to a trusted root",
        ),
        (
            Cert::good().self_signed(),
            "smtp-cert-self-signed",
            "self-signed",
        ),
        (
            Cert::good().leaf_only(),
            "smtp-cert-chain-incomplete",
            "did not send the certificate of the issuer CN=Lab Intermediate CA",
        ),
        (
            Cert::good().names(&["smtp.other.test"]),
            "smtp-cert-hostname",
            "does not cover mx1.example.test: its DNS names are smtp.other.test",
        ),
        (
            Cert::good().names(&["*.mx1.example.test"]),
            "smtp-cert-hostname",
            "its DNS names are *.mx1.example.test",
        ),
        (Cert::expiring_in(5), "smtp-cert-expiring", "expires on"),
    ] {
        let mut w = World::new();
        let mut d = w.good_deployment("example.test");
        d.mx[0].addrs[0].smtp = Smtp::good().cert(cert);
        let run = w.start(d).await;
        let report = audit(&run, "example.test").await;
        let f = fires(&report, id);
        assert_eq!(f.subject, mx_at("mx1.example.test", "192.0.2.10"), "{id}");
        assert!(f.message.contains(says), "{id}: {}", f.message);
        // The other address of the same host is fine: besides this one, only the host is
        // named, as refused by enforcing senders when the certificate fails validation.
        let fails = id != "smtp-cert-expiring";
        if fails {
            refused_now(&report, "mx1.example.test");
        }
        assert!(
            report.findings.iter().all(|f| f.subject.addr()
                == Some("192.0.2.10".parse().expect("ip"))
                || f.check.id() == "sts-enforce-mx-refused"),
            "{id}: {:#?}",
            summary(&report)
        );
        assert_eq!(report.findings.len(), 1 + usize::from(fails), "{id}");
        assert_eq!(
            report.readiness.ready,
            Some(id == "smtp-cert-expiring"),
            "{id}"
        );
        only_ehlo_starttls_quit(&run);
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

#[tokio::test]
async fn smtp_connect_refused_fires_on_the_ipv6_address_only() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.mx[0].addrs[1].smtp = Smtp::good().refused();
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "smtp-connect-refused");
    assert_eq!(f.subject, mx_at("mx1.example.test", "2001:db8::10"));
    assert_eq!(
        f.message,
        "mx1.example.test at 2001:db8::10 refused the connection on port 25"
    );
    // The IPv4 address of the same host, and the other host, passed: only this finding.
    assert_eq!(summary(&report).len(), 1, "{:#?}", summary(&report));
    silent(&report, "vantage-port25-blocked");
    // Its TLS could not be tested: enforcing changes nothing for an address senders cannot
    // reach, so readiness is unknown, not "no".
    assert_eq!(report.readiness.ready, None);
    assert_eq!(
        report.readiness.reasons[0].sentence,
        "mx1.example.test at 2001:db8::10: SMTP connection refused"
    );
    only_ehlo_starttls_quit(&run);
}

#[tokio::test]
async fn smtp_connect_timeout_fires_when_the_syn_goes_unanswered() {
    let mut w = World::new();
    w.timeout = Duration::from_millis(500);
    let mut d = w.good_deployment("example.test");
    d.mx[1].addrs[0].smtp = Smtp::good().connect_hangs();
    let run = w.start(d).await;
    let started = Instant::now();
    let report = audit(&run, "example.test").await;
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_millis(1500),
        "took {took:?}"
    );
    let f = fires(&report, "smtp-connect-timeout");
    assert_eq!(f.subject, mx_at("mx2.example.test", "192.0.2.20"));
    assert_eq!(
        f.message,
        "mx2.example.test at 192.0.2.20 did not answer on port 25 in time"
    );
    assert_eq!(summary(&report).len(), 1, "{:#?}", summary(&report));
    assert_eq!(report.readiness.ready, None);
    only_ehlo_starttls_quit(&run);
}

/// 3 MX hosts with 2 addresses each, `tarpits` of them tarpitting.
fn six_addresses(w: &mut World, tarpits: usize) -> crate::lab::Deployment {
    let mut d = w.good_deployment("example.test");
    d.mx = (1..=3)
        .map(|i| {
            let name = format!("mx{i}.example.test");
            Mx::new(
                i * 10,
                &name,
                &[&format!("192.0.2.{i}0"), &format!("2001:db8::{i}0")],
            )
        })
        .collect();
    d.set_policy(Response::policy(&d.good_policy()));
    for a in d.mx.iter_mut().flat_map(|m| &mut m.addrs).take(tarpits) {
        a.smtp = Smtp::good().tarpit();
    }
    d
}

#[tokio::test]
async fn smtp_banner_timeout_costs_one_timeout_not_one_per_address() {
    for tarpits in [1, 6] {
        let mut w = World::new();
        w.timeout = Duration::from_secs(1);
        let d = six_addresses(&mut w, tarpits);
        let run = w.start(d).await;
        let started = Instant::now();
        let report = audit(&run, "example.test").await;
        let took = started.elapsed();
        // Probes run concurrently: about one timeout, never one per address (6 s).
        assert!(
            took >= run.timeout && took < 2 * run.timeout,
            "{tarpits} tarpits: took {took:?}"
        );
        let timeouts = fired(&report, "smtp-banner-timeout");
        assert_eq!(timeouts.len(), tarpits, "{:#?}", summary(&report));
        assert_eq!(timeouts[0].subject, mx_at("mx1.example.test", "192.0.2.10"));
        assert_eq!(summary(&report).len(), tarpits, "{:#?}", summary(&report));
        let completed = report
            .observations
            .mx_hosts
            .iter()
            .flat_map(|h| &h.probes)
            .filter(|p| p.ehlo_after_tls.as_ref().is_some_and(|r| r.code == 250))
            .count();
        assert_eq!(completed, 6 - tarpits, "the other addresses were judged");
        only_ehlo_starttls_quit(&run);
    }
}

#[tokio::test]
async fn smtp_greeting_fires_for_4xx_and_5xx_and_nothing_but_quit_follows() {
    for banner in ["421 4.3.2 too busy", "554 5.7.1 no service here"] {
        let mut w = World::new();
        let mut d = w.good_deployment("example.test");
        d.mx[0].addrs[0].smtp = Smtp::good().banner(banner);
        let run = w.start(d).await;
        let report = audit(&run, "example.test").await;
        let f = fires(&report, "smtp-greeting");
        assert_eq!(f.subject, mx_at("mx1.example.test", "192.0.2.10"));
        assert_eq!(
            f.message,
            format!("mx1.example.test at 192.0.2.10 greeted with \"{banner}\"")
        );
        assert_eq!(summary(&report).len(), 1, "{:#?}", summary(&report));
        assert_eq!(verbs(&run, "192.0.2.10").await, ["QUIT"]);
        assert_eq!(
            report.readiness.ready, None,
            "it refuses mail today already"
        );
    }
}

/// The command words the server at `ip` received, in order, once the session ended with
/// QUIT: the tool does not wait for QUIT's reply, so the server may read it a moment after
/// the audit returned.
async fn verbs(run: &crate::lab::Run, ip: &str) -> Vec<String> {
    let verbs = || -> Vec<String> { run.smtp_commands(ip).iter().map(|c| c.verb()).collect() };
    for _ in 0..200 {
        if verbs().last().is_some_and(|v| v == "QUIT") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    verbs()
}

#[tokio::test]
async fn smtp_ehlo_fires_and_no_helo_is_tried() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.mx[1].addrs[0].smtp = Smtp::good().ehlo_reply("500 5.5.1 command unrecognized");
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "smtp-ehlo");
    assert_eq!(f.subject, mx_at("mx2.example.test", "192.0.2.20"));
    assert!(
        f.message
            .contains("rejected EHLO with \"500 5.5.1 command unrecognized\""),
        "{}",
        f.message
    );
    silent(&report, "smtp-starttls-missing");
    assert_eq!(verbs(&run, "192.0.2.20").await, ["EHLO", "QUIT"]);
    assert_eq!(report.readiness.ready, Some(false));
    only_ehlo_starttls_quit(&run);
}

#[tokio::test]
async fn smtp_starttls_reply_fires_for_454() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.mx[0].addrs[1].smtp = Smtp::good().starttls_reply("454 4.7.0 TLS not available");
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "smtp-starttls-reply");
    assert_eq!(f.subject, mx_at("mx1.example.test", "2001:db8::10"));
    assert_eq!(
        f.message,
        "mx1.example.test at 2001:db8::10 answered STARTTLS with \"454 4.7.0 TLS not available\""
    );
    refused_now(&report, "mx1.example.test");
    assert_eq!(summary(&report).len(), 2, "{:#?}", summary(&report));
    assert_eq!(
        verbs(&run, "2001:db8::10").await,
        ["EHLO", "STARTTLS", "QUIT"]
    );
    assert_eq!(report.readiness.ready, Some(false));
}

#[tokio::test]
async fn smtp_starttls_injection_fires_for_plaintext_after_the_220() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.mx[1].addrs[0].smtp = Smtp::good().inject_after_starttls(b"250 injected\r\n");
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "smtp-starttls-injection");
    assert_eq!(f.subject, mx_at("mx2.example.test", "192.0.2.20"));
    assert!(
        f.message
            .contains("sent 14 bytes of plaintext after its 220 reply to STARTTLS: \"250 injected"),
        "{}",
        f.message
    );
    // The injected bytes were not taken for the handshake: TLS still completed.
    let probe = &report.observations.mx_hosts[1].probes[0];
    assert_eq!(probe.injected, b"250 injected\r\n");
    assert!(probe.ehlo_after_tls.as_ref().is_some_and(|r| r.code == 250));
    // An error, yet enforcing senders still deliver: TLS itself succeeded.
    assert_eq!(report.verdict, mtasts::finding::Verdict::Fail);
    assert_eq!(report.readiness.ready, Some(true));
    only_ehlo_starttls_quit(&run);
}

#[tokio::test]
async fn smtp_ehlo_after_tls_fires_when_ehlo_inside_tls_is_refused() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.mx[0].addrs[0].smtp = Smtp::good().ehlo_after_tls_reply("554 5.7.0 go away");
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "smtp-ehlo-after-tls");
    assert_eq!(f.subject, mx_at("mx1.example.test", "192.0.2.10"));
    assert_eq!(
        f.message,
        "mx1.example.test at 192.0.2.10 answered EHLO inside TLS with \"554 5.7.0 go away\""
    );
    refused_now(&report, "mx1.example.test");
    assert_eq!(summary(&report).len(), 2, "{:#?}", summary(&report));
    verbs(&run, "192.0.2.10").await;
    let inside: Vec<_> = run
        .smtp_commands("192.0.2.10")
        .into_iter()
        .filter(|c| c.tls)
        .map(|c| c.verb())
        .collect();
    assert_eq!(inside, ["EHLO", "QUIT"]);
    assert_eq!(report.readiness.ready, Some(false));
}

#[tokio::test]
async fn smtp_cert_hostname_fires_for_a_cn_only_certificate() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.mx[0].addrs[0].smtp = Smtp::good().cert(Cert::good().cn_only());
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "smtp-cert-hostname");
    assert_eq!(f.subject, mx_at("mx1.example.test", "192.0.2.10"));
    assert_eq!(
        f.message,
        "mx1.example.test at 192.0.2.10: the certificate does not cover mx1.example.test: its DNS names are none; only the subject CN matches, and senders use the subject alternative names"
    );
    refused_now(&report, "mx1.example.test");
    assert_eq!(summary(&report).len(), 2, "{:#?}", summary(&report));
}

#[tokio::test]
async fn smtp_cert_hostname_fires_for_a_wildcard_two_labels_short() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.mx[0].name = "mx1.eu.example.test".into();
    d.set_policy(Response::policy(&d.good_policy()));
    d.mx[0].addrs[1].smtp = Smtp::good().cert(Cert::good().names(&["*.example.test"]));
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "smtp-cert-hostname");
    assert_eq!(f.subject, mx_at("mx1.eu.example.test", "2001:db8::10"));
    assert_eq!(
        f.message,
        "mx1.eu.example.test at 2001:db8::10: the certificate does not cover mx1.eu.example.test: its DNS names are *.example.test"
    );
    refused_now(&report, "mx1.eu.example.test");
    assert_eq!(summary(&report).len(), 2, "{:#?}", summary(&report));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_cert_expiring_follows_expiry_warning() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.mx[1].addrs[0].smtp = Smtp::good().cert(Cert::expiring_in(20));
    let run = w.start(d).await;
    let report = |days| {
        let cfg = run.config();
        async move {
            let domains = ["example.test".to_string()];
            crate::support::audit_all(&domains, &cfg, days)
                .await
                .remove(0)
        }
    };
    crate::support::clean(&report(14).await);
    let soon = report(30).await;
    let f = fires(&soon, "smtp-cert-expiring");
    assert_eq!(f.subject, mx_at("mx2.example.test", "192.0.2.20"));
    assert!(
        f.message.starts_with(
            "mx2.example.test at 192.0.2.20: the certificate CN=mx2.example.test expires on "
        ),
        "{}",
        f.message
    );
    assert_eq!(soon.readiness.ready, Some(true), "a warning only");

    let out = run
        .mtasts(&[
            "check",
            "example.test",
            "--expiry-warning",
            "30",
            "--format",
            "json",
        ])
        .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "a warning does not fail by default"
    );
    let doc = json(&out);
    assert_eq!(doc["domains"][0]["findings"][0]["id"], "smtp-cert-expiring");
    assert_eq!(
        doc["domains"][0]["findings"][0]["subject"]["address"],
        "192.0.2.20"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_details_are_reported_for_ecdsa_p256_and_ed25519() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.mx[0].addrs[0].smtp =
        Smtp::good().cert(Cert::good().names(&["mx1.example.test", "smtp.example.test"]));
    d.mx[1].addrs[0].smtp = Smtp::good().cert(Cert::good().key(KeyAlg::Ed25519));
    let run = w.start(d).await;
    let out = run
        .mtasts(&["check", "example.test", "--format", "json"])
        .await;
    assert_eq!(out.status.code(), Some(0));
    let doc = json(&out);
    let chain =
        |mx: usize| doc["domains"][0]["mx"][mx]["addresses"][0]["tls"]["certificates"].clone();

    let p256 = chain(0);
    let leaf = &p256[0];
    assert_eq!(leaf["subject"], "CN=mx1.example.test");
    assert_eq!(leaf["issuer"], "CN=Lab Intermediate CA");
    assert_eq!(
        leaf["dns_names"],
        json!(["mx1.example.test", "smtp.example.test"])
    );
    assert_eq!(leaf["key_type"], "EC");
    assert_eq!(leaf["key_bits"], 256);
    assert_eq!(leaf["signature_algorithm"], "ecdsa-with-SHA256");
    // Minted valid from 30 days ago to 60 days from now.
    let days_left = leaf["days_left"].as_i64().expect("days_left");
    assert!((59..=60).contains(&days_left), "{days_left}");
    let (not_before, not_after) = (
        leaf["not_before"].as_str().expect("not_before"),
        leaf["not_after"].as_str().expect("not_after"),
    );
    for t in [not_before, not_after] {
        assert!(
            t.len() == 20 && t.ends_with('Z') && t.as_bytes()[10] == b'T',
            "{t}"
        );
    }
    assert!(not_before < not_after);
    let sha256 = leaf["sha256"].as_str().expect("sha256");
    assert!(sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit()));
    // The intermediate follows, as sent.
    assert_eq!(p256[1]["subject"], "CN=Lab Intermediate CA");
    assert_eq!(p256[1]["issuer"], "CN=Lab Root CA");
    assert_eq!(p256[1]["dns_names"], json!([]));

    let ed = chain(1);
    assert_eq!(ed[0]["subject"], "CN=mx2.example.test");
    assert_eq!(ed[0]["key_type"], "Ed25519");
    assert_eq!(ed[0]["key_bits"], serde_json::Value::Null);
    assert_eq!(
        ed[0]["signature_algorithm"], "ecdsa-with-SHA256",
        "signed by the intermediate"
    );

    let out = run.mtasts(&["check", "example.test", "-v"]).await;
    let text = String::from_utf8(out.stdout).expect("utf-8");
    // The address line, and with -v the certificate lines under it.
    let block = |addr: &str| {
        let start = text
            .find(&format!("  {addr}  "))
            .unwrap_or_else(|| panic!("no line for {addr}:\n{text}"));
        let rest = &text[start + 2..];
        let end = rest
            .find("\n  1")
            .or_else(|| rest.find("\n  2"))
            .unwrap_or(rest.len());
        rest[..end].to_string()
    };
    let v4 = block("192.0.2.10");
    for part in [
        format!(
            "cert mx1.example.test smtp.example.test until {}",
            &not_after[..10]
        ),
        "certificate  CN=mx1.example.test  DNS: mx1.example.test, smtp.example.test".into(),
        "issuer CN=Lab Intermediate CA".into(),
        format!("to {} (", &not_after[..10]),
        " days left); EC 256 (P-256); ecdsa-with-SHA256".into(),
        "issued by    CN=Lab Intermediate CA".into(),
    ] {
        assert!(v4.contains(&part), "{part:?} missing from {v4:?}");
    }
    let ed = block("192.0.2.20");
    assert!(
        ed.contains("days left); Ed25519; ecdsa-with-SHA256"),
        "no stray space for a key without a size: {ed}"
    );
}

#[tokio::test]
async fn smtp_closed_fires_when_the_server_hangs_up_before_its_greeting() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.mx[1].addrs[0].smtp = Smtp::good().close_on_connect();
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "smtp-closed");
    assert_eq!(f.subject, mx_at("mx2.example.test", "192.0.2.20"));
    assert!(
        f.message.contains("waiting for the greeting"),
        "{}",
        f.message
    );
    assert_eq!(report.readiness.ready, None);
}
