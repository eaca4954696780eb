//! The tamper-evident audit trail, and the key date of a connection.
//!
//! # The audit trail
//!
//! Every state-changing action writes exactly one [`AuditEvent`], in the transaction of the
//! change itself: the store's change methods take a [`NewAuditEvent`] and append it through
//! `AuditTx` before they commit, so a change that fails writes no event and an append that
//! fails rolls the change back. Events that are the change themselves (a failed login) use
//! [`Store::append_audit`]. The actor is structured ([`Actor`]: a kind from a closed list and
//! an id); its name is only for display, so a user cannot pass for another by choosing a name.
//!
//! ## The chain
//!
//! Events are chained per workspace. A workspace's events are numbered `seq` = 1, 2, 3, …
//! without gaps; each stores the hash of the one before (`prev_hash`; for seq 1, 32 zero
//! bytes) and its own `hash` = HMAC-SHA256 under the audit key over the encoding below. One
//! row per workspace in `audit_heads` holds the last seq and hash, so a truncated tail shows
//! too. Database triggers refuse `UPDATE` and `DELETE` of events (and `TRUNCATE` on
//! PostgreSQL) and any head that moves back; the chain catches what is done with the
//! triggers dropped. Without the key nobody can forge a hash, so a row altered, inserted,
//! removed or moved shows at [`Store::verify_audit`].
//!
//! **Key.** `K = HKDF-SHA256(salt = empty, IKM = the 32-byte master key,
//! info = "steward audit chain v1", L = 32)` (RFC 5869). See [`AuditKey`].
//!
//! **Encoding (version 1).** The HMAC input is the concatenation of, in this order:
//!
//! | field | encoding |
//! |---|---|
//! | the tag `"steward audit event v1"` | string |
//! | workspace id | i64 |
//! | seq | i64 |
//! | at: milliseconds since 1970-01-01 UTC | i64 |
//! | actor kind (`account`, `api_token`, `cli`, `system`, `okta`) | string |
//! | actor id | string |
//! | actor name | string |
//! | action | string |
//! | target kind | string |
//! | target id | string |
//! | details: the stored JSON text, byte for byte | string |
//! | request id | optional string |
//! | prev_hash: 32 raw bytes (the hex column decoded) | 32 bytes, no prefix |
//!
//! where *i64* is 8 bytes big-endian two's complement; *string* is its UTF-8 byte length
//! as 8 bytes big-endian unsigned, then the bytes; *optional string* is one byte `0x00`
//! when absent, or `0x01` followed by the string. Length prefixes make the encoding
//! injective: no two different events give the same bytes. `hash` and `prev_hash` are
//! stored and exported as 64 lower-case hex digits.
//!
//! `details` is written as canonical JSON: object keys sorted by their UTF-8 bytes, no
//! whitespace, strings escaped as `serde_json` does (only `"`, `\` and control characters;
//! the rest as UTF-8), numbers as `serde_json` prints them (integers in decimal). A verifier
//! that reads the database hashes the column as stored and needs no JSON at all; one that
//! reads an export re-serializes `details` by these rules.
//!
//! ## Concurrency
//!
//! Appends to one workspace serialize on its head row: the append's first statement is
//! `UPDATE audit_heads … RETURNING`, which on PostgreSQL locks the row until commit; on
//! SQLite write transactions are `BEGIN IMMEDIATE` and serialize anyway. The head row and
//! the event commit together, so `verify` can read heads first and walk events up to them
//! without a long transaction, while appends go on.

use std::fmt::{self, Write as _};
use std::str::FromStr;
use std::sync::Arc;

use aws_lc_rs::{hkdf, hmac};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{Postgres, Row as _, Sqlite, Transaction};
use steward_inventory::{ConnectionId, StoreError};
use zeroize::ZeroizeOnDrop;

use crate::connections::WorkspaceId;
use crate::db::{Backend, BeginWrite, RowExt, Store, db_err, on_pool};
use crate::secret::MasterKey;
use crate::time::{from_ms, ms, opt_from_ms};

/// HKDF `info` of the audit key: changing it changes every hash.
const KEY_INFO: &[u8] = b"steward audit chain v1";
/// First field of every hashed encoding (the encoding's version).
const ENCODING_TAG: &str = "steward audit event v1";
/// `prev_hash` of a workspace's first event.
const GENESIS: [u8; 32] = [0; 32];
/// Rows per page when `export` walks the trail.
const PAGE: i64 = 4096;
/// Seqs per range that `verify` streams on one connection.
const VERIFY_RANGE: i64 = 65_536;
/// Ranges `verify` checks at once.
const VERIFY_PARALLEL: usize = 4;
/// How far from its place `verify` looks for the seq a misplaced event was sealed as.
const REORDER_WINDOW: i64 = 16;

/// Who acted: the kind of principal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// A signed-in web account.
    Account,
    /// An API token (`Bearer stw_…`).
    ApiToken,
    /// The command line (`steward …`), with or without an account.
    Cli,
    /// Steward itself (scheduler, sync, migrations).
    System,
    /// Okta, as seen through a connection (e.g. changes a sync learns of).
    Okta,
}

impl ActorKind {
    /// The stored and hashed name: `account`, `api_token`, `cli`, `system`, `okta`.
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::Account => "account",
            ActorKind::ApiToken => "api_token",
            ActorKind::Cli => "cli",
            ActorKind::System => "system",
            ActorKind::Okta => "okta",
        }
    }
}

impl fmt::Display for ActorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not an [`ActorKind`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownActorKind(pub String);

impl fmt::Display for UnknownActorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown actor kind {:?} (expected account, api_token, cli, system or okta)",
            self.0
        )
    }
}

impl std::error::Error for UnknownActorKind {}

impl FromStr for ActorKind {
    type Err = UnknownActorKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "account" => ActorKind::Account,
            "api_token" => ActorKind::ApiToken,
            "cli" => ActorKind::Cli,
            "system" => ActorKind::System,
            "okta" => ActorKind::Okta,
            other => return Err(UnknownActorKind(other.to_owned())),
        })
    }
}

/// Who acted. `kind` and `id` identify the principal; `name` is its display name at the
/// time (a user name, a token's label), recorded but never used to identify.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The kind of principal.
    pub kind: ActorKind,
    /// Its id: an account or token id, a component, an OAuth client id.
    pub id: String,
    /// Display name.
    pub name: String,
}

impl Actor {
    /// A web account (its database id and user name).
    pub fn account(id: i64, username: &str) -> Actor {
        Actor {
            kind: ActorKind::Account,
            id: id.to_string(),
            name: username.to_owned(),
        }
    }

    /// An API token (its database id and label).
    pub fn api_token(id: i64, name: &str) -> Actor {
        Actor {
            kind: ActorKind::ApiToken,
            id: id.to_string(),
            name: name.to_owned(),
        }
    }

    /// The command line: id is the account it acted as, or `local` (someone with access to
    /// the host and the database); `name` says who (e.g. the OS user).
    pub fn cli(account_id: Option<i64>, name: &str) -> Actor {
        Actor {
            kind: ActorKind::Cli,
            id: account_id.map_or_else(|| "local".to_owned(), |id| id.to_string()),
            name: name.to_owned(),
        }
    }

    /// Steward itself; `component` (`scheduler`, `sync`, …) is both id and name.
    pub fn system(component: &str) -> Actor {
        Actor {
            kind: ActorKind::System,
            id: component.to_owned(),
            name: component.to_owned(),
        }
    }

    /// Okta, identified by the OAuth client id of the connection that saw the change.
    pub fn okta(client_id: &str) -> Actor {
        Actor {
            kind: ActorKind::Okta,
            id: client_id.to_owned(),
            name: "Okta".to_owned(),
        }
    }
}

/// What an event is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// `account`, `session`, `api_token`, `connection`, …
    pub kind: String,
    /// Its id (for an object created by the change, the store fills it in).
    pub id: String,
}

impl Target {
    /// A target of `kind` with `id`.
    pub fn new(kind: impl Into<String>, id: impl Into<String>) -> Target {
        Target {
            kind: kind.into(),
            id: id.into(),
        }
    }
}

/// An event to append. Holds no secrets: callers put names and figures in `details`,
/// never passwords, tokens or keys.
#[derive(Clone, Debug)]
pub struct NewAuditEvent {
    /// The workspace whose chain it joins (it must exist).
    pub workspace: WorkspaceId,
    /// When (stored to the millisecond).
    pub at: DateTime<Utc>,
    /// Who.
    pub actor: Actor,
    /// Dotted verb, e.g. `account.create`.
    pub action: String,
    /// On what.
    pub target: Target,
    /// Anything else worth keeping, as JSON.
    pub details: serde_json::Value,
    /// The HTTP request id, when the change came through the web.
    pub request_id: Option<String>,
}

/// A stored event.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditEvent {
    /// Position in its workspace's chain, from 1.
    pub seq: i64,
    /// The workspace.
    pub workspace: WorkspaceId,
    /// When (millisecond precision).
    pub at: DateTime<Utc>,
    /// Who.
    pub actor: Actor,
    /// Dotted verb.
    pub action: String,
    /// On what.
    pub target: Target,
    /// Details.
    pub details: serde_json::Value,
    /// HTTP request id, if any.
    pub request_id: Option<String>,
    /// Hex hash of the event before (64 zeros for seq 1).
    pub prev_hash: String,
    /// Hex HMAC-SHA256 of this event (see the module doc).
    pub hash: String,
}

/// The key of the audit chain, derived from the master key (see the module doc). The
/// derived bytes are zeroized on drop (aws-lc cleanses its own copy inside the HMAC key
/// when that is freed); `Debug` prints no key material.
#[derive(ZeroizeOnDrop)]
pub struct AuditKey {
    bytes: [u8; 32],
    #[zeroize(skip)]
    hmac: hmac::Key,
}

impl fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuditKey(<hidden>)")
    }
}

impl AuditKey {
    /// `HKDF-SHA256(salt = empty, IKM = master, info = "steward audit chain v1", L = 32)`.
    pub fn derive(master: &MasterKey) -> AuditKey {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, &[]).extract(master.bytes());
        let mut bytes = [0u8; 32];
        prk.expand(&[KEY_INFO], hmac::HMAC_SHA256)
            .and_then(|okm| okm.fill(&mut bytes))
            // Only fails for an output longer than 255 hash lengths; 32 bytes is one.
            .expect("HKDF-SHA256 expands to 32 bytes");
        let hmac = hmac::Key::new(hmac::HMAC_SHA256, &bytes);
        AuditKey { bytes, hmac }
    }

    /// The event's HMAC over the version-1 encoding of the module doc.
    fn mac(&self, f: &Fields<'_>, prev: &[u8; 32]) -> [u8; 32] {
        let mut ctx = hmac::Context::with_key(&self.hmac);
        ctx.update(&(ENCODING_TAG.len() as u64).to_be_bytes());
        ctx.update(ENCODING_TAG.as_bytes());
        for n in [f.workspace, f.seq, f.at] {
            ctx.update(&n.to_be_bytes());
        }
        for s in [
            f.actor_kind,
            f.actor_id,
            f.actor_name,
            f.action,
            f.target_kind,
            f.target_id,
            f.details,
        ] {
            ctx.update(&(s.len() as u64).to_be_bytes());
            ctx.update(s.as_bytes());
        }
        match f.request_id {
            None => ctx.update(&[0]),
            Some(r) => {
                ctx.update(&[1]);
                ctx.update(&(r.len() as u64).to_be_bytes());
                ctx.update(r.as_bytes());
            }
        }
        ctx.update(prev);
        let tag = ctx.sign();
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }
}

/// The hashed fields of one event, borrowed (from a row while verifying).
struct Fields<'a> {
    workspace: i64,
    seq: i64,
    at: i64,
    actor_kind: &'a str,
    actor_id: &'a str,
    actor_name: &'a str,
    action: &'a str,
    target_kind: &'a str,
    target_id: &'a str,
    details: &'a str,
    request_id: Option<&'a str>,
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn to_hex(bytes: &[u8; 32]) -> [u8; 64] {
    let mut out = [0u8; 64];
    for (i, b) in bytes.iter().enumerate() {
        out[2 * i] = HEX[usize::from(b >> 4)];
        out[2 * i + 1] = HEX[usize::from(b & 0x0f)];
    }
    out
}

fn hex_string(bytes: &[u8; 32]) -> String {
    // Hex digits are ASCII.
    to_hex(bytes).iter().map(|&b| char::from(b)).collect()
}

/// Lower-case hex of exactly 32 bytes; `None` for anything else.
fn from_hex(text: &str) -> Option<[u8; 32]> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        out[i] = (digit(pair[0])? << 4) | digit(pair[1])?;
    }
    Some(out)
}

/// Canonical JSON (see the module doc): sorted keys, no whitespace.
fn canonical_json(value: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical_json(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(v, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Filters of [`Store::list_audit`]; every field set must match.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    /// Only this workspace.
    pub workspace: Option<WorkspaceId>,
    /// The actor's id or name, exactly.
    pub actor: Option<String>,
    /// The actor's kind.
    pub actor_kind: Option<ActorKind>,
    /// The action, exactly; a prefix when it ends with `.` (kept) or `*` (dropped):
    /// `account.` and `account.*` both match `account.create`.
    pub action: Option<String>,
    /// `kind:id`, or an id of any kind.
    pub target: Option<String>,
    /// At or after.
    pub since: Option<DateTime<Utc>>,
    /// Before.
    pub until: Option<DateTime<Utc>>,
    /// Paging: only events with a lower seq (use with `workspace`; pass the last seq seen).
    pub before_seq: Option<i64>,
    /// At most this many (1 to 1,000; 0 or less means 100).
    pub limit: i64,
}

/// What [`Store::verify_audit`] found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditVerification {
    /// Every chain is intact.
    pub ok: bool,
    /// Events checked (up to the first broken link).
    pub events: u64,
    /// Workspaces whose chain was walked.
    pub workspaces: u64,
    /// The first broken or missing link, if any.
    pub first_broken: Option<BrokenLink>,
}

/// Where a chain breaks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BrokenLink {
    /// The workspace.
    pub workspace: WorkspaceId,
    /// The event at fault (for a gap, the first missing seq).
    pub seq: i64,
    /// What is wrong, e.g. `hash mismatch (row altered)`, `missing event (seq 4..6 gap)`.
    pub reason: String,
}

/// Failure of [`Store::export_audit`]: reading the trail, or the sink.
#[derive(Debug)]
pub enum ExportError<E> {
    /// The database failed or a row does not decode.
    Store(StoreError),
    /// The sink returned an error; the export stopped there.
    Sink(E),
}

impl<E: fmt::Display> fmt::Display for ExportError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExportError::Store(e) => write!(f, "reading the audit trail: {e}"),
            ExportError::Sink(e) => write!(f, "writing the audit export: {e}"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for ExportError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ExportError::Store(e) => Some(e),
            ExportError::Sink(e) => Some(e),
        }
    }
}

impl<E> From<StoreError> for ExportError<E> {
    fn from(e: StoreError) -> Self {
        ExportError::Store(e)
    }
}

/// The CSV header of [`audit_csv_row`], with its CRLF.
pub fn audit_csv_header() -> &'static str {
    "workspace,seq,at,actor_kind,actor_id,actor_name,action,target_kind,target_id,details,\
     request_id,prev_hash,hash\r\n"
}

/// One event as a CSV record (RFC 4180), ending in CRLF. Cells holding a comma, quote, CR
/// or LF are quoted with inner quotes doubled. A cell that starts with `=`, `+`, `-`, `@`,
/// tab or CR gets a leading `'`, so a spreadsheet shows it as text instead of running it as
/// a formula (user names and details are attacker-chosen).
pub fn audit_csv_row(e: &AuditEvent) -> String {
    let mut out = String::with_capacity(256);
    let at = e.at.to_rfc3339_opts(SecondsFormat::Millis, true);
    let details = {
        let mut s = String::new();
        canonical_json(&e.details, &mut s);
        s
    };
    let cells: [&str; 13] = [
        &e.workspace.to_string(),
        &e.seq.to_string(),
        &at,
        e.actor.kind.as_str(),
        &e.actor.id,
        &e.actor.name,
        &e.action,
        &e.target.kind,
        &e.target.id,
        &details,
        e.request_id.as_deref().unwrap_or(""),
        &e.prev_hash,
        &e.hash,
    ];
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        csv_cell(cell, &mut out);
    }
    out.push_str("\r\n");
    out
}

fn csv_cell(cell: &str, out: &mut String) {
    let formula = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quote = formula || cell.contains([',', '"', '\r', '\n']);
    if quote {
        out.push('"');
    }
    if formula {
        out.push('\'');
    }
    for c in cell.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    if quote {
        out.push('"');
    }
}

/// An event checked and encoded for storage.
struct Prepared<'a> {
    e: &'a NewAuditEvent,
    at: i64,
    details: String,
}

impl<'a> Prepared<'a> {
    fn new(e: &'a NewAuditEvent) -> Result<Prepared<'a>, StoreError> {
        if e.action.trim().is_empty() {
            return Err(StoreError::Database(
                "invalid audit event: the action is empty".into(),
            ));
        }
        let mut details = String::new();
        canonical_json(&e.details, &mut details);
        Ok(Prepared {
            e,
            at: ms(e.at),
            details,
        })
    }

    fn fields(&self, seq: i64) -> Fields<'_> {
        Fields {
            workspace: self.e.workspace,
            seq,
            at: self.at,
            actor_kind: self.e.actor.kind.as_str(),
            actor_id: &self.e.actor.id,
            actor_name: &self.e.actor.name,
            action: &self.e.action,
            target_kind: &self.e.target.kind,
            target_id: &self.e.target.id,
            details: &self.details,
            request_id: self.e.request_id.as_deref(),
        }
    }

    fn event(&self, seq: i64, prev: &[u8; 32], hash: &[u8; 32]) -> Result<AuditEvent, StoreError> {
        Ok(AuditEvent {
            seq,
            workspace: self.e.workspace,
            at: from_ms(self.at)?,
            actor: self.e.actor.clone(),
            action: self.e.action.clone(),
            target: self.e.target.clone(),
            details: self.e.details.clone(),
            request_id: self.e.request_id.clone(),
            prev_hash: hex_string(prev),
            hash: hex_string(hash),
        })
    }
}

/// Appends audit events inside a transaction the caller owns, so the event commits (or
/// rolls back) with the change it records. The transaction must be a write transaction
/// (`begin_write`): on SQLite that serializes appends; on PostgreSQL the head row's lock
/// does.
pub(crate) trait AuditTx {
    /// Appends `e` to its workspace's chain; the returned event has its seq and hashes.
    async fn append_audit(
        &mut self,
        key: &AuditKey,
        e: &NewAuditEvent,
    ) -> Result<AuditEvent, StoreError>;

    /// Appends `e` and commits; on any failure rolls the whole transaction back (the
    /// change with it) and returns the error.
    async fn commit_audited(
        self,
        key: &AuditKey,
        e: &NewAuditEvent,
    ) -> Result<AuditEvent, StoreError>;
}

const ADVANCE_HEAD: &str =
    "UPDATE audit_heads SET seq = seq + 1 WHERE workspace_id = $1 RETURNING seq, hash";
const INSERT_EVENT: &str = "INSERT INTO audit_events (workspace_id, seq, at, actor_kind, \
     actor_id, actor_name, action, target_kind, target_id, details, request_id, prev_hash, \
     hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";

fn is_foreign_key_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_foreign_key_violation())
}

macro_rules! impl_audit_tx {
    ($db:ty) => {
        impl AuditTx for Transaction<'_, $db> {
            async fn append_audit(
                &mut self,
                key: &AuditKey,
                e: &NewAuditEvent,
            ) -> Result<AuditEvent, StoreError> {
                let prepared = Prepared::new(e)?;
                let ws = e.workspace;
                let mut head = sqlx::query(ADVANCE_HEAD)
                    .bind(ws)
                    .fetch_optional(&mut **self)
                    .await
                    .map_err(db_err)?;
                if head.is_none() {
                    // The workspace's first event. A concurrent first append may insert the
                    // head first (PostgreSQL waits for it, then does nothing): advance it then.
                    let inserted = sqlx::query(
                        "INSERT INTO audit_heads (workspace_id, seq, hash) VALUES ($1, 0, $2) \
                         ON CONFLICT (workspace_id) DO NOTHING",
                    )
                    .bind(ws)
                    .bind(hex_string(&GENESIS))
                    .execute(&mut **self)
                    .await;
                    if let Err(err) = inserted {
                        return Err(if is_foreign_key_violation(&err) {
                            StoreError::NotFound(format!("workspace {ws}"))
                        } else {
                            db_err(err)
                        });
                    }
                    head = sqlx::query(ADVANCE_HEAD)
                        .bind(ws)
                        .fetch_optional(&mut **self)
                        .await
                        .map_err(db_err)?;
                }
                let head = head.ok_or_else(|| {
                    StoreError::Database(format!("audit chain head of workspace {ws} vanished"))
                })?;
                let seq = head.int("seq")?;
                let prev_text = head.text("hash")?;
                let prev = from_hex(&prev_text).ok_or_else(|| {
                    StoreError::Corrupt(format!("audit chain head of workspace {ws}: bad hash"))
                })?;
                let hash = key.mac(&prepared.fields(seq), &prev);
                let hash_text = hex_string(&hash);
                sqlx::query(INSERT_EVENT)
                    .bind(ws)
                    .bind(seq)
                    .bind(prepared.at)
                    .bind(e.actor.kind.as_str())
                    .bind(&e.actor.id)
                    .bind(&e.actor.name)
                    .bind(&e.action)
                    .bind(&e.target.kind)
                    .bind(&e.target.id)
                    .bind(&prepared.details)
                    .bind(e.request_id.as_deref())
                    .bind(&prev_text)
                    .bind(&hash_text)
                    .execute(&mut **self)
                    .await
                    .map_err(db_err)?;
                sqlx::query("UPDATE audit_heads SET hash = $2 WHERE workspace_id = $1")
                    .bind(ws)
                    .bind(&hash_text)
                    .execute(&mut **self)
                    .await
                    .map_err(db_err)?;
                prepared.event(seq, &prev, &hash)
            }

            async fn commit_audited(
                mut self,
                key: &AuditKey,
                e: &NewAuditEvent,
            ) -> Result<AuditEvent, StoreError> {
                match self.append_audit(key, e).await {
                    Ok(event) => {
                        self.commit().await.map_err(db_err)?;
                        Ok(event)
                    }
                    Err(err) => {
                        // Rolled back now rather than on drop: a dropped transaction is
                        // rolled back only when its connection is next used.
                        let _ = self.rollback().await;
                        Err(err)
                    }
                }
            }
        }
    };
}
impl_audit_tx!(Sqlite);
impl_audit_tx!(Postgres);

const EVENT_COLUMNS: &str = "workspace_id, seq, at, actor_kind, actor_id, actor_name, action, \
     target_kind, target_id, details, request_id, prev_hash, hash";

fn event_from_row(r: &impl RowExt) -> Result<AuditEvent, StoreError> {
    let details = r.text("details")?;
    Ok(AuditEvent {
        seq: r.int("seq")?,
        workspace: r.int("workspace_id")?,
        at: from_ms(r.int("at")?)?,
        actor: Actor {
            kind: r
                .text("actor_kind")?
                .parse()
                .map_err(|e: UnknownActorKind| StoreError::Corrupt(e.to_string()))?,
            id: r.text("actor_id")?,
            name: r.text("actor_name")?,
        },
        action: r.text("action")?,
        target: Target {
            kind: r.text("target_kind")?,
            id: r.text("target_id")?,
        },
        details: serde_json::from_str(&details)
            .map_err(|e| StoreError::Corrupt(format!("audit event details: {e}")))?,
        request_id: r.opt_text("request_id")?,
        prev_hash: r.text("prev_hash")?,
        hash: r.text("hash")?,
    })
}

/// Walks one workspace's chain in seq order (see [`Store::verify_audit`]).
struct ChainWalk<'k> {
    key: &'k AuditKey,
    workspace: WorkspaceId,
    /// The seq the next event must have.
    next_seq: i64,
    /// The hash of the last event checked.
    prev: [u8; 32],
}

impl<'k> ChainWalk<'k> {
    fn new(key: &'k AuditKey, workspace: WorkspaceId) -> ChainWalk<'k> {
        ChainWalk {
            key,
            workspace,
            next_seq: 1,
            prev: GENESIS,
        }
    }

    fn broken(&self, seq: i64, reason: String) -> BrokenLink {
        BrokenLink {
            workspace: self.workspace,
            seq,
            reason,
        }
    }

    /// Checks the next stored event: its `fields` (with `prev` = its stored `prev_hash`
    /// decoded) and its stored hash text.
    fn check(
        &mut self,
        fields: &mut Fields<'_>,
        stored_prev: &str,
        stored_hash: &str,
    ) -> Result<(), BrokenLink> {
        let seq = fields.seq;
        if seq != self.next_seq {
            // Rows come in seq order and seq is unique, so a different seq is a later one.
            return Err(self.broken(
                self.next_seq,
                format!("missing event (seq {}..{} gap)", self.next_seq, seq - 1),
            ));
        }
        let Some(prev) = from_hex(stored_prev) else {
            return Err(self.broken(seq, "prev_hash is not a 64-digit hex hash".into()));
        };
        let mac = self.key.mac(fields, &prev);
        if to_hex(&mac) != stored_hash.as_bytes() {
            // Sealed under another seq? Then rows were moved, not edited.
            let sealed_as = (seq - REORDER_WINDOW..=seq + REORDER_WINDOW)
                .filter(|&s| s != seq && s > 0)
                .find(|&s| {
                    fields.seq = s;
                    to_hex(&self.key.mac(fields, &prev)) == stored_hash.as_bytes()
                });
            fields.seq = seq;
            return Err(match sealed_as {
                Some(s) => self.broken(seq, format!("sequence out of order (sealed as seq {s})")),
                None => self.broken(seq, "hash mismatch (row altered)".into()),
            });
        }
        if prev != self.prev {
            return Err(self.broken(seq, "prev_hash does not match the previous event".into()));
        }
        self.prev = mac;
        self.next_seq += 1;
        Ok(())
    }

    /// Events checked so far.
    fn count(&self) -> i64 {
        self.next_seq - 1
    }

    /// Checks the end of the walk against the head read before it.
    fn finish(&self, head_seq: i64, head_hash: &str) -> Result<(), BrokenLink> {
        let found = self.count();
        if found != head_seq {
            return Err(self.broken(
                found + 1,
                format!("chain head says {head_seq} events, found {found}"),
            ));
        }
        if found > 0 && to_hex(&self.prev) != head_hash.as_bytes() {
            return Err(self.broken(
                found,
                "chain head hash does not match the last event".into(),
            ));
        }
        Ok(())
    }
}

/// What one range of [`Store::verify_audit`] found.
#[derive(Default)]
struct RangeCheck {
    /// The first event's seq and stored `prev_hash`, if the range has events.
    first: Option<(i64, [u8; 32])>,
    /// The last good event's seq and hash.
    last: (i64, [u8; 32]),
    /// Events that passed.
    events: u64,
    /// The first broken link inside the range.
    broken: Option<BrokenLink>,
}

/// A bind value of a query built at run time ([`Store::list_audit`]).
enum Arg {
    Int(i64),
    Text(String),
}

impl Store {
    /// Uses `key` to seal audit events. Without one, [`Store::append_audit`], the change
    /// methods that record an event, and [`Store::verify_audit`] fail.
    pub fn with_audit_key(mut self, key: AuditKey) -> Store {
        self.audit_key = Some(Arc::new(key));
        self
    }

    /// The audit key, or the error that says how to set one.
    pub(crate) fn audit_key(&self) -> Result<Arc<AuditKey>, StoreError> {
        self.audit_key.clone().ok_or_else(|| {
            StoreError::Database(
                "no audit key: audited changes need Store::with_audit_key(AuditKey::derive(\
                 &master_key))"
                    .into(),
            )
        })
    }

    /// Appends an event in a transaction of its own, for events that are the change
    /// themselves (a failed login). Changes to stored objects pass their event to the
    /// method making the change instead.
    pub async fn append_audit(&self, e: &NewAuditEvent) -> Result<AuditEvent, StoreError> {
        let key = self.audit_key()?;
        on_pool!(self, p => p.begin_write().await?.commit_audited(&key, e).await)
    }

    /// Appends `events` (all of one workspace) in one transaction, chained by the same code
    /// as [`Store::append_audit`] but inserted with multi-row statements. For benchmarks
    /// that need a long valid chain quickly; real changes append one event each.
    #[doc(hidden)]
    pub async fn append_audit_bulk(&self, events: &[NewAuditEvent]) -> Result<(), StoreError> {
        // Rows per INSERT. PostgreSQL: 13,000 parameters (limit 65,535). SQLite: 50; longer
        // statements got slower per row (measured: 1,000 rows per statement ran at 4k
        // rows/s, 50 at 27k).
        let rows_per = match self.backend() {
            Backend::Sqlite => 50,
            Backend::Postgres => 1_000,
        };
        let key = self.audit_key()?;
        let Some(first) = events.first() else {
            return Ok(());
        };
        let ws = first.workspace;
        if events.iter().any(|e| e.workspace != ws) {
            return Err(StoreError::Database(
                "append_audit_bulk: events of several workspaces".into(),
            ));
        }
        let prepared = events
            .iter()
            .map(Prepared::new)
            .collect::<Result<Vec<_>, _>>()?;
        let n = events.len() as i64;
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query(
                "INSERT INTO audit_heads (workspace_id, seq, hash) VALUES ($1, 0, $2) \
                 ON CONFLICT (workspace_id) DO NOTHING",
            )
            .bind(ws)
            .bind(hex_string(&GENESIS))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            let head = sqlx::query(
                "UPDATE audit_heads SET seq = seq + $2 WHERE workspace_id = $1 RETURNING seq, hash",
            )
            .bind(ws)
            .bind(n)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
            let mut seq = head.int("seq")? - n;
            let mut prev = from_hex(&head.text("hash")?)
                .ok_or_else(|| StoreError::Corrupt("audit chain head: bad hash".into()))?;
            for chunk in prepared.chunks(rows_per) {
                let mut sql = String::from(INSERT_EVENT.split(" VALUES ").next().unwrap_or(""));
                sql.push_str(" VALUES ");
                let mut rows = Vec::with_capacity(chunk.len());
                for (i, pe) in chunk.iter().enumerate() {
                    seq += 1;
                    let hash = key.mac(&pe.fields(seq), &prev);
                    rows.push((seq, hex_string(&prev), hex_string(&hash)));
                    prev = hash;
                    if i > 0 {
                        sql.push(',');
                    }
                    sql.push('(');
                    for c in 0..13 {
                        let _ = write!(sql, "{}${}", if c > 0 { "," } else { "" }, i * 13 + c + 1);
                    }
                    sql.push(')');
                }
                let mut q = sqlx::query(&sql);
                for (pe, (seq, prev_hex, hash_hex)) in chunk.iter().zip(&rows) {
                    q = q
                        .bind(ws)
                        .bind(*seq)
                        .bind(pe.at)
                        .bind(pe.e.actor.kind.as_str())
                        .bind(&pe.e.actor.id)
                        .bind(&pe.e.actor.name)
                        .bind(&pe.e.action)
                        .bind(&pe.e.target.kind)
                        .bind(&pe.e.target.id)
                        .bind(&pe.details)
                        .bind(pe.e.request_id.as_deref())
                        .bind(prev_hex)
                        .bind(hash_hex);
                }
                q.execute(&mut *tx).await.map_err(db_err)?;
            }
            sqlx::query("UPDATE audit_heads SET hash = $2 WHERE workspace_id = $1")
                .bind(ws)
                .bind(hex_string(&prev))
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            tx.commit().await.map_err(db_err)?;
        });
        Ok(())
    }

    /// Events matching `f`, newest first (by time, then seq).
    pub async fn list_audit(&self, f: &AuditFilter) -> Result<Vec<AuditEvent>, StoreError> {
        let mut conds: Vec<String> = Vec::new();
        let mut args: Vec<Arg> = Vec::new();
        let mut arg = |conds: &mut Vec<String>, cond: &str, values: Vec<Arg>| {
            let mut cond = cond.to_owned();
            for (i, v) in values.into_iter().enumerate() {
                args.push(v);
                cond = cond.replace(&format!("${}", i + 1), &format!("${}", args.len()));
            }
            conds.push(cond);
        };
        if let Some(ws) = f.workspace {
            arg(&mut conds, "workspace_id = $1", vec![Arg::Int(ws)]);
        }
        if let Some(a) = &f.actor {
            arg(
                &mut conds,
                "(actor_id = $1 OR actor_name = $1)",
                vec![Arg::Text(a.clone())],
            );
        }
        if let Some(k) = f.actor_kind {
            arg(
                &mut conds,
                "actor_kind = $1",
                vec![Arg::Text(k.as_str().into())],
            );
        }
        if let Some(action) = &f.action {
            let prefix = action
                .strip_suffix('*')
                .or_else(|| action.ends_with('.').then_some(action.as_str()));
            match prefix {
                Some(prefix) => arg(
                    &mut conds,
                    "substr(action, 1, CAST($1 AS INTEGER)) = $2",
                    vec![
                        Arg::Int(prefix.chars().count() as i64),
                        Arg::Text(prefix.to_owned()),
                    ],
                ),
                None => arg(&mut conds, "action = $1", vec![Arg::Text(action.clone())]),
            }
        }
        if let Some(t) = &f.target {
            match t.split_once(':') {
                Some((kind, id)) => arg(
                    &mut conds,
                    "((target_kind = $1 AND target_id = $2) OR target_id = $3)",
                    vec![
                        Arg::Text(kind.into()),
                        Arg::Text(id.into()),
                        Arg::Text(t.clone()),
                    ],
                ),
                None => arg(&mut conds, "target_id = $1", vec![Arg::Text(t.clone())]),
            }
        }
        if let Some(since) = f.since {
            arg(&mut conds, "at >= $1", vec![Arg::Int(ms(since))]);
        }
        if let Some(until) = f.until {
            arg(&mut conds, "at < $1", vec![Arg::Int(ms(until))]);
        }
        if let Some(before) = f.before_seq {
            arg(&mut conds, "seq < $1", vec![Arg::Int(before)]);
        }
        let limit = if f.limit <= 0 { 100 } else { f.limit.min(1000) };
        let mut sql = format!("SELECT {EVENT_COLUMNS} FROM audit_events");
        for (i, c) in conds.iter().enumerate() {
            sql.push_str(if i == 0 { " WHERE " } else { " AND " });
            sql.push_str(c);
        }
        let _ = write!(
            sql,
            " ORDER BY at DESC, seq DESC, workspace_id LIMIT {limit}"
        );
        on_pool!(self, p => {
            let mut q = sqlx::query(&sql);
            for a in &args {
                q = match a {
                    Arg::Int(i) => q.bind(*i),
                    Arg::Text(s) => q.bind(s.as_str()),
                };
            }
            let rows = q.fetch_all(p).await.map_err(db_err)?;
            rows.iter().map(event_from_row).collect()
        })
    }

    /// Walks every workspace's chain and reports the first broken or missing link: an
    /// event altered, moved, inserted or removed, or a head that does not match the end of
    /// its chain. Each chain is checked up to the head read at the start, so appends may go
    /// on meanwhile. The walk streams ranges of 65,536 seqs, up to 4 at once on their own
    /// connections (each event's hash covers its stored `prev_hash`, so ranges verify
    /// independently and only their boundaries are linked in order): a long trail costs
    /// time but not memory.
    pub async fn verify_audit(&self) -> Result<AuditVerification, StoreError> {
        self.verify_audit_in_ranges(VERIFY_RANGE).await
    }

    /// [`Store::verify_audit`] with ranges of `range` seqs (tests use tiny ones to cover the
    /// links between ranges).
    #[doc(hidden)]
    pub async fn verify_audit_in_ranges(
        &self,
        range: i64,
    ) -> Result<AuditVerification, StoreError> {
        use futures::{StreamExt as _, TryStreamExt as _};
        let key = self.audit_key()?;
        let key: &AuditKey = &key;
        let range = range.max(1);
        let mut result = AuditVerification {
            ok: true,
            events: 0,
            workspaces: 0,
            first_broken: None,
        };
        let broken = on_pool!(self, p => {
            let heads = sqlx::query(
                "SELECT workspace_id, seq, hash FROM audit_heads ORDER BY workspace_id",
            )
            .fetch_all(p)
            .await
            .map_err(db_err)?;
            let mut broken = None;
            for head in &heads {
                let ws = head.int("workspace_id")?;
                let head_seq = head.int("seq")?;
                let head_hash = head.text("hash")?;
                result.workspaces += 1;
                let ranges = (0..)
                    .map(|i| 1 + i * range)
                    .take_while(|&from| from <= head_seq)
                    .map(|from| (from, (from + range - 1).min(head_seq)));
                let mut checked = futures::stream::iter(ranges)
                    .map(|(from, to)| async move {
                        let mut rows = sqlx::query(
                            "SELECT seq, at, actor_kind, actor_id, actor_name, action, \
                             target_kind, target_id, details, request_id, prev_hash, hash \
                             FROM audit_events WHERE workspace_id = $1 AND seq >= $2 \
                             AND seq <= $3 ORDER BY seq",
                        )
                        .bind(ws)
                        .bind(from)
                        .bind(to)
                        .fetch(p);
                        let mut out = RangeCheck::default();
                        let mut walk: Option<ChainWalk<'_>> = None;
                        while let Some(r) = rows.try_next().await.map_err(db_err)? {
                            let text = |i: usize| -> Result<&str, StoreError> {
                                r.try_get::<&str, _>(i)
                                    .map_err(|e| StoreError::Corrupt(format!("audit event: {e}")))
                            };
                            let int = |i: usize| -> Result<i64, StoreError> {
                                r.try_get::<i64, _>(i)
                                    .map_err(|e| StoreError::Corrupt(format!("audit event: {e}")))
                            };
                            let mut fields = Fields {
                                workspace: ws,
                                seq: int(0)?,
                                at: int(1)?,
                                actor_kind: text(2)?,
                                actor_id: text(3)?,
                                actor_name: text(4)?,
                                action: text(5)?,
                                target_kind: text(6)?,
                                target_id: text(7)?,
                                details: text(8)?,
                                request_id: r.try_get::<Option<&str>, _>(9).map_err(|e| {
                                    StoreError::Corrupt(format!("audit event: {e}"))
                                })?,
                            };
                            let (stored_prev, stored_hash) = (text(10)?, text(11)?);
                            let w = walk.get_or_insert_with(|| {
                                // The range's first event links to the one before the range:
                                // checked when the ranges are joined.
                                let prev = from_hex(stored_prev).unwrap_or(GENESIS);
                                out.first = Some((fields.seq, prev));
                                let mut w = ChainWalk::new(key, ws);
                                w.next_seq = fields.seq;
                                w.prev = prev;
                                w
                            });
                            if let Err(b) = w.check(&mut fields, stored_prev, stored_hash) {
                                out.broken = Some(b);
                                break;
                            }
                            out.events += 1;
                        }
                        if let Some(w) = &walk {
                            out.last = (w.next_seq - 1, w.prev);
                        }
                        Ok::<_, StoreError>(out)
                    })
                    .buffered(VERIFY_PARALLEL);
                // Joins the ranges in order, as one walk would have seen them.
                let mut walk = ChainWalk::new(key, ws);
                let mut chain_broken = None;
                while let Some(rc) = checked.try_next().await? {
                    result.events += rc.events;
                    let Some((first_seq, first_prev)) = rc.first else {
                        continue;
                    };
                    if first_seq != walk.next_seq {
                        chain_broken = Some(walk.broken(
                            walk.next_seq,
                            format!("missing event (seq {}..{} gap)", walk.next_seq, first_seq - 1),
                        ));
                        break;
                    }
                    let first_failed = rc.broken.as_ref().is_some_and(|b| b.seq == first_seq);
                    if !first_failed && first_prev != walk.prev {
                        chain_broken = Some(walk.broken(
                            first_seq,
                            "prev_hash does not match the previous event".into(),
                        ));
                        break;
                    }
                    if rc.broken.is_some() {
                        chain_broken = rc.broken;
                        break;
                    }
                    walk.next_seq = rc.last.0 + 1;
                    walk.prev = rc.last.1;
                }
                drop(checked);
                if chain_broken.is_some() {
                    broken = chain_broken;
                    break;
                }
                if let Err(b) = walk.finish(head_seq, &head_hash) {
                    broken = Some(b);
                    break;
                }
                // Events past the head: appended since it was read (then the head has
                // moved past them by now: they commit together), or inserted by hand.
                let beyond = sqlx::query(
                    "SELECT MIN(seq) AS seq FROM audit_events WHERE workspace_id = $1 AND seq > $2",
                )
                .bind(ws)
                .bind(head_seq)
                .fetch_one(p)
                .await
                .map_err(db_err)?
                .opt_int("seq")?;
                if let Some(seq) = beyond {
                    let head_now = sqlx::query("SELECT seq FROM audit_heads WHERE workspace_id = $1")
                        .bind(ws)
                        .fetch_optional(p)
                        .await
                        .map_err(db_err)?
                        .map(|r| r.int("seq"))
                        .transpose()?;
                    if head_now.is_none_or(|h| h < seq) {
                        broken = Some(walk.broken(
                            seq,
                            format!("event beyond the chain head (head says {head_seq} events)"),
                        ));
                        break;
                    }
                }
            }
            if broken.is_none() {
                // Events of a workspace without a head (only possible with the foreign key
                // off or the head deleted by hand).
                let orphan = sqlx::query(
                    "SELECT workspace_id, MIN(seq) AS seq FROM audit_events e WHERE NOT EXISTS \
                     (SELECT 1 FROM audit_heads h WHERE h.workspace_id = e.workspace_id) \
                     GROUP BY workspace_id ORDER BY workspace_id LIMIT 1",
                )
                .fetch_optional(p)
                .await
                .map_err(db_err)?;
                if let Some(r) = orphan {
                    broken = Some(BrokenLink {
                        workspace: r.int("workspace_id")?,
                        seq: r.int("seq")?,
                        reason: "chain head missing".into(),
                    });
                }
            }
            broken
        });
        result.ok = broken.is_none();
        result.first_broken = broken;
        Ok(result)
    }

    /// Streams events at or after `since` (every event when `None`) to `sink`, in seq order
    /// within each workspace, workspaces by id, in pages of 4,096 (never the whole trail in
    /// memory). Returns how many were written. The caller formats them: one
    /// `serde_json::to_string(event)` per line for JSON Lines, or [`audit_csv_header`] and
    /// [`audit_csv_row`].
    pub async fn export_audit<E>(
        &self,
        since: Option<DateTime<Utc>>,
        mut sink: impl FnMut(&AuditEvent) -> Result<(), E>,
    ) -> Result<u64, ExportError<E>> {
        let since = since.map_or(i64::MIN, ms);
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM audit_events \
             WHERE (workspace_id > $1 OR (workspace_id = $1 AND seq > $2)) AND at >= $3 \
             ORDER BY workspace_id, seq LIMIT $4"
        );
        let mut after: (i64, i64) = (i64::MIN, 0);
        let mut written = 0u64;
        loop {
            let page: Vec<AuditEvent> = on_pool!(self, p => {
                let rows = sqlx::query(&sql)
                    .bind(after.0)
                    .bind(after.1)
                    .bind(since)
                    .bind(PAGE)
                    .fetch_all(p)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(event_from_row).collect::<Result<_, StoreError>>()?
            });
            for e in &page {
                sink(e).map_err(ExportError::Sink)?;
                written += 1;
            }
            match page.last() {
                Some(last) if page.len() as i64 == PAGE => after = (last.workspace, last.seq),
                _ => return Ok(written),
            }
        }
    }

    /// When connection `id`'s current key was set, if recorded.
    pub async fn connection_key_created(
        &self,
        id: ConnectionId,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        on_pool!(self, p => {
            let row = sqlx::query("SELECT key_created_at FROM okta_connections WHERE id = $1")
                .bind(id)
                .fetch_optional(p)
                .await
                .map_err(db_err)?;
            match row {
                Some(r) => opt_from_ms(r.opt_int("key_created_at")?),
                None => Ok(None),
            }
        })
    }
}
