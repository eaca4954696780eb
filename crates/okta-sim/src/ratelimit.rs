//! Okta's rate limits (reference section 7): per-bucket windows, the per-app share and the
//! org-wide concurrency limit.
//!
//! - [`RateLimitConfig`]: the figures (Okta's Workforce defaults, a file, or off);
//! - [`RateLimiter`] (in `limiter`): the counters the `okta_envelope` middleware consults;
//! - [`pattern`]: the path pattern syntax shared with injected faults.

pub mod limiter;
pub mod pattern;

pub use limiter::{InFlight, RateHeaders, RateLimiter, Verdict};

use serde::{Deserialize, Serialize};

/// One bucket: requests matching `method` (any if `None`) and `path` share `per_minute`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct BucketSpec {
    /// Name shown in logs and summaries (the path pattern as Okta's docs write it).
    pub name: String,
    /// Methods this bucket applies to; empty means all.
    #[serde(default)]
    pub methods: Vec<String>,
    /// Path pattern: literal segments, `*` for one segment, a trailing `/**` for any rest.
    pub pattern: String,
    /// Requests per window.
    pub per_minute: u32,
}

/// Rate-limit settings.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RateLimitConfig {
    /// False turns every limit off (unit tests).
    pub enabled: bool,
    /// Buckets, most specific first.
    pub buckets: Vec<BucketSpec>,
    /// Share of each bucket one app (OAuth client) may use, in percent (Okta's default 50).
    pub app_share_percent: u32,
    /// Org-wide concurrent requests (Okta Workforce: 75).
    pub concurrency: u32,
    /// Window length divided by this factor: 60 gives one-second windows with the same counts
    /// (same shape, 60x faster) for benchmarks.
    pub time_compression: f64,
}

impl RateLimitConfig {
    /// No limits.
    pub fn off() -> Self {
        Self {
            enabled: false,
            buckets: Vec::new(),
            app_share_percent: 100,
            concurrency: u32::MAX,
            time_compression: 1.0,
        }
    }
}

fn bucket(name: &str, methods: &[&str], pattern: &str, per_minute: u32) -> BucketSpec {
    BucketSpec {
        name: name.to_string(),
        methods: methods.iter().map(|m| m.to_string()).collect(),
        pattern: pattern.to_string(),
        per_minute,
    }
}

impl RateLimitConfig {
    /// Okta's last published Workforce figures (reference 7, table "Per-minute org limits"),
    /// with the 50% per-app share and 75 concurrent requests.
    pub fn okta_workforce() -> Self {
        Self {
            enabled: true,
            buckets: vec![
                bucket("/oauth2/v1/token", &[], "/oauth2/v1/token", 2000),
                bucket("/oauth2/v1/clients", &[], "/oauth2/v1/clients/**", 100),
                bucket("/api/v1/apps/{id}", &[], "/api/v1/apps/*", 500),
                bucket("/api/v1/apps", &[], "/api/v1/apps/**", 100),
                bucket("/api/v1/groups/{id}", &[], "/api/v1/groups/*", 1000),
                bucket("/api/v1/groups", &[], "/api/v1/groups", 500),
                bucket(
                    "GET /api/v1/users/{idOrLogin}",
                    &["GET"],
                    "/api/v1/users/*",
                    2000,
                ),
                bucket(
                    "POST/PUT/DELETE /api/v1/users/{id}",
                    &["POST", "PUT", "DELETE"],
                    "/api/v1/users/*",
                    600,
                ),
                bucket("/api/v1/users", &["GET", "POST"], "/api/v1/users", 600),
                bucket("/api/v1/logs", &[], "/api/v1/logs", 120),
                // Okta does not publish which bucket `/groups/{id}/users` and `/users/{id}/groups`
                // fall into; reference 7 guesses "other /api/v1/*" ([unconfirmed]).
                bucket("/api/v1/*", &[], "/api/v1/**", 1200),
            ],
            app_share_percent: 50,
            concurrency: 75,
            time_compression: 1.0,
        }
    }

    /// Reads a JSON file shaped like this struct (every field optional except `buckets`
    /// falls back to Okta's defaults).
    pub fn from_file(path: &std::path::Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)?;
        let file: RateLimitFile = serde_json::from_str(&text)?;
        file.apply_to(Self::okta_workforce())
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }
}

/// The `--rate-limits FILE` format, also the body of `PUT /__sim/rate-limits`: every field is
/// optional and falls back to a base configuration.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitFile {
    /// `okta` (Okta's Workforce figures) or `off`: the base instead of the current config
    /// (only meaningful for `PUT /__sim/rate-limits`).
    #[serde(default)]
    pub preset: Option<String>,
    /// See [`RateLimitConfig::enabled`].
    pub enabled: Option<bool>,
    /// See [`RateLimitConfig::buckets`].
    pub buckets: Option<Vec<BucketSpec>>,
    /// See [`RateLimitConfig::app_share_percent`].
    pub app_share_percent: Option<u32>,
    /// See [`RateLimitConfig::concurrency`].
    pub concurrency: Option<u32>,
    /// See [`RateLimitConfig::time_compression`].
    pub time_compression: Option<f64>,
}

impl RateLimitFile {
    /// Applies the fields present onto `base`, then validates the result.
    pub fn apply_to(self, base: RateLimitConfig) -> Result<RateLimitConfig, String> {
        let base = match self.preset.as_deref() {
            None => base,
            Some("okta") => RateLimitConfig::okta_workforce(),
            Some("off") => RateLimitConfig::off(),
            Some(other) => return Err(format!("unknown preset `{other}` (use `okta` or `off`)")),
        };
        let config = RateLimitConfig {
            enabled: self.enabled.unwrap_or(base.enabled),
            buckets: self.buckets.unwrap_or(base.buckets),
            app_share_percent: self.app_share_percent.unwrap_or(base.app_share_percent),
            concurrency: self.concurrency.unwrap_or(base.concurrency),
            time_compression: self.time_compression.unwrap_or(base.time_compression),
        };
        config.validate()?;
        Ok(config)
    }
}

impl RateLimitConfig {
    /// Checks the figures: patterns parse, the share is 1..=100 %, compression is positive.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.time_compression.is_finite() && self.time_compression > 0.0) {
            return Err("time_compression must be a positive number".into());
        }
        if !(1..=100).contains(&self.app_share_percent) {
            return Err("app_share_percent must be between 1 and 100".into());
        }
        for b in &self.buckets {
            pattern::PathPattern::parse(&b.pattern)?;
        }
        Ok(())
    }

    /// The window length in milliseconds: 60 s divided by `time_compression` (at least 1 ms).
    pub fn window_ms(&self) -> i64 {
        ((60_000.0 / self.time_compression).round() as i64).max(1)
    }
}
