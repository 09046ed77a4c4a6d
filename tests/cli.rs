//! The real binary on the embedded SQLite default: what is specific to it or to the CLI
//! itself (init, new, project discovery, configuration, output). Behaviour shared by every
//! backend lives in tests/backends.rs.

mod common;

use common::{Project, exec, sha256_hex};

const USERS: &str = "-- upgrade\nCREATE TABLE users (\n    id INTEGER PRIMARY KEY,\n    email VARCHAR(255)\n);\nINSERT INTO users (email) VALUES ('a');\n\n-- rollback\nDROP TABLE users;\n";
const ITEMS: &str =
    "-- upgrade\nCREATE TABLE items (id INTEGER PRIMARY KEY);\n-- rollback\nDROP TABLE items;\n";
const TAGS: &str = "CREATE TABLE tags (id INTEGER PRIMARY KEY);\n-- rollback\nDROP TABLE tags;\n";

fn three() -> Project {
    let p = Project::new();
    p.write("V1__create_users.sql", USERS);
    p.write("V2__create_items.sql", ITEMS);
    p.write("V3__create_tags.sql", TAGS);
    p
}

#[test]
fn init_creates_project_and_never_overwrites_env_py() {
    let p = Project::bare();
    let r = p.run_in(p.root(), &["init"], &[]).expect(0);
    assert!(
        r.stdout.contains("Initialized Jetbase project in"),
        "{}",
        r.stdout
    );
    assert!(p.migrations().is_dir());
    let env_py = p.dir().join("env.py");
    let original = std::fs::read_to_string(&env_py).unwrap();
    assert!(original.contains("sqlite:///jetbase.db"));
    std::fs::write(&env_py, "sqlalchemy_url = \"sqlite:///mine.db\"\n").unwrap();
    let r = p.run_in(p.root(), &["init"], &[]).expect(0);
    assert!(r.stdout.contains("not overwritten"), "{}", r.stdout);
    assert_eq!(
        std::fs::read_to_string(&env_py).unwrap(),
        "sqlalchemy_url = \"sqlite:///mine.db\"\n"
    );
}

#[test]
fn quickstart_init_new_upgrade_migrates_default_sqlite() {
    let p = Project::bare();
    p.run_in(p.root(), &["init"], &[]).expect(0);
    let r = p.run(&["new", "create users", "-v", "1"]).expect(0);
    assert!(
        r.stdout
            .contains("Created migration file: V1__create_users.sql")
    );
    let file = p.migrations().join("V1__create_users.sql");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "-- upgrade\n\n-- rollback\n"
    );
    std::fs::write(&file, USERS).unwrap();
    // From the project root, not from jetbase/: the project is found walking down/up.
    p.run_in(p.root(), &["upgrade"], &[]).expect(0);
    assert!(p.table_exists("users"));
    assert_eq!(p.versions(), vec!["1"]);
}

#[test]
fn new_default_version_is_a_timestamp_and_rejects_bad_versions() {
    let p = Project::new();
    let r = p.run(&["new", "add things"]).expect(0);
    let name = r
        .stdout
        .trim()
        .trim_start_matches("Created migration file: ")
        .to_owned();
    let version = name
        .trim_start_matches('V')
        .split("__")
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(version.len(), 15, "{name}");
    assert_eq!(version.as_bytes()[8], b'.');
    assert!(name.ends_with("__add_things.sql"));
    let r = p.run(&["new", "x", "-v", "1.a"]).expect(2);
    assert!(r.stderr.contains("invalid version"), "{}", r.stderr);
    p.run(&["new", "x", "-v", "7"]).expect(0);
    let r = p.run(&["new", "y", "--version", "7.0"]).expect(2);
    assert!(r.stderr.contains("already exists"), "{}", r.stderr);
}

#[test]
fn upgrade_records_history_rows_like_the_original() {
    let p = three();
    let r = p.run(&["upgrade"]).expect(0);
    assert!(
        r.stderr
            .contains("Migration applied successfully: V1__create_users.sql"),
        "{}",
        r.stderr
    );
    let rows = p.rows(
        "SELECT order_executed, version, description, filename, migration_type, checksum FROM jetbase_migrations ORDER BY order_executed",
    );
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows[0][1..5],
        ["1", "create users", "V1__create_users.sql", "VERSIONED"]
    );
    // COMPAT 3 worked example (the statements as the original joins them).
    assert_eq!(
        rows[0][5],
        sha256_hex(
            "CREATE TABLE users ( id INTEGER PRIMARY KEY, email VARCHAR(255) )\nINSERT INTO users (email) VALUES ('a')"
        )
    );
    assert_eq!(
        rows[2][5],
        sha256_hex("CREATE TABLE tags (id INTEGER PRIMARY KEY)")
    );
    // applied_at strictly increases even when files apply within the same millisecond.
    let at: Vec<String> = p
        .rows("SELECT applied_at FROM jetbase_migrations ORDER BY order_executed")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{at:?}");
    assert_eq!(
        p.rows("SELECT id, is_locked, process_id FROM jetbase_lock"),
        vec![vec!["1", "0", "NULL"]]
    );
    let r = p.run(&["upgrade"]).expect(0);
    assert!(
        r.stdout.contains("Migrations are up to date."),
        "{}",
        r.stdout
    );
}

#[test]
fn checksum_drift_fails_upgrade_and_audits_report_every_version() {
    let p = three();
    p.run(&["upgrade"]).expect(0);
    p.write("V1__create_users.sql", &USERS.replace("'a'", "'b'"));
    p.write(
        "V2__create_items.sql",
        &ITEMS.replace("items (id", "items (id2"),
    );
    p.write("V4__more.sql", "CREATE TABLE more (id INTEGER);\n");
    let r = p.run(&["upgrade"]).expect(3);
    assert!(
        r.stderr.contains("version 1 (") && r.stderr.contains("version 2 ("),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("fix-checksums"), "{}", r.stderr);
    assert!(!p.table_exists("more"));
    let r = p.run(&["validate-checksums"]).expect(3);
    assert!(r.stdout.contains("→ 1\n→ 2\n"), "{}", r.stdout);
    let r = p.run(&["--json", "validate-checksums"]).expect(3);
    assert_eq!(r.json()["problems"].as_array().unwrap().len(), 2);
    p.run(&["upgrade", "--skip-checksum-validation"]).expect(0);
    assert!(p.table_exists("more"));
    let r = p.run(&["validate-checksums", "--fix"]).expect(0);
    assert!(
        r.stdout.contains("Repaired checksum for version: 1"),
        "{}",
        r.stdout
    );
    let r = p.run(&["validate-checksums"]).expect(0);
    assert!(
        r.stdout.contains("All migration checksums are valid"),
        "{}",
        r.stdout
    );
}

#[test]
fn repeatables_run_always_or_on_change() {
    let p = Project::new();
    p.write("V1__a.sql", ITEMS);
    p.write("RA__count.sql", "INSERT INTO items DEFAULT VALUES;\n");
    p.write(
        "ROC__view.sql",
        "CREATE VIEW IF NOT EXISTS v AS SELECT 1 AS x;\n",
    );
    p.run(&["upgrade"]).expect(0);
    p.run(&["upgrade"]).expect(0);
    assert_eq!(p.rows("SELECT COUNT(*) FROM items"), vec![vec!["2"]]);
    let types =
        p.rows("SELECT migration_type, version FROM jetbase_migrations ORDER BY order_executed");
    assert_eq!(
        types,
        vec![
            vec!["VERSIONED", "1"],
            vec!["RUNS_ALWAYS", "NULL"],
            vec!["RUNS_ON_CHANGE", "NULL"]
        ]
    );
    let before = p.rows("SELECT checksum FROM jetbase_migrations WHERE filename = 'ROC__view.sql'");
    p.write(
        "ROC__view.sql",
        "DROP VIEW IF EXISTS v;\nCREATE VIEW v AS SELECT 2 AS x;\n",
    );
    let r = p.run(&["status"]).expect(0);
    let pending = r.stdout.split("Migrations Pending").nth(1).unwrap();
    assert!(
        pending.contains("RUNS_ON_CHANGE") && pending.contains("RUNS_ALWAYS"),
        "{}",
        r.stdout
    );
    p.run(&["upgrade"]).expect(0);
    let after = p.rows("SELECT checksum FROM jetbase_migrations WHERE filename = 'ROC__view.sql'");
    assert_eq!(
        after.len(),
        1,
        "a changed ROC file is updated, not inserted again"
    );
    assert_ne!(before, after);
    assert_eq!(p.rows("SELECT x FROM v"), vec![vec!["2"]]);
}

#[test]
fn held_lock_stops_upgrade_with_lock_exit_code_until_unlock() {
    let p = three();
    p.run(&["upgrade", "-c", "1"]).expect(0);
    exec(
        &p.db_path(),
        "UPDATE jetbase_lock SET is_locked = 1, locked_at = '2026-01-01 00:00:00.000', process_id = 'other' WHERE id = 1",
    );
    let r = p.run(&["upgrade", "--lock-timeout", "0"]).expect(4);
    assert!(r.stderr.contains("lock is held"), "{}", r.stderr);
    assert!(r.stderr.contains("jetbase unlock"), "{}", r.stderr);
    let r = p.run(&["lock-status"]).expect(0);
    assert_eq!(
        r.stdout,
        "Status: LOCKED\nLocked At: 2026-01-01 00:00:00.000\nHeld By: process id other (no lease: Python Jetbase or an older tool)\n"
    );
    assert_eq!(p.run(&["--json", "lock-status"]).json()["is_locked"], true);
    // Read-only commands still work under a held lock.
    p.run(&["status"]).expect(0);
    p.run(&["upgrade", "--dry-run"]).expect(0);
    let r = p.run(&["unlock"]).expect(0);
    assert!(r.stdout.contains("Unlock successful."));
    p.run(&["upgrade"]).expect(0);
    assert_eq!(p.versions(), vec!["1", "2", "3"]);
}

#[test]
fn read_only_commands_and_dry_runs_create_nothing() {
    let p = three();
    for args in [
        &["status"][..],
        &["history"],
        &["current"],
        &["lock-status"],
        &["validate-checksums"],
        &["validate-files"],
        &["upgrade", "--dry-run"],
        &["rollback", "--dry-run"],
        &["unlock"],
        &["config"],
    ] {
        p.run(args).expect(0);
        assert!(!p.db_path().exists(), "{args:?} created the database");
    }
    // On an existing database, still no tables.
    exec(&p.db_path(), "CREATE TABLE other (id INTEGER)");
    p.run(&["status"]).expect(0);
    p.run(&["upgrade", "-d"]).expect(0);
    assert!(!p.table_exists("jetbase_migrations") && !p.table_exists("jetbase_lock"));
}

#[test]
fn dry_run_previews_statements_as_written() {
    let p = three();
    let r = p.run(&["upgrade", "--dry-run"]).expect(0);
    assert!(r.stdout.contains("JETBASE - Dry Run Mode"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("SQL Preview for V1__create_users.sql (2 statements)"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("CREATE TABLE users (\n    id INTEGER PRIMARY KEY,"),
        "{}",
        r.stdout
    );
    let j = p.run(&["--json", "upgrade", "--dry-run"]).expect(0).json();
    assert_eq!(j["preview"][0]["statements"][1]["line"], 6);
    p.run(&["upgrade"]).expect(0);
    let r = p.run(&["rollback", "-d", "-c", "2"]).expect(0);
    let tags = r.stdout.find("V3__create_tags.sql").unwrap();
    let items = r.stdout.find("V2__create_items.sql").unwrap();
    assert!(
        tags < items,
        "rollback preview must be newest first:\n{}",
        r.stdout
    );
    assert_eq!(p.versions(), vec!["1", "2", "3"]);
}

#[test]
fn status_history_current_render_tables_and_json() {
    let p = three();
    p.run(&["upgrade", "-c", "2"]).expect(0);
    let r = p.run(&["status"]).expect(0);
    assert!(r.stdout.contains("Migrations Applied") && r.stdout.contains("Migrations Pending"));
    assert!(
        r.stdout.contains("│ 3       │ create tags │"),
        "{}",
        r.stdout
    );
    let j = p.run(&["--json", "status"]).expect(0).json();
    assert_eq!(j["applied"].as_array().unwrap().len(), 2);
    assert_eq!(j["pending"][0]["version"], "3");
    assert_eq!(j["current"], "2");
    let r = p.run(&["history"]).expect(0);
    assert!(r.stdout.contains("Migration History") && r.stdout.contains("Order Executed"));
    let j = p.run(&["--json", "history"]).expect(0).json();
    assert_eq!(j["rows"][1]["filename"], "V2__create_items.sql");
    let at = j["rows"][1]["applied_at"].as_str().unwrap();
    assert!(
        at.len() == 24 && at.as_bytes()[10] == b'T' && at.ends_with('Z'),
        "RFC 3339: {at}"
    );
    assert_eq!(
        p.run(&["current"]).expect(0).stdout,
        "Latest migration version: 2\n"
    );
    assert_eq!(
        p.run(&["--json", "current"]).expect(0).json()["version"],
        "2"
    );
}

#[test]
fn empty_database_reads_as_nothing_applied() {
    let p = three();
    assert_eq!(
        p.run(&["history"]).expect(0).stdout,
        "No migrations have been applied.\n"
    );
    assert_eq!(
        p.run(&["current"]).expect(0).stdout,
        "No migrations have been applied yet.\n"
    );
    let r = p.run(&["validate-checksums"]).expect(0);
    assert!(r.stdout.contains("nothing to repair"), "{}", r.stdout);
}

#[test]
fn project_is_found_from_any_folder_and_with_dir() {
    let p = three();
    let deep = p.root().join("src/app/deep");
    std::fs::create_dir_all(&deep).unwrap();
    p.run_in(&deep, &["upgrade", "-c", "1"], &[]).expect(0);
    p.run_in(&p.migrations(), &["upgrade", "-c", "1"], &[])
        .expect(0);
    let elsewhere = tempfile::tempdir().unwrap();
    let dir = p.dir().display().to_string();
    p.run_in(elsewhere.path(), &["--dir", &dir, "upgrade"], &[])
        .expect(0);
    assert_eq!(p.versions(), vec!["1", "2", "3"]);
    // The relative SQLite path resolved against the project, never the current folder.
    assert!(!deep.join("jetbase.db").exists());
    let r = p.run_in(elsewhere.path(), &["status"], &[]).expect(1);
    assert!(r.stderr.contains("jetbase init"), "{}", r.stderr);
}

#[test]
fn invalid_names_are_errors_and_other_files_are_ignored() {
    let p = three();
    std::fs::write(p.migrations().join("README.md"), "notes").unwrap();
    std::fs::write(p.migrations().join(".gitkeep"), "").unwrap();
    p.run(&["upgrade", "-c", "1"]).expect(0);
    p.write(
        "sub/V1_2__nested.sql",
        "CREATE TABLE nested (id INTEGER);\n",
    );
    p.run(&["upgrade", "-c", "1"]).expect(0);
    assert_eq!(p.versions(), vec!["1", "1.2"]);
    p.write("create_stuff.sql", "SELECT 1;\n");
    let r = p.run(&["upgrade"]).expect(1);
    assert!(r.stderr.contains("create_stuff.sql"), "{}", r.stderr);
    p.remove("create_stuff.sql");
    p.write("V2.0__again.sql", "SELECT 1;\n");
    let r = p.run(&["status"]).expect(1);
    assert!(
        r.stderr.contains("V2__create_items.sql") && r.stderr.contains("V2.0__again.sql"),
        "{}",
        r.stderr
    );
}

#[test]
fn embedded_default_is_announced_when_nothing_is_configured() {
    let p = three();
    std::fs::remove_file(p.dir().join("env.py")).unwrap();
    let r = p.run(&["upgrade"]).expect(0);
    assert!(r.stderr.contains("embedded SQLite"), "{}", r.stderr);
    assert!(
        p.db_path().exists(),
        "default database lives in the project folder"
    );
    let j = p.run(&["--json", "config"]).expect(0).json();
    let url = j["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["key"] == "sqlalchemy_url")
        .unwrap()
        .clone();
    assert_eq!(url["source"], "default");
}

#[test]
fn issue_9_env_py_url_of_unset_variable_fails_instead_of_migrating_the_default() {
    // A CI job that lost its secret: env.py reads PROD_URL, which is unset.
    let p = three();
    std::fs::write(
        p.dir().join("env.py"),
        "import os\nsqlalchemy_url = os.environ.get(\"PROD_URL\")\n",
    )
    .unwrap();
    for args in [&["upgrade"][..], &["config"]] {
        let r = p.run(args).expect(1);
        assert!(
            r.stderr.contains("env.py:2") && r.stderr.contains("None"),
            "{args:?}: {}",
            r.stderr
        );
        assert!(
            !r.stderr.contains("embedded SQLite database"),
            "{}",
            r.stderr
        );
    }
    assert!(!p.db_path().exists(), "no jetbase.db may be created");
}

#[test]
fn passwords_never_appear_in_output() {
    let p = Project::new();
    let secret = "s3cr3t-Pa55";
    std::fs::write(
        p.dir().join("env.py"),
        format!("sqlalchemy_url = \"postgresql://app:{secret}@127.0.0.1:1/db\"\n"),
    )
    .unwrap();
    for args in [
        &["config"][..],
        &["--json", "config"],
        &["status"],
        &["--json", "upgrade"],
    ] {
        let r = p.run(args);
        assert!(
            !r.stdout.contains(secret) && !r.stderr.contains(secret),
            "{args:?} leaked:\n{}\n{}",
            r.stdout,
            r.stderr
        );
    }
    let r = p.run(&["config"]).expect(0);
    assert!(r.stdout.contains("***"), "{}", r.stdout);
}

#[test]
fn json_errors_are_machine_readable() {
    let p = three();
    let r = p.run(&["--json", "rollback", "-t", "3"]).expect(1);
    let j = r.json();
    assert_eq!(j["exit_code"], 1);
    assert!(
        j["error"]
            .as_str()
            .unwrap()
            .contains("has not been applied")
    );
    assert!(r.stderr.contains("error:"));
}

#[test]
fn help_lists_every_command_of_the_original() {
    let p = Project::bare();
    let r = p.run_in(p.root(), &["--help"], &[]).expect(0);
    for cmd in [
        "init",
        "new",
        "upgrade",
        "migrate",
        "rollback",
        "status",
        "history",
        "current",
        "lock-status",
        "unlock",
        "validate-checksums",
        "validate-files",
        "fix",
        "fix-files",
        "fix-checksums",
        "make-migrations",
    ] {
        assert!(
            r.stdout.contains(&format!("  {cmd} ")),
            "missing {cmd}:\n{}",
            r.stdout
        );
    }
    p.run_in(p.root(), &["frobnicate"], &[]).expect(2);
}

#[test]
fn migrate_is_an_alias_of_upgrade() {
    let p = three();
    p.run(&["migrate", "-c", "2"]).expect(0);
    assert_eq!(p.versions(), vec!["1", "2"]);
}

#[test]
fn non_utf8_file_is_an_error_naming_file_and_line() {
    let p = three();
    std::fs::write(
        p.migrations().join("V4__latin1.sql"),
        b"-- upgrade\nINSERT INTO t VALUES ('caf\xe9');\n",
    )
    .unwrap();
    let r = p.run(&["upgrade"]).expect(1);
    assert!(r.stderr.contains("V4__latin1.sql"), "{}", r.stderr);
    assert!(
        r.stderr.contains("line 2") || r.stderr.contains(":2"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("UTF-8"), "{}", r.stderr);
    assert!(p.versions().is_empty() || !p.versions().contains(&"4".to_owned()));
}

#[test]
fn env_py_with_code_is_evaluated_by_python() {
    let p = three();
    std::fs::write(
        p.dir().join("env.py"),
        "import os\n\ndef get_env_vars():\n    return {'sqlalchemy_url': 'sqlite:///' + os.environ['APP_DB_FILE']}\n",
    )
    .unwrap();
    let dir = p.dir();
    p.run_in(
        &dir,
        &["upgrade", "-c", "1"],
        &[("APP_DB_FILE", "from_code.db")],
    )
    .expect(0);
    assert!(p.dir().join("from_code.db").exists());
    std::fs::write(
        p.dir().join("env.py"),
        "import os\nsqlalchemy_url = os.environ['MISSING_VAR']\n",
    )
    .unwrap();
    let r = p.run(&["status"]).expect(1);
    assert!(
        r.stderr.contains("env.py:2") && r.stderr.contains("KeyError"),
        "{}",
        r.stderr
    );
}

#[test]
fn every_command_speaks_json() {
    let p = Project::bare();
    let r = p.run_in(p.root(), &["--json", "init"], &[]).expect(0);
    assert!(r.json()["created"].as_array().unwrap().len() == 2);
    let r = p.run(&["--json", "new", "first", "-v", "1"]).expect(0);
    assert_eq!(r.json()["filename"], "V1__first.sql");
    std::fs::write(p.migrations().join("V1__first.sql"), ITEMS).unwrap();
    for args in [
        &["--json", "upgrade"][..],
        &["--json", "status"],
        &["--json", "history"],
        &["--json", "current"],
        &["--json", "lock-status"],
        &["--json", "validate-checksums"],
        &["--json", "validate-files"],
        &["--json", "fix"],
        &["--json", "fix-files"],
        &["--json", "fix-checksums"],
        &["--json", "config"],
        &["--json", "unlock"],
        &["--json", "rollback"],
        &["--json", "migrate", "--dry-run"],
    ] {
        let r = p.run(args).expect(0);
        assert!(r.json().is_object(), "{args:?}: {}", r.stdout);
    }
    let j = p.run(&["--json", "upgrade"]).expect(0).json();
    assert_eq!(j["applied"][0]["filename"], "V1__first.sql");
    assert_eq!(j["applied"][0]["statements"], 1);
}

#[test]
fn sigint_rolls_back_the_current_file_and_releases_the_lock() {
    let p = Project::new();
    p.write("V1__fast.sql", ITEMS);
    p.write(
        "V2__slow.sql",
        "CREATE TABLE partial (id INTEGER);\nWITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 500000000) SELECT MAX(x) FROM c;\n",
    );
    let child = common::clean_command(&common::bin(), &p.dir())
        .arg("upgrade")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    // Wait until V1 is recorded: V2's slow statement is then running under the lock.
    while !(p.db_path().exists() && p.table_exists("jetbase_migrations") && p.versions() == ["1"]) {
        assert!(std::time::Instant::now() < deadline, "V1 never applied");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert_eq!(p.versions(), vec!["1"]);
    assert!(
        !p.table_exists("partial"),
        "the interrupted file was not rolled back"
    );
    assert_eq!(
        p.rows("SELECT is_locked, process_id FROM jetbase_lock"),
        vec![vec!["0", "NULL"]]
    );
    p.write("V2__slow.sql", "CREATE TABLE partial (id INTEGER);\n");
    p.run(&["upgrade"]).expect(0);
    assert_eq!(p.versions(), vec!["1", "2"]);
}

#[test]
fn count_issue9_zero_says_what_omitting_count_does() {
    let p = three();
    let r = p.run(&["rollback", "-c", "0"]).expect(2);
    assert!(
        r.stderr
            .contains("without --count the latest migration is rolled back"),
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains("everything, omit --count"),
        "{}",
        r.stderr
    );
    let r = p.run(&["upgrade", "-c", "-1"]).expect(2);
    assert!(
        r.stderr
            .contains("to apply every pending migration, omit --count"),
        "{}",
        r.stderr
    );
}

/// Hold the lock as a live jetbase on another machine would (fresh heartbeat).
fn hold_lock_elsewhere(p: &Project) {
    p.run(&["upgrade"]).expect(0);
    p.exec("UPDATE jetbase_lock SET is_locked = 1, locked_at = CURRENT_TIMESTAMP, process_id = 'remote-1' WHERE id = 1");
    p.exec("INSERT INTO jetbase_lock_lease (id, process_id, owner_host, owner_pid, ttl_seconds, acquired_at, heartbeat_at) VALUES (1, 'remote-1', 'elsewhere', 7, 3600, STRFTIME('%Y-%m-%d %H:%M:%f', 'NOW'), STRFTIME('%Y-%m-%d %H:%M:%f', 'NOW'))");
}

/// Start `jetbase upgrade` and wait until it says it is waiting for the lock.
fn upgrade_waiting(p: &Project) -> std::process::Child {
    use std::io::Read;
    let mut child = common::clean_command(&common::bin(), &p.dir())
        .args(["upgrade", "--lock-timeout", "60"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    while !String::from_utf8_lossy(&seen).contains("waiting up to") {
        let n = stderr.read(&mut buf).unwrap();
        assert!(
            n > 0,
            "ended without waiting: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
    }
    child.stderr = Some(stderr);
    child
}

#[test]
fn upgrade_issue9_files_applied_by_another_process_while_waiting_are_up_to_date() {
    let p = Project::new();
    p.write("V1__create_items.sql", ITEMS);
    hold_lock_elsewhere(&p);
    p.write("V2__create_tags.sql", TAGS);
    let child = upgrade_waiting(&p);
    // The other process applies V2, then lets go.
    p.exec("INSERT INTO jetbase_migrations (version, description, filename, migration_type, checksum) VALUES ('2', 'create tags', 'V2__create_tags.sql', 'VERSIONED', 'x')");
    p.exec("UPDATE jetbase_lock SET is_locked = 0, locked_at = NULL, process_id = NULL");
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stdout, "Migrations are up to date.\n", "{stderr}");
    assert!(!p.table_exists("tags"), "V2 ran twice");
}

#[test]
fn repeatables_with_one_name_in_two_folders_are_refused_issue_9() {
    for name in ["RA__refresh.sql", "ROC__view.sql"] {
        let p = Project::new();
        p.write("V1__items.sql", ITEMS);
        p.write(&format!("a/{name}"), "INSERT INTO items DEFAULT VALUES;\n");
        p.write(&format!("b/{name}"), "DELETE FROM items;\n");
        let r = p.run(&["upgrade"]);
        assert_ne!(r.code, 0, "{}", r.stderr);
        assert!(
            r.stderr.contains(&format!("a/{name}")) && r.stderr.contains(&format!("b/{name}")),
            "{}",
            r.stderr
        );
        assert!(r.stderr.contains("hint:"), "{}", r.stderr);
        assert!(!p.table_exists("jetbase_migrations"), "upgrade wrote");
        assert!(!p.table_exists("items"), "upgrade wrote");
    }
}

#[test]
fn concurrent_new_with_one_version_creates_one_file_issue_9() {
    let spellings = [("1", "1.0"), ("1.0", "01"), ("01", "1")];
    for round in 0..20 {
        let p = Project::new();
        let (a, b) = spellings[round % spellings.len()];
        let spawn = |description: &str, version: &str| {
            common::clean_command(&common::bin(), &p.dir())
                .args(["new", description, "-v", version])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        };
        let mut first = spawn("first", a);
        let mut second = spawn("second", b);
        let ok = [first.wait().unwrap(), second.wait().unwrap()]
            .iter()
            .filter(|s| s.success())
            .count();
        let files: Vec<_> = std::fs::read_dir(p.migrations())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(
            (ok, files.len()),
            (1, 1),
            "round {round} ({a} / {b}): {files:?}"
        );
    }
}

/// Wait up to `limit` for `child`; on timeout kill it (SIGKILL) and return `None`.
fn wait_at_most(
    child: &mut std::process::Child,
    limit: std::time::Duration,
) -> Option<std::process::ExitStatus> {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A helper process holding a write lease on `path` (Linux `F_SETLEASE`): any other
/// process's `open()` of the file then blocks (up to `/proc/sys/fs/lease-break-time`, 45 s
/// by default) until the lease is given up, as a read on a hung network file system would.
/// The file stays a regular file. Returns once the lease is held; `wait_blocked` returns
/// once someone is blocked opening the file; dropping the stdin releases the lease.
struct Lease {
    child: std::process::Child,
    out: std::io::BufReader<std::process::ChildStdout>,
}

impl Lease {
    const SCRIPT: &str = r"
import fcntl, os, signal, sys, time
signal.signal(signal.SIGIO, signal.SIG_IGN)  # the kernel's lease-break notice
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_WRLCK)
print('leased', flush=True)
while fcntl.fcntl(fd, fcntl.F_GETLEASE) == fcntl.F_WRLCK:
    time.sleep(0.01)
print('blocked', flush=True)
sys.stdin.read()
";

    fn take(path: &std::path::Path) -> Lease {
        let mut child = std::process::Command::new("python3")
            .args(["-c", Self::SCRIPT])
            .arg(path)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3");
        let out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut lease = Lease { child, out };
        assert_eq!(
            lease.line(),
            "leased",
            "could not take a lease on {} (a file system without leases?)",
            path.display()
        );
        lease
    }

    fn line(&mut self) -> String {
        use std::io::BufRead;
        let mut line = String::new();
        self.out.read_line(&mut line).unwrap();
        line.trim().to_owned()
    }

    fn wait_blocked(&mut self) {
        assert_eq!(self.line(), "blocked");
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sigterm(child: &std::process::Child) {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn sigterm_stops_an_upgrade_blocked_reading_a_file_issue_9() {
    let p = Project::new();
    p.write("V1__items.sql", ITEMS);
    let blocked = p.write("V2__tags.sql", TAGS);
    // 1. Blocked under the lock, reading V2 to apply it after V1.
    let mut lease = Lease::take(&blocked);
    let mut child = common::clean_command(&common::bin(), &p.dir())
        .arg("upgrade")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    lease.wait_blocked();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !(p.table_exists("jetbase_migrations") && p.versions() == ["1"]) {
        assert!(std::time::Instant::now() < deadline, "V1 never applied");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(
        p.rows("SELECT is_locked FROM jetbase_lock"),
        vec![vec!["1"]],
        "the upgrade should be holding the lock while blocked on V2"
    );
    sigterm(&child);
    let status = wait_at_most(&mut child, std::time::Duration::from_secs(5));
    let stderr = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(130),
        "SIGTERM did not stop an upgrade blocked reading a file\n{stderr}"
    );
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert_eq!(
        p.run(&["lock-status"]).expect(0).stdout.trim(),
        "Status: UNLOCKED"
    );
    assert_eq!(p.versions(), vec!["1"]);
    assert!(!p.table_exists("tags"));
    drop(lease);

    // 2. Blocked before the lock, reading checksums to validate them (V1 is applied now).
    let mut lease = Lease::take(&blocked);
    let mut child = common::clean_command(&common::bin(), &p.dir())
        .arg("upgrade")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    lease.wait_blocked();
    std::thread::sleep(std::time::Duration::from_millis(300));
    sigterm(&child);
    let status = wait_at_most(&mut child, std::time::Duration::from_secs(5));
    assert_eq!(status.and_then(|s| s.code()), Some(130));
    assert_eq!(
        p.run(&["lock-status"]).expect(0).stdout.trim(),
        "Status: UNLOCKED"
    );
    drop(lease);

    // The file itself was never the problem.
    p.run(&["upgrade"]).expect(0);
    assert_eq!(p.versions(), vec!["1", "2"]);
}

#[test]
fn fifo_named_like_a_migration_is_refused_without_blocking_issue_9() {
    let p = Project::new();
    p.write("V1__items.sql", ITEMS);
    let fifo = p.migrations().join("sub/V2__pipe.sql");
    std::fs::create_dir_all(fifo.parent().unwrap()).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    // A symbolic link to a regular file elsewhere is a migration like any other.
    let shared = p.root().join("shared.sql");
    std::fs::write(&shared, TAGS).unwrap();
    std::os::unix::fs::symlink(&shared, p.migrations().join("V3__tags.sql")).unwrap();
    for args in [&["upgrade"][..], &["status"], &["upgrade", "--dry-run"]] {
        let mut child = common::clean_command(&common::bin(), &p.dir())
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let status = wait_at_most(&mut child, std::time::Duration::from_secs(10));
        let stderr = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
        assert_eq!(
            status.and_then(|s| s.code()),
            Some(1),
            "{args:?} did not refuse the FIFO\n{stderr}"
        );
        assert!(stderr.contains("sub/V2__pipe.sql"), "{stderr}");
        assert!(stderr.contains("not a regular file"), "{stderr}");
        assert!(!p.table_exists("jetbase_migrations"), "{args:?} wrote");
    }
    std::fs::remove_file(&fifo).unwrap();
    p.run(&["upgrade"]).expect(0);
    assert_eq!(p.versions(), vec!["1", "3"]);
    assert!(p.table_exists("tags"));
}

#[test]
fn sigint_issue9_while_waiting_for_a_lock_says_nothing_was_changed() {
    let p = Project::new();
    p.write("V1__create_items.sql", ITEMS);
    hold_lock_elsewhere(&p);
    p.write("V2__create_tags.sql", TAGS);
    let child = upgrade_waiting(&p);
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("while waiting for another process's migration lock; nothing was changed"),
        "{stderr}"
    );
    assert!(!stderr.contains("rolled back"), "{stderr}");
    assert_eq!(p.versions(), vec!["1"]);
    // The other process's lock is left as it was.
    assert_eq!(
        p.rows("SELECT is_locked, process_id FROM jetbase_lock"),
        vec![vec!["1", "remote-1"]]
    );
}
