//! Parsing and validation of what an admin pastes into the setup form.
//!
//! * [`OktaDomain`]: `company.okta.com`, browser URLs, custom domains, loopback simulators.
//! * [`ClientId`]: the API Services app's `0oa…` id.
//! * [`PrivateKeyInput`]: Okta's JWK, a JWKS or a PEM key.
//! * [`DpopMode`]: `auto`, `on`, `off`.
//!
//! Every failure is an [`InputError`] naming the [`Field`], the problem and the fix.

mod client_id;
mod domain;
mod error;
mod key;

use std::fmt;
use std::str::FromStr;

pub use client_id::ClientId;
pub use domain::OktaDomain;
pub use error::{Field, InputError};
pub use key::PrivateKeyInput;
pub(crate) use key::map_jose;

/// Whether to use DPoP (RFC 9449) for the token request and API calls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum DpopMode {
    /// Send a proof with the first token request and use whatever `token_type`
    /// Okta returns. Works whether or not the app requires DPoP, and no failed
    /// grant is logged at Okta.
    #[default]
    Auto,
    /// Require a DPoP-bound token; a `Bearer` answer is an error.
    On,
    /// Never send proofs (the app's "Require DPoP" box must be unchecked).
    Off,
}

impl DpopMode {
    /// `auto`, `on` or `off`.
    pub fn as_str(self) -> &'static str {
        match self {
            DpopMode::Auto => "auto",
            DpopMode::On => "on",
            DpopMode::Off => "off",
        }
    }
}

impl fmt::Display for DpopMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DpopMode {
    type Err = InputError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match strip_quotes(s).to_ascii_lowercase().as_str() {
            "" | "auto" | "default" => Ok(DpopMode::Auto),
            "on" | "true" | "yes" | "required" | "require" => Ok(DpopMode::On),
            "off" | "false" | "no" | "disabled" => Ok(DpopMode::Off),
            _ => Err(InputError::DpopMode {
                value: s.trim().chars().take(32).collect(),
            }),
        }
    }
}

/// Trims whitespace and one pair of surrounding quotes (`"`, `'`, `` ` ``).
pub(crate) fn strip_quotes(s: &str) -> &str {
    let mut s = s.trim();
    for q in ['"', '\'', '`'] {
        if s.len() >= 2 && s.starts_with(q) && s.ends_with(q) {
            s = s[1..s.len() - 1].trim();
            break;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dpop_mode_from_str() {
        assert_eq!("".parse::<DpopMode>(), Ok(DpopMode::Auto));
        assert_eq!(" ON ".parse::<DpopMode>(), Ok(DpopMode::On));
        assert_eq!("off".parse::<DpopMode>(), Ok(DpopMode::Off));
        let e = "maybe".parse::<DpopMode>().expect_err("bad");
        assert_eq!(e.field(), Field::Dpop);
    }
}
