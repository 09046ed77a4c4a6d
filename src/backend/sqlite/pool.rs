//! SQLite's `jetbase::db` pool, on sqlx-sqlite, opened as the CLI's connection is (foreign
//! keys, busy timeout and WAL from the connection spec).

use sqlx::ConnectOptions;
use sqlx::pool::PoolOptions;

use crate::backend::ConnectSpec;
use crate::backend::sqlx_common::probe;
use crate::url::SqliteTarget;

/// The pool for `spec`, shaped by `options`. An in-memory database is one shared
/// connection, never closed: every handle sees the same database.
pub(crate) async fn pool(
    spec: &ConnectSpec,
    options: PoolOptions<sqlx::Sqlite>,
) -> Result<sqlx::SqlitePool, sqlx::Error> {
    let target = spec
        .url
        .sqlite_target(&spec.base_dir)
        .unwrap_or(SqliteTarget::Memory);
    let base = sqlx::sqlite::SqliteConnectOptions::new()
        .foreign_keys(spec.sqlite.foreign_keys)
        .busy_timeout(spec.sqlite.busy_timeout)
        .disable_statement_logging();
    match target {
        SqliteTarget::Memory => {
            let opts = base.in_memory(true).shared_cache(true);
            options
                .min_connections(1)
                .max_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(opts)
                .await
        }
        SqliteTarget::File(path) => {
            let mut opts = base.filename(path).create_if_missing(true);
            if spec.sqlite.wal {
                opts = opts.journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
            }
            probe(&opts, async |_| Ok(())).await?;
            options.connect_with(opts).await
        }
    }
}
