//! An application using jetbase as a library: it reads its configuration from the
//! environment, waits for the database, applies the project's migrations, then serves the
//! applied versions over HTTP (axum) from a tuned pool on the project's schema.
//!
//!     cd my-project && DB_MAX_RETRIES=30 cargo run --example app -- 127.0.0.1:8080
//!     curl http://127.0.0.1:8080/          # {"versions":["1","2"]}
//!     curl http://127.0.0.1:8080/health    # ok
//!
//! The project is found as the CLI finds it (the nearest `jetbase/` folder); its env.py,
//! jetbase.toml or `DATABASE_URL` give the database. Port 0 picks a free port; the address
//! actually bound is printed on stderr (`serving on http://ADDR/`). Ctrl-C or SIGTERM ends
//! the wait for the database or stops the migration cleanly, as the CLI does (exit 1), or,
//! once serving, lets the requests in flight finish and exits 0.
//!
//! With `--embedded` it applies the migrations compiled into it instead (the example
//! project `examples/jetbase/migrations`, embedded with `jetbase::embed_migrations!`), so it
//! needs no files at run time: from any folder, with the database in `DATABASE_URL` (or a
//! project's env.py when run inside one),
//!
//!     DATABASE_URL=postgresql://app@db/app cargo run --example app -- --embedded 0.0.0.0:8080
//!
//! through the same lock, history table, checksums and validations as `jetbase upgrade`.

use std::process::ExitCode;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jetbase::cancel::CancelToken;
use jetbase::config::{self, EnvVars};
use jetbase::db::{self, DbSetupError, Pool, PoolSettings};
use jetbase::migration::EmbeddedMigrations;
use jetbase::ops::{self, Event, Observer, UpgradeOptions};
use serde_json::json;

/// The example project's migrations, compiled in (the folder is relative to Cargo.toml).
/// Their checksums are those of the files: the CLI and Python Jetbase, reading the same
/// folder, see a database this app migrated as up to date.
static MIGRATIONS: EmbeddedMigrations = jetbase::embed_migrations!("examples/jetbase/migrations");

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Every error the library returns has its password masked in Display.
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let embedded = args.first().is_some_and(|a| a == "--embedded");
    if embedded {
        args.remove(0);
    }
    let addr = args.pop().unwrap_or_else(|| "127.0.0.1:8080".into());
    let env: EnvVars = std::env::vars().collect();
    let cwd = std::env::current_dir()?;
    let settings = if embedded {
        // No project needed: a project's configuration when there is one, else the
        // environment alone (DATABASE_URL, JETBASE_SQLALCHEMY_URL, DB_*).
        let project = config::discover(None, &cwd).unwrap_or_else(|_| config::Project {
            migrations_dir: cwd.join("migrations"),
            dir: cwd.clone(),
        });
        eprintln!("migrations: {} embedded files", MIGRATIONS.files().len());
        config::load(&project, &env)?.with_embedded(&MIGRATIONS)
    } else {
        config::load(&config::discover(None, &cwd)?, &env)?
    };

    // From here on Ctrl-C and SIGTERM are ours: they stop a migration between (or inside)
    // files, or the server once its requests in flight are answered.
    let cancel = CancelToken::new();
    let stop = stop_on_signals(cancel.clone())?;

    // 1. Wait for the database (DB_MAX_RETRIES, DB_RETRY_DELAY), then migrate. The pool is
    //    built from the same connection spec as the migrations (URL, postgres_schema,
    //    session keys), so it reads from the schema they went into.
    //    A stop while waiting ends the wait; one during the upgrade is seen by the upgrade.
    let pool_settings = PoolSettings::from_settings(&settings, &env)?;
    let pool = tokio::select! {
        pool = db::connect(&pool_settings, |attempt| eprintln!("{attempt}")) => pool?,
        () = stopped(stop.clone()) => return Err("stopped while waiting for the database".into()),
    };
    let report = ops::upgrade(
        &settings,
        &UpgradeOptions::default(),
        &mut Migrating { cancel },
    )
    .await?;
    eprintln!("applied {} migration(s)", report.applied.len());

    // 2. Serve until told to stop.
    let app = Router::new()
        .route("/", get(versions))
        .route("/health", get(health))
        .with_state(pool.clone());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("serving on http://{}/", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(stopped(stop))
        .await?;
    pool.close().await;
    eprintln!("stopped");
    Ok(())
}

/// Installs the SIGINT and SIGTERM handlers now (a signal before the server starts must not
/// kill the process mid-migration) and returns what flips once one arrives.
fn stop_on_signals(cancel: CancelToken) -> std::io::Result<tokio::sync::watch::Receiver<bool>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        eprintln!("stopping");
        // A migration still running stops as the CLI's does: its file rolls back, the lock
        // is released, and `upgrade` returns an error.
        cancel.cancel();
        let _ = tx.send(true);
    });
    Ok(rx)
}

/// The upgrade's observer: logs each file, and carries the stop request the signal handler
/// trips (each operation has its own token).
struct Migrating {
    cancel: CancelToken,
}

impl Observer for Migrating {
    fn event(&mut self, event: Event<'_>) {
        if let Event::FileDone { filename, .. } = event {
            eprintln!("applied {filename}");
        }
    }

    fn cancel_token(&self) -> CancelToken {
        self.cancel.clone()
    }
}

async fn stopped(mut stop: tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

const VERSIONS: &str = "SELECT version FROM jetbase_migrations \
     WHERE migration_type = 'VERSIONED' ORDER BY order_executed";

/// `GET /`: the applied versions, in the order they were applied.
async fn versions(State(pool): State<Pool>) -> Result<Json<serde_json::Value>, AppError> {
    let versions: Vec<String> = match &pool {
        Pool::Sqlite(p) => sqlx::query_scalar(VERSIONS).fetch_all(p).await?,
        #[cfg(feature = "postgres")]
        Pool::Postgres(p) => sqlx::query_scalar(VERSIONS).fetch_all(p).await?,
        #[cfg(feature = "mysql")]
        Pool::MySql(p) => sqlx::query_scalar(VERSIONS).fetch_all(p).await?,
    };
    Ok(Json(json!({ "versions": versions })))
}

/// `GET /health`: `ok` once a pooled connection answers a trivial query.
async fn health(State(pool): State<Pool>) -> Result<&'static str, AppError> {
    const PING: &str = "SELECT 1";
    match &pool {
        Pool::Sqlite(p) => sqlx::query(PING).execute(p).await.map(drop)?,
        #[cfg(feature = "postgres")]
        Pool::Postgres(p) => sqlx::query(PING).execute(p).await.map(drop)?,
        #[cfg(feature = "mysql")]
        Pool::MySql(p) => sqlx::query(PING).execute(p).await.map(drop)?,
    }
    Ok("ok")
}

/// A failed request: 500 with `{"error": ...}`, the driver's message scrubbed of
/// `user:pass@`.
struct AppError(DbSetupError);

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        AppError(DbSetupError::from_sqlx(&e))
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let message = self.0.to_string();
        eprintln!("request failed: {message}");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({ "error": message })),
        )
            .into_response()
    }
}
