//! Access tokens and the single-flight [`TokenCache`].

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;
use zeroize::Zeroizing;

/// An OAuth access token. `Debug` is redacted, there is no `Display`, and the
/// string is zeroized on drop. Use [`AccessToken::secret`] to read it.
pub struct AccessToken(Zeroizing<String>);

impl AccessToken {
    /// Wraps a token string.
    pub fn new(token: String) -> Self {
        AccessToken(Zeroizing::new(token))
    }

    /// The token itself, for the `Authorization` header and the DPoP `ath`.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl<'de> serde::Deserialize<'de> for AccessToken {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(AccessToken::new)
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

/// How the token must be presented (reference 1.3, 2.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenType {
    /// `Authorization: Bearer …`.
    Bearer,
    /// `Authorization: DPoP …` plus a `DPoP` proof with `ath`.
    Dpop,
}

impl TokenType {
    /// The `Authorization` scheme.
    pub fn scheme(self) -> &'static str {
        match self {
            TokenType::Bearer => "Bearer",
            TokenType::Dpop => "DPoP",
        }
    }
}

/// A token with its type and expiry.
#[derive(Debug)]
pub struct Token {
    /// The token.
    pub access_token: AccessToken,
    /// Bearer or DPoP.
    pub token_type: TokenType,
    /// When it expires (monotonic clock).
    pub expires_at: Instant,
    /// Granted scopes as returned.
    pub scope: Option<String>,
}

/// Caches one token and refreshes it before expiry. Concurrent callers with a
/// cold cache share one token request: the fetch runs while holding an async
/// mutex, and waiters re-check the cache once they get it.
#[derive(Debug)]
pub struct TokenCache {
    slot: Mutex<Option<Arc<Token>>>,
    refresh_before: Duration,
}

impl Default for TokenCache {
    fn default() -> Self {
        Self::new(Self::DEFAULT_REFRESH_BEFORE)
    }
}

impl TokenCache {
    /// Refresh 5 minutes before expiry (like the Python SDK's default offset).
    pub const DEFAULT_REFRESH_BEFORE: Duration = Duration::from_secs(300);

    /// A cache that refreshes `refresh_before` ahead of expiry.
    pub fn new(refresh_before: Duration) -> Self {
        TokenCache {
            slot: Mutex::new(None),
            refresh_before,
        }
    }

    fn is_fresh(&self, t: &Token) -> bool {
        Instant::now() + self.refresh_before < t.expires_at
    }

    /// Returns the cached token, or runs `fetch` (once, however many callers wait).
    pub async fn get_or_fetch<F, Fut, E>(&self, fetch: F) -> Result<Arc<Token>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Token, E>>,
    {
        let mut slot = self.slot.lock().await;
        if let Some(t) = slot.as_ref()
            && self.is_fresh(t)
        {
            return Ok(Arc::clone(t));
        }
        let token = Arc::new(fetch().await?);
        *slot = Some(Arc::clone(&token));
        Ok(token)
    }

    /// Drops `used` if it is still the cached token (after `401 invalid_token`).
    /// A token fetched meanwhile by another caller is kept.
    pub async fn invalidate(&self, used: &Arc<Token>) {
        let mut slot = self.slot.lock().await;
        if slot.as_ref().is_some_and(|t| Arc::ptr_eq(t, used)) {
            *slot = None;
        }
    }

    /// Drops whatever is cached.
    pub async fn clear(&self) {
        *self.slot.lock().await = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn token(secs: u64) -> Token {
        Token {
            access_token: AccessToken::new("secret-token".into()),
            token_type: TokenType::Bearer,
            expires_at: Instant::now() + Duration::from_secs(secs),
            scope: None,
        }
    }

    #[test]
    fn debug_is_redacted() {
        assert!(!format!("{:?}", token(10)).contains("secret-token"));
    }

    #[tokio::test]
    async fn single_flight_and_refresh_margin() {
        let cache = Arc::new(TokenCache::default());
        let calls = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let (cache, calls) = (cache.clone(), calls.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_fetch(|| async {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok::<_, ()>(token(3600))
                    })
                    .await
            }));
        }
        for t in tasks {
            assert!(t.await.expect("join").is_ok());
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        // A token inside the 5-minute margin is refreshed.
        let cache = TokenCache::default();
        let first = cache
            .get_or_fetch(|| async { Ok::<_, ()>(token(200)) })
            .await
            .expect("t");
        let second = cache
            .get_or_fetch(|| async { Ok::<_, ()>(token(3600)) })
            .await
            .expect("t");
        assert!(!Arc::ptr_eq(&first, &second));
        // invalidate() only drops the token that failed.
        cache.invalidate(&first).await;
        let third = cache
            .get_or_fetch(|| async { Ok::<_, ()>(token(3600)) })
            .await
            .expect("t");
        assert!(Arc::ptr_eq(&second, &third));
        cache.invalidate(&third).await;
        let fourth = cache
            .get_or_fetch(|| async { Ok::<_, ()>(token(3600)) })
            .await
            .expect("t");
        assert!(!Arc::ptr_eq(&third, &fourth));
    }
}
