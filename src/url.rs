//! `DatabaseUrl`: SQLAlchemy-style database URLs parsed into one type whose `Display` and
//! `Debug` never show the password. Pure: no I/O beyond path joining.

use std::path::{Path, PathBuf};

/// The database engines jetbase knows about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    Sqlite,
    Postgres,
    MySql,
    ClickHouse,
    Snowflake,
    Databricks,
}

/// Where a SQLite database lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqliteTarget {
    Memory,
    File(PathBuf),
}

/// A parsed database URL. The password is private and never printed.
#[derive(Clone)]
pub struct DatabaseUrl {
    pub kind: BackendKind,
}

impl DatabaseUrl {
    /// # Errors
    /// Unknown scheme or malformed URL.
    pub fn parse(text: &str) -> Result<DatabaseUrl, UrlError> {
        let _ = text;
        Err(UrlError::Malformed {
            reason: "not implemented".into(),
        })
    }
    /// The SQLite target, with a relative path resolved against `base`.
    #[must_use]
    pub fn sqlite_target(&self, base: &Path) -> Option<SqliteTarget> {
        let _ = base;
        None
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.kind)
    }
}
impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UrlError {
    #[error("malformed database URL: {reason}")]
    Malformed { reason: String },
}
impl UrlError {
    #[must_use]
    pub fn hint(&self) -> Option<String> {
        None
    }
}
