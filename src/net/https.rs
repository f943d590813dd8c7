//! The policy fetch, the way RFC 8461 §3.3 senders do it: one GET over HTTPS, no
//! redirects, no caches, no proxies, size- and time-bounded. One fetch per address of
//! the policy host, so a stale or broken node behind the name is seen.

use std::io;
use std::net::IpAddr;
use std::time::Duration;

use tokio::time::Instant;

use crate::limits::{MAX_HEADER_BYTES, MAX_HEADERS, MAX_POLICY_BYTES};
use crate::net::Config;
use crate::net::tls;
use crate::observe::{FetchError, HttpResponse, PolicyFetch, TlsSession};

/// What hyper says when a response head breaks [`MAX_HEADERS`] or [`MAX_HEADER_BYTES`]:
/// hyper is not a direct dependency, so its error type cannot be asked.
const HEAD_TOO_LARGE: &str = "message head is too large";

/// What we present as: an MTA fetching a policy (postfix-mta-sts-resolver and mox send
/// similar non-browser agents, which is what web firewalls sometimes block).
pub const MTA_USER_AGENT: &str = concat!(
    "mtasts/",
    env!("CARGO_PKG_VERSION"),
    " (MTA-STS policy fetch; RFC 8461)"
);

/// A browser-like agent, used only to tell a bot block apart from a real failure.
pub const BROWSER_USER_AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36";

/// `GET https://{host}/.well-known/mta-sts.txt` from `addr` (after `--connect-to`).
pub async fn fetch(
    cfg: &Config,
    host: &str,
    addr: IpAddr,
    user_agent: &str,
    deadline: Instant,
) -> PolicyFetch {
    let started = Instant::now();
    let until = deadline.min(started + cfg.timeout);
    let (tls_config, recording) = tls::client_config();
    let result = match client(
        cfg,
        host,
        addr,
        user_agent,
        until.saturating_duration_since(started),
        tls_config,
    ) {
        Ok(client) => {
            let url = format!("https://{host}/.well-known/mta-sts.txt");
            match tokio::time::timeout_at(until, get(&client, &url, until)).await {
                Ok(r) => r,
                Err(_) => Err(FetchError::Timeout),
            }
        }
        Err(e) => Err(FetchError::Connect(e.to_string())),
    };
    let (chain, chain_truncated) = recording.chain();
    let tls = (!chain.is_empty()).then(|| TlsSession {
        chain,
        chain_truncated,
        ..TlsSession::default()
    });
    PolicyFetch {
        addr,
        user_agent: user_agent.to_string(),
        tls,
        result,
        elapsed: started.elapsed(),
    }
}

/// The fetch that never started: the deadline passed while waiting for a connection slot.
pub fn gave_up(addr: IpAddr, user_agent: &str) -> PolicyFetch {
    PolicyFetch {
        addr,
        user_agent: user_agent.to_string(),
        tls: None,
        result: Err(FetchError::Timeout),
        elapsed: Duration::ZERO,
    }
}

fn client(
    cfg: &Config,
    host: &str,
    addr: IpAddr,
    user_agent: &str,
    budget: Duration,
    tls_config: std::sync::Arc<rustls::ClientConfig>,
) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .tls_backend_preconfigured((*tls_config).clone())
        // RFC 8461 §3.3: "HTTP 3xx redirects MUST NOT be followed".
        .redirect(reqwest::redirect::Policy::none())
        .retry(reqwest::retry::never())
        // Senders connect directly; a proxy from the environment would hide the real host.
        .no_proxy()
        .http1_only()
        .http1_max_headers(MAX_HEADERS)
        .pool_max_idle_per_host(0)
        .timeout(budget)
        .connect_timeout(budget)
        .user_agent(user_agent)
        .resolve(host, cfg.dial(host, addr, 443))
        .build()
}

async fn get(
    client: &reqwest::Client,
    url: &str,
    until: Instant,
) -> Result<HttpResponse, FetchError> {
    let mut resp = client.get(url).send().await.map_err(|e| classify(&e))?;
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_ascii_lowercase(),
                value.as_bytes().to_vec(),
            )
        })
        .collect();
    let mut body = Vec::new();
    let mut body_truncated = false;
    let mut body_error = None;
    loop {
        match tokio::time::timeout_at(until, resp.chunk()).await {
            Err(_) => {
                body_error = Some(FetchError::Timeout);
                break;
            }
            Ok(Err(e)) => {
                body_error = Some(classify(&e));
                break;
            }
            Ok(Ok(None)) => break,
            Ok(Ok(Some(chunk))) => {
                let room = MAX_POLICY_BYTES - body.len();
                if chunk.len() > room {
                    body.extend_from_slice(&chunk[..room]);
                    body_truncated = true;
                    break;
                }
                body.extend_from_slice(&chunk);
            }
        }
    }
    Ok(HttpResponse {
        status,
        headers,
        body,
        body_truncated,
        body_error,
    })
}

/// Turns a reqwest error into what went wrong, as precisely as the error chain allows.
fn classify(e: &reqwest::Error) -> FetchError {
    if e.is_timeout() {
        return FetchError::Timeout;
    }
    if let Some(r) = tls::find_rustls_error(e) {
        return FetchError::Tls(tls::classify(r).to_string());
    }
    if let Some(io) = find_io_error(e) {
        match io.kind() {
            io::ErrorKind::ConnectionRefused => return FetchError::ConnectRefused,
            io::ErrorKind::NetworkUnreachable | io::ErrorKind::AddrNotAvailable => {
                return FetchError::NetworkUnreachable;
            }
            io::ErrorKind::TimedOut => return FetchError::Timeout,
            _ if e.is_connect() => return FetchError::Connect(io.to_string()),
            _ => {}
        }
    }
    if e.is_connect() {
        return FetchError::Connect(chain_text(e));
    }
    let text = chain_text(e);
    if text.contains(HEAD_TOO_LARGE) {
        return FetchError::Http(format!(
            "the response's headers exceed what the audit reads: at most {MAX_HEADERS} header fields and {} KiB of headers",
            MAX_HEADER_BYTES / 1024
        ));
    }
    FetchError::Http(text)
}

fn find_io_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a io::Error> {
    let mut next = Some(e);
    while let Some(err) = next {
        if let Some(io) = err.downcast_ref::<io::Error>() {
            return Some(io);
        }
        next = err.source();
    }
    None
}

/// The innermost useful message of an error chain ("error sending request" alone says nothing).
fn chain_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut next = e.source();
    while let Some(err) = next {
        parts.push(err.to_string());
        next = err.source();
    }
    parts.dedup();
    parts.join(": ")
}
