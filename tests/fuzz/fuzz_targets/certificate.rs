//! A certificate chain from a hostile server (certificates split on a 4-byte marker):
//! summarising and judging never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let chain: Vec<Vec<u8>> = data.split(|b| *b == 0xfe).map(<[u8]>::to_vec).collect();
    for der in &chain {
        let _ = mtasts::cert::summarize(der);
    }
    let roots = rustls::RootCertStore::empty();
    let _ = mtasts::cert::judge_chain(&chain, "mx.example.com", 1_800_000_000, &roots);
});
