//! Schemas as `make-migrations` sees them: what a database holds (read by a driver's
//! introspection), the difference between two of them, and the plan of statements that
//! turns one into the other. Pure: no I/O here.
//!
//! Both sides of a comparison are read by the same introspection code: the desired schema
//! is SQLAlchemy's own DDL run on a scratch database, so spelling differences
//! (`VARCHAR(255)` written one way or another, auto-named constraints) never show as changes.

pub mod diff;
pub mod file;
pub mod plan;
pub mod scratch;
pub mod sql;

use std::collections::BTreeMap;

/// A database's tables (jetbase's own left out), by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schema {
    pub tables: BTreeMap<String, Table>,
    /// Table names in creation order (the order their DDL ran in), so new tables are created
    /// in an order their foreign keys accept.
    pub order: Vec<String>,
    /// PostgreSQL enum types: name and labels in order.
    pub enums: BTreeMap<String, Vec<String>>,
    /// Views: name and statement, in creation order (SQLite). Not compared: they are the
    /// database's own, kept across table rebuilds.
    pub views: Vec<(String, String)>,
    /// PostgreSQL: the real name of the sequence each serial column owns, by (table,
    /// column); its default reads as [`serial_default`] whatever the name. Not compared:
    /// a renamed table's or column's sequence is renamed with it.
    pub sequences: BTreeMap<(String, String), String>,
    /// PostgreSQL: which views use which tables and columns (`column` empty: the table as a
    /// whole). Not compared: PostgreSQL refuses to drop, or change the type of, what a view
    /// uses, so make-migrations stops on such a change before writing a file that would fail.
    pub view_uses: Vec<ViewUse>,
}

/// A view that uses a table's column (or the table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewUse {
    pub view: String,
    pub table: String,
    pub column: String,
}

impl Schema {
    /// Tables in creation order.
    pub fn ordered(&self) -> impl Iterator<Item = &Table> {
        self.order.iter().filter_map(|n| self.tables.get(n))
    }

    /// Add `table` after the others.
    pub fn push(&mut self, table: Table) {
        self.order.push(table.name.clone());
        self.tables.insert(table.name.clone(), table);
    }
}

/// One table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    pub name: String,
    pub columns: Vec<Column>,
    /// Primary key columns in key order (empty: none).
    pub primary_key: Vec<String>,
    /// The primary key constraint's name, where the database names it (PostgreSQL).
    pub primary_key_name: Option<String>,
    pub uniques: Vec<Unique>,
    pub checks: Vec<CheckConstraint>,
    pub foreign_keys: Vec<ForeignKey>,
    pub indexes: Vec<Index>,
    /// The `CREATE TABLE` statement as the database keeps it (SQLite), used to create the
    /// table again exactly as it was.
    pub create_sql: Option<String>,
    /// Triggers on the table: name and statement (SQLite).
    pub triggers: Vec<(String, String)>,
    /// `WITHOUT ROWID`, `STRICT` and other table options that force a rebuild when changed.
    pub options: String,
}

impl Table {
    #[must_use]
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }
}

/// One column.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    /// The declared type, upper-cased with single spaces (`VARCHAR(255)`).
    pub data_type: String,
    pub nullable: bool,
    /// The default expression as the database keeps it, normalised (`CURRENT_TIMESTAMP`,
    /// `'x'`); `None`: no default.
    pub default: Option<String>,
    /// A generated column's expression and whether it is stored.
    pub generated: Option<(String, bool)>,
    /// An identity / auto-increment column.
    pub identity: bool,
    /// The column's definition as written in its `CREATE TABLE` (SQLite), for
    /// `ALTER TABLE ... ADD COLUMN`.
    pub definition: Option<String>,
}

/// A UNIQUE constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unique {
    pub name: Option<String>,
    pub columns: Vec<String>,
}

/// A CHECK constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckConstraint {
    pub name: Option<String>,
    /// Normalised expression text (single spaces).
    pub expression: String,
}

/// A FOREIGN KEY constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    pub name: Option<String>,
    pub columns: Vec<String>,
    pub ref_table: String,
    pub ref_columns: Vec<String>,
    /// `CASCADE`, `SET NULL`, ...; `NO ACTION` when none was given.
    pub on_delete: String,
    pub on_update: String,
}

impl ForeignKey {
    /// What makes two foreign keys the same one (their names aside).
    #[must_use]
    pub fn key(&self) -> String {
        format!(
            "{:?}{}{:?}{}{}",
            self.columns, self.ref_table, self.ref_columns, self.on_delete, self.on_update
        )
    }
}

/// An index made by `CREATE INDEX` (those behind UNIQUE and PRIMARY KEY constraints are
/// [`Unique`] and [`Table::primary_key`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    pub name: String,
    pub unique: bool,
    /// What it indexes and where, normalised: `(lower(email)) WHERE active = 1`. Two indexes
    /// with one definition are the same index.
    pub definition: String,
    /// The statement that creates it, as the database keeps it.
    pub create_sql: String,
}

/// `nextval('s'::regclass)` as PostgreSQL shows a default on sequence `s` (quoted when it
/// is not a plain lower-case name).
#[must_use]
pub fn nextval(sequence: &str) -> String {
    let plain = sequence
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && sequence
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        format!("nextval('{sequence}'::regclass)")
    } else {
        format!("nextval('\"{}\"'::regclass)", sequence.replace('\'', "''"))
    }
}

/// A serial column's default as the PostgreSQL introspection reports it, whatever its
/// sequence is really called: the sequence a fresh `SERIAL` column of `table` would own,
/// `<table>_<column>_seq` (a sequence keeps its name when its table or column is renamed).
#[must_use]
pub fn serial_default(table: &str, column: &str) -> String {
    nextval(&format!("{table}_{column}_seq"))
}

/// SQL text with runs of whitespace made one space, outside quotes; spaces just inside
/// parentheses and before commas removed, so `( a ,b )` and `(a, b)` compare equal.
#[must_use]
pub fn normalize_sql(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut quote: Option<char> = None;
    let mut pending_space = false;
    for ch in text.trim().chars() {
        if let Some(q) = quote {
            out.push(ch);
            if ch == q {
                quote = None;
            }
            continue;
        }
        if ch.is_whitespace() {
            pending_space = true;
            continue;
        }
        if pending_space {
            let last = out.chars().last();
            if !matches!(last, Some('(') | None) && !matches!(ch, ')' | ',') {
                out.push(' ');
            }
            pending_space = false;
        }
        if ch == ',' {
            out.push(',');
            out.push(' ');
            // A following space is folded into this one.
            continue;
        }
        if matches!(ch, '\'' | '"' | '`') {
            quote = Some(ch);
        }
        out.push(ch);
    }
    // `, ` then a space skipped above can leave `,  `; make it one.
    out.replace(",  ", ", ").replace(", )", ")")
}

/// Copy the string literal that starts at `chars[i]` (a `'`) into `out` as it is; the index
/// after it.
fn copy_string(chars: &[char], i: usize, out: &mut String) -> usize {
    let end = chars[i + 1..]
        .iter()
        .position(|c| *c == '\'')
        .map_or(chars.len(), |p| i + 1 + p);
    out.extend(&chars[i..(end + 1).min(chars.len())]);
    end + 1
}

/// `text` with the name `old` (a whole word, bare or quoted with `"` or `` ` ``) made `new`,
/// outside string literals: a renamed column in an index definition or a CHECK.
#[must_use]
pub fn rename_word(text: &str, old: &str, new: &str) -> String {
    let word = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    let chars: Vec<char> = text.chars().collect();
    let old_chars: Vec<char> = old.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let ch = chars[i];
        if ch == '\'' {
            i = copy_string(&chars, i, &mut out);
            continue;
        }
        let quoted = matches!(ch, '"' | '`');
        let at = if quoted { i + 1 } else { i };
        let matches = chars.get(at..at + old_chars.len()) == Some(old_chars.as_slice());
        let before_ok = i == 0 || !word(chars[i - 1]);
        let end = at + old_chars.len();
        let after_ok = if quoted {
            chars.get(end) == Some(&ch)
        } else {
            chars.get(end).is_none_or(|c| !word(*c))
        };
        if matches && before_ok && after_ok && (quoted || !old_chars.is_empty()) {
            if quoted {
                out.push(ch);
                out.push_str(new);
                out.push(ch);
                i = end + 1;
            } else {
                out.push_str(new);
                i = end;
            }
            continue;
        }
        out.push(ch);
        i += 1;
    }
    out
}

/// `text` with each name quoted by one of `quotes` unquoted where it needs no quotes
/// (`"email"` is `email`, `"my col"` stays); string literals are left alone.
#[must_use]
pub fn unquote_simple_names(text: &str, quotes: &[char]) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let ch = chars[i];
        if ch == '\'' {
            i = copy_string(&chars, i, &mut out);
            continue;
        }
        if quotes.contains(&ch) {
            let end = chars[i + 1..]
                .iter()
                .position(|c| *c == ch)
                .map(|p| p + i + 1);
            if let Some(end) = end {
                let inner: String = chars[i + 1..end].iter().collect();
                let simple = inner
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                    && inner.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if simple {
                    out.push_str(&inner);
                } else {
                    out.extend(&chars[i..=end]);
                }
                i = end + 1;
                continue;
            }
        }
        out.push(ch);
        i += 1;
    }
    out
}

/// `text` without parentheses around the whole of it (`(0)` and `0` are one default).
#[must_use]
pub fn strip_outer_parens(text: &str) -> &str {
    let mut t = text.trim();
    while t.starts_with('(') && t.ends_with(')') && closes_at_end(t) {
        t = t[1..t.len() - 1].trim();
    }
    t
}

/// True when the `(` at the start of `t` is closed by its last character.
fn closes_at_end(t: &str) -> bool {
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    for (i, ch) in t.char_indices() {
        if let Some(q) = quote {
            if ch == q {
                quote = None;
            }
            continue;
        }
        match ch {
            '\'' | '"' | '`' => quote = Some(ch),
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return i == t.len() - 1;
                }
            }
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_folds_spaces_outside_quotes() {
        assert_eq!(normalize_sql("( a ,b\n\t)"), "(a, b)");
        assert_eq!(normalize_sql("price  >  0"), "price > 0");
        assert_eq!(normalize_sql("x = 'a  b'"), "x = 'a  b'");
        assert_eq!(normalize_sql("lower( email )"), "lower(email)");
    }

    #[test]
    fn rename_word_changes_whole_names_outside_strings() {
        assert_eq!(
            rename_word("(lower(name))", "name", "title"),
            "(lower(title))"
        );
        assert_eq!(
            rename_word("length(\"name\") > 0", "name", "title"),
            "length(\"title\") > 0"
        );
        assert_eq!(
            rename_word("nickname = 'name'", "name", "title"),
            "nickname = 'name'"
        );
        assert_eq!(
            rename_word("name_x + x_name + name", "name", "t"),
            "name_x + x_name + t"
        );
    }

    #[test]
    fn outer_parens_stripped_only_when_they_wrap_everything() {
        assert_eq!(strip_outer_parens("(0)"), "0");
        assert_eq!(
            strip_outer_parens("((CURRENT_TIMESTAMP))"),
            "CURRENT_TIMESTAMP"
        );
        assert_eq!(strip_outer_parens("(a) + (b)"), "(a) + (b)");
        assert_eq!(strip_outer_parens("')'"), "')'");
    }
}
