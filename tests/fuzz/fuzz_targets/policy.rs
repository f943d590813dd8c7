//! A policy body from a hostile web server: parsing never panics, and a policy the
//! parser accepts prints back to text that parses to the same policy.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let parsed = mtasts::policy::parse(body);
    if let (true, Some(policy)) = (parsed.valid, &parsed.policy) {
        let again = mtasts::policy::parse(policy.to_string().as_bytes());
        assert_eq!(again.policy.as_ref(), Some(policy));
    }
});
