//! TLS versions and legacy servers, handshake alerts and DANE TLSA matching on MX hosts.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};

use crate::lab::{Cert, HangUp, Smtp, TestCa, Tlsa, World};
use crate::support::{
    audit, fired, fires, mx_at, only_ehlo_starttls_quit, refused_now, silent, summary,
};

#[tokio::test]
async fn smtp_tls_handshake_names_the_alert_the_server_sent() {
    for (description, name) in [(40, "HandshakeFailure"), (80, "InternalError")] {
        let mut w = World::new();
        let mut d = w.good_deployment("example.test");
        d.mx[0].addrs[0].smtp = Smtp::good().tls_alert(description);
        let run = w.start(d).await;
        let report = audit(&run, "example.test").await;
        let f = fires(&report, "smtp-tls-handshake");
        assert_eq!(f.subject, mx_at("mx1.example.test", "192.0.2.10"));
        assert_eq!(
            f.message,
            format!(
                "the TLS handshake with mx1.example.test at 192.0.2.10 failed: the server sent the alert {name}; a legacy TLS 1.0-1.2 ClientHello on a second connection failed too: the server sent the alert {name}"
            )
        );
        silent(&report, "smtp-tls-version-min");
        refused_now(&report, "mx1.example.test");
        assert_eq!(summary(&report).len(), 2, "{:#?}", summary(&report));
        assert_eq!(report.readiness.ready, Some(false));
        // A second connection asks with a legacy hello, which gets the alert too.
        assert_eq!(run.smtp("192.0.2.10").connections(), 2);
        only_ehlo_starttls_quit(&run);
    }
}

#[tokio::test]
async fn smtp_tls_version_min_names_the_best_legacy_version() {
    for (version, name) in [(0x0301, "TLS 1.0"), (0x0302, "TLS 1.1")] {
        let mut w = World::new();
        let mut d = w.good_deployment("example.test");
        d.mx[0].addrs[1].smtp = Smtp::good().legacy_tls(version);
        let run = w.start(d).await;
        let report = audit(&run, "example.test").await;
        let f = fires(&report, "smtp-tls-version-min");
        assert_eq!(f.subject, mx_at("mx1.example.test", "2001:db8::10"));
        assert_eq!(
            f.message,
            format!(
                "mx1.example.test at 2001:db8::10 speaks at most {name} (it chose TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA for a legacy ClientHello); senders require TLS 1.2 or 1.3"
            )
        );
        silent(&report, "smtp-tls-handshake");
        refused_now(&report, "mx1.example.test");
        assert_eq!(summary(&report).len(), 2, "{:#?}", summary(&report));
        assert_eq!(report.readiness.ready, Some(false));
        // The rustls handshake, then the hand-made ClientHello on a second connection.
        assert_eq!(run.smtp("2001:db8::10").connections(), 2);
        only_ehlo_starttls_quit(&run);
    }
}

#[tokio::test]
async fn smtp_tls_version_min_fires_for_a_protocol_version_alert() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.mx[1].addrs[0].smtp = Smtp::good().tls_alert(70);
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "smtp-tls-version-min");
    assert_eq!(f.subject, mx_at("mx2.example.test", "192.0.2.20"));
    assert_eq!(
        f.message,
        "mx2.example.test at 192.0.2.20 offers neither TLS 1.2 nor TLS 1.3; a legacy TLS 1.0-1.2 ClientHello on a second connection failed too: the server sent the alert ProtocolVersion"
    );
    silent(&report, "smtp-tls-handshake");
    only_ehlo_starttls_quit(&run);
}

/// Audits a deployment whose mx1 at 192.0.2.10 runs `smtp`: the one finding there, of
/// `id` (beside mx1's refusal by enforcing senders), its message, and the connections
/// made to that server.
async fn one_finding_at_mx1(smtp: Smtp, id: &str) -> (String, usize) {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.mx[0].addrs[0].smtp = smtp;
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, id);
    assert_eq!(f.subject, mx_at("mx1.example.test", "192.0.2.10"));
    refused_now(&report, "mx1.example.test");
    assert_eq!(summary(&report).len(), 2, "{:#?}", summary(&report));
    assert_eq!(report.readiness.ready, Some(false));
    only_ehlo_starttls_quit(&run);
    (f.message.clone(), run.smtp("192.0.2.10").connections())
}

#[tokio::test]
async fn smtp_tls_version_min_when_a_legacy_server_closes_without_an_alert() {
    for (version, name) in [(0x0301, "TLS 1.0"), (0x0302, "TLS 1.1")] {
        let smtp = Smtp::good().legacy_tls_hanging_up(version, HangUp::Close);
        let (message, connections) = one_finding_at_mx1(smtp, "smtp-tls-version-min").await;
        assert_eq!(
            message,
            format!(
                "mx1.example.test at 192.0.2.10 speaks at most {name} (it chose TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA for a legacy ClientHello); senders require TLS 1.2 or 1.3"
            )
        );
        // The rustls handshake, closed; then the hand-made ClientHello, answered.
        assert_eq!(connections, 2);
    }
}

#[tokio::test]
async fn smtp_tls_version_min_when_a_legacy_server_resets() {
    let smtp = Smtp::good().legacy_tls_hanging_up(0x0301, HangUp::Reset);
    let (message, connections) = one_finding_at_mx1(smtp, "smtp-tls-version-min").await;
    assert_eq!(
        message,
        "mx1.example.test at 192.0.2.10 speaks at most TLS 1.0 (it chose TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA for a legacy ClientHello); senders require TLS 1.2 or 1.3"
    );
    assert_eq!(connections, 2);
}

#[tokio::test]
async fn smtp_tls_handshake_says_both_attempts_when_the_legacy_probe_fails_too() {
    for (how, said) in [
        (HangUp::Close, "the server closed the connection"),
        (HangUp::Reset, "the connection was reset"),
    ] {
        let smtp = Smtp::good().hang_up_on_hello(how);
        let (message, connections) = one_finding_at_mx1(smtp, "smtp-tls-handshake").await;
        assert_eq!(
            message,
            format!(
                "the TLS handshake with mx1.example.test at 192.0.2.10 failed: {said} before the ServerHello; a legacy TLS 1.0-1.2 ClientHello on a second connection failed too: {said}"
            )
        );
        assert_eq!(connections, 2);
    }
}

#[tokio::test]
async fn smtp_tls_handshake_after_the_server_hello_runs_no_legacy_probe() {
    let smtp = Smtp::good().close_after_server_hello();
    let (message, connections) = one_finding_at_mx1(smtp, "smtp-tls-handshake").await;
    assert_eq!(
        message,
        "the TLS handshake with mx1.example.test at 192.0.2.10 failed: the server closed the connection after the ServerHello"
    );
    // The server took the hello: an older one would tell nothing more.
    assert_eq!(connections, 1);
}

/// A STARTTLS server in Python speaking one TLS version: prints its port, then each
/// command line it receives. Arguments: leaf DER, intermediate DER, PKCS#8 key DER, a
/// PEM path to write, the version ("TLSv1", "TLSv1_1", "TLSv1_2") and an OpenSSL cipher
/// list.
const PYTHON_TLS_SERVER: &str = r#"
import base64, socket, ssl, sys, threading, warnings
warnings.simplefilter("ignore")
leaf, inter, key = (open(p, "rb").read() for p in sys.argv[1:4])
with open(sys.argv[4], "w") as f:
    f.write(ssl.DER_cert_to_PEM_cert(leaf) + ssl.DER_cert_to_PEM_cert(inter))
    f.write("-----BEGIN PRIVATE KEY-----\n" + base64.encodebytes(key).decode() + "-----END PRIVATE KEY-----\n")
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.minimum_version = ctx.maximum_version = getattr(ssl.TLSVersion, sys.argv[5])
ctx.set_ciphers(sys.argv[6])
ctx.load_cert_chain(sys.argv[4])
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(8)
print(srv.getsockname()[1], flush=True)

def serve(conn):
    conn.settimeout(10)
    try:
        conn.sendall(b"220 mx1.example.test ESMTP\r\n")
        for line in conn.makefile("rb"):
            print(line.decode(errors="replace").rstrip(), flush=True)
            verb = line.split(b" ")[0].strip().upper()
            if verb == b"EHLO":
                conn.sendall(b"250-mx1.example.test\r\n250 STARTTLS\r\n")
            elif verb == b"STARTTLS":
                conn.sendall(b"220 2.0.0 Ready to start TLS\r\n")
                ctx.wrap_socket(conn, server_side=True).close()
                return
            elif verb == b"QUIT":
                conn.sendall(b"221 2.0.0 Bye\r\n")
                return
            else:
                conn.sendall(b"502 5.5.2 Unrecognized command\r\n")
    except (OSError, ssl.SSLError):
        pass
    finally:
        conn.close()

while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"#;

/// The Python server's process, killed when dropped.
struct Python(Child);

impl Drop for Python {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts [`PYTHON_TLS_SERVER`] for `version` with a lab certificate for
/// mx1.example.test; returns the process and its port, or why it cannot run here.
fn python_tls_server(
    ca: &TestCa,
    dir: &std::path::Path,
    version: &str,
    ciphers: &str,
    cert: &Cert,
) -> Result<(Python, u16), String> {
    let cert = ca.issue(cert, "mx1.example.test");
    let file = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).expect("write");
        path
    };
    let key = match &cert.key {
        rustls::pki_types::PrivateKeyDer::Pkcs8(k) => k.secret_pkcs8_der().to_vec(),
        _ => return Err("the lab key is not PKCS#8".into()),
    };
    let child = Command::new("python3")
        .arg("-c")
        .arg(PYTHON_TLS_SERVER)
        .arg(file("leaf.der", &cert.chain[0]))
        .arg(file("intermediate.der", &cert.chain[1]))
        .arg(file("key.der", &key))
        .arg(dir.join("chain.pem"))
        .arg(version)
        .arg(ciphers)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("python3 cannot be started: {e}"))?;
    let mut python = Python(child);
    let mut first = String::new();
    let stdout = python.0.stdout.as_mut().expect("stdout");
    // One line, then the reader is dropped: nothing else is buffered before the audit.
    let _ = BufReader::new(stdout.by_ref().take(8)).read_line(&mut first);
    match first.trim().parse() {
        Ok(port) => Ok((python, port)),
        Err(_) => {
            let _ = python.0.kill();
            let mut err = String::new();
            let _ = python.0.stderr.as_mut().map(|e| e.read_to_string(&mut err));
            Err(format!(
                "the Python {version} server did not start: {}",
                err.trim()
            ))
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::print_stdout)] // a skipped test says why
async fn smtp_tls_version_min_against_real_tls_1_0_and_1_1_servers() {
    for (version, name) in [("TLSv1", "TLS 1.0"), ("TLSv1_1", "TLS 1.1")] {
        let mut w = World::new();
        let d = w.good_deployment("example.test");
        let run = w.start(d).await;
        let dir = tempfile::tempdir().expect("temporary directory");
        let started = python_tls_server(
            &run.ca,
            dir.path(),
            version,
            "DEFAULT:@SECLEVEL=0",
            &Cert::good(),
        );
        let (mut python, port) = match started {
            Ok(started) => started,
            Err(why) => {
                println!("skipped: {why}");
                return;
            }
        };
        let mut cfg = run.config();
        // First match wins: 192.0.2.10 goes to Python instead of its lab server.
        cfg.connect_to.insert(
            0,
            format!("192.0.2.10:25:127.0.0.1:{port}")
                .parse()
                .expect("a rule"),
        );
        let report = crate::support::audit_all(&["example.test".to_string()], &cfg, 14)
            .await
            .remove(0);
        let f = fires(&report, "smtp-tls-version-min");
        assert_eq!(f.subject, mx_at("mx1.example.test", "192.0.2.10"));
        let says = format!("mx1.example.test at 192.0.2.10 speaks at most {name} (it chose TLS_");
        assert!(f.message.starts_with(&says), "{}", f.message);
        silent(&report, "smtp-tls-handshake");
        refused_now(&report, "mx1.example.test");
        assert_eq!(summary(&report).len(), 2, "{:#?}", summary(&report));
        assert_eq!(run.smtp("192.0.2.10").connections(), 0);

        let _ = python.0.kill();
        let mut log = String::new();
        if let Some(out) = python.0.stdout.as_mut() {
            out.read_to_string(&mut log).expect("the command log");
        }
        let verbs: Vec<&str> = log
            .lines()
            .map(|l| l.split(' ').next().unwrap_or_default())
            .collect();
        // The real handshake, then the legacy probe: each after EHLO and STARTTLS.
        assert_eq!(verbs, ["EHLO", "STARTTLS", "EHLO", "STARTTLS"], "{log}");
    }
}

#[tokio::test]
async fn smtp_tls_cipher_fires_for_a_tls12_server_with_only_legacy_suites() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.mx[1].addrs[0].smtp = Smtp::good().legacy_ciphers();
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "smtp-tls-cipher");
    assert_eq!(f.subject, mx_at("mx2.example.test", "192.0.2.20"));
    assert!(
        f.message.starts_with(
            "mx2.example.test at 192.0.2.20 negotiates TLS 1.2 only with TLS_RSA_WITH_AES_128_CBC_SHA (RSA key exchange, without forward secrecy)"
        ),
        "{}",
        f.message
    );
    // Not a handshake failure that senders would share, and its certificate is fine.
    silent(&report, "smtp-tls-handshake");
    assert_eq!(summary(&report).len(), 1, "{:#?}", summary(&report));
    assert_eq!(report.verdict, mtasts::finding::Verdict::Warn);
    // Whether senders would deliver there depends on their TLS library: unknown.
    assert_eq!(report.readiness.ready, None);
    only_ehlo_starttls_quit(&run);
}

#[tokio::test]
async fn a_certificate_seen_only_in_the_legacy_handshake_is_still_judged() {
    for smtp in [
        Smtp::good().legacy_ciphers(),
        Smtp::good().legacy_tls(0x0301),
        Smtp::good().legacy_tls_hanging_up(0x0302, HangUp::Reset),
    ] {
        let mut w = World::new();
        let mut d = w.good_deployment("example.test");
        d.mx[1].addrs[0].smtp = smtp.cert(Cert::expired());
        let run = w.start(d).await;
        let report = audit(&run, "example.test").await;
        let f = fires(&report, "smtp-cert-expired");
        assert_eq!(f.subject, mx_at("mx2.example.test", "192.0.2.20"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::print_stdout)] // a skipped test says why
async fn smtp_tls_cipher_against_a_real_cbc_only_tls12_server() {
    let mut w = World::new();
    let d = w.good_deployment("example.test");
    let run = w.start(d).await;
    let dir = tempfile::tempdir().expect("temporary directory");
    // OpenSSL with nothing but ECDHE-ECDSA-AES128-SHA (0xC009), a CBC suite rustls lacks.
    let started = python_tls_server(
        &run.ca,
        dir.path(),
        "TLSv1_2",
        "ECDHE-ECDSA-AES128-SHA",
        &Cert::good(),
    );
    let (_python, port) = match started {
        Ok(started) => started,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    let mut cfg = run.config();
    cfg.connect_to.insert(
        0,
        format!("192.0.2.10:25:127.0.0.1:{port}")
            .parse()
            .expect("a rule"),
    );
    let report = crate::support::audit_all(&["example.test".to_string()], &cfg, 14)
        .await
        .remove(0);
    let f = fires(&report, "smtp-tls-cipher");
    assert_eq!(f.subject, mx_at("mx1.example.test", "192.0.2.10"));
    assert!(
        f.message
            .contains("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA (CBC mode, not an AEAD cipher)"),
        "{}",
        f.message
    );
    // The certificate came through the legacy handshake and is good.
    assert_eq!(summary(&report).len(), 1, "{:#?}", summary(&report));
}

/// A TLSA record with the given data, or (`None`) the data of the served certificate.
fn tlsa(usage: u8, selector: u8, matching: u8, data: Option<Vec<u8>>) -> Tlsa {
    Tlsa {
        usage,
        selector,
        matching,
        data,
    }
}

/// SHA-256 of the lab intermediate, for a DANE-TA record (usage 2, selector 0, matching 1).
fn intermediate_sha256(w: &World) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, &w.ca.intermediate_der())
        .as_ref()
        .to_vec()
}

#[tokio::test]
async fn dane_tlsa_present_is_info_only_when_the_records_match() {
    for (usage, selector, matching) in [
        (3, 1, 1), // DANE-EE, SubjectPublicKeyInfo, SHA-256
        (3, 0, 1), // DANE-EE, whole certificate, SHA-256
        (3, 1, 2), // DANE-EE, SubjectPublicKeyInfo, SHA-512
        (3, 0, 0), // DANE-EE, whole certificate, exact
        (2, 0, 1), // DANE-TA on the intermediate the server sends
    ] {
        let mut w = World::new();
        let mut d = w.good_deployment("example.test");
        let data = (usage == 2).then(|| intermediate_sha256(&w));
        d.mx[1].tlsa = vec![tlsa(usage, selector, matching, data)];
        let run = w.start(d).await;
        let report = audit(&run, "example.test").await;
        let f = fires(&report, "dane-tlsa-present");
        let case = format!("{usage} {selector} {matching}");
        assert_eq!(
            f.subject,
            mtasts::finding::Subject::Mx {
                host: "mx2.example.test".into(),
                addr: None
            },
            "{case}"
        );
        assert_eq!(summary(&report).len(), 1, "{case}: {:#?}", summary(&report));
        assert_eq!(report.verdict, mtasts::finding::Verdict::Pass, "{case}");
        assert_eq!(report.readiness.ready, Some(true), "{case}");
    }
}

#[tokio::test]
async fn dane_tlsa_mismatch_fires_when_no_record_matches() {
    let other_key = || Some(vec![0xab; 32]);
    for (records, cert) in [
        (vec![tlsa(3, 1, 1, other_key())], Cert::good()),
        // Two records, neither matching: one mismatch for the address.
        (
            vec![tlsa(3, 0, 1, other_key()), tlsa(2, 0, 1, other_key())],
            Cert::good(),
        ),
        // A DANE-TA record for an intermediate the server does not send.
        (vec![], Cert::good().leaf_only()),
    ] {
        let mut w = World::new();
        let mut d = w.good_deployment("example.test");
        d.mx[1].tlsa = if records.is_empty() {
            vec![tlsa(2, 0, 1, Some(intermediate_sha256(&w)))]
        } else {
            records
        };
        d.mx[1].addrs[0].smtp = Smtp::good().cert(cert);
        let run = w.start(d).await;
        let report = audit(&run, "example.test").await;
        let f = fires(&report, "dane-tlsa-mismatch");
        assert_eq!(f.subject, mx_at("mx2.example.test", "192.0.2.20"));
        assert_eq!(
            f.message,
            "the certificate of mx2.example.test at 192.0.2.20 matches none of the TLSA records at _25._tcp.mx2.example.test"
        );
        fires(&report, "dane-tlsa-present");
        refused_now(&report, "mx2.example.test");
        assert_eq!(report.readiness.ready, Some(false));
    }
}

#[tokio::test]
async fn dane_tlsa_mismatch_fires_on_the_second_address_of_a_host_with_one_record() {
    // Each lab server has its own key, and the record is made from the first address's:
    // a host whose addresses serve different keys needs a record for each.
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.mx[0].tlsa = vec![tlsa(3, 1, 1, None)];
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "dane-tlsa-mismatch");
    assert_eq!(f.subject, mx_at("mx1.example.test", "2001:db8::10"));
    assert_eq!(fired(&report, "dane-tlsa-present").len(), 1);
    refused_now(&report, "mx1.example.test");
    assert_eq!(summary(&report).len(), 3, "{:#?}", summary(&report));
}

#[tokio::test]
async fn dns_error_fires_when_the_tlsa_lookup_fails() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.zone.servfail("_25._tcp.mx1.example.test");
    let run = w.start(d).await;
    let report = crate::support::audit(&run, "example.test").await;
    let f = crate::support::fires(&report, "dns-error");
    assert_eq!(
        f.subject,
        mtasts::finding::Subject::Mx {
            host: "mx1.example.test".into(),
            addr: None
        }
    );
    assert!(
        f.message
            .contains("_25._tcp.mx1.example.test failed (SERVFAIL)"),
        "{}",
        f.message
    );
}
