//! Finding the project folder from `--dir` or the current folder (COMPAT 1).

use std::path::{Path, PathBuf};

use super::{ConfigError, Project};

fn project_at(dir: &Path) -> Option<Project> {
    let migrations = dir.join("migrations");
    migrations.is_dir().then(|| Project {
        dir: dir.to_path_buf(),
        migrations_dir: migrations,
    })
}

/// Find the project: `dir_flag` (from `--dir`/`JETBASE_DIR`; a folder whose `jetbase/` child
/// is the project is accepted too), else `cwd` if it holds `migrations/`, else, walking up
/// from `cwd`, the first folder named `jetbase` holding `migrations/` or the first folder
/// with such a `jetbase/` child.
///
/// # Errors
/// No project found.
pub fn discover(dir_flag: Option<&Path>, cwd: &Path) -> Result<Project, ConfigError> {
    if let Some(dir) = dir_flag {
        let dir: PathBuf = if dir.is_absolute() {
            dir.to_path_buf()
        } else {
            cwd.join(dir)
        };
        return project_at(&dir)
            .or_else(|| project_at(&dir.join("jetbase")))
            .ok_or(ConfigError::NotAProject { dir });
    }
    if let Some(p) = project_at(cwd) {
        return Ok(p);
    }
    for dir in cwd.ancestors() {
        if dir.file_name().is_some_and(|n| n == "jetbase")
            && let Some(p) = project_at(dir)
        {
            return Ok(p);
        }
        if let Some(p) = project_at(&dir.join("jetbase")) {
            return Ok(p);
        }
    }
    Err(ConfigError::ProjectNotFound {
        cwd: cwd.to_path_buf(),
    })
}
