//! mtasts: audit a domain's MTA-STS (RFC 8461) and TLS-RPT (RFC 8460) deployment the
//! way a sending MTA sees it.
//!
//! ```text
//!  net (I/O, bounded)          judge (pure, `now` passed in)      report (to a writer)
//!  DNS ─┐                      record / policy parsers ─┐
//!  HTTPS policy fetch ─┼─► Observations ─► checks ─────────┼─► DomainReport ─► human | json
//!  SMTP+TLS per MX addr ─┘                      cert chains ────┘
//! ```

pub mod cert;
pub mod checks;
pub mod finding;
pub mod names;
pub mod net;
pub mod observe;
pub mod policy;
pub mod record;
