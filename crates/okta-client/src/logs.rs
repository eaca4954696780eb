//! A System Log poller (reference 6.2): start with `since`, follow `next`
//! until an empty page, keep the last `next` URL and re-poll it later.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};

use crate::client::OktaClient;
use crate::error::OktaError;
use crate::models::LogEvent;

/// Polls `/api/v1/logs`. Persist [`LogPoller::cursor`] to resume after a restart.
#[derive(Debug, Clone)]
pub struct LogPoller {
    next: String,
    filter: Option<String>,
    /// Pause between polls when caught up.
    pub interval: Duration,
}

impl LogPoller {
    /// Starts a polling query (no `until`, ascending) at `since`.
    pub fn since(since: DateTime<Utc>, filter: Option<&str>) -> Self {
        let mut url = url::form_urlencoded::Serializer::new(String::new());
        url.append_pair("since", &since.to_rfc3339_opts(SecondsFormat::Millis, true));
        url.append_pair("limit", "1000");
        url.append_pair("sortOrder", "ASCENDING");
        if let Some(f) = filter {
            url.append_pair("filter", f);
        }
        LogPoller {
            next: format!("/api/v1/logs?{}", url.finish()),
            filter: filter.map(str::to_owned),
            interval: Duration::from_secs(60),
        }
    }

    /// Resumes from a stored cursor (a `next` URL from [`LogPoller::cursor`]).
    pub fn resume(cursor: &str) -> Self {
        LogPoller {
            next: cursor.to_owned(),
            filter: None,
            interval: Duration::from_secs(60),
        }
    }

    /// The URL the next poll will fetch.
    pub fn cursor(&self) -> &str {
        &self.next
    }

    /// Fetches everything new: follows `next` until a page is empty (polling
    /// queries always return `next`). Returns the events in order.
    pub async fn poll(&mut self, client: &OktaClient) -> Result<Vec<LogEvent>, OktaError> {
        let mut events = Vec::new();
        loop {
            let page = client.get_page(&self.next).await?;
            let empty = page.items.is_empty();
            for item in page.items {
                let ev: LogEvent =
                    serde_json::from_value(item).map_err(|e| OktaError::InvalidResponse {
                        status: 200,
                        reason: format!("unexpected log event: {e}"),
                        body: None,
                    })?;
                events.push(ev);
            }
            match page.next {
                Some(next) if next != self.next => {
                    self.next = next;
                    if empty {
                        break;
                    }
                }
                _ => break,
            }
        }
        Ok(events)
    }

    /// The filter this poller was started with, if any.
    pub fn filter(&self) -> Option<&str> {
        self.filter.as_deref()
    }
}
