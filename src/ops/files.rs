//! `init` and `new`: the only commands that write project files. An existing file is never
//! overwritten; `new` checks and creates under a lock on the migrations folder.

use std::fs;
use std::io::Write;
use std::path::Path;

use crate::error::Error;
use crate::migration::{self, Version};
use crate::report::{InitReport, NewReport};

/// The env.py `init` writes: it works at once on the embedded SQLite default, and lists the
/// other backends' URLs as comments.
pub const ENV_PY_TEMPLATE: &str = r#"# Jetbase Configuration
# Update the sqlalchemy_url with your database connection string.
# A relative SQLite path is resolved against this folder.

sqlalchemy_url = "sqlite:///jetbase.db"

# Other databases:
# sqlalchemy_url = "postgresql://user:password@localhost:5432/mydb"
# sqlalchemy_url = "mysql+pymysql://user:password@localhost:3306/mydb"
# postgres_schema = "public"
"#;

/// The body of a new migration file, as the original writes it.
pub const NEW_MIGRATION_TEMPLATE: &str = "-- upgrade\n\n-- rollback\n";

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Create `dir/migrations/` and `dir/env.py` (kept when it exists).
///
/// # Errors
/// The folders or file cannot be created.
pub fn init(dir: &Path) -> Result<InitReport, Error> {
    let mut report = InitReport {
        dir: dir.display().to_string(),
        created: Vec::new(),
        kept: Vec::new(),
    };
    let migrations = dir.join("migrations");
    if migrations.is_dir() {
        report.kept.push(migrations.display().to_string());
    } else {
        fs::create_dir_all(&migrations).map_err(io(&migrations))?;
        report.created.push(migrations.display().to_string());
    }
    let env_py = dir.join("env.py");
    match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&env_py)
    {
        Ok(mut f) => {
            f.write_all(ENV_PY_TEMPLATE.as_bytes())
                .map_err(io(&env_py))?;
            report.created.push(env_py.display().to_string());
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            report.kept.push(env_py.display().to_string());
        }
        Err(e) => return Err(io(&env_py)(e)),
    }
    Ok(report)
}

/// Create `V<version>__<description>.sql` in `migrations_dir`. The version defaults to the
/// local time as `%Y%m%d.%H%M%S`, as the original.
///
/// # Errors
/// An invalid version, a version that already exists, a name over 512 characters.
pub fn new_migration(
    migrations_dir: &Path,
    description: &str,
    version: Option<&str>,
) -> Result<NewReport, Error> {
    write_migration(migrations_dir, description, version, NEW_MIGRATION_TEMPLATE)
}

/// [`new_migration`] with `content` in place of the template (`make-migrations`).
///
/// # Errors
/// As [`new_migration`].
pub fn write_migration(
    migrations_dir: &Path,
    description: &str,
    version: Option<&str>,
    content: &str,
) -> Result<NewReport, Error> {
    if !migrations_dir.is_dir() {
        return Err(Error::NotFound {
            message: format!("migrations folder not found: {}", migrations_dir.display()),
            hint: "run `jetbase init` to set up a project".into(),
        });
    }
    let version_text = match version {
        Some(v) => v.to_owned(),
        None => chrono::Local::now().format("%Y%m%d.%H%M%S").to_string(),
    };
    let Some(parsed) = Version::parse(&version_text) else {
        return Err(Error::usage(format!(
            "invalid version: {version_text}; a version is integers separated by periods or underscores, e.g. 1, 1.5, 1_5"
        )));
    };
    if description.trim().is_empty() {
        return Err(Error::usage("the description must not be empty"));
    }
    let filename = format!("V{version_text}__{}.sql", description.replace(' ', "_"));
    if filename.chars().count() > 512 {
        return Err(Error::usage(format!(
            "migration file name too long ({} characters); file names must not exceed 512 characters",
            filename.chars().count()
        )));
    }
    // Check and create under an exclusive lock on the folder, so that two `new` runs with
    // one version (`1` and `1.0`) cannot both pass the check. Released when `_guard` drops.
    let _guard = lock_folder(migrations_dir)?;
    let set = migration::scan(migrations_dir)?;
    if let Some(existing) = set
        .versioned
        .iter()
        .find(|f| f.version.as_ref() == Some(&parsed))
    {
        return Err(Error::usage(format!(
            "version {version_text} already exists: {}",
            existing.filename
        )));
    }
    let path = migrations_dir.join(&filename);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(io(&path))?;
    f.write_all(content.as_bytes()).map_err(io(&path))?;
    Ok(NewReport {
        filename,
        path: path.display().to_string(),
    })
}

/// An exclusive `flock` on the folder itself, held while the returned descriptor lives.
/// Advisory: only other `jetbase new` runs take it; they wait for it, as this one does.
fn lock_folder(dir: &Path) -> Result<rustix::fd::OwnedFd, Error> {
    use rustix::fs::{FlockOperation, Mode, OFlags};
    let to_error = |errno: rustix::io::Errno| Error::Io {
        path: dir.to_path_buf(),
        source: errno.into(),
    };
    let fd = rustix::fs::open(
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(to_error)?;
    loop {
        match rustix::fs::flock(&fd, FlockOperation::LockExclusive) {
            // Without locks on this file system (some network mounts): check-then-create.
            Ok(()) | Err(rustix::io::Errno::NOLCK | rustix::io::Errno::OPNOTSUPP) => return Ok(fd),
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(to_error(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn env_py_template_is_literal_only() {
        // Read natively, without starting Python.
        assert!(crate::config::read_literals(super::ENV_PY_TEMPLATE).is_some());
    }
}
