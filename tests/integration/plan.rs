//! Plan mode (`--zone`, `--policy-file`: the planned state against the live one) and drift
//! between runs (`--state`), end to end in the lab; and the README's CI job and cron line.

use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::lab::{Deployment, Handler, Mx, Response, Run, Smtp, World};
use crate::support::{ids, json};

/// The live deployment's DNS as its team keeps it in git: the MX hosts' addresses are
/// not in it (they resolve live), `mx3` is new.
pub const ZONE_WITH_MX3: &str = r#"; example.test, as proposed
$ORIGIN example.test.
@            IN MX 10 mx1
@            IN MX 20 mx2
@            IN MX 30 mx3     ; the new host
mx3          IN A  192.0.2.30
_mta-sts     IN TXT "v=STSv1; " "id=20240101T000000"
_smtp._tls   IN TXT "v=TLSRPTv1; rua=mailto:tlsrpt@example.test"
mta-sts      IN A  192.0.2.80
"#;

/// The id live in the lab, and a new one.
const LIVE_ID: &str = "20240101T000000";
const NEW_ID: &str = "20250101T000000";

/// The live records exactly, as [`ZONE_WITH_MX3`] keeps them, but for the id: no mx3 MX
/// record, the TXT record in one string as the lab serves it.
fn live_zone(id: &str) -> String {
    ZONE_WITH_MX3
        .replace("@            IN MX 30 mx3     ; the new host\n", "")
        .replace(
            &format!(r#""v=STSv1; " "id={LIVE_ID}""#),
            &format!(r#""v=STSv1; id={id}""#),
        )
}

/// A draft of the live policy's rules (LF line endings where the lab serves CRLF).
const DRAFT: &str =
    "version: STSv1\nmode: enforce\nmx: mx1.example.test\nmx: mx2.example.test\nmax_age: 604800\n";

/// The world of a good deployment of example.test changed by `edit`.
async fn live_with(edit: impl FnOnce(&mut Deployment)) -> Run {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    edit(&mut d);
    w.start(d).await
}

/// The live policy in mode testing.
fn testing(d: &mut Deployment) {
    let policy = d.good_policy().replace("enforce", "testing");
    d.set_policy(Response::policy(&policy));
}

/// `mtasts check example.test --zone ZONE [--policy-file DRAFT] --format json` in `run`,
/// with `zone` and `draft` as the files' text: the domain's JSON.
async fn plan(run: &Run, zone: &str, draft: Option<&str>) -> Value {
    let dir = tempfile::tempdir().expect("a directory");
    let zone = write(dir.path(), "example.test.zone", zone);
    let mut args = vec!["check", "example.test", "--zone", &zone, "--format", "json"];
    let policy = draft.map(|text| write(dir.path(), "mta-sts.txt", text));
    if let Some(policy) = &policy {
        args.extend(["--policy-file", policy]);
    }
    let out = run.mtasts(&args).await;
    assert_ne!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json(&out)["domains"][0].clone()
}

/// The live world, with an SMTP server for the planned mx3.
pub async fn live_with_room_for_mx3() -> Run {
    let mut w = World::new();
    let d = w.good_deployment("example.test");
    let mut run = w.start(d).await;
    run.serve_smtp("192.0.2.30", "mx3.example.test", Smtp::good())
        .await;
    run
}

pub fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("written");
    path.to_str().expect("a UTF-8 path").to_string()
}

fn plan_ids(domain: &Value) -> Vec<&str> {
    ids(domain)
        .into_iter()
        .filter(|id| id.starts_with("plan-") || id.starts_with("drift-"))
        .collect()
}

/// The message of the one plan or drift finding of `domain`, which must be `id` at
/// `severity`.
#[track_caller]
fn only<'a>(domain: &'a Value, id: &str, severity: &str) -> &'a str {
    assert_eq!(plan_ids(domain), [id]);
    let f = finding(domain, id);
    assert_eq!(f["severity"], severity, "{f:#}");
    f["message"].as_str().expect("a message")
}

fn finding<'a>(domain: &'a Value, id: &str) -> &'a Value {
    domain["findings"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["id"] == id))
        .unwrap_or_else(|| panic!("no {id} in {domain:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zone_adding_an_mx_the_live_policy_lacks_is_flagged_with_the_advice_and_the_date() {
    let run = live_with_room_for_mx3().await;
    let dir = tempfile::tempdir().expect("a directory");
    let zone = write(dir.path(), "example.test.zone", ZONE_WITH_MX3);
    let out = run
        .mtasts(&["check", "example.test", "--zone", &zone, "--format", "json"])
        .await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = json(&out);
    // The report says how it was made.
    assert_eq!(doc["options"]["zones"], serde_json::json!([zone]));
    assert_eq!(doc["options"]["state"], Value::Null);
    let d = &doc["domains"][0];
    assert_eq!(plan_ids(d), ["plan-mx-uncovered"]);
    let f = finding(d, "plan-mx-uncovered");
    assert_eq!(f["severity"], "error");
    let message = f["message"].as_str().expect("a message");
    let pattern = regex::Regex::new(
        r"^new MX mx3\.example\.test is not in the live policy; senders that cached it \(max_age 604800\) refuse mail to it until (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)$",
    )
    .expect("a regex");
    let date = pattern
        .captures(message)
        .unwrap_or_else(|| panic!("{message}"))[1]
        .to_string();
    // A week from now, by the time library.
    let then = time::OffsetDateTime::parse(&date, &time::format_description::well_known::Rfc3339)
        .expect("RFC 3339")
        .unix_timestamp();
    let week = mtasts::unix_now() + 604_800;
    assert!((week - 60..=week).contains(&then), "{date}");
    assert_eq!(
        f["hint"],
        "Publish the policy first, change the id, wait max_age, then change MX."
    );
    // The new host was probed at the address the zone gives; the others at their live ones.
    assert!(!run.smtp_commands("192.0.2.30").is_empty());
    assert!(!run.smtp_commands("192.0.2.20").is_empty());
    // The planned policy (the live one here) does not cover it either.
    assert!(ids(d).contains(&"sts-mx-unmatched"), "{:?}", ids(d));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zone_that_matches_what_is_live_is_silent() {
    let run = live_with_room_for_mx3().await;
    let dir = tempfile::tempdir().expect("a directory");
    // The live records exactly (the TXT record in one string, as the lab serves it).
    let zone = write(dir.path(), "example.test.zone", &live_zone(LIVE_ID));
    let out = run
        .mtasts(&["check", "example.test", "--zone", &zone, "--format", "json"])
        .await;
    assert_eq!(out.status.code(), Some(0));
    let doc = json(&out);
    assert!(
        ids(&doc["domains"][0]).is_empty(),
        "{:#}",
        doc["domains"][0]["findings"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_policy_changed_without_a_new_id_in_the_zone_is_an_error() {
    let run = live_with_room_for_mx3().await;
    let dir = tempfile::tempdir().expect("a directory");
    let zone = write(dir.path(), "example.test.zone", ZONE_WITH_MX3);
    let draft = "version: STSv1\nmode: enforce\nmx: mx1.example.test\nmx: mx2.example.test\nmx: mx3.example.test\nmax_age: 604800\n";
    let policy = write(dir.path(), "mta-sts.txt", draft);
    let args = [
        "check",
        "example.test",
        "--zone",
        &zone,
        "--policy-file",
        &policy,
        "--format",
        "json",
    ];
    let doc = json(&run.mtasts(&args).await);
    let d = &doc["domains"][0];
    assert_eq!(
        plan_ids(d),
        ["plan-policy-id-unchanged", "plan-mx-uncovered"]
    );
    let message = finding(d, "plan-policy-id-unchanged")["message"]
        .as_str()
        .expect("a message");
    assert!(
        message.starts_with("_mta-sts.example.test: the policy changes (mx added: mx3.example.test) but the id stays 20240101T000000"),
        "{message}"
    );
    // With a new id, only the cached senders' refusal remains.
    let zone = write(
        dir.path(),
        "example.test.zone",
        &ZONE_WITH_MX3.replace("id=20240101T000000", "id=20250101T000000"),
    );
    let args = [
        "check",
        "example.test",
        "--zone",
        &zone,
        "--policy-file",
        &policy,
        "--format",
        "json",
    ];
    let doc = json(&run.mtasts(&args).await);
    assert_eq!(plan_ids(&doc["domains"][0]), ["plan-mx-uncovered"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_mx_the_live_testing_policy_lacks_is_a_warning() {
    let mut run = live_with(testing).await;
    run.serve_smtp("192.0.2.30", "mx3.example.test", Smtp::good())
        .await;
    let d = plan(&run, ZONE_WITH_MX3, None).await;
    let m = only(&d, "plan-mx-uncovered-testing", "warning");
    assert!(m.starts_with(
            "new MX mx3.example.test is not in the live policy; senders that cached it (max_age 604800) report every session with it as a failure until "
        ), "{m}");
    // Without the new MX there is nothing to say.
    assert!(plan_ids(&plan(&run, &live_zone(LIVE_ID), None).await).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mx_dropped_from_the_draft_while_dns_still_gives_it_is_an_error() {
    let run = live_with(|_| {}).await;
    let only_mx1 = DRAFT.replace("mx: mx2.example.test\n", "");
    let d = plan(&run, &live_zone(NEW_ID), Some(&only_mx1)).await;
    let m = only(&d, "plan-mx-removed-from-policy", "error");
    assert!(m.ends_with(
            "mx2.example.test is dropped from the policy while DNS still gives it as an MX: senders that fetch the new policy refuse mail to it"
        ), "{m}");
    // Once the zone drops the MX record too, dropping the line is right.
    let without_mx2 = live_zone(NEW_ID).replace("@            IN MX 20 mx2\n", "");
    assert!(plan_ids(&plan(&run, &without_mx2, Some(&only_mx1)).await).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_switch_to_enforce_while_an_mx_fails_is_an_error() {
    let run = live_with(|d| {
        testing(d);
        d.mx[1].addrs[0].smtp = Smtp::good().no_starttls();
    })
    .await;
    let d = plan(&run, &live_zone(NEW_ID), Some(DRAFT)).await;
    let m = only(&d, "plan-enforce-mx-failing", "error");
    assert!(
        m.contains("the plan switches to enforce while senders would refuse: mx2.example.test"),
        "{m}"
    );
    // With every MX host good, the switch is safe.
    let run = live_with(testing).await;
    assert!(plan_ids(&plan(&run, &live_zone(NEW_ID), Some(DRAFT)).await).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shrinking_max_age_says_until_when_the_live_one_binds() {
    let run = live_with(|_| {}).await;
    let shorter = DRAFT.replace("604800", "86400");
    let d = plan(&run, &live_zone(NEW_ID), Some(&shorter)).await;
    let m = only(&d, "plan-max-age-shrunk", "info");
    assert!(m.contains(
            "max_age shrinks from 604800 to 86400: senders that cached the live policy hold it until "
        ), "{m}");
    // A longer one binds at once.
    let longer = DRAFT.replace("604800", "1209600");
    assert!(plan_ids(&plan(&run, &live_zone(NEW_ID), Some(&longer)).await).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_id_for_the_live_policy_is_info() {
    let run = live_with(|_| {}).await;
    let d = plan(&run, &live_zone(NEW_ID), None).await;
    let m = only(&d, "plan-id-changed-policy-same", "info");
    assert!(
        m.ends_with(&format!(
            "the id changes from {LIVE_ID} to {NEW_ID} while the policy applies as before"
        )),
        "{m}"
    );
    // The same policy rewritten (LF for CRLF) with a new id: still the same policy.
    let d = plan(&run, &live_zone(NEW_ID), Some(DRAFT)).await;
    assert_eq!(plan_ids(&d), ["plan-id-changed-policy-same"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zone_with_a_syntax_error_gives_the_file_and_line() {
    let run = live_with_room_for_mx3().await;
    let dir = tempfile::tempdir().expect("a directory");
    let broken = ZONE_WITH_MX3.replace(
        "mx3          IN A  192.0.2.30",
        "mx3          IN A  192.0.2",
    );
    let zone = write(dir.path(), "example.test.zone", &broken);
    let out = run
        .mtasts(&["check", "example.test", "--zone", &zone])
        .await;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(&format!("mtasts: {zone} line 6: ")),
        "{err}"
    );
    assert!(out.stdout.is_empty());
    // Nothing was audited.
    assert!(run.dns_queries().is_empty());
}

/// The world of `example.test` whose policy body can be changed between runs, and its
/// deployment (to change its DNS with [`new_id`]).
pub async fn changing_policy() -> (Run, Arc<Mutex<String>>, Deployment) {
    let mut w = World::new();
    let mut d: Deployment = w.good_deployment("example.test");
    let body = Arc::new(Mutex::new(d.good_policy()));
    let served = body.clone();
    d.set_policy(Handler::func(move |_| {
        Response::policy(&served.lock().expect("the body").clone())
    }));
    (w.start(d.clone()).await, body, d)
}

/// Serves `d` with `id` in its `_mta-sts` record from now on.
fn new_id(run: &Run, d: &Deployment, id: &str) {
    let mut d = d.clone();
    d.sts_txt = vec![format!("v=STSv1; id={id}").as_str().into()];
    run.set_dns(&[d]);
}

/// `mtasts check example.test --state STATE --format json` in `run`: the domain's JSON.
async fn drift(run: &Run, state: &Path) -> Value {
    let state = state.to_str().expect("a UTF-8 path");
    let out = run
        .mtasts(&[
            "check",
            "example.test",
            "--state",
            state,
            "--format",
            "json",
        ])
        .await;
    assert_ne!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json(&out)["domains"][0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mx_set_changed_between_runs_says_whether_the_policy_covers_it() {
    let mut w = World::new();
    let d = w.good_deployment("example.test");
    let mut run = w.start(d.clone()).await;
    run.serve_smtp("192.0.2.30", "mx3.example.test", Smtp::good())
        .await;
    let dir = tempfile::tempdir().expect("a directory");
    let state = dir.path().join("state.json");
    assert!(plan_ids(&drift(&run, &state).await).is_empty());
    let mut moved = d.clone();
    moved
        .mx
        .push(Mx::new(30, "mx3.example.test", &["192.0.2.30"]));
    run.set_dns(&[moved]);
    let now = drift(&run, &state).await;
    let m = only(&now, "drift-mx-changed", "info");
    assert!(m.ends_with(
            "the MX set changed since the last run (added mx3.example.test): the policy does not cover mx3.example.test"
        ), "{m}");
    // Seen once, it is no news.
    assert!(plan_ids(&drift(&run, &state).await).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_replaced_between_runs_is_reported_at_its_address() {
    let mut w = World::new();
    let d = w.good_deployment("example.test");
    let mut run = w.start(d).await;
    let dir = tempfile::tempdir().expect("a directory");
    let state = dir.path().join("state.json");
    assert!(plan_ids(&drift(&run, &state).await).is_empty());
    run.serve_smtp("192.0.2.20", "mx2.example.test", Smtp::good())
        .await;
    let now = drift(&run, &state).await;
    let m = only(&now, "drift-cert-replaced", "info");
    assert!(m.contains(
            "the certificate of mx2.example.test at 192.0.2.20 was replaced since the last run (SHA-256 "
        ), "{m}");
    assert!(plan_ids(&drift(&run, &state).await).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mode_raised_with_a_new_id_is_news_and_one_lowered_is_lost_protection() {
    let (run, body, d) = changing_policy().await;
    let enforce = d.good_policy();
    let testing = enforce.replace("enforce", "testing");
    let dir = tempfile::tempdir().expect("a directory");
    let state = dir.path().join("state.json");
    *body.lock().expect("the body") = testing.clone();
    assert!(plan_ids(&drift(&run, &state).await).is_empty());

    *body.lock().expect("the body") = enforce;
    new_id(&run, &d, NEW_ID);
    let now = drift(&run, &state).await;
    let m = only(&now, "drift-mode-changed", "info");
    assert!(
        m.ends_with("the mode changed from testing to enforce since the last run"),
        "{m}"
    );

    *body.lock().expect("the body") = testing;
    new_id(&run, &d, "20250201T000000");
    let now = drift(&run, &state).await;
    let m = only(&now, "drift-mode-downgraded", "warning");
    assert!(
        m.ends_with("the mode changed from enforce to testing since the last run"),
        "{m}"
    );
    assert!(plan_ids(&drift(&run, &state).await).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_id_for_the_same_policy_between_runs_is_info() {
    let (run, _, d) = changing_policy().await;
    let dir = tempfile::tempdir().expect("a directory");
    let state = dir.path().join("state.json");
    assert!(plan_ids(&drift(&run, &state).await).is_empty());
    new_id(&run, &d, NEW_ID);
    let now = drift(&run, &state).await;
    let m = only(&now, "drift-id-changed-policy-same", "info");
    assert!(m.ends_with(&format!(
            "the id changed from {LIVE_ID} to {NEW_ID} since the last run while the policy applies as before"
        )), "{m}");
    assert!(plan_ids(&drift(&run, &state).await).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_changed_without_a_new_id_is_caught_across_two_runs() {
    let (run, body, _) = changing_policy().await;
    let dir = tempfile::tempdir().expect("a directory");
    let state = dir.path().join("state.json");
    let state = state.to_str().expect("a UTF-8 path");
    let check = [
        "check",
        "example.test",
        "--state",
        state,
        "--format",
        "json",
    ];
    let first = run.mtasts(&check).await;
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let doc = json(&first);
    assert!(plan_ids(&doc["domains"][0]).is_empty());
    assert_eq!(doc["options"]["state"], state);
    assert_eq!(doc["options"]["zones"], serde_json::json!([]));
    let kept: Value =
        serde_json::from_slice(&std::fs::read(state).expect("the state")).expect("JSON");
    assert_eq!(kept["schema"], "mtasts-state");
    assert_eq!(kept["domains"]["example.test"]["id"], "20240101T000000");
    assert_eq!(kept["domains"]["example.test"]["policy"]["mode"], "enforce");

    let testing = body.lock().expect("the body").replace("enforce", "testing");
    *body.lock().expect("the body") = testing;
    let second = run.mtasts(&check).await;
    assert_eq!(second.status.code(), Some(1));
    let doc = json(&second);
    let d = &doc["domains"][0];
    assert_eq!(
        plan_ids(d),
        ["drift-policy-id-unchanged", "drift-mode-downgraded"]
    );
    assert!(
        finding(d, "drift-policy-id-unchanged")["message"]
            .as_str()
            .is_some_and(
                |m| m.contains("(mode enforce → testing) but the id is still 20240101T000000")
            ),
        "{d:#}"
    );
    // The state now holds what was seen: a third run has nothing new to say.
    let third = run.mtasts(&check).await;
    assert!(plan_ids(&json(&third)["domains"][0]).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_file_not_ours_is_reported_and_left_byte_for_byte() {
    let (run, _, _) = changing_policy().await;
    let dir = tempfile::tempdir().expect("a directory");
    for (bytes, why) in [
        (
            &b"{\"schema\": \"mtasts-state\", \"version\": 1, \"domains\": {\"example.test\": 7}\n"
                [..],
            "is not JSON",
        ),
        (
            b"{\"schema\": \"mtasts-state\", \"version\": 1, \"domains\": {\"example.test\": 7}}",
            "is corrupt",
        ),
        (
            b"{\"schema\": \"mtasts-state\", \"version\": 9, \"domains\": {}}",
            "is of version 9",
        ),
        (b"{\"servers\": [1, 2, 3]}", "is not an mtasts state file"),
        (b"\x00\xff binary", "is not JSON"),
    ] {
        let path = dir.path().join("state.json");
        std::fs::write(&path, bytes).expect("written");
        let state = path.to_str().expect("a UTF-8 path");
        let out = run
            .mtasts(&["check", "example.test", "--state", state])
            .await;
        assert_eq!(out.status.code(), Some(2), "{why}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.starts_with(&format!("mtasts: the state file {state} {why}"))
                && err.contains("left as it is"),
            "{err}"
        );
        assert_eq!(std::fs::read(&path).expect("still there"), bytes, "{why}");
        assert_eq!(std::fs::read_dir(dir.path()).expect("listed").count(), 1);
    }
    assert!(run.dns_queries().is_empty(), "nothing was audited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_state_serves_a_list_and_keeps_the_domains_a_run_leaves_out() {
    let mut w = World::new();
    let a = w.good_deployment("a.test");
    let b = w.good_deployment("b.test");
    let run = w.start_all(vec![a, b]).await;
    let dir = tempfile::tempdir().expect("a directory");
    let list = write(dir.path(), "domains.txt", "a.test\nb.test\n");
    let state = dir.path().join("state.json");
    let state = state.to_str().expect("a UTF-8 path");
    let out = run
        .mtasts(&[
            "check",
            "--domains-file",
            &list,
            "--state",
            state,
            "--format",
            "jsonl",
            "-q",
        ])
        .await;
    assert_eq!(out.status.code(), Some(0));
    let out = run
        .mtasts(&["check", "a.test", "--state", state, "-q"])
        .await;
    assert_eq!(out.status.code(), Some(0));
    let kept: Value =
        serde_json::from_slice(&std::fs::read(state).expect("the state")).expect("JSON");
    let domains: Vec<&String> = kept["domains"]
        .as_object()
        .expect("domains")
        .keys()
        .collect();
    assert_eq!(domains, ["a.test", "b.test"]);
}

/// The `mtasts check ...` line of a README section, as words, from `mtasts` on.
fn readme_command(name: &str) -> Vec<String> {
    let section = crate::readme::section(&crate::readme::readme(), name);
    let line = section
        .lines()
        .find_map(|l| l.find("mtasts check").map(|at| &l[at..]))
        .unwrap_or_else(|| panic!("no mtasts check in the README's {name} section"));
    line.split_whitespace()
        .skip(1)
        .map(str::to_string)
        .collect()
}

/// Runs `words` (the README's, example.com made example.test) in the lab from `dir`.
fn run_in(
    run: &Run,
    dir: &Path,
    words: &[String],
    replace: &[(&str, String)],
) -> std::process::Output {
    let words: Vec<String> = words
        .iter()
        .map(|w| {
            replace
                .iter()
                .fold(w.replace("example.com", "example.test"), |w, (from, to)| {
                    w.replace(from, to)
                })
        })
        .collect();
    let args: Vec<&str> = words.iter().map(String::as_str).collect();
    run.command(&args)
        .current_dir(dir)
        .output()
        .expect("mtasts runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_ci_job_fails_a_premature_mx_change_and_passes_the_safe_first_step() {
    let run = live_with_room_for_mx3().await;
    let dir = tempfile::tempdir().expect("a directory");
    std::fs::create_dir_all(dir.path().join("zones")).expect("zones/");
    std::fs::create_dir_all(dir.path().join("mta-sts")).expect("mta-sts/");
    let words = readme_command("ci-job");
    assert!(words.iter().any(|w| w == "--zone") && words.iter().any(|w| w == "--fail-on"));
    let draft = "version: STSv1\nmode: enforce\nmx: mx1.example.test\nmx: mx2.example.test\nmx: mx3.example.test\nmax_age: 604800\n";
    write(dir.path(), "mta-sts/mta-sts.txt", draft);
    // The MX record added in the same change as the policy: cached senders refuse mx3.
    let new_id = ZONE_WITH_MX3.replace("id=20240101T000000", "id=20250101T000000");
    write(dir.path(), "zones/example.test.zone", &new_id);
    let out = run_in(&run, dir.path(), &words, &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("plan-mx-uncovered"), "{text}");
    // Step one of the advice: the policy and a new id, the MX records as they are.
    let first_step = new_id.replace("@            IN MX 30 mx3     ; the new host\n", "");
    write(dir.path(), "zones/example.test.zone", &first_step);
    let out = run_in(&run, dir.path(), &words, &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(!text.contains("plan-"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_cron_line_reports_a_policy_changed_without_a_new_id() {
    let (run, body, _) = changing_policy().await;
    let dir = tempfile::tempdir().expect("a directory");
    let words = readme_command("cron");
    assert!(words.iter().any(|w| w == "--state"));
    let at = format!("{}/", dir.path().display());
    let replace = [("/etc/mtasts/", at.clone()), ("/var/lib/mtasts/", at)];
    write(dir.path(), "domains.txt", "example.test\n");
    let out = run_in(&run, dir.path(), &words, &replace);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let changed = body
        .lock()
        .expect("the body")
        .replace("max_age: 604800", "max_age: 86400");
    *body.lock().expect("the body") = changed;
    let out = run_in(&run, dir.path(), &words, &replace);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("drift-policy-id-unchanged"), "{text}");
}

/// A policy host that the zone points elsewhere with a CNAME: the chain is followed into
/// live DNS and shown, so a CNAME to a name that is gone is reported as such, not as a
/// policy host that does not exist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zone_cname_out_of_the_zone_is_followed_live_and_shown() {
    let run = live_with_room_for_mx3().await;
    let dir = tempfile::tempdir().expect("a directory");
    let zone = ZONE_WITH_MX3.replace(
        "mta-sts      IN A  192.0.2.80",
        "mta-sts      IN CNAME sts.gone.test.",
    );
    let zone = write(dir.path(), "example.test.zone", &zone);
    let out = run
        .mtasts(&["check", "example.test", "--zone", &zone, "--format", "json"])
        .await;
    let doc = json(&out);
    let host = &doc["domains"][0]["policy"]["host_addresses"];
    for family in ["a", "aaaa"] {
        assert_eq!(
            host[family]["cnames"],
            serde_json::json!(["sts.gone.test"]),
            "{host:#}"
        );
    }
}
