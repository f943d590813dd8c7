//! A hand-made TLS ClientHello and a parser for the first record of the answer, to
//! learn which legacy version (TLS 1.0, 1.1) a server speaks when rustls, which only
//! speaks TLS 1.2 and 1.3, finds no version in common (stack.md §3f).
//!
//! The hello is never followed through: only the server's first record is read.

use rustls::pki_types::ServerName;

use crate::observe::LegacyHello;

/// Largest TLS record payload a server may send (RFC 5246 §6.2.1: 2^14).
pub const MAX_RECORD: usize = 16384;
/// Record header: type, version, length (RFC 5246 §6.2.1).
pub const RECORD_HEADER: usize = 5;
/// The most bytes [`parse_answer`] needs to decide: one header and one record.
pub const MAX_ANSWER: usize = RECORD_HEADER + MAX_RECORD;

const HANDSHAKE: u8 = 22;
const ALERT: u8 = 21;
const CLIENT_HELLO: u8 = 1;
const SERVER_HELLO: u8 = 2;

/// Every suite a legacy server might pick: ECDHE, DHE and RSA key exchange with
/// GCM, CBC, 3DES and RC4, then the renegotiation SCSV (RFC 5746 §3.3).
const CIPHERS: &[u16] = &[
    0xc02c, // TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
    0xc030, // TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
    0xc02b, // TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
    0xc02f, // TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
    0xcca9, // TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
    0xcca8, // TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
    0xc024, // TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384
    0xc028, // TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384
    0xc023, // TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256
    0xc027, // TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256
    0xc00a, // TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA
    0xc014, // TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA
    0xc009, // TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA
    0xc013, // TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA
    0x009f, // TLS_DHE_RSA_WITH_AES_256_GCM_SHA384
    0x009e, // TLS_DHE_RSA_WITH_AES_128_GCM_SHA256
    0x006b, // TLS_DHE_RSA_WITH_AES_256_CBC_SHA256
    0x0067, // TLS_DHE_RSA_WITH_AES_128_CBC_SHA256
    0x0039, // TLS_DHE_RSA_WITH_AES_256_CBC_SHA
    0x0033, // TLS_DHE_RSA_WITH_AES_128_CBC_SHA
    0x009d, // TLS_RSA_WITH_AES_256_GCM_SHA384
    0x009c, // TLS_RSA_WITH_AES_128_GCM_SHA256
    0x003d, // TLS_RSA_WITH_AES_256_CBC_SHA256
    0x003c, // TLS_RSA_WITH_AES_128_CBC_SHA256
    0x0035, // TLS_RSA_WITH_AES_256_CBC_SHA
    0x002f, // TLS_RSA_WITH_AES_128_CBC_SHA
    0xc008, // TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA
    0xc012, // TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA
    0x0016, // TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA
    0x000a, // TLS_RSA_WITH_3DES_EDE_CBC_SHA
    0xc007, // TLS_ECDHE_ECDSA_WITH_RC4_128_SHA
    0xc011, // TLS_ECDHE_RSA_WITH_RC4_128_SHA
    0x0005, // TLS_RSA_WITH_RC4_128_SHA
    0x0004, // TLS_RSA_WITH_RC4_128_MD5
    0x00ff, // TLS_EMPTY_RENEGOTIATION_INFO_SCSV
];

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
    put_vec16(&mut body, &u16s(CIPHERS));
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

/// What the server's first record says, or None while it is incomplete.
pub fn parse_answer(bytes: &[u8]) -> Option<LegacyHello> {
    let header = bytes.get(..RECORD_HEADER)?;
    let failed = |why: String| Some(LegacyHello::Failed(why));
    let (kind, major, len) = (
        header[0],
        header[1],
        usize::from(u16::from_be_bytes([header[3], header[4]])),
    );
    if !matches!(kind, HANDSHAKE | ALERT) || major != 3 {
        return failed(format!("not a TLS answer: {}", hex(header)));
    }
    if len > MAX_RECORD {
        return failed(format!(
            "a TLS record of {len} octets (at most {MAX_RECORD})"
        ));
    }
    let payload = bytes.get(RECORD_HEADER..RECORD_HEADER + len)?;
    if kind == ALERT {
        return match payload {
            [level, description] => Some(LegacyHello::Alert {
                level: *level,
                description: *description,
            }),
            _ => failed(format!("a malformed alert of {len} octets")),
        };
    }
    match payload.first() {
        Some(&SERVER_HELLO) => {}
        Some(t) => return failed(format!("handshake message type {t} instead of ServerHello")),
        None => return failed("an empty handshake record".into()),
    }
    match server_hello(payload) {
        Some((version, cipher)) => Some(LegacyHello::ServerHello { version, cipher }),
        None => failed("a truncated or malformed ServerHello".into()),
    }
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
                },
            ),
            (
                TLS11_SERVER_HELLO,
                LegacyHello::ServerHello {
                    version: 0x0302,
                    cipher: 0xc014,
                },
            ),
            (
                TLS12_SERVER_HELLO,
                LegacyHello::ServerHello {
                    version: 0x0303,
                    cipher: 0xc030,
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
            assert_eq!(parse_answer(&bytes), Some(want.clone()), "{answer}");
            for n in 0..bytes.len() {
                assert_eq!(parse_answer(&bytes[..n]), None, "{n} octets are incomplete");
            }
            let mut more = bytes.clone();
            more.extend_from_slice(b"\x16\x03\x01 the next record");
            assert_eq!(
                parse_answer(&more),
                Some(want),
                "only the first record counts"
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
            let mut r = vec![22, 3, 1];
            r.extend_from_slice(&u16::try_from(p.len()).expect("len").to_be_bytes());
            r.extend_from_slice(&p);
            r
        };
        assert_eq!(
            parse_answer(&hello(0, &[0xc0, 0x13, 0])),
            Some(LegacyHello::ServerHello {
                version: 0x0301,
                cipher: 0xc013
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
            match parse_answer(bytes) {
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
                parse_answer(&hello(session_id, rest)),
                Some(LegacyHello::Failed(
                    "a truncated or malformed ServerHello".into()
                )),
                "{session_id}"
            );
        }
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
            let _ = parse_answer(&bytes);
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
            let answer = parse_answer(&bytes);
            prop_assert_eq!(answer.is_none(), slack > 0, "incomplete exactly when short");
        }

        /// The reader may stop at MAX_ANSWER octets: by then there is always a verdict.
        #[test]
        fn parse_answer_decides_within_max_answer(
            head in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let mut bytes = head;
            bytes.resize(MAX_ANSWER, 0);
            prop_assert!(parse_answer(&bytes).is_some());
        }
    }
}
