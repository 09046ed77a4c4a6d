//! SQLite: no server; the project's database is the file `jetbase/jetbase.db`, and the URL
//! the functions here take is `sqlite://<that file>`.

use super::Server;

pub const SQLITE: Server = Server {
    name: "sqlite",
    kind: jetbase::drivers::BackendKind::Sqlite,
    env_var: None,
    script: None,
    sqlalchemy_schemes: &[],
    database_url: super::database_in_path,
    create_database: |_| unreachable!("SQLite has no server to create a database on"),
    drop_database: |_| unreachable!("SQLite has no server to drop a database on"),
    query_fn: query,
    exec_fn: exec,
    transactional_ddl: true,
    tables: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'",
    now: "STRFTIME('%Y-%m-%d %H:%M:%f', 'NOW')",
    pause: "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 150000) SELECT MAX(x) FROM c;",
    slow: "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000000) SELECT MAX(x) FROM c;\n",
    outside_transaction: "VACUUM;\nCREATE INDEX t_id ON t (id);\n",
    trigger_with_delimiter: "-- jetbase: delimiter=//\n-- upgrade\nCREATE TABLE audit (id INTEGER PRIMARY KEY, note TEXT)//\nCREATE TRIGGER users_ai AFTER INSERT ON users\nBEGIN\n  INSERT INTO audit (note) VALUES ('user added');\nEND//\n-- rollback\nDROP TRIGGER users_ai//\nDROP TABLE audit//\n",
    session_lock: None,
    adapt: super::as_written,
    lock: super::ROW_LOCK,
    python_tool: true,
    python_env: &[],
    crash_kills: super::Kills::AtRandom,
    short_lease: "1",
    patience: super::PATIENT,
    racers: 16,
    lease_tests_alone: false,
    orders_by_order_executed: false,
};

/// Rows of a query on the SQLite database at `url` (opened read-only), every column as text.
fn query(url: &str, sql: &str) -> Vec<Vec<String>> {
    use sqlx::{Connection, Row, ValueRef};
    let url = format!("{url}?mode=ro");
    super::runtime().block_on(async {
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

/// Executes statements on the SQLite database at `url` (created when missing).
fn exec(url: &str, sql: &str) {
    use sqlx::Connection;
    let url = format!("{url}?mode=rwc");
    super::runtime().block_on(async {
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&mut conn)
            .await
            .unwrap();
    });
}
