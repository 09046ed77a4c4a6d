//! Databricks: the Spark 3.5 Thrift server (TCLIService over HTTP, the protocol Databricks
//! serves) with Iceberg tables, in a network namespace of its own behind a front that checks
//! the Bearer token as Databricks does (`JETBASE_TEST_DATABRICKS_URL`, from
//! `scripts/servers/databricks.sh`; what it is and refuses: `scripts/servers/DATABRICKS_NOTES.md`).
//!
//! The tests reach it through the crate's own driver (`jetbase::backend::connect`): a second
//! TCLIService client would be a copy of it. What the suites check (history rows, lock rows,
//! tables) is read back through it, so a driver that misread values would fail them.
//!
//! What Spark lacks, and how this description copes:
//! - A catalogue query listing tables with their names first: `SHOW TABLES` answers
//!   `namespace, tableName, isTemporary`; [`query`] keeps the name of each non-temporary one.
//! - `PRIMARY KEY` in `CREATE TABLE`: [`adapt`] drops it.
//! - Triggers (Databricks has none either): see `trigger_with_delimiter`.
//! - Sleeping: `reflect` calls `java.lang.Thread.sleep` in the server.

use std::path::Path;

use super::{LockFixture, Server, as_written};

pub const DATABRICKS: Server = Server {
    name: "databricks",
    kind: jetbase::drivers::BackendKind::Databricks,
    env_var: Some("JETBASE_TEST_DATABRICKS_URL"),
    script: Some("databricks"),
    sqlalchemy_schemes: &[],
    database_url,
    create_database: |name| format!("CREATE SCHEMA `{name}`"),
    drop_database: |name| format!("DROP SCHEMA IF EXISTS `{name}` CASCADE"),
    query_fn: query,
    exec_fn: exec,
    // No transactions at all (each statement commits on its own).
    transactional_ddl: false,
    tables: "SHOW TABLES",
    now: "current_timestamp()",
    pause: "SELECT reflect('java.lang.Thread', 'sleep', CAST(20 AS BIGINT));",
    // Five minutes: on a Spark busy with the other suites, a waiter's run alone can take
    // most of a minute, and the holder must outlive it.
    slow: "SELECT reflect('java.lang.Thread', 'sleep', CAST(300000 AS BIGINT));\n",
    outside_transaction: "ALTER TABLE t ADD COLUMN note STRING;\nALTER TABLE t RENAME COLUMN note TO remark;\n",
    // No triggers: the file (written with the delimiter directive all the same) creates
    // `audit` and adds a row per user already there, so `audit` holds the one row the suites
    // expect after V1 (a trigger elsewhere adds it on V10's insert).
    trigger_with_delimiter: "-- jetbase: delimiter=//\n-- upgrade\nCREATE TABLE audit (id INTEGER, note VARCHAR(50))//\nINSERT INTO audit (id, note)\nSELECT id, 'user added' FROM users//\n-- rollback\nDROP TABLE audit//\n",
    session_lock: None,
    adapt,
    lock: ROW_LOCK,
    // No Databricks client library talks to open-source Spark (BACKENDS.md): the original's
    // SQL is compared statement by statement instead (tests/databricks.rs).
    python_tool: false,
    python_env: &[],
    crash_kills: super::Kills::AtRandom,
    short_lease: "30",
    // Each look is a few jobs on the one Spark server the run needs too (a few hundred
    // milliseconds each, far more while the other suites run on it): look less often, and
    // wait longer for the run to get there.
    patience: super::Patience {
        limit: std::time::Duration::from_secs(300),
        every: std::time::Duration::from_millis(500),
    },
    // Spark runs one statement at a time: sixteen racers (each also running the RA file
    // once it holds the lock) take most of ten minutes while the other suites use it too.
    racers: 8,
    lease_tests_alone: true,
    orders_by_order_executed: false,
};

/// The original's lock row (`super::ROW_LOCK`), with the foreign holder's time written as a
/// `TIMESTAMP` literal: Spark does not assign a string to a `TIMESTAMP` column.
const ROW_LOCK: LockFixture = LockFixture {
    held: super::ROW_LOCK.held,
    hold_remote: super::ROW_LOCK.hold_remote,
    expire_remote: super::ROW_LOCK.expire_remote,
    hold_foreign: Some(|p| {
        p.exec("UPDATE jetbase_lock SET is_locked = TRUE, locked_at = TIMESTAMP '2026-01-01 00:00:00', process_id = 'other' WHERE id = 1");
    }),
};

/// The admin URL with `schema=<name>`.
fn database_url(url: &str, name: &str) -> String {
    with_param(url, "schema", name)
}

/// `url` with its `key=` query parameter set to `value` (added last, any other dropped).
pub fn with_param(url: &str, key: &str, value: &str) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut params: Vec<String> = query
        .split('&')
        .filter(|kv| !kv.is_empty() && !kv.starts_with(&format!("{key}=")))
        .map(str::to_owned)
        .collect();
    params.push(format!("{key}={value}"));
    format!("{base}?{}", params.join("&"))
}

/// The suites' SQL for Spark: no `PRIMARY KEY` constraint.
pub fn adapt(sql: &str) -> String {
    as_written(&sql.replace(" PRIMARY KEY", ""))
}

fn with_backend<T>(url: &str, f: impl AsyncFnOnce(&mut dyn jetbase::backend::Backend) -> T) -> T {
    let rt = super::runtime();
    rt.block_on(async {
        let url = jetbase::url::DatabaseUrl::parse(url).expect("a databricks:// URL");
        let spec = jetbase::backend::ConnectSpec::new(url, Path::new("."));
        // A busy server (16 upgrades racing) may refuse a session for a moment: try again.
        let mut attempt = 0;
        let mut db = loop {
            match jetbase::backend::connect(&spec, jetbase::backend::OpenMode::ReadWrite).await {
                Ok(db) => break db,
                Err(e) if attempt < 10 => {
                    attempt += 1;
                    eprintln!("connect (attempt {attempt}): {e}");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
                Err(e) => panic!("connect: {e}"),
            }
        };
        let out = f(db.as_mut()).await;
        db.close().await;
        out
    })
}

fn text(v: &jetbase::backend::Value) -> String {
    use jetbase::backend::Value;
    match v {
        Value::Null => "NULL".to_owned(),
        Value::Bool(b) => if *b { "1" } else { "0" }.to_owned(),
        other => other.as_text().unwrap_or_default(),
    }
}

fn query(url: &str, sql: &str) -> Vec<Vec<String>> {
    let listing = sql.trim().eq_ignore_ascii_case("SHOW TABLES");
    let rows = with_backend(url, async |db| {
        db.query(sql, &[])
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    });
    rows.iter()
        .filter(|r| !(listing && r.get(2).is_some_and(jetbase::backend::Value::as_bool)))
        .map(|r| {
            if listing {
                vec![text(&r[1])]
            } else {
                r.iter().map(text).collect()
            }
        })
        .collect()
}

fn exec(url: &str, sql: &str) {
    with_backend(url, async |db| {
        db.execute_raw(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    });
}

#[test]
fn database_urls_name_the_schema() {
    assert_eq!(
        database_url(
            "databricks://token:t@127.0.0.1:1?http_path=/sql/1.0/warehouses/w&schema=default&protocol=http",
            "jb_1"
        ),
        "databricks://token:t@127.0.0.1:1?http_path=/sql/1.0/warehouses/w&protocol=http&schema=jb_1"
    );
}
