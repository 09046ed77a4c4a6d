//! PostgreSQL (`JETBASE_TEST_POSTGRES_URL`, from `scripts/servers/postgres.sh`, which also
//! exports `JETBASE_TEST_POSTGRES_SOCKET_DIR` and `JETBASE_TEST_POSTGRES_CA`).

use super::Server;

pub const POSTGRES: Server = Server {
    name: "postgres",
    kind: jetbase::drivers::BackendKind::Postgres,
    env_var: Some("JETBASE_TEST_POSTGRES_URL"),
    script: Some("postgres"),
    sqlalchemy_schemes: &[
        ("postgresql://", "postgresql+psycopg2://"),
        ("postgres://", "postgresql+psycopg2://"),
    ],
    database_url: super::database_in_path,
    create_database: |name| format!("CREATE DATABASE \"{name}\""),
    drop_database: |name| format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
    query_fn: query,
    exec_fn: exec,
    transactional_ddl: true,
    tables: "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()",
    now: "clock_timestamp()",
    pause: "SELECT pg_sleep(0.02);",
    slow: "SELECT pg_sleep(60);\n",
    outside_transaction: "CREATE INDEX CONCURRENTLY t_id ON t (id);\nCREATE INDEX CONCURRENTLY t_id2 ON t (id);\n",
    trigger_with_delimiter: "-- jetbase: delimiter=//\n-- upgrade\nCREATE TABLE audit (id SERIAL PRIMARY KEY, note TEXT)//\nCREATE FUNCTION note_user() RETURNS trigger AS $$\nBEGIN\n  INSERT INTO audit (note) VALUES ('user added');\n  RETURN NEW;\nEND;\n$$ LANGUAGE plpgsql//\nCREATE TRIGGER users_ai AFTER INSERT ON users FOR EACH ROW EXECUTE FUNCTION note_user()//\n-- rollback\nDROP TRIGGER users_ai ON users//\nDROP FUNCTION note_user()//\nDROP TABLE audit//\n",
    session_lock: Some(|url| Box::new(PgSession::advisory_lock(url))),
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

fn exec(url: &str, sql: &str) {
    use sqlx::Connection;
    super::runtime().block_on(async {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&mut c)
            .await
            .unwrap();
    });
}

fn query(url: &str, sql: &str) -> Vec<Vec<String>> {
    use sqlx::Connection;
    super::runtime().block_on(async {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_all(&mut c)
            .await
            .unwrap();
        rows.iter().map(super::cells).collect()
    })
}

/// A PostgreSQL session kept open, holding the advisory lock a jetbase holder keeps.
pub struct PgSession {
    rt: tokio::runtime::Runtime,
    conn: Option<sqlx::PgConnection>,
}

impl PgSession {
    pub fn advisory_lock(url: &str) -> PgSession {
        use sqlx::Connection;
        let rt = super::runtime();
        let conn = rt.block_on(async {
            let mut c = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::raw_sql(
                "SELECT pg_advisory_lock(hashtextextended('jetbase_lock:' || current_schema(), 0))",
            )
            .execute(&mut c)
            .await
            .unwrap();
            c
        });
        PgSession {
            rt,
            conn: Some(conn),
        }
    }
}

impl Drop for PgSession {
    fn drop(&mut self) {
        use sqlx::Connection;
        if let Some(c) = self.conn.take() {
            self.rt.block_on(async {
                let _ = c.close().await;
            });
        }
    }
}

/// A PostgreSQL transaction kept open after running `sql` (to hold row locks).
pub struct PgTransaction {
    rt: tokio::runtime::Runtime,
    conn: Option<sqlx::PgConnection>,
}

impl PgTransaction {
    pub fn lock_row(url: &str, sql: &str) -> PgTransaction {
        use sqlx::Connection;
        let rt = super::runtime();
        let conn = rt.block_on(async {
            let mut c = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::raw_sql("BEGIN").execute(&mut c).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
                .execute(&mut c)
                .await
                .unwrap();
            c
        });
        PgTransaction {
            rt,
            conn: Some(conn),
        }
    }
}

impl Drop for PgTransaction {
    fn drop(&mut self) {
        use sqlx::Connection;
        if let Some(mut c) = self.conn.take() {
            self.rt.block_on(async {
                let _ = sqlx::raw_sql("ROLLBACK").execute(&mut c).await;
                let _ = c.close().await;
            });
        }
    }
}
