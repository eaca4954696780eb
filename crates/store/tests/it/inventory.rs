//! Writes through `InventoryStore`: upserts, idempotency, removal marking, scoping.

use steward_inventory::{InventoryStore, StoreError, SyncKind};
use steward_store::Store;

use crate::common::*;

const C: i64 = 1;

/// Users 0..10, groups 0..3 (group g has users with i % 3 == g), apps 0..2 with user and
/// group assignments; all stamped with `run`.
async fn seed(store: &Store, run: i64) {
    let users: Vec<_> = (0..10).map(user).collect();
    store.upsert_users(C, run, &users).await.unwrap();
    store
        .upsert_groups(C, run, &(0..3).map(group).collect::<Vec<_>>())
        .await
        .unwrap();
    for g in 0..3 {
        let members: Vec<String> = (0..10).filter(|i| i % 3 == g).map(uid).collect();
        store
            .upsert_members(C, run, &gid(g), &members)
            .await
            .unwrap();
    }
    store
        .upsert_apps(C, run, &(0..2).map(app).collect::<Vec<_>>())
        .await
        .unwrap();
    store
        .upsert_app_users(
            C,
            run,
            &[
                app_user(0, 0, "USER"),
                app_user(0, 3, "GROUP"),
                app_user(1, 1, "USER"),
            ],
        )
        .await
        .unwrap();
    store
        .upsert_app_groups(C, run, &[app_group(0, 0), app_group(1, 2)])
        .await
        .unwrap();
}

async fn removed(store: &Store, table: &str) -> i64 {
    store
        .raw_scalar(
            &format!(
                "SELECT COUNT(*) FROM {table} WHERE connection_id = $1 AND removed_at IS NOT NULL"
            ),
            C,
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn upserts_are_idempotent() {
    on_each_backend(|store| async move {
        seed(&store, 1).await;
        let first = store.inventory_snapshot(C).await.unwrap();
        let counts = store.counts(C).await.unwrap();
        seed(&store, 1).await;
        assert_eq!(store.inventory_snapshot(C).await.unwrap(), first);
        assert_eq!(store.counts(C).await.unwrap(), counts);

        assert_eq!(first.users.len(), 10);
        assert_eq!(first.groups.len(), 3);
        assert_eq!(
            first.groups[0].members,
            vec![uid(0), uid(3), uid(6), uid(9)]
        );
        assert_eq!(
            first.groups[0].last_membership_updated.as_deref(),
            Some("2025-02-28T12:00:00.000Z")
        );
        assert_eq!(
            first.users[5].last_updated.as_deref(),
            Some("2025-02-27T12:00:00.005Z")
        );
        assert_eq!(first.apps[0].users.len(), 2);
        assert_eq!(first.apps[0].users[1].scope, "GROUP");
        assert_eq!(first.apps[1].groups, vec![gid(2)]);
        assert_eq!(counts.users(), 10);
        assert_eq!(counts.memberships, 10);
        assert_eq!(counts.app_users(), 3);
        assert_eq!(counts.app_groups, 2);
        assert_eq!(counts.users_by_status.get("ACTIVE"), Some(&10));
        assert_eq!(counts.groups_by_type.get("OKTA_GROUP"), Some(&3));

        // Every field round-trips.
        let detail = store.user_detail(C, &uid(4)).await.unwrap().unwrap();
        assert_eq!(detail.user, user(4));
    })
    .await;
}

#[tokio::test]
async fn upsert_updates_fields_and_last_duplicate_wins() {
    on_each_backend(|store| async move {
        seed(&store, 1).await;
        let mut a = user(1);
        a.status = "SUSPENDED".into();
        let mut b = user(1);
        b.status = "DEPROVISIONED".into();
        b.email = None;
        b.profile = serde_json::json!({"changed": true});
        store.upsert_users(C, 2, &[a, b.clone()]).await.unwrap();
        let detail = store.user_detail(C, &uid(1)).await.unwrap().unwrap();
        assert_eq!(detail.user, b);

        let mut g = group(0);
        g.name = "Renamed".into();
        store
            .upsert_groups(C, 2, &[g.clone(), g.clone()])
            .await
            .unwrap();
        store
            .upsert_members(C, 2, &gid(0), &[uid(0), uid(0)])
            .await
            .unwrap();
        store
            .upsert_app_users(C, 2, &[app_user(0, 0, "USER"), app_user(0, 0, "GROUP")])
            .await
            .unwrap();
        store
            .upsert_app_groups(C, 2, &[app_group(0, 0), app_group(0, 0)])
            .await
            .unwrap();
        let snap = store.inventory_snapshot(C).await.unwrap();
        assert_eq!(snap.groups[0].name, "Renamed");
        assert_eq!(snap.apps[0].users[0].scope, "GROUP");
    })
    .await;
}

#[tokio::test]
async fn empty_batches_are_no_ops() {
    on_each_backend(|store| async move {
        store.upsert_users(C, 1, &[]).await.unwrap();
        store.upsert_groups(C, 1, &[]).await.unwrap();
        store.upsert_apps(C, 1, &[]).await.unwrap();
        store.upsert_members(C, 1, &gid(0), &[]).await.unwrap();
        store.upsert_app_users(C, 1, &[]).await.unwrap();
        store.upsert_app_groups(C, 1, &[]).await.unwrap();
        assert_eq!(store.record_sso_events(C, &[]).await.unwrap(), 0);
        assert_eq!(store.counts(C).await.unwrap().rows.values().sum::<i64>(), 0);
    })
    .await;
}

#[tokio::test]
async fn full_listing_marks_unseen_objects_and_their_relations() {
    on_each_backend(|store| async move {
        seed(&store, 1).await;
        // Run 2 sees users 0..9 except 3, groups except 2, apps except 1.
        let users: Vec<_> = (0..10).filter(|i| *i != 3).map(user).collect();
        store.upsert_users(C, 2, &users).await.unwrap();
        store
            .upsert_groups(C, 2, &[group(0), group(1)])
            .await
            .unwrap();
        store.upsert_apps(C, 2, &[app(0)]).await.unwrap();
        let at = t0();
        for kind in ["users", "groups", "apps"] {
            store.finish_full_listing(C, 2, kind, at).await.unwrap();
            // Twice: same state.
            store.finish_full_listing(C, 2, kind, at).await.unwrap();
        }
        let snap = store.inventory_snapshot(C).await.unwrap();
        assert_eq!(snap.users.len(), 9);
        assert!(snap.users.iter().all(|u| u.id != uid(3)));
        assert_eq!(snap.groups.len(), 2);
        // User 3 leaves group 0; group 2's memberships go with it.
        assert_eq!(snap.groups[0].members, vec![uid(0), uid(6), uid(9)]);
        assert_eq!(snap.apps.len(), 1);
        // app 0: user 3's assignment removed; app 1 removed with its assignments.
        assert_eq!(snap.apps[0].users.len(), 1);
        assert_eq!(removed(&store, "users").await, 1);
        assert_eq!(removed(&store, "groups").await, 1);
        assert_eq!(removed(&store, "apps").await, 1);
        // user 3 in group 0 + group 2's three members (2, 5, 8).
        assert_eq!(removed(&store, "memberships").await, 4);
        // user 3 on app 0, user 1 on app 1.
        assert_eq!(removed(&store, "app_users").await, 2);
        // group 2 on app 1.
        assert_eq!(removed(&store, "app_groups").await, 1);

        // Rows are kept, with the time of removal.
        let detail = store.user_detail(C, &uid(3)).await.unwrap().unwrap();
        assert_eq!(detail.removed_at, Some(at));
        assert!(detail.groups.is_empty());
        let counts = store.counts(C).await.unwrap();
        assert_eq!(counts.rows["users"], 10);
        assert_eq!(counts.users(), 9);

        // Seen again: back, removed mark cleared.
        store.upsert_users(C, 3, &[user(3)]).await.unwrap();
        let detail = store.user_detail(C, &uid(3)).await.unwrap().unwrap();
        assert_eq!(detail.removed_at, None);

        let err = store
            .finish_full_listing(C, 2, "widgets", at)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
    })
    .await;
}

#[tokio::test]
async fn finish_relations_marks_what_the_run_did_not_see() {
    on_each_backend(|store| async move {
        seed(&store, 1).await;
        // Run 2 reads group 0 completely: users 0 and 6 only (3 and 9 left).
        store
            .upsert_members(C, 2, &gid(0), &[uid(0), uid(6)])
            .await
            .unwrap();
        store
            .finish_group_members(C, 2, &gid(0), t0())
            .await
            .unwrap();
        store
            .finish_group_members(C, 2, &gid(0), t0())
            .await
            .unwrap();
        // App 0 users: only user 0; app 0 groups: none.
        store
            .upsert_app_users(C, 2, &[app_user(0, 0, "USER")])
            .await
            .unwrap();
        store.finish_app_users(C, 2, &aid(0), t0()).await.unwrap();
        store.finish_app_groups(C, 2, &aid(0), t0()).await.unwrap();

        let snap = store.inventory_snapshot(C).await.unwrap();
        assert_eq!(snap.groups[0].members, vec![uid(0), uid(6)]);
        // Other groups untouched.
        assert_eq!(snap.groups[1].members.len(), 3);
        assert_eq!(snap.apps[0].users.len(), 1);
        assert!(snap.apps[0].groups.is_empty());
        assert_eq!(snap.apps[1].users.len(), 1);
        assert_eq!(snap.apps[1].groups, vec![gid(2)]);
        assert_eq!(removed(&store, "memberships").await, 2);

        // A member seen again comes back.
        store
            .upsert_members(C, 3, &gid(0), &[uid(3)])
            .await
            .unwrap();
        let snap = store.inventory_snapshot(C).await.unwrap();
        assert_eq!(snap.groups[0].members, vec![uid(0), uid(3), uid(6)]);
    })
    .await;
}

#[tokio::test]
async fn membership_changes_from_the_log() {
    on_each_backend(|store| async move {
        seed(&store, 1).await;
        store
            .apply_membership_change(C, &gid(1), &uid(0), true, t0())
            .await
            .unwrap();
        store
            .apply_membership_change(C, &gid(1), &uid(0), true, t0())
            .await
            .unwrap();
        store
            .apply_membership_change(C, &gid(0), &uid(3), false, t0())
            .await
            .unwrap();
        store
            .apply_membership_change(C, &gid(0), &uid(3), false, ts(-1))
            .await
            .unwrap();
        // Removing a membership never stored is a no-op.
        store
            .apply_membership_change(C, &gid(2), &uid(0), false, t0())
            .await
            .unwrap();
        let snap = store.inventory_snapshot(C).await.unwrap();
        assert_eq!(snap.groups[1].members, vec![uid(0), uid(1), uid(4), uid(7)]);
        assert_eq!(snap.groups[0].members, vec![uid(0), uid(6), uid(9)]);
        // The first removal time is kept.
        let at: i64 = store
            .raw_scalar(
                "SELECT removed_at FROM memberships WHERE connection_id = $1 AND removed_at IS NOT NULL",
                C,
            )
            .await
            .unwrap();
        assert_eq!(at, t0().timestamp_millis());
        // A log-added membership was not seen by the next full read of the group: removed.
        store.upsert_members(C, 5, &gid(1), &[uid(1), uid(4), uid(7)]).await.unwrap();
        store.finish_group_members(C, 5, &gid(1), t0()).await.unwrap();
        let snap = store.inventory_snapshot(C).await.unwrap();
        assert_eq!(snap.groups[1].members, vec![uid(1), uid(4), uid(7)]);
    })
    .await;
}

#[tokio::test]
async fn remove_app_user_marks_one_assignment() {
    on_each_backend(|store| async move {
        seed(&store, 1).await;
        store
            .remove_app_user(C, &aid(0), &uid(3), t0())
            .await
            .unwrap();
        // Idempotent, and the first removal time is kept.
        store
            .remove_app_user(C, &aid(0), &uid(3), ts(-1))
            .await
            .unwrap();
        // Unknown assignments are a no-op.
        store
            .remove_app_user(C, &aid(1), &uid(9), t0())
            .await
            .unwrap();
        store
            .remove_app_user(C, "0oa-never-seen", &uid(0), t0())
            .await
            .unwrap();
        let snap = store.inventory_snapshot(C).await.unwrap();
        let ids = |i: usize| -> Vec<String> {
            snap.apps[i].users.iter().map(|u| u.id.clone()).collect()
        };
        assert_eq!(ids(0), vec![uid(0)]);
        assert_eq!(ids(1), vec![uid(1)]);
        assert_eq!(removed(&store, "app_users").await, 1);
        let at: i64 = store
            .raw_scalar(
                "SELECT removed_at FROM app_users WHERE connection_id = $1 AND removed_at IS NOT NULL",
                C,
            )
            .await
            .unwrap();
        assert_eq!(at, t0().timestamp_millis());
        // Seen again: back.
        store
            .upsert_app_users(C, 2, &[app_user(0, 3, "GROUP")])
            .await
            .unwrap();
        let snap = store.inventory_snapshot(C).await.unwrap();
        assert_eq!(snap.apps[0].users.len(), 2);
    })
    .await;
}

#[tokio::test]
async fn mark_removed_takes_relations_along() {
    on_each_backend(|store| async move {
        seed(&store, 1).await;
        store.mark_removed(C, "users", &uid(0), t0()).await.unwrap();
        store.mark_removed(C, "group", &gid(1), t0()).await.unwrap();
        store.mark_removed(C, "apps", &aid(1), t0()).await.unwrap();
        store
            .mark_removed(C, "apps", &aid(1), ts(-3))
            .await
            .unwrap();
        store
            .mark_removed(C, "apps", "0oa-never-seen", t0())
            .await
            .unwrap();
        let snap = store.inventory_snapshot(C).await.unwrap();
        assert_eq!(snap.users.len(), 9);
        assert_eq!(snap.groups.len(), 2);
        assert_eq!(snap.groups[0].members, vec![uid(3), uid(6), uid(9)]);
        assert_eq!(snap.apps.len(), 1);
        assert_eq!(
            snap.apps[0].users,
            vec![steward_store::queries::SnapshotAppUser {
                id: uid(3),
                scope: "GROUP".into()
            }]
        );
        // user 0 in group 0, group 1's 3 members.
        assert_eq!(removed(&store, "memberships").await, 4);
        assert_eq!(removed(&store, "app_groups").await, 1);
        assert!(store.mark_removed(C, "nothing", "x", t0()).await.is_err());
        let stamps = store.group_membership_stamps(C).await.unwrap();
        assert_eq!(stamps, vec![(gid(0), Some(ts(1))), (gid(2), Some(ts(1)))]);
    })
    .await;
}

#[tokio::test]
async fn connections_do_not_see_each_other() {
    on_each_backend(|store| async move {
        seed(&store, 1).await;
        store.upsert_users(2, 7, &[user(100)]).await.unwrap();
        store
            .finish_full_listing(2, 7, "users", t0())
            .await
            .unwrap();
        store
            .finish_full_listing(2, 7, "groups", t0())
            .await
            .unwrap();
        store
            .save_checkpoint(2, "users", &serde_json::json!(1))
            .await
            .unwrap();
        let run = store.start_run(2, SyncKind::Full, t0()).await.unwrap();
        assert_eq!(store.counts(C).await.unwrap().users(), 10);
        assert_eq!(store.counts(2).await.unwrap().users(), 1);
        assert_eq!(
            store.inventory_snapshot(2).await.unwrap().users[0].id,
            uid(100)
        );
        assert_eq!(store.checkpoint(C, "users").await.unwrap(), None);
        assert_eq!(store.unfinished_run(C).await.unwrap(), None);
        assert_eq!(store.unfinished_run(2).await.unwrap().unwrap().id, run);
        assert_eq!(removed(&store, "users").await, 0);
    })
    .await;
}

#[tokio::test]
async fn bulk_insert_of_50k_users_and_their_memberships() {
    on_each_backend(|store| async move {
        const N: usize = 50_000;
        let users: Vec<_> = (0..N).map(user).collect();
        store.upsert_users(C, 1, &users).await.unwrap();
        store
            .upsert_groups(C, 1, &(0..5).map(group).collect::<Vec<_>>())
            .await
            .unwrap();
        for g in 0..5 {
            let members: Vec<String> = (0..N).filter(|i| i % 5 == g).map(uid).collect();
            store.upsert_members(C, 1, &gid(g), &members).await.unwrap();
        }
        // Again, as a resumed sync would: nothing changes.
        store.upsert_users(C, 1, &users[..20_000]).await.unwrap();
        let counts = store.counts(C).await.unwrap();
        assert_eq!(counts.users(), N as i64);
        assert_eq!(counts.rows["users"], N as i64);
        assert_eq!(counts.memberships, N as i64);
        for i in [0, 1, 12_345, N - 1] {
            let d = store.user_detail(C, &uid(i)).await.unwrap().unwrap();
            assert_eq!(d.user, user(i));
            assert_eq!(d.groups.len(), 1);
            assert_eq!(d.groups[0].id, gid(i % 5));
        }
        // A full run that saw all but the last 1000.
        store.upsert_users(C, 2, &users[..N - 1000]).await.unwrap();
        store
            .finish_full_listing(C, 2, "users", t0())
            .await
            .unwrap();
        let counts = store.counts(C).await.unwrap();
        assert_eq!(counts.users(), (N - 1000) as i64);
        assert_eq!(counts.memberships, (N - 1000) as i64);
    })
    .await;
}
