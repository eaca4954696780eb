//! The checkpointed page loop every listing goes through: read a page, write it through the
//! store, then save the `next` URL under the listing's checkpoint key. A resumed run starts
//! from the saved URL; a listing whose checkpoint says `done` is not read again.
//!
//! Checkpoint state: `{"run": id, "next": url | null, "done": bool, "acc": [...]}`. `acc`
//! keeps the little each page contributes to later phases (group ids and sizes, app ids), so
//! a resumed run knows them without re-reading earlier pages. A state written by another run
//! is ignored.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use steward_inventory::{InventoryStore, SyncRunId};

use crate::syncer::{RunCtx, Syncer};
use crate::{SyncError, convert};

/// Where a page's items go.
pub(crate) enum Sink<'a> {
    /// Users.
    Users,
    /// Groups. With stamps (incremental), groups whose `lastMembershipUpdated` moved are
    /// written with their stored stamp (so a crash before their members are read leaves them
    /// marked as moved) and returned whole in `acc`; without (full), `acc` gets
    /// `{"id", "n": usersCount, "t": type}`.
    Groups(Option<&'a HashMap<String, Option<DateTime<Utc>>>>),
    /// Apps; `acc` gets the ids.
    Apps,
    /// Members of a group.
    Members(&'a str),
    /// Users assigned to an app.
    AppUsers(&'a str),
    /// Groups assigned to an app.
    AppGroups(&'a str),
}

impl Sink<'_> {
    fn resource(&self) -> &'static str {
        match self {
            Sink::Users => "users",
            Sink::Groups(_) => "groups",
            Sink::Apps => "apps",
            Sink::Members(_) => "memberships",
            Sink::AppUsers(_) => "app_users",
            Sink::AppGroups(_) => "app_groups",
        }
    }
}

/// A listing's saved state, if it belongs to `run`.
pub(crate) struct Saved {
    pub next: Option<String>,
    pub done: bool,
    pub acc: Vec<Value>,
}

pub(crate) fn saved_state(state: Option<Value>, run: SyncRunId) -> Option<Saved> {
    let state = state?;
    if state.get("run").and_then(Value::as_i64) != Some(run) {
        return None;
    }
    Some(Saved {
        next: state.get("next").and_then(Value::as_str).map(str::to_owned),
        done: state.get("done").and_then(Value::as_bool).unwrap_or(false),
        acc: match state.get("acc") {
            Some(Value::Array(a)) => a.clone(),
            _ => Vec::new(),
        },
    })
}

impl<S: InventoryStore> Syncer<S> {
    /// Reads every page of `first` into `sink`, checkpointing under `key`. Returns `acc`.
    pub(crate) async fn listing(
        &self,
        run: &RunCtx,
        key: &str,
        first: String,
        sink: Sink<'_>,
    ) -> Result<Vec<Value>, SyncError> {
        let saved = saved_state(self.store.checkpoint(self.conn, key).await?, run.id);
        let (mut url, mut acc) = match saved {
            Some(s) if s.done => return Ok(s.acc),
            Some(Saved {
                next: Some(next),
                acc,
                ..
            }) => (next, acc),
            _ => (first, Vec::new()),
        };
        loop {
            let page = self.client.get_page(&url).await?;
            let n = page.items.len();
            acc.extend(self.write_page(run, &sink, page.items).await?);
            run.tracker.page(sink.resource(), n as u64);
            // An empty page ends the list even with a `next` link (reference 5.1).
            let next = page.next.filter(|next| n > 0 && *next != url);
            let state = json!({"run": run.id, "next": next, "done": next.is_none(), "acc": acc});
            self.store.save_checkpoint(self.conn, key, &state).await?;
            match next {
                Some(next) => url = next,
                None => return Ok(acc),
            }
        }
    }

    async fn write_page(
        &self,
        run: &RunCtx,
        sink: &Sink<'_>,
        items: Vec<Value>,
    ) -> Result<Vec<Value>, SyncError> {
        let (st, conn, id) = (&self.store, self.conn, run.id);
        let mut acc = Vec::new();
        match sink {
            Sink::Users => {
                let rows = items
                    .into_iter()
                    .map(convert::user)
                    .collect::<Result<Vec<_>, _>>()?;
                st.upsert_users(conn, id, &rows).await?;
            }
            Sink::Groups(stamps) => {
                let mut rows = Vec::with_capacity(items.len());
                for v in items {
                    let mut g = convert::group(v.clone())?;
                    match stamps {
                        None => {
                            acc.push(json!({"id": g.id, "n": g.users_count, "t": g.group_type}))
                        }
                        Some(stamps) => {
                            let stored = stamps.get(&g.id).copied().flatten();
                            if stored != g.last_membership_updated {
                                g.last_membership_updated = stored;
                                acc.push(v);
                            }
                        }
                    }
                    rows.push(g);
                }
                st.upsert_groups(conn, id, &rows).await?;
            }
            Sink::Apps => {
                let rows = items
                    .into_iter()
                    .map(convert::app)
                    .collect::<Result<Vec<_>, _>>()?;
                acc.extend(rows.iter().map(|a| Value::String(a.id.clone())));
                st.upsert_apps(conn, id, &rows).await?;
            }
            Sink::Members(gid) => {
                let ids = items
                    .iter()
                    .map(convert::member_id)
                    .collect::<Result<Vec<_>, _>>()?;
                st.upsert_members(conn, id, gid, &ids).await?;
            }
            Sink::AppUsers(aid) => {
                let rows = items
                    .into_iter()
                    .map(|v| convert::app_user(aid, v))
                    .collect::<Result<Vec<_>, _>>()?;
                st.upsert_app_users(conn, id, &rows).await?;
            }
            Sink::AppGroups(aid) => {
                let rows = items
                    .into_iter()
                    .map(|v| convert::app_group(aid, v))
                    .collect::<Result<Vec<_>, _>>()?;
                st.upsert_app_groups(conn, id, &rows).await?;
            }
        }
        Ok(acc)
    }
}

/// `path?k=v&…` with form-encoded values.
pub(crate) fn url_with(path: &str, params: &[(&str, &str)]) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        q.append_pair(k, v);
    }
    format!("{path}?{}", q.finish())
}
