//! MySQL and MariaDB alter almost everything in place. Their DDL is not transactional: the
//! file runs statement by statement and each is committed as it runs, so the order is what
//! keeps every statement valid on its own:
//!
//! 1. renames (`RENAME TABLE`, `RENAME COLUMN`: MySQL 8, MariaDB 10.5+);
//! 2. foreign keys that go or change dropped (by name), and those on a column whose type
//!    changes (MySQL refuses to change a column a foreign key uses, on either side), and
//!    those that close a cycle between tables being dropped;
//! 3. dropped tables, children first;
//! 4. one `ALTER TABLE` per changed table, holding all its column, key, UNIQUE, index and
//!    CHECK changes: MySQL checks the table it ends with, so an index a foreign key needs can
//!    be replaced, a primary key moved off an `AUTO_INCREMENT` column, and a column added
//!    with the key it needs, in one statement. Added columns go where the models put them
//!    (`AFTER`, `FIRST`); changed ones are written again from their full definition
//!    (`MODIFY COLUMN`), which on MariaDB also carries the column's own CHECK;
//! 5. new tables, parents first, from the statement the scratch database shows
//!    (`SHOW CREATE TABLE`); a foreign key to a table created later (a cycle) is left out;
//! 6. foreign keys added: new ones, those dropped in 2 for a type change, and those left out
//!    in 5.
//!
//! CHECKs are dropped with `DROP CONSTRAINT` (MariaDB; MySQL 8.0.19+), foreign keys with
//! `DROP FOREIGN KEY`. MySQL 5.7 has neither `RENAME COLUMN` nor CHECKs: not a target.
//!
//! Constraints and indexes are added with the models' names unless a kept one already has
//! the name (MySQL names constraints and FK indexes by position and column: `t_ibfk_1`,
//! `CONSTRAINT_1`), where the database chooses one; the comparison does not look at names.

use std::collections::BTreeSet;

use super::{Plan, PlanOptions, Step, create_sql, step, warn};
use crate::schema::diff::Change;
use crate::schema::sql as ddl;
use crate::schema::{CheckConstraint, ForeignKey, Schema, Table, normalize_sql};

/// A name quoted for MySQL.
fn q(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

fn q_list(names: &[String]) -> String {
    names.iter().map(|n| q(n)).collect::<Vec<_>>().join(", ")
}

pub(super) fn plan(
    from: &Schema,
    to: &Schema,
    changes: &[Change],
    options: PlanOptions,
) -> Result<Plan, String> {
    let mut plan = Plan::default();
    renames(from, to, changes, &mut plan);
    let dropped: Vec<&Table> = from
        .ordered()
        .filter(|t| changes.contains(&Change::DropTable(t.name.clone())))
        .collect();
    let created: Vec<&Table> = to
        .ordered()
        .filter(|t| changes.contains(&Change::CreateTable(t.name.clone())))
        .collect();
    let kept: Vec<(&Table, &Table)> = to
        .ordered()
        .filter_map(|t| from.tables.get(&t.name).map(|old| (old, t)))
        .collect();
    let fks = ForeignKeyWork::new(from, &kept, &dropped, options);
    for (table, fk) in &fks.drops {
        plan.steps.push(step(format!(
            "ALTER TABLE {} DROP FOREIGN KEY {}",
            q(table),
            q(fk.name.as_deref().unwrap_or_default())
        )));
    }
    for t in dropped.iter().rev() {
        if options.destructive {
            plan.steps.push(warn(
                format!("DROP TABLE {}", q(&t.name)),
                format!("drops table {} and every row in it", t.name),
            ));
        } else {
            plan.skipped
                .push(format!("drop table {} (--no-destructive)", t.name));
        }
    }
    for (old, new) in &kept {
        if let Some(s) = alter_table(old, new, changes, options, &mut plan.skipped) {
            plan.steps.push(s);
        }
    }
    let mut deferred: Vec<(&Table, &ForeignKey)> = Vec::new();
    for (at, t) in created.iter().enumerate() {
        let later: Vec<&ForeignKey> = t
            .foreign_keys
            .iter()
            .filter(|f| created[at + 1..].iter().any(|c| c.name == f.ref_table))
            .collect();
        plan.steps.push(step(create_without(t, &later)?));
        deferred.extend(later.into_iter().map(|f| (*t, f)));
    }
    for (t, fk) in fks.adds.iter().chain(&deferred) {
        let existing = from.tables.contains_key(&t.name);
        let name = fk.name.as_deref().filter(|n| !fks.taken.contains(*n));
        let sql = format!(
            "ALTER TABLE {} ADD {}",
            q(&t.name),
            foreign_key_clause(t, fk, name)
        );
        plan.steps.push(if existing {
            warn(
                sql,
                format!(
                    "fails if rows of {} have no parent in {}",
                    t.name, fk.ref_table
                ),
            )
        } else {
            step(sql)
        });
    }
    Ok(plan)
}

fn renames(from: &Schema, to: &Schema, changes: &[Change], plan: &mut Plan) {
    for c in changes {
        match c {
            Change::RenameTable { from: a, to: b } => {
                plan.steps
                    .push(step(format!("RENAME TABLE {} TO {}", q(a), q(b))));
            }
            Change::RenameColumn {
                table,
                from: a,
                to: b,
            } => {
                plan.steps.push(step(format!(
                    "ALTER TABLE {} RENAME COLUMN {} TO {}",
                    q(table),
                    q(a),
                    q(b)
                )));
                // The index MySQL made for a foreign key on the column is named after it
                // and keeps the old name: renamed as a fresh table would name it.
                let index = |s: &Schema, name: &str| {
                    s.tables
                        .get(table)
                        .and_then(|t| t.indexes.iter().find(|i| i.name == name).cloned())
                };
                if let (Some(old), Some(new), None) = (index(from, a), index(to, b), index(from, b))
                    && old.definition == new.definition
                    && old.unique == new.unique
                {
                    plan.steps.push(step(format!(
                        "ALTER TABLE {} RENAME INDEX {} TO {}",
                        q(table),
                        q(a),
                        q(b)
                    )));
                }
            }
            _ => {}
        }
    }
}

/// The foreign keys dropped at the start and added at the end.
struct ForeignKeyWork<'a> {
    /// Table and key.
    drops: Vec<(String, &'a ForeignKey)>,
    adds: Vec<(&'a Table, &'a ForeignKey)>,
    /// Names of the foreign keys that stay (an added one cannot take them).
    taken: BTreeSet<String>,
}

impl<'a> ForeignKeyWork<'a> {
    fn new(
        from: &'a Schema,
        kept: &[(&'a Table, &'a Table)],
        dropped: &[&'a Table],
        options: PlanOptions,
    ) -> Self {
        // Columns whose type changes, by table.
        let retyped: Vec<(&str, &str)> = kept
            .iter()
            .flat_map(|(old, new)| {
                new.columns.iter().filter_map(move |c| {
                    old.column(&c.name)
                        .filter(|o| o.data_type != c.data_type)
                        .map(|_| (new.name.as_str(), c.name.as_str()))
                })
            })
            .collect();
        let touches_retyped = |t: &str, f: &ForeignKey| {
            retyped.iter().any(|(rt, rc)| {
                (*rt == t && f.columns.iter().any(|c| c.eq_ignore_ascii_case(rc)))
                    || (*rt == f.ref_table
                        && f.ref_columns.iter().any(|c| c.eq_ignore_ascii_case(rc)))
            })
        };
        let mut work = ForeignKeyWork {
            drops: Vec::new(),
            adds: Vec::new(),
            taken: BTreeSet::new(),
        };
        for (old, new) in kept {
            let new_keys: Vec<String> = new.foreign_keys.iter().map(ForeignKey::key).collect();
            let old_keys: Vec<String> = old.foreign_keys.iter().map(ForeignKey::key).collect();
            for f in &old.foreign_keys {
                if !new_keys.contains(&f.key()) || touches_retyped(&old.name, f) {
                    work.drops.push((old.name.clone(), f));
                }
            }
            for f in &new.foreign_keys {
                if !old_keys.contains(&f.key()) || touches_retyped(&new.name, f) {
                    work.adds.push((new, f));
                }
            }
        }
        // A cycle among dropped tables: the key to a table dropped after its child.
        if options.destructive {
            for (at, t) in dropped.iter().enumerate() {
                for f in &t.foreign_keys {
                    if f.ref_table != t.name
                        && dropped[at + 1..].iter().any(|d| d.name == f.ref_table)
                    {
                        work.drops.push((t.name.clone(), f));
                    }
                }
            }
        }
        for t in from.tables.values() {
            let gone = options.destructive && dropped.iter().any(|d| d.name == t.name);
            for f in &t.foreign_keys {
                let dropped_here = work
                    .drops
                    .iter()
                    .any(|(dt, df)| *dt == t.name && std::ptr::eq(*df, f));
                if let Some(n) = &f.name
                    && !gone
                    && !dropped_here
                {
                    work.taken.insert(n.clone());
                }
            }
        }
        work
    }
}

/// `FOREIGN KEY ...` as `SHOW CREATE TABLE` wrote it for `t` (or from the model), after
/// `CONSTRAINT name` when `name` is given.
fn foreign_key_clause(t: &Table, fk: &ForeignKey, name: Option<&str>) -> String {
    let body = fk
        .name
        .as_deref()
        .and_then(|n| constraint_element(t, n))
        .map_or_else(
            || {
                format!(
                    "FOREIGN KEY ({}) REFERENCES {} ({}) ON DELETE {} ON UPDATE {}",
                    q_list(&fk.columns),
                    q(&fk.ref_table),
                    q_list(&fk.ref_columns),
                    fk.on_delete,
                    fk.on_update
                )
            },
            |(_, rest)| rest,
        );
    match name {
        Some(n) => format!("CONSTRAINT {} {body}", q(n)),
        None => body,
    }
}

/// The element of `t`'s `SHOW CREATE TABLE` for constraint `name`: the element, and its
/// text after `CONSTRAINT name`.
fn constraint_element(t: &Table, name: &str) -> Option<(String, String)> {
    let (elements, _) = ddl::table_elements(t.create_sql.as_deref()?)?;
    elements.into_iter().find_map(|e| {
        let words = ddl::tokens(&e);
        (words.len() > 2
            && words[0].eq_ignore_ascii_case("CONSTRAINT")
            && unquote(&words[1]) == name)
            .then(|| (e.clone(), words[2..].join(" ")))
    })
}

/// The element of `t`'s `SHOW CREATE TABLE` for index `name` (`KEY`, `UNIQUE KEY`,
/// `FULLTEXT KEY`, `SPATIAL KEY`): its kind words and the text after its name.
fn key_element(t: &Table, name: &str) -> Option<(String, String)> {
    let (elements, _) = ddl::table_elements(t.create_sql.as_deref()?)?;
    elements.into_iter().find_map(|e| {
        let words = ddl::tokens(&e);
        let at = words
            .iter()
            .position(|w| w.eq_ignore_ascii_case("KEY") || w.eq_ignore_ascii_case("INDEX"))?;
        let kinds_ok = words[..at].iter().all(|w| {
            ["UNIQUE", "FULLTEXT", "SPATIAL"]
                .iter()
                .any(|k| w.eq_ignore_ascii_case(k))
        });
        (kinds_ok && at < 2 && words.get(at + 1).is_some_and(|w| unquote(w) == name)).then(|| {
            let kind: Vec<String> = words[..at].iter().map(|w| w.to_ascii_uppercase()).collect();
            (kind.join(" "), words[at + 2..].join(" "))
        })
    })
}

fn unquote(word: &str) -> String {
    let w = word.trim();
    if w.len() >= 2 && w.starts_with('`') && w.ends_with('`') {
        w[1..w.len() - 1].replace("``", "`")
    } else {
        ddl::unquote(w)
    }
}

/// `t`'s statement without the foreign keys `left_out`.
fn create_without(t: &Table, left_out: &[&ForeignKey]) -> Result<String, String> {
    let create = create_sql(t)?;
    if left_out.is_empty() {
        return Ok(create.to_owned());
    }
    let skip: Vec<String> = left_out
        .iter()
        .filter_map(|f| f.name.as_deref())
        .filter_map(|n| constraint_element(t, n).map(|(e, _)| e))
        .collect();
    let (elements, options) =
        ddl::table_elements(create).ok_or("a CREATE TABLE without a column list")?;
    let kept: Vec<String> = elements.into_iter().filter(|e| !skip.contains(e)).collect();
    Ok(format!(
        "CREATE TABLE {} (\n  {}\n){}",
        q(&t.name),
        kept.join(",\n  "),
        if options.is_empty() {
            String::new()
        } else {
            format!(" {options}")
        }
    ))
}

/// The name of the column a CHECK belongs to when it is written in that column's
/// definition (MariaDB keeps a column's CHECK with the column, named after the column it
/// had when made; `MODIFY COLUMN` replaces it and `DROP CONSTRAINT` cannot reach it).
fn column_check<'t>(t: &'t Table, c: &CheckConstraint) -> Option<&'t str> {
    let wanted = format!("CHECK ({})", c.expression);
    t.columns
        .iter()
        .find(|col| {
            col.definition
                .as_deref()
                .is_some_and(|d| normalize_sql(&d.replace('`', "")).contains(&wanted))
        })
        .map(|col| col.name.as_str())
}

/// Items of `a` whose key none of `b`'s has, one per key (the comparison treats
/// constraints as sets).
fn missing<'x, T>(a: &'x [T], b: &[T], key: impl Fn(&T) -> String) -> Vec<&'x T> {
    let present: BTreeSet<String> = b.iter().map(&key).collect();
    let mut seen = BTreeSet::new();
    a.iter()
        .filter(|x| {
            let k = key(x);
            !present.contains(&k) && seen.insert(k)
        })
        .collect()
}

/// The clauses of one table's `ALTER TABLE`, and their warnings.
#[derive(Default)]
struct Alter {
    clauses: Vec<String>,
    warnings: Vec<String>,
}

/// The statement that makes `old` into `new` (columns, keys, UNIQUE, indexes, CHECKs);
/// `None` when nothing changes.
fn alter_table(
    old: &Table,
    new: &Table,
    changes: &[Change],
    options: PlanOptions,
    skipped: &mut Vec<String>,
) -> Option<Step> {
    let name = &new.name;
    let mut modify: BTreeSet<String> = changes
        .iter()
        .filter_map(|c| match c {
            Change::AlterColumn { table, column, .. } if table == name => Some(column.clone()),
            _ => None,
        })
        .collect();
    let mut a = Alter::default();
    let check_key = |c: &CheckConstraint| c.expression.clone();
    let check_adds = missing(&new.checks, &old.checks, check_key);
    for c in missing(&old.checks, &new.checks, check_key) {
        match column_check(old, c) {
            Some(col) => {
                if let Some(nc) = new.column(col) {
                    modify.insert(nc.name.clone());
                }
            }
            None => a.clauses.push(format!(
                "DROP CONSTRAINT {}",
                q(c.name.as_deref().unwrap_or_default())
            )),
        }
    }
    for c in &check_adds {
        if let Some(col) = column_check(new, c)
            && old.column(col).is_some()
        {
            modify.insert(col.to_owned());
        }
    }
    unique_and_index_drops(old, new, changes, &mut a);
    if old.primary_key != new.primary_key && !old.primary_key.is_empty() {
        a.clauses.push("DROP PRIMARY KEY".to_owned());
    }
    column_clauses(old, new, changes, &modify, options, skipped, &mut a);
    if old.primary_key != new.primary_key && !new.primary_key.is_empty() {
        a.clauses
            .push(format!("ADD PRIMARY KEY ({})", q_list(&new.primary_key)));
        a.warnings.push(format!(
            "fails if {name} has duplicate or NULL values in ({})",
            new.primary_key.join(", ")
        ));
    }
    unique_and_index_adds(old, new, changes, &mut a);
    for c in check_adds {
        if column_check(new, c).is_some() {
            continue;
        }
        let body = c
            .name
            .as_deref()
            .and_then(|n| constraint_element(new, n))
            .map_or_else(|| format!("CHECK ({})", c.expression), |(_, rest)| rest);
        let taken = c.name.as_ref().is_some_and(|n| {
            old.checks.iter().any(|o| {
                o.name.as_ref() == Some(n)
                    && new.checks.iter().any(|k| k.expression == o.expression)
            })
        });
        a.clauses.push(match c.name.as_deref() {
            Some(n) if !taken => format!("ADD CONSTRAINT {} {body}", q(n)),
            _ => format!("ADD {body}"),
        });
        a.warnings.push(format!(
            "fails if rows of {name} break CHECK ({})",
            c.expression
        ));
    }
    if a.clauses.is_empty() {
        return None;
    }
    let sql = format!("ALTER TABLE {}\n  {}", q(name), a.clauses.join(",\n  "));
    Some(if a.warnings.is_empty() {
        step(sql)
    } else {
        warn(sql, a.warnings.join("; "))
    })
}

/// UNIQUE constraints (by columns) and indexes (as the comparison matched them) that go.
fn unique_and_index_drops(old: &Table, new: &Table, changes: &[Change], a: &mut Alter) {
    let cols = |u: &crate::schema::Unique| u.columns.join(", ");
    for u in missing(&old.uniques, &new.uniques, cols) {
        if let Some(n) = &u.name {
            a.clauses.push(format!("DROP INDEX {}", q(n)));
        }
    }
    let renamed = super::renamed_indexes(old, new, changes);
    for c in changes {
        if let Change::DropIndex { table, index } = c
            && *table == new.name
            && !renamed.iter().any(|(o, _)| o == index)
        {
            a.clauses.push(format!("DROP INDEX {}", q(index)));
        }
    }
    for (o, n) in renamed {
        a.clauses
            .push(format!("RENAME INDEX {} TO {}", q(&o), q(&n)));
    }
}

/// UNIQUE constraints and indexes that come, named as the models' unless a kept one has
/// the name.
fn unique_and_index_adds(old: &Table, new: &Table, changes: &[Change], a: &mut Alter) {
    let cols = |u: &crate::schema::Unique| u.columns.join(", ");
    let dropped_uniques: Vec<&str> = missing(&old.uniques, &new.uniques, cols)
        .into_iter()
        .filter_map(|u| u.name.as_deref())
        .collect();
    let dropped_indexes: Vec<&str> = changes
        .iter()
        .filter_map(|c| match c {
            Change::DropIndex { table, index } if *table == new.name => Some(index.as_str()),
            _ => None,
        })
        .collect();
    let taken = |n: &str| {
        let kept_unique = old
            .uniques
            .iter()
            .filter_map(|u| u.name.as_deref())
            .any(|u| u == n && !dropped_uniques.contains(&u));
        let kept_index = old
            .indexes
            .iter()
            .any(|i| i.name == n && !dropped_indexes.contains(&n));
        kept_unique || kept_index
    };
    for u in missing(&new.uniques, &old.uniques, cols) {
        let parts = format!("({})", q_list(&u.columns));
        a.clauses.push(match u.name.as_deref() {
            Some(n) if !taken(n) => format!("ADD UNIQUE KEY {} {parts}", q(n)),
            _ => format!("ADD UNIQUE KEY {parts}"),
        });
        a.warnings.push(format!(
            "fails if {} has duplicate values in ({})",
            new.name,
            u.columns.join(", ")
        ));
    }
    let renamed = super::renamed_indexes(old, new, changes);
    for c in changes {
        let Change::CreateIndex { table, index } = c else {
            continue;
        };
        if renamed.iter().any(|(_, n)| n == index) {
            continue;
        }
        let Some(i) = new
            .indexes
            .iter()
            .find(|i| *table == new.name && i.name == *index)
        else {
            continue;
        };
        let (kind, parts) =
            key_element(new, index).unwrap_or_else(|| from_create_index(&i.create_sql));
        let kind = if kind.is_empty() {
            String::new()
        } else {
            format!("{kind} ")
        };
        a.clauses.push(if taken(index) {
            format!("ADD {kind}KEY {parts}")
        } else {
            format!("ADD {kind}KEY {} {parts}", q(index))
        });
        if i.unique {
            a.warnings.push(format!(
                "fails if {} has duplicate values for index {index}",
                new.name
            ));
        }
    }
}

/// Kind and parts of `CREATE [UNIQUE|FULLTEXT|SPATIAL] INDEX name ON table parts`.
fn from_create_index(create: &str) -> (String, String) {
    let words = ddl::tokens(create);
    let at = words
        .iter()
        .position(|w| w.eq_ignore_ascii_case("INDEX"))
        .unwrap_or(1);
    let kind = words
        .get(1..at)
        .unwrap_or_default()
        .join(" ")
        .to_ascii_uppercase();
    let parts = words.get(at + 4..).unwrap_or_default().join(" ");
    (kind, parts)
}

/// Added columns (in place), changed ones (`MODIFY` with their new definition) and
/// dropped ones.
fn column_clauses(
    old: &Table,
    new: &Table,
    changes: &[Change],
    modify: &BTreeSet<String>,
    options: PlanOptions,
    skipped: &mut Vec<String>,
    a: &mut Alter,
) {
    let name = &new.name;
    for (at, c) in new.columns.iter().enumerate() {
        let added = changes.contains(&Change::AddColumn {
            table: name.clone(),
            column: c.name.clone(),
        });
        let definition = c
            .definition
            .clone()
            .unwrap_or_else(|| format!("{} {}", q(&c.name), c.data_type));
        if added {
            let place = match at {
                0 => "FIRST".to_owned(),
                _ => format!("AFTER {}", q(&new.columns[at - 1].name)),
            };
            a.clauses.push(format!("ADD COLUMN {definition} {place}"));
            if !c.nullable && c.default.is_none() && !c.identity && c.generated.is_none() {
                a.warnings.push(format!(
                    "{name}.{} is NOT NULL without a default: existing rows get the type's implicit default (0, '', a zero date strict modes refuse)",
                    c.name
                ));
            }
        } else if modify.contains(&c.name)
            && let Some(o) = old.column(&c.name)
        {
            a.clauses.push(format!("MODIFY COLUMN {definition}"));
            if o.data_type != c.data_type && !widens(&o.data_type, &c.data_type) {
                a.warnings.push(format!(
                    "{name}.{}: type {} -> {} may truncate or reject existing values",
                    c.name, o.data_type, c.data_type
                ));
            }
            if o.nullable && !c.nullable {
                a.warnings.push(format!(
                    "{name}.{} becomes NOT NULL: fails if it holds NULLs (strict mode)",
                    c.name
                ));
            }
        }
    }
    for c in changes {
        if let Change::DropColumn { table, column } = c
            && table == name
        {
            if options.destructive {
                a.clauses.push(format!("DROP COLUMN {}", q(column)));
                a.warnings
                    .push(format!("drops column {table}.{column} and its data"));
            } else {
                skipped.push(format!("drop column {table}.{column} (--no-destructive)"));
            }
        }
    }
}

/// A type's name and its numbers: `DECIMAL(10,2)` is `("DECIMAL", [10, 2])`; `ENUM` and
/// `SET` keep their values as the "name".
fn split_type(t: &str) -> (String, Vec<u64>) {
    match t.find('(') {
        Some(open) if !t.starts_with("ENUM") && !t.starts_with("SET") => {
            let close = t[open..].find(')').map_or(t.len(), |c| open + c);
            let args = t[open + 1..close]
                .split(',')
                .filter_map(|a| a.trim().parse().ok())
                .collect();
            let rest = t.get(close + 1..).unwrap_or("").trim();
            let base = if rest.is_empty() {
                t[..open].to_owned()
            } else {
                format!("{} {rest}", &t[..open])
            };
            (base, args)
        }
        _ => (t.to_owned(), Vec::new()),
    }
}

/// `to` holds every value `from` can (so the change cannot lose data).
fn widens(from: &str, to: &str) -> bool {
    let (fb, fa) = split_type(from);
    let (tb, ta) = split_type(to);
    let int_rank = |b: &str| {
        let unsigned = b.ends_with(" UNSIGNED");
        let base = b.trim_end_matches(" UNSIGNED");
        let rank = ["TINYINT", "SMALLINT", "MEDIUMINT", "INT", "BIGINT"]
            .iter()
            .position(|r| *r == base || (base == "INTEGER" && *r == "INT"));
        rank.map(|r| (r, unsigned))
    };
    if let (Some((fr, fu)), Some((tr, tu))) = (int_rank(&fb), int_rank(&tb)) {
        return fu == tu && tr >= fr;
    }
    let text_bytes = |b: &str| match b {
        "TINYTEXT" => Some(255u64),
        "TEXT" => Some(65_535),
        "MEDIUMTEXT" | "LONGTEXT" => Some(u64::MAX),
        _ => None,
    };
    let chars = |b: &str, a: &[u64]| {
        matches!(b, "CHAR" | "VARCHAR")
            .then(|| a.first().copied())
            .flatten()
    };
    if let (Some(n), Some(m)) = (chars(&fb, &fa), chars(&tb, &ta)) {
        return m >= n;
    }
    if let (Some(n), Some(bytes)) = (chars(&fb, &fa), text_bytes(&tb)) {
        // Four bytes a character at most (utf8mb4).
        return n.saturating_mul(4) <= bytes;
    }
    if let (Some(f), Some(t)) = (text_bytes(&fb), text_bytes(&tb)) {
        return t >= f;
    }
    if fb == "DECIMAL" && tb == "DECIMAL" && fa.len() == 2 && ta.len() == 2 {
        return ta[1] >= fa[1] && ta[0] - ta[1] >= fa[0] - fa[1];
    }
    let listed = |b: &str, kind: &str| b.starts_with(&format!("{kind}(")).then(|| quoted_values(b));
    for kind in ["ENUM", "SET"] {
        if let (Some(f), Some(t)) = (listed(&fb, kind), listed(&tb, kind)) {
            return f.iter().all(|v| t.contains(v));
        }
    }
    if fb == "FLOAT" && tb == "DOUBLE" {
        return true;
    }
    fb == tb && fa.len() == ta.len() && fa.iter().zip(&ta).all(|(f, t)| t >= f)
}

/// The quoted strings of `ENUM('a','b')`, quotes kept.
fn quoted_values(t: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    let mut chars = t.chars().peekable();
    while let Some(ch) = chars.next() {
        match (&mut current, ch) {
            (None, '\'') => current = Some("'".to_owned()),
            (Some(v), '\'') if chars.peek() == Some(&'\'') => {
                v.push_str("''");
                chars.next();
            }
            (Some(v), '\'') => {
                v.push('\'');
                out.push(std::mem::take(v));
                current = None;
            }
            (Some(v), c) => v.push(c),
            (None, _) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widening_types_need_no_warning() {
        assert!(widens("VARCHAR(100)", "VARCHAR(255)"));
        assert!(!widens("VARCHAR(255)", "VARCHAR(100)"));
        assert!(widens("INT", "BIGINT"));
        assert!(!widens("BIGINT", "INT"));
        assert!(!widens("INT", "INT UNSIGNED"));
        assert!(widens("VARCHAR(255)", "TEXT"));
        assert!(!widens("TEXT", "VARCHAR(255)"));
        assert!(widens("DECIMAL(10,2)", "DECIMAL(12,2)"));
        assert!(!widens("DECIMAL(10,2)", "DECIMAL(10,3)"));
        assert!(widens("ENUM('a','b')", "ENUM('a','b','c')"));
        assert!(!widens("ENUM('a','b')", "ENUM('a')"));
        assert!(!widens("ENUM('a,b')", "ENUM('a','b')"));
        assert!(widens("SET('x','it''s')", "SET('it''s','x','y')"));
        assert!(widens("DATETIME", "DATETIME"));
        assert!(!widens("VARCHAR(10)", "INT"));
    }

    #[test]
    fn index_parts_read_from_a_create_index_statement() {
        assert_eq!(
            from_create_index("CREATE UNIQUE INDEX `ix` ON `t` (`a`,`b`(20))"),
            ("UNIQUE".to_owned(), "(`a`,`b`(20))".to_owned())
        );
        assert_eq!(
            from_create_index("CREATE INDEX `ix` ON `t` (`a`)"),
            (String::new(), "(`a`)".to_owned())
        );
    }

    #[test]
    fn create_without_a_cycle_key() {
        let fk = ForeignKey {
            name: Some("a_ibfk_1".into()),
            columns: vec!["b_id".into()],
            ref_table: "b".into(),
            ref_columns: vec!["id".into()],
            on_delete: "NO ACTION".into(),
            on_update: "NO ACTION".into(),
        };
        let t = Table {
            name: "a".into(),
            create_sql: Some("CREATE TABLE `a` (\n  `id` int(11) NOT NULL,\n  `b_id` int(11) DEFAULT NULL,\n  PRIMARY KEY (`id`),\n  KEY `b_id` (`b_id`),\n  CONSTRAINT `a_ibfk_1` FOREIGN KEY (`b_id`) REFERENCES `b` (`id`)\n) ENGINE=InnoDB".into()),
            foreign_keys: vec![fk.clone()],
            ..Table::default()
        };
        assert_eq!(
            create_without(&t, &[&fk]).unwrap(),
            "CREATE TABLE `a` (\n  `id` int(11) NOT NULL,\n  `b_id` int(11) DEFAULT NULL,\n  PRIMARY KEY (`id`),\n  KEY `b_id` (`b_id`)\n) ENGINE=InnoDB"
        );
        assert_eq!(
            foreign_key_clause(&t, &fk, None),
            "FOREIGN KEY (`b_id`) REFERENCES `b` (`id`)"
        );
    }

    fn col(name: &str, ty: &str, nullable: bool) -> crate::schema::Column {
        crate::schema::Column {
            name: name.into(),
            data_type: ty.into(),
            nullable,
            definition: Some(format!(
                "`{name}` {ty}{}",
                if nullable { "" } else { " NOT NULL" }
            )),
            ..crate::schema::Column::default()
        }
    }

    fn one(t: Table) -> Schema {
        let mut s = Schema::default();
        s.push(t);
        s
    }

    #[test]
    fn narrowing_and_not_null_changes_warn_drops_obey_destructive() {
        let old = Table {
            name: "t".into(),
            columns: vec![
                col("a", "VARCHAR(200)", true),
                col("b", "VARCHAR(10)", true),
                col("c", "INT", true),
                col("gone", "INT", true),
            ],
            ..Table::default()
        };
        let new = Table {
            name: "t".into(),
            columns: vec![
                col("a", "VARCHAR(100)", true),
                col("b", "VARCHAR(20)", true),
                col("c", "INT", false),
            ],
            ..Table::default()
        };
        let (from, to) = (one(old), one(new));
        let (shaped, changes, _) =
            crate::schema::diff::compare(&from, &to, &crate::schema::diff::Renames::default())
                .unwrap();
        let p = plan(&shaped, &to, &changes, PlanOptions { destructive: true }).unwrap();
        assert_eq!(p.steps.len(), 1, "{p:#?}");
        let w = p.steps[0].warning.as_deref().unwrap();
        assert!(
            w.contains("t.a: type VARCHAR(200) -> VARCHAR(100) may truncate"),
            "{w}"
        );
        assert!(!w.contains("t.b"), "{w}");
        assert!(w.contains("t.c becomes NOT NULL"), "{w}");
        assert!(w.contains("drops column t.gone"), "{w}");
        assert!(p.steps[0].sql.contains("DROP COLUMN `gone`"));
        let p = plan(&shaped, &to, &changes, PlanOptions { destructive: false }).unwrap();
        assert!(!p.steps[0].sql.contains("DROP COLUMN"));
        assert_eq!(p.skipped, ["drop column t.gone (--no-destructive)"]);
    }
}
