//! Hostile and broken servers: whatever a peer does, the audit ends within its limits,
//! reports what happened, keeps judging everything else, and prints nothing a server
//! could use to fool the reader.
//!
//! Behaviours tested elsewhere, not repeated here:
//! - CNAME loops and endless chains: `dns_stages::dns_error_fires_for_a_cname_loop_at_mta_sts`,
//!   `dns_stages::dns_error_fires_for_a_cname_chain_that_never_ends` (and the loops at the
//!   policy host and at an MX host beside them);
//! - SERVFAIL, REFUSED and silence at each lookup, never read as absence:
//!   `dns_stages::dns_error_fires_for_*`;
//! - an HTTPS server that completes TLS and never answers (`Https::silent`):
//!   `policy::a_hanging_policy_fetch_ends_at_the_timeout_and_the_rest_is_judged`;
//! - an endless policy body: `policy::sts_fetch_size_fires_for_an_endless_body_without_waiting_for_its_end`;
//! - a UTF-8 BOM before the policy: `policy::sts_policy_encoding_fires_for_a_utf8_bom`;
//! - a connection closed right after the 220 to STARTTLS:
//!   `mx::smtp_tls_handshake_fires_when_the_server_drops_the_handshake`;
//! - plaintext after the 220 to STARTTLS: `mx::smtp_starttls_injection_fires_for_plaintext_after_the_220`;
//! - EHLO answered with 500: `mx::smtp_ehlo_fires_and_no_helo_is_tried`;
//! - an MX that never greets (tarpit): `mx::smtp_banner_timeout_costs_one_timeout_not_one_per_address`;
//! - a fatal TLS alert after STARTTLS: `tls::smtp_tls_handshake_names_the_alert_the_server_sent`;
//! - ANSI escapes and a bidi override in an SMTP banner:
//!   `cli::server_text_is_escaped_in_human_output_and_kept_in_json`.

use std::time::{Duration, Instant};

use hickory_proto::rr::RecordType;
use mtasts::finding::Subject;
use mtasts::judge::DomainReport;
use mtasts::limits::MAX_POLICY_BYTES;
use mtasts::observe::{PolicyFetch, PolicySource};

use crate::lab::{Cert, Deployment, Failure, Https, Mx, Response, Run, Smtp, World};
use crate::support::{
    audit, fired, fires, ids, json, mx_at, only_ehlo_starttls_quit, refused_now, silent, summary,
};

/// The short per-operation timeout of these tests.
const TIMEOUT: Duration = Duration::from_millis(500);
/// What a test allows beyond the bound it checks: scheduling on a loaded machine, never a
/// second timeout.
const MARGIN: Duration = Duration::from_millis(900);

/// Audits example.test and says how long it took.
async fn timed_audit(run: &Run) -> (DomainReport, Duration) {
    let started = Instant::now();
    let report = audit(run, "example.test").await;
    (report, started.elapsed())
}

/// Fails unless `took` is at least `at_least` and at most `bound` plus [`MARGIN`].
#[track_caller]
fn ended_within(took: Duration, at_least: Duration, bound: Duration) {
    assert!(
        took >= at_least && took <= bound + MARGIN,
        "took {took:?}, expected {at_least:?} to {bound:?} (+{MARGIN:?})"
    );
}

/// SMTP sessions that went all the way to EHLO inside TLS.
fn completed_probes(report: &DomainReport) -> usize {
    report
        .observations
        .mx_hosts
        .iter()
        .flat_map(|h| &h.probes)
        .filter(|p| p.ehlo_after_tls.as_ref().is_some_and(|r| r.code == 250))
        .count()
}

/// The fetches with the MTA's User-Agent, one per address.
fn fetches(report: &DomainReport) -> &[PolicyFetch] {
    match &report.observations.policy {
        PolicySource::Fetched(f) => &f.fetches,
        other => panic!("no fetch: {other:?}"),
    }
}

/// The good deployment's policy text (CRLF).
const GOOD_POLICY: &str = "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.test\r\nmx: mx2.example.test\r\nmax_age: 604800\r\n";

/// The exit code of `mtasts check example.test -q` with `extra` arguments.
async fn exit_code(run: &Run, extra: &[&str]) -> Option<i32> {
    let mut args = vec!["check", "example.test", "-q"];
    args.extend_from_slice(extra);
    run.mtasts(&args).await.status.code()
}

/// Fails unless every finding is an sts-txt-other-records note (at least one).
#[track_caller]
fn only_other_records(report: &DomainReport) {
    let notes = fired(report, "sts-txt-other-records").len();
    assert!(
        notes > 0 && notes == report.findings.len(),
        "{:#?}",
        summary(report)
    );
}

// ---- DNS ----

#[tokio::test]
async fn a_txt_answer_too_big_for_udp_is_fetched_over_tcp_and_parses() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    // About 2.3 KB of answer: over the 1232 octets a UDP answer may carry.
    for i in 0..10 {
        let junk = format!("site-verification-{i}={}", "a".repeat(200));
        d.sts_txt.push(junk.as_str().into());
    }
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let queries = run.dns_queries();
    let sts = |q: &&crate::lab::dns::Query| {
        q.name == "_mta-sts.example.test" && q.rtype == RecordType::TXT
    };
    assert!(
        queries.iter().filter(sts).any(|q| !q.tcp) && queries.iter().filter(sts).any(|q| q.tcp),
        "asked over UDP, then over TCP: {queries:?}"
    );
    assert_eq!(
        report.sts_record.as_ref().map(|r| r.id.as_str()),
        Some("20240101T000000")
    );
    assert_eq!(report.observations.sts.records().len(), 11);
    // The unrelated records are worth a note each, nothing more.
    only_other_records(&report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_limit_fires_for_hundreds_of_txt_records_and_names_the_cap() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    for i in 0..299 {
        d.sts_txt.push(format!("junk-{i}").as_str().into());
    }
    let run = w.start(d).await;
    let (report, took) = timed_audit(&run).await;
    ended_within(took, Duration::ZERO, Duration::from_millis(100));
    let f = fires(&report, "audit-limit");
    assert_eq!(f.subject, Subject::StsRecord);
    assert_eq!(
        f.message,
        format!(
            "the DNS answer for _mta-sts.example.test holds more than {} records; only the first were judged (the audit's limit)",
            mtasts::limits::MAX_RECORDS
        )
    );
    assert!(f.message.contains("more than 64 records"), "{}", f.message);
    assert_eq!(
        report.observations.sts.records().len(),
        mtasts::limits::MAX_RECORDS
    );
    // The valid record came first, and is the one senders use.
    assert_eq!(
        report.sts_record.as_ref().map(|r| r.id.as_str()),
        Some("20240101T000000")
    );
    assert_eq!(fired(&report, "audit-limit").len(), 1);
    assert_eq!(
        fired(&report, "audit-limit").len() + fired(&report, "sts-txt-other-records").len(),
        report.findings.len(),
        "{:#?}",
        summary(&report)
    );
    // The cap is a warning: the exit code follows --fail-on.
    assert_eq!(exit_code(&run, &[]).await, Some(0));
    assert_eq!(exit_code(&run, &["--fail-on", "warning"]).await, Some(1));
}

#[tokio::test]
async fn a_60_kb_txt_record_is_read_whole_and_quoted_briefly() {
    // Near the most one DNS message can carry (65535 octets), and so also under the cap of
    // 64 KiB per answer, which a single message can never exceed.
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    let big = format!("v=STSv1; id=20240101T000000; pad={}", "x".repeat(60 * 1024));
    d.sts_txt = vec![big.as_str().into()];
    let run = w.start(d).await;
    let (report, took) = timed_audit(&run).await;
    ended_within(took, Duration::ZERO, Duration::from_millis(100));
    let records = report.observations.sts.records();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].joined(), big.as_bytes());
    silent(&report, "audit-limit");
    assert_eq!(
        report.sts_record.as_ref().map(|r| r.id.as_str()),
        Some("20240101T000000")
    );
    // Published in 255-octet strings, with an unknown field: two notes.
    fires(&report, "sts-txt-multistring");
    let f = fires(&report, "sts-txt-extension");
    assert!(
        f.message.len() < 200,
        "quoted briefly: {} bytes",
        f.message.len()
    );
    assert_eq!(report.findings.len(), 2, "{:#?}", summary(&report));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_error_fires_for_one_silent_or_failing_name_and_the_rest_is_judged() {
    for how in [Failure::Drop, Failure::ServFail] {
        let mut w = World::new();
        w.timeout = TIMEOUT;
        let mut d = w.good_deployment("example.test");
        d.zone.fail("mx2.example.test", None, how);
        let run = w.start(d).await;
        let (report, took) = timed_audit(&run).await;
        let waited = if how == Failure::Drop {
            TIMEOUT
        } else {
            Duration::ZERO
        };
        ended_within(took, waited, waited);
        let f = fires(&report, "dns-error");
        assert_eq!(
            f.subject,
            Subject::Mx {
                host: "mx2.example.test".into(),
                addr: None
            },
            "{how:?}"
        );
        let kind = if how == Failure::Drop {
            "timeout"
        } else {
            "SERVFAIL"
        };
        assert_eq!(
            f.message,
            format!("the address lookup of mx2.example.test failed ({kind})")
        );
        silent(&report, "mx-host-unresolvable");
        // One finding: the records, the policy and mx1's two addresses were all judged.
        assert_eq!(
            summary(&report).len(),
            1,
            "{how:?}: {:#?}",
            summary(&report)
        );
        assert!(report.sts_record.is_some() && report.tlsrpt_record.is_some());
        assert!(report.policy.as_ref().is_some_and(|p| p.valid));
        assert_eq!(completed_probes(&report), 2, "{how:?}");
        assert_eq!(exit_code(&run, &[]).await, Some(1), "{how:?}");
    }
}

// ---- HTTPS ----

#[tokio::test]
async fn sts_fetch_timeout_fires_for_a_server_that_never_starts_tls() {
    let mut w = World::new();
    w.timeout = TIMEOUT;
    let mut d = w.good_deployment("example.test");
    d.policy_addrs[0].https = Https::no_tls();
    let run = w.start(d).await;
    let (report, took) = timed_audit(&run).await;
    ended_within(took, TIMEOUT, TIMEOUT);
    let f = fires(&report, "sts-fetch-timeout");
    assert_eq!(f.subject, Subject::Policy { addr: None });
    assert_eq!(summary(&report).len(), 1, "{:#?}", summary(&report));
    assert_eq!(completed_probes(&report), 3);
    assert!(run.https_requests("192.0.2.80").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sts_fetch_timeout_fires_for_headers_dripped_a_byte_at_a_time() {
    let mut w = World::new();
    w.timeout = TIMEOUT;
    let mut d = w.good_deployment("example.test");
    // About 100 bytes of head at 50 ms each: 5 s, ten timeouts.
    d.set_policy(Response::policy(GOOD_POLICY).drip(Duration::from_millis(50)));
    let run = w.start(d).await;
    let (report, took) = timed_audit(&run).await;
    ended_within(took, TIMEOUT, TIMEOUT);
    let f = fires(&report, "sts-fetch-timeout");
    assert_eq!(
        f.message,
        "fetching the policy from mta-sts.example.test timed out"
    );
    assert_eq!(summary(&report).len(), 1, "{:#?}", summary(&report));
    assert_eq!(completed_probes(&report), 3);
    assert_eq!(report.readiness.ready, Some(false));
    let started = Instant::now();
    assert_eq!(exit_code(&run, &[]).await, Some(1));
    // The binary's timeout is the same: it does not wait for the head either.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn sts_fetch_size_fires_for_10_mb_without_content_length_read_no_further_than_64_kib() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    let mut body = GOOD_POLICY.to_string();
    body.push_str(&"#".repeat(10 << 20));
    d.set_policy(Response::policy(&body).no_content_length());
    let run = w.start(d).await;
    let (report, took) = timed_audit(&run).await;
    // The timeout is 2 s: reading the 10 MB, or waiting for the end, would take longer.
    ended_within(took, Duration::ZERO, Duration::from_millis(100));
    let f = fires(&report, "sts-fetch-size");
    assert_eq!(
        f.message,
        "mta-sts.example.test: the policy is larger than 65536 bytes; the audit stopped reading there"
    );
    silent(&report, "sts-fetch-timeout");
    let resp = fetches(&report)[0].result.as_ref().expect("a response");
    assert!(resp.body_truncated);
    assert_eq!(resp.body.len(), MAX_POLICY_BYTES);
    assert!(report.policy.is_none());
}

#[tokio::test]
async fn sts_fetch_redirect_fires_for_a_redirect_to_itself_after_one_request() {
    let url = "https://mta-sts.example.test/.well-known/mta-sts.txt";
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.set_policy(Response::redirect(301, url));
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "sts-fetch-redirect");
    assert_eq!(
        f.message,
        format!(
            "mta-sts.example.test answered 301 with Location: {url}; senders do not follow redirects"
        )
    );
    assert_eq!(run.https_requests("192.0.2.80").len(), 1);
    assert_eq!(summary(&report).len(), 1, "{:#?}", summary(&report));
}

#[tokio::test]
async fn sts_policy_encoding_fires_for_invalid_utf8_and_for_nul_bytes() {
    let cases: [(Vec<u8>, &str); 2] = [
        (
            // A line saved as Latin-1: "café" with a lone 0xE9.
            [GOOD_POLICY.as_bytes(), b"x-note: caf\xe9\r\n"].concat(),
            "mta-sts.example.test: the body is not valid UTF-8: byte 0xe9 on line 6",
        ),
        (
            GOOD_POLICY.replace("mx: mx1", "mx: \0mx1").into_bytes(),
            "mta-sts.example.test: the body contains 1 NUL byte(s), the first on line 3",
        ),
    ];
    for (body, says) in cases {
        let mut w = World::new();
        let mut d = w.good_deployment("example.test");
        d.set_policy(
            Response::status(200)
                .header("Content-Type", "text/plain; charset=utf-8")
                .body(&body),
        );
        let run = w.start(d).await;
        let report = audit(&run, "example.test").await;
        let f = fires(&report, "sts-policy-encoding");
        assert_eq!(f.message, says);
        assert!(report.policy.as_ref().is_some_and(|p| !p.valid), "{says}");
        assert_eq!(report.readiness.ready, Some(false), "{says}");
        // The MX hosts are judged all the same.
        assert_eq!(completed_probes(&report), 3, "{says}");
    }
}

/// The good policy with `extra` header fields beside Content-Type, Content-Length and
/// Connection.
fn with_headers(extra: usize, value_len: usize) -> Response {
    let mut r = Response::policy(GOOD_POLICY);
    for i in 0..extra {
        r = r.header(&format!("X-Filler-{i}"), &"v".repeat(value_len));
    }
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sts_fetch_http_fires_for_too_many_or_too_large_headers_and_names_the_limit() {
    use mtasts::limits::{MAX_HEADER_BYTES, MAX_HEADERS};
    // 97 + 3 = 100 fields is the most the audit reads.
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.set_policy(with_headers(MAX_HEADERS - 3, 8));
    let run = w.start(d).await;
    crate::support::clean(&audit(&run, "example.test").await);

    for (response, what) in [
        (with_headers(MAX_HEADERS - 2, 8), "101 fields"),
        (with_headers(1, 1 << 20), "one field of 1 MiB"),
    ] {
        let mut w = World::new();
        let mut d = w.good_deployment("example.test");
        d.set_policy(response);
        let run = w.start(d).await;
        let (report, took) = timed_audit(&run).await;
        ended_within(took, Duration::ZERO, Duration::from_millis(100));
        let f = fires(&report, "sts-fetch-http");
        assert_eq!(f.subject, Subject::Policy { addr: None }, "{what}");
        assert_eq!(
            f.message,
            format!(
                "mta-sts.example.test sent a broken HTTP response: the response's headers exceed what the audit reads: at most {MAX_HEADERS} header fields and {} KiB of headers",
                MAX_HEADER_BYTES / 1024
            ),
            "{what}"
        );
        assert_eq!(summary(&report).len(), 1, "{what}: {:#?}", summary(&report));
        assert_eq!(completed_probes(&report), 3, "{what}");
        assert_eq!(exit_code(&run, &[]).await, Some(1), "{what}");
    }
}

#[tokio::test]
async fn sts_host_tls_fires_for_a_fatal_alert_and_names_it() {
    for (description, name) in [(40, "HandshakeFailure"), (80, "InternalError")] {
        let mut w = World::new();
        let mut d = w.good_deployment("example.test");
        d.policy_addrs[0].https = Https::tls_alert(description);
        let run = w.start(d).await;
        let report = audit(&run, "example.test").await;
        let f = fires(&report, "sts-host-tls");
        assert_eq!(
            f.message,
            format!(
                "the TLS handshake with mta-sts.example.test failed: the server sent the alert {name}"
            )
        );
        assert_eq!(summary(&report).len(), 1, "{:#?}", summary(&report));
        assert_eq!(completed_probes(&report), 3);
    }
}

#[tokio::test]
async fn a_close_delimited_policy_is_read_whole_without_a_finding() {
    let http10 = format!("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n{GOOD_POLICY}");
    for response in [
        Response::policy(GOOD_POLICY).no_content_length(),
        Response::raw(http10.as_bytes()),
    ] {
        let mut w = World::new();
        let mut d = w.good_deployment("example.test");
        d.set_policy(response);
        let run = w.start(d).await;
        let report = audit(&run, "example.test").await;
        crate::support::clean(&report);
        let resp = fetches(&report)[0].result.as_ref().expect("a response");
        assert_eq!(resp.header("content-length"), None);
        assert_eq!(resp.body, GOOD_POLICY.as_bytes());
    }
}

// ---- SMTP ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_banner_timeout_fires_for_a_banner_dripped_a_byte_at_a_time() {
    let mut w = World::new();
    w.timeout = TIMEOUT;
    let mut d = w.good_deployment("example.test");
    // 28 bytes at 50 ms: 1.4 s, nearly three timeouts.
    d.mx[1].addrs[0].smtp = Smtp::good().drip_banner(Duration::from_millis(50));
    let run = w.start(d).await;
    let (report, took) = timed_audit(&run).await;
    ended_within(took, TIMEOUT, TIMEOUT);
    let f = fires(&report, "smtp-banner-timeout");
    assert_eq!(f.subject, mx_at("mx2.example.test", "192.0.2.20"));
    assert_eq!(summary(&report).len(), 1, "{:#?}", summary(&report));
    assert_eq!(completed_probes(&report), 2);
    assert!(run.smtp_commands("192.0.2.20").is_empty());
    // A warning: exit 0 by default.
    assert_eq!(exit_code(&run, &[]).await, Some(0));
}

#[tokio::test]
async fn smtp_reply_limit_fires_for_an_endless_ehlo_reply_and_names_100_lines() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.mx[0].addrs[0].smtp = Smtp::good().endless_ehlo();
    let run = w.start(d).await;
    let (report, took) = timed_audit(&run).await;
    ended_within(took, Duration::ZERO, Duration::from_millis(100));
    let f = fires(&report, "smtp-reply-limit");
    assert_eq!(f.subject, mx_at("mx1.example.test", "192.0.2.10"));
    assert_eq!(
        f.message,
        "mx1.example.test at 192.0.2.10: during EHLO, a reply of more than 100 lines, the audit's limit"
    );
    assert_eq!(summary(&report).len(), 1, "{:#?}", summary(&report));
    assert_eq!(completed_probes(&report), 2);
    only_ehlo_starttls_quit(&run);
}

#[tokio::test]
async fn smtp_reply_limit_fires_for_a_1_mb_line_and_names_4096_octets() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.mx[0].addrs[1].smtp = Smtp::good().huge_line();
    let run = w.start(d).await;
    let (report, took) = timed_audit(&run).await;
    ended_within(took, Duration::ZERO, Duration::from_millis(100));
    let f = fires(&report, "smtp-reply-limit");
    assert_eq!(f.subject, mx_at("mx1.example.test", "2001:db8::10"));
    assert_eq!(
        f.message,
        "mx1.example.test at 2001:db8::10: during waiting for the greeting, a reply line longer than 4096 octets, the audit's limit"
    );
    assert_eq!(summary(&report).len(), 1, "{:#?}", summary(&report));
    assert_eq!(completed_probes(&report), 2);
}

#[tokio::test]
async fn smtp_reply_syntax_fires_for_garbage_instead_of_a_reply_code() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.mx[1].addrs[0].smtp = Smtp::good().garbage();
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "smtp-reply-syntax");
    assert_eq!(f.subject, mx_at("mx2.example.test", "192.0.2.20"));
    assert_eq!(
        f.message,
        "mx2.example.test at 192.0.2.20: during waiting for the greeting, not an SMTP reply: \"SSH-2.0-OpenSSH_9.6\""
    );
    assert_eq!(summary(&report).len(), 1, "{:#?}", summary(&report));
    assert_eq!(completed_probes(&report), 2);
    // Nothing is said to something that is not an SMTP server, not even QUIT.
    assert!(run.smtp_commands("192.0.2.20").is_empty());
}

#[tokio::test]
async fn smtp_tls_handshake_fires_for_a_handshake_that_stalls() {
    let mut w = World::new();
    w.timeout = TIMEOUT;
    let mut d = w.good_deployment("example.test");
    d.mx[1].addrs[0].smtp = Smtp::good().stall_handshake();
    let run = w.start(d).await;
    let (report, took) = timed_audit(&run).await;
    ended_within(took, TIMEOUT, TIMEOUT);
    let f = fires(&report, "smtp-tls-handshake");
    assert_eq!(f.subject, mx_at("mx2.example.test", "192.0.2.20"));
    assert_eq!(
        f.message,
        "the TLS handshake with mx2.example.test at 192.0.2.20 failed: the handshake timed out"
    );
    refused_now(&report, "mx2.example.test");
    assert_eq!(summary(&report).len(), 2, "{:#?}", summary(&report));
    assert_eq!(completed_probes(&report), 2);
    only_ehlo_starttls_quit(&run);
}

// ---- Hostile strings ----

/// What a hostile server puts in its text: an ANSI sequence that clears the screen and
/// paints green, a carriage return that rewinds the line, a right-to-left override.
const HOSTILE: &str = "\x1b[2J\x1b[32mPASS\rOK\u{202e}txt";
/// [`HOSTILE`] as the human reporter must show it.
const HOSTILE_SHOWN: &str = "\\x1b[2J\\x1b[32mPASS\\rOK\\u{202e}txt";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_text_in_a_txt_record_a_policy_line_and_a_certificate_is_shown_escaped() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.sts_txt.push(format!("note={HOSTILE}").as_str().into());
    d.set_policy(Response::policy(&format!(
        "{GOOD_POLICY}note {HOSTILE}\r\n"
    )));
    d.mx[0].addrs[0].smtp = Smtp::good().cert(Cert::expired().subject_cn(HOSTILE));
    let run = w.start(d).await;

    // Each finding quotes what the server sent, as it was sent. In the policy a bare CR
    // breaks the line in two (RFC 8461 §3.2 allows no CR in a line), so it is quoted in
    // two halves.
    let report = audit(&run, "example.test").await;
    let policy = Subject::Policy { addr: None };
    let quoted: [(&str, Subject, &str, &str); 4] = [
        (
            "sts-txt-other-records",
            Subject::StsRecord,
            HOSTILE,
            HOSTILE_SHOWN,
        ),
        (
            "sts-policy-bad-line",
            policy.clone(),
            "note \x1b[2J\x1b[32mPASS\"",
            "note \\x1b[2J\\x1b[32mPASS\"",
        ),
        (
            "sts-policy-bad-line",
            policy,
            "\"OK\u{202e}txt\"",
            "\"OK\\u{202e}txt\"",
        ),
        (
            "smtp-cert-expired",
            mx_at("mx1.example.test", "192.0.2.10"),
            HOSTILE,
            HOSTILE_SHOWN,
        ),
    ];
    for (id, subject, raw, _) in &quoted {
        assert!(
            fired(&report, id)
                .iter()
                .any(|f| f.subject == *subject && f.message.contains(raw)),
            "{id} does not quote {raw:?}: {:#?}",
            summary(&report)
        );
    }

    let out = run.mtasts(&["check", "example.test", "-v"]).await;
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    for raw in ['\x1b', '\r', '\u{202e}'] {
        assert!(!text.contains(raw), "a raw {raw:?} in:\n{text}");
    }
    for (id, _, _, shown) in &quoted {
        assert!(
            text.lines().any(|l| l.contains(id) && l.contains(shown)),
            "{id}: {shown} missing from:\n{text}"
        );
    }
    // The record itself, and with -v the certificate's subject.
    for (line, shown) in [
        ("_mta-sts.example.test TXT", HOSTILE_SHOWN),
        ("certificate  CN=", HOSTILE_SHOWN),
    ] {
        assert!(
            text.lines().any(|l| l.contains(line) && l.contains(shown)),
            "{line}: {shown} missing from:\n{text}"
        );
    }

    // JSON keeps the text as data.
    let out = run
        .mtasts(&["check", "example.test", "--format", "json"])
        .await;
    let doc = json(&out);
    let domain = &doc["domains"][0];
    assert_eq!(
        domain["records"]["mta_sts"]["records"][1]["text"],
        format!("note={HOSTILE}")
    );
    assert_eq!(
        domain["policy"]["body"],
        format!("{GOOD_POLICY}note {HOSTILE}\r\n")
    );
    assert_eq!(
        domain["mx"][0]["addresses"][0]["tls"]["certificates"][0]["subject"],
        format!("CN={HOSTILE}")
    );
    let messages: Vec<&str> = domain["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["message"].as_str())
        .collect();
    for (id, _, raw, _) in &quoted {
        assert!(
            messages.iter().any(|m| m.contains(raw)),
            "{id}: {raw:?} not in {messages:#?}"
        );
    }
}

// ---- Limits ----

#[tokio::test]
async fn chain_limits_fire_for_twelve_certificates_at_an_mx_and_at_the_policy_host() {
    use mtasts::limits::MAX_CHAIN_CERTS;
    let long = || Cert::good().long_chain(MAX_CHAIN_CERTS + 1);
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.mx[0].addrs[0].smtp = Smtp::good().cert(long());
    let https = d.policy_addrs[0].https.clone();
    d.policy_addrs[0].https = https.cert(long());
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "smtp-cert-chain-limit");
    assert_eq!(f.subject, mx_at("mx1.example.test", "192.0.2.10"));
    assert_eq!(
        f.message,
        "mx1.example.test at 192.0.2.10: the server sent more than 10 certificates; only the first were judged"
    );
    let f = fires(&report, "audit-limit");
    assert_eq!(f.subject, Subject::Policy { addr: None });
    assert_eq!(
        f.message,
        "mta-sts.example.test: the server sent more than 10 certificates; only the first were judged (the audit's limit)"
    );
    // The first ten lead to the root: nothing else is wrong.
    assert_eq!(summary(&report).len(), 2, "{:#?}", summary(&report));
    let probe = &report.observations.mx_hosts[0].probes[0];
    let tls = probe.tls.as_ref().expect("a TLS session");
    assert_eq!(
        (tls.chain.len(), tls.chain_truncated),
        (MAX_CHAIN_CERTS, true)
    );
}

#[tokio::test]
async fn audit_limit_fires_for_more_than_16_mx_hosts() {
    use mtasts::limits::MAX_MX_HOSTS;
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.mx = (1..=MAX_MX_HOSTS + 1)
        .map(|i| {
            Mx::new(
                i as u16 * 10,
                &format!("mx{i}.example.test"),
                &[&format!("198.51.100.{i}")],
            )
        })
        .collect();
    d.set_policy(Response::policy(
        "version: STSv1\r\nmode: enforce\r\nmx: *.example.test\r\nmax_age: 604800\r\n",
    ));
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "audit-limit");
    assert_eq!(f.subject, Subject::MxRecords);
    assert_eq!(
        f.message,
        "example.test has 17 MX hosts; only the first 16 by preference were audited (the audit's limit)"
    );
    assert_eq!(summary(&report).len(), 1, "{:#?}", summary(&report));
    assert_eq!(report.observations.mx_hosts.len(), MAX_MX_HOSTS);
    assert_eq!(completed_probes(&report), MAX_MX_HOSTS);
    assert_eq!(run.smtp("198.51.100.17").connections(), 0);
    // Whether senders deliver to the 17th is unknown.
    assert_eq!(report.readiness.ready, None);
}

#[tokio::test]
async fn audit_limit_fires_for_more_than_8_addresses_of_a_host() {
    use mtasts::limits::MAX_ADDRESSES;
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    let ips: Vec<String> = (1..=MAX_ADDRESSES + 1)
        .map(|i| format!("192.0.2.{}", 20 + i))
        .collect();
    let ips: Vec<&str> = ips.iter().map(String::as_str).collect();
    d.mx[1] = Mx::new(20, "mx2.example.test", &ips);
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "audit-limit");
    assert_eq!(
        f.subject,
        Subject::Mx {
            host: "mx2.example.test".into(),
            addr: None
        }
    );
    assert_eq!(
        f.message,
        "mx2.example.test has 9 addresses; 1 were not probed (the audit probes at most 8 per host)"
    );
    assert_eq!(summary(&report).len(), 1, "{:#?}", summary(&report));
    assert_eq!(report.observations.mx_hosts[1].probes.len(), MAX_ADDRESSES);
    assert_eq!(run.smtp("192.0.2.29").connections(), 0);
    assert_eq!(report.readiness.ready, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_deadline_fires_for_steps_that_each_beat_the_timeout_but_not_the_deadline() {
    // Every reply 250 ms late, each step bounded by 400 ms: no step times out, but the
    // greeting, EHLO and STARTTLS take 750 ms, past the 700 ms deadline.
    let deadline = Duration::from_millis(700);
    let mut w = World::new();
    w.timeout = Duration::from_millis(400);
    w.deadline = Some(deadline);
    let mut d = w.good_deployment("example.test");
    d.mx[1].addrs[0].smtp = Smtp::good().slow_replies(Duration::from_millis(250));
    let run = w.start(d).await;
    let (report, took) = timed_audit(&run).await;
    ended_within(took, deadline, deadline);
    let f = fires(&report, "audit-deadline");
    assert_eq!(f.subject, Subject::Vantage);
    assert!(
        f.message
            .starts_with("the audit of example.test reached its deadline after 0.7s"),
        "{}",
        f.message
    );
    let f = fires(&report, "smtp-timeout");
    assert_eq!(f.subject, mx_at("mx2.example.test", "192.0.2.20"));
    assert!(
        f.message.ends_with(
            "during STARTTLS; the audit's per-domain deadline was reached, so the server may only be slow"
        ),
        "{}",
        f.message
    );
    assert_eq!(summary(&report).len(), 2, "{:#?}", summary(&report));
    assert_eq!(completed_probes(&report), 2);
    // What the cut-off address would do for senders is unknown.
    assert_eq!(report.readiness.ready, None);

    let started = Instant::now();
    let out = run
        .mtasts(&["check", "example.test", "--format", "json"])
        .await;
    assert!(started.elapsed() < deadline + Duration::from_secs(2));
    assert_eq!(out.status.code(), Some(0), "warnings only");
    let doc = json(&out);
    let ids = ids(&doc["domains"][0]);
    assert!(ids.contains(&"audit-deadline"), "{ids:?}");
}

#[tokio::test]
async fn no_finding_is_lost_when_every_address_misbehaves_at_once() {
    // One host of each kind of trouble: each is reported on its own address.
    let mut w = World::new();
    w.timeout = TIMEOUT;
    let mut d = w.good_deployment("example.test");
    d.mx[0].addrs[0].smtp = Smtp::good().garbage();
    d.mx[0].addrs[1].smtp = Smtp::good().stall_handshake();
    d.mx[1].addrs[0].smtp = Smtp::good().endless_ehlo();
    let run = w.start(d).await;
    let (report, took) = timed_audit(&run).await;
    ended_within(took, TIMEOUT, TIMEOUT);
    let at = |id: &str| -> Vec<Subject> {
        fired(&report, id)
            .iter()
            .map(|f| f.subject.clone())
            .collect()
    };
    assert_eq!(
        at("smtp-reply-syntax"),
        [mx_at("mx1.example.test", "192.0.2.10")]
    );
    assert_eq!(
        at("smtp-tls-handshake"),
        [mx_at("mx1.example.test", "2001:db8::10")]
    );
    assert_eq!(
        at("smtp-reply-limit"),
        [mx_at("mx2.example.test", "192.0.2.20")]
    );
    // The handshake failure is the one a sender refuses mx1 for; the others leave
    // their addresses untested.
    refused_now(&report, "mx1.example.test");
    assert_eq!(summary(&report).len(), 4, "{:#?}", summary(&report));
}

// ---- Scale ----

/// Never answers any query for `{label}.DOMAIN`.
fn drop_name(d: &mut Deployment, label: &str) {
    let name = format!("{label}.{}", d.domain);
    d.zone.drop(&name);
}

/// One way to break a good deployment, and the finding that says so.
type Break = (fn(&mut Deployment), &'static str);

/// The behaviours above, each applied to one deployment of many.
const BREAKS: &[Break] = &[
    (|d| drop_name(d, "mx2"), "dns-error"),
    (|d| drop_name(d, "_mta-sts"), "dns-error"),
    (
        |d| {
            let name = format!("_smtp._tls.{}", d.domain);
            d.zone.servfail(&name);
        },
        "dns-error",
    ),
    (
        |d| {
            let junk = (0..299).map(|i| format!("junk-{i}").as_str().into());
            d.sts_txt.extend(junk);
        },
        "audit-limit",
    ),
    (
        |d| d.policy_addrs[0].https = Https::silent(),
        "sts-fetch-timeout",
    ),
    (
        |d| d.policy_addrs[0].https = Https::no_tls(),
        "sts-fetch-timeout",
    ),
    (
        |d| d.set_policy(Response::policy(GOOD_POLICY).drip(Duration::from_millis(50))),
        "sts-fetch-timeout",
    ),
    (|d| d.set_policy(Response::endless()), "sts-fetch-size"),
    (
        |d| d.set_policy(Response::policy(&"#".repeat(1 << 20)).no_content_length()),
        "sts-fetch-size",
    ),
    (
        |d| {
            let url = format!("https://{}/.well-known/mta-sts.txt", d.policy_host());
            d.set_policy(Response::redirect(301, &url));
        },
        "sts-fetch-redirect",
    ),
    (|d| d.set_policy(with_headers(200, 8)), "sts-fetch-http"),
    (
        |d| d.policy_addrs[0].https = Https::tls_alert(40),
        "sts-host-tls",
    ),
    (
        |d| d.set_smtp(Smtp::good().drip_banner(Duration::from_millis(50))),
        "smtp-banner-timeout",
    ),
    (
        |d| d.set_smtp(Smtp::good().endless_ehlo()),
        "smtp-reply-limit",
    ),
    (|d| d.set_smtp(Smtp::good().huge_line()), "smtp-reply-limit"),
    (|d| d.set_smtp(Smtp::good().garbage()), "smtp-reply-syntax"),
    (
        |d| d.set_smtp(Smtp::good().close_after_starttls()),
        "smtp-tls-handshake",
    ),
    (
        |d| d.set_smtp(Smtp::good().stall_handshake()),
        "smtp-tls-handshake",
    ),
    (|d| d.set_smtp(Smtp::good().tarpit()), "smtp-banner-timeout"),
    (
        |d| d.set_smtp(Smtp::good().slow_replies(Duration::from_millis(400))),
        "audit-deadline",
    ),
    (
        |d| d.set_smtp(Smtp::good().connect_hangs()),
        "smtp-connect-timeout",
    ),
    (
        |d| d.set_smtp(Smtp::good().banner(&format!("554 {HOSTILE}"))),
        "smtp-greeting",
    ),
    (
        |d| d.set_smtp(Smtp::good().cert(Cert::good().long_chain(12))),
        "smtp-cert-chain-limit",
    ),
];

/// Runs the binary with `args`, its output to `out`, and counts the file descriptors it
/// holds every 10 ms. Returns its exit code, how long it ran, and the most it held.
fn run_counting_descriptors(
    args: &[String],
    out: &std::path::Path,
) -> (Option<i32>, Duration, usize) {
    use std::process::{Command, Stdio};
    let stdout = std::fs::File::create(out).expect("output file");
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("mtasts"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let proc = format!("/proc/{}", child.id());
    let started = Instant::now();
    let mut peak = 0;
    loop {
        // Just after exec the child still holds, for a moment, what it inherited from
        // this process: the kernel closes those after letting the parent go on. Count
        // once the tool's runtime runs, on a second thread: everything it opens is later.
        let status = std::fs::read_to_string(format!("{proc}/status")).unwrap_or_default();
        let threads = status
            .lines()
            .find_map(|l| l.strip_prefix("Threads:"))
            .and_then(|n| n.trim().parse::<usize>().ok());
        if threads.is_some_and(|n| n > 1)
            && let Ok(entries) = std::fs::read_dir(format!("{proc}/fd"))
        {
            peak = peak.max(entries.count());
        }
        if let Some(status) = child.try_wait().expect("wait") {
            return (status.code(), started.elapsed(), peak);
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("the binary hung");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_hostile_domains_end_within_one_deadline_holding_few_descriptors() {
    const DOMAINS: usize = 50;
    const MAX_CONNECTIONS: usize = 16;
    let deadline = Duration::from_millis(1500);
    let mut w = World::new();
    w.timeout = TIMEOUT;
    w.deadline = Some(deadline);
    let mut expected = Vec::new();
    let mut deployments = Vec::new();
    for i in 0..DOMAINS {
        let mut d = w.good_deployment(&format!("d{i}.example.test"));
        let (break_it, id) = BREAKS[i % BREAKS.len()];
        break_it(&mut d);
        expected.push((d.domain.clone(), id));
        deployments.push(d);
    }
    let run = w.start_all(deployments).await;
    let mut args: Vec<String> = ["check", "--format", "json", "--jobs", "50"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(["--max-connections".into(), MAX_CONNECTIONS.to_string()]);
    args.extend(expected.iter().map(|(domain, _)| domain.clone()));
    args.extend(run.args());
    let dir = tempfile::tempdir().expect("temporary directory");
    let out = dir.path().join("out.json");
    let path = out.clone();
    let (code, took, peak) =
        tokio::task::spawn_blocking(move || run_counting_descriptors(&args, &path))
            .await
            .expect("the run");

    // Every domain starts at once (--jobs 50), so all end by one deadline, plus the
    // start of the process and the judging and printing of 50 reports.
    assert!(
        took <= deadline + Duration::from_millis(1500),
        "took {took:?}"
    );
    // Sockets are bounded by the two limits that hold them: --max-connections TCP
    // connections to policy and MX hosts, and MAX_IN_FLIGHT DNS lookups, each on a UDP
    // socket of its own (or a TCP connection to the nameserver, for a truncated answer).
    // Beside them, about 10: stdin, stdout and stderr, the runtime's epoll, waker and
    // signal descriptors, and the resolver's TCP connection; 16 leaves room to spare.
    // (Measured: 44 to 56; without --max-connections the same run holds over 100.)
    let bound = MAX_CONNECTIONS + mtasts::limits::MAX_IN_FLIGHT + 16;
    assert!(
        peak <= bound,
        "{peak} descriptors open at once, over {bound}"
    );
    // And the count saw the run at work: it used its whole budget of connections.
    assert!(peak > MAX_CONNECTIONS, "only {peak} descriptors seen");
    assert_eq!(code, Some(1));

    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out).expect("the output")).expect("JSON");
    let domains = doc["domains"].as_array().expect("domains");
    assert_eq!(domains.len(), DOMAINS);
    for (report, (domain, id)) in domains.iter().zip(&expected) {
        assert_eq!(report["domain"], domain.as_str());
        let ids = ids(report);
        // A domain whose connections all waited past the deadline says so instead.
        assert!(
            ids.contains(id) || ids.contains(&"audit-deadline"),
            "{domain}: {id} missing from {ids:?}"
        );
    }
}
