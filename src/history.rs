//! The `jetbase_migrations` table, written once over `Backend` + `Dialect`: read the history,
//! create the tables, record applied, rolled-back and repaired files. No printing.

use crate::backend::{Backend, Bound, DbError, Dialect, Value};
use crate::migration::MigrationKind;

pub use crate::tables::{LOCK_TABLE, MIGRATIONS_TABLE, ensure_tables, table_exists};

/// One row of `jetbase_migrations`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HistoryRow {
    pub order_executed: i64,
    pub version: Option<String>,
    pub description: String,
    pub filename: String,
    pub migration_type: String,
    #[serde(serialize_with = "crate::timefmt::rfc3339_str")]
    pub applied_at: String,
    pub checksum: String,
}

impl HistoryRow {
    #[must_use]
    pub fn kind(&self) -> Option<MigrationKind> {
        match self.migration_type.as_str() {
            "VERSIONED" => Some(MigrationKind::Versioned),
            "RUNS_ALWAYS" => Some(MigrationKind::RunsAlways),
            "RUNS_ON_CHANGE" => Some(MigrationKind::RunsOnChange),
            _ => None,
        }
    }

    /// Compare `applied_at` as times (the text of each backend differs in precision), or as
    /// text where one does not parse.
    #[must_use]
    pub fn applied_cmp(&self, other: &HistoryRow) -> std::cmp::Ordering {
        let parse =
            |s: &str| chrono::NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%d %H:%M:%S%.f").ok();
        match (parse(&self.applied_at), parse(&other.applied_at)) {
            (Some(a), Some(b)) => a.cmp(&b),
            _ => self.applied_at.cmp(&other.applied_at),
        }
    }

    /// What the original shows in its Version column: the version, or the repeatable's type.
    #[must_use]
    pub fn display_version(&self) -> &str {
        match (&self.version, self.kind()) {
            (Some(v), _) if !v.is_empty() => v,
            _ => &self.migration_type,
        }
    }
}

/// The whole history, oldest first (by `applied_at`, then `order_executed`).
#[derive(Debug, Clone, Default)]
pub struct History {
    pub rows: Vec<HistoryRow>,
    /// "Latest" means the greatest `order_executed`, not `applied_at` (the original on
    /// ClickHouse: `Dialect::orders_by_order_executed`).
    pub by_order_executed: bool,
}

impl History {
    /// Versioned rows, oldest first.
    pub fn versioned(&self) -> impl DoubleEndedIterator<Item = &HistoryRow> {
        self.rows
            .iter()
            .filter(|r| r.kind() == Some(MigrationKind::Versioned))
    }

    /// Versioned rows, newest first, the way the original asks for "the latest":
    /// `ORDER BY applied_at DESC`, which on a tie keeps the rows in insertion order (SQLite's
    /// sort is stable over the rowid), so of tied rows the first inserted counts as newest.
    #[must_use]
    pub fn newest_first(&self) -> Vec<&HistoryRow> {
        let mut rows: Vec<&HistoryRow> = self.versioned().collect();
        rows.sort_by_key(|r| r.order_executed);
        if self.by_order_executed {
            rows.reverse();
            return rows;
        }
        // Each backend's text has fixed-width fields, so text of one length sorts as time:
        // the common case compares strings, and only a mixed history parses (once a row;
        // the cached-key sort keeps ties in order).
        let len = rows.first().map(|r| r.applied_at.len());
        if rows.iter().all(|r| Some(r.applied_at.len()) == len) {
            rows.sort_by(|a, b| b.applied_at.cmp(&a.applied_at));
        } else {
            rows.sort_by_cached_key(|r| {
                std::cmp::Reverse(
                    chrono::NaiveDateTime::parse_from_str(
                        r.applied_at.trim(),
                        "%Y-%m-%d %H:%M:%S%.f",
                    )
                    .ok(),
                )
            });
        }
        rows
    }

    /// The latest applied versioned row: the one with the greatest `applied_at`, as the
    /// original's `fetch_latest_versioned_migration` (ties as [`History::newest_first`]).
    #[must_use]
    pub fn latest_versioned(&self) -> Option<&HistoryRow> {
        self.newest_first().into_iter().next()
    }

    /// Versioned rows applied strictly after `row` (the original's
    /// `applied_at > (SELECT applied_at ... WHERE version = :v)`), newest first: a row tied
    /// with `row` is not after it.
    #[must_use]
    pub fn applied_after(&self, row: &HistoryRow) -> Vec<&HistoryRow> {
        self.newest_first()
            .into_iter()
            .filter(|r| {
                if self.by_order_executed {
                    r.order_executed > row.order_executed
                } else {
                    r.applied_cmp(row) == std::cmp::Ordering::Greater
                }
            })
            .collect()
    }

    /// Rows of a repeatable kind.
    pub fn repeatables(&self) -> impl Iterator<Item = &HistoryRow> {
        self.rows.iter().filter(|r| {
            matches!(
                r.kind(),
                Some(MigrationKind::RunsAlways | MigrationKind::RunsOnChange)
            )
        })
    }

    /// The row for a repeatable file name of `kind`.
    #[must_use]
    pub fn repeatable(&self, filename: &str, kind: MigrationKind) -> Option<&HistoryRow> {
        self.rows
            .iter()
            .find(|r| r.filename == filename && r.kind() == Some(kind))
    }
}

/// Read the history; a database without the table has an empty one (never created here).
///
/// # Errors
/// The query fails.
pub async fn read(db: &mut dyn Backend) -> Result<History, DbError> {
    Ok(read_if_exists(db).await?.unwrap_or_default())
}

/// Read the history; `None` when the table does not exist (never created here).
///
/// # Errors
/// The query fails.
pub async fn read_if_exists(db: &mut dyn Backend) -> Result<Option<History>, DbError> {
    if !table_exists(db, MIGRATIONS_TABLE).await? {
        return Ok(None);
    }
    let sql = db.dialect().select_history();
    let rows = db.query(&sql, &[]).await?;
    let text = |v: Option<&Value>| v.and_then(Value::as_text);
    Ok(Some(History {
        rows: rows
            .iter()
            .map(|r| HistoryRow {
                order_executed: r.first().and_then(Value::as_i64).unwrap_or_default(),
                version: text(r.get(1)),
                description: text(r.get(2)).unwrap_or_default(),
                filename: text(r.get(3)).unwrap_or_default(),
                migration_type: text(r.get(4)).unwrap_or_default(),
                applied_at: text(r.get(5)).unwrap_or_default(),
                checksum: text(r.get(6)).unwrap_or_default(),
            })
            .collect(),
        by_order_executed: db.dialect().orders_by_order_executed(),
    }))
}

/// Hands out `applied_at` values for databases that keep it with millisecond precision
/// (SQLite): now, or 1 ms after the latest time in the history, whichever is later, so that
/// ordering by `applied_at` (as both tools do) never meets a tie.
#[derive(Debug, Clone, Default)]
pub struct AppliedClock {
    last: Option<chrono::NaiveDateTime>,
}

const APPLIED_AT_FORMAT: &str = "%Y-%m-%d %H:%M:%S%.3f";

impl AppliedClock {
    /// Start after the latest `applied_at` of `history`.
    #[must_use]
    pub fn after(history: &History) -> AppliedClock {
        let last = history
            .rows
            .iter()
            .filter_map(|r| {
                chrono::NaiveDateTime::parse_from_str(r.applied_at.trim(), "%Y-%m-%d %H:%M:%S%.f")
                    .ok()
            })
            .max();
        AppliedClock { last }
    }

    /// The next time, as SQLite's `STRFTIME('%Y-%m-%d %H:%M:%f', 'NOW')` writes it (UTC).
    pub fn tick(&mut self) -> String {
        let now = chrono::Utc::now().naive_utc();
        // Truncate to the millisecond, as STRFTIME does.
        let now = now
            - chrono::Duration::nanoseconds(i64::from(
                now.and_utc().timestamp_subsec_nanos() % 1_000_000,
            ));
        let next = match self.last {
            Some(last) if now <= last => last + chrono::Duration::milliseconds(1),
            _ => now,
        };
        self.last = Some(next);
        next.format(APPLIED_AT_FORMAT).to_string()
    }
}

// The history writes, as steps of a unit of work (`Backend::run_unit`): the driver runs
// them with the file's statements, atomically where it can.

/// Record an applied file.
#[must_use]
pub fn insert(
    d: &dyn Dialect,
    clock: &mut AppliedClock,
    version: Option<&str>,
    description: &str,
    filename: &str,
    kind: MigrationKind,
    checksum: &str,
) -> Bound {
    let mut params = vec![
        Value::from(version),
        Value::from(description),
        Value::from(filename),
        Value::from(kind.as_str()),
        Value::from(checksum),
    ];
    if d.explicit_applied_at() {
        params.push(Value::Text(clock.tick()));
    }
    Bound::new(d.insert_history(), params)
}

/// Update a re-applied repeatable's checksum and time.
#[must_use]
pub fn update_repeatable(
    d: &dyn Dialect,
    clock: &mut AppliedClock,
    filename: &str,
    kind: MigrationKind,
    checksum: &str,
) -> Bound {
    let mut params = vec![
        Value::from(checksum),
        Value::from(filename),
        Value::from(kind.as_str()),
    ];
    if d.explicit_applied_at() {
        params.push(Value::Text(clock.tick()));
    }
    Bound::new(d.update_repeatable(), params)
}

/// Forget a rolled-back (or missing) version.
#[must_use]
pub fn delete_version(d: &dyn Dialect, version: &str) -> Bound {
    Bound::new(d.delete_version(), vec![Value::from(version)])
}

/// Forget a repeatable whose file is gone.
#[must_use]
pub fn delete_repeatable(d: &dyn Dialect, filename: &str) -> Bound {
    Bound::new(d.delete_repeatable(), vec![Value::from(filename)])
}

/// Store a repaired checksum.
#[must_use]
pub fn update_checksum(d: &dyn Dialect, version: &str, checksum: &str) -> Bound {
    Bound::new(
        d.update_checksum(),
        vec![Value::from(checksum), Value::from(version)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(applied_at: &str) -> HistoryRow {
        HistoryRow {
            order_executed: 1,
            version: Some("1".into()),
            description: String::new(),
            filename: String::new(),
            migration_type: "VERSIONED".into(),
            applied_at: applied_at.into(),
            checksum: String::new(),
        }
    }

    fn versioned(order: i64, version: &str, applied_at: &str) -> HistoryRow {
        HistoryRow {
            order_executed: order,
            version: Some(version.into()),
            ..row(applied_at)
        }
    }

    #[test]
    fn history_issue9_tied_applied_at_picks_the_first_inserted_as_latest() {
        // As `ORDER BY applied_at DESC` in the original: ties keep insertion order.
        let t = "2026-01-01 00:00:00.000";
        let h = History {
            rows: vec![
                versioned(1, "0", "2025-12-31 00:00:00.000"),
                versioned(2, "1", t),
                versioned(3, "2", t),
                versioned(4, "3", "2026-01-01 00:00:00"),
            ],
            by_order_executed: false,
        };
        let newest: Vec<_> = h
            .newest_first()
            .iter()
            .map(|r| r.version.clone().unwrap())
            .collect();
        assert_eq!(newest, ["1", "2", "3", "0"]);
        assert_eq!(h.latest_versioned().unwrap().version.as_deref(), Some("1"));
        let after: Vec<_> = h
            .applied_after(&h.rows[0])
            .iter()
            .map(|r| r.version.clone().unwrap())
            .collect();
        assert_eq!(after, ["1", "2", "3"]);
        assert!(
            h.applied_after(&h.rows[1]).is_empty(),
            "tied rows are not after"
        );
    }

    #[test]
    fn history_by_order_executed_ignores_applied_at_ties() {
        // ClickHouse, as the original there: the latest is the greatest order_executed.
        let t = "2026-01-01 00:00:00";
        let h = History {
            rows: vec![
                versioned(1, "1", t),
                versioned(2, "2", t),
                versioned(3, "3", t),
            ],
            by_order_executed: true,
        };
        assert_eq!(h.latest_versioned().unwrap().version.as_deref(), Some("3"));
        let after: Vec<_> = h
            .applied_after(&h.rows[0])
            .iter()
            .map(|r| r.version.clone().unwrap())
            .collect();
        assert_eq!(after, ["3", "2"]);
    }

    #[test]
    fn applied_clock_is_strictly_increasing_after_the_history() {
        let future = "2999-01-01 00:00:00.998";
        let mut clock = AppliedClock::after(&History {
            rows: vec![row("2020-01-01 00:00:00.000"), row(future), row("garbage")],
            by_order_executed: false,
        });
        let a = clock.tick();
        let b = clock.tick();
        assert_eq!(a, "2999-01-01 00:00:00.999");
        assert_eq!(b, "2999-01-01 00:00:01.000");
        let mut fresh = AppliedClock::default();
        let times: Vec<String> = (0..50).map(|_| fresh.tick()).collect();
        assert!(times.windows(2).all(|w| w[0] < w[1]), "{times:?}");
        assert_eq!(times[0].len(), 23, "STRFTIME's shape: {}", times[0]);
    }
}
