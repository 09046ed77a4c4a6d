//! Snowflake's login end to end, against the emulator of `scripts/servers/snowflake.sh`
//! (`JETBASE_TEST_SNOWFLAKE_URL`): fakesnow accepts any credentials, so the script puts
//! `snowflake_front.py` before it, which checks the password and verifies a key-pair JWT's
//! signature against the registered public key (`JETBASE_TEST_SNOWFLAKE_KEYS` holds the key
//! files the script made: `rsa_key.p8`, the same key encrypted as `rsa_key_enc.p8` with the
//! password in `rsa_key_password`, and `other_key.p8`, whose public half is not registered).
//! Proven here: password login, key-pair login with a plain and an encrypted PKCS#8 key, a
//! wrong password and an unregistered key refused by the verifier, a bad key or key password
//! refused before any request, and neither a password nor a key ever printed.

mod common;

use std::path::PathBuf;

use common::{Project, Run};

const HOW: &str = "scripts/test.sh starts one with scripts/servers/snowflake.sh";

/// The emulator's URL (its database replaced by a fresh one of the test's) and key folder.
struct Sf {
    /// `snowflake://migrator:secret@fakeacct/<DB>/PUBLIC?...`
    url: String,
    keys: PathBuf,
}

fn sf() -> Option<Sf> {
    let url = common::required_env("JETBASE_TEST_SNOWFLAKE_URL", HOW)?;
    let keys = common::required_env("JETBASE_TEST_SNOWFLAKE_KEYS", HOW)?;
    // A database of the test's own: the emulator creates the one a login names.
    let (head, rest) = url.split_once('@').unwrap();
    let (_account_db, query) = rest.split_once('?').unwrap();
    let account = rest.split('/').next().unwrap();
    let db = format!(
        "JB_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    Some(Sf {
        url: format!("{head}@{account}/{db}/PUBLIC?{query}"),
        keys: PathBuf::from(keys),
    })
}

impl Sf {
    /// The URL with `password` (none: key-pair login).
    fn with_password(&self, password: Option<&str>) -> String {
        let (scheme, rest) = self.url.split_once("://").unwrap();
        let (userinfo, rest) = rest.split_once('@').unwrap();
        let user = userinfo.split(':').next().unwrap();
        match password {
            Some(p) => format!("{scheme}://{user}:{p}@{rest}"),
            None => format!("{scheme}://{user}@{rest}"),
        }
    }

    fn key(&self, name: &str) -> String {
        std::fs::read_to_string(self.keys.join(name)).unwrap()
    }
}

/// A project whose env.py names `url`, with one migration.
fn project(url: &str) -> Project {
    let p = Project::bare();
    std::fs::create_dir_all(p.migrations()).unwrap();
    std::fs::write(
        p.dir().join("env.py"),
        format!("sqlalchemy_url = \"{url}\"\n"),
    )
    .unwrap();
    p.write(
        "V1__t.sql",
        "CREATE TABLE t (id INTEGER);\n-- rollback\nDROP TABLE t;\n",
    );
    p
}

/// Neither `secret` nor any line of the test's keys appears in the run's output.
#[track_caller]
fn shows_no_secret(r: &Run, secret: &str, sf: &Sf) {
    for out in [&r.stdout, &r.stderr] {
        assert!(!out.contains(secret), "{out}");
        for key in ["rsa_key.p8", "rsa_key_enc.p8", "other_key.p8"] {
            for line in sf.key(key).lines().filter(|l| !l.starts_with("-----")) {
                assert!(!out.contains(line), "a line of {key} was printed: {out}");
            }
        }
    }
}

#[test]
fn password_login_works_and_a_wrong_password_is_refused_unprinted() {
    let Some(sf) = sf() else { return };
    let p = project(&sf.url);
    p.run(&["upgrade"]).expect(0);
    assert_eq!(
        p.run(&["current"]).expect(0).stdout,
        "Latest migration version: 1\n"
    );
    let wrong = "Sf-Wr0ng-9xQ";
    let q = project(&sf.with_password(Some(wrong)));
    for json in [false, true] {
        let args: &[&str] = if json {
            &["--json", "status"]
        } else {
            &["status"]
        };
        let r = q.run(args).expect(5);
        shows_no_secret(&r, wrong, &sf);
        let all = format!("{}{}", r.stdout, r.stderr);
        assert!(
            all.contains("Incorrect username or password was specified."),
            "{all}"
        );
        assert!(all.contains("check the user and password"), "{all}");
    }
}

#[test]
fn key_pair_login_with_plain_and_encrypted_keys() {
    let Some(sf) = sf() else { return };
    let p = project(&sf.with_password(None));
    let key = sf.key("rsa_key.p8");
    let r = p.run_in(
        &p.dir(),
        &["upgrade"],
        &[("JETBASE_SNOWFLAKE_PRIVATE_KEY", &key)],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    shows_no_secret(&r, "unused", &sf);
    let enc = sf.key("rsa_key_enc.p8");
    let pass = sf.key("rsa_key_password");
    let r = p.run_in(
        &p.dir(),
        &["current"],
        &[
            ("JETBASE_SNOWFLAKE_PRIVATE_KEY", &enc),
            ("JETBASE_SNOWFLAKE_PRIVATE_KEY_PASSWORD", pass.trim()),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "Latest migration version: 1\n");
    shows_no_secret(&r, pass.trim(), &sf);
    // env.py's keys work as the environment's do.
    std::fs::write(
        p.dir().join("env.py"),
        format!(
            "sqlalchemy_url = \"{}\"\nsnowflake_private_key = \"\"\"{}\"\"\"\nsnowflake_private_key_password = \"{}\"\n",
            sf.with_password(None),
            enc.trim(),
            pass.trim()
        ),
    )
    .unwrap();
    let r = p.run(&["current"]).expect(0);
    assert_eq!(r.stdout, "Latest migration version: 1\n");
    let r = p.run(&["config"]).expect(0);
    shows_no_secret(&r, pass.trim(), &sf);
}

#[test]
fn a_key_whose_public_half_is_not_registered_is_refused_by_the_verifier() {
    let Some(sf) = sf() else { return };
    let p = project(&sf.with_password(None));
    let other = sf.key("other_key.p8");
    let r = p.run_in(
        &p.dir(),
        &["status"],
        &[("JETBASE_SNOWFLAKE_PRIVATE_KEY", &other)],
    );
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(r.stderr.contains("JWT token is invalid."), "{}", r.stderr);
    assert!(r.stderr.contains("RSA_PUBLIC_KEY"), "{}", r.stderr);
    shows_no_secret(&r, "unused", &sf);
}

#[test]
fn bad_keys_and_key_passwords_fail_before_any_request() {
    let Some(sf) = sf() else { return };
    // A port nothing listens on: a request would fail as a connection error (exit 5),
    // so exit 1 with the key's message shows none was made.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = sf.with_password(None);
    let (before, after) = url.split_once("&port=").unwrap();
    let rest = after.split_once('&').map_or("", |(_, r)| r);
    let dead = format!("{before}&port={port}&{rest}");
    let p = project(&dead);
    let enc = sf.key("rsa_key_enc.p8");
    let wrong = "K3y-Wr0ng-77";
    for (env, says) in [
        (
            vec![
                ("JETBASE_SNOWFLAKE_PRIVATE_KEY", enc.as_str()),
                ("JETBASE_SNOWFLAKE_PRIVATE_KEY_PASSWORD", wrong),
            ],
            "could not be decrypted",
        ),
        (
            vec![("JETBASE_SNOWFLAKE_PRIVATE_KEY", enc.as_str())],
            "JETBASE_SNOWFLAKE_PRIVATE_KEY_PASSWORD",
        ),
        (
            vec![("JETBASE_SNOWFLAKE_PRIVATE_KEY", "not a key")],
            "JETBASE_SNOWFLAKE_PRIVATE_KEY",
        ),
        (vec![], "no private key is set"),
    ] {
        let r = p.run_in(&p.dir(), &["status"], &env);
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert!(r.stderr.contains(says), "{env:?}: {}", r.stderr);
        shows_no_secret(&r, wrong, &sf);
    }
}
