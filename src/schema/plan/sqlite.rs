//! SQLite alters little in place (`ADD COLUMN` of a plain column, `DROP COLUMN` of one no
//! constraint or index names, renames). Anything else is done by rebuilding the table once,
//! the way SQLite documents it: create the new shape under a scratch name, copy the rows of
//! the columns both shapes have, drop the old table, rename the new one, create its indexes
//! and triggers again. Foreign keys must be off meanwhile (a dropped parent would cascade to
//! its children): the plan says so with [`Plan::foreign_keys_off`], which the file carries as
//! `-- jetbase: foreign_keys=off`.

use super::{Plan, PlanOptions, REBUILD_PREFIX, create_sql, mentions, step, warn};
use crate::schema::diff::Change;
use crate::schema::sql::{self, quote};
use crate::schema::{Schema, Table};

pub(super) fn plan(
    from: &Schema,
    to: &Schema,
    changes: &[Change],
    options: PlanOptions,
) -> Result<Plan, String> {
    let mut plan = Plan::default();
    super::renames(changes, &mut plan);
    let rebuilt: Vec<&str> = to
        .ordered()
        .filter(|t| needs_rebuild(t, changes, from.tables.get(&t.name)))
        .map(|t| t.name.as_str())
        .collect();
    // Index drops (a rebuilt or dropped table loses its indexes with it).
    for c in changes {
        if let Change::DropIndex { table, index } = c
            && !rebuilt.contains(&table.as_str())
        {
            plan.steps
                .push(step(format!("DROP INDEX {}", quote(index))));
        }
    }
    // Dropped tables, children before parents.
    for t in from.ordered().collect::<Vec<_>>().into_iter().rev() {
        if changes.contains(&Change::DropTable(t.name.clone())) {
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
    // New tables in creation order, each with its indexes.
    for t in to.ordered() {
        if changes.contains(&Change::CreateTable(t.name.clone())) {
            plan.steps.push(step(create_sql(t)?.to_owned()));
            for i in &t.indexes {
                plan.steps.push(step(i.create_sql.clone()));
            }
        }
    }
    // Views over a rebuilt table would stop its final rename ("error in view"): dropped
    // before the rebuilds, made again after them.
    let all_views = if from.views.is_empty() {
        &to.views
    } else {
        &from.views
    };
    let views: Vec<&(String, String)> = all_views
        .iter()
        .filter(|(_, sql)| rebuilt.iter().any(|t| mentions(sql, t)))
        .collect();
    for (name, _) in &views {
        plan.steps.push(step(format!("DROP VIEW {}", quote(name))));
    }
    for t in to.ordered() {
        let Some(old) = from.tables.get(&t.name) else {
            continue;
        };
        if rebuilt.contains(&t.name.as_str()) {
            rebuild(old, t, changes, options, &mut plan)?;
            continue;
        }
        for c in changes {
            match c {
                Change::AddColumn { table, column } if table == &t.name => {
                    let col = t.column(column).ok_or("added column not in the table")?;
                    let definition = col
                        .definition
                        .clone()
                        .unwrap_or_else(|| format!("{} {}", quote(&col.name), col.data_type));
                    let sql = format!("ALTER TABLE {} ADD COLUMN {definition}", quote(table));
                    plan.steps.push(if !col.nullable && col.default.is_none() {
                        warn(
                            sql,
                            format!("{table}.{column} is NOT NULL without a default: fails if {table} has rows"),
                        )
                    } else {
                        step(sql)
                    });
                }
                Change::DropColumn { table, column } if table == &t.name => {
                    if options.destructive {
                        plan.steps.push(warn(
                            format!("ALTER TABLE {} DROP COLUMN {}", quote(table), quote(column)),
                            format!("drops column {table}.{column} and its data"),
                        ));
                    } else {
                        plan.skipped
                            .push(format!("drop column {table}.{column} (--no-destructive)"));
                    }
                }
                Change::CreateIndex { table, index } if table == &t.name => {
                    if let Some(i) = t.indexes.iter().find(|i| &i.name == index) {
                        plan.steps.push(step(i.create_sql.clone()));
                    }
                }
                _ => {}
            }
        }
    }
    for (_, sql) in views {
        plan.steps.push(step(sql.clone()));
    }
    Ok(plan)
}

/// SQLite cannot make the changes of `t` with `ALTER TABLE`: only added plain columns (and
/// their own inline CHECK / REFERENCES), dropped plain columns, renames and index changes
/// can be.
fn needs_rebuild(t: &Table, changes: &[Change], old: Option<&Table>) -> bool {
    let Some(old) = old else {
        return false;
    };
    let mine = |c: &&Change| c.table() == t.name;
    let added: Vec<&str> = changes
        .iter()
        .filter(mine)
        .filter_map(|c| match c {
            Change::AddColumn { column, .. } => Some(column.as_str()),
            _ => None,
        })
        .collect();
    let dropped: Vec<&str> = changes
        .iter()
        .filter(mine)
        .filter_map(|c| match c {
            Change::DropColumn { column, .. } => Some(column.as_str()),
            _ => None,
        })
        .collect();
    if changes
        .iter()
        .filter(mine)
        .any(|c| matches!(c, Change::AlterColumn { .. }))
    {
        return true;
    }
    // Constraints: equal once the added columns' own inline ones are set aside.
    let inline: Vec<&str> = added
        .iter()
        .filter_map(|c| t.column(c).and_then(|c| c.definition.as_deref()))
        .collect();
    let is_inline = |text: &str| inline.iter().any(|d| d.contains(text));
    // A column SQLite's ADD COLUMN refuses: a key, a unique one, a stored generated one, a
    // default that is an expression or a current time, NOT NULL without a default.
    let refused = added.iter().filter_map(|c| t.column(c)).any(|c| {
        let default = c.default.as_deref().unwrap_or("");
        t.primary_key.contains(&c.name)
            || t.uniques.iter().any(|u| u.columns.contains(&c.name))
            || c.generated.as_ref().is_some_and(|(_, stored)| *stored)
            || default.starts_with('(')
            || default.to_ascii_uppercase().starts_with("CURRENT_")
            || (!c.nullable && c.default.is_none())
            || c.identity
    });
    // Dropped columns ALTER TABLE DROP COLUMN refuses: in a key, a unique constraint, an
    // index, a foreign key, a CHECK.
    let drop_refused = dropped.iter().any(|c| {
        old.primary_key.iter().any(|k| k == c)
            || old.uniques.iter().any(|u| u.columns.iter().any(|k| k == c))
            || old
                .foreign_keys
                .iter()
                .any(|f| f.columns.iter().any(|k| k == c))
            || old.indexes.iter().any(|i| i.definition.contains(c))
            || old.checks.iter().any(|k| k.expression.contains(c))
    });
    if refused || drop_refused {
        return true;
    }
    if old.primary_key != t.primary_key || !old.options.eq_ignore_ascii_case(&t.options) {
        return true;
    }
    let uniques = |u: &[crate::schema::Unique]| -> Vec<Vec<String>> {
        let mut v: Vec<Vec<String>> = u.iter().map(|u| u.columns.clone()).collect();
        v.sort();
        v
    };
    if uniques(&old.uniques) != uniques(&t.uniques) {
        return true;
    }
    let mut old_checks: Vec<&str> = old.checks.iter().map(|c| c.expression.as_str()).collect();
    let mut new_checks: Vec<&str> = t
        .checks
        .iter()
        .map(|c| c.expression.as_str())
        .filter(|e| !is_inline(e))
        .collect();
    old_checks.sort_unstable();
    new_checks.sort_unstable();
    // A renamed column inside a CHECK: SQLite's RENAME COLUMN rewrites it, but the texts
    // differ here; a rebuild is the safe answer.
    if old_checks != new_checks {
        return true;
    }
    let mut old_fks: Vec<String> = old
        .foreign_keys
        .iter()
        .map(crate::schema::ForeignKey::key)
        .collect();
    let mut new_fks: Vec<String> = t
        .foreign_keys
        .iter()
        .filter(|f| {
            !(f.columns.iter().all(|c| added.contains(&c.as_str())) && is_inline("REFERENCES"))
        })
        .map(crate::schema::ForeignKey::key)
        .collect();
    old_fks.sort();
    new_fks.sort();
    old_fks != new_fks
}

/// Rebuild `old` as `new` (SQLite's documented procedure), keeping the rows of the columns
/// both have.
fn rebuild(
    old: &Table,
    new: &Table,
    changes: &[Change],
    options: PlanOptions,
    plan: &mut Plan,
) -> Result<(), String> {
    plan.foreign_keys_off = true;
    let name = &new.name;
    let scratch = format!("{REBUILD_PREFIX}{name}");
    let mut create = create_sql(new)?.to_owned();
    // Columns whose drop is left out stay, defined as they were.
    let kept: Vec<&crate::schema::Column> = old
        .columns
        .iter()
        .filter(|c| new.column(&c.name).is_none() && !options.destructive)
        .collect();
    if !kept.is_empty() {
        let (mut elements, table_options) =
            sql::table_elements(&create).ok_or("a CREATE TABLE without a column list")?;
        let at = elements
            .iter()
            .position(|e| sql::is_table_constraint(e))
            .unwrap_or(elements.len());
        for (n, c) in kept.iter().enumerate() {
            let def = c
                .definition
                .clone()
                .unwrap_or_else(|| format!("{} {}", quote(&c.name), c.data_type));
            elements.insert(at + n, def);
            plan.skipped
                .push(format!("drop column {name}.{} (--no-destructive)", c.name));
        }
        create = format!(
            "CREATE TABLE {} (\n\t{}\n){}",
            quote(name),
            elements.join(",\n\t"),
            if table_options.is_empty() {
                String::new()
            } else {
                format!(" {table_options}")
            }
        );
    }
    let create = sql::rename_create(&create, &scratch).ok_or("a CREATE TABLE without a body")?;
    let mut reasons: Vec<String> = changes
        .iter()
        .filter(|c| {
            c.table() == name && !matches!(c, Change::CreateIndex { .. } | Change::DropIndex { .. })
        })
        .map(Change::describe)
        .collect();
    reasons.dedup();
    plan.steps.push(warn(
        create,
        format!(
            "rebuilds table {name} (SQLite cannot ALTER this): {}",
            reasons.join("; ")
        ),
    ));
    // Copied: the columns both shapes have (renames already ran), and kept ones.
    let common: Vec<String> = new
        .columns
        .iter()
        .filter(|c| c.generated.is_none())
        .filter(|c| old.column(&c.name).is_some_and(|o| o.generated.is_none()))
        .map(|c| quote(&c.name))
        .chain(kept.iter().map(|c| quote(&c.name)))
        .collect();
    let warnings = copy_warnings(old, new, options);
    let copy = format!(
        "INSERT INTO {} ({cols}) SELECT {cols} FROM {}",
        quote(&scratch),
        quote(name),
        cols = common.join(", ")
    );
    plan.steps.push(if warnings.is_empty() {
        step(copy)
    } else {
        warn(copy, warnings.join("; "))
    });
    plan.steps.push(step(format!("DROP TABLE {}", quote(name))));
    plan.steps.push(step(format!(
        "ALTER TABLE {} RENAME TO {}",
        quote(&scratch),
        quote(name)
    )));
    for i in &new.indexes {
        plan.steps.push(step(i.create_sql.clone()));
    }
    for (_, trigger) in &old.triggers {
        plan.steps.push(step(trigger.clone()));
    }
    Ok(())
}

/// What the copy of a rebuild loses or may fail on.
fn copy_warnings(old: &Table, new: &Table, options: PlanOptions) -> Vec<String> {
    let name = &new.name;
    let lost: Vec<&str> = old
        .columns
        .iter()
        .filter(|c| new.column(&c.name).is_none() && options.destructive)
        .map(|c| c.name.as_str())
        .collect();
    let missing_required: Vec<&str> = new
        .columns
        .iter()
        .filter(|c| {
            old.column(&c.name).is_none()
                && !c.nullable
                && c.default.is_none()
                && c.generated.is_none()
                && !(new.primary_key == [c.name.clone()] && c.data_type == "INTEGER")
        })
        .map(|c| c.name.as_str())
        .collect();
    let mut warnings = Vec::new();
    if !lost.is_empty() {
        warnings.push(format!(
            "the data of {} is dropped",
            lost.iter()
                .map(|c| format!("{name}.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !missing_required.is_empty() {
        warnings.push(format!(
            "new NOT NULL column(s) {} without a default: the copy fails if {name} has rows",
            missing_required.join(", ")
        ));
    }
    warnings
}
