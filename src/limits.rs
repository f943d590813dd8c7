//! Every bound the audit puts on what it reads and waits for, in one place: each is named
//! in the README's Limits table, and each that is hit is reported as a finding.

use std::time::Duration;

// The MX hosts and addresses of one domain.
/// At most this many MX hosts of one domain are probed (RFC 5321 puts no limit; real
/// domains have a handful).
pub const MAX_MX_HOSTS: usize = 16;

/// At most this many addresses of one host are probed.
pub const MAX_ADDRESSES: usize = 8;

// A run over many domains.
/// Domains audited at once by default: enough to keep a bulk run busy while most of them
/// wait on the network.
pub const JOBS: u16 = 64;

/// SMTP connections open at once to one remote address: a few, so that auditing the
/// thousands of domains a provider hosts does not look like an attack on its MX hosts.
pub const MAX_PER_ADDRESS: usize = 2;

/// MX probes kept for reuse by later domains ((host, address) pairs); the oldest done
/// are forgotten first, so memory stays flat however long the list.
pub const PROBE_CACHE_ENTRIES: usize = 4096;

/// DNS answers the run's resolver keeps (hickory's cache, by entries).
pub const DNS_CACHE_ENTRIES: usize = 8192;

/// Domains every connection of which failed, concurrently, before the audit concludes that
/// outbound port 25 is blocked here without waiting for the others.
pub const PORT25_EVIDENCE: usize = 4;

// DNS.
/// At most this many records of one RRset are kept.
pub const MAX_RECORDS: usize = 64;

/// CNAME links followed by hand before a chain counts as broken (hickory follows 8).
pub const MAX_CNAME_LINKS: usize = 8;

/// DNS lookups in flight at once, over the whole run (hickory's per-connection limit).
pub const MAX_IN_FLIGHT: usize = 32;

// The policy fetch.
/// Senders read at most this much of a policy (RFC 8461 §3.3 suggests 64 KB; mox and
/// postfix-mta-sts-resolver use 64 KiB). One byte more tells us the body was larger.
pub const MAX_POLICY_BYTES: usize = 64 * 1024;

/// Most headers an HTTP response may carry before it is judged broken.
pub const MAX_HEADERS: usize = 100;

/// Most octets of response head (status line and headers) read before the response is
/// judged broken: a head still incomplete after this many octets is refused. This is
/// hyper's own bound (its default `max_buf_size`), which reqwest offers no way to change.
pub const MAX_HEADER_BYTES: usize = 8192 + 4096 * 100;

// The hand-made legacy ClientHello.
/// The most bytes read of the server's first flight: the ServerHello and a Certificate
/// message of a long chain (several records).
pub const MAX_ANSWER: usize = 64 * 1024;

// The SMTP dialogue.
/// Longest reply line accepted, in octets without the line ending. RFC 5321
/// §4.5.3.1.5 says 512 with the CRLF, but real EHLO replies run longer: the cap only
/// has to stop a hostile server.
pub const MAX_LINE: usize = 4096;

/// Most lines in one reply; real EHLO replies have about 20.
pub const MAX_LINES: usize = 100;

/// Octets of a line that is not an SMTP reply kept for the report.
pub const MAX_GARBAGE: usize = 64;

/// Longest wait to say QUIT and close the connection (its reply is not waited for).
pub const QUIT_WAIT: Duration = Duration::from_secs(2);

// TLS.
/// Certificates kept from one chain, leaf included. Real chains have 2 to 4; the cap
/// keeps a hostile server from making us hold an arbitrary number.
pub const MAX_CHAIN_CERTS: usize = 10;

// What senders wait for.
/// A policy fetch slower than this, host lookup included, misses senders that give up
/// early ([`crate::senders::FETCH_TIME`]: 4 s, less the time a sender needs for its own lookups).
pub const SLOW_FETCH: Duration = Duration::from_secs(3);

// Files the user hands us.
/// The largest zone file `--zone` reads (a zone of some 100,000 records).
pub const MAX_ZONE_BYTES: usize = 16 * 1024 * 1024;

/// The largest `--state` file read (a 10,000-domain list needs a few MiB).
pub const MAX_STATE_BYTES: usize = 256 * 1024 * 1024;

// What the human output shows.
/// Policy lines shown with their findings; a longer body is cut there.
pub const POLICY_LINES_SHOWN: usize = 40;
