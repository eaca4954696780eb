//! An app instance as `/api/v1/apps` returns it, shaped per `signOnMode` the way Okta's
//! management API spec (and so Okta's SDKs, which pick a typed model by `signOnMode`) describes
//! it: `settings.app` with the sign-on template's fields, `settings.signOn` for SAML and
//! auto-login apps, `settings.oauthClient` and `credentials.oauthClient` for OIDC, a credential
//! `scheme` for password apps and a signing key for federated ones. Every value is derived from
//! the app's id, name and label, so an app renders the same way on every call.

use super::t;

mod federation;
use crate::model::*;
use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

/// Catalog apps that come with provisioning, and the features an admin typically enables.
const PROVISIONING: &[&str] = &[
    "salesforce",
    "slack",
    "github_enterprise",
    "zoomus",
    "boxnet",
    "atlassian",
    "google",
    "office365",
    "dropbox_for_business",
];

/// SHA-256 of `purpose:id`, base64url (43 characters, the shape of Okta's key ids).
fn derived(purpose: &str, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA256, format!("{purpose}:{id}").as_bytes()))
}

/// A small deterministic number for picking among variants.
fn pick(id: &str, n: usize) -> usize {
    digest(&SHA256, id.as_bytes())
        .as_ref()
        .first()
        .map_or(0, |b| *b as usize % n.max(1))
}

/// The app's own host, from its label: `Legacy Payroll 2` → `legacy-payroll-2.example.com`.
fn host(a: &App) -> String {
    let mut slug = String::new();
    for c in a.label.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    let slug = if slug.is_empty() {
        a.name.as_str()
    } else {
        slug
    };
    format!("{}.example.com", slug.replace('_', "-"))
}

/// The name of the app's dashboard link (`visibility.appLinks`).
fn link_name(a: &App) -> String {
    match a.sign_on_mode {
        "BOOKMARK" => "login".into(),
        _ => format!("{}_link", a.name),
    }
}

fn user_name_template() -> Value {
    json!({"template": "${source.login}", "type": "BUILT_IN"})
}

fn credentials(a: &App, client: Option<&OAuthClient>) -> Value {
    let signing = json!({"kid": derived("signing", &a.id)});
    match a.sign_on_mode {
        "SAML_2_0" | "SAML_1_1" | "WS_FEDERATION" => {
            json!({"userNameTemplate": user_name_template(), "signing": signing})
        }
        "OPENID_CONNECT" => {
            let method = match client.map(|c| c.auth_method) {
                Some(ClientAuthMethod::PrivateKeyJwt) => "private_key_jwt",
                Some(ClientAuthMethod::ClientSecretBasic) | None => "client_secret_basic",
            };
            json!({
                "userNameTemplate": user_name_template(),
                "signing": signing,
                "oauthClient": {
                    "autoKeyRotation": true,
                    "client_id": a.id,
                    "token_endpoint_auth_method": method,
                    "pkce_required": client.is_none(),
                }
            })
        }
        "BROWSER_PLUGIN" | "SECURE_PASSWORD_STORE" | "BASIC_AUTH" | "AUTO_LOGIN" => json!({
            "scheme": "EDIT_USERNAME_AND_PASSWORD",
            "userNameTemplate": user_name_template(),
            "revealPassword": false,
            "signing": {}
        }),
        _ => json!({"userNameTemplate": user_name_template(), "signing": {}}),
    }
}

fn swa_app(a: &App, host: &str) -> Value {
    let url = format!("https://{host}/login");
    let mut app = json!({
        "buttonField": "button[type=submit]",
        "passwordField": "#password",
        "usernameField": "#username",
        "url": url,
        "loginUrlRegex": null,
    });
    if let (true, Some(m)) = (a.name == "template_swa3field", app.as_object_mut()) {
        for (k, v) in [
            ("targetURL", url.as_str()),
            ("buttonSelector", "button[type=submit]"),
            ("passwordSelector", "#password"),
            ("userNameSelector", "#username"),
            ("extraFieldSelector", "#company"),
            ("extraFieldValue", "acme"),
        ] {
            m.insert(k.into(), v.into());
        }
    }
    app
}

fn oauth_settings(a: &App, host: &str, client: Option<&OAuthClient>) -> Value {
    let common = json!({
        "consent_method": "REQUIRED",
        "issuer_mode": "DYNAMIC",
        "wildcard_redirect": "DISABLED",
        "participate_slo": false,
        "idp_initiated_login": {"mode": "DISABLED", "default_scope": []},
    });
    let specific = match client {
        Some(c) => {
            let keys: Vec<Value> = c
                .jwks
                .iter()
                .map(|(k, active)| {
                    let mut v = k.to_json();
                    if let Some(m) = v.as_object_mut() {
                        let kid = k.kid().unwrap_or_default();
                        let id = format!("pks{}", &derived("jwk", kid)[..17]);
                        m.insert("id".into(), id.into());
                        let status = if *active { "ACTIVE" } else { "INACTIVE" };
                        m.insert("status".into(), status.into());
                        m.entry("use").or_insert_with(|| "sig".into());
                        m.insert("created".into(), t(a.created));
                        m.insert("lastUpdated".into(), t(a.last_updated));
                    }
                    v
                })
                .collect();
            json!({
                "client_uri": null,
                "logo_uri": null,
                "redirect_uris": [],
                "response_types": ["token"],
                "grant_types": c.grant_types,
                "application_type": c.application_type,
                "dpop_bound_access_tokens": c.dpop.is_required(),
                "jwks": {"keys": keys},
            })
        }
        None => json!({
            "client_uri": format!("https://{host}"),
            "logo_uri": format!("https://{host}/logo.png"),
            "redirect_uris": [format!("https://{host}/authorization-code/callback")],
            "post_logout_redirect_uris": [format!("https://{host}/")],
            "initiate_login_uri": format!("https://{host}/login"),
            "response_types": ["code"],
            "grant_types": ["authorization_code", "refresh_token"],
            "application_type": "web",
            "dpop_bound_access_tokens": false,
            "refresh_token": {"rotation_type": "ROTATE", "leeway": 30},
        }),
    };
    let mut out = common;
    if let (Some(o), Value::Object(s)) = (out.as_object_mut(), specific) {
        o.extend(s);
    }
    out
}

fn settings(a: &App, client: Option<&OAuthClient>) -> Value {
    let host = host(a);
    let login = format!("https://{host}/login");
    let (app, sign_on) = match a.sign_on_mode {
        "SAML_2_0" => (json!({}), Some(federation::saml_sign_on(a, &host))),
        "WS_FEDERATION" => (federation::ws_fed_app(a, &host), None),
        "SAML_1_1" => (
            federation::saml11_app(&host),
            Some(federation::saml11_sign_on()),
        ),
        "BROWSER_PLUGIN" => (swa_app(a, &host), None),
        "SECURE_PASSWORD_STORE" => (
            json!({
                "url": login,
                "usernameField": "username",
                "passwordField": "password",
                "optionalField1": null,
                "optionalField1Value": null,
                "optionalField2": null,
                "optionalField2Value": null,
                "optionalField3": null,
                "optionalField3Value": null,
            }),
            None,
        ),
        "BASIC_AUTH" => (
            json!({"url": format!("https://{host}/"), "authURL": login}),
            None,
        ),
        "BOOKMARK" => (
            json!({"requestIntegration": false, "url": format!("https://{host}/")}),
            None,
        ),
        "AUTO_LOGIN" => (
            json!({}),
            Some(json!({"loginUrl": login, "redirectUrl": null})),
        ),
        _ => (json!({}), None),
    };
    let mut s = json!({
        "app": app,
        "notifications": {"vpn": {"network": {"connection": "DISABLED", "include": [], "exclude": []}, "message": null, "helpUrl": null}},
        "manualProvisioning": false,
        "implicitAssignment": false,
        "notes": {"admin": null, "enduser": null},
    });
    if let Some(m) = s.as_object_mut() {
        if let Some(so) = sign_on {
            m.insert("signOn".into(), so);
        }
        if a.sign_on_mode == "OPENID_CONNECT" {
            m.insert("oauthClient".into(), oauth_settings(a, &host, client));
        }
    }
    s
}

fn features(a: &App) -> Value {
    if PROVISIONING.contains(&a.name.as_str()) {
        json!([
            "IMPORT_NEW_USERS",
            "PUSH_NEW_USERS",
            "PUSH_PROFILE_UPDATES",
            "PUSH_USER_DEACTIVATION",
            "REACTIVATE_USERS",
            "GROUP_PUSH"
        ])
    } else {
        json!([])
    }
}

fn links(a: &App, base: &str) -> Value {
    let href = format!("{base}/api/v1/apps/{}", a.id);
    let lifecycle = match a.status {
        AppStatus::Active => "deactivate",
        AppStatus::Inactive => "activate",
    };
    let mut links = json!({
        "self": {"href": href},
        "users": {"href": format!("{href}/users")},
        "groups": {"href": format!("{href}/groups")},
        (lifecycle): {"href": format!("{href}/lifecycle/{lifecycle}")},
        "logo": [{"name": "medium", "href": format!("{base}/assets/img/logos/default.png"), "type": "image/png"}],
        "help": {
            "href": format!("{base}/app/{}/{}/setup/help/{}/external-doc", a.name, a.id, a.sign_on_mode),
            "type": "text/html"
        },
    });
    if let Some(m) = links.as_object_mut() {
        if !a.is_service {
            let app_link = json!([{
                "name": link_name(a),
                "href": format!("{base}/home/{}/{}/72", a.name, a.id),
                "type": "text/html"
            }]);
            m.insert("appLinks".into(), app_link);
        }
        let metadata = match a.sign_on_mode {
            "SAML_2_0" | "SAML_1_1" => Some("sso/saml/metadata"),
            "WS_FEDERATION" => Some("sso/wsfed/metadata"),
            _ => None,
        };
        if let Some(path) = metadata {
            let v = json!({"href": format!("{href}/{path}"), "type": "application/xml"});
            m.insert("metadata".into(), v);
        }
    }
    links
}

/// An app as `/api/v1/apps` returns it. `client` is the app's OAuth client (API Services apps).
pub fn app(a: &App, base: &str, client: Option<&OAuthClient>) -> Value {
    let app_links = if a.is_service {
        json!({})
    } else {
        json!({link_name(a): true})
    };
    let mut v = json!({
        "id": a.id,
        "orn": format!("orn:okta:idp:00o1sim:apps:{}:{}", a.name, a.id),
        "name": a.name,
        "label": a.label,
        "status": a.status.as_str(),
        "created": t(a.created),
        "lastUpdated": t(a.last_updated),
        "accessibility": {"selfService": false, "errorRedirectUrl": null, "loginRedirectUrl": null},
        "visibility": {
            "autoLaunch": false,
            "autoSubmitToolbar": false,
            "hide": {"iOS": a.is_service, "web": a.is_service},
            "appLinks": app_links
        },
        "features": features(a),
        "signOnMode": a.sign_on_mode,
        "credentials": credentials(a, client),
        "settings": settings(a, client),
        "licensing": {"seatCount": 0},
        "_links": links(a, base),
    });
    if let (Some(m), "OPENID_CONNECT") = (v.as_object_mut(), a.sign_on_mode) {
        m.insert("profile".into(), json!({}));
    }
    v
}
