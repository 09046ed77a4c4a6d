//! The connection spec: everything a driver needs to open a session, built once from the
//! settings (URL, `postgres_schema`, the `DB_*` session keys) and used by both the CLI's
//! connection and the `jetbase::db` pool, so the two cannot disagree about the schema,
//! SQLite's foreign keys or journal mode, the application name or the isolation level.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::env::{self, EnvError, EnvVars};
use crate::url::DatabaseUrl;

/// SQLite session options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteSession {
    /// `PRAGMA foreign_keys` (`?foreign_keys=true`; off by default, as Python's `sqlite3`).
    pub foreign_keys: bool,
    /// Write-ahead logging (`?journal_mode=wal`, or `DB_SQLITE_WAL=true`).
    pub wal: bool,
    /// How long a writer waits for another (`DB_SQLITE_BUSY_TIMEOUT`, default 5 s, as
    /// Python's `sqlite3`).
    pub busy_timeout: Duration,
}

/// How to open a session on the configured database.
#[derive(Debug, Clone)]
pub struct ConnectSpec {
    pub url: DatabaseUrl,
    /// Relative SQLite paths resolve against this folder (the project).
    pub base_dir: PathBuf,
    /// PostgreSQL: the schema every session uses as its `search_path` (must exist).
    pub schema: Option<String>,
    /// `?application_name=`, or `DB_APPLICATION_NAME`; default `jetbase`.
    pub application_name: String,
    /// `READ COMMITTED`, `REPEATABLE READ`, ... (`DB_ISOLATION_LEVEL`); the server's when
    /// unset.
    pub isolation_level: Option<String>,
    /// Prepared-statement cache; off behind a transaction pooler (`?pgbouncer=true`, or
    /// `DB_STATEMENT_CACHE=false`).
    pub statement_cache: bool,
    /// Session-level locks are usable: not behind a transaction pooler (`?pgbouncer=true`),
    /// where a session lock would stick to a shared server connection.
    pub session_locks: bool,
    pub sqlite: SqliteSession,
    /// Snowflake key-pair login: the PEM private key (`snowflake_private_key`, or
    /// `JETBASE_SNOWFLAKE_PRIVATE_KEY`) and its password, used when the URL has no password.
    pub private_key: Option<crate::url::Secret>,
    pub private_key_password: Option<crate::url::Secret>,
}

/// The isolation levels SQL knows.
pub const ISOLATION_LEVELS: [&str; 4] = [
    "READ UNCOMMITTED",
    "READ COMMITTED",
    "REPEATABLE READ",
    "SERIALIZABLE",
];

impl ConnectSpec {
    /// The spec the URL alone gives.
    #[must_use]
    pub fn new(url: DatabaseUrl, base_dir: &Path) -> ConnectSpec {
        let pgbouncer = url.param("pgbouncer").is_some_and(env::truthy);
        ConnectSpec {
            base_dir: base_dir.to_path_buf(),
            schema: None,
            application_name: url
                .param("application_name")
                .unwrap_or("jetbase")
                .to_owned(),
            isolation_level: None,
            statement_cache: !pgbouncer,
            session_locks: !pgbouncer,
            sqlite: SqliteSession {
                foreign_keys: url.param("foreign_keys").is_some_and(env::truthy),
                wal: url
                    .param("journal_mode")
                    .is_some_and(|v| v.eq_ignore_ascii_case("wal")),
                busy_timeout: Duration::from_secs(5),
            },
            private_key: None,
            private_key_password: None,
            url,
        }
    }

    /// With the session keys of the environment: `DB_APPLICATION_NAME`,
    /// `DB_ISOLATION_LEVEL`, `DB_STATEMENT_CACHE`, `DB_SQLITE_WAL`, `DB_SQLITE_BUSY_TIMEOUT`.
    ///
    /// # Errors
    /// A value that does not parse, or an unknown isolation level.
    pub fn with_env(mut self, vars: &EnvVars) -> Result<ConnectSpec, EnvError> {
        if let Some(name) = env::var(vars, "DB_APPLICATION_NAME") {
            name.clone_into(&mut self.application_name);
        }
        if let Some(level) = env::var(vars, "DB_ISOLATION_LEVEL") {
            let level = level.trim().replace('_', " ").to_ascii_uppercase();
            if !ISOLATION_LEVELS.contains(&level.as_str()) {
                return Err(EnvError {
                    key: "DB_ISOLATION_LEVEL".into(),
                    expected: "READ UNCOMMITTED, READ COMMITTED, REPEATABLE READ or SERIALIZABLE",
                    got: level,
                });
            }
            self.isolation_level = Some(level);
        }
        self.statement_cache = env::flag(vars, "DB_STATEMENT_CACHE", self.statement_cache)?;
        self.sqlite.wal = env::flag(vars, "DB_SQLITE_WAL", self.sqlite.wal)?;
        self.sqlite.busy_timeout = env::secs(
            vars,
            "DB_SQLITE_BUSY_TIMEOUT",
            self.sqlite.busy_timeout.as_secs_f64(),
        )?;
        Ok(self)
    }

    /// The isolation level as one of the four static spellings, so that no text from a
    /// caller reaches SQL.
    ///
    /// # Errors
    /// Anything else was set.
    pub fn isolation_level_sql(&self) -> Result<Option<&'static str>, String> {
        match &self.isolation_level {
            None => Ok(None),
            Some(level) => ISOLATION_LEVELS
                .iter()
                .find(|l| **l == level.as_str())
                .map(|l| Some(*l))
                .ok_or_else(|| format!("unknown isolation level {level:?}")),
        }
    }

    /// With `postgres_schema` (blank means none).
    #[must_use]
    pub fn with_schema(mut self, schema: Option<&str>) -> ConnectSpec {
        self.schema = schema
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(url: &str) -> ConnectSpec {
        ConnectSpec::new(DatabaseUrl::parse(url).unwrap(), Path::new("/p"))
    }

    #[test]
    fn spec_reads_the_url_parameters() {
        let s = spec("sqlite:///a.db?foreign_keys=true&journal_mode=WAL");
        assert!(s.sqlite.foreign_keys && s.sqlite.wal);
        let s = spec("sqlite:///a.db");
        assert!(!s.sqlite.foreign_keys && !s.sqlite.wal);
        assert_eq!(s.sqlite.busy_timeout, Duration::from_secs(5));
        let s = spec("postgresql://u@h/db?pgbouncer=true&application_name=shop");
        assert!(!s.statement_cache && !s.session_locks);
        assert_eq!(s.application_name, "shop");
    }

    #[test]
    fn spec_reads_the_environment_and_the_schema() {
        let vars: EnvVars = [
            ("DB_ISOLATION_LEVEL", "read_committed"),
            ("DB_SQLITE_WAL", "true"),
            ("DB_SQLITE_BUSY_TIMEOUT", "1.5"),
            ("DB_APPLICATION_NAME", "api"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let s = spec("postgresql://u@h/db")
            .with_env(&vars)
            .unwrap()
            .with_schema(Some(" app "));
        assert_eq!(s.isolation_level.as_deref(), Some("READ COMMITTED"));
        assert!(s.sqlite.wal);
        assert_eq!(s.sqlite.busy_timeout, Duration::from_millis(1500));
        assert_eq!(s.application_name, "api");
        assert_eq!(s.schema.as_deref(), Some("app"));
        let bad: EnvVars = [("DB_ISOLATION_LEVEL".to_owned(), "sometimes".to_owned())].into();
        assert!(spec("postgresql://u@h/db").with_env(&bad).is_err());
    }
}
