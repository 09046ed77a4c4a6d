//! The statements that carry out a list of changes, in a safe order: renames first, then
//! drops of indexes and tables (children before parents), new tables in creation order (so
//! their foreign keys find their parents), then each changed table.
//!
//! One module per database: what it can ALTER in place differs (SQLite rebuilds tables).

mod mysql;
mod postgres;
mod sqlite;

use super::diff::Change;
use super::sql::quote;
use super::{Schema, Table};

/// The database a plan is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Sqlite,
    Postgres,
    /// MySQL and MariaDB.
    Mysql,
}

/// One statement, with a warning when it loses data or may fail on existing rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub sql: String,
    pub warning: Option<String>,
}

/// The statements, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// Tables are rebuilt: the file must run with foreign key enforcement off.
    pub foreign_keys_off: bool,
    /// Why the file must run statement by statement (`-- jetbase: transaction=false`), when
    /// one transaction cannot hold it.
    pub no_transaction: Option<String>,
    /// Destructive changes left out (`--no-destructive`).
    pub skipped: Vec<String>,
}

/// What to leave out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanOptions {
    /// Write drops of tables and columns (with warnings).
    pub destructive: bool,
}

/// The prefix of a table being rebuilt.
pub const REBUILD_PREFIX: &str = "_jetbase_new_";

/// The plan that turns `from` (once renamed: [`super::diff::compare`]) into `to` by
/// `changes`.
///
/// # Errors
/// A table whose statement the database did not keep (so it cannot be created again).
pub fn plan(
    target: Target,
    from: &Schema,
    to: &Schema,
    changes: &[Change],
    options: PlanOptions,
) -> Result<Plan, String> {
    match target {
        Target::Sqlite => sqlite::plan(from, to, changes, options),
        Target::Postgres => {
            let mut p = postgres::plan(from, to, changes, options);
            postgres::labels_used_where_added(changes, &mut p);
            Ok(p)
        }
        Target::Mysql => mysql::plan(from, to, changes, options),
    }
}

/// `sql` names `table` (or any name) as a whole word (case-insensitive, quoted or not).
pub(super) fn mentions(sql: &str, table: &str) -> bool {
    let lower = sql.to_ascii_lowercase();
    let t = table.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    lower.match_indices(&t).any(|(at, _)| {
        let before = at.checked_sub(1).map(|i| bytes[i]);
        let after = bytes.get(at + t.len()).copied();
        let word = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
        !word(before) && !word(after)
    })
}

pub(super) fn step(sql: String) -> Step {
    Step { sql, warning: None }
}

pub(super) fn warn(sql: String, warning: String) -> Step {
    Step {
        sql,
        warning: Some(warning),
    }
}

pub(super) fn create_sql(t: &Table) -> Result<&str, String> {
    t.create_sql
        .as_deref()
        .ok_or_else(|| format!("the statement that creates table {} is not known", t.name))
}

/// Indexes of table `new` dropped and created with one definition, under a name no index of
/// the table has today (`old`): renamed in the models, as `(old name, new name)`.
pub(super) fn renamed_indexes(
    old: &Table,
    new: &Table,
    changes: &[Change],
) -> Vec<(String, String)> {
    fn find<'t>(t: &'t Table, name: &str) -> Option<&'t super::Index> {
        t.indexes.iter().find(|i| i.name == name)
    }
    let mut out: Vec<(String, String)> = Vec::new();
    for c in changes {
        let Change::DropIndex { table, index: gone } = c else {
            continue;
        };
        let Some(dropped) = find(old, gone).filter(|_| *table == new.name) else {
            continue;
        };
        let renamed = changes.iter().find_map(|c| match c {
            Change::CreateIndex { table, index }
                if *table == new.name
                    && find(old, index).is_none()
                    && !out.iter().any(|(_, n)| n == index)
                    && find(new, index).is_some_and(|i| {
                        i.definition == dropped.definition && i.unique == dropped.unique
                    }) =>
            {
                Some(index.clone())
            }
            _ => None,
        });
        if let Some(to) = renamed {
            out.push((gone.clone(), to));
        }
    }
    out
}

/// The renames asked for, first: every later step names tables and columns as `to` does.
pub(super) fn renames(changes: &[Change], plan: &mut Plan) {
    for c in changes {
        match c {
            Change::RenameTable { from, to } => plan.steps.push(step(format!(
                "ALTER TABLE {} RENAME TO {}",
                quote(from),
                quote(to)
            ))),
            Change::RenameColumn { table, from, to } => plan.steps.push(step(format!(
                "ALTER TABLE {} RENAME COLUMN {} TO {}",
                quote(table),
                quote(from),
                quote(to)
            ))),
            _ => {}
        }
    }
}
