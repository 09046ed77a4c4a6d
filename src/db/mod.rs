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

use std::path::Path;
use std::time::Duration;

use sqlx::Database;
use sqlx::pool::PoolOptions;

#[cfg(feature = "mysql")]
use crate::backend::mysql;
#[cfg(feature = "postgres")]
use crate::backend::postgres;
use crate::backend::{ConnectSpec, sqlite};
use crate::env::{self, EnvError, EnvVars};
use crate::url::{BackendKind, DatabaseUrl, UrlError};

pub use crate::backend::sqlx_common::{is_conflict, is_transient};
pub use crate::retry::RetryPolicy;

/// Everything that shapes the pool, with the environment keys that set it.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// The database and the session setup, exactly as the CLI opens it: URL, base folder
    /// for relative SQLite paths, `postgres_schema`, application name, isolation level,
    /// statement cache, SQLite's foreign keys, journal mode and busy timeout.
    pub spec: ConnectSpec,
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

impl From<EnvError> for DbSetupError {
    fn from(e: EnvError) -> Self {
        DbSetupError::BadValue {
            key: e.key,
            expected: e.expected,
            got: e.got,
        }
    }
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

/// The waiting policy from `DB_MAX_RETRIES`, `DB_RETRY_DELAY`, `DB_RETRY_BACKOFF`,
/// `DB_RETRY_MAX_DELAY`.
///
/// # Errors
/// A value that does not parse.
pub fn retry_from_env(env: &EnvVars) -> Result<RetryPolicy, DbSetupError> {
    Ok(RetryPolicy::from_env(env)?)
}

impl PoolSettings {
    /// Defaults for `url`.
    #[must_use]
    pub fn new(url: DatabaseUrl, base_dir: &Path) -> PoolSettings {
        PoolSettings::with_spec(ConnectSpec::new(url, base_dir))
    }

    /// Defaults around a connection spec.
    #[must_use]
    pub fn with_spec(spec: ConnectSpec) -> PoolSettings {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        PoolSettings {
            spec,
            pool_size: u32::try_from(2 * cores + 1).unwrap_or(5),
            max_overflow: 10,
            idle_timeout: Duration::from_secs(60),
            acquire_timeout: Duration::from_secs(30),
            recycle: Duration::from_secs(1800),
            pre_ping: true,
            retry: RetryPolicy::default(),
        }
    }

    /// The database URL.
    #[must_use]
    pub fn url(&self) -> &DatabaseUrl {
        &self.spec.url
    }

    /// Settings from the environment: the URL from `JETBASE_SQLALCHEMY_URL`,
    /// `DATABASE_URL` or the `DB_TYPE`/`DB_HOST`/`DB_PORT`/`DB_NAME`/`DB_USER`/`DB_PASS`
    /// parts (resolved as the CLI resolves them), `JETBASE_POSTGRES_SCHEMA`, and every tuning
    /// key of [`PoolSettings`] and [`ConnectSpec`].
    ///
    /// # Errors
    /// No URL, or a value that does not parse.
    pub fn from_env(env: &EnvVars, base_dir: &Path) -> Result<PoolSettings, DbSetupError> {
        let url = crate::config::url_from_env(env)
            .map_err(|e| match e {
                crate::config::ConfigError::Url { error, .. } => DbSetupError::Url(error),
                other => DbSetupError::BadValue {
                    key: "DB_TYPE/DB_PORT".into(),
                    expected: "a database type and a port number",
                    got: other.to_string(),
                },
            })?
            .ok_or(DbSetupError::NoUrl)?;
        let mut s = Self::tuned(url, env, base_dir)?;
        s.spec = s.spec.with_schema(env::var(env, "JETBASE_POSTGRES_SCHEMA"));
        Ok(s)
    }

    /// The pool for what the CLI resolved for a project (URL, `postgres_schema`, session
    /// keys), tuned by the environment: an application that migrates a project and then
    /// serves from the pool sees the same schema the migrations went into.
    ///
    /// # Errors
    /// A value that does not parse.
    pub fn from_settings(
        settings: &crate::config::Settings,
        env: &EnvVars,
    ) -> Result<PoolSettings, DbSetupError> {
        Self::tuned_spec(settings.connect.clone(), env)
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
        Self::tuned_spec(ConnectSpec::new(url, base_dir).with_env(env)?, env)
    }

    fn tuned_spec(spec: ConnectSpec, vars: &EnvVars) -> Result<PoolSettings, DbSetupError> {
        let d = PoolSettings::with_spec(spec);
        Ok(PoolSettings {
            pool_size: env::num(vars, "DB_POOL_SIZE", d.pool_size, "a whole number")?.max(1),
            max_overflow: env::num(vars, "DB_MAX_OVERFLOW", d.max_overflow, "a whole number")?,
            idle_timeout: env::secs(vars, "DB_POOL_IDLE_TIMEOUT", d.idle_timeout.as_secs_f64())?,
            acquire_timeout: env::secs(vars, "DB_POOL_TIMEOUT", d.acquire_timeout.as_secs_f64())?,
            recycle: env::secs(vars, "DB_POOL_RECYCLE", d.recycle.as_secs_f64())?,
            pre_ping: env::flag(vars, "DB_POOL_PRE_PING", d.pre_ping)?,
            retry: RetryPolicy::from_env(vars)?,
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
                self.spec.isolation_level.clone().unwrap_or_default(),
            ),
            ("statement_cache", self.spec.statement_cache.to_string()),
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
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgPool),
    #[cfg(feature = "mysql")]
    MySql(sqlx::MySqlPool),
}

impl Pool {
    /// Close every connection.
    pub async fn close(&self) {
        match self {
            Pool::Sqlite(p) => p.close().await,
            #[cfg(feature = "postgres")]
            Pool::Postgres(p) => p.close().await,
            #[cfg(feature = "mysql")]
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

async fn build(s: &PoolSettings) -> Result<Pool, sqlx::Error> {
    // Each driver builds its own pool (connect options and session setup as its CLI
    // connection has them); this module only shapes the pool and names the result.
    let spec = &s.spec;
    match spec.url.kind {
        BackendKind::Sqlite => Ok(Pool::Sqlite(sqlite::pool(spec, pool_options(s)).await?)),
        #[cfg(feature = "postgres")]
        BackendKind::Postgres => Ok(Pool::Postgres(postgres::pool(spec, pool_options(s)).await?)),
        #[cfg(feature = "mysql")]
        BackendKind::MySql => Ok(Pool::MySql(mysql::pool(spec, pool_options(s)).await?)),
        _ => Err(sqlx::Error::Configuration("unsupported backend".into())),
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
    crate::retry::on_conflict(attempts, is_conflict, async || work().await).await
}

/// Wait for the database and return a ready pool; `on_retry` hears of every failed attempt.
///
/// # Errors
/// The database stayed unreachable, refused the credentials, or the settings are wrong.
pub async fn connect(
    settings: &PoolSettings,
    mut on_retry: impl FnMut(&Attempt),
) -> Result<Pool, DbSetupError> {
    let url = &settings.spec.url;
    if crate::backend::registry::connector(url.kind).is_none() {
        return Err(DbSetupError::Unsupported {
            backend: url.kind.name(),
        });
    }
    let (result, attempts) = crate::retry::wait_for(
        &settings.retry,
        || build(settings),
        is_transient,
        |failed| {
            on_retry(&Attempt {
                number: failed.number,
                of: failed.of,
                url: url.to_string(),
                reason: url.redact(&failed.error.to_string()),
                retry_in: Some(failed.retry_in),
            });
        },
    )
    .await;
    result.map_err(|e| DbSetupError::Unreachable {
        url: url.to_string(),
        attempts,
        message: url.redact(&e.to_string()),
    })
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
        assert_eq!(s.url().to_string(), "postgresql://app:***@db:5432/shop");
        assert_eq!((s.pool_size, s.max_overflow), (4, 2));
        assert_eq!(s.recycle, Duration::from_secs(90));
        assert!(!s.pre_ping);
        assert_eq!(s.spec.isolation_level.as_deref(), Some("READ COMMITTED"));
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
    fn pool_reads_db_password_and_the_url_as_the_cli_does() {
        let e = env(&[
            ("DB_TYPE", "mysql"),
            ("DB_USER", "app"),
            ("DB_PASSWORD", "pw2"),
        ]);
        let s = PoolSettings::from_env(&e, Path::new("/p")).unwrap();
        assert_eq!(s.url().password(), Some("pw2"));
        assert_eq!(s.url().to_string(), "mysql://app:***@localhost:3306");
    }

    #[test]
    fn pgbouncer_url_turns_the_statement_cache_off() {
        let s = PoolSettings::new(
            DatabaseUrl::parse("postgresql://u@h/db?pgbouncer=true").unwrap(),
            Path::new("/"),
        );
        assert!(!s.spec.statement_cache);
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
