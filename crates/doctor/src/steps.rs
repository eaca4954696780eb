//! [`SetupStep`]: the admin's setup steps in Okta, numbered as the setup wizard shows them.
//!
//! Defined once here; every check and every fix refers to a step by this enum, so the numbers
//! in messages ("(step 7)") can't drift from the wizard.

use std::fmt;

use serde::{Serialize, Serializer};

/// One step of connecting Steward to an Okta org, in wizard order. [`SetupStep::HostClock`] is
/// not an Okta setting: it stands for this machine's clock, which the clock check concerns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SetupStep {
    /// 1. Create an API Services app integration.
    CreateApp,
    /// 2. Give Steward the org's Okta domain.
    OktaDomain,
    /// 3. Copy the app's Client ID.
    ClientId,
    /// 4. Set client authentication to "Public key / Private key".
    PublicKeyAuth,
    /// 5. DPoP ("Require Demonstrating Proof of Possession").
    Dpop,
    /// 6. Add a key under Public Keys.
    AddKey,
    /// 7. Copy the private key.
    CopyPrivateKey,
    /// 8. Grant the Okta API scopes.
    GrantScopes,
    /// 9. Assign the admin roles.
    AdminRoles,
    /// Not an Okta step: this machine's clock.
    HostClock,
}

impl SetupStep {
    /// The wizard's steps, in order (without [`SetupStep::HostClock`]).
    pub const WIZARD: [SetupStep; 9] = [
        SetupStep::CreateApp,
        SetupStep::OktaDomain,
        SetupStep::ClientId,
        SetupStep::PublicKeyAuth,
        SetupStep::Dpop,
        SetupStep::AddKey,
        SetupStep::CopyPrivateKey,
        SetupStep::GrantScopes,
        SetupStep::AdminRoles,
    ];

    /// The wizard number, `None` for [`SetupStep::HostClock`].
    pub fn number(self) -> Option<u8> {
        use SetupStep::*;
        Some(match self {
            CreateApp => 1,
            OktaDomain => 2,
            ClientId => 3,
            PublicKeyAuth => 4,
            Dpop => 5,
            AddKey => 6,
            CopyPrivateKey => 7,
            GrantScopes => 8,
            AdminRoles => 9,
            HostClock => return None,
        })
    }

    /// Short title.
    pub fn title(self) -> &'static str {
        use SetupStep::*;
        match self {
            CreateApp => "Create an API Services app",
            OktaDomain => "Okta domain",
            ClientId => "Client ID",
            PublicKeyAuth => "Client authentication: Public key / Private key",
            Dpop => "DPoP",
            AddKey => "Add a public key",
            CopyPrivateKey => "Copy the private key",
            GrantScopes => "Grant the Okta API scopes",
            AdminRoles => "Assign admin roles",
            HostClock => "This machine's clock",
        }
    }

    /// Where the step is done, as the wizard explains it.
    pub fn how(self) -> &'static str {
        use SetupStep::*;
        match self {
            CreateApp => {
                "Admin Console > Applications > Applications > Create App Integration > \
                 API Services, name it (e.g. Steward), Save."
            }
            OktaDomain => {
                "The org domain, e.g. company.okta.com (not company-admin.okta.com): \
                 Admin Console, top right menu."
            }
            ClientId => "The app's General tab > Client Credentials > Client ID (0oa…).",
            PublicKeyAuth => {
                "The app's General tab > Client Credentials > Edit > Client authentication: \
                 Public key / Private key."
            }
            Dpop => {
                "The app's General tab > General Settings: \"Require Demonstrating Proof of \
                 Possession (DPoP) header in token requests\" (recommended; Steward detects \
                 either setting)."
            }
            AddKey => {
                "The app's General tab > Public Keys > Add key: Generate new key, or paste \
                 the public JWK printed by `steward keygen`."
            }
            CopyPrivateKey => {
                "Right after Generate new key, copy the private key (JSON or PEM; shown only \
                 once) and save it to a file readable only by Steward."
            }
            GrantScopes => {
                "The app's Okta API Scopes tab: Grant okta.users.read, okta.apps.read, \
                 okta.groups.read, okta.groups.manage and okta.logs.read."
            }
            AdminRoles => {
                "The app's Admin roles tab > Edit assignments: Read-only Administrator and \
                 Group Membership Administrator."
            }
            HostClock => "Keep this machine's clock synchronised (NTP).",
        }
    }

    /// `step 7`, or `host clock`.
    pub fn label(self) -> String {
        match self.number() {
            Some(n) => format!("step {n}"),
            None => "host clock".to_owned(),
        }
    }
}

impl fmt::Display for SetupStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

/// JSON: the wizard number, or the string `"host-clock"` for [`SetupStep::HostClock`].
impl Serialize for SetupStep {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.number() {
            Some(n) => s.serialize_u8(n),
            None => s.serialize_str("host-clock"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wizard_is_numbered_in_order() {
        for (i, step) in SetupStep::WIZARD.iter().enumerate() {
            assert_eq!(step.number(), Some(i as u8 + 1));
        }
        assert_eq!(SetupStep::CopyPrivateKey.label(), "step 7");
        assert_eq!(
            serde_json::to_value(SetupStep::HostClock).expect("json"),
            "host-clock"
        );
        assert_eq!(
            serde_json::to_value(SetupStep::AdminRoles).expect("json"),
            9
        );
    }
}
