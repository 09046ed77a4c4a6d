//! What the sqlx drivers (PostgreSQL, MySQL/MariaDB) share: classifying sqlx's errors. The
//! CLI's connections and the `jetbase::db` pool ask the same two questions here.

use sqlx::ConnectOptions;

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

/// A session-setup failure as the pool's error type.
#[cfg(any(feature = "postgres", feature = "mysql"))]
#[allow(clippy::needless_pass_by_value)] // the shape `map_err` calls
pub(crate) fn setup_error(e: super::ConnectError) -> sqlx::Error {
    sqlx::Error::Configuration(e.to_string().into())
}

/// One plain connection, opened, set up as every pooled one will be, and closed: it fails at
/// once when the server is down (where the pool would keep retrying until its acquire
/// timeout) or when the session setup fails (a missing schema).
pub(crate) async fn probe<O, F>(opts: &O, setup: F) -> Result<(), sqlx::Error>
where
    O: ConnectOptions,
    O::Connection: Sized,
    F: AsyncFnOnce(&mut O::Connection) -> Result<(), sqlx::Error>,
{
    use sqlx::Connection;
    let mut conn = opts.connect().await?;
    setup(&mut conn).await?;
    conn.close().await
}

/// Bind jetbase's own parameters for any sqlx driver.
#[cfg(any(feature = "postgres", feature = "mysql"))]
///
/// # Errors
/// The driver refuses a value.
pub(crate) fn bind_all<A: sqlx::Arguments>(params: &[super::Value]) -> Result<A, DbError>
where
    for<'t> Option<String>: sqlx::Encode<'t, A::Database> + sqlx::Type<A::Database>,
    for<'t> i64: sqlx::Encode<'t, A::Database> + sqlx::Type<A::Database>,
    for<'t> f64: sqlx::Encode<'t, A::Database> + sqlx::Type<A::Database>,
    for<'t> String: sqlx::Encode<'t, A::Database> + sqlx::Type<A::Database>,
    for<'t> bool: sqlx::Encode<'t, A::Database> + sqlx::Type<A::Database>,
{
    let mut args = A::default();
    for p in params {
        let r = match p {
            super::Value::Null => args.add(Option::<String>::None),
            super::Value::Int(i) => args.add(*i),
            super::Value::Real(f) => args.add(*f),
            super::Value::Text(s) => args.add(s.clone()),
            super::Value::Bool(b) => args.add(*b),
        };
        r.map_err(|e| DbError::new(e.to_string()))?;
    }
    Ok(args)
}
