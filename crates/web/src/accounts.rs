//! Accounts: the first-run admin, account creation, password checks, sessions and API
//! tokens. No HTTP here; the login handlers and the CLI call these.

use chrono::Duration;

use crate::auth::TOKEN_PREFIX;
use crate::error::AppError;
use crate::repo::{
    Account, AccountChange, AccountId, ApiToken, AuditEvent, NewAccount, Repos, Role, Session,
    TokenId,
};
use crate::secret::{
    PasswordHashString, Secret, hash_password, random_token, sha256_hex, verify_password,
};
use crate::state::AppState;

/// The first admin's user name.
pub const BOOTSTRAP_ADMIN: &str = "admin";

/// The first-run admin: the one-time password is returned once, to be printed once.
#[derive(Debug)]
pub struct BootstrapAdmin {
    /// `admin`.
    pub username: String,
    /// The generated password (redacted in `Debug`).
    pub password: Secret,
}

/// On first run (no account at all), creates `admin` with a random password and returns
/// it; afterwards returns `None`.
pub async fn bootstrap_admin(repos: &Repos) -> Result<Option<BootstrapAdmin>, AppError> {
    if repos.accounts.count_accounts().await? > 0 {
        return Ok(None);
    }
    let password = random_token()?;
    match create_account(repos, BOOTSTRAP_ADMIN, &password, Role::Admin).await {
        Ok(_) => {}
        // Another process bootstrapped at the same time: its password is the one printed.
        Err(AppError::Conflict(_)) => return Ok(None),
        Err(e) => return Err(e),
    }
    repos
        .audit
        .append_audit(AuditEvent {
            at: chrono::Utc::now(),
            actor: "system".into(),
            action: "account.bootstrap".into(),
            target: BOOTSTRAP_ADMIN.into(),
            detail: "first-run admin created".into(),
        })
        .await?;
    Ok(Some(BootstrapAdmin {
        username: BOOTSTRAP_ADMIN.into(),
        password,
    }))
}

/// Checks a user name: 1–64 of `a-z 0-9 . _ - @`, stored lowercase.
pub fn normalize_username(username: &str) -> Result<String, AppError> {
    let u = username.trim().to_ascii_lowercase();
    let ok = !u.is_empty()
        && u.len() <= 64
        && u.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c));
    if ok {
        Ok(u)
    } else {
        Err(AppError::BadRequest(
            "user names are 1-64 characters: letters, digits, . _ - @".into(),
        ))
    }
}

/// Creates an account with an argon2id hash of `password` (at least 12 characters).
pub async fn create_account(
    repos: &Repos,
    username: &str,
    password: &Secret,
    role: Role,
) -> Result<Account, AppError> {
    let username = normalize_username(username)?;
    check_length(password)?;
    let hash = hash_blocking(password.clone()).await?;
    Ok(repos
        .accounts
        .create_account(NewAccount {
            username,
            password_hash: hash,
            role,
            created: chrono::Utc::now(),
        })
        .await?)
}

/// Sets account `id`'s password (at least 12 characters) to an argon2id hash of `password`.
pub async fn set_password(repos: &Repos, id: AccountId, password: &Secret) -> Result<(), AppError> {
    check_length(password)?;
    let hash = hash_blocking(password.clone()).await?;
    Ok(repos
        .accounts
        .update_account(id, AccountChange::Password(hash))
        .await?)
}

fn check_length(password: &Secret) -> Result<(), AppError> {
    if password.expose().chars().count() < 12 {
        return Err(AppError::BadRequest(
            "passwords must be at least 12 characters".into(),
        ));
    }
    Ok(())
}

async fn hash_blocking(password: Secret) -> Result<PasswordHashString, AppError> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::from)
}

/// A fixed hash checked when the user does not exist, so that both cases cost the same.
fn dummy_hash() -> &'static PasswordHashString {
    static DUMMY: std::sync::OnceLock<PasswordHashString> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        hash_password(&Secret::new("dummy password for timing"))
            .unwrap_or_else(|_| PasswordHashString::from_stored(""))
    })
}

/// The account if `password` is right and the account enabled.
pub async fn check_password(
    repos: &Repos,
    username: &str,
    password: Secret,
) -> Result<Option<Account>, AppError> {
    let Ok(username) = normalize_username(username) else {
        return Ok(None);
    };
    let account = repos.accounts.find_account_by_username(&username).await?;
    let hash = account
        .as_ref()
        .map(|a| a.password_hash.clone())
        .unwrap_or_else(|| dummy_hash().clone());
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(AppError::internal)?;
    Ok(account.filter(|a| ok && !a.disabled))
}

/// Starts a session; returns the cookie value (the only copy of the id).
pub async fn start_session(state: &AppState, account: &Account) -> Result<Secret, AppError> {
    let id = random_token()?;
    let now = state.clock.now();
    let idle = Duration::seconds(state.config.session_idle_secs as i64);
    state
        .repos
        .sessions
        .create_session(Session {
            id_hash: sha256_hex(id.expose()),
            account: account.id,
            csrf: random_token()?,
            created: now,
            expires: now + idle,
            last_seen: now,
        })
        .await?;
    Ok(id)
}

/// Creates an API token; returns it with the secret `stw_…` value, shown once.
pub async fn create_token(
    state: &AppState,
    creator: &Account,
    name: &str,
    role: Role,
) -> Result<(ApiToken, Secret), AppError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 64 || name.chars().any(char::is_control) {
        return Err(AppError::BadRequest(
            "token names are 1-64 printable characters".into(),
        ));
    }
    if !creator.role.allows(role) {
        return Err(AppError::Forbidden);
    }
    let secret = Secret::new(format!("{TOKEN_PREFIX}{}", random_token()?.expose()));
    let token = state
        .repos
        .tokens
        .create_token(ApiToken {
            id: TokenId(0),
            name: name.to_owned(),
            role,
            hash: sha256_hex(secret.expose()),
            created_by: creator.id,
            created: state.clock.now(),
            last_used: None,
        })
        .await?;
    Ok((token, secret))
}
