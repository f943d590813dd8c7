//! Verdicts said right: enforce-readiness with its reasons, the finding that says enforcing
//! senders refuse an MX now, a slow policy host, and what the audit could not see (no
//! DNS from here, one zone's failing servers, a domain that does not exist).

use std::time::Duration;

use serde_json::Value;

use crate::lab::{Response, Smtp, World};
use crate::support::{audit, fires, ids, json, mtasts, refused_now, silent, summary};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_is_no_with_the_reason_per_address_and_per_domain() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.set_policy(Response::policy(
        &d.good_policy().replace("mode: enforce", "mode: testing"),
    ));
    d.mx[0].addrs[1].smtp = Smtp::good().cert(crate::lab::Cert::expired());
    let run = w.start(d).await;
    let out = run
        .mtasts(&["check", "example.test", "--format", "json"])
        .await;
    let domain = &json(&out)["domains"][0];
    assert_eq!(domain["enforce_ready"], false);
    let reason = &domain["readiness"]["reasons"][0];
    assert_eq!(reason["id"], "smtp-cert-expired");
    assert_eq!(reason["subject"]["address"], "2001:db8::10");
    assert_eq!(
        reason["sentence"],
        "mx1.example.test at 2001:db8::10: MX certificate expired"
    );
    let addresses = &domain["mx"][0]["addresses"];
    assert_eq!(addresses[0]["enforce_ready"], true);
    assert_eq!(addresses[0]["verdict"], "pass");
    assert_eq!(addresses[1]["enforce_ready"], false);
    assert_eq!(addresses[1]["verdict"], "fail");
    assert_eq!(
        addresses[1]["findings"],
        serde_json::json!(["smtp-cert-expired"])
    );
    assert_eq!(
        addresses[1]["readiness"]["reasons"][0]["id"],
        "smtp-cert-expired"
    );

    let out = run.mtasts(&["check", "example.test"]).await;
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(
        text.trim_end().ends_with(
            "example.test: FAIL  1 error, 0 warnings, 1 info; enforce-ready: no (mx1.example.test at 2001:db8::10: MX certificate expired)"
        ),
        "{text}"
    );
    assert!(
        text.contains("switching to enforce is NOT safe yet: mx1.example.test at 2001:db8::10: MX certificate expired"),
        "{text}"
    );
}

#[tokio::test]
async fn readiness_is_unknown_not_no_for_an_address_that_cannot_be_reached() {
    for smtp in [
        Smtp::good().refused(),
        Smtp::good().tarpit(),
        Smtp::good().garbage(),
        Smtp::good().banner("554 5.7.1 no service"),
    ] {
        let mut w = World::new();
        w.timeout = Duration::from_millis(500);
        let mut d = w.good_deployment("example.test");
        d.mx[1].addrs[0].smtp = smtp.clone();
        let run = w.start(d).await;
        let report = audit(&run, "example.test").await;
        assert_eq!(report.readiness.ready, None, "{smtp:?}");
        let address = &report.mx[1].addresses[0];
        assert_eq!(address.readiness.ready, None, "{smtp:?}");
        assert!(
            report.readiness.reasons[0]
                .sentence
                .starts_with("mx2.example.test at 192.0.2.20: "),
            "{:?}",
            report.readiness.reasons
        );
        // Enforcing changes nothing for it: senders are not refusing it, they cannot reach it.
        silent(&report, "sts-enforce-mx-refused");
    }
}

#[tokio::test]
async fn sts_enforce_mx_refused_fires_for_each_failing_host_and_says_when_none_passes() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.set_smtp(Smtp::good().no_starttls());
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = refused_now(&report, "mx1.example.test");
    assert_eq!(
        f.message,
        "mode is enforce: senders that honour the policy refuse mail to mx1.example.test now (192.0.2.10: STARTTLS not offered; 2001:db8::10: STARTTLS not offered); no MX address passes, so they cannot deliver mail to example.test at all"
    );
    refused_now(&report, "mx2.example.test");
    assert_eq!(f.severity(), mtasts::checks::Severity::Error);
}

#[tokio::test]
async fn sts_enforce_mx_refused_silent_while_testing_or_without_a_usable_policy() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.set_policy(Response::policy(
        &d.good_policy().replace("mode: enforce", "mode: testing"),
    ));
    d.mx[1].addrs[0].smtp = Smtp::good().no_starttls();
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    silent(&report, "sts-enforce-mx-refused");
    assert_eq!(report.readiness.ready, Some(false));

    // Senders with no policy to enforce refuse nothing.
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.set_policy(Response::status(404));
    d.mx[1].addrs[0].smtp = Smtp::good().no_starttls();
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    fires(&report, "sts-fetch-status");
    silent(&report, "sts-enforce-mx-refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_deployment_with_a_draft_is_ready_when_every_mx_passes() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    let draft = d.good_policy();
    d.sts_txt.clear();
    d.policy_addrs.clear();
    let run = w.start(d).await;
    let file = tempfile::NamedTempFile::new().expect("a file");
    std::fs::write(file.path(), draft).expect("the draft");
    let path = file.path().to_str().expect("a path");
    let args = [
        "check",
        "example.test",
        "--policy-file",
        path,
        "--format",
        "json",
        "--require-enforce-ready",
    ];
    let out = run.mtasts(&args).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let domain = &json(&out)["domains"][0];
    // The missing record is what the admin is about to publish, not a reason.
    assert_eq!(ids(domain), ["sts-txt-unpublished"]);
    assert_eq!(domain["enforce_ready"], true);
    assert_eq!(domain["verdict"], "pass");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_enforce_ready_fails_a_domain_that_is_not_ready_or_unknown() {
    let mut w = World::new();
    let good = w.good_deployment("good.test");
    let mut unknown = w.good_deployment("unknown.test");
    unknown.mx[1].addrs[0].smtp = Smtp::good().refused();
    let mut testing = w.good_deployment("testing.test");
    testing.set_policy(Response::policy(
        &testing
            .good_policy()
            .replace("mode: enforce", "mode: testing"),
    ));
    testing.mx[0].addrs[0].smtp = Smtp::good().no_starttls();
    let run = w.start_all(vec![good, unknown, testing]).await;
    let code = |domain: &'static str| {
        let run = &run;
        async move {
            let args = [
                "check",
                domain,
                "-q",
                "--fail-on",
                "never",
                "--require-enforce-ready",
            ];
            run.mtasts(&args).await.status.code()
        }
    };
    assert_eq!(code("good.test").await, Some(0));
    assert_eq!(code("unknown.test").await, Some(1), "unknown is not ready");
    assert_eq!(code("testing.test").await, Some(1), "no is not ready");
    let plain = run
        .mtasts(&["check", "testing.test", "-q", "--fail-on", "never"])
        .await;
    assert_eq!(plain.status.code(), Some(0), "only when asked for");
}

#[tokio::test]
async fn sts_fetch_slow_fires_for_a_policy_host_slower_than_some_senders_wait() {
    let mut w = World::new();
    w.timeout = Duration::from_secs(6);
    let mut d = w.good_deployment("example.test");
    let slow = Response::policy(&d.good_policy()).delay(Duration::from_millis(3300));
    d.set_policy(slow);
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "sts-fetch-slow");
    assert!(
        f.message
            .starts_with("mta-sts.example.test: fetching the policy took 3."),
        "{}",
        f.message
    );
    assert!(
        f.message
            .contains("postfix-mta-sts-resolver gives up after 4 s"),
        "{}",
        f.message
    );
    // A warning: the senders that wait longer apply the policy.
    assert_eq!(
        report.readiness.ready,
        Some(true),
        "{:#?}",
        summary(&report)
    );
}

#[tokio::test]
async fn smtp_banner_timeout_says_how_long_it_waited_and_how_long_senders_wait() {
    let mut w = World::new();
    w.timeout = Duration::from_millis(500);
    let mut d = w.good_deployment("example.test");
    d.mx[1].addrs[0].smtp = Smtp::good().tarpit();
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "smtp-banner-timeout");
    assert_eq!(
        f.message,
        "mx2.example.test at 192.0.2.20 accepted the connection but sent no complete greeting within 0.5 s (--timeout); senders wait up to 5 minutes for it (RFC 5321 §4.5.3.2), so raise --timeout (and --deadline) to wait as long as they do"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vantage_dns_unreachable_when_the_resolver_never_answers() {
    // A nameserver that swallows every query: what an offline machine looks like.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").expect("a socket");
    let resolver = silent.local_addr().expect("its address").to_string();
    let out = tokio::task::spawn_blocking(move || {
        let args = [
            "check",
            "example.com",
            "--resolver",
            &resolver,
            "--timeout",
            "0.5",
        ];
        let out = mtasts(&[&args[..], &["--format", "json"]].concat());
        (out, resolver)
    })
    .await
    .expect("the run");
    let (out, resolver) = out;
    assert_eq!(out.status.code(), Some(2), "the audit could not run");
    let domain = &json(&out)["domains"][0];
    assert_eq!(
        ids(domain),
        ["vantage-dns-unreachable"],
        "one finding, not four"
    );
    let message = domain["findings"][0]["message"]
        .as_str()
        .expect("a message");
    assert!(
        message.starts_with(&format!(
            "no DNS answers from {resolver} (timeout for the root zone): is this machine online?"
        )),
        "{message}"
    );
    assert_eq!(domain["enforce_ready"], Value::Null);
    drop(silent);
}

#[tokio::test]
async fn one_dns_error_when_the_zone_s_servers_fail_while_the_resolver_answers() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    for name in [
        "_mta-sts.example.test",
        "_smtp._tls.example.test",
        "example.test",
    ] {
        d.zone.servfail(name);
    }
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "dns-error");
    assert_eq!(
        f.message,
        "every lookup for example.test failed (SERVFAIL) while the resolver answers for other names: the nameservers of example.test do not answer for it"
    );
    assert_eq!(summary(&report).len(), 1, "{:#?}", summary(&report));
    silent(&report, "vantage-dns-unreachable");
    assert_eq!(report.readiness.ready, None);
}

#[tokio::test]
async fn a_domain_that_does_not_exist_is_one_finding() {
    let mut w = World::new();
    let d = w.good_deployment("example.test");
    let run = w.start(d).await;
    let report = audit(&run, "missing.test").await;
    assert_eq!(
        summary(&report),
        [
            "mx-nxdomain @ missing.test: missing.test does not exist (NXDOMAIN), so neither does any MX, MTA-STS or TLS-RPT record under it"
        ]
    );
    assert_eq!(report.readiness.ready, None);
}
