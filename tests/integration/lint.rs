//! The two other ways in: `mtasts lint FILE` (offline) and `mtasts check --policy-file`
//! (a draft judged against the live DNS and MX hosts).

use std::io::Write;

use serde_json::Value;

use crate::lab::{Response, Smtp, World};
use crate::support::{ids, mtasts};

const GOOD: &str =
    "version: STSv1\nmode: enforce\nmx: mx1.example.test\nmx: mx2.example.test\nmax_age: 604800\n";

fn file(body: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().expect("a temp file");
    f.write_all(body.as_bytes()).expect("write");
    f
}

fn path(f: &tempfile::NamedTempFile) -> &str {
    f.path().to_str().expect("a UTF-8 path")
}

#[test]
fn lint_passes_a_good_policy_and_fails_a_bad_one() {
    let good = file(GOOD);
    let out = mtasts(&["lint", path(&good)]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("PASS"));

    let bad = file("version: STSv1\nmode: enforced\nmx: mx1.example.test\nmax_age: 604800\n");
    let out = mtasts(&["lint", path(&good), path(&bad), "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["schema_version"], 2);
    assert_eq!(doc["files"][0]["verdict"], "pass");
    assert_eq!(doc["files"][1]["verdict"], "fail");
    let finding = &doc["files"][1]["findings"][0];
    assert_eq!(finding["id"], "sts-policy-mode");
    assert_eq!(finding["subject"]["name"], path(&bad));
    assert_eq!(finding["result_type"], "sts-policy-invalid");
}

#[test]
fn lint_reads_standard_input() {
    let mut cmd = assert_cmd::Command::cargo_bin("mtasts").expect("the binary");
    let out = cmd
        .args(["lint", "-", "--fail-on", "warning"])
        .env_remove("NO_COLOR")
        .write_stdin("version: STSv1\r\nmode: testing\r\nmx: *.com\r\nmax_age: 86400\r\n")
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("sts-policy-mx-wildcard-broad") && text.contains("sts-policy-mode-testing"),
        "{text}"
    );
    assert!(
        text.contains("--policy-file"),
        "testing mode points at check --policy-file: {text}"
    );
}

#[test]
fn lint_reports_an_oversized_file_without_reading_it_all() {
    let big = file(&format!("{GOOD}{}", "x-padding: yes\n".repeat(10_000)));
    let out = mtasts(&["lint", path(&big), "--format", "json"]);
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["files"][0]["findings"][0]["id"], "sts-fetch-size");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn lint_of_a_missing_file_exits_2() {
    let out = mtasts(&["lint", "/nonexistent/policy.txt"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).starts_with("mtasts: reading /nonexistent/policy.txt")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_file_judges_a_draft_against_the_live_mx_hosts() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.mx[1].addrs[0].smtp = Smtp::good().no_starttls();
    let run = w.start(d).await;
    let draft = file("version: STSv1\nmode: enforce\nmx: mx1.example.test\nmax_age: 604800\n");
    let out = run
        .mtasts(&[
            "check",
            "example.test",
            "--policy-file",
            path(&draft),
            "--format",
            "json",
        ])
        .await;
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
    let d = &doc["domains"][0];
    assert_eq!(d["policy"]["source"], "draft");
    assert_eq!(d["policy"]["path"], path(&draft));
    let ids = ids(d);
    assert!(
        ids.contains(&"sts-mx-unmatched") && ids.contains(&"smtp-starttls-missing"),
        "{ids:?}"
    );
    assert_eq!(d["enforce_ready"], false);
    // The draft replaces the published policy in judgement; the published one is fetched
    // once, as senders fetch it, only to judge the change (plan-* checks).
    assert_eq!(run.https_requests("192.0.2.80").len(), 1);
    assert!(ids.contains(&"plan-mx-removed-from-policy"), "{ids:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_file_says_when_enforcing_a_draft_is_safe() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    // Live in testing already: the draft changes nothing senders cached.
    d.set_policy(Response::policy(
        &d.good_policy().replace("enforce", "testing"),
    ));
    let run = w.start(d).await;
    let draft = file(&GOOD.replace("enforce", "testing"));
    let out = run
        .mtasts(&["check", "example.test", "--policy-file", path(&draft)])
        .await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("switching to enforce is safe"), "{text}");
    assert!(text.contains(&format!("draft {}", path(&draft))), "{text}");
}
