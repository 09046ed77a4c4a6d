//! ClickHouse's own statements for jetbase's tables, as the original's `ClickHouseQueries`
//! (`MergeTree() ORDER BY order_executed`, the next `order_executed` computed by the INSERT,
//! mutations for updates and deletes), chosen by server version and cluster setting. Pure: no
//! I/O.
//!
//! - A server older than 20.1 has no `DateTime64`, `now64` or `mutations_sync`: `applied_at`
//!   is a `DateTime` (whole seconds) there, and the driver waits for mutations by watching
//!   `system.mutations` instead of asking for `SETTINGS mutations_sync`.
//! - With a cluster, jetbase's tables are created `ON CLUSTER` with `ReplicatedMergeTree`,
//!   one replicated copy per database shared by every node of the cluster (the ZooKeeper path
//!   names the database, not the shard), and mutations wait for every replica.

use crate::backend::dialect::{Dialect, HISTORY_COLUMNS};
use crate::migration::SplitRules;

/// ClickHouse as one server (or cluster) speaks it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClickHouseDialect {
    /// The server has `DateTime64`, `now64` and `mutations_sync` (20.1 and later).
    pub modern: bool,
    /// The cluster jetbase's tables live on (`?cluster=`), if any.
    pub cluster: Option<String>,
    /// The connection's database (ZooKeeper paths of replicated tables name it).
    pub database: String,
}

pub use crate::backend::dialect::CLAIM_PREFIX;

/// A string literal, escaped as ClickHouse's lexer reads it.
#[must_use]
pub fn literal(s: &str) -> String {
    crate::backend::bind::backslash_literal(s)
}

impl ClickHouseDialect {
    fn on_cluster(&self) -> String {
        self.cluster.as_deref().map_or_else(String::new, |c| {
            format!(" ON CLUSTER {}", self.quote_ident(c))
        })
    }

    /// The engine of one of jetbase's tables.
    fn engine(&self, table: &str) -> String {
        match &self.cluster {
            None => "MergeTree()".to_owned(),
            Some(_) => format!(
                "ReplicatedMergeTree({}, '{{replica}}')",
                literal(&format!(
                    "/clickhouse/tables/jetbase/{}/{table}",
                    self.database
                ))
            ),
        }
    }

    /// `SETTINGS mutations_sync = N` where the server has it: wait for the mutation here
    /// (1), or on every replica (2).
    fn mutation_settings(&self) -> &'static str {
        match (self.modern, self.cluster.is_some()) {
            (false, _) => "",
            (true, false) => "\nSETTINGS mutations_sync = 1",
            (true, true) => "\nSETTINGS mutations_sync = 2",
        }
    }

    fn now(&self) -> &'static str {
        if self.modern { "now64(6)" } else { "now()" }
    }
}

impl Dialect for ClickHouseDialect {
    fn name(&self) -> &'static str {
        "clickhouse"
    }

    fn quote_ident(&self, ident: &str) -> String {
        format!("`{}`", ident.replace('\\', "\\\\").replace('`', "\\`"))
    }

    fn split_options(&self) -> SplitRules {
        SplitRules::clickhouse()
    }

    /// Every claim table's name, as the first column.
    fn list_claims(&self) -> String {
        format!(
            "SELECT name FROM system.tables WHERE database = currentDatabase() \
             AND startsWith(name, {})",
            literal(CLAIM_PREFIX)
        )
    }

    /// Create a claim table, failing when it exists (the claim's exclusivity). On one
    /// server, `CREATE TABLE ... AS SELECT` writes the first row in the same statement, which
    /// the server finishes even if we die meanwhile; on a cluster (no `AS SELECT` with `ON
    /// CLUSTER` on old servers) the row follows in its own statement.
    fn create_claim(&self, name: &str) -> (String, bool) {
        if self.cluster.is_some() {
            let sql = format!(
                "CREATE TABLE {}{} (\n    \
                 kind String,\n    \
                 process_id String,\n    \
                 owner_host String,\n    \
                 owner_pid Int64,\n    \
                 ttl_seconds Int64,\n    \
                 at DateTime\n\
                 ) ENGINE = {}\nORDER BY at",
                self.quote_ident(name),
                self.on_cluster(),
                self.engine(name)
            );
            return (sql, false);
        }
        let sql = format!(
            "CREATE TABLE {} ENGINE = {}\nORDER BY at AS\n\
             SELECT toString(?) AS kind, toString(?) AS process_id, toString(?) AS owner_host, \
             toInt64(?) AS owner_pid, toInt64(?) AS ttl_seconds, now() AS at",
            self.quote_ident(name),
            self.engine(name)
        );
        (sql, true)
    }

    /// A row of a claim: kind (1), process id (2), host (3), pid (4), ttl seconds (5).
    fn insert_claim(&self, name: &str) -> String {
        format!(
            "INSERT INTO {} (kind, process_id, owner_host, owner_pid, ttl_seconds, at) \
             SELECT ?, ?, ?, ?, ?, now()",
            self.quote_ident(name)
        )
    }

    /// A claim's rows, folded: kind, process id, host, pid, ttl, first and last time,
    /// seconds since the last (by the server's clock).
    fn select_claim(&self, name: &str) -> String {
        format!(
            "SELECT kind, process_id, owner_host, owner_pid, ttl_seconds, toString(min(at)), \
             toString(max(at)), toInt64(now()) - toInt64(max(at)) FROM {} \
             GROUP BY kind, process_id, owner_host, owner_pid, ttl_seconds",
            self.quote_ident(name)
        )
    }

    /// How long ago a claim table was created (by the server's clock), in seconds: the
    /// age of a claim whose first row is not written yet.
    fn claim_age(&self, name: &str) -> String {
        format!(
            "SELECT toInt64(now()) - toInt64(metadata_modification_time), \
             toString(metadata_modification_time) FROM system.tables \
             WHERE database = currentDatabase() AND name = {}",
            literal(name)
        )
    }

    /// Drop a claim table.
    fn drop_claim(&self, name: &str) -> String {
        format!(
            "DROP TABLE IF EXISTS {}{}",
            self.quote_ident(name),
            self.on_cluster()
        )
    }

    fn create_migrations_table(&self) -> String {
        let applied_at = if self.modern {
            "DateTime64(6) DEFAULT now64(6)"
        } else {
            "DateTime DEFAULT now()"
        };
        format!(
            "CREATE TABLE IF NOT EXISTS jetbase_migrations{} (\n    \
             order_executed UInt64,\n    \
             version Nullable(String),\n    \
             description String,\n    \
             filename String,\n    \
             migration_type String,\n    \
             applied_at {applied_at},\n    \
             checksum String\n\
             ) ENGINE = {}\n\
             ORDER BY order_executed",
            self.on_cluster(),
            self.engine("jetbase_migrations")
        )
    }

    fn table_exists(&self) -> String {
        "SELECT count() > 0 FROM system.tables WHERE database = currentDatabase() AND name = ?"
            .to_owned()
    }

    /// The latest claim's name: the fence expects ours.
    fn fence(&self) -> String {
        format!(
            "SELECT name FROM system.tables WHERE database = currentDatabase() \
             AND startsWith(name, {}) ORDER BY length(name) DESC, name DESC LIMIT 1",
            literal(CLAIM_PREFIX)
        )
    }

    /// As the original: `order_executed` is the only order ClickHouse's history keeps.
    fn select_history(&self) -> String {
        format!("SELECT {HISTORY_COLUMNS} FROM jetbase_migrations ORDER BY order_executed ASC")
    }

    fn orders_by_order_executed(&self) -> bool {
        true
    }

    fn insert_history(&self) -> String {
        format!(
            "INSERT INTO jetbase_migrations (order_executed, version, description, filename, \
             migration_type, checksum, applied_at)\n\
             SELECT\n    \
             (SELECT COALESCE(MAX(order_executed), 0) + 1 FROM jetbase_migrations),\n    \
             ?, ?, ?, ?, ?,\n    \
             {}",
            self.now()
        )
    }

    fn delete_version(&self) -> String {
        format!(
            "ALTER TABLE jetbase_migrations DELETE\n\
             WHERE version = ? AND migration_type = 'VERSIONED'{}",
            self.mutation_settings()
        )
    }

    fn update_checksum(&self) -> String {
        format!(
            "ALTER TABLE jetbase_migrations\n\
             UPDATE checksum = ?\n\
             WHERE version = ? AND migration_type = 'VERSIONED'{}",
            self.mutation_settings()
        )
    }

    fn update_repeatable(&self) -> String {
        format!(
            "ALTER TABLE jetbase_migrations\n\
             UPDATE checksum = ?, applied_at = {}\n\
             WHERE filename = ? AND migration_type = ?{}",
            self.now(),
            self.mutation_settings()
        )
    }

    fn delete_repeatable(&self) -> String {
        format!(
            "ALTER TABLE jetbase_migrations DELETE\n\
             WHERE filename = ? AND migration_type IN ('RUNS_ALWAYS', 'RUNS_ON_CHANGE'){}",
            self.mutation_settings()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn modern() -> ClickHouseDialect {
        ClickHouseDialect {
            modern: true,
            cluster: None,
            database: "db".into(),
        }
    }

    #[test]
    fn history_table_is_the_originals_on_modern_servers() {
        let ddl = modern().create_migrations_table();
        assert!(ddl.contains("order_executed UInt64"));
        assert!(ddl.contains("version Nullable(String)"));
        assert!(ddl.contains("applied_at DateTime64(6) DEFAULT now64(6)"));
        assert!(ddl.contains("ENGINE = MergeTree()\nORDER BY order_executed"));
        assert!(
            modern()
                .insert_history()
                .contains("COALESCE(MAX(order_executed), 0) + 1")
        );
        assert!(
            modern()
                .delete_version()
                .ends_with("SETTINGS mutations_sync = 1")
        );
    }

    #[test]
    fn old_servers_get_datetime_and_no_mutations_sync() {
        let old = ClickHouseDialect {
            modern: false,
            ..modern()
        };
        assert!(
            old.create_migrations_table()
                .contains("applied_at DateTime DEFAULT now()")
        );
        assert!(!old.create_migrations_table().contains("DateTime64"));
        for sql in [
            old.delete_version(),
            old.update_checksum(),
            old.update_repeatable(),
            old.delete_repeatable(),
        ] {
            assert!(!sql.contains("SETTINGS"), "{sql}");
        }
        assert!(old.insert_history().ends_with("now()"));
    }

    #[test]
    fn cluster_tables_are_replicated_on_the_cluster() {
        let d = ClickHouseDialect {
            cluster: Some("c1".into()),
            ..modern()
        };
        let ddl = d.create_migrations_table();
        assert!(
            ddl.starts_with("CREATE TABLE IF NOT EXISTS jetbase_migrations ON CLUSTER `c1` ("),
            "{ddl}"
        );
        assert!(ddl.contains(
            "ENGINE = ReplicatedMergeTree('/clickhouse/tables/jetbase/db/jetbase_migrations', '{replica}')"
        ));
        assert!(d.delete_version().ends_with("SETTINGS mutations_sync = 2"));
        let (claim, with_row) = d.create_claim("jetbase_lock_claim_3");
        assert!(!with_row);
        assert!(claim.starts_with("CREATE TABLE `jetbase_lock_claim_3` ON CLUSTER `c1` ("));
        assert!(claim.contains("/clickhouse/tables/jetbase/db/jetbase_lock_claim_3"));
        assert_eq!(
            d.drop_claim("jetbase_lock_claim_3"),
            "DROP TABLE IF EXISTS `jetbase_lock_claim_3` ON CLUSTER `c1`"
        );
    }

    #[test]
    fn literals_and_identifiers_escape_as_the_lexer_reads_them() {
        assert_eq!(literal("it's a\\b"), "'it\\'s a\\\\b'");
        assert_eq!(literal("a\nb"), "'a\\nb'");
        assert_eq!(modern().quote_ident("a`b"), "`a\\`b`");
    }

    #[test]
    fn placeholders_match_what_callers_bind() {
        let d = modern();
        let count = |s: String| s.matches('?').count();
        assert_eq!(count(d.insert_history()), 5);
        assert_eq!(count(d.update_repeatable()), 3);
        assert_eq!(count(d.update_checksum()), 2);
        assert_eq!(count(d.delete_version()), 1);
        assert_eq!(count(d.delete_repeatable()), 1);
        assert_eq!(count(d.table_exists()), 1);
        assert_eq!(count(d.insert_claim("c")), 5);
        let (create, with_row) = d.create_claim("c");
        assert!(with_row && create.contains(" AS\nSELECT "));
        assert_eq!(count(create), 5);
    }
}
