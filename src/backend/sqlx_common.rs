//! What the sqlx drivers (PostgreSQL, MySQL/MariaDB) share: classifying sqlx's errors. The
//! CLI's connections and the `jetbase::db` pool ask the same two questions here.

use super::DbError;

/// True for failures that waiting can cure: the server is down, starting, or unreachable;
/// false for wrong credentials or a missing database.
#[must_use]
pub fn is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(d) => matches!(
            d.code().as_deref(),
            // PostgreSQL: cannot_connect_now (starting up), too_many_connections,
            // admin_shutdown; MySQL: too many connections, server shutting down.
            Some("57P03" | "53300" | "57P01" | "08006" | "08001" | "1040" | "1053")
        ),
        _ => false,
    }
}

/// True when the database aborted the transaction to resolve a conflict: the one classifier,
/// [`DbError::is_retryable_conflict`], applied to a sqlx error (sqlx reports MySQL's
/// deadlock by its SQLSTATE 40001).
#[must_use]
pub fn is_conflict(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => DbError {
            message: d.message().to_owned(),
            code: d.code().map(std::borrow::Cow::into_owned),
            position: None,
        }
        .is_retryable_conflict(),
        _ => false,
    }
}
