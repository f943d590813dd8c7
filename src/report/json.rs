//! The JSON reporter: one document, schema version 1, specified in the README.
//!
//! These structs are the schema, frozen apart from the internal model so that the model
//! can change without breaking scripts. Additions are backwards compatible; renaming or
//! removing a field needs a new `schema_version`. Text from the network is kept as data,
//! written so that no byte of it acts on a terminal (see [`encode`]); bytes that are not
//! UTF-8 are decoded with U+FFFD replacement characters.

use std::io::{self, Write};

use serde::Serialize;

use crate::checks::{ResultType, Severity};
use crate::dates;
use crate::finding::{Finding, Subject, Verdict, policy_url};
use crate::judge::{AddressReport, Certificate, DomainReport, FetchReport, LintReport, Readiness};
use crate::observe::{
    Addresses, DnsAnswer, Families, Lookup, MxRecord, PolicyFetch, PolicySource, Reply, SmtpProbe,
    TxtRecord,
};
use crate::policy::ParsedPolicy;
use crate::report::{Run, Sink, is_invisible};
use crate::tally::Tally;

/// 2: severities follow consequence, `enforce_ready` is unknown (`null`) for an address
/// that could not be tested, with reasons; run-level `judged_at` and `options`; findings
/// carry `line`; `checks --format json` is a document.
pub const SCHEMA_VERSION: u32 = 2;

/// The document but for its domains, which follow one by one.
#[derive(Serialize)]
struct Head {
    schema_version: u32,
    tool: Tool,
    /// When the run judged its domains (RFC 3339).
    judged_at: String,
    options: OptionsJson,
}

#[derive(Serialize)]
pub(crate) struct Tool {
    name: &'static str,
    version: &'static str,
}

/// The options that change results.
#[derive(Serialize)]
struct OptionsJson {
    timeout_s: f64,
    deadline_s: f64,
    /// "both", "ipv4" or "ipv6".
    families: &'static str,
    skip_mx: bool,
    policy_file: Option<String>,
    /// The zone files that answered DNS in place of live DNS (plan mode), as given.
    zones: Vec<String>,
    /// The state file the drift was judged against, or null.
    state: Option<String>,
    expiry_warning_days: u32,
    /// The nameserver queried, or null for the system's resolver.
    resolver: Option<String>,
    ca_file: Option<String>,
    ehlo_name: String,
}

fn options(run: &Run) -> OptionsJson {
    OptionsJson {
        timeout_s: run.timeout.as_secs_f64(),
        deadline_s: run.deadline.as_secs_f64(),
        families: match run.families {
            Families::Both => "both",
            Families::V4Only => "ipv4",
            Families::V6Only => "ipv6",
        },
        skip_mx: run.skip_mx,
        policy_file: run.policy_file.clone(),
        zones: run.zones.clone(),
        state: run.state.clone(),
        expiry_warning_days: run.expiry_warning_days,
        resolver: run.resolver.clone(),
        ca_file: run.ca_file.clone(),
        ehlo_name: run.ehlo_name.clone(),
    }
}

#[derive(Serialize)]
pub(crate) struct DomainJson<'a> {
    domain: &'a str,
    /// The Unicode form of an IDN, else null.
    unicode: Option<&'a str>,
    /// The time its findings hold for (RFC 3339).
    judged_at: String,
    verdict: Verdict,
    enforce_ready: Option<bool>,
    readiness: ReadinessJson,
    counts: Counts,
    records: Records,
    policy: PolicyJson,
    mx: Vec<MxJson>,
    findings: Vec<FindingJson>,
    timings: Timings,
}

/// Why `enforce_ready` is what it is.
#[derive(Serialize)]
struct ReadinessJson {
    reasons: Vec<ReasonJson>,
}

#[derive(Serialize)]
struct ReasonJson {
    id: &'static str,
    subject: SubjectJson,
    sentence: String,
}

fn readiness(r: &Readiness, domain: &str) -> ReadinessJson {
    ReadinessJson {
        reasons: r
            .reasons
            .iter()
            .map(|reason| ReasonJson {
                id: reason.check.id(),
                subject: subject(&reason.subject, reason.subject.name(domain)),
                sentence: reason.sentence.clone(),
            })
            .collect(),
    }
}

#[derive(Serialize)]
struct Counts {
    error: usize,
    warning: usize,
    info: usize,
}

#[derive(Serialize)]
struct Records {
    mta_sts: TxtJson,
    tlsrpt: TxtJson,
    mx: LookupJson<MxJsonRecord>,
}

#[derive(Serialize)]
struct TxtJson {
    #[serde(flatten)]
    lookup: LookupJson<TxtJsonRecord>,
    /// The record as senders would use it, when there is one.
    parsed: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct LookupJson<T> {
    name: String,
    /// "records", "nxdomain", "nodata" or "error".
    status: &'static str,
    /// For status "error": servfail, refused, timeout, or the resolver's message.
    error: Option<String>,
    cnames: Vec<String>,
    ttl: Option<u32>,
    records: Vec<T>,
}

#[derive(Serialize)]
struct TxtJsonRecord {
    text: String,
    strings: Vec<String>,
}

#[derive(Serialize)]
struct MxJsonRecord {
    preference: u16,
    exchange: String,
}

#[derive(Serialize)]
struct PolicyJson {
    /// "fetched" or "draft".
    source: &'static str,
    url: String,
    /// The draft's path, for source "draft".
    path: Option<String>,
    host_addresses: Option<AddressesJson>,
    /// One fetch per address of the policy host.
    fetches: Vec<FetchJson>,
    /// The body under judgement.
    body: Option<String>,
    parsed: Option<ParsedPolicyJson>,
}

#[derive(Serialize)]
struct AddressesJson {
    a: LookupJson<String>,
    aaaa: LookupJson<String>,
}

#[derive(Serialize)]
struct FetchJson {
    address: String,
    user_agent: String,
    status: Option<u16>,
    content_type: Option<String>,
    location: Option<String>,
    body_bytes: Option<usize>,
    body_truncated: bool,
    error: Option<String>,
    certificates: Vec<CertJson>,
    elapsed_ms: u128,
}

#[derive(Serialize)]
struct ParsedPolicyJson {
    valid: bool,
    line_endings: &'static str,
    mode: Option<&'static str>,
    max_age: Option<u64>,
    mx: Vec<String>,
    extensions: Vec<Extension>,
}

#[derive(Serialize)]
struct MxJson {
    host: String,
    preference: u16,
    matched_pattern: Option<String>,
    addresses_lookup: AddressesJson,
    tlsa: Option<LookupJson<TlsaJson>>,
    addresses: Vec<ProbeJson>,
}

#[derive(Serialize)]
struct TlsaJson {
    usage: u8,
    selector: u8,
    matching: u8,
    data: String,
}

#[derive(Serialize)]
struct ProbeJson {
    address: Option<String>,
    /// The judgement of this address: worst severity of its findings (and its host's),
    /// readiness, and the ids that fired.
    verdict: Verdict,
    enforce_ready: Option<bool>,
    readiness: ReadinessJson,
    findings: Vec<&'static str>,
    banner: Option<ReplyJson>,
    ehlo: Option<ReplyJson>,
    starttls_offered: Option<bool>,
    starttls: Option<ReplyJson>,
    injected: Option<String>,
    tls: Option<TlsJson>,
    ehlo_after_tls: Option<ReplyJson>,
    /// Where and why the session broke down.
    failure: Option<FailureJson>,
    elapsed_ms: u128,
}

#[derive(Serialize)]
struct FailureJson {
    /// connect, banner, ehlo, starttls, tls-handshake or ehlo-after-tls.
    step: &'static str,
    reason: String,
}

#[derive(Serialize)]
struct Extension {
    name: String,
    value: String,
}

fn extensions(pairs: &[(String, String)]) -> Vec<Extension> {
    pairs
        .iter()
        .map(|(name, value)| Extension {
            name: name.clone(),
            value: value.clone(),
        })
        .collect()
}

#[derive(Serialize)]
struct ReplyJson {
    code: u16,
    lines: Vec<String>,
}

#[derive(Serialize)]
struct TlsJson {
    version: Option<String>,
    cipher: Option<String>,
    error: Option<String>,
    certificates: Vec<CertJson>,
}

#[derive(Serialize)]
struct CertJson {
    subject: String,
    issuer: String,
    serial: String,
    dns_names: Vec<String>,
    not_before: String,
    not_after: String,
    days_left: i64,
    key_type: String,
    key_bits: Option<u32>,
    signature_algorithm: String,
    sha256: String,
}

#[derive(Serialize)]
struct FindingJson {
    id: &'static str,
    severity: Severity,
    subject: SubjectJson,
    /// The policy line it is about, for policy findings.
    line: Option<usize>,
    message: String,
    hint: String,
    rfc: &'static str,
    result_type: Option<ResultType>,
}

fn subject(s: &Subject, name: String) -> SubjectJson {
    SubjectJson {
        kind: s.kind(),
        name,
        address: s.addr().map(|a| a.to_string()),
    }
}

#[derive(Serialize)]
struct SubjectJson {
    kind: &'static str,
    name: String,
    address: Option<String>,
}

#[derive(Serialize)]
struct Timings {
    total_ms: u128,
}

#[derive(Serialize)]
struct LintDocument<'a> {
    schema_version: u32,
    tool: Tool,
    files: Vec<LintJson<'a>>,
}

#[derive(Serialize)]
struct LintJson<'a> {
    path: &'a str,
    verdict: Verdict,
    counts: Counts,
    body: String,
    parsed: ParsedPolicyJson,
    findings: Vec<FindingJson>,
}

/// `mtasts lint`: the same findings, about files instead of domains.
pub fn render_lint(reports: &[LintReport], out: &mut impl Write) -> io::Result<()> {
    let files = reports
        .iter()
        .map(|r| LintJson {
            path: &r.path,
            verdict: r.verdict,
            counts: counts(&r.findings),
            body: text(&r.body),
            parsed: parsed_policy(&r.policy),
            findings: r
                .findings
                .iter()
                .map(|f| finding(f, r.path.clone()))
                .collect(),
        })
        .collect();
    let doc = LintDocument {
        schema_version: SCHEMA_VERSION,
        tool: tool(),
        files,
    };
    writeln!(out, "{}", encode(&doc, true)?)
}

/// `value` as JSON text, pretty or on one line. What JSON allows raw but a terminal acts on
/// (DEL, C1 controls such as the one-byte CSI, bidi overrides: [`is_invisible`]) is written
/// as a `\uXXXX` escape too, so that the data is the same and `cat` of the file is safe.
pub(crate) fn encode(value: &impl Serialize, pretty: bool) -> serde_json::Result<String> {
    let raw = if pretty {
        serde_json::to_string_pretty(value)?
    } else {
        serde_json::to_string(value)?
    };
    // Outside strings, JSON text is ASCII: every such character is inside a string.
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if c == '\x7f' || is_invisible(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

pub(crate) fn tool() -> Tool {
    Tool {
        name: "mtasts",
        version: env!("CARGO_PKG_VERSION"),
    }
}

fn counts(findings: &[Finding]) -> Counts {
    let count = |s: Severity| findings.iter().filter(|f| f.severity() == s).count();
    Counts {
        error: count(Severity::Error),
        warning: count(Severity::Warning),
        info: count(Severity::Info),
    }
}

/// One document, written as it goes: the run first, then each domain (in the order
/// given to it), then the end. The bytes are those of the whole document pretty-printed
/// at once.
pub struct JsonSink<'a, W> {
    out: &'a mut W,
    domains: usize,
}

impl<'a, W: Write> JsonSink<'a, W> {
    pub fn new(out: &'a mut W) -> Self {
        JsonSink { out, domains: 0 }
    }
}

impl<W: Write> Sink for JsonSink<'_, W> {
    fn begin(&mut self, run: &Run) -> io::Result<()> {
        let head = encode(&head(run), true)?;
        // The head is an object: its closing brace comes after the domains.
        let open = head.strip_suffix("\n}").unwrap_or(&head);
        write!(self.out, "{open},\n  \"domains\": [")
    }

    fn domain(&mut self, report: &DomainReport) -> io::Result<()> {
        let json = encode(&domain(report), true)?;
        let sep = if self.domains == 0 { "\n" } else { ",\n" };
        self.domains += 1;
        write!(self.out, "{sep}")?;
        for (i, line) in json.lines().enumerate() {
            if i > 0 {
                writeln!(self.out)?;
            }
            write!(self.out, "    {line}")?;
        }
        Ok(())
    }

    fn end(&mut self, _tally: &Tally) -> io::Result<()> {
        if self.domains > 0 {
            write!(self.out, "\n  ")?;
        }
        writeln!(self.out, "]\n}}")?;
        self.out.flush()
    }
}

fn head(run: &Run) -> Head {
    Head {
        schema_version: SCHEMA_VERSION,
        tool: tool(),
        judged_at: dates::rfc3339(run.judged_at),
        options: options(run),
    }
}

pub(crate) fn domain(r: &DomainReport) -> DomainJson<'_> {
    let obs = &r.observations;
    DomainJson {
        domain: &obs.domain,
        unicode: r.unicode.as_deref(),
        judged_at: dates::rfc3339(r.judged_at),
        verdict: r.verdict,
        enforce_ready: r.readiness.ready,
        readiness: readiness(&r.readiness, &obs.domain),
        counts: counts(&r.findings),
        records: Records {
            mta_sts: TxtJson {
                lookup: txt_lookup(&obs.sts),
                parsed: r
                    .sts_record
                    .as_ref()
                    .and_then(|s| serde_json::to_value(StsJson::from(s)).ok()),
            },
            tlsrpt: TxtJson {
                lookup: txt_lookup(&obs.tlsrpt),
                parsed: r
                    .tlsrpt_record
                    .as_ref()
                    .and_then(|t| serde_json::to_value(TlsRptJson::from(t)).ok()),
            },
            mx: lookup(&obs.mx, |m: &MxRecord| MxJsonRecord {
                preference: m.preference,
                exchange: m.exchange.clone(),
            }),
        },
        policy: policy(r),
        mx: obs
            .mx_hosts
            .iter()
            .zip(&r.mx)
            .map(|(h, judged)| MxJson {
                host: h.name.clone(),
                preference: h.preference,
                matched_pattern: judged.matched_pattern.clone(),
                addresses_lookup: addresses(&h.addresses),
                tlsa: h.tlsa.as_ref().map(|l| {
                    lookup(l, |t| TlsaJson {
                        usage: t.usage,
                        selector: t.selector,
                        matching: t.matching,
                        data: hex(&t.data),
                    })
                }),
                addresses: h
                    .probes
                    .iter()
                    .zip(&judged.addresses)
                    .map(|(p, a)| probe(p, a, &obs.domain))
                    .collect(),
            })
            .collect(),
        findings: r
            .findings
            .iter()
            .map(|f| finding(f, f.subject.name(&obs.domain)))
            .collect(),
        timings: Timings {
            total_ms: obs.elapsed.as_millis(),
        },
    }
}

#[derive(Serialize)]
struct StsJson {
    id: String,
    extensions: Vec<Extension>,
}

impl From<&crate::record::StsRecord> for StsJson {
    fn from(r: &crate::record::StsRecord) -> Self {
        StsJson {
            id: r.id.clone(),
            extensions: extensions(&r.extensions),
        }
    }
}

#[derive(Serialize)]
struct TlsRptJson {
    rua: Vec<String>,
    extensions: Vec<Extension>,
}

impl From<&crate::record::TlsRptRecord> for TlsRptJson {
    fn from(r: &crate::record::TlsRptRecord) -> Self {
        TlsRptJson {
            rua: r.rua.clone(),
            extensions: extensions(&r.extensions),
        }
    }
}

fn policy(r: &DomainReport) -> PolicyJson {
    let obs = &r.observations;
    let parsed = r.policy.as_ref().map(parsed_policy);
    match &obs.policy {
        PolicySource::Draft { path, body } => PolicyJson {
            source: "draft",
            url: policy_url(&obs.domain),
            path: Some(path.clone()),
            host_addresses: None,
            fetches: vec![],
            body: Some(text(body)),
            parsed,
        },
        PolicySource::Fetched(f) => {
            let body = r
                .served
                .and_then(|i| f.fetches.get(i))
                .and_then(|f| f.result.as_ref().ok())
                .map(|r| text(&r.body));
            PolicyJson {
                source: "fetched",
                url: policy_url(&obs.domain),
                path: None,
                host_addresses: Some(addresses(&f.host)),
                fetches: f
                    .fetches
                    .iter()
                    .chain(&f.browser)
                    .zip(&r.fetches)
                    .map(|(f, judged)| fetch(f, judged))
                    .collect(),
                body,
                parsed,
            }
        }
    }
}

fn parsed_policy(p: &ParsedPolicy) -> ParsedPolicyJson {
    let policy = p.policy.as_ref();
    ParsedPolicyJson {
        valid: p.valid,
        line_endings: p.line_endings,
        mode: policy.map(|p| p.mode.as_str()),
        max_age: policy.map(|p| p.max_age),
        mx: policy.map(|p| p.mx.clone()).unwrap_or_default(),
        extensions: policy
            .map(|p| extensions(&p.extensions))
            .unwrap_or_default(),
    }
}

fn fetch(f: &PolicyFetch, judged: &FetchReport) -> FetchJson {
    let resp = f.result.as_ref().ok();
    FetchJson {
        address: f.addr.to_string(),
        user_agent: f.user_agent.clone(),
        status: resp.map(|r| r.status),
        content_type: resp.and_then(|r| r.header("content-type")),
        location: resp.and_then(|r| r.header("location")),
        body_bytes: resp.map(|r| r.body.len()),
        body_truncated: resp.is_some_and(|r| r.body_truncated),
        error: match &f.result {
            Err(e) => Some(e.to_string()),
            Ok(r) => r.body_error.as_ref().map(|e| e.to_string()),
        },
        certificates: certs(&judged.certificates),
        elapsed_ms: f.elapsed.as_millis(),
    }
}

fn probe(p: &SmtpProbe, judged: &AddressReport, domain: &str) -> ProbeJson {
    ProbeJson {
        address: p.addr.map(|a| a.to_string()),
        verdict: judged.verdict,
        enforce_ready: judged.readiness.ready,
        readiness: readiness(&judged.readiness, domain),
        findings: judged.checks.iter().map(|c| c.id()).collect(),
        banner: p.banner.as_ref().map(reply),
        ehlo: p.ehlo.as_ref().map(reply),
        starttls_offered: p
            .ehlo
            .as_ref()
            .filter(|e| e.is_positive())
            .map(|e| e.ehlo_keywords().iter().any(|k| k == "STARTTLS")),
        starttls: p.starttls.as_ref().map(reply),
        injected: (!p.injected.is_empty()).then(|| text(&p.injected)),
        tls: p.tls.as_ref().map(|t| TlsJson {
            version: t.version.clone(),
            cipher: t.cipher.clone(),
            error: t.error.as_ref().map(|e| e.to_string()),
            certificates: certs(&judged.certificates),
        }),
        ehlo_after_tls: p.ehlo_after_tls.as_ref().map(reply),
        failure: p.failure.as_ref().map(|(step, f)| FailureJson {
            step: step.id(),
            reason: f.to_string(),
        }),
        elapsed_ms: p.elapsed.as_millis(),
    }
}

fn certs(chain: &[Certificate]) -> Vec<CertJson> {
    chain
        .iter()
        .map(|c| CertJson {
            days_left: c.days_left,
            not_before: dates::rfc3339(c.summary.not_before),
            not_after: dates::rfc3339(c.summary.not_after),
            subject: c.summary.subject.clone(),
            issuer: c.summary.issuer.clone(),
            serial: c.summary.serial.clone(),
            dns_names: c.summary.dns_names.clone(),
            key_type: c.summary.key_type.clone(),
            key_bits: c.summary.key_bits,
            signature_algorithm: c.summary.signature_algorithm.clone(),
            sha256: c.summary.sha256.clone(),
        })
        .collect()
}

fn reply(r: &Reply) -> ReplyJson {
    ReplyJson {
        code: r.code,
        lines: r.lines.iter().map(|l| text(l)).collect(),
    }
}

/// `name`: what the subject is called in this report (a DNS name, a URL, a file).
fn finding(f: &Finding, name: String) -> FindingJson {
    let info = f.check.info();
    FindingJson {
        id: info.id,
        severity: info.severity,
        subject: subject(&f.subject, name),
        line: f.line,
        message: f.message.clone(),
        hint: f.hint().to_string(),
        rfc: info.rfc,
        result_type: info.result_type,
    }
}

fn txt_lookup(l: &Lookup<TxtRecord>) -> LookupJson<TxtJsonRecord> {
    lookup(l, |r| TxtJsonRecord {
        text: text(&r.joined()),
        strings: r.strings.iter().map(|s| text(s)).collect(),
    })
}

fn addresses(a: &Addresses) -> AddressesJson {
    AddressesJson {
        a: lookup(&a.a, |ip| ip.to_string()),
        aaaa: lookup(&a.aaaa, |ip| ip.to_string()),
    }
}

fn lookup<T, J>(l: &Lookup<T>, f: impl Fn(&T) -> J) -> LookupJson<J> {
    let (status, error) = match &l.answer {
        DnsAnswer::Records(_) => ("records", None),
        DnsAnswer::NxDomain => ("nxdomain", None),
        DnsAnswer::NoData => ("nodata", None),
        DnsAnswer::Failed(why) => ("error", Some(why.to_string().to_ascii_lowercase())),
    };
    LookupJson {
        name: l.name.clone(),
        status,
        error,
        cnames: l.cnames.clone(),
        ttl: l.ttl,
        records: l.records().iter().map(f).collect(),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_escapes_what_a_terminal_acts_on_and_keeps_the_data() {
        let data = "ok\x1b[2J \x7f \u{9b}31m a\u{202e}gnp \u{feff} Grüße\n";
        for pretty in [false, true] {
            let json = encode(&data, pretty).expect("a string serializes");
            assert_eq!(
                json,
                r#""ok\u001b[2J \u007f \u009b31m a\u202egnp \ufeff Grüße\n""#
            );
            let back: String = serde_json::from_str(&json).expect("JSON");
            assert_eq!(back, data);
        }
    }
}
