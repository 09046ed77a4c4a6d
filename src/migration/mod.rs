//! Migration files, pure: names, versions, parsing, the legacy checksum and the SQL splitter.
//! This module never touches a database and never imports `backend`, `ops` or `cli`.

use std::path::{Path, PathBuf};

/// The three kinds of migration file (COMPAT 2). `as_str` is the `migration_type` column value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MigrationKind {
    Versioned,
    RunsAlways,
    RunsOnChange,
}

impl MigrationKind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            MigrationKind::Versioned => "VERSIONED",
            MigrationKind::RunsAlways => "RUNS_ALWAYS",
            MigrationKind::RunsOnChange => "RUNS_ON_CHANGE",
        }
    }
}

/// A version key: the file name's version text with `_` replaced by `.` (e.g. `1.2.0`, `01`).
/// Equality and ordering follow PEP 440 release semantics (`1 == 1.0 == 01`); `as_str` keeps
/// the text as stored in the `version` column.
#[derive(Debug, Clone)]
pub struct Version {
    text: String,
}

impl Version {
    /// Parse a version text (`1`, `1.2`, `1_2`); `None` when it does not match `^\d+([._]\d+)*$`.
    #[must_use]
    pub fn parse(text: &str) -> Option<Version> {
        let _ = text;
        None
    }
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// One statement to execute, as written in the file, with the 1-based line where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sql: String,
    pub line: usize,
}

/// A migration file found on disk (name checks done, content not read yet).
#[derive(Debug, Clone)]
pub struct MigrationFile {
    pub path: PathBuf,
    pub filename: String,
    pub kind: MigrationKind,
    pub version: Option<Version>,
    /// Raw description with `_` replaced by a space (the `description` column).
    pub description: String,
}

/// Options of the SQL-aware splitter, chosen by the backend's dialect.
#[derive(Debug, Clone, Copy, Default)]
pub struct SplitOptions {
    /// PostgreSQL `$$` / `$tag$` bodies.
    pub dollar_quotes: bool,
    /// MySQL: backslash escapes inside quoted strings, `#` line comments.
    pub mysql_syntax: bool,
    /// SQLite: `CREATE TRIGGER ... BEGIN ... END` bodies keep their inner `;`.
    pub sqlite_triggers: bool,
}

/// A parsed migration file.
#[derive(Debug, Clone)]
pub struct ParsedMigration {
    pub delimiter: String,
    /// `false` when the file carries `-- jetbase: transaction=false`.
    pub transaction: bool,
    pub upgrade: Vec<Statement>,
    pub rollback: Vec<Statement>,
    /// The legacy checksum (COMPAT 3), lower-case hex.
    pub checksum: String,
    /// Human-readable warnings (e.g. a final statement without delimiter).
    pub warnings: Vec<String>,
}

/// All migration files of a project, validated and ordered.
#[derive(Debug, Clone, Default)]
pub struct MigrationSet {
    /// Versioned files in version order.
    pub versioned: Vec<MigrationFile>,
    /// RA files sorted by path.
    pub runs_always: Vec<MigrationFile>,
    /// ROC files sorted by path.
    pub runs_on_change: Vec<MigrationFile>,
}

#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Scan `dir` recursively for migration files.
///
/// # Errors
/// Invalid names, duplicate versions, unreadable folders.
pub fn scan(dir: &Path) -> Result<MigrationSet, MigrationError> {
    let _ = dir;
    Ok(MigrationSet::default())
}

/// Read and parse one migration file.
///
/// # Errors
/// Unreadable or non-UTF-8 file.
pub fn read(file: &Path, opts: SplitOptions) -> Result<ParsedMigration, MigrationError> {
    let _ = (file, opts);
    Err(MigrationError::Io {
        path: file.to_path_buf(),
        source: std::io::Error::other("not implemented"),
    })
}

// --- temporary shims until the migration branch lands ---
impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}
impl PartialEq for Version {
    fn eq(&self, o: &Self) -> bool {
        self.text == o.text
    }
}
impl Eq for Version {}
impl std::hash::Hash for Version {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.text.hash(h);
    }
}
impl PartialOrd for Version {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Version {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.text.cmp(&o.text)
    }
}
impl MigrationError {
    #[must_use]
    pub fn hint(&self) -> Option<String> {
        None
    }
}
/// # Errors
/// x
pub fn file_checksum(path: &Path) -> Result<String, MigrationError> {
    let _ = path;
    Ok(String::new())
}
