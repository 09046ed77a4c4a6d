//! The crate's error type: every way a command can fail, with its hint and exit code.
//! Messages never carry a password: URLs are shown through `DatabaseUrl`'s masked Display
//! and driver messages are scrubbed before they get here.

use std::path::PathBuf;

use crate::backend::{ConnectError, DbError};

/// Documented exit codes (README "Exit codes").
pub mod exit {
    pub const OK: i32 = 0;
    /// A failure: SQL error, missing file, bad configuration...
    pub const ERROR: i32 = 1;
    /// Bad command line usage.
    pub const USAGE: i32 = 2;
    /// Drift: an audit or a validation found files and history disagreeing.
    pub const DRIFT: i32 = 3;
    /// The migration lock is held by someone else.
    pub const LOCKED: i32 = 4;
    /// The database cannot be reached, or its backend is not built in.
    pub const CONNECT: i32 = 5;
    /// Stopped by SIGINT or SIGTERM (128 + 2, as shells report Ctrl-C).
    pub const INTERRUPTED: i32 = 130;
}

/// One problem a validation found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// `checksum_mismatch`, `missing_file`, `missing_repeatable_file`, `out_of_order`.
    pub kind: &'static str,
    pub version: Option<String>,
    pub filename: Option<String>,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Migration(#[from] crate::migration::MigrationError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Url(#[from] crate::url::UrlError),
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("database error while {context}: {source}")]
    Db {
        context: String,
        #[source]
        source: DbError,
    },
    #[error("{file}:{line}: statement failed: {message}")]
    Statement {
        file: String,
        line: usize,
        statement: String,
        message: String,
        /// What of the file ran before the failure, on databases that cannot roll DDL back.
        partial: Option<String>,
    },
    #[error("validation failed: {}", summary(.problems))]
    Validation { problems: Vec<Problem> },
    #[error("the migration lock is held by {holder}{}; gave up after waiting {waited_secs:.0} s", .locked_at.as_deref().map(|t| format!(" since {t}")).unwrap_or_default())]
    Locked {
        holder: String,
        locked_at: Option<String>,
        waited_secs: f64,
        /// Held without a lease (the Python tool): never taken over automatically.
        foreign: bool,
    },
    #[error("the migration lock was taken over by another process while this one held it")]
    LockLost,
    #[error("interrupted {}", .0.describe())]
    Interrupted(Stopped),
    /// Interrupted inside a file that is not atomic (no transactional DDL): part of it ran.
    #[error(
        "interrupted while running {file}: the migration lock was released, but its statements cannot be rolled back here"
    )]
    InterruptedInFile { file: String, partial: String },
    #[error("{message}")]
    Usage { message: String },
    #[error("{message}")]
    NotFound { message: String, hint: String },
    /// `make-migrations`: the models cannot be read, or their DDL fails on a scratch
    /// database.
    #[error("{message}")]
    Models { message: String, hint: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn summary(problems: &[Problem]) -> String {
    let mut s = String::new();
    for p in problems {
        s.push_str("\n  - ");
        s.push_str(&p.message);
    }
    s
}

/// Where an operation was when it was asked to stop, for the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// Before anything was written (reading files, validating).
    BeforeChanges,
    /// Waiting for another process's migration lock: nothing was written.
    WaitingForLock,
    /// Holding the lock, running files.
    RunningFiles,
}

impl Stopped {
    fn describe(self) -> &'static str {
        match self {
            Stopped::BeforeChanges => "before anything was changed",
            Stopped::WaitingForLock => {
                "while waiting for another process's migration lock; nothing was changed"
            }
            Stopped::RunningFiles => {
                "while running: the file in progress was rolled back and the migration lock released"
            }
        }
    }
}

impl Error {
    /// Wrap a database error with what we were doing.
    pub fn db(context: impl Into<String>) -> impl FnOnce(DbError) -> Error {
        let context = context.into();
        move |source| Error::Db { context, source }
    }

    #[must_use]
    pub fn usage(message: impl Into<String>) -> Error {
        Error::Usage {
            message: message.into(),
        }
    }

    #[must_use]
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage { .. } => exit::USAGE,
            Error::Validation { .. } => exit::DRIFT,
            Error::Locked { .. } | Error::LockLost => exit::LOCKED,
            Error::Connect(ConnectError::BadUrl { .. } | ConnectError::BadKey { .. }) => {
                exit::ERROR
            }
            Error::Connect(_) => exit::CONNECT,
            Error::Interrupted(_) | Error::InterruptedInFile { .. } => exit::INTERRUPTED,
            _ => exit::ERROR,
        }
    }

    /// One line telling the user how to proceed.
    #[must_use]
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Migration(e) => e.hint(),
            Error::Config(e) => e.hint(),
            Error::Url(e) => e.hint(),
            Error::Connect(ConnectError::Unsupported { .. }) => Some(format!(
                "this build supports {} URLs; the others arrive in later releases",
                crate::backend::registry::built_in_schemes()
            )),
            Error::Connect(ConnectError::MissingSchema { schema }) => Some(format!(
                "create it first (CREATE SCHEMA \"{schema}\";) or fix postgres_schema"
            )),
            Error::Connect(ConnectError::BadKey { .. }) => Some(
                "fix the key setting named above (`jetbase config` shows where each setting comes from)"
                    .into(),
            ),
            Error::Connect(ConnectError::BadUrl { .. }) => Some(
                "fix the database URL (`jetbase config` shows what was resolved)".into(),
            ),
            Error::Connect(ConnectError::Failed { .. }) => {
                Some("check the URL, the server and the credentials (`jetbase config` shows what was resolved)".into())
            }
            Error::Statement { partial, .. } => Some(partial.clone().unwrap_or_else(|| {
                "nothing of this file was applied (its transaction was rolled back); fix the statement and run the command again".into()
            })),
            Error::Validation { problems } => {
                let mut hints = Vec::new();
                if problems.iter().any(|p| p.kind == "checksum_mismatch") {
                    hints.push("restore the files, or accept the changes with `jetbase fix-checksums`");
                }
                if problems.iter().any(|p| p.kind.starts_with("missing")) {
                    hints.push("restore the files, or stop tracking them with `jetbase fix-files`");
                }
                if problems.iter().any(|p| p.kind == "out_of_order") {
                    hints.push("rename new files to a version above the latest applied one");
                }
                hints.push("or skip with --skip-validation");
                Some(hints.join("; "))
            }
            Error::Locked { foreign: true, .. } => Some(
                "that lock carries no lease (Python Jetbase, or a process that died before jetbase \
                 kept leases), so it is never taken over automatically; if no migration is running, \
                 run `jetbase unlock`"
                    .into(),
            ),
            Error::Locked { .. } => Some(
                "another migration is running: wait for it, or raise --lock-timeout (lock_timeout); \
                 if you are sure none is, run `jetbase unlock`"
                    .into(),
            ),
            Error::LockLost => Some(
                "its heartbeat stopped for longer than lock_lease, so another process took the lock; \
                 files finished before stay applied: run the command again"
                    .into(),
            ),
            Error::NotFound { hint, .. } | Error::Models { hint, .. } => Some(hint.clone()),
            Error::Interrupted(Stopped::RunningFiles) => Some(
                "files applied before the interruption stay applied; run the command again to continue".into(),
            ),
            Error::Interrupted(_) => Some("run the command again when you are ready".into()),
            Error::InterruptedInFile { partial, .. } => Some(partial.clone()),
            Error::Db { .. } | Error::Usage { .. } | Error::Io { .. } => None,
        }
    }
}
