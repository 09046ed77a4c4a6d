//! `upgrade` (alias `migrate`): validate, plan, then apply each pending file in its own
//! transaction with its history row, under the lock, re-reading the history once the lock
//! is held so that a file applied meanwhile by another process is skipped, not re-run.

use std::collections::HashMap;
use std::path::PathBuf;

use super::audit::{Prefetched, check_checksums, check_files};
use super::plan::{Plan, PlanLimit, RepeatableRun, plan};
use super::reading::checksums;
use super::run::{FileAction, run_files};
use super::{Observer, open, parse_all, scan, with_lock};
use crate::backend::{Backend, OpenMode};
use crate::config::Settings;
use crate::error::Error;
use crate::history::{self, AppliedClock, History};
use crate::lock::lease::Held;
use crate::migration::{MigrationFile, MigrationKind, MigrationSet, ParsedMigration};
use crate::report::{Preview, PreviewStatement, UpgradeReport};

#[derive(Debug, Clone)]
#[allow(clippy::struct_excessive_bools)]
pub struct UpgradeOptions {
    pub limit: PlanLimit,
    pub dry_run: bool,
    pub skip_validation: bool,
    pub skip_checksum_validation: bool,
    pub skip_file_validation: bool,
}

/// A plain `jetbase upgrade`: every pending file, every validation.
impl Default for UpgradeOptions {
    fn default() -> UpgradeOptions {
        UpgradeOptions {
            limit: PlanLimit::All,
            dry_run: false,
            skip_validation: false,
            skip_checksum_validation: false,
            skip_file_validation: false,
        }
    }
}

/// Apply pending migrations.
///
/// # Errors
/// Validation failures, a failing statement (nothing of that file stays applied on a
/// transactional backend), a held lock, unreadable files, database failures.
pub async fn upgrade(
    settings: &Settings,
    opts: &UpgradeOptions,
    obs: &mut dyn Observer,
) -> Result<UpgradeReport, Error> {
    let token = obs.cancel_token();
    super::cancellable(token, upgrade_inner(settings, opts, obs)).await
}

async fn upgrade_inner(
    settings: &Settings,
    opts: &UpgradeOptions,
    obs: &mut dyn Observer,
) -> Result<UpgradeReport, Error> {
    let set = scan(settings)?;
    let validating = !(opts.skip_validation
        || settings.skip_validation
        || opts.skip_checksum_validation
        || settings.skip_checksum_validation);
    // Read the files' checksums on other cores while the database opens.
    let prefetched = validating.then(|| Prefetched::start(&set));
    let mode = if opts.dry_run {
        OpenMode::ReadOnly
    } else {
        OpenMode::ReadWrite
    };
    let mut db = open(settings, mode).await?;
    let result = run(settings, db.as_mut(), &set, opts, prefetched, obs).await;
    db.close().await;
    result
}

/// The current checksums of the repeatables, by path, which the plan compares with the
/// history: read in one batch, off this thread.
fn repeatable_checksums(set: &MigrationSet) -> Result<HashMap<PathBuf, String>, Error> {
    let files: Vec<MigrationFile> = set
        .runs_always
        .iter()
        .chain(&set.runs_on_change)
        .cloned()
        .collect();
    if files.is_empty() {
        return Ok(HashMap::new());
    }
    let paths: Vec<PathBuf> = files.iter().map(|f| f.path.clone()).collect();
    let sums = checksums(files).wait()?;
    paths
        .into_iter()
        .zip(sums)
        .map(|(path, sum)| Ok((path, sum?)))
        .collect()
}

async fn run(
    settings: &Settings,
    db: &mut dyn Backend,
    set: &MigrationSet,
    opts: &UpgradeOptions,
    prefetched: Option<Prefetched>,
    obs: &mut dyn Observer,
) -> Result<UpgradeReport, Error> {
    let history = history::read(db)
        .await
        .map_err(Error::db("reading the history"))?;
    validate(settings, set, &history, opts, prefetched)?;
    let sums = repeatable_checksums(set)?;
    let first = plan(set, &history, &opts.limit, |f| {
        Ok(sums
            .get(&f.path)
            .expect("every repeatable's checksum was read")
            .clone())
    })?;
    let mut report = UpgradeReport {
        dry_run: opts.dry_run,
        applied: Vec::new(),
        preview: Vec::new(),
        up_to_date: first.is_empty(),
    };
    if first.is_empty() {
        return Ok(report);
    }
    if opts.dry_run {
        let files: Vec<&MigrationFile> = first
            .versioned
            .iter()
            .copied()
            .chain(first.repeatables.iter().map(|r| r.file))
            .collect();
        let mut parsed = parse_all(db, &files);
        for file in files {
            report.preview.push(preview(file, &parsed.next()?, false));
        }
        return Ok(report);
    }
    let applied = with_lock(
        settings,
        db,
        obs,
        async |db: &mut dyn Backend, held: &Held, obs: &mut dyn Observer| {
            // Exactly once: what another process applied while we waited is no longer pending.
            let fresh = history::read(db)
                .await
                .map_err(Error::db("reading the history"))?;
            let todo = still_pending(&first, &fresh);
            let mut clock = AppliedClock::after(&fresh);
            let files: Vec<_> = todo
                .iter()
                .map(|(file, known)| (*file, FileAction::Apply { known: *known }))
                .collect();
            run_files(settings, db, held, &mut clock, &files, obs).await
        },
    )
    .await?;
    // Everything was applied by another process while this one waited for the lock.
    report.up_to_date = applied.is_empty();
    report.applied = applied;
    Ok(report)
}

/// The validations the original runs before an upgrade, reporting every problem.
fn validate(
    settings: &Settings,
    set: &MigrationSet,
    history: &History,
    opts: &UpgradeOptions,
    prefetched: Option<Prefetched>,
) -> Result<(), Error> {
    if history.latest_versioned().is_none() || opts.skip_validation || settings.skip_validation {
        return Ok(());
    }
    let mut problems = Vec::new();
    if !(opts.skip_file_validation || settings.skip_file_validation) {
        problems.extend(check_files(set, history));
    }
    if !(opts.skip_checksum_validation || settings.skip_checksum_validation) {
        problems.extend(check_checksums(set, history, prefetched)?.problems);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Validation { problems })
    }
}

/// The files of `plan` still to run given a fresh history, with "has a history row" for
/// repeatables.
fn still_pending<'a>(plan: &Plan<'a>, fresh: &History) -> Vec<(&'a MigrationFile, bool)> {
    let applied = super::plan::applied_versions(fresh);
    let mut out: Vec<(&MigrationFile, bool)> = plan
        .versioned
        .iter()
        .filter(|f| f.version.as_ref().is_some_and(|v| !applied.contains(v)))
        .map(|f| (*f, false))
        .collect();
    for RepeatableRun { file, checksum, .. } in &plan.repeatables {
        let row = fresh.repeatable(&file.filename, file.kind);
        let run =
            file.kind == MigrationKind::RunsAlways || row.is_none_or(|r| &r.checksum != checksum);
        if run {
            out.push((file, row.is_some()));
        }
    }
    out
}

pub(super) fn preview(file: &MigrationFile, parsed: &ParsedMigration, rollback: bool) -> Preview {
    let statements = if rollback {
        &parsed.rollback
    } else {
        &parsed.upgrade
    };
    Preview {
        version: file.version.as_ref().map(ToString::to_string),
        filename: file.filename.clone(),
        migration_type: file.kind.as_str(),
        statements: statements
            .iter()
            .map(|s| PreviewStatement {
                line: s.line,
                sql: s.sql.clone(),
            })
            .collect(),
        warnings: parsed.warnings.clone(),
    }
}
