#!/usr/bin/env bash
# Builds the Python wheel of jetbase (packaging/pyproject.toml: the release binary alone, as
# maturin's `bindings = "bin"` packs it, distribution `jetbase-rs`) into <target>/wheels/, with
# maturin from PyPI in .venv-maturin (installed when missing; nothing else is downloaded). The
# wheel is tagged by maturin's own auditwheel check for the oldest glibc the binary needs
# (manylinux_2_34 when built on Debian 12: glibc 2.34 or newer); no sdist is made.
#
#   scripts/wheel.sh [--zig] [--dev] [--test]
#     build, print the wheel's path, size and build time;
#     --dev   the same wheel from cargo's dev profile (unoptimised, not stripped: a few times
#             larger), which reuses what `cargo test` built: what CI installs and tests, in a
#             minute instead of a release build's eight;
#     --zig   link against glibc 2.17 with zig (ziglang from PyPI into .venv-maturin) for a
#             manylinux2014 wheel that also installs on older systems (its own target folder,
#             <target>/wheel-zig, as zig compiles every C dependency again);
#     --test  then install it into a fresh venv (no index, no dependency) and run the README's
#             quickstart with the installed `jetbase` on the embedded SQLite default:
#             --version, init, new, upgrade, status.
#
# CARGO_TARGET_DIR is honoured. .ci/run runs it with --dev --test after the tests (without
# --zig: the plain build needs nothing but maturin).
set -euo pipefail
cd "$(dirname "$0")/.."
MATURIN_VERSION=1.16.0
ZIG_VERSION=0.17.1
test_it=0 zig=0 dev=0
for arg in "$@"; do
  case "$arg" in
    --test) test_it=1 ;;
    --zig) zig=1 ;;
    --dev) dev=1 ;;
    *) echo "usage: $0 [--zig] [--dev] [--test]" >&2; exit 2 ;;
  esac
done

if [ "$(.venv-maturin/bin/maturin --version 2>/dev/null)" != "maturin $MATURIN_VERSION" ]; then
  echo "== installing maturin $MATURIN_VERSION into .venv-maturin"
  python3 -m venv .venv-maturin
  .venv-maturin/bin/pip install --quiet --disable-pip-version-check "maturin==$MATURIN_VERSION"
fi
target=${CARGO_TARGET_DIR:-$PWD/target}
out="$target/wheels"
build=(build --release --locked --out "$out")
if [ "$dev" = 1 ]; then build=(build --profile dev --locked --out "$out"); fi
if [ "$zig" = 1 ]; then
  if ! .venv-maturin/bin/python -c "import ziglang" 2>/dev/null; then
    echo "== installing ziglang $ZIG_VERSION into .venv-maturin"
    .venv-maturin/bin/pip install --quiet --disable-pip-version-check "ziglang==$ZIG_VERSION"
  fi
  # maturin runs zig through the first python3 on PATH: the venv's, which has ziglang.
  export PATH="$PWD/.venv-maturin/bin:$PATH" CARGO_TARGET_DIR="$target/wheel-zig"
  build+=(--zig --compatibility manylinux2014)
fi
mkdir -p "$out"
rm -f "$out"/jetbase_rs-*.whl
started=$(date +%s)
echo "== building the wheel ($([ "$dev" = 1 ] && echo "dev profile" || echo "release build"))"
(cd packaging && ../.venv-maturin/bin/maturin "${build[@]}")
seconds=$(( $(date +%s) - started ))
wheels=("$out"/jetbase_rs-*.whl)
[ ${#wheels[@]} -eq 1 ] && [ -f "${wheels[0]}" ] || { echo "no single wheel in $out" >&2; exit 1; }
wheel=${wheels[0]}
bytes=$(stat -c %s "$wheel")
echo "== wheel: $wheel ($bytes bytes, $(( (bytes + 524288) / 1048576 )) MiB; built in $seconds s)"
[ "$test_it" = 1 ] || exit 0

# --- the quickstart from a fresh venv ----------------------------------------------------
passed=0
check() { # check DESCRIPTION COMMAND...: runs it, counts it, stops the script on failure
  local what=$1; shift
  if "$@"; then
    passed=$((passed + 1))
  else
    echo "FAILED: $what" >&2
    echo "wheel quickstart: $passed passed, 1 failed"
    exit 1
  fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m venv "$tmp/venv"
# No index: the wheel must install from itself alone (no dependency, nothing to build).
"$tmp/venv/bin/pip" install --quiet --disable-pip-version-check --no-index "$wheel"
installed="$tmp/venv/bin/jetbase"
mkdir "$tmp/project"
cd "$tmp/project"
# The installed command, found on PATH, in a clean environment, outside any project.
run() { env -i PATH="$tmp/venv/bin:/usr/bin:/bin" HOME="$tmp" jetbase "$@"; }
check "jetbase on PATH is the venv's" \
  test "$(env -i PATH="$tmp/venv/bin:/usr/bin:/bin" sh -c 'command -v jetbase')" = "$installed"
check "the installed jetbase is the native binary, not a Python script" \
  test "$(head -c 4 "$installed" | od -An -c | tr -d ' ')" = '177ELF'
check "the wheel requires no Python package" \
  test -z "$("$tmp/venv/bin/pip" show jetbase-rs | sed -n 's/^Requires: *//p')"
version=$(run --version)
echo "$version"
check "--version names version, commit and SQLite" \
  grep -q '^commit: [0-9a-f]\{12\}' <<<"$version"
check "--version lists SQLite" grep -q '^backends: SQLite' <<<"$version"
run init
run new "create users" -v 1
check "new wrote V1__create_users.sql" test -f jetbase/migrations/V1__create_users.sql
cat > jetbase/migrations/V1__create_users.sql <<'SQL'
-- upgrade
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email VARCHAR(255) NOT NULL
);
INSERT INTO users (email) VALUES ('admin@example.com');

-- rollback
DROP TABLE users;
SQL
run upgrade
status=$(run status)
echo "$status"
check "status lists V1 as applied" grep -q 'create users' <<<"$status"
check "nothing pending, one applied (--json)" python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s["pending"] == [] and [a["version"] for a in s["applied"]] == ["1"], s
' <<<"$(run --json status)"
check "the migration ran on jetbase/jetbase.db" python3 -c '
import sqlite3
rows = sqlite3.connect("jetbase/jetbase.db").execute("SELECT email FROM users").fetchall()
assert rows == [("admin@example.com",)], rows
'
echo "wheel quickstart: $passed passed, 0 failed"
