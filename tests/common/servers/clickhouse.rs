//! ClickHouse: the real Debian server 18.16 (`JETBASE_TEST_CLICKHOUSE_URL`, from
//! `scripts/servers/clickhouse.sh`), an old server without `DateTime64` or `mutations_sync`,
//! and the modern engine (`JETBASE_TEST_CHDB_URL`, from `scripts/servers/chdb.sh`: chdb
//! behind a small HTTP adapter). Both speak the HTTP interface; the tests reach them with a
//! few lines of plain HTTP over `std::net`, independent of the crate's driver.
//!
//! The suites' SQL is written for the other databases; [`adapt`] turns it into ClickHouse's
//! (an engine for every table, no inline `PRIMARY KEY`, mutations for `DELETE`).

use std::io::{Read, Write};

use super::{LockFixture, Server};

pub const CLICKHOUSE: Server = Server {
    name: "clickhouse",
    kind: jetbase::drivers::BackendKind::ClickHouse,
    env_var: Some("JETBASE_TEST_CLICKHOUSE_URL"),
    script: Some("clickhouse"),
    sqlalchemy_schemes: &[],
    database_url: super::database_in_path,
    create_database: |name| format!("CREATE DATABASE `{name}`"),
    drop_database: |name| format!("DROP DATABASE IF EXISTS `{name}`"),
    query_fn: query,
    exec_fn: exec,
    // No transactions at all.
    transactional_ddl: false,
    tables: "SELECT name FROM system.tables WHERE database = currentDatabase()",
    now: "now()",
    pause: "SELECT sleep(0.02);",
    // sleep() stops at 3 s a block: a minute in blocks of one row, idle on the server.
    slow: "SELECT sleepEachRow(0.5) FROM numbers(120) SETTINGS max_block_size = 1;\n",
    outside_transaction: "ALTER TABLE t ADD COLUMN note String;\nOPTIMIZE TABLE t;\n",
    // ClickHouse's "trigger": a materialized view writing to another table on each insert.
    trigger_with_delimiter: "-- jetbase: delimiter=//\n-- upgrade\nCREATE TABLE audit (id UInt64, note String) ENGINE = MergeTree() ORDER BY id//\nCREATE MATERIALIZED VIEW users_ai TO audit AS\nSELECT id, 'user added' AS note FROM users//\n-- rollback\nDROP TABLE users_ai//\nDROP TABLE audit//\n",
    session_lock: None,
    adapt,
    lock: CLAIMS,
    // Python Jetbase's history table needs DateTime64, which 18.16 lacks.
    python_tool: false,
    python_env: &[],
    crash_kills: super::Kills::AtRandom,
    short_lease: "1",
    patience: super::PATIENT,
    racers: 16,
    lease_tests_alone: false,
    orders_by_order_executed: true,
};

/// jetbase's claim tables (`jetbase::lock::claims`): the highest `jetbase_lock_claim_<n>`.
const CLAIMS: LockFixture = LockFixture {
    held: |p| {
        latest_claim(p).is_some_and(|name| {
            p.rows(&format!("SELECT count() FROM {name} WHERE kind = 'hold'")) == vec![vec!["1"]]
        })
    },
    hold_remote: |p, host| {
        let next = latest_claim(p).map_or(1, |n| epoch(&n) + 1);
        p.exec(&claim_sql(next, host, "now()"));
    },
    expire_remote: |p| {
        let name = latest_claim(p).expect("a claim");
        p.exec(&format!("DROP TABLE {name}"));
        p.exec(&claim_sql(epoch(&name), "elsewhere", "now() - 7200"));
    },
    hold_foreign: None,
};

fn epoch(name: &str) -> u64 {
    name.rsplit('_').next().unwrap().parse().unwrap()
}

/// The name of the highest claim table.
fn latest_claim(p: &crate::common::Project) -> Option<String> {
    p.rows(
        "SELECT name FROM system.tables WHERE database = currentDatabase() AND name LIKE 'jetbase_lock_claim_%'",
    )
    .into_iter()
    .map(|r| r[0].clone())
    .max_by_key(|n| epoch(n))
}

/// A claim held by jetbase pid 1 on `host` with an hour's lease, last seen at `at`.
fn claim_sql(epoch: u64, host: &str, at: &str) -> String {
    format!(
        "CREATE TABLE jetbase_lock_claim_{epoch} ENGINE = MergeTree() ORDER BY at AS \
         SELECT 'hold' AS kind, 'remote-1' AS process_id, '{host}' AS owner_host, \
         toInt64(1) AS owner_pid, toInt64(3600) AS ttl_seconds, {at} AS at"
    )
}

/// The modern engine (chdb 26.9 behind the project's adapter).
pub const CHDB: Server = Server {
    name: "chdb",
    env_var: Some("JETBASE_TEST_CHDB_URL"),
    script: Some("chdb"),
    python_tool: true,
    ..CLICKHOUSE
};

/// The suites' SQL in ClickHouse's terms: `CREATE TABLE name (...)` gets an engine (unless it
/// has one), inline `PRIMARY KEY` goes, `VARCHAR(n)` is `String`, `DELETE FROM t WHERE` and
/// `UPDATE t SET` become mutations, and views
/// are dropped as tables (18.16 has no `DROP VIEW`).
pub fn adapt(sql: &str) -> String {
    let mut sql = sql
        .replace(" PRIMARY KEY", "")
        .replace("DROP VIEW IF EXISTS", "DROP TABLE IF EXISTS");
    // 18.16's String takes no length.
    while let Some(i) = sql.find("VARCHAR(") {
        let end = sql[i..].find(')').map_or(sql.len(), |j| i + j + 1);
        sql.replace_range(i..end, "String");
    }
    let mut out = String::with_capacity(sql.len() + 64);
    let mut rest = sql.as_str();
    while let Some(i) = rest.find("CREATE TABLE ") {
        let Some(open) = rest[i..].find('(').map(|o| i + o) else {
            break;
        };
        // The column list's closing parenthesis.
        let mut depth = 0;
        let mut close = rest.len();
        for (j, c) in rest[open..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        close = open + j + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        out.push_str(&rest[..close]);
        if !rest[close..].trim_start().starts_with("ENGINE") {
            out.push_str(" ENGINE = MergeTree() ORDER BY tuple()");
        }
        rest = &rest[close..];
    }
    out.push_str(rest);
    // DELETE FROM t WHERE ... -> ALTER TABLE t DELETE WHERE ...
    let mut result = String::with_capacity(out.len());
    let mut rest = out.as_str();
    while let Some(i) = rest.find("DELETE FROM ") {
        result.push_str(&rest[..i]);
        let after = &rest[i + "DELETE FROM ".len()..];
        let name_end = after.find(' ').unwrap_or(after.len());
        result.push_str(&format!("ALTER TABLE {} DELETE", &after[..name_end]));
        rest = &after[name_end..];
    }
    result.push_str(rest);
    // UPDATE t SET ... -> ALTER TABLE t UPDATE ...
    let mut out = String::with_capacity(result.len());
    let mut rest = result.as_str();
    while let Some(i) = rest.find("UPDATE ") {
        let after = &rest[i + "UPDATE ".len()..];
        let name_end = after.find(' ').unwrap_or(after.len());
        if !after[name_end..].starts_with(" SET ") || rest[..i].ends_with("TABLE ") {
            out.push_str(&rest[..i + "UPDATE ".len()]);
            rest = after;
            continue;
        }
        out.push_str(&rest[..i]);
        out.push_str(&format!("ALTER TABLE {} UPDATE ", &after[..name_end]));
        rest = &after[name_end + " SET ".len()..];
    }
    out.push_str(rest);
    out
}

/// Where a `clickhouse://user:password@host:port/database` URL points.
struct Target {
    addr: String,
    host: String,
    user: String,
    password: String,
    database: String,
}

fn target(url: &str) -> Target {
    let rest = url.split_once("://").expect("a URL").1;
    let rest = rest.split('?').next().unwrap();
    let (auth, hostpath) = rest.rsplit_once('@').unwrap_or(("default:", rest));
    let (user, password) = auth.split_once(':').unwrap_or((auth, ""));
    let (addr, database) = hostpath.split_once('/').unwrap_or((hostpath, "default"));
    Target {
        host: addr.split(':').next().unwrap().to_owned(),
        addr: addr.to_owned(),
        user: user.to_owned(),
        password: password.to_owned(),
        database: if database.is_empty() {
            "default".into()
        } else {
            database.to_owned()
        },
    }
}

/// POST `sql` to the server of `url`: the body of a 200 answer, or the error text.
pub fn post(url: &str, sql: &str) -> Result<String, String> {
    let t = target(url);
    let mut s = std::net::TcpStream::connect(&t.addr).map_err(|e| e.to_string())?;
    let req = format!(
        "POST /?database={} HTTP/1.0\r\nHost: {}\r\nX-ClickHouse-User: {}\r\nX-ClickHouse-Key: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{sql}",
        t.database,
        t.host,
        t.user,
        t.password,
        sql.len()
    );
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    let status = head.split_whitespace().nth(1).unwrap_or("0");
    if status == "200" {
        Ok(body)
    } else {
        Err(format!("HTTP {status}: {body}"))
    }
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.split(';').next().unwrap().trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

fn exec(url: &str, sql: &str) {
    if let Err(e) = post(url, sql) {
        panic!("{sql}: {e}");
    }
}

fn query(url: &str, sql: &str) -> Vec<Vec<String>> {
    let body =
        post(url, &format!("{sql}\nFORMAT JSONCompact")).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|c| match c {
                    serde_json::Value::Null => "NULL".to_owned(),
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Bool(b) => if *b { "1" } else { "0" }.to_owned(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn adapt_gives_tables_an_engine_and_deletes_a_mutation() {
        assert_eq!(
            super::adapt("CREATE TABLE t (id INTEGER PRIMARY KEY);\nDELETE FROM t WHERE id < 0;\n"),
            "CREATE TABLE t (id INTEGER) ENGINE = MergeTree() ORDER BY tuple();\nALTER TABLE t DELETE WHERE id < 0;\n"
        );
        assert_eq!(
            super::adapt("CREATE TABLE u ( id INTEGER, e VARCHAR(255) )\nINSERT INTO u VALUES (1)"),
            "CREATE TABLE u ( id INTEGER, e String ) ENGINE = MergeTree() ORDER BY tuple()\nINSERT INTO u VALUES (1)"
        );
        assert_eq!(
            super::adapt("UPDATE users SET email = 'ra' WHERE id = 1;"),
            "ALTER TABLE users UPDATE email = 'ra' WHERE id = 1;"
        );
        let engine = "CREATE TABLE a (id UInt64) ENGINE = Log;";
        assert_eq!(super::adapt(engine), engine);
    }
}
