//! A zone file handed to `--zone` (hostile as any file a user is given; UTF-8, as the
//! CLI requires): parsing never panics, with the origin named on the command line or left to the file's `$ORIGIN`;
//! and a zone that parses answers questions for a few names and record types (the
//! owners in the text among them) without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mtasts::zone::Zones;

/// A, NS, CNAME, MX, TXT, AAAA, TLSA and one the zones never hold.
const TYPES: [u16; 8] = [1, 2, 5, 15, 16, 28, 52, 999];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for origin in [None, Some("example.com".to_string())] {
        let files = [("fuzz.zone".to_string(), origin, text.to_string())];
        let Ok(zones) = Zones::parse(&files) else {
            continue;
        };
        let owners = text
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .take(8);
        let names = ["example.com", "_mta-sts.example.com", "mx.example.com.", "", "."];
        for name in names.into_iter().chain(owners) {
            for rtype in TYPES {
                let _ = zones.answer(name, rtype.into());
            }
        }
    }
});
