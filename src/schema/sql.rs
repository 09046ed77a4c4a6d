//! Reading the parts of a `CREATE TABLE` statement that SQLite keeps only as text (its
//! column definitions, CHECK constraints, table options), and quoting names. A small lexer:
//! strings, quoted names, comments and nested parentheses are skipped as SQLite's own
//! tokenizer does.

/// The elements of a `CREATE TABLE name (...) options` statement: the parts of its body at
/// the top level (column definitions and table constraints, trimmed), and the text after
/// the closing parenthesis (`WITHOUT ROWID`, `STRICT`). `None` when the statement has no
/// parenthesised body (`CREATE TABLE x AS SELECT ...`).
#[must_use]
pub fn table_elements(create: &str) -> Option<(Vec<String>, String)> {
    let open = body_start(create)?;
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = open + 1;
    let bytes: Vec<(usize, char)> = create.char_indices().collect();
    let mut i = bytes.iter().position(|(at, _)| *at == open)? + 1;
    while i < bytes.len() {
        let (at, ch) = bytes[i];
        match ch {
            '\'' | '"' | '`' | '[' => {
                let close = if ch == '[' { ']' } else { ch };
                i += 1;
                while i < bytes.len() && bytes[i].1 != close {
                    i += 1;
                }
            }
            '-' if bytes.get(i + 1).is_some_and(|b| b.1 == '-') => {
                while i < bytes.len() && bytes[i].1 != '\n' {
                    i += 1;
                }
            }
            '/' if bytes.get(i + 1).is_some_and(|b| b.1 == '*') => {
                i += 2;
                while i + 1 < bytes.len() && !(bytes[i].1 == '*' && bytes[i + 1].1 == '/') {
                    i += 1;
                }
                i += 1;
            }
            '(' => depth += 1,
            ')' if depth == 0 => {
                parts.push(create[start..at].trim().to_owned());
                let options = create[at + 1..].trim().trim_end_matches(';').trim();
                return Some((
                    parts.into_iter().filter(|p| !p.is_empty()).collect(),
                    options.to_owned(),
                ));
            }
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(create[start..at].trim().to_owned());
                start = at + 1;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Where the body's `(` is: the first parenthesis after `CREATE TABLE [IF NOT EXISTS] name`.
fn body_start(create: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (at, ch) in create.char_indices() {
        if let Some(q) = quote {
            if ch == q {
                quote = None;
            }
            continue;
        }
        match ch {
            '"' | '`' | '\'' => quote = Some(ch),
            '[' => quote = Some(']'),
            '(' => return Some(at),
            _ => {}
        }
    }
    None
}

/// The first word of an element: a column's name, or a constraint keyword. Quotes removed.
#[must_use]
pub fn first_name(element: &str) -> String {
    let t = element.trim_start();
    let mut chars = t.chars();
    match chars.next() {
        Some(q @ ('"' | '`' | '[')) => {
            let close = if q == '[' { ']' } else { q };
            chars.take_while(|c| *c != close).collect()
        }
        _ => t
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '(')
            .collect(),
    }
}

/// True for an element that is a table constraint, not a column.
#[must_use]
pub fn is_table_constraint(element: &str) -> bool {
    let starts_quoted = element.trim_start().starts_with(['"', '`', '[']);
    !starts_quoted
        && matches!(
            first_name(element).to_ascii_uppercase().as_str(),
            "CONSTRAINT" | "PRIMARY" | "UNIQUE" | "CHECK" | "FOREIGN"
        )
}

/// The CHECK constraints of a table's elements (table-level and on columns): name and
/// expression (inside its parentheses).
#[must_use]
pub fn checks(elements: &[String]) -> Vec<(Option<String>, String)> {
    let mut found = Vec::new();
    for element in elements {
        let words = tokens(element);
        let mut i = 0;
        while i < words.len() {
            if words[i].eq_ignore_ascii_case("CHECK")
                && let Some(expr) = words.get(i + 1).filter(|w| w.starts_with('('))
            {
                let name = (i >= 2 && words[i - 2].eq_ignore_ascii_case("CONSTRAINT"))
                    .then(|| unquote(&words[i - 1]));
                let inner = expr[1..expr.len() - 1].trim().to_owned();
                found.push((name, inner));
                i += 2;
                continue;
            }
            i += 1;
        }
    }
    found
}

/// An element split into words, a parenthesised group and a quoted string each one word.
#[must_use]
pub fn tokens(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut words = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let ch = chars[i];
        if ch.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if ch == '(' {
            let mut depth = 0;
            while i < chars.len() {
                match chars[i] {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    q @ ('\'' | '"' | '`') => {
                        i += 1;
                        while i < chars.len() && chars[i] != q {
                            i += 1;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            i += 1;
        } else if matches!(ch, '\'' | '"' | '`' | '[') {
            let close = if ch == '[' { ']' } else { ch };
            i += 1;
            while i < chars.len() && chars[i] != close {
                i += 1;
            }
            i += 1;
        } else {
            while i < chars.len() && !chars[i].is_whitespace() && chars[i] != '(' {
                i += 1;
            }
        }
        words.push(chars[start..i.min(chars.len())].iter().collect());
    }
    words
}

/// A name without its quotes.
#[must_use]
pub fn unquote(name: &str) -> String {
    let t = name.trim();
    for (open, close) in [('"', '"'), ('`', '`'), ('[', ']')] {
        if t.len() >= 2 && t.starts_with(open) && t.ends_with(close) {
            return t[1..t.len() - 1].replace("\"\"", "\"");
        }
    }
    t.to_owned()
}

/// A name quoted for SQLite and PostgreSQL.
#[must_use]
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The `CREATE TABLE` statement `create` with the table's name replaced by `name` (quoted).
#[must_use]
pub fn rename_create(create: &str, name: &str) -> Option<String> {
    let open = body_start(create)?;
    Some(format!("CREATE TABLE {} {}", quote(name), &create[open..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const USERS: &str = "CREATE TABLE users (\n\tid INTEGER NOT NULL, \n\temail VARCHAR(255) NOT NULL, \n\tage INTEGER CHECK (age >= 0), \n\tnote TEXT DEFAULT 'a, (b)', \n\tPRIMARY KEY (id), \n\tCONSTRAINT uq_email UNIQUE (email), \n\tCONSTRAINT ck_len CHECK (length(email) > 3)\n)";

    #[test]
    fn elements_split_at_top_level_commas_only() {
        let (parts, options) = table_elements(USERS).unwrap();
        assert_eq!(parts.len(), 7, "{parts:?}");
        assert_eq!(parts[3], "note TEXT DEFAULT 'a, (b)'");
        assert_eq!(options, "");
        let (_, options) =
            table_elements("CREATE TABLE \"a(b\" (x INT) WITHOUT ROWID, STRICT").unwrap();
        assert_eq!(options, "WITHOUT ROWID, STRICT");
    }

    #[test]
    fn constraints_told_from_columns() {
        let (parts, _) = table_elements(USERS).unwrap();
        let kinds: Vec<bool> = parts.iter().map(|p| is_table_constraint(p)).collect();
        assert_eq!(kinds, [false, false, false, false, true, true, true]);
        assert!(!is_table_constraint("\"check\" INTEGER"));
        assert_eq!(first_name("\"my col\" TEXT"), "my col");
    }

    #[test]
    fn checks_found_on_columns_and_table() {
        let (parts, _) = table_elements(USERS).unwrap();
        assert_eq!(
            checks(&parts),
            vec![
                (None, "age >= 0".to_owned()),
                (Some("ck_len".to_owned()), "length(email) > 3".to_owned())
            ]
        );
    }

    #[test]
    fn create_renamed() {
        assert_eq!(
            rename_create("CREATE TABLE \"users\" (id INT)", "_new_users").unwrap(),
            "CREATE TABLE \"_new_users\" (id INT)"
        );
    }
}
