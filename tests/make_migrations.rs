//! `make-migrations` on SQLite, over a corpus of model changes: each case generates the file
//! for its first models, applies it, seeds rows, moves to its second models, generates and
//! applies again, and checks that
//! - Python Jetbase 0.18.1 reads the same statements from each generated file as jetbase;
//! - the live schema equals what SQLAlchemy's `create_all` makes from the same models
//!   (compared through SQLite's own pragmas, in Python, so not by jetbase's introspection);
//! - a second `make-migrations` finds nothing, and `--check` exits 0;
//! - the seeded rows survive where the change keeps their columns;
//! - rolling back gives the first models' schema again, and `--check` then exits 3.
//!
//! The interpreter: `JETBASE_TEST_PYTHON`, else `.venv-py/bin/python` (SQLAlchemy 2.x and
//! Python Jetbase; `scripts/test.sh` installs both). Skipped without it, except under `CI`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Project;
use common::servers::Server;

fn python() -> Option<PathBuf> {
    let py = std::env::var_os("JETBASE_TEST_PYTHON").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv-py/bin/python"),
        PathBuf::from,
    );
    let ok = Command::new(&py)
        .args(["-c", "import sqlalchemy, jetbase"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        common::skip(
            "no python with SQLAlchemy and Jetbase 0.18.1",
            "scripts/test.sh installs .venv-py",
        );
        return None;
    }
    Some(py)
}

/// Python helpers: `create_all MODELS URL`, `dump URL` (the schema as SQLAlchemy's inspector
/// reads it, as JSON), `parse FILE` (Python Jetbase's statements of both sections, as JSON).
const HELPER: &str = r#"
import json, sys, sqlite3, importlib.util
cmd = sys.argv[1]
if cmd == "create_all":
    spec = importlib.util.spec_from_file_location("models_under_test", sys.argv[2])
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    from sqlalchemy import create_engine, MetaData
    engine = create_engine(sys.argv[3])
    for v in list(vars(mod).values()):
        md = v if isinstance(v, MetaData) else getattr(v, "metadata", None)
        if isinstance(md, MetaData):
            md.create_all(engine)
elif cmd == "dump":
    # The schema as SQLAlchemy's inspector reads it (not jetbase's introspection).
    from sqlalchemy import create_engine, inspect
    engine = create_engine(sys.argv[2])
    insp = inspect(engine)
    out = {}
    for t in sorted(n for n in insp.get_table_names() if not n.startswith("jetbase_")):
        # Column order is not part of the comparison (a column added back goes last).
        cols = sorted([c["name"], str(c["type"]).upper(), bool(c["nullable"]), None if c.get("default") is None else str(c["default"])] for c in insp.get_columns(t))
        pk = insp.get_pk_constraint(t)["constrained_columns"]
        fks = sorted([f["constrained_columns"], f["referred_table"], f["referred_columns"], (f.get("options") or {}).get("ondelete")] for f in insp.get_foreign_keys(t))
        idx = sorted([i["name"], bool(i["unique"]), [str(x) for x in (i.get("column_names") or [])], [str(x) for x in (i.get("expressions") or [])]] for i in insp.get_indexes(t))
        uq = sorted(sorted(u["column_names"]) for u in insp.get_unique_constraints(t))
        ck = sorted(" ".join(c["sqltext"].split()) for c in insp.get_check_constraints(t))
        out[t] = {"columns": cols, "pk": pk, "fks": fks, "indexes": idx, "uniques": uq, "checks": ck}
    print(json.dumps(out, indent=1, sort_keys=True, default=str))
elif cmd == "parse":
    from jetbase.engine.file_parser import parse_upgrade_statements, parse_rollback_statements
    print(json.dumps([parse_upgrade_statements(sys.argv[2]), parse_rollback_statements(sys.argv[2])]))
"#;

fn helper(py: &PathBuf, args: &[&str]) -> String {
    let out = Command::new(py)
        .arg("-c")
        .arg(HELPER)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python helper {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// One case of the corpus.
struct Case {
    name: &'static str,
    before: &'static str,
    after: &'static str,
    /// Rows inserted after the first models are applied.
    seed: &'static str,
    /// A query after the second upgrade, and its rows.
    survives: (&'static str, &'static [&'static [&'static str]]),
    /// Extra `make-migrations` arguments for the second generation.
    args: &'static [&'static str],
    /// SQLite URL parameters (foreign keys on or off).
    sqlite_params: &'static str,
}

const HEADER: &str = "from datetime import datetime\nfrom typing import Optional\nfrom sqlalchemy import Column, ForeignKey, Index, Integer, MetaData, String, Table, Text, CheckConstraint, UniqueConstraint, func, text\nfrom sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column\n\nclass Base(DeclarativeBase):\n    pass\n\n";

const CASES: &[Case] = &[
    Case {
        // Tables whose foreign keys point forward in the alphabet, a model named Account,
        // server defaults, ON DELETE CASCADE, a CHECK, a functional index; then added
        // columns (nullable, with a default), a wider type and a new unique constraint.
        name: "fk_order_defaults_and_rebuild",
        before: "class Account(Base):\n    __tablename__ = \"zz_accounts\"\n    id: Mapped[int] = mapped_column(primary_key=True)\n    email: Mapped[str] = mapped_column(String(100))\n    created_at: Mapped[datetime] = mapped_column(server_default=func.now())\n\nclass Post(Base):\n    __tablename__ = \"aa_posts\"\n    __table_args__ = (CheckConstraint(\"length(title) > 0\", name=\"ck_title\"), Index(\"ix_title_lower\", func.lower(text(\"title\"))))\n    id: Mapped[int] = mapped_column(primary_key=True)\n    account_id: Mapped[int] = mapped_column(ForeignKey(\"zz_accounts.id\", ondelete=\"CASCADE\"), index=True)\n    title: Mapped[str] = mapped_column(String(200))\n",
        after: "class Account(Base):\n    __tablename__ = \"zz_accounts\"\n    __table_args__ = (UniqueConstraint(\"email\"),)\n    id: Mapped[int] = mapped_column(primary_key=True)\n    email: Mapped[str] = mapped_column(String(255))\n    created_at: Mapped[datetime] = mapped_column(server_default=func.now())\n    nickname: Mapped[Optional[str]] = mapped_column(String(50))\n\nclass Post(Base):\n    __tablename__ = \"aa_posts\"\n    __table_args__ = (CheckConstraint(\"length(title) > 0\", name=\"ck_title\"), Index(\"ix_title_lower\", func.lower(text(\"title\"))))\n    id: Mapped[int] = mapped_column(primary_key=True)\n    account_id: Mapped[int] = mapped_column(ForeignKey(\"zz_accounts.id\", ondelete=\"CASCADE\"), index=True)\n    title: Mapped[str] = mapped_column(String(200))\n    views: Mapped[int] = mapped_column(server_default=text(\"0\"))\n",
        seed: "INSERT INTO zz_accounts (id, email) VALUES (1, 'a@x.org'); INSERT INTO aa_posts (id, account_id, title) VALUES (10, 1, 'hello');",
        // The parent was rebuilt with foreign keys on: the CASCADE child keeps its row.
        survives: (
            "SELECT p.id, p.title, p.views, a.email FROM aa_posts p JOIN zz_accounts a ON a.id = p.account_id",
            &[&["10", "hello", "0", "a@x.org"]],
        ),
        args: &[],
        sqlite_params: "?foreign_keys=true",
    },
    Case {
        // An imperative Table; a column rename said with --rename (data kept), a dropped
        // column, an index dropped and one added.
        name: "imperative_table_rename_and_drop",
        before: "metadata = MetaData()\nitems = Table(\"items\", metadata, Column(\"id\", Integer, primary_key=True), Column(\"name\", String(80), nullable=False), Column(\"legacy\", Text), Column(\"sku\", String(20), index=True))\n",
        after: "metadata = MetaData()\nitems = Table(\"items\", metadata, Column(\"id\", Integer, primary_key=True), Column(\"title\", String(80), nullable=False), Column(\"sku\", String(20)), Index(\"ix_items_title\", \"title\"))\n",
        seed: "INSERT INTO items (id, name, legacy, sku) VALUES (1, 'bolt', 'x', 'B-1');",
        survives: ("SELECT id, title, sku FROM items", &[&["1", "bolt", "B-1"]]),
        args: &["--rename", "items.name:title"],
        sqlite_params: "",
    },
    Case {
        // A new table referencing an existing one, a dropped table, and a NOT NULL column
        // with a server default added to a table with rows.
        name: "new_and_dropped_tables",
        before: "class Author(Base):\n    __tablename__ = \"authors\"\n    id: Mapped[int] = mapped_column(primary_key=True)\n    name: Mapped[str] = mapped_column(String(50))\n\nclass Scratch(Base):\n    __tablename__ = \"scratch\"\n    id: Mapped[int] = mapped_column(primary_key=True)\n",
        after: "class Author(Base):\n    __tablename__ = \"authors\"\n    id: Mapped[int] = mapped_column(primary_key=True)\n    name: Mapped[str] = mapped_column(String(50))\n    active: Mapped[bool] = mapped_column(server_default=text(\"true\"))\n\nclass Book(Base):\n    __tablename__ = \"books\"\n    id: Mapped[int] = mapped_column(primary_key=True)\n    author_id: Mapped[int] = mapped_column(ForeignKey(\"authors.id\", ondelete=\"SET NULL\"), nullable=True)\n",
        seed: "INSERT INTO authors (id, name) VALUES (7, 'Ann');",
        survives: (
            "SELECT id, name, active FROM authors",
            &[&["7", "Ann", "1"]],
        ),
        args: &[],
        sqlite_params: "",
    },
    Case {
        // A composite primary key and a composite foreign key to it; a nullable column made
        // NOT NULL with a default; a UNIQUE column turned into a two-column UNIQUE
        // constraint; an added CHECK; a wider integer; a table renamed with --rename-table.
        name: "composite_keys_constraints_and_table_rename",
        before: "class Order(Base):\n    __tablename__ = \"orders\"\n    id: Mapped[int] = mapped_column(primary_key=True)\n    status: Mapped[Optional[str]] = mapped_column(String(20))\n    code: Mapped[str] = mapped_column(String(20), unique=True)\n\nclass OrderItem(Base):\n    __tablename__ = \"order_items\"\n    order_id: Mapped[int] = mapped_column(ForeignKey(\"orders.id\", ondelete=\"CASCADE\"), primary_key=True)\n    line: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)\n    qty: Mapped[int] = mapped_column(Integer)\n\nclass Note(Base):\n    __tablename__ = \"notes\"\n    id: Mapped[int] = mapped_column(primary_key=True)\n    body: Mapped[str] = mapped_column(Text)\n",
        after: "from sqlalchemy import BigInteger, ForeignKeyConstraint\n\nclass Order(Base):\n    __tablename__ = \"orders\"\n    __table_args__ = (UniqueConstraint(\"code\", \"region\", name=\"uq_orders_code_region\"),)\n    id: Mapped[int] = mapped_column(primary_key=True)\n    status: Mapped[str] = mapped_column(String(20), server_default=text(\"'new'\"))\n    code: Mapped[str] = mapped_column(String(20))\n    region: Mapped[str] = mapped_column(String(10), server_default=text(\"'eu'\"))\n\nclass OrderItem(Base):\n    __tablename__ = \"order_items\"\n    __table_args__ = (CheckConstraint(\"qty > 0\", name=\"ck_qty_positive\"),)\n    order_id: Mapped[int] = mapped_column(ForeignKey(\"orders.id\", ondelete=\"CASCADE\"), primary_key=True)\n    line: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)\n    qty: Mapped[int] = mapped_column(BigInteger)\n\nclass Shipment(Base):\n    __tablename__ = \"shipments\"\n    __table_args__ = (ForeignKeyConstraint([\"order_id\", \"line\"], [\"order_items.order_id\", \"order_items.line\"], ondelete=\"CASCADE\"),)\n    id: Mapped[int] = mapped_column(primary_key=True)\n    order_id: Mapped[int] = mapped_column(Integer)\n    line: Mapped[int] = mapped_column(Integer)\n\nclass Note(Base):\n    __tablename__ = \"memos\"\n    id: Mapped[int] = mapped_column(primary_key=True)\n    body: Mapped[str] = mapped_column(Text)\n",
        seed: "INSERT INTO orders (id, status, code) VALUES (1, 'paid', 'A1'); INSERT INTO order_items (order_id, line, qty) VALUES (1, 1, 3); INSERT INTO notes (id, body) VALUES (5, 'hi');",
        survives: (
            "SELECT o.id, o.status, o.code, o.region, i.qty, m.body FROM orders o JOIN order_items i ON i.order_id = o.id CROSS JOIN memos m",
            &[&["1", "paid", "A1", "eu", "3", "hi"]],
        ),
        args: &["--rename-table", "notes:memos"],
        sqlite_params: "?foreign_keys=true",
    },
    Case {
        // A foreign key column renamed with --rename whose ON DELETE changes; a changed
        // default; NOT NULL dropped; a wider NUMERIC; a generated column and a boolean with
        // a default added to a table with rows.
        name: "fk_rename_action_default_generated",
        before: "from decimal import Decimal\nfrom sqlalchemy import Numeric\n\nclass Team(Base):\n    __tablename__ = \"teams\"\n    id: Mapped[int] = mapped_column(primary_key=True)\n    name: Mapped[str] = mapped_column(String(40))\n\nclass Player(Base):\n    __tablename__ = \"players\"\n    id: Mapped[int] = mapped_column(primary_key=True)\n    team_id: Mapped[Optional[int]] = mapped_column(ForeignKey(\"teams.id\", ondelete=\"CASCADE\"))\n    score: Mapped[int] = mapped_column(server_default=text(\"0\"))\n    nick: Mapped[str] = mapped_column(String(30))\n    price: Mapped[Decimal] = mapped_column(Numeric(10, 2))\n",
        after: "from decimal import Decimal\nfrom sqlalchemy import Boolean, Computed, Numeric\n\nclass Team(Base):\n    __tablename__ = \"teams\"\n    id: Mapped[int] = mapped_column(primary_key=True)\n    name: Mapped[str] = mapped_column(String(40))\n\nclass Player(Base):\n    __tablename__ = \"players\"\n    id: Mapped[int] = mapped_column(primary_key=True)\n    club_id: Mapped[Optional[int]] = mapped_column(ForeignKey(\"teams.id\", ondelete=\"SET NULL\"))\n    score: Mapped[int] = mapped_column(server_default=text(\"10\"))\n    nick: Mapped[Optional[str]] = mapped_column(String(30))\n    price: Mapped[Decimal] = mapped_column(Numeric(12, 2))\n    doubled: Mapped[Decimal] = mapped_column(Numeric(14, 2), Computed(\"price * 2\"))\n    active: Mapped[bool] = mapped_column(Boolean, server_default=text(\"true\"))\n",
        seed: "INSERT INTO teams (id, name) VALUES (1, 'red'); INSERT INTO players (id, team_id, nick, price) VALUES (7, 1, 'ace', 2.5);",
        survives: (
            "SELECT id, club_id, score, nick FROM players",
            &[&["7", "1", "0", "ace"]],
        ),
        args: &["--rename", "players.team_id:club_id"],
        sqlite_params: "?foreign_keys=true",
    },
    Case {
        // A foreign key added to an existing table (MySQL makes its index under a name of
        // its own), an enum column with a default added, and a parent and its child table
        // dropped together.
        name: "fk_added_enum_added_parent_and_child_dropped",
        before: "class Author(Base):\n    __tablename__ = \"authors\"\n    id: Mapped[int] = mapped_column(primary_key=True)\n\nclass Book(Base):\n    __tablename__ = \"books\"\n    id: Mapped[int] = mapped_column(primary_key=True)\n    title: Mapped[str] = mapped_column(String(100))\n\nclass Label(Base):\n    __tablename__ = \"labels\"\n    id: Mapped[int] = mapped_column(primary_key=True)\n\nclass BookLabel(Base):\n    __tablename__ = \"book_labels\"\n    id: Mapped[int] = mapped_column(primary_key=True)\n    label_id: Mapped[int] = mapped_column(ForeignKey(\"labels.id\"))\n",
        after: "import enum\nfrom sqlalchemy import Enum\n\nclass Format(enum.Enum):\n    paper = 1\n    ebook = 2\n\nclass Author(Base):\n    __tablename__ = \"authors\"\n    id: Mapped[int] = mapped_column(primary_key=True)\n\nclass Book(Base):\n    __tablename__ = \"books\"\n    id: Mapped[int] = mapped_column(primary_key=True)\n    title: Mapped[str] = mapped_column(String(100))\n    author_id: Mapped[Optional[int]] = mapped_column(ForeignKey(\"authors.id\", ondelete=\"CASCADE\"))\n    format = mapped_column(Enum(Format, name=\"book_format\"), nullable=False, server_default=\"paper\")\n",
        seed: "INSERT INTO authors (id) VALUES (1); INSERT INTO books (id, title) VALUES (1, 'x'); INSERT INTO labels (id) VALUES (1); INSERT INTO book_labels (id, label_id) VALUES (1, 1);",
        survives: ("SELECT id, title FROM books", &[&["1", "x"]]),
        args: &[],
        sqlite_params: "?foreign_keys=true",
    },
    Case {
        // Columns of many types added to a table with rows (JSON, UUID, a timestamp with time
        // zone defaulting to now(), DATE, FLOAT, binary, a boolean) and a partial index
        // (PostgreSQL, SQLite; a plain one on MySQL).
        name: "many_types_and_a_partial_index",
        before: "class Event(Base):\n    __tablename__ = \"events\"\n    id: Mapped[int] = mapped_column(primary_key=True)\n    name: Mapped[str] = mapped_column(String(50))\n",
        after: "import uuid\nfrom datetime import date\nfrom sqlalchemy import JSON, Boolean, Date, DateTime, Float, LargeBinary, Uuid\n\nclass Event(Base):\n    __tablename__ = \"events\"\n    __table_args__ = (Index(\"ix_events_live_name\", \"name\", postgresql_where=text(\"live\"), sqlite_where=text(\"live\")),)\n    id: Mapped[int] = mapped_column(primary_key=True)\n    name: Mapped[str] = mapped_column(String(50))\n    live: Mapped[bool] = mapped_column(Boolean, server_default=text(\"false\"))\n    payload: Mapped[Optional[dict]] = mapped_column(JSON)\n    ref: Mapped[Optional[uuid.UUID]] = mapped_column(Uuid)\n    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())\n    day: Mapped[Optional[date]] = mapped_column(Date)\n    score: Mapped[Optional[float]] = mapped_column(Float)\n    blob: Mapped[Optional[bytes]] = mapped_column(LargeBinary)\n",
        seed: "INSERT INTO events (id, name) VALUES (1, 'launch');",
        survives: ("SELECT id, name FROM events", &[&["1", "launch"]]),
        args: &[],
        sqlite_params: "",
    },
    Case {
        // A column dropped while an index uses it (nullable: the rollback adds it back to a
        // table with rows), a CHECK dropped, a unique index and a self-referencing foreign
        // key added.
        name: "index_column_dropped_check_dropped_self_reference",
        before: "class Category(Base):\n    __tablename__ = \"categories\"\n    __table_args__ = (CheckConstraint(\"length(slug) > 1\", name=\"ck_slug\"), Index(\"ix_cat_slug_name\", \"slug\", \"name\"))\n    id: Mapped[int] = mapped_column(primary_key=True)\n    slug: Mapped[str] = mapped_column(String(40))\n    name: Mapped[Optional[str]] = mapped_column(String(40))\n",
        after: "class Category(Base):\n    __tablename__ = \"categories\"\n    __table_args__ = (Index(\"ux_cat_slug\", \"slug\", unique=True),)\n    id: Mapped[int] = mapped_column(primary_key=True)\n    slug: Mapped[str] = mapped_column(String(40))\n    parent_id: Mapped[Optional[int]] = mapped_column(ForeignKey(\"categories.id\", ondelete=\"SET NULL\"))\n",
        seed: "INSERT INTO categories (id, slug, name) VALUES (1, 'ab', 'AB');",
        survives: ("SELECT id, slug FROM categories", &[&["1", "ab"]]),
        args: &[],
        sqlite_params: "?foreign_keys=true",
    },
];

fn models(p: &Project, body: &str) -> PathBuf {
    let path = p.root().join("models.py");
    std::fs::write(&path, format!("{HEADER}{body}")).unwrap();
    path
}

/// `jetbase make-migrations --models ../models.py ARGS` in the project, the loader run by `py`.
fn make(p: &Project, py: &Path, args: &[&str]) -> common::Run {
    let all = [&["make-migrations", "--models", "../models.py"], args].concat();
    p.run_in(&p.dir(), &all, &[("JETBASE_PYTHON", py.to_str().unwrap())])
}

/// The URL SQLAlchemy reaches a project's database at.
fn live_url(p: &Project) -> String {
    if p.server.env_var.is_none() {
        format!("sqlite:///{}", p.db_path().display())
    } else {
        p.url.clone()
    }
}

/// The schema SQLAlchemy's `create_all` makes from `body`, on a fresh database of the
/// project's server.
fn create_all(py: &PathBuf, p: &Project, body: &str, tag: &str) -> String {
    let path = p.root().join(format!("models_{tag}.py"));
    std::fs::write(&path, format!("{HEADER}{body}")).unwrap();
    let other = Project::on(p.server).expect("the server is up");
    let url = if p.server.env_var.is_none() {
        format!(
            "sqlite:///{}",
            p.root().join(format!("create_all_{tag}.db")).display()
        )
    } else {
        other.url.clone()
    };
    helper(py, &["create_all", path.to_str().unwrap(), &url]);
    helper(py, &["dump", &url])
}

fn dump(py: &PathBuf, p: &Project) -> String {
    helper(py, &["dump", &live_url(p)])
}

/// Python Jetbase's statements of a file equal jetbase's (whitespace aside).
fn same_statements_in_python(py: &PathBuf, file: &std::path::Path) {
    let python: serde_json::Value =
        serde_json::from_str(&helper(py, &["parse", file.to_str().unwrap()])).unwrap();
    let text = std::fs::read_to_string(file).unwrap();
    let ours = jetbase::migration::parse(&text, jetbase::migration::SplitRules::default());
    let norm = |s: &str| {
        s.trim_end_matches(';')
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    for (section, mine) in [(0, &ours.upgrade), (1, &ours.rollback)] {
        let theirs: Vec<String> = python[section]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| norm(s.as_str().unwrap()))
            .collect();
        let mine: Vec<String> = mine.iter().map(|s| norm(&s.sql)).collect();
        assert_eq!(theirs, mine, "{}", file.display());
    }
    assert!(ours.warnings.is_empty(), "{:?}", ours.warnings);
}

/// The case as `server` takes it: MariaDB has no functional indexes (SQLAlchemy writes them
/// all the same, and its own `create_all` fails there too), so a plain index there.
fn for_server(server: &Server, case: &Case) -> Case {
    let adapt = |body: &str| -> &'static str {
        if server.name == common::MYSQL.name {
            Box::leak(
                body.replace("func.lower(text(\"title\"))", "\"title\"")
                    .into_boxed_str(),
            )
        } else {
            Box::leak(body.to_owned().into_boxed_str())
        }
    };
    Case {
        before: adapt(case.before),
        after: adapt(case.after),
        ..*case
    }
}

fn run_case(py: &PathBuf, server: &'static Server, case: &Case) {
    let Some(p) = Project::on(server) else {
        return;
    };
    let case = &for_server(server, case);
    if server.env_var.is_none() {
        std::fs::write(
            p.dir().join("env.py"),
            format!(
                "sqlalchemy_url = \"sqlite:///jetbase.db{}\"\n",
                case.sqlite_params
            ),
        )
        .unwrap();
    }
    let mm = |args: &[&str]| {
        let r = make(&p, py, args);
        // SQLite tries each file on a copy first: it must reach its goal both ways.
        assert!(
            !r.stderr.contains("tried on a copy"),
            "{}: {}",
            case.name,
            r.stderr
        );
        r
    };
    // First models: everything is new.
    models(&p, case.before);
    let r = mm(&["-v", "1", "first"]).expect(0);
    assert!(
        r.stdout.contains("Created migration file: V1__first.sql"),
        "{}: {}",
        case.name,
        r.stdout
    );
    same_statements_in_python(py, &p.migrations().join("V1__first.sql"));
    p.run(&["upgrade"]).expect(0);
    assert_eq!(
        dump(py, &p),
        create_all(py, &p, case.before, "before"),
        "{}: after V1",
        case.name
    );
    assert_eq!(
        mm(&[]).expect(0).stdout,
        "No changes detected.\n",
        "{}",
        case.name
    );
    p.exec(case.seed);
    // Second models.
    models(&p, case.after);
    // --check sees the difference and writes nothing.
    let r = mm(&["--check"]).expect(3);
    assert!(
        r.stdout.contains("differs from the models"),
        "{}: {}",
        case.name,
        r.stdout
    );
    let mut args = vec!["-v", "2", "second"];
    args.extend_from_slice(case.args);
    mm(&args).expect(0);
    let file = p.migrations().join("V2__second.sql");
    same_statements_in_python(py, &file);
    let r = p.run(&["upgrade"]).expect(0);
    assert!(
        r.stderr.contains("V2__second.sql"),
        "{}: {}",
        case.name,
        r.stderr
    );
    assert_eq!(
        dump(py, &p),
        create_all(py, &p, case.after, "after"),
        "{}: after V2\n{}",
        case.name,
        std::fs::read_to_string(&file).unwrap()
    );
    // Converged: nothing more to generate.
    assert_eq!(
        mm(&[]).expect(0).stdout,
        "No changes detected.\n",
        "{}",
        case.name
    );
    mm(&["--check"]).expect(0);
    let (query, rows) = case.survives;
    let want: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|v| (*v).to_owned()).collect())
        .collect();
    assert_eq!(p.rows(query), want, "{}", case.name);
    // Back to the first models.
    p.run(&["rollback"]).expect(0);
    assert_eq!(
        dump(py, &p),
        create_all(py, &p, case.before, "before2"),
        "{}: after rollback",
        case.name
    );
    // V2 is pending again, and pending files count as applied: no difference...
    mm(&["--check"]).expect(0);
    // ...until it is gone.
    std::fs::remove_file(&file).unwrap();
    mm(&["--check"]).expect(3);
}

#[test]
fn corpus_generates_applies_converges_and_rolls_back_on_sqlite() {
    let Some(py) = python() else {
        return;
    };
    for case in CASES {
        run_case(&py, &common::SQLITE, case);
    }
}

#[test]
fn corpus_generates_applies_converges_and_rolls_back_on_postgres() {
    let Some(py) = python() else {
        return;
    };
    for case in CASES {
        run_case(&py, &common::POSTGRES, case);
    }
}

#[test]
fn corpus_generates_applies_converges_and_rolls_back_on_mariadb() {
    let Some(py) = python() else {
        return;
    };
    for case in CASES {
        run_case(&py, &common::MYSQL, case);
    }
}

fn no_destructive_leaves_drops_out_and_says_so(server: &'static common::Server) {
    let Some(py) = python() else {
        return;
    };
    let Some(p) = Project::on(server) else {
        return;
    };
    models(&p, CASES[2].before);
    make(&p, &py, &["-v", "1", "a"]).expect(0);
    p.run(&["upgrade"]).expect(0);
    let author = "class Author(Base):\n    __tablename__ = \"authors\"\n    id: Mapped[int] = mapped_column(primary_key=True)\n";
    // Only drops: nothing to write (an empty file would be generated again and again).
    models(&p, author);
    let r = make(&p, &py, &["-v", "2", "b", "--no-destructive"]).expect(0);
    assert!(
        r.stdout
            .starts_with("Nothing written: every change is one --no-destructive leaves out"),
        "{}",
        r.stdout
    );
    assert!(!p.migrations().join("V2__b.sql").exists());
    // Drops and an added column: the column is added, the drops are listed as left out.
    models(
        &p,
        &format!("{author}    bio: Mapped[Optional[str]] = mapped_column(String(200))\n"),
    );
    make(&p, &py, &["-v", "2", "b", "--no-destructive"]).expect(0);
    let text = std::fs::read_to_string(p.migrations().join("V2__b.sql")).unwrap();
    assert!(
        text.contains("-- NOT WRITTEN (upgrade): drop table scratch (--no-destructive)"),
        "{text}"
    );
    assert!(
        text.contains("-- NOT WRITTEN (upgrade): drop column authors.name (--no-destructive)"),
        "{text}"
    );
    let upgrade = text.split("-- rollback").next().unwrap();
    assert!(!upgrade.contains("DROP"), "{text}");
    // The way back starts from what the upgrade left: it makes nothing that is still there.
    let rollback = text.split("-- rollback").nth(1).unwrap();
    assert!(!rollback.contains("CREATE TABLE scratch"), "{text}");
    p.run(&["upgrade"]).expect(0);
    assert!(p.table_exists("scratch"));
    p.run(&["rollback"]).expect(0);
    assert!(p.table_exists("scratch"));
    let name_column = match server.name {
        "sqlite" => "SELECT name FROM pragma_table_info('authors') WHERE name = 'name'",
        "postgres" => {
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'authors' AND column_name = 'name'"
        }
        _ => {
            "SELECT column_name FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'authors' AND column_name = 'name'"
        }
    };
    assert_eq!(p.rows(name_column), vec![vec!["name"]]);
    // Back where it started: the first models match the database again (without the
    // file, which would count as pending).
    std::fs::remove_file(p.migrations().join("V2__b.sql")).unwrap();
    models(&p, CASES[2].before);
    assert_eq!(
        make(&p, &py, &["--check"]).expect(0).stdout,
        "No changes detected.\n"
    );
}

#[test]
fn no_destructive_leaves_drops_out_and_says_so_on_sqlite() {
    no_destructive_leaves_drops_out_and_says_so(&common::SQLITE);
}

#[test]
fn no_destructive_leaves_drops_out_and_says_so_on_postgres() {
    no_destructive_leaves_drops_out_and_says_so(&common::POSTGRES);
}

#[test]
fn no_destructive_leaves_drops_out_and_says_so_on_mariadb() {
    no_destructive_leaves_drops_out_and_says_so(&common::MYSQL);
}

/// SQLite: the file is tried on an in-memory copy of the database before it is written. A
/// view of the database's own that uses a column the models drop makes the upgrade fail
/// there: nothing is written, and the error says what to do; once a (pending) file drops
/// the view, the file is written and applies.
#[test]
fn sqlite_file_that_fails_on_the_copy_is_not_written() {
    let Some(py) = python() else {
        return;
    };
    let p = Project::new();
    let users = |extra: &str| {
        format!(
            "class User(Base):\n    __tablename__ = \"users\"\n    id: Mapped[int] = mapped_column(primary_key=True)\n    email: Mapped[str] = mapped_column(String(80))\n{extra}"
        )
    };
    models(
        &p,
        &users("    nick: Mapped[str] = mapped_column(String(80))\n"),
    );
    make(&p, &py, &["-v", "1", "users"]).expect(0);
    p.write(
        "V2__view.sql",
        "-- upgrade\nCREATE VIEW nicks AS SELECT id, nick FROM users;\n-- rollback\nDROP VIEW nicks;\n",
    );
    p.run(&["upgrade"]).expect(0);
    models(&p, &users(""));
    let r = make(&p, &py, &["-v", "3", "drop_nick"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("the generated upgrade fails on a copy of the database")
            && r.stderr.contains("nicks")
            && r.stderr.contains("nothing was written"),
        "{}",
        r.stderr
    );
    assert!(!p.migrations().join("V3__drop_nick.sql").exists());
    p.write(
        "V3__no_view.sql",
        "-- upgrade\nDROP VIEW nicks;\n-- rollback\nCREATE VIEW nicks AS SELECT id, nick FROM users;\n",
    );
    make(&p, &py, &["-v", "4", "drop_nick"]).expect(0);
    p.run(&["upgrade"]).expect(0);
    assert_eq!(
        p.rows("SELECT count(*) FROM pragma_table_info('users') WHERE name = 'nick'"),
        vec![vec!["0"]]
    );
    p.run(&["rollback", "--count", "2"]).expect(0);
    assert_eq!(p.rows("SELECT count(*) FROM nicks"), vec![vec!["0"]]);
}

/// PostgreSQL refuses to drop, or change the type of, a column a view uses: make-migrations
/// stops before writing such a file, names the view, and goes on once a (pending) file
/// drops the view.
#[test]
fn postgres_change_to_what_a_view_uses_is_refused_before_writing() {
    let Some(py) = python() else {
        return;
    };
    let Some(p) = Project::on(&common::POSTGRES) else {
        return;
    };
    let users = |nick: &str, age: &str| {
        format!(
            "class User(Base):\n    __tablename__ = \"users\"\n    id: Mapped[int] = mapped_column(primary_key=True)\n{nick}    age: Mapped[int] = mapped_column({age})\n"
        )
    };
    let nick = "    nick: Mapped[str] = mapped_column(String(80))\n";
    models(&p, &users(nick, "Integer"));
    make(&p, &py, &["-v", "1", "users"]).expect(0);
    p.write(
        "V2__view.sql",
        "-- upgrade\nCREATE VIEW nicks AS SELECT id, nick, age FROM users;\n-- rollback\nDROP VIEW nicks;\n",
    );
    p.run(&["upgrade"]).expect(0);
    models(&p, &users("", "Text"));
    let r = make(&p, &py, &["-v", "3", "change"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    for line in [
        "drop column users.nick: used by view(s) nicks",
        "change the type of users.age: used by view(s) nicks",
        "nothing was written",
    ] {
        assert!(r.stderr.contains(line), "{line}: {}", r.stderr);
    }
    assert!(!p.migrations().join("V3__change.sql").exists());
    // --check only reports: the differences, exit 3.
    assert_eq!(make(&p, &py, &["--check"]).code, 3);
    p.write(
        "V3__no_view.sql",
        "-- upgrade\nDROP VIEW nicks;\n-- rollback\nCREATE VIEW nicks AS SELECT id, nick, age FROM users;\n",
    );
    make(&p, &py, &["-v", "4", "change"]).expect(0);
    p.run(&["upgrade"]).expect(0);
    p.run(&["rollback", "--count", "2"]).expect(0);
    assert_eq!(p.rows("SELECT count(*) FROM nicks"), vec![vec!["0"]]);
}

/// MySQL/MariaDB cannot undo DDL, so a file that fails halfway leaves its first statements
/// applied: make-migrations tries it on the scratch copy (the tables without their rows)
/// first. Here a table the models do not know (kept by --no-destructive) has a foreign key
/// to a column whose type the models change, which the server refuses: nothing is written
/// and the live table is untouched.
#[test]
fn mariadb_file_that_fails_on_the_copy_is_not_written() {
    let Some(py) = python() else {
        return;
    };
    let Some(p) = Project::on(&common::MYSQL) else {
        return;
    };
    let users = |ty: &str| {
        format!(
            "from sqlalchemy import BigInteger\n\nclass User(Base):\n    __tablename__ = \"users\"\n    id: Mapped[int] = mapped_column({ty}, primary_key=True, autoincrement=False)\n    email: Mapped[str] = mapped_column(String(80))\n"
        )
    };
    models(&p, &users("Integer"));
    make(&p, &py, &["-v", "1", "users"]).expect(0);
    p.write(
        "V2__legacy.sql",
        "-- upgrade\nCREATE TABLE legacy (id INTEGER PRIMARY KEY, user_id INTEGER, FOREIGN KEY (user_id) REFERENCES users (id));\n-- rollback\nDROP TABLE legacy;\n",
    );
    p.run(&["upgrade"]).expect(0);
    let id_type = || {
        p.rows(
            "SELECT data_type FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'users' AND column_name = 'id'",
        )
    };
    let before = id_type();
    models(
        &p,
        &format!(
            "{}    nickname: Mapped[Optional[str]] = mapped_column(String(40))\n",
            users("BigInteger")
        ),
    );
    let r = make(&p, &py, &["-v", "3", "wider", "--no-destructive"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("the generated upgrade fails on a copy of the database")
            && r.stderr.contains("nothing was written"),
        "{}",
        r.stderr
    );
    assert!(!p.migrations().join("V3__wider.sql").exists());
    assert_eq!(id_type(), before);
    assert!(p.tables().iter().all(|t| !t.starts_with("jetbase_scratch")));
}

/// PostgreSQL refuses to change the type of a column a generated column reads: the
/// generated column is dropped before the change and made again after, with its index
/// and CHECK constraint, and its values are computed again; the rollback does the same.
#[test]
fn postgres_type_change_of_a_column_a_generated_column_reads() {
    let Some(py) = python() else {
        return;
    };
    let Some(p) = Project::on(&common::POSTGRES) else {
        return;
    };
    let docs = |title: &str| {
        format!(
            "from sqlalchemy import Computed\n\nclass Doc(Base):\n    __tablename__ = \"docs\"\n    __table_args__ = (Index(\"ix_docs_title_len\", \"title_len\"), CheckConstraint(\"title_len < 1000\", name=\"ck_docs_title_len\"))\n    id: Mapped[int] = mapped_column(primary_key=True)\n    title: Mapped[str] = mapped_column({title})\n    title_len: Mapped[int] = mapped_column(Integer, Computed(\"length(title)\", persisted=True))\n"
        )
    };
    models(&p, &docs("String(100)"));
    make(&p, &py, &["-v", "1", "docs"]).expect(0);
    p.run(&["upgrade"]).expect(0);
    p.exec("INSERT INTO docs (id, title) VALUES (1, 'four')");
    models(&p, &docs("Text"));
    make(&p, &py, &["-v", "2", "wider"]).expect(0);
    let text = std::fs::read_to_string(p.migrations().join("V2__wider.sql")).unwrap();
    let upgrade = text.split("-- rollback").next().unwrap();
    assert!(
        upgrade.contains("DROP COLUMN \"title_len\"") && upgrade.contains("ADD COLUMN"),
        "{text}"
    );
    p.run(&["upgrade"]).expect(0);
    assert_eq!(
        p.rows("SELECT title, title_len FROM docs"),
        vec![vec!["four", "4"]]
    );
    let objects = || {
        p.rows(
            "SELECT (SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_docs_title_len'), (SELECT count(*) FROM pg_constraint WHERE conname = 'ck_docs_title_len')",
        )
    };
    assert_eq!(objects(), vec![vec!["1", "1"]]);
    assert_eq!(
        make(&p, &py, &["--check"]).expect(0).stdout,
        "No changes detected.\n"
    );
    p.run(&["rollback"]).expect(0);
    assert_eq!(
        p.rows("SELECT data_type, (SELECT title_len FROM docs) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'docs' AND column_name = 'title'"),
        vec![vec!["character varying", "4"]]
    );
    assert_eq!(objects(), vec![vec!["1", "1"]]);
}

/// MySQL/MariaDB: the scratch copy holds the database's views (a view over a view made
/// after it), triggers and routines too, so a pending file that drops or replaces one runs
/// there as it will on the database; a view the server kept although its table lost a column is left out of the
/// copy; a --dev-url database is left without them.
#[test]
fn mariadb_pending_file_that_drops_a_view_trigger_or_routine_counts_on_the_copy() {
    let Some(py) = python() else {
        return;
    };
    let (Some(p), Some(dev)) = (Project::on(&common::MYSQL), Project::on(&common::MYSQL)) else {
        return;
    };
    let users = |extra: &str| {
        format!(
            "class User(Base):\n    __tablename__ = \"users\"\n    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)\n    nick: Mapped[str] = mapped_column(String(80))\n{extra}"
        )
    };
    models(&p, &users(""));
    make(&p, &py, &["-v", "1", "users"]).expect(0);
    p.write(
        "V2__views.sql",
        "-- upgrade\nCREATE VIEW z_nicks AS SELECT id, nick FROM users;\nCREATE VIEW a_short AS SELECT id FROM z_nicks WHERE id < 10;\nCREATE TABLE side (id INTEGER PRIMARY KEY, x INTEGER);\nCREATE VIEW broken AS SELECT x FROM side;\nALTER TABLE side DROP COLUMN x;\nCREATE TRIGGER users_nick BEFORE INSERT ON users FOR EACH ROW SET NEW.nick = LOWER(NEW.nick);\nCREATE PROCEDURE count_users() SELECT count(*) FROM users;\n-- rollback\nDROP PROCEDURE count_users;\nDROP TRIGGER users_nick;\nDROP VIEW broken;\nDROP TABLE side;\nDROP VIEW a_short;\nDROP VIEW z_nicks;\n",
    );
    p.run(&["upgrade"]).expect(0);
    p.write(
        "V3__views.sql",
        "-- upgrade\nDROP VIEW a_short;\nCREATE OR REPLACE VIEW z_nicks AS SELECT id FROM users;\nDROP TRIGGER users_nick;\nDROP PROCEDURE count_users;\n-- rollback\nCREATE PROCEDURE count_users() SELECT count(*) FROM users;\nCREATE TRIGGER users_nick BEFORE INSERT ON users FOR EACH ROW SET NEW.nick = LOWER(NEW.nick);\nCREATE OR REPLACE VIEW z_nicks AS SELECT id, nick FROM users;\nCREATE VIEW a_short AS SELECT id FROM z_nicks WHERE id < 10;\n",
    );
    models(
        &p,
        &users("    age: Mapped[Optional[int]] = mapped_column(Integer)\n"),
    );
    for dev_url in [None, Some(dev.url.as_str())] {
        let mut args = vec!["--dry-run"];
        if let Some(u) = dev_url {
            args.extend(["--dev-url", u]);
        }
        let r = make(&p, &py, &args);
        assert_eq!(r.code, 0, "{dev_url:?}: {}{}", r.stdout, r.stderr);
        assert!(r.stdout.contains("ADD COLUMN `age`"), "{}", r.stdout);
    }
    assert!(dev.tables().is_empty(), "{:?}", dev.tables());
    make(&p, &py, &["-v", "4", "age"]).expect(0);
    p.run(&["upgrade"]).expect(0);
    assert_eq!(p.rows("SELECT count(*) FROM z_nicks"), vec![vec!["0"]]);
}

#[test]
fn lost_and_gained_column_hints_the_rename_flag() {
    let Some(py) = python() else {
        return;
    };
    let p = Project::new();
    models(&p, CASES[1].before);
    make(&p, &py, &["-v", "1", "a"]).expect(0);
    p.run(&["upgrade"]).expect(0);
    models(&p, &CASES[1].before.replace("\"legacy\"", "\"notes\""));
    let r = make(&p, &py, &["--dry-run"]).expect(0);
    assert!(
        r.stderr.contains("--rename items.legacy:notes"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.contains("-- upgrade"), "{}", r.stdout);
    assert_eq!(
        std::fs::read_dir(p.migrations()).unwrap().count(),
        1,
        "--dry-run wrote a file"
    );
    // --json: the changes and the hint as data, still exit 3 under --check.
    let j = make(&p, &py, &["--json", "--check"]).expect(3).json();
    assert_eq!(j["changes"].as_array().unwrap().len(), 2, "{j}");
    assert_eq!(j["destructive"], true, "{j}");
    assert!(
        j["hints"][0]
            .as_str()
            .unwrap()
            .contains("--rename items.legacy:notes"),
        "{j}"
    );
    assert_eq!(j["written"], false, "{j}");
}

#[test]
fn model_errors_name_the_file_and_line_and_paths_tried() {
    let Some(py) = python() else {
        return;
    };
    let p = Project::new();
    let pyenv = [("JETBASE_PYTHON", py.to_str().unwrap())];
    std::fs::write(
        p.root().join("models.py"),
        "import os\n\nimport no_such_module_here\n",
    )
    .unwrap();
    let r = make(&p, &py, &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("models.py:3"), "{}", r.stderr);
    assert!(r.stderr.contains("no_such_module_here"), "{}", r.stderr);
    std::fs::remove_file(p.root().join("models.py")).unwrap();
    let r = p.run_in(&p.dir(), &["make-migrations"], &pyenv);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("app/models.py"), "{}", r.stderr);
    assert!(r.stderr.contains("--models"), "{}", r.stderr);
    // A model in a schema of its own is refused, not silently left out (or, on MySQL,
    // created in another real database).
    models(
        &p,
        "class Event(Base):\n    __tablename__ = \"events\"\n    __table_args__ = {\"schema\": \"audit\"}\n    id: Mapped[int] = mapped_column(primary_key=True)\n",
    );
    let r = make(&p, &py, &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("audit.events (module models)"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("drop schema="), "{}", r.stderr);
    assert_eq!(std::fs::read_dir(p.migrations()).unwrap().count(), 0);
}

#[test]
fn sqlite_views_over_a_rebuilt_table_are_kept() {
    let Some(py) = python() else {
        return;
    };
    let p = Project::new();
    let mm = |args: &[&str]| make(&p, &py, args);
    let item = |len: u32| {
        format!(
            "class Item(Base):\n    __tablename__ = \"items\"\n    id: Mapped[int] = mapped_column(primary_key=True)\n    name: Mapped[str] = mapped_column(String({len}))\n"
        )
    };
    models(&p, &item(80));
    mm(&["-v", "1", "a"]).expect(0);
    p.run(&["upgrade"]).expect(0);
    p.exec("INSERT INTO items (id, name) VALUES (1, 'bolt')");
    p.exec("CREATE VIEW item_names AS SELECT name FROM items");
    // A wider type: SQLite rebuilds the table, and the view over it must survive.
    models(&p, &item(120));
    mm(&["-v", "2", "b"]).expect(0);
    let text = std::fs::read_to_string(p.migrations().join("V2__b.sql")).unwrap();
    assert!(text.contains("DROP VIEW \"item_names\";"), "{text}");
    p.run(&["upgrade"]).expect(0);
    assert_eq!(p.rows("SELECT name FROM item_names"), vec![vec!["bolt"]]);
    assert_eq!(mm(&[]).expect(0).stdout, "No changes detected.\n");
    p.run(&["rollback"]).expect(0);
    assert_eq!(p.rows("SELECT name FROM item_names"), vec![vec!["bolt"]]);
}

#[test]
fn mariadb_dev_url_must_be_empty_and_is_left_empty() {
    let Some(py) = python() else {
        return;
    };
    let (Some(p), Some(dev)) = (Project::on(&common::MYSQL), Project::on(&common::MYSQL)) else {
        return;
    };
    let mm = |args: &[&str]| make(&p, &py, &[&["--dev-url", dev.url.as_str()], args].concat());
    models(&p, CASES[2].before);
    dev.exec("CREATE TABLE leftover (id INTEGER)");
    let r = mm(&["--check"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("must be empty"), "{}", r.stderr);
    assert_eq!(
        dev.tables(),
        vec!["leftover"],
        "jetbase touched a table it did not make"
    );
    dev.exec("DROP TABLE leftover");
    mm(&["-v", "1", "a"]).expect(0);
    assert!(dev.tables().is_empty(), "{:?}", dev.tables());
    p.run(&["upgrade"]).expect(0);
    // A pending file is counted on the scratch copy: generated, not applied, nothing more.
    models(&p, CASES[2].after);
    mm(&["-v", "2", "b"]).expect(0);
    assert_eq!(mm(&[]).expect(0).stdout, "No changes detected.\n");
    assert!(dev.tables().is_empty(), "{:?}", dev.tables());
    assert_eq!(p.versions(), vec!["1"]);
}

/// PostgreSQL runs the pending files on the live database inside a transaction it rolls
/// back: a pending file's `COMMIT` must not commit them, and `CREATE INDEX CONCURRENTLY`
/// (which no transaction accepts) counts as the index it makes.
#[test]
fn postgres_pending_files_never_commit_and_concurrently_counts_as_its_index() {
    let Some(py) = python() else {
        return;
    };
    let Some(p) = Project::on(&common::POSTGRES) else {
        return;
    };
    let users = "class User(Base):\n    __tablename__ = \"users\"\n    id: Mapped[int] = mapped_column(primary_key=True)\n    email: Mapped[str] = mapped_column(String(80))\n";
    models(&p, users);
    make(&p, &py, &["-v", "1", "users"]).expect(0);
    p.run(&["upgrade"]).expect(0);
    p.write(
        "V2__email_index.sql",
        "-- jetbase: transaction=false\n-- upgrade\nCREATE INDEX CONCURRENTLY ix_users_email ON users (email);\n-- rollback\nDROP INDEX CONCURRENTLY ix_users_email;\n",
    );
    p.write(
        "V3__notes.sql",
        "-- upgrade\nBEGIN;\nCREATE TABLE notes (id INTEGER PRIMARY KEY);\nCOMMIT;\n-- rollback\nDROP TABLE notes;\n",
    );
    // A rollback does not undo setval: the comparison must not run it on the live sequence.
    p.write(
        "V4__sequence.sql",
        "-- upgrade\nUPDATE users SET email = lower(email);\nSELECT setval('users_id_seq', 500);\n",
    );
    let sequence = || p.rows("SELECT last_value, is_called FROM users_id_seq");
    let sequence_before = sequence();
    let with_both = format!(
        "{}\n\nclass Note(Base):\n    __tablename__ = \"notes\"\n    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)\n",
        users.replace("String(80))", "String(80), index=True)")
    );
    models(&p, &with_both);
    let r = make(&p, &py, &["--check"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.stdout, "No changes detected.\n");
    // Nothing of the pending files reached the live database.
    assert!(
        !p.table_exists("notes"),
        "a pending file's COMMIT committed"
    );
    assert_eq!(
        p.rows("SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_users_email'"),
        vec![vec!["0"]]
    );
    assert_eq!(
        sequence(),
        sequence_before,
        "a pending setval reached the live sequence"
    );
    // They still apply as written.
    p.run(&["upgrade"]).expect(0);
    assert!(p.table_exists("notes"));
    assert_eq!(sequence()[0][0], "500");
    assert_eq!(
        make(&p, &py, &["--check"]).expect(0).stdout,
        "No changes detected.\n"
    );
}

/// MySQL runs the pending files on a scratch database of a real server: one that names the
/// live database, or another database of the server, would change it from there, so it is
/// refused, naming the file and line, and nothing is changed. Data changes and statements
/// that act on the server (users, grants) are left out of the copy.
#[test]
fn mariadb_pending_file_naming_a_database_is_refused_and_server_statements_never_run() {
    let Some(py) = python() else {
        return;
    };
    let (Some(p), Some(other)) = (Project::on(&common::MYSQL), Project::on(&common::MYSQL)) else {
        return;
    };
    models(&p, CASES[2].before);
    make(&p, &py, &["-v", "1", "a"]).expect(0);
    p.run(&["upgrade"]).expect(0);
    let db_of = |p: &Project| p.sqlx_url().rsplit_once('/').unwrap().1.to_owned();
    let (live, other_db) = (db_of(&p), db_of(&other));
    let columns = || {
        p.rows(
            "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'authors'",
        )
    };
    let before = columns();
    p.write(
        "V2__more.sql",
        &format!("-- upgrade\nALTER TABLE `{live}`.authors ADD COLUMN extra INT;\n"),
    );
    let r = make(&p, &py, &["--check"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains(&format!("V2__more.sql:2 names the live database `{live}`")),
        "{}",
        r.stderr
    );
    assert_eq!(columns(), before, "the live table was altered");

    p.write(
        "V2__more.sql",
        &format!("-- upgrade\nCREATE TABLE {other_db}.made_here (id INT);\n"),
    );
    let r = make(&p, &py, &["--check"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "V2__more.sql:2 names the database `{other_db}` of the same server"
        )),
        "{}",
        r.stderr
    );
    assert!(other.tables().is_empty(), "{:?}", other.tables());

    other.exec("CREATE TABLE kept (id INTEGER)");
    other.exec("INSERT INTO kept (id) VALUES (1)");
    let user = format!("jb_probe_{}", std::process::id());
    p.write(
        "V2__more.sql",
        &format!(
            "-- upgrade\nINSERT INTO authors (id, name) VALUES (1, 'x');\nDELETE FROM `{other_db}`.kept;\nCREATE USER '{user}'@'localhost';\nGRANT SELECT ON `{live}`.* TO '{user}'@'localhost';\n-- rollback\nDROP USER '{user}'@'localhost';\n"
        ),
    );
    let r = make(&p, &py, &["--check"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.stdout, "No changes detected.\n");
    assert_eq!(other.rows("SELECT COUNT(*) FROM kept"), vec![vec!["1"]]);
    assert_eq!(p.rows("SELECT COUNT(*) FROM authors"), vec![vec!["0"]]);
    assert_eq!(
        p.rows(&format!(
            "SELECT COUNT(*) FROM mysql.user WHERE User = '{user}'"
        )),
        vec![vec!["0"]],
        "a pending file's CREATE USER ran on the server"
    );
    // The file itself still applies as written.
    p.run(&["upgrade"]).expect(0);
    assert_eq!(other.rows("SELECT COUNT(*) FROM kept"), vec![vec!["0"]]);
    p.run(&["rollback"]).expect(0);
}

/// An index renamed in the models (same definition) is renamed in the database: PostgreSQL
/// with `ALTER INDEX ... RENAME`, SQLite and MySQL by dropping and creating it; the rollback
/// brings the old name back.
fn index_renamed_in_the_models(server: &'static common::Server) {
    let Some(py) = python() else {
        return;
    };
    let Some(p) = Project::on(server) else {
        return;
    };
    let users = |index: &str| {
        format!(
            "class User(Base):\n    __tablename__ = \"users\"\n    __table_args__ = (Index(\"{index}\", \"email\"),)\n    id: Mapped[int] = mapped_column(primary_key=True)\n    email: Mapped[str] = mapped_column(String(80))\n"
        )
    };
    let names_sql = match server.name {
        "sqlite" => {
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'users' AND sql IS NOT NULL ORDER BY name"
        }
        "postgres" => {
            "SELECT indexname FROM pg_indexes WHERE tablename = 'users' AND indexname <> 'users_pkey' ORDER BY indexname"
        }
        _ => {
            "SELECT DISTINCT index_name FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = 'users' AND index_name <> 'PRIMARY' ORDER BY index_name"
        }
    };
    let names = || p.rows(names_sql);
    models(&p, &users("ix_old"));
    make(&p, &py, &["-v", "1", "users"]).expect(0);
    p.run(&["upgrade"]).expect(0);
    assert_eq!(names(), vec![vec!["ix_old"]]);
    models(&p, &users("ix_new"));
    make(&p, &py, &["-v", "2", "rename"]).expect(0);
    let text = std::fs::read_to_string(p.migrations().join("V2__rename.sql")).unwrap();
    let upgrade = text.split("-- rollback").next().unwrap();
    if server.name == "postgres" {
        assert!(
            upgrade.contains("ALTER INDEX \"ix_old\" RENAME TO \"ix_new\";"),
            "{text}"
        );
    } else {
        assert!(
            upgrade.contains("ix_old") && upgrade.contains("ix_new"),
            "{text}"
        );
    }
    p.run(&["upgrade"]).expect(0);
    assert_eq!(names(), vec![vec!["ix_new"]]);
    assert_eq!(
        make(&p, &py, &["--check"]).expect(0).stdout,
        "No changes detected.\n"
    );
    p.run(&["rollback"]).expect(0);
    assert_eq!(names(), vec![vec!["ix_old"]]);
}

#[test]
fn index_renamed_in_the_models_is_renamed_on_sqlite() {
    index_renamed_in_the_models(&common::SQLITE);
}

#[test]
fn index_renamed_in_the_models_is_renamed_on_postgres() {
    index_renamed_in_the_models(&common::POSTGRES);
}

#[test]
fn index_renamed_in_the_models_is_renamed_on_mariadb() {
    index_renamed_in_the_models(&common::MYSQL);
}

/// A new enum label used in the file that adds it (a default): PostgreSQL refuses that in
/// one transaction, so the file runs statement by statement and says why; as a pending
/// file (which the comparison runs in one rolled-back transaction) it is named with the way
/// on.
#[test]
fn postgres_new_enum_label_used_in_its_file_runs_statement_by_statement() {
    let Some(py) = python() else {
        return;
    };
    let Some(p) = Project::on(&common::POSTGRES) else {
        return;
    };
    let moods = |labels: &str, extra: &str| {
        format!(
            "import enum\nfrom sqlalchemy import Enum\n\nclass Mood(enum.Enum):\n{labels}\nclass Person(Base):\n    __tablename__ = \"people\"\n    id: Mapped[int] = mapped_column(primary_key=True)\n    mood = mapped_column(Enum(Mood, name=\"mood\"), nullable=True)\n{extra}"
        )
    };
    models(&p, &moods("    sad = 1\n    ok = 2\n", ""));
    make(&p, &py, &["-v", "1", "people"]).expect(0);
    p.run(&["upgrade"]).expect(0);
    models(
        &p,
        &moods(
            "    sad = 1\n    ok = 2\n    happy = 3\n",
            "    usual = mapped_column(Enum(Mood, name=\"mood\"), server_default=\"happy\")\n",
        ),
    );
    make(&p, &py, &["-v", "2", "happy"]).expect(0);
    let text = std::fs::read_to_string(p.migrations().join("V2__happy.sql")).unwrap();
    assert!(text.contains("-- jetbase: transaction=false\n"), "{text}");
    assert!(
        text.contains("the new label 'happy' of enum type mood"),
        "{text}"
    );
    assert!(text.contains("ADD VALUE 'happy'"), "{text}");
    // Pending: the comparison cannot run it, and says how to go on.
    let r = make(&p, &py, &["--check"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("apply them first"), "{}", r.stderr);
    p.run(&["upgrade"]).expect(0);
    assert_eq!(
        make(&p, &py, &["--check"]).expect(0).stdout,
        "No changes detected.\n"
    );
    p.exec("INSERT INTO people (id) VALUES (1)");
    assert_eq!(
        p.rows("SELECT usual::text FROM people"),
        vec![vec!["happy"]]
    );
}

#[test]
fn warehouses_are_refused_with_a_clear_message() {
    // No Python and no server needed: the database kind is checked first.
    let p = Project::new();
    for url in [
        "clickhouse://admin:s3cret-pw@127.0.0.1:1/db",
        "databricks://token:s3cret-pw@127.0.0.1:1?http_path=/sql/1.0/warehouses/x",
    ] {
        std::fs::write(
            p.dir().join("env.py"),
            format!("sqlalchemy_url = \"{url}\"\n"),
        )
        .unwrap();
        let r = p.run(&["make-migrations"]);
        assert_eq!(r.code, 2, "{url}: {}", r.stderr);
        assert!(r.stderr.contains("written by hand"), "{}", r.stderr);
        assert!(!r.stderr.contains("s3cret-pw") && !r.stdout.contains("s3cret-pw"));
    }
}
