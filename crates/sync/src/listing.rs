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
use okta_client::Method;
use okta_client::models::{AppGroup, AppUser, User};
use serde::de::DeserializeOwned;
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

/// The items of one page, parsed straight from the body into what the sink needs: big
/// lists (users, members, assignments) never become `serde_json::Value` trees, which cost
/// several times the body and most of a sync's memory with concurrent listings.
pub(crate) enum Items {
    Values(Vec<Value>),
    Users(Vec<User>),
    Ids(Vec<convert::IdOnly>),
    AppUsers(Vec<AppUser>),
    AppGroups(Vec<AppGroup>),
}

impl Items {
    fn len(&self) -> usize {
        match self {
            Items::Values(v) => v.len(),
            Items::Users(v) => v.len(),
            Items::Ids(v) => v.len(),
            Items::AppUsers(v) => v.len(),
            Items::AppGroups(v) => v.len(),
        }
    }
}

/// One page: its items and the `next` link.
pub(crate) struct TypedPage {
    pub items: Items,
    pub next: Option<String>,
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

/// A JSON array of `T`.
fn parse_items<T: DeserializeOwned>(what: &str, body: &[u8]) -> Result<Vec<T>, SyncError> {
    serde_json::from_slice(body).map_err(|e| SyncError::InvalidData(format!("{what} page: {e}")))
}

impl<S: InventoryStore> Syncer<S> {
    /// Fetches one page at `url` (same origin only) parsed for `sink`; like
    /// [`okta_client::OktaClient::get_page`], without the intermediate `Value`s.
    pub(crate) async fn get_typed_page(
        &self,
        sink: &Sink<'_>,
        url: &str,
    ) -> Result<TypedPage, SyncError> {
        Ok(match sink {
            Sink::Users => self.get_items("user", url, Items::Users).await?,
            Sink::Groups(_) | Sink::Apps => self.get_items("list", url, Items::Values).await?,
            Sink::Members(_) => self.get_items("group member", url, Items::Ids).await?,
            Sink::AppUsers(_) => self.get_items("app user", url, Items::AppUsers).await?,
            Sink::AppGroups(_) => self.get_items("app group", url, Items::AppGroups).await?,
        })
    }

    /// One page of `T`s at `url` (same origin only), with its `next` link.
    pub(crate) async fn get_items<T: DeserializeOwned>(
        &self,
        what: &str,
        url: &str,
        wrap: impl FnOnce(Vec<T>) -> Items,
    ) -> Result<TypedPage, SyncError> {
        let (items, next) = self.get_list(what, url).await?;
        Ok(TypedPage {
            items: wrap(items),
            next,
        })
    }

    /// One page of `T`s at `url` (same origin only) and its `next` link.
    pub(crate) async fn get_list<T: DeserializeOwned>(
        &self,
        what: &str,
        url: &str,
    ) -> Result<(Vec<T>, Option<String>), SyncError> {
        let resp = self.client.request(Method::GET, url, None).await?;
        let next = okta_client::pagination::next_link(&resp.headers);
        let items = parse_items(what, &resp.body)?;
        drop(resp);
        if let Some(n) = &next {
            // Refuse a next link to another host before anyone follows it.
            self.client.resolve(n)?;
        }
        Ok((items, next))
    }

    /// Reads every page of `first` into `sink`, checkpointing under `key`. Returns `acc`.
    pub(crate) async fn listing(
        &self,
        run: &RunCtx,
        key: &str,
        first: String,
        sink: Sink<'_>,
    ) -> Result<Vec<Value>, SyncError> {
        // A new run cleared the run's checkpoints when it started: only a resumed one has
        // any to read (a read would also commit the writes deferred so far).
        let saved = if run.resumed {
            saved_state(self.store.checkpoint(self.conn, key).await?, run.id)
        } else {
            None
        };
        let (mut url, mut acc) = match saved {
            Some(s) if s.done => return Ok(s.acc),
            Some(Saved {
                next: Some(next),
                acc,
                ..
            }) => (next, acc),
            _ => (first, Vec::new()),
        };
        // The next page is read while this one is written; its checkpoint is saved after
        // its rows, so a killed run resumes at the first page not written.
        let mut page = self.get_typed_page(&sink, &url).await?;
        loop {
            let items = std::mem::replace(&mut page.items, Items::Values(Vec::new()));
            let n = items.len();
            // An empty page ends the list even with a `next` link (reference 5.1).
            let next = page.next.take().filter(|next| n > 0 && *next != url);
            let write = async {
                acc.extend(self.write_page(run, &sink, items).await?);
                run.tracker.page(sink.resource(), n as u64);
                let state =
                    json!({"run": run.id, "next": next, "done": next.is_none(), "acc": acc});
                self.store.save_checkpoint(self.conn, key, &state).await?;
                Ok::<_, SyncError>(())
            };
            match &next {
                Some(next) => {
                    let (written, fetched) =
                        futures::join!(write, self.get_typed_page(&sink, next));
                    written?;
                    page = fetched?;
                    url = next.clone();
                }
                None => {
                    write.await?;
                    return Ok(acc);
                }
            }
        }
    }

    async fn write_page(
        &self,
        run: &RunCtx,
        sink: &Sink<'_>,
        items: Items,
    ) -> Result<Vec<Value>, SyncError> {
        let (st, conn, id) = (&self.store, self.conn, run.id);
        let mut acc = Vec::new();
        let items = match items {
            Items::Values(v) => v,
            Items::Users(users) => {
                let rows: Vec<_> = users.into_iter().map(convert::user_record).collect();
                st.upsert_users(conn, id, &rows).await?;
                return Ok(acc);
            }
            Items::Ids(ids) => {
                let Sink::Members(gid) = sink else {
                    unreachable!("ids are read for members only")
                };
                let ids: Vec<String> = ids.into_iter().map(|i| i.id).collect();
                st.upsert_members(conn, id, gid, &ids).await?;
                return Ok(acc);
            }
            Items::AppUsers(rows) => {
                let Sink::AppUsers(aid) = sink else {
                    unreachable!("app users are read for app users only")
                };
                let rows: Vec<_> = rows
                    .into_iter()
                    .map(|r| convert::app_user_record(aid, r))
                    .collect();
                st.upsert_app_users(conn, id, &rows).await?;
                return Ok(acc);
            }
            Items::AppGroups(rows) => {
                let Sink::AppGroups(aid) = sink else {
                    unreachable!("app groups are read for app groups only")
                };
                let rows: Vec<_> = rows
                    .into_iter()
                    .map(|r| convert::app_group_record(aid, r))
                    .collect();
                st.upsert_app_groups(conn, id, &rows).await?;
                return Ok(acc);
            }
        };
        match sink {
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
            Sink::Users | Sink::Members(_) | Sink::AppUsers(_) | Sink::AppGroups(_) => {
                unreachable!("parsed into typed items")
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
