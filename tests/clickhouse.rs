//! ClickHouse's connection end to end, on the Debian 18.16 server of
//! `scripts/servers/clickhouse.sh`: TLS through rustls on its HTTPS port
//! (`JETBASE_TEST_CLICKHOUSE_TLS_URL`, with the throwaway CA the script makes), every URL
//! spelling that turns TLS on, the certificate check without the CA, wrong passwords over
//! HTTP and HTTPS (named, never printed), the native protocol's URL refused as bad
//! configuration, and the `DB_TYPE`/`DB_HOST`/... variables. And the claim lock
//! (`jetbase::lock::claims`) hammered in one process on both servers.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{CHDB, CLICKHOUSE, Project, Run, Server};
use jetbase::backend::{self, ConnectSpec, OpenMode};
use jetbase::lock::{self, Acquire, Owner};
use jetbase::url::DatabaseUrl;

const TLS_VAR: &str = "JETBASE_TEST_CLICKHOUSE_TLS_URL";
const TLS_HOW: &str = "scripts/servers/clickhouse.sh exports it (openssl makes the CA)";

/// A password no message may show; the server accepts only its own.
const WRONG: &str = "Jb-Wr0ng-7qZx";

/// A ClickHouse table and its rollback.
const V1: &str =
    "CREATE TABLE t (id UInt64) ENGINE = MergeTree() ORDER BY id;\n-- rollback\nDROP TABLE t;\n";

/// The pieces of the test server's URLs, for the project's own database.
struct Ch {
    user: String,
    password: String,
    /// `127.0.0.1:port` of the HTTP interface.
    http: String,
    /// The project's database.
    db: String,
}

impl Ch {
    /// From the project's URL, `clickhouse://user:password@host:port/db`.
    fn of(p: &Project) -> Ch {
        let rest = p.url.split_once("://").unwrap().1;
        let (userinfo, rest) = rest.rsplit_once('@').unwrap();
        let (user, password) = userinfo.split_once(':').unwrap();
        let (http, db) = rest.split_once('/').unwrap();
        Ch {
            user: user.to_owned(),
            password: password.to_owned(),
            http: http.to_owned(),
            db: db.to_owned(),
        }
    }

    fn http_url(&self, password: &str) -> String {
        format!(
            "clickhouse://{}:{password}@{}/{}",
            self.user, self.http, self.db
        )
    }
}

/// The HTTPS port and the CA file, from `JETBASE_TEST_CLICKHOUSE_TLS_URL`
/// (`clickhouse+https://user:password@localhost:port/default?ca_cert=/dir/ca.pem`).
struct Tls {
    port: String,
    ca: String,
}

#[track_caller]
fn tls() -> Option<Tls> {
    let url = common::required_env(TLS_VAR, TLS_HOW)?;
    let (base, query) = url
        .split_once('?')
        .unwrap_or_else(|| panic!("{TLS_VAR} has no ?ca_cert="));
    let ca = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("ca_cert="))
        .unwrap_or_else(|| panic!("{TLS_VAR} has no ?ca_cert="));
    let hostport = base.rsplit_once('@').unwrap().1.split_once('/').unwrap().0;
    Some(Tls {
        port: hostport.rsplit_once(':').unwrap().1.to_owned(),
        ca: ca.to_owned(),
    })
}

/// A project on a fresh database of the ClickHouse server, and its HTTPS port; `None` after
/// [`common::skip`] when either variable is unset.
#[track_caller]
fn tls_project() -> Option<(Project, Ch, Tls)> {
    let p = Project::on(&CLICKHOUSE)?;
    let t = tls()?;
    let ch = Ch::of(&p);
    Some((p, ch, t))
}

fn use_url(p: &Project, url: &str) {
    std::fs::write(
        p.dir().join("env.py"),
        format!("sqlalchemy_url = \"{url}\"\n"),
    )
    .unwrap();
}

/// Neither stream shows `secret`.
#[track_caller]
fn assert_hidden(r: &Run, secret: &str) {
    assert!(
        !r.stdout.contains(secret) && !r.stderr.contains(secret),
        "the password shows\n--- stdout\n{}\n--- stderr\n{}",
        r.stdout,
        r.stderr
    );
}

/// `status --json`: the applied versions and how many are pending.
fn status(p: &Project) -> (Vec<String>, usize) {
    let j = p.run(&["status", "--json"]).expect(0).json();
    let applied = j["applied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["version"].as_str().unwrap().to_owned())
        .collect();
    (applied, j["pending"].as_array().unwrap().len())
}

#[test]
fn tls_upgrade_and_status_with_the_ca_in_every_spelling() {
    let Some((p, ch, tls)) = tls_project() else {
        return;
    };
    let (user, pw, db, port, ca) = (&ch.user, &ch.password, &ch.db, &tls.port, &tls.ca);
    p.write("V1__t.sql", V1);
    // The certificate names both localhost and 127.0.0.1 (a DNS name and an IP address).
    for url in [
        format!("clickhouse+https://{user}:{pw}@localhost:{port}/{db}?ca_cert={ca}"),
        format!("clickhouse://{user}:{pw}@127.0.0.1:{port}/{db}?secure=true&ca_cert={ca}"),
        format!("clickhouse+http://{user}:{pw}@localhost:{port}/{db}?protocol=https&ca_cert={ca}"),
    ] {
        use_url(&p, &url);
        assert_eq!(status(&p), (vec![], 1), "{url}");
        p.run(&["upgrade"]).expect(0);
        assert_eq!(status(&p), (vec!["1".to_owned()], 0), "{url}");
        // What it wrote, read over plain HTTP.
        assert_eq!(p.versions(), vec!["1"], "{url}");
        assert!(p.table_exists("t"), "{url}");
        p.run(&["rollback"]).expect(0);
        assert!(!p.table_exists("t"), "{url}");
    }
    // The HTTPS port speaks only TLS: the same URL without it cannot connect.
    use_url(
        &p,
        &format!("clickhouse://{user}:{pw}@127.0.0.1:{port}/{db}"),
    );
    let r = p.run(&["status"]).expect(5);
    assert_hidden(&r, pw);
}

#[test]
fn tls_without_the_ca_fails_on_the_certificate() {
    let Some((p, ch, tls)) = tls_project() else {
        return;
    };
    // Without ca_cert, only the webpki roots are trusted: the test CA is not among them.
    // The password is never sent (the handshake fails first) and never shown.
    for (url, json) in [
        (
            format!(
                "clickhouse+https://{}:{WRONG}@localhost:{}/{}",
                ch.user, tls.port, ch.db
            ),
            false,
        ),
        (
            format!(
                "clickhouse://{}:{WRONG}@127.0.0.1:{}/{}?secure=true",
                ch.user, tls.port, ch.db
            ),
            true,
        ),
    ] {
        use_url(&p, &url);
        let r = if json {
            p.run(&["status", "--json"])
        } else {
            p.run(&["status"])
        }
        .expect(5);
        assert_hidden(&r, WRONG);
        assert!(
            r.stderr.contains("invalid peer certificate") && r.stderr.contains("UnknownIssuer"),
            "{}",
            r.stderr
        );
        if json {
            let j = r.json();
            assert_eq!(j["exit_code"], 5);
            assert!(j["error"].as_str().unwrap().contains("certificate"), "{j}");
        }
    }
    assert!(!p.table_exists("jetbase_migrations"));
}

/// A wrong password at `url`: exit 5, the server's code and our hint, the password nowhere,
/// with and without `--json`.
#[track_caller]
fn assert_wrong_password(p: &Project, url: &str) {
    use_url(p, url);
    for args in [
        &["status"][..],
        &["upgrade", "--json"],
        &["status", "--json"],
    ] {
        let r = p.run(args).expect(5);
        assert_hidden(&r, WRONG);
        // 18.16 says 193 (wrong password); newer servers 516 (authentication failed).
        let named = |s: &str| {
            (s.contains("Code: 193") || s.contains("Code: 516"))
                && s.contains("check the user and password")
        };
        assert!(named(&r.stderr), "{args:?} {url}\n{}", r.stderr);
        if args.contains(&"--json") {
            let j = r.json();
            assert_eq!(j["exit_code"], 5);
            assert!(named(j["error"].as_str().unwrap()), "{j}");
        }
    }
}

#[test]
fn wrong_password_over_http_is_named_and_never_printed() {
    let Some(p) = Project::on(&CLICKHOUSE) else {
        return;
    };
    p.write("V1__t.sql", V1);
    let ch = Ch::of(&p);
    assert_wrong_password(&p, &ch.http_url(WRONG));
    assert!(!p.table_exists("t"));
}

#[test]
fn wrong_password_over_https_is_named_and_never_printed() {
    let Some((p, ch, tls)) = tls_project() else {
        return;
    };
    p.write("V1__t.sql", V1);
    assert_wrong_password(
        &p,
        &format!(
            "clickhouse+https://{}:{WRONG}@localhost:{}/{}?ca_cert={}",
            ch.user, tls.port, ch.db, tls.ca
        ),
    );
    assert!(!p.table_exists("t"));
}

#[test]
fn native_protocol_urls_are_bad_configuration_naming_port_8123() {
    // Refused before any connection: no server needed.
    let p = Project::bare();
    std::fs::create_dir_all(p.migrations()).unwrap();
    for (url, says) in [
        (
            format!("clickhouse+native://migrator:{WRONG}@127.0.0.1:9000/default"),
            "8123",
        ),
        (
            format!("clickhouse+asynch://migrator:{WRONG}@127.0.0.1:9000/default"),
            "8123",
        ),
        (
            format!("clickhouse+https://migrator:{WRONG}@127.0.0.1:8443/default?verify=false"),
            "ca_cert",
        ),
    ] {
        use_url(&p, &url);
        let r = p.run(&["status"]).expect(1);
        assert_hidden(&r, WRONG);
        assert!(r.stderr.contains(says), "{url}\n{}", r.stderr);
        // The example URL in the message keeps its placeholders.
        if says == "8123" {
            assert!(
                r.stderr.contains("native protocol")
                    && r.stderr
                        .contains("clickhouse://user:password@host:8123/database"),
                "{}",
                r.stderr
            );
        }
        let r = p.run(&["status", "--json"]).expect(1);
        assert_hidden(&r, WRONG);
        let j = r.json();
        assert_eq!(j["exit_code"], 1);
        assert!(j["error"].as_str().unwrap().contains(says), "{j}");
        assert!(j["hint"].as_str().unwrap().contains("URL"), "{j}");
    }
}

#[test]
fn db_type_variables_connect_to_the_server() {
    let Some(p) = Project::on(&CLICKHOUSE) else {
        return;
    };
    // No URL in the project: the DB_* variables name the database.
    std::fs::remove_file(p.dir().join("env.py")).unwrap();
    p.write("V1__t.sql", V1);
    let ch = Ch::of(&p);
    let (host, port) = ch.http.rsplit_once(':').unwrap();
    let env = [
        ("DB_TYPE", "clickhouse"),
        ("DB_HOST", host),
        ("DB_PORT", port),
        ("DB_NAME", ch.db.as_str()),
        ("DB_USER", ch.user.as_str()),
        ("DB_PASS", ch.password.as_str()),
    ];
    let config = p.run_in(&p.dir(), &["config", "--json"], &env).expect(0);
    assert!(
        config.stdout.contains(&format!(
            "clickhouse://{}:***@{}/{}",
            ch.user, ch.http, ch.db
        )),
        "{}",
        config.stdout
    );
    assert_hidden(&config, &ch.password);
    p.run_in(&p.dir(), &["upgrade"], &env).expect(0);
    assert_eq!(p.versions(), vec!["1"]);
    assert!(p.table_exists("t"));
    let j = p
        .run_in(&p.dir(), &["status", "--json"], &env)
        .expect(0)
        .json();
    assert_eq!(j["applied"][0]["version"], "1");
    // A wrong DB_PASS: named, never printed.
    let mut bad = env;
    bad[5] = ("DB_PASS", WRONG);
    let r = p.run_in(&p.dir(), &["status"], &bad).expect(5);
    assert_hidden(&r, WRONG);
    assert!(
        r.stderr.contains("check the user and password"),
        "{}",
        r.stderr
    );
}

/// Many holders taking and releasing the claim lock in turn, each on its own connection:
/// never two inside at once, and no error. Claims are dropped below each new one while
/// slower processes still create, read and write the old epochs they saw: each of those
/// must count as "lost the race", not fail (CI once saw `Code: 60. Table
/// ...jetbase_lock_claim_14 doesn't exist` from a racer whose `CREATE TABLE ... AS SELECT`
/// had its table dropped under it).
fn claims_hammered(server: &'static Server) {
    const HOLDERS: usize = 8;
    const ROUNDS: usize = 15;
    let Some(p) = Project::on(server) else {
        return;
    };
    let url = p.sqlx_url();
    let root = p.root().to_path_buf();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let inside = Arc::new(AtomicUsize::new(0));
    let errors: Vec<String> = rt.block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..HOLDERS {
            let (url, root, inside) = (url.clone(), root.clone(), inside.clone());
            tasks.push(tokio::spawn(async move {
                let spec = ConnectSpec::new(DatabaseUrl::parse(&url).unwrap(), &root);
                let mut db = backend::connect(&spec, OpenMode::ReadWrite)
                    .await
                    .map_err(|e| e.to_string())?;
                let owner = Owner::new();
                for _ in 0..ROUNDS {
                    let token = loop {
                        match lock::try_acquire(db.as_mut(), &owner, 60).await {
                            Ok(Acquire::Held(token)) => break token,
                            Ok(Acquire::Busy(_)) => {
                                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                            }
                            Err(e) => return Err(format!("acquire: {e}")),
                        }
                    };
                    if inside.fetch_add(1, Ordering::SeqCst) != 0 {
                        return Err("two holders at once".to_owned());
                    }
                    match lock::heartbeat(db.as_mut(), &token).await {
                        Ok(true) => {}
                        Ok(false) => return Err(format!("{token} was taken over")),
                        Err(e) => return Err(format!("heartbeat: {e}")),
                    }
                    inside.fetch_sub(1, Ordering::SeqCst);
                    lock::release(db.as_mut(), &token)
                        .await
                        .map_err(|e| format!("release: {e}"))?;
                }
                db.close().await;
                Ok::<(), String>(())
            }));
        }
        let mut errors = Vec::new();
        for t in tasks {
            if let Err(e) = t.await.unwrap() {
                errors.push(e);
            }
        }
        errors
    });
    assert!(errors.is_empty(), "{errors:#?}");
    let status = p.run(&["lock-status", "--json"]).expect(0).json();
    assert_eq!(status["is_locked"], false, "{status}");
}

#[test]
fn claims_hammered_by_holders_in_turn_never_fail_or_overlap_clickhouse() {
    claims_hammered(&CLICKHOUSE);
}

#[test]
fn claims_hammered_by_holders_in_turn_never_fail_or_overlap_chdb() {
    claims_hammered(&CHDB);
}
