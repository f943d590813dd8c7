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
pub mod init;
pub mod input;
pub mod judge;
pub mod limits;
pub mod names;
pub mod net;
pub mod observe;
pub mod output;
pub mod policy;
pub mod record;
pub mod report;
pub mod run;
pub mod senders;
pub mod snapshot;
pub mod state;
pub mod suites;
pub mod tally;
pub mod tlsrpt;
pub mod zone;

pub use run::{audit, audit_stream};

/// The current time in unix seconds: the one place the clock is read for judging.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
