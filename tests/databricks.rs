//! Databricks beyond the behavioural suite (which runs on the Spark Thrift server of
//! `scripts/servers/databricks.sh` through `on_every_backend!`):
//! - jetbase's Databricks SQL compared with Python Jetbase 0.18.1's `DatabricksQueries`,
//!   statement by statement (no Databricks client library talks to open-source Spark, so there
//!   are no cross-tool runs: this is what shows both tools keep the same tables on Databricks);
//! - the endpoint: a refused token, both kinds of `http_path`, and Ctrl-C cancelling the
//!   running statement on the server.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::Project;
use common::servers::databricks::with_param;
use jetbase::backend::Dialect;
use jetbase::backend::databricks::DatabricksDialect;

/// Python Jetbase 0.18.1 (`.venv-py`, installed by scripts/test.sh): its Databricks statements,
/// by method name, as SQLAlchemy's `text()` holds them (`:name` parameters).
fn python_statements() -> Option<serde_json::Value> {
    let python = std::env::var_os("JETBASE_PY_PYTHON").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv-py/bin/python"),
        PathBuf::from,
    );
    if !python.exists() {
        common::skip(
            "Python Jetbase is not installed",
            "scripts/test.sh installs it into .venv-py",
        );
        return None;
    }
    let script = r"
import json
from jetbase.database.queries.databricks import DatabricksQueries as Q
names = ['create_migrations_table_stmt', 'insert_version_stmt', 'create_lock_table_stmt',
         'initialize_lock_record_stmt', 'acquire_lock_stmt', 'release_lock_stmt',
         'force_unlock_stmt', 'update_repeatable_migration_stmt', 'delete_version_stmt',
         'repair_migration_checksum_stmt', 'delete_missing_repeatable_stmt',
         'check_if_migrations_table_exists_query']
print(json.dumps({n: str(getattr(Q, n)()) for n in names}))
";
    let out = Command::new(&python).args(["-c", script]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

/// One spelling for comparing: parameters as `?`, whitespace collapsed, none inside
/// parentheses, upper case.
fn normal(sql: &str) -> String {
    let mut out = String::new();
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ':' && chars.peek().is_some_and(char::is_ascii_alphabetic) {
            while chars
                .peek()
                .is_some_and(|n| n.is_ascii_alphanumeric() || *n == '_')
            {
                chars.next();
            }
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace("( ", "(")
        .replace(" )", ")")
        .to_ascii_uppercase()
}

#[test]
fn databricks_statements_are_the_originals_statement_by_statement() {
    let Some(py) = python_statements() else {
        return;
    };
    let d = DatabricksDialect { databricks: true };
    let pairs = [
        (d.create_migrations_table(), "create_migrations_table_stmt"),
        (d.insert_history(), "insert_version_stmt"),
        (d.create_lock_table(), "create_lock_table_stmt"),
        (d.init_lock_row(), "initialize_lock_record_stmt"),
        (d.acquire_lock(), "acquire_lock_stmt"),
        (d.release_lock(), "release_lock_stmt"),
        (d.force_unlock(), "force_unlock_stmt"),
        (d.update_repeatable(), "update_repeatable_migration_stmt"),
        (d.delete_version(), "delete_version_stmt"),
        (d.update_checksum(), "repair_migration_checksum_stmt"),
        (d.delete_repeatable(), "delete_missing_repeatable_stmt"),
    ];
    for (ours, name) in pairs {
        let theirs = py[name].as_str().unwrap();
        assert_eq!(normal(&ours), normal(theirs), "{name}");
    }
    // The one deliberate difference: the original asks INFORMATION_SCHEMA (Unity Catalog
    // only); jetbase lists the schema's tables, which every server answers.
    assert!(
        normal(
            py["check_if_migrations_table_exists_query"]
                .as_str()
                .unwrap()
        )
        .contains("FROM INFORMATION_SCHEMA.TABLES")
    );
    assert_eq!(d.table_exists(), "SHOW TABLES LIKE ?");
    // On open-source Spark only the history table's key and the lock row's MERGE differ.
    let spark = DatabricksDialect { databricks: false };
    assert_eq!(
        normal(&spark.create_migrations_table()),
        normal(&d.create_migrations_table()).replace(" GENERATED ALWAYS AS IDENTITY", "")
    );
    assert_eq!(
        normal(&spark.init_lock_row()),
        normal(&d.init_lock_row()).replace(
            " WHEN NOT MATCHED",
            " WHEN MATCHED THEN UPDATE SET TARGET.ID = TARGET.ID WHEN NOT MATCHED"
        )
    );
}

#[test]
fn comparing_normalises_only_spelling() {
    assert_eq!(
        normal("UPDATE t\n  SET a = :a_1 WHERE ( id = 1 )"),
        "UPDATE T SET A = ? WHERE (ID = 1)"
    );
    assert_ne!(
        normal("SET a = NULL"),
        normal("SET a = CAST(NULL AS STRING)")
    );
}

/// The test server's URL, or `None` (after `skip`).
fn url() -> Option<String> {
    common::required_env(
        "JETBASE_TEST_DATABRICKS_URL",
        "scripts/test.sh starts one with scripts/servers/databricks.sh",
    )
}

fn project(url: &str) -> Project {
    let p = Project::bare();
    std::fs::create_dir_all(p.migrations()).unwrap();
    std::fs::write(
        p.dir().join("env.py"),
        format!("sqlalchemy_url = \"{url}\"\n"),
    )
    .unwrap();
    p
}

/// The URL with `token` in place of its access token.
fn with_token(url: &str, token: &str) -> String {
    let (head, rest) = url.split_once('@').unwrap();
    let scheme_user = head.rsplit_once(':').unwrap().0;
    format!("{scheme_user}:{token}@{rest}")
}

#[test]
fn a_refused_token_is_a_connection_error_with_a_hint_and_never_printed() {
    let Some(url) = url() else { return };
    let wrong = "dapiWr0ngT0ken";
    let p = project(&with_token(&url, wrong));
    let r = p.run(&["status"]).expect(5);
    assert!(r.stderr.contains("HTTP 401"), "{}", r.stderr);
    assert!(
        r.stderr.contains("access token was refused"),
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains(wrong) && !r.stdout.contains(wrong),
        "{}",
        r.stderr
    );
    // A valid token whose user may not use the endpoint: 403, with its own hint.
    let forbidden =
        common::required_env("JETBASE_TEST_DATABRICKS_FORBIDDEN_TOKEN", "databricks.sh").unwrap();
    let p = project(&with_token(&url, &forbidden));
    let r = p.run(&["status"]).expect(5);
    assert!(r.stderr.contains("HTTP 403"), "{}", r.stderr);
    assert!(
        r.stderr.contains("may not use this warehouse"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains(&forbidden), "{}", r.stderr);
}

#[test]
fn warehouse_and_cluster_http_paths_both_reach_the_endpoint() {
    let Some(url) = url() else { return };
    for var in [
        "JETBASE_TEST_DATABRICKS_HTTP_PATH",
        "JETBASE_TEST_DATABRICKS_CLUSTER_HTTP_PATH",
    ] {
        let path = common::required_env(var, "databricks.sh").unwrap();
        let p = project(&with_param(&url, "http_path", &path));
        p.write(
            "V1__t.sql",
            "CREATE TABLE t (id INT);\n-- rollback\nDROP TABLE t;\n",
        );
        let r = p.run(&["status"]).expect(0);
        assert!(r.stdout.contains("Pending"), "{path}: {}", r.stdout);
    }
    // An unknown path is the endpoint's 404, with the hint about http_path.
    let p = project(&with_param(
        &url,
        "http_path",
        "/sql/1.0/warehouses/nothing",
    ));
    let r = p.run(&["status"]).expect(5);
    assert!(r.stderr.contains("HTTP 404"), "{}", r.stderr);
    assert!(r.stderr.contains("check http_path"), "{}", r.stderr);
}

/// Ctrl-C during a long statement: the run stops at once, says which statements of the file
/// ran, records nothing for it, releases the lock, and the server was asked to cancel the
/// operation (`CancelOperation`, seen in the front's log of calls, answered 200).
#[test]
fn ctrl_c_cancels_the_running_statement_and_says_what_ran() {
    let Some(p) = Project::on(&common::DATABRICKS) else {
        return;
    };
    let calls = common::required_env("JETBASE_TEST_DATABRICKS_CALLS", "databricks.sh").unwrap();
    p.write(
        "V1__a.sql",
        "CREATE TABLE a (id INT);\n-- rollback\nDROP TABLE a;\n",
    );
    p.write(
        "V2__slow.sql",
        &format!(
            "CREATE TABLE partial (id INT);\n{}SELECT 1;\n",
            common::DATABRICKS.slow
        ),
    );
    let child = common::clean_command(&common::bin(), &p.dir())
        .arg("upgrade")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !p.table_exists("partial") {
        assert!(std::time::Instant::now() < deadline, "V2 never started");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let before = std::fs::read_to_string(&calls).unwrap_or_default();
    let started = std::time::Instant::now();
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "the run did not stop"
    );
    assert!(stderr.contains("cannot be rolled back"), "{stderr}");
    assert!(
        stderr.contains("1 statement(s) before it ran and stay applied (lines 1)"),
        "{stderr}"
    );
    assert_eq!(p.versions(), vec!["1"]);
    let after = std::fs::read_to_string(&calls).unwrap();
    let new_calls = &after[before.len().min(after.len())..];
    assert!(
        new_calls
            .lines()
            .any(|l| l.contains("CancelOperation") && l.contains(" 200")),
        "no CancelOperation reached the server:\n{new_calls}"
    );
    assert_eq!(
        p.run(&["lock-status"]).expect(0).stdout,
        "Status: UNLOCKED\n"
    );
}
