//! The GitHub Action (`.github/actions/mtasts`): its script run against the lab, its YAML
//! and the workflow that exercises it checked, and the lab served standalone for that
//! workflow.

use std::path::{Path, PathBuf};
use std::process::Output;

use saphyr::{LoadableYamlNode, Yaml};

use crate::lab::{Cert, Run, Smtp, World};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn action_dir() -> PathBuf {
    repo().join(".github/actions/mtasts")
}

/// The lab the workflow audits: a broken deployment and a good one.
async fn lab() -> Run {
    let mut w = World::new();
    let mut broken = w.good_deployment("example.test");
    broken.tlsrpt_txt.clear();
    broken.mx[0].addrs[1].smtp = Smtp::good().cert(Cert::expired());
    broken.mx[1].addrs[0].smtp = Smtp::good().no_starttls();
    let good = w.good_deployment("good.test");
    w.start_all(vec![broken, good]).await
}

/// Serves [`lab`] for `.github/workflows/action.yml`: writes the options that reach it
/// (`--resolver`, `--ca-file`, `--connect-to`, ...) on one line to the file named by
/// `MTASTS_LAB_OPTIONS` (whole, by a rename), then serves for `MTASTS_LAB_SECONDS`
/// (default 1200). Run with `cargo test --test integration action::serve_the_lab --
/// --ignored --exact`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "serves the lab until killed, for the action workflow"]
async fn serve_the_lab() {
    let run = lab().await;
    let options = run.args().join(" ");
    // For a person running it by hand: the options to paste after `mtasts check DOMAIN`.
    std::io::Write::write_all(&mut std::io::stdout(), format!("{options}\n").as_bytes())
        .expect("standard output");
    if let Some(path) = std::env::var_os("MTASTS_LAB_OPTIONS") {
        let path = PathBuf::from(path);
        let partial = path.with_extension("partial");
        std::fs::write(&partial, format!("{options}\n")).expect("the options written");
        std::fs::rename(&partial, &path).expect("the options in place");
    }
    let seconds = std::env::var("MTASTS_LAB_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1200);
    tokio::time::sleep(std::time::Duration::from_secs(seconds)).await;
}

/// Runs the action's script as the composite step does: inputs in `INPUT_*`, `mtasts` on
/// PATH, the step's outputs file in `GITHUB_OUTPUT`; in `cwd`. Returns the output and
/// what the script wrote to the outputs file.
fn script(cwd: &Path, inputs: &[(&str, &str)]) -> (Output, String) {
    let bin = assert_cmd::cargo::cargo_bin("mtasts");
    let bin_dir = bin.parent().expect("the binary's directory");
    let path = std::env::join_paths(std::iter::once(bin_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .expect("a PATH");
    let outputs = cwd.join("github-output");
    std::fs::write(&outputs, "").expect("the outputs file");
    let mut cmd = std::process::Command::new("bash");
    for var in ["NO_COLOR", "CLICOLOR_FORCE", "CI", "RUST_BACKTRACE"] {
        cmd.env_remove(var);
    }
    cmd.arg(action_dir().join("run.sh"))
        .current_dir(cwd)
        .env("PATH", path)
        .env("GITHUB_OUTPUT", &outputs)
        .envs(inputs.iter().copied());
    let out = assert_cmd::Command::from_std(cmd)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .expect("the script runs");
    let written = std::fs::read_to_string(&outputs).expect("the outputs file");
    (out, written)
}

/// [`script`] off the runtime, which serves the lab meanwhile.
async fn script_beside(run: &Run, cwd: &Path, inputs: &[(&'static str, &str)]) -> (Output, String) {
    let mut inputs: Vec<(&'static str, String)> =
        inputs.iter().map(|(k, v)| (*k, v.to_string())).collect();
    let options = run.args().join(" ");
    match inputs.iter_mut().find(|(k, _)| *k == "INPUT_ARGS") {
        Some((_, args)) => *args = format!("{options} {args}"),
        None => inputs.push(("INPUT_ARGS", options)),
    }
    let cwd = cwd.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let inputs: Vec<(&str, &str)> = inputs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        script(&cwd, &inputs)
    })
    .await
    .expect("the script's task")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_action_script_annotates_the_lab_and_fails_the_step_on_findings() {
    let run = lab().await;
    let dir = tempfile::tempdir().expect("a directory");
    let cwd = dir.path();

    let (out, outputs) =
        script_beside(&run, cwd, &[("INPUT_DOMAINS", "example.test,\ngood.test")]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert_eq!(outputs, "exit-code=1\n");
    assert!(
        text.lines()
            .any(|l| l.starts_with("::error title=example.test%3A smtp-starttls-missing ")),
        "{text}"
    );
    assert!(text.contains("\nmtasts: example.test: fail ("), "{text}");
    assert!(
        text.contains(
            "\nmtasts: good.test: pass (0 errors, 0 warnings, 0 info); enforce-ready: yes\n"
        ),
        "{text}"
    );

    // The good one alone passes; the other inputs reach mtasts.
    let (out, outputs) = script_beside(&run, cwd, &[("INPUT_DOMAINS", "good.test")]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(outputs, "exit-code=0\n");
    let (out, _) = script_beside(
        &run,
        cwd,
        &[
            ("INPUT_DOMAINS", "example.test"),
            ("INPUT_ARGS", "--skip-mx"),
            ("INPUT_FAIL_ON", "never"),
            ("INPUT_FORMAT", "json"),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("--format json");
    assert_eq!(doc["options"]["skip_mx"], true);
}

/// Inputs are data: a domain with shell in it is refused as a domain, and nothing in it
/// runs or is globbed.
#[test]
fn the_action_script_runs_nothing_from_its_inputs() {
    let dir = tempfile::tempdir().expect("a directory");
    std::fs::write(dir.path().join("decoy.test"), "").expect("a file to glob");
    let (out, outputs) = script(
        dir.path(),
        &[
            (
                "INPUT_DOMAINS",
                "$(touch pwned1) ;touch pwned2 `touch pwned3` *.test",
            ),
            (
                "INPUT_ARGS",
                "--skip-mx --timeout 0.5 --resolver 127.0.0.1:9",
            ),
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(outputs, "exit-code=2\n");
    for name in ["pwned1", "pwned2", "pwned3"] {
        assert!(!dir.path().join(name).exists(), "{name} was run");
    }
    assert!(
        err.contains("*.test"),
        "the glob is a refused domain: {err}"
    );
    assert!(!err.contains("decoy"), "{err}");
}

fn yaml(path: &Path) -> Yaml<'static> {
    let text = std::fs::read_to_string(path).expect("the YAML file");
    let text: &'static str = Box::leak(text.into_boxed_str());
    let mut docs = Yaml::load_from_str(text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(docs.len(), 1, "{}", path.display());
    docs.remove(0)
}

fn get<'a>(node: &'a Yaml<'static>, key: &str) -> &'a Yaml<'static> {
    node.as_mapping_get(key)
        .unwrap_or_else(|| panic!("no {key} in {node:?}"))
}

fn str_of<'a>(node: &'a Yaml<'static>, key: &str) -> &'a str {
    get(node, key)
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string"))
}

fn keys(node: &Yaml<'static>) -> Vec<String> {
    node.as_mapping()
        .expect("a mapping")
        .keys()
        .filter_map(|k| k.as_str().map(String::from))
        .collect()
}

/// `INPUT_FAIL_ON` for `fail-on`.
fn env_name(input: &str) -> String {
    format!("INPUT_{}", input.to_uppercase().replace('-', "_"))
}

#[test]
fn the_action_yaml_parses_and_hands_every_input_to_the_script() {
    let action = yaml(&action_dir().join("action.yml"));
    let runs = get(&action, "runs");
    assert_eq!(str_of(runs, "using"), "composite");
    let inputs = get(&action, "inputs");
    assert_eq!(
        keys(inputs),
        ["domains", "args", "format", "fail-on", "install"]
    );
    assert_eq!(str_of(get(inputs, "format"), "default"), "github");
    assert_eq!(str_of(get(inputs, "fail-on"), "default"), "error");
    assert_eq!(str_of(get(inputs, "install"), "default"), "true");

    let steps = get(runs, "steps").as_sequence().expect("steps");
    let install = &steps[0];
    assert_eq!(str_of(install, "if"), "inputs.install == 'true'");
    assert_eq!(
        str_of(install, "run"),
        r#"cargo install --locked --path "$GITHUB_ACTION_PATH/../../..""#
    );
    assert!(
        action_dir().join("../../..").join("Cargo.toml").exists(),
        "the install path is the repository"
    );
    let run = &steps[1];
    assert_eq!(str_of(run, "id"), "run");
    assert_eq!(str_of(run, "run"), r#""$GITHUB_ACTION_PATH/run.sh""#);
    let env = get(run, "env");
    let script = std::fs::read_to_string(action_dir().join("run.sh")).expect("run.sh");
    let read_by_script: Vec<String> = regex::Regex::new(r"\$\{(INPUT_[A-Z_]+)")
        .expect("a pattern")
        .captures_iter(&script)
        .map(|c| c[1].to_string())
        .collect();
    let handed: Vec<String> = keys(env);
    for input in keys(inputs).iter().filter(|i| *i != "install") {
        let name = env_name(input);
        assert_eq!(
            str_of(env, &name),
            format!("${{{{ inputs.{input} }}}}"),
            "{input}"
        );
        assert!(
            read_by_script.contains(&name),
            "run.sh does not read {name}"
        );
    }
    for name in &read_by_script {
        assert!(handed.contains(name), "{name} is read but not handed over");
    }
    for step in steps {
        if let Some(script) = step.as_mapping_get("run").and_then(Yaml::as_str) {
            assert!(
                !script.contains("${{"),
                "inputs pasted into a script: {script}"
            );
        }
    }
    assert_eq!(
        str_of(get(get(&action, "outputs"), "exit-code"), "value"),
        "${{ steps.run.outputs.exit-code }}"
    );
}

/// The workflow follows the CI rules (no permissions, pinned actions, no persisted
/// credentials, nothing pasted into scripts) and serves the lab with the test above.
#[test]
fn the_workflow_exercises_the_action_against_the_lab() {
    let workflow = yaml(&repo().join(".github/workflows/action.yml"));
    let permissions = get(&workflow, "permissions");
    assert!(
        permissions.as_mapping().is_some_and(|m| m.is_empty()),
        "permissions: {{}}"
    );
    let pinned = regex::Regex::new(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}$").expect("a pattern");
    let jobs = get(&workflow, "jobs").as_mapping().expect("jobs");
    let mut uses_action = 0;
    for job in jobs.values() {
        for step in get(job, "steps").as_sequence().expect("steps") {
            if let Some(uses) = step.as_mapping_get("uses").and_then(Yaml::as_str) {
                if uses == "./.github/actions/mtasts" {
                    uses_action += 1;
                } else {
                    assert!(pinned.is_match(uses), "not pinned to a commit: {uses}");
                }
                if uses.starts_with("actions/checkout@") {
                    let with = get(step, "with");
                    assert_eq!(get(with, "persist-credentials").as_bool(), Some(false));
                }
            }
            if let Some(script) = step.as_mapping_get("run").and_then(Yaml::as_str) {
                assert!(!script.contains("${{"), "pasted into a script: {script}");
                if script.contains("--ignored") {
                    assert!(script.contains("action::serve_the_lab -- --ignored --exact"));
                }
            }
        }
    }
    assert_eq!(uses_action, 2);
}
