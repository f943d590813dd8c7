//! Text from a server, escaped for a terminal: no control character, bidi override or
//! other invisible format character survives.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let shown = mtasts::report::escape(&text);
    assert!(!shown.chars().any(|c| c.is_control()
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)));
});
