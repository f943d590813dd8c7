//! The lab: an in-process world on 127.0.0.1 (DNS, policy hosts, MX hosts) in which every
//! network behaviour of mtasts is tested end to end, with no internet.
//!
//! DNS answers carry documentation addresses (192.0.2.0/24, 198.51.100.0/24,
//! 2001:db8::/32); every server really listens on 127.0.0.1, and `--connect-to` rules
//! map each (address, port) to its own server, so one address of a pool can be bad.
//! A test starts from a good deployment and changes one thing:
//!
//! ```ignore
//! let mut w = World::new();
//! let mut d = w.good_deployment("example.test");
//! d.mx[1].addrs[0].smtp = Smtp::good().no_starttls();
//! let run = w.start(d).await;
//! let out = run.mtasts(&["check", "example.test", "--format", "json"]).await;
//! assert!(run.all_smtp_commands().iter().all(|c| ["EHLO", "STARTTLS", "QUIT"].contains(&c.verb().as_str())));
//! ```
//!
//! Vary one thing through the plain data: `d.sts_txt`, `d.tlsrpt_txt` (DNS),
//! `d.policy_addrs[i].https` (an [`Https`]: certificate, TLS versions, [`Response`]),
//! `d.mx[i].addrs[j].smtp` (an [`Smtp`] script), `d.mx[i].tlsa`, and `d.zone` /
//! `w.zone` for anything else (CNAMEs, failures, hostile records). Certificates are
//! described by a [`Cert`] and minted when the world starts.
//!
//! [`World::with_latency`] puts a one-way delay on every path (DNS answers a round trip
//! late, TCP goes through a [`LatencyProxy`]), and [`World::hosted`] makes a hosted
//! provider's many domains on a few shared servers: both for the benchmarks.

pub mod ca;
pub mod dns;
pub mod https;
pub mod latency;
pub mod smtp;

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::Output;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{AbortHandle, JoinSet};

pub use ca::{Cert, KeyAlg, TestCa, Tls};
pub use dns::{DnsServer, Failure, Txt, Zone};
pub use https::{Handler, Https, HttpsServer, Request, Response};
pub use latency::LatencyProxy;
pub use smtp::{Command, HangUp, Smtp, SmtpServer};

/// Bound on one run of the binary, so that a hung tool fails its test.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// One domain's MTA-STS and TLS-RPT deployment, as plain data: DNS records and the
/// servers behind each address.
#[derive(Debug, Clone)]
pub struct Deployment {
    pub domain: String,
    /// TXT records at `_mta-sts.DOMAIN` (none: the name does not exist).
    pub sts_txt: Vec<Txt>,
    /// TXT records at `_smtp._tls.DOMAIN`.
    pub tlsrpt_txt: Vec<Txt>,
    /// The A/AAAA records of `mta-sts.DOMAIN`, each with its HTTPS server.
    pub policy_addrs: Vec<PolicyAddr>,
    /// The MX records of DOMAIN, in this order.
    pub mx: Vec<Mx>,
    /// More DNS (records, CNAMEs, failures), served after the generated records.
    pub zone: Zone,
}

/// One address of the policy host.
#[derive(Debug, Clone)]
pub struct PolicyAddr {
    pub ip: IpAddr,
    pub https: Https,
}

/// One MX record, its host's addresses, and its TLSA records at `_25._tcp.HOST`.
#[derive(Debug, Clone)]
pub struct Mx {
    pub preference: u16,
    /// "." makes a null MX.
    pub name: String,
    pub addrs: Vec<MxAddr>,
    pub tlsa: Vec<Tlsa>,
}

/// One address of an MX host.
#[derive(Debug, Clone)]
pub struct MxAddr {
    pub ip: IpAddr,
    pub smtp: Smtp,
}

/// A TLSA record (RFC 6698 §2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tlsa {
    pub usage: u8,
    pub selector: u8,
    pub matching: u8,
    /// `None`: the data of the certificate served at the MX host's first address.
    pub data: Option<Vec<u8>>,
}

impl Mx {
    /// An MX host with good SMTP servers at these addresses.
    pub fn new(preference: u16, name: &str, ips: &[&str]) -> Mx {
        Mx {
            preference,
            name: name.to_string(),
            addrs: ips
                .iter()
                .map(|ip| MxAddr {
                    ip: ip.parse().expect("an IP address"),
                    smtp: Smtp::good(),
                })
                .collect(),
            tlsa: Vec::new(),
        }
    }
}

impl Deployment {
    /// A complete, valid `mode: enforce` deployment; `k` picks distinct addresses so
    /// that several deployments fit in one world (k = 0: 192.0.2.80 for the policy host;
    /// MX 10 mx1 at 192.0.2.10 and 2001:db8::10; MX 20 mx2 at 192.0.2.20).
    fn good(domain: &str, k: usize) -> Deployment {
        assert!(k <= 150, "at most 151 good deployments per world");
        let (policy, mx1, mx2) = match k {
            0 => ([192, 0, 2, 80], [192, 0, 2, 10], [192, 0, 2, 20]),
            _ => {
                let k = k as u8;
                ([198, 51, 100, k], [203, 0, 113, k], [192, 0, 2, 100 + k])
            }
        };
        let v6 = Ipv6Addr::new(0x2001, 0xdb8, k as u16, 0, 0, 0, 0, 0x10);
        let ip = |a: [u8; 4]| IpAddr::V4(Ipv4Addr::from(a)).to_string();
        let mx = vec![
            Mx::new(10, &format!("mx1.{domain}"), &[&ip(mx1), &v6.to_string()]),
            Mx::new(20, &format!("mx2.{domain}"), &[&ip(mx2)]),
        ];
        let mut d = Deployment {
            domain: domain.to_string(),
            sts_txt: vec!["v=STSv1; id=20240101T000000".into()],
            tlsrpt_txt: vec![
                format!("v=TLSRPTv1; rua=mailto:tlsrpt@{domain}")
                    .as_str()
                    .into(),
            ],
            policy_addrs: Vec::new(),
            mx,
            zone: Zone::new(),
        };
        d.policy_addrs = vec![PolicyAddr {
            ip: IpAddr::V4(Ipv4Addr::from(policy)),
            https: Https::new(Response::policy(&d.good_policy())),
        }];
        d
    }

    /// A customer of a hosted mail provider: its own TXT records (reports go to the
    /// provider), MX 10 mx1.provider.test (192.0.2.10, 2001:db8::10) and MX 20
    /// mx2.provider.test (192.0.2.20, 2001:db8::20), and a policy host at the provider's
    /// one HTTPS address, 192.0.2.80, that mints each policy host its certificate.
    fn hosted(domain: &str) -> Deployment {
        let mut d = Deployment {
            domain: domain.to_string(),
            sts_txt: vec!["v=STSv1; id=20240101T000000".into()],
            tlsrpt_txt: vec!["v=TLSRPTv1; rua=mailto:tlsrpt@provider.test".into()],
            policy_addrs: Vec::new(),
            mx: vec![
                Mx::new(10, "mx1.provider.test", &["192.0.2.10", "2001:db8::10"]),
                Mx::new(20, "mx2.provider.test", &["192.0.2.20", "2001:db8::20"]),
            ],
            zone: Zone::new(),
        };
        d.policy_addrs = vec![PolicyAddr {
            ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 80)),
            https: Https::new(Response::policy(&d.good_policy())).cert_per_name(),
        }];
        d
    }

    /// `mta-sts.DOMAIN`.
    pub fn policy_host(&self) -> String {
        format!("mta-sts.{}", self.domain)
    }

    /// A valid enforce policy listing the current MX hosts (CRLF line endings).
    pub fn good_policy(&self) -> String {
        let mut text = "version: STSv1\r\nmode: enforce\r\n".to_string();
        for mx in &self.mx {
            text.push_str(&format!("mx: {}\r\n", mx.name));
        }
        text.push_str("max_age: 604800\r\n");
        text
    }

    /// Answer with `handler` at every address of the policy host.
    pub fn set_policy(&mut self, handler: impl Into<Handler>) {
        let handler = handler.into();
        for a in &mut self.policy_addrs {
            a.https.behaviour = https::Behaviour::Respond(handler.clone());
        }
    }

    /// Serve `smtp` at every address of every MX host.
    pub fn set_smtp(&mut self, smtp: Smtp) {
        for a in self.mx.iter_mut().flat_map(|m| &mut m.addrs) {
            a.smtp = smtp.clone();
        }
    }

    fn records(&self, zone: &mut Zone, smtp: &[(IpAddr, SmtpServer)]) {
        let d = &self.domain;
        for t in &self.sts_txt {
            zone.txt_bytes(&format!("_mta-sts.{d}"), t.0.clone());
        }
        for t in &self.tlsrpt_txt {
            zone.txt_bytes(&format!("_smtp._tls.{d}"), t.0.clone());
        }
        for a in &self.policy_addrs {
            zone.addr(&self.policy_host(), a.ip);
        }
        for mx in &self.mx {
            zone.mx(d, mx.preference, &mx.name);
            for a in &mx.addrs {
                zone.addr(&mx.name, a.ip);
            }
            for t in &mx.tlsa {
                let data = t.data.clone().unwrap_or_else(|| {
                    let first = mx.addrs.first().expect("an MX address for TLSA data");
                    let (_, server) = smtp
                        .iter()
                        .find(|(ip, _)| *ip == first.ip)
                        .expect("its server");
                    server.cert().tlsa_data(t.selector, t.matching)
                });
                zone.tlsa(
                    &format!("_25._tcp.{}", mx.name),
                    t.usage,
                    t.selector,
                    t.matching,
                    data,
                );
            }
        }
        zone.extend(&self.zone);
    }
}

/// A world under construction: the CA, extra DNS and the tool's settings.
pub struct World {
    pub ca: TestCa,
    /// DNS beyond the deployments', served after theirs.
    pub zone: Zone,
    /// `--timeout`.
    pub timeout: Duration,
    /// `--deadline`, if given.
    pub deadline: Option<Duration>,
    deployments: usize,
    /// One-way delay on every path, if any ([`World::with_latency`]).
    latency: Option<Duration>,
}

impl Default for World {
    fn default() -> Self {
        World::new()
    }
}

impl World {
    pub fn new() -> World {
        World {
            ca: TestCa::new(),
            zone: Zone::new(),
            timeout: Duration::from_secs(2),
            deadline: None,
            deployments: 0,
            latency: None,
        }
    }

    /// Every path with a one-way delay of `one_way`, as over a real network: each DNS
    /// answer comes a round trip late, and every HTTPS and SMTP connection goes through a
    /// [`LatencyProxy`] (see `latency.rs` for the TCP handshake it emulates). Failures
    /// before a connection is made (refused, hanging) become ones after it: for the
    /// benchmarks of good deployments, not for tests of failures. Addresses without a
    /// server still refuse at once.
    pub fn with_latency(mut self, one_way: Duration) -> World {
        self.latency = Some(one_way);
        self
    }

    /// `n` customers of one hosted mail provider (d0.customers.test, d1...), each a
    /// [`Deployment::hosted`]: 4 SMTP servers (2 MX hosts, 2 addresses each) and one
    /// HTTPS server for them all. Returns the running world and the domains.
    pub async fn hosted(self, n: usize) -> (Run, Vec<String>) {
        let domains: Vec<String> = (0..n).map(|i| format!("d{i}.customers.test")).collect();
        let deployments = domains.iter().map(|d| Deployment::hosted(d)).collect();
        (self.start_all(deployments).await, domains)
    }

    /// A complete valid deployment of `domain`, at addresses no other good deployment
    /// of this world uses.
    pub fn good_deployment(&mut self, domain: &str) -> Deployment {
        self.deployments += 1;
        Deployment::good(domain, self.deployments - 1)
    }

    pub async fn start(self, d: Deployment) -> Run {
        self.start_all(vec![d]).await
    }

    /// Starts the servers of every deployment, then DNS. An (address, port) served
    /// twice (a shared MX host) gets the first server.
    pub async fn start_all(self, deployments: Vec<Deployment>) -> Run {
        let mut https: Vec<(IpAddr, HttpsServer)> = Vec::new();
        let mut smtp: Vec<(IpAddr, SmtpServer)> = Vec::new();
        for d in &deployments {
            for a in &d.policy_addrs {
                if https.iter().all(|(ip, _)| *ip != a.ip) {
                    let host = d.policy_host();
                    let server = HttpsServer::start(&self.ca, &host, a.https.clone()).await;
                    https.push((a.ip, server));
                }
            }
            for mx in &d.mx {
                for a in &mx.addrs {
                    if smtp.iter().all(|(ip, _)| *ip != a.ip) {
                        let server = SmtpServer::start(&self.ca, &mx.name, a.smtp.clone()).await;
                        smtp.push((a.ip, server));
                    }
                }
            }
        }
        let mut zone = Zone::new();
        for d in &deployments {
            d.records(&mut zone, &smtp);
        }
        zone.extend(&self.zone);
        let round_trip = self.latency.unwrap_or_default() * 2;
        let mut run = Run {
            ca: self.ca,
            dns: DnsServer::start_delayed(zone, round_trip).await,
            https,
            smtp,
            timeout: self.timeout,
            deadline: self.deadline,
            closed_port: closed_port().await,
            latency: self.latency,
            proxies: HashMap::new(),
        };
        let servers: Vec<SocketAddr> = run
            .https
            .iter()
            .map(|(_, s)| s.addr())
            .chain(run.smtp.iter().map(|(_, s)| s.addr()))
            .collect();
        for server in servers {
            run.proxy(server).await;
        }
        run
    }
}

/// A running world; every server stops when it is dropped.
pub struct Run {
    pub ca: TestCa,
    pub dns: DnsServer,
    /// Policy servers by the address DNS gives for them (port 443).
    pub https: Vec<(IpAddr, HttpsServer)>,
    /// SMTP servers by the address DNS gives for them (port 25).
    pub smtp: Vec<(IpAddr, SmtpServer)>,
    pub timeout: Duration,
    pub deadline: Option<Duration>,
    /// Where connections to addresses without a server go: refused.
    closed_port: u16,
    /// The world's one-way delay, if any.
    latency: Option<Duration>,
    /// With latency, the proxy in front of each server (by the server's address).
    proxies: HashMap<SocketAddr, LatencyProxy>,
}

impl Run {
    /// `--connect-to` rules: each (address, port) to its server (or the server's
    /// latency proxy), then everything else to a closed port on 127.0.0.1, so that
    /// nothing ever leaves the machine.
    pub fn connect_to(&self) -> Vec<String> {
        let rule = |ip: &IpAddr, port: u16, server: SocketAddr| {
            let to = self
                .proxies
                .get(&server)
                .map_or(server, |p| p.addr())
                .port();
            match ip {
                IpAddr::V4(v4) => format!("{v4}:{port}:127.0.0.1:{to}"),
                IpAddr::V6(v6) => format!("[{v6}]:{port}:127.0.0.1:{to}"),
            }
        };
        let https = self.https.iter().map(|(ip, s)| rule(ip, 443, s.addr()));
        let smtp = self.smtp.iter().map(|(ip, s)| rule(ip, 25, s.addr()));
        https
            .chain(smtp)
            .chain([format!("::127.0.0.1:{}", self.closed_port)])
            .collect()
    }

    /// The options that point the tool at this world, to append to its arguments.
    pub fn args(&self) -> Vec<String> {
        let mut args = vec![
            "--resolver".to_string(),
            self.dns.addr().to_string(),
            "--ca-file".to_string(),
            self.ca.ca_file().display().to_string(),
        ];
        for rule in self.connect_to() {
            args.extend(["--connect-to".to_string(), rule]);
        }
        args.extend([
            "--timeout".to_string(),
            self.timeout.as_secs_f64().to_string(),
        ]);
        if let Some(deadline) = self.deadline {
            args.extend(["--deadline".to_string(), deadline.as_secs_f64().to_string()]);
        }
        args
    }

    /// The library's configuration for this world (webpki roots plus the lab root).
    pub fn config(&self) -> mtasts::net::Config {
        mtasts::net::Config {
            timeout: self.timeout,
            deadline: self.deadline.unwrap_or(RUN_LIMIT),
            resolver: Some(self.dns.addr()),
            roots: Arc::new(self.ca.roots()),
            connect_to: self
                .connect_to()
                .iter()
                .map(|r| r.parse().expect("a --connect-to rule"))
                .collect(),
            ehlo_name: "localhost".parse().expect("an EHLO name"),
            families: mtasts::net::Families::Both,
            skip_mx: false,
            policy_file: None,
            zones: None,
            jobs: 1,
            max_connections: 64,
        }
    }

    /// Runs the real binary with `args` followed by [`Run::args`], in an environment
    /// cleared of what changes its output. Killed after a minute.
    pub async fn mtasts(&self, args: &[&str]) -> Output {
        self.mtasts_with_stdin(args, b"").await
    }

    /// [`Run::mtasts`] with `stdin` on its standard input.
    pub async fn mtasts_with_stdin(&self, args: &[&str], stdin: &[u8]) -> Output {
        let cmd = self.command(args);
        let stdin = stdin.to_vec();
        tokio::task::spawn_blocking(move || {
            assert_cmd::Command::from_std(cmd)
                .write_stdin(stdin)
                .timeout(RUN_LIMIT)
                .output()
                .expect("run mtasts")
        })
        .await
        .expect("the mtasts task")
    }

    /// The real binary with `args` followed by [`Run::args`], in an environment cleared
    /// of what changes its output, ready to spawn (for tests that read it as it runs).
    pub fn command(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("mtasts"));
        for (name, _) in std::env::vars_os() {
            if changes_output(&name.to_string_lossy()) {
                cmd.env_remove(name);
            }
        }
        cmd.args(args).args(self.args());
        cmd
    }

    /// The SMTP server behind `ip` (as DNS gives it).
    pub fn smtp(&self, ip: &str) -> &SmtpServer {
        let ip: IpAddr = ip.parse().expect("an IP address");
        self.smtp
            .iter()
            .find(|(a, _)| *a == ip)
            .map(|(_, s)| s)
            .unwrap_or_else(|| panic!("no SMTP server at {ip}"))
    }

    /// The HTTPS server behind `ip` (as DNS gives it).
    pub fn https(&self, ip: &str) -> &HttpsServer {
        let ip: IpAddr = ip.parse().expect("an IP address");
        self.https
            .iter()
            .find(|(a, _)| *a == ip)
            .map(|(_, s)| s)
            .unwrap_or_else(|| panic!("no HTTPS server at {ip}"))
    }

    /// Starts one more SMTP server, for `host` at `ip` (as DNS gives it), beside the
    /// deployments' own: for an address no MX record names, such as the domain's own
    /// address when it has no MX (its A/AAAA record goes in `d.zone`). One already at
    /// `ip` is replaced: the address then serves a newly minted certificate.
    pub async fn serve_smtp(&mut self, ip: &str, host: &str, smtp: Smtp) {
        let ip: IpAddr = ip.parse().expect("an IP address");
        let server = SmtpServer::start(&self.ca, host, smtp).await;
        self.proxy(server.addr()).await;
        self.smtp.retain(|(a, _)| *a != ip);
        self.smtp.push((ip, server));
    }

    /// Serves the DNS records of `deployments` from now on, in place of the world's (its
    /// extra `w.zone` included): a change of DNS between two runs of the tool. The
    /// servers stay as they are; start one for a new address with [`Run::serve_smtp`].
    pub fn set_dns(&self, deployments: &[Deployment]) {
        let mut zone = Zone::new();
        for d in deployments {
            d.records(&mut zone, &self.smtp);
        }
        self.dns.set_zone(zone);
    }

    /// Puts a latency proxy in front of `server`, if the world has latency.
    async fn proxy(&mut self, server: SocketAddr) {
        if let Some(one_way) = self.latency {
            let proxy = LatencyProxy::start(server, one_way).await;
            self.proxies.insert(server, proxy);
        }
    }

    pub fn smtp_commands(&self, ip: &str) -> Vec<Command> {
        self.smtp(ip).commands()
    }

    /// Every command received by every SMTP server.
    pub fn all_smtp_commands(&self) -> Vec<Command> {
        self.smtp.iter().flat_map(|(_, s)| s.commands()).collect()
    }

    pub fn https_requests(&self, ip: &str) -> Vec<Request> {
        self.https(ip).requests()
    }

    pub fn dns_queries(&self) -> Vec<dns::Query> {
        self.dns.queries()
    }
}

/// Environment variables that change the tool's output.
fn changes_output(name: &str) -> bool {
    let name = name.to_ascii_uppercase();
    matches!(
        name.as_str(),
        "NO_COLOR" | "FORCE_COLOR" | "CI" | "RUST_BACKTRACE" | "RUST_LIB_BACKTRACE" | "RUST_LOG"
    ) || name.starts_with("CLICOLOR")
        || name.ends_with("_PROXY")
}

/// A background task, aborted when dropped.
struct Task(AbortHandle);

impl Task {
    fn spawn(fut: impl Future<Output = ()> + Send + 'static) -> Task {
        Task(tokio::spawn(fut).abort_handle())
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Accepts connections and serves each (with its number, from 0) in a task of its own;
/// dropping the returned task drops the connections too.
fn accept_loop<F, Fut>(listener: TcpListener, serve: F) -> Task
where
    F: Fn(TcpStream, usize) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Task::spawn(async move {
        let mut conns = JoinSet::new();
        let mut n = 0;
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        conns.spawn(serve(stream, n));
                        n += 1;
                    }
                    // E.g. out of file descriptors: wait instead of spinning.
                    Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                },
                Some(_) = conns.join_next(), if !conns.is_empty() => {}
            }
        }
    })
}

/// Keeps a connection open, reading and discarding, until the peer closes it.
async fn hold<S: AsyncRead + Unpin>(mut stream: S) {
    let mut buf = [0; 4096];
    while let Ok(1..) = stream.read(&mut buf).await {}
}

/// Locks a mutex, ignoring poisoning (a panicking test thread must not hide the log).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A port on 127.0.0.1 that nothing listens on.
async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listener.local_addr().expect("address").port()
}
