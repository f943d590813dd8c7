//! The formats for the tools people already run, end to end: GitHub Actions annotations,
//! the Prometheus exposition format, `--output FILE`, and the formats each command
//! refuses.

use std::collections::{BTreeMap, BTreeSet};

use mtasts::report::escape;
use prometheus_parse::{Sample, Scrape, Value};

use crate::lab::{Cert, Response, Smtp, World};
use crate::support::{json, mtasts};

/// Text a hostile server puts in its certificate: a percent sign, CR and LF, and what
/// would open workflow commands of its own.
const HOSTILE: &str = "100% ok\r\n::error title=forged::all good\n::warning::x";

#[test]
fn formats_that_make_no_sense_for_a_command_are_refused_by_clap() {
    for (args, possible) in [
        (
            &["lint", "-", "--format", "prometheus"][..],
            "[possible values: human, json, github]",
        ),
        (
            &["lint", "-", "--format", "jsonl"][..],
            "[possible values: human, json, github]",
        ),
        (
            &["checks", "--format", "github"][..],
            "[possible values: human, json]",
        ),
        (
            &["check", "example.com", "--format", "sarif"][..],
            "[possible values: human, json, jsonl, github, prometheus]",
        ),
        (
            &["report", "-", "--format", "csv"][..],
            "[possible values: human, json, jsonl, github, prometheus]",
        ),
    ] {
        let out = mtasts(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(&format!(
                "invalid value '{}' for '--format <FORMAT>'",
                args[args.len() - 1]
            )),
            "{args:?}: {err}"
        );
        assert!(err.contains(possible), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

/// The runner's decoding of a message or property value.
fn decode(text: &str) -> String {
    text.replace("%0A", "\n")
        .replace("%0D", "\r")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
}

/// (command, properties, message) of an annotation line, split as the runner splits it.
fn annotation(line: &str) -> Option<(String, BTreeMap<String, String>, String)> {
    let (head, message) = line.strip_prefix("::")?.split_once("::")?;
    let (command, properties) = head.split_once(' ').unwrap_or((head, ""));
    let properties = properties
        .split(',')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_string(), decode(v)))
        .collect();
    Some((command.to_string(), properties, decode(message)))
}

/// Every finding is one annotation line, in the JSON report's order, whose title names
/// the domain, the check and the subject, and whose message decodes to the text the human
/// report shows (outside text escaped) with the hint below it; a certificate name with
/// `%`, CR, LF and `::` stays inside its own line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_annotations_are_one_line_per_finding_whatever_the_server_sent() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.tlsrpt_txt.clear();
    d.mx[0].addrs[0].smtp = Smtp::good().cert(Cert::expired().subject_cn(HOSTILE));
    d.mx[1].addrs[0].smtp = Smtp::good().no_starttls();
    let run = w.start(d).await;

    // The same audit twice, as JSON and as annotations. On a loaded machine a timing
    // finding (sts-fetch-slow) may come in one run and not the other: then both are run
    // again, so that the two describe the same findings.
    let (findings, out) = {
        let mut tries = 0;
        loop {
            tries += 1;
            let doc = json(
                &run.mtasts(&["check", "example.test", "--format", "json"])
                    .await,
            );
            let findings = doc["domains"][0]["findings"]
                .as_array()
                .expect("findings")
                .clone();
            let out = run
                .mtasts(&["check", "example.test", "--format", "github"])
                .await;
            let text = String::from_utf8_lossy(&out.stdout);
            let ids = |f: &serde_json::Value| format!(": {} (", f["id"].as_str().unwrap_or(""));
            let same = findings.iter().all(|f| text.contains(&ids(f)))
                && text.lines().filter(|l| l.starts_with("::")).count() == findings.len();
            if same || tries == 3 {
                break (findings, out);
            }
        }
    };
    assert!(findings.len() >= 4, "{findings:#?}");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(!text.contains(['\r', '\x1b']), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    let annotations: Vec<_> = lines.iter().filter_map(|l| annotation(l)).collect();
    assert_eq!(annotations.len(), findings.len(), "{text}");
    for line in &lines {
        assert!(
            line.starts_with("::") || line.starts_with("mtasts: "),
            "{line}"
        );
    }
    assert_eq!(lines.len(), findings.len() + 2, "{text}");
    for ((command, properties, message), f) in annotations.iter().zip(&findings) {
        let severity = f["severity"].as_str().expect("a severity");
        let want = match severity {
            "error" => "error",
            "warning" => "warning",
            _ => "notice",
        };
        assert_eq!(command, want, "{f}");
        let id = f["id"].as_str().expect("an id");
        let title = &properties["title"];
        assert!(
            title.starts_with(&format!("example.test: {id} (")),
            "{title}"
        );
        let shown = escape(f["message"].as_str().expect("a message"));
        let expected = if severity == "info" {
            shown
        } else {
            format!(
                "{shown}\nhint: {} ({})",
                f["hint"].as_str().expect("a hint"),
                f["rfc"].as_str().expect("an RFC")
            )
        };
        assert_eq!(message, &expected);
    }
    let expired = annotations
        .iter()
        .find(|(_, p, _)| {
            p["title"] == "example.test: smtp-cert-expired (mx1.example.test at 192.0.2.10)"
        })
        .expect("the expired certificate's annotation");
    assert!(expired.2.contains(&escape(HOSTILE)), "{}", expired.2);
    assert_eq!(
        lines[lines.len() - 2],
        format!(
            "mtasts: example.test: fail ({}); enforce-ready: no",
            counts(&findings)
        )
    );
    assert_eq!(
        lines[lines.len() - 1],
        "mtasts: 1 domains: 0 pass, 0 warn, 1 fail"
    );
}

/// "2 errors, 1 warning, 0 info", from a JSON report's findings.
fn counts(findings: &[serde_json::Value]) -> String {
    let n = |s: &str| findings.iter().filter(|f| f["severity"] == s).count();
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    format!(
        "{}, {}, {} info",
        plural(n("error"), "error"),
        plural(n("warning"), "warning"),
        n("info")
    )
}

#[test]
fn lint_annotations_point_at_the_file_and_line() {
    let dir = tempfile::tempdir().expect("a directory");
    let path = dir.path().join("mta-sts.txt");
    std::fs::write(
        &path,
        "version: STSv1\nmode: enforced\nmx: mx1.example.com\nmax_age: 86400\n",
    )
    .expect("the policy");
    let path = path.to_str().expect("a UTF-8 path");
    let out = mtasts(&["lint", path, "--format", "github"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let (command, properties, message) = text.lines().find_map(annotation).expect("an annotation");
    assert_eq!(command, "error");
    assert_eq!(properties["file"], path);
    assert_eq!(properties["line"], "2");
    assert_eq!(properties["title"], "sts-policy-mode");
    assert!(message.starts_with(&format!("{path}: ")), "{message}");
    assert!(
        text.lines()
            .last()
            .is_some_and(|l| l.starts_with(&format!("mtasts: {path}: fail ("))),
        "{text}"
    );
}

/// The value of the one sample of `metric` whose labels include `labels`.
fn value(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    let found: Vec<&Sample> = scrape
        .samples
        .iter()
        .filter(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .collect();
    match found.as_slice() {
        [one] => match one.value {
            Value::Gauge(v) | Value::Counter(v) | Value::Untyped(v) => v,
            _ => panic!("{metric}: not a plain value"),
        },
        other => panic!("{metric} {labels:?}: {} samples", other.len()),
    }
}

/// What the exposition format asks beyond what a lenient parser checks: each family
/// declared once, with HELP then TYPE, before its series, all of them together; names
/// and labels in the format's alphabet. Returns family → type.
pub(crate) fn families(text: &str) -> BTreeMap<String, String> {
    let name = regex::Regex::new(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$").expect("a pattern");
    let series = regex::Regex::new(
        r#"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\["\\n])*",?)*\})? -?[0-9]+$"#,
    )
    .expect("a pattern");
    let mut types = BTreeMap::new();
    let mut done = BTreeSet::new();
    let mut current: Option<String> = None;
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some(help) = line.strip_prefix("# HELP ") {
            let (family, _) = help.split_once(' ').expect("HELP name text");
            assert!(name.is_match(family), "{line}");
            assert!(!types.contains_key(family), "{family} declared twice");
            let kind = lines
                .next()
                .and_then(|l| l.strip_prefix(&format!("# TYPE {family} ")))
                .unwrap_or_else(|| panic!("{family}: no TYPE after its HELP"));
            assert!(["gauge", "counter"].contains(&kind), "{kind}");
            if let Some(previous) = current.replace(family.to_string()) {
                done.insert(previous);
            }
            types.insert(family.to_string(), kind.to_string());
            continue;
        }
        let caps = series
            .captures(line)
            .unwrap_or_else(|| panic!("not a series line: {line:?}"));
        let metric = &caps[1];
        assert_eq!(
            current.as_deref(),
            Some(metric),
            "{metric} outside its family"
        );
        assert!(!done.contains(metric), "{metric} not together");
        if types[metric] == "counter" {
            assert!(metric.ends_with("_total"), "{metric}");
        }
    }
    types
}

/// A testing deployment with findings and a good one beside it, as node_exporter's
/// textfile collector reads them: the document parses, every family is declared, and the
/// series say what the audit found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_output_parses_and_says_what_the_audit_found() {
    let mut w = World::new();
    let mut bad = w.good_deployment("example.test");
    bad.tlsrpt_txt.clear();
    bad.set_policy(Response::policy(
        "version: STSv1\nmode: testing\nmx: mx1.example.test\nmx: mx2.example.test\nmax_age: 86400\n",
    ));
    bad.mx[0].addrs[1].smtp = Smtp::good().cert(Cert::expired());
    bad.mx[1].addrs[0].smtp = Smtp::good().no_starttls();
    let good = w.good_deployment("good.test");
    let run = w.start_all(vec![bad, good]).await;

    let dir = tempfile::tempdir().expect("a directory");
    let file = dir.path().join("mtasts.prom");
    let file_arg = file.to_str().expect("a UTF-8 path");
    let out = run
        .mtasts(&[
            "check",
            "example.test",
            "good.test",
            "--format",
            "prometheus",
            "--output",
            file_arg,
        ])
        .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "the report goes to the file only");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("the directory")
        .map(|e| e.expect("an entry").file_name())
        .collect();
    assert_eq!(names, ["mtasts.prom"], "no temporary file is left");
    let text = std::fs::read_to_string(&file).expect("the document");

    let types = families(&text);
    assert!(types.values().all(|t| t == "gauge"), "{types:?}");
    assert_eq!(
        types.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "mtasts_domain_enforce_ready",
            "mtasts_domain_findings",
            "mtasts_domain_verdict",
            "mtasts_mx_certificate_expiry_timestamp_seconds",
            "mtasts_mx_starttls_ok",
            "mtasts_mx_tls_version_info",
            "mtasts_policy_certificate_expiry_timestamp_seconds",
            "mtasts_policy_max_age_seconds",
            "mtasts_policy_mode",
            "mtasts_run_timestamp_seconds",
        ]
    );
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("parses");
    for s in &scrape.samples {
        assert!(scrape.docs.contains_key(&s.metric), "{}: no HELP", s.metric);
        assert!(
            matches!(s.value, Value::Gauge(_)),
            "{}: {:?}",
            s.metric,
            s.value
        );
    }
    let v = |metric: &str, labels: &[(&str, &str)]| value(&scrape, metric, labels);
    let bad = ("domain", "example.test");
    let good = ("domain", "good.test");
    for (verdict, want_bad, want_good) in [
        ("pass", 0.0, 1.0),
        ("warn", 0.0, 0.0),
        ("fail", 1.0, 0.0),
        ("unknown", 0.0, 0.0),
    ] {
        let state = ("verdict", verdict);
        assert_eq!(
            v("mtasts_domain_verdict", &[bad, state]),
            want_bad,
            "{verdict}"
        );
        assert_eq!(
            v("mtasts_domain_verdict", &[good, state]),
            want_good,
            "{verdict}"
        );
    }
    assert_eq!(
        v("mtasts_domain_enforce_ready", &[bad, ("state", "no")]),
        1.0
    );
    assert_eq!(
        v("mtasts_domain_enforce_ready", &[good, ("state", "yes")]),
        1.0
    );
    assert_eq!(v("mtasts_policy_mode", &[bad, ("mode", "testing")]), 1.0);
    assert_eq!(v("mtasts_policy_mode", &[bad, ("mode", "enforce")]), 0.0);
    assert_eq!(v("mtasts_policy_mode", &[good, ("mode", "enforce")]), 1.0);
    assert_eq!(v("mtasts_policy_max_age_seconds", &[bad]), 86400.0);
    assert_eq!(v("mtasts_policy_max_age_seconds", &[good]), 604800.0);
    assert_eq!(
        v(
            "mtasts_domain_findings",
            &[bad, ("check", "tlsrpt-absent"), ("severity", "warning")]
        ),
        1.0
    );
    let now = v("mtasts_run_timestamp_seconds", &[]);
    let mx = |host: &'static str, addr: &'static str| [bad, ("mx", host), ("address", addr)];
    let expiry = "mtasts_mx_certificate_expiry_timestamp_seconds";
    assert!(v(expiry, &mx("mx1.example.test", "2001:db8::10")) < now);
    assert!(v(expiry, &mx("mx1.example.test", "192.0.2.10")) > now + 86400.0 * 30.0);
    assert_eq!(
        v(
            "mtasts_mx_starttls_ok",
            &mx("mx1.example.test", "192.0.2.10")
        ),
        1.0
    );
    assert_eq!(
        v(
            "mtasts_mx_starttls_ok",
            &mx("mx2.example.test", "192.0.2.20")
        ),
        0.0
    );
    let mut tls13 = mx("mx1.example.test", "192.0.2.10").to_vec();
    tls13.push(("version", "TLSv1.3"));
    assert_eq!(v("mtasts_mx_tls_version_info", &tls13), 1.0);
    assert!(
        v(
            "mtasts_policy_certificate_expiry_timestamp_seconds",
            &[bad, ("address", "192.0.2.80")]
        ) > now
    );
}

/// `--output` replaces the file as a whole, and with `--format json` too: one helper for
/// every format.
#[test]
fn output_replaces_the_file_for_every_format_and_conflicts_with_quiet() {
    let dir = tempfile::tempdir().expect("a directory");
    let policy = dir.path().join("mta-sts.txt");
    std::fs::write(
        &policy,
        "version: STSv1\nmode: enforce\nmx: mx1.example.com\nmax_age: 604800\n",
    )
    .expect("the policy");
    let target = dir.path().join("lint.json");
    std::fs::write(&target, "old").expect("an old report");
    let (policy, target_arg) = (
        policy.to_str().expect("UTF-8"),
        target.to_str().expect("UTF-8"),
    );
    let out = mtasts(&["lint", policy, "--format", "json", "-o", target_arg]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&target).expect("read")).expect("JSON");
    assert_eq!(doc["files"][0]["verdict"], "pass");

    let out = mtasts(&["lint", policy, "-q", "-o", target_arg]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot be used with"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let missing = dir.path().join("no-such-dir").join("x.prom");
    let out = mtasts(&["lint", policy, "-o", missing.to_str().expect("UTF-8")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no-such-dir"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Port 25 blocked here: the domain is not called healthy (nor failing) in either format,
/// and the exit code says the audit could not run in full.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_domain_this_network_could_not_audit_is_unknown_not_pass() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.set_smtp(Smtp::good().refused());
    let run = w.start(d).await;

    let out = run
        .mtasts(&["check", "example.test", "--format", "prometheus"])
        .await;
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("parses");
    let domain = ("domain", "example.test");
    let v = |metric: &str, labels: &[(&str, &str)]| value(&scrape, metric, labels);
    assert_eq!(
        v("mtasts_domain_verdict", &[domain, ("verdict", "unknown")]),
        1.0
    );
    assert_eq!(
        v("mtasts_domain_verdict", &[domain, ("verdict", "pass")]),
        0.0
    );
    assert_eq!(
        v(
            "mtasts_domain_enforce_ready",
            &[domain, ("state", "unknown")]
        ),
        1.0
    );
    assert!(
        !scrape
            .samples
            .iter()
            .any(|s| s.metric == "mtasts_mx_starttls_ok"),
        "no STARTTLS series for addresses that were never reached: {text}"
    );

    let out = run
        .mtasts(&["check", "example.test", "--format", "github"])
        .await;
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(
        text.starts_with("::warning title=example.test%3A vantage-port25-blocked (this network)::"),
        "{text}"
    );
    assert!(
        text.ends_with(
            "mtasts: 1 domains: 0 pass, 0 warn, 0 fail, 1 not audited from this network\n"
        ),
        "{text}"
    );
}

/// A server that speaks only TLS 1.0 is the one an alert on old TLS must see: its version
/// comes from the legacy hello, while STARTTLS did not complete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_names_the_version_a_legacy_only_server_chose() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.mx[1].addrs[0].smtp = Smtp::good().legacy_tls(0x0301);
    let run = w.start(d).await;
    let out = run
        .mtasts(&["check", "example.test", "--format", "prometheus"])
        .await;
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let at = r#"domain="example.test",mx="mx2.example.test",address="192.0.2.20""#;
    assert!(
        text.contains(&format!(
            "mtasts_mx_tls_version_info{{{at},version=\"TLSv1.0\"}} 1\n"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("mtasts_mx_starttls_ok{{{at}}} 0\n")),
        "{text}"
    );
    let good =
        r#"domain="example.test",mx="mx1.example.test",address="192.0.2.10",version="TLSv1.3""#;
    assert!(
        text.contains(&format!("mtasts_mx_tls_version_info{{{good}}} 1\n")),
        "{text}"
    );
}
