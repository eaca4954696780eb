//! Retry timing: exponential backoff with jitter, and the 429 wait computed
//! from `X-Rate-Limit-Reset` and `Date` (reference 7).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::Rng as _;
use reqwest::Method;
use reqwest::header::HeaderMap;

/// Whether a request may be repeated after a 5xx or a connection error
/// without risking a double effect (RFC 9110 section 9.2.2).
pub fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
    )
}

/// Backoff before retry number `attempt` (0-based): `base * 2^attempt`,
/// capped at `max`, with "full jitter" between half and the whole step so that
/// parallel workers do not retry in lockstep.
pub fn backoff(attempt: u32, base: Duration, max: Duration) -> Duration {
    let step = base.saturating_mul(1u32 << attempt.min(16)).min(max);
    let half = step / 2;
    let jitter_ms = rand::rng().random_range(0..=half.as_millis().max(1) as u64);
    half + Duration::from_millis(jitter_ms)
}

/// The smallest `X-Rate-Limit-Reset` (epoch seconds). Okta has been seen to
/// send the header twice, or comma-joined (reference 7).
pub fn rate_limit_reset(headers: &HeaderMap) -> Option<i64> {
    headers
        .get_all("x-rate-limit-reset")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|v| v.trim().parse::<i64>().ok())
        .min()
}

/// The server's `Date` header as epoch seconds.
pub fn server_date(headers: &HeaderMap) -> Option<i64> {
    let v = headers.get(reqwest::header::DATE)?.to_str().ok()?;
    let t = httpdate::parse_http_date(v).ok()?;
    t.duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_secs()).ok())
}

/// How long to wait after a 429: `reset - date + 1` seconds, measured on the
/// server's clock so local clock skew does not matter (what the Go and Python
/// SDKs do), clamped to `[1 s, cap]`. Without `Date`, the local clock is used;
/// without `X-Rate-Limit-Reset`, `None` (fall back to backoff).
pub fn rate_limit_wait(headers: &HeaderMap, cap: Duration) -> Option<Duration> {
    let reset = rate_limit_reset(headers)?;
    let now = server_date(headers).unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    });
    let secs = (reset - now + 1).max(1);
    Some(Duration::from_secs(u64::try_from(secs).unwrap_or(1)).min(cap))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).expect("value"));
        }
        h
    }

    #[test]
    fn wait_uses_server_date() {
        // Date = 1_700_000_000 (Tue, 14 Nov 2023 22:13:20 GMT).
        let date = "Tue, 14 Nov 2023 22:13:20 GMT";
        let cap = Duration::from_secs(60);
        let h = headers(&[("date", date), ("x-rate-limit-reset", "1700000010")]);
        assert_eq!(rate_limit_wait(&h, cap), Some(Duration::from_secs(11)));
        // Reset already passed on the server clock: wait the 1 s minimum.
        let h = headers(&[("date", date), ("x-rate-limit-reset", "1699999990")]);
        assert_eq!(rate_limit_wait(&h, cap), Some(Duration::from_secs(1)));
        // Capped.
        let h = headers(&[("date", date), ("x-rate-limit-reset", "1700003600")]);
        assert_eq!(rate_limit_wait(&h, cap), Some(cap));
        // Duplicate headers: the smallest wins.
        let h = headers(&[
            ("date", date),
            ("x-rate-limit-reset", "1700000030"),
            ("x-rate-limit-reset", "1700000005, 1700000020"),
        ]);
        assert_eq!(rate_limit_wait(&h, cap), Some(Duration::from_secs(6)));
        assert_eq!(rate_limit_wait(&headers(&[("date", date)]), cap), None);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(1);
        for attempt in 0..10 {
            let d = backoff(attempt, base, max);
            let step = base.saturating_mul(1 << attempt).min(max);
            assert!(
                d >= step / 2 && d <= step + Duration::from_millis(1),
                "{attempt}: {d:?}"
            );
        }
        assert!(is_idempotent(&Method::PUT) && !is_idempotent(&Method::POST));
    }
}
