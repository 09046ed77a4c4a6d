//! Version keys of versioned migrations and their PEP 440 release ordering; pure, no I/O.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

/// A version key: the file name's version text with `_` replaced by `.` (e.g. `1.2.0`, `01`).
///
/// Equality and ordering follow PEP 440 release semantics as the original's
/// `packaging.version.parse` applies them: segments compare as numbers of any length,
/// leading zeros and trailing `.0` segments are ignored (`1 == 1.0 == 01`, `1.2 < 1.10`).
/// `as_str` keeps the text as stored in the `version` column.
#[derive(Debug, Clone)]
pub struct Version {
    text: String,
    /// The release normalised once: segments without leading zeros (`""` is zero), trailing
    /// zero segments dropped, joined by `.`. Equal versions have equal `release`.
    release: String,
}

impl Version {
    /// Parse a version text (`1`, `1.2`, `1_2`); `None` when it does not match
    /// `^\d+([._]\d+)*$` (ASCII digits).
    #[must_use]
    pub fn parse(text: &str) -> Option<Version> {
        let valid = text
            .split(['.', '_'])
            .all(|segment| !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()));
        valid.then(|| {
            let text = text.replace('_', ".");
            let mut segments: Vec<&str> = text
                .split('.')
                .map(|segment| segment.trim_start_matches('0'))
                .collect();
            while segments.last().is_some_and(|segment| segment.is_empty()) {
                segments.pop();
            }
            let release = segments.join(".");
            Version { text, release }
        })
    }

    /// The key text as stored in the `version` column (`_` already replaced by `.`).
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// Compare two digit strings without leading zeros as numbers: longer is larger.
fn cmp_digits(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        if self.release == other.release {
            return Ordering::Equal;
        }
        let (mut a, mut b) = (self.release.split('.'), other.release.split('.'));
        loop {
            match (a.next(), b.next()) {
                (Some(x), Some(y)) => {
                    let ordering = cmp_digits(x, y);
                    if ordering != Ordering::Equal {
                        return ordering;
                    }
                }
                // Trailing zeros are gone, so the longer release has a non-zero extra segment.
                (Some(_), None) => return Ordering::Greater,
                (None, Some(_)) => return Ordering::Less,
                (None, None) => return Ordering::Equal,
            }
        }
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.release == other.release
    }
}

impl Eq for Version {}

impl Hash for Version {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.release.hash(state);
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl serde::Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn v(text: &str) -> Version {
        Version::parse(text).expect("valid version")
    }

    #[test]
    fn version_parse_valid_texts_accepted() {
        for text in ["1", "01", "1.2", "1_2", "1_2.3", "20240101.120000", "0"] {
            assert!(Version::parse(text).is_some(), "{text}");
        }
    }

    #[test]
    fn version_parse_invalid_texts_rejected() {
        for text in [
            "", "a", "1.", ".1", "1__2", "1..2", "1._2", "v1", "1a", "1-2", " 1", "1 ", "١",
        ] {
            assert!(Version::parse(text).is_none(), "{text:?}");
        }
    }

    #[test]
    fn version_parse_underscores_become_dots() {
        assert_eq!(v("1_2_0").as_str(), "1.2.0");
        assert_eq!(v("01").as_str(), "01");
        assert_eq!(v("1_2").to_string(), "1.2");
    }

    #[test]
    fn version_equal_forms_compare_equal() {
        assert_eq!(v("1"), v("1.0"));
        assert_eq!(v("1"), v("01"));
        assert_eq!(v("1"), v("1.0.0"));
        assert_eq!(v("0"), v("0.0"));
        assert_eq!(v("1.02"), v("1.2"));
        assert_ne!(v("1.0.1"), v("1"));
    }

    #[test]
    fn version_ordering_numeric_not_lexical() {
        assert!(v("1.2") < v("1.10"));
        assert!(v("2") < v("10"));
        assert!(v("1") < v("1.0.1"));
        assert!(v("1.9.9") < v("2"));
        assert!(v("0.9") < v("1"));
        assert!(v("010") > v("9"));
    }

    #[test]
    fn version_huge_segments_compare_without_overflow() {
        let big = "123456789012345678901234567890";
        let bigger = "123456789012345678901234567891";
        assert!(v(big) < v(bigger));
        assert!(v(&format!("1.{big}")) > v("1.99"));
        assert_eq!(v(&format!("000{big}")), v(big));
    }

    #[test]
    fn version_hash_agrees_with_equality() {
        let set: HashSet<Version> = ["1", "1.0", "01", "1.0.0", "2"]
            .into_iter()
            .map(v)
            .collect();
        assert_eq!(set.len(), 2);
    }

    #[test]
    fn version_serialize_emits_text() {
        assert_eq!(
            serde_json::to_string(&v("1_2")).expect("serialize"),
            "\"1.2\""
        );
    }
}
