//! Cross-tool tests: Python Jetbase 0.18.1 (with psycopg2, pymysql, clickhouse-sqlalchemy and
//! snowflake-sqlalchemy) and this jetbase take turns on one database, on every backend of the
//! suite where the Python tool runs. The Python CLI comes from
//! `JETBASE_PY_BIN` or `.venv-py/bin/jetbase` (`.ci/run` and `scripts/test.sh` install it).
//! Without it these tests skip locally and fail under `CI`.

#[macro_use]
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Project, Run, Server, clean_command};

/// The Python CLI for a test on `server`; `None` where the Python tool cannot run on that
/// server at all (ClickHouse 18.16: the modern engine's tests cover ClickHouse).
fn python_for(server: &Server) -> Option<PathBuf> {
    if !server.python_tool {
        eprintln!("{}: Python Jetbase cannot run on this server", server.name);
        return None;
    }
    python_jetbase()
}

fn python_jetbase() -> Option<PathBuf> {
    let path = std::env::var_os("JETBASE_PY_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv-py/bin/jetbase"),
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

/// The Python tool in the project's `jetbase/` folder (the only place 0.18.1 runs from), with
/// the environment it needs on the project's server.
fn py_command(py_bin: &Path, p: &Project) -> Command {
    let mut cmd = clean_command(py_bin, &p.dir());
    cmd.envs(p.server.python_env.iter().copied());
    cmd
}

/// Run the Python tool on the project.
fn py(py_bin: &Path, p: &Project, args: &[&str]) -> Run {
    let out = py_command(py_bin, p)
        .args(args)
        .output()
        .expect("run python jetbase");
    Run::from(&out)
}

const USERS: &str = "-- upgrade\nCREATE TABLE users (\n    id INTEGER PRIMARY KEY,\n    email VARCHAR(255)\n);\nINSERT INTO users (id, email) VALUES (1, 'a');\n\n-- rollback\nDROP TABLE users;\n";
const TABS_AND_CRLF: &str = "CREATE TABLE t11 (\r\n\tid INTEGER,\t\r\n\tname VARCHAR(20)\r\n);;\r\n-- ROLLBACK\r\nDROP TABLE t11;\r\n";
const LATER: &str = "CREATE TABLE later (id INTEGER);\nINSERT INTO users (id, email) VALUES (2, 'b');\n--rollback\nDROP TABLE later;\nDELETE FROM users WHERE email = 'b';\n";

/// The files both tools apply; the trigger is written with the delimiter directive in each
/// database's syntax (the original joins its lines with spaces, we run it as written, and both
/// must work).
fn files(server: &Server) -> Vec<(&'static str, &'static str)> {
    vec![
        ("V1__create_users.sql", USERS),
        ("V1_1__tabs_and_crlf.sql", TABS_AND_CRLF),
        (
            "V2__trigger_with_delimiter.sql",
            server.trigger_with_delimiter,
        ),
        ("V10__later.sql", LATER),
    ]
}

fn add(p: &Project, files: &[(&str, &str)]) {
    for (name, body) in files {
        p.write(name, body);
    }
}

fn history(p: &Project) -> Vec<Vec<String>> {
    p.rows("SELECT version, description, filename, migration_type, checksum FROM jetbase_migrations ORDER BY order_executed")
}

/// Start `cmd` (an upgrade of V1 and a slow V5), wait until it holds the lock and runs V5,
/// then SIGKILL it: a crashed holder whose lock stays set.
fn crash_while_locked(mut cmd: Command, p: &Project) {
    let mut child = cmd.spawn().expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "the lock was never taken");
        // Held, with V1 recorded, so the slow V5 runs: on a database without transactional
        // DDL a holder killed inside V1 leaves its table without a history row.
        if (p.server.lock.held)(p) && p.table_exists("jetbase_migrations") && p.versions() == ["1"]
        {
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the upgrade ended before it was killed: {status}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

on_every_backend! {
    fn crosstool_both_tools_write_identical_history_rows(p) {
        let Some(pyb) = python_for(p.server) else { return };
        let q = Project::on(p.server).unwrap();
        add(p, &files(p.server));
        add(&q, &files(p.server));
        py(&pyb, p, &["upgrade"]).expect(0);
        q.run(&["upgrade"]).expect(0);
        let (hp, hq) = (history(p), history(&q));
        assert_eq!(hp.len(), 4);
        assert_eq!(hp, hq, "Python and Rust histories differ");
        // Same schema effects: the trigger fired in both.
        assert_eq!(p.rows("SELECT COUNT(*) FROM audit"), vec![vec!["1"]]);
        assert_eq!(q.rows("SELECT COUNT(*) FROM audit"), vec![vec!["1"]]);
    }

    fn crosstool_tools_take_turns_on_one_database(p) {
        let Some(pyb) = python_for(p.server) else { return };
        add(p, &files(p.server));
        py(&pyb, p, &["upgrade", "-c", "1"]).expect(0);
        let j = p.run(&["--json", "status"]).expect(0).json();
        assert_eq!(j["applied"].as_array().unwrap().len(), 1);
        assert_eq!(j["pending"][0]["version"], "1.1");
        p.run(&["upgrade", "-c", "2"]).expect(0);
        let r = py(&pyb, p, &["upgrade"]).expect(0);
        assert!(r.stderr.contains("V10__later.sql"), "{}", r.stderr);
        p.run(&["validate-checksums"]).expect(0);
        py(&pyb, p, &["validate-checksums"]).expect(0);
        assert_eq!(p.run(&["current"]).expect(0).stdout, "Latest migration version: 10\n");
        py(&pyb, p, &["rollback"]).expect(0);
        assert_eq!(p.run(&["current"]).expect(0).stdout, "Latest migration version: 2\n");
        p.run(&["rollback", "-t", "1"]).expect(0);
        assert_eq!(p.versions(), vec!["1"]);
        // Python sees the same state: its next upgrade applies exactly what we rolled back.
        py(&pyb, p, &["upgrade"]).expect(0);
        assert_eq!(p.versions(), vec!["1", "1.1", "2", "10"]);
        let r = p.run(&["upgrade"]).expect(0);
        assert!(r.stdout.contains("up to date"), "{}", r.stdout);
    }

    fn crosstool_fast_applies_keep_the_python_tool_ordered(p) {
        // We apply many files quickly; the Python tool orders by applied_at alone, so it must
        // still find the true latest version and roll back the right ones.
        let Some(pyb) = python_for(p.server) else { return };
        for i in 1..=30 {
            p.write(&format!("V{i}__t{i}.sql"), &format!("CREATE TABLE t{i} (id INTEGER);\n-- rollback\nDROP TABLE t{i};\n"));
        }
        p.run(&["upgrade"]).expect(0);
        py(&pyb, p, &["rollback", "-c", "3"]).expect(0);
        assert_eq!(p.versions().last().map(String::as_str), Some("27"));
        let r = py(&pyb, p, &["upgrade"]).expect(0);
        assert!(r.stderr.contains("V28__t28.sql"), "{}", r.stderr);
        assert_eq!(p.versions().len(), 30);
    }

    fn crosstool_repeatables_interoperate(p) {
        let Some(pyb) = python_for(p.server) else { return };
        add(p, &files(p.server)[..1]);
        p.write("RA__stamp.sql", "UPDATE users SET email = 'ra' WHERE id = 1;\nCREATE TABLE IF NOT EXISTS ra_runs (n INTEGER);\nINSERT INTO ra_runs (n) VALUES (1);\n");
        p.write("ROC__view.sql", "DROP VIEW IF EXISTS v;\nCREATE VIEW v AS SELECT 1 AS x;\n");
        p.run(&["upgrade"]).expect(0);
        py(&pyb, p, &["upgrade"]).expect(0);
        // RA ran twice (once per tool), ROC once: Python agreed on the ROC checksum.
        assert_eq!(p.rows("SELECT COUNT(*) FROM ra_runs"), vec![vec!["2"]]);
        assert_eq!(p.rows("SELECT COUNT(*) FROM jetbase_migrations"), vec![vec!["3"]]);
        p.write("ROC__view.sql", "DROP VIEW IF EXISTS v;\nCREATE VIEW v AS SELECT 2 AS x;\n");
        py(&pyb, p, &["upgrade"]).expect(0);
        let j = p.run(&["--json", "status"]).expect(0).json();
        let pending: Vec<_> = j["pending"].as_array().unwrap().iter().map(|i| i["filename"].clone()).collect();
        assert_eq!(pending, vec!["RA__stamp.sql"], "only the RA file is pending after Python applied the ROC change");
        p.remove("RA__stamp.sql");
        p.run(&["fix-files"]).expect(0);
        py(&pyb, p, &["validate-files"]).expect(0);
    }

    fn crosstool_issue9_write_commands_work_on_a_database_the_python_tool_created(p) {
        // Python never creates jetbase_lock_lease: every write command of ours must create
        // what is missing instead of failing with "no such table".
        let Some(pyb) = python_for(p.server) else { return };
        let forget_lease = || p.exec("DROP TABLE IF EXISTS jetbase_lock_lease");
        add(p, &[files(p.server)[0], files(p.server)[3]]);
        py(&pyb, p, &["upgrade"]).expect(0);
        assert!(!p.table_exists("jetbase_lock_lease"));
        p.run(&["rollback"]).expect(0);
        assert_eq!(p.versions(), vec!["1"]);
        forget_lease();
        p.run(&["rollback", "-t", "1"]).expect(0);
        py(&pyb, p, &["upgrade"]).expect(0);
        // Checksum repairs, each on a database without the side table.
        for (n, args) in [&["fix-checksums"][..], &["validate-checksums", "--fix"], &["fix"]].iter().enumerate() {
            forget_lease();
            p.write("V1__create_users.sql", &format!("{USERS}-- edit {n}\nSELECT {n};\n"));
            p.run(args).expect(0);
            py(&pyb, p, &["validate-checksums"]).expect(0);
        }
        // Missing-file repairs.
        for (n, args) in [&["fix-files"][..], &["validate-files", "--fix"], &["fix"]].iter().enumerate() {
            let name = format!("V{}__gone.sql", 20 + n);
            p.write(&name, "SELECT 1;\n");
            py(&pyb, p, &["upgrade"]).expect(0);
            p.remove(&name);
            forget_lease();
            p.run(args).expect(0);
            py(&pyb, p, &["validate-files"]).expect(0);
        }
        assert_eq!(p.versions(), vec!["1", "10"]);
        // The side table of the original's lock row (ClickHouse keeps claims instead).
        assert_eq!(p.table_exists("jetbase_lock_lease"), p.server.lock.hold_foreign.is_some());
    }

    fn crosstool_issue9_tied_applied_at_resolves_like_the_python_tool(p) {
        // A history with ties in applied_at (a fast machine, or rows written by hand): both
        // tools must agree on the latest version and roll back the same files.
        let Some(pyb) = python_for(p.server) else { return };
        if p.server.orders_by_order_executed {
            // No ties there: ClickHouse's latest is the greatest order_executed, in both
            // tools (crosstool_tools_take_turns_on_one_database).
            return;
        }
        for i in 1..=4 {
            p.write(&format!("V{i}__t{i}.sql"), &format!("CREATE TABLE t{i} (id INTEGER);\n-- rollback\nDROP TABLE t{i};\n"));
        }
        p.run(&["upgrade"]).expect(0);
        p.exec("UPDATE jetbase_migrations SET applied_at = '2026-01-01 00:00:00' WHERE version <> '1'");
        p.exec("UPDATE jetbase_migrations SET applied_at = '2025-01-01 00:00:00' WHERE version = '1'");
        let ours = p.run(&["current"]).expect(0).stdout;
        // The Python tool logs it on stderr.
        assert!(py(&pyb, p, &["current"]).expect(0).stderr.contains(ours.trim()), "{ours}");
        assert_eq!(ours, "Latest migration version: 2\n");
        p.run(&["rollback"]).expect(0);
        assert_eq!(p.versions(), vec!["1", "3", "4"]);
        // --to-version: rows tied with the target are not "after" it, as in the original.
        p.exec("UPDATE jetbase_migrations SET applied_at = '2026-01-01 00:00:00' WHERE version = '1'");
        p.run(&["rollback", "-t", "3"]).expect(0);
        assert_eq!(p.versions(), vec!["1", "3", "4"], "nothing is after 3 by applied_at");
        p.exec("UPDATE jetbase_migrations SET applied_at = '2025-01-01 00:00:00' WHERE version = '1'");
        p.run(&["rollback", "-t", "1"]).expect(0);
        assert_eq!(p.versions(), vec!["1"]);
    }

    fn crosstool_python_lock_stops_us_and_ours_stops_python(p) {
        let Some(pyb) = python_for(p.server) else { return };
        if p.server.lock.hold_foreign.is_none() {
            // The Python tool keeps no lock here (ClickHouse) and never looks at ours: a
            // crashed jetbase holder does not stop it (README says so).
            add(p, &files(p.server)[..1]);
            p.write("V5__slow.sql", p.server.slow);
            let mut cmd = clean_command(&common::bin(), &p.dir());
            cmd.arg("upgrade");
            crash_while_locked(cmd, p);
            p.write("V5__slow.sql", "SELECT 1;\n");
            py(&pyb, p, &["upgrade"]).expect(0);
            assert_eq!(p.versions(), vec!["1", "5"]);
            assert!(p.run(&["lock-status"]).expect(0).stdout.starts_with("Status: LOCKED"));
            // Our next run takes the dead holder's lock over.
            p.write("V6__more.sql", "SELECT 2;\n");
            let r = p.run(&["upgrade", "--lock-timeout", "10"]).expect(0);
            assert!(r.stderr.contains("is gone"), "{}", r.stderr);
            assert_eq!(p.versions(), vec!["1", "5", "6"]);
            return;
        }
        // Python holds the lock (crashed mid-file): we refuse with the lock exit code.
        add(p, &files(p.server)[..1]);
        p.write("V5__slow.sql", p.server.slow);
        let mut cmd = py_command(&pyb, p);
        cmd.arg("upgrade");
        crash_while_locked(cmd, p);
        let r = p.run(&["upgrade", "--lock-timeout", "0"]).expect(4);
        assert!(r.stderr.contains("lock is held"), "{}", r.stderr);
        assert!(r.stderr.contains("never taken over automatically"), "{}", r.stderr);
        assert!(!p.versions().contains(&"5".to_owned()), "{:?}", p.versions());
        p.run(&["unlock"]).expect(0);

        // We hold the lock (crashed mid-file): Python refuses.
        let q = Project::on(p.server).unwrap();
        add(&q, &files(p.server)[..1]);
        q.write("V5__slow.sql", p.server.slow);
        let mut cmd = clean_command(&common::bin(), &q.dir());
        cmd.arg("upgrade");
        crash_while_locked(cmd, &q);
        let r = py(&pyb, &q, &["upgrade"]);
        assert_ne!(r.code, 0, "Python ran despite our lock:\n{}", r.stderr);
        assert!(r.stderr.contains("lock is already held"), "{}", r.stderr);
        // Our killed file left no history row behind (the kill may land before or after V1).
        assert!(!q.versions().contains(&"5".to_owned()), "{:?}", q.versions());
    }
}

#[test]
fn crosstool_golden_checksums_come_from_python() {
    // The fixture goldens our unit tests check were produced by the Python tool; recompute
    // them with it here so a stale GOLDEN file cannot hide a difference.
    let Some(pyb) = python_jetbase() else { return };
    let python = pyb.parent().unwrap().join("python");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(&python)
        .arg(root.join("scripts/golden-checksums.py"))
        .current_dir(&root)
        .output()
        .expect("run golden script");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let golden = std::fs::read_to_string(root.join("tests/fixtures/checksums/GOLDEN")).unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), golden);
}

/// ClickHouse's lexer: `;` inside backtick identifiers, backslash-escaped and doubled quotes,
/// and comments splits where the server reads statements; the checksum stays the original's
/// (the Python tool validates it).
fn clickhouse_lexer_file_splits_as_the_server_reads_it(server: &'static Server) {
    let Some(p) = Project::on(server) else { return };
    p.write(
        "V1__odd.sql",
        "-- upgrade\nCREATE TABLE `odd;name` (`k;v` String, n UInt8) ENGINE = MergeTree() ORDER BY n;\n/* a block ; comment */\nINSERT INTO `odd;name` VALUES ('it\\'s; fine', 1), ('back\\\\slash;', 2);\nINSERT INTO `odd;name` VALUES ('two''quotes;', 3); -- trailing ; comment\n-- rollback\nDROP TABLE `odd;name`;\n",
    );
    let r = p.run(&["upgrade"]).expect(0);
    assert!(r.stderr.contains("V1__odd.sql"), "{}", r.stderr);
    assert_eq!(
        p.rows("SELECT `k;v` FROM `odd;name` ORDER BY n"),
        vec![
            vec!["it's; fine"],
            vec!["back\\slash;"],
            vec!["two'quotes;"]
        ]
    );
    if let Some(pyb) = python_for(server) {
        py(&pyb, &p, &["validate-checksums"]).expect(0);
    }
    p.run(&["rollback"]).expect(0);
    assert!(!p.table_exists("odd;name"));
}

#[test]
fn clickhouse_lexer_file_splits_as_the_server_reads_it_on_18_16() {
    clickhouse_lexer_file_splits_as_the_server_reads_it(&common::CLICKHOUSE);
}

#[test]
fn clickhouse_lexer_file_splits_as_the_server_reads_it_on_the_modern_engine() {
    clickhouse_lexer_file_splits_as_the_server_reads_it(&common::CHDB);
}
