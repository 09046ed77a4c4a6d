//! Python `str` semantics the original's parse depends on: whitespace as `str.isspace()`
//! sees it, `strip`/`rstrip`, universal newlines. A leaf: it imports nothing from the crate,
//! so `parse`, `split` and `name` can all use it without importing each other.

use std::borrow::Cow;

/// Python's `str.isspace()`: Unicode `White_Space` plus the separators `\x1c`..`\x1f`.
#[must_use]
pub fn is_py_whitespace(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.strip()` with no argument.
#[must_use]
pub fn py_strip(s: &str) -> &str {
    s.trim_matches(is_py_whitespace)
}

/// Python's `str.rstrip()` with no argument.
#[must_use]
pub fn py_rstrip(s: &str) -> &str {
    s.trim_end_matches(is_py_whitespace)
}

/// Python's universal newlines on read: `\r\n` and lone `\r` become `\n`.
#[must_use]
pub fn normalize_newlines(text: &str) -> Cow<'_, str> {
    if text.contains('\r') {
        Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn py_whitespace_matches_python_isspace() {
        // Every code point for which CPython 3.11 `str.isspace()` is true.
        let python: Vec<u32> = vec![
            0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000,
            0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028,
            0x2029, 0x202f, 0x205f, 0x3000,
        ];
        let ours: Vec<u32> = (0..=0x10_ffff_u32)
            .filter_map(char::from_u32)
            .filter(|&c| is_py_whitespace(c))
            .map(u32::from)
            .collect();
        assert_eq!(ours, python);
    }

    #[test]
    fn py_strip_separators_stripped_unlike_trim() {
        assert_eq!(py_strip("\x1c\u{a0} a b \t\x1f"), "a b");
        assert_eq!(py_rstrip("  a \x1e"), "  a");
        assert_eq!("\x1ca".trim(), "\x1ca");
        assert_eq!(py_strip("\u{feff}a"), "\u{feff}a");
    }

    #[test]
    fn normalize_newlines_crlf_and_lone_cr_become_lf() {
        assert_eq!(normalize_newlines("a\r\nb\rc\r\r\nd"), "a\nb\nc\n\nd");
        assert!(matches!(normalize_newlines("a\nb"), Cow::Borrowed(_)));
    }
}
