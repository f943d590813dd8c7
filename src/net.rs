//! All network I/O: gathers the [`Observations`](crate::observe::Observations) of a domain,
//! every wait bounded by the per-operation timeout and the per-domain deadline.

pub mod dns;
pub mod https;
pub mod legacy;
pub mod probes;
pub mod smtp;
pub mod tls;
pub mod vantage;

use crate::input::EhloName;
use crate::limits::{MAX_ADDRESSES, MAX_MX_HOSTS};
use crate::names;

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::{join, join_all};
use futures_util::join;
use rustls::RootCertStore;
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

pub use crate::observe::Families;
use crate::observe::{
    Addresses, DnsAnswer, LegacyHello, Lookup, MxHost, MxRecord, Observations, PolicyFetches,
    PolicySource, ProbeFailure, SmtpProbe, Step, TlsFailure, TlsSession, TlsaRecord, TxtRecord,
};
use dns::Dns;
use probes::{PerAddress, Probes};
use vantage::Vantage;

/// Where people put the `_mta-sts` record by mistake, as `(prefix, suffix)` around DOMAIN.
pub const STS_MISPLACED: &[(&str, &str)] = &[
    ("_mta-sts.", ".DOMAIN"),
    ("mta-sts.", ""),
    ("_mta_sts.", ""),
];
/// Where people put the `_smtp._tls` record by mistake (old drafts' names among them).
pub const TLSRPT_MISPLACED: &[(&str, &str)] = &[
    ("_smtp._tls.", ".DOMAIN"),
    ("_smtp_tls.", ""),
    ("smtp._tls.", ""),
    ("_smtp-tlsrpt.", ""),
    ("_smtp_tlsrpt.", ""),
    ("_tlsrpt.", ""),
    ("_smtp._tcp.", ""),
];

/// Everything the network stage needs, resolved once from the command line.
#[derive(Debug, Clone)]
pub struct Config {
    /// Bound on one network operation (a lookup, a connect, one SMTP reply, a fetch).
    pub timeout: Duration,
    /// Bound on the whole audit of one domain.
    pub deadline: Duration,
    /// Query this nameserver instead of the system's.
    pub resolver: Option<SocketAddr>,
    /// Trust anchors: the webpki roots plus any `--ca-file`.
    pub roots: Arc<RootCertStore>,
    /// `--connect-to` rules, first match wins.
    pub connect_to: Vec<ConnectTo>,
    /// The name sent with EHLO.
    pub ehlo_name: EhloName,
    pub families: Families,
    /// Run the DNS and policy stages only.
    pub skip_mx: bool,
    /// Judge this local policy instead of fetching the published one.
    pub policy_file: Option<(String, Vec<u8>)>,
    /// Answer the names these zones are authoritative for from them (`--zone`).
    pub zones: Option<Arc<crate::zone::Zones>>,
    /// Domains audited at once.
    pub jobs: usize,
    /// TCP connections open at once, over the whole run.
    pub max_connections: usize,
}

impl Config {
    /// Where to dial for `host` (resolved to `addr`) on `port`, after `--connect-to`.
    pub fn dial(&self, host: &str, addr: IpAddr, port: u16) -> SocketAddr {
        self.connect_to
            .iter()
            .find(|rule| rule.applies(host, addr, port))
            .map(|rule| SocketAddr::new(rule.to_addr.unwrap_or(addr), rule.to_port.unwrap_or(port)))
            .unwrap_or(SocketAddr::new(addr, port))
    }
}

/// The network side of a run, built once by the command and shared by every domain: one
/// resolver and its cache, one connection budget, the MX probes, and what the run learns
/// about its vantage point.
#[derive(Clone)]
pub struct Net(Arc<Inner>);

struct Inner {
    cfg: Config,
    dns: Dns,
    connections: Arc<Semaphore>,
    per_address: PerAddress,
    probes: Probes,
    vantage: Vantage,
    /// In plan mode (`--zone`, `--policy-file`): what is live now, to judge the change
    /// against (live DNS and the published policy; the MX hosts are not probed).
    live: Option<Net>,
}

impl Net {
    pub fn new(cfg: Config) -> anyhow::Result<Net> {
        let connections = Arc::new(Semaphore::new(cfg.max_connections.max(1)));
        Net::drawing_on(cfg, connections)
    }

    /// A `Net` whose connections count against `connections`. In plan mode the live
    /// side draws on the same budget as the planned one: `--max-connections` bounds
    /// the run, not each side of it.
    fn drawing_on(cfg: Config, connections: Arc<Semaphore>) -> anyhow::Result<Net> {
        let planned = cfg.zones.is_some() || cfg.policy_file.is_some();
        let live = match planned {
            true => Some(Net::drawing_on(
                Config {
                    zones: None,
                    policy_file: None,
                    skip_mx: true,
                    ..cfg.clone()
                },
                connections.clone(),
            )?),
            false => None,
        };
        Ok(Net(Arc::new(Inner {
            dns: Dns::new(cfg.resolver, cfg.timeout, cfg.zones.clone())?,
            connections,
            per_address: PerAddress::default(),
            probes: Probes::default(),
            vantage: Vantage::default(),
            live,
            cfg,
        })))
    }

    pub fn config(&self) -> &Config {
        &self.0.cfg
    }

    /// Why the resolver gives no answer at all (not even for the root zone), or `None`:
    /// asked once for the run, beside the first domain's own lookups.
    pub async fn dns_silent(&self) -> Option<String> {
        let ask = || async {
            let deadline = Instant::now() + self.0.cfg.timeout;
            self.0.dns.answers(deadline).await.err()
        };
        self.0.vantage.dns.get_or_init(ask).await.clone()
    }

    /// Whether outbound port 25 is open from here (see [`Vantage::port25_open`]).
    pub async fn port25_open(&self) -> bool {
        self.0.vantage.port25_open().await
    }

    /// In plan mode, what senders see of `domain` now: live DNS and the published policy.
    pub async fn gather_live(&self, domain: &str) -> Option<Observations> {
        Some(self.0.live.as_ref()?.gather(domain).await)
    }

    /// Everything about `domain` (lower case, no trailing dot) that the judges need.
    pub async fn gather(&self, domain: &str) -> Observations {
        let _probing = self.0.vantage.probing();
        let started = Instant::now();
        let deadline = started + self.0.cfg.deadline;
        let records = join(
            self.txt_or_misplaced(domain, "_mta-sts.", STS_MISPLACED, b"stsv1", deadline),
            self.txt_or_misplaced(domain, "_smtp._tls.", TLSRPT_MISPLACED, b"tlsrpt", deadline),
        );
        let mx = async {
            let mx = self.0.dns.mx(domain, deadline).await;
            let hosts = self.mx_hosts(domain, &mx, deadline).await;
            (mx, hosts)
        };
        let (((sts, sts_misplaced), (tlsrpt, tlsrpt_misplaced)), policy, (mx, mx_hosts)) =
            join!(records, self.policy(domain, deadline), mx);
        Observations {
            domain: domain.to_string(),
            sts,
            sts_misplaced,
            tlsrpt,
            tlsrpt_misplaced,
            mx,
            policy,
            mx_hosts,
            mx_checked: !self.0.cfg.skip_mx,
            families: self.0.cfg.families,
            planned: self.0.cfg.zones.is_some() || self.0.cfg.policy_file.is_some(),
            deadline_hit: Instant::now() >= deadline,
            elapsed: started.elapsed(),
        }
    }

    /// TXT at `{prefix}{domain}`; when nothing there even mentions `tag`, also TXT at the
    /// names where people misplace such records.
    async fn txt_or_misplaced(
        &self,
        domain: &str,
        prefix: &str,
        misplaced: &[(&str, &str)],
        tag: &[u8],
        deadline: Instant,
    ) -> (Lookup<TxtRecord>, Vec<Lookup<TxtRecord>>) {
        let lookup = self.0.dns.txt(&format!("{prefix}{domain}"), deadline).await;
        let mentions = |r: &TxtRecord| {
            r.joined()
                .to_ascii_lowercase()
                .windows(tag.len())
                .any(|w| w == tag)
        };
        let look_elsewhere = match &lookup.answer {
            DnsAnswer::Records(records) => !records.iter().any(mentions),
            DnsAnswer::NxDomain | DnsAnswer::NoData => true,
            DnsAnswer::Failed(_) => false,
        };
        if !look_elsewhere {
            return (lookup, vec![]);
        }
        let names = misplaced
            .iter()
            .map(|(p, suffix)| format!("{p}{domain}{}", suffix.replace("DOMAIN", domain)));
        let elsewhere =
            join_all(names.map(|name| async move { self.0.dns.txt(&name, deadline).await })).await;
        (lookup, elsewhere)
    }

    async fn policy(&self, domain: &str, deadline: Instant) -> PolicySource {
        if let Some((path, body)) = &self.0.cfg.policy_file {
            return PolicySource::Draft {
                path: path.clone(),
                body: body.clone(),
            };
        }
        let host = format!("mta-sts.{domain}");
        let addresses = self.0.dns.addresses(&host, deadline).await;
        let host = &host;
        let fetch = |addr, agent| async move {
            match self.connection(deadline).await {
                Some(_permit) => https::fetch(&self.0.cfg, host, addr, agent, deadline).await,
                None => https::gave_up(addr, agent),
            }
        };
        let targets = self.targets(&addresses.all(), MAX_ADDRESSES);
        let fetches = join_all(targets.iter().map(|&a| fetch(a, https::MTA_USER_AGENT))).await;
        // Bot protection answers non-browsers with these; ask again as a browser to tell.
        let blocked = fetches
            .iter()
            .find(|f| matches!(&f.result, Ok(r) if matches!(r.status, 403 | 429 | 503)))
            .map(|f| f.addr);
        let browser = match blocked {
            Some(addr) => Some(fetch(addr, https::BROWSER_USER_AGENT).await),
            None => None,
        };
        PolicySource::Fetched(Box::new(PolicyFetches {
            host: addresses,
            fetches,
            browser,
        }))
    }

    async fn mx_hosts(
        &self,
        domain: &str,
        mx: &Lookup<MxRecord>,
        deadline: Instant,
    ) -> Vec<MxHost> {
        let mut hosts: Vec<(u16, String)> = match &mx.answer {
            DnsAnswer::Records(records) => records
                .iter()
                .filter(|r| !r.exchange.is_empty()) // null MX: nothing to probe
                .map(|r| (r.preference, r.exchange.clone()))
                .collect(),
            // RFC 5321 §5.1: no MX means the domain itself is the implicit MX.
            DnsAnswer::NoData => vec![(0, domain.to_string())],
            _ => vec![],
        };
        hosts.sort_by_key(|a| (a.0, names::normalize(&a.1)));
        hosts.dedup_by(|a, b| names::normalize(&a.1) == names::normalize(&b.1));
        hosts.truncate(MAX_MX_HOSTS);
        join_all(
            hosts
                .into_iter()
                .map(|(preference, name)| self.mx_host(name, preference, deadline)),
        )
        .await
    }

    /// One MX host: its addresses, its TLSA records, and a probe of each address.
    async fn mx_host(&self, name: String, preference: u16, deadline: Instant) -> MxHost {
        let (addresses, tlsa, probes) = self.look_and_probe(&name, deadline).await;
        MxHost {
            name,
            preference,
            addresses,
            tlsa,
            probes,
        }
    }

    /// What [`Net::mx_host`] learns. Nothing waits for what it does not need: the TLSA
    /// lookup starts with the address lookups, and the IPv4 addresses are probed as soon as
    /// the A lookup answers.
    async fn look_and_probe(
        &self,
        name: &str,
        deadline: Instant,
    ) -> (Addresses, Option<Lookup<TlsaRecord>>, Vec<SmtpProbe>) {
        let dns = &self.0.dns;
        // An IP literal as MX target: senders look it up as a name and fail, so do we.
        let a = dns.a(name, deadline).shared();
        let aaaa = dns.aaaa(name, deadline).shared();
        let addresses = async {
            let (a, aaaa) = join!(a.clone(), aaaa.clone());
            dns.explained(name, a, aaaa, deadline).await
        };
        if self.0.cfg.skip_mx {
            return (addresses.await, None, vec![]);
        }
        let tlsa_name = format!("_25._tcp.{name}");
        let tlsa = dns.tlsa(&tlsa_name, deadline);
        let v4 = async {
            let a = a.clone().await;
            let targets = self.targets(a.records(), MAX_ADDRESSES);
            join_all(targets.iter().map(|&addr| self.smtp(name, addr, deadline))).await
        };
        let v6 = async {
            let (a, aaaa) = join!(a.clone(), aaaa.clone());
            let taken = self.targets(a.records(), MAX_ADDRESSES).len();
            let targets = self.targets(aaaa.records(), MAX_ADDRESSES.saturating_sub(taken));
            join_all(targets.iter().map(|&addr| self.smtp(name, addr, deadline))).await
        };
        let (addresses, tlsa, mut probes, v6) = join!(addresses, tlsa, v4, v6);
        probes.extend(v6);
        (addresses, Some(tlsa), probes)
    }

    /// The addresses to probe: those of the allowed families, at most `room`, in order.
    fn targets(&self, addresses: &[IpAddr], room: usize) -> Vec<IpAddr> {
        let mut all: Vec<IpAddr> = addresses
            .iter()
            .copied()
            .filter(|a| self.0.cfg.families.allows(*a))
            .collect();
        all.sort();
        all.dedup();
        all.truncate(room);
        all
    }

    /// The SMTP probe of `host` at `addr`: shared with every domain of the run that uses
    /// the same host at the same address. The domain that asks first sets its deadline;
    /// the others, which started later, have later deadlines.
    async fn smtp(&self, host: &str, addr: IpAddr, deadline: Instant) -> SmtpProbe {
        let dial = self.0.cfg.dial(host, addr, 25);
        let start = || {
            let (net, host) = (self.clone(), host.to_string());
            async move { net.probe(&host, addr, deadline).await }.boxed()
        };
        // Every step of the probe is bounded by that deadline: it ends in time.
        let shared = self.0.probes.get(host, dial, start);
        (*shared.await).clone()
    }

    /// One SMTP session with `host` at `addr`, and the legacy hello when rustls was
    /// refused, in a task of its own: it serves every domain that uses the host.
    async fn probe(&self, host: &str, addr: IpAddr, deadline: Instant) -> SmtpProbe {
        let started = Instant::now();
        let params = smtp::Params {
            host,
            ehlo_name: &self.0.cfg.ehlo_name,
            timeout: self.0.cfg.timeout,
            deadline,
        };
        let slots = async {
            let polite = self.0.per_address.acquire(addr).await?;
            let global = self.connection(deadline).await?;
            Some((polite, global))
        };
        let Ok(Some(_slots)) = tokio::time::timeout_at(deadline, slots).await else {
            return SmtpProbe {
                addr: Some(addr),
                failure: Some((Step::Connect, ProbeFailure::Timeout)),
                ..SmtpProbe::default()
            };
        };
        let mut probe = match self.connect(host, addr, 25, deadline).await {
            Ok(stream) => {
                self.0.vantage.reached_port25();
                smtp::session(stream, &params).await
            }
            Err(failure) => SmtpProbe {
                failure: Some((Step::Connect, failure)),
                ..SmtpProbe::default()
            },
        };
        if probe.tls.as_ref().is_some_and(wants_legacy_hello) {
            probe.legacy = Some(match self.connect(host, addr, 25, deadline).await {
                Ok(stream) => smtp::legacy_session(stream, &params).await,
                Err(failure) => {
                    LegacyHello::Failed(format!("{}: {failure}", Step::Connect.as_str()))
                }
            });
        }
        probe.addr = Some(addr);
        probe.elapsed = started.elapsed();
        probe
    }

    async fn connect(
        &self,
        host: &str,
        addr: IpAddr,
        port: u16,
        deadline: Instant,
    ) -> Result<TcpStream, ProbeFailure> {
        let until = deadline.min(Instant::now() + self.0.cfg.timeout);
        match tokio::time::timeout_at(until, TcpStream::connect(self.0.cfg.dial(host, addr, port)))
            .await
        {
            Err(_) => Err(ProbeFailure::Timeout),
            Ok(Ok(stream)) => Ok(stream),
            Ok(Err(e)) => Err(match e.kind() {
                io::ErrorKind::ConnectionRefused => ProbeFailure::ConnectRefused,
                io::ErrorKind::NetworkUnreachable | io::ErrorKind::AddrNotAvailable => {
                    ProbeFailure::NetworkUnreachable
                }
                io::ErrorKind::TimedOut => ProbeFailure::Timeout,
                _ => ProbeFailure::Io(e.to_string()),
            }),
        }
    }

    /// A connection slot, waited for no longer than `deadline`.
    async fn connection(&self, deadline: Instant) -> Option<OwnedSemaphorePermit> {
        let slot = self.0.connections.clone().acquire_owned();
        tokio::time::timeout_at(deadline, slot).await.ok()?.ok()
    }
}

/// Whether a failed rustls handshake calls for a hand-made legacy ClientHello on a second
/// connection, to learn what the server does speak. rustls speaks only TLS 1.2 and 1.3
/// with modern suites; a server that speaks less either answers with its old version, or
/// refuses the hello before its ServerHello: with an alert (handshake_failure for no
/// shared suite), or, as many TLS 1.0/1.1-only servers and middleboxes do, by closing or
/// resetting the connection or answering with something that is not TLS. A failure after
/// the ServerHello (a certificate, a signature) is no such refusal, and a stalled
/// handshake would stall again.
fn wants_legacy_hello(tls: &TlsSession) -> bool {
    match &tls.error {
        None | Some(TlsFailure::Timeout | TlsFailure::ServerName(_)) => false,
        Some(TlsFailure::NoCommonVersion) => true,
        Some(_) => !tls.server_hello,
    }
}

/// One `--connect-to HOST:PORT:ADDR:PORT` rule, with curl's meaning: a connection to
/// HOST on PORT goes to ADDR on PORT instead, while TLS still verifies HOST. Any part
/// may be empty ("any host", "any port", "the same address", "the same port"). HOST may
/// also be an address (IPv6 in brackets), which selects that one resolved address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectTo {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub to_addr: Option<IpAddr>,
    pub to_port: Option<u16>,
}

impl ConnectTo {
    fn applies(&self, host: &str, addr: IpAddr, port: u16) -> bool {
        let host_ok = match &self.host {
            None => true,
            Some(h) => match h.parse::<IpAddr>() {
                Ok(ip) => ip == addr,
                Err(_) => crate::names::normalize(h) == crate::names::normalize(host),
            },
        };
        host_ok && self.port.is_none_or(|p| p == port)
    }
}

impl FromStr for ConnectTo {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let parts =
            split_connect_to(s).ok_or_else(|| format!("{s:?} is not HOST:PORT:ADDR:PORT"))?;
        let port = |p: &str| -> Result<Option<u16>, String> {
            if p.is_empty() {
                Ok(None)
            } else {
                p.parse()
                    .map(Some)
                    .map_err(|_| format!("{p:?} is not a port number"))
            }
        };
        let host = (!parts[0].is_empty()).then(|| parts[0].to_string());
        let to_addr = if parts[2].is_empty() {
            None
        } else {
            Some(
                parts[2]
                    .parse()
                    .map_err(|_| format!("{:?} is not an IP address", parts[2]))?,
            )
        };
        Ok(ConnectTo {
            host,
            port: port(parts[1])?,
            to_addr,
            to_port: port(parts[3])?,
        })
    }
}

/// Splits on ':' outside brackets into exactly four parts, brackets removed.
fn split_connect_to(s: &str) -> Option<[&str; 4]> {
    let mut parts = Vec::with_capacity(4);
    let mut rest = s;
    while parts.len() < 3 {
        let (part, tail) = if let Some(inner) = rest.strip_prefix('[') {
            let end = inner.find(']')?;
            (&inner[..end], inner[end + 1..].strip_prefix(':')?)
        } else {
            rest.split_once(':')?
        };
        parts.push(part);
        rest = tail;
    }
    if rest.contains(':') && !rest.is_empty() {
        return None;
    }
    parts.push(rest);
    parts.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(rules: &[&str]) -> Config {
        Config {
            timeout: Duration::from_secs(1),
            deadline: Duration::from_secs(1),
            resolver: None,
            roots: Arc::new(RootCertStore::empty()),
            connect_to: rules.iter().map(|r| r.parse().expect("rule")).collect(),
            ehlo_name: "localhost".parse().expect("an EHLO name"),
            families: Families::Both,
            skip_mx: false,
            policy_file: None,
            zones: None,
            jobs: 1,
            max_connections: 4,
        }
    }

    #[test]
    fn the_legacy_hello_follows_refusals_before_the_server_hello() {
        let session = |error, server_hello| TlsSession {
            error,
            server_hello,
            ..TlsSession::default()
        };
        let cases = [
            (None, true, false),
            (Some(TlsFailure::NoCommonVersion), true, true), // a TLS 1.0 ServerHello
            (Some(TlsFailure::NoCommonVersion), false, true), // alert protocol_version
            (
                Some(TlsFailure::Alert("HandshakeFailure".into())),
                false,
                true,
            ),
            (Some(TlsFailure::Closed), false, true),
            (Some(TlsFailure::Reset), false, true),
            (
                Some(TlsFailure::Io("Connection aborted".into())),
                false,
                true,
            ),
            (Some(TlsFailure::Other("not TLS".into())), false, true),
            (Some(TlsFailure::Alert("DecryptError".into())), true, false),
            (Some(TlsFailure::Closed), true, false),
            (Some(TlsFailure::Other("BadSignature".into())), true, false),
            (Some(TlsFailure::Timeout), false, false),
            (Some(TlsFailure::ServerName("bad".into())), false, false),
        ];
        for (error, server_hello, want) in cases {
            let tls = session(error, server_hello);
            assert_eq!(wants_legacy_hello(&tls), want, "{tls:?}");
        }
    }

    #[tokio::test]
    async fn in_plan_mode_the_live_side_shares_the_connection_budget() {
        let mut c = cfg(&[]);
        c.max_connections = 1;
        c.resolver = Some("127.0.0.1:53".parse().expect("an address"));
        c.policy_file = Some(("mta-sts.txt".into(), Vec::new()));
        let net = Net::new(c).expect("the network side");
        let live = net.0.live.as_ref().expect("the live side");
        let soon = || Instant::now() + Duration::from_millis(50);
        let held = net.connection(soon()).await;
        assert!(held.is_some());
        assert!(live.connection(soon()).await.is_none(), "a second budget");
        drop(held);
        assert!(live.connection(soon()).await.is_some());
    }

    #[test]
    fn connect_to_parses_curl_syntax() {
        let r: ConnectTo = "mx.example.com:25:127.0.0.1:2525".parse().expect("parse");
        assert_eq!(r.host.as_deref(), Some("mx.example.com"));
        assert_eq!((r.port, r.to_port), (Some(25), Some(2525)));
        let r: ConnectTo = "[2001:db8::1]:25:[::1]:".parse().expect("parse");
        assert_eq!(r.host.as_deref(), Some("2001:db8::1"));
        assert_eq!(r.to_addr, Some("::1".parse().expect("ip")));
        assert_eq!(r.to_port, None);
        let r: ConnectTo = ":::".parse().expect("parse");
        assert_eq!(
            r,
            ConnectTo {
                host: None,
                port: None,
                to_addr: None,
                to_port: None
            }
        );
        for bad in [
            "a:b:c",
            "a:25:notanip:1",
            "a:x:127.0.0.1:1",
            "a:25:127.0.0.1:1:2",
            "[::1:25:a:1",
        ] {
            assert!(bad.parse::<ConnectTo>().is_err(), "{bad}");
        }
    }

    #[test]
    fn dial_applies_the_first_matching_rule() {
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        let c = cfg(&[
            "192.0.2.2:25:127.0.0.1:2602",
            "MX.example.com.:25:127.0.0.1:2601",
            ":443::8443",
        ]);
        assert_eq!(
            c.dial("mx.example.com", ip("192.0.2.1"), 25),
            "127.0.0.1:2601".parse().expect("sa")
        );
        assert_eq!(
            c.dial("mx.example.com", ip("192.0.2.2"), 25),
            "127.0.0.1:2602".parse().expect("sa")
        );
        assert_eq!(
            c.dial("other.example", ip("192.0.2.3"), 443),
            "192.0.2.3:8443".parse().expect("sa")
        );
        assert_eq!(
            c.dial("other.example", ip("192.0.2.3"), 25),
            "192.0.2.3:25".parse().expect("sa")
        );
    }
}
