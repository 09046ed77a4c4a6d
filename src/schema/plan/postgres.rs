//! PostgreSQL alters everything in place, and the whole file runs in one transaction. Order:
//! renames; foreign keys, indexes and constraints that go away; dropped tables; new enum
//! labels and types; new tables (without their foreign keys, so creation order and cycles
//! never matter); column changes; new keys, constraints and indexes; then every foreign key
//! that is new, last; enum types no longer used at the very end.
//!
//! Tables are written from what was read (PostgreSQL keeps no `CREATE TABLE` text), with
//! the server's own names for their constraints, so the result reads back the same.

use std::collections::BTreeSet;

use super::{Plan, PlanOptions, mentions, renamed_indexes, renames, step, warn};
use crate::schema::diff::Change;
use crate::schema::sql::quote;
use crate::schema::{CheckConstraint, Column, ForeignKey, Schema, Table, Unique};

/// The sequences of the serial columns of renamed tables and columns, renamed as a fresh
/// `SERIAL` column names its own (`<table>_<column>_seq`), so the database reads as the
/// models create it.
fn sequence_renames(from: &Schema, changes: &[Change], plan: &mut Plan) {
    for ((table, column), seq) in &from.sequences {
        let renamed = changes.iter().any(|c| match c {
            Change::RenameTable { to, .. } => to == table,
            Change::RenameColumn { table: t, to, .. } => t == table && to == column,
            _ => false,
        });
        let fresh = format!("{table}_{column}_seq");
        if renamed && *seq != fresh {
            plan.steps.push(step(format!(
                "ALTER SEQUENCE {} RENAME TO {}",
                quote(seq),
                quote(&fresh)
            )));
        }
    }
}

/// Indexes that go, then the renamed ones.
/// Returns the renamed ones, as `(table, old, new)`.
fn drop_and_rename_indexes(
    from: &Schema,
    to: &Schema,
    changes: &[Change],
    plan: &mut Plan,
) -> Vec<(String, String, String)> {
    let renamed: Vec<(String, String, String)> = to
        .ordered()
        .filter_map(|t| Some((from.tables.get(&t.name)?, t)))
        .flat_map(|(old, new)| {
            renamed_indexes(old, new, changes)
                .into_iter()
                .map(|(o, n)| (new.name.clone(), o, n))
        })
        .collect();
    for c in changes {
        if let Change::DropIndex { table, index } = c
            && !renamed.iter().any(|(t, old, _)| t == table && old == index)
        {
            plan.steps
                .push(step(format!("DROP INDEX {}", quote(index))));
        }
    }
    for (_, old, new) in &renamed {
        plan.steps.push(step(format!(
            "ALTER INDEX {} RENAME TO {}",
            quote(old),
            quote(new)
        )));
    }
    renamed
}

fn cols(c: &[String]) -> String {
    c.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", ")
}

fn fk_sql(table: &str, f: &ForeignKey) -> String {
    let name = f
        .name
        .as_ref()
        .map_or_else(String::new, |n| format!("CONSTRAINT {} ", quote(n)));
    format!(
        "ALTER TABLE {} ADD {name}FOREIGN KEY ({}) REFERENCES {} ({}) ON DELETE {} ON UPDATE {}",
        quote(table),
        cols(&f.columns),
        quote(&f.ref_table),
        cols(&f.ref_columns),
        f.on_delete,
        f.on_update
    )
}

fn named(name: Option<&String>) -> String {
    name.map_or_else(String::new, |n| format!("CONSTRAINT {} ", quote(n)))
}

fn column_sql(c: &Column) -> String {
    c.definition
        .clone()
        .unwrap_or_else(|| format!("{} {}", quote(&c.name), c.data_type))
}

/// `CREATE TABLE` with columns, primary key, UNIQUE and CHECK constraints (foreign keys
/// come later).
fn create_table(t: &Table) -> String {
    let mut parts: Vec<String> = t.columns.iter().map(column_sql).collect();
    if !t.primary_key.is_empty() {
        parts.push(format!(
            "{}PRIMARY KEY ({})",
            named(t.primary_key_name.as_ref()),
            cols(&t.primary_key)
        ));
    }
    for u in &t.uniques {
        parts.push(format!(
            "{}UNIQUE ({})",
            named(u.name.as_ref()),
            cols(&u.columns)
        ));
    }
    for c in &t.checks {
        parts.push(format!(
            "{}CHECK ({})",
            named(c.name.as_ref()),
            c.expression
        ));
    }
    format!(
        "CREATE TABLE {} (\n\t{}\n)",
        quote(&t.name),
        parts.join(",\n\t")
    )
}

pub(super) fn plan(from: &Schema, to: &Schema, changes: &[Change], options: PlanOptions) -> Plan {
    let mut plan = Plan::default();
    renames(changes, &mut plan);
    sequence_renames(from, changes, &mut plan);
    let dropped_tables: BTreeSet<&str> = changes
        .iter()
        .filter_map(|c| match c {
            Change::DropTable(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    // Foreign keys that go: on kept tables, those the target lacks, and those pointing at a
    // table that is dropped (a dropped table's own keys go with it).
    for t in from.ordered() {
        let Some(target) = to.tables.get(&t.name) else {
            continue;
        };
        let keep: BTreeSet<String> = target.foreign_keys.iter().map(ForeignKey::key).collect();
        for f in &t.foreign_keys {
            let parent_goes = dropped_tables.contains(f.ref_table.as_str()) && options.destructive;
            if (!keep.contains(&f.key()) || parent_goes)
                && let Some(name) = &f.name
            {
                plan.steps.push(step(format!(
                    "ALTER TABLE {} DROP CONSTRAINT {}",
                    quote(&t.name),
                    quote(name)
                )));
            }
        }
    }
    let renamed = drop_and_rename_indexes(from, to, changes, &mut plan);
    drop_constraints(from, to, &mut plan);
    for t in from.ordered().collect::<Vec<_>>().into_iter().rev() {
        if dropped_tables.contains(t.name.as_str()) {
            if options.destructive {
                plan.steps.push(warn(
                    format!("DROP TABLE {}", quote(&t.name)),
                    format!("drops table {} and every row in it", t.name),
                ));
            } else {
                plan.skipped
                    .push(format!("drop table {} (--no-destructive)", t.name));
            }
        }
    }
    enums(to, changes, &mut plan);
    for t in to.ordered() {
        if changes.contains(&Change::CreateTable(t.name.clone())) {
            plan.steps.push(step(create_table(t)));
            for i in &t.indexes {
                plan.steps.push(step(i.create_sql.clone()));
            }
        }
    }
    for t in to.ordered() {
        if let Some(old) = from.tables.get(&t.name) {
            columns(old, t, changes, options, &mut plan);
            add_constraints(old, t, &mut plan);
        }
    }
    for c in changes {
        if let Change::CreateIndex { table, index } = c
            && !renamed.iter().any(|(t, _, new)| t == table && new == index)
            && let Some(i) = to
                .tables
                .get(table)
                .and_then(|t| t.indexes.iter().find(|i| &i.name == index))
        {
            plan.steps.push(step(i.create_sql.clone()));
        }
    }
    // Foreign keys: every one of a new table, and the new ones of kept tables.
    for t in to.ordered() {
        let had: BTreeSet<String> = from
            .tables
            .get(&t.name)
            .map(|x| x.foreign_keys.iter().map(ForeignKey::key).collect())
            .unwrap_or_default();
        for f in &t.foreign_keys {
            if !had.contains(&f.key()) {
                plan.steps.push(step(fk_sql(&t.name, f)));
            }
        }
    }
    for c in changes {
        if let Change::DropEnum(name) = c {
            if options.destructive {
                plan.steps.push(warn(
                    format!("DROP TYPE {}", quote(name)),
                    format!("drops enum type {name}"),
                ));
            } else {
                plan.skipped
                    .push(format!("drop enum type {name} (--no-destructive)"));
            }
        }
    }
    plan
}

/// PostgreSQL refuses an enum label in the transaction that added it ("unsafe use of new
/// value"): a plan that adds a label and then uses it (a default, a CHECK) runs statement by
/// statement. A quoted string equal to the label anywhere after counts as a use.
pub(super) fn labels_used_where_added(changes: &[Change], plan: &mut Plan) {
    for c in changes {
        let Change::AlterEnum { name, added, .. } = c else {
            continue;
        };
        for label in added {
            let literal = format!("'{}'", label.replace('\'', "''"));
            let add = format!("ADD VALUE {literal}");
            let Some(i) = plan
                .steps
                .iter()
                .position(|s| s.sql.starts_with("ALTER TYPE") && s.sql.contains(&add))
            else {
                continue;
            };
            if plan.steps[i + 1..].iter().any(|s| s.sql.contains(&literal)) {
                plan.no_transaction = Some(format!(
                    "runs statement by statement: the new label {literal} of enum type {name} is used after it is added, which PostgreSQL refuses inside the transaction that adds it; if a statement fails, the ones before it stay applied"
                ));
            }
        }
    }
}

fn enums(to: &Schema, changes: &[Change], plan: &mut Plan) {
    for c in changes {
        match c {
            Change::CreateEnum(name) => {
                let labels = to.enums.get(name).cloned().unwrap_or_default();
                plan.steps.push(step(format!(
                    "CREATE TYPE {} AS ENUM ({})",
                    quote(name),
                    labels
                        .iter()
                        .map(|l| format!("'{}'", l.replace('\'', "''")))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            Change::AlterEnum { name, added, what } => {
                if let Some(w) = what {
                    plan.skipped.push(format!("enum type {name}: {w}"));
                }
                let labels = to.enums.get(name).cloned().unwrap_or_default();
                for a in added {
                    // After the label before it in the target, so the order matches.
                    let pos = labels.iter().position(|l| l == a).unwrap_or(0);
                    let place = if pos == 0 {
                        labels.get(1).map_or_else(String::new, |n| {
                            format!(" BEFORE '{}'", n.replace('\'', "''"))
                        })
                    } else {
                        format!(" AFTER '{}'", labels[pos - 1].replace('\'', "''"))
                    };
                    plan.steps.push(step(format!(
                        "ALTER TYPE {} ADD VALUE '{}'{place}",
                        quote(name),
                        a.replace('\'', "''")
                    )));
                }
            }
            _ => {}
        }
    }
}

/// Primary keys, UNIQUE and CHECK constraints that the target lacks.
fn drop_constraints(from: &Schema, to: &Schema, plan: &mut Plan) {
    for t in from.ordered() {
        let Some(target) = to.tables.get(&t.name) else {
            continue;
        };
        let mut drops = Vec::new();
        if t.primary_key != target.primary_key
            && let Some(n) = &t.primary_key_name
        {
            drops.push(n.clone());
        }
        for u in &t.uniques {
            if !target.uniques.iter().any(|x| x.columns == u.columns)
                && let Some(n) = &u.name
            {
                drops.push(n.clone());
            }
        }
        for c in &t.checks {
            if !target.checks.iter().any(|x| x.expression == c.expression)
                && let Some(n) = &c.name
            {
                drops.push(n.clone());
            }
        }
        for n in drops {
            plan.steps.push(step(format!(
                "ALTER TABLE {} DROP CONSTRAINT {}",
                quote(&t.name),
                quote(&n)
            )));
        }
    }
}

/// `ALTER TABLE` (quoted `table`) `ADD` the UNIQUE constraint `u`.
fn add_unique(table: &str, u: &Unique) -> String {
    format!(
        "ALTER TABLE {table} ADD {}UNIQUE ({})",
        named(u.name.as_ref()),
        cols(&u.columns)
    )
}

/// `ALTER TABLE` (quoted `table`) `ADD` the CHECK constraint `c`.
fn add_check(table: &str, c: &CheckConstraint) -> String {
    format!(
        "ALTER TABLE {table} ADD {}CHECK ({})",
        named(c.name.as_ref()),
        c.expression
    )
}

fn add_constraints(old: &Table, t: &Table, plan: &mut Plan) {
    let table = quote(&t.name);
    if old.primary_key != t.primary_key && !t.primary_key.is_empty() {
        plan.steps.push(step(format!(
            "ALTER TABLE {table} ADD {}PRIMARY KEY ({})",
            named(t.primary_key_name.as_ref()),
            cols(&t.primary_key)
        )));
    }
    for u in &t.uniques {
        if !old.uniques.iter().any(|x| x.columns == u.columns) {
            plan.steps.push(warn(
                add_unique(&table, u),
                format!(
                    "adds UNIQUE ({}) to {}: fails if rows repeat a value",
                    u.columns.join(", "),
                    t.name
                ),
            ));
        }
    }
    for c in &t.checks {
        if !old.checks.iter().any(|x| x.expression == c.expression) {
            plan.steps.push(warn(
                add_check(&table, c),
                format!(
                    "adds CHECK ({}) to {}: fails if a row breaks it",
                    c.expression, t.name
                ),
            ));
        }
    }
}

/// The generated columns of `t` that read a column whose type changes: PostgreSQL refuses
/// that type change ("cannot alter type of a column used by a generated column"), so they
/// are dropped before it and made again after (their values are computed: nothing is
/// lost).
fn remade_generated<'a>(old: &Table, t: &'a Table, changes: &[Change]) -> Vec<&'a Column> {
    let retyped: Vec<&str> = changes
        .iter()
        .filter_map(|c| match c {
            Change::AlterColumn { table, column, .. } if table == &t.name => {
                let (was, new) = (old.column(column)?, t.column(column)?);
                (was.data_type != new.data_type).then_some(column.as_str())
            }
            _ => None,
        })
        .collect();
    t.columns
        .iter()
        .filter(|g| {
            let kept = old.column(&g.name).is_some_and(|o| o.generated.is_some());
            g.generated.as_ref().is_some_and(|(expr, _)| {
                kept && !retyped.contains(&g.name.as_str())
                    && retyped.iter().any(|c| mentions(expr, c))
            })
        })
        .collect()
}

/// A table's column changes: drops, then changes, then additions (a new generated column
/// may read a column whose type changes; a dropped one may read a column that changes).
fn columns(old: &Table, t: &Table, changes: &[Change], options: PlanOptions, plan: &mut Plan) {
    let table = quote(&t.name);
    let remade = remade_generated(old, t, changes);
    for g in &remade {
        plan.steps.push(warn(
            format!("ALTER TABLE {table} DROP COLUMN {}", quote(&g.name)),
            format!(
                "{}.{} is made again: it reads a column whose type changes, which PostgreSQL refuses while it exists",
                t.name, g.name
            ),
        ));
    }
    let pass = |c: &Change| match c {
        Change::DropColumn { .. } => 0,
        Change::AlterColumn { .. } => 1,
        _ => 2,
    };
    let mut ordered: Vec<&Change> = changes.iter().collect();
    ordered.sort_by_key(|c| pass(c));
    for c in ordered {
        match c {
            Change::AddColumn { table: tb, column } if tb == &t.name => {
                let Some(col) = t.column(column) else {
                    continue;
                };
                let sql = format!("ALTER TABLE {table} ADD COLUMN {}", column_sql(col));
                plan.steps
                    .push(if !col.nullable && col.default.is_none() && !col.identity {
                        warn(
                            sql,
                            format!(
                                "{}.{column} is NOT NULL without a default: fails if {} has rows",
                                t.name, t.name
                            ),
                        )
                    } else {
                        step(sql)
                    });
            }
            Change::DropColumn { table: tb, column } if tb == &t.name => {
                if options.destructive {
                    plan.steps.push(warn(
                        format!("ALTER TABLE {table} DROP COLUMN {}", quote(column)),
                        format!("drops column {}.{column} and its data", t.name),
                    ));
                } else {
                    plan.skipped.push(format!(
                        "drop column {}.{column} (--no-destructive)",
                        t.name
                    ));
                }
            }
            Change::AlterColumn {
                table: tb, column, ..
            } if tb == &t.name && !remade.iter().any(|g| &g.name == column) => {
                let (Some(new), Some(was)) = (t.column(column), old.column(column)) else {
                    continue;
                };
                alter_column(&t.name, was, new, plan);
            }
            _ => {}
        }
    }
    // The generated columns dropped above, made again with what their drop took along:
    // their indexes, UNIQUE and CHECK constraints (new ones are added later anyway).
    for g in remade {
        plan.steps.push(step(format!(
            "ALTER TABLE {table} ADD COLUMN {}",
            column_sql(g)
        )));
        for i in &t.indexes {
            let had = old.indexes.iter().any(|o| o.name == i.name);
            if had && mentions(&i.create_sql, &g.name) {
                plan.steps.push(step(i.create_sql.clone()));
            }
        }
        for u in &t.uniques {
            if u.columns.contains(&g.name) && old.uniques.iter().any(|x| x.columns == u.columns) {
                plan.steps.push(step(add_unique(&table, u)));
            }
        }
        for c in &t.checks {
            if mentions(&c.expression, &g.name)
                && old.checks.iter().any(|x| x.expression == c.expression)
            {
                plan.steps.push(step(add_check(&table, c)));
            }
        }
    }
}

fn alter_column(table_name: &str, was: &Column, new: &Column, plan: &mut Plan) {
    let table = quote(table_name);
    let name = quote(&new.name);
    let alter = |what: String| format!("ALTER TABLE {table} ALTER COLUMN {name} {what}");
    if was.generated != new.generated {
        // A generated column changes only by being made again.
        plan.steps.push(warn(
            format!("ALTER TABLE {table} DROP COLUMN {name}"),
            format!(
                "{table_name}.{} is made again (its generated expression changed)",
                new.name
            ),
        ));
        plan.steps.push(step(format!(
            "ALTER TABLE {table} ADD COLUMN {}",
            column_sql(new)
        )));
        return;
    }
    if was.identity && !new.identity {
        plan.steps.push(step(alter("DROP IDENTITY".into())));
    }
    if was.default != new.default && was.default.is_some() {
        plan.steps.push(step(alter("DROP DEFAULT".into())));
    }
    if was.data_type != new.data_type {
        plan.steps.push(warn(
            alter(format!("TYPE {} USING {name}::{}", new.data_type, new.data_type)),
            format!(
                "changes the type of {table_name}.{} from {} to {}: fails or truncates where values do not fit",
                new.name, was.data_type, new.data_type
            ),
        ));
    }
    if let (Some(d), true) = (&new.default, was.default != new.default) {
        plan.steps.push(step(alter(format!("SET DEFAULT {d}"))));
    }
    if was.nullable && !new.nullable {
        plan.steps.push(warn(
            alter("SET NOT NULL".into()),
            format!(
                "{table_name}.{} becomes NOT NULL: fails if a row holds NULL",
                new.name
            ),
        ));
    } else if !was.nullable && new.nullable {
        plan.steps.push(step(alter("DROP NOT NULL".into())));
    }
    if !was.identity && new.identity {
        let kind = if new
            .definition
            .as_deref()
            .is_some_and(|d| d.contains("GENERATED ALWAYS AS IDENTITY"))
        {
            "ALWAYS"
        } else {
            "BY DEFAULT"
        };
        plan.steps
            .push(step(alter(format!("ADD GENERATED {kind} AS IDENTITY"))));
    }
}
