//! Snowflake, over the REST protocol Snowflake's own connectors speak (HTTPS, rustls): a login
//! request (password, or a key-pair JWT when the URL has no password), then one query request
//! per statement with `?` parameters bound by the server, polling a statement that outlives the
//! request, an abort request on Ctrl-C, a session heartbeat on long waits, and the session
//! deleted at the end. Results come as Arrow (read with the `arrow` crates) or, for DML, as a
//! JSON rowset. Snowflake commits DDL implicitly, so a file is not atomic
//! (`Capabilities::transactional_ddl` false): as on MySQL, the shared upgrade path says which
//! statements ran. The lock is the original's `jetbase_lock` row.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::Full;
use serde_json::{Value as Json, json};

pub mod keypair;
mod rows;
mod sql;

pub use sql::SnowflakeDialect;

use super::http::{self, Endpoint};
use super::{
    Backend, Capabilities, ConnectError, ConnectSpec, DbError, Dialect, LockProtocol, Row, Value,
};
use crate::url::DatabaseUrl;

/// Codes of a statement still running on the server (its result is fetched later).
const IN_PROGRESS: &[&str] = &["333333", "333334"];

/// How often a session that waits on a long statement says it is alive.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(3600);

/// Where the account is and whom to be, from the URL.
#[derive(Clone)]
struct Target {
    endpoint: Endpoint,
    /// The account identifier as given (`orgname-account`, `locator.region.cloud`).
    account: String,
    user: String,
    password: Option<String>,
    database: Option<String>,
    schema: Option<String>,
    warehouse: Option<String>,
    role: Option<String>,
}

fn target(url: &DatabaseUrl) -> Result<Target, String> {
    let account = url
        .host()
        .filter(|h| !h.is_empty())
        .ok_or("the URL names no account: snowflake://user:password@account/database/schema")?
        .to_owned();
    let user = url
        .username()
        .ok_or("the URL names no user: snowflake://user:password@account/database/schema")?
        .to_owned();
    let (database, schema) = match url.database() {
        Some(path) => {
            let mut parts = path.splitn(2, '/');
            let db = parts.next().filter(|s| !s.is_empty()).map(str::to_owned);
            let schema = parts.next().filter(|s| !s.is_empty()).map(str::to_owned);
            (db, schema)
        }
        None => (None, None),
    };
    let host = url.param("host").map_or_else(
        || format!("{account}.snowflakecomputing.com"),
        str::to_owned,
    );
    let endpoint = Endpoint::from_query(url, host, None, "a local emulator")?;
    Ok(Target {
        endpoint,
        account,
        user,
        password: url.password().map(str::to_owned),
        database,
        schema,
        warehouse: url.param("warehouse").map(str::to_owned),
        role: url.param("role").map(str::to_owned),
    })
}

/// The account name the login and the JWT use: the identifier up to its first `.`.
fn account_name(account: &str) -> String {
    account
        .split('.')
        .next()
        .unwrap_or(account)
        .to_ascii_uppercase()
}

/// A failed answer (`success: false`) as a `DbError`: Snowflake's code and message.
fn answer_error(v: &Json, status: u16) -> DbError {
    let code = v.get("code").and_then(|c| {
        c.as_str()
            .map(str::to_owned)
            .or_else(|| c.as_i64().map(|n| n.to_string()))
    });
    let message = v
        .get("message")
        .and_then(Json::as_str)
        .unwrap_or("no message")
        .to_owned();
    let sql_state = v
        .pointer("/data/sqlState")
        .and_then(Json::as_str)
        .map(str::to_owned);
    // An emulator's 5xx (a write-write conflict the real service would have waited out) is
    // worth retrying as a conflict; nothing of the statement happened.
    let code = if status >= 500 {
        Some("40001".to_owned())
    } else {
        code
    };
    let message = match (
        &sql_state,
        message.starts_with(code.as_deref().unwrap_or("-")),
    ) {
        (Some(state), false) => {
            format!("{} ({state}): {message}", code.as_deref().unwrap_or("?"))
        }
        _ => message,
    };
    DbError {
        message,
        code,
        position: None,
    }
}

/// A parameter as Snowflake binds it: `{"type": ..., "value": text}`.
fn binding(v: &Value) -> Json {
    match v {
        Value::Null => json!({"type": "TEXT", "value": null}),
        Value::Int(i) => json!({"type": "FIXED", "value": i.to_string()}),
        Value::Real(f) => json!({"type": "REAL", "value": f.to_string()}),
        Value::Text(s) => json!({"type": "TEXT", "value": s}),
        Value::Bool(b) => json!({"type": "BOOLEAN", "value": b.to_string()}),
    }
}

/// The statement running now, for Ctrl-C.
#[derive(Default)]
struct Running {
    request_id: Option<String>,
    sql: String,
}

pub struct SnowflakeBackend {
    conn: http::Connection,
    target: Target,
    token: String,
    dialect: SnowflakeDialect,
    sequence: u64,
    last_heartbeat: Instant,
    running: Arc<Mutex<Running>>,
}

/// This driver in the registry.
pub(crate) const CONNECTOR: super::registry::Connector = super::registry::Connector {
    kind: crate::drivers::BackendKind::Snowflake,
    connect: |spec, _mode| {
        Box::pin(async move {
            SnowflakeBackend::connect(spec)
                .await
                .map(|b| Box::new(b) as Box<dyn Backend>)
        })
    },
};

/// What a statement answered.
struct Answer {
    data: Json,
}

impl SnowflakeBackend {
    /// Log in: with the URL's password, or with a key-pair JWT when it has none.
    ///
    /// # Errors
    /// Unreachable account, refused credentials, a bad or missing private key.
    pub async fn connect(spec: &ConnectSpec) -> Result<SnowflakeBackend, ConnectError> {
        let url = &spec.url;
        let target = target(url).map_err(|message| ConnectError::BadUrl {
            url: url.to_string(),
            message: url.redact(&message),
        })?;
        let failed = |message: String, transient: bool| ConnectError::Failed {
            url: url.to_string(),
            message: url.redact(&message),
            transient,
        };
        let account = account_name(&target.account);
        let mut data = json!({
            "CLIENT_APP_ID": "jetbase",
            "CLIENT_APP_VERSION": env!("CARGO_PKG_VERSION"),
            "ACCOUNT_NAME": account,
            "LOGIN_NAME": target.user,
            "SESSION_PARAMETERS": {"AUTOCOMMIT": true},
            "CLIENT_ENVIRONMENT": {"APPLICATION": "jetbase", "OS": std::env::consts::OS},
        });
        if let Some(p) = &target.password {
            data["PASSWORD"] = Json::from(p.as_str());
        } else {
            // Key pair: the JWT is made (and a bad key refused) before any request.
            let Some(key) = &spec.private_key else {
                return Err(ConnectError::BadUrl {
                    url: url.to_string(),
                    message: "the URL has no password and no private key is set: give a \
                              password, or the PEM key in JETBASE_SNOWFLAKE_PRIVATE_KEY \
                              (snowflake_private_key in env.py)"
                        .to_owned(),
                });
            };
            let now = std::time::SystemTime::now();
            let jwt = keypair::jwt(
                &target.account,
                &target.user,
                key.expose(),
                spec.private_key_password
                    .as_ref()
                    .map(crate::url::Secret::expose),
                now,
            )
            .map_err(|e| ConnectError::BadKey {
                url: url.to_string(),
                message: e.to_string(),
            })?;
            data["AUTHENTICATOR"] = Json::from("SNOWFLAKE_JWT");
            data["TOKEN"] = Json::from(jwt);
        }
        let mut query = vec![("request_id", uuid::Uuid::new_v4().to_string())];
        if let Some(db) = &target.database {
            query.push(("databaseName", db.clone()));
        }
        if let Some(s) = &target.schema {
            query.push(("schemaName", s.clone()));
        }
        if let Some(w) = &target.warehouse {
            query.push(("warehouse", w.clone()));
        }
        if let Some(r) = &target.role {
            query.push(("roleName", r.clone()));
        }
        let mut conn = http::Connection::open(target.endpoint.clone())
            .await
            .map_err(|e| failed(e.message, e.unreachable))?;
        let uri = with_query("/session/v1/login-request", &query);
        let resp = post_json(&mut conn, &target, &uri, None, &json!({ "data": data }))
            .await
            .map_err(|e| failed(e.message, e.code.is_none()))?;
        let v = parse(&resp.body, resp.status).map_err(|e| failed(e.message, false))?;
        if v.get("success").and_then(Json::as_bool) != Some(true) {
            let e = answer_error(&v, resp.status);
            let hint = match e.code.as_deref() {
                Some("390100") => " (check the user and password of the URL)",
                Some("390144") => {
                    " (the key's public half must be registered for this user: ALTER USER ... SET RSA_PUBLIC_KEY)"
                }
                _ => "",
            };
            return Err(failed(format!("{}{hint}", e.message), false));
        }
        let token = v
            .pointer("/data/token")
            .and_then(Json::as_str)
            .ok_or_else(|| failed("the login answer holds no session token".into(), false))?
            .to_owned();
        Ok(SnowflakeBackend {
            conn,
            target,
            token,
            dialect: SnowflakeDialect,
            sequence: 0,
            last_heartbeat: Instant::now(),
            running: Arc::default(),
        })
    }

    /// Run one statement and wait for its result (polling while the server says it runs).
    async fn statement(&mut self, sql: &str, params: &[Value]) -> Result<Answer, DbError> {
        self.sequence += 1;
        let request_id = uuid::Uuid::new_v4().to_string();
        let mut body = json!({
            "sqlText": sql,
            "asyncExec": false,
            "sequenceId": self.sequence,
            "querySubmissionTime": std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis()),
        });
        if !params.is_empty() {
            let bindings: serde_json::Map<String, Json> = params
                .iter()
                .enumerate()
                .map(|(i, v)| ((i + 1).to_string(), binding(v)))
                .collect();
            body["bindings"] = Json::Object(bindings);
        }
        if let Ok(mut r) = self.running.lock() {
            r.request_id = Some(request_id.clone());
            sql.clone_into(&mut r.sql);
        }
        let result = self.run_request(&request_id, &body).await;
        if let Ok(mut r) = self.running.lock() {
            r.request_id = None;
        }
        result
    }

    async fn run_request(&mut self, request_id: &str, body: &Json) -> Result<Answer, DbError> {
        let uri = with_query(
            "/queries/v1/query-request",
            &[("requestId", request_id.to_owned())],
        );
        let token = self.token.clone();
        let resp = post_json(&mut self.conn, &self.target, &uri, Some(&token), body).await?;
        let mut v = parse(&resp.body, resp.status)?;
        let mut pause = Duration::from_millis(50);
        // A statement that outlives the request: fetch its result until it is done.
        while v
            .get("code")
            .and_then(Json::as_str)
            .is_some_and(|c| IN_PROGRESS.contains(&c))
        {
            if crate::cancel::cancelled() {
                return Err(DbError::new("interrupted while the statement was running"));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(2));
            if self.last_heartbeat.elapsed() >= HEARTBEAT_EVERY {
                self.heartbeat().await;
            }
            let url = v
                .pointer("/data/getResultUrl")
                .and_then(Json::as_str)
                .ok_or_else(|| {
                    DbError::new("the statement runs on, but the answer has no result URL")
                })?
                .to_owned();
            let resp = get(&mut self.conn, &self.target, &url, &token).await?;
            v = parse(&resp.body, resp.status)?;
        }
        if v.get("success").and_then(Json::as_bool) != Some(true) {
            return Err(answer_error(&v, resp.status));
        }
        Ok(Answer {
            data: v.get("data").cloned().unwrap_or(Json::Null),
        })
    }

    /// Tell the service the session is alive (long statements).
    async fn heartbeat(&mut self) {
        let token = self.token.clone();
        let _ = post_json(
            &mut self.conn,
            &self.target,
            "/session/heartbeat",
            Some(&token),
            &json!({}),
        )
        .await;
        self.last_heartbeat = Instant::now();
    }
}

/// Download the chunks of a large result (presigned URLs on the account's cloud storage,
/// with the headers the answer gives, or the SSE-C key `qrmk`) and read their rows, in order.
async fn fetch_chunks(data: &Json) -> Result<Vec<Row>, DbError> {
    let urls = rows::chunk_urls(data);
    let mut headers: Vec<(String, String)> = data
        .get("chunkHeaders")
        .and_then(Json::as_object)
        .map(|h| {
            h.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    if headers.is_empty()
        && let Some(key) = data.get("qrmk").and_then(Json::as_str)
    {
        headers.push((
            "x-amz-server-side-encryption-customer-algorithm".into(),
            "AES256".into(),
        ));
        headers.push((
            "x-amz-server-side-encryption-customer-key".into(),
            key.to_owned(),
        ));
    }
    let mut out = Vec::new();
    for (i, url) in urls.iter().enumerate() {
        let body = download(url, &headers)
            .await
            .map_err(|e| DbError::new(format!("result chunk {i}: {}", e.message)))?;
        out.extend(rows::chunk_rows(data, &body)?);
    }
    Ok(out)
}

/// GET `url` (`https://host[:port]/path?query`), gunzipped when it is gzip.
async fn download(url: &str, headers: &[(String, String)]) -> Result<Vec<u8>, DbError> {
    use std::io::Read;
    let (https, location) = if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("http://") {
        (false, r)
    } else {
        return Err(DbError::new("a chunk URL that is not HTTP(S)"));
    };
    let (authority, path) = location
        .find('/')
        .map_or((location, "/"), |i| location.split_at(i));
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) && !p.is_empty() => (
            h,
            p.parse().map_err(|_| DbError::new("a chunk URL's port"))?,
        ),
        _ => (authority, if https { 443 } else { 80 }),
    };
    let tls = if https {
        Some(http::tls_config(None).map_err(DbError::new)?)
    } else {
        None
    };
    let mut conn = http::Connection::open(Endpoint {
        host: host.to_owned(),
        port,
        tls,
        connect_timeout: Duration::from_secs(30),
    })
    .await
    .map_err(|e| DbError::new(e.message))?;
    let mut req = hyper::Request::get(path).header("Host", host);
    for (k, v) in headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let req = req
        .body(Full::new(Bytes::new()))
        .map_err(|e| DbError::new(format!("bad request: {e}")))?;
    let resp = conn.send(req).await.map_err(|e| DbError::new(e.message))?;
    if resp.status != 200 {
        return Err(DbError::new(format!(
            "HTTP {} from the chunk's storage",
            resp.status
        )));
    }
    if resp.body.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&resp.body[..])
            .read_to_end(&mut out)
            .map_err(|e| DbError::new(format!("bad gzip chunk: {e}")))?;
        return Ok(out);
    }
    Ok(resp.body.to_vec())
}

/// A statement Snowflake commits implicitly (data definition, access control).
fn is_ddl(sql: &str) -> bool {
    matches!(
        super::unit::first_keyword(sql).as_str(),
        "CREATE" | "ALTER" | "DROP" | "UNDROP" | "TRUNCATE" | "GRANT" | "REVOKE" | "COMMENT"
    )
}

fn with_query(path: &str, query: &[(&str, String)]) -> String {
    let mut uri = path.to_owned();
    for (i, (k, v)) in query.iter().enumerate() {
        uri.push(if i == 0 { '?' } else { '&' });
        uri.push_str(k);
        uri.push('=');
        uri.push_str(&crate::url::percent_encode(v));
    }
    uri
}

/// POST a JSON body; a transport failure is a `DbError` without a code.
async fn post_json(
    conn: &mut http::Connection,
    target: &Target,
    uri: &str,
    token: Option<&str>,
    body: &Json,
) -> Result<http::Response, DbError> {
    let req = json_request(target, uri, token, body)?;
    conn.send(req).await.map_err(|e| DbError::new(e.message))
}

/// The request [`post_json`] sends.
fn json_request(
    target: &Target,
    uri: &str,
    token: Option<&str>,
    body: &Json,
) -> Result<hyper::Request<Full<Bytes>>, DbError> {
    let mut req = hyper::Request::post(uri)
        .header("Host", target.endpoint.host.as_str())
        .header("Content-Type", "application/json")
        .header("Accept", "application/snowflake")
        .header("User-Agent", concat!("jetbase/", env!("CARGO_PKG_VERSION")));
    if let Some(t) = token {
        req = req.header("Authorization", format!("Snowflake Token=\"{t}\""));
    }
    req.body(Full::new(Bytes::from(body.to_string())))
        .map_err(|e| DbError::new(format!("bad request: {e}")))
}

async fn get(
    conn: &mut http::Connection,
    target: &Target,
    uri: &str,
    token: &str,
) -> Result<http::Response, DbError> {
    let req = hyper::Request::get(uri)
        .header("Host", target.endpoint.host.as_str())
        .header("Accept", "application/snowflake")
        .header("Authorization", format!("Snowflake Token=\"{token}\""))
        .body(Full::new(Bytes::new()))
        .map_err(|e| DbError::new(format!("bad request: {e}")))?;
    conn.send(req).await.map_err(|e| DbError::new(e.message))
}

/// The JSON of an answer (Snowflake answers errors with JSON too, mostly with status 200).
fn parse(body: &[u8], status: u16) -> Result<Json, DbError> {
    serde_json::from_slice(body).map_err(|_| {
        DbError::new(format!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        ))
    })
}

#[async_trait]
impl Backend for SnowflakeBackend {
    fn dialect(&self) -> &dyn Dialect {
        &self.dialect
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            transactions: true,
            transactional_ddl: false,
            compare_and_set: true,
            session_locks: false,
            lock: LockProtocol::Row,
            shared: true,
        }
    }

    async fn ping(&mut self) -> Result<(), DbError> {
        self.statement("SELECT 1", &[]).await.map(|_| ())
    }

    async fn begin(&mut self) -> Result<(), DbError> {
        self.statement("BEGIN", &[]).await.map(|_| ())
    }

    async fn commit(&mut self) -> Result<(), DbError> {
        self.statement("COMMIT", &[]).await.map(|_| ())
    }

    async fn rollback(&mut self) -> Result<(), DbError> {
        self.statement("ROLLBACK", &[]).await.map(|_| ())
    }

    async fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        let a = self.statement(sql, params).await?;
        Ok(rows::affected(&a.data))
    }

    async fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let a = self.statement(sql, params).await?;
        let mut all = rows::read(&a.data)?;
        all.extend(fetch_chunks(&a.data).await?);
        Ok(all)
    }

    async fn execute_raw(&mut self, sql: &str) -> Result<(), DbError> {
        self.statement(sql, &[]).await.map(|_| ())
    }

    /// A unit of DML (and bookkeeping) is one transaction, all or nothing. Snowflake commits
    /// DDL implicitly (the open transaction first, then the DDL on its own), so a file with
    /// DDL runs its statements one by one in autocommit, as the service would anyway, then
    /// its fence and history write in one transaction; a failure says what ran.
    async fn run_unit(&mut self, unit: &super::Unit<'_>) -> Result<(), super::UnitError> {
        let ddl = unit.statements.iter().any(|s| is_ddl(&s.sql));
        if !(ddl && unit.transaction) {
            return super::unit::run_in_session(self, unit, !ddl).await;
        }
        super::unit::run_statements(self, unit).await?;
        // One history write and no fence to check: a statement is atomic on its own, and
        // autocommit spares the BEGIN and COMMIT requests.
        let fence = unit.fence.and_then(|f| f()).filter(|c| c.needed);
        if let ([(step, super::Expect::Any)], None) = (unit.bookkeeping.as_slice(), &fence) {
            return self
                .execute(&step.sql, &step.params)
                .await
                .map(|_| ())
                .map_err(|error| super::UnitError::Bookkeeping {
                    index: 0,
                    error,
                    atomic: false,
                });
        }
        let rest = super::Unit {
            statements: &[],
            transaction: true,
            foreign_keys_off: false,
            fence: unit.fence,
            bookkeeping: unit.bookkeeping.clone(),
        };
        // The file's statements stayed applied.
        super::unit::run_in_session(self, &rest, false)
            .await
            .map_err(super::UnitError::after_applied_statements)
    }

    /// End the session on the server.
    async fn close(mut self: Box<Self>) {
        let token = self.token.clone();
        let target = self.target.clone();
        let _ = post_json(
            &mut self.conn,
            &target,
            "/session?delete=true",
            Some(&token),
            &json!({}),
        )
        .await;
    }

    fn interrupter(&self) -> Option<Box<dyn Fn() + Send + Sync>> {
        let running = Arc::clone(&self.running);
        let target = self.target.clone();
        let token = self.token.clone();
        Some(Box::new(move || {
            let Some((request_id, sql)) = running
                .lock()
                .ok()
                .and_then(|r| r.request_id.clone().map(|id| (id, r.sql.clone())))
            else {
                return;
            };
            // Another connection asks the service to abort the statement.
            if let Ok(req) = json_request(
                &target,
                "/queries/v1/abort-request",
                Some(&token),
                &json!({"sqlText": sql, "requestId": request_id}),
            ) {
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
    fn urls_name_account_database_schema_and_endpoint() {
        let t = target(&url(
            "snowflake://me:pw@xy12345.us-east-1.aws/DB1/PUBLIC?warehouse=WH&role=R",
        ))
        .unwrap();
        assert_eq!(
            t.endpoint.host,
            "xy12345.us-east-1.aws.snowflakecomputing.com"
        );
        assert_eq!((t.endpoint.port, t.endpoint.tls.is_some()), (443, true));
        assert_eq!(t.database.as_deref(), Some("DB1"));
        assert_eq!(t.schema.as_deref(), Some("PUBLIC"));
        assert_eq!(t.warehouse.as_deref(), Some("WH"));
        assert_eq!(t.role.as_deref(), Some("R"));
        assert_eq!(account_name(&t.account), "XY12345");
        let t = target(&url(
            "snowflake://me@myorg-acct/DB?host=127.0.0.1&port=8080&protocol=http",
        ))
        .unwrap();
        assert_eq!(
            (t.endpoint.host.as_str(), t.endpoint.port),
            ("127.0.0.1", 8080)
        );
        assert!(t.endpoint.tls.is_none() && t.password.is_none() && t.schema.is_none());
        assert_eq!(account_name(&t.account), "MYORG-ACCT");
        assert!(target(&url("snowflake://me@acct/DB?protocol=ftp")).is_err());
        assert!(target(&url("snowflake://acct/DB")).is_err(), "no user");
    }

    #[test]
    fn failed_answers_keep_code_state_and_message() {
        let v: Json = serde_json::from_str(
            r#"{"data":{"errorCode":"002003","sqlState":"42S02"},"code":"002003","message":"SQL compilation error: Object 'NOPE' does not exist.","success":false}"#,
        )
        .unwrap();
        let e = answer_error(&v, 200);
        assert_eq!(e.code.as_deref(), Some("002003"));
        assert_eq!(
            e.message,
            "002003 (42S02): SQL compilation error: Object 'NOPE' does not exist."
        );
        // An emulator that says the code itself is not repeated.
        let v: Json = serde_json::from_str(
            r#"{"data":{"sqlState":"42S02"},"code":"002003","message":"002003 (42S02): Catalog Error","success":false}"#,
        )
        .unwrap();
        assert_eq!(
            answer_error(&v, 200).message,
            "002003 (42S02): Catalog Error"
        );
        assert!(answer_error(&v, 500).is_retryable_conflict());
    }

    #[test]
    fn ddl_is_told_by_its_first_word_after_comments() {
        assert!(is_ddl("-- note\n/* x */ create table t (id int)"));
        assert!(is_ddl("GRANT SELECT ON t TO ROLE r"));
        assert!(!is_ddl("INSERT INTO t VALUES (1)"));
        assert!(!is_ddl("// create\nUPDATE t SET a = 1"));
    }

    #[test]
    fn chunks_are_downloaded_with_their_headers_and_gunzipped() {
        use std::io::{BufRead, Write};
        // A storage stand-in that serves one gzip chunk and checks the SSE-C header.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line == "\r\n" || line.is_empty() {
                    break;
                }
                head.push_str(&line.to_ascii_lowercase());
            }
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(br#"["2"],["3"]"#).unwrap();
            let body = gz.finish().unwrap();
            let mut stream = stream;
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .unwrap();
            stream.write_all(&body).unwrap();
            head
        });
        let data = json!({
            "queryResultFormat": "json", "rowtype": [{"type": "fixed", "scale": 0}],
            "rowset": [["1"]], "qrmk": "k3y",
            "chunks": [{"url": format!("http://127.0.0.1:{port}/results/c0?sig=x"), "rowCount": 2}]
        });
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let rows = rt.block_on(fetch_chunks(&data)).unwrap();
        assert_eq!(rows, vec![vec![Value::Int(2)], vec![Value::Int(3)]]);
        let head = server.join().unwrap();
        assert!(head.starts_with("get /results/c0?sig=x http/1.1"), "{head}");
        assert!(
            head.contains("x-amz-server-side-encryption-customer-key: k3y"),
            "{head}"
        );
    }

    #[test]
    fn parameters_bind_with_snowflake_types() {
        assert_eq!(
            binding(&Value::Int(3)),
            json!({"type": "FIXED", "value": "3"})
        );
        assert_eq!(
            binding(&Value::Null),
            json!({"type": "TEXT", "value": null})
        );
        assert_eq!(
            binding(&Value::Bool(true)),
            json!({"type": "BOOLEAN", "value": "true"})
        );
        assert_eq!(
            binding(&Value::from("x")),
            json!({"type": "TEXT", "value": "x"})
        );
    }
}
