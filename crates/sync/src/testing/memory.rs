//! [`MemoryStore`].

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use serde_json::Value;
use steward_inventory::*;

/// A stored object: the record, the run that last wrote it, and its removal time.
#[derive(Clone, Debug)]
pub(crate) struct Row<T> {
    pub rec: T,
    pub run: Option<SyncRunId>,
    pub removed: Option<DateTime<Utc>>,
}

impl<T> Row<T> {
    pub(super) fn new(rec: T, run: Option<SyncRunId>) -> Self {
        Row {
            rec,
            run,
            removed: None,
        }
    }
    pub(super) fn remove(&mut self, at: DateTime<Utc>) {
        self.removed.get_or_insert(at);
    }
}

pub(super) type Pair = (String, String);

/// One connection's inventory.
#[derive(Clone, Debug, Default)]
pub(crate) struct Conn {
    pub users: BTreeMap<String, Row<UserRecord>>,
    pub groups: BTreeMap<String, Row<GroupRecord>>,
    pub apps: BTreeMap<String, Row<AppRecord>>,
    /// (group, user).
    pub members: BTreeMap<Pair, Row<()>>,
    /// (app, user).
    pub app_users: BTreeMap<Pair, Row<AppUserRecord>>,
    /// (app, group).
    pub app_groups: BTreeMap<Pair, Row<AppGroupRecord>>,
    pub sso: BTreeMap<String, SsoEvent>,
    pub checkpoints: BTreeMap<String, Value>,
}

impl Conn {
    pub(super) fn remove_object(&mut self, kind: &str, id: &str, at: DateTime<Utc>) {
        match kind {
            "users" => {
                if let Some(r) = self.users.get_mut(id) {
                    r.remove(at);
                }
                self.members
                    .iter_mut()
                    .filter(|((_, u), _)| u == id)
                    .for_each(|(_, r)| r.remove(at));
                self.app_users
                    .iter_mut()
                    .filter(|((_, u), _)| u == id)
                    .for_each(|(_, r)| r.remove(at));
            }
            "groups" => {
                if let Some(r) = self.groups.get_mut(id) {
                    r.remove(at);
                }
                self.members
                    .iter_mut()
                    .filter(|((g, _), _)| g == id)
                    .for_each(|(_, r)| r.remove(at));
                self.app_groups
                    .iter_mut()
                    .filter(|((_, g), _)| g == id)
                    .for_each(|(_, r)| r.remove(at));
            }
            _ => {
                if let Some(r) = self.apps.get_mut(id) {
                    r.remove(at);
                }
                self.app_users
                    .iter_mut()
                    .filter(|((a, _), _)| a == id)
                    .for_each(|(_, r)| r.remove(at));
                self.app_groups
                    .iter_mut()
                    .filter(|((a, _), _)| a == id)
                    .for_each(|(_, r)| r.remove(at));
            }
        }
    }
}

#[derive(Debug, Default)]
pub(super) struct Inner {
    conns: HashMap<ConnectionId, Conn>,
    pub(super) runs: Vec<SyncRun>,
    /// Writes left before every write fails (crash tests); `None`: unlimited.
    budget: Option<u64>,
    writes: u64,
}

/// An in-memory store. Clones share the data.
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    pub(super) inner: Arc<Mutex<Inner>>,
}

fn injected() -> StoreError {
    StoreError::Database("injected failure (write budget exhausted)".into())
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// After `n` more successful writes, every write fails (`None` lifts the limit). Lets a
    /// test stop a sync at an exact point, as a crash would.
    pub fn fail_writes_after(&self, n: Option<u64>) {
        self.inner.lock().budget = n;
    }

    /// Writes so far (every mutating call).
    pub fn writes(&self) -> u64 {
        self.inner.lock().writes
    }

    /// Every run recorded.
    pub fn runs(&self) -> Vec<SyncRun> {
        self.inner.lock().runs.clone()
    }

    /// SSO events recorded for `conn`.
    pub fn sso_events(&self, conn: ConnectionId) -> Vec<SsoEvent> {
        self.read(conn, |c| c.sso.values().cloned().collect())
    }

    /// Live users of `conn`.
    pub fn users(&self, conn: ConnectionId) -> Vec<UserRecord> {
        self.read(conn, |c| {
            c.users
                .values()
                .filter(|r| r.removed.is_none())
                .map(|r| r.rec.clone())
                .collect()
        })
    }

    /// Live app-user assignments of `conn`, by app then user.
    pub fn app_users(&self, conn: ConnectionId) -> Vec<AppUserRecord> {
        self.read(conn, |c| {
            c.app_users
                .values()
                .filter(|r| r.removed.is_none())
                .map(|r| r.rec.clone())
                .collect()
        })
    }

    pub(crate) fn read<T>(&self, conn: ConnectionId, f: impl FnOnce(&Conn) -> T) -> T {
        let inner = self.inner.lock();
        match inner.conns.get(&conn) {
            Some(c) => f(c),
            None => f(&Conn::default()),
        }
    }

    pub(super) fn write<T>(
        &self,
        conn: ConnectionId,
        f: impl FnOnce(&mut Conn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut inner = self.inner.lock();
        Self::spend(&mut inner)?;
        // Each closure checks before it changes anything, so a failed call changes nothing.
        f(inner.conns.entry(conn).or_default())
    }

    pub(super) fn spend(inner: &mut Inner) -> Result<(), StoreError> {
        if let Some(b) = inner.budget.as_mut() {
            if *b == 0 {
                return Err(injected());
            }
            *b -= 1;
        }
        inner.writes += 1;
        Ok(())
    }

    pub(super) fn run_mut<T>(
        &self,
        run: SyncRunId,
        f: impl FnOnce(&mut SyncRun) -> T,
    ) -> Result<T, StoreError> {
        let mut inner = self.inner.lock();
        Self::spend(&mut inner)?;
        let r = inner
            .runs
            .iter_mut()
            .find(|r| r.id == run)
            .ok_or_else(|| StoreError::NotFound(format!("run {run}")))?;
        Ok(f(r))
    }
}
