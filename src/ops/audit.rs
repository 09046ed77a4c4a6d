//! Validations shared by upgrade and the audit commands (`validate-checksums`,
//! `validate-files`, `fix`, `fix-files`, `fix-checksums`). Unlike the original, every
//! offending version is reported, not only the first.

use std::collections::{HashMap, HashSet};

use super::plan::{applied_versions, latest_version};
use super::reading::{Pending, checksums};
use super::{Observer, open, scan, with_lock};
use crate::backend::{Backend, Expect, OpenMode, Unit};
use crate::config::Settings;
use crate::error::{Error, Problem};
use crate::history::{self, History};
use crate::lock::lease::Held;
use crate::migration::{MigrationError, MigrationFile, MigrationSet, Version};
use crate::report::AuditReport;

/// File checks: new files older than the latest applied version, applied versions whose
/// file is gone, applied repeatables whose file is gone.
pub(crate) fn check_files(set: &MigrationSet, history: &History) -> Vec<Problem> {
    let mut problems = Vec::new();
    let applied = applied_versions(history);
    if let Some(latest) = latest_version(history) {
        for f in &set.versioned {
            if let Some(v) = &f.version
                && v < &latest
                && !applied.contains(v)
            {
                problems.push(Problem {
                    kind: "out_of_order",
                    version: Some(v.to_string()),
                    filename: Some(f.filename.clone()),
                    message: format!(
                        "{} has version {v}, lower than the latest applied version {latest}",
                        f.filename
                    ),
                });
            }
        }
    }
    problems.extend(missing_files(set, history));
    problems
}

/// Applied rows (versioned and repeatable) whose file is gone.
pub(crate) fn missing_files(set: &MigrationSet, history: &History) -> Vec<Problem> {
    let mut problems = Vec::new();
    let on_disk: HashSet<&Version> = set
        .versioned
        .iter()
        .filter_map(|f| f.version.as_ref())
        .collect();
    for row in history.versioned() {
        let v = row.version.clone().unwrap_or_default();
        let present = Version::parse(&v).is_some_and(|pv| on_disk.contains(&pv));
        if !present {
            problems.push(Problem {
                kind: "missing_file",
                version: Some(v.clone()),
                filename: Some(row.filename.clone()),
                message: format!(
                    "version {v} has been applied but its file {} is missing",
                    row.filename
                ),
            });
        }
    }
    let repeatable_names: HashSet<&str> = set
        .runs_always
        .iter()
        .chain(&set.runs_on_change)
        .map(|f| f.filename.as_str())
        .collect();
    for row in history.repeatables() {
        if !repeatable_names.contains(row.filename.as_str()) {
            problems.push(Problem {
                kind: "missing_repeatable_file",
                version: None,
                filename: Some(row.filename.clone()),
                message: format!(
                    "repeatable {} has been applied but its file is missing",
                    row.filename
                ),
            });
        }
    }
    problems
}

/// The outcome of [`check_checksums`].
pub(crate) struct ChecksumCheck {
    pub problems: Vec<Problem>,
    /// (version as stored, current checksum) for each changed file.
    pub repairs: Vec<(String, String)>,
}

/// Checksums of every versioned file (in `set.versioned` order), computed on other threads
/// while the caller opens the database and reads the history.
pub(crate) struct Prefetched(Pending<Vec<Result<String, MigrationError>>>);

impl Prefetched {
    pub(crate) fn start(set: &MigrationSet) -> Prefetched {
        Prefetched(checksums(set.versioned.clone()))
    }
}

/// Checksum checks: applied versioned files whose upgrade statements changed since.
/// Returns the problems and the new checksums by version text (for `fix-checksums`).
pub(crate) fn check_checksums(
    set: &MigrationSet,
    history: &History,
    prefetched: Option<Prefetched>,
) -> Result<ChecksumCheck, Error> {
    let stored: HashMap<Version, (&str, &str)> = history
        .versioned()
        .filter_map(|r| {
            let text = r.version.as_deref()?;
            Some((Version::parse(text)?, (text, r.checksum.as_str())))
        })
        .collect();
    let applied: Vec<(usize, &MigrationFile, &str, &str)> = set
        .versioned
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            let (text, sum) = f.version.as_ref().and_then(|v| stored.get(v))?;
            Some((i, f, *text, *sum))
        })
        .collect();
    let current: Vec<Result<String, MigrationError>> = match prefetched {
        Some(p) => {
            let mut all: Vec<Option<Result<String, MigrationError>>> =
                p.0.wait()?.into_iter().map(Some).collect();
            applied
                .iter()
                .map(|(i, ..)| all[*i].take().unwrap_or_else(|| Ok(String::new())))
                .collect()
        }
        None => checksums(applied.iter().map(|(_, f, ..)| (*f).clone()).collect()).wait()?,
    };
    let mut problems = Vec::new();
    let mut repairs = Vec::new();
    for ((_, f, text, sum), current) in applied.iter().zip(current) {
        let current = current?;
        if current != *sum {
            problems.push(Problem {
                kind: "checksum_mismatch",
                version: Some((*text).to_owned()),
                filename: Some(f.filename.clone()),
                message: format!(
                    "checksum mismatch for version {text} ({}): the file changed since it was applied",
                    f.filename
                ),
            });
            repairs.push(((*text).to_owned(), current));
        }
    }
    Ok(ChecksumCheck { problems, repairs })
}

/// What an audit command does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditMode {
    pub checksums: bool,
    pub files: bool,
    /// Repair what was found (under the lock) instead of only reporting it.
    pub fix: bool,
}

/// Run an audit or a fix. An audit that finds drift returns the report with problems; the
/// CLI turns that into the drift exit code.
///
/// # Errors
/// Unreadable files, database failures, a held lock.
pub async fn audit(
    settings: &Settings,
    mode: AuditMode,
    obs: &mut dyn Observer,
) -> Result<AuditReport, Error> {
    let token = obs.cancel_token();
    super::cancellable(token, audit_inner(settings, mode, obs)).await
}

async fn audit_inner(
    settings: &Settings,
    mode: AuditMode,
    obs: &mut dyn Observer,
) -> Result<AuditReport, Error> {
    let set = scan(settings)?;
    let open_mode = if mode.fix {
        OpenMode::ReadWrite
    } else {
        OpenMode::ReadOnly
    };
    let mut db = open(settings, open_mode).await?;
    let result = run_audit(settings, db.as_mut(), &set, mode, obs).await;
    db.close().await;
    result
}

async fn run_audit(
    settings: &Settings,
    db: &mut dyn Backend,
    set: &MigrationSet,
    mode: AuditMode,
    obs: &mut dyn Observer,
) -> Result<AuditReport, Error> {
    let history = history::read(db)
        .await
        .map_err(Error::db("reading the history"))?;
    let mut checks = Vec::new();
    if mode.files {
        checks.push("files");
    }
    if mode.checksums {
        checks.push("checksums");
    }
    if history.rows.is_empty() {
        return Ok(AuditReport {
            checks,
            problems: Vec::new(),
            fixed: false,
            nothing_applied: true,
        });
    }
    let mut problems = Vec::new();
    if mode.files {
        problems.extend(missing_files(set, &history));
    }
    if mode.checksums {
        problems.extend(check_checksums(set, &history, None)?.problems);
    }
    if !mode.fix || problems.is_empty() {
        return Ok(AuditReport {
            checks,
            problems,
            fixed: false,
            nothing_applied: false,
        });
    }
    with_lock(
        settings,
        db,
        obs,
        async |db: &mut dyn Backend, held: &Held, _obs: &mut dyn Observer| {
            held.check()?;
            // Re-read under the lock: someone may have changed the history meanwhile.
            let history = history::read(db)
                .await
                .map_err(Error::db("reading the history"))?;
            let mut found = Vec::new();
            let mut steps = Vec::new();
            let d = db.dialect();
            if mode.files {
                for p in missing_files(set, &history) {
                    match (p.kind, &p.version, &p.filename) {
                        ("missing_file", Some(v), _) => steps.push(history::delete_version(d, v)),
                        (_, _, Some(name)) => steps.push(history::delete_repeatable(d, name)),
                        _ => {}
                    }
                    found.push(p);
                }
            }
            if mode.checksums {
                let ChecksumCheck {
                    problems: ps,
                    repairs,
                } = check_checksums(set, &history, None)?;
                for (version, sum) in &repairs {
                    steps.push(history::update_checksum(d, version, sum));
                }
                found.extend(ps);
            }
            // Every repair in one unit: all of them, or none.
            let unit = Unit::bookkeeping(steps.into_iter().map(|b| (b, Expect::Any)).collect());
            db.run_unit(&unit)
                .await
                .map_err(|e| Error::db("repairing the history")(e.into_db_error()))?;
            Ok(AuditReport {
                checks: checks.clone(),
                problems: found,
                fixed: true,
                nothing_applied: false,
            })
        },
    )
    .await
}
