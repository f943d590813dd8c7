//! The lab's policy host: an HTTPS server with a hand-written HTTP/1.1 responder over
//! tokio-rustls, so that it can answer wrongly on purpose. Each connection serves one
//! request, recorded for the test, then closes.

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use super::ca::{Cert, TestCa, Tls};
use super::smtp::read_record;
use super::{Task, accept_loop, hold, lock};

/// Bound on a request's head (request line and headers).
const MAX_HEAD: usize = 16 * 1024;

/// A request as the server read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub version: String,
    /// Names and values as received.
    pub headers: Vec<(String, String)>,
    /// The server name the client sent in its ClientHello.
    pub sni: Option<String>,
}

impl Request {
    /// The first value of a header (name compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The body of a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Bytes(Vec<u8>),
    /// Never ends (and has no Content-Length).
    Endless,
}

/// A scripted response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    /// Sent in this order, after the status line.
    pub headers: Vec<(String, String)>,
    pub body: Body,
    /// Add `Content-Length`; without it the body ends when the connection closes.
    pub content_length: bool,
    /// Send the status line and headers one byte per interval (slowloris).
    pub drip: Option<Duration>,
    /// Wait this long before answering at all (a slow backend).
    pub delay: Option<Duration>,
    /// Send these bytes, and nothing else, instead of an HTTP response.
    pub raw: Option<Vec<u8>>,
}

impl Response {
    /// 200 with `Content-Type: text/plain`.
    pub fn policy(text: &str) -> Response {
        Response::status(200)
            .header("Content-Type", "text/plain")
            .body(text.as_bytes())
    }

    /// An empty response with this status.
    pub fn status(code: u16) -> Response {
        Response {
            status: code,
            reason: reason(code).to_string(),
            headers: Vec::new(),
            body: Body::Bytes(Vec::new()),
            content_length: true,
            drip: None,
            delay: None,
            raw: None,
        }
    }

    pub fn redirect(code: u16, location: &str) -> Response {
        Response::status(code).header("Location", location)
    }

    /// 200 `text/plain` whose body never ends.
    pub fn endless() -> Response {
        let mut r = Response::status(200).header("Content-Type", "text/plain");
        r.body = Body::Endless;
        r.content_length = false;
        r
    }

    /// These bytes instead of HTTP.
    pub fn raw(bytes: &[u8]) -> Response {
        let mut r = Response::status(200);
        r.raw = Some(bytes.to_vec());
        r
    }

    pub fn header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn body(mut self, body: impl AsRef<[u8]>) -> Response {
        self.body = Body::Bytes(body.as_ref().to_vec());
        self
    }

    /// Close-delimited, HTTP/1.0 style.
    pub fn no_content_length(mut self) -> Response {
        self.content_length = false;
        self
    }

    pub fn drip(mut self, interval: Duration) -> Response {
        self.drip = Some(interval);
        self
    }

    pub fn delay(mut self, delay: Duration) -> Response {
        self.delay = Some(delay);
        self
    }

    fn head(&self) -> Vec<u8> {
        let mut head = format!("HTTP/1.1 {} {}\r\n", self.status, self.reason);
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if let (true, Body::Bytes(body)) = (self.content_length, &self.body) {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("Connection: close\r\n\r\n");
        head.into_bytes()
    }
}

/// How to answer a request: a fixed response or a function of the request.
#[derive(Clone)]
pub enum Handler {
    Fixed(Response),
    Fn(Arc<dyn Fn(&Request) -> Response + Send + Sync>),
}

impl Handler {
    /// E.g. 403 unless the User-Agent looks like a browser.
    pub fn func(f: impl Fn(&Request) -> Response + Send + Sync + 'static) -> Handler {
        Handler::Fn(Arc::new(f))
    }

    fn respond(&self, req: &Request) -> Response {
        match self {
            Handler::Fixed(r) => r.clone(),
            Handler::Fn(f) => f(req),
        }
    }
}

impl From<Response> for Handler {
    fn from(r: Response) -> Handler {
        Handler::Fixed(r)
    }
}

impl fmt::Debug for Handler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Handler::Fixed(r) => f.debug_tuple("Fixed").field(r).finish(),
            Handler::Fn(_) => f.write_str("Fn(..)"),
        }
    }
}

/// What the server does with a connection.
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// TLS, then read the request and answer it.
    Respond(Handler),
    /// Accept TCP and never start TLS.
    NoTls,
    /// Answer in plain HTTP, no TLS at all (a web server misconfigured on port 443).
    PlainHttp,
    /// Complete TLS, read the request, never answer.
    Silent,
    /// Refuse connections (nothing listens on the port).
    Refuse,
    /// Read the ClientHello and answer with a fatal alert of this description (40 =
    /// handshake_failure), then close.
    Alert(u8),
}

/// One HTTPS server: its certificate, its TLS versions and its behaviour.
#[derive(Debug, Clone)]
pub struct Https {
    pub cert: Cert,
    /// Mint `cert` for each server name clients ask for (SNI) instead of once for the
    /// host: one server for many policy hosts.
    pub cert_per_name: bool,
    pub tls: Tls,
    pub behaviour: Behaviour,
}

impl Https {
    /// A valid certificate, TLS 1.2 and 1.3, answering with `handler`.
    pub fn new(handler: impl Into<Handler>) -> Https {
        Https {
            cert: Cert::good(),
            cert_per_name: false,
            tls: Tls::Modern,
            behaviour: Behaviour::Respond(handler.into()),
        }
    }

    pub fn no_tls() -> Https {
        Https {
            behaviour: Behaviour::NoTls,
            ..Https::new(Response::status(500))
        }
    }

    pub fn plain_http() -> Https {
        Https {
            behaviour: Behaviour::PlainHttp,
            ..Https::new(Response::status(500))
        }
    }

    pub fn silent() -> Https {
        Https {
            behaviour: Behaviour::Silent,
            ..Https::new(Response::status(500))
        }
    }

    pub fn refused() -> Https {
        Https {
            behaviour: Behaviour::Refuse,
            ..Https::new(Response::status(500))
        }
    }

    /// A fatal TLS alert in answer to the ClientHello, e.g. 40 (handshake_failure).
    pub fn tls_alert(description: u8) -> Https {
        Https {
            behaviour: Behaviour::Alert(description),
            ..Https::new(Response::status(500))
        }
    }

    pub fn cert(mut self, cert: Cert) -> Https {
        self.cert = cert;
        self
    }

    pub fn tls12_only(mut self) -> Https {
        self.tls = Tls::Tls12Only;
        self
    }

    /// A certificate minted for each server name a client asks for, on first use.
    pub fn cert_per_name(mut self) -> Https {
        self.cert_per_name = true;
        self
    }
}

/// A running HTTPS server; it stops when dropped.
pub struct HttpsServer {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
    _task: Option<Task>,
}

impl HttpsServer {
    /// Serves `https` with a certificate minted by `ca` for `host` (or for each name
    /// clients ask for, with [`Https::cert_per_name`]).
    pub async fn start(ca: &TestCa, host: &str, https: Https) -> HttpsServer {
        let config = if https.cert_per_name {
            ca.minting_server_config(&https.cert, https.tls)
        } else {
            ca.issue(&https.cert, host).server_config(https.tls)
        };
        let tls = TlsAcceptor::from(config);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind HTTPS");
        let addr = listener.local_addr().expect("HTTPS address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = requests.clone();
        let task = if let Behaviour::Refuse = https.behaviour {
            // Nothing listens on the port once the listener is gone.
            drop(listener);
            None
        } else {
            let behaviour = Arc::new(https.behaviour);
            Some(accept_loop(listener, move |stream, _| {
                serve(stream, tls.clone(), behaviour.clone(), log.clone())
            }))
        };
        HttpsServer {
            addr,
            requests,
            _task: task,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        lock(&self.requests).clone()
    }
}

async fn serve(
    stream: TcpStream,
    tls: TlsAcceptor,
    behaviour: Arc<Behaviour>,
    log: Arc<Mutex<Vec<Request>>>,
) {
    if let Behaviour::NoTls = *behaviour {
        return hold(stream).await;
    }
    if let Behaviour::Alert(description) = *behaviour {
        let mut stream = stream;
        if read_record(&mut stream).await.is_some() {
            let _ = stream.write_all(&[21, 3, 3, 0, 2, 2, description]).await;
        }
        return;
    }
    if let Behaviour::PlainHttp = *behaviour {
        let mut stream = stream;
        let mut hello = [0u8; 512];
        let _ = stream.read(&mut hello).await;
        let _ = stream
            .write_all(
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            )
            .await;
        return;
    }
    let Ok(mut stream) = tls.accept(stream).await else {
        return;
    };
    let sni = stream.get_ref().1.server_name().map(str::to_string);
    let Some(req) = read_request(&mut stream, sni).await else {
        return;
    };
    lock(&log).push(req.clone());
    match &*behaviour {
        Behaviour::Respond(handler) => {
            let _ = write_response(&mut stream, &handler.respond(&req)).await;
        }
        _ => hold(stream).await,
    }
}

/// Reads one request head; None if it is not one or exceeds the bound.
async fn read_request<S: AsyncRead + Unpin>(
    stream: &mut S,
    sni: Option<String>,
) -> Option<Request> {
    let mut head = Vec::new();
    let mut buf = [0; 1024];
    while !head.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 || head.len() + n > MAX_HEAD {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&head);
    let mut lines = text.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, path, version) = (first.next()?, first.next()?, first.next()?);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.to_string(), v.trim().to_string()))
        .collect();
    Some(Request {
        method: method.to_string(),
        path: path.to_string(),
        version: version.to_string(),
        headers,
        sni,
    })
}

async fn write_response<S: AsyncWrite + Unpin>(
    stream: &mut S,
    resp: &Response,
) -> std::io::Result<()> {
    if let Some(delay) = resp.delay {
        tokio::time::sleep(delay).await;
    }
    if let Some(raw) = &resp.raw {
        stream.write_all(raw).await?;
        return stream.shutdown().await;
    }
    let head = resp.head();
    match resp.drip {
        Some(interval) => {
            for byte in head {
                stream.write_all(&[byte]).await?;
                stream.flush().await?;
                tokio::time::sleep(interval).await;
            }
        }
        None => stream.write_all(&head).await?,
    }
    match &resp.body {
        Body::Bytes(body) => stream.write_all(body).await?,
        Body::Endless => {
            let chunk = vec![b'x'; 16 * 1024];
            loop {
                stream.write_all(&chunk).await?;
            }
        }
    }
    stream.shutdown().await
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}
