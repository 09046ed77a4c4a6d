//! Pins what the splitter gives for today's databases, so that a change to the splitter's
//! rules cannot change what SQLite, PostgreSQL or MySQL execute unnoticed. The expected
//! outputs were recorded from the splitter before its rules were named by feature (issue 10).
//! Test-only; reads fixtures, touches no database.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::parse::{parse, read_text};
use super::split::{SplitRules, split};

/// Today's databases and the rules each one splits with.
fn presets() -> [(&'static str, SplitRules); 3] {
    [
        ("sqlite", SplitRules::sqlite()),
        ("postgresql", SplitRules::postgresql()),
        ("mysql", SplitRules::mysql()),
    ]
}

/// Everything the parse gives that execution depends on: statements with their lines, and
/// the warnings, one per line, strings in Rust debug form so that newlines stay visible.
fn render(text: &str, rules: SplitRules) -> String {
    let parsed = parse(text, rules);
    let mut out = format!("delimiter {:?}\n", parsed.delimiter);
    for (section, statements) in [("upgrade", &parsed.upgrade), ("rollback", &parsed.rollback)] {
        for statement in statements {
            let _ = writeln!(
                out,
                "{section} line {}: {:?}",
                statement.line, statement.sql
            );
        }
    }
    for warning in &parsed.warnings {
        let _ = writeln!(out, "warning: {warning:?}");
    }
    out
}

fn fixtures(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("fixture folder")
        .map(|entry| entry.expect("fixture entry").path())
        .filter(|path| path.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    files
}

#[test]
fn split_presets_samples_match_recorded_output() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let expected_dir = root.join("split");
    let mut samples = fixtures(&expected_dir);
    samples.extend(fixtures(&root.join("checksums")));
    assert!(samples.len() >= 35, "{samples:?}");
    for sample in samples {
        let text = read_text(&sample).expect("sample");
        let mut actual = String::new();
        for (name, rules) in presets() {
            let _ = write!(actual, "== {name}\n{}", render(&text, rules));
        }
        let stem = sample.file_stem().and_then(|s| s.to_str()).expect("name");
        let folder = sample
            .parent()
            .and_then(Path::file_name)
            .and_then(|s| s.to_str())
            .expect("folder");
        let expected_path = expected_dir.join(format!("{folder}.{stem}.expected"));
        let expected = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
        assert_eq!(actual, expected, "{}", sample.display());
    }
}

/// A small deterministic generator (SplitMix64), so the corpus is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).expect("small")
    }
}

/// Fragments that each rule reacts to, and some that none does.
const TOKENS: &[&str] = &[
    "SELECT",
    "x",
    "1",
    " ",
    " ",
    "\n",
    "\n",
    "\t",
    ";",
    ";",
    "'",
    "'",
    "\"",
    "`",
    "\\",
    "#",
    "# ",
    "--",
    "//",
    "/",
    "*",
    "/*",
    "*/",
    "/*!",
    "$",
    "$$",
    "$a$",
    "$1",
    "a$b",
    "E'",
    "e",
    "BEGIN",
    "END",
    "CASE",
    "CREATE",
    "TEMP",
    "TEMPORARY",
    "TRIGGER",
    "trg",
    "end",
    "begin",
    "\u{a0}",
    "\u{feff}",
    "é",
    "☕",
    "\x1c",
    "(",
    ")",
    ",",
    "END;",
    "$$\n",
    "//\n",
    "END;\n",
];

const DELIMITERS: &[&str] = &[";", ";", ";", "//", "$$", "END;", "GO"];

/// Random token soups through `split`, hashed: any change in any statement, line or warning
/// for any of today's presets changes the digest.
#[test]
fn split_presets_random_corpus_matches_recorded_digest() {
    let mut rng = Rng(0x006a_6574_6261_7365);
    let mut digests = Vec::new();
    let cases: Vec<(String, &str, usize)> = (0..4000)
        .map(|_| {
            let len = rng.below(60);
            let text: String = (0..len).map(|_| TOKENS[rng.below(TOKENS.len())]).collect();
            let delimiter = DELIMITERS[rng.below(DELIMITERS.len())];
            (text, delimiter, 1 + rng.below(20))
        })
        .collect();
    for (name, rules) in presets() {
        let mut hasher = Sha256::new();
        for (text, delimiter, first_line) in &cases {
            let (statements, warnings) = split(text, *first_line, delimiter, rules);
            for statement in statements {
                hasher.update(format!("{}:{:?}\n", statement.line, statement.sql));
            }
            for warning in warnings {
                hasher.update(format!("w:{warning:?}\n"));
            }
            hasher.update(b"--\n");
        }
        let digest = hasher
            .finalize()
            .iter()
            .fold(String::new(), |mut hex, byte| {
                let _ = write!(hex, "{byte:02x}");
                hex
            });
        digests.push(format!("{name} {digest}"));
    }
    let expected: Vec<&str> = RECORDED_DIGESTS.lines().collect();
    assert_eq!(digests, expected);
}

/// Recorded from the splitter before issue 10; one line per preset.
const RECORDED_DIGESTS: &str = "\
sqlite fa4957093d34e44a4fb36d5d6b9fe4360a38b41211ea9858af6d01454c1980d7
postgresql 97aafebe8db5e6a584d98702d07bbcf27596e63f701e33f2e9b6e030a7e30167
mysql 4d4a9c51c3ba42b006ae3bd916103b5a1f6a047adfed50f8b12cf5682d19db10";
