//! TLS client plumbing shared by the SMTP probe and the policy fetch: the ring
//! provider, a certificate verifier that records the presented chain instead of
//! judging it, the handshake (which notes whether the server answered with a
//! ServerHello), and the mapping of rustls errors to [`TlsFailure`].
//!
//! Certificates are judged later, offline, by [`crate::cert`] against the trust roots
//! at a given time; here the chain is only recorded, so that an expired or untrusted
//! certificate still yields a session to report on. Handshake signatures are checked
//! for real, so a recorded chain is one whose key the server proved it holds.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, ready};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    AlertDescription, ClientConfig, DigitallySignedStruct, PeerIncompatible, ProtocolVersion,
    SignatureScheme,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::limits::MAX_CHAIN_CERTS;
use crate::observe::{TlsFailure, TlsSession};

/// The one crypto provider of the tool: ring.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A fresh client configuration (TLS 1.2 and 1.3, SNI on) whose verifier records the
/// server's chain into the returned [`Recording`].
///
/// Fresh per connection so that no session is resumed: a resumed session presents no
/// certificate, and every connection must show us the chain.
pub fn client_config() -> (Arc<ClientConfig>, Recording) {
    let provider = provider();
    let recording = Recording::default();
    let verifier = Arc::new(RecordingVerifier {
        algorithms: provider.signature_verification_algorithms,
        recording: recording.clone(),
    });
    let config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .expect("the ring provider supports TLS 1.2 and 1.3")
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    (Arc::new(config), recording)
}

/// What the verifier of one [`client_config`] saw.
#[derive(Debug, Clone, Default)]
pub struct Recording(Arc<Mutex<Recorded>>);

#[derive(Debug, Default)]
struct Recorded {
    chain: Vec<Vec<u8>>,
    truncated: bool,
}

impl Recording {
    /// The presented chain (leaf first, DER, at most [`MAX_CHAIN_CERTS`]) and whether
    /// the server sent more; empty when no certificate was seen.
    pub fn chain(&self) -> (Vec<Vec<u8>>, bool) {
        let seen = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        (seen.chain.clone(), seen.truncated)
    }
}

#[derive(Debug)]
struct RecordingVerifier {
    algorithms: WebPkiSupportedAlgorithms,
    recording: Recording,
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut seen = self
            .recording
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        seen.chain = std::iter::once(end_entity)
            .chain(intermediates)
            .take(MAX_CHAIN_CERTS)
            .map(|c| c.to_vec())
            .collect();
        seen.truncated = 1 + intermediates.len() > MAX_CHAIN_CERTS;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Runs a TLS handshake over `stream` with SNI `host`, bounded by `deadline`.
///
/// The session is filled in either way: the chain is kept even when the handshake
/// fails after the certificate (a weak key, a bad signature, a dropped connection), and
/// [`TlsSession::server_hello`] tells a server that refused our hello from one that took
/// it.
pub async fn handshake<S>(
    stream: S,
    host: &str,
    deadline: Instant,
) -> (Option<TlsStream<Watched<S>>>, TlsSession)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut session = TlsSession::default();
    let name = match ServerName::try_from(host.to_string()) {
        Ok(name) => name,
        Err(e) => {
            session.error = Some(TlsFailure::ServerName(format!(
                "{host:?} cannot be used as a TLS server name: {e}"
            )));
            return (None, session);
        }
    };
    let (config, recording) = client_config();
    let (stream, server_hello) = Watched::new(stream);
    let connect = TlsConnector::from(config).connect(name, stream);
    let result = tokio::time::timeout_at(deadline, connect).await;
    (session.chain, session.chain_truncated) = recording.chain();
    // Read after the handshake, also when it timed out and took the stream with it.
    session.server_hello = server_hello.load(Ordering::Relaxed);
    match result {
        Ok(Ok(tls)) => {
            let (_, conn) = tls.get_ref();
            session.version = conn.protocol_version().map(version_name);
            session.cipher = conn
                .negotiated_cipher_suite()
                .map(|s| format!("{:?}", s.suite()));
            (Some(tls), session)
        }
        Ok(Err(e)) => {
            session.error = Some(match find_rustls_error(&e) {
                Some(r) => classify(r),
                None => match e.kind() {
                    // tokio-rustls' "tls handshake eof", or our hello written to a
                    // connection the server had closed.
                    io::ErrorKind::UnexpectedEof | io::ErrorKind::BrokenPipe => TlsFailure::Closed,
                    io::ErrorKind::ConnectionReset => TlsFailure::Reset,
                    _ => TlsFailure::Io(e.to_string()),
                },
            });
            (None, session)
        }
        Err(_) => {
            session.error = Some(TlsFailure::Timeout);
            (None, session)
        }
    }
}

/// Octets that show a ServerHello: a record header and the first handshake type.
const HELLO_START: usize = 6;

/// Whether a server's first octets start a ServerHello: a handshake record (type 22,
/// major version 3, not empty) whose first message has type 2 (RFC 8446 §5.1, §4).
/// A HelloRetryRequest is a ServerHello too: that server speaks TLS 1.3.
fn starts_server_hello(first: &[u8]) -> bool {
    matches!(first, [22, 3, _, hi, lo, 2, ..] if [*hi, *lo] != [0, 0])
}

/// The stream under rustls, which notes whether the server's first octets start a
/// ServerHello. rustls' errors do not say how far the handshake got, and an alert, a
/// close, a reset or a reply that is not TLS before the ServerHello all mean the same:
/// the server refused this ClientHello, and may take an older one.
pub struct Watched<S> {
    inner: S,
    /// The server's first octets, until there are [`HELLO_START`] of them.
    first: Vec<u8>,
    server_hello: Arc<AtomicBool>,
}

impl<S> Watched<S> {
    /// The stream, and the flag it sets once the server's first octets show a
    /// ServerHello (shared, as a timed-out handshake drops the stream).
    fn new(inner: S) -> (Watched<S>, Arc<AtomicBool>) {
        let server_hello = Arc::new(AtomicBool::new(false));
        let watched = Watched {
            inner,
            first: Vec::with_capacity(HELLO_START),
            server_hello: server_hello.clone(),
        };
        (watched, server_hello)
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        let result = ready!(Pin::new(&mut this.inner).poll_read(cx, buf));
        let wanted = HELLO_START - this.first.len();
        if wanted > 0 {
            let read = &buf.filled()[before..];
            this.first
                .extend_from_slice(&read[..read.len().min(wanted)]);
            if this.first.len() == HELLO_START {
                this.server_hello
                    .store(starts_server_hello(&this.first), Ordering::Relaxed);
            }
        }
        Poll::Ready(result)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

fn version_name(v: ProtocolVersion) -> String {
    match v {
        ProtocolVersion::TLSv1_3 => "TLSv1.3".into(),
        ProtocolVersion::TLSv1_2 => "TLSv1.2".into(),
        other => format!("{other:?}"),
    }
}

/// The rustls error inside `e`, if any. `io::Error::source()` skips the error it
/// wraps, and reqwest nests two of them, so each `io::Error` is unwrapped by hand.
pub fn find_rustls_error<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a rustls::Error> {
    if let Some(r) = e.downcast_ref::<rustls::Error>() {
        return Some(r);
    }
    if let Some(inner) = e
        .downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
        && let Some(r) = find_rustls_error(inner)
    {
        return Some(r);
    }
    e.source().and_then(find_rustls_error)
}

/// Why a handshake failed, from rustls' error.
pub fn classify(e: &rustls::Error) -> TlsFailure {
    match e {
        // What a TLS 1.0/1.1-only server looks like to a TLS 1.2+ client: it either
        // refuses our hello, or answers with a version we refuse (stack.md §3f).
        rustls::Error::AlertReceived(AlertDescription::ProtocolVersion)
        | rustls::Error::PeerIncompatible(PeerIncompatible::ServerDoesNotSupportTls12Or13) => {
            TlsFailure::NoCommonVersion
        }
        rustls::Error::AlertReceived(a) => TlsFailure::Alert(format!("{a:?}")),
        other => TlsFailure::Other(other.to_string()),
    }
}

/// A TLS server for tests on the other end of a duplex pipe.
#[cfg(test)]
pub(crate) mod test_server {
    use std::sync::Arc;

    use rcgen::{CertificateParams, KeyPair};
    use rustls::ServerConfig;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    use tokio_rustls::TlsAcceptor;

    /// A self-signed certificate for `name` and its key.
    pub fn cert(name: &str) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
        let key = KeyPair::generate().expect("key");
        let cert = CertificateParams::new(vec![name.to_string()])
            .expect("params")
            .self_signed(&key)
            .expect("cert");
        let key = PrivateKeyDer::from(PrivatePkcs8KeyDer::from(key.serialize_der()));
        (cert.der().clone(), key)
    }

    /// An acceptor presenting `chain` with `key`, speaking only `versions`.
    pub fn acceptor(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        versions: &[&'static rustls::SupportedProtocolVersion],
    ) -> TlsAcceptor {
        let config = ServerConfig::builder_with_provider(super::provider())
            .with_protocol_versions(versions)
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("server config");
        TlsAcceptor::from(Arc::new(config))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use rustls::ServerConfig;
    use rustls::server::{ClientHello, ResolvesServerCert};
    use rustls::sign::CertifiedKey;
    use tokio::io::{AsyncReadExt, AsyncWriteExt, duplex};
    use tokio_rustls::TlsAcceptor;

    use super::test_server::{acceptor, cert};
    use super::*;

    const HOST: &str = "mx.example.test";

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    /// Handshakes against `acceptor`, then checks the server got our SNI.
    async fn run(acceptor: TlsAcceptor, host: &str) -> (bool, TlsSession) {
        let (client, server) = duplex(64 * 1024);
        let srv = tokio::spawn(async move {
            let mut tls = acceptor.accept(server).await.ok()?;
            let sni = tls.get_ref().1.server_name().map(str::to_string);
            let mut buf = [0u8; 4];
            tls.read_exact(&mut buf).await.ok()?;
            Some((sni, buf))
        });
        let (tls, session) = handshake(client, host, soon()).await;
        let ok = tls.is_some();
        if let Some(mut tls) = tls {
            tls.write_all(b"ping").await.expect("write");
            tls.flush().await.expect("flush");
            let (sni, buf) = srv.await.expect("server").expect("server side");
            assert_eq!(sni.as_deref(), Some(host));
            assert_eq!(&buf, b"ping");
        }
        (ok, session)
    }

    #[tokio::test]
    async fn records_version_cipher_and_chain() {
        let (leaf, key) = cert(HOST);
        for (versions, version, cipher) in [
            (
                &[&rustls::version::TLS13][..],
                "TLSv1.3",
                "TLS13_AES_256_GCM_SHA384",
            ),
            (
                &[&rustls::version::TLS12][..],
                "TLSv1.2",
                "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            ),
        ] {
            let (ok, s) = run(
                acceptor(vec![leaf.clone()], key.clone_key(), versions),
                HOST,
            )
            .await;
            assert!(ok, "{s:?}");
            assert_eq!(s.version.as_deref(), Some(version));
            assert_eq!(s.cipher.as_deref(), Some(cipher));
            assert_eq!(s.chain, vec![leaf.to_vec()]);
            assert!(!s.chain_truncated);
            assert_eq!(s.error, None);
        }
    }

    #[tokio::test]
    async fn accepts_a_certificate_for_another_name_and_keeps_it() {
        // Judging the name is crate::cert's job: the session must go through.
        let (leaf, key) = cert("other.example.test");
        let (ok, s) = run(
            acceptor(vec![leaf.clone()], key, &[&rustls::version::TLS13]),
            HOST,
        )
        .await;
        assert!(ok);
        assert_eq!(s.chain, vec![leaf.to_vec()]);
    }

    #[tokio::test]
    async fn caps_the_recorded_chain() {
        let (leaf, key) = cert(HOST);
        let chain = vec![leaf.clone(); MAX_CHAIN_CERTS + 2];
        let (ok, s) = run(acceptor(chain, key, &[&rustls::version::TLS13]), HOST).await;
        assert!(ok);
        assert_eq!(s.chain.len(), MAX_CHAIN_CERTS);
        assert!(s.chain_truncated);
    }

    /// Presents a certificate but signs with an unrelated key.
    #[derive(Debug)]
    struct Impostor(Arc<CertifiedKey>);

    impl ResolvesServerCert for Impostor {
        fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
            Some(self.0.clone())
        }
    }

    #[tokio::test]
    async fn handshake_signatures_are_verified() {
        let (leaf, _) = cert(HOST);
        let (_, other_key) = cert(HOST);
        let signer = provider()
            .key_provider
            .load_private_key(other_key)
            .expect("signer");
        for versions in [
            &[&rustls::version::TLS13][..],
            &[&rustls::version::TLS12][..],
        ] {
            let config = ServerConfig::builder_with_provider(provider())
                .with_protocol_versions(versions)
                .expect("versions")
                .with_no_client_auth()
                .with_cert_resolver(Arc::new(Impostor(Arc::new(CertifiedKey::new(
                    vec![leaf.clone()],
                    signer.clone(),
                )))));
            let (ok, s) = run(TlsAcceptor::from(Arc::new(config)), HOST).await;
            assert!(!ok);
            assert!(
                matches!(&s.error, Some(TlsFailure::Other(why)) if why.contains("BadSignature")),
                "{s:?}"
            );
            assert_eq!(s.chain, vec![leaf.to_vec()], "the chain is kept on failure");
            assert!(s.server_hello, "it failed after the ServerHello");
        }
    }

    #[tokio::test]
    async fn a_bad_server_name_is_a_failure_not_a_panic() {
        for host in ["", "bad name", "a..b", "mx.example.test\r\nQUIT"] {
            let (client, _server) = duplex(1024);
            let (tls, s) = handshake(client, host, soon()).await;
            assert!(tls.is_none());
            assert!(
                matches!(s.error, Some(TlsFailure::ServerName(_))),
                "{host:?}: {s:?}"
            );
        }
    }

    #[tokio::test]
    async fn silence_times_out_and_a_close_is_closed() {
        let (client, _server) = duplex(64 * 1024);
        let start = Instant::now();
        let (_, s) = handshake(client, HOST, start + Duration::from_millis(200)).await;
        assert_eq!(s.error, Some(TlsFailure::Timeout));
        assert!(start.elapsed() < Duration::from_secs(2));

        let (client, server) = duplex(64 * 1024);
        drop(server);
        let (_, s) = handshake(client, HOST, soon()).await;
        assert_eq!(s.error, Some(TlsFailure::Closed));
    }

    #[tokio::test]
    async fn a_tls10_server_hello_means_no_common_version() {
        // A canned TLS 1.0 ServerHello (TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA).
        let (client, mut server) = duplex(64 * 1024);
        tokio::spawn(async move {
            let mut hello = [0u8; 512];
            let _ = server.read(&mut hello).await;
            let mut answer = vec![
                0x16, 0x03, 0x01, 0x00, 0x2a, 0x02, 0x00, 0x00, 0x26, 0x03, 0x01,
            ];
            answer.extend_from_slice(&[0x11; 32]);
            answer.extend_from_slice(&[0x00, 0xc0, 0x13, 0x00]);
            let _ = server.write_all(&answer).await;
            let _ = server.read(&mut hello).await;
        });
        let (_, s) = handshake(client, HOST, soon()).await;
        assert_eq!(s.error, Some(TlsFailure::NoCommonVersion));
        assert!(s.server_hello);
    }

    #[test]
    fn a_server_hello_is_a_non_empty_handshake_record_starting_with_type_2() {
        let cases: &[(&[u8], bool)] = &[
            (&[22, 3, 3, 0, 0x7a, 2, 0, 0], true),
            (&[22, 3, 1, 0, 0x2a, 2], true), // TLS 1.0
            (&[22, 3, 3, 0x40, 0, 2], true),
            (&[22, 3, 3, 0, 0, 2], false), // an empty record: 2 is the next header's
            (&[22, 3, 3, 0, 4, 14], false), // ServerHelloDone first
            (&[21, 3, 3, 0, 2, 2, 40], false), // an alert (level 2)
            (&[22, 2, 0, 0, 4, 2], false),
            (b"500 5.5.1 what?\r\n", false),
            (&[22, 3, 3, 0, 0x7a], false), // not enough octets to tell
            (&[], false),
        ];
        for (first, want) in cases {
            assert_eq!(starts_server_hello(first), *want, "{first:?}");
        }
    }

    /// Handshakes with a server that reads the ClientHello and answers `answer`, one octet
    /// per write, then closes.
    async fn answered(answer: &'static [u8]) -> TlsSession {
        let (client, mut server) = duplex(64 * 1024);
        tokio::spawn(async move {
            let mut hello = [0u8; 4096];
            let _ = server.read(&mut hello).await;
            for octet in answer {
                if server.write_all(&[*octet]).await.is_err() {
                    return;
                }
            }
        });
        handshake(client, HOST, soon()).await.1
    }

    #[tokio::test]
    async fn the_session_says_whether_the_server_answered_with_a_server_hello() {
        let (leaf, key) = cert(HOST);
        let (_, s) = run(acceptor(vec![leaf], key, &[&rustls::version::TLS13]), HOST).await;
        assert!(s.server_hello && s.error.is_none(), "{s:?}");

        // A TLS 1.2 ServerHello choosing TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, then a close.
        const HELLO: &[u8] = &[
            22, 3, 3, 0, 42, 2, 0, 0, 38, 3, 3, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
            16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 0, 0xc0, 0x2f, 0,
        ];
        let s = answered(HELLO).await;
        assert_eq!((s.server_hello, s.error), (true, Some(TlsFailure::Closed)));

        for (answer, error) in [
            (&[][..], TlsFailure::Closed),
            (
                &[21, 3, 3, 0, 2, 2, 40][..],
                TlsFailure::Alert("HandshakeFailure".into()),
            ),
        ] {
            let s = answered(answer).await;
            assert_eq!((s.server_hello, s.error), (false, Some(error)));
        }
        let s = answered(b"500 5.5.1 what?\r\n").await;
        assert!(!s.server_hello);
        assert!(matches!(s.error, Some(TlsFailure::Other(_))), "{s:?}");
    }

    #[tokio::test]
    async fn a_reset_is_named() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.expect("accept");
            let mut hello = [0u8; 4096];
            let _ = stream.read(&mut hello).await;
            // Lingering 0 s makes the close a reset.
            let _ = stream.set_zero_linger();
        });
        let client = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let (_, s) = handshake(client, HOST, soon()).await;
        assert_eq!((s.server_hello, s.error), (false, Some(TlsFailure::Reset)));
    }

    #[test]
    fn classifies_rustls_errors() {
        use rustls::Error::*;
        let cases = [
            (
                AlertReceived(AlertDescription::ProtocolVersion),
                TlsFailure::NoCommonVersion,
            ),
            (
                PeerIncompatible(rustls::PeerIncompatible::ServerDoesNotSupportTls12Or13),
                TlsFailure::NoCommonVersion,
            ),
            (
                AlertReceived(AlertDescription::HandshakeFailure),
                TlsFailure::Alert("HandshakeFailure".into()),
            ),
            (
                AlertReceived(AlertDescription::InternalError),
                TlsFailure::Alert("InternalError".into()),
            ),
        ];
        for (e, want) in cases {
            assert_eq!(classify(&e), want, "{e:?}");
        }
        assert!(matches!(classify(&DecryptError), TlsFailure::Other(_)));
    }

    #[test]
    fn finds_rustls_errors_through_nested_io_errors() {
        let inner = rustls::Error::AlertReceived(AlertDescription::ProtocolVersion);
        let e = std::io::Error::other(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            inner.clone(),
        ));
        assert_eq!(find_rustls_error(&e), Some(&inner));
        assert_eq!(find_rustls_error(&std::io::Error::other("plain")), None);
    }
}
