//! The README stays true: its check table, usage block and JSON example are compared with
//! what the binary says.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::lab::{Cert, Smtp, Tlsa, World};
use crate::support::mtasts;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md")
}

/// The text between `<!-- name -->` and `<!-- /name -->`.
fn section(readme: &str, name: &str) -> String {
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
fn paths(value: &Value, at: String, out: &mut BTreeSet<String>) {
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
    let readme = readme();
    let old = section(&readme, "json-example");
    let new = format!("```json\n{text}\n```\n");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
    std::fs::write(path, readme.replacen(&old, &new, 1)).expect("README.md written");
}
