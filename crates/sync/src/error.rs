//! [`SyncError`].

use okta_client::OktaError;
use steward_inventory::StoreError;

/// Why a sync stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// Okta refused or failed a request (after the client's own retries).
    #[error("Okta: {0}")]
    Okta(#[from] OktaError),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// Okta answered something the engine cannot use.
    #[error("unexpected data from Okta: {0}")]
    InvalidData(String),
}

impl SyncError {
    /// Whether running again later may get further: such failures leave the run open so the
    /// next sync resumes it from its checkpoints (database down, Okta 5xx, rate limits,
    /// network). Other failures (permissions, bad data) close the run as failed.
    pub fn is_resumable(&self) -> bool {
        match self {
            SyncError::Okta(e) => e.is_transient(),
            SyncError::Store(_) => true,
            SyncError::InvalidData(_) => false,
        }
    }
}
