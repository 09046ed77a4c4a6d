//! The one orchestration path both the CLI and library users call: upgrade, rollback,
//! status, history, audits and fixes, lock commands, init and new. Each returns a report;
//! progress goes to an [`Observer`]. Nothing here prints.

mod audit;
mod files;
mod make;
mod plan;
mod reading;
mod rollback;
mod run;
mod status;
mod upgrade;

use std::path::Path;

pub use audit::{AuditMode, audit};
pub use files::{ENV_PY_TEMPLATE, init, new_migration, write_migration};
pub use make::{MakeOptions, make_migrations};
pub use plan::{Plan, PlanLimit};
pub use rollback::{RollbackOptions, rollback};
pub use status::{config_report, current, history, lock_status, status, unlock};
pub use upgrade::{UpgradeOptions, upgrade};

use crate::backend::{self, Backend, DbError, OpenMode};
use crate::config::Settings;
use crate::error::{Error, Stopped};
use crate::lock::lease::Held;
use crate::migration::{self, MigrationFile, MigrationSet};

pub use crate::progress::{Event, Observer, Quiet};

pub(crate) use crate::cancel::{cancellable, current_token};

/// Fails once the running operation was asked to stop, saying where it was.
pub(crate) fn check_cancelled(stage: Stopped) -> Result<(), Error> {
    if crate::cancel::cancelled() {
        Err(Error::Interrupted(stage))
    } else {
        Ok(())
    }
}

/// Connect, waiting for a database that is down or starting as `settings.retry` says;
/// `on_retry` hears of every failed attempt (the message has no password).
pub async fn connect_waiting(
    settings: &Settings,
    mode: OpenMode,
    on_retry: &mut dyn FnMut(&str),
) -> Result<Box<dyn Backend>, Error> {
    let transient = |e: &backend::ConnectError| {
        matches!(
            e,
            backend::ConnectError::Failed {
                transient: true,
                ..
            }
        )
    };
    let (result, _) = crate::retry::wait_for(
        &settings.retry,
        || backend::connect(&settings.connect, mode),
        transient,
        |failed| {
            let message = match failed.error {
                backend::ConnectError::Failed { message, .. } => message.clone(),
                other => other.to_string(),
            };
            on_retry(&format!(
                "database not ready (attempt {}/{}): {message}; retrying in {:.1} s",
                failed.number,
                failed.of,
                failed.retry_in.as_secs_f64()
            ));
        },
    )
    .await;
    Ok(result?)
}

/// Wait until the database accepts a connection (`jetbase wait`, and before any command
/// when `DB_MAX_RETRIES` is set), reporting each failed attempt.
///
/// # Errors
/// The database stayed unreachable, or refused the credentials.
pub async fn wait(
    settings: &Settings,
    obs: &mut dyn Observer,
) -> Result<crate::report::WaitReport, Error> {
    let started = std::time::Instant::now();
    let mut attempts = 1;
    let db = connect_waiting(settings, OpenMode::ReadOnly, &mut |msg| {
        attempts += 1;
        obs.event(Event::Warning(msg));
    })
    .await?;
    db.close().await;
    Ok(crate::report::WaitReport {
        url: settings.url.to_string(),
        attempts,
        waited_ms: started.elapsed().as_secs_f64() * 1000.0,
    })
}

/// Open the configured database.
async fn open(settings: &Settings, mode: OpenMode) -> Result<Box<dyn Backend>, Error> {
    connect_waiting(settings, mode, &mut |_| {}).await
}

/// The migration set: the one compiled into the program when the settings carry it, else a
/// scan of the project's migrations folder (off this thread: a hung file system must not
/// outlive a stop request, see `reading`).
fn scan(settings: &Settings) -> Result<MigrationSet, Error> {
    if let Some(embedded) = settings.embedded {
        // Compiled into the program: nothing on disk to wait for.
        return Ok(embedded.set()?);
    }
    let dir = settings.project.migrations_dir.clone();
    Ok(reading::off_thread(move || migration::scan(&dir))??)
}

/// Read and parse `files` in order with the database's splitting rules, one file ahead of
/// the caller, each read abandoned on a stop request.
fn parse_all(db: &dyn Backend, files: &[&MigrationFile]) -> reading::Parsed {
    reading::Parsed::start(
        files.iter().map(|f| (*f).clone()).collect(),
        db.dialect().split_options(),
    )
}

/// The path of a file relative to the project, for messages.
fn display_path(settings: &Settings, path: &Path) -> String {
    path.strip_prefix(&settings.project.dir)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Create the jetbase tables that are missing. Idempotent, so retried when Galera nodes
/// create them at the same moment.
async fn ensure_tables(db: &mut dyn Backend) -> Result<(), Error> {
    crate::retry::on_conflict(
        crate::retry::CONFLICT_ATTEMPTS,
        DbError::is_retryable_conflict,
        async || crate::history::ensure_tables(db).await,
    )
    .await
    .map_err(Error::db("creating the jetbase tables"))
}

/// Run `work` while holding the migration lock; the lock is released on every path.
/// A held lock is waited for (up to `lock_timeout`); a dead holder's is taken over; while
/// the work runs, a heartbeat on a second connection renews our lease.
async fn with_lock<T, F>(
    settings: &Settings,
    db: &mut dyn Backend,
    obs: &mut dyn Observer,
    work: F,
) -> Result<T, Error>
where
    F: AsyncFnOnce(&mut dyn Backend, &Held, &mut dyn Observer) -> Result<T, Error>,
{
    // Every write command creates what is missing first: a database the Python tool created
    // has no `jetbase_lock_lease` (issue 9), and one it never touched has no tables at all.
    ensure_tables(db).await?;
    let held = crate::lock::lease::acquire(settings, db, obs).await?;
    // A stop request interrupts the statement in flight (where the driver can).
    let _interrupt = db
        .interrupter()
        .and_then(|interrupt| current_token().map(|t| t.on_cancel(interrupt)));
    let result = match work(db, &held, obs).await {
        // Stopped under the lock (a statement stopped by the token fails with the database's
        // own message).
        // A file that is not atomic stays half-applied: say what ran.
        Err(Error::Statement {
            file,
            partial: Some(partial),
            ..
        }) if check_cancelled(Stopped::RunningFiles).is_err() => {
            Err(Error::InterruptedInFile { file, partial })
        }
        Err(_) if check_cancelled(Stopped::RunningFiles).is_err() => {
            Err(Error::Interrupted(Stopped::RunningFiles))
        }
        other => other,
    };
    let released = held.release(db).await;
    // The work's own error matters more than a failed release.
    match (result, released) {
        (Ok(_), Err(e)) => Err(e),
        (result, _) => result,
    }
}
