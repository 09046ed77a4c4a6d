//! Configuration: finds the project folder and resolves every setting from its sources
//! (env.py, `JETBASE_*`, jetbase.toml, pyproject.toml, `DATABASE_URL`/.env, `DB_*` parts,
//! the embedded SQLite default), remembering where each value came from. Never prints.

mod discover;
mod dotenv;
mod envpy;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use discover::discover;
pub use envpy::{EnvPy, read_env_py, read_literals};

use crate::url::{BackendKind, DatabaseUrl, UrlError};

/// The process environment, captured once so that resolution is pure and testable.
pub use crate::env::EnvVars;

/// A located project: the folder holding `migrations/` and (maybe) `env.py`.
#[derive(Debug, Clone)]
pub struct Project {
    pub dir: PathBuf,
    pub migrations_dir: PathBuf,
}

/// Where a resolved value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
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

impl Source {
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Source::EnvPy => "env.py",
            Source::Env => "environment variable",
            Source::JetbaseToml => "jetbase.toml",
            Source::Pyproject => "pyproject.toml [tool.jetbase]",
            Source::DatabaseUrl => "DATABASE_URL",
            Source::DotEnv => ".env file",
            Source::DbParts => "DB_TYPE/DB_HOST/... variables",
            Source::Default => "default",
        }
    }
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
#[allow(clippy::struct_excessive_bools)]
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
    /// How long upgrade, rollback and the fixes wait for a held lock (`lock_timeout`).
    pub lock_timeout: std::time::Duration,
    /// How long our lease lives without a heartbeat before others may take it over.
    pub lock_lease: std::time::Duration,
    /// Waiting for the database before connecting (`DB_MAX_RETRIES`, `DB_RETRY_DELAY`, ...).
    pub retry: crate::retry::RetryPolicy,
    /// How to open the database: the URL, `postgres_schema` and the `DB_*` session keys, as
    /// the CLI and the `jetbase::db` pool both open it.
    pub connect: crate::backend::ConnectSpec,
    pub entries: Vec<Entry>,
    /// Migrations compiled into the program (`jetbase::embed_migrations!`), used instead of
    /// the project's migrations folder when set ([`Settings::with_embedded`]).
    pub embedded: Option<&'static crate::migration::EmbeddedMigrations>,
}

impl Settings {
    /// These settings with the migrations compiled into the program in place of the
    /// project's migrations folder: every operation (upgrade, rollback, status, the audits)
    /// then reads them, and nothing else changes (the database, the lock, the history and
    /// the validations are the CLI's).
    #[must_use]
    pub fn with_embedded(
        mut self,
        migrations: &'static crate::migration::EmbeddedMigrations,
    ) -> Settings {
        self.embedded = Some(migrations);
        self
    }
}

/// Default `lock_timeout`: as long as Liquibase waits, enough for another deployment's
/// migrations to finish.
pub const DEFAULT_LOCK_TIMEOUT_SECS: f64 = 300.0;
/// Default `lock_lease`: a holder renews every third of it.
pub const DEFAULT_LOCK_LEASE_SECS: f64 = 30.0;

/// A configuration value as a source gives it (Python literals map onto these).
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Str(String),
    Bool(bool),
    Int(i64),
    List(Vec<String>),
}

impl Val {
    fn type_name(&self) -> &'static str {
        match self {
            Val::Str(_) => "str",
            Val::Bool(_) => "bool",
            Val::Int(_) => "int",
            Val::List(_) => "list",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no jetbase project found from {}", cwd.display())]
    ProjectNotFound { cwd: PathBuf },
    #[error("{} is not a jetbase project folder (no migrations/ inside)", dir.display())]
    NotAProject { dir: PathBuf },
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    EnvPy {
        path: PathBuf,
        line: Option<usize>,
        message: String,
    },
    #[error("{} needs Python to be evaluated, and `{python}` could not be started: {message}", path.display())]
    PythonMissing {
        path: PathBuf,
        python: String,
        message: String,
    },
    #[error("{}: {message}", path.display())]
    Toml { path: PathBuf, message: String },
    #[error("{key} must be {expected}, got {got} from {}", origin.describe())]
    BadValue {
        key: String,
        origin: Source,
        expected: &'static str,
        got: String,
    },
    #[error("invalid sqlalchemy_url from {}: {error}", origin.describe())]
    Url {
        origin: Source,
        #[source]
        error: UrlError,
    },
    /// A source names the URL but yields nothing (issue 9): never the embedded default then.
    #[error(
        "{place}: {what}, so there is no database URL (a source that names the URL but yields nothing never falls back to the embedded SQLite default)"
    )]
    UrlUnset {
        origin: Source,
        /// The file (and line) or the variable.
        place: String,
        /// What it yielded, e.g. `sqlalchemy_url is None`.
        what: String,
        hint: String,
    },
    #[error("unknown DB_TYPE '{value}'")]
    DbType { value: String },
    #[error("cannot read {}: {message}", path.display())]
    Io { path: PathBuf, message: String },
}

impl ConfigError {
    #[must_use]
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            ConfigError::ProjectNotFound { .. } => {
                "run `jetbase init` to create a project, or pass --dir (JETBASE_DIR) to point at one".into()
            }
            ConfigError::NotAProject { .. } => {
                "--dir must name the folder holding migrations/ (usually jetbase/)".into()
            }
            ConfigError::EnvPy { .. } => "fix env.py; `python3 env.py` in that folder shows the same failure".into(),
            ConfigError::PythonMissing { .. } => {
                "install python3 (or set JETBASE_PYTHON), or make env.py plain assignments such as sqlalchemy_url = \"sqlite:///jetbase.db\"".into()
            }
            ConfigError::Toml { .. } => "fix the TOML syntax".into(),
            ConfigError::BadValue { key, .. } => format!("set {key} to a proper value (booleans: True/False in env.py, true/false elsewhere)"),
            ConfigError::Url { error, .. } => return error.hint(),
            ConfigError::UrlUnset { hint, .. } => hint.clone(),
            ConfigError::DbType { .. } => format!("DB_TYPE is one of {}", crate::drivers::all_db_types().join(", ")),
            ConfigError::Io { .. } => return None,
        })
    }
}

/// Every configuration key, in display order.
pub const KEYS: &[&str] = &[
    "sqlalchemy_url",
    "postgres_schema",
    "skip_validation",
    "skip_checksum_validation",
    "skip_file_validation",
    "snowflake_private_key",
    "snowflake_private_key_password",
    "async_mode",
    "model_paths",
    "lock_timeout",
    "lock_lease",
];

fn is_secret_key(key: &str) -> bool {
    key.starts_with("snowflake_private_key")
}

/// The per-key sources of the original, in priority order, each read once.
struct Layers {
    env_py: BTreeMap<String, Val>,
    env: BTreeMap<String, Val>,
    jetbase_toml: BTreeMap<String, Val>,
    pyproject: BTreeMap<String, Val>,
    /// The first of them that names `sqlalchemy_url` but yields `None` or `""` (left out of
    /// its map, so a later source can still give the URL, as the original's lookup does).
    url_unset: Option<UnsetUrl>,
}

/// A source that names the URL but yields nothing: the fields of `ConfigError::UrlUnset`.
#[derive(Debug, Clone)]
struct UnsetUrl {
    origin: Source,
    place: String,
    what: String,
    hint: String,
}

impl From<UnsetUrl> for ConfigError {
    fn from(u: UnsetUrl) -> Self {
        ConfigError::UrlUnset {
            origin: u.origin,
            place: u.place,
            what: u.what,
            hint: u.hint,
        }
    }
}

const URL_KEY: &str = "sqlalchemy_url";

/// Take an empty-string `sqlalchemy_url` out of a TOML layer, saying where it was.
fn take_empty_url(
    layer: &mut BTreeMap<String, Val>,
    origin: Source,
    place: String,
) -> Option<UnsetUrl> {
    if !matches!(layer.get(URL_KEY), Some(Val::Str(s)) if s.is_empty()) {
        return None;
    }
    layer.remove(URL_KEY);
    Some(UnsetUrl {
        origin,
        place,
        what: "sqlalchemy_url is an empty string".into(),
        hint: "give sqlalchemy_url a database URL, or remove the line".into(),
    })
}

/// env.py sets `sqlalchemy_url` to `None` or `""`: take it out of the values and say where
/// (file, line, the line itself with any password masked).
fn env_py_unset_url(path: &Path, env_py: &mut EnvPy) -> Option<UnsetUrl> {
    let yielded = if env_py.nones.contains(URL_KEY) {
        "None"
    } else if matches!(env_py.values.get(URL_KEY), Some(Val::Str(s)) if s.is_empty()) {
        "an empty string"
    } else {
        return None;
    };
    env_py.values.remove(URL_KEY);
    let via_fn = env_py.from_get_env_vars.contains(URL_KEY);
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut place = path.display().to_string();
    let mut what = if via_fn {
        format!("get_env_vars() gives sqlalchemy_url {yielded}")
    } else {
        format!("sqlalchemy_url is {yielded}")
    };
    if let Some((line, code, others)) = envpy::locate(&text, URL_KEY, via_fn) {
        place = format!("{place}:{line}");
        let code: String = code.chars().take(120).collect();
        what = format!("{what} (`{}`)", crate::url::scrub_userinfo(&code));
        if !others.is_empty() {
            let others: Vec<String> = others.iter().map(ToString::to_string).collect();
            what = format!("{what}; it is also set on line {}", others.join(", "));
        }
    }
    let hint = if env_py.evaluated {
        "the variable it reads is probably unset (or empty) in this environment; set it, or remove the line to use the embedded SQLite default"
    } else {
        "give sqlalchemy_url a database URL, or remove the line to use the embedded SQLite default"
    };
    Some(UnsetUrl {
        origin: Source::EnvPy,
        place,
        what,
        hint: hint.into(),
    })
}

impl Layers {
    fn get(&self, key: &str) -> Option<(Val, Source)> {
        [
            (&self.env_py, Source::EnvPy),
            (&self.env, Source::Env),
            (&self.jetbase_toml, Source::JetbaseToml),
            (&self.pyproject, Source::Pyproject),
        ]
        .into_iter()
        .find_map(|(m, s)| m.get(key).map(|v| (v.clone(), s)))
    }
}

/// `JETBASE_<KEY>` variables (plus `ASYNC` and `JETBASE_MODELS`), as the original reads them:
/// an empty variable is unset, `true`/`false` (any case) are booleans.
fn env_layer(env: &EnvVars) -> BTreeMap<String, Val> {
    let mut out = BTreeMap::new();
    for key in KEYS {
        let mut names = vec![format!("JETBASE_{}", key.to_ascii_uppercase())];
        match *key {
            "async_mode" => names.push("ASYNC".into()),
            "model_paths" => names.insert(0, "JETBASE_MODELS".into()),
            _ => {}
        }
        if let Some(v) = names
            .iter()
            .find_map(|n| env.get(n).filter(|v| !v.is_empty()))
        {
            let val = match v.to_ascii_lowercase().as_str() {
                "true" => Val::Bool(true),
                "false" => Val::Bool(false),
                _ => Val::Str(v.clone()),
            };
            out.insert((*key).to_owned(), val);
        }
    }
    out
}

fn toml_to_val(v: &toml::Value) -> Option<Val> {
    match v {
        toml::Value::String(s) => Some(Val::Str(s.clone())),
        toml::Value::Boolean(b) => Some(Val::Bool(*b)),
        toml::Value::Integer(i) => Some(Val::Int(*i)),
        toml::Value::Array(a) => Some(Val::List(
            a.iter()
                .map(|x| x.as_str().map_or_else(|| format!("{x:?}"), str::to_owned))
                .collect(),
        )),
        _ => None,
    }
}

fn read_toml(path: &Path) -> Result<Option<toml::Table>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(ConfigError::Io {
                path: path.to_path_buf(),
                message: e.to_string(),
            });
        }
    };
    text.parse::<toml::Table>()
        .map(Some)
        .map_err(|e| ConfigError::Toml {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
}

fn table_layer(table: Option<&toml::Table>) -> BTreeMap<String, Val> {
    let mut out = BTreeMap::new();
    if let Some(t) = table {
        for key in KEYS {
            if let Some(v) = t.get(*key).and_then(toml_to_val) {
                out.insert((*key).to_owned(), v);
            }
        }
    }
    out
}

/// The nearest `pyproject.toml` walking up from `start`.
fn find_pyproject(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|d| d.join("pyproject.toml"))
        .find(|p| p.is_file())
}

fn want_bool(key: &str, v: Option<(Val, Source)>) -> Result<(bool, Option<Source>), ConfigError> {
    match v {
        None => Ok((false, None)),
        Some((Val::Bool(b), s)) => Ok((b, Some(s))),
        Some((other, source)) => Err(ConfigError::BadValue {
            key: key.to_owned(),
            origin: source,
            expected: "a boolean",
            got: format!("{} {}", other.type_name(), show(&other)),
        }),
    }
}

fn show(v: &Val) -> String {
    match v {
        Val::Str(s) => format!("{s:?}"),
        Val::Bool(b) => b.to_string(),
        Val::Int(i) => i.to_string(),
        Val::List(l) => format!("{l:?}"),
    }
}

/// Build a URL from `DB_TYPE`/`DB_HOST`/`DB_PORT`/`DB_NAME`/`DB_USER`/`DB_PASS`.
fn url_from_parts(
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<DatabaseUrl>, ConfigError> {
    let Some(db_type) = get("DB_TYPE") else {
        return Ok(None);
    };
    let Some(kind) = BackendKind::from_db_type(&db_type) else {
        return Err(ConfigError::DbType { value: db_type });
    };
    if kind.info().embedded {
        let name = get("DB_NAME").unwrap_or_else(|| "jetbase.db".into());
        return DatabaseUrl::parse(&format!("{}:///{name}", kind.scheme()))
            .map(Some)
            .map_err(|error| ConfigError::Url {
                origin: Source::DbParts,
                error,
            });
    }
    let port = match get("DB_PORT") {
        Some(p) => Some(p.parse::<u16>().map_err(|_| ConfigError::BadValue {
            key: "DB_PORT".into(),
            origin: Source::DbParts,
            expected: "a port number",
            got: p.clone(),
        })?),
        None => kind.info().default_port,
    };
    Ok(Some(DatabaseUrl::from_parts(
        kind,
        get("DB_USER").as_deref(),
        // `DB_PASSWORD` too, as the pool always accepted it.
        get("DB_PASS").or_else(|| get("DB_PASSWORD")).as_deref(),
        Some(get("DB_HOST").as_deref().unwrap_or("localhost")),
        port,
        get("DB_NAME").as_deref(),
    )))
}

/// Read the original's four per-key sources once each.
fn read_layers(project: &Project, env: &EnvVars) -> Result<Layers, ConfigError> {
    let env_py_path = project.dir.join("env.py");
    let mut unset = Vec::new();
    let env_py = if env_py_path.is_file() {
        let mut read = read_env_py(&env_py_path, KEYS, env)?;
        unset.extend(env_py_unset_url(&env_py_path, &mut read));
        read.values
    } else {
        BTreeMap::new()
    };
    // A missing CI secret often arrives as an empty variable.
    if env
        .get("JETBASE_SQLALCHEMY_URL")
        .is_some_and(String::is_empty)
    {
        unset.push(UnsetUrl {
            origin: Source::Env,
            place: "environment variable JETBASE_SQLALCHEMY_URL".into(),
            what: "it is set but empty".into(),
            hint: "set JETBASE_SQLALCHEMY_URL to the database URL (a missing CI secret often arrives empty), or unset it".into(),
        });
    }
    let jetbase_toml_path = project.dir.join("jetbase.toml");
    let mut jetbase_toml = table_layer(read_toml(&jetbase_toml_path)?.as_ref());
    unset.extend(take_empty_url(
        &mut jetbase_toml,
        Source::JetbaseToml,
        jetbase_toml_path.display().to_string(),
    ));
    let pyproject_path = find_pyproject(&project.dir);
    let pyproject = match &pyproject_path {
        Some(p) => read_toml(p)?,
        None => None,
    };
    let tool = pyproject
        .as_ref()
        .and_then(|t| t.get("tool"))
        .and_then(|t| t.get("jetbase"))
        .and_then(toml::Value::as_table);
    let mut pyproject = table_layer(tool);
    if let Some(path) = &pyproject_path {
        unset.extend(take_empty_url(
            &mut pyproject,
            Source::Pyproject,
            format!("{} [tool.jetbase]", path.display()),
        ));
    }
    Ok(Layers {
        env_py,
        env: env_layer(env),
        jetbase_toml,
        pyproject,
        url_unset: unset.into_iter().next(),
    })
}

/// Resolve all settings for `project`. `env` is the process environment.
///
/// # Errors
/// A broken source (env.py, TOML, URL) or a value of the wrong type.
pub fn load(project: &Project, env: &EnvVars) -> Result<Settings, ConfigError> {
    let layers = read_layers(project, env)?;

    let mut entries = Vec::new();
    let (url, url_source) = resolve_url(project, env, &layers)?;
    entries.push(Entry {
        key: "sqlalchemy_url".into(),
        value: url.to_string(),
        source: url_source,
    });

    let mut flags = BTreeMap::new();
    for key in [
        "skip_validation",
        "skip_checksum_validation",
        "skip_file_validation",
        "async_mode",
    ] {
        let (value, source) = want_bool(key, layers.get(key))?;
        flags.insert(key, value);
        entries.push(Entry {
            key: key.into(),
            value: value.to_string(),
            source: source.unwrap_or(Source::Default),
        });
    }
    let mut text_value = |key: &str| -> Result<Option<String>, ConfigError> {
        let got = layers.get(key);
        let value = match &got {
            None => None,
            Some((Val::Str(s), _)) => Some(s.clone()),
            Some((other, source)) => {
                return Err(ConfigError::BadValue {
                    key: key.to_owned(),
                    origin: *source,
                    expected: "a string",
                    got: format!("{} {}", other.type_name(), show(other)),
                });
            }
        };
        entries.push(Entry {
            key: key.into(),
            value: match (&value, is_secret_key(key)) {
                (None, _) => String::new(),
                (Some(_), true) => "***".into(),
                (Some(v), false) => v.clone(),
            },
            source: got.map_or(Source::Default, |(_, s)| s),
        });
        Ok(value)
    };
    let postgres_schema = text_value("postgres_schema")?;
    let private_key = text_value("snowflake_private_key")?;
    let private_key_password = text_value("snowflake_private_key_password")?;
    let (model_paths, model_source) = model_paths(layers.get("model_paths"))?;
    let lock_timeout = seconds(
        &layers,
        "lock_timeout",
        DEFAULT_LOCK_TIMEOUT_SECS,
        &mut entries,
    )?;
    let lock_lease = seconds(&layers, "lock_lease", DEFAULT_LOCK_LEASE_SECS, &mut entries)?;
    entries.push(Entry {
        key: "model_paths".into(),
        value: model_paths.join(","),
        source: model_source,
    });
    // Keep the documented key order.
    entries.sort_by_key(|e| KEYS.iter().position(|k| *k == e.key));

    let postgres_schema = postgres_schema.filter(|s| !s.is_empty());
    let mut connect = crate::backend::ConnectSpec::new(url.clone(), &project.dir)
        .with_env(env)
        .map_err(env_error)?
        .with_schema(postgres_schema.as_deref());
    connect.private_key = private_key
        .filter(|k| !k.is_empty())
        .map(crate::url::Secret::new);
    connect.private_key_password = private_key_password
        .filter(|k| !k.is_empty())
        .map(crate::url::Secret::new);
    Ok(Settings {
        project: project.clone(),
        url,
        url_source,
        connect,
        postgres_schema,
        skip_validation: flags["skip_validation"],
        skip_checksum_validation: flags["skip_checksum_validation"],
        skip_file_validation: flags["skip_file_validation"],
        async_mode: flags["async_mode"],
        model_paths,
        lock_timeout,
        lock_lease,
        retry: retry(env)?,
        entries,
        embedded: None,
    })
}

/// The URL an application's environment names, without a project: `JETBASE_SQLALCHEMY_URL`,
/// `DATABASE_URL`, or the `DB_TYPE`/`DB_HOST`/`DB_PORT`/`DB_NAME`/`DB_USER`/`DB_PASS`
/// parts, read as the CLI reads them (the `jetbase::db` pool's source of truth).
///
/// # Errors
/// A URL or a part that does not parse.
pub fn url_from_env(env: &EnvVars) -> Result<Option<DatabaseUrl>, ConfigError> {
    for (key, source) in [
        ("JETBASE_SQLALCHEMY_URL", Source::Env),
        ("DATABASE_URL", Source::DatabaseUrl),
    ] {
        if let Some(u) = env.get(key).filter(|u| !u.trim().is_empty()) {
            return DatabaseUrl::parse(u)
                .map(Some)
                .map_err(|error| ConfigError::Url {
                    origin: source,
                    error,
                });
        }
    }
    url_from_parts(&|k: &str| env.get(k).filter(|v| !v.is_empty()).cloned())
}

/// The wait-for-database policy from `DB_MAX_RETRIES`, `DB_RETRY_DELAY`, ...
fn retry(env: &EnvVars) -> Result<crate::retry::RetryPolicy, ConfigError> {
    crate::retry::RetryPolicy::from_env(env).map_err(env_error)
}

fn env_error(e: crate::env::EnvError) -> ConfigError {
    ConfigError::BadValue {
        key: e.key,
        origin: Source::Env,
        expected: e.expected,
        got: e.got,
    }
}

/// A duration key given in seconds (an integer, or a number in a string).
fn seconds(
    layers: &Layers,
    key: &str,
    default: f64,
    entries: &mut Vec<Entry>,
) -> Result<std::time::Duration, ConfigError> {
    let got = layers.get(key);
    let value = match &got {
        None => default,
        #[allow(clippy::cast_precision_loss)]
        Some((Val::Int(i), _)) => *i as f64,
        Some((Val::Str(s), source)) => {
            s.trim().parse::<f64>().map_err(|_| ConfigError::BadValue {
                key: key.to_owned(),
                origin: *source,
                expected: "a number of seconds",
                got: format!("{s:?}"),
            })?
        }
        Some((other, source)) => {
            return Err(ConfigError::BadValue {
                key: key.to_owned(),
                origin: *source,
                expected: "a number of seconds",
                got: show(other),
            });
        }
    };
    if !value.is_finite() || value < 0.0 {
        return Err(ConfigError::BadValue {
            key: key.to_owned(),
            origin: got.map_or(Source::Default, |(_, s)| s),
            expected: "a number of seconds, 0 or more",
            got: value.to_string(),
        });
    }
    entries.push(Entry {
        key: key.into(),
        value: format!("{value} s"),
        source: got.map_or(Source::Default, |(_, s)| s),
    });
    Ok(std::time::Duration::from_secs_f64(value))
}

/// `model_paths`: a list, or a comma-separated string (`JETBASE_MODELS`).
fn model_paths(got: Option<(Val, Source)>) -> Result<(Vec<String>, Source), ConfigError> {
    match got {
        None => Ok((Vec::new(), Source::Default)),
        Some((Val::List(l), s)) => Ok((l, s)),
        Some((Val::Str(s), src)) => Ok((
            s.split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect(),
            src,
        )),
        Some((other, source)) => Err(ConfigError::BadValue {
            key: "model_paths".into(),
            origin: source,
            expected: "a list of paths or a comma-separated string",
            got: show(&other),
        }),
    }
}

/// The project root for `.env`: the folder above `jetbase/`, and the project folder itself.
fn dotenv_files(project: &Project) -> Vec<PathBuf> {
    let mut files = vec![project.dir.join(".env")];
    if let Some(parent) = project.dir.parent() {
        files.push(parent.join(".env"));
    }
    files
}

fn resolve_url(
    project: &Project,
    env: &EnvVars,
    layers: &Layers,
) -> Result<(DatabaseUrl, Source), ConfigError> {
    let parse = |text: &str, source: Source| {
        DatabaseUrl::parse(text).map_err(|error| ConfigError::Url {
            origin: source,
            error,
        })
    };
    match layers.get("sqlalchemy_url") {
        Some((Val::Str(s), source)) => return Ok((parse(&s, source)?, source)),
        Some((other, source)) => {
            return Err(ConfigError::BadValue {
                key: "sqlalchemy_url".into(),
                origin: source,
                expected: "a string",
                got: other.type_name().into(),
            });
        }
        None => {}
    }
    // Issue 9: a source named the URL but yielded nothing. The embedded default (and the
    // sources beyond the original) are for projects that name no database at all.
    if let Some(unset) = &layers.url_unset {
        return Err(unset.clone().into());
    }
    match env.get("DATABASE_URL") {
        Some(u) if u.is_empty() => {
            return Err(ConfigError::UrlUnset {
                origin: Source::DatabaseUrl,
                place: "environment variable DATABASE_URL".into(),
                what: "it is set but empty".into(),
                hint: "set DATABASE_URL to the database URL (a missing CI secret often arrives empty), or unset it".into(),
            });
        }
        Some(u) => return Ok((parse(u, Source::DatabaseUrl)?, Source::DatabaseUrl)),
        None => {}
    }
    let mut dot = BTreeMap::new();
    let mut dot_url_file = None;
    for file in dotenv_files(project) {
        for (k, v) in dotenv::read(&file)? {
            if k == "DATABASE_URL" && !dot.contains_key(&k) {
                dot_url_file = Some(file.clone());
            }
            dot.entry(k).or_insert(v);
        }
    }
    match (dot.get("DATABASE_URL"), dot_url_file) {
        (Some(u), Some(file)) if u.is_empty() => {
            return Err(ConfigError::UrlUnset {
                origin: Source::DotEnv,
                place: file.display().to_string(),
                what: "DATABASE_URL is empty".into(),
                hint: "give DATABASE_URL a database URL in that file, or remove the line".into(),
            });
        }
        (Some(u), _) => return Ok((parse(u, Source::DotEnv)?, Source::DotEnv)),
        _ => {}
    }
    let get = |k: &str| -> Option<String> {
        env.get(k)
            .or_else(|| dot.get(k))
            .filter(|v| !v.is_empty())
            .cloned()
    };
    if let Some(u) = url_from_parts(&get)? {
        return Ok((u, Source::DbParts));
    }
    Ok((
        parse("sqlite:///jetbase.db", Source::Default)?,
        Source::Default,
    ))
}

#[cfg(test)]
mod tests;
