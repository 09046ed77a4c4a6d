//! One description per test server: where its URL comes from, how to make and drop a fresh
//! database on it, the SQLAlchemy spelling the Python tool needs, the SQL bits the suites
//! need, and how to query it. A new backend is one new file here (plus its line in
//! `on_every_backend!` and its `scripts/servers/<name>.sh`); tests read these fields instead
//! of matching on the backend.

pub mod clickhouse;
pub mod databricks;
mod mysql;
pub mod postgres;
pub mod snowflake;
mod sqlite;

pub use clickhouse::{CHDB, CLICKHOUSE};
pub use databricks::DATABRICKS;

use super::Project;
pub use mysql::{GALERA, MYSQL};
pub use postgres::POSTGRES;
pub use snowflake::SNOWFLAKE;
pub use sqlite::SQLITE;

/// The servers the behavioural suite runs on (`on_every_backend!`), one per built-in driver;
/// a test checks the registry against it, so a new driver cannot go untested.
pub const SUITE: &[&Server] = &[
    &SQLITE,
    &POSTGRES,
    &MYSQL,
    &CLICKHOUSE,
    &CHDB,
    &SNOWFLAKE,
    &DATABRICKS,
];

/// A database the suites run on.
#[allow(clippy::struct_excessive_bools)] // Independent facts about a server, one flag each.
pub struct Server {
    /// The name tests and messages use (`sqlite`, `postgres`, `mysql`, `galera`).
    pub name: &'static str,
    /// The database it is, in `jetbase::drivers`.
    pub kind: jetbase::drivers::BackendKind,
    /// The variable holding the test server's admin URL (sqlx spelling, any database; Galera:
    /// one per node, comma-separated). `None`: no server, the database is a file of the
    /// project.
    pub env_var: Option<&'static str>,
    /// `scripts/servers/<script>.sh` starts one (the contract is in `scripts/servers/lib.sh`).
    pub script: Option<&'static str>,
    /// Scheme prefixes to rewrite for SQLAlchemy (the driver the Python tool needs), in order.
    pub sqlalchemy_schemes: &'static [(&'static str, &'static str)],
    /// The URL of the database `name` on the server of an admin URL (most: the URL's last path
    /// segment replaced, [`database_in_path`]; Snowflake: `.../<name>/PUBLIC?...`).
    pub database_url: fn(&str, &str) -> String,
    /// `CREATE DATABASE` for a fresh database of that name.
    pub create_database: fn(&str) -> String,
    /// Drops that database (even with sessions still open).
    pub drop_database: fn(&str) -> String,
    /// Rows of a query at a URL (sqlx spelling), every value as text ("NULL" for null).
    pub query_fn: fn(&str, &str) -> Vec<Vec<String>>,
    /// Executes statements at a URL.
    pub exec_fn: fn(&str, &str),
    /// DDL inside a transaction is rolled back with it.
    pub transactional_ddl: bool,
    /// A query whose first column names every table of the connection's own database or
    /// schema (the database's internal tables left out).
    pub tables: &'static str,
    /// The current time with sub-second precision, as an SQL expression.
    pub now: &'static str,
    /// A statement that takes about 20 ms.
    pub pause: &'static str,
    /// A statement that runs long enough (a minute) to be killed or lost in the middle.
    pub slow: &'static str,
    /// Two statements (one a line) that must run outside a transaction, on a table `t (id)`.
    pub outside_transaction: &'static str,
    /// A file using the delimiter directive: a table `audit` and a trigger adding a row to it
    /// on each insert into `users`, in this database's syntax.
    pub trigger_with_delimiter: &'static str,
    /// Opens a session holding the session lock a live jetbase holder keeps (for servers
    /// whose holders keep one, which they say with `|s=1` in `owner_host`).
    pub session_lock: Option<fn(&str) -> SessionLock>,
    /// The suites' SQL (written for the SQL databases) in this database's terms; applied to
    /// every migration file a test writes.
    pub adapt: fn(&str) -> String,
    /// How a test reads and fakes the migration lock on this database.
    pub lock: LockFixture,
    /// Python Jetbase 0.18.1 works on this server (not on ClickHouse 18.16, which lacks the
    /// `DateTime64` of its history table).
    pub python_tool: bool,
    /// Environment the Python tool needs on this server (tests run it with a cleared one).
    pub python_env: &'static [(&'static str, &'static str)],
    /// When the crash test kills its runs.
    pub crash_kills: Kills,
    /// A lock lease (`JETBASE_LOCK_LEASE`, seconds) short enough for a test to outlive, that
    /// a live holder's heartbeat still keeps fresh: 1 s, but 30 s (the default) on Spark, whose heartbeat
    /// statements queue behind every other session's on a busy server (seen 46 s late while
    /// the lock race ran beside).
    pub short_lease: &'static str,
    /// How long a test waits for a run in the background to reach a point (its lock held,
    /// a file recorded), and how often it looks meanwhile.
    pub patience: Patience,
    /// How many upgrades race in the lock race test.
    pub racers: usize,
    /// The lease tests that load the server (the race, the crash test) or need its heartbeat
    /// on time (the holder that only its heartbeat keeps) run one at a time ([`Server::alone`]).
    pub lease_tests_alone: bool,
    /// Both tools take the latest version by `order_executed`, not `applied_at`
    /// (ClickHouse).
    pub orders_by_order_executed: bool,
}

/// A test's wait for something a background run does.
#[derive(Clone, Copy, Debug)]
pub struct Patience {
    pub limit: std::time::Duration,
    pub every: std::time::Duration,
}

/// A minute, looking every 20 ms: a fast server.
pub const PATIENT: Patience = Patience {
    limit: std::time::Duration::from_secs(60),
    every: std::time::Duration::from_millis(20),
};

/// Held by a lease test that must not share the server with another ([`Server::alone`]).
static ALONE: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl Server {
    /// On a server whose lease tests run one at a time (Spark runs one statement at a time:
    /// eight racers delay another test's heartbeat past any short lease), the guard that
    /// keeps the others waiting; `None` elsewhere.
    pub fn alone(&self) -> Option<std::sync::MutexGuard<'static, ()>> {
        self.lease_tests_alone.then(|| {
            ALONE
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        })
    }
}

/// When the crash test SIGKILLs an upgrade.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kills {
    /// At a random moment of its first 65 ms.
    AtRandom,
    /// Only once it has recorded a file (the kill then lands in the next file or its
    /// bookkeeping), and not near the last files: on Snowflake a SIGKILL inside the lock's own
    /// transaction leaves that transaction open on the server (for hours there; for ever on
    /// fakesnow), and no later run can take the lock.
    InsideFiles,
}

/// A test's hands on the migration lock of a project's database, whatever the database keeps
/// it in (the original's `jetbase_lock` row with jetbase's lease, or jetbase's claim tables on
/// ClickHouse).
pub struct LockFixture {
    /// Someone holds the lock, jetbase or the Python tool (false before the lock's tables
    /// exist).
    pub held: fn(&Project) -> bool,
    /// Makes the lock held by jetbase pid 1 on the machine `host` (`owner_host` text), with a
    /// fresh heartbeat and a lease of an hour.
    pub hold_remote: fn(&Project, &str),
    /// Makes that remote holder's heartbeat older than its lease.
    pub expire_remote: fn(&Project),
    /// Makes the lock held by process id `other` since 2026-01-01 00:00:00 without a lease
    /// (as the Python tool holds it), where the database has such a lock.
    pub hold_foreign: Option<fn(&Project)>,
}

/// The original's `jetbase_lock` row, and jetbase's lease beside it.
pub const ROW_LOCK: LockFixture = LockFixture {
    // `jetbase_lock`, not the lease: the Python tool never creates the lease table, and its
    // holders count too (crosstool's crash_while_locked).
    held: |p| {
        p.table_exists("jetbase_lock")
            && p.rows("SELECT is_locked FROM jetbase_lock WHERE id = 1") == vec![vec!["1"]]
    },
    hold_remote: |p, host| {
        p.exec("UPDATE jetbase_lock SET is_locked = TRUE, locked_at = CURRENT_TIMESTAMP, process_id = 'remote-1' WHERE id = 1");
        let now = p.server.now;
        p.exec(&format!("INSERT INTO jetbase_lock_lease (id, process_id, owner_host, owner_pid, ttl_seconds, acquired_at, heartbeat_at) VALUES (1, 'remote-1', '{host}', 1, 3600, {now}, {now})"));
    },
    expire_remote: |p| {
        p.exec("UPDATE jetbase_lock_lease SET ttl_seconds = 1");
        std::thread::sleep(std::time::Duration::from_millis(1500));
    },
    hold_foreign: Some(|p| {
        p.exec("UPDATE jetbase_lock SET is_locked = TRUE, locked_at = '2026-01-01 00:00:00', process_id = 'other' WHERE id = 1");
    }),
};
/// `url` with its database (the last path segment) replaced by `name`.
pub fn database_in_path(url: &str, name: &str) -> String {
    format!("{}/{name}", url.rsplit_once('/').unwrap().0)
}

/// The suites' SQL as written.
pub fn as_written(sql: &str) -> String {
    sql.to_owned()
}

/// A session holding a lock until dropped.
pub type SessionLock = Box<dyn std::any::Any>;

impl Server {
    /// The admin URLs of the test server (one, or one per node), or `None` after
    /// [`crate::common::skip`] when its variable is unset.
    #[track_caller]
    pub fn admin_urls(&self) -> Option<Vec<String>> {
        let var = self.env_var.expect("a server with a URL variable");
        let how = format!(
            "scripts/test.sh starts one with scripts/servers/{}.sh",
            self.script.unwrap_or(self.name)
        );
        let urls = super::required_env(var, &how)?;
        Some(urls.split(',').map(|u| u.trim().to_owned()).collect())
    }

    /// The (first) admin URL of the test server, or `None` after [`crate::common::skip`].
    #[track_caller]
    pub fn admin_url(&self) -> Option<String> {
        self.admin_urls().map(|mut urls| urls.swap_remove(0))
    }

    /// A sqlx URL in the spelling the Python tool needs (SQLAlchemy's `+driver`).
    pub fn sqlalchemy_url(&self, url: &str) -> String {
        self.sqlalchemy_schemes
            .iter()
            .fold(url.to_owned(), |u, (from, to)| u.replacen(from, to, 1))
    }

    /// Rows of `sql` at `url`, every value as text ("NULL" for null).
    pub fn query(&self, url: &str, sql: &str) -> Vec<Vec<String>> {
        (self.query_fn)(url, sql)
    }

    /// Executes `sql` at `url`.
    pub fn exec(&self, url: &str, sql: &str) {
        (self.exec_fn)(url, sql);
    }
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl PartialEq for Server {
    fn eq(&self, other: &Server) -> bool {
        self.name == other.name
    }
}

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Every value of `row` as text, whatever its type ("NULL" for null, booleans as 1 and 0).
pub(crate) fn cells<R>(row: &R) -> Vec<String>
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
    (0..row.len()).map(|i| cell(row, i)).collect()
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
    use sqlx::ValueRef;
    if row.try_get_raw(i).is_ok_and(|v| v.is_null()) {
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
