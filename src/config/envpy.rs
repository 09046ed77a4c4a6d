//! env.py: read natively when it is only literal assignments (no process start), otherwise
//! evaluated by one `python3` run, the way the original imports it (module attributes, and
//! `get_env_vars()` winning over them).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{ConfigError, EnvVars, Val};
use crate::url::scrub_userinfo;

/// What env.py gave, and how it was read.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvPy {
    pub values: BTreeMap<String, Val>,
    /// Keys env.py names but sets to `None` (the original reads them as absent; for
    /// `sqlalchemy_url` that is a configuration error unless a later source has it).
    pub nones: BTreeSet<String>,
    /// Keys whose value (or `None`) came from the `get_env_vars()` dict.
    pub from_get_env_vars: BTreeSet<String>,
    /// True when a Python process evaluated the file.
    pub evaluated: bool,
}

/// Read the `keys` env.py defines.
///
/// # Errors
/// Python is needed but missing, or env.py fails.
pub fn read_env_py(path: &Path, keys: &[&str], env: &EnvVars) -> Result<EnvPy, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    if let Some(all) = read_literals(&text) {
        let mut values = BTreeMap::new();
        let mut nones = BTreeSet::new();
        for (k, v) in all.into_iter().filter(|(k, _)| keys.contains(&k.as_str())) {
            match v {
                Some(v) => {
                    values.insert(k, v);
                }
                None => {
                    nones.insert(k);
                }
            }
        }
        return Ok(EnvPy {
            values,
            nones,
            from_get_env_vars: BTreeSet::new(),
            evaluated: false,
        });
    }
    evaluate(path, keys, env)
}

/// Where env.py sets `key`: the 1-based line and its text, and the lines of any further
/// settings of it. A dict key (`"key": ...` or `key=...` inside `get_env_vars()`) when
/// `in_get_env_vars`, else a module-level assignment; a plain mention when neither is found.
#[must_use]
pub fn locate(text: &str, key: &str, in_get_env_vars: bool) -> Option<(usize, String, Vec<usize>)> {
    let is_assignment = |line: &str| {
        line.trim_start().strip_prefix(key).is_some_and(|rest| {
            let rest = rest.trim_start();
            (rest.starts_with('=') && !rest.starts_with("==")) || rest.starts_with(':')
        })
    };
    let is_dict_key = |line: &str| {
        line.contains(&format!("\"{key}\""))
            || line.contains(&format!("'{key}'"))
            || is_assignment(line)
    };
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim_start().starts_with('#'))
        .collect();
    let mut hits: Vec<(usize, &str)> = lines
        .iter()
        .copied()
        .filter(|(_, l)| {
            if in_get_env_vars {
                is_dict_key(l)
            } else {
                is_assignment(l)
            }
        })
        .collect();
    if hits.is_empty() {
        hits = lines.into_iter().filter(|(_, l)| l.contains(key)).collect();
    }
    let (&(line, first), rest) = hits.split_first()?;
    Some((
        line,
        first.trim().to_owned(),
        rest.iter().map(|(n, _)| *n).collect(),
    ))
}

/// Parse a file made only of comments, a docstring and `name = literal` lines. `None` when
/// anything else appears (then Python must evaluate it). A `None` literal maps to `None`.
#[must_use]
pub fn read_literals(text: &str) -> Option<BTreeMap<String, Option<Val>>> {
    let mut out = BTreeMap::new();
    let mut lines = text.lines().peekable();
    let mut first = true;
    while let Some(raw) = lines.next() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if first && (line.starts_with("\"\"\"") || line.starts_with("'''")) {
            first = false;
            let quote = &line[..3];
            if line.len() >= 6 && line[3..].contains(quote) {
                continue;
            }
            // A multi-line module docstring: skip to its closing quotes.
            loop {
                let next = lines.next()?;
                if next.contains(quote) {
                    break;
                }
            }
            continue;
        }
        first = false;
        if raw.starts_with(char::is_whitespace) {
            return None;
        }
        let (lhs, rhs) = line.split_once('=')?;
        let name = lhs.split(':').next()?.trim();
        if name.is_empty()
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            || name.starts_with(|c: char| c.is_ascii_digit())
            || rhs.starts_with('=')
            || lhs
                .trim_end()
                .ends_with(['!', '<', '>', '+', '-', '*', '/'])
        {
            return None;
        }
        out.insert(name.to_owned(), literal(rhs.trim())?);
    }
    Some(out)
}

/// One Python literal: strings (with implicit concatenation), ints, booleans, `None`, and a
/// list or tuple of strings. `Some(None)` is the literal `None`.
#[allow(clippy::option_option)] // outer: "is it a literal at all"; inner: Python's `None`
fn literal(text: &str) -> Option<Option<Val>> {
    let text = strip_comment(text)?.trim();
    match text {
        "True" => return Some(Some(Val::Bool(true))),
        "False" => return Some(Some(Val::Bool(false))),
        "None" => return Some(None),
        _ => {}
    }
    if let Ok(i) = text.replace('_', "").parse::<i64>()
        && text
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit() || c == '-')
    {
        return Some(Some(Val::Int(i)));
    }
    if let Some(inner) = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .or_else(|| text.strip_prefix('(').and_then(|t| t.strip_suffix(')')))
    {
        let mut items = Vec::new();
        let mut rest = inner.trim();
        while !rest.is_empty() {
            let (s, after) = string(rest)?;
            items.push(s);
            rest = after.trim_start();
            rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
        }
        return Some(Some(Val::List(items)));
    }
    let mut rest = text;
    let mut value = String::new();
    while !rest.is_empty() {
        let (s, after) = string(rest)?;
        value.push_str(&s);
        rest = after.trim_start();
    }
    (!text.is_empty()).then_some(Some(Val::Str(value)))
}

/// Remove a trailing `# comment` that is outside string quotes; `None` if quotes are broken.
fn strip_comment(text: &str) -> Option<&str> {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None if c == '#' => return Some(&text[..i]),
            None if c == '"' || c == '\'' => quote = Some(c),
            None => {}
        }
    }
    quote.is_none().then_some(text)
}

/// A single-line Python string literal at the start of `text`: returns its value and the
/// text after it. Prefixes `r`, `u` (any case); escapes `\\ \' \" \n \t` in non-raw strings.
fn string(text: &str) -> Option<(String, &str)> {
    let (raw, text) = match text.as_bytes().first()? {
        b'r' | b'R' => (true, &text[1..]),
        b'u' | b'U' => (false, &text[1..]),
        _ => (false, text),
    };
    let quote = text.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let triple: String = std::iter::repeat_n(quote, 3).collect();
    let (body_start, closing) = if text.starts_with(&triple) {
        (3, triple.as_str())
    } else {
        (1, &text[..1])
    };
    let body = &text[body_start..];
    let mut value = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        if body[i..].starts_with(closing) {
            return Some((value, &body[i + closing.len()..]));
        }
        if c == '\\' {
            let (_, e) = chars.next()?;
            if raw {
                value.push('\\');
                value.push(e);
                continue;
            }
            match e {
                '\\' | '\'' | '"' => value.push(e),
                'n' => value.push('\n'),
                't' => value.push('\t'),
                _ => return None,
            }
        } else {
            value.push(c);
        }
    }
    None
}

/// The Python side: exec env.py with the original's semantics and print the keys as JSON on
/// the real stdout (env.py's own prints go to stderr).
const EVAL: &str = r#"
import json, os, sys, traceback
path, keys = sys.argv[1], json.loads(sys.argv[2])
real_out, sys.stdout = sys.stdout, sys.stderr
os.chdir(os.path.dirname(path) or ".")
sys.path.insert(0, os.path.dirname(path) or ".")
def conv(v):
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, (list, tuple)):
        return [conv(x) for x in v]
    return str(v)
try:
    import importlib.util
    spec = importlib.util.spec_from_file_location("config", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    found, nones, from_fn = {}, set(), set()
    for k in keys:
        if hasattr(mod, k):
            v = getattr(mod, k)
            if v is None:
                nones.add(k)
            else:
                found[k] = v
    fn = getattr(mod, "get_env_vars", None)
    if callable(fn):
        extra = fn()
        if not isinstance(extra, dict):
            raise TypeError("get_env_vars() must return a dict, got %s" % type(extra).__name__)
        for k, v in extra.items():
            if k not in keys or (v is None and k in found):
                continue
            from_fn.add(k)
            if v is None:
                nones.add(k)
            else:
                found[k] = v
                nones.discard(k)
    real_out.write(json.dumps({
        "values": {k: conv(v) for k, v in found.items()},
        "nones": sorted(nones),
        "from_get_env_vars": sorted(from_fn),
    }))
except BaseException as e:
    line = None
    target = os.path.abspath(path)
    for frame in traceback.extract_tb(e.__traceback__):
        if os.path.abspath(frame.filename) == target:
            line = frame.lineno
    if isinstance(e, SyntaxError) and e.filename and os.path.abspath(e.filename) == target:
        line = e.lineno
    real_out.write(json.dumps({"error": "%s: %s" % (type(e).__name__, e), "line": line}))
"#;

fn evaluate(path: &Path, keys: &[&str], env: &EnvVars) -> Result<EnvPy, ConfigError> {
    let python = env
        .get("JETBASE_PYTHON")
        .filter(|p| !p.is_empty())
        .cloned()
        .unwrap_or_else(|| "python3".into());
    let abs: PathBuf = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let keys_json = serde_json::to_string(keys).unwrap_or_else(|_| "[]".into());
    let out = Command::new(&python)
        .arg("-c")
        .arg(EVAL)
        .arg(&abs)
        .arg(keys_json)
        .env_clear()
        .envs(env)
        .output()
        .map_err(|e| ConfigError::PythonMissing {
            path: path.to_path_buf(),
            python: python.clone(),
            message: e.to_string(),
        })?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let parsed: serde_json::Value =
        serde_json::from_str(stdout.trim()).map_err(|_| ConfigError::EnvPy {
            path: path.to_path_buf(),
            line: None,
            message: scrub_userinfo(&format!(
                "evaluating it with {python} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )),
        })?;
    if let Some(err) = parsed.get("error").and_then(serde_json::Value::as_str) {
        return Err(ConfigError::EnvPy {
            path: path.to_path_buf(),
            line: parsed
                .get("line")
                .and_then(serde_json::Value::as_u64)
                .and_then(|l| usize::try_from(l).ok()),
            message: scrub_userinfo(err),
        });
    }
    let mut values = BTreeMap::new();
    if let Some(map) = parsed.get("values").and_then(serde_json::Value::as_object) {
        for (k, v) in map {
            let val = match v {
                serde_json::Value::String(s) => Val::Str(s.clone()),
                serde_json::Value::Bool(b) => Val::Bool(*b),
                serde_json::Value::Number(n) => match n.as_i64() {
                    Some(i) => Val::Int(i),
                    None => Val::Str(n.to_string()),
                },
                serde_json::Value::Array(a) => Val::List(
                    a.iter()
                        .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_owned))
                        .collect(),
                ),
                _ => continue,
            };
            values.insert(k.clone(), val);
        }
    }
    let names = |field: &str| -> BTreeSet<String> {
        parsed
            .get(field)
            .and_then(serde_json::Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(serde_json::Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    Ok(EnvPy {
        values,
        nones: names("nones"),
        from_get_env_vars: names("from_get_env_vars"),
        evaluated: true,
    })
}
