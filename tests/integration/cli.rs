//! The binary's contract: exit codes, formats, colour, quiet, usage errors.

use std::io::Write;

use serde_json::Value;

use crate::lab::{Response, Smtp, World};
use crate::support::{json, only_ehlo_starttls_quit};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_good_enforce_deployment_with_two_mx_hosts_passes() {
    let mut w = World::new();
    let d = w.good_deployment("example.test");
    let run = w.start(d).await;
    let out = run
        .mtasts(&["check", "example.test", "--format", "json"])
        .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = json(&out);
    assert_eq!(doc["schema_version"], 2);
    let d = &doc["domains"][0];
    assert_eq!(d["domain"], "example.test");
    assert_eq!(d["verdict"], "pass");
    assert_eq!(d["enforce_ready"], true);
    assert_eq!(d["findings"], Value::Array(vec![]));
    assert_eq!(d["policy"]["parsed"]["mode"], "enforce");
    assert_eq!(d["mx"].as_array().map(Vec::len), Some(2));
    assert_eq!(d["mx"][0]["host"], "mx1.example.test");
    assert_eq!(d["mx"][0]["matched_pattern"], "mx1.example.test");
    assert_eq!(d["mx"][0]["addresses"][1]["address"], "2001:db8::10");
    assert_eq!(d["mx"][0]["addresses"][0]["tls"]["version"], "TLSv1.3");
    assert_eq!(
        d["mx"][0]["addresses"][0]["tls"]["certificates"][0]["dns_names"][0],
        "mx1.example.test"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_follow_fail_on() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.mx[1].addrs[0].smtp = Smtp::good().no_starttls(); // an error
    let run = w.start(d).await;
    let code = |args: &'static [&'static str]| {
        let run = &run;
        async move { run.mtasts(args).await.status.code() }
    };
    assert_eq!(code(&["check", "example.test", "-q"]).await, Some(1));
    assert_eq!(
        code(&["check", "example.test", "-q", "--fail-on", "warning"]).await,
        Some(1)
    );
    assert_eq!(
        code(&["check", "example.test", "-q", "--fail-on", "never"]).await,
        Some(0)
    );

    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.tlsrpt_txt.clear(); // a warning only
    let run = w.start(d).await;
    assert_eq!(
        run.mtasts(&["check", "example.test", "-q"])
            .await
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        run.mtasts(&["check", "example.test", "-q", "--fail-on", "warning"])
            .await
            .status
            .code(),
        Some(1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiet_prints_nothing() {
    let mut w = World::new();
    let d = w.good_deployment("example.test");
    let run = w.start(d).await;
    let out = run.mtasts(&["check", "example.test", "--quiet"]).await;
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn human_output_groups_by_stage_without_colour_off_a_terminal() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.mx[1].addrs[0].smtp = Smtp::good().no_starttls();
    let run = w.start(d).await;
    let out = run.mtasts(&["check", "example.test"]).await;
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(!text.contains('\x1b'), "colour off a terminal:\n{text}");
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} missing from:\n{text}"))
    };
    assert!(
        at("DNS") < at("Policy")
            && at("Policy") < at("MX 10 mx1.example.test")
            && at("MX 10") < at("MX 20 mx2.example.test")
    );
    assert!(at("MX 20 mx2.example.test") < at("smtp-starttls-missing"));
    assert!(at("192.0.2.20") < at("smtp-starttls-missing"));
    assert!(text.contains("hint: "));
    assert!(
        text.trim_end()
            .ends_with("enforce-ready: no (mx2.example.test at 192.0.2.20: STARTTLS not offered)"),
        "{text}"
    );
    assert!(text.contains("example.test: FAIL"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_text_is_escaped_in_human_output_and_kept_in_json() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.mx[1].addrs[0].smtp = Smtp::good().banner("554 go away\x1b[2J\x1b[32m all good \u{202e}");
    let run = w.start(d).await;
    let out = run.mtasts(&["check", "example.test"]).await;
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(
        !text.contains('\x1b') && !text.contains('\u{202e}'),
        "{text}"
    );
    assert!(
        text.contains("\\x1b[2J") && text.contains("\\u{202e}"),
        "{text}"
    );
    let out = run
        .mtasts(&["check", "example.test", "--format", "json"])
        .await;
    let doc = json(&out);
    let banner = &doc["domains"][0]["mx"][1]["addresses"][0]["banner"]["lines"][0];
    assert_eq!(banner, "go away\x1b[2J\x1b[32m all good \u{202e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_exit_2() {
    let mut w = World::new();
    let d = w.good_deployment("example.test");
    let run = w.start(d).await;
    for args in [
        &["check", "not a domain"][..],
        &["check"],
        &["check", "example.test", "--format", "xml"],
        &["frobnicate"],
    ] {
        let out = run.mtasts(args).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?}");
    }
}

#[test]
fn an_unreadable_ca_file_exits_2_with_one_message() {
    let out = crate::support::mtasts(&["check", "example.test", "--ca-file", "/nonexistent.pem"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("mtasts: reading /nonexistent.pem") && err.lines().count() == 1,
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_domains_are_reported_in_order() {
    let mut w = World::new();
    let a = w.good_deployment("a.test");
    let mut b = w.good_deployment("b.test");
    b.set_policy(Response::status(500));
    let run = w.start_all(vec![a, b]).await;
    let out = run
        .mtasts(&["check", "b.test", "a.test", "--format", "json"])
        .await;
    assert_eq!(out.status.code(), Some(1));
    let doc = json(&out);
    assert_eq!(doc["domains"][0]["domain"], "b.test");
    assert_eq!(doc["domains"][0]["verdict"], "fail");
    assert_eq!(doc["domains"][1]["domain"], "a.test");
    assert_eq!(doc["domains"][1]["verdict"], "pass");
}

/// Standard error as text, for assertions and failure messages.
fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_domain_is_reported_and_the_others_are_still_audited() {
    let mut w = World::new();
    let d = w.good_deployment("example.test");
    let run = w.start(d).await;
    let out = run
        .mtasts(&[
            "check",
            "https://example.test/",
            "example.test",
            "192.0.2.1",
            "--format",
            "json",
        ])
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "mtasts: \"https://example.test/\" is not a domain: give the domain only: example.test\n\
         mtasts: \"192.0.2.1\" is not a domain: it is an IP address; give the mail domain, the part after @ in addresses\n"
    );
    let doc = json(&out);
    assert_eq!(doc["domains"].as_array().map(Vec::len), Some(1));
    assert_eq!(doc["domains"][0]["domain"], "example.test");
    assert_eq!(doc["domains"][0]["verdict"], "pass");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_valid_domain_nothing_is_audited() {
    let mut w = World::new();
    let d = w.good_deployment("example.test");
    let run = w.start(d).await;
    let out = run
        .mtasts(&["check", "[2001:db8::1]", "example\u{200b}.test"])
        .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert_eq!(
        stderr(&out),
        "mtasts: \"[2001:db8::1]\" is not a domain: it is an IP address; give the mail domain, the part after @ in addresses\n\
         mtasts: \"example\\u{200b}.test\" is not a domain: it contains U+200B (an invisible character) at position 8\n"
    );
    assert!(run.dns_queries().is_empty(), "{:?}", run.dns_queries());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idns_and_duplicates_are_audited_once_as_a_labels() {
    let mut w = World::new();
    let d = w.good_deployment("xn--bcher-kva.test");
    let run = w.start(d).await;
    let out = run
        .mtasts(&[
            "check",
            "Bücher.test.",
            "xn--bcher-kva.test",
            "BÜCHER.TEST",
            "--format",
            "json",
        ])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["domains"].as_array().map(Vec::len), Some(1));
    assert_eq!(doc["domains"][0]["domain"], "xn--bcher-kva.test");
    assert_eq!(doc["domains"][0]["unicode"], "bücher.test");
    assert_eq!(doc["domains"][0]["verdict"], "pass");
    // People read both forms.
    let out = run.mtasts(&["check", "Bücher.test"]).await;
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(
        text.starts_with("bücher.test (xn--bcher-kva.test)\n"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_domain_beside_a_bad_input_still_exits_2() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.mx[1].addrs[0].smtp = Smtp::good().no_starttls();
    let run = w.start(d).await;
    let out = run
        .mtasts(&["check", "example.test", "user@example.test", "-q"])
        .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert_eq!(
        stderr(&out),
        "mtasts: \"user@example.test\" is not a domain: give the domain only: example.test\n"
    );
}

#[test]
fn an_unreadable_policy_file_is_reported_and_the_others_are_still_linted() {
    let mut good = tempfile::NamedTempFile::new().expect("a temp file");
    good.write_all(b"version: STSv1\nmode: enforce\nmx: mx1.example.test\nmax_age: 604800\n")
        .expect("write");
    let path = good.path().to_str().expect("a UTF-8 path");
    let out = crate::support::mtasts(&["lint", "/nonexistent.txt", path, "--format", "json"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.starts_with("mtasts: reading /nonexistent.txt: ") && err.lines().count() == 1,
        "{err}"
    );
    let doc = json(&out);
    assert_eq!(doc["files"].as_array().map(Vec::len), Some(1));
    assert_eq!(doc["files"][0]["path"], path);
    assert_eq!(doc["files"][0]["verdict"], "pass");

    let out = crate::support::mtasts(&["lint", "/nonexistent.txt", "/nonexistent2.txt"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert_eq!(stderr(&out).lines().count(), 2, "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ehlo_name_that_would_inject_smtp_commands_is_refused_before_any_connection() {
    let mut w = World::new();
    let d = w.good_deployment("example.test");
    let run = w.start(d).await;
    let out = run
        .mtasts(&[
            "check",
            "example.test",
            "--ehlo-name",
            "x\r\nMAIL FROM:<a@example.test>",
        ])
        .await;
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.starts_with(
            "error: invalid value \"x\\r\\nMAIL FROM:<a@example.test>\" for '--ehlo-name <NAME>': \
             it contains U+000D (a control character) at position 2\n"
        ),
        "{err}"
    );
    assert!(!err.contains('\r'), "the value is shown escaped: {err:?}");
    assert!(out.stdout.is_empty());
    assert!(run.dns_queries().is_empty());
    for (ip, server) in &run.smtp {
        assert_eq!(server.connections(), 0, "a connection to {ip}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ehlo_name_is_sent_as_given_and_nothing_but_ehlo_starttls_quit() {
    let mut w = World::new();
    let d = w.good_deployment("example.test");
    let run = w.start(d).await;
    let ehlos = |run: &crate::lab::Run| -> Vec<String> {
        run.smtp_commands("192.0.2.10")
            .into_iter()
            .filter(|c| c.verb() == "EHLO")
            .map(|c| c.line)
            .collect()
    };
    let out = run.mtasts(&["check", "example.test", "-q"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    only_ehlo_starttls_quit(&run);
    assert_eq!(ehlos(&run), ["EHLO mtasts.invalid"; 2]);

    let mut w = World::new();
    let d = w.good_deployment("example.test");
    let run = w.start(d).await;
    let out = run
        .mtasts(&["check", "example.test", "-q", "--ehlo-name", "[192.0.2.1]"])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    only_ehlo_starttls_quit(&run);
    assert_eq!(ehlos(&run), ["EHLO [192.0.2.1]"; 2]);
}

#[test]
fn option_values_are_refused_in_plain_sentences() {
    for (args, first_line) in [
        (
            &["check", "example.test", "--timeout", "0"][..],
            "error: invalid value \"0\" for '--timeout <SECONDS>': it must be more than 0 seconds",
        ),
        (
            &["check", "example.test", "--deadline", "7200"],
            "error: invalid value \"7200\" for '--deadline <SECONDS>': it must be at most 3600 seconds (an hour)",
        ),
        (
            &["check", "example.test", "--resolver", "0.0.0.0"],
            "error: invalid value \"0.0.0.0\" for '--resolver <IP[:PORT]>': \
             0.0.0.0 is the unspecified address: it means any address, not a nameserver",
        ),
        (
            &["check", "example.test", "--timeout", "1\x1b[2J"],
            "error: invalid value \"1\\x1b[2J\" for '--timeout <SECONDS>': it is not a number of seconds",
        ),
    ] {
        let out = crate::support::mtasts(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(stderr(&out).lines().next(), Some(first_line), "{args:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn color_always_colours_a_pipe_and_never_or_auto_do_not() {
    let mut w = World::new();
    let d = w.good_deployment("example.test");
    let run = w.start(d).await;
    for (args, coloured) in [
        (&["check", "example.test", "--color", "always"][..], true),
        (&["check", "example.test", "--color", "never"], false),
        (&["check", "example.test", "--color", "auto"], false),
        (&["check", "example.test"], false),
        (&["check", "example.test", "--no-color"], false),
    ] {
        let out = run.mtasts(args).await;
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(text.contains("\x1b["), coloured, "{args:?}:\n{text}");
    }
}

#[test]
fn no_color_is_hidden_from_the_help() {
    let out = crate::support::mtasts(&["check", "-h"]);
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("--color <WHEN>") && !help.contains("--no-color"),
        "{help}"
    );
}

#[test]
fn checks_as_json_is_a_versioned_document_like_the_others() {
    let out = crate::support::mtasts(&["checks", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let doc = json(&out);
    assert_eq!(doc["schema_version"], 2);
    assert_eq!(doc["tool"]["name"], "mtasts");
    let checks = doc["checks"].as_array().expect("checks");
    assert_eq!(checks.len(), mtasts::checks::Check::ALL.len());
    assert_eq!(checks[0]["id"], "dns-error");
    assert_eq!(checks[0]["severity"], "error");
}
