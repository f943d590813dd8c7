//! A server's answer to the hand-made legacy ClientHello: parsing never panics, and a
//! verdict never needs more than the bytes the reader allows.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Mid-stream and at the end of the stream alike.
    let _ = mtasts::net::legacy::parse_answer(data, false);
    let _ = mtasts::net::legacy::parse_answer(data, true);
});
