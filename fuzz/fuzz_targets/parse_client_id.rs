//! Any string given as the client id: parsing never panics, and an accepted id has Okta's
//! shape (`0oa` and 17 more ASCII alphanumerics).
#![no_main]

use libfuzzer_sys::fuzz_target;
use okta_client::ClientId;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(id) = ClientId::parse(s) {
        let id = id.as_str();
        assert_eq!(id.len(), 20, "{id:?}");
        assert!(id.starts_with("0oa") && id.bytes().all(|b| b.is_ascii_alphanumeric()));
    }
});
