//! The policy: fetched from every address of `mta-sts.DOMAIN` the way senders fetch it,
//! then parsed.

use std::time::{Duration, Instant};

use crate::lab::{Cert, Https, Response, World};
use crate::support::{audit, fires, silent};

const MX_LINES: &str = "mx: mx1.example.test\r\nmx: mx2.example.test\r\n";

#[tokio::test]
async fn sts_host_connect_fires_when_refused() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.policy_addrs[0].https = Https::refused();
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    fires(&report, "sts-host-connect");
    assert_eq!(report.enforce_ready, Some(false));
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
    assert_eq!(report.enforce_ready, Some(false));
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
