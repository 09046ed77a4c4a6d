//! The one orchestration path both the CLI and library users call: upgrade, rollback,
//! status, history, audits and fixes, lock commands, init and new. Each returns a report;
//! progress goes to an [`Observer`]. Nothing here prints.

mod audit;
mod files;
mod lease;
mod plan;
mod reading;
mod rollback;
mod run;
mod status;
mod upgrade;

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

pub use audit::{AuditMode, audit};
pub use files::{ENV_PY_TEMPLATE, init, new_migration};
pub use plan::{Plan, PlanLimit};
pub use rollback::{RollbackOptions, rollback};
pub use status::{config_report, current, history, lock_status, status, unlock};
pub use upgrade::{UpgradeOptions, upgrade};

use crate::backend::{self, Backend, DbError, OpenMode};
use crate::config::Settings;
use crate::error::Error;
use crate::migration::{self, MigrationFile, MigrationSet};

/// Progress of a long operation, for whoever shows it.
#[derive(Debug, Clone)]
pub enum Event<'a> {
    /// A message the original prints too ("Starting migrations...").
    Info(&'a str),
    /// Something worth a warning that does not stop the run.
    Warning(&'a str),
    /// File `index` (1-based) of `total` is starting.
    FileStart {
        filename: &'a str,
        index: usize,
        total: usize,
    },
    /// A file finished (applied or rolled back).
    FileDone {
        filename: &'a str,
        rollback: bool,
        duration_ms: f64,
    },
}

/// Receives progress events.
pub trait Observer {
    fn event(&mut self, event: Event<'_>);
}

/// An observer that ignores everything (library use).
#[derive(Debug, Default)]
pub struct Quiet;

impl Observer for Quiet {
    fn event(&mut self, _event: Event<'_>) {}
}

/// Set once a stop was asked for (SIGINT, SIGTERM): checked between files and while waiting
/// for a file to be read.
static CANCELLED: AtomicBool = AtomicBool::new(false);
/// Interrupts the statement running on the open connection.
type Interrupter = Box<dyn Fn() + Send + Sync>;
static INTERRUPTER: Mutex<Option<Interrupter>> = Mutex::new(None);

/// Ask the running operation to stop: the statement in progress fails (its file's
/// transaction is rolled back), a file being read is abandoned (within 50 ms, however long
/// its read would block), no further file starts, and the lock is released as on any
/// error, which then is [`Error::Interrupted`]. Safe to call from any thread.
pub fn cancel() {
    CANCELLED.store(true, Ordering::SeqCst);
    if let Ok(guard) = INTERRUPTER.lock()
        && let Some(interrupt) = guard.as_ref()
    {
        interrupt();
    }
}

/// True once [`cancel`] was called.
pub fn is_cancelled() -> bool {
    CANCELLED.load(Ordering::SeqCst)
}

fn check_cancelled() -> Result<(), Error> {
    if is_cancelled() {
        Err(Error::Interrupted)
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
    let db = connect_waiting(settings, mode, &mut |_| {}).await?;
    if let Ok(mut slot) = INTERRUPTER.lock() {
        *slot = db.interrupter();
    }
    Ok(db)
}

/// Scan the project's migrations folder (off this thread: a hung file system must not
/// outlive a stop request, see `reading`).
fn scan(settings: &Settings) -> Result<MigrationSet, Error> {
    let dir = settings.project.migrations_dir.clone();
    Ok(reading::off_thread(move || migration::scan(&dir))??)
}

/// Read and parse `files` in order with the database's splitting rules, one file ahead of
/// the caller, each read abandoned on a stop request.
fn parse_all(db: &dyn Backend, files: &[&MigrationFile]) -> reading::Parsed {
    reading::Parsed::start(
        files.iter().map(|f| f.path.clone()).collect(),
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
    F: AsyncFnOnce(&mut dyn Backend, &lease::Held, &mut dyn Observer) -> Result<T, Error>,
{
    // Every write command creates what is missing first: a database the Python tool created
    // has no `jetbase_lock_lease` (issue 9), and one it never touched has no tables at all.
    ensure_tables(db).await?;
    let held = lease::acquire(settings, db, obs).await?;
    let result = match work(db, &held, obs).await {
        // A statement stopped by `cancel` fails with the database's own message.
        Err(_) if is_cancelled() => Err(Error::Interrupted),
        other => other,
    };
    let released = held.release(db).await;
    // The work's own error matters more than a failed release.
    match (result, released) {
        (Ok(_), Err(e)) => Err(e),
        (result, _) => result,
    }
}
