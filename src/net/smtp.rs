//! The SMTP dialogue of one probe (RFC 5321, STARTTLS per RFC 3207), over any stream
//! so that tests can script the server in memory.
//!
//! It sends EHLO, STARTTLS, EHLO again inside TLS, and QUIT, and nothing else ever:
//! no HELO fallback (HELO offers no path to STARTTLS), no MAIL, no RCPT. It records
//! what the server said and stops at the first negative reply or transport failure.
//! Servers may be hostile, so every reply is bounded in time, line length and line
//! count.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::{Instant, timeout_at};

use crate::input::EhloName;
use crate::limits::{MAX_GARBAGE, MAX_LINE, MAX_LINES, QUIT_WAIT};
use crate::net::{legacy, tls};
use crate::observe::{LegacyHello, ProbeFailure, Reply, SmtpProbe, Step};

/// Octets asked of the stream in one read.
const CHUNK: usize = 4096;

/// What a session needs to know.
#[derive(Debug, Clone, Copy)]
pub struct Params<'a> {
    /// The MX host name, sent as SNI.
    pub host: &'a str,
    /// The name sent with EHLO.
    pub ehlo_name: &'a EhloName,
    /// Bound on each step: a command and its whole reply, or the TLS handshake.
    pub timeout: Duration,
    /// Bound on the whole audit of the domain.
    pub deadline: Instant,
}

impl Params<'_> {
    fn step_deadline(&self) -> Instant {
        // checked: a huge --timeout must not overflow the clock.
        Instant::now()
            .checked_add(self.timeout)
            .map_or(self.deadline, |t| t.min(self.deadline))
    }
}

/// Runs banner, EHLO, STARTTLS, the TLS handshake, EHLO inside TLS and QUIT over
/// `stream`. `addr`, `elapsed` and `legacy` are left for the caller.
pub async fn session<S>(stream: S, p: &Params<'_>) -> SmtpProbe
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let mut probe = SmtpProbe::default();
    let mut conn = Conn::new(stream);
    match plain(&mut conn, p, &mut probe).await {
        Ok(true) => {}
        Ok(false) => {
            conn.quit(p).await;
            return probe;
        }
        Err(failure) => {
            probe.failure = Some(failure);
            return probe;
        }
    }
    let (tls, session) = tls::handshake(conn.stream, p.host, p.step_deadline()).await;
    probe.tls = Some(session);
    let Some(tls) = tls else {
        probe.failure = Some((Step::TlsHandshake, ProbeFailure::Tls));
        return probe;
    };
    let mut conn = Conn::new(tls);
    match conn.step(Some(&ehlo(p)), Step::EhloAfterTls, p).await {
        Ok(reply) => probe.ehlo_after_tls = Some(reply),
        Err(failure) => {
            probe.failure = Some(failure);
            return probe;
        }
    }
    conn.quit(p).await;
    probe
}

/// Runs banner, EHLO and STARTTLS like [`session`], then sends
/// [`legacy::client_hello`] offering TLS 1.2 and reports the server's first record.
pub async fn legacy_session<S>(stream: S, p: &Params<'_>) -> LegacyHello
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let mut probe = SmtpProbe::default();
    let mut conn = Conn::new(stream);
    match plain(&mut conn, p, &mut probe).await {
        Ok(true) => {}
        Ok(false) => {
            conn.quit(p).await;
            return LegacyHello::Failed(declined(&probe));
        }
        Err((step, failure)) => {
            return LegacyHello::Failed(format!("{}: {failure}", step.as_str()));
        }
    }
    let deadline = p.step_deadline();
    let hello = legacy::client_hello(0x0303, p.host);
    match conn.send(&hello, deadline).await {
        Ok(()) => conn.tls_answer(deadline).await,
        Err(failure) => LegacyHello::Failed(failure.to_string()),
    }
}

/// Banner, EHLO and STARTTLS, recorded into `probe`. True when the server accepted
/// STARTTLS; false when a reply ended the dialogue (a negative reply, or no STARTTLS
/// offered).
async fn plain<S>(
    conn: &mut Conn<S>,
    p: &Params<'_>,
    probe: &mut SmtpProbe,
) -> Result<bool, (Step, ProbeFailure)>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let banner = conn.step(None, Step::Banner, p).await?;
    let go = banner.is_positive();
    probe.banner = Some(banner);
    if !go {
        return Ok(false);
    }
    let reply = conn.step(Some(&ehlo(p)), Step::Ehlo, p).await?;
    let go = reply.is_positive() && reply.ehlo_keywords().iter().any(|k| k == "STARTTLS");
    probe.ehlo = Some(reply);
    if !go {
        return Ok(false);
    }
    let reply = conn.step(Some(b"STARTTLS\r\n"), Step::Starttls, p).await?;
    let go = reply.code == 220;
    probe.starttls = Some(reply);
    if go {
        // Bytes sent before the handshake must not be taken as part of it (RFC 3207
        // §4.2 and §6, the STARTTLS command injection of CVE-2011-0411): they are
        // kept for the report and dropped.
        probe.injected = std::mem::take(&mut conn.buf);
    }
    Ok(go)
}

fn ehlo(p: &Params<'_>) -> Vec<u8> {
    format!("EHLO {}\r\n", p.ehlo_name).into_bytes()
}

/// Why the dialogue ended before the legacy hello could be sent.
fn declined(probe: &SmtpProbe) -> String {
    match (&probe.banner, &probe.ehlo, &probe.starttls) {
        (_, _, Some(r)) => format!("STARTTLS was answered {}", r.code),
        (_, Some(r), None) if r.is_positive() => "STARTTLS is not offered".into(),
        (_, Some(r), None) => format!("EHLO was answered {}", r.code),
        (Some(r), None, None) => format!("the greeting was {}", r.code),
        (None, None, None) => "no greeting".into(),
    }
}

/// A stream and the bytes read from it but not yet consumed.
struct Conn<S> {
    stream: S,
    /// At most one partial line of [`MAX_LINE`] octets plus one read.
    buf: Vec<u8>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<S> {
    fn new(stream: S) -> Self {
        Conn {
            stream,
            buf: Vec::new(),
        }
    }

    /// Sends `command` (if any) and reads the reply, both within one step deadline.
    async fn step(
        &mut self,
        command: Option<&[u8]>,
        step: Step,
        p: &Params<'_>,
    ) -> Result<Reply, (Step, ProbeFailure)> {
        let deadline = p.step_deadline();
        if let Some(command) = command {
            self.send(command, deadline).await.map_err(|f| (step, f))?;
        }
        self.reply(deadline).await.map_err(|f| (step, f))
    }

    /// Says QUIT and closes. The reply is not waited for: the probe has its answers, and
    /// nothing the server says now changes the verdict.
    async fn quit(&mut self, p: &Params<'_>) {
        let deadline = p.step_deadline().min(Instant::now() + QUIT_WAIT);
        if self.send(b"QUIT\r\n", deadline).await.is_ok() {
            let _ = timeout_at(deadline, self.stream.shutdown()).await;
        }
    }

    async fn send(&mut self, bytes: &[u8], deadline: Instant) -> Result<(), ProbeFailure> {
        let write = async {
            self.stream.write_all(bytes).await?;
            // A TLS stream only sends on flush.
            self.stream.flush().await
        };
        match timeout_at(deadline, write).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(io_failure(&e)),
            Err(_) => Err(ProbeFailure::Timeout),
        }
    }

    /// One whole reply, single- or multi-line (RFC 5321 §4.2.1).
    async fn reply(&mut self, deadline: Instant) -> Result<Reply, ProbeFailure> {
        let mut code = None;
        let mut lines = Vec::new();
        loop {
            let line = self.line(deadline).await?;
            let garbage = || ProbeFailure::Garbage(line[..line.len().min(MAX_GARBAGE)].to_vec());
            let (c, last, text) = parse_line(&line).ok_or_else(garbage)?;
            if *code.get_or_insert(c) != c {
                return Err(garbage());
            }
            lines.push(text.to_vec());
            if last {
                return Ok(Reply { code: c, lines });
            }
            if lines.len() >= MAX_LINES {
                return Err(ProbeFailure::TooManyLines);
            }
        }
    }

    /// One line without its ending. A bare LF ends a line too: some servers send it,
    /// and it is unambiguous.
    async fn line(&mut self, deadline: Instant) -> Result<Vec<u8>, ProbeFailure> {
        loop {
            if let Some(end) = self.buf.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.buf.drain(..=end).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return if line.len() > MAX_LINE {
                    Err(ProbeFailure::LineTooLong)
                } else {
                    Ok(line)
                };
            }
            // One more octet for the CR of a line of exactly MAX_LINE octets.
            if self.buf.len() > MAX_LINE + 1 {
                return Err(ProbeFailure::LineTooLong);
            }
            self.fill(CHUNK, deadline).await?;
        }
    }

    /// The server's first TLS record after our hello, read whole or given up on.
    async fn tls_answer(&mut self, deadline: Instant) -> LegacyHello {
        loop {
            let full = self.buf.len() >= crate::limits::MAX_ANSWER;
            if let Some(answer) = legacy::parse_answer(&self.buf, full) {
                return answer;
            }
            let room = crate::limits::MAX_ANSWER - self.buf.len();
            if let Err(failure) = self.fill(room, deadline).await {
                // Nothing more will come: what was read may already say enough.
                return match legacy::parse_answer(&self.buf, true) {
                    Some(LegacyHello::Failed(_)) | None => LegacyHello::Failed(failure.to_string()),
                    Some(answer) => answer,
                };
            }
        }
    }

    /// Reads once, at most `room` octets, into the buffer.
    async fn fill(&mut self, room: usize, deadline: Instant) -> Result<(), ProbeFailure> {
        let mut chunk = [0u8; CHUNK];
        let chunk = &mut chunk[..room.min(CHUNK)];
        match timeout_at(deadline, self.stream.read(chunk)).await {
            Ok(Ok(0)) => Err(ProbeFailure::Closed),
            Ok(Ok(n)) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(())
            }
            Ok(Err(e)) => Err(io_failure(&e)),
            Err(_) => Err(ProbeFailure::Timeout),
        }
    }
}

/// A transport error in plain words where its kind says what happened.
fn io_failure(e: &std::io::Error) -> ProbeFailure {
    match e.kind() {
        std::io::ErrorKind::ConnectionReset => ProbeFailure::Reset,
        // Written to a connection the server had closed.
        std::io::ErrorKind::BrokenPipe => ProbeFailure::Closed,
        _ => ProbeFailure::Io(e.to_string()),
    }
}

/// A reply line's code, whether it is the last line, and its text:
/// `Reply-code [ SP textstring ]` ends a reply, `Reply-code "-" [ textstring ]`
/// continues it, and `Reply-code = %x32-35 %x30-35 %x30-39` (RFC 5321 §4.2).
fn parse_line(line: &[u8]) -> Option<(u16, bool, &[u8])> {
    let (code, rest) = line.split_at_checked(3)?;
    let [a @ b'2'..=b'5', b @ b'0'..=b'5', c @ b'0'..=b'9'] = *code else {
        return None;
    };
    let code = [a, b, c]
        .iter()
        .fold(0, |n, d| n * 10 + u16::from(d - b'0'));
    match rest.split_first() {
        None => Some((code, true, rest)),
        Some((b' ', text)) => Some((code, true, text)),
        Some((b'-', text)) => Some((code, false, text)),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;

    use std::sync::LazyLock;

    use proptest::prelude::*;
    use proptest::test_runner::TestCaseError;
    use tokio::io::{AsyncBufReadExt, BufReader, DuplexStream, duplex};

    use super::*;
    use crate::net::tls::test_server::{acceptor, cert};
    use crate::observe::TlsFailure;

    const HOST: &str = "mx.example.test";
    const EHLO: &str = "EHLO client.example";
    static CLIENT: LazyLock<EhloName> =
        LazyLock::new(|| "client.example".parse().expect("an EHLO name"));

    fn params(timeout: Duration) -> Params<'static> {
        Params {
            host: HOST,
            ehlo_name: &CLIENT,
            timeout,
            deadline: Instant::now() + Duration::from_secs(10),
        }
    }

    /// The scripted server's end of the pipe.
    struct Peer<T> {
        io: BufReader<T>,
    }

    impl<T: AsyncRead + AsyncWrite + Unpin> Peer<T> {
        fn new(io: T) -> Self {
            Peer {
                io: BufReader::new(io),
            }
        }

        async fn send(&mut self, s: &str) {
            self.io
                .get_mut()
                .write_all(s.as_bytes())
                .await
                .expect("send");
            self.io.get_mut().flush().await.expect("flush");
        }

        /// Reads one command and checks it.
        async fn expect(&mut self, want: &str) {
            let mut line = String::new();
            self.io.read_line(&mut line).await.expect("read");
            assert_eq!(line, format!("{want}\r\n"));
        }

        /// The lines the client sends until it closes.
        async fn rest(mut self) -> Vec<String> {
            let mut lines = Vec::new();
            loop {
                let mut line = String::new();
                match self.io.read_line(&mut line).await {
                    Ok(0) | Err(_) => return lines,
                    Ok(_) => lines.push(line.trim_end().to_string()),
                }
            }
        }

        /// The stream, for the TLS handshake; the client must not have sent more.
        fn into_inner(self) -> T {
            assert!(
                self.io.buffer().is_empty(),
                "the client sent before the handshake"
            );
            self.io.into_inner()
        }

        /// The greeting, an EHLO reply offering STARTTLS, and STARTTLS's 220 `then`.
        async fn up_to_starttls(&mut self, then: &str) {
            self.send("220 mx.example.test ESMTP\r\n").await;
            self.expect(EHLO).await;
            self.send("250-mx.example.test\r\n250-PIPELINING\r\n250 starttls\r\n")
                .await;
            self.expect("STARTTLS").await;
            self.send(&format!("220 2.0.0 ready\r\n{then}")).await;
        }

        /// QUIT, answered if the client is still there (it does not wait for the reply);
        /// then nothing more.
        async fn quit(mut self) -> Vec<String> {
            self.expect("QUIT").await;
            let _ = self.io.get_mut().write_all(b"221 bye\r\n").await;
            self.rest().await
        }
    }

    /// Runs [`session`] against `script`, returning what both ends saw.
    async fn run<F, Fut, T>(p: Params<'static>, script: F) -> (SmtpProbe, T)
    where
        F: FnOnce(Peer<DuplexStream>) -> Fut,
        Fut: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let (client, server) = duplex(64 * 1024);
        let server = tokio::spawn(script(Peer::new(server)));
        let probe = session(client, &p).await;
        (probe, server.await.expect("server script"))
    }

    fn reply(code: u16, lines: &[&str]) -> Reply {
        Reply {
            code,
            lines: lines.iter().map(|l| l.as_bytes().to_vec()).collect(),
        }
    }

    #[tokio::test]
    async fn a_good_session_goes_through_tls_with_exactly_four_commands() {
        let (leaf, key) = cert(HOST);
        let tls = acceptor(vec![leaf.clone()], key, &[&rustls::version::TLS13]);
        let (probe, rest) = run(params(Duration::from_secs(5)), move |mut peer| async move {
            peer.up_to_starttls("").await;
            let stream = tls.accept(peer.into_inner()).await.expect("accept");
            let mut peer = Peer::new(stream);
            peer.expect(EHLO).await;
            peer.send("250-mx.example.test\r\n250 SIZE 1000\r\n").await;
            peer.quit().await
        })
        .await;
        assert_eq!(rest, Vec::<String>::new(), "nothing after QUIT");
        assert_eq!(probe.failure, None);
        assert_eq!(probe.banner, Some(reply(220, &["mx.example.test ESMTP"])));
        let ehlo = probe.ehlo.expect("ehlo");
        assert_eq!(ehlo.ehlo_keywords(), ["PIPELINING", "STARTTLS"]);
        assert_eq!(probe.starttls, Some(reply(220, &["2.0.0 ready"])));
        assert!(probe.injected.is_empty());
        let tls = probe.tls.expect("tls");
        assert_eq!(tls.error, None);
        assert_eq!(tls.version.as_deref(), Some("TLSv1.3"));
        assert_eq!(tls.chain, vec![leaf.to_vec()]);
        assert_eq!(
            probe.ehlo_after_tls,
            Some(reply(250, &["mx.example.test", "SIZE 1000"]))
        );
    }

    #[tokio::test]
    async fn bytes_after_the_220_are_recorded_and_not_fed_to_tls() {
        let (leaf, key) = cert(HOST);
        let tls = acceptor(vec![leaf], key, &[&rustls::version::TLS13]);
        let (probe, _) = run(params(Duration::from_secs(5)), move |mut peer| async move {
            peer.up_to_starttls("250 injected\r\n").await;
            let stream = tls.accept(peer.into_inner()).await.expect("accept");
            let mut peer = Peer::new(stream);
            peer.expect(EHLO).await;
            peer.send("250 mx.example.test\r\n").await;
            peer.quit().await
        })
        .await;
        assert_eq!(probe.injected, b"250 injected\r\n");
        assert_eq!(probe.failure, None);
        assert_eq!(probe.ehlo_after_tls, Some(reply(250, &["mx.example.test"])));
    }

    #[tokio::test]
    async fn negative_replies_end_the_session_with_a_quit() {
        let p = params(Duration::from_secs(5));

        // STARTTLS not offered.
        let (probe, rest) = run(p, |mut peer| async move {
            peer.send("220 mx ESMTP\r\n").await;
            peer.expect(EHLO).await;
            peer.send("250-mx\r\n250-STARTTLSX\r\n250 SIZE\r\n").await;
            peer.quit().await
        })
        .await;
        assert!(rest.is_empty());
        assert_eq!(probe.failure, None);
        assert!(probe.ehlo.is_some());
        assert_eq!((probe.starttls, probe.tls), (None, None));

        // STARTTLS refused.
        let (probe, rest) = run(p, |mut peer| async move {
            peer.send("220 mx ESMTP\r\n").await;
            peer.expect(EHLO).await;
            peer.send("250-mx\r\n250 STARTTLS\r\n").await;
            peer.expect("STARTTLS").await;
            peer.send("454 4.7.0 TLS not available\r\n").await;
            peer.quit().await
        })
        .await;
        assert!(rest.is_empty());
        assert_eq!(probe.failure, None);
        assert_eq!(
            probe.starttls,
            Some(reply(454, &["4.7.0 TLS not available"]))
        );
        assert_eq!(probe.tls, None);

        // EHLO rejected: QUIT follows, no HELO.
        let (probe, rest) = run(p, |mut peer| async move {
            peer.send("220 mx ESMTP\r\n").await;
            peer.expect(EHLO).await;
            peer.send("500 5.5.1 command unrecognized\r\n").await;
            peer.quit().await
        })
        .await;
        assert!(rest.is_empty());
        assert_eq!(probe.failure, None);
        assert_eq!(probe.ehlo.map(|r| r.code), Some(500));
        assert_eq!(probe.starttls, None);

        // The greeting refuses service (RFC 5321 §3.1).
        let (probe, rest) = run(p, |mut peer| async move {
            peer.send("554 5.7.1 no service\r\n").await;
            peer.quit().await
        })
        .await;
        assert!(rest.is_empty());
        assert_eq!(probe.failure, None);
        assert_eq!(probe.banner.map(|r| r.code), Some(554));
        assert_eq!(probe.ehlo, None);
    }

    #[tokio::test]
    async fn the_reply_to_quit_is_not_waited_for() {
        let start = Instant::now();
        let (probe, rest) = run(params(Duration::from_secs(30)), |mut peer| async move {
            peer.send("554 go away\r\n").await;
            peer.expect("QUIT").await;
            // Never answered: the session is over all the same.
            peer.rest().await
        })
        .await;
        assert!(rest.is_empty());
        assert_eq!(probe.banner.map(|r| r.code), Some(554));
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "{:?}",
            start.elapsed()
        );
    }

    /// Sends `bytes` as the whole server side and reads one reply.
    async fn reply_of(bytes: Vec<u8>) -> Result<Reply, ProbeFailure> {
        let (client, mut server) = duplex(64 * 1024);
        tokio::spawn(async move {
            // The client stops reading early on some inputs.
            let _ = server.write_all(&bytes).await;
        });
        Conn::new(client)
            .reply(Instant::now() + Duration::from_secs(5))
            .await
    }

    #[tokio::test]
    async fn replies_are_parsed_within_bounds() {
        let long = |n: usize| format!("220 {}\r\n", "a".repeat(n - 4));
        let lines = |n: usize| "250-x\r\n".repeat(n - 1) + "250 x\r\n";
        let good = [
            ("220 mx ESMTP\r\n".to_string(), reply(220, &["mx ESMTP"])),
            ("220 mx ESMTP\n".into(), reply(220, &["mx ESMTP"])), // bare LF
            ("220\r\n".into(), reply(220, &[""])),                // no text
            (
                "250-a\r\n250-\r\n250 c\r\n".into(),
                reply(250, &["a", "", "c"]),
            ),
            ("250-a\n250 b\r\n".into(), reply(250, &["a", "b"])), // mixed endings
            ("554 no\r\n250 next\r\n".into(), reply(554, &["no"])), // one reply only
            ("220 a\rb\r\n".into(), reply(220, &["a\rb"])),
        ];
        for (input, want) in good {
            assert_eq!(
                reply_of(input.clone().into_bytes()).await,
                Ok(want),
                "{input:?}"
            );
        }
        assert_eq!(
            reply_of(long(MAX_LINE).into_bytes()).await.map(|r| r.code),
            Ok(220)
        );
        assert_eq!(
            reply_of(lines(MAX_LINES).into_bytes())
                .await
                .map(|r| r.lines.len()),
            Ok(MAX_LINES)
        );

        let garbage = |s: &[u8]| Err(ProbeFailure::Garbage(s.to_vec()));
        let bad = [
            (
                b"HTTP/1.1 400 Bad Request\r\n".to_vec(),
                garbage(b"HTTP/1.1 400 Bad Request"),
            ),
            (b"220-a\r\n250 b\r\n".to_vec(), garbage(b"250 b")), // codes differ
            (b"22 short\r\n".to_vec(), garbage(b"22 short")),
            (b"220x\r\n".to_vec(), garbage(b"220x")), // no separator
            (b"620 x\r\n".to_vec(), garbage(b"620 x")), // first digit over 5
            (b"260 x\r\n".to_vec(), garbage(b"260 x")), // second digit over 5
            (b"\r\n".to_vec(), garbage(b"")),
            ([b'x'; 200].to_vec(), Err(ProbeFailure::Closed)), // no line end before EOF
            (
                [[b'x'; 200].as_slice(), b"\n"].concat(),
                garbage(&[b'x'; MAX_GARBAGE]),
            ),
            (b"".to_vec(), Err(ProbeFailure::Closed)),
            (b"220-more\r\n".to_vec(), Err(ProbeFailure::Closed)), // EOF mid-reply
            (
                long(MAX_LINE + 1).into_bytes(),
                Err(ProbeFailure::LineTooLong),
            ),
            (
                lines(MAX_LINES + 1).into_bytes(),
                Err(ProbeFailure::TooManyLines),
            ),
            (
                [b"220 ".as_slice(), &vec![b'a'; 1 << 20]].concat(), // 1 MiB, no line end
                Err(ProbeFailure::LineTooLong),
            ),
        ];
        for (input, want) in bad {
            let shown = String::from_utf8_lossy(&input[..input.len().min(40)]).into_owned();
            assert_eq!(reply_of(input).await, want, "{shown:?}");
        }
    }

    /// Reads one reply from a server that sends `bytes`, forever when `endless`, and
    /// closes; on a runtime of its own, as proptest cases are not async.
    fn read_reply(bytes: Vec<u8>, endless: bool) -> Result<Reply, ProbeFailure> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let (client, mut server) = duplex(64 * 1024);
            tokio::spawn(async move {
                // The client stops reading when it has its answer.
                while server.write_all(&bytes).await.is_ok() && endless && !bytes.is_empty() {}
            });
            Conn::new(client)
                .reply(Instant::now() + Duration::from_secs(2))
                .await
        })
    }

    /// Bytes that look like replies more often than random ones do: lines of a code (or
    /// something like one), a separator, any octets, and a line ending or none.
    fn reply_like() -> impl Strategy<Value = Vec<u8>> {
        let code = prop_oneof!["[2-5][0-5][0-9]", "[0-9]{0,4}"];
        let sep = prop::sample::select(vec!["", " ", "-", "\t"]);
        let text = prop::collection::vec(any::<u8>(), 0..40);
        let end = prop::sample::select(vec!["\r\n", "\n", "\r", ""]);
        let line = (code, sep, text, end)
            .prop_map(|(c, s, t, e)| [c.as_bytes(), s.as_bytes(), &t, e.as_bytes()].concat());
        prop::collection::vec(line, 0..120).prop_map(|lines| lines.concat())
    }

    /// One well-formed line, last or not: repeated forever, a reply that never ends.
    fn one_line() -> impl Strategy<Value = Vec<u8>> {
        (
            "[2-5][0-5][0-9][ -][ -~]{0,60}",
            prop::sample::select(vec!["\r\n", "\n"]),
        )
            .prop_map(|(line, end)| format!("{line}{end}").into_bytes())
    }

    fn any_bytes() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..10_000),
            reply_like(),
            one_line()
        ]
    }

    /// What every outcome of reading a reply must respect.
    fn within_bounds(read: &Result<Reply, ProbeFailure>) -> Result<(), TestCaseError> {
        match read {
            Ok(r) => {
                prop_assert!((200..600).contains(&r.code), "{}", r.code);
                prop_assert!(!r.lines.is_empty() && r.lines.len() <= MAX_LINES);
                prop_assert!(
                    r.lines
                        .iter()
                        .all(|l| l.len() <= MAX_LINE && !l.contains(&b'\n'))
                );
            }
            Err(ProbeFailure::Garbage(g)) => prop_assert!(g.len() <= MAX_GARBAGE),
            // The input ended, or was endless: either way the reader decides without the clock.
            Err(ProbeFailure::Timeout) => prop_assert!(false, "the reader waited for more"),
            Err(_) => {}
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn the_reply_reader_ends_within_bounds_on_any_bytes(bytes in any_bytes()) {
            within_bounds(&read_reply(bytes, false))?;
        }

        /// No input keeps the reader reading: the line and line-count caps end it.
        #[test]
        fn the_reply_reader_ends_on_endless_input(bytes in any_bytes()) {
            within_bounds(&read_reply(bytes, true))?;
        }

        #[test]
        fn a_printed_reply_reads_back_the_same(
            digits in (2u16..=5, 0u16..=5, 0u16..=9),
            lines in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 1..=MAX_LINES),
            lf_only in any::<bool>(),
        ) {
            let code = digits.0 * 100 + digits.1 * 10 + digits.2;
            // A line's text is any octets but LF, and cannot end in CR (that is the CRLF's).
            let lines: Vec<Vec<u8>> = lines
                .into_iter()
                .map(|mut l| {
                    l.retain(|b| *b != b'\n');
                    while l.last() == Some(&b'\r') {
                        l.pop();
                    }
                    l
                })
                .collect();
            let mut printed = Vec::new();
            for (i, text) in lines.iter().enumerate() {
                let sep = if i + 1 == lines.len() { " " } else { "-" };
                printed.extend_from_slice(format!("{code}{sep}").as_bytes());
                printed.extend_from_slice(text);
                printed.extend_from_slice(if lf_only { b"\n" } else { b"\r\n" });
            }
            prop_assert_eq!(read_reply(printed, false), Ok(Reply { code, lines }));
        }
    }

    #[test]
    fn parse_line_follows_the_grammar() {
        type Parsed = Option<(u16, bool, &'static [u8])>;
        let cases: &[(&[u8], Parsed)] = &[
            (b"250 ok", Some((250, true, b"ok"))),
            (b"250-ok", Some((250, false, b"ok"))),
            (b"250", Some((250, true, b""))),
            (b"250-", Some((250, false, b""))),
            (b"559 x", Some((559, true, b"x"))),
            (b"199 x", None), // first digit under 2
            (b"2a0 x", None),
            (b"25", None),
            (b"250\tok", None),
            (b"", None),
        ];
        for (line, want) in cases {
            assert_eq!(
                parse_line(line),
                *want,
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[tokio::test]
    async fn transport_failures_are_recorded_at_their_step() {
        let p = params(Duration::from_secs(5));
        let (probe, _) = run(p, |mut peer| async move {
            peer.send("220 mx ESMTP\r\n").await;
            peer.expect(EHLO).await;
            while peer.io.get_mut().write_all(b"250-x\r\n").await.is_ok() {}
        })
        .await;
        assert_eq!(
            probe.failure,
            Some((Step::Ehlo, ProbeFailure::TooManyLines))
        );
        assert!(probe.ehlo.is_none());

        let (probe, _) = run(p, |mut peer| async move {
            let _ = peer.io.get_mut().write_all(&vec![b'2'; 1 << 20]).await;
        })
        .await;
        assert_eq!(
            probe.failure,
            Some((Step::Banner, ProbeFailure::LineTooLong))
        );

        let (probe, rest) = run(p, |mut peer| async move {
            peer.send("SSH-2.0-OpenSSH_9.2\r\n").await;
            peer.rest().await
        })
        .await;
        assert!(rest.is_empty(), "no QUIT after garbage");
        assert_eq!(
            probe.failure,
            Some((
                Step::Banner,
                ProbeFailure::Garbage(b"SSH-2.0-OpenSSH_9.2".to_vec())
            ))
        );

        let (probe, _) = run(p, |mut peer| async move {
            peer.send("220 mx ESMTP\r\n").await;
            peer.expect(EHLO).await;
        })
        .await;
        assert_eq!(probe.failure, Some((Step::Ehlo, ProbeFailure::Closed)));
    }

    #[tokio::test]
    async fn a_dripped_banner_ends_at_the_step_timeout() {
        let start = Instant::now();
        let (probe, _) = run(params(Duration::from_millis(300)), |mut peer| async move {
            for b in b"220-".iter().chain(&[b'x'; 100]) {
                if peer.io.get_mut().write_all(&[*b]).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        assert_eq!(probe.failure, Some((Step::Banner, ProbeFailure::Timeout)));
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(300) && took < Duration::from_millis(1500),
            "{took:?}"
        );
    }

    #[tokio::test]
    async fn the_domain_deadline_cuts_a_step_short() {
        let start = Instant::now();
        let p = Params {
            deadline: start + Duration::from_millis(200),
            ..params(Duration::MAX) // and an absurd timeout does not overflow
        };
        let (probe, _) = run(p, |peer| peer.rest()).await;
        assert_eq!(probe.failure, Some((Step::Banner, ProbeFailure::Timeout)));
        assert!(start.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn a_close_after_starttls_or_a_stalled_handshake_fails_the_handshake() {
        let (probe, _) = run(params(Duration::from_secs(5)), |mut peer| async move {
            peer.up_to_starttls("").await;
        })
        .await;
        assert_eq!(probe.failure, Some((Step::TlsHandshake, ProbeFailure::Tls)));
        assert_eq!(probe.tls.and_then(|t| t.error), Some(TlsFailure::Closed));

        let start = Instant::now();
        let (probe, _) = run(params(Duration::from_millis(300)), |mut peer| async move {
            peer.up_to_starttls("").await;
            // Swallow the ClientHello and never answer.
            let mut sink = Vec::new();
            let _ = peer.io.read_to_end(&mut sink).await;
        })
        .await;
        assert_eq!(probe.failure, Some((Step::TlsHandshake, ProbeFailure::Tls)));
        assert_eq!(probe.tls.and_then(|t| t.error), Some(TlsFailure::Timeout));
        assert!(start.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn sessions_can_be_spawned() {
        fn send<T: Send>(_: &T) {}
        let p = params(Duration::MAX);
        let (a, b) = duplex(1);
        send(&session(a, &p));
        send(&legacy_session(b, &p));
    }

    /// Runs [`legacy_session`] against `script`.
    async fn run_legacy<F, Fut>(p: Params<'static>, script: F) -> LegacyHello
    where
        F: FnOnce(Peer<DuplexStream>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (client, server) = duplex(64 * 1024);
        let server = tokio::spawn(script(Peer::new(server)));
        let answer = legacy_session(client, &p).await;
        server.await.expect("server script");
        answer
    }

    /// Reads the client's ClientHello record and returns its client_version.
    async fn read_hello(peer: &mut Peer<DuplexStream>) -> u16 {
        let mut header = [0u8; 5];
        peer.io.read_exact(&mut header).await.expect("header");
        let mut record = vec![0; usize::from(u16::from_be_bytes([header[3], header[4]]))];
        peer.io.read_exact(&mut record).await.expect("record");
        assert_eq!((header[0], record[0]), (22, 1), "a ClientHello");
        u16::from_be_bytes([record[4], record[5]])
    }

    #[tokio::test]
    async fn the_legacy_probe_reads_the_server_hello_after_starttls() {
        let p = params(Duration::from_secs(5));
        let answer = run_legacy(p, |mut peer| async move {
            peer.up_to_starttls("").await;
            assert_eq!(read_hello(&mut peer).await, 0x0303);
            let mut hello = vec![
                0x16, 0x03, 0x01, 0x00, 0x2a, 0x02, 0x00, 0x00, 0x26, 0x03, 0x01,
            ];
            hello.extend_from_slice(&[0x11; 32]);
            hello.extend_from_slice(&[0x00, 0xc0, 0x14, 0x00]);
            // Dripped in two parts: the reader must wait for the whole record.
            peer.send("\x16\x03").await;
            tokio::time::sleep(Duration::from_millis(20)).await;
            peer.io
                .get_mut()
                .write_all(&hello[2..])
                .await
                .expect("send");
        })
        .await;
        assert_eq!(
            answer,
            LegacyHello::ServerHello {
                version: 0x0301,
                cipher: 0xc014,
                chain: vec![],
            }
        );

        let answer = run_legacy(p, |mut peer| async move {
            peer.up_to_starttls("").await;
            read_hello(&mut peer).await;
            peer.io
                .get_mut()
                .write_all(&[21, 3, 1, 0, 2, 2, 70])
                .await
                .expect("send");
        })
        .await;
        assert_eq!(
            answer,
            LegacyHello::Alert {
                level: 2,
                description: 70
            }
        );
    }

    #[tokio::test]
    async fn the_legacy_probe_fails_softly() {
        let p = params(Duration::from_secs(5));
        let failed = |why: &str| LegacyHello::Failed(why.into());

        let answer = run_legacy(p, |mut peer| async move {
            peer.send("220 mx ESMTP\r\n").await;
            peer.expect(EHLO).await;
            peer.send("250 mx\r\n").await;
            assert!(peer.quit().await.is_empty());
        })
        .await;
        assert_eq!(answer, failed("STARTTLS is not offered"));

        let answer = run_legacy(p, |mut peer| async move {
            peer.send("220 mx ESMTP\r\n").await;
            peer.expect(EHLO).await;
            peer.send("250-mx\r\n250 STARTTLS\r\n").await;
            peer.expect("STARTTLS").await;
            peer.send("454 no\r\n").await;
            assert!(peer.quit().await.is_empty());
        })
        .await;
        assert_eq!(answer, failed("STARTTLS was answered 454"));

        let answer = run_legacy(p, |mut peer| async move {
            peer.send("421 busy\r\n").await;
            assert!(peer.quit().await.is_empty());
        })
        .await;
        assert_eq!(answer, failed("the greeting was 421"));

        let answer = run_legacy(p, |mut peer| async move {
            peer.send("garbage\r\n").await;
        })
        .await;
        assert_eq!(
            answer,
            failed("waiting for the greeting: not an SMTP reply: \"garbage\"")
        );

        let answer = run_legacy(p, |mut peer| async move {
            peer.up_to_starttls("").await;
            read_hello(&mut peer).await;
            peer.send("500 5.5.1 what?\r\n").await;
        })
        .await;
        assert!(
            matches!(&answer, LegacyHello::Failed(why) if why.starts_with("not a TLS answer")),
            "{answer:?}"
        );

        let answer = run_legacy(p, |mut peer| async move {
            peer.up_to_starttls("").await;
            read_hello(&mut peer).await;
        })
        .await;
        assert_eq!(answer, failed("the server closed the connection"));

        let answer = run_legacy(params(Duration::from_millis(200)), |mut peer| async move {
            peer.up_to_starttls("").await;
            read_hello(&mut peer).await;
            peer.rest().await;
        })
        .await;
        assert_eq!(answer, failed("timed out"));
    }
}
