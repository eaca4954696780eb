//! Sync runs and checkpoints.

use serde_json::json;
use steward_inventory::{InventoryStore, StoreError, SyncKind, SyncStats};

use crate::common::*;

const C: i64 = 1;

#[tokio::test]
async fn checkpoints_round_trip_and_clear_by_prefix() {
    on_each_backend(|store| async move {
        assert_eq!(store.checkpoint(C, "users").await.unwrap(), None);
        let state = json!({"after": "00u123", "nested": {"list": [1, 2, 3]}, "s": "x\"y"});
        store.save_checkpoint(C, "users", &state).await.unwrap();
        assert_eq!(store.checkpoint(C, "users").await.unwrap(), Some(state));
        store
            .save_checkpoint(C, "users", &json!("second"))
            .await
            .unwrap();
        assert_eq!(
            store.checkpoint(C, "users").await.unwrap(),
            Some(json!("second"))
        );

        for r in ["members:00g1", "members:00g2", "members_x", "logs", "%_"] {
            store.save_checkpoint(C, r, &json!(r)).await.unwrap();
        }
        store
            .save_checkpoint(2, "members:00g1", &json!(1))
            .await
            .unwrap();
        store.clear_checkpoints(C, "members:").await.unwrap();
        assert_eq!(store.checkpoint(C, "members:00g1").await.unwrap(), None);
        assert_eq!(store.checkpoint(C, "members:00g2").await.unwrap(), None);
        assert!(store.checkpoint(C, "members_x").await.unwrap().is_some());
        assert!(store.checkpoint(2, "members:00g1").await.unwrap().is_some());
        // Wildcard characters are literal.
        store.clear_checkpoints(C, "%").await.unwrap();
        assert!(store.checkpoint(C, "logs").await.unwrap().is_some());
        assert_eq!(store.checkpoint(C, "%_").await.unwrap(), None);
        store.clear_checkpoints(C, "").await.unwrap();
        assert_eq!(store.checkpoint(C, "logs").await.unwrap(), None);
        assert_eq!(store.checkpoint(C, "users").await.unwrap(), None);
        assert!(store.checkpoint(2, "members:00g1").await.unwrap().is_some());
    })
    .await;
}

#[tokio::test]
async fn runs_start_update_finish() {
    on_each_backend(|store| async move {
        assert_eq!(store.unfinished_run(C).await.unwrap(), None);
        assert_eq!(store.last_run(C, None).await.unwrap(), None);

        let full = store.start_run(C, SyncKind::Full, ts(2)).await.unwrap();
        let running = store.unfinished_run(C).await.unwrap().unwrap();
        assert_eq!(running.id, full);
        assert_eq!(running.kind, SyncKind::Full);
        assert_eq!(running.status, "running");
        assert_eq!(running.started_at, ts(2));
        assert_eq!(running.finished_at, None);
        assert_eq!(running.stats, SyncStats::default());

        let mut stats = SyncStats::default();
        stats.items.insert("users".into(), 10);
        stats.requests = 3;
        store.update_run(full, &stats).await.unwrap();
        assert_eq!(store.unfinished_run(C).await.unwrap().unwrap().stats, stats);

        stats.rate_limited = 1;
        store
            .finish_run(full, "succeeded", &stats, None, ts(1))
            .await
            .unwrap();
        assert_eq!(store.unfinished_run(C).await.unwrap(), None);
        let last = store.last_run(C, None).await.unwrap().unwrap();
        assert_eq!(last.id, full);
        assert_eq!(last.status, "succeeded");
        assert_eq!(last.finished_at, Some(ts(1)));
        assert_eq!(last.stats, stats);

        let inc = store
            .start_run(C, SyncKind::Incremental, ts(1))
            .await
            .unwrap();
        store
            .finish_run(inc, "failed", &SyncStats::default(), Some("boom"), t0())
            .await
            .unwrap();
        let killed = store
            .start_run(C, SyncKind::Incremental, t0())
            .await
            .unwrap();

        assert_eq!(store.unfinished_run(C).await.unwrap().unwrap().id, killed);
        let last = store.last_run(C, None).await.unwrap().unwrap();
        assert_eq!((last.id, last.error.as_deref()), (inc, Some("boom")));
        assert_eq!(
            store
                .last_run(C, Some(SyncKind::Full))
                .await
                .unwrap()
                .unwrap()
                .id,
            full
        );
        assert_eq!(
            store
                .last_run(C, Some(SyncKind::Incremental))
                .await
                .unwrap()
                .unwrap()
                .id,
            inc
        );
        assert_eq!(
            store.last_run(C, Some(SyncKind::Reconcile)).await.unwrap(),
            None
        );

        let missing = store.update_run(9_999, &stats).await.unwrap_err();
        assert!(matches!(missing, StoreError::NotFound(_)));
        assert!(matches!(
            store.finish_run(9_999, "failed", &stats, None, t0()).await,
            Err(StoreError::NotFound(_))
        ));
    })
    .await;
}
