//! The governor against okta-sim's rate limiter: a small limit in one-second windows (60x
//! compression), hammered by more tasks than the concurrency limit.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use okta_client::{OktaClient, OktaConfig, PrivateKeyInput};
use okta_sim::ratelimit::{BucketSpec, RateLimitConfig};
use okta_sim::{RunningSim, SimConfig};
use serde_json::Value;

const LIMIT: u32 = 20;
const WINDOWS: u64 = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_429_and_close_to_the_limit() {
    let mut config = SimConfig::small();
    config.rate_limits = RateLimitConfig {
        enabled: true,
        buckets: vec![BucketSpec {
            name: "/api/v1/users".into(),
            methods: Vec::new(),
            pattern: "/api/v1/users".into(),
            per_minute: LIMIT,
        }],
        app_share_percent: 100,
        concurrency: 75,
        time_compression: 60.0,
    };
    let sim = RunningSim::start(config).await.expect("simulator");
    let c = &sim.credentials;
    let key = PrivateKeyInput::parse(&c.private_key_jwk.to_string(), None).expect("key");
    let mut config: OktaConfig = crate::client_for(&c.domain, &c.client_id, key)
        .config()
        .clone();
    config.scopes = c.scopes.clone();
    config.transport.concurrency = 10;
    config.transport.rate_limit_window = Duration::from_secs(1);
    let client = OktaClient::new(config).expect("client");
    client.token().await.expect("token");

    let before = client.stats();
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let run = Duration::from_secs(WINDOWS);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (client, done) = (client.clone(), Arc::clone(&done));
        tasks.push(tokio::spawn(async move {
            while start.elapsed() < run {
                client
                    .get_json::<Value>("/api/v1/users?limit=1")
                    .await
                    .expect("users");
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await.expect("join");
    }
    let elapsed = start.elapsed();
    let stats = client.stats().since(&before);
    let done = done.load(Ordering::Relaxed);
    let refused = sim
        .state
        .requests
        .since(0)
        .iter()
        .filter(|r| r.status == 429)
        .count();
    println!("{done} requests in {elapsed:?}; {stats:?}");
    assert_eq!(refused, 0, "the simulator refused requests");
    assert_eq!(stats.rate_limited, 0);
    let expected = WINDOWS * u64::from(LIMIT);
    assert!(
        done * 10 >= expected * 8,
        "{done} requests in {elapsed:?}, expected about {expected}: too slow"
    );
    assert!(elapsed < Duration::from_secs(WINDOWS + 2), "{elapsed:?}");
}
