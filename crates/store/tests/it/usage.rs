//! SSO events: deduplication by uuid and app usage windows.

use steward_inventory::{InventoryStore, SsoEvent};

use crate::common::*;

const C: i64 = 1;

fn event(uuid: &str, app: usize, user: usize, days_ago: i64, success: bool) -> SsoEvent {
    SsoEvent {
        uuid: uuid.into(),
        user_id: uid(user),
        app_id: aid(app),
        published: ts(days_ago),
        success,
    }
}

async fn usage(store: &steward_store::Store, app: usize, user: usize) -> Option<(i64, i64, i64)> {
    let sql = format!(
        "SELECT COUNT(*) FROM app_usage WHERE connection_id = $1 AND app_id = '{}' AND user_id = '{}'",
        aid(app),
        uid(user)
    );
    if store.raw_scalar(&sql, C).await.unwrap() == 0 {
        return None;
    }
    let get = |col: &str| {
        format!(
            "SELECT {col} FROM app_usage WHERE connection_id = $1 AND app_id = '{}' AND user_id = '{}'",
            aid(app),
            uid(user)
        )
    };
    Some((
        store.raw_scalar(&get("last_sso_at"), C).await.unwrap(),
        store.raw_scalar(&get("sso_count_30d"), C).await.unwrap(),
        store.raw_scalar(&get("sso_count_90d"), C).await.unwrap(),
    ))
}

#[tokio::test]
async fn events_are_deduplicated_and_usage_counts_windows() {
    on_each_backend(|store| async move {
        let events = vec![
            event("e1", 0, 0, 1, true),
            event("e2", 0, 0, 10, true),
            event("e3", 0, 0, 40, true),
            event("e4", 0, 0, 100, true),
            event("e5", 0, 0, 0, false),
            event("e6", 1, 0, 2, true),
            event("e7", 1, 1, 3, false),
            // Same uuid twice in one batch.
            event("e1", 0, 0, 1, true),
        ];
        assert_eq!(store.record_sso_events(C, &events).await.unwrap(), 7);
        assert_eq!(
            usage(&store, 0, 0).await,
            Some((ts(1).timestamp_millis(), 2, 3))
        );
        assert_eq!(
            usage(&store, 1, 0).await,
            Some((ts(2).timestamp_millis(), 1, 1))
        );
        // Only failures: no usage.
        assert_eq!(usage(&store, 1, 1).await, None);

        // Replayed (a resumed sync): nothing new, nothing changes.
        assert_eq!(store.record_sso_events(C, &events).await.unwrap(), 0);
        assert_eq!(store.counts(C).await.unwrap().sso_events, 7);
        assert_eq!(
            usage(&store, 0, 0).await,
            Some((ts(1).timestamp_millis(), 2, 3))
        );

        // A new one among old ones.
        let more = vec![event("e1", 0, 0, 1, true), event("e8", 0, 0, 0, true)];
        assert_eq!(store.record_sso_events(C, &more).await.unwrap(), 1);
        assert_eq!(
            usage(&store, 0, 0).await,
            Some((ts(0).timestamp_millis(), 3, 4))
        );

        // Time passes: a refresh ages the windows.
        let later = store.clone().with_clock(fixed_clock(ts(-35)));
        later.refresh_app_usage(C).await.unwrap();
        // now = t0 + 35d: 30d window starts at t0 + 5d (nothing), 90d at t0 - 55d.
        assert_eq!(
            usage(&store, 0, 0).await,
            Some((ts(0).timestamp_millis(), 0, 4))
        );
        assert_eq!(usage(&store, 1, 1).await, None);

        // The UI view of usage.
        let detail = store.user_detail(C, &uid(0)).await.unwrap();
        assert!(detail.is_none(), "usage alone does not make a user");
    })
    .await;
}

#[tokio::test]
async fn many_events_in_one_call() {
    on_each_backend(|store| async move {
        let events: Vec<_> = (0..12_000)
            .map(|i| {
                event(
                    &format!("u-{i}"),
                    i % 7,
                    i % 500,
                    (i % 120) as i64,
                    i % 10 != 0,
                )
            })
            .collect();
        assert_eq!(store.record_sso_events(C, &events).await.unwrap(), 12_000);
        assert_eq!(
            store.record_sso_events(C, &events[..5000]).await.unwrap(),
            0
        );
        let pairs = store
            .raw_scalar("SELECT COUNT(*) FROM app_usage WHERE connection_id = $1", C)
            .await
            .unwrap();
        let expected_pairs: std::collections::HashSet<_> = (0..12_000)
            .filter(|i| i % 10 != 0)
            .map(|i| (i % 7, i % 500))
            .collect();
        assert_eq!(pairs, expected_pairs.len() as i64);
        let total90 = store
            .raw_scalar(
                "SELECT CAST(SUM(sso_count_90d) AS BIGINT) FROM app_usage WHERE connection_id = $1",
                C,
            )
            .await
            .unwrap();
        let expected = (0..12_000)
            .filter(|i| i % 10 != 0 && (i % 120) as i64 <= 90)
            .count() as i64;
        assert_eq!(total90, expected);
    })
    .await;
}
