//! `rollback`: undo the latest applied versioned files, newest first, each in one
//! transaction with the deletion of its history row. Repeatables are never rolled back.

use super::run::{FileAction, run_files};
use super::upgrade::preview;
use super::{Observer, open, parse_all, scan, with_lock};
use crate::backend::{Backend, OpenMode};
use crate::config::Settings;
use crate::error::Error;
use crate::history::{self, AppliedClock, History};
use crate::lock::lease::Held;
use crate::migration::{MigrationFile, MigrationSet, Version};
use crate::report::RollbackReport;

#[derive(Debug, Clone)]
pub struct RollbackOptions {
    /// Roll back this many (default 1).
    pub count: Option<usize>,
    /// Roll back everything applied after this version (which stays applied).
    pub to_version: Option<Version>,
    pub dry_run: bool,
}

/// Roll back.
///
/// # Errors
/// A version that was never applied, a missing file, a failing statement, a held lock.
pub async fn rollback(
    settings: &Settings,
    opts: &RollbackOptions,
    obs: &mut dyn Observer,
) -> Result<RollbackReport, Error> {
    let token = obs.cancel_token();
    super::cancellable(token, rollback_inner(settings, opts, obs)).await
}

async fn rollback_inner(
    settings: &Settings,
    opts: &RollbackOptions,
    obs: &mut dyn Observer,
) -> Result<RollbackReport, Error> {
    if opts.count.is_some() && opts.to_version.is_some() {
        return Err(Error::usage(
            "cannot use --count and --to-version together; choose one, or neither to roll back the last migration",
        ));
    }
    let set = scan(settings)?;
    let mode = if opts.dry_run {
        OpenMode::ReadOnly
    } else {
        OpenMode::ReadWrite
    };
    let mut db = open(settings, mode).await?;
    let result = run(settings, db.as_mut(), &set, opts, obs).await;
    db.close().await;
    result
}

/// Versions to roll back, newest first, as their history text.
fn targets(history: &History, opts: &RollbackOptions) -> Result<Vec<String>, Error> {
    let text = |rows: Vec<&crate::history::HistoryRow>| {
        rows.into_iter()
            .filter_map(|r| r.version.clone())
            .collect::<Vec<_>>()
    };
    if let Some(target) = &opts.to_version {
        let Some(row) = history
            .versioned()
            .find(|r| r.version.as_deref().and_then(Version::parse).as_ref() == Some(target))
        else {
            return Err(Error::NotFound {
                message: format!("version '{target}' has not been applied yet or does not exist"),
                hint: "`jetbase history` lists the applied versions".into(),
            });
        };
        Ok(text(history.applied_after(row)))
    } else {
        let n = opts.count.unwrap_or(1);
        Ok(text(history.newest_first().into_iter().take(n).collect()))
    }
}

fn file_for<'a>(set: &'a MigrationSet, version: &str) -> Result<&'a MigrationFile, Error> {
    Version::parse(version)
        .and_then(|v| set.find_version(&v))
        .ok_or_else(|| Error::NotFound {
            message: format!(
                "migration file for version '{version}' not found; cannot proceed with rollback"
            ),
            hint: "restore the missing file, or run `jetbase fix` to stop tracking versions whose files are gone".into(),
        })
}

async fn run(
    settings: &Settings,
    db: &mut dyn Backend,
    set: &MigrationSet,
    opts: &RollbackOptions,
    obs: &mut dyn Observer,
) -> Result<RollbackReport, Error> {
    let history = history::read(db)
        .await
        .map_err(Error::db("reading the history"))?;
    let versions = targets(&history, opts)?;
    let mut report = RollbackReport {
        dry_run: opts.dry_run,
        rolled_back: Vec::new(),
        preview: Vec::new(),
    };
    let files = versions
        .iter()
        .map(|v| file_for(set, v).map(|f| (v.clone(), f)))
        .collect::<Result<Vec<_>, _>>()?;
    if files.is_empty() {
        return Ok(report);
    }
    if opts.dry_run {
        let mut parsed = parse_all(db, &files.iter().map(|(_, f)| *f).collect::<Vec<_>>());
        for (_, file) in &files {
            report.preview.push(preview(file, &parsed.next()?, true));
        }
        return Ok(report);
    }
    report.rolled_back = with_lock(
        settings,
        db,
        obs,
        async |db: &mut dyn Backend, held: &Held, obs: &mut dyn Observer| {
            let fresh = history::read(db)
                .await
                .map_err(Error::db("reading the history"))?;
            let still: Vec<&str> = fresh
                .versioned()
                .filter_map(|r| r.version.as_deref())
                .collect();
            let todo: Vec<_> = files
                .iter()
                .filter(|(v, _)| still.contains(&v.as_str()))
                .map(|(version, file)| (*file, FileAction::Undo { version }))
                .collect();
            run_files(settings, db, held, &mut AppliedClock::default(), &todo, obs).await
        },
    )
    .await?;
    Ok(report)
}
