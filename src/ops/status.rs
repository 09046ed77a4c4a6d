//! Read-only commands (`status`, `history`, `current`, `lock-status`, `config`) and
//! `unlock`. None of them creates a table.

use std::collections::HashSet;

use super::plan::pending_versioned;
use super::reading::checksums;
use super::{open, scan};
use crate::backend::{Backend, OpenMode};
use crate::config::Settings;
use crate::error::Error;
use crate::history::{self, History};
use crate::lock;
use crate::migration::{MigrationFile, MigrationKind};
use crate::report::{
    ConfigReport, CurrentReport, HistoryReport, LockReport, StatusItem, StatusReport, UnlockReport,
};

async fn read_history(settings: &Settings) -> Result<(Box<dyn Backend>, History), Error> {
    let mut db = open(settings, OpenMode::ReadOnly).await?;
    match history::read(db.as_mut()).await {
        Ok(h) => Ok((db, h)),
        Err(e) => {
            db.close().await;
            Err(Error::db("reading the history")(e))
        }
    }
}

fn item(file: &MigrationFile) -> StatusItem {
    StatusItem {
        version: file
            .version
            .as_ref()
            .map_or_else(|| file.kind.as_str().to_owned(), ToString::to_string),
        description: file.description.clone(),
        filename: file.filename.clone(),
        migration_type: file.kind.as_str().to_owned(),
        applied_at: None,
    }
}

/// Applied and pending migrations.
///
/// # Errors
/// Invalid files, database failures.
pub async fn status(settings: &Settings) -> Result<StatusReport, Error> {
    let set = scan(settings)?;
    let (db, history) = read_history(settings).await?;
    db.close().await;
    let applied = history
        .rows
        .iter()
        .map(|r| StatusItem {
            version: r.display_version().to_owned(),
            description: r.description.clone(),
            filename: r.filename.clone(),
            migration_type: r.migration_type.clone(),
            applied_at: Some(r.applied_at.clone()),
        })
        .collect();
    let mut pending: Vec<StatusItem> = pending_versioned(&set, &history)
        .into_iter()
        .map(item)
        .collect();
    // The original lists every RA file as pending: it runs on each upgrade.
    pending.extend(set.runs_always.iter().map(item));
    // Checksums of the ROC files with a history row, read in one batch off this thread.
    let known: Vec<(&MigrationFile, &str)> = set
        .runs_on_change
        .iter()
        .filter_map(|f| {
            let row = history.repeatable(&f.filename, MigrationKind::RunsOnChange)?;
            Some((f, row.checksum.as_str()))
        })
        .collect();
    let sums = if known.is_empty() {
        Vec::new()
    } else {
        checksums(known.iter().map(|(f, _)| (*f).clone()).collect()).wait()?
    };
    let mut changed = HashSet::new();
    for ((file, stored), sum) in known.iter().zip(sums) {
        if sum? != *stored {
            changed.insert(file.path.as_path());
        }
    }
    for file in &set.runs_on_change {
        let row = history.repeatable(&file.filename, MigrationKind::RunsOnChange);
        if row.is_none() || changed.contains(file.path.as_path()) {
            pending.push(item(file));
        }
    }
    Ok(StatusReport {
        current: history.latest_versioned().and_then(|r| r.version.clone()),
        applied,
        pending,
    })
}

/// Every history row.
///
/// # Errors
/// Database failures.
pub async fn history(settings: &Settings) -> Result<HistoryReport, Error> {
    let mut db = open(settings, OpenMode::ReadOnly).await?;
    let result = history::read_if_exists(db.as_mut())
        .await
        .map_err(Error::db("reading the history"));
    db.close().await;
    let found = result?;
    Ok(HistoryReport {
        table_exists: found.is_some(),
        rows: found.unwrap_or_default().rows,
    })
}

/// The latest applied version.
///
/// # Errors
/// Database failures.
pub async fn current(settings: &Settings) -> Result<CurrentReport, Error> {
    let (db, history) = read_history(settings).await?;
    db.close().await;
    Ok(CurrentReport {
        version: history.latest_versioned().and_then(|r| r.version.clone()),
    })
}

/// The lock row.
///
/// # Errors
/// Database failures.
pub async fn lock_status(settings: &Settings) -> Result<LockReport, Error> {
    let mut db = open(settings, OpenMode::ReadOnly).await?;
    // Every database has a lock: the original's row, or jetbase's claims.
    let supported = true;
    let st = lock::status(db.as_mut()).await;
    db.close().await;
    Ok(LockReport {
        supported,
        status: st.map_err(Error::db("reading the lock"))?,
    })
}

/// Force the lock open.
///
/// # Errors
/// Database failures.
pub async fn unlock(settings: &Settings) -> Result<UnlockReport, Error> {
    let mut db = open(settings, OpenMode::ReadOnly).await?;
    let before = lock::status(db.as_mut()).await;
    let res = match before {
        Ok(st) => lock::force_unlock(db.as_mut())
            .await
            .map(|_| st.is_locked)
            .map_err(Error::db("releasing the lock")),
        Err(e) => Err(Error::db("reading the lock")(e)),
    };
    db.close().await;
    Ok(UnlockReport { was_locked: res? })
}

/// What the configuration resolved to; `env` gives the connection layer's tuning keys.
#[must_use]
pub fn config_report(settings: &Settings, env: &crate::config::EnvVars) -> ConfigReport {
    let pool = crate::db::PoolSettings::from_settings(settings, env)
        .unwrap_or_else(|_| crate::db::PoolSettings::with_spec(settings.connect.clone()));
    ConfigReport {
        pool: pool
            .describe()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        project_dir: settings.project.dir.display().to_string(),
        migrations_dir: settings.project.migrations_dir.display().to_string(),
        backend: settings.url.kind.name().to_owned(),
        entries: settings.entries.clone(),
    }
}
