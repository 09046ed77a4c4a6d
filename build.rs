//! Build facts for `jetbase --version`: the git commit the source was built from, as
//! `JETBASE_GIT_COMMIT` (12 hex digits, or `unknown` where there is no git or no repository:
//! a source archive, a vendored copy) and `JETBASE_GIT_COMMIT_DATE` (or empty). `JETBASE_BUILD_COMMIT` overrides
//! it, for packagers building from an archive. Nothing else: no code generation.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=JETBASE_BUILD_COMMIT");
    // The example app embeds this folder (`embed_migrations!`): a file added or removed
    // there must rebuild it, which only a build script can ask of cargo.
    println!("cargo:rerun-if-changed=examples/jetbase/migrations");
    let manifest_dir =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let (commit, date) = match std::env::var("JETBASE_BUILD_COMMIT") {
        Ok(commit) if !commit.trim().is_empty() => (commit.trim().to_owned(), None),
        _ => git_commit(&manifest_dir).unwrap_or(("unknown".to_owned(), None)),
    };
    println!("cargo:rustc-env=JETBASE_GIT_COMMIT={commit}");
    println!(
        "cargo:rustc-env=JETBASE_GIT_COMMIT_DATE={}",
        date.unwrap_or_default()
    );
}

/// `git args` in `dir`: its trimmed output, or `None` when git is missing or fails.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_owned())
}

/// The commit checked out in `dir`, when `dir` is the top of a git work tree (not a copy
/// sitting inside some other repository), and the files whose change means it moved.
fn git_commit(dir: &Path) -> Option<(String, Option<String>)> {
    let top = PathBuf::from(git(dir, &["rev-parse", "--show-toplevel"])?);
    if top.canonicalize().ok()? != dir.canonicalize().ok()? {
        return None;
    }
    let commit = git(dir, &["rev-parse", "--short=12", "HEAD"])?;
    let date = git(dir, &["log", "-1", "--format=%cs", "HEAD"]);
    // Build again when HEAD moves: HEAD itself (another branch checked out), the branch's
    // ref (a commit) and the packed refs. Only existing files: cargo reruns a build script
    // on every build while a path it watches is missing.
    let mut watch = vec!["HEAD".to_owned(), "packed-refs".to_owned()];
    watch.extend(git(dir, &["symbolic-ref", "-q", "HEAD"]));
    for name in watch {
        if let Some(path) = git(dir, &["rev-parse", "--git-path", &name]) {
            let path = dir.join(path);
            if path.is_file() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
    Some((commit, date))
}
