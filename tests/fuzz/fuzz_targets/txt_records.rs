//! TXT RRsets from a hostile zone (records split on 0xFF, strings on 0x00): the
//! `_mta-sts` and `_smtp._tls` parsers never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mtasts::observe::TxtRecord;

fuzz_target!(|data: &[u8]| {
    let records: Vec<TxtRecord> = data
        .split(|b| *b == 0xff)
        .map(|r| TxtRecord {
            strings: r.split(|b| *b == 0).map(<[u8]>::to_vec).collect(),
        })
        .collect();
    let _ = mtasts::record::sts_from_txt(&records);
    let _ = mtasts::record::tlsrpt_from_txt(&records);
});
