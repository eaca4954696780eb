//! The audit trail: the hash chain, its verification after tampering, filters, export.

use aws_lc_rs::{hkdf, hmac};
use chrono::TimeDelta;
use serde_json::json;
use steward_store::audit::{
    Actor, ActorKind, AuditEvent, AuditFilter, AuditKey, NewAuditEvent, Target, audit_csv_header,
    audit_csv_row,
};
use steward_store::{Backend, MasterKey, Store};

use crate::common::*;

const MASTER: [u8; 32] = [7; 32];

pub fn keyed(store: Store) -> Store {
    store.with_audit_key(AuditKey::derive(&MasterKey::from_bytes(MASTER)))
}

pub fn event(workspace: i64, i: i64, action: &str) -> NewAuditEvent {
    NewAuditEvent {
        workspace,
        at: t0() + TimeDelta::seconds(i),
        actor: Actor::account(1, "alice"),
        action: action.into(),
        target: Target::new("account", i.to_string()),
        details: json!({"z": i, "a": ["x", {"k": true}], "name": "bob"}),
        request_id: (i % 2 == 0).then(|| format!("req-{i}")),
    }
}

/// An event recording a change in `workspace` by account 1.
pub fn change(workspace: i64, action: &str) -> NewAuditEvent {
    NewAuditEvent {
        workspace,
        at: t0(),
        actor: Actor::account(1, "alice"),
        action: action.into(),
        target: Target::new(action.split('.').next().unwrap_or(action), ""),
        details: json!({}),
        request_id: Some("req-1".into()),
    }
}

/// A workspace with `n` events.
async fn history(store: &Store, name: &str, n: i64) -> i64 {
    let ws = store.create_workspace(name).await.unwrap().id;
    for i in 1..=n {
        let e = store
            .append_audit(&event(ws, i, "account.update"))
            .await
            .unwrap();
        assert_eq!(e.seq, i);
    }
    ws
}

/// Re-implements the documented key derivation and encoding, independently of the store.
fn expected_hash(e: &AuditEvent) -> String {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, &[]).extract(&MASTER);
    let mut k = [0u8; 32];
    prk.expand(&[b"steward audit chain v1"], hmac::HMAC_SHA256)
        .unwrap()
        .fill(&mut k)
        .unwrap();
    let mut m = Vec::new();
    let s = |m: &mut Vec<u8>, v: &str| {
        m.extend_from_slice(&(v.len() as u64).to_be_bytes());
        m.extend_from_slice(v.as_bytes());
    };
    s(&mut m, "steward audit event v1");
    for n in [e.workspace, e.seq, e.at.timestamp_millis()] {
        m.extend_from_slice(&n.to_be_bytes());
    }
    let details = serde_json::to_string(&e.details).unwrap(); // BTreeMap: sorted keys
    for v in [
        e.actor.kind.as_str(),
        &e.actor.id,
        &e.actor.name,
        &e.action,
        &e.target.kind,
        &e.target.id,
        &details,
    ] {
        s(&mut m, v);
    }
    match &e.request_id {
        None => m.push(0),
        Some(r) => {
            m.push(1);
            s(&mut m, r);
        }
    }
    let prev: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(&e.prev_hash[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    m.extend_from_slice(&prev);
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &k), &m);
    tag.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn appends_chain_per_workspace_and_verify_passes() {
    on_each_backend(|store| async move {
        let store = keyed(store);
        let a = history(&store, "a", 5).await;
        let b = history(&store, "b", 3).await;
        let all = store
            .list_audit(&AuditFilter {
                workspace: Some(a),
                ..AuditFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(
            all.iter().map(|e| e.seq).collect::<Vec<_>>(),
            [5, 4, 3, 2, 1]
        );
        assert_eq!(all[4].prev_hash, "0".repeat(64));
        for pair in all.windows(2) {
            assert_eq!(
                pair[1].hash, pair[0].prev_hash,
                "each links to the one before"
            );
        }
        for e in &all {
            assert_eq!(
                e.hash,
                expected_hash(e),
                "documented encoding, seq {}",
                e.seq
            );
        }
        assert_eq!(
            all[0].details,
            json!({"a": ["x", {"k": true}], "name": "bob", "z": 5})
        );
        let v = store.verify_audit().await.unwrap();
        assert!(v.ok, "{v:?}");
        assert_eq!((v.events, v.workspaces, &v.first_broken), (8, 2, &None));
        for range in [1, 2, 3] {
            assert_eq!(store.verify_audit_in_ranges(range).await.unwrap(), v);
        }
        let first_b = store
            .list_audit(&AuditFilter {
                workspace: Some(b),
                before_seq: Some(2),
                ..AuditFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(first_b.len(), 1);
        assert_eq!(
            first_b[0].prev_hash,
            "0".repeat(64),
            "each workspace its own chain"
        );
    })
    .await;
}

#[tokio::test]
async fn appends_need_a_key_and_an_existing_workspace() {
    on_each_backend(|store| async move {
        let ws = store.create_workspace("w").await.unwrap().id;
        let err = store.append_audit(&event(ws, 1, "x")).await.unwrap_err();
        assert!(err.to_string().contains("audit key"), "{err}");
        let store = keyed(store);
        let err = store
            .append_audit(&event(ws + 99, 1, "x"))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("workspace"), "{err}");
        let empty = store.append_audit(&event(ws, 1, " ")).await;
        assert!(empty.is_err());
        assert!(store.verify_audit().await.unwrap().ok);
        assert!(
            store
                .list_audit(&AuditFilter::default())
                .await
                .unwrap()
                .is_empty()
        );
        let key = AuditKey::derive(&MasterKey::from_bytes(MASTER));
        assert_eq!(format!("{key:?}"), "AuditKey(<hidden>)");
    })
    .await;
}

#[tokio::test]
async fn triggers_refuse_update_and_delete() {
    on_each_backend(|store| async move {
        let store = keyed(store);
        history(&store, "w", 2).await;
        for sql in [
            "UPDATE audit_events SET details = '{}' WHERE seq = 1",
            "DELETE FROM audit_events WHERE seq = 2",
            "DELETE FROM audit_events",
            "UPDATE audit_heads SET seq = 1",
            "DELETE FROM audit_heads",
        ] {
            let err = store.raw_execute(sql).await.unwrap_err();
            assert!(
                err.to_string().contains("audit"),
                "{sql}: refused by the trigger, got {err}"
            );
        }
        if store.backend() == Backend::Postgres {
            let err = store
                .raw_execute("TRUNCATE audit_events")
                .await
                .unwrap_err();
            assert!(err.to_string().contains("append-only"), "{err}");
        }
        assert!(store.verify_audit().await.unwrap().ok);
    })
    .await;
}

async fn drop_triggers(store: &Store) {
    let pg = store.backend() == Backend::Postgres;
    for (trigger, table) in [
        ("audit_events_no_update", "audit_events"),
        ("audit_events_no_delete", "audit_events"),
        ("audit_heads_forward_only", "audit_heads"),
    ] {
        let on = if pg {
            format!(" ON {table}")
        } else {
            String::new()
        };
        store
            .raw_execute(&format!("DROP TRIGGER {trigger}{on}"))
            .await
            .unwrap();
    }
}

/// Tampers with a 6-event history (triggers dropped) and returns (seq, reason) of the
/// first broken link.
async fn tamper(store: Store, sqls: &[&str]) -> (i64, String) {
    let store = keyed(store);
    let ws = history(&store, "w", 6).await;
    assert!(store.verify_audit().await.unwrap().ok);
    drop_triggers(&store).await;
    for sql in sqls {
        store.raw_execute(sql).await.unwrap();
    }
    let v = store.verify_audit().await.unwrap();
    assert!(!v.ok, "{sqls:?} must break the chain");
    // Verified in small ranges (joined across their boundaries), the same link is named.
    for range in [1, 2, 4] {
        let small = store.verify_audit_in_ranges(range).await.unwrap();
        assert_eq!(
            small.first_broken, v.first_broken,
            "{sqls:?}, ranges of {range}"
        );
    }
    let b = v.first_broken.unwrap();
    assert_eq!(b.workspace, ws);
    (b.seq, b.reason)
}

#[tokio::test]
async fn verify_names_the_event_after_tampering() {
    let forged = "INSERT INTO audit_events (workspace_id, seq, at, actor_kind, actor_id, \
        actor_name, action, target_kind, target_id, details, request_id, prev_hash, hash) \
        SELECT workspace_id, 7, at, actor_kind, actor_id, actor_name, action, target_kind, \
        target_id, details, request_id, hash, prev_hash FROM audit_events WHERE seq = 6";
    let cases: Vec<(&str, Vec<&str>, i64, &str)> = vec![
        (
            "details edited",
            vec!["UPDATE audit_events SET details = '{\"z\":0}' WHERE seq = 3"],
            3,
            "hash mismatch (row altered)",
        ),
        (
            "actor renamed",
            vec!["UPDATE audit_events SET actor_name = 'mallory' WHERE seq = 5"],
            5,
            "hash mismatch (row altered)",
        ),
        (
            "middle row deleted",
            vec!["DELETE FROM audit_events WHERE seq = 4"],
            4,
            "missing event (seq 4..4 gap)",
        ),
        (
            "last row deleted",
            vec!["DELETE FROM audit_events WHERE seq = 6"],
            6,
            "chain head says 6 events, found 5",
        ),
        (
            "row inserted past the head",
            vec![forged],
            7,
            "event beyond the chain head (head says 6 events)",
        ),
        (
            "row inserted and head moved",
            vec![forged, "UPDATE audit_heads SET seq = 7"],
            7,
            "hash mismatch (row altered)",
        ),
        (
            "two rows swapped",
            vec![
                "UPDATE audit_events SET seq = 100 WHERE seq = 2",
                "UPDATE audit_events SET seq = 2 WHERE seq = 3",
                "UPDATE audit_events SET seq = 3 WHERE seq = 100",
            ],
            2,
            "sequence out of order (sealed as seq 3)",
        ),
        (
            "contents of two rows swapped (hashes kept)",
            vec![
                "UPDATE audit_events SET target_id = 'tmp' WHERE seq = 2",
                "UPDATE audit_events SET target_id = '2' WHERE seq = 3",
                "UPDATE audit_events SET target_id = '3' WHERE seq = 2",
            ],
            2,
            "hash mismatch (row altered)",
        ),
        (
            "head hash changed",
            vec![
                "UPDATE audit_heads SET hash = (SELECT prev_hash FROM audit_events WHERE seq = 6)",
            ],
            6,
            "chain head hash does not match the last event",
        ),
    ];
    for (name, sqls, seq, reason) in cases {
        for ts in backends().await {
            eprintln!("--- {name} on {}", ts.name);
            let got = tamper(ts.store.clone(), &sqls).await;
            assert_eq!(got, (seq, reason.to_owned()), "{name} on {}", ts.name);
            ts.store.close().await;
        }
    }
}

#[tokio::test]
async fn filters_and_paging() {
    on_each_backend(|store| async move {
        let store = keyed(store);
        let ws = store.create_workspace("w").await.unwrap().id;
        let mut e = event(ws, 1, "account.create");
        store.append_audit(&e).await.unwrap();
        e.at += TimeDelta::seconds(10);
        e.action = "account.update".into();
        e.actor = Actor::api_token(9, "ci");
        e.target = Target::new("api_token", "9");
        store.append_audit(&e).await.unwrap();
        e.at += TimeDelta::seconds(10);
        e.action = "connection.create".into();
        e.actor = Actor::system("scheduler");
        e.target = Target::new("connection", "a:b");
        store.append_audit(&e).await.unwrap();
        let seqs = |f: AuditFilter| {
            let store = store.clone();
            async move {
                store
                    .list_audit(&f)
                    .await
                    .unwrap()
                    .iter()
                    .map(|e| e.seq)
                    .collect::<Vec<_>>()
            }
        };
        let f = AuditFilter::default;
        assert_eq!(seqs(f()).await, [3, 2, 1]);
        let action = |a: &str| AuditFilter {
            action: Some(a.into()),
            ..f()
        };
        assert_eq!(seqs(action("account.")).await, [2, 1]);
        assert_eq!(seqs(action("account.*")).await, [2, 1]);
        assert_eq!(seqs(action("account")).await, Vec::<i64>::new());
        assert_eq!(seqs(action("account.update")).await, [2]);
        assert_eq!(
            seqs(AuditFilter {
                actor: Some("ci".into()),
                ..f()
            })
            .await,
            [2]
        );
        assert_eq!(
            seqs(AuditFilter {
                actor: Some("9".into()),
                ..f()
            })
            .await,
            [2]
        );
        assert_eq!(
            seqs(AuditFilter {
                actor_kind: Some(ActorKind::System),
                ..f()
            })
            .await,
            [3]
        );
        assert_eq!(
            seqs(AuditFilter {
                target: Some("api_token:9".into()),
                ..f()
            })
            .await,
            [2]
        );
        assert_eq!(
            seqs(AuditFilter {
                target: Some("account:9".into()),
                ..f()
            })
            .await,
            Vec::<i64>::new()
        );
        assert_eq!(
            seqs(AuditFilter {
                target: Some("a:b".into()),
                ..f()
            })
            .await,
            [3]
        );
        assert_eq!(
            seqs(AuditFilter {
                target: Some("1".into()),
                ..f()
            })
            .await,
            [1]
        );
        let t = |s: i64| t0() + TimeDelta::seconds(1 + s);
        assert_eq!(
            seqs(AuditFilter {
                since: Some(t(10)),
                until: Some(t(20)),
                ..f()
            })
            .await,
            [2]
        );
        assert_eq!(
            seqs(AuditFilter {
                workspace: Some(ws),
                before_seq: Some(3),
                limit: 1,
                ..f()
            })
            .await,
            [2]
        );
        assert_eq!(
            seqs(AuditFilter {
                workspace: Some(ws + 1),
                ..f()
            })
            .await,
            Vec::<i64>::new()
        );
    })
    .await;
}

#[tokio::test]
async fn export_streams_in_seq_order_since_a_time() {
    on_each_backend(|store| async move {
        let store = keyed(store);
        // More than one page (4,096) in the first workspace.
        let a = store.create_workspace("a").await.unwrap().id;
        let b = history(&store, "b", 3).await;
        for i in 1..=4_100 {
            store.append_audit(&event(a, i, "x.y")).await.unwrap();
        }
        let mut seen = Vec::new();
        let n = store
            .export_audit(None, |e| {
                seen.push((e.workspace, e.seq));
                Ok::<_, std::io::Error>(())
            })
            .await
            .unwrap();
        assert_eq!(n, 4_103);
        let expected: Vec<(i64, i64)> = (1..=4_100)
            .map(|s| (a, s))
            .chain((1..=3).map(|s| (b, s)))
            .collect();
        assert_eq!(seen, expected);
        let mut since = Vec::new();
        store
            .export_audit(Some(t0() + TimeDelta::seconds(4_099)), |e| {
                since.push((e.workspace, e.seq));
                Ok::<_, std::io::Error>(())
            })
            .await
            .unwrap();
        assert_eq!(since, [(a, 4_099), (a, 4_100)]);
        let failed = store
            .export_audit(None, |_| Err("disk full"))
            .await
            .unwrap_err();
        assert!(matches!(
            failed,
            steward_store::audit::ExportError::Sink("disk full")
        ));
        assert!(store.verify_audit().await.unwrap().ok);
    })
    .await;
}

#[test]
fn csv_quotes_and_defuses_formulas() {
    let e = AuditEvent {
        seq: 1,
        workspace: 2,
        at: t0(),
        actor: Actor::account(1, "=HYPERLINK(\"x\")"),
        action: "account.create".into(),
        target: Target::new("account", "-1"),
        details: json!({"b": "x,y", "a": "line\nbreak"}),
        request_id: None,
        prev_hash: "0".repeat(64),
        hash: "f".repeat(64),
    };
    assert_eq!(audit_csv_header().matches(',').count(), 12);
    assert!(audit_csv_header().ends_with("\r\n"));
    let row = audit_csv_row(&e);
    assert_eq!(
        row,
        format!(
            "2,1,2025-03-01T12:00:00.000Z,account,1,\"'=HYPERLINK(\"\"x\"\")\",account.create,\
             account,\"'-1\",\"{{\"\"a\"\":\"\"line\\nbreak\"\",\"\"b\"\":\"\"x,y\"\"}}\",,{},{}\r\n",
            "0".repeat(64),
            "f".repeat(64)
        )
    );
    let line = serde_json::to_value(&e).unwrap();
    assert_eq!(line["actor"]["kind"], "account");
    assert_eq!(line["target"]["id"], "-1");
}

#[tokio::test]
async fn concurrent_appends_on_postgres_keep_a_dense_valid_chain() {
    let Some(url) = postgres_url() else {
        eprintln!("skipped: {POSTGRES_ENV} not set");
        return;
    };
    let schema = PgSchema::create(&url).await;
    let store = keyed(Store::connect(&schema.url()).await.unwrap());
    let ws = store.create_workspace("w").await.unwrap().id;
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..100 {
                    store
                        .append_audit(&event(ws, t * 1000 + i, "x.y"))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let v = store.verify_audit().await.unwrap();
    assert!(v.ok, "{v:?}");
    assert_eq!(v.events, 800);
    let mut seqs = Vec::new();
    store
        .export_audit(None, |e| {
            seqs.push(e.seq);
            Ok::<_, std::io::Error>(())
        })
        .await
        .unwrap();
    assert_eq!(seqs, (1..=800).collect::<Vec<_>>());
    store.close().await;
}

#[tokio::test]
async fn bulk_appends_continue_the_same_chain() {
    on_each_backend(|store| async move {
        let store = keyed(store);
        let ws = history(&store, "w", 3).await;
        let batch: Vec<_> = (4..=130).map(|i| event(ws, i, "bulk.x")).collect();
        store.append_audit_bulk(&batch).await.unwrap();
        let next = store.append_audit(&event(ws, 131, "x.y")).await.unwrap();
        assert_eq!(next.seq, 131);
        let v = store.verify_audit().await.unwrap();
        assert!(v.ok && v.events == 131, "{v:?}");
        assert_eq!(store.verify_audit_in_ranges(50).await.unwrap(), v);
        let mut n = 0;
        store
            .export_audit(None, |e| {
                assert_eq!(e.hash, expected_hash(e));
                n += 1;
                Ok::<_, std::io::Error>(())
            })
            .await
            .unwrap();
        assert_eq!(n, 131);
    })
    .await;
}
