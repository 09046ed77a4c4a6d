//! Reading a MySQL or MariaDB database's schema (`make-migrations`): the connection's
//! current database (`DATABASE()`), from `information_schema` (columns, keys, CHECK and
//! FOREIGN KEY constraints) and `SHOW CREATE TABLE` (each table's statement, its columns'
//! definitions, its indexes' text). Written over [`Backend`], so the live database and the
//! scratch one holding the models' DDL are read by the same code.
//!
//! What is normalised, so that one DDL reads the same on MySQL 8 and MariaDB:
//! - types: `COLUMN_TYPE` upper-cased outside quotes, integer display widths dropped
//!   (`int(11)` is `INT`; MySQL 8 no longer shows them) except `TINYINT(1)` (a boolean) and
//!   `ZEROFILL` columns; MariaDB's `JSON` (a `LONGTEXT` with a `json_valid` CHECK) is `JSON`
//!   and that implicit CHECK is left out;
//! - defaults: MariaDB writes them as SQL (`'x'`, `NULL`, `current_timestamp()`), MySQL as
//!   bare values (`x`, SQL NULL, `CURRENT_TIMESTAMP`) with `DEFAULT_GENERATED` for
//!   expressions; both become SQL with strings quoted, `NULL` as no default and
//!   `CURRENT_TIMESTAMP[(n)]` for the current time (`now()` included). `ON UPDATE` is kept in
//!   the default (`CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP`), so changing it is a
//!   change;
//! - CHECK and generated expressions: outer parentheses dropped, simple `` `names` ``
//!   unquoted, charset introducers (`_utf8mb4'x'`) dropped, spaces normalised. MariaDB's
//!   column-level CHECKs are kept, named after their column as MariaDB names them;
//! - foreign keys: `RESTRICT` is `NO ACTION` (the same thing in InnoDB, and what MariaDB
//!   reports when none was given);
//! - `create_sql` loses its `AUTO_INCREMENT=n` table option (a counter, not the schema).
//!
//! UNIQUE: MySQL keeps a UNIQUE constraint as a unique index, and `CREATE UNIQUE INDEX`
//! makes the same thing. The rule here: a unique index made of whole columns (no prefix
//! length, no expression, no `DESC`, not FULLTEXT/SPATIAL) is a [`Unique`]; any other
//! unique index is an [`Index`] with `unique`. Every other index is reported, including
//! those MySQL makes for a foreign key: both sides of a comparison are read from the same
//! kind of server, so they have the same ones, and [`crate::schema::diff`] matches indexes
//! by definition when their names differ (MySQL names an FK's index after the column or the
//! constraint).
//!
//! Table options (engine, charset, collation) are left out (`Table::options` is empty):
//! SQLAlchemy's DDL names none, so both sides have the server's defaults.

use std::collections::BTreeMap;

use crate::backend::{Backend, DbError, Row, Value, int_at as int, text_at as text};
use crate::schema::{
    CheckConstraint, Column, ForeignKey, Index, Schema, Table, Unique, normalize_sql, sql as ddl,
    strip_outer_parens, unquote_simple_names,
};
use crate::tables::{LEASE_TABLE, LOCK_TABLE, MIGRATIONS_TABLE};

fn opt_text(row: &Row, i: usize) -> Option<String> {
    row.get(i).and_then(Value::as_text)
}

/// The server is MariaDB (its version string says so), not MySQL.
///
/// # Errors
/// The query fails.
pub async fn is_mariadb(db: &mut dyn Backend) -> Result<bool, DbError> {
    let version = db.query("SELECT VERSION()", &[]).await?;
    Ok(version
        .first()
        .is_some_and(|r| text(r, 0).to_ascii_lowercase().contains("mariadb")))
}

/// A name quoted for MySQL.
fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// Rows of `information_schema` grouped by their first column (the table).
type ByTable = BTreeMap<String, Vec<Row>>;

fn by_table(rows: Vec<Row>) -> ByTable {
    let mut out = ByTable::new();
    for r in rows {
        out.entry(text(&r, 0)).or_default().push(r);
    }
    out
}

/// jetbase's own tables, and its scratch ones.
fn is_jetbase_table(name: &str) -> bool {
    [MIGRATIONS_TABLE, LOCK_TABLE, LEASE_TABLE].contains(&name) || name.starts_with("_jetbase_")
}

/// Every table of the connection's current database but jetbase's own, parents before
/// children (by foreign key; name order otherwise).
///
/// # Errors
/// A query fails.
pub async fn schema(db: &mut dyn Backend) -> Result<Schema, DbError> {
    let mariadb = is_mariadb(db).await?;
    let names: Vec<String> = db
        .query(
            "SELECT TABLE_NAME FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
            &[],
        )
        .await?
        .iter()
        .map(|r| text(r, 0))
        .filter(|n| !is_jetbase_table(n))
        .collect();
    let mut columns = by_table(
        db.query(
            "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA, \
             GENERATION_EXPRESSION FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, ORDINAL_POSITION",
            &[],
        )
        .await?,
    );
    let mut stats = by_table(
        db.query(
            "SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SUB_PART, COLLATION, \
             INDEX_TYPE FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() \
             ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX",
            &[],
        )
        .await?,
    );
    let mut checks = check_rows(db, mariadb).await?;
    let mut fks = by_table(
        db.query(
            "SELECT rc.TABLE_NAME, rc.CONSTRAINT_NAME, rc.REFERENCED_TABLE_NAME, \
             rc.UPDATE_RULE, rc.DELETE_RULE, k.COLUMN_NAME, k.REFERENCED_COLUMN_NAME \
             FROM information_schema.REFERENTIAL_CONSTRAINTS rc \
             JOIN information_schema.KEY_COLUMN_USAGE k \
               ON k.CONSTRAINT_SCHEMA = rc.CONSTRAINT_SCHEMA AND k.TABLE_NAME = rc.TABLE_NAME \
              AND k.CONSTRAINT_NAME = rc.CONSTRAINT_NAME \
             WHERE rc.CONSTRAINT_SCHEMA = DATABASE() \
             ORDER BY rc.TABLE_NAME, rc.CONSTRAINT_NAME, k.ORDINAL_POSITION",
            &[],
        )
        .await?,
    );
    let mut tables = Vec::new();
    for name in names {
        let shown = db
            .query(&format!("SHOW CREATE TABLE {}", quote(&name)), &[])
            .await?;
        let create = shown.first().map(|r| text(r, 1)).unwrap_or_default();
        let raw = Raw {
            columns: columns.remove(&name).unwrap_or_default(),
            stats: stats.remove(&name).unwrap_or_default(),
            checks: checks.remove(&name).unwrap_or_default(),
            fks: fks.remove(&name).unwrap_or_default(),
        };
        tables.push(table(&name, &create, &raw, mariadb));
    }
    Ok(in_creation_order(tables))
}

/// Table, constraint name, expression and (MariaDB) level of every CHECK constraint; none
/// where the server has no `CHECK_CONSTRAINTS` (MySQL before 8.0.16, MariaDB before 10.2).
async fn check_rows(db: &mut dyn Backend, mariadb: bool) -> Result<ByTable, DbError> {
    let exists = db
        .query(
            "SELECT COUNT(*) FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = 'information_schema' AND TABLE_NAME = 'CHECK_CONSTRAINTS'",
            &[],
        )
        .await?;
    if exists.first().is_none_or(|r| int(r, 0) == 0) {
        return Ok(ByTable::new());
    }
    // MariaDB names CHECKs per table and says whether one is a column's; MySQL names them
    // per schema, and its CHECK_CONSTRAINTS has no table: TABLE_CONSTRAINTS gives it.
    let sql = if mariadb {
        "SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE, LEVEL \
         FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE() \
         ORDER BY TABLE_NAME, CONSTRAINT_NAME"
    } else {
        "SELECT tc.TABLE_NAME, cc.CONSTRAINT_NAME, cc.CHECK_CLAUSE, 'Table' \
         FROM information_schema.TABLE_CONSTRAINTS tc \
         JOIN information_schema.CHECK_CONSTRAINTS cc \
           ON cc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA AND cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME \
         WHERE tc.TABLE_SCHEMA = DATABASE() AND tc.CONSTRAINT_TYPE = 'CHECK' \
         ORDER BY tc.TABLE_NAME, cc.CONSTRAINT_NAME"
    };
    Ok(by_table(db.query(sql, &[]).await?))
}

/// One table's rows of each `information_schema` query.
struct Raw {
    columns: Vec<Row>,
    stats: Vec<Row>,
    checks: Vec<Row>,
    fks: Vec<Row>,
}

fn table(name: &str, create: &str, raw: &Raw, mariadb: bool) -> Table {
    let (elements, _) = ddl::table_elements(create).unwrap_or_default();
    let mut columns: Vec<Column> = raw
        .columns
        .iter()
        .map(|r| column(r, &elements, mariadb))
        .collect();
    let mut checks = Vec::new();
    for r in &raw.checks {
        let constraint = text(r, 1);
        let expression = normalize_expression(&text(r, 2));
        // MariaDB's JSON: a LONGTEXT column with a CHECK of its own that the DDL never wrote.
        if text(r, 3).eq_ignore_ascii_case("Column")
            && let Some(c) = columns
                .iter_mut()
                .find(|c| c.name == constraint && c.data_type == "LONGTEXT")
            && expression
                == format!(
                    "json_valid({})",
                    unquote_simple_names(&quote(&c.name), &['`'])
                )
        {
            "JSON".clone_into(&mut c.data_type);
            continue;
        }
        checks.push(CheckConstraint {
            name: Some(constraint),
            expression,
        });
    }
    checks.sort_by(|a, b| (&a.name, &a.expression).cmp(&(&b.name, &b.expression)));
    let (primary_key, uniques, indexes) = keys(name, &raw.stats, &elements);
    Table {
        name: name.to_owned(),
        columns,
        primary_key,
        primary_key_name: None,
        uniques,
        checks,
        foreign_keys: foreign_keys(&raw.fks),
        indexes,
        create_sql: Some(without_auto_increment(create)),
        triggers: Vec::new(),
        options: String::new(),
    }
}

/// One row of `information_schema.COLUMNS` (after the table's name: name, type, nullable,
/// default, extra, generation expression), its definition from `elements`.
fn column(r: &Row, elements: &[String], mariadb: bool) -> Column {
    let name = text(r, 1);
    let data_type = normalize_type(&text(r, 2));
    let extra = text(r, 5);
    let lower_extra = extra.to_ascii_lowercase();
    let generated = lower_extra.contains("generated").then(|| {
        (
            normalize_expression(&text(r, 6)),
            lower_extra.contains("stored") || lower_extra.contains("persistent"),
        )
    });
    let default = if generated.is_some() {
        None
    } else {
        column_default(opt_text(r, 4), &extra, &data_type, mariadb)
    };
    let definition = elements
        .iter()
        .find(|e| e.trim_start().starts_with('`') && ddl::first_name(e) == name)
        .cloned();
    Column {
        name,
        data_type,
        nullable: text(r, 3).eq_ignore_ascii_case("YES"),
        default,
        generated,
        identity: lower_extra.contains("auto_increment"),
        definition,
    }
}

/// The default as SQL, the same for MariaDB's and MySQL's spelling of it (see the module
/// documentation), with its `ON UPDATE` clause.
fn column_default(
    raw: Option<String>,
    extra: &str,
    data_type: &str,
    mariadb: bool,
) -> Option<String> {
    let value = raw.and_then(|d| {
        if mariadb {
            // MariaDB: already SQL; the text NULL is a NULL default.
            (!d.eq_ignore_ascii_case("NULL")).then(|| normalize_default(&d))
        } else if extra.to_ascii_uppercase().contains("DEFAULT_GENERATED")
            || is_current_time(&d)
            || is_numeric_type(data_type)
        {
            Some(normalize_default(&d))
        } else {
            // MySQL: a literal, unquoted.
            Some(format!("'{}'", d.replace('\'', "''")))
        }
    });
    let lower = extra.to_ascii_lowercase();
    match lower.find("on update ") {
        Some(at) => {
            let on_update = normalize_default(extra[at + "on update ".len()..].trim());
            Some(format!(
                "{} ON UPDATE {on_update}",
                value.as_deref().unwrap_or("NULL")
            ))
        }
        None => value,
    }
}

fn is_numeric_type(t: &str) -> bool {
    let base = t.split(['(', ' ']).next().unwrap_or("");
    matches!(
        base,
        "TINYINT"
            | "SMALLINT"
            | "MEDIUMINT"
            | "INT"
            | "INTEGER"
            | "BIGINT"
            | "DECIMAL"
            | "NUMERIC"
            | "FLOAT"
            | "DOUBLE"
            | "REAL"
            | "BIT"
            | "BOOL"
            | "BOOLEAN"
    )
}

/// `CURRENT_TIMESTAMP`, `current_timestamp()`, `now(6)` and their kin.
fn is_current_time(d: &str) -> bool {
    current_time(d).is_some()
}

/// The canonical spelling of a current-time default: `CURRENT_TIMESTAMP` or
/// `CURRENT_TIMESTAMP(n)`.
fn current_time(d: &str) -> Option<String> {
    let lower = d.trim().to_ascii_lowercase();
    let (name, args) = match lower.find('(') {
        Some(p) if lower.ends_with(')') => (&lower[..p], lower[p + 1..lower.len() - 1].trim()),
        Some(_) => return None,
        None => (lower.as_str(), ""),
    };
    let known = matches!(
        name.trim(),
        "current_timestamp" | "now" | "localtimestamp" | "localtime"
    );
    (known && args.chars().all(|c| c.is_ascii_digit())).then(|| {
        if args.is_empty() || args == "0" {
            "CURRENT_TIMESTAMP".to_owned()
        } else {
            format!("CURRENT_TIMESTAMP({args})")
        }
    })
}

fn normalize_default(d: &str) -> String {
    let d = strip_outer_parens(d);
    current_time(d).unwrap_or_else(|| normalize_expression(d))
}

/// `COLUMN_TYPE` in one spelling (see the module documentation).
fn normalize_type(t: &str) -> String {
    let mut out = String::with_capacity(t.len());
    let mut quoted = false;
    for ch in t.trim().chars() {
        if ch == '\'' {
            quoted = !quoted;
        }
        if quoted || ch == '\'' {
            out.push(ch);
        } else if ch.is_whitespace() {
            if !out.ends_with(' ') {
                out.push(' ');
            }
        } else {
            out.push(ch.to_ascii_uppercase());
        }
    }
    let Some(open) = out.find('(') else {
        return out;
    };
    let base = &out[..open];
    let integer = matches!(
        base,
        "TINYINT" | "SMALLINT" | "MEDIUMINT" | "INT" | "INTEGER" | "BIGINT"
    );
    if !integer || out.contains("ZEROFILL") || out.starts_with("TINYINT(1)") {
        return out;
    }
    match out[open..].find(')') {
        Some(close) => format!("{base}{}", &out[open + close + 1..]),
        None => out,
    }
}

/// Primary key, UNIQUE constraints and other indexes of a table, from its
/// `information_schema.STATISTICS` rows (after the table's name: index, non-unique, column,
/// prefix length, collation, index type) and its `SHOW CREATE TABLE` elements.
fn keys(table: &str, stats: &[Row], elements: &[String]) -> (Vec<String>, Vec<Unique>, Vec<Index>) {
    let mut groups: Vec<(String, Vec<&Row>)> = Vec::new();
    for r in stats {
        let name = text(r, 1);
        match groups.iter_mut().find(|(n, _)| *n == name) {
            Some((_, rows)) => rows.push(r),
            None => groups.push((name, vec![r])),
        }
    }
    let mut primary_key = Vec::new();
    let mut uniques = Vec::new();
    let mut indexes = Vec::new();
    for (name, rows) in groups {
        if name == "PRIMARY" {
            primary_key = rows.iter().map(|r| text(r, 3)).collect();
            continue;
        }
        let unique = int(rows[0], 2) == 0;
        let whole_columns = rows
            .iter()
            .all(|r| opt_text(r, 3).is_some() && opt_text(r, 4).is_none() && text(r, 5) != "D")
            && matches!(text(rows[0], 6).as_str(), "BTREE" | "HASH" | "");
        if unique && whole_columns {
            uniques.push(Unique {
                name: Some(name),
                columns: rows.iter().map(|r| text(r, 3)).collect(),
            });
            continue;
        }
        let (kind, parts) =
            key_element(elements, &name).unwrap_or_else(|| (String::new(), index_parts(&rows)));
        let kind = if kind.is_empty() && unique {
            "UNIQUE ".to_owned()
        } else {
            kind
        };
        let definition = normalize_index(&parts);
        indexes.push(Index {
            create_sql: format!(
                "CREATE {kind}INDEX {} ON {} {parts}",
                quote(&name),
                quote(table)
            ),
            definition: match kind.as_str() {
                "FULLTEXT " | "SPATIAL " => format!("{kind}{definition}"),
                _ => definition,
            },
            name,
            unique,
        });
    }
    uniques.sort_by(|a, b| a.columns.cmp(&b.columns));
    indexes.sort_by(|a, b| a.name.cmp(&b.name));
    (primary_key, uniques, indexes)
}

/// The index `name`'s line of `SHOW CREATE TABLE`: its kind (`UNIQUE `, `FULLTEXT `,
/// `SPATIAL ` or empty) and the text after its name (`` (`title`(20)) ``).
fn key_element(elements: &[String], name: &str) -> Option<(String, String)> {
    elements.iter().find_map(|e| {
        let words = ddl::tokens(e);
        let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
        let (kind, at) = match upper.first().map(String::as_str) {
            Some("KEY" | "INDEX") => ("", 1),
            Some(k @ ("UNIQUE" | "FULLTEXT" | "SPATIAL"))
                if matches!(upper.get(1).map(String::as_str), Some("KEY" | "INDEX")) =>
            {
                (k, 2)
            }
            _ => return None,
        };
        (ddl::unquote(words.get(at)?).replace("``", "`") == name).then(|| {
            (
                if kind.is_empty() {
                    String::new()
                } else {
                    format!("{kind} ")
                },
                words[at + 1..].join(" "),
            )
        })
    })
}

/// An index's parts from its STATISTICS rows, where `SHOW CREATE TABLE` did not give them.
fn index_parts(rows: &[&Row]) -> String {
    let parts: Vec<String> = rows
        .iter()
        .map(|r| {
            let mut p = quote(&opt_text(r, 3).unwrap_or_default());
            if let Some(len) = opt_text(r, 4) {
                p = format!("{p}({len})");
            }
            if text(r, 5) == "D" {
                p.push_str(" DESC");
            }
            p
        })
        .collect();
    format!("({})", parts.join(","))
}

/// An index's text after its name, normalised: `` (`a`,`b`(20)) `` is `(a, b(20))`.
fn normalize_index(rest: &str) -> String {
    normalize_sql(&unquote_simple_names(rest, &['`']))
}

/// Foreign keys from their rows (after the table's name: constraint, parent table, update
/// rule, delete rule, column, parent column), in column order.
fn foreign_keys(rows: &[Row]) -> Vec<ForeignKey> {
    let rule = |r: &str| {
        let r = r.to_ascii_uppercase();
        if r == "RESTRICT" {
            "NO ACTION".to_owned()
        } else {
            r
        }
    };
    let mut out: Vec<ForeignKey> = Vec::new();
    for r in rows {
        let name = text(r, 1);
        match out
            .iter_mut()
            .find(|f| f.name.as_deref() == Some(name.as_str()))
        {
            Some(fk) => {
                fk.columns.push(text(r, 5));
                fk.ref_columns.push(text(r, 6));
            }
            None => out.push(ForeignKey {
                name: Some(name),
                columns: vec![text(r, 5)],
                ref_table: text(r, 2),
                ref_columns: vec![text(r, 6)],
                on_delete: rule(&text(r, 4)),
                on_update: rule(&text(r, 3)),
            }),
        }
    }
    out.sort_by(|a, b| (&a.columns, &a.name).cmp(&(&b.columns, &b.name)));
    out
}

/// The tables parents first (by foreign key), in name order where that leaves a choice;
/// a cycle is broken at the first name left.
fn in_creation_order(mut tables: Vec<Table>) -> Schema {
    tables.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out = Schema::default();
    while !tables.is_empty() {
        let ready = tables
            .iter()
            .position(|t| {
                t.foreign_keys
                    .iter()
                    .all(|f| f.ref_table == t.name || !tables.iter().any(|o| o.name == f.ref_table))
            })
            .unwrap_or(0);
        out.push(tables.remove(ready));
    }
    out
}

/// `SHOW CREATE TABLE` text without its `AUTO_INCREMENT=n` option (after the body, which
/// ends with a line holding its closing parenthesis).
fn without_auto_increment(create: &str) -> String {
    let body_end = create.rfind("\n)").unwrap_or(0);
    let (body, options) = create.split_at(body_end);
    let Some(at) = options.find(" AUTO_INCREMENT=") else {
        return create.to_owned();
    };
    let digits = options[at + " AUTO_INCREMENT=".len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .count();
    format!(
        "{body}{}{}",
        &options[..at],
        &options[at + " AUTO_INCREMENT=".len() + digits..]
    )
}

/// An expression with outer parentheses, charset introducers and simple quoted names
/// removed, spaces normalised.
fn normalize_expression(e: &str) -> String {
    let mut t = strip_outer_parens(e).to_owned();
    for introducer in ["_utf8mb4'", "_utf8mb3'", "_utf8'", "_latin1'", "_binary'"] {
        t = t.replace(introducer, "'");
    }
    normalize_sql(&unquote_simple_names(&t, &['`']))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_lose_integer_display_widths_but_not_booleans() {
        assert_eq!(normalize_type("int(11)"), "INT");
        assert_eq!(normalize_type("int(10) unsigned"), "INT UNSIGNED");
        assert_eq!(normalize_type("int unsigned"), "INT UNSIGNED");
        assert_eq!(normalize_type("tinyint(1)"), "TINYINT(1)");
        assert_eq!(normalize_type("tinyint(4)"), "TINYINT");
        assert_eq!(
            normalize_type("int(5) unsigned zerofill"),
            "INT(5) UNSIGNED ZEROFILL"
        );
        assert_eq!(normalize_type("decimal(10,2)"), "DECIMAL(10,2)");
        assert_eq!(normalize_type("enum('a','B c')"), "ENUM('a','B c')");
    }

    #[test]
    fn mariadb_and_mysql_defaults_read_alike() {
        let maria = |d: &str, extra: &str, t: &str| column_default(Some(d.into()), extra, t, true);
        let mysql = |d: Option<&str>, extra: &str, t: &str| {
            column_default(d.map(str::to_owned), extra, t, false)
        };
        assert_eq!(maria("NULL", "", "VARCHAR(10)"), None);
        assert_eq!(mysql(None, "", "VARCHAR(10)"), None);
        assert_eq!(
            maria("'it''s'", "", "VARCHAR(10)").as_deref(),
            Some("'it''s'")
        );
        assert_eq!(
            mysql(Some("it's"), "", "VARCHAR(10)").as_deref(),
            Some("'it''s'")
        );
        assert_eq!(maria("1.50", "", "DECIMAL(10,2)").as_deref(), Some("1.50"));
        assert_eq!(
            mysql(Some("1.50"), "", "DECIMAL(10,2)").as_deref(),
            Some("1.50")
        );
        assert_eq!(
            maria("current_timestamp()", "", "DATETIME").as_deref(),
            Some("CURRENT_TIMESTAMP")
        );
        assert_eq!(
            mysql(Some("CURRENT_TIMESTAMP"), "DEFAULT_GENERATED", "DATETIME").as_deref(),
            Some("CURRENT_TIMESTAMP")
        );
        assert_eq!(
            maria(
                "current_timestamp(6)",
                "on update current_timestamp(6)",
                "TIMESTAMP(6)"
            )
            .as_deref(),
            Some("CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)")
        );
        assert_eq!(
            mysql(
                Some("CURRENT_TIMESTAMP(6)"),
                "DEFAULT_GENERATED on update CURRENT_TIMESTAMP(6)",
                "TIMESTAMP(6)"
            )
            .as_deref(),
            Some("CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)")
        );
    }

    #[test]
    fn expressions_lose_quotes_parens_and_introducers() {
        assert_eq!(normalize_expression("(`score` > 0)"), "score > 0");
        assert_eq!(
            normalize_expression("`kind` in (_utf8mb4'a',_utf8mb4'b')"),
            "kind in ('a', 'b')"
        );
        assert_eq!(
            unquote_simple_names("`my col` = '`x`'", &['`']),
            "`my col` = '`x`'"
        );
    }

    #[test]
    fn key_lines_give_kind_and_parts() {
        let elements = vec![
            "`id` int(11) NOT NULL".to_owned(),
            "PRIMARY KEY (`id`)".to_owned(),
            "UNIQUE KEY `email` (`email`)".to_owned(),
            "KEY `ix_t` (`title`(20))".to_owned(),
            "FULLTEXT KEY `ft` (`body`)".to_owned(),
        ];
        assert_eq!(
            key_element(&elements, "ix_t"),
            Some((String::new(), "(`title`(20))".to_owned()))
        );
        assert_eq!(
            key_element(&elements, "ft"),
            Some(("FULLTEXT ".to_owned(), "(`body`)".to_owned()))
        );
        assert_eq!(normalize_index("(`a`,`b`(20))"), "(a, b(20))");
    }

    #[test]
    fn auto_increment_counter_left_out_of_the_statement() {
        assert_eq!(
            without_auto_increment(
                "CREATE TABLE `t` (\n  `id` int\n) ENGINE=InnoDB AUTO_INCREMENT=3 DEFAULT CHARSET=utf8mb4"
            ),
            "CREATE TABLE `t` (\n  `id` int\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
        );
    }
}
