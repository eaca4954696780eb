//! Deterministic generator of a realistic org from a seed: users in all eight statuses with
//! directory-like profiles, OKTA_GROUP / APP_GROUP / BUILT_IN groups with skewed membership,
//! apps with several sign-on modes, direct and group assignments, and System Log history.
//!
//! Same seed and sizes give the same ids, profiles and relations. Timestamps are laid out
//! relative to the moment of generation, so the System Log history always ends "now".

use crate::config::SimConfig;
use crate::ids::{new_id, prefix};
use crate::model::*;
use chrono::{DateTime, TimeDelta, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, BTreeSet};

const FIRST_NAMES: &[&str] = &[
    "Ada", "Alan", "Alice", "Amara", "Ana", "Anders", "Aria", "Arjun", "Ava", "Ben", "Bianca",
    "Carlos", "Chen", "Chloe", "Dana", "Daniel", "Dmitri", "Elena", "Eli", "Emma", "Ethan",
    "Fatima", "Felix", "Grace", "Hana", "Hugo", "Ines", "Isaac", "Ivy", "Jamal", "Jana", "Jin",
    "Jonas", "Julia", "Kai", "Kenji", "Lara", "Leo", "Lina", "Liam", "Lucia", "Maya", "Mateo",
    "Mia", "Nadia", "Noah", "Nora", "Olga", "Omar", "Priya", "Quinn", "Rafael", "Rosa", "Sam",
    "Sara", "Sofia", "Tariq", "Theo", "Uma", "Victor", "Wei", "Yara", "Yusuf", "Zoe",
];
const LAST_NAMES: &[&str] = &[
    "Abbott", "Adeyemi", "Alvarez", "Andersen", "Bauer", "Becker", "Brown", "Campbell", "Chen",
    "Costa", "Dubois", "Eriksson", "Fischer", "Garcia", "Gupta", "Hansen", "Haddad", "Ito",
    "Jensen", "Johnson", "Kim", "Kowalski", "Kumar", "Larsen", "Lee", "Lopez", "Martin", "Meyer",
    "Miller", "Moreau", "Nakamura", "Nguyen", "Novak", "Okafor", "Olsen", "Patel", "Petrov",
    "Quinn", "Rossi", "Santos", "Schmidt", "Silva", "Singh", "Smith", "Suzuki", "Tanaka", "Taylor",
    "Walker", "Wang", "Weber", "Williams", "Yilmaz", "Young", "Zhang",
];
const DEPARTMENTS: &[(&str, &[&str])] = &[
    (
        "Engineering",
        &[
            "Software Engineer",
            "Senior Software Engineer",
            "Staff Engineer",
            "Engineering Manager",
            "SRE",
        ],
    ),
    (
        "Sales",
        &[
            "Account Executive",
            "Sales Development Rep",
            "Sales Manager",
            "Solutions Engineer",
        ],
    ),
    (
        "Marketing",
        &["Marketing Manager", "Content Strategist", "Growth Analyst"],
    ),
    (
        "Finance",
        &["Accountant", "Financial Analyst", "Controller"],
    ),
    (
        "People",
        &[
            "HR Business Partner",
            "Recruiter",
            "People Operations Specialist",
        ],
    ),
    (
        "Support",
        &[
            "Support Engineer",
            "Support Manager",
            "Customer Success Manager",
        ],
    ),
    ("Legal", &["Counsel", "Paralegal"]),
    (
        "IT",
        &[
            "IT Administrator",
            "Security Engineer",
            "Help Desk Technician",
        ],
    ),
    (
        "Product",
        &["Product Manager", "Product Designer", "UX Researcher"],
    ),
    ("Operations", &["Operations Analyst", "Program Manager"]),
];
const TEAMS: &[&str] = &[
    "Platform",
    "Payments",
    "Mobile",
    "Data",
    "Identity",
    "EMEA",
    "APAC",
    "Americas",
    "Enterprise",
    "SMB",
    "Brand",
    "Analytics",
    "Infrastructure",
    "Compliance",
    "Onboarding",
    "Billing",
];
const PROJECTS: &[&str] = &[
    "Phoenix", "Atlas", "Orion", "Nebula", "Falcon", "Kestrel", "Aurora", "Zephyr", "Titan",
    "Mercury", "Helios", "Vega",
];
/// (catalog name, label, sign-on mode).
const APP_CATALOG: &[(&str, &str, &str)] = &[
    ("workday", "Workday", "SAML_2_0"),
    ("salesforce", "Salesforce", "SAML_2_0"),
    ("slack", "Slack", "SAML_2_0"),
    ("github_enterprise", "GitHub Enterprise", "SAML_2_0"),
    ("zoomus", "Zoom", "SAML_2_0"),
    ("boxnet", "Box", "SAML_2_0"),
    ("atlassian", "Atlassian Cloud", "SAML_2_0"),
    ("google", "Google Workspace", "SAML_2_0"),
    ("office365", "Microsoft Office 365", "WS_FEDERATION"),
    ("aws_account_federation", "AWS", "SAML_2_0"),
    ("oidc_client", "Internal Portal", "OPENID_CONNECT"),
    ("oidc_client", "Expense Tracker", "OPENID_CONNECT"),
    ("template_swa", "Legacy Payroll", "BROWSER_PLUGIN"),
    ("template_sps", "Vendor Portal", "SECURE_PASSWORD_STORE"),
    ("bookmark", "Company Wiki", "BOOKMARK"),
    ("template_basic_auth", "Build Server", "BASIC_AUTH"),
    ("template_swa", "Benefits Site", "AUTO_LOGIN"),
    ("dropbox_for_business", "Dropbox", "SAML_2_0"),
    ("datadog", "Datadog", "SAML_2_0"),
    ("pagerduty", "PagerDuty", "SAML_2_0"),
    ("template_saml_1_1", "Old Intranet", "SAML_1_1"),
];

/// Picks an index in `0..n` skewed toward small indices (popular groups and apps).
fn skewed(rng: &mut StdRng, n: usize) -> usize {
    let u: f64 = rng.random();
    ((u * u * u) * n as f64) as usize % n.max(1)
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

fn status_for(rng: &mut StdRng) -> UserStatus {
    let p: f64 = rng.random();
    match p {
        p if p < 0.84 => UserStatus::Active,
        p if p < 0.90 => UserStatus::Deprovisioned,
        p if p < 0.92 => UserStatus::Suspended,
        p if p < 0.935 => UserStatus::LockedOut,
        p if p < 0.95 => UserStatus::PasswordExpired,
        p if p < 0.96 => UserStatus::Recovery,
        p if p < 0.98 => UserStatus::Provisioned,
        _ => UserStatus::Staged,
    }
}

/// Generates the org described by `config`, as of `now`.
pub fn generate(config: &SimConfig, now: DateTime<Utc>) -> Org {
    let mut rng = StdRng::seed_from_u64(config.seed);
    let mut org = Org {
        user_type_id: new_id(prefix::USER_TYPE, &mut rng),
        ..Org::default()
    };
    let company = config
        .domain
        .split('.')
        .next()
        .unwrap_or("acme")
        .to_ascii_lowercase();
    let mail_domain = format!("{company}.example.com");
    let days = |d: i64| TimeDelta::days(d);
    let org_start = now - days(3 * 365);
    let secs_between = |rng: &mut StdRng, from: DateTime<Utc>, to: DateTime<Utc>| {
        let span = (to - from).num_seconds().max(1);
        from + TimeDelta::seconds(rng.random_range(0..span))
    };

    // Users.
    let managers = (config.users / 20).max(1);
    for i in 0..config.users {
        let first = *pick(&mut rng, FIRST_NAMES);
        let last = *pick(&mut rng, LAST_NAMES);
        let login = format!(
            "{}.{}{}@{mail_domain}",
            first.to_ascii_lowercase(),
            last.to_ascii_lowercase(),
            if i < FIRST_NAMES.len() * LAST_NAMES.len() {
                String::new()
            } else {
                i.to_string()
            }
        );
        // Logins must be unique; fall back to the index on a collision.
        let login = if org.user_by_login.contains_key(&login) {
            format!(
                "{}.{}{i}@{mail_domain}",
                first.to_ascii_lowercase(),
                last.to_ascii_lowercase()
            )
        } else {
            login
        };
        let (dept, titles) = DEPARTMENTS[if i < managers {
            i % DEPARTMENTS.len()
        } else {
            skewed(&mut rng, DEPARTMENTS.len())
        }];
        let mut status = status_for(&mut rng);
        // Make sure every status occurs in any org of 16 users or more.
        if config.users >= 16 && i >= config.users - 8 {
            status = UserStatus::ALL[config.users - 1 - i];
        }
        if i < managers {
            status = UserStatus::Active;
        }
        let created = secs_between(&mut rng, org_start, now - days(1));
        let last_updated = secs_between(&mut rng, created, now - TimeDelta::hours(1));
        let activated = (status != UserStatus::Staged).then(|| created + TimeDelta::minutes(5));
        let manager_idx = (i >= managers).then(|| {
            let m = rng.random_range(0..managers);
            m as UserIdx
        });
        let (manager_id, manager) = match manager_idx {
            Some(m) => {
                let mu: &User = &org.users[m as usize];
                (
                    Some(mu.id.clone()),
                    Some(format!(
                        "{} {}",
                        mu.profile.first_name, mu.profile.last_name
                    )),
                )
            }
            None => (None, None),
        };
        let title = if i < managers {
            format!("Head of {dept}")
        } else {
            pick(&mut rng, titles).to_string()
        };
        let id = new_id(prefix::USER, &mut rng);
        let active_like = matches!(
            status,
            UserStatus::Active
                | UserStatus::Recovery
                | UserStatus::PasswordExpired
                | UserStatus::LockedOut
        );
        let last_login = (active_like && rng.random_bool(0.95))
            .then(|| secs_between(&mut rng, now - days(30), now - TimeDelta::minutes(10)));
        let user = User {
            id: id.clone(),
            status,
            created,
            activated,
            status_changed: (status != UserStatus::Staged).then_some(last_updated),
            last_login,
            last_updated,
            password_changed: activated.filter(|_| status != UserStatus::Provisioned),
            profile: UserProfile {
                first_name: first.to_string(),
                last_name: last.to_string(),
                email: login.clone(),
                login: login.clone(),
                department: Some(dept.to_string()),
                title: Some(title),
                manager_id,
                manager,
                employee_number: Some(format!("{}", 100_000 + i)),
                extra: Default::default(),
            },
            groups: BTreeSet::new(),
            deleted: false,
        };
        org.user_by_id.insert(id, i as UserIdx);
        org.user_by_login
            .insert(login.to_ascii_lowercase(), i as UserIdx);
        org.users.push(user);
    }

    // Apps (the first one, Workday, is the source of the imported APP_GROUPs).
    for a in 0..config.apps {
        let (name, label, mode) = APP_CATALOG[a % APP_CATALOG.len()];
        let label = if a < APP_CATALOG.len() {
            label.to_string()
        } else {
            format!("{label} {}", a / APP_CATALOG.len() + 1)
        };
        let created = secs_between(&mut rng, org_start, now - days(30));
        let app = App {
            id: new_id(prefix::APP, &mut rng),
            name: name.to_string(),
            label,
            status: if a > 0 && rng.random_bool(0.05) {
                AppStatus::Inactive
            } else {
                AppStatus::Active
            },
            sign_on_mode: mode,
            created,
            last_updated: secs_between(&mut rng, created, now - days(1)),
            users: BTreeMap::new(),
            groups: BTreeMap::new(),
            direct_users: BTreeSet::new(),
            is_service: false,
            deleted: false,
        };
        org.app_by_id.insert(app.id.clone(), a as AppIdx);
        org.apps.push(app);
    }

    // Groups: Everyone first, then OKTA_GROUPs and APP_GROUPs.
    let everyone_created = org_start;
    org.groups.push(Group {
        id: new_id(prefix::GROUP, &mut rng),
        kind: GroupType::BuiltIn,
        created: everyone_created,
        last_updated: everyone_created,
        last_membership_updated: now - TimeDelta::hours(2),
        name: "Everyone".into(),
        description: Some("All users in your organization".into()),
        source_app: None,
        members: BTreeSet::new(),
        deleted: false,
    });
    org.everyone = 0;
    let mut names = BTreeSet::new();
    for g in 0..config.groups {
        let is_app_group = !org.apps.is_empty() && g % 5 == 4;
        let base = if let Some((dept, _)) = DEPARTMENTS.get(g) {
            dept.to_string()
        } else {
            match rng.random_range(0..3) {
                0 => format!(
                    "{} - {}",
                    pick(&mut rng, DEPARTMENTS).0,
                    pick(&mut rng, TEAMS)
                ),
                1 => format!("Project {}", pick(&mut rng, PROJECTS)),
                _ => format!(
                    "{} {}",
                    pick(&mut rng, TEAMS),
                    ["Admins", "Leads", "Contractors", "Readers"][rng.random_range(0..4)]
                ),
            }
        };
        let base = if is_app_group {
            format!("AD {base}")
        } else {
            base
        };
        let mut name = base.clone();
        let mut n = 2;
        while !names.insert(name.clone()) {
            name = format!("{base} {n}");
            n += 1;
        }
        let created = secs_between(&mut rng, org_start, now - days(7));
        let idx = org.groups.len() as GroupIdx;
        let group = Group {
            id: new_id(prefix::GROUP, &mut rng),
            kind: if is_app_group {
                GroupType::AppGroup
            } else {
                GroupType::OktaGroup
            },
            created,
            last_updated: secs_between(&mut rng, created, now - days(1)),
            last_membership_updated: secs_between(&mut rng, created, now - TimeDelta::hours(3)),
            description: Some(format!("{name} members")),
            name,
            source_app: is_app_group.then_some(0),
            members: BTreeSet::new(),
            deleted: false,
        };
        org.group_by_id.insert(group.id.clone(), idx);
        org.groups.push(group);
    }
    let everyone_id = org.groups[0].id.clone();
    org.group_by_id.insert(everyone_id, 0);

    // Memberships: everyone in Everyone; department group; then a skewed number of others.
    let n_groups = config.groups;
    let mean_extra = (n_groups as f64 / 2.0).min(9.0);
    for u in 0..org.users.len() {
        let mut set = BTreeSet::new();
        set.insert(0 as GroupIdx);
        if n_groups > 0 {
            let dept = org.users[u].profile.department.clone().unwrap_or_default();
            if let Some(d) = DEPARTMENTS.iter().position(|(name, _)| *name == dept)
                && d < n_groups
            {
                set.insert(d as GroupIdx + 1);
            }
            let extra = (rng.random::<f64>() * 2.0 * mean_extra) as usize;
            for _ in 0..extra {
                set.insert(skewed(&mut rng, n_groups) as GroupIdx + 1);
            }
        }
        for &g in &set {
            org.groups[g as usize].members.insert(u as UserIdx);
        }
        org.users[u].groups = set;
    }

    // App assignments: a few groups each (never Everyone), plus direct users.
    let n_users = org.users.len();
    for a in 0..org.apps.len() {
        let mut groups = BTreeMap::new();
        // Apps go to team-sized groups, not to the org's largest ones: a group counts only if
        // it holds at most 2% of the users (or 200 in a small org), so assignments stay near
        // two per user at any size.
        let max_group = (n_users / 50).max(n_users.min(200));
        if n_groups > 0 {
            for p in 0..rng.random_range(0..=3u32) {
                let Some(g) = (0..8)
                    .map(|_| rng.random_range(1..=n_groups) as GroupIdx)
                    .find(|g| org.groups[*g as usize].members.len() <= max_group)
                else {
                    continue;
                };
                groups.entry(g).or_insert(AppGroup {
                    priority: p,
                    last_updated: secs_between(&mut rng, org.apps[a].created, now - days(1)),
                });
            }
        }
        let direct = if n_users == 0 {
            0
        } else {
            rng.random_range(0..=(n_users / 400).max(n_users.min(20)))
                .min(n_users)
        };
        let mut direct_users = BTreeSet::new();
        for _ in 0..direct {
            let u = rng.random_range(0..n_users);
            if org.users[u].status != UserStatus::Deprovisioned {
                direct_users.insert(u as UserIdx);
            }
        }
        let app_created = org.apps[a].created;
        let mut users = BTreeMap::new();
        for &g in groups.keys() {
            for &u in &org.groups[g as usize].members {
                users
                    .entry(u)
                    .or_insert_with(|| (AssignmentScope::Group, ()));
            }
        }
        for &u in &direct_users {
            users.insert(u, (AssignmentScope::User, ()));
        }
        let mut assignments = BTreeMap::new();
        for (u, (scope, ())) in users {
            let user = &org.users[u as usize];
            // Deactivation removes a user's app assignments in Okta; mutate.rs does the same.
            if user.status == UserStatus::Deprovisioned {
                continue;
            }
            let created = secs_between(
                &mut rng,
                app_created.max(user.created),
                now - TimeDelta::hours(6),
            );
            let status = if user.status == UserStatus::Deprovisioned {
                "INACTIVE"
            } else if rng.random_bool(0.7) {
                "ACTIVE"
            } else {
                "PROVISIONED"
            };
            assignments.insert(
                u,
                AppUser {
                    assignment_id: new_id(prefix::APP_USER, &mut rng),
                    scope,
                    status,
                    created,
                    last_updated: created,
                    user_name: user.profile.login.clone(),
                },
            );
        }
        let app = &mut org.apps[a];
        app.groups = groups;
        app.direct_users = direct_users;
        app.users = assignments;
    }

    generate_log(config, &mut org, &mut rng, now);
    org
}

/// Default number of generated log events per day for an org of `users` users.
pub fn default_events_per_day(users: usize) -> usize {
    (users / 4).clamp(50, 5_000)
}

fn generate_log(config: &SimConfig, org: &mut Org, rng: &mut StdRng, now: DateTime<Utc>) {
    let per_day = config
        .log_events_per_day
        .unwrap_or_else(|| default_events_per_day(config.users));
    let total = per_day * config.log_days as usize;
    if total == 0 || org.users.is_empty() {
        return;
    }
    // Apps with assignees, and their assignees, for SSO events.
    let assigned: Vec<(AppIdx, Vec<UserIdx>)> = org
        .apps
        .iter()
        .enumerate()
        .filter(|(_, a)| !a.users.is_empty() && a.status == AppStatus::Active)
        .map(|(i, a)| (i as AppIdx, a.users.keys().copied().collect()))
        .collect();
    let start = now - TimeDelta::days(config.log_days as i64);
    let span_ms = (now - TimeDelta::minutes(1) - start)
        .num_milliseconds()
        .max(1);
    let mut times: Vec<i64> = (0..total).map(|_| rng.random_range(0..span_ms)).collect();
    times.sort_unstable();
    org.log.reserve(total);
    let n_users = org.users.len();
    for t in times {
        let published = start + TimeDelta::milliseconds(t);
        let p: f64 = rng.random();
        let ip = [
            10 + rng.random_range(0..3u8),
            rng.random(),
            rng.random(),
            rng.random_range(1..255),
        ];
        let (event_type, result, reason, actor, targets) = if p < 0.80 && !assigned.is_empty() {
            let (app, users) = &assigned[skewed(rng, assigned.len())];
            let u = users[rng.random_range(0..users.len())];
            let ok = rng.random_bool(0.94);
            (
                "user.authentication.sso",
                if ok { "SUCCESS" } else { "FAILURE" },
                (!ok).then_some("INVALID_CREDENTIALS".into()),
                LogRef::User(u),
                vec![LogRef::App(*app), LogRef::AppUser(*app, u)],
            )
        } else if p < 0.93 {
            let u = rng.random_range(0..n_users) as UserIdx;
            (
                "user.session.start",
                "SUCCESS",
                None,
                LogRef::User(u),
                vec![],
            )
        } else {
            let u = rng.random_range(0..n_users) as UserIdx;
            let kind = [
                "user.account.update_profile",
                "user.account.lock",
                "user.lifecycle.activate",
                "user.account.unlock",
            ][rng.random_range(0..4)];
            (kind, "SUCCESS", None, LogRef::System, vec![LogRef::User(u)])
        };
        org.log.push(LogEvent {
            uuid: uuid::Builder::from_random_bytes(rng.random()).into_uuid(),
            published,
            event_type,
            result,
            reason,
            actor,
            targets,
            ip,
        });
    }
}
