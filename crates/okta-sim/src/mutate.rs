//! Changes to the org that keep every invariant Okta keeps: both directions of each relation,
//! `lastUpdated` / `lastMembershipUpdated`, derived group-based app assignments, and the System
//! Log event Okta writes for the change. The management API and the control API both go
//! through here, so the two can never disagree.

use crate::ids::{new_id, prefix};
use crate::model::*;
use chrono::{DateTime, Utc};
use rand::Rng;

/// What a membership change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The org changed.
    Changed,
    /// Nothing to do (already in the wanted state).
    Unchanged,
}

impl Org {
    /// Appends a System Log event.
    pub fn log_event(
        &mut self,
        now: DateTime<Utc>,
        event_type: &'static str,
        actor: LogRef,
        targets: Vec<LogRef>,
    ) {
        let published = self.log.last().map_or(now, |last| last.published.max(now));
        self.log.push(LogEvent {
            uuid: uuid::Uuid::new_v4(),
            published,
            event_type,
            result: "SUCCESS",
            reason: None,
            actor,
            targets,
            ip: [127, 0, 0, 1],
        });
    }

    /// Appends a System Log event with an explicit outcome (`FAILURE`, `CHALLENGE`, …).
    pub fn log_outcome(
        &mut self,
        now: DateTime<Utc>,
        event_type: &'static str,
        actor: LogRef,
        targets: Vec<LogRef>,
        result: &'static str,
        reason: Option<std::borrow::Cow<'static, str>>,
    ) {
        self.log_event(now, event_type, actor, targets);
        if let Some(last) = self.log.last_mut() {
            last.result = result;
            last.reason = reason;
        }
    }

    /// Adds user `u` to group `g`. Writes `group.user_membership.add`.
    pub fn add_member(
        &mut self,
        g: GroupIdx,
        u: UserIdx,
        now: DateTime<Utc>,
        actor: LogRef,
    ) -> Change {
        if !self.groups[g as usize].members.insert(u) {
            return Change::Unchanged;
        }
        self.users[u as usize].groups.insert(g);
        self.groups[g as usize].last_membership_updated = now;
        self.log_event(
            now,
            "group.user_membership.add",
            actor,
            vec![LogRef::User(u), LogRef::Group(g)],
        );
        // Apps assigned to this group now reach the user.
        let apps: Vec<AppIdx> = self
            .live_apps()
            .filter(|(_, a)| a.groups.contains_key(&g))
            .map(|(i, _)| i)
            .collect();
        let logged = !self.silent_group_derived_assignments;
        for a in apps {
            self.ensure_app_user(a, u, AssignmentScope::Group, now, logged);
        }
        Change::Changed
    }

    /// Removes user `u` from group `g`. Writes `group.user_membership.remove`.
    pub fn remove_member(
        &mut self,
        g: GroupIdx,
        u: UserIdx,
        now: DateTime<Utc>,
        actor: LogRef,
    ) -> Change {
        if !self.groups[g as usize].members.remove(&u) {
            return Change::Unchanged;
        }
        self.users[u as usize].groups.remove(&g);
        self.groups[g as usize].last_membership_updated = now;
        self.log_event(
            now,
            "group.user_membership.remove",
            actor,
            vec![LogRef::User(u), LogRef::Group(g)],
        );
        let apps: Vec<AppIdx> = self
            .live_apps()
            .filter(|(_, a)| a.groups.contains_key(&g))
            .map(|(i, _)| i)
            .collect();
        let logged = !self.silent_group_derived_assignments;
        for a in apps {
            self.drop_group_derived(a, u, now, logged);
        }
        Change::Changed
    }

    /// Assigns `u` to `a` unless already assigned; writes `application.user_membership.add`
    /// when it does and `logged`.
    fn ensure_app_user(
        &mut self,
        a: AppIdx,
        u: UserIdx,
        scope: AssignmentScope,
        now: DateTime<Utc>,
        logged: bool,
    ) {
        // Deactivated users hold no app assignments (see `set_user_status`).
        if self.users[u as usize].status == UserStatus::Deprovisioned {
            return;
        }
        let login = self.users[u as usize].profile.login.clone();
        let mut rng = rand::rng();
        let app = &mut self.apps[a as usize];
        let mut added = false;
        let entry = app.users.entry(u).or_insert_with(|| {
            added = true;
            AppUser {
                assignment_id: new_id(prefix::APP_USER, &mut rng),
                scope,
                status: "ACTIVE",
                created: now,
                last_updated: now,
                user_name: login,
            }
        });
        if scope == AssignmentScope::User && entry.scope != AssignmentScope::User {
            entry.scope = AssignmentScope::User;
            entry.last_updated = now;
        }
        if added && logged {
            self.log_event(
                now,
                "application.user_membership.add",
                LogRef::System,
                vec![LogRef::App(a), LogRef::AppUser(a, u), LogRef::User(u)],
            );
        }
    }

    /// Removes `u` from app `a` unless a direct assignment or another assigned group still
    /// reaches them; writes `application.user_membership.remove` when it does and `logged`.
    fn drop_group_derived(&mut self, a: AppIdx, u: UserIdx, now: DateTime<Utc>, logged: bool) {
        let app = &self.apps[a as usize];
        if app.direct_users.contains(&u) {
            return;
        }
        let user_groups = &self.users[u as usize].groups;
        if app.groups.keys().any(|g| user_groups.contains(g)) {
            return;
        }
        if self.apps[a as usize].users.remove(&u).is_some() && logged {
            self.log_event(
                now,
                "application.user_membership.remove",
                LogRef::System,
                vec![LogRef::App(a), LogRef::User(u)],
            );
        }
    }

    /// Assigns user `u` directly to app `a`.
    pub fn assign_user_to_app(&mut self, a: AppIdx, u: UserIdx, now: DateTime<Utc>) -> Change {
        if !self.apps[a as usize].direct_users.insert(u) {
            return Change::Unchanged;
        }
        let existed = self.apps[a as usize].users.contains_key(&u);
        self.ensure_app_user(a, u, AssignmentScope::User, now, true);
        if existed {
            self.log_event(
                now,
                "application.user_membership.update",
                LogRef::System,
                vec![LogRef::App(a), LogRef::AppUser(a, u), LogRef::User(u)],
            );
        }
        Change::Changed
    }

    /// Removes the direct assignment of `u` to `a` (group-based access stays, as in Okta).
    pub fn unassign_user_from_app(&mut self, a: AppIdx, u: UserIdx, now: DateTime<Utc>) -> Change {
        if !self.apps[a as usize].direct_users.remove(&u) {
            return Change::Unchanged;
        }
        let via_group = {
            let app = &self.apps[a as usize];
            let ug = &self.users[u as usize].groups;
            app.groups.keys().any(|g| ug.contains(g))
        };
        if via_group {
            if let Some(au) = self.apps[a as usize].users.get_mut(&u) {
                au.scope = AssignmentScope::Group;
                au.last_updated = now;
            }
            self.log_event(
                now,
                "application.user_membership.update",
                LogRef::System,
                vec![LogRef::App(a), LogRef::AppUser(a, u), LogRef::User(u)],
            );
        } else {
            self.apps[a as usize].users.remove(&u);
            self.log_event(
                now,
                "application.user_membership.remove",
                LogRef::System,
                vec![LogRef::App(a), LogRef::User(u)],
            );
        }
        Change::Changed
    }

    /// Assigns group `g` to app `a`; its members gain GROUP-scoped assignments.
    pub fn assign_group_to_app(
        &mut self,
        a: AppIdx,
        g: GroupIdx,
        priority: u32,
        now: DateTime<Utc>,
    ) -> Change {
        if self.apps[a as usize].groups.contains_key(&g) {
            return Change::Unchanged;
        }
        self.apps[a as usize].groups.insert(
            g,
            AppGroup {
                priority,
                last_updated: now,
            },
        );
        self.log_event(
            now,
            "group.application_assignment.add",
            LogRef::System,
            vec![LogRef::Group(g), LogRef::App(a)],
        );
        let members: Vec<UserIdx> = self.groups[g as usize].members.iter().copied().collect();
        let logged = !self.silent_group_derived_assignments;
        for u in members {
            self.ensure_app_user(a, u, AssignmentScope::Group, now, logged);
        }
        Change::Changed
    }

    /// Removes group `g` from app `a`; members who lose their last path lose the app.
    pub fn unassign_group_from_app(
        &mut self,
        a: AppIdx,
        g: GroupIdx,
        now: DateTime<Utc>,
    ) -> Change {
        if self.apps[a as usize].groups.remove(&g).is_none() {
            return Change::Unchanged;
        }
        self.log_event(
            now,
            "group.application_assignment.remove",
            LogRef::System,
            vec![LogRef::Group(g), LogRef::App(a)],
        );
        let members: Vec<UserIdx> = self.groups[g as usize].members.iter().copied().collect();
        let logged = !self.silent_group_derived_assignments;
        for u in members {
            self.drop_group_derived(a, u, now, logged);
        }
        Change::Changed
    }

    /// Creates a user in `status` and adds them to Everyone. Writes `user.lifecycle.create`
    /// (and `user.lifecycle.activate` when created active).
    pub fn create_user(
        &mut self,
        profile: UserProfile,
        status: UserStatus,
        now: DateTime<Utc>,
    ) -> UserIdx {
        let id = new_id(prefix::USER, &mut rand::rng());
        let idx = self.users.len() as UserIdx;
        let activated = (status != UserStatus::Staged).then_some(now);
        self.user_by_login
            .insert(profile.login.to_ascii_lowercase(), idx);
        self.user_by_id.insert(id.clone(), idx);
        self.users.push(User {
            id,
            status,
            created: now,
            activated,
            status_changed: activated,
            last_login: None,
            last_updated: now,
            password_changed: None,
            profile,
            groups: Default::default(),
            deleted: false,
        });
        self.log_event(
            now,
            "user.lifecycle.create",
            LogRef::System,
            vec![LogRef::User(idx)],
        );
        if status == UserStatus::Active {
            self.log_event(
                now,
                "user.lifecycle.activate",
                LogRef::System,
                vec![LogRef::User(idx)],
            );
        }
        let everyone = self.everyone;
        self.add_member(everyone, idx, now, LogRef::System);
        idx
    }

    /// Changes a user's status with the lifecycle event Okta writes for that transition.
    /// Deactivation (to DEPROVISIONED) also removes the user's app assignments, as Okta does.
    pub fn set_user_status(
        &mut self,
        u: UserIdx,
        status: UserStatus,
        now: DateTime<Utc>,
    ) -> Change {
        let old = self.users[u as usize].status;
        if old == status {
            return Change::Unchanged;
        }
        let event = match (old, status) {
            (_, UserStatus::Deprovisioned) => "user.lifecycle.deactivate",
            (UserStatus::Deprovisioned, _) => "user.lifecycle.reactivate",
            (_, UserStatus::Suspended) => "user.lifecycle.suspend",
            (UserStatus::Suspended, _) => "user.lifecycle.unsuspend",
            (_, UserStatus::LockedOut) => "user.account.lock",
            (UserStatus::LockedOut, _) => "user.account.unlock",
            (_, UserStatus::PasswordExpired) => "user.lifecycle.password_mass_expiry",
            _ => "user.lifecycle.activate",
        };
        {
            let user = &mut self.users[u as usize];
            user.status = status;
            user.status_changed = Some(now);
            user.last_updated = now;
            if status == UserStatus::Active && user.activated.is_none() {
                user.activated = Some(now);
            }
        }
        self.log_event(now, event, LogRef::System, vec![LogRef::User(u)]);
        if status == UserStatus::Deprovisioned {
            let apps: Vec<AppIdx> = self
                .live_apps()
                .filter(|(_, a)| a.users.contains_key(&u))
                .map(|(i, _)| i)
                .collect();
            for a in apps {
                let app = &mut self.apps[a as usize];
                app.direct_users.remove(&u);
                app.users.remove(&u);
                self.log_event(
                    now,
                    "application.user_membership.remove",
                    LogRef::System,
                    vec![LogRef::App(a), LogRef::User(u)],
                );
            }
        } else if old == UserStatus::Deprovisioned {
            // Reactivation: direct assignments stay gone, but apps assigned to the user's groups
            // reach the user again, as group-based assignments do in Okta.
            let groups = self.users[u as usize].groups.clone();
            let apps: Vec<AppIdx> = self
                .live_apps()
                .filter(|(_, a)| a.groups.keys().any(|g| groups.contains(g)))
                .map(|(i, _)| i)
                .collect();
            for a in apps {
                self.ensure_app_user(a, u, AssignmentScope::Group, now, true);
            }
        }
        Change::Changed
    }

    /// Updates profile attributes given as Okta JSON names. Writes `user.account.update_profile`.
    pub fn update_user_profile(
        &mut self,
        u: UserIdx,
        attrs: &serde_json::Map<String, serde_json::Value>,
        now: DateTime<Utc>,
    ) {
        let user = &mut self.users[u as usize];
        let old_login = user.profile.login.to_ascii_lowercase();
        let p = &mut user.profile;
        for (k, v) in attrs {
            let s = v.as_str().map(str::to_string);
            match k.as_str() {
                "firstName" => p.first_name = s.unwrap_or_default(),
                "lastName" => p.last_name = s.unwrap_or_default(),
                "login" => p.login = s.unwrap_or_default(),
                "email" => p.email = s.unwrap_or_default(),
                "department" => p.department = s,
                "title" => p.title = s,
                "managerId" => p.manager_id = s,
                "manager" => p.manager = s,
                "employeeNumber" => p.employee_number = s,
                _ => {
                    p.extra.insert(k.clone(), v.clone());
                }
            }
        }
        let new_login = p.login.to_ascii_lowercase();
        user.last_updated = now;
        if new_login != old_login {
            self.user_by_login.remove(&old_login);
            self.user_by_login.insert(new_login, u);
        }
        self.log_event(
            now,
            "user.account.update_profile",
            LogRef::System,
            vec![LogRef::User(u)],
        );
    }

    /// Deletes a user (Okta requires DEPROVISIONED first; the caller checks). Memberships go too.
    pub fn delete_user(&mut self, u: UserIdx, now: DateTime<Utc>) {
        let groups: Vec<GroupIdx> = self.users[u as usize].groups.iter().copied().collect();
        for g in groups {
            self.groups[g as usize].members.remove(&u);
            self.groups[g as usize].last_membership_updated = now;
        }
        for app in &mut self.apps {
            app.users.remove(&u);
            app.direct_users.remove(&u);
        }
        let user = &mut self.users[u as usize];
        user.groups.clear();
        user.deleted = true;
        let login = user.profile.login.to_ascii_lowercase();
        self.user_by_login.remove(&login);
        self.log_event(
            now,
            "user.lifecycle.delete.completed",
            LogRef::System,
            vec![LogRef::User(u)],
        );
    }

    /// Creates an OKTA_GROUP. Writes `group.lifecycle.create`.
    pub fn create_group(
        &mut self,
        name: String,
        description: Option<String>,
        kind: GroupType,
        now: DateTime<Utc>,
    ) -> GroupIdx {
        let id = new_id(prefix::GROUP, &mut rand::rng());
        let idx = self.groups.len() as GroupIdx;
        self.group_by_id.insert(id.clone(), idx);
        self.groups.push(Group {
            id,
            kind,
            created: now,
            last_updated: now,
            last_membership_updated: now,
            name,
            description,
            source_app: None,
            members: Default::default(),
            deleted: false,
        });
        self.log_event(
            now,
            "group.lifecycle.create",
            LogRef::System,
            vec![LogRef::Group(idx)],
        );
        idx
    }

    /// Renames or re-describes a group. Writes `group.profile.update`.
    pub fn update_group(
        &mut self,
        g: GroupIdx,
        name: Option<String>,
        description: Option<Option<String>>,
        now: DateTime<Utc>,
    ) {
        let group = &mut self.groups[g as usize];
        if let Some(n) = name {
            group.name = n;
        }
        if let Some(d) = description {
            group.description = d;
        }
        group.last_updated = now;
        self.log_event(
            now,
            "group.profile.update",
            LogRef::System,
            vec![LogRef::Group(g)],
        );
    }

    /// Deletes a group with its memberships and app assignments. Writes `group.lifecycle.delete`.
    pub fn delete_group(&mut self, g: GroupIdx, now: DateTime<Utc>) {
        let apps: Vec<AppIdx> = self
            .live_apps()
            .filter(|(_, a)| a.groups.contains_key(&g))
            .map(|(i, _)| i)
            .collect();
        for a in apps {
            self.unassign_group_from_app(a, g, now);
        }
        let members: Vec<UserIdx> = self.groups[g as usize].members.iter().copied().collect();
        for u in members {
            self.users[u as usize].groups.remove(&g);
        }
        let group = &mut self.groups[g as usize];
        group.members.clear();
        group.deleted = true;
        self.log_event(
            now,
            "group.lifecycle.delete",
            LogRef::System,
            vec![LogRef::Group(g)],
        );
    }

    /// Creates an app. Writes `application.lifecycle.create`.
    pub fn create_app(
        &mut self,
        name: String,
        label: String,
        sign_on_mode: &'static str,
        now: DateTime<Utc>,
    ) -> AppIdx {
        let id = new_id(prefix::APP, &mut rand::rng());
        let idx = self.apps.len() as AppIdx;
        self.app_by_id.insert(id.clone(), idx);
        self.apps.push(App {
            id,
            name,
            label,
            status: AppStatus::Active,
            sign_on_mode,
            created: now,
            last_updated: now,
            users: Default::default(),
            groups: Default::default(),
            direct_users: Default::default(),
            is_service: false,
            deleted: false,
        });
        self.log_event(
            now,
            "application.lifecycle.create",
            LogRef::System,
            vec![LogRef::App(idx)],
        );
        idx
    }

    /// Updates an app's label and/or status. Writes the matching lifecycle event.
    pub fn update_app(
        &mut self,
        a: AppIdx,
        label: Option<String>,
        status: Option<AppStatus>,
        now: DateTime<Utc>,
    ) {
        let app = &mut self.apps[a as usize];
        let mut event = "application.lifecycle.update";
        if let Some(l) = label {
            app.label = l;
        }
        if let Some(s) = status
            && s != app.status
        {
            app.status = s;
            event = match s {
                AppStatus::Active => "application.lifecycle.activate",
                AppStatus::Inactive => "application.lifecycle.deactivate",
            };
        }
        app.last_updated = now;
        self.log_event(now, event, LogRef::System, vec![LogRef::App(a)]);
    }

    /// Deletes an app with its assignments. Writes `application.lifecycle.delete`.
    pub fn delete_app(&mut self, a: AppIdx, now: DateTime<Utc>) {
        let app = &mut self.apps[a as usize];
        app.users.clear();
        app.groups.clear();
        app.direct_users.clear();
        app.deleted = true;
        self.log_event(
            now,
            "application.lifecycle.delete",
            LogRef::System,
            vec![LogRef::App(a)],
        );
    }

    /// Records an SSO attempt of `u` into `a` (`user.authentication.sso`).
    pub fn record_sso(&mut self, u: UserIdx, a: AppIdx, success: bool, now: DateTime<Utc>) {
        let published = self.log.last().map_or(now, |last| last.published.max(now));
        let mut rng = rand::rng();
        self.log.push(LogEvent {
            uuid: uuid::Uuid::new_v4(),
            published,
            event_type: "user.authentication.sso",
            result: if success { "SUCCESS" } else { "FAILURE" },
            reason: (!success).then_some("INVALID_CREDENTIALS".into()),
            actor: LogRef::User(u),
            targets: vec![LogRef::App(a), LogRef::AppUser(a, u)],
            ip: [10, rng.random(), rng.random(), rng.random_range(1..255)],
        });
        if success {
            self.users[u as usize].last_login = Some(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SimConfig;

    fn org_with_group_app() -> (Org, AppIdx, GroupIdx, UserIdx) {
        let cfg = SimConfig {
            users: 40,
            groups: 6,
            apps: 3,
            log_days: 0,
            ..SimConfig::default()
        };
        let mut org = crate::generate::generate(&cfg, chrono::Utc::now());
        let now = chrono::Utc::now();
        let g = org.create_group("Deploy".into(), None, GroupType::OktaGroup, now);
        let a = org.create_app("x".into(), "X".into(), "SAML_2_0", now);
        let u = org
            .users
            .iter()
            .position(|u| u.status == UserStatus::Active)
            .unwrap() as UserIdx;
        org.add_member(g, u, now, LogRef::System);
        org.assign_group_to_app(a, g, 0, now);
        (org, a, g, u)
    }

    #[test]
    fn deactivation_removes_and_reactivation_restores_group_assignments() {
        let (mut org, a, _, u) = org_with_group_app();
        let now = chrono::Utc::now();
        org.assign_user_to_app(a, u, now);
        assert_eq!(org.apps[a as usize].users[&u].scope, AssignmentScope::User);
        org.set_user_status(u, UserStatus::Deprovisioned, now);
        assert!(!org.apps[a as usize].users.contains_key(&u));
        org.set_user_status(u, UserStatus::Active, now);
        let au = org.apps[a as usize]
            .users
            .get(&u)
            .expect("group assignment restored");
        assert_eq!(
            au.scope,
            AssignmentScope::Group,
            "the direct assignment is gone"
        );
        assert!(!org.apps[a as usize].direct_users.contains(&u));
    }

    #[test]
    fn membership_changes_keep_both_directions_and_derived_assignments() {
        let (mut org, a, g, u) = org_with_group_app();
        let now = chrono::Utc::now();
        let before = org.groups[g as usize].last_membership_updated;
        assert_eq!(
            org.remove_member(g, u, now, LogRef::System),
            Change::Changed
        );
        assert!(!org.users[u as usize].groups.contains(&g));
        assert!(
            !org.apps[a as usize].users.contains_key(&u),
            "lost the app with the group"
        );
        assert!(org.groups[g as usize].last_membership_updated >= before);
        assert_eq!(
            org.remove_member(g, u, now, LogRef::System),
            Change::Unchanged
        );
        let last = org.log.last().unwrap();
        assert_eq!(last.event_type, "application.user_membership.remove");
    }
}
