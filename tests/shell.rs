//! What a shell user gets beside the binary, generated from the same clap definitions as the
//! CLI: completion scripts (the bash one loaded into a real bash and driven as bash drives
//! it on Tab), the man pages (rendered by `man -l`), and `--version` (the commit it was built
//! from and the backends compiled in).

mod common;

use std::path::Path;
use std::process::Command;

use common::{Project, Run, bin, clean_command};

fn jetbase(cwd: &Path, args: &[&str]) -> Run {
    Run::from(&clean_command(&bin(), cwd).args(args).output().unwrap())
}

/// What the bash completion function offers for `words` (the last one being completed),
/// with the script `jetbase completions bash` printed, sourced into a fresh bash.
fn bash_complete(dir: &Path, words: &[&str]) -> Vec<String> {
    let script = dir.join("jetbase.bash");
    std::fs::write(
        &script,
        jetbase(dir, &["completions", "bash"]).expect(0).stdout,
    )
    .unwrap();
    let line = words.join(" ");
    // As bash calls a `complete -F` function: COMP_WORDS, COMP_CWORD, COMP_LINE and
    // COMP_POINT set, and the command, the word being completed and the word before it as
    // arguments.
    let driver = format!(
        r#"source "$1"
complete -p jetbase | grep -q -- '-F _jetbase' || {{ echo "not registered" >&2; exit 9; }}
COMP_WORDS=({words})
COMP_CWORD={cword}
COMP_LINE='{line}'
COMP_POINT=${{#COMP_LINE}}
_jetbase jetbase "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}"
"#,
        words = words
            .iter()
            .map(|w| format!("'{w}'"))
            .collect::<Vec<_>>()
            .join(" "),
        cword = words.len() - 1,
    );
    let out = Command::new("bash")
        .arg("--norc")
        .arg("--noprofile")
        .arg("-c")
        .arg(&driver)
        .arg("driver")
        .arg(&script)
        .output()
        .unwrap();
    let run = Run::from(&out).expect(0);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    run.stdout.lines().map(str::to_owned).collect()
}

#[test]
fn completions_bash_script_completes_up_to_upgrade() {
    let p = Project::bare();
    assert_eq!(bash_complete(p.root(), &["jetbase", "up"]), ["upgrade"]);
    assert_eq!(
        bash_complete(p.root(), &["jetbase", "upgrade", "--to"]),
        ["--to-version"]
    );
    assert_eq!(
        bash_complete(p.root(), &["jetbase", "completions", "f"]),
        ["fish"]
    );
    let every = bash_complete(p.root(), &["jetbase", ""]);
    for cmd in [
        "init",
        "new",
        "upgrade",
        "rollback",
        "status",
        "validate-checksums",
        "man",
    ] {
        assert!(every.iter().any(|w| w == cmd), "{cmd} missing: {every:?}");
    }
}

#[test]
fn completions_every_shell_names_the_commands() {
    let p = Project::bare();
    for (shell, marker) in [
        ("bash", "complete -F _jetbase"),
        ("zsh", "#compdef jetbase"),
        ("fish", "complete -c jetbase"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let script = jetbase(p.root(), &["completions", shell]).expect(0).stdout;
        assert!(script.contains(marker), "{shell}: no {marker:?}");
        for cmd in ["upgrade", "lock-status", "validate-checksums", "to-version"] {
            assert!(script.contains(cmd), "{shell}: no {cmd}");
        }
    }
    // Not a shell: a usage error, and nothing on stdout.
    let r = jetbase(p.root(), &["completions", "tcsh"]).expect(2);
    assert!(
        r.stdout.is_empty() && r.stderr.contains("tcsh"),
        "{}",
        r.stderr
    );
}

/// `man -l PAGE` as text, with groff's warnings on; `None` (after `skip`) without `man`.
fn render_man(page: &Path) -> Option<String> {
    let out = match Command::new("man")
        .args(["--warnings", "-l"])
        .arg(page)
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "100")
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            common::skip(
                &format!("man cannot be run ({e})"),
                "apt-get install man-db",
            );
            return None;
        }
    };
    let run = Run::from(&out).expect(0);
    assert!(
        run.stderr.is_empty(),
        "man -l {}: {}",
        page.display(),
        run.stderr
    );
    Some(run.stdout)
}

#[test]
fn man_page_renders_with_man_and_lists_every_command() {
    let p = Project::bare();
    let page = p.root().join("jetbase.1");
    let roff = jetbase(p.root(), &["man"]).expect(0).stdout;
    assert!(
        roff.starts_with(".ie"),
        "not roff: {}",
        &roff[..roff.len().min(200)]
    );
    std::fs::write(&page, roff).unwrap();
    let Some(text) = render_man(&page) else {
        return;
    };
    assert!(text.contains("NAME") && text.contains("SYNOPSIS"), "{text}");
    assert!(text.contains("jetbase - Jetbase CLI"), "{text}");
    for cmd in [
        "jetbase-upgrade(1)",
        "jetbase-rollback(1)",
        "jetbase-validate-checksums(1)",
    ] {
        assert!(text.contains(cmd), "{cmd} missing:\n{text}");
    }
    assert!(text.contains("Exit codes: 0 success"), "{text}");
    assert!(text.contains(env!("CARGO_PKG_VERSION")), "{text}");
}

#[test]
fn man_out_dir_writes_a_page_per_command_that_renders() {
    let p = Project::bare();
    let dir = p.root().join("man1");
    std::fs::create_dir(&dir).unwrap();
    let r = jetbase(p.root(), &["man", "--out-dir", "man1"]).expect(0);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    for name in [
        "jetbase.1",
        "jetbase-upgrade.1",
        "jetbase-rollback.1",
        "jetbase-completions.1",
    ] {
        assert!(names.iter().any(|n| n == name), "{name} missing: {names:?}");
    }
    let Some(text) = render_man(&dir.join("jetbase-upgrade.1")) else {
        return;
    };
    // The command's own flags and the global ones.
    for flag in ["--to-version", "--dry-run", "--lock-timeout", "--dir"] {
        assert!(text.contains(flag), "{flag} missing:\n{text}");
    }
    // A folder that is not there: an error naming it, exit 1.
    let r = jetbase(p.root(), &["man", "--out-dir", "nowhere"]).expect(1);
    assert!(r.stderr.contains("nowhere"), "{}", r.stderr);
}

#[test]
fn version_names_the_commit_and_the_backends_built_in() {
    let p = Project::bare();
    let long = jetbase(p.root(), &["--version"]).expect(0).stdout;
    let lines: Vec<&str> = long.lines().collect();
    assert_eq!(lines.len(), 3, "{long}");
    assert_eq!(lines[0], concat!("jetbase ", env!("CARGO_PKG_VERSION")));
    let commit = lines[1].strip_prefix("commit: ").expect("a commit line");
    // Built from this repository: the commit git has checked out (a build without git says
    // `unknown`, which a test run from a clone never is).
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let head = String::from_utf8(head.stdout).unwrap();
    assert!(
        !head.trim().is_empty() && commit.starts_with(head.trim()),
        "{commit} vs HEAD {head}"
    );
    let backends = lines[2]
        .strip_prefix("backends: ")
        .expect("a backends line");
    let mut expected = vec!["SQLite"];
    if cfg!(feature = "postgres") {
        expected.push("PostgreSQL");
    }
    if cfg!(feature = "mysql") {
        expected.push("MySQL/MariaDB");
    }
    if cfg!(feature = "clickhouse") {
        expected.push("ClickHouse");
    }
    if cfg!(feature = "snowflake") {
        expected.push("Snowflake");
    }
    if cfg!(feature = "databricks") {
        expected.push("Databricks");
    }
    for name in &expected {
        assert!(
            backends.split(", ").any(|b| b == *name),
            "{name} missing: {backends}"
        );
    }
    // `-V`: one line, the version and the commit.
    let short = jetbase(p.root(), &["-V"]).expect(0).stdout;
    assert_eq!(
        short.trim_end(),
        format!("jetbase {} ({})", env!("CARGO_PKG_VERSION"), &head.trim())
    );
}
