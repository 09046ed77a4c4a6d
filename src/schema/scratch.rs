//! Pending migration files as `make-migrations` runs them on its scratch copy, where only
//! their effect on the schema counts: on PostgreSQL that copy is the live database inside a
//! transaction that is always rolled back, so a statement that would end that transaction
//! (`COMMIT`) must never run there, and one that cannot run inside a transaction
//! (`CREATE INDEX CONCURRENTLY`) runs in the form that gives the same schema. Pure.

use super::plan::Target;

/// What becomes of one statement of a pending file on the scratch copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scratch {
    /// Run it as written.
    Run,
    /// Run this instead: the same schema change, in a form a transaction accepts.
    Instead(String),
    /// Leave it out: it changes no schema, or it would end the comparison's transaction
    /// (`why` says which).
    Skip(&'static str),
}

/// Transaction control: on the rolled-back copy it would commit pending changes to the live
/// database, or end the transaction the comparison reads in.
const TRANSACTION_CONTROL: &[&str] = &[
    "BEGIN",
    "START",
    "COMMIT",
    "END",
    "ROLLBACK",
    "ABORT",
    "SAVEPOINT",
    "RELEASE",
    "PREPARE",
];

/// Statements that maintain or configure a PostgreSQL server without changing the schema
/// `make-migrations` compares, and that (mostly) refuse to run inside a transaction.
const PG_MAINTENANCE: &[&str] = &["VACUUM", "REINDEX", "CHECKPOINT", "CLUSTER", "DISCARD"];

/// The leading words of `sql` (comments skipped), upper-cased, with the byte range of each.
fn words(sql: &str, max: usize) -> Vec<(String, std::ops::Range<usize>)> {
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() && out.len() < max {
        let rest = &sql[i..];
        if rest.starts_with("--") {
            i += rest.find('\n').unwrap_or(rest.len());
        } else if rest.starts_with("/*") {
            i += rest.find("*/").map_or(rest.len(), |e| e + 2);
        } else if bytes[i].is_ascii_alphabetic() || bytes[i] == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            out.push((sql[start..i].to_ascii_uppercase(), start..i));
        } else if bytes[i].is_ascii_whitespace() {
            i += 1;
        } else {
            // A quoted name, a parenthesis: the leading keywords end here.
            break;
        }
    }
    out
}

/// `sql` without the word at `range` (and one space after it).
fn without(sql: &str, range: &std::ops::Range<usize>) -> String {
    let after = sql[range.end..].trim_start();
    format!("{}{after}", &sql[..range.start])
}

/// How the scratch copy for `target` runs one statement of a pending file.
#[must_use]
pub fn statement(target: Target, sql: &str) -> Scratch {
    let w = words(sql, 6);
    let Some((first, _)) = w.first() else {
        return Scratch::Run;
    };
    let second = w.get(1).map_or("", |(s, _)| s.as_str());
    if TRANSACTION_CONTROL.contains(&first.as_str()) {
        // `START` and `PREPARE` only as `START TRANSACTION` and `PREPARE TRANSACTION` (a
        // prepared statement is `PREPARE name ...`).
        if !matches!(first.as_str(), "START" | "PREPARE") || second == "TRANSACTION" {
            return Scratch::Skip(
                "transaction control, which would end the comparison's transaction",
            );
        }
    }
    match target {
        Target::Mysql => mysql(sql, &w),
        Target::Sqlite if matches!(first.as_str(), "ATTACH" | "DETACH") => {
            Scratch::Skip("it opens another database file")
        }
        Target::Postgres => postgres(sql, &w),
        Target::Sqlite => Scratch::Run,
    }
}

/// Statements that act on a MySQL/MariaDB server (its users, databases, configuration,
/// replication, plugins) rather than on the schema of one database: the scratch copy is a
/// database on the same server, so they would take effect for real.
const MYSQL_SERVER: &[&str] = &[
    "GRANT",
    "REVOKE",
    "FLUSH",
    "KILL",
    "SHUTDOWN",
    "RESTART",
    "RESET",
    "PURGE",
    "INSTALL",
    "UNINSTALL",
    "CHANGE",
    "XA",
    "BINLOG",
    "CACHE",
];

/// What `CREATE`, `ALTER`, `DROP` or `RENAME` acts on when it is the server, not the schema.
const MYSQL_SERVER_OBJECTS: &[&str] = &[
    "USER",
    "ROLE",
    "SERVER",
    "DATABASE",
    "SCHEMA",
    "TABLESPACE",
    "LOGFILE",
    "RESOURCE",
    "INSTANCE",
];

/// MySQL/MariaDB: the scratch copy is a database on a real server, so only what changes the
/// schema of that one database may run there. Data changes are left out (the copy holds no
/// rows, and one written as `other_db.t` would change another database).
fn mysql(sql: &str, w: &[(String, std::ops::Range<usize>)]) -> Scratch {
    let word = |i: usize| w.get(i).map_or("", |(s, _)| s.as_str());
    let server = "it acts on the server (users, databases, configuration), not on this schema";
    match word(0) {
        "USE" => return Scratch::Skip("it would leave the scratch database for another"),
        "INSERT" | "UPDATE" | "DELETE" | "REPLACE" | "LOAD" | "TRUNCATE" | "HANDLER" => {
            return Scratch::Skip("it changes data, not the schema");
        }
        "START" | "STOP" if matches!(word(1), "SLAVE" | "REPLICA" | "GROUP_REPLICATION") => {
            return Scratch::Skip(server);
        }
        "SHOW" | "DESCRIBE" | "DESC" | "EXPLAIN" | "ANALYZE" | "CHECK" | "CHECKSUM"
        | "OPTIMIZE" | "REPAIR" => {
            return Scratch::Skip("it changes no schema");
        }
        w0 if MYSQL_SERVER.contains(&w0) => return Scratch::Skip(server),
        _ => {}
    }
    // CREATE [OR REPLACE] [DEFINER = ...] USER|ROLE|DATABASE ..., ALTER USER, DROP DATABASE...
    let object = match (word(0), word(1), word(2)) {
        ("CREATE", "OR", "REPLACE") => word(3),
        ("CREATE" | "ALTER" | "DROP" | "RENAME", o, _) => o,
        _ => "",
    };
    if MYSQL_SERVER_OBJECTS.contains(&object) {
        return Scratch::Skip(server);
    }
    let upper = sql.to_ascii_uppercase();
    if word(0) == "SET" {
        let rest = upper[w[0].1.end..].trim_start();
        if [
            "GLOBAL",
            "PERSIST",
            "PASSWORD",
            "DEFAULT ROLE",
            "@@GLOBAL.",
            "@@PERSIST",
        ]
        .iter()
        .any(|p| rest.starts_with(p))
        {
            return Scratch::Skip(server);
        }
    }
    // A loadable function (`CREATE FUNCTION f RETURNS ... SONAME 'lib.so'`) is server-wide;
    // a query that writes a file on the server writes it for real.
    if (word(0) == "CREATE" && upper.contains(" SONAME "))
        || upper.contains("INTO OUTFILE")
        || upper.contains("INTO DUMPFILE")
    {
        return Scratch::Skip(server);
    }
    Scratch::Run
}

/// PostgreSQL functions whose effect a rollback does not undo (a sequence set, a session
/// ended, a file written, a statement run on another connection): a `SELECT` calling one
/// is left out, as it changes no schema.
const PG_NOT_UNDONE: &[&str] = &[
    "SETVAL(",
    "PG_TERMINATE_BACKEND(",
    "PG_CANCEL_BACKEND(",
    "PG_RELOAD_CONF(",
    "PG_ROTATE_LOGFILE(",
    "PG_SWITCH_WAL(",
    "LO_EXPORT(",
    "DBLINK_EXEC(",
    "PG_FILE_WRITE(",
];

/// PostgreSQL: the copy is the live database inside a transaction that is rolled back, so
/// data changes run (a later statement of the file may need them: an `UPDATE` before a
/// `SET NOT NULL`) and are undone; what a rollback cannot undo is left out.
fn postgres(sql: &str, w: &[(String, std::ops::Range<usize>)]) -> Scratch {
    let word = |i: usize| w.get(i).map_or("", |(s, _)| s.as_str());
    if PG_MAINTENANCE.contains(&word(0)) {
        return Scratch::Skip("maintenance that changes no schema");
    }
    let upper = || sql.to_ascii_uppercase().replace(char::is_whitespace, "");
    if matches!(word(0), "SELECT" | "WITH") && PG_NOT_UNDONE.iter().any(|f| upper().contains(f)) {
        return Scratch::Skip("it calls a function whose effect a rollback does not undo");
    }
    // COPY ... TO a file or program writes outside the database; COPY ... FROM loads rows
    // (undone) that a later statement may need.
    if word(0) == "COPY" {
        let u = sql.to_ascii_uppercase();
        if [" TO '", " TO PROGRAM", " TO E'", " TO STDOUT"]
            .iter()
            .any(|t| u.contains(t))
        {
            return Scratch::Skip("it writes outside the database, which a rollback does not undo");
        }
    }
    match (word(0), word(1)) {
        ("ALTER", "SYSTEM") => return Scratch::Skip("server configuration"),
        ("CREATE" | "DROP" | "ALTER", "DATABASE" | "TABLESPACE") => {
            return Scratch::Skip("it concerns another database or the server, not this schema");
        }
        _ => {}
    }
    // CREATE [UNIQUE] INDEX CONCURRENTLY, DROP INDEX CONCURRENTLY: the same index, built
    // or dropped the way a transaction allows.
    let index_at = match (word(0), word(1)) {
        ("CREATE" | "DROP", "INDEX") => Some(2),
        ("CREATE", "UNIQUE") if word(2) == "INDEX" => Some(3),
        _ => None,
    };
    if let Some(i) = index_at
        && word(i) == "CONCURRENTLY"
    {
        return Scratch::Instead(without(sql, &w[i].1));
    }
    // ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY (or FINALIZE, which completes an
    // interrupted one).
    if word(0) == "ALTER" && word(1) == "TABLE" {
        let trimmed = sql.trim_end().trim_end_matches(';').trim_end();
        let upper = trimmed.to_ascii_uppercase();
        if upper.contains("DETACH PARTITION") {
            if upper.ends_with(" FINALIZE") {
                return Scratch::Skip("it completes a detach the statement before began");
            }
            if let Some(stripped) = upper.strip_suffix(" CONCURRENTLY") {
                return Scratch::Instead(trimmed[..stripped.len()].to_owned());
            }
        }
    }
    Scratch::Run
}

/// The first of `dbs` that `sql` names as a qualifier (`db.t`, `` `db`.t ``), outside
/// strings and comments: on MySQL such a statement would reach that database from the
/// scratch one.
#[must_use]
pub fn named_database<'a>(sql: &str, dbs: &[&'a str]) -> Option<&'a str> {
    let b = sql.as_bytes();
    let mut i = 0;
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'$';
    while i < b.len() {
        let rest = &sql[i..];
        match b[i] {
            b'\'' | b'"' => {
                let q = b[i];
                i += 1;
                while i < b.len() && b[i] != q {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'`' => {
                let end = rest[1..].find('`').map_or(rest.len(), |e| e + 1);
                if rest[end..].starts_with("`.")
                    && let Some(db) = dbs.iter().find(|d| **d == &rest[1..end])
                {
                    return Some(db);
                }
                i += end + 1;
            }
            b'-' if rest.starts_with("--") => i += rest.find('\n').unwrap_or(rest.len()),
            b'#' => i += rest.find('\n').unwrap_or(rest.len()),
            b'/' if rest.starts_with("/*") => i += rest.find("*/").map_or(rest.len(), |e| e + 2),
            c if ident(c) => {
                let start = i;
                while i < b.len() && ident(b[i]) {
                    i += 1;
                }
                if sql[i..].starts_with('.')
                    && let Some(db) = dbs.iter().find(|d| **d == &sql[start..i])
                {
                    return Some(db);
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// A MySQL/MariaDB view, routine or trigger as `SHOW CREATE ...` gives it, made fit for
/// the scratch copy: without the live database's name, which the server writes before
/// every table a view reads (`` `live`.`t` ``: the copy's object must read the copy's
/// tables), and without its `DEFINER` (naming another user needs a privilege; the copy's
/// user defines it).
#[must_use]
pub fn mysql_object_copy(create: &str, live_db: &str) -> String {
    let qualifier = format!("`{}`.", live_db.replace('`', "``"));
    let mut out = create.replace(&qualifier, "");
    if let Some(at) = out.find("DEFINER=") {
        // DEFINER=`user`@`host` (or CURRENT_USER), then a space.
        let rest = &out[at..];
        let end = rest.find(' ').unwrap_or(rest.len());
        out = format!("{}{}", &out[..at], rest[end..].trim_start());
    }
    out
}

/// An order in which views can be made: each after the views its statement names
/// (`` `name` ``); views in a cycle (or named by mistake) come last, in the order given.
#[must_use]
pub fn view_order(views: &[(String, String)]) -> Vec<usize> {
    let names_other = |i: usize, j: usize| {
        i != j
            && views[i]
                .1
                .contains(&format!("`{}`", views[j].0.replace('`', "``")))
    };
    let mut placed: Vec<usize> = Vec::new();
    loop {
        let next = (0..views.len()).find(|&i| {
            !placed.contains(&i)
                && (0..views.len()).all(|j| !names_other(i, j) || placed.contains(&j))
        });
        match next {
            Some(i) => placed.push(i),
            None => break,
        }
    }
    for i in 0..views.len() {
        if !placed.contains(&i) {
            placed.push(i);
        }
    }
    placed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_control_is_never_run_on_the_rolled_back_copy() {
        for sql in [
            "COMMIT",
            "commit;",
            "BEGIN",
            "-- a comment\nROLLBACK",
            "/* x */ START TRANSACTION",
            "SAVEPOINT a",
            "RELEASE SAVEPOINT a",
            "END",
            "PREPARE TRANSACTION 'x'",
        ] {
            for t in [Target::Postgres, Target::Mysql, Target::Sqlite] {
                assert!(matches!(statement(t, sql), Scratch::Skip(_)), "{sql}");
            }
        }
        // Not transaction control.
        assert_eq!(
            statement(Target::Postgres, "CREATE TABLE begin_at (id int)"),
            Scratch::Run
        );
        assert_eq!(
            statement(Target::Mysql, "PREPARE s FROM 'SELECT 1'"),
            Scratch::Run
        );
        assert_eq!(
            statement(Target::Postgres, "START SLAVE"),
            Scratch::Run,
            "only START TRANSACTION"
        );
    }

    #[test]
    fn concurrently_is_dropped_on_postgres_only() {
        assert_eq!(
            statement(
                Target::Postgres,
                "CREATE INDEX CONCURRENTLY ix_users_email ON users (email)"
            ),
            Scratch::Instead("CREATE INDEX ix_users_email ON users (email)".into())
        );
        assert_eq!(
            statement(
                Target::Postgres,
                "-- fast\ncreate unique index concurrently if not exists ux ON t (a)"
            ),
            Scratch::Instead("-- fast\ncreate unique index if not exists ux ON t (a)".into())
        );
        assert_eq!(
            statement(Target::Postgres, "DROP INDEX CONCURRENTLY ix"),
            Scratch::Instead("DROP INDEX ix".into())
        );
        assert_eq!(
            statement(
                Target::Postgres,
                "ALTER TABLE m DETACH PARTITION m_2020 CONCURRENTLY;"
            ),
            Scratch::Instead("ALTER TABLE m DETACH PARTITION m_2020".into())
        );
        assert!(matches!(
            statement(
                Target::Postgres,
                "ALTER TABLE m DETACH PARTITION m_2020 FINALIZE"
            ),
            Scratch::Skip(_)
        ));
        // An index named "concurrently" is an index name.
        assert_eq!(
            statement(Target::Postgres, "CREATE INDEX concurrently ON t (a)"),
            Scratch::Instead("CREATE INDEX ON t (a)".into()),
            "PostgreSQL reads it as the keyword too"
        );
        assert_eq!(
            statement(Target::Sqlite, "CREATE INDEX ix ON t (a)"),
            Scratch::Run
        );
    }

    #[test]
    fn maintenance_and_server_statements_are_skipped_on_postgres() {
        for sql in [
            "VACUUM ANALYZE users",
            "REINDEX TABLE CONCURRENTLY users",
            "ALTER SYSTEM SET work_mem = '64MB'",
            "CREATE DATABASE other",
            "CHECKPOINT",
        ] {
            assert!(
                matches!(statement(Target::Postgres, sql), Scratch::Skip(_)),
                "{sql}"
            );
        }
        assert_eq!(statement(Target::Postgres, "ANALYZE users"), Scratch::Run);
        assert!(matches!(
            statement(Target::Mysql, "USE other"),
            Scratch::Skip(_)
        ));
        assert_eq!(statement(Target::Sqlite, "VACUUM"), Scratch::Run);
        assert!(matches!(
            statement(Target::Sqlite, "ATTACH DATABASE 'x.db' AS x"),
            Scratch::Skip(_)
        ));
    }

    #[test]
    fn only_schema_changes_of_the_scratch_database_run_on_mysql() {
        for sql in [
            "INSERT INTO other.audit VALUES (1)",
            "update users set a = 1",
            "DELETE FROM t",
            "REPLACE INTO t VALUES (1)",
            "TRUNCATE TABLE other.t",
            "LOAD DATA INFILE '/tmp/x' INTO TABLE t",
            "GRANT SELECT ON app.* TO 'r'@'%'",
            "REVOKE ALL ON *.* FROM u",
            "CREATE USER 'app'@'%' IDENTIFIED BY 'x'",
            "CREATE OR REPLACE USER u",
            "ALTER USER u ACCOUNT LOCK",
            "DROP USER IF EXISTS u",
            "RENAME USER a TO b",
            "CREATE ROLE r",
            "CREATE DATABASE IF NOT EXISTS other",
            "DROP SCHEMA other",
            "ALTER DATABASE app CHARACTER SET utf8mb4",
            "SET GLOBAL max_connections = 500",
            "SET PERSIST sql_mode = ''",
            "SET @@global.sql_mode = ''",
            "SET PASSWORD FOR u = 'x'",
            "SET DEFAULT ROLE r TO u",
            "FLUSH PRIVILEGES",
            "INSTALL PLUGIN x SONAME 'x.so'",
            "CREATE FUNCTION f RETURNS STRING SONAME 'udf.so'",
            "SELECT * FROM t INTO OUTFILE '/tmp/t.csv'",
            "STOP REPLICA",
            "XA START 'x'",
            "USE other",
        ] {
            assert!(
                matches!(statement(Target::Mysql, sql), Scratch::Skip(_)),
                "{sql}"
            );
        }
        for sql in [
            "CREATE TABLE t (id INT PRIMARY KEY)",
            "ALTER TABLE users ADD COLUMN c INT",
            "DROP TABLE IF EXISTS t",
            "RENAME TABLE a TO b",
            "CREATE OR REPLACE VIEW v AS SELECT 1",
            "CREATE DEFINER = CURRENT_USER TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1",
            "CREATE INDEX ix ON t (a)",
            "SET FOREIGN_KEY_CHECKS = 0",
            "SET @sql = 'x'",
            "PREPARE s FROM @sql",
            "CALL make_tables()",
        ] {
            assert_eq!(statement(Target::Mysql, sql), Scratch::Run, "{sql}");
        }
        // Elsewhere the copy is a rolled-back transaction or an in-memory database.
        assert_eq!(
            statement(Target::Postgres, "INSERT INTO t VALUES (1)"),
            Scratch::Run
        );
        assert_eq!(statement(Target::Sqlite, "DELETE FROM t"), Scratch::Run);
    }

    #[test]
    fn what_a_rollback_cannot_undo_is_skipped_on_postgres_and_data_changes_run() {
        for sql in [
            "SELECT setval('users_id_seq', 1000)",
            "select SetVal ('s', (SELECT max(id) FROM t))",
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'x'",
            "WITH m AS (SELECT max(id) AS v FROM t) SELECT setval('t_id_seq', v) FROM m",
            "SELECT dblink_exec('host=x', 'DROP TABLE t')",
            "COPY users TO '/tmp/users.csv'",
            "COPY (SELECT 1) TO PROGRAM 'cat'",
        ] {
            assert!(
                matches!(statement(Target::Postgres, sql), Scratch::Skip(_)),
                "{sql}"
            );
        }
        for sql in [
            "UPDATE t SET c = 0 WHERE c IS NULL",
            "INSERT INTO t (id) VALUES (1)",
            "DELETE FROM t",
            "COPY t FROM '/tmp/t.csv'",
            "SELECT create_hypertable('conditions', 'time')",
            "SELECT 1",
        ] {
            assert_eq!(statement(Target::Postgres, sql), Scratch::Run, "{sql}");
        }
    }

    #[test]
    fn mysql_views_are_copied_without_the_live_database_and_their_definer() {
        let shown = "CREATE ALGORITHM=UNDEFINED DEFINER=`migrator`@`%` SQL SECURITY DEFINER VIEW `nicks` AS select `app`.`users`.`id` AS `id`,`app`.`users`.`nick` AS `nick` from `app`.`users`";
        assert_eq!(
            mysql_object_copy(shown, "app"),
            "CREATE ALGORITHM=UNDEFINED SQL SECURITY DEFINER VIEW `nicks` AS select `users`.`id` AS `id`,`users`.`nick` AS `nick` from `users`"
        );
        // Another database's name stays: the copy reads it as the live view does.
        assert!(
            mysql_object_copy(
                "CREATE VIEW `v` AS select `other`.`t`.`a` AS `a` from `other`.`t`",
                "app"
            )
            .contains("`other`.`t`")
        );
    }

    #[test]
    fn views_are_made_after_the_views_they_read() {
        let views = vec![
            (
                "a_top".to_owned(),
                "VIEW `a_top` AS select * from `m_mid`".to_owned(),
            ),
            (
                "m_mid".to_owned(),
                "VIEW `m_mid` AS select * from `z_base`".to_owned(),
            ),
            (
                "z_base".to_owned(),
                "VIEW `z_base` AS select * from `users`".to_owned(),
            ),
        ];
        assert_eq!(view_order(&views), vec![2, 1, 0]);
        let cycle = vec![
            ("a".to_owned(), "`b`".to_owned()),
            ("b".to_owned(), "`a`".to_owned()),
        ];
        assert_eq!(view_order(&cycle), vec![0, 1]);
    }

    #[test]
    fn any_database_of_the_server_named_as_a_qualifier_is_found() {
        let dbs = ["app", "mysql", "billing"];
        assert_eq!(
            named_database("CREATE TABLE billing.t (id INT)", &dbs),
            Some("billing")
        );
        assert_eq!(named_database("CALL `mysql`.`p`()", &dbs), Some("mysql"));
        assert_eq!(named_database("CREATE TABLE t (id INT)", &dbs), None);
        assert_eq!(
            named_database("CREATE VIEW v AS SELECT t.a FROM t", &dbs),
            None
        );
    }

    #[test]
    fn a_qualifier_naming_the_live_database_is_found_outside_strings_and_comments() {
        let names_database = |sql: &str, db: &str| named_database(sql, &[db]).is_some();
        assert!(names_database("ALTER TABLE app.users ADD c INT", "app"));
        assert!(names_database("INSERT INTO `app`.`t` VALUES (1)", "app"));
        assert!(names_database("SELECT * FROM x JOIN app.t ON 1", "app"));
        assert!(!names_database("ALTER TABLE users ADD c INT", "app"));
        assert!(!names_database("INSERT INTO t VALUES ('app.x')", "app"));
        assert!(!names_database(
            "INSERT INTO t VALUES ('it''s', \"app.x\")",
            "app"
        ));
        assert!(!names_database("-- app.t\nSELECT 1", "app"));
        assert!(!names_database("SELECT 1 /* app.t */", "app"));
        assert!(!names_database("SELECT myapp.x FROM myapp", "app"));
        assert!(!names_database("SELECT t.app FROM t", "app"));
        assert!(!names_database("SELECT `app` FROM t", "app"));
    }
}
