//! The README stays true: its check table, usage block and JSON example are compared with
//! what the binary says.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::lab::{Cert, Mx, Response, Run, Smtp, Tlsa, World};
use crate::support::mtasts;

pub(crate) fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md")
}

/// The README with the text between `<!-- name -->` and `<!-- /name -->` replaced by
/// `new`, written back: what `UPDATE_README=1` does.
pub(crate) fn write_section(name: &str, new: &str) {
    let readme = readme();
    let start = format!("<!-- {name} -->\n");
    let from = readme.find(&start).expect("the start marker") + start.len();
    let to = readme[from..]
        .find(&format!("<!-- /{name} -->"))
        .expect("its end marker")
        + from;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
    let written = format!("{}{new}{}", &readme[..from], &readme[to..]);
    std::fs::write(path, written).expect("README.md written");
}

/// The text between `<!-- name -->` and `<!-- /name -->`.
pub(crate) fn section(readme: &str, name: &str) -> String {
    let start = format!("<!-- {name} -->\n");
    let from = readme
        .find(&start)
        .unwrap_or_else(|| panic!("no {start} in README"))
        + start.len();
    let to = readme[from..]
        .find(&format!("<!-- /{name} -->"))
        .expect("its end marker")
        + from;
    readme[from..to].to_string()
}

#[test]
fn readme_check_table_is_the_registry() {
    let out = mtasts(&["checks"]);
    assert_eq!(
        section(&readme(), "checks"),
        String::from_utf8(out.stdout).expect("utf-8")
    );
}

/// The table of [What senders do](README.md#what-senders-do), from `mtasts::senders`.
fn senders_table() -> String {
    let mut table = String::from("| case | checks | what senders do |\n|---|---|---|\n");
    for fact in mtasts::senders::ALL {
        let checks: Vec<String> = fact
            .checks
            .iter()
            .map(|c| format!("`{}`", c.id()))
            .collect();
        table.push_str(&format!(
            "| {} | {} | {} |\n",
            fact.case,
            checks.join(", "),
            fact.senders
        ));
    }
    table
}

#[test]
fn readme_lists_every_place_where_the_verdict_rests_on_what_senders_do() {
    let readme = readme();
    if std::env::var_os("UPDATE_README").is_some() {
        write_section("senders", &senders_table());
        return;
    }
    assert_eq!(section(&readme, "senders"), senders_table());
}

#[test]
fn readme_usage_block_is_the_help() {
    let out = mtasts(&["check", "-h"]);
    let help = String::from_utf8(out.stdout).expect("utf-8");
    assert_eq!(
        section(&readme(), "check-usage"),
        format!("```text\n$ mtasts check -h\n{help}```\n")
    );
}

/// Every field path of a JSON value, arrays written as `[]`.
pub(crate) fn paths(value: &Value, at: String, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let p = format!("{at}.{k}");
                out.insert(p.clone());
                paths(v, p, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| paths(v, format!("{at}[]"), out)),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_json_example_has_exactly_the_real_fields() {
    let readme = readme();
    let example = section(&readme, "json-example");
    let example = example
        .trim()
        .strip_prefix("```json")
        .and_then(|s| s.strip_suffix("```"))
        .expect("a json block");
    let example: Value = serde_json::from_str(example).expect("the README example is JSON");

    // The world the example comes from: TLSA published, one certificate expiring.
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.mx[0].tlsa = vec![Tlsa {
        usage: 3,
        selector: 1,
        matching: 1,
        data: None,
    }];
    d.mx[1].addrs[0].smtp = Smtp::good().cert(Cert::expiring_in(9));
    let run = w.start(d).await;
    let out = run
        .mtasts(&["check", "example.test", "--format", "json"])
        .await;
    let real: Value = serde_json::from_slice(&out.stdout).expect("json");
    if std::env::var_os("UPDATE_README").is_some() {
        write_example(&real);
        return;
    }

    let (mut documented, mut emitted) = (BTreeSet::new(), BTreeSet::new());
    paths(&example, String::new(), &mut documented);
    paths(&real, String::new(), &mut emitted);
    assert_eq!(
        documented, emitted,
        "README JSON example and real output differ"
    );
    assert_eq!(example["schema_version"], real["schema_version"]);
}

/// `UPDATE_README=1 cargo test readme_json_example`: writes the real output into the
/// README, every list cut to one element (the one with the most fields), as the example
/// promises.
fn write_example(real: &Value) {
    fn shorten(v: &mut Value) {
        match v {
            Value::Array(items) => {
                let fields = |v: &Value| {
                    let mut found = BTreeSet::new();
                    paths(v, String::new(), &mut found);
                    found.len()
                };
                if let Some(richest) = items.iter().max_by_key(|v| fields(v)).cloned() {
                    *items = vec![richest];
                }
                items.iter_mut().for_each(shorten);
            }
            Value::Object(map) => map.values_mut().for_each(shorten),
            _ => {}
        }
    }
    let mut short = real.clone();
    shorten(&mut short);
    let text = serde_json::to_string_pretty(&short).expect("json");
    write_section("json-example", &format!("```json\n{text}\n```\n"));
}

/// The first failing sample: a policy problem, an expired certificate on one address of
/// a pool, an MX without STARTTLS, no TLS-RPT record.
async fn policy_problems() -> Run {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.tlsrpt_txt.clear();
    d.set_policy(Response::policy(
        "version: STSv1\nmode: testing\nmx: mx1.example.test\nmx: mx3.example.test\nmax_age: 86400\n",
    ));
    d.mx[0].addrs[1].smtp = Smtp::good().cert(Cert::expired());
    d.mx[1].addrs[0].smtp = Smtp::good().no_starttls();
    w.start(d).await
}

/// The second: each MX host's failure on its own address.
async fn mx_failures() -> Run {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.mx.push(Mx::new(30, "mx3.example.test", &["192.0.2.30"]));
    d.set_policy(Response::policy(&d.good_policy()));
    d.mx[0].addrs[1].smtp = Smtp::good().cert(Cert::good().names(&["mail.example.test"]));
    d.mx[1].addrs[0].smtp = Smtp::good().legacy_tls(0x0301);
    d.mx[2].addrs[0].smtp =
        Smtp::good().starttls_reply("454 4.7.0 TLS not available due to local problem");
    w.start(d).await
}

/// The closing summary's sample: three domains, one passing, one without TLS-RPT, one
/// whose policy misses an MX host.
async fn many_domains() -> Run {
    let mut w = World::new();
    let alpha = w.good_deployment("alpha.test");
    let mut bravo = w.good_deployment("bravo.test");
    bravo.tlsrpt_txt.clear();
    let mut charlie = w.good_deployment("charlie.test");
    charlie.set_policy(Response::policy(
        "version: STSv1\r\nmode: enforce\r\nmx: mx1.charlie.test\r\nmax_age: 604800\r\n",
    ));
    w.start_all(vec![alpha, bravo, charlie]).await
}

/// The summary of a run of many domains: from its first line on.
fn summary_of(text: &str) -> String {
    let from = text.find("\n3 domains: ").expect("the closing summary") + 1;
    format!(
        "```text\n$ mtasts check --domains-file customers.txt\n...\n{}```\n",
        &text[from..]
    )
}

/// Output with what differs from run to run (timings, dates) made alike.
fn comparable(text: &str) -> String {
    let rules = [
        (r"\d+ ms", "N ms"),
        (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", "TIME"),
        (r"\d{4}-\d{2}-\d{2}", "DATE"),
        (r"\(less than a day ago\)|\(\d+ days? ago\)", "(AGO)"),
        // Which addresses were slowest varies from run to run.
        (r"(?m)^ +N ms  \S+ at \S+$", "  SLOW"),
    ];
    rules.iter().fold(text.to_string(), |t, (pattern, with)| {
        regex::Regex::new(pattern)
            .expect("a pattern")
            .replace_all(&t, *with)
            .into_owned()
    })
}

/// The README's human samples are what the binary prints for their lab worlds
/// (`UPDATE_README=1` writes them anew).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_samples_are_real_output() {
    for (name, run) in [
        ("sample-policy-problems", policy_problems().await),
        ("sample-mx-failures", mx_failures().await),
    ] {
        let out = run.mtasts(&["check", "example.test"]).await;
        let text = String::from_utf8(out.stdout).expect("utf-8");
        let block = format!("```text\n$ mtasts check example.test\n{text}```\n");
        if std::env::var_os("UPDATE_README").is_some() {
            write_section(name, &block);
            continue;
        }
        let documented = section(&readme(), name);
        assert_eq!(comparable(&documented), comparable(&block), "{name}");
    }
    let run = many_domains().await;
    let list = tempfile::NamedTempFile::new().expect("a file");
    std::fs::write(list.path(), "alpha.test\nbravo.test\ncharlie.test\n").expect("the list");
    let path = list.path().display().to_string();
    let out = run.mtasts(&["check", "--domains-file", &path]).await;
    let block = summary_of(&String::from_utf8(out.stdout).expect("utf-8"));
    if std::env::var_os("UPDATE_README").is_some() {
        write_section("sample-summary", &block);
        return;
    }
    let documented = section(&readme(), "sample-summary");
    assert_eq!(
        comparable(&documented),
        comparable(&block),
        "sample-summary"
    );
}

/// The README's samples of `--format github` and `prometheus` (the first sample's world),
/// of `lint --format github` over a fixture, and of a refused format are real output
/// (`UPDATE_README=1` writes them anew). Timestamps vary from run to run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_format_samples_are_real_output() {
    let run = policy_problems().await;
    let mut blocks = Vec::new();
    for (name, format) in [
        ("sample-github", "github"),
        ("sample-prometheus", "prometheus"),
    ] {
        let out = run
            .mtasts(&["check", "example.test", "--format", format])
            .await;
        let text = String::from_utf8(out.stdout).expect("utf-8");
        let block = format!("```text\n$ mtasts check example.test --format {format}\n{text}```\n");
        blocks.push((name, block));
    }
    let fixture = "fixtures/policies/bad-mode-enforced.txt";
    let lint = std::process::Command::new(assert_cmd::cargo::cargo_bin("mtasts"))
        .args(["lint", fixture, "--format", "github"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("mtasts lint runs");
    let text = String::from_utf8(lint.stdout).expect("utf-8");
    blocks.push((
        "sample-lint-github",
        format!("```text\n$ mtasts lint {fixture} --format github\n{text}```\n"),
    ));
    let refused = mtasts(&["lint", "mta-sts.txt", "--format", "prometheus"]);
    let text = String::from_utf8(refused.stderr).expect("utf-8");
    blocks.push((
        "sample-format-refused",
        format!("```text\n$ mtasts lint mta-sts.txt --format prometheus\n{text}```\n"),
    ));
    let timestamps =
        regex::Regex::new(r"(?m)(_timestamp_seconds(\{[^}]*\})?) \d+$").expect("a pattern");
    let same = |t: &str| comparable(&timestamps.replace_all(t, "$1 TIMESTAMP"));
    for (name, block) in blocks {
        if std::env::var_os("UPDATE_README").is_some() {
            write_section(name, &block);
            continue;
        }
        assert_eq!(same(&section(&readme(), name)), same(&block), "{name}");
    }
}
