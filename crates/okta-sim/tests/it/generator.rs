//! The seeded generator: determinism, realism and size.

use okta_sim::SimConfig;
use okta_sim::model::{GroupType, UserStatus};

#[test]
fn same_seed_same_org_and_different_seed_differs() {
    let cfg = SimConfig {
        users: 300,
        groups: 30,
        apps: 12,
        ..SimConfig::default()
    };
    let now = chrono::Utc::now();
    let a = okta_sim::generate::generate(&cfg, now);
    let b = okta_sim::generate::generate(&cfg, now);
    let ids = |o: &okta_sim::model::Org| o.users.iter().map(|u| u.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&a), ids(&b));
    let members =
        |o: &okta_sim::model::Org| o.groups.iter().map(|g| g.members.len()).collect::<Vec<_>>();
    assert_eq!(members(&a), members(&b));
    let c = okta_sim::generate::generate(&SimConfig { seed: 2, ..cfg }, now);
    assert_ne!(ids(&a), ids(&c));
}

#[test]
fn org_is_realistic() {
    let cfg = SimConfig {
        users: 500,
        groups: 40,
        apps: 21,
        log_days: 3,
        ..SimConfig::default()
    };
    let org = okta_sim::generate::generate(&cfg, chrono::Utc::now());
    for status in UserStatus::ALL {
        assert!(
            org.users.iter().any(|u| u.status == status),
            "no user in {status:?}"
        );
    }
    for kind in [
        GroupType::OktaGroup,
        GroupType::AppGroup,
        GroupType::BuiltIn,
    ] {
        assert!(
            org.groups.iter().any(|g| g.kind == kind),
            "no {kind:?} group"
        );
    }
    assert_eq!(
        org.groups[org.everyone as usize].members.len(),
        500,
        "Everyone holds every user"
    );
    let modes: std::collections::BTreeSet<_> = org.apps.iter().map(|a| a.sign_on_mode).collect();
    assert!(modes.len() >= 5, "sign-on modes: {modes:?}");
    assert!(
        org.apps.iter().any(|a| !a.direct_users.is_empty()),
        "direct assignments"
    );
    assert!(
        org.apps.iter().any(|a| !a.groups.is_empty()),
        "group assignments"
    );
    // Skew: the largest non-Everyone group is much larger than the median one.
    let mut sizes: Vec<usize> = org.groups.iter().skip(1).map(|g| g.members.len()).collect();
    sizes.sort_unstable();
    assert!(
        sizes[sizes.len() - 1] > 3 * sizes[sizes.len() / 2].max(1),
        "sizes {sizes:?}"
    );
    // Profiles carry directory attributes and managers point at real users.
    let u = &org.users[100];
    assert!(
        u.profile.department.is_some()
            && u.profile.title.is_some()
            && u.profile.employee_number.is_some()
    );
    let mgr = u.profile.manager_id.as_ref().expect("manager");
    assert!(org.user_by_id.contains_key(mgr));
    // Both directions of membership agree.
    for (gi, g) in org.groups.iter().enumerate() {
        for &m in &g.members {
            assert!(org.users[m as usize].groups.contains(&(gi as u32)));
        }
    }
    // Deactivated users hold no app assignments, and every direct assignment is listed.
    for a in &org.apps {
        for u in a.users.keys() {
            assert_ne!(org.users[*u as usize].status, UserStatus::Deprovisioned);
        }
        assert!(a.direct_users.iter().all(|u| a.users.contains_key(u)));
    }
    // Logs are in order and carry SSO successes and failures.
    assert!(org.log.windows(2).all(|w| w[0].published <= w[1].published));
    assert!(
        org.log
            .iter()
            .any(|e| e.event_type == "user.authentication.sso" && e.result == "SUCCESS")
    );
    assert!(
        org.log
            .iter()
            .any(|e| e.event_type == "user.authentication.sso" && e.result == "FAILURE")
    );
}
