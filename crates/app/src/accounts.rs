//! Accounts, passwords, sign-in, sessions and API tokens.
//!
//! Guards live here, so the web and the CLI can't differ: user names are 1–64 of
//! `a-z 0-9 . _ - @` (stored lowercase), passwords at least 12 characters (argon2id), the
//! last enabled admin can't be demoted or disabled (checked by the store in the statement
//! that makes the change), nobody disables their own account, and disabling an account or
//! setting its password ends its sessions. Every change records one audit event.

use chrono::Duration;
use serde_json::json;
use steward_store::accounts::{AccountRow, AccountUpdate, AccountUpdated, ApiTokenRow, SessionRow};

use crate::error::{Error, Result};
use crate::model::{Account, AccountId, ApiToken, LAST_ADMIN, Role, Session, TokenId};
use crate::secret::{
    PasswordHashString, Secret, hash_password, random_token, sha256_hex, verify_password,
};
use crate::{Actor, App, Target};

/// The first admin's user name.
pub const BOOTSTRAP_ADMIN: &str = "admin";

/// API tokens start with this, so that leaked ones are easy to find by scanners.
pub const TOKEN_PREFIX: &str = "stw_";

/// The first-run admin: the one-time password is returned once, to be printed once.
#[derive(Debug)]
pub struct BootstrapAdmin {
    /// `admin`.
    pub username: String,
    /// The generated password (redacted in `Debug`).
    pub password: Secret,
}

/// A change to an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountChange {
    /// A new role.
    Role(Role),
    /// Disabled: it can't sign in; its sessions end and its tokens stop working.
    Disable,
    /// Enabled again.
    Enable,
}

/// Checks a user name: 1–64 of `a-z 0-9 . _ - @`, returned lowercase.
pub fn normalize_username(username: &str) -> Result<String> {
    let u = username.trim().to_ascii_lowercase();
    let ok = !u.is_empty()
        && u.len() <= 64
        && u.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c));
    if ok {
        Ok(u)
    } else {
        Err(Error::BadRequest(
            "user names are 1-64 characters: letters, digits, . _ - @".into(),
        ))
    }
}

fn check_length(password: &Secret) -> Result<()> {
    if password.expose().chars().count() < 12 {
        return Err(Error::BadRequest(
            "passwords must be at least 12 characters".into(),
        ));
    }
    Ok(())
}

async fn hash_blocking(password: Secret) -> Result<PasswordHashString> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(Error::internal)?
        .map_err(Error::from)
}

/// A fixed hash checked when the user does not exist, so that both cases cost the same.
fn dummy_hash() -> &'static PasswordHashString {
    static DUMMY: std::sync::OnceLock<PasswordHashString> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        hash_password(&Secret::new("dummy password for timing"))
            .unwrap_or_else(|_| PasswordHashString::from_stored(""))
    })
}

fn account(a: AccountRow) -> Result<Account> {
    Ok(Account {
        id: AccountId(a.id),
        role: a.role.parse().map_err(corrupt)?,
        username: a.username,
        password_hash: PasswordHashString::from_stored(a.password_hash),
        created: a.created_at,
        disabled: a.disabled_at.is_some(),
    })
}

fn token(t: ApiTokenRow) -> Result<ApiToken> {
    Ok(ApiToken {
        id: TokenId(t.id),
        role: t.role.parse().map_err(corrupt)?,
        name: t.name,
        hash: t.token_hash,
        created_by: AccountId(t.created_by),
        created: t.created_at,
        last_used: t.last_used_at,
    })
}

fn account_target(id: AccountId) -> Target {
    Target::new("account", id.0.to_string())
}

fn corrupt(what: String) -> Error {
    Error::internal(steward_store::StoreError::Corrupt(what))
}

impl App {
    /// On first run (no account at all), creates `admin` with a random password and returns
    /// it; afterwards `None`.
    pub async fn bootstrap_admin(&self) -> Result<Option<BootstrapAdmin>> {
        if self.store().count_accounts().await? > 0 {
            return Ok(None);
        }
        let password = random_token()?;
        let actor = Actor::system("bootstrap");
        match self
            .create_account(&actor, BOOTSTRAP_ADMIN, &password, Role::Admin)
            .await
        {
            Ok(_) => {}
            // Another process bootstrapped at the same time: its password is the one printed.
            Err(Error::Conflict(_)) => return Ok(None),
            Err(e) => return Err(e),
        }
        Ok(Some(BootstrapAdmin {
            username: BOOTSTRAP_ADMIN.into(),
            password,
        }))
    }

    /// Creates an account with an argon2id hash of `password`.
    pub async fn create_account(
        &self,
        actor: &Actor,
        username: &str,
        password: &Secret,
        role: Role,
    ) -> Result<Account> {
        let username = normalize_username(username)?;
        check_length(password)?;
        let hash = hash_blocking(password.clone()).await?;
        let event = self.event(
            actor,
            "account.create",
            Target::new("account", ""),
            json!({"username": username, "role": role.as_str()}),
        );
        let row = self
            .store()
            .create_account(&username, hash.as_str(), role.as_str(), self.now(), &event)
            .await
            .map_err(|e| match Error::from(e) {
                Error::Conflict(_) => {
                    Error::Conflict(format!("an account named \"{username}\" already exists"))
                }
                other => other,
            })?;
        let created = account(row)?;
        tracing::info!(account = %created.username, role = role.as_str(), "account created");
        Ok(created)
    }

    /// The account with this id.
    pub async fn find_account(&self, id: AccountId) -> Result<Option<Account>> {
        self.store()
            .find_account(id.0)
            .await?
            .map(account)
            .transpose()
    }

    /// The account with this user name (any case).
    pub async fn find_account_by_username(&self, username: &str) -> Result<Option<Account>> {
        let Ok(name) = normalize_username(username) else {
            return Ok(None);
        };
        self.store()
            .find_account_by_username(&name)
            .await?
            .map(account)
            .transpose()
    }

    /// Every account, by user name.
    pub async fn list_accounts(&self) -> Result<Vec<Account>> {
        self.store()
            .list_accounts()
            .await?
            .into_iter()
            .map(account)
            .collect()
    }

    /// Changes account `id`'s role or enables/disables it. `Conflict` with [`LAST_ADMIN`]
    /// when it would leave no enabled admin; `BadRequest` for disabling oneself.
    pub async fn change_account(
        &self,
        actor: &Actor,
        acting: AccountId,
        id: AccountId,
        change: AccountChange,
    ) -> Result<Account> {
        let before = self.find_account(id).await?.ok_or(Error::NotFound)?;
        let (update, action, details) = match change {
            AccountChange::Role(role) => {
                if role == before.role {
                    return Ok(before);
                }
                (
                    AccountUpdate::Role(role.as_str()),
                    "account.role",
                    json!({"from": before.role.as_str(), "to": role.as_str()}),
                )
            }
            AccountChange::Disable => {
                if id == acting {
                    return Err(Error::BadRequest(
                        "you can't disable your own account; ask another admin".into(),
                    ));
                }
                (
                    AccountUpdate::Disable(self.now()),
                    "account.disable",
                    json!({}),
                )
            }
            AccountChange::Enable => (AccountUpdate::Enable, "account.enable", json!({})),
        };
        let mut details = details;
        details["username"] = json!(before.username);
        let event = self.event(actor, action, account_target(id), details);
        self.update(&before, update, &event).await?;
        self.find_account(id).await?.ok_or(Error::NotFound)
    }

    async fn update(
        &self,
        account: &Account,
        update: AccountUpdate<'_>,
        event: &steward_store::audit::NewAuditEvent,
    ) -> Result<()> {
        match self
            .store()
            .update_account(account.id.0, update, event)
            .await?
        {
            AccountUpdated::Done => Ok(()),
            AccountUpdated::NotFound => Err(Error::NotFound),
            AccountUpdated::LastAdmin => Err(Error::Conflict(format!(
                "{}: {LAST_ADMIN}",
                account.username
            ))),
        }
    }

    /// A new generated password for account `id`, returned once; its sessions end.
    pub async fn reset_password(&self, actor: &Actor, id: AccountId) -> Result<Secret> {
        let target = self.find_account(id).await?.ok_or(Error::NotFound)?;
        let password = random_token()?;
        let event = self.event(
            actor,
            "account.reset_password",
            account_target(id),
            json!({"username": target.username}),
        );
        self.set_password(&target, &password, &event).await?;
        Ok(password)
    }

    /// Changes one's own password after checking the current one; every session of the
    /// account ends.
    pub async fn change_own_password(
        &self,
        actor: &Actor,
        id: AccountId,
        current: Secret,
        new: &Secret,
    ) -> Result<()> {
        let me = self.find_account(id).await?.ok_or(Error::NotFound)?;
        if self.check_password(&me.username, current).await?.is_none() {
            return Err(Error::BadRequest("the current password is wrong".into()));
        }
        let event = self.event(
            actor,
            "account.change_password",
            account_target(id),
            json!({"username": me.username}),
        );
        self.set_password(&me, new, &event).await
    }

    /// Sets the password; the store ends the account's sessions in the same transaction.
    async fn set_password(
        &self,
        account: &Account,
        password: &Secret,
        event: &steward_store::audit::NewAuditEvent,
    ) -> Result<()> {
        check_length(password)?;
        let hash = hash_blocking(password.clone()).await?;
        self.update(account, AccountUpdate::PasswordHash(hash.as_str()), event)
            .await
    }

    /// The account if `password` is right and the account enabled. Costs one argon2id
    /// verification whether or not the user exists.
    pub async fn check_password(
        &self,
        username: &str,
        password: Secret,
    ) -> Result<Option<Account>> {
        let Ok(username) = normalize_username(username) else {
            return Ok(None);
        };
        let account = self.find_account_by_username(&username).await?;
        let hash = account
            .as_ref()
            .map(|a| a.password_hash.clone())
            .unwrap_or_else(|| dummy_hash().clone());
        let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
            .await
            .map_err(Error::internal)?;
        Ok(account.filter(|a| ok && !a.disabled))
    }

    /// Signs in: checks the password and starts a session, returning the account and the
    /// cookie value (the only copy of the session id). A wrong password records
    /// `session.login_failed` with the name tried and `peer` (the client address) and
    /// returns `None`.
    pub async fn login(
        &self,
        username: &str,
        password: Secret,
        peer: Option<std::net::IpAddr>,
    ) -> Result<Option<(Account, Secret)>> {
        let Some(account) = self.check_password(username, password).await? else {
            let tried: String = username
                .trim()
                .to_ascii_lowercase()
                .chars()
                .take(64)
                .collect();
            let ip = peer.map(|i| i.to_string()).unwrap_or_default();
            // The actor is the sign-in form itself: the name typed is only a claim.
            self.record(
                &Actor::system("login"),
                "session.login_failed",
                Target::new("username", tried),
                json!({"ip": ip}),
            )
            .await?;
            return Ok(None);
        };
        let id = random_token()?;
        let now = self.now();
        let idle = Duration::from_std(self.settings().session_idle).map_err(Error::internal)?;
        let row = SessionRow {
            id_hash: sha256_hex(id.expose()),
            account_id: account.id.0,
            csrf: random_token()?.expose().to_owned(),
            created_at: now,
            expires_at: now + idle,
            last_seen_at: now,
        };
        let event = self.event(
            &Actor::account(account.id.0, &account.username),
            "session.login",
            account_target(account.id),
            json!({"username": account.username, "ip": peer.map(|i| i.to_string())}),
        );
        self.store().create_session(&row, &event).await?;
        Ok(Some((account, id)))
    }

    /// Ends one session (sign out).
    pub async fn logout(&self, actor: &Actor, account: AccountId, id_hash: &str) -> Result<()> {
        let event = self.event(actor, "session.logout", account_target(account), json!({}));
        // An already-ended session (another tab signed out) is no change: no event.
        self.store().delete_session(id_hash, &event).await?;
        Ok(())
    }

    /// The live session with this id hash and its (enabled) account: expired sessions are
    /// deleted and refused; use moves the expiry forward (written at most once a minute).
    pub async fn resolve_session(&self, id_hash: &str) -> Result<Option<(Session, Account)>> {
        let Some(row) = self.store().find_session(id_hash).await? else {
            return Ok(None);
        };
        let now = self.now();
        if row.expires_at <= now {
            // Refused; the hourly cleanup job deletes it.
            return Ok(None);
        }
        let Some(account) = self
            .find_account(AccountId(row.account_id))
            .await?
            .filter(|a| !a.disabled)
        else {
            return Ok(None);
        };
        let mut session = Session {
            csrf: Secret::new(row.csrf),
            id_hash: row.id_hash,
            account: AccountId(row.account_id),
            created: row.created_at,
            expires: row.expires_at,
            last_seen: row.last_seen_at,
        };
        if now - session.last_seen > Duration::seconds(60) {
            let idle = Duration::from_std(self.settings().session_idle).map_err(Error::internal)?;
            self.store().touch_session(id_hash, now, now + idle).await?;
            session.last_seen = now;
            session.expires = now + idle;
        }
        Ok(Some((session, account)))
    }

    /// Creates an API token; returns it with the secret `stw_…` value, shown once. The
    /// token's role can't exceed its creator's.
    pub async fn create_token(
        &self,
        actor: &Actor,
        creator: &Account,
        name: &str,
        role: Role,
    ) -> Result<(ApiToken, Secret)> {
        let name = name.trim();
        if name.is_empty() || name.len() > 64 || name.chars().any(char::is_control) {
            return Err(Error::BadRequest(
                "token names are 1-64 printable characters".into(),
            ));
        }
        if !creator.role.allows(role) {
            return Err(Error::Forbidden);
        }
        let secret = Secret::new(format!("{TOKEN_PREFIX}{}", random_token()?.expose()));
        let event = self.event(
            actor,
            "token.create",
            Target::new("api_token", ""),
            json!({"name": name, "role": role.as_str(), "owner": creator.username}),
        );
        let row = self
            .store()
            .create_api_token(
                name,
                role.as_str(),
                &sha256_hex(secret.expose()),
                creator.id.0,
                self.now(),
                &event,
            )
            .await?;
        let created = token(row)?;
        Ok((created, secret))
    }

    /// Every API token, oldest first.
    pub async fn list_tokens(&self) -> Result<Vec<ApiToken>> {
        self.store()
            .list_api_tokens()
            .await?
            .into_iter()
            .map(token)
            .collect()
    }

    /// The token with this id.
    pub async fn find_token(&self, id: TokenId) -> Result<Option<ApiToken>> {
        self.store()
            .find_api_token(id.0)
            .await?
            .map(token)
            .transpose()
    }

    /// Revokes a token: requests with it fail from now on.
    pub async fn revoke_token(&self, actor: &Actor, id: TokenId) -> Result<ApiToken> {
        let found = self.find_token(id).await?.ok_or(Error::NotFound)?;
        let event = self.event(
            actor,
            "token.revoke",
            Target::new("api_token", id.0.to_string()),
            json!({"name": found.name, "role": found.role.as_str()}),
        );
        if !self.store().delete_api_token(id.0, &event).await? {
            return Err(Error::NotFound);
        }
        Ok(found)
    }

    /// `Authorization: Bearer stw_…`: the token and its enabled creator, or `None` for an
    /// unknown or malformed token or a disabled creator. Records use.
    pub async fn resolve_token(&self, bearer: &str) -> Result<Option<(ApiToken, Account)>> {
        if !bearer.starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        let Some(found) = self
            .store()
            .find_api_token_by_hash(&sha256_hex(bearer))
            .await?
            .map(token)
            .transpose()?
        else {
            return Ok(None);
        };
        let Some(owner) = self
            .find_account(found.created_by)
            .await?
            .filter(|a| !a.disabled)
        else {
            return Ok(None);
        };
        self.store().touch_api_token(found.id.0, self.now()).await?;
        Ok(Some((found, owner)))
    }

    /// Deletes expired sessions (housekeeping; expired ones are refused anyway).
    pub async fn delete_expired_sessions(&self) -> Result<u64> {
        Ok(self.store().delete_expired_sessions(self.now()).await?)
    }
}
