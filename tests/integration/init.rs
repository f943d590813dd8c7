//! `mtasts init` end to end: a first deployment drafted in the lab passes `mtasts lint`,
//! and, published into a lab world, `mtasts check`; failing MX hosts, the file written
//! and not clobbered, and the vantage cases check shares.

use std::path::Path;

use serde_json::Value;

use crate::lab::{Deployment, Https, PolicyAddr, Response, Smtp, World};
use crate::support::{ids, json, mtasts};

/// A good deployment's DNS and MX hosts, before MTA-STS: no `_mta-sts` record, no policy
/// host, no TLS-RPT record.
fn before_mta_sts(w: &mut World) -> Deployment {
    let mut d = w.good_deployment("example.test");
    d.sts_txt.clear();
    d.tlsrpt_txt.clear();
    d.policy_addrs.clear();
    d
}

/// `d` with what init told to publish: its records, and its file served at the policy host.
fn publish(mut d: Deployment, draft: &Value, policy: &str) -> Deployment {
    let records = draft["records"].as_array().expect("records");
    let value = |name: &str| {
        records
            .iter()
            .find(|r| r["name"] == name)
            .and_then(|r| r["value"].as_str())
            .expect("the record")
            .to_string()
    };
    d.tlsrpt_txt = vec![value("_smtp._tls.example.test").as_str().into()];
    d.sts_txt = vec![value("_mta-sts.example.test").as_str().into()];
    d.policy_addrs = vec![PolicyAddr {
        ip: "192.0.2.80".parse().expect("an address"),
        https: Https::new(Response::policy(policy)),
    }];
    d
}

fn policy_file(dir: &Path) -> std::path::PathBuf {
    dir.join(".well-known").join("mta-sts.txt")
}

fn text(out: &std::process::Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("utf-8")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_output_passes_lint_and_once_published_check() {
    let mut w = World::new();
    let d = before_mta_sts(&mut w);
    let run = w.start(d.clone()).await;
    let dir = tempfile::tempdir().expect("a directory");
    let dir_arg = dir.path().display().to_string();
    let out = run
        .mtasts(&[
            "init",
            "example.test",
            "--format",
            "json",
            "--output",
            &dir_arg,
        ])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let doc = json(&out);
    assert_eq!(doc["passes"], true);
    let draft = &doc["draft"];
    let policy = std::fs::read_to_string(policy_file(dir.path())).expect("the file written");
    assert_eq!(
        policy,
        "version: STSv1\nmode: testing\nmx: mx1.example.test\nmx: mx2.example.test\nmax_age: 86400\n"
    );
    assert_eq!(draft["policy"]["text"], policy.as_str());
    assert_eq!(draft["output"]["result"], "written");
    let id = draft["records"][1]["value"].as_str().expect("the record");
    assert!(
        regex::Regex::new(r"^v=STSv1; id=\d{8}T\d{6}$")
            .expect("a pattern")
            .is_match(id),
        "{id}"
    );
    assert_eq!(
        draft["records"][0]["value"],
        "v=TLSRPTv1; rua=mailto:tlsrpt@example.test"
    );
    assert_eq!(
        ids(&doc["domain"]),
        [
            "init-tlsrpt-new",
            "init-wildcard",
            "sts-policy-mode-testing"
        ]
    );

    let path = policy_file(dir.path()).display().to_string();
    let lint = mtasts(&["lint", &path]);
    assert_eq!(lint.status.code(), Some(0), "{}", text(&lint));

    let mut w = World::new();
    let published = publish(before_mta_sts(&mut w), draft, &policy);
    let run = w.start(published).await;
    let check = run
        .mtasts(&["check", "example.test", "--format", "json"])
        .await;
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));
    let checked = &json(&check)["domains"][0];
    assert_eq!(ids(checked), ["sts-policy-mode-testing"]);
    assert_eq!(checked["enforce_ready"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enforce_draft_also_passes_check_once_published() {
    let mut w = World::new();
    let d = before_mta_sts(&mut w);
    let run = w.start(d).await;
    let out = run
        .mtasts(&[
            "init",
            "example.test",
            "--mode",
            "enforce",
            "--max-age",
            "604800",
            "--format",
            "json",
        ])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let doc = json(&out);
    let policy = doc["draft"]["policy"]["text"].as_str().expect("the policy");
    assert!(policy.contains("mode: enforce\n") && policy.contains("max_age: 604800\n"));
    let mut w = World::new();
    let published = publish(before_mta_sts(&mut w), &doc["draft"], policy);
    let run = w.start(published).await;
    let check = run.mtasts(&["check", "example.test"]).await;
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mx_failing_tls_with_enforce_exits_1_naming_the_host_and_why() {
    let mut w = World::new();
    let mut d = before_mta_sts(&mut w);
    d.mx[1].addrs[0].smtp = Smtp::good().no_starttls();
    let run = w.start(d).await;
    let dir = tempfile::tempdir().expect("a directory");
    let dir_arg = dir.path().display().to_string();
    let out = run
        .mtasts(&[
            "init",
            "example.test",
            "--mode",
            "enforce",
            "--output",
            &dir_arg,
        ])
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = text(&out);
    assert!(
        stdout.contains("init-mx-failing  mx2.example.test is listed in the policy, but fails TLS today (mx2.example.test at 192.0.2.20: STARTTLS not offered): in enforce mode senders that honour the policy refuse mail to it; fix its TLS first, or publish the policy in testing (`mtasts init example.test`) until it passes"),
        "{stdout}"
    );
    assert!(stdout.contains("sts-enforce-mx-refused"), "{stdout}");
    assert!(stdout.contains("smtp-starttls-missing"), "{stdout}");
    assert!(
        stdout.contains("The draft would not pass mtasts check"),
        "{stdout}"
    );
    assert!(
        !policy_file(dir.path()).exists(),
        "an enforce draft that fails is not written"
    );
    assert!(
        stdout.contains("not written to ")
            && stdout.contains("in enforce mode this draft would not pass mtasts check"),
        "{stdout}"
    );

    // In testing the host is listed and said too, and the file is written: senders deliver
    // as before.
    let out = run
        .mtasts(&[
            "init",
            "example.test",
            "--format",
            "json",
            "--output",
            &dir_arg,
        ])
        .await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "check fails on the MX without STARTTLS"
    );
    let doc = json(&out);
    assert_eq!(doc["passes"], false);
    let failing: Vec<&Value> = doc["domain"]["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["id"] == "init-mx-failing")
        .collect();
    assert_eq!(failing.len(), 1);
    assert!(
        failing[0]["message"]
            .as_str()
            .expect("a message")
            .ends_with("in testing mode senders still deliver to it, without validated TLS, and report the failure; fix its TLS before switching to enforce"),
        "{}",
        failing[0]["message"]
    );
    assert_eq!(
        doc["draft"]["mx"],
        serde_json::json!(["mx1.example.test", "mx2.example.test"])
    );
    assert!(policy_file(dir.path()).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_refuses_to_clobber_a_different_file_unless_forced() {
    let mut w = World::new();
    let d = before_mta_sts(&mut w);
    let run = w.start(d).await;
    let dir = tempfile::tempdir().expect("a directory");
    let dir_arg = dir.path().display().to_string();
    let file = policy_file(dir.path());
    std::fs::create_dir_all(file.parent().expect("a parent")).expect("the directories");
    std::fs::write(&file, "version: STSv1\nmode: none\nmax_age: 86400\n").expect("a file");

    let out = run
        .mtasts(&["init", "example.test", "--output", &dir_arg])
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("a different file is there; it was left as it is (--force replaces it)"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&file).expect("the file"),
        "version: STSv1\nmode: none\nmax_age: 86400\n"
    );

    let out = run
        .mtasts(&["init", "example.test", "--output", &dir_arg, "--force"])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("replaced (--force)"), "{}", text(&out));
    let written = std::fs::read_to_string(&file).expect("the file");
    assert!(
        written.starts_with("version: STSv1\nmode: testing\n"),
        "{written}"
    );

    let out = run
        .mtasts(&["init", "example.test", "--output", &dir_arg])
        .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "the same file again is no clobbering"
    );
    assert!(
        text(&out).contains("already holds it: unchanged"),
        "{}",
        text(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_deployment_is_a_rewrite_with_a_new_id() {
    let mut w = World::new();
    let d = w.good_deployment("example.test");
    let run = w.start(d).await;
    let out = run
        .mtasts(&["init", "example.test", "--format", "json"])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let doc = json(&out);
    assert_eq!(
        doc["draft"]["records"][0]["action"], "keep",
        "a usable TLS-RPT record is kept"
    );
    let rewrite = doc["domain"]["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["id"] == "init-rewrite")
        .expect("init-rewrite");
    let message = rewrite["message"].as_str().expect("a message");
    assert!(
        message.starts_with("MTA-STS is already deployed (_mta-sts.example.test publishes \"v=STSv1; id=20240101T000000\", mta-sts.example.test serves a policy): init drafts a rewrite; it changes id 20240101T000000 → "),
        "{message}"
    );
    assert!(
        message.ends_with("; mode enforce → testing; max_age 604800 → 86400"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_null_mx_gets_no_policy() {
    let mut w = World::new();
    let mut d = before_mta_sts(&mut w);
    d.mx = vec![crate::lab::Mx::new(0, ".", &[])];
    let run = w.start(d).await;
    let out = run
        .mtasts(&["init", "example.test", "--format", "json"])
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let doc = json(&out);
    assert_eq!(doc["draft"], Value::Null);
    assert_eq!(ids(&doc["domain"]), ["init-no-mx-host", "mx-null"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn port_25_blocked_here_exits_2_and_blames_no_one() {
    let mut w = World::new();
    let mut d = before_mta_sts(&mut w);
    d.set_smtp(Smtp::good().refused());
    let run = w.start(d).await;
    let out = run.mtasts(&["init", "example.test"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stdout = text(&out);
    assert!(stdout.contains("vantage-port25-blocked"), "{stdout}");
    assert!(
        stdout.trim_end().ends_with("Not everything could be checked from this network (exit 2): run mtasts init where outbound DNS and port 25 work."),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_dns_answers_here_exits_2_without_blaming_the_domain() {
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").expect("a socket");
    let resolver = silent.local_addr().expect("its address").to_string();
    let out = tokio::task::spawn_blocking(move || {
        mtasts(&[
            "init",
            "example.com",
            "--resolver",
            &resolver,
            "--timeout",
            "0.5",
            "--format",
            "json",
        ])
    })
    .await
    .expect("the run");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let doc = json(&out);
    assert_eq!(doc["draft"], Value::Null);
    assert_eq!(doc["passes"], Value::Null);
    assert_eq!(ids(&doc["domain"]), ["vantage-dns-unreachable"]);
    drop(silent);
}

#[test]
fn a_domain_that_is_not_one_is_refused() {
    let out = mtasts(&["init", "user@example.com"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("give the domain only: example.com"),
        "{stderr}"
    );
}

/// What differs from run to run: the id (the run's clock), timings and certificate dates.
fn filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"\d{8}T\d{6}", "[id]"),
        (r"\d+ ms", "[ms]"),
        (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", "[time]"),
        (r"\d{4}-\d{2}-\d{2}", "[date]"),
    ]
}

fn comparable(text: &str) -> String {
    filters()
        .iter()
        .fold(text.to_string(), |t, (pattern, with)| {
            regex::Regex::new(pattern)
                .expect("a pattern")
                .replace_all(&t, *with)
                .into_owned()
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn human_and_json_output_of_a_first_deployment() {
    let mut w = World::new();
    let d = before_mta_sts(&mut w);
    let run = w.start(d).await;
    let out = run.mtasts(&["init", "example.test"]).await;
    assert_eq!(out.status.code(), Some(0));
    let human = text(&out);
    let out = run
        .mtasts(&["init", "example.test", "--format", "json"])
        .await;
    let doc = json(&out);
    insta::with_settings!({ filters => filters() }, {
        insta::assert_snapshot!(human);
        insta::assert_json_snapshot!(doc, {
            ".domain.judged_at" => "[time]",
            ".**.elapsed_ms" => "[ms]",
            ".**.total_ms" => "[ms]",
            ".**.certificates[].serial" => "[serial]",
            ".**.certificates[].sha256" => "[sha256]",
            ".**.certificates[].not_before" => "[time]",
            ".**.certificates[].not_after" => "[time]",
            ".**.certificates[].days_left" => "[days]",
        });
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn human_output_of_an_enforce_draft_with_a_failing_mx() {
    let mut w = World::new();
    let mut d = before_mta_sts(&mut w);
    d.mx[1].addrs[0].smtp = Smtp::good().no_starttls();
    let run = w.start(d).await;
    let out = run
        .mtasts(&["init", "example.test", "--mode", "enforce"])
        .await;
    assert_eq!(out.status.code(), Some(1));
    insta::with_settings!({ filters => filters() }, {
        insta::assert_snapshot!(text(&out));
    });
}

/// The README's sample of `mtasts init` is what the binary prints for a first deployment
/// (`UPDATE_README=1` writes it anew).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_init_sample_is_real_output() {
    let mut w = World::new();
    let d = before_mta_sts(&mut w);
    let run = w.start(d).await;
    let out = run.mtasts(&["init", "example.test"]).await;
    let block = format!("```text\n$ mtasts init example.test\n{}```\n", text(&out));
    if std::env::var_os("UPDATE_README").is_some() {
        crate::readme::write_section("sample-init", &block);
        return;
    }
    let documented = crate::readme::section(&crate::readme::readme(), "sample-init");
    assert_eq!(comparable(&documented), comparable(&block));
}

#[test]
fn readme_init_usage_block_is_the_help() {
    let out = mtasts(&["init", "-h"]);
    let help = String::from_utf8(out.stdout).expect("utf-8");
    let block = format!("```text\n$ mtasts init -h\n{help}```\n");
    if std::env::var_os("UPDATE_README").is_some() {
        crate::readme::write_section("init-usage", &block);
        return;
    }
    assert_eq!(
        crate::readme::section(&crate::readme::readme(), "init-usage"),
        block
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skip_mx_never_reads_as_a_clean_pass_nor_writes_an_enforce_policy() {
    let mut w = World::new();
    let d = before_mta_sts(&mut w);
    let run = w.start(d).await;
    let dir = tempfile::tempdir().expect("a directory");
    let dir_arg = dir.path().display().to_string();
    let out = run
        .mtasts(&[
            "init",
            "example.test",
            "--skip-mx",
            "--mode",
            "enforce",
            "--output",
            &dir_arg,
        ])
        .await;
    assert_eq!(out.status.code(), Some(0), "check --skip-mx exits 0 too");
    let stdout = text(&out);
    assert!(stdout.contains("audit-mx-skipped"), "{stdout}");
    assert!(
        stdout.trim_end().ends_with(
            "The draft passes mtasts check, but its MX hosts were not checked (--skip-mx)."
        ),
        "{stdout}"
    );
    assert!(!policy_file(dir.path()).exists(), "{stdout}");
    assert_eq!(run.all_smtp_commands().len(), 0);
}
