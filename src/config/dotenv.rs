//! A `.env` file reader (`KEY=value` lines, as python-dotenv and Jetio users write them).

use std::path::Path;

use super::ConfigError;

/// Parse `.env` text: `KEY=value`, optional `export `, `#` comments, single or double quotes
/// (double quotes understand `\n`, `\"` and `\\`), inline ` #` comments after unquoted values.
#[must_use]
pub fn parse(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let value = value.trim();
        let value = if let Some(rest) = value.strip_prefix('"') {
            let mut s = String::new();
            let mut chars = rest.chars();
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => match chars.next() {
                        Some('n') => s.push('\n'),
                        Some(other) => s.push(other),
                        None => {}
                    },
                    c => s.push(c),
                }
            }
            s
        } else if let Some(rest) = value.strip_prefix('\'') {
            rest.split('\'').next().unwrap_or("").to_owned()
        } else {
            match value.find(" #") {
                Some(i) => value[..i].trim_end().to_owned(),
                None => value.to_owned(),
            }
        };
        out.push((key.to_owned(), value));
    }
    out
}

/// Read a `.env` file; a missing file has no variables.
///
/// # Errors
/// The file exists but cannot be read.
pub fn read(path: &Path) -> Result<Vec<(String, String)>, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(parse(&text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(ConfigError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        }),
    }
}
