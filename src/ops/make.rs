//! `make-migrations`: the migration that brings the database to the SQLAlchemy models.
//!
//! 1. The models are read by one `python3` run of an embedded loader (`schema/loader.py`),
//!    which imports them and returns SQLAlchemy's own `create_all` DDL for the database's
//!    dialect.
//! 2. That DDL runs on a scratch database (SQLite: in memory), and the live database (plus
//!    the migration files not applied yet, run on a scratch copy of its schema) is read by
//!    the same introspection code, so the comparison is like with like.
//! 3. The difference is planned both ways (upgrade, and rollback back to today's schema)
//!    and written as a migration file, or listed (`--check`, `--dry-run`).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::plan::pending_versioned;
use super::{open, scan};
use crate::backend::{self, Backend, ConnectSpec, OpenMode};
use crate::config::Settings;
use crate::drivers::BackendKind;
use crate::error::Error;
use crate::history;
use crate::migration::{self, MigrationFile};
use crate::report::MakeReport;
use crate::schema::Schema;
use crate::schema::diff::{Change, Renames, compare};
use crate::schema::file::{self, Header};
use crate::schema::plan::{self, PlanOptions, Target};

/// The loader run by `python3 -c` (see its docstring).
const LOADER: &str = include_str!("../schema/loader.py");

/// What `make-migrations` was asked.
#[derive(Debug, Clone, Default)]
pub struct MakeOptions {
    pub description: Option<String>,
    pub version: Option<String>,
    /// Print the file, write nothing.
    pub dry_run: bool,
    /// Write nothing; differences are exit code 3.
    pub check: bool,
    pub renames: Renames,
    /// `--models`: overrides `model_paths`.
    pub models: Vec<String>,
    /// Leave drops of tables and columns out.
    pub no_destructive: bool,
    /// The current folder (relative model paths are looked up from it first).
    pub cwd: PathBuf,
    /// The environment the loader runs with (`JETBASE_PYTHON` chooses the interpreter).
    pub env: crate::config::EnvVars,
}

/// The database kinds `make-migrations` writes for.
fn target(kind: BackendKind) -> Result<Target, Error> {
    match kind {
        BackendKind::Sqlite => Ok(Target::Sqlite),
        BackendKind::Postgres | BackendKind::MySql => Err(Error::usage(format!(
            "make-migrations does not write {} migrations yet (SQLite only in this release)",
            kind.name()
        ))),
        other => Err(Error::usage(format!(
            "make-migrations compares SQLAlchemy models with SQLite, PostgreSQL or MySQL/MariaDB databases; {} migrations are written by hand (jetbase new)",
            other.name()
        ))),
    }
}

/// The SQLAlchemy dialect name of a target.
fn dialect_name(t: Target) -> &'static str {
    match t {
        Target::Sqlite => "sqlite",
        Target::Mysql => "mysql",
    }
}

/// Where the models are: `--models`, then `model_paths` (env.py or `JETBASE_MODELS`), then
/// the usual places beside the project folder. Relative paths are looked up from the current
/// folder, then from the folder holding the project folder.
fn model_paths(settings: &Settings, opts: &MakeOptions) -> Result<Vec<PathBuf>, Error> {
    let app_root = settings
        .project
        .dir
        .parent()
        .map_or_else(|| settings.project.dir.clone(), Path::to_path_buf);
    let given: Vec<String> = if opts.models.is_empty() {
        settings.model_paths.clone()
    } else {
        opts.models.clone()
    };
    let mut tried = Vec::new();
    let mut found = Vec::new();
    let bases = [opts.cwd.clone(), app_root.clone()];
    let look = |rel: &str, tried: &mut Vec<String>| -> Option<PathBuf> {
        let p = Path::new(rel);
        let candidates: Vec<PathBuf> = if p.is_absolute() {
            vec![p.to_path_buf()]
        } else {
            bases.iter().map(|b| b.join(p)).collect()
        };
        for c in candidates {
            if c.exists() {
                return Some(std::fs::canonicalize(&c).unwrap_or(c));
            }
            let shown = c.display().to_string();
            if !tried.contains(&shown) {
                tried.push(shown);
            }
        }
        None
    };
    if given.is_empty() {
        for rel in [
            "models",
            "models.py",
            "app/models",
            "app/models.py",
            "src/models",
            "src/models.py",
        ] {
            if let Some(p) = look(rel, &mut tried) {
                found.push(p);
                break;
            }
        }
    } else {
        let mut missing = false;
        for rel in &given {
            match look(rel.trim(), &mut tried) {
                Some(p) => found.push(p),
                None => missing = true,
            }
        }
        if missing {
            return Err(Error::NotFound {
                message: format!(
                    "model path not found; looked for:\n  {}",
                    tried.join("\n  ")
                ),
                hint: "fix --models, model_paths in env.py or JETBASE_MODELS (comma-separated)"
                    .into(),
            });
        }
    }
    if found.is_empty() {
        return Err(Error::NotFound {
            message: format!(
                "no SQLAlchemy models found; looked for:\n  {}",
                tried.join("\n  ")
            ),
            hint: "say where they are: --models PATH, model_paths = [\"app/models.py\"] in env.py, or JETBASE_MODELS".into(),
        });
    }
    Ok(found)
}

/// The models as the loader dumps them.
struct Models {
    ddl: Vec<String>,
    warnings: Vec<String>,
}

/// Run the loader.
fn load_models(
    settings: &Settings,
    env: &crate::config::EnvVars,
    paths: &[PathBuf],
    dialect: &str,
) -> Result<Models, Error> {
    let python = env
        .get("JETBASE_PYTHON")
        .filter(|p| !p.is_empty())
        .cloned()
        .unwrap_or_else(|| "python3".into());
    let app_root = settings
        .project
        .dir
        .parent()
        .map_or_else(|| settings.project.dir.clone(), Path::to_path_buf);
    let args = serde_json::json!({
        "paths": paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "dialect": dialect,
        "project_dir": app_root.display().to_string(),
    });
    let out = Command::new(&python)
        .arg("-c")
        .arg(LOADER)
        .arg(args.to_string())
        .current_dir(&app_root)
        .env_clear()
        .envs(env)
        .output()
        .map_err(|e| Error::NotFound {
            message: format!("cannot run {python} to read the models: {e}"),
            hint: "install python3 with SQLAlchemy, or set JETBASE_PYTHON to the interpreter of your app's virtualenv".into(),
        })?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let parsed: serde_json::Value = serde_json::from_str(stdout.trim()).map_err(|_| {
        Error::usage(format!(
            "reading the models with {python} failed: {}",
            crate::url::scrub_userinfo(String::from_utf8_lossy(&out.stderr).trim())
        ))
    })?;
    if let Some(err) = parsed.get("error").and_then(serde_json::Value::as_str) {
        let place = match (
            parsed.get("file").and_then(serde_json::Value::as_str),
            parsed.get("line").and_then(serde_json::Value::as_u64),
        ) {
            (Some(f), Some(l)) => format!("{f}:{l}: "),
            (Some(f), None) => format!("{f}: "),
            _ => String::new(),
        };
        return Err(Error::NotFound {
            message: format!("{place}{}", crate::url::scrub_userinfo(err)),
            hint: "fix the model file (importing it with the same python shows the same error); JETBASE_PYTHON chooses the interpreter".into(),
        });
    }
    let strings = |key: &str| -> Vec<String> {
        parsed
            .get(key)
            .and_then(serde_json::Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    Ok(Models {
        ddl: strings("ddl"),
        warnings: strings("warnings"),
    })
}

async fn scratch(settings: &Settings) -> Result<Box<dyn Backend>, Error> {
    let url = crate::url::DatabaseUrl::parse("sqlite:///:memory:")?;
    let spec = ConnectSpec::new(url, &settings.project.dir);
    Ok(backend::connect(&spec, OpenMode::ReadWrite).await?)
}

/// Run `statements` on a scratch database; `what` names them in errors.
async fn run_all(db: &mut dyn Backend, statements: &[(String, String)]) -> Result<(), Error> {
    for (what, sql) in statements {
        db.execute_raw(sql).await.map_err(|e| {
            Error::usage(format!(
                "{what} fails on a scratch database: {e}\n  statement: {}",
                sql.split_whitespace().collect::<Vec<_>>().join(" ")
            ))
        })?;
    }
    Ok(())
}

/// The live schema with the pending files applied, read from a scratch copy of it.
async fn current_schema(
    settings: &Settings,
    live: &mut dyn Backend,
    pending: &[&MigrationFile],
) -> Result<Schema, Error> {
    let read = |e| Error::db("reading the database's schema")(e);
    if pending.is_empty() {
        return backend::sqlite::introspect::schema(live)
            .await
            .map_err(read);
    }
    let objects = live
        .query(
            "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL \
             AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid",
            &[],
        )
        .await
        .map_err(read)?;
    let mut statements: Vec<(String, String)> = objects
        .iter()
        .map(|r| {
            (
                format!(
                    "the database's {}",
                    r.first()
                        .and_then(backend::Value::as_text)
                        .unwrap_or_default()
                ),
                r.get(1)
                    .and_then(backend::Value::as_text)
                    .unwrap_or_default(),
            )
        })
        .collect();
    for f in pending {
        let text = std::fs::read_to_string(&f.path).map_err(|source| Error::Io {
            path: f.path.clone(),
            source,
        })?;
        let parsed = migration::parse(&text, live.dialect().split_options());
        for s in parsed.upgrade {
            statements.push((format!("{}:{}", f.filename, s.line), s.sql.clone()));
        }
    }
    let mut db = scratch(settings).await?;
    let result = run_all(db.as_mut(), &statements).await;
    let schema = match result {
        Ok(()) => backend::sqlite::introspect::schema(db.as_mut())
            .await
            .map_err(read),
        Err(e) => Err(e),
    };
    db.close().await;
    schema
}

/// The models' schema: their DDL run on a scratch database, read back.
async fn desired_schema(settings: &Settings, ddl: &[String]) -> Result<Schema, Error> {
    let mut db = scratch(settings).await?;
    let ddl: Vec<(String, String)> = ddl
        .iter()
        .map(|s| ("the models' DDL".to_owned(), s.clone()))
        .collect();
    let desired = match run_all(db.as_mut(), &ddl).await {
        Ok(()) => backend::sqlite::introspect::schema(db.as_mut())
            .await
            .map_err(Error::db("reading the models' schema")),
        Err(e) => Err(e),
    };
    db.close().await;
    desired
}

/// Generate (or check) the migration.
///
/// # Errors
/// Models that do not load, a database that cannot be read, files that cannot be written.
pub async fn make_migrations(settings: &Settings, opts: &MakeOptions) -> Result<MakeReport, Error> {
    let target = target(settings.connect.url.kind)?;
    let paths = model_paths(settings, opts)?;
    let dialect = dialect_name(target);
    let models = load_models(settings, &opts.env, &paths, dialect)?;
    let set = scan(settings)?;
    let mut live = open(settings, OpenMode::ReadOnly).await?;
    let result = async {
        let history = history::read_if_exists(live.as_mut())
            .await
            .map_err(Error::db("reading the history"))?
            .unwrap_or_default();
        let pending = pending_versioned(&set, &history);
        let current = current_schema(settings, live.as_mut(), &pending).await?;
        Ok::<_, Error>((
            current,
            pending
                .iter()
                .map(|f| f.filename.clone())
                .collect::<Vec<_>>(),
        ))
    }
    .await;
    live.close().await;
    let (current, pending) = result?;
    let desired = desired_schema(settings, &models.ddl).await?;
    let (renamed, changes, hints) =
        compare(&current, &desired, &opts.renames).map_err(Error::usage)?;
    let options = PlanOptions {
        destructive: !opts.no_destructive,
    };
    let upgrade =
        plan::plan(target, &renamed, &desired, &changes, options).map_err(Error::usage)?;
    let (back_from, back_changes, _) =
        compare(&desired, &current, &opts.renames.reversed()).map_err(Error::usage)?;
    // The way back may drop what the way up made: always written (it is the rollback).
    let rollback = plan::plan(
        target,
        &back_from,
        &current,
        &back_changes,
        PlanOptions { destructive: true },
    )
    .map_err(Error::usage)?;
    let shown_paths: Vec<String> = paths
        .iter()
        .map(|p| {
            p.strip_prefix(settings.project.dir.parent().unwrap_or(Path::new("/")))
                .unwrap_or(p)
                .display()
                .to_string()
        })
        .collect();
    let mut report = MakeReport {
        changes: changes.iter().map(Change::describe).collect(),
        destructive: changes.iter().any(Change::destructive),
        hints,
        warnings: models.warnings,
        models: shown_paths.clone(),
        pending,
        dialect: dialect.to_owned(),
        statements: upgrade.steps.len(),
        filename: None,
        path: None,
        content: None,
        written: false,
        check: opts.check,
    };
    if changes.is_empty() || opts.check {
        return Ok(report);
    }
    let header = Header {
        models: shown_paths,
        dialect: dialect.to_owned(),
        pending: report.pending.clone(),
    };
    let content = file::render(&header, &upgrade, &rollback);
    let description = opts
        .description
        .clone()
        .unwrap_or_else(|| "auto migration".to_owned());
    if opts.dry_run {
        report.content = Some(content);
        return Ok(report);
    }
    let written = super::write_migration(
        &settings.project.migrations_dir,
        &description,
        opts.version.as_deref(),
        &content,
    )?;
    report.filename = Some(written.filename);
    report.path = Some(written.path);
    report.written = true;
    Ok(report)
}
