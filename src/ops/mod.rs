//! The one orchestration path both the CLI and library users call: upgrade, rollback,
//! status, history, audits and fixes, lock commands, init and new. Each returns a report;
//! progress goes to an [`Observer`]. Nothing here prints.

mod audit;
mod files;
mod lease;
mod plan;
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
use crate::migration::{self, MigrationFile, MigrationSet, ParsedMigration};

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

/// Set once a stop was asked for (SIGINT, SIGTERM): checked between files.
static CANCELLED: AtomicBool = AtomicBool::new(false);
/// Interrupts the statement running on the open connection.
type Interrupter = Box<dyn Fn() + Send + Sync>;
static INTERRUPTER: Mutex<Option<Interrupter>> = Mutex::new(None);

/// Ask the running operation to stop: the statement in progress fails (its file's
/// transaction is rolled back), no further file starts, and the lock is released as on any
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

/// Scan the project's migrations folder.
fn scan(settings: &Settings) -> Result<MigrationSet, Error> {
    Ok(migration::scan(&settings.project.migrations_dir)?)
}

/// Read and parse one file with the database's splitting rules.
fn parse(db: &dyn Backend, file: &MigrationFile) -> Result<ParsedMigration, Error> {
    Ok(migration::read(&file.path, db.dialect().split_options())?)
}

/// The path of a file relative to the project, for messages.
fn display_path(settings: &Settings, path: &Path) -> String {
    path.strip_prefix(&settings.project.dir)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// How many threads bulk work may use.
fn threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(8)
}

/// `f` over `items`, on every core when there are enough items to pay for the threads.
/// Checksums of a thousand applied files are read this way (the no-op upgrade's main cost).
fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(8);
    if threads < 2 || items.len() < 64 {
        return items.iter().map(&f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(|| part.iter().map(&f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
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
