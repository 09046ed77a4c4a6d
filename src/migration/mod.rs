//! Migration files, pure: names, versions, parsing, the legacy checksum and the SQL splitter.
//! This module never touches a database and never imports `backend`, `ops` or `cli`.

mod embed;
mod name;
mod parse;
mod pytext;
mod scan;
mod split;
#[cfg(test)]
mod split_samples;
mod version;

use std::path::{Path, PathBuf};

pub use embed::{EmbeddedFile, EmbeddedMigrations};
pub use name::{MAX_FILENAME_CHARS, NameRule, ParsedName, parse_filename};
pub use parse::{
    Directives, LegacyMode, Section, checksum_of, directives, legacy_checksum,
    legacy_rollback_statements, legacy_statements, legacy_upgrade_statements, parse, read,
    read_text,
};
pub use pytext::{is_py_whitespace, normalize_newlines, py_rstrip, py_strip};
pub use scan::scan;
pub use split::{DEFAULT_DELIMITER, DollarQuotes, HashComments, SplitRules, split};
pub use version::Version;

/// The three kinds of migration file (COMPAT 2). `as_str` is the `migration_type` column value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MigrationKind {
    Versioned,
    RunsAlways,
    RunsOnChange,
}

impl MigrationKind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            MigrationKind::Versioned => "VERSIONED",
            MigrationKind::RunsAlways => "RUNS_ALWAYS",
            MigrationKind::RunsOnChange => "RUNS_ON_CHANGE",
        }
    }
}

/// One statement to execute, as written in the file, with the 1-based line where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sql: String,
    pub line: usize,
}

/// A migration file found on disk or compiled into the program (name checks done, content
/// not read yet).
#[derive(Debug, Clone)]
pub struct MigrationFile {
    /// Where the file is; for an embedded file, where it was when the program was built.
    pub path: PathBuf,
    pub filename: String,
    pub kind: MigrationKind,
    pub version: Option<Version>,
    /// Raw description with `_` replaced by a space (the `description` column).
    pub description: String,
    /// The file's bytes when they were compiled into the program ([`EmbeddedMigrations`]):
    /// then they are read from here, never from `path`.
    pub embedded: Option<&'static [u8]>,
}

/// A parsed migration file.
#[derive(Debug, Clone)]
pub struct ParsedMigration {
    pub delimiter: String,
    /// `false` when the file carries `-- jetbase: transaction=false`.
    pub transaction: bool,
    /// `-- jetbase: foreign_keys=off` (see [`Directives::foreign_keys_off`]).
    pub foreign_keys_off: bool,
    pub upgrade: Vec<Statement>,
    pub rollback: Vec<Statement>,
    /// The legacy checksum (COMPAT 3), lower-case hex.
    pub checksum: String,
    /// Human-readable warnings (e.g. a final statement without delimiter).
    pub warnings: Vec<String>,
}

/// All migration files of a project, validated and ordered.
#[derive(Debug, Clone, Default)]
pub struct MigrationSet {
    /// Versioned files in version order.
    pub versioned: Vec<MigrationFile>,
    /// RA files sorted by path.
    pub runs_always: Vec<MigrationFile>,
    /// ROC files sorted by path.
    pub runs_on_change: Vec<MigrationFile>,
}

impl MigrationSet {
    /// The versioned file whose version compares equal to `version` (`1` finds `V1_0__x.sql`).
    #[must_use]
    pub fn find_version(&self, version: &Version) -> Option<&MigrationFile> {
        self.versioned
            .binary_search_by(|file| {
                file.version
                    .as_ref()
                    .map_or(std::cmp::Ordering::Less, |v| v.cmp(version))
            })
            .ok()
            .map(|index| &self.versioned[index])
    }

    /// The RA or ROC file with this file name (the history table stores names, not paths).
    #[must_use]
    pub fn find_repeatable(&self, filename: &str) -> Option<&MigrationFile> {
        self.runs_always
            .iter()
            .chain(&self.runs_on_change)
            .find(|file| file.filename == filename)
    }
}

/// Why migration files could not be found, named or read.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("migrations folder {path} does not exist or is not a folder")]
    MissingDir { path: PathBuf },
    #[error(
        "invalid migration file name {file}: {rule}; expected V<version>__<description>.sql, \
         RA__<description>.sql or ROC__<description>.sql"
    )]
    InvalidName { file: PathBuf, rule: NameRule },
    #[error(
        "migration file name {file} is {len} characters long; names must not exceed 512 characters"
    )]
    NameTooLong { file: PathBuf, len: usize },
    #[error("duplicate migration version {version}: {first} and {second}")]
    DuplicateVersion {
        version: String,
        first: PathBuf,
        second: PathBuf,
    },
    #[error("duplicate repeatable migration {filename}: {first} and {second}")]
    DuplicateRepeatable {
        filename: String,
        first: PathBuf,
        second: PathBuf,
    },
    #[error("migration file {file} is not a regular file but {kind}")]
    NotRegularFile { file: PathBuf, kind: &'static str },
    #[error("{file} is not valid UTF-8 (first bad byte at line {line}, byte offset {offset})")]
    NotUtf8 {
        file: PathBuf,
        line: usize,
        offset: usize,
    },
}

impl MigrationError {
    /// A one-line suggestion for fixing the error.
    #[must_use]
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            MigrationError::Io { .. } => {
                "check that the path exists and that you may read it".to_owned()
            }
            MigrationError::MissingDir { .. } => {
                "run `jetbase init`, or point `--dir` at the folder that holds `migrations/`"
                    .to_owned()
            }
            MigrationError::InvalidName { file, .. } => format!(
                "rename {} (e.g. `V1_2__add_users.sql`, `RA__refresh_views.sql`), or give it \
                 another extension if it is not a migration",
                file.display()
            ),
            MigrationError::NameTooLong { file, .. } => {
                format!("shorten the description in {}", file.display())
            }
            MigrationError::DuplicateVersion { second, .. } => format!(
                "give {} a version no other file has (`1`, `1.0` and `01` are the same version)",
                second.display()
            ),
            MigrationError::DuplicateRepeatable { second, .. } => format!(
                "the history keeps one row per repeatable file name, wherever the file is; \
                 rename {} (or remove one of the two)",
                second.display()
            ),
            MigrationError::NotRegularFile { file, .. } => format!(
                "migration files must be regular files (or symbolic links to them); remove {} \
                 or give it a name that does not end in .sql",
                file.display()
            ),
            MigrationError::NotUtf8 { file, .. } => format!(
                "re-save {} as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)",
                file.display()
            ),
        })
    }
}

/// The legacy checksum (COMPAT 3) of a file on disk, without splitting it for execution.
///
/// # Errors
/// Unreadable or non-UTF-8 file.
pub fn file_checksum(path: &Path) -> Result<String, MigrationError> {
    read_text(path).map(|text| legacy_checksum(&text))
}

/// Read and parse one migration file: its embedded bytes, or the file on disk. Both go
/// through the same decoding and parsing, so the checksum of an embedded file is the one
/// its file on disk has.
///
/// # Errors
/// Unreadable or non-UTF-8 file.
pub fn read_file(
    file: &MigrationFile,
    opts: SplitRules,
) -> Result<ParsedMigration, MigrationError> {
    match file.embedded {
        Some(bytes) => parse::text_from_bytes(&file.path, bytes.to_vec()).map(|t| parse(&t, opts)),
        None => read(&file.path, opts),
    }
}

/// The legacy checksums of migration files, in order: embedded ones from their bytes, the
/// others read from disk as [`file_checksums`] reads them.
#[must_use]
pub fn migration_checksums(files: &[&MigrationFile]) -> Vec<Result<String, MigrationError>> {
    let on_disk: Vec<&Path> = files
        .iter()
        .filter(|f| f.embedded.is_none())
        .map(|f| f.path.as_path())
        .collect();
    let mut read = file_checksums(&on_disk).into_iter();
    files
        .iter()
        .map(|f| match f.embedded {
            Some(bytes) => {
                parse::text_from_bytes(&f.path, bytes.to_vec()).map(|t| legacy_checksum(&t))
            }
            None => read.next().expect("one checksum per file on disk"),
        })
        .collect()
}

/// The legacy checksums of many files, in order. Validating a thousand applied files is the
/// main cost of a no-op upgrade, so files are opened relative to their folder (`openat`:
/// one path component to resolve instead of the whole path) and read without a `stat`.
#[must_use]
pub fn file_checksums(paths: &[&Path]) -> Vec<Result<String, MigrationError>> {
    use rustix::fs::{Mode, OFlags};
    let mut folder: Option<(&Path, rustix::fd::OwnedFd)> = None;
    let mut out = Vec::with_capacity(paths.len());
    for path in paths {
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            out.push(file_checksum(path));
            continue;
        };
        if folder.as_ref().is_none_or(|(p, _)| *p != parent) {
            folder = rustix::fs::open(
                parent,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .ok()
            .map(|fd| (parent, fd));
        }
        let read = folder.as_ref().map(|(_, dir)| {
            rustix::fs::openat(dir, name, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
                .and_then(|fd| read_to_end(&fd))
        });
        out.push(match read {
            Some(Ok(bytes)) => {
                parse::text_from_bytes(path, bytes).map(|text| legacy_checksum(&text))
            }
            // Anything unusual: the plain path gives the precise error.
            _ => file_checksum(path),
        });
    }
    out
}

fn read_to_end(fd: &rustix::fd::OwnedFd) -> rustix::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; 8192];
    let mut len = 0;
    loop {
        if len == buf.len() {
            buf.resize(len * 2, 0);
        }
        match rustix::io::read(fd, &mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(len);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn errors() -> Vec<MigrationError> {
        let file = PathBuf::from("sub/V1__x.sql");
        vec![
            MigrationError::Io {
                path: file.clone(),
                source: std::io::Error::other("boom"),
            },
            MigrationError::MissingDir {
                path: PathBuf::from("migrations"),
            },
            MigrationError::InvalidName {
                file: file.clone(),
                rule: NameRule::Prefix,
            },
            MigrationError::NameTooLong {
                file: file.clone(),
                len: 600,
            },
            MigrationError::DuplicateVersion {
                version: "1".to_owned(),
                first: PathBuf::from("V1__a.sql"),
                second: file.clone(),
            },
            MigrationError::NotUtf8 {
                file,
                line: 3,
                offset: 40,
            },
            MigrationError::DuplicateRepeatable {
                filename: "RA__x.sql".to_owned(),
                first: PathBuf::from("a/RA__x.sql"),
                second: PathBuf::from("b/RA__x.sql"),
            },
            MigrationError::NotRegularFile {
                file: PathBuf::from("sub/V2__pipe.sql"),
                kind: "a FIFO",
            },
        ]
    }

    #[test]
    fn migration_error_every_variant_has_hint() {
        for error in errors() {
            let hint = error.hint().unwrap_or_default();
            assert!(
                !hint.is_empty() && !hint.contains('\n'),
                "{error}: {hint:?}"
            );
        }
    }

    #[test]
    fn migration_error_messages_name_files_and_patterns() {
        let messages: Vec<String> = errors().iter().map(ToString::to_string).collect();
        assert!(messages[2].contains("sub/V1__x.sql"));
        assert!(messages[2].contains("V<version>__<description>.sql"));
        assert!(messages[2].contains("ROC__<description>.sql"));
        assert!(messages[3].contains("600"));
        assert!(messages[4].contains("V1__a.sql") && messages[4].contains("sub/V1__x.sql"));
        assert!(messages[5].contains("line 3"));
        assert!(messages[6].contains("a/RA__x.sql") && messages[6].contains("b/RA__x.sql"));
        assert!(messages[7].contains("sub/V2__pipe.sql") && messages[7].contains("a FIFO"));
    }

    #[test]
    fn migration_kind_as_str_matches_column_values() {
        assert_eq!(MigrationKind::Versioned.as_str(), "VERSIONED");
        assert_eq!(MigrationKind::RunsAlways.as_str(), "RUNS_ALWAYS");
        assert_eq!(MigrationKind::RunsOnChange.as_str(), "RUNS_ON_CHANGE");
        assert_eq!(
            serde_json::to_string(&MigrationKind::RunsOnChange).expect("json"),
            "\"RUNS_ON_CHANGE\""
        );
    }

    #[test]
    fn migration_set_find_by_equal_version_and_filename() {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in [
            "V1_0__a.sql",
            "V2__b.sql",
            "V10__c.sql",
            "RA__r.sql",
            "x/ROC__o.sql",
        ] {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap_or(Path::new("."))).expect("mkdir");
            std::fs::write(path, "").expect("write");
        }
        let set = scan(dir.path()).expect("scan");
        let one = Version::parse("1").expect("version");
        assert_eq!(
            set.find_version(&one).map(|f| f.filename.as_str()),
            Some("V1_0__a.sql")
        );
        let ten = Version::parse("10.0").expect("version");
        assert_eq!(
            set.find_version(&ten).map(|f| f.filename.as_str()),
            Some("V10__c.sql")
        );
        assert!(
            set.find_version(&Version::parse("3").expect("version"))
                .is_none()
        );
        assert_eq!(
            set.find_repeatable("ROC__o.sql").map(|f| f.kind),
            Some(MigrationKind::RunsOnChange)
        );
        assert!(set.find_repeatable("V2__b.sql").is_none());
    }

    #[test]
    fn file_checksums_match_one_by_one_reads_and_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).expect("mkdir");
        let a = dir.path().join("V1__a.sql");
        let b = sub.join("V2__b.sql");
        let big = dir.path().join("V3__big.sql");
        let bad = dir.path().join("V4__bad.sql");
        let gone = dir.path().join("V5__gone.sql");
        std::fs::write(&a, "CREATE TABLE a (id INT);\n").expect("write");
        std::fs::write(
            &b,
            "CREATE TABLE b (id INT);\r\n-- rollback\r\nDROP TABLE b;\r\n",
        )
        .expect("write");
        std::fs::write(&big, "SELECT 1;\n".repeat(5000)).expect("write");
        std::fs::write(&bad, b"SELECT 1;\n\xff;\n").expect("write");
        let paths = [
            a.as_path(),
            b.as_path(),
            big.as_path(),
            bad.as_path(),
            gone.as_path(),
            a.as_path(),
        ];
        let bulk = file_checksums(&paths);
        assert_eq!(bulk.len(), paths.len());
        for (path, got) in paths.iter().zip(&bulk) {
            match (file_checksum(path), got) {
                (Ok(x), Ok(y)) => assert_eq!(&x, y, "{}", path.display()),
                (Err(_), Err(_)) => {}
                (x, y) => panic!("{}: {x:?} vs {y:?}", path.display()),
            }
        }
        assert!(matches!(
            bulk[3],
            Err(MigrationError::NotUtf8 { line: 2, .. })
        ));
        assert!(matches!(bulk[4], Err(MigrationError::Io { .. })));
    }
}
