//! The SQL-aware statement splitter (COMPAT 4): what we execute, with file line numbers.
//! It never affects the checksum, which stays the original's line-based parse.

use super::parse::{DEFAULT_DELIMITER, is_py_whitespace, py_rstrip};
use super::{SplitOptions, Statement};

/// Split one section of a migration file into statements.
///
/// `first_line` is the file line number of the section's first line. The default delimiter
/// `;` ends a statement anywhere outside strings, quoted identifiers, comments and bodies; a
/// custom delimiter only where it ends a line (trailing whitespace allowed), which is the
/// original's rule. Each statement keeps its text as written, from its first significant
/// character to the delimiter, right-trimmed. Returns the statements and warnings.
#[must_use]
pub fn split(
    section: &str,
    first_line: usize,
    delimiter: &str,
    opts: SplitOptions,
) -> (Vec<Statement>, Vec<String>) {
    let mut splitter = Splitter {
        src: section,
        bytes: section.as_bytes(),
        pos: 0,
        delimiter,
        opts,
        cursor: (0, first_line),
        first_line,
        start: None,
        lead: Lead::Start,
        depth: 0,
        statements: Vec::new(),
        warnings: Vec::new(),
    };
    splitter.run();
    (splitter.statements, splitter.warnings)
}

/// Where the current statement stands in recognising `CREATE [TEMP|TEMPORARY] TRIGGER`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lead {
    Start,
    AfterCreate,
    AfterTemp,
    Trigger,
    Other,
}

struct Splitter<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    delimiter: &'a str,
    opts: SplitOptions,
    /// A byte offset and its line number, to count lines incrementally.
    cursor: (usize, usize),
    first_line: usize,
    /// Byte offset and line of the current statement's first significant character.
    start: Option<(usize, usize)>,
    lead: Lead,
    /// `BEGIN`/`CASE` minus `END` inside a SQLite trigger body.
    depth: usize,
    statements: Vec<Statement>,
    warnings: Vec<String>,
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

impl Splitter<'_> {
    fn run(&mut self) {
        while self.pos < self.bytes.len() {
            if self.at_delimiter() {
                self.finish(self.pos);
                self.pos += self.delimiter.len();
                continue;
            }
            let b = self.bytes[self.pos];
            let next = self.bytes.get(self.pos + 1).copied();
            match b {
                b'-' if next == Some(b'-') => self.skip_line_comment(),
                b'#' if self.opts.mysql_syntax => self.skip_line_comment(),
                b'/' if next == Some(b'*') => {
                    // MySQL `/*! ... */` is code the server runs, so it is part of a statement.
                    if self.opts.mysql_syntax && self.bytes.get(self.pos + 2) == Some(&b'!') {
                        self.significant(false);
                    }
                    self.skip_block_comment();
                }
                b'\'' => {
                    self.significant(false);
                    self.skip_quoted(b'\'', self.opts.mysql_syntax, "string");
                }
                b'"' => {
                    self.significant(false);
                    let what = if self.opts.mysql_syntax {
                        "string"
                    } else {
                        "quoted identifier"
                    };
                    self.skip_quoted(b'"', self.opts.mysql_syntax, what);
                }
                b'`' if self.opts.mysql_syntax => {
                    self.significant(false);
                    self.skip_quoted(b'`', false, "quoted identifier");
                }
                b'$' if self.opts.dollar_quotes && self.dollar_tag().is_some() => {
                    self.significant(false);
                    self.skip_dollar_body();
                }
                _ if b.is_ascii() && is_py_whitespace(char::from(b)) => self.pos += 1,
                _ if b >= 0x80 && self.non_ascii_whitespace() => {}
                _ if is_word_byte(b) && b != b'$' => self.word(),
                _ => {
                    self.significant(false);
                    self.pos += 1;
                }
            }
        }
        if let Some((_, line)) = self.start {
            self.finish(self.bytes.len());
            self.warnings.push(format!(
                "line {line}: the last statement has no delimiter `{0}`; jetbase runs it, \
                 but Python Jetbase skips it (and leaves it out of the checksum), so a \
                 database it migrated lacks what this statement does; end it with `{0}`",
                self.delimiter
            ));
        }
    }

    /// Whether the delimiter that ends a statement is at `self.pos`.
    fn at_delimiter(&self) -> bool {
        if self.delimiter == DEFAULT_DELIMITER {
            let in_trigger_body =
                self.opts.sqlite_triggers && self.lead == Lead::Trigger && self.depth > 0;
            return self.bytes[self.pos] == b';' && !in_trigger_body;
        }
        self.custom_delimiter_at(self.pos)
    }

    /// A custom delimiter counts only where the rest of its line is whitespace.
    fn custom_delimiter_at(&self, pos: usize) -> bool {
        if self.delimiter == DEFAULT_DELIMITER || !self.src[pos..].starts_with(self.delimiter) {
            return false;
        }
        let rest = &self.src[pos + self.delimiter.len()..];
        let line = rest.find('\n').map_or(rest, |end| &rest[..end]);
        line.chars().all(is_py_whitespace)
    }

    /// The 1-based file line of byte offset `pos` (`pos` never goes backwards).
    fn line_at(&mut self, pos: usize) -> usize {
        let (from, line) = if pos >= self.cursor.0 {
            self.cursor
        } else {
            (0, self.first_line)
        };
        let line = line
            + self.bytes[from..pos]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
        self.cursor = (pos, line);
        line
    }

    /// The character at `self.pos` is part of a statement: start one if needed. `word`
    /// says whether the token is a keyword-like word (it may still be a leading keyword).
    fn significant(&mut self, word: bool) {
        if self.start.is_none() {
            let line = self.line_at(self.pos);
            self.start = Some((self.pos, line));
        }
        if !word {
            self.not_a_leading_keyword();
        }
    }

    /// A token that cannot continue `CREATE [TEMP] TRIGGER` was seen.
    fn not_a_leading_keyword(&mut self) {
        if matches!(self.lead, Lead::Start | Lead::AfterCreate | Lead::AfterTemp) {
            self.lead = Lead::Other;
        }
    }

    fn finish(&mut self, end: usize) {
        if let Some((start, line)) = self.start.take() {
            let sql = py_rstrip(&self.src[start..end]).to_owned();
            self.statements.push(Statement { sql, line });
        }
        self.lead = Lead::Start;
        self.depth = 0;
    }

    fn warn_unterminated(&mut self, at: usize, what: &str) {
        let line = self.line_at(at);
        self.warnings.push(format!(
            "line {line}: unterminated {what}; it runs to the end of the section"
        ));
    }

    /// Skip a non-ASCII character if it is whitespace (or a BOM). Returns whether it did.
    fn non_ascii_whitespace(&mut self) -> bool {
        match self.src[self.pos..].chars().next() {
            Some(c) if is_py_whitespace(c) || c == '\u{feff}' => {
                self.pos += c.len_utf8();
                true
            }
            _ => false,
        }
    }

    fn skip_line_comment(&mut self) {
        self.pos = self.src[self.pos..]
            .find('\n')
            .map_or(self.bytes.len(), |end| self.pos + end);
    }

    /// `/* ... */`, nested as PostgreSQL and SQLite-compatible tools allow (not in MySQL,
    /// where the first `*/` closes the comment).
    fn skip_block_comment(&mut self) {
        let opened = self.pos;
        let mut depth = 0usize;
        while self.pos < self.bytes.len() {
            let pair = (self.bytes[self.pos], self.bytes.get(self.pos + 1).copied());
            match pair {
                (b'/', Some(b'*')) if depth == 0 || !self.opts.mysql_syntax => {
                    depth += 1;
                    self.pos += 2;
                }
                (b'*', Some(b'/')) => {
                    depth -= 1;
                    self.pos += 2;
                    if depth == 0 {
                        return;
                    }
                }
                _ => self.pos += 1,
            }
        }
        self.warn_unterminated(opened, "block comment");
    }

    /// Skip a quoted string or identifier whose quote is doubled to escape it, optionally
    /// also honouring backslash escapes.
    fn skip_quoted(&mut self, quote: u8, backslash: bool, what: &str) {
        let opened = self.pos;
        self.pos += 1;
        while self.pos < self.bytes.len() {
            let b = self.bytes[self.pos];
            if backslash && b == b'\\' {
                self.pos += 2;
            } else if b == quote {
                if self.bytes.get(self.pos + 1) == Some(&quote) {
                    self.pos += 2;
                } else {
                    self.pos += 1;
                    return;
                }
            } else {
                self.pos += 1;
            }
        }
        self.pos = self.bytes.len();
        self.warn_unterminated(opened, what);
    }

    /// The `$$` or `$tag$` opening at `self.pos`, if any (a tag is an identifier without `$`).
    fn dollar_tag(&self) -> Option<&str> {
        let rest = &self.src[self.pos + 1..];
        let tag_len = rest
            .bytes()
            .position(|b| !(b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80))?;
        let starts_ok = rest
            .bytes()
            .next()
            .is_some_and(|b| b == b'$' || !b.is_ascii_digit());
        (starts_ok && rest.as_bytes()[tag_len] == b'$')
            .then(|| &self.src[self.pos..self.pos + tag_len + 2])
    }

    fn skip_dollar_body(&mut self) {
        let opened = self.pos;
        let Some(tag) = self.dollar_tag() else {
            return;
        };
        let body = self.pos + tag.len();
        if let Some(end) = self.src[body..].find(tag) {
            self.pos = body + end + tag.len();
        } else {
            self.pos = self.bytes.len();
            self.warn_unterminated(opened, "dollar-quoted body");
        }
    }

    /// Read a word (keyword, identifier or number) and track trigger bodies.
    fn word(&mut self) {
        self.significant(true);
        let begin = self.pos;
        while self.pos < self.bytes.len()
            && is_word_byte(self.bytes[self.pos])
            && !self.custom_delimiter_at(self.pos)
        {
            if self.bytes[self.pos] >= 0x80 {
                match self.src[self.pos..].chars().next() {
                    Some(c) if !is_py_whitespace(c) => self.pos += c.len_utf8(),
                    _ => break,
                }
            } else {
                self.pos += 1;
            }
        }
        let word = &self.src[begin..self.pos];
        // PostgreSQL `E'...'` strings take backslash escapes.
        if word.eq_ignore_ascii_case("e") && self.bytes.get(self.pos) == Some(&b'\'') {
            self.skip_quoted(b'\'', true, "string");
            self.not_a_leading_keyword();
            return;
        }
        if self.opts.sqlite_triggers {
            self.track_trigger(word);
        }
    }

    fn track_trigger(&mut self, word: &str) {
        let is = |keyword: &str| word.eq_ignore_ascii_case(keyword);
        self.lead = match self.lead {
            Lead::Start if is("CREATE") => Lead::AfterCreate,
            Lead::AfterCreate if is("TEMP") || is("TEMPORARY") => Lead::AfterTemp,
            Lead::AfterCreate | Lead::AfterTemp if is("TRIGGER") => Lead::Trigger,
            Lead::Trigger => {
                if is("BEGIN") || is("CASE") {
                    self.depth += 1;
                } else if is("END") {
                    self.depth = self.depth.saturating_sub(1);
                }
                Lead::Trigger
            }
            _ => Lead::Other,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqls(section: &str, delimiter: &str, opts: SplitOptions) -> Vec<String> {
        split(section, 1, delimiter, opts)
            .0
            .into_iter()
            .map(|s| s.sql)
            .collect()
    }

    fn pg() -> SplitOptions {
        SplitOptions {
            dollar_quotes: true,
            ..SplitOptions::default()
        }
    }

    fn mysql() -> SplitOptions {
        SplitOptions {
            mysql_syntax: true,
            ..SplitOptions::default()
        }
    }

    fn sqlite() -> SplitOptions {
        SplitOptions {
            sqlite_triggers: true,
            ..SplitOptions::default()
        }
    }

    #[test]
    fn split_semicolons_anywhere_outside_quotes() {
        let text = "SELECT 1; SELECT 2;\nSELECT 'a;b', \"c;d\";";
        assert_eq!(
            sqls(text, ";", SplitOptions::default()),
            ["SELECT 1", "SELECT 2", "SELECT 'a;b', \"c;d\""]
        );
    }

    #[test]
    fn split_doubled_quotes_stay_in_string() {
        let text = "INSERT INTO t VALUES ('it''s;\n');\nSELECT 2;";
        assert_eq!(
            sqls(text, ";", SplitOptions::default()),
            ["INSERT INTO t VALUES ('it''s;\n')", "SELECT 2"]
        );
    }

    #[test]
    fn split_comments_with_semicolons_ignored() {
        let text = "-- drop; everything\n/* a; /* nested; */ b; */\nSELECT 1 -- trailing; note\n;\n-- only a comment;\n";
        let (statements, warnings) = split(text, 1, ";", SplitOptions::default());
        assert_eq!(
            statements,
            [Statement {
                sql: "SELECT 1 -- trailing; note".to_owned(),
                line: 3
            }]
        );
        assert!(warnings.is_empty());
    }

    #[test]
    fn split_dollar_bodies_keep_semicolons() {
        let text = "CREATE FUNCTION f() RETURNS int AS $$\nBEGIN\n  RETURN 1;\nEND;\n$$ LANGUAGE plpgsql;\nDO $body$ BEGIN PERFORM 1; END $body$;\nSELECT $1, a$b;";
        assert_eq!(
            sqls(text, ";", pg()),
            [
                "CREATE FUNCTION f() RETURNS int AS $$\nBEGIN\n  RETURN 1;\nEND;\n$$ LANGUAGE plpgsql",
                "DO $body$ BEGIN PERFORM 1; END $body$",
                "SELECT $1, a$b",
            ]
        );
        // Without dollar quoting the body is split.
        assert_eq!(sqls(text, ";", SplitOptions::default()).len(), 6);
    }

    #[test]
    fn split_postgres_escape_string_honours_backslash() {
        assert_eq!(
            sqls("SELECT E'a\\';b';SELECT 2;", ";", pg()),
            ["SELECT E'a\\';b'", "SELECT 2"]
        );
    }

    #[test]
    fn split_mysql_syntax_backslashes_hash_and_backticks() {
        let text = "INSERT INTO `t;x` VALUES ('a\\';', \"b\\\";\");\n# hash; comment\nSELECT 2;";
        assert_eq!(
            sqls(text, ";", mysql()),
            ["INSERT INTO `t;x` VALUES ('a\\';', \"b\\\";\")", "SELECT 2"]
        );
    }

    #[test]
    fn split_mysql_executable_comment_is_a_statement() {
        assert_eq!(
            sqls("/*!40101 SET NAMES utf8 */;\n/* plain */;", ";", mysql()),
            ["/*!40101 SET NAMES utf8 */"]
        );
    }

    #[test]
    fn split_sqlite_trigger_body_keeps_inner_semicolons() {
        let text = "CREATE TEMP TRIGGER trg AFTER INSERT ON t\nBEGIN\n  UPDATE t SET x = CASE WHEN 1 THEN 'END;' ELSE 2 END;\n  INSERT INTO log VALUES (1);\nEND;\nSELECT 1;";
        let (statements, _) = split(text, 10, ";", sqlite());
        assert_eq!(statements.len(), 2);
        assert!(
            statements[0].sql.ends_with("VALUES (1);\nEND"),
            "{:?}",
            statements[0].sql
        );
        assert_eq!(statements[0].line, 10);
        assert_eq!(statements[1].line, 15);
        // Without the option it splits on every `;`.
        assert_eq!(sqls(text, ";", SplitOptions::default()).len(), 4);
    }

    #[test]
    fn split_sqlite_begin_transaction_not_a_trigger() {
        assert_eq!(
            sqls("BEGIN;\nSELECT 1;\nEND;", ";", sqlite()),
            ["BEGIN", "SELECT 1", "END"]
        );
    }

    #[test]
    fn split_custom_delimiter_only_at_line_end() {
        let text =
            "CREATE PROCEDURE p()\nBEGIN\n  SELECT '//'; SELECT 1 // 2;\nEND //  \nSELECT 3//";
        assert_eq!(
            sqls(text, "//", SplitOptions::default()),
            [
                "CREATE PROCEDURE p()\nBEGIN\n  SELECT '//'; SELECT 1 // 2;\nEND",
                "SELECT 3"
            ]
        );
    }

    #[test]
    fn split_custom_delimiter_inside_word_matches_original() {
        // The original tests `line.endswith(delimiter)`, so `NEEDEND;` ends with `END;`.
        assert_eq!(
            sqls(
                "SELECT NEEDEND;\nSELECT 1 END;",
                "END;",
                SplitOptions::default()
            ),
            ["SELECT NEED", "SELECT 1"]
        );
    }

    #[test]
    fn split_dollar_delimiter_wins_over_dollar_quote_at_line_end() {
        assert_eq!(
            sqls("SELECT 1$$\nSELECT $q$x$$y$q$$$", "$$", pg()),
            ["SELECT 1", "SELECT $q$x$$y$q$"]
        );
    }

    #[test]
    fn split_line_numbers_are_file_absolute() {
        let (statements, _) = split(
            "\n\n  SELECT 1;\n\n\n/* c */ SELECT\n2;",
            7,
            ";",
            SplitOptions::default(),
        );
        assert_eq!(
            statements,
            [
                Statement {
                    sql: "SELECT 1".to_owned(),
                    line: 9
                },
                Statement {
                    sql: "SELECT\n2".to_owned(),
                    line: 12
                },
            ]
        );
    }

    #[test]
    fn split_final_statement_without_delimiter_warns() {
        let (statements, warnings) = split(
            "SELECT 1;\n\nSELECT 2  \n-- end\n",
            1,
            ";",
            SplitOptions::default(),
        );
        assert_eq!(statements.len(), 2);
        assert_eq!(statements[1].sql, "SELECT 2  \n-- end");
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("line 3"), "{warnings:?}");
    }

    #[test]
    fn split_empty_and_comment_only_yield_nothing() {
        for text in [
            "",
            "  \n\t",
            ";;;",
            "-- a;\n/* b; */ ;\n",
            "\u{feff}\u{a0}\x1c;",
        ] {
            let (statements, warnings) = split(text, 1, ";", pg());
            assert!(statements.is_empty(), "{text:?}");
            assert!(warnings.is_empty(), "{text:?}");
        }
    }

    #[test]
    fn split_unterminated_string_warns_and_keeps_text() {
        let (statements, warnings) = split(
            "SELECT 1;\nSELECT 'oops;\n",
            1,
            ";",
            SplitOptions::default(),
        );
        assert_eq!(statements.len(), 2);
        assert_eq!(statements[1].sql, "SELECT 'oops;");
        assert_eq!(warnings.len(), 2);
        assert!(warnings[0].contains("unterminated string"));
    }

    #[test]
    fn split_unicode_text_kept_intact() {
        assert_eq!(
            sqls(
                "INSERT INTO t VALUES ('café ☕;');\u{a0}SELECT 'ü';",
                ";",
                SplitOptions::default()
            ),
            ["INSERT INTO t VALUES ('café ☕;')", "SELECT 'ü'"]
        );
    }
}
