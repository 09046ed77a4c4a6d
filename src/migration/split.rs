//! The SQL-aware statement splitter (COMPAT 4): what we execute, with file line numbers.
//! It never affects the checksum, which stays the original's line-based parse. Which lexical
//! rules apply is a [`SplitRules`] value each driver picks; this module names no driver.

use super::Statement;
use super::pytext::{is_py_whitespace, py_rstrip};

/// The delimiter when a file has no `-- jetbase: delimiter=` directive. It ends a statement
/// anywhere outside strings, quoted identifiers, comments and bodies.
pub const DEFAULT_DELIMITER: &str = ";";

/// The lexical rules of one database's SQL that decide where a `;` ends a statement.
///
/// Each field is one feature, named for what it recognises, so a driver picks its mix. What
/// holds whatever the rules say: `'...'` strings with `''` doubled to escape; `"..."` quoted
/// (an identifier unless [`double_quoted_strings`](Self::double_quoted_strings)); `--` line
/// comments; `/* ... */` block comments; PostgreSQL-style `E'...'` strings honour backslash
/// escapes (harmless elsewhere: `E'` is not valid SQL in the databases that lack it); a
/// custom delimiter ends a statement only at the end of a line.
///
/// [`Default`] is standard SQL: none of the optional rules, and block comments nest as the
/// SQL standard says. The presets ([`sqlite`](Self::sqlite), [`postgresql`](Self::postgresql),
/// [`mysql`](Self::mysql), [`clickhouse`](Self::clickhouse), [`snowflake`](Self::snowflake),
/// [`databricks`](Self::databricks)) are what each database's driver uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::struct_excessive_bools)] // Independent features, one flag each.
pub struct SplitRules {
    /// A backslash escapes the next character inside string literals (`'...'`, and `"..."`
    /// where those are strings), so `'a\';b'` is one string. MySQL (unless
    /// `NO_BACKSLASH_ESCAPES`), ClickHouse, Snowflake, Databricks. Not PostgreSQL (except
    /// `E'...'`, always honoured) nor SQLite.
    pub backslash_escapes: bool,
    /// A backslash also escapes inside quoted identifiers (`"..."` and `` `...` ``).
    /// ClickHouse, whose lexer reads all three quote kinds alike. Not MySQL, whose backtick
    /// identifiers only know the doubled backtick.
    pub backslash_in_identifiers: bool,
    /// `"..."` is a string literal rather than a quoted identifier (this only changes how
    /// backslashes apply inside it and what a warning calls it). MySQL (unless
    /// `ANSI_QUOTES`), Databricks.
    pub double_quoted_strings: bool,
    /// `` `...` `` is a quoted identifier (a doubled backtick escapes one). MySQL,
    /// ClickHouse, Databricks.
    pub backtick_identifiers: bool,
    /// `#` starts a line comment: always (MySQL) or only before a space or `!`
    /// (ClickHouse, where `#hello` is not a comment).
    pub hash_comments: HashComments,
    /// `//` starts a line comment. Snowflake, ClickHouse. A custom `//` delimiter at the end
    /// of a line still ends the statement: the delimiter is looked for first.
    pub slash_comments: bool,
    /// A `/*` inside a block comment opens a nested one that needs its own `*/`, as the SQL
    /// standard says. PostgreSQL, ClickHouse, Databricks (Spark 3.0 and later), and today's
    /// SQLite rules (SQLite itself closes at the first `*/`). Not MySQL nor Snowflake.
    pub nested_block_comments: bool,
    /// MySQL executable comments `/*! ... */` and `/*!50100 ... */` are code the server runs:
    /// a statement made only of one is kept (a plain comment alone is dropped). The comment
    /// is kept whole: a `;` inside it does not end the statement, so the server receives
    /// `/*!40101 SET a = 1; SET b = 2 */` as written (the mysql client would cut it at the
    /// `;` and send both halves unterminated). MySQL.
    pub executable_comments: bool,
    /// Dollar-quoted bodies, whose `;` are text: none, `$$ ... $$` only, or also
    /// `$tag$ ... $tag$`.
    pub dollar_quotes: DollarQuotes,
    /// `CREATE [TEMP | TEMPORARY] TRIGGER ... BEGIN ... END` keeps the `;` of its body
    /// (`BEGIN` and `CASE` open, `END` closes). SQLite, which has no delimiter command.
    /// MySQL compound statements (`CREATE PROCEDURE ... BEGIN ... END`) are not recognised:
    /// they need `-- jetbase: delimiter=//`, as with the mysql client.
    pub trigger_bodies: bool,
}

/// Which `#` starts a line comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashComments {
    /// `#` is not a comment (PostgreSQL uses it as an operator).
    None,
    /// Every `#` outside a string starts a comment (MySQL).
    Always,
    /// `# ` and `#!` start a comment, `#x` does not (ClickHouse's lexer).
    BeforeSpaceOrBang,
}

/// Which dollar-quoted bodies are recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DollarQuotes {
    /// `$` is an ordinary character.
    None,
    /// Only `$$ ... $$` (Snowflake).
    Plain,
    /// `$$ ... $$` and `$tag$ ... $tag$`, where the tag is an identifier that does not start
    /// with a digit (PostgreSQL; ClickHouse heredocs; Databricks `$[tag]$` function bodies).
    Tagged,
}

impl Default for SplitRules {
    fn default() -> Self {
        Self::standard()
    }
}

impl SplitRules {
    /// Standard SQL (see [`Default`]).
    #[must_use]
    pub const fn standard() -> Self {
        Self {
            backslash_escapes: false,
            backslash_in_identifiers: false,
            double_quoted_strings: false,
            backtick_identifiers: false,
            hash_comments: HashComments::None,
            slash_comments: false,
            nested_block_comments: true,
            executable_comments: false,
            dollar_quotes: DollarQuotes::None,
            trigger_bodies: false,
        }
    }

    /// SQLite: trigger bodies.
    #[must_use]
    pub const fn sqlite() -> Self {
        Self {
            trigger_bodies: true,
            ..Self::standard()
        }
    }

    /// PostgreSQL: `$$` and `$tag$` bodies.
    #[must_use]
    pub const fn postgresql() -> Self {
        Self {
            dollar_quotes: DollarQuotes::Tagged,
            ..Self::standard()
        }
    }

    /// MySQL and MariaDB in their default `sql_mode`: backslash escapes, `"..."` strings,
    /// backtick identifiers, `#` comments, flat block comments, executable comments.
    #[must_use]
    pub const fn mysql() -> Self {
        Self {
            backslash_escapes: true,
            double_quoted_strings: true,
            backtick_identifiers: true,
            hash_comments: HashComments::Always,
            nested_block_comments: false,
            executable_comments: true,
            ..Self::standard()
        }
    }

    /// ClickHouse, as its lexer (`src/Parsers/Lexer.cpp`) reads SQL: backslash escapes in
    /// strings and quoted identifiers, backtick identifiers, `# `/`#!` and `//` comments,
    /// nested block comments, `$tag$` heredocs.
    #[must_use]
    pub const fn clickhouse() -> Self {
        Self {
            backslash_escapes: true,
            backslash_in_identifiers: true,
            backtick_identifiers: true,
            hash_comments: HashComments::BeforeSpaceOrBang,
            slash_comments: true,
            dollar_quotes: DollarQuotes::Tagged,
            ..Self::standard()
        }
    }

    /// Snowflake: backslash escapes in strings, `//` comments, `$$` bodies (no tags),
    /// block comments that do not nest.
    #[must_use]
    pub const fn snowflake() -> Self {
        Self {
            backslash_escapes: true,
            slash_comments: true,
            nested_block_comments: false,
            dollar_quotes: DollarQuotes::Plain,
            ..Self::standard()
        }
    }

    /// Databricks (Spark SQL): backslash escapes, `"..."` strings, backtick identifiers,
    /// nested block comments, `$[tag]$` function bodies.
    #[must_use]
    pub const fn databricks() -> Self {
        Self {
            backslash_escapes: true,
            double_quoted_strings: true,
            backtick_identifiers: true,
            dollar_quotes: DollarQuotes::Tagged,
            ..Self::standard()
        }
    }
}

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
    rules: SplitRules,
) -> (Vec<Statement>, Vec<String>) {
    let mut splitter = Splitter {
        src: section,
        bytes: section.as_bytes(),
        pos: 0,
        delimiter,
        rules,
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
    rules: SplitRules,
    /// A byte offset and its line number, to count lines incrementally.
    cursor: (usize, usize),
    first_line: usize,
    /// Byte offset and line of the current statement's first significant character.
    start: Option<(usize, usize)>,
    lead: Lead,
    /// `BEGIN`/`CASE` minus `END` inside a trigger body.
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
                b'#' if self.hash_comment_at() => self.skip_line_comment(),
                b'/' if next == Some(b'/') && self.rules.slash_comments => {
                    self.skip_line_comment();
                }
                b'/' if next == Some(b'*') => {
                    // `/*! ... */` is code the server runs, so it is part of a statement.
                    if self.rules.executable_comments && self.bytes.get(self.pos + 2) == Some(&b'!')
                    {
                        self.significant(false);
                    }
                    self.skip_block_comment();
                }
                b'\'' => {
                    self.significant(false);
                    self.skip_quoted(b'\'', self.rules.backslash_escapes, "string");
                }
                b'"' => {
                    self.significant(false);
                    if self.rules.double_quoted_strings {
                        self.skip_quoted(b'"', self.rules.backslash_escapes, "string");
                    } else {
                        let backslash = self.rules.backslash_in_identifiers;
                        self.skip_quoted(b'"', backslash, "quoted identifier");
                    }
                }
                b'`' if self.rules.backtick_identifiers => {
                    self.significant(false);
                    let backslash = self.rules.backslash_in_identifiers;
                    self.skip_quoted(b'`', backslash, "quoted identifier");
                }
                b'$' if self.dollar_tag().is_some() => {
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
                self.rules.trigger_bodies && self.lead == Lead::Trigger && self.depth > 0;
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

    /// `/* ... */`, nested when the rules say so (else the first `*/` closes the comment).
    fn skip_block_comment(&mut self) {
        let opened = self.pos;
        let mut depth = 0usize;
        while self.pos < self.bytes.len() {
            let pair = (self.bytes[self.pos], self.bytes.get(self.pos + 1).copied());
            match pair {
                (b'/', Some(b'*')) if depth == 0 || self.rules.nested_block_comments => {
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

    /// Whether a `#` at `self.pos` starts a line comment.
    fn hash_comment_at(&self) -> bool {
        match self.rules.hash_comments {
            HashComments::None => false,
            HashComments::Always => true,
            HashComments::BeforeSpaceOrBang => {
                matches!(self.bytes.get(self.pos + 1), Some(b' ' | b'!'))
            }
        }
    }

    /// The `$$` or `$tag$` opening at `self.pos` that the rules recognise, if any (a tag is
    /// an identifier without `$` that does not start with a digit).
    fn dollar_tag(&self) -> Option<&str> {
        match self.rules.dollar_quotes {
            DollarQuotes::None => return None,
            DollarQuotes::Plain => {
                return self.src[self.pos..]
                    .starts_with("$$")
                    .then(|| &self.src[self.pos..self.pos + 2]);
            }
            DollarQuotes::Tagged => {}
        }
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
        if self.rules.trigger_bodies {
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

    fn sqls(section: &str, delimiter: &str, rules: SplitRules) -> Vec<String> {
        split(section, 1, delimiter, rules)
            .0
            .into_iter()
            .map(|s| s.sql)
            .collect()
    }

    fn pg() -> SplitRules {
        SplitRules::postgresql()
    }

    fn mysql() -> SplitRules {
        SplitRules::mysql()
    }

    fn sqlite() -> SplitRules {
        SplitRules::sqlite()
    }

    #[test]
    fn split_semicolons_anywhere_outside_quotes() {
        let text = "SELECT 1; SELECT 2;\nSELECT 'a;b', \"c;d\";";
        assert_eq!(
            sqls(text, ";", SplitRules::default()),
            ["SELECT 1", "SELECT 2", "SELECT 'a;b', \"c;d\""]
        );
    }

    #[test]
    fn split_doubled_quotes_stay_in_string() {
        let text = "INSERT INTO t VALUES ('it''s;\n');\nSELECT 2;";
        assert_eq!(
            sqls(text, ";", SplitRules::default()),
            ["INSERT INTO t VALUES ('it''s;\n')", "SELECT 2"]
        );
    }

    #[test]
    fn split_comments_with_semicolons_ignored() {
        let text = "-- drop; everything\n/* a; /* nested; */ b; */\nSELECT 1 -- trailing; note\n;\n-- only a comment;\n";
        let (statements, warnings) = split(text, 1, ";", SplitRules::default());
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
        assert_eq!(sqls(text, ";", SplitRules::default()).len(), 6);
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
        assert_eq!(sqls(text, ";", SplitRules::default()).len(), 4);
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
            sqls(text, "//", SplitRules::default()),
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
                SplitRules::default()
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
            SplitRules::default(),
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
            SplitRules::default(),
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
        let (statements, warnings) =
            split("SELECT 1;\nSELECT 'oops;\n", 1, ";", SplitRules::default());
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
                SplitRules::default()
            ),
            ["INSERT INTO t VALUES ('café ☕;')", "SELECT 'ü'"]
        );
    }

    /// Standard SQL with one change.
    fn with(change: impl FnOnce(&mut SplitRules)) -> SplitRules {
        let mut rules = SplitRules::standard();
        change(&mut rules);
        rules
    }

    /// The statements with the rule off, then on.
    fn off_on(text: &str, change: impl FnOnce(&mut SplitRules)) -> [Vec<String>; 2] {
        [
            sqls(text, ";", SplitRules::standard()),
            sqls(text, ";", with(change)),
        ]
    }

    #[test]
    fn split_rules_default_is_standard_sql() {
        assert_eq!(SplitRules::default(), SplitRules::standard());
        let rules = SplitRules::default();
        assert!(rules.nested_block_comments);
        assert_eq!(rules.hash_comments, HashComments::None);
        assert_eq!(rules.dollar_quotes, DollarQuotes::None);
    }

    #[test]
    fn split_rule_backslash_escapes_keep_escaped_quote_in_string() {
        let text = "SELECT 'a\\';b';\nSELECT 2;";
        let [off, on] = off_on(text, |r| r.backslash_escapes = true);
        assert_eq!(on, ["SELECT 'a\\';b'", "SELECT 2"]);
        assert_eq!(off, ["SELECT 'a\\'", "b';\nSELECT 2;"]);
        // Not in quoted identifiers, dollar bodies or comments.
        for text in [
            "SELECT \"a\\\";b\";",
            "SELECT $$a\\$$;b;",
            "SELECT 1 -- a\\\n;b;",
        ] {
            let rules = |r: &mut SplitRules| {
                r.backslash_escapes = true;
                r.dollar_quotes = DollarQuotes::Plain;
            };
            let plain = with(|r| r.dollar_quotes = DollarQuotes::Plain);
            assert_eq!(
                sqls(text, ";", with(rules)),
                sqls(text, ";", plain),
                "{text:?}"
            );
        }
    }

    #[test]
    fn split_rule_backslash_in_identifiers_applies_to_double_quotes_and_backticks() {
        let text = "SELECT \"a\\\";b\";\nSELECT 2;";
        let [off, on] = off_on(text, |r| r.backslash_in_identifiers = true);
        assert_eq!(on, ["SELECT \"a\\\";b\"", "SELECT 2"]);
        assert_eq!(off, ["SELECT \"a\\\"", "b\";\nSELECT 2;"]);
        let ticks = "SELECT `a\\`;b`;\nSELECT 2;";
        let backticks = with(|r| r.backtick_identifiers = true);
        let both = with(|r| {
            r.backtick_identifiers = true;
            r.backslash_in_identifiers = true;
        });
        assert_eq!(sqls(ticks, ";", both), ["SELECT `a\\`;b`", "SELECT 2"]);
        assert_eq!(sqls(ticks, ";", backticks).len(), 2);
        // Strings keep their own rule.
        let string = "SELECT 'a\\';b';";
        assert_eq!(
            sqls(string, ";", with(|r| r.backslash_in_identifiers = true)),
            sqls(string, ";", SplitRules::standard())
        );
    }

    #[test]
    fn split_rule_double_quoted_strings_take_string_escapes_and_name() {
        let text = "SELECT \"a\\\";b\";\nSELECT 2;";
        let escapes = with(|r| r.backslash_escapes = true);
        let strings = with(|r| {
            r.backslash_escapes = true;
            r.double_quoted_strings = true;
        });
        assert_eq!(sqls(text, ";", strings), ["SELECT \"a\\\";b\"", "SELECT 2"]);
        assert_eq!(sqls(text, ";", escapes).len(), 2);
        // Without backslash escapes only the warning's wording changes.
        let open = "SELECT \"a;";
        let (_, as_ident) = split(open, 1, ";", SplitRules::standard());
        let (_, as_string) = split(open, 1, ";", with(|r| r.double_quoted_strings = true));
        assert!(
            as_ident[0].contains("unterminated quoted identifier"),
            "{as_ident:?}"
        );
        assert!(
            as_string[0].contains("unterminated string"),
            "{as_string:?}"
        );
        assert_eq!(
            sqls(
                "SELECT \"a;b\";",
                ";",
                with(|r| r.double_quoted_strings = true)
            ),
            sqls("SELECT \"a;b\";", ";", SplitRules::standard())
        );
    }

    #[test]
    fn split_rule_backtick_identifiers_keep_semicolons() {
        let [off, on] = off_on("SELECT `a;b`, `c``;d`;\nSELECT 2;", |r| {
            r.backtick_identifiers = true;
        });
        assert_eq!(on, ["SELECT `a;b`, `c``;d`", "SELECT 2"]);
        assert_eq!(off, ["SELECT `a", "b`, `c``", "d`", "SELECT 2"]);
    }

    #[test]
    fn split_rule_hash_comments_always_or_before_space_or_bang() {
        let text = "SELECT 1 # a; b\n;\nSELECT #x; 2;\nSELECT 3 #! c; d\n;";
        let always = with(|r| r.hash_comments = HashComments::Always);
        let clickhouse = with(|r| r.hash_comments = HashComments::BeforeSpaceOrBang);
        assert_eq!(
            sqls(text, ";", SplitRules::standard()),
            ["SELECT 1 # a", "b", "SELECT #x", "2", "SELECT 3 #! c", "d"]
        );
        assert_eq!(
            sqls(text, ";", always),
            ["SELECT 1 # a; b", "SELECT #x; 2;\nSELECT 3 #! c; d",]
        );
        assert_eq!(
            sqls(text, ";", clickhouse),
            ["SELECT 1 # a; b", "SELECT #x", "2", "SELECT 3 #! c; d"]
        );
        // Inside strings `#` is text.
        assert_eq!(sqls("SELECT '# a;';", ";", always), ["SELECT '# a;'"]);
    }

    #[test]
    fn split_rule_slash_comments_hide_semicolons() {
        let text = "SELECT 1 // a; b\n;\nSELECT 4 / 2; SELECT '//;';";
        let [off, on] = off_on(text, |r| r.slash_comments = true);
        assert_eq!(on, ["SELECT 1 // a; b", "SELECT 4 / 2", "SELECT '//;'"]);
        assert_eq!(off, ["SELECT 1 // a", "b", "SELECT 4 / 2", "SELECT '//;'"]);
    }

    #[test]
    fn split_rule_slash_comments_yield_to_custom_slash_delimiter_at_line_end() {
        let text = "SELECT 1 // note\nSELECT 2 //\nSELECT 3//";
        let rules = with(|r| r.slash_comments = true);
        assert_eq!(
            sqls(text, "//", rules),
            ["SELECT 1 // note\nSELECT 2", "SELECT 3"]
        );
        assert_eq!(
            sqls(text, "//", rules),
            sqls(text, "//", SplitRules::standard())
        );
    }

    #[test]
    fn split_rule_nested_block_comments_need_each_close() {
        let text = "/* a /* b */ c; */ SELECT 1;";
        let flat = with(|r| r.nested_block_comments = false);
        assert_eq!(sqls(text, ";", SplitRules::standard()), ["SELECT 1"]);
        assert_eq!(sqls(text, ";", flat), ["c", "*/ SELECT 1"]);
        let plain = "/* a; */ SELECT 1; /* b; */";
        assert_eq!(
            sqls(plain, ";", flat),
            sqls(plain, ";", SplitRules::standard())
        );
    }

    #[test]
    fn split_rule_executable_comments_are_statements_kept_whole() {
        let text = "/*!40101 SET a = 1; SET b = 2 */;\n/* plain; */;\n/*! SELECT 3 */;\nSELECT 4;";
        let [off, on] = off_on(text, |r| r.executable_comments = true);
        assert_eq!(
            on,
            [
                "/*!40101 SET a = 1; SET b = 2 */",
                "/*! SELECT 3 */",
                "SELECT 4"
            ]
        );
        assert_eq!(off, ["SELECT 4"]);
        // Inside a statement the comment is text either way.
        let inside = "SELECT /*!40001 SQL_NO_CACHE; */ 1;";
        let [off, on] = off_on(inside, |r| r.executable_comments = true);
        assert_eq!(on, ["SELECT /*!40001 SQL_NO_CACHE; */ 1"]);
        assert_eq!(on, off);
        // With MySQL's flat comments the first `*/` closes it.
        assert_eq!(
            sqls("/*! SELECT 1 /* x */; SELECT 2;", ";", SplitRules::mysql()),
            ["/*! SELECT 1 /* x */", "SELECT 2"]
        );
    }

    #[test]
    fn split_rule_dollar_quotes_none_plain_tagged() {
        let text = "SELECT $$a;b$$;\nSELECT $t$c;d$t$;";
        let plain = with(|r| r.dollar_quotes = DollarQuotes::Plain);
        let tagged = with(|r| r.dollar_quotes = DollarQuotes::Tagged);
        assert_eq!(
            sqls(text, ";", SplitRules::standard()),
            ["SELECT $$a", "b$$", "SELECT $t$c", "d$t$"]
        );
        assert_eq!(
            sqls(text, ";", plain),
            ["SELECT $$a;b$$", "SELECT $t$c", "d$t$"]
        );
        assert_eq!(
            sqls(text, ";", tagged),
            ["SELECT $$a;b$$", "SELECT $t$c;d$t$"]
        );
        // Parameters, `$` inside words and digit tags are not bodies.
        let other = "SELECT $1, a$b, $2$ x; $2$;";
        let expected = sqls(other, ";", SplitRules::standard());
        assert_eq!(sqls(other, ";", plain), expected);
        assert_eq!(sqls(other, ";", tagged), expected);
    }

    #[test]
    fn split_rule_trigger_bodies_only_in_create_trigger() {
        let text = "CREATE TRIGGER t AFTER INSERT ON x BEGIN SELECT 1; END;\nSELECT 2;";
        let [off, on] = off_on(text, |r| r.trigger_bodies = true);
        assert_eq!(
            on,
            [
                "CREATE TRIGGER t AFTER INSERT ON x BEGIN SELECT 1; END",
                "SELECT 2"
            ]
        );
        assert_eq!(off.len(), 3);
        for other in [
            "CREATE TABLE t (a INT); BEGIN; SELECT 1; END;",
            "CREATE PROCEDURE p() BEGIN SELECT 1; END;",
            "SELECT CASE WHEN 1 THEN 2 END; SELECT 3;",
        ] {
            let [off, on] = off_on(other, |r| r.trigger_bodies = true);
            assert_eq!(on, off, "{other:?}");
        }
    }

    #[test]
    fn split_rules_presets_pick_documented_features() {
        let sqlite = SplitRules::sqlite();
        assert!(sqlite.trigger_bodies && sqlite.nested_block_comments);
        assert_eq!(
            SplitRules {
                trigger_bodies: false,
                ..sqlite
            },
            SplitRules::standard()
        );
        assert_eq!(
            SplitRules {
                dollar_quotes: DollarQuotes::None,
                ..SplitRules::postgresql()
            },
            SplitRules::standard()
        );
        let mysql = SplitRules::mysql();
        assert!(mysql.backslash_escapes && mysql.double_quoted_strings);
        assert!(mysql.backtick_identifiers && mysql.executable_comments);
        assert!(!mysql.backslash_in_identifiers && !mysql.nested_block_comments);
        assert_eq!(mysql.hash_comments, HashComments::Always);
        assert_eq!(mysql.dollar_quotes, DollarQuotes::None);

        let clickhouse = SplitRules::clickhouse();
        assert!(clickhouse.backtick_identifiers && clickhouse.backslash_escapes);
        assert!(clickhouse.backslash_in_identifiers && clickhouse.slash_comments);
        assert!(clickhouse.nested_block_comments && !clickhouse.double_quoted_strings);
        assert_eq!(clickhouse.hash_comments, HashComments::BeforeSpaceOrBang);
        assert_eq!(clickhouse.dollar_quotes, DollarQuotes::Tagged);

        let snowflake = SplitRules::snowflake();
        assert!(snowflake.slash_comments && snowflake.backslash_escapes);
        assert!(!snowflake.backtick_identifiers && !snowflake.nested_block_comments);
        assert_eq!(snowflake.dollar_quotes, DollarQuotes::Plain);
        assert_eq!(snowflake.hash_comments, HashComments::None);

        let databricks = SplitRules::databricks();
        assert!(databricks.backtick_identifiers && databricks.backslash_escapes);
        assert!(databricks.double_quoted_strings && databricks.nested_block_comments);
        assert!(!databricks.slash_comments && !databricks.executable_comments);
        assert_eq!(databricks.hash_comments, HashComments::None);
        assert_eq!(databricks.dollar_quotes, DollarQuotes::Tagged);
        for rules in [clickhouse, snowflake, databricks] {
            assert!(!rules.trigger_bodies && !rules.executable_comments);
        }
    }

    #[test]
    fn split_clickhouse_preset_sample() {
        let text = "CREATE TABLE `t;1` (s String) ENGINE = MergeTree ORDER BY s; # note; here\n\
                    INSERT INTO `t;1` VALUES ('it\\'s;'), ($doc$ a; b $doc$); // c; d\n\
                    SELECT \"x\\\";y\" FROM `t;1` /* a /* b; */ c; */ WHERE s != '';\n\
                    SELECT #x; 1;";
        assert_eq!(
            sqls(text, ";", SplitRules::clickhouse()),
            [
                "CREATE TABLE `t;1` (s String) ENGINE = MergeTree ORDER BY s",
                "INSERT INTO `t;1` VALUES ('it\\'s;'), ($doc$ a; b $doc$)",
                "SELECT \"x\\\";y\" FROM `t;1` /* a /* b; */ c; */ WHERE s != ''",
                "SELECT #x",
                "1",
            ]
        );
    }

    #[test]
    fn split_snowflake_preset_sample() {
        let text = "CREATE FUNCTION f() RETURNS STRING LANGUAGE JAVASCRIPT AS $$\n  return 'a;b';\n$$;\n\
                    SELECT 'it\\'s;' AS \"q;x\" // note; here\n;\n\
                    SELECT $1 FROM @stage /* a /* b */ SELECT 2;\n\
                    SELECT $tag$ x; $tag$;";
        assert_eq!(
            sqls(text, ";", SplitRules::snowflake()),
            [
                "CREATE FUNCTION f() RETURNS STRING LANGUAGE JAVASCRIPT AS $$\n  return 'a;b';\n$$",
                "SELECT 'it\\'s;' AS \"q;x\" // note; here",
                "SELECT $1 FROM @stage /* a /* b */ SELECT 2",
                "SELECT $tag$ x",
                "$tag$",
            ]
        );
    }

    #[test]
    fn split_databricks_preset_sample() {
        let text = "CREATE FUNCTION f(s STRING) RETURNS STRING LANGUAGE PYTHON AS $py$\nreturn s + ';'\n$py$;\n\
                    SELECT \"a\\\";b\", 'c\\';d', `e;f` /* x /* y; */ z; */ FROM t;\n\
                    SELECT 1 // 2;";
        assert_eq!(
            sqls(text, ";", SplitRules::databricks()),
            [
                "CREATE FUNCTION f(s STRING) RETURNS STRING LANGUAGE PYTHON AS $py$\nreturn s + ';'\n$py$",
                "SELECT \"a\\\";b\", 'c\\';d', `e;f` /* x /* y; */ z; */ FROM t",
                "SELECT 1 // 2",
            ]
        );
    }
}
