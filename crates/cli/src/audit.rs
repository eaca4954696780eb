//! `steward audit verify [--json]` and `steward audit export --format jsonl|csv [--since T]`
//! on the local database. Verification needs the master key (the chain is an HMAC under a
//! key derived from it), so it runs where the key is.
//!
//! `verify --json` prints `{"ok", "events", "workspaces", "first_broken": {"workspace",
//! "seq", "reason"} | null}`; exit status 0 only when the chain is intact.

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, Utc};
use steward_app::Settings;
use steward_store::audit::{audit_csv_header, audit_csv_row};

use crate::args::{AuditArgs, AuditCommand, AuditExportArgs, AuditVerifyArgs, ExportFormat};
use crate::local;

/// `steward audit …`.
pub async fn run(a: &AuditArgs) -> anyhow::Result<ExitCode> {
    match &a.command {
        AuditCommand::Verify(v) => verify(v).await,
        AuditCommand::Export(e) => export(e).await,
    }
}

async fn verify(v: &AuditVerifyArgs) -> anyhow::Result<ExitCode> {
    let app = local::app(Settings::default()).await?;
    let result = app
        .verify_audit()
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.chain()))?;
    app.store().close().await;
    if v.json {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else if let Some(b) = &result.first_broken {
        println!(
            "The audit trail is NOT intact: workspace {}, event {}: {}.\nChecked {} events in \
             {} workspaces up to there. Restore the database from a backup taken before that \
             event, and find out who had write access to it.",
            b.workspace, b.seq, b.reason, result.events, result.workspaces
        );
    } else {
        println!(
            "The audit trail is intact: {} events in {} workspaces, every link checked.",
            result.events, result.workspaces
        );
    }
    Ok(if result.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `2026-12-01T00:00:00Z` or `2026-12-01` (midnight UTC).
fn parse_since(text: &str) -> anyhow::Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text.trim()) {
        return Ok(t.with_timezone(&Utc));
    }
    let d = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").with_context(|| {
        format!("--since {text:?}: use RFC 3339 (2026-12-01T09:00:00Z) or a date (2026-12-01)")
    })?;
    Ok(d.and_hms_opt(0, 0, 0).context("midnight exists")?.and_utc())
}

async fn export(e: &AuditExportArgs) -> anyhow::Result<ExitCode> {
    let since = e.since.as_deref().map(parse_since).transpose()?;
    let app = local::app(Settings::default()).await?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if e.format == ExportFormat::Csv {
        // Header and rows end in their own CRLF (RFC 4180): no extra newline.
        write!(out, "{}", audit_csv_header())?;
    }
    let format = e.format;
    let written = app
        .store()
        .export_audit(since, |ev| -> std::io::Result<()> {
            match format {
                ExportFormat::Jsonl => {
                    serde_json::to_writer(&mut out, ev)?;
                    writeln!(out)
                }
                ExportFormat::Csv => write!(out, "{}", audit_csv_row(ev)),
            }
        })
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("while exporting the audit trail")?;
    out.flush()?;
    drop(out);
    app.store().close().await;
    eprintln!("Exported {written} events.");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::parse_since;

    #[test]
    fn since_takes_rfc3339_or_a_date() {
        assert_eq!(
            parse_since("2026-12-01").unwrap().to_rfc3339(),
            "2026-12-01T00:00:00+00:00"
        );
        assert_eq!(
            parse_since("2026-12-01T09:30:00+01:00")
                .unwrap()
                .to_rfc3339(),
            "2026-12-01T08:30:00+00:00"
        );
        assert!(parse_since("yesterday").is_err());
    }
}
