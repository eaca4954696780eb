//! Any text pasted as the private key (JWK, JWKS, PEM in any form, with quotes and escapes):
//! parsing never panics, and a key that parses can sign.
#![no_main]

use libfuzzer_sys::fuzz_target;
use okta_client::PrivateKeyInput;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let _ = PrivateKeyInput::parse(s, None);
    let _ = PrivateKeyInput::parse(s, Some("kid-1"));
});
