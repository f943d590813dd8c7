//! The policy: the policy host's DNS, each address's HTTPS fetch and certificate, and the
//! body's grammar and sense.

use std::net::IpAddr;

use crate::checks::Check;
use crate::finding::{Finding, Problem, Subject};
use crate::judge::certs::{Endpoint, certificate};
use crate::judge::{Context, Readiness, address_lookups};
use crate::limits::SLOW_FETCH;
use crate::observe::{
    Addresses, FetchError, HttpResponse, Observations, PolicyFetch, PolicyFetches, PolicySource,
};
use crate::policy::{self, Mode, ParsedPolicy, Policy};
use crate::senders;

/// Judges the policy under judgement and returns it parsed: the draft, or the body the
/// policy host served (when it served one senders would read).
pub fn judge(
    obs: &Observations,
    ctx: &Context<'_>,
    sts_in_use: bool,
    findings: &mut Vec<Finding>,
) -> Option<ParsedPolicy> {
    let parsed = match &obs.policy {
        PolicySource::Draft { body, .. } => Some(policy::parse(body)),
        PolicySource::Fetched(fetches) => {
            let served = served(fetches).map(|r| policy::parse(&r.body));
            // Without the TXT record senders never fetch the policy: nothing here can hurt
            // them.
            if !sts_in_use {
                return served;
            }
            judge_fetches(obs, fetches, ctx, findings);
            served
        }
    };
    if let Some(parsed) = &parsed {
        findings.extend(content_findings(parsed));
    }
    parsed
}

/// The response whose body is judged: the first complete 200.
fn served(fetches: &PolicyFetches) -> Option<&HttpResponse> {
    let i = served_index(fetches)?;
    fetches.fetches[i].result.as_ref().ok()
}

/// Which fetch that is.
pub fn served_index(fetches: &PolicyFetches) -> Option<usize> {
    fetches
        .fetches
        .iter()
        .position(|f| matches!(&f.result, Ok(r) if r.status == 200 && !r.body_truncated))
}

/// The policy host's DNS and every address's fetch: each problem once when every address
/// agrees, at its address otherwise, and whether the addresses disagree.
fn judge_fetches(
    obs: &Observations,
    fetches: &PolicyFetches,
    ctx: &Context<'_>,
    findings: &mut Vec<Finding>,
) {
    let host = format!("mta-sts.{}", obs.domain);
    let policy = Subject::Policy { addr: None };
    if let Some(message) = address_lookups(&host, &fetches.host, &policy, findings) {
        findings.push(Finding::new(Check::StsHostDns, policy.clone(), message));
    }
    // Addresses this network cannot reach are a limit of the vantage point, judged elsewhere.
    let reachable: Vec<&PolicyFetch> = fetches
        .fetches
        .iter()
        .filter(|f| !matches!(f.result, Err(FetchError::NetworkUnreachable)))
        .collect();
    if reachable.is_empty() {
        return;
    }
    let per_address: Vec<(IpAddr, Vec<Problem>)> = reachable
        .iter()
        .map(|f| {
            let mut problems = fetch_problems(f, &host, fetches.browser.as_ref(), ctx);
            problems.extend(slow(f, &fetches.host, ctx));
            (f.addr, problems)
        })
        .collect();
    if per_address.iter().all(|(_, p)| *p == per_address[0].1) {
        findings.extend(
            per_address[0]
                .1
                .iter()
                .cloned()
                .map(|p| p.at(policy.clone())),
        );
    } else {
        for (addr, problems) in &per_address {
            let at = Subject::Policy { addr: Some(*addr) };
            findings.extend(problems.iter().cloned().map(|p| p.at(at.clone())));
        }
    }
    if let Some(message) = disagreement(&host, fetches, &reachable, &per_address) {
        findings.push(Finding::new(Check::StsFetchInconsistent, policy, message));
    }
}

/// Senders see addresses differ only in the policy served or in what fails there; a
/// warning at one address (a certificate that expires sooner) is reported at that address
/// alone. The message lists what each address answered.
fn disagreement(
    host: &str,
    fetches: &PolicyFetches,
    reachable: &[&PolicyFetch],
    per_address: &[(IpAddr, Vec<Problem>)],
) -> Option<String> {
    let primary = served(fetches);
    let bodies_differ = reachable
        .iter()
        .filter_map(|f| f.result.as_ref().ok().filter(|r| r.status == 200))
        .any(|r| primary.is_some_and(|p| !same_policy(&p.body, &r.body)));
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
    if agree {
        return None;
    }
    let outcomes: Vec<String> = reachable
        .iter()
        .map(|f| format!("{}: {}", f.addr, outcome(f, primary)))
        .collect();
    Some(format!(
        "the addresses of {host} answer differently: {}",
        outcomes.join("; ")
    ))
}

/// A fetch that took longer, host lookup included, than some senders wait.
fn slow(f: &PolicyFetch, host: &Addresses, ctx: &Context<'_>) -> Option<Problem> {
    let lookup = host.a.elapsed.max(host.aaaa.elapsed);
    let total = lookup + f.elapsed;
    let answered = matches!(&f.result, Ok(r) if r.body_error.is_none());
    (answered && total > SLOW_FETCH).then(|| {
        Problem::new(
            Check::StsFetchSlow,
            format!(
                "fetching the policy took {:.1} s (host lookup {:.1} s, connection, TLS and response {:.1} s), within this audit's --timeout of {} s but over {} s: {}, so those senders have no policy for the domain",
                total.as_secs_f64(),
                lookup.as_secs_f64(),
                f.elapsed.as_secs_f64(),
                ctx.timeout.as_secs_f64(),
                SLOW_FETCH.as_secs(),
                senders::FETCH_TIME.senders
            ),
        )
    })
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
                match status {
                    201..=299 => format!(
                        "{host} answered HTTP {status} instead of 200: {}",
                        senders::STATUS.senders
                    ),
                    _ => format!("{host} answered HTTP {status} instead of 200"),
                },
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
                crate::limits::MAX_POLICY_BYTES
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
            format!(
                "the policy is served as \"{content_type}\": {}",
                senders::MEDIA_TYPE.senders
            ),
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
    if matches!(charset.as_deref(), None | Some("us-ascii")) && !resp.body.is_ascii() {
        problems.push(Problem::new(
            Check::StsFetchNonAscii,
            format!(
                "the policy contains bytes outside ASCII but is not declared charset=utf-8: {}",
                senders::DECODING.senders
            ),
        ));
    }
    problems
}

/// A short description of a fetch's outcome, for the inconsistency finding.
fn outcome(f: &PolicyFetch, primary: Option<&HttpResponse>) -> String {
    match &f.result {
        Err(e) => e.to_string(),
        Ok(r) if r.status != 200 => format!("HTTP {}", r.status),
        Ok(r) => match primary {
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

/// The mode's consequences, which depend on whether enforcing would be safe: `readiness`
/// is `None` when the MX hosts are not known (a file judged offline).
pub fn judge_mode(policy: &Policy, readiness: Option<&Readiness>, findings: &mut Vec<Finding>) {
    let subject = Subject::Policy { addr: None };
    match policy.mode {
        Mode::Enforce => {}
        Mode::Testing => {
            let verdict = match readiness {
                None => "whether switching to enforce is safe needs the MX hosts: run mtasts check DOMAIN --policy-file FILE".to_string(),
                Some(r) => match r.ready {
                    Some(true) => "every MX host passes, so switching to enforce is safe".to_string(),
                    Some(false) => format!(
                        "switching to enforce is NOT safe yet: {}",
                        r.because(3)
                    ),
                    None => format!(
                        "whether switching to enforce is safe is unknown: {}",
                        r.because(3)
                    ),
                },
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
                &["sts-fetch-non-ascii"],
            ), // non-ASCII without utf-8
            (
                Some("text/plain; charset=us-ascii"),
                "x: é\n".as_bytes(),
                &["sts-fetch-non-ascii"],
            ),
            (
                Some("text/plain; charset=iso-8859-1"),
                b"x: \xe9\n",
                &["sts-fetch-charset"],
            ), // decodable as declared
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
