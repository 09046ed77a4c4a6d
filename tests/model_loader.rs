//! Tests of the model loader of `jetbase make-migrations` (`src/schema/loader.py`): the script
//! runs here exactly as jetbase runs it, `python -c <script> <args-json>`, on the small model
//! projects under `tests/fixtures/models/loader/`, and the tests check what it reports: the
//! tables, constraints and indexes SQLAlchemy sees, the DDL of `create_all()` per dialect (and
//! that SQLite's runs), and errors pointing at the right file and line.
//!
//! The interpreter is `JETBASE_TEST_PYTHON`, else `.venv-py/bin/python` (scripts/test.sh makes
//! it, with SQLAlchemy 2.0); without it, or without SQLAlchemy in it, the tests skip, and fail
//! under `CI`. `JETBASE_TEST_PYTHON_SA14` names a Python with SQLAlchemy 1.4
//! (scripts/venv-sa14.sh makes one; scripts/test.sh sets it) for the run of the same checks on
//! 1.4; unset, that test skips, and fails under `CI`.

use std::path::{Path, PathBuf};
use std::process::Command;

use rusqlite::Connection;
use serde_json::{Value, json};

/// The script, as the jetbase binary embeds it.
const LOADER: &str = include_str!("../src/schema/loader.py");

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models/loader")
}

/// A fixture path as a string (the loader takes absolute paths).
fn fixture(rel: &str) -> String {
    fixtures().join(rel).to_string_lossy().into_owned()
}

fn skip(what: &str, how: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set but {what}: {how}"
    );
    eprintln!("skipping: {what}");
}

/// A Python interpreter with SQLAlchemy, and the SQLAlchemy version it has.
struct Python {
    exe: PathBuf,
    sqlalchemy: String,
}

/// What SQLAlchemy `exe` has, or why it cannot say.
fn sqlalchemy_version(exe: &Path) -> Result<String, String> {
    let out = Command::new(exe)
        .args(["-c", "import sqlalchemy; print(sqlalchemy.__version__)"])
        .output()
        .map_err(|e| format!("{} does not run: {e}", exe.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} has no SQLAlchemy: {}",
            exe.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The test interpreter (SQLAlchemy 2.x as scripts/test.sh installs it, or any 1.4+).
fn python() -> Option<Python> {
    let exe = std::env::var_os("JETBASE_TEST_PYTHON").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-py/bin/python"),
        PathBuf::from,
    );
    match sqlalchemy_version(&exe) {
        Ok(sqlalchemy) => Some(Python { exe, sqlalchemy }),
        Err(why) => {
            skip(
                &why,
                "run scripts/test.sh, or set JETBASE_TEST_PYTHON to a Python with SQLAlchemy",
            );
            None
        }
    }
}

/// One run of the loader: its JSON and what it wrote to stderr.
struct Loaded {
    json: Value,
    stderr: String,
}

impl Python {
    fn is_14(&self) -> bool {
        self.sqlalchemy.starts_with("1.")
    }

    /// The loader on `paths` (relative to the fixtures) for `dialect`, from `project`.
    fn load(&self, project: &str, paths: &[&str], dialect: &str) -> Loaded {
        let paths: Vec<String> = paths.iter().map(|p| fixture(p)).collect();
        self.run(
            &[],
            &json!({"paths": paths, "dialect": dialect, "project_dir": fixture(project)}),
        )
    }

    fn run(&self, python_args: &[&str], args: &Value) -> Loaded {
        let out = Command::new(&self.exe)
            .args(python_args)
            .arg("-c")
            .arg(LOADER)
            .arg(args.to_string())
            .current_dir(fixtures())
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .output()
            .expect("run python");
        let stdout = String::from_utf8(out.stdout).expect("utf-8 stdout");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            out.status.success(),
            "the loader failed ({}): {stderr}",
            out.status
        );
        // One JSON object on one line, nothing else.
        assert_eq!(
            stdout.lines().count(),
            1,
            "stdout: {stdout}\nstderr: {stderr}"
        );
        let json: Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\nstderr: {stderr}"));
        Loaded { json, stderr }
    }

    /// The loader's report, which must not be an error.
    fn ok(&self, project: &str, paths: &[&str], dialect: &str) -> Value {
        let loaded = self.load(project, paths, dialect);
        assert!(
            loaded.json.get("error").is_none(),
            "{dialect}: {}\nstderr: {}",
            loaded.json,
            loaded.stderr
        );
        assert_eq!(loaded.json["dialect"], dialect);
        assert_eq!(loaded.json["sqlalchemy"], self.sqlalchemy.as_str());
        loaded.json
    }

    /// The loader's error: (message, file relative to the fixtures, line).
    fn error(
        &self,
        project: &str,
        paths: &[&str],
        dialect: &str,
    ) -> (String, Option<String>, Option<u64>) {
        let loaded = self.load(project, paths, dialect);
        error_of(&loaded.json)
    }
}

fn error_of(json: &Value) -> (String, Option<String>, Option<u64>) {
    let message = json["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error: {json}"))
        .to_owned();
    let root = fixtures();
    let file = json["file"].as_str().map(|f| {
        Path::new(f)
            .strip_prefix(&root)
            .unwrap_or_else(|_| panic!("{f} is not a fixture"))
            .to_string_lossy()
            .into_owned()
    });
    (message, file, json["line"].as_u64())
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|v| v.as_str().unwrap_or_else(|| panic!("not a string: {v}")))
        .collect()
}

fn ddl(report: &Value) -> Vec<&str> {
    strings(&report["ddl"])
}

/// The index of the one statement that starts with `prefix`.
fn statement(report: &Value, prefix: &str) -> usize {
    let found: Vec<usize> = ddl(report)
        .iter()
        .enumerate()
        .filter(|(_, s)| s.starts_with(prefix))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(found.len(), 1, "{prefix}: {:#?}", ddl(report));
    found[0]
}

fn table<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no table {name}: {}", report["tables"]))
}

fn column<'a>(table: &'a Value, name: &str) -> &'a Value {
    table["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no column {name}: {}", table["columns"]))
}

fn table_names(report: &Value) -> Vec<&str> {
    report["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .map(|t| t["name"].as_str().expect("name"))
        .collect()
}

/// The SQLite DDL, run statement by statement in a fresh in-memory database (with the given
/// schemas attached), foreign keys enforced.
fn sqlite_with(report: &Value, schemas: &[&str]) -> Connection {
    let conn = Connection::open_in_memory().expect("sqlite");
    conn.execute_batch("PRAGMA foreign_keys = ON")
        .expect("pragma");
    for schema in schemas {
        conn.execute_batch(&format!("ATTACH DATABASE ':memory:' AS {schema}"))
            .expect("attach");
    }
    for stmt in ddl(report) {
        conn.execute_batch(stmt)
            .unwrap_or_else(|e| panic!("{e}: {stmt}"));
    }
    conn
}

fn sqlite_tables(conn: &Connection) -> Vec<String> {
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .expect("prepare");
    stmt.query_map([], |r| r.get(0))
        .expect("query")
        .map(Result::unwrap)
        .collect()
}

fn count(conn: &Connection, table: &str) -> i64 {
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .expect("count")
}

// ---------------------------------------------------------------------------------------------
// The checks, one per fixture; the SQLAlchemy 1.4 test runs them all but the first.

/// SQLAlchemy 2.x: DeclarativeBase, Mapped[] and mapped_column.
fn check_declarative_2x(py: &Python) {
    check_declarative_2x_sqlite(py);
    check_declarative_2x_servers(py);
}

/// The 2.x models for SQLite: what the loader reports, and the DDL run.
fn check_declarative_2x_sqlite(py: &Python) {
    let r = py.ok("declarative_v2", &["declarative_v2/models.py"], "sqlite");
    assert_eq!(strings(&r["modules"]), ["models"]);
    assert_eq!(
        r["metadata"],
        json!([{"found_in": "models.Base", "tables": ["posts", "users"]}])
    );
    // Post comes first in the file; create_all still creates users first.
    let users = statement(&r, "CREATE TABLE users ");
    let posts = statement(&r, "CREATE TABLE posts ");
    assert!(users < posts, "{:#?}", ddl(&r));
    assert!(statement(&r, "CREATE INDEX ix_lower_email ON users (lower(email))") < posts);
    assert!(
        statement(
            &r,
            "CREATE INDEX ix_posts_author_created ON posts (author_id, created_at)"
        ) > posts
    );
    assert!(
        ddl(&r)
            .iter()
            .all(|s| !s.ends_with(';') && s.trim_end() == *s)
    );

    let users_t = table(&r, "users");
    assert_eq!(users_t["module"], "models");
    assert_eq!(
        users_t["primary_key"],
        json!({"name": null, "columns": ["id"]})
    );
    assert_eq!(
        users_t["uniques"],
        json!([{"name": null, "columns": ["email"]}])
    );
    assert_eq!(
        users_t["indexes"],
        json!([
            {"name": "ix_lower_email", "unique": false, "expressions": ["lower(email)"]},
            {"name": "ix_users_name", "unique": false, "expressions": ["name"]},
        ])
    );
    let id = column(users_t, "id");
    assert_eq!(id["type"], "INTEGER");
    assert_eq!(id["nullable"], false);
    assert_eq!(id["primary_key"], true);
    assert_eq!(id["autoincrement"], "auto");
    assert_eq!(column(users_t, "email")["type"], "VARCHAR(255)");
    assert_eq!(column(users_t, "name")["nullable"], true);
    assert_eq!(
        column(users_t, "created_at")["server_default"],
        "CURRENT_TIMESTAMP"
    );
    assert_eq!(column(users_t, "login_count")["server_default"], "0");
    assert_eq!(column(users_t, "mood")["server_default"], "'ok'");
    assert_eq!(column(users_t, "mood")["type"], "VARCHAR(5)");
    let updated = column(users_t, "updated_at");
    assert_eq!(updated["python_default"], true);
    assert_eq!(updated["server_default"], Value::Null);
    assert_eq!(
        r["warnings"],
        json!(["users.updated_at has a Python-side default only; the database gets no DEFAULT"])
    );

    let posts_t = table(&r, "posts");
    assert_eq!(
        posts_t["foreign_keys"],
        json!([{"name": null, "columns": ["author_id"], "ref_schema": null, "ref_table": "users",
                "ref_columns": ["id"], "ondelete": "CASCADE", "onupdate": null}])
    );
    assert_eq!(
        posts_t["checks"],
        json!([{"name": "ck_posts_price_positive", "sqltext": "price > 0"}])
    );
    assert_eq!(
        posts_t["uniques"],
        json!([{"name": "uq_posts_author_slug", "columns": ["author_id", "slug"]}])
    );
    assert_eq!(r["enums"], json!([]));

    // The SQLite DDL runs, and does what the models say.
    let db = sqlite_with(&r, &[]);
    assert_eq!(sqlite_tables(&db), ["posts", "users"]);
    db.execute_batch(
        "INSERT INTO users (email) VALUES ('a@example.com');
         INSERT INTO posts (author_id, slug, price) VALUES (1, 'hello', 5);",
    )
    .expect("insert");
    let (mood, logins): (String, i64) = db
        .query_row("SELECT mood, login_count FROM users", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .expect("defaults");
    assert_eq!((mood.as_str(), logins), ("ok", 0));
    assert!(
        db.execute_batch("INSERT INTO posts (author_id, slug, price) VALUES (1, 'free', 0)")
            .is_err()
    );
    db.execute_batch("DELETE FROM users").expect("delete");
    assert_eq!(count(&db, "posts"), 0, "ON DELETE CASCADE");
}

/// The same models for PostgreSQL and MySQL.
fn check_declarative_2x_servers(py: &Python) {
    // PostgreSQL: the enum is a type of its own, created first; SERIAL keys; now().
    let pg = py.ok(
        "declarative_v2",
        &["declarative_v2/models.py"],
        "postgresql",
    );
    assert_eq!(
        ddl(&pg)[0],
        "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')"
    );
    assert_eq!(
        pg["enums"],
        json!([{"name": "mood", "schema": null, "values": ["sad", "ok", "happy"]}])
    );
    let users_pg = ddl(&pg)[statement(&pg, "CREATE TABLE users ")];
    assert!(users_pg.contains("\tid SERIAL NOT NULL"), "{users_pg}");
    assert!(
        users_pg.contains("\tmood mood DEFAULT 'ok' NOT NULL"),
        "{users_pg}"
    );
    assert!(users_pg.contains("DEFAULT now()"), "{users_pg}");
    assert_eq!(column(table(&pg, "users"), "mood")["type"], "mood");
    assert_eq!(
        column(table(&pg, "users"), "created_at")["type"],
        "TIMESTAMP WITHOUT TIME ZONE"
    );
    assert!(statement(&pg, "CREATE TABLE users ") < statement(&pg, "CREATE TABLE posts "));

    // MySQL: inline ENUM, AUTO_INCREMENT, a functional index in double parentheses.
    for dialect in ["mysql", "mariadb"] {
        let my = py.ok("declarative_v2", &["declarative_v2/models.py"], dialect);
        assert_eq!(my["enums"], json!([]));
        let users_my = ddl(&my)[statement(&my, "CREATE TABLE users ")];
        assert!(
            users_my.contains("\tid INTEGER NOT NULL AUTO_INCREMENT"),
            "{users_my}"
        );
        assert!(
            users_my.contains("\tmood ENUM('sad','ok','happy') NOT NULL DEFAULT 'ok'"),
            "{users_my}"
        );
        statement(&my, "CREATE INDEX ix_lower_email ON users ((lower(email)))");
        assert!(!ddl(&my).iter().any(|s| s.starts_with("CREATE TYPE")));
    }
}

/// declarative_base() with Column(): server defaults, a computed column, CHECK, UNIQUE, a
/// functional index, ON DELETE CASCADE.
fn check_declarative_base(py: &Python) {
    let r = py.ok(
        "declarative_base",
        &["declarative_base/models.py"],
        "sqlite",
    );
    assert_eq!(
        r["metadata"],
        json!([{"found_in": "models.Base", "tables": ["authors", "books"]}])
    );
    assert_eq!(
        strings(&r["files"]),
        [fixture("declarative_base/models.py")]
    );
    assert!(statement(&r, "CREATE TABLE authors ") < statement(&r, "CREATE TABLE books "));
    let authors = table(&r, "authors");
    assert_eq!(
        column(authors, "created_at")["server_default"],
        "CURRENT_TIMESTAMP"
    );
    assert_eq!(
        authors["indexes"],
        json!([{"name": "ix_lower_email", "unique": false, "expressions": ["lower(email)"]}])
    );
    assert_eq!(
        authors["checks"],
        json!([{"name": "ck_authors_email_at", "sqltext": "email LIKE '%@%'"}])
    );
    let books = table(&r, "books");
    assert_eq!(column(books, "stock")["server_default"], "0");
    assert_eq!(column(books, "price")["type"], "NUMERIC(10, 2)");
    assert_eq!(column(books, "value")["computed"], "price * stock");
    assert_eq!(column(books, "title")["computed"], Value::Null);
    assert_eq!(books["foreign_keys"][0]["ondelete"], "CASCADE");
    assert_eq!(books["foreign_keys"][0]["ref_table"], "authors");
    assert_eq!(
        books["checks"],
        json!([{"name": "ck_books_price_positive", "sqltext": "price > 0"}])
    );
    assert_eq!(
        books["uniques"],
        json!([{"name": null, "columns": ["author_id", "title"]}])
    );
    assert_eq!(r["warnings"], json!([]));

    let db = sqlite_with(&r, &[]);
    db.execute_batch(
        "INSERT INTO authors (email) VALUES ('a@example.com');
         INSERT INTO books (author_id, title, price, stock) VALUES (1, 'T', 2.5, 4);",
    )
    .expect("insert");
    let value: f64 = db
        .query_row("SELECT value FROM books", [], |r| r.get(0))
        .expect("computed");
    assert!((value - 10.0).abs() < 1e-9, "{value}");
    assert!(
        db.execute_batch("INSERT INTO books (author_id, title, price) VALUES (1, 'T', 3)")
            .is_err(),
        "UNIQUE"
    );
    assert!(
        db.execute_batch("INSERT INTO authors (email) VALUES ('nobody')")
            .is_err(),
        "CHECK"
    );
    db.execute_batch("DELETE FROM authors").expect("delete");
    assert_eq!(count(&db, "books"), 0);

    let pg = py.ok(
        "declarative_base",
        &["declarative_base/models.py"],
        "postgresql",
    );
    let books_pg = ddl(&pg)[statement(&pg, "CREATE TABLE books ")];
    assert!(
        books_pg.contains("\tvalue NUMERIC(12, 2) GENERATED ALWAYS AS (price * stock) STORED"),
        "{books_pg}"
    );
    assert!(books_pg.contains("\tid SERIAL NOT NULL"), "{books_pg}");
    let my = py.ok("declarative_base", &["declarative_base/models.py"], "mysql");
    let authors_my = ddl(&my)[statement(&my, "CREATE TABLE authors ")];
    assert!(
        authors_my.contains("\tcreated_at DATETIME NOT NULL DEFAULT now()"),
        "{authors_my}"
    );
    assert_ne!(ddl(&pg), ddl(&r));
    assert_ne!(ddl(&my), ddl(&pg));
    // A % stays single (psycopg2's and mysqlclient's paramstyles would double it).
    for d in [&pg, &my] {
        let authors = ddl(d)[statement(d, "CREATE TABLE authors ")];
        assert!(
            authors.contains("CONSTRAINT ck_authors_email_at CHECK (email LIKE '%@%')"),
            "{authors}"
        );
        assert_eq!(
            table(d, "authors")["checks"][0]["sqltext"],
            "email LIKE '%@%'"
        );
    }
}

/// registry() + @registry.mapped, with a model named Registry.
fn check_registry_mapped(py: &Python) {
    let r = py.ok("registry_mapped", &["registry_mapped/models.py"], "sqlite");
    assert_eq!(
        r["metadata"],
        json!([{"found_in": "models.mapper_registry", "tables": ["registries", "entries"]}])
    );
    let entries = table(&r, "entries");
    assert_eq!(entries["foreign_keys"][0]["ondelete"], "SET NULL");
    assert_eq!(entries["foreign_keys"][0]["ref_table"], "registries");
    assert_eq!(
        entries["indexes"],
        json!([{"name": "ix_entries_key", "unique": false, "expressions": ["key"]}])
    );
    assert!(statement(&r, "CREATE TABLE registries ") < statement(&r, "CREATE TABLE entries "));
    statement(&r, "CREATE INDEX ix_entries_key ON entries (\"key\")");
    let db = sqlite_with(&r, &[]);
    db.execute_batch(
        "INSERT INTO registries (name) VALUES ('r');
         INSERT INTO entries (registry_id, \"key\") VALUES (1, 'k');
         DELETE FROM registries;",
    )
    .expect("set null");
    let registry_id: Option<i64> = db
        .query_row("SELECT registry_id FROM entries", [], |r| r.get(0))
        .expect("entry");
    assert_eq!(registry_id, None);
}

/// Table() on a plain MetaData, two tables referencing each other (one FK with use_alter).
fn check_imperative_fk_cycle(py: &Python) {
    let alter = "ALTER TABLE departments ADD CONSTRAINT fk_departments_manager FOREIGN KEY(manager_id) REFERENCES employees (id)";
    let r = py.ok("imperative", &["imperative/tables.py"], "sqlite");
    assert_eq!(strings(&r["modules"]), ["tables"]);
    assert_eq!(
        r["metadata"],
        json!([{"found_in": "tables.metadata", "tables": ["departments", "employees"]}])
    );
    // SQLite has no ALTER TABLE ADD CONSTRAINT: the cycle's FK stays inline.
    assert_eq!(ddl(&r).len(), 2, "{:#?}", ddl(&r));
    let departments = ddl(&r)[statement(&r, "CREATE TABLE departments ")];
    assert!(
        departments.contains(
            "CONSTRAINT fk_departments_manager FOREIGN KEY(manager_id) REFERENCES employees (id)"
        ),
        "{departments}"
    );
    assert!(statement(&r, "CREATE TABLE departments ") < statement(&r, "CREATE TABLE employees "));
    let employees = table(&r, "employees");
    assert_eq!(employees["module"], "tables");
    assert_eq!(employees["foreign_keys"][0]["ondelete"], "CASCADE");
    assert_eq!(
        column(employees, "hired_at")["server_default"],
        "CURRENT_TIMESTAMP"
    );
    assert_eq!(
        table(&r, "departments")["foreign_keys"],
        json!([{"name": "fk_departments_manager", "columns": ["manager_id"], "ref_schema": null,
                "ref_table": "employees", "ref_columns": ["id"], "ondelete": null, "onupdate": null}])
    );
    assert_eq!(
        sqlite_tables(&sqlite_with(&r, &[])),
        ["departments", "employees"]
    );

    // PostgreSQL and MySQL: both tables, then the cycle's FK by ALTER TABLE.
    for dialect in ["postgresql", "mysql"] {
        let d = py.ok("imperative", &["imperative/tables.py"], dialect);
        let statements = ddl(&d);
        assert_eq!(statements.len(), 3, "{statements:#?}");
        assert_eq!(statements[2], alter);
        assert!(statements[0].starts_with("CREATE TABLE departments "));
        assert!(!statements[0].contains("FOREIGN KEY"), "{}", statements[0]);
        assert!(statements[1].starts_with("CREATE TABLE employees "));
    }
}

/// Two MetaData objects (a declarative Base, a plain MetaData in a schema) in one folder;
/// test files, a tests/ folder and a hidden folder (each raising if imported) are skipped.
fn check_two_metadata(py: &Python) {
    let r = py.ok("two_metadata", &["two_metadata"], "sqlite");
    assert_eq!(strings(&r["modules"]), ["app_models", "audit"]);
    assert_eq!(
        r["metadata"],
        json!([
            {"found_in": "app_models.Base", "tables": ["members"]},
            {"found_in": "audit.audit_metadata", "tables": ["audit.events"]},
        ])
    );
    let events = table(&r, "events");
    assert_eq!(events["schema"], "audit");
    assert_eq!(events["module"], "audit");
    assert_eq!(
        r["warnings"],
        json!([
            "table events is in schema audit: SQLite has no schemas, only attached databases (the DDL names audit.events)"
        ])
    );
    statement(&r, "CREATE TABLE audit.events ");
    let db = sqlite_with(&r, &["audit"]);
    assert_eq!(sqlite_tables(&db), ["members"]);
    assert_eq!(count(&db, "audit.events"), 0);

    // PostgreSQL: both MetaData objects use the enum type `status`; it is created once.
    let pg = py.ok("two_metadata", &["two_metadata"], "postgresql");
    assert_eq!(
        pg["enums"],
        json!([{"name": "status", "schema": null, "values": ["active", "banned"]}])
    );
    let statements = ddl(&pg);
    assert_eq!(
        statements[0],
        "CREATE TYPE status AS ENUM ('active', 'banned')"
    );
    assert_eq!(
        statements
            .iter()
            .filter(|s| s.starts_with("CREATE TYPE"))
            .count(),
        1
    );
    assert!(statement(&pg, "CREATE TABLE members ") < statement(&pg, "CREATE TABLE audit.events "));
    statement(
        &pg,
        "CREATE INDEX ix_audit_events_kind ON audit.events (kind)",
    );
}

/// A package whose modules import each other relatively; a model named Account; a naming
/// convention. Given as a folder, as one file deep inside, and both at once.
fn check_package_relative(py: &Python) {
    let r = py.ok("package_relative", &["package_relative/shop"], "sqlite");
    assert_eq!(
        strings(&r["modules"]),
        [
            "shop",
            "shop.account",
            "shop.base",
            "shop.order",
            "shop.billing",
            "shop.billing.invoice"
        ]
    );
    assert_eq!(
        r["metadata"],
        json!([{"found_in": "shop.base.Base", "tables": ["accounts", "orders", "invoices"]}])
    );
    let accounts = table(&r, "accounts");
    assert_eq!(accounts["module"], "shop.account");
    assert_eq!(
        accounts["primary_key"],
        json!({"name": "pk_accounts", "columns": ["id"]})
    );
    assert_eq!(
        accounts["uniques"],
        json!([{"name": "uq_accounts_email", "columns": ["email"]}])
    );
    let orders = table(&r, "orders");
    assert_eq!(orders["module"], "shop.order");
    assert_eq!(
        orders["foreign_keys"][0]["name"],
        "fk_orders_account_id_accounts"
    );
    assert_eq!(orders["foreign_keys"][0]["ondelete"], "CASCADE");
    assert_eq!(
        orders["checks"],
        json!([{"name": "ck_orders_quantity_positive", "sqltext": "quantity > 0"}])
    );
    assert_eq!(
        orders["indexes"],
        json!([{"name": "ix_orders_account_id", "unique": false, "expressions": ["account_id"]}])
    );
    assert_eq!(table(&r, "invoices")["module"], "shop.billing.invoice");
    let order = statement(&r, "CREATE TABLE orders ");
    assert!(statement(&r, "CREATE TABLE accounts ") < order);
    assert!(order < statement(&r, "CREATE TABLE invoices "));
    sqlite_with(&r, &[]);

    // One file deep in the package: imported as shop.billing.invoice; its imports bring in
    // the other models of the same Base.
    let one = py.ok(
        "package_relative",
        &["package_relative/shop/billing/invoice.py"],
        "sqlite",
    );
    assert_eq!(strings(&one["modules"]), ["shop.billing.invoice"]);
    assert_eq!(table_names(&one), ["accounts", "orders", "invoices"]);

    // A file and its folder: each module once (shop.base raises if it runs twice).
    let both = py.ok(
        "package_relative",
        &["package_relative/shop/order.py", "package_relative/shop"],
        "postgresql",
    );
    assert_eq!(
        strings(&both["modules"]),
        [
            "shop.order",
            "shop",
            "shop.account",
            "shop.base",
            "shop.billing",
            "shop.billing.invoice"
        ]
    );
    assert_eq!(table_names(&both), ["accounts", "orders", "invoices"]);
}

/// No __init__.py: base.py is loaded as `base`, then models.py imports it as `app.base`; it
/// must not run twice (it raises if it does).
fn check_namespace_runs_once(py: &Python) {
    let r = py.ok("namespace", &["namespace/app"], "sqlite");
    assert_eq!(strings(&r["modules"]), ["base", "models"]);
    assert_eq!(
        r["metadata"],
        json!([{"found_in": "base.Base", "tables": ["settings", "items"]}])
    );
    assert_eq!(table(&r, "items")["module"], "models");
}

fn check_errors(py: &Python) {
    let (message, file, line) = py.error("syntax_error", &["syntax_error/models.py"], "sqlite");
    assert!(message.starts_with("SyntaxError: "), "{message}");
    assert_eq!(
        (file.as_deref(), line),
        (Some("syntax_error/models.py"), Some(5))
    );

    // The innermost frame in the project: the helper module the model imports.
    let (message, file, line) = py.error(
        "missing_module",
        &["missing_module/app/models.py"],
        "sqlite",
    );
    assert_eq!(
        message,
        "ModuleNotFoundError: No module named 'not_a_real_module_xyz'"
    );
    assert_eq!(
        (file.as_deref(), line),
        (Some("missing_module/app/helpers.py"), Some(4))
    );
    let (message, file, line) = py.error("missing_module", &["missing_module/plain.py"], "sqlite");
    assert_eq!(
        message,
        "ModuleNotFoundError: No module named 'sqlalchemy_utils_that_is_missing'"
    );
    assert_eq!(
        (file.as_deref(), line),
        (Some("missing_module/plain.py"), Some(2))
    );

    let (message, file, line) = py.error("empty", &["empty"], "sqlite");
    assert_eq!(
        message,
        format!("no SQLAlchemy tables found in {}", fixture("empty"))
    );
    assert_eq!((file, line), (None, None));

    let (message, file, line) = py.error("duplicate", &["duplicate"], "sqlite");
    assert_eq!(
        message,
        "table users is defined by two MetaData objects: first.first_metadata (module first) and second.Base (module second)"
    );
    assert_eq!(
        (file.as_deref(), line),
        (Some("duplicate/second.py"), Some(7))
    );

    // String() without a length: fine on SQLite, a compile error on MySQL, at the class.
    py.ok("mysql_varchar", &["mysql_varchar/models.py"], "sqlite");
    let (message, file, line) = py.error("mysql_varchar", &["mysql_varchar/models.py"], "mysql");
    assert!(message.starts_with("CompileError: "), "{message}");
    assert!(
        message.contains("'notes'") && message.contains("VARCHAR requires a length"),
        "{message}"
    );
    assert_eq!(
        (file.as_deref(), line),
        (Some("mysql_varchar/models.py"), Some(8))
    );

    let (message, file, _) = py.error("empty", &["empty/nothing_here.py"], "sqlite");
    assert_eq!(
        message,
        format!("model path not found: {}", fixture("empty/nothing_here.py"))
    );
    assert_eq!(file, None);
    let (message, _, _) = py.error("empty", &["empty"], "oracle");
    assert!(message.starts_with("unknown dialect 'oracle'"), "{message}");
}

/// What the models print (print(), sys.__stdout__, file descriptor 1) goes to stderr.
fn check_prints(py: &Python) {
    let loaded = py.load("prints", &["prints/models.py"], "sqlite");
    assert_eq!(table_names(&loaded.json), ["noisy"]);
    for line in [
        "hello from models",
        "{\"error\": \"not the loader speaking\"}",
        "written to sys.__stdout__",
        "written to file descriptor 1",
    ] {
        assert!(loaded.stderr.contains(line), "{line}: {}", loaded.stderr);
    }
}

// ---------------------------------------------------------------------------------------------

#[test]
fn declarative_2x_models() {
    let Some(py) = python() else { return };
    if py.is_14() {
        eprintln!("skipping: SQLAlchemy {} has no Mapped[]", py.sqlalchemy);
        return;
    }
    check_declarative_2x(&py);
}

#[test]
fn declarative_base_models() {
    if let Some(py) = python() {
        check_declarative_base(&py);
    }
}

#[test]
fn registry_mapped_models() {
    if let Some(py) = python() {
        check_registry_mapped(&py);
    }
}

#[test]
fn imperative_tables_with_fk_cycle() {
    if let Some(py) = python() {
        check_imperative_fk_cycle(&py);
    }
}

#[test]
fn two_metadata_objects_in_a_folder() {
    if let Some(py) = python() {
        check_two_metadata(&py);
    }
}

#[test]
fn package_with_relative_imports() {
    if let Some(py) = python() {
        check_package_relative(&py);
    }
}

#[test]
fn module_reachable_under_two_names_runs_once() {
    if let Some(py) = python() {
        check_namespace_runs_once(&py);
    }
}

#[test]
fn errors_name_file_and_line() {
    if let Some(py) = python() {
        check_errors(&py);
    }
}

#[test]
fn model_output_stays_out_of_the_json() {
    if let Some(py) = python() {
        check_prints(&py);
    }
}

/// An interpreter without SQLAlchemy (here: the same one without site-packages, `-S`).
#[test]
fn missing_sqlalchemy_is_reported() {
    let Some(py) = python() else { return };
    let args =
        json!({"paths": [fixture("empty")], "dialect": "sqlite", "project_dir": fixture("empty")});
    let (message, file, line) = error_of(&py.run(&["-S"], &args).json);
    assert!(
        message.starts_with("SQLAlchemy is not importable by "),
        "{message}"
    );
    assert!(message.contains("JETBASE_PYTHON"), "{message}");
    assert_eq!((file, line), (None, None));
}

/// The same checks on SQLAlchemy 1.4 (all but the Mapped[] models).
#[test]
fn sqlalchemy_14() {
    let Some(exe) = std::env::var_os("JETBASE_TEST_PYTHON_SA14") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "JETBASE_TEST_PYTHON_SA14 is required under CI (scripts/test.sh sets it)"
        );
        eprintln!("skipping: JETBASE_TEST_PYTHON_SA14 is not set (scripts/venv-sa14.sh makes one)");
        return;
    };
    let exe = PathBuf::from(exe);
    let sqlalchemy = sqlalchemy_version(&exe).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        sqlalchemy.starts_with("1.4."),
        "{} has SQLAlchemy {sqlalchemy}",
        exe.display()
    );
    let py = Python { exe, sqlalchemy };
    check_declarative_base(&py);
    check_registry_mapped(&py);
    check_imperative_fk_cycle(&py);
    check_two_metadata(&py);
    check_package_relative(&py);
    check_namespace_runs_once(&py);
    check_errors(&py);
    check_prints(&py);
}
