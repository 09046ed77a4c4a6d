//! Test harness: a temporary project on SQLite, PostgreSQL or MariaDB (a fresh database per
//! project on the servers `JETBASE_TEST_POSTGRES_URL` / `JETBASE_TEST_MYSQL_URL` name), the
//! real `jetbase` binary run with a cleared environment, and direct reads of the database.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The database a test project runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
    MySql,
}

impl Kind {
    fn env_var(self) -> Option<&'static str> {
        match self {
            Kind::Sqlite => None,
            Kind::Postgres => Some("JETBASE_TEST_POSTGRES_URL"),
            Kind::MySql => Some("JETBASE_TEST_MYSQL_URL"),
        }
    }

    /// DDL inside a transaction is rolled back with it.
    pub fn transactional_ddl(self) -> bool {
        self != Kind::MySql
    }
}

/// A fresh database on a test server, dropped with the project.
struct ServerDb {
    admin_url: String,
    name: String,
}

pub struct Project {
    pub tmp: tempfile::TempDir,
    pub kind: Kind,
    /// The URL written to env.py (SQLAlchemy spelling, as the Python tool needs it).
    pub url: String,
    server: Option<ServerDb>,
}

impl Drop for Project {
    fn drop(&mut self) {
        if let Some(db) = &self.server {
            let sql = match self.kind {
                Kind::Postgres => format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", db.name),
                _ => format!("DROP DATABASE IF EXISTS `{}`", db.name),
            };
            let _ = std::panic::catch_unwind(|| server_exec(self.kind, &db.admin_url, &sql));
        }
    }
}

/// The outcome of one run of a binary.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from(out: &Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Panics with both streams when the exit code is not `code`.
    #[track_caller]
    pub fn expect(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "unexpected exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_jetbase"))
}

/// A command with a cleared environment (only PATH and HOME kept).
pub fn clean_command(program: &Path, cwd: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", cwd)
        .current_dir(cwd);
    cmd
}

fn unique_name() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "jb_{}_{}_{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

impl Project {
    /// An empty folder with `jetbase/migrations/` and an env.py using `jetbase.db`.
    pub fn new() -> Project {
        Project::on(Kind::Sqlite).unwrap()
    }

    /// A project on `kind`, with a fresh database on its test server. `None` (after saying
    /// so) when the server's URL is unset, which fails the test under `CI`.
    pub fn on(kind: Kind) -> Option<Project> {
        let mut p = Project::bare();
        p.kind = kind;
        if let Some(var) = kind.env_var() {
            let Ok(admin_url) = std::env::var(var) else {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "CI is set but {var} is not: start the server with scripts/{}.sh",
                    if kind == Kind::Postgres {
                        "postgres"
                    } else {
                        "mariadb"
                    }
                );
                eprintln!("skipping: {var} is not set");
                return None;
            };
            let name = unique_name();
            let create = match kind {
                Kind::Postgres => format!("CREATE DATABASE \"{name}\""),
                _ => format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4"),
            };
            server_exec(kind, &admin_url, &create);
            let base = admin_url.rsplit_once('/').unwrap().0;
            p.url = match kind {
                Kind::Postgres => format!(
                    "{}/{name}",
                    base.replacen("postgresql://", "postgresql+psycopg2://", 1)
                        .replacen("postgres://", "postgresql+psycopg2://", 1)
                ),
                _ => format!(
                    "{}/{name}",
                    base.replacen("mysql://", "mysql+pymysql://", 1)
                ),
            };
            p.server = Some(ServerDb { admin_url, name });
        }
        std::fs::create_dir_all(p.migrations()).unwrap();
        std::fs::write(
            p.dir().join("env.py"),
            format!("sqlalchemy_url = \"{}\"\n", p.url),
        )
        .unwrap();
        Some(p)
    }

    /// An empty temporary folder.
    pub fn bare() -> Project {
        Project {
            tmp: tempfile::tempdir().unwrap(),
            kind: Kind::Sqlite,
            url: "sqlite:///jetbase.db".into(),
            server: None,
        }
    }

    /// The URL of the project's database for sqlx (driver suffix removed).
    pub fn sqlx_url(&self) -> String {
        match &self.server {
            None => format!("sqlite://{}", self.db_path().display()),
            Some(db) => format!("{}/{}", db.admin_url.rsplit_once('/').unwrap().0, db.name),
        }
    }

    pub fn root(&self) -> &Path {
        self.tmp.path()
    }

    /// The `jetbase/` folder.
    pub fn dir(&self) -> PathBuf {
        self.root().join("jetbase")
    }

    pub fn migrations(&self) -> PathBuf {
        self.dir().join("migrations")
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir().join("jetbase.db")
    }

    pub fn write(&self, name: &str, body: &str) -> PathBuf {
        let path = self.migrations().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, body).unwrap();
        path
    }

    pub fn remove(&self, name: &str) {
        std::fs::remove_file(self.migrations().join(name)).unwrap();
    }

    /// Run jetbase from the `jetbase/` folder.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_in(&self.dir(), args, &[])
    }

    /// Run jetbase from `cwd` with extra environment variables.
    #[allow(clippy::unused_self)] // a method, so tests read `p.run_in(...)`
    pub fn run_in(&self, cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = clean_command(&bin(), cwd);
        cmd.args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        Run::from(&cmd.output().expect("run jetbase"))
    }

    /// Rows of `sql` on the project's database, every value as text ("NULL" for null).
    pub fn rows(&self, sql: &str) -> Vec<Vec<String>> {
        match self.kind {
            Kind::Sqlite => query(&self.db_path(), sql),
            kind => server_query(kind, &self.sqlx_url(), sql),
        }
    }

    /// Execute a statement on the project's database (to simulate other writers).
    pub fn exec(&self, sql: &str) {
        match self.kind {
            Kind::Sqlite => exec(&self.db_path(), sql),
            kind => server_exec(kind, &self.sqlx_url(), sql),
        }
    }

    /// `version` of every VERSIONED history row, in order executed.
    pub fn versions(&self) -> Vec<String> {
        self.rows(
            "SELECT version FROM jetbase_migrations WHERE migration_type = 'VERSIONED' ORDER BY order_executed",
        )
        .into_iter()
        .map(|r| r[0].clone())
        .collect()
    }

    pub fn table_exists(&self, name: &str) -> bool {
        let sql = match self.kind {
            Kind::Sqlite => {
                if !self.db_path().exists() {
                    return false;
                }
                format!("SELECT name FROM sqlite_master WHERE type = 'table' AND name = '{name}'")
            }
            Kind::Postgres => format!(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = '{name}'"
            ),
            Kind::MySql => format!(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = '{name}'"
            ),
        };
        !self.rows(&sql).is_empty()
    }
}

/// Run a query on a SQLite file with sqlx, reading every column as text.
pub fn query(db: &Path, sql: &str) -> Vec<Vec<String>> {
    use sqlx::{Connection, Row, ValueRef};
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let url = format!("sqlite://{}?mode=ro", db.display());
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_all(&mut conn)
            .await
            .unwrap();
        rows.iter()
            .map(|r| {
                (0..r.len())
                    .map(|i| {
                        if r.try_get_raw(i).unwrap().is_null() {
                            "NULL".to_owned()
                        } else if let Ok(s) = r.try_get::<String, _>(i) {
                            s
                        } else {
                            r.try_get::<i64, _>(i).unwrap().to_string()
                        }
                    })
                    .collect()
            })
            .collect()
    })
}

/// Execute a statement on a SQLite file (to simulate other writers).
pub fn exec(db: &Path, sql: &str) {
    use sqlx::Connection;
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let url = format!("sqlite://{}?mode=rwc", db.display());
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&mut conn)
            .await
            .unwrap();
    });
}

/// SHA-256 hex of `text`, for checking stored checksums independently of the crate.
pub fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(text.as_bytes());
    d.iter().fold(String::new(), |mut s, b| {
        use std::fmt::Write;
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Execute one statement on a server database.
pub fn server_exec(kind: Kind, url: &str, sql: &str) {
    use sqlx::Connection;
    runtime().block_on(async {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match kind {
            Kind::Postgres => {
                let mut c = sqlx::PgConnection::connect(url).await.unwrap();
                sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
            }
            Kind::MySql => {
                let mut c = sqlx::MySqlConnection::connect(url).await.unwrap();
                sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
            }
            Kind::Sqlite => unreachable!(),
        }
    });
}

fn cell<R>(row: &R, i: usize) -> String
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i32: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> f64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> chrono::NaiveDateTime: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    if r_is_null(row, i) {
        return "NULL".into();
    }
    if let Ok(v) = row.try_get::<String, _>(i) {
        return v;
    }
    if let Ok(v) = row.try_get::<i64, _>(i) {
        return v.to_string();
    }
    if let Ok(v) = row.try_get::<i32, _>(i) {
        return v.to_string();
    }
    if let Ok(v) = row.try_get::<bool, _>(i) {
        return if v { "1" } else { "0" }.into();
    }
    if let Ok(v) = row.try_get::<chrono::NaiveDateTime, _>(i) {
        return v.to_string();
    }
    row.try_get::<f64, _>(i)
        .map_or_else(|e| format!("<{e}>"), |v| v.to_string())
}

fn r_is_null<R: sqlx::Row>(row: &R, i: usize) -> bool
where
    usize: sqlx::ColumnIndex<R>,
{
    use sqlx::ValueRef;
    row.try_get_raw(i).is_ok_and(|v| v.is_null())
}

/// Rows of a query on a server database, every value as text.
pub fn server_query(kind: Kind, url: &str, sql: &str) -> Vec<Vec<String>> {
    use sqlx::{Connection, Row};
    runtime().block_on(async {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match kind {
            Kind::Postgres => {
                let mut c = sqlx::PgConnection::connect(url).await.unwrap();
                let rows = sqlx::query(sql).fetch_all(&mut c).await.unwrap();
                rows.iter()
                    .map(|r| (0..r.len()).map(|i| cell(r, i)).collect())
                    .collect()
            }
            Kind::MySql => {
                let mut c = sqlx::MySqlConnection::connect(url).await.unwrap();
                // On Galera, read what the other nodes wrote (ignored elsewhere).
                let _ = sqlx::raw_sql("SET SESSION wsrep_sync_wait = 1")
                    .execute(&mut c)
                    .await;
                let rows = sqlx::query(sql).fetch_all(&mut c).await.unwrap();
                rows.iter()
                    .map(|r| (0..r.len()).map(|i| cell(r, i)).collect())
                    .collect()
            }
            Kind::Sqlite => unreachable!(),
        }
    })
}

/// The same test body on every backend, as `sqlite::name`, `postgres::name`, `mysql::name`.
#[allow(unused_macros)]
macro_rules! on_every_backend {
    ($(fn $name:ident($p:ident) $body:block)*) => {
        $(fn $name($p: &Project) $body)*
        mod sqlite {
            $(#[test] fn $name() { let p = super::Project::on(super::Kind::Sqlite).unwrap(); super::$name(&p); })*
        }
        mod postgres {
            $(#[test] fn $name() { if let Some(p) = super::Project::on(super::Kind::Postgres) { super::$name(&p); } })*
        }
        mod mysql {
            $(#[test] fn $name() { if let Some(p) = super::Project::on(super::Kind::MySql) { super::$name(&p); } })*
        }
    };
}

/// A PostgreSQL session kept open, holding the advisory lock a jetbase holder keeps.
pub struct PgSession {
    rt: tokio::runtime::Runtime,
    conn: Option<sqlx::PgConnection>,
}

impl PgSession {
    pub fn advisory_lock(url: &str) -> PgSession {
        use sqlx::Connection;
        let rt = runtime();
        let conn = rt.block_on(async {
            let mut c = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::raw_sql(
                "SELECT pg_advisory_lock(hashtextextended('jetbase_lock:' || current_schema(), 0))",
            )
            .execute(&mut c)
            .await
            .unwrap();
            c
        });
        PgSession {
            rt,
            conn: Some(conn),
        }
    }
}

impl Drop for PgSession {
    fn drop(&mut self) {
        use sqlx::Connection;
        if let Some(c) = self.conn.take() {
            self.rt.block_on(async {
                let _ = c.close().await;
            });
        }
    }
}

/// A PostgreSQL transaction kept open after running `sql` (to hold row locks).
pub struct PgTransaction {
    rt: tokio::runtime::Runtime,
    conn: Option<sqlx::PgConnection>,
}

impl PgTransaction {
    pub fn lock_row(url: &str, sql: &str) -> PgTransaction {
        use sqlx::Connection;
        let rt = runtime();
        let conn = rt.block_on(async {
            let mut c = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::raw_sql("BEGIN").execute(&mut c).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
                .execute(&mut c)
                .await
                .unwrap();
            c
        });
        PgTransaction {
            rt,
            conn: Some(conn),
        }
    }
}

impl Drop for PgTransaction {
    fn drop(&mut self) {
        use sqlx::Connection;
        if let Some(mut c) = self.conn.take() {
            self.rt.block_on(async {
                let _ = sqlx::raw_sql("ROLLBACK").execute(&mut c).await;
                let _ = c.close().await;
            });
        }
    }
}
