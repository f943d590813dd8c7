//! The policy: the policy host's DNS, each address's HTTPS fetch and certificate, and the
//! body's grammar and sense.

use std::net::IpAddr;

use crate::checks::Check;
use crate::finding::{Finding, Problem, Subject};
use crate::judge::{Context, Endpoint, address_lookups, certificate};
use crate::observe::{
    FetchError, HttpResponse, Observations, PolicyFetch, PolicyFetches, PolicySource,
};
use crate::policy::{self, Mode, ParsedPolicy, Policy};

/// What the policy stage concluded.
pub struct PolicyJudgement {
    /// The body under judgement, parsed.
    pub parsed: Option<ParsedPolicy>,
    /// Senders would fetch and apply this policy from every address.
    pub usable: bool,
}

pub fn judge(
    obs: &Observations,
    ctx: &Context<'_>,
    sts_in_use: bool,
    findings: &mut Vec<Finding>,
) -> PolicyJudgement {
    match &obs.policy {
        PolicySource::Draft { body, .. } => {
            let parsed = policy::parse(body);
            findings.extend(content_findings(&parsed));
            PolicyJudgement {
                usable: parsed.valid,
                parsed: Some(parsed),
            }
        }
        PolicySource::Fetched(fetches) => judge_fetched(obs, fetches, ctx, sts_in_use, findings),
    }
}

fn judge_fetched(
    obs: &Observations,
    fetches: &PolicyFetches,
    ctx: &Context<'_>,
    sts_in_use: bool,
    findings: &mut Vec<Finding>,
) -> PolicyJudgement {
    let host = format!("mta-sts.{}", obs.domain);
    let unusable = PolicyJudgement {
        parsed: None,
        usable: false,
    };
    let primary = fetches
        .fetches
        .iter()
        .find(|f| matches!(&f.result, Ok(r) if r.status == 200 && !r.body_truncated));
    let parsed = primary
        .and_then(|f| f.result.as_ref().ok())
        .map(|r| policy::parse(&r.body));
    // Without the TXT record senders never fetch the policy: nothing here can hurt them.
    if !sts_in_use {
        return PolicyJudgement {
            parsed,
            usable: false,
        };
    }

    let absent = address_lookups(
        &host,
        &fetches.host,
        &Subject::Policy { addr: None },
        findings,
    );
    if let Some(message) = absent {
        findings.push(Finding::new(
            Check::StsHostDns,
            Subject::Policy { addr: None },
            message,
        ));
    }
    if fetches.host.all().is_empty() {
        return unusable;
    }

    // Addresses this network cannot reach are a limit of the vantage point, judged elsewhere.
    let reachable: Vec<&PolicyFetch> = fetches
        .fetches
        .iter()
        .filter(|f| !matches!(f.result, Err(FetchError::NetworkUnreachable)))
        .collect();
    if reachable.is_empty() {
        return unusable;
    }
    let per_address: Vec<(IpAddr, Vec<Problem>)> = reachable
        .iter()
        .map(|f| {
            (
                f.addr,
                fetch_problems(f, &host, fetches.browser.as_ref(), ctx),
            )
        })
        .collect();

    let bodies_differ = reachable
        .iter()
        .filter_map(|f| f.result.as_ref().ok().filter(|r| r.status == 200))
        .any(|r| {
            primary
                .and_then(|p| p.result.as_ref().ok())
                .is_some_and(|p| !same_policy(&p.body, &r.body))
        });
    // Senders see addresses differ only in the policy or in what fails there; a warning at
    // one address (a certificate that expires sooner) is reported at that address alone.
    let failing = |problems: &[Problem]| -> Vec<Check> {
        problems
            .iter()
            .filter(|p| p.check.info().result_type.is_some())
            .map(|p| p.check)
            .collect()
    };
    let agree = !bodies_differ
        && per_address
            .iter()
            .all(|(_, p)| failing(p) == failing(&per_address[0].1));
    let fetch_ok = agree && failing(&per_address[0].1).is_empty();
    if per_address.iter().all(|(_, p)| *p == per_address[0].1) {
        findings.extend(
            per_address[0]
                .1
                .iter()
                .cloned()
                .map(|p| p.at(Subject::Policy { addr: None })),
        );
    } else {
        for (addr, problems) in &per_address {
            findings.extend(
                problems
                    .iter()
                    .cloned()
                    .map(|p| p.at(Subject::Policy { addr: Some(*addr) })),
            );
        }
    }
    if !agree {
        let outcomes: Vec<String> = reachable
            .iter()
            .map(|f| format!("{}: {}", f.addr, outcome(f, primary)))
            .collect();
        findings.push(Finding::new(
            Check::StsFetchInconsistent,
            Subject::Policy { addr: None },
            format!(
                "the addresses of {host} answer differently: {}",
                outcomes.join("; ")
            ),
        ));
    }

    match parsed {
        Some(parsed) => {
            findings.extend(content_findings(&parsed));
            PolicyJudgement {
                usable: fetch_ok && parsed.valid,
                parsed: Some(parsed),
            }
        }
        None => unusable,
    }
}

/// Everything wrong with one fetch, apart from the body's content.
fn fetch_problems(
    f: &PolicyFetch,
    host: &str,
    browser: Option<&PolicyFetch>,
    ctx: &Context<'_>,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    if let Some(tls) = &f.tls {
        problems.extend(certificate(tls, host, ctx, Endpoint::PolicyHost));
    }
    let resp = match &f.result {
        Ok(resp) => resp,
        Err(e) => {
            problems.push(fetch_error(e, host));
            return problems;
        }
    };
    let status = resp.status;
    if (300..400).contains(&status)
        && let Some(location) = resp.header("location")
    {
        problems.push(Problem::new(
                Check::StsFetchRedirect,
                format!("{host} answered {status} with Location: {location}; senders do not follow redirects"),
            ));
        return problems;
    }
    if status != 200 {
        let browser_got_it = matches!(status, 403 | 429 | 503)
            && browser.is_some_and(|b| matches!(&b.result, Ok(r) if r.status == 200));
        problems.push(if browser_got_it {
            Problem::new(
                Check::StsFetchBotBlock,
                format!(
                    "{host} answered {status} to an MTA-like client but 200 to a browser-like one"
                ),
            )
        } else {
            Problem::new(
                Check::StsFetchStatus,
                format!("{host} answered HTTP {status} instead of 200"),
            )
        });
        return problems;
    }
    problems.extend(media_type(resp));
    if resp.body_truncated {
        problems.push(Problem::new(
            Check::StsFetchSize,
            format!(
                "the policy is larger than {} bytes; the audit stopped reading there",
                crate::net::https::MAX_POLICY_BYTES
            ),
        ));
    }
    if let Some(e) = &resp.body_error {
        problems.push(fetch_error(e, host));
    }
    problems
}

fn fetch_error(e: &FetchError, host: &str) -> Problem {
    match e {
        FetchError::Timeout => Problem::new(
            Check::StsFetchTimeout,
            format!("fetching the policy from {host} timed out"),
        ),
        FetchError::ConnectRefused | FetchError::Connect(_) | FetchError::NetworkUnreachable => {
            Problem::new(
                Check::StsHostConnect,
                format!("connecting to {host} on port 443 failed: {e}"),
            )
        }
        FetchError::Tls(why) => Problem::new(
            Check::StsHostTls,
            format!("the TLS handshake with {host} failed: {why}"),
        ),
        FetchError::Http(why) => Problem::new(
            Check::StsFetchHttp,
            format!("{host} sent a broken HTTP response: {why}"),
        ),
    }
}

/// RFC 8461 §3.2: `text/plain`, charset utf-8 or us-ascii (or none).
fn media_type(resp: &HttpResponse) -> Vec<Problem> {
    let Some(content_type) = resp.header("content-type") else {
        return vec![Problem::new(
            Check::StsFetchMediaType,
            "the response has no Content-Type header",
        )];
    };
    let mut parts = content_type.split(';');
    let media = parts.next().unwrap_or_default().trim();
    let mut problems = Vec::new();
    if !media.eq_ignore_ascii_case("text/plain") {
        problems.push(Problem::new(
            Check::StsFetchMediaType,
            format!("the policy is served as \"{content_type}\""),
        ));
    }
    let charset = parts
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("charset"))
        .map(|(_, v)| v.trim().trim_matches('"').to_ascii_lowercase());
    match charset.as_deref() {
        None | Some("utf-8" | "us-ascii") => {}
        Some(other) => problems.push(Problem::new(
            Check::StsFetchCharset,
            format!("the policy is served with charset={other}; senders expect utf-8 or us-ascii"),
        )),
    }
    if charset.as_deref() != Some("utf-8") && !resp.body.is_ascii() {
        problems.push(Problem::new(
            Check::StsFetchCharset,
            "the policy contains non-ASCII bytes but is not declared charset=utf-8; some senders decode it as ASCII",
        ));
    }
    problems
}

/// A short description of a fetch's outcome, for the inconsistency finding.
fn outcome(f: &PolicyFetch, primary: Option<&PolicyFetch>) -> String {
    match &f.result {
        Err(e) => e.to_string(),
        Ok(r) if r.status != 200 => format!("HTTP {}", r.status),
        Ok(r) => match primary.and_then(|p| p.result.as_ref().ok()) {
            Some(p) if !same_policy(&p.body, &r.body) => format!(
                "HTTP 200, a different policy ({})",
                first_difference(&p.body, &r.body)
            ),
            _ => format!("HTTP 200, {} bytes", r.body.len()),
        },
    }
}

/// Whether two bodies give senders the same policy: LF and CRLF are both valid line
/// endings (RFC 8461 §3.2), so bytes alone do not tell.
fn same_policy(a: &[u8], b: &[u8]) -> bool {
    if a == b {
        return true;
    }
    let (a, b) = (policy::parse(a), policy::parse(b));
    a.policy.is_some() && a.policy == b.policy && a.valid == b.valid
}

fn first_difference(a: &[u8], b: &[u8]) -> String {
    let a = String::from_utf8_lossy(a);
    let b = String::from_utf8_lossy(b);
    let (mut la, mut lb) = (a.lines(), b.lines());
    for n in 1.. {
        match (la.next(), lb.next()) {
            (None, None) => break,
            (Some(x), Some(y)) if x.trim_end() == y.trim_end() => continue,
            (x, y) => {
                return format!(
                    "line {n}: \"{}\" here, \"{}\" elsewhere",
                    y.unwrap_or(""),
                    x.unwrap_or("")
                );
            }
        }
    }
    "the same lines, with other line breaks or trailing whitespace".to_string()
}

/// A parsed policy's problems, as findings about the policy.
pub fn content_findings(parsed: &ParsedPolicy) -> impl Iterator<Item = Finding> + '_ {
    parsed
        .problems
        .iter()
        .cloned()
        .map(|p| p.at(Subject::Policy { addr: None }))
}

/// The mode's consequences, which depend on whether enforcing would be safe.
/// `unknown` says why readiness is unknown when `enforce_ready` is `None`.
pub fn judge_mode(
    policy: &Policy,
    enforce_ready: Option<bool>,
    unknown: &str,
    findings: &mut Vec<Finding>,
) {
    let subject = Subject::Policy { addr: None };
    match policy.mode {
        Mode::Enforce => {}
        Mode::Testing => {
            let verdict = match enforce_ready {
                Some(true) => "every MX host passes, so switching to enforce is safe",
                Some(false) => "switching to enforce now is NOT safe: enforcing senders would refuse the MX hosts with errors in this report",
                None => unknown,
            };
            findings.push(Finding::new(Check::StsPolicyModeTesting, subject, format!("mode is testing: {verdict}")));
        }
        Mode::None => findings.push(Finding::new(
            Check::StsPolicyModeNone,
            subject,
            format!(
                "mode is none: senders treat the domain as having no policy (keep serving it for at least max_age {} seconds before removing MTA-STS)",
                policy.max_age
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(content_type: Option<&str>, body: &[u8]) -> HttpResponse {
        HttpResponse {
            status: 200,
            headers: content_type
                .map(|c| ("content-type".to_string(), c.as_bytes().to_vec()))
                .into_iter()
                .collect(),
            body: body.to_vec(),
            body_truncated: false,
            body_error: None,
        }
    }

    fn ids(problems: Vec<Problem>) -> Vec<&'static str> {
        problems.iter().map(|p| p.check.id()).collect()
    }

    #[test]
    fn media_types() {
        let ascii = b"version: STSv1\n";
        let cases: &[(Option<&str>, &[u8], &[&str])] = &[
            (Some("text/plain"), ascii, &[]),
            (Some("text/plain; charset=utf-8"), ascii, &[]),
            (Some("TEXT/PLAIN;charset=\"US-ASCII\""), ascii, &[]),
            (Some("text/plain; charset=utf-8"), "x: é\n".as_bytes(), &[]),
            (Some("text/plain; format=flowed"), ascii, &[]), // other parameters are ignored
            (None, ascii, &["sts-fetch-media-type"]),
            (Some("text/html"), ascii, &["sts-fetch-media-type"]),
            (
                Some("application/octet-stream"),
                ascii,
                &["sts-fetch-media-type"],
            ),
            (
                Some("text/plain; charset=iso-8859-1"),
                ascii,
                &["sts-fetch-charset"],
            ),
            (
                Some("text/plain"),
                "x: é\n".as_bytes(),
                &["sts-fetch-charset"],
            ), // non-ASCII without utf-8
        ];
        for (ct, body, want) in cases {
            assert_eq!(ids(media_type(&resp(*ct, body))), *want, "{ct:?}");
        }
    }

    #[test]
    fn first_difference_names_the_line() {
        assert_eq!(
            first_difference(
                b"version: STSv1\nmode: enforce\n",
                b"version: STSv1\r\nmode: testing\r\n"
            ),
            "line 2: \"mode: testing\" here, \"mode: enforce\" elsewhere"
        );
        assert_eq!(
            first_difference(b"mode: enforce\r\n", b"mode: enforce\r\r\n"),
            "the same lines, with other line breaks or trailing whitespace"
        );
    }

    #[test]
    fn same_policy_is_what_senders_read() {
        let crlf = b"version: STSv1\r\nmode: enforce\r\nmx: a.example\r\nmax_age: 86400\r\n";
        let lf = b"version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 86400\n";
        assert!(same_policy(crlf, crlf));
        assert!(same_policy(crlf, lf)); // LF and CRLF are both valid
        assert!(same_policy(b"<html>", b"<html>"));
        assert!(!same_policy(b"<html>a", b"<html>b")); // two different non-policies
        assert!(!same_policy(
            crlf,
            b"version: STSv1\nmode: testing\nmx: a.example\nmax_age: 86400\n"
        ));
        assert!(!same_policy(
            lf,
            b"\xef\xbb\xbfversion: STSv1\nmode: enforce\nmx: a.example\nmax_age: 86400\n"
        )); // a BOM breaks strict senders
    }
}
