//! The web's tables and reads: groups and apps with counts, details, runs.

use steward_inventory::{InventoryStore, SsoEvent, SyncKind, SyncStats};
use steward_store::browse::ListQuery;

use crate::common::*;

const C: i64 = 1;

#[tokio::test]
async fn groups_and_apps_with_counts_details_and_runs() {
    on_each_backend(|store| async move {
        store
            .upsert_users(C, 1, &(0..6).map(user).collect::<Vec<_>>())
            .await
            .unwrap();
        store
            .upsert_groups(C, 1, &(0..3).map(group).collect::<Vec<_>>())
            .await
            .unwrap();
        store
            .upsert_apps(C, 1, &(0..2).map(app).collect::<Vec<_>>())
            .await
            .unwrap();
        let members: Vec<String> = (0..4).map(uid).collect();
        store.upsert_members(C, 1, &gid(0), &members).await.unwrap();
        store
            .upsert_members(C, 1, &gid(1), &[uid(5)])
            .await
            .unwrap();
        store
            .upsert_app_groups(C, 1, &[app_group(0, 0)])
            .await
            .unwrap();
        let assigned: Vec<_> = (0..4)
            .map(|u| app_user(0, u, "GROUP"))
            .chain([app_user(0, 5, "USER")])
            .collect();
        store.upsert_app_users(C, 1, &assigned).await.unwrap();
        let sso = |uuid: &str, user: usize, days: i64| SsoEvent {
            uuid: uuid.into(),
            user_id: uid(user),
            app_id: aid(0),
            published: ts(days),
            success: true,
        };
        store
            .record_sso_events(C, &[sso("e1", 0, 1), sso("e2", 1, 45), sso("e3", 5, 2)])
            .await
            .unwrap();
        store
            .mark_removed(C, "groups", &gid(2), t0())
            .await
            .unwrap();

        let groups = store.list_groups(C, &ListQuery::default()).await.unwrap();
        assert_eq!(groups.total, 2, "removed groups are not listed");
        assert_eq!((groups.items[0].members, groups.items[0].apps), (4, 1));
        let q = ListQuery {
            search: Some("GROUP 1".into()),
            ..ListQuery::default()
        };
        assert_eq!(store.list_groups(C, &q).await.unwrap().items[0].id, gid(1));

        let d = store.group_detail(C, &gid(0), 0, 3).await.unwrap().unwrap();
        assert_eq!((d.members.total, d.members.items.len()), (4, 3));
        assert_eq!(d.apps[0].name, "App 0");
        assert!(
            store
                .group_detail(C, &gid(2), 0, 10)
                .await
                .unwrap()
                .is_none()
        );

        let apps = store.list_apps(C, &ListQuery::default()).await.unwrap();
        let a = &apps.items[0];
        assert_eq!(a.id, aid(0));
        assert_eq!((a.assigned_users, a.assigned_groups), (5, 1));
        assert_eq!((a.active_30d, a.active_90d, a.never_used), (2, 3, 2));
        let d = store.app_detail(C, &aid(0), 0, 50).await.unwrap().unwrap();
        assert_eq!(d.assignees.total, 5);
        let direct = d.assignees.items.iter().find(|m| m.id == uid(5)).unwrap();
        assert_eq!(
            (direct.scope.as_deref(), direct.sso_count_30d),
            (Some("USER"), 1)
        );
        assert_eq!(d.groups[0].id, gid(0));

        assert_eq!(
            store.departments(C).await.unwrap(),
            ["Engineering", "Sales"]
        );

        let r1 = store.start_run(C, SyncKind::Full, ts(1)).await.unwrap();
        store
            .finish_run(r1, "succeeded", &SyncStats::default(), None, ts(1))
            .await
            .unwrap();
        let r2 = store
            .start_run(C, SyncKind::Incremental, t0())
            .await
            .unwrap();
        let runs = store.list_sync_runs(C, 10).await.unwrap();
        assert_eq!(runs.iter().map(|r| r.id).collect::<Vec<_>>(), [r2, r1]);
        assert_eq!(runs[0].status, "running");
    })
    .await;
}
