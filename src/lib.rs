//! mtasts: audit a domain's MTA-STS (RFC 8461) and TLS-RPT (RFC 8460) deployment the
//! way a sending MTA sees it.
//!
//! ```text
//!   net (all I/O, bounded)                 judge (pure, `now` passed in)       report
//!   DNS: TXT, MX, A/AAAA, TLSA ───┐         record / policy parsers ──┐
//!   HTTPS: the policy, per address ├─► Observations ──► checks ─────────┼─► DomainReport ─► human | json
//!   SMTP+STARTTLS+TLS, per address ┘         cert chains vs roots ─────┘
//! ```

pub mod cert;
pub mod checks;
pub mod cli;
pub mod dates;
pub mod finding;
pub mod input;
pub mod judge;
pub mod names;
pub mod net;
pub mod observe;
pub mod policy;
pub mod record;
pub mod report;
pub mod senders;
pub mod tlsrpt;

use futures_util::StreamExt;

use crate::judge::{Context, DomainReport};
use crate::net::{Config, Net};

/// Audits each domain (normalised: lower case, A-labels, no trailing dot), in order.
/// `Err` only when the audit itself cannot run (e.g. no resolver configuration).
pub async fn audit(
    domains: &[String],
    cfg: &Config,
    expiry_warning_days: u32,
) -> anyhow::Result<Vec<DomainReport>> {
    let net = Net::new(cfg)?;
    let gather = futures_util::stream::iter(domains)
        .map(|d| net.gather(d))
        .buffered(cfg.jobs.max(1))
        .collect::<Vec<_>>();
    // Asked beside the domains' own lookups, so that it costs no time when DNS works.
    let (observations, dns) = futures_util::join!(gather, net.dns_answers());
    let ctx = Context {
        now: unix_now(),
        roots: &cfg.roots,
        expiry_warning_days,
        timeout: cfg.timeout,
        dns_silent: dns.err(),
        port25_reached: observations.iter().any(judge::reached_port25),
    };
    Ok(observations
        .into_iter()
        .map(|o| judge::judge(o, &ctx))
        .collect())
}

/// The current time in unix seconds: the one place the clock is read for judging.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
