//! One run, many domains: the shared MX probes, the input list, sharding, streaming and
//! the order of the outputs, through the real binary.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use crate::lab::{Response, Run, Smtp, World};

/// The domain objects of a JSONL output, each line parsed alone.
fn lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn names(domains: &[serde_json::Value]) -> Vec<String> {
    domains
        .iter()
        .map(|d| d["domain"].as_str().expect("a domain name").to_string())
        .collect()
}

/// The domains of a JSONL output, sorted: lines come as domains are judged.
fn judged(stdout: &[u8]) -> BTreeSet<String> {
    names(&lines(stdout)).into_iter().collect()
}

fn set(domains: &[String]) -> BTreeSet<String> {
    domains.iter().cloned().collect()
}

fn list_file(text: &str) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().expect("a file");
    std::fs::write(file.path(), text).expect("write the list");
    file
}

fn smtp_sessions(run: &Run) -> usize {
    run.smtp.iter().map(|(_, s)| s.connections()).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hosted_providers_100_domains_cost_one_session_per_mx_address() {
    let (run, domains) = World::new().hosted(100).await;
    let file = list_file(&domains.join("\n"));
    let path = file.path().display().to_string();
    let out = run
        .mtasts(&["check", "--domains-file", &path, "--format", "jsonl"])
        .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let judged = lines(&out.stdout);
    assert_eq!(judged.len(), 100);
    for d in &judged {
        // A loaded machine may serve 100 policies slowly: that warning is the lab's.
        let ids: Vec<&str> = crate::support::ids(d)
            .into_iter()
            .filter(|id| *id != "sts-fetch-slow")
            .collect();
        assert!(ids.is_empty(), "{ids:?}");
        let probed: Vec<&serde_json::Value> = d["mx"]
            .as_array()
            .expect("mx hosts")
            .iter()
            .flat_map(|m| m["addresses"].as_array().expect("addresses"))
            .collect();
        assert_eq!(probed.len(), 4, "every domain reports its 4 MX addresses");
        assert!(probed.iter().all(|a| a["verdict"] == "pass"), "{d}");
    }
    assert_eq!(
        smtp_sessions(&run),
        4,
        "2 MX hosts x 2 addresses are probed once for the run, not once per domain"
    );
    crate::support::only_ehlo_starttls_quit(&run);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_broken_mx_is_reported_for_every_domain_that_uses_it() {
    // The probe is shared, the findings are not: each domain has its own, naming it.
    let mut w = World::new();
    let mut a = w.good_deployment("a.test");
    let mut b = w.good_deployment("b.test");
    b.mx = a.mx.clone();
    a.mx[0].addrs[0].smtp = Smtp::good().no_starttls();
    b.mx[0].addrs[0].smtp = Smtp::good().no_starttls();
    b.set_policy(Response::policy(&b.good_policy()));
    let run = w.start_all(vec![a, b]).await;
    let out = run
        .mtasts(&["check", "a.test", "b.test", "--format", "json"])
        .await;
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let judged = doc["domains"].as_array().expect("domains").clone();
    assert_eq!(names(&judged), ["a.test", "b.test"]);
    for d in &judged {
        let domain = d["domain"].as_str().expect("a domain");
        let starttls: Vec<&serde_json::Value> = d["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["id"] == "smtp-starttls-missing")
            .collect();
        assert_eq!(starttls.len(), 1, "{domain}: {d}");
        let message = starttls[0]["message"].as_str().expect("a message");
        assert!(message.contains("mx1.a.test"), "{message}");
    }
    assert_eq!(
        run.smtp("192.0.2.10").connections(),
        1,
        "the broken address is probed once for both domains"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_skips_comments_blanks_and_duplicates_and_names_a_bad_line() {
    let (run, domains) = World::new().hosted(3).await;
    let list = format!(
        "# our customers\n\n{}\n{}.  # the same, with a dot\nhttps://{}/\n{}\n{}\n",
        domains[0],
        domains[0].to_uppercase(),
        domains[1],
        domains[1],
        domains[2],
    );
    let file = list_file(&list);
    let path = file.path().display().to_string();
    let out = run
        .mtasts(&["check", "--domains-file", &path, "--format", "jsonl"])
        .await;
    assert_eq!(
        out.status.code(),
        Some(2),
        "a refused line is a usage error"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{path} line 5: ")) && stderr.contains(&domains[1]),
        "the bad line is named by its number, with the fix: {stderr}"
    );
    assert_eq!(lines(&out.stdout).len(), 3, "each domain once");
    assert_eq!(
        judged(&out.stdout),
        set(&domains),
        "the rest is still audited"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_on_standard_input_is_read_as_a_file_is() {
    let (run, domains) = World::new().hosted(3).await;
    let list = format!(
        "{}\n# comment\n{}\r\n{}",
        domains[0], domains[1], domains[2]
    );
    for dash in [&["check", "-"][..], &["check", "--domains-file", "-"]] {
        let mut args = dash.to_vec();
        args.extend(["--format", "jsonl"]);
        let out = run.mtasts_with_stdin(&args, list.as_bytes()).await;
        assert_eq!(out.status.code(), Some(0), "{dash:?}");
        assert_eq!(lines(&out.stdout).len(), 3, "{dash:?}");
        assert_eq!(judged(&out.stdout), set(&domains), "{dash:?}");
    }
    let out = run
        .mtasts_with_stdin(&["check", "--format", "jsonl", "-", &domains[0]], b"")
        .await;
    assert_eq!(
        names(&lines(&out.stdout)),
        [domains[0].clone()],
        "an empty list adds nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_list_is_a_usage_error() {
    let (run, domains) = World::new().hosted(1).await;
    let out = run
        .mtasts(&[
            "check",
            "--domains-file",
            "/nonexistent/domains.txt",
            &domains[0],
            "--format",
            "jsonl",
        ])
        .await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("reading /nonexistent/domains.txt"),
        "{stderr}"
    );
    assert_eq!(
        names(&lines(&out.stdout)),
        domains,
        "the domains given are audited"
    );
    let empty = list_file("# nothing yet\n\n");
    let path = empty.path().display().to_string();
    let out = run.mtasts(&["check", "--domains-file", &path]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no domain to audit"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_partition_the_input_exactly_and_are_stable_across_runs() {
    let (run, domains) = World::new().hosted(40).await;
    let file = list_file(&domains.join("\n"));
    let path = file.path().display().to_string();
    let shard = |k: u64| {
        let path = path.clone();
        let run = &run;
        async move {
            let spec = format!("{k}/3");
            let out = run
                .mtasts(&[
                    "check",
                    "--domains-file",
                    &path,
                    "--shard",
                    &spec,
                    "--format",
                    "jsonl",
                ])
                .await;
            assert_eq!(out.status.code(), Some(0), "shard {spec}");
            out.stdout
        }
    };
    let mut concatenated = Vec::new();
    let mut seen = BTreeSet::new();
    for k in 1..=3 {
        let stdout = shard(k).await;
        let mine = judged(&stdout);
        assert!(!mine.is_empty(), "40 domains leave no shard of 3 empty");
        for d in &mine {
            assert!(seen.insert(d.clone()), "{d} is in two shards");
        }
        assert_eq!(
            judged(&shard(k).await),
            mine,
            "shard {k}/3 is the same slice on every run"
        );
        concatenated.extend(stdout);
    }
    assert_eq!(seen, set(&domains));
    let all = lines(&concatenated);
    assert_eq!(
        all.len(),
        40,
        "the shards' outputs concatenate into one result"
    );
    assert!(all.iter().all(|d| d["schema_version"] == 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsonl_writes_a_domain_as_soon_as_it_is_judged() {
    let mut w = World::new();
    w.timeout = Duration::from_secs(20);
    let mut slow = w.good_deployment("slow.test");
    slow.mx[0].addrs[0].smtp = Smtp::good().tarpit();
    let quick = w.good_deployment("quick.test");
    let run = w.start_all(vec![slow, quick]).await;
    let mut child = run
        .command(&["check", "slow.test", "quick.test", "--format", "jsonl"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn mtasts");
    let stdout = child.stdout.take().expect("its standard output");
    let (first, child) = tokio::task::spawn_blocking(move || {
        let mut reader = BufReader::new(stdout);
        let mut first = String::new();
        reader.read_line(&mut first).expect("a line");
        // The tarpit holds slow.test for its 20 s timeout: the run is still going.
        let running = child.try_wait().expect("the child's state").is_none();
        let mut rest = String::new();
        reader.read_line(&mut rest).expect("a second line");
        (first, (child, running, rest))
    })
    .await
    .expect("the reading task");
    let (mut child, running, rest) = child;
    let first: serde_json::Value = serde_json::from_str(&first).expect("a line parses alone");
    assert_eq!(first["domain"], "quick.test");
    assert!(
        running,
        "the first line came out while slow.test was still waiting on its tarpit"
    );
    let rest: serde_json::Value = serde_json::from_str(&rest).expect("a line parses alone");
    assert_eq!(rest["domain"], "slow.test");
    let _ = child.wait();
}

/// With `--state` too, each line (drift included) comes as its domain is judged; the state
/// file is written once, at the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsonl_with_a_state_file_still_streams_each_domain_with_its_drift() {
    let mut w = World::new();
    w.timeout = Duration::from_secs(10);
    let mut slow = w.good_deployment("slow.test");
    slow.mx[0].addrs[0].smtp = Smtp::good().tarpit();
    let quick = w.good_deployment("quick.test");
    let run = w.start_all(vec![slow.clone(), quick.clone()]).await;
    let dir = tempfile::tempdir().expect("a directory");
    let state = dir.path().join("state.json");
    let state_arg = state.to_str().expect("a UTF-8 path");
    let seeded = run
        .mtasts(&["check", "quick.test", "--state", state_arg, "-q"])
        .await;
    assert_eq!(seeded.status.code(), Some(0));
    let seed = std::fs::read(&state).expect("the state");
    let mut renewed = quick;
    renewed.sts_txt = vec!["v=STSv1; id=20250101T000000".into()];
    run.set_dns(&[slow, renewed]);

    let mut child = run
        .command(&[
            "check",
            "slow.test",
            "quick.test",
            "--state",
            state_arg,
            "--format",
            "jsonl",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn mtasts");
    let stdout = child.stdout.take().expect("its standard output");
    let read_state = state.clone();
    let (first, running, kept, mut child, rest) = tokio::task::spawn_blocking(move || {
        let mut reader = BufReader::new(stdout);
        let mut first = String::new();
        reader.read_line(&mut first).expect("a line");
        // The tarpit holds slow.test for its timeout: the run is still going.
        let running = child.try_wait().expect("the child's state").is_none();
        let kept = std::fs::read(&read_state).expect("the state");
        let mut rest = String::new();
        reader.read_line(&mut rest).expect("a second line");
        (first, running, kept, child, rest)
    })
    .await
    .expect("the reading task");
    let first: serde_json::Value = serde_json::from_str(&first).expect("a line parses alone");
    assert_eq!(first["domain"], "quick.test");
    assert!(
        crate::support::ids(&first).contains(&"drift-id-changed-policy-same"),
        "{first:#}"
    );
    assert!(
        running,
        "the first line came out while slow.test was still waiting on its tarpit"
    );
    assert_eq!(
        kept, seed,
        "the state is written at the end, not as it goes"
    );
    let rest: serde_json::Value = serde_json::from_str(&rest).expect("a line parses alone");
    assert_eq!(rest["domain"], "slow.test");
    let _ = child.wait();
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&state).expect("the state")).expect("JSON");
    assert_eq!(
        written["domains"]["quick.test"]["id"], "20250101T000000",
        "{written:#}"
    );
    assert!(written["domains"].get("slow.test").is_some(), "{written:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_keeps_input_order_whatever_the_concurrency() {
    let mut w = World::new();
    let mut deployments = Vec::new();
    for i in 0..6 {
        let mut d = w.good_deployment(&format!("d{i}.test"));
        // The first domains answer slowest, so that they finish last when run at once.
        let delay = Duration::from_millis(150 * (6 - i));
        d.set_smtp(Smtp::good().slow_replies(delay));
        deployments.push(d);
    }
    let run = w.start_all(deployments).await;
    let input: Vec<String> = (0..6).map(|i| format!("d{i}.test")).collect();
    let mut outputs = Vec::new();
    for jobs in ["1", "6"] {
        let mut args = vec!["check", "--format", "json", "--jobs", jobs];
        args.extend(input.iter().map(String::as_str));
        let out = run.mtasts(&args).await;
        assert_eq!(out.status.code(), Some(0), "--jobs {jobs}");
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        let domains = doc["domains"].as_array().expect("domains").clone();
        assert_eq!(names(&domains), input, "--jobs {jobs}");
        outputs.push(domains);
    }
    let ids = |domains: &[serde_json::Value]| -> Vec<Vec<String>> {
        domains
            .iter()
            .map(|d| {
                crate::support::ids(d)
                    .into_iter()
                    .map(String::from)
                    .collect()
            })
            .collect()
    };
    assert_eq!(ids(&outputs[0]), ids(&outputs[1]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn human_output_ends_many_domains_with_a_summary_and_draws_no_bar_off_a_terminal() {
    let mut w = World::new();
    let good = w.good_deployment("good.test");
    let mut bad = w.good_deployment("bad.test");
    bad.set_smtp(Smtp::good().no_starttls());
    let run = w.start_all(vec![good, bad]).await;
    let out = run.mtasts(&["check", "good.test", "bad.test"]).await;
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let good_at = text.find("good.test\nDNS").expect("good.test's report");
    let bad_at = text.find("bad.test\nDNS").expect("bad.test's report");
    assert!(good_at < bad_at, "input order: {text}");
    assert!(
        text.contains(
            "2 domains: 1 pass, 0 warn, 1 fail, 0 not audited from here; 1 not enforce-ready"
        ),
        "{text}"
    );
    assert!(text.contains("Most common findings (domains):\n"), "{text}");
    assert!(
        text.contains("smtp-starttls-missing"),
        "the most common id is named: {text}"
    );
    assert!(text.contains("Slowest MX addresses:\n"), "{text}");
    assert!(
        out.stderr.is_empty(),
        "no progress bar on a standard error that is not a terminal: {:?}",
        String::from_utf8_lossy(&out.stderr)
    );

    let one = run.mtasts(&["check", "good.test"]).await;
    let text = String::from_utf8_lossy(&one.stdout);
    assert!(!text.contains("domains:"), "one domain, no summary: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_run_asks_dns_once_for_what_its_domains_share() {
    let (run, domains) = World::new().hosted(50).await;
    let file = list_file(&domains.join("\n"));
    let path = file.path().display().to_string();
    let out = run
        .mtasts(&["check", "--domains-file", &path, "--format", "jsonl"])
        .await;
    assert_eq!(out.status.code(), Some(0));
    let mut asked = std::collections::BTreeMap::<String, usize>::new();
    for q in run.dns_queries() {
        *asked.entry(format!("{} {}", q.name, q.rtype)).or_default() += 1;
    }
    let shared: Vec<(&String, &usize)> = asked
        .iter()
        .filter(|(q, _)| q.contains("provider.test"))
        .collect();
    assert!(
        shared.iter().all(|(_, n)| **n == 1),
        "each shared MX host's A, AAAA and TLSA asked once: {shared:?}"
    );
    let own = asked
        .iter()
        .filter(|(q, _)| q.contains("d7.customers.test"));
    for (q, n) in own {
        assert_eq!(*n, 1, "{q}");
    }
}
