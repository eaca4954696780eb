//! Retries with backoff, the attempt cap, permanent errors, panics, dedup.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use chrono::TimeDelta;
use steward_jobs::{JobError, Registry, RunSummary, Runner, handler_fn};
use steward_store::jobs::{JobState, NewJob};

use crate::common::{clocked_backends, config, new_job};

fn summary(succeeded: u64, retried: u64, failed: u64) -> RunSummary {
    RunSummary {
        succeeded,
        retried,
        failed,
    }
}

#[tokio::test]
async fn a_failing_job_is_retried_with_backoff_until_it_succeeds() {
    for (name, store, clock, _db) in clocked_backends().await {
        let calls = Arc::new(AtomicU32::new(0));
        let c = calls.clone();
        let registry = Registry::new().with(
            "flaky",
            handler_fn(move |_job| {
                let n = c.fetch_add(1, Ordering::SeqCst) + 1;
                async move {
                    if n <= 2 {
                        Err(JobError::Retry(format!("transient {n}")))
                    } else {
                        Ok(())
                    }
                }
            }),
        );
        let runner = Runner::new(store.clone(), registry, config("r"));
        let id = store
            .enqueue_job(&new_job("flaky", 1, clock.now(), 5))
            .await
            .unwrap()
            .id;

        let mut last_run_at = clock.now();
        for attempt in 1..=2u32 {
            let started = clock.now();
            assert_eq!(
                runner.run_until_idle().await.unwrap(),
                summary(0, 1, 0),
                "{name}"
            );
            let job = store.find_job(id).await.unwrap().unwrap();
            assert_eq!(job.state, JobState::Pending, "{name}");
            assert_eq!(job.attempts, attempt, "{name}");
            assert_eq!(
                job.last_error.as_deref(),
                Some(format!("transient {attempt}").as_str())
            );
            assert_eq!(job.lease_holder, None, "{name}");
            // Backoff: base 1 s doubled per attempt, equal jitter.
            let full = TimeDelta::seconds(1 << (attempt - 1));
            let wait = job.run_at - started;
            assert!(
                wait >= full / 2 && wait <= full,
                "{name}: attempt {attempt} waits {wait}"
            );
            assert!(job.run_at > last_run_at, "{name}");
            last_run_at = job.run_at;
            // Not due yet: nothing runs.
            assert_eq!(
                runner.run_until_idle().await.unwrap(),
                summary(0, 0, 0),
                "{name}"
            );
            clock.set(job.run_at);
        }
        assert_eq!(
            runner.run_until_idle().await.unwrap(),
            summary(1, 0, 0),
            "{name}"
        );
        let job = store.find_job(id).await.unwrap().unwrap();
        assert_eq!(job.state, JobState::Succeeded, "{name}");
        assert_eq!(job.attempts, 3, "{name}");
        assert_eq!(job.finished_at, Some(clock.now()), "{name}");
        assert_eq!(calls.load(Ordering::SeqCst), 3, "{name}");
        store.close().await;
    }
}

#[tokio::test]
async fn a_job_that_keeps_failing_fails_for_good_after_max_attempts() {
    for (name, store, clock, _db) in clocked_backends().await {
        let registry = Registry::new().with(
            "down",
            handler_fn(|_job| async { Err(JobError::Retry("the org is down".into())) }),
        );
        let runner = Runner::new(store.clone(), registry, config("r"));
        let id = store
            .enqueue_job(&new_job("down", 1, clock.now(), 3))
            .await
            .unwrap()
            .id;
        let mut total = RunSummary::default();
        for _ in 0..10 {
            let s = runner.run_until_idle().await.unwrap();
            total.retried += s.retried;
            total.failed += s.failed;
            let job = store.find_job(id).await.unwrap().unwrap();
            if job.state != JobState::Pending {
                break;
            }
            clock.set(job.run_at);
        }
        assert_eq!(total, summary(0, 2, 1), "{name}");
        let job = store.find_job(id).await.unwrap().unwrap();
        assert_eq!(job.state, JobState::Failed, "{name}");
        assert_eq!(job.attempts, 3, "{name}");
        assert_eq!(
            job.last_error.as_deref(),
            Some("failed after 3 attempts: the org is down"),
            "{name}"
        );
        assert!(job.finished_at.is_some(), "{name}");
        // Failed for good: it is never claimed again.
        clock.set(clock.now() + TimeDelta::days(1));
        assert_eq!(
            runner.run_until_idle().await.unwrap(),
            summary(0, 0, 0),
            "{name}"
        );
        store.close().await;
    }
}

#[tokio::test]
async fn a_permanent_error_fails_at_once_with_its_reason() {
    for (name, store, clock, _db) in clocked_backends().await {
        let registry = Registry::new().with(
            "bad",
            handler_fn(|_job| async { Err(JobError::Permanent("group 00g1 is gone".into())) }),
        );
        let runner = Runner::new(store.clone(), registry, config("r"));
        let id = store
            .enqueue_job(&new_job("bad", 1, clock.now(), 5))
            .await
            .unwrap()
            .id;
        assert_eq!(
            runner.run_until_idle().await.unwrap(),
            summary(0, 0, 1),
            "{name}"
        );
        let job = store.find_job(id).await.unwrap().unwrap();
        assert_eq!(job.state, JobState::Failed, "{name}");
        assert_eq!(job.attempts, 1, "{name}");
        assert_eq!(
            job.last_error.as_deref(),
            Some("group 00g1 is gone"),
            "{name}"
        );
        store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_job_fails_alone_and_the_runner_goes_on() {
    for (name, store, clock, _db) in clocked_backends().await {
        let registry = Registry::new()
            .with("ok", handler_fn(|_job| async { Ok(()) }))
            .with(
                "panics",
                handler_fn(|job| async move {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    panic!("boom {}", job.payload["n"]);
                }),
            );
        let runner = Runner::new(store.clone(), registry, config("r"));
        let mut ok = Vec::new();
        for n in 0..5 {
            ok.push(
                store
                    .enqueue_job(&new_job("ok", n, clock.now(), 3))
                    .await
                    .unwrap()
                    .id,
            );
        }
        let bad = store
            .enqueue_job(&new_job("panics", 42, clock.now(), 3))
            .await
            .unwrap()
            .id;
        assert_eq!(
            runner.run_until_idle().await.unwrap(),
            summary(5, 0, 1),
            "{name}"
        );
        let job = store.find_job(bad).await.unwrap().unwrap();
        assert_eq!(job.state, JobState::Failed, "{name}");
        assert_eq!(job.attempts, 1, "{name}");
        let error = job.last_error.unwrap_or_default();
        assert!(
            error.contains("panicked") && error.contains("boom 42"),
            "{name}: {error}"
        );
        for id in ok {
            let job = store.find_job(id).await.unwrap().unwrap();
            assert_eq!(job.state, JobState::Succeeded, "{name}");
        }
        // The same runner keeps working.
        store
            .enqueue_job(&new_job("ok", 9, clock.now(), 3))
            .await
            .unwrap();
        assert_eq!(
            runner.run_until_idle().await.unwrap(),
            summary(1, 0, 0),
            "{name}"
        );
        store.close().await;
    }
}

#[tokio::test]
async fn only_registered_kinds_are_claimed() {
    for (name, store, clock, _db) in clocked_backends().await {
        let runner = Runner::new(
            store.clone(),
            Registry::new().with("mine", handler_fn(|_job| async { Ok(()) })),
            config("r"),
        );
        let other = store
            .enqueue_job(&new_job("theirs", 1, clock.now(), 3))
            .await
            .unwrap()
            .id;
        store
            .enqueue_job(&new_job("mine", 2, clock.now(), 3))
            .await
            .unwrap();
        assert_eq!(
            runner.run_until_idle().await.unwrap(),
            summary(1, 0, 0),
            "{name}"
        );
        let job = store.find_job(other).await.unwrap().unwrap();
        assert_eq!(
            job.state,
            JobState::Pending,
            "{name}: another kind was touched"
        );
        // No handlers at all: nothing is claimed (an empty kind list would mean "any").
        let idle = Runner::new(store.clone(), Registry::new(), config("idle"));
        assert_eq!(
            idle.run_until_idle().await.unwrap(),
            summary(0, 0, 0),
            "{name}"
        );
        assert_eq!(
            store.find_job(other).await.unwrap().unwrap().attempts,
            0,
            "{name}"
        );
        store.close().await;
    }
}

#[tokio::test]
async fn a_dedup_key_allows_one_live_job_per_kind() {
    for (name, store, clock, _db) in clocked_backends().await {
        let job = |kind: &str| NewJob {
            dedup_key: Some("connection:1".into()),
            ..new_job(kind, 1, clock.now(), 3)
        };
        let first = store.enqueue_job(&job("sync")).await.unwrap();
        assert!(first.created, "{name}");
        let again = store.enqueue_job(&job("sync")).await.unwrap();
        assert_eq!((again.id, again.created), (first.id, false), "{name}");
        // Another kind with the same key is another job.
        assert!(
            store.enqueue_job(&job("report")).await.unwrap().created,
            "{name}"
        );
        // Still a duplicate while it runs.
        let runner = Runner::new(
            store.clone(),
            Registry::new().with("sync", handler_fn(|_job| async { Ok(()) })),
            config("r"),
        );
        let claimed = store
            .claim_jobs("other", clock.now(), TimeDelta::seconds(30), 10, &["sync"])
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1, "{name}");
        let during = store.enqueue_job(&job("sync")).await.unwrap();
        assert_eq!((during.id, during.created), (first.id, false), "{name}");
        assert!(
            store
                .complete_job(first.id, "other", clock.now())
                .await
                .unwrap()
        );
        // Finished: a new one can be enqueued.
        let next = store.enqueue_job(&job("sync")).await.unwrap();
        assert!(next.created && next.id != first.id, "{name}");
        assert_eq!(
            runner.run_until_idle().await.unwrap(),
            summary(1, 0, 0),
            "{name}"
        );
        store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runner_that_lost_its_lease_stops_the_job_and_leaves_it_to_the_new_holder() {
    for (name, store, clock, _db) in clocked_backends().await {
        let registry = Registry::new().with(
            "block",
            handler_fn(|_job| async {
                std::future::pending::<()>().await;
                Ok::<(), JobError>(())
            }),
        );
        let runner = Runner::new(store.clone(), registry, config("a"));
        let id = store
            .enqueue_job(&new_job("block", 1, clock.now(), 3))
            .await
            .unwrap()
            .id;
        let run = tokio::spawn(async move { runner.run_until_idle().await });
        loop {
            let job = store.find_job(id).await.unwrap().unwrap();
            if job.state == JobState::Running {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Another runner takes it over as if "a" had stalled past its lease.
        let later = clock.now() + TimeDelta::hours(1);
        let taken = store
            .claim_jobs("b", later, TimeDelta::hours(1), 1, &["block"])
            .await
            .unwrap();
        assert_eq!(taken.len(), 1, "{name}");
        // "a"'s heartbeat finds the lease gone and aborts the handler: the run ends.
        let summary = tokio::time::timeout(Duration::from_secs(5), run)
            .await
            .expect("the runner stopped the job")
            .unwrap()
            .unwrap();
        assert_eq!(summary, RunSummary::default(), "{name}");
        let job = store.find_job(id).await.unwrap().unwrap();
        assert_eq!(job.state, JobState::Running, "{name}");
        assert_eq!(job.lease_holder.as_deref(), Some("b"), "{name}");
        assert_eq!(job.attempts, 2, "{name}");
        store.close().await;
    }
}

#[tokio::test]
async fn a_job_whose_runners_keep_dying_runs_out_of_attempts() {
    for (name, store, clock, _db) in clocked_backends().await {
        let runs = Arc::new(AtomicU32::new(0));
        let r = runs.clone();
        let registry = Registry::new().with(
            "crashy",
            handler_fn(move |_job| {
                r.fetch_add(1, Ordering::SeqCst);
                async { Ok(()) }
            }),
        );
        let runner = Runner::new(store.clone(), registry, config("r"));
        let id = store
            .enqueue_job(&new_job("crashy", 1, clock.now(), 2))
            .await
            .unwrap()
            .id;
        // Two runners claim it and die (their leases expire).
        for dead in ["dead-1", "dead-2"] {
            let claimed = store
                .claim_jobs(dead, clock.now(), TimeDelta::seconds(2), 1, &["crashy"])
                .await
                .unwrap();
            assert_eq!(claimed.len(), 1, "{name}");
            clock.set(clock.now() + TimeDelta::seconds(3));
        }
        // The third claim is past max_attempts: failed without running the handler.
        assert_eq!(
            runner.run_until_idle().await.unwrap(),
            summary(0, 0, 1),
            "{name}"
        );
        assert_eq!(runs.load(Ordering::SeqCst), 0, "{name}");
        let job = store.find_job(id).await.unwrap().unwrap();
        assert_eq!(job.state, JobState::Failed, "{name}");
        assert_eq!(job.attempts, 3, "{name}");
        let error = job.last_error.unwrap_or_default();
        assert!(
            error.contains("out of attempts (2 allowed)"),
            "{name}: {error}"
        );
        store.close().await;
    }
}
