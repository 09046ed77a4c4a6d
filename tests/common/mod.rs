//! Test harness: a temporary project, the real `jetbase` binary run with a cleared
//! environment, and direct reads of the SQLite database it writes.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Project {
    pub tmp: tempfile::TempDir,
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

impl Project {
    /// An empty folder with `jetbase/migrations/` and an env.py using `jetbase.db`.
    pub fn new() -> Project {
        let p = Project::bare();
        std::fs::create_dir_all(p.migrations()).unwrap();
        std::fs::write(
            p.dir().join("env.py"),
            "sqlalchemy_url = \"sqlite:///jetbase.db\"\n",
        )
        .unwrap();
        p
    }

    /// An empty temporary folder.
    pub fn bare() -> Project {
        Project {
            tmp: tempfile::tempdir().unwrap(),
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
        query(&self.db_path(), sql)
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
        !self
            .rows(&format!(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '{name}'"
            ))
            .is_empty()
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
