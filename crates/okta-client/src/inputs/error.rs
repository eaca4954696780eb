//! [`InputError`]: one error type for everything an admin can paste wrong.
//!
//! Each variant names the field ([`InputError::field`]), says what is wrong
//! (`Display`) and how to fix it ([`InputError::fix`]). None of the messages
//! ever quote a private key or a client secret back to the user.

use std::fmt;

/// The setup field an [`InputError`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// The Okta domain (`company.okta.com`).
    Domain,
    /// The API Services app's Client ID (`0oa…`).
    ClientId,
    /// The private key (JWK or PEM).
    PrivateKey,
    /// The key id (`kid`) given next to the private key.
    KeyId,
    /// The DPoP setting.
    Dpop,
}

impl Field {
    /// The field's name as shown in the setup form.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Domain => "Okta domain",
            Field::ClientId => "Client ID",
            Field::PrivateKey => "private key",
            Field::KeyId => "key ID",
            Field::Dpop => "DPoP",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something an admin pasted is not usable. See [`InputError::fix`] for the remedy.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// The field is empty.
    #[error("{field} is empty")]
    Empty {
        /// Which field.
        field: Field,
    },

    // ---- Okta domain ----
    /// Still the `{yourOktaDomain}` placeholder from Okta's docs.
    #[error("the Okta domain is still a documentation placeholder")]
    DomainPlaceholder,
    /// A scheme other than https (or http for a loopback simulator).
    #[error("the Okta domain uses the unsupported scheme \"{scheme}\"")]
    DomainScheme {
        /// The scheme found.
        scheme: String,
    },
    /// `user:password@` in the URL.
    #[error("the Okta domain contains a user name or password")]
    DomainUserinfo,
    /// A port on a non-loopback host.
    #[error("the Okta domain has a port ({port}); Okta orgs are only served on 443")]
    DomainPort {
        /// The port found.
        port: u16,
    },
    /// An IP address instead of a host name.
    #[error("the Okta domain is an IP address")]
    DomainIpLiteral,
    /// `localhost`/loopback while loopback is not allowed.
    #[error("the Okta domain points at this machine ({host})")]
    DomainLoopback {
        /// The host found.
        host: String,
    },
    /// The Admin Console host (`company-admin.okta.com`).
    #[error("\"{host}\" is the Admin Console host, which the API does not accept")]
    DomainAdminHost {
        /// The host found.
        host: String,
        /// The org host to use instead.
        suggestion: String,
    },
    /// A path that is not one of Okta's UI pages.
    #[error("the Okta domain has an unexpected path \"{path}\"")]
    DomainPath {
        /// The path found.
        path: String,
    },
    /// A host that cannot be an org (no dot, bare `okta.com`, nested subdomain…).
    #[error("\"{host}\" is not an Okta org domain")]
    DomainNotAnOrg {
        /// The host found.
        host: String,
        /// A likely correction, if one can be guessed.
        suggestion: Option<String>,
    },
    /// Not parseable as a host name or URL.
    #[error("the Okta domain is not a valid host name or URL: {reason}")]
    DomainMalformed {
        /// Why parsing failed.
        reason: String,
    },

    // ---- Client ID ----
    /// A URL instead of the Client ID.
    #[error("the Client ID looks like a URL")]
    ClientIdIsUrl,
    /// Looks like a client secret or an API token.
    #[error("the Client ID looks like a secret (client secret or API token)")]
    ClientIdIsSecret,
    /// Another Okta object id (`00u` user, `00g` group, `00o` org, `0ua` assignment…).
    #[error("the Client ID is an Okta {kind} id, not an app's Client ID")]
    ClientIdIsOtherId {
        /// What kind of object the id belongs to.
        kind: &'static str,
    },
    /// A key (JSON or PEM) pasted into the Client ID field.
    #[error("the Client ID field contains a key")]
    ClientIdIsKey,
    /// Wrong length or characters.
    #[error("the Client ID is malformed: {reason}")]
    ClientIdMalformed {
        /// What is wrong with it.
        reason: String,
    },

    // ---- Private key ----
    /// A public key, certificate or public JWK.
    #[error("this is the public key, not the private key")]
    KeyIsPublic,
    /// An encrypted PEM.
    #[error("the private key is encrypted (password protected)")]
    KeyEncrypted,
    /// RSA shorter than 2048 bits.
    #[error("the RSA key is too short: {detail}")]
    KeyWeakRsa {
        /// Details from the key parser.
        detail: String,
    },
    /// An EC curve other than P-256/P-384.
    #[error("unsupported elliptic curve: {curve}")]
    KeyUnsupportedCurve {
        /// The curve found.
        curve: String,
    },
    /// Ed25519, DSA, OpenSSH or another key type Okta does not accept here.
    #[error("unsupported key type: {detail}")]
    KeyUnsupportedType {
        /// What was found.
        detail: String,
    },
    /// A JWKS with several keys and no key id to choose one.
    #[error("the key set contains {} keys ({})", kids.len(), kids.join(", "))]
    KeyJwksMultiple {
        /// The `kid`s of the keys (`<no kid>` when absent).
        kids: Vec<String>,
    },
    /// A JWKS with no keys.
    #[error("the key set contains no keys")]
    KeyJwksEmpty,
    /// The given key id does not match the key (or any key in the set).
    #[error("the key ID \"{given}\" does not match the key ({found})")]
    KeyIdMismatch {
        /// The key id typed by the admin.
        given: String,
        /// What the key carries.
        found: String,
    },
    /// Neither JSON (JWK/JWKS) nor PEM.
    #[error("the private key is neither a JWK (JSON) nor a PEM block")]
    KeyNotRecognized,
    /// JSON or PEM, but broken.
    #[error("the private key is invalid: {detail}")]
    KeyInvalid {
        /// Details from the parser (never key material).
        detail: String,
    },

    // ---- DPoP mode ----
    /// Not `auto`, `on` or `off`.
    #[error("\"{value}\" is not a DPoP setting")]
    DpopMode {
        /// The value given.
        value: String,
    },
}

impl InputError {
    /// The field this error is about.
    pub fn field(&self) -> Field {
        use InputError::*;
        match self {
            Empty { field } => *field,
            DomainPlaceholder
            | DomainScheme { .. }
            | DomainUserinfo
            | DomainPort { .. }
            | DomainIpLiteral
            | DomainLoopback { .. }
            | DomainAdminHost { .. }
            | DomainPath { .. }
            | DomainNotAnOrg { .. }
            | DomainMalformed { .. } => Field::Domain,
            ClientIdIsUrl
            | ClientIdIsSecret
            | ClientIdIsOtherId { .. }
            | ClientIdIsKey
            | ClientIdMalformed { .. } => Field::ClientId,
            KeyIdMismatch { .. } => Field::KeyId,
            KeyIsPublic
            | KeyEncrypted
            | KeyWeakRsa { .. }
            | KeyUnsupportedCurve { .. }
            | KeyUnsupportedType { .. }
            | KeyJwksMultiple { .. }
            | KeyJwksEmpty
            | KeyNotRecognized
            | KeyInvalid { .. } => Field::PrivateKey,
            DpopMode { .. } => Field::Dpop,
        }
    }

    /// What the admin should do, in one or two sentences.
    pub fn fix(&self) -> String {
        use InputError::*;
        const DOMAIN: &str = "Enter your org's domain as shown in the Okta Admin Console \
                              (top right menu), for example company.okta.com.";
        const KEY: &str = "In Okta, open the API Services app > General > Public Keys, \
                           generate a key and copy the private key (JSON or PEM).";
        match self {
            Empty {
                field: Field::Domain,
            } => DOMAIN.to_owned(),
            Empty {
                field: Field::ClientId,
            } => "Copy the Client ID from the API Services app's General tab in Okta.".to_owned(),
            Empty {
                field: Field::PrivateKey,
            } => KEY.to_owned(),
            Empty { field } => format!("Fill in the {field}."),
            DomainPlaceholder => DOMAIN.to_owned(),
            DomainScheme { .. } => {
                "Use https:// or just the host name, for example company.okta.com.".to_owned()
            }
            DomainUserinfo => "Remove the user name and password from the URL.".to_owned(),
            DomainPort { .. } => "Remove the port: use company.okta.com.".to_owned(),
            DomainIpLiteral | DomainLoopback { .. } => DOMAIN.to_owned(),
            DomainAdminHost { suggestion, .. } => {
                format!("Use {suggestion}: the APIs live on the org domain without \"-admin\".")
            }
            DomainPath { .. } => "Enter only the domain, for example company.okta.com.".to_owned(),
            DomainNotAnOrg {
                suggestion: Some(s),
                ..
            } => format!("Did you mean {s}?"),
            DomainNotAnOrg { .. } | DomainMalformed { .. } => DOMAIN.to_owned(),
            ClientIdIsUrl | ClientIdIsOtherId { .. } | ClientIdMalformed { .. } => {
                "Copy the Client ID (20 characters starting with 0oa) from the API Services \
                 app's General tab > Client Credentials."
                    .to_owned()
            }
            ClientIdIsSecret => "Paste the Client ID (starts with 0oa), not a secret. If you \
                                 pasted a client secret, rotate it in Okta: it has been exposed."
                .to_owned(),
            ClientIdIsKey => {
                "Paste the key into the private key field and the Client ID (0oa…) here.".to_owned()
            }
            KeyIsPublic => "This is the public key: copy the private key in Okta (step 7). \
                            The private key is shown only once, right after Generate new key; \
                            if it is lost, generate a new key."
                .to_owned(),
            KeyEncrypted => "Decrypt it first, e.g. `openssl pkcs8 -in key.pem -out plain.pem` \
                             (store the result as a secret), or paste Okta's JWK."
                .to_owned(),
            KeyWeakRsa { .. } => "Use an RSA key of at least 2048 bits: in Okta, Generate new key \
                                  creates one."
                .to_owned(),
            KeyUnsupportedCurve { .. } | KeyUnsupportedType { .. } => {
                format!("Use an RSA (2048 bits or more) or EC P-256/P-384 key. {KEY}")
            }
            KeyJwksMultiple { .. } => {
                "Enter the key ID (kid) of the key to use, or paste a single key.".to_owned()
            }
            KeyJwksEmpty | KeyNotRecognized | KeyInvalid { .. } => KEY.to_owned(),
            KeyIdMismatch { .. } => "Leave the key ID empty to use the key's own kid, or copy \
                                     the kid shown under Public Keys in Okta."
                .to_owned(),
            DpopMode { .. } => "Use auto (recommended), on or off.".to_owned(),
        }
    }
}
