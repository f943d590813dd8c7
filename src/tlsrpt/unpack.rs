//! One input's bytes → the report bodies in it: JSON as it is, gzip inflated (recognised
//! by its magic bytes, whatever the name says), the `application/tlsrpt+json` and
//! `application/tlsrpt+gzip` parts of a mail message (mail-parser decodes the MIME tree
//! and transfer encodings), every message of an mbox. Bounded: see the constants of
//! [`crate::tlsrpt`]; a part is inflated only when its turn comes, so that at most one
//! report's JSON is in memory at a time.

use std::borrow::Cow;
use std::io::{Cursor, Read};

use flate2::read::MultiGzDecoder;
use mail_parser::mailbox::mbox::MessageIterator;
use mail_parser::{
    GetHeader, HeaderName, Message, MessageParser, MessagePart, MimeHeaders, PartType,
};

use super::{
    InputError, MAX_MESSAGE_BYTES, MAX_NESTING_MESSAGE_BYTES, MAX_REPORT_BYTES,
    MAX_REPORTS_PER_INPUT, ReadError,
};

/// One report body: JSON to parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body<'a> {
    /// Where in the input (see [`super::Report::place`]).
    pub place: Option<String>,
    pub json: Cow<'a, [u8]>,
    pub envelope: Envelope,
}

/// What came with a body and says something about it: the body is the authority
/// (RFC 8460 §5.6), these are only compared with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    /// The Subject of the mail it came in.
    pub subject: Option<String>,
    /// The attachment's file name, or the input's.
    pub filename: Option<String>,
}

/// A body not yet inflated.
struct Packed<'a> {
    place: Option<String>,
    data: Cow<'a, [u8]>,
    envelope: Envelope,
}

/// The bodies of one input, in order, inflated one at a time as they are taken.
pub struct Bodies<'a> {
    items: std::vec::IntoIter<Result<Packed<'a>, InputError>>,
}

impl<'a> Iterator for Bodies<'a> {
    type Item = Result<Body<'a>, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        let packed = match self.items.next()? {
            Ok(packed) => packed,
            Err(e) => return Some(Err(e)),
        };
        Some(body(packed))
    }
}

/// The report bodies in `input`; `name` is its file name, if it has one.
pub fn unpack<'a>(input: &'a [u8], name: Option<&str>) -> Bodies<'a> {
    let mut items = Items::default();
    let envelope = Envelope {
        subject: None,
        filename: name.map(String::from),
    };
    match sniff(input) {
        Kind::Json | Kind::Gzip => items.push(Ok(Packed {
            place: None,
            data: Cow::Borrowed(input),
            envelope,
        })),
        Kind::Mbox => mbox(input, &mut items),
        Kind::Mail => message(input, None, &mut items),
        Kind::Refused(error) => items.push(Err(InputError::whole(error))),
    }
    Bodies {
        items: items.list.into_iter(),
    }
}

/// The list of what an input holds, which stops growing at [`MAX_REPORTS_PER_INPUT`].
#[derive(Default)]
struct Items<'a> {
    list: Vec<Result<Packed<'a>, InputError>>,
    full: bool,
}

impl<'a> Items<'a> {
    fn push(&mut self, item: Result<Packed<'a>, InputError>) {
        if self.full {
            return;
        }
        if self.list.len() == MAX_REPORTS_PER_INPUT {
            self.list
                .push(Err(InputError::whole(ReadError::TooManyReports)));
            self.full = true;
            return;
        }
        self.list.push(item);
    }
}

/// What an input or a body is, by its first bytes.
#[derive(Debug, PartialEq, Eq)]
enum Kind {
    Json,
    Gzip,
    Mbox,
    Mail,
    Refused(ReadError),
}

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const UTF8_BOM: &[u8] = b"\xef\xbb\xbf";

fn sniff(bytes: &[u8]) -> Kind {
    if bytes.starts_with(GZIP_MAGIC) {
        return Kind::Gzip;
    }
    if bytes.starts_with(ZIP_MAGIC) {
        return Kind::Refused(ReadError::Zip);
    }
    if bytes.starts_with(b"From ") {
        return Kind::Mbox;
    }
    let text = trim_start(bytes);
    match text.first() {
        None => Kind::Refused(ReadError::Empty),
        Some(b'{' | b'[') => Kind::Json,
        Some(b'<') => Kind::Refused(xml(text)),
        Some(_) if header_line(bytes) => Kind::Mail,
        Some(_) => Kind::Refused(ReadError::Unknown),
    }
}

/// The bytes after a UTF-8 byte order mark and white space.
fn trim_start(bytes: &[u8]) -> &[u8] {
    let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    &bytes[start..]
}

/// XML: a DMARC aggregate report when its root is `<feedback>` (RFC 7489 App. C).
fn xml(text: &[u8]) -> ReadError {
    let head = &text[..text.len().min(4096)];
    if head.windows(b"<feedback".len()).any(|w| w == b"<feedback") {
        ReadError::Dmarc("XML")
    } else {
        ReadError::Xml
    }
}

/// Whether the input begins with a header field, `Name: value` (RFC 5322 §2.2), as a mail
/// message does.
fn header_line(bytes: &[u8]) -> bool {
    let name_len = bytes
        .iter()
        .position(|&b| !(b'!'..=b'~').contains(&b) || b == b':')
        .unwrap_or(bytes.len());
    name_len > 0 && bytes.get(name_len) == Some(&b':')
}

/// Inflates a packed body when it is gzip, and keeps what is plainly no JSON report (a
/// DMARC report above all, which also travels gzipped) from the parser.
fn body(packed: Packed<'_>) -> Result<Body<'_>, InputError> {
    let Packed {
        place,
        data,
        envelope,
    } = packed;
    let json = match sniff(&data) {
        Kind::Gzip => inflate(&data)
            .map(Cow::Owned)
            .map_err(|e| InputError::at(place.clone(), e))?,
        _ => data,
    };
    if json.len() > MAX_REPORT_BYTES {
        return Err(InputError::at(place, ReadError::ReportTooLarge));
    }
    match sniff(&json) {
        Kind::Refused(
            e @ (ReadError::Dmarc(_) | ReadError::Xml | ReadError::Zip | ReadError::Empty),
        ) => Err(InputError::at(place, e)),
        _ => Ok(Body {
            place,
            json,
            envelope,
        }),
    }
}

/// gzip data inflated, up to one byte past [`MAX_REPORT_BYTES`] so that a bomb stops
/// there. Concatenated members are read as one stream, as gzip(1) does.
fn inflate(data: &[u8]) -> Result<Vec<u8>, ReadError> {
    let mut out = Vec::new();
    let limit = MAX_REPORT_BYTES as u64 + 1;
    MultiGzDecoder::new(data)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| ReadError::Gzip(e.to_string()))?;
    if out.len() > MAX_REPORT_BYTES {
        return Err(ReadError::ReportTooLarge);
    }
    Ok(out)
}

/// Every message of an mbox (`From ` lines), each read as a mail message.
fn mbox<'a>(input: &'a [u8], items: &mut Items<'a>) {
    for (i, msg) in MessageIterator::new(Cursor::new(input)).enumerate() {
        let place = format!("message {}", i + 1);
        match msg {
            Ok(msg) => message(msg.contents(), Some(place), items),
            Err(e) => items.push(Err(InputError::at(
                Some(place),
                ReadError::Io(e.to_string()),
            ))),
        }
        if items.full {
            return;
        }
    }
}

/// The TLS-RPT parts of one mail message (and of messages attached to it), copied out so
/// that they outlive the parsed message.
fn message<'a>(raw: &[u8], place: Option<String>, items: &mut Items<'a>) {
    if let Err(e) = parsable(raw) {
        items.push(Err(InputError::at(place, e)));
        return;
    }
    let Some(msg) = MessageParser::default().parse(raw) else {
        items.push(Err(InputError::at(place, ReadError::Unknown)));
        return;
    };
    let subject = msg
        .parts
        .first()
        .and_then(|root| root.headers.header_value(&HeaderName::Subject))
        .and_then(|v| v.as_text())
        .map(String::from);
    let mut found = Found::default();
    walk(&msg, &place, &subject, 0, &mut found);
    if found.parts.is_empty() {
        items.push(Err(InputError::at(
            place,
            ReadError::NoReportPart(found.other),
        )));
    }
    for part in found.parts {
        items.push(part);
    }
}

/// Whether mail-parser may be given `raw`: not too large, and small when it may hold
/// attached messages. mail-parser makes an attached message only of a part whose type is
/// message/rfc822 or message/global, or an untyped part of a multipart/digest, and it takes
/// types from the raw bytes as they are (no encoded words), so a message in which none of
/// these three subtypes is spelt holds none, and an encoded attached message cannot hide
/// its nesting from this test either, its own type being spelt outside it.
fn parsable(raw: &[u8]) -> Result<(), ReadError> {
    if raw.len() > MAX_MESSAGE_BYTES {
        return Err(ReadError::MessageTooLarge);
    }
    let names = |token: &str| {
        raw.windows(token.len())
            .any(|w| w.eq_ignore_ascii_case(token.as_bytes()))
    };
    if raw.len() > MAX_NESTING_MESSAGE_BYTES
        && ["rfc822", "global", "digest"].into_iter().any(names)
    {
        return Err(ReadError::AttachedMessages);
    }
    Ok(())
}

/// What a message's MIME tree holds.
#[derive(Default)]
struct Found<'a> {
    /// Its TLS-RPT parts, or why one does not decode.
    parts: Vec<Result<Packed<'a>, InputError>>,
    /// The other leaf media types, each once, for the error when there is no report.
    other: Vec<String>,
}

/// Distinct other media types named in an error: enough to tell a DMARC report's zip.
const OTHER_TYPES_NAMED: usize = 8;
/// Messages attached inside messages that are looked into: a report is forwarded once or
/// twice, while mail-parser nests them as deep as the input does.
pub const MAX_NESTED_MESSAGES: usize = 8;

/// The TLS-RPT parts of `msg`'s MIME tree, and of the messages attached to it down to
/// [`MAX_NESTED_MESSAGES`].
fn walk(
    msg: &Message<'_>,
    place: &Option<String>,
    subject: &Option<String>,
    depth: usize,
    found: &mut Found<'_>,
) {
    for (i, part) in msg.parts.iter().enumerate() {
        let media = media_type(part);
        match &part.body {
            PartType::Message(_) if depth == MAX_NESTED_MESSAGES => {
                found.parts.push(Err(InputError::at(
                    Some(part_place(place, i, &media)),
                    ReadError::TooDeep,
                )));
            }
            PartType::Message(inner) => {
                let inner_place = Some(part_place(place, i, &media));
                walk(inner, &inner_place, subject, depth + 1, found);
            }
            PartType::Multipart(_) => {}
            _ if media == "application/tlsrpt+json" || media == "application/tlsrpt+gzip" => {
                found.parts.push(report_part(
                    part,
                    part_place(place, i, &media),
                    &media,
                    subject,
                ));
            }
            _ => {
                if found.other.len() < OTHER_TYPES_NAMED && !found.other.contains(&media) {
                    found.other.push(media);
                }
            }
        }
    }
}

/// "type/subtype" in lower case; text/plain when not given (RFC 2045 §5.2).
fn media_type(part: &MessagePart<'_>) -> String {
    part.content_type()
        .map(|ct| match ct.subtype() {
            Some(sub) => format!("{}/{sub}", ct.ctype()),
            None => ct.ctype().to_string(),
        })
        .unwrap_or_else(|| "text/plain".to_string())
        .to_ascii_lowercase()
}

/// A TLS-RPT part's decoded content, copied out of the parsed message. mail-parser marks a
/// part it could not decode (bad base64 or quoted-printable) or delimit (no closing
/// boundary); one in 7bit, 8bit or binary is taken as it is, since no decoding can go wrong.
fn report_part<'a>(
    part: &MessagePart<'_>,
    place: String,
    media: &str,
    subject: &Option<String>,
) -> Result<Packed<'a>, InputError> {
    let encoding = part
        .content_transfer_encoding()
        .map(|e| e.trim().to_ascii_lowercase())
        .filter(|e| !matches!(e.as_str(), "7bit" | "8bit" | "binary"));
    if part.is_encoding_problem
        && let Some(encoding) = encoding
    {
        return Err(InputError::at(
            Some(place),
            ReadError::Undecodable(format!(
                "{media} in {encoding} that is not valid {encoding}"
            )),
        ));
    }
    Ok(Packed {
        place: Some(place),
        data: Cow::Owned(part.contents().to_vec()),
        envelope: Envelope {
            subject: subject.clone(),
            filename: part.attachment_name().map(String::from),
        },
    })
}

/// "message 2, part 3 (application/tlsrpt+gzip)"; part 0 is the message itself.
fn part_place(message: &Option<String>, part: usize, media: &str) -> String {
    let part = if part == 0 {
        format!("the message body ({media})")
    } else {
        format!("part {} ({media})", part)
    };
    match message {
        Some(m) => format!("{m}, {part}"),
        None => part,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(data).expect("in memory");
        enc.finish().expect("in memory")
    }

    /// A body's place and JSON, or the kind of its error.
    type Got = Result<(Option<String>, Vec<u8>), String>;

    fn bodies(input: &[u8]) -> Vec<Got> {
        unpack(input, None)
            .map(|b| {
                b.map(|b| (b.place, b.json.into_owned()))
                    .map_err(|e| e.error.kind().to_string())
            })
            .collect()
    }

    #[test]
    fn json_is_taken_as_it_is_and_gzip_is_inflated_whatever_its_name() {
        let json = br#"{"report-id": "1"}"#;
        assert_eq!(bodies(json), [Ok((None, json.to_vec()))]);
        assert_eq!(bodies(&gzip(json)), [Ok((None, json.to_vec()))]);
        let packed = gzip(json);
        let named = unpack(&packed, Some("report.json")).next();
        assert!(matches!(named, Some(Ok(b)) if b.json.as_ref() == json));
    }

    #[test]
    fn what_is_not_a_report_is_named() {
        let dmarc = b"<?xml version=\"1.0\"?>\n<feedback><report_metadata/></feedback>";
        assert_eq!(bodies(dmarc), [Err("dmarc-report".into())]);
        assert_eq!(bodies(&gzip(dmarc)), [Err("dmarc-report".into())]);
        assert_eq!(bodies(b"<html></html>"), [Err("xml".into())]);
        assert_eq!(bodies(b"PK\x03\x04rest"), [Err("zip".into())]);
        assert_eq!(bodies(b""), [Err("empty".into())]);
        assert_eq!(bodies(b" \n\t"), [Err("empty".into())]);
        assert_eq!(bodies(b"hello world"), [Err("unknown-format".into())]);
        assert_eq!(bodies(&gzip(b"")), [Err("empty".into())]);
        let cut = gzip(br#"{"organization-name": "x"}"#);
        assert_eq!(bodies(&cut[..20]), [Err("gzip".into())]);
    }

    #[test]
    fn a_gzip_bomb_stops_at_the_cap() {
        // Concatenated members of zeros: a few KB that inflate far past the cap.
        let member = gzip(&vec![b' '; 1024 * 1024]);
        let bomb: Vec<u8> = member
            .iter()
            .copied()
            .cycle()
            .take(member.len() * 64)
            .collect();
        assert!(bomb.len() < 100 * 1024, "{}", bomb.len());
        assert_eq!(bodies(&bomb), [Err("report-too-large".into())]);
    }

    #[test]
    fn plain_json_over_the_cap_is_refused() {
        let mut big = b"{\"x\": \"".to_vec();
        big.resize(MAX_REPORT_BYTES + 1, b'a');
        assert_eq!(bodies(&big), [Err("report-too-large".into())]);
    }

    fn mail(content_type: &str, encoding: &str, body: &str) -> String {
        format!(
            "From: reports@example.net\r\nSubject: Report Domain: example.com Submitter: example.net Report-ID: <1@example.net>\r\n\
             MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=tlsrpt;\r\n boundary=\"b1\"\r\n\r\n\
             --b1\r\nContent-Type: text/plain\r\n\r\nThis is a report.\r\n\
             --b1\r\nContent-Type: {content_type}\r\nContent-Transfer-Encoding: {encoding}\r\n\
             Content-Disposition: attachment; filename=\"example.net!example.com!1!2.json.gz\"\r\n\r\n{body}\r\n--b1--\r\n"
        )
    }

    #[test]
    fn mime_parts_are_found_and_decoded() {
        let json = br#"{"report-id": "1"}"#;
        // gzip of `json`, in base64.
        let b64 = "H4sIAAAAAAACA6tWKkotyC8q0c1MUbJSUDJUqgUAZ/R2QRIAAAA=";
        let msg = mail("application/tlsrpt+gzip", "base64", b64);
        let got: Vec<_> = unpack(msg.as_bytes(), None).collect();
        match got.as_slice() {
            [Ok(body)] => {
                assert_eq!(body.json.as_ref(), json);
                assert_eq!(
                    body.place.as_deref(),
                    Some("part 2 (application/tlsrpt+gzip)")
                );
                assert_eq!(
                    body.envelope.filename.as_deref(),
                    Some("example.net!example.com!1!2.json.gz")
                );
                assert!(
                    body.envelope
                        .subject
                        .as_deref()
                        .is_some_and(|s| s.starts_with("Report Domain:"))
                );
            }
            other => panic!("{other:?}"),
        }
        let qp = mail(
            "application/tlsrpt+json",
            "quoted-printable",
            "{\"report-id\"=3A =\r\n\"1\"}",
        );
        assert_eq!(
            bodies(qp.as_bytes()),
            [Ok((
                Some("part 2 (application/tlsrpt+json)".into()),
                json.to_vec()
            ))]
        );
    }

    #[test]
    fn a_broken_part_and_a_message_without_a_report_are_errors() {
        let broken = mail(
            "application/tlsrpt+gzip",
            "base64",
            "H4sI!!!!not base64!!!!",
        );
        assert_eq!(bodies(broken.as_bytes()), [Err("undecodable-part".into())]);
        let dmarc = mail("application/zip", "base64", "UEsDBA==");
        let got: Vec<_> = unpack(dmarc.as_bytes(), None).collect();
        match got.as_slice() {
            [Err(e)] => assert_eq!(
                e.error,
                ReadError::NoReportPart(vec!["text/plain".into(), "application/zip".into()])
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_message_can_be_the_report_itself() {
        let msg = "From: reports@example.net\r\nContent-Type: application/tlsrpt+json\r\n\r\n{\"report-id\": \"1\"}\r\n";
        let got = bodies(msg.as_bytes());
        assert_eq!(got.len(), 1);
        assert!(
            matches!(&got[0], Ok((Some(p), _)) if p == "the message body (application/tlsrpt+json)"),
            "{got:?}"
        );
    }

    #[test]
    fn every_message_of_an_mbox_is_read() {
        let one = "From: a@example.net\nContent-Type: application/tlsrpt+json\n\n{\"report-id\": \"1\"}\n";
        let none = "From: b@example.net\nContent-Type: text/plain\n\nhello\n";
        let mbox = format!(
            "From a@example.net Mon Apr  1 00:00:00 2024\n{one}\nFrom b@example.net Mon Apr  1 00:00:00 2024\n{none}\nFrom a@example.net Mon Apr  1 00:00:00 2024\n{one}"
        );
        let got = bodies(mbox.as_bytes());
        let places: Vec<String> = got
            .iter()
            .map(|r| match r {
                Ok((p, _)) => p.clone().unwrap_or_default(),
                Err(e) => e.clone(),
            })
            .collect();
        assert_eq!(
            places,
            [
                "message 1, the message body (application/tlsrpt+json)",
                "no-report-part",
                "message 3, the message body (application/tlsrpt+json)"
            ]
        );
    }

    #[test]
    fn an_mbox_stops_at_the_cap() {
        let msg = "From a@example.net Mon Apr  1 00:00:00 2024\nContent-Type: application/tlsrpt+json\n\n{}\n";
        let mbox = msg.repeat(MAX_REPORTS_PER_INPUT + 5);
        let got = bodies(mbox.as_bytes());
        assert_eq!(got.len(), MAX_REPORTS_PER_INPUT + 1);
        assert_eq!(got.last(), Some(&Err("too-many-reports".to_string())));
    }

    /// Attached messages nested `levels` deep, the innermost holding a report.
    fn nested(levels: usize) -> String {
        "Content-Type: message/rfc822\n\n".repeat(levels)
            + "Content-Type: application/tlsrpt+json\n\n{}\n"
    }

    #[test]
    fn attached_messages_are_read_a_few_levels_deep() {
        let got = bodies(nested(2).as_bytes());
        assert_eq!(
            got,
            [Ok((
                Some("the message body (message/rfc822), the message body (message/rfc822), the message body (application/tlsrpt+json)".into()),
                b"{}\n".to_vec()
            ))]
        );
        assert_eq!(
            bodies(nested(MAX_NESTED_MESSAGES + 1).as_bytes()),
            [Err("too-deep".into())]
        );
    }

    /// Deep nesting overflowed mail-parser's stack (in its into_owned and in dropping the
    /// message): such a message is refused before mail-parser sees it.
    #[test]
    fn deeply_nested_messages_are_refused_before_parsing() {
        let deep = nested(100_000);
        assert_eq!(bodies(deep.as_bytes()), [Err("attached-messages".into())]);
        let digest = format!(
            "Content-Type: multipart/Digest; boundary=b\n\n{}",
            "--b\n\n".repeat(10_000)
        );
        assert_eq!(bodies(digest.as_bytes()), [Err("attached-messages".into())]);
        // The most that is read: nesting to the byte.
        let small = nested((MAX_NESTING_MESSAGE_BYTES - 40) / 30);
        assert!(small.len() <= MAX_NESTING_MESSAGE_BYTES);
        assert_eq!(bodies(small.as_bytes()), [Err("too-deep".into())]);
        let mut huge = b"Subject: x\n\n".to_vec();
        huge.resize(MAX_MESSAGE_BYTES + 1, b'a');
        assert_eq!(bodies(&huge), [Err("message-too-large".into())]);
    }

    proptest! {
        #[test]
        fn unpack_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
            for body in unpack(&bytes, Some("x.json")) {
                drop(body);
            }
        }

        #[test]
        fn unpack_never_panics_on_mail_like_input(
            head in prop::sample::select(vec![
                "From a@example.net Mon Apr  1 00:00:00 2024\n",
                "Content-Type: multipart/report; boundary=b\n\n--b\nContent-Type: application/tlsrpt+gzip\nContent-Transfer-Encoding: base64\n\n",
                "Content-Type: application/tlsrpt+json\nContent-Transfer-Encoding: quoted-printable\n\n",
                "Content-Type: message/rfc822\n\nContent-Type: application/tlsrpt+gzip\n\n",
            ]),
            tail in prop::collection::vec(any::<u8>(), 0..1000),
        ) {
            let mut bytes = head.as_bytes().to_vec();
            bytes.extend(tail);
            for body in unpack(&bytes, None) {
                drop(body);
            }
        }
    }
}
