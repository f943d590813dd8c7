//! A hand-made TLS ClientHello and a parser for the start of the answer, to learn what a
//! server speaks when rustls cannot agree with it: a legacy version (TLS 1.0, 1.1; rustls
//! speaks only 1.2 and 1.3, stack.md §3f) or a legacy cipher suite (RSA key exchange, CBC,
//! which rustls never offers but OpenSSL-based senders do).
//!
//! The hello is never followed through: the ServerHello and, up to TLS 1.2 where it is
//! sent in the clear, the Certificate message are read, then the connection is dropped.

use rustls::pki_types::ServerName;

use crate::observe::LegacyHello;
use crate::suites::LEGACY_OFFER;

/// Largest TLS record payload a server may send (RFC 5246 §6.2.1: 2^14).
pub const MAX_RECORD: usize = 16384;
/// Record header: type, version, length (RFC 5246 §6.2.1).
pub const RECORD_HEADER: usize = 5;

const HANDSHAKE: u8 = 22;
const ALERT: u8 = 21;
const CLIENT_HELLO: u8 = 1;
const SERVER_HELLO: u8 = 2;
const CERTIFICATE: u8 = 11;
const SERVER_HELLO_DONE: u8 = 14;

/// x25519, secp256r1, secp384r1, secp521r1 (RFC 8422 §5.1.1).
const GROUPS: &[u16] = &[0x001d, 0x0017, 0x0018, 0x0019];

/// RSA PKCS#1, ECDSA and RSA-PSS with SHA-2, then SHA-1 for the oldest servers
/// (RFC 5246 §7.4.1.4.1, RFC 8446 §4.2.3).
const SIGNATURE_ALGORITHMS: &[u16] = &[
    0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0203, 0x0201,
];

/// A complete TLS record holding a ClientHello that offers `version` as
/// client_version, with SNI `host` when it is a DNS name (RFC 6066 §3 allows no
/// address literals).
///
/// There is no supported_versions extension: that would let a TLS 1.3 server ignore
/// client_version, and client_version is the point of the probe.
pub fn client_hello(version: u16, host: &str) -> Vec<u8> {
    let mut extensions = Vec::new();
    let host = host.strip_suffix('.').unwrap_or(host);
    if let Ok(ServerName::DnsName(_)) = ServerName::try_from(host) {
        let mut entry = vec![0]; // host_name
        put_vec16(&mut entry, host.as_bytes());
        let mut list = Vec::new();
        put_vec16(&mut list, &entry);
        put_extension(&mut extensions, 0x0000, &list);
    }
    put_extension(&mut extensions, 0x000a, &vec16(&u16s(GROUPS)));
    put_extension(&mut extensions, 0x000b, &[1, 0]); // uncompressed points only
    put_extension(&mut extensions, 0x000d, &vec16(&u16s(SIGNATURE_ALGORITHMS)));

    let mut body = version.to_be_bytes().to_vec();
    // The handshake is never completed, so the random protects nothing: a constant
    // keeps the function pure.
    body.extend_from_slice(&[0x5a; 32]);
    body.push(0); // no session id
    let suites: Vec<u16> = LEGACY_OFFER.iter().map(|(suite, _)| *suite).collect();
    put_vec16(&mut body, &u16s(&suites));
    body.extend_from_slice(&[1, 0]); // null compression only
    put_vec16(&mut body, &extensions);

    let mut handshake = vec![CLIENT_HELLO];
    handshake.extend_from_slice(&u24(body.len()));
    handshake.extend_from_slice(&body);

    // Record version 1.0: the most widely tolerated (RFC 5246 Appendix E.1).
    let mut record = vec![HANDSHAKE, 0x03, 0x01];
    put_vec16(&mut record, &handshake);
    record
}

fn u16s(values: &[u16]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_be_bytes()).collect()
}

fn u24(n: usize) -> [u8; 3] {
    let [_, a, b, c] = u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes();
    [a, b, c]
}

/// Appends `data` with a 16-bit length. Everything built here is far below 64 KiB:
/// the host name is at most 253 octets once accepted as a DNS name.
fn put_vec16(out: &mut Vec<u8>, data: &[u8]) {
    out.extend_from_slice(&u16::try_from(data.len()).unwrap_or(u16::MAX).to_be_bytes());
    out.extend_from_slice(data);
}

fn vec16(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    put_vec16(&mut out, data);
    out
}

fn put_extension(out: &mut Vec<u8>, kind: u16, data: &[u8]) {
    out.extend_from_slice(&kind.to_be_bytes());
    put_vec16(out, data);
}

/// What the server's first flight says, or None while more bytes could change it.
/// `ended`: no more bytes will come (closed, timed out, or [`crate::limits::MAX_ANSWER`] read), so
/// decide with what there is.
pub fn parse_answer(bytes: &[u8], ended: bool) -> Option<LegacyHello> {
    let failed = |why: String| Some(LegacyHello::Failed(why));
    // Concatenate the payloads of the leading handshake records (RFC 5246 §6.2.1).
    let mut handshake = Vec::new();
    let mut rest = bytes;
    let mut stopped = ended;
    while let Some(header) = rest.get(..RECORD_HEADER) {
        let (kind, major) = (header[0], header[1]);
        let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
        let first = handshake.is_empty();
        if !matches!(kind, HANDSHAKE | ALERT) || major != 3 || len > MAX_RECORD {
            if first {
                return failed(if len > MAX_RECORD {
                    format!("a TLS record of {len} octets (at most {MAX_RECORD})")
                } else {
                    format!("not a TLS answer: {}", hex(header))
                });
            }
            stopped = true;
            break;
        }
        let Some(payload) = rest.get(RECORD_HEADER..RECORD_HEADER + len) else {
            break;
        };
        if kind == ALERT {
            if first {
                return match payload {
                    [level, description] => Some(LegacyHello::Alert {
                        level: *level,
                        description: *description,
                    }),
                    _ => failed(format!("a malformed alert of {len} octets")),
                };
            }
            stopped = true;
            break;
        }
        if len == 0 && first {
            return failed("an empty handshake record".into());
        }
        handshake.extend_from_slice(payload);
        rest = &rest[RECORD_HEADER + len..];
    }
    if handshake.is_empty() {
        return ended.then(|| LegacyHello::Failed("the answer ended before a TLS record".into()));
    }
    // Then the handshake messages: type(1) length(3) body (RFC 5246 §7.4).
    let mut messages = handshake.as_slice();
    let mut hello = None;
    while let Some(header) = messages.get(..4) {
        let len =
            usize::from(header[1]) << 16 | usize::from(header[2]) << 8 | usize::from(header[3]);
        let Some(message) = messages.get(..4 + len) else {
            break;
        };
        match (header[0], hello) {
            (SERVER_HELLO, None) => match server_hello(message) {
                Some(vc) => hello = Some(vc),
                None => return failed("a truncated or malformed ServerHello".into()),
            },
            (t, None) => {
                return failed(format!("handshake message type {t} instead of ServerHello"));
            }
            (CERTIFICATE, Some((version, cipher))) => {
                return Some(LegacyHello::ServerHello {
                    version,
                    cipher,
                    chain: certificates(&message[4..]),
                });
            }
            (SERVER_HELLO_DONE, Some((version, cipher))) => {
                return Some(LegacyHello::ServerHello {
                    version,
                    cipher,
                    chain: vec![],
                });
            }
            _ => {}
        }
        messages = &messages[4 + len..];
    }
    match hello {
        Some((version, cipher)) if stopped => Some(LegacyHello::ServerHello {
            version,
            cipher,
            chain: vec![],
        }),
        None if stopped => failed("a truncated ServerHello".into()),
        _ => None,
    }
}

/// The DER certificates of a Certificate message body: a 24-bit list length, then each
/// certificate with a 24-bit length (RFC 5246 §7.4.2), at most the chain cap.
fn certificates(body: &[u8]) -> Vec<Vec<u8>> {
    let len24 = |b: &[u8]| usize::from(b[0]) << 16 | usize::from(b[1]) << 8 | usize::from(b[2]);
    let mut chain = Vec::new();
    let Some(list) = body.get(..3).and_then(|h| body.get(3..3 + len24(h))) else {
        return chain;
    };
    let mut rest = list;
    while let Some(h) = rest.get(..3) {
        let Some(der) = rest.get(3..3 + len24(h)) else {
            break;
        };
        if chain.len() == crate::limits::MAX_CHAIN_CERTS {
            break;
        }
        chain.push(der.to_vec());
        rest = &rest[3 + len24(h)..];
    }
    chain
}

/// server_version and cipher_suite of a ServerHello: type(1) length(3)
/// server_version(2) random(32) session_id(1+0..32) cipher_suite(2) (RFC 5246 §7.4.1.3).
fn server_hello(payload: &[u8]) -> Option<(u16, u16)> {
    let version = payload.get(4..6)?;
    let session_id = usize::from(*payload.get(38)?);
    if session_id > 32 {
        return None;
    }
    let cipher = payload.get(39 + session_id..41 + session_id)?;
    Some((
        u16::from_be_bytes([version[0], version[1]]),
        u16::from_be_bytes([cipher[0], cipher[1]]),
    ))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    // First records captured from OpenSSL 3.0 `s_server` answering `client_hello(v,
    // "mx.example.test")`; see each constant for the server options and `v`.

    /// `-tls1 -cipher DEFAULT:@SECLEVEL=0`, v = 0x0303: TLS 1.0, ECDHE-RSA-AES256-SHA.
    const TLS10_SERVER_HELLO: &str = concat!(
        "1603010059020000550301bb26b8bf7e83e089fbbc1afe58cfa6908c27c0641a",
        "7fef96b14a8ae86ab110fa207111b03f0bf535969415b06c816722ab3d1e47e6",
        "12db6377094b94a1677c3b53c01400000dff01000100000b000403000102",
    );
    /// `-tls1_1 -cipher DEFAULT:@SECLEVEL=0`, v = 0x0303: TLS 1.1, ECDHE-RSA-AES256-SHA.
    const TLS11_SERVER_HELLO: &str = concat!(
        "16030200590200005503028844854625b10088c052cb2de1dcd65edec0f0f572",
        "ced434230caeab2d05c55b207f05c65795e2514547498802be0f42bed14b6e33",
        "f066288b0aa39539af5e28d6c01400000dff01000100000b000403000102",
    );
    /// `-tls1_2`, v = 0x0303: TLS 1.2, ECDHE-RSA-AES256-GCM-SHA384.
    const TLS12_SERVER_HELLO: &str = concat!(
        "1603030059020000550303fa56dc49db1713c65f7338795d73ab2c2cf25ae066",
        "7e4d1520aea71756e1d7a720debda72ca3d085eb8712eecae2061f5dd1542246",
        "05033fe9039e5ad670b6c97ec03000000dff01000100000b000403000102",
    );
    /// `-tls1_1 -cipher DEFAULT:@SECLEVEL=0`, v = 0x0301: fatal protocol_version.
    const PROTOCOL_VERSION_ALERT: &str = "15030100020246";
    /// `-tls1` at the default security level, v = 0x0301: fatal internal_error.
    const INTERNAL_ERROR_ALERT: &str = "15030100020250";

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    #[test]
    fn parses_captured_answers() {
        let cases = [
            (
                TLS10_SERVER_HELLO,
                LegacyHello::ServerHello {
                    version: 0x0301,
                    cipher: 0xc014,
                    chain: vec![],
                },
            ),
            (
                TLS11_SERVER_HELLO,
                LegacyHello::ServerHello {
                    version: 0x0302,
                    cipher: 0xc014,
                    chain: vec![],
                },
            ),
            (
                TLS12_SERVER_HELLO,
                LegacyHello::ServerHello {
                    version: 0x0303,
                    cipher: 0xc030,
                    chain: vec![],
                },
            ),
            (
                PROTOCOL_VERSION_ALERT,
                LegacyHello::Alert {
                    level: 2,
                    description: 70,
                },
            ),
            (
                INTERNAL_ERROR_ALERT,
                LegacyHello::Alert {
                    level: 2,
                    description: 80,
                },
            ),
        ];
        for (answer, want) in cases {
            let bytes = unhex(answer);
            // Once the server has said all it will, the first record is the answer.
            assert_eq!(parse_answer(&bytes, true), Some(want.clone()), "{answer}");
            for n in 0..bytes.len() {
                assert_eq!(
                    parse_answer(&bytes[..n], false),
                    None,
                    "{n} octets are incomplete"
                );
            }
            // An alert is final; a ServerHello waits for the Certificate that follows it.
            let alert = matches!(want, LegacyHello::Alert { .. });
            assert_eq!(parse_answer(&bytes, false).is_some(), alert, "{answer}");
            let mut done = bytes.clone();
            done.extend_from_slice(&[22, 3, 1, 0, 4, SERVER_HELLO_DONE, 0, 0, 0]);
            assert_eq!(
                parse_answer(&done, false),
                Some(want),
                "ServerHelloDone ends the flight"
            );
        }
    }

    #[test]
    fn rejects_what_is_not_a_server_hello_or_alert() {
        let hello = |session_id: u8, rest: &[u8]| {
            let mut p = vec![2, 0, 0, 0, 3, 1];
            p.extend_from_slice(&[0; 32]);
            p.push(session_id);
            p.extend_from_slice(rest);
            p[3] = u8::try_from(p.len() - 4).expect("a short message");
            let mut r = vec![22, 3, 1];
            r.extend_from_slice(&u16::try_from(p.len()).expect("len").to_be_bytes());
            r.extend_from_slice(&p);
            r
        };
        assert_eq!(
            parse_answer(&hello(0, &[0xc0, 0x13, 0]), true),
            Some(LegacyHello::ServerHello {
                version: 0x0301,
                cipher: 0xc013,
                chain: vec![],
            })
        );
        let bad: &[(&[u8], &str)] = &[
            (b"220 mx.example.test ESMTP\r\n", "not a TLS answer"), // plain text
            (b"454 TLS not available\r\n", "not a TLS answer"),
            (&[23, 3, 3, 0, 1, 0], "not a TLS answer"), // application data
            (&[22, 2, 0, 0, 1, 0], "not a TLS answer"), // not version 3.x
            (&[22, 3, 1, 0x40, 1], "a TLS record of 16385 octets"), // over 2^14
            (&[21, 3, 1, 0, 3, 2, 70, 0], "a malformed alert"), // alert of 3 octets
            (&[21, 3, 1, 0, 1, 2], "a malformed alert"),
            (&[22, 3, 1, 0, 0], "an empty handshake record"),
            (&[22, 3, 1, 0, 4, 11, 0, 0, 0], "handshake message type 11"), // Certificate first
            (
                &[22, 3, 1, 0, 5, 2, 0, 0, 1, 3],
                "a truncated or malformed ServerHello",
            ),
        ];
        for (bytes, why) in bad {
            match parse_answer(bytes, true) {
                Some(LegacyHello::Failed(got)) => assert!(got.starts_with(why), "{got} vs {why}"),
                other => panic!("{bytes:?}: {other:?}"),
            }
        }
        for (session_id, rest) in [
            (33u8, &[0u8; 40][..]), // session id over 32 octets
            (32, &[0; 33][..]),     // cipher suite cut short
            (0, &[0xc0][..]),
        ] {
            assert_eq!(
                parse_answer(&hello(session_id, rest), true),
                Some(LegacyHello::Failed(
                    "a truncated or malformed ServerHello".into()
                )),
                "{session_id}"
            );
        }
    }

    /// A TLS 1.2 ServerHello, then a Certificate message of `certs`, split over records of
    /// at most `record` octets: what a legacy-cipher server sends in the clear.
    fn flight(certs: &[&[u8]], record: usize) -> Vec<u8> {
        let len24 = |n: usize| [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        let mut hello = vec![2, 0, 0, 38, 3, 3];
        hello.extend_from_slice(&[7; 32]);
        hello.extend_from_slice(&[0, 0x00, 0x2f, 0]); // no session id, TLS_RSA_WITH_AES_128_CBC_SHA
        let list: Vec<u8> = certs
            .iter()
            .flat_map(|c| [&len24(c.len())[..], c].concat())
            .collect();
        let mut cert = vec![CERTIFICATE];
        cert.extend_from_slice(&len24(list.len() + 3));
        cert.extend_from_slice(&len24(list.len()));
        cert.extend_from_slice(&list);
        let messages = [hello, cert].concat();
        messages
            .chunks(record)
            .flat_map(|chunk| {
                let mut r = vec![HANDSHAKE, 3, 3];
                r.extend_from_slice(&u16::try_from(chunk.len()).expect("len").to_be_bytes());
                r.extend_from_slice(chunk);
                r
            })
            .collect()
    }

    #[test]
    fn reads_the_certificates_after_a_tls12_server_hello() {
        let leaf: &[u8] = b"leaf certificate DER";
        let issuer: &[u8] = b"intermediate DER";
        let want = LegacyHello::ServerHello {
            version: 0x0303,
            cipher: 0x002f,
            chain: vec![leaf.to_vec(), issuer.to_vec()],
        };
        for record in [16, 40, 1000] {
            let bytes = flight(&[leaf, issuer], record);
            assert_eq!(
                parse_answer(&bytes, false),
                Some(want.clone()),
                "records of {record}"
            );
            for n in 0..bytes.len() {
                assert_eq!(
                    parse_answer(&bytes[..n], false),
                    None,
                    "{n} octets of {record}-octet records"
                );
            }
        }
        // A long chain is kept up to the cap.
        let many = vec![leaf; crate::limits::MAX_CHAIN_CERTS + 5];
        match parse_answer(&flight(&many, 500), false) {
            Some(LegacyHello::ServerHello { chain, .. }) => {
                assert_eq!(chain.len(), crate::limits::MAX_CHAIN_CERTS)
            }
            other => panic!("{other:?}"),
        }
        // A stream cut inside the Certificate still gives the ServerHello.
        let bytes = flight(&[leaf, issuer], 40);
        assert_eq!(
            parse_answer(&bytes[..bytes.len() - 3], true),
            Some(LegacyHello::ServerHello {
                version: 0x0303,
                cipher: 0x002f,
                chain: vec![]
            })
        );
    }

    type Extensions = Vec<(u16, Vec<u8>)>;

    /// Walks a ClientHello, returning client_version, cipher suites and extensions.
    fn dissect(record: &[u8]) -> (u16, Vec<u16>, Extensions) {
        let be = |b: &[u8]| usize::from(u16::from_be_bytes([b[0], b[1]]));
        assert_eq!(&record[..3], &[22, 3, 1], "handshake record, version 1.0");
        assert_eq!(be(&record[3..5]), record.len() - 5);
        let hs = &record[5..];
        assert_eq!(hs[0], 1, "ClientHello");
        assert_eq!(usize::from(hs[1]) << 16 | be(&hs[2..4]), hs.len() - 4);
        let body = &hs[4..];
        let version = u16::from_be_bytes([body[0], body[1]]);
        assert_eq!(body[34], 0, "no session id");
        let n = be(&body[35..37]);
        let ciphers = body[37..37 + n]
            .chunks(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        let rest = &body[37 + n..];
        assert_eq!(&rest[..2], &[1, 0], "null compression");
        assert_eq!(be(&rest[2..4]), rest.len() - 4);
        let mut exts = Vec::new();
        let mut e = &rest[4..];
        while !e.is_empty() {
            let len = be(&e[2..4]);
            exts.push((be(&e[..2]) as u16, e[4..4 + len].to_vec()));
            e = &e[4 + len..];
        }
        (version, ciphers, exts)
    }

    #[test]
    fn client_hello_offers_the_given_version_and_legacy_suites() {
        for v in [0x0301, 0x0302, 0x0303] {
            let (version, ciphers, exts) = dissect(&client_hello(v, "mx.example.test."));
            assert_eq!(version, v);
            for suite in [0xc02f, 0xc013, 0x0039, 0x002f, 0x000a, 0x0005, 0x00ff] {
                assert!(ciphers.contains(&suite), "{suite:04x}");
            }
            let kinds: Vec<u16> = exts.iter().map(|(k, _)| *k).collect();
            assert_eq!(
                kinds,
                [0x0000, 0x000a, 0x000b, 0x000d],
                "no supported_versions (43)"
            );
            let mut sni = vec![0, 0x12, 0, 0, 0x0f];
            sni.extend_from_slice(b"mx.example.test");
            assert_eq!(exts[0].1, sni, "SNI without the trailing dot");
        }
    }

    #[test]
    fn client_hello_omits_sni_for_what_is_not_a_dns_name() {
        for host in ["192.0.2.1", "::1", "", "bad name", "a..b"] {
            let (_, _, exts) = dissect(&client_hello(0x0303, host));
            assert!(exts.iter().all(|(k, _)| *k != 0), "{host:?}");
        }
    }

    proptest! {
        #[test]
        fn parse_answer_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = parse_answer(&bytes, false);
            prop_assert!(parse_answer(&bytes, true).is_some(), "an ended stream always has a verdict");
        }

        /// Random bytes rarely look like TLS: these get past the record header.
        #[test]
        fn parse_answer_never_panics_on_plausible_records(
            kind in prop::sample::select(vec![ALERT, HANDSHAKE]),
            message in prop::sample::select(vec![SERVER_HELLO, 11, 14]),
            slack in 0usize..3,
            body in proptest::collection::vec(any::<u8>(), 0..120),
        ) {
            let mut payload = vec![message];
            payload.extend_from_slice(&body);
            let len = u16::try_from(payload.len() + slack).expect("len");
            let mut bytes = vec![kind, 3, 1];
            bytes.extend_from_slice(&len.to_be_bytes());
            bytes.extend_from_slice(&payload);
            prop_assert!(parse_answer(&bytes, true).is_some());
            if slack > 0 {
                prop_assert!(parse_answer(&bytes, false).is_none(), "a short record is incomplete");
            }
        }

        /// The reader may stop at MAX_ANSWER octets: by then there is always a verdict.
        #[test]
        fn parse_answer_decides_within_max_answer(
            head in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let mut bytes = head;
            bytes.resize(crate::limits::MAX_ANSWER, 0);
            prop_assert!(parse_answer(&bytes, bytes.len() >= crate::limits::MAX_ANSWER).is_some());
        }
    }
}
