//! ClickHouse, over its HTTP interface (the port the original's URL names, 8123; 8443 with
//! TLS): each statement is one POST, run in one HTTP session of ours (`session_id`) so that a
//! migration's `SET` and temporary tables last until the next statement, as on the other
//! databases. There are no transactions: a file runs statement by statement, and when one
//! fails the shared upgrade path says which ran (`Capabilities::transactional_ddl` false).
//! Parameters are bound on our side as escaped literals (servers before 20 have no query
//! parameters). Mutations (`ALTER ... DELETE/UPDATE`) are done before a statement returns:
//! `mutations_sync` on servers that have it, watching `system.mutations` on older ones.
//! There is no compare-and-set: the lock is `lock::claims`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::Full;

mod sql;

pub use sql::{CLAIM_PREFIX, ClickHouseDialect, literal};

use super::http::{self, Endpoint};
use super::{
    Backend, Capabilities, ConnectError, ConnectSpec, DbError, Dialect, LockProtocol, Row, Value,
};
use crate::url::DatabaseUrl;

/// The URL's query keys that are ours (or the Python connectors'), not server settings.
const CLIENT_KEYS: &[&str] = &[
    "secure",
    "protocol",
    "cluster",
    "ca_cert",
    "verify",
    "connect_timeout",
];

/// Error codes that mean the credentials are wrong.
const AUTH_CODES: &[&str] = &["516", "192", "193", "194"];

/// How to reach a server and whom to be, from the URL.
#[derive(Clone)]
struct Target {
    endpoint: Endpoint,
    database: String,
    user: String,
    password: Option<String>,
    /// Server settings from the URL's query string, passed on every request.
    settings: Vec<(String, String)>,
    cluster: Option<String>,
}

fn target(url: &DatabaseUrl) -> Result<Target, String> {
    let https = match url.driver() {
        None | Some("http") => {
            url.param("secure").is_some_and(crate::env::truthy)
                || url
                    .param("protocol")
                    .is_some_and(|p| p.eq_ignore_ascii_case("https"))
        }
        Some("https") => true,
        Some(native @ ("native" | "asynch" | "tcp")) => {
            return Err(format!(
                "clickhouse+{native}:// is ClickHouse's native protocol (port 9000), which \
                 jetbase does not speak: use the HTTP interface, clickhouse://user:password@host:8123/database \
                 (clickhouse+https:// or ?secure=true for TLS, port 8443)"
            ));
        }
        Some(other) => {
            return Err(format!(
                "unknown ClickHouse driver '+{other}': use clickhouse://, clickhouse+http:// or clickhouse+https://"
            ));
        }
    };
    if url.param("verify").is_some_and(|v| !crate::env::truthy(v)) {
        return Err(
            "verify=false (no certificate check) is not supported: give the server's CA as ?ca_cert=/path/ca.pem"
                .to_owned(),
        );
    }
    let tls = if https {
        Some(http::tls_config(url.param("ca_cert"))?)
    } else {
        None
    };
    let connect_timeout = match url.param("connect_timeout") {
        Some(s) => Duration::from_secs_f64(
            s.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v > 0.0)
                .ok_or_else(|| format!("connect_timeout={s}: give a number of seconds"))?,
        ),
        None => Duration::from_secs(10),
    };
    let settings = url
        .query()
        .iter()
        .filter(|(k, _)| !CLIENT_KEYS.contains(&k.as_str()))
        .filter(|(k, _)| !matches!(k.as_str(), "database" | "user" | "password"))
        .cloned()
        .collect();
    Ok(Target {
        endpoint: Endpoint {
            host: url.host().unwrap_or("localhost").to_owned(),
            port: url.port().unwrap_or(if https { 8443 } else { 8123 }),
            tls,
            connect_timeout,
        },
        database: url.database().unwrap_or("default").to_owned(),
        user: url.username().unwrap_or("default").to_owned(),
        password: url.password().map(str::to_owned),
        settings,
        cluster: url.param("cluster").map(str::to_owned),
    })
}

/// The server's error as a `DbError`: its code, its message without the exception class
/// and stack, and, for a syntax error, where in the statement it is.
fn server_error(status: u16, header_code: Option<&str>, body: &str) -> DbError {
    let body = body.trim();
    let code = header_code.map(str::to_owned).or_else(|| {
        let rest = body.split("Code:").nth(1)?;
        let digits: String = rest
            .trim_start()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        (!digits.is_empty()).then_some(digits)
    });
    let mut text = body;
    if let Some(i) = text.find("DB::Exception: ") {
        text = &text[i + "DB::Exception: ".len()..];
    }
    // 18.x: "..., e.what() = DB::Exception"; stack traces after "Stack trace".
    for end in [", e.what() = ", "\nStack trace", " Stack trace:"] {
        if let Some(i) = text.find(end) {
            text = &text[..i];
        }
    }
    let text = text.trim().trim_end_matches(',');
    let position = text.find("failed at position ").and_then(|i| {
        text[i + "failed at position ".len()..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .ok()
    });
    let message = match (&code, text.is_empty()) {
        (Some(c), false) => format!("Code: {c}. {text}"),
        (Some(c), true) => format!("Code: {c} (HTTP {status})"),
        (None, false) => format!("HTTP {status}: {text}"),
        (None, true) => format!("HTTP {status} without a message"),
    };
    DbError {
        message,
        code,
        position,
    }
}

/// What a statement's first words say it is, for the mutation wait: `ALTER TABLE [db.]t`.
/// Returns the database (when named) and the table.
fn altered_table(sql: &str) -> Option<(Option<String>, String)> {
    let mut words = Tokens::new(sql);
    if !words.next()?.eq_ignore_ascii_case("ALTER") || !words.next()?.eq_ignore_ascii_case("TABLE")
    {
        return None;
    }
    let first = words.ident()?;
    if words.peek_char() == Some('.') {
        words.bump();
        let table = words.ident()?;
        Some((Some(first), table))
    } else {
        Some((None, first))
    }
}

/// A tiny reader of a statement's first words and identifiers (comments skipped).
struct Tokens<'a> {
    rest: &'a str,
}

impl<'a> Tokens<'a> {
    fn new(sql: &'a str) -> Tokens<'a> {
        Tokens { rest: sql }
    }

    fn skip_space(&mut self) {
        loop {
            let t = self.rest.trim_start();
            if let Some(r) = t.strip_prefix("--") {
                self.rest = r.find('\n').map_or("", |i| &r[i..]);
            } else if let Some(r) = t.strip_prefix("/*") {
                self.rest = r.find("*/").map_or("", |i| &r[i + 2..]);
            } else {
                self.rest = t;
                return;
            }
        }
    }

    fn peek_char(&mut self) -> Option<char> {
        self.skip_space();
        self.rest.chars().next()
    }

    fn bump(&mut self) {
        let mut c = self.rest.chars();
        c.next();
        self.rest = c.as_str();
    }

    fn next(&mut self) -> Option<&'a str> {
        self.skip_space();
        let end = self
            .rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(self.rest.len());
        if end == 0 {
            return None;
        }
        let (w, r) = self.rest.split_at(end);
        self.rest = r;
        Some(w)
    }

    fn ident(&mut self) -> Option<String> {
        match self.peek_char()? {
            q @ ('`' | '"') => {
                self.bump();
                let mut out = String::new();
                let mut chars = self.rest.char_indices();
                while let Some((i, c)) = chars.next() {
                    if c == '\\' {
                        if let Some((_, n)) = chars.next() {
                            out.push(n);
                        }
                    } else if c == q {
                        self.rest = &self.rest[i + 1..];
                        return Some(out);
                    } else {
                        out.push(c);
                    }
                }
                None
            }
            _ => self.next().map(str::to_owned),
        }
    }
}

/// Replace each `?` of jetbase's own SQL (outside string literals) by its parameter as a
/// literal.
fn bind(sql: &str, params: &[Value]) -> Result<String, DbError> {
    super::bind::bind(sql, params, |v| match v {
        Value::Null => "NULL".to_owned(),
        Value::Int(i) => i.to_string(),
        Value::Real(f) => format!("{f:?}"),
        Value::Text(s) => literal(s),
        Value::Bool(b) => u8::from(*b).to_string(),
    })
}

/// A cell of a `JSONCompact` answer: 64-bit integers come quoted; they are integers here.
fn cell(v: &serde_json::Value, ty: &str) -> Value {
    use serde_json::Value as J;
    let inner = ty
        .strip_prefix("Nullable(")
        .and_then(|t| t.strip_suffix(')'))
        .unwrap_or(ty);
    match v {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) => n
            .as_i64()
            .map(Value::Int)
            .or_else(|| n.as_f64().map(Value::Real))
            .unwrap_or(Value::Null),
        J::String(s) if inner.starts_with("Int") || inner.starts_with("UInt") => s
            .parse()
            .map_or_else(|_| Value::Text(s.clone()), Value::Int),
        J::String(s) => Value::Text(s.clone()),
        other => Value::Text(other.to_string()),
    }
}

/// A listing of `system.tables` that met a table being dropped, on an old server (18.16):
/// UNKNOWN_TABLE (60) or TABLE_IS_DROPPED (218) for the table itself, or, for
/// `metadata_modification_time` (filled for every table before the `WHERE` filters them),
/// a Poco "File not found" (1000) on the dropped table's metadata file.
fn listing_raced(e: &DbError) -> bool {
    crate::lock::claims::gone(e)
        || (e.code.as_deref() == Some("1000")
            && e.message.contains("File not found")
            && e.message.contains("/metadata/"))
}

fn parse_rows(body: &[u8]) -> Result<Vec<Row>, DbError> {
    #[derive(serde::Deserialize)]
    struct Meta {
        #[serde(rename = "type")]
        ty: String,
    }
    #[derive(serde::Deserialize)]
    struct Answer {
        meta: Vec<Meta>,
        data: Vec<Vec<serde_json::Value>>,
    }
    let a: Answer = serde_json::from_slice(body).map_err(|e| {
        DbError::new(format!(
            "unexpected answer from the server ({e}): {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        ))
    })?;
    Ok(a.data
        .iter()
        .map(|r| {
            r.iter()
                .zip(a.meta.iter())
                .map(|(v, m)| cell(v, &m.ty))
                .collect()
        })
        .collect())
}

/// The statement running now, for Ctrl-C.
#[derive(Default)]
struct Running {
    query_id: Option<String>,
}

pub struct ClickHouseBackend {
    conn: http::Connection,
    target: Target,
    dialect: ClickHouseDialect,
    session_id: String,
    running: Arc<Mutex<Running>>,
}

/// This driver in the registry.
pub(crate) const CONNECTOR: super::registry::Connector = super::registry::Connector {
    kind: crate::drivers::BackendKind::ClickHouse,
    connect: |spec, _mode| {
        Box::pin(async move {
            ClickHouseBackend::connect(spec)
                .await
                .map(|b| Box::new(b) as Box<dyn Backend>)
        })
    },
};

impl ClickHouseBackend {
    /// Connect, check the credentials and read the server's version.
    ///
    /// # Errors
    /// Unreachable server, bad credentials, unknown database.
    pub async fn connect(spec: &ConnectSpec) -> Result<ClickHouseBackend, ConnectError> {
        let url = &spec.url;
        let failed = |message: String, transient: bool| ConnectError::Failed {
            url: url.to_string(),
            message: url.redact(&message),
            transient,
        };
        // A URL this driver cannot use is bad configuration (exit 1), not an unreachable
        // server. Only the password is hidden: the message's example URL keeps its
        // `user:password@` placeholder.
        let target = target(url).map_err(|message| ConnectError::BadUrl {
            url: url.to_string(),
            message: match url.password() {
                Some(p) if !p.is_empty() => message
                    .replace(p, "***")
                    .replace(&crate::url::percent_encode(p), "***"),
                _ => message,
            },
        })?;
        let conn = http::Connection::open(target.endpoint.clone())
            .await
            .map_err(|e| {
                let message = if e.certificate {
                    format!(
                        "{} (a server with its own CA: trust it with ?ca_cert=/path/ca.pem)",
                        e.message
                    )
                } else {
                    e.message
                };
                failed(message, e.unreachable)
            })?;
        let mut b = ClickHouseBackend {
            conn,
            dialect: ClickHouseDialect {
                modern: false,
                cluster: target.cluster.clone(),
                database: target.database.clone(),
            },
            target,
            session_id: uuid::Uuid::new_v4().to_string(),
            running: Arc::default(),
        };
        let version = match b.query("SELECT version()", &[]).await {
            Ok(rows) => rows
                .first()
                .and_then(|r| r.first())
                .and_then(Value::as_text)
                .unwrap_or_default(),
            Err(e) => {
                let auth = e.code.as_deref().is_some_and(|c| AUTH_CODES.contains(&c));
                let message = if auth {
                    format!("{} (check the user and password of the URL)", e.message)
                } else if e.code.as_deref() == Some("81") {
                    format!(
                        "{} (create it first: CREATE DATABASE {})",
                        e.message, b.target.database
                    )
                } else {
                    e.message
                };
                // A server still starting answers 5xx without a code.
                let transient = e.code.is_none();
                return Err(failed(message, transient));
            }
        };
        b.dialect.modern = is_modern(&version);
        Ok(b)
    }

    /// The URL of a request: database, our session, the URL's settings, the waits, and no
    /// insert deduplication.
    fn uri(&self, query_id: &str) -> String {
        let mut q: Vec<(&str, &str)> = vec![
            ("database", &self.target.database),
            ("session_id", &self.session_id),
            ("query_id", query_id),
            ("wait_end_of_query", "1"),
        ];
        let user_sets = |k: &str| self.target.settings.iter().any(|(s, _)| s == k);
        if self.dialect.modern && !user_sets("mutations_sync") {
            q.push((
                "mutations_sync",
                if self.dialect.cluster.is_some() {
                    "2"
                } else {
                    "1"
                },
            ));
        }
        // A replicated table drops an INSERT whose block it saw before (a file re-applied
        // after its rollback): a migration is never a retried insert, so every one inserts.
        if !user_sets("insert_deduplicate") {
            q.push(("insert_deduplicate", "0"));
        }
        for (k, v) in &self.target.settings {
            q.push((k, v));
        }
        let mut uri = String::from("/?");
        for (i, (k, v)) in q.iter().enumerate() {
            if i > 0 {
                uri.push('&');
            }
            uri.push_str(&crate::url::percent_encode(k));
            uri.push('=');
            uri.push_str(&crate::url::percent_encode(v));
        }
        uri
    }

    /// POST one statement; the answer's body on success.
    async fn post(&mut self, sql: String) -> Result<http::Response, DbError> {
        let query_id = uuid::Uuid::new_v4().to_string();
        let mut req = hyper::Request::post(self.uri(&query_id))
            .header("Host", self.target.endpoint.host.as_str())
            .header("X-ClickHouse-User", self.target.user.as_str())
            .header("Content-Type", "text/plain; charset=utf-8");
        if let Some(p) = &self.target.password {
            req = req.header("X-ClickHouse-Key", p.as_str());
        }
        let req = req
            .body(Full::new(Bytes::from(sql)))
            .map_err(|e| DbError::new(format!("bad request: {e}")))?;
        if let Ok(mut r) = self.running.lock() {
            r.query_id = Some(query_id);
        }
        let sent = self.conn.send(req).await;
        if let Ok(mut r) = self.running.lock() {
            r.query_id = None;
        }
        let resp = sent.map_err(|e| DbError::new(e.message))?;
        if resp.status == 200 {
            return Ok(resp);
        }
        let body = String::from_utf8_lossy(&resp.body).into_owned();
        Err(server_error(
            resp.status,
            resp.header("X-ClickHouse-Exception-Code"),
            &body,
        ))
    }

    /// Run a statement; on a server without `mutations_sync`, wait for the mutations an
    /// `ALTER TABLE` started.
    async fn run(&mut self, sql: String) -> Result<http::Response, DbError> {
        let altered = if self.dialect.modern {
            None
        } else {
            altered_table(&sql)
        };
        let resp = self.post(sql).await?;
        if let Some((db, table)) = altered {
            self.wait_for_mutations(db.as_deref(), &table).await?;
        }
        Ok(resp)
    }

    /// Wait until `system.mutations` shows no unfinished mutation of the table.
    async fn wait_for_mutations(&mut self, db: Option<&str>, table: &str) -> Result<(), DbError> {
        let db = db.map_or_else(|| "currentDatabase()".to_owned(), literal);
        let sql = format!(
            "SELECT count() FROM system.mutations WHERE database = {db} AND table = {} \
             AND is_done = 0 FORMAT JSONCompact",
            literal(table)
        );
        let mut pause = Duration::from_millis(5);
        loop {
            let resp = self.post(sql.clone()).await?;
            let left = parse_rows(&resp.body)?
                .first()
                .and_then(|r| r.first())
                .and_then(Value::as_i64)
                .unwrap_or_default();
            if left == 0 {
                return Ok(());
            }
            if crate::cancel::cancelled() {
                return Err(DbError::new(format!(
                    "interrupted while waiting for the mutations of {table} to finish"
                )));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(200));
        }
    }
}

/// 20.1 brought `DateTime64`, `now64` and `mutations_sync`.
fn is_modern(version: &str) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    parts.next().unwrap_or(0) >= 20
}

#[async_trait]
impl Backend for ClickHouseBackend {
    fn dialect(&self) -> &dyn Dialect {
        &self.dialect
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            transactions: false,
            transactional_ddl: false,
            compare_and_set: false,
            session_locks: false,
            lock: LockProtocol::Claims,
            shared: true,
        }
    }

    async fn ping(&mut self) -> Result<(), DbError> {
        self.post("SELECT 1".to_owned()).await.map(|_| ())
    }

    async fn begin(&mut self) -> Result<(), DbError> {
        Ok(())
    }

    async fn commit(&mut self) -> Result<(), DbError> {
        Ok(())
    }

    async fn rollback(&mut self) -> Result<(), DbError> {
        Ok(())
    }

    async fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        let resp = self.run(bind(sql, params)?).await?;
        // Servers since 19.x say what a statement wrote.
        Ok(resp
            .header("X-ClickHouse-Summary")
            .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok())
            .and_then(|v| {
                let w = v.get("written_rows")?;
                w.as_u64().or_else(|| w.as_str()?.parse().ok())
            })
            .unwrap_or(0))
    }

    async fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        // On a cluster, this node may not have fetched the last history writes of another
        // (replication is asynchronous): catch up before the history is read.
        if self.dialect.cluster.is_some() && sql == self.dialect.select_history() {
            self.post("SYSTEM SYNC REPLICA jetbase_migrations".to_owned())
                .await?;
        }
        let sql = format!("{}\nFORMAT JSONCompact", bind(sql, params)?);
        // A read of `system.tables` on an old server (18.16) fails when a table is dropped
        // while the server lists them: the lock's claims are, all the time, while several
        // processes take the lock. Read again.
        let mut attempts = 0;
        loop {
            match self.post(sql.clone()).await {
                Ok(resp) => return parse_rows(&resp.body),
                Err(e) if attempts < 50 && sql.contains("system.tables") && listing_raced(&e) => {
                    attempts += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn execute_raw(&mut self, sql: &str) -> Result<(), DbError> {
        self.run(sql.to_owned()).await.map(|_| ())
    }

    /// Statement by statement: nothing of a unit can be undone, so a failure says which
    /// steps ran (none, when the first one failed).
    async fn run_unit(&mut self, unit: &super::Unit<'_>) -> Result<(), super::UnitError> {
        super::unit::run_in_order(self, unit).await
    }

    async fn close(self: Box<Self>) {
        drop(self);
    }

    fn interrupter(&self) -> Option<Box<dyn Fn() + Send + Sync>> {
        let running = Arc::clone(&self.running);
        let target = self.target.clone();
        Some(Box::new(move || {
            let Some(id) = running.lock().ok().and_then(|r| r.query_id.clone()) else {
                return;
            };
            // Another connection asks the server to stop the statement.
            let mut req = hyper::Request::post(format!(
                "/?database={}",
                crate::url::percent_encode(&target.database)
            ))
            .header("Host", target.endpoint.host.as_str())
            .header("X-ClickHouse-User", target.user.as_str());
            if let Some(p) = &target.password {
                req = req.header("X-ClickHouse-Key", p.as_str());
            }
            if let Ok(req) = req.body(Full::new(Bytes::from(format!(
                "KILL QUERY WHERE query_id = {} ASYNC",
                literal(&id)
            )))) {
                http::send_detached(target.endpoint.clone(), req);
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> DatabaseUrl {
        DatabaseUrl::parse(s).unwrap()
    }

    #[test]
    fn urls_name_the_http_interface() {
        let t = target(&url("clickhouse://u:p@h/db?max_threads=2&cluster=c")).unwrap();
        assert_eq!((t.endpoint.port, t.endpoint.tls.is_none()), (8123, true));
        assert_eq!((t.database.as_str(), t.user.as_str()), ("db", "u"));
        assert_eq!(t.settings, vec![("max_threads".into(), "2".into())]);
        assert_eq!(t.cluster.as_deref(), Some("c"));
        let t = target(&url("clickhouse://h")).unwrap();
        assert_eq!(
            (t.database.as_str(), t.user.as_str()),
            ("default", "default")
        );
        for tls in [
            "clickhouse+https://u@h/db",
            "clickhouse://u@h/db?secure=true",
            "clickhouse+http://u@h/db?protocol=https",
        ] {
            let t = target(&url(tls)).unwrap();
            assert!(t.endpoint.tls.is_some(), "{tls}");
            assert_eq!(t.endpoint.port, 8443, "{tls}");
            assert!(t.settings.is_empty(), "{tls}");
        }
        let e = target(&url("clickhouse+native://u:p@h:9000/db"))
            .err()
            .unwrap();
        assert!(e.contains("8123") && e.contains("native"), "{e}");
        assert!(target(&url("clickhouse+foo://h")).is_err());
        assert!(target(&url("clickhouse://h?verify=false")).is_err());
    }

    #[test]
    fn server_errors_keep_code_message_and_position() {
        let modern = server_error(
            404,
            Some("60"),
            "Code: 60. DB::Exception: Unknown table expression identifier 'x'. (UNKNOWN_TABLE) (version 26.9.2.1)\n",
        );
        assert_eq!(modern.code.as_deref(), Some("60"));
        assert!(
            modern
                .message
                .starts_with("Code: 60. Unknown table expression identifier 'x'"),
            "{}",
            modern.message
        );
        let old = server_error(
            500,
            None,
            "Code: 62, e.displayText() = DB::Exception: Syntax error: failed at position 8 (line 1, col 8): FROMM x. Expected one of: ..., e.what() = DB::Exception\n",
        );
        assert_eq!(old.code.as_deref(), Some("62"));
        assert_eq!(old.position, Some(8));
        assert!(!old.message.contains("e.what"), "{}", old.message);
        assert_eq!(
            server_error(502, None, "").message,
            "HTTP 502 without a message"
        );
    }

    #[test]
    fn a_listing_that_met_a_drop_is_read_again_and_nothing_else_is() {
        // As 18.16 sent it in CI, when a claim was dropped while system.tables was read.
        let raced = server_error(
            500,
            None,
            "Code: 1000, e.displayText() = File not found: /tmp/ch/data/metadata/jb/jetbase_lock_claim_57.sql, e.what() = File not found\n",
        );
        assert_eq!(raced.code.as_deref(), Some("1000"));
        assert!(listing_raced(&raced), "{}", raced.message);
        assert!(listing_raced(&server_error(
            404,
            Some("60"),
            "Code: 60. DB::Exception: Table jb.c doesn't exist."
        )));
        let other = server_error(
            500,
            Some("1000"),
            "Code: 1000. DB::Exception: File not found: /etc/x.xml",
        );
        assert!(!listing_raced(&other), "{}", other.message);
        assert!(!listing_raced(&server_error(
            404,
            Some("81"),
            "Code: 81. DB::Exception: Database jb doesn't exist."
        )));
    }

    #[test]
    fn parameters_bind_as_literals_outside_strings() {
        let sql = bind(
            "SELECT ?, '?', `a?`, ? WHERE x = ?",
            &[Value::Int(3), Value::from("it's"), Value::Null],
        )
        .unwrap();
        assert_eq!(sql, "SELECT 3, '?', `a?`, 'it\\'s' WHERE x = NULL");
        assert!(bind("SELECT ?", &[]).is_err());
        assert!(bind("SELECT 1", &[Value::Int(1)]).is_err());
    }

    #[test]
    fn alter_table_statements_name_their_table() {
        assert_eq!(
            altered_table("-- note\nALTER TABLE db.`t x` DELETE WHERE 1"),
            Some((Some("db".into()), "t x".into()))
        );
        assert_eq!(
            altered_table("alter table t update a = 1 where 1"),
            Some((None, "t".into()))
        );
        assert_eq!(altered_table("ALTER USER u"), None);
        assert_eq!(altered_table("SELECT 1"), None);
    }

    #[test]
    fn json_compact_answers_read_64_bit_integers_as_integers() {
        let body = br#"{"meta":[{"name":"a","type":"UInt64"},{"name":"b","type":"Nullable(String)"},{"name":"c","type":"DateTime64(6)"}],
            "data":[["2",null,"2026-01-01 00:00:00.000001"]],"rows":1}"#;
        let rows = parse_rows(body).unwrap();
        assert_eq!(
            rows,
            vec![vec![
                Value::Int(2),
                Value::Null,
                Value::Text("2026-01-01 00:00:00.000001".into())
            ]]
        );
    }

    #[test]
    fn versions_from_20_are_modern() {
        assert!(!is_modern("18.16.1"));
        assert!(!is_modern("19.17.6.36"));
        assert!(is_modern("20.3.1"));
        assert!(is_modern("26.9.2.1"));
    }
}
