//! The sign-on settings of federated apps (SAML 2.0, SAML 1.1 and WS-Federation), built from the
//! app's host and id.

use super::pick;
use crate::model::App;
use serde_json::{Value, json};

const ID_FORMATS: [&str; 3] = [
    "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
    "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
];
const PASSWORD_TRANSPORT: &str =
    "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport";
const ATTR_UNSPECIFIED: &str = "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified";

/// `settings.signOn` of a SAML 2.0 app: signed responses and assertions (SHA-256), the ACS URL on
/// the app's host, and the usual profile attributes plus a groups statement.
pub(super) fn saml_sign_on(a: &App, host: &str) -> Value {
    let acs = format!("https://{host}/sso/saml2/acs");
    json!({
        "defaultRelayState": "",
        "ssoAcsUrl": acs,
        "ssoAcsUrlOverride": null,
        "idpIssuer": "http://www.okta.com/${org.externalKey}",
        "audience": format!("https://{host}/saml2/metadata"),
        "audienceOverride": null,
        "recipient": acs,
        "recipientOverride": null,
        "destination": acs,
        "destinationOverride": null,
        "subjectNameIdTemplate": "${user.userName}",
        "subjectNameIdFormat": ID_FORMATS[pick(&a.id, ID_FORMATS.len())],
        "responseSigned": true,
        "assertionSigned": true,
        "signatureAlgorithm": "RSA_SHA256",
        "digestAlgorithm": "SHA256",
        "honorForceAuthn": true,
        "authnContextClassRef": PASSWORD_TRANSPORT,
        "spIssuer": null,
        "requestCompressed": false,
        "allowMultipleAcsEndpoints": false,
        "acsEndpoints": [],
        "samlAssertionLifetimeSeconds": 3600,
        "attributeStatements": [
            {"type": "EXPRESSION", "name": "email", "namespace": ATTR_UNSPECIFIED, "values": ["user.email"]},
            {"type": "EXPRESSION", "name": "firstName", "namespace": ATTR_UNSPECIFIED, "values": ["user.firstName"]},
            {"type": "EXPRESSION", "name": "lastName", "namespace": ATTR_UNSPECIFIED, "values": ["user.lastName"]},
            {"type": "GROUP", "name": "groups", "namespace": ATTR_UNSPECIFIED, "filterType": "REGEX", "filterValue": ".*"}
        ],
        "inlineHooks": [],
        "slo": {"enabled": false},
        "participateSlo": {"enabled": false},
        "assertionEncryption": {"enabled": false},
        "configuredAttributeStatements": []
    })
}

/// `settings.app` of a WS-Federation app.
pub(super) fn ws_fed_app(a: &App, host: &str) -> Value {
    json!({
        "attributeStatements": null,
        "audienceRestriction": format!("urn:federation:{host}"),
        "authnContextClassRef": PASSWORD_TRANSPORT,
        "groupFilter": null,
        "groupName": null,
        "groupValueFormat": "windowsDomainQualifiedName",
        "nameIDFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
        "realm": format!("urn:okta:app:{}", a.id),
        "siteURL": format!("https://{host}"),
        "usernameAttribute": "username",
        "wReplyOverride": false,
        "wReplyURL": format!("https://{host}/adfs/ls/"),
    })
}

/// `settings.app` of a SAML 1.1 template app.
pub(super) fn saml11_app(host: &str) -> Value {
    json!({
        "audienceRestriction": format!("https://{host}"),
        "postBackURL": format!("https://{host}/saml11/acs"),
        "recipient": format!("https://{host}/saml11/acs"),
        "siteURL": format!("https://{host}"),
        "nameIDFormat": ID_FORMATS[1],
        "authnContextClassRef": PASSWORD_TRANSPORT,
        "forceAuthn": false,
    })
}

/// `settings.signOn` of a SAML 1.1 app: the overrides, none set.
pub(super) fn saml11_sign_on() -> Value {
    json!({
        "defaultRelayState": null,
        "ssoAcsUrlOverride": null,
        "audienceOverride": null,
        "recipientOverride": null,
    })
}
