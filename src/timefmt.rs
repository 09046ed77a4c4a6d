//! Timestamps as the reports show them: the databases' `YYYY-MM-DD HH:MM:SS[.f]` text turned
//! into RFC 3339 for JSON. A leaf: it imports nothing of the crate.

use serde::Serializer;

/// Database timestamps as RFC 3339 in JSON. SQLite's (and the original's) `STRFTIME('now')`
/// text is UTC; text that does not parse as a timestamp is passed through unchanged.
pub fn rfc3339<S: Serializer>(value: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        None => s.serialize_none(),
        Some(text) => s.serialize_str(&to_rfc3339(text)),
    }
}

/// Like [`rfc3339`] for a value that is always present.
pub fn rfc3339_str<S: Serializer>(value: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&to_rfc3339(value))
}

pub(crate) fn to_rfc3339(text: &str) -> String {
    chrono::NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%d %H:%M:%S%.f").map_or_else(
        |_| text.to_owned(),
        |t| {
            t.and_utc()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        },
    )
}

#[cfg(test)]
mod tests {
    use super::to_rfc3339;

    #[test]
    fn rfc3339_converts_sqlite_timestamps_and_keeps_others() {
        assert_eq!(
            to_rfc3339("2026-11-23 00:06:29.376"),
            "2026-11-23T00:06:29.376Z"
        );
        assert_eq!(
            to_rfc3339("2026-11-23 00:06:29"),
            "2026-11-23T00:06:29.000Z"
        );
        assert_eq!(to_rfc3339("yesterday"), "yesterday");
    }
}
