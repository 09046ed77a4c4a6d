//! The embedded SQLite backend, on rusqlite (the same bundled libsqlite3 as sqlx). The
//! connection is opened with the settings Python's `sqlite3` module uses (foreign keys not
//! forced on, a 5 s busy timeout), so both tools see the same database behaviour.
//!
//! Calls are synchronous inside the async trait: SQLite is in-process, and going through a
//! worker thread (as sqlx-sqlite does) measured 40 futex calls and ~0.5 ms of overhead per
//! migration file, more than the work itself.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use async_trait::async_trait;
use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{Connection, OpenFlags, params_from_iter};

pub mod introspect;
mod pool;
mod sql;

pub(crate) use pool::pool;

use super::{
    Backend, Capabilities, ConnectError, ConnectSpec, DbError, Dialect, OpenMode, Row, Value,
};
use crate::url::SqliteTarget;
pub use sql::SqliteDialect;

pub struct SqliteBackend {
    conn: Connection,
    dialect: SqliteDialect,
    /// A file database opened for writing: switch to a persistent journal at the first
    /// transaction (see `persist_journal`).
    may_persist_journal: bool,
    /// We switched a `delete`-mode database to `persist` for this session; restore on close.
    restore_delete_journal: bool,
    /// The database file, for the session lock (none in memory).
    file: Option<PathBuf>,
    /// The descriptor holding our session lock, while we hold it.
    session: Option<OwnedFd>,
    /// An in-memory database: no other process can open it.
    memory: bool,
}

/// Descriptors of database files opened for session locks and not in use. They are never
/// closed: closing any descriptor of a file drops every POSIX lock this process holds on it,
/// SQLite's own included (sqlite.org/howtocorrupt.html, 2.2), so one is kept for reuse.
static IDLE_LOCK_FDS: Mutex<Vec<(PathBuf, OwnedFd)>> = Mutex::new(Vec::new());

/// `statfs` magic numbers of NFS, SMB, CIFS and SMB2.
const NETWORK_FS: [u32; 4] = [0x6969, 0x517B, 0xFF53_4D42, 0xFE53_4D42];

fn lock_fd(path: &Path) -> Option<OwnedFd> {
    if let Ok(mut idle) = IDLE_LOCK_FDS.lock()
        && let Some(i) = idle.iter().position(|(p, _)| p == path)
    {
        return Some(idle.swap_remove(i).1);
    }
    let fd = std::fs::File::open(path).ok().map(OwnedFd::from)?;
    // On network file systems flock() is emulated with byte-range locks, which would
    // collide with SQLite's own: no session lock there (the lease alone decides).
    match rustix::fs::fstatfs(&fd) {
        // The magic numbers are 32-bit; `f_type`'s width and sign vary by platform.
        #[allow(clippy::cast_sign_loss, clippy::cast_possible_truncation)]
        Ok(st) if !NETWORK_FS.contains(&(st.f_type as u32)) => Some(fd),
        _ => {
            park_fd(path, fd);
            None
        }
    }
}

fn park_fd(path: &Path, fd: OwnedFd) {
    match IDLE_LOCK_FDS.lock() {
        Ok(mut idle) => idle.push((path.to_path_buf(), fd)),
        // Never close it (see IDLE_LOCK_FDS).
        Err(_) => std::mem::forget(fd),
    }
}

fn db_error(e: &rusqlite::Error) -> DbError {
    match e {
        rusqlite::Error::SqliteFailure(err, msg) => DbError {
            message: msg.clone().unwrap_or_else(|| err.to_string()),
            code: Some(err.extended_code.to_string()),
            position: None,
        },
        other => DbError::new(other.to_string()),
    }
}

/// This driver in the registry.
pub(crate) const CONNECTOR: super::registry::Connector = super::registry::Connector {
    kind: crate::drivers::BackendKind::Sqlite,
    connect: |spec, mode| {
        Box::pin(async move {
            SqliteBackend::connect(spec, mode)
                .await
                .map(|b| Box::new(b) as Box<dyn Backend>)
        })
    },
};

impl SqliteBackend {
    /// Open the database `spec` points at (relative paths against its base folder), with
    /// its session options.
    ///
    /// # Errors
    /// The file cannot be opened.
    #[allow(clippy::unused_async)] // the shape every backend's connect has
    pub async fn connect(
        spec: &ConnectSpec,
        mode: OpenMode,
    ) -> Result<SqliteBackend, ConnectError> {
        let url = &spec.url;
        let fail = |e: &rusqlite::Error| ConnectError::Failed {
            url: url.to_string(),
            message: url.redact(&db_error(e).message),
            transient: false,
        };
        let target = url
            .sqlite_target(&spec.base_dir)
            .unwrap_or(SqliteTarget::Memory);
        let conn = match &target {
            SqliteTarget::Memory => Connection::open_in_memory(),
            // A read-only command on a database that does not exist yet reads an empty one
            // instead of creating a file.
            SqliteTarget::File(path) if mode == OpenMode::ReadOnly && !path.exists() => {
                Connection::open_in_memory()
            }
            SqliteTarget::File(path) => {
                let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE
                    | OpenFlags::SQLITE_OPEN_URI
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX;
                if mode == OpenMode::ReadWrite {
                    flags |= OpenFlags::SQLITE_OPEN_CREATE;
                }
                Connection::open_with_flags(path, flags)
            }
        }
        .map_err(|e| fail(&e))?;
        conn.busy_timeout(spec.sqlite.busy_timeout)
            .map_err(|e| fail(&e))?;
        // The bundled library defaults foreign keys ON; Python's sqlite3 leaves them OFF.
        conn.pragma_update(None, "foreign_keys", spec.sqlite.foreign_keys)
            .map_err(|e| fail(&e))?;
        let file = matches!(target, SqliteTarget::File(_));
        let memory = target == SqliteTarget::Memory;
        // WAL is a property of the file: set by a writer, kept by every later connection.
        if spec.sqlite.wal && file && mode == OpenMode::ReadWrite {
            conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
                .map_err(|e| fail(&e))?;
        }
        Ok(SqliteBackend {
            conn,
            dialect: SqliteDialect,
            may_persist_journal: mode == OpenMode::ReadWrite && file,
            restore_delete_journal: false,
            file: match target {
                SqliteTarget::File(path) if mode == OpenMode::ReadWrite => {
                    Some(std::fs::canonicalize(&path).unwrap_or(path))
                }
                _ => None,
            },
            session: None,
            memory,
        })
    }

    fn unlock_session(&mut self) {
        if let (Some(fd), Some(path)) = (self.session.take(), &self.file) {
            let _ = rustix::fs::flock(&fd, rustix::fs::FlockOperation::Unlock);
            park_fd(path, fd);
        }
    }

    /// In the default `delete` journal mode every commit creates, syncs the folder of, and
    /// deletes a journal file. `persist` keeps the file between commits with the same
    /// durability (the header is zeroed and synced instead): measured, it removes the cost
    /// of the history row. The mode is per connection; `close` restores `delete`.
    fn persist_journal(&mut self) -> Result<(), rusqlite::Error> {
        self.may_persist_journal = false;
        let mode: String = self
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
        if mode.eq_ignore_ascii_case("delete") {
            let now: String = self
                .conn
                .query_row("PRAGMA journal_mode = PERSIST", [], |r| r.get(0))?;
            self.restore_delete_journal = now.eq_ignore_ascii_case("persist");
        }
        Ok(())
    }

    fn params(params: &[Value]) -> impl Iterator<Item = SqlValue> + '_ {
        params.iter().map(|p| match p {
            Value::Null => SqlValue::Null,
            Value::Int(i) => SqlValue::Integer(*i),
            Value::Real(f) => SqlValue::Real(*f),
            Value::Text(s) => SqlValue::Text(s.clone()),
            Value::Bool(b) => SqlValue::Integer(i64::from(*b)),
        })
    }
}

fn read_value(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(t) | ValueRef::Blob(t) => {
            Value::Text(String::from_utf8_lossy(t).into_owned())
        }
    }
}

#[async_trait]
impl Backend for SqliteBackend {
    fn dialect(&self) -> &dyn Dialect {
        &self.dialect
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            transactions: true,
            transactional_ddl: true,
            compare_and_set: true,
            session_locks: self.file.is_some(),
            lock: super::LockProtocol::Row,
            shared: !self.memory,
        }
    }

    async fn ping(&mut self) -> Result<(), DbError> {
        self.conn
            .query_row("SELECT 1", [], |_| Ok(()))
            .map_err(|e| db_error(&e))
    }

    async fn begin(&mut self) -> Result<(), DbError> {
        if self.may_persist_journal {
            self.persist_journal().map_err(|e| db_error(&e))?;
        }
        let sql = self.dialect.begin_write();
        self.execute_raw(sql).await
    }

    async fn commit(&mut self) -> Result<(), DbError> {
        self.execute_raw("COMMIT").await
    }

    async fn rollback(&mut self) -> Result<(), DbError> {
        self.execute_raw("ROLLBACK").await
    }

    async fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(|e| db_error(&e))?;
        let n = stmt
            .execute(params_from_iter(Self::params(params)))
            .map_err(|e| db_error(&e))?;
        Ok(n as u64)
    }

    async fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(|e| db_error(&e))?;
        let width = stmt.column_count();
        let mut rows = stmt
            .query(params_from_iter(Self::params(params)))
            .map_err(|e| db_error(&e))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(|e| db_error(&e))? {
            let mut values = Vec::with_capacity(width);
            for i in 0..width {
                values.push(read_value(row.get_ref(i).map_err(|e| db_error(&e))?));
            }
            out.push(values);
        }
        Ok(out)
    }

    async fn execute_raw(&mut self, sql: &str) -> Result<(), DbError> {
        self.conn.execute_batch(sql).map_err(|e| db_error(&e))
    }

    /// An exclusive `flock` on the database file, on a descriptor of its own: the kernel
    /// drops it when the holder's process ends however it ends, and it does not touch the
    /// POSIX byte-range locks SQLite itself uses. Unlike the lease's heartbeat, it stays live
    /// while the holder's file keeps SQLite's write lock for minutes, and it is seen from
    /// every container and PID namespace sharing the file.
    async fn try_session_lock(&mut self) -> Result<Option<bool>, DbError> {
        if self.session.is_some() {
            return Ok(Some(true));
        }
        let Some(path) = &self.file else {
            return Ok(None);
        };
        let Some(fd) = lock_fd(path) else {
            return Ok(None);
        };
        match rustix::fs::flock(&fd, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {
                self.session = Some(fd);
                Ok(Some(true))
            }
            Err(e) => {
                park_fd(path, fd);
                Ok((e == rustix::io::Errno::WOULDBLOCK).then_some(false))
            }
        }
    }

    async fn release_session_lock(&mut self) -> Result<(), DbError> {
        self.unlock_session();
        Ok(())
    }

    fn interrupter(&self) -> Option<Box<dyn Fn() + Send + Sync>> {
        let handle = self.conn.get_interrupt_handle();
        Some(Box::new(move || handle.interrupt()))
    }

    async fn run_unit(&mut self, unit: &super::Unit<'_>) -> Result<(), super::UnitError> {
        super::unit::run_in_session(self, unit, true).await
    }

    async fn close(mut self: Box<Self>) {
        self.unlock_session();
        if self.restore_delete_journal {
            // Only when the mode is still ours: a migration may have chosen WAL on purpose.
            let now: Result<String, _> =
                self.conn.query_row("PRAGMA journal_mode", [], |r| r.get(0));
            if now.is_ok_and(|m| m.eq_ignore_ascii_case("persist")) {
                let _ = self
                    .conn
                    .query_row("PRAGMA journal_mode = DELETE", [], |r| {
                        r.get::<_, String>(0)
                    });
            }
        }
        let _ = self.conn.close();
    }
}
