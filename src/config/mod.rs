//! Configuration: finds the project folder and resolves every setting from its sources
//! (env.py, `JETBASE_*`, jetbase.toml, pyproject.toml, `DATABASE_URL`/.env, `DB_*` parts,
//! the embedded SQLite default), remembering where each value came from. Never prints.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::url::DatabaseUrl;

/// The process environment, captured once so that resolution is pure and testable.
pub type EnvVars = BTreeMap<String, String>;

/// A located project: the folder holding `migrations/` and (maybe) `env.py`.
#[derive(Debug, Clone)]
pub struct Project {
    pub dir: PathBuf,
    pub migrations_dir: PathBuf,
}

/// Where a resolved value came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    EnvPy,
    Env,
    JetbaseToml,
    Pyproject,
    DatabaseUrl,
    DotEnv,
    DbParts,
    Default,
}

/// One resolved key for `jetbase config`, value already masked.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Entry {
    pub key: String,
    pub value: String,
    pub source: Source,
}

/// Every resolved setting.
#[derive(Debug, Clone)]
pub struct Settings {
    pub project: Project,
    pub url: DatabaseUrl,
    pub url_source: Source,
    pub postgres_schema: Option<String>,
    pub skip_validation: bool,
    pub skip_checksum_validation: bool,
    pub skip_file_validation: bool,
    pub async_mode: bool,
    pub model_paths: Vec<String>,
    pub entries: Vec<Entry>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no jetbase project found from {cwd}")]
    ProjectNotFound { cwd: PathBuf },
}

/// Find the project: `dir_flag` (from `--dir`/`JETBASE_DIR`), else `cwd` if it holds
/// `migrations/`, else the nearest `jetbase/` folder walking up from `cwd`.
///
/// # Errors
/// No project found.
pub fn discover(dir_flag: Option<&Path>, cwd: &Path) -> Result<Project, ConfigError> {
    let _ = dir_flag;
    Err(ConfigError::ProjectNotFound {
        cwd: cwd.to_path_buf(),
    })
}

/// Resolve all settings for `project`.
///
/// # Errors
/// A broken source (env.py, TOML, URL).
pub fn load(project: &Project, env: &EnvVars) -> Result<Settings, ConfigError> {
    let _ = (project, env);
    Err(ConfigError::ProjectNotFound {
        cwd: PathBuf::new(),
    })
}
impl ConfigError {
    #[must_use]
    pub fn hint(&self) -> Option<String> {
        None
    }
}
