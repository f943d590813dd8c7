//! What the network told us about one domain, as plain data.
//!
//! [`crate::net`] fills these in; [`crate::judge`] reads them with no I/O. Failures of the
//! audited domain are values here (a timeout, an NXDOMAIN, a refused STARTTLS), never `Err`.

use std::net::IpAddr;
use std::time::Duration;

/// Everything observed about one domain.
#[derive(Debug, Clone)]
pub struct Observations {
    /// The audited domain: lower case, no trailing dot.
    pub domain: String,
    /// TXT at `_mta-sts.DOMAIN`.
    pub sts: Lookup<TxtRecord>,
    /// TXT at names where people misplace the `_mta-sts` record; looked up only when
    /// nothing at `sts` mentions STSv1.
    pub sts_misplaced: Vec<Lookup<TxtRecord>>,
    /// TXT at `_smtp._tls.DOMAIN`.
    pub tlsrpt: Lookup<TxtRecord>,
    /// TXT at names where people misplace the TLS-RPT record; looked up only when
    /// nothing at `tlsrpt` mentions TLSRPT.
    pub tlsrpt_misplaced: Vec<Lookup<TxtRecord>>,
    /// MX of DOMAIN.
    pub mx: Lookup<MxRecord>,
    /// Where the policy came from, and what fetching it looked like.
    pub policy: PolicySource,
    /// Every MX host (the implicit MX when there are no MX records), in preference order.
    pub mx_hosts: Vec<MxHost>,
    /// Whether the SMTP stage ran (`--skip-mx` turns it off).
    pub mx_checked: bool,
    /// The address families probed (`--ipv4-only`, `--ipv6-only`).
    pub families: Families,
    /// Some of this is a plan (`--zone`, `--policy-file`, `mtasts init`'s draft), not what
    /// senders see now: findings speak of what happens once it is published.
    pub planned: bool,
    /// Operations cut short by the per-domain deadline.
    pub deadline_hit: bool,
    /// Wall-clock time of the whole audit of this domain.
    pub elapsed: Duration,
}

impl Observations {
    /// The MX hosts the MX records name, as names compare (the null MX left out), sorted.
    pub fn exchanges(&self) -> std::collections::BTreeSet<String> {
        self.mx
            .records()
            .iter()
            .filter(|m| !m.exchange.is_empty())
            .map(|m| crate::names::normalize(&m.exchange))
            .collect()
    }
}

/// Which address families to probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Families {
    Both,
    V4Only,
    V6Only,
}

impl Families {
    pub fn allows(self, addr: IpAddr) -> bool {
        match self {
            Families::Both => true,
            Families::V4Only => addr.is_ipv4(),
            Families::V6Only => addr.is_ipv6(),
        }
    }
}

/// One DNS lookup: its name, what came back, and how long it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup<T> {
    /// The name queried, without the trailing dot.
    pub name: String,
    /// CNAMEs followed on the way, in order (each without the trailing dot).
    pub cnames: Vec<String>,
    pub answer: DnsAnswer<T>,
    /// Smallest TTL of the answer records, when there are any.
    pub ttl: Option<u32>,
    /// The answer held more records or bytes than the audit keeps (the first were kept).
    pub truncated: bool,
    pub elapsed: Duration,
}

impl<T> Lookup<T> {
    /// The records, or an empty slice for any other answer.
    pub fn records(&self) -> &[T] {
        match &self.answer {
            DnsAnswer::Records(r) => r,
            _ => &[],
        }
    }
}

/// The outcome of a DNS lookup. NXDOMAIN and NODATA mean "absent"; the rest mean
/// "unknown", and must never be reported as absence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsAnswer<T> {
    Records(Vec<T>),
    /// The name does not exist.
    NxDomain,
    /// The name exists but has no records of this type.
    NoData,
    Failed(DnsFailure),
}

/// Why a lookup did not produce an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsFailure {
    ServFail,
    Refused,
    Timeout,
    /// A CNAME chain that loops or exceeds the limit.
    CnameChain(String),
    Other(String),
}

impl std::fmt::Display for DnsFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DnsFailure::ServFail => f.write_str("SERVFAIL"),
            DnsFailure::Refused => f.write_str("REFUSED"),
            DnsFailure::Timeout => f.write_str("timeout"),
            DnsFailure::CnameChain(why) => write!(f, "CNAME chain {why}"),
            DnsFailure::Other(why) => f.write_str(why),
        }
    }
}

/// One TXT resource record, its character-strings as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxtRecord {
    pub strings: Vec<Vec<u8>>,
}

impl TxtRecord {
    /// The strings concatenated without spaces, as RFC 8461 §3.1 and RFC 8460 §3 require.
    pub fn joined(&self) -> Vec<u8> {
        self.strings.concat()
    }
}

/// One MX resource record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MxRecord {
    pub preference: u16,
    /// The exchange as published, without the trailing dot (`""` for a null MX).
    pub exchange: String,
}

/// One TLSA resource record (RFC 6698 §2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsaRecord {
    pub usage: u8,
    pub selector: u8,
    pub matching: u8,
    pub data: Vec<u8>,
}

/// Where the policy under judgement came from.
#[derive(Debug, Clone)]
pub enum PolicySource {
    /// Fetched from `https://mta-sts.DOMAIN/.well-known/mta-sts.txt`.
    Fetched(Box<PolicyFetches>),
    /// Read from a local file given with `--policy-file` (nothing was fetched).
    Draft { path: String, body: Vec<u8> },
}

/// The policy host's addresses and one fetch per address.
#[derive(Debug, Clone)]
pub struct PolicyFetches {
    /// A and AAAA of `mta-sts.DOMAIN`.
    pub host: Addresses,
    /// One fetch per address, in address order, with the MTA-like User-Agent.
    pub fetches: Vec<PolicyFetch>,
    /// A second fetch with a browser-like User-Agent, made only when the first fetch
    /// was answered 403, 429 or 503 (a sign of bot protection).
    pub browser: Option<PolicyFetch>,
}

/// A and AAAA lookups of one host name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addresses {
    pub a: Lookup<IpAddr>,
    pub aaaa: Lookup<IpAddr>,
}

impl Addresses {
    /// All addresses, IPv4 first, as returned.
    pub fn all(&self) -> Vec<IpAddr> {
        self.a
            .records()
            .iter()
            .chain(self.aaaa.records())
            .copied()
            .collect()
    }
}

/// One HTTPS GET of the policy from one address.
#[derive(Debug, Clone)]
pub struct PolicyFetch {
    pub addr: IpAddr,
    pub user_agent: String,
    /// The TLS session, when the handshake got far enough to see a certificate.
    pub tls: Option<TlsSession>,
    pub result: Result<HttpResponse, FetchError>,
    pub elapsed: Duration,
}

/// An HTTP response, read up to the body cap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    /// Header names in lower case, values as received.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body, at most the cap.
    pub body: Vec<u8>,
    /// The server had more to send than the cap.
    pub body_truncated: bool,
    /// Reading the body failed part-way (e.g. it timed out).
    pub body_error: Option<FetchError>,
}

impl HttpResponse {
    /// The first value of a header, lossily decoded.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }
}

/// Why a policy fetch produced no HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// The operation timed out (connecting, handshaking, or waiting for the response).
    Timeout,
    ConnectRefused,
    /// No route to this address family from here.
    NetworkUnreachable,
    Connect(String),
    /// The TLS handshake failed (for a reason other than the certificate, which is
    /// judged from [`TlsSession::chain`]).
    Tls(String),
    /// The server's HTTP was malformed or over the limits.
    Http(String),
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::Timeout => f.write_str("timed out"),
            FetchError::ConnectRefused => f.write_str("connection refused"),
            FetchError::NetworkUnreachable => f.write_str("network unreachable"),
            FetchError::Connect(why) => write!(f, "connection failed: {why}"),
            FetchError::Tls(why) => write!(f, "TLS failed: {why}"),
            FetchError::Http(why) => write!(f, "HTTP error: {why}"),
        }
    }
}

/// A TLS session as the client saw it. The certificate is recorded, not judged: the
/// chain is verified later by [`crate::cert`] against the trust roots at a given time.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TlsSession {
    /// "TLSv1.3", "TLSv1.2", ... when the handshake completed.
    pub version: Option<String>,
    /// IANA name of the negotiated cipher suite, when the handshake completed.
    pub cipher: Option<String>,
    /// The certificates the server presented, leaf first, DER, at most the chain cap.
    pub chain: Vec<Vec<u8>>,
    /// The server sent more certificates than the chain cap.
    pub chain_truncated: bool,
    /// The server's first bytes were a ServerHello: it took our ClientHello, whatever
    /// failed later.
    pub server_hello: bool,
    /// Why the handshake failed, if it did.
    pub error: Option<TlsFailure>,
}

/// Why a TLS handshake failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsFailure {
    /// The server sent a fatal alert (its name, e.g. "HandshakeFailure").
    Alert(String),
    /// The server offered no TLS version the client speaks (only TLS 1.0/1.1).
    NoCommonVersion,
    Timeout,
    /// The server closed the connection without an alert.
    Closed,
    /// The connection was reset (a TCP RST).
    Reset,
    /// The connection failed otherwise during the handshake.
    Io(String),
    /// The MX host name cannot be sent as SNI: no handshake was attempted.
    ServerName(String),
    Other(String),
}

impl std::fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TlsFailure::Alert(a) => write!(f, "the server sent the alert {a}"),
            TlsFailure::NoCommonVersion => {
                f.write_str("no TLS version in common (the server offers neither TLS 1.2 nor 1.3)")
            }
            TlsFailure::Timeout => f.write_str("the handshake timed out"),
            TlsFailure::Closed => f.write_str("the server closed the connection"),
            TlsFailure::Reset => f.write_str("the connection was reset"),
            TlsFailure::Io(why) => write!(f, "the connection failed during the handshake: {why}"),
            TlsFailure::ServerName(why) | TlsFailure::Other(why) => f.write_str(why),
        }
    }
}

/// One MX host and everything learnt about it.
#[derive(Debug, Clone)]
pub struct MxHost {
    /// The host name as published in the MX record, without the trailing dot.
    pub name: String,
    pub preference: u16,
    pub addresses: Addresses,
    /// TLSA at `_25._tcp.NAME` (DANE), looked up when the SMTP stage runs.
    pub tlsa: Option<Lookup<TlsaRecord>>,
    /// One SMTP probe per address (possibly limited by `--ipv4-only`/`--ipv6-only`).
    pub probes: Vec<SmtpProbe>,
}

/// One SMTP session with one address of an MX host: connect, banner, EHLO,
/// STARTTLS, TLS handshake, EHLO again, QUIT. Each step's reply is kept; the
/// session stops at the first step that fails, recorded in `failure`.
#[derive(Debug, Clone, Default)]
pub struct SmtpProbe {
    pub addr: Option<IpAddr>,
    pub banner: Option<Reply>,
    pub ehlo: Option<Reply>,
    pub starttls: Option<Reply>,
    /// Bytes the server sent after its reply to STARTTLS, before the handshake.
    pub injected: Vec<u8>,
    pub tls: Option<TlsSession>,
    pub ehlo_after_tls: Option<Reply>,
    /// What a hand-made legacy ClientHello learnt on a second connection, when the first
    /// handshake was refused before a ServerHello or got a version rustls refuses.
    pub legacy: Option<LegacyHello>,
    /// The step at which the session broke down, and why (None: it got through, or
    /// it stopped at a negative reply recorded above).
    pub failure: Option<(Step, ProbeFailure)>,
    pub elapsed: Duration,
}

/// A step of the SMTP session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Connect,
    Banner,
    Ehlo,
    Starttls,
    TlsHandshake,
    EhloAfterTls,
}

impl Step {
    /// Stable kebab-case name, for the JSON report.
    pub fn id(self) -> &'static str {
        match self {
            Step::Connect => "connect",
            Step::Banner => "banner",
            Step::Ehlo => "ehlo",
            Step::Starttls => "starttls",
            Step::TlsHandshake => "tls-handshake",
            Step::EhloAfterTls => "ehlo-after-tls",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Step::Connect => "connecting",
            Step::Banner => "waiting for the greeting",
            Step::Ehlo => "EHLO",
            Step::Starttls => "STARTTLS",
            Step::TlsHandshake => "the TLS handshake",
            Step::EhloAfterTls => "EHLO after STARTTLS",
        }
    }
}

/// Why an SMTP session broke down (the server's negative replies are not failures
/// of the transport: they are kept as [`Reply`]s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeFailure {
    ConnectRefused,
    /// No route to this address family from here.
    NetworkUnreachable,
    Timeout,
    /// The server closed the connection.
    Closed,
    /// The connection was reset (a TCP RST).
    Reset,
    /// A reply line longer than the cap.
    LineTooLong,
    /// A multi-line reply with more lines than the cap.
    TooManyLines,
    /// Bytes that are not an SMTP reply (kept, truncated, for the report).
    Garbage(Vec<u8>),
    /// The TLS handshake failed (details in [`SmtpProbe::tls`]).
    Tls,
    Io(String),
}

impl std::fmt::Display for ProbeFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::limits::{MAX_LINE, MAX_LINES};
        match self {
            ProbeFailure::ConnectRefused => f.write_str("connection refused"),
            ProbeFailure::NetworkUnreachable => f.write_str("network unreachable"),
            ProbeFailure::Timeout => f.write_str("timed out"),
            ProbeFailure::Closed => f.write_str("the server closed the connection"),
            ProbeFailure::Reset => f.write_str("the connection was reset"),
            ProbeFailure::LineTooLong => write!(
                f,
                "a reply line longer than {MAX_LINE} octets, the audit's limit"
            ),
            ProbeFailure::TooManyLines => write!(
                f,
                "a reply of more than {MAX_LINES} lines, the audit's limit"
            ),
            ProbeFailure::Garbage(bytes) => write!(
                f,
                "not an SMTP reply: \"{}\"",
                String::from_utf8_lossy(bytes)
            ),
            ProbeFailure::Tls => f.write_str("the TLS handshake failed"),
            ProbeFailure::Io(why) => f.write_str(why),
        }
    }
}

/// An SMTP reply (RFC 5321 §4.2): its code and the text of each line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    /// The text after "NNN-" / "NNN " of each line, as received.
    pub lines: Vec<Vec<u8>>,
}

impl Reply {
    /// EHLO keywords (the first word of each line but the first), upper-cased
    /// (RFC 5321 §4.1.1.1: keywords are case-insensitive).
    pub fn ehlo_keywords(&self) -> Vec<String> {
        self.lines
            .iter()
            .skip(1)
            .filter_map(|l| l.split(|b| *b == b' ').next())
            .map(|w| String::from_utf8_lossy(w).to_ascii_uppercase())
            .collect()
    }

    pub fn is_positive(&self) -> bool {
        (200..400).contains(&self.code)
    }
}

/// What a hand-made legacy ClientHello got back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LegacyHello {
    /// The server chose this version (0x0301 = TLS 1.0, 0x0302 = TLS 1.1, ...) and suite,
    /// and sent these certificates (DER, leaf first; empty when none was read).
    ServerHello {
        version: u16,
        cipher: u16,
        chain: Vec<Vec<u8>>,
    },
    /// The server answered with an alert (level, description).
    Alert { level: u8, description: u8 },
    /// Anything else: closed, timed out, not TLS.
    Failed(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn txt_strings_join_without_spaces() {
        let r = TxtRecord {
            strings: vec![b"v=STSv1; id=12".to_vec(), b"34".to_vec()],
        };
        assert_eq!(r.joined(), b"v=STSv1; id=1234");
    }

    #[test]
    fn ehlo_keywords_are_case_insensitive_and_skip_the_greeting_line() {
        let r = Reply {
            code: 250,
            lines: vec![
                b"mx.example.com hello".to_vec(),
                b"PIPELINING".to_vec(),
                b"starttls".to_vec(),
                b"SIZE 1000".to_vec(),
            ],
        };
        assert_eq!(r.ehlo_keywords(), ["PIPELINING", "STARTTLS", "SIZE"]);
    }
}
