//! `embed_migrations!`: compiles a project's migrations folder into the program, for
//! `jetbase::migration::EmbeddedMigrations`. Use it through the `jetbase` crate
//! (`jetbase::embed_migrations!`). The macro only lists the folder, in the order the
//! jetbase CLI walks it, and hands each `.sql` file to `include_bytes!` (so cargo rebuilds
//! when a file changes); names, versions and contents are checked by jetbase itself, by the
//! same code that reads a folder on disk. It never reads or parses a file.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use proc_macro::{Delimiter, TokenStream, TokenTree};

/// The folder used when the macro is given none, as `jetbase init` lays a project out.
const DEFAULT_DIR: &str = "jetbase/migrations";

/// `jetbase::embed_migrations!("path/to/migrations")`, or `embed_migrations!()` for
/// `jetbase/migrations`: an `EmbeddedMigrations` value (a constant expression, for a
/// `static`) holding every `.sql` file below the folder, which is relative to the
/// `Cargo.toml` of the crate using the macro.
///
/// A changed file rebuilds the program; a file added or removed is seen at the next build
/// of the crate, which a build script line makes certain:
/// `println!("cargo:rerun-if-changed=jetbase/migrations");`.
#[proc_macro]
pub fn embed_migrations(input: TokenStream) -> TokenStream {
    match expand(input) {
        Ok(code) => code,
        Err(message) => format!("::core::compile_error!({message:?})")
            .parse()
            .expect("compile_error! parses"),
    }
}

fn expand(input: TokenStream) -> Result<TokenStream, String> {
    let dir = folder_argument(input)?;
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .ok_or("embed_migrations!: CARGO_MANIFEST_DIR is not set (build with cargo)")?;
    let root = Path::new(&manifest).join(&dir);
    if !root.is_dir() {
        return Err(format!(
            "embed_migrations!: the migrations folder {} does not exist or is not a folder",
            root.display()
        ));
    }
    let mut files = Vec::new();
    walk(&root, "", &mut files)?;
    let mut code = format!("::jetbase::migration::EmbeddedMigrations::__new({dir:?}, &[");
    for (relative, path) in files {
        let path = path.to_str().ok_or_else(|| {
            format!(
                "embed_migrations!: {} is not a UTF-8 path",
                path.to_string_lossy()
            )
        })?;
        let _ = write!(
            code,
            "::jetbase::migration::EmbeddedFile {{ path: {relative:?}, bytes: ::core::include_bytes!({path:?}) }},"
        );
    }
    code.push_str("])");
    code.parse()
        .map_err(|e| format!("embed_migrations!: expansion does not parse: {e}"))
}

/// The macro's one optional argument: a string literal.
fn folder_argument(input: TokenStream) -> Result<String, String> {
    let mut tokens: Vec<TokenTree> = input.into_iter().collect();
    // An argument passed on by another macro arrives wrapped in an invisible group.
    while let [TokenTree::Group(g)] = tokens.as_slice()
        && g.delimiter() == Delimiter::None
    {
        tokens = g.stream().into_iter().collect();
    }
    match tokens.as_slice() {
        [] => Ok(DEFAULT_DIR.to_owned()),
        [TokenTree::Literal(lit)] => string_literal(&lit.to_string()).ok_or_else(|| {
            format!("embed_migrations!: expected a string literal naming the folder, got {lit}")
        }),
        _ => Err(
            "embed_migrations!: expected one string literal naming the migrations folder \
                  (relative to Cargo.toml), or nothing for \"jetbase/migrations\""
                .to_owned(),
        ),
    }
}

/// The value of a plain (`"..."`) or raw (`r"..."`, `r#"..."#`) string literal; `None` for
/// anything else, or for escapes a path has no use for.
fn string_literal(text: &str) -> Option<String> {
    if let Some(raw) = text.strip_prefix('r') {
        let hashes = raw.len() - raw.trim_start_matches('#').len();
        let body = raw[hashes..].strip_prefix('"')?;
        return Some(
            body.strip_suffix(&format!("\"{}", "#".repeat(hashes)))?
                .to_owned(),
        );
    }
    let body = text.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            '\\' => out.push('\\'),
            '"' => out.push('"'),
            '\'' => out.push('\''),
            _ => return None,
        }
    }
    Some(out)
}

/// The `.sql` files below `dir` as the jetbase CLI walks a migrations folder: each folder's
/// entries in name order, its files before its subfolders; links to folders are not
/// followed (as `os.walk` does not), links to files are. `relative` is `dir` below the root.
fn walk(dir: &Path, relative: &str, out: &mut Vec<(String, PathBuf)>) -> Result<(), String> {
    let unreadable = |path: &Path, e: std::io::Error| {
        format!("embed_migrations!: cannot read {}: {e}", path.display())
    };
    let mut entries = std::fs::read_dir(dir)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|e| unreadable(dir, e))?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    let mut subdirs = Vec::new();
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name();
        let file_type = entry.file_type().map_err(|e| unreadable(&path, e))?;
        let target = if file_type.is_symlink() {
            std::fs::metadata(&path)
                .map_err(|e| unreadable(&path, e))?
                .file_type()
        } else {
            file_type
        };
        let Some(name) = name.to_str() else {
            if name.to_string_lossy().ends_with(".sql") && !target.is_dir() {
                return Err(format!(
                    "embed_migrations!: the name of {} is not UTF-8",
                    path.display()
                ));
            }
            continue;
        };
        let below = if relative.is_empty() {
            name.to_owned()
        } else {
            format!("{relative}/{name}")
        };
        if target.is_dir() {
            if !file_type.is_symlink() {
                subdirs.push((path, below));
            }
            continue;
        }
        // Case-sensitive, as the CLI: `X.SQL` is not a migration.
        #[allow(clippy::case_sensitive_file_extension_comparisons)]
        if !name.ends_with(".sql") {
            continue;
        }
        if !target.is_file() {
            return Err(format!(
                "embed_migrations!: migration file {} is not a regular file",
                path.display()
            ));
        }
        out.push((below, path));
    }
    for (subdir, below) in subdirs {
        walk(&subdir, &below, out)?;
    }
    Ok(())
}
