//! The process environment as the library sees it (a map, so tests and applications can pass
//! their own), and the typed reads of its tuning keys. A leaf: it imports nothing of the crate.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

/// Environment variables, by name.
pub type EnvVars = BTreeMap<String, String>;

/// A variable that does not parse as what its key wants.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key} must be {expected}, got {got:?}")]
pub struct EnvError {
    pub key: String,
    pub expected: &'static str,
    pub got: String,
}

/// `key`'s value; a blank one counts as unset.
pub fn var<'a>(env: &'a EnvVars, key: &str) -> Option<&'a str> {
    env.get(key)
        .map(String::as_str)
        .filter(|v| !v.trim().is_empty())
}

/// A number, `default` when unset.
///
/// # Errors
/// The value does not parse.
pub fn num<T: FromStr>(
    env: &EnvVars,
    key: &str,
    default: T,
    expected: &'static str,
) -> Result<T, EnvError> {
    match var(env, key) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| EnvError {
            key: key.to_owned(),
            expected,
            got: v.to_owned(),
        }),
    }
}

/// Seconds (fractions allowed), `default` when unset.
///
/// # Errors
/// The value is not a number of seconds, 0 or more.
pub fn secs(env: &EnvVars, key: &str, default: f64) -> Result<Duration, EnvError> {
    let v: f64 = num(env, key, default, "a number of seconds")?;
    Duration::try_from_secs_f64(v).map_err(|_| EnvError {
        key: key.to_owned(),
        expected: "a number of seconds, 0 or more",
        got: v.to_string(),
    })
}

/// A boolean (`1/true/yes/on`, `0/false/no/off`), `default` when unset.
///
/// # Errors
/// Any other value.
pub fn flag(env: &EnvVars, key: &str, default: bool) -> Result<bool, EnvError> {
    match var(env, key).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if matches!(v.as_str(), "1" | "true" | "yes" | "on") => Ok(true),
        Some(v) if matches!(v.as_str(), "0" | "false" | "no" | "off") => Ok(false),
        Some(v) => Err(EnvError {
            key: key.to_owned(),
            expected: "true or false",
            got: v,
        }),
    }
}

/// A URL or query parameter value meaning yes (`1`, `true`, `yes`, `on`, any case).
#[must_use]
pub fn truthy(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "yes" | "on"
    )
}
