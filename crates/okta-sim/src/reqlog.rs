//! A bounded log of the requests the simulator received, readable through `/__sim/requests`
//! so tests can assert on what a client really sent (e.g. that no DPoP `jti` repeats).

use parking_lot::Mutex;
use serde::Serialize;
use std::collections::VecDeque;

/// Maximum number of requests kept; older ones are dropped.
pub const MAX_ENTRIES: usize = 100_000;

/// One received request.
#[derive(Clone, Debug, Serialize)]
pub struct RequestRecord {
    /// Sequence number since start.
    pub seq: u64,
    /// Epoch milliseconds at arrival.
    pub at_ms: i64,
    /// HTTP method.
    pub method: String,
    /// Path and query as received.
    pub uri: String,
    /// Response status.
    pub status: u16,
    /// `X-Okta-Request-Id` returned.
    pub request_id: String,
    /// Authorization scheme used (`Bearer`, `DPoP`), never the token.
    pub auth_scheme: Option<String>,
    /// `jti` of the DPoP proof, if one was sent.
    pub dpop_jti: Option<String>,
    /// Rate-limit bucket that applied, if any.
    pub bucket: Option<String>,
    /// Ids of the injected faults that fired on this request.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<u64>,
    /// Duration in microseconds.
    pub micros: u64,
}

/// The log itself.
#[derive(Debug, Default)]
pub struct RequestLog {
    inner: Mutex<(u64, VecDeque<RequestRecord>)>,
}

impl RequestLog {
    /// Appends a record, assigning its sequence number.
    pub fn push(&self, mut rec: RequestRecord) {
        let mut g = self.inner.lock();
        g.0 += 1;
        rec.seq = g.0;
        if g.1.len() >= MAX_ENTRIES {
            g.1.pop_front();
        }
        g.1.push_back(rec);
    }
    /// Records with `seq > after`.
    pub fn since(&self, after: u64) -> Vec<RequestRecord> {
        let g = self.inner.lock();
        g.1.iter().filter(|r| r.seq > after).cloned().collect()
    }
    /// Forgets everything.
    pub fn clear(&self) {
        self.inner.lock().1.clear();
    }
    /// The sequence number of the last request recorded (0 before any).
    pub fn last_seq(&self) -> u64 {
        self.inner.lock().0
    }
    /// Total number of requests seen since start.
    pub fn total(&self) -> u64 {
        self.inner.lock().0
    }
}
