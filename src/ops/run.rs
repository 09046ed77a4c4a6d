//! Running one migration file: its statements and its history change in one transaction
//! (unless the file opts out), rolled back as a whole when a statement fails.

use std::time::Instant;

use super::reading::Parsed;
use super::{Event, Observer, display_path, parse_all};
use crate::backend::{Backend, Bound, Dialect, Expect, Unit, UnitError};
use crate::config::Settings;
use crate::error::Error;
use crate::history::{self, AppliedClock};
use crate::lock::lease::Held;
use crate::migration::{MigrationFile, Statement};
use crate::report::FileRun;

/// What to do with a file.
#[derive(Debug, Clone, Copy)]
pub(super) enum FileAction<'a> {
    /// Run the upgrade section and record it; `known` repeatables are updated, not inserted.
    Apply { known: bool },
    /// Run the rollback section and forget `version`.
    Undo { version: &'a str },
}

/// Run `file` (its content is `reader`'s next) and record the result in
/// `jetbase_migrations`.
pub(super) async fn run_file(
    settings: &Settings,
    db: &mut dyn Backend,
    held: &Held,
    clock: &mut AppliedClock,
    file: &MigrationFile,
    action: FileAction<'_>,
    reader: &mut Parsed,
) -> Result<FileRun, Error> {
    let started = Instant::now();
    let parsed = reader.next()?;
    // A stop requested while the file was read: nothing of it has started.
    super::check_cancelled(crate::error::Stopped::RunningFiles)?;
    let path = display_path(settings, &file.path);
    let statements = match action {
        FileAction::Apply { .. } => &parsed.upgrade,
        FileAction::Undo { .. } => &parsed.rollback,
    };
    let step = record(db.dialect(), clock, file, action, &parsed.checksum);
    let fence_sql = db.dialect().fence();
    let fence = || held.fence_check(&fence_sql);
    let unit = Unit {
        statements,
        transaction: parsed.transaction,
        foreign_keys_off: parsed.foreign_keys_off,
        fence: Some(&fence),
        bookkeeping: vec![(step, Expect::Any)],
    };
    db.run_unit(&unit).await.map_err(|e| match e {
        UnitError::Statement {
            index,
            error,
            atomic,
        } => {
            let stmt = &statements[index];
            Error::Statement {
                file: path.clone(),
                line: error_line(stmt, error.position),
                statement: stmt.sql.clone(),
                message: error.message,
                partial: (!atomic).then(|| partial_note(statements, index)),
            }
        }
        UnitError::Fenced => Error::LockLost,
        UnitError::Transaction { error } => {
            Error::db(format!("running {path} in a transaction"))(error)
        }
        other => {
            Error::db(format!("recording {path} in jetbase_migrations"))(other.into_db_error())
        }
    })?;
    Ok(FileRun {
        version: match action {
            FileAction::Undo { version } => Some(version.to_owned()),
            FileAction::Apply { .. } => file.version.as_ref().map(ToString::to_string),
        },
        filename: file.filename.clone(),
        migration_type: file.kind.as_str(),
        statements: statements.len(),
        checksum: parsed.checksum.clone(),
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        warnings: parsed.warnings.clone(),
    })
}

/// The history change of a file.
fn record(
    d: &dyn Dialect,
    clock: &mut AppliedClock,
    file: &MigrationFile,
    action: FileAction<'_>,
    checksum: &str,
) -> Bound {
    match action {
        FileAction::Apply { known: true } => {
            history::update_repeatable(d, clock, &file.filename, file.kind, checksum)
        }
        FileAction::Apply { known: false } => {
            let version = file.version.as_ref().map(ToString::to_string);
            history::insert(
                d,
                clock,
                version.as_deref(),
                &file.description,
                &file.filename,
                file.kind,
                checksum,
            )
        }
        FileAction::Undo { version } => history::delete_version(d, version),
    }
}

/// Run `files` in order, reporting progress; stops at the first failure.
pub(super) async fn run_files(
    settings: &Settings,
    db: &mut dyn Backend,
    held: &Held,
    clock: &mut AppliedClock,
    files: &[(&MigrationFile, FileAction<'_>)],
    obs: &mut dyn Observer,
) -> Result<Vec<FileRun>, Error> {
    let rollback = files
        .first()
        .is_some_and(|(_, a)| matches!(a, FileAction::Undo { .. }));
    obs.event(Event::Info(if rollback {
        "Starting rollback..."
    } else {
        "Starting migrations..."
    }));
    let total = files.len();
    let mut runs = Vec::with_capacity(total);
    let mut reader = parse_all(db, &files.iter().map(|(f, _)| *f).collect::<Vec<_>>());
    for (i, (file, action)) in files.iter().enumerate() {
        super::check_cancelled(crate::error::Stopped::RunningFiles)?;
        held.check()?;
        obs.event(Event::FileStart {
            filename: &file.filename,
            index: i + 1,
            total,
        });
        let run = run_file(settings, db, held, clock, file, *action, &mut reader).await?;
        for w in &run.warnings {
            obs.event(Event::Warning(&format!("{}: {w}", file.filename)));
        }
        obs.event(Event::FileDone {
            filename: &file.filename,
            rollback,
            duration_ms: run.duration_ms,
        });
        runs.push(run);
    }
    obs.event(Event::Info(if rollback {
        "Rollbacks completed successfully."
    } else {
        "Migrations completed successfully."
    }));
    Ok(runs)
}

/// The file line of an error: the statement's first line, moved down to the reported
/// position (a 1-based character offset into the statement) when the database gives one.
fn error_line(stmt: &Statement, position: Option<usize>) -> usize {
    let Some(pos) = position else {
        return stmt.line;
    };
    stmt.line
        + stmt
            .sql
            .chars()
            .take(pos.saturating_sub(1))
            .filter(|c| *c == '\n')
            .count()
}

/// On a file that cannot be rolled back as a whole, say exactly what ran and what did not.
fn partial_note(statements: &[Statement], failed: usize) -> String {
    let lines = |r: &[Statement]| {
        if r.is_empty() {
            "none".to_owned()
        } else {
            r.iter()
                .map(|s| s.line.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let ran = &statements[..failed];
    let not_run = &statements[failed + 1..];
    format!(
        "this file is not atomic: {} statement(s) before it ran and stay applied (lines {}); the \
         failed one (line {}) and {} after it did not run (lines {}); the history was not changed. \
         Undo or finish the applied part by hand, fix the file, then run jetbase again",
        ran.len(),
        lines(ran),
        statements[failed].line,
        not_run.len(),
        lines(not_run),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_line_follows_the_position_into_the_statement() {
        let st = Statement {
            sql: "CREATE TABLE t (\n  id INT,\n  bad TYPO\n)".into(),
            line: 10,
        };
        assert_eq!(error_line(&st, None), 10);
        assert_eq!(error_line(&st, Some(1)), 10);
        let at = st.sql.find("TYPO").unwrap() + 1;
        assert_eq!(error_line(&st, Some(at)), 12);
    }

    #[test]
    fn partial_note_names_lines_that_ran_and_did_not() {
        let st = |line| Statement {
            sql: String::new(),
            line,
        };
        let note = partial_note(&[st(2), st(5), st(9), st(12)], 2);
        assert!(
            note.contains("2 statement(s) before it ran and stay applied (lines 2, 5)"),
            "{note}"
        );
        assert!(
            note.contains("failed one (line 9) and 1 after it did not run (lines 12)"),
            "{note}"
        );
        let first = partial_note(&[st(3)], 0);
        assert!(
            first.contains("0 statement(s) before it ran and stay applied (lines none)"),
            "{first}"
        );
    }
}
