//! The drivers built into this binary, each registered once by its folder's `CONNECTOR`:
//! how it connects. What identifies a database in configuration (schemes, `DB_TYPE`, port)
//! is in [`crate::drivers`]; its SQL, splitting rules and capabilities come with the
//! connection it opens (`Backend::dialect`, `Backend::capabilities`).

use std::future::Future;
use std::pin::Pin;

use super::{Backend, ConnectError, ConnectSpec, OpenMode};
use crate::drivers::{BackendKind, DRIVERS, DriverInfo};

/// A connection being opened.
pub type Connecting<'a> =
    Pin<Box<dyn Future<Output = Result<Box<dyn Backend>, ConnectError>> + Send + 'a>>;

/// How one driver opens a connection.
pub struct Connector {
    pub kind: BackendKind,
    pub connect: for<'a> fn(&'a ConnectSpec, OpenMode) -> Connecting<'a>,
}

/// The drivers of this build.
const CONNECTORS: &[&Connector] = &[
    &super::sqlite::CONNECTOR,
    #[cfg(feature = "postgres")]
    &super::postgres::CONNECTOR,
    #[cfg(feature = "mysql")]
    &super::mysql::CONNECTOR,
    #[cfg(feature = "clickhouse")]
    &super::clickhouse::CONNECTOR,
    #[cfg(feature = "snowflake")]
    &super::snowflake::CONNECTOR,
    #[cfg(feature = "databricks")]
    &super::databricks::CONNECTOR,
];

/// The connector for `kind`, when this build has it.
#[must_use]
pub fn connector(kind: BackendKind) -> Option<&'static Connector> {
    CONNECTORS.iter().copied().find(|c| c.kind == kind)
}

/// The databases this build connects to.
pub fn built_in() -> impl Iterator<Item = &'static DriverInfo> {
    DRIVERS.iter().filter(|d| connector(d.kind).is_some())
}

/// `sqlite://, postgresql://, ...` for the databases this build connects to.
#[must_use]
pub fn built_in_schemes() -> String {
    built_in()
        .map(|d| format!("{}://", d.schemes[0]))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Open a connection as `spec` says.
///
/// # Errors
/// The driver is not in this build, or the database cannot be reached.
pub async fn connect(spec: &ConnectSpec, mode: OpenMode) -> Result<Box<dyn Backend>, ConnectError> {
    match connector(spec.url.kind) {
        Some(c) => (c.connect)(spec, mode).await,
        None => Err(ConnectError::Unsupported {
            backend: spec.url.kind.name(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_has_each_built_in_driver_once() {
        let kinds: Vec<_> = CONNECTORS.iter().map(|c| c.kind).collect();
        let unique: std::collections::HashSet<_> = kinds.iter().collect();
        assert_eq!(unique.len(), kinds.len());
        assert!(
            connector(BackendKind::Sqlite).is_some(),
            "SQLite is always built in"
        );
        assert!(built_in_schemes().starts_with("sqlite://"));
    }
}
