//! `mtasts report` end to end: the binary over the corpus of fixtures/tlsrpt, a gzip bomb,
//! standard input, the exit codes, and the README's report samples.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::readme::{paths, readme, section, write_section};
use crate::support::json;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tlsrpt")
}

/// Runs the binary in fixtures/tlsrpt (so that paths print short), with `stdin`, and with
/// the environment that changes its output removed, as `support::mtasts` does.
fn report(args: &[&str], stdin: &[u8]) -> Output {
    let mut cmd = assert_cmd::Command::cargo_bin("mtasts").expect("the binary");
    for var in [
        "NO_COLOR",
        "FORCE_COLOR",
        "CLICOLOR",
        "CLICOLOR_FORCE",
        "CI",
        "RUST_BACKTRACE",
    ] {
        cmd.env_remove(var);
    }
    cmd.current_dir(fixtures())
        .arg("report")
        .args(args)
        .write_stdin(stdin.to_vec())
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .expect("the binary runs")
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("an exit code")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("utf-8")
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("utf-8")
}

/// The MANIFEST's lines: file and its `key=value` words.
fn manifest() -> Vec<(String, Vec<(String, String)>)> {
    let text = std::fs::read_to_string(fixtures().join("MANIFEST")).expect("MANIFEST");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|line| {
            let (file, words) = line.split_once(':').expect("FILE: key=value");
            let pairs = words
                .split_whitespace()
                .map(|w| {
                    let (k, v) = w.split_once('=').expect("key=value");
                    (k.to_string(), v.to_string())
                })
                .collect();
            (file.to_string(), pairs)
        })
        .collect()
}

fn ids(doc: &Value) -> BTreeSet<String> {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["id"].as_str().map(String::from))
        .collect()
}

fn error_kinds(doc: &Value) -> Vec<String> {
    doc["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .flat_map(|i| i["errors"].as_array().expect("errors").iter())
        .filter_map(|e| e["kind"].as_str().map(String::from))
        .collect()
}

/// Each fixture through the binary reads as its MANIFEST line says, and exits as the
/// severity rule says: 2 when something could not be read, 1 for failed sessions that are
/// errors, 0 otherwise (the default --fail-on error).
#[test]
fn every_fixture_reads_through_the_binary_as_the_manifest_says() {
    for (file, want) in manifest() {
        let out = report(&[&file, "--format", "json"], b"");
        let doc = json(&out);
        let totals = &doc["totals"];
        let mut errors = Vec::new();
        for (key, value) in &want {
            match key.as_str() {
                "notes" => {
                    let notes: BTreeSet<String> = value.split(',').map(String::from).collect();
                    assert_eq!(ids(&doc), notes, "{file}");
                }
                "errors" => errors = value.split(',').map(String::from).collect(),
                number => assert_eq!(
                    totals[number].to_string(),
                    *value,
                    "{file}: {number} in {totals}"
                ),
            }
        }
        if !want.iter().any(|(k, _)| k == "notes") {
            assert_eq!(ids(&doc), BTreeSet::new(), "{file}");
        }
        assert_eq!(error_kinds(&doc), errors, "{file}");
        let failed_errors = doc["result_types"]
            .as_array()
            .expect("result_types")
            .iter()
            .any(|r| r["severity"] == "error" && r["failed"].as_u64() > Some(0));
        let expected = match (errors.is_empty(), failed_errors) {
            (false, _) => 2,
            (true, true) => 1,
            (true, false) => 0,
        };
        assert_eq!(code(&out), expected, "{file}: {}", stderr(&out));
    }
}

#[test]
fn one_bad_file_does_not_stop_the_others() {
    let out = report(
        &[
            "google-like.json",
            "bad-truncated.json",
            "no-such-file.json",
            "microsoft-like.json",
            "--format",
            "json",
        ],
        b"",
    );
    assert_eq!(code(&out), 2);
    let doc = json(&out);
    assert_eq!(doc["totals"]["reports"], 2);
    assert_eq!(doc["totals"]["successful"], 12345 + 42);
    assert_eq!(error_kinds(&doc), ["truncated", "io"]);
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 2, "{err}");
    assert!(
        err.starts_with("mtasts: bad-truncated.json: truncated JSON: "),
        "{err}"
    );
    assert!(
        err.contains("mtasts: no-such-file.json: cannot be read: "),
        "{err}"
    );
    assert!(err.contains("[report-unreadable]"), "{err}");
}

/// Concatenated gzip members of a mebibyte of spaces each: a 2 MB file that inflates to
/// 2 GiB, run under a 512 MB address-space limit: reading it must stop at the cap, as one
/// input's error, and the next input is still read.
#[test]
fn a_gzip_bomb_is_one_inputs_error_in_bounded_memory() {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(&vec![b' '; 1024 * 1024]).expect("in memory");
    let member = enc.finish().expect("in memory");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let bomb = dir.path().join("bomb.json.gz");
    let mut file = std::fs::File::create(&bomb).expect("the bomb file");
    for _ in 0..2048 {
        file.write_all(&member).expect("written");
    }
    drop(file);
    assert!(std::fs::metadata(&bomb).expect("size").len() < 4 * 1024 * 1024);

    let binary = assert_cmd::cargo::cargo_bin("mtasts");
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg("ulimit -v 512000 && exec \"$0\" \"$@\"")
        .arg(&binary)
        .args(["report", "--format", "json"])
        .arg(&bomb)
        .arg(fixtures().join("google-like.json"))
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("bash runs the binary");
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let doc = json(&out);
    let error = &doc["inputs"][0]["errors"][0];
    assert_eq!(error["id"], "report-limit");
    assert_eq!(error["kind"], "report-too-large");
    assert_eq!(
        error["message"],
        "the report is more than 10 MiB of JSON (inflated), the most read of one report (RFC 8460 §6.5): not read"
    );
    assert_eq!(doc["totals"]["reports"], 1, "the next input is read");
    assert!(stderr(&out).contains("[report-limit]"));
}

#[test]
fn standard_input_is_read_and_sniffed() {
    let gz = std::fs::read(fixtures().join("google-like-failures.json.gz")).expect("fixture");
    let out = report(&["-", "--format", "json"], &gz);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["inputs"][0]["path"], "-");
    assert_eq!(doc["totals"]["failed"], 9);
    let mbox = std::fs::read(fixtures().join("three-messages.mbox")).expect("fixture");
    let out = report(&["-", "--format", "json"], &mbox);
    assert_eq!(json(&out)["totals"]["reports"], 2);
}

#[test]
fn the_mbox_counts_its_resent_report_once_and_says_so() {
    let out = report(&["three-messages.mbox"], b"");
    let text = stdout(&out);
    assert!(
        text.starts_with(
            "TLS-RPT: 2 reports from 1 input (1 duplicate read again, counted once), "
        ),
        "{text}"
    );
    assert!(text.contains("  info     report-duplicate  three-messages.mbox, message 3, part 2 (application/tlsrpt+gzip) (report 2024-04-05T00:00:00Z_example.com from Example Mail Giant Inc.): the report 2024-04-05T00:00:00Z_example.com from Example Mail Giant Inc. was already read from three-messages.mbox, message 1, part 2 (application/tlsrpt+gzip): counted once"), "{text}");
    let doc = json(&report(&["three-messages.mbox", "--format", "json"], b""));
    let duplicate: Vec<bool> = doc["reports"]
        .as_array()
        .expect("reports")
        .iter()
        .map(|r| r["duplicate"].as_bool().expect("bool"))
        .collect();
    assert_eq!(duplicate, [false, false, true]);
}

#[test]
fn the_same_report_in_every_wrapper_is_one_report() {
    // The report of mail-gzip-base64.eml, also given as its JSON (by standard input).
    let mail = json(&report(&["mail-gzip-base64.eml", "--format", "json"], b""));
    let id = mail["reports"][0]["report_id"]
        .as_str()
        .expect("an id")
        .to_string();
    let copy = format!(
        r#"{{"organization-name": "Example Mail Giant Inc.", "report-id": "{id}",
            "date-range": {{"start-datetime": "2024-04-03T00:00:00Z", "end-datetime": "2024-04-03T23:59:59Z"}},
            "contact-info": "smtp-tls-reporting@example.net",
            "policies": [{{"policy": {{"policy-type": "sts", "policy-domain": "example.com"}},
              "summary": {{"total-successful-session-count": 1, "total-failure-session-count": 0}}}}]}}"#
    );
    let out = report(
        &["mail-gzip-base64.eml", "-", "--format", "json"],
        copy.as_bytes(),
    );
    let doc = json(&out);
    assert_eq!(doc["totals"]["reports"], 1);
    assert_eq!(doc["totals"]["duplicates"], 1);
    assert_eq!(
        doc["totals"]["successful"], mail["totals"]["successful"],
        "the first read counts"
    );
}

#[test]
fn exit_codes_follow_fail_on() {
    let cases: &[(&[&str], i32)] = &[
        (&["google-like.json"], 0),
        (&["google-like-failures.json.gz"], 1),
        (&["google-like-failures.json.gz", "--fail-on", "never"], 0),
        (&["google-like-failures.json.gz", "--fail-on", "warning"], 1),
        // An unregistered result-type is a warning.
        (&["quirk-result-type-unregistered.json"], 0),
        (
            &[
                "quirk-result-type-unregistered.json",
                "--fail-on",
                "warning",
            ],
            1,
        ),
        // A report that contradicts itself is a warning, a quirk only info.
        (&["quirk-count-mismatch.json", "--fail-on", "never"], 0),
        (&["quirk-mx-host-string.json", "--fail-on", "warning"], 0),
        (
            &["quirk-mx-host-absent.json", "quirk-count-mismatch.json"],
            1,
        ),
        // What could not be read is 2, whatever --fail-on says.
        (&["bad-dmarc.xml", "--fail-on", "never"], 2),
        (&["google-like.json", "bad-dmarc.zip"], 2),
    ];
    for (args, want) in cases {
        let out = report(args, b"");
        assert_eq!(code(&out), *want, "{args:?}: {}", stdout(&out));
    }
}

#[test]
fn quiet_prints_only_errors() {
    let out = report(
        &["-q", "google-like-failures.json.gz", "bad-dmarc.xml"],
        b"",
    );
    assert_eq!(code(&out), 2);
    assert_eq!(stdout(&out), "");
    assert_eq!(
        stderr(&out),
        "mtasts: bad-dmarc.xml: a DMARC aggregate report (XML), not a TLS-RPT report: read it with a DMARC tool [report-unreadable]\n"
    );
}

#[test]
fn failures_name_the_check_that_reproduces_them_and_the_command() {
    let doc = json(&report(
        &[
            "rfc8460-appendix-b.json",
            "tlsa-clean.json",
            "--format",
            "json",
        ],
        b"",
    ));
    let row = |rt: &str| {
        doc["result_types"]
            .as_array()
            .expect("result_types")
            .iter()
            .find(|r| r["result_type"] == rt)
            .cloned()
            .unwrap_or_else(|| panic!("no {rt}"))
    };
    let expired = row("certificate-expired");
    assert_eq!(expired["checks"], serde_json::json!(["smtp-cert-expired"]));
    assert_eq!(
        expired["commands"],
        serde_json::json!(["mtasts check example.org"])
    );
    assert_eq!(expired["failed"], 100);
    assert_eq!(
        row("tlsa-invalid")["checks"],
        serde_json::json!(["dane-tlsa-mismatch"])
    );
    let starttls = row("starttls-not-supported");
    assert!(
        starttls["checks"]
            .as_array()
            .expect("checks")
            .contains(&"smtp-starttls-missing".into())
    );
    let failure = &doc["failures"][0];
    assert_eq!(failure["receiving_ip"], "203.0.113.56");
    assert_eq!(
        failure["additional_information"],
        "https://reports.example.net/report_info?id=5065427c-23d3#StarttlsNotSupported"
    );
    assert_eq!(
        doc["mx_hosts"][0],
        serde_json::json!({"host": "mx2.mail.example.org", "failed": 200})
    );
    assert_eq!(
        doc["receiving_ips"][0],
        serde_json::json!({"ip": "203.0.113.56", "failed": 200})
    );
}

#[test]
fn jsonl_is_one_object_per_line_over_the_whole_corpus() {
    let files: Vec<String> = manifest().into_iter().map(|(f, _)| f).collect();
    let mut args: Vec<&str> = files.iter().map(String::as_str).collect();
    args.extend(["--format", "jsonl"]);
    let out = report(&args, b"");
    let text = stdout(&out);
    let rows: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(rows[0]["type"], "totals");
    let inputs = rows.iter().filter(|r| r["type"] == "input").count();
    assert_eq!(inputs, files.len());
    let mut json_args: Vec<&str> = files.iter().map(String::as_str).collect();
    json_args.extend(["--format", "json"]);
    let doc = json(&report(&json_args, b""));
    assert_eq!(rows[0]["successful"], doc["totals"]["successful"]);
    let failures = rows.iter().filter(|r| r["type"] == "failure").count();
    assert_eq!(
        failures,
        doc["failures"].as_array().expect("failures").len()
    );
}

/// `value` with every list cut to its element with the most fields, as the README's
/// examples show them.
fn shorten(value: &mut Value) {
    match value {
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

#[test]
fn readme_report_usage_block_is_the_help() {
    let help = stdout(&report(&["-h"], b""));
    let block = format!("```text\n$ mtasts report -h\n{help}```\n");
    if std::env::var_os("UPDATE_README").is_some() {
        write_section("report-usage", &block);
        return;
    }
    assert_eq!(section(&readme(), "report-usage"), block);
}

/// The command the README's samples show: a few reports of every kind.
const SAMPLE: &[&str] = &[
    "rfc8460-appendix-b.json",
    "google-like-failures.json.gz",
    "three-messages.mbox",
    "quirk-count-mismatch.json",
    "bad-dmarc.xml",
];

/// The README's human sample and JSON example are what the binary prints for [`SAMPLE`]
/// (`UPDATE_README=1` writes them anew).
#[test]
fn readme_report_samples_are_real_output() {
    let out = report(SAMPLE, b"");
    let command = format!("$ mtasts report {}", SAMPLE.join(" "));
    let human = format!("```text\n{command}\n{}{}```\n", stdout(&out), stderr(&out));
    let real = json(&report(&[SAMPLE, &["--format", "json"]].concat(), b""));
    if std::env::var_os("UPDATE_README").is_some() {
        write_section("sample-report", &human);
        let mut short = real.clone();
        shorten(&mut short);
        let text = serde_json::to_string_pretty(&short).expect("json");
        write_section("report-json-example", &format!("```json\n{text}\n```\n"));
        return;
    }
    assert_eq!(section(&readme(), "sample-report"), human);
    let example = section(&readme(), "report-json-example");
    let example = example
        .trim()
        .strip_prefix("```json")
        .and_then(|s| s.strip_suffix("```"))
        .expect("a json block");
    let example: Value = serde_json::from_str(example).expect("the README example is JSON");
    let (mut documented, mut emitted) = (BTreeSet::new(), BTreeSet::new());
    paths(&example, String::new(), &mut documented);
    paths(&real, String::new(), &mut emitted);
    assert_eq!(
        documented, emitted,
        "README report JSON example and real output differ"
    );
    assert_eq!(example["totals"], real["totals"]);
}

/// The README's sample reports as GitHub annotations, pinned.
#[test]
fn github_output_of_the_sample_reports() {
    let out = report(&[SAMPLE, &["--format", "github"]].concat(), b"");
    assert_eq!(code(&out), 2, "bad-dmarc.xml is not a report");
    insta::assert_snapshot!(stdout(&out));
}

/// The README's sample reports as Prometheus counters: the document is well formed,
/// parses, and is pinned.
#[test]
fn prometheus_output_of_the_sample_reports() {
    let out = report(&[SAMPLE, &["--format", "prometheus"]].concat(), b"");
    let text = stdout(&out);
    let types = crate::formats::families(&text);
    assert_eq!(types["mtasts_tlsrpt_sessions_total"], "counter");
    assert_eq!(types["mtasts_tlsrpt_failed_sessions_total"], "counter");
    let scrape =
        prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("parses");
    let failed: f64 = scrape
        .samples
        .iter()
        .filter(|s| {
            s.metric == "mtasts_tlsrpt_sessions_total" && s.labels.get("result") == Some("failed")
        })
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v) => v,
            _ => panic!("not a counter"),
        })
        .sum();
    let doc = json(&report(&[SAMPLE, &["--format", "json"]].concat(), b""));
    assert_eq!(Some(failed), doc["totals"]["failed"].as_f64());
    insta::assert_snapshot!(text);
}

/// The README's `report --format github` and `prometheus` samples are real output, over
/// [`SAMPLE`] (`UPDATE_README=1` writes them anew).
#[test]
fn readme_report_format_samples_are_real_output() {
    for (name, format) in [
        ("sample-report-github", "github"),
        ("sample-report-prometheus", "prometheus"),
    ] {
        let out = report(&[SAMPLE, &["--format", format]].concat(), b"");
        let command = format!("$ mtasts report {} --format {format}", SAMPLE.join(" "));
        let block = format!("```text\n{command}\n{}```\n", stdout(&out));
        if std::env::var_os("UPDATE_README").is_some() {
            write_section(name, &block);
            continue;
        }
        assert_eq!(section(&readme(), name), block, "{name}");
    }
}
