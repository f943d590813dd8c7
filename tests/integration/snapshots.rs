//! The rendered output of lab deployments, pinned: human and JSON. What changes from run to
//! run (timings, certificate dates and serials, the lab's ports and files) is redacted.
//! Update with `INSTA_UPDATE=always cargo test snapshots` and review the diff.

use crate::lab::{Cert, Deployment, Response, Run, Smtp, World};

/// A testing deployment with something wrong at every stage: a policy line in the wrong
/// case and a blank line, no TLS-RPT record, an MX without STARTTLS, an expired certificate
/// on one address of a pool.
fn several_findings_deployment(w: &mut World) -> Deployment {
    let mut d = w.good_deployment("example.test");
    d.tlsrpt_txt.clear();
    d.set_policy(Response::policy(
        "version: STSv1\nmode: testing\n\nmx: mx1.example.test\nMX: mx2.example.test\nmax_age: 86400\n",
    ));
    d.mx[0].addrs[1].smtp = Smtp::good().cert(Cert::expired());
    d.mx[1].addrs[0].smtp = Smtp::good().no_starttls();
    d
}

async fn several_findings() -> Run {
    let mut w = World::new();
    let d = several_findings_deployment(&mut w);
    w.start(d).await
}

/// [`several_findings`] and a good deployment beside it.
async fn two_domains() -> Run {
    let mut w = World::new();
    let bad = several_findings_deployment(&mut w);
    let good = w.good_deployment("good.test");
    w.start_all(vec![bad, good]).await
}

fn filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"\d+ ms", "[ms]"),
        (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", "[time]"),
        (r"\d{4}-\d{2}-\d{2}", "[date]"),
        (r"\(less than a day ago\)|\(\d+ days? ago\)", "([ago])"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn human_output_of_a_deployment_with_several_findings() {
    let run = several_findings().await;
    let out = run.mtasts(&["check", "example.test"]).await;
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    insta::with_settings!({ filters => filters() }, {
        insta::assert_snapshot!(text);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_output_of_a_deployment_with_several_findings() {
    let run = several_findings().await;
    let out = run
        .mtasts(&["check", "example.test", "--format", "json"])
        .await;
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    lab_json(&[]).bind(|| insta::assert_json_snapshot!(doc));
}

/// The settings of a JSON document of a lab run: [`filters`] and `extra`, and the
/// run's resolver, CA file, times and certificates redacted.
fn lab_json(extra: &[(&str, &str)]) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    for (regex, replacement) in extra.iter().copied().chain(filters()) {
        settings.add_filter(regex, replacement);
    }
    for (selector, replacement) in [
        (".judged_at", "[time]"),
        (".options.resolver", "[lab resolver]"),
        (".options.ca_file", "[lab CA]"),
        (".domains[].judged_at", "[time]"),
        (".**.elapsed_ms", "[ms]"),
        (".**.total_ms", "[ms]"),
        (".**.certificates[].serial", "[serial]"),
        (".**.certificates[].sha256", "[sha256]"),
        (".**.certificates[].not_before", "[time]"),
        (".**.certificates[].not_after", "[time]"),
        (".**.certificates[].days_left", "[days]"),
    ] {
        settings.add_redaction(selector, replacement);
    }
    settings
}

/// Lines come as domains are judged; they are pinned sorted by domain, each parsed alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsonl_output_of_two_domains() {
    let run = two_domains().await;
    let out = run
        .mtasts(&["check", "example.test", "good.test", "--format", "jsonl"])
        .await;
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let mut lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a line parses alone"))
        .collect();
    lines.sort_by_key(|l| l["domain"].as_str().map(String::from));
    insta::with_settings!({ filters => filters() }, {
        insta::assert_json_snapshot!(lines, {
            "[].judged_at" => "[time]",
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

/// Two domains in input order, then the closing summary; which addresses were slowest
/// varies from run to run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn human_output_of_two_domains_ends_with_a_summary() {
    let run = two_domains().await;
    let out = run.mtasts(&["check", "example.test", "good.test"]).await;
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let mut filters = vec![(r"(?m)^ +\d+ ms  \S+ at \S+$", "  [slow address]")];
    filters.extend(self::filters());
    insta::with_settings!({ filters => filters }, {
        insta::assert_snapshot!(text);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn human_output_of_a_policy_file_judged_offline() {
    let file = tempfile::NamedTempFile::new().expect("a file");
    std::fs::write(
        file.path(),
        "# our policy\nversion: STSv1\nmode: enforced\nmx: mx1.example.com.\nmode: testing\nmax_age: 86400\n\n",
    )
    .expect("the policy");
    let path = file.path().to_str().expect("a path").to_string();
    let out = tokio::task::spawn_blocking(move || crate::support::mtasts(&["lint", &path]))
        .await
        .expect("the run");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let file_name = file.path().to_str().expect("a path").to_string();
    insta::with_settings!({ filters => vec![(file_name.as_str(), "[file]")] }, {
        insta::assert_snapshot!(text);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_output_of_a_deployment_with_several_findings() {
    let run = several_findings().await;
    let out = run
        .mtasts(&["check", "example.test", "--format", "github"])
        .await;
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    insta::with_settings!({ filters => filters() }, {
        insta::assert_snapshot!(text);
    });
}

/// Timestamps (the run's, the certificates' notAfter) vary from run to run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_output_of_two_domains() {
    let run = two_domains().await;
    let out = run
        .mtasts(&[
            "check",
            "example.test",
            "good.test",
            "--format",
            "prometheus",
        ])
        .await;
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let filters = vec![(
        r"(?m)(_timestamp_seconds(\{[^}]*\})?) \d+$",
        "$1 [timestamp]",
    )];
    insta::with_settings!({ filters => filters }, {
        insta::assert_snapshot!(text);
    });
}

/// A plan run (`--zone`) that adds an MX the live enforce policy lacks, in `format`: its
/// output, with the zone file's directory as `[dir]`.
async fn plan_run(format: &str) -> (String, String) {
    let run = crate::plan::live_with_room_for_mx3().await;
    let dir = tempfile::tempdir().expect("a directory");
    let zone = crate::plan::write(dir.path(), "example.test.zone", crate::plan::ZONE_WITH_MX3);
    let out = run
        .mtasts(&["check", "example.test", "--zone", &zone, "--format", format])
        .await;
    assert_eq!(out.status.code(), Some(1));
    let dir = regex::escape(dir.path().to_str().expect("a UTF-8 path"));
    (String::from_utf8(out.stdout).expect("utf-8"), dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn human_output_of_a_plan_adding_an_uncovered_mx() {
    let (text, dir) = plan_run("human").await;
    assert!(text.contains("plan-mx-uncovered"), "{text}");
    let mut filters = vec![(dir.as_str(), "[dir]")];
    filters.extend(self::filters());
    insta::with_settings!({ filters => filters }, {
        insta::assert_snapshot!(text);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_output_of_a_plan_adding_an_uncovered_mx() {
    let (text, dir) = plan_run("json").await;
    let doc: serde_json::Value = serde_json::from_str(&text).expect("json");
    lab_json(&[(&dir, "[dir]")]).bind(|| insta::assert_json_snapshot!(doc));
}

/// The second of two `--state` runs, in `format`, after the policy's max_age changed
/// without a new id: its output, with the state file's directory as `[dir]`.
async fn drift_run(format: &str) -> (String, String) {
    let (run, body, _) = crate::plan::changing_policy().await;
    let dir = tempfile::tempdir().expect("a directory");
    let state = dir.path().join("state.json");
    let state = state.to_str().expect("a UTF-8 path");
    let check = [
        "check",
        "example.test",
        "--state",
        state,
        "--format",
        format,
    ];
    assert_eq!(run.mtasts(&check).await.status.code(), Some(0));
    let shorter = body
        .lock()
        .expect("the body")
        .replace("max_age: 604800", "max_age: 86400");
    *body.lock().expect("the body") = shorter;
    let out = run.mtasts(&check).await;
    assert_eq!(out.status.code(), Some(1));
    let dir = regex::escape(dir.path().to_str().expect("a UTF-8 path"));
    (String::from_utf8(out.stdout).expect("utf-8"), dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn human_output_of_a_policy_changed_without_a_new_id_since_the_last_run() {
    let (text, dir) = drift_run("human").await;
    assert!(text.contains("drift-policy-id-unchanged"), "{text}");
    let mut filters = vec![(dir.as_str(), "[dir]")];
    filters.extend(self::filters());
    insta::with_settings!({ filters => filters }, {
        insta::assert_snapshot!(text);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_output_of_a_policy_changed_without_a_new_id_since_the_last_run() {
    let (text, dir) = drift_run("json").await;
    let doc: serde_json::Value = serde_json::from_str(&text).expect("json");
    lab_json(&[(&dir, "[dir]")]).bind(|| insta::assert_json_snapshot!(doc));
}
