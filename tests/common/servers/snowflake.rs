//! Snowflake: fakesnow 0.12.1 (Snowflake's connector protocol on DuckDB) behind our login front
//! (`JETBASE_TEST_SNOWFLAKE_URL`, from `scripts/servers/snowflake.sh`; what it speaks and
//! refuses: `scripts/servers/SNOWFLAKE_NOTES.md`). The tests reach it with a client of their
//! own, independent of the crate's driver: plain HTTP over `std::net`, a login request, then one
//! query request per statement; results are Arrow IPC streams (read with `arrow-ipc`), DML
//! counts a JSON rowset.
//!
//! What fakesnow lacks, and how this description copes:
//! - `DROP DATABASE` (with or without `IF EXISTS`: DuckDB 2.0's parser refuses it): a project's
//!   database is dropped by dropping its one schema (`PUBLIC`, with everything in it).
//! - Sleeping (`SYSTEM$WAIT` is refused, DuckDB has no sleep): `pause` and `slow` count in a
//!   recursive CTE, which DuckDB runs on one thread. Nor can a statement be stopped: fakesnow
//!   answers `abort-request` without doing anything, so a killed holder's `slow` runs to its end
//!   on the server (one core, no writes): it is half a minute here, not a minute.
//! - Views are not in `INFORMATION_SCHEMA.TABLES` (they are in `VIEWS`): `tables` names base
//!   tables only, which is what the suites look for.
//! - Triggers (Snowflake has none either): see `trigger_with_delimiter`.
//! - Waiting on a row another transaction writes: fakesnow answers HTTP 500 at once (DuckDB's
//!   "Conflict on update!"; the driver takes it as a retryable conflict). This client tries
//!   such a statement again.
//! - Ending a transaction whose client died: a session killed between `BEGIN` and `COMMIT`
//!   keeps its transaction open for good (Snowflake aborts such a detached transaction after
//!   hours), so no one can write the rows it wrote: the crash test kills inside files only
//!   (`crash_kills`), never inside the lock's own transactions.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::time::Duration;

use base64::Engine as _;

use super::Server;

pub const SNOWFLAKE: Server = Server {
    name: "snowflake",
    kind: jetbase::drivers::BackendKind::Snowflake,
    env_var: Some("JETBASE_TEST_SNOWFLAKE_URL"),
    script: Some("snowflake"),
    // `snowflake://` is snowflake-sqlalchemy's spelling too.
    sqlalchemy_schemes: &[],
    database_url,
    create_database: |name| format!("CREATE DATABASE {name}"),
    // fakesnow refuses DROP DATABASE: its schema goes, and the tables with it (fakesnow adds
    // CASCADE). The empty database stays until the server stops.
    drop_database: |name| format!("DROP SCHEMA {name}.PUBLIC"),
    query_fn: query,
    exec_fn: exec,
    // DDL commits the open transaction, as on Snowflake (the driver runs such files statement
    // by statement and says what ran).
    transactional_ddl: false,
    tables: "SELECT LOWER(table_name) FROM information_schema.tables WHERE table_schema = CURRENT_SCHEMA()",
    // UTC, as the driver's lease clock (`SYSDATE()`).
    now: "SYSDATE()",
    // No sleep on fakesnow: DuckDB counting in a recursive CTE (one thread); about 20 ms here
    // with the round trip.
    pause: "WITH RECURSIVE c (x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000) SELECT MAX(x) FROM c;",
    // Counting again, 25-40 s here (one core of the server, nothing written): not the minute of
    // the other servers, because fakesnow cannot abort it and a killed holder's statement runs
    // to its end, slowing every test beside it. Long enough for the longest wait on a live
    // holder (the PID-namespace lease test: about 5 s).
    slow: "WITH RECURSIVE c (x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) SELECT MAX(x) FROM c;\n",
    // DDL, which Snowflake never runs inside a transaction (it commits the open one first).
    outside_transaction: "ALTER TABLE t ADD COLUMN note VARCHAR(20);\nALTER TABLE t RENAME COLUMN note TO remark;\n",
    // Snowflake has no triggers: the file (written with the delimiter directive all the same)
    // creates `audit` and adds a row per user already there, so `audit` holds the one row the
    // suites expect after V1 (a trigger elsewhere adds it on V10's insert).
    trigger_with_delimiter: "-- jetbase: delimiter=//\n-- upgrade\nCREATE TABLE audit (id INTEGER, note VARCHAR(50))//\nINSERT INTO audit (id, note)\nSELECT id, 'user added' FROM users//\n-- rollback\nDROP TABLE audit//\n",
    session_lock: None,
    adapt: super::as_written,
    lock: super::ROW_LOCK,
    python_tool: true,
    // snowflake-sqlalchemy 1.11.1 takes `host`, `port` and `protocol` from the URL only with the
    // first; the second stops each login from probing cloud metadata addresses.
    python_env: &[
        ("SNOWFLAKE_SQLALCHEMY_LEGACY_URL_PARAMS", "true"),
        ("SNOWFLAKE_DISABLE_PLATFORM_DETECTION", "true"),
    ],
    // A run killed inside the lock's transaction leaves it open in its session (fakesnow never
    // ends it): the crash test kills inside files only.
    crash_kills: super::Kills::InsideFiles,
    short_lease: "1",
    patience: super::PATIENT,
    racers: 16,
    lease_tests_alone: false,
    orders_by_order_executed: false,
};

/// `snowflake://user:password@account/<name>/PUBLIC?...`: the database `name` (its schema
/// `PUBLIC`), the query string kept.
fn database_url(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_end = base
        .find("://")
        .map(|i| i + 3)
        .and_then(|start| base[start..].find('/').map(|j| start + j))
        .unwrap_or(base.len());
    let mut out = format!("{}/{name}/PUBLIC", &base[..authority_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// Where a `snowflake://` test URL points.
struct Target {
    addr: String,
    account: String,
    user: String,
    password: String,
    database: String,
    schema: String,
    warehouse: Option<String>,
}

fn target(url: &str) -> Target {
    let rest = url
        .strip_prefix("snowflake://")
        .expect("a snowflake:// URL");
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let param = |k: &str| {
        query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(key, _)| *key == k)
            .map(|(_, v)| v.to_owned())
    };
    assert_ne!(
        param("protocol").as_deref(),
        Some("https"),
        "the tests' Snowflake client speaks plain HTTP (the local test server)"
    );
    let (auth, path) = rest.rsplit_once('@').expect("user:password@account");
    let (user, password) = auth.split_once(':').unwrap_or((auth, ""));
    let (account, path) = path.split_once('/').unwrap_or((path, ""));
    let (database, schema) = path.split_once('/').unwrap_or((path, "PUBLIC"));
    Target {
        addr: format!(
            "{}:{}",
            param("host").expect("host= (the local test server)"),
            param("port").unwrap_or_else(|| "80".into())
        ),
        account: account.split('.').next().unwrap().to_ascii_uppercase(),
        user: user.to_owned(),
        password: password.to_owned(),
        database: database.to_owned(),
        schema: schema.to_owned(),
        warehouse: param("warehouse"),
    }
}

/// One HTTP/1.1 request on a fresh connection: the status and the body.
fn post(addr: &str, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap_or_else(|e| panic!("{addr}: {e}"));
    // Long enough for `slow`; no test waits on one through this client.
    s.set_read_timeout(Some(Duration::from_secs(300))).unwrap();
    let auth = token.map_or_else(String::new, |t| {
        format!("Authorization: Snowflake Token=\"{t}\"\r\n")
    });
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nAccept: application/snowflake\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, body.to_owned())
}

/// A session token for `url`: one login per URL and test thread. A session runs one request at
/// a time (fakesnow refuses a second with "connection is busy", where Snowflake would queue it),
/// so tests running side by side never share one.
fn token(url: &str, fresh: bool) -> String {
    thread_local! {
        static TOKENS: RefCell<HashMap<String, String>> = RefCell::default();
    }
    if !fresh && let Some(t) = TOKENS.with_borrow(|tokens| tokens.get(url).cloned()) {
        return t;
    }
    let token = login(url);
    TOKENS.with_borrow_mut(|tokens| tokens.insert(url.to_owned(), token.clone()));
    token
}

/// A new session at `url`: its token.
fn login(url: &str) -> String {
    let t = target(url);
    let mut path = format!(
        "/session/v1/login-request?databaseName={}&schemaName={}",
        t.database, t.schema
    );
    if let Some(w) = &t.warehouse {
        path.push_str(&format!("&warehouse={w}"));
    }
    let body = serde_json::json!({"data": {
        "ACCOUNT_NAME": t.account,
        "LOGIN_NAME": t.user,
        "PASSWORD": t.password,
        "SESSION_PARAMETERS": {},
    }});
    let (status, answer) = post(&t.addr, &path, None, &body.to_string());
    let v: serde_json::Value = serde_json::from_str(&answer)
        .unwrap_or_else(|_| panic!("login to {url}: HTTP {status}: {answer}"));
    v["data"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("login to {url}: HTTP {status}: {answer}"))
        .to_owned()
}

/// A session of its own (not the shared one of its URL), for a transaction left open, as a
/// killed client leaves it: rolled back and ended when dropped.
pub struct Session {
    addr: String,
    token: String,
}

impl Session {
    pub fn open(url: &str) -> Session {
        Session {
            addr: target(url).addr,
            token: login(url),
        }
    }

    /// Runs `sql` in this session; panics on an error.
    pub fn exec(&self, sql: &str) {
        let body = serde_json::json!({"sqlText": sql, "asyncExec": false});
        let (status, answer) = post(
            &self.addr,
            "/queries/v1/query-request",
            Some(&self.token),
            &body.to_string(),
        );
        let ok = serde_json::from_str::<serde_json::Value>(&answer)
            .is_ok_and(|v| status == 200 && v["success"] == true);
        assert!(ok, "{sql}: HTTP {status}: {answer}");
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let rollback = serde_json::json!({"sqlText": "ROLLBACK"}).to_string();
        let _ = post(
            &self.addr,
            "/queries/v1/query-request",
            Some(&self.token),
            &rollback,
        );
        let _ = post(&self.addr, "/session?delete=true", Some(&self.token), "{}");
    }
}

/// The `data` of a successful answer to `sql` at `url`. A write-write conflict (fakesnow
/// answers it with HTTP 500 where Snowflake would wait) is tried again.
fn run(url: &str, sql: &str) -> serde_json::Value {
    let addr = target(url).addr;
    let mut fresh = false;
    for attempt in 0.. {
        let body =
            serde_json::json!({"sqlText": sql, "sequenceId": attempt + 1, "asyncExec": false});
        let (status, answer) = post(
            &addr,
            "/queries/v1/query-request",
            Some(&token(url, fresh)),
            &body.to_string(),
        );
        if status == 401 && !fresh {
            fresh = true;
            continue;
        }
        if status >= 500 && attempt < 20 {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(&answer)
            .unwrap_or_else(|_| panic!("{sql}: HTTP {status}: {answer}"));
        assert!(
            status == 200 && v["success"] == true,
            "{sql}: HTTP {status}: {} {}",
            v["code"],
            v["message"]
        );
        return v["data"].clone();
    }
    unreachable!()
}

fn exec(url: &str, sql: &str) {
    run(url, sql);
}

fn query(url: &str, sql: &str) -> Vec<Vec<String>> {
    let data = run(url, sql);
    if let Some(b64) = data["rowsetBase64"].as_str() {
        if b64.is_empty() {
            return Vec::new();
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        return arrow_rows(&bytes, sql);
    }
    // DML: a JSON rowset of strings.
    data["rowset"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|r| {
                    r.as_array()
                        .unwrap()
                        .iter()
                        .map(|c| c.as_str().map_or_else(|| "NULL".to_owned(), str::to_owned))
                        .collect()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Every row of an Arrow IPC stream as text ("NULL" for null, booleans as 1 and 0).
/// Timestamps are not read (fakesnow's NULL TIMESTAMP_NTZ breaks arrow's strict reader):
/// select them cast to text.
fn arrow_rows(bytes: &[u8], sql: &str) -> Vec<Vec<String>> {
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{
        Decimal128Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
    };
    use arrow_schema::DataType;
    let reader = arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes), None)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.unwrap_or_else(|e| {
            panic!("{sql}: {e} (select timestamps cast to text: fakesnow writes a NULL one in a way arrow refuses)")
        });
        for r in 0..batch.num_rows() {
            rows.push(
                batch
                    .columns()
                    .iter()
                    .map(|col| {
                        if col.is_null(r) {
                            return "NULL".to_owned();
                        }
                        match col.data_type() {
                            DataType::Boolean => {
                                if col.as_boolean().value(r) { "1" } else { "0" }.to_owned()
                            }
                            DataType::Int8 => col.as_primitive::<Int8Type>().value(r).to_string(),
                            DataType::Int16 => col.as_primitive::<Int16Type>().value(r).to_string(),
                            DataType::Int32 => col.as_primitive::<Int32Type>().value(r).to_string(),
                            DataType::Int64 => col.as_primitive::<Int64Type>().value(r).to_string(),
                            DataType::Float64 => {
                                col.as_primitive::<Float64Type>().value(r).to_string()
                            }
                            DataType::Decimal128(_, s) => {
                                decimal(col.as_primitive::<Decimal128Type>().value(r), *s)
                            }
                            DataType::Utf8 => col.as_string::<i32>().value(r).to_owned(),
                            DataType::LargeUtf8 => col.as_string::<i64>().value(r).to_owned(),
                            other => panic!("{sql}: a {other} column (cast it to text)"),
                        }
                    })
                    .collect(),
            );
        }
    }
    rows
}

/// A scaled integer as decimal text (`12345`, scale 2: `123.45`).
fn decimal(v: i128, scale: i8) -> String {
    let Ok(scale) = u32::try_from(scale) else {
        return v.to_string();
    };
    if scale == 0 {
        return v.to_string();
    }
    let unit = 10i128.pow(scale);
    let sign = if v < 0 { "-" } else { "" };
    let (int, frac) = (v.abs() / unit, v.abs() % unit);
    format!("{sign}{int}.{frac:0width$}", width = scale as usize)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_project_database_is_the_path_and_the_query_string_stays() {
        assert_eq!(
            super::database_url(
                "snowflake://migrator:secret@fakeacct/DB1/PUBLIC?warehouse=WH&host=127.0.0.1&port=9&protocol=http",
                "jb_1"
            ),
            "snowflake://migrator:secret@fakeacct/jb_1/PUBLIC?warehouse=WH&host=127.0.0.1&port=9&protocol=http"
        );
        assert_eq!(
            super::database_url("snowflake://u:p@acct", "d"),
            "snowflake://u:p@acct/d/PUBLIC"
        );
    }

    #[test]
    fn scaled_numbers_read_as_decimals() {
        assert_eq!(super::decimal(12345, 2), "123.45");
        assert_eq!(super::decimal(-5, 2), "-0.05");
        assert_eq!(super::decimal(7, 0), "7");
    }
}
