//! MariaDB (`JETBASE_TEST_MYSQL_URL`, from `scripts/servers/mariadb.sh`) and a 3-node Galera
//! cluster of it (`JETBASE_TEST_GALERA_URLS`, from `scripts/servers/galera.sh`).

use super::Server;

pub const MYSQL: Server = Server {
    name: "mysql",
    kind: jetbase::drivers::BackendKind::MySql,
    env_var: Some("JETBASE_TEST_MYSQL_URL"),
    script: Some("mariadb"),
    sqlalchemy_schemes: &[("mysql://", "mysql+pymysql://")],
    database_url: super::database_in_path,
    create_database: |name| format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4"),
    drop_database: |name| format!("DROP DATABASE IF EXISTS `{name}`"),
    query_fn: query,
    exec_fn: exec,
    // MySQL commits DDL at once.
    transactional_ddl: false,
    tables: "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()",
    now: "CURRENT_TIMESTAMP(6)",
    pause: "SELECT SLEEP(0.02);",
    slow: "SELECT SLEEP(60);\n",
    outside_transaction: "CREATE INDEX t_id ON t (id);\nOPTIMIZE TABLE t;\n",
    trigger_with_delimiter: "-- jetbase: delimiter=//\n-- upgrade\nCREATE TABLE audit (id INTEGER PRIMARY KEY AUTO_INCREMENT, note VARCHAR(50))//\nCREATE TRIGGER users_ai AFTER INSERT ON users FOR EACH ROW\nBEGIN\n  INSERT INTO audit (note) VALUES ('user added');\nEND//\n-- rollback\nDROP TRIGGER users_ai//\nDROP TABLE audit//\n",
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

/// Three MariaDB Galera nodes: `admin_urls()` gives one URL per node.
pub const GALERA: Server = Server {
    name: "galera",
    kind: jetbase::drivers::BackendKind::MySql,
    env_var: Some("JETBASE_TEST_GALERA_URLS"),
    script: Some("galera"),
    ..MYSQL
};

fn exec(url: &str, sql: &str) {
    use sqlx::Connection;
    super::runtime().block_on(async {
        let mut c = sqlx::MySqlConnection::connect(url).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&mut c)
            .await
            .unwrap();
    });
}

fn query(url: &str, sql: &str) -> Vec<Vec<String>> {
    use sqlx::Connection;
    super::runtime().block_on(async {
        let mut c = sqlx::MySqlConnection::connect(url).await.unwrap();
        // On Galera, read what the other nodes wrote (ignored elsewhere).
        let _ = sqlx::raw_sql("SET SESSION wsrep_sync_wait = 1")
            .execute(&mut c)
            .await;
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_all(&mut c)
            .await
            .unwrap();
        rows.iter().map(super::cells).collect()
    })
}
