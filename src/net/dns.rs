//! DNS lookups as outcome values: records, NXDOMAIN, NODATA, or a failure, never "absent"
//! for a lookup that did not complete (hickory-resolver 0.26).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures_util::join;
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::limits::{MAX_CNAME_LINKS, MAX_IN_FLIGHT, MAX_RECORDS};
use crate::observe::{Addresses, DnsAnswer, DnsFailure, Lookup, MxRecord, TlsaRecord, TxtRecord};
use crate::zone::{Found, Zones};

/// A resolver that answers with [`Lookup`] values.
#[derive(Clone)]
pub struct Dns {
    resolver: TokioResolver,
    /// The nameservers asked, for messages.
    servers: String,
    timeout: Duration,
    /// Lookups in flight at once: hickory refuses or stalls queries beyond its per-connection
    /// limit, and resolvers drop floods, which would turn our own load into "timeouts".
    in_flight: Arc<Semaphore>,
    /// `--zone`: the names these zones are authoritative for are answered from them.
    zones: Option<Arc<Zones>>,
}

impl Dns {
    /// Uses `server` if given, else the system's resolver configuration, for the names
    /// `zones` are not authoritative for.
    pub fn new(
        server: Option<SocketAddr>,
        timeout: Duration,
        zones: Option<Arc<Zones>>,
    ) -> anyhow::Result<Dns> {
        let (mut builder, servers) = match server {
            Some(addr) => {
                let mut ns = NameServerConfig::udp_and_tcp(addr.ip());
                for c in ns.connections.iter_mut() {
                    c.port = addr.port();
                }
                let builder = TokioResolver::builder_with_config(
                    ResolverConfig::from_name_servers(vec![ns]),
                    TokioRuntimeProvider::default(),
                );
                (builder, addr.to_string())
            }
            None => {
                let (config, options) = hickory_resolver::system_conf::read_system_conf()
                    .context("reading the system's resolver configuration")?;
                let servers: Vec<String> = config
                    .name_servers()
                    .iter()
                    .map(|ns| ns.ip.to_string())
                    .collect();
                let mut builder =
                    TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
                *builder.options_mut() = options;
                (builder, servers.join(", "))
            }
        };
        let opts = builder.options_mut();
        // One retry within the operation's budget: a lost UDP datagram is not a DNS failure.
        opts.timeout = timeout / 2;
        opts.attempts = 1;
        // An auditor looks at the DNS, never at /etc/hosts or search domains.
        opts.use_hosts_file = ResolveHosts::Never;
        opts.ndots = 0;
        opts.preserve_intermediates = true;
        // One cache for the run: the MX hosts a provider shares are looked up once.
        opts.cache_size = crate::limits::DNS_CACHE_ENTRIES as u64;
        let resolver = builder.build().context("building the DNS resolver")?;
        Ok(Dns {
            resolver,
            servers,
            timeout,
            in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
            zones,
        })
    }

    /// Whether the resolver answers at all, asked for the root zone's nameservers: any
    /// answer, a refusal included, shows that it is there. `Err` says which servers stayed
    /// silent and how, to tell "no DNS from here" apart from one zone's failing servers.
    pub async fn answers(&self, deadline: Instant) -> Result<(), String> {
        let until = deadline.min(Instant::now() + self.timeout);
        let failure = match tokio::time::timeout_at(until, self.in_flight.acquire()).await {
            Ok(Ok(_slot)) => {
                let query = self.resolver.lookup(Name::root(), RecordType::NS);
                match tokio::time::timeout_at(until, query).await {
                    Err(_) => DnsFailure::Timeout,
                    Ok(Ok(_)) => return Ok(()),
                    Ok(Err(e)) => match classify::<()>(&e) {
                        DnsAnswer::Failed(DnsFailure::Refused) => return Ok(()),
                        DnsAnswer::Failed(why) => why,
                        _ => return Ok(()),
                    },
                }
            }
            _ => DnsFailure::Timeout,
        };
        let servers = match self.servers.as_str() {
            "" => "the system's resolver (none configured)".to_string(),
            servers => servers.to_string(),
        };
        Err(format!(
            "no DNS answers from {servers} ({failure} for the root zone)"
        ))
    }

    pub async fn txt(&self, name: &str, deadline: Instant) -> Lookup<TxtRecord> {
        self.lookup_explained(name, RecordType::TXT, deadline, |d| match d {
            RData::TXT(t) => Some(TxtRecord {
                strings: t.txt_data.iter().map(|s| s.to_vec()).collect(),
            }),
            _ => None,
        })
        .await
    }

    /// A lookup that, when it finds nothing, follows the CNAME chain at `name`: see
    /// [`Dns::cname_chain`].
    async fn lookup_explained<T>(
        &self,
        name: &str,
        rtype: RecordType,
        deadline: Instant,
        extract: impl Fn(&RData) -> Option<T>,
    ) -> Lookup<T> {
        let mut lookup = self.lookup(name, rtype, deadline, extract).await;
        if absent(&lookup) {
            let (cnames, failure) = self.cname_chain(name, deadline).await;
            explain(&mut lookup, cnames, failure);
        }
        lookup
    }

    /// Follows the CNAME chain at `name` one link at a time, for a lookup that found
    /// nothing: the resolver answers a CNAME to a name that does not exist, and a chain
    /// that loops or never ends, with a bare NXDOMAIN or NODATA. Returns the chain, and
    /// the failure when it loops or is too long.
    async fn cname_chain(
        &self,
        name: &str,
        deadline: Instant,
    ) -> (Vec<String>, Option<DnsFailure>) {
        let mut chain: Vec<String> = Vec::new();
        while chain.len() < MAX_CNAME_LINKS {
            let at = chain.last().map_or(name, String::as_str);
            let link = self
                .lookup(at, RecordType::CNAME, deadline, |_| Some(()))
                .await;
            let Some(next) = link.cnames.into_iter().next() else {
                return (chain, None);
            };
            let seen = |n: &str| crate::names::normalize(n) == crate::names::normalize(&next);
            let looped = seen(name) || chain.iter().any(|c| seen(c));
            chain.push(next);
            if looped {
                let why = chain_problem(name, &chain);
                return (chain, Some(DnsFailure::CnameChain(why)));
            }
        }
        let why = format!("is longer than {MAX_CNAME_LINKS} links");
        (chain, Some(DnsFailure::CnameChain(why)))
    }

    pub async fn mx(&self, name: &str, deadline: Instant) -> Lookup<MxRecord> {
        self.lookup_explained(name, RecordType::MX, deadline, |d| match d {
            RData::MX(m) => Some(MxRecord {
                preference: m.preference,
                exchange: presentation(&m.exchange),
            }),
            _ => None,
        })
        .await
    }

    pub async fn tlsa(&self, name: &str, deadline: Instant) -> Lookup<TlsaRecord> {
        self.lookup(name, RecordType::TLSA, deadline, |d| match d {
            RData::TLSA(t) => Some(TlsaRecord {
                usage: t.cert_usage.into(),
                selector: t.selector.into(),
                matching: t.matching.into(),
                data: t.cert_data.clone(),
            }),
            _ => None,
        })
        .await
    }

    /// A and AAAA, looked up concurrently; when neither has records, the CNAME chain too, so
    /// that a host delegated to a name that is gone is not reported as missing, nor a loop
    /// as absence.
    pub async fn addresses(&self, name: &str, deadline: Instant) -> Addresses {
        let (a, aaaa) = join!(self.a(name, deadline), self.aaaa(name, deadline));
        self.explained(name, a, aaaa, deadline).await
    }

    pub async fn a(&self, name: &str, deadline: Instant) -> Lookup<IpAddr> {
        self.lookup(name, RecordType::A, deadline, |d| match d {
            RData::A(a) => Some(IpAddr::V4(a.0)),
            _ => None,
        })
        .await
    }

    pub async fn aaaa(&self, name: &str, deadline: Instant) -> Lookup<IpAddr> {
        self.lookup(name, RecordType::AAAA, deadline, |d| match d {
            RData::AAAA(a) => Some(IpAddr::V6(a.0)),
            _ => None,
        })
        .await
    }

    /// The A and AAAA lookups of `name`, with the CNAME chain behind them when neither
    /// found anything.
    pub async fn explained(
        &self,
        name: &str,
        mut a: Lookup<IpAddr>,
        mut aaaa: Lookup<IpAddr>,
        deadline: Instant,
    ) -> Addresses {
        if absent(&a) && absent(&aaaa) {
            let (cnames, failure) = self.cname_chain(name, deadline).await;
            explain(&mut a, cnames.clone(), failure.clone());
            explain(&mut aaaa, cnames, failure);
        }
        Addresses { a, aaaa }
    }

    /// The zones' answer when one is authoritative for `name`, else live DNS's.
    async fn lookup<T>(
        &self,
        name: &str,
        rtype: RecordType,
        deadline: Instant,
        extract: impl Fn(&RData) -> Option<T>,
    ) -> Lookup<T> {
        let Some(answer) = self.zones.as_ref().and_then(|z| z.answer(name, rtype)) else {
            return self.resolve(name, rtype, deadline, extract).await;
        };
        let mut lookup = match answer.found {
            Found::Live(target) => {
                let mut live = self.resolve(&target, rtype, deadline, extract).await;
                live.name = name.to_string();
                live
            }
            found => {
                let mut lookup = unanswered(name);
                match found {
                    Found::Records(records) => {
                        let kept = collect(&records, rtype, &extract);
                        // A CNAME asked for is a link of the chain the resolver follows.
                        lookup.cnames = kept.cnames;
                        lookup.ttl = kept.ttl;
                        lookup.truncated = kept.truncated;
                        if !kept.records.is_empty() {
                            lookup.answer = DnsAnswer::Records(kept.records);
                        }
                    }
                    Found::NxDomain => lookup.answer = DnsAnswer::NxDomain,
                    Found::NoData | Found::Live(_) => {}
                }
                lookup
            }
        };
        let mut cnames = answer.cnames;
        cnames.append(&mut lookup.cnames);
        lookup.cnames = cnames;
        lookup
    }

    /// A lookup in live DNS.
    async fn resolve<T>(
        &self,
        name: &str,
        rtype: RecordType,
        deadline: Instant,
        extract: impl Fn(&RData) -> Option<T>,
    ) -> Lookup<T> {
        let started = Instant::now();
        let mut lookup = unanswered(name);
        let fqdn = match Name::from_ascii(format!("{name}.")) {
            Ok(n) => n,
            Err(e) => {
                lookup.answer = DnsAnswer::Failed(DnsFailure::Other(format!(
                    "{name:?} is not a valid DNS name: {e}"
                )));
                return lookup;
            }
        };
        // Waiting for a slot counts against the domain's deadline, not the lookup's timeout.
        let Ok(Ok(_slot)) = tokio::time::timeout_at(deadline, self.in_flight.acquire()).await
        else {
            lookup.answer = DnsAnswer::Failed(DnsFailure::Timeout);
            lookup.elapsed = started.elapsed();
            return lookup;
        };
        let until = deadline.min(Instant::now() + self.timeout);
        lookup.answer = match tokio::time::timeout_at(until, self.resolver.lookup(fqdn, rtype))
            .await
        {
            Err(_) => DnsAnswer::Failed(DnsFailure::Timeout),
            Ok(Err(e)) => classify(&e),
            Ok(Ok(answer)) => {
                let kept = collect(answer.answers(), rtype, &extract);
                let records = kept.records;
                lookup.cnames = kept.cnames;
                lookup.ttl = kept.ttl;
                lookup.truncated = kept.truncated;
                if !records.is_empty() {
                    DnsAnswer::Records(records)
                } else if lookup.cnames.is_empty() {
                    DnsAnswer::NoData
                } else {
                    DnsAnswer::Failed(DnsFailure::CnameChain(chain_problem(name, &lookup.cnames)))
                }
            }
        };
        lookup.elapsed = started.elapsed();
        lookup
    }
}

/// A lookup of `name` before its answer: no records, no chain, no time.
fn unanswered<T>(name: &str) -> Lookup<T> {
    Lookup {
        name: name.to_string(),
        cnames: vec![],
        answer: DnsAnswer::NoData,
        ttl: None,
        truncated: false,
        elapsed: Duration::ZERO,
    }
}

/// Whether a lookup completed without records: what a CNAME chain may explain.
fn absent<T>(lookup: &Lookup<T>) -> bool {
    matches!(lookup.answer, DnsAnswer::NxDomain | DnsAnswer::NoData)
}

/// Records the CNAME chain behind an absent answer; a broken chain is the failure, not
/// absence.
fn explain<T>(lookup: &mut Lookup<T>, cnames: Vec<String>, failure: Option<DnsFailure>) {
    lookup.cnames = cnames;
    if let Some(failure) = failure {
        lookup.answer = DnsAnswer::Failed(failure);
    }
}

/// What an answer section yields: the wanted records (bounded), the CNAME chain, and
/// the smallest TTL.
struct Kept<T> {
    records: Vec<T>,
    cnames: Vec<String>,
    ttl: Option<u32>,
    /// Records were left out: more than [`MAX_RECORDS`].
    truncated: bool,
}

fn collect<T>(
    answers: &[Record],
    rtype: RecordType,
    extract: &impl Fn(&RData) -> Option<T>,
) -> Kept<T> {
    let mut kept = Kept {
        records: Vec::new(),
        cnames: Vec::new(),
        ttl: None,
        truncated: false,
    };
    for rec in answers {
        if let RData::CNAME(c) = &rec.data {
            kept.cnames.push(presentation(&c.0));
        }
        if rec.record_type() != rtype {
            continue;
        }
        // One DNS message is at most 64 KiB, so the record count is the only cap needed.
        if kept.records.len() >= MAX_RECORDS {
            kept.truncated = true;
            continue;
        }
        if let Some(value) = extract(&rec.data) {
            kept.ttl = Some(kept.ttl.map_or(rec.ttl, |t| t.min(rec.ttl)));
            kept.records.push(value);
        }
    }
    kept
}

/// Why a CNAME chain ended without a record: it loops, or it is longer than the resolver follows.
fn chain_problem(name: &str, cnames: &[String]) -> String {
    let mut seen = vec![crate::names::normalize(name)];
    for c in cnames {
        let c = crate::names::normalize(c);
        if seen.contains(&c) {
            return format!("loops back to {c}");
        }
        seen.push(c);
    }
    format!("{} long ends without an answer", cnames.len())
}

/// A name without its trailing root dot, as people write it.
fn presentation(name: &Name) -> String {
    let s = name.to_ascii();
    s.strip_suffix('.').unwrap_or(&s).to_string()
}

fn classify<T>(e: &NetError) -> DnsAnswer<T> {
    match e {
        NetError::Dns(DnsError::NoRecordsFound(nr))
            if nr.response_code == ResponseCode::NXDomain =>
        {
            DnsAnswer::NxDomain
        }
        NetError::Dns(DnsError::NoRecordsFound(_)) => DnsAnswer::NoData,
        NetError::Dns(DnsError::ResponseCode(ResponseCode::ServFail)) => {
            DnsAnswer::Failed(DnsFailure::ServFail)
        }
        NetError::Dns(DnsError::ResponseCode(ResponseCode::Refused)) => {
            DnsAnswer::Failed(DnsFailure::Refused)
        }
        NetError::Timeout => DnsAnswer::Failed(DnsFailure::Timeout),
        other => DnsAnswer::Failed(DnsFailure::Other(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cname_chain_problems_name_the_loop() {
        assert_eq!(
            chain_problem("a.example", &["b.example".into(), "A.example".into()]),
            "loops back to a.example"
        );
        assert_eq!(
            chain_problem("a.example", &["b.example".into(), "c.example".into()]),
            "2 long ends without an answer"
        );
    }
}
