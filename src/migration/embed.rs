//! Migrations compiled into a program by `jetbase::embed_migrations!`: each file's path and
//! bytes as they were at build time. They are named, checked, ordered, read and checksummed
//! by the same code as a folder on disk ([`super::scan`], [`super::read_file`]), so an app
//! that migrates itself, the CLI reading the folder and Python Jetbase agree on every
//! checksum. Never reads the disk.

use std::path::{Path, PathBuf};

use super::scan::classify;
use super::{MigrationError, MigrationSet};

/// One embedded file: its path below the migrations folder (`/`-separated) and its bytes.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedFile {
    pub path: &'static str,
    pub bytes: &'static [u8],
}

/// A migrations folder compiled into the program, made by `jetbase::embed_migrations!`:
///
/// ```ignore
/// static MIGRATIONS: jetbase::migration::EmbeddedMigrations =
///     jetbase::embed_migrations!("jetbase/migrations");
/// let settings = settings.with_embedded(&MIGRATIONS);
/// jetbase::ops::upgrade(&settings, &Default::default(), &mut jetbase::ops::Quiet).await?;
/// ```
///
/// The files are listed in the order the CLI walks a folder (each folder's entries by
/// name, its files before its subfolders), and only `.sql` files are kept; names are checked
/// when [`EmbeddedMigrations::set`] is called, as `scan` checks them.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedMigrations {
    dir: &'static str,
    files: &'static [EmbeddedFile],
}

impl EmbeddedMigrations {
    /// What the macro expands to. `dir` is the folder as the macro was given it (relative to
    /// the crate that embeds it); `files` are in walk order.
    #[doc(hidden)]
    #[must_use]
    pub const fn __new(dir: &'static str, files: &'static [EmbeddedFile]) -> EmbeddedMigrations {
        EmbeddedMigrations { dir, files }
    }

    /// The folder the files were embedded from, as named in the macro (relative to the
    /// embedding crate's `Cargo.toml`).
    #[must_use]
    pub fn dir(&self) -> &'static Path {
        Path::new(self.dir)
    }

    /// The embedded `.sql` files, in walk order.
    #[must_use]
    pub fn files(&self) -> &'static [EmbeddedFile] {
        self.files
    }

    /// The migration set, exactly as `scan` makes it from the same folder on disk. Each
    /// file's `path` is `dir()` joined with its relative path (for messages; never read).
    ///
    /// # Errors
    /// Invalid or too long names, duplicate versions, two repeatables with one file name.
    pub fn set(&self) -> Result<MigrationSet, MigrationError> {
        let dir = self.dir();
        classify(
            dir,
            self.files
                .iter()
                .map(|f| (dir.join(f.path), None, Some(f.bytes))),
        )
    }

    /// `dir()` joined with a relative path, for tests and messages.
    #[must_use]
    pub fn path_of(&self, file: &EmbeddedFile) -> PathBuf {
        self.dir().join(file.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migration::{MigrationKind, SplitRules, migration_checksums, read_file, scan};

    static FILES: &[EmbeddedFile] = &[
        EmbeddedFile {
            path: "RA__views.sql",
            bytes: b"CREATE VIEW v AS SELECT 1;\n",
        },
        EmbeddedFile {
            path: "V1_1__b.sql",
            bytes: b"CREATE TABLE b (id INT);\r\n-- rollback\r\nDROP TABLE b;\r\n",
        },
        EmbeddedFile {
            path: "V2__c.sql",
            bytes: b"CREATE TABLE c (id INT);",
        },
        EmbeddedFile {
            path: "sub/V1__a.sql",
            bytes: b"-- upgrade\nCREATE TABLE a (id INT);\n-- rollback\nDROP TABLE a;\n",
        },
    ];
    static EMBEDDED: EmbeddedMigrations = EmbeddedMigrations::__new("jetbase/migrations", FILES);

    #[test]
    fn embedded_set_equals_scan_of_the_same_folder_with_same_checksums() {
        let tmp = tempfile::tempdir().expect("tempdir");
        for f in FILES {
            let path = tmp.path().join(f.path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, f.bytes).expect("write");
        }
        let disk = scan(tmp.path()).expect("scan");
        let embedded = EMBEDDED.set().expect("set");
        let names = |s: &MigrationSet| {
            s.versioned
                .iter()
                .chain(&s.runs_always)
                .chain(&s.runs_on_change)
                .map(|f| (f.filename.clone(), f.kind, f.version.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&disk), names(&embedded));
        assert_eq!(embedded.versioned[0].filename, "V1__a.sql");
        assert_eq!(
            embedded.versioned[0].path,
            Path::new("jetbase/migrations/sub/V1__a.sql")
        );
        assert_eq!(embedded.runs_always[0].kind, MigrationKind::RunsAlways);
        assert!(embedded.versioned.iter().all(|f| f.embedded.is_some()));
        assert!(disk.versioned.iter().all(|f| f.embedded.is_none()));
        let all = |s: &MigrationSet| -> Vec<String> {
            let files: Vec<_> = s.versioned.iter().chain(&s.runs_always).collect();
            migration_checksums(&files)
                .into_iter()
                .map(|r| r.expect("checksum"))
                .collect()
        };
        assert_eq!(all(&disk), all(&embedded));
        for (d, e) in disk.versioned.iter().zip(&embedded.versioned) {
            let (d, e) = (
                read_file(d, SplitRules::default()).expect("disk"),
                read_file(e, SplitRules::default()).expect("embedded"),
            );
            assert_eq!(d.checksum, e.checksum);
            assert_eq!(d.upgrade, e.upgrade);
            assert_eq!(d.rollback, e.rollback);
        }
    }

    #[test]
    fn embedded_duplicate_versions_are_refused_as_on_disk() {
        static BAD: &[EmbeddedFile] = &[EmbeddedFile {
            path: "v1__lower.sql",
            bytes: b"",
        }];
        static DUP: &[EmbeddedFile] = &[
            EmbeddedFile {
                path: "V1__a.sql",
                bytes: b"",
            },
            EmbeddedFile {
                path: "x/V1_0__b.sql",
                bytes: b"",
            },
        ];
        let err = EmbeddedMigrations::__new("m", DUP)
            .set()
            .expect_err("duplicate");
        assert!(
            matches!(&err, MigrationError::DuplicateVersion { first, second, .. }
                if first == Path::new("V1__a.sql") && second == Path::new("x/V1_0__b.sql")),
            "{err}"
        );
        assert!(matches!(
            EmbeddedMigrations::__new("m", BAD).set(),
            Err(MigrationError::InvalidName { .. })
        ));
    }

    #[test]
    fn embed_migrations_macro_lists_the_folder_as_scan_walks_it() {
        // The example app's project: a subfolder, a repeatable, two versions.
        static MACRO: EmbeddedMigrations = crate::embed_migrations!("examples/jetbase/migrations");
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/jetbase/migrations");
        assert_eq!(MACRO.dir(), Path::new("examples/jetbase/migrations"));
        let listed: Vec<&str> = MACRO.files().iter().map(|f| f.path).collect();
        assert_eq!(
            listed,
            [
                "ROC__item_names.sql",
                "V1__create_items.sql",
                "tags/V2__create_tags.sql"
            ]
        );
        for f in MACRO.files() {
            assert_eq!(f.bytes, std::fs::read(root.join(f.path)).expect("read"));
        }
        let (disk, embedded) = (scan(&root).expect("scan"), MACRO.set().expect("set"));
        let rel = |s: &MigrationSet, base: &Path| -> Vec<PathBuf> {
            s.versioned
                .iter()
                .chain(&s.runs_always)
                .chain(&s.runs_on_change)
                .map(|f| f.path.strip_prefix(base).expect("below").to_path_buf())
                .collect()
        };
        assert_eq!(rel(&disk, &root), rel(&embedded, MACRO.dir()));
    }

    #[test]
    fn embedded_non_utf8_file_names_its_line() {
        static BAD: &[EmbeddedFile] = &[EmbeddedFile {
            path: "V1__a.sql",
            bytes: b"SELECT 1;\n\xff;\n",
        }];
        let set = EmbeddedMigrations::__new("m", BAD).set().expect("set");
        assert!(matches!(
            read_file(&set.versioned[0], SplitRules::default()),
            Err(MigrationError::NotUtf8 { line: 2, .. })
        ));
    }
}
