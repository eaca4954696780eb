//! The read API: user list with search, user detail.

use steward_inventory::{InventoryStore, SsoEvent};
use steward_store::queries::UserQuery;

use crate::common::*;

const C: i64 = 1;

#[tokio::test]
async fn list_users_searches_filters_and_pages() {
    on_each_backend(|store| async move {
        let mut users: Vec<_> = (0..30).map(user).collect();
        users[7].first_name = Some("Zoë".into());
        users[7].last_name = Some("Ångström".into());
        users[8].email = None;
        users[9].status = "SUSPENDED".into();
        store.upsert_users(C, 1, &users).await.unwrap();
        store
            .mark_removed(C, "users", &uid(29), t0())
            .await
            .unwrap();

        let all = store.list_users(C, &UserQuery::default()).await.unwrap();
        assert_eq!(all.total, 29);
        assert_eq!(all.items.len(), 29);
        // Ordered by lower-cased login, bytewise: user0@, user10@, …, user19@, user1@, …
        assert_eq!(all.items[0].login, "User0@Example.com");
        assert_eq!(all.items[1].login, "User10@Example.com");

        let q = |search: &str| UserQuery {
            search: Some(search.into()),
            ..UserQuery::default()
        };
        // Login / email prefix, case-insensitive: user1, user10..user19.
        assert_eq!(store.list_users(C, &q("USER1")).await.unwrap().total, 11);
        assert_eq!(store.list_users(C, &q("user12@")).await.unwrap().total, 1);
        // First and last name; non-ASCII lower-casing.
        let p = store.list_users(C, &q("zoë å")).await.unwrap();
        assert_eq!(p.total, 1);
        assert_eq!(p.items[0].id, uid(7));
        assert_eq!(store.list_users(C, &q("ÅNGS")).await.unwrap().total, 1);
        assert_eq!(store.list_users(C, &q("last2")).await.unwrap().total, 10);
        // Not a prefix of anything; LIKE wildcards are literal.
        assert_eq!(store.list_users(C, &q("ser1")).await.unwrap().total, 0);
        assert_eq!(store.list_users(C, &q("%")).await.unwrap().total, 0);
        assert_eq!(store.list_users(C, &q("   ")).await.unwrap().total, 29);

        let suspended = UserQuery {
            status: Some("SUSPENDED".into()),
            ..UserQuery::default()
        };
        let p = store.list_users(C, &suspended).await.unwrap();
        assert_eq!((p.total, p.items[0].id.clone()), (1, uid(9)));

        let sales_page = UserQuery {
            department: Some("Sales".into()),
            page: 1,
            page_size: 5,
            ..UserQuery::default()
        };
        let p = store.list_users(C, &sales_page).await.unwrap();
        // Odd users 1..27 live: 14.
        assert_eq!(p.total, 14);
        assert_eq!(p.items.len(), 5);
        let with_removed = UserQuery {
            include_removed: true,
            ..UserQuery::default()
        };
        let p = store.list_users(C, &with_removed).await.unwrap();
        assert_eq!(p.total, 30);
        assert!(p.items.iter().any(|u| u.removed_at == Some(t0())));
    })
    .await;
}

#[tokio::test]
async fn user_detail_shows_groups_apps_and_usage() {
    on_each_backend(|store| async move {
        store.upsert_users(C, 1, &[user(0), user(1)]).await.unwrap();
        store
            .upsert_groups(C, 1, &[group(0), group(1), group(2)])
            .await
            .unwrap();
        for g in 0..3 {
            store
                .upsert_members(C, 1, &gid(g), &[uid(0)])
                .await
                .unwrap();
        }
        store
            .mark_removed(C, "groups", &gid(2), t0())
            .await
            .unwrap();
        store
            .upsert_apps(C, 1, &[app(0), app(1), app(2), app(3)])
            .await
            .unwrap();
        store
            .upsert_app_users(C, 1, &[app_user(0, 0, "USER"), app_user(1, 0, "GROUP")])
            .await
            .unwrap();
        store
            .upsert_app_groups(
                C,
                1,
                &[
                    app_group(1, 0),
                    app_group(1, 1),
                    app_group(2, 1),
                    app_group(3, 2),
                ],
            )
            .await
            .unwrap();
        store
            .record_sso_events(
                C,
                &[SsoEvent {
                    uuid: "e".into(),
                    user_id: uid(0),
                    app_id: aid(1),
                    published: ts(3),
                    success: true,
                }],
            )
            .await
            .unwrap();

        let d = store.user_detail(C, &uid(0)).await.unwrap().unwrap();
        assert_eq!(d.user, user(0));
        let groups: Vec<_> = d.groups.iter().map(|g| g.id.clone()).collect();
        assert_eq!(groups, vec![gid(0), gid(1)]);
        let apps: Vec<_> = d
            .apps
            .iter()
            .map(|a| (a.app_id.clone(), a.scope.clone(), a.via_groups.clone()))
            .collect();
        assert_eq!(
            apps,
            vec![
                (aid(0), Some("USER".into()), vec![]),
                (aid(1), Some("GROUP".into()), vec![gid(0), gid(1)]),
                (aid(2), None, vec![gid(1)]),
            ]
        );
        assert_eq!(d.apps[1].last_sso_at, Some(ts(3)));
        assert_eq!((d.apps[1].sso_count_30d, d.apps[1].sso_count_90d), (1, 1));
        assert_eq!(d.apps[0].last_sso_at, None);

        let d1 = store.user_detail(C, &uid(1)).await.unwrap().unwrap();
        assert!(d1.groups.is_empty() && d1.apps.is_empty());
        assert!(store.user_detail(C, "00unknown").await.unwrap().is_none());
    })
    .await;
}

/// The unfiltered list's total is cached per finished sync run; a new run (or any write
/// through the store) makes it count again.
#[tokio::test]
async fn live_user_total_follows_sync_runs() {
    on_each_backend(|store| async move {
        let stats = steward_inventory::SyncStats::default();
        let run = store
            .start_run(C, steward_inventory::SyncKind::Full, t0())
            .await
            .unwrap();
        let users: Vec<_> = (0..5).map(user).collect();
        store.upsert_users(C, run, &users).await.unwrap();
        store
            .finish_run(run, "succeeded", &stats, None, t0())
            .await
            .unwrap();
        let total = |store: steward_store::Store| async move {
            store
                .list_users(C, &UserQuery::default())
                .await
                .unwrap()
                .total
        };
        assert_eq!(total(store.clone()).await, 5);
        assert_eq!(total(store.clone()).await, 5);

        let run = store
            .start_run(C, steward_inventory::SyncKind::Incremental, t0())
            .await
            .unwrap();
        let more: Vec<_> = (5..8).map(user).collect();
        store.upsert_users(C, run, &more).await.unwrap();
        assert_eq!(total(store.clone()).await, 8);
        store.mark_removed(C, "users", &uid(0), t0()).await.unwrap();
        assert_eq!(total(store.clone()).await, 7);
        store
            .finish_run(run, "succeeded", &stats, None, t0())
            .await
            .unwrap();
        assert_eq!(total(store.clone()).await, 7);
    })
    .await;
}
