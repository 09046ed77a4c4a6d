//! jetbase's tables, written once over `Backend` + `Dialect`: their names, whether one
//! exists, and creating what is missing (the original's two, and the lease side table).
//! History and lock both build on this; it imports neither.

use crate::backend::{Backend, DbError, Value};

pub const MIGRATIONS_TABLE: &str = "jetbase_migrations";
pub const LOCK_TABLE: &str = "jetbase_lock";
/// jetbase's own side table for the lease on the lock row (the Python tool never reads it).
pub const LEASE_TABLE: &str = "jetbase_lock_lease";

/// True when `table` exists.
///
/// # Errors
/// The query fails.
pub async fn table_exists(db: &mut dyn Backend, table: &str) -> Result<bool, DbError> {
    let (sql, lists) = (
        db.dialect().table_exists(),
        db.dialect().table_exists_lists(),
    );
    let rows = db.query(&sql, &[Value::from(table)]).await?;
    if lists {
        return Ok(!rows.is_empty());
    }
    Ok(rows
        .first()
        .and_then(|r| r.first())
        .is_some_and(Value::as_bool))
}

/// Create both tables and the lock row when missing, as the original does before writing.
///
/// # Errors
/// A statement fails.
pub async fn ensure_tables(db: &mut dyn Backend) -> Result<(), DbError> {
    let d = db.dialect();
    let (m, l, init, lease) = (
        d.create_migrations_table(),
        d.create_lock_table(),
        d.init_lock_row(),
        d.create_lease_table(),
    );
    let lock_table = db.capabilities().lock == crate::backend::LockProtocol::Row;
    // Existing tables are left alone, not re-created "IF NOT EXISTS": on Galera every DDL
    // is replicated in total order and aborts the transactions touching its table, such as
    // another process's file being recorded under the lock. Two processes creating a table
    // at the same moment may see the database refuse one of them ("already exists" on
    // PostgreSQL): what matters is that the table exists afterwards.
    create_missing(db, MIGRATIONS_TABLE, &m).await?;
    if lock_table {
        create_missing(db, LOCK_TABLE, &l).await?;
        let has_row = |rows: Vec<crate::backend::Row>| !rows.is_empty();
        if !has_row(
            db.query("SELECT 1 FROM jetbase_lock WHERE id = 1", &[])
                .await?,
        ) && let Err(e) = db.execute(&init, &[]).await
            && !has_row(
                db.query("SELECT 1 FROM jetbase_lock WHERE id = 1", &[])
                    .await?,
            )
        {
            return Err(e);
        }
        create_missing(db, LEASE_TABLE, &lease).await?;
    }
    Ok(())
}

/// Create `table` with `ddl` unless it exists; a concurrent creator winning is fine.
async fn create_missing(db: &mut dyn Backend, table: &str, ddl: &str) -> Result<(), DbError> {
    if table_exists(db, table).await? {
        return Ok(());
    }
    match db.execute(ddl, &[]).await {
        Err(e) if !e.is_retryable_conflict() && table_exists(db, table).await? => Ok(()),
        other => other.map(|_| ()),
    }
}
