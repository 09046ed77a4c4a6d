//! Migration file content: sections, `-- jetbase:` directives, the original's line-based
//! statement parse and its checksum (COMPAT 3), and the SQL-aware parse we execute (COMPAT 4).
//! Pure text in, values out; the only I/O is [`read`]/[`read_text`] loading one file.

use std::fmt::Write as _;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::pytext::{is_py_whitespace, normalize_newlines, py_rstrip, py_strip};
use super::split::{DEFAULT_DELIMITER, SplitRules, split};
use super::{MigrationError, ParsedMigration};

/// `line[n:]` in Python: everything after the first `n` characters.
fn skip_chars(line: &str, n: usize) -> &str {
    line.char_indices().nth(n).map_or("", |(i, _)| &line[i..])
}

/// The original's rollback marker test on a line as its parser holds it (stripped when
/// executing, right-stripped for dry-run display): the stripped line starts with `--` and
/// `line[2:]`, stripped and lower-cased, is `rollback`.
fn is_rollback_marker(line: &str) -> bool {
    py_strip(line).starts_with("--") && py_strip(skip_chars(line, 2)).to_lowercase() == "rollback"
}

/// Match one ASCII-lowercase `word` case-insensitively at the start of `text`, the way
/// Python's `re.IGNORECASE` does for these letters (`ſ` matches `s`, `ı`/`İ` match `i`,
/// the Kelvin sign matches `k`). Returns the rest of `text`.
fn match_word_ci<'t>(text: &'t str, word: &str) -> Option<&'t str> {
    let mut chars = text.char_indices();
    for expected in word.chars() {
        let (_, c) = chars.next()?;
        let same = c.to_ascii_lowercase() == expected
            || matches!(
                (expected, c),
                ('s', '\u{17f}') | ('i', '\u{130}' | '\u{131}') | ('k', '\u{212a}')
            );
        if !same {
            return None;
        }
    }
    Some(chars.as_str())
}

/// Match `^--\s*jetbase:\s*<key>=(.+)$` (case-insensitive) on a stripped line and return
/// group 1, stripped.
fn match_directive<'l>(line: &'l str, key: &str) -> Option<&'l str> {
    let rest = line.strip_prefix("--")?;
    let rest = match_word_ci(rest.trim_start_matches(is_py_whitespace), "jetbase:")?;
    let rest = match_word_ci(rest.trim_start_matches(is_py_whitespace), key)?;
    let value = rest.strip_prefix('=')?;
    // `.+` needs one character; the line is stripped, so the value is never blank.
    (!value.is_empty()).then(|| py_strip(value))
}

/// What the leading comment block of a file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directives {
    pub delimiter: String,
    pub transaction: bool,
    /// `-- jetbase: foreign_keys=off`: on SQLite the file runs with foreign key enforcement
    /// off and is checked (`PRAGMA foreign_key_check`) before it commits (table rebuilds
    /// written by `make-migrations`). A comment to anything else, Python Jetbase included.
    pub foreign_keys_off: bool,
    pub warnings: Vec<String>,
}

/// Read the `-- jetbase:` directives: scanning stripped lines from the top, stopping at the
/// first non-empty line that does not start with `--`. The first delimiter directive wins
/// (the original returns on it).
#[must_use]
pub fn directives(text: &str) -> Directives {
    let text = normalize_newlines(text);
    let mut delimiter = None;
    let mut transaction = None;
    let mut foreign_keys_off = false;
    let mut warnings = Vec::new();
    for (index, raw) in text.split('\n').enumerate() {
        let line = py_strip(raw);
        if delimiter.is_none() {
            delimiter = match_directive(line, "delimiter").map(str::to_owned);
        }
        if transaction.is_none()
            && let Some(value) = match_directive(line, "transaction")
        {
            match value.to_lowercase().as_str() {
                "false" => transaction = Some(false),
                "true" => transaction = Some(true),
                _ => warnings.push(format!(
                    "line {}: `-- jetbase: transaction={value}` is not `true` or `false`; ignored",
                    index + 1
                )),
            }
        }
        if let Some(value) = match_directive(line, "foreign_keys") {
            match value.to_lowercase().as_str() {
                "off" | "false" => foreign_keys_off = true,
                "on" | "true" => foreign_keys_off = false,
                _ => warnings.push(format!(
                    "line {}: `-- jetbase: foreign_keys={value}` is not `off` or `on`; ignored",
                    index + 1
                )),
            }
        }
        if !line.is_empty() && !line.starts_with("--") {
            break;
        }
    }
    Directives {
        foreign_keys_off,
        delimiter: delimiter.unwrap_or_else(|| DEFAULT_DELIMITER.to_owned()),
        transaction: transaction.unwrap_or(true),
        warnings,
    }
}

/// Which section of a file the original's parser reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Upgrade,
    Rollback,
}

/// How the original holds each line: `Execute` strips it and joins a statement's lines with
/// a space (what it runs and hashes); `Display` right-strips and joins with `\n` (its
/// `--dry-run` output).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegacyMode {
    Execute,
    Display,
}

/// The original Jetbase 0.18.1 line-based statement parse of one section
/// (`parse_upgrade_statements` / `parse_rollback_statements`).
#[must_use]
pub fn legacy_statements(text: &str, section: Section, mode: LegacyMode) -> Vec<String> {
    let text = normalize_newlines(text);
    let delimiter = directives(&text).delimiter;
    let separator = match mode {
        LegacyMode::Execute => " ",
        LegacyMode::Display => "\n",
    };
    let mut statements = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    let mut in_rollback = false;
    for raw in text.split('\n') {
        let line = match mode {
            LegacyMode::Execute => py_strip(raw),
            LegacyMode::Display => py_rstrip(raw),
        };
        match section {
            Section::Upgrade if is_rollback_marker(line) => break,
            Section::Rollback if !in_rollback => {
                in_rollback = is_rollback_marker(line);
                continue;
            }
            _ => {}
        }
        let stripped = py_strip(line);
        if line.is_empty() || stripped.starts_with("--") {
            continue;
        }
        current.push(line);
        if stripped.ends_with(delimiter.as_str()) {
            let joined = current.join(separator);
            // `str.rstrip(delimiter)` strips a character SET, not a suffix.
            let statement = py_strip(joined.trim_end_matches(|c| delimiter.contains(c)));
            if !statement.is_empty() {
                statements.push(statement.to_owned());
            }
            current.clear();
        }
    }
    statements
}

/// The upgrade statements exactly as the original executes and hashes them.
#[must_use]
pub fn legacy_upgrade_statements(text: &str) -> Vec<String> {
    legacy_statements(text, Section::Upgrade, LegacyMode::Execute)
}

/// The rollback statements exactly as the original executes them.
#[must_use]
pub fn legacy_rollback_statements(text: &str) -> Vec<String> {
    legacy_statements(text, Section::Rollback, LegacyMode::Execute)
}

/// SHA-256, lower-case hex, of `statements` joined by `\n` (the original's `calculate_checksum`).
#[must_use]
pub fn checksum_of(statements: &[String]) -> String {
    let digest = Sha256::digest(statements.join("\n").as_bytes());
    digest
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            // Writing to a String cannot fail.
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// The checksum the original stores for a file with this text (COMPAT 3).
#[must_use]
pub fn legacy_checksum(text: &str) -> String {
    checksum_of(&legacy_upgrade_statements(text))
}

/// Parse a migration file's text: directives, the SQL-aware statements of both sections
/// with file line numbers, and the legacy checksum.
#[must_use]
pub fn parse(text: &str, opts: SplitRules) -> ParsedMigration {
    let text = normalize_newlines(text);
    let Directives {
        delimiter,
        transaction,
        foreign_keys_off,
        mut warnings,
    } = directives(&text);

    // Sections are cut by lines, as the original does: the marker line belongs to neither.
    let mut offset = 0;
    let mut marker = None;
    for (index, raw) in text.split('\n').enumerate() {
        if is_rollback_marker(py_strip(raw)) {
            marker = Some((offset, offset + raw.len(), index + 1));
            break;
        }
        offset += raw.len() + 1;
    }
    let (upgrade_text, rollback_text, rollback_line) = match marker {
        Some((start, end, line)) => (&text[..start], text.get(end + 1..).unwrap_or(""), line + 1),
        None => (&text[..], "", text.split('\n').count() + 1),
    };

    let (upgrade, upgrade_warnings) = split(upgrade_text, 1, &delimiter, opts);
    let (rollback, rollback_warnings) = split(rollback_text, rollback_line, &delimiter, opts);
    warnings.extend(upgrade_warnings);
    warnings.extend(
        rollback_warnings
            .into_iter()
            .map(|w| format!("rollback {w}")),
    );

    ParsedMigration {
        checksum: legacy_checksum(&text),
        delimiter,
        transaction,
        foreign_keys_off,
        upgrade,
        rollback,
        warnings,
    }
}

/// Read a migration file as UTF-8 text (no BOM removal, newlines untouched).
///
/// # Errors
/// Unreadable file, or bytes that are not UTF-8 (with the line of the first bad byte).
pub fn read_text(file: &Path) -> Result<String, MigrationError> {
    let bytes = std::fs::read(file).map_err(|source| MigrationError::Io {
        path: file.to_path_buf(),
        source,
    })?;
    text_from_bytes(file, bytes)
}

/// Decode a file's bytes as UTF-8, naming the line of the first bad byte on failure.
pub(crate) fn text_from_bytes(file: &Path, bytes: Vec<u8>) -> Result<String, MigrationError> {
    String::from_utf8(bytes).map_err(|error| {
        let offset = error.utf8_error().valid_up_to();
        let valid = &error.as_bytes()[..offset];
        MigrationError::NotUtf8 {
            file: file.to_path_buf(),
            line: line_of_offset(valid),
            offset,
        }
    })
}

/// The 1-based line a position falls on, counting `\n`, `\r\n` and lone `\r` as one break.
fn line_of_offset(before: &[u8]) -> usize {
    let breaks = before
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && before.get(i + 1) != Some(&b'\n')))
        .count();
    breaks + 1
}

/// Read and parse one migration file.
///
/// # Errors
/// Unreadable or non-UTF-8 file.
pub fn read(file: &Path, opts: SplitRules) -> Result<ParsedMigration, MigrationError> {
    read_text(file).map(|text| parse(&text, opts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migration::Statement;

    const WORKED_EXAMPLE: &str = "-- upgrade\nCREATE TABLE users (\n    id SERIAL PRIMARY KEY,\n    email VARCHAR(255)\n);\nINSERT INTO users (email) VALUES ('a');\n\n-- rollback\nDROP TABLE users;\n";

    const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn stmt(sql: &str, line: usize) -> Statement {
        Statement {
            sql: sql.to_owned(),
            line,
        }
    }

    #[test]
    fn legacy_checksum_fixtures_match_python_goldens() {
        // GOLDEN is produced by scripts/golden-checksums.py running the original Jetbase.
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/checksums");
        let golden = std::fs::read_to_string(dir.join("GOLDEN")).expect("GOLDEN");
        let mut checked = 0;
        for entry in golden.lines() {
            let (name, expected) = entry.split_once(' ').expect("`<file> <checksum>`");
            let text = read_text(&dir.join(name)).expect("fixture");
            assert_eq!(legacy_checksum(&text), expected, "{name}");
            checked += 1;
        }
        let fixtures = std::fs::read_dir(&dir)
            .expect("fixtures")
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql"))
            })
            .count();
        assert_eq!(checked, fixtures, "every fixture has a golden line");
        assert!(checked >= 25);
    }

    #[test]
    fn rollback_marker_variants_recognised() {
        for line in [
            "-- rollback",
            "--rollback",
            "--ROLLBACK",
            "--   Rollback  ",
            "--\x1crollback",
        ] {
            assert!(is_rollback_marker(py_strip(line)), "{line:?}");
        }
        for line in [
            "--- rollback",
            "-- rollback;",
            "-- rollback now",
            "- rollback",
            "rollback",
        ] {
            assert!(!is_rollback_marker(py_strip(line)), "{line:?}");
        }
    }

    #[test]
    fn directives_delimiter_found_in_leading_comments() {
        let text = "-- upgrade\n\n--  JetBase:Delimiter= $$ \nSELECT 1$$\n";
        assert_eq!(directives(text).delimiter, "$$");
    }

    #[test]
    fn directives_after_first_statement_ignored() {
        let text = "SELECT 1;\n-- jetbase: delimiter=//\n";
        assert_eq!(directives(text).delimiter, ";");
    }

    #[test]
    fn directives_first_delimiter_wins() {
        let text = "-- jetbase: delimiter=//\n-- jetbase: delimiter=$$\n";
        assert_eq!(directives(text).delimiter, "//");
    }

    #[test]
    fn directives_python_ignorecase_letters_accepted() {
        assert_eq!(directives("-- JETBAſE: DELİMITER=//").delimiter, "//");
        assert_eq!(directives("-- jetbase : delimiter=//").delimiter, ";");
        assert_eq!(directives("-- jetbase: delimiter=").delimiter, ";");
    }

    #[test]
    fn directives_bom_hides_first_line_directive() {
        assert_eq!(
            directives("\u{feff}-- jetbase: delimiter=//\n").delimiter,
            ";"
        );
    }

    #[test]
    fn directives_transaction_false_read() {
        let d = directives("-- jetbase: transaction=FALSE\n-- jetbase: delimiter=//\nSELECT 1//");
        assert!(!d.transaction);
        assert_eq!(d.delimiter, "//");
        assert!(directives("SELECT 1;\n-- jetbase: transaction=false\n").transaction);
    }

    #[test]
    fn directives_foreign_keys_off_read() {
        assert!(
            directives("-- a comment\n-- jetbase: foreign_keys=off\n\n-- upgrade\nSELECT 1;")
                .foreign_keys_off
        );
        assert!(!directives("SELECT 1;\n-- jetbase: foreign_keys=off\n").foreign_keys_off);
        let d = directives("-- jetbase: foreign_keys=maybe\n");
        assert!(!d.foreign_keys_off && d.warnings.len() == 1);
    }

    #[test]
    fn directives_transaction_bad_value_warns() {
        let d = directives("-- jetbase: transaction=maybe\n");
        assert!(d.transaction);
        assert_eq!(d.warnings.len(), 1);
        assert!(d.warnings[0].contains("line 1"));
    }

    #[test]
    fn legacy_checksum_worked_example_matches_compat() {
        assert_eq!(
            legacy_upgrade_statements(WORKED_EXAMPLE),
            [
                "CREATE TABLE users ( id SERIAL PRIMARY KEY, email VARCHAR(255) )",
                "INSERT INTO users (email) VALUES ('a')"
            ]
        );
        assert_eq!(
            legacy_checksum(WORKED_EXAMPLE),
            "93fda7ecfbc8799688708d44526b3e750fdab2dd963d37d9785956fff9dc8283"
        );
        assert_eq!(
            legacy_rollback_statements(WORKED_EXAMPLE),
            ["DROP TABLE users"]
        );
    }

    #[test]
    fn legacy_checksum_no_statements_hashes_empty_string() {
        assert_eq!(legacy_checksum(""), EMPTY_SHA256);
        assert_eq!(
            legacy_checksum("-- upgrade\nSELECT 1\n-- rollback\n"),
            EMPTY_SHA256
        );
    }

    #[test]
    fn legacy_statements_rstrip_is_a_character_set() {
        assert_eq!(legacy_upgrade_statements("SELECT 1;;\n"), ["SELECT 1"]);
        let text = "-- jetbase: delimiter=END;\nSELECT 1 AS NEEDEND;\n";
        assert_eq!(legacy_upgrade_statements(text), ["SELECT 1 AS"]);
    }

    #[test]
    fn legacy_display_mode_keeps_indentation() {
        let text = "CREATE TABLE t (\n    id INT\n);\n  -- rollback\nDROP TABLE t;\n";
        // In display mode the marker test sees `line[2:]` of an unstripped line.
        assert_eq!(
            legacy_statements(text, Section::Upgrade, LegacyMode::Display),
            ["CREATE TABLE t (\n    id INT\n)", "DROP TABLE t"]
        );
        assert_eq!(
            legacy_upgrade_statements(text),
            ["CREATE TABLE t ( id INT )"]
        );
    }

    #[test]
    fn parse_worked_example_sections_and_lines() {
        let parsed = parse(WORKED_EXAMPLE, SplitRules::default());
        assert_eq!(parsed.delimiter, ";");
        assert!(parsed.transaction);
        assert_eq!(
            parsed.upgrade,
            [
                stmt(
                    "CREATE TABLE users (\n    id SERIAL PRIMARY KEY,\n    email VARCHAR(255)\n)",
                    2
                ),
                stmt("INSERT INTO users (email) VALUES ('a')", 6),
            ]
        );
        assert_eq!(parsed.rollback, [stmt("DROP TABLE users", 9)]);
        assert_eq!(
            parsed.checksum,
            "93fda7ecfbc8799688708d44526b3e750fdab2dd963d37d9785956fff9dc8283"
        );
        assert!(parsed.warnings.is_empty());
    }

    #[test]
    fn parse_crlf_line_numbers_file_absolute() {
        let parsed = parse(
            "SELECT 1;\r\n\r\n-- rollback\r\n\r\nSELECT 2;\rSELECT 3",
            SplitRules::default(),
        );
        assert_eq!(parsed.upgrade, [stmt("SELECT 1", 1)]);
        assert_eq!(parsed.rollback, [stmt("SELECT 2", 5), stmt("SELECT 3", 6)]);
        assert_eq!(parsed.warnings.len(), 1);
        assert!(
            parsed.warnings[0].contains("line 6"),
            "{:?}",
            parsed.warnings
        );
    }

    #[test]
    fn parse_final_statement_without_delimiter_kept_with_warning() {
        let parsed = parse("SELECT 1;\nSELECT 2\n", SplitRules::default());
        assert_eq!(parsed.upgrade, [stmt("SELECT 1", 1), stmt("SELECT 2", 2)]);
        assert_eq!(parsed.checksum, checksum_of(&["SELECT 1".to_owned()]));
        assert_eq!(parsed.warnings.len(), 1);
        assert!(parsed.warnings[0].contains("line 2"));
    }

    #[test]
    fn parse_custom_delimiter_used_for_split() {
        let text =
            "-- jetbase: delimiter=//\nCREATE PROCEDURE p() BEGIN SELECT 1; END//\nSELECT 2//\n";
        let parsed = parse(text, SplitRules::default());
        assert_eq!(parsed.delimiter, "//");
        assert_eq!(
            parsed.upgrade,
            [
                stmt("CREATE PROCEDURE p() BEGIN SELECT 1; END", 2),
                stmt("SELECT 2", 3)
            ]
        );
    }

    #[test]
    fn read_non_utf8_reports_line_and_offset() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("V1__bad.sql");
        std::fs::write(&path, b"SELECT 1;\r\nSELECT 'caf\xe9';\n").expect("write");
        match read(&path, SplitRules::default()) {
            Err(MigrationError::NotUtf8 { file, line, offset }) => {
                assert_eq!(file, path);
                assert_eq!(line, 2);
                assert_eq!(offset, 22);
            }
            other => panic!("expected NotUtf8, got {other:?}"),
        }
    }

    #[test]
    fn read_missing_file_is_io_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let result = read(&dir.path().join("nope.sql"), SplitRules::default());
        assert!(matches!(result, Err(MigrationError::Io { .. })));
    }

    #[test]
    fn read_valid_file_parses() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("V1__ok.sql");
        std::fs::write(&path, WORKED_EXAMPLE).expect("write");
        let parsed = read(&path, SplitRules::default()).expect("read");
        assert_eq!(parsed.upgrade.len(), 2);
    }
}
