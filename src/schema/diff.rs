//! What differs between two schemas, as a list of changes in a neutral form. Renames are
//! never guessed: they come from the user (`--rename`, `--rename-table`); a table that loses
//! one column and gains one of the same type gets a hint naming the flag.

use std::collections::BTreeSet;

use super::{Column, Schema, Table};

/// Renames the user asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Renames {
    /// `table.old:new`: (table as it is in the models, old column, new column).
    pub columns: Vec<(String, String, String)>,
    /// `old:new`.
    pub tables: Vec<(String, String)>,
}

impl Renames {
    /// Parse `--rename T.OLD:NEW` and `--rename-table OLD:NEW` values.
    ///
    /// # Errors
    /// A value not of that form.
    pub fn parse(columns: &[String], tables: &[String]) -> Result<Renames, String> {
        let mut r = Renames::default();
        for c in columns {
            let parsed = c.split_once(':').and_then(|(left, new)| {
                let (t, old) = left.rsplit_once('.')?;
                (!t.is_empty() && !old.is_empty() && !new.is_empty())
                    .then(|| (t.to_owned(), old.to_owned(), new.to_owned()))
            });
            r.columns.push(parsed.ok_or_else(|| {
                format!("--rename {c}: expected TABLE.OLD:NEW (e.g. --rename users.name:full_name)")
            })?);
        }
        for t in tables {
            let parsed = t
                .split_once(':')
                .filter(|(a, b)| !a.is_empty() && !b.is_empty())
                .map(|(a, b)| (a.to_owned(), b.to_owned()));
            r.tables.push(parsed.ok_or_else(|| {
                format!("--rename-table {t}: expected OLD:NEW (e.g. --rename-table user:users)")
            })?);
        }
        Ok(r)
    }

    /// The renames undone: for planning the way back.
    #[must_use]
    pub fn reversed(&self) -> Renames {
        Renames {
            columns: self
                .columns
                .iter()
                // Table renames run first: on the way back the table has its old name.
                .map(|(t, old, new)| {
                    let original = self
                        .tables
                        .iter()
                        .find(|(_, n)| n == t)
                        .map_or_else(|| t.clone(), |(o, _)| o.clone());
                    (original, new.clone(), old.clone())
                })
                .collect(),
            tables: self
                .tables
                .iter()
                .map(|(a, b)| (b.clone(), a.clone()))
                .collect(),
        }
    }
}

/// One difference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    CreateTable(String),
    DropTable(String),
    RenameTable {
        from: String,
        to: String,
    },
    RenameColumn {
        table: String,
        from: String,
        to: String,
    },
    AddColumn {
        table: String,
        column: String,
    },
    DropColumn {
        table: String,
        column: String,
    },
    /// Type, nullability, default, generated or identity differ: each named in `what`.
    AlterColumn {
        table: String,
        column: String,
        what: Vec<String>,
    },
    /// Primary key, UNIQUE, CHECK or FOREIGN KEY constraints, or table options differ.
    Constraints {
        table: String,
        what: Vec<String>,
    },
    CreateIndex {
        table: String,
        index: String,
    },
    DropIndex {
        table: String,
        index: String,
    },
    /// PostgreSQL enum types.
    CreateEnum(String),
    DropEnum(String),
    /// Labels added to an enum (PostgreSQL cannot take labels away: `what` says when labels
    /// were removed or reordered, which needs a migration written by hand).
    AlterEnum {
        name: String,
        added: Vec<String>,
        what: Option<String>,
    },
}

impl Change {
    /// The table the change is on.
    #[must_use]
    pub fn table(&self) -> &str {
        match self {
            Change::CreateTable(t) | Change::DropTable(t) => t,
            Change::CreateEnum(_) | Change::DropEnum(_) | Change::AlterEnum { .. } => "",
            Change::RenameTable { to, .. } => to,
            Change::RenameColumn { table, .. }
            | Change::AddColumn { table, .. }
            | Change::DropColumn { table, .. }
            | Change::AlterColumn { table, .. }
            | Change::Constraints { table, .. }
            | Change::CreateIndex { table, .. }
            | Change::DropIndex { table, .. } => table,
        }
    }

    /// Data may be lost.
    #[must_use]
    pub fn destructive(&self) -> bool {
        matches!(
            self,
            Change::DropTable(_) | Change::DropColumn { .. } | Change::DropEnum(_)
        )
    }

    /// One line for people.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Change::CreateTable(t) => format!("create table {t}"),
            Change::DropTable(t) => format!("drop table {t}"),
            Change::RenameTable { from, to } => format!("rename table {from} to {to}"),
            Change::RenameColumn { table, from, to } => {
                format!("rename column {table}.{from} to {to}")
            }
            Change::AddColumn { table, column } => format!("add column {table}.{column}"),
            Change::DropColumn { table, column } => format!("drop column {table}.{column}"),
            Change::AlterColumn {
                table,
                column,
                what,
            } => format!("change column {table}.{column}: {}", what.join("; ")),
            Change::Constraints { table, what } => {
                format!("change constraints of {table}: {}", what.join("; "))
            }
            Change::CreateIndex { table, index } => format!("create index {index} on {table}"),
            Change::DropIndex { table, index } => format!("drop index {index} on {table}"),
            Change::CreateEnum(n) => format!("create enum type {n}"),
            Change::DropEnum(n) => format!("drop enum type {n}"),
            Change::AlterEnum { name, added, what } => match what {
                Some(w) => format!("change enum type {name}: {w}"),
                None => format!("add label(s) {} to enum type {name}", added.join(", ")),
            },
        }
    }
}

/// `from` as it is once the asked renames ran (references to a renamed table follow it),
/// and the rename changes.
///
/// # Errors
/// A rename naming a table or column that does not exist on the side it must.
pub fn apply_renames(
    from: &Schema,
    to: &Schema,
    renames: &Renames,
) -> Result<(Schema, Vec<Change>), String> {
    let mut changes = Vec::new();
    let mut after = from.clone();
    for (old, new) in &renames.tables {
        let Some(mut t) = after.tables.remove(old) else {
            return Err(format!(
                "--rename-table {old}:{new}: the database has no table {old}"
            ));
        };
        if !to.tables.contains_key(new) {
            return Err(format!(
                "--rename-table {old}:{new}: the models have no table {new}"
            ));
        }
        t.name.clone_from(new);
        // A serial column's default names its table (`schema::serial_default`); its
        // sequence is renamed with the table (PostgreSQL's plan).
        for c in &mut t.columns {
            if c.default.as_deref() == Some(super::serial_default(old, &c.name).as_str()) {
                c.default = Some(super::serial_default(new, &c.name));
            }
            if let Some(seq) = after.sequences.remove(&(old.clone(), c.name.clone())) {
                after.sequences.insert((new.clone(), c.name.clone()), seq);
            }
        }
        for pos in &mut after.order {
            if pos == old {
                pos.clone_from(new);
            }
        }
        after.tables.insert(new.clone(), t);
        changes.push(Change::RenameTable {
            from: old.clone(),
            to: new.clone(),
        });
    }
    for (old, new) in &renames.tables {
        for t in after.tables.values_mut() {
            for fk in &mut t.foreign_keys {
                if &fk.ref_table == old {
                    fk.ref_table.clone_from(new);
                }
            }
        }
    }
    for (table, old, new) in &renames.columns {
        let Some(t) = after.tables.get_mut(table) else {
            return Err(format!(
                "--rename {table}.{old}:{new}: the database has no table {table}"
            ));
        };
        let Some(c) = t.columns.iter_mut().find(|c| &c.name == old) else {
            return Err(format!(
                "--rename {table}.{old}:{new}: {table} has no column {old}"
            ));
        };
        c.name.clone_from(new);
        if c.default.as_deref() == Some(super::serial_default(table, old).as_str()) {
            c.default = Some(super::serial_default(table, new));
        }
        if let Some(seq) = after.sequences.remove(&(table.clone(), old.clone())) {
            after.sequences.insert((table.clone(), new.clone()), seq);
        }
        rename_in_constraints(t, old, new);
        // Other tables' foreign keys name the column too (the database follows a rename).
        for other in after.tables.values_mut() {
            for fk in &mut other.foreign_keys {
                if &fk.ref_table == table {
                    for c in &mut fk.ref_columns {
                        if c == old {
                            new.clone_into(c);
                        }
                    }
                }
            }
        }
        changes.push(Change::RenameColumn {
            table: table.clone(),
            from: old.clone(),
            to: new.clone(),
        });
    }
    Ok((after, changes))
}

/// The changes that turn `from` into `to`, and hints (likely renames). `from` is the
/// schema once renamed ([`apply_renames`]); `renames` are the rename changes that made it.
#[must_use]
pub fn diff(from: &Schema, to: &Schema, renames: Vec<Change>) -> (Vec<Change>, Vec<String>) {
    let mut changes = renames;
    let mut hints = Vec::new();
    for (name, labels) in &to.enums {
        match from.enums.get(name) {
            None => changes.push(Change::CreateEnum(name.clone())),
            Some(old) if old != labels => {
                let kept: Vec<&String> = labels.iter().filter(|l| old.contains(l)).collect();
                let in_order = kept.iter().copied().eq(old.iter());
                changes.push(Change::AlterEnum {
                    name: name.clone(),
                    added: labels.iter().filter(|l| !old.contains(l)).cloned().collect(),
                    what: (!in_order).then(|| {
                        format!(
                            "labels ({}) -> ({}): removing or reordering labels needs a migration written by hand",
                            old.join(", "),
                            labels.join(", ")
                        )
                    }),
                });
            }
            Some(_) => {}
        }
    }
    for name in from.enums.keys() {
        if !to.enums.contains_key(name) {
            changes.push(Change::DropEnum(name.clone()));
        }
    }
    for t in to.ordered() {
        if !from.tables.contains_key(&t.name) {
            changes.push(Change::CreateTable(t.name.clone()));
        }
    }
    for t in from.ordered() {
        let Some(target) = to.tables.get(&t.name) else {
            changes.push(Change::DropTable(t.name.clone()));
            continue;
        };
        table_changes(t, target, &mut changes, &mut hints);
    }
    (changes, hints)
}

/// [`apply_renames`] then [`diff`]: the renamed `from`, the changes and the hints.
///
/// # Errors
/// As [`apply_renames`].
pub fn compare(
    from: &Schema,
    to: &Schema,
    renames: &Renames,
) -> Result<(Schema, Vec<Change>, Vec<String>), String> {
    let (shaped, rename_changes) = apply_renames(from, to, renames)?;
    let (changes, hints) = diff(&shaped, to, rename_changes);
    Ok((shaped, changes, hints))
}

/// The changes PostgreSQL would refuse because a view uses what they drop or retype
/// (`from.view_uses`): one line each, naming the view. Tables renamed by `renames` are
/// followed; drops count only when they are written (`destructive`).
#[must_use]
pub fn blocked_by_views(
    from: &Schema,
    changes: &[Change],
    renames: &Renames,
    destructive: bool,
) -> Vec<String> {
    let table_now = |t: &str| {
        renames
            .tables
            .iter()
            .find(|(old, _)| old == t)
            .map_or_else(|| t.to_owned(), |(_, new)| new.clone())
    };
    let views = |table: &str, column: Option<&str>| -> Vec<String> {
        let mut v: Vec<String> = from
            .view_uses
            .iter()
            .filter(|u| {
                table_now(&u.table) == table
                    && column.is_none_or(|c| u.column.eq_ignore_ascii_case(c))
            })
            .map(|u| u.view.clone())
            .collect();
        v.dedup();
        v
    };
    let mut out = Vec::new();
    for c in changes {
        let (what, used) = match c {
            Change::DropTable(t) if destructive => (format!("drop table {t}"), views(t, None)),
            Change::DropColumn { table, column } if destructive => (
                format!("drop column {table}.{column}"),
                views(table, Some(column)),
            ),
            Change::AlterColumn {
                table,
                column,
                what,
            } if what.iter().any(|w| w.starts_with("type ")) => (
                format!("change the type of {table}.{column}"),
                views(table, Some(column)),
            ),
            _ => continue,
        };
        if !used.is_empty() {
            out.push(format!("{what}: used by view(s) {}", used.join(", ")));
        }
    }
    out
}

/// The schema an upgrade that leaves its drops out (`--no-destructive`) brings `before` to:
/// `desired`, plus the tables, columns and enum types that `dropped` (the changes left out)
/// would have dropped, as `before` has them. `before` is the live schema renamed the way
/// the models name things (what [`compare`] returns). The rollback starts from here, so it
/// never makes again what is still there.
#[must_use]
pub fn kept_after(before: &Schema, desired: &Schema, dropped: &[Change]) -> Schema {
    let mut s = desired.clone();
    for c in dropped {
        match c {
            Change::DropTable(t) => {
                if let Some(table) = before.tables.get(t) {
                    s.push(table.clone());
                    for (key, seq) in &before.sequences {
                        if &key.0 == t {
                            s.sequences.insert(key.clone(), seq.clone());
                        }
                    }
                }
            }
            Change::DropColumn { table, column } => {
                let old = before.tables.get(table).and_then(|t| t.column(column));
                if let (Some(col), Some(t)) = (old, s.tables.get_mut(table)) {
                    t.columns.push(col.clone());
                    let key = (table.clone(), col.name.clone());
                    if let Some(seq) = before.sequences.get(&key) {
                        s.sequences.insert(key, seq.clone());
                    }
                }
            }
            Change::DropEnum(name) => {
                if let Some(labels) = before.enums.get(name) {
                    s.enums.insert(name.clone(), labels.clone());
                }
            }
            _ => {}
        }
    }
    s
}

/// Column `old` is `new` in the table's keys, constraints and indexes.
fn rename_in_constraints(t: &mut Table, old: &str, new: &str) {
    let swap = |cols: &mut Vec<String>| {
        for c in cols {
            if c == old {
                new.clone_into(c);
            }
        }
    };
    swap(&mut t.primary_key);
    for u in &mut t.uniques {
        swap(&mut u.columns);
    }
    for fk in &mut t.foreign_keys {
        swap(&mut fk.columns);
    }
    // The database renames it inside index definitions too. CHECKs are left as read: on
    // MariaDB a column's own CHECK keeps its first (column) name after the rename, and the
    // plan writes it again under the models' name.
    for i in &mut t.indexes {
        i.definition = super::rename_word(&i.definition, old, new);
    }
}

fn table_changes(from: &Table, to: &Table, changes: &mut Vec<Change>, hints: &mut Vec<String>) {
    let table = &to.name;
    let added: Vec<&Column> = to
        .columns
        .iter()
        .filter(|c| from.column(&c.name).is_none())
        .collect();
    let dropped: Vec<&Column> = from
        .columns
        .iter()
        .filter(|c| to.column(&c.name).is_none())
        .collect();
    for c in &dropped {
        changes.push(Change::DropColumn {
            table: table.clone(),
            column: c.name.clone(),
        });
    }
    for c in &added {
        changes.push(Change::AddColumn {
            table: table.clone(),
            column: c.name.clone(),
        });
    }
    if let ([gone], [new]) = (dropped.as_slice(), added.as_slice())
        && gone.data_type == new.data_type
    {
        hints.push(format!(
            "{table} loses {} and gains {} of the same type: if it is a rename, run again with --rename {table}.{}:{} (as written, the column's data is dropped)",
            gone.name, new.name, gone.name, new.name
        ));
    }
    for c in &to.columns {
        let Some(old) = from.column(&c.name) else {
            continue;
        };
        let mut what = Vec::new();
        if old.data_type != c.data_type {
            what.push(format!("type {} -> {}", old.data_type, c.data_type));
        }
        if old.nullable != c.nullable {
            what.push(
                if c.nullable {
                    "NULL allowed"
                } else {
                    "NOT NULL"
                }
                .to_owned(),
            );
        }
        if old.default != c.default {
            what.push(format!(
                "default {} -> {}",
                old.default.as_deref().unwrap_or("none"),
                c.default.as_deref().unwrap_or("none")
            ));
        }
        if old.generated != c.generated {
            what.push("generated expression".to_owned());
        }
        if old.identity != c.identity {
            what.push(
                if c.identity {
                    "identity added"
                } else {
                    "identity removed"
                }
                .to_owned(),
            );
        }
        if !what.is_empty() {
            changes.push(Change::AlterColumn {
                table: table.clone(),
                column: c.name.clone(),
                what,
            });
        }
    }
    constraint_changes(from, to, changes);
    index_changes(from, to, changes);
}

/// Keys, UNIQUE, CHECK and FOREIGN KEY constraints and table options, in one change.
fn constraint_changes(from: &Table, to: &Table, changes: &mut Vec<Change>) {
    let table = &to.name;
    let mut what = Vec::new();
    if from.primary_key != to.primary_key {
        what.push(format!(
            "primary key ({}) -> ({})",
            from.primary_key.join(", "),
            to.primary_key.join(", ")
        ));
    }
    let cols = |u: &super::Unique| u.columns.join(", ");
    let from_u: BTreeSet<String> = from.uniques.iter().map(cols).collect();
    let to_u: BTreeSet<String> = to.uniques.iter().map(cols).collect();
    for u in to_u.difference(&from_u) {
        what.push(format!("add UNIQUE ({u})"));
    }
    for u in from_u.difference(&to_u) {
        what.push(format!("drop UNIQUE ({u})"));
    }
    let from_c: BTreeSet<&str> = from.checks.iter().map(|c| c.expression.as_str()).collect();
    let to_c: BTreeSet<&str> = to.checks.iter().map(|c| c.expression.as_str()).collect();
    for c in to_c.difference(&from_c) {
        what.push(format!("add CHECK ({c})"));
    }
    for c in from_c.difference(&to_c) {
        what.push(format!("drop CHECK ({c})"));
    }
    let fk = |f: &super::ForeignKey| {
        format!(
            "({}) REFERENCES {} ({}) ON DELETE {} ON UPDATE {}",
            f.columns.join(", "),
            f.ref_table,
            f.ref_columns.join(", "),
            f.on_delete,
            f.on_update
        )
    };
    let from_f: BTreeSet<String> = from.foreign_keys.iter().map(fk).collect();
    let to_f: BTreeSet<String> = to.foreign_keys.iter().map(fk).collect();
    for f in to_f.difference(&from_f) {
        what.push(format!("add FOREIGN KEY {f}"));
    }
    for f in from_f.difference(&to_f) {
        what.push(format!("drop FOREIGN KEY {f}"));
    }
    if !from.options.eq_ignore_ascii_case(&to.options) {
        what.push(format!(
            "table options '{}' -> '{}'",
            from.options, to.options
        ));
    }
    if !what.is_empty() {
        changes.push(Change::Constraints {
            table: table.clone(),
            what,
        });
    }
}

/// A name the database made up for an index it added itself: MySQL adds one for a foreign
/// key that has none, named after the constraint or after its first column (`col_2`,
/// `col_3`... when taken), so a database built by `CREATE TABLE` and one built by `ALTER
/// TABLE` name the same index differently.
fn made_up_name(t: &Table, name: &str) -> bool {
    let base = name
        .rsplit_once('_')
        .filter(|(_, n)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        .map_or(name, |(b, _)| b);
    t.foreign_keys.iter().any(|f| {
        f.name.as_deref() == Some(name) || f.columns.first().is_some_and(|c| c == name || c == base)
    })
}

/// Indexes: the same name and definition; or the same definition where one of the names is
/// one the database made up ([`made_up_name`]). Any other change of name (an index renamed
/// in the models) is a drop and a create (which the PostgreSQL and MySQL plans write as a
/// rename).
fn index_changes(from: &Table, to: &Table, changes: &mut Vec<Change>) {
    let table = &to.name;
    let mut unmatched_from: Vec<&super::Index> = Vec::new();
    let mut unmatched_to: Vec<&super::Index> = to.indexes.iter().collect();
    for i in &from.indexes {
        if let Some(pos) = unmatched_to
            .iter()
            .position(|j| j.name == i.name && j.definition == i.definition && j.unique == i.unique)
        {
            unmatched_to.remove(pos);
        } else {
            unmatched_from.push(i);
        }
    }
    unmatched_from.retain(|i| {
        match unmatched_to.iter().position(|j| {
            j.definition == i.definition
                && j.unique == i.unique
                && (made_up_name(from, &i.name) || made_up_name(to, &j.name))
        }) {
            Some(pos) => {
                unmatched_to.remove(pos);
                false
            }
            None => true,
        }
    });
    for i in unmatched_from {
        changes.push(Change::DropIndex {
            table: table.clone(),
            index: i.name.clone(),
        });
    }
    for i in unmatched_to {
        changes.push(Change::CreateIndex {
            table: table.clone(),
            index: i.name.clone(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Column, Index};

    fn col(name: &str, ty: &str) -> Column {
        Column {
            name: name.into(),
            data_type: ty.into(),
            nullable: true,
            ..Column::default()
        }
    }

    fn schema(tables: Vec<Table>) -> Schema {
        let mut s = Schema::default();
        for t in tables {
            s.push(t);
        }
        s
    }

    fn users(cols: Vec<Column>) -> Table {
        Table {
            name: "users".into(),
            columns: cols,
            primary_key: vec!["id".into()],
            ..Table::default()
        }
    }

    #[test]
    fn what_no_destructive_leaves_out_stays_and_the_way_back_does_not_make_it_again() {
        let before = schema(vec![
            users(vec![col("id", "INTEGER"), col("nick", "TEXT")]),
            Table {
                name: "scratch".into(),
                ..users(vec![col("id", "INTEGER")])
            },
        ]);
        let desired = schema(vec![users(vec![col("id", "INTEGER")])]);
        let (_, changes, _) = compare(&before, &desired, &Renames::default()).unwrap();
        let dropped: Vec<Change> = changes.into_iter().filter(Change::destructive).collect();
        assert_eq!(dropped.len(), 2, "{dropped:?}");
        let kept = kept_after(&before, &desired, &dropped);
        assert_eq!(kept, before);
        assert_eq!(
            compare(&kept, &before, &Renames::default()).unwrap().1,
            vec![]
        );
        assert_eq!(kept_after(&before, &desired, &[]), desired);
    }

    #[test]
    fn drops_and_type_changes_of_what_a_view_uses_are_blocked() {
        let mut before = schema(vec![users(vec![
            col("id", "INTEGER"),
            col("nick", "TEXT"),
            col("age", "INTEGER"),
        ])]);
        before.view_uses.push(crate::schema::ViewUse {
            view: "nicks".into(),
            table: "users".into(),
            column: "nick".into(),
        });
        let mut age_text = col("age", "TEXT");
        age_text.nullable = true;
        let after = schema(vec![users(vec![col("id", "INTEGER"), age_text.clone()])]);
        let (_, changes, _) = compare(&before, &after, &Renames::default()).unwrap();
        let blocked = blocked_by_views(&before, &changes, &Renames::default(), true);
        assert_eq!(
            blocked,
            vec!["drop column users.nick: used by view(s) nicks".to_owned()]
        );
        // Left out by --no-destructive: nothing to refuse.
        assert!(blocked_by_views(&before, &changes, &Renames::default(), false).is_empty());
        // A type change of a used column.
        before.view_uses[0].column = "age".into();
        let blocked = blocked_by_views(&before, &changes, &Renames::default(), true);
        assert_eq!(
            blocked,
            vec!["change the type of users.age: used by view(s) nicks".to_owned()]
        );
        // A table renamed with --rename-table and then dropped column still counts.
        before.view_uses[0].column = "nick".into();
        let mut renamed_after = after.clone();
        let mut t = renamed_after.tables.remove("users").unwrap();
        t.name = "people".into();
        renamed_after.tables.clear();
        renamed_after.order.clear();
        renamed_after.push(t);
        let r = Renames::parse(&[], &["users:people".into()]).unwrap();
        let (_, changes, _) = compare(&before, &renamed_after, &r).unwrap();
        let blocked = blocked_by_views(&before, &changes, &r, true);
        assert_eq!(
            blocked,
            vec!["drop column people.nick: used by view(s) nicks".to_owned()]
        );
    }

    #[test]
    fn equal_schemas_have_no_changes() {
        let a = schema(vec![users(vec![col("id", "INTEGER")])]);
        assert_eq!(compare(&a, &a, &Renames::default()).unwrap().1, vec![]);
    }

    #[test]
    fn lost_and_gained_column_of_one_type_hints_the_rename_flag() {
        let a = schema(vec![users(vec![col("id", "INTEGER"), col("name", "TEXT")])]);
        let b = schema(vec![users(vec![
            col("id", "INTEGER"),
            col("full_name", "TEXT"),
        ])]);
        let (_, changes, hints) = compare(&a, &b, &Renames::default()).unwrap();
        assert_eq!(changes.len(), 2);
        assert!(changes[0].destructive());
        assert!(
            hints[0].contains("--rename users.name:full_name"),
            "{hints:?}"
        );
        let r = Renames::parse(&["users.name:full_name".into()], &[]).unwrap();
        let (_, changes, hints) = compare(&a, &b, &r).unwrap();
        assert_eq!(
            changes,
            vec![Change::RenameColumn {
                table: "users".into(),
                from: "name".into(),
                to: "full_name".into()
            }]
        );
        assert!(hints.is_empty());
    }

    #[test]
    fn indexes_match_by_definition_only_when_the_database_made_up_a_name() {
        let ix = |name: &str, def: &str| Index {
            name: name.into(),
            unique: false,
            definition: def.into(),
            create_sql: String::new(),
        };
        let fk = |name: Option<&str>, col: &str| crate::schema::ForeignKey {
            name: name.map(str::to_owned),
            columns: vec![col.into()],
            ref_table: "teams".into(),
            ref_columns: vec!["id".into()],
            on_delete: "NO ACTION".into(),
            on_update: "NO ACTION".into(),
        };
        let changed = |a: Table, b: Table| -> Vec<(String, String, bool)> {
            compare(&schema(vec![a]), &schema(vec![b]), &Renames::default())
                .unwrap()
                .1
                .into_iter()
                .map(|c| match c {
                    Change::DropIndex { table, index } => (table, index, false),
                    Change::CreateIndex { table, index } => (table, index, true),
                    other => panic!("{other:?}"),
                })
                .collect()
        };
        let mut a = users(vec![col("id", "INTEGER"), col("team_id", "INTEGER")]);
        a.foreign_keys = vec![fk(Some("fk_team"), "team_id")];
        // MySQL's own names for a foreign key's index: after the column (`_2` when taken)
        // or the constraint. Each matches the models' index of the same definition.
        for made_up in ["team_id", "team_id_2", "fk_team"] {
            let mut live = a.clone();
            live.indexes = vec![ix(made_up, "(team_id)")];
            let mut models = a.clone();
            models.indexes = vec![ix("ix_users_team_id", "(team_id)")];
            assert_eq!(changed(live.clone(), models.clone()), vec![], "{made_up}");
            assert_eq!(changed(models, live), vec![], "{made_up}");
        }
        // An index renamed in the models: dropped and created (a rename in two plans).
        let mut live = a.clone();
        live.indexes = vec![ix("ix_old", "(id)"), ix("b", "(lower(x))")];
        let mut models = a.clone();
        models.indexes = vec![ix("ix_new", "(id)"), ix("b", "(upper(x))")];
        assert_eq!(
            changed(live, models),
            vec![
                ("users".into(), "ix_old".into(), false),
                ("users".into(), "b".into(), false),
                ("users".into(), "ix_new".into(), true),
                ("users".into(), "b".into(), true),
            ]
        );
    }

    #[test]
    fn a_renamed_column_is_renamed_in_indexes_and_in_other_tables_foreign_keys() {
        let ix = |def: &str| Index {
            name: "ix_users_name".into(),
            unique: false,
            definition: def.into(),
            create_sql: String::new(),
        };
        let child = |col: &str| Table {
            name: "posts".into(),
            columns: vec![col_named("id"), col_named("author")],
            primary_key: vec!["id".into()],
            foreign_keys: vec![crate::schema::ForeignKey {
                name: None,
                columns: vec!["author".into()],
                ref_table: "users".into(),
                ref_columns: vec![col.into()],
                on_delete: "CASCADE".into(),
                on_update: "NO ACTION".into(),
            }],
            ..Table::default()
        };
        let mut a = users(vec![col("id", "INTEGER"), col("name", "TEXT")]);
        a.indexes = vec![ix("(lower(name))")];
        let mut b = users(vec![col("id", "INTEGER"), col("title", "TEXT")]);
        b.indexes = vec![ix("(lower(title))")];
        let r = Renames::parse(&["users.name:title".into()], &[]).unwrap();
        let (_, changes, _) = compare(
            &schema(vec![a, child("name")]),
            &schema(vec![b, child("title")]),
            &r,
        )
        .unwrap();
        assert_eq!(
            changes,
            vec![Change::RenameColumn {
                table: "users".into(),
                from: "name".into(),
                to: "title".into()
            }]
        );
    }

    #[test]
    fn a_renamed_tables_serial_default_and_sequence_follow_it() {
        let mut notes = users(vec![col("id", "INTEGER")]);
        notes.name = "notes".into();
        notes.columns[0].default = Some(crate::schema::serial_default("notes", "id"));
        let mut memos = notes.clone();
        memos.name = "memos".into();
        memos.columns[0].default = Some(crate::schema::serial_default("memos", "id"));
        let mut live = schema(vec![notes]);
        live.sequences
            .insert(("notes".into(), "id".into()), "notes_id_seq".into());
        let r = Renames::parse(&[], &["notes:memos".into()]).unwrap();
        let (shaped, changes, _) = compare(&live, &schema(vec![memos]), &r).unwrap();
        assert_eq!(
            changes,
            vec![Change::RenameTable {
                from: "notes".into(),
                to: "memos".into()
            }]
        );
        assert_eq!(
            shaped.sequences.get(&("memos".to_owned(), "id".to_owned())),
            Some(&"notes_id_seq".to_owned())
        );
    }

    fn col_named(name: &str) -> Column {
        col(name, "INTEGER")
    }

    #[test]
    fn bad_rename_values_are_refused_with_the_form() {
        assert!(
            Renames::parse(&["users:x".into()], &[])
                .unwrap_err()
                .contains("TABLE.OLD:NEW")
        );
        assert!(
            Renames::parse(&[], &["x".into()])
                .unwrap_err()
                .contains("OLD:NEW")
        );
    }
}
