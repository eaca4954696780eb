//! [`Error`]: what a use case can refuse or fail with. The variants follow what the caller
//! can do about it; `web` maps them to HTTP statuses and `cli` to messages and exit codes.
//! Messages of the refusals are written for the person who typed the input (what is wrong,
//! and how to fix it); the cause of an [`Error::Internal`] goes to the log only.

use std::error::Error as StdError;

use steward_store::{AccountError, StoreError};

use crate::secret::CryptoError;

/// A use case's refusal or failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is wrong; the message says what and how to fix it.
    #[error("{0}")]
    BadRequest(String),
    /// No such object.
    #[error("not found")]
    NotFound,
    /// The change conflicts with the current state (a name taken, the last admin, a sync
    /// already running); the message says which.
    #[error("{0}")]
    Conflict(String),
    /// The actor's role does not allow it.
    #[error("forbidden")]
    Forbidden,
    /// Anything else (database, cryptography): logged with its cause chain.
    #[error("internal error")]
    Internal(#[source] Box<dyn StdError + Send + Sync>),
}

impl Error {
    /// Wraps an unexpected failure.
    pub fn internal(e: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Error::Internal(e.into())
    }

    /// The cause chain of an internal error, `: `-joined (for logs and the CLI).
    pub fn chain(&self) -> String {
        let mut text = self.to_string();
        let mut source = self.source();
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        text
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(_) => Error::NotFound,
            other => Error::internal(other),
        }
    }
}

impl From<AccountError> for Error {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::AlreadyExists(what) => Error::Conflict(format!("{what} already exists")),
            AccountError::Store(s) => s.into(),
            other => Error::internal(other),
        }
    }
}

impl From<CryptoError> for Error {
    fn from(e: CryptoError) -> Self {
        Error::internal(e)
    }
}

/// What every use case returns.
pub type Result<T, E = Error> = std::result::Result<T, E>;
