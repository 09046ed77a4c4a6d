use std::fs;

use super::envpy::read_literals;
use super::*;

fn project() -> (tempfile::TempDir, Project) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("jetbase");
    fs::create_dir_all(dir.join("migrations")).unwrap();
    let p = Project {
        migrations_dir: dir.join("migrations"),
        dir,
    };
    (tmp, p)
}

fn env(pairs: &[(&str, &str)]) -> EnvVars {
    let mut e: EnvVars = pairs
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
    if let Ok(path) = std::env::var("PATH") {
        e.insert("PATH".into(), path);
    }
    e
}

fn source_of(s: &Settings, key: &str) -> Source {
    s.entries.iter().find(|e| e.key == key).unwrap().source
}

#[test]
fn config_sources_apply_in_the_original_order() {
    let (_t, p) = project();
    let e = env(&[
        ("JETBASE_SQLALCHEMY_URL", "sqlite:///env.db"),
        ("DATABASE_URL", "sqlite:///du.db"),
    ]);
    fs::write(p.dir.join("../pyproject.toml"), "[tool.jetbase]\nsqlalchemy_url = \"sqlite:///py.db\"\npostgres_schema = \"py\"\nskip_validation = true\n").unwrap();
    let s = load(&p, &env(&[])).unwrap();
    assert_eq!(
        (s.url.database(), s.url_source),
        (Some("py.db"), Source::Pyproject)
    );
    assert!(s.skip_validation);
    fs::write(
        p.dir.join("jetbase.toml"),
        "sqlalchemy_url = \"sqlite:///toml.db\"\n",
    )
    .unwrap();
    let s = load(&p, &env(&[])).unwrap();
    assert_eq!(
        (s.url.database(), s.url_source),
        (Some("toml.db"), Source::JetbaseToml)
    );
    assert_eq!(s.postgres_schema.as_deref(), Some("py"));
    let s = load(&p, &e).unwrap();
    assert_eq!(
        (s.url.database(), s.url_source),
        (Some("env.db"), Source::Env)
    );
    fs::write(
        p.dir.join("env.py"),
        "sqlalchemy_url = 'sqlite:///envpy.db'\n",
    )
    .unwrap();
    let s = load(&p, &e).unwrap();
    assert_eq!(
        (s.url.database(), s.url_source),
        (Some("envpy.db"), Source::EnvPy)
    );
    assert_eq!(source_of(&s, "skip_validation"), Source::Pyproject);
}

#[test]
fn config_url_fallbacks_database_url_dotenv_parts_default() {
    let (_t, p) = project();
    let s = load(&p, &env(&[])).unwrap();
    assert_eq!(s.url_source, Source::Default);
    assert_eq!(
        s.url.sqlite_target(&p.dir),
        Some(crate::url::SqliteTarget::File(p.dir.join("jetbase.db")))
    );
    let s = load(
        &p,
        &env(&[
            ("DB_TYPE", "postgres"),
            ("DB_HOST", "db"),
            ("DB_USER", "app"),
            ("DB_PASS", "p@ss word"),
            ("DB_NAME", "shop"),
        ]),
    )
    .unwrap();
    assert_eq!(s.url_source, Source::DbParts);
    assert_eq!(s.url.to_string(), "postgresql://app:***@db:5432/shop");
    assert_eq!(s.url.password(), Some("p@ss word"));
    assert!(matches!(
        load(&p, &env(&[("DB_TYPE", "oracle")])),
        Err(ConfigError::DbType { .. })
    ));
    // `DB_PASSWORD`, which the pool always accepted (issue 10: one reading for both).
    let parts = env(&[
        ("DB_TYPE", "mysql"),
        ("DB_USER", "app"),
        ("DB_PASSWORD", "pw2"),
    ]);
    let s = load(&p, &parts).unwrap();
    assert_eq!(s.url.password(), Some("pw2"));
    assert_eq!(
        url_from_env(&parts).unwrap().unwrap().password(),
        Some("pw2")
    );
    fs::write(
        p.dir.join("../.env"),
        "# comment\nexport DATABASE_URL=\"mysql://u:pw@h/db\"\n",
    )
    .unwrap();
    let s = load(&p, &env(&[])).unwrap();
    assert_eq!(
        (s.url.kind, s.url_source),
        (BackendKind::MySql, Source::DotEnv)
    );
    let s = load(&p, &env(&[("DATABASE_URL", "sqlite:///real.db")])).unwrap();
    assert_eq!(
        (s.url.database(), s.url_source),
        (Some("real.db"), Source::DatabaseUrl)
    );
}

#[test]
fn config_booleans_must_be_booleans() {
    let (_t, p) = project();
    let s = load(
        &p,
        &env(&[
            ("JETBASE_SKIP_CHECKSUM_VALIDATION", "TRUE"),
            ("ASYNC", "true"),
        ]),
    )
    .unwrap();
    assert!(s.skip_checksum_validation && s.async_mode && !s.skip_validation);
    let err = load(&p, &env(&[("JETBASE_SKIP_VALIDATION", "yes")])).unwrap_err();
    assert!(
        err.to_string()
            .contains("skip_validation must be a boolean"),
        "{err}"
    );
    fs::write(p.dir.join("env.py"), "skip_file_validation = \"True\"\n").unwrap();
    let err = load(&p, &env(&[])).unwrap_err();
    assert!(err.to_string().contains("env.py"), "{err}");
    fs::remove_file(p.dir.join("env.py")).unwrap();
    // An empty variable is unset, as in the original.
    let s = load(&p, &env(&[("JETBASE_SKIP_VALIDATION", "")])).unwrap();
    assert!(!s.skip_validation);
}

#[test]
fn config_env_py_literals_are_read_without_python() {
    let text = "\"\"\"Jetbase config.\n\nMore.\n\"\"\"\n# comment\nsqlalchemy_url = \"postgresql://u:p@h/db\"  # trailing\npostgres_schema: str = 'app' 'x'\nskip_validation = True\nmodel_paths = ['app/models.py', \"b.py\"]\nsnowflake_private_key = None\ncount = 3\n";
    let m = read_literals(text).unwrap();
    assert_eq!(
        m["sqlalchemy_url"],
        Some(Val::Str("postgresql://u:p@h/db".into()))
    );
    assert_eq!(m["postgres_schema"], Some(Val::Str("appx".into())));
    assert_eq!(m["skip_validation"], Some(Val::Bool(true)));
    assert_eq!(
        m["model_paths"],
        Some(Val::List(vec!["app/models.py".into(), "b.py".into()]))
    );
    assert_eq!(m["snowflake_private_key"], None);
    assert_eq!(m["count"], Some(Val::Int(3)));
    for code in [
        "import os\nsqlalchemy_url = os.environ['X']\n",
        "sqlalchemy_url = f\"sqlite:///{x}\"\n",
        "def get_env_vars():\n    return {}\n",
        "x = 1 + 2\n",
        "if True:\n    x = 1\n",
    ] {
        assert!(read_literals(code).is_none(), "{code}");
    }
}

fn python_available() -> bool {
    std::process::Command::new("python3")
        .arg("-c")
        .arg("0")
        .output()
        .is_ok()
}

#[test]
fn config_env_py_code_is_evaluated_once_by_python() {
    if !python_available() {
        assert!(
            std::env::var_os("CI").is_none(),
            "python3 is required under CI"
        );
        return;
    }
    let (_t, p) = project();
    fs::write(
        p.dir.join("env.py"),
        "import os\nprint('noise on stdout')\nsqlalchemy_url = os.environ.get('APP_DB', 'sqlite:///fallback.db')\nskip_validation = False\n\ndef get_env_vars():\n    return {'skip_validation': True, 'postgres_schema': os.path.basename(os.getcwd())}\n",
    )
    .unwrap();
    let s = load(&p, &env(&[("APP_DB", "sqlite:///from_code.db")])).unwrap();
    assert_eq!(s.url.database(), Some("from_code.db"));
    assert!(
        s.skip_validation,
        "get_env_vars() wins over module variables"
    );
    assert_eq!(
        s.postgres_schema.as_deref(),
        Some("jetbase"),
        "env.py runs in the project folder"
    );
}

#[test]
fn config_env_py_failure_names_the_line_and_hides_passwords() {
    if !python_available() {
        assert!(
            std::env::var_os("CI").is_none(),
            "python3 is required under CI"
        );
        return;
    }
    let (_t, p) = project();
    fs::write(
        p.dir.join("env.py"),
        "import os\n\nurl = 'postgresql://app:hunter2@db/x'\nraise RuntimeError('cannot reach ' + url)\n",
    )
    .unwrap();
    let err = load(&p, &env(&[])).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("env.py:4"), "{text}");
    assert!(
        text.contains("RuntimeError") && !text.contains("hunter2"),
        "{text}"
    );
    let err = load(&p, &env(&[("JETBASE_PYTHON", "/nonexistent/python9")])).unwrap_err();
    assert!(matches!(err, ConfigError::PythonMissing { .. }), "{err}");
    assert!(err.hint().unwrap().contains("plain assignments"));
}

#[test]
fn config_discovery_walks_up_and_honours_dir() {
    let (t, p) = project();
    let root = t.path();
    let deep = root.join("src/a/b");
    fs::create_dir_all(&deep).unwrap();
    assert_eq!(discover(None, &deep).unwrap().dir, p.dir);
    assert_eq!(discover(None, root).unwrap().dir, p.dir);
    assert_eq!(discover(None, &p.dir).unwrap().dir, p.dir);
    assert_eq!(discover(None, &p.migrations_dir).unwrap().dir, p.dir);
    assert_eq!(discover(Some(root), Path::new("/")).unwrap().dir, p.dir);
    assert_eq!(
        discover(Some(Path::new("jetbase")), root).unwrap().dir,
        p.dir
    );
    assert!(matches!(
        discover(Some(&deep), root),
        Err(ConfigError::NotAProject { .. })
    ));
    let other = tempfile::tempdir().unwrap();
    assert!(matches!(
        discover(None, other.path()),
        Err(ConfigError::ProjectNotFound { .. })
    ));
}

#[test]
fn config_entries_mask_secrets() {
    let (_t, p) = project();
    fs::write(
        p.dir.join("jetbase.toml"),
        "sqlalchemy_url = \"postgresql://app:topsecret@h/db\"\nsnowflake_private_key = \"KEYDATA\"\nmodel_paths = \"a.py, b.py\"\n",
    )
    .unwrap();
    let s = load(&p, &env(&[])).unwrap();
    let shown = format!("{:?}", s.entries);
    assert!(
        !shown.contains("topsecret") && !shown.contains("KEYDATA"),
        "{shown}"
    );
    assert_eq!(s.model_paths, vec!["a.py", "b.py"]);
    let keys: Vec<&str> = s.entries.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(keys, KEYS);
}

#[test]
fn config_dotenv_parser_handles_quotes_and_comments() {
    let vars = dotenv::parse(
        "A=1\n export B = 'x y' \nC=\"q\\\"uote\\n\"\nD=plain # note\n#E=2\nbad line\n",
    );
    assert_eq!(
        vars,
        vec![
            ("A".into(), "1".into()),
            ("B".into(), "x y".into()),
            ("C".into(), "q\"uote\n".into()),
            ("D".into(), "plain".into()),
        ]
    );
}

/// Issue 9, defect 4: the error a source that names the URL but yields nothing gives, as text.
#[track_caller]
fn unset_url_error(p: &Project, e: &EnvVars, origin: Source) -> String {
    match load(p, e) {
        Err(err @ ConfigError::UrlUnset { origin: o, .. }) if o == origin => {
            format!("{err}\nhint: {}", err.hint().unwrap_or_default())
        }
        Err(err) => panic!("expected an unset-URL error from {origin:?}, got {err}"),
        Ok(s) => panic!(
            "expected an unset-URL error from {origin:?}, got {} from {:?}",
            s.url, s.url_source
        ),
    }
}

#[test]
fn resolve_url_env_py_none_literal_is_an_error_naming_the_line() {
    let (_t, p) = project();
    fs::write(
        p.dir.join("env.py"),
        "# settings\npostgres_schema = 'app'\nsqlalchemy_url = None  # was postgresql://app:hunter2@db/x\n",
    )
    .unwrap();
    // Never DATABASE_URL, DB_* or the embedded default in its place.
    let e = env(&[("DATABASE_URL", "sqlite:///du.db"), ("DB_TYPE", "sqlite")]);
    let text = unset_url_error(&p, &e, Source::EnvPy);
    assert!(text.contains("env.py:3") && text.contains("None"), "{text}");
    assert!(
        text.contains("give sqlalchemy_url a database URL"),
        "{text}"
    );
    assert!(!text.contains("hunter2"), "{text}");
}

#[test]
fn resolve_url_env_py_environ_get_of_unset_variable_is_an_error_naming_the_line() {
    if !python_available() {
        assert!(
            std::env::var_os("CI").is_none(),
            "python3 is required under CI"
        );
        return;
    }
    let (_t, p) = project();
    fs::write(
        p.dir.join("env.py"),
        "import os\n\nsqlalchemy_url = os.environ.get(\"PROD_URL\")\n",
    )
    .unwrap();
    let text = unset_url_error(&p, &env(&[]), Source::EnvPy);
    assert!(
        text.contains("env.py:3") && text.contains("None") && text.contains("PROD_URL"),
        "{text}"
    );
    assert!(text.contains("probably unset"), "{text}");
    // An empty secret is no better than a missing one.
    let text = unset_url_error(&p, &env(&[("PROD_URL", "")]), Source::EnvPy);
    assert!(
        text.contains("env.py:3") && text.contains("empty string"),
        "{text}"
    );
    let s = load(&p, &env(&[("PROD_URL", "sqlite:///prod.db")])).unwrap();
    assert_eq!(s.url.database(), Some("prod.db"));
}

#[test]
fn resolve_url_get_env_vars_none_is_an_error_naming_the_key_line() {
    if !python_available() {
        assert!(
            std::env::var_os("CI").is_none(),
            "python3 is required under CI"
        );
        return;
    }
    let (_t, p) = project();
    fs::write(
        p.dir.join("env.py"),
        "import os\n\n\ndef get_env_vars():\n    return {\n        \"postgres_schema\": \"app\",\n        \"sqlalchemy_url\": os.getenv(\"PROD_URL\"),\n    }\n",
    )
    .unwrap();
    let text = unset_url_error(&p, &env(&[]), Source::EnvPy);
    assert!(
        text.contains("env.py:7") && text.contains("get_env_vars()") && text.contains("None"),
        "{text}"
    );
}

#[test]
fn resolve_url_empty_jetbase_sqlalchemy_url_is_an_error_naming_the_variable() {
    let (_t, p) = project();
    let e = env(&[
        ("JETBASE_SQLALCHEMY_URL", ""),
        ("DATABASE_URL", "sqlite:///du.db"),
    ]);
    let text = unset_url_error(&p, &e, Source::Env);
    assert!(
        text.contains("JETBASE_SQLALCHEMY_URL") && text.contains("empty"),
        "{text}"
    );
    // Empty values of other keys still read as unset.
    let s = load(
        &p,
        &env(&[
            ("JETBASE_SQLALCHEMY_URL", "sqlite:///x.db"),
            ("JETBASE_POSTGRES_SCHEMA", ""),
        ]),
    )
    .unwrap();
    assert_eq!(s.postgres_schema, None);
}

#[test]
fn resolve_url_empty_toml_string_is_an_error_naming_the_file() {
    let (_t, p) = project();
    fs::write(
        p.dir.join("../pyproject.toml"),
        "[tool.jetbase]\nsqlalchemy_url = \"\"\n",
    )
    .unwrap();
    let text = unset_url_error(&p, &env(&[]), Source::Pyproject);
    assert!(
        text.contains("pyproject.toml") && text.contains("empty string"),
        "{text}"
    );
    fs::write(p.dir.join("jetbase.toml"), "sqlalchemy_url = \"\"\n").unwrap();
    let text = unset_url_error(&p, &env(&[]), Source::JetbaseToml);
    assert!(text.contains("jetbase.toml"), "{text}");
}

#[test]
fn resolve_url_empty_database_url_is_an_error_not_the_default() {
    let (_t, p) = project();
    let text = unset_url_error(
        &p,
        &env(&[("DATABASE_URL", ""), ("DB_TYPE", "sqlite")]),
        Source::DatabaseUrl,
    );
    assert!(
        text.contains("DATABASE_URL") && text.contains("empty"),
        "{text}"
    );
    fs::write(p.dir.join("../.env"), "DATABASE_URL=\n").unwrap();
    let text = unset_url_error(&p, &env(&[]), Source::DotEnv);
    assert!(text.contains(".env"), "{text}");
}

#[test]
fn resolve_url_later_source_wins_over_env_py_none() {
    let (_t, p) = project();
    fs::write(p.dir.join("env.py"), "sqlalchemy_url = None\n").unwrap();
    fs::write(
        p.dir.join("jetbase.toml"),
        "sqlalchemy_url = \"sqlite:///toml.db\"\n",
    )
    .unwrap();
    let s = load(&p, &env(&[])).unwrap();
    assert_eq!(
        (s.url.database(), s.url_source),
        (Some("toml.db"), Source::JetbaseToml)
    );
    let s = load(&p, &env(&[("JETBASE_SQLALCHEMY_URL", "sqlite:///env.db")])).unwrap();
    assert_eq!(
        (s.url.database(), s.url_source),
        (Some("env.db"), Source::Env)
    );
    // An empty one in between does not stop a later one either.
    fs::write(
        p.dir.join("../pyproject.toml"),
        "[tool.jetbase]\nsqlalchemy_url = \"sqlite:///py.db\"\n",
    )
    .unwrap();
    fs::write(p.dir.join("jetbase.toml"), "sqlalchemy_url = \"\"\n").unwrap();
    let s = load(&p, &env(&[("JETBASE_SQLALCHEMY_URL", "")])).unwrap();
    assert_eq!(
        (s.url.database(), s.url_source),
        (Some("py.db"), Source::Pyproject)
    );
}
