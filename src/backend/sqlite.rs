//! The embedded SQLite backend (sqlx, bundled libsqlite3). Opens one connection with the same
//! settings Python's `sqlite3` module uses (no forced foreign keys, no journal-mode change,
//! a 5 s busy timeout), so both tools see the same database behaviour.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteArguments, SqliteConnectOptions, SqliteConnection};
use sqlx::{Arguments, AssertSqlSafe, ConnectOptions, Connection, Row as _, TypeInfo, ValueRef};

use super::dialect::SqliteDialect;
use super::{Backend, Capabilities, ConnectError, DbError, Dialect, OpenMode, Row, Value};
use crate::url::{DatabaseUrl, SqliteTarget};

pub struct SqliteBackend {
    conn: SqliteConnection,
    dialect: SqliteDialect,
}

impl SqliteBackend {
    /// Open the database `url` points at.
    ///
    /// # Errors
    /// The file cannot be opened.
    pub async fn connect(
        url: &DatabaseUrl,
        base: &Path,
        mode: OpenMode,
    ) -> Result<SqliteBackend, ConnectError> {
        let target = url.sqlite_target(base).unwrap_or(SqliteTarget::Memory);
        let opts = match &target {
            SqliteTarget::Memory => {
                SqliteConnectOptions::from_str("sqlite::memory:").map_err(|e| fail(url, &e))?
            }
            // A read-only command on a database that does not exist yet reads an empty one
            // instead of creating a file.
            SqliteTarget::File(path) if mode == OpenMode::ReadOnly && !path.exists() => {
                SqliteConnectOptions::from_str("sqlite::memory:").map_err(|e| fail(url, &e))?
            }
            SqliteTarget::File(path) => SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(mode == OpenMode::ReadWrite),
        };
        let opts = opts
            .foreign_keys(false)
            .busy_timeout(Duration::from_secs(5))
            .disable_statement_logging();
        let conn = opts.connect().await.map_err(|e| fail(url, &e))?;
        Ok(SqliteBackend {
            conn,
            dialect: SqliteDialect,
        })
    }
}

fn fail(url: &DatabaseUrl, e: &sqlx::Error) -> ConnectError {
    ConnectError::Failed {
        url: url.to_string(),
        message: db_error(e).message,
    }
}

/// Turn a driver error into a `DbError`, keeping the database's own message and code.
pub(crate) fn db_error(e: &sqlx::Error) -> DbError {
    match e {
        sqlx::Error::Database(d) => DbError {
            message: d.message().to_owned(),
            code: d.code().map(std::borrow::Cow::into_owned),
        },
        other => DbError::new(other.to_string()),
    }
}

fn bind_all(params: &[Value]) -> Result<SqliteArguments, DbError> {
    let mut args = SqliteArguments::default();
    for p in params {
        let r = match p {
            Value::Null => args.add(Option::<String>::None),
            Value::Int(i) => args.add(*i),
            Value::Real(f) => args.add(*f),
            Value::Text(s) => args.add(s.clone()),
            Value::Bool(b) => args.add(i64::from(*b)),
        };
        r.map_err(|e| DbError::new(e.to_string()))?;
    }
    Ok(args)
}

fn read_row(row: &sqlx::sqlite::SqliteRow) -> Result<Row, DbError> {
    let mut out = Vec::with_capacity(row.columns().len());
    for (i, _) in row.columns().iter().enumerate() {
        let raw = row.try_get_raw(i).map_err(|e| db_error(&e))?;
        if raw.is_null() {
            out.push(Value::Null);
            continue;
        }
        let kind = raw.type_info().name().to_owned();
        let v = match kind.as_str() {
            "INTEGER" | "BOOLEAN" => {
                Value::Int(row.try_get::<i64, _>(i).map_err(|e| db_error(&e))?)
            }
            "REAL" => Value::Real(row.try_get::<f64, _>(i).map_err(|e| db_error(&e))?),
            "BLOB" => {
                let b: Vec<u8> = row.try_get(i).map_err(|e| db_error(&e))?;
                Value::Text(String::from_utf8_lossy(&b).into_owned())
            }
            _ => Value::Text(row.try_get::<String, _>(i).map_err(|e| db_error(&e))?),
        };
        out.push(v);
    }
    Ok(out)
}

#[async_trait]
impl Backend for SqliteBackend {
    fn dialect(&self) -> &dyn Dialect {
        &self.dialect
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            transactional_ddl: true,
            session_locks: false,
            lock_table: true,
        }
    }

    async fn ping(&mut self) -> Result<(), DbError> {
        self.conn.ping().await.map_err(|e| db_error(&e))
    }

    async fn begin(&mut self) -> Result<(), DbError> {
        let sql = self.dialect.begin_write();
        self.execute_raw(sql).await
    }

    async fn commit(&mut self) -> Result<(), DbError> {
        self.execute_raw("COMMIT").await
    }

    async fn rollback(&mut self) -> Result<(), DbError> {
        self.execute_raw("ROLLBACK").await
    }

    async fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        let args = bind_all(params)?;
        let res = sqlx::query_with(AssertSqlSafe(sql), args)
            .execute(&mut self.conn)
            .await
            .map_err(|e| db_error(&e))?;
        Ok(res.rows_affected())
    }

    async fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let args = bind_all(params)?;
        let rows = sqlx::query_with(AssertSqlSafe(sql), args)
            .fetch_all(&mut self.conn)
            .await
            .map_err(|e| db_error(&e))?;
        rows.iter().map(read_row).collect()
    }

    async fn execute_raw(&mut self, sql: &str) -> Result<(), DbError> {
        sqlx::raw_sql(AssertSqlSafe(sql))
            .execute(&mut self.conn)
            .await
            .map(|_| ())
            .map_err(|e| db_error(&e))
    }

    async fn close(self: Box<Self>) {
        let _ = self.conn.close().await;
    }
}
