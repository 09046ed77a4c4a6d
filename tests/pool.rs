//! The connection layer (`jetbase::db`) and `jetbase wait`, on the real test servers.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{GALERA, MYSQL, POSTGRES};
use jetbase::config::EnvVars;
use jetbase::db::{self, Pool, PoolSettings};

fn env(pairs: &[(&str, &str)]) -> EnvVars {
    pairs
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn pg_sessions(admin: &sqlx::PgPool, app: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = $1")
        .bind(app)
        .fetch_one(admin)
        .await
        .unwrap()
}

#[test]
fn pool_size_overflow_and_recycle_are_honoured_on_postgres() {
    let Some(url) = POSTGRES.admin_url() else {
        return;
    };
    rt().block_on(async {
        let app = format!("jb-pool-{}", std::process::id());
        let s = PoolSettings::from_env(
            &env(&[
                ("DATABASE_URL", &url),
                ("DB_POOL_SIZE", "3"),
                ("DB_MAX_OVERFLOW", "4"),
                ("DB_POOL_IDLE_TIMEOUT", "1"),
                ("DB_POOL_RECYCLE", "2"),
                ("DB_APPLICATION_NAME", &app),
            ]),
            Path::new("."),
        )
        .unwrap();
        let Pool::Postgres(pool) = db::connect(&s, |_| {}).await.unwrap() else {
            panic!("not postgres")
        };
        let admin = sqlx::PgPool::connect(&url).await.unwrap();
        // The pool keeps its size open.
        let deadline = Instant::now() + Duration::from_secs(5);
        while pg_sessions(&admin, &app).await < 3 {
            assert!(
                Instant::now() < deadline,
                "the pool never opened its 3 connections"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Overflow: 7 at once, then back to 3 once idle.
        let mut held = Vec::new();
        for _ in 0..7 {
            held.push(pool.acquire().await.unwrap());
        }
        assert_eq!(pg_sessions(&admin, &app).await, 7);
        assert!(
            tokio::time::timeout(Duration::from_millis(300), pool.acquire())
                .await
                .is_err(),
            "an 8th connection was handed out beyond size + overflow"
        );
        drop(held);
        let deadline = Instant::now() + Duration::from_secs(10);
        while pg_sessions(&admin, &app).await > 3 {
            assert!(
                Instant::now() < deadline,
                "idle overflow connections were not closed"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Recycle: a connection older than its lifetime is replaced.
        let first: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&pool)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let mut pids = Vec::new();
        for _ in 0..3 {
            let mut c = pool.acquire().await.unwrap();
            pids.push(
                sqlx::query_scalar::<_, i32>("SELECT pg_backend_pid()")
                    .fetch_one(&mut *c)
                    .await
                    .unwrap(),
            );
        }
        assert!(
            !pids.contains(&first),
            "connection {first} outlived its 2 s lifetime: {pids:?}"
        );
        pool.close().await;
    });
}

#[test]
fn emoji_round_trips_on_mariadb_utf8mb4() {
    let Some(url) = MYSQL.admin_url() else {
        return;
    };
    rt().block_on(async {
        let s = PoolSettings::from_env(
            &env(&[("DATABASE_URL", &url), ("DB_POOL_SIZE", "1")]),
            Path::new("."),
        )
        .unwrap();
        let Pool::MySql(pool) = db::connect(&s, |_| {}).await.unwrap() else {
            panic!("not mysql")
        };
        let charset: String = sqlx::query_scalar("SELECT @@character_set_connection")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(charset, "utf8mb4");
        let back: String = sqlx::query_scalar("SELECT CAST(? AS CHAR CHARACTER SET utf8mb4)")
            .bind("jetbase 🚀 ✓")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(back, "jetbase 🚀 ✓");
        pool.close().await;
    });
}

#[test]
fn wait_fails_cleanly_when_the_database_never_comes() {
    let p = common::Project::new();
    let secret = "N3ver-Sh0wn";
    std::fs::write(
        p.dir().join("env.py"),
        format!("sqlalchemy_url = \"postgresql://app:{secret}@127.0.0.1:1/db\"\n"),
    )
    .unwrap();
    let started = Instant::now();
    let r = p
        .run(&["wait", "--retries", "3", "--delay", "0.1"])
        .expect(5);
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "it did not wait"
    );
    assert_eq!(
        r.stderr.matches("database not ready (attempt").count(),
        3,
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains(secret) && !r.stdout.contains(secret),
        "{}",
        r.stderr
    );
    // Outside any project, `wait` reads DATABASE_URL alone (a container's entry point).
    let bare = tempfile::tempdir().unwrap();
    let r = p.run_in(
        bare.path(),
        &["wait", "--retries", "1", "--delay", "0.05"],
        &[(
            "DATABASE_URL",
            &format!("postgresql://app:{secret}@127.0.0.1:1/db"),
        )],
    );
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(
        r.stderr.contains("127.0.0.1:1") && !r.stderr.contains(secret),
        "{}",
        r.stderr
    );
    // The same waiting before any command, from DB_MAX_RETRIES.
    let dir = p.dir();
    let r = p.run_in(
        &dir,
        &["status"],
        &[("DB_MAX_RETRIES", "2"), ("DB_RETRY_DELAY", "0.05")],
    );
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert_eq!(
        r.stderr.matches("database not ready (attempt").count(),
        2,
        "{}",
        r.stderr
    );
}

#[test]
fn wait_succeeds_when_the_server_starts_later_and_pre_ping_survives_a_restart() {
    // A server of the test's own, on free ports, that it can crash and resume.
    let Some(pg) = common::OwnServer::start(&POSTGRES, &[("PG_DURABLE", "1")]) else {
        return;
    };
    let url = pg.url();
    // A pool survives the server restarting: pre-ping drops the dead connections.
    rt().block_on(async {
        let s = PoolSettings::from_env(
            &env(&[("DATABASE_URL", &url), ("DB_POOL_SIZE", "2")]),
            Path::new("."),
        )
        .unwrap();
        let Pool::Postgres(pool) = db::connect(&s, |_| {}).await.unwrap() else {
            panic!("not postgres")
        };
        let one: i32 = sqlx::query_scalar("SELECT 1")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(one, 1);
        pg.run("crash");
        pg.run("resume");
        let two: i32 = sqlx::query_scalar("SELECT 2")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(two, 2);
        pool.close().await;
    });
    // `jetbase wait` started while the server is down returns once it is up.
    pg.run("crash");
    let p = common::Project::new();
    std::fs::write(
        p.dir().join("env.py"),
        format!("sqlalchemy_url = \"{url}\"\n"),
    )
    .unwrap();
    let child = common::clean_command(&common::bin(), &p.dir())
        .args(["wait", "--retries", "100", "--delay", "0.2"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    pg.run("resume");
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("Database is ready:"), "{stdout}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("database not ready (attempt 1/101)"));
}

#[test]
fn galera_certification_failures_are_retried() {
    let Some(urls) = GALERA.admin_urls() else {
        return;
    };
    let nodes: Vec<String> = urls
        .iter()
        .map(|u| u.rsplit_once('/').unwrap().0.to_owned())
        .collect();
    let db_name = format!("jb_conflict_{}", std::process::id());
    rt().block_on(async {
        let admin = sqlx::MySqlPool::connect(&format!("{}/mysql", nodes[0])).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE `{db_name}`; CREATE TABLE `{db_name}`.counter (id INT PRIMARY KEY, n INT NOT NULL); INSERT INTO `{db_name}`.counter VALUES (1, 0)"
        )))
        .execute(&admin)
        .await
        .unwrap();
        let mut pools = Vec::new();
        for node in &nodes {
            let s = PoolSettings::from_env(&env(&[("DATABASE_URL", &format!("{node}/{db_name}")), ("DB_POOL_SIZE", "4")]), Path::new(".")).unwrap();
            let Pool::MySql(p) = db::connect(&s, |_| {}).await.unwrap() else { panic!("not mysql") };
            pools.push(p);
        }
        // 3 nodes x 4 writers increment the same row 10 times each: conflicting commits.
        let tries = std::rc::Rc::new(std::cell::Cell::new(0u32));
        let local = tokio::task::LocalSet::new();
        for i in 0..12 {
            let pool = pools[i % 3].clone();
            let tries = std::rc::Rc::clone(&tries);
            local.spawn_local(async move {
                for _ in 0..10 {
                    db::retry_on_conflict(50, || {
                        let pool = pool.clone();
                        tries.set(tries.get() + 1);
                        async move {
                            let mut tx = pool.begin().await?;
                            sqlx::query("UPDATE counter SET n = n + 1 WHERE id = 1")
                                .execute(&mut *tx)
                                .await?;
                            tx.commit().await
                        }
                    })
                    .await
                    .unwrap();
                }
            });
        }
        local.await;
        eprintln!("{} attempts for 120 increments", tries.get());
        assert!(tries.get() > 120, "no conflict happened: the retry was not exercised");
        let n: i32 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT n FROM `{db_name}`.counter")))
            .fetch_one(&pools[2])
            .await
            .unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE `{db_name}`"))).execute(&admin).await.unwrap();
        assert_eq!(n, 120, "every increment committed exactly once");
    });
}

/// The CLI and the pool open the database from one connection spec (issue 10): an
/// application that migrates into a schema reads its tables through the pool from that
/// schema.
#[test]
fn pool_and_cli_agree_on_a_non_default_postgres_schema() {
    let Some(p) = common::Project::on(&common::servers::POSTGRES) else {
        return;
    };
    p.exec("CREATE SCHEMA app");
    std::fs::write(
        p.dir().join("env.py"),
        format!(
            "sqlalchemy_url = \"{}\"\npostgres_schema = \"app\"\n",
            p.url
        ),
    )
    .unwrap();
    p.write("V1__items.sql", "CREATE TABLE items (id INTEGER);\n");
    p.run(&["upgrade"]).expect(0);
    assert_eq!(
        p.rows("SELECT COUNT(*) FROM app.jetbase_migrations"),
        vec![vec!["1"]]
    );
    let project = jetbase::config::discover(Some(&p.dir()), &p.dir()).unwrap();
    let settings = jetbase::config::load(&project, &EnvVars::new()).unwrap();
    rt().block_on(async {
        for s in [
            PoolSettings::from_settings(&settings, &EnvVars::new()).unwrap(),
            PoolSettings::from_env(
                &env(&[
                    ("DATABASE_URL", &p.sqlx_url()),
                    ("JETBASE_POSTGRES_SCHEMA", "app"),
                ]),
                Path::new("."),
            )
            .unwrap(),
        ] {
            let Pool::Postgres(pool) = db::connect(&s, |_| {}).await.unwrap() else {
                panic!("not postgres")
            };
            let (schema, n): (String, i64) = sqlx::query_as(
                "SELECT current_schema()::text, (SELECT COUNT(*) FROM jetbase_migrations)",
            )
            .fetch_one(&pool)
            .await
            .unwrap();
            assert_eq!((schema.as_str(), n), ("app", 1));
            pool.close().await;
        }
        // A schema that does not exist fails the pool as it fails the CLI.
        let s = PoolSettings::from_env(
            &env(&[
                ("DATABASE_URL", &p.sqlx_url()),
                ("JETBASE_POSTGRES_SCHEMA", "nowhere"),
            ]),
            Path::new("."),
        )
        .unwrap();
        let err = db::connect(&s, |_| {}).await.unwrap_err().to_string();
        assert!(err.contains("nowhere"), "{err}");
    });
}

#[test]
fn pool_and_cli_agree_on_sqlite_foreign_keys_and_journal_mode() {
    let p = common::Project::new();
    let db_path = p.db_path();
    std::fs::write(
        p.dir().join("env.py"),
        "sqlalchemy_url = \"sqlite:///jetbase.db?foreign_keys=true&journal_mode=wal\"\n",
    )
    .unwrap();
    // The migration itself sees foreign keys on: the orphan insert fails.
    p.write(
        "V1__fk.sql",
        "CREATE TABLE a (id INTEGER PRIMARY KEY);\nCREATE TABLE b (a_id INTEGER REFERENCES a(id));\nINSERT INTO b (a_id) VALUES (7);\n",
    );
    let r = p.run(&["upgrade"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("FOREIGN KEY"), "{}", r.stderr);
    p.write(
        "V1__fk.sql",
        "CREATE TABLE a (id INTEGER PRIMARY KEY);\nCREATE TABLE b (a_id INTEGER REFERENCES a(id));\n",
    );
    p.run(&["upgrade"]).expect(0);
    // The CLI wrote the file in WAL mode, as the URL asks.
    assert_eq!(
        common::query(&db_path, "PRAGMA journal_mode"),
        vec![vec!["wal"]]
    );
    let project = jetbase::config::discover(Some(&p.dir()), &p.dir()).unwrap();
    let settings = jetbase::config::load(&project, &EnvVars::new()).unwrap();
    rt().block_on(async {
        let s = PoolSettings::from_settings(&settings, &EnvVars::new()).unwrap();
        let Pool::Sqlite(pool) = db::connect(&s, |_| {}).await.unwrap() else {
            panic!("not sqlite")
        };
        let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(fk, 1, "the pool honours ?foreign_keys=true");
        let err = sqlx::query("INSERT INTO b (a_id) VALUES (7)")
            .execute(&pool)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("FOREIGN KEY"), "{err}");
        pool.close().await;
    });
}
