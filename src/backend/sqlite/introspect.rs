//! Reading a SQLite database's schema (`make-migrations`): tables from `sqlite_master`,
//! columns, keys, indexes and foreign keys from the `pragma_*` table functions, CHECK
//! constraints and generated columns from the `CREATE TABLE` text SQLite keeps. Written over
//! [`Backend`], so the live database and the scratch one are read by the same code.

use crate::backend::{Backend, DbError, Value, int_at as int, text_at as text};
use crate::schema::{
    CheckConstraint, Column, ForeignKey, Index, Schema, Table, Unique, normalize_sql, sql as ddl,
    strip_outer_parens, unquote_simple_names,
};
use crate::tables::{LEASE_TABLE, LOCK_TABLE, MIGRATIONS_TABLE};

/// Every table of the database but jetbase's own and SQLite's.
///
/// # Errors
/// A query fails.
pub async fn schema(db: &mut dyn Backend) -> Result<Schema, DbError> {
    let objects = db
        .query(
            "SELECT type, name, tbl_name, sql FROM sqlite_master \
             WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid",
            &[],
        )
        .await?;
    let mut out = Schema::default();
    for row in objects.iter().filter(|r| text(r, 0) == "table") {
        let name = text(row, 1);
        if [MIGRATIONS_TABLE, LOCK_TABLE, LEASE_TABLE].contains(&name.as_str()) {
            continue;
        }
        let create = text(row, 3);
        let mut table = table(db, &name, &create).await?;
        for obj in &objects {
            if text(obj, 2) != name {
                continue;
            }
            match text(obj, 0).as_str() {
                "trigger" => table.triggers.push((text(obj, 1), text(obj, 3))),
                "index" if !text(obj, 3).is_empty() => {
                    if let Some(i) = table.indexes.iter_mut().find(|i| i.name == text(obj, 1)) {
                        i.create_sql = text(obj, 3);
                        i.definition = index_definition(&i.create_sql);
                    }
                }
                _ => {}
            }
        }
        out.push(table);
    }
    out.views = objects
        .iter()
        .filter(|r| text(r, 0) == "view")
        .map(|r| (text(r, 1), text(r, 3)))
        .collect();
    Ok(out)
}

async fn table(db: &mut dyn Backend, name: &str, create: &str) -> Result<Table, DbError> {
    let (elements, options) = ddl::table_elements(create).unwrap_or_default();
    let (columns, primary_key) = columns(db, name, &elements).await?;
    let (uniques, indexes) = indexes(db, name).await?;
    let foreign_keys = foreign_keys(db, name).await?;
    let checks = ddl::checks(&elements)
        .into_iter()
        .map(|(name, expression)| CheckConstraint {
            name,
            expression: normalize_expression(&expression),
        })
        .collect();
    Ok(Table {
        name: name.to_owned(),
        columns,
        primary_key,
        primary_key_name: None,
        uniques,
        checks,
        foreign_keys,
        indexes,
        create_sql: Some(create.to_owned()),
        triggers: Vec::new(),
        options: options
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_ascii_uppercase(),
    })
}

/// The columns of a table (their definitions from its `elements`) and its primary key.
async fn columns(
    db: &mut dyn Backend,
    name: &str,
    elements: &[String],
) -> Result<(Vec<Column>, Vec<String>), DbError> {
    let definition = |col: &str| {
        elements
            .iter()
            .find(|e| !ddl::is_table_constraint(e) && ddl::first_name(e).eq_ignore_ascii_case(col))
            .cloned()
    };
    let mut pk: Vec<(i64, String)> = Vec::new();
    let mut columns = Vec::new();
    for r in db
        .query(
            "SELECT cid, name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?) ORDER BY cid",
            &[Value::from(name)],
        )
        .await?
    {
        let col = text(&r, 1);
        let def = definition(&col);
        let upper_def = def.as_deref().unwrap_or("").to_ascii_uppercase();
        if int(&r, 5) > 0 {
            pk.push((int(&r, 5), col.clone()));
        }
        let hidden = int(&r, 6);
        let generated = (hidden == 2 || hidden == 3).then(|| {
            let expr = def.as_deref().map(generated_expression).unwrap_or_default();
            (expr, hidden == 3)
        });
        let default = r
            .get(4)
            .and_then(Value::as_text)
            .map(|d| normalize_sql(strip_outer_parens(&d)));
        columns.push(Column {
            name: col,
            data_type: normalize_type(&text(&r, 2)),
            // A key column counts as NOT NULL however it was declared.
            nullable: int(&r, 3) == 0 && int(&r, 5) == 0,
            default,
            generated,
            identity: upper_def.contains("AUTOINCREMENT"),
            definition: def,
        });
    }
    pk.sort();
    Ok((columns, pk.into_iter().map(|(_, c)| c).collect()))
}

/// The UNIQUE constraints and the `CREATE INDEX` indexes of a table (their statements are
/// filled in by the caller from `sqlite_master`).
async fn indexes(db: &mut dyn Backend, name: &str) -> Result<(Vec<Unique>, Vec<Index>), DbError> {
    let mut uniques = Vec::new();
    let mut indexes = Vec::new();
    for r in db
        .query(
            "SELECT name, \"unique\", origin FROM pragma_index_list(?) ORDER BY seq",
            &[Value::from(name)],
        )
        .await?
    {
        let index = text(&r, 0);
        match text(&r, 2).as_str() {
            "u" => {
                let cols = db
                    .query(
                        "SELECT name FROM pragma_index_info(?) ORDER BY seqno",
                        &[Value::from(index.as_str())],
                    )
                    .await?;
                uniques.push(Unique {
                    name: None,
                    columns: cols.iter().map(|c| text(c, 0)).collect(),
                });
            }
            "c" => indexes.push(Index {
                name: index,
                unique: int(&r, 1) == 1,
                definition: String::new(),
                create_sql: String::new(),
            }),
            _ => {}
        }
    }
    uniques.sort_by(|a, b| a.columns.cmp(&b.columns));
    Ok((uniques, indexes))
}

/// The foreign keys of a table, with the parent's key filled in where the statement named
/// none.
async fn foreign_keys(db: &mut dyn Backend, name: &str) -> Result<Vec<ForeignKey>, DbError> {
    let mut fks: Vec<(i64, ForeignKey)> = Vec::new();
    for r in db
        .query(
            "SELECT id, seq, \"table\", \"from\", \"to\", on_update, on_delete FROM pragma_foreign_key_list(?) ORDER BY id, seq",
            &[Value::from(name)],
        )
        .await?
    {
        let id = int(&r, 0);
        let to = r.get(4).and_then(Value::as_text);
        match fks.iter_mut().find(|(i, _)| *i == id) {
            Some((_, fk)) => {
                fk.columns.push(text(&r, 3));
                fk.ref_columns.extend(to);
            }
            None => fks.push((
                id,
                ForeignKey {
                    name: None,
                    columns: vec![text(&r, 3)],
                    ref_table: text(&r, 2),
                    ref_columns: to.into_iter().collect(),
                    on_delete: text(&r, 6).to_ascii_uppercase(),
                    on_update: text(&r, 5).to_ascii_uppercase(),
                },
            )),
        }
    }
    let mut foreign_keys: Vec<ForeignKey> = fks.into_iter().map(|(_, f)| f).collect();
    for fk in &mut foreign_keys {
        if fk.ref_columns.is_empty() {
            let parent = db
                .query(
                    "SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk",
                    &[Value::from(fk.ref_table.as_str())],
                )
                .await?;
            fk.ref_columns = parent.iter().map(|p| text(p, 0)).collect();
        }
    }
    foreign_keys.sort_by(|a, b| a.columns.cmp(&b.columns));
    Ok(foreign_keys)
}

/// A declared type upper-cased with single spaces and none before `(`.
fn normalize_type(t: &str) -> String {
    t.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_uppercase()
        .replace(" (", "(")
        .replace("( ", "(")
        .replace(" )", ")")
        .replace(" ,", ",")
        .replace(", ", ",")
}

/// An expression with its simple quoted names unquoted and spaces normalised.
fn normalize_expression(e: &str) -> String {
    normalize_sql(&unquote_simple_names(strip_outer_parens(e), &['"', '`']))
}

/// What an index covers and where: the text from its column list on, normalised.
fn index_definition(create: &str) -> String {
    let upper = create.to_ascii_uppercase();
    // After ` ON <table>`: the first `(` outside quotes from there.
    let from = upper.find(" ON ").map_or(0, |p| p + 4);
    let rest = &create[from..];
    let mut quote: Option<char> = None;
    for (at, ch) in rest.char_indices() {
        if let Some(q) = quote {
            if ch == q {
                quote = None;
            }
            continue;
        }
        match ch {
            '"' | '`' | '\'' => quote = Some(ch),
            '[' => quote = Some(']'),
            '(' => return normalize_expression_keep_parens(&rest[at..]),
            _ => {}
        }
    }
    normalize_sql(create)
}

fn normalize_expression_keep_parens(e: &str) -> String {
    normalize_sql(&unquote_simple_names(e, &['"', '`']))
}

/// The expression of a generated column's definition (`... AS (expr) STORED`).
fn generated_expression(def: &str) -> String {
    let words = ddl::tokens(def);
    words
        .iter()
        .position(|w| w.eq_ignore_ascii_case("AS"))
        .and_then(|p| words.get(p + 1))
        .map(|e| normalize_expression(e))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_compare_by_spelling_not_spacing() {
        assert_eq!(normalize_type("varchar (255)"), "VARCHAR(255)");
        assert_eq!(normalize_type("NUMERIC(10, 2)"), "NUMERIC(10,2)");
    }

    #[test]
    fn simple_quoted_names_lose_their_quotes_strings_do_not() {
        assert_eq!(
            unquote_simple_names("\"email\" = 'a\"b\"'", &['"', '`']),
            "email = 'a\"b\"'"
        );
        assert_eq!(
            unquote_simple_names("\"my col\" > 0", &['"', '`']),
            "\"my col\" > 0"
        );
    }

    #[test]
    fn index_definition_is_the_part_after_the_table() {
        assert_eq!(
            index_definition(
                "CREATE INDEX \"ix(a\" ON \"users\" (lower(\"email\"))  WHERE active = 1"
            ),
            "(lower(email)) WHERE active = 1"
        );
    }

    #[test]
    fn generated_expression_read_from_the_definition() {
        assert_eq!(
            generated_expression("total INTEGER GENERATED ALWAYS AS (price * qty) STORED"),
            "price * qty"
        );
    }
}
