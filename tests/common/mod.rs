//! Test harness: a temporary project on one of the test servers described in `servers/`
//! (SQLite, PostgreSQL, MariaDB, ClickHouse, Snowflake; a fresh database per project on the server its variable
//! names), the real `jetbase` binary run with a cleared environment, direct reads of the
//! database, servers of a test's own, and the one rule for what a test lacks: skip locally,
//! fail under `CI`.
#![allow(dead_code)]

pub mod servers;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

// Each test binary uses its own share of these.
#[allow(unused_imports)]
pub use servers::postgres::PgTransaction;
#[allow(unused_imports)]
pub use servers::{
    CHDB, CLICKHOUSE, DATABRICKS, GALERA, MYSQL, POSTGRES, SNOWFLAKE, SQLITE, Server,
};

/// Skips a test that lacks `what`, with a message, locally; fails it under `CI`, where no
/// test may skip, saying `how` to provide it. Every test that needs a server, a tool or a
/// permission goes through here.
#[track_caller]
pub fn skip(what: &str, how: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set but {what}: {how}"
    );
    eprintln!("skipping: {what}");
}

/// The value of `var`, or `None` after [`skip`] when it is unset or empty.
#[track_caller]
pub fn required_env(var: &str, how: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            skip(&format!("{var} is not set"), how);
            None
        }
    }
}

/// A fresh database on a test server, dropped with the project.
struct ServerDb {
    admin_url: String,
    name: String,
}

pub struct Project {
    pub tmp: tempfile::TempDir,
    /// The database it runs on.
    pub server: &'static Server,
    /// The URL written to env.py (SQLAlchemy spelling, as the Python tool needs it).
    pub url: String,
    db: Option<ServerDb>,
}

impl Drop for Project {
    fn drop(&mut self) {
        if let Some(db) = &self.db {
            let sql = (self.server.drop_database)(&db.name);
            let _ = std::panic::catch_unwind(|| self.server.exec(&db.admin_url, &sql));
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
        Project::on(&SQLITE).unwrap()
    }

    /// A project on `server`, with a fresh database on it. `None` (after [`skip`]) when the
    /// server's URL is unset.
    #[track_caller]
    pub fn on(server: &'static Server) -> Option<Project> {
        let mut p = Project::bare();
        p.server = server;
        if server.env_var.is_some() {
            let admin_url = server.admin_url()?;
            let name = unique_name();
            server.exec(&admin_url, &(server.create_database)(&name));
            p.url = server.sqlalchemy_url(&(server.database_url)(&admin_url, &name));
            p.db = Some(ServerDb { admin_url, name });
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
            server: &SQLITE,
            url: "sqlite:///jetbase.db".into(),
            db: None,
        }
    }

    /// The URL of the project's database for the tests' own clients (sqlx's spelling: no
    /// driver suffix).
    pub fn sqlx_url(&self) -> String {
        match &self.db {
            None => format!("sqlite://{}", self.db_path().display()),
            Some(db) => (self.server.database_url)(&db.admin_url, &db.name),
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
        std::fs::write(&path, (self.server.adapt)(body)).unwrap();
        path
    }

    /// `sql` in the terms of the project's database (`Server::adapt`), for expectations
    /// about what a file written with [`Project::write`] holds.
    pub fn sql(&self, sql: &str) -> String {
        (self.server.adapt)(sql)
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
        self.server.query(&self.sqlx_url(), sql)
    }

    /// Execute a statement on the project's database (to simulate other writers).
    pub fn exec(&self, sql: &str) {
        self.server.exec(&self.sqlx_url(), sql);
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

    /// The tables of the project's database, sorted (none before a database file exists).
    pub fn tables(&self) -> Vec<String> {
        if self.db.is_none() && !self.db_path().exists() {
            return Vec::new();
        }
        let mut names: Vec<String> = self
            .rows(self.server.tables)
            .into_iter()
            .map(|r| r[0].clone())
            .collect();
        names.sort();
        names
    }

    pub fn table_exists(&self, name: &str) -> bool {
        self.tables().iter().any(|t| t == name)
    }
}

/// Rows of a query on a SQLite file, every value as text.
pub fn query(db: &Path, sql: &str) -> Vec<Vec<String>> {
    SQLITE.query(&format!("sqlite://{}", db.display()), sql)
}

/// Execute a statement on a SQLite file (to simulate other writers).
pub fn exec(db: &Path, sql: &str) {
    SQLITE.exec(&format!("sqlite://{}", db.display()), sql);
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

/// The same test body on every backend, as `sqlite::name`, `postgres::name`, `mysql::name`:
/// one module per description in `servers/`, each test on a fresh database of its own.
#[allow(unused_macros)]
macro_rules! on_every_backend {
    ($(fn $name:ident($p:ident) $body:block)*) => {
        $(fn $name($p: &Project) $body)*
        on_every_backend!(@servers [sqlite SQLITE, postgres POSTGRES, mysql MYSQL, clickhouse CLICKHOUSE, chdb CHDB, snowflake SNOWFLAKE, databricks DATABRICKS] [$($name)*]);
    };
    (@servers [$($module:ident $server:ident),*] $names:tt) => {
        $(on_every_backend!(@server $module $server $names);)*
    };
    (@server $module:ident $server:ident [$($name:ident)*]) => {
        mod $module {
            $(#[test] fn $name() {
                if let Some(p) = super::Project::on(&$crate::common::$server) { super::$name(&p); }
            })*
        }
    };
}

/// A server of the test's own, started with `scripts/servers/<script>.sh start` (free ports,
/// a folder of its own) for a test that crashes or restarts it: the shared one must not go
/// away under other tests. Stopped by PID when dropped.
pub struct OwnServer {
    script: PathBuf,
    /// The folder `start` printed (the contract in `scripts/servers/lib.sh`).
    pub dir: PathBuf,
}

impl OwnServer {
    /// Starts one like `server`, with extra environment for its script (e.g. `PG_DURABLE=1`).
    /// `None` (after [`skip`]) where there is no test server of that kind (`server`'s URL
    /// unset): this machine cannot be expected to start one.
    #[track_caller]
    pub fn start(server: &Server, env: &[(&str, &str)]) -> Option<OwnServer> {
        server.admin_url()?;
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!(
            "scripts/servers/{}.sh",
            server.script.expect("a server with a start script")
        ));
        let mut cmd = Command::new("bash");
        cmd.arg(&script).arg("start").env("APT_UPDATED", "1");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let dir = PathBuf::from(run_script(&mut cmd));
        Some(OwnServer { script, dir })
    }

    /// Its URL (the `url` file of its folder).
    pub fn url(&self) -> String {
        std::fs::read_to_string(self.dir.join("url"))
            .unwrap()
            .trim()
            .to_owned()
    }

    /// Runs `<script> command DIR` (e.g. PostgreSQL's `crash` and `resume`).
    #[track_caller]
    pub fn run(&self, command: &str) {
        run_script(
            Command::new("bash")
                .arg(&self.script)
                .arg(command)
                .arg(&self.dir),
        );
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(&self.script)
            .arg("stop")
            .arg(&self.dir)
            .output();
    }
}

#[track_caller]
fn run_script(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}
