//! `examples/app.rs` as a service: built by the cargo running these tests, started in a
//! temporary project on a free port, asked over HTTP with a few lines of HTTP/1.1 on a
//! `TcpStream`, and stopped with SIGTERM, which it must survive gracefully (exit 0). With
//! `--embedded` it migrates from the files compiled into it, which the CLI and Python Jetbase
//! (`.venv-py/bin/jetbase`, or `JETBASE_PY_BIN`) then check against the same files on disk.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use common::{POSTGRES, Project};

/// The example's binary, built once per test binary. Cargo makes `CARGO_BIN_EXE_<name>` for
/// binaries only, and `cargo test --test example_app` does not build examples, so this runs
/// `cargo build --example app` with the cargo, target folder, profile and features these
/// tests were built with (a no-op when the example is up to date: `cargo test` builds it
/// anyway), and finds it in `<target>/<profile>/examples/`, beside this binary's `deps/`.
fn app_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        let profile_dir = exe.parent().and_then(Path::parent).unwrap();
        let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") => "dev",
            Some(name) => name,
            None => panic!("no profile folder above {}", exe.display()),
        };
        let features: Vec<&str> = [
            ("postgres", cfg!(feature = "postgres")),
            ("mysql", cfg!(feature = "mysql")),
        ]
        .into_iter()
        .filter_map(|(name, on)| on.then_some(name))
        .collect();
        let mut cargo = Command::new(env!("CARGO"));
        // What cargo sets for this run of the tests describes this package; left in place it
        // would change build scripts' tracked environment (ring's CARGO_MANIFEST_DIR) and
        // rebuild the world on every run.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            if [
                "CARGO_PKG_",
                "CARGO_MANIFEST_",
                "CARGO_CRATE_",
                "CARGO_BIN_",
                "CARGO_PRIMARY_",
            ]
            .iter()
            .any(|prefix| key.starts_with(prefix))
            {
                cargo.env_remove(&*key);
            }
        }
        let out = cargo
            .args(["build", "--quiet", "--example", "app", "--profile", profile])
            .args(["--no-default-features", "--features", &features.join(",")])
            .arg("--manifest-path")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
            .arg("--target-dir")
            .arg(profile_dir.parent().unwrap())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "cargo build --example app failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bin = profile_dir
            .join("examples")
            .join(format!("app{}", std::env::consts::EXE_SUFFIX));
        assert!(bin.is_file(), "{} was not built", bin.display());
        bin
    })
}

/// The example running in a project; killed if a test fails before stopping it.
struct App {
    child: Child,
    addr: String,
    /// Its stderr, line by line, for messages when something fails.
    stderr: Receiver<String>,
    seen: Vec<String>,
}

impl App {
    /// Starts the example in the project's `jetbase/` folder on 127.0.0.1 port 0 and waits
    /// for the address it prints once it is listening.
    fn start(p: &Project) -> App {
        App::start_in(&p.dir(), &[], &[])
    }

    /// Starts the example in `cwd` with `args` before the address and extra environment.
    fn start_in(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> App {
        let mut child = common::clean_command(app_binary(), cwd)
            .args(args)
            .arg("127.0.0.1:0")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, rx) = channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut app = App {
            child,
            addr: String::new(),
            stderr: rx,
            seen: Vec::new(),
        };
        while let Ok(line) = app.stderr.recv_timeout(Duration::from_secs(60)) {
            let addr = line
                .strip_prefix("serving on http://")
                .map(|rest| rest.trim_end_matches('/').to_owned());
            app.seen.push(line);
            if let Some(addr) = addr {
                app.addr = addr;
                return app;
            }
        }
        panic!(
            "the app never said where it listens:\n{}",
            app.seen.join("\n")
        );
    }

    /// `GET path`: the status code, the Content-Type and the body.
    fn get(&self, path: &str) -> (u16, String, String) {
        let mut s = TcpStream::connect(&self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        )
        .unwrap();
        let mut response = String::new();
        s.read_to_string(&mut response).unwrap();
        let (head, body) = response
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("no status in {head:?}"));
        let content_type = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-type")
                    .then(|| value.trim().to_owned())
            })
            .unwrap_or_default();
        (status, content_type, body.to_owned())
    }

    /// `GET path`, which must answer 200 with JSON.
    fn get_json(&self, path: &str) -> serde_json::Value {
        let (status, content_type, body) = self.get(path);
        assert_eq!(status, 200, "{body}");
        assert_eq!(content_type, "application/json");
        serde_json::from_str(&body).unwrap()
    }

    /// Sends SIGTERM and returns the exit code, with everything it printed on stderr.
    fn terminate(mut self) -> (Option<i32>, String) {
        let killed = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = self.child.wait().unwrap();
        self.seen.extend(self.stderr.try_iter());
        (status.code(), self.seen.join("\n"))
    }
}

impl Drop for App {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn write_two_migrations(p: &Project) {
    p.write("V1__items.sql", "CREATE TABLE items (id INTEGER);\n");
    p.write("V2__tags.sql", "CREATE TABLE tags (id INTEGER);\n");
}

#[test]
fn example_app_on_sqlite_migrates_serves_versions_and_stops_on_sigterm() {
    let p = Project::new();
    write_two_migrations(&p);
    let app = App::start(&p);
    assert!(
        app.seen.iter().any(|l| l == "applied 2 migration(s)"),
        "{:?}",
        app.seen
    );
    assert_eq!(
        app.get_json("/"),
        serde_json::json!({ "versions": ["1", "2"] })
    );
    assert_eq!(
        app.get("/health"),
        (200, "text/plain; charset=utf-8".into(), "ok".into())
    );
    assert_eq!(p.versions(), vec!["1", "2"]);
    // A failing query is a 500 with the driver's message as JSON, and the service goes on.
    common::exec(
        &p.db_path(),
        "ALTER TABLE jetbase_migrations RENAME TO gone",
    );
    let (status, content_type, body) = app.get("/");
    assert_eq!((status, content_type.as_str()), (500, "application/json"));
    let error: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(
        error["error"]
            .as_str()
            .is_some_and(|e| e.contains("jetbase_migrations")),
        "{body}"
    );
    assert_eq!(app.get("/health").0, 200);
    let (code, stderr) = app.terminate();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.ends_with("stopping\nstopped"), "{stderr}");
}

#[test]
fn example_app_on_postgres_reads_versions_from_the_configured_schema() {
    let Some(p) = Project::on(&POSTGRES) else {
        return;
    };
    // The configured schema, and a decoy history in the server's default one: the app must
    // read from `app`, where its migrations went.
    p.exec(
        "CREATE SCHEMA app;
         CREATE TABLE public.jetbase_migrations (version TEXT, migration_type TEXT, order_executed INTEGER);
         INSERT INTO public.jetbase_migrations VALUES ('99', 'VERSIONED', 1);",
    );
    std::fs::write(
        p.dir().join("env.py"),
        format!(
            "sqlalchemy_url = \"{}\"\npostgres_schema = \"app\"\n",
            p.url
        ),
    )
    .unwrap();
    write_two_migrations(&p);
    let app = App::start(&p);
    assert_eq!(
        app.get_json("/"),
        serde_json::json!({ "versions": ["1", "2"] })
    );
    assert_eq!(
        p.rows("SELECT version FROM app.jetbase_migrations ORDER BY order_executed"),
        vec![vec!["1"], vec!["2"]]
    );
    assert_eq!(app.get("/health").1, "text/plain; charset=utf-8");
    // The error of a failing query names the problem, never the password.
    p.exec("DROP TABLE app.jetbase_migrations");
    let (status, _, body) = app.get("/");
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("jetbase_migrations"), "{body}");
    if let Some(password) = p
        .url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .and_then(|(userinfo, _)| userinfo.split_once(':'))
        .map(|(_, password)| password)
    {
        assert!(!body.contains(password), "{body}");
    }
    let (code, stderr) = app.terminate();
    assert_eq!(code, Some(0), "{stderr}");
}

/// The example project whose migrations the app embeds (`examples/jetbase/migrations`).
fn embedded_source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/jetbase/migrations")
}

/// Copies a folder tree (the embedded project's files into a test project).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Python Jetbase's CLI, as `tests/crosstool.rs` finds it; `None` after `skip`.
fn python_jetbase() -> Option<PathBuf> {
    let path = std::env::var_os("JETBASE_PY_BIN").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-py/bin/jetbase"),
        PathBuf::from,
    );
    if path.exists() {
        return Some(path);
    }
    common::skip(
        &format!("Python Jetbase is missing at {}", path.display()),
        "run scripts/test.sh",
    );
    None
}

/// Python Jetbase in the project's `jetbase/` folder.
fn py(py_bin: &Path, p: &Project, args: &[&str]) -> common::Run {
    let out = common::clean_command(py_bin, &p.dir())
        .envs(p.server.python_env.iter().copied())
        .args(args)
        .output()
        .unwrap();
    common::Run::from(&out)
}

/// The app started from an empty folder with `--embedded`, its database named by
/// `DATABASE_URL` only: whatever it applies can only come from its binary. The folder lives
/// as long as the app.
fn start_embedded(p: &Project) -> (App, tempfile::TempDir) {
    let url = if p.server.env_var.is_none() {
        // SQLAlchemy's absolute SQLite path: four slashes.
        format!("sqlite:///{}", p.db_path().display())
    } else {
        p.url.clone()
    };
    let empty = tempfile::tempdir().unwrap();
    let app = App::start_in(
        empty.path(),
        &["--embedded"],
        &[("DATABASE_URL", url.as_str())],
    );
    (app, empty)
}

/// An app built with embedded migrations upgrades the database; the CLI and Python Jetbase,
/// reading the same files from a folder, find it up to date with the same checksums; a file
/// changed on disk afterwards is drift for the CLI, not a silent pass.
fn embedded_migrations_agree_with_the_cli_and_python(p: &Project) {
    let (app, _cwd) = start_embedded(p);
    assert!(
        app.seen.iter().any(|l| l == "migrations: 3 embedded files"),
        "{:?}",
        app.seen
    );
    assert!(
        app.seen.iter().any(|l| l == "applied 3 migration(s)"),
        "{:?}",
        app.seen
    );
    assert_eq!(
        app.get_json("/"),
        serde_json::json!({ "versions": ["1", "2"] })
    );
    let (code, stderr) = app.terminate();
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        p.rows("SELECT name FROM item_names"),
        vec![vec!["first item"]]
    );
    // Through the CLI's lock: its lease table exists, and the lock is free again.
    assert!(p.table_exists("jetbase_lock_lease"), "{:?}", p.tables());
    let lock = p.run(&["--json", "lock-status"]).expect(0).json();
    assert_eq!(lock["is_locked"], false, "{lock}");

    // The same files on disk: nothing pending, every checksum as stored.
    copy_tree(&embedded_source(), &p.migrations());
    let status = p.run(&["--json", "status"]).expect(0).json();
    assert_eq!(status["pending"], serde_json::json!([]), "{status}");
    assert_eq!(
        status["applied"].as_array().map(Vec::len),
        Some(3),
        "{status}"
    );
    p.run(&["validate-checksums"]).expect(0);
    p.run(&["validate-files"]).expect(0);
    let history =
        p.rows("SELECT filename, checksum FROM jetbase_migrations ORDER BY order_executed");
    let upgrade = p.run(&["--json", "upgrade"]).expect(0).json();
    assert_eq!(upgrade["up_to_date"], true, "{upgrade}");
    if let Some(py_bin) = python_jetbase() {
        py(&py_bin, p, &["validate-checksums"]).expect(0);
        let r = py(&py_bin, p, &["upgrade"]).expect(0);
        for file in [
            "V1__create_items.sql",
            "V2__create_tags.sql",
            "ROC__item_names.sql",
        ] {
            assert!(
                !r.stderr.contains(file) && !r.stdout.contains(file),
                "{}{}",
                r.stdout,
                r.stderr
            );
        }
        let r = py(&py_bin, p, &["status"]).expect(0);
        assert!(r.stdout.contains("create items"), "{}", r.stdout);
    }
    // Nobody wrote anything: same rows, same checksums.
    assert_eq!(
        p.rows("SELECT filename, checksum FROM jetbase_migrations ORDER BY order_executed"),
        history
    );
    // Started again, the app finds nothing to do.
    let (again, _cwd) = start_embedded(p);
    assert!(
        again.seen.iter().any(|l| l == "applied 0 migration(s)"),
        "{:?}",
        again.seen
    );
    drop(again);

    // A file edited on disk after it was embedded and applied: drift, exit code 3.
    let v1 = p.migrations().join("V1__create_items.sql");
    let mut text = std::fs::read_to_string(&v1).unwrap();
    text = text.replace("'first item'", "'edited item'");
    std::fs::write(&v1, text).unwrap();
    let r = p.run(&["--json", "validate-checksums"]).expect(3);
    let problems = r.json()["problems"].clone();
    assert_eq!(problems[0]["kind"], "checksum_mismatch", "{problems}");
    assert_eq!(
        problems[0]["filename"], "V1__create_items.sql",
        "{problems}"
    );
    let r = p.run(&["upgrade"]).expect(3);
    assert!(r.stderr.contains("V1__create_items.sql"), "{}", r.stderr);
}

#[test]
fn example_app_embedded_migrations_on_sqlite_agree_with_cli_and_python() {
    embedded_migrations_agree_with_the_cli_and_python(&Project::new());
}

#[test]
fn example_app_embedded_migrations_on_postgres_agree_with_cli_and_python() {
    if let Some(p) = Project::on(&POSTGRES) {
        embedded_migrations_agree_with_the_cli_and_python(&p);
    }
}
