//! Database URLs: which backend one names, the default one, and redaction for logs.

use std::path::{Path, PathBuf};

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use steward_inventory::StoreError;

/// Env var holding the database URL.
pub const DATABASE_URL_ENV: &str = "STEWARD_DATABASE_URL";
/// Env var holding the data directory (SQLite file, master key file).
pub const DATA_DIR_ENV: &str = "STEWARD_DATA_DIR";
/// Data directory when [`DATA_DIR_ENV`] is unset.
pub const DEFAULT_DATA_DIR: &str = "./steward-data";

/// What replaces a password in [`redact_url`].
const MASK: &str = "*****";

/// Characters that would end the path part of a `sqlite://` URL (sqlx percent-decodes it).
const PATH_ESCAPES: &AsciiSet = &CONTROLS.add(b'%').add(b'?').add(b'#').add(b' ');

/// The data directory: `STEWARD_DATA_DIR`, or `./steward-data`.
pub fn data_dir_from_env() -> PathBuf {
    std::env::var_os(DATA_DIR_ENV)
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from(DEFAULT_DATA_DIR), PathBuf::from)
}

/// The SQLite URL of `{data_dir}/steward.db`, created if missing.
pub fn default_sqlite_url(data_dir: &Path) -> String {
    let path = data_dir.join("steward.db");
    let path = path.to_string_lossy();
    format!(
        "sqlite://{}?mode=rwc",
        utf8_percent_encode(&path, PATH_ESCAPES)
    )
}

/// The database URL to use: `STEWARD_DATABASE_URL`, or else the SQLite file
/// `{STEWARD_DATA_DIR or ./steward-data}/steward.db` (the directory is created).
pub fn database_url_from_env() -> Result<String, StoreError> {
    if let Some(url) = std::env::var(DATABASE_URL_ENV)
        .ok()
        .filter(|v| !v.trim().is_empty())
    {
        return Ok(url);
    }
    let dir = data_dir_from_env();
    std::fs::create_dir_all(&dir).map_err(|e| {
        StoreError::Database(format!(
            "cannot create the data directory {} (set {DATA_DIR_ENV} or {DATABASE_URL_ENV}): {e}",
            dir.display()
        ))
    })?;
    Ok(default_sqlite_url(&dir))
}

/// `url` with any password masked, safe for logs and `Debug`: the password of
/// `postgres://user:password@host/db` and any `password=` (or `sslpassword=`) query parameter.
/// A URL that does not parse is masked up to its last `@`.
pub fn redact_url(url: &str) -> String {
    let Ok(mut parsed) = ::url::Url::parse(url) else {
        return match url.rfind('@') {
            Some(at) => match url.find("://") {
                Some(scheme) if scheme < at => {
                    format!("{}{MASK}{}", &url[..scheme + 3], &url[at..])
                }
                _ => format!("{MASK}{}", &url[at..]),
            },
            None => url.to_owned(),
        };
    };
    if parsed.password().is_some() {
        // Fails only for URLs that cannot have a password, which this one has.
        let _ = parsed.set_password(Some(MASK));
    }
    let has_secret_param = parsed
        .query_pairs()
        .any(|(k, _)| k.to_ascii_lowercase().contains("password"));
    if has_secret_param {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(k, v)| {
                let v = if k.to_ascii_lowercase().contains("password") {
                    MASK.to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_postgres_password() {
        let r = redact_url("postgres://steward:s3cr%40t@db.internal:5432/steward");
        assert_eq!(r, "postgres://steward:*****@db.internal:5432/steward");
        assert!(!r.contains("s3cr"));
    }

    #[test]
    fn masks_password_query_parameter() {
        let r = redact_url("postgresql://db/steward?user=x&password=hunter2&sslmode=require");
        assert!(!r.contains("hunter2"), "{r}");
        assert!(r.contains("sslmode=require"));
        assert!(r.contains("user=x"));
    }

    #[test]
    fn leaves_urls_without_secrets_alone() {
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1:5432/test"),
            "postgres://postgres@127.0.0.1:5432/test"
        );
        assert_eq!(redact_url("sqlite::memory:"), "sqlite::memory:");
        assert_eq!(
            redact_url("sqlite://./steward-data/steward.db?mode=rwc"),
            "sqlite://./steward-data/steward.db?mode=rwc"
        );
    }

    #[test]
    fn masks_unparseable_urls_up_to_the_last_at() {
        let r = redact_url("postgres://u:p@ss w0rd@[bad/db");
        assert!(!r.contains("p@ss"), "{r}");
        assert!(r.starts_with("postgres://*****@"), "{r}");
    }

    #[test]
    fn default_url_escapes_the_path() {
        assert_eq!(
            default_sqlite_url(Path::new("/data/a?b")),
            "sqlite:///data/a%3Fb/steward.db?mode=rwc"
        );
    }
}
