//! Finding migration files: walk the migrations folder, check names, reject duplicate
//! versions and repeatable names, and order the result. Reads folder listings only, never
//! file contents.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::name::{MAX_FILENAME_CHARS, NameRule, parse_filename};
use super::{MigrationError, MigrationFile, MigrationKind, MigrationSet};

/// Scan `dir` recursively for migration files.
///
/// Files not ending in `.sql` are ignored. Entries are visited in name order, each folder's
/// files before its subfolders (the original's `os.walk` is top-down; sorting makes the walk
/// deterministic). Symbolic links to folders are not followed, as `os.walk` does not.
///
/// # Errors
/// Missing or unreadable folders, invalid or too long names, duplicate versions (including
/// versions that differ as text but compare equal, such as `1` and `1.0`), two repeatables
/// with one file name in two folders, a `.sql` entry that is not a regular file (a FIFO, a
/// socket, a device; symbolic links to regular files are fine).
pub fn scan(dir: &Path) -> Result<MigrationSet, MigrationError> {
    if !dir.is_dir() {
        return Err(MigrationError::MissingDir {
            path: dir.to_path_buf(),
        });
    }
    let mut entries = Vec::new();
    walk(dir, &mut entries)?;
    classify(
        dir,
        entries
            .into_iter()
            .map(|(path, special)| (path, special, None)),
    )
}

/// The checks and the order of [`scan`], over files already listed in walk order: each
/// with what it is when not a regular file, and its bytes when they were compiled into the
/// program (`embed_migrations!`), which then never reads the disk. Both sources go through
/// here, so an embedded folder and the same folder on disk make the same set.
pub(super) fn classify(
    dir: &Path,
    entries: impl IntoIterator<Item = (PathBuf, Special, Option<&'static [u8]>)>,
) -> Result<MigrationSet, MigrationError> {
    let mut set = MigrationSet::default();
    for (path, special, embedded) in entries {
        let Some(mut file) = migration_file(dir, path)? else {
            continue;
        };
        file.embedded = embedded;
        // Opening a FIFO blocks until a writer comes, a device may never end: refuse them
        // here, by name, before anything is read or run.
        if let Some(kind) = special {
            return Err(MigrationError::NotRegularFile {
                file: relative(dir, &file.path),
                kind,
            });
        }
        match file.kind {
            MigrationKind::Versioned => set.versioned.push(file),
            MigrationKind::RunsAlways => set.runs_always.push(file),
            MigrationKind::RunsOnChange => set.runs_on_change.push(file),
        }
    }

    // A stable sort keeps walk order among equal versions, so `first` is the one met first.
    set.versioned.sort_by(|a, b| a.version.cmp(&b.version));
    if let Some(pair) = set
        .versioned
        .windows(2)
        .find(|pair| pair[0].version == pair[1].version)
    {
        return Err(MigrationError::DuplicateVersion {
            version: pair[1]
                .version
                .as_ref()
                .map_or_else(String::new, |v| v.as_str().to_owned()),
            first: relative(dir, &pair[0].path),
            second: relative(dir, &pair[1].path),
        });
    }
    // The original sorts repeatables by their full path string.
    set.runs_always
        .sort_by(|a, b| a.path.as_os_str().cmp(b.path.as_os_str()));
    set.runs_on_change
        .sort_by(|a, b| a.path.as_os_str().cmp(b.path.as_os_str()));
    duplicate_repeatable(dir, &set)?;
    Ok(set)
}

/// Two repeatables with one file name (in two folders) would share one history row, keyed
/// by file name as the original keys it, and each upgrade would run both against it.
fn duplicate_repeatable(dir: &Path, set: &MigrationSet) -> Result<(), MigrationError> {
    let mut seen: HashMap<&str, &Path> = HashMap::new();
    for file in set.runs_always.iter().chain(&set.runs_on_change) {
        if let Some(first) = seen.insert(&file.filename, &file.path) {
            return Err(MigrationError::DuplicateRepeatable {
                filename: file.filename.clone(),
                first: relative(dir, first),
                second: relative(dir, &file.path),
            });
        }
    }
    Ok(())
}

fn relative(dir: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(dir).unwrap_or(path).to_path_buf()
}

/// Check one file found by the walk; `None` for files that are not `.sql`.
fn migration_file(dir: &Path, path: PathBuf) -> Result<Option<MigrationFile>, MigrationError> {
    let os_name = path.file_name().unwrap_or_default();
    let Some(filename) = os_name.to_str() else {
        if os_name.to_string_lossy().ends_with(".sql") {
            return Err(MigrationError::InvalidName {
                file: relative(dir, &path),
                rule: NameRule::NotUnicode,
            });
        }
        return Ok(None);
    };
    // Case-sensitive on purpose: the original ignores `X.SQL`.
    #[allow(clippy::case_sensitive_file_extension_comparisons)]
    if !filename.ends_with(".sql") {
        return Ok(None);
    }
    // The original checks the format first, then the length.
    let parsed = parse_filename(filename).map_err(|rule| MigrationError::InvalidName {
        file: relative(dir, &path),
        rule,
    })?;
    let len = filename.chars().count();
    if len > MAX_FILENAME_CHARS {
        return Err(MigrationError::NameTooLong {
            file: relative(dir, &path),
            len,
        });
    }
    Ok(Some(MigrationFile {
        filename: filename.to_owned(),
        path,
        kind: parsed.kind,
        version: parsed.version,
        description: parsed.description,
        embedded: None,
    }))
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> MigrationError + '_ {
    move |source| MigrationError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What a directory entry is when it is neither a regular file nor a folder (nor a link
/// to one of them): `Some("a FIFO")`. `None` for regular files and dangling links (whose
/// read then fails with the precise error).
pub(super) type Special = Option<&'static str>;

fn special(file_type: fs::FileType) -> Special {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_fifo() {
        Some("a FIFO")
    } else if file_type.is_socket() {
        Some("a socket")
    } else if file_type.is_char_device() || file_type.is_block_device() {
        Some("a device")
    } else {
        None
    }
}

fn walk(dir: &Path, out: &mut Vec<(PathBuf, Special)>) -> Result<(), MigrationError> {
    let mut entries = fs::read_dir(dir)
        .map_err(io_error(dir))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(io_error(dir))?;
    entries.sort_by_key(fs::DirEntry::file_name);

    let mut subdirs = Vec::new();
    for entry in entries {
        let path = entry.path();
        // From the listing itself (d_type) on most file systems: no `stat` per file.
        let file_type = entry.file_type().map_err(io_error(&path))?;
        if file_type.is_dir() {
            subdirs.push(path);
        } else if file_type.is_symlink() {
            match fs::metadata(&path) {
                // `os.walk` lists a link to a folder among the folders and does not follow it.
                Ok(target) if target.is_dir() => {}
                Ok(target) => out.push((path, special(target.file_type()))),
                Err(_) => out.push((path, None)),
            }
        } else {
            out.push((path, special(file_type)));
        }
    }
    for subdir in subdirs {
        walk(&subdir, out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migration::Version;

    fn touch(dir: &Path, relative: &str) {
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("mkdir");
        }
        fs::write(path, "SELECT 1;\n").expect("write");
    }

    fn names(files: &[MigrationFile]) -> Vec<&str> {
        files.iter().map(|f| f.filename.as_str()).collect()
    }

    #[test]
    fn scan_mixed_folder_sorted_by_kind() {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in [
            "V1_10__ten.sql",
            "V1_2__two.sql",
            "sub/V1_9__nine.sql",
            "V01__one.sql",
            "RA__b.sql",
            "a/RA__z.sql",
            "ROC__views.sql",
            "README.md",
            ".gitkeep",
            "sub/notes.txt",
        ] {
            touch(dir.path(), name);
        }
        let set = scan(dir.path()).expect("scan");
        assert_eq!(
            names(&set.versioned),
            [
                "V01__one.sql",
                "V1_2__two.sql",
                "V1_9__nine.sql",
                "V1_10__ten.sql"
            ]
        );
        assert_eq!(
            set.versioned[0].version.as_ref().map(Version::as_str),
            Some("01")
        );
        assert_eq!(set.versioned[1].description, "two");
        assert_eq!(set.versioned[2].path, dir.path().join("sub/V1_9__nine.sql"));
        // Full path string order: `<dir>/RA__b.sql` < `<dir>/a/RA__z.sql`.
        assert_eq!(names(&set.runs_always), ["RA__b.sql", "RA__z.sql"]);
        assert_eq!(names(&set.runs_on_change), ["ROC__views.sql"]);
        assert_eq!(set.runs_on_change[0].kind, MigrationKind::RunsOnChange);
    }

    #[test]
    fn scan_empty_folder_gives_empty_set() {
        let dir = tempfile::tempdir().expect("tempdir");
        let set = scan(dir.path()).expect("scan");
        assert!(
            set.versioned.is_empty() && set.runs_always.is_empty() && set.runs_on_change.is_empty()
        );
    }

    #[test]
    fn scan_missing_folder_is_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("migrations");
        assert!(matches!(
            scan(&missing),
            Err(MigrationError::MissingDir { path }) if path == missing
        ));
    }

    #[test]
    fn scan_invalid_name_names_file_and_rule() {
        let dir = tempfile::tempdir().expect("tempdir");
        touch(dir.path(), "V1__ok.sql");
        touch(dir.path(), "deep/v2__lower.sql");
        match scan(dir.path()) {
            Err(MigrationError::InvalidName { file, rule }) => {
                assert_eq!(file, Path::new("deep/v2__lower.sql"));
                assert_eq!(rule, NameRule::Prefix);
            }
            other => panic!("expected InvalidName, got {other:?}"),
        }
    }

    #[test]
    fn scan_name_longer_than_512_chars_rejected() {
        let dir = tempfile::tempdir().expect("tempdir");
        // 512 characters (multi-byte, so only the char count is within limits).
        let ok = format!("V1__{}.sql", "é".repeat(512 - 8));
        assert_eq!(ok.chars().count(), 512);
        assert!(parse_filename(&ok).is_ok());
        let long = format!("V2__{}.sql", "é".repeat(513 - 8));
        // Most file systems cap names at 255 bytes, so check the rule without the disk.
        match migration_file(dir.path(), dir.path().join(&long)) {
            Err(MigrationError::NameTooLong { file, len }) => {
                assert_eq!(len, 513);
                assert_eq!(file, Path::new(&long));
            }
            other => panic!("expected NameTooLong, got {other:?}"),
        }
        assert!(matches!(
            migration_file(dir.path(), dir.path().join(&ok)),
            Ok(Some(_))
        ));
    }

    #[test]
    fn scan_long_invalid_name_reports_format_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let long = format!("x{}.sql", "a".repeat(600));
        assert!(matches!(
            migration_file(dir.path(), dir.path().join(long)),
            Err(MigrationError::InvalidName {
                rule: NameRule::Prefix,
                ..
            })
        ));
    }

    #[test]
    fn scan_duplicate_version_names_both_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        touch(dir.path(), "V1_1__a.sql");
        touch(dir.path(), "sub/V1.1__b.sql");
        match scan(dir.path()) {
            Err(MigrationError::DuplicateVersion {
                version,
                first,
                second,
            }) => {
                assert_eq!(version, "1.1");
                assert_eq!(first, Path::new("V1_1__a.sql"));
                assert_eq!(second, Path::new("sub/V1.1__b.sql"));
            }
            other => panic!("expected DuplicateVersion, got {other:?}"),
        }
    }

    #[test]
    fn scan_equal_but_different_text_versions_are_duplicates() {
        let dir = tempfile::tempdir().expect("tempdir");
        touch(dir.path(), "V1__a.sql");
        touch(dir.path(), "V1_0__b.sql");
        touch(dir.path(), "V2__c.sql");
        match scan(dir.path()) {
            Err(MigrationError::DuplicateVersion { first, second, .. }) => {
                assert_eq!(first, Path::new("V1_0__b.sql"));
                assert_eq!(second, Path::new("V1__a.sql"));
            }
            other => panic!("expected DuplicateVersion, got {other:?}"),
        }
    }

    #[test]
    fn scan_same_repeatable_name_in_two_folders_names_both_issue_9() {
        for name in ["RA__x.sql", "ROC__x.sql"] {
            let dir = tempfile::tempdir().expect("tempdir");
            touch(dir.path(), "V1__a.sql");
            touch(dir.path(), &format!("a/{name}"));
            touch(dir.path(), &format!("b/{name}"));
            match scan(dir.path()) {
                Err(MigrationError::DuplicateRepeatable {
                    filename,
                    first,
                    second,
                }) => {
                    assert_eq!(filename, name);
                    assert_eq!(first, Path::new("a").join(name));
                    assert_eq!(second, Path::new("b").join(name));
                }
                other => panic!("{name}: expected DuplicateRepeatable, got {other:?}"),
            }
        }
        // Same description, different kinds: two distinct file names, both kept.
        let dir = tempfile::tempdir().expect("tempdir");
        touch(dir.path(), "a/RA__x.sql");
        touch(dir.path(), "b/ROC__x.sql");
        let set = scan(dir.path()).expect("scan");
        assert_eq!(names(&set.runs_always), ["RA__x.sql"]);
        assert_eq!(names(&set.runs_on_change), ["ROC__x.sql"]);
    }

    #[test]
    fn scan_fifo_named_like_a_migration_is_refused_issue_9() {
        let dir = tempfile::tempdir().expect("tempdir");
        touch(dir.path(), "V1__a.sql");
        let fifo = dir.path().join("sub/V2__pipe.sql");
        fs::create_dir_all(dir.path().join("sub")).expect("mkdir");
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::Mode::from_raw_mode(0o644),
        )
        .expect("mkfifo");
        match scan(dir.path()) {
            Err(e @ MigrationError::NotRegularFile { .. }) => {
                let text = e.to_string();
                assert!(text.contains("sub/V2__pipe.sql"), "{text}");
                assert!(text.contains("not a regular file"), "{text}");
                assert!(text.contains("FIFO"), "{text}");
            }
            other => panic!("expected NotRegularFile, got {other:?}"),
        }
        // A FIFO that is not a `.sql` file is ignored like any other non-migration file;
        // a symbolic link to a FIFO is refused like the FIFO itself.
        fs::rename(&fifo, dir.path().join("sub/pipe")).expect("rename");
        assert_eq!(
            names(&scan(dir.path()).expect("scan").versioned),
            ["V1__a.sql"]
        );
        std::os::unix::fs::symlink("pipe", dir.path().join("sub/V3__link.sql")).expect("symlink");
        assert!(matches!(
            scan(dir.path()),
            Err(MigrationError::NotRegularFile { .. })
        ));
    }

    #[test]
    fn scan_symlink_to_regular_file_is_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let elsewhere = tempfile::tempdir().expect("tempdir");
        touch(elsewhere.path(), "shared.sql");
        touch(dir.path(), "V1__a.sql");
        std::os::unix::fs::symlink(
            elsewhere.path().join("shared.sql"),
            dir.path().join("V2__linked.sql"),
        )
        .expect("symlink");
        // A dangling link is left to the reader, whose error names the file.
        std::os::unix::fs::symlink("gone.sql", dir.path().join("V3__dangling.sql"))
            .expect("symlink");
        let set = scan(dir.path()).expect("scan");
        assert_eq!(
            names(&set.versioned),
            ["V1__a.sql", "V2__linked.sql", "V3__dangling.sql"]
        );
    }

    #[test]
    fn scan_folder_named_sql_is_walked_not_checked() {
        let dir = tempfile::tempdir().expect("tempdir");
        touch(dir.path(), "old.sql/V3__x.sql");
        let set = scan(dir.path()).expect("scan");
        assert_eq!(names(&set.versioned), ["V3__x.sql"]);
    }
}
