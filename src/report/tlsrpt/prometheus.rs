//! `mtasts report --format prometheus`: what the reports count, as counters by policy
//! domain, policy type and result-type, for node_exporter's textfile collector. See
//! `report/prometheus.rs` for the format.

use std::io::{self, Write};

use crate::report::prometheus::{Type, family};
use crate::tlsrpt::Summary;
use crate::tlsrpt::summary::PolicyRow;

fn policy_labels(p: &PolicyRow) -> Vec<(&'static str, String)> {
    vec![
        ("policy_domain", p.domain.clone().unwrap_or_default()),
        ("policy_type", p.policy_type.clone()),
    ]
}

pub fn render(s: &Summary, out: &mut impl Write) -> io::Result<()> {
    use Type::{Counter, Gauge};
    family(
        out,
        "mtasts_tlsrpt_reports_total",
        Counter,
        "Distinct TLS-RPT reports read (a report read twice counts once).",
        [(vec![], s.distinct() as i128)],
    )?;
    family(
        out,
        "mtasts_tlsrpt_duplicate_reports_total",
        Counter,
        "Reports read again (same report-id and organization-name), not counted again.",
        [(vec![], (s.reports.len() - s.distinct()) as i128)],
    )?;
    family(
        out,
        "mtasts_tlsrpt_unreadable_inputs",
        Gauge,
        "Inputs of which something could not be read.",
        [(
            vec![],
            s.inputs.iter().filter(|i| !i.errors.is_empty()).count() as i128,
        )],
    )?;
    family(
        out,
        "mtasts_tlsrpt_range_end_timestamp_seconds",
        Gauge,
        "The latest end-datetime of the reports read (unix seconds): alert when reports stop coming.",
        s.range.map(|(_, end)| (vec![], i128::from(end))),
    )?;
    family(
        out,
        "mtasts_tlsrpt_sessions_total",
        Counter,
        "Sessions the reports' summaries count, by policy domain, policy type and result (successful or failed).",
        s.policies.iter().flat_map(|p| {
            [("successful", p.successful), ("failed", p.failed)].map(|(result, n)| {
                let mut labels = policy_labels(p);
                labels.push(("result", result.to_string()));
                (labels, i128::from(n))
            })
        }),
    )?;
    family(
        out,
        "mtasts_tlsrpt_failed_sessions_total",
        Counter,
        "Failed sessions as the reports' failure details count them, by policy domain, policy type and RFC 8460 result-type.",
        s.policies.iter().flat_map(|p| {
            p.failed_by_result_type.iter().map(|(result_type, n)| {
                let mut labels = policy_labels(p);
                labels.push(("result_type", result_type.clone()));
                (labels, i128::from(*n))
            })
        }),
    )?;
    let mut findings: Vec<(crate::checks::Check, usize)> = Vec::new();
    for f in &s.findings {
        match findings.iter_mut().find(|(c, _)| *c == f.check) {
            Some((_, n)) => *n += 1,
            None => findings.push((f.check, 1)),
        }
    }
    family(
        out,
        "mtasts_tlsrpt_findings",
        Gauge,
        "Findings about the reports, by check.",
        findings.into_iter().map(|(check, n)| {
            let labels = vec![
                ("check", check.id().to_string()),
                ("severity", check.info().severity.as_str().to_string()),
            ];
            (labels, n as i128)
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_parse::{Scrape, Value};

    #[test]
    fn hostile_reports_parse_as_counters_by_policy_and_result_type() {
        let mut out = Vec::new();
        render(&super::super::tests::hostile(), &mut out).expect("in memory");
        let text = String::from_utf8(out).expect("utf-8");
        assert!(!text.contains(['\x1b', '\r', '\u{202e}']), "{text}");
        let scrape =
            Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("exposition format");
        let value = |metric: &str, labels: &[(&str, &str)]| {
            let found: Vec<&Value> = scrape
                .samples
                .iter()
                .filter(|s| {
                    s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))
                })
                .map(|s| &s.value)
                .collect();
            match found.as_slice() {
                [one] => format!("{one:?}"),
                other => panic!("{metric} {labels:?}: {other:?} in\n{text}"),
            }
        };
        assert_eq!(value("mtasts_tlsrpt_reports_total", &[]), "Counter(1.0)");
        assert_eq!(
            value("mtasts_tlsrpt_duplicate_reports_total", &[]),
            "Counter(1.0)"
        );
        assert_eq!(value("mtasts_tlsrpt_unreadable_inputs", &[]), "Gauge(1.0)");
        let policy = [("policy_domain", "example.com"), ("policy_type", "sts")];
        let with = |extra: (&'static str, &'static str)| {
            let mut l = policy.to_vec();
            l.push(extra);
            l
        };
        assert_eq!(
            value(
                "mtasts_tlsrpt_sessions_total",
                &with(("result", "successful"))
            ),
            "Counter(9.0)"
        );
        assert_eq!(
            value("mtasts_tlsrpt_sessions_total", &with(("result", "failed"))),
            "Counter(3.0)"
        );
        assert_eq!(
            value(
                "mtasts_tlsrpt_failed_sessions_total",
                &with(("result_type", "certificate-expired"))
            ),
            "Counter(3.0)"
        );
        assert_eq!(
            value(
                "mtasts_tlsrpt_findings",
                &[("check", "report-duplicate"), ("severity", "info")]
            ),
            "Gauge(1.0)"
        );
        // Every family is documented.
        for s in &scrape.samples {
            assert!(
                scrape.docs.contains_key(&s.metric),
                "{} has no HELP",
                s.metric
            );
        }
    }
}
