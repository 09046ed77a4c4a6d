//! The `jetbase_lock` row protocol of the original (COMPAT 7), written once over `Backend`:
//! acquire with a guarded UPDATE, release fenced by process id, force unlock, status.

use crate::backend::{Backend, DbError, Value};
use crate::history::{LOCK_TABLE, MIGRATIONS_TABLE, table_exists};

/// The lock row as read.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct LockStatus {
    pub is_locked: bool,
    #[serde(serialize_with = "crate::report::rfc3339")]
    pub locked_at: Option<String>,
    pub process_id: Option<String>,
}

/// Outcome of one acquire attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acquire {
    /// We hold the lock under this process id.
    Held(String),
    /// Someone else holds it.
    Busy(LockStatus),
}

/// Read the lock row; missing tables mean unlocked (nothing is created).
///
/// # Errors
/// A query fails.
pub async fn status(db: &mut dyn Backend) -> Result<LockStatus, DbError> {
    if !db.capabilities().lock_table
        || !table_exists(db, LOCK_TABLE).await?
        || !table_exists(db, MIGRATIONS_TABLE).await?
    {
        return Ok(LockStatus::default());
    }
    let sql = db.dialect().lock_status();
    let rows = db.query(&sql, &[]).await?;
    Ok(rows
        .first()
        .map(|r| LockStatus {
            is_locked: r.first().is_some_and(Value::as_bool),
            locked_at: r.get(1).and_then(Value::as_text),
            process_id: r.get(2).and_then(Value::as_text),
        })
        .unwrap_or_default())
}

/// Try once to take the lock with a fresh process id (a UUID, as the original).
///
/// # Errors
/// A statement fails.
pub async fn try_acquire(db: &mut dyn Backend) -> Result<Acquire, DbError> {
    let id = uuid::Uuid::new_v4().to_string();
    let sql = db.dialect().acquire_lock();
    let n = db.execute(&sql, &[Value::from(id.as_str())]).await?;
    if n == 1 {
        Ok(Acquire::Held(id))
    } else {
        Ok(Acquire::Busy(status(db).await?))
    }
}

/// Release the lock we hold; a lock someone else took over is left alone.
///
/// # Errors
/// The update fails.
pub async fn release(db: &mut dyn Backend, process_id: &str) -> Result<(), DbError> {
    let sql = db.dialect().release_lock();
    db.execute(&sql, &[Value::from(process_id)])
        .await
        .map(|_| ())
}

/// Release the lock whoever holds it. Returns false when there was no lock table.
///
/// # Errors
/// The update fails.
pub async fn force_unlock(db: &mut dyn Backend) -> Result<bool, DbError> {
    if !db.capabilities().lock_table || !table_exists(db, LOCK_TABLE).await? {
        return Ok(false);
    }
    let sql = db.dialect().force_unlock();
    db.execute(&sql, &[]).await.map(|_| true)
}
