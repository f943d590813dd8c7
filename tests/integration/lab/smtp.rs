//! The lab's MX: a scripted SMTP server with STARTTLS that records every command line it
//! receives, and that can misbehave at each step of the dialogue a prober goes through.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio_rustls::TlsAcceptor;

use super::ca::{Cert, ServerCert, TestCa, Tls};
use super::{Task, accept_loop, hold, lock};

/// Bound on one command line.
const MAX_LINE: u64 = 4096;

/// What the server does before any reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opening {
    /// Send the banner at once.
    Banner,
    /// Refuse connections (nothing listens on the port).
    Refuse,
    /// Never complete a connection: the listen queue is full and never drained, so the
    /// kernel drops the SYNs, as a firewall that drops port 25 does.
    Hang,
    /// Accept and close at once.
    Close,
    /// Accept and never send a banner.
    Tarpit,
    /// Send the banner one byte per interval.
    Drip(Duration),
}

/// What follows a positive reply to STARTTLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterStarttls {
    /// A real TLS handshake, then the dialogue goes on inside TLS.
    Tls,
    /// Close the connection.
    Close,
    /// Read the ClientHello, then say nothing.
    Stall,
    /// Read the ClientHello and answer with a fatal alert of this description (40 =
    /// handshake_failure), then close.
    Alert(u8),
    /// Read the ClientHello and answer with the first flight of a server of this version
    /// (0x0301 = TLS 1.0, 0x0302 = TLS 1.1): ServerHello with cipher 0xC013, the
    /// certificate chain, ServerHelloDone. Stands in for a legacy-only server, for the real
    /// handshake and for a later hand-made probe alike.
    Legacy(u16),
    /// A TLS 1.2 server with only TLS_RSA_WITH_AES_128_CBC_SHA: a ClientHello that offers
    /// it (the hand-made probe) gets the first flight, any other (rustls) a
    /// handshake_failure alert, as from OpenSSL with such a cipher list.
    LegacyCiphers,
    /// A server of this version (0x0301, 0x0302) that hangs up without an alert on a
    /// ClientHello with the supported_versions extension (rustls'), as OpenSSL behind some
    /// frameworks, SChannel and middleboxes do, and answers one without it (the hand-made
    /// probe) like [`AfterStarttls::Legacy`].
    LegacyHangsUp(u16, HangUp),
    /// Read the ClientHello, whatever it offers, and hang up without an alert.
    HangUp(HangUp),
    /// Read the ClientHello, send a TLS 1.2 ServerHello choosing
    /// TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 (which rustls offers), and close: the
    /// handshake breaks after the ServerHello.
    CloseAfterServerHello,
}

/// How a server ends a connection without a TLS alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HangUp {
    /// A plain close: the client reads EOF.
    Close,
    /// SO_LINGER 0, then close: the kernel sends a reset, and the client reads
    /// ECONNRESET.
    Reset,
}

/// An SMTP server's script. Replies given as text may hold several lines separated
/// by "\n"; each line is sent with CRLF.
#[derive(Debug, Clone)]
pub struct Smtp {
    pub cert: Cert,
    pub tls: Tls,
    pub opening: Opening,
    /// The greeting, sent as is; `None` means `220 <host> ESMTP\r\n`.
    pub banner: Option<Vec<u8>>,
    /// Reply to EHLO before TLS; `None` means the default capability list.
    pub ehlo: Option<String>,
    pub advertise_starttls: bool,
    /// Answer EHLO with `250-` lines forever.
    pub endless_ehlo: bool,
    /// Reply to STARTTLS; `None` means `220 2.0.0 Ready to start TLS` when STARTTLS is
    /// advertised, else `502 5.5.1 Unrecognized command`.
    pub starttls: Option<String>,
    /// Plaintext sent in the same write as the reply to STARTTLS (STARTTLS injection).
    pub inject: Vec<u8>,
    pub after_starttls: AfterStarttls,
    /// Reply to EHLO inside TLS; `None` means the default list without STARTTLS.
    pub ehlo_after_tls: Option<String>,
    /// Wait this long before the banner and before each reply: every step is slow, none
    /// slower than this.
    pub reply_delay: Option<Duration>,
}

impl Default for Smtp {
    fn default() -> Self {
        Smtp::good()
    }
}

impl Smtp {
    /// Banner, EHLO with STARTTLS, a handshake with a valid certificate, EHLO, QUIT.
    pub fn good() -> Smtp {
        Smtp {
            cert: Cert::good(),
            tls: Tls::Modern,
            opening: Opening::Banner,
            banner: None,
            ehlo: None,
            advertise_starttls: true,
            endless_ehlo: false,
            starttls: None,
            inject: Vec::new(),
            after_starttls: AfterStarttls::Tls,
            ehlo_after_tls: None,
            reply_delay: None,
        }
    }

    pub fn cert(mut self, cert: Cert) -> Smtp {
        self.cert = cert;
        self
    }

    pub fn tls12_only(mut self) -> Smtp {
        self.tls = Tls::Tls12Only;
        self
    }

    pub fn no_starttls(mut self) -> Smtp {
        self.advertise_starttls = false;
        self
    }

    /// E.g. `454 4.7.0 TLS not available`.
    pub fn starttls_reply(mut self, reply: &str) -> Smtp {
        self.starttls = Some(reply.to_string());
        self
    }

    /// E.g. `554 5.7.1 no service`.
    pub fn banner(self, reply: &str) -> Smtp {
        self.banner_raw(&crlf(reply))
    }

    pub fn banner_raw(mut self, bytes: &[u8]) -> Smtp {
        self.banner = Some(bytes.to_vec());
        self
    }

    /// E.g. `500 5.5.1 unrecognized`.
    pub fn ehlo_reply(mut self, reply: &str) -> Smtp {
        self.ehlo = Some(reply.to_string());
        self
    }

    /// E.g. `250 injected\n` after `220 ready`.
    pub fn inject_after_starttls(mut self, bytes: &[u8]) -> Smtp {
        self.inject = bytes.to_vec();
        self
    }

    pub fn refused(mut self) -> Smtp {
        self.opening = Opening::Refuse;
        self
    }

    /// Connections time out: nothing ever answers the SYN.
    pub fn connect_hangs(mut self) -> Smtp {
        self.opening = Opening::Hang;
        self
    }

    pub fn close_on_connect(mut self) -> Smtp {
        self.opening = Opening::Close;
        self
    }

    pub fn tarpit(mut self) -> Smtp {
        self.opening = Opening::Tarpit;
        self
    }

    pub fn drip_banner(mut self, interval: Duration) -> Smtp {
        self.opening = Opening::Drip(interval);
        self
    }

    pub fn endless_ehlo(mut self) -> Smtp {
        self.endless_ehlo = true;
        self
    }

    /// A greeting line of 1 MiB.
    pub fn huge_line(self) -> Smtp {
        let mut line = b"220 ".to_vec();
        line.resize(1 << 20, b'x');
        line.extend_from_slice(b"\r\n");
        self.banner_raw(&line)
    }

    /// Something that is not SMTP where the greeting should be.
    pub fn garbage(self) -> Smtp {
        self.banner_raw(b"SSH-2.0-OpenSSH_9.6\r\n")
    }

    pub fn close_after_starttls(mut self) -> Smtp {
        self.after_starttls = AfterStarttls::Close;
        self
    }

    pub fn stall_handshake(mut self) -> Smtp {
        self.after_starttls = AfterStarttls::Stall;
        self
    }

    /// A fatal TLS alert in answer to the ClientHello, e.g. 40 (handshake_failure).
    pub fn tls_alert(mut self, description: u8) -> Smtp {
        self.after_starttls = AfterStarttls::Alert(description);
        self
    }

    /// 0x0301 (TLS 1.0) or 0x0302 (TLS 1.1).
    pub fn legacy_tls(mut self, version: u16) -> Smtp {
        self.after_starttls = AfterStarttls::Legacy(version);
        self
    }

    /// TLS 1.2 with nothing but TLS_RSA_WITH_AES_128_CBC_SHA.
    pub fn legacy_ciphers(mut self) -> Smtp {
        self.after_starttls = AfterStarttls::LegacyCiphers;
        self
    }

    /// 0x0301 (TLS 1.0) or 0x0302 (TLS 1.1), hanging up on rustls' ClientHello.
    pub fn legacy_tls_hanging_up(mut self, version: u16, how: HangUp) -> Smtp {
        self.after_starttls = AfterStarttls::LegacyHangsUp(version, how);
        self
    }

    /// No TLS at all: a hang-up on every ClientHello, rustls' and the legacy probe's.
    pub fn hang_up_on_hello(mut self, how: HangUp) -> Smtp {
        self.after_starttls = AfterStarttls::HangUp(how);
        self
    }

    pub fn close_after_server_hello(mut self) -> Smtp {
        self.after_starttls = AfterStarttls::CloseAfterServerHello;
        self
    }

    /// E.g. `554 5.7.0 go away`.
    pub fn ehlo_after_tls_reply(mut self, reply: &str) -> Smtp {
        self.ehlo_after_tls = Some(reply.to_string());
        self
    }

    /// Every reply (the banner too) comes `delay` late.
    pub fn slow_replies(mut self, delay: Duration) -> Smtp {
        self.reply_delay = Some(delay);
        self
    }
}

/// A command line as the server received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// Which connection, counted from 0 in accept order.
    pub conn: usize,
    /// Received inside TLS.
    pub tls: bool,
    /// Without the CRLF, lossily decoded.
    pub line: String,
}

impl Command {
    /// The command word, upper-cased (`EHLO`, `STARTTLS`, `MAIL`, ...).
    pub fn verb(&self) -> String {
        let word = self.line.split(' ').next().unwrap_or_default();
        word.to_ascii_uppercase()
    }
}

/// A running SMTP server; it stops when dropped.
pub struct SmtpServer {
    addr: SocketAddr,
    cert: ServerCert,
    commands: Arc<Mutex<Vec<Command>>>,
    connections: Arc<Mutex<usize>>,
    _task: Option<Task>,
    /// For [`Opening::Hang`]: the listener and the connection that fills its queue.
    _full: Option<(TcpListener, TcpStream)>,
}

impl SmtpServer {
    /// Serves `smtp` as `host` (the greeting name and the certificate's default name).
    pub async fn start(ca: &TestCa, host: &str, smtp: Smtp) -> SmtpServer {
        let cert = ca.issue(&smtp.cert, host);
        let tls = TlsAcceptor::from(cert.server_config(smtp.tls));
        let commands = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(Mutex::new(0));
        if smtp.opening == Opening::Hang {
            let (listener, filler) = full_listener().await;
            return SmtpServer {
                addr: listener.local_addr().expect("SMTP address"),
                cert,
                commands,
                connections,
                _task: None,
                _full: Some((listener, filler)),
            };
        }
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind SMTP");
        let addr = listener.local_addr().expect("SMTP address");
        let task = if smtp.opening == Opening::Refuse {
            // Nothing listens on the port once the listener is gone.
            drop(listener);
            None
        } else {
            let session = Arc::new(Session {
                smtp,
                host: host.to_string(),
                tls,
                chain: cert.chain.iter().map(|c| c.to_vec()).collect(),
                log: commands.clone(),
            });
            let count = connections.clone();
            Some(accept_loop(listener, move |stream, conn| {
                *lock(&count) += 1;
                session.clone().serve(stream, conn)
            }))
        };
        SmtpServer {
            addr,
            cert,
            commands,
            connections,
            _task: task,
            _full: None,
        }
    }

    /// The certificate it serves (for TLSA data).
    pub fn cert(&self) -> &ServerCert {
        &self.cert
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every command line received so far, in order.
    pub fn commands(&self) -> Vec<Command> {
        lock(&self.commands).clone()
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        *lock(&self.connections)
    }
}

struct Session {
    smtp: Smtp,
    host: String,
    tls: TlsAcceptor,
    /// The certificate chain (DER), for the legacy fakes' Certificate message.
    chain: Vec<Vec<u8>>,
    log: Arc<Mutex<Vec<Command>>>,
}

impl Session {
    async fn serve(self: Arc<Self>, mut stream: TcpStream, conn: usize) {
        let banner = self
            .smtp
            .banner
            .clone()
            .unwrap_or_else(|| crlf(&format!("220 {} ESMTP", self.host)));
        self.pause().await;
        let sent = match self.smtp.opening {
            Opening::Tarpit => return hold(stream).await,
            Opening::Refuse | Opening::Hang | Opening::Close => return,
            Opening::Banner => stream.write_all(&banner).await,
            Opening::Drip(interval) => drip(&mut stream, &banner, interval).await,
        };
        if sent.is_err() {
            return;
        }
        let Some(stream) = self.dialogue(stream, conn, false).await else {
            return;
        };
        match self.smtp.after_starttls {
            AfterStarttls::Close => {}
            AfterStarttls::Stall => {
                let mut stream = stream;
                if read_record(&mut stream).await.is_some() {
                    hold(stream).await;
                }
            }
            AfterStarttls::Alert(description) => {
                let mut stream = stream;
                if read_record(&mut stream).await.is_some() {
                    let _ = stream.write_all(&[21, 3, 3, 0, 2, 2, description]).await;
                }
            }
            AfterStarttls::Legacy(version) => {
                let mut stream = stream;
                if read_record(&mut stream).await.is_some()
                    && stream
                        .write_all(&first_flight(version, 0xC013, &self.chain))
                        .await
                        .is_ok()
                {
                    hold(stream).await;
                }
            }
            AfterStarttls::LegacyCiphers => {
                let mut stream = stream;
                let Some(hello) = read_record(&mut stream).await else {
                    return;
                };
                let answer = if offers(&hello, 0x002f) {
                    first_flight(0x0303, 0x002f, &self.chain)
                } else {
                    vec![21, 3, 3, 0, 2, 2, 40]
                };
                if stream.write_all(&answer).await.is_ok() {
                    hold(stream).await;
                }
            }
            AfterStarttls::LegacyHangsUp(version, how) => {
                let mut stream = stream;
                let Some(hello) = read_record(&mut stream).await else {
                    return;
                };
                if offers_extension(&hello, SUPPORTED_VERSIONS) {
                    hang_up(stream, how);
                } else if stream
                    .write_all(&first_flight(version, 0xC013, &self.chain))
                    .await
                    .is_ok()
                {
                    hold(stream).await;
                }
            }
            AfterStarttls::HangUp(how) => {
                let mut stream = stream;
                if read_record(&mut stream).await.is_some() {
                    hang_up(stream, how);
                }
            }
            AfterStarttls::CloseAfterServerHello => {
                let mut stream = stream;
                if read_record(&mut stream).await.is_some() {
                    let _ = stream.write_all(&server_hello(0x0303, 0xC02F)).await;
                }
            }
            AfterStarttls::Tls => {
                if let Ok(tls) = self.tls.accept(stream).await {
                    self.dialogue(tls, conn, true).await;
                }
            }
        }
    }

    /// Answers commands until QUIT, a failure, or an accepted STARTTLS (returns the
    /// stream then, for the handshake).
    async fn dialogue<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        stream: S,
        conn: usize,
        tls: bool,
    ) -> Option<S> {
        let mut rd = BufReader::new(stream);
        loop {
            let mut line = Vec::new();
            let n = (&mut rd)
                .take(MAX_LINE)
                .read_until(b'\n', &mut line)
                .await
                .ok()?;
            if n == 0 {
                return None;
            }
            let line = String::from_utf8_lossy(&line).trim_end().to_string();
            let command = Command { conn, tls, line };
            let verb = command.verb();
            lock(&self.log).push(command);
            self.pause().await;
            let out = rd.get_mut();
            match verb.as_str() {
                "EHLO" if self.smtp.endless_ehlo && !tls => {
                    for i in 0.. {
                        let l = format!("250-{}-extension-{i}\r\n", self.host);
                        out.write_all(l.as_bytes()).await.ok()?;
                    }
                }
                "EHLO" => {
                    let custom = if tls {
                        &self.smtp.ehlo_after_tls
                    } else {
                        &self.smtp.ehlo
                    };
                    let reply = custom.clone().unwrap_or_else(|| self.capabilities(tls));
                    out.write_all(&crlf(&reply)).await.ok()?;
                }
                "HELO" | "RSET" | "NOOP" => out.write_all(b"250 2.0.0 OK\r\n").await.ok()?,
                "QUIT" => {
                    let _ = out.write_all(b"221 2.0.0 Bye\r\n").await;
                    let _ = out.shutdown().await;
                    return None;
                }
                "STARTTLS" if tls => out
                    .write_all(b"503 5.5.1 TLS already active\r\n")
                    .await
                    .ok()?,
                "STARTTLS" => {
                    let reply = match (&self.smtp.starttls, self.smtp.advertise_starttls) {
                        (Some(r), _) => r.clone(),
                        (None, true) => "220 2.0.0 Ready to start TLS".to_string(),
                        (None, false) => "502 5.5.1 Unrecognized command".to_string(),
                    };
                    let mut bytes = crlf(&reply);
                    bytes.extend_from_slice(&self.smtp.inject);
                    out.write_all(&bytes).await.ok()?;
                    if reply.starts_with('2') {
                        return Some(rd.into_inner());
                    }
                }
                _ => out
                    .write_all(b"502 5.5.2 Unrecognized command\r\n")
                    .await
                    .ok()?,
            }
        }
    }

    /// The [`Smtp::slow_replies`] delay, if any.
    async fn pause(&self) {
        if let Some(delay) = self.smtp.reply_delay {
            tokio::time::sleep(delay).await;
        }
    }

    fn capabilities(&self, tls: bool) -> String {
        let mut lines = vec![
            self.host.clone(),
            "PIPELINING".to_string(),
            "SIZE 10240000".to_string(),
        ];
        if self.smtp.advertise_starttls && !tls {
            lines.push("STARTTLS".to_string());
        }
        let last = lines.len() - 1;
        lines
            .iter()
            .enumerate()
            .map(|(i, l)| format!("250{}{l}", if i == last { ' ' } else { '-' }))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Each line of `text` ended with CRLF.
fn crlf(text: &str) -> Vec<u8> {
    text.lines()
        .flat_map(|l| [l, "\r\n"])
        .collect::<String>()
        .into_bytes()
}

async fn drip(stream: &mut TcpStream, bytes: &[u8], interval: Duration) -> std::io::Result<()> {
    for &b in bytes {
        stream.write_all(&[b]).await?;
        tokio::time::sleep(interval).await;
    }
    Ok(())
}

/// A listener on 127.0.0.1 whose accept queue is full and never drained: Linux then
/// drops every SYN, so a connection attempt hangs until the client gives up.
async fn full_listener() -> (TcpListener, TcpStream) {
    let socket = TcpSocket::new_v4().expect("SMTP socket");
    socket
        .bind("127.0.0.1:0".parse().expect("an address"))
        .expect("bind SMTP");
    // A backlog of 0 still queues one connection: the filler takes that place.
    let listener = socket.listen(0).expect("listen");
    let addr = listener.local_addr().expect("SMTP address");
    let filler = TcpStream::connect(addr).await.expect("fill the queue");
    (listener, filler)
}

/// Reads one TLS record (the ClientHello), bounded by the record length limit.
pub(super) async fn read_record<S: AsyncRead + Unpin>(stream: &mut S) -> Option<Vec<u8>> {
    let mut header = [0; 5];
    stream.read_exact(&mut header).await.ok()?;
    let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
    let mut body = vec![0; len.min(18 * 1024)];
    stream.read_exact(&mut body).await.ok()?;
    Some(body)
}

/// Ends `stream` without an alert, as `how` says.
fn hang_up(stream: TcpStream, how: HangUp) {
    if how == HangUp::Reset {
        // A zero linger makes the close a reset (and does not block the thread).
        let _ = stream.set_zero_linger();
    }
    drop(stream);
}

/// A handshake message of `kind` in a record of `version` (RFC 5246 §6.2.1, §7.4).
fn handshake_record(version: u16, kind: u8, body: &[u8]) -> Vec<u8> {
    let len24 = |n: usize| [(n >> 16) as u8, (n >> 8) as u8, n as u8];
    let message = [&[kind][..], &len24(body.len()), body].concat();
    [
        &[22][..],
        &version.to_be_bytes(),
        &(message.len() as u16).to_be_bytes(),
        &message,
    ]
    .concat()
}

/// A ServerHello record choosing `version` and `cipher`, without extensions.
fn server_hello(version: u16, cipher: u16) -> Vec<u8> {
    let mut hello = version.to_be_bytes().to_vec();
    hello.extend_from_slice(&[0x42; 32]); // random
    hello.push(0); // empty session id
    hello.extend_from_slice(&cipher.to_be_bytes());
    hello.push(0); // null compression
    handshake_record(version, 2, &hello)
}

/// A server's first flight up to TLS 1.2, in the clear: ServerHello choosing `version`
/// and `cipher`, Certificate with `chain`, ServerHelloDone (RFC 5246 §7.3), one record
/// per message.
fn first_flight(version: u16, cipher: u16, chain: &[Vec<u8>]) -> Vec<u8> {
    let len24 = |n: usize| [(n >> 16) as u8, (n >> 8) as u8, n as u8];
    let list: Vec<u8> = chain
        .iter()
        .flat_map(|der| [&len24(der.len())[..], der].concat())
        .collect();
    let certificate = [&len24(list.len())[..], &list].concat();
    [
        server_hello(version, cipher),
        handshake_record(version, 11, &certificate),
        handshake_record(version, 14, &[]),
    ]
    .concat()
}

/// The supported_versions extension (RFC 8446 §4.2.1): TLS 1.3 clients send it, and
/// rustls always does; the hand-made legacy probe never.
const SUPPORTED_VERSIONS: u16 = 0x002b;

/// A ClientHello record's payload split after the random (RFC 5246 §7.4.1.2): the
/// cipher suites and the extensions, each without its length (no extensions: empty).
/// None when it is malformed.
fn hello_lists(hello: &[u8]) -> Option<(&[u8], &[u8])> {
    // type(1) length(3) client_version(2) random(32)
    let mut rest = hello.get(38..)?;
    take(&mut rest, 1)?; // session id
    let suites = take(&mut rest, 2)?;
    take(&mut rest, 1)?; // compression methods
    let extensions = if rest.is_empty() {
        rest
    } else {
        take(&mut rest, 2)?
    };
    Some((suites, extensions))
}

/// Takes a vector with a length of `width` octets off the front of `rest`.
fn take<'a>(rest: &mut &'a [u8], width: usize) -> Option<&'a [u8]> {
    let len = rest
        .get(..width)?
        .iter()
        .fold(0, |n, b| n << 8 | usize::from(*b));
    let vector = rest.get(width..width + len)?;
    *rest = &rest[width + len..];
    Some(vector)
}

/// Whether a ClientHello record's payload offers `suite`.
fn offers(hello: &[u8], suite: u16) -> bool {
    hello_lists(hello).is_some_and(|(suites, _)| suites.chunks(2).any(|c| c == suite.to_be_bytes()))
}

/// Whether a ClientHello record's payload has the extension of type `kind`.
fn offers_extension(hello: &[u8], kind: u16) -> bool {
    let Some((_, mut extensions)) = hello_lists(hello) else {
        return false;
    };
    while let Some(header) = extensions.get(..2) {
        if header == kind.to_be_bytes() {
            return true;
        }
        extensions = &extensions[2..];
        if take(&mut extensions, 2).is_none() {
            return false;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// rustls' ClientHello record payload, as sent to a server.
    async fn rustls_hello() -> Vec<u8> {
        let (client, mut server) = tokio::io::duplex(64 * 1024);
        let (config, _) = mtasts::net::tls::client_config();
        let name = rustls::pki_types::ServerName::try_from("mx1.example.test").expect("name");
        let connect = tokio_rustls::TlsConnector::from(config).connect(name, client);
        let hello = tokio::spawn(async move { read_record(&mut server).await });
        let (hello, _) = tokio::join!(hello, connect);
        hello.expect("the reader").expect("a ClientHello")
    }

    /// The hand-made probe's ClientHello record payload.
    fn legacy_hello() -> Vec<u8> {
        mtasts::net::legacy::client_hello(0x0303, "mx1.example.test")[5..].to_vec()
    }

    #[tokio::test]
    async fn supported_versions_tells_rustls_from_the_legacy_probe() {
        let modern = rustls_hello().await;
        assert!(offers_extension(&modern, SUPPORTED_VERSIONS));
        let legacy = legacy_hello();
        assert!(!offers_extension(&legacy, SUPPORTED_VERSIONS));
        // Both have other extensions, and the suites are read from the same split.
        assert!(offers_extension(&modern, 0x0000) && offers_extension(&legacy, 0x0000));
        assert!(offers(&legacy, 0x002f) && !offers(&modern, 0x002f));
    }

    /// A ClientHello record payload offering TLS_RSA_WITH_AES_128_CBC_SHA, with a session
    /// id of `sid` octets (as claimed) and `extensions` (None: no extensions field).
    fn hello(sid: u8, extensions: Option<&[u8]>) -> Vec<u8> {
        let mut body = vec![3, 3];
        body.extend_from_slice(&[0x5a; 32]);
        body.push(sid);
        body.extend_from_slice(&[0, 2, 0x00, 0x2f, 1, 0]);
        if let Some(extensions) = extensions {
            body.extend_from_slice(&(extensions.len() as u16).to_be_bytes());
            body.extend_from_slice(extensions);
        }
        let len = body.len();
        [&[1, 0, (len >> 8) as u8, len as u8][..], &body].concat()
    }

    #[tokio::test]
    async fn a_cut_or_broken_hello_offers_nothing() {
        let modern = rustls_hello().await;
        for end in 0..modern.len() {
            assert!(
                !offers_extension(&modern[..end], SUPPORTED_VERSIONS),
                "cut at {end}"
            );
        }
        let cases: &[(Vec<u8>, bool)] = &[
            (hello(0, Some(&[0x00, 0x2b, 0, 3, 2, 3, 4])), true),
            (hello(0, Some(&[0x00, 0x00, 0, 0, 0x00, 0x2b, 0, 0])), true),
            // 0x002b inside another extension's data is not the extension.
            (hello(0, Some(&[0x00, 0x0a, 0, 2, 0x00, 0x2b])), false),
            // An extension longer than the list.
            (hello(0, Some(&[0x00, 0x0a, 0, 9, 0x00, 0x2b])), false),
            (hello(0, None), false),
            (hello(0, Some(&[])), false),
            // A session id longer than the hello.
            (hello(200, Some(&[0x00, 0x2b, 0, 0])), false),
        ];
        for (hello, want) in cases {
            assert_eq!(
                offers_extension(hello, SUPPORTED_VERSIONS),
                *want,
                "{hello:02x?}"
            );
        }
        assert!(offers(&hello(0, None), 0x002f));
    }
}
