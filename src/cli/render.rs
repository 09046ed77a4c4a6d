//! Drawing reports for people (the original's wording) or as JSON, and errors on stderr.

use std::io::{IsTerminal, Write};
use std::path::Path;

use serde::Serialize;

use super::table::Table;
use crate::error::Error;
use crate::report::{
    AuditReport, ConfigReport, CurrentReport, HistoryReport, InitReport, LockReport, MakeReport,
    NewReport, Preview, RollbackReport, StatusItem, StatusReport, UnlockReport, UpgradeReport,
    WaitReport,
};

/// Where reports go: stdout, as text or JSON.
pub struct Out {
    json: bool,
}

/// Write to stdout; a closed pipe (`| head`) ends the program quietly.
fn emit(text: &str) {
    let mut out = std::io::stdout().lock();
    if out
        .write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .is_err()
    {
        std::process::exit(0);
    }
}

/// Write bytes made elsewhere (a completion script, a man page) to stdout, as [`emit`].
pub(super) fn emit_bytes(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    if out.write_all(bytes).and_then(|()| out.flush()).is_err() {
        std::process::exit(0);
    }
}

const RULE: &str = "----------------------------------------";

fn previews(title: &str, items: &[Preview]) -> String {
    let mut s = format!("\nJETBASE - Dry Run Mode\n{title}\n{RULE}\n\n\n");
    for p in items {
        let n = p.statements.len();
        s.push_str(&format!(
            "SQL Preview for {} ({n} {})\n\n",
            p.filename,
            if n == 1 { "statement" } else { "statements" }
        ));
        for st in &p.statements {
            s.push_str(&st.sql);
            s.push_str("\n\n");
        }
        for w in &p.warnings {
            s.push_str(&format!("-- warning: {w}\n\n"));
        }
        s.push_str(RULE);
        s.push_str("\n\n");
    }
    s
}

fn status_rows(items: &[StatusItem]) -> Vec<Vec<String>> {
    items
        .iter()
        .map(|i| vec![i.version.clone(), i.description.clone()])
        .collect()
}

impl Out {
    pub fn new(json: bool) -> Out {
        Out { json }
    }

    fn json<T: Serialize>(&self, value: &T) -> bool {
        if self.json {
            let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "{}".into());
            emit(&format!("{text}\n"));
        }
        self.json
    }

    pub fn upgrade(&self, r: &UpgradeReport) {
        if self.json(r) {
            return;
        }
        if r.up_to_date {
            emit("Migrations are up to date.\n");
        } else if r.dry_run {
            emit(&previews(
                "No SQL will be executed. This is a preview of what would happen.",
                &r.preview,
            ));
        } else {
            // A fold from +0.0: the sum of no f64 is -0.0 (printed "-0.0").
            let ms = r.applied.iter().fold(0.0, |ms, a| ms + a.duration_ms);
            emit(&format!(
                "Applied {} migration(s) in {ms:.1} ms.\n",
                r.applied.len()
            ));
        }
    }

    pub fn rollback(&self, r: &RollbackReport) {
        if self.json(r) {
            return;
        }
        if r.dry_run && !r.preview.is_empty() {
            emit(&previews(
                "No SQL will be executed. This is a preview of what would happen.",
                &r.preview,
            ));
        } else if r.rolled_back.is_empty() && r.preview.is_empty() {
            emit("Nothing to rollback.\n");
        } else {
            emit(&format!(
                "Rolled back {} migration(s).\n",
                r.rolled_back.len()
            ));
        }
    }

    pub fn status(&self, r: &StatusReport) {
        if self.json(r) {
            return;
        }
        let applied = Table {
            title: "Migrations Applied",
            headers: &["Version", "Description"],
            rows: status_rows(&r.applied),
        };
        let pending = Table {
            title: "Migrations Pending",
            headers: &["Version", "Description"],
            rows: status_rows(&r.pending),
        };
        emit(&format!("{}\n{}", applied.render(), pending.render()));
    }

    pub fn history(&self, r: &HistoryReport) {
        if self.json(r) {
            return;
        }
        if !r.table_exists {
            emit("No migrations have been applied.\n");
            return;
        }
        if r.rows.is_empty() {
            emit("No migrations have been applied yet.\n");
            return;
        }
        let t = Table {
            title: "Migration History",
            headers: &["Version", "Order Executed", "Description", "Applied At"],
            rows: r
                .rows
                .iter()
                .map(|row| {
                    vec![
                        row.display_version().to_owned(),
                        row.order_executed.to_string(),
                        row.description.clone(),
                        row.applied_at.chars().take(22).collect(),
                    ]
                })
                .collect(),
        };
        emit(&t.render());
    }

    pub fn current(&self, r: &CurrentReport) {
        if self.json(r) {
            return;
        }
        match &r.version {
            Some(v) => emit(&format!("Latest migration version: {v}\n")),
            None => emit("No migrations have been applied yet.\n"),
        }
    }

    pub fn lock_status(&self, r: &LockReport) {
        if self.json(r) {
            return;
        }
        if !r.supported {
            emit("This database does not support the migration lock.\n");
        } else if r.status.is_locked {
            let at = r.status.locked_at.as_deref().unwrap_or("unknown");
            let mut s = format!(
                "Status: LOCKED\nLocked At: {at}\nHeld By: {}\n",
                r.status.holder()
            );
            if let Some(l) = &r.status.lease {
                #[allow(clippy::cast_precision_loss)]
                let left = l.ttl_seconds as f64 - l.heartbeat_age_seconds;
                s += &format!(
                    "Heartbeat: {:.1} s ago (lease {} s, {})\n",
                    l.heartbeat_age_seconds,
                    l.ttl_seconds,
                    if left > 0.0 {
                        format!("expires in {left:.1} s")
                    } else {
                        format!("expired {:.1} s ago: the next upgrade takes it over", -left)
                    }
                );
            }
            emit(&s);
        } else {
            emit("Status: UNLOCKED\n");
        }
    }

    pub fn unlock(&self, r: &UnlockReport) {
        if self.json(r) {
            return;
        }
        emit("Unlock successful.\n");
    }

    pub fn audit(&self, r: &AuditReport) {
        if self.json(r) {
            return;
        }
        if r.nothing_applied {
            emit("No migrations have been applied; nothing to repair.\n");
            return;
        }
        let of = |kind: &str| -> Vec<String> {
            r.problems
                .iter()
                .filter(|p| p.kind == kind)
                .map(|p| {
                    p.version
                        .clone()
                        .or_else(|| p.filename.clone())
                        .unwrap_or_default()
                })
                .collect()
        };
        let arrows = |items: &[String]| -> String {
            items
                .iter()
                .map(|i| format!("→ {i}"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let sums = of("checksum_mismatch");
        let mut missing = of("missing_file");
        let missing_rep = of("missing_repeatable_file");
        let mut s = String::new();
        if r.checks.contains(&"files") {
            if r.fixed {
                if !missing.is_empty() {
                    s += &format!(
                        "Stopped tracking the following missing versions:\n{}\n",
                        arrows(&missing)
                    );
                }
                if !missing_rep.is_empty() {
                    s += &format!(
                        "Removed the following missing repeatable migrations from the database:\n{}\n",
                        arrows(&missing_rep)
                    );
                }
                if missing.is_empty() && missing_rep.is_empty() {
                    s += "No missing migration files.\n";
                }
            } else if missing.is_empty() && missing_rep.is_empty() {
                s += "All migrations have corresponding files.\n";
            } else {
                missing.extend(missing_rep);
                s += &format!(
                    "The following migration versions are missing their corresponding files:\n{}\n",
                    arrows(&missing)
                );
            }
        }
        if r.checks.contains(&"checksums") {
            if sums.is_empty() {
                s +=
                    "All migration checksums are valid - no altered upgrade statements detected.\n";
            } else if r.fixed {
                for v in &sums {
                    s += &format!("Repaired checksum for version: {v}\n");
                }
                s += "Successfully repaired checksums\n";
            } else {
                s += &format!(
                    "JETBASE - Checksum Audit Report\n{RULE}\nChanges detected in the following migration versions:\n{}\n",
                    arrows(&sums)
                );
            }
        }
        if r.fixed && r.checks.len() == 2 {
            s += "Fix completed successfully.\n";
        }
        emit(&s);
    }

    pub fn init(&self, r: &InitReport, abs: &Path) {
        if self.json(r) {
            return;
        }
        let mut s = format!("Initialized Jetbase project in {}\n", abs.display());
        for k in &r.kept {
            if k.ends_with("env.py") {
                s += &format!("Kept the existing {k} (not overwritten).\n");
            }
        }
        emit(&s);
    }

    pub fn new_file(&self, r: &NewReport) {
        if self.json(r) {
            return;
        }
        emit(&format!("Created migration file: {}\n", r.filename));
    }

    pub fn make_migrations(&self, r: &MakeReport) {
        // Warnings and hints go to stderr in both modes (JSON carries them too).
        for w in &r.warnings {
            eprintln!("warning: {w}");
        }
        for h in &r.hints {
            eprintln!("hint: {h}");
        }
        if self.json(r) {
            return;
        }
        if r.changes.is_empty() {
            emit("No changes detected.\n");
            return;
        }
        let mut text = String::new();
        if let Some(content) = &r.content {
            text.push_str(content);
        } else if r.check {
            text.push_str("The database differs from the models:\n");
        } else if let Some(f) = &r.filename {
            text.push_str(&format!(
                "Created migration file: {f} ({} statement(s))\n",
                r.statements
            ));
        } else if !r.left_out.is_empty() {
            text.push_str("Nothing written: every change is one --no-destructive leaves out:\n");
        }
        if r.content.is_none() {
            for c in &r.changes {
                text.push_str(&format!("  - {c}\n"));
            }
        }
        emit(&text);
    }

    pub fn wait(&self, r: &WaitReport) {
        if self.json(r) {
            return;
        }
        emit(&format!(
            "Database is ready: {} ({} attempt(s), {:.0} ms)\n",
            r.url, r.attempts, r.waited_ms
        ));
    }

    pub fn config(&self, r: &ConfigReport) {
        if self.json(r) {
            return;
        }
        let t = Table {
            title: "Jetbase Configuration",
            headers: &["Key", "Value", "Source"],
            rows: r
                .entries
                .iter()
                .map(|e| {
                    vec![
                        e.key.clone(),
                        e.value.clone(),
                        serde_json::to_value(e.source)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default(),
                    ]
                })
                .collect(),
        };
        let pool = Table {
            title: "Connection Layer (jetbase::db)",
            headers: &["Setting", "Value"],
            rows: r
                .pool
                .iter()
                .map(|(k, v)| vec![k.clone(), v.clone()])
                .collect(),
        };
        emit(&format!(
            "Project: {}\nMigrations: {}\nBackend: {}\n{}\n{}",
            r.project_dir,
            r.migrations_dir,
            r.backend,
            t.render(),
            pool.render()
        ));
    }
}

#[derive(Serialize)]
struct JsonError<'a> {
    error: String,
    hint: Option<String>,
    exit_code: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    problems: Option<&'a [crate::error::Problem]>,
}

/// Print an error: `error:`, `caused by:` and `hint:` lines on stderr; with `--json`, also a
/// JSON object on stdout.
pub fn error(e: &Error, json: bool) {
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let (red, yellow, reset) = if color {
        ("\x1b[31;1m", "\x1b[33m", "\x1b[0m")
    } else {
        ("", "", "")
    };
    let mut s = format!("{red}error:{reset} {e}\n");
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !s.contains(&text) {
            s += &format!("caused by: {text}\n");
        }
        source = cause.source();
    }
    if let Error::Statement { statement, .. } = e {
        let first: String = statement.lines().take(6).collect::<Vec<_>>().join("\n  ");
        s += &format!("statement:\n  {first}\n");
    }
    if let Some(h) = e.hint() {
        s += &format!("{yellow}hint:{reset} {h}\n");
    }
    let _ = std::io::stderr().write_all(s.as_bytes());
    if json {
        let problems = match e {
            Error::Validation { problems } => Some(problems.as_slice()),
            _ => None,
        };
        let obj = JsonError {
            error: e.to_string(),
            hint: e.hint(),
            exit_code: e.exit_code(),
            problems,
        };
        emit(&format!(
            "{}\n",
            serde_json::to_string_pretty(&obj).unwrap_or_default()
        ));
    }
}
