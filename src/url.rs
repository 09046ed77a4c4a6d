//! `DatabaseUrl`: SQLAlchemy-style database URLs (`dialect[+driver]://user:pass@host:port/db?k=v`)
//! parsed into one type whose `Display` and `Debug` never show the password. Pure: no I/O.

use std::fmt;
use std::path::{Path, PathBuf};

pub use crate::drivers::BackendKind;

/// Where a SQLite database lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqliteTarget {
    Memory,
    File(PathBuf),
}

/// A secret string: never shown by `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    #[must_use]
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    /// The secret itself, for drivers only.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}
impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A parsed database URL. The password is private and never printed.
#[derive(Clone)]
pub struct DatabaseUrl {
    pub kind: BackendKind,
    scheme: String,
    driver: Option<String>,
    username: Option<String>,
    password: Option<Secret>,
    host: Option<String>,
    port: Option<u16>,
    /// Text after the authority's `/`, percent-decoded (a database name or a SQLite path).
    database: Option<String>,
    query: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum UrlError {
    #[error("unknown database URL scheme '{scheme}'")]
    UnknownScheme { scheme: String, supported: String },
    #[error("malformed database URL: {reason}")]
    Malformed { reason: String },
}

impl UrlError {
    #[must_use]
    pub fn hint(&self) -> Option<String> {
        match self {
            UrlError::UnknownScheme { supported, .. } => Some(format!(
                "supported schemes: {supported} (an optional +driver suffix is accepted, e.g. postgresql+asyncpg://)"
            )),
            UrlError::Malformed { .. } => Some(
                "the form is dialect[+driver]://user:password@host:port/database, or sqlite:///path.db".into(),
            ),
        }
    }
}

fn malformed(reason: impl Into<String>) -> UrlError {
    UrlError::Malformed {
        reason: reason.into(),
    }
}

/// Decode `%XX` escapes (and `+` as space when `plus` is set). Invalid escapes stay as is.
#[must_use]
pub fn percent_decode(s: &str, plus: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
                if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    out.push(v);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b'+' if plus => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Encode a URL component (user, password): everything but unreserved characters.
#[must_use]
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl DatabaseUrl {
    /// Parse a SQLAlchemy-style URL.
    ///
    /// # Errors
    /// Unknown scheme or malformed URL. Messages never include the password.
    pub fn parse(text: &str) -> Result<DatabaseUrl, UrlError> {
        let text = text.trim();
        let Some((scheme_full, rest)) = text.split_once("://") else {
            return Err(malformed("missing '://' after the scheme"));
        };
        let scheme_full = scheme_full.to_ascii_lowercase();
        let (scheme, driver) = match scheme_full.split_once('+') {
            Some((s, d)) => (s.to_owned(), Some(d.to_owned())),
            None => (scheme_full.clone(), None),
        };
        let Some(kind) = BackendKind::from_scheme(&scheme) else {
            return Err(UrlError::UnknownScheme {
                scheme: scheme_full,
                supported: crate::drivers::all_schemes().join(", "),
            });
        };
        let (rest, query_text) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let mut query = Vec::new();
        for pair in query_text
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
        {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            query.push((percent_decode(k, true), percent_decode(v, true)));
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        // The password may itself contain '@' when not escaped: the host follows the last '@'.
        let (userinfo, hostport) = match authority.rfind('@') {
            Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
            None => (None, authority),
        };
        let (username, password) = match userinfo {
            Some(ui) => match ui.split_once(':') {
                Some((u, p)) => (
                    Some(percent_decode(u, false)),
                    Some(Secret(percent_decode(p, false))),
                ),
                None => (Some(percent_decode(ui, false)), None),
            },
            None => (None, None),
        };
        let (host, port) = split_host_port(hostport)?;
        let database = path
            .map(|p| percent_decode(p, false))
            .filter(|p| !p.is_empty());
        Ok(DatabaseUrl {
            kind,
            scheme,
            driver,
            username: username.filter(|u| !u.is_empty()),
            password,
            host,
            port,
            database,
            query,
        })
    }

    /// Build a URL from parts (used for `DB_TYPE`/`DB_HOST`/... settings).
    #[must_use]
    pub fn from_parts(
        kind: BackendKind,
        username: Option<&str>,
        password: Option<&str>,
        host: Option<&str>,
        port: Option<u16>,
        database: Option<&str>,
    ) -> DatabaseUrl {
        DatabaseUrl {
            kind,
            scheme: kind.scheme().to_owned(),
            driver: None,
            username: username.map(str::to_owned),
            password: password.map(Secret::new),
            host: host.map(str::to_owned),
            port,
            database: database.map(str::to_owned),
            query: Vec::new(),
        }
    }

    /// The same server and settings, another database (`make-migrations`' scratch one).
    #[must_use]
    pub fn with_database(&self, name: &str) -> DatabaseUrl {
        DatabaseUrl {
            database: Some(name.to_owned()),
            ..self.clone()
        }
    }

    #[must_use]
    pub fn scheme(&self) -> &str {
        &self.scheme
    }
    /// The SQLAlchemy driver suffix (`asyncpg` in `postgresql+asyncpg://`).
    #[must_use]
    pub fn driver(&self) -> Option<&str> {
        self.driver.as_deref()
    }
    #[must_use]
    pub fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }
    /// The password, for drivers only: never print it.
    #[must_use]
    pub fn password(&self) -> Option<&str> {
        self.password.as_ref().map(Secret::expose)
    }
    #[must_use]
    pub fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }
    #[must_use]
    pub fn port(&self) -> Option<u16> {
        self.port
    }
    #[must_use]
    pub fn database(&self) -> Option<&str> {
        self.database.as_deref()
    }
    #[must_use]
    pub fn query(&self) -> &[(String, String)] {
        &self.query
    }
    /// The last value of query parameter `key`.
    #[must_use]
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The SQLite target, with a relative path resolved against `base` (the project folder).
    /// `sqlite://` and `sqlite:///:memory:` are in-memory databases.
    #[must_use]
    pub fn sqlite_target(&self, base: &Path) -> Option<SqliteTarget> {
        if self.kind != BackendKind::Sqlite {
            return None;
        }
        match self.database.as_deref() {
            None | Some(":memory:") => Some(SqliteTarget::Memory),
            Some(p) => {
                let path = Path::new(p);
                Some(SqliteTarget::File(if path.is_absolute() {
                    path.to_path_buf()
                } else {
                    base.join(path)
                }))
            }
        }
    }

    /// The URL as text with the password masked as `***`.
    fn masked(&self) -> String {
        let mut s = self.scheme.clone();
        if let Some(d) = &self.driver {
            s.push('+');
            s.push_str(d);
        }
        s.push_str("://");
        if let Some(u) = &self.username {
            s.push_str(&percent_encode(u));
            if self.password.is_some() {
                s.push_str(":***");
            }
            s.push('@');
        }
        if let Some(h) = &self.host {
            if h.contains(':') {
                s.push('[');
                s.push_str(h);
                s.push(']');
            } else {
                s.push_str(h);
            }
        }
        if let Some(p) = self.port {
            s.push_str(&format!(":{p}"));
        }
        if let Some(db) = &self.database {
            s.push('/');
            s.push_str(db);
        }
        if !self.query.is_empty() {
            s.push('?');
            let q: Vec<String> = self
                .query
                .iter()
                .map(|(k, v)| {
                    if is_secret_param(k) {
                        format!("{k}=***")
                    } else {
                        format!("{k}={v}")
                    }
                })
                .collect();
            s.push_str(&q.join("&"));
        }
        s
    }

    /// Remove this URL's password (raw and percent-encoded) from any text, e.g. a driver error.
    #[must_use]
    pub fn redact(&self, text: &str) -> String {
        let mut out = scrub_userinfo(text);
        if let Some(p) = self.password()
            && !p.is_empty()
        {
            out = out.replace(p, "***").replace(&percent_encode(p), "***");
        }
        out
    }
}

fn is_secret_param(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.contains("password") || k.contains("secret") || k.contains("token") || k == "private_key"
}

fn split_host_port(hostport: &str) -> Result<(Option<String>, Option<u16>), UrlError> {
    if hostport.is_empty() {
        return Ok((None, None));
    }
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        let Some(end) = rest.find(']') else {
            return Err(malformed("unclosed '[' in an IPv6 host"));
        };
        let after = &rest[end + 1..];
        (rest[..end].to_owned(), after.strip_prefix(':'))
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), Some(p)),
            None => (hostport.to_owned(), None),
        }
    };
    let port = match port {
        None | Some("") => None,
        Some(p) => Some(
            // The text is not echoed: without `@host`, a password lands where a port would be.
            p.parse::<u16>()
                .map_err(|_| malformed("the port is not a number from 0 to 65535"))?,
        ),
    };
    Ok((
        Some(percent_decode(&host, false)).filter(|h| !h.is_empty()),
        port,
    ))
}

/// Replace `user:password@` in every URL-looking part of `text` with `user:***@`.
#[must_use]
pub fn scrub_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        // The authority ends at the first '/', whitespace or quote; the userinfo at its last '@'.
        let end = tail
            .find(|c: char| c == '/' || c.is_whitespace() || c == '"' || c == '\'')
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(at), Some(colon)) if colon < at => {
                out.push_str(&authority[..colon]);
                out.push_str(":***");
                out.push_str(&authority[at..]);
            }
            _ => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PW: &str = "p@ss:w/rd%";

    fn parse(s: &str) -> DatabaseUrl {
        DatabaseUrl::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn url_every_sqlalchemy_spelling_maps_to_its_backend() {
        let cases = [
            ("sqlite:///rel.db", BackendKind::Sqlite, None),
            (
                "sqlite+aiosqlite:///rel.db",
                BackendKind::Sqlite,
                Some("aiosqlite"),
            ),
            (
                "sqlite+pysqlite:///:memory:",
                BackendKind::Sqlite,
                Some("pysqlite"),
            ),
            ("postgresql://u:p@h:5432/db", BackendKind::Postgres, None),
            (
                "postgresql+psycopg2://u:p@h/db",
                BackendKind::Postgres,
                Some("psycopg2"),
            ),
            (
                "postgresql+psycopg://u:p@h/db",
                BackendKind::Postgres,
                Some("psycopg"),
            ),
            (
                "postgresql+asyncpg://u:p@h/db",
                BackendKind::Postgres,
                Some("asyncpg"),
            ),
            (
                "postgresql+pg8000://u:p@h/db",
                BackendKind::Postgres,
                Some("pg8000"),
            ),
            ("postgres://u:p@h/db", BackendKind::Postgres, None),
            ("mysql://u:p@h:3306/db", BackendKind::MySql, None),
            (
                "mysql+pymysql://u:p@h/db",
                BackendKind::MySql,
                Some("pymysql"),
            ),
            (
                "mysql+mysqldb://u:p@h/db",
                BackendKind::MySql,
                Some("mysqldb"),
            ),
            (
                "mysql+aiomysql://u:p@h/db",
                BackendKind::MySql,
                Some("aiomysql"),
            ),
            (
                "mysql+asyncmy://u:p@h/db",
                BackendKind::MySql,
                Some("asyncmy"),
            ),
            ("mariadb://u:p@h/db", BackendKind::MySql, None),
            (
                "mariadb+pymysql://u:p@h/db",
                BackendKind::MySql,
                Some("pymysql"),
            ),
            ("clickhouse://u:p@h:8123/db", BackendKind::ClickHouse, None),
            (
                "clickhouse+http://u:p@h:8123/db",
                BackendKind::ClickHouse,
                Some("http"),
            ),
            (
                "clickhouse+native://u:p@h:9000/db",
                BackendKind::ClickHouse,
                Some("native"),
            ),
            (
                "snowflake://u:p@account/db/schema?warehouse=wh",
                BackendKind::Snowflake,
                None,
            ),
            (
                "databricks://token:t@host?http_path=/sql/1&catalog=main",
                BackendKind::Databricks,
                None,
            ),
        ];
        for (text, kind, driver) in cases {
            let u = parse(text);
            assert_eq!(u.kind, kind, "{text}");
            assert_eq!(u.driver(), driver, "{text}");
        }
    }

    #[test]
    fn url_fields_are_percent_decoded() {
        let u = parse(
            "postgresql+asyncpg://app%40corp:p%40ss%3Aw%2Frd%25@db.example.com:6543/my%20db?sslmode=require&application_name=a+b",
        );
        assert_eq!(u.username(), Some("app@corp"));
        assert_eq!(u.password(), Some(PW));
        assert_eq!(u.host(), Some("db.example.com"));
        assert_eq!(u.port(), Some(6543));
        assert_eq!(u.database(), Some("my db"));
        assert_eq!(u.param("sslmode"), Some("require"));
        assert_eq!(u.param("application_name"), Some("a b"));
        let v6 = parse("postgresql://u@[::1]:5433/db");
        assert_eq!((v6.host(), v6.port()), (Some("::1"), Some(5433)));
        let sock = parse("postgresql://u:p@/db?host=/var/run/postgresql");
        assert_eq!(sock.host(), None);
        assert_eq!(sock.param("host"), Some("/var/run/postgresql"));
    }

    #[test]
    fn url_sqlite_paths_resolve_against_the_project() {
        let base = Path::new("/proj/jetbase");
        assert_eq!(
            parse("sqlite:///app.db").sqlite_target(base),
            Some(SqliteTarget::File(PathBuf::from("/proj/jetbase/app.db")))
        );
        assert_eq!(
            parse("sqlite:///data/app.db").sqlite_target(base),
            Some(SqliteTarget::File(PathBuf::from(
                "/proj/jetbase/data/app.db"
            )))
        );
        assert_eq!(
            parse("sqlite:////abs/app.db").sqlite_target(base),
            Some(SqliteTarget::File(PathBuf::from("/abs/app.db")))
        );
        assert_eq!(
            parse("sqlite://").sqlite_target(base),
            Some(SqliteTarget::Memory)
        );
        assert_eq!(
            parse("sqlite:///:memory:").sqlite_target(base),
            Some(SqliteTarget::Memory)
        );
        assert_eq!(parse("postgres://h/db").sqlite_target(base), None);
    }

    #[test]
    fn url_password_appears_in_no_display_debug_or_error() {
        let text = format!(
            "mysql+pymysql://app:{}@h:3306/db?password=x2",
            percent_encode(PW)
        );
        let u = parse(&text);
        assert_eq!(u.password(), Some(PW));
        for shown in [
            u.to_string(),
            format!("{u:?}"),
            format!("{:?}", u.password.as_ref().unwrap()),
        ] {
            assert!(
                !shown.contains(PW) && !shown.contains("p%40ss") && !shown.contains("x2"),
                "{shown}"
            );
        }
        assert_eq!(
            u.to_string(),
            "mysql+pymysql://app:***@h:3306/db?password=***"
        );
        let bad = DatabaseUrl::parse(&format!("postgresql://app:{PW}@h:99999/db")).unwrap_err();
        assert!(!bad.to_string().contains("w/rd"), "{bad}");
        let no_host = DatabaseUrl::parse("postgresql://app:hunter2/db").unwrap_err();
        assert!(!no_host.to_string().contains("hunter2"), "{no_host}");
        let redacted = u.redact(&format!("connect failed for {text} (password {PW})"));
        assert!(
            !redacted.contains(PW) && !redacted.contains("p%40ss"),
            "{redacted}"
        );
    }

    #[test]
    fn url_scrub_userinfo_masks_any_url_in_text() {
        assert_eq!(
            scrub_userinfo("error at postgresql://bob:hunter2@db/x and mysql://h/y"),
            "error at postgresql://bob:***@db/x and mysql://h/y"
        );
        assert_eq!(scrub_userinfo("no url here"), "no url here");
    }

    #[test]
    fn url_unknown_scheme_lists_the_supported_ones() {
        let e = DatabaseUrl::parse("oracle://u:p@h/db").unwrap_err();
        assert!(matches!(e, UrlError::UnknownScheme { .. }));
        let hint = e.hint().unwrap();
        assert!(
            hint.contains("postgresql") && hint.contains("sqlite"),
            "{hint}"
        );
        assert!(DatabaseUrl::parse("not a url").is_err());
        assert!(DatabaseUrl::parse("postgresql://u:p@h:port/db").is_err());
    }

    #[test]
    fn url_from_parts_encodes_the_password_when_shown() {
        let u = DatabaseUrl::from_parts(
            BackendKind::Postgres,
            Some("app"),
            Some("a b@c"),
            Some("localhost"),
            Some(5432),
            Some("db"),
        );
        assert_eq!(u.to_string(), "postgresql://app:***@localhost:5432/db");
        assert_eq!(u.password(), Some("a b@c"));
    }
}
