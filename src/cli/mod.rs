//! The command line: argument parsing (commands and flags spelled as the original's) and
//! every byte the program prints. Data goes to stdout (tables, or JSON with `--json`); logs,
//! progress and errors go to stderr.

mod render;
mod table;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::{CommandFactory, Parser, Subcommand};

use crate::config::{self, EnvVars, Settings, Source};
use crate::error::{Error, exit};
use crate::migration::Version;
use crate::ops::{self, AuditMode, Event, Observer, PlanLimit, RollbackOptions, UpgradeOptions};

/// `jetbase -V`: the version and the commit (`build.rs`).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("JETBASE_GIT_COMMIT"),
    ")"
);

/// The commit and its date, or `unknown` (`build.rs`).
fn commit() -> String {
    match env!("JETBASE_GIT_COMMIT_DATE") {
        "" => env!("JETBASE_GIT_COMMIT").to_owned(),
        date => format!("{} ({date})", env!("JETBASE_GIT_COMMIT")),
    }
}

/// `jetbase --version`: the version, the commit it was built from and the backends this
/// build has (its cargo features; SQLite is always in).
fn long_version() -> &'static str {
    static TEXT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let backends: Vec<&str> = crate::backend::registry::built_in()
            .map(|d| d.name)
            .collect();
        format!(
            "{}\ncommit: {}\nbackends: {}",
            env!("CARGO_PKG_VERSION"),
            commit(),
            backends.join(", ")
        )
    });
    TEXT.as_str()
}

#[derive(Debug, Parser)]
#[command(
    name = "jetbase",
    version = VERSION,
    long_version = long_version(),
    about = "Jetbase CLI: database schema migrations (a native drop-in for Python Jetbase)",
    after_help = "Exit codes: 0 success, 1 error, 2 usage, 3 drift found (validation or audit), \
                  4 lock held, 5 database unreachable or backend not built in.\n\n\
                  Where jetbase knowingly differs from Python Jetbase 0.18.1:\n  \
                  - -t/--to-version matches versions by value (01, 1 and 1.0 are version 1); \
                  Python compares the text.\n  \
                  - validate-checksums and fix-checksums pass over an applied file that is gone \
                  (validate-files reports it); Python fails.\n  \
                  - A final statement without a delimiter is run, with a warning; Python skips it \
                  (and leaves it out of the checksum), so a database it migrated lacks what that \
                  statement does."
)]
struct Cli {
    /// The project folder (the one holding migrations/ and env.py). Default: the current
    /// folder if it holds migrations/, else the nearest jetbase/ folder walking up.
    #[arg(long, global = true, env = "JETBASE_DIR", value_name = "PATH")]
    dir: Option<PathBuf>,
    /// Print the result as JSON on stdout.
    #[arg(long, global = true)]
    json: bool,
    /// How long upgrade, rollback and the fixes wait for a migration lock held by another
    /// process before giving up (exit code 4). Default: lock_timeout, else 300.
    #[arg(long = "lock-timeout", global = true, value_name = "SECONDS")]
    lock_timeout: Option<f64>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Args)]
#[allow(clippy::struct_excessive_bools)]
struct UpgradeArgs {
    /// Number of migrations to apply
    #[arg(short = 'c', long, allow_negative_numbers = true)]
    count: Option<i64>,
    /// Apply migrations up to this version (inclusive; matched by value: 01, 1 and 1.0 are
    /// the same version, where Python Jetbase compares the text)
    #[arg(short = 't', long = "to-version")]
    to_version: Option<String>,
    /// Simulate the upgrade without making changes
    #[arg(short = 'd', long = "dry-run")]
    dry_run: bool,
    /// Skip both checksum and file version validation when running migrations
    #[arg(long = "skip-validation")]
    skip_validation: bool,
    /// Skip checksum validation when running migrations
    #[arg(long = "skip-checksum-validation")]
    skip_checksum_validation: bool,
    /// Skip file version validation when running migrations
    #[arg(long = "skip-file-validation")]
    skip_file_validation: bool,
}

#[derive(Debug, clap::Args)]
#[allow(clippy::struct_excessive_bools)]
struct MakeArgs {
    /// Description of the migration (default: "auto migration")
    #[arg(value_name = "DESCRIPTION", conflicts_with = "description_flag")]
    description: Option<String>,
    /// Description of the migration
    #[arg(short = 'd', long = "description", value_name = "DESCRIPTION")]
    description_flag: Option<String>,
    /// Version of the migration (default: the time, as `new` does)
    #[arg(short = 'v', long = "version")]
    version: Option<String>,
    /// Print the file that would be written; write nothing
    #[arg(long = "dry-run")]
    dry_run: bool,
    /// Write nothing; exit 3 listing the differences when the database (with the pending
    /// migrations) differs from the models (for CI)
    #[arg(long)]
    check: bool,
    /// A column rename, TABLE.OLD:NEW (never guessed); repeatable
    #[arg(long = "rename", value_name = "TABLE.OLD:NEW")]
    rename: Vec<String>,
    /// A table rename, OLD:NEW; repeatable
    #[arg(long = "rename-table", value_name = "OLD:NEW")]
    rename_table: Vec<String>,
    /// Model file or folder (overrides model_paths and JETBASE_MODELS); repeatable
    #[arg(long = "models", value_name = "PATH")]
    models: Vec<String>,
    /// An empty scratch database for MySQL/MariaDB comparisons (default: a temporary one
    /// made and dropped on the same server)
    #[arg(long = "dev-url", value_name = "URL")]
    dev_url: Option<String>,
    /// Leave drops of tables and columns out of the file
    #[arg(long = "no-destructive")]
    no_destructive: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Initialize jetbase in current directory
    Init,
    /// Create a new migration file with a timestamp-based version and the provided description
    New {
        /// Description of the migration
        description: String,
        /// Version of the migration
        #[arg(short = 'v', long = "version")]
        version: Option<String>,
    },
    /// Execute pending migrations
    Upgrade(UpgradeArgs),
    /// Execute pending migrations (alias of upgrade)
    Migrate(UpgradeArgs),
    /// Rollback migration(s)
    Rollback {
        /// Number of migrations to rollback
        #[arg(short = 'c', long, allow_negative_numbers = true)]
        count: Option<i64>,
        /// Rollback every migration applied after this version (matched by value: 01, 1 and
        /// 1.0 are the same version, where Python Jetbase compares the text)
        #[arg(short = 't', long = "to-version")]
        to_version: Option<String>,
        /// Simulate the rollback without making changes
        #[arg(short = 'd', long = "dry-run")]
        dry_run: bool,
    },
    /// Display migration status: applied migrations and pending migrations
    Status,
    /// Show migration history
    History,
    /// Show the latest version that has been migrated
    Current,
    /// Checks if the database is currently locked for migrations or not
    LockStatus,
    /// Unlock the migration lock to allow migrations to run again (only if no migration is running)
    Unlock,
    /// Audit migration checksums without making changes; --fix updates stored checksums. An
    /// applied file that is gone is left to validate-files (Python Jetbase fails on it)
    ValidateChecksums {
        /// Fix detected checksum mismatches by updating the stored checksums
        #[arg(short = 'f', long)]
        fix: bool,
    },
    /// Check if any migration files are missing; --fix stops tracking them
    ValidateFiles {
        /// Fix detected migration file issues
        #[arg(short = 'f', long)]
        fix: bool,
    },
    /// Repair migration files and versions (fix-files, then fix-checksums)
    Fix,
    /// Stops jetbase from tracking migrations whose files no longer exist
    FixFiles,
    /// Updates all stored checksums to their current values
    FixChecksums,
    /// Show every configuration key, its value and where it came from (password masked)
    Config,
    /// Wait until the database accepts connections (DB_MAX_RETRIES, DB_RETRY_DELAY, ...)
    Wait {
        /// Attempts after the first (default: DB_MAX_RETRIES, else 30)
        #[arg(long)]
        retries: Option<u32>,
        /// Seconds between attempts (default: DB_RETRY_DELAY, else 1)
        #[arg(long)]
        delay: Option<f64>,
    },
    /// Generate the migration that brings the database to the SQLAlchemy models (model_paths)
    #[command(name = "make-migrations")]
    MakeMigrations(MakeArgs),
    /// Print a shell completion script (e.g. `jetbase completions bash > /etc/bash_completion.d/jetbase`)
    Completions {
        /// The shell
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or write one page per command into a folder
    Man {
        /// Write jetbase.1 and jetbase-<command>.1 into this folder instead
        #[arg(long = "out-dir", value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
}

/// Prints progress to stderr: one line per file like the original, or a single updating
/// line when stderr is a terminal.
struct StderrObserver {
    tty: bool,
    progress_shown: bool,
    /// Tripped by the signal handler (`stop_cleanly_on_signals`).
    cancel: crate::cancel::CancelToken,
}

impl Observer for StderrObserver {
    fn cancel_token(&self) -> crate::cancel::CancelToken {
        self.cancel.clone()
    }

    fn event(&mut self, event: Event<'_>) {
        let mut err = std::io::stderr().lock();
        match event {
            Event::Info(msg) => {
                self.clear(&mut err);
                let _ = writeln!(err, "{msg}");
            }
            Event::Warning(msg) => {
                self.clear(&mut err);
                let _ = writeln!(err, "warning: {msg}");
            }
            Event::FileStart {
                filename,
                index,
                total,
            } if self.tty && total > 1 => {
                let _ = write!(err, "\r\x1b[2K[{index}/{total}] {filename}");
                let _ = err.flush();
                self.progress_shown = true;
            }
            Event::FileStart { .. } => {}
            Event::FileDone {
                filename, rollback, ..
            } => {
                if !(self.tty && self.progress_shown) {
                    let what = if rollback { "Rollback" } else { "Migration" };
                    let _ = writeln!(err, "{what} applied successfully: {filename}");
                }
            }
        }
    }
}

impl StderrObserver {
    fn clear(&mut self, err: &mut impl Write) {
        if self.progress_shown {
            let _ = write!(err, "\r\x1b[2K");
            self.progress_shown = false;
        }
    }
}

impl Command {
    /// Commands that change the database (and take the lock) stop cleanly on Ctrl-C.
    fn writes(&self) -> bool {
        match self {
            Command::Upgrade(a) | Command::Migrate(a) => !a.dry_run,
            Command::Rollback { dry_run, .. } => !dry_run,
            Command::ValidateChecksums { fix } | Command::ValidateFiles { fix } => *fix,
            Command::Fix | Command::FixFiles | Command::FixChecksums => true,
            _ => false,
        }
    }
}

/// On SIGINT or SIGTERM, stop the running operation cleanly: the current file's transaction
/// rolls back and the lock is released (a killed process would leave the lock set). A second
/// signal exits at once.
fn stop_cleanly_on_signals(token: crate::cancel::CancelToken) {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        return;
    };
    std::thread::spawn(move || {
        for (count, _) in signals.forever().enumerate() {
            if count > 0 {
                std::process::exit(exit::INTERRUPTED);
            }
            eprintln!("\nstopping cleanly (press Ctrl-C again to quit at once)");
            token.cancel();
        }
    });
}

fn capture_env() -> EnvVars {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

const ROLLBACK_COUNT: &str = "without --count the latest migration is rolled back; \
     --to-version V rolls back everything applied after V";

/// `--count`, which must be positive; `omit` says what leaving it out does.
fn count_arg(count: Option<i64>, omit: &str) -> Result<Option<usize>, Error> {
    match count {
        None => Ok(None),
        Some(n) if n >= 1 => Ok(Some(usize::try_from(n).unwrap_or(usize::MAX))),
        Some(n) => Err(Error::usage(format!(
            "--count must be a positive integer (got {n}); {omit}"
        ))),
    }
}

fn version_arg(text: Option<&str>) -> Result<Option<Version>, Error> {
    text.map(|t| {
        Version::parse(t).ok_or_else(|| {
            Error::usage(format!(
                "invalid version '{t}': a version is integers separated by periods or underscores"
            ))
        })
    })
    .transpose()
}

/// Run the CLI; returns the process exit code.
#[must_use]
pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
        }
    };
    let json = cli.json;
    match execute(&cli) {
        Ok(code) => code,
        Err(e) => {
            render::error(&e, json);
            e.exit_code()
        }
    }
}

fn settings(cli: &Cli, env: &EnvVars) -> Result<Settings, Error> {
    let cwd = std::env::current_dir().map_err(|source| Error::Io {
        path: PathBuf::from("."),
        source,
    })?;
    let project = match config::discover(cli.dir.as_deref(), &cwd) {
        Ok(project) => project,
        // `wait` also serves containers that only have DATABASE_URL (or DB_*) and no project.
        Err(_) if matches!(cli.command, Command::Wait { .. }) && cli.dir.is_none() => {
            config::Project {
                migrations_dir: cwd.join("migrations"),
                dir: cwd.clone(),
            }
        }
        Err(e) => return Err(e.into()),
    };
    let mut settings = config::load(&project, env)?;
    if let Some(secs) = cli.lock_timeout {
        if !secs.is_finite() || secs < 0.0 {
            return Err(Error::usage(
                "--lock-timeout takes a number of seconds, 0 or more",
            ));
        }
        settings.lock_timeout = std::time::Duration::from_secs_f64(secs);
    }
    if settings.url_source == Source::Default {
        eprintln!(
            "No database configured: using the embedded SQLite database {} (set sqlalchemy_url in env.py or DATABASE_URL to change it)",
            settings.url
        );
    }
    Ok(settings)
}

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .enable_io()
        .build()
        .map_err(|source| Error::Io {
            path: PathBuf::from("<tokio runtime>"),
            source,
        })
}

/// The commands that need no database (nor, but for `new`, a project); `None` for the
/// others.
fn execute_offline(cli: &Cli, out: &render::Out) -> Option<Result<i32, Error>> {
    Some(match &cli.command {
        Command::Init => init_cmd(cli, out),
        Command::New {
            description,
            version,
        } => new_cmd(cli, out, description, version.as_deref()),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "jetbase", &mut script);
            render::emit_bytes(&script);
            Ok(exit::OK)
        }
        Command::Man { out_dir } => man(out_dir.as_deref()),
        _ => return None,
    })
}

fn init_cmd(cli: &Cli, out: &render::Out) -> Result<i32, Error> {
    let dir = match &cli.dir {
        Some(d) => d.clone(),
        None => PathBuf::from("jetbase"),
    };
    let report = ops::init(&dir)?;
    let abs = std::fs::canonicalize(&dir).unwrap_or(dir);
    out.init(&report, &abs);
    Ok(exit::OK)
}

fn new_cmd(
    cli: &Cli,
    out: &render::Out,
    description: &str,
    version: Option<&str>,
) -> Result<i32, Error> {
    let cwd = std::env::current_dir().map_err(|source| Error::Io {
        path: PathBuf::from("."),
        source,
    })?;
    let project = config::discover(cli.dir.as_deref(), &cwd)?;
    let report = ops::new_migration(&project.migrations_dir, description, version)?;
    out.new_file(&report);
    Ok(exit::OK)
}

fn execute(cli: &Cli) -> Result<i32, Error> {
    let json = cli.json;
    let out = render::Out::new(json);
    if let Some(done) = execute_offline(cli, &out) {
        return done;
    }
    let env = capture_env();
    let settings = settings(cli, &env)?;
    let mut obs = StderrObserver {
        tty: std::io::stderr().is_terminal(),
        progress_shown: false,
        cancel: crate::cancel::CancelToken::new(),
    };
    let rt = runtime()?;
    if cli.command.writes() {
        stop_cleanly_on_signals(obs.cancel.clone());
    }
    if let Command::Wait { retries, delay } = &cli.command {
        return wait_cmd(&rt, settings, &env, *retries, *delay, &out, &mut obs);
    }
    // With DB_MAX_RETRIES set, every command that connects waits for the database first.
    if settings.retry.max_retries > 0 && !matches!(cli.command, Command::Config) {
        rt.block_on(ops::wait(&settings, &mut obs))?;
    }
    match &cli.command {
        Command::Init | Command::New { .. } | Command::Completions { .. } | Command::Man { .. } => {
            Ok(exit::OK)
        }
        Command::Upgrade(a) | Command::Migrate(a) => {
            let report = rt.block_on(ops::upgrade(&settings, &upgrade_options(a)?, &mut obs))?;
            out.upgrade(&report);
            Ok(exit::OK)
        }
        Command::Rollback {
            count,
            to_version,
            dry_run,
        } => {
            let opts = RollbackOptions {
                count: count_arg(*count, ROLLBACK_COUNT)?,
                to_version: version_arg(to_version.as_deref())?,
                dry_run: *dry_run,
            };
            let report = rt.block_on(ops::rollback(&settings, &opts, &mut obs))?;
            out.rollback(&report);
            Ok(exit::OK)
        }
        Command::Status => {
            out.status(&rt.block_on(ops::status(&settings))?);
            Ok(exit::OK)
        }
        Command::History => {
            out.history(&rt.block_on(ops::history(&settings))?);
            Ok(exit::OK)
        }
        Command::Current => {
            out.current(&rt.block_on(ops::current(&settings))?);
            Ok(exit::OK)
        }
        Command::LockStatus => {
            out.lock_status(&rt.block_on(ops::lock_status(&settings))?);
            Ok(exit::OK)
        }
        Command::Unlock => {
            out.unlock(&rt.block_on(ops::unlock(&settings))?);
            Ok(exit::OK)
        }
        Command::ValidateChecksums { fix } => {
            audit(&rt, &settings, &out, &mut obs, true, false, *fix)
        }
        Command::ValidateFiles { fix } => audit(&rt, &settings, &out, &mut obs, false, true, *fix),
        Command::Fix => audit(&rt, &settings, &out, &mut obs, true, true, true),
        Command::FixFiles => audit(&rt, &settings, &out, &mut obs, false, true, true),
        Command::FixChecksums => audit(&rt, &settings, &out, &mut obs, true, false, true),
        Command::Wait { .. } => unreachable!("handled before connecting"),
        Command::Config => {
            out.config(&ops::config_report(&settings, &env));
            Ok(exit::OK)
        }
        Command::MakeMigrations(a) => make_migrations(&rt, &settings, &env, &out, a),
    }
}

fn make_migrations(
    rt: &tokio::runtime::Runtime,
    settings: &Settings,
    env: &EnvVars,
    out: &render::Out,
    a: &MakeArgs,
) -> Result<i32, Error> {
    let renames =
        crate::schema::diff::Renames::parse(&a.rename, &a.rename_table).map_err(Error::usage)?;
    if a.dry_run && a.check {
        return Err(Error::usage(
            "--dry-run and --check do not go together: --check lists the differences, --dry-run prints the file",
        ));
    }
    let models: Vec<String> = a
        .models
        .iter()
        .flat_map(|m| m.split(','))
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
        .collect();
    let opts = ops::MakeOptions {
        description: a.description_flag.clone().or_else(|| a.description.clone()),
        version: a.version.clone(),
        dry_run: a.dry_run,
        check: a.check,
        renames,
        models,
        no_destructive: a.no_destructive,
        dev_url: a.dev_url.clone(),
        cwd: std::env::current_dir().map_err(|source| Error::Io {
            path: PathBuf::from("."),
            source,
        })?,
        env: env.clone(),
    };
    if a.dev_url.is_some() && settings.connect.url.kind == crate::drivers::BackendKind::Sqlite {
        eprintln!(
            "warning: --dev-url is not needed on SQLite (the comparison runs in memory); ignored"
        );
    }
    let report = rt.block_on(ops::make_migrations(settings, &opts))?;
    out.make_migrations(&report);
    Ok(if a.check && !report.changes.is_empty() {
        exit::DRIFT
    } else {
        exit::OK
    })
}

/// `jetbase man`: the main page on stdout, or every page into `out_dir`.
fn man(out_dir: Option<&std::path::Path>) -> Result<i32, Error> {
    match out_dir {
        None => render::emit_bytes(&man_page(Cli::command().long_version(None::<&str>))?),
        Some(dir) => {
            for (name, page) in man_pages()? {
                let path = dir.join(name);
                std::fs::write(&path, page).map_err(|source| Error::Io { path, source })?;
            }
        }
    }
    Ok(exit::OK)
}

/// The roff man page of `cmd`.
fn man_page(cmd: clap::Command) -> Result<Vec<u8>, Error> {
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut page)
        .map_err(|source| Error::Io {
            path: PathBuf::from("<man page>"),
            source,
        })?;
    Ok(page)
}

/// `jetbase.1` and a `jetbase-<command>.1` for each command (with the global flags), as
/// `git` ships its pages.
fn man_pages() -> Result<Vec<(String, Vec<u8>)>, Error> {
    // The short version (with the commit) on the pages: the long one is several lines.
    let mut cmd = Cli::command().long_version(None::<&str>);
    cmd.build();
    let mut pages = vec![("jetbase.1".to_owned(), man_page(cmd.clone())?)];
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("jetbase-{}", sub.get_name());
        pages.push((format!("{name}.1"), man_page(sub.clone().name(name))?));
    }
    Ok(pages)
}

fn wait_cmd(
    rt: &tokio::runtime::Runtime,
    mut settings: Settings,
    env: &EnvVars,
    retries: Option<u32>,
    delay: Option<f64>,
    out: &render::Out,
    obs: &mut StderrObserver,
) -> Result<i32, Error> {
    if retries.is_some() || !env.contains_key("DB_MAX_RETRIES") {
        settings.retry.max_retries = retries.unwrap_or(30);
    }
    if let Some(d) = delay {
        settings.retry.delay = std::time::Duration::try_from_secs_f64(d)
            .map_err(|_| Error::usage("--delay takes a number of seconds"))?;
    } else if !env.contains_key("DB_RETRY_DELAY") {
        settings.retry.delay = std::time::Duration::from_secs(1);
    }
    let report = rt.block_on(ops::wait(&settings, obs))?;
    out.wait(&report);
    Ok(exit::OK)
}

fn upgrade_options(a: &UpgradeArgs) -> Result<UpgradeOptions, Error> {
    let count = count_arg(a.count, "to apply every pending migration, omit --count")?;
    let target = version_arg(a.to_version.as_deref())?;
    let limit = match (count, target) {
        (Some(_), Some(_)) => {
            return Err(Error::usage(
                "cannot use --count and --to-version together; choose one, or neither to run all pending migrations",
            ));
        }
        (Some(n), None) => PlanLimit::Count(n),
        (None, Some(v)) => PlanLimit::ToVersion(v),
        (None, None) => PlanLimit::All,
    };
    Ok(UpgradeOptions {
        limit,
        dry_run: a.dry_run,
        skip_validation: a.skip_validation,
        skip_checksum_validation: a.skip_checksum_validation,
        skip_file_validation: a.skip_file_validation,
    })
}

fn audit(
    rt: &tokio::runtime::Runtime,
    settings: &Settings,
    out: &render::Out,
    obs: &mut StderrObserver,
    checksums: bool,
    files: bool,
    fix: bool,
) -> Result<i32, Error> {
    let mode = AuditMode {
        checksums,
        files,
        fix,
    };
    let report = rt.block_on(ops::audit(settings, mode, obs))?;
    out.audit(&report);
    Ok(if !fix && !report.problems.is_empty() {
        exit::DRIFT
    } else {
        exit::OK
    })
}
