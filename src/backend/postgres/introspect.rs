//! Reading a PostgreSQL schema (`make-migrations`): the session's `current_schema()` from
//! `pg_catalog`, with the server's own renderings (`format_type`, `pg_get_expr`,
//! `pg_get_constraintdef`, `pg_get_indexdef`), so two schemas made by the same DDL read the
//! same. Names are printed unqualified when the schema is on the `search_path`, which the
//! caller makes sure of for the scratch schema too.

use std::collections::BTreeMap;

use crate::backend::{Backend, DbError, Row, Value, text_at as text};
use crate::schema::sql::quote;
use crate::schema::{
    CheckConstraint, Column, ForeignKey, Index, Schema, Table, Unique, ViewUse, normalize_sql,
    strip_outer_parens,
};
use crate::tables::{LEASE_TABLE, LOCK_TABLE, MIGRATIONS_TABLE};

/// The separator of names aggregated into one text (a control character no name holds).
const SEP: char = '\u{1f}';

fn list(row: &Row, i: usize) -> Vec<String> {
    let t = text(row, i);
    if t.is_empty() {
        Vec::new()
    } else {
        t.split(SEP).map(str::to_owned).collect()
    }
}

/// `a`, `r`, `c`, `n`, `d` of `pg_constraint.confdeltype` as SQL.
fn action(code: &str) -> String {
    match code {
        "r" => "RESTRICT",
        "c" => "CASCADE",
        "n" => "SET NULL",
        "d" => "SET DEFAULT",
        _ => "NO ACTION",
    }
    .to_owned()
}

const TABLES: &str = "SELECT c.oid::bigint, c.relname FROM pg_class c \
    JOIN pg_namespace n ON n.oid = c.relnamespace \
    WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') ORDER BY c.oid";

const COLUMNS: &str = "SELECT a.attrelid::bigint, a.attname, format_type(a.atttypid, a.atttypmod), \
    a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, a.attgenerated::text, \
    (SELECT s.relname FROM pg_depend dep JOIN pg_class s ON s.oid = dep.objid \
     WHERE dep.classid = 'pg_class'::regclass AND dep.refclassid = 'pg_class'::regclass \
     AND dep.refobjid = a.attrelid AND dep.refobjsubid = a.attnum AND dep.deptype = 'a' \
     AND s.relkind = 'S' LIMIT 1) \
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
    JOIN pg_namespace n ON n.oid = c.relnamespace \
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
    WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND a.attnum > 0 \
    AND NOT a.attisdropped ORDER BY a.attrelid, a.attnum";

const CONSTRAINTS: &str = "SELECT con.conrelid::bigint, con.conname, con.contype::text, \
    pg_get_constraintdef(con.oid), \
    (SELECT string_agg(a.attname, chr(31) ORDER BY k.ord) FROM unnest(con.conkey) WITH ORDINALITY k(att, ord) \
     JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.att), \
    cf.relname, \
    (SELECT string_agg(a.attname, chr(31) ORDER BY k.ord) FROM unnest(con.confkey) WITH ORDINALITY k(att, ord) \
     JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.att), \
    con.confdeltype::text, con.confupdtype::text \
    FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace \
    LEFT JOIN pg_class cf ON cf.oid = con.confrelid \
    WHERE n.nspname = current_schema() AND con.contype IN ('p', 'u', 'c', 'f') \
    ORDER BY con.conrelid, con.conname";

const INDEXES: &str = "SELECT i.indrelid::bigint, ic.relname, i.indisunique, pg_get_indexdef(i.indexrelid) \
    FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid \
    JOIN pg_namespace n ON n.oid = ic.relnamespace \
    WHERE n.nspname = current_schema() AND NOT EXISTS (SELECT 1 FROM pg_constraint c \
    WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x')) ORDER BY ic.relname";

const ENUMS: &str = "SELECT t.typname, string_agg(e.enumlabel, chr(31) ORDER BY e.enumsortorder) \
    FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid \
    JOIN pg_namespace n ON n.oid = t.typnamespace \
    WHERE n.nspname = current_schema() GROUP BY t.typname";

/// The views (and materialized views, of any schema) that use the current schema's tables
/// and their columns, from the dependencies PostgreSQL keeps for their rewrite rules.
const VIEW_USES: &str = "SELECT DISTINCT CASE WHEN vn.nspname = current_schema() THEN v.relname \
    ELSE vn.nspname || '.' || v.relname END, t.relname, COALESCE(a.attname, '') \
    FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid \
    JOIN pg_class v ON v.oid = r.ev_class JOIN pg_namespace vn ON vn.oid = v.relnamespace \
    JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = t.relnamespace \
    LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid \
    AND d.refobjsubid > 0 \
    WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass \
    AND tn.nspname = current_schema() AND t.relkind IN ('r', 'p') AND v.oid <> t.oid \
    ORDER BY 1, 2, 3";

/// Every table and enum type of the session's current schema but jetbase's own tables.
///
/// # Errors
/// A query fails.
pub async fn schema(db: &mut dyn Backend) -> Result<Schema, DbError> {
    let mut by_oid: BTreeMap<i64, Table> = BTreeMap::new();
    let mut order = Vec::new();
    for r in db.query(TABLES, &[]).await? {
        let name = text(&r, 1);
        if [MIGRATIONS_TABLE, LOCK_TABLE, LEASE_TABLE].contains(&name.as_str()) {
            continue;
        }
        let oid = r.first().and_then(Value::as_i64).unwrap_or(0);
        order.push(oid);
        by_oid.insert(
            oid,
            Table {
                name,
                ..Table::default()
            },
        );
    }
    let sequences = columns(db, &mut by_oid).await?;
    constraints(db, &mut by_oid).await?;
    indexes(db, &mut by_oid).await?;
    let mut out = Schema {
        sequences,
        ..Schema::default()
    };
    for oid in order {
        if let Some(mut t) = by_oid.remove(&oid) {
            t.uniques.sort_by(|a, b| a.columns.cmp(&b.columns));
            t.foreign_keys.sort_by(|a, b| a.columns.cmp(&b.columns));
            out.push(t);
        }
    }
    for r in db.query(ENUMS, &[]).await? {
        out.enums.insert(text(&r, 0), list(&r, 1));
    }
    for r in db.query(VIEW_USES, &[]).await? {
        out.view_uses.push(ViewUse {
            view: text(&r, 0),
            table: text(&r, 1),
            column: text(&r, 2),
        });
    }
    Ok(out)
}

/// The column as `CREATE TABLE` and `ADD COLUMN` write it: a serial column (an integer
/// whose default is its own `<table>_<column>_seq`) as `SERIAL`, identity and generated
/// columns with their clauses.
fn definition(table: &str, c: &Column, identity: &str) -> String {
    let name = quote(&c.name);
    let own_sequence = crate::schema::serial_default(table, &c.name);
    let serial = match c.data_type.as_str() {
        "integer" => Some("SERIAL"),
        "bigint" => Some("BIGSERIAL"),
        "smallint" => Some("SMALLSERIAL"),
        _ => None,
    }
    .filter(|_| c.default.as_deref().is_some_and(|d| d == own_sequence));
    let mut out = match serial {
        Some(s) => format!("{name} {s}"),
        None => format!("{name} {}", c.data_type),
    };
    match identity {
        "a" => out.push_str(" GENERATED ALWAYS AS IDENTITY"),
        "d" => out.push_str(" GENERATED BY DEFAULT AS IDENTITY"),
        _ => {}
    }
    if let Some((expr, _)) = &c.generated {
        out.push_str(&format!(" GENERATED ALWAYS AS ({expr}) STORED"));
    }
    if !c.nullable {
        out.push_str(" NOT NULL");
    }
    if let (None, Some(d)) = (serial, &c.default) {
        out.push_str(&format!(" DEFAULT {d}"));
    }
    out
}

/// A column's default, normalised; a serial column's (the next value of the sequence the
/// column owns) with the sequence named as a fresh `SERIAL` column of this table would name
/// it, `<table>_<column>_seq`: a sequence keeps its name when its table or column is
/// renamed, and two serial columns are the same whatever their sequences are called.
fn serial_default(table: &str, column: &str, owned: Option<&str>, expr: &str) -> String {
    let expr = normalize_sql(expr);
    match owned {
        Some(seq) if expr == crate::schema::nextval(seq) => {
            crate::schema::serial_default(table, column)
        }
        _ => expr,
    }
}

/// Every table's columns; the sequences of the serial ones, by (table, column).
async fn columns(
    db: &mut dyn Backend,
    by_oid: &mut BTreeMap<i64, Table>,
) -> Result<BTreeMap<(String, String), String>, DbError> {
    let mut sequences = BTreeMap::new();
    for r in db.query(COLUMNS, &[]).await? {
        let Some(t) = r
            .first()
            .and_then(Value::as_i64)
            .and_then(|o| by_oid.get_mut(&o))
        else {
            continue;
        };
        let generated = text(&r, 6);
        let expr = r.get(4).and_then(Value::as_text);
        let (default, generated) = if generated == "s" {
            (
                None,
                Some((normalize_expression(&expr.unwrap_or_default()), true)),
            )
        } else {
            let owned = r.get(7).and_then(Value::as_text);
            let default = expr.map(|e| serial_default(&t.name, &text(&r, 1), owned.as_deref(), &e));
            if let Some(seq) = owned
                && default.as_deref()
                    == Some(crate::schema::serial_default(&t.name, &text(&r, 1)).as_str())
            {
                sequences.insert((t.name.clone(), text(&r, 1)), seq);
            }
            (default, None)
        };
        let identity = text(&r, 5);
        let mut column = Column {
            name: text(&r, 1),
            data_type: text(&r, 2),
            nullable: !r.get(3).is_some_and(Value::as_bool),
            default,
            generated,
            identity: !identity.is_empty(),
            definition: None,
        };
        column.definition = Some(definition(&t.name, &column, &identity));
        t.columns.push(column);
    }
    Ok(sequences)
}

/// Keys, UNIQUE, CHECK and FOREIGN KEY constraints.
async fn constraints(
    db: &mut dyn Backend,
    by_oid: &mut BTreeMap<i64, Table>,
) -> Result<(), DbError> {
    for r in db.query(CONSTRAINTS, &[]).await? {
        let Some(t) = r
            .first()
            .and_then(Value::as_i64)
            .and_then(|o| by_oid.get_mut(&o))
        else {
            continue;
        };
        let name = text(&r, 1);
        let columns = list(&r, 4);
        match text(&r, 2).as_str() {
            "p" => {
                t.primary_key = columns;
                t.primary_key_name = Some(name);
            }
            "u" => t.uniques.push(Unique {
                name: Some(name),
                columns,
            }),
            "c" => {
                let def = text(&r, 3);
                let body = def.strip_prefix("CHECK ").unwrap_or(&def);
                // `NOT VALID` and `NO INHERIT` stay part of the text: they differ in meaning.
                t.checks.push(CheckConstraint {
                    name: Some(name),
                    expression: normalize_expression(body),
                });
            }
            _ => t.foreign_keys.push(ForeignKey {
                name: Some(name),
                columns,
                ref_table: text(&r, 5),
                ref_columns: list(&r, 6),
                on_delete: action(&text(&r, 7)),
                on_update: action(&text(&r, 8)),
            }),
        }
    }
    Ok(())
}

/// Indexes that back no constraint.
async fn indexes(db: &mut dyn Backend, by_oid: &mut BTreeMap<i64, Table>) -> Result<(), DbError> {
    for r in db.query(INDEXES, &[]).await? {
        let Some(t) = r
            .first()
            .and_then(Value::as_i64)
            .and_then(|o| by_oid.get_mut(&o))
        else {
            continue;
        };
        // `pg_get_indexdef` qualifies the table with its schema (the scratch one, on the
        // models' side): the statement is written again without it.
        let name = text(&r, 1);
        let unique = r.get(2).is_some_and(Value::as_bool);
        let definition = index_definition(&text(&r, 3));
        let create_sql = format!(
            "CREATE {}INDEX {} ON {} {definition}",
            if unique { "UNIQUE " } else { "" },
            quote(&name),
            quote(&t.name)
        );
        t.indexes.push(Index {
            name,
            unique,
            definition,
            create_sql,
        });
    }
    Ok(())
}

/// An expression without the parentheses around all of it, spaces normalised.
fn normalize_expression(e: &str) -> String {
    normalize_sql(strip_outer_parens(e))
}

/// What an index covers: its text from ` USING ` on (the part before names the index and
/// the table, qualified or not).
fn index_definition(create: &str) -> String {
    create.find(" USING ").map_or_else(
        || normalize_sql(create),
        |at| normalize_sql(&create[at + 1..]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_definition_leaves_the_table_name_out() {
        assert_eq!(
            index_definition("CREATE INDEX ix ON scratch.users USING btree (lower((email)::text))"),
            index_definition("CREATE INDEX ix ON users USING btree (lower((email)::text))")
        );
    }

    #[test]
    fn a_serial_default_names_the_sequence_a_fresh_column_would_have() {
        // Renamed table: the sequence kept its name.
        assert_eq!(
            serial_default(
                "memos",
                "id",
                Some("notes_id_seq"),
                "nextval('notes_id_seq'::regclass)"
            ),
            "nextval('memos_id_seq'::regclass)"
        );
        assert_eq!(
            serial_default(
                "T",
                "id",
                Some("Old_id_seq"),
                "nextval('\"Old_id_seq\"'::regclass)"
            ),
            "nextval('\"T_id_seq\"'::regclass)"
        );
        // A default on a sequence the column does not own stays as it is.
        assert_eq!(
            serial_default("memos", "id", None, "nextval('shared_seq'::regclass)"),
            "nextval('shared_seq'::regclass)"
        );
        assert_eq!(serial_default("memos", "n", Some("memos_n_seq"), "0"), "0");
    }

    #[test]
    fn actions_read_as_sql() {
        assert_eq!(action("c"), "CASCADE");
        assert_eq!(action("a"), "NO ACTION");
    }
}
