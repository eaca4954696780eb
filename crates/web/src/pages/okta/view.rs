//! Rendering of the Okta integration pages: the setup wizard (steps numbered by
//! [`SetupStep`], so the doctor's fixes point at the same steps), the doctor's checklist
//! and a connection's page. Nothing here ever renders private key material: a pending key
//! is shown by kid and thumbprint (and, for a key Steward generated, its public JWK).

use std::collections::BTreeMap;

use maud::{Markup, html};
use steward_doctor::{Report, SCOPES, SetupStep};

use crate::auth::CurrentUser;
use crate::pages::layout::csrf_field;
use steward_app::Connection;

/// A field's problem, with the setup step to fix it in.
#[derive(Clone, Debug)]
pub struct FieldError {
    pub message: String,
    pub fix: String,
    pub step: Option<SetupStep>,
}

/// A key held server-side for the wizard or a rotation.
#[derive(Clone, Debug)]
pub struct KeyInfo {
    pub kid: Option<String>,
    pub thumbprint: String,
    pub generated: bool,
    /// The public JWK to paste under "Add key" (only for a key Steward generated).
    pub public_jwk: Option<String>,
}

/// What the wizard shows besides the form.
#[derive(Debug, Default)]
pub struct Wizard {
    pub name: String,
    pub domain: String,
    pub client_id: String,
    pub key_id: String,
    pub dpop: String,
    pub errors: BTreeMap<&'static str, FieldError>,
    pub key: Option<KeyInfo>,
    pub report: Option<Report>,
    pub notice: Option<(bool, String)>,
}

fn step_head(step: SetupStep) -> Markup {
    html! {
        h2 {
            span.step-no { (step.number().unwrap_or(0)) }
            (step.title())
        }
        p.muted { (step.how()) }
    }
}

fn field_error(errors: &BTreeMap<&'static str, FieldError>, field: &str) -> Markup {
    html! {
        @if let Some(e) = errors.get(field) {
            p.field-error role="alert" {
                @if let Some(s) = e.step { strong { (s.label()) " · " (s.title()) ": " } }
                (e.message)
                span.fix { (e.fix) }
            }
        }
    }
}

/// The wizard's fields in form order: (error key = input id, label).
const WIZARD_FIELDS: [(&str, &str); 6] = [
    ("name", "Connection name"),
    ("domain", "Okta domain"),
    ("client_id", "Client ID"),
    ("dpop", "DPoP"),
    ("private_key", "Private key"),
    ("key_id", "Key ID"),
];

/// After a failed save: every field error at the top of the form, in form order, each
/// linking to its field and saying how to fix it (the same error also stays next to the
/// field).
fn error_summary(errors: &BTreeMap<&'static str, FieldError>) -> Markup {
    let listed: Vec<(&str, &str, &FieldError)> = WIZARD_FIELDS
        .iter()
        .filter_map(|&(id, label)| errors.get(id).map(|e| (id, label, e)))
        .collect();
    html! {
        @if !listed.is_empty() {
            div.error-summary #error-summary role="alert" tabindex="-1" {
                h3 {
                    @if listed.len() == 1 { "1 problem to fix before saving" }
                    @else { (listed.len()) " problems to fix before saving" }
                }
                ul {
                    @for (id, label, e) in &listed {
                        li {
                            a href={"#" (id)} { (label) } ": " (e.message)
                            @if !e.fix.is_empty() { span.summary-fix { (e.fix) } }
                        }
                    }
                }
            }
        }
    }
}

/// The doctor's checklist: one row per check, each failing one with its fix.
pub fn checklist(report: &Report) -> Markup {
    html! {
        section.card.checklist #checklist {
            h2 { "Connection test" }
            @if report.ok {
                p.notice.ok { "Every check passed." }
            } @else {
                p.notice.bad { "Some checks did not pass. Fix the first failing step, then save again." }
            }
            table {
                thead { tr { th { "Step" } th { "Check" } th { "Result" } th { "Details" } } }
                tbody {
                    @for c in &report.checks {
                        tr {
                            td { (c.step.label()) }
                            td { (c.title) br; code { (c.id) } }
                            td { span class={"status " (c.status.as_str())} { (c.status.as_str()) } }
                            td {
                                (c.detail)
                                @if let Some(fix) = &c.fix {
                                    @if c.status != steward_doctor::Status::Pass {
                                        span.fix { strong { "Fix: " } (fix) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn key_received(k: &KeyInfo) -> Markup {
    html! {
        p.notice.ok {
            @if k.generated { "Steward generated a key pair and keeps the private key. " }
            @else { "Key received and kept on the server (you don't need to paste it again). " }
            "kid " code { (k.kid.as_deref().unwrap_or("none")) }
            ", thumbprint " code { (k.thumbprint) }
        }
    }
}

/// The setup wizard.
pub fn wizard(user: &CurrentUser, w: &Wizard, connections: &[Connection]) -> Markup {
    let dpop = if w.dpop.is_empty() {
        "auto"
    } else {
        w.dpop.as_str()
    };
    html! {
        h1 { "Okta integration" }
        @if let Some((ok, msg)) = &w.notice {
            p class={"notice " (if *ok { "ok" } else { "bad" })} { (msg) }
        }
        @if !connections.is_empty() {
            section.card {
                h2 { "Connections" }
                table {
                    thead { tr { th { "Name" } th { "Domain" } th { "Client ID" } th { "Key" } th { "Created" } } }
                    tbody {
                        @for c in connections {
                            tr {
                                td { a href={"/settings/okta/" (c.name)} { (c.name) } }
                                td { (c.domain) } td { code { (c.client_id) } }
                                td { code { (c.key_id.as_deref().unwrap_or("-")) } }
                                td { (c.created.format("%Y-%m-%d")) }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(r) = &w.report { (checklist(r)) }
        form.card method="post" action="/settings/okta" {
            (csrf_field(user))
            h2 { "Connect an Okta org" }
            (error_summary(&w.errors))
            p.muted { "Follow the steps in the Okta Admin Console, in order. Steward tests every step when you save." }
            label for="name" { "Connection name" }
            input #name type="text" name="name" value=(if w.name.is_empty() { "okta" } else { &w.name });
            (field_error(&w.errors, "name"))
            ol.steps {
                li { (step_head(SetupStep::CreateApp)) }
                li {
                    (step_head(SetupStep::OktaDomain))
                    label for="domain" { "Okta domain" }
                    input #domain type="text" name="domain" value=(w.domain) placeholder="company.okta.com";
                    (field_error(&w.errors, "domain"))
                }
                li {
                    (step_head(SetupStep::ClientId))
                    label for="client_id" { "Client ID" }
                    input #client_id type="text" name="client_id" value=(w.client_id) placeholder="0oa…";
                    (field_error(&w.errors, "client_id"))
                }
                li { (step_head(SetupStep::PublicKeyAuth)) }
                li {
                    (step_head(SetupStep::Dpop))
                    label for="dpop" { "DPoP" }
                    select #dpop name="dpop" {
                        @for (v, label) in [("auto", "Detect automatically (recommended)"), ("on", "Always use DPoP"), ("off", "Never use DPoP")] {
                            option value=(v) selected[dpop == v] { (label) }
                        }
                    }
                    (field_error(&w.errors, "dpop"))
                }
                li {
                    (step_head(SetupStep::AddKey))
                    p { "Either generate the key in Okta (then copy its private key in step 7), or let Steward generate the pair and paste only the public key into Okta, so the private key never leaves this server." }
                    button.secondary type="submit" name="action" value="generate" { "Let Steward generate the key pair" }
                    @if let Some(k) = &w.key {
                        @if let Some(jwk) = &k.public_jwk {
                            p { "In Okta: Public Keys > Add key > paste this public key > Save:" }
                            pre.copy #public-jwk { (jwk) }
                        }
                    }
                }
                li {
                    (step_head(SetupStep::CopyPrivateKey))
                    @if let Some(k) = &w.key { (key_received(k)) }
                    label for="private_key" {
                        @if w.key.is_some() { "Paste a different private key (optional)" } @else { "Private key (JSON or PEM)" }
                    }
                    textarea #private_key name="private_key" autocomplete="off" spellcheck="false" {}
                    (field_error(&w.errors, "private_key"))
                    label for="key_id" { "Key ID (only for a PEM key)" }
                    input #key_id type="text" name="key_id" value=(w.key_id);
                    (field_error(&w.errors, "key_id"))
                }
                li {
                    (step_head(SetupStep::GrantScopes))
                    ul.scopes { @for s in SCOPES { li { code.copy { (s) } } } }
                }
                li {
                    (step_head(SetupStep::AdminRoles))
                    ul.scopes {
                        li { code.copy { "Read-only Administrator" } }
                        li { code.copy { "Group Membership Administrator" } }
                    }
                }
            }
            button type="submit" name="action" value="save" { "Save and test the connection" }
        }
    }
}

/// A saved connection: settings, key metadata (never the key), test, rotation, disconnect.
pub fn connection_page(
    user: &CurrentUser,
    c: &Connection,
    report: Option<&Report>,
    rotation: Option<&KeyInfo>,
    notice: Option<(bool, String)>,
) -> Markup {
    let base = format!("/settings/okta/{}", c.name);
    html! {
        p { a href="/settings/okta" { "← Okta integration" } }
        h1 { "Connection " (c.name) }
        @if let Some((ok, msg)) = &notice {
            p class={"notice " (if *ok { "ok" } else { "bad" })} { (msg) }
        }
        section.card {
            table {
                tr { th { "Okta domain" } td { (c.domain) } }
                tr { th { "Client ID" } td { code { (c.client_id) } } }
                tr { th { "Key ID" } td { code { (c.key_id.as_deref().unwrap_or("-")) } } }
                tr { th { "Key thumbprint" } td { code { (c.key_thumbprint) } } }
                tr { th { "Key added" } td { (c.key_created.format("%Y-%m-%d %H:%M UTC")) } }
                tr { th { "DPoP" } td { (c.dpop.as_str()) } }
                tr { th { "Created" } td { (c.created.format("%Y-%m-%d %H:%M UTC")) } }
            }
            p.muted { "The private key is stored encrypted and is never shown again." }
            form method="post" action={(base) "/test"} {
                (csrf_field(user))
                button type="submit" { "Test the connection" }
            }
        }
        @if let Some(r) = report { (checklist(r)) }
        section.card {
            h2 { "Rotate the key" }
            p.muted { "1. Add a new key (both keys stay active in Okta). 2. Steward tests the new key and switches to it. 3. Deactivate and delete the old key in Okta." }
            form method="post" action={(base) "/rotate"} {
                (csrf_field(user))
                @if let Some(k) = rotation {
                    (key_received(k))
                    @if let Some(jwk) = &k.public_jwk {
                        p { "In Okta: Public Keys > Add key > paste this public key > Save, then verify:" }
                        pre.copy #public-jwk { (jwk) }
                    }
                    button type="submit" name="action" value="verify" { "Verify the new key and switch" }
                    button.secondary type="submit" name="action" value="cancel" { "Cancel" }
                } @else {
                    button.secondary type="submit" name="action" value="generate" { "Let Steward generate a new key pair" }
                    label for="private_key" { "Or paste a new private key generated in Okta (JSON or PEM)" }
                    textarea #private_key name="private_key" autocomplete="off" spellcheck="false" {}
                    button type="submit" name="action" value="paste" { "Use this key" }
                }
            }
        }
        section.card {
            h2 { "Disconnect" }
            p.muted { "Deletes the connection and its private key from Steward. Delete the key or the app in Okta too." }
            form method="post" action={(base) "/disconnect"} {
                (csrf_field(user))
                button.danger type="submit" { "Disconnect and delete the key" }
            }
        }
    }
}
