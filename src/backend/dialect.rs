//! `Dialect`: the pure, synchronous SQL text of jetbase's own statements for each database
//! (history and lock DDL and DML, existence checks, placeholders, quoting). Defaults hold the
//! common SQL, taken from the original's `database/queries/default_queries.py`; each database
//! overrides only what differs, as the original's `BaseQueries` subclasses do. No I/O here.

use crate::migration::SplitRules;

/// Column list read back by [`Dialect::select_history`], in this order.
pub const HISTORY_COLUMNS: &str =
    "order_executed, version, description, filename, migration_type, applied_at, checksum";

/// The prefix of the lock's claim tables (`jetbase_lock_claim_<epoch>`), on databases
/// whose lock is `LockProtocol::Claims` (see `lock::claims`).
pub const CLAIM_PREFIX: &str = "jetbase_lock_claim_";

pub trait Dialect: Send + Sync {
    /// A short name for messages (`sqlite`, `postgresql`, `mysql`).
    fn name(&self) -> &'static str;

    /// The placeholder for the `n`-th (1-based) bound parameter.
    fn placeholder(&self, n: usize) -> String {
        let _ = n;
        "?".to_owned()
    }

    /// Quote an identifier.
    fn quote_ident(&self, ident: &str) -> String {
        format!("\"{}\"", ident.replace('"', "\"\""))
    }

    /// The lexical rules that split this database's migration files into statements.
    fn split_options(&self) -> SplitRules;

    /// The statement that opens a writing transaction.
    fn begin_write(&self) -> &'static str {
        "BEGIN"
    }

    /// `CREATE TABLE IF NOT EXISTS jetbase_migrations`, exactly as the original.
    fn create_migrations_table(&self) -> String {
        "CREATE TABLE IF NOT EXISTS jetbase_migrations (\n    \
         order_executed INT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n    \
         version VARCHAR(255),\n    \
         description VARCHAR(500) NOT NULL,\n    \
         filename VARCHAR(512) NOT NULL,\n    \
         migration_type VARCHAR(32) NOT NULL,\n    \
         applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL,\n    \
         checksum VARCHAR(64) NOT NULL\n)"
            .to_owned()
    }

    /// `CREATE TABLE IF NOT EXISTS jetbase_lock`, exactly as the original.
    fn create_lock_table(&self) -> String {
        "CREATE TABLE IF NOT EXISTS jetbase_lock (\n    \
         id INTEGER PRIMARY KEY CHECK (id = 1),\n    \
         is_locked BOOLEAN NOT NULL DEFAULT FALSE,\n    \
         locked_at TIMESTAMP,\n    \
         process_id VARCHAR(36)\n)"
            .to_owned()
    }

    /// Insert the single lock row when it is missing.
    fn init_lock_row(&self) -> String {
        "INSERT INTO jetbase_lock (id, is_locked)\n\
         SELECT 1, FALSE\n\
         WHERE NOT EXISTS (SELECT 1 FROM jetbase_lock WHERE id = 1)"
            .to_owned()
    }

    /// A query whose single row and column is truthy when `table` exists. `table` is bound
    /// as the first parameter.
    fn table_exists(&self) -> String {
        format!(
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = {}",
            self.placeholder(1)
        )
    }

    /// True when [`Dialect::table_exists`] lists the tables of that name (`SHOW TABLES LIKE`)
    /// instead of answering one truthy cell: any row means it exists.
    fn table_exists_lists(&self) -> bool {
        false
    }

    /// Take the lock: parameter 1 is the process id. Zero rows affected means it is held.
    fn acquire_lock(&self) -> String {
        format!(
            "UPDATE jetbase_lock SET is_locked = TRUE, locked_at = CURRENT_TIMESTAMP, \
             process_id = {} WHERE id = 1 AND is_locked = FALSE",
            self.placeholder(1)
        )
    }

    /// Release the lock held by process id (parameter 1).
    fn release_lock(&self) -> String {
        format!(
            "UPDATE jetbase_lock SET is_locked = FALSE, locked_at = NULL, process_id = NULL \
             WHERE id = 1 AND process_id = {}",
            self.placeholder(1)
        )
    }

    /// Release the lock whoever holds it (`jetbase unlock`).
    fn force_unlock(&self) -> String {
        "UPDATE jetbase_lock SET is_locked = FALSE, locked_at = NULL, process_id = NULL \
         WHERE id = 1"
            .to_owned()
    }

    /// jetbase's own side table for the lease on the lock row (owner, heartbeat, time to
    /// live). The Python tool never reads it, so both tools keep sharing `jetbase_lock`.
    fn create_lease_table(&self) -> String {
        "CREATE TABLE IF NOT EXISTS jetbase_lock_lease (\n    \
         id INTEGER PRIMARY KEY CHECK (id = 1),\n    \
         process_id VARCHAR(36) NOT NULL,\n    \
         owner_host VARCHAR(255) NOT NULL,\n    \
         owner_pid INTEGER NOT NULL,\n    \
         acquired_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,\n    \
         heartbeat_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,\n    \
         ttl_seconds INTEGER NOT NULL\n)"
            .to_owned()
    }

    /// The database's clock, as stored in the lease's timestamps.
    fn lease_now(&self) -> &'static str {
        "clock_timestamp()"
    }

    /// Microseconds since `heartbeat_at`, by the database's clock, as an integer.
    fn lease_age_micros(&self) -> String {
        "CAST(EXTRACT(EPOCH FROM (clock_timestamp() - heartbeat_at)) * 1000000 AS BIGINT)"
            .to_owned()
    }

    /// The lease row: process id, host, pid, acquired, heartbeat, ttl, age in microseconds.
    fn select_lease(&self) -> String {
        format!(
            "SELECT process_id, owner_host, owner_pid, acquired_at, heartbeat_at, ttl_seconds, {} \
             FROM jetbase_lock_lease WHERE id = 1",
            self.lease_age_micros()
        )
    }

    /// Record our lease: process id (1), host (2), pid (3), ttl seconds (4).
    fn insert_lease(&self) -> String {
        format!(
            "INSERT INTO jetbase_lock_lease (id, process_id, owner_host, owner_pid, ttl_seconds, acquired_at, heartbeat_at) \
             VALUES (1, {}, {}, {}, {}, {now}, {now})",
            self.placeholder(1),
            self.placeholder(2),
            self.placeholder(3),
            self.placeholder(4),
            now = self.lease_now()
        )
    }

    /// Forget the lease row (before writing ours).
    fn clear_lease(&self) -> String {
        "DELETE FROM jetbase_lock_lease WHERE id = 1".to_owned()
    }

    /// Renew our lease (parameter 1: our process id); zero rows means we lost it.
    fn heartbeat(&self) -> String {
        format!(
            "UPDATE jetbase_lock_lease SET heartbeat_at = {} WHERE id = 1 AND process_id = {}",
            self.lease_now(),
            self.placeholder(1)
        )
    }

    /// Move a held lock from a dead owner (2) to us (1): a compare-and-set on the row.
    fn take_over_lock(&self) -> String {
        format!(
            "UPDATE jetbase_lock SET locked_at = CURRENT_TIMESTAMP, process_id = {} \
             WHERE id = 1 AND is_locked = TRUE AND process_id = {}",
            self.placeholder(1),
            self.placeholder(2)
        )
    }

    /// Read the lock row's owner inside a transaction, locking the row where the database
    /// can, so a takeover waits for the file being committed (fencing).
    fn fence(&self) -> String {
        "SELECT process_id FROM jetbase_lock WHERE id = 1 FOR UPDATE".to_owned()
    }

    /// How to run a file with foreign key enforcement off (`-- jetbase: foreign_keys=off`),
    /// where the database can switch it per session; `None` elsewhere (the directive is then
    /// only a comment).
    fn foreign_keys_off(&self) -> Option<ForeignKeysOff> {
        None
    }

    /// `is_locked, locked_at, process_id` of the lock row.
    fn lock_status(&self) -> String {
        "SELECT is_locked, locked_at, process_id FROM jetbase_lock WHERE id = 1".to_owned()
    }

    /// Every claim table's name, as the first column (`LockProtocol::Claims`).
    fn list_claims(&self) -> String {
        format!(
            "SELECT table_name FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name LIKE '{}%'",
            CLAIM_PREFIX.replace('_', "\\_")
        )
    }

    /// Create a claim table, failing when it exists (the claim's exclusivity). `true` when
    /// the statement also writes the claim's first row, bound as [`Dialect::insert_claim`]'s
    /// five parameters (one atomic step); otherwise that row is inserted next.
    fn create_claim(&self, name: &str) -> (String, bool) {
        let sql = format!(
            "CREATE TABLE {} (kind VARCHAR(16) NOT NULL, process_id VARCHAR(36) NOT NULL, \
             owner_host VARCHAR(255) NOT NULL, owner_pid BIGINT NOT NULL, \
             ttl_seconds BIGINT NOT NULL, at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)",
            self.quote_ident(name)
        );
        (sql, false)
    }

    /// A row of a claim: kind (1), process id (2), host (3), pid (4), ttl seconds (5).
    fn insert_claim(&self, name: &str) -> String {
        format!(
            "INSERT INTO {} (kind, process_id, owner_host, owner_pid, ttl_seconds) \
             VALUES ({}, {}, {}, {}, {})",
            self.quote_ident(name),
            self.placeholder(1),
            self.placeholder(2),
            self.placeholder(3),
            self.placeholder(4),
            self.placeholder(5)
        )
    }

    /// A claim's rows, folded: kind, process id, host, pid, ttl, first and last time, and
    /// whole seconds since the last, by the database's clock.
    fn select_claim(&self, name: &str) -> String {
        format!(
            "SELECT kind, process_id, owner_host, owner_pid, ttl_seconds, MIN(at), MAX(at), \
             CAST(EXTRACT(EPOCH FROM (CURRENT_TIMESTAMP - MAX(at))) AS BIGINT) FROM {} \
             GROUP BY kind, process_id, owner_host, owner_pid, ttl_seconds",
            self.quote_ident(name)
        )
    }

    /// Seconds since a claim table was created, and when: the age of a claim whose first
    /// row is not written yet. Where the catalogue does not say, a claim is new.
    fn claim_age(&self, name: &str) -> String {
        let _ = name;
        "SELECT 0, ''".to_owned()
    }

    /// Drop a claim table.
    fn drop_claim(&self, name: &str) -> String {
        format!("DROP TABLE IF EXISTS {}", self.quote_ident(name))
    }

    /// Every history row, oldest first. Ties on `applied_at` fall back to `order_executed`.
    fn select_history(&self) -> String {
        format!(
            "SELECT {HISTORY_COLUMNS} FROM jetbase_migrations ORDER BY applied_at ASC, order_executed ASC"
        )
    }

    /// True when the latest applied version is the one with the greatest `order_executed`
    /// (the original on ClickHouse), not the greatest `applied_at`.
    fn orders_by_order_executed(&self) -> bool {
        false
    }

    /// True when history writes pass `applied_at` as an extra last parameter instead of
    /// letting the database default it.
    fn explicit_applied_at(&self) -> bool {
        false
    }

    /// Record an applied file: version, description, filename, migration_type, checksum
    /// (and `applied_at` when [`Dialect::explicit_applied_at`]).
    fn insert_history(&self) -> String {
        format!(
            "INSERT INTO jetbase_migrations (version, description, filename, migration_type, checksum) \
             VALUES ({}, {}, {}, {}, {})",
            self.placeholder(1),
            self.placeholder(2),
            self.placeholder(3),
            self.placeholder(4),
            self.placeholder(5)
        )
    }

    /// Forget a rolled-back version (parameter 1).
    fn delete_version(&self) -> String {
        format!(
            "DELETE FROM jetbase_migrations WHERE version = {} AND migration_type = 'VERSIONED'",
            self.placeholder(1)
        )
    }

    /// Store a new checksum (1) for a version (2).
    fn update_checksum(&self) -> String {
        format!(
            "UPDATE jetbase_migrations SET checksum = {} WHERE version = {} AND migration_type = 'VERSIONED'",
            self.placeholder(1),
            self.placeholder(2)
        )
    }

    /// Re-applied repeatable: checksum (1), filename (2), migration_type (3).
    fn update_repeatable(&self) -> String {
        format!(
            "UPDATE jetbase_migrations SET checksum = {}, applied_at = CURRENT_TIMESTAMP \
             WHERE filename = {} AND migration_type = {}",
            self.placeholder(1),
            self.placeholder(2),
            self.placeholder(3)
        )
    }

    /// Forget a repeatable whose file is gone (parameter 1: filename).
    fn delete_repeatable(&self) -> String {
        format!(
            "DELETE FROM jetbase_migrations WHERE filename = {} \
             AND migration_type IN ('RUNS_ALWAYS', 'RUNS_ON_CHANGE')",
            self.placeholder(1)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::mysql::MySqlDialect;
    use crate::backend::postgres::PostgresDialect;
    use crate::backend::sqlite::SqliteDialect;

    fn all() -> Vec<Box<dyn Dialect>> {
        vec![
            Box::new(SqliteDialect),
            Box::new(PostgresDialect),
            Box::new(MySqlDialect),
        ]
    }

    #[test]
    fn dialect_placeholders_match_parameter_count() {
        // Every parameterised statement must carry as many placeholders as the callers bind.
        for d in all() {
            let count = |sql: &str| {
                if d.name() == "postgresql" {
                    (1..=9).filter(|n| sql.contains(&format!("${n}"))).count()
                } else {
                    sql.matches('?').count()
                }
            };
            let extra = usize::from(d.explicit_applied_at());
            assert_eq!(count(&d.insert_history()), 5 + extra, "{}", d.name());
            assert_eq!(count(&d.update_repeatable()), 3 + extra, "{}", d.name());
            assert_eq!(count(&d.update_checksum()), 2, "{}", d.name());
            assert_eq!(count(&d.acquire_lock()), 1, "{}", d.name());
            assert_eq!(count(&d.release_lock()), 1, "{}", d.name());
            assert_eq!(count(&d.delete_version()), 1, "{}", d.name());
            assert_eq!(count(&d.delete_repeatable()), 1, "{}", d.name());
            assert_eq!(count(&d.table_exists()), 1, "{}", d.name());
            assert_eq!(count(&d.force_unlock()), 0, "{}", d.name());
            assert_eq!(count(&d.insert_lease()), 4, "{}", d.name());
            assert_eq!(count(&d.heartbeat()), 1, "{}", d.name());
            assert_eq!(count(&d.take_over_lock()), 2, "{}", d.name());
        }
    }

    #[test]
    fn sqlite_dialect_ddl_matches_original_types() {
        let d = SqliteDialect;
        let ddl = d.create_migrations_table();
        assert!(ddl.contains("order_executed INTEGER PRIMARY KEY AUTOINCREMENT"));
        assert!(ddl.contains("applied_at TEXT DEFAULT (STRFTIME('%Y-%m-%d %H:%M:%f', 'NOW'))"));
        assert!(d.init_lock_row().starts_with("INSERT OR IGNORE"));
        assert!(
            d.create_lock_table()
                .contains("is_locked BOOLEAN NOT NULL DEFAULT 0")
        );
    }

    #[test]
    fn postgres_dialect_ddl_matches_original_types() {
        let d = PostgresDialect;
        let ddl = d.create_migrations_table();
        assert!(ddl.contains("order_executed INT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"));
        assert!(ddl.contains("applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL"));
        assert!(d.create_lock_table().contains("process_id VARCHAR(36)"));
        assert_eq!(d.placeholder(3), "$3");
    }

    #[test]
    fn mysql_dialect_ddl_matches_original_types() {
        let d = MySqlDialect;
        assert!(
            d.create_migrations_table()
                .contains("applied_at TIMESTAMP(6) DEFAULT CURRENT_TIMESTAMP(6) NOT NULL")
        );
        assert!(
            d.create_lock_table()
                .contains("locked_at TIMESTAMP(6) NULL")
        );
        assert!(d.init_lock_row().starts_with("INSERT IGNORE"));
        assert_eq!(d.quote_ident("a`b"), "`a``b`");
    }

    #[test]
    fn dialect_split_options_pick_their_database_preset() {
        assert_eq!(SqliteDialect.split_options(), SplitRules::sqlite());
        assert_eq!(PostgresDialect.split_options(), SplitRules::postgresql());
        assert_eq!(MySqlDialect.split_options(), SplitRules::mysql());
    }
}

/// The statements that run a file with foreign key enforcement off and check it before it
/// commits ([`Dialect::foreign_keys_off`]).
#[derive(Debug, Clone, Copy)]
pub struct ForeignKeysOff {
    /// One row, one column: 1 when enforcement is on.
    pub read: &'static str,
    /// Outside a transaction.
    pub off: &'static str,
    pub on: &'static str,
    /// Rows `table, rowid, parent` for each row whose parent is missing.
    pub violations: &'static str,
}
