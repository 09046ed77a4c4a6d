//! The `jetbase_migrations` table, written once over `Backend` + `Dialect`: read the history,
//! create the tables, record applied, rolled-back and repaired files. No printing.

use crate::backend::{Backend, DbError, Value};
use crate::migration::MigrationKind;

pub const MIGRATIONS_TABLE: &str = "jetbase_migrations";
pub const LOCK_TABLE: &str = "jetbase_lock";

/// One row of `jetbase_migrations`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HistoryRow {
    pub order_executed: i64,
    pub version: Option<String>,
    pub description: String,
    pub filename: String,
    pub migration_type: String,
    pub applied_at: String,
    pub checksum: String,
}

impl HistoryRow {
    #[must_use]
    pub fn kind(&self) -> Option<MigrationKind> {
        match self.migration_type.as_str() {
            "VERSIONED" => Some(MigrationKind::Versioned),
            "RUNS_ALWAYS" => Some(MigrationKind::RunsAlways),
            "RUNS_ON_CHANGE" => Some(MigrationKind::RunsOnChange),
            _ => None,
        }
    }

    /// What the original shows in its Version column: the version, or the repeatable's type.
    #[must_use]
    pub fn display_version(&self) -> &str {
        match (&self.version, self.kind()) {
            (Some(v), _) if !v.is_empty() => v,
            _ => &self.migration_type,
        }
    }
}

/// The whole history, oldest first (by `applied_at`, then `order_executed`).
#[derive(Debug, Clone, Default)]
pub struct History {
    pub rows: Vec<HistoryRow>,
}

impl History {
    /// Versioned rows, oldest first.
    pub fn versioned(&self) -> impl DoubleEndedIterator<Item = &HistoryRow> {
        self.rows
            .iter()
            .filter(|r| r.kind() == Some(MigrationKind::Versioned))
    }

    /// The latest applied versioned row: the one with the greatest `applied_at`, as the
    /// original's `fetch_latest_versioned_migration`.
    #[must_use]
    pub fn latest_versioned(&self) -> Option<&HistoryRow> {
        self.versioned().next_back()
    }

    /// Rows of a repeatable kind.
    pub fn repeatables(&self) -> impl Iterator<Item = &HistoryRow> {
        self.rows.iter().filter(|r| {
            matches!(
                r.kind(),
                Some(MigrationKind::RunsAlways | MigrationKind::RunsOnChange)
            )
        })
    }

    /// The row for a repeatable file name of `kind`.
    #[must_use]
    pub fn repeatable(&self, filename: &str, kind: MigrationKind) -> Option<&HistoryRow> {
        self.rows
            .iter()
            .find(|r| r.filename == filename && r.kind() == Some(kind))
    }
}

/// True when `table` exists.
///
/// # Errors
/// The query fails.
pub async fn table_exists(db: &mut dyn Backend, table: &str) -> Result<bool, DbError> {
    let sql = db.dialect().table_exists();
    let rows = db.query(&sql, &[Value::from(table)]).await?;
    Ok(rows
        .first()
        .and_then(|r| r.first())
        .is_some_and(Value::as_bool))
}

/// Read the history; a database without the table has an empty one (never created here).
///
/// # Errors
/// The query fails.
pub async fn read(db: &mut dyn Backend) -> Result<History, DbError> {
    if !table_exists(db, MIGRATIONS_TABLE).await? {
        return Ok(History::default());
    }
    let sql = db.dialect().select_history();
    let rows = db.query(&sql, &[]).await?;
    let text = |v: Option<&Value>| v.and_then(Value::as_text);
    Ok(History {
        rows: rows
            .iter()
            .map(|r| HistoryRow {
                order_executed: r.first().and_then(Value::as_i64).unwrap_or_default(),
                version: text(r.get(1)),
                description: text(r.get(2)).unwrap_or_default(),
                filename: text(r.get(3)).unwrap_or_default(),
                migration_type: text(r.get(4)).unwrap_or_default(),
                applied_at: text(r.get(5)).unwrap_or_default(),
                checksum: text(r.get(6)).unwrap_or_default(),
            })
            .collect(),
    })
}

/// Create both tables and the lock row when missing, as the original does before writing.
///
/// # Errors
/// A statement fails.
pub async fn ensure_tables(db: &mut dyn Backend) -> Result<(), DbError> {
    let d = db.dialect();
    let (m, l, init) = (
        d.create_migrations_table(),
        d.create_lock_table(),
        d.init_lock_row(),
    );
    let lock_table = db.capabilities().lock_table;
    db.execute(&m, &[]).await?;
    if lock_table {
        db.execute(&l, &[]).await?;
        db.execute(&init, &[]).await?;
    }
    Ok(())
}

/// Record an applied file.
///
/// # Errors
/// The insert fails.
pub async fn insert(
    db: &mut dyn Backend,
    version: Option<&str>,
    description: &str,
    filename: &str,
    kind: MigrationKind,
    checksum: &str,
) -> Result<(), DbError> {
    let sql = db.dialect().insert_history();
    db.execute(
        &sql,
        &[
            Value::from(version),
            Value::from(description),
            Value::from(filename),
            Value::from(kind.as_str()),
            Value::from(checksum),
        ],
    )
    .await
    .map(|_| ())
}

/// Update a re-applied repeatable's checksum and time.
///
/// # Errors
/// The update fails.
pub async fn update_repeatable(
    db: &mut dyn Backend,
    filename: &str,
    kind: MigrationKind,
    checksum: &str,
) -> Result<(), DbError> {
    let sql = db.dialect().update_repeatable();
    db.execute(
        &sql,
        &[
            Value::from(checksum),
            Value::from(filename),
            Value::from(kind.as_str()),
        ],
    )
    .await
    .map(|_| ())
}

/// Forget a rolled-back (or missing) version.
///
/// # Errors
/// The delete fails.
pub async fn delete_version(db: &mut dyn Backend, version: &str) -> Result<(), DbError> {
    let sql = db.dialect().delete_version();
    db.execute(&sql, &[Value::from(version)]).await.map(|_| ())
}

/// Forget a repeatable whose file is gone.
///
/// # Errors
/// The delete fails.
pub async fn delete_repeatable(db: &mut dyn Backend, filename: &str) -> Result<(), DbError> {
    let sql = db.dialect().delete_repeatable();
    db.execute(&sql, &[Value::from(filename)]).await.map(|_| ())
}

/// Store a repaired checksum.
///
/// # Errors
/// The update fails.
pub async fn update_checksum(
    db: &mut dyn Backend,
    version: &str,
    checksum: &str,
) -> Result<(), DbError> {
    let sql = db.dialect().update_checksum();
    db.execute(&sql, &[Value::from(checksum), Value::from(version)])
        .await
        .map(|_| ())
}
