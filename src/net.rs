//! All network I/O: gathers the [`Observations`](crate::observe::Observations) of a domain,
//! every wait bounded by the per-operation timeout and the per-domain deadline.

pub mod dns;
pub mod https;
pub mod legacy;
pub mod smtp;
pub mod tls;

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use rustls::RootCertStore;

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
    pub ehlo_name: String,
    pub families: Families,
    /// Run the DNS and policy stages only.
    pub skip_mx: bool,
    /// Judge this local policy instead of fetching the published one.
    pub policy_file: Option<(String, Vec<u8>)>,
    /// Domains audited at once.
    pub jobs: usize,
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
            ehlo_name: "localhost".into(),
            families: Families::Both,
            skip_mx: false,
            policy_file: None,
            jobs: 1,
        }
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
