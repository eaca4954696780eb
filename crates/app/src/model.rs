//! The application's vocabulary: roles, accounts, sessions, API tokens and connections as
//! the use cases hand them out. None of them carries a secret in clear: a session's CSRF
//! token is a [`Secret`], password hashes are [`PasswordHashString`]s, API tokens only
//! their SHA-256, and a connection no key material at all.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use okta_client::DpopMode;
use serde::Serialize;

use crate::secret::{PasswordHashString, Secret};

/// What an account (or an API token) may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read only.
    Viewer,
    /// Read, and approve access requests.
    Approver,
    /// Everything, including settings, connections, accounts and tokens.
    Admin,
}

impl Role {
    /// `viewer`, `approver`, `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Approver => "approver",
            Role::Admin => "admin",
        }
    }

    /// Whether this role includes `needed` (admin ⊇ approver ⊇ viewer).
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "viewer" => Ok(Role::Viewer),
            "approver" => Ok(Role::Approver),
            "admin" => Ok(Role::Admin),
            other => Err(format!(
                "unknown role \"{}\": use admin, approver or viewer",
                other.chars().take(32).collect::<String>()
            )),
        }
    }
}

/// An account id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct AccountId(pub i64);

/// A person who signs in.
#[derive(Clone, Debug)]
pub struct Account {
    /// Id.
    pub id: AccountId,
    /// Unique, compared case-insensitively (stored lowercase).
    pub username: String,
    /// argon2id PHC string.
    pub password_hash: PasswordHashString,
    /// Role.
    pub role: Role,
    /// Creation time.
    pub created: DateTime<Utc>,
    /// A disabled account can't sign in and its sessions and tokens stop working.
    pub disabled: bool,
}

/// The refusal of a change that would leave no enabled admin.
pub const LAST_ADMIN: &str =
    "the last enabled admin can't be demoted or disabled: make another account admin first";

/// A signed-in browser. The cookie holds the random id; only its SHA-256 is stored.
#[derive(Clone, Debug)]
pub struct Session {
    /// Hex SHA-256 of the cookie value.
    pub id_hash: String,
    /// Who.
    pub account: AccountId,
    /// The per-session CSRF token embedded in forms (random 256-bit).
    pub csrf: Secret,
    /// Creation time.
    pub created: DateTime<Utc>,
    /// Expiry (sliding: moved forward on use).
    pub expires: DateTime<Utc>,
    /// Last request.
    pub last_seen: DateTime<Utc>,
}

/// An API token id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct TokenId(pub i64);

/// An API token (`stw_…`), shown once at creation; only its SHA-256 is stored.
#[derive(Clone, Debug, Serialize)]
pub struct ApiToken {
    /// Id.
    pub id: TokenId,
    /// What it is for (e.g. "terraform").
    pub name: String,
    /// Role; requests with it act with this role.
    pub role: Role,
    /// Hex SHA-256 of the token.
    #[serde(skip)]
    pub hash: String,
    /// The admin who created it.
    pub created_by: AccountId,
    /// Creation time.
    pub created: DateTime<Utc>,
    /// Last request made with it.
    pub last_used: Option<DateTime<Utc>>,
}

/// An Okta connection as the UI and the API show it. Holds no key material.
#[derive(Clone, Debug, Serialize)]
pub struct Connection {
    /// The store's id (the `conn` of every inventory read).
    #[serde(skip)]
    pub id: i64,
    /// Unique name (e.g. `okta`).
    pub name: String,
    /// The org domain as parsed (`company.okta.com`, or `127.0.0.1:PORT` for the simulator).
    pub domain: String,
    /// The API Services app's Client ID.
    pub client_id: String,
    /// The `kid` sent in client assertions.
    pub key_id: Option<String>,
    /// The DPoP setting.
    #[serde(serialize_with = "ser_dpop")]
    pub dpop: DpopMode,
    /// RFC 7638 thumbprint of the public key.
    pub key_thumbprint: String,
    /// `ok`, or `failing` when it was saved with `--force` despite a failing check.
    pub status: String,
    /// An extra CA certificate is configured (its PEM is not shown).
    pub ca_cert: bool,
    /// Plain http on loopback is allowed (the simulator only).
    pub allow_insecure_loopback: bool,
    /// When the connection was created.
    pub created: DateTime<Utc>,
    /// When the current key was set (creation or last rotation).
    pub key_created: DateTime<Utc>,
}

fn ser_dpop<S: serde::Serializer>(d: &DpopMode, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(d.as_str())
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_order_and_parse() {
        assert!(Role::Admin.allows(Role::Approver) && !Role::Viewer.allows(Role::Approver));
        assert_eq!("Approver".parse::<Role>(), Ok(Role::Approver));
        assert!("root".parse::<Role>().is_err());
        let now = Utc::now();
        let s = Session {
            id_hash: "h".into(),
            account: AccountId(1),
            csrf: Secret::new("csrf-value-123"),
            created: now,
            expires: now,
            last_seen: now,
        };
        assert!(!format!("{s:?}").contains("csrf-value-123"));
    }
}
