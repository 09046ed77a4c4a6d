//! The databases jetbase knows, listed once: each one's name, URL schemes, `DB_TYPE`
//! spellings and default port. The URL parser, both `DB_TYPE` readings (the CLI's and the
//! pool's, which share one), the default ports and the "supported" hints are derived from
//! this table; how a database connects, its SQL, splitting rules and capabilities live in its
//! driver folder under `backend/`, registered in `backend::registry`. A leaf: it imports
//! nothing of the crate.

/// The database engines jetbase knows about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    Sqlite,
    Postgres,
    MySql,
    ClickHouse,
    Snowflake,
    Databricks,
}

/// What identifies one database in configuration.
#[derive(Debug)]
pub struct DriverInfo {
    pub kind: BackendKind,
    /// A name for people.
    pub name: &'static str,
    /// URL schemes (SQLAlchemy dialect names), the canonical one first. A `+driver` suffix
    /// is accepted after any of them.
    pub schemes: &'static [&'static str],
    /// `DB_TYPE` spellings, lower case.
    pub db_types: &'static [&'static str],
    /// The port a URL or `DB_PORT` leaves out means.
    pub default_port: Option<u16>,
    /// An embedded database: a file, named by `DB_NAME` (no host, port or user).
    pub embedded: bool,
}

/// Every database, in the order the documentation lists them.
pub const DRIVERS: &[DriverInfo] = &[
    DriverInfo {
        kind: BackendKind::Sqlite,
        name: "SQLite",
        schemes: &["sqlite"],
        db_types: &["sqlite", "sqlite3"],
        default_port: None,
        embedded: true,
    },
    DriverInfo {
        kind: BackendKind::Postgres,
        name: "PostgreSQL",
        schemes: &["postgresql", "postgres"],
        db_types: &["postgres", "postgresql", "pg"],
        default_port: Some(5432),
        embedded: false,
    },
    DriverInfo {
        kind: BackendKind::MySql,
        name: "MySQL/MariaDB",
        schemes: &["mysql", "mariadb"],
        db_types: &["mysql", "mariadb"],
        default_port: Some(3306),
        embedded: false,
    },
    DriverInfo {
        kind: BackendKind::ClickHouse,
        name: "ClickHouse",
        schemes: &["clickhouse"],
        db_types: &["clickhouse"],
        default_port: Some(8123),
        embedded: false,
    },
    DriverInfo {
        kind: BackendKind::Snowflake,
        name: "Snowflake",
        schemes: &["snowflake"],
        db_types: &["snowflake"],
        default_port: Some(443),
        embedded: false,
    },
    DriverInfo {
        kind: BackendKind::Databricks,
        name: "Databricks",
        schemes: &["databricks"],
        db_types: &["databricks"],
        default_port: Some(443),
        embedded: false,
    },
];

impl BackendKind {
    /// This database's entry in [`DRIVERS`].
    #[must_use]
    pub fn info(self) -> &'static DriverInfo {
        DRIVERS
            .iter()
            .find(|d| d.kind == self)
            .unwrap_or(&DRIVERS[0])
    }

    /// A name for people.
    #[must_use]
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// The canonical URL scheme.
    #[must_use]
    pub fn scheme(self) -> &'static str {
        self.info().schemes[0]
    }

    /// The database a URL scheme (without its `+driver`) names.
    #[must_use]
    pub fn from_scheme(scheme: &str) -> Option<BackendKind> {
        DRIVERS
            .iter()
            .find(|d| d.schemes.contains(&scheme))
            .map(|d| d.kind)
    }

    /// The database a `DB_TYPE` value names (any case).
    #[must_use]
    pub fn from_db_type(db_type: &str) -> Option<BackendKind> {
        let t = db_type.trim().to_ascii_lowercase();
        DRIVERS
            .iter()
            .find(|d| d.db_types.contains(&t.as_str()))
            .map(|d| d.kind)
    }
}

/// Every URL scheme, for "supported" hints.
#[must_use]
pub fn all_schemes() -> Vec<&'static str> {
    DRIVERS
        .iter()
        .flat_map(|d| d.schemes.iter().copied())
        .collect()
}

/// Every `DB_TYPE` spelling, for hints.
#[must_use]
pub fn all_db_types() -> Vec<&'static str> {
    DRIVERS
        .iter()
        .flat_map(|d| d.db_types.iter().copied())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drivers_are_listed_once_and_resolve_both_ways() {
        for d in DRIVERS {
            assert_eq!(d.kind.info().kind, d.kind);
            for s in d.schemes {
                assert_eq!(BackendKind::from_scheme(s), Some(d.kind), "{s}");
            }
            for t in d.db_types {
                assert_eq!(
                    BackendKind::from_db_type(&t.to_ascii_uppercase()),
                    Some(d.kind)
                );
            }
        }
        let kinds: std::collections::HashSet<_> = DRIVERS.iter().map(|d| d.kind).collect();
        assert_eq!(kinds.len(), DRIVERS.len(), "one entry per database");
        let schemes = all_schemes();
        let unique: std::collections::HashSet<_> = schemes.iter().collect();
        assert_eq!(unique.len(), schemes.len(), "a scheme names one database");
        assert_eq!(BackendKind::from_scheme("oracle"), None);
        assert_eq!(BackendKind::from_db_type("oracle"), None);
    }
}
