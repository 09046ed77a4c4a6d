//! The unit of work: what the shared upgrade, rollback, fix and lock code hands a driver to
//! run as one piece (a migration file's statements with its history write; a lock step with
//! its lease), so that the driver, not the generic code, decides how to make it atomic. A
//! driver whose database cannot (MySQL commits DDL at once; an HTTP database commits each
//! statement) runs it in order and says which step failed and whether anything stayed.
//!
//! [`run_in_session`] is the way of databases with sessions and transactions: `BEGIN`, the
//! steps, `COMMIT`, and `ROLLBACK` on any failure.

use super::{Backend, DbError, Value};
use crate::migration::Statement;

/// One of jetbase's own statements, with its parameters bound.
#[derive(Debug, Clone)]
pub struct Bound {
    pub sql: String,
    pub params: Vec<Value>,
}

impl Bound {
    #[must_use]
    pub fn new(sql: String, params: Vec<Value>) -> Bound {
        Bound { sql, params }
    }
}

/// What a bookkeeping step must do for the unit to go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Anything.
    Any,
    /// Change exactly one row: a guarded update or compare-and-set (the lock row). Otherwise
    /// the unit is abandoned, nothing changed, and [`UnitError::Unmet`] says so.
    OneRow,
}

/// A query run inside the unit before its bookkeeping (fencing: is the lock still ours?).
/// The unit is abandoned unless the first cell of its first row equals `expect`.
#[derive(Debug, Clone)]
pub struct Check {
    pub query: Bound,
    pub expect: String,
    /// Whether it must run: the caller's judgement at the time of asking (a lease whose
    /// heartbeat fell behind). A driver may also run it when not needed, where that costs
    /// nothing (inside a batch that makes one round trip anyway).
    pub needed: bool,
}

/// Asked once the statements ran: the [`Check`] of the unit, if it has one.
pub type Fence<'a> = &'a (dyn Fn() -> Option<Check> + Send + Sync);

/// A unit of work.
pub struct Unit<'a> {
    /// Migration SQL as written (each with its line in the file), run without parameters.
    pub statements: &'a [Statement],
    /// One transaction for everything (a file may opt out with `transaction=false`).
    pub transaction: bool,
    /// Run with foreign key enforcement off, and fail before commit when the statements
    /// left rows whose parent is missing (`-- jetbase: foreign_keys=off`; databases whose
    /// dialect has [`super::Dialect::foreign_keys_off`]).
    pub foreign_keys_off: bool,
    /// Asked after the statements, before the bookkeeping.
    pub fence: Option<Fence<'a>>,
    /// jetbase's own writes: the history row, or the lock row and the lease.
    pub bookkeeping: Vec<(Bound, Expect)>,
}

impl<'a> Unit<'a> {
    /// A unit of bookkeeping alone, in one transaction (a lock step, a repair).
    #[must_use]
    pub fn bookkeeping(steps: Vec<(Bound, Expect)>) -> Unit<'a> {
        Unit {
            statements: &[],
            transaction: true,
            foreign_keys_off: false,
            fence: None,
            bookkeeping: steps,
        }
    }
}

/// Why a unit did not complete.
#[derive(Debug)]
pub enum UnitError {
    /// Statement `index` of the unit's statements failed. `atomic`: nothing of the unit
    /// stayed; otherwise the statements before it stayed applied.
    Statement {
        index: usize,
        error: DbError,
        atomic: bool,
    },
    /// Bookkeeping step `index` failed. `atomic` as above.
    Bookkeeping {
        index: usize,
        error: DbError,
        atomic: bool,
    },
    /// Bookkeeping step `index` did not see what it expected; nothing was changed.
    Unmet { index: usize },
    /// The fence's check failed (the lock is no longer ours); rolled back where possible.
    Fenced,
    /// Opening or committing the transaction failed.
    Transaction { error: DbError },
}

impl UnitError {
    /// The database error underneath, if any.
    #[must_use]
    pub fn db_error(&self) -> Option<&DbError> {
        match self {
            UnitError::Statement { error, .. }
            | UnitError::Bookkeeping { error, .. }
            | UnitError::Transaction { error } => Some(error),
            UnitError::Unmet { .. } | UnitError::Fenced => None,
        }
    }

    /// A conflict the database resolved by aborting the unit: worth running it again.
    #[must_use]
    pub fn is_retryable_conflict(&self) -> bool {
        self.db_error().is_some_and(DbError::is_retryable_conflict)
    }

    /// Another session held what the unit needed past the busy timeout.
    #[must_use]
    pub fn is_busy(&self) -> bool {
        self.db_error().is_some_and(DbError::is_busy)
    }

    /// The same failure of a unit whose statements had already stayed applied (committed on
    /// their own) before its bookkeeping ran: a failed bookkeeping step is then not atomic.
    #[must_use]
    pub fn after_applied_statements(self) -> UnitError {
        match self {
            UnitError::Bookkeeping { index, error, .. } => UnitError::Bookkeeping {
                index,
                error,
                atomic: false,
            },
            other => other,
        }
    }

    /// The plain database error of a bookkeeping-only unit (lock steps, repairs).
    #[must_use]
    pub fn into_db_error(self) -> DbError {
        match self {
            UnitError::Statement { error, .. }
            | UnitError::Bookkeeping { error, .. }
            | UnitError::Transaction { error } => error,
            UnitError::Unmet { index } => {
                DbError::new(format!("step {index} of a unit of work changed no row"))
            }
            UnitError::Fenced => DbError::new("the migration lock is no longer ours"),
        }
    }
}

/// Run `unit` on a session with transactions: `BEGIN`, the statements, the fence, the
/// bookkeeping, `COMMIT`; `ROLLBACK` on any failure. `atomic_ddl` says whether the
/// database rolls DDL back with the transaction.
///
/// # Errors
/// Which step failed, and whether anything of the unit stayed.
pub async fn run_in_session(
    db: &mut dyn Backend,
    unit: &Unit<'_>,
    atomic_ddl: bool,
) -> Result<(), UnitError> {
    let tx = unit.transaction;
    let atomic = tx && atomic_ddl;
    let fk = unit
        .foreign_keys_off
        .then(|| db.dialect().foreign_keys_off())
        .flatten();
    // Enforcement off (only outside a transaction), and the rows already orphaned before the
    // file, which are not its doing.
    let mut restore = false;
    let mut before = 0;
    if let Some(fk) = fk {
        let on = db.query(fk.read, &[]).await;
        restore = on.as_ref().is_ok_and(|r| {
            r.first()
                .and_then(|r| r.first())
                .is_some_and(Value::as_bool)
        });
        let setup = async {
            db.execute_raw(fk.off).await?;
            Ok::<_, DbError>(db.query(fk.violations, &[]).await?.len())
        };
        before = setup
            .await
            .map_err(|error| UnitError::Transaction { error })?;
    }
    if tx && let Err(error) = db.begin().await {
        if restore && let Some(fk) = fk {
            let _ = db.execute_raw(fk.on).await;
        }
        return Err(UnitError::Transaction { error });
    }
    let mut done = steps(db, unit, atomic).await;
    if let (Ok(()), Some(fk)) = (&done, fk) {
        done = match db.query(fk.violations, &[]).await {
            Ok(rows) if rows.len() > before => Err(UnitError::Statement {
                index: unit.statements.len().saturating_sub(1),
                error: DbError::new(orphans(&rows)),
                atomic,
            }),
            Ok(_) => Ok(()),
            Err(error) => Err(UnitError::Statement {
                index: unit.statements.len().saturating_sub(1),
                error,
                atomic,
            }),
        };
    }
    let result = finish(db, unit, done).await;
    if restore && let Some(fk) = fk {
        let _ = db.execute_raw(fk.on).await;
    }
    result
}

/// The foreign key check's rows, told briefly.
fn orphans(rows: &[super::Row]) -> String {
    let shown: Vec<String> = rows
        .iter()
        .take(5)
        .map(|r| {
            let t = |i: usize| super::text_at(r, i);
            format!("{} row {} (parent {})", t(0), t(1), t(2))
        })
        .collect();
    format!(
        "the file leaves {} row(s) whose parent row is missing (foreign key check before commit): {}{}",
        rows.len(),
        shown.join(", "),
        if rows.len() > 5 { ", ..." } else { "" }
    )
}

/// The rest of a unit whose statements already ran in the open transaction (a driver that
/// sent them as one batch): the fence, the bookkeeping, then `COMMIT`, or `ROLLBACK` on any
/// failure. `unit.statements` only say what ran (nothing of them is sent again).
///
/// # Errors
/// Which step failed.
pub async fn finish_in_session(
    db: &mut dyn Backend,
    unit: &Unit<'_>,
    atomic: bool,
) -> Result<(), UnitError> {
    let rest = Unit {
        statements: &[],
        transaction: unit.transaction,
        foreign_keys_off: false,
        fence: unit.fence,
        bookkeeping: unit.bookkeeping.clone(),
    };
    let done = bookkeeping_steps(db, &rest, atomic).await;
    finish(db, unit, done).await
}

/// Run `unit` on a database without transactions: the statements, the fence, the
/// bookkeeping, in order. Nothing can be undone: a failure says which steps ran.
///
/// # Errors
/// Which step failed.
pub async fn run_in_order(db: &mut dyn Backend, unit: &Unit<'_>) -> Result<(), UnitError> {
    run_statements(db, unit).await?;
    // A failed first bookkeeping step of a unit without statements left nothing behind.
    match bookkeeping_steps(db, unit, false).await {
        Err(UnitError::Bookkeeping {
            index: 0, error, ..
        }) if unit.statements.is_empty() => Err(UnitError::Bookkeeping {
            index: 0,
            error,
            atomic: true,
        }),
        other => other,
    }
}

/// A unit's statements one by one, each committed on its own (no transaction around them),
/// with a stop request honoured between statements: the rest of the file does not start.
///
/// # Errors
/// The statement that failed (or did not start); those before it stayed applied.
pub async fn run_statements(db: &mut dyn Backend, unit: &Unit<'_>) -> Result<(), UnitError> {
    for (index, stmt) in unit.statements.iter().enumerate() {
        if crate::cancel::cancelled() {
            return Err(UnitError::Statement {
                index,
                error: DbError::new("interrupted before this statement started"),
                atomic: index == 0,
            });
        }
        db.execute_raw(&stmt.sql)
            .await
            .map_err(|error| UnitError::Statement {
                index,
                error,
                atomic: false,
            })?;
    }
    Ok(())
}

/// The first keyword of a statement, upper case, after leading comments (`--`, `//`,
/// `/* */`): how drivers tell DDL, which their database commits on its own, from the rest.
#[must_use]
pub fn first_keyword(sql: &str) -> String {
    let mut rest = sql.trim_start();
    loop {
        if let Some(r) = rest.strip_prefix("--").or_else(|| rest.strip_prefix("//")) {
            rest = r.find('\n').map_or("", |i| &r[i..]).trim_start();
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r.find("*/").map_or("", |i| &r[i + 2..]).trim_start();
        } else {
            break;
        }
    }
    rest.chars()
        .take_while(char::is_ascii_alphabetic)
        .collect::<String>()
        .to_ascii_uppercase()
}

async fn finish(
    db: &mut dyn Backend,
    unit: &Unit<'_>,
    result: Result<(), UnitError>,
) -> Result<(), UnitError> {
    let tx = unit.transaction;
    match result {
        Ok(()) if tx => db
            .commit()
            .await
            .map_err(|error| UnitError::Transaction { error }),
        Ok(()) => Ok(()),
        Err(e) => {
            if tx {
                let _ = db.rollback().await;
            }
            Err(e)
        }
    }
}

async fn steps(db: &mut dyn Backend, unit: &Unit<'_>, atomic: bool) -> Result<(), UnitError> {
    for (index, stmt) in unit.statements.iter().enumerate() {
        db.execute_raw(&stmt.sql)
            .await
            .map_err(|error| UnitError::Statement {
                index,
                error,
                atomic,
            })?;
    }
    // Nothing ran yet when the unit has no statements: a failed bookkeeping step then
    // leaves nothing behind, transaction or not... unless an earlier bookkeeping step ran.
    let atomic = atomic || (unit.statements.is_empty() && unit.transaction);
    bookkeeping_steps(db, unit, atomic).await
}

async fn bookkeeping_steps(
    db: &mut dyn Backend,
    unit: &Unit<'_>,
    atomic: bool,
) -> Result<(), UnitError> {
    if let Some(check) = unit.fence.and_then(|f| f()).filter(|c| c.needed) {
        let rows = db
            .query(&check.query.sql, &check.query.params)
            .await
            .map_err(|error| UnitError::Bookkeeping {
                index: 0,
                error,
                atomic,
            })?;
        let first = rows
            .first()
            .and_then(|r| r.first())
            .and_then(Value::as_text);
        if first.as_deref() != Some(check.expect.as_str()) {
            return Err(UnitError::Fenced);
        }
    }
    for (index, (step, expect)) in unit.bookkeeping.iter().enumerate() {
        let n =
            db.execute(&step.sql, &step.params)
                .await
                .map_err(|error| UnitError::Bookkeeping {
                    index,
                    error,
                    atomic,
                })?;
        if *expect == Expect::OneRow && n != 1 {
            return Err(UnitError::Unmet { index });
        }
    }
    Ok(())
}
