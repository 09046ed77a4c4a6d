//! PostgreSQL, on sqlx (rustls). Migration SQL goes through the simple query protocol, so
//! `$$` bodies, `DO` blocks and statements that refuse a transaction run as written; jetbase's
//! own statements are prepared and bound. `postgres_schema` becomes the `search_path` before
//! anything else, as in the original.

use std::path::Path;
use std::str::FromStr;

use async_trait::async_trait;
use sqlx::postgres::{
    PgArguments, PgConnectOptions, PgConnection, PgDatabaseError, PgErrorPosition, PgSslMode,
};
use sqlx::{AssertSqlSafe, Column, ConnectOptions, Connection, Row as _, TypeInfo, ValueRef};

pub mod introspect;
mod pool;
mod sql;

pub(crate) use pool::pool;

use super::sqlx_common::bind_all;
use super::{Backend, Capabilities, ConnectError, ConnectSpec, DbError, Dialect, Row, Value};
pub use sql::PostgresDialect;

pub struct PostgresBackend {
    conn: PgConnection,
    dialect: PostgresDialect,
    /// Session advisory locks are usable: not behind a transaction pooler (`?pgbouncer=true`
    /// in the URL says so), where a session lock would stick to a shared server connection.
    advisory: bool,
    /// This session holds the advisory lock.
    advisory_held: bool,
}

/// One advisory lock per schema: the lock of the `jetbase_lock` row in that schema.
const ADVISORY_KEY: &str = "hashtextextended('jetbase_lock:' || current_schema(), 0)";

/// Turn a sqlx error into a `DbError`, keeping the SQLSTATE and the error position.
pub(crate) fn db_error(e: &sqlx::Error) -> DbError {
    match e {
        sqlx::Error::Database(d) => {
            let position = d
                .try_downcast_ref::<PgDatabaseError>()
                .and_then(PgDatabaseError::position)
                .and_then(|p| match p {
                    PgErrorPosition::Original(n) => Some(n),
                    PgErrorPosition::Internal { .. } => None,
                });
            let detail = d
                .try_downcast_ref::<PgDatabaseError>()
                .and_then(|pg| pg.detail().map(str::to_owned));
            let mut message = d.message().to_owned();
            if let Some(detail) = detail {
                message.push_str(" (");
                message.push_str(&detail);
                message.push(')');
            }
            DbError {
                message,
                code: d.code().map(std::borrow::Cow::into_owned),
                position,
            }
        }
        other => DbError::new(other.to_string()),
    }
}

/// The connect options `spec` gives (the CLI's session and the pool's alike).
pub(crate) fn options(spec: &ConnectSpec) -> Result<PgConnectOptions, String> {
    let url = &spec.url;
    let mut o = PgConnectOptions::new_without_pgpass()
        .port(
            url.port()
                .or(url.kind.info().default_port)
                .unwrap_or_default(),
        )
        .application_name(&spec.application_name)
        .disable_statement_logging();
    if !spec.statement_cache {
        o = o.statement_cache_capacity(0);
    }
    if let Some(h) = url.host() {
        o = o.host(h);
    }
    if let Some(port) = url.param("port").and_then(|p| p.parse().ok()) {
        o = o.port(port);
    }
    // libpq's `host=/run/postgresql` (a folder) means a Unix socket.
    if let Some(dir) = url.param("host").filter(|h| h.starts_with('/')) {
        o = o.socket(Path::new(dir));
    } else if let Some(h) = url.param("host") {
        o = o.host(h);
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
    if let Some(mode) = url.param("sslmode").or_else(|| url.param("ssl")) {
        let mode = match mode {
            "true" | "1" => "require",
            "false" | "0" => "disable",
            m => m,
        };
        o = o.ssl_mode(PgSslMode::from_str(mode).map_err(|e| format!("sslmode: {e}"))?);
    }
    if let Some(root) = url.param("sslrootcert") {
        o = o.ssl_root_cert(root);
    }
    Ok(o)
}

/// Set a new session up as `spec` says, for the CLI and for every pooled connection: the
/// schema (which must exist) as the `search_path`, then the isolation level.
///
/// # Errors
/// A statement fails, or the schema does not exist.
pub(crate) async fn prepare_session(
    conn: &mut PgConnection,
    spec: &ConnectSpec,
) -> Result<(), ConnectError> {
    let fail = |e: &sqlx::Error| ConnectError::Failed {
        url: spec.url.to_string(),
        message: spec.url.redact(&db_error(e).message),
        transient: false,
    };
    if let Some(schema) = &spec.schema {
        let found = sqlx::query("SELECT 1 FROM pg_namespace WHERE nspname = $1")
            .bind(schema)
            .fetch_optional(&mut *conn)
            .await
            .map_err(|e| fail(&e))?;
        if found.is_none() {
            return Err(ConnectError::MissingSchema {
                schema: schema.clone(),
            });
        }
        let sql = format!("SET search_path TO {}", PostgresDialect.quote_ident(schema));
        sqlx::raw_sql(AssertSqlSafe(sql))
            .execute(&mut *conn)
            .await
            .map_err(|e| fail(&e))?;
    }
    let level = spec
        .isolation_level_sql()
        .map_err(|message| ConnectError::Failed {
            url: spec.url.to_string(),
            message,
            transient: false,
        })?;
    if let Some(level) = level {
        // One of four static spellings: no user text reaches the SQL.
        let sql = format!("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL {level}");
        sqlx::raw_sql(AssertSqlSafe(sql))
            .execute(&mut *conn)
            .await
            .map_err(|e| fail(&e))?;
    }
    Ok(())
}

/// This driver in the registry.
pub(crate) const CONNECTOR: super::registry::Connector = super::registry::Connector {
    kind: crate::drivers::BackendKind::Postgres,
    connect: |spec, _mode| {
        Box::pin(async move {
            PostgresBackend::connect(spec)
                .await
                .map(|b| Box::new(b) as Box<dyn Backend>)
        })
    },
};

impl PostgresBackend {
    /// Connect and set the session up (schema, isolation).
    ///
    /// # Errors
    /// Unreachable server, bad credentials, a schema that does not exist.
    pub async fn connect(spec: &ConnectSpec) -> Result<PostgresBackend, ConnectError> {
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
        Ok(PostgresBackend {
            conn,
            dialect: PostgresDialect,
            advisory: spec.session_locks,
            advisory_held: false,
        })
    }
}

fn read_row(row: &sqlx::postgres::PgRow) -> Result<Row, DbError> {
    let err = |e: sqlx::Error| db_error(&e);
    let mut out = Vec::with_capacity(row.columns().len());
    for (i, col) in row.columns().iter().enumerate() {
        if row.try_get_raw(i).map_err(err)?.is_null() {
            out.push(Value::Null);
            continue;
        }
        let v = match col.type_info().name() {
            "INT2" => Value::Int(i64::from(row.try_get::<i16, _>(i).map_err(err)?)),
            "INT4" => Value::Int(i64::from(row.try_get::<i32, _>(i).map_err(err)?)),
            "INT8" => Value::Int(row.try_get::<i64, _>(i).map_err(err)?),
            "BOOL" => Value::Bool(row.try_get::<bool, _>(i).map_err(err)?),
            "FLOAT4" => Value::Real(f64::from(row.try_get::<f32, _>(i).map_err(err)?)),
            "FLOAT8" => Value::Real(row.try_get::<f64, _>(i).map_err(err)?),
            "TIMESTAMP" => Value::Text(
                row.try_get::<chrono::NaiveDateTime, _>(i)
                    .map_err(err)?
                    .format("%Y-%m-%d %H:%M:%S%.6f")
                    .to_string(),
            ),
            "TIMESTAMPTZ" => Value::Text(
                row.try_get::<chrono::DateTime<chrono::Utc>, _>(i)
                    .map_err(err)?
                    .naive_utc()
                    .format("%Y-%m-%d %H:%M:%S%.6f")
                    .to_string(),
            ),
            _ => Value::Text(row.try_get::<String, _>(i).map_err(err)?),
        };
        out.push(v);
    }
    Ok(out)
}

#[async_trait]
impl Backend for PostgresBackend {
    fn dialect(&self) -> &dyn Dialect {
        &self.dialect
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            transactions: true,
            transactional_ddl: true,
            compare_and_set: true,
            session_locks: true,
            lock: super::LockProtocol::Row,
            shared: true,
        }
    }

    async fn ping(&mut self) -> Result<(), DbError> {
        self.conn.ping().await.map_err(|e| db_error(&e))
    }

    async fn begin(&mut self) -> Result<(), DbError> {
        self.execute_raw("BEGIN").await
    }

    async fn commit(&mut self) -> Result<(), DbError> {
        self.execute_raw("COMMIT").await
    }

    async fn rollback(&mut self) -> Result<(), DbError> {
        self.execute_raw("ROLLBACK").await
    }

    async fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        let args = bind_all::<PgArguments>(params)?;
        let done = sqlx::query_with(AssertSqlSafe(sql), args)
            .execute(&mut self.conn)
            .await
            .map_err(|e| db_error(&e))?;
        Ok(done.rows_affected())
    }

    async fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let args = bind_all::<PgArguments>(params)?;
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

    async fn try_session_lock(&mut self) -> Result<Option<bool>, DbError> {
        if !self.advisory {
            return Ok(None);
        }
        // Advisory locks stack within a session: take ours once, release it once.
        if self.advisory_held {
            return Ok(Some(true));
        }
        let rows = self
            .query(&format!("SELECT pg_try_advisory_lock({ADVISORY_KEY})"), &[])
            .await?;
        self.advisory_held = rows
            .first()
            .and_then(|r| r.first())
            .is_some_and(Value::as_bool);
        Ok(Some(self.advisory_held))
    }

    async fn release_session_lock(&mut self) -> Result<(), DbError> {
        if self.advisory_held {
            self.query(&format!("SELECT pg_advisory_unlock({ADVISORY_KEY})"), &[])
                .await?;
            self.advisory_held = false;
        }
        Ok(())
    }

    /// One round trip per file where it can: `BEGIN`, the statements as written, the fence,
    /// the history write and `COMMIT` go as one simple-protocol query (the five or more round
    /// trips of the statement-by-statement path cost most of an upgrade on a database a few
    /// milliseconds away). When that batch fails, nothing of it stayed (PostgreSQL rolls
    /// DDL back), and the unit runs again statement by statement, which reports the failing
    /// statement and its line exactly as before. Units the batch cannot express (a file
    /// outside a transaction, a guarded lock step, a value that cannot be written as a plain
    /// literal) take that path at once.
    async fn run_unit(&mut self, unit: &super::Unit<'_>) -> Result<(), super::UnitError> {
        if let Some(batch) = one_trip(unit) {
            match sqlx::raw_sql(AssertSqlSafe(batch))
                .execute(&mut self.conn)
                .await
            {
                Ok(_) => return Ok(()),
                Err(e) => {
                    let _ = self.execute_raw("ROLLBACK").await;
                    if db_error(&e).message.contains(FENCE_FAILED) {
                        return Err(super::UnitError::Fenced);
                    }
                }
            }
        }
        super::unit::run_in_session(self, unit, true).await
    }

    async fn close(self: Box<Self>) {
        let _ = self.conn.close().await;
    }
}

/// The message of the fence inside a one-trip batch.
const FENCE_FAILED: &str = "jetbase: the migration lock is no longer ours";

/// `unit` as one simple-protocol query, when it can be one: a transactional file whose
/// bookkeeping has no guard and whose values all write as plain literals.
fn one_trip(unit: &super::Unit<'_>) -> Option<String> {
    if !unit.transaction
        || unit.statements.is_empty()
        || unit
            .bookkeeping
            .iter()
            .any(|(_, expect)| *expect != super::Expect::Any)
    {
        return None;
    }
    let mut batch = String::from("BEGIN;\n");
    for stmt in unit.statements {
        batch.push_str(&stmt.sql);
        // A statement may end in a comment: the separator goes on a line of its own.
        batch.push_str("\n;\n");
    }
    if let Some(check) = unit.fence.and_then(|f| f()) {
        let expect = literal(&Value::Text(check.expect))?;
        batch.push_str(&format!(
            "DO $jetbase$ BEGIN IF ({}) IS DISTINCT FROM {expect} THEN \
             RAISE EXCEPTION '{FENCE_FAILED}'; END IF; END $jetbase$;\n",
            check.query.sql
        ));
    }
    for (step, _) in &unit.bookkeeping {
        batch.push_str(&inline(&step.sql, &step.params)?);
        batch.push_str(";\n");
    }
    batch.push_str("COMMIT;");
    Some(batch)
}

/// `sql` with its `$n` placeholders replaced by the literals of `params`.
fn inline(sql: &str, params: &[Value]) -> Option<String> {
    let mut out = sql.to_owned();
    // From the last, so that `$1` never matches the start of `$10`.
    for (i, value) in params.iter().enumerate().rev() {
        out = out.replace(&format!("${}", i + 1), &literal(value)?);
    }
    Some(out)
}

/// The one audited way a value becomes SQL text here: a standard string literal (quotes
/// doubled), which means the same whatever `standard_conforming_strings` says only when it
/// holds no backslash; such a value (and a NUL) gets `None`, and the unit is run with bound
/// parameters instead.
fn literal(value: &Value) -> Option<String> {
    Some(match value {
        Value::Null => "NULL".to_owned(),
        Value::Int(i) => i.to_string(),
        Value::Real(f) if f.is_finite() => format!("{f:?}"),
        Value::Real(_) => return None,
        Value::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_owned(),
        Value::Text(t) if t.contains(['\\', '\0']) => return None,
        Value::Text(t) => format!("'{}'", t.replace('\'', "''")),
    })
}

#[cfg(test)]
mod one_trip_tests {
    use super::*;
    use crate::backend::{Bound, Check, Expect, Unit};
    use crate::migration::Statement;

    fn st(sql: &str, line: usize) -> Statement {
        Statement {
            sql: sql.into(),
            line,
        }
    }

    #[test]
    fn one_trip_batches_a_file_its_fence_and_its_history_write() {
        let statements = [
            st("CREATE TABLE t (id INT) -- note", 1),
            st("INSERT INTO t VALUES (1)", 2),
        ];
        let fence = || {
            Some(Check {
                query: Bound::new(
                    "SELECT process_id FROM jetbase_lock WHERE id = 1 FOR UPDATE".into(),
                    vec![],
                ),
                expect: "p-1".into(),
                needed: false,
            })
        };
        let unit = Unit {
            statements: &statements,
            transaction: true,
            foreign_keys_off: false,
            fence: Some(&fence),
            bookkeeping: vec![(
                Bound::new(
                    "INSERT INTO h (a, b, c) VALUES ($1, $2, $3)".into(),
                    vec![Value::from("it's"), Value::Null, Value::Int(10)],
                ),
                Expect::Any,
            )],
        };
        let batch = one_trip(&unit).unwrap();
        assert!(
            batch.starts_with(
                "BEGIN;\nCREATE TABLE t (id INT) -- note\n;\nINSERT INTO t VALUES (1)\n;\n"
            ),
            "{batch}"
        );
        assert!(batch.contains("IS DISTINCT FROM 'p-1' THEN"), "{batch}");
        assert!(
            batch.contains("VALUES ('it''s', NULL, 10);\nCOMMIT;"),
            "{batch}"
        );
    }

    #[test]
    fn one_trip_declines_what_it_cannot_write() {
        let statements = [st("SELECT 1", 1)];
        let with = |params: Vec<Value>, expect: Expect, transaction: bool| {
            one_trip(&Unit {
                statements: &statements,
                transaction,
                foreign_keys_off: false,
                fence: None,
                bookkeeping: vec![(Bound::new("X $1".into(), params), expect)],
            })
        };
        assert!(
            with(vec![Value::from("a\\b")], Expect::Any, true).is_none(),
            "backslash"
        );
        assert!(
            with(vec![Value::from("a")], Expect::OneRow, true).is_none(),
            "guard"
        );
        assert!(
            with(vec![Value::from("a")], Expect::Any, false).is_none(),
            "transaction=false"
        );
        assert_eq!(
            inline("$1 $10 $2", &(1..=10).map(Value::Int).collect::<Vec<_>>()).unwrap(),
            "1 10 2"
        );
    }
}
