//! The reporters of `mtasts init`: the draft (policy, records, publishing order, where the
//! file went), then the domain as `mtasts check` will judge it once published, rendered by
//! check's own reporters.

use std::io::{self, Write};

use serde::Serialize;

use crate::finding::policy_url;
use crate::init::{Draft, Outcome, TxtLine};
use crate::report::json::{self, DomainJson, Tool};
use crate::report::{Format, Sink, Style, escape, human::HumanSink};

/// What became of `--output`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// No `--output`.
    NotAsked,
    /// Written at this path (`replaced`: over a different file, with `--force`).
    Written { path: String, replaced: bool },
    /// The file at this path already holds the draft.
    Unchanged { path: String },
    /// Not written: the draft is in enforce mode and would not pass, or its MX hosts were
    /// not checked.
    Withheld { path: String },
    /// Nothing written, and why (a different file is there, or writing failed).
    Refused { path: String, why: String },
}

/// Why an enforce draft that fails, or whose MX hosts were not checked, is not written.
const WITHHELD: &str = "in enforce mode this draft would not pass mtasts check (or its MX hosts were not checked), so senders honouring it could refuse mail: fix the errors first, or draft it in testing";

/// What the exit code will say, for the last line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Passes,
    Fails,
    /// This network could not see what it needed.
    Unseen,
}

pub fn render(
    outcome: &Outcome,
    written: &Written,
    answer: Answer,
    format: Format,
    style: Style,
    out: &mut impl Write,
) -> io::Result<()> {
    match format {
        Format::Human => human(outcome, written, answer, style, out),
        Format::Json => {
            let doc = document(outcome, written, answer);
            writeln!(out, "{}", json::encode(&doc, true)?)
        }
    }
}

fn human(
    outcome: &Outcome,
    written: &Written,
    answer: Answer,
    style: Style,
    out: &mut impl Write,
) -> io::Result<()> {
    let domain = &outcome.report.observations.domain;
    match &outcome.draft {
        Some(draft) => draft_text(draft, written, out)?,
        None => writeln!(
            out,
            "No policy drafted for {}: see why below.",
            escape(domain)
        )?,
    }
    writeln!(out)?;
    writeln!(
        out,
        "Once this is published, `mtasts check {}` will say (the policy host is judged once it serves the file):",
        escape(domain)
    )?;
    HumanSink::new(style, out).domain(&outcome.report)?;
    writeln!(out)?;
    let unchecked = !outcome.report.observations.mx_checked;
    writeln!(
        out,
        "{}",
        match answer {
            Answer::Passes if unchecked =>
                "The draft passes mtasts check, but its MX hosts were not checked (--skip-mx).",
            Answer::Passes => "The draft passes mtasts check.",
            Answer::Fails =>
                "The draft would not pass mtasts check: fix the errors above first (exit 1).",
            Answer::Unseen =>
                "Not everything could be checked from this network (exit 2): run mtasts init where outbound DNS and port 25 work.",
        }
    )
}

fn draft_text(draft: &Draft, written: &Written, out: &mut impl Write) -> io::Result<()> {
    let p = &draft.policy;
    writeln!(
        out,
        "mtasts init {}: mode {}, max_age {}, {} MX host(s)",
        escape(&draft.domain),
        p.mode.as_str(),
        p.max_age,
        p.mx.len()
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "Policy file, to serve at {} (Content-Type: text/plain; a certificate valid for {}):",
        policy_url(&draft.domain),
        draft.policy_host()
    )?;
    for line in draft.policy_text().lines() {
        writeln!(out, "  {}", escape(line))?;
    }
    match written {
        Written::NotAsked => {}
        Written::Written { path, replaced } => writeln!(
            out,
            "  {} {}",
            if *replaced {
                "replaced (--force)"
            } else {
                "written to"
            },
            escape(path)
        )?,
        Written::Unchanged { path } => {
            writeln!(out, "  {} already holds it: unchanged", escape(path))?
        }
        Written::Withheld { path } => {
            writeln!(out, "  not written to {}: {WITHHELD}", escape(path))?
        }
        Written::Refused { path, why } => {
            writeln!(out, "  not written to {}: {}", escape(path), escape(why))?
        }
    }
    writeln!(out)?;
    writeln!(out, "DNS records (zone-file syntax):")?;
    for line in [draft.tlsrpt_line(), draft.sts_line()] {
        writeln!(out, "  {}", escape(&line.zone()))?;
    }
    writeln!(out)?;
    writeln!(out, "Publish in this order:")?;
    for (i, step) in draft.steps().iter().enumerate() {
        writeln!(out, "  {}. {}", i + 1, escape(step))?;
    }
    Ok(())
}

#[derive(Serialize)]
struct Document<'a> {
    schema_version: u32,
    tool: Tool,
    /// `null` when there is no MX host to list.
    draft: Option<DraftJson>,
    /// Whether the draft passes `mtasts check` once published (`null`: could not be seen
    /// from here).
    passes: Option<bool>,
    /// The domain as `mtasts check` will judge it once the draft is published, in
    /// check's schema.
    domain: DomainJson<'a>,
}

#[derive(Serialize)]
struct DraftJson {
    mode: &'static str,
    max_age: u64,
    mx: Vec<String>,
    policy: PolicyFileJson,
    /// In publishing order.
    records: Vec<RecordJson>,
    steps: Vec<String>,
    output: Option<OutputJson>,
}

#[derive(Serialize)]
struct PolicyFileJson {
    url: String,
    host: String,
    media_type: &'static str,
    /// The name the policy host's certificate must be valid for.
    certificate_for: String,
    text: String,
}

#[derive(Serialize)]
struct RecordJson {
    name: String,
    #[serde(rename = "type")]
    kind: &'static str,
    value: String,
    zone: String,
    /// "publish" or "keep" (already published and usable).
    action: &'static str,
}

#[derive(Serialize)]
struct OutputJson {
    path: String,
    /// "written", "replaced", "unchanged", "withheld" or "refused".
    result: &'static str,
    why: Option<String>,
}

fn document<'a>(outcome: &'a Outcome, written: &Written, answer: Answer) -> Document<'a> {
    Document {
        schema_version: json::SCHEMA_VERSION,
        tool: json::tool(),
        draft: outcome.draft.as_ref().map(|d| draft_json(d, written)),
        passes: match answer {
            Answer::Passes => Some(true),
            Answer::Fails => Some(false),
            Answer::Unseen => None,
        },
        domain: json::domain(&outcome.report),
    }
}

fn draft_json(d: &Draft, written: &Written) -> DraftJson {
    let record = |line: TxtLine, keep: bool| RecordJson {
        zone: line.zone(),
        name: line.name,
        kind: "TXT",
        value: line.value,
        action: if keep { "keep" } else { "publish" },
    };
    DraftJson {
        mode: d.policy.mode.as_str(),
        max_age: d.policy.max_age,
        mx: d.policy.mx.clone(),
        policy: PolicyFileJson {
            url: policy_url(&d.domain),
            host: d.policy_host(),
            media_type: "text/plain",
            certificate_for: d.policy_host(),
            text: d.policy_text(),
        },
        records: vec![
            record(d.tlsrpt_line(), d.tlsrpt_kept),
            record(d.sts_line(), false),
        ],
        steps: d.steps(),
        output: match written {
            Written::NotAsked => None,
            Written::Written { path, replaced } => Some(OutputJson {
                path: path.clone(),
                result: if *replaced { "replaced" } else { "written" },
                why: None,
            }),
            Written::Unchanged { path } => Some(OutputJson {
                path: path.clone(),
                result: "unchanged",
                why: None,
            }),
            Written::Withheld { path } => Some(OutputJson {
                path: path.clone(),
                result: "withheld",
                why: Some(WITHHELD.to_string()),
            }),
            Written::Refused { path, why } => Some(OutputJson {
                path: path.clone(),
                result: "refused",
                why: Some(why.clone()),
            }),
        },
    }
}
