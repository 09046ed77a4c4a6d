//! One behavioural suite, run on every backend: SQLite, PostgreSQL, MariaDB, ClickHouse (18.16
//! and chdb) and Snowflake (fakesnow) (the descriptions in `common/servers/`). Each test gets its
//! own fresh database, so the tests run in parallel. Server tests skip with a message when their
//! URL (`JETBASE_TEST_POSTGRES_URL`, `JETBASE_TEST_MYSQL_URL`, `JETBASE_TEST_GALERA_URLS`,
//! `JETBASE_TEST_SNOWFLAKE_URL`, ...) is unset, and fail when `CI` is set (`scripts/test.sh`
//! starts the servers with `scripts/servers/`).

#[macro_use]
mod common;

use common::{
    CHDB, CLICKHOUSE, GALERA, MYSQL, POSTGRES, Project, SNOWFLAKE, SQLITE, Server, sha256_hex,
};

const USERS: &str = "-- upgrade\nCREATE TABLE users (\n    id INTEGER PRIMARY KEY,\n    email VARCHAR(255)\n);\nINSERT INTO users (id, email) VALUES (1, 'a');\n\n-- rollback\nDROP TABLE users;\n";
const ITEMS: &str =
    "-- upgrade\nCREATE TABLE items (id INTEGER PRIMARY KEY);\n-- rollback\nDROP TABLE items;\n";
const TAGS: &str = "CREATE TABLE tags (id INTEGER PRIMARY KEY);\n-- rollback\nDROP TABLE tags;\n";

fn three(p: &Project) {
    p.write("V1__create_users.sql", USERS);
    p.write("V2__create_items.sql", ITEMS);
    p.write("V3__create_tags.sql", TAGS);
}

on_every_backend! {
    fn upgrade_records_history_rows_like_the_original(p) {
        three(p);
        let r = p.run(&["upgrade"]).expect(0);
        assert!(r.stderr.contains("Migration applied successfully: V1__create_users.sql"), "{}", r.stderr);
        let rows = p.rows(
            "SELECT version, description, filename, migration_type, checksum FROM jetbase_migrations ORDER BY order_executed",
        );
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0][..4], ["1", "create users", "V1__create_users.sql", "VERSIONED"]);
        assert_eq!(
            rows[0][4],
            sha256_hex(&p.sql("CREATE TABLE users ( id INTEGER PRIMARY KEY, email VARCHAR(255) )\nINSERT INTO users (id, email) VALUES (1, 'a')"))
        );
        assert_eq!(p.rows("SELECT COUNT(*) FROM users"), vec![vec!["1"]]);
        let r = p.run(&["upgrade"]).expect(0);
        assert!(r.stdout.contains("Migrations are up to date."), "{}", r.stdout);
        assert_eq!(p.run(&["lock-status"]).expect(0).stdout, "Status: UNLOCKED\n");
    }

    fn upgrade_count_and_to_version_limit_versioned_files(p) {
        three(p);
        p.run(&["upgrade", "-c", "1"]).expect(0);
        assert_eq!(p.versions(), vec!["1"]);
        p.run(&["upgrade", "--to-version", "2"]).expect(0);
        assert_eq!(p.versions(), vec!["1", "2"]);
        let r = p.run(&["upgrade", "-t", "9"]).expect(1);
        assert!(r.stderr.contains("does not exist among pending migrations"), "{}", r.stderr);
        p.run(&["upgrade", "-c", "0"]).expect(2);
        assert_eq!(p.versions(), vec!["1", "2"]);
    }

    fn rollback_default_count_and_to_version(p) {
        three(p);
        p.run(&["upgrade"]).expect(0);
        p.run(&["rollback"]).expect(0);
        assert_eq!(p.versions(), vec!["1", "2"]);
        assert!(!p.table_exists("tags"));
        p.run(&["upgrade"]).expect(0);
        p.run(&["rollback", "--to-version", "1"]).expect(0);
        assert_eq!(p.versions(), vec!["1"]);
        assert!(p.table_exists("users") && !p.table_exists("items"));
        let r = p.run(&["rollback", "-t", "3"]).expect(1);
        assert!(r.stderr.contains("has not been applied"), "{}", r.stderr);
        p.run(&["rollback", "-c", "5"]).expect(0);
        assert!(p.versions().is_empty());
        assert!(!p.table_exists("users"));
    }

    fn rollback_missing_file_suggests_fix(p) {
        three(p);
        p.run(&["upgrade"]).expect(0);
        p.remove("V3__create_tags.sql");
        let r = p.run(&["rollback"]).expect(1);
        assert!(r.stderr.contains("jetbase fix"), "{}", r.stderr);
        assert_eq!(p.versions(), vec!["1", "2", "3"]);
    }

    fn failing_statement_names_file_and_line(p) {
        p.write("V1__ok.sql", ITEMS);
        p.write(
            "V2__broken.sql",
            "-- upgrade\nCREATE TABLE half (id INTEGER);\n\nINSERT INTO nowhere VALUES (1);\nCREATE TABLE never (id INTEGER);\n-- rollback\nDROP TABLE half;\n",
        );
        let r = p.run(&["upgrade"]).expect(1);
        assert!(r.stderr.contains("migrations/V2__broken.sql:4"), "{}", r.stderr);
        assert!(r.stderr.contains("nowhere"), "{}", r.stderr);
        assert_eq!(p.versions(), vec!["1"], "no history row for the failed file");
        assert!(!p.table_exists("never"));
        if p.server.transactional_ddl {
            assert!(!p.table_exists("half"), "the failed file's first statement stayed applied");
            assert!(r.stderr.contains("rolled back"), "{}", r.stderr);
        } else {
            // MySQL commits DDL at once: say exactly what ran and what did not.
            assert!(p.table_exists("half"));
            assert!(r.stderr.contains("1 statement(s) before it ran and stay applied (lines 2)"), "{}", r.stderr);
            assert!(r.stderr.contains("1 after it did not run (lines 5)"), "{}", r.stderr);
        }
        assert_eq!(p.run(&["lock-status"]).expect(0).stdout, "Status: UNLOCKED\n");
    }

    fn checksum_drift_fails_upgrade_and_audits_report_every_version(p) {
        three(p);
        p.run(&["upgrade"]).expect(0);
        p.write("V1__create_users.sql", &USERS.replace("'a'", "'b'"));
        p.write("V2__create_items.sql", &ITEMS.replace("items (id", "items (id2"));
        p.write("V4__more.sql", "CREATE TABLE more_t (id INTEGER);\n");
        let r = p.run(&["upgrade"]).expect(3);
        assert!(r.stderr.contains("version 1 (") && r.stderr.contains("version 2 ("), "{}", r.stderr);
        assert!(!p.table_exists("more_t"));
        let r = p.run(&["validate-checksums"]).expect(3);
        assert!(r.stdout.contains("→ 1\n→ 2\n"), "{}", r.stdout);
        p.run(&["fix-checksums"]).expect(0);
        p.run(&["validate-checksums"]).expect(0);
        p.run(&["upgrade"]).expect(0);
        assert!(p.table_exists("more_t"));
    }

    fn missing_files_are_reported_and_fixed(p) {
        three(p);
        p.write("RA__refresh.sql", "DELETE FROM items WHERE id < 0;\n");
        p.run(&["upgrade"]).expect(0);
        p.remove("V2__create_items.sql");
        p.remove("RA__refresh.sql");
        let r = p.run(&["validate-files"]).expect(3);
        assert!(r.stdout.contains("→ 2\n→ RA__refresh.sql"), "{}", r.stdout);
        p.run(&["upgrade"]).expect(3);
        p.run(&["fix"]).expect(0);
        assert_eq!(p.versions(), vec!["1", "3"]);
        assert_eq!(p.rows("SELECT COUNT(*) FROM jetbase_migrations"), vec![vec!["2"]]);
        p.run(&["validate-files"]).expect(0);
    }

    fn out_of_order_file_is_rejected_unless_file_validation_is_skipped(p) {
        p.write("V1__a.sql", ITEMS);
        p.write("V3__c.sql", TAGS);
        p.run(&["upgrade"]).expect(0);
        p.write("V2__b.sql", "CREATE TABLE b (id INTEGER);\n");
        let r = p.run(&["upgrade"]).expect(3);
        assert!(r.stderr.contains("V2__b.sql has version 2, lower than the latest applied version 3"), "{}", r.stderr);
        p.run(&["upgrade", "--skip-file-validation"]).expect(0);
    }

    fn repeatables_run_always_or_on_change(p) {
        p.write("V1__hits.sql", "CREATE TABLE hits (n INTEGER);\n");
        p.write("RA__count.sql", "INSERT INTO hits (n) VALUES (1);\n");
        p.write("ROC__view.sql", "DROP VIEW IF EXISTS v;\nCREATE VIEW v AS SELECT 1 AS x;\n");
        p.run(&["upgrade"]).expect(0);
        p.run(&["upgrade"]).expect(0);
        assert_eq!(p.rows("SELECT COUNT(*) FROM hits"), vec![vec!["2"]]);
        let types = p.rows("SELECT migration_type, version FROM jetbase_migrations ORDER BY order_executed");
        assert_eq!(types, vec![vec!["VERSIONED", "1"], vec!["RUNS_ALWAYS", "NULL"], vec!["RUNS_ON_CHANGE", "NULL"]]);
        p.write("ROC__view.sql", "DROP VIEW IF EXISTS v;\nCREATE VIEW v AS SELECT 2 AS x;\n");
        p.run(&["upgrade"]).expect(0);
        assert_eq!(p.rows("SELECT COUNT(*) FROM jetbase_migrations WHERE filename = 'ROC__view.sql'"), vec![vec!["1"]]);
        assert_eq!(p.rows("SELECT x FROM v"), vec![vec!["2"]]);
    }

    fn held_lock_stops_upgrade_until_unlock(p) {
        three(p);
        p.run(&["upgrade", "-c", "1"]).expect(0);
        let started = std::time::Instant::now();
        // 3 s: the waiting line comes only while time is left after the first look, which
        // takes a second on a server of slow round trips (fakesnow on a busy machine).
        if let Some(hold_foreign) = p.server.lock.hold_foreign {
            hold_foreign(p);
            let r = p.run(&["upgrade", "--lock-timeout", "3"]).expect(4);
            assert!(r.stderr.contains("waiting up to 3 s for the migration lock held by process id other"), "{}", r.stderr);
            assert!(r.stderr.contains("never taken over automatically"), "a lock without lease: {}", r.stderr);
            let r = p.run(&["lock-status"]).expect(0);
            assert!(r.stdout.starts_with("Status: LOCKED\nLocked At: 2026-01-01 00:00:00"), "{}", r.stdout);
        } else {
            // No other tool holds a lock here (ClickHouse): a live jetbase elsewhere.
            (p.server.lock.hold_remote)(p, "elsewhere");
            let r = p.run(&["upgrade", "--lock-timeout", "3"]).expect(4);
            assert!(r.stderr.contains("waiting up to 3 s for the migration lock held by jetbase pid 1 on elsewhere"), "{}", r.stderr);
            let r = p.run(&["lock-status"]).expect(0);
            assert!(r.stdout.starts_with("Status: LOCKED\nLocked At: "), "{}", r.stdout);
        }
        assert!(started.elapsed() >= std::time::Duration::from_secs(3), "it did not wait");
        p.run(&["status"]).expect(0);
        p.run(&["unlock"]).expect(0);
        p.run(&["upgrade"]).expect(0);
        assert_eq!(p.versions(), vec!["1", "2", "3"]);
    }

    fn read_only_commands_and_dry_runs_create_no_tables(p) {
        three(p);
        for args in [&["status"][..], &["history"], &["current"], &["lock-status"], &["validate-checksums"], &["validate-files"], &["upgrade", "--dry-run"], &["rollback", "--dry-run"], &["unlock"]] {
            p.run(args).expect(0);
        }
        assert!(!p.table_exists("jetbase_migrations") && !p.table_exists("jetbase_lock"));
    }

    fn dry_run_previews_and_writes_nothing(p) {
        three(p);
        let j = p.run(&["--json", "upgrade", "--dry-run"]).expect(0).json();
        assert_eq!(j["preview"][0]["statements"][1]["line"], 6);
        p.run(&["upgrade"]).expect(0);
        let r = p.run(&["rollback", "-d", "-c", "2"]).expect(0);
        assert!(r.stdout.find("V3__create_tags.sql") < r.stdout.find("V2__create_items.sql"), "{}", r.stdout);
        assert_eq!(p.versions(), vec!["1", "2", "3"]);
    }

    fn status_history_current_agree(p) {
        three(p);
        p.run(&["upgrade", "-c", "2"]).expect(0);
        let j = p.run(&["--json", "status"]).expect(0).json();
        assert_eq!(j["applied"].as_array().unwrap().len(), 2);
        assert_eq!(j["pending"][0]["version"], "3");
        assert_eq!(j["current"], "2");
        let j = p.run(&["--json", "history"]).expect(0).json();
        assert_eq!(j["rows"][1]["filename"], "V2__create_items.sql");
        assert!(j["rows"][1]["applied_at"].as_str().unwrap().ends_with('Z'));
        assert_eq!(p.run(&["current"]).expect(0).stdout, "Latest migration version: 2\n");
    }

    fn transaction_false_runs_statements_one_by_one(p) {
        p.write("V1__t.sql", "CREATE TABLE t (id INTEGER);\n");
        let body = format!("-- jetbase: transaction=false\n{}", p.server.outside_transaction);
        p.write("V2__outside.sql", &body);
        p.run(&["upgrade"]).expect(0);
        assert_eq!(p.versions(), vec!["1", "2"]);
        // The directive is a comment: the checksum is the original's.
        let stored = p.rows("SELECT checksum FROM jetbase_migrations WHERE version = '2'");
        let statements: Vec<&str> = body.lines().skip(1).map(|l| l.trim_end_matches(';')).collect();
        assert_eq!(stored, vec![vec![sha256_hex(&statements.join("\n"))]]);
    }

    fn final_statement_without_delimiter_runs_with_a_warning(p) {
        p.write("V1__no_semicolon.sql", "CREATE TABLE a (id INTEGER);\nCREATE TABLE b (id INTEGER)\n-- rollback\nDROP TABLE b;\nDROP TABLE a;\n");
        let r = p.run(&["upgrade"]).expect(0);
        assert!(r.stderr.contains("warning: V1__no_semicolon.sql: line 2"), "{}", r.stderr);
        assert!(p.table_exists("a") && p.table_exists("b"));
        assert_eq!(p.rows("SELECT checksum FROM jetbase_migrations"), vec![vec![sha256_hex(&p.sql("CREATE TABLE a (id INTEGER)"))]]);
        p.run(&["rollback"]).expect(0);
        assert!(!p.table_exists("a") && !p.table_exists("b"));
    }
}

#[test]
fn postgres_bodies_and_do_blocks_run_as_written() {
    let Some(p) = Project::on(&POSTGRES) else {
        return;
    };
    p.write(
        "V1__fn.sql",
        "-- upgrade\nCREATE FUNCTION add1(i int) RETURNS int AS $$\nBEGIN\n  -- a comment; with a semicolon\n  RETURN i + 1;\nEND;\n$$ LANGUAGE plpgsql;\nDO $body$ BEGIN PERFORM add1(1); END $body$;\nCREATE TABLE t (s TEXT DEFAULT 'a;b');\n-- rollback\nDROP TABLE t;\nDROP FUNCTION add1(int);\n",
    );
    p.run(&["upgrade"]).expect(0);
    assert_eq!(p.rows("SELECT add1(41)"), vec![vec!["42"]]);
    p.write(
        "V2__bad.sql",
        "CREATE TABLE bad (\n  id INT,\n  x TYPO\n);\n",
    );
    let r = p.run(&["upgrade"]).expect(1);
    assert!(
        r.stderr.contains("migrations/V2__bad.sql:3"),
        "the error position maps to the line: {}",
        r.stderr
    );
    p.run(&["rollback"]).expect(0);
    assert!(
        p.rows("SELECT proname FROM pg_proc WHERE proname = 'add1'")
            .is_empty()
    );
}

#[test]
fn postgres_schema_is_the_search_path_and_must_exist() {
    let Some(p) = Project::on(&POSTGRES) else {
        return;
    };
    p.write("V1__t.sql", "CREATE TABLE t (id INT);\n");
    std::fs::write(
        p.dir().join("env.py"),
        format!(
            "sqlalchemy_url = \"{}\"\npostgres_schema = \"app\"\n",
            p.url
        ),
    )
    .unwrap();
    let r = p.run(&["upgrade"]).expect(5);
    assert!(
        r.stderr.contains("\"app\"") && r.stderr.contains("CREATE SCHEMA"),
        "{}",
        r.stderr
    );
    p.exec("CREATE SCHEMA app");
    p.run(&["upgrade"]).expect(0);
    assert_eq!(
        p.rows("SELECT table_schema FROM information_schema.tables WHERE table_name IN ('t', 'jetbase_migrations') ORDER BY table_name"),
        vec![vec!["app"], vec!["app"]]
    );
}

#[test]
fn mysql_triggers_use_the_delimiter_directive_and_utf8mb4() {
    let Some(p) = Project::on(&MYSQL) else {
        return;
    };
    p.write(
        "V1__t.sql",
        "CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20)) DEFAULT CHARSET = utf8mb4;\n-- rollback\nDROP TABLE t;\n",
    );
    p.write(
        "V2__trigger.sql",
        "-- jetbase: delimiter=//\nCREATE TRIGGER t_bi BEFORE INSERT ON t FOR EACH ROW\nBEGIN\n  SET NEW.name = UPPER(NEW.name);\nEND//\n-- rollback\nDROP TRIGGER t_bi//\n",
    );
    p.write(
        "V3__row.sql",
        "INSERT INTO t (id, name) VALUES (1, 'abc😀');\n",
    );
    p.run(&["upgrade"]).expect(0);
    assert_eq!(p.rows("SELECT name FROM t"), vec![vec!["ABC😀"]]);
}

#[test]
fn server_passwords_never_appear_in_connection_errors() {
    for server in [&POSTGRES, &MYSQL, &CLICKHOUSE, &CHDB, &SNOWFLAKE] {
        let Some(p) = Project::on(server) else {
            continue;
        };
        let secret = "Wr0ng-S3cret";
        let bad = p.url.replacen(":secret@", &format!(":{secret}@"), 1);
        assert_ne!(
            bad, p.url,
            "the test URL is expected to carry the password 'secret'"
        );
        std::fs::write(
            p.dir().join("env.py"),
            format!("sqlalchemy_url = \"{bad}\"\n"),
        )
        .unwrap();
        let r = p.run(&["status"]).expect(5);
        assert!(
            !r.stderr.contains(secret) && !r.stdout.contains(secret),
            "{}",
            r.stderr
        );
        assert!(r.stderr.contains("***"), "{}", r.stderr);
    }
}

/// A wrong password: Snowflake's own answer (code 390100, "Incorrect username or password was
/// specified."), our hint, and the connection exit code.
#[test]
fn snowflake_wrong_password_is_refused_with_the_services_message_and_a_hint() {
    let Some(p) = Project::on(&SNOWFLAKE) else {
        return;
    };
    let bad = p.url.replacen(":secret@", ":nope@", 1);
    assert_ne!(bad, p.url, "the test URL carries the password 'secret'");
    std::fs::write(
        p.dir().join("env.py"),
        format!("sqlalchemy_url = \"{bad}\"\n"),
    )
    .unwrap();
    p.write("V1__t.sql", ITEMS);
    let r = p.run(&["upgrade"]).expect(5);
    assert!(
        r.stderr.contains(
            "Incorrect username or password was specified. (check the user and password of the URL)"
        ),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("nope"), "{}", r.stderr);
    // Nothing ran: the right password finds no jetbase table.
    assert!(p.tables().is_empty(), "{:?}", p.tables());
}

/// A Snowflake client killed inside a transaction leaves it open in its session (Snowflake
/// aborts such a detached transaction after hours; fakesnow never does). When that transaction
/// holds the lock row, taking over the dead holder's lock conflicts on every try: the waiter
/// gives up at `--lock-timeout` (exit 4) instead of trying for ever.
#[test]
fn snowflake_lock_row_under_a_dead_sessions_transaction_gives_up_at_lock_timeout() {
    let Some(p) = Project::on(&SNOWFLAKE) else {
        return;
    };
    p.write("V1__a.sql", ITEMS);
    p.run(&["upgrade"]).expect(0);
    p.write("V2__b.sql", TAGS);
    // A holder on another machine whose lease has expired: to be taken over...
    (p.server.lock.hold_remote)(&p, "elsewhere");
    (p.server.lock.expire_remote)(&p);
    // ...but a session that died inside a transaction holds a write on the row.
    let dead = common::servers::snowflake::Session::open(&p.sqlx_url());
    dead.exec("BEGIN");
    dead.exec("UPDATE jetbase_lock SET locked_at = locked_at WHERE id = 1");
    let started = std::time::Instant::now();
    let mut child = common::clean_command(&common::bin(), &p.dir())
        .args(["upgrade", "--lock-timeout", "2"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > std::time::Duration::from_secs(60) {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("upgrade --lock-timeout 2 still runs after a minute");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let r = common::Run::from(&child.wait_with_output().unwrap());
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        r.stderr.contains("jetbase pid 1 on elsewhere"),
        "{}",
        r.stderr
    );
    drop(dead);
    // The dead session's transaction gone, the expired holder is taken over.
    let r = p.run(&["upgrade", "--lock-timeout", "10"]).expect(0);
    assert!(r.stderr.contains("sent no heartbeat for"), "{}", r.stderr);
    assert_eq!(p.versions(), vec!["1", "2"]);
}

/// ClickHouse runs `ALTER ... DELETE/UPDATE` as asynchronous mutations: jetbase reports a file
/// applied only once they are done (`mutations_sync` on modern servers, `system.mutations` on
/// 18.16). The first half shows that without waiting they are not done yet, so the test can
/// fail.
fn clickhouse_mutations_are_done_when_upgrade_returns(server: &'static Server) {
    let Some(p) = Project::on(server) else { return };
    let rows = 4_000_000;
    p.exec("CREATE TABLE probe (n UInt64, v UInt8) ENGINE = MergeTree() ORDER BY n");
    p.exec(&format!(
        "INSERT INTO probe SELECT number, 0 FROM numbers({rows})"
    ));
    p.exec("ALTER TABLE probe UPDATE v = 1 WHERE n % 3 = 0");
    let pending =
        "SELECT count() FROM system.mutations WHERE database = currentDatabase() AND is_done = 0";
    assert_ne!(
        p.rows(pending),
        vec![vec!["0"]],
        "the control mutation was already done: use more rows"
    );
    p.write(
        "V1__t.sql",
        &format!("CREATE TABLE t (n UInt64, v UInt8) ENGINE = MergeTree() ORDER BY n;\nINSERT INTO t SELECT number, 0 FROM numbers({rows});\n"),
    );
    p.write(
        "V2__mutate.sql",
        "ALTER TABLE t DELETE WHERE n % 2 = 0;\nALTER TABLE t UPDATE v = 1 WHERE n % 3 = 0;\n",
    );
    p.run(&["upgrade"]).expect(0);
    assert_eq!(
        p.rows(&format!("{pending} AND table = 't'")),
        vec![vec!["0"]],
        "upgrade returned before its mutations were done"
    );
    assert_eq!(
        p.rows("SELECT count(), sum(v) FROM t"),
        vec![vec![
            (rows / 2).to_string(),
            (0..rows)
                .filter(|n| n % 2 == 1 && n % 3 == 0)
                .count()
                .to_string()
        ]]
    );
    // Rollback's history mutation too.
    p.run(&["rollback"]).expect(0);
    assert_eq!(p.versions(), vec!["1"]);
}

#[test]
fn clickhouse_mutations_are_done_when_upgrade_returns_on_18_16() {
    clickhouse_mutations_are_done_when_upgrade_returns(&CLICKHOUSE);
}

#[test]
fn clickhouse_mutations_are_done_when_upgrade_returns_on_the_modern_engine() {
    clickhouse_mutations_are_done_when_upgrade_returns(&CHDB);
}

/// Ctrl-C on ClickHouse stops the statement on the server (`KILL QUERY`) and, as nothing can
/// be rolled back there, says which statements of the file ran.
fn clickhouse_ctrl_c_kills_the_statement_and_says_what_ran(server: &'static Server) {
    let Some(p) = Project::on(server) else { return };
    p.write("V1__a.sql", ITEMS);
    p.write(
        "V2__slow.sql",
        &format!(
            "CREATE TABLE partial (id UInt64) ENGINE = Log;\n{}SELECT 1;\n",
            server.slow
        ),
    );
    let child = common::clean_command(&common::bin(), &p.dir())
        .arg("upgrade")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !p.table_exists("partial") {
        assert!(std::time::Instant::now() < deadline, "V2 never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let started = std::time::Instant::now();
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "the statement was not stopped"
    );
    assert!(stderr.contains("cannot be rolled back"), "{stderr}");
    assert!(
        stderr.contains("1 statement(s) before it ran and stay applied (lines 1)"),
        "{stderr}"
    );
    assert_eq!(p.versions(), vec!["1"]);
    let killed = "SELECT count() FROM system.processes WHERE query LIKE '%sleepEachRow%' AND query NOT LIKE '%system.processes%'";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while p.rows(killed) != vec![vec!["0"]] {
        assert!(
            std::time::Instant::now() < deadline,
            "the slow statement still runs on the server"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(
        p.run(&["lock-status"]).expect(0).stdout,
        "Status: UNLOCKED\n"
    );
}

#[test]
fn clickhouse_ctrl_c_kills_the_statement_on_18_16() {
    clickhouse_ctrl_c_kills_the_statement_and_says_what_ran(&CLICKHOUSE);
}

#[test]
fn clickhouse_ctrl_c_kills_the_statement_on_the_modern_engine() {
    clickhouse_ctrl_c_kills_the_statement_and_says_what_ran(&CHDB);
}

/// A migration that records whether its own connection uses TLS.
const TLS_PROBE: &str =
    "CREATE TABLE tls_probe AS SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid();\n";

#[test]
fn postgres_sslmode_uses_tls_through_rustls() {
    let Some(p) = Project::on(&POSTGRES) else {
        return;
    };
    let Some(ca) = common::required_env(
        "JETBASE_TEST_POSTGRES_CA",
        "scripts/servers/postgres.sh exports it (openssl makes the CA)",
    ) else {
        return;
    };
    p.write("V1__probe.sql", TLS_PROBE);
    for (query, tls) in [
        ("?sslmode=disable".to_owned(), "0"),
        ("?sslmode=require".to_owned(), "1"),
        (format!("?sslmode=verify-full&sslrootcert={ca}"), "1"),
    ] {
        std::fs::write(
            p.dir().join("env.py"),
            format!("sqlalchemy_url = \"{}{query}\"\n", p.url),
        )
        .unwrap();
        p.run(&["upgrade"]).expect(0);
        assert_eq!(
            p.rows("SELECT ssl FROM tls_probe"),
            vec![vec![tls]],
            "{query}"
        );
        p.run(&["rollback"]).expect(0);
        p.exec("DROP TABLE tls_probe");
    }
    // verify-full without the CA: the self-signed certificate is refused.
    std::fs::write(
        p.dir().join("env.py"),
        format!("sqlalchemy_url = \"{}?sslmode=verify-full\"\n", p.url),
    )
    .unwrap();
    p.run(&["status"]).expect(5);
}

#[test]
fn postgres_unix_socket_host() {
    let Some(p) = Project::on(&POSTGRES) else {
        return;
    };
    let Some(dir) = common::required_env(
        "JETBASE_TEST_POSTGRES_SOCKET_DIR",
        "scripts/servers/postgres.sh exports it",
    ) else {
        return;
    };
    let (base, db) = p.url.rsplit_once('/').unwrap();
    let port = base.rsplit_once(':').unwrap().1;
    // libpq spelling: no host in the authority, the socket folder as `host`.
    let url = format!("postgresql://migrator@/{db}?host={dir}&port={port}");
    std::fs::write(
        p.dir().join("env.py"),
        format!("sqlalchemy_url = \"{url}\"\n"),
    )
    .unwrap();
    p.write(
        "V1__probe.sql",
        "CREATE TABLE via_socket AS SELECT inet_server_addr() IS NULL AS local;\n",
    );
    p.run(&["upgrade"]).expect(0);
    assert_eq!(p.rows("SELECT local FROM via_socket"), vec![vec!["1"]]);
}

/// The lease: holders that crash, holders on other machines, and racing upgrades.
mod lease {
    use super::*;

    /// Start `jetbase upgrade` in the background (of `V1__a.sql` and a slow `V2`, with
    /// `env`) and wait until it holds the lock and runs V2.
    fn upgrade_holding_lock(p: &Project, env: &[(&str, &str)]) -> std::process::Child {
        let mut child = common::clean_command(&common::bin(), &p.dir())
            .arg("upgrade")
            .envs(env.iter().copied())
            // Kept for the failure messages of the tests ([`holder_said`]).
            .stderr(std::fs::File::create(p.dir().join("holder.stderr")).unwrap())
            .spawn()
            .unwrap();
        let patience = p.server.patience;
        let deadline = std::time::Instant::now() + patience.limit;
        // Held, with V1 recorded: the slow V2 runs (on a database without transactional DDL,
        // a holder killed inside V1 would leave its table without a history row).
        while !((p.server.lock.held)(p)
            && p.table_exists("jetbase_migrations")
            && p.versions() == ["1"])
        {
            assert!(
                std::time::Instant::now() < deadline,
                "the lock was never taken in {:?}",
                patience.limit
            );
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "the upgrade ended before holding the lock: {status}\n{}",
                    holder_said(p)
                );
            }
            std::thread::sleep(patience.every);
        }
        child
    }

    /// What the holder of [`upgrade_holding_lock`] printed.
    fn holder_said(p: &Project) -> String {
        std::fs::read_to_string(p.dir().join("holder.stderr")).unwrap_or_default()
    }

    /// `unshare` can give a command a PID namespace of its own here (root). Locally without
    /// it the test skips; under `CI` it must work.
    fn unshare_works() -> bool {
        let ok = std::process::Command::new("unshare")
            .args(["-pf", "--mount-proc", "true"])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            common::skip("`unshare -pf --mount-proc` fails here", "run as root");
        }
        ok
    }

    #[test]
    fn sqlite_issue9_upgrade_waits_while_a_long_file_holds_the_write_lock() {
        // SQLite's write lock outlasts the 5 s busy timeout: busy is "keep waiting" (up to
        // --lock-timeout, then exit 4), never a fatal "database is locked".
        let p = Project::new();
        p.write("V1__a.sql", ITEMS);
        p.write("V2__slow.sql", SQLITE.slow);
        let mut holder = upgrade_holding_lock(&p, &[]);
        let started = std::time::Instant::now();
        let r = p.run(&["upgrade", "--lock-timeout", "2"]);
        assert_eq!(r.code, 4, "{}", r.stderr);
        assert!(!r.stderr.contains("database is locked"), "{}", r.stderr);
        assert!(
            r.stderr.contains(&format!("jetbase pid {}", holder.id())),
            "{}",
            r.stderr
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        // A patient one waits past the busy timeout until the holder lets go (stopped here),
        // then applies what is still pending: the slow file, now quick on disk.
        p.write("V2__slow.sql", "CREATE TABLE quick (id INTEGER);\n");
        let stopper = std::thread::spawn({
            let pid = holder.id();
            move || {
                std::thread::sleep(std::time::Duration::from_secs(7));
                let _ = std::process::Command::new("kill")
                    .args(["-TERM", &pid.to_string()])
                    .status();
            }
        });
        let waiter = common::clean_command(&common::bin(), &p.dir())
            .args(["upgrade", "--lock-timeout", "120"])
            .output();
        let r = common::Run::from(&waiter.unwrap());
        stopper.join().unwrap();
        let status = holder.wait().unwrap();
        assert_eq!(status.code(), Some(130), "the holder stops on SIGTERM");
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(!r.stderr.contains("took over"), "{}", r.stderr);
        assert_eq!(p.versions(), vec!["1", "2"]);
        assert!(p.table_exists("quick"));
    }

    on_every_backend! {
        fn lease_of_a_killed_holder_is_taken_over_without_unlock(p) {
            let _alone = p.server.alone();
            p.write("V1__a.sql", ITEMS);
            p.write("V2__slow.sql", p.server.slow);
            let mut child = upgrade_holding_lock(p, &[]);
            // While it runs, lock-status names the holder and its heartbeat.
            let r = p.run(&["lock-status"]).expect(0);
            assert!(r.stdout.contains(&format!("Held By: jetbase pid {} on ", child.id())), "{}", r.stdout);
            assert!(r.stdout.contains("Heartbeat: "), "{}", r.stdout);
            let j = p.run(&["--json", "lock-status"]).expect(0).json();
            assert_eq!(j["lease"]["owner_pid"], child.id());
            child.kill().unwrap();
            child.wait().unwrap();
            // The crashed holder's lock is still set...
            assert!(p.run(&["lock-status"]).expect(0).stdout.starts_with("Status: LOCKED"));
            // ...and the next upgrade takes it over at once: its owner is gone from this machine.
            p.write("V2__slow.sql", "CREATE TABLE quick (id INTEGER);\n");
            let r = p.run(&["upgrade", "--lock-timeout", "10"]).expect(0);
            assert!(r.stderr.contains("took over the migration lock held by jetbase pid"), "{}", r.stderr);
            assert!(r.stderr.contains("is gone"), "{}", r.stderr);
            assert_eq!(p.versions(), vec!["1", "2"]);
            assert_eq!(p.run(&["lock-status"]).expect(0).stdout, "Status: UNLOCKED\n");
        }

        fn lease_issue9_holder_in_another_pid_namespace_is_not_taken_over(p) {
            let _alone = p.server.alone();
            // Same host name, another process table (containers with host networking,
            // hostNetwork pods): the holder's pid is not visible there, which must not read
            // as "gone". A lease of 1 s: SQLite's heartbeat cannot write while the holder's
            // file keeps the write lock, so only the session lock can tell it is alive.
            if !unshare_works() {
                return;
            }
            p.write("V1__a.sql", ITEMS);
            p.write("V2__slow.sql", p.server.slow);
            let mut child = upgrade_holding_lock(p, &[("JETBASE_LOCK_LEASE", p.server.short_lease)]);
            // Longer than the lease: only the heartbeat keeps it.
            let lease: f64 = p.server.short_lease.parse().unwrap();
            std::thread::sleep(std::time::Duration::from_secs_f64(lease * 1.5));
            let out = common::clean_command(std::path::Path::new("unshare"), &p.dir())
                .args(["-pf", "--mount-proc"])
                .arg(common::bin())
                .args(["upgrade", "--lock-timeout", "3"])
                .output()
                .unwrap();
            let r = common::Run::from(&out);
            let alive = child.try_wait().unwrap().is_none();
            child.kill().unwrap();
            child.wait().unwrap();
            assert!(alive, "the holder ended early:\n{}", holder_said(p));
            assert_eq!(r.code, 4, "{}", r.stderr);
            assert!(!r.stderr.contains("took over"), "{}", r.stderr);
            assert!(r.stderr.contains(&format!("jetbase pid {}", child.id())), "{}", r.stderr);
            assert_eq!(p.versions(), vec!["1"]);
        }

        fn lease_from_another_host_is_taken_over_only_when_expired(p) {
            p.write("V1__a.sql", ITEMS);
            p.run(&["upgrade"]).expect(0);
            p.write("V2__b.sql", TAGS);
            // A holder on another machine whose heartbeat is fresh: we wait, then give up.
            // `|s=1`: the holder says it keeps a session lock (on PostgreSQL, an advisory lock).
            let host = if p.server.session_lock.is_some() { "elsewhere|s=1" } else { "elsewhere" };
            (p.server.lock.hold_remote)(p, host);
            // On PostgreSQL a live holder also keeps its session's advisory lock.
            let remote_session = p.server.session_lock.map(|hold| hold(&p.sqlx_url()));
            let r = p.run(&["upgrade", "--lock-timeout", "0.5"]).expect(4);
            assert!(r.stderr.contains("jetbase pid 1 on elsewhere"), "{}", r.stderr);
            assert!(r.stderr.contains("raise --lock-timeout"), "{}", r.stderr);
            if let Some(session) = remote_session {
                // Its session ends (its machine died): taken over at once, lease or not.
                drop(session);
                let r = p.run(&["upgrade", "--lock-timeout", "10"]).expect(0);
                assert!(r.stderr.contains("has no database session any more"), "{}", r.stderr);
                assert_eq!(p.versions(), vec!["1", "2"]);
                return;
            }
            // Its heartbeat is now older than its lease: taken over.
            (p.server.lock.expire_remote)(p);
            let r = p.run(&["upgrade", "--lock-timeout", "10"]).expect(0);
            assert!(r.stderr.contains("sent no heartbeat for"), "{}", r.stderr);
            assert_eq!(p.versions(), vec!["1", "2"]);
        }

        fn concurrent_upgrades_apply_every_file_exactly_once(p) {
            let _alone = p.server.alone();
            for i in 1..=12 {
                p.write(&format!("V{i}__t{i}.sql"), &format!("CREATE TABLE t{i} (id INTEGER);\nINSERT INTO t{i} (id) VALUES ({i});\n"));
            }
            p.write("RA__count.sql", "CREATE TABLE IF NOT EXISTS ra_runs (n INTEGER);\nINSERT INTO ra_runs (n) VALUES (1);\n");
            // The last racer waits for all the others in turn: minutes on Spark.
            let children: Vec<_> = (0..p.server.racers)
                .map(|_| {
                    common::clean_command(&common::bin(), &p.dir())
                        .args(["upgrade", "--lock-timeout", "600"])
                        .stdout(std::process::Stdio::null())
                        .stderr(std::process::Stdio::piped())
                        .spawn()
                        .unwrap()
                })
                .collect();
            for child in children {
                let out = child.wait_with_output().unwrap();
                assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            }
            let versions = p.versions();
            assert_eq!(versions.len(), 12, "{versions:?}");
            for i in 1..=12 {
                assert_eq!(p.rows(&format!("SELECT COUNT(*) FROM t{i}")), vec![vec!["1"]], "t{i}");
            }
            assert_eq!(p.rows("SELECT COUNT(*) FROM jetbase_migrations WHERE filename = 'RA__count.sql'"), vec![vec!["1"]]);
            assert_eq!(p.run(&["lock-status"]).expect(0).stdout, "Status: UNLOCKED\n");
        }
    }

    mod crash {
        use super::*;

        /// The table names of a project's database, jetbase's own excluded.
        fn tables(p: &Project) -> Vec<String> {
            p.tables()
                .into_iter()
                .filter(|t| !t.starts_with("jetbase"))
                .collect()
        }

        /// History rows so far (none before the table exists).
        fn recorded(p: &Project) -> usize {
            if p.table_exists("jetbase_migrations") {
                p.versions().len()
            } else {
                0
            }
        }

        fn crash_files(p: &Project) {
            // Each file takes ~20 ms, so kills land inside files, between them, and around
            // the lock. MySQL commits DDL at once: only idempotent DDL converges after a kill.
            let pause = p.server.pause;
            for i in 1..=25 {
                let body = if p.server.transactional_ddl {
                    format!(
                        "CREATE TABLE t{i} (id INTEGER);\n{pause}\nINSERT INTO t{i} (id) VALUES ({i});\n"
                    )
                } else {
                    format!("{pause}\nCREATE TABLE IF NOT EXISTS t{i} (id INTEGER);\n")
                };
                p.write(&format!("V{i}__t{i}.sql"), &body);
            }
        }

        on_every_backend! {
            fn upgrades_killed_at_random_points_converge(p) {
                let _alone = p.server.alone();
                crash_files(p);
                // A small deterministic generator: the kill points differ run to run of the loop,
                // not between test runs.
                let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
                let mut kills = 0;
                for _ in 0..12 {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    let before = (p.server.crash_kills == common::servers::Kills::InsideFiles).then(|| recorded(p));
                    let mut child = common::clean_command(&common::bin(), &p.dir())
                        .args(["upgrade", "--lock-timeout", "30"])
                        .stdout(std::process::Stdio::null())
                        .stderr(std::process::Stdio::null())
                        .spawn()
                        .unwrap();
                    if let Some(before) = before {
                        // Once this run has recorded a file, a kill lands in the next one (or
                        // in its bookkeeping), not in the lock's own transactions; the last
                        // files run to their end.
                        let deadline = std::time::Instant::now() + p.server.patience.limit;
                        let mut now = before;
                        while now <= before && child.try_wait().unwrap().is_none() {
                            assert!(std::time::Instant::now() < deadline, "no file recorded in {:?}", p.server.patience.limit);
                            std::thread::sleep(std::time::Duration::from_millis(10));
                            now = recorded(p);
                        }
                        if now > 22 {
                            child.wait().unwrap();
                            continue;
                        }
                        std::thread::sleep(std::time::Duration::from_millis(seed % 100));
                    } else {
                        std::thread::sleep(std::time::Duration::from_millis(5 + seed % 60));
                    }
                    if child.try_wait().unwrap().is_none() {
                        kills += 1;
                    }
                    child.kill().unwrap();
                    child.wait().unwrap();
                }
                let survived = recorded(p);
                // No unlock: the next upgrade takes over whatever lock a killed run left.
                let r = p.run(&["upgrade", "--lock-timeout", "30"]).expect(0);
                assert_eq!(p.versions().len(), 25, "{}", r.stderr);
                let mut distinct = p.versions();
                distinct.dedup();
                assert_eq!(distinct.len(), 25, "a file was recorded twice");
                let clean = Project::on(p.server).unwrap();
                crash_files(&clean);
                clean.run(&["upgrade"]).expect(0);
                assert_eq!(tables(p), tables(&clean), "the schema differs from a clean run");
                if p.server.transactional_ddl {
                    for i in 1..=25 {
                        assert_eq!(p.rows(&format!("SELECT COUNT(*) FROM t{i}")), vec![vec!["1"]], "t{i}");
                    }
                }
                assert_eq!(p.run(&["lock-status"]).expect(0).stdout, "Status: UNLOCKED\n");
                eprintln!("{}: {kills} of 12 runs killed mid-upgrade, {survived} of 25 files recorded by them", p.server.name);
            }
        }
    }
}

/// Three MariaDB Galera nodes (`JETBASE_TEST_GALERA_URLS`, comma-separated, from
/// `scripts/servers/galera.sh`): 16 upgrades at once, spread over the nodes, apply every file
/// once.
#[test]
fn galera_concurrent_upgrades_across_three_nodes_apply_every_file_once() {
    let Some(urls) = GALERA.admin_urls() else {
        return;
    };
    let nodes: Vec<String> = urls
        .iter()
        .map(|u| u.rsplit_once('/').unwrap().0.to_owned())
        .collect();
    assert_eq!(nodes.len(), 3, "{urls:?}");
    let db = format!("jb_galera_{}", std::process::id());
    let admin = format!("{}/mysql", nodes[0]);
    GALERA.exec(&admin, &(GALERA.create_database)(&db));
    let p = Project::bare();
    std::fs::create_dir_all(p.migrations()).unwrap();
    std::fs::write(
        p.dir().join("env.py"),
        "# the URL comes from JETBASE_SQLALCHEMY_URL, one node per process\n",
    )
    .unwrap();
    for i in 1..=12 {
        p.write(
            &format!("V{i}__t{i}.sql"),
            &format!(
                "CREATE TABLE t{i} (id INTEGER PRIMARY KEY);\nINSERT INTO t{i} (id) VALUES ({i});\n"
            ),
        );
    }
    let children: Vec<_> = (0..16)
        .map(|i| {
            common::clean_command(&common::bin(), &p.dir())
                .args(["upgrade", "--lock-timeout", "120"])
                .env("JETBASE_SQLALCHEMY_URL", format!("{}/{db}", nodes[i % 3]))
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let failures: Vec<String> = outputs
        .iter()
        .filter(|o| !o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
        .collect();
    // The failures first and alone (a log may keep only the head of a long output).
    for f in &failures {
        eprintln!("=== failed:\n{f}");
    }
    // Read back through the third node.
    let url = format!("{}/{db}", nodes[2]);
    let versions = GALERA.query(
        &url,
        "SELECT version FROM jetbase_migrations ORDER BY order_executed",
    );
    let tables = GALERA.query(
        &url,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY table_name",
    );
    let counts: Vec<Vec<Vec<String>>> = (1..=12)
        .filter(|i| tables.iter().any(|t| t[0] == format!("t{i}")))
        .map(|i| GALERA.query(&url, &format!("SELECT COUNT(*) FROM t{i}")))
        .collect();
    GALERA.exec(&admin, &(GALERA.drop_database)(&db));
    assert!(
        failures.is_empty(),
        "{} of 16 failed:\n{}",
        failures.len(),
        failures.join("\n---\n")
    );
    assert_eq!(versions.len(), 12, "{versions:?}");
    assert!(
        counts.iter().all(|c| c == &vec![vec!["1".to_owned()]]),
        "{counts:?}"
    );
}

#[test]
fn lost_connection_mid_file_leaves_no_row_and_no_stuck_lock() {
    // A server of the test's own, on free ports: the shared one must not go away under other
    // tests.
    let Some(pg) = common::OwnServer::start(&POSTGRES, &[("PG_DURABLE", "1")]) else {
        return;
    };
    let url = pg.url();
    let p = Project::bare();
    std::fs::create_dir_all(p.migrations()).unwrap();
    std::fs::write(
        p.dir().join("env.py"),
        format!("sqlalchemy_url = \"{url}\"\n"),
    )
    .unwrap();
    p.write("V1__a.sql", ITEMS);
    p.write(
        "V2__slow.sql",
        "CREATE TABLE half (id INTEGER);\nSELECT pg_sleep(60);\n",
    );
    let admin = url.clone();
    let rows = |sql: &str| POSTGRES.query(&admin, sql);
    let child = common::clean_command(&common::bin(), &p.dir())
        .arg("upgrade")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        assert!(std::time::Instant::now() < deadline, "V1 was never applied");
        let applied = rows("SELECT COUNT(*) FROM pg_tables WHERE tablename = 'half'");
        if applied == vec![vec!["1"]]
            // The file may run statement by statement or as one batch (one round trip).
            || rows("SELECT COUNT(*) FROM pg_stat_activity WHERE query LIKE '%SELECT pg_sleep(60)%' AND pid <> pg_backend_pid()")
                == vec![vec!["1"]]
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // The server goes away in the middle of V2.
    pg.run("crash");
    let out = child.wait_with_output().unwrap();
    assert!(
        !out.status.success(),
        "the upgrade survived losing its server?"
    );
    pg.run("resume");
    // Nothing of V2 stayed, and no history row for it.
    assert_eq!(
        rows("SELECT version FROM jetbase_migrations ORDER BY order_executed"),
        vec![vec!["1"]]
    );
    assert_eq!(
        rows("SELECT COUNT(*) FROM pg_tables WHERE tablename = 'half'"),
        vec![vec!["0"]]
    );
    // The lock the dead process left is taken over at once: no `unlock` needed.
    p.write("V2__slow.sql", "CREATE TABLE half (id INTEGER);\n");
    let r = p.run(&["upgrade", "--lock-timeout", "10"]).expect(0);
    assert!(
        r.stderr.contains("took over") || !r.stderr.contains("waiting"),
        "{}",
        r.stderr
    );
    assert_eq!(
        rows("SELECT version FROM jetbase_migrations ORDER BY order_executed"),
        vec![vec!["1"], vec!["2"]]
    );
    assert_eq!(
        p.run(&["lock-status"]).expect(0).stdout,
        "Status: UNLOCKED\n"
    );
}

/// A holder whose heartbeat stalls and whose lock is taken over meanwhile (by another
/// machine that judged it dead) does not record its file: it rolls it back.
#[test]
fn stale_holder_whose_lock_was_taken_over_rolls_back_instead_of_recording() {
    let Some(p) = Project::on(&POSTGRES) else {
        return;
    };
    p.write("V1__t.sql", ITEMS);
    p.run(&["upgrade"]).expect(0);
    p.write(
        "V2__slow.sql",
        "CREATE TABLE stolen (id INTEGER);\nSELECT pg_sleep(2);\n",
    );
    let child = common::clean_command(&common::bin(), &p.dir())
        .arg("upgrade")
        .env("JETBASE_LOCK_LEASE", "1")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while p.rows("SELECT is_locked FROM jetbase_lock WHERE id = 1") != vec![vec!["1"]] {
        assert!(
            std::time::Instant::now() < deadline,
            "the lock was never taken"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // Stall the holder's heartbeat (hold its lease row), and steal the lock as a taker would.
    let stall = common::PgTransaction::lock_row(
        &p.sqlx_url(),
        "SELECT * FROM jetbase_lock_lease FOR UPDATE",
    );
    p.exec("UPDATE jetbase_lock SET process_id = 'thief' WHERE id = 1");
    std::thread::sleep(std::time::Duration::from_secs(3));
    drop(stall);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("taken over by another process"), "{stderr}");
    assert_eq!(
        p.versions(),
        vec!["1"],
        "the stale holder recorded its file"
    );
    assert!(
        !p.table_exists("stolen"),
        "the stale holder's file was not rolled back"
    );
    // The thief's lock is not released by the stale holder.
    assert_eq!(
        p.rows("SELECT process_id FROM jetbase_lock WHERE id = 1"),
        vec![vec!["thief"]]
    );
}

#[test]
fn every_built_in_driver_has_a_test_server_in_the_suite() {
    // The registry is the list of databases this build speaks; the suite must cover each.
    for d in jetbase::backend::registry::built_in() {
        assert!(
            common::servers::SUITE.iter().any(|s| s.kind == d.kind),
            "{} is built in but has no test-server description in tests/common/servers",
            d.name
        );
    }
    for s in common::servers::SUITE {
        assert!(
            jetbase::backend::registry::built_in().any(|d| d.kind == s.kind),
            "{} is in the suite but its driver is not built in",
            s.name
        );
    }
}

/// Two ClickHouse 18.16 nodes replicating one shard, with ZooKeeper
/// (`JETBASE_TEST_CLICKHOUSE_CLUSTER_URLS`, from `scripts/servers/clickhouse-cluster.sh`), used
/// with `?cluster=jetbase_cluster`: jetbase's tables are replicated on both nodes, a file applied
/// through one node is history on the other, and upgrades racing through both nodes apply every
/// file once (the lock's claims are created `ON CLUSTER`).
#[test]
fn clickhouse_cluster_mode_shares_history_and_lock_across_nodes() {
    let Some(urls) = common::required_env(
        "JETBASE_TEST_CLICKHOUSE_CLUSTER_URLS",
        "scripts/test.sh starts one with scripts/servers/clickhouse-cluster.sh",
    ) else {
        return;
    };
    let urls: Vec<String> = urls.split(',').map(|u| u.trim().to_owned()).collect();
    assert_eq!(urls.len(), 2, "two nodes");
    let name = format!(
        "jbc_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    CLICKHOUSE.exec(
        &urls[0],
        &format!("CREATE DATABASE {name} ON CLUSTER jetbase_cluster"),
    );
    let db_urls: Vec<String> = urls
        .iter()
        .map(|u| (CLICKHOUSE.database_url)(u, &name))
        .collect();
    let nodes: Vec<Project> = db_urls.iter().map(|u| cluster_project(u)).collect();
    let write_all = |file: &str, body: &str| {
        for n in &nodes {
            n.write(file, body);
        }
    };
    let versions = |i: usize| -> Vec<String> {
        CLICKHOUSE.exec(&db_urls[i], "SYSTEM SYNC REPLICA jetbase_migrations");
        CLICKHOUSE
            .query(
                &db_urls[i],
                "SELECT version FROM jetbase_migrations ORDER BY order_executed",
            )
            .into_iter()
            .map(|r| r[0].clone())
            .collect()
    };
    write_all(
        "V1__events.sql",
        &format!(
            "CREATE TABLE ev ON CLUSTER jetbase_cluster (id UInt64) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{{shard}}/{name}/ev', '{{replica}}') ORDER BY id;\n-- rollback\nDROP TABLE ev ON CLUSTER jetbase_cluster;\n"
        ),
    );
    write_all(
        "V2__rows.sql",
        "INSERT INTO ev VALUES (1), (2);\n-- rollback\nALTER TABLE ev DELETE WHERE id IN (1, 2);\n",
    );
    write_all(
        "V3__more.sql",
        "INSERT INTO ev VALUES (3);\n-- rollback\nALTER TABLE ev DELETE WHERE id = 3;\n",
    );
    nodes[0].run(&["upgrade", "-c", "1"]).expect(0);
    for (i, url) in db_urls.iter().enumerate() {
        assert_eq!(
            CLICKHOUSE.query(
                url,
                "SELECT engine FROM system.tables WHERE database = currentDatabase() AND name = 'jetbase_migrations'"
            ),
            vec![vec!["ReplicatedMergeTree"]],
            "node {i}"
        );
    }
    let j = nodes[1].run(&["--json", "status"]).expect(0).json();
    assert_eq!(j["applied"].as_array().unwrap().len(), 1, "{j}");
    nodes[1].run(&["upgrade"]).expect(0);
    assert_eq!(versions(0), vec!["1", "2", "3"]);
    assert_eq!(
        nodes[0].run(&["current"]).expect(0).stdout,
        "Latest migration version: 3\n"
    );
    nodes[0].run(&["rollback"]).expect(0);
    assert_eq!(
        nodes[1].run(&["current"]).expect(0).stdout,
        "Latest migration version: 2\n"
    );
    assert_eq!(versions(1), vec!["1", "2"]);
    race_through_both_nodes(&nodes, &write_all);
    assert_eq!(
        versions(1),
        vec!["1", "2", "3", "4", "5", "6", "7", "8", "9"]
    );
    CLICKHOUSE.exec(&db_urls[1], "SYSTEM SYNC REPLICA ev");
    assert_eq!(
        CLICKHOUSE.query(&db_urls[1], "SELECT count() FROM ev"),
        vec![vec!["9"]],
        "each file ran once"
    );
    assert_eq!(
        nodes[1].run(&["lock-status"]).expect(0).stdout,
        "Status: UNLOCKED\n"
    );
    CLICKHOUSE.exec(
        &urls[0],
        &format!("DROP DATABASE IF EXISTS {name} ON CLUSTER jetbase_cluster"),
    );
}

/// A project on one node of the cluster, in cluster mode.
fn cluster_project(url: &str) -> Project {
    let p = Project::bare();
    std::fs::create_dir_all(p.migrations()).unwrap();
    std::fs::write(
        p.dir().join("env.py"),
        format!("sqlalchemy_url = \"{url}?cluster=jetbase_cluster\"\n"),
    )
    .unwrap();
    p
}

/// Six upgrades at once, three through each node, with six new files.
fn race_through_both_nodes(nodes: &[Project], write_all: &dyn Fn(&str, &str)) {
    for i in 4..=9 {
        write_all(
            &format!("V{i}__t{i}.sql"),
            &format!("INSERT INTO ev VALUES ({i});\n"),
        );
    }
    let children: Vec<_> = (0..6)
        .map(|k| {
            common::clean_command(&common::bin(), &nodes[k % 2].dir())
                .args(["upgrade", "--lock-timeout", "120"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
