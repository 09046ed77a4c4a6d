//! What an upgrade would do, computed from the files and the history alone.

use std::collections::HashSet;

use crate::error::Error;
use crate::history::History;
use crate::migration::{MigrationFile, MigrationKind, MigrationSet, Version};

/// How far an upgrade goes among pending versioned files.
#[derive(Debug, Clone)]
pub enum PlanLimit {
    All,
    Count(usize),
    ToVersion(Version),
}

/// A repeatable to run, with its current checksum and whether it has a history row.
#[derive(Debug, Clone)]
pub struct RepeatableRun<'a> {
    pub file: &'a MigrationFile,
    pub checksum: String,
    pub known: bool,
}

/// The work of one upgrade, in execution order: versioned, then RA, then ROC.
#[derive(Debug, Clone, Default)]
pub struct Plan<'a> {
    pub versioned: Vec<&'a MigrationFile>,
    pub repeatables: Vec<RepeatableRun<'a>>,
}

impl Plan<'_> {
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.versioned.is_empty() && self.repeatables.is_empty()
    }
    #[must_use]
    pub fn len(&self) -> usize {
        self.versioned.len() + self.repeatables.len()
    }
}

/// Versions present in the history.
pub(crate) fn applied_versions(history: &History) -> HashSet<Version> {
    history
        .versioned()
        .filter_map(|r| r.version.as_deref().and_then(Version::parse))
        .collect()
}

/// The latest applied version, parsed.
pub(crate) fn latest_version(history: &History) -> Option<Version> {
    history
        .latest_versioned()
        .and_then(|r| r.version.as_deref())
        .and_then(Version::parse)
}

/// Pending versioned files: above the latest applied version and not applied, in order.
pub(crate) fn pending_versioned<'a>(
    set: &'a MigrationSet,
    history: &History,
) -> Vec<&'a MigrationFile> {
    let applied = applied_versions(history);
    let latest = latest_version(history);
    set.versioned
        .iter()
        .filter(|f| {
            f.version
                .as_ref()
                .is_some_and(|v| !applied.contains(v) && latest.as_ref().is_none_or(|l| v > l))
        })
        .collect()
}

/// Compute the plan. `checksum` reads a file's current checksum (only ROC files need it).
///
/// # Errors
/// `--to-version` names no pending version, or a file cannot be read.
pub fn plan<'a>(
    set: &'a MigrationSet,
    history: &History,
    limit: &PlanLimit,
    mut checksum: impl FnMut(&MigrationFile) -> Result<String, Error>,
) -> Result<Plan<'a>, Error> {
    let mut versioned = pending_versioned(set, history);
    match limit {
        PlanLimit::All => {}
        PlanLimit::Count(n) => versioned.truncate(*n),
        PlanLimit::ToVersion(target) => {
            let Some(pos) = versioned
                .iter()
                .position(|f| f.version.as_ref() == Some(target))
            else {
                return Err(Error::NotFound {
                    message: format!(
                        "the specified to_version '{target}' does not exist among pending migrations"
                    ),
                    hint: "`jetbase status` lists the pending versions".into(),
                });
            };
            versioned.truncate(pos + 1);
        }
    }
    let mut repeatables = Vec::new();
    for file in &set.runs_always {
        repeatables.push(RepeatableRun {
            file,
            checksum: checksum(file)?,
            known: history
                .repeatable(&file.filename, MigrationKind::RunsAlways)
                .is_some(),
        });
    }
    for file in &set.runs_on_change {
        let sum = checksum(file)?;
        let row = history.repeatable(&file.filename, MigrationKind::RunsOnChange);
        if row.is_none_or(|r| r.checksum != sum) {
            repeatables.push(RepeatableRun {
                file,
                checksum: sum,
                known: row.is_some(),
            });
        }
    }
    Ok(Plan {
        versioned,
        repeatables,
    })
}
