//! `mtasts report --format jsonl`: JSON lines, one object per row of the summary, each
//! parsing alone and saying what it is (`type`) and in which schema (`schema_version`, the
//! JSON document's): for `jq 'select(.type == "failure")'`, or loading into a table.
//! The rows are the JSON document's, in its order: `totals` (with `tool`) first, then
//! `input` (with what could not be read in it), `report`, `policy`, `mx_host`,
//! `receiving_ip`, `result_type`, `organization`, `failure`, `finding`.

use std::io::{self, Write};

use serde::Serialize;

use super::json::{self, SCHEMA_VERSION, Totals};
use crate::report::json::{Tool, encode, tool};
use crate::tlsrpt::Summary;

#[derive(Serialize)]
struct Line<T: Serialize> {
    schema_version: u32,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    row: T,
}

#[derive(Serialize)]
struct TotalsLine {
    tool: Tool,
    #[serde(flatten)]
    totals: Totals,
}

fn line(out: &mut impl Write, kind: &'static str, row: impl Serialize) -> io::Result<()> {
    let line = Line {
        schema_version: SCHEMA_VERSION,
        kind,
        row,
    };
    writeln!(out, "{}", encode(&line, false)?)
}

pub fn render(s: &Summary, out: &mut impl Write) -> io::Result<()> {
    let totals = TotalsLine {
        tool: tool(),
        totals: json::totals(s),
    };
    line(out, "totals", totals)?;
    for i in &s.inputs {
        line(out, "input", json::input(i))?;
    }
    for r in &s.reports {
        line(out, "report", json::report(r))?;
    }
    for p in &s.policies {
        line(out, "policy", json::policy(p))?;
    }
    for m in &s.mx_hosts {
        line(out, "mx_host", json::mx_host(m))?;
    }
    for ip in &s.receiving_ips {
        line(out, "receiving_ip", json::receiving_ip(ip))?;
    }
    for r in &s.result_types {
        line(out, "result_type", json::result_type(r))?;
    }
    for o in &s.organizations {
        line(out, "organization", json::organization(o))?;
    }
    for f in &s.failures {
        line(out, "failure", json::failure(f))?;
    }
    for f in &s.findings {
        line(out, "finding", json::finding(f))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_line_parses_alone_and_says_what_it_is() {
        let mut out = Vec::new();
        render(&super::super::tests::hostile(), &mut out).expect("in memory");
        let text = String::from_utf8(out).expect("utf-8");
        let kinds: Vec<String> = text
            .lines()
            .map(|line| {
                let row: serde_json::Value = serde_json::from_str(line).expect("one JSON object");
                assert_eq!(row["schema_version"], SCHEMA_VERSION);
                row["type"].as_str().expect("a type").to_string()
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "totals",
                "input",
                "input",
                "input",
                "report",
                "report",
                "policy",
                "mx_host",
                "receiving_ip",
                "result_type",
                "organization",
                "failure",
                "finding",
                "finding"
            ]
        );
        let first: serde_json::Value =
            serde_json::from_str(text.lines().next().expect("a line")).expect("JSON");
        assert_eq!(first["tool"]["name"], "mtasts");
        assert_eq!(first["failed"], 3);
    }
}
