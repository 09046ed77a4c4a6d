//! The connection layer for applications: settings from the environment (or built in code)
//! turned into a tuned sqlx pool for SQLite, PostgreSQL or MySQL/MariaDB, after waiting for
//! the database to come up. The CLI uses the same waiting policy before it connects.
//!
//! ```no_run
//! # async fn demo() -> Result<(), jetbase::db::DbSetupError> {
//! use jetbase::db::{Pool, PoolSettings};
//! // DATABASE_URL, JETBASE_SQLALCHEMY_URL, DB_TYPE/DB_HOST/..., DB_POOL_SIZE, DB_MAX_RETRIES...
//! let env: jetbase::config::EnvVars = std::env::vars().collect();
//! let settings = PoolSettings::from_env(&env, std::path::Path::new("."))?;
//! let pool = jetbase::db::connect(&settings, |attempt| eprintln!("{attempt}")).await?;
//! if let Pool::Postgres(pg) = &pool {
//!     let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(pg).await.map_err(|e| jetbase::db::DbSetupError::from_sqlx(&e))?;
//!     assert_eq!(one, 1);
//! }
//! # Ok(()) }
//! ```

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::pool::PoolOptions;
use sqlx::{AssertSqlSafe, ConnectOptions, Database, Executor};

use crate::config::EnvVars;
use crate::url::{BackendKind, DatabaseUrl, SqliteTarget, UrlError};

/// How to wait for a database that is not up yet.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts after the first (`DB_MAX_RETRIES`).
    pub max_retries: u32,
    /// Pause after a failed attempt (`DB_RETRY_DELAY`, seconds).
    pub delay: Duration,
    /// Double the pause after each attempt (`DB_RETRY_BACKOFF=exponential`)...
    pub exponential: bool,
    /// ...up to this (`DB_RETRY_MAX_DELAY`, seconds).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 0,
            delay: Duration::from_secs(2),
            exponential: false,
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The pause after failed attempt `n` (1-based).
    #[must_use]
    pub fn pause(&self, n: u32) -> Duration {
        if self.exponential {
            let factor = 2u32.saturating_pow(n.saturating_sub(1).min(16));
            self.delay.saturating_mul(factor).min(self.max_delay)
        } else {
            self.delay
        }
    }
}

/// Everything that shapes the pool, with the environment keys that set it.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub url: DatabaseUrl,
    /// Relative SQLite paths resolve against this folder.
    pub base_dir: PathBuf,
    /// Connections kept open (`DB_POOL_SIZE`; default 2 x cores + 1).
    pub pool_size: u32,
    /// Extra connections beyond the pool, closed when idle (`DB_MAX_OVERFLOW`, default 10).
    pub max_overflow: u32,
    /// How long an overflow connection may stay idle (`DB_POOL_IDLE_TIMEOUT`, default 60 s).
    pub idle_timeout: Duration,
    /// How long to wait for a free connection (`DB_POOL_TIMEOUT`, default 30 s).
    pub acquire_timeout: Duration,
    /// Replace connections older than this (`DB_POOL_RECYCLE`, default 1,800 s: MySQL drops
    /// idle connections after 8 h, proxies sooner).
    pub recycle: Duration,
    /// Test a connection before handing it out (`DB_POOL_PRE_PING`, default true).
    pub pre_ping: bool,
    /// `READ COMMITTED`, `REPEATABLE READ`, `SERIALIZABLE`... (`DB_ISOLATION_LEVEL`).
    pub isolation_level: Option<String>,
    /// Prepared-statement cache; off behind PgBouncer's transaction pooling
    /// (`DB_STATEMENT_CACHE=false`, or `?pgbouncer=true` in the URL).
    pub statement_cache: bool,
    /// `DB_APPLICATION_NAME` (PostgreSQL), default `jetbase`.
    pub application_name: String,
    /// SQLite: write-ahead logging (`DB_SQLITE_WAL=true`, or `?journal_mode=wal`).
    pub sqlite_wal: bool,
    /// SQLite: how long a writer waits for another (`DB_SQLITE_BUSY_TIMEOUT`, default 5 s).
    pub sqlite_busy_timeout: Duration,
    pub retry: RetryPolicy,
}

/// Failures of the connection layer. Messages never carry a password.
#[derive(Debug, thiserror::Error)]
pub enum DbSetupError {
    #[error(
        "no database URL: set DATABASE_URL (or JETBASE_SQLALCHEMY_URL, or DB_TYPE/DB_HOST/...)"
    )]
    NoUrl,
    #[error(transparent)]
    Url(#[from] UrlError),
    #[error("{key} must be {expected}, got {got:?}")]
    BadValue {
        key: String,
        expected: &'static str,
        got: String,
    },
    #[error("{backend} has no pool in this build")]
    Unsupported { backend: &'static str },
    #[error("cannot connect to {url} after {attempts} attempt(s): {message}")]
    Unreachable {
        url: String,
        attempts: u32,
        message: String,
    },
    #[error("database error: {message}")]
    Sqlx { message: String },
}

impl DbSetupError {
    /// Wrap a driver error, with any `user:pass@` scrubbed.
    #[must_use]
    pub fn from_sqlx(e: &sqlx::Error) -> DbSetupError {
        DbSetupError::Sqlx {
            message: crate::url::scrub_userinfo(&e.to_string()),
        }
    }
}

fn var<'a>(env: &'a EnvVars, key: &str) -> Option<&'a str> {
    env.get(key)
        .map(String::as_str)
        .filter(|v| !v.trim().is_empty())
}

fn num<T: FromStr>(
    env: &EnvVars,
    key: &str,
    default: T,
    expected: &'static str,
) -> Result<T, DbSetupError> {
    match var(env, key) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| DbSetupError::BadValue {
            key: key.to_owned(),
            expected,
            got: v.to_owned(),
        }),
    }
}

fn secs(env: &EnvVars, key: &str, default: f64) -> Result<Duration, DbSetupError> {
    let v: f64 = num(env, key, default, "a number of seconds")?;
    Duration::try_from_secs_f64(v).map_err(|_| DbSetupError::BadValue {
        key: key.to_owned(),
        expected: "a number of seconds, 0 or more",
        got: v.to_string(),
    })
}

fn flag(env: &EnvVars, key: &str, default: bool) -> Result<bool, DbSetupError> {
    match var(env, key).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if matches!(v.as_str(), "1" | "true" | "yes" | "on") => Ok(true),
        Some(v) if matches!(v.as_str(), "0" | "false" | "no" | "off") => Ok(false),
        Some(v) => Err(DbSetupError::BadValue {
            key: key.to_owned(),
            expected: "true or false",
            got: v,
        }),
    }
}

/// The waiting policy from `DB_MAX_RETRIES`, `DB_RETRY_DELAY`, `DB_RETRY_BACKOFF`,
/// `DB_RETRY_MAX_DELAY`.
///
/// # Errors
/// A value that does not parse.
pub fn retry_from_env(env: &EnvVars) -> Result<RetryPolicy, DbSetupError> {
    let d = RetryPolicy::default();
    Ok(RetryPolicy {
        max_retries: num(env, "DB_MAX_RETRIES", d.max_retries, "a whole number")?,
        delay: secs(env, "DB_RETRY_DELAY", d.delay.as_secs_f64())?,
        exponential: matches!(
            var(env, "DB_RETRY_BACKOFF")
                .map(str::to_ascii_lowercase)
                .as_deref(),
            Some("exponential" | "exp" | "true" | "1")
        ),
        max_delay: secs(env, "DB_RETRY_MAX_DELAY", d.max_delay.as_secs_f64())?,
    })
}

impl PoolSettings {
    /// Defaults for `url`.
    #[must_use]
    pub fn new(url: DatabaseUrl, base_dir: &Path) -> PoolSettings {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let pgbouncer = url
            .param("pgbouncer")
            .is_some_and(|v| matches!(v, "true" | "1" | "yes"));
        let sqlite_wal = url
            .param("journal_mode")
            .is_some_and(|v| v.eq_ignore_ascii_case("wal"));
        PoolSettings {
            url,
            base_dir: base_dir.to_path_buf(),
            pool_size: u32::try_from(2 * cores + 1).unwrap_or(5),
            max_overflow: 10,
            idle_timeout: Duration::from_secs(60),
            acquire_timeout: Duration::from_secs(30),
            recycle: Duration::from_secs(1800),
            pre_ping: true,
            isolation_level: None,
            statement_cache: !pgbouncer,
            application_name: "jetbase".into(),
            sqlite_wal,
            sqlite_busy_timeout: Duration::from_secs(5),
            retry: RetryPolicy::default(),
        }
    }

    /// Settings from the environment: the URL from `JETBASE_SQLALCHEMY_URL`,
    /// `DATABASE_URL` or the `DB_TYPE`/`DB_HOST`/`DB_PORT`/`DB_NAME`/`DB_USER`/`DB_PASS`
    /// parts, and every tuning key of [`PoolSettings`].
    ///
    /// # Errors
    /// No URL, or a value that does not parse.
    pub fn from_env(env: &EnvVars, base_dir: &Path) -> Result<PoolSettings, DbSetupError> {
        let url = if let Some(u) =
            var(env, "JETBASE_SQLALCHEMY_URL").or_else(|| var(env, "DATABASE_URL"))
        {
            DatabaseUrl::parse(u)?
        } else if let Some(kind) = var(env, "DB_TYPE") {
            let kind = match kind.to_ascii_lowercase().as_str() {
                "postgres" | "postgresql" | "pg" => BackendKind::Postgres,
                "mysql" | "mariadb" => BackendKind::MySql,
                "sqlite" | "sqlite3" => {
                    let name = var(env, "DB_NAME").unwrap_or("jetbase.db");
                    return Self::tuned(
                        DatabaseUrl::parse(&format!("sqlite:///{name}"))?,
                        env,
                        base_dir,
                    );
                }
                other => {
                    return Err(DbSetupError::BadValue {
                        key: "DB_TYPE".into(),
                        expected: "postgres, mysql, mariadb or sqlite",
                        got: other.to_owned(),
                    });
                }
            };
            let default_port = if kind == BackendKind::Postgres {
                5432
            } else {
                3306
            };
            DatabaseUrl::from_parts(
                kind,
                var(env, "DB_USER"),
                var(env, "DB_PASS").or_else(|| var(env, "DB_PASSWORD")),
                Some(var(env, "DB_HOST").unwrap_or("localhost")),
                Some(num(env, "DB_PORT", default_port, "a port number")?),
                var(env, "DB_NAME"),
            )
        } else {
            return Err(DbSetupError::NoUrl);
        };
        Self::tuned(url, env, base_dir)
    }

    /// Settings for `url` with the tuning keys of the environment.
    ///
    /// # Errors
    /// A value that does not parse.
    pub fn tuned(
        url: DatabaseUrl,
        env: &EnvVars,
        base_dir: &Path,
    ) -> Result<PoolSettings, DbSetupError> {
        let d = PoolSettings::new(url, base_dir);
        Ok(PoolSettings {
            pool_size: num(env, "DB_POOL_SIZE", d.pool_size, "a whole number")?.max(1),
            max_overflow: num(env, "DB_MAX_OVERFLOW", d.max_overflow, "a whole number")?,
            idle_timeout: secs(env, "DB_POOL_IDLE_TIMEOUT", d.idle_timeout.as_secs_f64())?,
            acquire_timeout: secs(env, "DB_POOL_TIMEOUT", d.acquire_timeout.as_secs_f64())?,
            recycle: secs(env, "DB_POOL_RECYCLE", d.recycle.as_secs_f64())?,
            pre_ping: flag(env, "DB_POOL_PRE_PING", d.pre_ping)?,
            isolation_level: var(env, "DB_ISOLATION_LEVEL")
                .map(|v| v.trim().replace('_', " ").to_ascii_uppercase()),
            statement_cache: flag(env, "DB_STATEMENT_CACHE", d.statement_cache)?,
            application_name: var(env, "DB_APPLICATION_NAME")
                .map_or(d.application_name.clone(), str::to_owned),
            sqlite_wal: flag(env, "DB_SQLITE_WAL", d.sqlite_wal)?,
            sqlite_busy_timeout: secs(
                env,
                "DB_SQLITE_BUSY_TIMEOUT",
                d.sqlite_busy_timeout.as_secs_f64(),
            )?,
            retry: retry_from_env(env)?,
            ..d
        })
    }

    /// The key/value pairs `jetbase config` shows (no secrets in them).
    #[must_use]
    pub fn describe(&self) -> Vec<(&'static str, String)> {
        vec![
            ("pool_size", self.pool_size.to_string()),
            ("max_overflow", self.max_overflow.to_string()),
            (
                "pool_timeout",
                format!("{} s", self.acquire_timeout.as_secs_f64()),
            ),
            ("pool_recycle", format!("{} s", self.recycle.as_secs_f64())),
            (
                "pool_idle_timeout",
                format!("{} s", self.idle_timeout.as_secs_f64()),
            ),
            ("pool_pre_ping", self.pre_ping.to_string()),
            (
                "isolation_level",
                self.isolation_level.clone().unwrap_or_default(),
            ),
            ("statement_cache", self.statement_cache.to_string()),
            ("max_retries", self.retry.max_retries.to_string()),
            (
                "retry_delay",
                format!("{} s", self.retry.delay.as_secs_f64()),
            ),
            (
                "retry_backoff",
                if self.retry.exponential {
                    "exponential".into()
                } else {
                    "fixed".into()
                },
            ),
        ]
    }
}

/// A ready pool of the right driver.
#[derive(Debug, Clone)]
pub enum Pool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
    MySql(sqlx::MySqlPool),
}

impl Pool {
    /// Close every connection.
    pub async fn close(&self) {
        match self {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
            Pool::MySql(p) => p.close().await,
        }
    }
}

/// One failed attempt while waiting for the database, for logs (password masked).
#[derive(Debug, Clone)]
pub struct Attempt {
    pub number: u32,
    pub of: u32,
    pub url: String,
    pub reason: String,
    pub retry_in: Option<Duration>,
}

impl std::fmt::Display for Attempt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "database not ready (attempt {}/{}): {}: {}",
            self.number, self.of, self.url, self.reason
        )?;
        if let Some(d) = self.retry_in {
            write!(f, "; retrying in {:.1} s", d.as_secs_f64())?;
        }
        Ok(())
    }
}

fn pool_options<DB: Database>(s: &PoolSettings) -> PoolOptions<DB> {
    PoolOptions::<DB>::new()
        .min_connections(s.pool_size)
        .max_connections(s.pool_size + s.max_overflow)
        .idle_timeout(Some(s.idle_timeout))
        .max_lifetime(Some(s.recycle))
        .acquire_timeout(s.acquire_timeout)
        .test_before_acquire(s.pre_ping)
}

fn isolation_sql(kind: BackendKind, level: &str) -> Option<String> {
    match kind {
        BackendKind::Postgres => Some(format!(
            "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL {level}"
        )),
        BackendKind::MySql => Some(format!("SET SESSION TRANSACTION ISOLATION LEVEL {level}")),
        _ => None,
    }
}

fn valid_isolation(level: &str) -> bool {
    matches!(
        level,
        "READ UNCOMMITTED" | "READ COMMITTED" | "REPEATABLE READ" | "SERIALIZABLE"
    )
}

/// One plain connection, opened and closed: it fails at once when the server is down,
/// where the pool would keep retrying until its acquire timeout.
async fn probe<O>(opts: &O) -> Result<(), sqlx::Error>
where
    O: ConnectOptions,
    O::Connection: Sized,
{
    use sqlx::Connection;
    opts.connect().await?.close().await
}

async fn build(s: &PoolSettings) -> Result<Pool, sqlx::Error> {
    let level = s.isolation_level.clone().filter(|l| valid_isolation(l));
    let after =
        isolation_sql(s.url.kind, level.as_deref().unwrap_or("")).filter(|_| level.is_some());
    match s.url.kind {
        BackendKind::Sqlite => {
            let target = s
                .url
                .sqlite_target(&s.base_dir)
                .unwrap_or(SqliteTarget::Memory);
            let base = sqlx::sqlite::SqliteConnectOptions::new()
                .foreign_keys(false)
                .busy_timeout(s.sqlite_busy_timeout)
                .disable_statement_logging();
            match target {
                // One shared connection, never closed: every handle sees the same database.
                SqliteTarget::Memory => {
                    let opts = base.in_memory(true).shared_cache(true);
                    let pool = PoolOptions::<sqlx::Sqlite>::new()
                        .min_connections(1)
                        .max_connections(1)
                        .idle_timeout(None)
                        .max_lifetime(None)
                        .acquire_timeout(s.acquire_timeout)
                        .connect_with(opts)
                        .await?;
                    Ok(Pool::Sqlite(pool))
                }
                SqliteTarget::File(path) => {
                    let mut opts = base.filename(path).create_if_missing(true);
                    if s.sqlite_wal {
                        opts = opts.journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
                    }
                    probe(&opts).await?;
                    Ok(Pool::Sqlite(pool_options(s).connect_with(opts).await?))
                }
            }
        }
        BackendKind::Postgres => {
            let mut opts = crate::backend::postgres::options(&s.url)
                .map_err(|m| sqlx::Error::Configuration(m.into()))?
                .application_name(&s.application_name)
                .disable_statement_logging();
            if !s.statement_cache {
                opts = opts.statement_cache_capacity(0);
            }
            let mut po = pool_options::<sqlx::Postgres>(s);
            if let Some(sql) = after {
                po = po.after_connect(move |conn, _| {
                    let sql = sql.clone();
                    Box::pin(async move { conn.execute(AssertSqlSafe(sql)).await.map(|_| ()) })
                });
            }
            probe(&opts).await?;
            Ok(Pool::Postgres(po.connect_with(opts).await?))
        }
        BackendKind::MySql => {
            let mut opts = crate::backend::mysql::options(&s.url)
                .map_err(|m| sqlx::Error::Configuration(m.into()))?
                .collation(s.url.param("collation").unwrap_or("utf8mb4_unicode_ci"))
                .disable_statement_logging();
            if !s.statement_cache {
                opts = opts.statement_cache_capacity(0);
            }
            let mut po = pool_options::<sqlx::MySql>(s);
            if let Some(sql) = after {
                po = po.after_connect(move |conn, _| {
                    let sql = sql.clone();
                    Box::pin(async move { conn.execute(AssertSqlSafe(sql)).await.map(|_| ()) })
                });
            }
            probe(&opts).await?;
            Ok(Pool::MySql(po.connect_with(opts).await?))
        }
        _ => Err(sqlx::Error::Configuration("unsupported backend".into())),
    }
}

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

/// True when the database aborted the transaction to resolve a conflict and running it again
/// is the cure: a deadlock, or a Galera certification failure (MySQL 1213, SQLSTATE 40001,
/// PostgreSQL 40P01 / serialization failure).
#[must_use]
pub fn is_conflict(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => {
            matches!(d.code().as_deref(), Some("40001" | "40P01" | "1213"))
                || d.message().contains("Deadlock found")
        }
        _ => false,
    }
}

/// Run a transaction body again when the database aborted it for a conflict (on Galera, a
/// certification failure surfaces as a deadlock at commit): up to `attempts` times, with a
/// short growing pause. `work` must run the whole transaction, from begin to commit.
///
/// # Errors
/// The last error, or the first one that is not a conflict.
pub async fn retry_on_conflict<T, F, Fut>(attempts: u32, mut work: F) -> Result<T, sqlx::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, sqlx::Error>>,
{
    let mut n = 0;
    loop {
        n += 1;
        match work().await {
            Err(e) if n < attempts.max(1) && is_conflict(&e) => {
                tokio::time::sleep(Duration::from_millis(5 * u64::from(n))).await;
            }
            other => return other,
        }
    }
}

/// Wait for the database and return a ready pool; `on_retry` hears of every failed attempt.
///
/// # Errors
/// The database stayed unreachable, refused the credentials, or the settings are wrong.
pub async fn connect(
    settings: &PoolSettings,
    mut on_retry: impl FnMut(&Attempt),
) -> Result<Pool, DbSetupError> {
    if !matches!(
        settings.url.kind,
        BackendKind::Sqlite | BackendKind::Postgres | BackendKind::MySql
    ) {
        return Err(DbSetupError::Unsupported {
            backend: settings.url.kind.name(),
        });
    }
    if let Some(level) = &settings.isolation_level
        && !valid_isolation(level)
    {
        return Err(DbSetupError::BadValue {
            key: "DB_ISOLATION_LEVEL".into(),
            expected: "READ UNCOMMITTED, READ COMMITTED, REPEATABLE READ or SERIALIZABLE",
            got: level.clone(),
        });
    }
    let total = settings.retry.max_retries + 1;
    let mut n = 0;
    loop {
        n += 1;
        match build(settings).await {
            Ok(pool) => return Ok(pool),
            Err(e) => {
                let reason = settings.url.redact(&e.to_string());
                if !is_transient(&e) || n >= total {
                    return Err(DbSetupError::Unreachable {
                        url: settings.url.to_string(),
                        attempts: n,
                        message: reason,
                    });
                }
                let pause = settings.retry.pause(n);
                on_retry(&Attempt {
                    number: n,
                    of: total,
                    url: settings.url.to_string(),
                    reason,
                    retry_in: Some(pause),
                });
                tokio::time::sleep(pause).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> EnvVars {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    #[test]
    fn pool_settings_from_env_read_every_key() {
        let e = env(&[
            ("DB_TYPE", "postgres"),
            ("DB_HOST", "db"),
            ("DB_USER", "app"),
            ("DB_PASS", "s3cret"),
            ("DB_NAME", "shop"),
            ("DB_POOL_SIZE", "4"),
            ("DB_MAX_OVERFLOW", "2"),
            ("DB_POOL_RECYCLE", "90"),
            ("DB_POOL_PRE_PING", "false"),
            ("DB_ISOLATION_LEVEL", "read_committed"),
            ("DB_MAX_RETRIES", "3"),
            ("DB_RETRY_DELAY", "0.5"),
            ("DB_RETRY_BACKOFF", "exponential"),
        ]);
        let s = PoolSettings::from_env(&e, Path::new("/p")).unwrap();
        assert_eq!(s.url.to_string(), "postgresql://app:***@db:5432/shop");
        assert_eq!((s.pool_size, s.max_overflow), (4, 2));
        assert_eq!(s.recycle, Duration::from_secs(90));
        assert!(!s.pre_ping);
        assert_eq!(s.isolation_level.as_deref(), Some("READ COMMITTED"));
        assert_eq!(s.retry.max_retries, 3);
        assert_eq!(s.retry.pause(1), Duration::from_millis(500));
        assert_eq!(s.retry.pause(3), Duration::from_secs(2));
        assert!(!format!("{s:?}").contains("s3cret"));
        let bad = PoolSettings::from_env(
            &env(&[("DATABASE_URL", "sqlite://"), ("DB_POOL_SIZE", "many")]),
            Path::new("/p"),
        );
        assert!(matches!(bad, Err(DbSetupError::BadValue { .. })));
        assert!(matches!(
            PoolSettings::from_env(&env(&[]), Path::new("/p")),
            Err(DbSetupError::NoUrl)
        ));
    }

    #[test]
    fn retry_pause_is_capped() {
        let r = RetryPolicy {
            max_retries: 20,
            delay: Duration::from_secs(1),
            exponential: true,
            max_delay: Duration::from_secs(5),
        };
        let pauses: Vec<u64> = (1..=5).map(|n| r.pause(n).as_secs()).collect();
        assert_eq!(pauses, vec![1, 2, 4, 5, 5]);
    }

    #[test]
    fn pgbouncer_url_turns_the_statement_cache_off() {
        let s = PoolSettings::new(
            DatabaseUrl::parse("postgresql://u@h/db?pgbouncer=true").unwrap(),
            Path::new("/"),
        );
        assert!(!s.statement_cache);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn in_memory_sqlite_is_one_shared_connection() {
        let s = PoolSettings::new(DatabaseUrl::parse("sqlite://").unwrap(), Path::new("/"));
        let Pool::Sqlite(pool) = connect(&s, |_| {}).await.unwrap() else {
            panic!("not sqlite")
        };
        sqlx::query("CREATE TABLE t (x INTEGER)")
            .execute(&pool)
            .await
            .unwrap();
        let other = pool.clone();
        sqlx::query("INSERT INTO t VALUES (1)")
            .execute(&other)
            .await
            .unwrap();
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(n, 1, "every handle sees the same in-memory database");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn unreachable_server_fails_after_the_retries_without_the_password() {
        let mut s = PoolSettings::new(
            DatabaseUrl::parse("postgresql://app:Sup3rS3cret@127.0.0.1:1/db").unwrap(),
            Path::new("/"),
        );
        s.retry = RetryPolicy {
            max_retries: 2,
            delay: Duration::from_millis(10),
            ..RetryPolicy::default()
        };
        let mut seen = Vec::new();
        let err = connect(&s, |a| seen.push(a.to_string())).await.unwrap_err();
        assert_eq!(seen.len(), 2, "{seen:?}");
        let text = format!("{err} {seen:?}");
        assert!(text.contains("after 3 attempt(s)"), "{text}");
        assert!(!text.contains("Sup3rS3cret"), "{text}");
    }
}
