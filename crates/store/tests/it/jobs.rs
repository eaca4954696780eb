//! The job queue: claims, leases, finishing, listing, pruning.

use chrono::TimeDelta;
use serde_json::json;
use steward_store::Store;
use steward_store::jobs::{JobFilter, JobId, JobState, MAX_ERROR_CHARS, NewJob};

use crate::common::{on_each_backend, t0};

fn job(kind: &str, run_at_secs: i64) -> NewJob {
    NewJob {
        kind: kind.into(),
        payload: json!({ "at": run_at_secs }),
        run_at: t0() + TimeDelta::seconds(run_at_secs),
        max_attempts: 3,
        dedup_key: None,
    }
}

async fn enqueue(store: &Store, kind: &str, run_at_secs: i64) -> JobId {
    store.enqueue_job(&job(kind, run_at_secs)).await.unwrap().id
}

const LEASE: TimeDelta = TimeDelta::seconds(30);

#[tokio::test]
async fn claims_take_due_jobs_in_order_and_lease_them() {
    on_each_backend(|store| async move {
        let later = enqueue(&store, "a", 10).await;
        let second = enqueue(&store, "a", -5).await;
        let first = enqueue(&store, "a", -10).await;
        let other_kind = enqueue(&store, "b", -20).await;

        let claimed = store
            .claim_jobs("r1", t0(), LEASE, 10, &["a"])
            .await
            .unwrap();
        let ids: Vec<JobId> = claimed.iter().map(|j| j.id).collect();
        assert_eq!(ids, vec![first, second], "due jobs of the kind, by run_at");
        for j in &claimed {
            assert_eq!(j.state, JobState::Running);
            assert_eq!(j.attempts, 1);
            assert_eq!(j.lease_holder.as_deref(), Some("r1"));
            assert_eq!(j.lease_expires_at, Some(t0() + LEASE));
            assert_eq!(j.payload["at"], json!(if j.id == first { -10 } else { -5 }));
        }
        // Held: nobody else gets them.
        assert!(
            store
                .claim_jobs("r2", t0(), LEASE, 10, &["a"])
                .await
                .unwrap()
                .is_empty()
        );
        // The limit, and "any kind".
        let any = store.claim_jobs("r2", t0(), LEASE, 1, &[]).await.unwrap();
        assert_eq!(
            any.iter().map(|j| j.id).collect::<Vec<_>>(),
            vec![other_kind]
        );
        let pending = store.find_job(later).await.unwrap().unwrap();
        assert_eq!((pending.state, pending.attempts), (JobState::Pending, 0));
        assert!(
            store
                .claim_jobs("r2", t0(), LEASE, 0, &[])
                .await
                .unwrap()
                .is_empty()
        );
    })
    .await;
}

#[tokio::test]
async fn an_expired_lease_is_taken_over_and_counts_as_an_attempt() {
    on_each_backend(|store| async move {
        let id = enqueue(&store, "a", 0).await;
        store
            .claim_jobs("dead", t0(), LEASE, 1, &["a"])
            .await
            .unwrap();
        // Renewed while alive.
        let renewed = store
            .renew_job_leases("dead", &[id, JobId(999_999)], t0() + LEASE * 2)
            .await
            .unwrap();
        assert_eq!(renewed, vec![id]);
        assert!(
            store
                .renew_job_leases("other", &[id], t0())
                .await
                .unwrap()
                .is_empty()
        );
        // At the expiry it is still held; just after, it is taken over.
        let expiry = t0() + LEASE * 2;
        assert!(
            store
                .claim_jobs("r2", expiry, LEASE, 1, &["a"])
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            store.next_job_due(&["a"]).await.unwrap(),
            Some(expiry + TimeDelta::milliseconds(1))
        );
        let now = expiry + TimeDelta::seconds(1);
        let taken = store.claim_jobs("r2", now, LEASE, 1, &["a"]).await.unwrap();
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].attempts, 2);
        assert_eq!(taken[0].lease_holder.as_deref(), Some("r2"));
        // The old holder can no longer renew or finish it.
        assert!(
            store
                .renew_job_leases("dead", &[id], now + LEASE)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(!store.complete_job(id, "dead", now).await.unwrap());
        assert!(!store.fail_job(id, "dead", "late", now).await.unwrap());
        assert!(!store.retry_job(id, "dead", "late", now, now).await.unwrap());
        assert!(store.complete_job(id, "r2", now).await.unwrap());
        let done = store.find_job(id).await.unwrap().unwrap();
        assert_eq!(done.state, JobState::Succeeded);
        assert_eq!(done.finished_at, Some(now));
        assert_eq!(done.lease_expires_at, None);
        // Finished: nothing to finish twice.
        assert!(!store.complete_job(id, "r2", now).await.unwrap());
    })
    .await;
}

#[tokio::test]
async fn retry_fail_and_batch_completion() {
    on_each_backend(|store| async move {
        let a = enqueue(&store, "a", 0).await;
        let b = enqueue(&store, "a", 0).await;
        let c = enqueue(&store, "a", 0).await;
        let d = enqueue(&store, "a", 0).await;
        store
            .claim_jobs("r", t0(), LEASE, 10, &["a"])
            .await
            .unwrap();
        let later = t0() + TimeDelta::minutes(5);
        assert!(
            store
                .retry_job(a, "r", "timeout", later, t0())
                .await
                .unwrap()
        );
        let long = "é".repeat(MAX_ERROR_CHARS * 2);
        assert!(store.fail_job(b, "r", &long, t0()).await.unwrap());
        let done = store.complete_jobs(&[c, d, a], "r", t0()).await.unwrap();
        assert_eq!(done, vec![c, d], "a is pending again, not held");

        let retried = store.find_job(a).await.unwrap().unwrap();
        assert_eq!(retried.state, JobState::Pending);
        assert_eq!(retried.run_at, later);
        assert_eq!(retried.last_error.as_deref(), Some("timeout"));
        assert_eq!(retried.lease_holder, None);
        assert_eq!(
            store.next_job_due(&[]).await.unwrap(),
            Some(later + TimeDelta::milliseconds(1))
        );
        assert_eq!(store.next_job_due(&["b"]).await.unwrap(), None);
        let failed = store.find_job(b).await.unwrap().unwrap();
        assert_eq!(failed.state, JobState::Failed);
        assert_eq!(failed.last_error.unwrap().chars().count(), MAX_ERROR_CHARS);
    })
    .await;
}

#[tokio::test]
async fn listing_filters_newest_first_and_pruning_keeps_failures() {
    on_each_backend(|store| async move {
        let ok = enqueue(&store, "a", 0).await;
        let bad = enqueue(&store, "a", 0).await;
        let waiting = enqueue(&store, "b", 0).await;
        store.claim_jobs("r", t0(), LEASE, 2, &["a"]).await.unwrap();
        store.complete_job(ok, "r", t0()).await.unwrap();
        store.fail_job(bad, "r", "no", t0()).await.unwrap();

        let all = store.list_jobs(&JobFilter::default()).await.unwrap();
        assert_eq!(
            all.iter().map(|j| j.id).collect::<Vec<_>>(),
            vec![waiting, bad, ok]
        );
        let open = store
            .list_jobs(&JobFilter {
                states: vec![JobState::Pending, JobState::Failed],
                kind: None,
                limit: 10,
            })
            .await
            .unwrap();
        assert_eq!(
            open.iter().map(|j| j.id).collect::<Vec<_>>(),
            vec![waiting, bad]
        );
        let of_a = store
            .list_jobs(&JobFilter {
                states: vec![],
                kind: Some("a".into()),
                limit: 1,
            })
            .await
            .unwrap();
        assert_eq!(of_a.iter().map(|j| j.id).collect::<Vec<_>>(), vec![bad]);

        assert_eq!(
            store.prune_jobs(t0()).await.unwrap(),
            0,
            "finished at t0, not before"
        );
        assert_eq!(
            store.prune_jobs(t0() + TimeDelta::days(1)).await.unwrap(),
            1
        );
        assert!(store.find_job(ok).await.unwrap().is_none());
        assert!(
            store.find_job(bad).await.unwrap().is_some(),
            "failures are kept"
        );
        assert!(store.find_job(waiting).await.unwrap().is_some());
    })
    .await;
}
