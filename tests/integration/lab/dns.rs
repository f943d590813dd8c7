//! The lab's DNS: a scripted authoritative server for every name in the world, on one
//! 127.0.0.1 port for UDP and TCP. Built on hickory-proto messages instead of a zone file
//! so that any name can fail on demand (SERVFAIL, REFUSED, never answering).

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_proto::op::{Edns, Message, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX, SOA, TLSA, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::latency::{Due, wait_until, write_when_due};
use super::{Task, accept_loop, lock};

/// TTL of every record.
const TTL: u32 = 300;
/// CNAME links followed within one answer; hostile chains can be longer than this.
const MAX_CHAIN: usize = 32;
/// Answers waiting for their time: beyond this many, the server stops reading queries, as
/// a loaded server does.
const QUEUED: usize = 4096;

/// One TXT record: its character-strings as bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Txt(pub Vec<Vec<u8>>);

impl Txt {
    /// One record made of several character-strings.
    pub fn strings(strings: &[&str]) -> Txt {
        Txt(strings.iter().map(|s| s.as_bytes().to_vec()).collect())
    }
}

impl From<&str> for Txt {
    /// One record of one string (split into 255-octet character-strings if longer).
    fn from(s: &str) -> Txt {
        Txt(vec![s.as_bytes().to_vec()])
    }
}

/// How the server fails a query instead of answering it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    ServFail,
    Refused,
    /// Never answer: the client times out.
    Drop,
}

/// The records and failure modes the server answers from. Names are compared
/// case-insensitively, with or without a trailing dot. Indexed by name, so that a zone of
/// a hosted provider's 100,000 domains answers each query as fast as a small one.
#[derive(Debug, Clone, Default)]
pub struct Zone {
    /// Each owner name's records, in insertion order: the order of answers.
    records: HashMap<String, Vec<RData>>,
    /// Every owner name and every name above one (empty non-terminals): the names that
    /// exist, so NODATA rather than NXDOMAIN.
    exists: HashSet<String>,
    /// Each name's failures (a record type, or every type), checked before any record;
    /// the first that matches wins.
    failures: HashMap<String, Vec<(Option<RecordType>, Failure)>>,
}

impl Zone {
    pub fn new() -> Zone {
        Zone::default()
    }

    /// One TXT record made of these character-strings (a string longer than 255 octets
    /// is split, as it must be on the wire). Call twice for two records.
    pub fn txt(&mut self, name: &str, strings: &[&str]) -> &mut Zone {
        self.txt_bytes(
            name,
            strings.iter().map(|s| s.as_bytes().to_vec()).collect(),
        )
    }

    /// One TXT record of arbitrary bytes (split like [`Zone::txt`]).
    pub fn txt_bytes(&mut self, name: &str, strings: Vec<Vec<u8>>) -> &mut Zone {
        let split: Vec<&[u8]> = strings
            .iter()
            .flat_map(|s| {
                if s.is_empty() {
                    vec![&s[..]]
                } else {
                    s.chunks(255).collect()
                }
            })
            .collect();
        self.add(name, RData::TXT(TXT::from_bytes(split)))
    }

    /// An MX record; the exchange "." makes a null MX (RFC 7505).
    pub fn mx(&mut self, name: &str, preference: u16, exchange: &str) -> &mut Zone {
        self.add(name, RData::MX(MX::new(preference, fqdn(exchange))))
    }

    pub fn a(&mut self, name: &str, ip: Ipv4Addr) -> &mut Zone {
        self.add(name, RData::A(A(ip)))
    }

    pub fn aaaa(&mut self, name: &str, ip: Ipv6Addr) -> &mut Zone {
        self.add(name, RData::AAAA(AAAA(ip)))
    }

    /// An A or AAAA record, whichever fits the address.
    pub fn addr(&mut self, name: &str, ip: IpAddr) -> &mut Zone {
        match ip {
            IpAddr::V4(v4) => self.a(name, v4),
            IpAddr::V6(v6) => self.aaaa(name, v6),
        }
    }

    /// A CNAME: queries for `name` (other than CNAME queries) get it and then the
    /// target's records. Two calls make a loop.
    pub fn cname(&mut self, name: &str, target: &str) -> &mut Zone {
        self.add(name, RData::CNAME(CNAME(fqdn(target))))
    }

    pub fn tlsa(
        &mut self,
        name: &str,
        usage: u8,
        selector: u8,
        matching: u8,
        data: Vec<u8>,
    ) -> &mut Zone {
        let tlsa = TLSA::new(usage.into(), selector.into(), matching.into(), data);
        self.add(name, RData::TLSA(tlsa))
    }

    /// Answer SERVFAIL for `name`, whatever the type.
    pub fn servfail(&mut self, name: &str) -> &mut Zone {
        self.fail(name, None, Failure::ServFail)
    }

    pub fn refused(&mut self, name: &str) -> &mut Zone {
        self.fail(name, None, Failure::Refused)
    }

    /// Never answer queries for `name`.
    pub fn drop(&mut self, name: &str) -> &mut Zone {
        self.fail(name, None, Failure::Drop)
    }

    /// Fail queries for `name` of one type (`Some(RecordType::AAAA)`) or of all (`None`).
    pub fn fail(&mut self, name: &str, rtype: Option<RecordType>, how: Failure) -> &mut Zone {
        self.failures
            .entry(normalize(name))
            .or_default()
            .push((rtype, how));
        self
    }

    /// Adds everything in `other` after this zone's own records and failures.
    pub fn extend(&mut self, other: &Zone) -> &mut Zone {
        for (name, data) in &other.records {
            for d in data {
                self.add(name, d.clone());
            }
        }
        for (name, failures) in &other.failures {
            let here = self.failures.entry(name.clone()).or_default();
            here.extend(failures.iter().cloned());
        }
        self
    }

    /// Adds a record unless it is already there: an RRset is a set.
    fn add(&mut self, name: &str, data: RData) -> &mut Zone {
        let name = normalize(name);
        let mut above = name.as_str();
        while self.exists.insert(above.to_string()) {
            match above.split_once('.') {
                Some((_, parent)) => above = parent,
                None => break,
            }
        }
        let here = self.records.entry(name).or_default();
        if !here.contains(&data) {
            here.push(data);
        }
        self
    }

    /// What an authoritative server says about `name`/`rtype`.
    fn resolve(&self, name: &str, rtype: RecordType) -> Result<Answer, Failure> {
        let mut name = normalize(name);
        let mut answers = Vec::new();
        let mut seen = HashSet::new();
        loop {
            let failure = self.failures.get(&name).and_then(|f| {
                f.iter()
                    .find(|(t, _)| t.is_none_or(|t| t == rtype))
                    .map(|&(_, how)| how)
            });
            if let Some(how) = failure {
                return Err(how);
            }
            let here = self.records.get(&name).map_or(&[][..], Vec::as_slice);
            let cname = here.iter().find_map(|d| match d {
                RData::CNAME(c) if rtype != RecordType::CNAME => Some(c.0.clone()),
                _ => None,
            });
            if let Some(target) = cname {
                answers.push(record(&name, RData::CNAME(CNAME(target.clone()))));
                seen.insert(name);
                name = normalize(&target.to_string());
                if seen.contains(&name) || answers.len() >= MAX_CHAIN {
                    // A loop or an over-long chain: answer what was followed so far.
                    return Ok(Answer::records(answers));
                }
                continue;
            }
            answers.extend(
                here.iter()
                    .filter(|d| d.record_type() == rtype)
                    .map(|d| record(&name, d.clone())),
            );
            if answers.iter().any(|r| r.record_type() == rtype) {
                return Ok(Answer::records(answers));
            }
            return Ok(Answer {
                code: if self.exists.contains(&name) {
                    ResponseCode::NoError
                } else {
                    ResponseCode::NXDomain
                },
                answers,
                soa: Some(soa(&name)),
            });
        }
    }
}

struct Answer {
    code: ResponseCode,
    answers: Vec<Record>,
    /// The SOA for the authority section of a negative answer.
    soa: Option<Record>,
}

impl Answer {
    fn records(answers: Vec<Record>) -> Answer {
        Answer {
            code: ResponseCode::NoError,
            answers,
            soa: None,
        }
    }
}

/// A query as the server received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// Lower case, without the trailing dot.
    pub name: String,
    pub rtype: RecordType,
    pub tcp: bool,
}

/// The zone a server answers from, replaceable while it runs (for a change between two
/// runs of the tool); each query reads the zone of its moment.
type Served = Arc<Mutex<Arc<Zone>>>;

/// A running DNS server; it stops when dropped.
pub struct DnsServer {
    addr: SocketAddr,
    zone: Served,
    queries: Arc<Mutex<Vec<Query>>>,
    _tasks: (Task, Task),
}

impl DnsServer {
    pub async fn start(zone: Zone) -> DnsServer {
        DnsServer::start_delayed(zone, Duration::ZERO).await
    }

    /// Answers each query `delay` after it came (a round trip of the emulated link),
    /// without holding up the queries behind it.
    pub async fn start_delayed(zone: Zone, delay: Duration) -> DnsServer {
        // The same port for UDP and TCP, so that a truncated answer can be retried.
        let (tcp, udp) = loop {
            let tcp = TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind DNS TCP");
            let addr = tcp.local_addr().expect("DNS address");
            if let Ok(udp) = UdpSocket::bind(addr).await {
                break (tcp, udp);
            }
        };
        let addr = tcp.local_addr().expect("DNS address");
        let zone: Served = Arc::new(Mutex::new(Arc::new(zone)));
        let queries = Arc::new(Mutex::new(Vec::new()));
        let udp_task = Task::spawn(serve_udp(udp, zone.clone(), queries.clone(), delay));
        let (z, q) = (zone.clone(), queries.clone());
        let tcp_task = accept_loop(tcp, move |stream, _| {
            serve_tcp(stream, z.clone(), q.clone(), delay)
        });
        DnsServer {
            addr,
            zone,
            queries,
            _tasks: (udp_task, tcp_task),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Answers from `zone` from now on.
    pub fn set_zone(&self, zone: Zone) {
        *lock(&self.zone) = Arc::new(zone);
    }

    /// Every query received so far, in order.
    pub fn queries(&self) -> Vec<Query> {
        lock(&self.queries).clone()
    }
}

async fn serve_udp(
    socket: UdpSocket,
    zone: Served,
    queries: Arc<Mutex<Vec<Query>>>,
    delay: Duration,
) {
    let (tx, mut rx) = mpsc::channel::<Due<(Vec<u8>, SocketAddr)>>(QUEUED);
    let answer = async {
        let mut buf = vec![0; 4096];
        loop {
            let Ok((n, peer)) = socket.recv_from(&mut buf).await else {
                continue;
            };
            let now = lock(&zone).clone();
            if let Some(reply) = respond(&now, &buf[..n], false, &queries) {
                let due = Instant::now() + delay;
                if tx.send((due, (reply, peer))).await.is_err() {
                    return;
                }
            }
        }
    };
    let send = async {
        while let Some((due, (reply, peer))) = rx.recv().await {
            wait_until(due).await;
            let _ = socket.send_to(&reply, peer).await;
        }
    };
    tokio::join!(answer, send);
}

async fn serve_tcp(
    stream: TcpStream,
    zone: Served,
    queries: Arc<Mutex<Vec<Query>>>,
    delay: Duration,
) {
    let (mut rd, wr) = stream.into_split();
    let (tx, rx) = mpsc::channel::<Due<Vec<u8>>>(QUEUED);
    let answer = async move {
        while let Ok(len) = rd.read_u16().await {
            let mut buf = vec![0; usize::from(len)];
            if rd.read_exact(&mut buf).await.is_err() {
                break;
            }
            let now = lock(&zone).clone();
            let Some(reply) = respond(&now, &buf, true, &queries) else {
                continue;
            };
            let Ok(len) = u16::try_from(reply.len()) else {
                break;
            };
            let mut framed = len.to_be_bytes().to_vec();
            framed.extend_from_slice(&reply);
            if tx.send((Instant::now() + delay, framed)).await.is_err() {
                return;
            }
        }
        // The answers already queued go out first, then the close.
        let _ = tx.send((Instant::now() + delay, Vec::new())).await;
    };
    tokio::join!(answer, write_when_due(rx, wr));
}

/// The encoded reply to one query, or None to stay silent.
fn respond(zone: &Zone, query: &[u8], tcp: bool, log: &Mutex<Vec<Query>>) -> Option<Vec<u8>> {
    let req = Message::from_vec(query).ok()?;
    let mut resp = Message::response(req.metadata.id, req.metadata.op_code);
    resp.metadata.recursion_desired = req.metadata.recursion_desired;
    // The tool talks to a recursive resolver; this one plays both roles.
    resp.metadata.recursion_available = true;
    resp.add_queries(req.queries.iter().cloned());
    if req.edns.is_some() {
        let mut edns = Edns::new();
        edns.set_max_payload(1232);
        resp.set_edns(edns);
    }
    match req.queries.first() {
        None => resp.metadata.response_code = ResponseCode::FormErr,
        Some(q) => {
            // A-labels, as the zone holds them: a name's Display decodes them to U-labels.
            lock(log).push(Query {
                name: normalize(&q.name.to_ascii()),
                rtype: q.query_type,
                tcp,
            });
            match zone.resolve(&q.name.to_ascii(), q.query_type) {
                Err(Failure::Drop) => return None,
                Err(Failure::ServFail) => resp.metadata.response_code = ResponseCode::ServFail,
                Err(Failure::Refused) => resp.metadata.response_code = ResponseCode::Refused,
                Ok(answer) => {
                    resp.metadata.authoritative = true;
                    resp.metadata.response_code = answer.code;
                    resp.add_answers(answer.answers);
                    resp.add_authorities(answer.soa);
                }
            }
        }
    }
    let bytes = resp.to_vec().ok()?;
    // RFC 1035 §4.2.1 and RFC 6891 §6.2.5: over UDP, at most 512 octets or the
    // client's advertised size; otherwise send the header alone with TC set.
    if !tcp && bytes.len() > usize::from(req.max_payload()) {
        return resp.truncate().to_vec().ok();
    }
    Some(bytes)
}

fn normalize(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

fn fqdn(name: &str) -> Name {
    let name = if name.ends_with('.') {
        name.to_string()
    } else {
        format!("{name}.")
    };
    Name::from_ascii(&name).expect("a DNS name")
}

fn record(name: &str, data: RData) -> Record {
    Record::from_rdata(fqdn(name), TTL, data)
}

/// The SOA of the zone holding `name`: the server is authoritative for its last label.
fn soa(name: &str) -> Record {
    let apex = name.rsplit('.').next().unwrap_or_default();
    let data = SOA::new(
        fqdn("ns.lab.invalid"),
        fqdn("hostmaster.lab.invalid"),
        1,
        3600,
        600,
        86400,
        TTL,
    );
    record(apex, RData::SOA(data))
}
