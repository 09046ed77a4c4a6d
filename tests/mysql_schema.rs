//! `make-migrations` on MySQL/MariaDB, against the real test server
//! (`JETBASE_TEST_MYSQL_URL`): the introspection reads one DDL the same way twice, and for
//! each kind of change the plan turns database A (`before`) into what database B (`after`)
//! reads as, keeps A's rows, and its rollback plan brings A back.
//! `SHOW_PLANS=1` prints the plans.

mod common;

use common::{MYSQL, Project};
use jetbase::backend::mysql::introspect;
use jetbase::backend::{self, ConnectSpec, OpenMode};
use jetbase::schema::Schema;
use jetbase::schema::diff::{Renames, compare};
use jetbase::schema::plan::{Plan, PlanOptions, Target, plan};
use jetbase::url::DatabaseUrl;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The project database's schema, read by the crate's own driver.
fn introspect(p: &Project) -> Schema {
    rt().block_on(async {
        let url = DatabaseUrl::parse(&p.sqlx_url()).unwrap();
        let mut db = backend::connect(&ConnectSpec::new(url, p.root()), OpenMode::ReadWrite)
            .await
            .unwrap();
        let s = introspect::schema(db.as_mut()).await.unwrap();
        db.close().await;
        s
    })
}

/// A `CREATE TABLE` as SQLAlchemy's MySQL dialect writes it.
fn table(name: &str, elements: &[&str]) -> String {
    format!("CREATE TABLE {name} (\n\t{}\n)", elements.join(", \n\t"))
}

/// The schema without the fields that hold the server's text of a statement, which an
/// altered table and a freshly created one spell differently: `SHOW CREATE TABLE` lists
/// keys and constraints in the order they were made (`create_sql`), and the column lines
/// (`definition`) and `CREATE INDEX` texts go with it. The names of the indexes MySQL makes
/// for foreign keys are left out too: it names one after the column in `CREATE TABLE`, and
/// replaces it with one named after the constraint when the key is added again by `ALTER
/// TABLE` (the comparison matches indexes by definition). Everything the comparison looks
/// at (columns, types, defaults, keys, constraints and their names, index definitions)
/// stays.
fn comparable(mut s: Schema) -> Schema {
    for t in s.tables.values_mut() {
        t.create_sql = None;
        for c in &mut t.columns {
            c.definition = None;
        }
        for i in &mut t.indexes {
            i.create_sql.clear();
            let backs_fk = t
                .foreign_keys
                .iter()
                .any(|f| i.definition == format!("({})", f.columns.join(", ")));
            if backs_fk {
                i.name.clear();
            }
        }
        t.indexes.sort_by(|a, b| a.definition.cmp(&b.definition));
    }
    s
}

fn run_plan(p: &Project, plan: &Plan) {
    for s in &plan.steps {
        p.exec(&s.sql);
    }
}

fn plan_for(from: &Schema, to: &Schema, renames: &Renames, destructive: bool) -> Plan {
    let (shaped, changes, _) = compare(from, to, renames).unwrap();
    assert!(!changes.is_empty(), "no change found");
    plan(
        Target::Mysql,
        &shaped,
        to,
        &changes,
        PlanOptions { destructive },
    )
    .unwrap()
}

/// One kind of change.
struct Case<'a> {
    before: &'a [&'a str],
    after: &'a [&'a str],
    /// Rows put in A before the upgrade.
    seed: &'a [&'a str],
    /// A query on A and its rows after the upgrade (and, where `back` is true, after the
    /// rollback too).
    rows: Option<(&'a str, &'a [&'a [&'a str]], bool)>,
    renames: Renames,
    /// A constraint the models name as one the database keeps already names (MySQL
    /// numbers unnamed ones by position): the plan lets the database name it, so only the
    /// comparison, which does not look at names, must find nothing left.
    names_may_differ: bool,
}

impl Case<'_> {
    fn new<'a>(before: &'a [&'a str], after: &'a [&'a str]) -> Case<'a> {
        Case {
            before,
            after,
            seed: &[],
            rows: None,
            renames: Renames::default(),
            names_may_differ: false,
        }
    }
}

fn expect_rows(p: &Project, query: &str, expected: &[&[&str]], when: &str) {
    let got = p.rows(query);
    let want: Vec<Vec<String>> = expected
        .iter()
        .map(|r| r.iter().map(|c| (*c).to_owned()).collect())
        .collect();
    assert_eq!(got, want, "rows of `{query}` {when}");
}

/// `before` on A, `after` on B; A planned into B, checked, then planned back.
fn round_trip(case: &Case) {
    let Some(a) = Project::on(&MYSQL) else { return };
    let Some(b) = Project::on(&MYSQL) else { return };
    for sql in case.before {
        a.exec(sql);
    }
    for sql in case.after {
        b.exec(sql);
    }
    for sql in case.seed {
        a.exec(sql);
    }
    let original = introspect(&a);
    let target = introspect(&b);
    let up = plan_for(&original, &target, &case.renames, true);
    if std::env::var_os("SHOW_PLANS").is_some() {
        eprintln!("--- up\n{up:#?}");
    }
    run_plan(&a, &up);
    let upgraded = introspect(&a);
    if !case.names_may_differ {
        assert_eq!(
            comparable(upgraded.clone()),
            comparable(target.clone()),
            "after the upgrade:\n{up:#?}"
        );
    }
    let (_, left, _) = compare(&upgraded, &target, &Renames::default()).unwrap();
    assert!(left.is_empty(), "changes left: {left:?}\n{up:#?}");
    if let Some((query, expected, _)) = case.rows {
        expect_rows(&a, query, expected, "after the upgrade");
    }
    let down = plan_for(&upgraded, &original, &case.renames.reversed(), true);
    if std::env::var_os("SHOW_PLANS").is_some() {
        eprintln!("--- down\n{down:#?}");
    }
    run_plan(&a, &down);
    let back = introspect(&a);
    if !case.names_may_differ {
        assert_eq!(
            comparable(back.clone()),
            comparable(original.clone()),
            "after the rollback:\n{down:#?}"
        );
    }
    let (_, left, _) = compare(&back, &original, &Renames::default()).unwrap();
    assert!(
        left.is_empty(),
        "changes left after the rollback: {left:?}\n{down:#?}"
    );
    if let Some((query, expected, true)) = case.rows {
        expect_rows(&a, query, expected, "after the rollback");
    }
}

const USERS_ID: &str = "id INTEGER NOT NULL AUTO_INCREMENT";
const USERS_EMAIL: &str = "email VARCHAR(255) NOT NULL";

fn users(extra: &[&str], constraints: &[&str]) -> String {
    let mut e = vec![USERS_ID, USERS_EMAIL];
    e.extend_from_slice(extra);
    e.push("PRIMARY KEY (id)");
    e.extend_from_slice(constraints);
    table("users", &e)
}

const SEED_USERS: &str = "INSERT INTO users (id, email) VALUES (1, 'a@x'), (2, 'b@x')";

#[test]
fn one_ddl_reads_the_same_in_two_databases() {
    let Some(a) = Project::on(&MYSQL) else { return };
    let Some(b) = Project::on(&MYSQL) else { return };
    let ddl = [
        users(
            &[
                "name VARCHAR(100) DEFAULT 'anon'",
                "note VARCHAR(100) DEFAULT 'it''s'",
                "active BOOL NOT NULL DEFAULT 1",
                "created DATETIME DEFAULT now()",
                "ts TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP",
                "score NUMERIC(10, 2) DEFAULT '1.5'",
                "meta JSON",
                "kind ENUM('a','b')",
                "age INTEGER CHECK (age < 200)",
                "twice INTEGER GENERATED ALWAYS AS (age * 2) STORED",
                "half INTEGER GENERATED ALWAYS AS (age / 2)",
            ],
            &["CONSTRAINT ck_score CHECK (score > 0)", "UNIQUE (email)"],
        ),
        "CREATE INDEX ix_users_name ON users (name)".to_owned(),
        table(
            "posts",
            &[
                "id INTEGER NOT NULL AUTO_INCREMENT",
                "user_id INTEGER NOT NULL",
                "title TEXT",
                "PRIMARY KEY (id)",
                "FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE",
            ],
        ),
        "CREATE INDEX ix_posts_title ON posts (title(20))".to_owned(),
    ];
    for sql in &ddl {
        a.exec(sql);
        b.exec(sql);
    }
    // Rows move AUTO_INCREMENT, which is not schema.
    a.exec(SEED_USERS);
    let (sa, sb) = (introspect(&a), introspect(&b));
    assert_eq!(sa, sb);
    assert_eq!(sa.order, ["users", "posts"]);
    let users = &sa.tables["users"];
    let col = |n: &str| users.column(n).unwrap();
    assert_eq!(col("id").data_type, "INT");
    assert!(col("id").identity);
    assert_eq!(col("active").data_type, "TINYINT(1)");
    assert_eq!(col("active").default.as_deref(), Some("1"));
    assert_eq!(col("name").default.as_deref(), Some("'anon'"));
    assert_eq!(col("note").default.as_deref(), Some("'it''s'"));
    assert_eq!(col("created").default.as_deref(), Some("CURRENT_TIMESTAMP"));
    assert_eq!(
        col("ts").default.as_deref(),
        Some("CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP")
    );
    assert_eq!(col("kind").default, None);
    assert_eq!(col("meta").data_type, "JSON");
    assert_eq!(col("twice").generated, Some(("age * 2".to_owned(), true)));
    assert_eq!(col("half").generated, Some(("age / 2".to_owned(), false)));
    let checks: Vec<&str> = users.checks.iter().map(|c| c.expression.as_str()).collect();
    // The JSON column's implicit CHECK is not one the DDL wrote.
    assert_eq!(checks, ["age < 200", "score > 0"]);
    assert_eq!(users.uniques.len(), 1);
    assert_eq!(users.uniques[0].columns, ["email"]);
    assert_eq!(users.indexes.len(), 1);
    assert_eq!(users.indexes[0].definition, "(name)");
    assert!(
        !users
            .create_sql
            .as_deref()
            .unwrap()
            .contains("AUTO_INCREMENT=")
    );
    let posts = &sa.tables["posts"];
    assert_eq!(posts.foreign_keys[0].on_delete, "CASCADE");
    assert_eq!(posts.foreign_keys[0].on_update, "NO ACTION");
    let defs: Vec<&str> = posts
        .indexes
        .iter()
        .map(|i| i.definition.as_str())
        .collect();
    assert_eq!(defs, ["(title(20))", "(user_id)"]);
}

#[test]
fn add_and_drop_columns() {
    let before = users(&["name VARCHAR(100)"], &["UNIQUE (email)"]);
    let after = users(
        &[
            "nickname VARCHAR(50) NOT NULL DEFAULT 'x'",
            "name VARCHAR(100)",
            "age INTEGER DEFAULT '0'",
            "meta JSON",
        ],
        &["UNIQUE (email)"],
    );
    round_trip(&Case {
        seed: &[SEED_USERS],
        rows: Some((
            "SELECT id, email FROM users ORDER BY id",
            &[&["1", "a@x"], &["2", "b@x"]],
            true,
        )),
        ..Case::new(&[&before], &[&after])
    });
    round_trip(&Case {
        seed: &[SEED_USERS],
        rows: Some((
            "SELECT id, email FROM users ORDER BY id",
            &[&["1", "a@x"], &["2", "b@x"]],
            true,
        )),
        ..Case::new(&[&after], &[&before])
    });
}

#[test]
fn column_type_default_and_nullability_changes() {
    let before = users(
        &[
            "name VARCHAR(100) DEFAULT 'anon'",
            "score INTEGER",
            "created DATETIME DEFAULT now()",
            "ts TIMESTAMP NULL",
            "age INTEGER CHECK (age < 200)",
        ],
        &[],
    );
    let after = users(
        &[
            "name VARCHAR(200) NOT NULL DEFAULT 'nobody'",
            "score BIGINT",
            "created DATETIME",
            "ts TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP",
            "age INTEGER CHECK (age < 150)",
        ],
        &[],
    );
    round_trip(&Case {
        seed: &["INSERT INTO users (id, email, name, score, age) VALUES (1, 'a@x', 'A', 7, 30)"],
        rows: Some((
            "SELECT id, email, name, score, age FROM users",
            &[&["1", "a@x", "A", "7", "30"]],
            true,
        )),
        ..Case::new(&[&before], &[&after])
    });
}

#[test]
fn primary_key_moves_off_an_auto_increment_column() {
    let before = table(
        "items",
        &[
            "id INTEGER NOT NULL AUTO_INCREMENT",
            "code VARCHAR(20) NOT NULL",
            "PRIMARY KEY (id)",
        ],
    );
    let after = table(
        "items",
        &[
            "id INTEGER NOT NULL",
            "code VARCHAR(20) NOT NULL",
            "PRIMARY KEY (code)",
        ],
    );
    let composite = table(
        "items",
        &[
            "id INTEGER NOT NULL AUTO_INCREMENT",
            "code VARCHAR(20) NOT NULL",
            "PRIMARY KEY (id, code)",
        ],
    );
    let rows: Option<(&str, &[&[&str]], bool)> = Some((
        "SELECT id, code FROM items ORDER BY id",
        &[&["1", "a"], &["2", "b"]],
        true,
    ));
    let seed: &[&str] = &["INSERT INTO items (id, code) VALUES (1, 'a'), (2, 'b')"];
    round_trip(&Case {
        seed,
        rows,
        ..Case::new(&[&before], &[&after])
    });
    round_trip(&Case {
        seed,
        rows,
        ..Case::new(&[&before], &[&composite])
    });
}

#[test]
fn unique_and_check_constraints_added_and_dropped() {
    let before = users(
        &["name VARCHAR(100)", "age INTEGER"],
        &["CHECK (age >= 0)", "UNIQUE (email)"],
    );
    let after = users(
        &["name VARCHAR(100)", "age INTEGER"],
        &[
            "CONSTRAINT ck_age CHECK (age < 150)",
            "CONSTRAINT uq_users_name UNIQUE (name)",
        ],
    );
    round_trip(&Case {
        seed: &[
            "INSERT INTO users (id, email, name, age) VALUES (1, 'a@x', 'A', 30), (2, 'b@x', 'B', 40)",
        ],
        rows: Some((
            "SELECT id, email, name, age FROM users ORDER BY id",
            &[&["1", "a@x", "A", "30"], &["2", "b@x", "B", "40"]],
            true,
        )),
        ..Case::new(&[&before], &[&after])
    });
}

fn posts(fk: Option<&str>, extra: &[&str]) -> String {
    let mut e = vec![
        "id INTEGER NOT NULL AUTO_INCREMENT",
        "user_id INTEGER",
        "title VARCHAR(200)",
    ];
    e.extend_from_slice(extra);
    e.push("PRIMARY KEY (id)");
    e.extend(fk);
    table("posts", &e)
}

const SEED_POSTS: &str = "INSERT INTO posts (id, user_id, title) VALUES (1, 1, 'p1'), (2, 2, 'p2')";

#[test]
fn foreign_keys_added_dropped_and_changed() {
    let plain = posts(None, &[]);
    let fk = posts(Some("FOREIGN KEY(user_id) REFERENCES users (id)"), &[]);
    let cascade = posts(
        Some("FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE"),
        &[],
    );
    let named = posts(
        Some(
            "CONSTRAINT fk_posts_user FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE SET NULL",
        ),
        &[],
    );
    let u = users(&[], &[]);
    let rows: Option<(&str, &[&[&str]], bool)> = Some((
        "SELECT id, user_id, title FROM posts ORDER BY id",
        &[&["1", "1", "p1"], &["2", "2", "p2"]],
        true,
    ));
    for (before, after) in [(&plain, &cascade), (&fk, &cascade), (&cascade, &named)] {
        round_trip(&Case {
            seed: &[SEED_USERS, SEED_POSTS],
            rows,
            ..Case::new(&[&u, before], &[&u, after])
        });
    }
}

#[test]
fn foreign_key_columns_change_type() {
    let before = [
        users(&[], &[]),
        posts(
            Some("FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE"),
            &[],
        ),
    ];
    let after = [
        table(
            "users",
            &[
                "id BIGINT NOT NULL AUTO_INCREMENT",
                USERS_EMAIL,
                "PRIMARY KEY (id)",
            ],
        ),
        table(
            "posts",
            &[
                "id INTEGER NOT NULL AUTO_INCREMENT",
                "user_id BIGINT",
                "title VARCHAR(200)",
                "PRIMARY KEY (id)",
                "FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE",
            ],
        ),
    ];
    let before: Vec<&str> = before.iter().map(String::as_str).collect();
    let after: Vec<&str> = after.iter().map(String::as_str).collect();
    round_trip(&Case {
        seed: &[SEED_USERS, SEED_POSTS],
        rows: Some((
            "SELECT p.id, u.email FROM posts p JOIN users u ON u.id = p.user_id ORDER BY p.id",
            &[&["1", "a@x"], &["2", "b@x"]],
            true,
        )),
        ..Case::new(&before, &after)
    });
}

#[test]
fn indexes_added_dropped_and_changed() {
    let u = users(&["name VARCHAR(100)"], &[]);
    let before = [
        u.clone(),
        posts(Some("FOREIGN KEY(user_id) REFERENCES users (id)"), &[]),
        "CREATE INDEX ix_users_name ON users (name)".to_owned(),
        "CREATE INDEX ix_posts_title ON posts (title)".to_owned(),
        // The foreign key's own index, replaced by a wider one below.
        "CREATE INDEX ix_posts_user ON posts (user_id)".to_owned(),
    ];
    let after = [
        u.clone(),
        posts(Some("FOREIGN KEY(user_id) REFERENCES users (id)"), &[]),
        "CREATE INDEX ix_users_name ON users (name, email)".to_owned(),
        "CREATE UNIQUE INDEX ix_users_email_prefix ON users (email(20))".to_owned(),
        "CREATE INDEX ix_posts_user ON posts (user_id, title)".to_owned(),
    ];
    let before: Vec<&str> = before.iter().map(String::as_str).collect();
    let after: Vec<&str> = after.iter().map(String::as_str).collect();
    round_trip(&Case {
        seed: &[SEED_USERS, SEED_POSTS],
        rows: Some((
            "SELECT id, title FROM posts ORDER BY id",
            &[&["1", "p1"], &["2", "p2"]],
            true,
        )),
        ..Case::new(&before, &after)
    });
}

#[test]
fn new_table_with_a_foreign_key_then_dropped() {
    let u = users(&[], &[]);
    let p = posts(
        Some("FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE"),
        &[],
    );
    let ix = "CREATE INDEX ix_posts_title ON posts (title)";
    round_trip(&Case {
        seed: &[SEED_USERS],
        rows: Some((
            "SELECT id, email FROM users ORDER BY id",
            &[&["1", "a@x"], &["2", "b@x"]],
            true,
        )),
        ..Case::new(&[&u], &[&u, &p, ix])
    });
    // Dropped: the users' rows stay.
    round_trip(&Case {
        seed: &[SEED_USERS, SEED_POSTS],
        rows: Some((
            "SELECT id, email FROM users ORDER BY id",
            &[&["1", "a@x"], &["2", "b@x"]],
            false,
        )),
        ..Case::new(&[&u, &p, ix], &[&u])
    });
}

#[test]
fn tables_in_a_foreign_key_cycle_created_and_dropped() {
    // As SQLAlchemy writes a cycle: one key added by ALTER once both tables exist.
    let a = table(
        "a",
        &[
            "id INTEGER NOT NULL AUTO_INCREMENT",
            "b_id INTEGER",
            "PRIMARY KEY (id)",
        ],
    );
    let b = table(
        "b",
        &[
            "id INTEGER NOT NULL AUTO_INCREMENT",
            "a_id INTEGER",
            "PRIMARY KEY (id)",
            "FOREIGN KEY(a_id) REFERENCES a (id) ON DELETE SET NULL",
        ],
    );
    let alter = "ALTER TABLE a ADD CONSTRAINT fk_a_b FOREIGN KEY(b_id) REFERENCES b (id)";
    let u = users(&[], &[]);
    round_trip(&Case {
        seed: &[SEED_USERS],
        ..Case::new(&[&u], &[&u, &a, &b, alter])
    });
}

#[test]
fn renamed_table_and_columns_keep_their_rows() {
    // The renamed columns are in an index, a table CHECK, a column's own CHECK and another
    // table's foreign key: the database renames them there too.
    let before = [
        table(
            "users",
            &[
                USERS_ID,
                USERS_EMAIL,
                "name VARCHAR(100)",
                "age INTEGER CHECK (age >= 0)",
                "PRIMARY KEY (id)",
                "CONSTRAINT ck_name CHECK (name <> '')",
            ],
        ),
        "CREATE INDEX ix_users_name ON users (name)".to_owned(),
        posts(Some("FOREIGN KEY(user_id) REFERENCES users (id)"), &[]),
    ];
    let after = [
        table(
            "members",
            &[
                "member_id INTEGER NOT NULL AUTO_INCREMENT",
                USERS_EMAIL,
                "full_name VARCHAR(100)",
                "years INTEGER CHECK (years >= 0)",
                "PRIMARY KEY (member_id)",
                "CONSTRAINT ck_name CHECK (full_name <> '')",
            ],
        ),
        "CREATE INDEX ix_users_name ON members (full_name)".to_owned(),
        table(
            "posts",
            &[
                "id INTEGER NOT NULL AUTO_INCREMENT",
                "user_id INTEGER",
                "title VARCHAR(200)",
                "PRIMARY KEY (id)",
                "FOREIGN KEY(user_id) REFERENCES members (member_id)",
            ],
        ),
    ];
    let before: Vec<&str> = before.iter().map(String::as_str).collect();
    let after: Vec<&str> = after.iter().map(String::as_str).collect();
    round_trip(&Case {
        seed: &[
            "INSERT INTO users (id, email, name, age) VALUES (1, 'a@x', 'Ann', 30)",
            "INSERT INTO posts (id, user_id, title) VALUES (1, 1, 'p1')",
        ],
        rows: Some((
            "SELECT p.title, m.full_name, m.years FROM posts p JOIN members m ON m.member_id = p.user_id",
            &[&["p1", "Ann", "30"]],
            false,
        )),
        renames: Renames::parse(
            &[
                "members.name:full_name".into(),
                "members.age:years".into(),
                "members.id:member_id".into(),
            ],
            &["users:members".into()],
        )
        .unwrap(),
        ..Case::new(&before, &after)
    });
}

#[test]
fn no_destructive_leaves_drops_out() {
    let Some(a) = Project::on(&MYSQL) else { return };
    let Some(b) = Project::on(&MYSQL) else { return };
    let u = users(&["name VARCHAR(100)"], &[]);
    a.exec(&u);
    a.exec(&posts(None, &[]));
    a.exec("INSERT INTO users (id, email, name) VALUES (1, 'a@x', 'Ann')");
    b.exec(&users(&["age INTEGER"], &[]));
    let up = plan_for(&introspect(&a), &introspect(&b), &Renames::default(), false);
    assert_eq!(
        up.skipped,
        [
            "drop table posts (--no-destructive)",
            "drop column users.name (--no-destructive)"
        ],
        "{up:#?}"
    );
    run_plan(&a, &up);
    assert_eq!(
        a.rows("SELECT id, name, age FROM users"),
        [["1", "Ann", "NULL"]]
    );
    assert!(a.table_exists("posts"));
}

#[test]
fn constraints_named_like_kept_ones_are_named_by_the_database() {
    let categories = table(
        "categories",
        &["id INTEGER NOT NULL AUTO_INCREMENT", "PRIMARY KEY (id)"],
    );
    let u = users(&[], &[]);
    let with = |fks: &[&str], checks: &[&str]| {
        let mut e = vec![
            "id INTEGER NOT NULL AUTO_INCREMENT",
            "user_id INTEGER",
            "category_id INTEGER",
            "PRIMARY KEY (id)",
        ];
        e.extend_from_slice(checks);
        e.extend_from_slice(fks);
        table("posts", &e)
    };
    // posts_ibfk_1 and CONSTRAINT_1 name other constraints on each side.
    let before = with(
        &["FOREIGN KEY(category_id) REFERENCES categories (id)"],
        &["CHECK (category_id > 0)"],
    );
    let after = with(
        &[
            "FOREIGN KEY(user_id) REFERENCES users (id)",
            "FOREIGN KEY(category_id) REFERENCES categories (id)",
        ],
        &["CHECK (user_id > 0)", "CHECK (category_id > 0)"],
    );
    round_trip(&Case {
        seed: &[
            SEED_USERS,
            "INSERT INTO categories (id) VALUES (1)",
            "INSERT INTO posts (id, user_id, category_id) VALUES (1, 2, 1)",
        ],
        rows: Some((
            "SELECT id, user_id, category_id FROM posts",
            &[&["1", "2", "1"]],
            true,
        )),
        names_may_differ: true,
        ..Case::new(&[&u, &categories, &before], &[&u, &categories, &after])
    });
}

#[test]
fn generated_json_and_column_checks_change_in_place() {
    let before = users(
        &[
            "age INTEGER",
            "meta JSON",
            "twice INTEGER GENERATED ALWAYS AS (age * 2) STORED",
        ],
        &[],
    );
    let after = users(
        &[
            "age INTEGER CHECK (age >= 0)",
            "meta TEXT",
            "twice INTEGER GENERATED ALWAYS AS (age * 3) STORED",
            "half INTEGER GENERATED ALWAYS AS (age / 2)",
        ],
        &[],
    );
    round_trip(&Case {
        seed: &["INSERT INTO users (id, email, age, meta) VALUES (1, 'a@x', 4, '{\"k\": 1}')"],
        rows: Some((
            "SELECT id, age, meta FROM users",
            &[&["1", "4", "{\"k\": 1}"]],
            true,
        )),
        ..Case::new(&[&before], &[&after])
    });
}

#[test]
fn key_columns_added_and_dropped() {
    // A table without a key gains an AUTO_INCREMENT one (one statement: MySQL wants the
    // column keyed as it is added); a foreign key column, its index and key are dropped.
    let before = [
        users(&[], &[]),
        table("tags", &["label VARCHAR(20) NOT NULL"]),
        posts(
            Some("FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE"),
            &[],
        ),
        "CREATE INDEX ix_posts_user_title ON posts (user_id, title)".to_owned(),
    ];
    let after = [
        users(&[], &[]),
        table(
            "tags",
            &[
                "id INTEGER NOT NULL AUTO_INCREMENT",
                "label VARCHAR(20) NOT NULL",
                "PRIMARY KEY (id)",
            ],
        ),
        table(
            "posts",
            &[
                "id INTEGER NOT NULL AUTO_INCREMENT",
                "title VARCHAR(200)",
                "PRIMARY KEY (id)",
            ],
        ),
    ];
    let before: Vec<&str> = before.iter().map(String::as_str).collect();
    let after: Vec<&str> = after.iter().map(String::as_str).collect();
    round_trip(&Case {
        seed: &[
            SEED_USERS,
            SEED_POSTS,
            "INSERT INTO tags (label) VALUES ('x'), ('y')",
        ],
        rows: Some((
            "SELECT label FROM tags ORDER BY label",
            &[&["x"], &["y"]],
            true,
        )),
        ..Case::new(&before, &after)
    });
}

#[test]
fn self_referencing_table_created() {
    let u = users(&[], &[]);
    let nodes = table(
        "nodes",
        &[
            "id INTEGER NOT NULL AUTO_INCREMENT",
            "parent_id INTEGER",
            "owner_id INTEGER NOT NULL",
            "PRIMARY KEY (id)",
            "FOREIGN KEY(parent_id) REFERENCES nodes (id) ON DELETE CASCADE",
            "FOREIGN KEY(owner_id) REFERENCES users (id)",
        ],
    );
    round_trip(&Case {
        seed: &[SEED_USERS],
        ..Case::new(&[&u], &[&u, &nodes])
    });
}
