//! Self-tests of the lab: each server checked with independent clients (hickory-resolver,
//! reqwest, tokio-rustls, raw TCP), never with the code of the tool under test.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::{Edns, Message, Query as DnsQuery, ResponseCode};
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
use rustls::pki_types::ServerName;
use rustls::pki_types::pem::PemObject;
use rustls::{CertificateError, RootCertStore};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::timeout;
use tokio_rustls::TlsConnector;

use crate::lab::{
    Cert, DnsServer, Handler, HangUp, Https, HttpsServer, KeyAlg, Mx, Response, Smtp, SmtpServer,
    TestCa, Tls, Tlsa, Txt, World, Zone,
};

/// Client-side wait in these tests: long enough for loopback, short for the suite.
const WAIT: Duration = Duration::from_millis(500);

// ---- DNS ----

fn resolver(addr: SocketAddr) -> TokioResolver {
    let mut ns = NameServerConfig::udp_and_tcp(addr.ip());
    for c in ns.connections.iter_mut() {
        c.port = addr.port();
    }
    let mut b = TokioResolver::builder_with_config(
        ResolverConfig::from_name_servers(vec![ns]),
        TokioRuntimeProvider::default(),
    );
    let o = b.options_mut();
    o.timeout = WAIT;
    o.attempts = 0;
    o.cache_size = 0;
    o.ndots = 0;
    o.use_hosts_file = ResolveHosts::Never;
    b.build().expect("resolver")
}

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Records(Vec<String>),
    NxDomain,
    NoData,
    ServFail,
    Refused,
    Timeout,
    Other(String),
}

fn show(r: &Record) -> String {
    match &r.data {
        RData::TXT(t) => {
            let strings: Vec<_> = t
                .txt_data
                .iter()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect();
            format!("TXT {}", strings.join("|"))
        }
        data => format!("{} {data}", r.record_type()),
    }
}

async fn lookup(r: &TokioResolver, name: &str, rtype: RecordType) -> Outcome {
    match r.lookup(name, rtype).await {
        Ok(lk) => Outcome::Records(lk.answers().iter().map(show).collect()),
        Err(NetError::Dns(DnsError::NoRecordsFound(nr))) => match nr.response_code {
            ResponseCode::NXDomain => Outcome::NxDomain,
            ResponseCode::NoError => Outcome::NoData,
            code => Outcome::Other(format!("no records, {code}")),
        },
        Err(NetError::Dns(DnsError::ResponseCode(ResponseCode::ServFail))) => Outcome::ServFail,
        Err(NetError::Dns(DnsError::ResponseCode(ResponseCode::Refused))) => Outcome::Refused,
        Err(NetError::Timeout) => Outcome::Timeout,
        Err(e) => Outcome::Other(e.to_string()),
    }
}

fn records(rs: &[&str]) -> Outcome {
    Outcome::Records(rs.iter().map(|s| s.to_string()).collect())
}

#[tokio::test]
async fn dns_answers_like_an_authoritative_server() {
    let mut z = Zone::new();
    z.txt("_mta-sts.example.test", &["v=STSv1; ", "id=1"])
        .txt("_mta-sts.example.test", &["other"])
        .txt(
            "_smtp._tls.example.test",
            &["v=TLSRPTv1; rua=mailto:a@example.test"],
        )
        .mx("example.test", 10, "mx1.example.test")
        .mx("null.test", 0, ".")
        .a("mx1.example.test", "192.0.2.10".parse().expect("ip"))
        .aaaa("mx1.example.test", "2001:db8::10".parse().expect("ip"))
        .tlsa("_25._tcp.mx1.example.test", 3, 1, 1, vec![0xab; 32]);
    let dns = DnsServer::start(z).await;
    let r = resolver(dns.addr());
    for (name, rtype, want) in [
        (
            "_mta-sts.example.test.",
            RecordType::TXT,
            records(&["TXT v=STSv1; |id=1", "TXT other"]),
        ),
        (
            "EXAMPLE.Test.",
            RecordType::MX,
            records(&["MX 10 mx1.example.test."]),
        ),
        ("null.test.", RecordType::MX, records(&["MX 0 ."])),
        (
            "mx1.example.test.",
            RecordType::A,
            records(&["A 192.0.2.10"]),
        ),
        (
            "mx1.example.test.",
            RecordType::AAAA,
            records(&["AAAA 2001:db8::10"]),
        ),
        ("mx1.example.test.", RecordType::TXT, Outcome::NoData), // other types only
        ("_tls.example.test.", RecordType::TXT, Outcome::NoData), // empty non-terminal
        ("nothing.example.test.", RecordType::TXT, Outcome::NxDomain),
    ] {
        assert_eq!(lookup(&r, name, rtype).await, want, "{name} {rtype}");
    }
    let Outcome::Records(tlsa) = lookup(&r, "_25._tcp.mx1.example.test.", RecordType::TLSA).await
    else {
        panic!("no TLSA");
    };
    assert_eq!(tlsa.len(), 1);
    assert!(
        tlsa[0].starts_with("TLSA 3 1 1 ABAB") || tlsa[0].starts_with("TLSA 3 1 1 abab"),
        "{tlsa:?}"
    );
    let q = dns.queries();
    assert_eq!(
        q[1].name, "example.test",
        "queries are recorded in lower case"
    );
    assert_eq!(q[1].rtype, RecordType::MX);
}

#[tokio::test]
async fn dns_failures_are_distinguishable() {
    let mut z = Zone::new();
    z.txt("sf.example.test", &["x"])
        .servfail("sf.example.test")
        .refused("ref.example.test")
        .drop("drop.example.test")
        .a("v6broken.example.test", "192.0.2.1".parse().expect("ip"))
        .fail(
            "v6broken.example.test",
            Some(RecordType::AAAA),
            crate::lab::Failure::Drop,
        );
    let dns = DnsServer::start(z).await;
    let r = resolver(dns.addr());
    for (name, rtype, want) in [
        ("sf.example.test.", RecordType::TXT, Outcome::ServFail),
        ("ref.example.test.", RecordType::TXT, Outcome::Refused),
        ("drop.example.test.", RecordType::TXT, Outcome::Timeout),
        (
            "v6broken.example.test.",
            RecordType::A,
            records(&["A 192.0.2.1"]),
        ),
        ("v6broken.example.test.", RecordType::AAAA, Outcome::Timeout),
    ] {
        assert_eq!(lookup(&r, name, rtype).await, want, "{name} {rtype}");
    }
}

#[tokio::test]
async fn dns_follows_cname_chains_and_stops_on_loops() {
    let mut z = Zone::new();
    z.cname("_mta-sts.example.test", "_mta-sts.hop.test")
        .cname("_mta-sts.hop.test", "_mta-sts.provider.test")
        .txt("_mta-sts.provider.test", &["v=STSv1; id=1"])
        .cname("dangling.example.test", "gone.example.test")
        .cname("loop1.example.test", "loop2.example.test")
        .cname("loop2.example.test", "loop1.example.test");
    for i in 0..40 {
        z.cname(
            &format!("c{i}.example.test"),
            &format!("c{}.example.test", i + 1),
        );
    }
    let dns = DnsServer::start(z).await;
    let r = resolver(dns.addr());
    assert_eq!(
        lookup(&r, "_mta-sts.example.test.", RecordType::TXT).await,
        records(&[
            "CNAME _mta-sts.hop.test.",
            "CNAME _mta-sts.provider.test.",
            "TXT v=STSv1; id=1"
        ])
    );
    assert_eq!(
        lookup(&r, "_mta-sts.example.test.", RecordType::CNAME).await,
        records(&["CNAME _mta-sts.hop.test."])
    );
    // The rcode of a chain is that of its last name (RFC 6604).
    assert_eq!(
        lookup(&r, "dangling.example.test.", RecordType::A).await,
        Outcome::NxDomain
    );
    // Loops and long chains come back at once, whatever the resolver makes of them.
    for name in ["loop1.example.test.", "c0.example.test."] {
        let got = timeout(Duration::from_secs(2), lookup(&r, name, RecordType::TXT)).await;
        assert!(got.is_ok(), "{name} hung");
    }
    let loop_queries = dns
        .queries()
        .iter()
        .filter(|q| q.name == "loop1.example.test")
        .count();
    assert!(loop_queries >= 1);
}

#[tokio::test]
async fn dns_large_answers_fall_back_to_tcp() {
    let big = "a".repeat(3000);
    let mut z = Zone::new();
    z.txt("big.example.test", &[&big])
        .txt_bytes("huge.example.test", vec![vec![b'h'; 60 * 1024]]);
    for i in 0..300 {
        z.txt("many.example.test", &[&format!("record {i}")]);
    }
    let dns = DnsServer::start(z).await;
    let r = resolver(dns.addr());
    let Outcome::Records(got) = lookup(&r, "big.example.test.", RecordType::TXT).await else {
        panic!("no answer");
    };
    let strings: Vec<_> = big
        .as_bytes()
        .chunks(255)
        .map(String::from_utf8_lossy)
        .collect();
    assert_eq!(
        got,
        [format!("TXT {}", strings.join("|"))],
        "split into 255-octet strings"
    );
    let q = dns.queries();
    assert_eq!(
        q.iter().map(|q| q.tcp).collect::<Vec<_>>(),
        [false, true],
        "a truncated UDP answer, then TCP"
    );
    let lk = r
        .lookup("huge.example.test.", RecordType::TXT)
        .await
        .expect("60 KB TXT");
    let RData::TXT(t) = &lk.answers()[0].data else {
        panic!("not TXT");
    };
    assert_eq!(t.txt_data.iter().map(|s| s.len()).sum::<usize>(), 60 * 1024);
    let lk = r
        .lookup("many.example.test.", RecordType::TXT)
        .await
        .expect("300 TXT");
    assert_eq!(lk.answers().len(), 300);
}

#[tokio::test]
async fn dns_sizes_udp_answers_and_signs_negative_ones() {
    let mut z = Zone::new();
    z.txt("mid.example.test", &[&"m".repeat(700)]);
    let dns = DnsServer::start(z).await;
    let sock = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let ask = async |name: &str, rtype: RecordType, edns: Option<u16>| {
        let mut q = Message::query();
        q.add_query(DnsQuery::query(
            Name::from_ascii(name).expect("name"),
            rtype,
        ));
        if let Some(size) = edns {
            let mut e = Edns::new();
            e.set_max_payload(size);
            q.set_edns(e);
        }
        let query = q.to_vec().expect("encode");
        sock.send_to(&query, dns.addr()).await.expect("send");
        let mut buf = [0; 4096];
        let n = timeout(WAIT, sock.recv(&mut buf))
            .await
            .expect("answer")
            .expect("recv");
        let resp = Message::from_vec(&buf[..n]).expect("decode");
        assert_eq!(resp.metadata.id, q.metadata.id);
        resp
    };
    // 700 octets: over 512 without EDNS, under the client's 1232 with it.
    let resp = ask("mid.example.test.", RecordType::TXT, None).await;
    assert!(resp.metadata.truncation && resp.answers.is_empty());
    let resp = ask("mid.example.test.", RecordType::TXT, Some(1232)).await;
    assert!(!resp.metadata.truncation && resp.answers.len() == 1);
    assert!(resp.edns.is_some(), "OPT answered with OPT");
    // Negative answers carry the zone's SOA (RFC 2308 §2).
    for (name, code) in [
        ("mid.example.test.", ResponseCode::NoError),
        ("none.example.test.", ResponseCode::NXDomain),
    ] {
        let resp = ask(name, RecordType::A, None).await;
        assert_eq!(resp.metadata.response_code, code);
        assert!(resp.answers.is_empty());
        assert_eq!(resp.authorities[0].record_type(), RecordType::SOA);
        assert!(resp.metadata.authoritative);
    }
}

// ---- TLS clients ----

fn client_config(roots: RootCertStore) -> rustls::ClientConfig {
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

fn connector(ca: &TestCa) -> TlsConnector {
    TlsConnector::from(Arc::new(client_config(ca.roots())))
}

fn server_name(host: &str) -> ServerName<'static> {
    ServerName::try_from(host.to_string()).expect("server name")
}

/// The rustls error inside a tokio-rustls handshake error.
fn rustls_error(e: &io::Error) -> Option<&rustls::Error> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
}

#[derive(Debug)]
struct Handshake {
    version: Option<rustls::ProtocolVersion>,
    chain_len: usize,
}

/// Handshakes in memory with `cert` served as `mx.example.test`, verifying `name`.
async fn handshake(
    ca: &TestCa,
    cert: Cert,
    tls: Tls,
    name: &str,
) -> Result<Handshake, rustls::Error> {
    let acceptor =
        tokio_rustls::TlsAcceptor::from(ca.issue(&cert, "mx.example.test").server_config(tls));
    let (client, server) = tokio::io::duplex(64 * 1024);
    let server = tokio::spawn(async move { acceptor.accept(server).await.map(|_| ()) });
    let result = connector(ca).connect(server_name(name), client).await;
    server.abort();
    match result {
        Ok(s) => {
            let conn = s.get_ref().1;
            Ok(Handshake {
                version: conn.protocol_version(),
                chain_len: conn.peer_certificates().map_or(0, |c| c.len()),
            })
        }
        Err(e) => Err(rustls_error(&e)
            .cloned()
            .unwrap_or(rustls::Error::General(e.to_string()))),
    }
}

#[tokio::test]
async fn ca_variants_give_the_expected_rustls_errors() {
    use CertificateError as C;
    let ca = TestCa::new();
    let h = "mx.example.test";
    let tls13 = Some(rustls::ProtocolVersion::TLSv1_3);
    let ok = |r: Result<Handshake, rustls::Error>, chain_len: usize| match r {
        Ok(hs) => hs.version == tls13 && hs.chain_len == chain_len,
        Err(_) => false,
    };
    let bad = |r: Result<Handshake, rustls::Error>, want: fn(&C) -> bool| match r {
        Err(rustls::Error::InvalidCertificate(e)) => want(&e),
        _ => false,
    };
    assert!(ok(handshake(&ca, Cert::good(), Tls::Modern, h).await, 2));
    assert!(ok(
        handshake(&ca, Cert::good().with_root(), Tls::Modern, h).await,
        3
    ));
    assert!(ok(
        handshake(&ca, Cert::expiring_in(3), Tls::Modern, h).await,
        2
    ));
    assert!(ok(
        handshake(&ca, Cert::good().names(&["*.example.test"]), Tls::Modern, h).await,
        2
    ));
    assert!(ok(
        handshake(&ca, Cert::good().key(KeyAlg::Ed25519), Tls::Modern, h).await,
        2
    ));
    assert!(ok(
        handshake(&ca, Cert::good().key(KeyAlg::EcdsaP384), Tls::Modern, h).await,
        2
    ));
    let r = handshake(&ca, Cert::expired(), Tls::Modern, h).await;
    assert!(bad(r, |e| matches!(e, C::ExpiredContext { .. })));
    let r = handshake(&ca, Cert::not_yet_valid(), Tls::Modern, h).await;
    assert!(bad(r, |e| matches!(e, C::NotValidYetContext { .. })));
    let r = handshake(
        &ca,
        Cert::good().names(&["smtp.other.test"]),
        Tls::Modern,
        h,
    )
    .await;
    assert!(bad(r, |e| matches!(e, C::NotValidForNameContext { .. })));
    // One label only: the wildcard does not cover a.b.example.test.
    let r = handshake(
        &ca,
        Cert::good().names(&["*.example.test"]),
        Tls::Modern,
        "a.mx.example.test",
    )
    .await;
    assert!(bad(r, |e| matches!(e, C::NotValidForNameContext { .. })));
    for cert in [
        Cert::good().self_signed(),
        Cert::good().unknown_ca(),
        Cert::good().leaf_only(),
    ] {
        let r = handshake(&ca, cert.clone(), Tls::Modern, h).await;
        assert!(bad(r, |e| matches!(e, C::UnknownIssuer)), "{cert:?}");
    }
    let r = handshake(&ca, Cert::good(), Tls::Tls12Only, h)
        .await
        .expect("TLS 1.2");
    assert_eq!(r.version, Some(rustls::ProtocolVersion::TLSv1_2));
}

#[test]
fn ca_file_holds_the_root() {
    let ca = TestCa::new();
    let certs: Vec<_> = rustls::pki_types::CertificateDer::pem_file_iter(ca.ca_file())
        .expect("CA file")
        .collect::<Result<_, _>>()
        .expect("PEM");
    assert_eq!(certs, [ca.root_der()]);
    assert!(ca.root_pem().starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(ca.roots().len() > 100, "webpki roots and the lab root");
    let served = ca.issue(&Cert::good(), "mx.example.test");
    assert_eq!(served.chain[1], ca.intermediate_der());
    let sha256 = ring::digest::digest(&ring::digest::SHA256, &served.chain[0]);
    assert_eq!(served.tlsa_data(0, 1), sha256.as_ref());
    assert_eq!(served.tlsa_data(1, 0), served.spki);
    assert_eq!(served.tlsa_data(1, 2).len(), 64);
}

// ---- HTTPS ----

fn http_client(ca: &TestCa, host: &str, addr: SocketAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_backend_preconfigured(client_config(ca.roots()))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(WAIT)
        .no_proxy()
        .user_agent("lab-selftest/1")
        .resolve(host, addr)
        .build()
        .expect("client")
}

const POLICY_URL: &str = "https://mta-sts.example.test/.well-known/mta-sts.txt";

async fn policy_server(https: Https) -> (TestCa, HttpsServer, reqwest::Client) {
    let ca = TestCa::new();
    let server = HttpsServer::start(&ca, "mta-sts.example.test", https).await;
    let client = http_client(&ca, "mta-sts.example.test", server.addr());
    (ca, server, client)
}

#[tokio::test]
async fn https_serves_the_policy_and_records_the_request() {
    let (_ca, server, client) =
        policy_server(Https::new(Response::policy("version: STSv1\n"))).await;
    let resp = client.get(POLICY_URL).send().await.expect("fetch");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/plain");
    assert_eq!(resp.headers()["content-length"], "15");
    assert_eq!(resp.text().await.expect("body"), "version: STSv1\n");
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        (reqs[0].method.as_str(), reqs[0].path.as_str()),
        ("GET", "/.well-known/mta-sts.txt")
    );
    assert_eq!(reqs[0].header("user-agent"), Some("lab-selftest/1"));
    assert_eq!(reqs[0].sni.as_deref(), Some("mta-sts.example.test"));
}

#[tokio::test]
async fn https_status_redirect_and_handler() {
    let (_ca, server, client) = policy_server(Https::new(Response::status(404))).await;
    assert_eq!(
        client.get(POLICY_URL).send().await.expect("fetch").status(),
        404
    );
    drop(server);

    let (_ca, server, client) = policy_server(Https::new(Response::redirect(
        301,
        "https://mta-sts.example.test/elsewhere",
    )))
    .await;
    let resp = client.get(POLICY_URL).send().await.expect("fetch");
    assert_eq!(
        (resp.status().as_u16(), &resp.headers()["location"]),
        (
            301,
            &"https://mta-sts.example.test/elsewhere"
                .parse::<reqwest::header::HeaderValue>()
                .expect("value")
        )
    );
    let paths: Vec<_> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        ["/.well-known/mta-sts.txt"],
        "the target was never requested"
    );
    drop(server);

    let browser_only = Handler::func(|req| match req.header("user-agent") {
        Some(ua) if ua.starts_with("Mozilla/") => Response::policy("ok"),
        _ => Response::status(403),
    });
    let (ca, server, client) = policy_server(Https::new(browser_only)).await;
    assert_eq!(
        client.get(POLICY_URL).send().await.expect("fetch").status(),
        403
    );
    let browser = reqwest::Client::builder()
        .tls_backend_preconfigured(client_config(ca.roots()))
        .user_agent("Mozilla/5.0")
        .no_proxy()
        .resolve("mta-sts.example.test", server.addr())
        .build()
        .expect("client");
    assert_eq!(
        browser
            .get(POLICY_URL)
            .send()
            .await
            .expect("fetch")
            .status(),
        200
    );
}

#[tokio::test]
async fn https_hostile_variants() {
    // Nothing, after TCP or after TLS: the client times out.
    for https in [Https::no_tls(), Https::silent()] {
        let (_ca, server, client) = policy_server(https.clone()).await;
        let err = client.get(POLICY_URL).send().await.expect_err("no answer");
        assert!(err.is_timeout(), "{https:?}: {err}");
        let silent = matches!(https.behaviour, crate::lab::https::Behaviour::Silent);
        assert_eq!(server.requests().len(), usize::from(silent));
    }
    // Dripped headers still make a response, slowly.
    let ca = TestCa::new();
    let dripping = Https::new(Response::policy("x").drip(Duration::from_millis(1)));
    let server = HttpsServer::start(&ca, "mta-sts.example.test", dripping).await;
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(client_config(ca.roots()))
        .timeout(Duration::from_secs(10)) // slow on purpose: no WAIT here
        .no_proxy()
        .resolve("mta-sts.example.test", server.addr())
        .build()
        .expect("client");
    let start = std::time::Instant::now();
    assert_eq!(
        client.get(POLICY_URL).send().await.expect("fetch").status(),
        200
    );
    assert!(
        start.elapsed() >= Duration::from_millis(60),
        "one byte per interval"
    );
    // An endless body: read past any sane cap.
    let (_ca, _server, client) = policy_server(Https::new(Response::endless())).await;
    let mut resp = client.get(POLICY_URL).send().await.expect("fetch");
    assert!(resp.content_length().is_none());
    let mut read = 0;
    while read < 1 << 20 {
        read += resp.chunk().await.expect("chunk").expect("more").len();
    }
    // A large close-delimited body.
    let big = vec![b'p'; 300 * 1024];
    let (_ca, _server, client) = policy_server(Https::new(
        Response::policy("").body(&big).no_content_length(),
    ))
    .await;
    let resp = client.get(POLICY_URL).send().await.expect("fetch");
    assert!(resp.content_length().is_none());
    assert_eq!(resp.bytes().await.expect("body").len(), big.len());
    // Not HTTP at all.
    let (_ca, _server, client) = policy_server(Https::new(Response::raw(b"SSH-2.0-x\r\n"))).await;
    let err = client.get(POLICY_URL).send().await.expect_err("not HTTP");
    assert!(!err.is_timeout(), "{err}");
    // Refused.
    let (_ca, _server, client) = policy_server(Https::refused()).await;
    let err = client.get(POLICY_URL).send().await.expect_err("refused");
    assert!(err.is_connect(), "{err}");
}

// ---- SMTP ----

/// A raw SMTP client: reads replies line by line, with a bounded wait.
struct SmtpClient<S> {
    rd: BufReader<S>,
}

impl<S: AsyncRead + tokio::io::AsyncWrite + Unpin> SmtpClient<S> {
    /// (code, lines) of one reply; None on EOF, timeout or a non-reply.
    async fn reply(&mut self) -> Option<(u16, Vec<String>)> {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            let n = timeout(WAIT, self.rd.read_line(&mut line))
                .await
                .ok()?
                .ok()?;
            if n == 0 {
                return None;
            }
            let code = line.get(..3)?.parse().ok()?;
            let last = line.as_bytes().get(3) != Some(&b'-');
            lines.push(line.trim_end().to_string());
            if last {
                return Some((code, lines));
            }
        }
    }

    async fn send(&mut self, line: &str) -> Option<(u16, Vec<String>)> {
        self.rd
            .get_mut()
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .ok()?;
        self.reply().await
    }
}

async fn smtp_client(server: &SmtpServer) -> SmtpClient<TcpStream> {
    let tcp = TcpStream::connect(server.addr()).await.expect("connect");
    SmtpClient {
        rd: BufReader::new(tcp),
    }
}

async fn smtp_server(smtp: Smtp) -> (TestCa, SmtpServer) {
    let ca = TestCa::new();
    let server = SmtpServer::start(&ca, "mx1.example.test", smtp).await;
    (ca, server)
}

#[tokio::test]
async fn smtp_starttls_dialogue_is_recorded() {
    let (ca, server) = smtp_server(Smtp::good()).await;
    let mut c = smtp_client(&server).await;
    assert_eq!(
        c.reply().await,
        Some((220, vec!["220 mx1.example.test ESMTP".into()]))
    );
    let want_ehlo = [
        "250-mx1.example.test",
        "250-PIPELINING",
        "250-SIZE 10240000",
        "250 STARTTLS",
    ];
    assert_eq!(
        c.send("EHLO client.test").await,
        Some((250, want_ehlo.map(String::from).to_vec()))
    );
    assert_eq!(
        c.send("STARTTLS").await.map(|r| r.1),
        Some(vec!["220 2.0.0 Ready to start TLS".into()])
    );
    assert!(c.rd.buffer().is_empty());
    let tls = connector(&ca)
        .connect(server_name("mx1.example.test"), c.rd.into_inner())
        .await
        .expect("TLS");
    let mut c = SmtpClient {
        rd: BufReader::new(tls),
    };
    let (code, lines) = c.send("EHLO client.test").await.expect("EHLO in TLS");
    assert_eq!(
        (code, lines.last().map(String::as_str)),
        (250, Some("250 SIZE 10240000"))
    );
    assert_eq!(c.send("MAIL FROM:<a@b.test>").await.map(|r| r.0), Some(502));
    assert_eq!(c.send("QUIT").await.map(|r| r.0), Some(221));
    let got: Vec<_> = server
        .commands()
        .into_iter()
        .map(|c| (c.conn, c.tls, c.line))
        .collect();
    let want = [
        (0, false, "EHLO client.test"),
        (0, false, "STARTTLS"),
        (0, true, "EHLO client.test"),
        (0, true, "MAIL FROM:<a@b.test>"),
        (0, true, "QUIT"),
    ];
    assert_eq!(got, want.map(|(n, t, l)| (n, t, l.to_string())));
    assert_eq!(server.connections(), 1);
    assert_eq!(server.commands()[3].verb(), "MAIL");
}

#[tokio::test]
async fn smtp_plaintext_variants() {
    let first = |r: Option<(u16, Vec<String>)>| r.map(|(code, lines)| (code, lines[0].clone()));
    let (_ca, server) = smtp_server(Smtp::good().no_starttls()).await;
    let mut c = smtp_client(&server).await;
    c.reply().await;
    let (_, ehlo) = c.send("EHLO c.test").await.expect("EHLO");
    assert!(!ehlo.iter().any(|l| l.contains("STARTTLS")), "{ehlo:?}");
    assert_eq!(c.send("STARTTLS").await.map(|r| r.0), Some(502));

    let (_ca, server) =
        smtp_server(Smtp::good().starttls_reply("454 4.7.0 TLS not available")).await;
    let mut c = smtp_client(&server).await;
    c.reply().await;
    c.send("EHLO c.test").await;
    assert_eq!(
        first(c.send("STARTTLS").await),
        Some((454, "454 4.7.0 TLS not available".into()))
    );
    assert_eq!(
        c.send("QUIT").await.map(|r| r.0),
        Some(221),
        "still in plaintext"
    );

    let (_ca, server) = smtp_server(Smtp::good().banner("554 5.7.1 no service")).await;
    assert_eq!(
        first(smtp_client(&server).await.reply().await),
        Some((554, "554 5.7.1 no service".into()))
    );

    let (_ca, server) = smtp_server(Smtp::good().ehlo_reply("500 5.5.1 unrecognized")).await;
    let mut c = smtp_client(&server).await;
    c.reply().await;
    assert_eq!(
        first(c.send("EHLO c.test").await),
        Some((500, "500 5.5.1 unrecognized".into()))
    );

    let (_ca, server) = smtp_server(
        Smtp::good()
            .starttls_reply("220 ready")
            .inject_after_starttls(b"250 injected\r\n"),
    )
    .await;
    let mut c = smtp_client(&server).await;
    c.reply().await;
    c.send("EHLO c.test").await;
    assert_eq!(c.send("STARTTLS").await.map(|r| r.0), Some(220));
    assert_eq!(c.rd.buffer(), b"250 injected\r\n", "sent in the same write");

    let (_ca, server) = smtp_server(Smtp::good().garbage()).await;
    assert_eq!(smtp_client(&server).await.reply().await, None);

    let (_ca, server) = smtp_server(Smtp::good().close_on_connect()).await;
    let mut c = smtp_client(&server).await;
    let mut buf = Vec::new();
    assert_eq!(c.rd.read_to_end(&mut buf).await.expect("EOF"), 0);

    let (_ca, server) = smtp_server(Smtp::good().refused()).await;
    let err = TcpStream::connect(server.addr())
        .await
        .expect_err("refused");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
}

#[tokio::test]
async fn smtp_slow_and_oversized_variants() {
    let (_ca, server) = smtp_server(Smtp::good().tarpit()).await;
    let mut c = smtp_client(&server).await;
    assert_eq!(c.reply().await, None, "no banner");
    assert_eq!(server.connections(), 1);

    let (_ca, server) = smtp_server(Smtp::good().drip_banner(Duration::from_millis(5))).await;
    let mut c = smtp_client(&server).await;
    let mut first = [0; 4];
    let start = std::time::Instant::now();
    c.rd.read_exact(&mut first).await.expect("bytes");
    assert_eq!(&first, b"220 ");
    assert!(
        start.elapsed() >= Duration::from_millis(15),
        "one byte per interval"
    );

    let (_ca, server) = smtp_server(Smtp::good().endless_ehlo()).await;
    let mut c = smtp_client(&server).await;
    c.reply().await;
    c.rd.get_mut()
        .write_all(b"EHLO c.test\r\n")
        .await
        .expect("send");
    for _ in 0..10_000 {
        let mut line = String::new();
        c.rd.read_line(&mut line).await.expect("line");
        assert!(line.starts_with("250-"), "{line}");
    }

    let (_ca, server) = smtp_server(Smtp::good().huge_line()).await;
    let mut c = smtp_client(&server).await;
    let mut line = Vec::new();
    c.rd.read_until(b'\n', &mut line).await.expect("line");
    assert_eq!(line.len(), (1 << 20) + 2);
}

/// Banner, EHLO and STARTTLS, then the raw stream for the handshake.
async fn to_starttls(server: &SmtpServer) -> TcpStream {
    let mut c = smtp_client(server).await;
    c.reply().await;
    c.send("EHLO c.test").await;
    assert_eq!(c.send("STARTTLS").await.map(|r| r.0), Some(220));
    c.rd.into_inner()
}

#[tokio::test]
async fn smtp_tls_stage_variants() {
    let (ca, server) = smtp_server(Smtp::good().close_after_starttls()).await;
    let err = connector(&ca)
        .connect(server_name("mx1.example.test"), to_starttls(&server).await)
        .await
        .expect_err("closed");
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof, "{err}");

    let (ca, server) = smtp_server(Smtp::good().stall_handshake()).await;
    let tcp = to_starttls(&server).await;
    let stalled = timeout(
        WAIT,
        connector(&ca).connect(server_name("mx1.example.test"), tcp),
    )
    .await;
    assert!(stalled.is_err(), "the handshake never completes");

    let (ca, server) = smtp_server(Smtp::good().ehlo_after_tls_reply("554 5.7.0 go away")).await;
    let tls = connector(&ca)
        .connect(server_name("mx1.example.test"), to_starttls(&server).await)
        .await
        .expect("TLS");
    let mut c = SmtpClient {
        rd: BufReader::new(tls),
    };
    assert_eq!(c.send("EHLO c.test").await.map(|r| r.0), Some(554));

    let (ca, server) = smtp_server(Smtp::good().cert(Cert::expired())).await;
    let err = connector(&ca)
        .connect(server_name("mx1.example.test"), to_starttls(&server).await)
        .await
        .expect_err("expired");
    assert!(matches!(
        rustls_error(&err),
        Some(rustls::Error::InvalidCertificate(
            CertificateError::ExpiredContext { .. }
        ))
    ));

    let (ca, server) = smtp_server(Smtp::good().tls12_only()).await;
    let tls = connector(&ca)
        .connect(server_name("mx1.example.test"), to_starttls(&server).await)
        .await
        .expect("TLS 1.2");
    assert_eq!(
        tls.get_ref().1.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_2)
    );
}

#[tokio::test]
async fn smtp_legacy_tls_server_answers_every_hello() {
    for version in [0x0301u16, 0x0302] {
        let (ca, server) = smtp_server(Smtp::good().legacy_tls(version)).await;
        let err = connector(&ca)
            .connect(server_name("mx1.example.test"), to_starttls(&server).await)
            .await
            .expect_err("legacy");
        assert_eq!(
            rustls_error(&err),
            Some(&rustls::Error::PeerIncompatible(
                rustls::PeerIncompatible::ServerDoesNotSupportTls12Or13
            ))
        );
        // A second connection (a hand-made probe) gets the same ServerHello.
        let mut tcp = to_starttls(&server).await;
        tcp.write_all(&[22, 3, 1, 0, 4, 1, 0, 0, 0])
            .await
            .expect("hello");
        let mut record = [0; 5 + 4 + 2];
        tcp.read_exact(&mut record).await.expect("ServerHello");
        assert_eq!(record[0], 22, "handshake record");
        assert_eq!(record[5], 2, "ServerHello");
        assert_eq!(u16::from_be_bytes([record[9], record[10]]), version);
        let mut rest = [0; 32 + 1 + 2];
        tcp.read_exact(&mut rest).await.expect("ServerHello body");
        assert_eq!(rest[33..], [0xC0, 0x13]);
        assert_eq!(server.connections(), 2);
    }
}

/// A bare ClientHello record, without extensions: a legacy one.
const BARE_HELLO: [u8; 9] = [22, 3, 1, 0, 4, 1, 0, 0, 0];

#[tokio::test]
async fn smtp_hanging_up_servers_send_no_alert() {
    use io::ErrorKind::{ConnectionReset, UnexpectedEof};
    for (how, kind) in [
        (HangUp::Close, UnexpectedEof),
        (HangUp::Reset, ConnectionReset),
    ] {
        // rustls' hello offers supported_versions: a hang-up. A legacy hello: a ServerHello.
        let (ca, server) = smtp_server(Smtp::good().legacy_tls_hanging_up(0x0302, how)).await;
        let err = connector(&ca)
            .connect(server_name("mx1.example.test"), to_starttls(&server).await)
            .await
            .expect_err("hung up");
        assert_eq!(err.kind(), kind, "{err}");
        let mut tcp = to_starttls(&server).await;
        tcp.write_all(&BARE_HELLO).await.expect("hello");
        let mut record = [0; 5 + 4 + 2];
        tcp.read_exact(&mut record).await.expect("ServerHello");
        assert_eq!((record[0], record[5]), (22, 2), "a ServerHello");
        assert_eq!(u16::from_be_bytes([record[9], record[10]]), 0x0302);

        // Every hello: a hang-up.
        let (ca, server) = smtp_server(Smtp::good().hang_up_on_hello(how)).await;
        let err = connector(&ca)
            .connect(server_name("mx1.example.test"), to_starttls(&server).await)
            .await
            .expect_err("hung up");
        assert_eq!(err.kind(), kind, "{err}");
        let mut tcp = to_starttls(&server).await;
        tcp.write_all(&BARE_HELLO).await.expect("hello");
        let read = tcp.read(&mut [0; 1]).await;
        match how {
            HangUp::Close => assert_eq!(read.ok(), Some(0)),
            HangUp::Reset => assert_eq!(read.err().map(|e| e.kind()), Some(ConnectionReset)),
        }
        assert_eq!(server.connections(), 2);
    }

    // A ServerHello rustls accepts, then EOF where the Certificate should be.
    let (ca, server) = smtp_server(Smtp::good().close_after_server_hello()).await;
    let err = connector(&ca)
        .connect(server_name("mx1.example.test"), to_starttls(&server).await)
        .await
        .expect_err("closed");
    assert_eq!(err.kind(), UnexpectedEof, "{err}");
    let mut tcp = to_starttls(&server).await;
    tcp.write_all(&BARE_HELLO).await.expect("hello");
    let mut answer = Vec::new();
    tcp.read_to_end(&mut answer)
        .await
        .expect("ServerHello, then EOF");
    assert_eq!((answer[0], answer[5]), (22, 2), "a ServerHello");
    assert_eq!(answer.len(), 5 + 4 + 38, "and nothing else");
}

// ---- The world ----

#[tokio::test]
async fn world_good_deployment_resolves_and_serves() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.mx[0].tlsa = vec![Tlsa {
        usage: 3,
        selector: 0,
        matching: 1,
        data: None,
    }];
    let run = w.start(d).await;
    let config = run.config();
    let r = resolver(run.dns.addr());
    assert_eq!(
        lookup(&r, "_mta-sts.example.test.", RecordType::TXT).await,
        records(&["TXT v=STSv1; id=20240101T000000"])
    );
    assert_eq!(
        lookup(&r, "_smtp._tls.example.test.", RecordType::TXT).await,
        records(&["TXT v=TLSRPTv1; rua=mailto:tlsrpt@example.test"])
    );
    assert_eq!(
        lookup(&r, "example.test.", RecordType::MX).await,
        records(&["MX 10 mx1.example.test.", "MX 20 mx2.example.test."])
    );

    // The policy, fetched where `--connect-to` sends the tool.
    let ip: IpAddr = "192.0.2.80".parse().expect("ip");
    let at = config.dial("mta-sts.example.test", ip, 443);
    let body = http_client(&run.ca, "mta-sts.example.test", at)
        .get(POLICY_URL)
        .send()
        .await
        .expect("fetch")
        .text()
        .await
        .expect("body");
    assert_eq!(
        body,
        "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.test\r\nmx: mx2.example.test\r\nmax_age: 604800\r\n"
    );
    assert_eq!(run.https_requests("192.0.2.80").len(), 1);

    // Each MX address has its own server, with a certificate for its host.
    for (host, ip) in [
        ("mx1.example.test", "192.0.2.10"),
        ("mx1.example.test", "2001:db8::10"),
        ("mx2.example.test", "192.0.2.20"),
    ] {
        let at = config.dial(host, ip.parse().expect("ip"), 25);
        let tcp = TcpStream::connect(at).await.expect("connect");
        let mut c = SmtpClient {
            rd: BufReader::new(tcp),
        };
        assert_eq!(
            c.reply().await.map(|r| r.1),
            Some(vec![format!("220 {host} ESMTP")])
        );
        c.send("EHLO c.test").await;
        c.send("STARTTLS").await;
        let tls = connector(&run.ca)
            .connect(server_name(host), c.rd.into_inner())
            .await
            .expect("TLS");
        if ip == "192.0.2.10" {
            let leaf = &tls.get_ref().1.peer_certificates().expect("chain")[0];
            let hash = ring::digest::digest(&ring::digest::SHA256, leaf);
            let Outcome::Records(tlsa) =
                lookup(&r, "_25._tcp.mx1.example.test.", RecordType::TLSA).await
            else {
                panic!("no TLSA");
            };
            let hex: String = hash.as_ref().iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(tlsa.len(), 1);
            assert!(
                tlsa[0].to_ascii_lowercase().ends_with(&hex),
                "{tlsa:?} {hex}"
            );
        }
    }
    assert_eq!(run.smtp_commands("2001:db8::10")[0].line, "EHLO c.test");
    assert_eq!(run.all_smtp_commands().len(), 6);

    // Anything else goes to a closed port on 127.0.0.1, never out.
    let elsewhere = config.dial("mx9.example.test", "203.0.113.99".parse().expect("ip"), 25);
    assert_eq!(elsewhere.ip(), IpAddr::from([127, 0, 0, 1]));
    assert!(TcpStream::connect(elsewhere).await.is_err());

    let args = run.args();
    assert_eq!(
        args[..2],
        ["--resolver".to_string(), run.dns.addr().to_string()]
    );
    assert!(args.contains(&format!(
        "[2001:db8::10]:25:127.0.0.1:{}",
        run.smtp("2001:db8::10").addr().port()
    )));
    assert_eq!(
        args[args.len() - 2..],
        ["--timeout".to_string(), "2".to_string()]
    );
}

#[tokio::test]
async fn world_holds_several_domains_and_variations() {
    let mut w = World::new();
    let mut a = w.good_deployment("a.test");
    let b = w.good_deployment("b.test");
    a.set_policy(Response::status(404));
    a.set_smtp(Smtp::good().no_starttls());
    a.mx.push(Mx::new(30, "mx.shared.test", &["198.51.100.200"]));
    let mut b2 = b.clone();
    b2.mx
        .push(Mx::new(30, "mx.shared.test", &["198.51.100.200"]));
    b2.sts_txt = vec![Txt::strings(&["v=STSv1; ", "id=2"])];
    b2.policy_addrs[0].https = Https::new(Response::policy(&b.good_policy()))
        .cert(Cert::good().with_root())
        .tls12_only();
    w.zone.txt("extra.test", &["hello"]);
    let run = w.start_all(vec![a, b2]).await;
    let config = run.config();
    let r = resolver(run.dns.addr());
    assert_eq!(
        lookup(&r, "extra.test.", RecordType::TXT).await,
        records(&["TXT hello"])
    );
    assert_eq!(
        lookup(&r, "_mta-sts.b.test.", RecordType::TXT).await,
        records(&["TXT v=STSv1; |id=2"])
    );
    assert!(
        run.dns_queries()
            .iter()
            .any(|q| q.name == "_mta-sts.b.test")
    );
    let Outcome::Records(b_policy) = lookup(&r, "mta-sts.b.test.", RecordType::A).await else {
        panic!("no address for b's policy host");
    };
    assert_eq!(b_policy, ["A 198.51.100.1"]);
    assert_eq!(
        lookup(&r, "mx.shared.test.", RecordType::A).await,
        records(&["A 198.51.100.200"]),
        "one record for a host two deployments share"
    );
    for (host, ip, status) in [
        ("mta-sts.a.test", "192.0.2.80", 404),
        ("mta-sts.b.test", "198.51.100.1", 200),
    ] {
        let at = config.dial(host, ip.parse().expect("ip"), 443);
        let url = format!("https://{host}/.well-known/mta-sts.txt");
        let resp = http_client(&run.ca, host, at)
            .get(url)
            .send()
            .await
            .expect("fetch");
        assert_eq!(resp.status(), status, "{host}");
    }
    let at = config.dial("mx1.a.test", "192.0.2.10".parse().expect("ip"), 25);
    let mut c = SmtpClient {
        rd: BufReader::new(TcpStream::connect(at).await.expect("connect")),
    };
    c.reply().await;
    let (_, ehlo) = c.send("EHLO c.test").await.expect("EHLO");
    assert!(!ehlo.iter().any(|l| l.contains("STARTTLS")));
    assert_eq!(
        run.smtp.len(),
        3 + 3 + 1,
        "the shared MX address has one server"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn world_runs_the_binary() {
    let mut w = World::new();
    w.timeout = Duration::from_millis(500);
    let d = w.good_deployment("example.test");
    let run = w.start(d).await;
    let out = run
        .mtasts(&["check", "example.test", "--format", "json"])
        .await;
    // The tool's own behaviour is for the end-to-end tests; here: it ran to an exit.
    assert!(out.status.code().is_some(), "{out:?}");
}

// ---- Latency and scale ----

/// The one-way delay of the latency self-test: the benchmarks' own.
const ONE_WAY: Duration = Duration::from_millis(50);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_delays_every_path_like_a_link() {
    let d = ONE_WAY;
    let mut w = World::new().with_latency(d);
    let dep = w.good_deployment("example.test");
    let run = w.start(dep).await;
    let config = run.config();

    // DNS: an answer a round trip after the query.
    let r = resolver(run.dns.addr());
    let started = Instant::now();
    let mx = lookup(&r, "example.test.", RecordType::MX).await;
    let took = started.elapsed();
    assert!(matches!(mx, Outcome::Records(_)), "{mx:?}");
    assert!(took >= 2 * d && took < 4 * d, "DNS took {took:?}");

    // SMTP: the banner 2 round trips after connecting (the handshake, then the server's
    // first bytes), each reply one round trip after its command.
    let at = config.dial("mx1.example.test", "192.0.2.10".parse().expect("ip"), 25);
    assert_ne!(
        at.port(),
        run.smtp("192.0.2.10").addr().port(),
        "via the proxy"
    );
    let started = Instant::now();
    let tcp = TcpStream::connect(at).await.expect("connect");
    let mut c = SmtpClient {
        rd: BufReader::new(tcp),
    };
    assert_eq!(c.reply().await.map(|r| r.0), Some(220));
    let took = started.elapsed();
    assert!(took >= 4 * d && took < 6 * d, "banner after {took:?}");
    let started = Instant::now();
    assert_eq!(c.send("EHLO c.test").await.map(|r| r.0), Some(250));
    let took = started.elapsed();
    assert!(took >= 2 * d && took < 4 * d, "EHLO reply after {took:?}");

    // Commands in flight together come back together: the delay does not serialize.
    let started = Instant::now();
    for _ in 0..5 {
        let out = c.rd.get_mut();
        out.write_all(b"NOOP\r\n").await.expect("send");
        out.flush().await.expect("flush");
    }
    for _ in 0..5 {
        assert_eq!(c.reply().await.map(|r| r.0), Some(250));
    }
    let took = started.elapsed();
    assert!(
        took >= 2 * d && took < 4 * d,
        "5 pipelined NOOPs took {took:?}"
    );
    assert_eq!(run.smtp("192.0.2.10").connections(), 1);

    // HTTPS: a TLS 1.3 handshake done 2 round trips after connecting (the ClientHello
    // waits for the TCP handshake, then one round trip for the ServerHello and Finished).
    let at = config.dial(
        "mta-sts.example.test",
        "192.0.2.80".parse().expect("ip"),
        443,
    );
    let started = Instant::now();
    let tcp = TcpStream::connect(at).await.expect("connect");
    let tls = connector(&run.ca)
        .connect(server_name("mta-sts.example.test"), tcp)
        .await
        .expect("TLS");
    let took = started.elapsed();
    assert!(
        took >= 4 * d && took < 6 * d,
        "handshake done after {took:?}"
    );
    assert_eq!(
        tls.get_ref().1.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_3)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosted_world_shares_its_servers_and_mints_each_policy_host_a_certificate() {
    let (run, domains) = World::new().hosted(50).await;
    assert_eq!(domains.len(), 50);
    assert_eq!(domains[7], "d7.customers.test");
    assert_eq!((run.smtp.len(), run.https.len()), (4, 1));
    let r = resolver(run.dns.addr());
    for d in [&domains[0], &domains[49]] {
        assert_eq!(
            lookup(&r, &format!("_mta-sts.{d}."), RecordType::TXT).await,
            records(&["TXT v=STSv1; id=20240101T000000"])
        );
        assert_eq!(
            lookup(&r, &format!("_smtp._tls.{d}."), RecordType::TXT).await,
            records(&["TXT v=TLSRPTv1; rua=mailto:tlsrpt@provider.test"])
        );
        assert_eq!(
            lookup(&r, &format!("{d}."), RecordType::MX).await,
            records(&["MX 10 mx1.provider.test.", "MX 20 mx2.provider.test."])
        );
        assert_eq!(
            lookup(&r, &format!("mta-sts.{d}."), RecordType::A).await,
            records(&["A 192.0.2.80"])
        );
    }
    assert_eq!(
        lookup(&r, "mx2.provider.test.", RecordType::AAAA).await,
        records(&["AAAA 2001:db8::20"]),
        "one record for a host 50 domains share"
    );
    assert_eq!(
        lookup(&r, "d50.customers.test.", RecordType::MX).await,
        Outcome::NxDomain
    );

    // One HTTPS server: each policy host gets a certificate for its own name (verified
    // for it), minted once.
    let config = run.config();
    let ip: IpAddr = "192.0.2.80".parse().expect("ip");
    let leaf = async |host: &str| {
        let tcp = TcpStream::connect(config.dial(host, ip, 443))
            .await
            .expect("connect");
        let tls = connector(&run.ca)
            .connect(server_name(host), tcp)
            .await
            .unwrap_or_else(|e| panic!("TLS for {host}: {e}"));
        tls.get_ref().1.peer_certificates().expect("chain")[0].clone()
    };
    let (a, b) = ("mta-sts.d3.customers.test", "mta-sts.d4.customers.test");
    let first = leaf(a).await;
    assert_ne!(first, leaf(b).await, "a certificate of its own");
    assert_eq!(first, leaf(a).await, "kept for the next client");
    let body = http_client(&run.ca, a, config.dial(a, ip, 443))
        .get(format!("https://{a}/.well-known/mta-sts.txt"))
        .send()
        .await
        .expect("fetch")
        .text()
        .await
        .expect("body");
    assert_eq!(
        body,
        "version: STSv1\r\nmode: enforce\r\nmx: mx1.provider.test\r\nmx: mx2.provider.test\r\nmax_age: 604800\r\n"
    );
    let sni: Vec<_> = run
        .https_requests("192.0.2.80")
        .into_iter()
        .map(|r| r.sni)
        .collect();
    assert_eq!(sni, [Some(a.to_string())]);
}
