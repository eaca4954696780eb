//! The org's objects, held compactly in memory and rendered to Okta's JSON on demand
//! (see `render`). Relations are kept in both directions as sorted index sets so that lists
//! and cursors stay cheap at 100k users and 1M memberships.

use crate::config::DpopMode;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use steward_jose::PublicJwk;

/// Index of a user in `Org::users`.
pub type UserIdx = u32;
/// Index of a group in `Org::groups`.
pub type GroupIdx = u32;
/// Index of an app in `Org::apps`.
pub type AppIdx = u32;

/// Okta's eight user statuses (reference 5.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UserStatus {
    /// Created, not activated.
    Staged,
    /// Activated, waiting for the user to set credentials.
    Provisioned,
    /// Active.
    Active,
    /// Password reset in progress.
    Recovery,
    /// Password expired.
    PasswordExpired,
    /// Locked out after failed sign-ins.
    LockedOut,
    /// Suspended by an admin.
    Suspended,
    /// Deactivated.
    Deprovisioned,
}

impl UserStatus {
    /// Every status, in Okta's documented order.
    pub const ALL: [UserStatus; 8] = [
        Self::Staged,
        Self::Provisioned,
        Self::Active,
        Self::Recovery,
        Self::PasswordExpired,
        Self::LockedOut,
        Self::Suspended,
        Self::Deprovisioned,
    ];
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Staged => "STAGED",
            Self::Provisioned => "PROVISIONED",
            Self::Active => "ACTIVE",
            Self::Recovery => "RECOVERY",
            Self::PasswordExpired => "PASSWORD_EXPIRED",
            Self::LockedOut => "LOCKED_OUT",
            Self::Suspended => "SUSPENDED",
            Self::Deprovisioned => "DEPROVISIONED",
        }
    }
    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// A user's profile: the attributes a realistic directory carries, plus any extra ones set
/// through the control API.
#[derive(Clone, Debug, Default)]
pub struct UserProfile {
    /// `firstName`.
    pub first_name: String,
    /// `lastName`.
    pub last_name: String,
    /// `login` (an email-shaped unique name).
    pub login: String,
    /// `email`.
    pub email: String,
    /// `department`.
    pub department: Option<String>,
    /// `title`.
    pub title: Option<String>,
    /// `managerId`: the manager's login-independent id (Okta's base profile attribute).
    pub manager_id: Option<String>,
    /// `manager`: the manager's display name.
    pub manager: Option<String>,
    /// `employeeNumber`.
    pub employee_number: Option<String>,
    /// Anything else (custom attributes).
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// An Okta user.
#[derive(Clone, Debug)]
pub struct User {
    /// `00u…` id.
    pub id: String,
    /// Lifecycle status.
    pub status: UserStatus,
    /// Creation time.
    pub created: DateTime<Utc>,
    /// Activation time, if activated.
    pub activated: Option<DateTime<Utc>>,
    /// Time of the last status change.
    pub status_changed: Option<DateTime<Utc>>,
    /// Last sign-in to Okta.
    pub last_login: Option<DateTime<Utc>>,
    /// Last change of the user object.
    pub last_updated: DateTime<Utc>,
    /// Last password change.
    pub password_changed: Option<DateTime<Utc>>,
    /// Profile attributes.
    pub profile: UserProfile,
    /// Groups the user belongs to (sorted).
    pub groups: BTreeSet<GroupIdx>,
    /// Deleted from the org (after deprovisioning); kept as a tombstone so indexes stay valid.
    pub deleted: bool,
}

/// Okta's group types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GroupType {
    /// Groups mastered in Okta; the only type whose membership the API can change.
    OktaGroup,
    /// Groups imported from an app (AD, LDAP, Workday…).
    AppGroup,
    /// Okta's own groups (`Everyone`).
    BuiltIn,
}

impl GroupType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OktaGroup => "OKTA_GROUP",
            Self::AppGroup => "APP_GROUP",
            Self::BuiltIn => "BUILT_IN",
        }
    }
    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::OktaGroup, Self::AppGroup, Self::BuiltIn]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

/// An Okta group.
#[derive(Clone, Debug)]
pub struct Group {
    /// `00g…` id.
    pub id: String,
    /// Type.
    pub kind: GroupType,
    /// Creation time.
    pub created: DateTime<Utc>,
    /// Last change of the group object.
    pub last_updated: DateTime<Utc>,
    /// Last change of its membership.
    pub last_membership_updated: DateTime<Utc>,
    /// `profile.name`.
    pub name: String,
    /// `profile.description`.
    pub description: Option<String>,
    /// For APP_GROUP: the app it was imported from.
    pub source_app: Option<AppIdx>,
    /// Members (sorted by user index, which is creation order).
    pub members: BTreeSet<UserIdx>,
    /// Deleted.
    pub deleted: bool,
}

/// How a user came to be assigned to an app.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssignmentScope {
    /// Assigned directly.
    User,
    /// Assigned through a group.
    Group,
}

impl AssignmentScope {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "USER",
            Self::Group => "GROUP",
        }
    }
}

/// A user's assignment to an app (`/api/v1/apps/{id}/users` entry).
#[derive(Clone, Debug)]
pub struct AppUser {
    /// The `0ua…` assignment id (appears as `appAssignmentId` in appLinks and as the
    /// `AppUser` target of SSO events).
    pub assignment_id: String,
    /// USER or GROUP.
    pub scope: AssignmentScope,
    /// Assignment status (`ACTIVE`, `PROVISIONED`, …).
    pub status: &'static str,
    /// Creation time.
    pub created: DateTime<Utc>,
    /// Last change.
    pub last_updated: DateTime<Utc>,
    /// App-specific user name.
    pub user_name: String,
}

/// A group's assignment to an app.
#[derive(Clone, Debug)]
pub struct AppGroup {
    /// Priority among the app's groups.
    pub priority: u32,
    /// Last change.
    pub last_updated: DateTime<Utc>,
}

/// App status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppStatus {
    /// Active.
    Active,
    /// Deactivated.
    Inactive,
}

impl AppStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::Inactive => "INACTIVE",
        }
    }
}

/// An app instance.
#[derive(Clone, Debug)]
pub struct App {
    /// `0oa…` id (for OAuth apps also the client id).
    pub id: String,
    /// The app's catalog name (`okta_org2org`, `salesforce`, `oidc_client`…).
    pub name: String,
    /// Display label.
    pub label: String,
    /// Status.
    pub status: AppStatus,
    /// `signOnMode`.
    pub sign_on_mode: &'static str,
    /// Creation time.
    pub created: DateTime<Utc>,
    /// Last change.
    pub last_updated: DateTime<Utc>,
    /// Assigned users (direct and through groups).
    pub users: BTreeMap<UserIdx, AppUser>,
    /// Assigned groups.
    pub groups: BTreeMap<GroupIdx, AppGroup>,
    /// Users assigned directly (a user may be both direct and via a group; Okta then shows USER).
    pub direct_users: BTreeSet<UserIdx>,
    /// Set when this app is an API Services app (OAuth service client).
    pub is_service: bool,
    /// Deleted.
    pub deleted: bool,
}

/// How an OAuth client authenticates at the token endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuthMethod {
    /// `private_key_jwt` (what Steward needs).
    PrivateKeyJwt,
    /// `client_secret_basic` (the default of a new app before switching to keys).
    ClientSecretBasic,
}

/// The OAuth side of an API Services app.
#[derive(Clone, Debug)]
pub struct OAuthClient {
    /// `0oa…` client id (equal to the app id).
    pub client_id: String,
    /// The app this client belongs to.
    pub app: AppIdx,
    /// Token endpoint authentication.
    pub auth_method: ClientAuthMethod,
    /// `application_type` (`service` for API Services apps).
    pub application_type: String,
    /// Allowed grant types.
    pub grant_types: Vec<String>,
    /// Registered public keys (up to 50) with their status (true = ACTIVE).
    pub jwks: Vec<(PublicJwk, bool)>,
    /// DPoP setting.
    pub dpop: DpopMode,
    /// Granted `okta.*` scopes.
    pub scopes: BTreeSet<String>,
    /// Assigned admin roles (`READ_ONLY_ADMIN`, …).
    pub roles: BTreeSet<String>,
}

/// An actor or target of a System Log event, kept compact.
#[derive(Clone, Debug)]
pub enum LogRef {
    /// A user.
    User(UserIdx),
    /// A group.
    Group(GroupIdx),
    /// An app instance.
    App(AppIdx),
    /// A user's assignment to an app (rendered as `AppUser`).
    AppUser(AppIdx, UserIdx),
    /// An OAuth client acting through the API (`PublicClientApp`).
    Client(String),
    /// Okta itself (`SystemPrincipal`), for changes made by rules, imports and admins.
    System,
}

/// One System Log event.
#[derive(Clone, Debug)]
pub struct LogEvent {
    /// Event uuid.
    pub uuid: uuid::Uuid,
    /// Publication time.
    pub published: DateTime<Utc>,
    /// `eventType`.
    pub event_type: &'static str,
    /// Outcome result (`SUCCESS`, `FAILURE`, `CHALLENGE`, …).
    pub result: &'static str,
    /// Outcome reason, if any.
    pub reason: Option<std::borrow::Cow<'static, str>>,
    /// Actor.
    pub actor: LogRef,
    /// Targets.
    pub targets: Vec<LogRef>,
    /// Client IP address.
    pub ip: [u8; 4],
}

/// The whole simulated org.
#[derive(Debug, Default)]
pub struct Org {
    /// Users by index (tombstones included).
    pub users: Vec<User>,
    /// Groups by index.
    pub groups: Vec<Group>,
    /// Apps by index.
    pub apps: Vec<App>,
    /// OAuth service clients by client id.
    pub clients: HashMap<String, OAuthClient>,
    /// The System Log, in persistence order (which is also `published` order here).
    pub log: Vec<LogEvent>,
    /// Id → index maps.
    pub user_by_id: HashMap<String, UserIdx>,
    /// Login (lower-case) → index.
    pub user_by_login: HashMap<String, UserIdx>,
    /// Id → index.
    pub group_by_id: HashMap<String, GroupIdx>,
    /// Id → index.
    pub app_by_id: HashMap<String, AppIdx>,
    /// The `Everyone` group.
    pub everyone: GroupIdx,
    /// The id of the default user type (`oty…`).
    pub user_type_id: String,
    /// Test-only: when set, the GROUP-scoped assignments a group membership change or a
    /// group assignment change adds or removes write no `application.user_membership.*`
    /// event (direct assignments, deactivations and reactivations still do). Off by default,
    /// as okta-sim models Okta writing one event per assignment that changes; our Okta
    /// reference (section 6) does not confirm Okta writes them for group-inherited
    /// assignments, and this switch models the case it does not.
    pub silent_group_derived_assignments: bool,
}

impl Org {
    /// Finds a live user by id or login (case-insensitive login, as Okta allows on `{idOrLogin}`).
    pub fn find_user(&self, id_or_login: &str) -> Option<UserIdx> {
        let idx = self
            .user_by_id
            .get(id_or_login)
            .or_else(|| self.user_by_login.get(&id_or_login.to_ascii_lowercase()))
            .copied()?;
        (!self.users[idx as usize].deleted).then_some(idx)
    }
    /// Finds a live group by id.
    pub fn find_group(&self, id: &str) -> Option<GroupIdx> {
        let idx = *self.group_by_id.get(id)?;
        (!self.groups[idx as usize].deleted).then_some(idx)
    }
    /// Finds a live app by id.
    pub fn find_app(&self, id: &str) -> Option<AppIdx> {
        let idx = *self.app_by_id.get(id)?;
        (!self.apps[idx as usize].deleted).then_some(idx)
    }
    /// Number of live users.
    pub fn live_users(&self) -> impl Iterator<Item = (UserIdx, &User)> {
        self.users
            .iter()
            .enumerate()
            .filter(|(_, u)| !u.deleted)
            .map(|(i, u)| (i as UserIdx, u))
    }
    /// Live groups.
    pub fn live_groups(&self) -> impl Iterator<Item = (GroupIdx, &Group)> {
        self.groups
            .iter()
            .enumerate()
            .filter(|(_, g)| !g.deleted)
            .map(|(i, g)| (i as GroupIdx, g))
    }
    /// Live apps.
    pub fn live_apps(&self) -> impl Iterator<Item = (AppIdx, &App)> {
        self.apps
            .iter()
            .enumerate()
            .filter(|(_, a)| !a.deleted)
            .map(|(i, a)| (i as AppIdx, a))
    }
}
