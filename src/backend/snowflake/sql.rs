//! Snowflake's own statements for jetbase's tables, as the original's `SnowflakeQueries`
//! (`AUTOINCREMENT`, `TIMESTAMP_NTZ`, the `MERGE` that creates the lock row,
//! `CURRENT_TIMESTAMP()`), plus jetbase's lease side table. Snowflake folds unquoted names to
//! upper case: the catalogue knows `JETBASE_MIGRATIONS`. Pure: no I/O.

use crate::backend::dialect::Dialect;
use crate::migration::SplitRules;

/// Snowflake, as the original's `SnowflakeQueries`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SnowflakeDialect;

impl Dialect for SnowflakeDialect {
    fn name(&self) -> &'static str {
        "snowflake"
    }

    fn split_options(&self) -> SplitRules {
        SplitRules::snowflake()
    }

    fn create_migrations_table(&self) -> String {
        "CREATE TABLE IF NOT EXISTS jetbase_migrations (\n    \
         order_executed INT AUTOINCREMENT PRIMARY KEY,\n    \
         version VARCHAR(255),\n    \
         description VARCHAR(500) NOT NULL,\n    \
         filename VARCHAR(512) NOT NULL,\n    \
         migration_type VARCHAR(32) NOT NULL,\n    \
         applied_at TIMESTAMP_NTZ DEFAULT CURRENT_TIMESTAMP() NOT NULL,\n    \
         checksum VARCHAR(64) NOT NULL\n)"
            .to_owned()
    }

    fn create_lock_table(&self) -> String {
        "CREATE TABLE IF NOT EXISTS jetbase_lock (\n    \
         id INTEGER PRIMARY KEY,\n    \
         is_locked BOOLEAN NOT NULL DEFAULT FALSE,\n    \
         locked_at TIMESTAMP_NTZ,\n    \
         process_id VARCHAR(36)\n)"
            .to_owned()
    }

    fn init_lock_row(&self) -> String {
        "MERGE INTO jetbase_lock AS target\n\
         USING (SELECT 1 AS id, FALSE AS is_locked) AS source\n\
         ON target.id = source.id\n\
         WHEN NOT MATCHED THEN\n    \
         INSERT (id, is_locked) VALUES (source.id, source.is_locked)"
            .to_owned()
    }

    /// The catalogue holds names as Snowflake folded them (upper case).
    fn table_exists(&self) -> String {
        "SELECT COUNT(*) > 0 FROM INFORMATION_SCHEMA.TABLES \
         WHERE TABLE_SCHEMA = CURRENT_SCHEMA() AND TABLE_NAME = UPPER(?)"
            .to_owned()
    }

    fn acquire_lock(&self) -> String {
        "UPDATE jetbase_lock SET is_locked = TRUE, locked_at = CURRENT_TIMESTAMP(), \
         process_id = ? WHERE id = 1 AND is_locked = FALSE"
            .to_owned()
    }

    fn take_over_lock(&self) -> String {
        "UPDATE jetbase_lock SET locked_at = CURRENT_TIMESTAMP(), process_id = ? \
         WHERE id = 1 AND is_locked = TRUE AND process_id = ?"
            .to_owned()
    }

    fn create_lease_table(&self) -> String {
        "CREATE TABLE IF NOT EXISTS jetbase_lock_lease (\n    \
         id INTEGER PRIMARY KEY,\n    \
         process_id VARCHAR(36) NOT NULL,\n    \
         owner_host VARCHAR(255) NOT NULL,\n    \
         owner_pid INTEGER NOT NULL,\n    \
         acquired_at TIMESTAMP_NTZ NOT NULL,\n    \
         heartbeat_at TIMESTAMP_NTZ NOT NULL,\n    \
         ttl_seconds INTEGER NOT NULL\n)"
            .to_owned()
    }

    /// UTC, whatever the session's time zone: every holder and waiter reads one clock.
    fn lease_now(&self) -> &'static str {
        "SYSDATE()"
    }

    fn lease_age_micros(&self) -> String {
        "DATEDIFF('microsecond', heartbeat_at, SYSDATE())".to_owned()
    }

    /// Snowflake has no row locks for standard tables: the row is read.
    fn fence(&self) -> String {
        "SELECT process_id FROM jetbase_lock WHERE id = 1".to_owned()
    }

    fn update_repeatable(&self) -> String {
        "UPDATE jetbase_migrations SET checksum = ?, applied_at = CURRENT_TIMESTAMP() \
         WHERE filename = ? AND migration_type = ?"
            .to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snowflake_tables_are_the_originals() {
        let d = SnowflakeDialect;
        let m = d.create_migrations_table();
        assert!(m.contains("order_executed INT AUTOINCREMENT PRIMARY KEY"));
        assert!(m.contains("applied_at TIMESTAMP_NTZ DEFAULT CURRENT_TIMESTAMP() NOT NULL"));
        assert!(d.create_lock_table().contains("locked_at TIMESTAMP_NTZ"));
        assert!(
            d.init_lock_row()
                .starts_with("MERGE INTO jetbase_lock AS target")
        );
        assert!(d.table_exists().contains("UPPER(?)"));
        assert!(!d.fence().contains("FOR UPDATE"));
        assert_eq!(d.split_options(), SplitRules::snowflake());
    }
}
