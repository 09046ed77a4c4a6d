//! Database access: the small async `Backend` trait every database implements, the values it
//! exchanges, and `connect`. History, lock and upgrade logic live above this module, written
//! once over `Backend` + `Dialect`; a backend never copies them and never prints.

#[cfg(any(feature = "clickhouse", feature = "databricks"))]
pub mod bind;
#[cfg(feature = "clickhouse")]
pub mod clickhouse;
#[cfg(feature = "databricks")]
pub mod databricks;
pub mod dialect;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "mysql")]
pub mod mysql;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod registry;
#[cfg(feature = "snowflake")]
pub mod snowflake;
pub mod spec;
pub mod sqlite;
pub(crate) mod sqlx_common;
pub mod unit;

use async_trait::async_trait;

pub use dialect::Dialect;

pub use spec::ConnectSpec;
pub use unit::{Bound, Check, Expect, Unit, UnitError};

/// A value bound to, or read from, a statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Bool(bool),
}

impl Value {
    /// The value as text, for columns read back as strings (timestamps, versions).
    #[must_use]
    pub fn as_text(&self) -> Option<String> {
        match self {
            Value::Null => None,
            Value::Int(i) => Some(i.to_string()),
            Value::Real(f) => Some(f.to_string()),
            Value::Text(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
        }
    }

    #[must_use]
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(i64::from(*b)),
            Value::Text(s) => s.trim().parse().ok(),
            #[allow(clippy::cast_possible_truncation)]
            Value::Real(f) => Some(*f as i64),
            Value::Null => None,
        }
    }

    /// Truthiness as the original reads it (`1`, `true`, `t`).
    #[must_use]
    pub fn as_bool(&self) -> bool {
        match self {
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Real(f) => *f != 0.0,
            Value::Text(s) => matches!(s.trim().to_ascii_lowercase().as_str(), "1" | "t" | "true"),
            Value::Null => false,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}
impl From<Option<&str>> for Value {
    fn from(s: Option<&str>) -> Self {
        s.map_or(Value::Null, Value::from)
    }
}

pub type Row = Vec<Value>;

/// Column `i` of a row as text (empty for NULL or a missing column).
#[must_use]
pub fn text_at(row: &Row, i: usize) -> String {
    row.get(i).and_then(Value::as_text).unwrap_or_default()
}

/// Column `i` of a row as a number (0 for NULL or a missing column).
#[must_use]
pub fn int_at(row: &Row, i: usize) -> i64 {
    row.get(i).and_then(Value::as_i64).unwrap_or(0)
}

/// What a database can do, so the shared logic can choose its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::struct_excessive_bools)]
pub struct Capabilities {
    /// Transactions exist: a unit of bookkeeping is all or nothing.
    pub transactions: bool,
    /// DDL inside a transaction is rolled back with it (SQLite, PostgreSQL; not MySQL): a
    /// migration file is all or nothing.
    pub transactional_ddl: bool,
    /// A guarded UPDATE reports the rows it changed, so the lock row can be taken by
    /// compare-and-set. Where it does not (Spark), the lock confirms by reading the row back.
    pub compare_and_set: bool,
    /// Session-level locks exist that the database drops when the holder's session ends.
    pub session_locks: bool,
    /// How the migration lock is kept.
    pub lock: LockProtocol,
    /// Another process can open the same database (false for in-memory SQLite): a lock
    /// holder needs a heartbeat only then.
    pub shared: bool,
}

/// How a database keeps the migration lock (`crate::lock`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockProtocol {
    /// The original's `jetbase_lock` row, taken by a guarded UPDATE (compare-and-set), with
    /// jetbase's lease beside it.
    Row,
    /// jetbase's claim tables, for a database without compare-and-set, where the original
    /// keeps no lock (ClickHouse): see `lock::claims`.
    Claims,
}

/// A database failure, its message already scrubbed of secrets.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct DbError {
    pub message: String,
    /// The database's own error code, when it gives one (SQLSTATE, MySQL number, SQLite code).
    pub code: Option<String>,
    /// Where in the statement the error is, as a 1-based character offset (PostgreSQL).
    pub position: Option<usize>,
}

impl DbError {
    /// A conflict the database resolved by aborting this transaction, which is worth
    /// retrying: a deadlock, or a Galera certification failure (MySQL error 1213,
    /// SQLSTATE 40001).
    #[must_use]
    pub fn is_retryable_conflict(&self) -> bool {
        matches!(self.code.as_deref(), Some("1213" | "40001" | "40P01"))
            || self.message.contains("Deadlock found")
    }

    /// Another connection holds what this statement needs and did not let go in time:
    /// SQLite's "database is locked" (SQLITE_BUSY and SQLITE_LOCKED with their extended
    /// codes), MySQL's lock wait timeout (1205), PostgreSQL's lock_not_available (55P03).
    /// Worth waiting for, not fatal.
    #[must_use]
    pub fn is_busy(&self) -> bool {
        matches!(
            self.code.as_deref(),
            Some("5" | "261" | "517" | "773" | "6" | "262" | "518" | "1205" | "55P03")
        )
    }

    #[must_use]
    pub fn new(message: impl Into<String>) -> Self {
        DbError {
            message: message.into(),
            code: None,
            position: None,
        }
    }
}

/// One open connection to a database. Object-safe; all SQL text comes from the `Dialect`
/// (jetbase's own statements) or from migration files (executed as written).
#[async_trait]
pub trait Backend: Send {
    fn dialect(&self) -> &dyn Dialect;
    fn capabilities(&self) -> Capabilities;
    /// Check the connection is alive.
    async fn ping(&mut self) -> Result<(), DbError>;
    /// Open a transaction that will write.
    async fn begin(&mut self) -> Result<(), DbError>;
    async fn commit(&mut self) -> Result<(), DbError>;
    async fn rollback(&mut self) -> Result<(), DbError>;
    /// Run one statement with bound parameters; returns the number of rows affected.
    async fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError>;
    /// Run a query with bound parameters and read every row.
    async fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError>;
    /// Run migration SQL exactly as written, without parameters or statement caching.
    async fn execute_raw(&mut self, sql: &str) -> Result<(), DbError>;
    /// Run a unit of work: its statements, fence and bookkeeping as one piece where the
    /// database can (see [`unit`]), or in order, saying which step failed, where it cannot.
    async fn run_unit(&mut self, unit: &Unit<'_>) -> Result<(), UnitError>;
    /// Close the connection cleanly.
    async fn close(self: Box<Self>);
    /// Take a session-level lock that the database drops by itself when this connection
    /// ends (PostgreSQL advisory lock). `Ok(None)` when the backend has none or must not use
    /// it (behind a transaction pooler); `Ok(Some(false))` when another session holds it.
    async fn try_session_lock(&mut self) -> Result<Option<bool>, DbError> {
        Ok(None)
    }
    /// Drop the session lock taken by [`Backend::try_session_lock`].
    async fn release_session_lock(&mut self) -> Result<(), DbError> {
        Ok(())
    }
    /// A function that, called from another thread, makes the statement running on this
    /// connection fail promptly (Ctrl-C). `None` when the backend has no such thing.
    fn interrupter(&self) -> Option<Box<dyn Fn() + Send + Sync>> {
        None
    }
}

/// How a command wants the database opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// The command may write: create the database when missing.
    ReadWrite,
    /// The command only reads: never create a file (a missing SQLite file reads as empty).
    ReadOnly,
}

/// Connection failures, kept apart from SQL errors for their own exit code.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("{backend} is not supported yet by this build of jetbase")]
    Unsupported { backend: &'static str },
    #[error("cannot connect to {url}: {message}")]
    Failed {
        url: String,
        message: String,
        /// Waiting may cure it (server down or starting), as opposed to bad credentials.
        transient: bool,
    },
    #[error("the schema \"{schema}\" (postgres_schema) does not exist")]
    MissingSchema { schema: String },
    /// The URL asks for something the driver cannot do (a protocol it does not speak, an
    /// option it refuses): bad configuration, found before any connection was tried.
    #[error("cannot use {url}: {message}")]
    BadUrl { url: String, message: String },
    /// A credential setting beside the URL is unusable (a Snowflake private key that is not
    /// one, or its wrong password): found before any request.
    #[error("cannot log in to {url}: {message}")]
    BadKey { url: String, message: String },
}

pub use registry::connect;
