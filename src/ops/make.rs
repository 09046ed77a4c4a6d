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
use crate::backend::{self, Backend, ConnectSpec, DbError, OpenMode};
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
use crate::schema::scratch::Scratch;

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
    /// `--dev-url`: the scratch database for MySQL/MariaDB (else a temporary one is made).
    pub dev_url: Option<String>,
    /// The environment the loader runs with (`JETBASE_PYTHON` chooses the interpreter).
    pub env: crate::config::EnvVars,
}

/// The database kinds `make-migrations` writes for.
fn target(kind: BackendKind) -> Result<Target, Error> {
    match kind {
        BackendKind::Sqlite => Ok(Target::Sqlite),
        BackendKind::Postgres => Ok(Target::Postgres),
        BackendKind::MySql => Ok(Target::Mysql),
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
        Target::Postgres => "postgresql",
        Target::Mysql => "mysql",
    }
}

/// The SQLAlchemy dialect the models are compiled for: MariaDB is told from MySQL by its
/// version string.
async fn server_dialect(target: Target, db: &mut dyn Backend) -> &'static str {
    #[cfg(feature = "mysql")]
    if target == Target::Mysql
        && backend::mysql::introspect::is_mariadb(db)
            .await
            .unwrap_or(false)
    {
        return "mariadb";
    }
    #[cfg(not(feature = "mysql"))]
    let _ = db;
    dialect_name(target)
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
        return Err(Error::Models {
            message: format!("{place}{}", crate::url::scrub_userinfo(err)),
            hint: "fix the model file (importing it with the same python shows the same error); JETBASE_PYTHON chooses the interpreter".into(),
        });
    }
    // The scratch database runs the models' DDL in its default schema (PostgreSQL: a
    // scratch schema on the search path) and both sides are read there: a table in a schema
    // of its own would be created elsewhere (on MySQL, in another real database) and never
    // compared.
    let elsewhere: Vec<String> = parsed
        .get("tables")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| {
            let schema = t.get("schema")?.as_str()?;
            let name = t.get("name").and_then(serde_json::Value::as_str)?;
            let module = t.get("module").and_then(serde_json::Value::as_str);
            Some(format!(
                "{schema}.{name}{}",
                module.map_or_else(String::new, |m| format!(" (module {m})"))
            ))
        })
        .collect();
    if !elsewhere.is_empty() {
        return Err(Error::Models {
            message: format!(
                "make-migrations compares the database's default schema only; these models name another: {}",
                elsewhere.join(", ")
            ),
            hint: "drop schema= from those models to keep them in the default schema, or leave them out of --models / model_paths and write their migrations by hand".into(),
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

/// How the scratch copy names the views, routines and triggers of the database it copies:
/// one may fail to be made there (MySQL keeps a view whose table lost a column it reads; a
/// function may need a privilege the copy's user lacks) and is then left out, as nothing
/// but a pending file that touches it needs it.
const COPIED_OPTIONAL: [&str; 3] = [
    "the database's view ",
    "the database's routine ",
    "the database's trigger ",
];

/// [`run_all`] for a copy of a database: a copied view, routine or trigger that fails is
/// left out.
async fn run_copy(db: &mut dyn Backend, statements: &[(String, String)]) -> Result<(), Error> {
    for (what, sql) in statements {
        if COPIED_OPTIONAL.iter().any(|p| what.starts_with(p)) {
            let _ = db.execute_raw(sql).await;
        } else {
            run_one(db, what, sql).await?;
        }
    }
    Ok(())
}

/// What to do when a statement fails on the scratch database, by what it came from: the
/// models' DDL, a pending migration file (`file.sql:line`), or the copy of the database.
fn scratch_hint(what: &str) -> String {
    if what.starts_with("the models") {
        "the database refuses it as it would refuse create_all: change the models so this database accepts them".into()
    } else if what.starts_with("the database's") {
        "make-migrations copies the database's schema to compare it, and this object of it cannot be made on the copy: please report it, with the statement above".into()
    } else {
        "make-migrations runs the migration files not applied yet on a copy of the database first (so nothing they do is generated twice), and this one fails there: fix the file, or apply it first (jetbase upgrade) and run make-migrations again".into()
    }
}

/// Run `statements` on a scratch database; `what` names them in errors.
async fn run_all(db: &mut dyn Backend, statements: &[(String, String)]) -> Result<(), Error> {
    for (what, sql) in statements {
        run_one(db, what, sql).await?;
    }
    Ok(())
}

/// Run one statement on a scratch database; `what` names it in the error.
async fn run_one(db: &mut dyn Backend, what: &str, sql: &str) -> Result<(), Error> {
    db.execute_raw(sql).await.map_err(|e| Error::Models {
        message: format!(
            "{what} fails on a scratch database: {e}\n  statement: {}",
            file::one_line(sql)
        ),
        hint: if e.code.as_deref() == Some("55P04") {
            "PostgreSQL cannot use an enum label in the transaction that adds it, and make-migrations runs the pending files in one transaction it rolls back: apply them first (jetbase upgrade), then run make-migrations again".into()
        } else if e.is_busy() {
            "another session holds a table this statement changes (PostgreSQL runs the pending files on the live database, rolled back): run make-migrations when it is free, or against a development database".into()
        } else {
            scratch_hint(what)
        },
    })
}

/// A scratch database on a MySQL/MariaDB server, emptied (or dropped) after use: the
/// `--dev-url` one, which must be empty, or a temporary `jetbase_scratch_<pid>` made here on
/// the live server (which needs the right to create a database).
async fn with_mysql_scratch<T>(
    settings: &Settings,
    live: &mut dyn Backend,
    dev_url: Option<&str>,
    work: impl AsyncFnOnce(&mut dyn Backend) -> Result<T, Error>,
) -> Result<T, Error> {
    let (url, made) = if let Some(u) = dev_url {
        (crate::url::DatabaseUrl::parse(u)?, None)
    } else {
        let name = format!("jetbase_scratch_{}", std::process::id());
        live.execute_raw(&format!("CREATE DATABASE `{name}`"))
            .await
            .map_err(Error::db(
                "creating a scratch database (make-migrations needs CREATE, or give --dev-url)",
            ))?;
        (settings.connect.url.with_database(&name), Some(name))
    };
    let mut spec = settings.connect.clone();
    spec.url = url;
    let scratch = backend::connect(&spec, OpenMode::ReadWrite).await;
    let result = match scratch {
        Ok(mut db) => {
            let result = async {
                if made.is_none() {
                    let rows = db
                        .query(
                            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE()",
                            &[],
                        )
                        .await
                        .map_err(Error::db("reading the --dev-url database"))?;
                    let n = rows.first().map_or(0, |r| backend::int_at(r, 0));
                    if n > 0 {
                        return Err(Error::usage(format!(
                            "the --dev-url database must be empty: it holds {n} table(s) (jetbase empties only what it made there)"
                        )));
                    }
                }
                let value = work(db.as_mut()).await;
                if made.is_none() {
                    empty_mysql(db.as_mut()).await?;
                }
                value
            }
            .await;
            db.close().await;
            result
        }
        Err(e) => Err(e.into()),
    };
    if let Some(name) = made {
        let dropped = live
            .execute_raw(&format!("DROP DATABASE IF EXISTS `{name}`"))
            .await;
        if result.is_ok() {
            dropped.map_err(Error::db("dropping the scratch database"))?;
        }
    }
    result
}

/// Drop every view and table of the connection's database (the `--dev-url` one after use).
async fn empty_mysql(db: &mut dyn Backend) -> Result<(), Error> {
    let tables = db
        .query(
            "SELECT table_name, table_type = 'VIEW' FROM information_schema.tables \
             WHERE table_schema = DATABASE() ORDER BY table_type = 'VIEW' DESC",
            &[],
        )
        .await
        .map_err(Error::db("emptying the --dev-url database"))?;
    db.execute_raw("SET FOREIGN_KEY_CHECKS = 0")
        .await
        .map_err(Error::db("emptying the --dev-url database"))?;
    for t in tables {
        let name = backend::text_at(&t, 0);
        let kind = if backend::int_at(&t, 1) == 1 {
            "VIEW"
        } else {
            "TABLE"
        };
        db.execute_raw(&format!(
            "DROP {kind} IF EXISTS `{}`",
            name.replace('`', "``")
        ))
        .await
        .map_err(Error::db("emptying the --dev-url database"))?;
    }
    db.execute_raw("SET FOREIGN_KEY_CHECKS = 1")
        .await
        .map_err(Error::db("emptying the --dev-url database"))
}

/// MySQL/MariaDB: refuse pending statements that name a database of the server (the
/// live one or any other) as a qualifier: on the scratch copy, which lives on a server
/// too, they would change that database for real.
async fn refuse_other_databases(
    settings: &Settings,
    live: &mut dyn Backend,
    files: &[(String, String)],
    dev_url: Option<&str>,
) -> Result<(), Error> {
    let rows = live
        .query("SHOW DATABASES", &[])
        .await
        .map_err(Error::db("listing the server's databases"))?;
    let dev_db = dev_url
        .and_then(|u| crate::url::DatabaseUrl::parse(u).ok())
        .and_then(|u| u.database().map(str::to_owned));
    let names: Vec<String> = rows.iter().map(|r| backend::text_at(r, 0)).collect();
    let dbs: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|n| {
            !n.eq_ignore_ascii_case("information_schema")
                && !n.eq_ignore_ascii_case("performance_schema")
                && Some(*n) != dev_db.as_deref()
        })
        .collect();
    let live_db = settings.connect.url.database();
    for (what, sql) in files {
        let Some(db) = crate::schema::scratch::named_database(sql, &dbs) else {
            continue;
        };
        let message = if Some(db) == live_db {
            format!(
                "{what} names the live database `{db}`: make-migrations runs pending files on a scratch copy, where that statement would change the live database"
            )
        } else {
            format!(
                "{what} names the database `{db}` of the same server: make-migrations runs pending files on a scratch copy, where that statement would change `{db}` for real"
            )
        };
        return Err(Error::Models {
            message,
            hint: "apply the pending files first (jetbase upgrade), or write the statement without the database name".into(),
        });
    }
    Ok(())
}

/// Read a database's schema with its target's introspection.
async fn introspect(target: Target, db: &mut dyn Backend) -> Result<Schema, DbError> {
    match target {
        Target::Sqlite => backend::sqlite::introspect::schema(db).await,
        #[cfg(feature = "postgres")]
        Target::Postgres => backend::postgres::introspect::schema(db).await,
        #[cfg(not(feature = "postgres"))]
        Target::Postgres => Err(DbError::new("this build has no PostgreSQL driver")),
        #[cfg(feature = "mysql")]
        Target::Mysql => backend::mysql::introspect::schema(db).await,
        #[cfg(not(feature = "mysql"))]
        Target::Mysql => Err(DbError::new("this build has no MySQL driver")),
    }
}

/// The statements of the pending files' upgrade sections, each named `file:line`, as the
/// scratch copy for `target` runs them (`schema::scratch`: no transaction control, no
/// `CONCURRENTLY` on PostgreSQL).
fn pending_statements(
    target: Target,
    db: &dyn Backend,
    pending: &[&MigrationFile],
) -> Result<Vec<(String, String)>, Error> {
    let mut statements = Vec::new();
    for f in pending {
        let text = std::fs::read_to_string(&f.path).map_err(|source| Error::Io {
            path: f.path.clone(),
            source,
        })?;
        let parsed = migration::parse(&text, db.dialect().split_options());
        for s in parsed.upgrade {
            let sql = match crate::schema::scratch::statement(target, &s.sql) {
                Scratch::Run => s.sql.clone(),
                Scratch::Instead(sql) => sql,
                Scratch::Skip(_) => continue,
            };
            statements.push((format!("{}:{}", f.filename, s.line), sql));
        }
    }
    Ok(statements)
}

/// Run `work` inside a transaction that is always rolled back.
async fn rolled_back<T>(
    db: &mut dyn Backend,
    work: impl AsyncFnOnce(&mut dyn Backend) -> Result<T, Error>,
) -> Result<T, Error> {
    db.begin()
        .await
        .map_err(Error::db("opening a transaction to roll back"))?;
    let result = work(db).await;
    let rolled = db.rollback().await;
    let value = result?;
    rolled.map_err(Error::db("rolling back the comparison's transaction"))?;
    Ok(value)
}

/// The live schema with the pending files applied: on SQLite read from an in-memory copy
/// of its schema; on PostgreSQL inside a transaction that is rolled back. On SQLite, also
/// the statements that make that copy (the database's schema, then the pending files), on
/// which the generated file is tried before it is written.
async fn current_schema(
    target: Target,
    settings: &Settings,
    live: &mut dyn Backend,
    pending: &[&MigrationFile],
    dev_url: Option<&str>,
) -> Result<(Schema, Vec<(String, String)>), Error> {
    match target {
        Target::Sqlite => current_sqlite(settings, live, pending).await,
        Target::Postgres => current_postgres(live, pending)
            .await
            .map(|s| (s, Vec::new())),
        Target::Mysql => current_mysql(settings, live, pending, dev_url).await,
    }
}

fn read_error(e: DbError) -> Error {
    Error::db("reading the database's schema")(e)
}

/// [`current_schema`] on SQLite: an in-memory copy of `sqlite_master`.
async fn current_sqlite(
    settings: &Settings,
    live: &mut dyn Backend,
    pending: &[&MigrationFile],
) -> Result<(Schema, Vec<(String, String)>), Error> {
    let objects = live
        .query(
            "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL \
             AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid",
            &[],
        )
        .await
        .map_err(read_error)?;
    let mut statements: Vec<(String, String)> = objects
        .iter()
        .map(|r| {
            (
                format!("the database's {}", backend::text_at(r, 0)),
                backend::text_at(r, 1),
            )
        })
        .collect();
    if pending.is_empty() {
        let schema = introspect(Target::Sqlite, live).await.map_err(read_error)?;
        return Ok((schema, statements));
    }
    statements.extend(pending_statements(Target::Sqlite, live, pending)?);
    let mut db = scratch(settings).await?;
    let result = run_all(db.as_mut(), &statements).await;
    let schema = match result {
        Ok(()) => introspect(Target::Sqlite, db.as_mut())
            .await
            .map_err(read_error),
        Err(e) => Err(e),
    };
    db.close().await;
    Ok((schema?, statements))
}

/// [`current_schema`] on PostgreSQL: the pending files run on the live database inside a
/// transaction that is rolled back.
async fn current_postgres(
    live: &mut dyn Backend,
    pending: &[&MigrationFile],
) -> Result<Schema, Error> {
    if pending.is_empty() {
        return introspect(Target::Postgres, live).await.map_err(read_error);
    }
    let files = pending_statements(Target::Postgres, live, pending)?;
    rolled_back(live, async |db| {
        // The pending files' DDL locks live tables until the rollback: never wait long
        // behind an application's transactions for that.
        db.execute_raw("SET LOCAL lock_timeout = '10s'")
            .await
            .map_err(Error::db("limiting the comparison's lock waits"))?;
        run_all(db, &files).await?;
        introspect(Target::Postgres, db).await.map_err(read_error)
    })
    .await
}

/// The live database's routines, views (each after the views it reads) and triggers, as
/// statements that make them in the scratch copy: a pending file may change or drop one.
async fn mysql_objects(
    settings: &Settings,
    live: &mut dyn Backend,
) -> Result<Vec<(String, String)>, Error> {
    let Some(db) = settings.connect.url.database() else {
        return Ok(Vec::new());
    };
    let read = || Error::db("reading the database's views, routines and triggers");
    let mut shown = async |list: &str, column: usize| {
        let names = live.query(list, &[]).await.map_err(read())?;
        let mut out = Vec::new();
        for r in names {
            let (name, kind) = (backend::text_at(&r, 0), backend::text_at(&r, 1));
            let rows = live
                .query(
                    &format!("SHOW CREATE {kind} `{}`", name.replace('`', "``")),
                    &[],
                )
                .await
                .map_err(read())?;
            // Empty when the user may not see a routine's body.
            let create = rows
                .first()
                .map(|r| backend::text_at(r, column))
                .unwrap_or_default();
            if !create.is_empty() {
                out.push((name, crate::schema::scratch::mysql_object_copy(&create, db)));
            }
        }
        Ok::<_, Error>(out)
    };
    let routines = shown(
        "SELECT ROUTINE_NAME, ROUTINE_TYPE FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE() ORDER BY ROUTINE_NAME",
        2,
    )
    .await?;
    let views = shown(
        "SELECT TABLE_NAME, 'VIEW' FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME",
        1,
    )
    .await?;
    let triggers = shown(
        "SELECT TRIGGER_NAME, 'TRIGGER' FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() ORDER BY TRIGGER_NAME",
        2,
    )
    .await?;
    let [view, routine, trigger] = COPIED_OPTIONAL;
    let mut out: Vec<(String, String)> = routines
        .into_iter()
        .map(|(n, sql)| (format!("{routine}{n}"), sql))
        .collect();
    out.extend(
        crate::schema::scratch::view_order(&views)
            .into_iter()
            .map(|i| (format!("{view}{}", views[i].0), views[i].1.clone())),
    );
    out.extend(
        triggers
            .into_iter()
            .map(|(n, sql)| (format!("{trigger}{n}"), sql)),
    );
    Ok(out)
}

/// [`current_schema`] on MySQL/MariaDB, whose DDL is not transactional: the live schema
/// (`SHOW CREATE TABLE`) is copied into a scratch database and the pending files run there;
/// one that names the live database, or another of the server, would change it for real.
async fn current_mysql(
    settings: &Settings,
    live: &mut dyn Backend,
    pending: &[&MigrationFile],
    dev_url: Option<&str>,
) -> Result<(Schema, Vec<(String, String)>), Error> {
    let today = introspect(Target::Mysql, live).await.map_err(read_error)?;
    let mut copy = vec![(
        "switching foreign key checks off".to_owned(),
        "SET FOREIGN_KEY_CHECKS = 0".to_owned(),
    )];
    for t in today.ordered() {
        if let Some(sql) = &t.create_sql {
            copy.push((format!("the database's table {}", t.name), sql.clone()));
        }
    }
    copy.extend(mysql_objects(settings, live).await?);
    copy.push((
        "switching foreign key checks on".to_owned(),
        "SET FOREIGN_KEY_CHECKS = 1".to_owned(),
    ));
    if pending.is_empty() {
        return Ok((today, copy));
    }
    let files = pending_statements(Target::Mysql, live, pending)?;
    refuse_other_databases(settings, live, &files, dev_url).await?;
    copy.extend(files);
    let schema = with_mysql_scratch(settings, live, dev_url, async |db| {
        run_copy(db, &copy).await?;
        introspect(Target::Mysql, db).await.map_err(read_error)
    })
    .await?;
    Ok((schema, copy))
}

/// The generated file tried on a copy of the database (its schema and the pending files,
/// `copy`) before it is written: SQLite in memory, MySQL/MariaDB in a scratch database (its
/// tables without rows). The upgrade and then the rollback must run there: a statement the
/// database refuses (a view of its own using a column the models drop, an index MySQL
/// cannot build, ...) stops make-migrations, and nothing is written. What either leaves
/// different from its goal comes back as warnings.
async fn try_on_copy(
    target: Target,
    db: &mut dyn Backend,
    copy: &[(String, String)],
    sections: [(&str, &plan::Plan, &Schema); 2],
) -> Result<Vec<String>, Error> {
    run_copy(db, copy).await?;
    let mut warnings = Vec::new();
    for (section, plan, goal) in sections {
        for (i, step) in plan.steps.iter().enumerate() {
            db.execute_raw(&step.sql).await.map_err(|e| Error::Models {
                message: format!(
                    "the generated {section} fails on a copy of the database, at its statement {} of {}: {e}\n  statement: {}",
                    i + 1,
                    plan.steps.len(),
                    file::one_line(&step.sql)
                ),
                hint: "nothing was written. The database's own views and triggers may use what the models drop or change: change or drop them in a migration file first (it may stay pending), then run make-migrations again".into(),
            })?;
        }
        let reached = introspect(target, db)
            .await
            .map_err(Error::db("reading the copy of the database"))?;
        let (_, left, _) = compare(&reached, goal, &Renames::default()).map_err(Error::usage)?;
        if !left.is_empty() {
            warnings.push(format!(
                "the generated {section}, tried on a copy of the database, leaves it different from {}: {}",
                if section == "upgrade" { "the models" } else { "where it started" },
                left.iter().map(Change::describe).collect::<Vec<_>>().join("; ")
            ));
        }
    }
    Ok(warnings)
}

/// [`try_on_copy`] where the target has a copy to try on (not PostgreSQL: its copy would be
/// the live database, whose tables the file's DDL would lock and rewrite).
async fn try_file(
    target: Target,
    settings: &Settings,
    dev_url: Option<&str>,
    copy: &[(String, String)],
    sections: [(&str, &plan::Plan, &Schema); 2],
) -> Result<Vec<String>, Error> {
    match target {
        Target::Sqlite => {
            let mut db = scratch(settings).await?;
            let result = try_on_copy(target, db.as_mut(), copy, sections).await;
            db.close().await;
            result
        }
        Target::Mysql => {
            let mut live = open(settings, OpenMode::ReadWrite).await?;
            let result = with_mysql_scratch(settings, live.as_mut(), dev_url, async |db| {
                try_on_copy(target, db, copy, sections).await
            })
            .await;
            live.close().await;
            result
        }
        Target::Postgres => Ok(Vec::new()),
    }
}

/// The models' schema: their DDL run on a scratch database (SQLite: in memory; PostgreSQL:
/// a schema of its own inside a transaction on the live database, rolled back), read back.
async fn desired_schema(
    target: Target,
    settings: &Settings,
    live: &mut dyn Backend,
    ddl: &[String],
    dev_url: Option<&str>,
) -> Result<Schema, Error> {
    let ddl: Vec<(String, String)> = ddl
        .iter()
        .map(|s| ("the models' DDL".to_owned(), s.clone()))
        .collect();
    let read = |e| Error::db("reading the models' schema")(e);
    if target == Target::Postgres {
        let scratch = format!("jetbase_scratch_{}", std::process::id());
        return rolled_back(live, async |db| {
            let setup = format!(
                "CREATE SCHEMA {q}; SET LOCAL search_path TO {q}",
                q = crate::schema::sql::quote(&scratch)
            );
            db.execute_raw(&setup)
                .await
                .map_err(Error::db("creating a scratch schema (rolled back)"))?;
            run_all(db, &ddl).await?;
            introspect(target, db).await.map_err(read)
        })
        .await;
    }
    if target == Target::Mysql {
        return with_mysql_scratch(settings, live, dev_url, async |db| {
            run_all(db, &ddl).await?;
            introspect(target, db).await.map_err(read)
        })
        .await;
    }
    let mut db = scratch(settings).await?;
    let desired = match run_all(db.as_mut(), &ddl).await {
        Ok(()) => introspect(target, db.as_mut()).await.map_err(read),
        Err(e) => Err(e),
    };
    db.close().await;
    desired
}

/// Model paths as the user knows them: relative to the folder holding the project.
fn shown(settings: &Settings, paths: &[PathBuf]) -> Vec<String> {
    paths
        .iter()
        .map(|p| {
            p.strip_prefix(settings.project.dir.parent().unwrap_or(Path::new("/")))
                .unwrap_or(p)
                .display()
                .to_string()
        })
        .collect()
}

/// PostgreSQL refuses to drop, or change the type of, what a view uses: stop before
/// writing a file that would fail (`Schema::view_uses`, read with the pending files
/// applied, so a pending file that drops the view counts).
fn views_allow(
    current: &Schema,
    changes: &[Change],
    opts: &MakeOptions,
    destructive: bool,
) -> Result<(), Error> {
    let blocked =
        crate::schema::diff::blocked_by_views(current, changes, &opts.renames, destructive);
    if blocked.is_empty() {
        return Ok(());
    }
    Err(Error::Models {
        message: format!(
            "the database refuses these changes while views use what they change:\n  - {}",
            blocked.join("\n  - ")
        ),
        hint: "nothing was written. Drop or redefine the view(s) in a migration file first (it may stay pending: make-migrations counts it), then run make-migrations again".into(),
    })
}

/// Both sides of the comparison, and what they were read from.
struct Read {
    /// The live schema with the pending files applied.
    current: Schema,
    /// SQLite: the statements that make a copy of it (see [`current_schema`]).
    copy: Vec<(String, String)>,
    /// The models' schema.
    desired: Schema,
    /// The pending files' names.
    pending: Vec<String>,
    /// The loader's warnings.
    warnings: Vec<String>,
    /// The SQLAlchemy dialect the models were compiled for.
    dialect: &'static str,
}

/// Load the models and read both schemas (the live database is closed after).
async fn read(
    target: Target,
    settings: &Settings,
    opts: &MakeOptions,
    paths: &[PathBuf],
) -> Result<Read, Error> {
    let set = scan(settings)?;
    // PostgreSQL: the scratch schema lives (and is rolled back) on this connection; MySQL:
    // it makes the scratch database.
    let mode = if target == Target::Sqlite {
        OpenMode::ReadOnly
    } else {
        OpenMode::ReadWrite
    };
    let mut live = open(settings, mode).await?;
    let result = async {
        let dialect = server_dialect(target, live.as_mut()).await;
        let models = load_models(settings, &opts.env, paths, dialect)?;
        let history = history::read_if_exists(live.as_mut())
            .await
            .map_err(Error::db("reading the history"))?
            .unwrap_or_default();
        let pending = pending_versioned(&set, &history);
        let dev = opts.dev_url.as_deref();
        let (current, copy) =
            current_schema(target, settings, live.as_mut(), &pending, dev).await?;
        let desired = desired_schema(target, settings, live.as_mut(), &models.ddl, dev).await?;
        Ok(Read {
            current,
            copy,
            desired,
            pending: pending.iter().map(|f| f.filename.clone()).collect(),
            warnings: models.warnings,
            dialect,
        })
    }
    .await;
    live.close().await;
    result
}

/// Generate (or check) the migration.
///
/// # Errors
/// Models that do not load, a database that cannot be read, files that cannot be written.
pub async fn make_migrations(settings: &Settings, opts: &MakeOptions) -> Result<MakeReport, Error> {
    let target = target(settings.connect.url.kind)?;
    let paths = model_paths(settings, opts)?;
    let Read {
        current,
        copy,
        desired,
        pending,
        warnings,
        dialect,
    } = read(target, settings, opts, &paths).await?;
    let (renamed, changes, hints) =
        compare(&current, &desired, &opts.renames).map_err(Error::usage)?;
    let options = PlanOptions {
        destructive: !opts.no_destructive,
    };
    let upgrade =
        plan::plan(target, &renamed, &desired, &changes, options).map_err(Error::usage)?;
    // Where the upgrade leaves the database: the models' schema, plus what
    // `--no-destructive` kept; the rollback starts there.
    let dropped: Vec<Change> = if options.destructive {
        Vec::new()
    } else {
        changes
            .iter()
            .filter(|c| c.destructive())
            .cloned()
            .collect()
    };
    let upgraded = crate::schema::diff::kept_after(&renamed, &desired, &dropped);
    let (back_from, back_changes, _) =
        compare(&upgraded, &current, &opts.renames.reversed()).map_err(Error::usage)?;
    // The way back may drop what the way up made: always written (it is the rollback).
    let rollback = plan::plan(
        target,
        &back_from,
        &current,
        &back_changes,
        PlanOptions { destructive: true },
    )
    .map_err(Error::usage)?;
    let shown_paths = shown(settings, &paths);
    let mut report = MakeReport {
        changes: changes.iter().map(Change::describe).collect(),
        destructive: changes.iter().any(Change::destructive),
        hints,
        warnings,
        models: shown_paths.clone(),
        pending,
        dialect: dialect.to_owned(),
        statements: upgrade.steps.len(),
        filename: None,
        path: None,
        content: None,
        written: false,
        check: opts.check,
        left_out: upgrade.skipped.clone(),
    };
    // Nothing to write when every change was left out (`--no-destructive`): an empty file
    // would only be applied, and generated again, forever.
    if changes.is_empty() || opts.check || upgrade.steps.is_empty() {
        return Ok(report);
    }
    views_allow(&current, &changes, opts, options.destructive)?;
    let tried = try_file(
        target,
        settings,
        opts.dev_url.as_deref(),
        &copy,
        [
            ("upgrade", &upgrade, &upgraded),
            ("rollback", &rollback, &current),
        ],
    )
    .await?;
    report.warnings.extend(tried);
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

#[cfg(test)]
mod tests {
    use super::scratch_hint;

    #[test]
    fn a_failure_on_the_scratch_database_says_what_to_change_by_where_it_came_from() {
        assert!(scratch_hint("the models' DDL").contains("change the models"));
        let pending = scratch_hint("V3__views.sql:5");
        assert!(
            pending.contains("fix the file") && !pending.contains("models"),
            "{pending}"
        );
        assert!(scratch_hint("the database's table users").contains("report it"));
    }
}
