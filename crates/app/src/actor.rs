//! Who does something: the structured actor every audit event names. Built by the adapters
//! from what they authenticated (a session's account, an API token, the CLI's `--as` or OS
//! user, a system component), never from free text a caller typed, so an actor can't be
//! forged through a name.

use serde::{Deserialize, Serialize};

/// The kind of actor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// A signed-in account (web session).
    Account,
    /// An API token.
    ApiToken,
    /// The `steward` command line on this host.
    Cli,
    /// Steward itself (scheduler, job runner, first-run bootstrap).
    System,
    /// Okta (changes seen in the System Log).
    Okta,
}

impl ActorKind {
    /// `account`, `api_token`, `cli`, `system`, `okta`.
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::Account => "account",
            ActorKind::ApiToken => "api_token",
            ActorKind::Cli => "cli",
            ActorKind::System => "system",
            ActorKind::Okta => "okta",
        }
    }
}

/// An actor: kind, a stable id (account or token id, component name) and a display name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// Kind.
    pub kind: ActorKind,
    /// Stable id within the kind.
    pub id: String,
    /// Display name.
    pub name: String,
}

impl Actor {
    /// A signed-in account.
    pub fn account(id: i64, username: &str) -> Actor {
        Actor {
            kind: ActorKind::Account,
            id: id.to_string(),
            name: username.to_owned(),
        }
    }

    /// An API token (its id and name).
    pub fn api_token(id: i64, name: &str) -> Actor {
        Actor {
            kind: ActorKind::ApiToken,
            id: id.to_string(),
            name: name.to_owned(),
        }
    }

    /// The CLI, acting as a Steward account (`--as`) or as the OS user.
    pub fn cli(account_id: Option<i64>, name: &str) -> Actor {
        Actor {
            kind: ActorKind::Cli,
            id: account_id.map(|i| i.to_string()).unwrap_or_default(),
            name: name.to_owned(),
        }
    }

    /// A component of Steward (`scheduler`, `jobs`, `bootstrap`).
    pub fn system(component: &str) -> Actor {
        Actor {
            kind: ActorKind::System,
            id: component.to_owned(),
            name: component.to_owned(),
        }
    }

    /// Okta itself, or another client of the org.
    pub fn okta(client_id: &str) -> Actor {
        Actor {
            kind: ActorKind::Okta,
            id: client_id.to_owned(),
            name: client_id.to_owned(),
        }
    }
}

/// What an action was done to: a kind (`account`, `connection`, …) and an id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// Kind.
    pub kind: String,
    /// Id (a name where names are the stable key, e.g. connections and accounts).
    pub id: String,
}

impl Target {
    /// A target.
    pub fn new(kind: &str, id: impl Into<String>) -> Target {
        Target {
            kind: kind.to_owned(),
            id: id.into(),
        }
    }
}
