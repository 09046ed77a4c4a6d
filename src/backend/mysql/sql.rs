//! MySQL's and MariaDB's own statements for jetbase's tables, as the original's
//! `MySQLQueries`: the `Dialect` defaults with what MySQL spells differently. Pure: no I/O.

use crate::backend::dialect::Dialect;
use crate::migration::SplitRules;

/// MySQL and MariaDB, as the original's `MySQLQueries`.
#[derive(Debug, Clone, Copy, Default)]
pub struct MySqlDialect;

impl Dialect for MySqlDialect {
    fn name(&self) -> &'static str {
        "mysql"
    }
    fn quote_ident(&self, ident: &str) -> String {
        format!("`{}`", ident.replace('`', "``"))
    }
    fn split_options(&self) -> SplitRules {
        SplitRules::mysql()
    }
    fn create_migrations_table(&self) -> String {
        "CREATE TABLE IF NOT EXISTS jetbase_migrations (\n    \
         order_executed INT AUTO_INCREMENT PRIMARY KEY,\n    \
         version VARCHAR(255),\n    \
         description VARCHAR(500) NOT NULL,\n    \
         filename VARCHAR(512) NOT NULL,\n    \
         migration_type VARCHAR(32) NOT NULL,\n    \
         applied_at TIMESTAMP(6) DEFAULT CURRENT_TIMESTAMP(6) NOT NULL,\n    \
         checksum VARCHAR(64) NOT NULL\n)"
            .to_owned()
    }
    fn create_lock_table(&self) -> String {
        "CREATE TABLE IF NOT EXISTS jetbase_lock (\n    \
         id INT PRIMARY KEY CHECK (id = 1),\n    \
         is_locked BOOLEAN NOT NULL DEFAULT FALSE,\n    \
         locked_at TIMESTAMP(6) NULL,\n    \
         process_id VARCHAR(36)\n)"
            .to_owned()
    }
    fn init_lock_row(&self) -> String {
        "INSERT IGNORE INTO jetbase_lock (id, is_locked) VALUES (1, FALSE)".to_owned()
    }
    fn create_lease_table(&self) -> String {
        "CREATE TABLE IF NOT EXISTS jetbase_lock_lease (\n    \
         id INT PRIMARY KEY CHECK (id = 1),\n    \
         process_id VARCHAR(36) NOT NULL,\n    \
         owner_host VARCHAR(255) NOT NULL,\n    \
         owner_pid INT NOT NULL,\n    \
         acquired_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),\n    \
         heartbeat_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),\n    \
         ttl_seconds INT NOT NULL\n)"
            .to_owned()
    }
    fn lease_now(&self) -> &'static str {
        "CURRENT_TIMESTAMP(6)"
    }
    fn lease_age_micros(&self) -> String {
        "TIMESTAMPDIFF(MICROSECOND, heartbeat_at, CURRENT_TIMESTAMP(6))".to_owned()
    }
    fn take_over_lock(&self) -> String {
        "UPDATE jetbase_lock SET locked_at = CURRENT_TIMESTAMP(6), process_id = ? \
         WHERE id = 1 AND is_locked = TRUE AND process_id = ?"
            .to_owned()
    }
    fn table_exists(&self) -> String {
        "SELECT COUNT(*) FROM information_schema.tables \
         WHERE table_schema = DATABASE() AND table_name = ?"
            .to_owned()
    }
    fn acquire_lock(&self) -> String {
        "UPDATE jetbase_lock SET is_locked = TRUE, locked_at = CURRENT_TIMESTAMP(6), \
         process_id = ? WHERE id = 1 AND is_locked = FALSE"
            .to_owned()
    }
    fn update_repeatable(&self) -> String {
        "UPDATE jetbase_migrations SET checksum = ?, applied_at = CURRENT_TIMESTAMP(6) \
         WHERE filename = ? AND migration_type = ?"
            .to_owned()
    }
}
