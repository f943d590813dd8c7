//! The policy: fetched from every address of `mta-sts.DOMAIN` the way senders fetch it,
//! then parsed.

use std::time::{Duration, Instant};

use mtasts::finding::Subject;
use mtasts::limits::MAX_POLICY_BYTES;

use crate::lab::{Cert, Deployment, Handler, Https, Mx, PolicyAddr, Response, World};
use crate::support::{audit, clean, fires, silent, summary};

const MX_LINES: &str = "mx: mx1.example.test\r\nmx: mx2.example.test\r\n";

#[tokio::test]
async fn sts_host_connect_fires_when_refused() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.policy_addrs[0].https = Https::refused();
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    fires(&report, "sts-host-connect");
    assert_eq!(report.readiness.ready, Some(false));
}

#[tokio::test]
async fn sts_host_tls_fires_when_port_443_speaks_plain_http() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.policy_addrs[0].https = Https::plain_http();
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "sts-host-tls");
    assert!(f.message.contains("mta-sts.example.test"), "{}", f.message);
    silent(&report, "sts-fetch-timeout");
}

#[tokio::test]
async fn policy_host_certificate_problems_fire() {
    for (cert, id) in [
        (Cert::expired(), "sts-host-cert-expired"),
        (Cert::not_yet_valid(), "sts-host-cert-not-yet-valid"),
        (
            Cert::good().names(&["www.example.test"]),
            "sts-host-cert-name",
        ),
        (Cert::good().unknown_ca(), "sts-host-cert-untrusted"),
        (Cert::good().self_signed(), "sts-host-cert-untrusted"),
        (Cert::expiring_in(3), "sts-host-cert-expiring"),
    ] {
        let mut w = World::new();
        let mut d = w.good_deployment("example.test");
        let https = d.policy_addrs[0].https.clone();
        d.policy_addrs[0].https = https.cert(cert);
        let run = w.start(d).await;
        let report = audit(&run, "example.test").await;
        let f = fires(&report, id);
        assert_eq!(
            f.check.info().result_type.is_some(),
            id != "sts-host-cert-expiring",
            "{id}"
        );
        // The body was still read: the report shows what senders are refused.
        assert!(report.policy.as_ref().is_some_and(|p| p.valid), "{id}");
    }
}

#[tokio::test]
async fn wildcard_certificate_for_the_policy_host_is_fine() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    let https = d.policy_addrs[0].https.clone();
    d.policy_addrs[0].https = https.cert(Cert::good().names(&["*.example.test"]));
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    crate::support::clean(&report);
}

#[tokio::test]
async fn sts_fetch_status_fires_on_404() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.set_policy(Response::status(404));
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "sts-fetch-status");
    assert!(f.message.contains("404"), "{}", f.message);
    assert!(report.policy.is_none());
}

#[tokio::test]
async fn sts_fetch_redirect_fires_and_is_never_followed() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.set_policy(Response::redirect(
        301,
        "https://mta-sts.example.test/mta-sts.txt",
    ));
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "sts-fetch-redirect");
    assert!(
        f.message
            .contains("https://mta-sts.example.test/mta-sts.txt"),
        "{}",
        f.message
    );
    let requests = run.https_requests("192.0.2.80");
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].path, "/.well-known/mta-sts.txt");
}

#[tokio::test]
async fn sts_policy_mode_fires_on_a_misspelt_mode() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.set_policy(Response::policy(&format!(
        "version: STSv1\r\nmode: enforced\r\n{MX_LINES}max_age: 604800\r\n"
    )));
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    fires(&report, "sts-policy-mode");
    assert_eq!(report.readiness.ready, Some(false));
}

#[tokio::test]
async fn testing_mode_is_info_and_says_whether_enforce_is_safe() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.set_policy(Response::policy(&format!(
        "version: STSv1\nmode: testing\n{MX_LINES}max_age: 604800\n"
    )));
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "sts-policy-mode-testing");
    assert!(f.message.contains("is safe"), "{}", f.message);
    assert_eq!(report.verdict, mtasts::finding::Verdict::Pass);

    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.set_policy(Response::policy(&format!(
        "version: STSv1\nmode: testing\n{MX_LINES}max_age: 604800\n"
    )));
    d.mx[1].addrs[0].smtp = crate::lab::Smtp::good().no_starttls();
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "sts-policy-mode-testing");
    assert!(f.message.contains("NOT safe"), "{}", f.message);
}

#[tokio::test]
async fn mode_none_is_a_warning() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.set_policy(Response::policy(
        "version: STSv1\r\nmode: none\r\nmax_age: 86400\r\n",
    ));
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    fires(&report, "sts-policy-mode-none");
    silent(&report, "sts-policy-mx-missing");
    silent(&report, "sts-mx-unmatched");
    assert_eq!(report.verdict, mtasts::finding::Verdict::Warn);
}

#[tokio::test]
async fn a_hanging_policy_fetch_ends_at_the_timeout_and_the_rest_is_judged() {
    let mut w = World::new();
    w.timeout = Duration::from_millis(500);
    let mut d = w.good_deployment("example.test");
    d.policy_addrs[0].https = Https::silent();
    let run = w.start(d).await;
    let started = Instant::now();
    let report = audit(&run, "example.test").await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    fires(&report, "sts-fetch-timeout");
    // Every MX address was still probed and passed.
    assert_eq!(
        report
            .observations
            .mx_hosts
            .iter()
            .map(|h| h.probes.len())
            .sum::<usize>(),
        3
    );
    assert!(
        report
            .findings
            .iter()
            .all(|f| !f.check.id().starts_with("smtp-"))
    );
}

/// The good deployment's policy, with LF line endings or CRLF.
fn policy_text(mode: &str, max_age: u64, eol: &str) -> String {
    format!(
        "version: STSv1{eol}mode: {mode}{eol}mx: mx1.example.test{eol}mx: mx2.example.test{eol}max_age: {max_age}{eol}"
    )
}

fn good_text() -> String {
    policy_text("enforce", 604800, "\r\n")
}

#[tokio::test]
async fn sts_fetch_media_type_fires_for_text_html() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.set_policy(
        Response::status(200)
            .header("Content-Type", "text/html")
            .body(good_text()),
    );
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "sts-fetch-media-type");
    assert!(f.message.contains("text/html"), "{}", f.message);
    silent(&report, "sts-fetch-charset");
    assert_eq!(report.readiness.ready, Some(false));
}

#[tokio::test]
async fn sts_fetch_media_type_silent_for_text_plain_utf8() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.set_policy(
        Response::status(200)
            .header("Content-Type", "text/plain; charset=utf-8")
            .body(good_text()),
    );
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    clean(&report);
}

#[tokio::test]
async fn sts_fetch_charset_fires_for_iso_8859_1() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.set_policy(
        Response::status(200)
            .header("Content-Type", "text/plain; charset=iso-8859-1")
            .body(good_text()),
    );
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "sts-fetch-charset");
    assert!(f.message.contains("iso-8859-1"), "{}", f.message);
    silent(&report, "sts-fetch-media-type");
    assert_eq!(report.findings.len(), 1, "{:#?}", summary(&report));
}

#[tokio::test]
async fn sts_fetch_size_fires_for_a_body_over_64_kib() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    let mut body = good_text();
    body.push_str(&"#".repeat(70 * 1024));
    d.set_policy(Response::policy(&body));
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    fires(&report, "sts-fetch-size");
    let fetch = &only_fetches(&report)[0];
    let resp = fetch.result.as_ref().expect("a response");
    assert!(resp.body_truncated);
    assert_eq!(resp.body.len(), MAX_POLICY_BYTES);
    assert!(report.policy.is_none());
    assert_eq!(report.readiness.ready, Some(false));
}

#[tokio::test]
async fn sts_fetch_size_fires_for_an_endless_body_without_waiting_for_its_end() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.set_policy(Response::endless());
    let run = w.start(d).await;
    let started = Instant::now();
    let report = audit(&run, "example.test").await;
    // The timeout is 2 s: reading on until then would show as sts-fetch-timeout.
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );
    fires(&report, "sts-fetch-size");
    silent(&report, "sts-fetch-timeout");
    let resp = only_fetches(&report)[0]
        .result
        .as_ref()
        .expect("a response");
    assert_eq!(resp.body.len(), MAX_POLICY_BYTES);
}

#[tokio::test]
async fn sts_fetch_size_silent_at_exactly_64_kib() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    let mut body = good_text();
    let filler = MAX_POLICY_BYTES - body.len() - "x-filler: \r\n".len();
    body.push_str(&format!("x-filler: {}\r\n", "a".repeat(filler)));
    assert_eq!(body.len(), MAX_POLICY_BYTES);
    d.set_policy(Response::policy(&body));
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    silent(&report, "sts-fetch-size");
    assert!(report.policy.as_ref().is_some_and(|p| p.valid));
}

/// The fetches with the MTA's User-Agent, one per address.
fn only_fetches(report: &mtasts::judge::DomainReport) -> &[mtasts::observe::PolicyFetch] {
    match &report.observations.policy {
        mtasts::observe::PolicySource::Fetched(f) => &f.fetches,
        other => panic!("no fetch: {other:?}"),
    }
}

const V4: &str = "192.0.2.80";
const V6: &str = "2001:db8::80";

/// The good deployment with a second policy address, IPv6, serving `https`.
fn with_ipv6_policy_address(w: &mut World, https: Https) -> Deployment {
    let mut d = w.good_deployment("example.test");
    d.policy_addrs.push(PolicyAddr {
        ip: V6.parse().expect("ip"),
        https,
    });
    d
}

#[tokio::test]
async fn sts_fetch_inconsistent_silent_when_every_address_serves_the_policy() {
    let mut w = World::new();
    let d = with_ipv6_policy_address(&mut w, Https::new(Response::policy(&good_text())));
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    clean(&report);
    for ip in [V4, V6] {
        let requests = run.https_requests(ip);
        assert_eq!(requests.len(), 1, "{ip}");
        assert_eq!(
            requests[0].sni.as_deref(),
            Some("mta-sts.example.test"),
            "{ip}"
        );
        assert_eq!(
            requests[0].header("host"),
            Some("mta-sts.example.test"),
            "{ip}"
        );
    }
}

#[tokio::test]
async fn sts_fetch_inconsistent_fires_when_one_address_serves_another_policy() {
    let mut w = World::new();
    let stale = policy_text("testing", 604800, "\r\n");
    let d = with_ipv6_policy_address(&mut w, Https::new(Response::policy(&stale)));
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "sts-fetch-inconsistent");
    assert_eq!(f.subject, Subject::Policy { addr: None });
    for needle in [V4, V6, "mode: testing"] {
        assert!(f.message.contains(needle), "{needle}: {}", f.message);
    }
    assert_eq!(report.readiness.ready, Some(false));
}

#[tokio::test]
async fn sts_fetch_inconsistent_fires_when_one_address_refuses() {
    let mut w = World::new();
    let d = with_ipv6_policy_address(&mut w, Https::refused());
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "sts-fetch-inconsistent");
    assert!(
        f.message.contains(V4) && f.message.contains(V6),
        "{}",
        f.message
    );
    let f = fires(&report, "sts-host-connect");
    assert_eq!(
        f.subject,
        Subject::Policy {
            addr: Some(V6.parse().expect("ip"))
        }
    );
    // The good address's policy is still the one judged.
    assert!(report.policy.as_ref().is_some_and(|p| p.valid));
    assert_eq!(report.readiness.ready, Some(false));
}

#[tokio::test]
async fn sts_fetch_inconsistent_fires_with_the_certificate_problem_on_its_address() {
    let mut w = World::new();
    let https = Https::new(Response::policy(&good_text())).cert(Cert::expired());
    let d = with_ipv6_policy_address(&mut w, https);
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    fires(&report, "sts-fetch-inconsistent");
    let f = fires(&report, "sts-host-cert-expired");
    assert_eq!(
        f.subject,
        Subject::Policy {
            addr: Some(V6.parse().expect("ip"))
        }
    );
}

#[tokio::test]
async fn sts_fetch_bot_block_fires_for_a_firewall_that_lets_only_browsers_in() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    let text = good_text();
    d.set_policy(Handler::func(move |req| {
        if req
            .header("user-agent")
            .is_some_and(|ua| ua.starts_with("Mozilla/"))
        {
            Response::policy(&text)
        } else {
            Response::status(403)
        }
    }));
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "sts-fetch-bot-block");
    assert!(f.message.contains("403"), "{}", f.message);
    silent(&report, "sts-fetch-status");
    let agents: Vec<String> = run
        .https_requests(V4)
        .iter()
        .map(|r| r.header("user-agent").unwrap_or_default().to_string())
        .collect();
    assert_eq!(agents.len(), 2, "{agents:?}");
    assert!(agents[0].starts_with("mtasts/"), "{agents:?}");
    assert_eq!(report.readiness.ready, Some(false));
}

#[tokio::test]
async fn sts_fetch_bot_block_silent_for_a_403_to_everyone() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.set_policy(Response::status(403));
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "sts-fetch-status");
    assert!(f.message.contains("403"), "{}", f.message);
    silent(&report, "sts-fetch-bot-block");
}

#[tokio::test]
async fn sts_host_cert_expiring_fires_only_within_expiry_warning() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    let https = d.policy_addrs[0].https.clone();
    d.policy_addrs[0].https = https.cert(Cert::expiring_in(20));
    let run = w.start(d).await;
    // 14 days by default: 20 days left is fine.
    let report = audit(&run, "example.test").await;
    clean(&report);
    let mut reports =
        crate::support::audit_all(&["example.test".to_string()], &run.config(), 30).await;
    let report = reports.remove(0);
    let f = fires(&report, "sts-host-cert-expiring");
    assert!(
        f.message.contains("in 19 days") || f.message.contains("in 20 days"),
        "{}",
        f.message
    );
    assert_eq!(report.readiness.ready, Some(true));
    // And through the command line.
    let out = run
        .mtasts(&["check", "example.test", "--expiry-warning", "30"])
        .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("sts-host-cert-expiring"), "{stdout}");
    let out = run.mtasts(&["check", "example.test"]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("sts-host-cert-expiring"), "{stdout}");
}

#[tokio::test]
async fn sts_policy_line_ending_silent_for_lf_and_mixed_endings() {
    for (body, endings) in [
        (policy_text("enforce", 604800, "\n"), "LF"),
        (
            format!("version: STSv1\r\nmode: enforce\n{MX_LINES}max_age: 604800\n"),
            "mixed",
        ),
    ] {
        let mut w = World::new();
        let mut d = w.good_deployment("example.test");
        d.set_policy(Response::policy(&body));
        let run = w.start(d).await;
        let report = audit(&run, "example.test").await;
        clean(&report);
        assert_eq!(
            report.policy.as_ref().map(|p| p.line_endings),
            Some(endings)
        );
    }
}

/// The good deployment serving `body` as its policy (text/plain, 200).
async fn audit_policy(body: &str) -> mtasts::judge::DomainReport {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.set_policy(Response::policy(body));
    let run = w.start(d).await;
    audit(&run, "example.test").await
}

#[tokio::test]
async fn sts_policy_encoding_fires_for_a_utf8_bom() {
    let report = audit_policy(&format!("\u{feff}{}", good_text())).await;
    let f = fires(&report, "sts-policy-encoding");
    assert!(f.message.contains("byte-order mark"), "{}", f.message);
    assert!(report.policy.as_ref().is_some_and(|p| !p.valid));
}

#[tokio::test]
async fn sts_policy_html_fires_for_a_web_page_served_as_text_plain() {
    let report = audit_policy(
        "<!DOCTYPE html>\n<html><head><title>Welcome</title></head><body>Hello</body></html>\n",
    )
    .await;
    let f = fires(&report, "sts-policy-html");
    assert!(f.message.contains("<!DOCTYPE html>"), "{}", f.message);
    silent(&report, "sts-fetch-media-type");
    silent(&report, "sts-policy-bad-line");
    assert_eq!(report.readiness.ready, Some(false));
}

#[tokio::test]
async fn sts_policy_max_age_short_fires_for_an_hour() {
    let report = audit_policy(&policy_text("enforce", 3600, "\r\n")).await;
    let f = fires(&report, "sts-policy-max-age-short");
    assert!(f.message.contains("3600"), "{}", f.message);
    assert_eq!(report.findings.len(), 1, "{:#?}", summary(&report));
}

#[tokio::test]
async fn sts_policy_max_age_testing_long_fires_for_a_year_while_testing() {
    let report = audit_policy(&policy_text("testing", 31557600, "\r\n")).await;
    fires(&report, "sts-policy-max-age-testing-long");
    silent(&report, "sts-policy-max-age-range");
    // The same max_age in enforce mode is what guides recommend.
    let report = audit_policy(&policy_text("enforce", 31557600, "\r\n")).await;
    clean(&report);
}

#[tokio::test]
async fn sts_policy_mx_wildcard_broad_fires_for_a_wildcard_under_a_tld() {
    let report = audit_policy(&format!(
        "version: STSv1\r\nmode: enforce\r\n{MX_LINES}mx: *.com\r\nmax_age: 604800\r\n"
    ))
    .await;
    let f = fires(&report, "sts-policy-mx-wildcard-broad");
    assert!(f.message.contains("*.com"), "{}", f.message);
}

#[tokio::test]
async fn sts_mx_unmatched_fires_for_a_misspelt_pattern_and_suggests_it() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.mx = vec![Mx::new(10, "mail.example.test", &["192.0.2.10"])];
    d.set_policy(Response::policy(
        "version: STSv1\r\nmode: enforce\r\nmx: mial.example.test\r\nmax_age: 604800\r\n",
    ));
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "sts-mx-unmatched");
    assert_eq!(
        f.subject,
        Subject::Mx {
            host: "mail.example.test".into(),
            addr: None
        }
    );
    assert_eq!(
        f.hint(),
        "Replace \"mx: mial.example.test\" with \"mx: mail.example.test\" and change the TXT id."
    );
    let f = fires(&report, "sts-policy-mx-stale");
    assert!(
        f.message.contains("did you mean mail.example.test?"),
        "{}",
        f.message
    );
}

#[tokio::test]
async fn sts_mx_wildcard_depth_fires_for_a_wildcard_one_label_too_shallow() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.mx = vec![Mx::new(10, "a.b.example.test", &["192.0.2.10"])];
    d.set_policy(Response::policy(
        "version: STSv1\r\nmode: enforce\r\nmx: *.example.test\r\nmax_age: 604800\r\n",
    ));
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "sts-mx-wildcard-depth");
    assert_eq!(
        f.subject,
        Subject::Mx {
            host: "a.b.example.test".into(),
            addr: None
        }
    );
    assert!(f.message.contains("*.example.test"), "{}", f.message);
    silent(&report, "sts-mx-unmatched");
    assert_eq!(report.readiness.ready, Some(false));
}

#[tokio::test]
async fn sts_fetch_inconsistent_silent_when_addresses_differ_only_in_line_endings() {
    let mut w = World::new();
    let lf = policy_text("enforce", 604800, "\n");
    let d = with_ipv6_policy_address(&mut w, Https::new(Response::policy(&lf)));
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    // Both are the same policy to every sender (RFC 8461 §3.2: LF or CRLF).
    clean(&report);
    assert_eq!(report.readiness.ready, Some(true));
}

#[tokio::test]
async fn sts_fetch_inconsistent_silent_when_one_certificate_expires_sooner() {
    let mut w = World::new();
    let https = Https::new(Response::policy(&good_text())).cert(Cert::expiring_in(10));
    let d = with_ipv6_policy_address(&mut w, https);
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    // Senders get the same policy from both: the warning belongs to the one address.
    silent(&report, "sts-fetch-inconsistent");
    let f = fires(&report, "sts-host-cert-expiring");
    assert_eq!(
        f.subject,
        Subject::Policy {
            addr: Some(V6.parse().expect("ip"))
        }
    );
    assert_eq!(report.findings.len(), 1, "{:#?}", summary(&report));
    assert_eq!(report.readiness.ready, Some(true));
}
