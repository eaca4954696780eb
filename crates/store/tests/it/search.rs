//! The users list's search: a case-insensitive prefix of login, email, `first last` or last
//! name, on the covering search indexes (migration 0005). Short queries, case, paging in
//! login order over more matches than a page, and the indexes following updates and removals.

use steward_inventory::InventoryStore;
use steward_store::queries::UserQuery;

use crate::common::*;

const C: i64 = 1;

fn q(search: &str, page: u32, page_size: u32) -> UserQuery {
    UserQuery {
        search: Some(search.into()),
        page,
        page_size,
        ..UserQuery::default()
    }
}

#[tokio::test]
async fn search_short_queries_case_paging_and_changes() {
    on_each_backend(|store| async move {
        let names = [
            ("ada", "Lovelace"),
            ("Alan", "Turing"),
            ("grace", "Hopper"),
            ("Edsger", "Dijkstra"),
            ("Barbara", "Liskov"),
            ("ALONZO", "Church"),
            ("Donald", "Knuth"),
            ("Ada", "Yonath"),
        ];
        let mut users: Vec<_> = (0..40).map(user).collect();
        for (i, (first, last)) in names.iter().enumerate() {
            let u = &mut users[i];
            u.login = format!("{first}.{last}@Example.com");
            u.email = Some(format!("{}@mail.example.org", last.to_lowercase()));
            u.first_name = Some((*first).into());
            u.last_name = Some((*last).into());
        }
        store.upsert_users(C, 1, &users).await.unwrap();
        let ids = |store: &steward_store::Store, query: UserQuery| {
            let store = store.clone();
            async move {
                let p = store.list_users(C, &query).await.unwrap();
                (
                    p.total,
                    p.items.into_iter().map(|u| u.login).collect::<Vec<_>>(),
                )
            }
        };

        // One and two characters, any case: logins and first names starting with "a".
        let (total, logins) = ids(&store, q("a", 0, 50)).await;
        assert_eq!(total, 4, "{logins:?}");
        assert_eq!(
            logins,
            [
                "ada.Lovelace@Example.com",
                "Ada.Yonath@Example.com",
                "Alan.Turing@Example.com",
                "ALONZO.Church@Example.com"
            ]
        );
        assert_eq!(ids(&store, q("AL", 0, 50)).await.0, 2);
        assert_eq!(ids(&store, q("Ad", 0, 50)).await.0, 2);
        // Last names and emails (same prefix), counted once per user.
        assert_eq!(ids(&store, q("l", 0, 50)).await.0, 2 + 32);
        assert_eq!(
            ids(&store, q("kNu", 0, 50)).await.1,
            ["Donald.Knuth@Example.com"]
        );
        // `first last`, with the space.
        assert_eq!(ids(&store, q("grace h", 0, 50)).await.0, 1);
        // A prefix only: the middle of a name matches nothing.
        assert_eq!(ids(&store, q("uring", 0, 50)).await.0, 0);
        assert_eq!(ids(&store, q("_", 0, 50)).await.0, 0);

        // More matches than a page: the pages follow login order without overlap.
        let (total, first) = ids(&store, q("user", 0, 7)).await;
        assert_eq!(total, 32);
        let (total2, second) = ids(&store, q("USER", 1, 7)).await;
        assert_eq!(total2, 32);
        assert_eq!(first.len(), 7);
        assert_eq!(second.len(), 7);
        let mut both = first.clone();
        both.extend(second.iter().cloned());
        let mut sorted = both.clone();
        sorted.sort_by_key(|l| l.to_lowercase());
        assert_eq!(both, sorted);
        assert!(first.iter().all(|l| !second.contains(l)));
        assert_eq!(ids(&store, q("user", 5, 7)).await.1, Vec::<String>::new());

        // Renamed after it was indexed: found by the new name only.
        let mut alan = users[1].clone();
        alan.last_name = Some("Kay".into());
        alan.login = "alan.kay@example.com".into();
        alan.email = Some("kay@mail.example.org".into());
        store.upsert_users(C, 2, &[alan]).await.unwrap();
        assert_eq!(ids(&store, q("turing", 0, 50)).await.0, 0);
        assert_eq!(ids(&store, q("tu", 0, 50)).await.0, 0);
        assert_eq!(
            ids(&store, q("KAY", 0, 50)).await.1,
            ["alan.kay@example.com"]
        );
        assert_eq!(ids(&store, q("alan k", 0, 50)).await.0, 1);

        // Removed: gone from the search and its total; back when Okta lists it again.
        store.mark_removed(C, "users", &uid(0), t0()).await.unwrap();
        let (total, logins) = ids(&store, q("ad", 0, 50)).await;
        assert_eq!(
            (total, logins),
            (1, vec!["Ada.Yonath@Example.com".to_owned()])
        );
        let with_removed = UserQuery {
            include_removed: true,
            ..q("ad", 0, 50)
        };
        assert_eq!(ids(&store, with_removed).await.0, 2);
        store.upsert_users(C, 3, &users[..1]).await.unwrap();
        assert_eq!(ids(&store, q("ad", 0, 50)).await.0, 2);

        // With the other filters.
        let suspended = UserQuery {
            status: Some("SUSPENDED".into()),
            ..q("a", 0, 50)
        };
        assert_eq!(ids(&store, suspended).await.0, 0);
        let sales = UserQuery {
            department: Some("Sales".into()),
            ..q("a", 0, 50)
        };
        // Users 1 (Alan, now Kay), 5 (Alonzo), 7 (Ada Yonath) are odd: Sales.
        assert_eq!(ids(&store, sales).await.0, 3);
    })
    .await;
}

/// The plan of the search's page query on `c`, after a statement that makes `c` notice a
/// schema change (EXPLAIN alone doesn't).
async fn search_plan(c: &mut sqlx::SqliteConnection, login: &str) -> String {
    use sqlx::Row as _;
    sqlx::query("SELECT COUNT(*) FROM users")
        .fetch_one(&mut *c)
        .await
        .unwrap();
    let high = format!("{login}{}", char::MAX);
    let rows = sqlx::query(
        "EXPLAIN QUERY PLAN SELECT id FROM users WHERE connection_id = $1 \
         AND removed_at IS NULL AND ((login_lc >= $2 AND login_lc < $3) \
         OR (email_lc >= $2 AND email_lc < $3) OR (name_lc >= $2 AND name_lc < $3) \
         OR (last_name_lc >= $2 AND last_name_lc < $3)) ORDER BY login_lc, id LIMIT 50",
    )
    .bind(C)
    .bind(login)
    .bind(&high)
    // Not from the statement cache: a cached EXPLAIN keeps the plan it was prepared with.
    .persistent(false)
    .fetch_all(&mut *c)
    .await
    .unwrap();
    rows.iter()
        .map(|r| r.get::<String, _>("detail"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Statistics gathered by `Store::optimize` reach every SQLite connection, not only the one
/// that ran ANALYZE: a pooled connection that loaded the schema before kept walking the whole
/// login index for each search (180 ms instead of 0.1 ms at 100k users).
#[tokio::test]
async fn fresh_statistics_reach_every_sqlite_connection() {
    use sqlx::Connection as _;
    let dir = std::env::temp_dir().join(format!(
        "steward-store-stats-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.join("steward.db").display());
    let store = steward_store::Store::connect(&url).await.unwrap();
    let users: Vec<_> = (0..3000).map(user).collect();
    store.upsert_users(C, 1, &users).await.unwrap();

    // Another connection (as a pool holds several) loads the schema before the statistics.
    let mut other = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let login = "user1500@example.com";
    let before = search_plan(&mut other, login).await;
    store.optimize(true).await.unwrap();
    let after = search_plan(&mut other, login).await;
    assert!(
        after.contains("MULTI-INDEX OR"),
        "before: {before}\nafter: {after}"
    );
    assert!(after.contains("users_last_name_search"), "{after}");
    other.close().await.unwrap();
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}
