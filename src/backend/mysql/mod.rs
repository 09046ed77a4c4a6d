//! MySQL and MariaDB, on sqlx (rustls). The session is what pymysql gives the original
//! (server `sql_mode` and time zone untouched) plus utf8mb4. MySQL commits DDL implicitly, so
//! a file that fails half-way cannot be rolled back: the shared upgrade path reports exactly
//! which statements ran (`Capabilities::transactional_ddl` is false).

use std::path::Path;
use std::str::FromStr;

use async_trait::async_trait;
use sqlx::mysql::{
    MySqlArguments, MySqlConnectOptions, MySqlConnection, MySqlDatabaseError, MySqlSslMode,
};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Row as _, ValueRef};

pub mod introspect;
mod pool;
mod sql;

pub(crate) use pool::pool;

use super::sqlx_common::bind_all;
use super::{Backend, Capabilities, ConnectError, ConnectSpec, DbError, Dialect, Row, Value};
pub use sql::MySqlDialect;

pub struct MySqlBackend {
    conn: MySqlConnection,
    dialect: MySqlDialect,
}

/// Turn a sqlx error into a `DbError` with MySQL's error number as the code.
pub(crate) fn db_error(e: &sqlx::Error) -> DbError {
    match e {
        sqlx::Error::Database(d) => {
            let number = d
                .try_downcast_ref::<MySqlDatabaseError>()
                .map(MySqlDatabaseError::number);
            DbError {
                message: match number {
                    Some(n) => format!("({n}) {}", d.message()),
                    None => d.message().to_owned(),
                },
                code: number.map(|n| n.to_string()),
                position: None,
            }
        }
        other => DbError::new(other.to_string()),
    }
}

/// The connect options `spec` gives (the CLI's session and the pool's alike).
pub(crate) fn options(spec: &ConnectSpec) -> Result<MySqlConnectOptions, String> {
    let url = &spec.url;
    let mut o = MySqlConnectOptions::new()
        .disable_statement_logging()
        .port(
            url.port()
                .or(url.kind.info().default_port)
                .unwrap_or_default(),
        )
        .charset(url.param("charset").unwrap_or("utf8mb4"))
        // What pymysql leaves alone, jetbase leaves alone: the server's sql_mode and zone.
        .pipes_as_concat(false)
        .no_engine_substitution(false)
        .timezone(None);
    if let Some(h) = url.host() {
        o = o.host(h);
    }
    if let Some(sock) = url.param("unix_socket") {
        o = o.socket(Path::new(sock));
    }
    if let Some(u) = url.username() {
        o = o.username(u);
    }
    if let Some(p) = url.password() {
        o = o.password(p);
    }
    if let Some(db) = url.database() {
        o = o.database(db);
    }
    if let Some(c) = url.param("collation") {
        o = o.collation(c);
    }
    if !spec.statement_cache {
        o = o.statement_cache_capacity(0);
    }
    if let Some(mode) = url.param("ssl_mode").or_else(|| url.param("ssl-mode")) {
        o = o.ssl_mode(MySqlSslMode::from_str(mode).map_err(|e| format!("ssl_mode: {e}"))?);
    }
    if let Some(ca) = url.param("ssl_ca") {
        o = o.ssl_ca(ca);
    }
    Ok(o)
}

/// Set a new session up as `spec` says, for the CLI and for every pooled connection.
///
/// # Errors
/// Setting the isolation level fails.
pub(crate) async fn prepare_session(
    conn: &mut MySqlConnection,
    spec: &ConnectSpec,
) -> Result<(), ConnectError> {
    // Galera replicates virtually synchronously: a node may not have applied the last
    // writes of another yet. Reads and writes must wait for them (1 | 2 | 4: reads,
    // UPDATE/DELETE, INSERT/REPLACE), or a lock freshly released on one node, or a file
    // just recorded there, would look otherwise on this one. MariaDB ignores the setting
    // without Galera; MySQL, which lacks it, refuses it: fine too.
    let _ = sqlx::raw_sql("SET SESSION wsrep_sync_wait = 7")
        .execute(&mut *conn)
        .await;
    let level = spec
        .isolation_level_sql()
        .map_err(|message| ConnectError::Failed {
            url: spec.url.to_string(),
            message,
            transient: false,
        })?;
    if let Some(level) = level {
        // One of four static spellings: no user text reaches the SQL.
        let sql = format!("SET SESSION TRANSACTION ISOLATION LEVEL {level}");
        sqlx::raw_sql(AssertSqlSafe(sql))
            .execute(&mut *conn)
            .await
            .map_err(|e| ConnectError::Failed {
                url: spec.url.to_string(),
                message: spec.url.redact(&db_error(&e).message),
                transient: false,
            })?;
    }
    Ok(())
}

/// This driver in the registry.
pub(crate) const CONNECTOR: super::registry::Connector = super::registry::Connector {
    kind: crate::drivers::BackendKind::MySql,
    connect: |spec, _mode| {
        Box::pin(async move {
            MySqlBackend::connect(spec)
                .await
                .map(|b| Box::new(b) as Box<dyn Backend>)
        })
    },
};

impl MySqlBackend {
    /// Send a file's statements as one multi-statement query (after `START TRANSACTION`),
    /// telling from the results which one failed; then the fence, the history write and
    /// `COMMIT` as `run_in_session` sends them. The history write is sent only once this
    /// process has seen every statement done: a holder killed while the server still runs
    /// its batch never records the file (another process that took its lock over runs it).
    async fn run_batch(
        &mut self,
        unit: &super::Unit<'_>,
        sql: String,
    ) -> Result<(), super::UnitError> {
        use sqlx::Executor;
        let (done, failed) = {
            let mut stream = (&mut self.conn).fetch_many(AssertSqlSafe(sql));
            let (mut done, mut failed) = (0usize, None);
            while let Some(item) = std::future::poll_fn(|cx| stream.as_mut().poll_next(cx)).await {
                match item {
                    // One result per statement, after its rows.
                    Ok(sqlx::Either::Left(_)) => done += 1,
                    Ok(sqlx::Either::Right(_)) => {}
                    Err(e) => {
                        failed = Some(db_error(&e));
                        break;
                    }
                }
            }
            (done, failed)
        };
        if let Some(error) = failed {
            let _ = self.execute_raw("ROLLBACK").await;
            // Results: START TRANSACTION, then the statements.
            return Err(match done {
                0 => super::UnitError::Transaction { error },
                i => super::UnitError::Statement {
                    index: i - 1,
                    error,
                    atomic: false,
                },
            });
        }
        super::unit::finish_in_session(self, unit, false).await
    }

    /// Connect and set the session up.
    ///
    /// # Errors
    /// Unreachable server or bad credentials.
    pub async fn connect(spec: &ConnectSpec) -> Result<MySqlBackend, ConnectError> {
        let url = &spec.url;
        let opts = options(spec).map_err(|message| ConnectError::Failed {
            url: url.to_string(),
            message: url.redact(&message),
            transient: false,
        })?;
        let mut conn = opts.connect().await.map_err(|e| ConnectError::Failed {
            url: url.to_string(),
            message: url.redact(&db_error(&e).message),
            transient: super::sqlx_common::is_transient(&e),
        })?;
        prepare_session(&mut conn, spec).await?;
        Ok(MySqlBackend {
            conn,
            dialect: MySqlDialect,
        })
    }
}

/// Read a cell whatever its type: integers, text, timestamps (as text), booleans, floats.
fn read_cell(row: &sqlx::mysql::MySqlRow, i: usize) -> Result<Value, DbError> {
    if row.try_get_raw(i).map_err(|e| db_error(&e))?.is_null() {
        return Ok(Value::Null);
    }
    if let Ok(v) = row.try_get::<i64, _>(i) {
        return Ok(Value::Int(v));
    }
    if let Ok(v) = row.try_get::<bool, _>(i) {
        return Ok(Value::Bool(v));
    }
    if let Ok(v) = row.try_get::<chrono::NaiveDateTime, _>(i) {
        return Ok(Value::Text(v.format("%Y-%m-%d %H:%M:%S%.6f").to_string()));
    }
    // TIMESTAMP columns: shown as the session's wall-clock time, as pymysql gives them.
    if let Ok(v) = row.try_get::<chrono::DateTime<chrono::Utc>, _>(i) {
        return Ok(Value::Text(
            v.naive_utc().format("%Y-%m-%d %H:%M:%S%.6f").to_string(),
        ));
    }
    if let Ok(v) = row.try_get::<String, _>(i) {
        return Ok(Value::Text(v));
    }
    if let Ok(v) = row.try_get::<f64, _>(i) {
        return Ok(Value::Real(v));
    }
    let bytes: Vec<u8> = row.try_get(i).map_err(|e| db_error(&e))?;
    Ok(Value::Text(String::from_utf8_lossy(&bytes).into_owned()))
}

#[async_trait]
impl Backend for MySqlBackend {
    fn dialect(&self) -> &dyn Dialect {
        &self.dialect
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            transactions: true,
            transactional_ddl: false,
            compare_and_set: true,
            session_locks: false,
            lock: super::LockProtocol::Row,
            shared: true,
        }
    }

    async fn ping(&mut self) -> Result<(), DbError> {
        self.conn.ping().await.map_err(|e| db_error(&e))
    }

    async fn begin(&mut self) -> Result<(), DbError> {
        self.execute_raw("START TRANSACTION").await
    }

    async fn commit(&mut self) -> Result<(), DbError> {
        self.execute_raw("COMMIT").await
    }

    async fn rollback(&mut self) -> Result<(), DbError> {
        self.execute_raw("ROLLBACK").await
    }

    async fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        let args = bind_all::<MySqlArguments>(params)?;
        let done = sqlx::query_with(AssertSqlSafe(sql), args)
            .execute(&mut self.conn)
            .await
            .map_err(|e| db_error(&e))?;
        Ok(done.rows_affected())
    }

    async fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let args = bind_all::<MySqlArguments>(params)?;
        let rows = sqlx::query_with(AssertSqlSafe(sql), args)
            .fetch_all(&mut self.conn)
            .await
            .map_err(|e| db_error(&e))?;
        rows.iter()
            .map(|row| (0..row.len()).map(|i| read_cell(row, i)).collect())
            .collect()
    }

    async fn execute_raw(&mut self, sql: &str) -> Result<(), DbError> {
        sqlx::raw_sql(AssertSqlSafe(sql))
            .execute(&mut self.conn)
            .await
            .map(|_| ())
            .map_err(|e| db_error(&e))
    }

    /// MySQL commits DDL at once, so a file is not atomic (`run_in_session` reports which
    /// statements ran). Galera aborts a transaction when a DDL on its table replicates
    /// (another process creating the jetbase tables at its first run): when the history
    /// write of a file whose DDL is already committed meets such a conflict, only the
    /// history write (with its fence) is run again.
    async fn run_unit(&mut self, unit: &super::Unit<'_>) -> Result<(), super::UnitError> {
        let first = match one_trip(unit) {
            Some(sql) => self.run_batch(unit, sql).await,
            None => super::unit::run_in_session(self, unit, false).await,
        };
        match first {
            Err(e @ super::UnitError::Bookkeeping { .. })
                if e.is_retryable_conflict() && unit.statements.iter().any(|s| is_ddl(&s.sql)) =>
            {
                let again = super::Unit {
                    statements: &[],
                    transaction: unit.transaction,
                    foreign_keys_off: false,
                    fence: unit.fence,
                    bookkeeping: unit.bookkeeping.clone(),
                };
                // Bounded as `retry::on_conflict` is (an async closure borrowing `self` here
                // would not be `Send` for the trait's boxed future).
                let mut result = Err(e);
                for n in 1..crate::retry::CONFLICT_ATTEMPTS {
                    tokio::time::sleep(std::time::Duration::from_millis(5 * u64::from(n))).await;
                    result = super::unit::run_in_session(self, &again, false).await;
                    if !result
                        .as_ref()
                        .is_err_and(super::UnitError::is_retryable_conflict)
                    {
                        break;
                    }
                }
                // The file's statements stayed applied.
                result.map_err(super::UnitError::after_applied_statements)
            }
            other => other,
        }
    }

    async fn close(self: Box<Self>) {
        let _ = self.conn.close().await;
    }
}

/// A statement MySQL commits implicitly (data definition).
fn is_ddl(sql: &str) -> bool {
    matches!(
        super::unit::first_keyword(sql).as_str(),
        "CREATE" | "ALTER" | "DROP" | "RENAME" | "TRUNCATE"
    )
}

/// A unit's statements as one multi-statement query after `START TRANSACTION`, when that
/// can tell which statement failed: a transactional file without `CALL` (whose extra result
/// sets would blur the count).
fn one_trip(unit: &super::Unit<'_>) -> Option<String> {
    if !unit.transaction
        || unit.statements.is_empty()
        || unit.statements.iter().any(|s| {
            s.sql
                .trim_start()
                .get(..4)
                .is_some_and(|w| w.eq_ignore_ascii_case("CALL"))
        })
    {
        return None;
    }
    let mut sql = String::from("START TRANSACTION");
    for stmt in unit.statements {
        // A statement may end in a comment: the separator goes on a line of its own.
        sql.push_str("\n;\n");
        sql.push_str(&stmt.sql);
    }
    Some(sql)
}

#[cfg(test)]
mod one_trip_tests {
    use super::*;
    use crate::backend::Unit;
    use crate::migration::Statement;

    fn unit_sql(sqls: &[&str], transaction: bool) -> Option<String> {
        let statements: Vec<Statement> = sqls
            .iter()
            .map(|s| Statement {
                sql: (*s).into(),
                line: 1,
            })
            .collect();
        one_trip(&Unit {
            statements: &statements,
            transaction,
            foreign_keys_off: false,
            fence: None,
            bookkeeping: vec![],
        })
    }

    #[test]
    fn one_trip_sends_the_statements_after_start_transaction() {
        assert_eq!(
            unit_sql(
                &["CREATE TABLE t (id INT) # note", "INSERT INTO t VALUES (1)"],
                true
            )
            .as_deref(),
            Some(
                "START TRANSACTION\n;\nCREATE TABLE t (id INT) # note\n;\nINSERT INTO t VALUES (1)"
            )
        );
        assert!(unit_sql(&["call p()"], true).is_none(), "CALL");
        assert!(
            unit_sql(&["SELECT 1"], false).is_none(),
            "transaction=false"
        );
    }
}
