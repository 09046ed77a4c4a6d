//! Databricks, over TCLIService (HiveServer2's Thrift protocol), the protocol SQL warehouses
//! and clusters serve to ODBC/JDBC and `databricks-sql-connector`: Thrift's binary protocol in
//! HTTP POSTs to the endpoint's `http_path`, with the access token as a Bearer header (HTTPS,
//! rustls). The messages are the `thrift` crate's, with types generated from the published IDL
//! (`TCLIService.thrift` → `tcli.rs`, `scripts/gen-thrift.sh`).
//!
//! A statement is `ExecuteStatement` (asynchronous), `GetOperationStatus` until it is done,
//! `FetchResults` when it has rows (columnar), then `CloseOperation`; Ctrl-C sends
//! `CancelOperation` for it from another connection. Parameters are bound on the client
//! (open-source Spark takes none over this protocol). There are no multi-statement
//! transactions: a file runs statement by statement and a failure says which ran
//! (`unit::run_in_order`). An UPDATE says nothing of the rows it changed on Spark, so the
//! lock row is read back (`Capabilities::compare_and_set` false).
//!
//! The server's protocol version tells Databricks (its own versions, 0xA501 and up) from
//! open-source Spark (Hive's): see [`DatabricksDialect`] for what differs.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::Full;
use thrift::protocol::{
    TBinaryInputProtocol, TBinaryOutputProtocol, TFieldIdentifier, TInputProtocol,
    TMessageIdentifier, TMessageType, TOutputProtocol, TSerializable, TStructIdentifier, TType,
};

mod sql;
#[allow(
    clippy::all,
    clippy::pedantic,
    dead_code,
    unused_qualifications,
    unreachable_pub
)]
#[rustfmt::skip]
mod tcli;

pub use sql::DatabricksDialect;

use super::http::{self, Endpoint};
use super::{
    Backend, Capabilities, ConnectError, ConnectSpec, DbError, Dialect, LockProtocol, Row, Value,
};
use crate::url::DatabaseUrl;
use tcli::{
    TCancelOperationReq, TCloseOperationReq, TCloseOperationResp, TCloseSessionReq,
    TCloseSessionResp, TColumn, TExecuteStatementReq, TExecuteStatementResp, TFetchOrientation,
    TFetchResultsReq, TFetchResultsResp, TGetOperationStatusReq, TGetOperationStatusResp,
    TOpenSessionReq, TOpenSessionResp, TOperationHandle, TOperationState, TProtocolVersion,
    TRowSet, TSessionHandle, TStatus, TStatusCode,
};

/// The first of Databricks' own protocol versions (`SPARK_CLI_SERVICE_PROTOCOL_V1`); Hive's
/// (open-source Spark's) are below.
const DATABRICKS_PROTOCOL: i32 = 0xA501;

/// Rows asked for per `FetchResults`.
const FETCH_ROWS: i64 = 10_000;

/// Where the endpoint is and how to authenticate, from the URL.
#[derive(Clone)]
struct Target {
    endpoint: Endpoint,
    /// The warehouse's or cluster's HTTP path.
    path: String,
    token: String,
    catalog: Option<String>,
    schema: Option<String>,
}

const URL_FORM: &str =
    "databricks://token:ACCESS_TOKEN@HOSTNAME?http_path=HTTP_PATH&catalog=CATALOG&schema=SCHEMA";

fn target(url: &DatabaseUrl) -> Result<Target, String> {
    let host = url
        .param("host")
        .or_else(|| url.host().filter(|h| !h.is_empty()))
        .ok_or_else(|| format!("the URL names no host: {URL_FORM}"))?
        .to_owned();
    let token = url
        .password()
        .filter(|p| !p.is_empty())
        .ok_or_else(|| format!("the URL has no access token: {URL_FORM}"))?
        .to_owned();
    let path = url
        .param("http_path")
        .filter(|p| !p.is_empty())
        .ok_or_else(|| {
            "http_path= is missing: the HTTP path of the SQL warehouse (/sql/1.0/warehouses/ID) \
         or cluster (/sql/protocolv1/o/ORG/CLUSTER), from its connection details"
                .to_owned()
        })?;
    let path = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    };
    let endpoint = Endpoint::from_query(url, host, url.port(), "a test server")?;
    let schema = url
        .param("schema")
        .or_else(|| url.database().filter(|d| !d.is_empty()))
        .map(str::to_owned);
    Ok(Target {
        endpoint,
        path,
        token,
        catalog: url.param("catalog").map(str::to_owned),
        schema,
    })
}

/// A TCLIService call as Thrift frames it: a message named after the method, whose struct
/// holds the request as field 1.
fn encode<Q: TSerializable>(method: &str, seq: i32, req: &Q) -> thrift::Result<Vec<u8>> {
    let mut buf = Vec::new();
    write_call(
        &mut TBinaryOutputProtocol::new(&mut buf, true),
        method,
        seq,
        req,
    )?;
    Ok(buf)
}

fn write_call<Q: TSerializable>(
    o: &mut dyn TOutputProtocol,
    method: &str,
    seq: i32,
    req: &Q,
) -> thrift::Result<()> {
    o.write_message_begin(&TMessageIdentifier::new(method, TMessageType::Call, seq))?;
    o.write_struct_begin(&TStructIdentifier::new(format!("{method}_args")))?;
    o.write_field_begin(&TFieldIdentifier::new("req", TType::Struct, 1))?;
    req.write_to_out_protocol(o)?;
    o.write_field_end()?;
    o.write_field_stop()?;
    o.write_struct_end()?;
    o.write_message_end()?;
    o.flush()
}

/// The reply to call `seq` of `method`: its struct's field 0, or the exception the server
/// sent instead.
fn decode<A: TSerializable>(method: &str, seq: i32, body: &[u8]) -> Result<A, String> {
    let mut i = TBinaryInputProtocol::new(body, true);
    let bad = |e: thrift::Error| format!("{method}: unreadable answer: {e}");
    let m = i.read_message_begin().map_err(bad)?;
    if m.message_type == TMessageType::Exception {
        let e = thrift::Error::read_application_error_from_in_protocol(&mut i).map_err(bad)?;
        return Err(format!(
            "{method}: the server failed the call: {}",
            e.message
        ));
    }
    if m.name != method || m.sequence_number != seq {
        return Err(format!(
            "{method}: the answer is to another call ({} #{})",
            m.name, m.sequence_number
        ));
    }
    i.read_struct_begin().map_err(bad)?;
    let mut result = None;
    loop {
        let f = i.read_field_begin().map_err(bad)?;
        match (f.field_type, f.id) {
            (TType::Stop, _) => break,
            (TType::Struct, Some(0)) => {
                result = Some(A::read_from_in_protocol(&mut i).map_err(bad)?);
            }
            (t, _) => i.skip(t).map_err(bad)?,
        }
        i.read_field_end().map_err(bad)?;
    }
    i.read_struct_end().map_err(bad)?;
    result.ok_or_else(|| format!("{method}: the answer holds no result"))
}

/// The POST that carries one call.
fn request(target: &Target, body: Vec<u8>) -> Result<hyper::Request<Full<Bytes>>, DbError> {
    hyper::Request::post(target.path.as_str())
        .header("Host", target.endpoint.host.as_str())
        .header("Content-Type", "application/x-thrift")
        .header("Accept", "application/x-thrift")
        .header("Authorization", format!("Bearer {}", target.token))
        .header("User-Agent", concat!("jetbase/", env!("CARGO_PKG_VERSION")))
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| DbError::new(format!("bad request: {e}")))
}

/// An HTTP status other than 200, as an error with a hint.
fn http_error(status: u16, body: &[u8]) -> DbError {
    let text = String::from_utf8_lossy(&body[..body.len().min(200)])
        .trim()
        .to_owned();
    let hint = match status {
        401 => {
            " (the access token was refused: check the token in the URL, and that it has not expired)"
        }
        403 => " (the token's user may not use this warehouse or cluster)",
        404 => " (check http_path: /sql/1.0/warehouses/ID or /sql/protocolv1/o/ORG/CLUSTER)",
        _ => "",
    };
    let mut message = format!("HTTP {status}{hint}");
    if !text.is_empty() && !text.starts_with('<') {
        message.push_str(": ");
        message.push_str(&text);
    }
    DbError {
        message,
        code: Some(format!("HTTP {status}")),
        position: None,
    }
}

/// A status that is not success, as an error.
fn status_error(s: &TStatus) -> Option<DbError> {
    if s.status_code == TStatusCode::SUCCESS_STATUS
        || s.status_code == TStatusCode::SUCCESS_WITH_INFO_STATUS
    {
        return None;
    }
    let message = s
        .error_message
        .clone()
        .unwrap_or_else(|| format!("the server answered status {}", s.status_code.0));
    Some(server_error(&message, s.sql_state.as_deref(), None))
}

/// A server's error message made readable: Spark wraps it in Hive's exception and appends
/// the Java stack and the query plan; only the message stays. Conflicting commits (Iceberg,
/// Delta), which are worth retrying, get the code 40001.
fn server_error(raw: &str, sql_state: Option<&str>, sql: Option<&str>) -> DbError {
    let mut text = raw;
    for prefix in [
        "org.apache.hive.service.cli.HiveSQLException: ",
        "Error running query: ",
        "org.apache.spark.sql.AnalysisException: ",
        "org.apache.spark.sql.catalyst.parser.ParseException: ",
    ] {
        text = text.strip_prefix(prefix).unwrap_or(text).trim_start();
    }
    // The Java stack and the plan.
    let mut end = text.len();
    for marker in ["\n\tat ", "\n\tat", ";\n'", "\n== SQL ", "\n;\n"] {
        if let Some(i) = text.find(marker) {
            end = end.min(i);
        }
    }
    let message = text[..end].trim().to_owned();
    let conflict = [
        "CommitFailedException",
        "ValidationException: Found conflicting",
        "Cannot commit",
        "DELTA_CONCURRENT",
        "ConcurrentAppendException",
        "ConcurrentDeleteReadException",
        "ConcurrentModificationException",
        "concurrently modified",
    ]
    .iter()
    .any(|m| raw.contains(m));
    let code = if conflict {
        Some("40001".to_owned())
    } else {
        sql_state.filter(|s| !s.is_empty()).map(str::to_owned)
    };
    let message = match sql_state.filter(|s| !s.is_empty() && !message.contains(*s)) {
        Some(state) => format!("[{state}] {message}"),
        None => message,
    };
    DbError {
        position: sql.and_then(|sql| position(&message, sql)),
        message,
        code,
    }
}

/// The 1-based character offset in `sql` of Spark's `line L, pos P` (or `line L pos P`; `P`
/// counts from 0 within the line).
fn position(message: &str, sql: &str) -> Option<usize> {
    let at = message.rfind("line ")?;
    let rest = &message[at + 5..];
    let digits = |s: &str| -> Option<(usize, usize)> {
        let n: String = s.chars().take_while(char::is_ascii_digit).collect();
        Some((n.parse().ok()?, n.len()))
    };
    let (line, len) = digits(rest)?;
    let rest = rest[len..].trim_start_matches([',', ' ']);
    let rest = rest.strip_prefix("pos")?.trim_start();
    let (pos, _) = digits(rest)?;
    let before: usize = sql
        .split('\n')
        .take(line.checked_sub(1)?)
        .map(|l| l.chars().count() + 1)
        .sum();
    Some(before + pos + 1)
}

/// A value bound as a Spark SQL literal.
fn literal(v: &Value) -> String {
    match v {
        Value::Null => "NULL".to_owned(),
        Value::Int(i) => i.to_string(),
        Value::Real(f) => format!("{f:?}D"),
        Value::Text(s) => super::bind::backslash_literal(s),
        Value::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_owned(),
    }
}

/// Row `r` is NULL in a column whose null bitmap is `nulls` (least significant bit first).
fn is_null(nulls: &[u8], r: usize) -> bool {
    nulls.get(r / 8).is_some_and(|b| b & (1 << (r % 8)) != 0)
}

/// The rows of a columnar rowset.
fn rows(set: &TRowSet) -> Vec<Row> {
    let Some(columns) = &set.columns else {
        return Vec::new();
    };
    let cells = |c: &TColumn| -> Vec<Value> {
        fn each<T>(values: &[T], nulls: &[u8], f: impl Fn(&T) -> Value) -> Vec<Value> {
            values
                .iter()
                .enumerate()
                .map(|(r, v)| if is_null(nulls, r) { Value::Null } else { f(v) })
                .collect()
        }
        match c {
            TColumn::BoolVal(c) => each(&c.values, &c.nulls, |v| Value::Bool(*v)),
            TColumn::ByteVal(c) => each(&c.values, &c.nulls, |v| Value::Int(i64::from(*v))),
            TColumn::I16Val(c) => each(&c.values, &c.nulls, |v| Value::Int(i64::from(*v))),
            TColumn::I32Val(c) => each(&c.values, &c.nulls, |v| Value::Int(i64::from(*v))),
            TColumn::I64Val(c) => each(&c.values, &c.nulls, |v| Value::Int(*v)),
            TColumn::DoubleVal(c) => each(&c.values, &c.nulls, |v| Value::Real(v.into_inner())),
            TColumn::StringVal(c) => each(&c.values, &c.nulls, |v| Value::Text(v.clone())),
            TColumn::BinaryVal(c) => each(&c.values, &c.nulls, |v| {
                Value::Text(String::from_utf8_lossy(v).into_owned())
            }),
        }
    };
    let columns: Vec<Vec<Value>> = columns.iter().map(cells).collect();
    let count = columns.iter().map(Vec::len).max().unwrap_or(0);
    (0..count)
        .map(|r| {
            columns
                .iter()
                .map(|c| c.get(r).cloned().unwrap_or(Value::Null))
                .collect()
        })
        .collect()
}

/// What a statement gave.
struct Outcome {
    rows: Vec<Row>,
    /// Rows changed, when the server says (Hive does; Spark does not).
    modified: Option<u64>,
}

pub struct DatabricksBackend {
    conn: http::Connection,
    target: Target,
    session: TSessionHandle,
    dialect: DatabricksDialect,
    seq: i32,
    /// The statement running now, for Ctrl-C.
    running: Arc<Mutex<Option<TOperationHandle>>>,
}

/// This driver in the registry.
pub(crate) const CONNECTOR: super::registry::Connector = super::registry::Connector {
    kind: crate::drivers::BackendKind::Databricks,
    connect: |spec, _mode| {
        Box::pin(async move {
            DatabricksBackend::connect(spec)
                .await
                .map(|b| Box::new(b) as Box<dyn Backend>)
        })
    },
};

impl DatabricksBackend {
    /// Open a session, then make the URL's catalog and schema current.
    ///
    /// # Errors
    /// Unreachable endpoint, refused token, unknown catalog or schema.
    pub async fn connect(spec: &ConnectSpec) -> Result<DatabricksBackend, ConnectError> {
        let url = &spec.url;
        let target = target(url).map_err(|message| ConnectError::BadUrl {
            url: url.to_string(),
            message: url.redact(&message),
        })?;
        let failed = |message: &str, transient: bool| ConnectError::Failed {
            url: url.to_string(),
            message: url.redact(message),
            transient,
        };
        let conn = http::Connection::open(target.endpoint.clone())
            .await
            .map_err(|e| failed(&e.message, e.unreachable))?;
        let mut db = DatabricksBackend {
            conn,
            target,
            session: TSessionHandle {
                session_id: tcli::THandleIdentifier {
                    guid: Vec::new(),
                    secret: Vec::new(),
                },
            },
            dialect: DatabricksDialect { databricks: false },
            seq: 0,
            running: Arc::default(),
        };
        let open = TOpenSessionReq {
            client_protocol: TProtocolVersion::HIVE_CLI_SERVICE_PROTOCOL_V8,
            username: None,
            password: None,
            configuration: None,
        };
        let resp: TOpenSessionResp = db
            .call("OpenSession", &open)
            .await
            .map_err(|e| failed(&e.message, e.code.is_none()))?;
        if let Some(e) = status_error(&resp.status) {
            return Err(failed(&e.message, false));
        }
        db.session = resp
            .session_handle
            .ok_or_else(|| failed("the server opened no session", false))?;
        db.dialect.databricks = resp.server_protocol_version.0 >= DATABRICKS_PROTOCOL;
        let quote = |s: &str| db.dialect.quote_ident(s);
        let mut setup = Vec::new();
        if let Some(c) = &db.target.catalog {
            setup.push((format!("SET CATALOG {}", quote(c)), "catalog"));
        }
        if let Some(s) = &db.target.schema {
            setup.push((format!("USE {}", quote(s)), "schema"));
        }
        for (sql, what) in setup {
            if let Err(e) = db.run(&sql, false).await {
                let message = format!("{} (check the URL's {what}=)", e.message);
                Box::new(db).close().await;
                return Err(failed(&message, false));
            }
        }
        Ok(db)
    }

    /// One TCLIService call on our connection.
    async fn call<Q: TSerializable, A: TSerializable>(
        &mut self,
        method: &str,
        req: &Q,
    ) -> Result<A, DbError> {
        self.seq = self.seq.wrapping_add(1);
        let body = encode(method, self.seq, req)
            .map_err(|e| DbError::new(format!("{method}: cannot encode the call: {e}")))?;
        let resp = self
            .conn
            .send(request(&self.target, body)?)
            .await
            .map_err(|e| DbError::new(e.message))?;
        if resp.status != 200 {
            return Err(http_error(resp.status, &resp.body));
        }
        decode(method, self.seq, &resp.body).map_err(DbError::new)
    }

    /// Run one statement to its end, and read its rows when `rows` (a statement that changes
    /// something answers an empty result on Spark, and the rows it changed on Databricks:
    /// not worth a round trip).
    async fn run(&mut self, sql: &str, rows: bool) -> Result<Outcome, DbError> {
        let req = TExecuteStatementReq {
            session_handle: self.session.clone(),
            statement: sql.to_owned(),
            conf_overlay: None,
            run_async: Some(true),
            query_timeout: None,
        };
        let resp: TExecuteStatementResp = self.call("ExecuteStatement", &req).await?;
        if let Some(mut e) = status_error(&resp.status) {
            e.position = e.position.or_else(|| position(&e.message, sql));
            return Err(e);
        }
        let op = resp
            .operation_handle
            .ok_or_else(|| DbError::new("the server started no operation"))?;
        if let Ok(mut r) = self.running.lock() {
            *r = Some(op.clone());
        }
        let result = self.finish(&op, sql, rows).await;
        if let Ok(mut r) = self.running.lock() {
            *r = None;
        }
        let close = TCloseOperationReq {
            operation_handle: op,
        };
        let _: Result<TCloseOperationResp, _> = self.call("CloseOperation", &close).await;
        result
    }

    /// Wait for an operation to end, then fetch its rows.
    async fn finish(
        &mut self,
        op: &TOperationHandle,
        sql: &str,
        fetch: bool,
    ) -> Result<Outcome, DbError> {
        let mut pause = Duration::from_millis(2);
        loop {
            let req = TGetOperationStatusReq {
                operation_handle: op.clone(),
                get_progress_update: None,
            };
            let st: TGetOperationStatusResp = self.call("GetOperationStatus", &req).await?;
            if let Some(e) = status_error(&st.status) {
                return Err(e);
            }
            match st.operation_state {
                Some(TOperationState::FINISHED_STATE) => break,
                Some(TOperationState::ERROR_STATE | TOperationState::TIMEDOUT_STATE) => {
                    let message = st
                        .error_message
                        .unwrap_or_else(|| "the statement failed".to_owned());
                    return Err(server_error(&message, st.sql_state.as_deref(), Some(sql)));
                }
                Some(TOperationState::CANCELED_STATE | TOperationState::CLOSED_STATE) => {
                    return Err(DbError::new("the statement was cancelled"));
                }
                _ => {}
            }
            if crate::cancel::cancelled() {
                return Err(DbError::new("interrupted while the statement was running"));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(500));
        }
        let modified = op
            .modified_row_count
            .map(thrift::OrderedFloat::into_inner)
            .filter(|n| *n >= 0.0)
            .map(|n| {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let n = n as u64;
                n
            });
        let mut all = Vec::new();
        if op.has_result_set && fetch {
            loop {
                let req = TFetchResultsReq {
                    operation_handle: op.clone(),
                    orientation: TFetchOrientation::FETCH_NEXT,
                    max_rows: FETCH_ROWS,
                    fetch_type: None,
                };
                let r: TFetchResultsResp = self.call("FetchResults", &req).await?;
                if let Some(e) = status_error(&r.status) {
                    return Err(e);
                }
                let got = r.results.as_ref().map(rows).unwrap_or_default();
                let n = got.len();
                all.extend(got);
                if n == 0
                    || (n < usize::try_from(FETCH_ROWS).unwrap_or(usize::MAX)
                        && r.has_more_rows != Some(true))
                {
                    break;
                }
            }
        }
        Ok(Outcome {
            rows: all,
            modified,
        })
    }
}

#[async_trait]
impl Backend for DatabricksBackend {
    fn dialect(&self) -> &dyn Dialect {
        &self.dialect
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            transactions: false,
            transactional_ddl: false,
            compare_and_set: false,
            session_locks: false,
            lock: LockProtocol::Row,
            shared: true,
        }
    }

    async fn ping(&mut self) -> Result<(), DbError> {
        self.run("SELECT 1", true).await.map(|_| ())
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

    /// The rows changed, where the server says in the operation handle (Hive does; Spark and
    /// Databricks do not), or 0. Not trusted by the lock (see the module).
    async fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        let sql = super::bind::bind(sql, params, literal)?;
        let out = self.run(&sql, false).await?;
        Ok(out.modified.unwrap_or(0))
    }

    async fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let sql = super::bind::bind(sql, params, literal)?;
        Ok(self.run(&sql, true).await?.rows)
    }

    async fn execute_raw(&mut self, sql: &str) -> Result<(), DbError> {
        self.run(sql, false).await.map(|_| ())
    }

    async fn run_unit(&mut self, unit: &super::Unit<'_>) -> Result<(), super::UnitError> {
        super::unit::run_in_order(self, unit).await
    }

    /// End the session on the server.
    async fn close(mut self: Box<Self>) {
        let req = TCloseSessionReq {
            session_handle: self.session.clone(),
        };
        let _: Result<TCloseSessionResp, _> = self.call("CloseSession", &req).await;
    }

    fn interrupter(&self) -> Option<Box<dyn Fn() + Send + Sync>> {
        let running = Arc::clone(&self.running);
        let target = self.target.clone();
        Some(Box::new(move || {
            let Some(op) = running.lock().ok().and_then(|r| r.clone()) else {
                return;
            };
            // Another connection asks the server to cancel the operation.
            let cancel = TCancelOperationReq {
                operation_handle: op,
            };
            if let Ok(body) = encode("CancelOperation", 1, &cancel)
                && let Ok(req) = request(&target, body)
            {
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
    fn urls_name_host_path_token_catalog_and_schema() {
        let t = target(&url(
            "databricks://token:dapi123@adb-1.2.azuredatabricks.net?http_path=/sql/1.0/warehouses/abc&catalog=main&schema=app",
        ))
        .unwrap();
        assert_eq!(t.endpoint.host, "adb-1.2.azuredatabricks.net");
        assert_eq!((t.endpoint.port, t.endpoint.tls.is_some()), (443, true));
        assert_eq!(t.path, "/sql/1.0/warehouses/abc");
        assert_eq!(t.token, "dapi123");
        assert_eq!(t.catalog.as_deref(), Some("main"));
        assert_eq!(t.schema.as_deref(), Some("app"));
        let t = target(&url(
            "databricks://token:t@127.0.0.1:8080?http_path=sql/protocolv1/o/1/0123-abc&protocol=http",
        ))
        .unwrap();
        assert_eq!((t.endpoint.port, t.endpoint.tls.is_none()), (8080, true));
        assert_eq!(t.path, "/sql/protocolv1/o/1/0123-abc");
        let missing = |s: &str| target(&url(s)).err().unwrap();
        assert!(missing("databricks://token:t@h").contains("http_path="));
        assert!(missing("databricks://token@h?http_path=/x").contains("no access token"));
        assert!(
            missing("databricks://token:t@h?http_path=/x&protocol=ftp").contains("protocol=ftp")
        );
    }

    #[test]
    fn calls_round_trip_through_the_thrift_framing() {
        // What we send, read back as a server would; what a server answers, read as ours.
        let req = TCloseSessionReq {
            session_handle: TSessionHandle {
                session_id: tcli::THandleIdentifier {
                    guid: vec![1; 16],
                    secret: vec![2; 16],
                },
            },
        };
        let bytes = encode("CloseSession", 7, &req).unwrap();
        let mut i = TBinaryInputProtocol::new(&bytes[..], true);
        let m = i.read_message_begin().unwrap();
        assert_eq!((m.name.as_str(), m.sequence_number), ("CloseSession", 7));
        assert_eq!(m.message_type, TMessageType::Call);
        i.read_struct_begin().unwrap();
        let f = i.read_field_begin().unwrap();
        assert_eq!((f.field_type, f.id), (TType::Struct, Some(1)));
        assert_eq!(
            TCloseSessionReq::read_from_in_protocol(&mut i).unwrap(),
            req
        );

        let answer = TCloseSessionResp {
            status: TStatus {
                status_code: TStatusCode::SUCCESS_STATUS,
                info_messages: None,
                sql_state: None,
                error_code: None,
                error_message: None,
            },
        };
        let mut buf = Vec::new();
        {
            let mut o = TBinaryOutputProtocol::new(&mut buf, true);
            o.write_message_begin(&TMessageIdentifier::new(
                "CloseSession",
                TMessageType::Reply,
                7,
            ))
            .unwrap();
            o.write_struct_begin(&TStructIdentifier::new("r")).unwrap();
            o.write_field_begin(&TFieldIdentifier::new("success", TType::Struct, 0))
                .unwrap();
            answer.write_to_out_protocol(&mut o).unwrap();
            o.write_field_end().unwrap();
            o.write_field_stop().unwrap();
            o.write_struct_end().unwrap();
            o.write_message_end().unwrap();
        }
        let got: TCloseSessionResp = decode("CloseSession", 7, &buf).unwrap();
        assert_eq!(got, answer);
        assert!(decode::<TCloseSessionResp>("CloseSession", 8, &buf).is_err());
        assert!(decode::<TCloseSessionResp>("CloseSession", 7, &buf[..buf.len() - 3]).is_err());
    }

    #[test]
    fn columns_become_rows_with_nulls() {
        let set = TRowSet {
            start_row_offset: 0,
            rows: Vec::new(),
            columns: Some(vec![
                TColumn::I64Val(tcli::TI64Column {
                    values: vec![1, 0, 3],
                    nulls: vec![0b010],
                }),
                TColumn::StringVal(tcli::TStringColumn {
                    values: vec!["a".into(), "b".into(), String::new()],
                    nulls: vec![0b100],
                }),
                TColumn::BoolVal(tcli::TBoolColumn {
                    values: vec![true, false, true],
                    nulls: vec![],
                }),
            ]),
            binary_columns: None,
            column_count: None,
        };
        assert_eq!(
            rows(&set),
            vec![
                vec![Value::Int(1), Value::from("a"), Value::Bool(true)],
                vec![Value::Null, Value::from("b"), Value::Bool(false)],
                vec![Value::Int(3), Value::Null, Value::Bool(true)],
            ]
        );
    }

    #[test]
    fn server_errors_lose_the_java_stack_and_keep_state_and_position() {
        let raw = "org.apache.hive.service.cli.HiveSQLException: Error running query: \
                   [PARSE_SYNTAX_ERROR] org.apache.spark.sql.catalyst.parser.ParseException: \n\
                   [PARSE_SYNTAX_ERROR] Syntax error at or near 'TABL'.(line 2, pos 7)\n\n== SQL ==\nx\n\
                   \tat org.apache.spark.sql.hive.thriftserver.X.run(X.scala:1)";
        let e = server_error(raw, Some("42601"), Some("SELECT 1;\nCREATE TABL t"));
        assert!(
            e.message.starts_with("[42601] [PARSE_SYNTAX_ERROR]"),
            "{}",
            e.message
        );
        assert!(!e.message.contains("\tat "), "{}", e.message);
        assert_eq!(e.code.as_deref(), Some("42601"));
        assert_eq!(e.position, Some(10 + 7 + 1));
        let e = server_error(
            "org.apache.iceberg.exceptions.ValidationException: Found conflicting files that can contain records matching true",
            None,
            None,
        );
        assert!(e.is_retryable_conflict());
    }

    #[test]
    fn values_bind_as_spark_literals() {
        assert_eq!(literal(&Value::Bool(true)), "TRUE");
        assert_eq!(literal(&Value::from("it's")), "'it\\'s'");
        assert_eq!(literal(&Value::Null), "NULL");
        assert_eq!(literal(&Value::Int(-3)), "-3");
    }

    #[test]
    fn http_refusals_say_what_to_check_and_never_echo_the_token() {
        let e = http_error(401, b"<html>Invalid access token</html>");
        assert!(
            e.message.contains("access token was refused"),
            "{}",
            e.message
        );
        assert!(!e.message.contains("<html>"));
        let e = http_error(404, b"");
        assert!(e.message.contains("http_path"));
    }
}
