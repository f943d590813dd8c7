//! Zone files (RFC 1035 §5, as teams keep them in git) read once into an answer table:
//! what `--zone` answers instead of live DNS for every name a zone is authoritative for.
//! Pure: the caller reads the files.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
use hickory_resolver::proto::serialize::txt::Parser;

use crate::limits::MAX_CNAME_LINKS;
use crate::names::normalize;

/// The TTL of records that give none in a file that has no `$TTL`: the parser needs one,
/// and a file kept in git often leaves it to the server's configuration.
const DEFAULT_TTL: &str = "$TTL 3600\n";

const NO_ORIGIN: &str = "the file has no $ORIGIN: add one (\"$ORIGIN example.com.\") or name the zone (--zone example.com=FILE)";

/// Every zone given, by origin.
#[derive(Debug, Default)]
pub struct Zones {
    zones: Vec<Zone>,
}

#[derive(Debug)]
struct Zone {
    /// Normalized, without the root dot.
    origin: String,
    /// The records, by owner name.
    records: BTreeMap<String, Vec<Record>>,
    /// Every name that exists: the owners and the names between them and the origin
    /// (empty non-terminals answer NODATA, not NXDOMAIN).
    existing: BTreeSet<String>,
    /// Names below the origin that have NS records: the zone is not authoritative there.
    delegations: Vec<String>,
}

/// A zone file that could not be read as one, with where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneError {
    pub file: String,
    /// 1-based, when the error is on one line.
    pub line: Option<usize>,
    pub why: String,
}

impl fmt::Display for ZoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{} line {line}: {}", self.file, self.why),
            None => write!(f, "{}: {}", self.file, self.why),
        }
    }
}

impl std::error::Error for ZoneError {}

/// What the zones say for one question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The CNAME targets followed inside the zones, in order.
    pub cnames: Vec<String>,
    pub found: Found,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    Records(Vec<Record>),
    NxDomain,
    NoData,
    /// Ask live DNS for this name: a CNAME led out of the zones, or the zone gives a host
    /// no address (addresses kept elsewhere, as for a provider's MX).
    Live(String),
}

impl Zones {
    /// Reads zone files: `(file, origin, text)`, the origin when the command line names it
    /// (else the file's `$ORIGIN`).
    pub fn parse(files: &[(String, Option<String>, String)]) -> Result<Zones, ZoneError> {
        let mut zones = Zones::default();
        for (file, origin, text) in files {
            let zone = Zone::parse(file, origin.as_deref(), text)?;
            if zones.zones.iter().any(|z| z.origin == zone.origin) {
                return Err(ZoneError {
                    file: file.clone(),
                    line: None,
                    why: format!("a zone for {} was already given", zone.origin),
                });
            }
            zones.zones.push(zone);
        }
        Ok(zones)
    }

    /// The origins, for messages.
    pub fn origins(&self) -> Vec<&str> {
        self.zones.iter().map(|z| z.origin.as_str()).collect()
    }

    /// The answer for `name` and `rtype`, or None when no zone is authoritative for the
    /// name (ask live DNS).
    pub fn answer(&self, name: &str, rtype: RecordType) -> Option<Answer> {
        let mut name = normalize(name);
        let mut zone = self.authority(&name)?;
        let mut cnames: Vec<String> = Vec::new();
        loop {
            let records = zone.records.get(&name).map_or(&[][..], Vec::as_slice);
            let cname = records.iter().find_map(|r| match &r.data {
                RData::CNAME(c) if rtype != RecordType::CNAME => Some(presentation(&c.0)),
                _ => None,
            });
            if let Some(target) = cname {
                // A loop or an endless chain: what is followed so far, for the resolver's
                // own chain check to name.
                if cnames.len() >= MAX_CNAME_LINKS || cnames.contains(&target) {
                    return Some(Answer {
                        cnames,
                        found: Found::NoData,
                    });
                }
                cnames.push(target.clone());
                name = target;
                match self.authority(&name) {
                    Some(z) => zone = z,
                    None => {
                        return Some(Answer {
                            cnames,
                            found: Found::Live(name),
                        });
                    }
                }
                continue;
            }
            let wanted: Vec<Record> = records
                .iter()
                .filter(|r| r.record_type() == rtype)
                .cloned()
                .collect();
            let address = matches!(rtype, RecordType::A | RecordType::AAAA);
            let has_address = records
                .iter()
                .any(|r| matches!(r.record_type(), RecordType::A | RecordType::AAAA));
            let found = if address && !has_address {
                Found::Live(name)
            } else if !wanted.is_empty() {
                Found::Records(wanted)
            } else if zone.existing.contains(&name) {
                Found::NoData
            } else {
                Found::NxDomain
            };
            return Some(Answer { cnames, found });
        }
    }

    /// The most specific zone at or above `name`, unless the name is delegated away.
    fn authority(&self, name: &str) -> Option<&Zone> {
        let zone = self
            .zones
            .iter()
            .filter(|z| within(name, &z.origin))
            .max_by_key(|z| z.origin.len())?;
        let delegated = zone.delegations.iter().any(|d| within(name, d));
        (!delegated).then_some(zone)
    }
}

impl Zone {
    fn parse(file: &str, origin: Option<&str>, text: &str) -> Result<Zone, ZoneError> {
        let error = |line: Option<usize>, why: String| ZoneError {
            file: file.to_string(),
            line,
            why,
        };
        // $INCLUDE reads other files by path: a zone under review must not make the audit
        // read whatever it names.
        if let Some(i) = text
            .lines()
            .position(|l| l.trim_start().to_ascii_uppercase().starts_with("$INCLUDE"))
        {
            let why = "$INCLUDE is not followed: give each zone file with its own --zone";
            return Err(error(Some(i + 1), why.into()));
        }
        let has_origin = text
            .lines()
            .any(|l| l.trim_start().to_ascii_uppercase().starts_with("$ORIGIN"));
        if origin.is_none() && !has_origin {
            return Err(error(None, NO_ORIGIN.into()));
        }
        let origin = match origin {
            Some(o) => Some(
                Name::from_ascii(format!("{}.", o.trim_end_matches('.')))
                    .map_err(|e| error(None, format!("{o:?} is not a zone name: {e}")))?,
            ),
            None => None,
        };
        let (origin, sets) = match parse(text, origin.clone()) {
            Ok(parsed) => parsed,
            Err(why) if why == "$ORIGIN was not specified" => {
                return Err(error(None, NO_ORIGIN.into()));
            }
            Err(why) => {
                let line = error_line(text, origin, &why);
                return Err(error(line, explained(why)));
            }
        };
        let origin = presentation(&origin);
        let mut zone = Zone {
            origin,
            records: BTreeMap::new(),
            existing: BTreeSet::new(),
            delegations: Vec::new(),
        };
        for record in sets.values().flat_map(|s| s.records_without_rrsigs()) {
            let owner = presentation(&record.name);
            if !within(&owner, &zone.origin) {
                let why = format!("{owner} is outside the zone {}", zone.origin);
                return Err(error(None, why));
            }
            if record.record_type() == RecordType::NS && owner != zone.origin {
                zone.delegations.push(owner.clone());
            }
            let mut at = owner.as_str();
            while at.len() > zone.origin.len() {
                zone.existing.insert(at.to_string());
                at = at.split_once('.').map_or("", |(_, rest)| rest);
            }
            zone.existing.insert(zone.origin.clone());
            zone.records.entry(owner).or_default().push(record.clone());
        }
        Ok(zone)
    }
}

/// The parser's message, with what to do where it names a known limit of the parser
/// rather than an error of the file.
fn explained(why: String) -> String {
    if why.ends_with("unrecognized token in stream: At") {
        // BIND reads `@` in record data as the origin; hickory's parser reads it only as
        // an owner name.
        return format!(
            "{why}: `@` is read only as an owner name, not in record data (`CNAME @`, `MX 10 @`): write the zone's name with its trailing dot there"
        );
    }
    why
}

type Parsed = (
    Name,
    BTreeMap<hickory_resolver::proto::rr::RrKey, hickory_resolver::proto::rr::RecordSet>,
);

/// The parser on the text with a default TTL in front (the file's own `$TTL` replaces it).
fn parse(text: &str, origin: Option<Name>) -> Result<Parsed, String> {
    Parser::new(format!("{DEFAULT_TTL}{text}"), None, origin)
        .parse()
        .map_err(|e| e.to_string())
}

/// The line an error is on: the parser does not say, so the first N lines are parsed for
/// the smallest N that fails the same way (parsing stops at the first error, so every
/// longer prefix does too).
fn error_line(text: &str, origin: Option<Name>, why: &str) -> Option<usize> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let fails_at = |n: usize| {
        let prefix: String = lines[..n].concat();
        parse(&prefix, origin.clone()).err().as_deref() == Some(why)
    };
    let (mut low, mut high) = (0, lines.len());
    if !fails_at(high) {
        return None;
    }
    while low + 1 < high {
        let mid = (low + high) / 2;
        if fails_at(mid) {
            high = mid;
        } else {
            low = mid;
        }
    }
    Some(high)
}

/// Whether `name` is `zone` or below it.
fn within(name: &str, zone: &str) -> bool {
    name == zone || zone.is_empty() || name.ends_with(&format!(".{zone}"))
}

/// A name normalized, without the root dot.
fn presentation(name: &Name) -> String {
    normalize(&name.to_ascii())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A zone as a team keeps it: no SOA, no $TTL, relative names, `@`, comments, a TXT
    /// record in two strings, a CNAME inside the zone and one out of it, a delegation.
    const EXAMPLE: &str = r#"$ORIGIN example.com.
; the mail setup
@            IN MX 10 mx1
@            IN MX 20 mx3.example.com.   ; new
mx1          IN A     192.0.2.1
mx1          IN AAAA  2001:db8::1
mx3          IN A     192.0.2.3
_mta-sts     IN TXT   "v=STSv1; " "id=20250101"
mta-sts      IN CNAME sts.hosting.example.net.
www          300 IN CNAME web
web          IN A     192.0.2.80
_tcp.a.b     IN TXT   "deep"
lab          IN NS    ns.lab.example.com.
mx4          IN TXT   "no address here"
"#;

    fn zones(files: &[(&str, Option<&str>, &str)]) -> Result<Zones, ZoneError> {
        let files: Vec<_> = files
            .iter()
            .map(|(f, o, t)| (f.to_string(), o.map(str::to_string), t.to_string()))
            .collect();
        Zones::parse(&files)
    }

    fn example() -> Zones {
        zones(&[("example.com.zone", None, EXAMPLE)]).expect("the zone parses")
    }

    fn found(z: &Zones, name: &str, rtype: RecordType) -> Option<Found> {
        z.answer(name, rtype).map(|a| a.found)
    }

    fn data(z: &Zones, name: &str, rtype: RecordType) -> Vec<String> {
        match found(z, name, rtype) {
            Some(Found::Records(records)) => records.iter().map(|r| r.data.to_string()).collect(),
            other => panic!("{name} {rtype}: {other:?}"),
        }
    }

    #[test]
    fn the_apex_relative_names_and_multi_string_txt_are_read() {
        let z = example();
        assert_eq!(z.origins(), ["example.com"]);
        let mut mx = data(&z, "example.com", RecordType::MX);
        mx.sort();
        assert_eq!(mx, ["10 mx1.example.com.", "20 mx3.example.com."]);
        assert_eq!(data(&z, "MX1.Example.com.", RecordType::A), ["192.0.2.1"]);
        assert_eq!(
            data(&z, "mx1.example.com", RecordType::AAAA),
            ["2001:db8::1"]
        );
        match found(&z, "_mta-sts.example.com", RecordType::TXT) {
            Some(Found::Records(r)) => match &r[0].data {
                RData::TXT(t) => assert_eq!(
                    t.txt_data.iter().map(|s| s.to_vec()).collect::<Vec<_>>(),
                    [b"v=STSv1; ".to_vec(), b"id=20250101".to_vec()]
                ),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_file_without_ttl_gets_the_default_and_its_own_ttl_wins() {
        let z = example();
        let ttl = |name: &str| match found(&z, name, RecordType::A) {
            Some(Found::Records(r)) => r[0].ttl,
            other => panic!("{other:?}"),
        };
        assert_eq!(ttl("mx1.example.com"), 3600);
        assert_eq!(ttl("web.example.com"), 3600);
        let z = zones(&[(
            "z",
            None,
            "$ORIGIN example.org.\n$TTL 60\nmx IN A 192.0.2.9\n",
        )])
        .expect("parses");
        match found(&z, "mx.example.org", RecordType::A) {
            Some(Found::Records(r)) => assert_eq!(r[0].ttl, 60),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn nxdomain_and_nodata_are_told_apart() {
        let z = example();
        assert_eq!(
            found(&z, "nope.example.com", RecordType::TXT),
            Some(Found::NxDomain)
        );
        assert_eq!(
            found(&z, "mx1.example.com", RecordType::TXT),
            Some(Found::NoData)
        );
        // An empty non-terminal exists.
        assert_eq!(
            found(&z, "a.b.example.com", RecordType::TXT),
            Some(Found::NoData)
        );
        assert_eq!(
            found(&z, "b.example.com", RecordType::MX),
            Some(Found::NoData)
        );
    }

    #[test]
    fn cnames_are_followed_inside_the_zone_and_out_of_it() {
        let z = example();
        let a = z
            .answer("www.example.com", RecordType::A)
            .expect("in the zone");
        assert_eq!(a.cnames, ["web.example.com"]);
        assert!(matches!(a.found, Found::Records(_)));
        let a = z
            .answer("mta-sts.example.com", RecordType::A)
            .expect("in the zone");
        assert_eq!(a.cnames, ["sts.hosting.example.net"]);
        assert_eq!(a.found, Found::Live("sts.hosting.example.net".into()));
        // Asked for the CNAME itself, the zone gives it.
        assert_eq!(
            data(&z, "www.example.com", RecordType::CNAME),
            ["web.example.com."]
        );
    }

    #[test]
    fn a_cname_loop_stops_with_the_chain_so_far() {
        let text = "$ORIGIN example.com.\na IN CNAME b\nb IN CNAME a\n";
        let z = zones(&[("z", None, text)]).expect("parses");
        let a = z
            .answer("a.example.com", RecordType::TXT)
            .expect("in the zone");
        assert_eq!(a.cnames, ["b.example.com", "a.example.com"]);
        assert_eq!(a.found, Found::NoData);
    }

    #[test]
    fn hosts_the_zone_gives_no_address_resolve_live() {
        let z = example();
        assert_eq!(
            found(&z, "mx4.example.com", RecordType::A),
            Some(Found::Live("mx4.example.com".into()))
        );
        assert_eq!(
            found(&z, "mx9.example.com", RecordType::AAAA),
            Some(Found::Live("mx9.example.com".into()))
        );
        // A host with only an A record has no AAAA: that is the zone's answer.
        assert_eq!(
            found(&z, "mx3.example.com", RecordType::AAAA),
            Some(Found::NoData)
        );
    }

    #[test]
    fn names_outside_every_zone_and_delegated_names_go_live() {
        let z = example();
        assert_eq!(z.answer("example.net", RecordType::MX), None);
        assert_eq!(z.answer("notexample.com", RecordType::MX), None);
        assert_eq!(z.answer("x.lab.example.com", RecordType::TXT), None);
        assert_eq!(z.answer("lab.example.com", RecordType::TXT), None);
    }

    #[test]
    fn the_most_specific_zone_wins() {
        let sub = "$ORIGIN mail.example.com.\n@ IN MX 10 mx\nmx IN A 192.0.2.50\n";
        let z = zones(&[("a", None, EXAMPLE), ("b", None, sub)]).expect("parses");
        assert_eq!(
            data(&z, "mx.mail.example.com", RecordType::A),
            ["192.0.2.50"]
        );
        assert_eq!(data(&z, "mx1.example.com", RecordType::A), ["192.0.2.1"]);
    }

    #[test]
    fn the_origin_comes_from_the_command_line_when_the_file_has_none() {
        let z = zones(&[(
            "db.example.com",
            Some("example.com"),
            "@ IN MX 10 mx\nmx IN A 192.0.2.1\n",
        )])
        .expect("parses");
        assert_eq!(data(&z, "mx.example.com", RecordType::A), ["192.0.2.1"]);
        let e = zones(&[("db.example.com", None, "@ IN MX 10 mx\n")]).expect_err("no origin");
        assert!(
            e.to_string()
                .starts_with("db.example.com: the file has no $ORIGIN"),
            "{e}"
        );
    }

    #[test]
    fn an_at_sign_in_record_data_is_named_as_the_parser_limit_it_is() {
        let text = "$ORIGIN example.com.\n@ IN MX 10 mx1\nwww IN CNAME @\n";
        let e = zones(&[("z.zone", None, text)]).expect_err("refused");
        assert_eq!(e.line, Some(3));
        assert!(
            e.why
                .contains("write the zone's name with its trailing dot"),
            "{e}"
        );
    }

    #[test]
    fn syntax_errors_name_the_file_and_line() {
        let text = "$ORIGIN example.com.\n; fine\n@ IN MX 10 mx1\n(\nmx1 IN A 192.0.2.1\n";
        let broken = text.replace("(\n", "mx2 IN A not-an-address\n");
        let e = zones(&[("zones/example.com", None, &broken)]).expect_err("a syntax error");
        assert_eq!(
            (e.file.as_str(), e.line),
            ("zones/example.com", Some(4)),
            "{e}"
        );
        assert!(
            e.to_string().starts_with("zones/example.com line 4: "),
            "{e}"
        );
        let e =
            zones(&[("z", None, "$ORIGIN example.com.\n\n\n@ IN BOGUS x\n")]).expect_err("a type");
        assert_eq!(e.line, Some(4), "{e}");
        let e = zones(&[("z", None, "$ORIGIN example.com.\n$INCLUDE /etc/passwd\n")])
            .expect_err("no include");
        assert_eq!(e.line, Some(2), "{e}");
    }

    #[test]
    fn two_files_for_one_zone_and_records_outside_it_are_refused() {
        let e = zones(&[("a", None, EXAMPLE), ("b", None, EXAMPLE)]).expect_err("twice");
        assert!(e.why.contains("already given"), "{e}");
        let e = zones(&[(
            "a",
            None,
            "$ORIGIN example.com.\nmx.example.net. IN A 192.0.2.1\n",
        )])
        .expect_err("outside");
        assert!(e.why.contains("outside the zone"), "{e}");
    }
}
