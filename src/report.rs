//! What every command returns: plain `Serialize` structs the CLI draws as tables or JSON.
//! No printing here.

use serde::Serialize;

use crate::config::Entry;
use crate::error::Problem;
use crate::history::HistoryRow;
use crate::lock::LockStatus;

pub use crate::timefmt::{rfc3339, rfc3339_str};

/// A file that was (or, in a dry run, would be) applied or rolled back.
#[derive(Debug, Clone, Serialize)]
pub struct FileRun {
    pub version: Option<String>,
    pub filename: String,
    pub migration_type: &'static str,
    pub statements: usize,
    pub checksum: String,
    pub duration_ms: f64,
    /// What the parser noticed (e.g. a final statement without a delimiter).
    pub warnings: Vec<String>,
}

/// A statement shown by a dry run.
#[derive(Debug, Clone, Serialize)]
pub struct PreviewStatement {
    pub line: usize,
    pub sql: String,
}

/// One file of a dry run.
#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    pub version: Option<String>,
    pub filename: String,
    pub migration_type: &'static str,
    pub statements: Vec<PreviewStatement>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UpgradeReport {
    pub dry_run: bool,
    pub applied: Vec<FileRun>,
    pub preview: Vec<Preview>,
    pub up_to_date: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct RollbackReport {
    pub dry_run: bool,
    pub rolled_back: Vec<FileRun>,
    pub preview: Vec<Preview>,
}

/// One line of `status`.
#[derive(Debug, Clone, Serialize)]
pub struct StatusItem {
    /// The version, or `RUNS_ALWAYS` / `RUNS_ON_CHANGE`.
    pub version: String,
    pub description: String,
    pub filename: String,
    pub migration_type: String,
    #[serde(serialize_with = "rfc3339")]
    pub applied_at: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub current: Option<String>,
    pub applied: Vec<StatusItem>,
    pub pending: Vec<StatusItem>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HistoryReport {
    pub table_exists: bool,
    pub rows: Vec<HistoryRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CurrentReport {
    pub version: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LockReport {
    pub supported: bool,
    #[serde(flatten)]
    pub status: LockStatus,
}

#[derive(Debug, Clone, Serialize)]
pub struct UnlockReport {
    pub was_locked: bool,
}

/// `validate-checksums`, `validate-files`, `fix*`: what was found and what was repaired.
#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    /// `checksums`, `files` or both.
    pub checks: Vec<&'static str>,
    pub problems: Vec<Problem>,
    pub fixed: bool,
    pub nothing_applied: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct InitReport {
    pub dir: String,
    pub created: Vec<String>,
    pub kept: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NewReport {
    pub filename: String,
    pub path: String,
}

/// `make-migrations`: what differs between the database and the models, and the file.
#[derive(Debug, Clone, Serialize)]
pub struct MakeReport {
    /// One line per change (empty: the database matches the models).
    pub changes: Vec<String>,
    /// A change drops a table or a column.
    pub destructive: bool,
    /// Likely renames, with the flag that says so.
    pub hints: Vec<String>,
    /// The loader's warnings (Python-side defaults, ...).
    pub warnings: Vec<String>,
    /// The model files and folders read.
    pub models: Vec<String>,
    /// Pending migration files counted as applied.
    pub pending: Vec<String>,
    pub dialect: String,
    /// Statements of the upgrade section.
    pub statements: usize,
    pub filename: Option<String>,
    pub path: Option<String>,
    /// The file's text (`--dry-run`).
    pub content: Option<String>,
    pub written: bool,
    /// `--check`: nothing is written; differences are exit code 3.
    pub check: bool,
    /// Changes `--no-destructive` left out of the file.
    pub left_out: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConfigReport {
    pub project_dir: String,
    pub migrations_dir: String,
    pub backend: String,
    pub entries: Vec<Entry>,
    /// What the connection layer (`jetbase::db`) resolves from the environment.
    pub pool: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WaitReport {
    pub url: String,
    pub attempts: u32,
    pub waited_ms: f64,
}
