//! Databricks' own statements for jetbase's tables, as the original's `DatabricksQueries`
//! (`BIGINT GENERATED ALWAYS AS IDENTITY`, `STRING` columns, `CURRENT_TIMESTAMP()` written into
//! `applied_at`, the `MERGE` that creates the lock row), plus jetbase's lease side table. Pure:
//! no I/O.
//!
//! Open-source Spark (the Thrift server the tests run, with Iceberg tables) speaks the same
//! protocol and SQL but refuses two of the original's features and differs in one; where the
//! server is Spark ([`DatabricksDialect::databricks`] false) jetbase uses equivalents that
//! also work on Databricks:
//! - `GENERATED ALWAYS AS IDENTITY`: a plain `BIGINT order_executed`, written as the greatest
//!   one plus one (under jetbase's lock, so two writers never race for a number);
//! - `INFORMATION_SCHEMA.TABLES` (the original's existence check): `SHOW TABLES LIKE`, on
//!   every server;
//! - the `MERGE` that creates the lock row: Iceberg runs a `MERGE` with only a `WHEN NOT
//!   MATCHED` clause as a plain append, without checking for a concurrent one, so processes
//!   starting together each added a row (Delta refuses all but one). On Spark the `MERGE` also
//!   has a `WHEN MATCHED` clause that changes nothing, which makes Iceberg refuse all but one.

use crate::backend::dialect::Dialect;
use crate::migration::SplitRules;

/// Databricks SQL (or Spark SQL).
#[derive(Debug, Clone, Copy)]
pub struct DatabricksDialect {
    /// The server is Databricks (identity columns, Delta): every statement is the
    /// original's. `false`: open-source Spark (see the module).
    pub databricks: bool,
}

impl Dialect for DatabricksDialect {
    fn name(&self) -> &'static str {
        "databricks"
    }

    fn quote_ident(&self, ident: &str) -> String {
        format!("`{}`", ident.replace('`', "``"))
    }

    fn split_options(&self) -> SplitRules {
        SplitRules::databricks()
    }

    fn create_migrations_table(&self) -> String {
        let order = if self.databricks {
            "BIGINT GENERATED ALWAYS AS IDENTITY"
        } else {
            "BIGINT"
        };
        format!(
            "CREATE TABLE IF NOT EXISTS jetbase_migrations (\n    \
             order_executed {order},\n    \
             version STRING,\n    \
             description STRING NOT NULL,\n    \
             filename STRING NOT NULL,\n    \
             migration_type STRING NOT NULL,\n    \
             applied_at TIMESTAMP NOT NULL,\n    \
             checksum STRING NOT NULL\n)"
        )
    }

    fn create_lock_table(&self) -> String {
        "CREATE TABLE IF NOT EXISTS jetbase_lock (\n    \
         id INT,\n    \
         is_locked BOOLEAN NOT NULL,\n    \
         locked_at TIMESTAMP,\n    \
         process_id STRING\n)"
            .to_owned()
    }

    fn init_lock_row(&self) -> String {
        // Spark takes MATCHED clauses before NOT MATCHED ones.
        let matched = if self.databricks {
            ""
        } else {
            "WHEN MATCHED THEN\n    UPDATE SET target.id = target.id\n"
        };
        format!(
            "MERGE INTO jetbase_lock AS target\n\
             USING (SELECT 1 AS id, FALSE AS is_locked) AS source\n\
             ON target.id = source.id\n\
             {matched}WHEN NOT MATCHED THEN\n    \
             INSERT (id, is_locked) VALUES (source.id, source.is_locked)"
        )
    }

    /// The current schema's tables named so (a listing: see `table_exists_lists`). The
    /// original asks `INFORMATION_SCHEMA.TABLES`, which only Unity Catalog has.
    fn table_exists(&self) -> String {
        "SHOW TABLES LIKE ?".to_owned()
    }

    fn table_exists_lists(&self) -> bool {
        true
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
         id INT NOT NULL,\n    \
         process_id STRING NOT NULL,\n    \
         owner_host STRING NOT NULL,\n    \
         owner_pid BIGINT NOT NULL,\n    \
         acquired_at TIMESTAMP NOT NULL,\n    \
         heartbeat_at TIMESTAMP NOT NULL,\n    \
         ttl_seconds INT NOT NULL\n)"
            .to_owned()
    }

    /// An instant (a `TIMESTAMP` is one, shown in the session's time zone): every holder and
    /// waiter reads the server's one clock.
    fn lease_now(&self) -> &'static str {
        "CURRENT_TIMESTAMP()"
    }

    fn lease_age_micros(&self) -> String {
        "unix_micros(CURRENT_TIMESTAMP()) - unix_micros(heartbeat_at)".to_owned()
    }

    /// No row locks: the row is read.
    fn fence(&self) -> String {
        "SELECT process_id FROM jetbase_lock WHERE id = 1".to_owned()
    }

    fn insert_history(&self) -> String {
        if self.databricks {
            "INSERT INTO jetbase_migrations (version, description, filename, migration_type, checksum, applied_at) \
             VALUES (?, ?, ?, ?, ?, CURRENT_TIMESTAMP())"
                .to_owned()
        } else {
            "INSERT INTO jetbase_migrations (order_executed, version, description, filename, migration_type, checksum, applied_at) \
             SELECT COALESCE(MAX(order_executed), 0) + 1, ?, ?, ?, ?, ?, CURRENT_TIMESTAMP() \
             FROM jetbase_migrations"
                .to_owned()
        }
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

    const DATABRICKS: DatabricksDialect = DatabricksDialect { databricks: true };
    const SPARK: DatabricksDialect = DatabricksDialect { databricks: false };

    #[test]
    fn databricks_tables_are_the_originals() {
        let m = DATABRICKS.create_migrations_table();
        assert!(m.contains("order_executed BIGINT GENERATED ALWAYS AS IDENTITY,"));
        assert!(m.contains("applied_at TIMESTAMP NOT NULL,"));
        assert!(!SPARK.create_migrations_table().contains("IDENTITY"));
        assert!(DATABRICKS.create_lock_table().contains("process_id STRING"));
        assert!(
            DATABRICKS
                .insert_history()
                .ends_with("VALUES (?, ?, ?, ?, ?, CURRENT_TIMESTAMP())")
        );
        assert!(
            SPARK
                .insert_history()
                .contains("COALESCE(MAX(order_executed), 0) + 1")
        );
        assert_eq!(DATABRICKS.quote_ident("a`b"), "`a``b`");
    }

    #[test]
    fn placeholders_match_what_callers_bind() {
        let count = |s: String| s.matches('?').count();
        for d in [DATABRICKS, SPARK] {
            assert_eq!(count(d.insert_history()), 5);
            assert_eq!(count(d.update_repeatable()), 3);
            assert_eq!(count(d.acquire_lock()), 1);
            assert_eq!(count(d.take_over_lock()), 2);
            assert_eq!(count(d.release_lock()), 1);
            assert_eq!(count(d.table_exists()), 1);
            assert_eq!(count(d.insert_lease()), 4);
            assert_eq!(count(d.heartbeat()), 1);
        }
    }
}
