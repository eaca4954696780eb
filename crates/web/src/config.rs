//! [`WebConfig`]: the web server's settings. The CLI builds it in layers (defaults, TOML,
//! env); this crate only defines and validates it.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;

/// The `[web]` section.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct WebConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Mark cookies `Secure`. Turn on whenever users reach Steward over https (directly or
    /// behind a TLS-terminating proxy); off only for plain-http local use.
    pub secure_cookies: bool,
    /// Accept an Okta domain on loopback over plain http (`127.0.0.1:PORT`): only for the
    /// simulator (`steward demo`, tests). Never set it in production.
    pub allow_insecure_loopback: bool,
    /// Idle session lifetime in seconds (sliding).
    pub session_idle_secs: u64,
    /// Minutes between scheduled incremental syncs of each connection.
    pub sync_interval_minutes: u64,
    /// Hours between scheduled reconciles (a full read compared with the store).
    pub reconcile_interval_hours: u64,
    /// Days of System Log a full sync reads for app usage (Okta keeps 90).
    pub sync_log_days: u32,
    /// Seconds the connection test (doctor) may take inside a web request (the setup page,
    /// key rotation, "Test connection", the API). When it runs out, the checks done so far are
    /// shown with a failing check naming the one that timed out.
    pub doctor_timeout_secs: u64,
    /// Length of Okta's rate-limit windows in milliseconds, used to pace syncs (Okta: 60 s,
    /// the default). Only a time-compressed simulator (`steward demo`) needs another value.
    pub okta_rate_limit_window_ms: u64,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            secure_cookies: true,
            allow_insecure_loopback: false,
            session_idle_secs: 8 * 3600,
            sync_interval_minutes: 15,
            reconcile_interval_hours: 24,
            sync_log_days: 90,
            doctor_timeout_secs: 30,
            okta_rate_limit_window_ms: 60_000,
        }
    }
}

impl WebConfig {
    /// Settings for tests and the demo: plain-http cookies and loopback Okta allowed.
    pub fn dev() -> Self {
        WebConfig {
            secure_cookies: false,
            allow_insecure_loopback: true,
            ..WebConfig::default()
        }
    }

    /// Checks the values; the message names the key to change.
    pub fn validate(&self) -> Result<(), String> {
        if !(60..=30 * 24 * 3600).contains(&self.session_idle_secs) {
            return Err("web.session_idle_secs must be between 60 and 2592000 (30 days)".into());
        }
        if !(1..=24 * 60).contains(&self.sync_interval_minutes) {
            return Err("web.sync_interval_minutes must be between 1 and 1440".into());
        }
        if !(1..=24 * 30).contains(&self.reconcile_interval_hours) {
            return Err("web.reconcile_interval_hours must be between 1 and 720".into());
        }
        if !(1..=90).contains(&self.sync_log_days) {
            return Err("web.sync_log_days must be between 1 and 90".into());
        }
        if !(1..=60_000).contains(&self.okta_rate_limit_window_ms) {
            return Err("web.okta_rate_limit_window_ms must be between 1 and 60000".into());
        }
        if !(1..=600).contains(&self.doctor_timeout_secs) {
            return Err("web.doctor_timeout_secs must be between 1 and 600".into());
        }
        Ok(())
    }

    /// How long the doctor may run inside a web request.
    pub fn doctor_timeout(&self) -> Duration {
        Duration::from_secs(self.doctor_timeout_secs)
    }

    /// The idle session lifetime.
    pub fn session_idle(&self) -> Duration {
        Duration::from_secs(self.session_idle_secs)
    }

    /// What the use cases need of these settings.
    pub fn settings(&self) -> steward_app::Settings {
        steward_app::Settings {
            allow_insecure_loopback: self.allow_insecure_loopback,
            doctor_timeout: self.doctor_timeout(),
            okta_rate_limit_window: Duration::from_millis(self.okta_rate_limit_window_ms),
            sync_log_days: self.sync_log_days,
            sync_interval: chrono::TimeDelta::minutes(
                i64::try_from(self.sync_interval_minutes).unwrap_or(15),
            ),
            reconcile_interval: chrono::TimeDelta::hours(
                i64::try_from(self.reconcile_interval_hours).unwrap_or(24),
            ),
            session_idle: self.session_idle(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_fail_and_defaults_validate() {
        assert!(WebConfig::default().validate().is_ok());
        let bad: Result<WebConfig, _> = serde_json::from_str(r#"{"secure_cookie": true}"#);
        assert!(bad.is_err());
        let short = WebConfig {
            session_idle_secs: 1,
            ..WebConfig::default()
        };
        assert!(
            short
                .validate()
                .expect_err("too short")
                .contains("session_idle_secs")
        );
    }
}
