//! SQLite's own statements for jetbase's tables, as the original's `SQLiteQueries`: the
//! `Dialect` defaults with what SQLite spells differently. Pure: no I/O.

use crate::backend::dialect::Dialect;
use crate::migration::SplitRules;

/// SQLite, as the original's `SQLiteQueries`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SqliteDialect;

impl Dialect for SqliteDialect {
    fn foreign_keys_off(&self) -> Option<crate::backend::dialect::ForeignKeysOff> {
        Some(crate::backend::dialect::ForeignKeysOff {
            read: "PRAGMA foreign_keys",
            off: "PRAGMA foreign_keys = OFF",
            on: "PRAGMA foreign_keys = ON",
            violations: "SELECT \"table\", rowid, parent FROM pragma_foreign_key_check",
        })
    }

    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn split_options(&self) -> SplitRules {
        SplitRules::sqlite()
    }

    /// `IMMEDIATE` takes the write lock up front, so two writers wait on the busy timeout
    /// instead of failing on a lock upgrade.
    fn begin_write(&self) -> &'static str {
        "BEGIN IMMEDIATE"
    }

    fn create_migrations_table(&self) -> String {
        "CREATE TABLE IF NOT EXISTS jetbase_migrations (\n    \
         order_executed INTEGER PRIMARY KEY AUTOINCREMENT,\n    \
         version TEXT,\n    \
         description TEXT,\n    \
         filename TEXT NOT NULL,\n    \
         migration_type TEXT NOT NULL,\n    \
         applied_at TEXT DEFAULT (STRFTIME('%Y-%m-%d %H:%M:%f', 'NOW')),\n    \
         checksum TEXT\n)"
            .to_owned()
    }

    fn create_lock_table(&self) -> String {
        "CREATE TABLE IF NOT EXISTS jetbase_lock (\n    \
         id INTEGER PRIMARY KEY CHECK (id = 1),\n    \
         is_locked BOOLEAN NOT NULL DEFAULT 0,\n    \
         locked_at TEXT DEFAULT (STRFTIME('%Y-%m-%d %H:%M:%f', 'NOW')),\n    \
         process_id TEXT\n)"
            .to_owned()
    }

    fn init_lock_row(&self) -> String {
        "INSERT OR IGNORE INTO jetbase_lock (id, is_locked) VALUES (1, 0)".to_owned()
    }

    fn create_lease_table(&self) -> String {
        "CREATE TABLE IF NOT EXISTS jetbase_lock_lease (\n    \
         id INTEGER PRIMARY KEY CHECK (id = 1),\n    \
         process_id TEXT NOT NULL,\n    \
         owner_host TEXT NOT NULL,\n    \
         owner_pid INTEGER NOT NULL,\n    \
         acquired_at TEXT NOT NULL,\n    \
         heartbeat_at TEXT NOT NULL,\n    \
         ttl_seconds INTEGER NOT NULL\n)"
            .to_owned()
    }

    fn lease_now(&self) -> &'static str {
        "STRFTIME('%Y-%m-%d %H:%M:%f', 'NOW')"
    }

    fn lease_age_micros(&self) -> String {
        "CAST((JULIANDAY('now') - JULIANDAY(heartbeat_at)) * 86400000000.0 AS INTEGER)".to_owned()
    }

    /// SQLite has no row locks; `BEGIN IMMEDIATE` already serialises every writer.
    fn fence(&self) -> String {
        "SELECT process_id FROM jetbase_lock WHERE id = 1".to_owned()
    }

    fn take_over_lock(&self) -> String {
        "UPDATE jetbase_lock SET locked_at = STRFTIME('%Y-%m-%d %H:%M:%f', 'NOW'), process_id = ? \
         WHERE id = 1 AND is_locked = 1 AND process_id = ?"
            .to_owned()
    }

    fn table_exists(&self) -> String {
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?".to_owned()
    }

    fn acquire_lock(&self) -> String {
        "UPDATE jetbase_lock SET is_locked = 1, locked_at = STRFTIME('%Y-%m-%d %H:%M:%f', 'NOW'), \
         process_id = ? WHERE id = 1 AND is_locked = 0"
            .to_owned()
    }

    fn release_lock(&self) -> String {
        "UPDATE jetbase_lock SET is_locked = 0, locked_at = NULL, process_id = NULL \
         WHERE id = 1 AND process_id = ?"
            .to_owned()
    }

    fn force_unlock(&self) -> String {
        "UPDATE jetbase_lock SET is_locked = 0, locked_at = NULL, process_id = NULL WHERE id = 1"
            .to_owned()
    }

    /// SQLite keeps `applied_at` as millisecond text and jetbase applies files faster than
    /// that, while both tools find "the latest applied" by `ORDER BY applied_at`: the caller
    /// passes a strictly increasing time as the last parameter (see `history::AppliedClock`).
    fn explicit_applied_at(&self) -> bool {
        true
    }

    fn insert_history(&self) -> String {
        "INSERT INTO jetbase_migrations \
         (version, description, filename, migration_type, checksum, applied_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
            .to_owned()
    }

    fn update_repeatable(&self) -> String {
        "UPDATE jetbase_migrations SET checksum = ?1, applied_at = ?4 \
         WHERE filename = ?2 AND migration_type = ?3"
            .to_owned()
    }
}
