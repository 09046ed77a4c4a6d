//! Migration file name rules (COMPAT 2): kind, version and description from a file name; pure.

use std::fmt;

use super::pytext::py_strip;
use super::{MigrationKind, Version};

/// Longest file name the original accepts, in characters (`len(filename) <= 512`).
pub const MAX_FILENAME_CHARS: usize = 512;

/// The naming rule a file name breaks, checked in the original's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// The name is not valid Unicode.
    NotUnicode,
    /// The name does not end with `.sql`.
    Extension,
    /// The name does not start with `V`, `RA__` or `ROC__` (case-sensitive).
    Prefix,
    /// The name has no `__` separating the version from the description.
    Separator,
    /// The description between the first `__` and the first `.sql` is blank.
    EmptyDescription,
    /// The text between `V` and the first `__` does not match `^\d+([._]\d+)*$`.
    Version,
}

impl fmt::Display for NameRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NameRule::NotUnicode => "the name is not valid UTF-8",
            NameRule::Extension => "the name must end with `.sql`",
            NameRule::Prefix => "the name must start with `V`, `RA__` or `ROC__` (case-sensitive)",
            NameRule::Separator => "the name must contain `__` before the description",
            NameRule::EmptyDescription => {
                "the description between the first `__` and `.sql` must not be blank"
            }
            NameRule::Version => {
                "the version between `V` and `__` must be digits separated by `.` or `_` (e.g. `1`, `1_2`, `1.2.0`)"
            }
        })
    }
}

/// What a valid file name says about its migration.
#[derive(Debug, Clone)]
pub struct ParsedName {
    pub kind: MigrationKind,
    /// Present for versioned files only.
    pub version: Option<Version>,
    /// The raw description with `_` replaced by a space (the `description` column).
    pub description: String,
}

/// Check a file name against the original's `is_filename_format_valid` rules (the length
/// limit is separate, see [`MAX_FILENAME_CHARS`]).
///
/// # Errors
/// The first rule the name breaks.
pub fn parse_filename(name: &str) -> Result<ParsedName, NameRule> {
    // Case-sensitive on purpose: the original ignores `X.SQL`.
    #[allow(clippy::case_sensitive_file_extension_comparisons)]
    if !name.ends_with(".sql") {
        return Err(NameRule::Extension);
    }
    let kind = if name.starts_with("RA__") {
        MigrationKind::RunsAlways
    } else if name.starts_with("ROC__") {
        MigrationKind::RunsOnChange
    } else if name.starts_with('V') {
        MigrationKind::Versioned
    } else {
        return Err(NameRule::Prefix);
    };
    let separator = name.find("__").ok_or(NameRule::Separator)?;
    let description = raw_description(name, separator);
    if description.is_empty() {
        return Err(NameRule::EmptyDescription);
    }
    let version = match kind {
        MigrationKind::Versioned => {
            Some(Version::parse(&name[1..separator]).ok_or(NameRule::Version)?)
        }
        MigrationKind::RunsAlways | MigrationKind::RunsOnChange => None,
    };
    Ok(ParsedName {
        kind,
        version,
        description: description.replace('_', " "),
    })
}

/// `filename[index("__") + 2 : index(".sql")].strip()`: a Python slice, so it is empty
/// when the first `.sql` comes before the end of the first `__`.
fn raw_description(name: &str, separator: usize) -> &str {
    let start = separator + 2;
    match name.find(".sql") {
        Some(end) if end > start => py_strip(&name[start..end]),
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_filename_versioned_gives_version_and_description() {
        let parsed = parse_filename("V1_2_0__add_users_table.sql").expect("valid");
        assert_eq!(parsed.kind, MigrationKind::Versioned);
        assert_eq!(parsed.version.as_ref().map(Version::as_str), Some("1.2.0"));
        assert_eq!(parsed.description, "add users table");
    }

    #[test]
    fn parse_filename_repeatables_have_no_version() {
        let ra = parse_filename("RA__refresh_views.sql").expect("valid");
        assert_eq!(ra.kind, MigrationKind::RunsAlways);
        assert!(ra.version.is_none());
        assert_eq!(ra.description, "refresh views");
        let roc = parse_filename("ROC__grants.sql").expect("valid");
        assert_eq!(roc.kind, MigrationKind::RunsOnChange);
        assert_eq!(roc.description, "grants");
    }

    #[test]
    fn parse_filename_each_rule_reported() {
        let cases = [
            ("V1__x.txt", NameRule::Extension),
            ("v1__x.sql", NameRule::Prefix),
            ("ra__x.sql", NameRule::Prefix),
            ("Roc__x.sql", NameRule::Prefix),
            ("init.sql", NameRule::Prefix),
            ("V1_x.sql", NameRule::Separator),
            ("V1__.sql", NameRule::EmptyDescription),
            ("V1__   .sql", NameRule::EmptyDescription),
            ("RA__.sql", NameRule::EmptyDescription),
            ("ROC__\t.sql", NameRule::EmptyDescription),
            ("V1.sql__x.sql", NameRule::EmptyDescription),
            ("V__x.sql", NameRule::Version),
            ("V1.__x.sql", NameRule::Version),
            ("Va__x.sql", NameRule::Version),
            ("V1-2__x.sql", NameRule::Version),
            ("V 1__x.sql", NameRule::Version),
        ];
        for (name, rule) in cases {
            assert_eq!(parse_filename(name).err(), Some(rule), "{name}");
        }
    }

    #[test]
    fn parse_filename_description_quirks_match_original() {
        // Description ends at the FIRST `.sql` and is stripped before `_` becomes a space.
        assert_eq!(
            parse_filename("V1__a.sql.b.sql")
                .expect("valid")
                .description,
            "a"
        );
        assert_eq!(
            parse_filename("RA___x_.sql").expect("valid").description,
            " x "
        );
        assert_eq!(
            parse_filename("V1__ spaced out .sql")
                .expect("valid")
                .description,
            "spaced out"
        );
        // `RA__` wins over `V`-style parsing; `RA__1__x.sql` is a repeatable.
        assert_eq!(
            parse_filename("RA__1__x.sql").expect("valid").description,
            "1  x"
        );
    }
}
