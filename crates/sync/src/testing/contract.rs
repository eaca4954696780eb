//! `impl InventoryStore for MemoryStore`: the contract's semantics, as the SQL store has them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;
use steward_inventory::*;

use super::memory::{MemoryStore, Pair, Row};

fn upsert<T: Clone>(map: &mut BTreeMap<String, Row<T>>, id: &str, rec: &T, run: SyncRunId) {
    map.insert(id.to_owned(), Row::new(rec.clone(), Some(run)));
}

fn finish_pairs<T>(
    map: &mut BTreeMap<Pair, Row<T>>,
    owner: &str,
    run: SyncRunId,
    at: DateTime<Utc>,
) {
    map.iter_mut()
        .filter(|((o, _), r)| o == owner && r.run != Some(run))
        .for_each(|(_, r)| r.remove(at));
}

impl InventoryStore for MemoryStore {
    async fn upsert_users(
        &self,
        conn: ConnectionId,
        run: SyncRunId,
        users: &[UserRecord],
    ) -> Result<(), StoreError> {
        self.write(conn, |c| {
            users
                .iter()
                .for_each(|u| upsert(&mut c.users, &u.id, u, run));
            Ok(())
        })
    }
    async fn upsert_groups(
        &self,
        conn: ConnectionId,
        run: SyncRunId,
        groups: &[GroupRecord],
    ) -> Result<(), StoreError> {
        self.write(conn, |c| {
            groups
                .iter()
                .for_each(|g| upsert(&mut c.groups, &g.id, g, run));
            Ok(())
        })
    }
    async fn upsert_apps(
        &self,
        conn: ConnectionId,
        run: SyncRunId,
        apps: &[AppRecord],
    ) -> Result<(), StoreError> {
        self.write(conn, |c| {
            apps.iter().for_each(|a| upsert(&mut c.apps, &a.id, a, run));
            Ok(())
        })
    }
    async fn upsert_members(
        &self,
        conn: ConnectionId,
        run: SyncRunId,
        group_id: &str,
        user_ids: &[String],
    ) -> Result<(), StoreError> {
        self.write(conn, |c| {
            if !c.groups.contains_key(group_id) {
                return Err(StoreError::NotFound(format!("group {group_id}")));
            }
            for u in user_ids {
                c.members
                    .insert((group_id.to_owned(), u.clone()), Row::new((), Some(run)));
            }
            Ok(())
        })
    }
    async fn finish_group_members(
        &self,
        conn: ConnectionId,
        run: SyncRunId,
        group_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.write(conn, |c| {
            finish_pairs(&mut c.members, group_id, run, at);
            Ok(())
        })
    }
    async fn apply_membership_change(
        &self,
        conn: ConnectionId,
        group_id: &str,
        user_id: &str,
        added: bool,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.write(conn, |c| {
            if !c.groups.contains_key(group_id) || !c.users.contains_key(user_id) {
                return Err(StoreError::NotFound(format!(
                    "group {group_id} or user {user_id}"
                )));
            }
            let key = (group_id.to_owned(), user_id.to_owned());
            match (added, c.members.get_mut(&key)) {
                (true, Some(r)) => r.removed = None,
                (true, None) => {
                    c.members.insert(key, Row::new((), None));
                }
                (false, Some(r)) => r.remove(at),
                (false, None) => {}
            }
            Ok(())
        })
    }
    async fn upsert_app_users(
        &self,
        conn: ConnectionId,
        run: SyncRunId,
        rows: &[AppUserRecord],
    ) -> Result<(), StoreError> {
        self.write(conn, |c| {
            for r in rows {
                c.app_users.insert(
                    (r.app_id.clone(), r.user_id.clone()),
                    Row::new(r.clone(), Some(run)),
                );
            }
            Ok(())
        })
    }
    async fn finish_app_users(
        &self,
        conn: ConnectionId,
        run: SyncRunId,
        app_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.write(conn, |c| {
            finish_pairs(&mut c.app_users, app_id, run, at);
            Ok(())
        })
    }
    async fn remove_app_user(
        &self,
        conn: ConnectionId,
        app_id: &str,
        user_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.write(conn, |c| {
            if let Some(r) = c
                .app_users
                .get_mut(&(app_id.to_owned(), user_id.to_owned()))
            {
                r.remove(at);
            }
            Ok(())
        })
    }
    async fn upsert_app_groups(
        &self,
        conn: ConnectionId,
        run: SyncRunId,
        rows: &[AppGroupRecord],
    ) -> Result<(), StoreError> {
        self.write(conn, |c| {
            for r in rows {
                c.app_groups.insert(
                    (r.app_id.clone(), r.group_id.clone()),
                    Row::new(r.clone(), Some(run)),
                );
            }
            Ok(())
        })
    }
    async fn finish_app_groups(
        &self,
        conn: ConnectionId,
        run: SyncRunId,
        app_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.write(conn, |c| {
            finish_pairs(&mut c.app_groups, app_id, run, at);
            Ok(())
        })
    }
    async fn finish_full_listing(
        &self,
        conn: ConnectionId,
        run: SyncRunId,
        kind: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.write(conn, |c| {
            let stale: Vec<String> = match kind {
                "users" => stale_ids(&c.users, run),
                "groups" => stale_ids(&c.groups, run),
                "apps" => stale_ids(&c.apps, run),
                _ => return Err(StoreError::NotFound(format!("kind {kind}"))),
            };
            stale.iter().for_each(|id| c.remove_object(kind, id, at));
            Ok(())
        })
    }
    async fn mark_removed(
        &self,
        conn: ConnectionId,
        kind: &str,
        id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.write(conn, |c| {
            c.remove_object(kind, id, at);
            Ok(())
        })
    }
    async fn record_sso_events(
        &self,
        conn: ConnectionId,
        events: &[SsoEvent],
    ) -> Result<usize, StoreError> {
        self.write(conn, |c| {
            let before = c.sso.len();
            for e in events {
                c.sso.entry(e.uuid.clone()).or_insert_with(|| e.clone());
            }
            Ok(c.sso.len() - before)
        })
    }
    fn for_sync(&self) -> Self {
        self.clone()
    }
    async fn refresh_app_usage(&self, _conn: ConnectionId) -> Result<(), StoreError> {
        // Usage is derived from the events whenever it is read.
        Ok(())
    }
    async fn checkpoint(
        &self,
        conn: ConnectionId,
        resource: &str,
    ) -> Result<Option<Value>, StoreError> {
        Ok(self.read(conn, |c| c.checkpoints.get(resource).cloned()))
    }
    async fn save_checkpoint(
        &self,
        conn: ConnectionId,
        resource: &str,
        state: &Value,
    ) -> Result<(), StoreError> {
        self.write(conn, |c| {
            c.checkpoints.insert(resource.to_owned(), state.clone());
            Ok(())
        })
    }
    async fn clear_checkpoints(&self, conn: ConnectionId, prefix: &str) -> Result<(), StoreError> {
        self.write(conn, |c| {
            c.checkpoints.retain(|k, _| !k.starts_with(prefix));
            Ok(())
        })
    }
    async fn start_run(
        &self,
        conn: ConnectionId,
        kind: SyncKind,
        at: DateTime<Utc>,
    ) -> Result<SyncRunId, StoreError> {
        let mut inner = self.inner.lock();
        Self::spend(&mut inner)?;
        let id = inner.runs.len() as SyncRunId + 1;
        inner.runs.push(SyncRun {
            id,
            connection_id: conn,
            kind,
            status: "running".into(),
            started_at: at,
            finished_at: None,
            stats: SyncStats::default(),
            error: None,
        });
        Ok(id)
    }
    async fn update_run(&self, run: SyncRunId, stats: &SyncStats) -> Result<(), StoreError> {
        self.run_mut(run, |r| r.stats = stats.clone())
    }
    async fn finish_run(
        &self,
        run: SyncRunId,
        status: &str,
        stats: &SyncStats,
        error: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.run_mut(run, |r| {
            r.status = status.to_owned();
            r.stats = stats.clone();
            r.error = error.map(str::to_owned);
            r.finished_at = Some(at);
        })
    }
    async fn unfinished_run(&self, conn: ConnectionId) -> Result<Option<SyncRun>, StoreError> {
        let inner = self.inner.lock();
        Ok(inner
            .runs
            .iter()
            .rev()
            .find(|r| r.connection_id == conn && r.status == "running")
            .cloned())
    }
    async fn last_run(
        &self,
        conn: ConnectionId,
        kind: Option<SyncKind>,
    ) -> Result<Option<SyncRun>, StoreError> {
        let inner = self.inner.lock();
        Ok(inner
            .runs
            .iter()
            .rev()
            .find(|r| {
                r.connection_id == conn && r.status != "running" && kind.is_none_or(|k| r.kind == k)
            })
            .cloned())
    }
    async fn group_membership_stamps(
        &self,
        conn: ConnectionId,
    ) -> Result<Vec<(String, Option<DateTime<Utc>>)>, StoreError> {
        Ok(self.read(conn, |c| {
            c.groups
                .iter()
                .filter(|(_, r)| r.removed.is_none())
                .map(|(id, r)| (id.clone(), r.rec.last_membership_updated))
                .collect()
        }))
    }
}

fn stale_ids<T>(map: &BTreeMap<String, Row<T>>, run: SyncRunId) -> Vec<String> {
    map.iter()
        .filter(|(_, r)| r.removed.is_none() && r.run != Some(run))
        .map(|(id, _)| id.clone())
        .collect()
}

impl AssignmentReads for MemoryStore {
    async fn app_assignment_facts(
        &self,
        conn: ConnectionId,
        app_id: &str,
        user_ids: &[String],
    ) -> Result<AppAssignmentFacts, StoreError> {
        Ok(self.read(conn, |c| {
            let live_user = |id: &str| c.users.get(id).filter(|r| r.removed.is_none());
            let app_groups: Vec<&String> = c
                .app_groups
                .iter()
                .filter(|((a, g), r)| {
                    a == app_id
                        && r.removed.is_none()
                        && c.groups.get(g).is_some_and(|g| g.removed.is_none())
                })
                .map(|((_, g), _)| g)
                .collect();
            let mut facts = AppAssignmentFacts {
                app_live: c.apps.get(app_id).is_some_and(|r| r.removed.is_none()),
                ..AppAssignmentFacts::default()
            };
            for ((a, u), r) in &c.app_users {
                if a != app_id || r.removed.is_some() {
                    continue;
                }
                facts.assignments += 1;
                let login = live_user(u).map(|r| r.rec.login.as_str());
                if login.is_some() && r.rec.user_name.as_deref() == login {
                    facts.plain_assignments += 1;
                }
            }
            let mut ids: Vec<&String> = user_ids.iter().collect();
            ids.sort();
            ids.dedup();
            for id in ids {
                let Some(user) = live_user(id) else { continue };
                let groups = app_groups
                    .iter()
                    .filter(|g| {
                        c.members
                            .get(&((**g).clone(), id.clone()))
                            .is_some_and(|m| m.removed.is_none())
                    })
                    .map(|g| (*g).clone())
                    .collect();
                facts.users.push(UserAssignmentFacts {
                    user_id: id.clone(),
                    status: user.rec.status.clone(),
                    login: user.rec.login.clone(),
                    status_changed: user.rec.status_changed,
                    app_groups: groups,
                    assignment_scope: c
                        .app_users
                        .get(&(app_id.to_owned(), id.clone()))
                        .filter(|r| r.removed.is_none())
                        .map(|r| r.rec.scope.clone()),
                });
            }
            facts
        }))
    }

    async fn group_app_assignments(
        &self,
        conn: ConnectionId,
        group_ids: &[String],
    ) -> Result<Vec<(String, String)>, StoreError> {
        Ok(self.read(conn, |c| {
            let mut out: Vec<(String, String)> = c
                .app_groups
                .iter()
                .filter(|((a, g), r)| {
                    r.removed.is_none()
                        && group_ids.contains(g)
                        && c.groups.get(g).is_some_and(|g| g.removed.is_none())
                        && c.apps.get(a).is_some_and(|a| a.removed.is_none())
                })
                .map(|((a, g), _)| (g.clone(), a.clone()))
                .collect();
            out.sort();
            out.dedup();
            out
        }))
    }

    async fn group_member_ids(
        &self,
        conn: ConnectionId,
        group_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        Ok(self.read(conn, |c| {
            if c.groups.get(group_id).is_none_or(|g| g.removed.is_some()) {
                return Vec::new();
            }
            let mut out: Vec<String> = c
                .members
                .iter()
                .filter(|((g, u), m)| {
                    g == group_id
                        && m.removed.is_none()
                        && c.users.get(u).is_some_and(|u| u.removed.is_none())
                })
                .map(|((_, u), _)| u.clone())
                .collect();
            out.sort();
            out
        }))
    }
}
