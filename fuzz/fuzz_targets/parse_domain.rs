//! Any string given as the Okta domain: parsing never panics, and an accepted domain is
//! stable (parsing its own base URL gives the same host) and never a private or loopback
//! host unless the development flag allows it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use okta_client::OktaDomain;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    for allow_loopback in [false, true] {
        if let Ok(domain) = OktaDomain::parse(s, allow_loopback) {
            let again = OktaDomain::parse(&domain.base_url(), allow_loopback)
                .expect("a parsed domain's base URL parses again");
            assert_eq!(again.host(), domain.host());
            if !allow_loopback {
                assert!(!domain.is_loopback(), "loopback accepted without the flag: {s:?}");
                assert!(domain.is_https(), "plain http accepted without the flag: {s:?}");
            }
        }
    }
});
