//! Parameters bound on the client, for the HTTP databases whose protocol (or whose oldest
//! servers) takes none: each `?` of jetbase's own SQL outside quotes becomes its value as a
//! literal. Only jetbase's statements are bound; migration files run as written.

use super::{DbError, Value};

/// A string literal with backslash escapes, as the lexers of ClickHouse and Spark SQL read
/// them (both take `\'` and `\\`; neither needs the quote doubled).
#[must_use]
pub fn backslash_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Replace each `?` of `sql` outside `'...'`, `"..."` and `` `...` `` (backslash escapes
/// inside) by its parameter, written by `render`.
///
/// # Errors
/// The placeholders and the parameters do not match in number.
pub fn bind(sql: &str, params: &[Value], render: fn(&Value) -> String) -> Result<String, DbError> {
    let mut out = String::with_capacity(sql.len() + 32 * params.len());
    let mut params = params.iter();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in sql.chars() {
        match quote {
            Some(q) => {
                out.push(c);
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None if c == '\'' || c == '`' || c == '"' => {
                quote = Some(c);
                out.push(c);
            }
            None if c == '?' => {
                let v = params
                    .next()
                    .ok_or_else(|| DbError::new("more placeholders than parameters"))?;
                out.push_str(&render(v));
            }
            None => out.push(c),
        }
    }
    if params.next().is_some() {
        return Err(DbError::new("more parameters than placeholders"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(v: &Value) -> String {
        match v {
            Value::Text(s) => backslash_literal(s),
            Value::Null => "NULL".into(),
            other => other.as_text().unwrap_or_default(),
        }
    }

    #[test]
    fn placeholders_inside_quotes_stay() {
        let sql = bind(
            "SELECT ?, '?', `a?`, \"b?\\\"?\", ? WHERE x = ?",
            &[Value::Int(3), Value::from("it's"), Value::Null],
            render,
        )
        .unwrap();
        assert_eq!(
            sql,
            "SELECT 3, '?', `a?`, \"b?\\\"?\", 'it\\'s' WHERE x = NULL"
        );
        assert!(bind("SELECT ?", &[], render).is_err());
        assert!(bind("SELECT 1", &[Value::Int(1)], render).is_err());
    }

    #[test]
    fn literals_escape_what_the_lexers_unescape() {
        assert_eq!(backslash_literal("it's a\\b"), "'it\\'s a\\\\b'");
        assert_eq!(backslash_literal("a\nb\tc\0"), "'a\\nb\\tc\\0'");
    }
}
