//! PostgreSQL's own statements for jetbase's tables: the `Dialect` defaults are the
//! original's PostgreSQL queries. Pure: no I/O.

use crate::backend::dialect::Dialect;
use crate::migration::SplitRules;

/// PostgreSQL: the defaults are the original's PostgreSQL queries.
#[derive(Debug, Clone, Copy, Default)]
pub struct PostgresDialect;

impl Dialect for PostgresDialect {
    fn name(&self) -> &'static str {
        "postgresql"
    }
    /// The catalog, not `information_schema.tables` (the original's check): same answer for
    /// the current schema, but an index lookup instead of a view that costs milliseconds on
    /// a database with a thousand tables.
    fn table_exists(&self) -> String {
        "SELECT COUNT(*) FROM pg_catalog.pg_class c \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = current_schema() AND c.relname = $1 AND c.relkind IN ('r', 'p')"
            .to_owned()
    }
    fn placeholder(&self, n: usize) -> String {
        format!("${n}")
    }
    fn split_options(&self) -> SplitRules {
        SplitRules::postgresql()
    }
}
