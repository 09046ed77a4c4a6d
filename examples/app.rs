//! An application using jetbase as a library: it reads its configuration from the
//! environment, waits for the database, applies the project's migrations, then serves the
//! applied versions over HTTP from a tuned pool.
//!
//!     cd my-project && DB_MAX_RETRIES=30 cargo run --example app -- 127.0.0.1:8080
//!     curl http://127.0.0.1:8080/
//!
//! The project is found as the CLI finds it (the nearest `jetbase/` folder); its env.py,
//! jetbase.toml or `DATABASE_URL` give the database.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

use jetbase::config::{self, EnvVars};
use jetbase::db::{self, Pool, PoolSettings};
use jetbase::ops::{self, PlanLimit, Quiet, UpgradeOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let env: EnvVars = std::env::vars().collect();
    let project = config::discover(None, &std::env::current_dir()?)?;
    let settings = config::load(&project, &env)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;

    // 1. Wait for the database (DB_MAX_RETRIES, DB_RETRY_DELAY), then migrate.
    let pool_settings = PoolSettings::from_settings(&settings, &env)?;
    let pool = rt.block_on(db::connect(&pool_settings, |attempt| {
        eprintln!("{attempt}");
    }))?;
    let report = rt.block_on(ops::upgrade(
        &settings,
        &UpgradeOptions {
            limit: PlanLimit::All,
            dry_run: false,
            skip_validation: false,
            skip_checksum_validation: false,
            skip_file_validation: false,
        },
        &mut Quiet,
    ))?;
    eprintln!(
        "applied {} migration(s); serving on http://{addr}/",
        report.applied.len()
    );

    // 2. Serve: every request answers with the applied versions, read through the pool.
    let listener = TcpListener::bind(&addr)?;
    for stream in listener.incoming() {
        let mut stream = stream?;
        let mut request_line = String::new();
        BufReader::new(&stream).read_line(&mut request_line)?;
        let body = match rt.block_on(versions(&pool)) {
            Ok(v) => format!("{{\"versions\": {v:?}}}\n"),
            Err(e) => format!("{{\"error\": {:?}}}\n", e.to_string()),
        };
        write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )?;
    }
    Ok(())
}

const VERSIONS: &str = "SELECT version FROM jetbase_migrations \
     WHERE migration_type = 'VERSIONED' ORDER BY order_executed";

async fn versions(pool: &Pool) -> Result<Vec<String>, sqlx::Error> {
    match pool {
        Pool::Sqlite(p) => sqlx::query_scalar(VERSIONS).fetch_all(p).await,
        Pool::Postgres(p) => sqlx::query_scalar(VERSIONS).fetch_all(p).await,
        Pool::MySql(p) => sqlx::query_scalar(VERSIONS).fetch_all(p).await,
    }
}
